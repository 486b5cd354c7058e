#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# One guest role traces 1,000,000 events through lttng-hyperd, a unix
# socket channel, lttng-hyper-relayd and lttng-relayd. The host must get
# every event, exactly once, under OUT/<the name the host gave the VM>/,
# with the guest's own hostname still in the trace's metadata.

. "$(dirname "$0")/lib.sh"

NUM_EVENTS=1000000
VM=vm-alpha
GUEST_HOSTNAME=guest-a

guest_trace()
{
	lh_trace "${2:-s1}" "$1"
}
export -f guest_trace

lh_init 12
lh_pick_ports 3

lh_relay_start main --vm "$VM=unix-listen:$LH_TMP/$VM.sock"
ok $? "lttng-hyper-relayd started with --vm $VM" || bail_out "no relay"

lh_guest -u "$GUEST_HOSTNAME" -m 86400 -c "$LH_TMP/$VM.sock" "$LH_TMP/guest" \
	guest_trace "$NUM_EVENTS"
ok $? "guest traced $NUM_EVENTS events, then stopped and destroyed its session"
diag "guest: lttng stop took $(lh_step_ms "$LH_TMP/guest" s1.stop) ms," \
	"lttng destroy $(lh_step_ms "$LH_TMP/guest" s1.destroy) ms"

entries=$(ls -A "$LH_OUT" 2>/dev/null | paste -s -d ' ')
[ "$entries" = "$VM" ]
ok $? "the host wrote only OUT/$VM (found: $entries)"

sessions=$(ls -A "$LH_OUT/$VM" 2>/dev/null | paste -s -d ' ')
[[ $sessions =~ ^s1-[0-9]{8}-[0-9]{6}$ ]]
ok $? "OUT/$VM holds the one session, s1-DATE-TIME (found: $sessions)"

lh_trace_stats "$LH_OUT/$VM"
ok $? "babeltrace2 read OUT/$VM"
diag "$(lh_trace_describe)"
[ "$LH_COUNT" -eq "$NUM_EVENTS" ]
ok $? "exactly $NUM_EVENTS hyper_test:seq events (got $LH_COUNT)"
lh_trace_complete "$NUM_EVENTS"
ok $? "seq is 0..$((NUM_EVENTS - 1)), no gap, no duplicate, no discarded events"

hostname=$(lh_metadata_env "$LH_OUT/$VM" hostname)
[ "$hostname" = "$GUEST_HOSTNAME" ] && [ "$LH_HOSTNAMES" = "$GUEST_HOSTNAME" ]
ok $? "the metadata keeps the guest's own hostname (metadata: '$hostname', events: '$LH_HOSTNAMES')"

! find "$LTTNG_HOME" "$LH_TMP/guest/home" -name lttng-traces | grep -q .
ok $? "no trace written in the host's or the guest's LTTNG_HOME"

# Again, with lttng-hyperd answering the indexes itself (--early-index-ack).
lh_guest -u "$GUEST_HOSTNAME" -x --early-index-ack -c "$LH_TMP/$VM.sock" "$LH_TMP/guest2" \
	guest_trace 200000 s2
ok $? "--early-index-ack: the guest traced 200000 events, then stopped and destroyed its session"
lh_trace_stats "$LH_OUT/$VM"/s2-* && lh_trace_complete 200000
ok $? "--early-index-ack: $(lh_trace_describe)"

kill -0 "$(lh_relay_pid main)" 2>/dev/null
ok $? "lttng-hyper-relayd still running"
