/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/):
 * the golden bytes and the messages of the unit tests (tests/unit/),
 * in each target's input format (see the comment at the top of each
 * tests/fuzz/fuzz_*.c). The corpora are committed; run "make fuzz-seeds"
 * after changing a target's input format or a unit test's vectors.
 *
 * Usage: gen-seeds DIR (DIR/<target>/ must exist, or are made).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lttng-hyper/frame.h>

#include "common/bytes.h"
#include "common/ctf-metadata.h"
#include "common/defaults.h"
#include "common/relayd-msg.h"

static const char *top;

struct seed {
	uint8_t buf[16384];
	size_t len;
};

static void u8(struct seed *s, uint8_t v)
{
	if (s->len == sizeof(s->buf)) {
		fprintf(stderr, "gen-seeds: seed too large\n");
		exit(EXIT_FAILURE);
	}
	s->buf[s->len++] = v;
}

static void bytes(struct seed *s, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		u8(s, b[i]);
	}
}

static void be16(struct seed *s, uint16_t v)
{
	u8(s, (uint8_t) (v >> 8));
	u8(s, (uint8_t) v);
}

static void be32(struct seed *s, uint32_t v)
{
	be16(s, (uint16_t) (v >> 16));
	be16(s, (uint16_t) v);
}

static void be64(struct seed *s, uint64_t v)
{
	be32(s, (uint32_t) (v >> 32));
	be32(s, (uint32_t) v);
}

static void le32(struct seed *s, uint32_t v)
{
	u8(s, (uint8_t) v);
	u8(s, (uint8_t) (v >> 8));
	u8(s, (uint8_t) (v >> 16));
	u8(s, (uint8_t) (v >> 24));
}

static void le64(struct seed *s, uint64_t v)
{
	le32(s, (uint32_t) v);
	le32(s, (uint32_t) (v >> 32));
}

static void write_seed(const char *target, const char *name, const struct seed *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(EXIT_FAILURE);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", top, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f)) {
		perror(path);
		exit(EXIT_FAILURE);
	}
}

/* --- frame: tests/unit/test_frame.c ------------------------------------ */

/* doc/protocol.md, worked example: the host's HELLO naming the VM "vm1". */
static const uint8_t golden_hello[] = {
	0x4c, 0x48, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00,
	0x03, 0x76, 0x6d, 0x31,
};

/* doc/protocol.md, worked example: DATA on connection 1 carrying RELAYD_VERSION 2.13. */
static const uint8_t golden_data[] = {
	0x4c, 0x48, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
	0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0d,
};

/* CLOCK_ESTIMATE for VM "l2" (test_frame.c). */
static const uint8_t golden_clock_estimate[] = {
	0x4c, 0x48, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x42, 0x00, 0x02, 0x00, 0x00,
	0x6c, 0x32,
	0x00, 0x00, 0x00, 0xe8, 0xd4, 0xa5, 0x10, 0x00,
	0x00, 0x00, 0x01, 0xd1, 0xa9, 0x4a, 0x20, 0x00,
	0xff, 0xff, 0xff, 0xfa, 0x2d, 0xe2, 0x46, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4e, 0x20,
	0x00, 0x00, 0x00, 0xe6, 0x80, 0x99, 0x2c, 0x00,
	0x00, 0x00, 0x00, 0xeb, 0x28, 0xb0, 0xf4, 0x00,
	0x00, 0x00, 0x01, 0x2c, 0x00, 0x0c, 0x01, 0x00,
};

static void frame(struct seed *s, uint8_t type, uint32_t conn_id, const char *path,
		const uint8_t *body, size_t len)
{
	struct lttng_hyper_frame_header hdr = {
		.type = type,
		.conn_id = conn_id,
		.length = (uint32_t) ((path ? strlen(path) : 0) + len),
		.path_len = (uint16_t) (path ? strlen(path) : 0),
	};
	uint8_t h[LTTNG_HYPER_FRAME_HEADER_LEN];

	lttng_hyper_frame_header_encode(&hdr, h);
	bytes(s, h, sizeof(h));
	if (path) {
		bytes(s, path, strlen(path));
	}
	bytes(s, body, len);
}

static void seeds_frame(void)
{
	const struct lttng_hyper_hello guest_hello = {
		.major = LTTNG_HYPER_PROTO_MAJOR, .minor = LTTNG_HYPER_PROTO_MINOR,
		.caps = LTTNG_HYPER_CAP_CLOCK_SYNC | LTTNG_HYPER_CAP_NESTED,
		.max_frame = LTTNG_HYPER_FRAME_MAX_LEN, .window = 2U << 20,
	};
	const struct lttng_hyper_clock_reply reply = {
		.seq = 7, .host_send_ns = 1000, .guest_ns = 5000, .clock_id = 1,
	};
	struct seed s = { .len = 0 };
	uint8_t body[128];
	size_t n;

	u8(&s, 0);
	bytes(&s, golden_hello, sizeof(golden_hello));
	write_seed("frame", "golden-hello", &s);
	s.len = 0;
	u8(&s, 0);
	bytes(&s, golden_data, sizeof(golden_data));
	write_seed("frame", "golden-data", &s);
	s.len = 0;
	u8(&s, 0);
	bytes(&s, golden_clock_estimate, sizeof(golden_clock_estimate));
	write_seed("frame", "golden-clock-estimate", &s);

	/* A guest's channel: every frame type it sends, in a plausible order. */
	s.len = 0;
	u8(&s, 0);
	n = lttng_hyper_hello_encode(&guest_hello, body);
	frame(&s, LTTNG_HYPER_FRAME_HELLO, 0, NULL, body, n);
	n = lttng_hyper_open_encode(LTTNG_HYPER_CONN_CONTROL, body);
	frame(&s, LTTNG_HYPER_FRAME_OPEN, 1, NULL, body, n);
	n = lttng_hyper_open_encode(LTTNG_HYPER_CONN_DATA, body);
	frame(&s, LTTNG_HYPER_FRAME_OPEN, 3, "l2/l3", body, n);
	frame(&s, LTTNG_HYPER_FRAME_DATA, 1, NULL, golden_data + 16, 32);
	n = lttng_hyper_u32_encode(65536, body);
	frame(&s, LTTNG_HYPER_FRAME_CREDIT, 1, NULL, body, n);
	n = lttng_hyper_u64_encode(0x0123456789abcdefULL, body);
	frame(&s, LTTNG_HYPER_FRAME_PING, 0, NULL, body, n);
	frame(&s, LTTNG_HYPER_FRAME_PONG, 0, NULL, body, n);
	n = lttng_hyper_clock_probe_encode(7, 1000, body);
	frame(&s, LTTNG_HYPER_FRAME_CLOCK_PROBE, 0, NULL, body, n);
	n = lttng_hyper_clock_reply_encode(&reply, body);
	frame(&s, LTTNG_HYPER_FRAME_CLOCK_REPLY, 0, NULL, body, n);
	bytes(&s, golden_clock_estimate, sizeof(golden_clock_estimate));
	frame(&s, LTTNG_HYPER_FRAME_CLOSE, 1, NULL, NULL, 0);
	n = lttng_hyper_u32_encode(LTTNG_HYPER_RESET_PROTOCOL, body);
	frame(&s, LTTNG_HYPER_FRAME_RESET, 3, NULL, body, n);
	write_seed("frame", "guest-session", &s);
	/* The channel target's first byte picks a memory limit: the larger, 0. */
	write_seed("channel", "guest-session", &s);
}

/* --- relayd_msg_2_1x: tests/unit/test_relayd_msg.c ----------------------- */

static const uint8_t guest_uuid[LH_RELAYD_UUID_LEN] = {
	0x3c, 0x1f, 0x5e, 0x22, 0x90, 0x41, 0x4b, 0x17,
	0x8a, 0x6e, 0x01, 0xd2, 0xc3, 0x7f, 0x55, 0xaa,
};

/* A control message starts here; msg_end() fixes its data_size. */
static size_t msg_start(struct seed *s, uint32_t cmd)
{
	size_t start = s->len;

	be64(s, 0);
	be64(s, 0);
	be32(s, cmd);
	be32(s, 0);
	return start;
}

static void msg_end(struct seed *s, size_t start)
{
	lh_put_be64(s->buf + start + 8, s->len - start - LH_RELAYD_CTRL_HDR_LEN);
}

static void build_version(struct seed *s, uint32_t minor)
{
	size_t m = msg_start(s, LH_RELAYD_VERSION);

	be32(s, 2);
	be32(s, minor);
	msg_end(s, m);
}

/* A string and its NUL, or nothing for NULL. */
static uint32_t str_len(const char *str)
{
	return str ? (uint32_t) strlen(str) + 1 : 0;
}

/* trace_format 0: the 2.11 layout; 1 or 2: the 2.15 one, CTF 1.8 or 2. */
static void build_create_session(struct seed *s, uint8_t name_has_time, const char *name,
		const char *host, const char *base, uint32_t trace_format)
{
	size_t m = msg_start(s, LH_RELAYD_CREATE_SESSION);

	be32(s, str_len(name));
	be32(s, str_len(host));
	be32(s, str_len(base));
	be32(s, 0);			/* live_timer */
	u8(s, 0);			/* snapshot */
	u8(s, name_has_time);
	bytes(s, guest_uuid, sizeof(guest_uuid));
	be64(s, 4);			/* sessiond session id */
	be64(s, 1700000000);
	u8(s, 1);			/* current_chunk_id.is_set */
	be64(s, 0);
	if (trace_format) {
		be32(s, trace_format);
	}
	bytes(s, name, str_len(name));
	bytes(s, host, str_len(host));
	if (base) {
		bytes(s, base, str_len(base));
	}
	msg_end(s, m);
}

static void build_add_stream(struct seed *s, const char *channel, const char *path,
		uint64_t tracefile_size, uint64_t tracefile_count)
{
	size_t m = msg_start(s, LH_RELAYD_ADD_STREAM);

	be32(s, str_len(channel));
	be32(s, str_len(path));
	be64(s, tracefile_size);
	be64(s, tracefile_count);
	be64(s, 0);
	bytes(s, channel, str_len(channel));
	bytes(s, path, str_len(path));
	msg_end(s, m);
}

static void build_ids(struct seed *s, uint32_t cmd, uint64_t id, bool second)
{
	size_t m = msg_start(s, cmd);

	be64(s, id);
	if (second) {
		be64(s, 99);
	}
	msg_end(s, m);
}

/* Each message of the unit tests that lttng 2.13 sends, through fn(name, seed). */
static void relayd_messages(void (*fn)(const char *name, const struct seed *s))
{
	static const size_t rotate_headers[] = { 13, 16, 20 };
	struct seed s;
	size_t m, i;
	char name[32];

#define ONE(n, build) do { s.len = 0; build; fn(n, &s); } while (0)
	ONE("version-2.11", build_version(&s, 11));
	ONE("version-2.13", build_version(&s, 13));
	ONE("version-2.15", build_version(&s, 15));
	ONE("create-session", build_create_session(&s, 1, "auto-20240101-120000",
		"a-rather-long-guest-hostname", "", 0));
	ONE("create-session-base", build_create_session(&s, 0, "s", "h", "traces/run-1/", 0));
	ONE("create-session-no-base", build_create_session(&s, 0, "s", "h", NULL, 0));
	/* lttng 2.15 and 2.16, protocol 2.15: the trace format after the fixed part. */
	ONE("create-session-ctf2", build_create_session(&s, 1, "auto-20260101-120000",
		"h", "", 2));
	ONE("create-session-ctf1.8", build_create_session(&s, 0, "s", "h", "traces/run-1/", 1));
	ONE("add-stream", build_add_stream(&s, "channel0_0", "ust/uid/1000/64-bit", 0, 0));
	ONE("add-stream-metadata", build_add_stream(&s, "metadata", "kernel/", 0, 0));
	ONE("add-stream-tracefiles", build_add_stream(&s, "channel0_0", "ust/uid/1000/64-bit",
		1 << 20, 4));
	ONE("close-stream", build_ids(&s, LH_RELAYD_CLOSE_STREAM, 8, true));
	ONE("data-pending", build_ids(&s, LH_RELAYD_DATA_PENDING, 7, true));
	ONE("reset-metadata", build_ids(&s, LH_RELAYD_RESET_METADATA, 9, true));
	ONE("quiescent-control", build_ids(&s, LH_RELAYD_QUIESCENT_CONTROL, 10, false));
	ONE("begin-data-pending", build_ids(&s, LH_RELAYD_BEGIN_DATA_PENDING, 3, false));
	ONE("end-data-pending", build_ids(&s, LH_RELAYD_END_DATA_PENDING, 3, false));
	ONE("trace-chunk-exists", build_ids(&s, LH_RELAYD_TRACE_CHUNK_EXISTS, 1, false));
	ONE("get-configuration", build_ids(&s, LH_RELAYD_GET_CONFIGURATION, 0, false));
	ONE("streams-sent", msg_end(&s, msg_start(&s, LH_RELAYD_STREAMS_SENT)));

	s.len = 0;
	m = msg_start(&s, LH_RELAYD_SEND_INDEX);
	for (i = 0; i < 10; i++) {
		be64(&s, i == 0 ? 11 : i);
	}
	msg_end(&s, m);
	fn("send-index", &s);

	s.len = 0;
	m = msg_start(&s, LH_RELAYD_SEND_METADATA);
	be64(&s, 12);
	be32(&s, 100);
	bytes(&s, "/* CTF 1.8 */", 13);
	msg_end(&s, m);
	fn("send-metadata", &s);

	s.len = 0;
	m = msg_start(&s, LH_RELAYD_CREATE_TRACE_CHUNK);
	be64(&s, 1);
	be64(&s, 1700000000);
	be32(&s, str_len("20240101T120000+0000-1"));
	bytes(&s, "20240101T120000+0000-1", str_len("20240101T120000+0000-1"));
	msg_end(&s, m);
	fn("create-trace-chunk", &s);

	s.len = 0;
	m = msg_start(&s, LH_RELAYD_CLOSE_TRACE_CHUNK);
	be64(&s, 1);
	be64(&s, 1700000100);
	u8(&s, 1);
	be32(&s, 0);
	msg_end(&s, m);
	fn("close-trace-chunk", &s);

	/* The three ABIs of struct lttcomm_relayd_rotate_streams. */
	for (i = 0; i < 3; i++) {
		s.len = 0;
		m = msg_start(&s, LH_RELAYD_ROTATE_STREAMS);
		be32(&s, 2);
		u8(&s, 1);
		while (s.len < m + LH_RELAYD_CTRL_HDR_LEN + rotate_headers[i] - 8) {
			u8(&s, 0);
		}
		be64(&s, 5);
		be64(&s, 21);
		be64(&s, 100);
		be64(&s, 22);
		be64(&s, 200);
		msg_end(&s, m);
		snprintf(name, sizeof(name), "rotate-streams-%zu", rotate_headers[i]);
		fn(name, &s);
	}
#undef ONE
}

/* The relayd_msg targets: a flags byte (0: the channel's own VM, 1: nested), the message. */
static void relayd_msg_seed(const char *name, const struct seed *msg)
{
	static const char *const targets[] = {
		"relayd_msg_2_11", "relayd_msg_2_12", "relayd_msg_2_13", "relayd_msg_2_14",
		"relayd_msg_2_15",
	};
	struct seed s;
	size_t i;

	s.len = 0;
	u8(&s, 0);
	bytes(&s, msg->buf, msg->len);
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		write_seed(targets[i], name, &s);
	}
	if (!strncmp(name, "create-session", 14)) {
		char nested[64];

		s.buf[0] = 1;
		snprintf(nested, sizeof(nested), "nested-%s", name);
		for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
			write_seed(targets[i], nested, &s);
		}
	}
}

/* --- ctf_rewrite, ctf_fix: tests/unit/test_ctf_metadata.c --------------- */

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
	"typealias integer {\n\tsize = 64;\n\tmap = clock.monotonic.value;\n"
	"} := uint64_clock_monotonic_t;\n";

#define MD_HDR_LEN	37
/* Indexes in fuzz_ctf_values (fuzz-ctf.h): 42 and 999999950, as the unit tests write. */
#define VALUE_42	3
#define VALUE_FREQ	4
/* Flags of fuzz-ctf.h: set offset, set freq, minimum width 20. */
#define CTF_SET_BOTH	0x06
#define CTF_WIDTH	0x08

/* A metadata packet (header, text), and packet_len - header - len bytes of padding. */
static void md_packet(struct seed *s, const char *text, size_t len, size_t packet_len, bool be,
		bool with_padding)
{
	void (*put32)(struct seed *, uint32_t) = be ? be32 : le32;
	uint8_t uuid[16] = { 0 };

	put32(s, 0x75D11D57U);
	bytes(s, uuid, sizeof(uuid));
	put32(s, 0);				/* checksum */
	put32(s, (uint32_t) ((MD_HDR_LEN + len) * 8));
	put32(s, (uint32_t) (packet_len * 8));
	u8(s, 0);
	u8(s, 0);
	u8(s, 0);
	u8(s, 1);
	u8(s, 8);
	bytes(s, text, len);
	if (with_padding) {
		size_t i;

		for (i = MD_HDR_LEN + len; i < packet_len; i++) {
			u8(s, 0);
		}
	}
}

#define RS	"\x1e"

/* CTF 2 as the session daemon writes it (lttng-ust): pretty-printed, keys sorted. */
static const char ust_ctf2[] =
	RS "{\n  \"type\": \"preamble\",\n  \"uuid\": [\n    47,\n    94\n  ],\n"
	"  \"version\": 2\n}"
	RS "{\n"
	"  \"environment\": {\n"
	"    \"frequency\": 1000000000,\n"
	"    \"hostname\": \"evil\\\", \\\"frequency\\\": 7, \\\"name\\\": \\\"monotonic\",\n"
	"    \"name\": \"monotonic\",\n"
	"    \"offset-from-origin\": {\n"
	"      \"cycles\": 123456789,\n"
	"      \"seconds\": 1712345678\n"
	"    }\n"
	"  },\n"
	"  \"name\": \"\",\n"
	"  \"type\": \"trace-class\"\n"
	"}"
	RS "{\n"
	"  \"description\": \"Monotonic Clock\",\n"
	"  \"frequency\": 1000000000,\n"
	"  \"id\": \"monotonic\",\n"
	"  \"name\": \"monotonic\",\n"
	"  \"offset-from-origin\": {\n"
	"    \"cycles\": 123456789,\n"
	"    \"seconds\": 1712345678\n"
	"  },\n"
	"  \"origin\": \"unix-epoch\",\n"
	"  \"type\": \"clock-class\",\n"
	"  \"uid\": \"5a1c3e2e-1b0e-4d5c-9f4e-2b7d6c1a0f33\"\n"
	"}"
	RS "{\n"
	"  \"default-clock-class-id\": \"monotonic\",\n"
	"  \"id\": 0,\n"
	"  \"type\": \"data-stream-class\"\n"
	"}";

/* As lttng-modules writes it: compact, "type" first, a newline after each fragment. */
static const char kernel_ctf2[] =
	RS "{\"type\":\"preamble\",\"version\":2,\"uuid\":[47,94]}\n"
	RS "{\"type\":\"trace-class\",\"environment\":{\"domain\":\"kernel\","
	"\"hostname\":\"a\\\"b\\\\\",\"name\":\"monotonic\",\"frequency\":1000000000}}\n"
	RS "{\"type\":\"clock-class\",\"id\":\"monotonic\",\"name\":\"monotonic\","
	"\"uid\":\"5a1c3e2e-1b0e-4d5c-9f4e-2b7d6c1a0f33\",\"description\":\"Monotonic Clock\","
	"\"frequency\":1000000000,\"origin\":\"unix-epoch\","
	"\"offset-from-origin\":{\"seconds\":1712345678,\"cycles\":123456789}}\n"
	RS "{\"type\":\"clock-class\",\"name\":\"monotonic\",\"frequency\":1000000000,"
	"\"offset-from-origin\":{\"seconds\":-5,\"cycles\":7}}\n";

/* Plain flag of ctf_rewrite: the text as it is, 0xfe cutting messages. */
#define CTF_PLAIN	0x80

static int seed_emit(void *arg, const uint8_t *data, size_t len, uint32_t padding)
{
	struct seed *s = arg;

	bytes(s, data, len);
	while (padding--) {
		u8(s, 0);
	}
	return 0;
}

/* text with a cut (0xfe) before each of the offsets in cuts, then nothing. */
static void cut_text(struct seed *s, const char *text, const size_t *cuts, size_t nr_cuts)
{
	size_t from = 0, i, len = strlen(text);

	for (i = 0; i < nr_cuts; i++) {
		bytes(s, text + from, cuts[i] - from);
		u8(s, 0xfe);
		from = cuts[i];
	}
	bytes(s, text + from, len - from);
}

/* Plain metadata, as lttng 2.14 and later send it and lttng-relayd writes it. */
static void seeds_ctf_plain(void)
{
	const struct lh_ctf_md_values reserve = {
		.set_offset = true, .offset = 42, .set_freq = true, .freq = 999999950,
		.min_width = LH_CTF_MD_RESERVE_WIDTH,
	};
	const size_t sig[] = { 13 };
	const size_t ust_cuts[] = {
		(size_t) (strstr(ust_ctf2, "\"frequency\": 1000000000,\n  \"id\"") - ust_ctf2) + 15,
		(size_t) (strstr(ust_ctf2, "\"seconds\": 1712345678\n  }") - ust_ctf2) + 13,
	};
	const size_t kernel_cuts[] = {
		(size_t) (strstr(kernel_ctf2, "\"cycles\":123456789}") - kernel_ctf2) + 11,
	};
	struct lh_ctf_md_rewriter *rw;
	struct seed s;

	/* ctf_rewrite, plain: the kernel's signature as a message of its own. */
	s.len = 0;
	u8(&s, CTF_PLAIN | CTF_SET_BOTH | CTF_WIDTH);
	u8(&s, VALUE_42);
	u8(&s, VALUE_FREQ);
	cut_text(&s, clock_text, sig, 1);
	write_seed("ctf_rewrite", "plain-tsdl", &s);
	s.len = 3;
	cut_text(&s, ust_ctf2, ust_cuts, 2);
	write_seed("ctf_rewrite", "plain-ctf2-ust", &s);
	s.len = 3;
	cut_text(&s, kernel_ctf2, kernel_cuts, 1);
	write_seed("ctf_rewrite", "plain-ctf2-kernel", &s);
	s.buf[0] = CTF_PLAIN | 0x40;
	write_seed("ctf_rewrite", "plain-ctf2-report-only", &s);
	/* ctf_rewrite, raw: CTF 2 in two messages, the second with padding. */
	s.len = 0;
	u8(&s, 0x10 | CTF_SET_BOTH | CTF_WIDTH);
	u8(&s, VALUE_42);
	u8(&s, VALUE_FREQ);
	be16(&s, (uint16_t) kernel_cuts[0]);
	be16(&s, 0);
	bytes(&s, kernel_ctf2, kernel_cuts[0]);
	be16(&s, (uint16_t) (strlen(kernel_ctf2) - kernel_cuts[0]));
	be16(&s, 16);
	bytes(&s, kernel_ctf2 + kernel_cuts[0], strlen(kernel_ctf2) - kernel_cuts[0]);
	write_seed("ctf_rewrite", "raw-ctf2", &s);

	/* ctf_fix: CTF 2 files, as sent, then as the rewriter widened them. */
	s.len = 0;
	u8(&s, CTF_SET_BOTH);
	u8(&s, VALUE_42);
	u8(&s, VALUE_FREQ);
	bytes(&s, ust_ctf2, strlen(ust_ctf2));
	write_seed("ctf_fix", "ctf2-ust", &s);
	s.len = 3;
	bytes(&s, kernel_ctf2, strlen(kernel_ctf2));
	write_seed("ctf_fix", "ctf2-kernel", &s);
	s.len = 3;
	rw = lh_ctf_md_rewriter_create();
	if (!rw) {
		fprintf(stderr, "gen-seeds: out of memory\n");
		exit(EXIT_FAILURE);
	}
	lh_ctf_md_rewriter_set_values(rw, &reserve);
	if (lh_ctf_md_rewriter_feed(rw, (const uint8_t *) ust_ctf2, strlen(ust_ctf2), 0, seed_emit,
			&s) < 0 || lh_ctf_md_rewriter_flush(rw, seed_emit, &s) < 0) {
		fprintf(stderr, "gen-seeds: rewriting failed\n");
		exit(EXIT_FAILURE);
	}
	lh_ctf_md_rewriter_destroy(rw);
	write_seed("ctf_fix", "ctf2-ust-widened", &s);
}

static void seeds_ctf(void)
{
	size_t len = strlen(clock_text);
	size_t split = strstr(clock_text, "offset = 1795") - clock_text + 13;
	struct seed s;

	/* ctf_fix: flags, offset, freq, the file. */
	s.len = 0;
	u8(&s, CTF_SET_BOTH);
	u8(&s, VALUE_42);
	u8(&s, VALUE_FREQ);
	bytes(&s, clock_text, len);
	write_seed("ctf_fix", "plain-text", &s);
	s.len = 3;
	md_packet(&s, clock_text, split, 2048, false, true);
	md_packet(&s, clock_text + split, len - split, 2048, false, true);
	write_seed("ctf_fix", "straddling-packets-le", &s);
	s.len = 3;
	md_packet(&s, clock_text, len, MD_HDR_LEN + len + 64, true, true);
	write_seed("ctf_fix", "one-packet-be", &s);

	/* ctf_rewrite, structured: the text, 0xff and a padding size between packets. */
	s.len = 0;
	u8(&s, CTF_SET_BOTH | CTF_WIDTH);
	u8(&s, VALUE_42);
	u8(&s, VALUE_FREQ);
	bytes(&s, clock_text, len);
	write_seed("ctf_rewrite", "one-packet-le", &s);
	s.buf[0] |= 0x01;
	write_seed("ctf_rewrite", "one-packet-be", &s);
	s.buf[0] = 0x40;
	write_seed("ctf_rewrite", "report-only", &s);
	s.buf[0] = CTF_WIDTH;
	write_seed("ctf_rewrite", "reserve-only", &s);
	s.len = 3;
	s.buf[0] = CTF_SET_BOTH | CTF_WIDTH | 0x01;
	bytes(&s, clock_text, split);
	u8(&s, 0xff);
	u8(&s, 200);
	bytes(&s, clock_text + split, len - split);
	write_seed("ctf_rewrite", "straddling-packets", &s);
	/* One packet cut into two messages inside the value; its padding as data. */
	s.len = 3;
	s.buf[0] = CTF_SET_BOTH | CTF_WIDTH | 0x20;
	bytes(&s, clock_text, split + 2);
	u8(&s, 0xfe);
	bytes(&s, clock_text + split + 2, len - split - 2);
	write_seed("ctf_rewrite", "straddling-messages", &s);
	/* No room: the packet ends with its text. */
	s.len = 3;
	s.buf[0] = CTF_SET_BOTH | CTF_WIDTH;
	s.buf[1] = 10;				/* UINT64_MAX */
	bytes(&s, clock_text, len);
	u8(&s, 0xff);
	u8(&s, 0);
	write_seed("ctf_rewrite", "no-room", &s);

	/* ctf_rewrite, raw: u16 length, u16 padding, the message. */
	s.len = 0;
	u8(&s, 0x10 | CTF_SET_BOTH | CTF_WIDTH);
	u8(&s, VALUE_42);
	u8(&s, VALUE_FREQ);
	be16(&s, (uint16_t) (MD_HDR_LEN + len));
	be16(&s, 64);
	md_packet(&s, clock_text, len, MD_HDR_LEN + len + 64, false, false);
	write_seed("ctf_rewrite", "raw-one-message", &s);
	s.len = 3;
	be16(&s, (uint16_t) len);
	be16(&s, 0);
	bytes(&s, clock_text, len);
	write_seed("ctf_rewrite", "raw-not-packetized", &s);
	seeds_ctf_plain();
}

/* --- port_frame: tests/unit/test_port_frame.c -------------------------- */

static void port_record(struct seed *s, uint8_t op, uint64_t circuit, uint64_t seq,
		uint32_t data_size, uint32_t padding)
{
	u8(s, op);
	be64(s, circuit);
	be64(s, 42);
	be64(s, seq);
	be32(s, data_size);
	be32(s, padding);
}

static void seeds_port_frame(void)
{
	struct seed s = { .len = 0 };

	u8(&s, 0);				/* max_frame 1 MiB */
	port_record(&s, 0, 0, 7, 4096, 100);
	port_record(&s, 0, 0, 3, 1U << 20, 0);
	port_record(&s, 0, 1, 4, 16, 0);
	port_record(&s, 0, 0, 5, UINT32_MAX, UINT32_MAX);
	write_seed("port_frame", "open-stream", &s);

	s.len = 1;
	port_record(&s, 1, 0, 9, 0, 0);		/* closed after frame 9 */
	port_record(&s, 0, 0, 0, 16, 0);
	port_record(&s, 0, 0, 7, 16, 0);
	port_record(&s, 0, 0, 9, 16, 0);
	port_record(&s, 0, 0, 9, 16, 0);
	port_record(&s, 0, 0, 10, 16, 0);
	write_seed("port_frame", "closed-stream", &s);

	s.len = 1;
	port_record(&s, 0, 0, 5, 16, 0);
	port_record(&s, 2, 0, 0, 0, 0);		/* closed, no frame announced */
	port_record(&s, 0, 0, 0, 16, 0);
	port_record(&s, 3, 0, 0, 0, 0);
	port_record(&s, 0, 0, 6, 16, 0);
	write_seed("port_frame", "closed-then-cut", &s);
}

/* --- trim ---------------------------------------------------------------- */

static void seeds_trim(void)
{
	/* LTTng's UST packet header: content_size at 48, packet_size at 56. */
	const uint8_t size_off_sel = (56 - 16) / 8;
	struct seed s = { .len = 0 };
	size_t i;

	/* Structured: 3 packets of 4 KiB, the last cut at 1000 bytes, 2 indexed. */
	u8(&s, 0x01 | 0x02);
	u8(&s, size_off_sel);
	u8(&s, 2);				/* 3 packets */
	for (i = 0; i < 3; i++) {
		be16(&s, (4096 - 64) / 8);
	}
	be16(&s, 1000);
	for (i = 0; i < 3; i++) {
		be16(&s, 4000 - 64);		/* content */
	}
	write_seed("trim", "three-packets-indexed", &s);
	s.buf[0] = 0x01 | 0x04;
	write_seed("trim", "three-packets-be", &s);
	s.buf[0] = 0x01 | 0x02 | 0x08;
	write_seed("trim", "index-only", &s);

	/* Raw: a first packet size, a data file, its index. */
	s.len = 0;
	u8(&s, 0x02);
	be32(&s, 128);
	be16(&s, 128 + 40);
	le32(&s, 0xC1FC1FC1U);
	for (i = 4; i < 48; i++) {
		u8(&s, 0);
	}
	le64(&s, 100 * 8);
	le64(&s, 128 * 8);
	for (i = 64; i < 128; i++) {
		u8(&s, (uint8_t) i);
	}
	le32(&s, 0xC1FC1FC1U);
	for (i = 4; i < 40; i++) {
		u8(&s, 0);
	}
	be32(&s, 0xC1F1DCC1U);
	be32(&s, 1);
	be32(&s, 1);
	be32(&s, 64);
	be64(&s, 0);
	be64(&s, 128 * 8);
	be64(&s, 100 * 8);
	for (i = 24; i < 64; i++) {
		u8(&s, 0);
	}
	write_seed("trim", "raw-cut-after-one", &s);
}

/* --- sync_file: doc/clock-sync.md, "The sync file" ---------------------- */

static void seeds_sync_file(void)
{
	static const char file[] =
		"# lttng-hyper clock synchronization (see doc/clock-sync.md)\n"
		"format = 1\nvm = guest1\nmetadata = ust/uid/1000/64-bit/metadata\n"
		"status = applied\nwritten_at = 2024-01-01T12:00:00Z\n"
		"guest_offset = 1795639570593412007\nguest_freq = 1000000000\n"
		"offset = 1795639999000000123\nfreq = 1000000021\nerror_ns = 1500\n"
		"host_realtime_minus_mono_ns = 1704100000000000000\n"
		"method = convex-hull\nprobes = 300\nprobes_used = 12\nmin_rtt_ns = 20000\n"
		"drift_ppb = -25.000\nref_guest_ns = 1000000000000\nref_host_ns = 2000000000000\n"
		"span_guest_ns = 20000000000\nhops = 1\n"
		"hop.1 = vm=guest1 method=convex-hull probes=300 error_ns=1500 drift_ppb=-25.000"
		" lead_ns=-1000000000000\n";
	struct seed s = { .len = 0 };

	u8(&s, 0);
	bytes(&s, file, strlen(file));
	write_seed("sync_file", "read-applied", &s);

	/* Write: the guest's pathname and channel, its values, the correction. */
	s.len = 0;
	u8(&s, 0x0f);
	bytes(&s, "ust/uid/1000/64-bit\nmetadata\n", 29);
	be64(&s, 1795639570593412007ULL);
	be64(&s, 1000000000);
	be64(&s, 1795639999000000123ULL);
	be64(&s, 1000000021);
	be64(&s, 1500);
	write_seed("sync_file", "write-applied", &s);
	s.buf[0] = 0x07;
	write_seed("sync_file", "write-no-estimate", &s);
}

/* --- relay_filter: a session as lttng 2.13 runs it, then another VM ----- */

/* An operation of fuzz_relay_filter.c on a slot. */
static void op(struct seed *s, unsigned int slot, unsigned int action)
{
	u8(s, (uint8_t) (slot << 3 | action));
}

static void cmd(struct seed *s, unsigned int slot, uint8_t index)
{
	op(s, slot, 1);
	u8(s, index);
}

static void replies(struct seed *s, unsigned int slot)
{
	op(s, slot, 2);
	u8(s, 63);
}

/* VERSION, CREATE_SESSION, a metadata and a data stream, all answered. */
static void session_setup(struct seed *s, unsigned int slot)
{
	size_t i;

	cmd(s, slot, 0);			/* VERSION 2.13 */
	u8(s, 2);
	u8(s, 0);
	replies(s, slot);
	cmd(s, slot, 1);			/* CREATE_SESSION */
	u8(s, 0);				/* not a snapshot */
	for (i = 0; i < 16; i++) {
		u8(s, 0x11);
	}
	u8(s, 0);
	u8(s, 0);
	u8(s, slot == 2 ? 1 : 0);
	u8(s, 0);
	replies(s, slot);
	cmd(s, slot, 2);			/* ADD_STREAM metadata */
	u8(s, 0);
	u8(s, 0);
	u8(s, 0);
	replies(s, slot);
	cmd(s, slot, 2);			/* ADD_STREAM chan_0 */
	u8(s, 1);
	u8(s, 0);
	u8(s, 0);
	replies(s, slot);
}

/* A data packet of chan_0 (the second stream) without payload. */
static void packet(struct seed *s, unsigned int slot, uint8_t seq)
{
	op(s, slot, 1);
	u8(s, 0);
	u8(s, 1);
	u8(s, seq);
	u8(s, 0);
	u8(s, 0);
}

/* The SEND_INDEX of packet seq of chan_0. */
static void send_index(struct seed *s, unsigned int slot, uint16_t seq)
{
	cmd(s, slot, 9);
	u8(s, 1);
	be16(s, seq);
	u8(s, 0);
	u8(s, 0);
}

/* Packets and indexes of one stream, as lttng-consumerd sends them, then not. */
static void seeds_relay_filter_ahead(void)
{
	struct seed s = { .len = 0 };
	unsigned int i;

	u8(&s, 2);
	session_setup(&s, 0);
	for (i = 0; i < 2 * LH_MAX_PACKETS_AHEAD; i++) {
		packet(&s, 1, (uint8_t) i);
		send_index(&s, 0, (uint16_t) i);
		replies(&s, 0);
	}
	write_seed("relay_filter", "indexed-packets", &s);

	/* Packets whose index never comes: the last one cuts the channel. */
	s.len = 0;
	u8(&s, 2);
	session_setup(&s, 0);
	for (i = 0; i <= LH_MAX_PACKETS_AHEAD; i++) {
		packet(&s, 1, (uint8_t) i);
	}
	write_seed("relay_filter", "packets-ahead", &s);

	/* Indexes whose packet never comes, likewise. */
	s.len = 0;
	u8(&s, 2);
	session_setup(&s, 0);
	for (i = 0; i <= LH_MAX_INDEXES_AHEAD; i++) {
		send_index(&s, 0, (uint16_t) i);
		if (i % 8 == 7) {
			replies(&s, 0);
		}
	}
	write_seed("relay_filter", "indexes-ahead", &s);
}

static void seeds_relay_filter(void)
{
	struct seed s = { .len = 0 };
	size_t i;

	u8(&s, 2);				/* lttng-relayd 2.13 */
	session_setup(&s, 0);
	op(&s, 0, 4);				/* a clock correction */
	be64(&s, 1795639999000000123ULL);
	cmd(&s, 0, 3);				/* SEND_METADATA, cut in the value */
	u8(&s, 0);
	u8(&s, 100);
	u8(&s, 60);
	u8(&s, 1);
	u8(&s, 0);
	cmd(&s, 0, 3);				/* its rest */
	u8(&s, 0);
	u8(&s, 100);
	u8(&s, 60);
	u8(&s, 0);
	u8(&s, 0);
	op(&s, 1, 1);				/* a data packet of chan_0 */
	u8(&s, 16);
	u8(&s, 1);
	u8(&s, 0);
	u8(&s, 0);
	for (i = 0; i < 16; i++) {
		u8(&s, 7);
	}
	u8(&s, 1);
	op(&s, 0, 5);				/* its frame on a data port */
	u8(&s, 1);
	u8(&s, 1);
	u8(&s, 0);
	u8(&s, 0);
	cmd(&s, 0, 4);				/* CLOSE_STREAM metadata */
	u8(&s, 0);
	u8(&s, 5);
	u8(&s, 0);
	replies(&s, 0);
	write_seed("relay_filter", "one-session", &s);

	/* Another VM, then the nested one, name the first one's streams. */
	session_setup(&s, 4);
	cmd(&s, 4, 4);				/* CLOSE_STREAM of guest1's stream */
	u8(&s, 1);
	u8(&s, 5);
	u8(&s, 0);
	session_setup(&s, 2);
	cmd(&s, 2, 7);				/* BEGIN_DATA_PENDING on guest1's session */
	u8(&s, 0);
	u8(&s, 0);
	op(&s, 0, 6);				/* guest1's channel lost */
	write_seed("relay_filter", "other-vms", &s);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "Usage: gen-seeds DIR\n");
		return EXIT_FAILURE;
	}
	top = argv[1];
	seeds_frame();
	relayd_messages(relayd_msg_seed);
	seeds_ctf();
	seeds_port_frame();
	seeds_trim();
	seeds_sync_file();
	seeds_relay_filter();
	seeds_relay_filter_ahead();
	return EXIT_SUCCESS;
}
