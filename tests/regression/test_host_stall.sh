#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A guest must never hang on its host. (a) The relay stops (SIGSTOP) while
# the guest traces: the guest's lttng stop and lttng destroy return within
# lttng-hyperd's --host-timeout plus slack. (b) No relay at all: every
# lttng command in the guest fails fast or completes within the bound; once
# the relay starts, a new session offloads normally.

. "$(dirname "$0")/lib.sh"

HOST_TIMEOUT_MS=3000
# The host timeout, then sessiond's and consumerd's own clean-up.
BOUND_MS=20000
NUM_EVENTS=20000

# stalled_guest COUNT
stalled_guest()
{
	lh_session_create s1 && lh_timed s1.start lttng start s1 &&
		lh_gen "$1" || return 1
	touch "$LH_GUEST_DIR/traced"
	lh_stop_unread s1 "$LH_GUEST_DIR/relay-stopped"
}

# hostless_guest COUNT
hostless_guest()
{
	lh_timed s2.create lttng create s2 --set-url="$LH_GUEST_URL"
	lh_timed s2.enable-channel lttng enable-channel -u -s s2 --blocking-timeout=inf c
	lh_timed s2.start lttng start s2
	lh_timed s2.stop lttng stop s2
	lh_timed s2.destroy lttng destroy s2
	touch "$LH_GUEST_DIR/hostless-done"
	lh_wait_for 60 test -e "$LH_GUEST_DIR/relay-up" || return 1
	# lttng-hyperd reconnects with a bounded back-off: retry until it has.
	lh_wait_for 30 lh_session_attempt s3 || return 1
	lttng start s3 && lh_gen "$1" && lttng stop s3 && lttng destroy s3
}
export -f stalled_guest hostless_guest

HOSTLESS_STEPS=(s2.create s2.enable-channel s2.start s2.stop s2.destroy)

lh_init 11

# --- (a) the relay stalls ---
lh_pick_ports 3
lh_relay_start stall --vm "vm-stall=unix-listen:$LH_TMP/stall.sock"
ok $? "lttng-hyper-relayd started" || bail_out "no relay"
relay_pid=$(lh_relay_pid stall)

g=$LH_TMP/stalled
lh_guest -u guest-stall -t "$HOST_TIMEOUT_MS" -c "$LH_TMP/stall.sock" "$g" stalled_guest \
	"$NUM_EVENTS" &
guest_pid=$!
lh_wait_flag 120 "$g/traced" "$guest_pid"
ok $? "guest traced $NUM_EVENTS events with the relay up"
kill -STOP "$relay_pid"
touch "$g/relay-stopped"
wait "$guest_pid"
ok $? "guest role ended with the relay stopped"
lh_steps_within "$BOUND_MS" "$g" s1.stop
ok $? "lttng stop returned within $BOUND_MS ms ($(lh_steps_report "$g" s1.stop))"
lh_steps_within "$BOUND_MS" "$g" s1.destroy
ok $? "lttng destroy returned within $BOUND_MS ms ($(lh_steps_report "$g" s1.destroy))"
[ "$(lh_step_status "$g" s1.list)" = 0 ]
ok $? "the guest's lttng-sessiond still answers ($(lh_steps_report "$g" s1.list))"
kill -CONT "$relay_pid"
kill "$relay_pid" && lh_wait_for 10 eval "! kill -0 $relay_pid 2>/dev/null"
ok $? "the relay, resumed, exits on SIGTERM"

# --- (b) no relay, then a relay ---
g=$LH_TMP/hostless
lh_guest -u guest-late -t "$HOST_TIMEOUT_MS" -c "$LH_TMP/late.sock" "$g" hostless_guest \
	"$NUM_EVENTS" &
guest_pid=$!
lh_wait_flag 150 "$g/hostless-done" "$guest_pid" &&
	lh_steps_within "$BOUND_MS" "$g" "${HOSTLESS_STEPS[@]}"
ok $? "no host: each lttng command returned within $BOUND_MS ms" \
	"($(lh_steps_report "$g" "${HOSTLESS_STEPS[@]}"))"

lh_pick_ports 3
lh_relay_start late --vm "vm-late=unix-listen:$LH_TMP/late.sock"
ok $? "lttng-hyper-relayd started late"
touch "$g/relay-up"
wait "$guest_pid"
ok $? "guest traced a new session once the relay was up"
lh_trace_stats "$LH_OUT/vm-late"
diag "vm-late: $(lh_trace_describe)"
lh_trace_complete "$NUM_EVENTS"
ok $? "vm-late: seq is 0..$((NUM_EVENTS - 1)), no gap, no duplicate, no discarded events"
