/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rewriting the clock of a CTF 1.8 metadata stream (ctf-metadata.h).
 *
 * One TSDL scanner serves both the streaming rewriter and the file fixer:
 * it is fed the text bytes of the packets one at a time, each with an
 * opaque position, and reports every offset and freq field of the
 * "monotonic" clock with the positions of its characters. Positions are
 * file offsets for the fixer, and (message, index) pairs for the
 * rewriter, so that a field may straddle packets and messages alike.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/ctf-metadata.h"

/*
 * Metadata packet header (CTF 1.8, as LTTng writes it): u32 magic,
 * u8 uuid[16], u32 checksum, u32 content_size, u32 packet_size (both in
 * bits, header included), then five u8 (compression, encryption,
 * checksum scheme, major, minor).
 */
#define PKT_MAGIC		0x75D11D57U
#define PKT_OFF_CONTENT_SIZE	24
#define PKT_OFF_PACKET_SIZE	28
#define PKT_HDR_LEN		37
#define MD_MAX_SIZE		(64U << 20)

/* Characters kept per field (digits and trailing spaces); more digits are refused. */
#define FIELD_MAX		32
#define DIGITS_MAX		20
#define TOKEN_MAX		64
/*
 * Messages held while one field straddles them; beyond, the field is given
 * up (its bytes are bounded by LH_CTF_MD_HOLD_MAX too).
 */
#define HELD_MAX		16

enum md_lex {
	LEX_TEXT,
	LEX_SLASH,
	LEX_LINE_COMMENT,
	LEX_BLOCK_COMMENT,
	LEX_BLOCK_STAR,
	LEX_STRING,
	LEX_STRING_ESC,
	LEX_IDENT,
	LEX_NUMBER,
	LEX_NUMBER_SPACES,
};

/* Where the parser stands in a "key = value;" of the clock block. */
enum md_stmt {
	STMT_NONE,
	STMT_KEY,
	STMT_EQ,
	STMT_VALUE,
};

enum md_key {
	KEY_OTHER,
	KEY_NAME,
	KEY_OFFSET,
	KEY_FREQ,
};

struct md_field {
	enum md_key key;
	const uint64_t *pos;
	size_t nr_pos;		/* digits and trailing spaces */
	bool apart;		/* a space the field does not own parts it from the next token */
	bool valid;		/* a plain decimal u64 */
	uint64_t value;
};

typedef void (*md_field_cb)(void *arg, const struct md_field *field);

struct md_scan {
	enum md_lex lex;
	char tok[TOKEN_MAX];
	size_t tok_len;
	bool tok_long;
	/* The number being read. */
	uint64_t pos[FIELD_MAX];
	size_t nr_pos;
	size_t nr_digits;
	bool num_valid;
	uint64_t num_value;
	bool target;		/* it is an offset or freq of the monotonic clock */
	/* The parser. */
	unsigned int depth;
	bool clock_kw;		/* "clock" just seen at the top level */
	bool in_clock;
	bool clock_mono;
	enum md_stmt stmt;
	enum md_key key;
	struct lh_ctf_md_report *report;
	md_field_cb cb;
	void *arg;
};

static void scan_init(struct md_scan *s, struct lh_ctf_md_report *report, md_field_cb cb,
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

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void tok_add(struct md_scan *s, uint8_t c)
{
	if (s->tok_len + 1 < sizeof(s->tok)) {
		s->tok[s->tok_len++] = (char) c;
	} else {
		s->tok_long = true;
	}
}

static bool tok_is(const struct md_scan *s, const char *word)
{
	return !s->tok_long && s->tok_len == strlen(word) && !memcmp(s->tok, word, s->tok_len);
}

static enum md_key key_lookup(const struct md_scan *s)
{
	if (tok_is(s, "name")) {
		return KEY_NAME;
	}
	if (tok_is(s, "offset")) {
		return KEY_OFFSET;
	}
	if (tok_is(s, "freq")) {
		return KEY_FREQ;
	}
	return KEY_OTHER;
}

static bool in_clock_body(const struct md_scan *s)
{
	return s->in_clock && s->depth == 1;
}

/* An identifier or a string ended (the token is in s->tok). */
static void parse_word(struct md_scan *s, bool is_string)
{
	s->clock_kw = !is_string && s->depth == 0 && tok_is(s, "clock");
	if (s->clock_kw) {
		return;
	}
	if (!in_clock_body(s)) {
		return;
	}
	switch (s->stmt) {
	case STMT_NONE:
		s->key = is_string ? KEY_OTHER : key_lookup(s);
		s->stmt = STMT_KEY;
		break;
	case STMT_EQ:
		if (s->key == KEY_NAME && tok_is(s, "monotonic")) {
			s->clock_mono = true;
			s->report->clock_found = true;
		}
		s->stmt = STMT_VALUE;
		break;
	default:
		s->stmt = STMT_VALUE;
		break;
	}
}

static void parse_punct(struct md_scan *s, uint8_t c)
{
	bool clock_kw = s->clock_kw;

	s->clock_kw = false;
	switch (c) {
	case '{':
		s->depth++;
		if (clock_kw && s->depth == 1) {
			s->in_clock = true;
			s->clock_mono = false;
			s->stmt = STMT_NONE;
		}
		break;
	case '}':
		if (s->depth) {
			s->depth--;
		}
		if (s->depth == 0) {
			s->in_clock = false;
		}
		s->stmt = STMT_NONE;
		break;
	case '=':
		s->stmt = s->stmt == STMT_KEY ? STMT_EQ : STMT_VALUE;
		break;
	case ';':
		s->stmt = STMT_NONE;
		break;
	default:
		/* A sign or an expression: not a value we rewrite. */
		if (s->stmt == STMT_EQ && s->clock_mono && in_clock_body(s) &&
				(s->key == KEY_OFFSET || s->key == KEY_FREQ)) {
			s->report->left++;
		}
		s->stmt = STMT_VALUE;
		break;
	}
}

static void number_start(struct md_scan *s, uint8_t c, uint64_t pos)
{
	s->clock_kw = false;
	s->lex = LEX_NUMBER;
	s->target = s->stmt == STMT_EQ && s->clock_mono && in_clock_body(s) &&
		(s->key == KEY_OFFSET || s->key == KEY_FREQ);
	s->pos[0] = pos;
	s->nr_pos = 1;
	s->nr_digits = 1;
	s->num_valid = true;
	s->num_value = c - '0';
}

/* A digit, or a letter (0x1F, 10ULL): only plain decimals are rewritten. */
static void number_add(struct md_scan *s, uint8_t c, uint64_t pos)
{
	if (!is_digit(c) || s->nr_digits >= DIGITS_MAX || s->num_value == 0) {
		/* Letters, too many digits, or a leading zero (octal). */
		s->num_valid = false;
	} else if (s->num_value > (UINT64_MAX - (c - '0')) / 10) {
		s->num_valid = false;
	} else {
		s->num_value = s->num_value * 10 + (c - '0');
	}
	s->nr_digits++;
	if (s->nr_pos < FIELD_MAX) {
		s->pos[s->nr_pos++] = pos;
	} else {
		s->num_valid = false;
	}
}

/* Spaces after the digits belong to the field (room left by an earlier rewrite). */
static void number_space(struct md_scan *s, uint64_t pos)
{
	if (s->nr_pos < FIELD_MAX) {
		s->pos[s->nr_pos++] = pos;
	}
}

/* A character that would make one token with digits written just before it. */
static bool extends_number(uint8_t c)
{
	return is_ident_start(c) || is_digit(c) || c == '.';
}

/* The number ended; next is the character after it and its spaces. */
static void number_end(struct md_scan *s, uint8_t next)
{
	struct lh_ctf_md_report *r = s->report;
	bool apart = false;
	struct md_field field;

	/*
	 * Before a token that would extend the number, the last space is not
	 * the field's: a value as wide as the field would merge with that
	 * token, and the next fix would find another field ("10000000 0"
	 * must not become "9999999500"). A valid number has at most
	 * DIGITS_MAX digits, so that space is recorded.
	 */
	if (s->lex == LEX_NUMBER_SPACES && extends_number(next) && s->nr_pos > s->nr_digits) {
		s->nr_pos--;
		apart = true;
	}
	s->lex = LEX_TEXT;
	s->clock_kw = false;
	if (s->stmt == STMT_EQ) {
		s->stmt = STMT_VALUE;
	}
	if (!s->target) {
		return;
	}
	s->target = false;
	field = (struct md_field) {
		.key = s->key,
		.pos = s->pos,
		.nr_pos = s->nr_pos,
		.apart = apart,
		.valid = s->num_valid,
		.value = s->num_value,
	};
	if (field.valid && field.key == KEY_OFFSET && !r->has_offset) {
		r->has_offset = true;
		r->offset = field.value;
	} else if (field.valid && field.key == KEY_FREQ && !r->has_freq) {
		r->has_freq = true;
		r->freq = field.value;
	}
	if (!field.valid) {
		r->left++;
		return;
	}
	s->cb(s->arg, &field);
}

/* One byte of metadata text, at an opaque position. */
static void scan_byte(struct md_scan *s, uint8_t c, uint64_t pos)
{
	for (;;) {
		switch (s->lex) {
		case LEX_TEXT:
			if (c == '/') {
				s->lex = LEX_SLASH;
			} else if (c == '"') {
				s->lex = LEX_STRING;
				s->tok_len = 0;
				s->tok_long = false;
			} else if (is_ident_start(c)) {
				s->lex = LEX_IDENT;
				s->tok_len = 0;
				s->tok_long = false;
				tok_add(s, c);
			} else if (is_digit(c)) {
				number_start(s, c, pos);
			} else if (!is_space(c)) {
				parse_punct(s, c);
			}
			return;
		case LEX_SLASH:
			if (c == '*') {
				s->lex = LEX_BLOCK_COMMENT;
				return;
			}
			if (c == '/') {
				s->lex = LEX_LINE_COMMENT;
				return;
			}
			s->lex = LEX_TEXT;
			parse_punct(s, '/');
			continue;
		case LEX_LINE_COMMENT:
			if (c == '\n') {
				s->lex = LEX_TEXT;
			}
			return;
		case LEX_BLOCK_COMMENT:
			if (c == '*') {
				s->lex = LEX_BLOCK_STAR;
			}
			return;
		case LEX_BLOCK_STAR:
			if (c == '/') {
				s->lex = LEX_TEXT;
			} else if (c != '*') {
				s->lex = LEX_BLOCK_COMMENT;
			}
			return;
		case LEX_STRING:
			if (c == '"') {
				s->lex = LEX_TEXT;
				parse_word(s, true);
				return;
			}
			if (c == '\\') {
				s->lex = LEX_STRING_ESC;
			}
			tok_add(s, c);
			return;
		case LEX_STRING_ESC:
			s->lex = LEX_STRING;
			tok_add(s, c);
			return;
		case LEX_IDENT:
			if (is_ident_start(c) || is_digit(c)) {
				tok_add(s, c);
				return;
			}
			s->lex = LEX_TEXT;
			parse_word(s, false);
			continue;
		case LEX_NUMBER:
			if (is_ident_start(c) || is_digit(c)) {
				number_add(s, c, pos);
				return;
			}
			if (c == ' ') {
				s->lex = LEX_NUMBER_SPACES;
				number_space(s, pos);
				return;
			}
			number_end(s, c);
			continue;
		case LEX_NUMBER_SPACES:
			if (c == ' ') {
				number_space(s, pos);
				return;
			}
			number_end(s, c);
			continue;
		}
	}
}

/* A field to rewrite is open: its end decides how. */
static bool scan_in_field(const struct md_scan *s)
{
	return s->target && (s->lex == LEX_NUMBER || s->lex == LEX_NUMBER_SPACES);
}

/* The trace's byte order, from the magic. Returns -1 if it is no metadata packet. */
static int packet_byte_order(const uint8_t *hdr, bool *big_endian)
{
	if (lh_get_u32(hdr, true) == PKT_MAGIC) {
		*big_endian = true;
		return 0;
	}
	if (lh_get_u32(hdr, false) == PKT_MAGIC) {
		*big_endian = false;
		return 0;
	}
	return -1;
}

/* Check a whole header; sizes in bytes. */
static int packet_sizes(const uint8_t *hdr, bool *big_endian, uint64_t *content,
		uint64_t *packet)
{
	uint32_t cs, ps;

	if (packet_byte_order(hdr, big_endian) < 0) {
		return -1;
	}
	cs = lh_get_u32(hdr + PKT_OFF_CONTENT_SIZE, *big_endian);
	ps = lh_get_u32(hdr + PKT_OFF_PACKET_SIZE, *big_endian);
	if (cs % 8 || ps % 8 || cs < PKT_HDR_LEN * 8 || ps < cs || ps / 8 > MD_MAX_SIZE) {
		return -1;
	}
	*content = cs / 8;
	*packet = ps / 8;
	return 0;
}

/* The field's new text: the value's digits, then spaces up to width. */
static size_t field_text(const struct lh_ctf_md_values *v, const struct md_field *f,
		char *text, size_t *digits)
{
	uint64_t value = f->value;
	int n;

	if (f->key == KEY_OFFSET && v->set_offset) {
		value = v->offset;
	} else if (f->key == KEY_FREQ && v->set_freq) {
		value = v->freq;
	}
	n = snprintf(text, FIELD_MAX + 1, "%" PRIu64, value);
	*digits = (size_t) n;
	return (size_t) n;
}

static bool field_changes(const struct lh_ctf_md_values *v, const struct md_field *f)
{
	return (f->key == KEY_OFFSET && v->set_offset) || (f->key == KEY_FREQ && v->set_freq);
}

/* --- the streaming rewriter ------------------------------------------- */

struct held_msg {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t base;		/* index in the message of data[0]: the bytes before went out */
	uint32_t padding;
	uint32_t seq;
};

enum pk_state {
	PK_HEADER,
	PK_CONTENT,
	PK_PADDING,
	PK_BROKEN,
};

struct lh_ctf_md_rewriter {
	struct md_scan scan;
	struct lh_ctf_md_report report;
	struct lh_ctf_md_values values;
	bool has_values;
	/* Messages not emitted yet, oldest first; the last is being walked. */
	struct held_msg held[HELD_MAX + 1];
	size_t nr_held;
	uint32_t next_seq;
	/* The current packet. */
	enum pk_state pk;
	uint8_t hdr[PKT_HDR_LEN];
	size_t hdr_have;
	bool big_endian;
	uint32_t hdr_seq;	/* where its header is, if in one message */
	size_t hdr_off;
	bool hdr_split;
	uint32_t content_bits;
	uint64_t content_left;
	uint64_t padding_left;
	uint64_t pad_debt;	/* padding bytes to drop: the content grew */
	/*
	 * The stream broke inside a packet that grew: the rest of the packet
	 * passes unscanned, its padding still pays pad_debt, then PK_BROKEN.
	 */
	bool settle;
	/* The byte being scanned: insertions go before it. */
	size_t cur;
};

static uint64_t msg_pos(uint32_t seq, size_t i)
{
	return ((uint64_t) seq << 32) | (uint32_t) i;
}

static struct held_msg *held_find(struct lh_ctf_md_rewriter *rw, uint32_t seq)
{
	size_t i;

	for (i = 0; i < rw->nr_held; i++) {
		if (rw->held[i].seq == seq) {
			return &rw->held[i];
		}
	}
	return NULL;
}

/* Where the byte at pos is held, or NULL if it went out already. */
static uint8_t *held_byte(struct lh_ctf_md_rewriter *rw, uint64_t pos)
{
	struct held_msg *m = held_find(rw, (uint32_t) (pos >> 32));
	size_t i = (uint32_t) pos;

	if (!m || i < m->base || i - m->base >= m->len) {
		return NULL;
	}
	return m->data + (i - m->base);
}

static struct held_msg *cur_msg(struct lh_ctf_md_rewriter *rw)
{
	return &rw->held[rw->nr_held - 1];
}

static uint64_t hdr_pos(const struct lh_ctf_md_rewriter *rw)
{
	return msg_pos(rw->hdr_seq, rw->hdr_off);
}

static bool rw_can_grow(struct lh_ctf_md_rewriter *rw, size_t k)
{
	return rw->pk == PK_CONTENT && !rw->hdr_split && held_byte(rw, hdr_pos(rw)) &&
		rw->padding_left - rw->pad_debt >= k;
}

/* Insert text before the current byte; the packet's padding pays for it. */
static int rw_insert(struct lh_ctf_md_rewriter *rw, const char *text, size_t k)
{
	struct held_msg *m = cur_msg(rw);

	if (m->len + k > m->cap) {
		uint8_t *p = realloc(m->data, m->len + k);

		if (!p) {
			return -1;
		}
		m->data = p;
		m->cap = m->len + k;
	}
	memmove(m->data + rw->cur + k, m->data + rw->cur, m->len - rw->cur);
	memcpy(m->data + rw->cur, text, k);
	m->len += k;
	rw->cur += k;
	rw->pad_debt += k;
	rw->content_bits += (uint32_t) (8 * k);
	/* After the realloc: the header may be in this message. */
	lh_put_u32(held_byte(rw, hdr_pos(rw)) + PKT_OFF_CONTENT_SIZE, rw->content_bits,
		rw->big_endian);
	return 0;
}

static void rw_field(void *arg, const struct md_field *f)
{
	struct lh_ctf_md_rewriter *rw = arg;
	char text[FIELD_MAX + 1];
	size_t digits, want, i;
	size_t grow = 0;

	if (!rw->has_values) {
		return;
	}
	field_text(&rw->values, f, text, &digits);
	want = digits > rw->values.min_width ? digits : rw->values.min_width;
	if (want > FIELD_MAX) {
		want = FIELD_MAX;
	}
	for (i = 0; i < f->nr_pos; i++) {
		if (!held_byte(rw, f->pos[i])) {
			/* Its start was emitted already (flushed, or given up). */
			rw->report.left++;
			return;
		}
	}
	if (want > f->nr_pos) {
		/* Apart from the next token, bytes inserted here would follow the space. */
		if (!f->apart && rw_can_grow(rw, want - f->nr_pos)) {
			grow = want - f->nr_pos;
		} else if (digits <= f->nr_pos) {
			want = f->nr_pos;
		} else {
			rw->report.left++;
			return;
		}
	} else {
		want = f->nr_pos;
	}
	memset(text + digits, ' ', want - digits);
	if (grow && rw_insert(rw, text + f->nr_pos, grow) < 0) {
		rw->report.left++;
		return;
	}
	for (i = 0; i < f->nr_pos; i++) {
		*held_byte(rw, f->pos[i]) = (uint8_t) text[i];
	}
	if (field_changes(&rw->values, f)) {
		rw->report.rewritten++;
	}
}

struct lh_ctf_md_rewriter *lh_ctf_md_rewriter_create(void)
{
	struct lh_ctf_md_rewriter *rw = calloc(1, sizeof(*rw));

	if (!rw) {
		return NULL;
	}
	scan_init(&rw->scan, &rw->report, rw_field, rw);
	return rw;
}

static void held_drop_all(struct lh_ctf_md_rewriter *rw)
{
	size_t i;

	for (i = 0; i < rw->nr_held; i++) {
		free(rw->held[i].data);
	}
	rw->nr_held = 0;
}

size_t lh_ctf_md_rewriter_footprint(void)
{
	return sizeof(struct lh_ctf_md_rewriter) + LH_CTF_MD_HOLD_MAX;
}

void lh_ctf_md_rewriter_destroy(struct lh_ctf_md_rewriter *rw)
{
	if (!rw) {
		return;
	}
	held_drop_all(rw);
	free(rw);
}

void lh_ctf_md_rewriter_set_values(struct lh_ctf_md_rewriter *rw,
		const struct lh_ctf_md_values *values)
{
	rw->has_values = values != NULL;
	if (values) {
		rw->values = *values;
	}
}

static void rw_broken(struct lh_ctf_md_rewriter *rw)
{
	rw->report.bad_packet = true;
	/*
	 * Bytes were inserted in this packet and its content_size says so:
	 * stopping here would leave it that much longer than its packet_size,
	 * and shift every packet after it. So its padding still pays for them.
	 */
	if (rw->pk == PK_CONTENT && rw->pad_debt) {
		rw->settle = true;
		return;
	}
	rw->pk = PK_BROKEN;
}

/* The current packet's content ended. */
static void rw_content_end(struct lh_ctf_md_rewriter *rw)
{
	if (rw->padding_left) {
		rw->pk = PK_PADDING;
	} else {
		rw->pk = rw->settle ? PK_BROKEN : PK_HEADER;
	}
}

static void rw_header_done(struct lh_ctf_md_rewriter *rw)
{
	uint64_t content, packet;

	if (packet_sizes(rw->hdr, &rw->big_endian, &content, &packet) < 0) {
		rw_broken(rw);
		return;
	}
	rw->content_bits = (uint32_t) (content * 8);
	rw->content_left = content - PKT_HDR_LEN;
	rw->padding_left = packet - content;
	rw->pad_debt = 0;
	rw->hdr_have = 0;
	if (rw->content_left) {
		rw->pk = PK_CONTENT;
	} else if (rw->padding_left) {
		rw->pk = PK_PADDING;
	} else {
		rw->pk = PK_HEADER;
	}
}

/* Walk the last held message: packet structure, text, padding. */
static void rw_walk(struct lh_ctf_md_rewriter *rw)
{
	struct held_msg *m = cur_msg(rw);
	uint64_t zeros;
	size_t i = 0;

	while (i < m->len && rw->pk != PK_BROKEN) {
		size_t n;

		switch (rw->pk) {
		case PK_HEADER:
			if (!rw->hdr_have) {
				rw->hdr_seq = m->seq;
				rw->hdr_off = i;
				rw->hdr_split = false;
			} else if (rw->hdr_seq != m->seq) {
				rw->hdr_split = true;
			}
			rw->hdr[rw->hdr_have++] = m->data[i++];
			if (rw->hdr_have == PKT_HDR_LEN) {
				rw_header_done(rw);
			}
			break;
		case PK_CONTENT:
			if (rw->settle) {
				n = m->len - i;
				if (n > rw->content_left) {
					n = (size_t) rw->content_left;
				}
				i += n;
				rw->content_left -= n;
			} else {
				rw->cur = i;
				scan_byte(&rw->scan, m->data[i], msg_pos(m->seq, i));
				i = rw->cur + 1;
				rw->content_left--;
			}
			if (!rw->content_left) {
				rw_content_end(rw);
			}
			break;
		case PK_PADDING:
			n = m->len - i;
			if (n > rw->padding_left) {
				n = (size_t) rw->padding_left;
			}
			if (rw->pad_debt) {
				size_t drop = n < rw->pad_debt ? n : (size_t) rw->pad_debt;

				memmove(m->data + i, m->data + i + drop, m->len - i - drop);
				m->len -= drop;
				rw->pad_debt -= drop;
				rw->padding_left -= drop;
				n -= drop;
			}
			i += n;
			rw->padding_left -= n;
			if (!rw->padding_left) {
				rw->pk = rw->settle ? PK_BROKEN : PK_HEADER;
			}
			break;
		case PK_BROKEN:
			break;
		}
	}
	/* The zeros lttng-relayd appends can only be a packet's padding. */
	zeros = m->padding;
	while (zeros && rw->pk != PK_BROKEN) {
		uint64_t n, drop;

		if (rw->pk == PK_HEADER || (rw->pk == PK_CONTENT && !rw->settle)) {
			rw_broken(rw);
			continue;
		}
		if (rw->pk == PK_CONTENT) {
			n = zeros < rw->content_left ? zeros : rw->content_left;
			rw->content_left -= n;
			zeros -= n;
			if (!rw->content_left) {
				rw_content_end(rw);
			}
			continue;
		}
		n = zeros < rw->padding_left ? zeros : rw->padding_left;
		drop = n < rw->pad_debt ? n : rw->pad_debt;
		m->padding -= (uint32_t) drop;
		rw->pad_debt -= drop;
		rw->padding_left -= n;
		zeros -= n;
		if (!rw->padding_left) {
			rw->pk = rw->settle ? PK_BROKEN : PK_HEADER;
		}
	}
}

static int rw_emit_all(struct lh_ctf_md_rewriter *rw, lh_ctf_md_emit_cb emit, void *arg)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < rw->nr_held && !ret; i++) {
		ret = emit(arg, rw->held[i].data, rw->held[i].len, rw->held[i].padding);
	}
	held_drop_all(rw);
	return ret;
}

/* Whether to hold the field open at the end of the message: it may yet be rewritten. */
static bool rw_worth_holding(struct lh_ctf_md_rewriter *rw)
{
	const struct md_scan *s = &rw->scan;

	return scan_in_field(s) && s->num_valid && rw->pk != PK_BROKEN && !rw->settle &&
		held_byte(rw, s->pos[0]);
}

/* Bytes held from pos (a held byte) on. */
static size_t held_from(struct lh_ctf_md_rewriter *rw, uint64_t pos)
{
	size_t i = 0, n;

	while (rw->held[i].seq != (uint32_t) (pos >> 32)) {
		i++;
	}
	n = rw->held[i].len - ((uint32_t) pos - rw->held[i].base);
	for (i++; i < rw->nr_held; i++) {
		n += rw->held[i].len;
	}
	return n;
}

/* Emit what is held before pos (a held byte); the zeros stay after the rest. */
static int rw_emit_before(struct lh_ctf_md_rewriter *rw, uint64_t pos, lh_ctf_md_emit_cb emit,
		void *arg)
{
	struct held_msg *m;
	size_t i, cut;
	uint8_t *p;

	for (i = 0; rw->held[i].seq != (uint32_t) (pos >> 32); i++) {
		if (emit(arg, rw->held[i].data, rw->held[i].len, rw->held[i].padding) < 0) {
			held_drop_all(rw);
			return -1;
		}
	}
	for (cut = 0; cut < i; cut++) {
		free(rw->held[cut].data);
	}
	memmove(rw->held, rw->held + i, (rw->nr_held - i) * sizeof(rw->held[0]));
	rw->nr_held -= i;
	m = &rw->held[0];
	cut = (uint32_t) pos - m->base;
	if (!cut) {
		return 0;
	}
	if (emit(arg, m->data, cut, 0) < 0) {
		held_drop_all(rw);
		return -1;
	}
	memmove(m->data, m->data + cut, m->len - cut);
	m->len -= cut;
	m->base += cut;
	p = realloc(m->data, m->len ? m->len : 1);
	if (p) {
		m->data = p;
		m->cap = m->len;
	}
	return 0;
}

/*
 * A field straddles the end of the message. Only its characters need
 * holding (at most FIELD_MAX, with the packet headers between them if
 * it straddles packets), and the packet's header if it is to grow: all
 * before goes out now, as a message of its own, and the rest is held
 * only while it fits in LH_CTF_MD_HOLD_MAX. Otherwise no honest value
 * is that long: it is given up. So a guest that never ends a value
 * makes the relay hold no more than that per metadata stream (the
 * bytes held are out of the connection's queue: flow control does not
 * count them).
 */
static int rw_hold(struct lh_ctf_md_rewriter *rw, lh_ctf_md_emit_cb emit, void *arg)
{
	uint64_t keep = rw->scan.pos[0];

	if (rw->pk == PK_CONTENT && !rw->hdr_split && hdr_pos(rw) < keep &&
			held_byte(rw, hdr_pos(rw)) &&
			held_from(rw, hdr_pos(rw)) <= LH_CTF_MD_HOLD_MAX) {
		keep = hdr_pos(rw);
	}
	if (held_from(rw, keep) > LH_CTF_MD_HOLD_MAX) {
		return rw_emit_all(rw, emit, arg);
	}
	return rw_emit_before(rw, keep, emit, arg);
}

int lh_ctf_md_rewriter_feed(struct lh_ctf_md_rewriter *rw, const uint8_t *data,
		size_t len, uint32_t padding, lh_ctf_md_emit_cb emit, void *arg)
{
	struct held_msg *m;

	if (rw->nr_held == HELD_MAX && rw_emit_all(rw, emit, arg) < 0) {
		return -1;
	}
	m = &rw->held[rw->nr_held];
	*m = (struct held_msg) {
		.data = malloc(len ? len : 1),
		.len = len,
		.cap = len,
		.padding = padding,
		.seq = rw->next_seq++,
	};
	if (!m->data) {
		return -1;
	}
	memcpy(m->data, data, len);
	rw->nr_held++;
	rw_walk(rw);
	if (rw_worth_holding(rw)) {
		return rw_hold(rw, emit, arg);
	}
	return rw_emit_all(rw, emit, arg);
}

int lh_ctf_md_rewriter_flush(struct lh_ctf_md_rewriter *rw, lh_ctf_md_emit_cb emit,
		void *arg)
{
	return rw_emit_all(rw, emit, arg);
}

bool lh_ctf_md_rewriter_holding(const struct lh_ctf_md_rewriter *rw)
{
	return rw->nr_held != 0;
}

void lh_ctf_md_rewriter_reset(struct lh_ctf_md_rewriter *rw)
{
	scan_init(&rw->scan, &rw->report, rw_field, rw);
	rw->pk = PK_HEADER;
	rw->hdr_have = 0;
	rw->pad_debt = 0;
	rw->settle = false;
}

const struct lh_ctf_md_report *lh_ctf_md_rewriter_report(const struct lh_ctf_md_rewriter *rw)
{
	return &rw->report;
}

/* --- the in-place file fixer ------------------------------------------ */

struct fix_ctx {
	uint8_t *buf;
	const struct lh_ctf_md_values *values;
	struct lh_ctf_md_report *report;
	uint64_t dirty_lo, dirty_hi;	/* [lo, hi) rewritten */
};

static void fix_field(void *arg, const struct md_field *f)
{
	struct fix_ctx *fx = arg;
	char text[FIELD_MAX + 1];
	size_t digits, i;

	if (!fx->values) {
		return;
	}
	field_text(fx->values, f, text, &digits);
	if (digits > f->nr_pos) {
		fx->report->left++;
		return;
	}
	memset(text + digits, ' ', f->nr_pos - digits);
	for (i = 0; i < f->nr_pos; i++) {
		fx->buf[f->pos[i]] = (uint8_t) text[i];
		if (f->pos[i] < fx->dirty_lo) {
			fx->dirty_lo = f->pos[i];
		}
		if (f->pos[i] + 1 > fx->dirty_hi) {
			fx->dirty_hi = f->pos[i] + 1;
		}
	}
	if (field_changes(fx->values, f)) {
		fx->report->rewritten++;
	}
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t) done);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		done += (size_t) n;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -1;
		}
		buf += n;
		len -= (size_t) n;
		off += n;
	}
	return 0;
}

/* Scan the text of every packet. Returns -1 (EINVAL) on a malformed packet. */
static int fix_scan(struct md_scan *s, const uint8_t *buf, size_t size)
{
	bool big_endian;
	size_t off = 0;

	if (size < 4 || packet_byte_order(buf, &big_endian) < 0) {
		/* Plain TSDL text, as lttng writes it to a local trace without a relay. */
		for (off = 0; off < size; off++) {
			scan_byte(s, buf[off], off);
		}
		return 0;
	}
	while (off < size) {
		uint64_t content, packet, i;

		if (size - off < PKT_HDR_LEN ||
				packet_sizes(buf + off, &big_endian, &content, &packet) < 0 ||
				content > size - off) {
			s->report->bad_packet = true;
			errno = EINVAL;
			return -1;
		}
		for (i = PKT_HDR_LEN; i < content; i++) {
			scan_byte(s, buf[off + i], off + i);
		}
		if (packet > size - off) {
			break;
		}
		off += packet;
	}
	return 0;
}

int lh_ctf_md_fix_fd(int fd, const struct lh_ctf_md_values *values,
		struct lh_ctf_md_report *report)
{
	struct fix_ctx fx = { .values = values, .report = report, .dirty_lo = UINT64_MAX };
	struct md_scan scan;
	struct stat st;
	size_t size;
	int ret = -1;

	memset(report, 0, sizeof(*report));
	if (fstat(fd, &st) < 0) {
		return -1;
	}
	if (st.st_size > MD_MAX_SIZE) {
		errno = EFBIG;
		return -1;
	}
	size = (size_t) st.st_size;
	fx.buf = malloc(size ? size : 1);
	if (!fx.buf) {
		return -1;
	}
	if (read_all(fd, fx.buf, size) < 0) {
		goto end;
	}
	scan_init(&scan, report, fix_field, &fx);
	if (fix_scan(&scan, fx.buf, size) < 0) {
		goto end;
	}
	if (fx.dirty_hi > fx.dirty_lo) {
		if (write_all(fd, fx.buf + fx.dirty_lo, fx.dirty_hi - fx.dirty_lo,
				(off_t) fx.dirty_lo) < 0 || fsync(fd) < 0) {
			goto end;
		}
	}
	ret = 0;
end:
	free(fx.buf);
	return ret;
}
