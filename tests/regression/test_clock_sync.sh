#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Clock correction against a known truth. The guest role's CLOCK_MONOTONIC
# is the host's plus exactly MONO_SHIFT seconds (a time namespace), and its
# lttng-sessiond sees a wall clock two days off (libfaketime), so the
# guest's own metadata clock offset is two days wrong. The host relay must
# rewrite it to the truth, (host realtime - host monotonic) - MONO_SHIFT,
# within 5 us, and say so in the sync file next to the trace.

. "$(dirname "$0")/lib.sh"

NUM_EVENTS=10000
# Paced, so that the relay probes the guest's clock over a few seconds.
RATE=2000
VM=vm-clock
MONO_SHIFT=123456
WALL_SHIFT=-2d
WALL_SHIFT_NS=$((-2 * 86400 * 1000000000))
MAX_ERROR_NS=5000

lh_require python3 "$LH_FAKETIME_LIB"

guest_trace()
{
	lh_trace s1 "$1" --rate "$2"
}
export -f guest_trace

# sync_get KEY: a value of the VM's sync file.
sync_get()
{
	lh_sync_get "$sync_file" "$1"
}

lh_init 12
lh_pick_ports 3

lh_relay_start main --vm "$VM=unix-listen:$LH_TMP/$VM.sock"
ok $? "lttng-hyper-relayd started with --vm $VM" || bail_out "no relay"

read -r rm_before rm_window <<<"$(lh_host_realtime_minus_mono)"
start_s=$(date +%s)
lh_guest -m "$MONO_SHIFT" -w "$WALL_SHIFT" -c "$LH_TMP/$VM.sock" "$LH_TMP/guest" \
	guest_trace "$NUM_EVENTS" "$RATE"
ok $? "guest (monotonic +$MONO_SHIFT s, sessiond wall clock $WALL_SHIFT) traced $NUM_EVENTS events"
end_s=$(date +%s)
read -r rm rm_window_after <<<"$(lh_host_realtime_minus_mono)"
diag "host realtime - monotonic: $rm_before ns before the session (+-$((rm_window / 2)) ns)," \
	"$rm ns after (+-$((rm_window_after / 2)) ns): $((rm - rm_before)) ns apart"
truth=$((rm - MONO_SHIFT * 1000000000))

lh_trace_stats "$LH_OUT/$VM"
diag "$(lh_trace_describe)"
lh_trace_complete "$NUM_EVENTS" &&
	[ "$LH_FIRST_S" -ge $((start_s - 5)) ] && [ "$LH_LAST_S" -le $((end_s + 5)) ]
ok $? "every event there, dated within the test's run ($LH_FIRST_S..$LH_LAST_S in $start_s..$end_s), not two days back"

sync_file=$(find "$LH_OUT/$VM" -name lttng-hyper-sync -type f)
[ -n "$sync_file" ] && [ "$(wc -l <<<"$sync_file")" -eq 1 ]
ok $? "one sync file: ${sync_file#"$LH_OUT"/}" || bail_out "no sync file"
diag "$(cat "$sync_file")"

[ "$(sync_get status)" = applied ] && [ "$(sync_get vm)" = "$VM" ]
ok $? "the sync file says the correction was applied to $VM (status: $(sync_get status))"

guest_offset=$(sync_get guest_offset)
[[ $guest_offset =~ ^[0-9]+$ ]] && own_error=$((guest_offset - truth)) &&
	setup_error=$((own_error - WALL_SHIFT_NS)) && [ "${setup_error#-}" -lt 1000000000 ]
ok $? "the guest's own offset was $WALL_SHIFT off, as set up (guest_offset - truth = ${own_error:-?} ns)"

offset=$(lh_metadata_clock "$LH_OUT/$VM" offset)
freq=$(lh_metadata_clock "$LH_OUT/$VM" freq)
[ -n "$offset" ] && [ "$offset" = "$(sync_get offset)" ] && [ "$freq" = "$(sync_get freq)" ]
ok $? "the metadata holds the sync file's clock (offset = $offset, freq = $freq)"

error_bound=$(sync_get error_ns)
[[ $error_bound =~ ^[0-9]+$ ]]
ok $? "the sync file reports an error bound: $error_bound ns (estimate by $(sync_get method), $(sync_get probes_used)/$(sync_get probes) probes, min RTT $(sync_get min_rtt_ns) ns)"
diag "host realtime - monotonic used by the relay: $(sync_get host_realtime_minus_mono_ns) ns, measured here: $rm ns"

# Cycles of the first and last events: the corrected clock must be right
# over the whole trace, whatever freq (drift) it carries.
read -r first_c last_c < <(lh_trace_cycles "$LH_OUT/$VM")
err_first=$(lh_mapping_error_ns "$offset" "$freq" "$first_c" "$MONO_SHIFT" "$rm")
err_last=$(lh_mapping_error_ns "$offset" "$freq" "$last_c" "$MONO_SHIFT" "$rm")
[ -n "$err_first" ] && [ "${err_first#-}" -le "$MAX_ERROR_NS" ]
ok $? "corrected clock at the first event: error $err_first ns (at most $MAX_ERROR_NS)"
[ -n "$err_last" ] && [ "${err_last#-}" -le "$MAX_ERROR_NS" ]
ok $? "corrected clock at the last event: error $err_last ns (at most $MAX_ERROR_NS)"

# The truth itself is known to +- half the reading window.
[ -n "$err_first" ] && [ -n "$error_bound" ] &&
	[ "${err_first#-}" -le $((error_bound + rm_window_after / 2)) ] &&
	[ "${err_last#-}" -le $((error_bound + rm_window_after / 2)) ]
ok $? "the measured error is within the reported bound ($error_bound ns, +- $((rm_window_after / 2)) ns for the truth)"

kill -0 "$(lh_relay_pid main)" 2>/dev/null
ok $? "lttng-hyper-relayd still running"
