/* SPDX-License-Identifier: GPL-2.0-only */
/* A small TAP producer for the unit tests (Automake's tap-driver reads it). */
#ifndef LH_TESTS_TAP_H
#define LH_TESTS_TAP_H

#include <stdbool.h>

void plan_tests(int count);
/* Report one test. Returns cond, so callers can skip dependent checks. */
bool ok_(bool cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define ok(cond, ...) ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void skip(int count, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exit status: 0 if every planned test ran and passed. */
int exit_status(void);

#endif /* LH_TESTS_TAP_H */
