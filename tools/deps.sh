#!/bin/sh
# Install (as root) or list (otherwise) every Debian 12 package that the
# build, the tests and the demo need.  Idempotent: installs only what is
# missing.  Usage: tools/deps.sh [--check]
#   --check   exit 1 if something is missing, printing the apt command.
set -eu

# The cloud kernel image and headers must be the same version: the module
# is built against the headers and loaded into that image inside the VM.
# The 6.12 pair (Debian 13's kernel line) is for the compat suite vm612.
# clang-16: the BPF qdisc's kptrs (bpf/Makefile); flex, bison and bc
# build the debug kernel (tools/debug-kernel).
# libclang-rt-14-dev holds libFuzzer and the sanitizer runtimes of clang
# 14 (clang -fsanitize=fuzzer: make fuzz, the fuzz suite).
# debhelper, dh-dkms, lintian and help2man (the man pages) build the
# packages (make deb); dkms, with this host's 6.1 headers, is what the pkg
# suite's guest runs when it installs them (tools/pkg-test).
# iperf3, stunnel4 and shadowsocks-libev: tools/bench/tunnel.sh (proxy and
# relay against them; a benchmark, not in make check).
PKGS="build-essential make gcc clang clang-16 llvm lld pkg-config
libssl-dev openssl liburing-dev libbpf-dev bpftool libelf-dev zlib1g-dev
linux-image-cloud-amd64 linux-headers-cloud-amd64 linux-source-6.1
linux-image-6.12-cloud-amd64 linux-headers-6.12-cloud-amd64
qemu-system-x86 busybox-static cpio xz-utils kmod
sparse iproute2 python3 python3-cryptography perl
tshark nginx-light curl
libpcap-dev gnuplot-nox
pahole
libinih-dev systemd
debootstrap
libclang-rt-14-dev
flex bison bc
debhelper dh-dkms dkms lintian help2man
iperf3 stunnel4 shadowsocks-libev"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "${1:-}" = "--check" ] || [ "$(id -u)" -ne 0 ]; then
	echo "missing packages:$missing" >&2
	echo "run as root: apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Package lists may be absent on a fresh machine.
if ! apt-get install -y --no-install-recommends $missing; then
	apt-get update
	apt-get install -y --no-install-recommends $missing
fi
