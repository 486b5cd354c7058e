/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the CTF metadata clock rewriter and file fixer
 * (src/common/ctf-metadata.h) on synthetic packetized metadata.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ctf-metadata.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	55

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
	ok(ret == 0 && sink.msgs == 0 && lh_ctf_md_rewriter_holding(rw),
		"value straddling packets: first message held");
	ret = lh_ctf_md_rewriter_feed(rw, p2, l2, (uint32_t) (2048 - l2), sink_emit, &sink);
	ok(ret == 0 && sink.msgs == 2 && !lh_ctf_md_rewriter_holding(rw),
		"both emitted when the value ends");
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

static void test_bad_packet(void)
{
	struct lh_ctf_md_rewriter *rw = lh_ctf_md_rewriter_create();
	struct sink sink = { .len = 0 };

	lh_ctf_md_rewriter_set_values(rw, &new_values);
	ok(lh_ctf_md_rewriter_feed(rw, (const uint8_t *) clock_text, strlen(clock_text), 0,
		sink_emit, &sink) == 0 && sink.len == strlen(clock_text) &&
		!memcmp(sink.buf, clock_text, sink.len), "not packetized: passed untouched");
	ok(lh_ctf_md_rewriter_report(rw)->bad_packet, "not packetized: reported");
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
	return exit_status();
}
