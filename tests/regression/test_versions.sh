#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The LTTng version matrix, in guest roles: guests with bookworm's LTTng
# 2.13 and with sid's 2.16 (CTF 1.8 and CTF 2 sessions, from a root made
# by extras/lttng-versions/build-root.sh) behind lttng-hyperd, into
# lttng-hyper-relayd with bookworm's lttng-relayd 2.13 (its own, which it
# starts) and with sid's lttng-relayd 2.16 (--relayd-url: the relay does
# not own the output, so only the in-flight rewrite corrects the clock).
# Each traced guest's sessiond sees a wall clock two days off: every
# event must arrive once and be dated within the test's run.
#
#   guest \ host lttng-relayd    2.13 (own)         2.16 (--relayd-url)
#   2.13                         complete, dated    complete, dated
#   2.16, CTF 1.8                complete, dated    complete, dated
#   2.16, CTF 2                  refused, advised   complete, dated
#   2.16, CTF 2 under a 2.13 VM                     complete, dated
# babeltrace2 2.0 (bookworm) reads the CTF 1.8 traces, 2.1 (sid) every one;
# 2.0 says it cannot read CTF 2.

. "$(dirname "$0")/lib.sh"

EVENTS=20000
RATE=10000
WALL_SHIFT=-2d
SUITE=sid

guest_trace()
{
	lh_trace s1 "$EVENTS" --rate "$RATE"
}
export -f guest_trace
export EVENTS RATE

# A CTF 2 session with a host lttng-relayd older than 2.15: lttng's own
# refusal, kept in the role's folder.
guest_ctf2_refused()
{
	lttng create s1 --set-url="$LH_GUEST_URL" &&
		! lttng enable-channel -u -s s1 c >"$LH_GUEST_DIR/refusal" 2>&1
}
export -f guest_ctf2_refused

# A 2.13 guest that serves a nested 2.16 guest: up, then it traces once
# its child is done.
guest_parent()
{
	lh_wait_channel_up
	touch "$1/parent.up"
	lh_wait_file "$1/child.done"
	guest_trace
}
export -f guest_parent

if [ "$(id -u)" -eq 0 ] && ! lh_root_get "$SUITE"; then
	echo "1..0 # SKIP no $SUITE root for LTTng 2.16: $LH_ROOT_ERROR"
	exit 0
fi

lh_init 31
lh_pick_ports 6
SID_PORT=$((LH_PORT + 3))
diag "$SUITE root $LH_ROOT: lttng-tools $(lh_root_version "$LH_ROOT" lttng_tools)," \
	"lttng-ust $(lh_root_version "$LH_ROOT" lttng_ust)," \
	"babeltrace2 $(lh_root_version "$LH_ROOT" babeltrace2)"

LH_ROOT_GEN_DIR=$LH_TMP/root-gen
lh_root_gen_events "$LH_ROOT" "$LH_ROOT_GEN_DIR" >"$LH_TMP/root-gen.log" 2>&1
ok $? "gen-events built in the $SUITE root, against its lttng-ust" ||
	bail_out "$(tail -n 3 "$LH_TMP/root-gen.log")"
export LH_ROOT_GEN_DIR

# The root's babeltrace2 and lttng-relayd, reading and writing LH_OUT.
SID_BIN=$LH_TMP/sid-bin
lh_root_wrap "$SID_BIN" "$LH_ROOT" "$LH_TMP/sid-state" "$LH_OUT" ||
	bail_out "no wrappers for the $SUITE root"

# cell VM [lh_guest options]: VM traces EVENTS, its sessiond two days off.
cell()
{
	local vm=$1

	shift
	CELL_START=$(date +%s)
	lh_guest -u "$vm" -w "$WALL_SHIFT" "$@" -c "$LH_TMP/$vm.sock" "$LH_TMP/$vm" guest_trace
}

# dated TRACE_DIR [babeltrace2 dir]: every event once, within the run.
dated()
{
	local end=$(($(date +%s) + 5))

	PATH="${2:+$2:}$PATH" lh_trace_stats "$1" && lh_trace_complete "$EVENTS" &&
		[ "$LH_FIRST_S" -ge $((CELL_START - 5)) ] && [ "$LH_LAST_S" -le "$end" ]
}

describe()
{
	echo "$(lh_trace_describe), dated $LH_FIRST_S..$LH_LAST_S (run from $CELL_START)"
}

# The metadata file's first bytes: "/* CTF 1.8 */", or "{" after CTF 2's RS.
metadata_head()
{
	head -c 13 "$(find "$1" -name metadata -type f | head -n 1)" | tr -d '\036'
}

# --- host lttng-relayd 2.13, the relay's own ---------------------------------

VMS=(a-213 a-ctf18 a-ctf2)
args=()
for vm in "${VMS[@]}"; do
	args+=(--vm "$vm=unix-listen:$LH_TMP/$vm.sock")
done
lh_relay_start own "${args[@]}"
ok $? "lttng-hyper-relayd started, with lttng-relayd $(lttng-relayd --version)" ||
	bail_out "no relay"

cell a-213
ok $? "guest 2.13 into lttng-relayd 2.13: traced $EVENTS events"
dated "$LH_OUT/a-213"
ok $? "guest 2.13 into 2.13: $(describe)"

LH_CREATE_OPTS=--trace-format=ctf-1.8 cell a-ctf18 -r "$LH_ROOT"
ok $? "guest 2.16 (CTF 1.8) into lttng-relayd 2.13: traced $EVENTS events" ||
	diag "$(tail -n 5 "$LH_TMP/a-ctf18/guest.log")"
[ "$(metadata_head "$LH_OUT/a-ctf18")" = "/* CTF 1.8 */" ]
ok $? "guest 2.16 (CTF 1.8): its metadata is plain TSDL, as LTTng 2.14 and later send it"
dated "$LH_OUT/a-ctf18"
ok $? "guest 2.16 (CTF 1.8) into 2.13, read by babeltrace2 2.0: $(describe)"
dated "$LH_OUT/a-ctf18" "$SID_BIN"
ok $? "guest 2.16 (CTF 1.8) into 2.13, read by babeltrace2 2.1: $(describe)"

since=$(wc -l <"$LH_TMP/relay-own.log")
lh_guest -u a-ctf2 -r "$LH_ROOT" -c "$LH_TMP/a-ctf2.sock" "$LH_TMP/a-ctf2" guest_ctf2_refused
ok $? "guest 2.16 (CTF 2) into lttng-relayd 2.13: its lttng enable-channel fails"
grep -q "Trace format is not supported" "$LH_TMP/a-ctf2/refusal"
ok $? "guest 2.16 (CTF 2): lttng says \"$(grep -o 'Trace format is not supported' "$LH_TMP/a-ctf2/refusal")\""
tail -n +"$since" "$LH_TMP/relay-own.log" | grep -qE "\[vm=a-ctf2\] .*relayd protocol 2\.15, this host's lttng-relayd 2\.13: .*lttng-relayd 2\.15 or later.*--trace-format=ctf-1\.8"
ok $? "guest 2.16 (CTF 2): the relay logs why, and both ways out"
[ ! -e "$LH_OUT/a-ctf2" ] || [ -z "$(find "$LH_OUT/a-ctf2" -name 'chan*' -type f)" ]
ok $? "guest 2.16 (CTF 2): no stream file written"

relay_pid=$(lh_relay_pid own)
lh_kill_pid "$relay_pid"
ok $? "lttng-hyper-relayd (own lttng-relayd) stopped"

# --- host lttng-relayd 2.16, from the root -----------------------------------

mkdir -p "$LH_OUT/sid"
"$SID_BIN/lttng-relayd" -o "$LH_OUT/sid" -C "tcp://127.0.0.1:$SID_PORT" \
	-D "tcp://127.0.0.1:$((SID_PORT + 1))" -L "tcp://127.0.0.1:$((SID_PORT + 2))" \
	>"$LH_TMP/sid-relayd.log" 2>&1 &
sid_relayd=$!
lh_track_pid "$sid_relayd"
lh_wait_for 20 lh_port_listening "$SID_PORT"
ok $? "lttng-relayd $("$SID_BIN/lttng-relayd" --version) of the root listens on $SID_PORT" ||
	bail_out "$(tail -n 3 "$LH_TMP/sid-relayd.log")"

VMS=(b-213 b-ctf18 b-ctf2 b-parent)
args=()
for vm in "${VMS[@]}"; do
	args+=(--vm "$vm=unix-listen:$LH_TMP/$vm.sock")
done
lh_track_pidfile "$LH_TMP/relay-url.pid"
timeout "$LH_CMD_TIMEOUT" "$LH_RELAY" -d --pidfile "$LH_TMP/relay-url.pid" \
	--log "$LH_TMP/relay-url.log" \
	--relayd-url "net://127.0.0.1:$SID_PORT:$((SID_PORT + 1))" "${args[@]}"
ok $? "lttng-hyper-relayd started with --relayd-url to lttng-relayd 2.16" || bail_out "no relay"

cell b-213
ok $? "guest 2.13 into lttng-relayd 2.16: traced $EVENTS events"
dated "$LH_OUT/sid/b-213"
ok $? "guest 2.13 into 2.16, corrected in flight: $(describe)"

LH_CREATE_OPTS=--trace-format=ctf-1.8 cell b-ctf18 -r "$LH_ROOT"
ok $? "guest 2.16 (CTF 1.8) into lttng-relayd 2.16: traced $EVENTS events" ||
	diag "$(tail -n 5 "$LH_TMP/b-ctf18/guest.log")"
dated "$LH_OUT/sid/b-ctf18"
ok $? "guest 2.16 (CTF 1.8) into 2.16, corrected in flight, babeltrace2 2.0: $(describe)"
dated "$LH_OUT/sid/b-ctf18" "$SID_BIN"
ok $? "guest 2.16 (CTF 1.8) into 2.16, babeltrace2 2.1: $(describe)"

cell b-ctf2 -r "$LH_ROOT"
ok $? "guest 2.16 (CTF 2) into lttng-relayd 2.16: traced $EVENTS events" ||
	diag "$(tail -n 5 "$LH_TMP/b-ctf2/guest.log")"
[ "$(metadata_head "$LH_OUT/sid/b-ctf2" | head -c 1)" = "{" ]
ok $? "guest 2.16 (CTF 2): its metadata is a JSON text sequence"
dated "$LH_OUT/sid/b-ctf2" "$SID_BIN"
ok $? "guest 2.16 (CTF 2) into 2.16, corrected in flight, babeltrace2 2.1: $(describe)"
! babeltrace2 "$LH_OUT/sid/b-ctf2" >/dev/null 2>"$LH_TMP/bt20-ctf2.err"
ok $? "babeltrace2 2.0 refuses the CTF 2 trace: $(grep -m 1 -o -i 'metadata.*' "$LH_TMP/bt20-ctf2.err" | cut -c 1-100)"

# A nested chain of mixed versions: 2.16 (CTF 2) under 2.13.
FLAGS=$LH_TMP/flags
mkdir -p "$FLAGS"
lh_guest -u b-parent -x "--vm b-child=unix-listen:$LH_TMP/b-child.sock" \
	-c "$LH_TMP/b-parent.sock" "$LH_TMP/b-parent" guest_parent "$FLAGS" &
parent=$!
lh_wait_flag 60 "$FLAGS/parent.up" "$parent"
ok $? "guest 2.13 b-parent: its channel is up, serving b-child" || bail_out "no parent"
cell b-child -r "$LH_ROOT"
ok $? "guest 2.16 (CTF 2) b-child, nested under the 2.13 guest: traced $EVENTS events" ||
	diag "$(tail -n 5 "$LH_TMP/b-child/guest.log")"
dated "$LH_OUT/sid/b-parent/b-child" "$SID_BIN"
ok $? "b-child under b-parent, corrected through both layers, babeltrace2 2.1: $(describe)"
CELL_START=$(date +%s)
touch "$FLAGS/child.done"
wait "$parent"
ok $? "guest 2.13 b-parent traced $EVENTS events after its child"
dated "$(find "$LH_OUT/sid/b-parent" -mindepth 1 -maxdepth 1 -name 's1-*' -type d)"
ok $? "b-parent, babeltrace2 2.0: $(describe)"

! grep -q "refuses CTF 2" "$LH_TMP/relay-url.log"
ok $? "guest 2.16 into lttng-relayd 2.16: no CTF 2 advice logged"

kill -0 "$(cat "$LH_TMP/relay-url.pid")" 2>/dev/null && kill -0 "$sid_relayd"
ok $? "lttng-hyper-relayd and lttng-relayd 2.16 still running"
