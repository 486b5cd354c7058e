#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Hypercall markers, stamped by the host below: in a nested run, L1 runs
# two nested VMs, l2a and l2b, each of which runs lttng-hyper-mark
# (lh.workload=mark): every marker is a hypercall with the VM's name and
# the marker's number as payload, and an event lttng_hyper:mark of that
# VM's own trace. L1 plays the host: its KVM traces each hypercall
# (kvm_x86_hypercall, before it refuses the unknown number), which L1
# records with its own kernel tracing (lh.hypercalls=1, lttng-modules' KVM
# x86 probe), and QEMU's threads carry the VM's name (procname). All
# traces reach the real host through the usual path. On the host, every
# marker of each L2 must be on L1's timeline once, in order, with its
# payload and its VM's name, none attributed to the other VM, and match
# that VM's own events one to one.
# Here L1 runs under TCG and the L2s under L1's KVM, which TCG's emulated
# AMD-V runs: the only place in this machine where a hypercall reaches a KVM.

# The L2s boot within L1: leave room beyond the usual bound of one boot.
: "${LH_GUEST_TIMEOUT:=600}"
. "$(dirname "$0")/lib.sh"

MARKERS=${MARKERS:-10000}
L1=l1
L2S="l2a l2b"
# lttng-hyper/hypercall.h's LTTNG_HYPER_HC_MARK.
HC_MARK=$((0x4c480001))

lh_vm_init 24
lh_vm_nested_image --kvm-tracing --mark "$LH_MARK"
lh_pick_ports 3

lh_relay_start main --vm "$L1=unix:$LH_TMP/$L1.sock"
ok $? "lttng-hyper-relayd started for $L1" || bail_out "no relay"

# Two vCPUs for L1, one per nested guest: with one, L1 hung as soon as
# both nested guests' QEMU ran under its KVM. (Two-vCPU TCG guests have
# stalled right after their kernel events were enabled, test_vm_kernel.sh,
# and once here with one nested guest.)
start_s=$SECONDS
lh_vm_run_nested guest "$L1" --mem 1536 --smp 2 \
	--append "lh.mode=nested lh.hypercalls=1 lh.l2-name=${L2S// /,} lh.l2-workload=mark \
lh.l2-events=$MARKERS lh.l2-timeout=$((LH_GUEST_TIMEOUT - 120))"
ok $? "$L1 recorded the hypercalls of $L2S, which issued $MARKERS markers each ($((SECONDS - start_s)) s)" ||
	diag "$(lh_vm_console guest | tail -n 12)"
diag "$(lh_vm_console guest | grep -E "probes|accelerator|hypercalls|lttng-hyper-mark|: .*done")"

# The launcher tells L1's kernel that its TSC is reliable (under TCG, all
# vCPUs read QEMU's): with the HPET, L1's KVM would keep no master clock, and
# each L2's clock would step by milliseconds at each kvm-clock update.
cs=$(lh_vm_console guest | sed -n 's/^lh-guest: \[[0-9.]*\] clocksource: //p' | head -n 1)
[ "$cs" = tsc ]
ok $? "$L1 keeps time with the TSC (clocksource: ${cs:-unknown}): its KVM keeps a master clock for $L2S"

# L1's kernel session, and the L2s' traces beside it.
hc_trace=$(find "$LH_OUT/$L1" -mindepth 1 -maxdepth 1 -type d -name 'hypercalls-*')
[ -n "$hc_trace" ] && [ "$(echo "$hc_trace" | wc -l)" -eq 1 ] && [ -d "$hc_trace/kernel" ]
ok $? "OUT/$L1 holds $L1's kernel session of hypercalls (found: $(ls -A "$LH_OUT/$L1" | paste -s -d ' '))" ||
	bail_out "no trace of hypercalls"

# One line per marker hypercall: "SECONDS PROCNAME A0 A1 A2 A3".
bt2_lines()
{
	timeout "$LH_CMD_TIMEOUT" babeltrace2 --clock-seconds --no-delta --names=payload,context \
		--fields=trace:hostname "$1" 2>"$LH_TMP/babeltrace2.err"
}
bt2_lines "$hc_trace" | awk -v nr="$HC_MARK" '
	/kvm_x86_hypercall:/ {
		if (!match($0, /nr = [0-9]+/) || substr($0, RSTART + 5, RLENGTH - 5) + 0 != nr) {
			next
		}
		match($0, /procname = "[^"]*"/)
		p = substr($0, RSTART + 12, RLENGTH - 13)
		for (i = 0; i < 4; i++) {
			match($0, "a" i " = [0-9]+")
			a[i] = substr($0, RSTART + 5, RLENGTH - 5)
		}
		print substr($1, 2, length($1) - 2), p, a[0], a[1], a[2], a[3]
	}' >"$LH_TMP/host-marks"
n=$(wc -l <"$LH_TMP/host-marks")
[ "$n" -gt 0 ]
ok $? "babeltrace2 reads $L1's kernel trace: $n hypercalls of number $(printf '%#x' "$HC_MARK")" ||
	diag "$(tail -n 3 "$LH_TMP/babeltrace2.err")"

procs=$(awk '{ print $2 }' "$LH_TMP/host-marks" | sort -u | paste -s -d ' ')
[ "$procs" = "$L2S" ] && [ "$n" -eq $((2 * MARKERS)) ]
ok $? "the vCPU threads that made the hypercalls are named after their VMs: '$procs'"

cli=$top_builddir/src/bin/lttng-hyper/lttng-hyper
timeout "$LH_CMD_TIMEOUT" "$cli" sync-check "$LH_OUT" >"$LH_TMP/sync-check.out" 2>&1
sync_status=$?
diag "$(cat "$LH_TMP/sync-check.out")"
timeout "$LH_CMD_TIMEOUT" "$cli" show "$LH_OUT" >"$LH_TMP/show.out" 2>&1
diag "$(cat "$LH_TMP/show.out")"

# A text's first 8 bytes as a0 holds them, least significant first.
text_a0()
{
	printf '%s' "$1" | od -An -tu1 | awk '{ for (i = NF; i >= 1; i--) v = v * 256 + $i; print v }'
}

for l2 in $L2S; do
	other=${L2S/$l2/}
	other=${other// /}
	# The hypercalls L1 attributes to l2 (by its vCPUs' name) must carry
	# l2's text, none the other VM's, and number 0.. in order.
	awk -v want="$MARKERS" -v name="$l2" -v a0="$(text_a0 "$l2")" -v other_a0="$(text_a0 "$other")" '
		$2 != name { next }
		{ n++ }
		$3 == other_a0 { foreign++ }
		$3 != a0 || $4 != 0 || $5 != 0 { bad++ }
		$6 != n - 1 { order++ }
		END {
			printf "%d markers from %s, %d with another payload (%d the other VM'\''s), %d out of order\n",
				n, name, bad, foreign, order
			exit !(n == want && !bad && !order)
		}' "$LH_TMP/host-marks" >"$LH_TMP/host-check"
	ok $? "$L1's timeline: $(cat "$LH_TMP/host-check")"
	awk -v name="$l2" '$2 == name' "$LH_TMP/host-marks" >"$LH_TMP/host-marks.$l2"

	# The L2's own events: "SECONDS SEQ A3 HYPERCALL".
	l2_trace=$LH_OUT/$L1/$l2
	bt2_lines "$l2_trace" | awk '
		/lttng_hyper:mark:/ {
			match($0, /seq = [0-9]+/)
			s = substr($0, RSTART + 6, RLENGTH - 6)
			match($0, /a3 = 0x[0-9A-Fa-f]+/)
			a3 = substr($0, RSTART + 5, RLENGTH - 5)
			match($0, /hypercall = [0-9]+/)
			h = substr($0, RSTART + 12, RLENGTH - 12)
			print substr($1, 2, length($1) - 2), s, tolower(a3), h
		}' >"$LH_TMP/guest-marks.$l2"
	awk -v want="$MARKERS" '
		$2 != NR - 1 { order++ }
		$3 != sprintf("0x%x", NR - 1) { bad++ }
		$4 != 1 { nohc++ }
		END {
			printf "%d events lttng_hyper:mark, %d out of order, %d with another a3, %d without hypercall\n",
				NR, order, bad, nohc
			exit !(NR == want && !order && !bad && !nohc)
		}' "$LH_TMP/guest-marks.$l2" >"$LH_TMP/guest-check"
	ok $? "$l2's own trace: $(cat "$LH_TMP/guest-check")"

	# Each marker as L1 stamped it, minus as the L2 did (its clock
	# corrected to the host's): the exit's latency plus the correction's
	# error. Seconds and nanoseconds apart: a double holds no nanoseconds
	# of an epoch time.
	paste -d ' ' "$LH_TMP/host-marks.$l2" "$LH_TMP/guest-marks.$l2" | awk '{
		split($1, h, "."); split($7, g, ".")
		printf "%.3f\n", (h[1] - g[1]) * 1e6 + (h[2] - g[2]) / 1e3
	}' >"$LH_TMP/deltas-in-order.$l2"
	sort -n "$LH_TMP/deltas-in-order.$l2" >"$LH_TMP/deltas.$l2"
	[ "$(wc -l <"$LH_TMP/deltas.$l2")" -eq "$MARKERS" ]
	ok $? "every marker of $l2 is on one timeline twice: L1's stamp minus $l2's, us:" \
		"min $(head -n 1 "$LH_TMP/deltas.$l2"), median $(sed -n "$(((MARKERS + 1) / 2))p" "$LH_TMP/deltas.$l2")," \
		"max $(tail -n 1 "$LH_TMP/deltas.$l2")"

	# How the smallest difference moves through the run: by steps of 30 to
	# 70 us, or milliseconds, when L1's KVM kept no master clock; within a
	# few us with one, and by up to 10 us in one run, when the exits slowed
	# down for a while (the other L2 at work, probably): too close to the
	# former for a check to tell them apart.
	read -r floor_min floor_max <<<"$(awk '
		{
			b = int((NR - 1) / 500)
			if (!(b in lo) || $1 < lo[b]) {
				lo[b] = $1
			}
		}
		END {
			min = max = lo[0]
			for (b in lo) {
				if (lo[b] < min) {
					min = lo[b]
				}
				if (lo[b] > max) {
					max = lo[b]
				}
			}
			printf "%.1f %.1f", min, max
		}' "$LH_TMP/deltas-in-order.$l2")"
	diag "$l2: the smallest difference of each 500 markers lies between $floor_min and $floor_max us"

	# The smallest difference is the correction's error plus the shortest
	# latency, which is not negative: it must lie within the error bound
	# the relay recorded for the L2 (composed through L1), from below and,
	# as long as that latency is small against the bound, from above too.
	bound_ns=$(sed -n 's/^error_ns = //p' "$l2_trace"/*/lttng-hyper-sync | head -n 1)
	min_ns=$(awk 'NR == 1 { printf "%.0f", $1 * 1e3 }' "$LH_TMP/deltas.$l2")
	[ -n "$bound_ns" ] && [ "${min_ns#-}" -le "$bound_ns" ]
	ok $? "the clock correction of $l2 holds: the smallest difference, $min_ns ns, is within" \
		"its error bound, ${bound_ns:-none} ns (hops: $(grep -h '^hop\.' "$l2_trace"/*/lttng-hyper-sync |
		sed 's/^hop\.[0-9]* = vm=\([^ ]*\) .* error_ns=\([0-9]*\).*/\1 \2 ns/' | paste -s -d ','))"

	hostname=$(lh_metadata_env "$l2_trace" hostname)
	[ "$hostname" = "$l2" ]
	ok $? "the env block of $l2's trace is $l2's own (hostname: $hostname)"

	# lttng-hyper sync-check does the same from the traces alone; its
	# smallest difference must be the one found above, and its verdict
	# "within".
	read -r layer guest host pairs min _ <<<"$(grep "^$L1/$l2 " "$LH_TMP/sync-check.out")"
	[ "$sync_status" -eq 0 ] && [ "$guest" = "$MARKERS" ] && [ "$host" = "$MARKERS" ] &&
		[ "$pairs" = "$MARKERS" ] && grep -q "^$L1/$l2 .* within\$" "$LH_TMP/sync-check.out" &&
		awk -v a="$min" -v b="$(head -n 1 "$LH_TMP/deltas.$l2")" 'BEGIN { d = a - b; exit !(d < 0.002 && d > -0.002) }'
	ok $? "lttng-hyper sync-check: $layer, $pairs pairs of $guest markers in $l2 and $host below, within" \
		"its bound; its smallest difference, $min us, is the one the test found, $(head -n 1 "$LH_TMP/deltas.$l2") us"

	# lttng-hyper show decodes them below each layer's line.
	awk -v l1="$L1" -v l2="$L1/$l2" -v n="$MARKERS" -v text="$l2" '
		$1 !~ /^hypercall/ { layer = $1 }
		layer == l1 && index($0, "hypercall markers recorded here: " n " from " l2 ", text '\''" text "'\'', numbers (a3) 0 to " n - 1) { rec = 1 }
		layer == l2 && index($0, "hypercall markers made here: " n " ") { made = 1 }
		END { exit !(rec && made) }' "$LH_TMP/show.out"
	ok $? "lttng-hyper show: $l2 made $MARKERS markers, and $L1 recorded them from $L1/$l2, text '$l2', numbers 0 to $((MARKERS - 1))"
done

# lttng-hyper graph draws each marker from its L2's band to L1's, linked by
# its number (a3 in both events).
LINK=lttng_hyper:mark:kvm_x86_hypercall:a3
HTML=$LH_TMP/graph.html
timeout "$LH_CMD_TIMEOUT" "$cli" graph "$LH_OUT" -o "$HTML" --link "$LINK" >"$LH_TMP/graph.out" 2>&1
ok $? "lttng-hyper graph OUT --link $LINK: $(head -n 1 "$LH_TMP/graph.out")" ||
	diag "$(cat "$LH_TMP/graph.out")"
read -r matched backward beyond pairs <<<"$(lh_graph_json "$HTML" 'L = d["links"]
pairs = sorted(set((d["bands"][s]["layer"], d["bands"][r]["layer"]) for s, r in zip(L["sb"], L["rb"])))
print(L["matched"], L["backward"], L["beyond"], " ".join("%s>%s" % p for p in pairs))')"
[ "$matched" = $((2 * MARKERS)) ] && [ "$beyond" = 0 ] && [ "$pairs" = "$L1/l2a>$L1 $L1/l2b>$L1" ]
ok $? "graph: $matched markers linked $pairs, $backward back in time, $beyond beyond the error bounds"
