#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A real VM (QEMU) killed mid-trace. Guest A traces slowly, guest B at the
# same time; A's QEMU gets SIGKILL while both trace. The relay must log
# A's channel loss and go on serving B, whose trace must be complete; A's
# trace, cut short, must read in babeltrace2 up to its last complete
# packet (seq 0..k, no gap). A boots again on the same channel while B
# still traces: the relay reconnects and a new session is offloaded in full.

. "$(dirname "$0")/lib.sh"

# A's first run: slow enough to be killed while it traces, with a switch
# timer so that its packets and metadata reach the host as it runs.
A_EVENTS=1000000
A_RATE=5000
A_SWITCH_TIMER_US=200000
# B traces for about ten seconds: on, after A is gone.
B_EVENTS=100000
B_RATE=10000
# A's second run.
A2_EVENTS=100000

lh_vm_init 13
lh_pick_ports 3

lh_relay_start main --vm "vm-a=unix:$LH_TMP/vm-a.sock" --vm "vm-b=unix:$LH_TMP/vm-b.sock"
ok $? "lttng-hyper-relayd started for vm-a and vm-b" || bail_out "no relay"
relay_log=$LH_TMP/relay-main.log

# VM's trace on the host has metadata and packets.
packets_arrived()
{
	[ -n "$(find "$LH_OUT/$1" -path '*/64-bit/chan_*' -size +0 2>/dev/null)" ] &&
		[ -n "$(find "$LH_OUT/$1" -path '*/64-bit/metadata' -size +0 2>/dev/null)" ]
}

# relay_logged REGEX: the relay's log lines since A's death that match REGEX.
relay_logged()
{
	tail -n +$((lines_before + 1)) "$relay_log" | grep -E "$1"
}

# The session folders the host wrote for VM, oldest first.
sessions()
{
	find "$LH_OUT/$1" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort
}

# One vCPU: each CPU's stream loses its own tail to the kill, so on two the
# trace cut short may miss events below its last seq; on one it is a prefix.
lh_vm_boot a vm-a --smp 1 --append "lh.hostname=guest-a lh.events=$A_EVENTS \
lh.rate=$A_RATE lh.switch-timer=$A_SWITCH_TIMER_US"
a_pid=$LH_VM_PID
lh_vm_boot b vm-b --append "lh.hostname=guest-b lh.events=$B_EVENTS lh.rate=$B_RATE"
b_pid=$LH_VM_PID

lh_vm_wait_console 120 a ' tracing ' && lh_vm_wait_console 120 b ' tracing ' &&
	lh_wait_for 30 packets_arrived vm-a
ok $? "both guests trace, and A's metadata and first packets reached the host" ||
	bail_out "the guests did not get to trace"

lines_before=$(wc -l <"$relay_log")
! lh_vm_console b | grep -q ' workload done$' && lh_vm_kill a
ok $? "SIGKILL to guest A's QEMU while guest B traces"
wait "$a_pid"
lh_untrack_pid "$a_pid"

lh_wait_for 10 relay_logged '\[vm=vm-a\] channel down' >/dev/null
ok $? "the relay logs A's channel loss:" \
	"$(relay_logged '\[vm=vm-a\] closing channel' | head -n 1 | sed 's/^.*\] //')"

# A boots again at once, while B still traces.
start_s=$SECONDS
lh_vm_boot a2 vm-a --append "lh.hostname=guest-a lh.events=$A2_EVENTS"
a2_pid=$LH_VM_PID

lh_vm_wait "$b_pid" b
ok $? "guest B completed after A's death and powered off"
lh_trace_stats "$LH_OUT/vm-b" && lh_trace_complete "$B_EVENTS"
ok $? "vm-b: complete: $(lh_trace_describe)"

lh_vm_wait "$a2_pid" a2
ok $? "guest A booted again, traced $A2_EVENTS events and powered off ($((SECONDS - start_s)) s)"
relay_logged '\[vm=vm-a\] channel up' >/dev/null
ok $? "the relay reconnected to A's channel"

first_a=$(sessions vm-a | head -n 1)
last_a=$(sessions vm-a | tail -n 1)
[ "$(sessions vm-a | wc -l)" -eq 2 ] && [ "$last_a" != "$first_a" ]
ok $? "vm-a: two sessions, each in a folder of its own ($first_a, $last_a)"

lh_trace_stats "$LH_OUT/vm-a/$first_a"
ok $? "vm-a: babeltrace2 reads the trace cut short without error"
diag "vm-a, killed: $(lh_trace_describe)"
[ "$LH_COUNT" -gt 0 ] && [ "$LH_DUPS" -eq 0 ] && [ "$LH_MIN" -eq 0 ] &&
	[ "$LH_MAX" -eq $((LH_COUNT - 1)) ] && [ "$LH_HOSTNAMES" = guest-a ]
ok $? "vm-a: the trace cut short has $LH_COUNT events of guest-a, seq 0..$LH_MAX contiguous"

lh_trace_stats "$LH_OUT/vm-a/$last_a" && lh_trace_complete "$A2_EVENTS" &&
	[ "$LH_HOSTNAMES" = guest-a ]
ok $? "vm-a: the new session is complete: $(lh_trace_describe)"
