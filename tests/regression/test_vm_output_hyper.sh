#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# enable-channel --output=hyper in real VMs (QEMU): the guest image with
# lttng-tools patched for it (extras/lttng-tools/) and lttng-modules, booted
# with lh.output=hyper. Each lttng-consumerd writes its channels' packets
# into a virtio-serial data port of its own (org.lttng.hyper.data.ust64,
# .kernel), which lttng-hyper-relayd takes with --vm-data; the control
# connections still go through lttng-hyperd. One relay serves every VM:
#
# - a hostile data port while a good VM traces: vm-evil, a guest role, runs
#   tests/utils/port-guest on its data port with three attacks (garbage, a
#   frame for a stream of the good VM, a frame cut short); each closes
#   that port alone, with its log line, and vm-good's trace is complete,
#   its channel and data port up once all through;
# - kernel and user space in one session (lh.kernel=1): every UST event,
#   scheduler events, system call entries and exits that pair up in each
#   thread, no discarded event, and the stream files' bytes counted by the
#   relay on each data port;
# - a VM killed mid-trace (lh.switch-timer, a paced workload): the relay
#   goes on, the trace cut short reads in babeltrace2 as seq 0..K-1, and
#   the VM boots again on the same channel and ports, its new session
#   complete.

. "$(dirname "$0")/lib.sh"

TOOLS=$LH_LTTNG_TOOLS
LH_PORT_GUEST=$top_builddir/tests/utils/port-guest
export LH_PORT_GUEST
SMP=2

# The good VM traces slowly enough to outlast the attacks.
GOOD='vm-good'
GOOD_EVENTS=50000
GOOD_RATE=5000
EVIL='vm-evil'
ATTACKS=(garbage foreign cut)
# Event numbers of each attack run start at a multiple of this.
RUN_SPAN=1000000

# Kernel and user space.
KVM_NAME='vm-kernel'
K_EVENTS=50000
# Threads whose first system call event is an exit, or last an entry:
# calls in flight when tracing starts or stops. The guest's daemons block
# in a few each; a lost event in the middle breaks the pairing anyway.
INFLIGHT_PER_CPU=8

# The VM killed mid-trace, then booted again.
KILLED='vm-killed'
A_EVENTS=1000000
A_RATE=5000
A_SWITCH_TIMER_US=200000
A2_EVENTS=20000
# One vCPU: each CPU's stream loses its own tail to the kill, so on two
# the trace cut short may miss events below its last seq (a stream cut
# earlier than another); with one stream, what arrived is a prefix.
KILLED_SMP=1

if [ "$(id -u)" -eq 0 ] && [ ! -x "$TOOLS/bin/lttng-sessiond" ]; then
	echo "1..0 # SKIP no lttng-tools patched for --output=hyper at $TOOLS" \
		"(extras/lttng-tools/build-lttng-tools.sh builds it; LH_LTTNG_TOOLS names another)"
	exit 0
fi
lh_require "$LH_PORT_GUEST"

TESTS_EVIL=$((10 + 2 * ${#ATTACKS[@]}))
TESTS_KERNEL=10
TESTS_KILLED=12
lh_init $((1 + 1 + TESTS_EVIL + TESTS_KERNEL + TESTS_KILLED))
if ! command -v qemu-system-x86_64 >/dev/null; then
	skip $((LH_PLANNED - LH_RAN)) "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
	exit 0
fi
lh_pick_ports 3
RELAY_LOG=$LH_TMP/relay-main.log
EVIL_DATA=$LH_TMP/$EVIL-data.sock

# build_image: the guest image with the patched lttng-tools and
# lttng-modules. A failure to fetch the kernel or lttng-modules-dkms (no
# package list, no registry) means it cannot be built here; any other
# failure is a real one.
build_image()
{
	local log=$LH_TMP/build-guest.log

	(cd "$top_builddir" && timeout 900 "$LH_VM_DIR/build-guest.sh" --kernel-tracing \
		--lttng-tools "$TOOLS" -o "$LH_TMP/guest" --hyperd "$LH_HYPERD" \
		--gen-events "$LH_GEN_EVENTS") >"$log" 2>&1 && return 0
	if grep -q -E 'apt-get download|package list|apt-get update|not enough room' "$log"; then
		skip $((LH_PLANNED - LH_RAN)) "the guest image cannot be built here: $(grep -m 1 error: "$log")"
		exit 0
	fi
	return 1
}

# boot ID VM APPEND [SMP]: lh_vm_boot with VM's data ports on
# $LH_TMP/VM-data-{ust64,ust32,kernel}.sock.
boot()
{
	lh_vm_boot "$1" "$2" --smp "${4:-$SMP}" --data-ports "$LH_TMP/$2-data" \
		--append "lh.output=hyper $3"
}

# The --vm and --vm-data options of VM, with the data ports of KINDS.
vm_args()
{
	local vm=$1 kind

	shift
	echo "--vm $vm=unix:$LH_TMP/$vm.sock"
	for kind in "$@"; do
		echo "--vm-data $vm=unix:$LH_TMP/$vm-data-$kind.sock"
	done
}

# The session folders the host wrote for VM, oldest first.
sessions()
{
	find "$LH_OUT/$1" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort
}

# relay_since LINE REGEX [TO]: the relay's log lines after line LINE (up
# to line TO) that match.
relay_since()
{
	tail -n +$(($1 + 1)) "$RELAY_LOG" | head -n "$((${3:-1000000000} - $1))" | grep -E "$2"
}

# port_bytes LINE VM KIND [TO]: the bytes the relay passed to lttng-relayd
# from VM's KIND data port, over the sessions whose data connection closed
# after log line LINE (up to line TO): "data port LABEL: data connection of
# session N to lttng-relayd closed (WHY): F frames, B bytes", the label
# naming the port's socket.
port_bytes()
{
	relay_since "$1" "\[vm=$2\] data port unix:$LH_TMP/$2-data-$3\.sock: data connection of session [0-9]+ to lttng-relayd closed" "${4:-}" |
		sed -n 's/.* \([0-9][0-9]*\) bytes$/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

# file_bytes DIR NAME_GLOB: the bytes of the stream files under DIR.
file_bytes()
{
	find "$1" -type f -name "$2" ! -path '*/index/*' -printf '%s\n' |
		awk '{ s += $1 } END { print s + 0 }'
}

# port_carried LINE VM KIND DIR GLOB [TO]: the data port carried at least
# 90% of the bytes of the stream files under DIR (each file ends with
# padding of its own), counting the sessions that ended after log line
# LINE (up to line TO).
port_carried()
{
	CARRIED=$(port_bytes "$1" "$2" "$3" "${6:-}")
	FILES=$(file_bytes "$4" "$5")
	[ "$FILES" -gt 0 ] && [ "$CARRIED" -ge $((FILES * 9 / 10)) ]
}

# indexed_content DIR: "PACKETS BYTES", the packets the index files under
# DIR list, and the sum of their content sizes.
indexed_content()
{
	python3 - "$1" <<'EOF'
import os, struct, sys
packets = content = 0
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        if os.path.basename(root) != 'index' or not name.endswith('.idx'):
            continue
        with open(os.path.join(root, name), 'rb') as f:
            data = f.read()
        # CTF index: magic, major, minor, entry length; then the entries:
        # offset, packet_size, content_size (bits), ...
        size = struct.unpack('>I', data[12:16])[0]
        for off in range(16, len(data) - size + 1, size):
            packets += 1
            content += (struct.unpack('>Q', data[off + 16:off + 24])[0] + 7) // 8
print(packets, content)
EOF
}

# The channel and data-port life of VM since log line LINE: "U D P Q",
# channel up and down lines, data port up and down lines.
vm_ups()
{
	local since=$1 vm=$2

	printf '%d %d %d %d\n' \
		"$(relay_since "$since" "\[vm=$vm\] channel up" | wc -l)" \
		"$(relay_since "$since" "\[vm=$vm\] channel down" | wc -l)" \
		"$(relay_since "$since" "\[vm=$vm\] data port [^ ]+ up$" | wc -l)" \
		"$(relay_since "$since" "\[vm=$vm\] data port [^ ]+ down after" | wc -l)"
}

# VM's trace on the host has metadata and packets.
packets_arrived()
{
	[ -n "$(find "$LH_OUT/$1" -path '*/64-bit/chan_*' -size +0 2>/dev/null)" ] &&
		[ -n "$(find "$LH_OUT/$1" -path '*/64-bit/metadata' -size +0 2>/dev/null)" ]
}

# VM's streams exist on the host (lttng-relayd made their files).
streams_exist()
{
	[ -n "$(find "$LH_OUT/$1" -path '*/64-bit/chan_*' 2>/dev/null)" ]
}

# --- in the evil guest role -----------------------------------------------------

# Once FLAG exists, one port-guest run per attack on the data port; each
# must see the relay close the port (or cut it itself) and go on.
evil_run()
{
	local port=$1 flag=$2 span=$3 base=$3 mode status=0

	lh_wait_for 240 test -e "$flag" || return 1
	for mode in garbage foreign cut; do
		"$LH_PORT_GUEST" -p "unix:$port" -N "$mode" -s 1 -S 2 -n 20 -e 50 -b "$base" \
			-a "$mode" -k 9 -f 1 -x "$LH_GUEST_DIR/$mode.expect" \
			>"$LH_GUEST_DIR/$mode.out" 2>&1 || status=1
		base=$((base + span))
	done
	return "$status"
}
export -f evil_run

# --- the image, the relay -------------------------------------------------------

start_s=$SECONDS
build_image
ok $? "the guest image with the patched lttng-tools and lttng-modules builds ($((SECONDS - start_s)) s)" ||
	bail_out "$(tail -n 5 "$LH_TMP/build-guest.log")"

# shellcheck disable=SC2046 # vm_args: words without blanks
lh_relay_start main $(vm_args "$GOOD" ust64) $(vm_args "$KVM_NAME" ust64 kernel) \
	$(vm_args "$KILLED" ust64) \
	--vm "$EVIL=unix-listen:$LH_TMP/$EVIL.sock" --vm-data "$EVIL=unix-listen:$EVIL_DATA"
ok $? "lttng-hyper-relayd started for $GOOD, $KVM_NAME, $KILLED and $EVIL, with their data ports" ||
	bail_out "no relay"
RELAY_PID=$(lh_relay_pid main)

# --- a hostile data port while a good VM traces -----------------------------------

# lttng-relayd numbers streams from 1, for every VM: the good VM's streams
# come first, so that stream 1 is one of them (the foreign attack's).
flag=$LH_TMP/attack
lh_guest -u evil-guest -c "$LH_TMP/$EVIL.sock" "$LH_TMP/evil" \
	evil_run "$EVIL_DATA" "$flag" "$RUN_SPAN" &
evil_pid=$!
start_s=$SECONDS
boot good "$GOOD" "lh.events=$GOOD_EVENTS lh.rate=$GOOD_RATE"
good_pid=$LH_VM_PID

lh_vm_wait_console 180 good ' tracing ' && lh_wait_for 60 streams_exist "$GOOD" &&
	[ "$(ls -A "$LH_OUT")" = "$GOOD" ]
ok $? "$GOOD traces, and its streams are the first the relay's lttng-relayd made" ||
	bail_out "$GOOD did not get to trace: $(lh_vm_console good | tail -n 3)"
touch "$flag"
attack_s=$SECONDS
wait "$evil_pid"
evil_status=$?
diag "the attacks took $((SECONDS - attack_s)) s"
! lh_vm_console good | grep -q ' workload done$'
ok $? "$GOOD still traced when the attacks were over" ||
	diag "$GOOD was done first: raise GOOD_EVENTS or lower GOOD_RATE"
ok "$evil_status" "$EVIL: the three attack runs did as they must" ||
	diag "$(tail -n 4 "$LH_TMP/evil/"*.out "$LH_TMP/evil/guest.log")"

for mode in "${ATTACKS[@]}"; do
	lh_port_attack_checks "$EVIL" "unix-listen:$EVIL_DATA" "$RELAY_LOG" "$LH_TMP/evil" "$mode"
done
# Each run connects to the port, and again after its attack; the channel
# goes down once, when the role ends.
read -r eu ed pu pd <<<"$(vm_ups 0 "$EVIL")"
[ "$eu" -eq 1 ] && [ "$pu" -eq $((2 * ${#ATTACKS[@]})) ] &&
	! grep -E "\[vm=$EVIL\] closing channel" "$RELAY_LOG" | grep -qv 'peer closed the channel'
ok $? "$EVIL: the attacks closed its data port alone, its channel stayed up" \
	"(channel up $eu, down $ed; port up $pu, down $pd)"

# What port-guest sent whole, on each connection of the port, is written
# once; the cut stream is trimmed once lttng-relayd is done with it.
lh_wait_for 30 grep -qE "\[vm=$EVIL\] Trimmed the partial last packet of $EVIL/cut-" "$RELAY_LOG"
evil_seqs=$(set -o pipefail
	timeout "$LH_CMD_TIMEOUT" babeltrace2 --names=payload "$LH_OUT/$EVIL" 2>/dev/null |
	sed -n 's/^.*hyper_test:seq: .*seq = \([0-9]*\).*$/\1/p' | sort -n)
ok $? "babeltrace2 reads OUT/$EVIL"
[ "$evil_seqs" = "$(sort -n "$LH_TMP/evil/"*.expect)" ]
ok $? "OUT/$EVIL holds the $(cat "$LH_TMP/evil/"*.expect | wc -l) events port-guest sent whole, once" \
	"(found $(grep -c . <<<"$evil_seqs"))"

lh_vm_wait "$good_pid" good
ok $? "$GOOD traced $GOOD_EVENTS events and powered off ($((SECONDS - start_s)) s)" ||
	diag "$(lh_vm_console good | tail -n 5)"
dir=$LH_OUT/$GOOD/$(sessions "$GOOD" | tail -n 1)
lh_trace_stats "$dir" && lh_trace_complete "$GOOD_EVENTS"
ok $? "$GOOD: $(lh_trace_describe)"
lh_wait_for 10 eval '[ "$(port_bytes 0 "$GOOD" ust64)" -gt 0 ]'
port_carried 0 "$GOOD" ust64 "$dir" 'chan_*'
ok $? "$GOOD: its data port carried its packets ($CARRIED bytes for $FILES bytes of stream files)"
read -r gu gd pu pd <<<"$(vm_ups 0 "$GOOD")"
[ "$gu" -eq 1 ] && [ "$pu" -eq 1 ] &&
	! grep -E "\[vm=$GOOD\] (closing channel|data port .*(closing the port|middle of a frame))" \
		"$RELAY_LOG" | grep -qv 'peer closed the channel'
ok $? "$GOOD: its channel and its data port came up once, and only the guest closed them" \
	"(channel up $gu, down $gd; port up $pu, down $pd)"

# --- kernel and user space in one session -------------------------------------------

since=$(wc -l <"$RELAY_LOG")
start_s=$SECONDS
boot kernel "$KVM_NAME" "lh.kernel=1 lh.events=$K_EVENTS"
lh_vm_wait "$LH_VM_PID" kernel
ok $? "$KVM_NAME: lh.kernel=1 lh.output=hyper traced and powered off ($((SECONDS - start_s)) s)" ||
	diag "$(lh_vm_console kernel | tail -n 5)"
lh_vm_console kernel | grep -q -E ' lttng enable-channel -k --output=hyper ' &&
	lh_vm_console kernel | grep -q ' tracing the kernel: '
ok $? "$KVM_NAME: the kernel channel is a hyper channel, with sched_switch, sched_wakeup and all system calls"

session=$(sessions "$KVM_NAME" | tail -n 1)
dir=$LH_OUT/$KVM_NAME/$session
[ -n "$session" ] && [ "$(sessions "$KVM_NAME" | wc -l)" -eq 1 ] && [ -f "$dir/kernel/metadata" ] &&
	[ -n "$(find "$dir/ust" -name metadata -type f)" ]
ok $? "$KVM_NAME: both domains arrived in one session: OUT/$KVM_NAME/$session/{kernel,ust}"

# Per CPU, the thread running is the one that sched_switch last put there
# (before a CPU's first switch, its prev_tid): each thread's system call
# entries and exits must alternate. A thread's first event may be an exit
# (a call in flight at start, or the child's side of clone), its last an
# entry (in flight at stop, or exit_group). rt_sigreturn (15 on x86_64)
# has no exit event. Raw counts per CPU do not balance: a thread that
# blocks in a call on one CPU may return on the other. Prints "SWITCHES
# WAKEUPS ENTRIES EXITS UNPAIRED LEADING_EXITS TRAILING_ENTRIES
# UNKNOWN_THREAD CPU:ENTRIES:EXITS...".
syscall_pairs()
{
	awk '
	function pair(t, kind) {
		if (t in last) {
			if (last[t] == kind) {
				unpaired++
			}
		} else if (kind == "X") {
			lead++
		}
		last[t] = kind
	}
	{
		if (!match($0, /cpu_id = [0-9]+/)) {
			next
		}
		cpu = substr($0, RSTART + 9, RLENGTH - 9)
	}
	/ sched_wakeup: / {
		wk++
	}
	/ sched_switch: / {
		sw++
		if (!(cpu in cur) && match($0, /prev_tid = [0-9]+/)) {
			t = substr($0, RSTART + 11, RLENGTH - 11)
			for (i = 1; i <= length(pending[cpu]); i++) {
				pair(t, substr(pending[cpu], i, 1))
			}
			delete pending[cpu]
		}
		if (match($0, /next_tid = [0-9]+/)) {
			cur[cpu] = substr($0, RSTART + 11, RLENGTH - 11)
		}
		next
	}
	/ syscall_(entry|exit)_/ {
		kind = index($0, " syscall_entry_") ? "E" : "X"
		if (kind == "E") {
			en++
			cen[cpu]++
			if ($0 ~ / syscall_entry_rt_sigreturn: / ||
					$0 ~ / syscall_entry_unknown: .*\{ id = 15,/) {
				next
			}
		} else {
			ex++
			cex[cpu]++
		}
		if (cpu in cur) {
			pair(cur[cpu], kind)
		} else {
			pending[cpu] = pending[cpu] kind
		}
	}
	END {
		for (c in pending) {
			unknown += length(pending[c])
		}
		for (t in last) {
			if (last[t] == "E") {
				trail++
			}
		}
		printf "%d %d %d %d %d %d %d %d", sw, wk, en, ex, unpaired, lead, trail, unknown
		for (c in cen) {
			printf " cpu%s:%d:%d", c, cen[c], cex[c]
		}
		printf "\n"
	}'
}

err=$LH_TMP/kernel-bt.err
counts=$(set -o pipefail
	timeout "$LH_CMD_TIMEOUT" babeltrace2 "$dir/kernel" 2>"$err" | syscall_pairs)
ok $? "$KVM_NAME: babeltrace2 reads the kernel trace"
read -r switches wakeups entries exits unpaired lead trail unknown percpu <<<"$counts"
diag "$KVM_NAME kernel: $switches sched_switch, $wakeups sched_wakeup, $entries system call" \
	"entries, $exits exits; per CPU (entries:exits): $percpu; threads: $unpaired unpaired," \
	"$lead starting with an exit, $trail ending with an entry, $unknown on a CPU that never switched threads"
[ "${switches:-0}" -gt 0 ] && [ "${wakeups:-0}" -gt 0 ]
ok $? "$KVM_NAME: sched_switch and sched_wakeup events ($switches, $wakeups)"
allowed=$((SMP * INFLIGHT_PER_CPU))
diff=$((${entries:-0} - ${exits:-0}))
[ "${entries:-0}" -gt 0 ] && [ "${unpaired:-1}" -eq 0 ] && [ "${diff#-}" -le "$allowed" ] &&
	[ "${unknown:-1}" -eq 0 ]
ok $? "$KVM_NAME: each thread's system call entries and exits pair up ($unpaired unpaired;" \
	"$entries entries, $exits exits, at most $allowed in flight)"
discards=$(grep -c -i -E 'discarded|lost' "$err")
[ "$discards" -eq 0 ]
ok $? "$KVM_NAME: no discarded kernel events or lost packets ($discards warnings)"

lh_trace_stats "$dir/ust" && lh_trace_complete "$K_EVENTS"
ok $? "$KVM_NAME: user space, same session: $(lh_trace_describe)"

lh_wait_for 10 eval '[ "$(port_bytes "$since" "$KVM_NAME" kernel)" -gt 0 ] &&
	[ "$(port_bytes "$since" "$KVM_NAME" ust64)" -gt 0 ]'
port_carried "$since" "$KVM_NAME" kernel "$dir/kernel" 'kchan_*'
ok $? "$KVM_NAME: the kernel data port carried the kernel packets ($CARRIED bytes for $FILES bytes of stream files)"
port_carried "$since" "$KVM_NAME" ust64 "$dir/ust" 'chan_*'
ok $? "$KVM_NAME: the ust64 data port carried the user-space packets ($CARRIED bytes for $FILES bytes of stream files)"

# --- a VM killed mid-trace, booted again ---------------------------------------------

since=$(wc -l <"$RELAY_LOG")
boot killed "$KILLED" "lh.events=$A_EVENTS lh.rate=$A_RATE lh.switch-timer=$A_SWITCH_TIMER_US" \
	"$KILLED_SMP"
killed_pid=$LH_VM_PID
lh_vm_wait_console 180 killed ' tracing ' && lh_wait_for 30 packets_arrived "$KILLED" &&
	lh_wait_for 30 eval 'relay_since "$since" "\[vm=$KILLED\] data port .* up$" >/dev/null'
ok $? "$KILLED traces, and its metadata and first packets reached the host" ||
	bail_out "$KILLED did not get to trace: $(lh_vm_console killed | tail -n 3)"

killed_line=$(wc -l <"$RELAY_LOG")
lh_vm_kill killed
ok $? "SIGKILL to $KILLED's QEMU while it traces"
wait "$killed_pid"
lh_untrack_pid "$killed_pid"

lh_wait_for 10 eval 'relay_since "$killed_line" "\[vm=$KILLED\] channel down" >/dev/null &&
	relay_since "$killed_line" "\[vm=$KILLED\] data port .* down after" >/dev/null'
ok $? "the relay logs $KILLED's channel and data port down:" \
	"$(relay_since "$killed_line" "\[vm=$KILLED\] data port .* down after" | head -n 1 | sed 's/^.*\] //')"
kill -0 "$RELAY_PID" 2>/dev/null
ok $? "lttng-hyper-relayd goes on"

# The same VM boots again, on the same channel and data ports.
reboot_line=$(wc -l <"$RELAY_LOG")
start_s=$SECONDS
boot again "$KILLED" "lh.events=$A2_EVENTS"
lh_vm_wait "$LH_VM_PID" again
ok $? "$KILLED booted again, traced $A2_EVENTS events and powered off ($((SECONDS - start_s)) s)" ||
	diag "$(lh_vm_console again | tail -n 5)"
read -r cu _ pu _ <<<"$(vm_ups "$killed_line" "$KILLED")"
[ "$cu" -eq 1 ] && [ "$pu" -eq 1 ]
ok $? "the relay connected again to $KILLED's channel and data port (up $cu and $pu times)"

first=$(sessions "$KILLED" | head -n 1)
last=$(sessions "$KILLED" | tail -n 1)
[ "$(sessions "$KILLED" | wc -l)" -eq 2 ] && [ "$last" != "$first" ]
ok $? "$KILLED: two sessions, each in a folder of its own ($first, $last)"

lh_trace_stats "$LH_OUT/$KILLED/$first"
ok $? "$KILLED: babeltrace2 reads the trace cut short without error"
diag "$KILLED, killed: $(lh_trace_describe);" \
	"$(relay_since "$since" "\[vm=$KILLED\] Trimmed" | wc -l) stream files trimmed"
[ "$LH_COUNT" -gt 0 ] && [ "$LH_DUPS" -eq 0 ] && [ "$LH_MIN" -eq 0 ] &&
	[ "$LH_MAX" -eq $((LH_COUNT - 1)) ]
ok $? "$KILLED: the trace cut short holds seq 0..$LH_MAX, $LH_COUNT events, with no gap"
# Small packets (a switch timer, a slow workload) leave most of each
# stream file's pages as padding, which no frame carries: count the
# content of the packets the index lists instead.
lh_wait_for 10 eval '[ "$(port_bytes "$since" "$KILLED" ust64)" -gt 0 ]'
carried=$(port_bytes "$since" "$KILLED" ust64 "$reboot_line")
read -r packets content <<<"$(indexed_content "$LH_OUT/$KILLED/$first")"
[ "$content" -gt 0 ] && [ "$carried" -ge $((content * 9 / 10)) ]
ok $? "$KILLED: the data port carried the packets of the trace cut short ($carried bytes;" \
	"the index lists $packets packets, $content bytes of content)"

lh_trace_stats "$LH_OUT/$KILLED/$last" && lh_trace_complete "$A2_EVENTS"
ok $? "$KILLED: the new session is complete: $(lh_trace_describe)"
lh_wait_for 10 eval '[ "$(port_bytes "$reboot_line" "$KILLED" ust64)" -gt 0 ]'
port_carried "$reboot_line" "$KILLED" ust64 "$LH_OUT/$KILLED/$last" 'chan_*'
ok $? "$KILLED: the new session's packets came through the data port ($CARRIED bytes for $FILES bytes of stream files)"
