/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host end of one channel socket, before anything is spoken on it:
 * listen and hand each accepted connection to the owner, or connect
 * (QEMU's server=on chardev socket) and connect again with back-off when
 * the owner's connection is gone or an attempt fails. A VM's hyper
 * channel (vm-channel.h) and the host relay's data ports both run on it.
 *
 * The owner holds at most one connection at a time: when a listening
 * endpoint accepts another, the owner replaces its current one with it,
 * since a rebooted guest reconnects before the old connection is known
 * to be dead. The back-off grows with every attempt until the owner says
 * its peer proved alive (a HELLO, a good frame), so that a peer that
 * accepts and hangs up at once is not retried in a tight loop.
 */
#ifndef LH_COMMON_ENDPOINT_H
#define LH_COMMON_ENDPOINT_H

#include <stdbool.h>

#include <lttng-hyper/channel.h>

#include "common/loop.h"

struct lh_endpoint;

/*
 * A new connection: fd is non-blocking and close-on-exec, and the owner's
 * from now on, even on failure. Returns 0, or -1 when the owner could not
 * take it (a connecting endpoint then retries after the back-off).
 */
typedef int (*lh_endpoint_conn_cb)(struct lh_endpoint *ep, int fd, void *arg);

struct lh_endpoint_config {
	/* unix and tcp connect; unix-listen and tcp-listen listen. Copied. */
	struct lttng_hyper_channel_uri uri;
	const char *log_ctx;	/* "vm=NAME": must outlive the endpoint */
	/* What the logs call it ("unix:/run/vm1.sock", "data port ..."). Copied. */
	const char *label;
	/* Who stays offline when the loop fails us ("this VM"). Copied. */
	const char *owner;
};

struct lh_endpoint *lh_endpoint_create(struct lh_loop *loop,
		const struct lh_endpoint_config *cfg, lh_endpoint_conn_cb cb, void *arg);
/* Listen (failure is returned) or start connecting (failures are retried). */
int lh_endpoint_start(struct lh_endpoint *ep);
/* The owner's connection is gone: a connecting endpoint connects again after the back-off. */
void lh_endpoint_conn_lost(struct lh_endpoint *ep);
/* The peer proved alive: the next outage starts at the shortest back-off. */
void lh_endpoint_peer_alive(struct lh_endpoint *ep);
/* Stop listening (removing a unix socket file of ours) or connecting; then free. */
void lh_endpoint_destroy(struct lh_endpoint *ep);

#endif /* LH_COMMON_ENDPOINT_H */
