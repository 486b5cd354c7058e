#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Cross-layer causality in the merged trace. A host process and a guest
# process play ping-pong over a unix socket, tracing each send and receive.
# The host role's own lttng-sessiond streams to the relay's lttng-relayd
# with net://; the guest role (CLOCK_MONOTONIC shifted, sessiond wall clock
# two days off) streams through lttng-hyperd and lttng-hyper-relayd. In
# `babeltrace2 OUT` (host and VM traces together), every send must come
# before its receive, in both directions and in every round. With the
# guest's own clock offset put back, the order must be wrong.

. "$(dirname "$0")/lib.sh"

ROUNDS=2000
VM=vm-pp
HOST_HOSTNAME=pp-host
GUEST_HOSTNAME=pp-guest
MONO_SHIFT=1000000
WALL_SHIFT=-2d
SIDE_NAMES=(host guest)

LH_PINGPONG=$top_builddir/tests/utils/pingpong
LH_CLI=$top_builddir/src/bin/lttng-hyper/lttng-hyper
export LH_PINGPONG

lh_require "$LH_PINGPONG" "$LH_CLI" "$LH_FAKETIME_LIB"

# pingpong_role SESSION MODE SOCKET ROUNDS: trace one side of the game
# (MODE serve or connect) in SESSION, streaming to the role's URL.
pingpong_role()
{
	local session=$1 mode=$2 sock=$3 rounds=$4

	lh_session_create "$session" 'hyper_pingpong:*' &&
	lh_timed "$session.start" lttng start "$session" || return 1
	# The relay's clock estimate tightens as probes accumulate (a round a
	# second), as it does on any channel that has been up for a while: let
	# a few rounds pass before the game. The host side waits for the socket.
	if [ "$mode" = serve ]; then
		sleep 3
	fi
	LTTNG_UST_REGISTER_TIMEOUT=-1 LTTNG_UST_ALLOW_BLOCKING=1 \
		lh_timed "$session.pingpong" "$LH_PINGPONG" --"$mode" "$sock" -n "$rounds" &&
	lh_timed "$session.stop" lttng stop "$session" &&
	lh_timed "$session.destroy" lttng destroy "$session"
}
export -f pingpong_role

lh_init 12
lh_pick_ports 3

lh_relay_start main --vm "$VM=unix-listen:$LH_TMP/$VM.sock"
ok $? "lttng-hyper-relayd started with --vm $VM" || bail_out "no relay"

# The guest serves, the host connects: both sessions are started before
# either side plays its first round.
lh_guest -u "$GUEST_HOSTNAME" -m "$MONO_SHIFT" -w "$WALL_SHIFT" -c "$LH_TMP/$VM.sock" \
	"$LH_TMP/guest" pingpong_role s-guest serve "$LH_TMP/pingpong.sock" "$ROUNDS" &
guest_pid=$!
lh_guest -u "$HOST_HOSTNAME" -s "net://127.0.0.1:$LH_PORT:$((LH_PORT + 1))" \
	"$LH_TMP/host" pingpong_role s-host connect "$LH_TMP/pingpong.sock" "$ROUNDS"
ok $? "host role played $ROUNDS rounds, tracing to lttng-relayd over net://"
wait "$guest_pid"
ok $? "guest role (monotonic +$MONO_SHIFT s, sessiond wall clock $WALL_SHIFT) played $ROUNDS rounds through lttng-hyperd"
diag "pingpong took $(lh_step_ms "$LH_TMP/host" s-host.pingpong) ms on the host side"

entries=$(ls -A "$LH_OUT" 2>/dev/null | sort | paste -s -d ' ')
[ "$entries" = "$(printf '%s\n' "$HOST_HOSTNAME" "$VM" | sort | paste -s -d ' ')" ]
ok $? "OUT holds the host's trace and the VM's (found: $entries)"

sync_file=$(find "$LH_OUT/$VM" -name lttng-hyper-sync -type f)
[ "$(lh_sync_get "$sync_file" status)" = applied ]
ok $? "the VM's sync file says its clock correction was applied"
if [ -n "$sync_file" ]; then
	diag "$(grep -E '^(offset|guest_offset|error_ns|method|min_rtt_ns) =' "$sync_file")"
	# The truth: the guest's CLOCK_MONOTONIC is the host's + MONO_SHIFT, and
	# the host role's sessiond measured the host's realtime - monotonic.
	host_offset=$(lh_metadata_clock "$LH_OUT/$HOST_HOSTNAME" offset)
	offset=$(lh_sync_get "$sync_file" offset)
	if [ -n "$host_offset" ] && [ -n "$offset" ]; then
		diag "guest offset - truth: $((offset - host_offset + MONO_SHIFT * 1000000000)) ns"
	fi
fi

order=$(lh_pingpong_order "$LH_OUT" "$ROUNDS")
ok $? "babeltrace2 read OUT, the host's and the VM's traces merged"
mapfile -t dirs <<<"$order"
for dir in 0 1; do
	read -r ordered wrong missing dups _ <<<"${dirs[dir]}"
	to=${SIDE_NAMES[1 - dir]}
	diag "${SIDE_NAMES[dir]} -> $to: $(lh_pingpong_describe "${dirs[dir]}")"
	[ "${ordered:-0}" -eq "$ROUNDS" ] && [ "$wrong" -eq 0 ] && [ "$missing" -eq 0 ] &&
		[ "$dups" -eq 0 ]
	ok $? "${SIDE_NAMES[dir]} -> $to: every one of $ROUNDS sends comes before its recv"
done

# The same traces with the guest's own clock offset: a copy, reverted.
cp -a "$LH_OUT" "$LH_TMP/uncorrected" &&
	timeout "$LH_CMD_TIMEOUT" "$LH_CLI" sync-fix --revert "$LH_TMP/uncorrected" \
		>"$LH_TMP/revert.log" 2>&1
ok $? "lttng-hyper sync-fix --revert put the guest's own clock back in a copy"

order=$(lh_pingpong_order "$LH_TMP/uncorrected" "$ROUNDS")
ok $? "babeltrace2 read the uncorrected copy"
mapfile -t dirs <<<"$order"
diag "uncorrected, host -> guest: $(lh_pingpong_describe "${dirs[0]}")"
diag "uncorrected, guest -> host: $(lh_pingpong_describe "${dirs[1]}")"
read -r ordered wrong missing _ <<<"${dirs[0]}"
[ "${wrong:-0}" -eq "$ROUNDS" ] && [ "$missing" -eq 0 ]
ok $? "uncorrected, host -> guest: every recv comes before its send (the order is wrong)"

kill -0 "$(lh_relay_pid main)" 2>/dev/null
ok $? "lttng-hyper-relayd still running"
