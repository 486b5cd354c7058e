/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The frames of a data port (port-frame.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "common/port-frame.h"

int lh_port_frame_hdr_check(const struct lh_relayd_data_hdr *hdr, uint64_t max_frame,
		char *err, size_t errlen)
{
	if (hdr->circuit_id != 0) {
		snprintf(err, errlen, "frame with circuit_id %" PRIu64 " (must be 0)",
			hdr->circuit_id);
		return -1;
	}
	/* lttng-relayd writes the padding itself: it is part of what the header costs. */
	if ((uint64_t) hdr->data_size + hdr->padding_size > max_frame) {
		snprintf(err, errlen,
			"frame for stream %" PRIu64 " of %" PRIu32 " + %" PRIu32 " padding bytes exceeds the %" PRIu64 "-byte limit (--max-data-frame)",
			hdr->stream_id, hdr->data_size, hdr->padding_size, max_frame);
		return -1;
	}
	return 0;
}

int lh_port_stream_check(const struct lh_port_stream *s, uint64_t stream_id, uint64_t seq,
		char *err, size_t errlen)
{
	if (s->cut) {
		snprintf(err, errlen,
			"frame for stream %" PRIu64 ", whose session lost its data connection to a cut frame",
			stream_id);
		return -1;
	}
	if (!s->closed) {
		return 0;
	}
	if (s->last_seq == LH_PORT_NO_SEQ) {
		snprintf(err, errlen, "frame for stream %" PRIu64 ", which is closed", stream_id);
		return -1;
	}
	if (seq > s->last_seq) {
		snprintf(err, errlen,
			"frame %" PRIu64 " for stream %" PRIu64 ", which closed after frame %" PRIu64,
			seq, stream_id, s->last_seq);
		return -1;
	}
	if (s->seen && s->seq >= s->last_seq) {
		snprintf(err, errlen,
			"frame %" PRIu64 " for stream %" PRIu64 ", which is closed and sent its last frame (%" PRIu64 ")",
			seq, stream_id, s->last_seq);
		return -1;
	}
	return 0;
}

bool lh_port_stream_awaited(const struct lh_port_stream *s)
{
	return s->closed && !s->cut && s->last_seq != LH_PORT_NO_SEQ && s->seen &&
		s->seq < s->last_seq;
}
