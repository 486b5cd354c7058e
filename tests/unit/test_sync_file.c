/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of lttng-hyper's sync file reader (src/bin/lttng-hyper/
 * sync-file.h): the values show, graph and sync-fix take from it, and the
 * shift of the guest's events they print, which must hold when the relay
 * changed the frequency too (a drifting guest clock): then offset counts
 * other cycles than guest_offset.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bin/lttng-hyper/sync-file.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	8

/* A sync file as the relay writes it, trimmed to what lttng-hyper reads. */
static const char applied[] =
	"# lttng-hyper clock synchronization (see doc/clock-sync.md)\n"
	"format = 1\n"
	"vm = c-ctf2\n"
	"metadata = ust/uid/0/64-bit/metadata\n"
	"status = applied\n"
	"guest_offset = 1796352413167944547\n"
	"guest_freq = 1000000000\n"
	"offset = 1796525213167943260\n"
	"freq = 1000000000\n"
	"error_ns = 16319\n"
	"method = convex-hull\n";

static bool parse(const char *text, struct lh_sync_info *si)
{
	FILE *f = fmemopen((void *) text, strlen(text), "r");
	int ret;

	memset(si, 0, sizeof(*si));
	if (!f) {
		return false;
	}
	ret = lh_sync_file_parse(f, "test", si);
	fclose(f);
	return ret == 0;
}

static void test_parse(void)
{
	struct lh_sync_info si;

	ok(parse(applied, &si) && si.has_offset && si.offset == 1796525213167943260ULL &&
		si.has_freq && si.freq == 1000000000 &&
		si.has_guest_offset && si.guest_offset == 1796352413167944547ULL &&
		si.has_guest_freq && si.guest_freq == 1000000000 &&
		si.has_error && si.error_ns == 16319 && !strcmp(si.status, "applied"),
		"the relay's keys read, the others ignored");
	ok(parse("status = no-estimate\nguest_offset = 12\nguest_freq = 1000000000\n", &si) &&
		!si.has_offset && !si.has_freq && si.has_guest_offset &&
		!strcmp(si.status, "no-estimate"),
		"no-estimate: the guest's values only");
	ok(parse("offset = -5\nfreq = 1e9\n", &si) && !si.has_offset && !si.has_freq,
		"values that are no plain decimal are not taken");
}

static void test_shift(void)
{
	struct lh_sync_info si;

	parse(applied, &si);
	ok(lh_sync_shift_ns(&si) == 172799999998713LL,
		"1 GHz both: the shift is offset - guest_offset, to the nanosecond (%lld)",
		(long long) lh_sync_shift_ns(&si));

	/* Two days back, at the guest's 1 GHz, and a clock 10 ppm slow: freq moved. */
	memset(&si, 0, sizeof(si));
	si.has_offset = si.has_freq = si.has_guest_offset = si.has_guest_freq = true;
	si.guest_freq = 1000000000;
	si.guest_offset = 1796352413000000000ULL;
	si.freq = 999990000;
	/* The guest's wall-clock origin moved +172800 s, in cycles of the new freq. */
	si.offset = (1796352413000000000ULL + 172800000000000ULL) / 1000000000 * 999990000;
	ok(lh_sync_shift_ns(&si) == 172800000000000LL,
		"freq changed: the shift compares times, not cycles (%lld ns)",
		(long long) lh_sync_shift_ns(&si));
	ok(172800000000000LL - (int64_t) (si.offset - si.guest_offset) > 3600000000000LL,
		"(where offset - guest_offset alone would be %.0f s short)",
		(172800e9 - ((double) si.offset - (double) si.guest_offset)) / 1e9);

	si.has_freq = si.has_guest_freq = false;
	si.offset = 1000;
	si.guest_offset = 3000;
	ok(lh_sync_shift_ns(&si) == -2000, "no frequency given: 1 GHz, and a shift back");
	si.has_freq = true;
	si.freq = 0;
	ok(lh_sync_shift_ns(&si) == -2000, "a frequency of 0 read as 1 GHz, no division by it");
}

int main(void)
{
	plan_tests(NUM_TESTS);
	test_parse();
	test_shift();
	return exit_status();
}
