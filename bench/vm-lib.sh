# SPDX-License-Identifier: GPL-2.0-only
# Common code of the benchmarks that boot a first-level guest (L1) for
# the host's lttng-hyper-relayd, one boot at a time, and read its console
# (bench/vm-nested.sh, bench/hypercall.sh). Sourced after the caller set
# BENCH_NAME (its messages' prefix), srcdir, builddir, and for boot_l1
# MEM, L1_ACCEL and TIMEOUT; it checks the commands and the relay, makes
# $tmp, and cleans up on exit.

relay=$builddir/src/bin/lttng-hyper-relayd/lttng-hyper-relayd
. "$srcdir/tests/regression/lib-ports.sh"

log()
{
	echo "$BENCH_NAME: $*" >&2
}

die()
{
	echo "$BENCH_NAME: error: $*" >&2
	exit 1
}

for cmd in qemu-system-x86_64 lttng-relayd ss awk; do
	command -v "$cmd" > /dev/null || die "$cmd not found"
done
[ -x "$relay" ] || die "no $relay: run make in the build directory"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lh-${BENCH_NAME##*/}.XXXXXX") ||
	die "cannot create a temporary folder"
# The daemons started here keep their files (control sockets, lttng-relayd's
# own) in it, not in the user's LTTNG_HOME.
export LTTNG_HOME=$tmp/home
mkdir -p "$LTTNG_HOME" || die "cannot create $LTTNG_HOME"
# The launcher of the guest that runs, if one does.
launcher=
# stop_relay kills these; the cleanup too if a boot fails on the way.
relay_pid=
relayd_pids=
stop_relay()
{
	local pid

	if [ -n "$relay_pid" ]; then
		kill "$relay_pid" 2> /dev/null
		for _ in $(seq 50); do
			kill -0 "$relay_pid" 2> /dev/null || break
			sleep 0.1
		done
	fi
	# Its lttng-relayd, if it outlived it.
	for pid in $relayd_pids; do
		kill "$pid" 2> /dev/null
	done
	relay_pid=
	relayd_pids=
}

cleanup()
{
	if [ -n "$launcher" ]; then
		kill "$launcher" 2> /dev/null
	fi
	stop_relay
	wait 2> /dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_relay: lttng-hyper-relayd for this boot's l1, writing to $tmp/out.
start_relay()
{
	local port

	port=$(lh_free_ports 3) || die "no three free TCP ports in a row"
	rm -rf "$tmp/out" "$tmp/relay.pid"
	"$relay" -d --pidfile "$tmp/relay.pid" --log "$tmp/relay.log" -o "$tmp/out" \
		--vm "l1=unix:$tmp/l1.sock" -C "tcp://127.0.0.1:$port" \
		-D "tcp://127.0.0.1:$((port + 1))" -L "tcp://127.0.0.1:$((port + 2))" ||
		die "lttng-hyper-relayd did not start: $(tail -n 5 "$tmp/relay.log")"
	relay_pid=$(cat "$tmp/relay.pid")
	# It starts its lttng-relayd at once: note it, to stop it with it.
	for _ in $(seq 50); do
		relayd_pids=$(cat /proc/"$relay_pid"/task/*/children 2> /dev/null)
		[ -n "$relayd_pids" ] && break
		sleep 0.1
	done
}

# The L1 console's lines for the host, without carriage returns.
console()
{
	tr -d '\r' < "$tmp/serial.log" | sed -n 's/^.*\(lh-guest: \)/\1/p'
}

# boot_l1 KIND RUN APPEND PROGRESS: boot L1 (the image in $tmp/guest, with
# $MEM, $L1_ACCEL, at most $TIMEOUT s) with the kernel command line APPEND,
# showing the console lines that match PROGRESS (an extended regex) as
# they come; then stop the relay, die unless L1 said "done", and note in
# $tmp/accels the accelerator of L1, and of L2 for KIND l2.
boot_l1()
{
	local kind=$1 run=$2 append=$3 progress=$4 status=0 accel

	: > "$tmp/serial.log"
	log "boot $run, $kind: $append"
	timeout --kill-after=10 "$TIMEOUT" "$srcdir/extras/vm/launch-guest.sh" \
		--kernel "$tmp/guest/vmlinuz" --initrd "$tmp/guest/initrd.img" \
		--socket "$tmp/l1.sock" --name l1 --mem "$MEM" --smp 2 --accel "$L1_ACCEL" \
		--serial-log "$tmp/serial.log" --append "$append" \
		> "$tmp/launch.log" 2>&1 < /dev/null &
	launcher=$!
	# Its progress, without the firmware's escapes and the carriage returns.
	tail -F -n +1 --pid="$launcher" "$tmp/serial.log" 2> /dev/null | sed -u -n -E \
		"s/\r//g; s/^.*(lh-guest: .*($progress|accelerator|FAILED))/\1/p" >&2
	wait "$launcher" || status=$?
	launcher=
	stop_relay
	[ "$(console | tail -n 1)" = 'lh-guest: done' ] || {
		tail -n 5 "$tmp/launch.log" >&2
		console | tail -n 30 >&2
		die "boot $run ($kind) failed (launcher status $status)"
	}
	accel=$(sed -n 's/^launch-guest.sh: accelerator: \([a-z]*\).*/\1/p' "$tmp/launch.log")
	echo "l1 ${accel:-$L1_ACCEL}" >> "$tmp/accels"
	if [ "$kind" = l2 ]; then
		accel=$(console | sed -n 's/.*nested guest l2 is done (accelerator: \([a-z]*\)).*/\1/p')
		echo "l2 $accel" >> "$tmp/accels"
	fi
}
