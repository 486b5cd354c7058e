#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Flow control through a nested chain: host relay <- L1 <- L2, where L1's
# lttng-hyperd serves L2 (--vm l2) and carries it upward. (a) A slow host
# (the relay stopped for less than the host timeout while both levels
# trace into blocking channels) slows both offloads and loses nothing.
# (b) A host that stops for good never wedges either level: L1's and L2's
# lttng stop and lttng destroy return within the host timeout plus slack,
# though L2 only reaches the host through L1, which is still alive.

. "$(dirname "$0")/lib.sh"

HOST_TIMEOUT_MS=3000
# The host timeout, then sessiond's and consumerd's own clean-up.
BOUND_MS=20000
NUM_EVENTS=100000
export RATE=20000
# The relay's pause in (a): well below the host timeout.
PAUSE_S=1.5
LEVELS=(l1 l2)

# level_role COUNT: (a) then (b), in step with the test through flag files.
level_role()
{
	lh_wait_for 30 lh_session_attempt s1 || return 1
	lh_timed s1.start lttng start s1 || return 1
	touch "$LH_GUEST_DIR/ready"
	lh_wait_for 60 test -e "$FLAGS/go" || return 1
	lh_gen "$1" --rate "$RATE" || return 1
	lh_timed s1.stop lttng stop s1 && lh_timed s1.destroy lttng destroy s1 || return 1
	touch "$LH_GUEST_DIR/slow-done"

	lh_wait_for 30 lh_session_attempt s2 || return 1
	lh_timed s2.start lttng start s2 && lh_gen 20000 || return 1
	touch "$LH_GUEST_DIR/traced"
	lh_stop_unread s2 "$FLAGS/relay-stopped"
}
export -f level_role

# wait_flags FILE: wait until every level's role made FILE.
wait_flags()
{
	local level

	for level in "${LEVELS[@]}"; do
		lh_wait_flag 120 "$LH_TMP/$level/$1" "${role_pids[$level]}" || return 1
	done
}

lh_init $((4 + 2 * 2 + 3 * 2 + 1))
lh_pick_ports 3
export FLAGS=$LH_TMP/flags
mkdir -p "$FLAGS" || bail_out "mkdir $FLAGS failed"

lh_relay_start main --vm "l1=unix-listen:$LH_TMP/l1.sock"
ok $? "lttng-hyper-relayd started with --vm l1" || bail_out "no relay"
relay_pid=$(lh_relay_pid main)

declare -A role_pids
lh_guest -u guest-l1 -m 100000 -t "$HOST_TIMEOUT_MS" -c "$LH_TMP/l1.sock" \
	-x "--vm l2=unix-listen:$LH_TMP/l2.sock" "$LH_TMP/l1" level_role "$NUM_EVENTS" &
role_pids[l1]=$!
lh_guest -u guest-l2 -m 250000 -t "$HOST_TIMEOUT_MS" -c "$LH_TMP/l2.sock" \
	"$LH_TMP/l2" level_role "$NUM_EVENTS" &
role_pids[l2]=$!
wait_flags ready
ok $? "L1 and L2 (through L1) created and started their sessions" ||
	bail_out "the chain did not come up"

# --- (a) a slow host ---
touch "$FLAGS/go"
sleep 1
kill -STOP "$relay_pid"
sleep "$PAUSE_S"
kill -CONT "$relay_pid"
wait_flags slow-done
ok $? "a ${PAUSE_S} s host pause during tracing: both levels stopped and destroyed their sessions"
for level in "${LEVELS[@]}"; do
	dir=$LH_OUT/l1
	[ "$level" = l2 ] && dir=$LH_OUT/l1/l2
	set -- "$dir"/s1-*
	lh_trace_stats "$1"
	diag "$level: $(lh_trace_describe)"
	lh_trace_complete "$NUM_EVENTS"
	ok $? "$level: after the pause, seq is 0..$((NUM_EVENTS - 1)), no gap, no discarded events"
	[ "$LH_HOSTNAMES" = "guest-$level" ]
	ok $? "$level: its trace holds its own events only (hostnames: $LH_HOSTNAMES)"
done

# --- (b) the host stops for good ---
wait_flags traced
ok $? "both levels traced a second session"
kill -STOP "$relay_pid"
touch "$FLAGS/relay-stopped"
for level in "${LEVELS[@]}"; do
	wait "${role_pids[$level]}"
	ok $? "$level: guest role ended with the host stopped"
	g=$LH_TMP/$level
	lh_steps_within "$BOUND_MS" "$g" s2.stop s2.destroy
	ok $? "$level: lttng stop and destroy returned within $BOUND_MS ms" \
		"($(lh_steps_report "$g" s2.stop s2.destroy))"
	[ "$(lh_step_status "$g" s2.list)" = 0 ]
	ok $? "$level: its lttng-sessiond still answers ($(lh_steps_report "$g" s2.list))"
done
kill -CONT "$relay_pid"
kill "$relay_pid" && lh_wait_for 10 eval "! kill -0 $relay_pid 2>/dev/null"
ok $? "the relay, resumed, exits on SIGTERM"
