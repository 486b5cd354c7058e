/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the checks of a data port's frames
 * (src/common/port-frame.c): the 32-byte header as it comes off the
 * port, and one stream's frames around its CLOSE_STREAM and a cut, as
 * data-port.c and filter.c apply them.
 *
 * Input: a byte picking max_frame from a table, then records of one
 * operation byte and 32 header bytes: 0 a frame (checked; if it passes,
 * it went through whole), 1 CLOSE_STREAM with the header's net_seq_num
 * as last_net_seq_num, 2 CLOSE_STREAM without one, 3 the stream's
 * session cut.
 *
 * Invariants: the header check passes exactly circuit 0 and
 * data_size + padding_size within max_frame; a cut stream takes no
 * frame; a closed stream takes only frames up to its last one, and
 * nothing once that one went through; a stream is awaited exactly
 * while a closed stream still expects that last frame; every refusal
 * says why.
 */
#include <inttypes.h>

#include "common/port-frame.h"
#include "common/relayd-msg.h"
#include "tests/fuzz/fuzz.h"

#define STREAM_ID	42
#define REC_LEN		(1 + LH_RELAYD_DATA_HDR_LEN)

enum op {
	OP_FRAME,
	OP_CLOSE,
	OP_CLOSE_NO_SEQ,
	OP_CUT,
	NR_OPS,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t max_frames[] = {
		1ULL << 20, 0, 4096, UINT32_MAX, 2ULL * UINT32_MAX, UINT64_MAX,
	};
	struct fuzz_in in = { data, size };
	uint64_t max_frame = max_frames[fuzz_u8(&in) % (sizeof(max_frames) /
		sizeof(max_frames[0]))];
	struct lh_port_stream s = { .last_seq = LH_PORT_NO_SEQ };
	/* The model: the last frame of a closed stream went through. */
	bool last_done = false;

	while (in.len >= REC_LEN) {
		enum op op = (enum op) (fuzz_u8(&in) % NR_OPS);
		struct lh_relayd_data_hdr hdr;
		size_t got;
		char err[512] = "";
		bool hdr_ok, stream_ok, awaited;

		lh_relayd_data_hdr_decode(fuzz_bytes(&in, LH_RELAYD_DATA_HDR_LEN, &got), &hdr);
		awaited = lh_port_stream_awaited(&s);
		FUZZ_CHECK(awaited == (s.closed && !s.cut && s.last_seq != LH_PORT_NO_SEQ &&
			s.seen && !last_done),
			"awaited %d: closed %d cut %d last %" PRIu64 " seen %d seq %" PRIu64,
			awaited, s.closed, s.cut, s.last_seq, s.seen, s.seq);
		switch (op) {
		case OP_FRAME:
			hdr_ok = lh_port_frame_hdr_check(&hdr, max_frame, err, sizeof(err)) == 0;
			FUZZ_CHECK(hdr_ok == (hdr.circuit_id == 0 &&
				(uint64_t) hdr.data_size + hdr.padding_size <= max_frame),
				"header check says %d", hdr_ok);
			FUZZ_CHECK(hdr_ok != !!err[0] && fuzz_printable(err), "reason %s", err);
			if (!hdr_ok) {
				break;
			}
			stream_ok = lh_port_stream_check(&s, STREAM_ID, hdr.net_seq_num, err,
				sizeof(err)) == 0;
			FUZZ_CHECK(stream_ok != !!err[0] && fuzz_printable(err), "reason %s", err);
			if (s.cut || (s.closed && (s.last_seq == LH_PORT_NO_SEQ || last_done ||
					hdr.net_seq_num > s.last_seq))) {
				FUZZ_CHECK(!stream_ok, "frame %" PRIu64 " passed: closed %d cut %d"
					" last %" PRIu64 " done %d", hdr.net_seq_num, s.closed,
					s.cut, s.last_seq, last_done);
			}
			if (stream_ok) {
				s.seen = true;
				s.seq = hdr.net_seq_num;
				if (s.closed && s.seq == s.last_seq) {
					last_done = true;
				}
			}
			break;
		case OP_CLOSE:
		case OP_CLOSE_NO_SEQ:
			/* filter.c keeps the first CLOSE_STREAM's number. */
			if (!s.closed) {
				s.closed = true;
				s.last_seq = op == OP_CLOSE ? hdr.net_seq_num : LH_PORT_NO_SEQ;
				last_done = s.seen && s.seq >= s.last_seq &&
					s.last_seq != LH_PORT_NO_SEQ;
			}
			break;
		case OP_CUT:
		default:
			s.cut = true;
			break;
		}
	}
	return 0;
}
