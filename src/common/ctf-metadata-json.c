/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The scanner of CTF 2 metadata (ctf-metadata-json.h). It follows the
 * JSON structure only as deep as the clock's members: the depth of
 * nesting, and for depths 1 and 2 whether the next string is a key or a
 * value. Strings are compared as written, escapes included: the lttng
 * writers escape none of the names it looks for.
 */
#include <limits.h>
#include <string.h>

#include "common/ctf-metadata-json.h"

void md_json_init(struct md_json *j, struct lh_ctf_md_report *report, md_field_cb cb,
		void *arg)
{
	memset(j, 0, sizeof(*j));
	j->report = report;
	j->cb = cb;
	j->arg = arg;
}

static bool is_letter(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A character that makes one token with digits just before it. */
static bool extends_number(uint8_t c)
{
	return md_is_digit(c) || is_letter(c) || c == '.' || c == '+' || c == '-' || c == '_';
}

/* The level of the innermost object or array, if it is of depth 1 or 2. */
static struct md_json_level *cur_level(struct md_json *j)
{
	return j->depth >= 1 && j->depth <= 2 ? &j->level[j->depth] : NULL;
}

static enum md_json_key key_lookup(const struct md_json *j)
{
	if (j->depth == 1) {
		if (md_token_is(&j->tok, "name")) {
			return JSON_KEY_NAME;
		}
		if (md_token_is(&j->tok, "type")) {
			return JSON_KEY_TYPE;
		}
		if (md_token_is(&j->tok, "frequency")) {
			return JSON_KEY_FREQUENCY;
		}
		if (md_token_is(&j->tok, "offset-from-origin")) {
			return JSON_KEY_OFFSET;
		}
	} else if (j->in_offset) {
		if (md_token_is(&j->tok, "seconds")) {
			return JSON_KEY_SECONDS;
		}
		if (md_token_is(&j->tok, "cycles")) {
			return JSON_KEY_CYCLES;
		}
	}
	return JSON_KEY_OTHER;
}

/* The member whose value starts here, if it is one of the clock's. */
static enum md_json_key value_key(struct md_json *j)
{
	struct md_json_level *l = cur_level(j);

	return l && l->object && l->member == JSON_MEMBER_VALUE ? l->key : JSON_KEY_OTHER;
}

static void value_done(struct md_json *j)
{
	struct md_json_level *l = cur_level(j);

	if (l) {
		l->member = JSON_MEMBER_NEXT;
	}
}

static void clock_check(struct md_json *j)
{
	if (j->frag.name == JSON_NAME_MONOTONIC && (j->frag.clock_class || j->frag.clock_members)) {
		j->report->clock_found = true;
	}
}

/* offset = seconds * freq + cycles, unless it overflows. */
static bool offset_of(uint64_t seconds, uint64_t freq, uint64_t cycles, uint64_t *offset)
{
	if (freq && seconds > (UINT64_MAX - cycles) / freq) {
		return false;
	}
	*offset = seconds * freq + cycles;
	return true;
}

/* Report the clock's frequency and offset once all of it is known. */
static void clock_report(struct md_json *j)
{
	struct md_json_fragment *fr = &j->frag;
	struct lh_ctf_md_report *r = j->report;

	if (fr->name != JSON_NAME_MONOTONIC || !fr->has_freq) {
		return;
	}
	if (!r->has_freq) {
		r->has_freq = true;
		r->freq = fr->freq;
	}
	if (!r->has_offset && fr->has_seconds && fr->has_cycles && !fr->seconds_bad &&
			offset_of(fr->seconds, fr->freq, fr->cycles, &r->offset)) {
		r->has_offset = true;
	}
}

static void field_done(struct md_json *j, const struct md_field *f)
{
	struct md_json_fragment *fr = &j->frag;
	unsigned int was = fr->offset_changed;

	switch (j->cb(j->arg, f)) {
	case MD_FIELD_LEFT:
		j->report->left++;
		break;
	case MD_FIELD_CHANGED:
		if (f->key == MD_FIELD_FREQ) {
			j->report->rewritten++;
			break;
		}
		/* The offset is rewritten once both its parts are. */
		fr->offset_changed |= f->key == MD_FIELD_SECONDS ? 1 : 2;
		if (fr->offset_changed == 3 && was != 3) {
			j->report->rewritten++;
		}
		break;
	case MD_FIELD_KEPT:
		break;
	}
}

static void name_found(struct md_json *j, bool monotonic)
{
	struct md_json_fragment *fr = &j->frag;

	if (fr->name != JSON_NAME_UNKNOWN) {
		return;
	}
	if (!monotonic) {
		fr->name = JSON_NAME_OTHER;
		fr->pending = false;
		return;
	}
	fr->name = JSON_NAME_MONOTONIC;
	clock_check(j);
	clock_report(j);
	j->report->left += fr->unnamed;
	fr->unnamed = 0;
	if (fr->pending) {
		const struct md_field f = {
			.key = MD_FIELD_FREQ,
			.pos = fr->pending_pos,
			.nr_pos = fr->pending_nr_pos,
			.apart = fr->pending_apart,
			.value = fr->pending_value,
		};

		fr->pending = false;
		field_done(j, &f);
	}
}

static void type_found(struct md_json *j, bool clock_class)
{
	struct md_json_fragment *fr = &j->frag;

	if (clock_class) {
		fr->clock_class = true;
		clock_check(j);
	} else if (fr->name == JSON_NAME_UNKNOWN) {
		/* Not a clock: a name that follows is not the clock's. */
		fr->name = JSON_NAME_OTHER;
		fr->pending = false;
	}
}

static void freq_found(struct md_json *j, const struct md_field *f)
{
	struct md_json_fragment *fr = &j->frag;

	fr->clock_members = true;
	if (fr->name == JSON_NAME_OTHER) {
		return;
	}
	if (j->num.valid && !fr->has_freq) {
		fr->has_freq = true;
		fr->freq = f->value;
	}
	if (fr->name == JSON_NAME_UNKNOWN) {
		if (j->num.valid && !fr->pending) {
			fr->pending = true;
			memcpy(fr->pending_pos, f->pos, f->nr_pos * sizeof(f->pos[0]));
			fr->pending_nr_pos = f->nr_pos;
			fr->pending_apart = f->apart;
			fr->pending_value = f->value;
		} else {
			fr->unnamed++;
		}
		return;
	}
	clock_check(j);
	clock_report(j);
	if (!j->num.valid) {
		j->report->left++;
		return;
	}
	field_done(j, f);
}

static void offset_part_found(struct md_json *j, struct md_field *f)
{
	struct md_json_fragment *fr = &j->frag;

	if (fr->name == JSON_NAME_OTHER) {
		return;
	}
	if (f->key == MD_FIELD_SECONDS) {
		if (!j->num.valid) {
			fr->seconds_bad = true;
		} else if (!fr->has_seconds) {
			fr->has_seconds = true;
			fr->seconds = f->value;
		}
	} else if (j->num.valid && !fr->has_cycles) {
		fr->has_cycles = true;
		fr->cycles = f->value;
	}
	if (fr->name == JSON_NAME_UNKNOWN) {
		fr->unnamed++;
		return;
	}
	clock_report(j);
	if (!j->num.valid || fr->seconds_bad) {
		j->report->left++;
		return;
	}
	f->freq = fr->has_freq ? fr->freq : 0;
	field_done(j, f);
}

static void number_start(struct md_json *j, uint8_t c, uint64_t pos)
{
	enum md_json_key key = value_key(j);

	j->lex = JSON_LEX_NUMBER;
	j->num_key = key == JSON_KEY_FREQUENCY || key == JSON_KEY_SECONDS ||
		key == JSON_KEY_CYCLES ? key : JSON_KEY_OTHER;
	md_number_start(&j->num);
	/* A minus sign is no digit the fix could write over. */
	if (c == '-') {
		j->num.valid = false;
	} else {
		md_number_add(&j->num, c, pos);
	}
}

/* The number ended; next is the character after it and its spaces. */
static void number_end(struct md_json *j, uint8_t next)
{
	struct md_field f = {
		.pos = j->num.pos,
		.nr_pos = j->num.nr_pos,
		.value = j->num.value,
	};

	/* As in TSDL: the last space keeps the value from merging with what follows. */
	if (j->lex == JSON_LEX_NUMBER_SPACES && extends_number(next) && f.nr_pos > j->num.nr_digits) {
		f.nr_pos--;
		f.apart = true;
	}
	j->lex = JSON_LEX_TEXT;
	value_done(j);
	switch (j->num_key) {
	case JSON_KEY_FREQUENCY:
		f.key = MD_FIELD_FREQ;
		freq_found(j, &f);
		break;
	case JSON_KEY_SECONDS:
		f.key = MD_FIELD_SECONDS;
		offset_part_found(j, &f);
		break;
	case JSON_KEY_CYCLES:
		f.key = MD_FIELD_CYCLES;
		offset_part_found(j, &f);
		break;
	default:
		break;
	}
}

static void string_end(struct md_json *j)
{
	struct md_json_level *l = cur_level(j);
	enum md_json_key key;

	if (l && l->object && l->member == JSON_MEMBER_KEY) {
		l->key = key_lookup(j);
		l->member = JSON_MEMBER_COLON;
		return;
	}
	key = value_key(j);
	if (key == JSON_KEY_NAME) {
		name_found(j, md_token_is(&j->tok, "monotonic"));
	} else if (key == JSON_KEY_TYPE) {
		type_found(j, md_token_is(&j->tok, "clock-class"));
	}
	value_done(j);
}

static void open_value(struct md_json *j, bool object)
{
	enum md_json_key key = value_key(j);
	struct md_json_level *l;

	if (j->depth == 0) {
		/* A new top-level value: a fragment of its own. */
		memset(&j->frag, 0, sizeof(j->frag));
	}
	if (j->depth < UINT_MAX) {
		j->depth++;
	}
	l = cur_level(j);
	if (l) {
		*l = (struct md_json_level) {
			.object = object,
			.member = object ? JSON_MEMBER_KEY : JSON_MEMBER_VALUE,
		};
	}
	if (j->depth == 2) {
		j->in_offset = object && key == JSON_KEY_OFFSET;
		if (key == JSON_KEY_OFFSET) {
			j->frag.clock_members = true;
			clock_check(j);
		}
	}
}

static void close_value(struct md_json *j)
{
	if (!j->depth) {
		return;
	}
	if (j->depth == 2) {
		j->in_offset = false;
	}
	j->depth--;
	if (!j->depth) {
		/* The fragment ended without a name: its frequency is not the clock's. */
		j->frag.pending = false;
	}
	value_done(j);
}

static void punct(struct md_json *j, uint8_t c)
{
	struct md_json_level *l = cur_level(j);

	switch (c) {
	case '{':
	case '[':
		open_value(j, c == '{');
		break;
	case '}':
	case ']':
		close_value(j);
		break;
	case ':':
		if (l && l->member == JSON_MEMBER_COLON) {
			l->member = JSON_MEMBER_VALUE;
		}
		break;
	case ',':
		if (l) {
			l->member = l->object ? JSON_MEMBER_KEY : JSON_MEMBER_VALUE;
		}
		break;
	default:
		/* Whitespace, or what no JSON has. */
		break;
	}
}

/* A record separator starts a new JSON text, whatever came before (RFC 7464). */
static void sequence_start(struct md_json *j)
{
	j->lex = JSON_LEX_TEXT;
	j->depth = 0;
	j->in_offset = false;
	memset(&j->frag, 0, sizeof(j->frag));
}

void md_json_byte(struct md_json *j, uint8_t c, uint64_t pos)
{
	if (c == MD_JSON_RS) {
		sequence_start(j);
		return;
	}
	for (;;) {
		switch (j->lex) {
		case JSON_LEX_TEXT:
			if (c == '"') {
				j->lex = JSON_LEX_STRING;
				md_token_reset(&j->tok);
			} else if (c == '-' || md_is_digit(c)) {
				number_start(j, c, pos);
			} else if (is_letter(c)) {
				j->lex = JSON_LEX_WORD;
			} else {
				punct(j, c);
			}
			return;
		case JSON_LEX_STRING:
			if (c == '"') {
				j->lex = JSON_LEX_TEXT;
				string_end(j);
				return;
			}
			if (c == '\\') {
				j->lex = JSON_LEX_STRING_ESC;
			}
			md_token_add(&j->tok, c);
			return;
		case JSON_LEX_STRING_ESC:
			j->lex = JSON_LEX_STRING;
			md_token_add(&j->tok, c);
			return;
		case JSON_LEX_WORD:
			/* true, false or null */
			if (is_letter(c) || md_is_digit(c)) {
				return;
			}
			j->lex = JSON_LEX_TEXT;
			value_done(j);
			continue;
		case JSON_LEX_NUMBER:
			if (extends_number(c)) {
				md_number_add(&j->num, c, pos);
				return;
			}
			if (c == ' ') {
				j->lex = JSON_LEX_NUMBER_SPACES;
				md_number_space(&j->num, pos);
				return;
			}
			number_end(j, c);
			continue;
		case JSON_LEX_NUMBER_SPACES:
			if (c == ' ') {
				md_number_space(&j->num, pos);
				return;
			}
			number_end(j, c);
			continue;
		}
	}
}

bool md_json_open_field(const struct md_json *j, uint64_t *pos)
{
	const struct md_json_fragment *fr = &j->frag;
	bool open = j->lex == JSON_LEX_NUMBER || j->lex == JSON_LEX_NUMBER_SPACES;

	if (fr->pending) {
		*pos = fr->pending_pos[0];
		return true;
	}
	if (!open || !j->num.valid || fr->name == JSON_NAME_OTHER) {
		return false;
	}
	if (j->num_key == JSON_KEY_FREQUENCY ||
			((j->num_key == JSON_KEY_SECONDS || j->num_key == JSON_KEY_CYCLES) &&
			fr->name == JSON_NAME_MONOTONIC && !fr->seconds_bad)) {
		*pos = j->num.pos[0];
		return true;
	}
	return false;
}
