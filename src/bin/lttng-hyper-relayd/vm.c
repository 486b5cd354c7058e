/*
 * One VM: its hyper channel and the mux over it.
 *
 * The host configuration names the VM; nothing the guest sends does. A
 * listening channel takes one peer at a time, and a new connection
 * replaces the current one, since a rebooted guest reconnects before the
 * old connection is known to be dead. A connecting channel (QEMU's
 * server=on chardev socket) is reconnected with back-off. Every channel
 * connection gets a fresh mux and relay state, so nothing a guest did on
 * one survives it, and a fault only ever closes this VM's channel.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>
#include <lttng-hyper/frame.h>

#include "common/defaults.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/mux.h"
#include "relayd.h"

struct lh_vm {
	struct lh_loop *loop;
	struct lh_vm_config cfg;
	char name[LTTNG_HYPER_NAME_MAX_LEN + 1];
	char log_ctx[sizeof("vm=") + LTTNG_HYPER_NAME_MAX_LEN];
	char channel[512];		/* canonical channel URI, for logs */
	bool listener;
	int listen_fd;
	struct lh_watch *listen_watch;
	/* Connecting: the next attempt. Listening: accept paused after an error. */
	struct lh_timer *timer;
	uint64_t backoff_ms;
	bool outage_logged;		/* the current outage is in the log already */
	/* The current channel connection, if any. */
	struct lh_mux *mux;
	struct lh_relay_vm_state *state;
	struct lh_relay_clock *clock;	/* NULL: the guest's clock is not measured */
	uint64_t conn_ms;		/* when it was made */
	/* It opened connections to lttng-relayd: the state may hold its ids. */
	bool used_relayd;
};

static void connect_channel(struct lh_vm *vm);

static void close_fd(struct lh_vm *vm, int fd, const char *what)
{
	if (close(fd) < 0) {
		lh_log_errno(vm->log_ctx, "close %s", what);
	}
}

static void reconnect_cb(struct lh_timer *timer, void *arg)
{
	struct lh_vm *vm = arg;

	vm->timer = NULL;
	connect_channel(vm);
}

static void schedule_reconnect(struct lh_vm *vm)
{
	vm->timer = lh_loop_timer(vm->loop, vm->backoff_ms, reconnect_cb, vm);
	if (!vm->timer) {
		ERR_CTX(vm->log_ctx, "cannot schedule a reconnection to %s: this VM stays offline",
			vm->channel);
	}
	vm->backoff_ms *= 2;
	if (vm->backoff_ms > LH_RECONNECT_MAX_MS) {
		vm->backoff_ms = LH_RECONNECT_MAX_MS;
	}
}

/* Drop the current channel connection, its logical connections and what the guest owned. */
static void channel_close(struct lh_vm *vm)
{
	struct lh_mux_stats stats;

	if (!vm->mux) {
		return;
	}
	lh_mux_get_stats(vm->mux, &stats);
	INFO_CTX(vm->log_ctx, "channel down after %.1f s: %" PRIu64 " bytes from the guest, %" PRIu64 " bytes to it",
		(double) (lh_now_ms() - vm->conn_ms) / 1000.0,
		stats.bytes_from_peer, stats.bytes_to_peer);
	/*
	 * The filters of the mux's connections refer to the state, and the
	 * state to the clock, whose estimate the final clock fix of a trace
	 * cut short here still needs: mux first, clock last. The clock sends
	 * probes from its timer only, so it never touches the dying mux.
	 */
	lh_mux_destroy(vm->mux);
	vm->mux = NULL;
	lh_relay_vm_state_destroy(vm->state);
	vm->state = NULL;
	lh_relay_clock_destroy(vm->clock);
	vm->clock = NULL;
	vm->used_relayd = false;
}

static void vm_on_ready(struct lh_mux *mux, const struct lttng_hyper_hello *peer)
{
	struct lh_vm *vm = lh_mux_get_priv(mux);

	INFO_CTX(vm->log_ctx, "channel up (guest protocol %u.%u)", peer->major, peer->minor);
	vm->backoff_ms = LH_RECONNECT_MIN_MS;
	if (!vm->clock) {
		return;
	}
	if (!(peer->caps & LTTNG_HYPER_CAP_CLOCK_SYNC)) {
		WARN_CTX(vm->log_ctx, "the guest offers no clock sync: its traces keep its own clock");
		return;
	}
	lh_relay_clock_burst(vm->clock);
}

static int vm_on_open(struct lh_mux *mux, struct lh_mux_conn *conn,
		enum lttng_hyper_conn_kind kind, const char *path)
{
	struct lh_vm *vm = lh_mux_get_priv(mux);
	const struct lh_relayd_target *relayd = vm->cfg.relayd;
	bool control = kind == LTTNG_HYPER_CONN_CONTROL;
	const char *host = control ? relayd->control_host : relayd->data_host;
	uint16_t port = control ? relayd->control_port : relayd->data_port;
	int fd;

	fd = lttng_hyper_tcp_connect(host, port);
	if (fd < 0) {
		WARN_CTX(vm->log_ctx, "conn %" PRIu32 ": cannot connect to lttng-relayd at %s:%u: %s",
			lh_mux_conn_id(conn), host, port, strerror(errno));
		return -1;
	}
	if (lh_relay_filter_attach(conn, kind, vm->state) < 0) {
		ERR_CTX(vm->log_ctx, "conn %" PRIu32 ": cannot attach the relayd protocol filter",
			lh_mux_conn_id(conn));
		close_fd(vm, fd, "relayd socket");
		return -1;
	}
	vm->used_relayd = true;
	DBG_CTX(vm->log_ctx, "conn %" PRIu32 ": %s connection to lttng-relayd at %s:%u",
		lh_mux_conn_id(conn), control ? "control" : "data", host, port);
	return fd;
}

static void vm_on_conn_closed(struct lh_mux *mux, struct lh_mux_conn *conn)
{
	struct lh_vm *vm = lh_mux_get_priv(mux);

	DBG_CTX(vm->log_ctx, "conn %" PRIu32 " closed", lh_mux_conn_id(conn));
}

static void vm_on_clock_reply(struct lh_mux *mux, const struct lttng_hyper_clock_reply *reply)
{
	struct lh_vm *vm = lh_mux_get_priv(mux);

	if (vm->clock) {
		lh_relay_clock_on_reply(vm->clock, reply);
	}
}

static void vm_on_channel_error(struct lh_mux *mux, const char *why)
{
	struct lh_vm *vm = lh_mux_get_priv(mux);

	WARN_CTX(vm->log_ctx, "closing channel: %s", why);
	channel_close(vm);
	if (!vm->listener) {
		schedule_reconnect(vm);
	}
}

static const struct lh_mux_ops vm_mux_ops = {
	.on_ready = vm_on_ready,
	.on_open = vm_on_open,
	.on_conn_closed = vm_on_conn_closed,
	.on_channel_error = vm_on_channel_error,
	.on_clock_reply = vm_on_clock_reply,
};

/* Run a mux over a new channel connection. Takes fd over, even on failure. */
static int channel_open(struct lh_vm *vm, int fd)
{
	struct lh_mux_config cfg;

	vm->state = lh_relay_vm_state_create(vm->name, &vm->cfg.limits);
	if (!vm->state) {
		ERR_CTX(vm->log_ctx, "cannot allocate the relay state: dropping the channel connection");
		close_fd(vm, fd, "channel");
		return -1;
	}
	lh_mux_config_init(&cfg, LH_MUX_HOST);
	cfg.log_ctx = vm->log_ctx;
	cfg.vm_name = vm->name;
	cfg.stall_timeout_ms = vm->cfg.relayd_timeout_ms;
	cfg.max_conns = vm->cfg.max_conns;
	vm->mux = lh_mux_create(vm->loop, fd, &cfg, &vm_mux_ops, vm);
	if (!vm->mux) {
		/* A mux that failed to start has not taken the fd over. */
		ERR_CTX(vm->log_ctx, "cannot start the multiplexer: dropping the channel connection");
		close_fd(vm, fd, "channel");
		lh_relay_vm_state_destroy(vm->state);
		vm->state = NULL;
		return -1;
	}
	vm->clock = lh_relay_clock_create(vm->loop, vm->mux, vm->log_ctx);
	if (!vm->clock) {
		WARN_CTX(vm->log_ctx, "cannot set up clock sync: this VM's traces keep its own clock");
	}
	lh_relay_vm_state_set_clock(vm->state, vm->clock);
	vm->conn_ms = lh_now_ms();
	DBG_CTX(vm->log_ctx, "channel connection on %s, waiting for the guest's HELLO", vm->channel);
	return 0;
}

static void connect_channel(struct lh_vm *vm)
{
	int fd;

	fd = lttng_hyper_channel_connect(&vm->cfg.uri);
	if (fd < 0) {
		if (!vm->outage_logged) {
			WARN_CTX(vm->log_ctx, "cannot connect to %s: %s (retrying)", vm->channel,
				strerror(errno));
			vm->outage_logged = true;
		} else {
			DBG_CTX(vm->log_ctx, "cannot connect to %s: %s", vm->channel,
				strerror(errno));
		}
		schedule_reconnect(vm);
		return;
	}
	if (vm->outage_logged) {
		INFO_CTX(vm->log_ctx, "connected to %s", vm->channel);
		vm->outage_logged = false;
	}
	if (channel_open(vm, fd) < 0) {
		schedule_reconnect(vm);
	}
}

static void resume_accept_cb(struct lh_timer *timer, void *arg)
{
	struct lh_vm *vm = arg;

	vm->timer = NULL;
	if (lh_watch_set_events(vm->listen_watch, EPOLLIN) < 0) {
		ERR_CTX(vm->log_ctx, "cannot watch %s again: this VM stays offline", vm->channel);
	}
}

/* Level-triggered, a listener we cannot accept from (EMFILE) would spin: pause it. */
static void pause_accept(struct lh_vm *vm)
{
	if (lh_watch_set_events(vm->listen_watch, 0) < 0) {
		ERR_CTX(vm->log_ctx, "cannot pause accepting on %s", vm->channel);
		return;
	}
	vm->timer = lh_loop_timer(vm->loop, LH_RECONNECT_MAX_MS, resume_accept_cb, vm);
	if (!vm->timer) {
		ERR_CTX(vm->log_ctx, "cannot schedule accepting on %s again: this VM stays offline",
			vm->channel);
	}
}

static void accept_cb(struct lh_watch *watch, int listen_fd, uint32_t events, void *arg)
{
	struct lh_vm *vm = arg;
	const int one = 1;
	int fd;

	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
				errno == ECONNABORTED) {
			return;
		}
		lh_log_errno(vm->log_ctx, "accept on %s", vm->channel);
		pause_accept(vm);
		return;
	}
	if (vm->cfg.uri.type == LTTNG_HYPER_CHANNEL_TCP_LISTEN &&
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		/* Relayd replies cross the channel: latency matters more than segments. */
		lh_log_errno(vm->log_ctx, "TCP_NODELAY on %s", vm->channel);
	}
	if (vm->mux) {
		INFO_CTX(vm->log_ctx, "new channel connection replaces the current one");
		channel_close(vm);
	}
	channel_open(vm, fd);
}

struct lh_vm *lh_vm_create(struct lh_loop *loop, const struct lh_vm_config *cfg)
{
	struct lh_vm *vm;

	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		PERROR("calloc");
		return NULL;
	}
	vm->loop = loop;
	vm->cfg = *cfg;
	snprintf(vm->name, sizeof(vm->name), "%s", cfg->name);
	vm->cfg.name = vm->name;
	snprintf(vm->log_ctx, sizeof(vm->log_ctx), "vm=%s", vm->name);
	lttng_hyper_channel_format(&cfg->uri, vm->channel, sizeof(vm->channel));
	vm->listener = lttng_hyper_channel_is_listener(&cfg->uri);
	vm->listen_fd = -1;
	vm->backoff_ms = LH_RECONNECT_MIN_MS;
	return vm;
}

int lh_vm_start(struct lh_vm *vm)
{
	if (!vm->listener) {
		INFO_CTX(vm->log_ctx, "connecting to %s", vm->channel);
		connect_channel(vm);
		return 0;
	}
	vm->listen_fd = lttng_hyper_channel_listen(&vm->cfg.uri);
	if (vm->listen_fd < 0) {
		lh_log_errno(vm->log_ctx, "cannot listen on %s", vm->channel);
		return -1;
	}
	vm->listen_watch = lh_loop_watch(vm->loop, vm->listen_fd, EPOLLIN, accept_cb, vm);
	if (!vm->listen_watch) {
		ERR_CTX(vm->log_ctx, "cannot watch %s", vm->channel);
		return -1;
	}
	INFO_CTX(vm->log_ctx, "listening on %s", vm->channel);
	return 0;
}

/*
 * The sessions and streams this VM owns died with lttng-relayd, and a new
 * one hands out the same ids again: the VM must start over on a new
 * channel connection, even when its connections are closed already.
 */
void lh_vm_relayd_lost(struct lh_vm *vm)
{
	if (!vm->mux || !vm->used_relayd) {
		return;
	}
	WARN_CTX(vm->log_ctx, "closing channel: lttng-relayd went away with this VM's sessions");
	channel_close(vm);
	if (!vm->listener) {
		schedule_reconnect(vm);
	}
}

void lh_vm_destroy(struct lh_vm *vm)
{
	if (!vm) {
		return;
	}
	if (vm->timer) {
		lh_timer_cancel(vm->timer);
	}
	channel_close(vm);
	if (vm->listen_watch) {
		lh_watch_remove(vm->listen_watch);
	}
	if (vm->listen_fd >= 0) {
		close_fd(vm, vm->listen_fd, "listening socket");
		/* The socket file is ours: leave no stale one behind. */
		if (vm->cfg.uri.type == LTTNG_HYPER_CHANNEL_UNIX_LISTEN &&
				unlink(vm->cfg.uri.path) < 0 && errno != ENOENT) {
			lh_log_errno(vm->log_ctx, "unlink %s", vm->cfg.uri.path);
		}
	}
	free(vm);
}
