#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The per-level cost of nesting: the same workload from a guest at L1, L2
# and L3, in one run.
#
# Each level is a guest role (tests/regression/lib.sh) and each channel a
# unix socket. The modes:
#   - stock: the baseline, no lttng-hyper: the guest role streams over
#     net:// straight to an lttng-relayd;
#   - l1: its lttng-hyperd talks to lttng-hyper-relayd (--vm l1=...);
#   - l2: its lttng-hyperd talks to the lttng-hyperd of an L1 role, which
#     serves it with --vm l2=unix-listen:SOCK and carries it up to the relay;
#   - l3: one more lttng-hyperd hop (L1 serves l2, which serves l3).
# In every mode, the deepest role runs, one after the other:
#   - push: bench/relayd-push pushes PUSH bytes of 256 KiB packets with
#     their indexes, and stops its clock when DATA_PENDING says
#     lttng-relayd wrote them all: the capacity of the path, in MB/s;
#   - latency: relayd-push --latency: ROUNDS GET_CONFIGURATION commands one
#     at a time, which lttng-hyper-relayd checks and forwards and
#     lttng-relayd answers from memory: the round trip through the whole
#     chain (median and p99, in us). The added latency of a mode is its
#     median minus stock's;
#   - trace: gen-events emits EVENTS events as fast as it can into a
#     discard-mode channel with large buffers (8 x 4 MiB per CPU), as
#     bench/loopback.sh does: delivered events/s and trace MB/s from
#     "lttng start" until "lttng stop" returns. "lttng stop" polls every
#     200 ms until the relay daemon has everything: the default trace is
#     large enough (a few seconds) for that step not to dominate.
# CPU ms/MB is the CPU time (user + system) of the hyper processes (every
# lttng-hyperd of the chain and lttng-hyper-relayd) per MB pushed. The
# modes take turns in each run, in an order reversed every other run, so
# a noisy neighbour hits them all alike. The report gives the median of
# each figure and its ratio to l1's.
#
# Usage: bench/nested.sh [-r RUNS] [-L 2|3] [-n EVENTS] [-p PAYLOAD_BYTES]
#                        [-s PUSH_BYTES] [-l ROUNDS]
# Run from the build directory (or set top_builddir), as root, after make
# and make tests/utils/gen-events.

set -u
RUNS=5
LEVELS=3
EVENTS=6000000
# Bytes of text per event: 6,000,000 events of 64 bytes make about 520 MB.
PAYLOAD=64
PUSH=512M
ROUNDS=5000

usage()
{
	echo "Usage: $0 [-r RUNS] [-L 2|3] [-n EVENTS] [-p PAYLOAD_BYTES] [-s PUSH_BYTES] [-l ROUNDS]"
}

while getopts "r:L:n:p:s:l:h" opt; do
	case $opt in
	r) RUNS=$OPTARG ;;
	L) LEVELS=$OPTARG ;;
	n) EVENTS=$OPTARG ;;
	p) PAYLOAD=$OPTARG ;;
	s) PUSH=$OPTARG ;;
	l) ROUNDS=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $LEVELS in
2) MODES="stock l1 l2" ;;
3) MODES="stock l1 l2 l3" ;;
*) usage >&2; exit 2 ;;
esac

. "$(dirname "$0")/lib.sh"

export NB_PUSH=$top_builddir/bench/relayd-push
MARKS="push-start push-end trace-start trace-end"

# --- inside the guest roles ---------------------------------------------

# bench_mark NAME: tell the host that the leaf reached NAME (it reads the
# CPU counters then), and wait until it did.
bench_mark()
{
	touch "$LH_GUEST_DIR/mark-$1" &&
	lh_wait_for "$LH_CMD_TIMEOUT" test -e "$LH_GUEST_DIR/ack-$1"
}
export -f bench_mark

# hop_role UP_SOCKET CHILD CHILD_SOCKET: an intermediate level. Its
# lttng-hyperd connects to UP_SOCKET and serves CHILD on CHILD_SOCKET; the
# role says "ready" once the channel above is up, and stops its agent
# (which flushes) when the host says "stop".
hop_role()
{
	local status=0

	timeout "$LH_CMD_TIMEOUT" "$LH_HYPERD" -d \
		--pidfile "$LH_GUEST_DIR/hyperd.pid" --log "$LH_GUEST_DIR/hyperd.log" \
		-c "unix:$1" --vm "$2=unix-listen:$3" || {
		echo "lttng-hyperd did not start"
		return 1
	}
	if lh_wait_for "$LH_CMD_TIMEOUT" grep -q "channel up" "$LH_GUEST_DIR/hyperd.log"; then
		touch "$LH_GUEST_DIR/ready"
		lh_wait_for "$LH_GUEST_TIMEOUT" test -e "$LH_GUEST_DIR/stop" || status=1
	else
		echo "lttng-hyperd: the channel above never came up"
		status=1
	fi
	lh_guest_hyperd_stop
	return "$status"
}
export -f hop_role

# leaf_role CONTROL_PORT DATA_PORT PUSH_BYTES ROUNDS EVENTS PAYLOAD: the
# deepest level, where the workload runs. Results go to push.out,
# latency.out and trace.out ("MS DISCARDED") in the role's directory.
leaf_role()
{
	local ctrl=$1 data=$2 size=$3 rounds=$4 events=$5 payload=$6 ms

	if [ -n "$LH_GUEST_CHANNEL" ] &&
			! lh_wait_for "$LH_CMD_TIMEOUT" grep -q "channel up" "$LH_GUEST_DIR/hyperd.log"; then
		echo "lttng-hyperd: the channel above never came up"
		return 1
	fi
	bench_mark push-start &&
	timeout "$LH_CMD_TIMEOUT" "$NB_PUSH" -C "$ctrl" -D "$data" -s "$size" \
		>"$LH_GUEST_DIR/push.out" &&
	bench_mark push-end &&
	timeout "$LH_CMD_TIMEOUT" "$NB_PUSH" -C "$ctrl" -l "$rounds" \
		>"$LH_GUEST_DIR/latency.out" || return 1

	bench_session && bench_mark trace-start || return 1
	ms=$(bench_trace "$events" "$payload") || return 1
	bench_mark trace-end || return 1
	echo "$ms $(bench_discarded)" >"$LH_GUEST_DIR/trace.out"
	lttng destroy b >/dev/null
}
export -f leaf_role

# --- host side ----------------------------------------------------------

HYPERD_EXE=$(readlink -f "$LH_HYPERD")
RELAY_EXE=$(readlink -f "$LH_RELAY")

# CPU ticks (utime + stime) of every lttng-hyperd and lttng-hyper-relayd
# of this build, in any namespace: only this benchmark runs them.
hyper_ticks()
{
	local d exe pids=()

	for d in /proc/[0-9]*; do
		exe=$(readlink "$d/exe" 2>/dev/null) || continue
		if [ "$exe" = "$HYPERD_EXE" ] || [ "$exe" = "$RELAY_EXE" ]; then
			pids+=("${d#/proc/}")
		fi
	done
	bench_ticks "${pids[@]}"
}

# follow_marks DIR PID: read the CPU counters at each mark of the leaf
# role PID, then let it go on.
follow_marks()
{
	local name

	for name in $MARKS; do
		lh_wait_flag "$LH_GUEST_TIMEOUT" "$1/mark-$name" "$2" || return 1
		hyper_ticks >"$1/ticks-$name"
		touch "$1/ack-$name"
	done
}

# ticks_between DIR FROM TO
ticks_between()
{
	echo $(($(cat "$1/ticks-$3") - $(cat "$1/ticks-$2")))
}

# stop_relay ID: lttng-hyper-relayd, then its lttng-relayd if still there.
stop_relay()
{
	local pid children

	pid=$(lh_relay_pid "$1") || return 0
	children=$(cat /proc/"$pid"/task/*/children 2>/dev/null)
	lh_kill_pid "$pid"
	for pid in $children; do
		lh_kill_pid "$pid"
	done
}

run_failed()
{
	local log

	for log in "$@"; do
		[ -s "$log" ] && { echo "--- $log"; tail -n 20 "$log"; } >&2
	done
	bail_out "$MODE run $RUN failed"
}

run_one()
{
	local mode=$1 dir=$LH_TMP/$1-$2 levels k hop_pids=() pid status
	local bytes us med p99 ms disc tbytes expect trace

	MODE=$mode RUN=$2
	rm -rf "$LH_OUT"
	mkdir -p "$dir"
	lh_pick_ports 3
	if [ "$mode" = stock ]; then
		lh_stock_relayd_start || run_failed "$LH_TMP/stock-relayd.log"
		lh_guest -u stock -s "net://127.0.0.1:$LH_PORT:$((LH_PORT + 1))" "$dir/leaf" \
			leaf_role "$LH_PORT" $((LH_PORT + 1)) "$PUSH" "$ROUNDS" "$EVENTS" "$PAYLOAD" &
		pid=$!
		follow_marks "$dir/leaf" "$pid"
		wait "$pid"
		status=$?
		lh_kill_pid "$LH_STOCK_RELAYD_PID"
		lh_untrack_pid "$LH_STOCK_RELAYD_PID"
		expect=stock
	else
		levels=${mode#l}
		lh_relay_start "$mode-$2" --vm "l1=unix-listen:$dir/l1.sock" ||
			run_failed "$LH_TMP/relay-$mode-$2.log"
		expect=l1
		for ((k = 1; k < levels; k++)); do
			lh_guest -u "l$k" "$dir/l$k" hop_role "$dir/l$k.sock" "l$((k + 1))" \
				"$dir/l$((k + 1)).sock" &
			hop_pids+=($!)
			lh_wait_flag "$LH_CMD_TIMEOUT" "$dir/l$k/ready" "$!" ||
				run_failed "$dir/l$k/guest.log" "$dir/l$k/hyperd.log"
			expect=$expect/l$((k + 1))
		done
		lh_guest -u "l$levels" -c "$dir/l$levels.sock" "$dir/leaf" \
			leaf_role 5342 5343 "$PUSH" "$ROUNDS" "$EVENTS" "$PAYLOAD" &
		pid=$!
		follow_marks "$dir/leaf" "$pid"
		wait "$pid"
		status=$?
		# Deepest first: each hop flushes what its child sent before it goes.
		for ((k = levels - 1; k >= 1; k--)); do
			touch "$dir/l$k/stop"
			wait "${hop_pids[k - 1]}" || status=1
		done
		stop_relay "$mode-$2"
	fi
	[ "$status" -eq 0 ] && [ -s "$dir/leaf/trace.out" ] ||
		run_failed "$dir"/*/guest.log "$dir"/*/hyperd.log "$LH_TMP/relay-$mode-$2.log"

	read -r bytes us < <(sed -n 's/^relayd-push: \([0-9]*\) bytes in \([0-9]*\) us.*/\1 \2/p' \
		"$dir/leaf/push.out")
	read -r med p99 < <(sed -n 's/.* median \([0-9.]*\) us.* p99 \([0-9.]*\) us.*/\1 \2/p' \
		"$dir/leaf/latency.out")
	read -r ms disc <"$dir/leaf/trace.out"
	# The trace must be where the chain puts this level: OUT/l1/l2/b-*.
	trace=$(find "$LH_OUT/$expect" -mindepth 1 -maxdepth 1 -type d -name 'b-*' 2>/dev/null)
	[ -n "$trace" ] && [ -n "${us:-}" ] && [ -n "${p99:-}" ] ||
		run_failed "$dir/leaf/push.out" "$dir/leaf/latency.out"
	tbytes=$(du -sb "$trace" | cut -f 1)
	# mode push_bytes push_us rtt_median_us rtt_p99_us trace_ms trace_bytes
	# discarded push_ticks
	echo "$mode $bytes $us $med $p99 $ms $tbytes $disc $(ticks_between "$dir/leaf" push-start push-end)" \
		>>"$LH_TMP/results"
	printf '%-5s run %d: push %7.1f MB/s, RTT %7.1f us (p99 %7.1f), trace %6d ms %6.1f MB, %d discarded\n' \
		"$mode" "$2" "$(echo "$bytes / $us" | bc -l)" "$med" "$p99" "$ms" \
		"$(echo "$tbytes / 1000000" | bc -l)" "$disc" >&2
	rm -rf "$dir"
}

lh_init 0 >/dev/null
command -v bc >/dev/null || bail_out "bc not found (apt-get install bc)"
[ -x "$NB_PUSH" ] || bail_out "no $NB_PUSH: run make in the build directory"
hz=$(getconf CLK_TCK)
echo "bench/nested: $RUNS runs per mode ($MODES), push $PUSH, $ROUNDS round trips," \
	"$EVENTS events of payload $PAYLOAD bytes" >&2
for ((i = 1; i <= RUNS; i++)); do
	order=$MODES
	if ((i % 2 == 0)); then
		order=$(echo "$MODES" | tr ' ' '\n' | tac | tr '\n' ' ')
	fi
	for mode in $order; do
		run_one "$mode" "$i"
	done
done

awk -v hz="$hz" -v events="$EVENTS" -v modes="$MODES" -v runs="$RUNS" -f "$BENCH_DIR/stats.awk" \
	-f /dev/stdin "$LH_TMP/results" <<'EOF'
{
	add($1 "/push", $2 / $3)
	add($1 "/rtt", $4)
	add($1 "/p99", $5)
	add($1 "/trace", $7 / 1e3 / $6)
	add($1 "/evps", (events - $8) * 1000 / $6)
	add($1 "/disc", $8)
	add($1 "/cpu", ($9 * 1000 / hz) / ($2 / 1e6))
}
END {
	nm = split(modes, m, " ")
	for (k = 1; k <= nm; k++) {
		split("push rtt p99 trace evps disc cpu", f, " ")
		for (j = 1; j <= 7; j++) {
			r[m[k], f[j]] = med(m[k] "/" f[j])
		}
	}
	printf "\nbench/nested: medians of %d runs; each level a guest role (namespaces) on one kernel, unix-socket channels\n\n", runs
	printf "%-6s %10s %10s %10s %10s %10s %10s %10s %10s\n", "mode", "push MB/s", "RTT us",
		"p99 us", "+RTT us", "trace MB/s", "events/s", "discarded", "CPU ms/MB"
	for (k = 1; k <= nm; k++) {
		x = m[k]
		printf "%-6s %10.1f %10.1f %10.1f %10s %10.1f %10.0f %10d %10s\n", x, r[x, "push"],
			r[x, "rtt"], r[x, "p99"],
			x == "stock" ? "-" : sprintf("%.1f", r[x, "rtt"] - r["stock", "rtt"]),
			r[x, "trace"], r[x, "evps"], r[x, "disc"],
			x == "stock" ? "-" : sprintf("%.2f", r[x, "cpu"])
	}
	printf "\n%-6s %10s %10s %10s %10s %10s %10s\n", "ratio", "push", "RTT", "p99", "+RTT",
		"trace", "CPU/MB"
	for (k = 1; k <= nm; k++) {
		x = m[k]
		if (x == "stock" || x == "l1") {
			continue
		}
		printf "%-6s %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f\n", x "/l1",
			r[x, "push"] / r["l1", "push"], r[x, "rtt"] / r["l1", "rtt"],
			r[x, "p99"] / r["l1", "p99"],
			(r[x, "rtt"] - r["stock", "rtt"]) / (r["l1", "rtt"] - r["stock", "rtt"]),
			r[x, "trace"] / r["l1", "trace"], r[x, "cpu"] / r["l1", "cpu"]
	}
	printf "\nreference: a hypercall costs ~33x more at L2 than at L1 on stock KVM (Hypertracing talk).\n"
	printf "Here the levels are namespaces on one kernel: the ratios isolate lttng-hyper's\n"
	printf "relaying cost (one more lttng-hyperd hop per level), not virtualization exits.\n"
}
EOF
