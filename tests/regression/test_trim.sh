#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A guest lost in the middle of a data packet: lttng-relayd has written
# the first part of that packet, and babeltrace2 refuses a stream file
# that ends so. The relay must cut the file back to its last whole packet:
# the trace then reads, and holds seq 0..k-1 with no gap.
#
# The packet is put in flight deterministically: the channel goes through
# a proxy that carries 1 MB/s, so that each 4 MiB packet takes four
# seconds to cross; when the host's stream file is seen in the middle of
# one, the guest's lttng-hyperd is killed (SIGKILL).
#
# The guest enables a switch timer on its metadata channel: by default,
# LTTng sends the metadata only when tracing stops, and the trace of a
# guest killed before that has none.

. "$(dirname "$0")/lib.sh"

VM=vm-trim
PACKET=$((4 * 1024 * 1024))
STREAM_GLOB="ust/uid/*/64-bit/c_0"

guest_killed()
{
	lttng create s1 --set-url="$LH_GUEST_URL" &&
	lttng enable-channel -u -s s1 --switch-timer=200000 metadata &&
	lttng enable-channel -u -s s1 --subbuf-size=4M --num-subbuf=4 \
		--blocking-timeout=inf c &&
	lttng enable-event -u -s s1 -c c 'hyper_test:*' &&
	lttng start s1 || return 1
	# On one CPU, every event lands in one stream, c_0, in seq order.
	LTTNG_UST_REGISTER_TIMEOUT=-1 LTTNG_UST_ALLOW_BLOCKING=1 \
		timeout "$LH_CMD_TIMEOUT" taskset -c 0 "$LH_GEN_EVENTS" \
		-n 100000000 -p 1000 -r 20000 &
	touch "$LH_GUEST_DIR/tracing"
	# The host kills lttng-hyperd; the role ends when it is done.
	lh_wait_for 120 test -e "$LH_GUEST_DIR/done"
	return 0
}
export -f guest_killed

# rate_proxy LISTEN CONNECT BYTES_PER_SEC: a unix socket proxy for one
# connection, slow from LISTEN to CONNECT.
rate_proxy()
{
	python3 - "$@" <<'PY'
import socket, sys, threading, time

listen, target, rate = sys.argv[1], sys.argv[2], int(sys.argv[3])
srv = socket.socket(socket.AF_UNIX)
srv.bind(listen)
srv.listen(1)
a, _ = srv.accept()
b = socket.socket(socket.AF_UNIX)
b.connect(target)

def pump(src, dst, limit):
    start, sent = time.monotonic(), 0
    while True:
        data = src.recv(65536 if not limit else 16384)
        if not data:
            break
        dst.sendall(data)
        sent += len(data)
        if limit:
            ahead = sent / limit - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    dst.shutdown(socket.SHUT_WR)

def run(src, dst, limit):
    try:
        pump(src, dst, limit)
    except OSError:
        pass

threading.Thread(target=run, args=(b, a, 0), daemon=True).start()
run(a, b, rate)
PY
}

# The host-side PID of a process of ours: its executable and an argument.
pid_of()
{
	local exe=$1 arg=$2 p

	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$exe" ] || continue
		tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qxF -- "$arg" || continue
		echo "${p#/proc/}"
		return 0
	done
	return 1
}

stream_file()
{
	local f

	for f in "$LH_OUT/$VM"/*/$STREAM_GLOB; do
		[ -f "$f" ] && echo "$f" && return 0
	done
	return 1
}

file_size()
{
	stat -c %s "$1" 2>/dev/null || echo 0
}

# The stream holds a whole packet, and the next one is half across.
stream_mid_packet()
{
	local f size

	f=$(stream_file) && size=$(file_size "$f") && [ "$size" -gt "$PACKET" ] &&
		[ $((size % PACKET)) -gt $((PACKET / 4)) ] &&
		[ $((size % PACKET)) -lt $((PACKET * 3 / 4)) ]
}

lh_init 10
command -v python3 >/dev/null || bail_out "python3 not found (the test's channel proxy)"
lh_pick_ports 3

lh_relay_start main --vm "$VM=unix-listen:$LH_TMP/$VM.sock"
ok $? "lttng-hyper-relayd started" || bail_out "no relay"
relay_pid=$(lh_relay_pid main)

rate_proxy "$LH_TMP/proxy.sock" "$LH_TMP/$VM.sock" 1000000 &
proxy_pid=$!
lh_track_pid "$proxy_pid"
lh_wait_for 10 test -S "$LH_TMP/proxy.sock" || bail_out "no channel proxy"

lh_guest -c "$LH_TMP/proxy.sock" "$LH_TMP/guest" guest_killed &
guest_job=$!
lh_wait_flag 60 "$LH_TMP/guest/tracing" "$guest_job" &&
	hyperd_pid=$(pid_of "$(readlink -f "$LH_HYPERD")" "$LH_TMP/guest/hyperd.pid") &&
	lh_wait_for 60 stream_mid_packet
ok $? "the guest traces: OUT/$VM holds a whole packet and part of the next" ||
	bail_out "no trace"

kill -KILL "$hyperd_pid" &&
	lh_wait_for 10 grep -q "channel down" "$LH_TMP/relay-main.log"
ok $? "lttng-hyperd (pid $hyperd_pid) killed mid-packet: the channel is down"

lh_wait_for 30 grep -q "Trimmed the partial last packet" "$LH_TMP/relay-main.log"
ok $? "the relay trimmed the partial last packet"
diag "$(grep -h "Trimmed" "$LH_TMP/relay-main.log")"
touch "$LH_TMP/guest/done"
wait "$guest_job"

f=$(stream_file)
size=$(file_size "$f")
[ "$size" -gt 0 ] && [ $((size % PACKET)) -eq 0 ]
ok $? "the stream file ends on a packet boundary ($size bytes)"

lh_trace_stats "$LH_OUT/$VM"
ok $? "babeltrace2 read OUT/$VM" || diag "$(tail -n 5 "$LH_TMP/babeltrace2.err")"
diag "$(lh_trace_describe)"
[ "$LH_COUNT" -gt 0 ] && [ "$LH_MIN" -eq 0 ] && [ "$LH_DUPS" -eq 0 ] &&
	[ "$LH_MAX" -eq $((LH_COUNT - 1)) ]
ok $? "seq is 0..$((LH_COUNT - 1)) with no gap and no duplicate"

# Without the trim: the same trace, its stream ending in half a packet.
cp -a "$LH_OUT/$VM" "$LH_TMP/untrimmed" &&
	g=$(echo "$LH_TMP/untrimmed"/*/$STREAM_GLOB) &&
	head -c $((PACKET / 2)) "$g" >"$LH_TMP/half" && cat "$LH_TMP/half" >>"$g" &&
	! timeout "$LH_CMD_TIMEOUT" babeltrace2 "$LH_TMP/untrimmed" >/dev/null 2>&1
ok $? "babeltrace2 refuses the same trace ending in half a packet"

truncate -s "$size" "$g" &&
	timeout "$LH_CMD_TIMEOUT" babeltrace2 "$LH_TMP/untrimmed" >/dev/null 2>&1
ok $? "and reads it again once cut back to the packet boundary"

kill -0 "$relay_pid" 2>/dev/null
ok $? "lttng-hyper-relayd still running"
