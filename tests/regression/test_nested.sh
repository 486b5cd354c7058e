#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Nested VMs: a chain of three guests on one machine. L1's lttng-hyperd
# serves L2's channel, L2's serves L3's, and the host relay serves L1's;
# each level is a guest role with its own CLOCK_MONOTONIC offset, and L2's
# lttng-sessiond sees a wall clock two days off.
#
# 1. The three levels trace at the same time: every trace is complete, at
#    OUT/l1/S-DATE, OUT/l1/l2/S-DATE and OUT/l1/l2/l3/S-DATE, nothing else.
# 2. L2's and L3's sync files list the hops of the chain, and their
#    composed correction puts their events at the right host time.
# 3. A host process and one in L2 play ping-pong: in `babeltrace2 OUT`,
#    every send comes before its receive.
# 4. A hostile VM on a second child channel of L1 attacks while L1 and L2
#    trace: nothing lands outside OUT/l1/evil, the relay (relayd faults)
#    or L1's lttng-hyperd (frame faults) says why, a faulty VM is shut out
#    with its subtree, the host takes at most 16 VM paths below each VM
#    that l1 runs, and the good levels' traces stay complete.

. "$(dirname "$0")/lib.sh"

HOSTILE=$top_builddir/tests/utils/hostile-guest
LH_PINGPONG=$top_builddir/tests/utils/pingpong
export LH_PINGPONG

LEVELS=(l1 l2 l3)
PATHS=(l1 l1/l2 l1/l2/l3)
HOSTNAMES=(l1-guest l2-guest l3-guest)
OFFSETS=(100000 250000 400000)
WALL_SHIFTS=('' -2d '')
NUM_EVENTS=100000
# Paced, so that the three levels surely trace at the same time.
RATE=50000
ROUNDS=1000
# The good levels trace at this rate until the attacks are over.
GOOD_RATE=5000
ATTACK_TIMEOUT_MS=2000
# The VM paths the host takes below one VM that l1 runs (LH_MAX_NESTED_PER_CHILD).
MAX_PATHS=16

lh_require "$HOSTILE" "$LH_PINGPONG" "$LH_FAKETIME_LIB" python3

# --- in the guest roles ----------------------------------------------------

# good_session SESSION STOP_FILE: trace at GOOD_RATE until STOP_FILE.
good_session()
{
	local pid status

	lh_session_create "$1" && lh_timed "$1.start" lttng start "$1" || return 1
	LTTNG_UST_REGISTER_TIMEOUT=-1 LTTNG_UST_ALLOW_BLOCKING=1 \
		"$LH_GEN_EVENTS" -n 1000000000 --rate "$GOOD_RATE" &
	pid=$!
	lh_wait_file "$2"
	kill "$pid"
	wait "$pid"
	status=$?
	# 143: ended by our SIGTERM, as meant.
	[ "$status" -eq 143 ] || { echo "gen-events ended early ($status)"; return 1; }
	lh_timed "$1.stop" lttng stop "$1" && lh_timed "$1.destroy" lttng destroy "$1"
}
export -f good_session

# pingpong_session SESSION MODE SOCKET ROUNDS: play one side (MODE serve or
# connect) of the game, traced in SESSION.
pingpong_session()
{
	lh_session_create "$1" 'hyper_pingpong:*' &&
	lh_timed "$1.start" lttng start "$1" &&
	LTTNG_UST_REGISTER_TIMEOUT=-1 LTTNG_UST_ALLOW_BLOCKING=1 \
		lh_timed "$1.pingpong" "$LH_PINGPONG" --"$2" "$3" -n "$4" &&
	lh_timed "$1.stop" lttng stop "$1" &&
	lh_timed "$1.destroy" lttng destroy "$1"
}
export -f pingpong_session

# level LEVEL FLAGS: one level of the chain. Once its channel is up, say
# so; at FLAGS/go, trace; then, for l1 and l2, the later phases, each
# when the test says, and stay up (the levels below go through this one)
# until FLAGS/release-LEVEL.
level()
{
	local lvl=$1 flags=$2

	lh_wait_channel_up
	touch "$flags/$lvl.up"
	lh_wait_file "$flags/go"
	lh_trace "s-$lvl" "$NUM_EVENTS" --rate "$RATE" || return 1
	touch "$flags/$lvl.traced"
	[ "$lvl" != l3 ] || return 0
	if [ "$lvl" = l2 ]; then
		lh_wait_file "$flags/pingpong"
		pingpong_session pp-l2 serve "$flags/pingpong.sock" "$ROUNDS" || return 1
	fi
	lh_wait_file "$flags/attacks"
	good_session good "$flags/attacks-done" || return 1
	lh_wait_file "$flags/release-$lvl"
}
export -f level
export NUM_EVENTS RATE ROUNDS GOOD_RATE

# --- on the host ------------------------------------------------------------

# session_dir DIR SESSION: the one directory of SESSION right under DIR.
session_dir()
{
	local dirs

	dirs=$(find "$1" -mindepth 1 -maxdepth 1 -type d -name "$2-[0-9]*-[0-9]*")
	[ -n "$dirs" ] && [ "$(wc -l <<<"$dirs")" -eq 1 ] && echo "$dirs"
}

# entries DIR: the names in DIR, sorted, on one line.
entries()
{
	ls -A "$1" 2>/dev/null | sed 's/-[0-9]\{8\}-[0-9]\{6\}$/-DATE/' | LC_ALL=C sort |
		paste -s -d ' '
}

# 17 fixed, 10 per level, 4 per attack, 3 for the memory, 6 for the bans,
# 3 for the limit, 7 in the end.
ATTACK_COUNT=22
lh_init $((17 + 10 * ${#LEVELS[@]} + 4 * ATTACK_COUNT + 3 + 6 + 3 + 7))
lh_pick_ports 3
FLAGS=$LH_TMP/flags
mkdir -p "$FLAGS" "$LH_TMP/attacks" || bail_out "mkdir in $LH_TMP failed"
RELAY_LOG=$LH_TMP/relay-main.log
L1_LOG=$LH_TMP/l1/hyperd.log
EVIL_SOCK=$LH_TMP/evil.sock
MANY_SOCK=$LH_TMP/many.sock

lh_relay_start main --vm "l1=unix-listen:$LH_TMP/l1.sock"
ok $? "lttng-hyper-relayd started with --vm l1" || bail_out "no relay"
RELAY_PID=$(lh_relay_pid main)

# Each level serves the next one's channel; L1 also serves the hostile
# VMs': evil's, and many's, which names VMs until the host refuses one.
CHILD_ARGS=("--vm l2=unix-listen:$LH_TMP/l2.sock --vm evil=unix-listen:$EVIL_SOCK
	--vm many=unix-listen:$MANY_SOCK" "--vm l3=unix-listen:$LH_TMP/l3.sock" '')
start_s=$(date +%s)
read -r rm_before rm_window_before <<<"$(lh_host_realtime_minus_mono)"
pids=()
for i in "${!LEVELS[@]}"; do
	lvl=${LEVELS[i]}
	lh_guest -u "${HOSTNAMES[i]}" -m "${OFFSETS[i]}" ${WALL_SHIFTS[i]:+-w "${WALL_SHIFTS[i]}"} \
		${CHILD_ARGS[i]:+-x "${CHILD_ARGS[i]}"} -c "$LH_TMP/$lvl.sock" \
		"$LH_TMP/$lvl" level "$lvl" "$FLAGS" &
	pids+=($!)
done
for i in "${!LEVELS[@]}"; do
	lh_wait_flag 60 "$FLAGS/${LEVELS[i]}.up" "${pids[i]}"
	ok $? "${LEVELS[i]}: lttng-hyperd's channel is up" ||
		bail_out "${LEVELS[i]}'s channel did not come up"
done

# A guest that serves VMs says when its clocksource keeps its KVM from a
# master clock, and a guest that serves none says nothing: here they all
# read this machine's.
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
case $cs in
tsc|hyperv_clocksource_tsc_page)
	want=0
	;;
*)
	want=1
	;;
esac
warned=$(grep -c "clocksource is '$cs', not the TSC" "$L1_LOG")
[ "$warned" = "$want" ] && ! grep -q "not the TSC" "$LH_TMP/l3/hyperd.log"
ok $? "on clocksource $cs, l1's lttng-hyperd (it serves VMs) warns of steps in their clocks: $warned warning (want $want); l3's (it serves none): none"

# --- 1. three levels trace at the same time ---------------------------------

touch "$FLAGS/go"
for i in "${!LEVELS[@]}"; do
	lh_wait_flag 120 "$FLAGS/${LEVELS[i]}.traced" "${pids[i]}"
	ok $? "${LEVELS[i]} (monotonic +${OFFSETS[i]} s${WALL_SHIFTS[i]:+, wall clock ${WALL_SHIFTS[i]}})" \
		"traced $NUM_EVENTS events"
done
wait "${pids[2]}"
ok $? "l3: its role ended well"
end_s=$(date +%s)
read -r rm rm_window <<<"$(lh_host_realtime_minus_mono)"
diag "host realtime - monotonic: $rm_before ns before (+-$((rm_window_before / 2)) ns)," \
	"$rm ns after (+-$((rm_window / 2)) ns): $((rm - rm_before)) ns apart"

[ "$(entries "$LH_OUT")" = l1 ] && [ "$(entries "$LH_OUT/l1")" = "l2 s-l1-DATE" ] &&
	[ "$(entries "$LH_OUT/l1/l2")" = "l3 s-l2-DATE" ] &&
	[ "$(entries "$LH_OUT/l1/l2/l3")" = s-l3-DATE ]
ok $? "OUT holds l1/s-l1-*, l1/l2/s-l2-*, l1/l2/l3/s-l3-* and nothing else" ||
	diag "$(cd "$LH_OUT" && find . -maxdepth 4 -type d)"

lh_overlap_reset
for i in "${!LEVELS[@]}"; do
	lvl=${LEVELS[i]}
	dir=$(session_dir "$LH_OUT/${PATHS[i]}" "s-$lvl")
	SESSION_DIRS[i]=$dir
	lh_trace_stats "$dir"
	ok $? "$lvl: babeltrace2 read OUT/${PATHS[i]}/s-$lvl-*"
	diag "$lvl: $(lh_trace_describe)"
	lh_trace_complete "$NUM_EVENTS"
	ok $? "$lvl: seq is 0..$((NUM_EVENTS - 1)), no gap, no duplicate, no discarded events"
	[ "$LH_HOSTNAMES" = "${HOSTNAMES[i]}" ] &&
		[ "$(lh_metadata_env "$dir" hostname)" = "${HOSTNAMES[i]}" ]
	ok $? "$lvl: its metadata's hostname is its own, ${HOSTNAMES[i]} (found: $LH_HOSTNAMES)"
	[ "$LH_FIRST_S" -ge $((start_s - 5)) ] && [ "$LH_LAST_S" -le $((end_s + 5)) ]
	ok $? "$lvl: events dated within the test's run ($LH_FIRST_S..$LH_LAST_S in $start_s..$end_s)"
	lh_overlap_add
done
lh_overlap
ok $? "the three levels traced at the same time (their traces overlap in time)"

# --- 2. the clock chain --------------------------------------------------------

for i in "${!LEVELS[@]}"; do
	lvl=${LEVELS[i]}
	dir=${SESSION_DIRS[i]}
	sync_file=$dir/lttng-hyper-sync
	[ -f "$sync_file" ] && [ "$(lh_sync_get "$sync_file" status)" = applied ] &&
		[ "$(lh_sync_get "$sync_file" vm)" = "${PATHS[i]}" ] &&
		[ "$(lh_sync_get "$sync_file" hops)" = $((i + 1)) ]
	ok $? "$lvl: its sync file says vm = ${PATHS[i]}, correction applied, $((i + 1)) hops"
	diag "$(grep -E '^(vm|status|offset|guest_offset|error_ns|hop\.[0-9]+) =' "$sync_file")"

	hops_ok=0
	sum=0
	for ((h = 0; h <= i; h++)); do
		line=$(lh_sync_get "$sync_file" "hop\.$((h + 1))")
		hop_re="^vm=${PATHS[h]} method=[^ ]+ probes=[1-9][0-9]* error_ns=([0-9]+)"
		hop_re+=" drift_ppb=-?[0-9.]+ lead_ns=-?[0-9]+\$"
		if ! [[ $line =~ $hop_re ]]; then
			hops_ok=1
			break
		fi
		sum=$((sum + BASH_REMATCH[1]))
	done
	error_bound=$(lh_sync_get "$sync_file" error_ns)
	# The inner bounds are scaled by the outer rates: a few ns apart at most.
	[ "$hops_ok" -eq 0 ] && [[ $error_bound =~ ^[0-9]+$ ]] &&
		[ "$error_bound" -ge $((sum - i)) ] && [ "$error_bound" -le $((sum + i)) ]
	ok $? "$lvl: one hop line per VM from l1 to ${PATHS[i]}," \
		"the error bound ($error_bound ns) is their sum ($sum ns)"

	# The truth: the level's CLOCK_MONOTONIC is the host's + its offset.
	offset=$(lh_metadata_clock "$dir" offset)
	freq=$(lh_metadata_clock "$dir" freq)
	[ -n "$offset" ] && [ "$offset" = "$(lh_sync_get "$sync_file" offset)" ] &&
		[ "$freq" = "$(lh_sync_get "$sync_file" freq)" ]
	ok $? "$lvl: the metadata holds the sync file's clock (offset = $offset, freq = $freq)"
	read -r first_c last_c < <(lh_trace_cycles "$dir")
	err_first=$(lh_mapping_error_ns "$offset" "$freq" "$first_c" "${OFFSETS[i]}" "$rm")
	err_last=$(lh_mapping_error_ns "$offset" "$freq" "$last_c" "${OFFSETS[i]}" "$rm")
	max_err=$((error_bound + rm_window / 2))
	[ -n "$err_first" ] && [ -n "$err_last" ] &&
		[ "${err_first#-}" -le "$max_err" ] && [ "${err_last#-}" -le "$max_err" ]
	ok $? "$lvl: corrected clock at the first and last events off the truth by $err_first" \
		"and $err_last ns (bound $error_bound ns, +- $((rm_window / 2)) ns for the truth)"
done

# --- 3. ping-pong between the host and L2 ------------------------------------

touch "$FLAGS/pingpong"
lh_guest -u pp-host -s "net://127.0.0.1:$LH_PORT:$((LH_PORT + 1))" "$LH_TMP/host" \
	pingpong_session pp-host connect "$FLAGS/pingpong.sock" "$ROUNDS"
ok $? "host role played $ROUNDS rounds with l2, tracing to lttng-relayd over net://"
diag "pingpong took $(lh_step_ms "$LH_TMP/host" pp-host.pingpong) ms on the host side"

pp_l2=$(session_dir "$LH_OUT/l1/l2" pp-l2)
pp_host=$(session_dir "$LH_OUT/pp-host" pp-host)
# l2's session ends a moment after the host's.
lh_wait_for 30 test -f "$pp_l2/lttng-hyper-sync"
[ -n "$pp_host" ] && [ -n "$pp_l2" ] && [ "$(entries "$LH_OUT")" = "l1 pp-host" ] &&
	mkdir "$LH_TMP/pp-view" && cp -al "$pp_host" "$LH_TMP/pp-view/host" &&
	cp -al "$pp_l2" "$LH_TMP/pp-view/l2"
ok $? "the game's traces are at OUT/pp-host/pp-host-* and OUT/l1/l2/pp-l2-*"
order=$(lh_pingpong_order "$LH_TMP/pp-view" "$ROUNDS")
ok $? "babeltrace2 read the host's and l2's traces of the game, merged"
mapfile -t dirs <<<"$order"
for d in 0 1; do
	names=(host l2)
	read -r ordered wrong missing dups _ <<<"${dirs[d]}"
	diag "${names[d]} -> ${names[1 - d]}: $(lh_pingpong_describe "${dirs[d]}")"
	[ "${ordered:-0}" -eq "$ROUNDS" ] && [ "$wrong" -eq 0 ] && [ "$missing" -eq 0 ] &&
		[ "$dups" -eq 0 ]
	ok $? "${names[d]} -> ${names[1 - d]}: every one of $ROUNDS sends comes before its recv"
done

# --- 4. a hostile VM under L1 ------------------------------------------------

touch "$FLAGS/attacks"
good_streams()
{
	local p

	for p in l1 l1/l2; do
		find "$LH_OUT/$p" -path "$LH_OUT/$p/good-*" -type f -name 'c_[0-9]*' |
			grep -q . || return 1
	done
}
lh_wait_for 60 good_streams
ok $? "l1 and l2 trace their good sessions (streams under OUT/l1/good-*, OUT/l1/l2/good-*)"

# Everything under the test's directory but OUT/l1/evil, the files the
# test and the roles keep for themselves, and those lttng-relayd and the
# relay make for the good sessions as their data comes.
GOOD_FILES="^$LH_OUT/l1(/l2)?/good-[0-9]{8}-[0-9]{6}/"
GOOD_FILES+="(ust/uid/[0-9]+/64-bit/(c_[0-9]+|metadata|index|index/c_[0-9]+\\.idx)"
GOOD_FILES+="|\\.?lttng-hyper-sync(\\.tmp)?)\$"
listing()
{
	find "$LH_TMP" \( -path "$LH_OUT/l1/evil" -o -path "$LH_TMP/l1" -o -path "$LH_TMP/l2" \
		-o -path "$LH_TMP/l3" -o -path "$LH_TMP/host" -o -path "$LH_TMP/attacks" \
		-o -path "$FLAGS" -o -path "$LH_TMP/pp-view" \) -prune -o -print |
		grep -vE "$GOOD_FILES" | sort
}

# hostile OPTIONS... MODE: run hostile-guest against L1's child channel
# HOSTILE_SOCK. Sets OUT (its output), RELAY_OFF and L1_OFF (the logs'
# sizes before).
NATTACK=0
HOSTILE_SOCK=$EVIL_SOCK
hostile()
{
	NATTACK=$((NATTACK + 1))
	OUT=$LH_TMP/attacks/$NATTACK-${*: -1}.out
	RELAY_OFF=$(stat -c %s "$RELAY_LOG")
	L1_OFF=$(stat -c %s "$L1_LOG")
	listing >"$LH_TMP/attacks/before"
	timeout 60 "$HOSTILE" -t "$ATTACK_TIMEOUT_MS" -N l1 "$@" "unix:$HOSTILE_SOCK" >"$OUT" 2>&1
}

outcome()
{
	grep -E '^(result|verdict|setup):' "$OUT" | paste -s -d ' '
}

new_relay_log()
{
	tail -c +$((RELAY_OFF + 1)) "$RELAY_LOG"
}

new_l1_log()
{
	tail -c +$((L1_OFF + 1)) "$L1_LOG"
}

# check_untouched WHAT: the relay runs, and l1's channel and L1's channel
# to l2 stayed up.
check_untouched()
{
	local lines

	lines=$({ new_relay_log; new_l1_log; } |
		grep -E '\[(vm=l1|vm=l2|channel=[^]]*)\] .*(closing channel|channel down|channel lost)')
	kill -0 "$RELAY_PID" 2>/dev/null && [ -z "$lines" ]
	ok $? "$1: the relay runs on, l1's channel and l2's untouched" || diag "$lines"
}

# check_contained WHAT [TARGET]: nothing new outside OUT/l1/evil, nothing at TARGET.
check_contained()
{
	local created

	created=$(listing | comm -13 "$LH_TMP/attacks/before" -)
	[ -z "$created" ] && { [ -z "$2" ] || [ ! -e "$2" ]; }
	ok $? "$1: nothing written outside OUT/l1/evil${2:+, nothing at $2}" ||
		diag "created: $created"
}

# Attacks: WHERE (relay: the host refuses a relayd message; l1: L1's
# lttng-hyperd refuses a frame) | LOG PATTERN (ERE) | MODE | --evil STRING |
# other hostile-guest options. Each relayd attack comes from a VM of evil's
# own (-p), so that the ban of one does not stop the next. Path attacks
# aim at $LH_TMP/escape-* by climbing with "../", or at an absolute path
# (see lh_attack_expand).
ATTACKS=(
	"relay|unsafe base_path|base-path|UP/escape-base|-p a1"
	"relay|unsafe base_path|base-path|/escape-base-abs|-p a2"
	"relay|unsafe base_path|base-path|../l2|-p a3"
	"relay|unsafe base_path|base-path|../..|-p a4"
	"relay|unsafe session_name|session-name|UP/escape-session|-p a5"
	"relay|unsafe override_name|chunk-name|UP/escape-chunk|-p a6"
	"relay|unsafe pathname|stream-path|UP/escape-stream|-p a7"
	"relay|unknown relayd command 4242|unknown-command||-p a8"
	"relay|CLOSE_STREAM .*not owned|foreign-close-stream||-p a9"
	"relay|data packet on stream .*not owned|foreign-data||-p a10"
	"l1|malformed VM path|nested-path|"
	"l1|malformed VM path|benign||-p ../l2"
	"l1|malformed VM path|benign||-p /l1"
	"l1|malformed VM path|benign||-p l2/../../l1"
	"l1|bad magic|garbage|"
	"l1|bad magic|bad-magic|"
	"l1|unknown frame type 12|unknown-type|"
	"l1|reserved field not zero|reserved-field|"
	"l1|exceeds the maximum|oversized|"
	"l1|conn 77, which was never opened|data-unopened|"
	"l1|OPEN frame for conn 1: .*kind 7|bad-open|"
	"l1|middle of a|truncated||-p a11"
)
[ "${#ATTACKS[@]}" -eq "$ATTACK_COUNT" ] || bail_out "ATTACK_COUNT is not ${#ATTACKS[@]}"

# The control experiment, then names that claim another VM's place: the
# host files them all under OUT/l1/evil.
hostile -t 1000 benign
ok $? "benign: $(outcome)" || diag "$(cat "$OUT")"
check_untouched benign
hostile -e l1 hostname
ok $? "hostname \"l1\": the session went to l1/evil/ whatever the guest said: $(outcome)" ||
	diag "$(cat "$OUT")"
hostile -t 1000 -p l2 benign
grep -q '^relayd: CREATE_SESSION id=.* output_path="hostile-guest/hostile-' "$OUT" &&
	grep -q '^verdict: pass' "$OUT"
ok $? "a VM of evil's named l2 is served as l1/evil/l2: $(outcome)" || diag "$(cat "$OUT")"
check_contained "the names claiming l1 and l2"
ls -d "$LH_OUT/l1/evil"/hostile-* "$LH_OUT/l1/evil/l2"/hostile-* >/dev/null 2>&1
ok $? "the benign sessions are under OUT/l1/evil and OUT/l1/evil/l2"

for entry in "${ATTACKS[@]}"; do
	IFS='|' read -r where pattern mode evil opts <<<"$entry"
	lh_attack_expand "$mode" "$evil" "$opts"
	# shellcheck disable=SC2086 # opts: words without blanks of their own
	hostile ${LH_EVIL:+-e "$LH_EVIL"} $opts "$mode"
	# A malformed VM path makes "benign" an attack: L1 must close the channel.
	if [ "$mode" = benign ]; then
		grep -q '^setup: VERSION .* got no answer (channel closed)' "$OUT"
	else
		[ -s "$OUT" ] && grep -q '^verdict: pass' "$OUT"
	fi
	ok $? "$LH_WHAT: $(outcome)" || diag "$(cat "$OUT")"
	if [ "$where" = relay ]; then
		path=${opts#-p }
		new_relay_log | grep -qE "\[vm=l1\] conn [0-9]+ \((control|data)\) reset: .*($pattern)" &&
			new_relay_log | grep -qE "\[vm=l1\] nested VM l1/evil/$path: its connections.* are refused"
		ok $? "$LH_WHAT: the relay logged the fault ($pattern) and shut l1/evil/$path out" ||
			diag "new relay log lines: $(new_relay_log | grep -v Debug | tail -n 5)"
	else
		new_l1_log | grep -qE "\[vm=evil\] closing channel: .*($pattern)"
		ok $? "$LH_WHAT: L1's lttng-hyperd closed evil's channel ($pattern)" ||
			diag "new log lines of L1's lttng-hyperd: $(new_l1_log | tail -n 5)"
	fi
	check_untouched "$LH_WHAT"
	check_contained "$LH_WHAT" "$LH_TARGET"
done

# A VM of evil's that makes the relay hold 16 control messages of 16 MiB
# in part: past the channel's --max-memory (256 MiB), it is shut out
# with all of its connections, so that what they held does not stay on
# l1's account, and l1 and l2 trace on.
hostile -p a12 -n 16 -d 1000 partial-control
grep -q '^result: 16 of 16 conns ended by peer, the channel open' "$OUT"
ok $? "partial-control from l1/evil/a12: every one of its connections reset: $(outcome)" ||
	diag "$(cat "$OUT")"
new_relay_log | grep -qE "\[vm=l1\] conn [0-9]+ \(control\) reset: nested VM l1/evil/a12: a control message: over --max-memory 268435456" &&
	new_relay_log | grep -qE "\[vm=l1\] nested VM l1/evil/a12: its connections.* are refused"
ok $? "partial-control: the relay logged the memory limit and shut l1/evil/a12 out" ||
	diag "new relay log lines: $(new_relay_log | grep -v Debug | tail -n 5)"
check_untouched partial-control

# A VM shut out stays out, and so do the VMs it says it runs: it names them.
hostile -r -p a1 benign
grep -q '^setup: VERSION .* got no answer (connection' "$OUT"
ok $? "l1/evil/a1, shut out, is refused a new connection: $(outcome)" || diag "$(cat "$OUT")"
hostile -r -p a1/b benign
grep -q '^setup: VERSION .* got no answer (connection' "$OUT"
ok $? "l1/evil/a1/b, below a VM shut out, is refused too: $(outcome)" || diag "$(cat "$OUT")"
lh_attack_expand base-path UP/escape-evil
hostile -e "$LH_EVIL" base-path
new_relay_log | grep -qE "\[vm=l1\] nested VM l1/evil: its connections.* are refused"
ok $? "evil itself is shut out after its own fault: $(outcome)" ||
	diag "$(cat "$OUT")" "new relay log lines: $(new_relay_log | grep -v Debug | tail -n 5)"
hostile -r -t 1000 benign
grep -q '^setup: VERSION .* got no answer (connection' "$OUT"
ok $? "evil, shut out, is refused a new connection: $(outcome)" || diag "$(cat "$OUT")"
hostile -r -t 1000 -p later benign
grep -q '^setup: VERSION .* got no answer (connection' "$OUT"
ok $? "l1/evil/later, named by evil once shut out, is refused too: $(outcome)" ||
	diag "$(cat "$OUT")"
check_untouched "the shut-out VMs"

# New VM paths until the host refuses one: it takes 16 below each VM
# that l1 runs (each appears once in its log), so that many cannot crowd
# out its siblings. Evil and its VMs are shut out: many names them.
HOSTILE_SOCK=$MANY_SOCK
for ((n = 1; n <= MAX_PATHS + 1; n++)); do
	hostile -r -t 200 -p "more$n" benign
	grep -q '^verdict: pass' "$OUT" || break
done
grep -q '^setup: VERSION .* got no answer (connection' "$OUT" && [ "$n" -eq $((MAX_PATHS + 1)) ]
ok $? "many's VMs more1..more$((n - 1)) taken, more$n refused: $(outcome)" || diag "$(cat "$OUT")"
appeared=$(grep -c '\[vm=l1\] nested VM l1/many/.* appears' "$RELAY_LOG")
grep -qE "\[vm=l1\] nested VM l1/many/more$n refused: at most [0-9]+ nested VMs, $MAX_PATHS below each VM" \
	"$RELAY_LOG" &&
	[ "$appeared" -eq "$MAX_PATHS" ]
ok $? "the relay logged the refusal, after $appeared nested VMs below many (at most $MAX_PATHS)" ||
	diag "$(grep 'nested VM' "$RELAY_LOG" | grep -v Debug | tail -n 5)"
check_untouched "$MAX_PATHS nested VMs"

# --- the good levels, and the end -------------------------------------------

kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null &&
	! [ -e "$LH_TMP/l1/good.stop.time" ] && ! [ -e "$LH_TMP/l2/good.stop.time" ]
ok $? "l1 and l2 were still tracing when the attacks ended"
touch "$FLAGS/attacks-done" "$FLAGS/release-l2"
wait "${pids[1]}"
ok $? "l2: its good session, stopped, and its role ended well"
touch "$FLAGS/release-l1"
wait "${pids[0]}"
ok $? "l1: its good session, stopped, and its role ended well"

for p in l1 l1/l2; do
	lh_trace_stats "$(session_dir "$LH_OUT/$p" good)"
	diag "$p good: $(lh_trace_describe)"
	lh_trace_complete "$LH_COUNT" && [ "$LH_COUNT" -ge "$GOOD_RATE" ]
	ok $? "$p: its session traced through the attacks is complete ($LH_COUNT events," \
		"seq with no gap, no duplicate, no discard)"
done

# l1's channel came up once, and only its guest closed it.
lines=$(grep -E '\[vm=l1\] .*(channel up|closing channel)' "$RELAY_LOG")
[ "$(grep -c 'channel up' <<<"$lines")" -eq 1 ] &&
	! grep 'closing channel' <<<"$lines" | grep -qv 'peer closed the channel'
ok $? "l1's channel came up once, and only its guest closed it" || diag "$lines"

[ "$(entries "$LH_OUT")" = "l1 pp-host" ] &&
	[ "$(entries "$LH_OUT/l1")" = "evil good-DATE l2 many s-l1-DATE" ] &&
	[ "$(entries "$LH_OUT/l1/l2")" = "good-DATE l3 pp-l2-DATE s-l2-DATE" ]
ok $? "OUT holds l1 (with evil, many, l2 and l2/l3) and the host's pp-host, nothing else" ||
	diag "$(cd "$LH_OUT" && find . -maxdepth 3 -type d)"
