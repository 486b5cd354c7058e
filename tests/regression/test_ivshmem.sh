#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The ivshmem channel kind without a VM: the relay maps a file as a VM's
# ivshmem memory (--vm vm1=ivshmem-host:FILE) and a guest role's
# lttng-hyperd the same file (-c ivshmem:FILE), as it would the device's
# BAR2. Its events must all arrive, once. Then a hostile guest scribbles
# the guest-to-host ring's producer index: the relay must log it and drop
# that channel, and go on serving another VM, and vm1 once a sane guest
# comes back. The file is in LH_TMP: a guest role has its own /dev/shm.

. "$(dirname "$0")/lib.sh"

NUM_EVENTS=200000
SHM_EVENTS=50000
SHM=vm1
OTHER=vm2

guest_trace()
{
	lh_trace "${2:-s1}" "$1"
}
export -f guest_trace

# hostile FILE: take part in the handshake as the guest (ivshmem.h), then
# put the producer index past the consumer's by more than the ring.
hostile()
{
	python3 - "$1" <<'EOF'
import mmap, struct, sys, time

f = open(sys.argv[1], "r+b")
m = mmap.mmap(f.fileno(), 0)
rd = lambda off: struct.unpack_from("=I", m, off)[0]
def wr(off, v):
    struct.pack_into("=I", m, off, v & 0xffffffff)
# Header: ring_size at 12; host block at 64, guest block at 128:
# epoch, ack, prod, cons.
# Accept the host's current session (cons, then ack), show up, and wait
# until the host accepted this one: the previous guest's session may be
# ending meanwhile, and the host reopening.
end = time.time() + 10
while time.time() < end:
    he = rd(64)
    if he and rd(132) != he:
        wr(140, rd(72))
        wr(132, he)
        wr(128, 0x0bad)
    if he and rd(68) == 0x0bad and rd(64) == he:
        break
    time.sleep(0.01)
else:
    sys.exit("the host never accepted this guest")
time.sleep(0.1)
wr(136, rd(76) + rd(12) + 12345)
time.sleep(1)
wr(128, 0)
EOF
}

lh_init 12
lh_pick_ports 3

lh_relay_start main --vm "$SHM=ivshmem-host:$LH_TMP/$SHM.shm" \
	--vm "$OTHER=unix-listen:$LH_TMP/$OTHER.sock"
ok $? "lttng-hyper-relayd started with --vm $SHM=ivshmem-host:FILE" || bail_out "no relay"
RELAY_LOG=$LH_TMP/relay-main.log

lh_guest -u guest-1 -C "ivshmem:$LH_TMP/$SHM.shm" "$LH_TMP/guest1" guest_trace "$NUM_EVENTS"
ok $? "the guest traced $NUM_EVENTS events over ivshmem"
lh_trace_stats "$LH_OUT/$SHM" && [ "$LH_COUNT" -eq "$NUM_EVENTS" ] &&
	lh_trace_complete "$NUM_EVENTS"
ok $? "$SHM: all $NUM_EVENTS events arrived once: $(lh_trace_describe)"

# The guest's lttng-hyperd stopped: its session ends before the attack.
lh_wait_for 10 grep -q "\[vm=$SHM\] channel down" "$RELAY_LOG"
log_lines=$(wc -l <"$RELAY_LOG")
new_log()
{
	tail -n +"$((log_lines + 1))" "$RELAY_LOG"
}

hostile "$LH_TMP/$SHM.shm"
ok $? "a hostile guest scribbled the ring's producer index"
lh_wait_for 10 eval "new_log | grep -q \"\\[vm=$SHM\\] ivshmem host end of .*/$SHM.shm: the guest's producer index [0-9]* is too far ahead of our consumer index\""
ok $? "the relay logged the scribbled index"
new_log | grep -qE "\[vm=$SHM\] closing channel"
ok $? "the relay dropped $SHM's channel"
diag "$(new_log | grep -E "\[vm=$SHM\]|ivshmem")"
kill -0 "$(lh_relay_pid main)" 2>/dev/null
ok $? "lttng-hyper-relayd still running"

lh_guest -u guest-2 -c "$LH_TMP/$OTHER.sock" "$LH_TMP/guest2" guest_trace "$NUM_EVENTS"
ok $? "$OTHER: a guest traced $NUM_EVENTS events over unix"
lh_trace_stats "$LH_OUT/$OTHER" && [ "$LH_COUNT" -eq "$NUM_EVENTS" ] &&
	lh_trace_complete "$NUM_EVENTS"
ok $? "$OTHER: all $NUM_EVENTS events arrived once: $(lh_trace_describe)"

lh_guest -u guest-1 -C "ivshmem:$LH_TMP/$SHM.shm" "$LH_TMP/guest3" guest_trace \
	"$SHM_EVENTS" s2
ok $? "$SHM: a sane guest is back and traced $SHM_EVENTS events"
lh_trace_stats "$LH_OUT/$SHM"/s2-* && lh_trace_complete "$SHM_EVENTS"
ok $? "$SHM: all $SHM_EVENTS events arrived once: $(lh_trace_describe)"

kill -0 "$(lh_relay_pid main)" 2>/dev/null
ok $? "lttng-hyper-relayd still running"
