/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The scanner of CTF 2 metadata, a JSON text sequence (RFC 7464: each
 * fragment starts with 0x1E): fed the text one byte at a time, it reports
 * the fields of the clock-class fragment named "monotonic", that is its
 * depth-1 members "frequency" and, in its depth-1 "offset-from-origin"
 * object, "seconds" and "cycles". Deeper members of the same names
 * ("environment", "attributes": the guest's content) are not the clock's.
 *
 * The name must come before offset-from-origin, as the lttng writers put
 * it; a frequency may come before the name (the session daemon sorts the
 * keys): it waits for it. Seconds and cycles are rewritten each on its
 * own, from the one offset written. Seconds that are no plain decimal
 * (negative: the kernel writes them signed; or beyond 64 bits) are left,
 * and so are the cycles after them; the offset they make is not
 * reported, nor one beyond 64 bits.
 */
#ifndef LH_COMMON_CTF_METADATA_JSON_H
#define LH_COMMON_CTF_METADATA_JSON_H

#include "common/ctf-metadata-lex.h"

#define MD_JSON_RS		0x1E

enum md_json_lex {
	JSON_LEX_TEXT,
	JSON_LEX_STRING,
	JSON_LEX_STRING_ESC,
	JSON_LEX_WORD,
	JSON_LEX_NUMBER,
	JSON_LEX_NUMBER_SPACES,
};

/* Where an object of depth 1 or 2 stands in its current member. */
enum md_json_member {
	JSON_MEMBER_KEY,
	JSON_MEMBER_COLON,
	JSON_MEMBER_VALUE,
	JSON_MEMBER_NEXT,
};

enum md_json_key {
	JSON_KEY_OTHER,
	JSON_KEY_NAME,
	JSON_KEY_TYPE,
	JSON_KEY_FREQUENCY,
	JSON_KEY_OFFSET,	/* offset-from-origin */
	JSON_KEY_SECONDS,
	JSON_KEY_CYCLES,
};

enum md_json_name {
	JSON_NAME_UNKNOWN,
	JSON_NAME_MONOTONIC,
	JSON_NAME_OTHER,
};

struct md_json_level {
	bool object;
	enum md_json_member member;
	enum md_json_key key;
};

/* What the scanner knows of the fragment it is in. */
struct md_json_fragment {
	enum md_json_name name;
	bool clock_class;	/* its type is "clock-class" */
	bool clock_members;	/* it has a frequency or an offset-from-origin */
	bool has_freq, has_seconds, has_cycles;
	uint64_t freq, seconds, cycles;
	bool seconds_bad;	/* not a plain decimal: the offset is left as it is */
	unsigned int unnamed;	/* fields before the name: left if it is "monotonic" */
	unsigned int offset_changed;	/* bit 0: seconds, bit 1: cycles */
	/* A frequency before the name. */
	bool pending;
	uint64_t pending_pos[MD_FIELD_MAX];
	size_t pending_nr_pos;
	bool pending_apart;
	uint64_t pending_value;
};

struct md_json {
	enum md_json_lex lex;
	struct md_token tok;
	struct md_number num;
	enum md_json_key num_key;	/* the clock member it is the value of, if any */
	/* The parser. */
	unsigned int depth;
	struct md_json_level level[3];	/* depths 1 and 2 */
	bool in_offset;		/* the depth-2 object is the depth-1 offset-from-origin */
	struct md_json_fragment frag;
	struct lh_ctf_md_report *report;
	md_field_cb cb;
	void *arg;
};

void md_json_init(struct md_json *j, struct lh_ctf_md_report *report, md_field_cb cb,
		void *arg);
/* One byte of text, at an opaque position. */
void md_json_byte(struct md_json *j, uint8_t c, uint64_t pos);
/* Where the first field still to be rewritten starts, if there is one. */
bool md_json_open_field(const struct md_json *j, uint64_t *pos);

#endif /* LH_COMMON_CTF_METADATA_JSON_H */
