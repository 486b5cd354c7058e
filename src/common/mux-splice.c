/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The splice data path: its pipes, the moves between them and the local
 * sockets, and the splice of a DATA body off the channel. The splice
 * calls on the channel fd itself are in mux-chan-io.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mux-internal.h"

/* Pipes that carry spliced data; a bigger pipe means fewer splice calls. */
#define MUX_PIPE_SIZE		(1U << 20)
/* Read this much at most when a filter must see the next bytes. */
#define MUX_INSPECT_READ	4096

/*
 * A non-blocking pipe, as large as allowed, for spliced data. What it
 * can hold is charged to the account; -1 with ENOBUFS when that is full.
 */
int pipe_open(int fds[2], struct lh_mem_account *acct)
{
	if (lh_mem_charge(acct, MUX_PIPE_SIZE)) {
		return -1;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC)) {
		lh_mem_uncharge(acct, MUX_PIPE_SIZE);
		return -1;
	}
	/* A smaller pipe only costs more splice calls (the size is capped for non-root). */
	(void) fcntl(fds[0], F_SETPIPE_SZ, MUX_PIPE_SIZE);
	return 0;
}

void pipe_close(int fds[2], struct lh_mem_account *acct, const char *log_ctx)
{
	int i;

	if (fds[0] >= 0) {
		lh_mem_uncharge(acct, MUX_PIPE_SIZE);
	}
	for (i = 0; i < 2; i++) {
		if (fds[i] >= 0 && close(fds[i])) {
			lh_log_errno(log_ctx, "closing a pipe");
		}
		fds[i] = -1;
	}
}

/*
 * Move len bytes out of a pipe into buf at offset at, when they cannot be
 * spliced where they were meant to go. Returns 0, or -1 with errno set.
 */
int buf_insert_from_pipe(struct lh_buf *buf, size_t at, int fd, size_t len)
{
	size_t done = 0;
	ssize_t ret;

	if (lh_buf_reserve(buf, len)) {
		return -1;
	}
	memmove(lh_buf_head(buf) + at + len, lh_buf_head(buf) + at, lh_buf_len(buf) - at);
	while (done < len) {
		ret = read(fd, lh_buf_head(buf) + at + done, len - done);
		if (ret < 0 && errno == EINTR) {
			continue;
		}
		if (ret <= 0) {
			/* The pipe holds exactly len bytes: anything else is a bug. */
			if (ret == 0) {
				errno = EIO;
			}
			return -1;
		}
		done += (size_t) ret;
	}
	lh_buf_commit(buf, len);
	return 0;
}

/* Splice what waits in the pipe to the local fd. Returns what splice() did. */
ssize_t conn_flush_pipe(struct lh_mux_conn *conn)
{
	ssize_t ret;

	do {
		ret = splice(conn->pipe[0], NULL, conn->fd, NULL, conn->pipe_len,
				SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0 && splice_unsupported(errno)) {
		/* The local fd takes no splice: the pipe's bytes go first in out. */
		if (buf_insert_from_pipe(&conn->out, 0, conn->pipe[0], conn->pipe_len)) {
			mux_fail(conn->mux, "conn %" PRIu32 ": moving spliced data back to its queue: %s",
				conn->id, strerror(errno));
			return -1;
		}
		conn->pipe_len = 0;
		conn->splice_off = true;
		return 0;
	}
	if (ret > 0) {
		conn->pipe_len -= (size_t) ret;
	}
	return ret;
}

/*
 * Splice up to max bytes of the local fd into the channel's pipe, and
 * queue a DATA header for them: the channel carries them next after it.
 * Returns what splice() returned.
 */
ssize_t conn_splice_local(struct lh_mux_conn *conn, size_t max)
{
	struct lh_mux *mux = conn->mux;
	struct lttng_hyper_frame_header hdr = {
		.type = LTTNG_HYPER_FRAME_DATA,
		.conn_id = conn->id,
	};
	ssize_t ret;

	if (mux->tx_pipe[0] < 0 && pipe_open(mux->tx_pipe, mux->cfg.mem)) {
		lh_log_errno(mux->log_ctx, "creating a pipe: copying instead");
		errno = EINVAL;
		return -1;
	}
	do {
		ret = splice(conn->fd, NULL, mux->tx_pipe[1], NULL, max,
				SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	} while (ret < 0 && errno == EINTR);
	if (ret <= 0) {
		return ret;
	}
	hdr.length = (uint32_t) ret;
	if (lh_buf_reserve(&mux->out, LTTNG_HYPER_FRAME_HEADER_LEN)) {
		mux_fail(mux, "out of memory reading conn %" PRIu32, conn->id);
		return ret;
	}
	lttng_hyper_frame_header_encode(&hdr, lh_buf_tail(&mux->out));
	lh_buf_commit(&mux->out, LTTNG_HYPER_FRAME_HEADER_LEN);
	mux->tx_mark = lh_buf_len(&mux->out);
	mux->tx_pipe_len = (size_t) ret;
	conn->send_credit -= (uint64_t) ret;
	conn->progress_ms = lh_now_ms();
	mux->stats.bytes_to_peer += (uint64_t) ret;
	mux->stats.frames_to_peer++;
	mux_kick(mux);
	return ret;
}

/*
 * Splice the next bytes of the DATA body being received to its conn.
 * Returns true when done; false when the bytes must be read instead,
 * with *max set to how many.
 */
bool mux_splice_channel(struct lh_mux *mux, size_t *max)
{
	struct lh_mux_conn *conn = mux->rx_conn_id ? conn_lookup(mux, mux->rx_conn_id) : NULL;
	const struct lh_mux_filter *filter;
	bool was_empty;
	uint64_t n;
	ssize_t ret;

	*max = (size_t) min_u64(mux->rx_left, MUX_CHANNEL_READ);
	if (!conn || !conn_rx_splices(conn)) {
		return false;
	}
	if (lh_buf_len(&conn->out) > 0) {
		/* Bytes in out go after the pipe's: keep copying until it drains. */
		return false;
	}
	filter = conn->filter;
	n = mux->rx_left;
	if (filter && filter->from_peer) {
		n = min_u64(n, filter->peer_skippable(conn));
		if (n == 0) {
			/* The filter inspects what comes next: read a little, then splice again. */
			*max = (size_t) min_u64(mux->rx_left, MUX_INSPECT_READ);
			return false;
		}
	}
	if (conn->pipe[0] < 0 && pipe_open(conn->pipe, mux->cfg.mem)) {
		lh_log_errno(mux->log_ctx, "conn %" PRIu32 ": creating a pipe: copying instead",
			conn->id);
		conn->splice_off = true;
		return false;
	}
	ret = mux_chan_splice_to_pipe(mux, conn->pipe[1], (size_t) n);
	if (ret < 0) {
		if (splice_unsupported(errno)) {
			DBG_CTX(mux->log_ctx, "the channel does not splice: copying");
			mux->rx_splice_off = true;
			return false;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* The pipe may be full while the channel has data: read. */
			return false;
		}
		if (errno == ECONNRESET) {
			mux_fail(mux, "peer closed the channel in the middle of a frame (reset)");
		} else {
			mux_fail(mux, "channel read error: %s", strerror(errno));
		}
		return true;
	}
	if (ret == 0) {
		mux_fail(mux, "peer closed the channel in the middle of a frame");
		return true;
	}
	mux->last_rx_ms = lh_now_ms();
	was_empty = conn->pipe_len == 0;
	mux->rx_left -= (uint32_t) ret;
	conn->pipe_len += (size_t) ret;
	conn->unreturned += (uint32_t) ret;
	mux->stats.bytes_from_peer += (uint64_t) ret;
	if (filter && filter->from_peer) {
		filter->peer_skipped(conn, (uint64_t) ret);
	}
	if (was_empty) {
		conn->progress_ms = mux->last_rx_ms;
		conn_flush_local(conn);
	}
	conn_update_events(conn);
	return true;
}
