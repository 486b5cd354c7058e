#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Nested VMs (QEMU within QEMU): the first-level guest L1 boots a nested
# guest L2 (lh.mode=nested), which traces numbered events to its own
# lttng-hyperd. L2's channel ends in L1's lttng-hyperd (--vm L2=unix:...),
# which carries L2's connections to the host along with L1's own, over
# L1's only channel. On the host, babeltrace2 must find every event of
# each guest once, with no discard: L1's under OUT/L1, L2's under
# OUT/L1/L2. L2's boot and its lttng commands take most of the run (about
# 30 s when L1's KVM runs L2, about two minutes under TCG within TCG): set
# NESTED_EVENTS and L1_EVENTS (200000 each) for a full-size run, a few
# seconds longer.

# L2 boots within L1: leave room beyond the usual bound of one boot. L1
# gives up on L2 two minutes sooner, to tell on its console how far L2 got.
: "${LH_GUEST_TIMEOUT:=600}"
. "$(dirname "$0")/lib.sh"

NESTED_EVENTS=${NESTED_EVENTS:-20000}
L1_EVENTS=${L1_EVENTS:-20000}
# L2's accelerator in L1: auto (KVM if L1 has it and the probe boots),
# kvm or tcg.
NESTED_ACCEL=${NESTED_ACCEL:-auto}
L1=l1
L2=l2

lh_vm_init 11
lh_vm_nested_image
lh_pick_ports 3

lh_relay_start main --vm "$L1=unix:$LH_TMP/$L1.sock"
ok $? "lttng-hyper-relayd started for $L1" || bail_out "no relay"

start_s=$SECONDS
lh_vm_run_nested guest "$L1" --mem 1536 \
	--append "lh.mode=nested lh.events=$L1_EVENTS lh.l2-name=$L2 lh.l2-events=$NESTED_EVENTS \
lh.l2-accel=$NESTED_ACCEL lh.l2-timeout=$((LH_GUEST_TIMEOUT - 120))"
ok $? "$L1 ran $L2, both traced, and $L1 powered off ($((SECONDS - start_s)) s)"
diag "$(grep -h 'accelerator' "$LH_TMP/guest-launch.log")"
diag "$(lh_vm_console guest | grep -E "userspace|workload done|VT-x|/dev/kvm|starting the nested|$L2: |done")"

entries=$(ls -A "$LH_OUT" 2>/dev/null | paste -s -d ' ')
[ "$entries" = "$L1" ]
ok $? "the host wrote OUT/$L1 and nothing else (found: $entries)"

# L1's own session folder, beside L2's folder.
l1_trace=$(find "$LH_OUT/$L1" -mindepth 1 -maxdepth 1 -type d ! -name "$L2")
[ -n "$l1_trace" ] && [ "$(echo "$l1_trace" | wc -l)" -eq 1 ] && [ -d "$LH_OUT/$L1/$L2" ]
ok $? "OUT/$L1 holds one trace of $L1 and the folder of $L2 (found: $(ls -A "$LH_OUT/$L1" | paste -s -d ' '))"

lh_trace_stats "$LH_OUT/$L1/$L2"
diag "$L2: $(lh_trace_describe)"
lh_trace_complete "$NESTED_EVENTS" && [ "$LH_HOSTNAMES" = "$L2" ]
ok $? "$L2: seq is 0..$((NESTED_EVENTS - 1)), no gap, no duplicate, no discard, hostname $L2"

lh_trace_stats "$l1_trace"
diag "$L1: $(lh_trace_describe)"
lh_trace_complete "$L1_EVENTS" && [ "$LH_HOSTNAMES" = "$L1" ]
ok $? "$L1: seq is 0..$((L1_EVENTS - 1)), no gap, no duplicate, no discard, hostname $L1"

hostname=$(lh_metadata_env "$LH_OUT/$L1/$L2" hostname)
[ "$hostname" = "$L2" ]
ok $? "the env block of $L2's trace is $L2's own (hostname: $hostname)"

# Both guests' traces, read as one.
lh_trace_stats "$LH_OUT/$L1"
hostnames=$(echo "$LH_HOSTNAMES" | tr ',' '\n' | sort | paste -s -d ' ')
[ "$LH_COUNT" -eq $((NESTED_EVENTS + L1_EVENTS)) ] && [ "$hostnames" = "$L1 $L2" ]
ok $? "babeltrace2 reads OUT/$L1 whole: $LH_COUNT events, hostnames $hostnames"

l1_netdevs=$(lh_vm_console guest | sed -n 's/^lh-guest: \[[0-9.]*\] network interfaces: //p')
l2_netdevs=$(lh_vm_console guest | sed -n "s/^lh-guest: .* $L2: .* network interfaces: //p")
[ "$l1_netdevs" = lo ] && [ "$l2_netdevs" = lo ]
ok $? "neither guest has a network device ($L1: '$l1_netdevs', $L2: '$l2_netdevs')"
