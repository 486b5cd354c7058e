#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Three guest roles trace at the same time, each with its own CLOCK_MONOTONIC
# offset, through one lttng-hyper-relayd serving three VMs. Each VM's trace
# must be complete in its own OUT/NAME directory and hold nothing of the
# others'.

. "$(dirname "$0")/lib.sh"

NUM_EVENTS=200000
VMS=(vm-a vm-b vm-c)
HOSTNAMES=(guest-a guest-b guest-c)
# Monotonic offsets in seconds: a fresh boot, a day, a year.
OFFSETS=(0 86400 31536000)

# Paced, so that the three guests surely trace at the same time.
guest_trace()
{
	lh_trace s "$1" --rate 100000
}
export -f guest_trace

lh_init $((5 + 5 * ${#VMS[@]}))
lh_pick_ports 3

vm_args=()
for vm in "${VMS[@]}"; do
	vm_args+=(--vm "$vm=unix-listen:$LH_TMP/$vm.sock")
done
lh_relay_start main "${vm_args[@]}"
ok $? "lttng-hyper-relayd started for ${VMS[*]}" || bail_out "no relay"

# A second daemon given the running relay's pid file refuses it, and the
# file still names the running relay (which the clean-up stops by it).
relay_pid=$(cat "$LH_TMP/relay-main.pid")
for daemon in "$LH_RELAY --vm x=unix-listen:$LH_TMP/x.sock" "$LH_HYPERD -c unix:$LH_TMP/x.sock"; do
	name=$(basename "${daemon%% *}")
	# shellcheck disable=SC2086 # the daemon and its arguments
	timeout "$LH_CMD_TIMEOUT" $daemon --pidfile "$LH_TMP/relay-main.pid" \
		-C tcp://127.0.0.1:1 >"$LH_TMP/$name-2.log" 2>&1
	status=$?
	[ "$status" -eq 1 ] &&
		grep -q "pid file $LH_TMP/relay-main.pid belongs to a running daemon (PID $relay_pid)" \
			"$LH_TMP/$name-2.log" &&
		[ "$(cat "$LH_TMP/relay-main.pid")" = "$relay_pid" ] && kill -0 "$relay_pid"
	ok $? "a second $name given the relay's pid file exits with status $status, saying whose it is; the file still names the running relay" ||
		diag "$(tail -n 2 "$LH_TMP/$name-2.log")"
done

start_s=$(date +%s)
pids=()
for i in "${!VMS[@]}"; do
	lh_guest -u "${HOSTNAMES[i]}" -m "${OFFSETS[i]}" -c "$LH_TMP/${VMS[i]}.sock" \
		"$LH_TMP/${VMS[i]}" guest_trace "$NUM_EVENTS" &
	pids+=($!)
done
for i in "${!VMS[@]}"; do
	wait "${pids[i]}"
	ok $? "${VMS[i]}: guest (monotonic +${OFFSETS[i]} s) traced $NUM_EVENTS events"
done
end_s=$(date +%s)

entries=$(ls -A "$LH_OUT" 2>/dev/null | sort | paste -s -d ' ')
[ "$entries" = "${VMS[*]}" ]
ok $? "the host wrote one directory per VM (found: $entries)"

lh_overlap_reset
for i in "${!VMS[@]}"; do
	vm=${VMS[i]}
	lh_trace_stats "$LH_OUT/$vm"
	ok $? "$vm: babeltrace2 read OUT/$vm"
	diag "$vm: $(lh_trace_describe)"
	lh_trace_complete "$NUM_EVENTS"
	ok $? "$vm: seq is 0..$((NUM_EVENTS - 1)), no gap, no duplicate, no discarded events"
	[ "$LH_HOSTNAMES" = "${HOSTNAMES[i]}" ]
	ok $? "$vm: only ${HOSTNAMES[i]}'s events (found hostnames: $LH_HOSTNAMES)"
	# The offset must not leak into absolute time: the guest's sessiond
	# measured realtime - monotonic inside its own time namespace.
	[ "$LH_FIRST_S" -ge $((start_s - 5)) ] && [ "$LH_LAST_S" -le $((end_s + 5)) ]
	ok $? "$vm: events dated within the test's run ($LH_FIRST_S..$LH_LAST_S in $start_s..$end_s)"
	lh_overlap_add
done
lh_overlap
ok $? "the three guests traced at the same time (their traces overlap in time)"
