#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The per-level cost of nesting in real VMs: the same workload from a
# first-level guest (L1) alone, and from a nested guest (L2) that L1 runs
# and serves, in one invocation. bench/nested.sh measures the same with
# namespaces on one kernel; here every level is a QEMU guest, so the
# figures include the virtualization exits of each level.
#
# One image (build-guest.sh --nested --bench) boots in two ways, each
# BOOTS times, in turns (l1 first, then l2 first, and so on):
#   - l1: L1 alone runs lh.mode=pushbench;
#   - l2: L1 runs lh.mode=nested, its lttng-hyperd serves L2 with
#     --vm l2=unix:..., and L2 runs lh.mode=pushbench: L2's path to the
#     host crosses L2's lttng-hyperd, its port in L1's QEMU, L1's
#     lttng-hyperd and L1's port in the host's QEMU.
# On the host, lttng-hyper-relayd --vm l1=unix:SOCK and its lttng-relayd.
# pushbench does, RUNS times:
#   - push: bench/relayd-push pushes PUSH_MB MiB of 256 KiB packets with
#     their indexes, and stops its clock when DATA_PENDING says that
#     lttng-relayd wrote them all: the capacity of the path, in MB/s;
#   - latency: relayd-push --latency: ROUNDS GET_CONFIGURATION commands,
#     one at a time, which lttng-hyper-relayd checks and forwards and
#     lttng-relayd answers from memory: the round trip through the whole
#     chain (median and p99, in us).
# -a sets L2's accelerator in L1 (lh.l2-accel), -A L1's on the host. The
# report gives the medians of each level, their ratios L2/L1, the
# latency that L2 adds, and the accelerators that ran each level.
#
# Usage: bench/vm-nested.sh [-r RUNS] [-b BOOTS] [-s PUSH_MB] [-l ROUNDS]
#                           [-a auto|kvm|tcg] [-A auto|kvm|tcg] [-m MEM_MB]
# Run from the build directory (or set top_builddir), as root, after make
# and make tests/utils/gen-events bench/relayd-push.

set -u -o pipefail

RUNS=3
BOOTS=2
PUSH_MB=128
ROUNDS=2000
# L2's accelerator in L1 (lh.l2-accel), and L1's on the host.
L2_ACCEL=auto
L1_ACCEL=auto
MEM=1536
# One boot, from the launch to L1's power-off: L2 under TCG in L1 may take
# minutes to boot alone.
TIMEOUT=3600

usage()
{
	echo "Usage: $0 [-r RUNS] [-b BOOTS] [-s PUSH_MB] [-l ROUNDS] [-a auto|kvm|tcg]" \
		"[-A auto|kvm|tcg] [-m MEM_MB]"
}

while getopts "r:b:s:l:a:A:m:h" opt; do
	case $opt in
	r) RUNS=$OPTARG ;;
	b) BOOTS=$OPTARG ;;
	s) PUSH_MB=$OPTARG ;;
	l) ROUNDS=$OPTARG ;;
	a) L2_ACCEL=$OPTARG ;;
	A) L1_ACCEL=$OPTARG ;;
	m) MEM=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${top_builddir:-.}
push=$builddir/bench/relayd-push

BENCH_NAME=bench/vm-nested
. "$srcdir/bench/vm-lib.sh"
[ -x "$push" ] || die "no $push: run make bench/relayd-push"

# boot KIND RUN: boot L1 (KIND l1: pushbench itself; l2: nested, L2 runs
# pushbench), and append its figures to $tmp/results as
# "KIND BOOT RUN push BYTES US" and "KIND BOOT RUN latency MEDIAN P99".
boot()
{
	local kind=$1 run=$2 append prefix bytes expect found

	if [ "$kind" = l1 ]; then
		append="lh.mode=pushbench lh.runs=$RUNS lh.push-mb=$PUSH_MB lh.rounds=$ROUNDS"
		prefix=
	else
		append="lh.mode=nested lh.l2-name=l2 lh.l2-accel=$L2_ACCEL"
		append="$append lh.l2-timeout=$((TIMEOUT - 120)) lh.l2-mode=pushbench"
		append="$append lh.l2-runs=$RUNS lh.l2-push-mb=$PUSH_MB lh.l2-rounds=$ROUNDS"
		prefix='l2: \[[0-9.]*\] '
	fi
	start_relay
	boot_l1 "$kind" "$run" "$append" 'pushbench|userspace'

	# The pushed packets must be where the chain puts this level, and
	# only there: OUT/l1/relayd-push-* for L1, OUT/l1/l2/relayd-push-* for L2.
	expect=$tmp/out/l1${prefix:+/l2}
	found=$(cd "$tmp/out" && find . -name 'relayd-push-*' -prune -printf '%h\n' | sort -u)
	[ "$found" = "./l1${prefix:+/l2}" ] ||
		die "boot $run ($kind): the pushed traces are in '$found', not in $expect"
	bytes=$(du -sb "$expect" | cut -f 1)
	[ "$bytes" -ge $((RUNS * PUSH_MB << 20)) ] ||
		die "boot $run ($kind): $bytes bytes in $expect, fewer than pushed"
	rm -rf "$tmp/out"

	console | sed -n "s/^lh-guest: \[[0-9.]*\] ${prefix}pushbench //p" | while read -r what i line; do
		case "$what" in
		push)
			echo "$line" | sed -n "s/^relayd-push: \([0-9]*\) bytes in \([0-9]*\) us.*/$kind $run $i push \1 \2/p"
			;;
		latency)
			echo "$line" | sed -n "s/.* median \([0-9.]*\) us.* p99 \([0-9.]*\) us.*/$kind $run $i latency \1 \2/p"
			;;
		esac
	done > "$tmp/boot.results"
	[ "$(wc -l < "$tmp/boot.results")" -eq $((2 * RUNS)) ] ||
		die "boot $run ($kind): $(wc -l < "$tmp/boot.results") results, not $((2 * RUNS))"
	awk '$4 == "push" { printf "bench/vm-nested: %s run %d: push %.1f MB/s\n", $1, $3, $5 / $6 }
		$4 == "latency" { printf "bench/vm-nested: %s run %d: RTT %s us (p99 %s)\n", $1, $3, $5, $6 }' \
		"$tmp/boot.results" >&2
	cat "$tmp/boot.results" >> "$tmp/results"
}

log "building the guest image"
"$srcdir/extras/vm/build-guest.sh" --nested -o "$tmp/guest" \
	--hyperd "$builddir/src/bin/lttng-hyperd/lttng-hyperd" \
	--gen-events "$builddir/tests/utils/gen-events" --bench "$push" 2> "$tmp/build.log" ||
	die "the guest image did not build:
$(tail -n 5 "$tmp/build.log")"

start=$SECONDS
: > "$tmp/results"
: > "$tmp/accels"
for ((b = 1; b <= BOOTS; b++)); do
	# Each kind goes first every other boot, so that a noisy host hits both alike.
	if ((b % 2)); then
		order="l1 l2"
	else
		order="l2 l1"
	fi
	for kind in $order; do
		boot "$kind" "$b"
	done
done
log "$BOOTS boots of each level took $((SECONDS - start)) s"

accels=$(sort -u "$tmp/accels" | awk '{ a[$1] = a[$1] (a[$1] ? "," : "") toupper($2) }
	END { printf "L1 %s on the host, L2 %s in L1", a["l1"], a["l2"] }')
awk -v runs="$RUNS" -v boots="$BOOTS" -v mb="$PUSH_MB" -v rounds="$ROUNDS" -v accels="$accels" \
	-f "$srcdir/bench/stats.awk" -f /dev/stdin "$tmp/results" <<'EOF'
$4 == "push" { add($1 "/push", $5 / $6) }
$4 == "latency" { add($1 "/rtt", $5); add($1 "/p99", $6) }
END {
	split("push rtt p99", f, " ")
	for (j = 1; j <= 3; j++) {
		l1[f[j]] = med("l1/" f[j])
		l2[f[j]] = med("l2/" f[j])
	}
	printf "\nbench/vm-nested: %s; medians of %d runs x %d boots\n", accels, runs, boots
	printf "(push: %d MiB per run; latency: %d round trips per run)\n\n", mb, rounds
	printf "%-8s %10s %10s %10s\n", "level", "push MB/s", "RTT us", "p99 us"
	printf "%-8s %10.1f %10.1f %10.1f\n", "l1", l1["push"], l1["rtt"], l1["p99"]
	printf "%-8s %10.1f %10.1f %10.1f\n", "l2", l2["push"], l2["rtt"], l2["p99"]
	printf "%-8s %10.2f %10.2f %10.2f\n", "l2/l1", l2["push"] / l1["push"], l2["rtt"] / l1["rtt"],
		l2["p99"] / l1["p99"]
	printf "\nL2 adds %.1f us per round trip (median) and takes %.1fx L1's time per MB.\n",
		l2["rtt"] - l1["rtt"], l1["push"] / l2["push"]
	printf "reference: a hypercall costs ~33x more at L2 than at L1 on stock KVM (Hypertracing talk).\n"
}
EOF
