/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Flow control (mux.h): the credit a DATA body takes, the credit given
 * back once its bytes have left for the local socket, and the credit
 * the peer gives back in CREDIT frames.
 */
#include <inttypes.h>

#include "common/mux-internal.h"

/*
 * Give the peer back, in batches, the credit of the bytes that left our
 * queue. Bytes still queued are not returned, so a peer can never make us
 * hold more than one window per connection.
 */
void conn_return_credit(struct lh_mux_conn *conn, bool drained)
{
	struct lh_mux *mux = conn->mux;
	uint32_t window = mux->cfg.window;
	uint32_t batch = window / 4 ? window / 4 : 1;
	size_t queued = conn_queued(conn);
	uint32_t n;

	if (queued >= window / 2) {
		return;
	}
	n = conn->unreturned > queued ? conn->unreturned - (uint32_t) queued : 0;
	if (n == 0 || (n < batch && !drained)) {
		return;
	}
	conn->unreturned -= n;
	conn->recv_credit += n;
	mux_send_u32(mux, LTTNG_HYPER_FRAME_CREDIT, conn->id, n);
}

/* Take the credit of a DATA body; the conn it is for, or NULL to drop it. */
struct lh_mux_conn *data_accept(struct lh_mux *mux,
		const struct lttng_hyper_frame_header *hdr, uint32_t len)
{
	struct lh_mux_conn *conn = frame_conn(mux, hdr);

	if (!conn) {
		return NULL;
	}
	if (len > conn->recv_credit) {
		mux_fail(mux, "DATA frame of %" PRIu32 " bytes on conn %" PRIu32 " exceeds its credit of %" PRIu32 " bytes",
			len, conn->id, conn->recv_credit);
		return NULL;
	}
	if (conn->peer_closed) {
		mux_fail(mux, "DATA frame on conn %" PRIu32 " after its CLOSE", conn->id);
		return NULL;
	}
	conn->recv_credit -= len;
	return conn;
}

void frame_credit(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *body, uint32_t len)
{
	struct lh_mux_conn *conn;
	uint32_t n;

	if (lttng_hyper_u32_decode(body, len, &n)) {
		return;
	}
	conn = frame_conn(mux, hdr);
	if (!conn) {
		return;
	}
	/* The peer only gives back what we sent: more is a lie. */
	if (conn->send_credit + n > mux->peer.window) {
		mux_fail(mux, "CREDIT of %" PRIu32 " bytes on conn %" PRIu32 " exceeds its window (credit %" PRIu64 ", window %" PRIu32 ")",
			n, conn->id, conn->send_credit, mux->peer.window);
		return;
	}
	conn->send_credit += n;
	conn_resume(conn);
}
