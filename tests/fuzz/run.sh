#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run the fuzz targets of tests/fuzz/ one after another and report on each
# (CONTRIBUTING.md, "Fuzzing"): make fuzz, make fuzz-smoke and
# tests/fuzz/test_fuzz_smoke.sh call it.
#
# Usage: run.sh [--tap] SECONDS BINDIR CORPUSDIR WORKDIR TARGET...
#
# Each target starts from its seeds (CORPUSDIR/TARGET) and from what
# earlier runs found (WORKDIR/corpus/TARGET, where new inputs go), runs
# every one of them, then fuzzes for the rest of SECONDS. A crash or a
# broken invariant stops the target; its input is kept in
# WORKDIR/artifacts/ and its log in WORKDIR/logs/. Prints a table (or TAP
# with --tap) and exits 1 if any target crashed.
set -u

tap=false
if [ "${1:-}" = --tap ]; then
	tap=true
	shift
fi
if [ $# -lt 5 ]; then
	echo "Usage: $0 [--tap] SECONDS BINDIR CORPUSDIR WORKDIR TARGET..." >&2
	exit 2
fi
seconds=$1 bindir=$2 corpusdir=$3 workdir=$4
shift 4

mkdir -p "$workdir/artifacts" "$workdir/logs" || exit 2
# The files the targets write (trim, sync_file) go to memory when there is
# some, and go away with a crash's leftovers.
tmp=$(mktemp -d /dev/shm/lh-fuzz.XXXXXX 2>/dev/null || mktemp -d "$workdir/tmp.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
export LH_FUZZ_TMPDIR=$tmp
# Stacks for UndefinedBehaviorSanitizer's reports too.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# fuzz_stat NAME LOG: a value of libFuzzer's -print_final_stats, or "-".
fuzz_stat()
{
	local v

	v=$(sed -n "s/^stat::$1: *//p" "$2" | tail -n 1)
	echo "${v:--}"
}

if $tap; then
	echo "1..$#"
else
	printf '%-18s %12s %9s %8s %8s\n' target executions exec/s crashes "new"
fi
n=0
crashed=0
for target in "$@"; do
	n=$((n + 1))
	bin=$bindir/$target
	log=$workdir/logs/$target.log
	if [ ! -x "$bin" ]; then
		if $tap; then
			echo "not ok $n - $target: no binary $bin"
		else
			printf '%-18s %s\n' "$target" "no binary $bin"
		fi
		crashed=$((crashed + 1))
		continue
	fi
	mkdir -p "$workdir/corpus/$target"
	before=$(find "$workdir/artifacts" -name "$target-*" | wc -l)
	seeds=()
	[ -d "$corpusdir/$target" ] && seeds=("$corpusdir/$target")
	"$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
		-artifact_prefix="$workdir/artifacts/$target-" \
		"$workdir/corpus/$target" "${seeds[@]}" >"$log" 2>&1
	status=$?
	found=$(($(find "$workdir/artifacts" \( -name "$target-crash-*" -o -name "$target-leak-*" \
		-o -name "$target-timeout-*" -o -name "$target-oom-*" \) | wc -l) - before))
	# A crash that left no input (the fuzzer itself failed) still counts.
	if [ "$status" -ne 0 ] && [ "$found" -le 0 ]; then
		found=1
	fi
	execs=$(fuzz_stat number_of_executed_units "$log")
	rate=$(fuzz_stat average_exec_per_sec "$log")
	units=$(fuzz_stat new_units_added "$log")
	if $tap; then
		if [ "$found" -eq 0 ]; then
			echo "ok $n - $target: $execs executions, $rate/s, no crash"
		else
			echo "not ok $n - $target: crashed after $execs executions (log: $log)"
		fi
	else
		printf '%-18s %12s %9s %8s %8s\n' "$target" "$execs" "$rate" "$found" "$units"
	fi
	if [ "$found" -ne 0 ]; then
		crashed=$((crashed + 1))
		# What broke, and where the input is.
		what='invariant broken|ERROR: |runtime error|SUMMARY|^    #[0-9]|Test unit written'
		grep -E -m 12 "$what" "$log" | sed 's/^/# /'
	fi
done
[ "$crashed" -eq 0 ]
