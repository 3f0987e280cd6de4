#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Inside the VM on the debug kernel (tools/debug-kernel, kmemleak on), after
# the tests: two kmemleak scans (the second settles objects still in
# flight during the first), then one TAP line.  A suspected leak fails if
# its allocation trace has a plasmatic.ko frame, or an address in module
# space that no loaded module owns (a module since unloaded: the tests
# load and unload plasmatic.ko many times); other suspects, from the
# kernel's own early boot, are printed as comments.
kml=/sys/kernel/debug/kmemleak
[ -e $kml ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
if [ ! -w $kml ]; then
	echo "not ok 1 kmemleak clean # $kml missing: not the debug kernel?"
	exit 1
fi
echo scan > $kml
sleep 5
echo scan > $kml
report=/tmp/kmemleak.txt
cat $kml > $report
# One suspect per "unreferenced object" paragraph.
ours=$(awk '
	/^unreferenced object/ { if (obj != "" && hit) n++; obj = $0; hit = 0; next }
	/plasmatic/ || /\[<ffffffffc[0-9a-f]*>\] 0xffffffffc/ { hit = 1 }
	END { if (obj != "" && hit) n++; print n + 0 }' $report)
all=$(grep -c '^unreferenced object' $report)
sed 's/^/# /' $report | head -n 200
if [ "$ours" -ne 0 ]; then
	echo "not ok 1 kmemleak clean # $ours of $all suspected leaks from plasmatic.ko"
	exit 1
fi
echo "ok 1 kmemleak clean # $all suspected leaks in all, none from plasmatic.ko"
