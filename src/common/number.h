/* SPDX-License-Identifier: GPL-2.0-only */
/* Strict decimal numbers, for command-line options and text files. */
#ifndef LH_COMMON_NUMBER_H
#define LH_COMMON_NUMBER_H

#include <stdint.h>

/*
 * str is all decimal digits (no sign, no blank, no suffix) and its value
 * is within [min, max]: 0 and *out set. Otherwise -1, *out untouched.
 */
int lh_parse_u64(const char *str, uint64_t min, uint64_t max, uint64_t *out);
/*
 * The same for a size in bytes, with an optional suffix as lttng's sizes
 * take: k, M or G (either case) for 2^10, 2^20 or 2^30.
 */
int lh_parse_size(const char *str, uint64_t min, uint64_t max, uint64_t *out);

#endif /* LH_COMMON_NUMBER_H */
