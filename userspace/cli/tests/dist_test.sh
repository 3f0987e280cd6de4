# SPDX-License-Identifier: GPL-2.0
# Tests of dist/ (the systemd units of listen, relay, proxy and serve and their
# sample configurations), sourced by cli_test.sh (its $P, $D, $top, check,
# expect_rc, start_server, wait_server, the PKI and the PSK file k1 in $D).
#
# (a) each unit: `systemd-analyze verify` without a word (ExecStart's
#     /usr/local/bin/plasmatic replaced by the binary under test, which
#     verify requires to exist), `systemd-analyze security --offline` at
#     most 2.0 ("OK"), and its hardening as the README says: DynamicUser,
#     ProtectSystem=strict, CAP_NET_BIND_SERVICE the only capability of
#     listen, relay and serve, none for proxy;
# (b) each sample: check-config passes; the files it names are its unit's
#     credentials; listen's runs, with the test's certificate, key, PSK,
#     address and command given on the command line.
#
# Not in vm-cli (PL_CLI_DIST=0 from run_vm.sh): the VM has no systemd;
# the host's cli and cli-san suites run these.  A host without
# systemd-analyze fails them (tools/deps.sh installs systemd).
[ "${PL_CLI_DIST:-1}" = 0 ] && return 0

U=$D/dist
mkdir -p "$U"

# check_unit NAME CAPS: the unit dist/plasmatic-NAME.service, whose only
# capability is CAPS ("" for none).
check_unit() {
	local name=plasmatic-$1 caps=$2 unit=$top/dist/plasmatic-$1.service rc level conf
	if ! command -v systemd-analyze > /dev/null; then
		notok "dist: systemd-analyze missing (tools/deps.sh installs systemd)"
	else
		sed "s|/usr/local/bin/plasmatic|$P|g" "$unit" > "$U/$name.service"
		systemd-analyze verify "$U/$name.service" > "$U/$name.verify" 2>&1
		rc=$?
		[ $rc -eq 0 ] && [ ! -s "$U/$name.verify" ]
		check "dist: systemd-analyze verify $name.service: no error, no warning (exit $rc)" $? "$U/$name.verify"
		systemd-analyze security --offline=true --threshold=20 \
			"$U/$name.service" > "$U/$name.security" 2>&1
		rc=$?
		level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$U/$name.security")
		[ $rc -eq 0 ] && [ -n "$level" ]
		check "dist: systemd-analyze security $name: exposure $level, at most 2.0 (exit $rc)" $? "$U/$name.security"
	fi
	[ "$(ukey "$unit" DynamicUser)" = yes ] && [ "$(ukey "$unit" ProtectSystem)" = strict ] &&
		[ "$(ukey "$unit" CapabilityBoundingSet)" = "$caps" ] &&
		[ "$(ukey "$unit" AmbientCapabilities)" = "$caps" ] &&
		[ "$(ukey "$unit" NoNewPrivileges)" = yes ]
	check "dist: $name runs as a dynamic user, ProtectSystem=strict, capabilities: ${caps:-none}" $?
	conf=$(ukey "$unit" ExecStart | sed -n "s/.* $1 --config \([^ ]*\)\$/\1/p")
	[ -n "$conf" ] && [ "$(ukey "$unit" ExecStartPre)" = "/usr/local/bin/plasmatic check-config $conf" ]
	check "dist: $name's ExecStartPre checks the file ExecStart reads ($conf)" $?
}

# check_sample NAME: dist/plasmatic-NAME.conf passes check-config, and the
# /run/credentials/UNIT/FILE files it names are the unit's
# LoadCredential=FILE.
check_sample() {
	local unit=$top/dist/plasmatic-$1.service sample=$top/dist/plasmatic-$1.conf creds named
	expect_rc "dist: check-config of the $1 sample" 0 "$P" check-config "$sample"
	creds=$(ukey "$unit" LoadCredential | cut -d: -f1 | sort | tr '\n' ' ')
	named=$(sed -n "s|^[a-z-]* = /run/credentials/plasmatic-$1\\.service/||p" "$sample" |
		sort | tr '\n' ' ')
	[ -n "$creds" ] && [ "$creds" = "$named" ]
	check "dist: the $1 sample's key files are its unit's credentials ($creds)" $?
}

ukey() { sed -n "s/^$2=//p" "$1"; }

# ------------------------------------------------------------ (a) the units
check_unit listen CAP_NET_BIND_SERVICE
check_unit relay CAP_NET_BIND_SERVICE
check_unit proxy ""
check_unit serve CAP_NET_BIND_SERVICE
# serve's reload: the file ExecStart reads checked first, then SIGHUP.
[ "$(sed -n 's/^ExecReload=//p' "$top/dist/plasmatic-serve.service" | tr '\n' '|')" = \
	"/usr/local/bin/plasmatic check-config /etc/plasmatic/serve.conf|/bin/kill -HUP \$MAINPID|" ]
check "dist: plasmatic-serve's reload checks serve.conf, then sends SIGHUP" $?

# -------------------------------------------------------- (b) the samples
check_sample listen
check_sample relay
check_sample proxy
check_sample serve
sample=$top/dist/plasmatic-listen.conf
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
