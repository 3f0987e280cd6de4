#!/bin/sh
# tools/kbtf.sh KO VMLINUZ: give an out-of-tree module the BTF that kbuild
# would have given it with a vmlinux at hand, so that its kfuncs (the pacer's
# bpf_plasmatic_departure, kmod/pace.c) can be called from BPF.
#
# Debian's linux-headers packages have no vmlinux, so kbuild prints
# "Skipping BTF generation" for out-of-tree modules.  Here: the kernel image
# VMLINUZ is decompressed (scripts/extract-vmlinux) into an ELF whose .BTF
# section is the running kernel's base BTF; pahole encodes the module's
# DWARF as split BTF on that base, and resolve_btfids (built from
# Debian's linux-source-6.1 tarball, the same tool kbuild runs) fills the
# module's .BTF_ids (its kfunc set) from it.  Both outputs are cached in
# build/kbtf/.  A module that already has a .BTF section is left alone.
#
# tools/kbtf.sh --resolve-btfids: only build resolve_btfids, and print its
# path (debian/rules ships it in plasmatic-dkms for dkms-btf.sh).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
only_rb=
if [ "${1:-}" = --resolve-btfids ]; then
	only_rb=1
else
	ko=$1 vmlinuz=$2
fi
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
dest="$top/build/kbtf"
tree="$dest/linux-source-6.1"
rb="$dest/out/resolve_btfids"

if [ -z "$only_rb" ] && readelf -S "$ko" 2>/dev/null | grep -q ' \.BTF '; then
	exit 0
fi
for t in pahole readelf objcopy; do
	command -v "$t" >/dev/null || { echo "kbtf.sh: $t missing (tools/deps.sh)" >&2; exit 1; }
done

mkdir -p "$dest/out"
if [ ! -x "$rb" ]; then
	[ -r "$tarball" ] || { echo "kbtf.sh: $tarball missing (tools/deps.sh)" >&2; exit 1; }
	rm -rf "$tree"
	tar xJf "$tarball" -C "$dest" \
		linux-source-6.1/scripts/extract-vmlinux \
		linux-source-6.1/scripts/bpf_doc.py \
		linux-source-6.1/include/uapi/linux/bpf.h \
		linux-source-6.1/include/linux/btf_ids.h \
		linux-source-6.1/tools/bpf/resolve_btfids \
		linux-source-6.1/tools/lib \
		linux-source-6.1/tools/include \
		linux-source-6.1/tools/build \
		linux-source-6.1/tools/scripts \
		linux-source-6.1/tools/arch/x86/include
	make -s -C "$tree/tools/bpf/resolve_btfids" OUTPUT="$dest/out/" >"$dest/build.log" 2>&1 || {
		cat "$dest/build.log" >&2
		echo "kbtf.sh: building resolve_btfids failed" >&2
		exit 1
	}
fi
if [ -n "$only_rb" ]; then
	echo "$rb"
	exit 0
fi

# The image's base BTF, one per kernel image (name and size as the key).
key=$(basename "$vmlinuz")-$(stat -c %s "$vmlinuz")
vmlinux="$dest/vmlinux-$key"
if [ ! -s "$vmlinux" ]; then
	sh "$tree/scripts/extract-vmlinux" "$vmlinuz" >"$vmlinux.tmp"
	readelf -S "$vmlinux.tmp" | grep -q ' \.BTF ' || {
		echo "kbtf.sh: $vmlinuz has no BTF (CONFIG_DEBUG_INFO_BTF)" >&2
		rm -f "$vmlinux.tmp"
		exit 1
	}
	mv "$vmlinux.tmp" "$vmlinux"
fi

LLVM_OBJCOPY=objcopy pahole -J --btf_base "$vmlinux" "$ko"
"$rb" -b "$vmlinux" "$ko"
