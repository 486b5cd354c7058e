/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Local sockets: a connection's reads onto the channel, copied or
 * filtered (mux-splice.c splices them), and the peer's bytes delivered
 * to it.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mux-internal.h"

#define MUX_ERR_LEN		256

/* Local reads of this conn go through the channel's pipe (no filter reads them). */
static bool conn_tx_splices(const struct lh_mux_conn *conn)
{
	return !conn->mux->tx_splice_off && !(conn->filter && conn->filter->from_local);
}

/* Bytes from the peer may be spliced to the local fd (where the filter lets them). */
bool conn_rx_splices(const struct lh_mux_conn *conn)
{
	const struct lh_mux_filter *filter = conn->filter;

	return !conn->mux->rx_splice_off && !conn->splice_off && !conn->closed &&
		(!filter || !filter->from_peer || filter->peer_skippable);
}

bool conn_can_read(struct lh_mux_conn *conn)
{
	struct lh_mux *mux = conn->mux;

	if (mux_stopped(mux) || !mux->ready || mux->shutting_down || conn->closed ||
			conn->peer_closed || conn->local_eof ||
			conn->send_credit == 0 || lh_buf_len(&conn->pend) > 0) {
		return false;
	}
	/*
	 * Wait for the channel's pipe to drain rather than copy: the pipe
	 * then takes a larger read, and the CPU goes to the application.
	 */
	if (mux_out_queued(mux) >= mux->cfg.out_high_water ||
			(mux->tx_pipe_len && conn_tx_splices(conn))) {
		mux->out_blocked = true;
		return false;
	}
	return true;
}

/* A filter found a fault that concerns this connection alone. */
static void conn_filter_reset(struct lh_mux_conn *conn, const char *why)
{
	WARN_CTX(conn->mux->log_ctx, "conn %" PRIu32 " (%s) reset: %s", conn->id,
		kind_str(conn->kind), why);
	conn_reset(conn, LTTNG_HYPER_RESET_PROTOCOL);
}

/* Write what waits for the local fd, in order; the rest on EPOLLOUT. */
void conn_flush_local(struct lh_mux_conn *conn)
{
	ssize_t ret = 0;

	if (conn->pipe_len) {
		ret = conn_flush_pipe(conn);
		if (mux_stopped(conn->mux)) {
			return;
		}
	}
	if (ret >= 0 && !conn->pipe_len && lh_buf_len(&conn->out) > 0) {
		ret = lh_buf_write_fd(&conn->out, conn->fd);
	}
	if (ret < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_local_error(conn, errno, "write");
		}
		return;
	}
	conn->progress_ms = lh_now_ms();
	if (conn->peer_closed) {
		/* The peer closed first and forgot the conn: no CREDIT, no CLOSE back. */
		if (conn_queued(conn) == 0) {
			conn_free(conn);
		}
		return;
	}
	conn_return_credit(conn, conn_queued(conn) == 0);
}

/* Read the local fd onto the channel, as much as credit and room allow. */
void conn_read_local(struct lh_mux_conn *conn)
{
	struct lh_mux *mux = conn->mux;
	const struct lh_mux_filter *filter = conn->filter;
	size_t max = (size_t) min_u64(min_u64(conn->send_credit, mux->cfg.data_chunk),
			mux->peer.max_frame);
	struct lttng_hyper_frame_header hdr = {
		.type = LTTNG_HYPER_FRAME_DATA,
		.conn_id = conn->id,
	};
	size_t copy;
	ssize_t ret;

	if (filter && filter->from_local) {
		char err[MUX_ERR_LEN] = "";
		enum lh_filter_verdict verdict;

		lh_buf_reset(&mux->scratch);
		ret = lh_buf_read_fd(&mux->scratch, conn->fd, max);
		if (ret <= 0) {
			goto read_done;
		}
		conn->progress_ms = lh_now_ms();
		verdict = filter->from_local(conn, lh_buf_head(&mux->scratch), (size_t) ret,
				&conn->pend, err, sizeof(err));
		if (mux_stopped(mux) || conn->closed) {
			return;
		}
		switch (verdict) {
		case LH_FILTER_PASS:
			if (lh_buf_append(&conn->pend, lh_buf_head(&mux->scratch), (size_t) ret)) {
				mux_fail(mux, "out of memory on conn %" PRIu32, conn->id);
				return;
			}
			break;
		case LH_FILTER_CONSUMED:
			break;
		case LH_FILTER_ERROR:
			mux_fail(mux, "conn %" PRIu32 " (%s): %s", conn->id,
				kind_str(conn->kind), err);
			return;
		case LH_FILTER_RESET:
			conn_filter_reset(conn, err);
			return;
		}
		conn_send_pending(conn);
		return;
	}

	/* Commands and replies are small, packets are not: guess from the last read. */
	if (conn_tx_splices(conn) && conn->tx_bulk) {
		ret = conn_splice_local(conn, max);
		if (ret >= 0 || !splice_unsupported(errno)) {
			if (ret >= 0 && (size_t) ret < MUX_SMALL_READ) {
				conn->tx_bulk = false;
			}
			goto read_done;
		}
		DBG_CTX(mux->log_ctx, "conn %" PRIu32 ": splice from the local socket not supported: copying",
			conn->id);
		mux->tx_splice_off = true;
	}
	copy = conn_tx_splices(conn) ? (size_t) min_u64(max, MUX_SMALL_READ) : max;
	if (lh_buf_reserve(&mux->out, LTTNG_HYPER_FRAME_HEADER_LEN + copy)) {
		mux_fail(mux, "out of memory reading conn %" PRIu32, conn->id);
		return;
	}
	/* Read straight behind a header slot in the channel queue: no copy. */
	do {
		ret = read(conn->fd, lh_buf_tail(&mux->out) + LTTNG_HYPER_FRAME_HEADER_LEN, copy);
	} while (ret < 0 && errno == EINTR);
	if (ret > 0) {
		/* It filled the small read: more waits, and splices better. */
		conn->tx_bulk = (size_t) ret == copy && copy < max;
		hdr.length = (uint32_t) ret;
		lttng_hyper_frame_header_encode(&hdr, lh_buf_tail(&mux->out));
		lh_buf_commit(&mux->out, LTTNG_HYPER_FRAME_HEADER_LEN + (size_t) ret);
		conn->send_credit -= (uint64_t) ret;
		conn->progress_ms = lh_now_ms();
		mux->stats.bytes_to_peer += (uint64_t) ret;
		mux->stats.frames_to_peer++;
		mux_kick(mux);
		return;
	}

read_done:
	if (ret > 0) {
		return;
	}
	if (ret == 0) {
		conn->local_eof = true;
		if (lh_buf_len(&conn->pend) == 0) {
			conn_close_local(conn);
		}
	} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
		conn_local_error(conn, errno, "read");
	}
}

/* Frame filtered bytes that wait for credit or channel room. */
void conn_send_pending(struct lh_mux_conn *conn)
{
	struct lh_mux *mux = conn->mux;

	if (conn->closed) {
		return;
	}
	while (lh_buf_len(&conn->pend) > 0 && conn->send_credit > 0 &&
			mux_out_queued(mux) < mux->cfg.out_high_water &&
			!mux_stopped(mux)) {
		size_t n = (size_t) min_u64(min_u64(lh_buf_len(&conn->pend), conn->send_credit),
				min_u64(mux->cfg.data_chunk, mux->peer.max_frame));

		if (mux_queue(mux, LTTNG_HYPER_FRAME_DATA, conn->id, lh_buf_head(&conn->pend), n)) {
			return;
		}
		lh_buf_consume(&conn->pend, n);
		conn->send_credit -= n;
		mux->stats.bytes_to_peer += n;
	}
	if (lh_buf_len(&conn->pend) > 0 && mux_out_queued(mux) >= mux->cfg.out_high_water) {
		mux->out_blocked = true;
	}
	mux_kick(mux);
	if (!mux_stopped(mux) && conn->local_eof && lh_buf_len(&conn->pend) == 0) {
		conn_close_local(conn);
	}
}

void conn_resume(struct lh_mux_conn *conn)
{
	if (lh_buf_len(&conn->pend) > 0) {
		conn_send_pending(conn);
	}
	conn_update_events(conn);
}

/* Bytes from the peer for the local fd. */
void conn_deliver(struct lh_mux_conn *conn, const uint8_t *buf, size_t len)
{
	struct lh_mux *mux = conn->mux;
	const struct lh_mux_filter *filter = conn->filter;
	bool was_empty = conn_queued(conn) == 0;
	ssize_t ret;

	if (filter && filter->from_peer) {
		char err[MUX_ERR_LEN] = "";
		enum lh_filter_verdict verdict;

		verdict = filter->from_peer(conn, buf, len, &conn->out, err, sizeof(err));
		if (mux_stopped(mux) || conn->closed) {
			return;
		}
		switch (verdict) {
		case LH_FILTER_PASS:
			break;
		case LH_FILTER_CONSUMED:
			if (was_empty && lh_buf_len(&conn->out) > 0) {
				conn->progress_ms = lh_now_ms();
				conn_flush_local(conn);
			} else {
				conn_return_credit(conn, false);
			}
			conn_update_events(conn);
			return;
		case LH_FILTER_ERROR:
			mux_fail(mux, "conn %" PRIu32 " (%s): %s", conn->id,
				kind_str(conn->kind), err);
			return;
		case LH_FILTER_RESET:
			conn_filter_reset(conn, err);
			return;
		}
	}

	if (was_empty) {
		/* Nothing queued: write straight from the channel's input buffer. */
		do {
			ret = write(conn->fd, buf, len);
		} while (ret < 0 && errno == EINTR);
		if (ret < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				conn_local_error(conn, errno, "write");
				return;
			}
			ret = 0;
		}
		/* Progress, or the moment bytes start waiting: the stall clock starts. */
		conn->progress_ms = lh_now_ms();
		buf += ret;
		len -= (size_t) ret;
	}
	if (len > 0 && lh_buf_append(&conn->out, buf, len)) {
		mux_fail(mux, "out of memory on conn %" PRIu32, conn->id);
		return;
	}
	conn_return_credit(conn, false);
	conn_update_events(conn);
}
