#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lttng-hyper graph on a real trace: the host role, a VM l1 that runs a VM
# l2 (a nested chain), and a sibling VM l1-b, each a guest role with its
# own CLOCK_MONOTONIC. l1 and l1-b trace gen-events; the host and l2 play
# ping-pong over a unix socket (l2's sessiond sees a wall clock two days
# off). Then:
#
# 1. The file holds one band per layer, in nesting order (the host, l1,
#    l1/l2 under l1, l1-b), each with its events as babeltrace2 counts
#    them, the clock correction and error bound of its sync file, and one
#    link per ping-pong message, none back in time by more than the error
#    bounds; with the guests' own clocks put back (sync-fix --revert), the
#    host's sends land after l2's receives, and the links say so.
# 2. It makes no network request: a Content-Security-Policy that forbids
#    every load, no URL, and an image load planted in a copy of the file
#    never reaches a listener.
# 3. Headless Chromium runs its script: the DOM has the bands, by name, in
#    order, l1/l2 one level below l1; a screenshot is not blank.
# 4. --max-detail aggregates the largest band into buckets whose counts
#    add up to all its events, and the file says it is aggregated;
#    --from/--to keep the events babeltrace2's trimmer keeps; --layer
#    keeps the layers named.
# 5. Mistakes (no trace, an unknown layer, bad or empty windows, graph
#    options with another command) fail with an error and write nothing.

. "$(dirname "$0")/lib.sh"

LH_PINGPONG=$top_builddir/tests/utils/pingpong
LH_CLI=$top_builddir/src/bin/lttng-hyper/lttng-hyper
export LH_PINGPONG

NUM_EVENTS=3000
RATE=3000
ROUNDS=300
HOST_HOSTNAME=gr-host
# The layers in the order the graph must show them.
LAYERS=(gr-host l1 l1/l2 l1-b)
LINK=hyper_pingpong:send:hyper_pingpong:recv:round
# LH_CHROMIUM: another browser binary, or empty to skip the browser's tests.
CHROMIUM=${LH_CHROMIUM-$(command -v chromium || command -v chromium-browser)}
BROWSER_TESTS=6

lh_require "$LH_PINGPONG" "$LH_CLI" "$LH_FAKETIME_LIB" python3

# --- in the guest roles ------------------------------------------------------

# pingpong_session SESSION MODE SOCKET ROUNDS: one side of the game, traced.
pingpong_session()
{
	lh_session_create "$1" 'hyper_pingpong:*' &&
	lh_timed "$1.start" lttng start "$1" &&
	LTTNG_UST_REGISTER_TIMEOUT=-1 LTTNG_UST_ALLOW_BLOCKING=1 \
		lh_timed "$1.pingpong" "$LH_PINGPONG" --"$2" "$3" -n "$4" &&
	lh_timed "$1.stop" lttng stop "$1" &&
	lh_timed "$1.destroy" lttng destroy "$1"
}
export -f pingpong_session

# level NAME FLAGS: say when the channel is up; at FLAGS/go, trace (l2
# plays ping-pong); l1 stays up for l2 until FLAGS/release.
level()
{
	local name=$1 flags=$2

	lh_wait_channel_up
	touch "$flags/$name.up"
	lh_wait_file "$flags/go"
	if [ "$name" = l2 ]; then
		pingpong_session pp-l2 serve "$flags/pingpong.sock" "$ROUNDS" || return 1
	else
		lh_trace "s-$name" "$NUM_EVENTS" --rate "$RATE" || return 1
	fi
	if [ "$name" = l1 ]; then
		lh_wait_file "$flags/release"
	fi
}
export -f level
export NUM_EVENTS RATE ROUNDS

# --- helpers on the host ------------------------------------------------------

# graph ARGS...: run lttng-hyper graph; its output in $LH_TMP/graph.out.
graph()
{
	timeout "$LH_CMD_TIMEOUT" "$LH_CLI" graph "$@" >"$LH_TMP/graph.out" 2>&1
}

# layer_events LAYER: events under OUT/LAYER's own sessions, as babeltrace2 reads them.
layer_events()
{
	local dirs

	mapfile -t dirs < <(find "$LH_OUT/$1" -mindepth 1 -maxdepth 1 -type d \
		-name '*-[0-9]*-[0-9]*')
	[ "${#dirs[@]}" -gt 0 ] || return 1
	timeout "$LH_CMD_TIMEOUT" babeltrace2 "${dirs[@]}" 2>/dev/null | wc -l
}

CHROMIUM_ARGS=(--headless --no-sandbox --disable-gpu --no-first-run --disable-sync
	--disable-extensions --disable-background-networking --disable-component-update
	--disable-default-apps --user-data-dir="$LH_TMP/chromium")

# chromium_dom FILE: the page's DOM once its script ran.
chromium_dom()
{
	timeout 120 "$CHROMIUM" "${CHROMIUM_ARGS[@]}" --dump-dom "file://$1" 2>>"$LH_TMP/chromium.log"
}

# png_check PNG: "WIDTH HEIGHT COLORS TOP_SHARE COLORED": distinct colors,
# the share of the commonest, pixels of a saturated color (the canvas's
# spans and events: the page's own text and frames are grey or dark blue).
png_check()
{
	python3 -c '
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG")
pos, idat = 8, b""
while pos < len(data):
    n, = struct.unpack(">I", data[pos:pos + 4])
    kind, chunk = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
    pos += 12 + n
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", chunk[:10])
    elif kind == b"IDAT":
        idat += chunk
if depth != 8 or ctype not in (2, 6):
    sys.exit("unexpected PNG format")
bpp = 3 if ctype == 2 else 4
raw, stride, i = zlib.decompress(idat), w * bpp, 0
prev, counts, colored = bytearray(stride), {}, 0
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1:
            line[x] = (line[x] + a) & 255
        elif f == 2:
            line[x] = (line[x] + b) & 255
        elif f == 3:
            line[x] = (line[x] + ((a + b) >> 1)) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        px = bytes(line[x:x + 3])
        counts[px] = counts.get(px, 0) + 1
        if max(px) - min(px) > 90 and max(px) > 120:
            colored += 1
    prev = line
print(w, h, len(counts), "%.3f" % (max(counts.values()) / (w * h)), colored)' "$1"
}

lh_init $((27 + BROWSER_TESTS))
# The relay's lttng-relayd takes 3; the last is a listener's.
lh_pick_ports 4
FLAGS=$LH_TMP/flags
mkdir -p "$FLAGS" || bail_out "mkdir in $LH_TMP failed"

lh_relay_start main --vm "l1=unix-listen:$LH_TMP/l1.sock" --vm "l1-b=unix-listen:$LH_TMP/l1-b.sock"
ok $? "lttng-hyper-relayd started with --vm l1 and --vm l1-b" || bail_out "no relay"

# --- the trace ----------------------------------------------------------------

lh_guest -u l1-guest -m 100000 -x "--vm l2=unix-listen:$LH_TMP/l2.sock" -c "$LH_TMP/l1.sock" \
	"$LH_TMP/l1" level l1 "$FLAGS" &
l1_pid=$!
lh_guest -u l2-guest -m 250000 -w -2d -c "$LH_TMP/l2.sock" "$LH_TMP/l2" level l2 "$FLAGS" &
l2_pid=$!
lh_guest -u l1b-guest -m 50000 -c "$LH_TMP/l1-b.sock" "$LH_TMP/l1-b" level l1-b "$FLAGS" &
l1b_pid=$!
lh_wait_flag 60 "$FLAGS/l1.up" "$l1_pid" && lh_wait_flag 60 "$FLAGS/l2.up" "$l2_pid" &&
	lh_wait_flag 60 "$FLAGS/l1-b.up" "$l1b_pid"
ok $? "the channels of l1, l1/l2 (through l1) and l1-b are up" || bail_out "a channel is down"

touch "$FLAGS/go"
lh_guest -u "$HOST_HOSTNAME" -s "net://127.0.0.1:$LH_PORT:$((LH_PORT + 1))" "$LH_TMP/host" \
	pingpong_session pp-host connect "$FLAGS/pingpong.sock" "$ROUNDS"
host_status=$?
wait "$l2_pid"
l2_status=$?
wait "$l1b_pid"
l1b_status=$?
touch "$FLAGS/release"
wait "$l1_pid"
l1_status=$?
[ "$host_status" -eq 0 ] && [ "$l2_status" -eq 0 ] && [ "$l1b_status" -eq 0 ] &&
	[ "$l1_status" -eq 0 ]
ok $? "the host and l2 played $ROUNDS rounds, l1 and l1-b traced $NUM_EVENTS events each" ||
	bail_out "a role failed (host $host_status, l1 $l1_status, l2 $l2_status, l1-b $l1b_status)"

sync_files_written()
{
	[ -n "$(find "$LH_OUT/l1" -maxdepth 2 -name lttng-hyper-sync)" ] &&
		[ -n "$(find "$LH_OUT/l1/l2" -maxdepth 2 -name lttng-hyper-sync)" ] &&
		[ -n "$(find "$LH_OUT/l1-b" -maxdepth 2 -name lttng-hyper-sync)" ]
}
lh_wait_for 30 sync_files_written
ok $? "the relay wrote the sync files of l1, l1/l2 and l1-b" ||
	diag "$(cd "$LH_OUT" && find . -maxdepth 4)"

# --- 1. the file ----------------------------------------------------------------

HTML=$LH_TMP/graph.html
graph "$LH_OUT" -o "$HTML" --link "$LINK"
status=$?
ok $status "lttng-hyper graph OUT -o graph.html --link $LINK: $(head -n 1 "$LH_TMP/graph.out")" ||
	diag "$(cat "$LH_TMP/graph.out")"
[ -s "$HTML" ] && grep -q '^Graph of 4 layers, ' "$LH_TMP/graph.out"
ok $? "it wrote $HTML ($(stat -c %s "$HTML" 2>/dev/null) bytes), 4 layers"

layers=$(lh_graph_json "$HTML" 'print(" ".join(b["layer"] for b in d["bands"]))')
[ "$layers" = "${LAYERS[*]}" ]
ok $? "bands in nesting order: $layers (want ${LAYERS[*]})"

host_flags=$(lh_graph_json "$HTML" 'print(" ".join(str(b["host"]).lower() for b in d["bands"]))')
[ "$host_flags" = "true false false false" ]
ok $? "only $HOST_HOSTNAME is the host's (reference clock): $host_flags"

counts=()
for layer in "${LAYERS[@]}"; do
	counts+=("$(layer_events "$layer")")
done
in_file=$(lh_graph_json "$HTML" 'print(" ".join(str(b["events"]) for b in d["bands"]))')
[ "${counts[*]}" = "$in_file" ] && [ "${counts[1]}" -eq "$NUM_EVENTS" ] &&
	[ "${counts[2]}" -eq $((2 * ROUNDS)) ]
ok $? "each band holds the events babeltrace2 reads in its layer: $in_file (want ${counts[*]})"

# Every event of a band in detail is in the file, field by field.
lh_graph_json "$HTML" '
for b in d["bands"]:
    assert not b["aggregated"], b["layer"]
    assert len(b["ev"]["t"]) == b["events"] == len(b["ev"]["v"]), b["layer"]
seq = sorted(v[0] for b in d["bands"] if b["layer"] == "l1"
    for c, v in zip(b["ev"]["c"], b["ev"]["v"]) if d["classes"][c][0] == "hyper_test:seq")
assert seq == list(range('"$NUM_EVENTS"')), "seq"'
ok $? "no band aggregated at this size; l1's events carry seq 0..$((NUM_EVENTS - 1)) in their fields"

sync_ok=0
for layer in l1 l1/l2 l1-b; do
	sync_file=$(find "$LH_OUT/$layer" -mindepth 2 -maxdepth 2 -name lttng-hyper-sync)
	err=$(lh_sync_get "$sync_file" error_ns)
	shift_ns=$(($(lh_sync_get "$sync_file" offset) - $(lh_sync_get "$sync_file" guest_offset)))
	found=$(lh_graph_json "$HTML" 'b = [b for b in d["bands"] if b["layer"] == "'"$layer"'"][0]
print(b["sync"][0]["error_ns"], b["sync"][0]["shift_ns"], b["sync"][0]["status"])')
	diag "$layer: file says error_ns $err, shift $shift_ns ns; graph: $found"
	[ -n "$err" ] && [ "$found" = "$err $shift_ns applied" ] || sync_ok=1
done
ok $sync_ok "each guest band carries its sync file's correction and error bound"

links=$(lh_graph_json "$HTML" 'L = d["links"]
pairs = sorted(set((d["bands"][s]["layer"], d["bands"][r]["layer"]) for s, r in zip(L["sb"], L["rb"])))
print(L["matched"], L["backward"], L["beyond"], L["sends"], L["recvs"], " ".join("%s>%s" % p for p in pairs))')
read -r matched backward beyond sends recvs pairs <<<"$links"
# A message takes microseconds; the correction is only known within its
# error bound (hundreds of microseconds under load): a link may point back
# in time by less than the two bands' bounds, never by more.
[ "$matched" -eq $((2 * ROUNDS)) ] && [ "$beyond" -eq 0 ] && [ "$sends" -eq $((2 * ROUNDS)) ] &&
	[ "$pairs" = "$HOST_HOSTNAME>l1/l2 l1/l2>$HOST_HOSTNAME" ]
ok $? "links: $matched matched ($sends sends, $recvs receives), $backward back in time, $beyond beyond the error bounds, between $pairs"

cp -a "$LH_OUT" "$LH_TMP/reverted" &&
	timeout "$LH_CMD_TIMEOUT" "$LH_CLI" sync-fix --revert "$LH_TMP/reverted" >/dev/null 2>&1 &&
	graph "$LH_TMP/reverted" -o "$LH_TMP/reverted.html" --link "$LINK"
backward=$(lh_graph_json "$LH_TMP/reverted.html" 'print(d["links"]["backward"], d["links"]["beyond"])')
read -r back beyond <<<"$backward"
[ "${back:-0}" -ge "$ROUNDS" ] && [ "$beyond" -eq "$back" ]
ok $? "the guests' own clocks (sync-fix --revert): $back links back in time, $beyond beyond the error bounds"

# --- 2. no network -----------------------------------------------------------------

csp=$(grep -o '<meta http-equiv="Content-Security-Policy" content="[^"]*"' "$HTML")
[[ $csp == *"default-src 'none'"* ]] && [[ $csp == *"connect-src 'none'"* ]] &&
	[[ $csp == *"img-src 'none'"* ]] && [[ $csp == *"font-src 'none'"* ]] &&
	[ "$(grep -c 'http-equiv="Content-Security-Policy"' "$HTML")" -eq 1 ]
ok $? "one Content-Security-Policy, forbidding every load: ${csp#*content=}"

refs=$(grep -n -o -i -E 'https?://|wss?://|ftp://|[[:space:]](src|href|action|formaction|srcset|poster|data|background)[[:space:]]*=[[:space:]]*["'"'"']?[^"'"'"' >]*|url\(|@import|fetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon' "$HTML" |
	head -n 5)
[ -z "$refs" ]
ok $? "no URL, src, href, url(), @import or network API in the file" || diag "$refs"

# --- 3. in a browser -----------------------------------------------------------------

if [ -z "$CHROMIUM" ]; then
	skip "$BROWSER_TESTS" "chromium not found (extras/install-deps.sh installs it)"
else
	dom=$(chromium_dom "$HTML")
	[[ $dom == *'data-state="ready"'* ]]
	ok $? "Chromium ran the page's script (body data-state=\"ready\")" ||
		diag "$(grep -o 'id="status">[^<]*' <<<"$dom")" "$(tail -n 5 "$LH_TMP/chromium.log")"
	names=$(grep -o '<div class="band" data-layer="[^"]*" data-depth="[0-9]*"' <<<"$dom" |
		sed 's/.*data-layer="\([^"]*\)" data-depth="\([0-9]*\)"/\1:\2/' | paste -s -d ' ')
	[ "$names" = "gr-host:0 l1:0 l1/l2:1 l1-b:0" ]
	ok $? "the page shows the bands gr-host, l1, l1/l2 (one level below l1), l1-b: $names"
	band=${dom#*data-layer=\"l1/l2\"}
	band=${band%%class=\"band\"*}
	# The bound as the page's fmtDur() writes it: under TCG it may pass 1 ms.
	err=$(lh_sync_get "$(find "$LH_OUT/l1/l2" -mindepth 2 -maxdepth 2 -name lttng-hyper-sync)" \
		error_ns | awk '{
			if ($1 < 1e6) {
				printf($1 < 1e4 ? "%.2f µs" : "%.1f µs", $1 / 1e3)
			} else {
				printf($1 < 1e7 ? "%.3f ms" : "%.2f ms", $1 / 1e6)
			}
		}')
	[[ $band == *">VM in l1<"* ]] && [[ $band == *"error ≤ $err"* ]]
	ok $? "l1/l2's band says it is a VM in l1, and its error bound ($err)" ||
		diag "${band:0:600}"

	# What hovering l1's first event shows, from the page's own hit test.
	read -r t lane < <(lh_graph_json "$HTML" 'b = d["bands"][1]
print(b["ev"]["t"][0], b["ev"]["l"][0])')
	dom=$(chromium_dom "$HTML#view=$((t - 5000)),$((t + 5000))&tip=$t,1,$lane")
	tip=$(sed -n '/<div id="tip"/,/<\/div>/p' <<<"$dom" | sed 's/<[^>]*>//g')
	[[ $tip == "hyper_test:seq at "*"layer l1, CPU"*"seq = 0"* ]]
	ok $? "hovering l1's first event shows its name, layer and fields: ${tip//$'\n'/; }"

	png=$LH_TMP/graph.png
	timeout 120 "$CHROMIUM" "${CHROMIUM_ARGS[@]}" --hide-scrollbars --window-size=1200,800 \
		--screenshot="$png" "file://$HTML" >>"$LH_TMP/chromium.log" 2>&1
	read -r w h colors top colored < <(png_check "$png")
	diag "screenshot: ${w}x$h, $colors colors, the commonest on $top of it, $colored colored pixels"
	[ "${w:-0}" -eq 1200 ] && [ "$colors" -ge 50 ] && [ "$colored" -ge 5000 ] &&
		python3 -c "import sys; sys.exit(not float('$top') < 0.9)"
	ok $? "the screenshot is not blank: many colors, and the canvas drew events"

	# An image planted in a copy: the policy must keep Chromium from loading it.
	port=$((LH_PORT + 3))
	python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(4)
s.settimeout(float(sys.argv[3]))
try:
    c, _ = s.accept()
    open(sys.argv[2], "w").write("request\n")
except socket.timeout:
    pass' "$port" "$LH_TMP/planted.hit" 40 &
	listener=$!
	lh_track_pid "$listener"
	sleep 0.5
	for f in planted control; do
		sed 's|<div id="info">|<img src="http://127.0.0.1:'"$port"'/'"$f"'.png" alt=""><div id="info">|' \
			"$HTML" >"$LH_TMP/$f.html"
	done
	# The control: the same page without its policy does load the image.
	sed -i '/http-equiv="Content-Security-Policy"/d' "$LH_TMP/control.html"
	chromium_dom "$LH_TMP/planted.html" >/dev/null
	planted_hit=$([ -e "$LH_TMP/planted.hit" ] && echo yes || echo no)
	chromium_dom "$LH_TMP/control.html" >/dev/null
	lh_wait_for 10 test -e "$LH_TMP/planted.hit"
	control_hit=$([ -e "$LH_TMP/planted.hit" ] && echo yes || echo no)
	kill "$listener" 2>/dev/null
	wait "$listener" 2>/dev/null
	lh_untrack_pid "$listener"
	[ "$planted_hit" = no ] && [ "$control_hit" = yes ]
	ok $? "an image planted in the page is not requested (without the policy it is: $control_hit)"
fi

# --- 4. aggregation, windows, layers ---------------------------------------------

AGG=$LH_TMP/agg.html
graph "$LH_OUT" -o "$AGG" --max-detail 2000 --link "$LINK"
ok $? "graph --max-detail 2000: $(grep aggregated "$LH_TMP/graph.out" | paste -s -d ';')" ||
	diag "$(cat "$LH_TMP/graph.out")"
agg=$(lh_graph_json "$AGG" '
out = []
for b in d["bands"]:
    if b["aggregated"]:
        n = sum(sum(l["n"]) for l in b["agg"]["lanes"])
        out.append("%s:%d:%d" % (b["layer"], b["events"], n))
    else:
        assert len(b["ev"]["t"]) == b["events"]
print(" ".join(out))')
read -r -a aggs <<<"$agg"
lost=0
for a in "${aggs[@]}"; do
	IFS=: read -r layer events in_buckets <<<"$a"
	if [ "$events" -eq 0 ] || [ "$events" -ne "$in_buckets" ]; then
		lost=1
	fi
done
[ "${#aggs[@]}" -ge 1 ] && [ $lost -eq 0 ] && grep -q "<td>l1</td>.*aggregated into buckets" "$AGG"
ok $? "aggregated bands (${agg:-none}: layer, events, events in buckets) lose no event, and say so"

if [ -n "$CHROMIUM" ]; then
	agg_dom=$(chromium_dom "$AGG")
	[[ $agg_dom == *'data-state="ready"'* ]] &&
		[[ $agg_dom =~ data-layer=\"l1\"[^\>]*data-aggregated=\"true\" ]] &&
		[[ $agg_dom =~ aggregated:\ [0-9.]+\ [^\ ]+\ buckets\ per\ CPU,\ every\ event\ counted ]]
	ok $? "the page draws the aggregated file and says l1's band is aggregated"
else
	skip 1 "chromium not found"
fi

read -r first_s < <(timeout "$LH_CMD_TIMEOUT" babeltrace2 --clock-seconds "$LH_OUT" 2>/dev/null |
	head -n 1 | sed 's/^\[\([0-9.]*\)\].*/\1/')
from=$(python3 -c "from decimal import Decimal as D; print(D('$first_s') + D('0.25'))")
to=$(python3 -c "from decimal import Decimal as D; print(D('$first_s') + D('0.75'))")
want=$(timeout "$LH_CMD_TIMEOUT" babeltrace2 --begin="$from" --end="$to" "$LH_OUT" 2>/dev/null | wc -l)
graph "$LH_OUT" -o "$LH_TMP/window.html" --from "$from" --to "$to"
got=$(lh_graph_json "$LH_TMP/window.html" 'print(d["events"])')
[ "$want" -gt 0 ] && [ "$got" = "$want" ]
ok $? "--from $from --to $to: $got events, as babeltrace2 --begin --end reads ($want)"

graph "$LH_OUT" -o "$LH_TMP/rel.html" --from +0.25 --to +0.75 &&
	[ "$(lh_graph_json "$LH_TMP/rel.html" 'print(d["events"])')" = "$want" ]
ok $? "--from +0.25 --to +0.75 (after the first event): the same window"

graph "$LH_OUT" -o "$LH_TMP/layers.html" --layer l1/l2 --layer host
layers=$(lh_graph_json "$LH_TMP/layers.html" 'print(" ".join(b["layer"] for b in d["bands"]))')
[ "$layers" = "$HOST_HOSTNAME l1/l2" ]
ok $? "--layer l1/l2 --layer host: $layers"

# --- 5. mistakes -----------------------------------------------------------------------

# fails PATTERN ARGS...: graph ARGS fails, says PATTERN, writes no file.
fails()
{
	local pattern=$1

	shift
	rm -f "$LH_TMP/bad.html"
	graph "$@" -o "$LH_TMP/bad.html"
	[ $? -eq 1 ] && grep -q -E "$pattern" "$LH_TMP/graph.out" && [ ! -e "$LH_TMP/bad.html" ] &&
		! ls "$LH_TMP"/bad.html.tmp-* >/dev/null 2>&1
}

mkdir -p "$LH_TMP/empty"
fails 'Error: No trace under .*/empty' "$LH_TMP/empty"
ok $? "no trace under the directory: $(cat "$LH_TMP/graph.out")"
fails "Error: No layer 'l9' under .*; its layers: $HOST_HOSTNAME, l1, l1/l2, l1-b" "$LH_OUT" --layer l9
ok $? "an unknown layer: $(cat "$LH_TMP/graph.out")"
fails "Error: Invalid --from 'yesterday'" "$LH_OUT" --from yesterday
ok $? "a bad --from: $(cut -c 1-150 "$LH_TMP/graph.out")"
fails "Error: --from .* must come before --to" "$LH_OUT" --from "$to" --to "$from"
ok $? "--from after --to: $(cat "$LH_TMP/graph.out")"
fails "Error: No event between .* and .* UTC" "$LH_OUT" --from 1000000000 --to 1000000001
ok $? "a window with no event: $(cat "$LH_TMP/graph.out")"
timeout "$LH_CMD_TIMEOUT" "$LH_CLI" show "$LH_OUT" --layer l1 >"$LH_TMP/graph.out" 2>&1
[ $? -eq 1 ] && grep -q 'go with graph' "$LH_TMP/graph.out"
ok $? "graph's options with show: $(head -n 1 "$LH_TMP/graph.out")"
