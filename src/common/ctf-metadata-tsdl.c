/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The scanner of CTF 1.8 TSDL text (ctf-metadata-tsdl.h): a lexer that
 * knows comments, strings, identifiers and numbers, and a parser that
 * only follows the top-level clock blocks' "key = value;" statements.
 */
#include <string.h>

#include "common/ctf-metadata-tsdl.h"

void md_tsdl_init(struct md_tsdl *s, struct lh_ctf_md_report *report, md_field_cb cb,
		void *arg)
{
	memset(s, 0, sizeof(*s));
	s->report = report;
	s->cb = cb;
	s->arg = arg;
}

static bool is_ident_start(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static enum md_tsdl_key key_lookup(const struct md_tsdl *s)
{
	if (md_token_is(&s->tok, "name")) {
		return TSDL_KEY_NAME;
	}
	if (md_token_is(&s->tok, "offset")) {
		return TSDL_KEY_OFFSET;
	}
	if (md_token_is(&s->tok, "freq")) {
		return TSDL_KEY_FREQ;
	}
	return TSDL_KEY_OTHER;
}

static bool in_clock_body(const struct md_tsdl *s)
{
	return s->in_clock && s->depth == 1;
}

static bool at_target_value(const struct md_tsdl *s)
{
	return s->stmt == TSDL_STMT_EQ && s->clock_mono && in_clock_body(s) &&
		(s->key == TSDL_KEY_OFFSET || s->key == TSDL_KEY_FREQ);
}

/* An identifier or a string ended (the token is in s->tok). */
static void parse_word(struct md_tsdl *s, bool is_string)
{
	s->clock_kw = !is_string && s->depth == 0 && md_token_is(&s->tok, "clock");
	if (s->clock_kw) {
		return;
	}
	if (!in_clock_body(s)) {
		return;
	}
	switch (s->stmt) {
	case TSDL_STMT_NONE:
		s->key = is_string ? TSDL_KEY_OTHER : key_lookup(s);
		s->stmt = TSDL_STMT_KEY;
		break;
	case TSDL_STMT_EQ:
		if (s->key == TSDL_KEY_NAME && md_token_is(&s->tok, "monotonic")) {
			s->clock_mono = true;
			s->report->clock_found = true;
		}
		s->stmt = TSDL_STMT_VALUE;
		break;
	default:
		s->stmt = TSDL_STMT_VALUE;
		break;
	}
}

static void parse_punct(struct md_tsdl *s, uint8_t c)
{
	bool clock_kw = s->clock_kw;

	s->clock_kw = false;
	switch (c) {
	case '{':
		s->depth++;
		if (clock_kw && s->depth == 1) {
			s->in_clock = true;
			s->clock_mono = false;
			s->stmt = TSDL_STMT_NONE;
		}
		break;
	case '}':
		if (s->depth) {
			s->depth--;
		}
		if (s->depth == 0) {
			s->in_clock = false;
		}
		s->stmt = TSDL_STMT_NONE;
		break;
	case '=':
		s->stmt = s->stmt == TSDL_STMT_KEY ? TSDL_STMT_EQ : TSDL_STMT_VALUE;
		break;
	case ';':
		s->stmt = TSDL_STMT_NONE;
		break;
	default:
		/* A sign or an expression: not a value we rewrite. */
		if (at_target_value(s)) {
			s->report->left++;
		}
		s->stmt = TSDL_STMT_VALUE;
		break;
	}
}

static void number_start(struct md_tsdl *s, uint8_t c, uint64_t pos)
{
	s->clock_kw = false;
	s->lex = TSDL_LEX_NUMBER;
	s->target = at_target_value(s);
	md_number_start(&s->num);
	md_number_add(&s->num, c, pos);
}

/* A character that would make one token with digits written just before it. */
static bool extends_number(uint8_t c)
{
	return is_ident_start(c) || md_is_digit(c) || c == '.';
}

/* The number ended; next is the character after it and its spaces. */
static void number_end(struct md_tsdl *s, uint8_t next)
{
	struct lh_ctf_md_report *r = s->report;
	bool apart = false;
	struct md_field field;

	/*
	 * Before a token that would extend the number, the last space is not
	 * the field's: a value as wide as the field would merge with that
	 * token, and the next fix would find another field ("10000000 0"
	 * must not become "9999999500"). A valid number has at most
	 * MD_DIGITS_MAX digits, so that space is recorded.
	 */
	if (s->lex == TSDL_LEX_NUMBER_SPACES && extends_number(next) && s->num.nr_pos > s->num.nr_digits) {
		s->num.nr_pos--;
		apart = true;
	}
	s->lex = TSDL_LEX_TEXT;
	s->clock_kw = false;
	if (s->stmt == TSDL_STMT_EQ) {
		s->stmt = TSDL_STMT_VALUE;
	}
	if (!s->target) {
		return;
	}
	s->target = false;
	field = (struct md_field) {
		.key = s->key == TSDL_KEY_OFFSET ? MD_FIELD_OFFSET : MD_FIELD_FREQ,
		.pos = s->num.pos,
		.nr_pos = s->num.nr_pos,
		.apart = apart,
		.value = s->num.value,
	};
	if (s->num.valid && field.key == MD_FIELD_OFFSET && !r->has_offset) {
		r->has_offset = true;
		r->offset = field.value;
	} else if (s->num.valid && field.key == MD_FIELD_FREQ && !r->has_freq) {
		r->has_freq = true;
		r->freq = field.value;
	}
	if (!s->num.valid) {
		r->left++;
		return;
	}
	switch (s->cb(s->arg, &field)) {
	case MD_FIELD_LEFT:
		r->left++;
		break;
	case MD_FIELD_CHANGED:
		r->rewritten++;
		break;
	case MD_FIELD_KEPT:
		break;
	}
}

void md_tsdl_byte(struct md_tsdl *s, uint8_t c, uint64_t pos)
{
	for (;;) {
		switch (s->lex) {
		case TSDL_LEX_TEXT:
			if (c == '/') {
				s->lex = TSDL_LEX_SLASH;
			} else if (c == '"') {
				s->lex = TSDL_LEX_STRING;
				md_token_reset(&s->tok);
			} else if (is_ident_start(c)) {
				s->lex = TSDL_LEX_IDENT;
				md_token_reset(&s->tok);
				md_token_add(&s->tok, c);
			} else if (md_is_digit(c)) {
				number_start(s, c, pos);
			} else if (!is_space(c)) {
				parse_punct(s, c);
			}
			return;
		case TSDL_LEX_SLASH:
			if (c == '*') {
				s->lex = TSDL_LEX_BLOCK_COMMENT;
				return;
			}
			if (c == '/') {
				s->lex = TSDL_LEX_LINE_COMMENT;
				return;
			}
			s->lex = TSDL_LEX_TEXT;
			parse_punct(s, '/');
			continue;
		case TSDL_LEX_LINE_COMMENT:
			if (c == '\n') {
				s->lex = TSDL_LEX_TEXT;
			}
			return;
		case TSDL_LEX_BLOCK_COMMENT:
			if (c == '*') {
				s->lex = TSDL_LEX_BLOCK_STAR;
			}
			return;
		case TSDL_LEX_BLOCK_STAR:
			if (c == '/') {
				s->lex = TSDL_LEX_TEXT;
			} else if (c != '*') {
				s->lex = TSDL_LEX_BLOCK_COMMENT;
			}
			return;
		case TSDL_LEX_STRING:
			if (c == '"') {
				s->lex = TSDL_LEX_TEXT;
				parse_word(s, true);
				return;
			}
			if (c == '\\') {
				s->lex = TSDL_LEX_STRING_ESC;
			}
			md_token_add(&s->tok, c);
			return;
		case TSDL_LEX_STRING_ESC:
			s->lex = TSDL_LEX_STRING;
			md_token_add(&s->tok, c);
			return;
		case TSDL_LEX_IDENT:
			if (is_ident_start(c) || md_is_digit(c)) {
				md_token_add(&s->tok, c);
				return;
			}
			s->lex = TSDL_LEX_TEXT;
			parse_word(s, false);
			continue;
		case TSDL_LEX_NUMBER:
			if (is_ident_start(c) || md_is_digit(c)) {
				md_number_add(&s->num, c, pos);
				return;
			}
			if (c == ' ') {
				s->lex = TSDL_LEX_NUMBER_SPACES;
				md_number_space(&s->num, pos);
				return;
			}
			number_end(s, c);
			continue;
		case TSDL_LEX_NUMBER_SPACES:
			if (c == ' ') {
				md_number_space(&s->num, pos);
				return;
			}
			number_end(s, c);
			continue;
		}
	}
}

bool md_tsdl_open_field(const struct md_tsdl *s, uint64_t *pos)
{
	if (!s->target || !s->num.valid ||
			(s->lex != TSDL_LEX_NUMBER && s->lex != TSDL_LEX_NUMBER_SPACES)) {
		return false;
	}
	*pos = s->num.pos[0];
	return true;
}
