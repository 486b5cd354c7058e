#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A real VM (QEMU) boots with no relay on the host: QEMU listens on the
# channel's socket, but nobody is there. The guest runs a whole session
# (create, enable-channel, start, stop, destroy) that has no host to stream
# to: each command must return within the documented bound, lttng-hyperd's
# host timeout (lttng-hyperd(8): it bounds how long lttng stop and lttng
# destroy can wait). The guest times them itself and prints the figures on
# its console. Then the relay starts: the guest's next session is
# offloaded in full.

. "$(dirname "$0")/lib.sh"

NUM_EVENTS=100000
VM="vm-late"
# lttng-hyperd's default --host-timeout (src/common/defaults.h).
BOUND_MS=10000
STEPS=(create enable-channel start stop destroy)

lh_vm_init $((5 + ${#STEPS[@]}))
lh_pick_ports 3

lh_vm_boot guest "$VM" --append "lh.hostless=1 lh.wait=120 lh.events=$NUM_EVENTS"
guest_pid=$LH_VM_PID
lh_vm_wait_console 120 guest 'hostless session done'
ok $? "with no relay, the guest ran a whole session and went on"

for step in "${STEPS[@]}"; do
	line=$(lh_vm_console guest | grep -m 1 " hostless lttng $step: ")
	ms=$(echo "$line" | sed -n 's/.*: \([0-9]*\) ms, status \([0-9]*\)$/\1/p')
	[ -n "$ms" ] && [ "$ms" -le "$BOUND_MS" ]
	ok $? "no host: lttng $step returned within $BOUND_MS ms (${line#*: })"
done

lh_relay_start late --vm "$VM=unix:$LH_TMP/$VM.sock"
ok $? "lttng-hyper-relayd started late"

lh_vm_wait "$guest_pid" guest
ok $? "the guest's next session traced $NUM_EVENTS events once the relay was up"
diag "$(lh_vm_console guest | grep -E 'channel to the host|tracing|workload done')"

lh_trace_stats "$LH_OUT/$VM" && lh_trace_complete "$NUM_EVENTS"
ok $? "$VM: complete: $(lh_trace_describe)"
