#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# --max-memory: what a hostile guest can make the relay hold.
#
# hostile-guest's partial-control opens connections and sends on each all
# but the last byte of a 16 MiB control message, which the relay buffers
# whole before it judges it.
#
# 1. The control experiment: a relay allowed 1 GiB holds what 8 such
#    connections send (its RSS grows by more than 100 MiB while the
#    attacker waits), and gives it back when the attacker leaves.
# 2. A relay allowed LIMIT: 8, then 64 connections (--max-conns) attack
#    while vm-good traces. Each time the relay cuts vm-evil off with a log
#    line naming the limit, its peak RSS grows by no more than LIMIT and a
#    small constant, lttng-hyper status shows vm-evil holding nothing and
#    a peak within LIMIT, and vm-good's channel stays up.
# 3. vm-good's trace is complete.

. "$(dirname "$0")/lib.sh"

HOSTILE=$top_builddir/tests/utils/hostile-guest
LH_CLI=$top_builddir/src/bin/lttng-hyper/lttng-hyper
LIMIT=$((64 << 20))
# The allocator's and the kernel's share beyond what the account counts.
SLACK_KB=$((16 << 10))
MIN_HELD_KB=$((100 << 10))
NUM_EVENTS=100000
RATE=10000

lh_require "$HOSTILE" "$LH_CLI" python3

good_trace()
{
	lh_trace good "$1" --rate "$2" --until "$3"
}
export -f good_trace

# rss_kb PID [FIELD]: the process's VmRSS (or FIELD) in KiB.
rss_kb()
{
	awk -v f="${2:-VmRSS}:" '$1 == f { print $2 }' /proc/"$1"/status
}

# attack NAME ARGS...: hostile-guest partial-control on vm-evil, ARGS
# before the mode; its output in $LH_TMP/NAME.out.
attack()
{
	local name=$1

	shift
	timeout 120 "$HOSTILE" -t 10000 "$@" partial-control "unix:$LH_TMP/vm-evil.sock" \
		>"$LH_TMP/$name.out" 2>&1
}

outcome()
{
	grep -E '^(attack|sent|result|verdict):' "$LH_TMP/$1.out" | paste -s -d ' '
}

lh_init 16
lh_pick_ports 3

# 1. The control experiment.
lh_relay_start big --max-memory 1G --vm "vm-evil=unix-listen:$LH_TMP/vm-evil.sock"
ok $? "a relay allowed 1 GiB started" || bail_out "no relay"
pid=$(lh_relay_pid big)
before=$(rss_kb "$pid")
attack big -r -n 8 -d 4000 &
attacker=$!
lh_wait_for 60 grep -q '^hold:' "$LH_TMP/big.out"
during=$(rss_kb "$pid")
wait "$attacker"
[ $((during - before)) -ge "$MIN_HELD_KB" ] && grep -q '^result: still open' "$LH_TMP/big.out"
ok $? "allowed 1 GiB, the relay holds what 8 connections send: RSS $before -> $during KiB ($(outcome big))"
lh_wait_for 10 eval '[ "$(rss_kb "$pid")" -lt $((before + SLACK_KB)) ]'
ok $? "and gives it back when the attacker leaves: RSS $(rss_kb "$pid") KiB"
lh_kill_pid "$pid"

# 2. The bound, while a good guest traces.
lh_relay_start main --max-memory "$LIMIT" --vm "vm-good=unix-listen:$LH_TMP/vm-good.sock" \
	--vm "vm-evil=unix-listen:$LH_TMP/vm-evil.sock"
ok $? "a relay allowed $LIMIT bytes per VM started" || bail_out "no relay"
pid=$(lh_relay_pid main)
LOG=$LH_TMP/relay-main.log
GOOD_DONE=$LH_TMP/good.done
lh_guest -u good-guest -c "$LH_TMP/vm-good.sock" "$LH_TMP/good" good_trace "$NUM_EVENTS" \
	"$RATE" "$GOOD_DONE" &
good_pid=$!
lh_wait_for 60 eval 'find "$LH_OUT/vm-good" -name "c_[0-9]*" 2>/dev/null | grep -q .'
ok $? "vm-good is tracing" || bail_out "the good guest did not start"

for conns in 8 64; do
	log_off=$(stat -c %s "$LOG")
	# The peak from here on: clear_refs resets VmHWM to the current RSS.
	echo 5 >/proc/"$pid"/clear_refs
	before=$(rss_kb "$pid")
	attack "main-$conns" -n "$conns" -d 2000
	ok $? "$conns connections: the relay cut vm-evil off ($(outcome "main-$conns"))"
	hwm=$(rss_kb "$pid" VmHWM)
	[ $((hwm - before)) -le $((LIMIT / 1024 + SLACK_KB)) ]
	ok $? "$conns connections: the relay's peak RSS grew by $((hwm - before)) KiB, within the limit and $SLACK_KB KiB"
	line=$(tail -c +$((log_off + 1)) "$LOG" | grep -m1 "\[vm=vm-evil\] closing channel: .*over --max-memory $LIMIT")
	[ -n "$line" ]
	ok $? "$conns connections: the relay says why: ${line#*closing channel: }"
	timeout "$LH_CMD_TIMEOUT" "$LH_CLI" status --json >"$LH_TMP/status.json" 2>&1
	python3 -c '
import json, sys
vm = {v["name"]: v for v in json.load(open(sys.argv[1]))["vms"]}
evil, good = vm["vm-evil"]["memory"], vm["vm-good"]["memory"]
limit = int(sys.argv[2])
print("# vm-evil memory %s, vm-good memory %s" % (evil, good))
sys.exit(not (evil["held"] == 0 and 0 < evil["peak"] <= limit and evil["limit"] == limit and
	0 < good["held"] <= limit and good["limit"] == limit and vm["vm-good"]["state"] == "up"))' \
		"$LH_TMP/status.json" "$LIMIT"
	ok $? "$conns connections: status shows vm-evil holding nothing (its peak within the limit) and vm-good up"
done

good_lines=$(grep -E "\[vm=vm-good\] .*(closing channel|channel down)" "$LOG")
[ -z "$good_lines" ] && kill -0 "$pid"
ok $? "the relay runs on, vm-good's channel untouched" || diag "$good_lines"
touch "$GOOD_DONE"
wait "$good_pid"
ok $? "vm-good traced, then stopped and destroyed its session"
lh_trace_stats "$LH_OUT/vm-good"
[ "$LH_COUNT" -ge "$NUM_EVENTS" ] && lh_trace_complete "$LH_COUNT"
ok $? "vm-good: every event, once, no discard ($(lh_trace_describe))"
