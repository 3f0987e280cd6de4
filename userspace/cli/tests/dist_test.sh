# SPDX-License-Identifier: GPL-2.0
# Tests of dist/ (the systemd unit and the sample configuration), sourced
# by cli_test.sh (its $P, $D, $top, check, expect_rc, start_server,
# wait_server, the PKI and the PSK file k1 in $D).
#
# (a) the unit: `systemd-analyze verify` without a word (ExecStart's
#     /usr/local/bin/plasmatic replaced by the binary under test, which
#     verify requires to exist), `systemd-analyze security --offline` at
#     most 2.0 ("OK"), and its hardening as the README says: DynamicUser,
#     ProtectSystem=strict, CAP_NET_BIND_SERVICE the only capability;
# (b) the sample: check-config passes; the files it names are the unit's
#     credentials; it runs, with the test's certificate, key, PSK, address
#     and command given on the command line.
#
# Not in vm-cli (PL_CLI_DIST=0 from run_vm.sh): the VM has no systemd;
# the host's cli and cli-san suites run these.  A host without
# systemd-analyze fails them (tools/deps.sh installs systemd).
[ "${PL_CLI_DIST:-1}" = 0 ] && return 0

unit=$top/dist/plasmatic-listen.service
sample=$top/dist/plasmatic-listen.conf
U=$D/dist
mkdir -p "$U"

# ------------------------------------------------------------ (a) the unit
if ! command -v systemd-analyze > /dev/null; then
	notok "dist: systemd-analyze missing (tools/deps.sh installs systemd)"
else
	sed "s|/usr/local/bin/plasmatic|$P|g" "$unit" > "$U/plasmatic-listen.service"
	systemd-analyze verify "$U/plasmatic-listen.service" > "$U/verify.out" 2>&1
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$U/verify.out" ]
	check "dist: systemd-analyze verify plasmatic-listen.service: no error, no warning (exit $rc)" $? "$U/verify.out"
	systemd-analyze security --offline=true --threshold=20 \
		"$U/plasmatic-listen.service" > "$U/security.out" 2>&1
	rc=$?
	level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$U/security.out")
	[ $rc -eq 0 ] && [ -n "$level" ]
	check "dist: systemd-analyze security: exposure $level, at most 2.0 (exit $rc)" $? "$U/security.out"
fi
key() { sed -n "s/^$1=//p" "$unit"; }
[ "$(key DynamicUser)" = yes ] && [ "$(key ProtectSystem)" = strict ] &&
	[ "$(key CapabilityBoundingSet)" = CAP_NET_BIND_SERVICE ] &&
	[ "$(key AmbientCapabilities)" = CAP_NET_BIND_SERVICE ] &&
	[ "$(key NoNewPrivileges)" = yes ]
check "dist: the unit runs as a dynamic user, ProtectSystem=strict, CAP_NET_BIND_SERVICE alone" $?
conf=$(key ExecStart | sed -n 's/.* listen --config \([^ ]*\)$/\1/p')
[ -n "$conf" ] && [ "$(key ExecStartPre)" = "/usr/local/bin/plasmatic check-config $conf" ]
check "dist: ExecStartPre checks the file ExecStart reads ($conf)" $?

# ---------------------------------------------------------- (b) the sample
expect_rc "dist: check-config of the sample" 0 "$P" check-config "$sample"
# Its /run/credentials/UNIT/NAME files are the unit's LoadCredential=NAME.
creds=$(key LoadCredential | cut -d: -f1 | sort | tr '\n' ' ')
named=$(sed -n 's|^[a-z-]* = /run/credentials/plasmatic-listen\.service/||p' "$sample" |
	sort | tr '\n' ' ')
[ -n "$creds" ] && [ "$creds" = "$named" ]
check "dist: the sample's key files are the unit's credentials ($creds)" $?
if start_server dist --config "$sample" 127.0.0.1:0 --cert server.pem \
	--key server.key --psk k1 --exec 'tr a-z A-Z' --once -v; then
	echo hello | "$P" connect "127.0.0.1:$port" --sni localhost --ca ca.pem \
		--psk k1 > dist.cli.out 2> dist.cli.err
	crc=$?
	wait_server; src=$?
	[ $crc -eq 0 ] && [ $src -eq 0 ] && [ "$(cat dist.cli.out)" = HELLO ]
	check "dist: listen runs with the sample (client $crc, server $src)" $? dist.cli.err dist.srv.err
else
	notok "dist: listen with the sample: server start" dist.srv.err
fi
