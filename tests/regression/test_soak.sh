#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The soak in CI: bench/soak.sh for 60 s, its defaults otherwise (8 guest
# roles, 2 of them hostile, honest-1 restarted every 20 s), a sample every
# 2 s. Each of its checks is one test here: the honest traces complete,
# the relay alive throughout and cleanly ended, lttng-relayd never
# restarted, the relay's RSS flat (beyond what it holds for the VMs),
# the fds back to their baseline, every attack repelled and contained.
# About 90 s.

. "$(dirname "$0")/lib.sh"

SOAK=$top_srcdir/bench/soak.sh
SOAK_SECONDS=${LH_SOAK_SECONDS:-60}
CHECKS=(honest relay-alive relayd-not-restarted rss-flat rss-bound fds-baseline attacks)

lh_require "$top_builddir/tests/utils/hostile-guest"
lh_init $((1 + ${#CHECKS[@]}))

# In the background and tracked: should this test be stopped, the
# clean-up stops the soak, which stops what it started.
bash "$SOAK" -t "$SOAK_SECONDS" -i 2 -o "$LH_TMP/soak" >"$LH_TMP/soak.out" 2>"$LH_TMP/soak.log" &
pid=$!
lh_track_pid "$pid"
wait "$pid"
status=$?
lh_untrack_pid "$pid"
diag "$(grep -v '^# ' "$LH_TMP/soak.out" | sed -n '/^bench\/soak:/,$p')"
ok "$status" "bench/soak.sh -t $SOAK_SECONDS -i 2 exited with status $status" ||
	diag "$(tail -n 20 "$LH_TMP/soak.log")"

for name in "${CHECKS[@]}"; do
	line=$(grep "^soak: check $name: " "$LH_TMP/soak.out")
	msg=${line#"soak: check $name: "}
	[ -n "$line" ] || msg="no such check line from the soak"
	[[ $line == "soak: check $name: PASS - "* ]]
	ok $? "$name: $msg" || case $name in
	fds-baseline) diag "still open (< before the roles, > after):" \
		"$(diff "$LH_TMP/soak/fds-start.txt" "$LH_TMP/soak/fds-end.txt")" ;;
	attacks) diag "$(cat "$LH_TMP"/soak/*.failed 2>/dev/null | head -n 40)" ;;
	esac
done
