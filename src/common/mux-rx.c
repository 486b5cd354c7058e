/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The channel's read path: what arrives is cut into frames, and the
 * body of a DATA frame goes to its connection as it arrives, so that it
 * can be spliced (mux-splice.c) rather than read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/mux-internal.h"

/* DATA bodies at least this large are spliced; smaller ones are read. */
#define MUX_SPLICE_MIN		(16U << 10)
/*
 * A partial frame at least this large is finished with a read of exactly
 * the missing bytes, so the input buffer empties and is never compacted.
 */
#define MUX_BIG_FRAME		(64U << 10)

/*
 * The header of a DATA frame without a VM path: its body is delivered as
 * it arrives, so that it can be spliced rather than read.
 */
static void data_start(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr)
{
	struct lh_mux_conn *conn;

	if (!mux_frame_check(mux, hdr)) {
		return;
	}
	conn = data_accept(mux, hdr, hdr->length);
	if (mux_stopped(mux)) {
		return;
	}
	mux->rx_conn_id = conn ? conn->id : 0;
	mux->rx_left = hdr->length;
	mux->rx_bulk = conn && hdr->length >= MUX_SPLICE_MIN && conn_rx_splices(conn);
}

/* A piece of the body of the DATA frame being received. */
static void data_body(struct lh_mux *mux, const uint8_t *buf, uint32_t len)
{
	struct lh_mux_conn *conn = NULL;

	mux->rx_left -= len;
	if (mux->rx_conn_id) {
		conn = conn_lookup(mux, mux->rx_conn_id);
	}
	/* Gone: it was closed here while its data was in flight. */
	if (!conn) {
		return;
	}
	conn->unreturned += len;
	mux->stats.bytes_from_peer += len;
	conn_deliver(conn, buf, len);
}

static void mux_header_error(struct lh_mux *mux, const uint8_t *p, int err)
{
	char hex[LTTNG_HYPER_FRAME_HEADER_LEN * 3 + 1];
	size_t i;

	if (-err == LTTNG_HYPER_ERR_TYPE) {
		mux_fail(mux, "invalid frame header: unknown frame type %u", p[2]);
		return;
	}
	for (i = 0; i < LTTNG_HYPER_FRAME_HEADER_LEN; i++) {
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x%s", p[i],
			i + 1 < LTTNG_HYPER_FRAME_HEADER_LEN ? " " : "");
	}
	mux_fail(mux, "invalid frame header: %s (header bytes %s)",
		lttng_hyper_error_str(err), hex);
}

/*
 * Handle every whole frame in the input buffer, and every byte of a DATA
 * body; keep a partial frame of another kind.
 */
static void mux_parse(struct lh_mux *mux)
{
	while (!mux_stopped(mux)) {
		const uint8_t *p = lh_buf_head(&mux->in);
		size_t have = lh_buf_len(&mux->in);
		struct lttng_hyper_frame_header hdr;
		struct lh_mux_conn *conn;
		int ret;

		if (mux->rx_left) {
			uint32_t n = (uint32_t) min_u64(have, mux->rx_left);

			if (n == 0) {
				return;
			}
			data_body(mux, p, n);
			lh_buf_consume(&mux->in, n);
			continue;
		}
		if (have < LTTNG_HYPER_FRAME_HEADER_LEN) {
			return;
		}

		/* Decode with no length limit, to name the frame in the error below. */
		ret = lttng_hyper_frame_header_decode(p, UINT32_MAX, &hdr);
		if (ret) {
			mux_header_error(mux, p, ret);
			return;
		}
		if (hdr.length > mux->cfg.max_frame) {
			mux_fail(mux, "%s frame on conn %" PRIu32 " of %" PRIu32 " bytes exceeds the maximum of %" PRIu32,
				lttng_hyper_frame_type_str(hdr.type), hdr.conn_id, hdr.length,
				mux->cfg.max_frame);
			return;
		}
		if (have - LTTNG_HYPER_FRAME_HEADER_LEN < hdr.length) {
			/*
			 * Only a DATA body that may be spliced is taken in
			 * pieces: a filter that inspects every byte sees whole
			 * frames, and no byte of a frame cut short.
			 */
			if (hdr.type == LTTNG_HYPER_FRAME_DATA && hdr.path_len == 0 &&
					(conn = conn_lookup(mux, hdr.conn_id)) &&
					conn_rx_splices(conn)) {
				lh_buf_consume(&mux->in, LTTNG_HYPER_FRAME_HEADER_LEN);
				data_start(mux, &hdr);
				continue;
			}
			return;
		}
		if (hdr.type == LTTNG_HYPER_FRAME_DATA) {
			mux->rx_bulk = false;
		}
		mux_frame(mux, &hdr, p + LTTNG_HYPER_FRAME_HEADER_LEN);
		lh_buf_consume(&mux->in, LTTNG_HYPER_FRAME_HEADER_LEN + hdr.length);
	}
}

void mux_read_channel(struct lh_mux *mux)
{
	size_t max = MUX_CHANNEL_READ;
	size_t have = lh_buf_len(&mux->in);
	struct lttng_hyper_frame_header hdr;
	ssize_t ret;

	if (mux->rx_left) {
		/* mux_parse() left none of the body in the buffer. */
		if (mux_splice_channel(mux, &max)) {
			return;
		}
	} else if (mux->rx_bulk && have < LTTNG_HYPER_FRAME_HEADER_LEN) {
		/* Read up to the next body alone, so that it can be spliced. */
		max = LTTNG_HYPER_FRAME_HEADER_LEN - have;
	} else if (have >= LTTNG_HYPER_FRAME_HEADER_LEN &&
			!lttng_hyper_frame_header_decode(lh_buf_head(&mux->in),
				mux->cfg.max_frame, &hdr)) {
		/* The header of a partial frame was checked by mux_parse() already. */
		size_t total = LTTNG_HYPER_FRAME_HEADER_LEN + (size_t) hdr.length;

		if (mux->rx_bulk || total >= MUX_BIG_FRAME || total - have > max) {
			max = total - have;
		}
	}
	ret = mux_chan_read(mux, &mux->in, max);
	if (ret == 0 && (lh_buf_len(&mux->in) > 0 || mux->rx_left)) {
		mux_fail(mux, "peer closed the channel in the middle of a frame (%zu bytes of it received)",
			lh_buf_len(&mux->in));
		return;
	}
	if (ret == 0) {
		mux_fail(mux, "peer closed the channel");
		return;
	}
	if (ret < 0) {
		/*
		 * A peer that closes with our frames (pings, clock probes) still
		 * unread makes the kernel reset the connection: still a close.
		 */
		if (errno == ECONNRESET) {
			mux_fail(mux, "peer closed the channel (reset)");
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			mux_fail(mux, "channel read error: %s", strerror(errno));
		}
		return;
	}
	mux->last_rx_ms = lh_now_ms();
	mux_parse(mux);
}
