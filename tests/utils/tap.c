/* SPDX-License-Identifier: GPL-2.0-only */
#include <stdarg.h>
#include <stdio.h>

#include "tap.h"

static int planned, run, failed;

void plan_tests(int count)
{
	planned = count;
	printf("1..%d\n", count);
	fflush(stdout);
}

bool ok_(bool cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	run++;
	printf("%s %d - ", cond ? "ok" : "not ok", run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		failed++;
		printf("#   Failed test at %s line %d.\n", file, line);
	}
	fflush(stdout);
	return cond;
}

void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void skip(int count, const char *fmt, ...)
{
	va_list ap;
	char reason[256];

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	while (count-- > 0) {
		printf("ok %d # skip %s\n", ++run, reason);
	}
	fflush(stdout);
}

int exit_status(void)
{
	if (run != planned) {
		printf("# Planned %d tests but ran %d.\n", planned, run);
		return 1;
	}
	return failed ? 1 : 0;
}
