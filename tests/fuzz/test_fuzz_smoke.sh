#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The fuzz targets' smoke test (tests/fuzz/, CONTRIBUTING.md "Fuzzing"):
# each target runs every input of its seed corpus, then fuzzes for
# FUZZ_SMOKE_SECONDS (2 by default), from a fresh start each time. Needs
# the targets that "make check" builds when configure found clang with
# libFuzzer; skipped otherwise. Needs no root.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
bindir=$top_builddir/tests/fuzz/bin
work=$top_builddir/tests/fuzz/smoke

targets=()
for bin in "$bindir"/*; do
	[ -x "$bin" ] && targets+=("$(basename "$bin")")
done
if [ "${#targets[@]}" -eq 0 ]; then
	echo "1..0 # SKIP no fuzz target built (configure found no clang with libFuzzer)"
	exit 0
fi
rm -rf "$work"
exec "$top_srcdir/tests/fuzz/run.sh" --tap "${FUZZ_SMOKE_SECONDS:-2}" "$bindir" \
	"$top_srcdir/tests/fuzz/corpus" "$work" "${targets[@]}"
