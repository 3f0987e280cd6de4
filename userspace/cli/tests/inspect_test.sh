# SPDX-License-Identifier: GPL-2.0
# Tests of `plasmatic inspect`, sourced by cli_test.sh (its $P, $D, $top,
# check, expect_rc, start_listen, wait_server and the PKI in $D).
#
# (a) captures written by inspect_pcap.py with known records: sizes, gaps,
#     segment starts, handshake counts and KS distances equal the ones it
#     computes (Ethernet with IPv4 and IPv6, Linux cooked v1 and v2, BSD
#     loopback, nanosecond pcap, detached framing, no SYN, a hole);
# (b) a real capture (dumpcap on lo, root) of a mode 1 transfer: the
#     server's sizes are shaped (D < 0.1) and equal tlswire.py's;
# (c) --plot writes a PNG; without gnuplot, a clear error;
# (d) bad input: exit 1 or 2 with a message, never a crash.

# Not in vm-cli (PL_CLI_INSPECT=0 from run_vm.sh): inspect reads files and
# does not touch the datapath, and that VM has no python3, gnuplot or
# dumpcap; the host's cli and cli-san suites run these.
[ "${PL_CLI_INSPECT:-1}" = 0 ] && return 0
if [ ! -x /usr/bin/python3 ]; then
	notok "inspect: tests need /usr/bin/python3 (tools/deps.sh)"
	return 0
fi

ipy=$top/userspace/cli/tests/inspect_pcap.py
I=$D/inspect
mkdir -p "$I"

# ipcheck NAME CASE MODE ARGS...: inspect --json of $I/CASE.pcap (exit 0)
# against inspect_pcap.py's expectations for CASE.
ipcheck() {
	local name=$1 case=$2 mode=$3 rc
	shift 3
	"$P" inspect "$I/$case.pcap" --json ${mode:+--mode "$mode"} "$@" \
		> "$I/$case.$mode.json" 2> "$I/last.err"
	rc=$?
	/usr/bin/python3 "$ipy" check "$I" "$case" "$I/$case.$mode.json" $mode > "$I/last.diff" 2>&1
	[ $rc -eq 0 ] && [ ! -s "$I/last.diff" ]
	check "inspect: $name (exit $rc)" $? "$I/last.diff" "$I/last.err"
}

# -------------------------------------------------- (a) written captures
if /usr/bin/python3 "$ipy" gen "$I" 2> "$I/gen.err"; then
	ok "inspect: inspect_pcap.py writes the test captures"
else
	notok "inspect: inspect_pcap.py writes the test captures" "$I/gen.err"
fi
expect_rc "inspect --help" 0 "$P" inspect --help
grep -q "usage: plasmatic inspect" last.out && "$P" --help | grep -q "inspect"
check "inspect --help text, and inspect in plasmatic --help" $? last.out
ipcheck "IPv4 and IPv6 over Ethernet: sizes, gaps, segment starts, handshake records" main ""
for m in 1 4 6 0; do
	ipcheck "--mode $m: KS D of sizes and gaps as computed apart" main "$m"
done
ipcheck "Linux cooked (SLL), mode 1" sll 1
ipcheck "Linux cooked v2 (SLL2), nanosecond pcap, mode 1" sll2 1
ipcheck "BSD loopback (DLT_NULL), mode 8" null 8
ipcheck "detached framing (EEM after each record but the handshake's), mode 2" \
	detached 2 --framing detached
ipcheck "no SYN: read from the first byte seen, roles by port, nothing skipped" nosyn 1
"$P" inspect "$I/main.pcap" --mode 1 > "$I/main.txt" 2> "$I/last.err"
rc=$?
[ $rc -eq 0 ] && grep -q "^connection 2: \[fd00::2\]:40002 -> \[fd00::ff\]:4433$" "$I/main.txt" &&
	grep -q "application records: 12, 3 not starting a TCP segment" "$I/main.txt" &&
	grep -q "mode 1: size D = 0.2136 (n = 12), gap D = 0.4732 (n = 11)" "$I/main.txt"
check "inspect: text summary (addresses, counts, D)" $? "$I/main.txt" "$I/last.err"
"$P" inspect "$I/main.pcap" --json --conn 3 --dir server > "$I/sel.json" 2>&1 &&
	/usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
c = j["connections"]
assert [x["index"] for x in c] == [3] and [d["dir"] for d in c[0]["directions"]] == ["server"]
assert c[0]["directions"][0]["sizes"] == [55, 240, 1999, 500, 16304]' "$I/sel.json" 2>> "$I/sel.json"
check "inspect --conn 3 --dir server: that direction only" $? "$I/sel.json"
"$P" inspect "$I/main.pcap" --json --port 443 > "$I/port.json" 2>&1 &&
	grep -q '"connections_total": 3' "$I/port.json" && [ "$(grep -o '"index"' "$I/port.json" | wc -l)" = 1 ]
check "inspect --port 443: one connection of three" $? "$I/port.json"
expect_rc "inspect: a hole in a stream is an error" 1 "$P" inspect --json "$I/gap.pcap"
/usr/bin/python3 "$ipy" check "$I" gap last.out > "$I/last.diff" 2>&1 &&
	grep -q "gap in the capture at stream offset" last.err
check "inspect: the hole's place is said, records before it counted" $? "$I/last.diff" last.err
expect_rc "inspect: covered framing on a detached capture fails cleanly" 1 \
	"$P" inspect "$I/detached.pcap"
grep -q "not a TLS record header" last.err
check "inspect: wrong framing: 'not a TLS record header'" $? last.err

# ---------------------------------------------------- (b) a real capture
# The server sends in mode 1, locked; dumpcap captures lo.
if [ "$(id -u)" -ne 0 ]; then
	ok "inspect: real capture of a mode 1 transfer # SKIP not root (dumpcap on lo)"
elif ! command -v dumpcap > /dev/null; then
	notok "inspect: real capture: dumpcap missing (tools/deps.sh)"
else
	head -c 400000 /dev/urandom > "$I/tpl.bin"
	if start_listen inspect_tpl --psk k1 --tpl-mode 1 --tpl-lock --once \
		--exec "cat $I/tpl.bin"; then
		rm -f "$I/tpl.pcapng"
		dumpcap -q -i lo -f "tcp port $port" -w "$I/tpl.pcapng" 2> "$I/cap.err" &
		cpid=$!
		pids+=("$cpid")
		for _ in $(seq 100); do
			grep -q "File:" "$I/cap.err" 2>/dev/null && [ -s "$I/tpl.pcapng" ] && break
			sleep 0.1
		done
		sleep 0.3
		"$P" connect "127.0.0.1:$port" --sni localhost --ca ca.pem --psk k1 \
			--datapath "$DP" < /dev/null > "$I/tpl.out" 2> "$I/tpl.cli.err"
		crc=$?
		wait_server; src=$?
		sleep 0.3
		kill -INT "$cpid" 2>/dev/null
		wait "$cpid" 2>/dev/null
		cmp -s "$I/tpl.bin" "$I/tpl.out" && [ $crc -eq 0 ] && [ $src -eq 0 ]
		check "inspect: a mode 1 transfer captured with dumpcap (client $crc, server $src)" $? \
			"$I/tpl.cli.err" inspect_tpl.srv.err "$I/cap.err"
		"$P" inspect "$I/tpl.pcapng" --mode 1 --json --port "$port" > "$I/tpl.json" 2> "$I/tpl.err"
		rc=$?
		/usr/bin/python3 "$top/tools/stealth/tlswire.py" q "$I/tpl.pcapng" s_eem_lens > "$I/tpl.lens"
		r=$(/usr/bin/python3 "$ipy" real "$I/tpl.json" "$I/tpl.lens" 2>&1)
		st=$?
		echo "$r" > "$I/tpl.diff"
		[ $rc -eq 0 ] && [ $st -eq 0 ]
		check "inspect --mode 1 on it: server sizes as tlswire.py's, shaped, gaps reported ($r)" $? \
			"$I/tpl.diff" "$I/tpl.err"
		"$P" inspect "$I/tpl.pcapng" --mode 1 --dir server --plot "$I/real.png" > "$I/tpl.txt" 2> "$I/tpl.err"
		rc=$?
		[ $rc -eq 0 ] && grep -q "mode 1: size D = 0\.0" "$I/tpl.txt" &&
			[ "$(head -c 8 "$I/real.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
		check "inspect --plot of the real capture (exit $rc)" $? "$I/tpl.txt" "$I/tpl.err"
		sed 's/^/#   /' "$I/tpl.txt"
	else
		notok "inspect: real capture: server start" inspect_tpl.srv.err
	fi
fi

# ----------------------------------------------------------- (c) --plot
# A name that a shell or gnuplot would take apart: inspect never hands it
# to either.
pn="$I/it's \$(touch pwned) \"plot\".png"
rm -f "$pn" "$I/pwned" pwned
expect_rc "inspect --mode 4 --plot" 0 "$P" inspect "$I/main.pcap" --mode 4 --plot "$pn"
[ "$(head -c 8 "$pn" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
	[ "$(stat -c %s "$pn")" -gt 20000 ] && [ ! -e "$I/pwned" ] && [ ! -e pwned ]
rc=$?
check "inspect --plot: a PNG of $(stat -c %s "$pn" 2>/dev/null) bytes under a name with quotes and \$(...)" $rc last.err
expect_rc "inspect --plot without gnuplot in PATH" 1 \
	env PATH=/nonexistent "$P" inspect "$I/main.pcap" --plot "$I/nognuplot.png"
grep -q "needs gnuplot.*gnuplot-nox" last.err && [ ! -e "$I/nognuplot.png" ]
check "inspect --plot without gnuplot: says so, writes nothing" $? last.err
expect_rc "inspect --plot into a missing directory" 1 \
	"$P" inspect "$I/main.pcap" --plot "$I/nodir/x.png"

# -------------------------------------------------------- (d) bad input
head -c 1000 "$I/main.pcap" > "$I/trunc.pcap"
head -c 10 "$I/main.pcap" > "$I/trunc-header.pcap"
printf 'GET / HTTP/1.1\r\n\r\n' > "$I/text.pcap"
: > "$I/empty.pcap"
expect_rc "inspect: missing file" 1 "$P" inspect "$I/nonexistent.pcap"
grep -q "cannot read the capture.*No such file" last.err; check "missing file message" $? last.err
expect_rc "inspect: truncated pcap (cut inside a packet)" 1 "$P" inspect "$I/trunc.pcap"
grep -q "cannot read the capture after 6 packets: truncated" last.err; check "truncated pcap message" $? last.err
expect_rc "inspect: truncated pcap (cut inside the file header)" 1 "$P" inspect "$I/trunc-header.pcap"
expect_rc "inspect: empty file" 1 "$P" inspect "$I/empty.pcap"
expect_rc "inspect: not a capture" 1 "$P" inspect "$I/text.pcap"
grep -q "unknown file format" last.err; check "not a capture message" $? last.err
expect_rc "inspect: no such connection" 1 "$P" inspect "$I/main.pcap" --conn 9
for a in "--mode 9" "--mode -1" "--mode x" "--eem-len 20" "--framing sideways" \
	"--dir up" "--port 70000" "--conn 0" "--frobnicate" "--mode"; do
	# shellcheck disable=SC2086
	expect_rc "inspect $a" 2 "$P" inspect "$I/main.pcap" $a
done
grep -q "option '--mode' needs an argument" last.err; check "missing argument message" $? last.err
"$P" inspect "$I/main.pcap" --mode 9 2> last.err
grep -q "bad --mode '9': a number from 0 to 8" last.err; check "--mode 9 message" $? last.err
expect_rc "inspect without a capture" 2 "$P" inspect
expect_rc "inspect with two captures" 2 "$P" inspect "$I/main.pcap" "$I/main.pcap"
