/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What both metadata scanners (ctf-metadata-tsdl.h, ctf-metadata-json.h)
 * read the same way: words and strings, compared with a few keys, and
 * numbers, kept with the positions of their digits and trailing spaces.
 */
#ifndef LH_COMMON_CTF_METADATA_LEX_H
#define LH_COMMON_CTF_METADATA_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ctf-metadata-field.h"

/* A word or string being read; one longer than it keeps matches nothing. */
struct md_token {
	char buf[MD_TOKEN_MAX];
	size_t len;
	bool too_long;
};

/* A number being read. */
struct md_number {
	uint64_t pos[MD_FIELD_MAX];	/* of its digits and trailing spaces */
	size_t nr_pos;
	size_t nr_digits;
	bool valid;		/* a plain decimal u64 so far */
	uint64_t value;
};

static inline bool md_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

void md_token_reset(struct md_token *t);
void md_token_add(struct md_token *t, uint8_t c);
bool md_token_is(const struct md_token *t, const char *word);

/* An empty number, valid until a character says otherwise. */
void md_number_start(struct md_number *n);
/*
 * One more character of the number: anything but a digit, a leading
 * zero (octal in TSDL, invalid in JSON), more than MD_DIGITS_MAX digits
 * or a value beyond 64 bits makes it no plain decimal.
 */
void md_number_add(struct md_number *n, uint8_t c, uint64_t pos);
/* A space after the digits: the field's own (room left by an earlier rewrite). */
void md_number_space(struct md_number *n, uint64_t pos);

#endif /* LH_COMMON_CTF_METADATA_LEX_H */
