#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Two real VMs (QEMU) trace at the same time through one
# lttng-hyper-relayd. Each VM's trace must be complete in its own OUT/NAME
# and hold nothing of the other's: its own hostname, its own event count.

. "$(dirname "$0")/lib.sh"

VMS=(vm-a vm-b)
HOSTNAMES=(guest-a guest-b)
# Different counts: events written into the wrong directory would show.
EVENTS=(200000 160000)
# Paced, so that the two guests trace at the same time for a while.
RATE=40000

lh_vm_init $((4 + 4 * ${#VMS[@]}))
lh_pick_ports 3

vm_args=()
for vm in "${VMS[@]}"; do
	vm_args+=(--vm "$vm=unix:$LH_TMP/$vm.sock")
done

start_s=$SECONDS
pids=()
for i in "${!VMS[@]}"; do
	lh_vm_boot "${VMS[i]}" "${VMS[i]}" --append "lh.hostname=${HOSTNAMES[i]} lh.wait=240 \
lh.events=${EVENTS[i]} lh.rate=$RATE"
	pids+=("$LH_VM_PID")
done
# The relay comes once both guests wait for it, so that they trace at the
# same time however long each took to boot on a busy machine.
for vm in "${VMS[@]}"; do
	lh_vm_wait_console "$LH_GUEST_TIMEOUT" "$vm" 'waiting up to .* for the host' ||
		bail_out "$vm did not come to wait for the host: $(lh_vm_console "$vm" | tail -n 3)"
done
lh_relay_start main "${vm_args[@]}"
ok $? "lttng-hyper-relayd started for ${VMS[*]} once both waited for it" || bail_out "no relay"
for i in "${!VMS[@]}"; do
	lh_vm_wait "${pids[i]}" "${VMS[i]}"
	ok $? "${VMS[i]}: the guest traced ${EVENTS[i]} events and powered off" \
		"($((SECONDS - start_s)) s)"
done

entries=$(ls -A "$LH_OUT" 2>/dev/null | sort | paste -s -d ' ')
[ "$entries" = "${VMS[*]}" ]
ok $? "the host wrote one directory per VM (found: $entries)"

lh_overlap_reset
for i in "${!VMS[@]}"; do
	vm=${VMS[i]}
	lh_trace_stats "$LH_OUT/$vm"
	ok $? "$vm: babeltrace2 read OUT/$vm"
	diag "$vm: $(lh_trace_describe)"
	lh_trace_complete "${EVENTS[i]}"
	ok $? "$vm: seq is 0..$((EVENTS[i] - 1)), no gap, no duplicate, no discarded events"
	[ "$LH_HOSTNAMES" = "${HOSTNAMES[i]}" ] &&
		[ "$(lh_metadata_env "$LH_OUT/$vm" hostname)" = "${HOSTNAMES[i]}" ]
	ok $? "$vm: only ${HOSTNAMES[i]}'s events (found hostnames: $LH_HOSTNAMES)"
	lh_overlap_add
done
lh_overlap
ok $? "the two guests traced at the same time (their traces overlap in time)"
