#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# /init of the lttng-hyper test guest (busybox sh), installed by build-guest.sh.
#
# Kernel command line parameters:
#   lh.mode=trace|nested|port|shell|probe|bench|pushbench|hcbench|pingpong
#                                    what to do (default: trace)
#   lh.hostname=NAME                 guest hostname (default: lttng-guest)
#   lh.events=N                      events the traced workload emits (default: 200000)
#   lh.payload=BYTES                 payload size of each event (default: 0)
#   lh.rate=N                        events per second of the workload (default: no limit)
#   lh.switch-timer=US               the switch timer of the channel and of the
#                                    metadata, so that a slow workload's packets
#                                    and its metadata reach the host as it runs
#                                    (a trace cut short then still reads)
#   lh.hostless=1                    before waiting for the host, time a whole
#                                    session (create, start, stop, destroy) that
#                                    has no host to stream to
#   lh.wait=SECONDS                  how long to wait for the host (default: 60)
#   lh.timeout=SECONDS               fail once the guest has been up that long,
#                                    showing what each process waits in (default: never)
#   lh.heartbeat=SECONDS             a line "lh-heartbeat: [UPTIME]" on the console
#                                    that often, as long as the guest's kernel runs
#                                    its processes (default: none)
#   lh.verbose=1                     verbose lttng-hyperd (its log is shown on failure)
#   lh.early-index-ack=1             lttng-hyperd --early-index-ack: indexes answered at once
#   lh.kernel=1                      also trace the kernel (image built with --kernel-tracing)
#   lh.workload=gen-events|mark      what the traced session runs: gen-events, or
#                                    lttng-hyper-mark's markers (lh.events of them,
#                                    lh.rate per second; an image built with --mark)
#   lh.hypercalls=1                  with lh.mode=nested: record the nested guest's
#                                    hypercalls (kvm_x86_hypercall) in a kernel session
#                                    of their own (an image built with --kvm-tracing)
#   lh.output=net|hyper              how the traced channels' data leaves: through
#                                    lttng-hyperd (net, stock LTTng, the default) or
#                                    by lttng-consumerd straight into the data ports
#                                    org.lttng.hyper.data.ust64 and .kernel (hyper:
#                                    enable-channel --output=hyper; an image built with
#                                    --lttng-tools, booted with those ports)
#   lh.hide-module=NAME              remove that lttng module first (a guest without
#                                    the kernel tracer, for tests)
#   lh.channel=vsock:PORT            the hyper channel: lttng-hyperd listens on
#                                    vsock-listen:PORT for its host, which connects
#                                    to this guest's context id (default: the
#                                    virtio-serial port org.lttng.hyper.0)
#   lh.channel=ivshmem               the hyper channel is the shared memory of the
#                                    ivshmem-plain device (its BAR2, mapped from sysfs),
#                                    with the port org.lttng.hyper.bell as its bell
#
# lh.mode=pingpong plays the guest's side of pingpong (an image built with
# build-guest.sh --pingpong, booted with a second port, org.lttng.pingpong.0,
# whose host end the host's pingpong --connect opens), traced to the host
# through lttng-hyperd like lh.mode=trace; its own parameter:
#   lh.rounds=N                      round trips to play (default: 1000)
#
# lh.mode=nested runs a nested guest (an image built with build-guest.sh
# --nested) under QEMU, with lh.mode=trace: its lttng-hyperd reaches this
# guest's, which carries its traces to the host as VM NAME within this VM.
# This guest traces its own lh.events (default here: 0) meanwhile, and is
# done once the nested guest powers off. Its own parameters:
#   lh.l2-name=NAME[,NAME...]        the nested VM's name (default: l2); several
#                                    names run as many nested guests at once,
#                                    alike but for their names
#   lh.l2-mem=MB                     its memory (default: 256)
#   lh.l2-timeout=SECONDS            how long it may run (default: 900)
#   lh.l2-channel=vsock              the nested guest's hyper channel is vsock
#                                    (vhost-vsock here, context id 3 for the
#                                    first, 4 for the next..., port 5000), not
#                                    virtio-serial
#   lh.l2-accel=auto|kvm|tcg         its accelerator (default: auto, which
#                                    probes KVM when this guest has /dev/kvm)
#   lh.l2-KEY=VALUE                  any other: lh.KEY=VALUE for the nested
#                                    guest, e.g. lh.l2-events=1000
#
# lh.mode=bench runs bench/vm.sh's measurements (an image built with
# build-guest.sh --bench, booted with --user-net and a second port,
# org.lttng.hyper.raw); its own parameters:
#   lh.runs=N                        runs of each measurement (default: 5)
#   lh.raw-mb=MB                     MB written by dd and by relayd-push (default: 256),
#                                    and by chan-dd into a second ivshmem device, if any
#   lh.push-packets=SIZE[,SIZE...]   relayd-push's packet sizes, one set of runs
#                                    each (default: 256K)
#   lh.net=HOST:CTRL:DATA            the host's lttng-relayd for stock net://
#   lh.rate=N[,N...]                 events per second of the discard runs, one set of
#                                    runs per rate (default: 100000)
#   lh.rate-events=N                 events per discard run (default: 500000)
#   lh.subbuf=SIZE, lh.num-subbuf=N  buffers of the discard runs (default: 128K, 4)
#   lh.output-hyper=1                also the data-port path of enable-channel
#                                    --output=hyper: relayd-push -P into the data
#                                    port org.lttng.hyper.data.ust64, and a fourth
#                                    way to trace (an image built with --lttng-tools,
#                                    booted with --data-ports)
#
# lh.mode=pushbench times hyper's path with relayd-push alone (an image
# built with build-guest.sh --bench; bench/vm-nested.sh boots it at L1,
# and at L2 with lh.l2-mode=pushbench). Each run prints
# "lh-guest: [T] pushbench push RUN <relayd-push's line>" and
# "lh-guest: [T] pushbench latency RUN <relayd-push's line>". Its own
# parameters:
#   lh.runs=N                        runs (default: 5)
#   lh.push-mb=MB                    MiB pushed per run (default: 256)
#   lh.rounds=N                      round trips timed per run (default: 1000)
#
# lh.mode=hcbench runs hypercall-bench at this level (an image built with
# --bench; bench/hypercall.sh boots it at L1, and at L2 with
# lh.l2-mode=hcbench): "lh-guest: [T] hcbench <its line>" for each line it
# prints. Its own parameters: lh.runs=N (default: 5), lh.calls=N (hypercalls
# per run, default: 10000).
#
# Every line for the host starts with "lh-guest:". The last one is either
# "lh-guest: done" or "lh-guest: FAILED: <why>", so whoever reads the serial
# console can tell how the run went.

PORT_NAME=org.lttng.hyper.0
PORT_LINK=/dev/virtio-ports/$PORT_NAME
PINGPONG_PORT=org.lttng.pingpong.0
HYPERD_PID=/var/run/lttng-hyperd.pid
HYPERD_LOG=/tmp/lttng-hyperd.log
NESTED_DIR=/usr/share/lttng-hyper/nested
# Each nested guest's socket, console and launcher log: /run/lh-NAME.sock,
# /tmp/NAME-console.log, /tmp/NAME-launch.log.
L2_SOCK_DIR=/run
L2_LOG_DIR=/tmp
# How long launch-guest.sh's KVM probe may take here: KVM within this
# emulated guest took 13.5 s to reach the probe's userspace, when idle.
L2_PROBE_TIMEOUT=60
# lh.l2-channel=vsock: the first nested guest's context id, and the port.
L2_VSOCK_CID=3
L2_VSOCK_PORT=5000
# The nested guest's kernel runs under TCG within TCG, where every second
# of its boot counts: no clocksource watchdog (it would only find the TSC
# unsteady there), no timer check, no mitigations, and no crypto self-tests
# (crypto_kdf108_init runs its own, for about 7 s there).
L2_BOOT_ARGS="tsc=reliable no_timer_check mitigations=off cryptomgr.notests"
L2_BOOT_ARGS="$L2_BOOT_ARGS initcall_blacklist=crypto_kdf108_init"

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LTTNG_HOME=/root

say()
{
	read -r up _ < /proc/uptime
	echo "lh-guest: [$up] $*"
}

# A line for whoever reads the console, through the kernel's log: printk
# writes the serial port itself, so the line gets out even when the
# console's tty cannot send (a lost interrupt) or the guest powers off
# right after. Its prefix is not say's, so that it never reads as a line
# of the run.
klog()
{
	echo "<2>lh-init: $*" > /dev/kmsg 2> /dev/null
}

# Time since boot in milliseconds; /proc/uptime has two decimals.
uptime_ms()
{
	read -r up _ < /proc/uptime
	echo $((${up%.*}${up#*.} * 10))
}

finish()
{
	sync
	poweroff -f
	# poweroff -f does not return; if it ever did, PID 1 must not exit.
	while :; do sleep 3600; done
}

fail()
{
	klog "FAILED: $*"
	echo "lh-guest: FAILED: $*"
	if [ -s "$HYPERD_LOG" ]; then
		echo "lh-guest: last lines of the lttng-hyperd log:"
		tail -n 20 "$HYPERD_LOG"
	fi
	for name in $l2_names; do
		if [ -s "$L2_LOG_DIR/$name-launch.log" ]; then
			echo "lh-guest: the launcher of the nested guest $name said:"
			tail -n 5 "$L2_LOG_DIR/$name-launch.log"
		fi
		if [ -s "$L2_LOG_DIR/$name-console.log" ]; then
			# Its own "lh-guest:" lines must not read as this guest's.
			echo "lh-guest: last lines of the nested guest $name's console:"
			tr -d '\r' < "$L2_LOG_DIR/$name-console.log" | tail -n 30 |
				sed "s/lh-guest: /$name: /"
		fi
	done
	finish
}

# Each user process (kernel threads have no command line), by klog: its PID,
# state, the kernel function it waits in, and its command line.
show_processes()
{
	local pid cmd wchan

	for pid in $(printf '%s\n' /proc/[0-9]* | cut -d / -f 3 | sort -n); do
		cmd=$(tr '\0' ' ' 2> /dev/null < "/proc/$pid/cmdline")
		[ -n "$cmd" ] || continue
		wchan=$(cat "/proc/$pid/wchan" 2> /dev/null)
		[ "$wchan" != 0 ] || wchan=running
		# shellcheck disable=SC2046 # two words: state and ticks
		set -- $(task_state "/proc/$pid")
		klog "  $pid ${1:-?} ${wchan:-?} ${cmd% }"
	done
}

# lh.timeout=SECONDS (of uptime): a guest still running then shows what
# each of its processes waits in and fails, so that a run stuck on its host
# or on a nested guest tells where, before whoever launched it kills it.
start_watchdog()
{
	local limit now

	limit=$(param timeout 0)
	[ "$limit" -gt 0 ] || return 0
	(
		now=$(($(uptime_ms) / 1000))
		if [ "$now" -lt "$limit" ]; then
			sleep $((limit - now))
		fi
		klog "still running after $limit s; its processes:"
		show_processes
		klog "its interrupts:"
		grep -E 'virtio|ttyS|LOC' /proc/interrupts | while read -r line; do
			klog "  $line"
		done
		fail "timed out after $limit s (lh.timeout)"
	) &
}

# lh.heartbeat=SECONDS: a host that reads the console can then tell a
# guest that waits (it beats) from one whose kernel no longer runs
# anything (a livelock of TCG's nested AMD-V, doc/vm.md: silence).
start_heartbeat()
{
	local period

	period=$(param heartbeat 0)
	[ "$period" -gt 0 ] || return 0
	(
		while sleep "$period"; do
			read -r up _ < /proc/uptime
			echo "lh-heartbeat: [$up]"
		done
	) &
}

# Value of lh.KEY on the kernel command line, else the default ($2).
param()
{
	for word in $(cat /proc/cmdline); do
		case "$word" in
		lh.$1=*)
			echo "${word#lh."$1"=}"
			return
			;;
		esac
	done
	echo "$2"
}

mount_fs()
{
	mount -t proc proc /proc &&
	# klog's lines are few, and each one counts.
	echo on > /proc/sys/kernel/printk_devkmsg &&
	mount -t sysfs sysfs /sys &&
	mount -t devtmpfs devtmpfs /dev &&
	mkdir -p /dev/shm /dev/pts &&
	mount -t devpts devpts /dev/pts &&
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm &&
	mount -t tmpfs -o mode=1777 tmpfs /tmp &&
	mount -t tmpfs -o mode=0755 tmpfs /var/run/lttng &&
	mount_lttng_root
}

# An image built with --lttng-root runs another LTTng chrooted in
# /opt/lttng-root (add-lttng-root.sh): it shares this system's file
# systems, sessiond's folder, LTTNG_HOME and the kernel modules.
mount_lttng_root()
{
	r=/opt/lttng-root
	[ -d $r ] || return 0
	mount -o bind /proc $r/proc &&
	mount -o bind /sys $r/sys &&
	mount -o rbind /dev $r/dev &&
	mount -o bind /tmp $r/tmp &&
	mount -o bind /var/run/lttng $r/run/lttng &&
	mount -o bind /root $r/root &&
	mount -o bind /lib/modules $r/usr/lib/modules &&
	say "LTTng of $(sed -n 's/^lttng-root //p' $r/versions | tr '\n' ' ')in $r"
}

# The load order was worked out from the modules' dependencies at build time.
load_modules()
{
	dir=/lib/modules/$(uname -r)
	while read -r mod; do
		insmod "$dir/$mod" || return 1
	done < "$dir/lh-load-order"
}

# Without udev nobody makes /dev/virtio-ports/NAME: find the port named $1
# by its name, waiting up to $2 s (default: 30). QEMU names a port about a
# second after its driver loads; under TCG on a busy host it takes longer.
# A port the guest may not have is looked for once the first one is found,
# as they come together: 5 s do then.
find_port()
{
	tries=0
	while [ $tries -lt $((${2:-30} * 10)) ]; do
		for name in /sys/class/virtio-ports/*/name; do
			[ -r "$name" ] || continue
			[ "$(cat "$name")" = "$1" ] || continue
			vport=${name%/name}
			vport=${vport##*/}
			mkdir -p /dev/virtio-ports
			ln -sf "../$vport" "/dev/virtio-ports/$1"
			say "port $1 is /dev/$vport"
			return 0
		done
		tries=$((tries + 1))
		sleep 0.1
	done
	return 1
}

# The BAR2 of the Nth (from 0, $1, by default 0) ivshmem-plain device
# (vendor 0x1af4, device 0x1110), in the order QEMU was given them: its
# shared memory, which sysfs maps like a file, with no driver.
ivshmem_bar()
{
	local n=${1:-0}

	for dev in /sys/bus/pci/devices/*; do
		if [ "$(cat "$dev/vendor")" = 0x1af4 ] && [ "$(cat "$dev/device")" = 0x1110 ]; then
			if [ "$n" -eq 0 ]; then
				echo "$dev/resource2"
				return 0
			fi
			n=$((n - 1))
		fi
	done
	return 1
}

# ARGS: more lttng-hyperd options.
start_hyperd()
{
	local channel=virtio-serial:$PORT_LINK
	case "$(param channel '')" in
	vsock:*)
		channel=vsock-listen:$(param channel '' | cut -d : -f 2)
		;;
	ivshmem)
		channel=ivshmem:$(ivshmem_bar) || fail "no ivshmem device"
		# Its bell (launch-guest.sh --ivshmem): sleep until the host rings.
		if find_port org.lttng.hyper.bell 5; then
			channel=$channel,bell=/dev/virtio-ports/org.lttng.hyper.bell
		fi
		;;
	esac
	set -- -d --pidfile "$HYPERD_PID" --log "$HYPERD_LOG" -c "$channel" "$@"
	if [ "$(param verbose 0)" = 1 ]; then
		set -- "$@" -vvv
	fi
	if [ "$(param early-index-ack 0)" = 1 ]; then
		set -- "$@" --early-index-ack
	fi
	lttng-hyperd "$@" || fail "lttng-hyperd did not start"
	say "lttng-hyperd started on $channel (pid $(cat "$HYPERD_PID"))"
}

# lttng-hyperd refuses relayd connections until the host is there, and the
# host's relay may connect after the guest boots: wait for lttng-hyperd to
# log that the channel is up.
wait_channel()
{
	limit=$(param wait 60)
	tries=0
	while ! grep -q 'channel up' "$HYPERD_LOG"; do
		if [ $tries -eq 0 ]; then
			say "waiting up to $limit s for the host to connect"
		fi
		if [ $tries -ge $((limit * 10)) ]; then
			fail "the host did not connect in $limit s"
		fi
		tries=$((tries + 1))
		sleep 0.1
	done
	say "channel to the host is up"
}

stop_hyperd()
{
	pid=$(cat "$HYPERD_PID" 2>/dev/null) || return 0
	kill -TERM "$pid"
	# lttng-hyperd flushes the channel for at most 3 s before it exits.
	tries=0
	while [ -d "/proc/$pid" ]; do
		if [ $tries -ge 100 ]; then
			fail "lttng-hyperd (pid $pid) did not exit on SIGTERM"
		fi
		tries=$((tries + 1))
		sleep 0.1
	done
	say "lttng-hyperd stopped"
}

# Run an lttng command, echoing it, and fail the boot if it fails.
run_lttng()
{
	say "lttng $*"
	lttng "$@" > /tmp/lttng.out 2>&1
	status=$?
	sed 's/^/    /' /tmp/lttng.out
	[ $status -eq 0 ] || fail "lttng $1 exited with status $status"
}

# lttng-sessiond loads lttng-modules itself through libkmod (build-guest.sh
# ran depmod); only the sched probes are needed.
start_sessiond_kernel()
{
	hide=$(param hide-module '')
	if [ -n "$hide" ]; then
		rm -f "/lib/modules/$(uname -r)/extra/$hide.ko"
		say "removed the kernel module $hide (lh.hide-module)"
	fi
	probes=sched
	if [ "$(param hypercalls 0)" = 1 ]; then
		probes=$probes,kvm-x86
	fi
	LTTNG_KMOD_PROBES=$probes lttng-sessiond -d || fail "lttng-sessiond did not start"
	say "lttng-sessiond started, with the kernel domain (probes: $probes)"
}

# Kernel events in a channel of their own, in the same session as the
# user-space ones. A kernel channel cannot block: its buffers are large
# enough for the consumer to keep up under TCG. Without the kernel tracer
# (a module missing or refused), say so and trace user space only.
enable_kernel()
{
	for cmd in "enable-channel -k $(output_opt) --subbuf-size=1M --num-subbuf=8 kchan" \
			"enable-event -k -c kchan sched_switch,sched_wakeup" \
			"enable-event -k -c kchan --syscall -a"; do
		say "lttng $cmd"
		# shellcheck disable=SC2086 # $cmd holds the words of one command
		if ! lttng $cmd > /tmp/lttng.out 2>&1; then
			sed 's/^/    /' /tmp/lttng.out
			say "kernel tracer unavailable: $(grep -m 1 -i error /tmp/lttng.out);" \
				"tracing user space only"
			return 0
		fi
	done
	say "tracing the kernel: sched_switch, sched_wakeup and all system calls"
}

# With no host, lttng-hyperd refuses lttng's connections: each command of
# a session must still return, in bounded time. Print how long each took
# and its status, for the host to check:
#   "lh-guest: [T] hostless lttng COMMAND: MS ms, status S"
hostless_session()
{
	local cmd t0 status

	for cmd in "create nohost --set-url=net://127.0.0.1" \
			"enable-channel -u -s nohost --blocking-timeout=inf chan" \
			"start nohost" "stop nohost" "destroy nohost"; do
		t0=$(uptime_ms)
		# shellcheck disable=SC2086 # $cmd holds the words of one command
		lttng $cmd > /tmp/lttng.out 2>&1
		status=$?
		say "hostless lttng ${cmd%% *}: $(($(uptime_ms) - t0)) ms, status $status"
	done
	say "hostless session done"
}

# The enable-channel option of lh.output.
output_opt()
{
	if [ "$(param output net)" = hyper ]; then
		echo --output=hyper
	fi
}

# With lh.output=hyper, each lttng-consumerd writes into a data port of its
# own, which it finds under /dev/virtio-ports by name.
find_data_ports()
{
	[ "$(param output net)" = hyper ] || return 0
	find_port org.lttng.hyper.data.ust64 || fail "no data port org.lttng.hyper.data.ust64"
	if [ "$(param kernel 0)" = 1 ]; then
		find_port org.lttng.hyper.data.kernel || fail "no data port org.lttng.hyper.data.kernel"
	fi
}

start_sessiond()
{
	find_data_ports
	if [ "$(param kernel 0)" = 1 ] || [ "$(param hypercalls 0)" = 1 ]; then
		start_sessiond_kernel
	else
		lttng-sessiond -d --no-kernel || fail "lttng-sessiond did not start"
		say "lttng-sessiond started"
	fi
}

# The traced session: EVENTS events of gen-events (and the kernel with
# lh.kernel=1), streamed through lttng-hyperd.
trace_session()
{
	local events=$1 payload rate timer workload

	workload=$(param workload gen-events)
	payload=$(param payload 0)
	rate=$(param rate 0)
	timer=$(param switch-timer 0)

	run_lttng create hyper --set-url=net://127.0.0.1
	set -- -u --blocking-timeout=inf
	if [ "$timer" -gt 0 ]; then
		# Without it, LTTng sends the metadata only when tracing stops.
		run_lttng enable-channel -u --switch-timer="$timer" metadata
		set -- "$@" --switch-timer="$timer"
	fi
	# shellcheck disable=SC2046 # no word, or one
	run_lttng enable-channel $(output_opt) "$@" chan
	if [ "$workload" = mark ]; then
		run_lttng enable-event -u -c chan 'lttng_hyper:mark'
	else
		run_lttng enable-event -u -c chan 'hyper_test:*'
	fi
	if [ "$(param kernel 0)" = 1 ]; then
		enable_kernel
	fi
	run_lttng start

	set -- -n "$events"
	if [ "$payload" -gt 0 ]; then
		set -- "$@" --payload "$payload"
	fi
	if [ "$rate" -gt 0 ]; then
		set -- "$@" --rate "$rate"
		say "tracing $events events of $payload payload bytes, $rate per second"
	else
		say "tracing $events events of $payload payload bytes"
	fi
	# Blocking channel, and wait for sessiond at start: no event is lost.
	if [ "$workload" = mark ]; then
		# Markers instead: hypercalls that the host below records.
		set -- -n "$events"
		if [ "$rate" -gt 0 ]; then
			set -- "$@" -r "$rate"
		fi
		LTTNG_UST_ALLOW_BLOCKING=1 LTTNG_UST_REGISTER_TIMEOUT=-1 \
			lttng-hyper-mark "$@" "$(hostname)" > /tmp/mark.out 2>&1 ||
			fail "lttng-hyper-mark exited with status $?: $(cat /tmp/mark.out)"
		say "lttng-hyper-mark: $events markers '$(hostname)' $(cat /tmp/mark.out)"
	else
		LTTNG_UST_ALLOW_BLOCKING=1 LTTNG_UST_REGISTER_TIMEOUT=-1 gen-events "$@" ||
			fail "gen-events exited with status $?"
	fi
	say "workload done"

	run_lttng stop
	run_lttng destroy
}

mode_trace()
{
	start_hyperd
	start_sessiond
	if [ "$(param hostless 0)" = 1 ]; then
		hostless_session
	fi
	wait_channel
	trace_session "$(param events 200000)"
	stop_hyperd
}

# Load the KVM modules of this guest's CPU, VT-x or AMD-V, if it has either.
load_kvm()
{
	local dir mod flag

	grep -q -w -E 'vmx|svm' /proc/cpuinfo || return 0
	dir=/lib/modules/$(uname -r)
	while read -r mod; do
		case "$mod" in
		*/kvm-intel.ko)
			flag=vmx
			;;
		*/kvm-amd.ko)
			flag=svm
			;;
		*)
			flag=
			;;
		esac
		if [ -n "$flag" ] && ! grep -q -w "$flag" /proc/cpuinfo; then
			continue
		fi
		insmod "$dir/$mod" || say "cannot load the kernel module $mod"
	done < "$dir/lh-kvm-load-order"
}

# A nested guest's ($1) console lines for the host, without their prefix.
l2_console()
{
	tr -d '\r' 2> /dev/null < "$L2_LOG_DIR/$1-console.log" | sed -n 's/^.*lh-guest: //p'
}

# Show a nested guest's ($1) new console lines on this console, as
# "lh-guest: [T] NAME: LINE"; how many were shown is in /tmp/NAME-console.seen.
l2_progress()
{
	local n seen

	seen=$(cat "$L2_LOG_DIR/$1-console.seen" 2> /dev/null || echo 0)
	n=$(l2_console "$1" | wc -l)
	[ "$n" -gt "$seen" ] || return 0
	l2_console "$1" | sed -n "$((seen + 1)),${n}p" | while read -r line; do
		say "$1: $line"
	done
	echo "$n" > "$L2_LOG_DIR/$1-console.seen"
}

# The nested guest's kernel command line: lh.l2-KEY=VALUE of this one as
# lh.KEY=VALUE, except the parameters meant for this guest.
l2_append()
{
	local word out=

	for word in $(cat /proc/cmdline); do
		case "$word" in
		lh.l2-name=*|lh.l2-mem=*|lh.l2-timeout=*|lh.l2-accel=*|lh.l2-channel=*)
			;;
		lh.l2-*=*)
			out="$out lh.${word#lh.l2-}"
			;;
		esac
	done
	# param() takes the first: lh.l2-mode may override lh.mode=trace.
	if [ "$(param l2-channel virtio-serial)" = vsock ]; then
		out="$out lh.channel=vsock:$L2_VSOCK_PORT"
	fi
	echo "${out# } lh.mode=trace $L2_BOOT_ARGS"
}

# This guest's KVM traces every hypercall of its guests (kvm_x86_hypercall,
# before it refuses an unknown number): record them in a kernel session of
# their own, with the name of the VM whose vCPU made each (procname: QEMU's
# threads carry it, launch-guest.sh), streamed to the host like the rest.
hypercall_session_start()
{
	run_lttng create hypercalls --set-url=net://127.0.0.1
	run_lttng enable-channel -k -s hypercalls --subbuf-size=1M --num-subbuf=8 hc
	run_lttng enable-event -k -s hypercalls -c hc kvm_x86_hypercall
	run_lttng add-context -k -s hypercalls -c hc -t procname -t tid
	run_lttng start hypercalls
	say "recording the hypercalls of this guest's guests (kvm_x86_hypercall)"
}

# The unix socket of the nested guest $1's port.
l2_sock()
{
	echo "$L2_SOCK_DIR/lh-$1.sock"
}

# The PID of the launcher of the nested guest $1.
l2_pid()
{
	cat "$L2_LOG_DIR/$1.pid"
}

# The vsock context id this guest gives the $1-th nested guest (from 0).
l2_cid()
{
	echo $((L2_VSOCK_CID + $1))
}

# The channel by which this guest, their host, serves the nested guest $1,
# the $2-th (from 0): its port's socket, or the context id it gave that guest.
l2_channel()
{
	if [ "$(param l2-channel virtio-serial)" = vsock ]; then
		echo "vsock:$(l2_cid "$2"):$L2_VSOCK_PORT"
	else
		echo "unix:$(l2_sock "$1")"
	fi
}

# Start the nested guest $1, the $2-th (from 0), in the background.
l2_launch()
{
	local name=$1 index=$2

	set --
	if [ "$(param l2-channel virtio-serial)" = vsock ]; then
		set -- --vsock-cid "$(l2_cid "$index")"
	fi
	say "starting the nested guest $name (accelerator: $accel," \
		"channel $(l2_channel "$name" "$index")): $(l2_append)"
	"$NESTED_DIR/launch-guest.sh" "$@" --kernel "$NESTED_DIR/kernel" \
		--initrd "$NESTED_DIR/initrd.img" --socket "$(l2_sock "$name")" \
		--name "$name" --mem "$(param l2-mem 256)" --smp 1 --accel "$accel" \
		--probe-timeout "$L2_PROBE_TIMEOUT" \
		--append "$(l2_append)" --serial-log "$L2_LOG_DIR/$name-console.log" \
		< /dev/null > "$L2_LOG_DIR/$name-launch.log" 2>&1 &
	echo $! > "$L2_LOG_DIR/$name.pid"
}

# Wait, 60 s at most, until the launcher of the nested guest $1 has chosen
# its accelerator (accelerator auto): the next launchers then take its
# verdict (launch-guest.sh keeps it) rather than probe KVM at the same
# time: with two at once in a busy L1, one nested guest fell back to TCG.
l2_wait_accel()
{
	local tries=0

	while [ $tries -lt 60 ] && kill -0 "$(l2_pid "$1")" 2> /dev/null &&
		! grep -qs '^launch-guest.sh: accelerator:' "$L2_LOG_DIR/$1-launch.log"; do
		sleep 1
		tries=$((tries + 1))
	done
}

# The state of the task /proc/PID/task/TID ($1), and the CPU ticks it
# used (user and system): "STATE TICKS".
task_state()
{
	local stat

	read -r stat 2> /dev/null < "$1/stat" || return 1
	# Past the command name, in parentheses: state is the 1st field,
	# utime the 12th, stime the 13th.
	set -- ${stat##*) }
	echo "$1 $((${12} + ${13}))"
}

# Show the threads of the nested guest $1's QEMU, looked at twice 2 s
# apart: state, CPU ticks used in between, and the kernel function it
# waits in. Of a nested guest that never finishes, this tells a vCPU that
# runs (state R, ticks) from one that waits (in kvm_vcpu_halt, say).
l2_threads()
{
	local name=$1 qemu t tid ticks0 wchan

	qemu=$(cat /proc/"$(l2_pid "$name")"/task/*/children 2> /dev/null)
	qemu=${qemu%% *}
	[ -n "$qemu" ] && [ -d "/proc/$qemu" ] || return 0
	for t in /proc/"$qemu"/task/*; do
		echo "${t##*/} $(task_state "$t")"
	done > "$L2_LOG_DIR/$name-threads"
	sleep 2
	for t in /proc/"$qemu"/task/*; do
		tid=${t##*/}
		set -- $(task_state "$t")
		[ $# -eq 2 ] || continue
		ticks0=$(sed -n "s/^$tid [A-Z] //p" "$L2_LOG_DIR/$name-threads")
		wchan=$(cat "$t/wchan" 2> /dev/null)
		[ "$wchan" != 0 ] || wchan="nothing (running)"
		say "$name's QEMU thread $tid ($(cat "$t/comm" 2> /dev/null)): state $1," \
			"$(($2 - ${ticks0:-$2})) ticks in 2 s, waits in $wchan"
	done
}

# Wait for the nested guest $1 to have powered off, done with its run.
l2_finished()
{
	local status=0

	wait "$(l2_pid "$1")" || status=$?
	l2_progress "$1"
	[ $status -eq 0 ] || fail "the launcher of $1 exited with status $status"
	[ "$(l2_console "$1" | tail -n 1)" = 'done' ] ||
		fail "the nested guest $1 did not finish its run"
	say "the nested guest $1 is done (accelerator:" \
		"$(sed -n 's/^launch-guest.sh: accelerator: \([a-z]*\).*/\1/p' "$L2_LOG_DIR/$1-launch.log"))"
}

mode_nested()
{
	local timeout deadline accel name i running

	timeout=$(param l2-timeout 900)
	[ -x "$NESTED_DIR/launch-guest.sh" ] ||
		fail "no nested guest in this image (build it with build-guest.sh --nested)"

	# KVM for the nested guest needs VT-x or AMD-V in this guest's CPU:
	# nested virtualization, or TCG, which emulates AMD-V. Then the
	# launcher probes KVM as it does on the host.
	accel=$(param l2-accel auto)
	if [ "$accel" != tcg ]; then
		load_kvm
	fi
	if [ "$accel" = auto ] && [ ! -c /dev/kvm ]; then
		accel=tcg
		say "no /dev/kvm in this guest: the nested guest runs under TCG"
	fi

	mkdir -p "$L2_SOCK_DIR"
	set --
	i=0
	for name in $l2_names; do
		set -- "$@" --vm "$name=$(l2_channel "$name" "$i")"
		i=$((i + 1))
	done
	start_hyperd "$@"
	start_sessiond
	wait_channel

	if [ "$(param hypercalls 0)" = 1 ]; then
		hypercall_session_start
	fi
	i=0
	for name in $l2_names; do
		l2_launch "$name" "$i"
		if [ "$accel" = auto ]; then
			l2_wait_accel "$name"
		fi
		i=$((i + 1))
	done

	if [ "$(param events 0)" -gt 0 ]; then
		trace_session "$(param events 0)"
	fi

	say "waiting up to $timeout s for the nested guests ($l2_names) to power off"
	deadline=$(($(uptime_ms) / 1000 + timeout))
	while :; do
		running=
		for name in $l2_names; do
			l2_progress "$name"
			if kill -0 "$(l2_pid "$name")" 2> /dev/null; then
				running="$running $name"
			fi
		done
		[ -n "$running" ] || break
		if [ "$(($(uptime_ms) / 1000))" -ge "$deadline" ]; then
			for name in $running; do
				l2_threads "$name"
				kill "$(l2_pid "$name")"
			done
			fail "the nested guests$running did not power off in $timeout s"
		fi
		sleep 1
	done
	for name in $l2_names; do
		l2_finished "$name"
	done
	if [ "$(param hypercalls 0)" = 1 ]; then
		run_lttng stop hypercalls
		run_lttng destroy hypercalls
	fi
	stop_hyperd
}

# The /dev node of the virtio-serial port named $1 (find_port waited for the ports).
port_dev()
{
	for f in /sys/class/virtio-ports/*/name; do
		if [ "$(cat "$f")" = "$1" ]; then
			f=${f%/name}
			echo "/dev/${f##*/}"
			return 0
		fi
	done
	return 1
}

# Busy ticks of all CPUs: user + nice + system + irq + softirq.
cpu_busy()
{
	read -r _ user nice system _ _ irq softirq _ < /proc/stat
	echo $((user + nice + system + irq + softirq))
}

# CPU ticks (utime + stime) of process $1.
proc_ticks()
{
	local stat

	stat=$(cat "/proc/$1/stat") || return 1
	# The fields after the parenthesised command name: utime is the 12th.
	set -- ${stat##*) }
	echo $((${12} + ${13}))
}

# Run an lttng command quietly; show its output and fail the boot if it fails.
bench_lttng()
{
	if ! lttng "$@" > /tmp/lttng.out 2>&1; then
		sed 's/^/    /' /tmp/lttng.out
		fail "lttng $1 failed"
	fi
}

# Raw capacity of the channel: dd into a port of its own, whose host end
# only reads, on the same virtio-serial device as the hyper port.
bench_raw()
{
	local dev filedev mb i t0 t1 b0 b1 bar shm kind to

	dev=$(port_dev org.lttng.hyper.raw) || fail "no virtio-serial port org.lttng.hyper.raw"
	# The host end of this one writes a file, as lttng-relayd writes a trace.
	filedev=$(port_dev org.lttng.hyper.rawfile) || filedev=
	mb=$(param raw-mb 256)
	for i in $(seq "$(param runs 5)"); do
		for kind in raw ${filedev:+rawfile}; do
			to=$dev
			[ "$kind" = rawfile ] && to=$filedev
			b0=$(cpu_busy)
			read -r t0 _ < /proc/uptime
			dd if=/dev/zero of="$to" bs=1M count="$mb" 2> /dev/null ||
				fail "dd into $to failed"
			read -r t1 _ < /proc/uptime
			b1=$(cpu_busy)
			# Uptime has two decimals: centiseconds, like the busy ticks.
			say "bench $kind $i $((mb << 20)) $((${t1%.*}${t1#*.} - ${t0%.*}${t0#*.}))" \
				"busy=$((b1 - b0))"
		done
	done
	# A second ivshmem device (bench/vm.sh -C ivshmem): chan-dd through it,
	# and through the raw port, the same program on each kind of channel.
	bar=$(ivshmem_bar 1) || return 0
	shm=ivshmem:$bar
	if find_port org.lttng.hyper.bell.1 5; then
		shm=$shm,bell=/dev/virtio-ports/org.lttng.hyper.bell.1
	fi
	for i in $(seq "$(param runs 5)"); do
		bench_chan_dd rawshm "$i" "$shm" "$mb"
		bench_chan_dd rawvs "$i" "virtio-serial:$dev" "$mb"
	done
}

# KIND RUN CHANNEL MB: chan-dd of MB MiB into CHANNEL, said as bench_raw's lines.
bench_chan_dd()
{
	local t0 t1 b0 b1 out

	b0=$(cpu_busy)
	read -r t0 _ < /proc/uptime
	out=$(chan-dd -c "$3" -s "$4M") || fail "chan-dd into $3 failed"
	read -r t1 _ < /proc/uptime
	b1=$(cpu_busy)
	say "bench $1 $2 $(($4 << 20)) $((${t1%.*}${t1#*.} - ${t0%.*}${t0#*.}))" \
		"busy=$((b1 - b0)) writes_us=${out#* }"
}

# Nanoseconds on a CPU of the threads of process $1 (schedstat), all of
# them or those named $2: exact, where the ticks of /proc/PID/stat charge
# a whole tick to whoever runs when it comes, which a thread that wakes
# on the tick often is.
proc_runtime_ns()
{
	local t ns sum=0

	for t in /proc/"$1"/task/*; do
		if [ -n "${2:-}" ] && [ "$(cat "$t/comm" 2> /dev/null)" != "$2" ]; then
			continue
		fi
		read -r ns _ < "$t/schedstat" || return 1
		sum=$((sum + ns))
	done
	echo "$sum"
}

# What an idle channel costs, once per run: lttng-hyperd's time on a CPU
# over 10 s with no relayd connection (its pings and the host relay's
# clock probes), and of it its ivshmem bridge's (lh-ivshmem), if any.
bench_idle()
{
	local hyperd i h0 h1 g0 g1

	hyperd=$(cat "$HYPERD_PID")
	for i in $(seq "$(param runs 5)"); do
		h0=$(proc_runtime_ns "$hyperd") || fail "no schedstat for lttng-hyperd"
		g0=$(proc_runtime_ns "$hyperd" lh-ivshmem)
		sleep 10
		h1=$(proc_runtime_ns "$hyperd") || fail "no schedstat for lttng-hyperd"
		g1=$(proc_runtime_ns "$hyperd" lh-ivshmem)
		say "bench idle $i 10 $((h1 - h0)) $((g1 - g0))"
	done
}

# Capacity of hyper's data path: relayd-push through lttng-hyperd; with
# KIND pushport, the data frames go into the data port instead (the path
# of --output=hyper), the control connection still through lttng-hyperd.
# Runs of each packet size of lh.push-packets, each packet with its index.
bench_push()
{
	local kind=${1:-push} packet i out b0 b1 h0 h1 hyperd

	hyperd=$(cat "$HYPERD_PID")
	if [ "$kind" = pushport ]; then
		set -- -P "$BENCH_DATA_PORT"
	else
		set --
	fi
	for packet in $(param push-packets 256K | tr , ' '); do
		for i in $(seq "$(param runs 5)"); do
			b0=$(cpu_busy)
			h0=$(proc_ticks "$hyperd")
			out=$(relayd-push -s "$(param raw-mb 256)M" -p "$packet" "$@" 2>&1) ||
				fail "relayd-push -p $packet $* failed: $out"
			b1=$(cpu_busy)
			h1=$(proc_ticks "$hyperd")
			# Where the guest's time went: all busy ticks, lttng-hyperd's.
			say "bench $kind $i $out busy=$((b1 - b0)) lttng-hyperd=$((h1 - h0))"
		done
	done
}

# One traced run: KIND (cost: blocking, full speed; discard: RATE events
# per second, non-blocking, fixed buffers), WAY (local, hyper, net, or
# ohyper: through lttng-hyperd with enable-channel --output=hyper, the
# packets into the data port) and RUN number. Reports the busy ticks from
# before "lttng start" to after "lttng stop", the discarded events, and for
# a local trace its size.
bench_trace()
{
	local kind=$1 way=$2 run=$3 rate=${4:-0} session=b-$2-$1-$3-${4:-0} url output= b0 b1
	local discarded kb=0

	case "$way" in
	local)
		url=--output=/tmp/bench-trace
		;;
	hyper)
		url=--set-url=net://127.0.0.1
		;;
	ohyper)
		url=--set-url=net://127.0.0.1
		output=--output=hyper
		;;
	net)
		url=--set-url=net://$(param net '')
		;;
	esac
	bench_lttng create "$session" "$url"
	# shellcheck disable=SC2086 # $output: no word, or one
	if [ "$kind" = cost ]; then
		bench_lttng enable-channel -u -s "$session" $output --blocking-timeout=inf chan
	else
		bench_lttng enable-channel -u -s "$session" $output \
			--subbuf-size="$(param subbuf 128K)" --num-subbuf="$(param num-subbuf 4)" chan
	fi
	bench_lttng enable-event -u -s "$session" -c chan 'hyper_test:*'
	b0=$(cpu_busy)
	bench_lttng start "$session"
	if [ "$kind" = cost ]; then
		LTTNG_UST_ALLOW_BLOCKING=1 LTTNG_UST_REGISTER_TIMEOUT=-1 \
			gen-events -n "$(param events 200000)" --payload "$(param payload 0)" ||
			fail "gen-events failed"
	else
		LTTNG_UST_REGISTER_TIMEOUT=-1 gen-events -n "$(param rate-events 500000)" \
			--payload "$(param payload 0)" --rate "$rate" ||
			fail "gen-events failed"
	fi
	bench_lttng stop "$session"
	b1=$(cpu_busy)
	lttng list "$session" > /tmp/lttng.out 2>&1 || fail "lttng list failed"
	discarded=$(sed -n 's/.*Discarded events: *\([0-9]*\).*/\1/p' /tmp/lttng.out |
		awk '{ n += $1 } END { print n + 0 }')
	if [ "$way" = local ]; then
		kb=$(du -sk /tmp/bench-trace | cut -f 1)
	fi
	bench_lttng destroy "$session"
	rm -rf /tmp/bench-trace
	say "bench trace $kind $way $run $session $((b1 - b0)) $discarded $kb $rate"
}

mode_bench()
{
	local runs way ways=local\ hyper\ net i rate

	runs=$(param runs 5)
	[ -n "$(param net '')" ] || fail "lh.mode=bench needs lh.net=HOST:CTRL:DATA"
	ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up ||
		fail "cannot bring eth0 up (boot with --user-net)"
	if [ "$(param output-hyper 0)" = 1 ]; then
		BENCH_DATA_PORT=/dev/virtio-ports/org.lttng.hyper.data.ust64
		find_port org.lttng.hyper.data.ust64 || fail "no data port org.lttng.hyper.data.ust64"
		ways="$ways ohyper"
	fi
	start_hyperd
	lttng-sessiond -d --no-kernel || fail "lttng-sessiond did not start"
	wait_channel
	say "bench start: $(nproc) CPUs, $runs runs, ways: $ways"
	bench_idle
	bench_raw
	bench_push
	# Before any ohyper run: lttng-consumerd keeps the data port open
	# once it wrote to it, and a port has one opener at a time.
	if [ -n "${BENCH_DATA_PORT:-}" ]; then
		bench_push pushport
	fi
	# The ways alternate, so that a noisy host hits them alike.
	for i in $(seq "$runs"); do
		for way in $ways; do
			bench_trace cost "$way" "$i"
		done
	done
	for i in $(seq "$runs"); do
		for rate in $(param rate 100000 | tr , ' '); do
			for way in $ways; do
				bench_trace discard "$way" "$i" "$rate"
			done
		done
	done
	stop_hyperd
}

# The capacity and the round trip of the path to the host's lttng-relayd,
# through lttng-hyperd: nothing else runs, not even lttng-sessiond.
mode_pushbench()
{
	local i out

	start_hyperd
	wait_channel
	say "pushbench start: $(nproc) CPUs, $(param runs 5) runs"
	for i in $(seq "$(param runs 5)"); do
		out=$(relayd-push -s "$(param push-mb 256)M" 2>&1) ||
			fail "relayd-push failed: $out"
		say "pushbench push $i $out"
		out=$(relayd-push --latency "$(param rounds 1000)" 2>&1) ||
			fail "relayd-push --latency failed: $out"
		say "pushbench latency $i $out"
	done
	stop_hyperd
}

# The cost of a hypercall, a CPUID and a plain instruction at this level:
# nothing else runs.
mode_hcbench()
{
	local out

	command -v hypercall-bench > /dev/null ||
		fail "no hypercall-bench in this image (build it with build-guest.sh --bench)"
	out=$(hypercall-bench -r "$(param runs 5)" -n "$(param calls 10000)" 2>&1) ||
		fail "hypercall-bench failed: $out"
	echo "$out" | while IFS= read -r line; do
		say "hcbench $line"
	done
}

# The guest's side of pingpong over its own port, traced to the host, whose
# pingpong plays the other side through QEMU's socket of that port.
mode_pingpong()
{
	local rounds

	rounds=$(param rounds 1000)
	find_port "$PINGPONG_PORT" || fail "no virtio-serial port named $PINGPONG_PORT"
	# The host checks that this clock is wrong, as the RTC set it.
	say "wall clock: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	start_hyperd
	lttng-sessiond -d --no-kernel || fail "lttng-sessiond did not start"
	say "lttng-sessiond started"
	wait_channel

	run_lttng create pingpong --set-url=net://127.0.0.1
	run_lttng enable-channel -u --blocking-timeout=inf chan
	run_lttng enable-event -u -c chan 'hyper_pingpong:*'
	run_lttng start
	# The relay's clock estimate tightens as its probe rounds (one a
	# second) accumulate: let a few pass before the game.
	sleep 3
	say "playing $rounds rounds of pingpong on /dev/virtio-ports/$PINGPONG_PORT"
	LTTNG_UST_ALLOW_BLOCKING=1 LTTNG_UST_REGISTER_TIMEOUT=-1 \
		pingpong --device "/dev/virtio-ports/$PINGPONG_PORT" -n "$rounds" \
		-t "$(param wait 60)" || fail "pingpong exited with status $?"
	say "pingpong done"

	run_lttng stop
	run_lttng destroy
	stop_hyperd
}

# Only check the channel: the host reads this line from the port's socket.
mode_port()
{
	say "writing to $PORT_LINK"
	echo "hello from $(hostname) through $PORT_NAME" > "$PORT_LINK" ||
		fail "cannot write to $PORT_LINK"
	say "written"
}

mode_shell()
{
	say "starting a shell; exit it to power off"
	setsid cttyhack sh -l
}

mount_fs || fail "cannot mount the pseudo file systems"
mode=$(param mode trace)
if [ "$mode" = nested ]; then
	l2_names=$(param l2-name l2 | tr ',' ' ')
fi
# The KVM probe only needs to know that userspace was reached.
say "userspace reached (mode=$mode)"
if [ "$mode" = probe ]; then
	finish
fi
start_watchdog
start_heartbeat

hostname "$(param hostname lttng-guest)"
# No network device, but lttng reaches lttng-hyperd over the loopback.
ip link set lo up || fail "cannot bring the loopback up"
load_modules || fail "cannot load the virtio modules"
find_port "$PORT_NAME" || fail "no virtio-serial port named $PORT_NAME"
# The host checks that the hyper channel is the guest's only way out.
say "network interfaces: $(cd /sys/class/net && echo *)"
say "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

case "$mode" in
trace)
	mode_trace
	;;
nested)
	mode_nested
	;;
port)
	mode_port
	;;
shell)
	mode_shell
	;;
bench)
	mode_bench
	;;
pushbench)
	mode_pushbench
	;;
hcbench)
	mode_hcbench
	;;
pingpong)
	mode_pingpong
	;;
*)
	fail "unknown mode '$mode' (lh.mode=trace|nested|port|shell|probe|bench|pushbench|hcbench|pingpong)"
	;;
esac
echo "lh-guest: done"
finish
