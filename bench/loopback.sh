#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Loopback throughput of the hyper paths against stock LTTng, in one run.
#
# Each round traces the same workload from a guest role (see
# tests/regression/lib.sh): with stock net:// straight to an lttng-relayd
# ("stock"); through lttng-hyperd, a unix-socket channel,
# lttng-hyper-relayd and its lttng-relayd ("hyper"); and, when the patched
# lttng-tools is built (extras/lttng-tools/build-lttng-tools.sh), with
# enable-channel --output=hyper ("output-hyper"): lttng-consumerd writes the
# channel's packets into a data port (a unix socket here) that
# lttng-hyper-relayd takes with --vm-data, while the control connection
# goes through lttng-hyperd. The modes alternate, so a noisy neighbour
# hits them alike.
#
# The channel is in discard mode with large buffers (8 x 4 MiB per CPU),
# and the application emits as fast as it can (or at -R events a second):
# a path that cannot keep up shows as discarded events and a lower
# delivered rate. At full speed the application outruns every path here,
# so each run's discards depend on how the two cores were shared in it;
# -R below the paths' capacity asks instead whether a path keeps up. (A
# blocking channel would measure lttng-ust instead: a blocked application
# retries every 100 ms, so any path a little slower than the application
# falls off a cliff.) For each run:
#   - elapsed: from "lttng start" until "lttng stop" returns (stop waits
#     until every byte reached the relay daemon);
#   - MB/s and events/s: trace size on disk and events delivered (emitted
#     minus discarded) over elapsed;
#   - CPU ms/MB: CPU time (user + system) of every process that moves
#     trace data (consumerd, relayd, and for the hyper modes lttng-hyperd
#     and lttng-hyper-relayd) per MB of trace; then its two sides: the
#     guest's (consumerd, lttng-hyperd) and the host's (relayd, and
#     lttng-hyper-relayd). Stock has no lttng-hyper-relayd: on these
#     shared cores, a hyper mode's host hop competes with the guest.
# The report gives the median of each, and the ratios to stock.
#
# Usage: bench/loopback.sh [-r RUNS] [-n EVENTS] [-p PAYLOAD_BYTES] [-m MODE[,MODE...]]
#                          [-R EVENTS_PER_SEC] [-c]
# -m: the modes to run (default: all three; ratios need stock among them).
# -R: the application's event rate (default: as fast as it can).
# -c: the guest role on the first CPU, the host's daemons (lttng-relayd,
#     lttng-hyper-relayd) on the second, as a VM's vCPU and its host's own
#     CPUs: the host's hop then no longer takes the guest's CPU.
# LTTNG_TOOLS: the patched lttng-tools (default /opt/lttng-hyper/lttng-tools).
# Run from the build directory (or set top_builddir), as root.

set -u
RUNS=5
EVENTS=1000000
PAYLOAD=0
ONLY=
RATE=
PIN=0

usage()
{
	echo "Usage: $0 [-r RUNS] [-n EVENTS] [-p PAYLOAD_BYTES] [-m MODE[,MODE...]] [-R EVENTS_PER_SEC] [-c]"
	exit 2
}

while getopts "r:n:p:m:R:ch" opt; do
	case $opt in
	r) RUNS=$OPTARG ;;
	n) EVENTS=$OPTARG ;;
	p) PAYLOAD=$OPTARG ;;
	m) ONLY=${OPTARG//,/ } ;;
	R) RATE=$OPTARG ;;
	c) PIN=1 ;;
	*) usage ;;
	esac
done
[[ $RATE =~ ^([1-9][0-9]*)?$ ]] || usage

. "$(dirname "$0")/lib.sh"

# PIDs of the processes whose command is one of the names, in this pid namespace.
pids_named()
{
	local d comm

	for d in /proc/[0-9]*; do
		comm=$(cat "$d/comm" 2>/dev/null) || continue
		for name in "$@"; do
			[ "$comm" = "$name" ] && echo "${d#/proc/}"
		done
	done
}
export -f pids_named

# Inside the guest role: trace, and write the elapsed time and the CPU
# ticks the guest-side movers used during it.
bench_guest()
{
	local count=$1 payload=$2 movers c0 c1 ms

	bench_session || return 1
	movers=$(pids_named lttng-consumerd lttng-hyperd)
	c0=$(bench_ticks $movers)
	ms=$(bench_trace "$count" "$payload") || return 1
	c1=$(bench_ticks $movers)
	echo "$ms $((c1 - c0)) $(bench_discarded)" >"$LH_GUEST_DIR/result"
	lttng destroy b >/dev/null
}
export -f bench_guest

host_movers()
{
	local pid=$1

	echo "$pid"
	cat /proc/"$pid"/task/*/children 2>/dev/null
}

run_one()
{
	local mode=$1 i=$2 dir=$LH_TMP/$1-$2 ports=$LH_TMP/ports-$2 hpids c0 c1 ms gticks
	local disc bytes status

	rm -rf "$LH_OUT"
	lh_pick_ports 3
	if [ "$mode" = stock ]; then
		lh_stock_relayd_start || bail_out "lttng-relayd did not start"
		hpids=$LH_STOCK_RELAYD_PID
	elif [ "$mode" = hyper ]; then
		lh_relay_start "$i" --vm "bench=unix-listen:$LH_TMP/bench-$i.sock" ||
			bail_out "lttng-hyper-relayd did not start"
		hpids=$(host_movers "$(lh_relay_pid "$i")")
	else
		mkdir -p "$ports"
		lh_relay_start "$mode-$i" --vm "bench=unix-listen:$LH_TMP/bench-$i.sock" \
			--vm-data "bench=unix-listen:$ports/org.lttng.hyper.data.ust64" ||
			bail_out "lttng-hyper-relayd did not start"
		hpids=$(host_movers "$(lh_relay_pid "$mode-$i")")
	fi
	if [ "$PIN" -eq 1 ]; then
		for pid in $hpids; do
			taskset -a -p -c 1 "$pid" >/dev/null || bail_out "cannot pin $pid to CPU 1"
		done
	fi
	c0=$(bench_ticks $hpids)
	(
		if [ "$PIN" -eq 1 ]; then
			taskset -p -c 0 "$BASHPID" >/dev/null || exit 1
		fi
		if [ "$mode" = stock ]; then
			lh_guest -s "net://127.0.0.1:$LH_PORT:$((LH_PORT + 1))" "$dir" \
				bench_guest "$EVENTS" "$PAYLOAD"
		elif [ "$mode" = hyper ]; then
			lh_guest -c "$LH_TMP/bench-$i.sock" "$dir" bench_guest "$EVENTS" "$PAYLOAD"
		else
			BENCH_OUTPUT=hyper lh_guest -l "$LTTNG_TOOLS" -d "$ports" \
				-c "$LH_TMP/bench-$i.sock" "$dir" bench_guest "$EVENTS" "$PAYLOAD"
		fi
	)
	status=$?
	c1=$(bench_ticks $hpids)
	for pid in $hpids; do
		lh_kill_pid "$pid"
	done
	[ "$status" -eq 0 ] && [ -s "$dir/result" ] || {
		cat "$dir/guest.log" >&2
		bail_out "$mode run $i failed"
	}
	read -r ms gticks disc <"$dir/result"
	bytes=$(du -sb "$LH_OUT" | cut -f1)
	# mode ms bytes cpu_ticks discarded guest_ticks
	echo "$mode $ms $bytes $((gticks + c1 - c0)) $disc $gticks" >>"$LH_TMP/results"
	printf '%-12s run %d: %6d ms, %6.1f MB, %5d CPU ticks (guest %d, host %d), %d discarded\n' \
		"$mode" "$i" "$ms" "$(echo "$bytes / 1000000" | bc -l)" "$((gticks + c1 - c0))" \
		"$gticks" "$((c1 - c0))" "$disc" >&2
}

lh_init 0 >/dev/null
command -v bc >/dev/null || bail_out "bc not found (apt-get install bc)"
if [ "$PIN" -eq 1 ]; then
	command -v taskset >/dev/null || bail_out "taskset not found (apt-get install util-linux)"
	[ "$(nproc)" -ge 2 ] || bail_out "-c needs two CPUs, this machine lets us use $(nproc)"
fi
hz=$(getconf CLK_TCK)
LTTNG_TOOLS=${LTTNG_TOOLS:-/opt/lttng-hyper/lttng-tools}
MODES="stock hyper"
if [ -x "$LTTNG_TOOLS/bin/lttng-sessiond" ]; then
	MODES="$MODES output-hyper"
else
	echo "bench/loopback: no patched lttng-tools in $LTTNG_TOOLS: output-hyper left out" \
		"(extras/lttng-tools/build-lttng-tools.sh builds it)" >&2
fi
if [ -n "$ONLY" ]; then
	for mode in $ONLY; do
		case " $MODES " in
		*" $mode "*) ;;
		*) bail_out "no mode $mode here (modes: $MODES)" ;;
		esac
	done
	MODES=$ONLY
fi
export BENCH_OUTPUT=''
export BENCH_RATE=$RATE
pace="as fast as the application can"
if [ -n "$RATE" ]; then
	pace="at $RATE events/s"
fi
if [ "$PIN" -eq 1 ]; then
	pace="$pace, the guest role on CPU 0 and the host's daemons on CPU 1"
fi
echo "bench/loopback: $RUNS runs per mode ($MODES), $EVENTS events, payload $PAYLOAD bytes, $pace" >&2
for ((i = 1; i <= RUNS; i++)); do
	for mode in $MODES; do
		run_one "$mode" "$i"
	done
done

# Medians and ratios.
awk -v hz="$hz" -v events="$EVENTS" -v modes="$MODES" -f "$BENCH_DIR/stats.awk" -f /dev/stdin \
	"$LH_TMP/results" <<'EOF'
{
	mb = $3 / 1e6
	s = $2 / 1000
	add($1 "/mbps", mb / s)
	add($1 "/evps", (events - $5) / s)
	add($1 "/cpu", ($4 * 1000 / hz) / mb)
	add($1 "/guest", ($6 * 1000 / hz) / mb)
	add($1 "/host", (($4 - $6) * 1000 / hz) / mb)
	add($1 "/size", mb)
	add($1 "/disc", $5)
	discs[$1] = discs[$1] (discs[$1] == "" ? "" : ", ") $5
}
END {
	nm = split(modes, mode, " ")
	printf "%-12s %10s %12s %12s %8s %8s %10s %10s\n", "mode", "MB/s", "events/s", "CPU ms/MB",
		"guest", "host", "trace MB", "discarded"
	for (k = 1; k <= nm; k++) {
		m = mode[k]
		printf "%-12s %10.1f %12.0f %12.2f %8.2f %8.2f %10.1f %10d\n", m, med(m "/mbps"),
			med(m "/evps"), med(m "/cpu"), med(m "/guest"), med(m "/host"), med(m "/size"),
			med(m "/disc")
	}
	for (k = 1; k <= nm; k++) {
		printf "%s discarded, run by run: %s\n", mode[k], discs[mode[k]]
	}
	for (k = 1; k <= nm; k++) {
		m = mode[k]
		if (m == "stock" || !n["stock/mbps"]) {
			continue
		}
		printf "ratio %s/stock: throughput %.3f, CPU per MB %.3f (guest side %.3f, host side %.3f)" \
			" (medians of %d runs)\n", m, med(m "/mbps") / med("stock/mbps"),
			med(m "/cpu") / med("stock/cpu"), med(m "/guest") / med("stock/guest"),
			med(m "/host") / med("stock/host"), n[m "/mbps"]
	}
}
EOF
