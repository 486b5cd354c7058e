/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connections: lookup, creation, their end (orderly, reset, or on an
 * error of the local socket), and the watch on their local socket.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mux-internal.h"

static void conn_watch_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg);

const char *kind_str(enum lttng_hyper_conn_kind kind)
{
	switch (kind) {
	case LTTNG_HYPER_CONN_CONTROL:
		return "control";
	case LTTNG_HYPER_CONN_DATA:
		return "data";
	}
	return "unknown";
}

struct lh_mux_conn *conn_lookup(struct lh_mux *mux, uint32_t id)
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

struct lh_mux_conn *conn_new(struct lh_mux *mux, uint32_t id,
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
void conn_discard(struct lh_mux_conn *conn)
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
void conn_free(struct lh_mux_conn *conn)
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

void mux_free_dead_conns(struct lh_mux *mux)
{
	while (mux->dead_conns) {
		struct lh_mux_conn *conn = mux->dead_conns;

		mux->dead_conns = conn->next;
		lh_mem_uncharge(mux->cfg.mem, sizeof(*conn));
		free(conn);
	}
}

void mux_close_all_conns(struct lh_mux *mux)
{
	while (mux->conns) {
		conn_free(mux->conns);
	}
}

void conn_reset(struct lh_mux_conn *conn, enum lttng_hyper_reset_reason reason)
{
	struct lh_mux *mux = conn->mux;

	if (conn->closed) {
		return;
	}
	mux_send_u32(mux, LTTNG_HYPER_FRAME_RESET, conn->id, reason);
	conn_free(conn);
}

void conn_local_error(struct lh_mux_conn *conn, int err, const char *what)
{
	INFO_CTX(conn->mux->log_ctx, "conn %" PRIu32 " (%s): local socket %s error: %s",
		conn->id, kind_str(conn->kind), what, strerror(err));
	conn_reset(conn, err == ECONNREFUSED ? LTTNG_HYPER_RESET_REFUSED :
			LTTNG_HYPER_RESET_UNSPEC);
}

/* Watch the local fd for exactly what the conn can do now. */
void conn_update_events(struct lh_mux_conn *conn)
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
void conn_close_local(struct lh_mux_conn *conn)
{
	mux_send(conn->mux, LTTNG_HYPER_FRAME_CLOSE, conn->id, NULL, 0);
	conn_free(conn);
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
void conn_start(struct lh_mux_conn *conn, int fd)
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
