/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int lh_parse_size(const char *str, uint64_t min, uint64_t max, uint64_t *out)
{
	static const char suffixes[] = "kmg";
	size_t len = strlen(str);
	const char *unit;
	char digits[32];
	unsigned int shift = 0;
	uint64_t v;

	if (len && len < sizeof(digits) && (unit = strchr(suffixes, str[len - 1] | 0x20)) &&
			*unit) {
		shift = 10 * (unsigned int) (unit - suffixes + 1);
		memcpy(digits, str, len - 1);
		digits[len - 1] = '\0';
		str = digits;
	}
	if (lh_parse_u64(str, 0, UINT64_MAX >> shift, &v) < 0) {
		return -1;
	}
	v <<= shift;
	if (v < min || v > max) {
		return -1;
	}
	*out = v;
	return 0;
}
