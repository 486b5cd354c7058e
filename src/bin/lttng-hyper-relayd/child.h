/* SPDX-License-Identifier: GPL-2.0-only */
/* The lttng-relayd the relay starts and supervises (child.c). */
#ifndef LH_RELAYD_CHILD_H
#define LH_RELAYD_CHILD_H

#include <stdint.h>

#include "common/loop.h"
#include "relayd-target.h"

struct lh_relayd_child_config {
	const char *path;		/* lttng-relayd binary, looked up in PATH without a slash */
	const char *output;		/* its -o */
	const char *control_url;	/* its -C, -D and -L */
	const char *data_url;
	const char *live_url;
	const struct lh_relayd_target *target;	/* where to check it is up */
	/* Once up, SIGKILL and restart it after this long without answering; 0: never. */
	uint64_t liveness_timeout_ms;
	unsigned int verbose;		/* number of -v to pass */
	int log_fd;			/* its stdout and stderr; -1: ours */
};

struct lh_relayd_child_ops {
	/* It accepts connections (after the first start and every restart). */
	void (*on_ready)(void *arg);
	/* It exited after the first start succeeded; a restart is scheduled. */
	void (*on_lost)(void *arg);
	/* The first start failed (the reason is logged); nothing is retried. */
	void (*on_failed)(void *arg);
};

struct lh_relayd_child;

/* The config's strings and target must outlive the child. */
struct lh_relayd_child *lh_relayd_child_create(struct lh_loop *loop,
		const struct lh_relayd_child_config *cfg,
		const struct lh_relayd_child_ops *ops, void *arg);
/* Start it; the ops report the outcome. Returns -1 if it cannot run at all. */
int lh_relayd_child_start(struct lh_relayd_child *child);
/* On SIGCHLD: reap it if it exited. */
void lh_relayd_child_reap(struct lh_relayd_child *child);
/* SIGTERM it and wait (SIGKILL after a while), then free. */
void lh_relayd_child_destroy(struct lh_relayd_child *child);

#endif /* LH_RELAYD_CHILD_H */
