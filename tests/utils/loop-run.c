/* SPDX-License-Identifier: GPL-2.0-only */
/* Running an event loop in a unit test, bounded (loop-run.h). */
#include <stddef.h>

#include "common/loop.h"
#include "tests/utils/loop-run.h"

struct run_ctx {
	struct lh_loop *loop;
	bool (*cond)(void *arg);
	void *arg;
	uint64_t deadline;
	bool met;
};

static void run_check_cb(struct lh_timer *timer, void *arg)
{
	struct run_ctx *ctx = arg;

	if (ctx->cond && ctx->cond(ctx->arg)) {
		ctx->met = true;
		lh_loop_stop(ctx->loop);
		return;
	}
	if (lh_now_ms() >= ctx->deadline) {
		lh_loop_stop(ctx->loop);
		return;
	}
	if (!lh_loop_timer(ctx->loop, 1, run_check_cb, ctx)) {
		lh_loop_stop(ctx->loop);
	}
}

bool lh_test_run_until(struct lh_loop *loop, bool (*cond)(void *), void *arg,
		uint64_t timeout_ms)
{
	struct run_ctx ctx = {
		.loop = loop,
		.cond = cond,
		.arg = arg,
		.deadline = lh_now_ms() + timeout_ms,
	};

	if (cond && cond(arg)) {
		return true;
	}
	if (!lh_loop_timer(loop, 1, run_check_cb, &ctx)) {
		return false;
	}
	lh_loop_run(loop);
	return ctx.met;
}

void lh_test_run_for(struct lh_loop *loop, uint64_t ms)
{
	lh_test_run_until(loop, NULL, NULL, ms);
}
