/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the two CTF metadata targets share: the values a fix writes, the
 * file fixer run on a memory file, and the checks made of a fixed file.
 */
#ifndef LH_TESTS_FUZZ_CTF_H
#define LH_TESTS_FUZZ_CTF_H

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ctf-metadata.h"
#include "tests/fuzz/fuzz.h"

/* Values of every width, a leading-zero-free 0, and the largest u64. */
static const uint64_t fuzz_ctf_values[] = {
	0, 1, 7, 42, 999999950, 1000000000, 1000000021, 1795639570593412007ULL,
	1795639999000000123ULL, 12345678901234567890ULL, UINT64_MAX,
};
#define FUZZ_CTF_NR_VALUES	(sizeof(fuzz_ctf_values) / sizeof(fuzz_ctf_values[0]))

/* Flags byte, then offset and freq picked from the table. */
static inline void fuzz_ctf_take_values(struct fuzz_in *in, uint8_t flags,
		struct lh_ctf_md_values *v)
{
	uint8_t o = fuzz_u8(in), f = fuzz_u8(in);

	*v = (struct lh_ctf_md_values) {
		.set_offset = flags & 0x02,
		.offset = fuzz_ctf_values[o % FUZZ_CTF_NR_VALUES],
		.set_freq = flags & 0x04,
		.freq = fuzz_ctf_values[f % FUZZ_CTF_NR_VALUES],
		.min_width = flags & 0x08 ? LH_CTF_MD_RESERVE_WIDTH : 0,
	};
}

static inline bool fuzz_ctf_digit_or_space(uint8_t c)
{
	return c == ' ' || (c >= '0' && c <= '9');
}

/* The memory file holding len bytes of buf, one for every run: -1 if there is none. */
static inline int fuzz_ctf_memfd(const uint8_t *buf, size_t len)
{
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-metadata", MFD_CLOEXEC);
	}
	if (fd < 0 || ftruncate(fd, 0) < 0 ||
			(len && pwrite(fd, buf, len, 0) != (ssize_t) len)) {
		return -1;
	}
	return fd;
}

/*
 * Fix a copy of buf with values (NULL: inspect only) into out (len
 * bytes); returns what lh_ctf_md_fix_fd returned. The fix must be in
 * place: same length, and only digits and spaces changed, into digits
 * and spaces.
 */
static inline int fuzz_ctf_fix(const uint8_t *buf, size_t len,
		const struct lh_ctf_md_values *values, uint8_t *out,
		struct lh_ctf_md_report *rep)
{
	int fd = fuzz_ctf_memfd(buf, len);
	struct stat st;
	size_t i;
	int ret;

	FUZZ_CHECK(fd >= 0, "memfd: %m");
	ret = lh_ctf_md_fix_fd(fd, values, rep);
	FUZZ_CHECK(fstat(fd, &st) == 0 && (size_t) st.st_size == len,
		"the fix changed the file's size");
	FUZZ_CHECK(!len || pread(fd, out, len, 0) == (ssize_t) len, "pread: %m");
	for (i = 0; i < len; i++) {
		if (out[i] == buf[i]) {
			continue;
		}
		FUZZ_CHECK(values && fuzz_ctf_digit_or_space(buf[i]) &&
			fuzz_ctf_digit_or_space(out[i]),
			"the fix changed byte %zu from 0x%02x to 0x%02x", i, buf[i], out[i]);
	}
	FUZZ_CHECK(ret == 0 || ret == -1, "fix returned %d", ret);
	return ret;
}

/*
 * Fixing twice equals fixing once: the sync file's "sync-fix" runs again
 * on a fixed trace. buf is fixed into once, then once into twice.
 */
static inline void fuzz_ctf_fix_idempotent(const uint8_t *buf, size_t len,
		const struct lh_ctf_md_values *values)
{
	uint8_t *once = malloc(len ? len : 1), *twice = malloc(len ? len : 1);
	struct lh_ctf_md_report r1, r2;

	FUZZ_CHECK(once && twice, "out of memory");
	if (fuzz_ctf_fix(buf, len, values, once, &r1) == 0) {
		FUZZ_CHECK(fuzz_ctf_fix(once, len, values, twice, &r2) == 0,
			"a fixed file cannot be fixed again");
		FUZZ_CHECK(!memcmp(once, twice, len), "fixing twice differs from fixing once");
		FUZZ_CHECK(r1.clock_found == r2.clock_found, "fixing lost the clock");
	}
	free(once);
	free(twice);
}

#endif /* LH_TESTS_FUZZ_CTF_H */
