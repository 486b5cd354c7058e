/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the path safety rules (src/common/path.h) that stand
 * between a guest's names and the host's filesystem.
 */
#include <stdbool.h>
#include <string.h>

#include "common/path.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	36

/* Test a NUL-terminated path. */
static bool rel(const char *s, bool allow_empty)
{
	return lh_path_relative_is_safe(s, strlen(s), allow_empty);
}

static bool comp(const char *s)
{
	return lh_path_component_is_safe(s, strlen(s));
}

static void test_components(void)
{
	char name[257];

	ok(comp("metadata"), "plain name");
	ok(comp("chan_0"), "channel file name");
	ok(comp("my session-20240101-120000"), "name with a space and dashes");
	ok(!comp(""), "empty name refused");
	ok(!comp("."), "'.' refused");
	ok(!comp(".."), "'..' refused");
	ok(!comp(".hidden"), "hidden name refused");
	ok(comp("a.b"), "'.' inside a name accepted");
	ok(!comp("a/b"), "'/' refused");
	ok(!comp("a\nb"), "newline refused");
	ok(!comp("a\tb"), "tab refused");
	ok(!comp("a\x7f"), "DEL refused");
	ok(!comp("caf\xc3\xa9"), "non-ASCII refused");
	ok(!lh_path_component_is_safe("a\0b", 3), "NUL inside refused");
	memset(name, 'n', sizeof(name));
	ok(lh_path_component_is_safe(name, 255), "255-byte name");
	ok(!lh_path_component_is_safe(name, 256), "256-byte name refused");
}

static void test_relative(void)
{
	char path[4097];
	size_t i;

	ok(rel("ust/uid/0/64-bit", false), "ust/uid/0/64-bit");
	ok(rel("kernel", false), "single component");
	ok(rel("a/b/", false), "single trailing '/' accepted");
	ok(!rel("a/b//", false), "double trailing '/' refused");
	ok(rel("", true), "empty path with allow_empty");
	ok(!rel("", false), "empty path without allow_empty");
	ok(!rel("/", true), "'/' refused even with allow_empty");
	ok(!rel(".", true), "'.' refused");
	ok(!rel("..", true), "'..' refused");
	ok(!rel("../x", true), "'../x' refused");
	ok(!rel("a/../b", true), "'a/../b' refused");
	ok(!rel("a/..", true), "'a/..' refused");
	ok(!rel("/abs", true), "absolute path refused");
	ok(!rel("a//b", true), "'a//b' refused");
	ok(!rel("a/.hidden/b", true), "hidden component refused");
	ok(!rel("a/\x01/b", true), "control character refused");
	ok(!lh_path_relative_is_safe("a/b\0/../../x", 12, true), "NUL inside refused");

	/* Components of 99 bytes, so only the total length matters. */
	for (i = 0; i < sizeof(path); i++) {
		path[i] = i % 100 == 99 ? '/' : 'p';
	}
	path[4094] = 'p';
	ok(lh_path_relative_is_safe(path, 4095, false), "4095-byte path");
	ok(!lh_path_relative_is_safe(path, 4096, false), "4096-byte path refused");
	memset(path, 'p', sizeof(path));
	ok(!lh_path_relative_is_safe(path, 300, false), "300-byte component refused");
}

int main(void)
{
	plan_tests(NUM_TESTS);
	test_components();
	test_relative();
	return exit_status();
}
