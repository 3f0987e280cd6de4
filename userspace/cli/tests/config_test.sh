# SPDX-License-Identifier: GPL-2.0
# Tests of configuration files (--config, check-config), sourced by
# cli_test.sh (its $P, $D, $DP, check, expect_rc, start_server, wait_server,
# the PKI and the PSK files k1, k2 in $D).
#
# (a) check-config: a valid file exits 0; every kind of bad file exits 2
#     with its first error as FILE:LINE (bad values of each type, unknown
#     key, section, a key outside a section, twice, no value, syntax, a
#     long line, a NUL byte), an unreadable one 3; listen and connect
#     --config say the same;
# (b) every option in listen's and connect's --help is a key;
# (c) end to end: listen and connect take their options from files, and
#     command-line flags override the file's.

C=$D/config
mkdir -p "$C"

# ------------------------------------------------------ (a) check-config
# The files of the end-to-end tests in (c), and one with every key: theirs
# and the rest, with spaces, comments and blank lines.
cat > "$C/srv.conf" <<EOF
[listen]
address = 127.0.0.1:0
cert = $D/server.pem
key = $D/server.key
psk = $D/k1
datapath = $DP
framing = detached
eem-len = 48
exec = cat > /dev/null; echo from-the-file
once = yes
verbose = yes
EOF
cat > "$C/cli.conf" <<EOF
[connect]
address = 127.0.0.1:1
ca = $D/ca.pem
sni = localhost
psk = $D/k1
datapath = $DP
framing = detached
eem-len = 48
EOF
{
	cat "$C/srv.conf"
	cat <<EOF
cipher = aes128, chacha20
alpn = h2,http/1.1
   timeout=30
open-timeout = 0
no-close-notify = no
tpl-mode = 1
tpl-lock = yes
peer-mode = 2
no-shape = yes
fallback = 127.0.0.1:8080
fallback-dir = /var/www

; the client
EOF
	cat "$C/cli.conf"
	printf 'capath = /etc/ssl/certs\nverbose = false\n'
} > "$C/good.conf"
expect_rc "check-config: a valid file" 0 "$P" check-config "$C/good.conf"
grep -qx "$C/good.conf: ok" last.out; check "check-config: says ok" $? last.out

# bad_conf NAME LINE-TEXT MESSAGE: a [listen] file whose line 3 is
# LINE-TEXT: check-config and listen --config exit 2 with FILE:3: MESSAGE.
bad_conf() {
	local name=$1 line=$2 want=$3 f="$C/bad.conf"
	printf '[listen]\n# line 2\n%s\ncert = x\n' "$line" > "$f"
	expect_rc "check-config: $name" 2 "$P" check-config "$f"
	grep -qF "plasmatic: $f:3: $want" last.err
	check "check-config: $name: '$f:3: $want'" $? last.err
	expect_rc "listen --config: $name" 2 "$P" listen --config "$f"
	grep -qF "plasmatic: $f:3: $want" last.err
	check "listen --config: $name: the same message" $? last.err
}
bad_conf "bad framing" "framing = sideways" "bad framing 'sideways': detached or covered"
bad_conf "bad datapath" "datapath = gpu" "bad datapath 'gpu': auto, kernel or userspace"
bad_conf "eem-len too big" "eem-len = 256" "bad eem-len '256': a number from 48 to 255"
bad_conf "eem-len not a number" "eem-len = 80x" "bad eem-len '80x': a number from 48 to 255"
bad_conf "negative timeout" "timeout = -1" "bad timeout '-1': seconds, 0 to 86400"
bad_conf "bad open-timeout" "open-timeout = 1e3" "bad open-timeout '1e3': seconds, 0 to 86400"
bad_conf "bad tpl-mode" "tpl-mode = 9" "bad tpl-mode '9': a traffic pattern mode from 0 to 8"
bad_conf "bad peer-mode" "peer-mode = five" "bad peer-mode 'five': a traffic pattern mode from 0 to 8"
bad_conf "bad cipher" "cipher = aes128,rc4" "unknown cipher suite 'rc4': use aes128, aes256 or chacha20"
bad_conf "empty cipher list" "cipher = ," "empty cipher list"
bad_conf "bad flag value" "once = maybe" "bad once 'maybe': yes or no"
bad_conf "bad no-shape" "no-shape = maybe" "bad no-shape 'maybe': yes or no"
bad_conf "bad listen address" "address = 127.0.0.1:x" "bad address '127.0.0.1:x': expected [ADDR:]PORT"
bad_conf "no value" "psk =" "'psk' has no value"
bad_conf "unknown key" "bogus = 1" "unknown key 'bogus' in [listen]"
bad_conf "connect's key in [listen]" "sni = x" "unknown key 'sni' in [listen]"
bad_conf "help is no key" "help = yes" "unknown key 'help' in [listen]"
bad_conf "config is no key" "config = x" "unknown key 'config' in [listen]"
bad_conf "a line without =" "cert /x" "expected 'KEY = VALUE', '[SECTION]' or a comment"
bad_conf "a section without ]" "[connect" "a section header without ']'"
bad_conf "a comment after a value" "framing = covered # no" "bad framing 'covered # no'"
bad_conf "a long line" "alpn = $(head -c 5000 /dev/zero | tr '\0' a)" "line longer than 4096 characters"
# The section's keys are checked line by line: [nosuch]'s first key.
printf '[nosuch]\n# 2\ncert = x\n' > "$C/sect.conf"
expect_rc "check-config: unknown section" 2 "$P" check-config "$C/sect.conf"
grep -qF "$C/sect.conf:3: unknown section [nosuch]: expected [connect], [listen], [proxy], [relay], [serve] or [get]" last.err
check "check-config: unknown section: FILE:3 and the sections there are" $? last.err
printf '# 1\n\ncert = x\n' > "$C/top.conf"
expect_rc "check-config: a key outside a section" 2 "$P" check-config "$C/top.conf"
grep -qF "$C/top.conf:3: 'cert' is outside a section" last.err
check "check-config: a key outside a section: FILE:3" $? last.err
printf '[listen]\ncert = x\n[connect]\nsni = a\n[listen]\ncert = y\n' > "$C/twice.conf"
expect_rc "check-config: a key twice in a section" 2 "$P" check-config "$C/twice.conf"
grep -qF "$C/twice.conf:6: 'cert' is set again in [listen] (first on line 2)" last.err
check "check-config: a key twice: FILE:6, and the first line" $? last.err
printf '[connect]\nframing = sideways\n[listen]\ncert = x\n' > "$C/other.conf"
expect_rc "listen --config: a bad value in [connect] is an error too" 2 \
	"$P" listen --config "$C/other.conf"
grep -qF "$C/other.conf:2: bad framing 'sideways'" last.err
check "listen --config: [connect]'s error at FILE:2" $? last.err
printf '[listen]\nframing = sideways\nbogus = 1\n' > "$C/first.conf"
expect_rc "check-config: two errors" 2 "$P" check-config "$C/first.conf"
grep -q ":2: bad framing" last.err && ! grep -q bogus last.err
check "check-config: only the first error is reported" $? last.err
printf '[listen]\ncert = a\0b\n' > "$C/nul.conf"
expect_rc "check-config: a NUL byte" 2 "$P" check-config "$C/nul.conf"
grep -qF "$C/nul.conf:2: a NUL byte" last.err; check "check-config: a NUL byte: FILE:2" $? last.err
printf '\xef\xbb\xbf[listen]\r\ncert = x\r\n' > "$C/bom.conf"
expect_rc "check-config: a UTF-8 BOM and CRLF lines are fine" 0 "$P" check-config "$C/bom.conf"
: > "$C/empty.conf"
expect_rc "check-config: an empty file is valid" 0 "$P" check-config "$C/empty.conf"
expect_rc "check-config: a missing file" 3 "$P" check-config "$C/nonexistent.conf"
grep -qF "cannot read $C/nonexistent.conf" last.err; check "check-config: missing file message" $? last.err
expect_rc "check-config: a directory" 3 "$P" check-config "$C"
expect_rc "listen --config: a missing file" 3 "$P" listen --config "$C/nonexistent.conf"
expect_rc "connect --config: a missing file" 3 "$P" connect --config "$C/nonexistent.conf"
expect_rc "check-config without FILE" 2 "$P" check-config
expect_rc "check-config with two files" 2 "$P" check-config "$C/good.conf" "$C/good.conf"
expect_rc "check-config --help" 0 "$P" check-config --help
grep -q "usage: plasmatic check-config FILE" last.out; check "check-config --help text" $? last.out
expect_rc "--config needs an argument" 2 "$P" listen 0 --config
expect_rc "keygen has no --config" 2 "$P" keygen --config "$C/good.conf"

# ---------------------------------- (b) every option of --help is a key
for c in listen connect proxy relay; do
	missing=
	for o in $("$P" $c --help | grep -oE '^  (-[a-z], )?--[a-z-]+' | sed 's/.*--//'); do
		case $o in help|config) continue ;; esac
		# A value of the wrong type is "bad", never "unknown key".
		printf '[%s]\n%s = 1x\n' "$c" "$o" > "$C/key.conf"
		"$P" check-config "$C/key.conf" > /dev/null 2> "$C/key.err"
		grep -q "unknown key" "$C/key.err" && missing="$missing $o"
	done
	[ -z "$missing" ]
	check "$c: every option of --help is a key of [$c]${missing:+ (not:$missing)}" $?
done

# ------------------------------------------- (c) files and flags, end to end
expect_rc "check-config: the server's and the client's files" 0 \
	sh -c "'$P' check-config '$C/srv.conf' && '$P' check-config '$C/cli.conf'"

# cfg_run NAME IN WANT PARAMS DESC SERVER-ARGS... -- CLIENT-ARGS...: IN
# through `listen --config srv.conf SERVER-ARGS` and `connect CLIENT-ARGS`
# (PORT in them: the server's port); the client must print WANT, both ends
# must say PARAMS with -v.
cfg_run() {
	local name=$1 in=$2 want=$3 params=$4 desc=$5 sargs=() crc src
	shift 5
	while [ $# -gt 0 ] && [ "$1" != -- ]; do sargs+=("$1"); shift; done
	shift
	if ! start_server "$name" --config "$C/srv.conf" "${sargs[@]}"; then
		notok "$desc: server start" "$name.srv.err"
		return
	fi
	"$P" connect "${@//PORT/$port}" -v < "$in" > "$name.cli.out" 2> "$name.cli.err"
	crc=$?
	wait_server; src=$?
	[ $crc -eq 0 ] && [ $src -eq 0 ] && [ "$(cat "$name.cli.out")" = "$want" ] &&
		grep -q "$params psk=yes" "$name.srv.err" &&
		grep -q "$params psk=yes" "$name.cli.err"
	check "$desc (client $crc, server $src)" $? "$name.cli.err" "$name.srv.err"
}

# The server's file gives its options, some of which the command line
# overrides (framing, eem-len, exec); the client's file names a port nobody
# listens on, and the command line gives the real address.
echo hello > "$C/hello.txt"
cfg_run cfg1 "$C/hello.txt" from-the-file "framing=detached eem_len=48" \
	"listen and connect --config: the server's address, certificate, PSK, framing, eem-len, exec, once from the file" \
	-- 127.0.0.1:PORT --config "$C/cli.conf"
cfg_run cfg2 up.bin "$(sha256sum < up.bin)" "framing=covered eem_len=64" \
	"flags override the file: --framing, --eem-len, --exec, the address; the file gives the rest" \
	--framing covered --eem-len 64 --exec sha256sum \
	-- --framing covered --config "$C/cli.conf" 127.0.0.1:PORT --eem-len 64
