#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# --max-disk: a relay serves vm-q and vm-ok with a quota of QUOTA bytes
# each. vm-q traces without end; vm-ok traces a fixed number of events
# at the same time.
#
# 1. vm-q's sessions end at the quota: the relay logs it, the VM's
#    directory takes no more than the quota and one sub-buffer, and
#    babeltrace2 reads what was written: events from seq 0, none twice.
# 2. vm-ok, under its own quota, has every one of its events.
# 3. While vm-q's directory is full (above 90% of the quota once its
#    sessions were ended), its new sessions are refused, with a log line
#    that says what to do.
# 4. Once its traces are removed, vm-q creates a session and traces again.
# 5. lttng-hyper status shows each VM's disk use and limit.

. "$(dirname "$0")/lib.sh"

LH_CLI=$top_builddir/src/bin/lttng-hyper/lttng-hyper
QUOTA=$((4 << 20))
SUBBUF=$((256 << 10))
OK_EVENTS=50000
AGAIN_EVENTS=1000

lh_require "$LH_CLI" python3

# --- in the guest roles ------------------------------------------------------

# A session with a non-blocking channel: when the host ends it, the
# application goes on and its events are discarded in the guest. LTTng
# sends the metadata when its sub-buffer fills or the session stops,
# unless the metadata channel has a switch timer: a session ended by the
# host is readable up to the metadata sent last.
quota_session()
{
	lh_timed "$1.create" lttng create "$1" --set-url="$LH_GUEST_URL" &&
	lttng enable-channel -u -s "$1" --switch-timer=100000 metadata &&
	lttng enable-channel -u -s "$1" --subbuf-size="$SUBBUF" --num-subbuf=4 c &&
	lttng enable-event -u -s "$1" -c c 'hyper_test:*' &&
	lttng start "$1"
}

# quota_attempt SESSION: quota_session, quietly, leaving no session behind when it fails.
quota_attempt()
{
	quota_session "$1" >/dev/null 2>&1 && return 0
	lttng destroy "$1" >/dev/null 2>&1
	return 1
}
export -f quota_session quota_attempt

# vm-q: trace until FLAGS/stop-q; at FLAGS/try-again, try to create
# sessions for a while (each result in FLAGS/again.N); at FLAGS/room,
# trace AGAIN_EVENTS events into a new session.
role_q()
{
	local flags=$1 n

	lh_wait_channel_up
	quota_session s1 || return 1
	lh_gen 1 --payload 200 --rate 5000 --until "$flags/stop-q" >"$flags/q-emitted"
	lttng stop s1
	lttng destroy s1
	touch "$flags/q-traced"

	lh_wait_file "$flags/try-again"
	for n in 1 2 3 4 5; do
		if quota_attempt "again$n"; then
			echo created >"$flags/again.$n"
			lttng destroy "again$n" >/dev/null
		else
			echo refused >"$flags/again.$n"
		fi
		sleep 1
	done
	touch "$flags/tried"

	lh_wait_file "$flags/room"
	lh_wait_for 30 quota_attempt s2 || return 1
	lh_gen "$AGAIN_EVENTS" &&
	lttng stop s2 && lttng destroy s2
}
export -f role_q

role_ok()
{
	local flags=$1

	lh_wait_channel_up
	lh_wait_file "$flags/go"
	lh_trace s-ok "$OK_EVENTS"
}
export -f role_ok
export AGAIN_EVENTS OK_EVENTS SUBBUF

# --- on the host ------------------------------------------------------------------

# dir_blocks DIR: the bytes DIR's files take (allocated blocks), as the relay counts.
dir_blocks()
{
	find "$1" -type f -printf '%b\n' 2>/dev/null | awk '{ t += $1 * 512 } END { print t + 0 }'
}

lh_init 15
lh_pick_ports 3
FLAGS=$LH_TMP/flags
mkdir -p "$FLAGS"
LOG=$LH_TMP/relay-main.log

lh_relay_start main --max-disk "$QUOTA" \
	--vm "vm-q=unix-listen:$LH_TMP/vm-q.sock" --vm "vm-ok=unix-listen:$LH_TMP/vm-ok.sock"
ok $? "lttng-hyper-relayd started with --max-disk $QUOTA" || bail_out "no relay"

lh_guest -u guest-q -c "$LH_TMP/vm-q.sock" "$LH_TMP/vm-q" role_q "$FLAGS" &
q_pid=$!
lh_guest -u guest-ok -c "$LH_TMP/vm-ok.sock" "$LH_TMP/vm-ok" role_ok "$FLAGS" &
ok_pid=$!
touch "$FLAGS/go"

# 1. The quota ends vm-q's session.
lh_wait_for 120 grep -q 'over --max-disk' "$LOG"
ok $? "the relay ends vm-q's sessions at the quota: $(grep -m1 'over --max-disk' "$LOG")"
touch "$FLAGS/stop-q"
lh_wait_for 60 test -e "$FLAGS/q-traced"
used=$(dir_blocks "$LH_OUT/vm-q")
limit=$((QUOTA + SUBBUF + (64 << 10)))
[ "$used" -gt 0 ] && [ "$used" -le "$limit" ]
ok $? "vm-q's directory takes $used bytes: within the quota and one sub-buffer ($limit)"
lh_trace_stats "$LH_OUT/vm-q"
ok $? "babeltrace2 reads what vm-q wrote before its session ended" ||
	{ diag "$(head -c 2000 "$LH_TMP/babeltrace2.err")"; find "$LH_OUT/vm-q" -type f -printf '# %p %s\n'; }
diag "vm-q: $(lh_trace_describe); emitted: $(cat "$FLAGS/q-emitted" 2>/dev/null)"
[ "$LH_COUNT" -gt 1000 ] && [ "$LH_MIN" -eq 0 ] && [ "$LH_DUPS" -eq 0 ]
ok $? "vm-q's trace holds its first events, from seq 0, none twice ($LH_COUNT events)"

# 2. vm-ok is not affected.
wait "$ok_pid"
ok $? "vm-ok traced $OK_EVENTS events while vm-q hit its quota"
lh_trace_stats "$LH_OUT/vm-ok"
lh_trace_complete "$OK_EVENTS"
ok $? "vm-ok: every event, once, no discard ($(lh_trace_describe))"

# 5. The status tells.
timeout "$LH_CMD_TIMEOUT" "$LH_CLI" status --json >"$LH_TMP/status.json" 2>"$LH_TMP/status.err"
python3 -c '
import json, sys
vm = {v["name"]: v for v in json.load(open(sys.argv[1]))["vms"]}
q, ok = vm["vm-q"]["disk"], vm["vm-ok"]["disk"]
quota = int(sys.argv[2])
print("# vm-q disk %s, vm-ok disk %s" % (q, ok))
sys.exit(not (q["limit"] == quota and ok["limit"] == quota and
	quota - (1 << 20) <= q["used"] <= quota and 0 < ok["used"] < quota))' \
	"$LH_TMP/status.json" "$QUOTA"
ok $? "lttng-hyper status shows vm-q near its quota and vm-ok below it"

# 3. No new session while the directory is full.
touch "$FLAGS/try-again"
lh_wait_for 60 test -e "$FLAGS/tried"
results=$(cat "$FLAGS"/again.* 2>/dev/null | sort | uniq -c | paste -s -d ' ')
! grep -q created "$FLAGS"/again.* 2>/dev/null && [ -n "$results" ]
ok $? "vm-q's new sessions are refused while it is over its quota ($results)"
grep -q 'over --max-disk [0-9]*: its traces take [0-9]* bytes: no new session until it is down to [0-9]* (remove traces from ' "$LOG"
ok $? "the relay says why, and what to do: $(grep -m1 'no new session' "$LOG" | sed 's/.*over/over/')"
[ "$(dir_blocks "$LH_OUT/vm-q")" -le "$limit" ]
ok $? "the refused sessions wrote nothing"

# 4. Room again.
rm -rf "${LH_OUT:?}/vm-q"
touch "$FLAGS/room"
wait "$q_pid"
ok $? "with its traces removed, vm-q traced $AGAIN_EVENTS events into a new session"
lh_trace_stats "$LH_OUT/vm-q"
lh_trace_complete "$AGAIN_EVENTS"
ok $? "vm-q's new trace is whole ($(lh_trace_describe))"

# The relay went on serving throughout.
kill -0 "$(lh_relay_pid main)"
ok $? "the relay is still running"
grep -c 'closing channel' "$LOG" | {
	read -r n
	diag "channel closes logged: $n"
}
! grep 'vm=vm-ok.*closing channel' "$LOG" | grep -v -q 'peer closed the channel'
ok $? "vm-ok's channel was closed by nothing but its guest"
