#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Cross-layer causality with a real VM (QEMU). The guest boots with its RTC,
# and so its wall clock, years off (-rtc base=2010-01-01), and plays the
# guest's side of pingpong over a second virtio-serial port,
# org.lttng.pingpong.0, tracing it through lttng-hyperd. The host role plays
# the other side through QEMU's unix socket of that port, tracing to the
# relay's lttng-relayd with net://. In `babeltrace2 OUT` (host and VM
# traces together), every send must come before its receive, in both
# directions and in every round, up to the clock error bound that the
# relay states in the VM's sync file. With the guest's own clock offset put
# back, the order must be wrong.
#
# Why up to the bound: under TCG here, a probe's fastest round trip is
# 115 to 210 us and the bound 75 to 165 us, while a pingpong message takes
# 3 to 90 us at its fastest. The estimate may be off by tens of us, within
# its bound, and then a few rounds out of 2000 come out reversed (by up to
# 15 us in our runs). The loopback test (test_causality.sh), whose clock
# estimate is good to a few us, checks the strict order.

. "$(dirname "$0")/lib.sh"

ROUNDS=2000
VM=vm-pp
HOST_HOSTNAME=pp-host
PINGPONG_PORT=org.lttng.pingpong.0
RTC_BASE=2010-01-01
# How long either side waits for the other: the guest boots (TCG), then
# starts its session while the host's pingpong waits for its first answer.
PEER_WAIT=150
# The clock shift the correction applies must be the RTC's error, up to the
# time between QEMU's start and the guest's first reading of its RTC.
SHIFT_SLACK_S=120
# A bound this large would let anything pass as ordered.
MAX_ERROR_NS=1000000
SIDE_NAMES=(host guest)

LH_PINGPONG=$top_builddir/tests/utils/pingpong
LH_CLI=$top_builddir/src/bin/lttng-hyper/lttng-hyper

lh_require "$LH_PINGPONG" "$LH_CLI"

lh_init 16
if ! command -v qemu-system-x86_64 >/dev/null; then
	skip $((LH_PLANNED - LH_RAN)) "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
	exit 0
fi
lh_pick_ports 3

# build_image: the guest image with pingpong. When this machine cannot
# build an image (no kernel package, a missing tool, no room), skip.
build_image()
{
	local log=$LH_TMP/build-guest.log

	(cd "$top_builddir" && timeout 600 "$LH_VM_DIR/build-guest.sh" -o "$LH_TMP/guest" \
		--hyperd "$LH_HYPERD" --gen-events "$LH_GEN_EVENTS" \
		--pingpong "$LH_PINGPONG") >"$log" 2>&1 && return 0
	if grep -q -E 'apt-get|not found; on Debian|not enough room' "$log"; then
		skip $((LH_PLANNED - LH_RAN)) "the guest image cannot be built here: $(grep -m 1 'error:' "$log")"
		exit 0
	fi
	return 1
}

# host_role SOCKET ROUNDS: in a guest role sharing the host's network,
# trace the host's side of the game, connecting to QEMU's SOCKET.
host_role()
{
	local sock=$1 rounds=$2

	lh_session_create s-host 'hyper_pingpong:*' &&
	lh_timed s-host.start lttng start s-host || return 1
	LTTNG_UST_REGISTER_TIMEOUT=-1 LTTNG_UST_ALLOW_BLOCKING=1 \
		LH_CMD_TIMEOUT=$((PEER_WAIT + 60)) lh_timed s-host.pingpong \
		"$LH_PINGPONG" --connect "$sock" -n "$rounds" -t "$PEER_WAIT" &&
	lh_timed s-host.stop lttng stop s-host &&
	lh_timed s-host.destroy lttng destroy s-host
}
export -f host_role
export LH_PINGPONG PEER_WAIT

# sync_value KEY: the value of KEY in the VM's sync file.
sync_value()
{
	lh_sync_get "$sync_file" "$1"
}

build_image
ok $? "the guest image with pingpong builds" ||
	bail_out "$(tail -n 5 "$LH_TMP/build-guest.log")"

lh_relay_start main --vm "$VM=unix:$LH_TMP/$VM.sock"
ok $? "lttng-hyper-relayd started with --vm $VM" || bail_out "no relay"

boot_epoch=$(date +%s)
lh_vm_boot guest "$VM" --rtc-base "$RTC_BASE" \
	--extra-port "$PINGPONG_PORT=$LH_TMP/pingpong.sock" \
	--append "lh.mode=pingpong lh.rounds=$ROUNDS lh.kernel=0 lh.wait=$PEER_WAIT"
vm_pid=$LH_VM_PID

# The guest plays once its session has started; the host's pingpong waits
# for QEMU's socket, then for the guest's first answer.
lh_guest -u "$HOST_HOSTNAME" -s "net://127.0.0.1:$LH_PORT:$((LH_PORT + 1))" \
	"$LH_TMP/host" host_role "$LH_TMP/pingpong.sock" "$ROUNDS"
ok $? "host role played $ROUNDS rounds through QEMU's socket, tracing to lttng-relayd over net://"
lh_vm_wait "$vm_pid" guest
ok $? "the guest played $ROUNDS rounds on $PINGPONG_PORT, traced through lttng-hyperd, and powered off"
diag "$(grep -h 'accelerator' "$LH_TMP/guest-launch.log")"
diag "$(lh_vm_console guest | grep -E 'wall clock|playing|pingpong done|FAILED')"

guest_year=$(lh_vm_console guest | sed -n 's/^lh-guest: .* wall clock: \([0-9]*\)-.*/\1/p')
[ "${guest_year:-0}" -eq "${RTC_BASE%%-*}" ] && [ "$guest_year" -lt "$(date -u +%Y)" ]
ok $? "the guest's wall clock is years off: year ${guest_year:-unknown}, the host's $(date -u +%Y)"

entries=$(ls -A "$LH_OUT" 2>/dev/null | sort | paste -s -d ' ')
[ "$entries" = "$(printf '%s\n' "$HOST_HOSTNAME" "$VM" | sort | paste -s -d ' ')" ]
ok $? "OUT holds the host's trace and the VM's (found: $entries)"

sync_file=$(find "$LH_OUT/$VM" -name lttng-hyper-sync -type f)
[ -n "$sync_file" ] && [ "$(sync_value status)" = applied ]
ok $? "the VM's sync file says its clock correction was applied"

# The shift at the estimate's reference point: host realtime minus what
# the guest's own offset and freq make of the same clock value.
shift_s=
if [ -n "$sync_file" ]; then
	diag "$(grep -E '^(error_ns|method|probes|probes_used|min_rtt_ns|drift_ppb|span_guest_ns) =' "$sync_file")"
	shift_s=$(awk -v o="$(sync_value offset)" -v f="$(sync_value freq)" \
		-v go="$(sync_value guest_offset)" -v gf="$(sync_value guest_freq)" \
		-v c="$(sync_value ref_guest_ns)" '
		BEGIN {
			if (o == "" || f == "" || go == "" || gf == "" || c == "") {
				exit 1
			}
			printf "%.0f\n", ((o + c) / f - (go + c) / gf)
		}')
fi
expected_s=$((boot_epoch - $(date -u -d "$RTC_BASE" +%s)))
[ -n "$shift_s" ] && [ "$shift_s" -ge "$((expected_s - SHIFT_SLACK_S))" ] &&
	[ "$shift_s" -le "$((expected_s + SHIFT_SLACK_S))" ]
ok $? "the correction moved the guest's clock by the RTC's error: ${shift_s:-none} s (expected about $expected_s s)"

error_ns=$(sync_value error_ns)
[ -n "$error_ns" ] && [ "$error_ns" -gt 0 ] && [ "$error_ns" -le "$MAX_ERROR_NS" ]
ok $? "the clock error bound is at most $MAX_ERROR_NS ns: ${error_ns:-none} ns"

order=$(lh_pingpong_order "$LH_OUT" "$ROUNDS" "${error_ns:-0}")
ok $? "babeltrace2 read OUT, the host's and the VM's traces merged"
mapfile -t dirs <<<"$order"
for dir in 0 1; do
	read -r ordered wrong missing dups beyond _ <<<"${dirs[dir]}"
	to=${SIDE_NAMES[1 - dir]}
	diag "${SIDE_NAMES[dir]} -> $to: $(lh_pingpong_describe "${dirs[dir]}")"
	[ "$((${ordered:-0} + wrong))" -eq "$ROUNDS" ] && [ "$beyond" -eq 0 ] &&
		[ "$missing" -eq 0 ] && [ "$dups" -eq 0 ]
	ok $? "${SIDE_NAMES[dir]} -> $to: every one of $ROUNDS sends comes before its recv, up to the error bound"
done

# The same traces with the guest's own clock offset: a copy, reverted.
cp -a "$LH_OUT" "$LH_TMP/uncorrected" &&
	timeout "$LH_CMD_TIMEOUT" "$LH_CLI" sync-fix --revert "$LH_TMP/uncorrected" \
		>"$LH_TMP/revert.log" 2>&1
ok $? "lttng-hyper sync-fix --revert put the guest's own clock back in a copy"

order=$(lh_pingpong_order "$LH_TMP/uncorrected" "$ROUNDS" "${error_ns:-0}")
ok $? "babeltrace2 read the uncorrected copy"
mapfile -t dirs <<<"$order"
diag "uncorrected, host -> guest: $(lh_pingpong_describe "${dirs[0]}")"
diag "uncorrected, guest -> host: $(lh_pingpong_describe "${dirs[1]}")"
read -r ordered wrong missing _ beyond _ <<<"${dirs[0]}"
[ "${wrong:-0}" -eq "$ROUNDS" ] && [ "$beyond" -eq "$ROUNDS" ] && [ "$missing" -eq 0 ]
ok $? "uncorrected, host -> guest: every recv comes before its send, beyond the bound (the order is wrong)"

kill -0 "$(lh_relay_pid main)" 2>/dev/null
ok $? "lttng-hyper-relayd still running"
