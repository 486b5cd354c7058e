#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Clock-sync accuracy on loopback, against a known truth.
#
# Each run is tests/regression/test_clock_sync.sh: a guest role whose
# CLOCK_MONOTONIC is the host's plus a known shift (a time namespace) and
# whose lttng-sessiond sees a wall clock two days off traces for about
# five seconds through lttng-hyperd and lttng-hyper-relayd. The relay
# estimates the guest's clock and corrects the trace's metadata; the
# truth is exact, so the error of the correction at the trace's first and
# last events is measured, not estimated. The report gives, as medians
# over the runs: that measured error (absolute), the error bound the relay
# wrote in its sync file, and the fastest probe round trip.
#
# Usage: bench/clocksync.sh [-r RUNS]
# Run from the build directory (or set top_builddir), as root.

set -u
RUNS=5

while getopts "r:h" opt; do
	case $opt in
	r) RUNS=$OPTARG ;;
	*) echo "Usage: $0 [-r RUNS]"; exit 2 ;;
	esac
done

srcdir=$(readlink -f "$(dirname "$0")/..")
: "${top_builddir:=$PWD}"
export top_srcdir=$srcdir top_builddir
results=$(mktemp)
trap 'rm -f "$results"' EXIT

echo "bench/clocksync: $RUNS runs of tests/regression/test_clock_sync.sh" >&2
for ((i = 1; i <= RUNS; i++)); do
	out=$(bash "$srcdir/tests/regression/test_clock_sync.sh" 2>&1)
	first=$(sed -n 's/.*corrected clock at the first event: error \(-\{0,1\}[0-9]*\) ns.*/\1/p' <<<"$out")
	last=$(sed -n 's/.*corrected clock at the last event: error \(-\{0,1\}[0-9]*\) ns.*/\1/p' <<<"$out")
	bound=$(sed -n 's/^# error_ns = \([0-9]*\)$/\1/p' <<<"$out")
	rtt=$(sed -n 's/^# min_rtt_ns = \([0-9]*\)$/\1/p' <<<"$out")
	if [ -z "$first" ] || [ -z "$last" ] || [ -z "$bound" ] || [ -z "$rtt" ]; then
		echo "run $i: test_clock_sync.sh gave no figures:" >&2
		echo "$out" | tail -n 20 >&2
		exit 1
	fi
	printf 'run %d: error %s ns (first event), %s ns (last), bound %s ns, min RTT %s ns\n' \
		"$i" "$first" "$last" "$bound" "$rtt" >&2
	echo "${first#-} ${last#-} $bound $rtt" >>"$results"
done

awk -f "$srcdir/bench/stats.awk" -f /dev/stdin "$results" <<'EOF'
{
	add("err", $1 > $2 ? $1 : $2)
	add("bound", $3)
	add("rtt", $4)
}
END {
	printf "clock sync on loopback, medians of %d runs:\n", n["err"]
	printf "  measured |error| (worst of first and last event): %.2f us\n", med("err") / 1000
	printf "  error bound reported by the relay:                %.2f us\n", med("bound") / 1000
	printf "  fastest probe round trip:                         %.2f us\n", med("rtt") / 1000
}
EOF
