/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyperd: the guest agent of lttng-hyper.
 *
 * It stands in for lttng-relayd on the guest's loopback: stock LTTng
 * connects its relayd control and data sockets to it, and it carries each
 * of them as a logical connection over one hyper channel to
 * lttng-hyper-relayd on the host. The multiplexer does the protocol work;
 * this file owns the listeners, the channel's life (connect, reconnect
 * with back-off) and the bounded stop.
 *
 * A guest that runs VMs of its own serves their hyper channels too
 * (--vm), as the host relay does, and carries their connections upward
 * on its own channel under their VM path: the child's name, which this
 * configuration gives, then whatever path the child gives a VM of its
 * own. Each child connection meets its upward twin through a socket
 * pair, so the credit flow control of both channels holds end to end. It
 * measures each child's clock and relays the estimate upward, with the
 * estimates the child relays for the VMs below it.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <popt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/daemon.h"
#include "common/defaults.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/mux.h"
#include "common/number.h"
#include "common/transport.h"
#include "common/vm-channel.h"
#include "index-ack.h"

#define PROGNAME		"lttng-hyperd"
/* On SIGTERM/SIGINT, give the host this long to take the queued trace data. */
#define STOP_TIMEOUT_MS		3000
/* How often a stopping agent checks whether the channel has drained. */
#define STOP_POLL_MS		10
/* Below this, scheduling delays in a busy guest alone would pass for a dead host. */
#define MIN_HOST_TIMEOUT_MS	100
/* Pings per host timeout, so one late pong is not taken for a stall. */
#define PINGS_PER_TIMEOUT	4
/* A child's clock estimate is relayed upward at most this often. */
#define CHILD_ESTIMATE_MS	250
/* Estimates a child may relay for the VMs below it, per second. */
#define CHILD_RELAYED_PER_S	32
/* The clocksource this system's timekeeping reads. */
#define CLOCKSOURCE_PATH	"/sys/devices/system/clocksource/clocksource0/current_clocksource"

struct hyperd;

/* A VM this guest runs, whose channel it serves (--vm). */
struct child {
	struct hyperd *hd;
	struct lh_vm_channel *vc;
	uint64_t est_sent_ms;		/* our estimate of its clock, last relayed */
	/* Estimates it relays for its own VMs: a bounded rate. */
	uint64_t relay_window_ms;
	unsigned int relayed_in_window;
};

/* One of the two relayd ports lttng-hyperd impersonates. */
struct listener {
	struct hyperd *hd;
	enum lttng_hyper_conn_kind kind;
	int fd;
	struct lh_watch *watch;
	/* Pending re-arm after accept() ran out of resources. */
	struct lh_timer *resume;
};

struct hyperd {
	struct lh_loop *loop;
	struct lttng_hyper_channel_uri channel;
	char log_ctx[sizeof("channel=") + 512];
	struct lh_mux_config mux_cfg;
	struct lh_mux *mux;
	/* The host's HELLO arrived on the current mux. */
	bool channel_up;
	/* Connects to the host with back-off, or listens for it (endpoint.h). */
	struct lh_endpoint *ep;
	/* Acknowledge indexes at once (index-ack.h): --early-index-ack. */
	bool early_index_ack;
	struct listener listeners[2];
	int sig_fd;
	struct lh_watch *sig_watch;
	bool stopping;
	uint64_t stop_deadline_ms;
	struct lh_timer *stop_timer;
	/* A fault stopped the loop: exit 1. */
	bool failed;
	struct child *children;
	unsigned int nr_children;
};

/* The command line; the strings are popt's copies, freed by free_options(). */
struct options {
	char *channel;
	char *control_url;
	char *data_url;
	char *pidfile;
	char *log;
	struct lh_vm_spec *vms;
	unsigned int nr_vms;
	uint64_t host_timeout_ms;
	int verbose;
	bool daemonize;
	bool early_index_ack;
};

enum {
	OPT_CHANNEL = 1,
	OPT_CONTROL_PORT,
	OPT_DATA_PORT,
	OPT_DAEMONIZE,
	OPT_VERBOSE,
	OPT_PIDFILE,
	OPT_LOG,
	OPT_HOST_TIMEOUT,
	OPT_VM,
	OPT_EARLY_INDEX_ACK,
	OPT_HELP,
	OPT_VERSION,
};

static const struct poptOption long_options[] = {
	{ "channel", 'c', POPT_ARG_STRING, NULL, OPT_CHANNEL, NULL, NULL },
	{ "control-port", 'C', POPT_ARG_STRING, NULL, OPT_CONTROL_PORT, NULL, NULL },
	{ "data-port", 'D', POPT_ARG_STRING, NULL, OPT_DATA_PORT, NULL, NULL },
	{ "daemonize", 'd', POPT_ARG_NONE, NULL, OPT_DAEMONIZE, NULL, NULL },
	{ "verbose", 'v', POPT_ARG_NONE, NULL, OPT_VERBOSE, NULL, NULL },
	{ "pidfile", '\0', POPT_ARG_STRING, NULL, OPT_PIDFILE, NULL, NULL },
	{ "log", '\0', POPT_ARG_STRING, NULL, OPT_LOG, NULL, NULL },
	{ "host-timeout", '\0', POPT_ARG_STRING, NULL, OPT_HOST_TIMEOUT, NULL, NULL },
	{ "vm", '\0', POPT_ARG_STRING, NULL, OPT_VM, NULL, NULL },
	{ "early-index-ack", '\0', POPT_ARG_NONE, NULL, OPT_EARLY_INDEX_ACK, NULL, NULL },
	{ "help", 'h', POPT_ARG_NONE, NULL, OPT_HELP, NULL, NULL },
	{ "version", 'V', POPT_ARG_NONE, NULL, OPT_VERSION, NULL, NULL },
	POPT_TABLEEND
};

static void children_stop(struct hyperd *hd);

/* Print the usage summary, as lttng-relayd --help would. */
static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROGNAME " [OPTION]...\n"
		"\n"
		"Guest agent of lttng-hyper: stands in for lttng-relayd on the guest's\n"
		"loopback and carries LTTng's relayd connections to the host over one\n"
		"hyper channel.\n"
		"\n"
		"Options:\n"
		"  -c, --channel=CHANNEL    Hyper channel to the host (default:\n"
		"                           " LTTNG_HYPER_DEFAULT_CHANNEL "),\n"
		"                           one of:\n");
	lh_transport_usage(out, LH_TRANSPORT_GUEST_END, 29);
	fprintf(out,
		"  -C, --control-port=URL   Listen for relayd control connections on URL\n"
		"                           (default: " LH_DEFAULT_CONTROL_URL ").\n"
		"  -D, --data-port=URL      Listen for relayd data connections on URL\n"
		"                           (default: " LH_DEFAULT_DATA_URL ").\n"
		"  -d, --daemonize          Start as a daemon; return once listening.\n"
		"  -v, --verbose            More log output (repeat for debug output).\n"
		"      --pidfile=PATH       Write the daemon's PID to PATH.\n"
		"      --log=PATH           Append log lines to PATH (daemon default:\n"
		"                           $LTTNG_HOME/.lttng/" PROGNAME ".log).\n"
		"      --host-timeout=MS    Give up on a silent host after MS milliseconds\n"
		"                           (default: %d).\n"
		"      --vm=NAME=CHANNEL    Also serve the hyper channel of VM NAME, which\n"
		"                           this guest runs, and carry its traces to the\n"
		"                           host as the nested VM NAME (repeatable).\n"
		"                           CHANNEL, one of:\n",
		LH_DEFAULT_HOST_TIMEOUT_MS);
	lh_transport_usage(out, LH_TRANSPORT_HOST_END, 29);
	fprintf(out,
		"      --early-index-ack    Answer each index packet at once instead of\n"
		"                           waiting for lttng-relayd's reply (fewer\n"
		"                           discarded events when the host is slow).\n"
		"  -h, --help               Show this help and exit.\n"
		"  -V, --version            Show the version and exit.\n"
		"\n"
		"URL format: tcp://ADDRESS:PORT\n"
		"\n"
		"In the guest: lttng create SESSION --set-url=net://127.0.0.1\n"
		"See " PROGNAME "(8) for details.\n");
}

/* Report a command-line error the way every LTTng tool does, and exit. */
static void __attribute__((noreturn, format(printf, 1, 2))) option_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ERR("%s", msg);
	fprintf(stderr, "Try '" PROGNAME " --help' for more information.\n");
	exit(EXIT_FAILURE);
}

/* Take ownership of a popt option argument, replacing an earlier one. */
static void set_string(char **dst, char *arg)
{
	free(*dst);
	*dst = arg;
}

/* Free the strings parse_options() kept. */
static void free_options(struct options *opts)
{
	free(opts->channel);
	free(opts->control_url);
	free(opts->data_url);
	free(opts->pidfile);
	free(opts->log);
	free(opts->vms);
}

/* Add a --vm; exits on a bad one. */
static void add_vm(struct options *opts, const char *arg)
{
	struct lh_vm_spec *vms;
	char err[512];
	unsigned int i;

	vms = realloc(opts->vms, (opts->nr_vms + 1) * sizeof(*vms));
	if (!vms) {
		option_error("--vm %s: out of memory", arg);
	}
	opts->vms = vms;
	if (lh_vm_spec_parse(arg, &vms[opts->nr_vms], err, sizeof(err)) < 0) {
		option_error("--vm %s: %s", arg, err);
	}
	for (i = 0; i < opts->nr_vms; i++) {
		if (lh_vm_spec_conflict(&vms[i], &vms[opts->nr_vms], err, sizeof(err))) {
			option_error("--vm %s: %s", arg, err);
		}
	}
	opts->nr_vms++;
}

/* Parse a --host-timeout value; exits on a bad one. */
static uint64_t parse_host_timeout(const char *arg)
{
	uint64_t ms;

	if (lh_parse_u64(arg, MIN_HOST_TIMEOUT_MS, UINT64_MAX, &ms) < 0) {
		option_error("--host-timeout: '%s' is not a number of milliseconds of at least %d",
				arg, MIN_HOST_TIMEOUT_MS);
	}
	return ms;
}

/* Parse the command line into opts; exits on --help, --version and errors. */
static void parse_options(int argc, const char **argv, struct options *opts)
{
	poptContext pc;
	char *arg;
	int opt;

	pc = poptGetContext(PROGNAME, argc, argv, long_options, 0);
	while ((opt = poptGetNextOpt(pc)) > 0) {
		switch (opt) {
		case OPT_CHANNEL:
			set_string(&opts->channel, poptGetOptArg(pc));
			break;
		case OPT_CONTROL_PORT:
			set_string(&opts->control_url, poptGetOptArg(pc));
			break;
		case OPT_DATA_PORT:
			set_string(&opts->data_url, poptGetOptArg(pc));
			break;
		case OPT_PIDFILE:
			set_string(&opts->pidfile, poptGetOptArg(pc));
			break;
		case OPT_LOG:
			set_string(&opts->log, poptGetOptArg(pc));
			break;
		case OPT_HOST_TIMEOUT:
			arg = poptGetOptArg(pc);
			opts->host_timeout_ms = parse_host_timeout(arg);
			free(arg);
			break;
		case OPT_VM:
			arg = poptGetOptArg(pc);
			add_vm(opts, arg);
			free(arg);
			break;
		case OPT_DAEMONIZE:
			opts->daemonize = true;
			break;
		case OPT_EARLY_INDEX_ACK:
			opts->early_index_ack = true;
			break;
		case OPT_VERBOSE:
			opts->verbose++;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_VERSION:
			printf(PROGNAME " (lttng-hyper) " PACKAGE_VERSION "\n");
			exit(EXIT_SUCCESS);
		}
	}
	if (opt < -1) {
		option_error("%s: %s", poptBadOption(pc, POPT_BADOPTION_NOALIAS),
				poptStrerror(opt));
	}
	if (poptPeekArg(pc)) {
		option_error("unexpected argument '%s'", poptPeekArg(pc));
	}
	poptFreeContext(pc);
}

/* Name of a connection kind, for the log. */
static const char *kind_str(enum lttng_hyper_conn_kind kind)
{
	return kind == LTTNG_HYPER_CONN_CONTROL ? "control" : "data";
}

/* A fault the agent cannot work around: leave the loop and exit 1. */
static void fatal_stop(struct hyperd *hd)
{
	hd->failed = true;
	lh_loop_stop(hd->loop);
}

/* The channel to the host is up and takes the VM paths of nested VMs. */
static bool upward_nested(const struct hyperd *hd)
{
	return hd->mux && lh_mux_peer_nested(hd->mux);
}

/* Relay our estimate of a child's clock to the host (unless sent just now). */
static void child_relay_own_estimate(struct child *c, bool force)
{
	struct lh_clock_probe *clk = lh_vm_channel_clock(c->vc);
	struct lttng_hyper_clock_estimate wire;
	struct lh_clock_estimate est;
	uint64_t now = lh_now_ms();

	if (!clk || !upward_nested(c->hd) || lh_clock_probe_estimate(clk, &est) < 0) {
		return;
	}
	if (!force && c->est_sent_ms && now - c->est_sent_ms < CHILD_ESTIMATE_MS) {
		return;
	}
	lh_clock_estimate_to_wire(&est, &wire);
	if (lh_mux_send_clock_estimate(c->hd->mux, lh_vm_channel_name(c->vc), &wire) == 0) {
		c->est_sent_ms = now;
	}
}

static int child_on_connect(struct lh_vm_channel *vc)
{
	struct child *c = lh_vm_channel_priv(vc);

	c->est_sent_ms = 0;
	return 0;
}

/*
 * The child opens a relayd connection, for itself or for a VM of its own
 * (path): carry it upward under the child's name. The mux of each side
 * owns one end of a socket pair.
 */
static int child_on_open(struct lh_vm_channel *vc, struct lh_mux_conn *conn,
		enum lttng_hyper_conn_kind kind, const char *path)
{
	struct child *c = lh_vm_channel_priv(vc);
	struct hyperd *hd = c->hd;
	const char *name = lh_vm_channel_name(vc);
	char upath[LTTNG_HYPER_PATH_MAX_LEN + 1];
	int sv[2];

	if (!upward_nested(hd)) {
		INFO_CTX(lh_vm_channel_log_ctx(vc), "refusing relayd %s connection of VM %s%s%s: %s",
			kind_str(kind), name, path[0] ? "/" : "", path,
			hd->mux && lh_mux_is_ready(hd->mux) ?
				"the host does not take nested VMs" : "no channel to the host");
		return -1;
	}
	if ((size_t) snprintf(upath, sizeof(upath), "%s%s%s", name, path[0] ? "/" : "",
			path) >= sizeof(upath)) {
		WARN_CTX(lh_vm_channel_log_ctx(vc), "refusing relayd %s connection of VM %s/%s: its VM path would exceed %d bytes",
			kind_str(kind), name, path, LTTNG_HYPER_PATH_MAX_LEN);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		lh_log_errno(lh_vm_channel_log_ctx(vc), "socketpair for a relayd connection of VM %s",
			upath);
		return -1;
	}
	/* The upward mux owns sv[1] from here on, even when it refuses it. */
	if (!lh_mux_open_path(hd->mux, kind, sv[1], upath)) {
		if (close(sv[0]) < 0) {
			PERROR("close socket pair");
		}
		return -1;
	}
	DBG_CTX(lh_vm_channel_log_ctx(vc), "conn %" PRIu32 ": relayd %s connection of VM %s carried upward",
		lh_mux_conn_id(conn), kind_str(kind), upath);
	return sv[0];
}

/* The child relays the clock of a VM of its own: pass it on, under the child's name. */
static void child_on_clock_estimate(struct lh_vm_channel *vc, const char *path,
		const struct lttng_hyper_clock_estimate *est)
{
	struct child *c = lh_vm_channel_priv(vc);
	char upath[LTTNG_HYPER_PATH_MAX_LEN + 1];
	uint64_t now = lh_now_ms();

	if (now - c->relay_window_ms >= 1000) {
		c->relay_window_ms = now;
		c->relayed_in_window = 0;
	}
	if (c->relayed_in_window >= CHILD_RELAYED_PER_S) {
		DBG_CTX(lh_vm_channel_log_ctx(vc), "clock estimate of VM %s dropped: over %d a second",
			path, CHILD_RELAYED_PER_S);
		return;
	}
	c->relayed_in_window++;
	if (!upward_nested(c->hd) || (size_t) snprintf(upath, sizeof(upath), "%s/%s",
			lh_vm_channel_name(vc), path) >= sizeof(upath)) {
		return;
	}
	lh_mux_send_clock_estimate(c->hd->mux, upath, est);
}

static void child_on_estimate(struct lh_vm_channel *vc)
{
	child_relay_own_estimate(lh_vm_channel_priv(vc), false);
}

static const struct lh_vm_channel_ops child_ops = {
	.on_connect = child_on_connect,
	.on_open = child_on_open,
	.on_clock_estimate = child_on_clock_estimate,
	.on_estimate = child_on_estimate,
};

/* The host's HELLO arrived: relayd connections can be carried from now on. */
static void on_ready(struct lh_mux *mux, const struct lttng_hyper_hello *peer)
{
	struct hyperd *hd = lh_mux_get_priv(mux);
	unsigned int i;

	INFO_CTX(hd->log_ctx, "channel up, host calls this VM '%s'", peer->name);
	hd->channel_up = true;
	lh_endpoint_peer_alive(hd->ep);
	if (hd->nr_children && !(peer->caps & LTTNG_HYPER_CAP_NESTED)) {
		WARN_CTX(hd->log_ctx, "the host does not take nested VMs: the VMs this guest serves are not traced");
	}
	/* A new host connection knows nothing of the children's clocks yet. */
	for (i = 0; i < hd->nr_children; i++) {
		child_relay_own_estimate(&hd->children[i], true);
	}
}

/* A logical connection ended (closed by either side, or reset). */
static void on_conn_closed(struct lh_mux *mux, struct lh_mux_conn *conn)
{
	struct hyperd *hd = lh_mux_get_priv(mux);

	DBG_CTX(hd->log_ctx, "relayd %s connection %u closed",
			kind_str(lh_mux_conn_kind(conn)), lh_mux_conn_id(conn));
}

/*
 * The channel failed. The mux has already closed every relayd socket, so
 * sessiond and consumerd see their relay go away instead of hanging; a
 * fresh mux replaces this one on the next channel connection.
 */
static void on_channel_error(struct lh_mux *mux, const char *why)
{
	struct hyperd *hd = lh_mux_get_priv(mux);
	char what[512];

	/* why may live in the mux: keep a copy before destroying it. */
	snprintf(what, sizeof(what), "%s: %s", hd->channel_up ?
			"channel lost" : "channel closed before the handshake", why);
	lh_mux_destroy(mux);
	hd->mux = NULL;
	hd->channel_up = false;
	if (hd->stopping) {
		WARN_CTX(hd->log_ctx, "%s, while stopping", what);
		lh_loop_stop(hd->loop);
		return;
	}
	WARN_CTX(hd->log_ctx, "%s", what);
	lh_endpoint_conn_lost(hd->ep);
}

static const struct lh_mux_ops mux_ops = {
	.on_ready = on_ready,
	.on_conn_closed = on_conn_closed,
	.on_channel_error = on_channel_error,
};

/*
 * A channel connection (endpoint.h): start a mux on it. A listening
 * channel's new connection replaces the current one, since a host that
 * reconnects does so before the old connection is known to be dead.
 */
static int channel_conn_cb(struct lh_endpoint *ep, int fd, void *arg)
{
	struct hyperd *hd = arg;

	if (hd->mux) {
		INFO_CTX(hd->log_ctx, "new channel connection replaces the current one");
		lh_mux_destroy(hd->mux);
		hd->mux = NULL;
		hd->channel_up = false;
	}
	hd->mux = lh_mux_create(hd->loop, fd, &hd->mux_cfg, &mux_ops, hd);
	if (!hd->mux) {
		/* The mux takes the fd only when it starts. */
		if (close(fd) < 0) {
			PERROR("close channel");
		}
		WARN_CTX(hd->log_ctx, "cannot start the multiplexer on the channel");
		return -1;
	}
	DBG_CTX(hd->log_ctx, "channel open, waiting for the host's HELLO");
	return 0;
}

static void listener_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg);

/* Watch a listener again once the accept() fault has had time to clear. */
static void listener_resume(struct lh_timer *timer, void *arg)
{
	struct listener *l = arg;

	l->resume = NULL;
	l->watch = lh_loop_watch(l->hd->loop, l->fd, EPOLLIN, listener_cb, l);
	if (!l->watch) {
		ERR("cannot watch the relayd %s listener again", kind_str(l->kind));
		fatal_stop(l->hd);
	}
}

/*
 * accept() failed for want of resources (EMFILE, ENOBUFS...). The pending
 * connection stays queued and the listener stays readable, so stop
 * watching it for a while instead of spinning on it.
 */
static void listener_pause(struct listener *l)
{
	lh_watch_remove(l->watch);
	l->watch = NULL;
	l->resume = lh_loop_timer(l->hd->loop, LH_RECONNECT_MAX_MS, listener_resume, l);
	if (!l->resume) {
		ERR("cannot arm the timer of the relayd %s listener", kind_str(l->kind));
		fatal_stop(l->hd);
	}
}

/* Index acknowledgement on a control connection (index-ack.h). */
static enum lh_filter_verdict ack_from_local(struct lh_mux_conn *conn, const uint8_t *buf,
		size_t len, struct lh_buf *out, char *err, size_t errlen)
{
	uint8_t reply[LH_INDEX_ACK_REPLY_LEN];
	unsigned int acks;

	acks = lh_index_ack_from_guest(lh_mux_conn_get_priv(conn), buf, len);
	lh_index_ack_reply(reply);
	while (acks--) {
		if (lh_mux_conn_queue_local(conn, reply, sizeof(reply)) < 0) {
			snprintf(err, errlen, "out of memory for an index acknowledgement");
			return LH_FILTER_ERROR;
		}
	}
	return LH_FILTER_PASS;
}

static enum lh_filter_verdict ack_from_peer(struct lh_mux_conn *conn, const uint8_t *buf,
		size_t len, struct lh_buf *out, char *err, size_t errlen)
{
	if (lh_index_ack_from_host(lh_mux_conn_get_priv(conn), buf, len, out, err, errlen) < 0) {
		return LH_FILTER_RESET;
	}
	return LH_FILTER_CONSUMED;
}

static void ack_release(struct lh_mux_conn *conn)
{
	lh_index_ack_destroy(lh_mux_conn_get_priv(conn));
}

static const struct lh_mux_filter index_ack_filter = {
	.from_peer = ack_from_peer,
	.from_local = ack_from_local,
	.release = ack_release,
};

/* A relayd connection from sessiond or consumerd: carry it to the host. */
static void carry_connection(struct listener *l, int fd)
{
	struct hyperd *hd = l->hd;
	struct lh_mux_conn *conn;
	const int one = 1;

	if (!hd->mux || !lh_mux_is_ready(hd->mux)) {
		/* Closing at once makes lttng in the guest fail fast, not hang. */
		INFO_CTX(hd->log_ctx, "no channel to the host: refusing relayd connection (%s)",
				kind_str(l->kind));
		if (close(fd) < 0) {
			PERROR("close relayd %s connection", kind_str(l->kind));
		}
		return;
	}
	/* Control commands are small request/reply exchanges. */
	if (l->kind == LTTNG_HYPER_CONN_CONTROL &&
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		PERROR("setsockopt TCP_NODELAY on a relayd control connection");
	}
	conn = lh_mux_open(hd->mux, l->kind, fd);
	if (!conn) {
		/* The mux closed fd, and logged the limit or reports the channel error. */
		return;
	}
	if (l->kind == LTTNG_HYPER_CONN_CONTROL && hd->early_index_ack) {
		struct lh_index_ack *ia = lh_index_ack_create();

		if (ia) {
			lh_mux_conn_set_priv(conn, ia);
			lh_mux_conn_set_filter(conn, &index_ack_filter);
		} else {
			WARN_CTX(hd->log_ctx, "out of memory: the indexes of a relayd control connection wait for lttng-relayd");
		}
	}
	DBG_CTX(hd->log_ctx, "carrying a relayd %s connection", kind_str(l->kind));
}

/* A listener is readable: take one connection (the loop is level-triggered). */
static void listener_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	struct listener *l = arg;
	int cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		/* The client gave up before we took it, or a signal interrupted us. */
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
				errno == ECONNABORTED) {
			return;
		}
		PERROR("accept relayd %s connection", kind_str(l->kind));
		listener_pause(l);
		return;
	}
	carry_connection(l, cfd);
}

/* Stop taking relayd connections: lttng in the guest then fails at once. */
static void listeners_close(struct hyperd *hd)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		struct listener *l = &hd->listeners[i];

		if (l->watch) {
			lh_watch_remove(l->watch);
			l->watch = NULL;
		}
		if (l->resume) {
			lh_timer_cancel(l->resume);
			l->resume = NULL;
		}
		if (l->fd >= 0) {
			if (close(l->fd) < 0) {
				PERROR("close relayd %s listener", kind_str(l->kind));
			}
			l->fd = -1;
		}
	}
}

/* While stopping: leave once the host has everything, or the time is up. */
static void stop_poll(struct lh_timer *timer, void *arg)
{
	struct hyperd *hd = arg;

	hd->stop_timer = NULL;
	if (!hd->mux || lh_mux_flushed(hd->mux)) {
		DBG_CTX(hd->log_ctx, "channel drained");
		lh_loop_stop(hd->loop);
		return;
	}
	if (lh_now_ms() >= hd->stop_deadline_ms) {
		WARN_CTX(hd->log_ctx, "the host did not take the queued data within %d ms: dropping it",
				STOP_TIMEOUT_MS);
		lh_loop_stop(hd->loop);
		return;
	}
	hd->stop_timer = lh_loop_timer(hd->loop, STOP_POLL_MS, stop_poll, hd);
	if (!hd->stop_timer) {
		ERR_CTX(hd->log_ctx, "cannot arm the stop timer: stopping now");
		lh_loop_stop(hd->loop);
	}
}

/*
 * SIGTERM or SIGINT: refuse new relayd connections, let the mux send what
 * it holds and close every connection, and give the host a bounded time to
 * take it. A second signal stops at once.
 */
static void begin_stop(struct hyperd *hd)
{
	if (hd->stopping) {
		INFO("second stop signal: stopping now");
		lh_loop_stop(hd->loop);
		return;
	}
	INFO("stopping");
	hd->stopping = true;
	listeners_close(hd);
	children_stop(hd);
	/* No new channel connection: the current one drains, or we stop. */
	lh_endpoint_destroy(hd->ep);
	hd->ep = NULL;
	if (!hd->mux || !lh_mux_is_ready(hd->mux)) {
		lh_loop_stop(hd->loop);
		return;
	}
	lh_mux_shutdown(hd->mux);
	hd->stop_deadline_ms = lh_now_ms() + STOP_TIMEOUT_MS;
	stop_poll(NULL, hd);
}

/* Drain the signalfd. */
static void signal_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	struct hyperd *hd = arg;
	struct signalfd_siginfo si;
	ssize_t ret;

	for (;;) {
		ret = read(fd, &si, sizeof(si));
		if (ret < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				PERROR("read signalfd");
				fatal_stop(hd);
			}
			return;
		}
		if (ret != sizeof(si)) {
			ERR("short read on signalfd: %zd bytes", ret);
			fatal_stop(hd);
			return;
		}
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			begin_stop(hd);
			break;
		case SIGHUP:
			INFO("SIGHUP ignored: there is no configuration to reload");
			break;
		default:
			DBG("signal %u ignored", si.ssi_signo);
			break;
		}
	}
}

/* Bind one relayd listener at start-up; exits on failure. */
static void listener_bind(struct hyperd *hd, struct listener *l,
		enum lttng_hyper_conn_kind kind, const char *url, const char *option)
{
	char host[256], err[256];
	uint16_t port;

	l->hd = hd;
	l->kind = kind;
	if (lttng_hyper_tcp_url_parse(url, host, sizeof(host), &port, err, sizeof(err)) < 0) {
		option_error("%s: %s", option, err);
	}
	l->fd = lttng_hyper_tcp_listen(host, port);
	if (l->fd < 0) {
		ERR("cannot listen for relayd %s connections on %s: %s%s", kind_str(kind),
				url, strerror(errno),
				errno == EADDRINUSE ? " (is an lttng-relayd or another "
					PROGNAME " running?)" : "");
		exit(EXIT_FAILURE);
	}
}

/* Send the log to --log, or for a daemon to $LTTNG_HOME/.lttng/lttng-hyperd.log. */
static int setup_log_file(const struct options *opts)
{
	char *dir = NULL, *path = NULL;
	int ret = -1;

	if (opts->log) {
		if (lh_log_set_file(opts->log) < 0) {
			PERROR("open log file %s", opts->log);
			goto end;
		}
		ret = 0;
		goto end;
	}
	if (!opts->daemonize) {
		ret = 0;
		goto end;
	}
	if (asprintf(&dir, "%s/.lttng", lh_lttng_home()) < 0) {
		PERROR("asprintf");
		dir = NULL;
		goto end;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		PERROR("create directory %s", dir);
		goto end;
	}
	if (asprintf(&path, "%s/" PROGNAME ".log", dir) < 0) {
		PERROR("asprintf");
		path = NULL;
		goto end;
	}
	if (lh_log_set_file(path) < 0) {
		PERROR("open log file %s", path);
		goto end;
	}
	ret = 0;
end:
	free(dir);
	free(path);
	return ret;
}

/*
 * KVM keeps a master clock for its VMs only when this system's clocksource
 * is the TSC. Without one, it sets a VM's kvm-clock anew from this system's
 * clock and TSC at each update, read one after the other, so the VM's clock
 * steps by however long that took (milliseconds under TCG, where an HPET
 * read waits for QEMU's lock). The probes, a few a second, do not see such
 * steps: say so before the children's clocks are corrected.
 */
static void children_check_clocksource(void)
{
	char name[64] = "";
	FILE *f;

	f = fopen(CLOCKSOURCE_PATH, "r");
	if (!f) {
		DBG("cannot read %s: %s", CLOCKSOURCE_PATH, strerror(errno));
		return;
	}
	if (fgets(name, sizeof(name), f)) {
		name[strcspn(name, "\n")] = '\0';
	}
	fclose(f);
	if (!strcmp(name, "tsc") || !strcmp(name, "hyperv_clocksource_tsc_page")) {
		return;
	}
	WARN("This system's clocksource is '%s', not the TSC: its KVM keeps no master clock,"
		" so the clocks of the VMs it runs (--vm) may step at each kvm-clock update and"
		" their clock correction may err beyond its bound. If this system's TSC is"
		" synchronized (under TCG it is), boot it with tsc=reliable", name);
}

/* Serve the channels of the VMs this guest runs (--vm). */
static int children_start(struct hyperd *hd, const struct options *opts)
{
	unsigned int i;

	if (!opts->nr_vms) {
		return 0;
	}
	children_check_clocksource();
	hd->children = calloc(opts->nr_vms, sizeof(*hd->children));
	if (!hd->children) {
		PERROR("calloc");
		return -1;
	}
	for (i = 0; i < opts->nr_vms; i++) {
		const struct lh_vm_channel_config cfg = {
			.name = opts->vms[i].name,
			.uri = opts->vms[i].uri,
			/* A child waits on the host no longer than we do. */
			.stall_timeout_ms = opts->host_timeout_ms,
			.max_conns = LH_DEFAULT_MAX_CONNS,
		};
		struct child *c = &hd->children[i];

		c->hd = hd;
		c->vc = lh_vm_channel_create(hd->loop, &cfg, &child_ops, c);
		if (!c->vc) {
			return -1;
		}
		hd->nr_children++;
		if (lh_vm_channel_start(c->vc) < 0) {
			return -1;
		}
	}
	return 0;
}

static void children_stop(struct hyperd *hd)
{
	unsigned int i;

	for (i = 0; i < hd->nr_children; i++) {
		lh_vm_channel_destroy(hd->children[i].vc);
	}
	free(hd->children);
	hd->children = NULL;
	hd->nr_children = 0;
}

/* Everything that may fail after start-up: the loop, signals, the channel. */
static int start(struct hyperd *hd, const struct options *opts)
{
	struct lh_endpoint_config ep_cfg = {
		.uri = hd->channel,
		.log_ctx = hd->log_ctx,
		.label = hd->log_ctx + strlen("channel="),
		.owner = "this guest's tracing",
	};
	size_t i;
	int ret = -1;

	hd->loop = lh_loop_create();
	if (!hd->loop) {
		ERR("cannot create the event loop");
		goto end;
	}
	hd->ep = lh_endpoint_create(hd->loop, &ep_cfg, channel_conn_cb, hd);
	if (!hd->ep) {
		goto end;
	}
	hd->sig_fd = lh_signalfd_create();
	if (hd->sig_fd < 0) {
		goto end;
	}
	hd->sig_watch = lh_loop_watch(hd->loop, hd->sig_fd, EPOLLIN, signal_cb, hd);
	if (!hd->sig_watch) {
		ERR("cannot watch the signalfd");
		goto end;
	}
	for (i = 0; i < 2; i++) {
		struct listener *l = &hd->listeners[i];

		l->watch = lh_loop_watch(hd->loop, l->fd, EPOLLIN, listener_cb, l);
		if (!l->watch) {
			ERR("cannot watch the relayd %s listener", kind_str(l->kind));
			goto end;
		}
	}
	INFO("listening for relayd control connections on %s and data connections on %s",
			opts->control_url ? opts->control_url : LH_DEFAULT_CONTROL_URL,
			opts->data_url ? opts->data_url : LH_DEFAULT_DATA_URL);
	if (lh_endpoint_start(hd->ep) < 0) {
		goto end;
	}
	if (children_start(hd, opts) < 0) {
		goto end;
	}
	ret = 0;
end:
	return ret;
}

/* Release what start() and the loop left behind. */
static void cleanup(struct hyperd *hd)
{
	children_stop(hd);
	listeners_close(hd);
	if (hd->mux) {
		lh_mux_destroy(hd->mux);
		hd->mux = NULL;
	}
	if (hd->ep) {
		lh_endpoint_destroy(hd->ep);
	}
	if (hd->stop_timer) {
		lh_timer_cancel(hd->stop_timer);
	}
	if (hd->sig_watch) {
		lh_watch_remove(hd->sig_watch);
	}
	if (hd->sig_fd >= 0 && close(hd->sig_fd) < 0) {
		PERROR("close signalfd");
	}
	if (hd->loop) {
		lh_loop_destroy(hd->loop);
	}
}

int main(int argc, const char **argv)
{
	struct options opts = { .host_timeout_ms = LH_DEFAULT_HOST_TIMEOUT_MS };
	struct hyperd hd = { .sig_fd = -1 };
	int status = EXIT_FAILURE;
	char channel_str[sizeof(hd.log_ctx) - sizeof("channel=")];
	char err[256], kinds[256];
	char *pidfile = NULL;
	int pidfile_fd = -1;

	hd.listeners[0].fd = -1;
	hd.listeners[1].fd = -1;
	lh_log_init(PROGNAME);
	parse_options(argc, argv, &opts);
	lh_log_set_level(LH_LOG_INFO + opts.verbose);

	if (lttng_hyper_channel_parse(opts.channel ? opts.channel : LTTNG_HYPER_DEFAULT_CHANNEL,
			&hd.channel, err, sizeof(err)) < 0) {
		option_error("--channel: %s", err);
	}
	if (!(hd.channel.transport->ends & LH_TRANSPORT_GUEST_END)) {
		lh_transport_syntaxes(LH_TRANSPORT_GUEST_END, kinds, sizeof(kinds));
		option_error("--channel: %s is lttng-hyper-relayd's end of a channel; the guest agent takes %s",
			hd.channel.transport->syntax, kinds);
	}
	/* The agent runs from /: a relative socket path must not move. */
	if (hd.channel.transport->absolute &&
			hd.channel.transport->absolute(&hd.channel, err, sizeof(err)) < 0) {
		option_error("--channel: %s", err);
	}
	lttng_hyper_channel_format(&hd.channel, channel_str, sizeof(channel_str));
	snprintf(hd.log_ctx, sizeof(hd.log_ctx), "channel=%s", channel_str);

	lh_mux_config_init(&hd.mux_cfg, LH_MUX_GUEST);
	hd.mux_cfg.log_ctx = hd.log_ctx;
	hd.mux_cfg.stall_timeout_ms = opts.host_timeout_ms;
	hd.early_index_ack = opts.early_index_ack;
	/* A short host timeout needs pings often enough to tell a stall. */
	if (hd.mux_cfg.ping_interval_ms > opts.host_timeout_ms / PINGS_PER_TIMEOUT) {
		hd.mux_cfg.ping_interval_ms = opts.host_timeout_ms / PINGS_PER_TIMEOUT;
	}

	/* Bind before daemonizing, so a taken port is reported on the terminal. */
	listener_bind(&hd, &hd.listeners[0], LTTNG_HYPER_CONN_CONTROL,
			opts.control_url ? opts.control_url : LH_DEFAULT_CONTROL_URL,
			"--control-port");
	listener_bind(&hd, &hd.listeners[1], LTTNG_HYPER_CONN_DATA,
			opts.data_url ? opts.data_url : LH_DEFAULT_DATA_URL,
			"--data-port");

	if (opts.pidfile) {
		pidfile = lh_absolute_path(opts.pidfile);
		if (!pidfile) {
			goto end;
		}
	}
	if (setup_log_file(&opts) < 0) {
		goto end;
	}
	if (opts.daemonize && lh_daemonize() < 0) {
		goto end;
	}
	if (pidfile) {
		pidfile_fd = lh_pidfile_write(pidfile);
		if (pidfile_fd < 0) {
			goto end;
		}
	}
	if (start(&hd, &opts) < 0) {
		goto end;
	}
	lh_daemon_ready();

	if (lh_loop_run(hd.loop) < 0) {
		ERR("event loop failed");
	} else if (!hd.failed) {
		status = EXIT_SUCCESS;
	}
	INFO("stopped");
end:
	cleanup(&hd);
	if (pidfile_fd >= 0) {
		lh_pidfile_remove(pidfile, pidfile_fd);
	}
	free(pidfile);
	free_options(&opts);
	return status;
}
