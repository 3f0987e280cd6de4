#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# cli_test.sh (then serve_test.sh, kernel datapath) inside the VM with
# plasmatic.ko loaded (datapath auto: the
# kernel, except where the peer already closed before the upgrade).  Not
# here: inspect's tests and dist/'s (no python3, gnuplot, dumpcap or
# systemd in the VM), nor the run as nobody (no setpriv that changes user:
# pace_test's cli_auto_shape does it in the VM); the host's cli suites run
# them.
#   tools/vm --timeout 900 --bin /bin/bash --bin /usr/bin/openssl \
#       --bin /usr/bin/cmp --bin /usr/bin/stat --bin build/userspace/plasmatic \
#       --bin /usr/bin/curl -- sh userspace/cli/tests/run_vm.sh
# Then proxy_test.sh: plasmatic proxy and relay across three network
# namespaces (curl from --bin).
if ! grep -q '^plasmatic ' /proc/modules && ! insmod kmod/plasmatic.ko; then
	echo "not ok 1 cli_test # insmod kmod/plasmatic.ko failed"
	exit 1
fi
PL_CLI_DIR=/tmp/cli-test PL_CLI_DATAPATH=${PL_CLI_DATAPATH:-auto} PL_CLI_INSPECT=0 PL_CLI_DIST=0 PL_CLI_NOROOT=0 \
	PL_CLI_BYTES=${PL_CLI_BYTES:-1M} \
	bash userspace/cli/tests/cli_test.sh build/userspace/plasmatic
rc=$?
bash userspace/cli/tests/proxy_test.sh build/userspace/plasmatic build/userspace/cli/socks_client || rc=1
# serve and get end to end on the kernel datapath (sendfile bodies); 64
# `plasmatic connect` at once (200 handshakes at once take TCG over a
# minute: the host's cli suites hold 200), then 1000 connections from one
# many_get process (PL_SERVE_MANY).
PL_SERVE_DIR=/tmp/serve-test PL_SERVE_DATAPATH=kernel PL_SERVE_CONNS=${PL_SERVE_CONNS:-64} \
	bash userspace/cli/tests/serve_test.sh build/userspace/plasmatic || rc=1
exit $rc
