#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A hostile guest attacks lttng-hyper-relayd while a good guest traces.
#
# One relay serves two VMs: vm-good, a guest role tracing NUM_EVENTS
# events, and vm-evil, whose channel tests/utils/hostile-guest connects to
# again and again, one attack each time. Every attack must leave a log
# line naming vm-evil and its fault, get vm-evil's channel closed (or the
# connections beyond the limit refused), leave the relay running with
# vm-good's channel untouched, and make the host write nothing outside
# OUT/vm-evil. In the end, the good guest's trace
# must be complete, the relay's memory bounded, and lttng-relayd the one
# started first.

. "$(dirname "$0")/lib.sh"

HOSTILE=$top_builddir/tests/utils/hostile-guest
GOOD=vm-good
EVIL=vm-evil
NUM_EVENTS=300000
# The good guest traces at least NUM_EVENTS at RATE, and goes on until
# the attacks are over (GOOD_DONE), however long they take on a busy
# machine.
RATE=20000
MAX_RSS_KB=$((256 * 1024))
MD_MAX_RSS_KB=$((128 * 1024))
MAX_CONNS=64
ATTACK_TIMEOUT_MS=5000

good_trace()
{
	lh_trace good "$1" --rate "$2" --until "$3"
}
export -f good_trace

lh_require "$HOSTILE"

# Attacks run by the generic checks:
# LOG PATTERN (ERE) | MODE | --evil STRING | other hostile-guest options.
# Path attacks aim at $LH_TMP/escape-* (see lh_attack_expand): climbing out
# of OUT/vm-evil/SESSION with "../" or naming an absolute path. None of
# these may exist afterwards.
ATTACKS=(
	"bad magic|garbage|"
	"bad magic|bad-magic|"
	"exceeds the maximum|oversized|"
	"middle of a|truncated|"
	"unknown frame type 12|unknown-type|"
	"reserved field not zero|reserved-flags|"
	"reserved field not zero|reserved-field|"
	"OPEN frame for conn 1: .*kind 7|bad-open|"
	"conn 77, which was never opened|data-unopened|"
	"malformed VM path|nested-path|"
	"unsafe session_name|session-name|UP/escape-session"
	"unsafe session_name|session-name|/escape-session-abs"
	"unsafe base_path|base-path|UP/escape-base"
	"unsafe base_path|base-path|/escape-base-abs"
	"unsafe base_path|base-path|.."
	"unsafe base_path|base-path|../$GOOD"
	"unsafe override_name|chunk-name|UP/escape-chunk"
	"unsafe pathname|stream-path|UP/escape-stream"
	"unsafe pathname|stream-path|/escape-stream-abs"
	"unsafe channel_name|stream-channel|UP/escape-channel"
	"exceeds the limit|huge-control|"
	"unknown relayd command 4242|unknown-command|"
	"CREATE_SESSION: payload of 20 bytes|truncated-create|"
	"DATA_PENDING .*not owned|foreign-data-pending|"
	"CLOSE_STREAM .*not owned|foreign-close-stream|"
	"SEND_METADATA .*not owned|foreign-metadata|"
	"data packet on stream .*not owned|foreign-data|"
	"indexes ahead of their data packet \\(at most 256\\)|index-ahead|"
	"limit of $MAX_CONNS connections is reached|conn-flood||-m $MAX_CONNS -n $((MAX_CONNS + 16))"
)

# Set up 3, benign 3, protocol 2.16 2, hostname 4, attacks 4 each, data-over-credit 4,
# no-index 5, flood 4, metadata-hold 4, the good guest and the end 8.
lh_init $((3 + 3 + 2 + 4 + 4 * ${#ATTACKS[@]} + 4 + 5 + 4 + 4 + 8))
lh_pick_ports 3
mkdir -p "$LH_TMP/attacks" || bail_out "mkdir $LH_TMP/attacks failed"
GOOD_SOCK=$LH_TMP/$GOOD.sock
EVIL_SOCK=$LH_TMP/$EVIL.sock
RELAY_LOG=$LH_TMP/relay-main.log

# A stall of lttng-relayd provoked below must not look like a dead relayd.
lh_relay_start main --vm "$GOOD=unix-listen:$GOOD_SOCK" \
	--vm "$EVIL=unix-listen:$EVIL_SOCK" --relayd-timeout 30000 --max-conns "$MAX_CONNS"
ok $? "lttng-hyper-relayd started with --vm $GOOD and --vm $EVIL" || bail_out "no relay"
RELAY_PID=$(lh_relay_pid main)
RELAYD_PID=$(awk '{ print $1; exit }' /proc/"$RELAY_PID"/task/*/children)

GOOD_DONE=$LH_TMP/good.done
lh_guest -u good-guest -c "$GOOD_SOCK" "$LH_TMP/good" good_trace "$NUM_EVENTS" "$RATE" \
	"$GOOD_DONE" &
GOOD_PID=$!

# The good guest's streams must exist before the attacks: the foreign-*
# attacks aim at their ids.
good_streams()
{
	find "$LH_OUT/$GOOD" -type f -name 'c_[0-9]*' 2>/dev/null | grep -q .
}
lh_wait_for 60 good_streams
ok $? "the good guest is tracing (its streams are under OUT/$GOOD)" ||
	bail_out "the good guest did not start"
kill -0 "$GOOD_PID" 2>/dev/null
ok $? "the good guest still runs when the attacks begin" ||
	diag "the good guest ended before the attacks: raise NUM_EVENTS or lower RATE"

# Everything under the test's directory but OUT/vm-evil, the files the
# test and the good guest's role keep for themselves, and the files
# lttng-relayd makes for the good guest's streams as their data comes
# (an index appears with a stream's first packet).
GOOD_STREAMS="$LH_OUT/$GOOD/good-[0-9-]+/ust/uid/[0-9]+/64-bit"
listing()
{
	find "$LH_TMP" \( -path "$LH_OUT/$EVIL" -o -path "$LH_TMP/good" \
		-o -path "$LH_TMP/attacks" \) -prune -o -print |
		grep -vE "^$GOOD_STREAMS/(c_[0-9]+|metadata|index|index/c_[0-9]+\.idx)\$" |
		sort
}

# Run hostile-guest (options, then the mode) against vm-evil's channel.
# Sets OUT (its output file) and LOG_OFF (the relay log's size before).
NATTACK=0
hostile()
{
	local mode=${*: -1}

	NATTACK=$((NATTACK + 1))
	OUT=$LH_TMP/attacks/$NATTACK-$mode.out
	LOG_OFF=$(stat -c %s "$RELAY_LOG")
	listing >"$LH_TMP/attacks/before"
	timeout 120 "$HOSTILE" -t "$ATTACK_TIMEOUT_MS" "$@" "unix:$EVIL_SOCK" >"$OUT" 2>&1
}

# What the attacker saw, in one line.
outcome()
{
	grep -E '^(result|verdict|credit|conns|flood|metadata|packets|indexes):' "$OUT" |
		paste -s -d ' '
}

new_log()
{
	tail -c +$((LOG_OFF + 1)) "$RELAY_LOG"
}

# check_relay WHAT: the relay runs, and vm-good's channel stayed up.
check_relay()
{
	local good_lines

	good_lines=$(new_log | grep -E "\[vm=$GOOD\] .*(closing channel|channel down)")
	kill -0 "$RELAY_PID" 2>/dev/null && [ -z "$good_lines" ]
	ok $? "$1: the relay runs on, $GOOD's channel untouched" ||
		diag "$good_lines"
}

# check_contained WHAT [TARGET]: nothing new outside OUT/vm-evil, nothing at TARGET.
check_contained()
{
	local created

	created=$(listing | comm -13 "$LH_TMP/attacks/before" -)
	[ -z "$created" ] && { [ -z "$2" ] || [ ! -e "$2" ]; }
	ok $? "$1: nothing written outside OUT/$EVIL${2:+, nothing at $2}" ||
		diag "created: $created"
}

# The control experiment: a well-formed session on vm-evil's channel is
# served, and the attacker sees a channel that stays open.
hostile -t 1000 benign
ok $? "benign: $(outcome)" || diag "$(cat "$OUT")"
check_relay benign
ls -d "$LH_OUT/$EVIL"/hostile-* >/dev/null 2>&1
ok $? "benign: its session is under OUT/$EVIL"

# A guest whose LTTng makes CTF 2 sessions (2.15 and later) is answered the
# protocol both ends speak, and the host's log tells why its lttng then
# refuses CTF 2 and what to do.
hostile -t 1000 --minor 16 benign
ok $? "benign at relayd protocol 2.16: $(outcome)" || diag "$(cat "$OUT")"
grep -q '^relayd: VERSION 2\.13$' "$OUT" &&
	new_log | grep -qE "\[vm=$EVIL\] .*its LTTng speaks relayd protocol 2\.16, this host's lttng-relayd 2\.13: .*below 2\.15.*lttng-relayd 2\.15 or later.*--trace-format=ctf-1\.8"
ok $? "2.16: the guest is answered 2.13, and the relay says what to do" ||
	diag "new log lines: $(new_log | tail -n 5)"

# The hostname is not the guest's to choose: replaced by the VM name. The
# guest is answered with its own hostname, so the host's disk tells.
lh_attack_expand hostname UP/escape-host
sessions=$(find "$LH_OUT/$EVIL" -mindepth 1 -maxdepth 1 -name 'hostile-*' | wc -l)
hostile -e "$LH_EVIL" hostname
ok $? "hostname: $(outcome)" || diag "$(cat "$OUT")"
[ "$(find "$LH_OUT/$EVIL" -mindepth 1 -maxdepth 1 -name 'hostile-*' | wc -l)" -eq $((sessions + 1)) ] &&
	grep -q '^relayd: CREATE_SESSION .*output_path=".*/escape-host/hostile-[0-9-]*"$' "$OUT" &&
	! grep '^relayd: CREATE_SESSION' "$OUT" | grep -q "$EVIL"
ok $? "hostname: the session went to OUT/$EVIL/ whatever the guest said, and the guest was not told"
check_relay hostname
check_contained hostname "$LH_TARGET"

for entry in "${ATTACKS[@]}"; do
	IFS='|' read -r pattern mode evil opts <<<"$entry"
	lh_attack_expand "$mode" "$evil"
	# shellcheck disable=SC2086 # opts: words without blanks of their own
	hostile ${LH_EVIL:+-e "$LH_EVIL"} $opts "$mode"
	ok $? "$LH_WHAT: $(outcome)" || diag "$(cat "$OUT")"
	new_log | grep -qE "\[vm=$EVIL\] .*($pattern)"
	ok $? "$LH_WHAT: the relay logged it for $EVIL ($pattern)" ||
		diag "new log lines: $(new_log | tail -n 5)"
	check_relay "$LH_WHAT"
	check_contained "$LH_WHAT" "$LH_TARGET"
done

# DATA beyond the credit can only be told from fast credit returns while
# lttng-relayd does not keep up: the attacker stops it during its burst
# (the good guest just waits).
hostile -b $((64 << 20)) --stall-pid "$RELAYD_PID" data-over-credit
status=$?
# Whatever became of the attacker, lttng-relayd must go on.
kill -CONT "$RELAYD_PID"
ok $status "data-over-credit: $(outcome)" || diag "$(cat "$OUT")"
new_log | grep -qE "\[vm=$EVIL\] .*exceeds its credit"
ok $? "data-over-credit: the relay logged it for $EVIL" ||
	diag "new log lines: $(new_log | tail -n 5)"
check_relay data-over-credit
check_contained data-over-credit

# Data packets whose index never comes: lttng-relayd would keep a partial
# index for each, and thousands of them once deadlocked it (then only its
# restart by the relay's liveness check got the VMs going again). The
# relay cuts the channel at the 65th, naming the stream, and lttng-relayd
# goes on serving sessions: a benign one right after, and the good guest.
hostile -k 1024 no-index
ok $? "no-index: $(outcome)" || diag "$(cat "$OUT")"
stream=$(sed -n 's/^relayd: ADD_STREAM stream_id=//p' "$OUT")
new_log | grep -qE "\[vm=$EVIL\] closing channel: .*stream ${stream:-none}: 65 data packets ahead of their index \(at most 64\)"
ok $? "no-index: the relay logged it for $EVIL and its stream ${stream:-?}" ||
	diag "new log lines: $(new_log | tail -n 5)"
check_relay no-index
check_contained no-index
hostile -t 1000 benign &&
	[ "$(awk '{ print $1; exit }' /proc/"$RELAY_PID"/task/*/children)" = "$RELAYD_PID" ]
ok $? "no-index: lttng-relayd (pid $RELAYD_PID) serves a session right after, not restarted" ||
	diag "$(outcome)"

# A flood of well-formed data: no fault, but the relay must keep its
# memory bounded and the good guest going.
hostile -d 5000 -b $((512 << 20)) flood
ok $? "flood: $(outcome)" || diag "$(cat "$OUT")"
check_relay flood
hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/"$RELAY_PID"/status)
[ -n "$hwm" ] && [ "$hwm" -lt "$MAX_RSS_KB" ]
ok $? "flood: the relay's peak RSS is ${hwm:-?} KiB (bound $MAX_RSS_KB KiB)"
check_contained flood

# Metadata whose clock value never ends: no fault, but the relay must not
# hold the messages back waiting for its end (it may hold 4 KiB of them).
# Each message is 15 MiB, and buffered whole on its way: a few of them at
# once fit under MD_MAX_RSS_KB, the 16 the rewriter held once do not.
hostile -b $((240 << 20)) metadata-hold
ok $? "metadata-hold: $(outcome)" || diag "$(cat "$OUT")"
check_relay metadata-hold
hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/"$RELAY_PID"/status)
[ -n "$hwm" ] && [ "$hwm" -lt "$MD_MAX_RSS_KB" ]
ok $? "metadata-hold: the relay's peak RSS is ${hwm:-?} KiB (bound $MD_MAX_RSS_KB KiB)"
check_contained metadata-hold

kill -0 "$GOOD_PID" 2>/dev/null
ok $? "the good guest was still tracing when the attacks ended"
touch "$GOOD_DONE"
wait "$GOOD_PID"
ok $? "the good guest traced, then stopped and destroyed its session"

lh_trace_stats "$LH_OUT/$GOOD"
diag "$GOOD: $(lh_trace_describe)"
[ "$LH_COUNT" -ge "$NUM_EVENTS" ] && lh_trace_complete "$LH_COUNT"
ok $? "$GOOD: all $LH_COUNT events (at least $NUM_EVENTS), seq with no gap, no duplicate, no discarded events"

# Up once, and closed only by its own guest, when done.
good_lines=$(grep -E "\[vm=$GOOD\] .*(channel up|closing channel)" "$RELAY_LOG")
[ "$(grep -c "channel up" <<<"$good_lines")" -eq 1 ] &&
	! grep "closing channel" <<<"$good_lines" | grep -qv "peer closed the channel"
ok $? "$GOOD's channel came up once, and only its guest closed it" || diag "$good_lines"

kill -0 "$RELAY_PID" 2>/dev/null
ok $? "lttng-hyper-relayd still running after $NATTACK attacks"

restarts=$(grep -c "restarting lttng-relayd" "$RELAY_LOG")
[ "$(awk '{ print $1; exit }' /proc/"$RELAY_PID"/task/*/children)" = "$RELAYD_PID" ] &&
	[ "$restarts" -eq 0 ]
ok $? "lttng-relayd (pid $RELAYD_PID) ran through every attack, never restarted ($restarts restarts)"

entries=$(ls -A "$LH_OUT" | sort | paste -s -d ' ')
[ "$entries" = "$(printf '%s\n' "$GOOD" "$EVIL" | sort | paste -s -d ' ')" ]
ok $? "OUT holds $GOOD and $EVIL only (found: $entries)"

hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/"$RELAY_PID"/status)
[ -n "$hwm" ] && [ "$hwm" -lt "$MAX_RSS_KB" ]
ok $? "the relay's peak RSS over the whole test is ${hwm:-?} KiB (bound $MAX_RSS_KB KiB)"
