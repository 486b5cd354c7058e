/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the libFuzzer targets of tests/fuzz/ share: reading a structured
 * input from the fuzzer's bytes, and invariant checks that abort, so that
 * libFuzzer records a broken invariant as it does a crash, with its input.
 */
#ifndef LH_TESTS_FUZZ_H
#define LH_TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant: say which, then abort (libFuzzer saves the input). */
#define FUZZ_CHECK(cond, ...)							\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "%s:%d: invariant broken: %s: ",	\
				__FILE__, __LINE__, #cond);			\
			fprintf(stderr, __VA_ARGS__);				\
			fprintf(stderr, "\n");					\
			abort();						\
		}								\
	} while (0)

/* The fuzzer's bytes, taken from the front; past the end everything reads 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t len;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	if (!in->len) {
		return 0;
	}
	v = in->p[0];
	in->p++;
	in->len--;
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_u8(in);

	return (uint16_t) ((hi << 8) | fuzz_u8(in));
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t hi = fuzz_u16(in);

	return (hi << 16) | fuzz_u16(in);
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t hi = fuzz_u32(in);

	return (hi << 32) | fuzz_u32(in);
}

/* Up to n bytes (fewer at the end); *got says how many. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t n, size_t *got)
{
	const uint8_t *p = in->p;

	if (n > in->len) {
		n = in->len;
	}
	in->p += n;
	in->len -= n;
	*got = n;
	return p;
}

/* memcmp, for spans that may be empty (and then NULL). */
static inline bool fuzz_same(const void *a, const void *b, size_t len)
{
	return !len || !memcmp(a, b, len);
}

/* Only printable ASCII: what may reach a log line from a guest. */
static inline bool fuzz_printable(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e) {
			return false;
		}
	}
	return true;
}

/*
 * A directory of this process's own for the files a target works on:
 * under $LH_FUZZ_TMPDIR (which tests/fuzz/run.sh removes afterwards, a
 * crash's leftovers with it), else in memory, else in /tmp.
 */
static inline void fuzz_make_tmpdir(char *dir, size_t len, const char *name)
{
	const char *base = getenv("LH_FUZZ_TMPDIR");

	snprintf(dir, len, "%s/lh-fuzz-%s.XXXXXX", base ? base : "/dev/shm", name);
	if (mkdtemp(dir)) {
		return;
	}
	snprintf(dir, len, "/tmp/lh-fuzz-%s.XXXXXX", name);
	FUZZ_CHECK(mkdtemp(dir), "mkdtemp %s: %m", dir);
}

/* The code under test logs refusals; thousands of runs a second must not. */
static inline void fuzz_quiet_logs(void)
{
	lh_log_set_file("/dev/null");
}

#endif /* LH_TESTS_FUZZ_H */
