/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The scanner of CTF 1.8 TSDL text: fed the text one byte at a time, it
 * reports the freq and offset fields of the clock block named
 * "monotonic". A clock's name must come before its values, as LTTng
 * writes it.
 */
#ifndef LH_COMMON_CTF_METADATA_TSDL_H
#define LH_COMMON_CTF_METADATA_TSDL_H

#include "common/ctf-metadata-lex.h"

enum md_tsdl_lex {
	TSDL_LEX_TEXT,
	TSDL_LEX_SLASH,
	TSDL_LEX_LINE_COMMENT,
	TSDL_LEX_BLOCK_COMMENT,
	TSDL_LEX_BLOCK_STAR,
	TSDL_LEX_STRING,
	TSDL_LEX_STRING_ESC,
	TSDL_LEX_IDENT,
	TSDL_LEX_NUMBER,
	TSDL_LEX_NUMBER_SPACES,
};

/* Where the parser stands in a "key = value;" of the clock block. */
enum md_tsdl_stmt {
	TSDL_STMT_NONE,
	TSDL_STMT_KEY,
	TSDL_STMT_EQ,
	TSDL_STMT_VALUE,
};

enum md_tsdl_key {
	TSDL_KEY_OTHER,
	TSDL_KEY_NAME,
	TSDL_KEY_OFFSET,
	TSDL_KEY_FREQ,
};

struct md_tsdl {
	enum md_tsdl_lex lex;
	struct md_token tok;
	struct md_number num;
	bool target;		/* it is an offset or freq of the monotonic clock */
	/* The parser. */
	unsigned int depth;
	bool clock_kw;		/* "clock" just seen at the top level */
	bool in_clock;
	bool clock_mono;
	enum md_tsdl_stmt stmt;
	enum md_tsdl_key key;
	struct lh_ctf_md_report *report;
	md_field_cb cb;
	void *arg;
};

void md_tsdl_init(struct md_tsdl *s, struct lh_ctf_md_report *report, md_field_cb cb,
		void *arg);
/* One byte of text, at an opaque position. */
void md_tsdl_byte(struct md_tsdl *s, uint8_t c, uint64_t pos);
/* Where the field to rewrite that is still open starts, if there is one. */
bool md_tsdl_open_field(const struct md_tsdl *s, uint64_t *pos);

#endif /* LH_COMMON_CTF_METADATA_TSDL_H */
