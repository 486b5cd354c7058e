/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the in-place fixer of CTF metadata files
 * (lh_ctf_md_fix_fd, src/common/ctf-metadata.h), on any file: packetized
 * metadata as lttng-relayd writes it from a guest's SEND_METADATA before
 * lttng 2.14, plain TSDL text, or CTF 2 (a JSON text sequence).
 *
 * Input: a flags byte (bit 1: set offset, bit 2: set freq), the offset
 * and freq picked from a table (one byte each), then the file.
 *
 * Invariants: the fix is in place (same size, only digits and spaces
 * changed into digits and spaces); inspecting (no values) changes
 * nothing and reports what the fix found; fixing twice equals fixing
 * once.
 */
#include <sys/stat.h>

#include "tests/fuzz/fuzz-ctf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct lh_ctf_md_report inspect, fixed;
	struct lh_ctf_md_values values;
	uint8_t flags = fuzz_u8(&in);
	uint8_t *out;
	int ri, rf;

	fuzz_ctf_take_values(&in, flags, &values);
	values.min_width = 0;
	out = malloc(in.len ? in.len : 1);
	FUZZ_CHECK(out, "out of memory");
	ri = fuzz_ctf_fix(in.p, in.len, NULL, out, &inspect);
	FUZZ_CHECK(!in.len || !memcmp(out, in.p, in.len), "inspecting changed the file");
	FUZZ_CHECK(inspect.rewritten == 0, "inspecting rewrote %u fields", inspect.rewritten);
	rf = fuzz_ctf_fix(in.p, in.len, &values, out, &fixed);
	FUZZ_CHECK(ri == rf, "inspect returned %d, fix %d", ri, rf);
	if (!rf) {
		/* The same scan: the fix finds what inspecting found. */
		FUZZ_CHECK(fixed.form == inspect.form && fixed.clock_found == inspect.clock_found &&
			fixed.has_offset == inspect.has_offset && fixed.offset == inspect.offset &&
			fixed.has_freq == inspect.has_freq && fixed.freq == inspect.freq,
			"fix and inspect disagree");
	}
	free(out);
	fuzz_ctf_fix_idempotent(in.p, in.len, &values);
	return 0;
}
