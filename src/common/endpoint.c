/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host end of one channel socket (endpoint.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/defaults.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/transport.h"

struct lh_endpoint {
	struct lh_loop *loop;
	struct lttng_hyper_channel_uri uri;
	const char *log_ctx;
	char label[600];
	char owner[64];
	lh_endpoint_conn_cb cb;
	void *arg;
	bool listener;
	int listen_fd;
	struct lh_watch *listen_watch;
	/* Connecting: the next attempt. Listening: accept paused after an error. */
	struct lh_timer *timer;
	uint64_t backoff_ms;
	bool outage_logged;		/* the current outage is in the log already */
};

static void connect_peer(struct lh_endpoint *ep);

static void reconnect_cb(struct lh_timer *timer, void *arg)
{
	struct lh_endpoint *ep = arg;

	ep->timer = NULL;
	connect_peer(ep);
}

static void schedule_reconnect(struct lh_endpoint *ep)
{
	ep->timer = lh_loop_timer(ep->loop, ep->backoff_ms, reconnect_cb, ep);
	if (!ep->timer) {
		ERR_CTX(ep->log_ctx, "cannot schedule a reconnection to %s: %s stays offline",
			ep->label, ep->owner);
	}
	ep->backoff_ms *= 2;
	if (ep->backoff_ms > LH_RECONNECT_MAX_MS) {
		ep->backoff_ms = LH_RECONNECT_MAX_MS;
	}
}

static void connect_peer(struct lh_endpoint *ep)
{
	const struct lttng_hyper_transport *t = ep->uri.transport;
	char why[512];
	int fd, level;

	/* What the kind knows of the last connection's end, in this peer's log context. */
	if (t->last_words) {
		level = t->last_words(&ep->uri, why, sizeof(why));
		if (level >= 0) {
			lh_log((enum lh_log_level) level, ep->log_ctx, "%s", why);
		}
	}
	fd = lttng_hyper_channel_connect(&ep->uri);
	if (fd < 0) {
		if (!ep->outage_logged) {
			WARN_CTX(ep->log_ctx, "cannot connect to %s: %s (retrying)", ep->label,
				strerror(errno));
			ep->outage_logged = true;
		} else {
			DBG_CTX(ep->log_ctx, "cannot connect to %s: %s", ep->label,
				strerror(errno));
		}
		schedule_reconnect(ep);
		return;
	}
	if (ep->outage_logged) {
		INFO_CTX(ep->log_ctx, "connected to %s", ep->label);
		ep->outage_logged = false;
	}
	if (ep->cb(ep, fd, ep->arg) < 0) {
		schedule_reconnect(ep);
	}
}

static void resume_accept_cb(struct lh_timer *timer, void *arg)
{
	struct lh_endpoint *ep = arg;

	ep->timer = NULL;
	if (lh_watch_set_events(ep->listen_watch, EPOLLIN) < 0) {
		ERR_CTX(ep->log_ctx, "cannot watch %s again: %s stays offline", ep->label,
			ep->owner);
	}
}

/* Level-triggered, a listener we cannot accept from (EMFILE) would spin: pause it. */
static void pause_accept(struct lh_endpoint *ep)
{
	if (lh_watch_set_events(ep->listen_watch, 0) < 0) {
		ERR_CTX(ep->log_ctx, "cannot pause accepting on %s", ep->label);
		return;
	}
	ep->timer = lh_loop_timer(ep->loop, LH_RECONNECT_MAX_MS, resume_accept_cb, ep);
	if (!ep->timer) {
		ERR_CTX(ep->log_ctx, "cannot schedule accepting on %s again: %s stays offline",
			ep->label, ep->owner);
	}
}

static void accept_cb(struct lh_watch *watch, int listen_fd, uint32_t events, void *arg)
{
	struct lh_endpoint *ep = arg;
	int fd;

	fd = lttng_hyper_channel_accept(&ep->uri, listen_fd);
	if (fd < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
				errno == ECONNABORTED) {
			return;
		}
		lh_log_errno(ep->log_ctx, "accept on %s", ep->label);
		pause_accept(ep);
		return;
	}
	ep->cb(ep, fd, ep->arg);
}

struct lh_endpoint *lh_endpoint_create(struct lh_loop *loop,
		const struct lh_endpoint_config *cfg, lh_endpoint_conn_cb cb, void *arg)
{
	struct lh_endpoint *ep;

	ep = calloc(1, sizeof(*ep));
	if (!ep) {
		PERROR("calloc");
		return NULL;
	}
	ep->loop = loop;
	ep->uri = cfg->uri;
	ep->log_ctx = cfg->log_ctx;
	snprintf(ep->label, sizeof(ep->label), "%s", cfg->label);
	snprintf(ep->owner, sizeof(ep->owner), "%s", cfg->owner);
	ep->cb = cb;
	ep->arg = arg;
	ep->listener = lttng_hyper_channel_is_listener(&cfg->uri);
	ep->listen_fd = -1;
	ep->backoff_ms = LH_RECONNECT_MIN_MS;
	return ep;
}

int lh_endpoint_start(struct lh_endpoint *ep)
{
	if (!ep->listener) {
		INFO_CTX(ep->log_ctx, "connecting to %s", ep->label);
		connect_peer(ep);
		return 0;
	}
	ep->listen_fd = lttng_hyper_channel_listen(&ep->uri);
	if (ep->listen_fd < 0) {
		lh_log_errno(ep->log_ctx, "cannot listen on %s", ep->label);
		return -1;
	}
	ep->listen_watch = lh_loop_watch(ep->loop, ep->listen_fd, EPOLLIN, accept_cb, ep);
	if (!ep->listen_watch) {
		ERR_CTX(ep->log_ctx, "cannot watch %s", ep->label);
		return -1;
	}
	INFO_CTX(ep->log_ctx, "listening on %s", ep->label);
	return 0;
}

void lh_endpoint_conn_lost(struct lh_endpoint *ep)
{
	if (!ep->listener && !ep->timer) {
		schedule_reconnect(ep);
	}
}

void lh_endpoint_peer_alive(struct lh_endpoint *ep)
{
	ep->backoff_ms = LH_RECONNECT_MIN_MS;
}

void lh_endpoint_destroy(struct lh_endpoint *ep)
{
	if (!ep) {
		return;
	}
	if (ep->timer) {
		lh_timer_cancel(ep->timer);
	}
	if (ep->listen_watch) {
		lh_watch_remove(ep->listen_watch);
	}
	if (ep->listen_fd >= 0) {
		if (close(ep->listen_fd) < 0) {
			lh_log_errno(ep->log_ctx, "close listening socket");
		}
		if (ep->uri.transport->unlisten) {
			ep->uri.transport->unlisten(&ep->uri);
		}
	}
	free(ep);
}
