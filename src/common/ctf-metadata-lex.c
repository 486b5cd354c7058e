/* SPDX-License-Identifier: GPL-2.0-only */
/* Words and numbers of metadata text (ctf-metadata-lex.h). */
#include <string.h>

#include "common/ctf-metadata-lex.h"

void md_token_reset(struct md_token *t)
{
	t->len = 0;
	t->too_long = false;
}

void md_token_add(struct md_token *t, uint8_t c)
{
	if (t->len + 1 < sizeof(t->buf)) {
		t->buf[t->len++] = (char) c;
	} else {
		t->too_long = true;
	}
}

bool md_token_is(const struct md_token *t, const char *word)
{
	return !t->too_long && t->len == strlen(word) && !memcmp(t->buf, word, t->len);
}

void md_number_start(struct md_number *n)
{
	n->nr_pos = 0;
	n->nr_digits = 0;
	n->valid = true;
	n->value = 0;
}

void md_number_add(struct md_number *n, uint8_t c, uint64_t pos)
{
	if (!md_is_digit(c) || n->nr_digits >= MD_DIGITS_MAX || (n->nr_digits && !n->value)) {
		n->valid = false;
	} else if (n->value > (UINT64_MAX - (c - '0')) / 10) {
		n->valid = false;
	} else {
		n->value = n->value * 10 + (c - '0');
	}
	n->nr_digits++;
	if (n->nr_pos < MD_FIELD_MAX) {
		n->pos[n->nr_pos++] = pos;
	} else {
		n->valid = false;
	}
}

void md_number_space(struct md_number *n, uint64_t pos)
{
	if (n->nr_pos < MD_FIELD_MAX) {
		n->pos[n->nr_pos++] = pos;
	}
}
