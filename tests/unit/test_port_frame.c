/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the checks of a data port's frames (src/common/port-frame.h):
 * the header on its own (circuit, size bound, taken from the wire as
 * lttng-consumerd writes it), and a stream's frames around its close, which
 * reaches the relay by another path than its last frames.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/bytes.h"
#include "common/port-frame.h"
#include "common/relayd-msg.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	32
#define MAX_FRAME	(1ULL << 20)
#define STREAM		42

/* A header as it comes off the port: the wire bytes, decoded. */
static struct lh_relayd_data_hdr wire_hdr(uint64_t circuit, uint64_t stream, uint64_t seq,
		uint32_t data_size, uint32_t padding)
{
	struct lh_relayd_data_hdr hdr;
	uint8_t raw[LH_RELAYD_DATA_HDR_LEN];

	lh_put_be64(raw, circuit);
	lh_put_be64(raw + 8, stream);
	lh_put_be64(raw + 16, seq);
	lh_put_be32(raw + 24, data_size);
	lh_put_be32(raw + 28, padding);
	lh_relayd_data_hdr_decode(raw, &hdr);
	return hdr;
}

static bool hdr_ok(struct lh_relayd_data_hdr hdr, uint64_t max)
{
	char err[256] = "";

	return lh_port_frame_hdr_check(&hdr, max, err, sizeof(err)) == 0 && !err[0];
}

/* Refused, with a reason that contains what. */
static bool hdr_refused(struct lh_relayd_data_hdr hdr, uint64_t max, const char *what)
{
	char err[256] = "";

	if (lh_port_frame_hdr_check(&hdr, max, err, sizeof(err)) != -1) {
		return false;
	}
	if (!strstr(err, what)) {
		diag("reason \"%s\" lacks \"%s\"", err, what);
		return false;
	}
	return true;
}

static void test_header(void)
{
	struct lh_relayd_data_hdr hdr = wire_hdr(0, STREAM, 7, 4096, 100);

	ok(hdr.circuit_id == 0 && hdr.stream_id == STREAM && hdr.net_seq_num == 7 &&
		hdr.data_size == 4096 && hdr.padding_size == 100,
		"the header decodes from big-endian wire bytes");
	ok(hdr_ok(hdr, MAX_FRAME), "a frame within the bound passes");
	ok(hdr_ok(wire_hdr(0, STREAM, 0, 0, 0), MAX_FRAME), "an empty frame passes");
	ok(hdr_ok(wire_hdr(0, STREAM, 0, MAX_FRAME, 0), MAX_FRAME),
		"data_size at the bound passes");
	ok(hdr_ok(wire_hdr(0, STREAM, 0, MAX_FRAME - 4096, 4096), MAX_FRAME),
		"data_size + padding_size at the bound passes");
	ok(hdr_refused(wire_hdr(0, STREAM, 0, MAX_FRAME + 1, 0), MAX_FRAME, "exceeds"),
		"data_size one past the bound is refused");
	ok(hdr_refused(wire_hdr(0, STREAM, 0, 0, MAX_FRAME + 1), MAX_FRAME, "exceeds"),
		"padding_size alone past the bound is refused (lttng-relayd writes it)");
	ok(hdr_refused(wire_hdr(0, STREAM, 0, MAX_FRAME, 1), MAX_FRAME, "exceeds"),
		"data_size + padding_size one past the bound is refused");
	ok(hdr_refused(wire_hdr(0, STREAM, 0, UINT32_MAX, UINT32_MAX), MAX_FRAME, "exceeds"),
		"the largest sizes do not wrap around the bound");
	ok(hdr_ok(wire_hdr(0, STREAM, 0, UINT32_MAX, UINT32_MAX), 2ULL * UINT32_MAX),
		"the largest sizes pass the largest bound");
	ok(hdr_refused(wire_hdr(1, STREAM, 0, 16, 0), MAX_FRAME, "circuit_id 1"),
		"circuit_id 1 is refused");
	ok(hdr_refused(wire_hdr(1ULL << 63, STREAM, 0, 16, 0), MAX_FRAME, "circuit_id"),
		"a circuit_id with only its top bit set is refused");
	ok(hdr_refused(wire_hdr(0, STREAM, 0, 2 * MAX_FRAME, 0), MAX_FRAME, "stream 42"),
		"the reason names the stream");
}

static bool stream_ok(const struct lh_port_stream *s, uint64_t seq)
{
	char err[256] = "";

	return lh_port_stream_check(s, STREAM, seq, err, sizeof(err)) == 0;
}

static bool stream_refused(const struct lh_port_stream *s, uint64_t seq, const char *what)
{
	char err[256] = "";

	if (lh_port_stream_check(s, STREAM, seq, err, sizeof(err)) != -1) {
		return false;
	}
	if (!strstr(err, what)) {
		diag("reason \"%s\" lacks \"%s\"", err, what);
		return false;
	}
	return true;
}

static void test_open_stream(void)
{
	struct lh_port_stream s = { .last_seq = LH_PORT_NO_SEQ };

	ok(stream_ok(&s, 0), "an open stream takes its first frame");
	ok(stream_ok(&s, UINT64_MAX - 1), "an open stream takes any frame number");
	s.seen = true;
	s.seq = 10;
	ok(stream_ok(&s, 3), "an open stream leaves the frame order to lttng-relayd");
	ok(!lh_port_stream_awaited(&s), "an open stream is not awaited (its session is live)");
}

static void test_closed_stream(void)
{
	struct lh_port_stream s = { .closed = true, .last_seq = 9 };

	/* CLOSE_STREAM came before any of its frames did. */
	ok(stream_ok(&s, 0), "closed at 9, nothing seen: frame 0 still passes");
	ok(stream_ok(&s, 9), "closed at 9: frame 9 passes");
	ok(stream_refused(&s, 10, "closed after frame 9"), "closed at 9: frame 10 is refused");
	ok(!lh_port_stream_awaited(&s),
		"closed, none of its frames seen: not awaited (they may take another path)");
	s.seen = true;
	s.seq = 7;
	ok(lh_port_stream_awaited(&s), "closed at 9, frame 7 seen: awaited");
	ok(stream_ok(&s, 8), "closed at 9, frame 7 seen: frame 8 passes");
	s.seq = 9;
	ok(!lh_port_stream_awaited(&s), "closed at 9, frame 9 seen: no longer awaited");
	ok(stream_refused(&s, 9, "sent its last frame"),
		"closed at 9, frame 9 seen: frame 9 again is refused");
	ok(stream_refused(&s, 2, "sent its last frame"),
		"closed at 9, frame 9 seen: an earlier frame is refused");

	s = (struct lh_port_stream) { .closed = true, .last_seq = LH_PORT_NO_SEQ };
	ok(stream_refused(&s, 0, "which is closed"),
		"closed with no frame announced (its connection gone): refused");
	ok(!lh_port_stream_awaited(&s), "closed with no frame announced: not awaited");
	s.seen = true;
	s.seq = 3;
	ok(!lh_port_stream_awaited(&s), "closed with no frame announced, some seen: not awaited");
}

static void test_cut_stream(void)
{
	struct lh_port_stream s = { .last_seq = LH_PORT_NO_SEQ, .cut = true };

	ok(stream_refused(&s, 0, "cut frame"), "a stream of a cut session is refused, open");
	s.closed = true;
	s.last_seq = 9;
	s.seen = true;
	s.seq = 5;
	ok(stream_refused(&s, 6, "cut frame"), "a stream of a cut session is refused, closed");
	ok(!lh_port_stream_awaited(&s), "a stream of a cut session is not awaited");
}

int main(void)
{
	plan_tests(NUM_TESTS);
	test_header();
	test_open_stream();
	test_closed_stream();
	test_cut_stream();
	return exit_status();
}
