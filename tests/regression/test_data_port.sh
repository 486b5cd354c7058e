#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Data ports (--vm-data, doc/output-hyper.md): trace packets written by a
# guest's lttng-consumerd straight into a port of the host relay, routed by
# stream id to lttng-relayd, while the control connections take the hyper
# channel through lttng-hyperd.
#
# One relay serves three VMs at once:
# - vm-good traces with stock LTTng through lttng-hyperd alone, as
#   test_loopback.sh does, all through the test;
# - vm-port runs tests/utils/port-guest, a synthetic consumerd writing valid
#   CTF, on two data ports at once (the relay listens on one and connects
#   to the other): every event must be under OUT/vm-port once, in order;
# - vm-evil attacks one of its data ports (garbage, a frame for vm-good's
#   stream, a frame over --max-data-frame, a frame cut short), one attack
#   per session, while a clean port-guest writes to its other port. Each
#   attack must close that port alone with a log line naming the VM, the
#   port and the fault; what came before it stays written; the cut stream
#   is trimmed back to its last whole packet; the VM's channel, its other
#   port and the other VMs go on.

. "$(dirname "$0")/lib.sh"

LH_PORT_GUEST=$top_builddir/tests/utils/port-guest
export LH_PORT_GUEST
GOOD=vm-good
PORTVM=vm-port
EVIL=vm-evil
NUM_EVENTS=400000
# Slow enough for the good guest to trace all through the data ports' runs.
RATE=10000
MAX_FRAME=1048576
MAX_RSS_KB=$((256 * 1024))
ATTACKS=(garbage foreign oversized cut)
# Event numbers of each port-guest run start at a multiple of this.
RUN_SPAN=1000000

good_trace()
{
	lh_trace good "$1" --rate "$2"
}
export -f good_trace

# Two consumerds at once, one per data port: the relay listens on the
# first and connects to the second (QEMU's server=on socket, played here).
port_run()
{
	local pid status=0

	"$LH_PORT_GUEST" -p "unix:$1" -N p0 -s 2 -S 2 -n 40 -e 50 -b 0 \
		-x "$LH_GUEST_DIR/p0.expect" >"$LH_GUEST_DIR/p0.out" 2>&1 &
	pid=$!
	"$LH_PORT_GUEST" -p "unix-listen:$2" -N p1 -s 1 -S 3 -n 40 -e 50 -b "$3" \
		-x "$LH_GUEST_DIR/p1.expect" >"$LH_GUEST_DIR/p1.out" 2>&1 || status=1
	wait "$pid" || status=1
	return "$status"
}
export -f port_run

# A clean consumerd on the second port, and the attacks, one run each, on
# the first. ATTACKED lists the attacks done while the clean run still ran.
evil_run()
{
	local port=$1 clean_port=$2 foreign=$3 max=$4 span=$5 base mode pid status=0

	"$LH_PORT_GUEST" -p "unix:$clean_port" -N clean -s 1 -S 2 -n 500 -e 50 -r 50 \
		-b 0 -x "$LH_GUEST_DIR/clean.expect" >"$LH_GUEST_DIR/clean.out" 2>&1 &
	pid=$!
	base=$span
	for mode in garbage foreign oversized cut; do
		"$LH_PORT_GUEST" -p "unix:$port" -N "$mode" -s 2 -S 2 -n 20 -e 50 -b "$base" \
			-a "$mode" -k 9 -f "$foreign" -m "$max" -x "$LH_GUEST_DIR/$mode.expect" \
			>"$LH_GUEST_DIR/$mode.out" 2>&1 || status=1
		kill -0 "$pid" 2>/dev/null && echo "$mode" >>"$LH_GUEST_DIR/attacked-during-clean"
		base=$((base + span))
	done
	wait "$pid" || status=1
	return "$status"
}
export -f evil_run

lh_require "$LH_PORT_GUEST"

# Options 2, set-up 3, vm-port 7, vm-evil 6 + 3 per attack, vm-good and the end 6.
lh_init $((2 + 3 + 7 + 6 + 3 * ${#ATTACKS[@]} + 6))
lh_pick_ports 3
RELAY_LOG=$LH_TMP/relay-main.log
PORT_DATA0=$LH_TMP/$PORTVM-data0.sock
PORT_DATA1=$LH_TMP/$PORTVM-data1.sock
EVIL_DATA=$LH_TMP/$EVIL-data.sock
EVIL_CLEAN=$LH_TMP/$EVIL-clean.sock

# --- options ---------------------------------------------------------------

! out=$("$LH_RELAY" --vm "a=unix-listen:$LH_TMP/a.sock" --vm-data "b=unix-listen:$LH_TMP/b.sock" 2>&1) &&
	grep -q "no --vm b=CHANNEL" <<<"$out"
ok $? "--vm-data for a VM without --vm is refused" || diag "$out"
! out=$("$LH_RELAY" --vm "a=unix-listen:$LH_TMP/a.sock" --vm-data "a=unix:$LH_TMP/a.sock" 2>&1) &&
	grep -q "uses the socket of VM a" <<<"$out"
ok $? "--vm-data on the socket of a --vm is refused" || diag "$out"

# --- set-up ------------------------------------------------------------------

lh_relay_start main --vm "$GOOD=unix-listen:$LH_TMP/$GOOD.sock" \
	--vm "$PORTVM=unix-listen:$LH_TMP/$PORTVM.sock" \
	--vm-data "$PORTVM=unix-listen:$PORT_DATA0" --vm-data "$PORTVM=unix:$PORT_DATA1" \
	--vm "$EVIL=unix-listen:$LH_TMP/$EVIL.sock" \
	--vm-data "$EVIL=unix-listen:$EVIL_DATA" --vm-data "$EVIL=unix-listen:$EVIL_CLEAN" \
	--max-data-frame "$MAX_FRAME"
ok $? "lttng-hyper-relayd started with --vm $GOOD, $PORTVM and $EVIL, and 4 data ports" ||
	bail_out "no relay"
RELAY_PID=$(lh_relay_pid main)

lh_guest -u good-guest -c "$LH_TMP/$GOOD.sock" "$LH_TMP/good" good_trace "$NUM_EVENTS" "$RATE" &
GOOD_PID=$!

# lttng-relayd numbers streams from 1, for every VM: the good guest's
# streams must exist before any other, so that stream 1 is one of them.
good_streams()
{
	find "$LH_OUT/$GOOD" -type f -name 'c_[0-9]*' 2>/dev/null | grep -q .
}
lh_wait_for 60 good_streams
ok $? "the good guest is tracing (its streams are under OUT/$GOOD)" ||
	bail_out "the good guest did not start"

lh_guest -u port-guest -c "$LH_TMP/$PORTVM.sock" "$LH_TMP/port" \
	port_run "$PORT_DATA0" "$PORT_DATA1" "$RUN_SPAN" &
PORT_PID=$!
lh_guest -u evil-guest -c "$LH_TMP/$EVIL.sock" "$LH_TMP/evil" \
	evil_run "$EVIL_DATA" "$EVIL_CLEAN" 1 "$MAX_FRAME" "$RUN_SPAN" &
EVIL_PID=$!
wait "$PORT_PID"
port_status=$?
wait "$EVIL_PID"
evil_status=$?
kill -0 "$GOOD_PID" 2>/dev/null
ok $? "the good guest still traced when the data ports' runs ended" ||
	diag "the good guest ended first: raise NUM_EVENTS or lower RATE"

# The events under DIR as babeltrace2 shows them (time order), one seq a line.
seqs()
{
	(set -o pipefail
	timeout "$LH_CMD_TIMEOUT" babeltrace2 --names=payload "$1" 2>"$LH_TMP/babeltrace2.err" |
		sed -n 's/^.*hyper_test:seq: .*seq = \([0-9]*\).*$/\1/p')
}

# check_seqs VM EXPECT_FILES...: every expected event under OUT/VM, once,
# and each run's events in number order.
check_seqs()
{
	local vm=$1 got inv

	shift
	got=$LH_TMP/$vm.seqs
	seqs "$LH_OUT/$vm" >"$got"
	ok $? "babeltrace2 read OUT/$vm" || diag "$(tail -n 5 "$LH_TMP/babeltrace2.err")"
	sort -n "$@" >"$LH_TMP/$vm.expected"
	sort -n "$got" | cmp -s - "$LH_TMP/$vm.expected"
	ok $? "OUT/$vm holds each of the $(wc -l <"$LH_TMP/$vm.expected") events its guest wrote whole, once (found $(wc -l <"$got"), $(sort -n "$got" | uniq -d | wc -l) repeated)" ||
		diag "missing: $(sort -n "$got" | comm -13 - "$LH_TMP/$vm.expected" | head -n 5 | paste -s -d ' ')," \
			"extra: $(sort -n "$got" | comm -23 - "$LH_TMP/$vm.expected" | head -n 5 | paste -s -d ' ')"
	inv=$(awk -v span="$RUN_SPAN" '{ r = int($1 / span); if (r in last && $1 <= last[r]) n++; last[r] = $1 } END { print n + 0 }' "$got")
	[ "$inv" -eq 0 ]
	ok $? "OUT/$vm: each run's events come in order ($inv out of order)"
}

# --- vm-port: two data ports at once -------------------------------------------

ok "$port_status" "$PORTVM: both consumerds wrote every packet through their data ports" ||
	diag "$(tail -n 3 "$LH_TMP/port/p0.out" "$LH_TMP/port/p1.out" "$LH_TMP/port/guest.log")"
sessions=$(ls -A "$LH_OUT/$PORTVM" 2>/dev/null | sed 's/-[0-9]\{8\}-[0-9]\{6\}$//' | sort | paste -s -d ' ')
[ "$sessions" = "p0-0 p0-1 p1-0" ]
ok $? "OUT/$PORTVM holds the sessions p0-0, p0-1 and p1-0 (found: $sessions)"
check_seqs "$PORTVM" "$LH_TMP/port/p0.expect" "$LH_TMP/port/p1.expect"
# 40 packets of 4 streams on the first port, of 3 on the second.
grep -qE "\[vm=$PORTVM\] data port unix-listen:$PORT_DATA0 down after .*closed by the guest: 160 frames" "$RELAY_LOG" &&
	grep -qE "\[vm=$PORTVM\] data port unix:$PORT_DATA1 down after .*closed by the guest: 120 frames" "$RELAY_LOG"
ok $? "each port's closing log line counts its frames (160 and 120)" ||
	diag "$(grep "\[vm=$PORTVM\] data port" "$RELAY_LOG" | grep -v "cannot connect" | tail -n 6)"
[ "$(grep -cE "\[vm=$PORTVM\] data port .*: data connection of session [0-9]+ to lttng-relayd closed \(its session ended\)" "$RELAY_LOG")" -eq 3 ]
ok $? "one lttng-relayd data connection per session, closed when the session ended"

# --- vm-evil: attacks on one port ------------------------------------------------

ok "$evil_status" "$EVIL: the clean run and the four attack runs did as they must" ||
	diag "$(tail -n 4 "$LH_TMP/evil/"*.out)"
# The cut stream is trimmed once lttng-relayd is done with it.
lh_wait_for 30 grep -qE "\[vm=$EVIL\] Trimmed the partial last packet of $EVIL/cut-" "$RELAY_LOG"
ok $? "$EVIL: the stream of the cut frame was trimmed back to its last whole packet"
for mode in "${ATTACKS[@]}"; do
	LH_MAX_FRAME=$MAX_FRAME lh_port_attack_checks "$EVIL" "unix-listen:$EVIL_DATA" "$RELAY_LOG" \
		"$LH_TMP/evil" "$mode"
	grep -qx "$mode" "$LH_TMP/evil/attacked-during-clean" 2>/dev/null
	ok $? "$mode: $EVIL's other port was busy meanwhile" ||
		diag "the clean run ended first: give it more packets"
done
check_seqs "$EVIL" "$LH_TMP/evil/"*.expect
# The clean port: one connection, closed by its guest once done.
clean_lines=$(grep -E "\[vm=$EVIL\] data port unix-listen:$EVIL_CLEAN (up|down)" "$RELAY_LOG")
[ "$(grep -c " up$" <<<"$clean_lines")" -eq 1 ] &&
	grep -qE "down after .*closed by the guest: 1000 frames" <<<"$clean_lines"
ok $? "$EVIL's other port stayed up all through the attacks (1000 frames)" || diag "$clean_lines"

# --- vm-good, and the relay ----------------------------------------------------------

wait "$GOOD_PID"
ok $? "the good guest traced $NUM_EVENTS events, then stopped and destroyed its session"
lh_trace_stats "$LH_OUT/$GOOD"
diag "$GOOD: $(lh_trace_describe)"
lh_trace_complete "$NUM_EVENTS"
ok $? "$GOOD: all $NUM_EVENTS events, seq with no gap, no duplicate, no discarded events"

# Each channel up once, and closed only by its own guest, when done.
bad_channels=''
for vm in "$GOOD" "$PORTVM" "$EVIL"; do
	lines=$(grep -E "\[vm=$vm\] .*(channel up|closing channel)" "$RELAY_LOG")
	if [ "$(grep -c "channel up" <<<"$lines")" -ne 1 ] ||
			grep "closing channel" <<<"$lines" | grep -qv "peer closed the channel"; then
		bad_channels+="$vm: $lines; "
	fi
done
[ -z "$bad_channels" ]
ok $? "every VM's channel came up once, and only its guest closed it" || diag "$bad_channels"

kill -0 "$RELAY_PID" 2>/dev/null
ok $? "lttng-hyper-relayd still running"
entries=$(ls -A "$LH_OUT" | sort | paste -s -d ' ')
[ "$entries" = "$(printf '%s\n' "$GOOD" "$PORTVM" "$EVIL" | sort | paste -s -d ' ')" ]
ok $? "OUT holds $GOOD, $PORTVM and $EVIL only (found: $entries)"
hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/"$RELAY_PID"/status)
[ -n "$hwm" ] && [ "$hwm" -lt "$MAX_RSS_KB" ]
ok $? "the relay's peak RSS is ${hwm:-?} KiB (bound $MAX_RSS_KB KiB)"
