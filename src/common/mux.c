/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The multiplexer (mux.h): its life cycle, its failure and the public
 * API. mux-internal.h says which file holds the rest.
 *
 * Callbacks may re-enter the mux, close connections or destroy it. Closed
 * connections and a destroyed mux are freed only once the outermost mux
 * function returns (see mux_enter/mux_leave), and a channel error is
 * reported to the owner from there too, never from deep in a parse.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/defaults.h"
#include "common/log.h"
#include "common/mux-internal.h"

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

void mux_enter(struct lh_mux *mux)
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
void mux_leave(struct lh_mux *mux, bool from_loop)
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

/* The channel is unusable: close everything; the owner hears of it on leave. */
void mux_fail(struct lh_mux *mux, const char *fmt, ...)
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

/* The loop's watch on the channel. */
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
	mux_chan_setup(mux);
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
	mux_chan_close(mux);
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
