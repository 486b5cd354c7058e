/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The channel's output queue: frames are queued, then written in order,
 * a spliced DATA payload in its place among them.
 */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/mux-internal.h"

static void mux_update_channel_events(struct lh_mux *mux)
{
	uint32_t events = EPOLLIN;

	if (mux_out_queued(mux) > 0) {
		events |= EPOLLOUT;
	}
	if (lh_watch_set_events(mux->watch, events)) {
		mux_fail(mux, "cannot watch the channel: %s", strerror(errno));
	}
}

static void mux_write_error(struct lh_mux *mux, int err)
{
	if (err == EPIPE) {
		mux_fail(mux, "peer closed the channel");
	} else {
		mux_fail(mux, "channel write error: %s", strerror(err));
	}
}

/*
 * Write the queue in order: the bytes before the spliced payload, the
 * payload, then the rest. Stops when the channel is full.
 */
static void mux_write_channel(struct lh_mux *mux)
{
	ssize_t ret;
	size_t n;

	for (;;) {
		n = mux->tx_pipe_len ? mux->tx_mark : lh_buf_len(&mux->out);
		if (n > 0) {
			ret = mux_chan_write(mux, lh_buf_head(&mux->out), n);
			if (ret < 0) {
				if (errno != EAGAIN && errno != EWOULDBLOCK) {
					mux_write_error(mux, errno);
				}
				return;
			}
			lh_buf_consume(&mux->out, (size_t) ret);
			if (mux->tx_pipe_len) {
				mux->tx_mark -= (size_t) ret;
			}
			if ((size_t) ret < n) {
				return;
			}
		}
		if (!mux->tx_pipe_len) {
			return;
		}
		ret = mux_chan_splice_from_pipe(mux, mux->tx_pipe[0], mux->tx_pipe_len);
		if (ret < 0 && splice_unsupported(errno)) {
			/* This channel takes no splice: put the payload back in line. */
			if (buf_insert_from_pipe(&mux->out, mux->tx_mark, mux->tx_pipe[0],
					mux->tx_pipe_len)) {
				mux_fail(mux, "moving spliced data back to the channel queue: %s",
					strerror(errno));
				return;
			}
			DBG_CTX(mux->log_ctx, "the channel does not take splice: copying");
			mux->tx_splice_off = true;
			mux->tx_pipe_len = 0;
			continue;
		}
		if (ret < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				mux_write_error(mux, errno);
			}
			return;
		}
		mux->tx_pipe_len -= (size_t) ret;
		if (mux->tx_pipe_len) {
			return;
		}
	}
}

void mux_flush_channel(struct lh_mux *mux)
{
	if (mux_out_queued(mux) > 0) {
		mux_write_channel(mux);
		if (mux_stopped(mux)) {
			return;
		}
	}
	if (mux_out_queued(mux) > mux->cfg.out_hard_limit) {
		mux_fail(mux, "peer stalled: %zu bytes queued", mux_out_queued(mux));
		return;
	}
	mux_update_channel_events(mux);
}

/*
 * Something was queued. When nothing was waiting before, write now: one
 * write() instead of a round through epoll, and lower latency.
 */
void mux_kick(struct lh_mux *mux)
{
	if (mux_stopped(mux)) {
		return;
	}
	if (lh_watch_get_events(mux->watch) & EPOLLOUT) {
		if (mux_out_queued(mux) > mux->cfg.out_hard_limit) {
			mux_fail(mux, "peer stalled: %zu bytes queued", mux_out_queued(mux));
		}
		return;
	}
	mux_flush_channel(mux);
}

/* Queue a frame with a VM path (NULL: none) and a body; the caller kicks the queue. */
int mux_queue_path(struct lh_mux *mux, uint8_t type, uint32_t conn_id,
		const char *path, const void *body, size_t len)
{
	size_t path_len = path ? strlen(path) : 0;
	struct lttng_hyper_frame_header hdr = {
		.type = type,
		.conn_id = conn_id,
		.length = (uint32_t) (path_len + len),
		.path_len = (uint16_t) path_len,
	};

	if (mux_stopped(mux)) {
		return -1;
	}
	if (lh_buf_reserve(&mux->out, LTTNG_HYPER_FRAME_HEADER_LEN + path_len + len)) {
		mux_fail(mux, "out of memory queueing a %s frame",
			lttng_hyper_frame_type_str(type));
		return -1;
	}
	lttng_hyper_frame_header_encode(&hdr, lh_buf_tail(&mux->out));
	lh_buf_commit(&mux->out, LTTNG_HYPER_FRAME_HEADER_LEN);
	if (path_len > 0) {
		memcpy(lh_buf_tail(&mux->out), path, path_len);
		lh_buf_commit(&mux->out, path_len);
	}
	if (len > 0) {
		memcpy(lh_buf_tail(&mux->out), body, len);
		lh_buf_commit(&mux->out, len);
	}
	mux->stats.frames_to_peer++;
	return 0;
}

int mux_queue(struct lh_mux *mux, uint8_t type, uint32_t conn_id,
		const void *body, size_t len)
{
	return mux_queue_path(mux, type, conn_id, NULL, body, len);
}

void mux_send(struct lh_mux *mux, uint8_t type, uint32_t conn_id,
		const void *body, size_t len)
{
	if (mux_queue(mux, type, conn_id, body, len)) {
		return;
	}
	mux_kick(mux);
}

void mux_send_u32(struct lh_mux *mux, uint8_t type, uint32_t conn_id, uint32_t v)
{
	uint8_t body[4];

	mux_send(mux, type, conn_id, body, lttng_hyper_u32_encode(v, body));
}
