/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Periodic work: pings and host liveness (guest), local stalls (host), memory.
 */
#include <inttypes.h>

#include "common/log.h"
#include "common/mux-internal.h"

uint64_t mux_tick_interval(const struct lh_mux *mux)
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

void mux_tick_cb(struct lh_timer *timer, void *arg)
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
