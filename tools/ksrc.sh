#!/bin/sh
# Extract the few files we need from Debian's linux-source-6.1 tarball
# into build/ksrc (never committed): the kselftest harness and checkpatch.
# Idempotent.  Prints the extracted tree's path.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
dest="$top/build/ksrc"
tree="$dest/linux-source-6.1"
if [ ! -f "$dest/.stamp" ]; then
	if [ ! -r "$tarball" ]; then
		echo "ksrc.sh: $tarball missing: install linux-source-6.1 (tools/deps.sh)" >&2
		exit 1
	fi
	mkdir -p "$dest"
	tar xJf "$tarball" -C "$dest" \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	touch "$dest/.stamp"
fi
echo "$tree"
