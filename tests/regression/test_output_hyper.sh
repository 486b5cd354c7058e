#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lttng enable-channel --output=hyper in guest roles, with lttng-tools
# patched by extras/lttng-tools/ (doc/output-hyper.md): lttng-consumerd
# writes the channel's packets straight into its data port (a unix socket
# here, a virtio-serial port in a VM), which lttng-hyper-relayd takes with
# --vm-data; the control connection goes through lttng-hyperd as before.
#
# 1,000,000 events through a hyper channel, all of them once and in order,
# and carried by the data port; per-PID buffers; a rotation in the middle
# of a trace; a live session followed on the host; lttng list, save and
# load keep "hyper", and the build's own man page tells of it; and every
# refusal: a snapshot session, a local session, a missing data port, a
# stock lttng-sessiond.

. "$(dirname "$0")/lib.sh"

NUM_EVENTS=1000000
PID_EVENTS=100000
ROT_EVENTS=200000
LIVE_EVENTS=50000
VM=vm-out
TOOLS=$LH_LTTNG_TOOLS

# --- in the guest role ------------------------------------------------------

# The main trace, then lttng list, save and load of its session.
guest_main()
{
	local dir=$LH_GUEST_DIR

	LH_CHANNEL_OPTS=--output=hyper lh_session_create s1 &&
		lttng list s1 >"$dir/list.out" 2>&1 &&
		lttng save -o "$dir/saved" s1 >/dev/null 2>&1 &&
		lh_timed s1.start lttng start s1 &&
		lh_gen "$1" &&
		lh_timed s1.stop lttng stop s1 &&
		lh_timed s1.destroy lttng destroy s1 || return 1
	lttng load -i "$dir/saved" s1 >"$dir/load.out" 2>&1 &&
		lttng list s1 >"$dir/loaded.out" 2>&1 &&
		lttng destroy s1 >/dev/null
}
export -f guest_main

# Per-PID buffers.
guest_pid()
{
	LH_CHANNEL_OPTS="--output=hyper --buffers-pid" lh_trace s2 "$1"
}
export -f guest_pid

# A rotation while the application traces.
guest_rotate()
{
	local app

	LH_CHANNEL_OPTS=--output=hyper lh_session_create s3 &&
		lh_timed s3.start lttng start s3 || return 1
	lh_gen "$1" --rate $(($1 / 4)) &
	app=$!
	sleep 1
	lttng rotate s3 >"$LH_GUEST_DIR/rotate.out" 2>&1
	echo $? >"$LH_GUEST_DIR/rotate.status"
	wait "$app" &&
		lh_timed s3.stop lttng stop s3 &&
		lh_timed s3.destroy lttng destroy s3
}
export -f guest_rotate

# A live session: the host follows it while the application traces. The
# host's viewer must attach before the events come: wait for FLAG.
guest_live()
{
	lttng create lv --live=200000 --set-url=net://127.0.0.1 >/dev/null &&
		lttng enable-channel -u -s lv --output=hyper --blocking-timeout=inf c >/dev/null &&
		lttng enable-event -u -s lv -c c 'hyper_test:*' >/dev/null &&
		lttng start lv >/dev/null || return 1
	touch "$LH_GUEST_DIR/live.started"
	lh_wait_for 60 test -e "$2" || return 1
	lh_gen "$1" --rate $(($1 / 2)) &&
		lh_timed lv.stop lttng stop lv &&
		lh_timed lv.destroy lttng destroy lv
}
export -f guest_live

# The refusals: each enable-channel must fail, its message in NAME.out.
refuse()
{
	local name=$1

	shift
	"$@" >"$LH_GUEST_DIR/$name.out" 2>&1
	echo $? >"$LH_GUEST_DIR/$name.status"
}
export -f refuse

guest_refusals()
{
	lttng create snap --snapshot --set-url=net://127.0.0.1 >/dev/null || return 1
	refuse snapshot lttng enable-channel -u -s snap --output=hyper c
	lttng create loc -o "$LH_GUEST_DIR/local-trace" >/dev/null || return 1
	refuse local lttng enable-channel -u -s loc --output=hyper c
}
export -f guest_refusals

# A role whose port folder is empty.
guest_noport()
{
	lttng create np --set-url=net://127.0.0.1 >/dev/null || return 1
	refuse noport lttng enable-channel -u -s np --output=hyper c
}
export -f guest_noport

# A stock lttng-sessiond, asked by the patched lttng.
guest_stock()
{
	lttng create st --set-url=net://127.0.0.1 >/dev/null || return 1
	refuse stock "$1/bin/lttng" enable-channel -u -s st --output=hyper c
}
export -f guest_stock

# --- on the host ------------------------------------------------------------

# refused NAME PATTERN: the guest's command NAME failed, saying PATTERN.
refused()
{
	local dir=$1 name=$2 pattern=$3

	[ "$(cat "$dir/$name.status" 2>/dev/null)" != 0 ] &&
		grep -q -i -E "$pattern" "$dir/$name.out"
}

# The relay's lines for the lttng-relayd data connections of VM's data
# ports, each closed once its session ended.
port_sessions()
{
	grep -E "\[vm=$1\] data port .*: data connection of session [0-9]+ to lttng-relayd closed" \
		"$LH_TMP/relay-main.log"
}

# The bytes those connections carried.
port_bytes()
{
	port_sessions "$1" | sed -n 's/.* \([0-9][0-9]*\) bytes$/\1/p' |
		awk '{ s += $1 } END { print s + 0 }'
}

# The folder of the first session named NAME: a session loaded from a
# saved one comes later, with a later date in its name.
session_dir()
{
	find "$LH_OUT/$VM" -mindepth 1 -maxdepth 1 -type d -name "$1-*" | sort | head -n 1
}

lh_init 25
lh_require "$TOOLS/bin/lttng-sessiond"
lh_pick_ports 3
PORTS=$LH_TMP/ports
mkdir -p "$PORTS"

lh_relay_start main --vm "$VM=unix-listen:$LH_TMP/$VM.sock" \
	--vm-data "$VM=unix-listen:$PORTS/org.lttng.hyper.data.ust64"
ok $? "lttng-hyper-relayd started with --vm $VM and its data port" || bail_out "no relay"

G=$LH_TMP/main
lh_guest -l "$TOOLS" -d "$PORTS" -c "$LH_TMP/$VM.sock" "$G" guest_main "$NUM_EVENTS"
ok $? "patched guest traced $NUM_EVENTS events in a hyper channel, stopped and destroyed its session" ||
	diag "$(tail -n 5 "$G/guest.log")"

dir=$(session_dir s1)
lh_trace_stats "$dir" && lh_trace_complete "$NUM_EVENTS"
ok $? "s1: $(lh_trace_describe)"

# The stream files hold what the data port carried, not lttng-hyperd.
stream_bytes=$(find "$dir" -type f -name 'c_[0-9]*' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
lh_wait_for 10 eval 'port_sessions "$VM" | grep -q .'
pbytes=$(port_bytes "$VM")
[ "$stream_bytes" -gt 0 ] && [ "$pbytes" -ge "$((stream_bytes * 9 / 10))" ]
ok $? "the data port carried the trace's packets ($pbytes bytes for $stream_bytes bytes of stream files)"

grep -q -E 'Output mode: +hyper' "$G/list.out"
ok $? "lttng list shows the channel's output: $(grep -m 1 'Output mode' "$G/list.out" | tr -s ' ')"
grep -q '<output_type>HYPER</output_type>' "$G"/saved/*.lttng 2>/dev/null ||
	grep -q 'HYPER' "$G"/saved/*.lttng 2>/dev/null
ok $? "lttng save keeps HYPER in the session file"
grep -q -E 'Output mode: +hyper' "$G/loaded.out"
ok $? "lttng load brings the hyper channel back"

# The patched build installs its own man pages: "lttng CMD --help" shows them.
MANPAGER=cat MANWIDTH=200 timeout "$LH_CMD_TIMEOUT" "$TOOLS/bin/lttng" enable-channel --help \
	>"$LH_TMP/help.out" 2>&1
grep -q -- '--output=(mmap | splice | hyper)' "$LH_TMP/help.out" &&
	tr -s ' \n' '  ' <"$LH_TMP/help.out" | grep -q 'own lttng-hyper data port'
ok $? "lttng enable-channel --help documents --output=hyper: $(grep -m 1 -o -- '--output=(mmap[^]]*' "$LH_TMP/help.out" ||
	head -n 1 "$LH_TMP/help.out")"

lh_guest -l "$TOOLS" -d "$PORTS" -c "$LH_TMP/$VM.sock" "$LH_TMP/pid" guest_pid "$PID_EVENTS"
ok $? "per-PID buffers: the guest traced $PID_EVENTS events" ||
	diag "$(tail -n 5 "$LH_TMP/pid/guest.log")"
dir=$(session_dir s2)
[ -n "$(find "$dir" -path '*/ust/pid/*' -name 'c_[0-9]*' -print -quit)" ]
ok $? "per-PID: the streams are under ust/pid/"
lh_trace_stats "$dir" && lh_trace_complete "$PID_EVENTS"
ok $? "s2: $(lh_trace_describe)"

lh_guest -l "$TOOLS" -d "$PORTS" -c "$LH_TMP/$VM.sock" "$LH_TMP/rot" guest_rotate "$ROT_EVENTS"
ok $? "rotation: the guest traced $ROT_EVENTS events and rotated once" ||
	diag "$(tail -n 5 "$LH_TMP/rot/guest.log")"
dir=$(session_dir s3)
[ "$(cat "$LH_TMP/rot/rotate.status")" = 0 ] && [ -d "$dir/archives" ] &&
	[ "$(find "$dir/archives" -mindepth 1 -maxdepth 1 -type d | wc -l)" -ge 2 ]
ok $? "the session was rotated: $(find "$dir/archives" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l) trace chunks"
# lttng names the archive by the path lttng-relayd answered, which the relay
# rewrites to what the guest's own relay daemon would say: its hostname, not
# the host's VM directory.
grep -q "readable on relay tcp://127.0.0.1/guest/s3-[0-9-]* " "$LH_TMP/rot/rotate.out" &&
	! grep -q "$VM" "$LH_TMP/rot/rotate.out"
ok $? "lttng rotate names the archive under the guest's hostname, not '$VM': $(grep -o 'readable on relay [^ ]*' "$LH_TMP/rot/rotate.out")"
lh_trace_stats "$dir" && lh_trace_complete "$ROT_EVENTS"
ok $? "s3, all chunks: $(lh_trace_describe)"
# The final clock fix reached each chunk's metadata, all archived by now.
sync=$dir/lttng-hyper-sync
offsets=$(for chunk in "$dir"/archives/*/; do lh_metadata_clock "$chunk" offset; done | sort -u)
[ "$(lh_sync_get "$sync" status)" = applied ] && [ -n "$offsets" ] &&
	[ "$offsets" = "$(lh_sync_get "$sync" offset)" ]
ok $? "s3: the sync file's clock (offset $(lh_sync_get "$sync" offset), status $(lh_sync_get "$sync" status)) is in every chunk's metadata (offsets found: $(echo $offsets))"

# Live: the host's viewer attaches to the session by its host name, the VM's.
lh_guest -u live-guest -l "$TOOLS" -d "$PORTS" -c "$LH_TMP/$VM.sock" "$LH_TMP/live" \
	guest_live "$LIVE_EVENTS" "$LH_TMP/live.attached" &
live_role=$!
lh_wait_flag 60 "$LH_TMP/live/live.started" "$live_role"
timeout 120 babeltrace2 --input-format=lttng-live \
	"net://127.0.0.1:$((LH_PORT + 2))/host/$VM/lv" >"$LH_TMP/live.txt" 2>"$LH_TMP/live.err" &
viewer=$!
lh_track_pid "$viewer"
sleep 2
touch "$LH_TMP/live.attached"
wait "$live_role"
ok $? "live: the guest traced $LIVE_EVENTS events in a live session" ||
	diag "$(tail -n 5 "$LH_TMP/live/guest.log")"
wait "$viewer"
lh_untrack_pid "$viewer"
live_count=$(grep -c ' hyper_test:seq: ' "$LH_TMP/live.txt")
[ "$live_count" -eq "$LIVE_EVENTS" ]
ok $? "live: the host's babeltrace2 followed the session and saw all $LIVE_EVENTS events (got $live_count)" ||
	diag "$(tail -n 3 "$LH_TMP/live.err")"

R=$LH_TMP/refuse
lh_guest -l "$TOOLS" -d "$PORTS" -c "$LH_TMP/$VM.sock" "$R" guest_refusals
ok $? "the refusals ran"
refused "$R" snapshot 'snapshot'
ok $? "a snapshot session is refused: $(head -n 1 "$R/snapshot.out")"
refused "$R" local 'relay daemon'
ok $? "a local session is refused: $(head -n 1 "$R/local.out")"
mkdir -p "$LH_TMP/no-ports"
N=$LH_TMP/noport
lh_guest -l "$TOOLS" -d "$LH_TMP/no-ports" -c "$LH_TMP/$VM.sock" "$N" guest_noport
refused "$N" noport 'data port'
ok $? "a missing data port is refused: $(head -n 1 "$N/noport.out")"

S=$LH_TMP/stock
lh_guest -c "$LH_TMP/$VM.sock" "$S" guest_stock "$TOOLS"
ok $? "a stock lttng-sessiond ran the patched lttng"
refused "$S" stock 'does not know --output=hyper'
ok $? "a stock lttng-sessiond's refusal is explained: $(grep -m 1 'does not know' "$S/stock.out")"

kill -0 "$(lh_relay_pid main)" 2>/dev/null
ok $? "lttng-hyper-relayd still running"
