/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the strict decimal parser (src/common/number.h) that
 * reads command-line options and the relay's sync files: whatever strtoull()
 * would quietly take beyond plain digits in range must be refused. Sizes
 * take lttng's k, M and G suffixes, and nothing else.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/number.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	45
#define UNTOUCHED	0x5a5a5a5a5a5a5a5aULL

/* Parse str in [min, max]; true if accepted with value want. */
static bool parses(const char *str, uint64_t min, uint64_t max, uint64_t want)
{
	uint64_t v = UNTOUCHED;

	return lh_parse_u64(str, min, max, &v) == 0 && v == want;
}

/* Refused, and *out left as it was. */
static bool refused(const char *str, uint64_t min, uint64_t max)
{
	uint64_t v = UNTOUCHED;

	return lh_parse_u64(str, min, max, &v) == -1 && v == UNTOUCHED;
}

static void test_values(void)
{
	ok(parses("0", 0, UINT64_MAX, 0), "0");
	ok(parses("1", 0, UINT64_MAX, 1), "1");
	ok(parses("42", 0, UINT64_MAX, 42), "42");
	ok(parses("1000000", 0, UINT64_MAX, 1000000), "1000000");
	ok(parses("18446744073709551615", 0, UINT64_MAX, UINT64_MAX), "UINT64_MAX");
	ok(refused("18446744073709551616", 0, UINT64_MAX), "UINT64_MAX + 1 refused (overflow)");
	ok(refused("99999999999999999999999999", 0, UINT64_MAX), "far beyond UINT64_MAX refused");
	/* A stale ERANGE from an earlier call must not fail a good parse. */
	errno = ERANGE;
	ok(parses("7", 0, UINT64_MAX, 7), "a stale errno does not fail a good parse");
}

static void test_bounds(void)
{
	ok(parses("10", 10, 20, 10), "min is inclusive");
	ok(parses("20", 10, 20, 20), "max is inclusive");
	ok(parses("15", 10, 20, 15), "inside [min, max]");
	ok(refused("9", 10, 20), "min - 1 refused");
	ok(refused("21", 10, 20), "max + 1 refused");
	ok(refused("0", 1, UINT64_MAX), "0 refused when min is 1");
	ok(parses("5", 5, 5, 5), "min == max: the one value");
	ok(refused("6", 5, 5), "min == max: another value refused");
	ok(refused("18446744073709551615", 0, UINT64_MAX - 1), "UINT64_MAX refused above max");
}

static void test_syntax(void)
{
	ok(refused("", 0, UINT64_MAX), "empty string refused");
	ok(refused("+1", 0, UINT64_MAX), "leading '+' refused");
	/* strtoull() reads "-1" as UINT64_MAX without an error. */
	ok(refused("-1", 0, UINT64_MAX), "leading '-' refused");
	ok(refused("-0", 0, UINT64_MAX), "'-0' refused");
	ok(refused(" 1", 0, UINT64_MAX), "leading blank refused");
	ok(refused("\t1", 0, UINT64_MAX), "leading tab refused");
	ok(refused("10 ", 0, UINT64_MAX), "trailing blank refused");
	ok(refused("10\n", 0, UINT64_MAX), "trailing newline refused");
	ok(refused("10k", 0, UINT64_MAX), "suffix refused");
	ok(refused("1.5", 0, UINT64_MAX), "decimal point refused");
	ok(refused("1e3", 0, UINT64_MAX), "exponent refused");
	ok(refused("0x10", 0, UINT64_MAX), "hexadecimal refused");
	ok(refused("x", 0, UINT64_MAX), "letter refused");
}

/* Leading zeros are accepted and read in base 10, never as octal. */
static void test_leading_zeros(void)
{
	ok(parses("010", 0, UINT64_MAX, 10), "'010' is ten, not octal eight");
	ok(parses("09", 0, UINT64_MAX, 9), "'09' is nine: no octal digit rule");
	ok(parses("00", 0, UINT64_MAX, 0), "'00' is 0");
	ok(parses("000000000000000000000018446744073709551615", 0, UINT64_MAX, UINT64_MAX),
		"leading zeros do not count towards overflow");
}

static bool size_parses(const char *str, uint64_t min, uint64_t max, uint64_t want)
{
	uint64_t v = UNTOUCHED;

	return lh_parse_size(str, min, max, &v) == 0 && v == want;
}

static bool size_refused(const char *str, uint64_t min, uint64_t max)
{
	uint64_t v = UNTOUCHED;

	return lh_parse_size(str, min, max, &v) == -1 && v == UNTOUCHED;
}

static void test_sizes(void)
{
	ok(size_parses("4096", 0, UINT64_MAX, 4096), "size without a suffix");
	ok(size_parses("4k", 0, UINT64_MAX, 4096), "k is 2^10");
	ok(size_parses("4K", 0, UINT64_MAX, 4096), "K is 2^10");
	ok(size_parses("256M", 0, UINT64_MAX, 256ULL << 20), "M is 2^20");
	ok(size_parses("2g", 0, UINT64_MAX, 2ULL << 30), "g is 2^30");
	ok(size_refused("M", 0, UINT64_MAX), "a suffix alone refused");
	ok(size_refused("1T", 0, UINT64_MAX), "an unknown suffix refused");
	ok(size_refused("1MB", 0, UINT64_MAX), "two letters refused");
	ok(size_refused("-1M", 0, UINT64_MAX), "a sign refused");
	ok(size_refused("17179869184G", 0, UINT64_MAX), "a size past 2^64 refused");
	ok(size_refused("2M", 0, 1ULL << 20), "the bounds apply to the size in bytes");
}

int main(void)
{
	plan_tests(NUM_TESTS);
	test_values();
	test_bounds();
	test_syntax();
	test_leading_zeros();
	test_sizes();
	return exit_status();
}
