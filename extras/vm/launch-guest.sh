#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Boot an lttng-hyper guest under QEMU: no network device at all, and a
# virtio-serial port named org.lttng.hyper.0 on a host unix socket, where
# lttng-hyper-relayd (--vm NAME=unix:PATH) finds it.

set -eu -o pipefail

prog=${0##*/}
. "$(dirname "$(readlink -f "$0")")/../lib.sh"

usage()
{
	cat <<EOF
Usage: $prog --kernel K --initrd I --socket PATH [OPTIONS]

Options:
  --kernel FILE          guest kernel (build-guest.sh's vmlinuz)
  --initrd FILE          guest initramfs (build-guest.sh's initrd.img)
  --socket PATH          unix socket of the org.lttng.hyper.0 port (QEMU listens)
  --name NAME            VM name, also the guest's hostname unless --append sets
                         lh.hostname, and the name of QEMU's threads (default:
                         lttng-guest)
  --append ARGS          more kernel command line, e.g. 'lh.mode=port lh.events=1000'
  --mem MB               guest memory (default: 512)
  --smp N                guest CPUs (default: 2)
  --accel auto|kvm|tcg   accelerator (default: auto: KVM if a probe boot reaches
                         userspace in time, else TCG)
  --probe-timeout S      how long the KVM probe may take (default: 20)
  --guest-timeout S      the guest gives up once it has been up S s
                         (lh.timeout): it shows what each of its processes
                         waits in and powers off with a FAILED line
  --heartbeat S          the guest prints a line every S s (lh.heartbeat), so
                         that silence means its kernel stopped running it
  --rtc-base BASE        QEMU -rtc base= (utc, localtime or a date)
  --serial-log FILE      write the console there instead of to stdout
  --pidfile FILE         write QEMU's PID there (to kill the VM abruptly, in tests)
  --monitor PATH         QEMU's human monitor on a unix socket at PATH (to see
                         where a hung guest's vCPUs are: info registers -a)
  --data-ports PREFIX    the data ports of enable-channel --output=hyper:
                         org.lttng.hyper.data.ust64, .ust32 and .kernel on the
                         sockets PREFIX-ust64.sock, PREFIX-ust32.sock and
                         PREFIX-kernel.sock (the host relay's --vm-data)
  --extra-port NAME=SOCK another virtio-serial port (repeatable)
  --ivshmem FILE         give the guest an ivshmem-plain device on FILE (a
                         memory-backend-file, share=on; its size, 4 MiB if FILE
                         does not exist yet), for a hyper channel over shared
                         memory, and its bell, the port org.lttng.hyper.bell on
                         the socket FILE.bell: the host's
                         ivshmem-host:FILE,bell=FILE.bell. Repeatable: the
                         Nth device after the first has the bell
                         org.lttng.hyper.bell.N
  --vsock-cid CID        give the guest a vsock device (vhost-vsock-pci, which
                         needs /dev/vhost-vsock) with context id CID, for a
                         hyper channel vsock:CID:PORT
  --user-net             give the guest a virtio-net device on QEMU's user-mode
                         network (the guest reaches the host's 127.0.0.1 at
                         10.0.2.2): only for comparisons with stock net://
  --cache DIR            where the KVM probe's verdict is kept
                         (default: \${XDG_CACHE_HOME:-\$HOME/.cache}/lttng-hyper)
  -h, --help             show this help
EOF
}

kernel=
initrd=
socket=
name=lttng-guest
append=
mem=512
smp=2
accel=auto
probe_timeout=20
guest_timeout=
heartbeat=
rtc_base=
serial_log=
pidfile=
monitor=
extra_ports=()
ivshmem=()
vsock_cid=
user_net=0
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lttng-hyper

while [ $# -gt 0 ]; do
	[ "$1" = -h ] || [ "$1" = --help ] || [ "$1" = --user-net ] || [ $# -ge 2 ] ||
		die "$1 needs a value"
	case "$1" in
	--user-net)
		user_net=1
		shift
		continue
		;;
	--kernel)
		kernel=$2
		;;
	--initrd)
		initrd=$2
		;;
	--socket)
		socket=$2
		;;
	--name)
		name=$2
		;;
	--append)
		append=$2
		;;
	--mem)
		mem=$2
		;;
	--smp)
		smp=$2
		;;
	--accel)
		accel=$2
		;;
	--probe-timeout)
		probe_timeout=$2
		;;
	--guest-timeout)
		guest_timeout=$2
		;;
	--heartbeat)
		heartbeat=$2
		;;
	--rtc-base)
		rtc_base=$2
		;;
	--serial-log)
		serial_log=$2
		;;
	--pidfile)
		pidfile=$2
		;;
	--monitor)
		monitor=$2
		;;
	--data-ports)
		for kind in ust64 ust32 kernel; do
			extra_ports+=("org.lttng.hyper.data.$kind=$2-$kind.sock")
		done
		;;
	--extra-port)
		extra_ports+=("$2")
		;;
	--ivshmem)
		ivshmem+=("$2")
		;;
	--vsock-cid)
		vsock_cid=$2
		;;
	--cache)
		cache=$2
		;;
	-h|--help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown option '$1'"
		;;
	esac
	shift 2
done

[ -n "$kernel" ] && [ -n "$initrd" ] && [ -n "$socket" ] ||
	die "--kernel, --initrd and --socket are required (see --help)"
[ -r "$kernel" ] || die "cannot read the kernel $kernel"
[ -r "$initrd" ] || die "cannot read the initramfs $initrd"
[ -d "$(dirname "$socket")" ] || die "no folder for the socket $socket"
case "$accel" in
auto|kvm|tcg)
	;;
*)
	die "--accel must be auto, kvm or tcg"
	;;
esac
qemu=$(command -v qemu-system-x86_64) ||
	die "qemu-system-x86_64 not found; on Debian: apt-get install qemu-system-x86"

cmdline="console=ttyS0 panic=-1 quiet"
case " $append " in
*" lh.hostname="*)
	;;
*)
	cmdline="$cmdline lh.hostname=$name"
	;;
esac
cmdline="$cmdline${guest_timeout:+ lh.timeout=$guest_timeout}${heartbeat:+ lh.heartbeat=$heartbeat}"
cmdline="$cmdline${append:+ $append}"

# What every boot shares, the KVM probe's included.
base=("$qemu" -nodefaults -nographic -no-reboot -nic none
	-m "$mem" -kernel "$kernel" -initrd "$initrd")

qemu_pid=
cleanup()
{
	if [ -n "$qemu_pid" ]; then
		kill "$qemu_pid" 2> /dev/null || true
		wait "$qemu_pid" 2> /dev/null || true
	fi
	if [ -n "${probe_dir:-}" ]; then
		rm -rf "$probe_dir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# KVM that is not hardware virtualization (kvm_pvm on a VM without nested
# VT-x) emulates guest kernel mode and needs minutes to boot: boot with
# lh.mode=probe, which powers off as soon as userspace runs, and see whether
# that happens in time.
probe_kvm()
{
	local log=$probe_dir/serial.log status=0

	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	timeout --kill-after=2 "$probe_timeout" "${base[@]}" -accel kvm -cpu host \
		-smp 1 -serial "file:$log" -append "console=ttyS0 panic=-1 quiet lh.mode=probe" \
		2> "$probe_dir/qemu.err" &
	qemu_pid=$!
	# QEMU may abort there; its own message is in qemu.err, not bash's.
	wait "$qemu_pid" 2> /dev/null || status=$?
	qemu_pid=
	if grep -q 'lh-guest: .*userspace reached' "$log"; then
		return 0
	fi
	if [ $status -eq 124 ] || [ ! -s "$probe_dir/qemu.err" ]; then
		log "KVM probe: no userspace after $probe_timeout s"
	else
		log "KVM probe: $(head -n 1 "$probe_dir/qemu.err")"
	fi
	return 1
}

# The command line as one would type it: quote only what needs it.
shell_words()
{
	local word out=

	for word in "$@"; do
		case "$word" in
		*[!A-Za-z0-9_./=,:+@%-]*|'')
			word="'${word//\'/\'\\\'\'}'"
			;;
		esac
		out="$out${out:+ }$word"
	done
	echo "$out"
}

if [ "$accel" = auto ]; then
	key=$(cat /proc/sys/kernel/random/boot_id)-$(sha256sum < "$kernel" | cut -c 1-16)
	verdict=$cache/accel/$key
	if [ -r "$verdict" ]; then
		accel=$(cat "$verdict")
		log "accelerator: $accel (probed earlier since this host booted)"
	else
		log "probing KVM (at most $probe_timeout s)"
		probe_dir=$(mktemp -d "${TMPDIR:-/tmp}/lttng-hyper-probe.XXXXXX")
		if probe_kvm; then
			accel=kvm
		else
			accel=tcg
		fi
		log "accelerator: $accel"
		mkdir -p "$cache/accel" && echo "$accel" > "$verdict" ||
			log "warning: cannot keep the probe's verdict in $cache"
	fi
else
	log "accelerator: $accel (as asked)"
fi

# Under TCG every vCPU reads one TSC, QEMU's, which follows the host's. A
# guest of more than one vCPU would take it for unsynchronized (its kernel
# assumes so of an AMD CPU without constant_tsc) and keep time with the
# HPET; its KVM would then keep no master clock, and the clock of a VM it
# runs would step at each kvm-clock update (doc/clock-sync.md).
if [ "$accel" = tcg ]; then
	case " $cmdline " in
	*" tsc="*)
		;;
	*)
		cmdline="$cmdline tsc=reliable"
		;;
	esac
	# The kernel checks at boot that the timer's interrupt comes within a
	# few ticks; under TCG on a busy host it may not, and the kernel panics
	# ("IO-APIC + timer doesn't work!"): seen once in 80 boots of two
	# guests at once.
	case " $cmdline " in
	*" no_timer_check "*)
		;;
	*)
		cmdline="$cmdline no_timer_check"
		;;
	esac
fi

# QEMU's threads take the VM's name (15 bytes of it), so that a trace of
# this host's kernel tells which VM's vCPU a KVM event is from (procname).
args=("${base[@]}" -name "guest=$name,process=$name" -smp "$smp" -accel "$accel")
if [ "$accel" = kvm ]; then
	args+=(-cpu host)
fi
if [ -n "$rtc_base" ]; then
	args+=(-rtc "base=$rtc_base")
fi
if [ -n "$pidfile" ]; then
	args+=(-pidfile "$pidfile")
fi
if [ -n "$monitor" ]; then
	args+=(-monitor "unix:$monitor,server=on,wait=off")
fi
if [ -n "$serial_log" ]; then
	args+=(-serial "file:$serial_log")
else
	args+=(-serial mon:stdio)
fi
# The guest has no other entropy source early on (no RDRAND under TCG).
args+=(-device virtio-rng-pci)
args+=(-device "virtio-serial-pci,id=vser0"
	-chardev "socket,id=hyper0,path=$socket,server=on,wait=off"
	-device "virtserialport,bus=vser0.0,chardev=hyper0,name=org.lttng.hyper.0")
n=1
for port in "${extra_ports[@]}"; do
	case "$port" in
	?*=?*)
		;;
	*)
		die "--extra-port takes NAME=SOCKET, not '$port'"
		;;
	esac
	args+=(-chardev "socket,id=port$n,path=${port#*=},server=on,wait=off"
		-device "virtserialport,bus=vser0.0,chardev=port$n,name=${port%%=*}")
	n=$((n + 1))
done
n=0
for shm in "${ivshmem[@]}"; do
	# QEMU refuses a file whose size is not the backend's: take the file's.
	size=$(stat -c %s "$shm" 2> /dev/null || echo 0)
	if [ "$size" -eq 0 ]; then
		size=$((4 << 20))
	fi
	bell=org.lttng.hyper.bell
	if [ "$n" -gt 0 ]; then
		bell=$bell.$n
	fi
	args+=(-object "memory-backend-file,id=lhshm$n,share=on,mem-path=$shm,size=$size"
		-device "ivshmem-plain,memdev=lhshm$n"
		-chardev "socket,id=lhbell$n,path=$shm.bell,server=on,wait=off"
		-device "virtserialport,bus=vser0.0,chardev=lhbell$n,name=$bell")
	n=$((n + 1))
done
if [ -n "$vsock_cid" ]; then
	[ -c /dev/vhost-vsock ] || die "--vsock-cid needs /dev/vhost-vsock: modprobe vhost_vsock"
	args+=(-device "vhost-vsock-pci,guest-cid=$vsock_cid")
fi
if [ "$user_net" -eq 1 ]; then
	args+=(-nic user,model=virtio-net-pci)
fi
args+=(-append "$cmdline")

log "running: $(shell_words "${args[@]}")"
# Explicit stdin: a background job of a script would get /dev/null, and
# the console on stdio must stay interactive (lh.mode=shell).
"${args[@]}" <&0 &
qemu_pid=$!
status=0
wait "$qemu_pid" || status=$?
qemu_pid=
exit "$status"
