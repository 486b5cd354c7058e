# SPDX-License-Identifier: GPL-2.0-only
# Common code of the regression tests: TAP output, clean-up, the host
# relay, and "guest roles" that play a VM on this machine. Sourced by the
# tests, and again inside each guest role: it only defines functions and
# variables, and lh_init does the set-up.
#
# A guest role is a process tree in its own mount, pid, UTS, time and
# (unless stock) network namespaces: its own loopback, hostname and
# CLOCK_MONOTONIC offset, its own lttng-sessiond (tmpfs on /var/run/lttng
# and /dev/shm, its own LTTNG_HOME) and its own lttng-hyperd. A unix socket
# in the test's directory plays the virtio-serial port. The pid namespace
# makes every process of the role die with it.

LH_LIB=$(readlink -f "${BASH_SOURCE[0]}")
: "${top_srcdir:=$(readlink -f "$(dirname "$LH_LIB")/../..")}"
if [ -z "${top_builddir:-}" ]; then
	if [ -x "$PWD/tests/utils/gen-events" ]; then
		top_builddir=$PWD
	else
		top_builddir=$top_srcdir
	fi
fi
export top_srcdir top_builddir

LH_HYPERD=$top_builddir/src/bin/lttng-hyperd/lttng-hyperd
LH_RELAY=$top_builddir/src/bin/lttng-hyper-relayd/lttng-hyper-relayd
LH_GEN_EVENTS=$top_builddir/tests/utils/gen-events
LH_MARK=$top_builddir/src/bin/lttng-hyper-mark/lttng-hyper-mark
LH_FAKETIME_LIB=${LH_FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1}
# lttng-tools patched for enable-channel --output=hyper
# (extras/lttng-tools/build-lttng-tools.sh).
LH_LTTNG_TOOLS=${LH_LTTNG_TOOLS:-/opt/lttng-hyper/lttng-tools}

# Upper bounds, in seconds, so that no step can hang a test.
LH_CMD_TIMEOUT=${LH_CMD_TIMEOUT:-60}
LH_GUEST_TIMEOUT=${LH_GUEST_TIMEOUT:-300}
# A guest gives up that much sooner (launch-guest.sh --guest-timeout), to
# say on its console what it was waiting for.
LH_GUEST_GRACE=30
# A guest's QEMU still running that much before the bound is snapshotted
# (lh_vm_snapshot), past the guest's own lh.timeout.
LH_VM_SNAPSHOT_LEAD=15

. "$top_srcdir/tests/regression/lib-root.sh"
. "$top_srcdir/tests/regression/lib-ports.sh"

LH_PLANNED=0
LH_RAN=0
LH_FAILED=0

# --- TAP -----------------------------------------------------------------

plan_tests()
{
	LH_PLANNED=$1
	echo "1..$1"
}

# ok STATUS DESCRIPTION: one test, passed when STATUS is 0.
ok()
{
	local status=$1

	shift
	LH_RAN=$((LH_RAN + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $LH_RAN - $*"
	else
		echo "not ok $LH_RAN - $*"
		LH_FAILED=$((LH_FAILED + 1))
	fi
	return "$status"
}

diag()
{
	printf '%s\n' "$*" | sed 's/^/# /'
}

# skip COUNT REASON
skip()
{
	local i

	for ((i = 0; i < $1; i++)); do
		LH_RAN=$((LH_RAN + 1))
		echo "ok $LH_RAN # skip $2"
	done
}

# A set-up step failed: nothing after it can be tested.
bail_out()
{
	echo "Bail out! $*"
	LH_FAILED=$((LH_FAILED + 1))
	exit 1
}

# --- set-up and clean-up ------------------------------------------------

# lh_require TOOL...: skip the whole test unless each TOOL (a command, or
# a file such as a test program or a library) is there.
lh_require()
{
	local tool

	for tool in "$@"; do
		if ! [ -e "$tool" ] && ! command -v "$tool" >/dev/null; then
			echo "1..0 # SKIP $tool not found (run extras/install-deps.sh, then make check)"
			exit 0
		fi
	done
}

# lh_init PLAN: skip everything unless root with the tools at hand, then
# make the test's directory and arm the clean-up.
lh_init()
{
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP needs root (namespaces, a root lttng-sessiond)"
		exit 0
	fi
	lh_require unshare ip lttng lttng-sessiond lttng-relayd babeltrace2 ss \
		"$LH_HYPERD" "$LH_RELAY" "$LH_GEN_EVENTS"
	LH_TMP=$(mktemp -d /tmp/lh-test.XXXXXX) || bail_out "mktemp failed"
	LH_OUT=$LH_TMP/out
	mkdir -p "$LH_TMP/pids" "$LH_TMP/host-home" || bail_out "mkdir in $LH_TMP failed"
	# The host's daemons must write nothing outside their -o directory.
	export LTTNG_HOME=$LH_TMP/host-home
	trap lh_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	plan_tests "$1"
}

# lh_pick_ports COUNT: set LH_PORT to the first of COUNT consecutive free
# TCP ports (lib-ports.sh).
lh_pick_ports()
{
	LH_PORT=$(lh_free_ports "$1") || bail_out "no $1 free consecutive TCP ports"
}

# Remember a daemon of ours (by its pidfile) for the clean-up.
lh_track_pidfile()
{
	echo "$1" >>"$LH_TMP/pids/pidfiles"
}

# Remember a process for the clean-up, until lh_untrack_pid: a pid kept
# after its process ended could be another's by then.
lh_track_pid()
{
	: >"$LH_TMP/pids/$1"
}

lh_untrack_pid()
{
	rm -f "$LH_TMP/pids/$1"
}

# lh_kill_pid PID: SIGTERM, then SIGKILL (with its children) after 10 s.
lh_kill_pid()
{
	local pid=$1 i children=()

	kill -0 "$pid" 2>/dev/null || return 0
	# A test may have left it stopped, and then SIGTERM would wait.
	kill -CONT "$pid" 2>/dev/null
	kill "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	read -r -a children < <(cat /proc/"$pid"/task/*/children 2>/dev/null)
	diag "pid $pid ignored SIGTERM for 10 s: SIGKILL"
	kill -KILL "$pid" "${children[@]}" 2>/dev/null
	return 0
}

# lh_dump_log FILE: the last 40 lines of FILE as diagnostics, if it has any.
lh_dump_log()
{
	[ -s "$1" ] || return 0
	diag "--- ${1#"$LH_TMP"/} (last 40 lines)"
	diag "$(tail -n 40 "$1")"
}

lh_dump_logs()
{
	local log

	# Consoles last: a VM test's console tells most, and a long report
	# is read from its end.
	for log in "$LH_TMP"/*.log "$LH_TMP"/*/*.log; do
		case $log in
		*console.log)
			;;
		*)
			lh_dump_log "$log"
			;;
		esac
	done
	for log in "$LH_TMP"/*console.log "$LH_TMP"/*/*console.log; do
		lh_dump_log "$log"
	done
}

# Stop everything lh_track_pid and lh_track_pidfile registered: guest
# roles first (their agents talk to the relays), then the daemons. A
# pidfile left by a daemon that died names no process of ours: check.
lh_stop_all()
{
	local f pid exe

	for f in "$LH_TMP"/pids/[0-9]*; do
		[ -e "$f" ] && lh_kill_pid "${f##*/}"
	done
	if [ -f "$LH_TMP/pids/pidfiles" ]; then
		while read -r f; do
			pid=$(cat "$f" 2>/dev/null) || continue
			exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
			if [ "$exe" = "$(readlink -f "$LH_RELAY")" ] ||
					[ "$exe" = "$(readlink -f "$LH_HYPERD")" ]; then
				lh_kill_pid "$pid"
			fi
		done <"$LH_TMP/pids/pidfiles"
	fi
	wait 2>/dev/null
}

lh_cleanup()
{
	local status=0

	trap - EXIT INT TERM
	lh_stop_all
	if [ "$LH_RAN" -ne "$LH_PLANNED" ] || [ "$LH_FAILED" -ne 0 ]; then
		status=1
		lh_dump_logs
	fi
	rm -rf "$LH_TMP"
	exit "$status"
}

# lh_wait_for SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds.
lh_wait_for()
{
	local deadline=$((SECONDS + $1))

	shift
	until "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# lh_wait_flag SECONDS FILE PID: wait for a guest role (PID, in the
# background) to create FILE; fail at once if the role ends first.
lh_wait_flag()
{
	local deadline=$((SECONDS + $1))

	until [ -e "$2" ]; do
		if ! kill -0 "$3" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			# It may have created the file just before ending.
			[ -e "$2" ]
			return
		fi
		sleep 0.1
	done
}

lh_port_listening()
{
	[ -n "$(ss -Htln "sport = :$1")" ]
}

lh_now_ms()
{
	date +%s%3N
}

# --- host role ----------------------------------------------------------

# lh_relay_start ID ARGS...: start lttng-hyper-relayd (and through it an
# lttng-relayd on LH_PORT..LH_PORT+2) writing to LH_OUT. ARGS are its --vm
# options and any others.
lh_relay_start()
{
	local id=$1

	shift
	lh_track_pidfile "$LH_TMP/relay-$id.pid"
	timeout "$LH_CMD_TIMEOUT" "$LH_RELAY" -d \
		--pidfile "$LH_TMP/relay-$id.pid" --log "$LH_TMP/relay-$id.log" \
		-o "$LH_OUT" \
		-C "tcp://127.0.0.1:$LH_PORT" -D "tcp://127.0.0.1:$((LH_PORT + 1))" \
		-L "tcp://127.0.0.1:$((LH_PORT + 2))" "$@"
}

lh_relay_pid()
{
	cat "$LH_TMP/relay-$1.pid"
}

# lh_stock_relayd_start: a plain lttng-relayd on LH_PORT..LH_PORT+2, the
# baseline for guest roles started with -s (no lttng-hyper in the path).
# Its PID is left in LH_STOCK_RELAYD_PID.
lh_stock_relayd_start()
{
	lttng-relayd -o "$LH_OUT" -C "tcp://127.0.0.1:$LH_PORT" \
		-D "tcp://127.0.0.1:$((LH_PORT + 1))" \
		-L "tcp://127.0.0.1:$((LH_PORT + 2))" \
		>"$LH_TMP/stock-relayd.log" 2>&1 &
	LH_STOCK_RELAYD_PID=$!
	lh_track_pid "$LH_STOCK_RELAYD_PID"
	lh_wait_for 10 lh_port_listening "$LH_PORT"
}

# --- guest roles --------------------------------------------------------

# lh_guest [-u HOSTNAME] [-m MONOTONIC_OFFSET_S] [-t HOST_TIMEOUT_MS]
#          [-w WALL_CLOCK_SHIFT] [-x HYPERD_ARGS] [-l LTTNG_TOOLS] [-d PORT_DIR]
#          [-r ROOT] (-c CHANNEL_SOCKET | -C CHANNEL_URI | -s STOCK_URL)
#          DIR FUNCTION [ARGS...]
#
# Run FUNCTION ARGS as a guest (see the top of this file), with DIR (made
# here) for its files, and return its status. With -c, lttng-hyperd
# carries the guest's relayd connections over unix:CHANNEL_SOCKET and the
# guest traces to net://127.0.0.1; -C is the same over any channel URI
# (ivshmem:PATH). With -s, the guest shares the host's network and traces
# to STOCK_URL directly. With -w (libfaketime's FAKETIME
# syntax, e.g. -2d), the role's lttng-sessiond alone sees its wall clock
# shifted, CLOCK_MONOTONIC untouched: a guest whose clock is wrong, as LTTng
# sees it. With -x, lttng-hyperd gets HYPERD_ARGS too (words without blanks
# of their own, e.g. "--vm l2=unix-listen:PATH"). With -l, the role runs the
# lttng-tools installed at LTTNG_TOOLS (patched for --output=hyper); with -d,
# its lttng-consumerd finds its data ports in PORT_DIR rather than
# /dev/virtio-ports. With -r, the role's LTTng daemons, lttng and
# gen-events are those of ROOT (lib-root.sh; gen-events built there by
# lh_root_gen_events first). FUNCTION must be exported (export -f); the guest-side
# helpers below are available to it.
lh_guest()
{
	local hostname=guest mono=0 host_timeout='' channel='' url='' net=-n wall=''
	local hyperd_args='' tools='' ports='' root='' gen='' opt dir func pid status

	OPTIND=1
	while getopts "u:m:t:c:C:s:w:x:l:d:r:" opt; do
		case $opt in
		l) tools=$OPTARG ;;
		r) root=$OPTARG ;;
		d) ports=$OPTARG ;;
		u) hostname=$OPTARG ;;
		m) mono=$OPTARG ;;
		t) host_timeout=$OPTARG ;;
		c) channel=unix:$OPTARG; url=net://127.0.0.1 ;;
		C) channel=$OPTARG; url=net://127.0.0.1 ;;
		s) url=$OPTARG; net='' ;;
		w) wall=$OPTARG ;;
		x) hyperd_args=$OPTARG ;;
		*) return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	dir=$1
	func=$2
	shift 2
	mkdir -p "$dir/home" || return 1
	# The mount points of the role's tmpfs must exist on the host.
	mkdir -p /var/run/lttng /dev/shm || return 1
	if [ -n "$root" ]; then
		lh_root_wrap "$dir/rootbin" "$root" "$dir/root-state" "$dir" || return 1
		gen=${LH_ROOT_GEN_DIR:+$dir/rootbin/gen-events}
	fi

	env LH_GUEST_DIR="$dir" LH_GUEST_HOSTNAME="$hostname" \
		LH_GUEST_CHANNEL="$channel" LH_GUEST_URL="$url" \
		LH_GUEST_HOST_TIMEOUT="$host_timeout" LH_GUEST_NET="$net" \
		LH_GUEST_WALL_SHIFT="$wall" LH_GUEST_HYPERD_ARGS="$hyperd_args" \
		PATH="${root:+$dir/rootbin:}${tools:+$tools/bin:}$PATH" \
		${gen:+LH_GUEST_GEN_EVENTS="$gen"} \
		${ports:+LTTNG_HYPER_DATA_PORT_DIR="$ports"} \
		timeout -k 5 "$LH_GUEST_TIMEOUT" \
		unshare -m -p -u -T $net --kill-child --mount-proc \
			--propagation private --monotonic="$mono" \
		bash -c '. "$1" && shift && lh_guest_inside "$@"' lh-guest \
			"$LH_LIB" "$func" "$@" \
		>"$dir/guest.log" 2>&1 &
	pid=$!
	lh_track_pid "$pid"
	wait "$pid"
	status=$?
	lh_untrack_pid "$pid"
	if [ "$status" -eq 124 ]; then
		echo "guest role timed out after $LH_GUEST_TIMEOUT s" >>"$dir/guest.log"
	fi
	return "$status"
}

# Inside the namespaces: set the role up, then run the function.
lh_guest_inside()
{
	local func=$1 status

	shift
	if [ -n "$LH_GUEST_NET" ]; then
		ip link set lo up || return 1
	fi
	hostname "$LH_GUEST_HOSTNAME" || return 1
	mount -t tmpfs -o mode=0755 lh-guest-run /var/run/lttng || return 1
	mount -t tmpfs -o mode=1777 lh-guest-shm /dev/shm || return 1
	export LTTNG_HOME=$LH_GUEST_DIR/home

	timeout "$LH_CMD_TIMEOUT" env ${LH_GUEST_WALL_SHIFT:+LD_PRELOAD="$LH_FAKETIME_LIB" \
		FAKETIME="$LH_GUEST_WALL_SHIFT" DONT_FAKE_MONOTONIC=1} \
		lttng-sessiond -d --no-kernel || {
		echo "lttng-sessiond did not start"
		return 1
	}
	timeout "$LH_CMD_TIMEOUT" lttng list >/dev/null || {
		echo "lttng-sessiond does not answer"
		return 1
	}
	if [ -n "$LH_GUEST_CHANNEL" ]; then
		lh_guest_hyperd_start || return 1
	fi

	"$func" "$@"
	status=$?

	if [ -n "$LH_GUEST_CHANNEL" ]; then
		lh_guest_hyperd_stop
	fi
	return "$status"
}

lh_guest_hyperd_start()
{
	# shellcheck disable=SC2086 # LH_GUEST_HYPERD_ARGS: words, see lh_guest
	timeout "$LH_CMD_TIMEOUT" "$LH_HYPERD" -d \
		--pidfile "$LH_GUEST_DIR/hyperd.pid" --log "$LH_GUEST_DIR/hyperd.log" \
		-c "$LH_GUEST_CHANNEL" \
		${LH_GUEST_HOST_TIMEOUT:+--host-timeout "$LH_GUEST_HOST_TIMEOUT"} \
		$LH_GUEST_HYPERD_ARGS || {
		echo "lttng-hyperd did not start"
		return 1
	}
}

# SIGTERM lets lttng-hyperd flush what it holds; wait (bounded) for it.
lh_guest_hyperd_stop()
{
	local pid

	pid=$(cat "$LH_GUEST_DIR/hyperd.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	lh_wait_for 10 eval "! kill -0 $pid 2>/dev/null"
}

# --- guest-side helpers (for the functions run by lh_guest) --------------

# lh_wait_file FILE: wait for the test to create FILE (bounded by the
# role's own timeout).
lh_wait_file()
{
	until [ -e "$1" ]; do
		sleep 0.1
	done
}

# lh_wait_channel_up: wait until the role's lttng-hyperd has its channel.
lh_wait_channel_up()
{
	until grep -q 'channel up, host calls this VM' "$LH_GUEST_DIR/hyperd.log" 2>/dev/null; do
		sleep 0.1
	done
}

# lh_timed NAME COMMAND...: run COMMAND (bounded), record "MS STATUS" in
# $LH_GUEST_DIR/NAME.time, return its status.
lh_timed()
{
	local name=$1 start status

	shift
	start=$(lh_now_ms)
	timeout "$LH_CMD_TIMEOUT" "$@"
	status=$?
	echo "$(($(lh_now_ms) - start)) $status" >"$LH_GUEST_DIR/$name.time"
	return "$status"
}

# lh_session_create SESSION [EVENTS]: a session streaming to the role's
# URL, with one blocking UST channel "c" enabled for EVENTS (hyper_test:*
# unless given): with LTTNG_UST_ALLOW_BLOCKING=1 in the application, no
# event is discarded. LH_CHANNEL_OPTS: more enable-channel options
# (--output=hyper, --buffers-pid); LH_CREATE_OPTS: more create options
# (--trace-format=ctf-1.8).
lh_session_create()
{
	# shellcheck disable=SC2086 # LH_CREATE_OPTS: words
	lh_timed "$1.create" lttng create "$1" --set-url="$LH_GUEST_URL" $LH_CREATE_OPTS &&
	# shellcheck disable=SC2086 # LH_CHANNEL_OPTS: words
	lh_timed "$1.enable-channel" lttng enable-channel -u -s "$1" \
		--blocking-timeout=inf $LH_CHANNEL_OPTS c &&
	lh_timed "$1.enable-event" lttng enable-event -u -s "$1" -c c "${2:-hyper_test:*}"
}

# lh_session_attempt SESSION: lh_session_create, quietly, leaving no
# session behind when it fails. For lh_wait_for while the chain comes up:
# lttng-hyperd refuses relayd connections until its channel is up.
lh_session_attempt()
{
	lh_session_create "$1" >/dev/null 2>&1 && return 0
	lttng destroy "$1" >/dev/null 2>&1
	return 1
}

# lh_stop_unread SESSION FLAG: once FLAG exists (the host no longer
# reads), emit events that stay in the buffers, then time lttng stop
# (which must flush them), lttng destroy and lttng list. The test judges
# their times and statuses (lh_step_ms, lh_step_status).
lh_stop_unread()
{
	lh_wait_for 60 test -e "$2" || return 1
	lh_gen 1000 || return 1
	lh_timed "$1.stop" lttng stop "$1"
	lh_timed "$1.destroy" lttng destroy "$1"
	lh_timed "$1.list" lttng list
	return 0
}

# lh_gen COUNT [gen-events options]
lh_gen()
{
	local count=$1

	shift
	LTTNG_UST_REGISTER_TIMEOUT=-1 LTTNG_UST_ALLOW_BLOCKING=1 \
		timeout "$LH_CMD_TIMEOUT" "${LH_GUEST_GEN_EVENTS:-$LH_GEN_EVENTS}" -n "$count" "$@"
}

# lh_trace SESSION COUNT [gen-events options]: create, start, emit COUNT
# events, stop, destroy (each step timed).
lh_trace()
{
	local session=$1 count=$2

	shift 2
	lh_session_create "$session" &&
	lh_timed "$session.start" lttng start "$session" &&
	lh_gen "$count" "$@" &&
	lh_timed "$session.stop" lttng stop "$session" &&
	lh_timed "$session.destroy" lttng destroy "$session"
}

# --- host-side checks ---------------------------------------------------

# lh_port_attack_checks VM PORT_LABEL RELAY_LOG OUT_DIR MODE: the two checks of one
# port-guest attack on VM's data port (port-guest's output in OUT_DIR/MODE.out):
# port-guest saw the relay close the port (or cut it itself, MODE cut), and
# the relay logged the fault, naming VM and the port, in its words for MODE.
lh_port_attack_checks()
{
	local vm=$1 label=$2 log=$3 out=$4/$5.out mode=$5 pattern

	case $mode in
	garbage) pattern="frame with circuit_id [0-9]+ \(must be 0\): closing the port" ;;
	foreign) pattern="frame for stream 1, which this VM does not own: closing the port" ;;
	oversized) pattern="frame for stream [0-9]+ of $((LH_MAX_FRAME + 1)) \+ 0 padding bytes exceeds the $LH_MAX_FRAME-byte limit \(--max-data-frame\): closing the port" ;;
	cut) pattern="closed by the guest in the middle of a frame for stream [0-9]+ \([0-9]+ of [0-9]+ bytes\)" ;;
	esac
	if [ "$mode" = cut ]; then
		grep -q "^port-guest: closed the port in the middle of packet" "$out"
	else
		grep -q "^port-guest: the relay closed the port after" "$out"
	fi && grep -q "^port-guest: done" "$out"
	ok $? "$mode: $(grep -E '^port-guest: (the|closed)' "$out" | tail -n 1)" || diag "$(tail -n 5 "$out")"
	grep -qE "\[vm=$vm\] data port $label: $pattern" "$log"
	ok $? "$mode: the relay closed $vm's data port, saying why" ||
		diag "$(grep "\[vm=$vm\] data port" "$log" | tail -n 3)"
}


# lh_step_ms DIR NAME: the duration of a guest step timed by lh_timed.
lh_step_ms()
{
	local ms

	read -r ms _ 2>/dev/null <"$1/$2.time" || return 1
	echo "$ms"
}

# lh_step_status DIR NAME: the exit status of a guest step timed by lh_timed.
lh_step_status()
{
	local status

	read -r _ status 2>/dev/null <"$1/$2.time" || return 1
	echo "$status"
}

# lh_steps_within MS DIR STEP...: each guest STEP ran, in at most MS.
lh_steps_within()
{
	local max=$1 dir=$2 step ms

	shift 2
	for step in "$@"; do
		ms=$(lh_step_ms "$dir" "$step") && [ "$ms" -le "$max" ] || return 1
	done
}

# lh_steps_report DIR STEP...: "STEP: MS ms, status S; ..."
lh_steps_report()
{
	local dir=$1 step ms status out=''

	shift
	for step in "$@"; do
		if read -r ms status 2>/dev/null <"$dir/$step.time"; then
			out+="${out:+; }$step: $ms ms, status $status"
		else
			out+="${out:+; }$step: not run"
		fi
	done
	echo "$out"
}

# lh_graph_json HTML PYTHON: run PYTHON with d = the data that lttng-hyper
# graph embedded in HTML.
lh_graph_json()
{
	python3 -c '
import json, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"<script type=\"application/json\" id=\"lh-data\">(.*?)</script>", html, re.S)
d = json.loads(m.group(1))
exec(sys.argv[2])' "$1" "$2"
}

# lh_trace_stats TRACE_DIR: read every hyper_test:seq event under
# TRACE_DIR with babeltrace2 and set LH_COUNT (events), LH_DUPS (repeated
# seq values), LH_MIN/LH_MAX (seq range), LH_HOSTNAMES (distinct
# trace:hostname values), LH_FIRST_S/LH_LAST_S (first and last event
# times, in Unix seconds) and LH_DISCARDED (how many warnings babeltrace2
# gave about discarded events or lost packets). COUNT events with no
# duplicate and seq in 0..COUNT-1 means every seq value is there once.
lh_trace_stats()
{
	local stats err=$LH_TMP/babeltrace2.err

	LH_COUNT=0 LH_DUPS=0 LH_MIN=-1 LH_MAX=-1 LH_HOSTNAMES='' LH_DISCARDED=0
	LH_FIRST_S=0 LH_LAST_S=0
	stats=$(set -o pipefail
		timeout "$LH_CMD_TIMEOUT" babeltrace2 --clock-seconds --no-delta \
			--names=payload --fields=trace:hostname "$1" 2>"$err" |
		awk '
		/hyper_test:seq:/ {
			if (!match($0, /seq = [0-9]+/)) {
				next
			}
			s = substr($0, RSTART + 6, RLENGTH - 6) + 0
			if (seen[s]++) {
				dups++
			}
			# Lines come in time order: "[SECONDS.NANOSECONDS] HOSTNAME ..."
			ts = substr($1, 2) + 0
			if (count == 0) {
				min = max = s
				first = ts
			}
			if (s < min) {
				min = s
			}
			if (s > max) {
				max = s
			}
			last = ts
			count++
			if (!(host[$2]++)) {
				hosts = hosts (hosts == "" ? "" : ",") $2
			}
		}
		END {
			if (count == 0) {
				min = max = -1
			}
			printf "%d %d %d %d %.0f %.0f %s\n", count, dups, min, max,
				first, last, hosts
		}') || return 1
	read -r LH_COUNT LH_DUPS LH_MIN LH_MAX LH_FIRST_S LH_LAST_S LH_HOSTNAMES <<<"$stats"
	LH_DISCARDED=$(grep -c -i -E 'discarded|lost' "$err")
	return 0
}

# lh_trace_complete COUNT: the last lh_trace_stats saw each of seq
# 0..COUNT-1 exactly once, and no discard.
lh_trace_complete()
{
	[ "$LH_COUNT" -eq "$1" ] && [ "$LH_DUPS" -eq 0 ] && [ "$LH_MIN" -eq 0 ] &&
		[ "$LH_MAX" -eq $(($1 - 1)) ] && [ "$LH_DISCARDED" -eq 0 ]
}

lh_trace_describe()
{
	echo "$LH_COUNT events, $LH_DUPS duplicates, seq $LH_MIN..$LH_MAX, hostnames '$LH_HOSTNAMES', $LH_DISCARDED discard warnings"
}

# lh_kernel_checks DIR ALLOWED [BABELTRACE2_DIR]: the four checks of a
# guest's kernel trace in DIR (sched_switch, sched_wakeup and every system
# call enabled), read by the babeltrace2 of BABELTRACE2_DIR if given:
# babeltrace2 reads it, both sched events are there, system call entries
# and exits match but for at most ALLOWED in flight at the ends, and
# nothing was discarded or lost. Leaves the span of its events' dates in
# LH_KFIRST_S and LH_KLAST_S (seconds since the epoch).
lh_kernel_checks()
{
	local dir=$1 allowed=$2 err=$LH_TMP/kernel-bt.err counts sw wk en ex diff discards

	counts=$(set -o pipefail
		PATH="${3:+$3:}$PATH" timeout "$LH_CMD_TIMEOUT" babeltrace2 --clock-seconds "$dir" \
			2>"$err" | awk '
			{ t = substr($1, 2) + 0; if (!n++ || t < first) first = t; if (t > last) last = t }
			/ sched_switch: / { sw++ }
			/ sched_wakeup: / { wk++ }
			/ syscall_entry_/ { en++ }
			/ syscall_exit_/ { ex++ }
			END { printf "%d %d %d %d %d %d\n", sw, wk, en, ex, first, last }')
	ok $? "babeltrace2 $(PATH="${3:+$3:}$PATH" babeltrace2 --version | awk '{ print $2; exit }') reads the guest's kernel trace" ||
		diag "$(head -n 3 "$err")"
	read -r sw wk en ex LH_KFIRST_S LH_KLAST_S <<<"$counts"
	diag "kernel: $sw sched_switch, $wk sched_wakeup, $en system call entries, $ex exits," \
		"dated $LH_KFIRST_S..$LH_KLAST_S"
	[ "${sw:-0}" -gt 0 ] && [ "${wk:-0}" -gt 0 ]
	ok $? "sched_switch and sched_wakeup events ($sw, $wk)"
	diff=$((${en:-0} - ${ex:-0}))
	[ "${en:-0}" -gt 0 ] && [ "${diff#-}" -le "$allowed" ]
	ok $? "system call entries and exits match ($en, $ex; at most $allowed in flight)"
	discards=$(grep -c -i -E 'discarded|lost' "$err")
	[ "$discards" -eq 0 ]
	ok $? "no discarded kernel events or lost packets ($discards warnings)"
}

# Traces that share a moment: lh_overlap_reset, then lh_overlap_add after
# the lh_trace_stats of each trace; lh_overlap succeeds when the latest
# first event comes no later than the earliest last event.
lh_overlap_reset()
{
	LH_LATEST_FIRST_S=0
	LH_EARLIEST_LAST_S=
}

lh_overlap_add()
{
	if [ "$LH_FIRST_S" -gt "$LH_LATEST_FIRST_S" ]; then
		LH_LATEST_FIRST_S=$LH_FIRST_S
	fi
	if [ -z "$LH_EARLIEST_LAST_S" ] || [ "$LH_LAST_S" -lt "$LH_EARLIEST_LAST_S" ]; then
		LH_EARLIEST_LAST_S=$LH_LAST_S
	fi
}

lh_overlap()
{
	[ "$LH_LATEST_FIRST_S" -le "$LH_EARLIEST_LAST_S" ]
}

# lh_metadata TRACE_DIR: the metadata of the first trace under TRACE_DIR,
# as text, as the guest's tracer wrote it (or the relay corrected it).
lh_metadata()
{
	local md

	md=$(find "$1" -name metadata -type f | head -n 1)
	[ -n "$md" ] || return 1
	timeout "$LH_CMD_TIMEOUT" babeltrace2 --output-format=ctf-metadata "$(dirname "$md")"
}

# lh_metadata_env TRACE_DIR KEY: the value of KEY in the env block of the
# trace's metadata (quotes removed).
lh_metadata_env()
{
	lh_metadata "$1" | awk -v key="$2" '
		/^env *\{/ {
			env = 1
			next
		}
		env && /^\}/ {
			env = 0
		}
		env && $1 == key && $2 == "=" {
			v = $0
			sub(/^[^=]*= */, "", v)
			sub(/;[[:space:]]*$/, "", v)
			gsub(/"/, "", v)
			print v
			exit
		}'
}

# lh_metadata_clock TRACE_DIR FIELD: a field of the clock block of the
# trace's metadata.
lh_metadata_clock()
{
	lh_metadata "$1" | awk -v f="$2" '
		/^clock {/ { in_clock = 1 }
		in_clock && $1 == f { sub(/;$/, "", $3); print $3; exit }
		in_clock && /^};/ { in_clock = 0 }'
}

# --- clock correction ------------------------------------------------------

# lh_host_realtime_minus_mono: the host's CLOCK_REALTIME - CLOCK_MONOTONIC
# (ns), from the reading whose two monotonic stamps are closest; then the
# width of that window (ns).
lh_host_realtime_minus_mono()
{
	python3 -c '
import time
best = None
for _ in range(2000):
    m1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    r = time.clock_gettime_ns(time.CLOCK_REALTIME)
    m2 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    if best is None or m2 - m1 < best[1]:
        best = (r - (m1 + m2) // 2, m2 - m1)
print(best[0], best[1])'
}

# lh_sync_get SYNC_FILE KEY: the value of KEY (a basic regular expression)
# in a sync file the relay wrote next to a trace.
lh_sync_get()
{
	[ -f "$1" ] && sed -n "s/^$2 = //p" "$1"
}

# lh_trace_cycles TRACE_DIR: the clock values (cycles) of the first and
# last events under TRACE_DIR.
lh_trace_cycles()
{
	timeout "$LH_CMD_TIMEOUT" babeltrace2 --clock-cycles --no-delta "$1" |
		awk -F'[][]' 'NR == 1 { first = $2 } { last = $2 } END { print first, last }'
}

# lh_mapping_error_ns OFFSET FREQ CYCLES SHIFT_S RM: the wall-clock time a
# metadata clock of OFFSET and FREQ gives guest clock value CYCLES, minus
# the truth, exactly, for a guest whose CLOCK_MONOTONIC is the host's +
# SHIFT_S, on a host whose CLOCK_REALTIME - CLOCK_MONOTONIC is RM ns.
lh_mapping_error_ns()
{
	python3 -c '
import sys
from fractions import Fraction
offset, freq, c, shift, rm = map(int, sys.argv[1:])
mapped = Fraction((offset + c) * 10**9, freq)
print(round(mapped - (c - shift * 10**9 + rm)))' "$@"
}

# --- pingpong order ---------------------------------------------------------

# lh_pingpong_order TRACE_DIR ROUNDS [TOLERANCE_NS]: read the
# hyper_pingpong:send and recv events under TRACE_DIR with babeltrace2 (all
# its traces merged, in time order) and print, for each direction (sender
# side 0, then side 1), one line "ORDERED WRONG MISSING DUPS BEYOND MIN
# MEDIAN MAX" over rounds 0..ROUNDS-1: rounds whose send line comes before
# its recv line, rounds where it comes after, rounds lacking one of the
# two, repeated events (of either direction), rounds whose recv comes more
# than TOLERANCE_NS (0 unless given) before their send, and the recv time -
# send time of the complete rounds, in ns ("-" when there is none).
lh_pingpong_order()
{
	(set -o pipefail
	timeout "$LH_CMD_TIMEOUT" babeltrace2 --clock-seconds --no-delta "$1" |
	awk -v rounds="$2" '
	/hyper_pingpong:(send|recv):/ {
		if (!match($0, /round = [0-9]+/)) {
			next
		}
		r = substr($0, RSTART + 8, RLENGTH - 8) + 0
		if (!match($0, /side = [01]/)) {
			next
		}
		side = substr($0, RSTART + 7, 1) + 0
		# "[SECONDS.NANOSECONDS]": ns since the first line fit a double.
		split(substr($1, 2, length($1) - 2), ts, ".")
		if (!n++) {
			sec0 = ts[1]
		}
		t = (ts[1] - sec0) * 1000000000 + ts[2]
		# A round of direction DIR is sent by side DIR, received by the other.
		if (index($0, "hyper_pingpong:send:")) {
			key = "s" side SUBSEP r
		} else {
			key = "r" (1 - side) SUBSEP r
		}
		if (key in pos) {
			dups++
			next
		}
		pos[key] = NR
		when[key] = t
	}
	END {
		# One line per round, "DIR STATUS GAP": sorted by gap, for the median.
		for (dir = 0; dir < 2; dir++) {
			for (r = 0; r < rounds; r++) {
				s = "s" dir SUBSEP r
				v = "r" dir SUBSEP r
				if (!(s in pos) || !(v in pos)) {
					print dir, "missing", 0
				} else {
					print dir, (pos[s] < pos[v] ? "ordered" : "wrong"),
						sprintf("%.0f", when[v] - when[s])
				}
			}
		}
		print "dups", dups + 0
	}' | sort -k 1,1 -k 3,3n |
	awk -v tol="${3:-0}" '
	$1 == "dups" {
		dups = $2
		next
	}
	{
		count[$1 SUBSEP $2]++
		if ($2 != "missing") {
			gaps[$1, ++ngaps[$1]] = $3
			if ($3 + tol < 0) {
				beyond[$1]++
			}
		}
	}
	END {
		for (dir = 0; dir < 2; dir++) {
			n = ngaps[dir]
			printf "%d %d %d %d %d %s %s %s\n", count[dir, "ordered"],
				count[dir, "wrong"], count[dir, "missing"], dups, beyond[dir],
				n ? gaps[dir, 1] : "-", n ? gaps[dir, int((n + 1) / 2)] : "-",
				n ? gaps[dir, n] : "-"
		}
	}')
}

# lh_pingpong_describe LINE: a line of lh_pingpong_order, in words.
lh_pingpong_describe()
{
	local ordered wrong missing dups beyond min median max

	read -r ordered wrong missing dups beyond min median max <<<"$1"
	echo "$ordered ordered, $wrong reversed ($beyond by more than the bound)," \
		"$missing incomplete, $dups duplicate events," \
		"recv - send: min $min, median $median, max $max ns"
}

# --- hostile-guest attacks ----------------------------------------------------

# lh_attack_expand MODE EVIL [OPTIONS]: expand the --evil string EVIL of
# an attack: "UP/NAME" climbs to / (16 "../", more than any directory
# under LH_TMP is deep) and down to $LH_TMP/NAME, "/NAME" names
# $LH_TMP/NAME outright, anything else stays. Sets LH_EVIL (the string to
# send), LH_TARGET (the path that must not appear, or empty) and LH_WHAT
# (the attack in the tests' names: MODE, OPTIONS and EVIL, the climb
# shortened).
lh_attack_expand()
{
	local up

	up=$(printf '../%.0s' {1..16})
	LH_EVIL=$2
	LH_TARGET=''
	case $2 in
	UP/*)
		LH_TARGET=$LH_TMP/${2#UP/}
		LH_EVIL=$up${LH_TARGET#/}
		;;
	/*)
		LH_TARGET=$LH_TMP$2
		LH_EVIL=$LH_TARGET
		;;
	esac
	LH_WHAT="$1${3:+ $3}${LH_EVIL:+ \"${LH_EVIL/#$up/(16 x ../)}\"}"
}

# --- real VMs (QEMU) ------------------------------------------------------

LH_VM_DIR=$top_srcdir/extras/vm

# lh_vm_init PLAN: lh_init, then the first test: the guest image builds in
# $LH_TMP/guest. Without QEMU, or when this machine cannot build an image
# (no kernel package, a missing tool, no room), skip the whole plan.
lh_vm_init()
{
	local log

	lh_init "$1"
	if ! command -v qemu-system-x86_64 >/dev/null; then
		skip "$1" "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
		exit 0
	fi
	log=$LH_TMP/build-guest.log
	(cd "$top_builddir" && timeout 600 "$LH_VM_DIR/build-guest.sh" -o "$LH_TMP/guest" \
		--hyperd "$LH_HYPERD" --gen-events "$LH_GEN_EVENTS") >"$log" 2>&1
	if [ $? -ne 0 ] && grep -q -E 'apt-get|not found; on Debian|not enough room' "$log"; then
		skip "$1" "the guest image cannot be built here: $(grep -m 1 'error:' "$log")"
		exit 0
	fi
	[ -r "$LH_TMP/guest/vmlinuz" ] && [ -r "$LH_TMP/guest/initrd.img" ]
	ok $? "the guest image builds" || bail_out "$(tail -n 5 "$log")"
}

# lh_vm_nested_image [OPTION...]: the first-level image of a nested run
# (build-guest.sh --nested, lh.mode=nested, and build-guest.sh's OPTIONs)
# in $LH_TMP/guest, in place of lh_vm_init's; one check.
lh_vm_nested_image()
{
	local log=$LH_TMP/build-nested.log

	(cd "$top_builddir" && timeout 900 "$LH_VM_DIR/build-guest.sh" --nested -o "$LH_TMP/guest" \
		--hyperd "$LH_HYPERD" --gen-events "$LH_GEN_EVENTS" "$@") >"$log" 2>&1
	ok $? "the nested image builds ($(sed -n 's/^build-guest.sh: initramfs: //p' "$log"))" ||
		bail_out "$(tail -n 5 "$log")"
}

# lh_vm_boot ID VM [launch-guest.sh options]: boot the test guest in the
# background as VM, its channel on $LH_TMP/VM.sock. Its console goes to
# $LH_TMP/ID-console.log, QEMU's PID to $LH_TMP/ID.qemu.pid. Sets
# LH_VM_PID (the launcher's, for lh_vm_wait).
lh_vm_boot()
{
	local id=$1 vm=$2

	shift 2
	rm -f "$LH_TMP/$id-console.log" "$LH_TMP/$id.qemu.pid" "$LH_TMP/$id-hang.txt"
	timeout -k 5 "$LH_GUEST_TIMEOUT" "$LH_VM_DIR/launch-guest.sh" \
		--kernel "$LH_TMP/guest/vmlinuz" --initrd "$LH_TMP/guest/initrd.img" \
		--socket "$LH_TMP/$vm.sock" --name "$vm" --accel "${LH_VM_ACCEL:-auto}" \
		--serial-log "$LH_TMP/$id-console.log" --pidfile "$LH_TMP/$id.qemu.pid" \
		--monitor "$LH_TMP/$id.monitor" \
		--guest-timeout "$((LH_GUEST_TIMEOUT - LH_GUEST_GRACE))" "$@" \
		>"$LH_TMP/$id-launch.log" 2>&1 &
	LH_VM_PID=$!
	lh_track_pid "$LH_VM_PID"
	lh_vm_sentinel "$id" "$((LH_GUEST_TIMEOUT - LH_VM_SNAPSHOT_LEAD))"
}

# lh_vm_sentinel ID SECONDS: if guest ID's QEMU still runs after SECONDS
# (past the guest's own lh.timeout, which a wedged guest cannot keep),
# take lh_vm_snapshot before the launcher's timeout kills it.
lh_vm_sentinel()
{
	(
		trap 'kill "$nap" 2>/dev/null; exit 0' TERM
		sleep "$2" &
		nap=$!
		wait "$nap" && lh_vm_snapshot "$1"
	) &
	echo "$!" >"$LH_TMP/$1.sentinel.pid"
	lh_track_pid "$!"
}

# lh_task_times STAT: "STATE TICKS" of a /proc/PID/task/TID/stat line,
# TICKS its user and system CPU time. The name in parentheses before the
# fields may hold spaces.
lh_task_times()
{
	local f

	read -r -a f <<<"${1##*) }"
	echo "${f[0]} $((f[11] + f[12]))"
}

# lh_vm_monitor ID: send the commands on stdin to guest ID's QEMU monitor
# (launch-guest.sh --monitor), print its answers without its prompts.
lh_vm_monitor()
{
	timeout 20 socat -t 3 - UNIX-CONNECT:"$LH_TMP/$1.monitor" | tr -d '\r' | grep -v '^(qemu)'
}

# lh_vm_snapshot ID: what guest ID's QEMU does, in $LH_TMP/ID-hang.txt:
# each thread's state, CPU time (twice, 2 s apart: a vCPU thread that
# spins gains 200 ticks) and kernel wait channel; from the monitor, the
# vCPUs' registers, local APICs (a pending interrupt) and the code at
# their RIP, then five more samples of RIP and CR3 (whether a vCPU moves,
# and between which address spaces: a level-1 guest's and its nested
# guest's, under TCG's AMD-V); the threads' stacks from gdb.
lh_vm_snapshot()
{
	local pid t stat round cpu

	pid=$(cat "$LH_TMP/$1.qemu.pid" 2>/dev/null) || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	{
		for round in 1 2; do
			echo "# QEMU $pid, $(date +%T.%N): tid name state ticks wchan"
			for t in /proc/"$pid"/task/*; do
				stat=$(cat "$t/stat" 2>/dev/null) || continue
				echo "${t##*/} '$(cat "$t/comm")' $(lh_task_times "$stat") $(cat "$t/wchan")"
			done
			[ "$round" -eq 1 ] && sleep 2
		done
		echo "# monitor"
		{
			echo 'info status'
			echo 'info cpus'
			echo 'info registers -a'
			for cpu in 0 1; do
				echo "cpu $cpu"
				echo 'info lapic'
				echo 'x/2i $pc-3'
				echo 'x/6i $pc'
			done
			for round in 1 2 3 4 5; do
				echo 'info registers -a'
			done
		} | lh_vm_monitor "$1" | grep -v -E '^(FPR|XMM|FCW)' |
			awk '/^CPU#0/ { n++ } n <= 1 || /^(CPU#|RIP=|CR0=)/'
		echo "# gdb: thread apply all bt"
		timeout 60 gdb -p "$pid" -batch -nx -ex 'thread apply all bt 10' 2>&1 |
			grep -v -E '^\[New LWP|^warning:'
	} >"$LH_TMP/$1-hang.txt" 2>&1
}

# lh_vm_vcpu_ticks PID TID...: the CPU time (clock ticks) of each thread
# TID of QEMU PID, one per line.
lh_vm_vcpu_ticks()
{
	local pid=$1 tid stat

	shift
	for tid in "$@"; do
		stat=$(cat "/proc/$pid/task/$tid/stat" 2>/dev/null) || return 1
		lh_task_times "$stat" | cut -d ' ' -f 2
	done
}

# lh_vm_spinning ID: succeed if every vCPU thread of guest ID's QEMU (as
# its monitor lists them) ran at least half of the next 2 s.
lh_vm_spinning()
{
	local pid tids before after

	pid=$(cat "$LH_TMP/$1.qemu.pid" 2>/dev/null) || return 1
	tids=$(echo 'info cpus' | lh_vm_monitor "$1" | sed -n 's/.*thread_id=\([0-9]*\).*/\1/p')
	[ -n "$tids" ] || return 1
	# shellcheck disable=SC2086 # one thread id per word
	before=$(lh_vm_vcpu_ticks "$pid" $tids) || return 1
	sleep 2
	# shellcheck disable=SC2086
	after=$(lh_vm_vcpu_ticks "$pid" $tids) || return 1
	paste -d ' ' <(echo "$before") <(echo "$after") |
		awk -v half="$(getconf CLK_TCK)" 'NF != 2 || $2 - $1 < half { bad = 1 } END { exit bad }'
}

# lh_vm_user_lines ID: how many lines guest ID's processes wrote to its
# console (lh-guest: and lh-heartbeat: lines; not its kernel's).
lh_vm_user_lines()
{
	tr -d '\r' 2>/dev/null <"$LH_TMP/$1-console.log" | grep -c -E 'lh-(guest|heartbeat): '
}

# lh_vm_kernel_stalled ID: succeed if guest ID's kernel reported a soft
# lockup or an RCU stall after the guest's last lh-guest: line.
lh_vm_kernel_stalled()
{
	tr -d '\r' 2>/dev/null <"$LH_TMP/$1-console.log" |
		awk '/lh-guest: / { s = 0 } /soft lockup|rcu.*stall/ { s = 1 } END { exit !s }'
}

# lh_vm_run_nested ID VM [launch-guest.sh options]: lh_vm_boot, then
# lh_vm_wait, for a guest that runs nested guests under TCG. There, the
# guest can stop running its processes for good: its kernel reports soft
# lockups of every CPU in its nested guests' QEMU threads while its vCPU
# threads spin (3 of 29 runs of test_vm_hypercall here; doc/vm.md,
# "A known livelock under TCG"), or crawl on with RCU stalls, its nested
# guests taking minutes to boot. The guest beats every 20 s
# (--heartbeat); one whose processes wrote nothing for 120 s, or that
# said nothing of its work (lh-guest:) for 240 s while its kernel
# reported a stall, is snapshotted (lh_vm_snapshot) and killed if its
# vCPU threads spin, what it sent to OUT/VM is removed, and it boots
# once more. Any other failure, and a second livelock, are the test's.
lh_vm_run_nested()
{
	local id=$1 vm=$2 try lines last last_s said said_s why

	shift 2
	for try in 1 2; do
		lh_vm_boot "$id" "$vm" --heartbeat 20 "$@"
		last=0
		last_s=$SECONDS
		said=0
		said_s=$SECONDS
		while kill -0 "$LH_VM_PID" 2>/dev/null; do
			sleep 5
			lines=$(lh_vm_user_lines "$id")
			if [ "$lines" != "$last" ]; then
				last=$lines
				last_s=$SECONDS
			fi
			lines=$(lh_vm_console "$id" | wc -l)
			if [ "$lines" != "$said" ]; then
				said=$lines
				said_s=$SECONDS
			fi
			why=
			if [ $((SECONDS - last_s)) -ge 120 ]; then
				why="$vm's processes wrote nothing for $((SECONDS - last_s)) s"
			elif [ $((SECONDS - said_s)) -ge 240 ] && lh_vm_kernel_stalled "$id"; then
				why="$vm said nothing of its work for $((SECONDS - said_s)) s and its kernel reported a stall"
			fi
			if [ -n "$why" ] && [ "$try" -eq 1 ] && lh_vm_spinning "$id"; then
				lh_vm_snapshot "$id"
				diag "$why while its vCPUs spun: the livelock of nested AMD-V under TCG; the end of its console, and its QEMU:"
				diag "$(tr -d '\r' <"$LH_TMP/$id-console.log" | tail -n 15)"
				diag "$(cat "$LH_TMP/$id-hang.txt")"
				lh_vm_kill "$id"
				lh_vm_wait "$LH_VM_PID" "$id" >/dev/null 2>&1
				# The relay ends the VM's sessions once its channel closes.
				sleep 2
				rm -rf "${LH_OUT:?}/$vm"
				diag "$vm: booting it once more"
				continue 2
			fi
		done
		lh_vm_wait "$LH_VM_PID" "$id"
		return
	done
}

# lh_vm_console ID: the lines guest ID wrote for the host ("lh-guest: ..."),
# without the serial line's carriage returns and the firmware's escapes.
lh_vm_console()
{
	tr -d '\r' 2>/dev/null <"$LH_TMP/$1-console.log" | sed -n 's/^.*\(lh-guest: \)/\1/p'
}

# lh_vm_wait PID ID: wait for the launcher PID to end. The launcher does
# not turn a failed guest run into its status: succeed only when the
# guest's last word on its console is "lh-guest: done"; else show the end
# of its console and of the launcher's log.
lh_vm_wait()
{
	local sentinel

	wait "$1"
	lh_untrack_pid "$1"
	if sentinel=$(cat "$LH_TMP/$2.sentinel.pid" 2>/dev/null); then
		kill "$sentinel" 2>/dev/null
		wait "$sentinel" 2>/dev/null
		lh_untrack_pid "$sentinel"
	fi
	[ "$(lh_vm_console "$2" | tail -n 1)" = 'lh-guest: done' ] && return 0
	diag "guest $2 did not end with 'lh-guest: done'; the end of its console:"
	diag "$(tr -d '\r' <"$LH_TMP/$2-console.log" 2>/dev/null | tail -n 60)"
	diag "the end of its launcher's log:"
	diag "$(tail -n 5 "$LH_TMP/$2-launch.log" 2>/dev/null)"
	if [ -s "$LH_TMP/$2-hang.txt" ]; then
		diag "its QEMU still ran $((LH_GUEST_TIMEOUT - LH_VM_SNAPSHOT_LEAD)) s after its start:"
		diag "$(cat "$LH_TMP/$2-hang.txt")"
	fi
	return 1
}

# lh_vm_wait_console SECONDS ID REGEX: wait for a console line of guest ID
# that matches REGEX (extended); fail early once the guest has ended.
lh_vm_wait_console()
{
	local deadline=$((SECONDS + $1))

	until lh_vm_console "$2" | grep -q -E "$3"; do
		if [ "$SECONDS" -ge "$deadline" ] ||
				lh_vm_console "$2" | grep -q -E '^lh-guest: (done|FAILED)'; then
			return 1
		fi
		sleep 0.2
	done
}

# lh_vm_kill ID: SIGKILL guest ID's QEMU, as a host crash or an abrupt
# reset would end it, and wait (bounded) for it to be gone.
lh_vm_kill()
{
	local pid exe

	pid=$(cat "$LH_TMP/$1.qemu.pid" 2>/dev/null) || return 1
	exe=$(readlink "/proc/$pid/exe") || return 1
	[ "${exe##*/}" = qemu-system-x86_64 ] || return 1
	kill -KILL "$pid" && lh_wait_for 10 eval "! kill -0 $pid 2>/dev/null"
}
