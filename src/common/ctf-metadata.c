/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The streaming rewriter of a metadata stream's clock (ctf-metadata.h).
 * It holds each message (ctf-metadata-held.h) while it walks it: through
 * the packet structure for a packetized stream, straight for plain text,
 * handing the text bytes to the scanner of the stream's syntax
 * (ctf-metadata-scan.h), which calls back on every clock field.
 */
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/ctf-metadata-held.h"
#include "common/ctf-metadata-packet.h"
#include "common/ctf-metadata-scan.h"

/*
 * lttng-relayd writes a plain stream's padding as zeros in its text. Past
 * the longest token a scanner keeps, more zeros change nothing in it.
 */
#define PAD_SCAN_MAX		(MD_TOKEN_MAX + 2)

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
	struct md_held held;
	/* A plain stream's bytes scanned, and what its fields grew by. */
	uint64_t scanned;
	uint64_t grown;
	/* The current packet. */
	enum pk_state pk;
	uint8_t hdr[MD_PKT_HDR_LEN];
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
	/* The index in the last message of the byte being scanned: insertions go before it. */
	size_t cur;
};

static bool rw_plain(const struct lh_ctf_md_rewriter *rw)
{
	return rw->scan.form == LH_CTF_MD_FORM_TSDL || rw->scan.form == LH_CTF_MD_FORM_CTF2;
}

static uint64_t hdr_pos(const struct lh_ctf_md_rewriter *rw)
{
	return md_held_pos(rw->hdr_seq, rw->hdr_off);
}

static bool rw_can_grow(struct lh_ctf_md_rewriter *rw, const struct md_field *f, size_t k)
{
	if (rw_plain(rw)) {
		return rw->grown + k <= LH_CTF_MD_GROW_SLACK + rw->scanned / 4;
	}
	/* Bytes inserted here would follow a space that keeps the field apart. */
	return !f->apart && rw->pk == PK_CONTENT && !rw->hdr_split &&
		md_held_byte(&rw->held, hdr_pos(rw)) && rw->padding_left - rw->pad_debt >= k;
}

/*
 * Insert text, k bytes of the field's new text: right after the field in
 * a plain stream; in a packet before the current byte (the packet's
 * padding pays for them, and content_size says so).
 */
static int rw_grow(struct lh_ctf_md_rewriter *rw, const struct md_field *f, const char *text,
		size_t k)
{
	struct md_held_msg *m = md_held_last(&rw->held);
	uint64_t at;

	if (rw_plain(rw)) {
		at = f->pos[f->nr_pos - 1] + 1;
		if (md_held_insert(&rw->held, at, text, k) < 0) {
			return -1;
		}
		if ((uint32_t) (at >> 32) == m->seq && (uint32_t) at - m->base <= rw->cur) {
			rw->cur += k;
		}
		rw->grown += k;
		return 0;
	}
	if (md_held_insert(&rw->held, md_held_pos(m->seq, m->base + rw->cur), text, k) < 0) {
		return -1;
	}
	rw->cur += k;
	rw->pad_debt += k;
	rw->content_bits += (uint32_t) (8 * k);
	/* After the insertion: the header may be in this message. */
	lh_put_u32(md_held_byte(&rw->held, hdr_pos(rw)) + MD_PKT_OFF_CONTENT_SIZE,
		rw->content_bits, rw->big_endian);
	return 0;
}

static enum md_field_result rw_field(void *arg, const struct md_field *f)
{
	struct lh_ctf_md_rewriter *rw = arg;
	char text[MD_FIELD_MAX + 1];
	size_t digits, want, i;
	size_t grow = 0;
	bool changes;

	if (!rw->has_values) {
		return MD_FIELD_KEPT;
	}
	digits = md_field_text(&rw->values, f, text, &changes);
	if (!digits) {
		return MD_FIELD_LEFT;
	}
	want = digits > rw->values.min_width ? digits : rw->values.min_width;
	if (want > MD_FIELD_MAX) {
		want = MD_FIELD_MAX;
	}
	for (i = 0; i < f->nr_pos; i++) {
		if (!md_held_byte(&rw->held, f->pos[i])) {
			/* Its start was emitted already (flushed, or given up). */
			return MD_FIELD_LEFT;
		}
	}
	if (want > f->nr_pos) {
		if (rw_can_grow(rw, f, want - f->nr_pos)) {
			grow = want - f->nr_pos;
		} else if (digits <= f->nr_pos) {
			want = f->nr_pos;
		} else {
			return MD_FIELD_LEFT;
		}
	} else {
		want = f->nr_pos;
	}
	memset(text + digits, ' ', want - digits);
	if (grow && rw_grow(rw, f, text + f->nr_pos, grow) < 0) {
		return MD_FIELD_LEFT;
	}
	for (i = 0; i < f->nr_pos; i++) {
		*md_held_byte(&rw->held, f->pos[i]) = (uint8_t) text[i];
	}
	return changes ? MD_FIELD_CHANGED : MD_FIELD_KEPT;
}

struct lh_ctf_md_rewriter *lh_ctf_md_rewriter_create(void)
{
	return calloc(1, sizeof(struct lh_ctf_md_rewriter));
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
	md_held_drop_all(&rw->held);
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

/* The stream's form, from its first bytes: data, or zeros. */
static void rw_detect(struct lh_ctf_md_rewriter *rw, const uint8_t *data, size_t len,
		uint32_t padding)
{
	enum lh_ctf_md_form form = md_form_detect(data, len, true);

	if (form == LH_CTF_MD_FORM_UNKNOWN && padding) {
		form = LH_CTF_MD_FORM_TSDL;
	}
	if (form == LH_CTF_MD_FORM_UNKNOWN) {
		return;
	}
	md_scan_init(&rw->scan, form, &rw->report, rw_field, rw);
	rw->report.form = form;
}

/* --- packetized streams ----------------------------------------------- */

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

	if (md_packet_sizes(rw->hdr, &rw->big_endian, &content, &packet) < 0) {
		rw_broken(rw);
		return;
	}
	rw->content_bits = (uint32_t) (content * 8);
	rw->content_left = content - MD_PKT_HDR_LEN;
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

/* The zeros lttng-relayd appends after the last message can only be a packet's padding. */
static void rw_walk_zeros(struct lh_ctf_md_rewriter *rw, struct md_held_msg *m)
{
	uint64_t zeros = m->padding;

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

/* Walk the last held message: packet structure, text, padding. */
static void rw_walk_packets(struct lh_ctf_md_rewriter *rw)
{
	struct md_held_msg *m = md_held_last(&rw->held);
	size_t i = 0;

	while (i < m->len && rw->pk != PK_BROKEN) {
		size_t n;

		switch (rw->pk) {
		case PK_HEADER:
			if (!rw->hdr_have) {
				rw->hdr_seq = m->seq;
				rw->hdr_off = m->base + i;
				rw->hdr_split = false;
			} else if (rw->hdr_seq != m->seq) {
				rw->hdr_split = true;
			}
			rw->hdr[rw->hdr_have++] = m->data[i++];
			if (rw->hdr_have == MD_PKT_HDR_LEN) {
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
				md_scan_byte(&rw->scan, m->data[i], md_held_pos(m->seq, m->base + i));
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
	rw_walk_zeros(rw, m);
}

/* --- plain streams ---------------------------------------------------- */

/* Walk the last held message from index from on: all of it is text. */
static void rw_walk_plain(struct lh_ctf_md_rewriter *rw, size_t from)
{
	struct md_held_msg *m = md_held_last(&rw->held);
	uint32_t zeros = m->padding < PAD_SCAN_MAX ? m->padding : PAD_SCAN_MAX;
	size_t i;

	for (i = from; i < m->len; i = rw->cur + 1) {
		rw->cur = i;
		md_scan_byte(&rw->scan, m->data[i], md_held_pos(m->seq, m->base + i));
		rw->scanned++;
	}
	/* The zeros are no field's, so their position is none. */
	rw->cur = m->len;
	while (zeros--) {
		md_scan_byte(&rw->scan, 0, md_held_pos(m->seq, UINT32_MAX));
	}
}

/* --- holding and emitting --------------------------------------------- */

/* Whether to hold the field open at the end of the message (from pos): it may yet be rewritten. */
static bool rw_worth_holding(struct lh_ctf_md_rewriter *rw, uint64_t *pos)
{
	if (!md_scan_open_field(&rw->scan, pos)) {
		return false;
	}
	if (rw->scan.form == LH_CTF_MD_FORM_PACKETIZED && (rw->pk == PK_BROKEN || rw->settle)) {
		return false;
	}
	return md_held_byte(&rw->held, *pos) != NULL;
}

/*
 * A field straddles the end of the message. Only its characters need
 * holding (at most MD_FIELD_MAX, with the packet headers between them if
 * it straddles packets; in CTF 2 the few members up to the clock's name),
 * and the packet's header if it is to grow: all before goes out now, as
 * a message of its own, and the rest is held only while it fits in
 * LH_CTF_MD_HOLD_MAX. Otherwise no honest value is that long: it is
 * given up. So a guest that never ends a value makes the relay hold no
 * more than that per metadata stream (the bytes held are out of the
 * connection's queue: flow control does not count them).
 */
static int rw_hold(struct lh_ctf_md_rewriter *rw, uint64_t keep, lh_ctf_md_emit_cb emit,
		void *arg)
{
	if (rw->scan.form == LH_CTF_MD_FORM_PACKETIZED && rw->pk == PK_CONTENT &&
			!rw->hdr_split && hdr_pos(rw) < keep &&
			md_held_byte(&rw->held, hdr_pos(rw)) &&
			md_held_from(&rw->held, hdr_pos(rw)) <= LH_CTF_MD_HOLD_MAX) {
		keep = hdr_pos(rw);
	}
	if (md_held_from(&rw->held, keep) > LH_CTF_MD_HOLD_MAX) {
		return md_held_emit_all(&rw->held, emit, arg);
	}
	return md_held_emit_before(&rw->held, keep, emit, arg);
}

int lh_ctf_md_rewriter_feed(struct lh_ctf_md_rewriter *rw, const uint8_t *data,
		size_t len, uint32_t padding, lh_ctf_md_emit_cb emit, void *arg)
{
	uint64_t keep;
	size_t from = 0;

	if (rw->scan.form == LH_CTF_MD_FORM_UNKNOWN) {
		rw_detect(rw, data, len, padding);
	}
	if (rw_plain(rw) && md_held_can_join(&rw->held, len)) {
		from = md_held_last(&rw->held)->len;
		if (md_held_join(&rw->held, data, len, padding) < 0) {
			return -1;
		}
	} else if (md_held_push(&rw->held, data, len, padding, emit, arg) < 0) {
		return -1;
	}
	if (rw->scan.form == LH_CTF_MD_FORM_PACKETIZED) {
		rw_walk_packets(rw);
	} else if (rw_plain(rw)) {
		rw_walk_plain(rw, from);
	}
	if (rw_worth_holding(rw, &keep)) {
		return rw_hold(rw, keep, emit, arg);
	}
	return md_held_emit_all(&rw->held, emit, arg);
}

int lh_ctf_md_rewriter_flush(struct lh_ctf_md_rewriter *rw, lh_ctf_md_emit_cb emit,
		void *arg)
{
	return md_held_emit_all(&rw->held, emit, arg);
}

bool lh_ctf_md_rewriter_holding(const struct lh_ctf_md_rewriter *rw)
{
	return rw->held.nr != 0;
}

void lh_ctf_md_rewriter_reset(struct lh_ctf_md_rewriter *rw)
{
	/* The form is told again from the new first bytes. */
	md_scan_init(&rw->scan, LH_CTF_MD_FORM_UNKNOWN, &rw->report, rw_field, rw);
	rw->pk = PK_HEADER;
	rw->hdr_have = 0;
	rw->pad_debt = 0;
	rw->settle = false;
}

const struct lh_ctf_md_report *lh_ctf_md_rewriter_report(const struct lh_ctf_md_rewriter *rw)
{
	return &rw->report;
}
