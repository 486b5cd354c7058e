# SPDX-License-Identifier: GPL-2.0-only
# Common code of the benchmarks that trace from guest roles
# (bench/loopback.sh, bench/nested.sh): sourced by them, it sources
# tests/regression/lib.sh (the roles, the relays). The functions that the
# roles run are exported.

# This folder: the reports load stats.awk from it.
BENCH_DIR=$(readlink -f "$(dirname "${BASH_SOURCE[0]}")")
. "$BENCH_DIR/../tests/regression/lib.sh"

# bench_ticks PID...: the CPU ticks (user + system) the processes used,
# summed; a process already gone counts for nothing.
bench_ticks()
{
	local pid sum=0 stat

	for pid in "$@"; do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		# After the parenthesised command name, utime is the 12th field, stime the 13th.
		stat=${stat##*) }
		set -- $stat
		sum=$((sum + ${12} + ${13}))
	done
	echo "$sum"
}

# bench_session: session "b" streaming to the role's URL, with one UST
# channel "c" for hyper_test:*, in discard mode with large buffers (8 x 4
# MiB per CPU): a path that cannot keep up with the application shows as
# discarded events, not as a blocked application.
bench_session()
{
	lttng create b --set-url="$LH_GUEST_URL" >/dev/null &&
	lttng enable-channel -u -s b ${BENCH_OUTPUT:+--output="$BENCH_OUTPUT"} \
		--subbuf-size=4M --num-subbuf=8 c >/dev/null &&
	lttng enable-event -u -s b -c c 'hyper_test:*' >/dev/null
}

# bench_trace COUNT PAYLOAD: emit COUNT events of PAYLOAD bytes into
# session b as fast as gen-events can (or at BENCH_RATE events a second),
# and print the ms from "lttng start" until "lttng stop" returned (it
# waits until the relay daemon has it all).
bench_trace()
{
	local t0

	t0=$(lh_now_ms)
	lttng start b >/dev/null &&
	lh_gen "$1" --payload "$2" ${BENCH_RATE:+--rate "$BENCH_RATE"} &&
	lttng stop b >/dev/null || return 1
	echo $(($(lh_now_ms) - t0))
}

# bench_discarded: the events session b discarded, over all its channels.
bench_discarded()
{
	lttng list b | sed -n 's/.*Discarded events: \([0-9]*\).*/\1/p' |
		awk '{ n += $1 } END { print n + 0 }'
}
export -f bench_ticks bench_session bench_trace bench_discarded
