/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The multiplexer (mux.h).
 *
 * Data path: bulk DATA never enters user space. A local read is
 * splice()d into a pipe and, behind its frame header, from the pipe onto
 * the channel; a DATA body from the channel is spliced through a pipe of
 * its connection to the local socket, in the spans its filter lets pass
 * unseen. Where splice is not supported, or for bytes a filter inspects,
 * a channel read carries many frames and DATA for a local socket with
 * nothing queued is written straight from the input buffer; local reads
 * land behind a reserved header slot in the channel queue.
 *
 * Callbacks may re-enter the mux, close connections or destroy it. Closed
 * connections and a destroyed mux are freed only once the outermost mux
 * function returns (see mux_enter/mux_leave), and a channel error is
 * reported to the owner from there too, never from deep in a parse.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/defaults.h"
#include "common/log.h"
#include "common/mux.h"

/* Largest read from the channel at once. */
#define MUX_CHANNEL_READ	(256U << 10)
/* Pipes that carry spliced data; a bigger pipe means fewer splice calls. */
#define MUX_PIPE_SIZE		(1U << 20)
/* Socket buffers of the channel: fewer, larger writes and reads. */
#define MUX_SOCK_BUF		(4U << 20)
/* DATA bodies at least this large are spliced; smaller ones are read. */
#define MUX_SPLICE_MIN		(16U << 10)
/*
 * A partial frame at least this large is finished with a read of exactly
 * the missing bytes, so the input buffer empties and is never compacted.
 */
#define MUX_BIG_FRAME		(64U << 10)
/* Read this much at most when a filter must see the next bytes. */
#define MUX_INSPECT_READ	4096
/* The smallest max_frame a peer may announce. */
#define MUX_MIN_PEER_FRAME	4096
#define MUX_WHY_LEN		512
#define MUX_ERR_LEN		256
#define MUX_CLOCK_MONOTONIC_ID	1

struct lh_mux_conn {
	struct lh_mux *mux;
	/* Live list; once closed, next links the list of conns to free. */
	struct lh_mux_conn *prev, *next;
	uint32_t id;
	enum lttng_hyper_conn_kind kind;
	int fd;
	/* NULL while parked after a hang-up, when there is nothing to do with the fd. */
	struct lh_watch *watch;
	/* From the peer, waiting for the local fd: first the pipe, then out. */
	int pipe[2];
	size_t pipe_len;
	bool splice_off;		/* the local fd refused splice */
	struct lh_buf out;
	struct lh_buf pend;		/* filtered local bytes waiting for credit */
	uint64_t send_credit;		/* DATA bytes we may still send */
	uint32_t recv_credit;		/* DATA bytes the peer may still send */
	uint32_t unreturned;		/* received, not yet given back as credit */
	const struct lh_mux_filter *filter;
	void *priv;
	uint64_t progress_ms;		/* last byte moved on the local fd */
	bool waiting;
	bool peer_closed;		/* CLOSE received: flush out, then close */
	bool local_eof;			/* EOF read: CLOSE once pend is sent */
	bool closed;
};

struct lh_mux {
	struct lh_loop *loop;
	int fd;
	struct lh_watch *watch;
	struct lh_mux_config cfg;
	const struct lh_mux_ops *ops;
	void *priv;
	char *log_ctx;
	char *vm_name;

	struct lttng_hyper_hello peer;
	bool ready;
	bool shutting_down;
	bool failed;
	bool reported;
	bool destroyed;
	/* A local reader was stopped because the channel queue is above high water. */
	bool out_blocked;
	/*
	 * Nesting of mux code on the stack. Conns and the mux itself are
	 * freed only when it drops to zero, so no caller is left holding a
	 * freed pointer after a callback.
	 */
	unsigned int depth;
	char why[MUX_WHY_LEN];

	struct lh_buf in;
	struct lh_buf out;
	struct lh_buf scratch;
	/*
	 * The DATA payload in tx_pipe goes on the channel right after the
	 * first tx_mark bytes of out (which end with its frame header).
	 */
	int tx_pipe[2];
	size_t tx_pipe_len;
	size_t tx_mark;
	bool tx_splice_off;
	/* The body of a DATA frame being received, and for which conn. */
	uint32_t rx_conn_id;
	uint32_t rx_left;
	/* Bodies are being spliced: read frame headers alone. */
	bool rx_bulk;
	bool rx_splice_off;
	struct lh_mux_conn *conns;
	struct lh_mux_conn *dead_conns;
	struct lh_mux_conn *last_conn;	/* lookup cache: DATA comes in runs */
	unsigned int nr_conns;
	/* Bumped when a conn closes: a walk over the list restarts. */
	unsigned int conn_gen;
	uint32_t highest_id;
	struct lh_timer *tick_timer;
	struct lh_timer *report_timer;
	uint64_t last_rx_ms;
	uint64_t ping_cookie;
	struct lh_mux_stats stats;
};

static void conn_watch_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg);
static void conn_send_pending(struct lh_mux_conn *conn);
static bool mux_frame_check(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr);

static const char *kind_str(enum lttng_hyper_conn_kind kind)
{
	switch (kind) {
	case LTTNG_HYPER_CONN_CONTROL:
		return "control";
	case LTTNG_HYPER_CONN_DATA:
		return "data";
	}
	return "unknown";
}

static const char *reset_reason_str(uint32_t reason)
{
	switch (reason) {
	case LTTNG_HYPER_RESET_UNSPEC:
		return "unspecified";
	case LTTNG_HYPER_RESET_REFUSED:
		return "refused";
	case LTTNG_HYPER_RESET_PROTOCOL:
		return "protocol error";
	case LTTNG_HYPER_RESET_TIMEOUT:
		return "timeout";
	case LTTNG_HYPER_RESET_SHUTDOWN:
		return "shutdown";
	case LTTNG_HYPER_RESET_LIMIT:
		return "limit reached";
	}
	return "unknown reason";
}

static bool mux_stopped(const struct lh_mux *mux)
{
	return mux->failed || mux->destroyed;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* splice() cannot move data between these two files: copy instead. */
static bool splice_unsupported(int err)
{
	return err == EINVAL || err == EOPNOTSUPP;
}

/*
 * A non-blocking pipe, as large as allowed, for spliced data. What it
 * can hold is charged to the account; -1 with ENOBUFS when that is full.
 */
static int pipe_open(int fds[2], struct lh_mem_account *acct)
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

static void pipe_close(int fds[2], struct lh_mem_account *acct, const char *log_ctx)
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
static int buf_insert_from_pipe(struct lh_buf *buf, size_t at, int fd, size_t len)
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

/*
 * Grow a socket's buffers so bulk data moves in few, large system calls.
 * Beyond net.core.[rw]mem_max only root may go (the FORCE options).
 * Not every channel is a socket (virtio-serial ports are not), and a
 * smaller buffer only costs speed, so failures are ignored.
 */
static void sock_grow_buffers(int fd)
{
	int size = MUX_SOCK_BUF;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size))) {
		(void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size))) {
		(void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
}

void lh_mux_config_init(struct lh_mux_config *cfg, enum lh_mux_role role)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->role = role;
	cfg->window = LH_DEFAULT_WINDOW;
	cfg->max_frame = LTTNG_HYPER_FRAME_MAX_LEN;
	cfg->data_chunk = LH_DEFAULT_DATA_CHUNK;
	cfg->out_high_water = LH_DEFAULT_OUT_HIGH_WATER;
	cfg->out_hard_limit = LH_DEFAULT_OUT_HARD_LIMIT;
	cfg->max_conns = LH_DEFAULT_MAX_CONNS;
	if (role == LH_MUX_GUEST) {
		cfg->ping_interval_ms = LH_DEFAULT_PING_INTERVAL_MS;
		cfg->stall_timeout_ms = LH_DEFAULT_HOST_TIMEOUT_MS;
	} else {
		cfg->stall_timeout_ms = LH_DEFAULT_RELAYD_TIMEOUT_MS;
	}
	cfg->allow_paths = false;
}

/* Connections. */

static struct lh_mux_conn *conn_lookup(struct lh_mux *mux, uint32_t id)
{
	struct lh_mux_conn *conn;

	if (mux->last_conn && mux->last_conn->id == id) {
		return mux->last_conn;
	}
	for (conn = mux->conns; conn; conn = conn->next) {
		if (conn->id == id) {
			mux->last_conn = conn;
			return conn;
		}
	}
	return NULL;
}

static struct lh_mux_conn *conn_new(struct lh_mux *mux, uint32_t id,
		enum lttng_hyper_conn_kind kind)
{
	struct lh_mux_conn *conn;

	if (lh_mem_charge(mux->cfg.mem, sizeof(*conn))) {
		return NULL;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		lh_mem_uncharge(mux->cfg.mem, sizeof(*conn));
		return NULL;
	}
	conn->mux = mux;
	conn->id = id;
	conn->kind = kind;
	conn->fd = -1;
	conn->pipe[0] = -1;
	conn->pipe[1] = -1;
	lh_buf_init_account(&conn->out, mux->cfg.mem);
	lh_buf_init_account(&conn->pend, mux->cfg.mem);
	conn->send_credit = mux->peer.window;
	conn->recv_credit = mux->cfg.window;
	conn->progress_ms = lh_now_ms();
	return conn;
}

static void conn_link(struct lh_mux_conn *conn)
{
	struct lh_mux *mux = conn->mux;

	conn->prev = NULL;
	conn->next = mux->conns;
	if (mux->conns) {
		mux->conns->prev = conn;
	}
	mux->conns = conn;
	mux->nr_conns++;
}

/* A conn that never got a local fd: nobody but a filter saw it. */
static void conn_discard(struct lh_mux_conn *conn)
{
	if (conn->filter && conn->filter->release) {
		conn->filter->release(conn);
	}
	lh_buf_fini(&conn->out);
	lh_buf_fini(&conn->pend);
	lh_mem_uncharge(conn->mux->cfg.mem, sizeof(*conn));
	free(conn);
}

/*
 * Close the local side and forget the conn. The memory stays until the
 * mux code unwinds, so callers may still test conn->closed.
 */
static void conn_free(struct lh_mux_conn *conn)
{
	struct lh_mux *mux = conn->mux;

	if (conn->closed) {
		return;
	}
	conn->closed = true;
	if (conn->prev) {
		conn->prev->next = conn->next;
	} else {
		mux->conns = conn->next;
	}
	if (conn->next) {
		conn->next->prev = conn->prev;
	}
	mux->nr_conns--;
	mux->conn_gen++;
	if (mux->last_conn == conn) {
		mux->last_conn = NULL;
	}
	lh_watch_remove(conn->watch);
	conn->watch = NULL;
	if (close(conn->fd)) {
		lh_log_errno(mux->log_ctx, "conn %" PRIu32 ": closing the local socket", conn->id);
	}
	conn->fd = -1;
	pipe_close(conn->pipe, mux->cfg.mem, mux->log_ctx);
	conn->pipe_len = 0;
	lh_buf_fini(&conn->out);
	lh_buf_fini(&conn->pend);
	if (mux->ops->on_conn_closed) {
		mux->ops->on_conn_closed(mux, conn);
	}
	if (conn->filter && conn->filter->release) {
		conn->filter->release(conn);
	}
	conn->prev = NULL;
	conn->next = mux->dead_conns;
	mux->dead_conns = conn;
}

static void mux_free_dead_conns(struct lh_mux *mux)
{
	while (mux->dead_conns) {
		struct lh_mux_conn *conn = mux->dead_conns;

		mux->dead_conns = conn->next;
		lh_mem_uncharge(mux->cfg.mem, sizeof(*conn));
		free(conn);
	}
}

static void mux_close_all_conns(struct lh_mux *mux)
{
	while (mux->conns) {
		conn_free(mux->conns);
	}
}

/* Failure and teardown. */

static void mux_free(struct lh_mux *mux)
{
	mux_free_dead_conns(mux);
	pipe_close(mux->tx_pipe, mux->cfg.mem, mux->log_ctx);
	lh_buf_fini(&mux->in);
	lh_buf_fini(&mux->out);
	lh_buf_fini(&mux->scratch);
	free(mux->log_ctx);
	free(mux->vm_name);
	free(mux);
}

/* Stop all I/O: the channel is dead, or its owner is done with it. */
static void mux_teardown(struct lh_mux *mux)
{
	lh_watch_remove(mux->watch);
	mux->watch = NULL;
	lh_timer_cancel(mux->tick_timer);
	mux->tick_timer = NULL;
	mux_close_all_conns(mux);
}

static void mux_report_cb(struct lh_timer *timer, void *arg);
static void conn_resume(struct lh_mux_conn *conn);

/* Bytes waiting to go on the channel, spliced ones included. */
static size_t mux_out_queued(const struct lh_mux *mux)
{
	return lh_buf_len(&mux->out) + mux->tx_pipe_len;
}

static void mux_enter(struct lh_mux *mux)
{
	mux->depth++;
}

/* Restart local readers stopped while the channel queue was above high water. */
static void mux_resume_conns(struct lh_mux *mux)
{
	struct lh_mux_conn *conn;
	unsigned int gen;

	while (mux->out_blocked && !mux_stopped(mux) && mux->tx_pipe_len == 0 &&
			mux_out_queued(mux) < mux->cfg.out_high_water) {
		mux->out_blocked = false;
		gen = mux->conn_gen;
		conn = mux->conns;
		while (conn && !mux_stopped(mux)) {
			conn_resume(conn);
			if (mux->conn_gen != gen) {
				/* Closing a conn may close others: walk the list again. */
				gen = mux->conn_gen;
				conn = mux->conns;
			} else {
				conn = conn->next;
			}
		}
	}
}

/*
 * Leave mux code. The outermost leave resumes blocked readers and reports
 * a channel error that happened on the way: right away when called from
 * the loop, or from a zero-delay timer when the owner called into the
 * mux, so that on_channel_error never runs inside one of the owner's own
 * calls.
 */
static void mux_leave(struct lh_mux *mux, bool from_loop)
{
	if (--mux->depth > 0) {
		return;
	}
	/* Done here, once, rather than on every write that drains the queue. */
	if (mux->out_blocked) {
		mux->depth++;
		mux_resume_conns(mux);
		mux->depth--;
	}
	if (mux->failed && !mux->reported && !mux->destroyed) {
		if (!from_loop && !mux->report_timer) {
			mux->report_timer = lh_loop_timer(mux->loop, 0, mux_report_cb, mux);
		}
		if (from_loop || !mux->report_timer) {
			lh_timer_cancel(mux->report_timer);
			mux->report_timer = NULL;
			mux->reported = true;
			mux->depth++;
			mux->ops->on_channel_error(mux, mux->why);
			mux->depth--;
		}
	}
	mux_free_dead_conns(mux);
	if (mux->destroyed) {
		mux_free(mux);
	}
}

static void mux_report_cb(struct lh_timer *timer, void *arg)
{
	struct lh_mux *mux = arg;

	mux->report_timer = NULL;
	mux_enter(mux);
	mux_leave(mux, true);
}

static void mux_fail(struct lh_mux *mux, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The channel is unusable: close everything; the owner hears of it on leave. */
static void mux_fail(struct lh_mux *mux, const char *fmt, ...)
{
	va_list ap;

	if (mux_stopped(mux)) {
		return;
	}
	mux->failed = true;
	va_start(ap, fmt);
	vsnprintf(mux->why, sizeof(mux->why), fmt, ap);
	va_end(ap);
	/* An allocation the peer's account refused reads "out of memory" where it failed. */
	if (lh_mem_account_exceeded(mux->cfg.mem)) {
		lh_mem_account_describe(mux->cfg.mem, mux->why, sizeof(mux->why));
	}
	DBG_CTX(mux->log_ctx, "channel failed: %s", mux->why);
	mux_teardown(mux);
}

/* The channel's output queue. */

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
			do {
				ret = write(mux->fd, lh_buf_head(&mux->out), n);
			} while (ret < 0 && errno == EINTR);
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
		do {
			ret = splice(mux->tx_pipe[0], NULL, mux->fd, NULL, mux->tx_pipe_len,
					SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		} while (ret < 0 && errno == EINTR);
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

static void mux_flush_channel(struct lh_mux *mux)
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
static void mux_kick(struct lh_mux *mux)
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
static int mux_queue_path(struct lh_mux *mux, uint8_t type, uint32_t conn_id,
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

static int mux_queue(struct lh_mux *mux, uint8_t type, uint32_t conn_id,
		const void *body, size_t len)
{
	return mux_queue_path(mux, type, conn_id, NULL, body, len);
}

static void mux_send(struct lh_mux *mux, uint8_t type, uint32_t conn_id,
		const void *body, size_t len)
{
	if (mux_queue(mux, type, conn_id, body, len)) {
		return;
	}
	mux_kick(mux);
}

static void mux_send_u32(struct lh_mux *mux, uint8_t type, uint32_t conn_id, uint32_t v)
{
	uint8_t body[4];

	mux_send(mux, type, conn_id, body, lttng_hyper_u32_encode(v, body));
}

/* Local sockets. */

/* Bytes from the peer that wait for the local fd. */
static size_t conn_queued(const struct lh_mux_conn *conn)
{
	return conn->pipe_len + lh_buf_len(&conn->out);
}

/* Local reads of this conn go through the channel's pipe (no filter reads them). */
static bool conn_tx_splices(const struct lh_mux_conn *conn)
{
	return !conn->mux->tx_splice_off && !(conn->filter && conn->filter->from_local);
}

/* Bytes from the peer may be spliced to the local fd (where the filter lets them). */
static bool conn_rx_splices(const struct lh_mux_conn *conn)
{
	const struct lh_mux_filter *filter = conn->filter;

	return !conn->mux->rx_splice_off && !conn->splice_off && !conn->closed &&
		(!filter || !filter->from_peer || filter->peer_skippable);
}

static bool conn_can_read(struct lh_mux_conn *conn)
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

static void conn_reset(struct lh_mux_conn *conn, enum lttng_hyper_reset_reason reason)
{
	struct lh_mux *mux = conn->mux;

	if (conn->closed) {
		return;
	}
	mux_send_u32(mux, LTTNG_HYPER_FRAME_RESET, conn->id, reason);
	conn_free(conn);
}

/* A filter found a fault that concerns this connection alone. */
static void conn_filter_reset(struct lh_mux_conn *conn, const char *why)
{
	WARN_CTX(conn->mux->log_ctx, "conn %" PRIu32 " (%s) reset: %s", conn->id,
		kind_str(conn->kind), why);
	conn_reset(conn, LTTNG_HYPER_RESET_PROTOCOL);
}

static void conn_local_error(struct lh_mux_conn *conn, int err, const char *what)
{
	INFO_CTX(conn->mux->log_ctx, "conn %" PRIu32 " (%s): local socket %s error: %s",
		conn->id, kind_str(conn->kind), what, strerror(err));
	conn_reset(conn, err == ECONNREFUSED ? LTTNG_HYPER_RESET_REFUSED :
			LTTNG_HYPER_RESET_UNSPEC);
}

/* Watch the local fd for exactly what the conn can do now. */
static void conn_update_events(struct lh_mux_conn *conn)
{
	uint32_t events = 0;

	if (conn->closed) {
		return;
	}
	if (conn_can_read(conn)) {
		events |= EPOLLIN;
	}
	if (conn_queued(conn) > 0) {
		events |= EPOLLOUT;
	}
	if (!conn->watch) {
		if (!events) {
			return;
		}
		conn->watch = lh_loop_watch(conn->mux->loop, conn->fd, events,
				conn_watch_cb, conn);
		if (!conn->watch) {
			conn_local_error(conn, errno, "watch");
		}
		return;
	}
	if (lh_watch_set_events(conn->watch, events)) {
		conn_local_error(conn, errno, "watch");
	}
}

/* Send CLOSE after everything queued before it, and forget the conn. */
static void conn_close_local(struct lh_mux_conn *conn)
{
	mux_send(conn->mux, LTTNG_HYPER_FRAME_CLOSE, conn->id, NULL, 0);
	conn_free(conn);
}

/*
 * Give the peer back, in batches, the credit of the bytes that left our
 * queue. Bytes still queued are not returned, so a peer can never make us
 * hold more than one window per connection.
 */
static void conn_return_credit(struct lh_mux_conn *conn, bool drained)
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

/* Splice what waits in the pipe to the local fd. Returns what splice() did. */
static ssize_t conn_flush_pipe(struct lh_mux_conn *conn)
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

/* Write what waits for the local fd, in order; the rest on EPOLLOUT. */
static void conn_flush_local(struct lh_mux_conn *conn)
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

/*
 * Splice up to max bytes of the local fd into the channel's pipe, and
 * queue a DATA header for them: the channel carries them next after it.
 * Returns what splice() returned.
 */
static ssize_t conn_splice_local(struct lh_mux_conn *conn, size_t max)
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

/* Read the local fd onto the channel, as much as credit and room allow. */
static void conn_read_local(struct lh_mux_conn *conn)
{
	struct lh_mux *mux = conn->mux;
	const struct lh_mux_filter *filter = conn->filter;
	size_t max = (size_t) min_u64(min_u64(conn->send_credit, mux->cfg.data_chunk),
			mux->peer.max_frame);
	struct lttng_hyper_frame_header hdr = {
		.type = LTTNG_HYPER_FRAME_DATA,
		.conn_id = conn->id,
	};
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

	if (conn_tx_splices(conn)) {
		ret = conn_splice_local(conn, max);
		if (ret >= 0 || !splice_unsupported(errno)) {
			goto read_done;
		}
		DBG_CTX(mux->log_ctx, "conn %" PRIu32 ": splice from the local socket not supported: copying",
			conn->id);
		mux->tx_splice_off = true;
	}
	if (lh_buf_reserve(&mux->out, LTTNG_HYPER_FRAME_HEADER_LEN + max)) {
		mux_fail(mux, "out of memory reading conn %" PRIu32, conn->id);
		return;
	}
	/* Read straight behind a header slot in the channel queue: no copy. */
	do {
		ret = read(conn->fd, lh_buf_tail(&mux->out) + LTTNG_HYPER_FRAME_HEADER_LEN, max);
	} while (ret < 0 && errno == EINTR);
	if (ret > 0) {
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
static void conn_send_pending(struct lh_mux_conn *conn)
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

static void conn_resume(struct lh_mux_conn *conn)
{
	if (lh_buf_len(&conn->pend) > 0) {
		conn_send_pending(conn);
	}
	conn_update_events(conn);
}

/* The SO_ERROR of a socket, for an error reported with nothing to read or write. */
static int sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)) {
		return errno;
	}
	return err ? err : EPIPE;
}

static void conn_watch_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	struct lh_mux_conn *conn = arg;
	struct lh_mux *mux = conn->mux;
	uint32_t wanted = lh_watch_get_events(watch);

	mux_enter(mux);
	if ((events & (EPOLLERR | EPOLLHUP)) && !(wanted & (EPOLLIN | EPOLLOUT))) {
		if (events & EPOLLERR) {
			conn_local_error(conn, sock_error(fd), "socket");
		} else {
			/*
			 * A hang-up is reported even with no event asked for:
			 * stop watching until there is something to read or
			 * write, instead of spinning.
			 */
			lh_watch_remove(conn->watch);
			conn->watch = NULL;
		}
		goto out;
	}
	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && conn_queued(conn) > 0) {
		conn_flush_local(conn);
	}
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && conn_can_read(conn)) {
		conn_read_local(conn);
	}
	conn_update_events(conn);
out:
	mux_leave(mux, true);
}

/* Start watching the local fd of a new conn. */
static void conn_start(struct lh_mux_conn *conn, int fd)
{
	conn->fd = fd;
	conn_link(conn);
	conn->watch = lh_loop_watch(conn->mux->loop, fd, 0, conn_watch_cb, conn);
	if (!conn->watch) {
		conn_local_error(conn, errno, "watch");
		return;
	}
	conn_update_events(conn);
}

/* Bytes from the peer for the local fd. */
static void conn_deliver(struct lh_mux_conn *conn, const uint8_t *buf, size_t len)
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

/* Frames from the peer. */

static const char *mux_peer_name(const struct lh_mux *mux)
{
	return mux->cfg.role == LH_MUX_GUEST ? "host" : "guest";
}

static void frame_hello(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *body, uint32_t len)
{
	struct lttng_hyper_hello hello;
	int ret;

	if (mux->ready) {
		mux_fail(mux, "second HELLO from the %s", mux_peer_name(mux));
		return;
	}
	ret = lttng_hyper_hello_decode(body, len, &hello);
	if (ret) {
		mux_fail(mux, "invalid HELLO (%" PRIu32 " bytes): %s", len,
			lttng_hyper_error_str(ret));
		return;
	}
	if (hello.major != LTTNG_HYPER_PROTO_MAJOR) {
		mux_fail(mux, "protocol version %u.%u not supported", hello.major, hello.minor);
		return;
	}
	if (hello.max_frame < MUX_MIN_PEER_FRAME) {
		mux_fail(mux, "HELLO max_frame %" PRIu32 " is below the minimum of %u",
			hello.max_frame, MUX_MIN_PEER_FRAME);
		return;
	}
	if (hello.window == 0) {
		mux_fail(mux, "HELLO window is 0");
		return;
	}
	mux->peer = hello;
	mux->ready = true;
	DBG_CTX(mux->log_ctx, "handshake done: peer protocol %u.%u, caps 0x%" PRIx32
		", max_frame %" PRIu32 ", window %" PRIu32,
		hello.major, hello.minor, hello.caps, hello.max_frame, hello.window);
	if (mux->ops->on_ready) {
		mux->ops->on_ready(mux, &mux->peer);
	}
}

static void frame_open(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const char *path, const uint8_t *body, uint32_t len)
{
	enum lttng_hyper_conn_kind kind;
	struct lh_mux_conn *conn;
	int ret, fd;

	if (mux->cfg.role != LH_MUX_HOST) {
		mux_fail(mux, "OPEN frame for conn %" PRIu32 " from the host: only the guest opens connections",
			hdr->conn_id);
		return;
	}
	if (hdr->conn_id <= mux->highest_id) {
		mux_fail(mux, "OPEN frame for conn %" PRIu32 ": connection ids must increase (highest so far %" PRIu32 ")",
			hdr->conn_id, mux->highest_id);
		return;
	}
	ret = lttng_hyper_open_decode(body, len, &kind);
	if (ret) {
		mux_fail(mux, "OPEN frame for conn %" PRIu32 ": %s (kind %u)", hdr->conn_id,
			lttng_hyper_error_str(ret), body[0]);
		return;
	}
	mux->highest_id = hdr->conn_id;
	if (mux->shutting_down) {
		mux_send_u32(mux, LTTNG_HYPER_FRAME_RESET, hdr->conn_id,
			LTTNG_HYPER_RESET_SHUTDOWN);
		return;
	}
	if (mux->nr_conns >= mux->cfg.max_conns) {
		WARN_CTX(mux->log_ctx, "conn %" PRIu32 " (%s) refused: the limit of %u connections is reached",
			hdr->conn_id, kind_str(kind), mux->cfg.max_conns);
		mux_send_u32(mux, LTTNG_HYPER_FRAME_RESET, hdr->conn_id, LTTNG_HYPER_RESET_LIMIT);
		return;
	}
	conn = conn_new(mux, hdr->conn_id, kind);
	if (!conn) {
		ERR_CTX(mux->log_ctx, "conn %" PRIu32 " (%s) refused: out of memory",
			hdr->conn_id, kind_str(kind));
		mux_send_u32(mux, LTTNG_HYPER_FRAME_RESET, hdr->conn_id, LTTNG_HYPER_RESET_LIMIT);
		return;
	}
	fd = mux->ops->on_open(mux, conn, kind, path);
	if (mux_stopped(mux) || fd < 0) {
		if (fd >= 0 && close(fd)) {
			lh_log_errno(mux->log_ctx, "conn %" PRIu32 ": closing the local socket",
				hdr->conn_id);
		}
		conn_discard(conn);
		mux_send_u32(mux, LTTNG_HYPER_FRAME_RESET, hdr->conn_id, LTTNG_HYPER_RESET_REFUSED);
		return;
	}
	DBG_CTX(mux->log_ctx, "conn %" PRIu32 " (%s) opened by the guest", hdr->conn_id,
		kind_str(kind));
	conn_start(conn, fd);
}

/*
 * The conn a frame is for; NULL when there is none, either because it
 * was closed already here (the frame crossed our CLOSE or RESET: ignore
 * it) or because it never existed (channel error).
 */
static struct lh_mux_conn *frame_conn(struct lh_mux *mux,
		const struct lttng_hyper_frame_header *hdr)
{
	struct lh_mux_conn *conn = conn_lookup(mux, hdr->conn_id);

	if (!conn && hdr->conn_id > mux->highest_id) {
		mux_fail(mux, "%s frame for conn %" PRIu32 ", which was never opened (highest opened %" PRIu32 ")",
			lttng_hyper_frame_type_str(hdr->type), hdr->conn_id, mux->highest_id);
	}
	return conn;
}

/* Take the credit of a DATA body; the conn it is for, or NULL to drop it. */
static struct lh_mux_conn *data_accept(struct lh_mux *mux,
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

static void frame_data(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *body, uint32_t len)
{
	struct lh_mux_conn *conn = data_accept(mux, hdr, len);

	if (!conn) {
		return;
	}
	conn->unreturned += len;
	mux->stats.bytes_from_peer += len;
	if (len > 0) {
		conn_deliver(conn, body, len);
	}
}

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

static void frame_close(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr)
{
	struct lh_mux_conn *conn = frame_conn(mux, hdr);

	if (!conn || conn->peer_closed) {
		return;
	}
	DBG_CTX(mux->log_ctx, "conn %" PRIu32 " (%s): closed by the %s", conn->id,
		kind_str(conn->kind), mux_peer_name(mux));
	conn->peer_closed = true;
	lh_buf_reset(&conn->pend);
	if (conn_queued(conn) == 0) {
		conn_free(conn);
		return;
	}
	conn_update_events(conn);
}

static void frame_reset(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *body, uint32_t len)
{
	struct lh_mux_conn *conn;
	uint32_t reason;

	if (lttng_hyper_u32_decode(body, len, &reason)) {
		return;
	}
	conn = frame_conn(mux, hdr);
	if (!conn) {
		return;
	}
	INFO_CTX(mux->log_ctx, "conn %" PRIu32 " (%s): reset by the %s (%s)", conn->id,
		kind_str(conn->kind), mux_peer_name(mux), reset_reason_str(reason));
	conn_free(conn);
}

static void frame_credit(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
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

static void frame_clock_probe(struct lh_mux *mux, const uint8_t *body, uint32_t len)
{
	struct lttng_hyper_clock_reply reply = { .clock_id = MUX_CLOCK_MONOTONIC_ID };
	uint8_t out[LTTNG_HYPER_CLOCK_REPLY_LEN];

	if (lttng_hyper_clock_probe_decode(body, len, &reply.seq, &reply.host_send_ns)) {
		return;
	}
	reply.guest_ns = lh_now_ns();
	mux_send(mux, LTTNG_HYPER_FRAME_CLOCK_REPLY, 0, out,
		lttng_hyper_clock_reply_encode(&reply, out));
}

static void frame_clock_reply(struct lh_mux *mux, const uint8_t *body, uint32_t len)
{
	struct lttng_hyper_clock_reply reply;
	int ret;

	ret = lttng_hyper_clock_reply_decode(body, len, &reply);
	if (ret) {
		mux_fail(mux, "invalid CLOCK_REPLY: %s", lttng_hyper_error_str(ret));
		return;
	}
	if (mux->ops->on_clock_reply) {
		mux->ops->on_clock_reply(mux, &reply);
	}
}

static void frame_clock_estimate(struct lh_mux *mux, const char *path, const uint8_t *body,
		uint32_t len)
{
	struct lttng_hyper_clock_estimate est;
	int ret;

	ret = lttng_hyper_clock_estimate_decode(body, len, &est);
	if (ret) {
		mux_fail(mux, "invalid CLOCK_ESTIMATE for VM %s: %s", path,
			lttng_hyper_error_str(ret));
		return;
	}
	if (mux->ops->on_clock_estimate) {
		mux->ops->on_clock_estimate(mux, path, &est);
	}
}

/* Body size of each fixed-size frame type; -1 for variable. */
static long frame_body_len(uint8_t type)
{
	switch (type) {
	case LTTNG_HYPER_FRAME_OPEN:
		return LTTNG_HYPER_OPEN_LEN;
	case LTTNG_HYPER_FRAME_CLOSE:
		return 0;
	case LTTNG_HYPER_FRAME_RESET:
		return LTTNG_HYPER_RESET_LEN;
	case LTTNG_HYPER_FRAME_CREDIT:
		return LTTNG_HYPER_CREDIT_LEN;
	case LTTNG_HYPER_FRAME_PING:
	case LTTNG_HYPER_FRAME_PONG:
		return LTTNG_HYPER_PING_LEN;
	case LTTNG_HYPER_FRAME_CLOCK_PROBE:
		return LTTNG_HYPER_CLOCK_PROBE_LEN;
	case LTTNG_HYPER_FRAME_CLOCK_REPLY:
		return LTTNG_HYPER_CLOCK_REPLY_LEN;
	case LTTNG_HYPER_FRAME_CLOCK_ESTIMATE:
		return LTTNG_HYPER_CLOCK_ESTIMATE_LEN;
	}
	return -1;
}

static bool frame_is_channel_level(uint8_t type)
{
	switch (type) {
	case LTTNG_HYPER_FRAME_HELLO:
	case LTTNG_HYPER_FRAME_PING:
	case LTTNG_HYPER_FRAME_PONG:
	case LTTNG_HYPER_FRAME_CLOCK_PROBE:
	case LTTNG_HYPER_FRAME_CLOCK_REPLY:
	case LTTNG_HYPER_FRAME_CLOCK_ESTIMATE:
		return true;
	}
	return false;
}

/* Checks every frame passes, whatever its body. Returns false on failure. */
static bool mux_frame_check(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr)
{
	const char *type = lttng_hyper_frame_type_str(hdr->type);
	uint32_t len = hdr->length - hdr->path_len;
	long expected = frame_body_len(hdr->type);

	mux->stats.frames_from_peer++;
	if (!mux->ready && hdr->type != LTTNG_HYPER_FRAME_HELLO) {
		mux_fail(mux, "%s frame before HELLO", type);
		return false;
	}
	if (frame_is_channel_level(hdr->type) != (hdr->conn_id == 0)) {
		mux_fail(mux, "%s frame on conn %" PRIu32 ": %s", type, hdr->conn_id,
			hdr->conn_id ? "this frame type belongs to conn 0" :
				"conn 0 is reserved for the channel");
		return false;
	}
	if (expected >= 0 && len != (uint32_t) expected) {
		mux_fail(mux, "%s frame on conn %" PRIu32 " has a %" PRIu32 "-byte body (expected %ld)",
			type, hdr->conn_id, len, expected);
		return false;
	}
	return true;
}

/* One whole frame; payload is the VM path followed by the body. */
static void mux_frame(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *payload)
{
	const char *type = lttng_hyper_frame_type_str(hdr->type);
	const uint8_t *body = payload + hdr->path_len;
	uint32_t len = hdr->length - hdr->path_len;
	char path[LTTNG_HYPER_PATH_MAX_LEN + 1] = "";

	if (!mux_frame_check(mux, hdr)) {
		return;
	}
	if (hdr->path_len > 0) {
		if (!mux->cfg.allow_paths) {
			mux_fail(mux, "%s frame on conn %" PRIu32 " carries a VM path of %u bytes, but nesting is not enabled",
				type, hdr->conn_id, hdr->path_len);
			return;
		}
		if (lttng_hyper_path_validate((const char *) payload, hdr->path_len)) {
			mux_fail(mux, "%s frame on conn %" PRIu32 " carries a malformed VM path",
				type, hdr->conn_id);
			return;
		}
		if (hdr->type != LTTNG_HYPER_FRAME_OPEN &&
				hdr->type != LTTNG_HYPER_FRAME_CLOCK_ESTIMATE) {
			mux_fail(mux, "%s frame on conn %" PRIu32 " carries a VM path: only OPEN and CLOCK_ESTIMATE do",
				type, hdr->conn_id);
			return;
		}
		memcpy(path, payload, hdr->path_len);
		path[hdr->path_len] = '\0';
	}

	switch (hdr->type) {
	case LTTNG_HYPER_FRAME_HELLO:
		frame_hello(mux, hdr, body, len);
		break;
	case LTTNG_HYPER_FRAME_OPEN:
		frame_open(mux, hdr, path, body, len);
		break;
	case LTTNG_HYPER_FRAME_DATA:
		frame_data(mux, hdr, body, len);
		break;
	case LTTNG_HYPER_FRAME_CLOSE:
		frame_close(mux, hdr);
		break;
	case LTTNG_HYPER_FRAME_RESET:
		frame_reset(mux, hdr, body, len);
		break;
	case LTTNG_HYPER_FRAME_CREDIT:
		frame_credit(mux, hdr, body, len);
		break;
	case LTTNG_HYPER_FRAME_PING:
		/* The cookie is opaque: echo its bytes. */
		mux_send(mux, LTTNG_HYPER_FRAME_PONG, 0, body, len);
		break;
	case LTTNG_HYPER_FRAME_PONG:
		/* Its arrival refreshed last_rx_ms already. */
		break;
	case LTTNG_HYPER_FRAME_CLOCK_PROBE:
		if (mux->cfg.role != LH_MUX_GUEST) {
			mux_fail(mux, "CLOCK_PROBE frame from the guest");
			return;
		}
		frame_clock_probe(mux, body, len);
		break;
	case LTTNG_HYPER_FRAME_CLOCK_REPLY:
		if (mux->cfg.role != LH_MUX_HOST) {
			mux_fail(mux, "CLOCK_REPLY frame from the host");
			return;
		}
		frame_clock_reply(mux, body, len);
		break;
	case LTTNG_HYPER_FRAME_CLOCK_ESTIMATE:
		if (mux->cfg.role != LH_MUX_HOST) {
			mux_fail(mux, "CLOCK_ESTIMATE frame from the host");
			return;
		}
		if (!path[0]) {
			mux_fail(mux, "CLOCK_ESTIMATE frame without a VM path: a guest does not measure itself");
			return;
		}
		frame_clock_estimate(mux, path, body, len);
		break;
	}
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

/*
 * Splice the next bytes of the DATA body being received to its conn.
 * Returns true when done; false when the bytes must be read instead,
 * with *max set to how many.
 */
static bool mux_splice_channel(struct lh_mux *mux, size_t *max)
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
	do {
		ret = splice(mux->fd, NULL, conn->pipe[1], NULL, (size_t) n,
				SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	} while (ret < 0 && errno == EINTR);
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

static void mux_read_channel(struct lh_mux *mux)
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
	ret = lh_buf_read_fd(&mux->in, mux->fd, max);
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

static void mux_channel_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	struct lh_mux *mux = arg;

	mux_enter(mux);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		mux_read_channel(mux);
	}
	if (!mux_stopped(mux) && (events & EPOLLOUT)) {
		mux_flush_channel(mux);
	}
	mux_leave(mux, true);
}

/* Periodic work: pings and host liveness (guest), local stalls (host), memory. */

static uint64_t mux_tick_interval(const struct lh_mux *mux)
{
	uint64_t interval;

	if (mux->cfg.role == LH_MUX_GUEST && mux->cfg.ping_interval_ms) {
		interval = mux->cfg.ping_interval_ms;
	} else {
		interval = mux->cfg.stall_timeout_ms / 4;
	}
	return interval < 10 ? 10 : interval;
}

static struct lh_mux_conn *mux_find_stalled(struct lh_mux *mux, uint64_t now)
{
	struct lh_mux_conn *conn;

	for (conn = mux->conns; conn; conn = conn->next) {
		if ((conn_queued(conn) > 0 || conn->waiting) &&
				now - conn->progress_ms >= mux->cfg.stall_timeout_ms) {
			return conn;
		}
	}
	return NULL;
}

static void mux_trim(struct lh_mux *mux)
{
	struct lh_mux_conn *conn;

	lh_buf_shrink(&mux->in);
	lh_buf_shrink(&mux->out);
	lh_buf_shrink(&mux->scratch);
	for (conn = mux->conns; conn; conn = conn->next) {
		lh_buf_shrink(&conn->out);
		lh_buf_shrink(&conn->pend);
	}
}

static void mux_tick_cb(struct lh_timer *timer, void *arg)
{
	struct lh_mux *mux = arg;
	uint64_t now = lh_now_ms();
	struct lh_mux_conn *conn;

	mux->tick_timer = NULL;
	mux_enter(mux);
	if (mux->cfg.role == LH_MUX_GUEST) {
		if (mux->cfg.stall_timeout_ms &&
				now - mux->last_rx_ms >= mux->cfg.stall_timeout_ms) {
			mux_fail(mux, "host unresponsive for %" PRIu64 " ms", now - mux->last_rx_ms);
			goto out;
		}
		if (mux->cfg.ping_interval_ms) {
			uint8_t body[LTTNG_HYPER_PING_LEN];

			mux_send(mux, LTTNG_HYPER_FRAME_PING, 0, body,
				lttng_hyper_u64_encode(++mux->ping_cookie, body));
		}
	} else if (mux->cfg.stall_timeout_ms) {
		while (!mux_stopped(mux) && (conn = mux_find_stalled(mux, now))) {
			WARN_CTX(mux->log_ctx, "conn %" PRIu32 " (%s): local socket made no progress for %" PRIu64 " ms, resetting",
				conn->id, kind_str(conn->kind), now - conn->progress_ms);
			conn_reset(conn, LTTNG_HYPER_RESET_TIMEOUT);
		}
	}
	if (mux_stopped(mux)) {
		goto out;
	}
	mux_trim(mux);
	mux->tick_timer = lh_loop_timer(mux->loop, mux_tick_interval(mux), mux_tick_cb, mux);
	if (!mux->tick_timer) {
		mux_fail(mux, "cannot arm the channel timer: out of memory");
	}
out:
	mux_leave(mux, true);
}

/* Public API. */

static int mux_check_config(const struct lh_mux_config *cfg)
{
	if (cfg->window == 0 || cfg->data_chunk == 0 || cfg->out_high_water == 0 ||
			cfg->out_hard_limit < cfg->out_high_water) {
		ERR_CTX(cfg->log_ctx, "invalid channel configuration: zero window, chunk or queue limit, or hard limit below high water");
		return -1;
	}
	if (cfg->max_frame < MUX_MIN_PEER_FRAME || cfg->max_frame > LTTNG_HYPER_FRAME_MAX_LEN) {
		ERR_CTX(cfg->log_ctx, "invalid channel configuration: max_frame %" PRIu32 " is not within %u..%u",
			cfg->max_frame, MUX_MIN_PEER_FRAME, LTTNG_HYPER_FRAME_MAX_LEN);
		return -1;
	}
	if (cfg->role == LH_MUX_HOST && (!cfg->vm_name ||
			lttng_hyper_name_validate(cfg->vm_name, strlen(cfg->vm_name)))) {
		ERR_CTX(cfg->log_ctx, "invalid channel configuration: the host needs a valid VM name");
		return -1;
	}
	return 0;
}

struct lh_mux *lh_mux_create(struct lh_loop *loop, int channel_fd,
		const struct lh_mux_config *cfg, const struct lh_mux_ops *ops, void *priv)
{
	struct lttng_hyper_hello hello = {
		.major = LTTNG_HYPER_PROTO_MAJOR,
		.minor = LTTNG_HYPER_PROTO_MINOR,
		.caps = LTTNG_HYPER_CAP_CLOCK_SYNC,
		.max_frame = cfg->max_frame,
		.window = cfg->window,
	};
	uint8_t body[LTTNG_HYPER_HELLO_FIXED_LEN + LTTNG_HYPER_NAME_MAX_LEN];
	struct lh_mux *mux;

	if (mux_check_config(cfg)) {
		return NULL;
	}
	mux = calloc(1, sizeof(*mux));
	if (!mux) {
		lh_log_errno(cfg->log_ctx, "allocating a channel");
		return NULL;
	}
	mux->tx_pipe[0] = -1;
	mux->tx_pipe[1] = -1;
	mux->loop = loop;
	mux->fd = channel_fd;
	mux->cfg = *cfg;
	mux->ops = ops;
	mux->priv = priv;
	lh_buf_init_account(&mux->in, cfg->mem);
	lh_buf_init_account(&mux->out, cfg->mem);
	lh_buf_init_account(&mux->scratch, cfg->mem);
	if (cfg->log_ctx) {
		mux->log_ctx = strdup(cfg->log_ctx);
		if (!mux->log_ctx) {
			goto error;
		}
	}
	if (cfg->role == LH_MUX_HOST) {
		mux->vm_name = strdup(cfg->vm_name);
		if (!mux->vm_name) {
			goto error;
		}
		hello.name_len = (uint8_t) strlen(cfg->vm_name);
		memcpy(hello.name, cfg->vm_name, hello.name_len);
	}
	mux->cfg.log_ctx = mux->log_ctx;
	mux->cfg.vm_name = mux->vm_name;
	if (cfg->allow_paths) {
		hello.caps |= LTTNG_HYPER_CAP_NESTED;
	}
	if (mux_queue(mux, LTTNG_HYPER_FRAME_HELLO, 0, body,
			lttng_hyper_hello_encode(&hello, body))) {
		goto error;
	}
	sock_grow_buffers(channel_fd);
	mux->last_rx_ms = lh_now_ms();
	if (cfg->ping_interval_ms || cfg->stall_timeout_ms) {
		mux->tick_timer = lh_loop_timer(loop, mux_tick_interval(mux), mux_tick_cb, mux);
		if (!mux->tick_timer) {
			goto error;
		}
	}
	/* The HELLO goes out when the channel is writable (a connect may be in progress). */
	mux->watch = lh_loop_watch(loop, channel_fd, EPOLLIN | EPOLLOUT, mux_channel_cb, mux);
	if (!mux->watch) {
		goto error;
	}
	return mux;

error:
	ERR_CTX(cfg->log_ctx, "cannot set up the channel: %s",
		mux->failed ? mux->why : "out of memory");
	lh_timer_cancel(mux->tick_timer);
	mux_free(mux);
	return NULL;
}

void lh_mux_destroy(struct lh_mux *mux)
{
	if (!mux || mux->destroyed) {
		return;
	}
	mux->depth++;
	mux_teardown(mux);
	mux->destroyed = true;
	lh_timer_cancel(mux->report_timer);
	mux->report_timer = NULL;
	if (close(mux->fd)) {
		lh_log_errno(mux->log_ctx, "closing the channel");
	}
	mux->fd = -1;
	mux->depth--;
	if (mux->depth == 0) {
		mux_free(mux);
	}
}

bool lh_mux_is_ready(const struct lh_mux *mux)
{
	return mux->ready && !mux_stopped(mux);
}

void *lh_mux_get_priv(const struct lh_mux *mux)
{
	return mux->priv;
}

const char *lh_mux_log_ctx(const struct lh_mux *mux)
{
	return mux->log_ctx;
}

struct lh_mux_conn *lh_mux_open(struct lh_mux *mux, enum lttng_hyper_conn_kind kind, int fd)
{
	return lh_mux_open_path(mux, kind, fd, NULL);
}

struct lh_mux_conn *lh_mux_open_path(struct lh_mux *mux, enum lttng_hyper_conn_kind kind,
		int fd, const char *path)
{
	struct lh_mux_conn *conn = NULL;
	uint8_t body[LTTNG_HYPER_OPEN_LEN];

	if (mux->cfg.role != LH_MUX_GUEST || !lh_mux_is_ready(mux) || mux->shutting_down) {
		goto refuse;
	}
	if (mux->nr_conns >= mux->cfg.max_conns) {
		WARN_CTX(mux->log_ctx, "%s connection refused: the limit of %u connections is reached",
			kind_str(kind), mux->cfg.max_conns);
		goto refuse;
	}
	if (path && path[0] && lttng_hyper_path_validate(path, strlen(path))) {
		WARN_CTX(mux->log_ctx, "%s connection refused: '%s' is not a valid VM path",
			kind_str(kind), path);
		goto refuse;
	}
	if (path && path[0] && !(mux->peer.caps & LTTNG_HYPER_CAP_NESTED)) {
		WARN_CTX(mux->log_ctx, "%s connection of VM %s refused: the host does not take nested VMs",
			kind_str(kind), path);
		goto refuse;
	}
	if (mux->highest_id == UINT32_MAX) {
		WARN_CTX(mux->log_ctx, "%s connection refused: connection ids are exhausted, reconnect the channel",
			kind_str(kind));
		goto refuse;
	}
	conn = conn_new(mux, mux->highest_id + 1, kind);
	if (!conn) {
		lh_log_errno(mux->log_ctx, "%s connection refused: allocating it", kind_str(kind));
		goto refuse;
	}
	mux_enter(mux);
	mux->highest_id = conn->id;
	if (!mux_queue_path(mux, LTTNG_HYPER_FRAME_OPEN, conn->id, path, body,
			lttng_hyper_open_encode(kind, body))) {
		mux_kick(mux);
	}
	if (mux_stopped(mux)) {
		conn_discard(conn);
		conn = NULL;
		if (close(fd)) {
			lh_log_errno(mux->log_ctx, "closing a refused %s connection",
				kind_str(kind));
		}
	} else {
		DBG_CTX(mux->log_ctx, "conn %" PRIu32 " (%s) opened", conn->id, kind_str(kind));
		conn_start(conn, fd);
		if (conn->closed) {
			conn = NULL;
		}
	}
	mux_leave(mux, false);
	return conn;

refuse:
	if (close(fd)) {
		lh_log_errno(mux->log_ctx, "closing a refused %s connection", kind_str(kind));
	}
	return NULL;
}

void lh_mux_shutdown(struct lh_mux *mux)
{
	struct lh_mux_conn *conn;

	if (mux_stopped(mux) || mux->shutting_down) {
		return;
	}
	mux_enter(mux);
	mux->shutting_down = true;
	while (!mux_stopped(mux) && (conn = mux->conns)) {
		/* The DATA already framed is in the channel queue, before this CLOSE. */
		if (lh_buf_len(&conn->pend) > 0) {
			conn_send_pending(conn);
			if (conn->closed) {
				continue;
			}
		}
		conn_close_local(conn);
	}
	mux_leave(mux, false);
}

bool lh_mux_flushed(const struct lh_mux *mux)
{
	return mux_stopped(mux) || mux_out_queued(mux) == 0;
}

int lh_mux_send_clock_probe(struct lh_mux *mux, uint64_t seq, uint64_t host_ns)
{
	uint8_t body[LTTNG_HYPER_CLOCK_PROBE_LEN];
	int ret;

	if (mux->cfg.role != LH_MUX_HOST || !lh_mux_is_ready(mux)) {
		return -1;
	}
	mux_enter(mux);
	mux_send(mux, LTTNG_HYPER_FRAME_CLOCK_PROBE, 0, body,
		lttng_hyper_clock_probe_encode(seq, host_ns, body));
	ret = mux_stopped(mux) ? -1 : 0;
	mux_leave(mux, false);
	return ret;
}

int lh_mux_send_clock_estimate(struct lh_mux *mux, const char *path,
		const struct lttng_hyper_clock_estimate *est)
{
	uint8_t body[LTTNG_HYPER_CLOCK_ESTIMATE_LEN];
	int ret = -1;

	if (mux->cfg.role != LH_MUX_GUEST || !lh_mux_is_ready(mux) ||
			!(mux->peer.caps & LTTNG_HYPER_CAP_NESTED) ||
			mux_out_queued(mux) >= mux->cfg.out_high_water) {
		return -1;
	}
	mux_enter(mux);
	if (!mux_queue_path(mux, LTTNG_HYPER_FRAME_CLOCK_ESTIMATE, 0, path, body,
			lttng_hyper_clock_estimate_encode(est, body))) {
		mux_kick(mux);
		ret = mux_stopped(mux) ? -1 : 0;
	}
	mux_leave(mux, false);
	return ret;
}

bool lh_mux_peer_nested(const struct lh_mux *mux)
{
	return lh_mux_is_ready(mux) && (mux->peer.caps & LTTNG_HYPER_CAP_NESTED);
}

void lh_mux_get_stats(const struct lh_mux *mux, struct lh_mux_stats *stats)
{
	*stats = mux->stats;
	stats->conns = mux->nr_conns;
	stats->out_queued = mux_out_queued(mux);
}

uint32_t lh_mux_conn_id(const struct lh_mux_conn *conn)
{
	return conn->id;
}

enum lttng_hyper_conn_kind lh_mux_conn_kind(const struct lh_mux_conn *conn)
{
	return conn->kind;
}

struct lh_mux *lh_mux_conn_mux(const struct lh_mux_conn *conn)
{
	return conn->mux;
}

void lh_mux_conn_set_filter(struct lh_mux_conn *conn, const struct lh_mux_filter *filter)
{
	conn->filter = filter;
}

void lh_mux_conn_set_priv(struct lh_mux_conn *conn, void *priv)
{
	conn->priv = priv;
}

void *lh_mux_conn_get_priv(const struct lh_mux_conn *conn)
{
	return conn->priv;
}

int lh_mux_conn_queue_local(struct lh_mux_conn *conn, const void *buf, size_t len)
{
	if (conn->closed) {
		return 0;
	}
	if (lh_buf_append(&conn->out, buf, len)) {
		mux_fail(conn->mux, "out of memory on conn %" PRIu32, conn->id);
		return -1;
	}
	/* Written when the socket is writable; it may be now. */
	conn_update_events(conn);
	return 0;
}

void lh_mux_conn_set_waiting(struct lh_mux_conn *conn, bool waiting)
{
	/* The stall clock starts when the wait does, not at the last exchange. */
	if (waiting && !conn->waiting) {
		conn->progress_ms = lh_now_ms();
	}
	conn->waiting = waiting;
}

void lh_mux_reset_conns(struct lh_mux *mux, bool (*match)(struct lh_mux_conn *conn, void *arg),
		void *arg, enum lttng_hyper_reset_reason reason)
{
	struct lh_mux_conn *conn, *next;

	mux_enter(mux);
	/* A reset conn leaves the list, and the one after it stays. */
	for (conn = mux->conns; conn && !mux_stopped(mux); conn = next) {
		next = conn->next;
		if (conn->fd >= 0 && match(conn, arg)) {
			conn_reset(conn, reason);
		}
	}
	mux_leave(mux, false);
}

void lh_mux_conn_reset(struct lh_mux_conn *conn, enum lttng_hyper_reset_reason reason)
{
	struct lh_mux *mux = conn->mux;

	/* A conn without a fd is still in on_open, which refuses by returning -1. */
	if (conn->closed || conn->fd < 0) {
		return;
	}
	mux_enter(mux);
	conn_reset(conn, reason);
	mux_leave(mux, false);
}
