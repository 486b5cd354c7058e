#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The LTTng version matrix, in guest roles: guests with bookworm's LTTng
# 2.13 and with sid's 2.16 (CTF 1.8 and CTF 2 sessions, from a root made
# by extras/lttng-versions/build-root.sh) behind lttng-hyperd, into
# lttng-hyper-relayd with bookworm's lttng-relayd 2.13 (its own, which it
# starts), with sid's lttng-relayd 2.16 (--relayd-url: the relay does not
# own the output, so only the in-flight rewrite corrects the clock), and
# with sid's lttng-relayd 2.16 as its own (--relayd-path, chrooted): then
# the relay also fixes the metadata file at the session's end, which
# lttng-hyper show and sync-fix read and rewrite, CTF 2 included.
# Each traced guest's sessiond sees a wall clock two days off: every
# event must arrive once and be dated within the test's run.
#
#   guest \ host lttng-relayd    2.13 (own)         2.16 (--relayd-url)  2.16 (own)
#   2.13                         complete, dated    complete, dated
#   2.16, CTF 1.8                complete, dated    complete, dated      complete, dated, fixed
#   2.16, CTF 2                  refused, advised   complete, dated      complete, dated, fixed
#   2.16, CTF 2 under a 2.13 VM                     complete, dated
# babeltrace2 2.0 (bookworm) reads the CTF 1.8 traces, 2.1 (sid) every one;
# 2.0 says it cannot read CTF 2, and so does lttng-hyper show on it.

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

lh_init 48
lh_pick_ports 9
SID_PORT=$((LH_PORT + 3))
OWN216_PORT=$((LH_PORT + 6))
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

LH_CLI=$top_builddir/src/bin/lttng-hyper/lttng-hyper
TWO_DAYS_NS=172800000000000

# md_ctf2_clock TRACE_DIR: "OFFSET FREQ" of the "monotonic" clock class in
# the CTF 2 metadata file on disk (offset = seconds * frequency + cycles),
# read by python3's JSON parser rather than the relay's own scanner.
md_ctf2_clock()
{
	python3 -c '
import json, sys
data = open(sys.argv[1], "rb").read().decode()
for frag in data.split("\x1e"):
    if not frag.strip():
        continue
    f = json.loads(frag)
    if f.get("type") == "clock-class" and f.get("name") == "monotonic":
        o = f["offset-from-origin"]
        print(o.get("seconds", 0) * f["frequency"] + o.get("cycles", 0), f["frequency"])
        break
else:
    sys.exit(1)' "$(find "$1" -name metadata -type f | head -n 1)"
}

# about_two_days NS: NS (a metadata offset minus the guest's, at 1 GHz) is
# the two days the guest's wall clock is off, within 5 s.
about_two_days()
{
	[ -n "$1" ] && [ "$1" -gt $((TWO_DAYS_NS - 5000000000)) ] &&
		[ "$1" -lt $((TWO_DAYS_NS + 5000000000)) ]
}

# sync_of TRACE_DIR: the sync file the relay wrote for the trace, once it
# is there (the final fix follows the guest's lttng destroy closely).
sync_of()
{
	lh_wait_for 10 eval "[ -n \"\$(find '$1' -name lttng-hyper-sync -type f)\" ]" &&
		find "$1" -name lttng-hyper-sync -type f | head -n 1
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

# The merged output: every VM of this relay, CTF 1.8 and CTF 2, 2.13 and
# 2.16, nested or not, read as one by babeltrace2 2.1; 2.0 cannot.
PATH="$SID_BIN:$PATH" lh_trace_stats "$LH_OUT/sid"
hostnames=$(echo "$LH_HOSTNAMES" | tr ',' '\n' | sort | paste -s -d ' ')
[ "$LH_COUNT" -eq $((5 * EVENTS)) ] && [ "$hostnames" = "b-213 b-child b-ctf18 b-ctf2 b-parent" ] &&
	[ "$LH_DISCARDED" -eq 0 ]
ok $? "babeltrace2 2.1 reads the merged output whole: $LH_COUNT events of $hostnames"
! babeltrace2 "$LH_OUT/sid" >/dev/null 2>&1
ok $? "babeltrace2 2.0 cannot read it (CTF 2 inside)"

! grep -q "refuses CTF 2" "$LH_TMP/relay-url.log"
ok $? "guest 2.16 into lttng-relayd 2.16: no CTF 2 advice logged"

kill -0 "$(cat "$LH_TMP/relay-url.pid")" 2>/dev/null && kill -0 "$sid_relayd"
ok $? "lttng-hyper-relayd and lttng-relayd 2.16 still running"

# --- host lttng-relayd 2.16, the relay's own ---------------------------------

# This tree's lttng-hyper run in the root, on its libbabeltrace2 2.1; the
# host's copies of the libraries the root lacks (json-c, ncurses).
CLI_LIBS=$LH_TMP/cli-libs
mkdir -p "$CLI_LIBS"
while read -r lib; do
	[ -e "$LH_ROOT/usr${lib#/usr}" ] || cp -L "$lib" "$CLI_LIBS/"
done < <(ldd "$LH_CLI" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')
root_cli()
{
	timeout "$LH_CMD_TIMEOUT" "$LH_IN_ROOT" -B "$top_builddir" -B "$CLI_LIBS" -b "$LH_OUT" \
		"$LH_ROOT" env LD_LIBRARY_PATH="$CLI_LIBS" "$LH_CLI" "$@"
}

# show_line FILE LAYER: the line of LAYER in lttng-hyper show's output.
show_line()
{
	awk -v l="$2" '$1 == l' "$1"
}

# show_shift LINE: the shift of the clock correction a show line gives, in s.
show_shift()
{
	grep -o -E '[+-][0-9]+\.[0-9]+ s, error' <<<"$1" | cut -d ' ' -f 1
}

VMS=(c-ctf2 c-ctf18)
args=()
for vm in "${VMS[@]}"; do
	args+=(--vm "$vm=unix-listen:$LH_TMP/$vm.sock")
done
# Ports of its own: the first relay's lttng-relayd may still hold its.
LH_PORT=$OWN216_PORT
lh_relay_start own216 --relayd-path "$SID_BIN/lttng-relayd" "${args[@]}"
ok $? "lttng-hyper-relayd started, with lttng-relayd $("$SID_BIN/lttng-relayd" --version) of the root as its own" ||
	bail_out "no relay: $(tail -n 3 "$LH_TMP/relay-own216.log")"

C2=$LH_OUT/c-ctf2
cell c-ctf2 -r "$LH_ROOT"
ok $? "guest 2.16 (CTF 2) into lttng-relayd 2.16 (own): traced $EVENTS events" ||
	diag "$(tail -n 5 "$LH_TMP/c-ctf2/guest.log")"
C2_START=$CELL_START
C2_END=$(date +%s)
dated "$C2" "$SID_BIN"
ok $? "guest 2.16 (CTF 2) into 2.16 (own), babeltrace2 2.1: $(describe)"

# The final fix, in the file lttng-relayd 2.16 wrote: the sync file's clock.
sync=$(sync_of "$C2")
read -r md_offset md_freq < <(md_ctf2_clock "$C2")
guest_offset=$(lh_sync_get "$sync" guest_offset)
[ "$(lh_sync_get "$sync" status)" = applied ] && [ -n "$md_offset" ] &&
	[ "$md_offset" = "$(lh_sync_get "$sync" offset)" ] &&
	[ "$md_freq" = "$(lh_sync_get "$sync" freq)" ] && [ "$md_freq" = 1000000000 ] &&
	about_two_days $((md_offset - ${guest_offset:-0}))
ok $? "guest 2.16 (CTF 2): its metadata file holds the sync file's clock, offset-from-origin $md_offset (the guest's $guest_offset + $((md_offset - ${guest_offset:-0})) ns), frequency $md_freq, error bound $(lh_sync_get "$sync" error_ns) ns" ||
	diag "sync file: $(grep -E '^(status|offset|freq|guest_offset) ' "$sync" 2>/dev/null | tr '\n' ' ')"

# lttng-hyper show, on the host's libbabeltrace2 2.0 and on the root's 2.1.
timeout "$LH_CMD_TIMEOUT" "$LH_CLI" show "$LH_OUT" >"$LH_TMP/show-20.out" 2>"$LH_TMP/show-20.err"
show_status=$?
line=$(show_line "$LH_TMP/show-20.out" c-ctf2)
shift_s=$(show_shift "$line")
read -r _ nr ctf events _ <<<"$line"
[ "$nr" = 1 ] && [ "$ctf" = 2 ] && [ "$events" = - ] &&
	awk -v s="$shift_s" 'BEGIN { exit !(s > 172795 && s < 172805) }'
ok $? "lttng-hyper show (libbabeltrace2 $(babeltrace2 --version | awk 'NR == 1 { print $2 }')): c-ctf2, 1 trace, CTF $ctf, events '$events', shifted $shift_s s" ||
	diag "$(cat "$LH_TMP/show-20.out")"
[ "$show_status" -eq 1 ] &&
	grep -q -E "/c-ctf2/.*: CTF 2, which libbabeltrace2 2\.0\.[0-9]+ cannot read \(2\.1 or later can\)" "$LH_TMP/show-20.err"
ok $? "lttng-hyper show fails (status $show_status), saying why: $(grep -m 1 -o '/c-ctf2/.*' "$LH_TMP/show-20.err" | sed 's/^[^:]*: //')"

root_cli show "$LH_OUT" >"$LH_TMP/show-21.out" 2>"$LH_TMP/show-21.err"
show_status=$?
line=$(show_line "$LH_TMP/show-21.out" c-ctf2)
read -r _ nr ctf events first_d first_t last_d last_t _ <<<"$line"
first=$(date -u -d "$first_d $first_t" +%s 2>/dev/null)
last=$(date -u -d "$last_d $last_t" +%s 2>/dev/null)
[ "$show_status" -eq 0 ] && [ "$ctf" = 2 ] && [ "$events" = "$EVENTS" ] &&
	[ -n "$first" ] && [ -n "$last" ] &&
	[ "$first" -ge $((C2_START - 5)) ] && [ "$last" -le $((C2_END + 5)) ] &&
	[ "$(show_shift "$line")" = "$shift_s" ]
ok $? "lttng-hyper show on libbabeltrace2 2.1 reads every trace (status $show_status): c-ctf2, CTF $ctf, $events events from $first_d $first_t to $last_t (run from $(date -u -d "@$C2_START" +%T))" ||
	diag "$(cat "$LH_TMP/show-21.out" "$LH_TMP/show-21.err")"

timeout "$LH_CMD_TIMEOUT" "$LH_CLI" sync-fix --inspect "$C2" >"$LH_TMP/inspect.out" 2>&1 &&
	grep -q "^  metadata:  CTF 2, offset = $md_offset, freq = $md_freq\$" "$LH_TMP/inspect.out" &&
	grep -q '^  state:     corrected$' "$LH_TMP/inspect.out"
ok $? "lttng-hyper sync-fix --inspect: $(sed -n 's/^  metadata:  \(CTF [0-9.]*\).*/\1/p' "$LH_TMP/inspect.out"), $(sed -n 's/^  state:     //p' "$LH_TMP/inspect.out")" ||
	diag "$(cat "$LH_TMP/inspect.out")"

# On a copy, which the root's babeltrace2 reads through wrappers of its own.
COPY=$LH_TMP/copy
mkdir -p "$COPY"
cp -a "$C2" "$COPY/" && lh_root_wrap "$LH_TMP/copy-bin" "$LH_ROOT" "$LH_TMP/copy-state" "$COPY" ||
	bail_out "no copy of $C2"
copy_md=$(find "$COPY" -name metadata -type f | head -n 1)
timeout "$LH_CMD_TIMEOUT" "$LH_CLI" sync-fix --revert "$COPY" >"$LH_TMP/revert.out" 2>&1 &&
	PATH="$LH_TMP/copy-bin:$PATH" lh_trace_stats "$COPY" && lh_trace_complete "$EVENTS" &&
	[ "$LH_FIRST_S" -ge $((C2_START - 172800 - 5)) ] && [ "$LH_LAST_S" -le $((C2_END - 172800 + 5)) ]
ok $? "sync-fix --revert on a copy: babeltrace2 2.1 dates it two days early, $LH_FIRST_S..$LH_LAST_S (run from $C2_START)" ||
	diag "$(cat "$LH_TMP/revert.out")"
CELL_START=$C2_START
timeout "$LH_CMD_TIMEOUT" "$LH_CLI" sync-fix "$COPY" >"$LH_TMP/refix.out" 2>&1 &&
	dated "$COPY" "$LH_TMP/copy-bin"
ok $? "sync-fix on that copy: within the run again, babeltrace2 2.1: $(describe)" ||
	diag "$(cat "$LH_TMP/refix.out")"
sum=$(md5sum <"$copy_md")
timeout "$LH_CMD_TIMEOUT" "$LH_CLI" sync-fix "$COPY" >"$LH_TMP/refix2.out" 2>&1 &&
	[ "$(md5sum <"$copy_md")" = "$sum" ] && cmp -s "$copy_md" "$(find "$C2" -name metadata -type f | head -n 1)"
ok $? "sync-fix again changes nothing (md5 ${sum%% *}), the bytes of the relay's final fix" ||
	diag "$(cat "$LH_TMP/refix2.out")"

C18=$LH_OUT/c-ctf18
LH_CREATE_OPTS=--trace-format=ctf-1.8 cell c-ctf18 -r "$LH_ROOT"
ok $? "guest 2.16 (CTF 1.8) into lttng-relayd 2.16 (own): traced $EVENTS events" ||
	diag "$(tail -n 5 "$LH_TMP/c-ctf18/guest.log")"
dated "$C18"
ok $? "guest 2.16 (CTF 1.8) into 2.16 (own), babeltrace2 2.0: $(describe)"
sync=$(sync_of "$C18")
md_offset=$(lh_metadata_clock "$C18" offset)
guest_offset=$(lh_sync_get "$sync" guest_offset)
timeout "$LH_CMD_TIMEOUT" "$LH_CLI" sync-fix --inspect "$C18" >"$LH_TMP/inspect-18.out" 2>&1
[ "$(lh_sync_get "$sync" status)" = applied ] && [ -n "$md_offset" ] &&
	[ "$md_offset" = "$(lh_sync_get "$sync" offset)" ] &&
	about_two_days $((md_offset - ${guest_offset:-0})) &&
	grep -q '^  metadata:  CTF 1.8, ' "$LH_TMP/inspect-18.out" &&
	grep -q '^  state:     corrected$' "$LH_TMP/inspect-18.out"
ok $? "guest 2.16 (CTF 1.8): its metadata file holds the sync file's offset $md_offset (the guest's + $((md_offset - ${guest_offset:-0})) ns), sync-fix --inspect: corrected" ||
	diag "$(cat "$LH_TMP/inspect-18.out")"

lh_kill_pid "$(lh_relay_pid own216)"
grep -q 'lttng-relayd exited with status 0' "$LH_TMP/relay-own216.log"
ok $? "lttng-hyper-relayd stopped, and its lttng-relayd 2.16 with status 0"
