#!/bin/bash
# lttng-hyper in one command: build it, start the host relay, run a demo
# guest that traces a workload through lttng-hyperd, and show the trace
# the host received. The guest is a "guest role" (see
# tests/regression/lib.sh): its own namespaces, lttng-sessiond and
# lttng-hyperd, with a unix socket standing in for the virtio-serial port.
# Must run as root (namespaces, a root lttng-sessiond in the guest role).
set -u

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
VM=demo
NUM_EVENTS=${NUM_EVENTS:-100000}

step()
{
	echo "==> $*"
}

die()
{
	echo "quickstart: error: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run me as root: the demo guest needs namespaces and a root lttng-sessiond"

step "Installing missing dependencies"
"$SRCDIR/extras/install-deps.sh" || die "installing the dependencies failed"

# Traces and logs stay here for the user; the daemons stop on exit.
QS_DIR=$(mktemp -d /tmp/lttng-hyper-quickstart.XXXXXX) || die "mktemp failed"

step "Building lttng-hyper in $SRCDIR (log: $QS_DIR/build.log)"
cd "$SRCDIR" || die "cannot enter $SRCDIR"
(
	if [ ! -x configure ]; then
		./bootstrap || exit 1
	fi
	if [ ! -f Makefile ]; then
		./configure || exit 1
	fi
	make -j2 all tests/utils/gen-events
) >"$QS_DIR/build.log" 2>&1 || {
	tail -n 30 "$QS_DIR/build.log" >&2
	die "the build failed; see $QS_DIR/build.log"
}

top_builddir=$SRCDIR
. "$SRCDIR/tests/regression/lib.sh"

LH_TMP=$QS_DIR
LH_OUT=$LH_TMP/traces
mkdir -p "$LH_TMP/pids" "$LH_TMP/host-home" || die "mkdir in $LH_TMP failed"
export LTTNG_HOME=$LH_TMP/host-home

cleanup()
{
	trap - EXIT INT TERM
	lh_stop_all
	rm -rf "$LH_TMP/pids" "$LH_TMP/$VM.sock"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

lh_pick_ports 3
step "Starting lttng-hyper-relayd: VM '$VM' on unix:$LH_TMP/$VM.sock, traces in $LH_OUT"
lh_relay_start host --vm "$VM=unix-listen:$LH_TMP/$VM.sock" ||
	die "lttng-hyper-relayd did not start; see $LH_TMP/relay-host.log"

demo_guest()
{
	lh_trace demo "$1" --rate 200000
}
export -f demo_guest

step "Running the demo guest: lttng-sessiond and lttng-hyperd, tracing $NUM_EVENTS events to net://127.0.0.1"
lh_guest -u demo-guest -c "$LH_TMP/$VM.sock" "$LH_TMP/guest" demo_guest "$NUM_EVENTS" ||
	die "the demo guest failed; see $LH_TMP/guest/guest.log and $LH_TMP/guest/hyperd.log"
sed 's/^/    guest: /' "$LH_TMP/guest/guest.log"

step "The host received:"
trace=$(find "$LH_OUT/$VM" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -n "$trace" ] || die "no trace under $LH_OUT/$VM; see $LH_TMP/relay-host.log"
echo "    trace directory: $trace"
lh_trace_stats "$trace" || die "babeltrace2 could not read $trace"
echo "    babeltrace2 counts $LH_COUNT hyper_test:seq events (the guest emitted $NUM_EVENTS)"
echo "    first events:"
babeltrace2 "$trace" 2>/dev/null | head -n 5 | sed 's/^/      /'
lh_trace_complete "$NUM_EVENTS" || die "the trace is incomplete: $(lh_trace_describe)"
step "Done. Logs are in $LH_TMP."
