#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A soak: one lttng-hyper-relayd serves GUESTS guest roles for a bounded
# time, HOSTILE of them hostile, and must come out of it whole.
#
# The relay gets one --vm per role (unix-listen channels), as in
# tests/regression/test_multi_guest.sh and test_hostile.sh:
#   - the honest roles (honest-1..) are guest roles (tests/regression/lib.sh:
#     their own namespaces, lttng-sessiond and lttng-hyperd) that trace
#     steadily: one session each, a blocking channel (no event may be
#     lost), gen-events at RATE events/s with PAYLOAD bytes of text, until
#     the soak ends;
#   - honest-1 is restarted every RESTART seconds (60, or a third of the
#     soak when it is shorter than 3 minutes): its session is stopped and
#     destroyed, the whole role ends (lttng-hyperd and lttng-sessiond with
#     it), and a new one starts, reconnects and traces a new session;
#   - the hostile roles (hostile-1..) run tests/utils/hostile-guest on
#     their channel, over its attack modes in turn, for the whole soak:
#     most attacks get the channel cut, and the role connects again for
#     the next. data-over-credit is left out: it stops lttng-relayd,
#     which every role shares.
# Every INTERVAL seconds, the RSS (VmRSS: at that moment, and the lowest
# and highest of the readings every 0.5 s since the sample before) and
# open fds of lttng-hyper-relayd and of its lttng-relayd go to samples.csv.
#
# Then everything stops, by PID, and the checks:
#   - honest: every honest session (each of honest-1's too) ended with
#     lttng stop and lttng destroy, and babeltrace2 reads in its trace
#     every seq 0..N-1 once (N: the events gen-events emitted), no discard;
#   - relay-alive: the relay's pid was the same, alive, at every sample,
#     and it exited on SIGTERM, cleanly ("exiting" in its log);
#   - relayd-not-restarted: lttng-relayd kept its pid, and the relay's log
#     has no "restarting lttng-relayd";
#   - rss-flat: the median RSS floor of the relay over the last quarter of
#     the soak is at most 1.25 x that of the first quarter, or 8 MiB more,
#     once what it holds for the VMs grew by is set aside (lttng-hyper
#     status: their queues and partial messages, each VM's bounded by
#     --max-memory; the median of the samples' over each quarter). The
#     RSS is read every 0.5 s, and each sample keeps the lowest and
#     highest readings since the one before: a leak raises that floor,
#     while the peaks come and go with the messages in flight (the relay
#     holds a metadata-hold attack's 15 MiB message for a moment; it
#     gives such buffers back to the system once freed, see its main.c);
#   - rss-bound: the relay's highest RSS stays within its RSS before the
#     first role came, HOSTILE times --max-memory (MAX_MEMORY, 64 MiB: the
#     relay is started with it) and 64 MiB for the honest roles' traffic:
#     partial-control has each hostile role make the relay hold all it
#     may;
#   - fds-baseline: once every role has ended, the relay holds as many
#     fds as before the first role came (waited for up to 30 s);
#     lttng-relayd's count is reported beside it;
#   - attacks: every attack got hostile-guest's "pass" verdict, the relay
#     cut no honest channel (only their guests closed them), and nothing
#     was written outside OUT/VM (the path attacks aim at $LH_TMP/escape-soak).
# The report gives the RSS and fd series (over time, min, median, max,
# first and last quarter medians) and the counts; the exit status is 0
# only if every check passed. Each check also prints one line
# "soak: check NAME: PASS|FAIL - ..." (tests/regression/test_soak.sh
# reads them).
#
# Usage: bench/soak.sh [-t SECONDS] [-g GUESTS] [-H HOSTILE] [-i INTERVAL]
#                      [-r RATE] [-p PAYLOAD_BYTES] [-R RESTART] [-o DIR]
# Run from the build directory (or set top_builddir), as root, after make
# and make tests/utils/gen-events tests/utils/hostile-guest.

set -u
DURATION=600
GUESTS=8
HOSTILE=2
INTERVAL=5
RATE=1000
PAYLOAD=32
RESTART=
RESULTS=
# Seconds between two attacks of one hostile role.
ATTACK_PAUSE=0.2
# The relay's --max-memory, which partial-control fills for each hostile role.
MAX_MEMORY=$((64 << 20))
# What the honest roles' traffic may add to the relay's RSS (rss-bound).
HONEST_RSS_KIB=$((64 << 10))

usage()
{
	cat <<EOF
Usage: $0 [-t SECONDS] [-g GUESTS] [-H HOSTILE] [-i INTERVAL] [-r RATE]
          [-p PAYLOAD_BYTES] [-R RESTART] [-o DIR]

Soak one lttng-hyper-relayd with GUESTS guest roles, HOSTILE of them
hostile, for SECONDS; sample its RSS and fds; check that the honest
traces are complete and that the relay stayed up and flat.

  -t SECONDS    duration of the soak (default 600; 60 in CI)
  -g GUESTS     guest roles, honest and hostile (default 8)
  -H HOSTILE    hostile roles among them (default 2)
  -i INTERVAL   seconds between two samples (default 5)
  -r RATE       events/s of each honest guest (default 1000)
  -p BYTES      text payload per event (default 32)
  -R RESTART    seconds between two restarts of honest-1 (default 60, or
                SECONDS / 3 when SECONDS < 180)
  -o DIR        keep samples.csv, report.txt and the logs in DIR
                (default: a new /tmp/lh-soak.XXXXXX)
  -h            this help

Exit status 0 when every check passed. Run as root from the build
directory.
EOF
}

while getopts "t:g:H:i:r:p:R:o:h" opt; do
	case $opt in
	t) DURATION=$OPTARG ;;
	g) GUESTS=$OPTARG ;;
	H) HOSTILE=$OPTARG ;;
	i) INTERVAL=$OPTARG ;;
	r) RATE=$OPTARG ;;
	p) PAYLOAD=$OPTARG ;;
	R) RESTART=$OPTARG ;;
	o) RESULTS=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
for v in "$DURATION" "$GUESTS" "$HOSTILE" "$INTERVAL" "$RATE" "$PAYLOAD" ${RESTART:+"$RESTART"}; do
	[[ $v =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }
done
if [ "$HOSTILE" -ge "$GUESTS" ] || [ "$DURATION" -lt 10 ] || [ "$INTERVAL" -lt 1 ] ||
		[ "$RATE" -lt 1 ]; then
	echo "$0: needs at least one honest guest (HOSTILE < GUESTS), SECONDS >= 10," \
		"INTERVAL >= 1, RATE >= 1" >&2
	exit 2
fi
if [ -z "$RESTART" ]; then
	RESTART=60
	[ "$DURATION" -lt 180 ] && RESTART=$((DURATION / 3))
fi
HONEST=$((GUESTS - HOSTILE))

. "$(dirname "$0")/lib.sh"

HOSTILE_BIN=$top_builddir/tests/utils/hostile-guest
# Asked at each sample what the relay holds for the VMs (rss-flat).
LH_CLI=$top_builddir/src/bin/lttng-hyper/lttng-hyper
MODES=(benign hostname garbage bad-magic oversized truncated unknown-type reserved-flags
	reserved-field bad-open data-unopened nested-path session-name base-path chunk-name
	stream-path stream-channel huge-control unknown-command truncated-create
	foreign-data-pending foreign-close-stream foreign-metadata foreign-data no-index
	conn-flood flood metadata-hold partial-control)
# A role runs for the whole soak: no step of it may be cut short.
LH_GUEST_TIMEOUT=$((DURATION + 300))

# --- inside the honest roles ----------------------------------------------

# soak_honest SESSION RATE PAYLOAD UNTIL LIMIT_S: one session, steady
# events until the file UNTIL exists (LIMIT_S at most), then stop and
# destroy. Leaves SESSION.count (events emitted) and SESSION.done.
soak_honest()
{
	local session=$1 count

	# lttng-hyperd refuses relayd connections until its channel is up.
	lh_wait_for 60 lh_session_attempt "$session" || {
		echo "no session $session: the channel never came up?"
		return 1
	}
	lh_timed "$session.start" lttng start "$session" || return 1
	count=$(LTTNG_UST_REGISTER_TIMEOUT=-1 LTTNG_UST_ALLOW_BLOCKING=1 \
		timeout "$5" "$LH_GEN_EVENTS" -n 1000 --rate "$2" --payload "$3" --until "$4") || {
		echo "gen-events failed"
		return 1
	}
	echo "$count" >"$LH_GUEST_DIR/$session.count"
	lh_timed "$session.stop" lttng stop "$session" &&
	lh_timed "$session.destroy" lttng destroy "$session" &&
	touch "$LH_GUEST_DIR/$session.done"
}
export -f soak_honest

# --- host side --------------------------------------------------------------

STOP=
LOOP_PIDS=()
SOAK_FINISHED=0
RELAY_PID=

# honest_role VM SOCKET DIR SESSION UNTIL: one honest role, in the
# background of the caller; its status goes to DIR/status.
honest_role()
{
	echo "$1 $4 $3" >>"$SESSIONS"
	lh_guest -u "$1" -c "$2" "$3" soak_honest "$4" "$RATE" "$PAYLOAD" "$5" \
		$((DURATION + 120))
	echo $? >"$3/status"
}

# restarter VM SOCKET: honest-1, a new role every RESTART seconds.
restarter()
{
	local k=0 dir pid deadline

	while [ ! -e "$STOP" ]; do
		k=$((k + 1))
		dir=$LH_TMP/$1/$k
		mkdir -p "$dir"
		honest_role "$1" "$2" "$dir" "r$k" "$dir/stop" &
		pid=$!
		deadline=$((SECONDS + RESTART))
		while [ "$SECONDS" -lt "$deadline" ] && [ ! -e "$STOP" ] &&
				kill -0 "$pid" 2>/dev/null; do
			sleep 0.5
		done
		touch "$dir/stop"
		wait "$pid"
		if [ ! -e "$STOP" ]; then
			echo "soak: $1 restarted (session r$k ended, status $(cat "$dir/status"))" >&2
		fi
	done
}

# hostile_loop VM SOCKET: the attacks, in turn, until the soak ends.
# One line "MODE STATUS" per attack in $LH_TMP/VM.attacks; the output of
# an attack that did not pass is kept.
hostile_loop()
{
	local vm=$1 sock=$2 mode opts pid status n=0

	while :; do
		for mode in "${MODES[@]}"; do
			[ -e "$STOP" ] && return 0
			case $mode in
			benign) opts=(-t 500) ;;
			flood) opts=(-t 10000 -d 1000 -b $((8 << 20))) ;;
			metadata-hold) opts=(-t 10000 -b $((15 << 20))) ;;
			partial-control) opts=(-t 10000 -n 16 -d 500) ;;
			*) opts=(-t 10000) ;;
			esac
			n=$((n + 1))
			timeout 120 "$HOSTILE_BIN" "${opts[@]}" -e "$LH_EVIL" "$mode" \
				"unix:$sock" >"$LH_TMP/$vm.out" 2>&1 &
			pid=$!
			lh_track_pid "$pid"
			wait "$pid"
			status=$?
			lh_untrack_pid "$pid"
			echo "$mode $status" >>"$LH_TMP/$vm.attacks"
			if [ "$status" -ne 0 ]; then
				cp "$LH_TMP/$vm.out" "$LH_TMP/$vm-attack-$n-$mode.failed"
			fi
			sleep "$ATTACK_PAUSE"
		done
	done
}

# The lttng-relayd that the relay started (its child).
relayd_pid()
{
	local pid

	for pid in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lttng-relayd ]; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}

rss_kib()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# The KiB the relay holds for all its VMs (its memory accounts), or nothing.
held_kib()
{
	timeout "$LH_CMD_TIMEOUT" "$LH_CLI" status --json 2>/dev/null |
		jq '[.vms[].memory.held // 0] | add // 0 | ./ 1024 | floor' 2>/dev/null
}

fd_count()
{
	[ -d "/proc/$1/fd" ] && ls "/proc/$1/fd" 2>/dev/null | wc -l
}

# The RSS of the relay and of lttng-relayd is read every 0.5 s: RSS_LO
# and RSS_HI (relay), DRSS_LO and DRSS_HI (lttng-relayd) hold the lowest
# and highest readings since the last sample. The floor is what a leak
# raises; the peaks come and go with the messages in flight (a
# metadata-hold attack makes the relay hold 15 MiB for a moment).
RSS_LO='' RSS_HI='' DRSS_LO='' DRSS_HI=''
watch_rss()
{
	local r d

	r=$(rss_kib "$RELAY_PID")
	d=$(rss_kib "$RELAYD_PID")
	if [ -n "$r" ]; then
		[ -z "$RSS_LO" ] || [ "$r" -lt "$RSS_LO" ] && RSS_LO=$r
		[ -z "$RSS_HI" ] || [ "$r" -gt "$RSS_HI" ] && RSS_HI=$r
	fi
	if [ -n "$d" ]; then
		[ -z "$DRSS_LO" ] || [ "$d" -lt "$DRSS_LO" ] && DRSS_LO=$d
		[ -z "$DRSS_HI" ] || [ "$d" -gt "$DRSS_HI" ] && DRSS_HI=$d
	fi
	return 0
}

# sample T: one line of samples.csv, at T seconds into the soak (empty
# fields for a process that is not there):
# t_s,relay_pid,relay_rss_kib,relay_rss_floor_kib,relay_rss_peak_kib,relay_fds,
# relayd_pid,relayd_rss_kib,relayd_rss_floor_kib,relayd_rss_peak_kib,relayd_fds,
# relay_held_kib
# (RSS: at T, then the lowest and highest of the 0.5 s readings since the
# last sample, T's included; held: what the relay holds for the VMs at T).
CSV_HEADER=t_s,relay_pid,relay_rss_kib,relay_rss_floor_kib,relay_rss_peak_kib,relay_fds
CSV_HEADER+=,relayd_pid,relayd_rss_kib,relayd_rss_floor_kib,relayd_rss_peak_kib,relayd_fds
CSV_HEADER+=,relay_held_kib
sample()
{
	local pid rpid='' rss='' drss='' held=''

	pid=$(cat "$LH_TMP/relay-soak.pid" 2>/dev/null)
	kill -0 "$pid" 2>/dev/null || pid=''
	[ -n "$pid" ] && rpid=$(relayd_pid "$pid")
	[ -n "$pid" ] && rss=$(rss_kib "$pid")
	[ -n "$rpid" ] && drss=$(rss_kib "$rpid")
	[ -n "$pid" ] && held=$(held_kib)
	watch_rss
	echo "$1,$pid,$rss,${rss:+$RSS_LO},${rss:+$RSS_HI},${pid:+$(fd_count "$pid")},$rpid,$drss,${drss:+$DRSS_LO},${drss:+$DRSS_HI},${rpid:+$(fd_count "$rpid")},$held" \
		>>"$CSV"
	RSS_LO='' RSS_HI='' DRSS_LO='' DRSS_HI=''
}

# Every process left that carries this soak's mark in its environment
# (each one it started, inside the roles' namespaces too): a safety net
# after lh_stop_all, for a role that was starting when the soak ended.
soak_sweep()
{
	local d pid left pass

	for pass in TERM TERM KILL; do
		left=()
		for d in /proc/[0-9]*; do
			pid=${d#/proc/}
			[ "$pid" = "$$" ] && continue
			[ "$pid" = "$BASHPID" ] && continue
			tr '\0' '\n' 2>/dev/null <"$d/environ" | grep -qxF "LH_SOAK_RUN=$LH_TMP" &&
				left+=("$pid")
		done
		[ "${#left[@]}" -eq 0 ] && return 0
		for pid in "${left[@]}"; do
			echo "soak: still there after the clean-up, SIG$pass: $pid" \
				"$(tr '\0' ' ' 2>/dev/null </proc/"$pid"/cmdline | cut -c 1-100)" >&2
		done
		kill -"$pass" "${left[@]}" 2>/dev/null
		sleep 1
	done
}

soak_cleanup()
{
	local pid

	trap - INT TERM
	[ -n "$STOP" ] && touch "$STOP"
	# The loops first, so that none starts a role or an attack any more.
	for pid in "${LOOP_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	lh_stop_all
	soak_sweep
	if [ -n "$RESULTS" ] && [ -d "$LH_TMP" ]; then
		cp "$LH_TMP"/relay-soak.log "$RESULTS/" 2>/dev/null
		cp "$LH_TMP"/*.attacks "$LH_TMP"/*.failed "$RESULTS/" 2>/dev/null
	fi
	if [ "$SOAK_FINISHED" -eq 0 ]; then
		echo "soak: interrupted or failed before its end; every process it started is stopped" >&2
		LH_FAILED=$((LH_FAILED + 1))
	fi
	lh_cleanup
}

lh_init 0 >/dev/null
trap soak_cleanup EXIT
lh_require "$HOSTILE_BIN" "$LH_CLI" jq
export LH_SOAK_RUN=$LH_TMP
STOP=$LH_TMP/soak.stop
# The honest sessions, one line each: "VM SESSION ROLE_DIR".
SESSIONS=$LH_TMP/sessions
if [ -z "$RESULTS" ]; then
	RESULTS=$(mktemp -d /tmp/lh-soak.XXXXXX) || bail_out "mktemp failed"
else
	mkdir -p "$RESULTS" || bail_out "mkdir $RESULTS failed"
fi
RESULTS=$(readlink -f "$RESULTS")
CSV=$RESULTS/samples.csv
REPORT=$RESULTS/report.txt
: >"$REPORT"
echo "$CSV_HEADER" >"$CSV"
# The path attacks aim at $LH_TMP/escape-soak, from OUT/VM/SESSION.
lh_attack_expand soak UP/escape-soak

lh_pick_ports 3
vm_args=()
for ((i = 1; i <= HONEST; i++)); do
	vm_args+=(--vm "honest-$i=unix-listen:$LH_TMP/honest-$i.sock")
done
for ((i = 1; i <= HOSTILE; i++)); do
	vm_args+=(--vm "hostile-$i=unix-listen:$LH_TMP/hostile-$i.sock")
done
lh_relay_start soak --max-memory "$MAX_MEMORY" "${vm_args[@]}" ||
	bail_out "lttng-hyper-relayd did not start"
RELAY_PID=$(lh_relay_pid soak)
RELAY_LOG=$LH_TMP/relay-soak.log
lh_wait_for 10 relayd_pid "$RELAY_PID" >/dev/null || bail_out "no lttng-relayd under the relay"
RELAYD_PID=$(relayd_pid "$RELAY_PID")
sleep 1
BASE_FDS=$(fd_count "$RELAY_PID")
BASE_RELAYD_FDS=$(fd_count "$RELAYD_PID")
BASE_RSS=$(rss_kib "$RELAY_PID")
# fds_list FILE: what the relay and lttng-relayd hold open, into FILE.
fds_list()
{
	local pid

	for pid in "$RELAY_PID" "$RELAYD_PID"; do
		echo "--- $(cat "/proc/$pid/comm" 2>/dev/null) ($pid)"
		ls -l "/proc/$pid/fd" 2>/dev/null | awk 'NR > 1 { print $(NF - 2), $(NF - 1), $NF }'
	done >"$1"
}
fds_list "$RESULTS/fds-start.txt"

echo "bench/soak: $DURATION s, $GUESTS guest roles ($HONEST honest at $RATE events/s," \
	"payload $PAYLOAD bytes, honest-1 restarted every $RESTART s; $HOSTILE hostile)," \
	"a sample every $INTERVAL s; results in $RESULTS" >&2

T0=$(lh_now_ms)
sample 0
mkdir -p "$LH_TMP/honest-1"
restarter honest-1 "$LH_TMP/honest-1.sock" &
LOOP_PIDS+=($!)
for ((i = 2; i <= HONEST; i++)); do
	mkdir -p "$LH_TMP/honest-$i"
	honest_role "honest-$i" "$LH_TMP/honest-$i.sock" "$LH_TMP/honest-$i" s "$STOP" &
	LOOP_PIDS+=($!)
done
for ((i = 1; i <= HOSTILE; i++)); do
	: >"$LH_TMP/hostile-$i.attacks"
	hostile_loop "hostile-$i" "$LH_TMP/hostile-$i.sock" &
	LOOP_PIDS+=($!)
done

next=$INTERVAL
while :; do
	now=$((($(lh_now_ms) - T0) / 1000))
	[ "$now" -ge "$DURATION" ] && break
	if [ "$now" -ge "$next" ]; then
		sample "$now"
		next=$(((now / INTERVAL + 1) * INTERVAL))
		if ((now % 60 < INTERVAL)); then
			echo "soak: $now s, relay RSS $(rss_kib "$RELAY_PID") KiB, $(fd_count "$RELAY_PID") fds," \
				"$(cat "$LH_TMP"/hostile-*.attacks 2>/dev/null | wc -l) attacks so far" >&2
		fi
	fi
	sleep 0.5
	watch_rss
done
sample "$DURATION"

# --- the end ------------------------------------------------------------------

echo "soak: $DURATION s over: stopping the roles" >&2
touch "$STOP"
for pid in "${LOOP_PIDS[@]}"; do
	wait "$pid"
done
LOOP_PIDS=()

# Every role gone: the fds must come back to their count before the roles.
fds_back()
{
	[ "$(fd_count "$RELAY_PID")" = "$BASE_FDS" ] &&
		[ "$(fd_count "$RELAYD_PID")" = "$BASE_RELAYD_FDS" ]
}
lh_wait_for 30 fds_back
# What each still holds (fds-start.txt: before the roles), for a look
# when fds-baseline fails.
fds_list "$RESULTS/fds-end.txt"
AFTER_FDS=$(fd_count "$RELAY_PID")
AFTER_RELAYD_FDS=$(fd_count "$RELAYD_PID")
AFTER_RSS=$(rss_kib "$RELAY_PID")
PEAK_RSS=$(awk '/^VmHWM:/ { print $2 }' "/proc/$RELAY_PID/status" 2>/dev/null)
PEAK_RELAYD_RSS=$(awk '/^VmHWM:/ { print $2 }' "/proc/$RELAYD_PID/status" 2>/dev/null)

# The relay: SIGTERM, and it must end by itself, saying so.
relay_alive_end=1
kill -0 "$RELAY_PID" 2>/dev/null && relay_alive_end=0
kill "$RELAY_PID" 2>/dev/null
lh_wait_for 30 eval "! kill -0 $RELAY_PID 2>/dev/null"
relay_exited=$?
lh_wait_for 10 eval "! kill -0 $RELAYD_PID 2>/dev/null"
relayd_exited=$?
lh_stop_all
cp "$RELAY_LOG" "$RESULTS/"

CHECKS_FAILED=0
# check NAME STATUS DETAILS
check()
{
	local verdict=PASS

	if [ "$2" -ne 0 ]; then
		verdict=FAIL
		CHECKS_FAILED=$((CHECKS_FAILED + 1))
	fi
	echo "soak: check $1: $verdict - $3" | tee -a "$REPORT"
}

# honest: each session, completed and complete.
LH_CMD_TIMEOUT=600
sessions=0 complete=0 events=0 bad=''
while read -r vm session dir; do
	sessions=$((sessions + 1))
	status=$(cat "$dir/status" 2>/dev/null)
	count=$(cat "$dir/$session.count" 2>/dev/null)
	trace=$(find "$LH_OUT/$vm" -mindepth 1 -maxdepth 1 -type d -name "$session-*" 2>/dev/null)
	if [ "$status" != 0 ] || [ ! -e "$dir/$session.done" ] || [ -z "$count" ] ||
			[ "$(wc -l <<<"$trace")" -ne 1 ] || [ -z "$trace" ]; then
		bad+="${bad:+; }$vm/$session: role status ${status:-?}, $(lh_steps_report "$dir" \
			"$session.stop" "$session.destroy"), trace dir '${trace//$'\n'/ }'"
		cp "$dir/guest.log" "$RESULTS/$vm-$session-guest.log" 2>/dev/null
		continue
	fi
	if lh_trace_stats "$trace" && lh_trace_complete "$count"; then
		complete=$((complete + 1))
		events=$((events + count))
	else
		bad+="${bad:+; }$vm/$session: $count emitted, read $(lh_trace_describe)"
	fi
	echo "soak: $vm/$session: $count events emitted; trace: $(lh_trace_describe)" >>"$REPORT"
done <"$SESSIONS"
restarts=$(grep -c '^honest-1 ' "$SESSIONS")
# honest-1's sessions: one per RESTART seconds, give or take the 10 s a
# restart may take on a busy machine; two at least.
min_restarts=$((DURATION / (RESTART + 10) + 1))
[ "$min_restarts" -lt 2 ] && min_restarts=2
[ "$sessions" -gt 0 ] && [ "$complete" -eq "$sessions" ] && [ "$restarts" -ge "$min_restarts" ]
check honest $? "$complete of $sessions honest sessions complete ($events events, every seq 0..N-1 once, no discard; honest-1 ran $restarts sessions, at least $min_restarts expected)${bad:+; $bad}"

# relay-alive
pids=$(awk -F, 'NR > 1 { print ($2 == "" ? "none" : $2) }' "$CSV" | sort -u | paste -s -d ' ')
[ "$pids" = "$RELAY_PID" ] && [ "$relay_alive_end" -eq 0 ] && [ "$relay_exited" -eq 0 ] &&
	grep -q 'SIGTERM: shutting down' "$RELAY_LOG" && grep -q '\] Info: exiting$' "$RELAY_LOG"
check relay-alive $? "lttng-hyper-relayd pid $RELAY_PID at every sample (seen: $pids), $( [ "$relay_exited" -eq 0 ] && echo "exited on SIGTERM, log: '$(grep -o 'Info: exiting$' "$RELAY_LOG" | tail -n 1)'" || echo "still running 30 s after SIGTERM")"

# relayd-not-restarted
rpids=$(awk -F, 'NR > 1 { print ($7 == "" ? "none" : $7) }' "$CSV" | sort -u | paste -s -d ' ')
restarted=$(grep -c 'restarting lttng-relayd' "$RELAY_LOG")
[ "$rpids" = "$RELAYD_PID" ] && [ "$restarted" -eq 0 ] && [ "$relayd_exited" -eq 0 ]
check relayd-not-restarted $? "lttng-relayd pid $RELAYD_PID at every sample (seen: $rpids), $restarted 'restarting lttng-relayd' in the relay's log, $( [ "$relayd_exited" -eq 0 ] && echo "gone with the relay" || echo "still there after the relay")"

# The series: t_s in [0, DURATION]. Quarters: t < D/4 and t >= 3D/4.
series()
{
	awk -F, -v col="$1" -v d="$DURATION" -f "$BENCH_DIR/stats.awk" -f /dev/stdin "$CSV" <<'EOF'
NR > 1 && $col != "" {
	add("all", $col)
	if ($1 < d / 4) {
		add("q1", $col)
	}
	if ($1 >= 3 * d / 4) {
		add("q4", $col)
	}
	if (n["all"] == 1 || $col < min) {
		min = $col
	}
	if (n["all"] == 1 || $col > max) {
		max = $col
	}
}
END {
	printf "%d %s %s %s %s %s\n", n["all"], min, med("all"), max, med("q1"), med("q4")
}
EOF
}
read -r ns rss_min rss_med rss_max rss_q1 rss_q4 < <(series 3)
read -r _ flo_min flo_med flo_max flo_q1 flo_q4 < <(series 4)
read -r _ pk_min pk_med pk_max pk_q1 pk_q4 < <(series 5)
read -r _ fd_min fd_med fd_max fd_q1 fd_q4 < <(series 6)
read -r _ drss_min drss_med drss_max drss_q1 drss_q4 < <(series 8)
read -r _ dflo_min dflo_med dflo_max dflo_q1 dflo_q4 < <(series 9)
read -r _ dpk_min dpk_med dpk_max dpk_q1 dpk_q4 < <(series 10)
read -r _ dfd_min dfd_med dfd_max dfd_q1 dfd_q4 < <(series 11)
read -r _ held_min held_med held_max held_q1 held_q4 < <(series 12)

# rss-flat: judged on the floor of each interval (a leak raises it; the
# peaks are messages in flight), less what the relay's holdings for the
# VMs grew by (what a slow lttng-relayd leaves queued, say).
grown=$(awk -v a="$flo_q1" -v b="$flo_q4" -v ha="$held_q1" -v hb="$held_q4" \
	'BEGIN { h = hb - ha; printf "%d", b - a - (h > 0 ? h : 0) }')
awk -v a="$flo_q1" -v g="$grown" -v h="$held_q4" 'BEGIN { exit !(a > 0 && h != "" && (g <= 0.25 * a || g <= 8192)) }'
check rss-flat $? "relay RSS floor: median $flo_q1 KiB over the first quarter, $flo_q4 KiB over the last; held for the VMs: $held_q1 then ${held_q4:-?} KiB; grown beyond that: $grown KiB (bound: a quarter of the first, or 8192 KiB); RSS at the samples: $rss_q1 then $rss_q4 KiB"

# rss-bound
rss_bound=$((BASE_RSS + HOSTILE * MAX_MEMORY / 1024 + HONEST_RSS_KIB))
[ -n "$pk_max" ] && [ "$pk_max" -le "$rss_bound" ]
check rss-bound $? "relay RSS at most $pk_max KiB (before the roles: $BASE_RSS KiB; bound $rss_bound KiB: that, $HOSTILE x --max-memory $((MAX_MEMORY >> 20)) MiB and $((HONEST_RSS_KIB >> 10)) MiB for the honest roles)"

# fds-baseline
# lttng-relayd's own count is reported, not judged: it is not ours, and
# it may keep a stream a guest left waiting for its data.
[ "$AFTER_FDS" = "$BASE_FDS" ]
check fds-baseline $? "once the roles ended: relay $AFTER_FDS fds (baseline $BASE_FDS, max $fd_max during the soak); lttng-relayd, not judged: $AFTER_RELAYD_FDS (baseline $BASE_RELAYD_FDS, max $dfd_max)"

# attacks
attacks=$(cat "$LH_TMP"/hostile-*.attacks 2>/dev/null | wc -l)
passed=$(cat "$LH_TMP"/hostile-*.attacks 2>/dev/null | awk '$2 == 0' | wc -l)
failed_modes=$(cat "$LH_TMP"/hostile-*.attacks 2>/dev/null | awk '$2 != 0 { print $1 "=" $2 }' |
	sort | uniq -c | awk '{ printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1 }')
cuts=$(grep -cE '\[vm=hostile-[0-9]+\] closing channel: ' "$RELAY_LOG")
relay_cuts=$(grep -E '\[vm=hostile-[0-9]+\] closing channel: ' "$RELAY_LOG" |
	grep -vc 'peer closed the channel')
honest_ups=$(grep -cE '\[vm=honest-[0-9]+\] channel up' "$RELAY_LOG")
honest_cuts=$(grep -E '\[vm=honest-[0-9]+\] closing channel: ' "$RELAY_LOG" |
	grep -v 'peer closed the channel')
outside=$(ls -A "$LH_OUT" 2>/dev/null | grep -vE '^(honest|hostile)-[0-9]+$' | paste -s -d ' ')
escaped=$(ls -d "$LH_TMP"/escape-soak* 2>/dev/null | paste -s -d ' ')
[ "$attacks" -gt 0 ] || [ "$HOSTILE" -eq 0 ]
no_attack=$?
[ "$no_attack" -eq 0 ] && [ "$passed" -eq "$attacks" ] && [ -z "$honest_cuts" ] &&
	[ -z "$outside" ] && [ -z "$escaped" ]
check attacks $? "$passed of $attacks attacks repelled (hostile-guest verdict pass${failed_modes:+; not: $failed_modes}), $cuts hostile channels closed ($relay_cuts by the relay), $honest_ups honest channels up, ${honest_cuts:+honest cut by the relay: $(head -n 3 <<<"$honest_cuts") }nothing outside OUT/VM${outside:+ (found $outside)}${escaped:+ (found $escaped)}"

# --- the report ---------------------------------------------------------------

kvm=no
[ -w /dev/kvm ] && kvm=yes
{
	echo
	echo "bench/soak: $DURATION s, $GUESTS guest roles: $HONEST honest ($RATE events/s each, payload $PAYLOAD bytes; honest-1 restarted every $RESTART s), $HOSTILE hostile"
	echo "host: $(nproc) cores, KVM: $kvm; the guests are namespaces on this kernel (tests/regression/lib.sh), the channels unix sockets"
	echo
	echo "over time (RSS in KiB: at the sample, and the floor and peak of the 0.5 s"
	echo "readings since the one before; held: what the relay holds for the VMs at"
	echo "the sample; every ${INTERVAL} s in $CSV):"
	awk -F, '
	NR > 1 {
		line[++n] = sprintf("%6s %10s %8s %8s %8s %6s %12s %8s %8s %6s", $1, $3, $4,
			$5, $12, $6, $8, $9, $10, $11)
	}
	END {
		printf "%6s %10s %8s %8s %8s %6s %12s %8s %8s %6s\n", "t_s", "relay RSS",
			"floor", "peak", "held", "fds", "relayd RSS", "floor", "peak", "fds"
		# About 12 rows: every STRIDE-th sample, and the last.
		stride = int((n + 11) / 12)
		for (i = 1; i <= n; i += stride) {
			print line[i]
			last = i
		}
		if (last != n) {
			print line[n]
		}
	}' "$CSV"
	echo
	printf '%-26s %8s %8s %8s %10s %10s\n' "series ($ns samples)" min median max "1st qtr" "last qtr"
	printf '%-26s %8s %8s %8s %10s %10s\n' "relay RSS KiB" "$rss_min" "$rss_med" "$rss_max" "$rss_q1" "$rss_q4"
	printf '%-26s %8s %8s %8s %10s %10s\n' "relay RSS floor KiB" "$flo_min" "$flo_med" "$flo_max" "$flo_q1" "$flo_q4"
	printf '%-26s %8s %8s %8s %10s %10s\n' "relay RSS peak KiB" "$pk_min" "$pk_med" "$pk_max" "$pk_q1" "$pk_q4"
	printf '%-26s %8s %8s %8s %10s %10s\n' "relay held for VMs KiB" "$held_min" "$held_med" "$held_max" "$held_q1" "$held_q4"
	printf '%-26s %8s %8s %8s %10s %10s\n' "relay fds" "$fd_min" "$fd_med" "$fd_max" "$fd_q1" "$fd_q4"
	printf '%-26s %8s %8s %8s %10s %10s\n' "lttng-relayd RSS KiB" "$drss_min" "$drss_med" "$drss_max" "$drss_q1" "$drss_q4"
	printf '%-26s %8s %8s %8s %10s %10s\n' "lttng-relayd RSS floor KiB" "$dflo_min" "$dflo_med" "$dflo_max" "$dflo_q1" "$dflo_q4"
	printf '%-26s %8s %8s %8s %10s %10s\n' "lttng-relayd RSS peak KiB" "$dpk_min" "$dpk_med" "$dpk_max" "$dpk_q1" "$dpk_q4"
	printf '%-26s %8s %8s %8s %10s %10s\n' "lttng-relayd fds" "$dfd_min" "$dfd_med" "$dfd_max" "$dfd_q1" "$dfd_q4"
	echo "peak RSS (VmHWM): relay ${PEAK_RSS:-?} KiB, lttng-relayd ${PEAK_RELAYD_RSS:-?} KiB"
	echo "after the roles ended: relay $AFTER_RSS KiB RSS, $AFTER_FDS fds (baseline $BASE_FDS); lttng-relayd $AFTER_RELAYD_FDS fds (baseline $BASE_RELAYD_FDS)"
	echo
	echo "attacks: $attacks ($passed repelled), ${#MODES[@]} modes in turn; hostile channels closed: $cuts ($relay_cuts by the relay)"
	echo "honest: $sessions sessions ($restarts of honest-1), $complete complete, $events events checked"
	echo "checks failed: $CHECKS_FAILED"
	echo "figures from this host ($(nproc) cores, KVM: $kvm), with other work running alongside; results in $RESULTS"
} | tee -a "$REPORT"

SOAK_FINISHED=1
if [ "$CHECKS_FAILED" -ne 0 ]; then
	LH_FAILED=$((LH_FAILED + 1))
fi
exit 0
