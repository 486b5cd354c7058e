/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the streaming rewriter of CTF metadata
 * (lh_ctf_md_rewriter_*, src/common/ctf-metadata.h), fed SEND_METADATA
 * payloads as filter.c feeds it, then the in-place fixer on what
 * lttng-relayd would have written from its output.
 *
 * Input: a flags byte, then the offset and freq picked from a table (one
 * byte each), then
 *   - structured (flags bits 4 and 7 clear): TSDL text that this target
 *     makes into well-formed metadata packets. Byte 0xff ends a packet,
 *     the next byte being its padding size; 0xfe cuts the message there.
 *     So every input is a valid stream, cut anywhere, whatever the text;
 *   - plain (bit 7 set, bit 4 clear): text sent as it is, as lttng 2.14
 *     and later send it, TSDL or CTF 2 (first byte 0x1e); 0xfe cuts the
 *     message there;
 *   - raw (bit 4 set): messages as u16 length (bit 15: flush first),
 *     u16 padding (bit 15: reset the stream first, as RESET_METADATA
 *     does; 12 bits of padding_size), then the bytes.
 * Flags: bit 0 big-endian packets, bits 1 and 2 set the offset and the
 * freq, bit 3 a minimum width of 20, bit 5 padding sent as zeros in the
 * message rather than counted in its padding_size, bit 6 no values (find
 * and report only).
 *
 * Invariants, on a well-formed packetized stream: it keeps its size and
 * its packet sizes, every packet's header but content_size is kept,
 * content_size grows only into the padding, the text changes only in
 * digits and spaces, and no packet is reported bad. On a plain stream:
 * the text changes only in digits and spaces, grows by at most a quarter
 * plus LH_CTF_MD_GROW_SLACK, and is the same as when sent whole unless a
 * field was given up for holding too much; if sent whole it left nothing,
 * the final fix leaves nothing either. On any stream: fixing the output
 * twice equals fixing it once (fuzz-ctf.h).
 */
#include "common/bytes.h"
#include "tests/fuzz/fuzz-ctf.h"

#define PKT_MAGIC		0x75D11D57U
#define PKT_HDR_LEN		37
#define PKT_OFF_CONTENT_SIZE	24
#define PKT_OFF_PACKET_SIZE	28
#define MARK_PACKET		0xff
#define MARK_CUT		0xfe
/* Padding of the last packet, which has no end mark. */
#define LAST_PADDING		64
#define MAX_PACKETS		256
#define MAX_MSGS		1024

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *p, size_t len, bool zeros)
{
	if (!len) {
		return;
	}
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;

		b->p = realloc(b->p, cap);
		FUZZ_CHECK(b->p, "out of memory");
		b->cap = cap;
	}
	if (zeros) {
		memset(b->p + b->len, 0, len);
	} else {
		memcpy(b->p + b->len, p, len);
	}
	b->len += len;
}

/* What lttng-relayd writes: each message's data, then its padding as zeros. */
static int sink_emit(void *arg, const uint8_t *data, size_t len, uint32_t padding)
{
	struct bytes *out = arg;

	FUZZ_CHECK(data || !len, "NULL data emitted");
	/* Bound what a hostile stream can make relayd write (LH_RELAYD_MAX_PACKET). */
	FUZZ_CHECK(padding <= (64U << 20), "padding of %u emitted", padding);
	bytes_add(out, data, len, false);
	bytes_add(out, NULL, padding, true);
	return 0;
}

struct msg {
	size_t off, len;
	uint32_t padding;
};

struct stream {
	struct bytes bytes;
	size_t pkt_off[MAX_PACKETS];
	size_t nr_pkts;
	struct msg msgs[MAX_MSGS];
	size_t nr_msgs;
};

static void put_header(uint8_t *h, size_t content, size_t packet, bool be)
{
	memset(h, 0, PKT_HDR_LEN);
	lh_put_u32(h, PKT_MAGIC, be);
	memset(h + 4, 0xab, 16);	/* uuid */
	lh_put_u32(h + PKT_OFF_CONTENT_SIZE, (uint32_t) (content * 8), be);
	lh_put_u32(h + PKT_OFF_PACKET_SIZE, (uint32_t) (packet * 8), be);
	h[35] = 1;
	h[36] = 8;
}

static void add_msg(struct stream *s, size_t off, size_t len, uint32_t padding)
{
	if (s->nr_msgs < MAX_MSGS) {
		s->msgs[s->nr_msgs++] = (struct msg) { off, len, padding };
	}
}

/* Close the packet begun at start with padding bytes of padding; cuts are its message ends. */
static void end_packet(struct stream *s, size_t start, const size_t *cuts, size_t nr_cuts,
		size_t padding, bool be, bool padding_as_data)
{
	size_t content = s->bytes.len - start, from = start, i;

	put_header(s->bytes.p + start, content, content + padding, be);
	bytes_add(&s->bytes, NULL, padding, true);
	for (i = 0; i < nr_cuts; i++) {
		add_msg(s, from, cuts[i] - from, 0);
		from = cuts[i];
	}
	if (padding_as_data) {
		add_msg(s, from, s->bytes.len - from, 0);
	} else {
		add_msg(s, from, start + content - from, (uint32_t) padding);
	}
	s->pkt_off[s->nr_pkts++] = start;
}

/* The structured input made into packets and messages. */
static void build_stream(struct fuzz_in *in, uint8_t flags, struct stream *s)
{
	bool be = flags & 0x01, padding_as_data = flags & 0x20;
	uint8_t hdr[PKT_HDR_LEN] = { 0 };
	size_t cuts[MAX_MSGS], nr_cuts = 0, start = 0;

	bytes_add(&s->bytes, hdr, PKT_HDR_LEN, false);
	while (in->len && s->nr_pkts < MAX_PACKETS - 1) {
		uint8_t c = fuzz_u8(in);

		if (c == MARK_PACKET) {
			end_packet(s, start, cuts, nr_cuts, fuzz_u8(in), be, padding_as_data);
			nr_cuts = 0;
			start = s->bytes.len;
			bytes_add(&s->bytes, hdr, PKT_HDR_LEN, false);
		} else if (c == MARK_CUT) {
			if (nr_cuts < MAX_MSGS) {
				cuts[nr_cuts++] = s->bytes.len;
			}
		} else {
			bytes_add(&s->bytes, &c, 1, false);
		}
	}
	end_packet(s, start, cuts, nr_cuts, LAST_PADDING, be, padding_as_data);
}

/* The text of a packet, without digits and spaces: what a rewrite must keep. */
static void skeleton(const uint8_t *pkt, size_t content, struct bytes *out)
{
	size_t i;

	for (i = PKT_HDR_LEN; i < content; i++) {
		if (!fuzz_ctf_digit_or_space(pkt[i])) {
			bytes_add(out, &pkt[i], 1, false);
		}
	}
}

static void check_packets(const struct stream *s, const struct bytes *out, bool be)
{
	struct bytes sk_in = { 0 }, sk_out = { 0 };
	size_t i;

	FUZZ_CHECK(out->len == s->bytes.len, "stream of %zu bytes written as %zu",
		s->bytes.len, out->len);
	for (i = 0; i < s->nr_pkts; i++) {
		const uint8_t *a = s->bytes.p + s->pkt_off[i], *b = out->p + s->pkt_off[i];
		uint32_t ca = lh_get_u32(a + PKT_OFF_CONTENT_SIZE, be) / 8;
		uint32_t cb = lh_get_u32(b + PKT_OFF_CONTENT_SIZE, be) / 8;
		uint32_t pa = lh_get_u32(a + PKT_OFF_PACKET_SIZE, be) / 8;
		size_t j;

		FUZZ_CHECK(!memcmp(a, b, PKT_OFF_CONTENT_SIZE) &&
			!memcmp(a + PKT_OFF_PACKET_SIZE, b + PKT_OFF_PACKET_SIZE,
				PKT_HDR_LEN - PKT_OFF_PACKET_SIZE),
			"packet %zu: header changed beyond content_size", i);
		FUZZ_CHECK(lh_get_u32(b + PKT_OFF_CONTENT_SIZE, be) % 8 == 0 &&
			cb >= ca && cb <= pa,
			"packet %zu: content_size %u bytes, was %u, packet %u", i, cb, ca, pa);
		for (j = cb; j < pa; j++) {
			FUZZ_CHECK(b[j] == 0, "packet %zu: padding byte %zu not zero", i, j);
		}
		skeleton(a, ca, &sk_in);
		skeleton(b, cb, &sk_out);
	}
	FUZZ_CHECK(sk_in.len == sk_out.len && fuzz_same(sk_in.p, sk_out.p, sk_in.len),
		"the text changed in more than digits and spaces");
	free(sk_in.p);
	free(sk_out.p);
}

static void run_structured(struct fuzz_in *in, uint8_t flags, struct lh_ctf_md_rewriter *rw,
		struct bytes *out)
{
	static struct stream s;
	size_t i;

	memset(&s, 0, sizeof(s));
	build_stream(in, flags, &s);
	for (i = 0; i < s.nr_msgs; i++) {
		FUZZ_CHECK(lh_ctf_md_rewriter_feed(rw, s.bytes.p + s.msgs[i].off, s.msgs[i].len,
			s.msgs[i].padding, sink_emit, out) == 0, "feed failed");
	}
	FUZZ_CHECK(lh_ctf_md_rewriter_flush(rw, sink_emit, out) == 0, "flush failed");
	FUZZ_CHECK(!lh_ctf_md_rewriter_holding(rw), "holding after a flush");
	FUZZ_CHECK(!lh_ctf_md_rewriter_report(rw)->bad_packet,
		"a well-formed packet reported bad");
	check_packets(&s, out, flags & 0x01);
	free(s.bytes.p);
}

/* The text, without digits and spaces: what a rewrite must keep. */
static void skeleton_text(const uint8_t *p, size_t len, struct bytes *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!fuzz_ctf_digit_or_space(p[i])) {
			bytes_add(out, &p[i], 1, false);
		}
	}
}

static bool same_found(const struct lh_ctf_md_report *a, const struct lh_ctf_md_report *b)
{
	return a->form == b->form && a->clock_found == b->clock_found &&
		a->has_offset == b->has_offset && a->offset == b->offset &&
		a->has_freq == b->has_freq && a->freq == b->freq && a->bad_packet == b->bad_packet;
}

/* The plain text sent whole to a rewriter of its own, against the cut one's output. */
static void check_whole(const struct bytes *text, const struct lh_ctf_md_values *values,
		const struct lh_ctf_md_report *cut, const struct bytes *out)
{
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	const struct lh_ctf_md_report *whole;
	struct lh_ctf_md_report fixed;
	struct bytes w = { 0 };
	uint8_t *after;

	FUZZ_CHECK(rw, "out of memory");
	lh_ctf_md_rewriter_set_values(rw, values);
	FUZZ_CHECK(lh_ctf_md_rewriter_feed(rw, text->p, text->len, 0, sink_emit, &w) == 0 &&
		lh_ctf_md_rewriter_flush(rw, sink_emit, &w) == 0, "feed failed");
	whole = lh_ctf_md_rewriter_report(rw);
	FUZZ_CHECK(same_found(cut, whole), "cut and whole find different values");
	/* Cut, a field may only be given up, for holding too much. */
	FUZZ_CHECK(cut->left >= whole->left, "cut left %u fields, whole %u", cut->left,
		whole->left);
	if (cut->left == whole->left) {
		FUZZ_CHECK(cut->rewritten == whole->rewritten && w.len == out->len &&
			fuzz_same(w.p, out->p, w.len), "cut and whole streams differ");
	}
	if (values && !whole->left) {
		/* What went through whole takes the same values in place. */
		after = malloc(w.len ? w.len : 1);
		FUZZ_CHECK(after, "out of memory");
		FUZZ_CHECK(fuzz_ctf_fix(w.p, w.len, values, after, &fixed) == 0 && !fixed.left &&
			fixed.rewritten == whole->rewritten,
			"the final fix left %u fields, rewrote %u of %u", fixed.left,
			fixed.rewritten, whole->rewritten);
		free(after);
	}
	lh_ctf_md_rewriter_destroy(rw);
	free(w.p);
}

static void run_plain(struct fuzz_in *in, const struct lh_ctf_md_values *values,
		struct lh_ctf_md_rewriter *rw, struct bytes *out)
{
	struct bytes text = { 0 }, sk_in = { 0 }, sk_out = { 0 };
	size_t cuts[MAX_MSGS], nr_cuts = 0, from = 0, i;
	const struct lh_ctf_md_report *rep = lh_ctf_md_rewriter_report(rw);
	enum lh_ctf_md_form form = LH_CTF_MD_FORM_UNKNOWN;

	while (in->len) {
		uint8_t c = fuzz_u8(in);

		if (c != MARK_CUT) {
			bytes_add(&text, &c, 1, false);
		} else if (nr_cuts < MAX_MSGS) {
			cuts[nr_cuts++] = text.len;
		}
	}
	if (text.len) {
		/* Text that begins like the packet magic would be taken for a packet. */
		if (text.p[0] == (uint8_t) (PKT_MAGIC >> 24) || text.p[0] == (uint8_t) PKT_MAGIC) {
			text.p[0] = ' ';
		}
		form = text.p[0] == 0x1e ? LH_CTF_MD_FORM_CTF2 : LH_CTF_MD_FORM_TSDL;
	}
	if (!text.len) {
		/* Cuts alone: empty messages, from somewhere. */
		bytes_add(&text, "", 1, false);
		text.len = 0;
	}
	for (i = 0; i <= nr_cuts; i++) {
		size_t to = i < nr_cuts ? cuts[i] : text.len;

		FUZZ_CHECK(lh_ctf_md_rewriter_feed(rw, text.p + from, to - from, 0, sink_emit,
			out) == 0, "feed failed");
		from = to;
	}
	FUZZ_CHECK(lh_ctf_md_rewriter_flush(rw, sink_emit, out) == 0, "flush failed");
	FUZZ_CHECK(!lh_ctf_md_rewriter_holding(rw), "holding after a flush");
	FUZZ_CHECK(rep->form == form && !rep->bad_packet, "plain text of form %d taken for %d",
		form, rep->form);
	FUZZ_CHECK(out->len >= text.len &&
		out->len <= text.len + text.len / 4 + LH_CTF_MD_GROW_SLACK,
		"%zu bytes of text grew to %zu", text.len, out->len);
	skeleton_text(text.p, text.len, &sk_in);
	skeleton_text(out->p, out->len, &sk_out);
	FUZZ_CHECK(sk_in.len == sk_out.len && fuzz_same(sk_in.p, sk_out.p, sk_in.len),
		"the text changed in more than digits and spaces");
	check_whole(&text, values, rep, out);
	free(sk_in.p);
	free(sk_out.p);
	free(text.p);
}

static void run_raw(struct fuzz_in *in, struct lh_ctf_md_rewriter *rw, struct bytes *out)
{
	while (in->len) {
		uint16_t len = fuzz_u16(in), padding = fuzz_u16(in);
		const uint8_t *p;
		size_t got;

		if (len & 0x8000 || padding & 0x8000) {
			FUZZ_CHECK(lh_ctf_md_rewriter_flush(rw, sink_emit, out) == 0,
				"flush failed");
		}
		if (padding & 0x8000) {
			lh_ctf_md_rewriter_reset(rw);
		}
		/* Small paddings: larger ones only make the files to fix slower. */
		p = fuzz_bytes(in, len & 0x7fff, &got);
		FUZZ_CHECK(lh_ctf_md_rewriter_feed(rw, p, got, padding & 0x0fff, sink_emit,
			out) == 0, "feed failed");
	}
	FUZZ_CHECK(lh_ctf_md_rewriter_flush(rw, sink_emit, out) == 0, "flush failed");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	struct lh_ctf_md_values values;
	struct bytes out = { 0 };
	uint8_t flags = fuzz_u8(&in);

	FUZZ_CHECK(rw, "out of memory");
	fuzz_ctf_take_values(&in, flags, &values);
	lh_ctf_md_rewriter_set_values(rw, flags & 0x40 ? NULL : &values);
	if (flags & 0x10) {
		run_raw(&in, rw, &out);
	} else if (flags & 0x80) {
		run_plain(&in, flags & 0x40 ? NULL : &values, rw, &out);
	} else {
		run_structured(&in, flags, rw, &out);
	}
	lh_ctf_md_rewriter_destroy(rw);
	/* The final fix, on the file lttng-relayd wrote from the rewritten stream. */
	fuzz_ctf_fix_idempotent(out.p, out.len, &values);
	free(out.p);
	return 0;
}
