/* SPDX-License-Identifier: GPL-2.0-only */
/* The relay's control socket (control.c). */
#ifndef LH_RELAYD_CONTROL_H
#define LH_RELAYD_CONTROL_H

#include "common/loop.h"

struct lh_vm;

/* What the status shows of the relay itself; main.c keeps it current. */
struct lh_relay_control_source {
	const char *output;		/* lttng-relayd's; NULL with --relayd-url */
	const char *relayd_state;	/* "starting", "up", "restarting", "failed", "external" */
	struct lh_vm *const *vms;
	unsigned int nr_vms;
};

struct lh_relay_control;

/*
 * Listen on the unix socket at path (mode 0600, a stale one replaced, a
 * live one left alone) and answer "status" with the JSON of
 * lttng-hyper-relayd(8). src must outlive it. NULL on failure (logged).
 */
struct lh_relay_control *lh_relay_control_create(struct lh_loop *loop, const char *path,
		const struct lh_relay_control_source *src);
void lh_relay_control_destroy(struct lh_relay_control *ctl);

#endif /* LH_RELAYD_CONTROL_H */
