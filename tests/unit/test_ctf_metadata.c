/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the CTF metadata clock rewriter and file fixer
 * (src/common/ctf-metadata.h) on synthetic metadata: packetized TSDL,
 * plain TSDL, and CTF 2 as lttng-ust and lttng-modules write it.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ctf-metadata.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	139

#define HDR_LEN		37
#define MAX_STREAM	(64 * 1024)

static const char clock_text[] =
	"/* CTF 1.8 */\n"
	"trace {\n\tmajor = 1;\n\tminor = 8;\n\tbyte_order = le;\n};\n\n"
	"clock {\n"
	"\tname = \"realtime\";\n"
	"\tfreq = 1000000000;\n"
	"\toffset = 5;\n"
	"};\n\n"
	"clock {\n"
	"\tname = \"monotonic\";\n"
	"\tuuid = \"ab0ccf4a-e6ba-4d13-a788-efc235652299\";\n"
	"\tdescription = \"Monotonic Clock\";\n"
	"\tfreq = 1000000000; /* Frequency, in Hz */\n"
	"\t/* clock value offset from Epoch is: offset * (1/freq) */\n"
	"\toffset = 1795639570593412007;\n"
	"};\n\n"
	"typealias integer {\n\tsize = 64;\n\tmap = clock.monotonic.value;\n} := uint64_clock_monotonic_t;\n";

/* The rewritten stream as lttng-relayd would write it: data, then the zeros. */
struct sink {
	uint8_t buf[MAX_STREAM + 1];
	size_t len;
	unsigned int msgs;
};

static int sink_emit(void *arg, const uint8_t *data, size_t len, uint32_t padding)
{
	struct sink *s = arg;

	if (s->len + len + padding > sizeof(s->buf)) {
		return -1;
	}
	memcpy(s->buf + s->len, data, len);
	memset(s->buf + s->len + len, 0, padding);
	s->len += len + padding;
	s->msgs++;
	return 0;
}

static void put32(uint8_t *p, uint32_t v, int be)
{
	int i;

	for (i = 0; i < 4; i++) {
		p[be ? i : 3 - i] = (uint8_t) (v >> (24 - 8 * i));
	}
}

static uint32_t get32(const uint8_t *p, int be)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		v |= (uint32_t) p[be ? i : 3 - i] << (24 - 8 * i);
	}
	return v;
}

/* A metadata packet: header then text; packet_len - header - len bytes of padding. */
static size_t make_packet(uint8_t *out, const char *text, size_t len, size_t packet_len, int be)
{
	memset(out, 0, HDR_LEN);
	put32(out, 0x75D11D57U, be);
	put32(out + 24, (uint32_t) ((HDR_LEN + len) * 8), be);
	put32(out + 28, (uint32_t) (packet_len * 8), be);
	out[35] = 1;
	out[36] = 8;
	memcpy(out + HDR_LEN, text, len);
	return HDR_LEN + len;
}

/*
 * Walk a written stream's packets; gather their text. Returns -1 if the
 * packet sizes do not tile the stream exactly.
 */
static int stream_text(const uint8_t *buf, size_t len, int be, char *text, size_t *text_len)
{
	size_t off = 0;

	*text_len = 0;
	while (off < len) {
		uint32_t cs, ps;

		if (len - off < HDR_LEN || get32(buf + off, be) != 0x75D11D57U) {
			return -1;
		}
		cs = get32(buf + off + 24, be) / 8;
		ps = get32(buf + off + 28, be) / 8;
		if (cs < HDR_LEN || ps < cs || ps > len - off) {
			return -1;
		}
		memcpy(text + *text_len, buf + off + HDR_LEN, cs - HDR_LEN);
		*text_len += cs - HDR_LEN;
		off += ps;
	}
	text[*text_len] = '\0';
	return 0;
}

static const struct lh_ctf_md_values new_values = {
	.set_offset = true,
	.offset = 42,
	.set_freq = true,
	.freq = 999999950,
	.min_width = LH_CTF_MD_RESERVE_WIDTH,
};

static const char offset_field[] = "offset = 42                  ;";
static const char freq_field[] = "freq = 999999950           ;";

/* One packet per message, the padding left to lttng-relayd; then a check. */
static void test_one_packet(int be)
{
	static uint8_t pkt[8192];
	static char text[MAX_STREAM];
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	const struct lh_ctf_md_report *rep;
	struct sink sink = { .len = 0 };
	size_t len, text_len;

	len = make_packet(pkt, clock_text, strlen(clock_text), 4096, be);
	lh_ctf_md_rewriter_set_values(rw, &new_values);
	ok(lh_ctf_md_rewriter_feed(rw, pkt, len, (uint32_t) (4096 - len), sink_emit, &sink) == 0 &&
		sink.msgs == 1, "%s: one message in, one out", be ? "BE" : "LE");
	ok(sink.len == 4096, "%s: packet keeps its size", be ? "BE" : "LE");
	ok(stream_text(sink.buf, sink.len, be, text, &text_len) == 0,
		"%s: packet sizes stay right", be ? "BE" : "LE");
	ok(get32(sink.buf + 24, be) / 8 == len + 11, "%s: content_size grew by 11 bytes",
		be ? "BE" : "LE");
	ok(strstr(text, offset_field) && strstr(text, freq_field),
		"%s: offset and freq rewritten, 20 wide", be ? "BE" : "LE");
	ok(strstr(text, "offset = 5;") && strstr(text, "\"realtime\";\n\tfreq = 1000000000;"),
		"%s: the realtime clock untouched", be ? "BE" : "LE");
	rep = lh_ctf_md_rewriter_report(rw);
	ok(rep->clock_found && rep->has_offset && rep->offset == 1795639570593412007ULL &&
		rep->has_freq && rep->freq == 1000000000, "%s: guest's values reported",
		be ? "BE" : "LE");
	ok(rep->rewritten == 2 && rep->left == 0 && !rep->bad_packet, "%s: two fields rewritten",
		be ? "BE" : "LE");
	lh_ctf_md_rewriter_destroy(rw);
}

/* Split the text at the nth character of needle; two packets, one message each. */
static void test_straddle_packets(void)
{
	static uint8_t p1[4096], p2[4096];
	static char text[MAX_STREAM];
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	struct sink sink = { .len = 0 };
	size_t split = strstr(clock_text, "offset = 1795") - clock_text + 13;
	size_t l1, l2, text_len;
	int ret;

	l1 = make_packet(p1, clock_text, split, 2048, 1);
	l2 = make_packet(p2, clock_text + split, strlen(clock_text) - split, 2048, 1);
	lh_ctf_md_rewriter_set_values(rw, &new_values);
	ret = lh_ctf_md_rewriter_feed(rw, p1, l1, (uint32_t) (2048 - l1), sink_emit, &sink);
	/* Out at once: the first packet, its freq 10 bytes wider, but the offset's 4 digits. */
	ok(ret == 0 && sink.msgs == 1 && sink.len == l1 + 10 - 4 &&
		lh_ctf_md_rewriter_holding(rw),
		"value straddling packets: the first message held from the value on");
	ret = lh_ctf_md_rewriter_feed(rw, p2, l2, (uint32_t) (2048 - l2), sink_emit, &sink);
	ok(ret == 0 && sink.msgs == 3 && !lh_ctf_md_rewriter_holding(rw),
		"the rest emitted when the value ends");
	ok(sink.len == 4096 && stream_text(sink.buf, sink.len, 1, text, &text_len) == 0,
		"packet sizes stay right");
	ok(strstr(text, offset_field) != NULL, "straddling offset rewritten");
	ok(get32(sink.buf + 24, 1) / 8 == l1 + 10 && get32(p2 + 24, 1) / 8 + 1 ==
		get32(sink.buf + 2048 + 24, 1) / 8, "freq grew its packet, offset the second");
	ok(lh_ctf_md_rewriter_report(rw)->offset == 1795639570593412007ULL,
		"straddling original offset reported");
	lh_ctf_md_rewriter_destroy(rw);
}

/* One packet cut in two messages inside the value; its padding in data. */
static void test_straddle_messages(void)
{
	static uint8_t pkt[4096];
	static char text[MAX_STREAM];
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	struct sink sink = { .len = 0 };
	size_t cut = HDR_LEN + (strstr(clock_text, "offset = 1795") - clock_text) + 15;
	size_t text_len;

	make_packet(pkt, clock_text, strlen(clock_text), 4096, 0);
	lh_ctf_md_rewriter_set_values(rw, &new_values);
	ok(lh_ctf_md_rewriter_feed(rw, pkt, cut, 0, sink_emit, &sink) == 0 && sink.msgs == 0,
		"value straddling messages: first held");
	ok(lh_ctf_md_rewriter_feed(rw, pkt + cut, 4096 - cut, 0, sink_emit, &sink) == 0 &&
		sink.msgs == 2, "then both emitted");
	ok(sink.len == 4096 && stream_text(sink.buf, sink.len, 0, text, &text_len) == 0,
		"padding sent as data shrinks by the growth");
	ok(strstr(text, offset_field) && strstr(text, freq_field),
		"straddling fields rewritten");
	lh_ctf_md_rewriter_destroy(rw);
}

/* No padding: a longer value stays, a shorter one is written in place. */
static void test_no_room(void)
{
	static uint8_t pkt[4096];
	static char text[MAX_STREAM];
	struct lh_ctf_md_values big = {
		.set_offset = true, .offset = 18446744073709551615ULL,
		.min_width = LH_CTF_MD_RESERVE_WIDTH,
	};
	struct lh_ctf_md_values small = {
		.set_offset = true, .offset = 7, .min_width = LH_CTF_MD_RESERVE_WIDTH,
	};
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	struct sink sink = { .len = 0 };
	size_t len, text_len;

	len = make_packet(pkt, clock_text, strlen(clock_text), HDR_LEN + strlen(clock_text), 1);
	lh_ctf_md_rewriter_set_values(rw, &big);
	ok(lh_ctf_md_rewriter_feed(rw, pkt, len, 0, sink_emit, &sink) == 0 && sink.len == len,
		"no room: same size");
	ok(!memcmp(sink.buf, pkt, len), "no room: value left as it was");
	ok(lh_ctf_md_rewriter_report(rw)->left == 1 &&
		lh_ctf_md_rewriter_report(rw)->rewritten == 0, "no room: reported");
	lh_ctf_md_rewriter_destroy(rw);

	rw = lh_ctf_md_rewriter_create();
	sink.len = 0;
	lh_ctf_md_rewriter_set_values(rw, &small);
	ok(lh_ctf_md_rewriter_feed(rw, pkt, len, 0, sink_emit, &sink) == 0 && sink.len == len,
		"no room, shorter value: same size");
	stream_text(sink.buf, sink.len, 1, text, &text_len);
	ok(strstr(text, "offset = 7                  ;") != NULL,
		"shorter value in place, padded with spaces");
	ok(strstr(text, "freq = 1000000000;") != NULL, "freq not asked: untouched");
	lh_ctf_md_rewriter_destroy(rw);
}

/* Without a correction yet: the guest's values, in fields wide enough. */
static void test_reserve_only(void)
{
	static uint8_t pkt[4096];
	static char text[MAX_STREAM];
	const struct lh_ctf_md_values reserve = { .min_width = LH_CTF_MD_RESERVE_WIDTH };
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	struct sink sink = { .len = 0 };
	size_t len, text_len;

	len = make_packet(pkt, clock_text, strlen(clock_text), 4096, 1);
	lh_ctf_md_rewriter_set_values(rw, &reserve);
	ok(lh_ctf_md_rewriter_feed(rw, pkt, len, (uint32_t) (4096 - len), sink_emit, &sink) == 0,
		"reserve only: fed");
	stream_text(sink.buf, sink.len, 1, text, &text_len);
	ok(strstr(text, "offset = 1795639570593412007 ;") &&
		strstr(text, "freq = 1000000000          ;"), "reserve only: values kept, widened");
	ok(lh_ctf_md_rewriter_report(rw)->rewritten == 0, "reserve only: nothing rewritten");
	lh_ctf_md_rewriter_destroy(rw);
}

/* Flushed in the middle of a value (another command came): the value is left. */
static void test_flush_mid_value(void)
{
	static uint8_t pkt[4096];
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	struct sink sink = { .len = 0 };
	size_t cut = HDR_LEN + (strstr(clock_text, "offset = 1795") - clock_text) + 15;

	make_packet(pkt, clock_text, strlen(clock_text), 4096, 1);
	lh_ctf_md_rewriter_set_values(rw, &new_values);
	lh_ctf_md_rewriter_feed(rw, pkt, cut, 0, sink_emit, &sink);
	ok(lh_ctf_md_rewriter_flush(rw, sink_emit, &sink) == 0 && sink.msgs == 1,
		"flush emits the held message");
	lh_ctf_md_rewriter_feed(rw, pkt + cut, 4096 - cut, 0, sink_emit, &sink);
	sink.buf[sink.len] = '\0';
	ok(sink.len == 4096 && strstr((char *) sink.buf + HDR_LEN, "offset = 1795639570593412007;"),
		"interrupted value left as it was");
	ok(lh_ctf_md_rewriter_report(rw)->left == 1, "interrupted value reported");
	lh_ctf_md_rewriter_destroy(rw);
}

/* A stream that begins as a packet and is none: passed untouched, and reported. */
static void test_bad_packet(void)
{
	static uint8_t pkt[4096];
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	const struct lh_ctf_md_report *rep;
	struct sink sink = { .len = 0 };
	size_t len = make_packet(pkt, clock_text, strlen(clock_text), 4096, 1);

	/* content_size shorter than the header. */
	put32(pkt + 24, 8, 1);
	lh_ctf_md_rewriter_set_values(rw, &new_values);
	ok(lh_ctf_md_rewriter_feed(rw, pkt, len, 0, sink_emit, &sink) == 0 && sink.len == len &&
		!memcmp(sink.buf, pkt, len), "malformed packet: passed untouched");
	rep = lh_ctf_md_rewriter_report(rw);
	ok(rep->bad_packet && rep->form == LH_CTF_MD_FORM_PACKETIZED && !rep->rewritten,
		"malformed packet: reported");
	lh_ctf_md_rewriter_destroy(rw);
}

static int write_tmp(const uint8_t *buf, size_t len, char *path)
{
	int fd;

	strcpy(path, "/tmp/test_ctf_metadata.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0) {
		return -1;
	}
	if (write(fd, buf, len) != (ssize_t) len) {
		close(fd);
		return -1;
	}
	return fd;
}

static int read_back(int fd, uint8_t *buf, size_t len)
{
	return pread(fd, buf, len, 0) == (ssize_t) len ? 0 : -1;
}

/* The final fix on a file relayd wrote: straddling packets, in place, twice. */
static void test_fix_file(void)
{
	static uint8_t p1[4096], p2[4096], file[8192], after[8192], again[8192];
	static char text[MAX_STREAM];
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	struct lh_ctf_md_values final = {
		.set_offset = true, .offset = 1795639999000000123ULL,
		.set_freq = true, .freq = 1000000021,
	};
	struct lh_ctf_md_values longer = { .set_offset = true, .offset = UINT64_MAX };
	struct lh_ctf_md_report rep;
	struct sink sink = { .len = 0 };
	size_t split = strstr(clock_text, "offset = 1795") - clock_text + 16;
	size_t l1, l2, text_len;
	char path[64];
	int fd;

	l1 = make_packet(p1, clock_text, split, 2048, 0);
	l2 = make_packet(p2, clock_text + split, strlen(clock_text) - split, 2048, 0);
	memcpy(file, p1, l1);
	memset(file + l1, 0, 2048 - l1);
	memcpy(file + 2048, p2, l2);
	memset(file + 2048 + l2, 0, 2048 - l2);
	fd = write_tmp(file, 4096, path);
	if (!ok(fd >= 0, "temporary file")) {
		skip(10, "no temporary file");
		lh_ctf_md_rewriter_destroy(rw);
		return;
	}
	ok(lh_ctf_md_fix_fd(fd, NULL, &rep) == 0 && rep.clock_found &&
		rep.offset == 1795639570593412007ULL && rep.freq == 1000000000 &&
		rep.rewritten == 0, "inspect: finds the straddling offset");
	ok(lh_ctf_md_fix_fd(fd, &longer, &rep) == 0 && rep.left == 1 && rep.rewritten == 0,
		"a longer value does not fit in place: reported");
	read_back(fd, after, 4096);
	ok(!memcmp(after, file, 4096), "file untouched when nothing fits");

	/* A file the rewriter reserved room in. */
	lh_ctf_md_rewriter_set_values(rw, &new_values);
	lh_ctf_md_rewriter_feed(rw, p1, l1, (uint32_t) (2048 - l1), sink_emit, &sink);
	lh_ctf_md_rewriter_feed(rw, p2, l2, (uint32_t) (2048 - l2), sink_emit, &sink);
	ok(pwrite(fd, sink.buf, sink.len, 0) == (ssize_t) sink.len && sink.len == 4096,
		"file written from the rewritten stream");
	ok(lh_ctf_md_fix_fd(fd, &final, &rep) == 0 && rep.rewritten == 2 && rep.left == 0 &&
		rep.offset == 42 && rep.freq == 999999950, "final fix fits in the reserved width");
	read_back(fd, after, 4096);
	ok(stream_text(after, 4096, 0, text, &text_len) == 0 &&
		strstr(text, "offset = 1795639999000000123 ;") &&
		strstr(text, "freq = 1000000021          ;"), "final values on disk");
	ok(!memcmp(after + 24, sink.buf + 24, 8) && !memcmp(after + 2048 + 24, sink.buf + 2048 + 24, 8),
		"packet sizes unchanged by the in-place fix");
	ok(lh_ctf_md_fix_fd(fd, &final, &rep) == 0, "fixed twice");
	read_back(fd, again, 4096);
	ok(!memcmp(after, again, 4096), "idempotent");
	final.set_freq = false;
	final.offset = 12;
	ok(lh_ctf_md_fix_fd(fd, &final, &rep) == 0 && rep.rewritten == 1, "shorter offset fixed");
	read_back(fd, after, 4096);
	stream_text(after, 4096, 0, text, &text_len);
	ok(strstr(text, "offset = 12                  ;") != NULL, "shorter offset padded with spaces");
	close(fd);
	unlink(path);
	lh_ctf_md_rewriter_destroy(rw);
}

/* Metadata as lttng writes it locally: plain text. */
static void test_fix_plain(void)
{
	const struct lh_ctf_md_values v = { .set_offset = true, .offset = 1000 };
	struct lh_ctf_md_report rep;
	uint8_t after[4096];
	char path[64];
	size_t len = strlen(clock_text);
	int fd = write_tmp((const uint8_t *) clock_text, len, path);

	if (!ok(fd >= 0, "plain: temporary file")) {
		skip(2, "no temporary file");
		return;
	}
	ok(lh_ctf_md_fix_fd(fd, &v, &rep) == 0 && rep.rewritten == 1, "plain text fixed");
	read_back(fd, after, len);
	after[len] = '\0';
	ok(strstr((char *) after, "offset = 1000               ;") &&
		strstr((char *) after, "offset = 5;"), "plain: only the monotonic clock changed");
	close(fd);
	unlink(path);
}

/* Counts what is emitted, keeps the text only while it fits. */
struct count_sink {
	size_t bytes;		/* data and padding */
	unsigned int msgs;
	uint8_t *buf;		/* NULL: count only */
	size_t cap;
};

static int count_emit(void *arg, const uint8_t *data, size_t len, uint32_t padding)
{
	struct count_sink *s = arg;

	if (s->buf && s->bytes + len + padding <= s->cap) {
		memcpy(s->buf + s->bytes, data, len);
		memset(s->buf + s->bytes + len, 0, padding);
	}
	s->bytes += len + padding;
	s->msgs++;
	return 0;
}

/*
 * A guest that sends only SEND_METADATA of digits, or of spaces, after
 * "offset = 1", in big or small messages: the value never ends, and what
 * the rewriter holds (fed - emitted) must stay under LH_CTF_MD_HOLD_MAX.
 */
static void test_hold_bounded(void)
{
	static const char start[] = "clock {\n\tname = \"monotonic\";\n\toffset = 1";
	static uint8_t msg[64 * 1024];
	const size_t sizes[] = { sizeof(msg), 1000 };
	const char fill[] = { '7', ' ' };
	size_t f, z;

	for (f = 0; f < sizeof(fill); f++) {
		for (z = 0; z < 2; z++) {
			struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
			struct count_sink sink = { .bytes = 0 };
			size_t fed, most = 0;
			bool fed_ok;
			int i;

			/* One packet as big as a packet may be, filled with the value. */
			fed = make_packet(msg, start, strlen(start), 64U << 20, 1);
			put32(msg + 24, (64U << 20) * 8, 1);
			lh_ctf_md_rewriter_set_values(rw, &new_values);
			fed_ok = lh_ctf_md_rewriter_feed(rw, msg, fed, 0, count_emit, &sink) == 0;
			memset(msg, fill[f], sizeof(msg));
			for (i = 0; i < 64 && fed_ok; i++) {
				fed_ok = lh_ctf_md_rewriter_feed(rw, msg, sizes[z], 0, count_emit,
					&sink) == 0;
				fed += sizes[z];
				if (fed - sink.bytes > most) {
					most = fed - sink.bytes;
				}
			}
			ok(fed_ok && most <= LH_CTF_MD_HOLD_MAX,
				"64 messages of %zu '%c' after a value: at most %zu bytes held",
				sizes[z], fill[f], most);
			ok(lh_ctf_md_rewriter_flush(rw, count_emit, &sink) == 0 &&
				sink.bytes == fed, "%zu '%c': every byte emitted in the end",
				sizes[z], fill[f]);
			lh_ctf_md_rewriter_destroy(rw);
		}
	}
}

/*
 * A value straddling two messages, the first of which is big: only a
 * small tail of it is held, and the value is still rewritten.
 */
static void test_hold_tail(void)
{
	const size_t big = 1U << 20, packet_len = 2U << 20;
	const char *cut_at = strstr(clock_text, "offset = 1795") + 13;
	size_t before = cut_at - clock_text, text_len, l1, l2, held;
	uint8_t *out = malloc(packet_len);
	uint8_t *m1 = malloc(HDR_LEN + big + before);
	struct count_sink sink = { .buf = out, .cap = packet_len };
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	char *text = malloc(packet_len);
	int ret;

	if (!out || !m1 || !text || !rw) {
		skip(4, "out of memory");
		goto end;
	}
	/* A long comment, then the clock text up to the middle of the offset. */
	memset(m1 + HDR_LEN, ' ', big);
	memcpy(m1 + HDR_LEN, "/*", 2);
	memcpy(m1 + HDR_LEN + big - 3, "*/\n", 3);
	memcpy(m1 + HDR_LEN + big, clock_text, before);
	l1 = HDR_LEN + big + before;
	l2 = strlen(clock_text) - before;
	make_packet(m1, "", 0, packet_len, 0);
	put32(m1 + 24, (uint32_t) ((l1 + l2) * 8), 0);
	lh_ctf_md_rewriter_set_values(rw, &new_values);
	ret = lh_ctf_md_rewriter_feed(rw, m1, l1, 0, count_emit, &sink);
	/* Held: the message, its freq 10 bytes wider, less what went out. */
	held = l1 + 10 > sink.bytes ? l1 + 10 - sink.bytes : 0;
	ok(ret == 0 && lh_ctf_md_rewriter_holding(rw) && held && held <= LH_CTF_MD_HOLD_MAX,
		"a value at the end of a 1 MiB message: %zu bytes of it held", held);
	ret = lh_ctf_md_rewriter_feed(rw, (const uint8_t *) cut_at, l2,
		(uint32_t) (packet_len - l1 - l2), count_emit, &sink);
	ok(ret == 0 && !lh_ctf_md_rewriter_holding(rw) && sink.bytes == packet_len,
		"the rest emitted when the value ends; the packet keeps its size");
	ok(stream_text(out, sink.bytes, 0, text, &text_len) == 0 &&
		strstr(text, "offset = 42                 ;") && strstr(text, freq_field),
		"the straddling value rewritten in place, freq widened");
	ok(lh_ctf_md_rewriter_report(rw)->rewritten == 2 &&
		lh_ctf_md_rewriter_report(rw)->left == 0, "both fields rewritten");
end:
	lh_ctf_md_rewriter_destroy(rw);
	free(out);
	free(m1);
	free(text);
}

/*
 * An honest packet cut in two messages at every byte: the values are
 * always rewritten and the packet keeps its size; a cut inside a value
 * gives the same stream as no cut.
 */
static void test_cut_anywhere(void)
{
	static uint8_t pkt[4096], whole[4096];
	static char text[MAX_STREAM];
	size_t len = make_packet(pkt, clock_text, strlen(clock_text), 4096, 1);
	size_t freq_at = HDR_LEN + (strstr(clock_text, "freq = 1000000000; /*") - clock_text) + 7;
	size_t offset_at = HDR_LEN + (strstr(clock_text, "offset = 1795") - clock_text) + 9;
	size_t cut, text_len, bad = 0, differ = 0;
	struct sink sink = { .len = 0 };
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();

	lh_ctf_md_rewriter_set_values(rw, &new_values);
	lh_ctf_md_rewriter_feed(rw, pkt, len, (uint32_t) (4096 - len), sink_emit, &sink);
	memcpy(whole, sink.buf, 4096);
	lh_ctf_md_rewriter_destroy(rw);
	for (cut = 1; cut < len; cut++) {
		const struct lh_ctf_md_report *rep;

		rw = lh_ctf_md_rewriter_create();
		sink.len = 0;
		lh_ctf_md_rewriter_set_values(rw, &new_values);
		lh_ctf_md_rewriter_feed(rw, pkt, cut, 0, sink_emit, &sink);
		lh_ctf_md_rewriter_feed(rw, pkt + cut, len - cut, (uint32_t) (4096 - len),
			sink_emit, &sink);
		rep = lh_ctf_md_rewriter_report(rw);
		if (sink.len != 4096 || stream_text(sink.buf, sink.len, 1, text, &text_len) < 0 ||
				rep->rewritten != 2 || rep->left != 0 ||
				!strstr(text, "offset = 42 ") || !strstr(text, "freq = 999999950 ")) {
			bad++;
		} else if (((cut > freq_at && cut < freq_at + 10) ||
				(cut > offset_at && cut < offset_at + 19)) &&
				memcmp(sink.buf, whole, 4096)) {
			differ++;
		}
		lh_ctf_md_rewriter_destroy(rw);
	}
	ok(bad == 0, "cut anywhere: values rewritten, the packet keeps its size (%zu bad)", bad);
	ok(differ == 0, "cut inside a value: same stream as whole (%zu differ)", differ);
}

/*
 * A field widened into the padding, then the guest's zeros stand for
 * the rest of the content: the packet must still keep its declared size,
 * and the packets after it their place.
 */
static void test_grow_then_zeros(void)
{
	static uint8_t pkt[4096], next[4096];
	static char text[MAX_STREAM];
	size_t end = strstr(clock_text, "offset = 1795") - clock_text + 29;
	size_t content = HDR_LEN + strlen(clock_text), l1, ln, text_len;
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	struct sink sink = { .len = 0 };

	/* The whole text declared; only the part up to after the offset sent. */
	l1 = make_packet(pkt, clock_text, end, 4096, 1);
	put32(pkt + 24, (uint32_t) (content * 8), 1);
	ln = make_packet(next, clock_text, strlen(clock_text), 4096, 1);
	lh_ctf_md_rewriter_set_values(rw, &new_values);
	ok(lh_ctf_md_rewriter_feed(rw, pkt, l1, (uint32_t) (4096 - l1), sink_emit, &sink) == 0 &&
		lh_ctf_md_rewriter_feed(rw, next, ln, (uint32_t) (4096 - ln), sink_emit,
		&sink) == 0, "content as zeros after a growth: fed");
	ok(sink.len == 8192, "the packet keeps its declared size (stream: %zu bytes)", sink.len);
	ok(stream_text(sink.buf, sink.len, 1, text, &text_len) == 0 &&
		get32(sink.buf + 24, 1) <= get32(sink.buf + 28, 1),
		"content_size within packet_size, packets tile the stream");
	ok(sink.len >= 8192 && !memcmp(sink.buf + 4096, next, ln),
		"the next packet in its place, untouched");
	ok(lh_ctf_md_rewriter_report(rw)->bad_packet, "reported as a bad packet");
	lh_ctf_md_rewriter_destroy(rw);

	/* Zeros for the rest of the content only; the padding then comes as data. */
	rw = lh_ctf_md_rewriter_create();
	sink.len = 0;
	memset(next + ln, 0, 4096 - ln);
	lh_ctf_md_rewriter_set_values(rw, &new_values);
	lh_ctf_md_rewriter_feed(rw, pkt, l1, (uint32_t) (content - l1), sink_emit, &sink);
	lh_ctf_md_rewriter_feed(rw, next + ln, 4096 - content, 0, sink_emit, &sink);
	lh_ctf_md_rewriter_feed(rw, next, 4096, 0, sink_emit, &sink);
	ok(sink.len == 8192 && stream_text(sink.buf, sink.len, 1, text, &text_len) == 0 &&
		!memcmp(sink.buf + 4096, next, 4096),
		"padding sent as data after the zeros pays for the growth (%zu bytes)", sink.len);
	lh_ctf_md_rewriter_destroy(rw);
}

static const char merge_text[] =
	"clock {\n\tname = \"monotonic\";\n\tfreq = 10000000 0;\n\toffset = 5;\n};\n";
static const char merge_room[] =
	"clock {\n\tname = \"monotonic\";\n\tfreq = 10000000  0;\n\toffset = 5;\n};\n";

/* Whether text has "freq = DIGITS SPACES 0;": the value and the 0 apart. */
static bool freq_apart(const char *text)
{
	const char *p = strstr(text, "freq = ");
	size_t digits, spaces;

	if (!p) {
		return false;
	}
	p += strlen("freq = ");
	digits = strspn(p, "0123456789");
	spaces = strspn(p + digits, " ");
	return digits && spaces && !strncmp(p + digits + spaces, "0;", 2);
}

/*
 * A value as long as its field, the field followed by another token: they
 * must not merge, in flight or in place, and fixing twice equals once.
 */
static void test_no_merge(void)
{
	static uint8_t pkt[4096];
	static char text[MAX_STREAM];
	const struct lh_ctf_md_values nine = { .set_freq = true, .freq = 999999950 };
	struct lh_ctf_md_values nine_wide = nine;
	struct lh_ctf_md_report rep;
	struct lh_ctf_md_rewriter *rw;
	struct sink sink = { .len = 0 };
	size_t len, text_len, plain = strlen(merge_text), room = strlen(merge_room);
	char first[256], second[256];
	char path[64];
	int fd, i;

	/* In flight: no padding to grow into, then with padding. */
	nine_wide.min_width = LH_CTF_MD_RESERVE_WIDTH;
	for (i = 0; i < 2; i++) {
		size_t packet_len;

		len = HDR_LEN + plain;
		packet_len = i ? 4096 : len;
		make_packet(pkt, merge_text, plain, packet_len, 0);
		rw = lh_ctf_md_rewriter_create();
		sink.len = 0;
		lh_ctf_md_rewriter_set_values(rw, i ? &nine_wide : &nine);
		lh_ctf_md_rewriter_feed(rw, pkt, len, (uint32_t) (packet_len - len), sink_emit,
			&sink);
		ok(sink.len == packet_len && stream_text(sink.buf, sink.len, 0, text, &text_len) == 0 &&
			freq_apart(text), "in flight%s: freq and the next token stay apart",
			i ? ", with padding" : "");
		lh_ctf_md_rewriter_destroy(rw);
	}

	/* In place, twice. */
	fd = write_tmp((const uint8_t *) merge_text, plain, path);
	if (!ok(fd >= 0, "merge: temporary file")) {
		skip(3, "no temporary file");
		return;
	}
	lh_ctf_md_fix_fd(fd, &nine, &rep);
	read_back(fd, (uint8_t *) first, plain);
	first[plain] = '\0';
	ok(freq_apart(first), "in place: freq and the next token stay apart");
	lh_ctf_md_fix_fd(fd, &nine, &rep);
	read_back(fd, (uint8_t *) second, plain);
	ok(!memcmp(first, second, plain), "in place: fixing twice equals fixing once");

	/* With one space more the value fits, one space kept after it. */
	if (pwrite(fd, merge_room, room, 0) != (ssize_t) room) {
		ok(0, "rewrite the temporary file");
	} else {
		lh_ctf_md_fix_fd(fd, &nine, &rep);
		read_back(fd, (uint8_t *) first, room);
		lh_ctf_md_fix_fd(fd, &nine, &rep);
		read_back(fd, (uint8_t *) second, room);
		first[room] = '\0';
		ok(strstr(first, "freq = 999999950 0;") && !memcmp(first, second, room),
			"a value that fits: rewritten, kept apart, idempotent");
	}
	close(fd);
	unlink(path);
}

/* --- plain streams: TSDL and CTF 2, as lttng 2.14 and later send them --- */

#define RS	"\x1e"

/* CTF 2's clock-class fragment as the session daemon writes it: keys sorted. */
#define UST_CLOCK \
	RS "{\n" \
	"  \"description\": \"Monotonic Clock\",\n" \
	"  \"frequency\": 1000000000,\n" \
	"  \"id\": \"monotonic\",\n" \
	"  \"name\": \"monotonic\",\n" \
	"  \"offset-from-origin\": {\n" \
	"    \"cycles\": 123456789,\n" \
	"    \"seconds\": 1712345678\n" \
	"  },\n" \
	"  \"origin\": \"unix-epoch\",\n" \
	"  \"type\": \"clock-class\",\n" \
	"  \"uid\": \"5a1c3e2e-1b0e-4d5c-9f4e-2b7d6c1a0f33\"\n" \
	"}"

/* As lttng-modules writes it: compact, "type" first, a newline after. */
#define KERNEL_CLOCK \
	RS "{\"type\":\"clock-class\",\"id\":\"monotonic\",\"name\":\"monotonic\"," \
	"\"uid\":\"5a1c3e2e-1b0e-4d5c-9f4e-2b7d6c1a0f33\",\"description\":\"Monotonic Clock\"," \
	"\"frequency\":1000000000,\"origin\":\"unix-epoch\"," \
	"\"offset-from-origin\":{\"seconds\":1712345678,\"cycles\":123456789}}\n"

#define CTF2_GUEST_OFFSET	1712345678123456789ULL

/*
 * A UST stream: the clock among fragments with the same member names
 * deeper (the environment, an event's attributes), in a string, or in a
 * clock of another name.
 */
static const char ust_stream[] =
	RS "{\n  \"type\": \"preamble\",\n  \"uuid\": [\n    47,\n    94\n  ],\n"
	"  \"version\": 2\n}"
	RS "{\n"
	"  \"environment\": {\n"
	"    \"domain\": \"ust\",\n"
	"    \"frequency\": 1000000000,\n"
	"    \"hostname\": \"evil\\\", \\\"frequency\\\": 7, \\\"name\\\": \\\"monotonic\",\n"
	"    \"name\": \"monotonic\",\n"
	"    \"offset-from-origin\": {\n"
	"      \"cycles\": 123456789,\n"
	"      \"seconds\": 1712345678\n"
	"    }\n"
	"  },\n"
	"  \"name\": \"\",\n"
	"  \"namespace\": \"lttng.org,2009\",\n"
	"  \"type\": \"trace-class\"\n"
	"}"
	UST_CLOCK
	RS "{\n"
	"  \"frequency\": 1000000000,\n"
	"  \"id\": \"realtime\",\n"
	"  \"name\": \"realtime\",\n"
	"  \"offset-from-origin\": {\n"
	"    \"cycles\": 123456789,\n"
	"    \"seconds\": 1712345678\n"
	"  },\n"
	"  \"type\": \"clock-class\"\n"
	"}"
	RS "{\n"
	"  \"attributes\": {\n"
	"    \"lttng.org,2009\": {\n"
	"      \"frequency\": 1000000000,\n"
	"      \"offset-from-origin\": {\n"
	"        \"cycles\": 123456789,\n"
	"        \"seconds\": 1712345678\n"
	"      }\n"
	"    }\n"
	"  },\n"
	"  \"id\": 0,\n"
	"  \"name\": \"monotonic\",\n"
	"  \"type\": \"event-record-class\"\n"
	"}";

/* A kernel stream, with the same decoys. */
static const char kernel_stream[] =
	RS "{\"type\":\"preamble\",\"version\":2,\"uuid\":[47,94]}\n"
	RS "{\"type\":\"trace-class\",\"environment\":{\"domain\":\"kernel\","
	"\"hostname\":\"a\\\"b\\\\\",\"name\":\"monotonic\",\"frequency\":1000000000,"
	"\"offset-from-origin\":{\"seconds\":1712345678,\"cycles\":123456789}}}\n"
	RS "{\"type\":\"clock-class\",\"id\":\"realtime\",\"name\":\"realtime\","
	"\"frequency\":1000000000,\"offset-from-origin\":{\"seconds\":1712345678,"
	"\"cycles\":123456789}}\n"
	KERNEL_CLOCK
	RS "{\"type\":\"event-record-class\",\"id\":0,\"name\":\"monotonic\",\"frequency\":1000000000,"
	"\"attributes\":{\"lttng.org,2009\":{\"offset-from-origin\":{\"seconds\":1712345678,"
	"\"cycles\":123456789}}}}\n";

/* The in-flight values, then the final ones. */
static const struct lh_ctf_md_values flight_values = {
	.set_offset = true,
	.offset = 1712345679000000042ULL,
	.set_freq = true,
	.freq = 999999950,
	.min_width = LH_CTF_MD_RESERVE_WIDTH,
};

static const struct lh_ctf_md_values final_values = {
	.set_offset = true,
	.offset = 1795639999000000123ULL,
	.set_freq = true,
	.freq = 1000000021,
};

/* Replace, in s, each subs[i][0] (there once) by subs[i][1], into out. */
static bool substitute(char *out, size_t cap, const char *s, const char *(*subs)[2], size_t n)
{
	static char tmp[MAX_STREAM];
	size_t i;

	if (strlen(s) >= cap) {
		return false;
	}
	strcpy(out, s);
	for (i = 0; i < n; i++) {
		const char *at = strstr(out, subs[i][0]);
		size_t old = strlen(subs[i][0]);

		if (!at || strstr(at + 1, subs[i][0]) ||
				strlen(out) - old + strlen(subs[i][1]) >= cap) {
			return false;
		}
		snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int) (at - out), out, subs[i][1], at + old);
		strcpy(out, tmp);
	}
	return true;
}

/* The CTF 2 stream with its clock's fields holding v, in fields of width characters. */
static bool expect_ctf2(char *out, size_t cap, const char *stream, const char *clock,
		const struct lh_ctf_md_values *v, int width)
{
	char freq[32], seconds[32], cycles[32], fragment[1024];
	const char *values[][2] = {
		{ "1000000000", freq }, { "123456789", cycles }, { "1712345678", seconds },
	};
	const char *whole[][2] = { { clock, fragment } };

	snprintf(freq, sizeof(freq), "%-*" PRIu64, width, v->freq);
	snprintf(seconds, sizeof(seconds), "%-*" PRIu64, width, v->offset / v->freq);
	snprintf(cycles, sizeof(cycles), "%-*" PRIu64, width, v->offset % v->freq);
	return substitute(fragment, sizeof(fragment), clock, values, 3) &&
		substitute(out, cap, stream, whole, 1);
}

static bool expect_tsdl(char *out, size_t cap, const struct lh_ctf_md_values *v, int width)
{
	char freq[64], offset[64];
	const char *values[][2] = {
		{ "freq = 1000000000; /*", freq }, { "offset = 1795639570593412007;", offset },
	};

	snprintf(freq, sizeof(freq), "freq = %-*" PRIu64 "; /*", width, v->freq);
	snprintf(offset, sizeof(offset), "offset = %-*" PRIu64 ";", width, v->offset);
	return substitute(out, cap, clock_text, values, 2);
}

/*
 * Feed len bytes of text to a new rewriter in messages of step bytes, or
 * cut in two at cut (neither: whole), then flush; out gets what
 * lttng-relayd writes, rep the report.
 */
static int run_plain(const char *text, size_t len, size_t cut, size_t step,
		const struct lh_ctf_md_values *v, struct sink *out, struct lh_ctf_md_report *rep)
{
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	size_t off = 0;
	int ret = 0;

	out->len = 0;
	out->msgs = 0;
	lh_ctf_md_rewriter_set_values(rw, v);
	while (off < len && !ret) {
		size_t n = step ? step : off < cut ? cut - off : len - off;

		if (n > len - off) {
			n = len - off;
		}
		ret = lh_ctf_md_rewriter_feed(rw, (const uint8_t *) text + off, n, 0, sink_emit, out);
		off += n;
	}
	if (!ret) {
		ret = lh_ctf_md_rewriter_flush(rw, sink_emit, out);
	}
	*rep = *lh_ctf_md_rewriter_report(rw);
	lh_ctf_md_rewriter_destroy(rw);
	out->buf[out->len] = '\0';
	return ret;
}

static bool same_report(const struct lh_ctf_md_report *a, const struct lh_ctf_md_report *b)
{
	return a->form == b->form && a->clock_found == b->clock_found &&
		a->has_offset == b->has_offset && a->offset == b->offset &&
		a->has_freq == b->has_freq && a->freq == b->freq &&
		a->rewritten == b->rewritten && a->left == b->left &&
		a->bad_packet == b->bad_packet;
}

static bool same_stream(const struct sink *a, const struct sink *b)
{
	return a->len == b->len && !memcmp(a->buf, b->buf, a->len);
}

struct plain_case {
	const char *name;
	const char *text;
	const char *clock;	/* CTF 2: the clock fragment in it */
	enum lh_ctf_md_form form;
	uint64_t guest_offset;
};

/*
 * A plain stream rewritten in flight, whole, cut in two at every byte,
 * and in messages of one byte: the same stream every time, since fields
 * grow as they need. Then the final fix, in the fields made wide enough.
 */
static void test_plain_case(const struct plain_case *pc)
{
	static struct sink whole, part;
	static char expect[MAX_STREAM], expect_final[MAX_STREAM];
	static uint8_t after[MAX_STREAM], again[MAX_STREAM];
	struct lh_ctf_md_report rep, part_rep;
	size_t len = strlen(pc->text), cut, differ = 0;
	char path[64];
	bool built;
	int fd;

	if (pc->clock) {
		built = expect_ctf2(expect, sizeof(expect), pc->text, pc->clock, &flight_values, 20) &&
			expect_ctf2(expect_final, sizeof(expect_final), pc->text, pc->clock,
				&final_values, 20);
	} else {
		built = expect_tsdl(expect, sizeof(expect), &flight_values, 20) &&
			expect_tsdl(expect_final, sizeof(expect_final), &final_values, 20);
	}
	ok(built, "%s: the expected streams", pc->name);
	ok(run_plain(pc->text, len, 0, 0, &flight_values, &whole, &rep) == 0 &&
		whole.len == strlen(expect) && !memcmp(whole.buf, expect, whole.len),
		"%s: rewritten in flight, the clock's fields only, 20 wide", pc->name);
	ok(rep.form == pc->form && rep.clock_found && rep.has_freq && rep.freq == 1000000000 &&
		rep.has_offset && rep.offset == pc->guest_offset && rep.rewritten == 2 &&
		rep.left == 0 && !rep.bad_packet,
		"%s: the guest's values reported, freq and offset rewritten", pc->name);
	for (cut = 1; cut < len; cut++) {
		if (run_plain(pc->text, len, cut, 0, &flight_values, &part, &part_rep) < 0 ||
				!same_stream(&part, &whole) || !same_report(&part_rep, &rep)) {
			differ++;
		}
	}
	ok(differ == 0, "%s: cut in two at each of %zu bytes: the same (%zu differ)", pc->name,
		len - 1, differ);
	ok(run_plain(pc->text, len, 0, 1, &flight_values, &part, &part_rep) == 0 &&
		same_stream(&part, &whole) && same_report(&part_rep, &rep),
		"%s: in %zu messages of one byte: the same", pc->name, len);

	/* At session end, on the file lttng-relayd wrote. */
	fd = write_tmp(whole.buf, whole.len, path);
	if (!ok(fd >= 0, "%s: temporary file", pc->name)) {
		skip(3, "no temporary file");
		return;
	}
	ok(lh_ctf_md_fix_fd(fd, &final_values, &rep) == 0 && rep.form == pc->form &&
		rep.rewritten == 2 && rep.left == 0 && rep.offset == flight_values.offset &&
		rep.freq == flight_values.freq,
		"%s: the final fix fits, and finds the values written in flight", pc->name);
	ok(read_back(fd, after, whole.len) == 0 && strlen(expect_final) == whole.len &&
		!memcmp(after, expect_final, whole.len),
		"%s: the final values in place, at the same length", pc->name);
	ok(lh_ctf_md_fix_fd(fd, &final_values, &rep) == 0 &&
		read_back(fd, again, whole.len) == 0 && !memcmp(after, again, whole.len),
		"%s: fixing twice equals fixing once", pc->name);
	close(fd);
	unlink(path);
}

static void test_plain_streams(void)
{
	const struct plain_case cases[] = {
		{ "TSDL", clock_text, NULL, LH_CTF_MD_FORM_TSDL, 1795639570593412007ULL },
		{ "CTF 2 UST", ust_stream, UST_CLOCK, LH_CTF_MD_FORM_CTF2, CTF2_GUEST_OFFSET },
		{ "CTF 2 kernel", kernel_stream, KERNEL_CLOCK, LH_CTF_MD_FORM_CTF2,
			CTF2_GUEST_OFFSET },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_plain_case(&cases[i]);
	}
}

/* A kernel clock fragment, its offset-from-origin's members given. */
#define KERNEL_CLOCK_OFFSET(members) \
	RS "{\"type\":\"clock-class\",\"name\":\"monotonic\",\"frequency\":1000000000," \
	"\"offset-from-origin\":{" members "}}\n"

/* A field as the rewriter writes it with flight_values: digits, then spaces, 20 wide. */
static const char *flight_field(char *buf, size_t size, const char *key, uint64_t v)
{
	snprintf(buf, size, "\"%s\":%-20" PRIu64, key, v);
	return buf;
}

/* Offsets the guest cannot have meant, and clocks whose name comes late. */
static void test_ctf2_odd_clocks(void)
{
	static struct sink out;
	const struct lh_ctf_md_values offset_only = {
		.set_offset = true, .offset = 5, .min_width = LH_CTF_MD_RESERVE_WIDTH,
	};
	const uint64_t f = flight_values.freq;
	struct lh_ctf_md_report rep;
	char freq[64], seconds[64], cycles[64];
	const char *text;

	flight_field(freq, sizeof(freq), "frequency", f);
	flight_field(seconds, sizeof(seconds), "seconds", flight_values.offset / f);
	flight_field(cycles, sizeof(cycles), "cycles", flight_values.offset % f);

	text = KERNEL_CLOCK_OFFSET("\"seconds\":-5,\"cycles\":7");
	ok(run_plain(text, strlen(text), 0, 0, &flight_values, &out, &rep) == 0 &&
		rep.clock_found && rep.has_freq && !rep.has_offset && rep.rewritten == 1 &&
		rep.left == 2 && strstr((char *) out.buf, freq) &&
		strstr((char *) out.buf, "{\"seconds\":-5,\"cycles\":7}"),
		"negative seconds: no offset reported, seconds and cycles left");
	text = KERNEL_CLOCK_OFFSET("\"seconds\":123456789012345678901,\"cycles\":7");
	ok(run_plain(text, strlen(text), 0, 0, &flight_values, &out, &rep) == 0 &&
		!rep.has_offset && rep.rewritten == 1 && rep.left == 2 &&
		strstr((char *) out.buf, "\"seconds\":123456789012345678901,\"cycles\":7}"),
		"seconds beyond 64 bits: no offset reported, seconds and cycles left");
	text = KERNEL_CLOCK_OFFSET("\"seconds\":99999999999,\"cycles\":7");
	ok(run_plain(text, strlen(text), 0, 0, &flight_values, &out, &rep) == 0 &&
		!rep.has_offset && rep.rewritten == 2 && rep.left == 0 &&
		strstr((char *) out.buf, seconds) && strstr((char *) out.buf, cycles),
		"seconds * frequency beyond 64 bits: no offset reported, rewritten");
	text = KERNEL_CLOCK_OFFSET("\"seconds\":1,\"cycles\":1500000000");
	ok(run_plain(text, strlen(text), 0, 0, &flight_values, &out, &rep) == 0 &&
		rep.has_offset && rep.offset == 2500000000ULL && rep.rewritten == 2 &&
		rep.left == 0 && strstr((char *) out.buf, seconds) && strstr((char *) out.buf, cycles),
		"cycles beyond the frequency: reported as found, rewritten right");

	text = RS "{\"type\":\"clock-class\",\"frequency\":1000000000,"
		"\"offset-from-origin\":{\"seconds\":1,\"cycles\":2},\"name\":\"monotonic\"}\n";
	ok(run_plain(text, strlen(text), 0, 0, &flight_values, &out, &rep) == 0 &&
		rep.clock_found && rep.rewritten == 1 && rep.left == 2 &&
		strstr((char *) out.buf, freq) &&
		strstr((char *) out.buf, "{\"seconds\":1,\"cycles\":2}"),
		"name after the offset: frequency rewritten, seconds and cycles left");
	text = RS "{\"type\":\"clock-class\",\"name\":\"monotonic\","
		"\"offset-from-origin\":{\"seconds\":1,\"cycles\":2}}\n";
	ok(run_plain(text, strlen(text), 0, 0, &offset_only, &out, &rep) == 0 &&
		rep.clock_found && !rep.has_freq && rep.rewritten == 0 && rep.left == 2 &&
		!strcmp((char *) out.buf, text),
		"no frequency to split an offset with: seconds and cycles left");
	/*
	 * Quotes and a backslash escaped: a string ends at its last quote
	 * only; and seconds and cycles count in offset-from-origin only.
	 */
	text = RS "{\"type\":\"clock-class\",\"name\":\"monotonic\","
		"\"description\":\"a\\\",\\\"frequency\\\":7,\\\"b\\\\\",\"uid\":\"\\\"\","
		"\"frequency\":1000000000,\"attributes\":{\"seconds\":5,\"cycles\":6},"
		"\"offset-from-origin\":{\"seconds\":1,\"cycles\":2}}\n";
	ok(run_plain(text, strlen(text), 0, 0, &flight_values, &out, &rep) == 0 &&
		rep.rewritten == 2 && rep.left == 0 && strstr((char *) out.buf, freq) &&
		strstr((char *) out.buf, seconds) && strstr((char *) out.buf, cycles) &&
		strstr((char *) out.buf, "\\\"frequency\\\":7,") &&
		strstr((char *) out.buf, "{\"seconds\":5,\"cycles\":6}"),
		"escaped quotes, seconds elsewhere: only the clock's own members rewritten");
}

/* Only decoys: nothing found, nothing changed. */
static void test_ctf2_decoys(void)
{
	static struct sink out;
	static char text[MAX_STREAM];
	struct lh_ctf_md_report rep;
	const char *at;

	/* The two streams without their clock. */
	at = strstr(ust_stream, UST_CLOCK);
	snprintf(text, sizeof(text), "%.*s%s", (int) (at - ust_stream), ust_stream,
		at + strlen(UST_CLOCK));
	at = strstr(kernel_stream, KERNEL_CLOCK);
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "%.*s%s",
		(int) (at - kernel_stream), kernel_stream, at + strlen(KERNEL_CLOCK));
	ok(run_plain(text, strlen(text), 0, 0, &flight_values, &out, &rep) == 0 &&
		!strcmp((char *) out.buf, text), "decoys: the stream passes untouched");
	ok(rep.form == LH_CTF_MD_FORM_CTF2 && !rep.clock_found && !rep.has_freq &&
		!rep.has_offset && rep.rewritten == 0 && rep.left == 0, "decoys: no clock found");
}

/*
 * A guest that never ends what it began (a string while a frequency
 * waits for its clock's name, a number, its spaces): what the rewriter
 * holds stays under LH_CTF_MD_HOLD_MAX, and every byte goes out.
 */
static void test_plain_hold_bounded(void)
{
	static const struct {
		const char *start;
		char fill;
	} cases[] = {
		{ RS "{\n  \"frequency\": 1000000000,\n  \"id\": \"", 'a' },
		{ "clock {\n\tname = \"monotonic\";\n\toffset = 1", '7' },
		{ RS "{\"type\":\"clock-class\",\"name\":\"monotonic\",\"frequency\":1000000000,"
			"\"offset-from-origin\":{\"seconds\":1", ' ' },
	};
	static const char end[] = "\",\n  \"name\": \"monotonic\"\n}";
	/* Values that fit: the bytes out are the bytes in. */
	const struct lh_ctf_md_values fit = {
		.set_offset = true, .offset = 42, .set_freq = true, .freq = 999999950,
	};
	static uint8_t msg[1000];
	const size_t sizes[] = { sizeof(msg), 1 };
	size_t c, z;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (z = 0; z < 2; z++) {
			struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
			struct count_sink sink = { .bytes = 0 };
			size_t fed = strlen(cases[c].start), most = 0, i;
			bool fed_ok;

			lh_ctf_md_rewriter_set_values(rw, &fit);
			fed_ok = lh_ctf_md_rewriter_feed(rw, (const uint8_t *) cases[c].start, fed, 0,
				count_emit, &sink) == 0;
			memset(msg, cases[c].fill, sizeof(msg));
			for (i = 0; i < 64 * sizeof(msg) / sizes[z] && fed_ok; i++) {
				fed_ok = lh_ctf_md_rewriter_feed(rw, msg, sizes[z], 0, count_emit,
					&sink) == 0;
				fed += sizes[z];
				if (fed - sink.bytes > most) {
					most = fed - sink.bytes;
				}
			}
			ok(fed_ok && most <= LH_CTF_MD_HOLD_MAX,
				"plain, 64000 '%c' in messages of %zu: at most %zu bytes held",
				cases[c].fill, sizes[z], most);
			if (c == 0 && z == 0) {
				/* The string ends at last: the frequency was given up. */
				lh_ctf_md_rewriter_feed(rw, (const uint8_t *) end, strlen(end), 0,
					count_emit, &sink);
				fed += strlen(end);
				ok(lh_ctf_md_rewriter_report(rw)->clock_found &&
					lh_ctf_md_rewriter_report(rw)->left == 1,
					"a frequency held too long is left");
			}
			ok(lh_ctf_md_rewriter_flush(rw, count_emit, &sink) == 0 && sink.bytes == fed,
				"'%c' in messages of %zu: every byte emitted in the end",
				cases[c].fill, sizes[z]);
			lh_ctf_md_rewriter_destroy(rw);
		}
	}
}

/* The form told from the first bytes, told again after a reset. */
static void test_forms(void)
{
	static uint8_t pkt[4096];
	static struct sink out;
	const size_t sig = strlen("/* CTF 1.8 */");
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	const struct lh_ctf_md_report *rep = lh_ctf_md_rewriter_report(rw);
	size_t len = make_packet(pkt, clock_text, strlen(clock_text), 4096, 0);

	ok(!strcmp(lh_ctf_md_form_name(LH_CTF_MD_FORM_PACKETIZED), "packetized") &&
		!strcmp(lh_ctf_md_form_name(LH_CTF_MD_FORM_TSDL), "tsdl") &&
		!strcmp(lh_ctf_md_form_name(LH_CTF_MD_FORM_CTF2), "ctf2") &&
		!strcmp(lh_ctf_md_form_name(LH_CTF_MD_FORM_UNKNOWN), "unknown"), "form names");
	lh_ctf_md_rewriter_set_values(rw, &new_values);
	lh_ctf_md_rewriter_feed(rw, pkt, 0, 0, sink_emit, &out);
	ok(rep->form == LH_CTF_MD_FORM_UNKNOWN && out.msgs == 1, "an empty message: no form yet");
	lh_ctf_md_rewriter_feed(rw, pkt, len, (uint32_t) (4096 - len), sink_emit, &out);
	ok(rep->form == LH_CTF_MD_FORM_PACKETIZED && rep->rewritten == 2, "a packet: packetized");

	/* The kernel consumer sends its signature as a message of its own. */
	lh_ctf_md_rewriter_reset(rw);
	lh_ctf_md_rewriter_feed(rw, (const uint8_t *) clock_text, sig, 0, sink_emit, &out);
	lh_ctf_md_rewriter_feed(rw, (const uint8_t *) clock_text + sig, strlen(clock_text) - sig,
		0, sink_emit, &out);
	ok(rep->form == LH_CTF_MD_FORM_TSDL && rep->rewritten == 4 && rep->left == 0 &&
		!rep->bad_packet, "reset, then a signature alone and TSDL text: plain TSDL");
	lh_ctf_md_rewriter_reset(rw);
	lh_ctf_md_rewriter_feed(rw, (const uint8_t *) KERNEL_CLOCK, strlen(KERNEL_CLOCK), 0,
		sink_emit, &out);
	ok(rep->form == LH_CTF_MD_FORM_CTF2 && rep->rewritten == 6, "reset, then CTF 2");
	lh_ctf_md_rewriter_destroy(rw);
}

/* The final fix of a CTF 2 file the rewriter never saw: what does not fit is left. */
static void test_fix_ctf2_no_room(void)
{
	const struct lh_ctf_md_values v = {
		.set_offset = true, .offset = 17123456780000000000ULL,
		.set_freq = true, .freq = 1000000000,
	};
	const char *text = KERNEL_CLOCK;
	struct lh_ctf_md_report rep;
	char after[1024];
	size_t len = strlen(text);
	char path[64];
	int fd = write_tmp((const uint8_t *) text, len, path);

	if (!ok(fd >= 0, "CTF 2 file: temporary file")) {
		skip(2, "no temporary file");
		return;
	}
	ok(lh_ctf_md_fix_fd(fd, &v, &rep) == 0 && rep.form == LH_CTF_MD_FORM_CTF2 &&
		rep.has_offset && rep.offset == CTF2_GUEST_OFFSET && rep.rewritten == 1 &&
		rep.left == 1, "CTF 2 file: 11-digit seconds left, frequency and cycles fixed");
	read_back(fd, (uint8_t *) after, len);
	after[len] = '\0';
	ok(strstr(after, "{\"seconds\":1712345678,\"cycles\":0        }}\n") != NULL,
		"CTF 2 file: in place, padded with spaces");
	close(fd);
	unlink(path);
}

/* A guest that writes a clock of many fields gets them widened only so much. */
static void test_plain_growth_bounded(void)
{
	static char text[MAX_STREAM];
	static struct sink out;
	struct lh_ctf_md_report rep;
	size_t len, i;
	int ret;

	strcpy(text, "clock {\n\tname = \"monotonic\";\n");
	for (i = 0; i < 500; i++) {
		strcat(text, "\tfreq = 1;\n");
	}
	strcat(text, "};\n");
	len = strlen(text);
	ret = run_plain(text, len, 0, 0, &flight_values, &out, &rep);
	ok(ret == 0 && out.len <= len + len / 4 + LH_CTF_MD_GROW_SLACK && rep.left > 0 &&
		rep.rewritten + rep.left == 500,
		"500 fields: %zu bytes grew to %zu, %u fields left", len, out.len, rep.left);
}

int main(void)
{
	plan_tests(NUM_TESTS);
	test_one_packet(1);
	test_one_packet(0);
	test_straddle_packets();
	test_straddle_messages();
	test_no_room();
	test_reserve_only();
	test_flush_mid_value();
	test_bad_packet();
	test_fix_file();
	test_fix_plain();
	test_hold_bounded();
	test_hold_tail();
	test_cut_anywhere();
	test_grow_then_zeros();
	test_no_merge();
	test_plain_streams();
	test_ctf2_odd_clocks();
	test_ctf2_decoys();
	test_plain_hold_bounded();
	test_forms();
	test_fix_ctf2_no_room();
	test_plain_growth_bounded();
	return exit_status();
}
