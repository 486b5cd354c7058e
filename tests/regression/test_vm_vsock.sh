#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The vsock channel, in the only place here where vhost runs: a nested
# guest. The first-level guest L1 (lh.mode=nested, lh.l2-channel=vsock)
# loads vhost_vsock and is the host of L2: L2's QEMU gets vhost-vsock-pci
# with context id 3, L2's lttng-hyperd listens on vsock-listen:5000, and
# L1's lttng-hyperd serves it with --vm l2=vsock:3:5000, naming L2 by the
# context id it gave it. No unix socket joins L1 to L2: L2's trace reaches
# the host only if it crossed vsock. L1 then carries it to the host over
# its own virtio-serial channel.

# L2 boots within L1: leave room beyond the usual bound of one boot. L1
# gives up on L2 two minutes sooner, to tell on its console how far L2 got.
: "${LH_GUEST_TIMEOUT:=600}"
. "$(dirname "$0")/lib.sh"

NESTED_EVENTS=${NESTED_EVENTS:-20000}
NESTED_ACCEL=${NESTED_ACCEL:-auto}
L1=l1
L2=l2

lh_vm_init 9
lh_vm_nested_image
lh_pick_ports 3

lh_relay_start main --vm "$L1=unix:$LH_TMP/$L1.sock"
ok $? "lttng-hyper-relayd started for $L1" || bail_out "no relay"

start_s=$SECONDS
lh_vm_run_nested guest "$L1" --mem 1536 --append "lh.mode=nested lh.events=0 lh.l2-name=$L2 \
lh.l2-events=$NESTED_EVENTS lh.l2-accel=$NESTED_ACCEL lh.l2-channel=vsock \
lh.l2-timeout=$((LH_GUEST_TIMEOUT - 120))"
ok $? "$L1 ran $L2 over vsock, $L2 traced, and $L1 powered off ($((SECONDS - start_s)) s)" ||
	diag "$(lh_vm_console guest | tail -n 12)"
diag "$(lh_vm_console guest | grep -E "starting the nested|$L2: .*(lttng-hyperd|accelerator)|is done")"

start_line=$(lh_vm_console guest | grep -m 1 'starting the nested guest')
[[ "$start_line" == *"channel vsock:3:5000"* ]] && [[ "$start_line" == *"lh.channel=vsock:5000"* ]]
ok $? "L1 served $L2 on vsock:3:5000, and $L2 listened on vsock-listen:5000"

lh_vm_console guest | grep -q "$L2: .*lttng-hyperd started" &&
	lh_vm_console guest | grep -q "$L2: .*channel to the host is up"
ok $? "$L2's lttng-hyperd came up on vsock: $(lh_vm_console guest | grep -m 1 "$L2: .*channel to the host is up")"

lh_trace_stats "$LH_OUT/$L1/$L2"
diag "$L2: $(lh_trace_describe)"
lh_trace_complete "$NESTED_EVENTS" && [ "$LH_HOSTNAMES" = "$L2" ]
ok $? "$L2's trace at OUT/$L1/$L2: seq 0..$((NESTED_EVENTS - 1)), no gap, no duplicate, no discard"

hostname=$(lh_metadata_env "$LH_OUT/$L1/$L2" hostname)
[ "$hostname" = "$L2" ]
ok $? "the env block of $L2's trace is $L2's own (hostname: $hostname)"

l2_netdevs=$(lh_vm_console guest | sed -n "s/^lh-guest: .* $L2: .* network interfaces: //p")
[ "$l2_netdevs" = lo ]
ok $? "$L2 has no network device ('$l2_netdevs')"
