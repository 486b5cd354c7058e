#!/bin/sh
# /init of the lttng-hyper test guest (busybox sh), installed by build-guest.sh.
#
# Kernel command line parameters:
#   lh.mode=trace|port|shell|probe   what to do (default: trace)
#   lh.hostname=NAME                 guest hostname (default: lttng-guest)
#   lh.events=N                      events the traced workload emits (default: 200000)
#   lh.payload=BYTES                 payload size of each event (default: 0)
#   lh.wait=SECONDS                  how long to wait for the host (default: 60)
#   lh.verbose=1                     verbose lttng-hyperd (its log is shown on failure)
#
# Every line for the host starts with "lh-guest:". The last one is either
# "lh-guest: done" or "lh-guest: FAILED: <why>", so whoever reads the serial
# console can tell how the run went.

PORT_NAME=org.lttng.hyper.0
PORT_LINK=/dev/virtio-ports/$PORT_NAME
HYPERD_PID=/var/run/lttng-hyperd.pid
HYPERD_LOG=/tmp/lttng-hyperd.log

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LTTNG_HOME=/root

say()
{
	read -r up _ < /proc/uptime
	echo "lh-guest: [$up] $*"
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
	echo "lh-guest: FAILED: $*"
	if [ -s "$HYPERD_LOG" ]; then
		echo "lh-guest: last lines of the lttng-hyperd log:"
		tail -n 20 "$HYPERD_LOG"
	fi
	finish
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
	mount -t sysfs sysfs /sys &&
	mount -t devtmpfs devtmpfs /dev &&
	mkdir -p /dev/shm /dev/pts &&
	mount -t devpts devpts /dev/pts &&
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm &&
	mount -t tmpfs -o mode=1777 tmpfs /tmp &&
	mount -t tmpfs -o mode=0755 tmpfs /var/run/lttng
}

# The load order was worked out from the modules' dependencies at build time.
load_modules()
{
	dir=/lib/modules/$(uname -r)
	while read -r mod; do
		insmod "$dir/$mod" || return 1
	done < "$dir/lh-load-order"
}

# Without udev nobody makes /dev/virtio-ports/NAME: find the port by name.
find_port()
{
	tries=0
	while [ $tries -lt 50 ]; do
		for name in /sys/class/virtio-ports/*/name; do
			[ -r "$name" ] || continue
			[ "$(cat "$name")" = "$PORT_NAME" ] || continue
			vport=${name%/name}
			vport=${vport##*/}
			mkdir -p /dev/virtio-ports
			ln -sf "../$vport" "$PORT_LINK"
			say "port $PORT_NAME is /dev/$vport"
			return 0
		done
		tries=$((tries + 1))
		sleep 0.1
	done
	return 1
}

start_hyperd()
{
	set -- -d --pidfile "$HYPERD_PID" --log "$HYPERD_LOG" -c "virtio-serial:$PORT_LINK"
	if [ "$(param verbose 0)" = 1 ]; then
		set -- "$@" -vvv
	fi
	lttng-hyperd "$@" || fail "lttng-hyperd did not start"
	say "lttng-hyperd started (pid $(cat "$HYPERD_PID"))"
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

mode_trace()
{
	events=$(param events 200000)
	payload=$(param payload 0)

	start_hyperd
	lttng-sessiond -d --no-kernel || fail "lttng-sessiond did not start"
	say "lttng-sessiond started"
	wait_channel

	run_lttng create hyper --set-url=net://127.0.0.1
	run_lttng enable-channel -u --blocking-timeout=inf chan
	run_lttng enable-event -u -c chan 'hyper_test:*'
	run_lttng start

	set -- -n "$events"
	if [ "$payload" -gt 0 ]; then
		set -- "$@" --payload "$payload"
	fi
	say "tracing $events events of $payload payload bytes"
	# Blocking channel, and wait for sessiond at start: no event is lost.
	LTTNG_UST_ALLOW_BLOCKING=1 LTTNG_UST_REGISTER_TIMEOUT=-1 gen-events "$@" ||
		fail "gen-events exited with status $?"
	say "workload done"

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
# The KVM probe only needs to know that userspace was reached.
say "userspace reached (mode=$mode)"
if [ "$mode" = probe ]; then
	finish
fi

hostname "$(param hostname lttng-guest)"
# No network device, but lttng reaches lttng-hyperd over the loopback.
ip link set lo up || fail "cannot bring the loopback up"
load_modules || fail "cannot load the virtio modules"
find_port || fail "no virtio-serial port named $PORT_NAME"

case "$mode" in
trace)
	mode_trace
	;;
port)
	mode_port
	;;
shell)
	mode_shell
	;;
*)
	fail "unknown mode '$mode' (lh.mode=trace|port|shell|probe)"
	;;
esac
echo "lh-guest: done"
finish
