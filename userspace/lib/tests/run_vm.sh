#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# lib_test, ku_sendfile_test, shape_test and accept_nb_test inside the VM with plasmatic.ko, in three
# datapath pairings: kernel<->kernel, kernel client<->userspace server,
# userspace client<->kernel server; then secrets_test and
# secrets_test-leak (all built next to lib_test).  TAP per run; exits non-zero if any run fails.
#   tools/vm --timeout 1500 --bin build/userspace/lib-tests/plain/lib_test \
#       -- sh userspace/lib/tests/run_vm.sh
# PL_TEST_BYTES (default 4M) and LIB_TEST (binary) may be set.
bin=${LIB_TEST:-build/userspace/lib-tests/plain/lib_test}
export PL_TEST_BYTES=${PL_TEST_BYTES:-4M} PL_TEST_DIR=/tmp/lib_test-files
rc=0
if [ ! -x "$bin" ]; then
	echo "not ok 1 lib_test # $bin missing: make -C userspace/lib/tests bins"
	exit 1
fi
if ! grep -q '^plasmatic ' /proc/modules; then
	if ! insmod kmod/plasmatic.ko; then
		echo "not ok 1 lib_test # insmod kmod/plasmatic.ko failed"
		exit 1
	fi
fi
for pairing in kernel:kernel kernel:userspace userspace:kernel; do
	echo "# lib_test: client ${pairing%%:*}, server ${pairing##*:}"
	PL_TEST_CLIENT_DATAPATH=${pairing%%:*} PL_TEST_SERVER_DATAPATH=${pairing##*:} \
		"$bin" || rc=1
	echo "# ku_sendfile_test: client ${pairing%%:*}, server ${pairing##*:}"
	PL_TEST_CLIENT_DATAPATH=${pairing%%:*} PL_TEST_SERVER_DATAPATH=${pairing##*:} \
		"$(dirname "$bin")/ku_sendfile_test" || rc=1
	echo "# shape_test: client ${pairing%%:*}, server ${pairing##*:}"
	PL_TEST_CLIENT_DATAPATH=${pairing%%:*} PL_TEST_SERVER_DATAPATH=${pairing##*:} \
		"$(dirname "$bin")/shape_test" || rc=1
	echo "# accept_nb_test: client ${pairing%%:*}, server ${pairing##*:}"
	PL_TEST_CLIENT_DATAPATH=${pairing%%:*} PL_TEST_SERVER_DATAPATH=${pairing##*:} \
		"$(dirname "$bin")/accept_nb_test" || rc=1
done
# The memory scan of a client and a server process on the kernel datapath,
# then its control (copies planted by wrappers must be found).
for t in secrets_test secrets_test-leak; do
	echo "# $t"
	"$(dirname "$bin")/$t" || rc=1
done
exit $rc
