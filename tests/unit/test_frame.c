/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the wire codec (lttng-hyper/frame.h) and of channel
 * addresses (lttng-hyper/channel.h). The golden vectors are the worked
 * example of doc/protocol.md: if one changes, both must.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>
#include <lttng-hyper/frame.h>

#include "common/transport.h"

#include "tests/utils/tap.h"

#define NUM_TESTS	144
#define FUZZ_ROUNDS	100000

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

/*
 * CLOCK_ESTIMATE for VM "l2": 1000 s of l2's clock is 2000 s of its
 * parent's, drift -25 ppm, bound 1.5 us, 300 probes, 12 used, convex hull.
 */
static const uint8_t golden_clock_estimate[] = {
	0x4c, 0x48, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00,	/* CLOCK_ESTIMATE, conn 0 */
	0x00, 0x00, 0x00, 0x42, 0x00, 0x02, 0x00, 0x00,	/* length 66, path_len 2 */
	0x6c, 0x32,					/* "l2" */
	0x00, 0x00, 0x00, 0xe8, 0xd4, 0xa5, 0x10, 0x00,	/* ref_child_ns 1e12 */
	0x00, 0x00, 0x01, 0xd1, 0xa9, 0x4a, 0x20, 0x00,	/* ref_parent_ns 2e12 */
	0xff, 0xff, 0xff, 0xfa, 0x2d, 0xe2, 0x46, 0x00,	/* drift_fs -2.5e10 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc,	/* error_ns 1500 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4e, 0x20,	/* min_rtt_ns 20000 */
	0x00, 0x00, 0x00, 0xe6, 0x80, 0x99, 0x2c, 0x00,	/* first_child_ns 9.9e11 */
	0x00, 0x00, 0x00, 0xeb, 0x28, 0xb0, 0xf4, 0x00,	/* last_child_ns 1.01e12 */
	0x00, 0x00, 0x01, 0x2c, 0x00, 0x0c, 0x01, 0x00,	/* samples 300, used 12, method 1 */
};

/* Deterministic generator, so a failing fuzz round can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A valid header's bytes, for tests that then break one field. */
static void make_header(uint8_t *buf, uint8_t type, uint32_t conn_id, uint32_t length,
		uint16_t path_len)
{
	struct lttng_hyper_frame_header hdr = {
		.type = type,
		.conn_id = conn_id,
		.length = length,
		.path_len = path_len,
	};

	lttng_hyper_frame_header_encode(&hdr, buf);
}

static void test_golden(void)
{
	struct lttng_hyper_hello hello = {
		.major = LTTNG_HYPER_PROTO_MAJOR,
		.minor = LTTNG_HYPER_PROTO_MINOR,
		.caps = LTTNG_HYPER_CAP_CLOCK_SYNC,
		.max_frame = LTTNG_HYPER_FRAME_MAX_LEN,
		.window = 2U << 20,
		.name_len = 3,
		.name = "vm1",
	};
	struct lttng_hyper_frame_header hdr;
	uint8_t buf[64];
	size_t len;

	len = lttng_hyper_hello_encode(&hello, buf + LTTNG_HYPER_FRAME_HEADER_LEN);
	make_header(buf, LTTNG_HYPER_FRAME_HELLO, 0, (uint32_t) len, 0);
	ok(LTTNG_HYPER_FRAME_HEADER_LEN + len == sizeof(golden_hello) &&
		!memcmp(buf, golden_hello, sizeof(golden_hello)),
		"HELLO encodes to the bytes of doc/protocol.md");

	make_header(buf, LTTNG_HYPER_FRAME_DATA, 1, 32, 0);
	ok(!memcmp(buf, golden_data, LTTNG_HYPER_FRAME_HEADER_LEN),
		"DATA header encodes to the bytes of doc/protocol.md");

	ok(lttng_hyper_frame_header_decode(golden_data, LTTNG_HYPER_FRAME_MAX_LEN, &hdr) == 0 &&
		hdr.type == LTTNG_HYPER_FRAME_DATA && hdr.flags == 0 && hdr.conn_id == 1 &&
		hdr.length == 32 && hdr.path_len == 0,
		"golden DATA header decodes");
	memset(&hello, 0, sizeof(hello));
	ok(lttng_hyper_frame_header_decode(golden_hello, LTTNG_HYPER_FRAME_MAX_LEN, &hdr) == 0 &&
		lttng_hyper_hello_decode(golden_hello + LTTNG_HYPER_FRAME_HEADER_LEN,
			hdr.length, &hello) == 0 &&
		hello.major == 1 && hello.minor == 0 && hello.caps == 1 &&
		hello.max_frame == (1U << 20) && hello.window == (2U << 20) &&
		hello.name_len == 3 && !strcmp(hello.name, "vm1"),
		"golden HELLO decodes");
}

static void test_header(void)
{
	struct lttng_hyper_frame_header in = {
		.type = LTTNG_HYPER_FRAME_CREDIT,
		.conn_id = 0xdeadbeef,
		.length = 300,
		.path_len = 255,
	};
	struct lttng_hyper_frame_header out;
	uint8_t buf[LTTNG_HYPER_FRAME_HEADER_LEN];
	int ret;

	lttng_hyper_frame_header_encode(&in, buf);
	ret = lttng_hyper_frame_header_decode(buf, 300, &out);
	ok(ret == 0 && out.type == in.type && out.conn_id == in.conn_id &&
		out.length == in.length && out.path_len == in.path_len,
		"header round trip (length == max_len, path_len == 255)");

	make_header(buf, LTTNG_HYPER_FRAME_DATA, 1, 8, 0);
	buf[1] = 0x49;
	ok(lttng_hyper_frame_header_decode(buf, 1024, &out) == -LTTNG_HYPER_ERR_MAGIC,
		"bad magic");
	make_header(buf, 0, 1, 8, 0);
	ok(lttng_hyper_frame_header_decode(buf, 1024, &out) == -LTTNG_HYPER_ERR_TYPE,
		"type 0 refused");
	make_header(buf, LTTNG_HYPER_FRAME_TYPE_MAX + 1, 1, 8, 0);
	ok(LTTNG_HYPER_FRAME_TYPE_MAX == 11 &&
		lttng_hyper_frame_header_decode(buf, 1024, &out) == -LTTNG_HYPER_ERR_TYPE,
		"type 12 refused");
	make_header(buf, LTTNG_HYPER_FRAME_CLOCK_ESTIMATE, 0, 66, 2);
	ok(lttng_hyper_frame_header_decode(buf, 1024, &out) == 0 &&
		out.type == LTTNG_HYPER_FRAME_CLOCK_ESTIMATE && out.path_len == 2,
		"type 11 (CLOCK_ESTIMATE) accepted");
	make_header(buf, LTTNG_HYPER_FRAME_DATA, 1, 8, 0);
	buf[3] = 0x80;
	ok(lttng_hyper_frame_header_decode(buf, 1024, &out) == -LTTNG_HYPER_ERR_RESERVED,
		"non-zero flags refused");
	make_header(buf, LTTNG_HYPER_FRAME_DATA, 1, 8, 0);
	buf[15] = 1;
	ok(lttng_hyper_frame_header_decode(buf, 1024, &out) == -LTTNG_HYPER_ERR_RESERVED,
		"non-zero reserved field refused");
	make_header(buf, LTTNG_HYPER_FRAME_DATA, 1, 8, 9);
	ok(lttng_hyper_frame_header_decode(buf, 1024, &out) == -LTTNG_HYPER_ERR_LENGTH,
		"path_len > length refused");
	make_header(buf, LTTNG_HYPER_FRAME_DATA, 1, 1000, 256);
	ok(lttng_hyper_frame_header_decode(buf, 1024, &out) == -LTTNG_HYPER_ERR_PATH,
		"path_len 256 refused");
	make_header(buf, LTTNG_HYPER_FRAME_DATA, 1, 1025, 0);
	ok(lttng_hyper_frame_header_decode(buf, 1024, &out) == -LTTNG_HYPER_ERR_LENGTH,
		"length > max_len refused");
	make_header(buf, LTTNG_HYPER_FRAME_DATA, 1, UINT32_MAX, 0);
	ok(lttng_hyper_frame_header_decode(buf, LTTNG_HYPER_FRAME_MAX_LEN, &out) ==
		-LTTNG_HYPER_ERR_LENGTH, "length 0xffffffff refused");
	make_header(buf, LTTNG_HYPER_FRAME_CLOSE, 7, 0, 0);
	ok(lttng_hyper_frame_header_decode(buf, 0, &out) == 0 && out.length == 0,
		"empty frame accepted with max_len 0");
}

/* The decoder's rules written out independently, as the fuzz oracle. */
static bool header_is_valid(const uint8_t *b, uint32_t max_len)
{
	uint32_t length = ((uint32_t) b[8] << 24) | ((uint32_t) b[9] << 16) |
		((uint32_t) b[10] << 8) | b[11];
	unsigned int path_len = (b[12] << 8) | b[13];

	return b[0] == 0x4c && b[1] == 0x48 && b[2] >= 1 && b[2] <= 11 && b[3] == 0 &&
		b[14] == 0 && b[15] == 0 && path_len <= 255 && path_len <= length &&
		length <= max_len;
}

static void test_header_fuzz(void)
{
	unsigned int i, j, wrong = 0, accepted = 0, mismatch = 0, clobbered = 0;
	struct lttng_hyper_frame_header hdr;
	uint8_t buf[LTTNG_HYPER_FRAME_HEADER_LEN], again[LTTNG_HYPER_FRAME_HEADER_LEN];

	diag("fuzz seed 0x%016llx", (unsigned long long) rng_state);
	for (i = 0; i < FUZZ_ROUNDS; i++) {
		uint32_t max_len = (uint32_t) rng() & 0x1fffff;
		uint64_t r = rng();
		int ret;

		for (j = 0; j < sizeof(buf); j++) {
			buf[j] = (uint8_t) rng();
		}
		/* Make most fields plausible, or nearly every header fails on magic. */
		if (r & 1) {
			buf[0] = 0x4c;
			buf[1] = 0x48;
		}
		if (r & 2) {
			buf[2] = (uint8_t) ((r >> 8) % 13);
		}
		if (r & 4) {
			buf[3] = 0;
			buf[14] = 0;
			buf[15] = 0;
		}
		if (r & 8) {
			buf[8] = 0;
			buf[9] = (uint8_t) ((r >> 16) & 0x1f);
		}
		if (r & 16) {
			buf[12] = 0;
		}
		memset(&hdr, 0xa5, sizeof(hdr));
		ret = lttng_hyper_frame_header_decode(buf, max_len, &hdr);
		if ((ret == 0) != header_is_valid(buf, max_len) || ret > 0 ||
				ret < -LTTNG_HYPER_ERR_VERSION) {
			wrong++;
			continue;
		}
		if (ret) {
			for (j = 0; j < sizeof(hdr); j++) {
				clobbered += ((uint8_t *) &hdr)[j] != 0xa5;
			}
			continue;
		}
		accepted++;
		lttng_hyper_frame_header_encode(&hdr, again);
		mismatch += memcmp(buf, again, sizeof(buf)) != 0;
	}
	diag("%u of %u random headers were valid", accepted, FUZZ_ROUNDS);
	ok(wrong == 0 && accepted > 1000,
		"random headers: decode succeeds exactly when valid (%u wrong)", wrong);
	ok(mismatch == 0, "random valid headers re-encode to the same bytes");
	ok(clobbered == 0, "a refused header leaves the output untouched");
}

static void test_names(void)
{
	char name[LTTNG_HYPER_NAME_MAX_LEN + 2], path[LTTNG_HYPER_PATH_MAX_LEN + 2];
	size_t i;

	ok(lttng_hyper_name_validate("vm1", 3) == 0, "name vm1");
	ok(lttng_hyper_name_validate("A_b-9", 5) == 0, "name A_b-9");
	ok(lttng_hyper_name_validate("", 0) == -LTTNG_HYPER_ERR_PATH, "empty name refused");
	ok(lttng_hyper_name_validate("-vm", 3) == -LTTNG_HYPER_ERR_PATH, "leading '-' refused");
	ok(lttng_hyper_name_validate("a.b", 3) == -LTTNG_HYPER_ERR_PATH, "'.' refused");
	ok(lttng_hyper_name_validate("a/b", 3) == -LTTNG_HYPER_ERR_PATH, "'/' in a name refused");
	ok(lttng_hyper_name_validate("a\0b", 3) == -LTTNG_HYPER_ERR_PATH, "NUL refused");
	ok(lttng_hyper_name_validate("a b", 3) == -LTTNG_HYPER_ERR_PATH, "space refused");
	ok(lttng_hyper_name_validate("\xc3\xa9", 2) == -LTTNG_HYPER_ERR_PATH, "non-ASCII refused");
	memset(name, 'n', sizeof(name));
	ok(lttng_hyper_name_validate(name, LTTNG_HYPER_NAME_MAX_LEN) == 0, "64-byte name");
	ok(lttng_hyper_name_validate(name, LTTNG_HYPER_NAME_MAX_LEN + 1) ==
		-LTTNG_HYPER_ERR_PATH, "65-byte name refused");

	ok(lttng_hyper_path_validate("vm1", 3) == 0, "path vm1");
	ok(lttng_hyper_path_validate("vm1/vm2", 7) == 0, "path vm1/vm2");
	ok(lttng_hyper_path_validate("", 0) == -LTTNG_HYPER_ERR_PATH, "empty path refused");
	ok(lttng_hyper_path_validate("/vm1", 4) == -LTTNG_HYPER_ERR_PATH, "leading '/' refused");
	ok(lttng_hyper_path_validate("vm1/", 4) == -LTTNG_HYPER_ERR_PATH, "trailing '/' refused");
	ok(lttng_hyper_path_validate("a//b", 4) == -LTTNG_HYPER_ERR_PATH, "'//' refused");
	ok(lttng_hyper_path_validate("a/../b", 6) == -LTTNG_HYPER_ERR_PATH, "'..' refused");
	ok(lttng_hyper_path_validate("a/-b", 4) == -LTTNG_HYPER_ERR_PATH,
		"leading '-' in a later name refused");
	/* 51 names of 4 bytes and 50 slashes: 254 bytes; one more byte still fits. */
	for (i = 0; i < sizeof(path); i++) {
		path[i] = i % 5 == 4 ? '/' : 'v';
	}
	path[254] = 'v';
	ok(lttng_hyper_path_validate(path, LTTNG_HYPER_PATH_MAX_LEN) == 0, "255-byte path");
	ok(lttng_hyper_path_validate(path, LTTNG_HYPER_PATH_MAX_LEN + 1) ==
		-LTTNG_HYPER_ERR_PATH, "256-byte path refused");
}

static void test_hello(void)
{
	struct lttng_hyper_hello in = {
		.major = 1,
		.minor = 7,
		.caps = 0x80000003,
		.max_frame = 4096,
		.window = 0xffffffff,
	}, out;
	uint8_t buf[128];
	size_t len;

	len = lttng_hyper_hello_encode(&in, buf);
	memset(&out, 0xa5, sizeof(out));
	ok(len == LTTNG_HYPER_HELLO_FIXED_LEN &&
		lttng_hyper_hello_decode(buf, len, &out) == 0 &&
		out.major == 1 && out.minor == 7 && out.caps == 0x80000003 &&
		out.max_frame == 4096 && out.window == 0xffffffff &&
		out.name_len == 0 && out.name[0] == '\0',
		"HELLO without a name round trip");

	in.name_len = LTTNG_HYPER_NAME_MAX_LEN;
	memset(in.name, 'x', LTTNG_HYPER_NAME_MAX_LEN);
	len = lttng_hyper_hello_encode(&in, buf);
	ok(len == LTTNG_HYPER_HELLO_FIXED_LEN + LTTNG_HYPER_NAME_MAX_LEN &&
		lttng_hyper_hello_decode(buf, len, &out) == 0 &&
		out.name_len == LTTNG_HYPER_NAME_MAX_LEN &&
		strlen(out.name) == LTTNG_HYPER_NAME_MAX_LEN,
		"HELLO with a 64-byte name round trip, NUL-terminated");

	ok(lttng_hyper_hello_decode(buf, LTTNG_HYPER_HELLO_FIXED_LEN - 1, &out) ==
		-LTTNG_HYPER_ERR_TRUNCATED, "HELLO shorter than its fixed part");
	ok(lttng_hyper_hello_decode(buf, len - 1, &out) == -LTTNG_HYPER_ERR_TRUNCATED,
		"HELLO shorter than its name");
	ok(lttng_hyper_hello_decode(buf, len + 1, &out) == -LTTNG_HYPER_ERR_LENGTH,
		"HELLO with a trailing byte");
	buf[16] = LTTNG_HYPER_NAME_MAX_LEN + 1;
	buf[len] = 'x';
	ok(lttng_hyper_hello_decode(buf, len + 1, &out) == -LTTNG_HYPER_ERR_LENGTH,
		"HELLO with a 65-byte name");
	buf[16] = 3;
	memcpy(buf + LTTNG_HYPER_HELLO_FIXED_LEN, "../", 3);
	ok(lttng_hyper_hello_decode(buf, LTTNG_HYPER_HELLO_FIXED_LEN + 3, &out) ==
		-LTTNG_HYPER_ERR_PATH, "HELLO name '../'");
	memcpy(buf + LTTNG_HYPER_HELLO_FIXED_LEN, "a\nb", 3);
	ok(lttng_hyper_hello_decode(buf, LTTNG_HYPER_HELLO_FIXED_LEN + 3, &out) ==
		-LTTNG_HYPER_ERR_PATH, "HELLO name with a newline");
}

/* Random HELLO bodies: accepted ones must re-encode to the same bytes. */
static void test_hello_fuzz(void)
{
	unsigned int i, j, accepted = 0, mismatch = 0;
	uint8_t buf[LTTNG_HYPER_HELLO_FIXED_LEN + 80], again[sizeof(buf)];
	struct lttng_hyper_hello hello;

	for (i = 0; i < 20000; i++) {
		size_t len = rng() % sizeof(buf);

		for (j = 0; j < sizeof(buf); j++) {
			buf[j] = (uint8_t) ("ab-_Z9/.\n\0\x80"[rng() % 11]);
		}
		if (len > LTTNG_HYPER_HELLO_FIXED_LEN && (i & 1)) {
			buf[16] = (uint8_t) (len - LTTNG_HYPER_HELLO_FIXED_LEN);
		}
		if (lttng_hyper_hello_decode(buf, len, &hello)) {
			continue;
		}
		accepted++;
		mismatch += lttng_hyper_hello_encode(&hello, again) != len ||
			memcmp(buf, again, len) != 0 || strlen(hello.name) != hello.name_len;
	}
	ok(mismatch == 0 && accepted > 0,
		"random HELLO bodies: %u accepted, all re-encode exactly", accepted);
}

static void test_bodies(void)
{
	struct lttng_hyper_clock_reply r_in = {
		.seq = 0x0102030405060708ULL,
		.host_send_ns = 0x1112131415161718ULL,
		.guest_ns = UINT64_MAX,
		.clock_id = 1,
	}, r_out;
	enum lttng_hyper_conn_kind kind;
	uint64_t v64, seq, host_ns;
	uint8_t buf[64];
	uint32_t v32;
	size_t len;

	len = lttng_hyper_u32_encode(0x01020304, buf);
	ok(len == 4 && buf[0] == 1 && buf[3] == 4 &&
		lttng_hyper_u32_decode(buf, 4, &v32) == 0 && v32 == 0x01020304,
		"u32 round trip, big-endian");
	ok(lttng_hyper_u32_decode(buf, 3, &v32) == -LTTNG_HYPER_ERR_TRUNCATED,
		"u32 body of 3 bytes");
	ok(lttng_hyper_u32_decode(buf, 5, &v32) == -LTTNG_HYPER_ERR_LENGTH,
		"u32 body of 5 bytes");

	len = lttng_hyper_u64_encode(0x0102030405060708ULL, buf);
	ok(len == LTTNG_HYPER_PING_LEN && buf[0] == 1 && buf[7] == 8 &&
		lttng_hyper_u64_decode(buf, 8, &v64) == 0 && v64 == 0x0102030405060708ULL,
		"u64 round trip, big-endian");
	ok(lttng_hyper_u64_decode(buf, 7, &v64) == -LTTNG_HYPER_ERR_TRUNCATED &&
		lttng_hyper_u64_decode(buf, 9, &v64) == -LTTNG_HYPER_ERR_LENGTH,
		"u64 body of the wrong size");

	len = lttng_hyper_open_encode(LTTNG_HYPER_CONN_DATA, buf);
	ok(len == LTTNG_HYPER_OPEN_LEN && !memcmp(buf, "\x02\0\0\0", 4) &&
		lttng_hyper_open_decode(buf, len, &kind) == 0 && kind == LTTNG_HYPER_CONN_DATA,
		"OPEN round trip");
	ok(lttng_hyper_open_decode((const uint8_t *) "\x01\0\0\0", 4, &kind) == 0 &&
		kind == LTTNG_HYPER_CONN_CONTROL, "OPEN control");
	ok(lttng_hyper_open_decode((const uint8_t *) "\x00\0\0\0", 4, &kind) ==
		-LTTNG_HYPER_ERR_TYPE, "OPEN kind 0");
	ok(lttng_hyper_open_decode((const uint8_t *) "\x03\0\0\0", 4, &kind) ==
		-LTTNG_HYPER_ERR_TYPE, "OPEN kind 3");
	ok(lttng_hyper_open_decode((const uint8_t *) "\x01\0\x01\0", 4, &kind) ==
		-LTTNG_HYPER_ERR_RESERVED, "OPEN with a non-zero reserved byte");
	ok(lttng_hyper_open_decode((const uint8_t *) "\x01\0\0\0\0", 5, &kind) ==
		-LTTNG_HYPER_ERR_LENGTH, "OPEN of 5 bytes");
	ok(lttng_hyper_open_decode((const uint8_t *) "\x01", 1, &kind) ==
		-LTTNG_HYPER_ERR_TRUNCATED, "OPEN of 1 byte");

	len = lttng_hyper_clock_probe_encode(7, 0x1112131415161718ULL, buf);
	ok(len == LTTNG_HYPER_CLOCK_PROBE_LEN && buf[7] == 7 && buf[8] == 0x11 &&
		lttng_hyper_clock_probe_decode(buf, len, &seq, &host_ns) == 0 &&
		seq == 7 && host_ns == 0x1112131415161718ULL,
		"CLOCK_PROBE round trip");
	ok(lttng_hyper_clock_probe_decode(buf, len - 1, &seq, &host_ns) ==
		-LTTNG_HYPER_ERR_TRUNCATED, "CLOCK_PROBE truncated");

	len = lttng_hyper_clock_reply_encode(&r_in, buf);
	ok(len == LTTNG_HYPER_CLOCK_REPLY_LEN && buf[0] == 1 && buf[27] == 1 &&
		buf[31] == 0 && lttng_hyper_clock_reply_decode(buf, len, &r_out) == 0 &&
		r_out.seq == r_in.seq && r_out.host_send_ns == r_in.host_send_ns &&
		r_out.guest_ns == r_in.guest_ns && r_out.clock_id == 1,
		"CLOCK_REPLY round trip");
	ok(lttng_hyper_clock_reply_decode(buf, len + 1, &r_out) == -LTTNG_HYPER_ERR_LENGTH,
		"CLOCK_REPLY too long");
	buf[30] = 1;
	ok(lttng_hyper_clock_reply_decode(buf, len, &r_out) == -LTTNG_HYPER_ERR_RESERVED,
		"CLOCK_REPLY with a non-zero reserved word");
}

/* The estimate of golden_clock_estimate. */
static const struct lttng_hyper_clock_estimate golden_est = {
	.ref_child_ns = 1000000000000ULL,
	.ref_parent_ns = 2000000000000ULL,
	.drift_fs = -25000000000LL,
	.error_ns = 1500,
	.min_rtt_ns = 20000,
	.first_child_ns = 990000000000ULL,
	.last_child_ns = 1010000000000ULL,
	.samples = 300,
	.used = 12,
	.method = LTTNG_HYPER_CLOCK_METHOD_CONVEX_HULL,
};

static bool est_equal(const struct lttng_hyper_clock_estimate *a,
		const struct lttng_hyper_clock_estimate *b)
{
	return a->ref_child_ns == b->ref_child_ns && a->ref_parent_ns == b->ref_parent_ns &&
		a->drift_fs == b->drift_fs && a->error_ns == b->error_ns &&
		a->min_rtt_ns == b->min_rtt_ns && a->first_child_ns == b->first_child_ns &&
		a->last_child_ns == b->last_child_ns && a->samples == b->samples &&
		a->used == b->used && a->method == b->method;
}

/* Encode e, break it with the caller's change, and decode it. */
static int est_decode_altered(const struct lttng_hyper_clock_estimate *e, size_t off,
		uint8_t byte)
{
	struct lttng_hyper_clock_estimate out;
	uint8_t buf[LTTNG_HYPER_CLOCK_ESTIMATE_LEN];

	lttng_hyper_clock_estimate_encode(e, buf);
	if (off < sizeof(buf)) {
		buf[off] = byte;
	}
	return lttng_hyper_clock_estimate_decode(buf, sizeof(buf), &out);
}

static void test_clock_estimate(void)
{
	const uint8_t *golden_body = golden_clock_estimate + LTTNG_HYPER_FRAME_HEADER_LEN + 2;
	struct lttng_hyper_clock_estimate in = golden_est, out;
	struct lttng_hyper_frame_header hdr;
	uint8_t buf[LTTNG_HYPER_CLOCK_ESTIMATE_LEN + 1];
	size_t len;

	len = lttng_hyper_clock_estimate_encode(&golden_est, buf);
	ok(len == LTTNG_HYPER_CLOCK_ESTIMATE_LEN && len == 64 &&
		sizeof(golden_clock_estimate) == LTTNG_HYPER_FRAME_HEADER_LEN + 2 + len &&
		!memcmp(buf, golden_body, len),
		"CLOCK_ESTIMATE body encodes to the golden bytes");
	memset(&out, 0xa5, sizeof(out));
	ok(lttng_hyper_frame_header_decode(golden_clock_estimate, LTTNG_HYPER_FRAME_MAX_LEN,
			&hdr) == 0 && hdr.type == LTTNG_HYPER_FRAME_CLOCK_ESTIMATE &&
		hdr.conn_id == 0 && hdr.path_len == 2 && hdr.length == 66 &&
		!memcmp(golden_clock_estimate + LTTNG_HYPER_FRAME_HEADER_LEN, "l2", 2) &&
		lttng_hyper_clock_estimate_decode(golden_body, hdr.length - hdr.path_len,
			&out) == 0 && est_equal(&out, &golden_est),
		"golden CLOCK_ESTIMATE frame decodes");

	/* Extremes that are still valid. */
	in = (struct lttng_hyper_clock_estimate) {
		.ref_child_ns = UINT64_MAX,
		.ref_parent_ns = 1,
		.drift_fs = -LTTNG_HYPER_CLOCK_MAX_DRIFT_FS,
		.error_ns = UINT64_MAX,
		.min_rtt_ns = 0,
		.first_child_ns = 7,
		.last_child_ns = 7,
		.samples = UINT32_MAX,
		.used = UINT16_MAX,
		.method = 255,
	};
	lttng_hyper_clock_estimate_encode(&in, buf);
	ok(lttng_hyper_clock_estimate_decode(buf, LTTNG_HYPER_CLOCK_ESTIMATE_LEN, &out) == 0 &&
		est_equal(&out, &in),
		"round trip: drift -1000 ppm, empty span, all-ones counters, unknown method");
	in.drift_fs = LTTNG_HYPER_CLOCK_MAX_DRIFT_FS;
	in.samples = 3;
	in.used = 3;
	lttng_hyper_clock_estimate_encode(&in, buf);
	ok(lttng_hyper_clock_estimate_decode(buf, LTTNG_HYPER_CLOCK_ESTIMATE_LEN, &out) == 0 &&
		est_equal(&out, &in), "round trip: drift +1000 ppm, used == samples");

	in = golden_est;
	in.drift_fs = LTTNG_HYPER_CLOCK_MAX_DRIFT_FS + 1;
	ok(est_decode_altered(&in, SIZE_MAX, 0) == -LTTNG_HYPER_ERR_LENGTH,
		"drift of 1e12 + 1 fs refused");
	in.drift_fs = -LTTNG_HYPER_CLOCK_MAX_DRIFT_FS - 1;
	ok(est_decode_altered(&in, SIZE_MAX, 0) == -LTTNG_HYPER_ERR_LENGTH,
		"drift of -1e12 - 1 fs refused");
	in.drift_fs = INT64_MIN;
	ok(est_decode_altered(&in, SIZE_MAX, 0) == -LTTNG_HYPER_ERR_LENGTH,
		"drift of INT64_MIN fs refused");
	in = golden_est;
	in.last_child_ns = in.first_child_ns - 1;
	ok(est_decode_altered(&in, SIZE_MAX, 0) == -LTTNG_HYPER_ERR_LENGTH,
		"span ending before it starts refused");
	in = golden_est;
	in.used = 301;
	ok(est_decode_altered(&in, SIZE_MAX, 0) == -LTTNG_HYPER_ERR_LENGTH,
		"more samples used than kept refused");
	ok(est_decode_altered(&golden_est, 63, 1) == -LTTNG_HYPER_ERR_RESERVED,
		"non-zero reserved byte refused");

	memcpy(buf, golden_body, LTTNG_HYPER_CLOCK_ESTIMATE_LEN);
	buf[LTTNG_HYPER_CLOCK_ESTIMATE_LEN] = 0;
	ok(lttng_hyper_clock_estimate_decode(buf, LTTNG_HYPER_CLOCK_ESTIMATE_LEN - 1, &out) ==
		-LTTNG_HYPER_ERR_TRUNCATED, "CLOCK_ESTIMATE of 63 bytes");
	ok(lttng_hyper_clock_estimate_decode(buf, LTTNG_HYPER_CLOCK_ESTIMATE_LEN + 1, &out) ==
		-LTTNG_HYPER_ERR_LENGTH, "CLOCK_ESTIMATE of 65 bytes");
	ok(lttng_hyper_clock_estimate_decode(buf, 0, &out) == -LTTNG_HYPER_ERR_TRUNCATED,
		"empty CLOCK_ESTIMATE");
}

static void test_strings(void)
{
	ok(!strcmp(lttng_hyper_frame_type_str(LTTNG_HYPER_FRAME_DATA), "DATA") &&
		!strcmp(lttng_hyper_frame_type_str(LTTNG_HYPER_FRAME_CLOCK_REPLY), "CLOCK_REPLY"),
		"frame type names");
	ok(!strcmp(lttng_hyper_frame_type_str(LTTNG_HYPER_FRAME_CLOCK_ESTIMATE), "CLOCK_ESTIMATE"),
		"frame type name of CLOCK_ESTIMATE");
	ok(!strcmp(lttng_hyper_frame_type_str(0), "unknown") &&
		!strcmp(lttng_hyper_frame_type_str(12), "unknown") &&
		!strcmp(lttng_hyper_frame_type_str(255), "unknown"), "unknown frame types");
	ok(!strcmp(lttng_hyper_error_str(-LTTNG_HYPER_ERR_MAGIC), "bad magic") &&
		!strcmp(lttng_hyper_error_str(LTTNG_HYPER_ERR_MAGIC), "bad magic"),
		"error text, negated or not");
	ok(!strcmp(lttng_hyper_error_str(INT_MIN), "unknown error") &&
		!strcmp(lttng_hyper_error_str(99), "unknown error"), "unknown errors");
}

/* Parse str and check that it formats back to itself. */
static bool channel_ok(const char *str, const struct lttng_hyper_transport *type,
		struct lttng_hyper_channel_uri *uri)
{
	char err[256] = "", back[512];

	if (lttng_hyper_channel_parse(str, uri, err, sizeof(err))) {
		diag("'%s': %s", str, err);
		return false;
	}
	lttng_hyper_channel_format(uri, back, sizeof(back));
	if (strcmp(back, str)) {
		diag("'%s' formats back as '%s'", str, back);
		return false;
	}
	return uri->transport == type;
}

/* Parse str, expecting failure with an error containing want. */
static bool channel_bad(const char *str, const char *want)
{
	struct lttng_hyper_channel_uri uri;
	char err[256] = "";

	if (!lttng_hyper_channel_parse(str, &uri, err, sizeof(err))) {
		diag("'%s' was accepted", str);
		return false;
	}
	if (!strstr(err, want)) {
		diag("'%s': error '%s' does not say '%s'", str, err, want);
		return false;
	}
	return true;
}

static void test_channel_parse(void)
{
	struct lttng_hyper_channel_uri uri;
	char path[200], str[256];

	ok(channel_ok(LTTNG_HYPER_DEFAULT_CHANNEL, &lh_transport_virtio_serial, &uri) &&
		!strcmp(uri.path, "/dev/virtio-ports/org.lttng.hyper.0") &&
		!lttng_hyper_channel_is_listener(&uri), "virtio-serial:PATH");
	ok(channel_ok("unix:/run/vm1.sock", &lh_transport_unix, &uri) &&
		!strcmp(uri.path, "/run/vm1.sock") && !lttng_hyper_channel_is_listener(&uri),
		"unix:PATH");
	ok(channel_ok("unix-listen:rel/vm.sock", &lh_transport_unix_listen, &uri) &&
		!strcmp(uri.path, "rel/vm.sock") && lttng_hyper_channel_is_listener(&uri),
		"unix-listen:PATH");
	ok(channel_ok("tcp://127.0.0.1:6000", &lh_transport_tcp, &uri) &&
		!strcmp(uri.host, "127.0.0.1") && uri.port == 6000, "tcp://ADDR:PORT");
	ok(channel_ok("tcp://host-1.example:65535", &lh_transport_tcp, &uri) &&
		!strcmp(uri.host, "host-1.example") && uri.port == 65535, "tcp://NAME:65535");
	ok(channel_ok("tcp-listen://0.0.0.0:1", &lh_transport_tcp_listen, &uri) &&
		uri.port == 1 && lttng_hyper_channel_is_listener(&uri), "tcp-listen://ADDR:1");
	ok(channel_ok("tcp://[::1]:6000", &lh_transport_tcp, &uri) &&
		!strcmp(uri.host, "::1"), "tcp://[IPv6]:PORT");
	ok(channel_ok("vsock:3:5000", &lh_transport_vsock, &uri) && uri.cid == 3 &&
		uri.vsock_port == 5000 && !lttng_hyper_channel_is_listener(&uri) &&
		channel_ok("vsock:4294967294:4294967294", &lh_transport_vsock, &uri) &&
		uri.cid == 4294967294U && uri.vsock_port == 4294967294U, "vsock:CID:PORT");
	ok(channel_ok("vsock-listen:5000", &lh_transport_vsock_listen, &uri) &&
		uri.vsock_port == 5000 && lttng_hyper_channel_is_listener(&uri),
		"vsock-listen:PORT");
	ok(channel_bad("vsock:3", "expected vsock:CID:PORT") &&
		channel_bad("vsock-listen:3:5000", "expected vsock-listen:PORT") &&
		channel_bad("vsock:x:1", "invalid context id 'x'") &&
		channel_bad("vsock:3:4294967296", "port 4294967296 out of range") &&
		channel_bad("vsock:4294967295:1", "context id 4294967295 is no peer") &&
		channel_bad("vsock-listen:4294967295", "port 4294967295 is not a port"),
		"malformed vsock addresses, and the wildcard id and port, are refused");

	memset(path, 'p', 107);
	path[0] = '/';
	path[107] = '\0';
	snprintf(str, sizeof(str), "unix:%s", path);
	ok(channel_ok(str, &lh_transport_unix, &uri), "unix path of 107 bytes");
	snprintf(str, sizeof(str), "unix-listen:%sp", path);
	ok(channel_bad(str, "unix socket path too long (max 107)"), "unix path of 108 bytes");

	ok(channel_bad("foo:/x", "unknown channel type 'foo' in 'foo:/x'; expected virtio-serial:"),
		"unknown type");
	ok(channel_bad("tcp:host:1", "unknown channel type 'tcp'"), "tcp without //");
	ok(channel_bad("/tmp/x.sock", "missing channel type"), "no type");
	ok(channel_bad("", "missing channel type"), "empty string");
	ok(channel_bad("unix:", "missing path"), "unix: with an empty path");
	ok(channel_bad("virtio-serial:", "missing path"), "virtio-serial: with an empty path");
	ok(channel_bad("tcp://host", "missing port"), "tcp://host without a port");
	ok(channel_bad("tcp://host:", "missing port"), "tcp://host: with an empty port");
	ok(channel_bad("tcp://host:0", "out of range"), "port 0");
	ok(channel_bad("tcp-listen://host:65536", "out of range"), "port 65536");
	ok(channel_bad("tcp://host:99999999999999999999999", "out of range"), "huge port");
	ok(channel_bad("tcp://host:80x", "invalid port"), "port with garbage");
	ok(channel_bad("tcp://host:-1", "invalid port"), "negative port");
	ok(channel_bad("tcp://:80", "missing host"), "empty host");
	ok(channel_bad("tcp://[::1:80", "missing ']'"), "unclosed bracket");
	ok(channel_bad("tcp://[]:80", "missing host"), "empty brackets");
	ok(channel_bad("tcp://fe80::1%eth0:80", "brackets"), "IPv6 without brackets");
	ok(channel_bad("tcp://ho st:80", "invalid character"), "space in host");
	ok(channel_bad("tcp://host:80/x", "invalid port"), "trailing path");
}

static void test_urls(void)
{
	uint16_t port = 0, ctrl = 0, data = 0;
	char host[256], err[256];

	ok(lttng_hyper_tcp_url_parse("tcp://127.0.0.1:5342", host, sizeof(host), &port,
			err, sizeof(err)) == 0 && !strcmp(host, "127.0.0.1") && port == 5342,
		"tcp://ADDR:PORT URL");
	ok(lttng_hyper_tcp_url_parse("tcp6://[::]:5344", host, sizeof(host), &port,
			err, sizeof(err)) == 0 && !strcmp(host, "::") && port == 5344,
		"tcp6://[ADDR]:PORT URL");
	ok(lttng_hyper_tcp_url_parse("tcp://0.0.0.0", host, sizeof(host), &port,
			err, sizeof(err)) == -1 && strstr(err, "missing port"),
		"tcp URL without a port");
	ok(lttng_hyper_tcp_url_parse("net://0.0.0.0:1", host, sizeof(host), &port,
			err, sizeof(err)) == -1 && strstr(err, "expected tcp://ADDR:PORT"),
		"net URL where a tcp URL is expected");
	ok(lttng_hyper_tcp_url_parse("tcp://a-long-host-name:1", host, 8, &port,
			err, sizeof(err)) == -1 && strstr(err, "too long"),
		"host longer than the caller's buffer");

	ok(lttng_hyper_net_url_parse("net://127.0.0.1", host, sizeof(host), &ctrl, &data,
			err, sizeof(err)) == 0 && !strcmp(host, "127.0.0.1") &&
		ctrl == 5342 && data == 5343, "net://HOST: default ports");
	ok(lttng_hyper_net_url_parse("net://h:6000", host, sizeof(host), &ctrl, &data,
			err, sizeof(err)) == 0 && ctrl == 6000 && data == 5343, "net://HOST:CTRL");
	ok(lttng_hyper_net_url_parse("net://h:6000:6001", host, sizeof(host), &ctrl, &data,
			err, sizeof(err)) == 0 && ctrl == 6000 && data == 6001,
		"net://HOST:CTRL:DATA");
	ok(lttng_hyper_net_url_parse("net://h::6001", host, sizeof(host), &ctrl, &data,
			err, sizeof(err)) == 0 && ctrl == 5342 && data == 6001,
		"net://HOST::DATA");
	ok(lttng_hyper_net_url_parse("net6://[::1]:1:2", host, sizeof(host), &ctrl, &data,
			err, sizeof(err)) == 0 && !strcmp(host, "::1") && ctrl == 1 && data == 2,
		"net6://[IPv6]:CTRL:DATA");
	ok(lttng_hyper_net_url_parse("net://h:1:2:3", host, sizeof(host), &ctrl, &data,
			err, sizeof(err)) == -1 && strstr(err, "unexpected"), "three ports");
	ok(lttng_hyper_net_url_parse("net://h/sub", host, sizeof(host), &ctrl, &data,
			err, sizeof(err)) == -1 && strstr(err, "path"), "trailing subdirectory");
	ok(lttng_hyper_net_url_parse("net://", host, sizeof(host), &ctrl, &data,
			err, sizeof(err)) == -1 && strstr(err, "missing host"), "no host");
	ok(lttng_hyper_net_url_parse("net://h:0", host, sizeof(host), &ctrl, &data,
			err, sizeof(err)) == -1 && strstr(err, "out of range"), "port 0");
	ok(lttng_hyper_net_url_parse("tcp://h:1", host, sizeof(host), &ctrl, &data,
			err, sizeof(err)) == -1 && strstr(err, "expected net://"),
		"tcp URL as net URL");
}

/* Non-blocking and close-on-exec, as the channel API promises. */
static bool fd_flags_ok(int fd)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

	return fl >= 0 && fdfl >= 0 && (fl & O_NONBLOCK) && (fdfl & FD_CLOEXEC);
}

/* Send one byte a to b and read it back, waiting up to a second. */
static bool pass_byte(int a, int b)
{
	struct pollfd pfd = { .fd = b, .events = POLLIN };
	char c = 'x', d = 0;

	return write(a, &c, 1) == 1 && poll(&pfd, 1, 1000) == 1 && read(b, &d, 1) == 1 &&
		d == 'x';
}

static void test_unix_channel(void)
{
	char dir[] = "/tmp/test_frame.XXXXXX", str[256], path[200];
	struct lttng_hyper_channel_uri uri, curi;
	int lfd, cfd, afd, fd2;
	struct stat st;

	if (!mkdtemp(dir)) {
		skip(8, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/ch.sock", dir);
	snprintf(str, sizeof(str), "unix-listen:%s", path);
	lfd = lttng_hyper_channel_parse(str, &uri, NULL, 0) ? -1 : lttng_hyper_channel_listen(&uri);
	ok(lfd >= 0 && fd_flags_ok(lfd), "unix-listen: listening socket");
	snprintf(str, sizeof(str), "unix:%s", path);
	cfd = lttng_hyper_channel_parse(str, &curi, NULL, 0) ? -1 :
		lttng_hyper_channel_connect(&curi);
	ok(cfd >= 0 && fd_flags_ok(cfd), "unix: connected at once");
	afd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ok(afd >= 0 && pass_byte(cfd, afd) && pass_byte(afd, cfd), "bytes pass both ways");
	close(afd);
	close(cfd);

	fd2 = lttng_hyper_channel_listen(&uri);
	ok(fd2 < 0 && errno == EADDRINUSE, "a live listener's socket is not taken over");
	close(lfd);
	fd2 = lttng_hyper_channel_listen(&uri);
	ok(fd2 >= 0, "a stale socket file is replaced");
	close(fd2);

	unlink(path);
	fd2 = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	close(fd2);
	fd2 = lttng_hyper_channel_listen(&uri);
	ok(fd2 < 0 && errno == EEXIST && stat(path, &st) == 0 && S_ISREG(st.st_mode),
		"a regular file at the path is left alone");
	unlink(path);

	cfd = lttng_hyper_channel_connect(&curi);
	ok(cfd < 0 && errno == ENOENT, "connect without a listener fails with ENOENT");
	ok(lttng_hyper_channel_connect(&uri) < 0 && errno == EINVAL &&
		lttng_hyper_channel_listen(&curi) < 0 && errno == EINVAL,
		"connect on a listener URI and listen on a connecting one are refused");
	rmdir(dir);
}

static void test_tcp_channel(void)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct pollfd pfd;
	int lfd, cfd, afd, one = 0, soerr = -1;
	socklen_t optlen = sizeof(one);
	uint16_t port = 0;

	lfd = lttng_hyper_tcp_listen("127.0.0.1", 0);
	if (lfd >= 0 && getsockname(lfd, (struct sockaddr *) &ss, &sslen) == 0 &&
			ss.ss_family == AF_INET) {
		port = ntohs(((struct sockaddr_in *) &ss)->sin_port);
	}
	ok(lfd >= 0 && port != 0 && fd_flags_ok(lfd), "tcp listen on 127.0.0.1, port %u", port);

	cfd = lttng_hyper_tcp_connect("127.0.0.1", port);
	ok(cfd >= 0 && fd_flags_ok(cfd), "tcp connect started");
	pfd.fd = cfd;
	pfd.events = POLLOUT;
	optlen = sizeof(soerr);
	ok(poll(&pfd, 1, 2000) == 1 &&
		getsockopt(cfd, SOL_SOCKET, SO_ERROR, &soerr, &optlen) == 0 && soerr == 0,
		"tcp connect completes");
	optlen = sizeof(one);
	ok(getsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, &optlen) == 0 && one,
		"TCP_NODELAY is set");
	afd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ok(afd >= 0 && pass_byte(cfd, afd), "bytes pass over tcp");
	close(afd);
	close(cfd);
	close(lfd);

	ok(lttng_hyper_tcp_connect("no-such-host.invalid", 1) < 0, "unknown host fails");
}

int main(void)
{
	plan_tests(NUM_TESTS);
	test_golden();
	test_header();
	test_header_fuzz();
	test_names();
	test_hello();
	test_hello_fuzz();
	test_bodies();
	test_clock_estimate();
	test_strings();
	test_channel_parse();
	test_urls();
	test_unix_channel();
	test_tcp_channel();
	return exit_status();
}
