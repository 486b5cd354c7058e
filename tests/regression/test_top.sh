#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lttng-hyper status and top against a relay serving two guest roles, vm-a
# (which runs a nested VM, vm-a/l2) and vm-b, all three tracing:
#
# 1. status --json: the three VMs in tree order (vm-a/l2 under vm-a, one
#    level down), channels up, each with its sessions, bytes and packets
#    flowing and a clock correction with its error bound; the table
#    shows l2 indented under vm-a.
# 2. top in tmux: the captured screen shows the three VMs with non-zero
#    MB/s and packets/s; when vm-b's lttng-hyperd stops, its line says
#    "listening" within 2 s, and the JSON says why (its last error).
# 3. The control socket: mode 0600; a user other than root is refused
#    with a reason, even through a socket opened to all; unknown,
#    oversized, binary and missing requests get an error and the relay
#    goes on answering; a missing socket is a clear error.

. "$(dirname "$0")/lib.sh"

LH_CLI=$top_builddir/src/bin/lttng-hyper/lttng-hyper
RATE=4000
PAYLOAD=64
# Small sub-buffers flushed often: packets every 100 ms, a steady rate.
export LH_CHANNEL_OPTS="--subbuf-size=4096 --num-subbuf=8 --switch-timer=100000"
export RATE PAYLOAD

lh_require "$LH_CLI" tmux socat python3 setpriv

# --- in the guest roles ------------------------------------------------------

# role NAME FLAGS: trace until FLAGS/stop; vm-b then stops its lttng-hyperd
# at FLAGS/down-b; vm-a keeps its channel for l2 until FLAGS/end.
role()
{
	local name=$1 flags=$2

	lh_wait_channel_up
	touch "$flags/$name.up"
	lh_wait_file "$flags/go"
	lh_trace "s-$name" 1 --rate "$RATE" --payload "$PAYLOAD" --until "$flags/stop" || return 1
	touch "$flags/$name.traced"
	if [ "$name" = vm-b ]; then
		lh_wait_file "$flags/down-b"
		lh_guest_hyperd_stop
	fi
	lh_wait_file "$flags/end"
}
export -f role

# --- on the host ------------------------------------------------------------------

# status_json PYTHON: run PYTHON with d = the relay's status (lttng-hyper status --json).
status_json()
{
	timeout "$LH_CMD_TIMEOUT" "$LH_CLI" status --json >"$LH_TMP/status.json" 2>"$LH_TMP/status.err" &&
		python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
vm = {v["name"]: v for v in d["vms"]}
exec(sys.argv[2])' "$LH_TMP/status.json" "$1"
}

# ask BYTES...: send BYTES (printf format) to the control socket, print the reply.
ask()
{
	# shellcheck disable=SC2059 # the format is the point
	printf "$1" | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK" 2>/dev/null
}

tmux_cmd()
{
	timeout 10 tmux -S "$TMUX_SOCK" "$@"
}

screen()
{
	tmux_cmd capture-pane -p -t top
}

# screen_field VM COLUMN: the value of COLUMN (a heading of top's table)
# on VM's line of the screen: columns stand two spaces apart or more.
screen_field()
{
	screen | python3 -c '
import re, sys
vm, col = sys.argv[1], sys.argv[2]
lines = sys.stdin.read().splitlines()
hdr = next(i for i, l in enumerate(lines) if l.startswith("VM "))
names = re.split(r"\s{2,}", lines[hdr].strip())
for l in lines[hdr + 1:]:
    cells = re.split(r"\s{2,}", l.strip(), maxsplit=len(names) - 1)
    if cells[0] == vm:
        print(cells[names.index(col)])
        break' "$1" "$2" 2>/dev/null
}

lh_init 21
lh_pick_ports 3
SOCK=$LTTNG_HOME/.lttng/lttng-hyper-relayd.sock
TMUX_SOCK=$LH_TMP/tmux.sock
FLAGS=$LH_TMP/flags
mkdir -p "$FLAGS" || bail_out "mkdir in $LH_TMP failed"

lh_relay_start main --vm "vm-a=unix-listen:$LH_TMP/a.sock" --vm "vm-b=unix-listen:$LH_TMP/b.sock"
ok $? "lttng-hyper-relayd started with --vm vm-a and --vm vm-b" || bail_out "no relay"

[ "$(stat -c '%a %U' "$SOCK" 2>/dev/null)" = "600 root" ]
ok $? "its control socket is at \$LTTNG_HOME/.lttng/lttng-hyper-relayd.sock, mode 0600, root's: $(stat -c '%a %U' "$SOCK" 2>&1)"

lh_guest -u vm-a -m 100000 -x "--vm l2=unix-listen:$LH_TMP/l2.sock" -c "$LH_TMP/a.sock" \
	"$LH_TMP/vm-a" role vm-a "$FLAGS" &
a_pid=$!
lh_guest -u l2 -m 250000 -c "$LH_TMP/l2.sock" "$LH_TMP/l2" role l2 "$FLAGS" &
l2_pid=$!
lh_guest -u vm-b -m 50000 -c "$LH_TMP/b.sock" "$LH_TMP/vm-b" role vm-b "$FLAGS" &
b_pid=$!
lh_wait_flag 60 "$FLAGS/vm-a.up" "$a_pid" && lh_wait_flag 60 "$FLAGS/l2.up" "$l2_pid" &&
	lh_wait_flag 60 "$FLAGS/vm-b.up" "$b_pid"
ok $? "the channels of vm-a, vm-a/l2 (through vm-a) and vm-b are up" || bail_out "a channel is down"
touch "$FLAGS/go"

# --- 1. status -------------------------------------------------------------------

all_flowing()
{
	status_json '
for n in ("vm-a", "vm-a/l2", "vm-b"):
    assert vm[n]["packets"] > 0 and vm[n]["clock"] is not None, n' 2>/dev/null
}
lh_wait_for 60 all_flowing
ok $? "status: packets flow from the three VMs, and their clocks are known" ||
	diag "$(cat "$LH_TMP/status.json" "$LH_TMP/status.err")"

status_json '
names = [v["name"] for v in d["vms"]]
assert names == ["vm-a", "vm-a/l2", "vm-b"], names
assert [v["depth"] for v in d["vms"]] == [0, 1, 0]
assert [v["parent"] for v in d["vms"]] == [None, "vm-a", None]
assert vm["vm-a"]["channel"] == "unix-listen:'"$LH_TMP"'/a.sock" and vm["vm-a/l2"]["channel"] is None
assert all(v["state"] == "up" for v in d["vms"]), [v["state"] for v in d["vms"]]
assert vm["vm-a"]["ups"] == 1 and vm["vm-b"]["ups"] == 1
assert d["relay"]["relayd"] == "up" and d["relay"]["output"] == "'"$LH_OUT"'"'
ok $? "status --json: vm-a, vm-a/l2 (depth 1, parent vm-a), vm-b, all up; lttng-relayd up" ||
	diag "$(cat "$LH_TMP/status.json" "$LH_TMP/status.err")"

status_json '
for n in ("vm-a", "vm-a/l2", "vm-b"):
    v = vm[n]
    assert v["sessions"] == 1 and v["streams"] >= 2 and v["connections"] >= 2, (n, v)
    assert v["bytes_in"] > 0, (n, v)
    assert 0 < v["clock"]["error_ns"] < 10**9, (n, v["clock"])
    assert v["events_discarded"] == 0, (n, v)
print(" ".join("%s:%d/%d/%d" % (n, vm[n]["sessions"], vm[n]["streams"], vm[n]["connections"])
    for n in ("vm-a", "vm-a/l2", "vm-b")))' >"$LH_TMP/usage.out"
ok $? "each VM: 1 session, its streams and connections ($(cat "$LH_TMP/usage.out")), bytes in, an error bound, no discard" ||
	diag "$(cat "$LH_TMP/status.json")"

# The monotonic offsets of the roles (-m) are the clock offsets status shows.
status_json '
for n, mono in (("vm-a", 100000), ("vm-a/l2", 250000), ("vm-b", 50000)):
    off = -vm[n]["clock"]["offset_ns"] / 1e9
    assert abs(off - mono) < 1, (n, off, mono)'
ok $? "the clock offsets are the roles' CLOCK_MONOTONIC offsets (100000, 250000, 50000 s)" ||
	diag "$(cat "$LH_TMP/status.json")"

timeout "$LH_CMD_TIMEOUT" "$LH_CLI" status >"$LH_TMP/status.txt" 2>&1
rows=$(awk '$1 == "VM" { hdr = 1; next } hdr && NF { match($0, /^ */); printf "%s:%d ", $1, RLENGTH }' \
	"$LH_TMP/status.txt")
[ "$rows" = "vm-a:0 l2:2 vm-b:0 " ]
ok $? "status: a table, l2 indented under vm-a: $rows" || diag "$(cat "$LH_TMP/status.txt")"

# --- 2. top --------------------------------------------------------------------------

tmux_cmd new-session -d -s top -x 200 -y 40 "$LH_CLI top -d 0.5"
tmux_pid=$(tmux_cmd display-message -p -t top '#{pid}')
[ -n "$tmux_pid" ] && lh_track_pid "$tmux_pid"

rates_shown()
{
	local n

	for n in vm-a l2 vm-b; do
		awk -v r="$(screen_field "$n" "MB/S IN")" -v p="$(screen_field "$n" PKT/S)" \
			'BEGIN { exit !(r + 0 > 0 && p + 0 > 0) }' || return 1
	done
}
lh_wait_for 30 rates_shown
ok $? "top: the three VMs with non-zero MB/s and PKT/s: $(for n in vm-a l2 vm-b; do
	printf '%s %s MB/s %s pkt/s; ' "$n" "$(screen_field "$n" "MB/S IN")" "$(screen_field "$n" PKT/S)"; done)" ||
	diag "$(screen)"
screen >"$LH_TMP/top-tracing.txt"

touch "$FLAGS/stop"
lh_wait_flag 60 "$FLAGS/vm-b.traced" "$b_pid" && lh_wait_flag 60 "$FLAGS/vm-a.traced" "$a_pid" &&
	lh_wait_flag 60 "$FLAGS/l2.traced" "$l2_pid"
ok $? "the three VMs ended their sessions"

[[ $(screen_field vm-b STATE) == up* ]]
ok $? "top shows vm-b up before its lttng-hyperd stops" || diag "$(screen)"
touch "$FLAGS/down-b"
start=$(lh_now_ms)
until [[ $(screen_field vm-b STATE) == listening* ]] || [ $(($(lh_now_ms) - start)) -gt 10000 ]; do
	sleep 0.05
done
shown=$(date +%s.%N)
screen >"$LH_TMP/top-down.txt"
# From the relay's own line that the channel closed (today, local time).
closed=$(sed -n 's/^\([0-9:.]*\) .*\[vm=vm-b\] closing channel.*/\1/p' "$LH_TMP/relay-main.log" | head -n 1)
elapsed=$(python3 -c '
import datetime, sys
h, m, s = sys.argv[1].split(":")
t = datetime.datetime.now().replace(hour=int(h), minute=int(m), second=0, microsecond=0)
print(int((float(sys.argv[2]) - (t.timestamp() + float(s))) * 1000))' "$closed" "$shown" 2>/dev/null)
[[ $(screen_field vm-b STATE) == listening* ]] && [ -n "$elapsed" ] && [ "$elapsed" -le 2000 ] &&
	[[ $(screen_field vm-a STATE) == up* ]]
ok $? "top shows vm-b listening ${elapsed:-?} ms after the relay closed its channel (at most 2000), vm-a still up" ||
	diag "$(cat "$LH_TMP/top-down.txt")"

status_json '
v = vm["vm-b"]
assert v["state"] == "listening" and v["connections"] == 0 and v["ups"] == 1, v
assert "closing channel" in v["last_error"]["message"], v["last_error"]
assert vm["vm-a"]["last_error"] is None, vm["vm-a"]["last_error"]
print(v["last_error"]["message"])' >"$LH_TMP/why.out"
ok $? "status: vm-b listening, no connection, and why: $(cat "$LH_TMP/why.out")" ||
	diag "$(cat "$LH_TMP/status.json")"

tmux_cmd kill-server
[ -n "$tmux_pid" ] && lh_wait_for 10 eval "! kill -0 $tmux_pid 2>/dev/null" && lh_untrack_pid "$tmux_pid"
touch "$FLAGS/end"
wait "$a_pid" && wait "$l2_pid" && wait "$b_pid"
ok $? "the guest roles ended well"

# --- 3. the control socket ---------------------------------------------------------

reply=$(ask 'GET / HTTP/1.0\r\n\r\n')
[[ $reply == '{"error":"unknown request'* ]]
ok $? "an unknown request gets an error: $reply"

reply=$(ask "$(head -c 200 /dev/zero | tr '\0' 's')")
[[ $reply == '{"error":"request too long'* ]]
ok $? "200 bytes without a newline get an error: $reply"

reply=$( (sleep 4; printf 'status\n') | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK" 2>/dev/null)
[[ $reply == '{"error":"no request in time'* ]]
ok $? "a client that asks nothing for 2 s gets an error: $reply"

reply=$(head -c 4096 /dev/urandom | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK" 2>/dev/null | tr -d '\0')
[[ $reply == '{"error":'* ]]
ok $? "random bytes get an error: ${reply:0:60}"

# Opened to all, the socket still answers root alone.
chmod 0666 "$SOCK" && chmod 0755 "$LTTNG_HOME" "$LTTNG_HOME/.lttng" "$LH_TMP"
reply=$(printf 'status\n' | timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups \
	socat -t 5 - "UNIX-CONNECT:$SOCK" 2>/dev/null)
[[ $reply == '{"error":"permission denied'* ]] &&
	grep -q 'control socket: uid 65534 refused: only root may read the relay' "$LH_TMP/relay-main.log"
ok $? "uid 65534 is refused, and the relay logs it: $reply"
chmod 0600 "$SOCK"

status_json '
assert [(v["name"], v["state"]) for v in d["vms"]] == [("vm-a", "listening"), ("vm-b", "listening")], d["vms"]'
ok $? "after all that, the relay still answers: vm-a and vm-b listening, vm-a/l2 gone with vm-a's channel" ||
	diag "$(cat "$LH_TMP/status.json" "$LH_TMP/status.err")"

timeout "$LH_CMD_TIMEOUT" "$LH_CLI" status --socket "$LH_TMP/nowhere.sock" >"$LH_TMP/nowhere.out" 2>&1
status=$?
[ "$status" -eq 1 ] && grep -q "$LH_TMP/nowhere.sock" "$LH_TMP/nowhere.out"
ok $? "status on a missing socket fails and names it (status $status): $(head -n 1 "$LH_TMP/nowhere.out")"
