/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the metadata scanners (ctf-metadata-tsdl.h, ctf-metadata-json.h)
 * report to the rewriter and the file fixer: a clock field, with the
 * opaque positions of its characters, and what became of it.
 */
#ifndef LH_COMMON_CTF_METADATA_FIELD_H
#define LH_COMMON_CTF_METADATA_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ctf-metadata.h"

/* Characters kept per field (digits and trailing spaces); more digits are refused. */
#define MD_FIELD_MAX		32
#define MD_DIGITS_MAX		20
/* Longest word or string a scanner compares; longer ones match nothing. */
#define MD_TOKEN_MAX		64

enum md_field_key {
	MD_FIELD_FREQ,		/* TSDL freq, CTF 2 frequency */
	MD_FIELD_OFFSET,	/* TSDL offset, in cycles */
	MD_FIELD_SECONDS,	/* CTF 2 offset-from-origin */
	MD_FIELD_CYCLES,
};

/* A plain decimal u64 of the "monotonic" clock, to rewrite. */
struct md_field {
	enum md_field_key key;
	const uint64_t *pos;
	size_t nr_pos;		/* digits and trailing spaces */
	bool apart;		/* a space the field does not own parts it from the next token */
	uint64_t value;
	/* The clock's frequency as found, for seconds and cycles (0: none). */
	uint64_t freq;
};

enum md_field_result {
	MD_FIELD_LEFT,		/* as it was: no room, or no value to write */
	MD_FIELD_KEPT,		/* its value kept, maybe widened */
	MD_FIELD_CHANGED,	/* the value asked for written */
};

typedef enum md_field_result (*md_field_cb)(void *arg, const struct md_field *field);

/*
 * The field's new value in decimal into text (MD_FIELD_MAX + 1 bytes);
 * returns its digits, or 0 if there is none (seconds or cycles without a
 * frequency). changes: the value is one asked for.
 */
size_t md_field_text(const struct lh_ctf_md_values *v, const struct md_field *f, char *text,
		bool *changes);

#endif /* LH_COMMON_CTF_METADATA_FIELD_H */
