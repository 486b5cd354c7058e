#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What a hypercall round trip costs at each level this machine reaches,
# next to a plain instruction and a CPUID, in one invocation:
#   - host: bench/hypercall-bench here;
#   - l1: a first-level guest (launch-guest.sh's accelerator: KVM where a
#     probe boots, else TCG) runs it (lh.mode=hcbench);
#   - l2: L1 runs lh.mode=nested and its nested guest L2 runs it
#     (lh.l2-mode=hcbench), under L1's KVM where L1 has one (TCG emulates
#     AMD-V, so L1 has, even on a host with no KVM).
# A level can only make a hypercall if KVM runs it: hypercall-bench says
# which instruction it used, or none (it then times only the loop and
# CPUID). The hypercall is lttng-hyper's marker number; KVM traces it and
# answers -KVM_EPERM, as it does any hypercall from user space.
# The report gives the medians of every level, the ratio of each level to
# the level above, and the accelerators that ran the guests.
#
# Usage: bench/hypercall.sh [-r RUNS] [-n CALLS] [-b BOOTS] [-a auto|kvm|tcg]
#                           [-A auto|kvm|tcg] [-m MEM_MB]
# -a sets L2's accelerator in L1 (lh.l2-accel), -A L1's on the host.
# Run from the build directory (or set top_builddir), as root, after make
# and make tests/utils/gen-events.

set -u -o pipefail

RUNS=5
CALLS=10000
BOOTS=1
L2_ACCEL=auto
L1_ACCEL=auto
MEM=1536
# One boot, from the launch to L1's power-off.
TIMEOUT=1800

usage()
{
	echo "Usage: $0 [-r RUNS] [-n CALLS] [-b BOOTS] [-a auto|kvm|tcg] [-A auto|kvm|tcg]" \
		"[-m MEM_MB]"
}

while getopts "r:n:b:a:A:m:h" opt; do
	case $opt in
	r) RUNS=$OPTARG ;;
	n) CALLS=$OPTARG ;;
	b) BOOTS=$OPTARG ;;
	a) L2_ACCEL=$OPTARG ;;
	A) L1_ACCEL=$OPTARG ;;
	m) MEM=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${top_builddir:-.}
hcbench=$builddir/bench/hypercall-bench
push=$builddir/bench/relayd-push

BENCH_NAME=bench/hypercall
. "$srcdir/bench/vm-lib.sh"
[ -x "$hcbench" ] || die "no $hcbench: run make in the build directory"

# results LEVEL BOOT: hypercall-bench's lines on stdin, as
# "LEVEL BOOT WHAT RUN NS" in $tmp/results, and its hypervisor line as
# "LEVEL INSN SIGNATURE" in $tmp/hypervisors.
results()
{
	local level=$1 boot=$2 what run ns rest n=0

	while read -r what run rest; do
		case "$what" in
		hypervisor)
			echo "$level $run ${rest:-none}" >> "$tmp/hypervisors"
			;;
		loop|cpuid|hypercall)
			ns=$rest
			echo "$level $boot $what $run $ns" >> "$tmp/results"
			n=$((n + 1))
			;;
		esac
	done
	[ "$n" -ge $((2 * RUNS)) ] || die "$level, boot $boot: $n results, fewer than $((2 * RUNS))"
}

# boot KIND RUN: boot L1 (KIND l1: hcbench itself; l2: nested, L2 runs
# hcbench), and add its figures.
boot()
{
	local kind=$1 run=$2 append prefix

	if [ "$kind" = l1 ]; then
		append="lh.mode=hcbench lh.runs=$RUNS lh.calls=$CALLS"
		prefix=
	else
		append="lh.mode=nested lh.l2-name=l2 lh.l2-accel=$L2_ACCEL"
		append="$append lh.l2-timeout=$((TIMEOUT - 120)) lh.l2-mode=hcbench"
		append="$append lh.l2-runs=$RUNS lh.l2-calls=$CALLS"
		prefix='l2: \[[0-9.]*\] '
		# L1's lttng-hyperd waits for its channel to the host.
		start_relay
	fi
	boot_l1 "$kind" "$run" "$append" hcbench
	console | sed -n "s/^lh-guest: \[[0-9.]*\] ${prefix}hcbench //p" | results "$kind" "$run" ||
		exit 1
}

log "building the guest image"
"$srcdir/extras/vm/build-guest.sh" --nested -o "$tmp/guest" \
	--hyperd "$builddir/src/bin/lttng-hyperd/lttng-hyperd" \
	--gen-events "$builddir/tests/utils/gen-events" --bench "$push" 2> "$tmp/build.log" ||
	die "the guest image did not build:
$(tail -n 5 "$tmp/build.log")"

start=$SECONDS
: > "$tmp/results"
: > "$tmp/hypervisors"
: > "$tmp/accels"
for ((b = 1; b <= BOOTS; b++)); do
	# results dies in its subshell, having said why.
	"$hcbench" -r "$RUNS" -n "$CALLS" | results host "$b" || exit 1
	for kind in l1 l2; do
		boot "$kind" "$b"
	done
done
log "$BOOTS boots of each level took $((SECONDS - start)) s"

accels=$(sort -u "$tmp/accels" | awk '{ a[$1] = a[$1] (a[$1] ? "," : "") toupper($2) }
	END { printf "L1 %s on the host, L2 %s in L1", a["l1"], a["l2"] }')
awk -v runs="$RUNS" -v boots="$BOOTS" -v calls="$CALLS" -v accels="$accels" \
	-f "$srcdir/bench/stats.awk" -f /dev/stdin "$tmp/hypervisors" "$tmp/results" <<'EOF'
# "LEVEL INSN SIGNATURE...", then "LEVEL BOOT WHAT RUN NS".
FILENAME ~ /hypervisors$/ {
	level = $1
	insn[level] = $2
	$1 = $2 = ""
	sub(/^ +/, "")
	sig[level] = $0
	next
}
{ add($1 "/" $3, $5) }
END {
	printf "\nbench/hypercall: %s; medians of %d runs x %d boots\n", accels, runs, boots
	printf "(%d hypercalls and CPUIDs per run, 100 times as many adds)\n\n", calls
	printf "%-6s %-16s %-8s %10s %12s %14s\n", "level", "hypervisor", "insn", "add ns",
		"cpuid ns", "hypercall ns"
	nl = split("host l1 l2", lv, " ")
	for (i = 1; i <= nl; i++) {
		l = lv[i]
		hc = med(l "/hypercall")
		printf "%-6s %-16s %-8s %10.3f %12.1f %14s\n", l, "'" sig[l] "'", insn[l],
			med(l "/loop"), med(l "/cpuid"), (hc > 0 ? sprintf("%.1f", hc) : "-")
	}
	printf "\nratio to the level above:\n"
	for (i = 2; i <= nl; i++) {
		l = lv[i]; up = lv[i - 1]
		hc = med(l "/hypercall"); hcu = med(up "/hypercall")
		printf "%-8s add %.3g, cpuid %.3g, hypercall %s\n", l "/" up,
			med(l "/loop") / med(up "/loop"), med(l "/cpuid") / med(up "/cpuid"),
			(hc > 0 && hcu > 0 ? sprintf("%.2f", hc / hcu) : "- (none at " (hc > 0 ? up : l) ")")
	}
	printf "\nreference (stock KVM, the Hypertracing talk): a hypercall costs about 286 ns at L1,\n"
	printf "9.3 us at L2 (about 33 times more) and 233 us at L3.\n"
}
EOF
