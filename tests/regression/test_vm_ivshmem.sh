#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The ivshmem channel in a real VM (QEMU, TCG here): the guest's
# lttng-hyperd maps the BAR2 of an ivshmem-plain device from sysfs
# (ivshmem:/sys/bus/pci/devices/.../resource2, no driver), the host relay
# maps the device's memory-backend-file (ivshmem-host:FILE), and both ring
# the virtio-serial port org.lttng.hyper.bell to wake the other (,bell=).
# The VM's main virtio-serial port is there but nothing listens on its
# socket: whatever reaches the host crossed the shared memory. Then the
# relay is restarted while the next guest waits for it, and that guest's
# trace arrives whole. Last, a guest is killed mid-trace: its bell closes,
# the relay ends its session at once, and what arrived is a prefix.

. "$(dirname "$0")/lib.sh"

NUM_EVENTS=200000
VM=vm-shm

# Killed mid-trace: a paced workload, small packets, one vCPU (so that
# what arrives is a prefix: test_vm_output_hyper.sh says why).
K_EVENTS=1000000
K_RATE=5000
K_SWITCH_TIMER_US=200000

lh_vm_init 16
lh_pick_ports 3
SHM=$LH_TMP/$VM.shm
CHANNEL=ivshmem-host:$SHM,bell=$SHM.bell

# The relay and QEMU must agree on the file's size: make it first.
truncate -s 4M "$SHM"
lh_relay_start main --vm "$VM=$CHANNEL"
ok $? "lttng-hyper-relayd started for $VM on $CHANNEL" || bail_out "no relay"
RELAY_LOG=$LH_TMP/relay-main.log

start_s=$SECONDS
lh_vm_boot guest "$VM" --ivshmem "$SHM" --append "lh.channel=ivshmem lh.events=$NUM_EVENTS"
lh_vm_wait "$LH_VM_PID" guest
ok $? "the guest traced $NUM_EVENTS events over ivshmem and powered off ($((SECONDS - start_s)) s)" ||
	diag "$(lh_vm_console guest | tail -n 8)"
diag "$(lh_vm_console guest | grep -E 'lttng-hyperd started|channel to the host|workload done')"

lh_vm_console guest |
	grep -q "lttng-hyperd started on ivshmem:/sys/bus/pci/devices/.*/resource2,bell=/dev/virtio-ports/org.lttng.hyper.bell"
ok $? "the guest's lttng-hyperd runs on the device's BAR2, with its bell: $(lh_vm_console guest |
	sed -n 's/.*lttng-hyperd started on \([^ ]*\).*/\1/p')"

lh_trace_stats "$LH_OUT/$VM"
diag "$VM: $(lh_trace_describe)"
lh_trace_complete "$NUM_EVENTS" && [ "$LH_HOSTNAMES" = "$VM" ]
ok $? "seq is 0..$((NUM_EVENTS - 1)), no gap, no duplicate, no discarded events"

# The relay restarted while the next guest runs: it waits for its host.
relay_pid=$(lh_relay_pid main)
lh_kill_pid "$relay_pid"
ok $? "lttng-hyper-relayd stopped"
rm -rf "${LH_OUT:?}/$VM"
lh_vm_boot again "$VM" --ivshmem "$SHM" --append "lh.channel=ivshmem lh.events=50000 lh.wait=120"
lh_vm_wait_console 120 again "waiting up to"
ok $? "the second guest waits for its host: $(lh_vm_console again | grep -m 1 'waiting up to')"
lh_relay_start main --vm "$VM=$CHANNEL"
ok $? "lttng-hyper-relayd started again" || bail_out "no relay"
lh_vm_wait "$LH_VM_PID" again
ok $? "the second guest traced once its host came, and powered off" ||
	diag "$(lh_vm_console again | tail -n 8)"
lh_trace_stats "$LH_OUT/$VM"
lh_trace_complete 50000
ok $? "its trace is whole: $(lh_trace_describe)"

# Killed mid-trace: QEMU's end of the bell closes with it.
rm -rf "${LH_OUT:?}/$VM"
since=$(wc -l <"$RELAY_LOG")
lh_vm_boot killed "$VM" --ivshmem "$SHM" --smp 1 --append "lh.channel=ivshmem \
lh.events=$K_EVENTS lh.rate=$K_RATE lh.switch-timer=$K_SWITCH_TIMER_US"
killed_pid=$LH_VM_PID
stream_bytes()
{
	find "$LH_OUT/$VM" -type f -name 'chan_*' ! -name '*.idx' -printf '%s\n' 2>/dev/null |
		awk '{ n += $1 } END { print n + 0 }'
}
# The metadata comes by its own switch timer, maybe after the first data
# packets: without it, nothing could read what arrived (doc/vm.md).
metadata_arrived()
{
	[ -n "$(find "$LH_OUT/$VM" -type f -name metadata -size +0 2>/dev/null)" ]
}
lh_vm_wait_console 180 killed ' tracing ' &&
	lh_wait_for 30 eval '[ "$(stream_bytes)" -gt 0 ] && metadata_arrived'
ok $? "the guest traces, and its metadata and first packets reached the host" ||
	bail_out "the guest did not get to trace: $(lh_vm_console killed | tail -n 3)"
killed_line=$(wc -l <"$RELAY_LOG")
lh_vm_kill killed
ok $? "SIGKILL to the guest's QEMU while it traces"
wait "$killed_pid"
lh_untrack_pid "$killed_pid"
relay_since()
{
	tail -n +"$(($1 + 1))" "$RELAY_LOG" | grep -E "$2"
}
lh_wait_for 10 eval 'relay_since "$killed_line" "\[vm=$VM\] ivshmem host end of .*: its bell closed" >/dev/null &&
	relay_since "$killed_line" "\[vm=$VM\] channel down" >/dev/null'
ok $? "the relay ends the session at once: $(relay_since "$killed_line" "\[vm=$VM\] ivshmem" |
	head -n 1 | sed 's/^.*\] //')"
kill -0 "$(lh_relay_pid main)" 2>/dev/null
ok $? "lttng-hyper-relayd goes on"
# lttng-relayd writes what it received, then the relay trims a packet
# cut short (TRIM_DELAY_MS, trim.c): only then is every stream file whole.
lh_wait_for 30 lh_trace_stats "$LH_OUT/$VM"
ok $? "babeltrace2 reads the trace cut short without error" ||
	diag "$(tail -n 3 "$LH_TMP/babeltrace2.err")"
diag "killed: $(lh_trace_describe);" \
	"$(relay_since "$killed_line" "\[vm=$VM\] Trimmed" | wc -l) stream files trimmed"
[ "$LH_COUNT" -gt 0 ] && [ "$LH_DUPS" -eq 0 ] && [ "$LH_MIN" -eq 0 ] &&
	[ "$LH_MAX" -eq $((LH_COUNT - 1)) ]
ok $? "the trace cut short holds seq 0..$LH_MAX, $LH_COUNT events, with no gap"
