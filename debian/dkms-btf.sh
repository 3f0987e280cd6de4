#!/bin/sh
# dkms-btf.sh KERNELVER KERNEL_SOURCE_DIR: give kmod/plasmatic.ko its BTF
# under DKMS (dkms.conf's MAKE, in the build directory) when kbuild could
# not: Debian's linux-headers before 6.12 have no vmlinux.  The base BTF
# is the headers' vmlinux, else the running kernel's
# /sys/kernel/btf/vmlinux when KERNELVER is the running kernel.  Needs
# pahole and resolve_btfids: the kernel's (linux-kbuild-6.12 and later
# have it; 6.1's has not), else the one this package carries, built from
# linux-source-6.1.  Without them the module builds all the same, without
# the pacer kfunc; never an error.
ko=kmod/plasmatic.ko kver=$1 ksrc=$2
if readelf -S "$ko" 2>/dev/null | grep -q ' \.BTF '; then
	exit 0
fi
base=
if [ -r "$ksrc/vmlinux" ]; then
	base=$ksrc/vmlinux
elif [ "$kver" = "$(uname -r)" ] && [ -r /sys/kernel/btf/vmlinux ]; then
	base=/sys/kernel/btf/vmlinux
fi
rb=
for f in "$ksrc/tools/bpf/resolve_btfids/resolve_btfids" \
	 /usr/lib/linux-kbuild-*/tools/bpf/resolve_btfids/resolve_btfids \
	 ./resolve_btfids; do
	[ -x "$f" ] && rb=$f && break
done
if [ -z "$base" ] || [ -z "$rb" ] || ! command -v pahole >/dev/null; then
	echo "plasmatic: built without BTF for $kver (needs pahole, resolve_btfids and the kernel's BTF): the pacer kfunc is unavailable, records are sized but not timed" >&2
	exit 0
fi
LLVM_OBJCOPY=objcopy pahole -J --btf_base "$base" "$ko" &&
	"$rb" -b "$base" "$ko" || {
	echo "plasmatic: BTF generation failed for $kver; the module goes without it" >&2
	objcopy --remove-section .BTF "$ko" 2>/dev/null
	exit 0
}
