#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lttng-hyper in one command, as root on Debian bookworm: install what is
# missing, build (in the source tree), build a guest image whose kernel can
# be traced, start the host relay and the host's own tracing, boot the guest
# under QEMU with no network device, and show host and guest on one
# timeline. The guest traces its kernel and a workload with lttng-tools
# patched for enable-channel --output=hyper (built here, into a private
# prefix): lttng-consumerd writes the channels' packets straight into
# virtio-serial data ports, and the control connection goes through
# lttng-hyperd and the hyper channel. Nothing crosses a network.
#
# Every process started here is stopped on exit; the traces and the logs
# stay in the folder named at the end.
set -u

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
VM=demo
# The guest's workload is paced so that it lasts a few seconds: long enough
# to interleave with the host's, short enough under TCG.
GUEST_EVENTS=${GUEST_EVENTS:-20000}
GUEST_RATE=${GUEST_RATE:-5000}
HOST_RATE=2000
# Bounds in seconds: the whole guest run (boot, tracing, power-off) and
# the wait for its host-side session to be closed.
GUEST_TIMEOUT=300
SESSION_TIMEOUT=30
# Longest silence while a step runs before a heartbeat line.
HEARTBEAT=5
STEPS=7

START=$SECONDS
step_no=0

step()
{
	step_no=$((step_no + 1))
	echo "==> [$step_no/$STEPS] $*"
}

info()
{
	echo "    $*"
}

die()
{
	echo "quickstart: error: $*" >&2
	exit 1
}

# need_room DIR MB: fail early, and clearly, on a full disk.
need_room()
{
	local avail

	avail=$(df -Pm "$1" | awk 'NR == 2 { print $4 }')
	[ -n "$avail" ] && [ "$avail" -ge "$2" ] ||
		die "not enough room in $1: ${avail:-?} MB free, $2 MB needed"
}

# --- background jobs with progress ------------------------------------------

# Each job runs in a session of its own, so that the clean-up can stop it
# with all its children by its ID.
JOBS=()

# start_job LOG COMMAND...: run COMMAND in the background, its output in
# LOG; JOB is its PID (and process group ID).
start_job()
{
	local log=$1

	shift
	setsid "$@" >"$log" 2>&1 </dev/null &
	JOB=$!
	JOBS+=("$JOB")
}

# A PID kept after its process ended could be another's by then.
forget_job()
{
	local i

	for i in "${!JOBS[@]}"; do
		if [ "${JOBS[i]}" = "$1" ]; then
			unset 'JOBS[i]'
		fi
	done
}

# watch_job PATTERN LOG...: until JOB ends, show the new lines of the LOGs
# that match PATTERN (extended), and after HEARTBEAT s without one, how long
# the job has run. Returns the job's status.
watch_job()
{
	local pattern=$1 start=$SECONDS quiet=$SECONDS running=1 log lines status
	local -A shown=()

	shift
	while [ $running -eq 1 ]; do
		kill -0 "$JOB" 2>/dev/null || running=0
		for log in "$@"; do
			[ -f "$log" ] || continue
			lines=$(wc -l <"$log")
			if [ "$lines" -gt "${shown[$log]:-0}" ]; then
				if sed -n "$((${shown[$log]:-0} + 1)),${lines}p" "$log" | tr -d '\r' |
						grep -E "$pattern" | cut -c 1-150 | sed 's/^/    /' | grep .; then
					quiet=$SECONDS
				fi
				shown[$log]=$lines
			fi
		done
		if [ $running -eq 1 ]; then
			if [ $((SECONDS - quiet)) -ge "$HEARTBEAT" ]; then
				info "... $((SECONDS - start)) s"
				quiet=$SECONDS
			fi
			sleep 1
		fi
	done
	wait "$JOB"
	status=$?
	forget_job "$JOB"
	return "$status"
}

cleanup()
{
	local status=$? job

	trap - EXIT INT TERM
	for job in "${JOBS[@]}"; do
		kill -TERM -- "-$job" 2>/dev/null
	done
	if [ -n "${LH_TMP:-}" ] && [ -d "$LH_TMP/pids" ]; then
		# The host's tracing ends its session by itself once the flag is
		# there, faster than a signal, which its namespace's init ignores.
		if [ -n "${guest_done:-}" ]; then
			touch "$guest_done"
		fi
		lh_stop_all
		rm -rf "$LH_TMP/pids" "$LH_TMP/$VM.sock" "$LH_TMP/timeline.txt" \
			"${guest_done:-}" "$LH_TMP"/host/*.time
		rmdir "$LH_TMP/host-home" "$LH_TMP/host/home" 2>/dev/null
	fi
	if [ "$status" -ne 0 ] && [ -n "${QS_DIR:-}" ]; then
		echo "quickstart: everything it started is stopped; the logs are in $QS_DIR" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ "$(id -u)" -eq 0 ] ||
	die "run me as root: the guest's image, the host's lttng-sessiond and QEMU need it"

# Traces and logs stay here for the user.
QS_DIR=$(mktemp -d /tmp/lttng-hyper-quickstart.XXXXXX) || die "mktemp in /tmp failed"
need_room "$QS_DIR" 300

step "Installing missing dependencies (log: $QS_DIR/deps.log)"
start_job "$QS_DIR/deps.log" "$SRCDIR/extras/install-deps.sh"
watch_job '^install-deps:' "$QS_DIR/deps.log" || {
	tail -n 20 "$QS_DIR/deps.log" >&2
	die "installing the dependencies failed; see $QS_DIR/deps.log"
}
command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 not found: apt-get install qemu-system-x86"

step "Building lttng-hyper in $SRCDIR (log: $QS_DIR/build.log)"
need_room "$SRCDIR" 200
build()
{
	cd "$SRCDIR" || return 1
	if [ ! -x configure ]; then
		echo "quickstart: bootstrap"
		./bootstrap || return 1
	fi
	if [ ! -f Makefile ]; then
		echo "quickstart: configure"
		./configure -q || return 1
	fi
	echo "quickstart: make"
	make -j"$(nproc)" all tests/utils/gen-events
}
export -f build
export SRCDIR
start_job "$QS_DIR/build.log" bash -c build
watch_job '^quickstart: |^  CCLD |error:' "$QS_DIR/build.log" || {
	grep -E 'error:' "$QS_DIR/build.log" | head -n 10 >&2
	tail -n 20 "$QS_DIR/build.log" >&2
	die "the build failed; see $QS_DIR/build.log"
}

top_builddir=$SRCDIR
. "$SRCDIR/tests/regression/lib.sh"
LH_CLI=$top_builddir/src/bin/lttng-hyper/lttng-hyper

step "Building lttng-tools with lttng-hyper's patches (log: $QS_DIR/build-lttng-tools.log)"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lttng-hyper
if [ ! -d "$LH_LTTNG_TOOLS/bin" ]; then
	info "the first run fetches Debian's lttng-tools source and builds it" \
		"(under a minute on 2 cores); later runs take a second"
fi
start_job "$QS_DIR/build-lttng-tools.log" "$SRCDIR/extras/lttng-tools/build-lttng-tools.sh" \
	--prefix "$LH_LTTNG_TOOLS"
watch_job '^build-lttng-tools\.sh: ' "$QS_DIR/build-lttng-tools.log" || {
	tail -n 15 "$QS_DIR/build-lttng-tools.log" >&2
	die "building the patched lttng-tools failed; see $QS_DIR/build-lttng-tools.log"
}

step "Building the guest image, with lttng-modules for its kernel (log: $QS_DIR/build-guest.log)"
if [ -z "$(ls -A "$cache/modules" 2>/dev/null)" ]; then
	info "the first run downloads the kernel (about 90 MB) and builds lttng-modules" \
		"(about a minute); later runs take seconds (cache: $cache)"
fi
start_job "$QS_DIR/build-guest.log" "$SRCDIR/extras/vm/build-guest.sh" --kernel-tracing \
	--lttng-tools "$LH_LTTNG_TOOLS" \
	-o "$QS_DIR/guest" --hyperd "$LH_HYPERD" --gen-events "$LH_GEN_EVENTS"
watch_job '^build-(guest|modules)\.sh: ' "$QS_DIR/build-guest.log" || {
	tail -n 15 "$QS_DIR/build-guest.log" >&2
	if grep -q -E 'apt-get (download|update)|package list' "$QS_DIR/build-guest.log"; then
		die "cannot fetch the guest's kernel or lttng-modules from Debian's archive;" \
			"check apt's sources and run apt-get update (see $QS_DIR/build-guest.log)"
	fi
	die "building the guest image failed; see $QS_DIR/build-guest.log"
}

step "Starting the host: lttng-hyper-relayd, and the host's own tracing"
LH_TMP=$QS_DIR
LH_OUT=$QS_DIR/traces
mkdir -p "$LH_TMP/pids" "$LH_TMP/host-home" || die "mkdir in $LH_TMP failed"
# The host's daemons write nothing outside their -o folder, and touch no
# lttng-sessiond the user runs.
export LTTNG_HOME=$LH_TMP/host-home
lh_pick_ports 3
ctrl=$LH_PORT
data=$((LH_PORT + 1))
# QEMU listens on the sockets of the channel and of the data ports; the
# relay connects, and reconnects.
lh_relay_start host --vm "$VM=unix:$LH_TMP/$VM.sock" \
	--vm-data "$VM=unix:$LH_TMP/$VM-data-ust64.sock" \
	--vm-data "$VM=unix:$LH_TMP/$VM-data-kernel.sock" ||
	die "lttng-hyper-relayd did not start; see $LH_TMP/relay-host.log"
lh_wait_for 10 lh_port_listening "$ctrl" ||
	die "the relay's lttng-relayd does not listen on port $ctrl; see $LH_TMP/relay-host.log"
info "lttng-hyper-relayd (pid $(lh_relay_pid host)): VM '$VM' on unix:$LH_TMP/$VM.sock," \
	"its data ports on $VM-data-{ust64,kernel}.sock," \
	"lttng-relayd on ports $ctrl-$((ctrl + 2)), traces in $LH_OUT"

# host_workload FLAG RATE MAX_S: trace gen-events at RATE events per second,
# one second at a time, until FLAG exists (the guest is done) or for MAX_S.
host_workload()
{
	local flag=$1 rate=$2 deadline=$((SECONDS + $3))

	lh_session_create host && lh_timed host.start lttng start host || return 1
	until [ -e "$flag" ] || [ "$SECONDS" -ge "$deadline" ]; do
		lh_gen "$rate" --rate "$rate" || return 1
	done
	lh_timed host.stop lttng stop host && lh_timed host.destroy lttng destroy host
}
export -f host_workload

# The host's tracing is a role of its own (lib.sh): its own lttng-sessiond
# with its own run folder and LTTNG_HOME, on the host's network, streaming
# straight to the relay's lttng-relayd as any host would.
host_name=$(hostname)
guest_done=$LH_TMP/guest.done
lh_guest -u "$host_name" -s "net://127.0.0.1:$ctrl:$data" "$LH_TMP/host" \
	host_workload "$guest_done" "$HOST_RATE" "$GUEST_TIMEOUT" &
host_role=$!
lh_wait_flag 60 "$LH_TMP/host/host.start.time" "$host_role" &&
	[ "$(lh_step_status "$LH_TMP/host" host.start)" = 0 ] || {
	tail -n 20 "$LH_TMP/host/guest.log" >&2
	die "the host's tracing did not start; see $LH_TMP/host/guest.log"
}
info "host '$host_name': lttng-sessiond traces gen-events ($HOST_RATE events/s)" \
	"to net://127.0.0.1:$ctrl:$data"

step "Booting the guest '$VM' under QEMU (console: $LH_TMP/$VM-console.log)"
info "it traces its kernel (sched_switch, sched_wakeup, system calls) and" \
	"$GUEST_EVENTS events of gen-events ($GUEST_RATE/s) in channels enabled with" \
	"--output=hyper: lttng-consumerd writes them into the data ports"
console=$LH_TMP/$VM-console.log
start_job "$LH_TMP/$VM-launch.log" timeout -k 5 "$GUEST_TIMEOUT" \
	"$SRCDIR/extras/vm/launch-guest.sh" \
	--kernel "$LH_TMP/guest/vmlinuz" --initrd "$LH_TMP/guest/initrd.img" \
	--socket "$LH_TMP/$VM.sock" --data-ports "$LH_TMP/$VM-data" --name "$VM" \
	--append "lh.kernel=1 lh.output=hyper lh.events=$GUEST_EVENTS lh.rate=$GUEST_RATE" \
	--serial-log "$console"
guest_start=$SECONDS
watch_job '^launch-guest\.sh: (probing|accelerator|KVM|error)|^lh-guest: ' \
	"$LH_TMP/$VM-launch.log" "$console"
status=$?
touch "$guest_done"
if [ "$(lh_vm_console "$VM" | tail -n 1)" != 'lh-guest: done' ]; then
	if [ "$status" -eq 124 ]; then
		echo "quickstart: the guest did not power off within $GUEST_TIMEOUT s" >&2
	fi
	echo "quickstart: the last lines of the guest's console:" >&2
	# Without the firmware's terminal escapes.
	tail -n 30 "$console" 2>/dev/null | tr -d '\r' |
		sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g; s/^/    /' >&2
	grep -v ': running: ' "$LH_TMP/$VM-launch.log" | tail -n 5 >&2
	die "the guest failed; see $console and $LH_TMP/relay-host.log"
fi
info "the guest powered off after $((SECONDS - guest_start)) s"

wait "$host_role" || {
	tail -n 20 "$LH_TMP/host/guest.log" >&2
	die "the host's tracing failed; see $LH_TMP/host/guest.log"
}
# The relay writes the guest session's sync file once that session is closed.
sync_written()
{
	[ -n "$(find "$LH_OUT/$VM" -name lttng-hyper-sync -type f 2>/dev/null)" ]
}
lh_wait_for "$SESSION_TIMEOUT" sync_written ||
	info "warning: no clock correction recorded for $VM yet (see $LH_TMP/relay-host.log)"
# What the relay saw of the VM (lttng-hyper top shows the same, live).
info "lttng-hyper status (the guest is off: its channel waits for it again):"
timeout "$LH_CMD_TIMEOUT" "$LH_CLI" status 2>&1 | cut -c 1-150 | sed 's/^/      /'

step "The host received one timeline: the host's trace and the guest's"
info "traces in $LH_OUT (VM/SESSION/DOMAIN; the host's under its hostname):"
(cd "$LH_OUT" && find . -mindepth 3 -maxdepth 3 -type d -printf '%P\0' | sort -z |
	xargs -0 -r du -sh | awk '{ printf "      %-44s %s\n", $2, $1 }')
# What the guest's lttng-consumerd wrote into each data port.
for kind in ust64 kernel; do
	grep -E "data port [^ ]*$VM-data-$kind\.sock: data connection of session .* closed" \
		"$LH_TMP/relay-host.log" | sed -n 's/.*: \([0-9]*\) frames, \([0-9]*\) bytes$/\1 \2/p' |
		awk -v k="$kind" '{ f += $1; b += $2 } END {
			printf "    data port org.lttng.hyper.data.%s: %d packets, %.1f MB\n", k, f, b / 1e6 }'
done
info "lttng-hyper show $LH_OUT:"
timeout "$LH_CMD_TIMEOUT" "$LH_CLI" show "$LH_OUT" 2>&1 | sed 's/^/      /'
sync_file=$(find "$LH_OUT/$VM" -name lttng-hyper-sync -type f | head -n 1)
if [ -n "$sync_file" ]; then
	info "the guest's clock correction (${sync_file#"$LH_OUT"/}):"
	grep -E '^(status|method|probes|probes_used|min_rtt_ns|error_ns) =' "$sync_file" |
		paste -s -d ' ' | sed 's/ = /=/g; s/^/      /'
fi

timeline=$LH_TMP/timeline.txt
timeout "$LH_CMD_TIMEOUT" babeltrace2 "$LH_OUT" >"$timeline" 2>"$LH_TMP/babeltrace2.log" ||
	die "babeltrace2 could not read $LH_OUT; see $LH_TMP/babeltrace2.log"
info "babeltrace2 $LH_OUT: $(wc -l <"$timeline") events," \
	"$(grep -c -i -E 'discarded|lost' "$LH_TMP/babeltrace2.log") warnings of discarded events"

# An excerpt where the three interleave: past the middle of the guest's
# user-space events, the window of lines around a host event that holds
# host, guest user-space and guest kernel events in the most even mix.
window=$(awk -v guest="$VM" -v half=7 -v span=5000 '
	{
		if ($3 != guest) {
			kind[NR] = "h"
		} else if ($4 ~ /^hyper_test:/) {
			kind[NR] = "u"
			ust[++n] = NR
		} else {
			kind[NR] = "k"
		}
	}
	END {
		if (!n) {
			exit
		}
		best = ust[int((n + 1) / 2)]
		most = 0
		for (c = best; c <= best + span && c <= NR; c++) {
			if (kind[c] != "h") {
				continue
			}
			h = u = k = 0
			for (i = c - half; i <= c + half; i++) {
				h += kind[i] == "h"
				u += kind[i] == "u"
				k += kind[i] == "k"
			}
			# The most even mix: the fewest of the three, highest.
			m = h < u ? h : u
			m = m < k ? m : k
			if (m > most) {
				best = c
				most = m
			}
		}
		print (best > half ? best - half : 1), best + half
	}' "$timeline")
if [ -n "$window" ]; then
	info "an excerpt of babeltrace2 $LH_OUT, in the middle of the guest's run" \
		"('$host_name' is the host, '$VM' the guest):"
	sed -n "${window% *},${window#* }p" "$timeline" | cut -c 1-160 | sed 's/^/      /'
fi
rm -f "$timeline"

# The same timeline drawn, one file for any browser; not worth failing for.
graph=$LH_TMP/timeline.html
if timeout "$LH_CMD_TIMEOUT" "$LH_CLI" graph "$LH_OUT" -o "$graph" >"$LH_TMP/graph.log" 2>&1; then
	info "lttng-hyper graph $LH_OUT -o $graph: $(head -n 1 "$LH_TMP/graph.log" |
		sed 's/^Graph of //; s/, written to .*//')"
else
	info "warning: lttng-hyper graph failed; see $LH_TMP/graph.log"
	graph=
fi

echo "==> Done in $((SECONDS - START)) s. Explore the whole timeline with:"
echo "      babeltrace2 $LH_OUT | less"
if [ -n "$graph" ]; then
	echo "    or open $graph in a browser (one band per layer, one lane per CPU)."
fi
echo "    Logs are in $LH_TMP: relay-host.log, $VM-console.log (the guest's console),"
echo "    host/guest.log (the host's tracing), build.log, build-guest.log."
