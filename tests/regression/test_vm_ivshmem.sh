#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The ivshmem channel in a real VM (QEMU, TCG here): the guest's
# lttng-hyperd maps the BAR2 of an ivshmem-plain device from sysfs
# (ivshmem:/sys/bus/pci/devices/.../resource2, no driver), the host relay
# maps the device's memory-backend-file (ivshmem-host:FILE). The VM's
# virtio-serial port is there but nothing listens on its socket: whatever
# reaches the host crossed the shared memory. Then the relay is restarted
# while the next guest waits for it, and that guest's trace arrives whole.

. "$(dirname "$0")/lib.sh"

NUM_EVENTS=200000
VM=vm-shm

lh_vm_init 10
lh_pick_ports 3
SHM=$LH_TMP/$VM.shm

# The relay and QEMU must agree on the file's size: make it first.
truncate -s 4M "$SHM"
lh_relay_start main --vm "$VM=ivshmem-host:$SHM"
ok $? "lttng-hyper-relayd started for $VM on ivshmem-host:$SHM" || bail_out "no relay"

start_s=$SECONDS
lh_vm_boot guest "$VM" --ivshmem "$SHM" --append "lh.channel=ivshmem lh.events=$NUM_EVENTS"
lh_vm_wait "$LH_VM_PID" guest
ok $? "the guest traced $NUM_EVENTS events over ivshmem and powered off ($((SECONDS - start_s)) s)" ||
	diag "$(lh_vm_console guest | tail -n 8)"
diag "$(lh_vm_console guest | grep -E 'lttng-hyperd started|channel to the host|workload done')"

lh_vm_console guest | grep -q "lttng-hyperd started on ivshmem:/sys/bus/pci/devices/.*/resource2"
ok $? "the guest's lttng-hyperd runs on the device's BAR2: $(lh_vm_console guest |
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
lh_relay_start main --vm "$VM=ivshmem-host:$SHM"
ok $? "lttng-hyper-relayd started again" || bail_out "no relay"
lh_vm_wait "$LH_VM_PID" again
ok $? "the second guest traced once its host came, and powered off" ||
	diag "$(lh_vm_console again | tail -n 8)"
lh_trace_stats "$LH_OUT/$VM"
lh_trace_complete 50000
ok $? "its trace is whole: $(lh_trace_describe)"
