/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host end of one VM's hyper channel (vm-channel.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>
#include <lttng-hyper/frame.h>

#include "common/clock-probe.h"
#include "common/daemon.h"
#include "common/defaults.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/mux.h"
#include "common/transport.h"
#include "common/vm-channel.h"

struct lh_vm_channel {
	struct lh_loop *loop;
	struct lh_vm_channel_config cfg;
	const struct lh_vm_channel_ops *ops;
	void *priv;
	char name[LTTNG_HYPER_NAME_MAX_LEN + 1];
	char log_ctx[sizeof("vm=") + LTTNG_HYPER_NAME_MAX_LEN];
	char channel[512];		/* canonical channel URI, for logs */
	struct lh_endpoint *ep;		/* listens, or connects with back-off */
	/* The current channel connection, if any. */
	struct lh_mux *mux;
	struct lh_clock_probe *clock;	/* NULL: the guest's clock is not measured */
	uint64_t conn_ms;		/* when it was made */
	uint64_t down_ms;		/* when the last one went (or the start) */
	uint64_t ready_ms;		/* when its handshake completed; 0: not yet */
	uint64_t ups;
};

static void close_fd(struct lh_vm_channel *vc, int fd, const char *what)
{
	if (close(fd) < 0) {
		lh_log_errno(vc->log_ctx, "close %s", what);
	}
}

/* Drop the current channel connection and everything that lived on it. */
static void channel_close(struct lh_vm_channel *vc)
{
	struct lh_mux_stats stats;

	if (!vc->mux) {
		return;
	}
	lh_mux_get_stats(vc->mux, &stats);
	INFO_CTX(vc->log_ctx, "channel down after %.1f s: %" PRIu64 " bytes from the guest, %" PRIu64 " bytes to it",
		(double) (lh_now_ms() - vc->conn_ms) / 1000.0,
		stats.bytes_from_peer, stats.bytes_to_peer);
	/*
	 * The connections' filters may still read the clock while the mux
	 * tears them down (a final clock fix), and the owner's state after
	 * that: mux first, clock last. The clock sends probes from its timer
	 * only, so it never touches the dying mux.
	 */
	lh_mux_destroy(vc->mux);
	vc->mux = NULL;
	vc->ready_ms = 0;
	vc->down_ms = lh_now_ms();
	if (vc->ops->on_disconnect) {
		vc->ops->on_disconnect(vc);
	}
	lh_clock_probe_destroy(vc->clock);
	vc->clock = NULL;
}

static void vc_on_ready(struct lh_mux *mux, const struct lttng_hyper_hello *peer)
{
	struct lh_vm_channel *vc = lh_mux_get_priv(mux);

	INFO_CTX(vc->log_ctx, "channel up (guest protocol %u.%u)", peer->major, peer->minor);
	vc->ready_ms = lh_now_ms();
	vc->ups++;
	lh_endpoint_peer_alive(vc->ep);
	if (!vc->clock) {
		return;
	}
	if (!(peer->caps & LTTNG_HYPER_CAP_CLOCK_SYNC)) {
		WARN_CTX(vc->log_ctx, "the guest offers no clock sync: its traces keep its own clock");
		return;
	}
	lh_clock_probe_burst(vc->clock);
}

static int vc_on_open(struct lh_mux *mux, struct lh_mux_conn *conn,
		enum lttng_hyper_conn_kind kind, const char *path)
{
	struct lh_vm_channel *vc = lh_mux_get_priv(mux);

	return vc->ops->on_open(vc, conn, kind, path);
}

static void vc_on_conn_closed(struct lh_mux *mux, struct lh_mux_conn *conn)
{
	struct lh_vm_channel *vc = lh_mux_get_priv(mux);

	DBG_CTX(vc->log_ctx, "conn %" PRIu32 " closed", lh_mux_conn_id(conn));
}

static void vc_on_clock_reply(struct lh_mux *mux, const struct lttng_hyper_clock_reply *reply)
{
	struct lh_vm_channel *vc = lh_mux_get_priv(mux);

	if (vc->clock) {
		lh_clock_probe_on_reply(vc->clock, reply);
	}
}

static void vc_on_clock_estimate(struct lh_mux *mux, const char *path,
		const struct lttng_hyper_clock_estimate *est)
{
	struct lh_vm_channel *vc = lh_mux_get_priv(mux);

	if (vc->ops->on_clock_estimate) {
		vc->ops->on_clock_estimate(vc, path, est);
	}
}

static void vc_on_channel_error(struct lh_mux *mux, const char *why)
{
	struct lh_vm_channel *vc = lh_mux_get_priv(mux);

	lh_vm_channel_drop(vc, why);
}

static const struct lh_mux_ops vc_mux_ops = {
	.on_ready = vc_on_ready,
	.on_open = vc_on_open,
	.on_conn_closed = vc_on_conn_closed,
	.on_channel_error = vc_on_channel_error,
	.on_clock_reply = vc_on_clock_reply,
	.on_clock_estimate = vc_on_clock_estimate,
};

static void vc_estimate_cb(struct lh_clock_probe *clk, void *arg)
{
	struct lh_vm_channel *vc = arg;

	vc->ops->on_estimate(vc);
}

/* Run a mux over a new channel connection. Takes fd over, even on failure. */
static int channel_open(struct lh_vm_channel *vc, int fd)
{
	struct lh_mux_config cfg;

	lh_mux_config_init(&cfg, LH_MUX_HOST);
	cfg.log_ctx = vc->log_ctx;
	cfg.vm_name = vc->name;
	cfg.stall_timeout_ms = vc->cfg.stall_timeout_ms;
	cfg.max_conns = vc->cfg.max_conns;
	cfg.mem = vc->cfg.mem;
	if (cfg.mem) {
		lh_mem_account_rearm(cfg.mem);
	}
	/* The owner judges the VM paths of nested VMs in on_open. */
	cfg.allow_paths = true;
	vc->mux = lh_mux_create(vc->loop, fd, &cfg, &vc_mux_ops, vc);
	if (!vc->mux) {
		/* A mux that failed to start has not taken the fd over. */
		ERR_CTX(vc->log_ctx, "cannot start the multiplexer: dropping the channel connection");
		close_fd(vc, fd, "channel");
		return -1;
	}
	vc->conn_ms = lh_now_ms();
	vc->clock = lh_clock_probe_create(vc->loop, vc->mux, vc->log_ctx);
	if (!vc->clock) {
		WARN_CTX(vc->log_ctx, "cannot set up clock sync: this VM's traces keep its own clock");
	} else if (vc->ops->on_estimate) {
		lh_clock_probe_set_notify(vc->clock, vc_estimate_cb, vc);
	}
	if (vc->ops->on_connect && vc->ops->on_connect(vc) < 0) {
		ERR_CTX(vc->log_ctx, "cannot set up the channel connection: dropping it");
		lh_mux_destroy(vc->mux);
		vc->mux = NULL;
		lh_clock_probe_destroy(vc->clock);
		vc->clock = NULL;
		return -1;
	}
	DBG_CTX(vc->log_ctx, "channel connection on %s, waiting for the guest's HELLO", vc->channel);
	return 0;
}

/* A new channel connection from the endpoint: it replaces the current one. */
static int endpoint_conn_cb(struct lh_endpoint *ep, int fd, void *arg)
{
	struct lh_vm_channel *vc = arg;

	if (vc->mux) {
		INFO_CTX(vc->log_ctx, "new channel connection replaces the current one");
		channel_close(vc);
	}
	return channel_open(vc, fd);
}

int lh_vm_spec_parse(const char *arg, struct lh_vm_spec *spec, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	char why[256], kinds[256];

	memset(spec, 0, sizeof(*spec));
	if (!eq) {
		snprintf(err, errlen, "expected NAME=CHANNEL");
		return -1;
	}
	if (lttng_hyper_name_validate(arg, eq - arg)) {
		snprintf(err, errlen, "a VM name is 1 to %d characters among A-Z, a-z, 0-9, '_' and '-', not starting with '-'",
			LTTNG_HYPER_NAME_MAX_LEN);
		return -1;
	}
	memcpy(spec->name, arg, eq - arg);
	if (lttng_hyper_channel_parse(eq + 1, &spec->uri, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (!(spec->uri.transport->ends & LH_TRANSPORT_HOST_END)) {
		lh_transport_syntaxes(LH_TRANSPORT_HOST_END, kinds, sizeof(kinds));
		snprintf(err, errlen, "this channel is for the guest end; a VM's host end takes %s",
			kinds);
		return -1;
	}
	if (spec->uri.transport->absolute &&
			spec->uri.transport->absolute(&spec->uri, err, errlen) < 0) {
		return -1;
	}
	lttng_hyper_channel_format(&spec->uri, spec->channel, sizeof(spec->channel));
	return 0;
}

/* The system object a channel names, when two kinds can name one. */
static const char *channel_object(const struct lttng_hyper_channel_uri *uri)
{
	return uri->transport->object ? uri->transport->object(uri) : NULL;
}

bool lh_vm_spec_conflict(const struct lh_vm_spec *a, const struct lh_vm_spec *b,
		char *err, size_t errlen)
{
	if (!strcmp(a->name, b->name)) {
		snprintf(err, errlen, "VM %s is given twice", b->name);
		return true;
	}
	return lh_vm_spec_same_socket(a, b, err, errlen);
}

bool lh_vm_spec_same_socket(const struct lh_vm_spec *a, const struct lh_vm_spec *b,
		char *err, size_t errlen)
{
	if (!strcmp(a->channel, b->channel)) {
		snprintf(err, errlen, "channel %s is VM %s's already", b->channel, a->name);
		return true;
	}
	/* unix: and unix-listen: on one path would be one socket for two VMs. */
	if (channel_object(&a->uri) && channel_object(&b->uri) &&
			!strcmp(channel_object(&a->uri), channel_object(&b->uri))) {
		snprintf(err, errlen, "channel %s uses the socket of VM %s's channel %s",
			b->channel, a->name, a->channel);
		return true;
	}
	return false;
}

struct lh_vm_channel *lh_vm_channel_create(struct lh_loop *loop,
		const struct lh_vm_channel_config *cfg, const struct lh_vm_channel_ops *ops,
		void *priv)
{
	struct lh_endpoint_config ep_cfg = { .owner = "this VM" };
	struct lh_vm_channel *vc;

	vc = calloc(1, sizeof(*vc));
	if (!vc) {
		PERROR("calloc");
		return NULL;
	}
	vc->loop = loop;
	vc->cfg = *cfg;
	vc->ops = ops;
	vc->priv = priv;
	snprintf(vc->name, sizeof(vc->name), "%s", cfg->name);
	vc->cfg.name = vc->name;
	snprintf(vc->log_ctx, sizeof(vc->log_ctx), "vm=%s", vc->name);
	lttng_hyper_channel_format(&cfg->uri, vc->channel, sizeof(vc->channel));
	ep_cfg.uri = cfg->uri;
	ep_cfg.log_ctx = vc->log_ctx;
	ep_cfg.label = vc->channel;
	vc->ep = lh_endpoint_create(loop, &ep_cfg, endpoint_conn_cb, vc);
	if (!vc->ep) {
		free(vc);
		return NULL;
	}
	vc->down_ms = lh_now_ms();
	return vc;
}

int lh_vm_channel_start(struct lh_vm_channel *vc)
{
	return lh_endpoint_start(vc->ep);
}

void lh_vm_channel_drop(struct lh_vm_channel *vc, const char *why)
{
	if (!vc->mux) {
		return;
	}
	WARN_CTX(vc->log_ctx, "closing channel: %s", why);
	channel_close(vc);
	lh_endpoint_conn_lost(vc->ep);
}

void lh_vm_channel_destroy(struct lh_vm_channel *vc)
{
	if (!vc) {
		return;
	}
	channel_close(vc);
	lh_endpoint_destroy(vc->ep);
	free(vc);
}

void *lh_vm_channel_priv(const struct lh_vm_channel *vc)
{
	return vc->priv;
}

const char *lh_vm_channel_name(const struct lh_vm_channel *vc)
{
	return vc->name;
}

const char *lh_vm_channel_log_ctx(const struct lh_vm_channel *vc)
{
	return vc->log_ctx;
}

void lh_vm_channel_get_status(const struct lh_vm_channel *vc, struct lh_vm_channel_status *st)
{
	bool listens = vc->cfg.uri.transport->listens;

	if (!vc->mux) {
		st->state = listens ? "listening" : "connecting";
		st->state_ms = vc->down_ms;
	} else if (!vc->ready_ms) {
		st->state = "handshake";
		st->state_ms = vc->conn_ms;
	} else {
		st->state = "up";
		st->state_ms = vc->ready_ms;
	}
	st->ups = vc->ups;
	st->channel = vc->channel;
}

struct lh_mux *lh_vm_channel_mux(const struct lh_vm_channel *vc)
{
	return vc->mux;
}

struct lh_clock_probe *lh_vm_channel_clock(const struct lh_vm_channel *vc)
{
	return vc->clock;
}
