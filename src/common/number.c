/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <stdlib.h>

#include "common/number.h"

int lh_parse_u64(const char *str, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull() would take a sign or leading blanks. */
	if (*str < '0' || *str > '9') {
		return -1;
	}
	errno = 0;
	v = strtoull(str, &end, 10);
	if (errno || *end || v < min || v > max) {
		return -1;
	}
	*out = v;
	return 0;
}
