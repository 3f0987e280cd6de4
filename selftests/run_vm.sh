#!/bin/sh
# Runs inside the test VM (tools/vm), from the repository root: every
# kernel-facing test binary, in order, with TAP output.  Exits non-zero if
# any test program fails.  PLASMATIC_KO names the module file (default
# kmod/plasmatic.ko; module_test reads it too), e.g. one built for another
# kernel than the tree's and staged with tools/vm --bin.
ko=${PLASMATIC_KO:-kmod/plasmatic.ko}
rc=0

# rmmod plasmatic, waiting up to 60 s for sockets still closing to let go
# of it (a ULP's module is held while a socket uses it: right after
# stress_test's connections, 6.12 on one vCPU was not done yet: three
# closed sockets in LAST-ACK, still sending their FIN for an ACK that did
# not come, hold the ULP and so the module until TCP gives up on them).
unload() {
	i=0
	while grep -q '^plasmatic ' /proc/modules; do
		rmmod plasmatic 2>/dev/null && return 0
		i=$((i + 1))
		if [ $i -ge 60 ]; then
			echo "# rmmod plasmatic: still in use after 60 s; TCP sockets by state:"
			ss -tan 2>/dev/null | awk 'NR > 1 { print $1 }' | sort | uniq -c |
				sed 's/^/#   /'
			return 1
		fi
		sleep 1
	done
}

# The module for the next program: loaded now, or still loaded because
# unload() gave up (the program then runs on it; unload() said so).
load() {
	grep -q '^plasmatic ' /proc/modules || insmod "$ko"
}

for t in module_test bpf_tpl_test plasmatic_test observe_test tpl_test mutate_test pace_test sockopt_fuzz_test stress_test; do
	bin=build/selftests/$t
	echo "# selftest: $t"
	if [ ! -x "$bin" ]; then
		echo "not ok 1 $t # binary missing: run make"
		rc=1
		continue
	fi
	# The datapath tests need the module loaded (module_test loads its own).
	case $t in
	plasmatic_test|observe_test|tpl_test|mutate_test|pace_test|sockopt_fuzz_test|stress_test)
		if ! load; then
			echo "not ok 1 $t # insmod $ko failed: run make kmod"
			rc=1
			continue
		fi ;;
	esac
	"$bin" || rc=1
	# Leave the module unloaded for the next program.
	unload
done

# The datapath and the mutating relay again, every receiver with
# PLASMATIC_RX_EXPECT_NO_PAD (selftests/plpeer.h: PLASMATIC_NO_PAD): each
# read through the direct decryption as well.  The pass must have taken
# that path (PlasmaticRxDirectRecords), or it proves nothing.
# PL_NO_PAD_PASS names the programs (default both).
for t in ${PL_NO_PAD_PASS:-plasmatic_test mutate_test}; do
	echo "# selftest: $t, PLASMATIC_NO_PAD=1"
	if ! load; then
		echo "not ok 1 $t (PLASMATIC_NO_PAD) # insmod $ko failed"
		rc=1
		continue
	fi
	PLASMATIC_NO_PAD=1 PLASMATIC_SKIP_TESTS=ten_thousand_sockets \
		"build/selftests/$t" || rc=1
	direct=$(awk '$1 == "PlasmaticRxDirectRecords" { print $2 }' \
		/proc/net/plasmatic_stat)
	if [ "${direct:-0}" -gt 0 ]; then
		echo "ok 1 $t with PLASMATIC_NO_PAD read $direct records directly"
	else
		echo "not ok 1 $t with PLASMATIC_NO_PAD read no record directly"
		rc=1
	fi
	unload
done
exit $rc
