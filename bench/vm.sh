#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The VM benchmark: hyper and output-hyper against a raw virtio-serial
# port and against stock net:// over QEMU's user-mode network, all in one
# boot of one guest.
#
# The guest (extras/vm/guest-init.sh, lh.mode=bench) runs, each RUNS times:
#   - raw: dd of RAW_MB MiB into a second port, org.lttng.hyper.raw, on
#     the same virtio-serial device as the hyper port; the host end only
#     reads (socat into /dev/null);
#   - rawfile: the same into a third port, org.lttng.hyper.rawfile, whose
#     host end writes what it reads to a file beside the traces (socat),
#     as lttng-relayd must: the baseline with the host's cost of storing
#     the bytes;
#   - rawshm and rawvs (-C ivshmem): the same RAW_MB MiB by bench/chan-dd
#     through a second ivshmem device, whose host end (chan-dd -r) only
#     reads, and into the raw port, one program on both kinds;
#   - push: bench/relayd-push pushes as many bytes in data packets of
#     256 KiB (or -k's sizes), each with its index, through lttng-hyperd,
#     the hyper port, lttng-hyper-relayd and its lttng-relayd, and stops its clock when
#     DATA_PENDING says lttng-relayd wrote them all;
#   - pushport (output-hyper): the same, but relayd-push -P writes the
#     data frames into the data port org.lttng.hyper.data.ust64, as
#     lttng-consumerd does for enable-channel --output=hyper, and the
#     host relay takes them with --vm-data; the control connection and
#     the indexes still go through lttng-hyperd;
#   - cost: gen-events emits EVENTS events at full speed into a blocking
#     channel, traced four ways: to the guest's tmpfs (local), through
#     lttng-hyperd (hyper), by stock net:// to this host's lttng-relayd
#     through a virtio-net device on QEMU's user-mode network (net), and
#     through lttng-hyperd with enable-channel --output=hyper, the packets
#     into the data port (output-hyper). The figure is the guest's busy
#     CPU time (/proc/stat: user, nice, system, irq and softirq of all
#     CPUs) from before "lttng start" to after "lttng stop";
#   - discard: the same ways at fixed event rates (-R, a comma-separated
#     list: one set of runs per rate), into a non-blocking channel with
#     fixed buffers; the figure is lttng's count of discarded events.
#     The goal: at a rate where net:// discards, output-hyper discards no
#     more than local tracing.
# The ways alternate, so that a noisy host hits them alike. The report
# gives medians, and:
#   - the capacity of hyper and of the data port's path as fractions of
#     raw dd's (goal: at least 0.8), and the data port's of rawfile's;
#   - each offload's cost, (busy - local busy) / trace MB, hyper's and
#     output-hyper's cost against net://'s (goal: at most 0.5), and
#     output-hyper's against dd's own busy time per MB into the raw port
#     (goals: hyper at most 0.5 of net://, output-hyper at most 0.25).
# output-hyper needs lttng-tools patched for it (LTTNG_TOOLS, by default
# /opt/lttng-hyper/lttng-tools, from extras/lttng-tools/build-lttng-tools.sh):
# the guest image then holds those tools. Without them the other ways run.
#
# Usage: bench/vm.sh [-r RUNS] [-n EVENTS] [-p PAYLOAD] [-s RAW_MB] [-R RATE[,RATE...]]
#                    [-N RATE_EVENTS] [-a auto|kvm|tcg] [-m MEM_MB] [-E]
#                    [-C virtio-serial|ivshmem] [-c] [-k PACKET[,PACKET...]] [-W]
# -k: relayd-push's packet sizes (e.g. 256K,1M,4M; default 256K), one set of
# push and pushport runs each: each packet costs its index's trip through
# lttng-hyperd besides its bytes, so a path's capacity depends on it.
# -c: QEMU (the guest's vCPUs and its I/O) on the first CPU, the host's
# readers (lttng-hyper-relayd, the lttng-relayds, socat) on the second,
# so that the host's side of each path no longer takes the guest's CPU.
# -E: the guest's lttng-hyperd answers indexes at once (--early-index-ack),
# to measure what that changes against the default.
# -W: keep this host's memory resident for the run. A host that is itself a
# VM may report its free memory to its hypervisor (virtio-balloon free page
# reporting); each reported page it uses again then costs a fault in the
# hypervisor, and that lands on whatever stores the bytes (lttng-relayd's
# writes into the page cache: 2.7 ms per MB on one such machine, against
# 0.2 where memory stays). -W raises the kernel's page_reporting_order past
# the largest order, so nothing is reported, restores it on exit, and
# touches then frees up to 8 GiB first, so that the run's pages are resident.
# -C: the hyper channel (virtio-serial by default). With ivshmem, hyper
# goes through shared memory, a second ivshmem device's raw capacity
# (bench/chan-dd, bytes through the channel's bridges with no protocol)
# is measured beside chan-dd's into the virtio-serial port (goal: at
# least 2x), the shared memory on /dev/shm, and of lttng-hyperd's idle
# cost the bridge's thread's is told apart: it sleeps until the host
# rings its bell port (goal: under 1% of a CPU).
# Run from the build directory (or set top_builddir), as root, after make
# and make tests/utils/gen-events bench/relayd-push.

set -u -o pipefail

RUNS=5
EVENTS=1000000
# Bytes of text per event: with 64, 1,000,000 events make about 86 MB.
PAYLOAD=64
RAW_MB=256
RATE=100000
RATE_EVENTS=500000
ACCEL=auto
EARLY_ACK=0
CHANNEL=virtio-serial
MEM=1024
PIN=0
PACKETS=256K
RESIDENT=0
# Whole guest run, boot to power-off.
TIMEOUT=5400

usage()
{
	echo "Usage: $0 [-r RUNS] [-n EVENTS] [-p PAYLOAD] [-s RAW_MB] [-R RATE[,RATE...]]" \
		"[-N RATE_EVENTS] [-a auto|kvm|tcg] [-m MEM_MB] [-E] [-C virtio-serial|ivshmem] [-c]" \
		"[-k PACKET[,PACKET...]] [-W]"
}

while getopts "r:n:p:s:R:N:a:m:EC:ck:Wh" opt; do
	case $opt in
	r) RUNS=$OPTARG ;;
	n) EVENTS=$OPTARG ;;
	p) PAYLOAD=$OPTARG ;;
	s) RAW_MB=$OPTARG ;;
	R) RATE=$OPTARG ;;
	N) RATE_EVENTS=$OPTARG ;;
	a) ACCEL=$OPTARG ;;
	m) MEM=$OPTARG ;;
	E) EARLY_ACK=1 ;;
	C) CHANNEL=$OPTARG ;;
	c) PIN=1 ;;
	k) PACKETS=$OPTARG ;;
	W) RESIDENT=1 ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${top_builddir:-.}
relay=$builddir/src/bin/lttng-hyper-relayd/lttng-hyper-relayd
push=$builddir/bench/relayd-push
chandd=$builddir/bench/chan-dd
. "$srcdir/tests/regression/lib-ports.sh"

log()
{
	echo "bench/vm: $*" >&2
}

die()
{
	echo "bench/vm: error: $*" >&2
	exit 1
}

[[ $RATE =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "-R takes event rates separated by commas: $RATE"
case $CHANNEL in
virtio-serial|ivshmem) ;;
*) die "-C takes virtio-serial or ivshmem, not $CHANNEL" ;;
esac

for cmd in qemu-system-x86_64 lttng-relayd socat ss awk; do
	command -v "$cmd" > /dev/null || die "$cmd not found"
done
guest_cpu=()
if [ "$PIN" -eq 1 ]; then
	command -v taskset > /dev/null || die "taskset not found (apt-get install util-linux)"
	[ "$(nproc)" -ge 2 ] || die "-c needs two CPUs, this machine lets us use $(nproc)"
	guest_cpu=(taskset -c 0)
fi
[ -x "$relay" ] || die "no $relay: run make in the build directory"
[ -x "$push" ] || die "no $push: run make bench/relayd-push"
[ -x "$chandd" ] || die "no $chandd: run make bench/chan-dd"
LTTNG_TOOLS=${LTTNG_TOOLS:-/opt/lttng-hyper/lttng-tools}
if [ -x "$LTTNG_TOOLS/bin/lttng-sessiond" ]; then
	ohyper=1
	tools_args=(--lttng-tools "$LTTNG_TOOLS")
else
	ohyper=0
	tools_args=()
	log "no patched lttng-tools in $LTTNG_TOOLS: output-hyper left out" \
		"(extras/lttng-tools/build-lttng-tools.sh builds it)"
fi

# The kernel's free page reporting (-W), and its order to restore.
reporting=/sys/module/page_reporting/parameters/page_reporting_order
reporting_was=
# One past the largest order of free blocks: nothing is reported.
no_reporting=$(awk '{ print NF - 4; exit }' /proc/buddyinfo)
if [ "$RESIDENT" -eq 1 ] && ! [ -w "$reporting" ]; then
	die "-W: cannot write $reporting (this kernel reports no free memory, or this is not root): run without -W"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lh-vmbench.XXXXXX") || die "cannot create a temporary folder"
# The daemons started here keep their files (control sockets, lttng-relayd's
# own) in it, not in the user's LTTNG_HOME.
export LTTNG_HOME=$tmp/home
mkdir -p "$LTTNG_HOME" || die "cannot create $LTTNG_HOME"
# The ivshmem files on tmpfs: a shared mapping of a file on disk is
# written back to the disk as the rings turn.
shm=$tmp
if [ "$CHANNEL" = ivshmem ] && [ -d /dev/shm ]; then
	shm=$(mktemp -d /dev/shm/lh-vmbench.XXXXXX) || die "cannot create a folder in /dev/shm"
fi
pids=()
cleanup()
{
	local pid

	for pid in "${pids[@]}"; do
		kill "$pid" 2> /dev/null
	done
	if [ -s "$tmp/relay.pid" ]; then
		kill "$(cat "$tmp/relay.pid")" 2> /dev/null
	fi
	wait 2> /dev/null
	rm -rf "$tmp" "$shm"
	if [ -n "$reporting_was" ]; then
		echo "$reporting_was" > "$reporting"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

memory_note=
if [ "$RESIDENT" -eq 1 ]; then
	reporting_was=$(cat "$reporting")
	echo "$no_reporting" > "$reporting" || die "-W: cannot write $reporting"
	# Pages touched and freed now stay resident, and the run's writes reuse them.
	warm_mb=$(awk '/^MemAvailable:/ { mb = int($2 / 2048); print (mb < 8192 ? mb : 8192) }' /proc/meminfo)
	warm_dir=/dev/shm
	[ -d "$warm_dir" ] || warm_dir=$tmp
	log "-W: free page reporting off (page_reporting_order $reporting_was, now $no_reporting), touching $warm_mb MiB"
	dd if=/dev/zero of="$warm_dir/lh-vmbench-warm.$$" bs=1M count="$warm_mb" status=none
	warm_ok=$?
	rm -f "$warm_dir/lh-vmbench-warm.$$"
	[ "$warm_ok" -eq 0 ] || die "-W: cannot write $warm_mb MiB into $warm_dir"
	memory_note="the host's memory kept resident (-W)"
elif [ -r "$reporting" ] && [ "$(cat "$reporting")" -lt "$no_reporting" ]; then
	memory_note="this host reports its free memory to its hypervisor (page_reporting_order $(cat "$reporting")): a page it stores the trace in may cost a fault there, see -W"
fi

wait_listening()
{
	for _ in $(seq 100); do
		ss -Htln "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

log "building the guest image"
"$srcdir/extras/vm/build-guest.sh" -o "$tmp/guest" \
	--hyperd "$builddir/src/bin/lttng-hyperd/lttng-hyperd" \
	--gen-events "$builddir/tests/utils/gen-events" --bench "$push" "${tools_args[@]}" \
	2> "$tmp/build.log" ||
	die "the guest image did not build:
$(tail -n 5 "$tmp/build.log")"

# Stock lttng-relayd's three ports, then those of the lttng-relayd that
# lttng-hyper-relayd starts.
port=$(lh_free_ports 6) || die "no six free TCP ports in a row"
mkdir -p "$tmp/net" "$tmp/hyper"
lttng-relayd -o "$tmp/net" -C "tcp://127.0.0.1:$port" -D "tcp://127.0.0.1:$((port + 1))" \
	-L "tcp://127.0.0.1:$((port + 2))" > "$tmp/stock-relayd.log" 2>&1 &
pids+=($!)
wait_listening "$port" || die "lttng-relayd did not start: $(cat "$tmp/stock-relayd.log")"
# output-hyper: the data port org.lttng.hyper.data.ust64, QEMU's socket
# $tmp/data-ust64.sock (launch-guest.sh --data-ports).
data_args=()
if [ "$ohyper" -eq 1 ]; then
	data_args=(--vm-data "bench=unix:$tmp/data-ust64.sock")
fi
channel=unix:$tmp/hyper.sock
if [ "$CHANNEL" = ivshmem ]; then
	# QEMU's memory backend and the relay map one file of one size.
	# 32 MiB: two rings of 16 MiB.
	truncate -s 32M "$shm/hyper.shm"
	channel=ivshmem-host:$shm/hyper.shm,bell=$shm/hyper.shm.bell
fi
"$relay" -d --pidfile "$tmp/relay.pid" --log "$tmp/relay.log" -o "$tmp/hyper" \
	--vm "bench=$channel" "${data_args[@]}" -C "tcp://127.0.0.1:$((port + 3))" \
	-D "tcp://127.0.0.1:$((port + 4))" -L "tcp://127.0.0.1:$((port + 5))" ||
	die "lttng-hyper-relayd did not start"

# port_reader SOCK OUT: read the port behind QEMU's socket SOCK into OUT,
# once QEMU made the socket; in the background, its pid added to pids.
port_reader()
{
	(
		for _ in $(seq 600); do
			[ -S "$1" ] && break
			sleep 0.1
		done
		exec socat -u -b 262144 "UNIX-CONNECT:$1" - > "$2"
	) 2> "${1%.sock}-socat.log" &
	pids+=($!)
}
port_reader "$tmp/raw.sock" /dev/null
# The rawfile port's: into one file in the relay's output folder's file
# system, new pages for every run as for each trace.
port_reader "$tmp/rawfile.sock" "$tmp/rawfile.out"
if [ "$PIN" -eq 1 ]; then
	# The host's readers, and the relay's lttng-relayd (its child).
	for pid in "${pids[@]}" "$(cat "$tmp/relay.pid")" \
		$(cat /proc/"$(cat "$tmp/relay.pid")"/task/*/children); do
		taskset -a -p -c 1 "$pid" > /dev/null || die "cannot pin $pid to CPU 1"
	done
fi

append="lh.mode=bench lh.runs=$RUNS lh.events=$EVENTS lh.payload=$PAYLOAD lh.raw-mb=$RAW_MB"
append="$append lh.rate=$RATE lh.rate-events=$RATE_EVENTS lh.early-index-ack=$EARLY_ACK"
append="$append lh.push-packets=$PACKETS"
# QEMU's user-mode network maps 10.0.2.2 to this host's 127.0.0.1.
append="$append lh.net=10.0.2.2:$port:$((port + 1))"
launch_args=()
if [ "$ohyper" -eq 1 ]; then
	append="$append lh.output-hyper=1"
	launch_args=(--data-ports "$tmp/data")
fi
if [ "$CHANNEL" = ivshmem ]; then
	append="$append lh.channel=ivshmem"
	# The raw run's device comes second (guest-init.sh's bench_raw).
	truncate -s 32M "$shm/raw.shm"
	launch_args+=(--ivshmem "$shm/hyper.shm" --ivshmem "$shm/raw.shm")
	"$chandd" -r -c "ivshmem-host:$shm/raw.shm,bell=$shm/raw.shm.bell" 2> "$tmp/chan-dd.log" &
	pids+=($!)
fi
: > "$tmp/serial.log"
log "booting the guest; its progress:"
tail -F -n +1 "$tmp/serial.log" 2> /dev/null | grep --line-buffered 'lh-guest:' >&2 &
pids+=($!)
start=$SECONDS
"${guest_cpu[@]}" timeout --kill-after=10 "$TIMEOUT" "$srcdir/extras/vm/launch-guest.sh" \
	--kernel "$tmp/guest/vmlinuz" --initrd "$tmp/guest/initrd.img" \
	--socket "$tmp/hyper.sock" --name bench --mem "$MEM" --smp 2 --accel "$ACCEL" \
	--user-net --extra-port "org.lttng.hyper.raw=$tmp/raw.sock" \
	--extra-port "org.lttng.hyper.rawfile=$tmp/rawfile.sock" "${launch_args[@]}" \
	--serial-log "$tmp/serial.log" --append "$append" 2> "$tmp/launch.log" < /dev/null
status=$?
sleep 0.5
grep -q 'lh-guest: done' "$tmp/serial.log" || {
	cat "$tmp/launch.log" >&2
	tail -n 30 "$tmp/serial.log" >&2
	die "the guest run failed (status $status)"
}
accel=$ACCEL
if [ "$accel" = auto ]; then
	accel=$(sed -n 's/.*accelerator: \([a-z]*\).*/\1/p' "$tmp/launch.log" | tail -n 1)
fi
log "guest run took $((SECONDS - start)) s, under ${accel^^}"

# One line per run: "raw RUN MB/s BUSY_TICKS BYTES", "push@PACKET_BYTES RUN
# MB/s BUSY_TICKS BYTES" (and pushport@), "KIND WAY RUN BUSY_TICKS DISCARDED
# TRACE_BYTES RATE" (RATE 0 for the cost runs).
tr -d '\r' < "$tmp/serial.log" | sed -n 's/^lh-guest: \[[0-9.]*\] bench //p' |
while read -r what rest; do
	# shellcheck disable=SC2086 # the line's words
	set -- $rest
	busy=$(echo "$rest" | sed -n 's/.* busy=\([0-9]*\).*/\1/p')
	case "$what" in
	raw|rawfile|rawshm|rawvs)
		echo "$what $1 $(awk -v b="$2" -v cs="$3" 'BEGIN { print b / 1e6 / (cs / 100) }') $busy $2"
		;;
	idle)
		# run seconds nanoseconds: lttng-hyperd's time on a CPU while
		# idle, and its ivshmem bridge's
		echo "idle $1 $2 $3 $4"
		;;
	push|pushport)
		packet=$(echo "$rest" | sed -n 's/.* packets of \([0-9]*\) bytes.*/\1/p')
		echo "$what@$packet $1 $(awk -v b="$3" -v us="$6" 'BEGIN { print b / us }') $busy $3"
		;;
	trace)
		# kind way run session ticks discarded local_kb rate
		case "$2" in
		local)
			bytes=$(($7 * 1024))
			;;
		hyper|ohyper)
			bytes=$(du -scb "$tmp/hyper/bench/$4"-* | tail -n 1 | cut -f 1)
			;;
		net)
			bytes=$(du -scb "$tmp/net/"*/"$4"-* | tail -n 1 | cut -f 1)
			;;
		esac
		echo "$1 $2 $3 $5 $6 $bytes ${8:-0}"
		;;
	esac
done > "$tmp/results"

awk -v accel="${accel^^}" -v runs="$RUNS" -v events="$EVENTS" -v rates="$RATE" \
	-v revents="$RATE_EVENTS" -v hz=100 -v ohyper="$ohyper" -v early="$EARLY_ACK" \
	-v channel="$CHANNEL" -v pin="$PIN" -v memory_note="$memory_note" \
	-f "$srcdir/bench/stats.awk" \
	-f /dev/stdin "$tmp/results" <<'EOF'
# A ratio, or n/a when the denominator is not positive (runs too short to measure).
function ratio(num, den) {
	return den > 0 ? sprintf("%.2f", num / den) : "n/a"
}
# Packet sizes in the order they came, as "256 KiB".
function size_name(b) {
	return b >= 1048576 ? sprintf("%g MiB", b / 1048576) : sprintf("%g KiB", b / 1024)
}
$1 ~ /^push(port)?@/ {
	split($1, kp, "@")
	if (!(kp[2] in seen)) {
		seen[kp[2]] = 1
		packets[++npk] = kp[2]
	}
}
$1 == "raw" || $1 == "rawfile" || $1 == "rawshm" || $1 == "rawvs" || $1 ~ /^push(port)?@/ {
	add($1, $3)
	# Busy CPU-s per MB of the run.
	add($1 "/cost", $4 / hz / ($5 / 1e6))
}
$1 == "idle" {
	add("idle", $4 / 1e9 / $3)
	add("idle/bridge", $5 / 1e9 / $3)
}
$1 == "cost" {
	add($1 "/" $2 "/busy", $4 / hz)
	add($1 "/" $2 "/mb", $6 / 1e6)
}
$1 == "discard" {
	add($1 "/" $7 "/" $2, $5)
}
END {
	printf "bench/vm: %s, 2 vCPUs, medians of %d runs, the hyper channel over %s, lttng-hyperd %s%s\n",
		accel, runs, channel, early ? "--early-index-ack" : "waiting for the host on each index",
		pin ? ", QEMU on CPU 0 and the host's readers on CPU 1" : ""
	if (memory_note != "") {
		printf "bench/vm: %s\n", memory_note
	}
	printf "\n"
	raw = med("raw")
	printf "%-34s %10s %12s\n", "channel capacity", "MB/s", "busy ms/MB"
	printf "%-34s %10.1f %12.2f\n", "raw dd into the virtio-serial port", raw,
		med("raw/cost") * 1000
	rawfile = med("rawfile")
	if (rawfile > 0) {
		printf "%-34s %10.1f %12.2f\n", "raw dd, the host writing a file", rawfile,
			med("rawfile/cost") * 1000
	}
	if (channel == "ivshmem") {
		rawvs = med("rawvs"); rawshm = med("rawshm")
		printf "%-34s %10.1f %12.2f\n", "raw chan-dd into that port", rawvs,
			med("rawvs/cost") * 1000
		printf "%-34s %10.1f %12.2f\n", "raw chan-dd into ivshmem", rawshm,
			med("rawshm/cost") * 1000
	}
	for (k = 1; k <= npk; k++) {
		pk = packets[k]
		hyp[pk] = med("push@" pk)
		printf "%-34s %10.1f %12.2f\n", "hyper (relayd-push), " size_name(pk),
			hyp[pk], med("push@" pk "/cost") * 1000
		if (ohyper) {
			port[pk] = med("pushport@" pk)
			printf "%-34s %10.1f %12.2f\n", "output-hyper (-P), " size_name(pk),
				port[pk], med("pushport@" pk "/cost") * 1000
		}
	}
	printf "relayd-push goes through the hyper channel over %s\n", channel
	for (k = 1; k <= npk; k++) {
		printf "hyper / raw, %s packets: %.2f (goal >= 0.8)\n", size_name(packets[k]),
			hyp[packets[k]] / raw
	}
	if (channel == "ivshmem") {
		printf "raw ivshmem / raw virtio-serial, both by chan-dd: %.2f (goal >= 2)\n",
			rawshm / rawvs
	}
	printf "idle lttng-hyperd, 10 s: %.2f %% of a CPU", med("idle") * 100
	if (channel == "ivshmem") {
		printf ", its ivshmem bridge %.2f %% (goal < 1 %%)", med("idle/bridge") * 100
	}
	printf "\n"
	for (k = 1; ohyper && k <= npk; k++) {
		printf "output-hyper's data port / raw, %s packets: %.2f (goal >= 0.8)\n",
			size_name(packets[k]), port[packets[k]] / raw
		if (rawfile > 0) {
			printf "output-hyper's data port / rawfile, %s packets: %.2f\n",
				size_name(packets[k]), port[packets[k]] / rawfile
		}
	}
	printf "\n"
	printf "%-34s %10s %10s %12s\n", "offload cost, " events " events", "busy CPU-s",
		"trace MB", "ms/MB"
	nw = split(ohyper ? "local hyper net ohyper" : "local hyper net", ways, " ")
	name["local"] = "local"; name["hyper"] = "hyper"; name["net"] = "net://"
	name["ohyper"] = "output-hyper"
	lb = med("cost/local/busy")
	for (k = 1; k <= nw; k++) {
		w = ways[k]
		b[w] = med("cost/" w "/busy"); mb[w] = med("cost/" w "/mb")
		cost[w] = (b[w] - lb) * 1000 / mb[w]
		if (w == "local") {
			printf "%-34s %10.2f %10.1f %12s\n", name[w], b[w], mb[w], "-"
		} else {
			printf "%-34s %10.2f %10.1f %12.2f\n", name[w], b[w], mb[w], cost[w]
		}
	}
	printf "hyper / net:// cost per MB: %s (goal <= 0.5)\n", ratio(cost["hyper"], cost["net"])
	if (ohyper) {
		dd = med("raw/cost") * 1000
		printf "output-hyper / net:// cost per MB: %s (goal <= 0.25)\n",
			ratio(cost["ohyper"], cost["net"])
		printf "output-hyper / hyper cost per MB: %s\n", ratio(cost["ohyper"], cost["hyper"])
		printf "output-hyper / dd's own cost per MB into the port (%.2f ms/MB): %s\n",
			dd, ratio(cost["ohyper"], dd)
	}
	printf "\n"
	printf "discards, %d events per run at each rate (events/s), in %%:\n", revents
	printf "%-14s", "rate"
	for (k = 1; k <= nw; k++) {
		printf " %12s", name[ways[k]]
	}
	printf "\n"
	nr = split(rates, rate, ",")
	for (r = 1; r <= nr; r++) {
		printf "%-14d", rate[r]
		for (k = 1; k <= nw; k++) {
			printf " %12.3f", med("discard/" rate[r] "/" ways[k]) * 100 / revents
		}
		printf "\n"
	}
}
EOF
