#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Full offload from a real VM (QEMU): the test guest, with no network
# device, traces NUM_EVENTS numbered events to net://127.0.0.1, and
# lttng-hyperd carries them over the virtio-serial port to
# lttng-hyper-relayd. On the host, babeltrace2 must find every event once,
# with no discard, under OUT/VM, and the trace's env block must still be
# the guest's own: its hostname and its tracer.

. "$(dirname "$0")/lib.sh"

NUM_EVENTS=200000
VM="vm-offload"
# Not the VM's name: the env block must show what the guest calls itself.
GUEST_HOSTNAME=offload-guest

lh_vm_init 9
lh_pick_ports 3

lh_relay_start main --vm "$VM=unix:$LH_TMP/$VM.sock"
ok $? "lttng-hyper-relayd started for $VM" || bail_out "no relay"

start_s=$SECONDS
lh_vm_boot guest "$VM" --append "lh.hostname=$GUEST_HOSTNAME lh.events=$NUM_EVENTS"
lh_vm_wait "$LH_VM_PID" guest
ok $? "the guest traced $NUM_EVENTS events and powered off ($((SECONDS - start_s)) s)"
diag "$(grep -h 'accelerator' "$LH_TMP/guest-launch.log")"
diag "$(lh_vm_console guest | grep -E 'userspace|tracing|workload done|lttng (stop|destroy)|stopped')"

netdevs=$(lh_vm_console guest | sed -n 's/^lh-guest: .* network interfaces: //p')
[ "$netdevs" = lo ]
ok $? "the guest has no network device (its interfaces: '$netdevs')"

entries=$(ls -A "$LH_OUT" 2>/dev/null | paste -s -d ' ')
[ "$entries" = "$VM" ]
ok $? "the host wrote OUT/$VM and nothing else (found: $entries)"

lh_trace_stats "$LH_OUT/$VM"
ok $? "babeltrace2 read OUT/$VM"
diag "$VM: $(lh_trace_describe)"
lh_trace_complete "$NUM_EVENTS"
ok $? "seq is 0..$((NUM_EVENTS - 1)), no gap, no duplicate, no discarded events"

hostname=$(lh_metadata_env "$LH_OUT/$VM" hostname)
[ "$hostname" = "$GUEST_HOSTNAME" ] && [ "$LH_HOSTNAMES" = "$GUEST_HOSTNAME" ]
ok $? "env hostname is the guest's own: $hostname (events: $LH_HOSTNAMES)"

tracer="$(lh_metadata_env "$LH_OUT/$VM" tracer_name) $(lh_metadata_env "$LH_OUT/$VM" tracer_major)"
tracer+=".$(lh_metadata_env "$LH_OUT/$VM" tracer_minor)"
[[ $tracer == "lttng-ust 2."[0-9]* ]]
ok $? "env shows the guest's tracer: $tracer"
