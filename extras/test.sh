#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The test command: install what is missing, build (lttng-hyper, and
# lttng-tools with lttng-hyper's patches into its private prefix), run the
# whole test suite (unit and regression), and end with the line
# "N passed, N failed".
# Exits non-zero if anything failed. Builds in the source tree.
set -u

cd "$(dirname "$0")/.." || exit 1

# A failure before the tests counts as one failed test, so that the last
# line always says how the run went.
fail_early()
{
	echo "test.sh: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

echo "== dependencies"
extras/install-deps.sh || fail_early "installing the dependencies failed"
echo "== bootstrap"
./bootstrap >/dev/null || fail_early "./bootstrap failed"
echo "== configure"
./configure -q || fail_early "./configure failed"
echo "== build"
make -j2 || fail_early "the build failed"
# The tests of enable-channel --output=hyper run the patched lttng-tools;
# a second run finds it in the cache at once.
echo "== lttng-tools with lttng-hyper's patches"
extras/lttng-tools/build-lttng-tools.sh || fail_early "building the patched lttng-tools failed"
echo "== make check"
# Serial: the regression tests each run LTTng daemons. The results are
# counted from the .trs files below, not from make's status, so results
# of an earlier run must not linger.
find tests -name '*.trs' -delete
make -j1 check

passed=0
failed=0
skipped=0
failed_logs=()
while IFS= read -r trs; do
	p=$(grep -c -E '^:test-result: (PASS|XFAIL)' "$trs")
	f=$(grep -c -E '^:test-result: (FAIL|XPASS)' "$trs")
	e=$(grep -c -E '^:test-result: ERROR' "$trs")
	s=$(grep -c -E '^:test-result: SKIP' "$trs")
	passed=$((passed + p))
	skipped=$((skipped + s))
	# A script that errored (crashed, bailed out, ran too few tests)
	# without a failed test of its own counts as one failure.
	if [ "$f" -gt 0 ]; then
		failed=$((failed + f))
	elif [ "$e" -gt 0 ]; then
		failed=$((failed + 1))
	fi
	if [ "$f" -gt 0 ] || [ "$e" -gt 0 ]; then
		failed_logs+=("${trs%.trs}.log")
	fi
done < <(find tests -name '*.trs' | sort)

if [ "$((passed + failed))" -eq 0 ]; then
	fail_early "no test ran"
fi
for log in "${failed_logs[@]}"; do
	echo "===== $log"
	cat "$log"
done
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
