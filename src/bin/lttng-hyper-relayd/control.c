/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The relay's control socket: what lttng-hyper status and top show.
 *
 * A local unix socket, mode 0600, that only root (and the relay's own
 * user) may use: the peer's credentials are checked on each connection,
 * whatever the file's mode. A client writes one line, "status", and reads
 * one JSON object until EOF (doc/man/lttng-hyper-relayd.8). Anything
 * else, and a client too slow to ask, get {"error": ...} and EOF: the
 * socket never holds the relay up, and a client never learns more than
 * the status.
 *
 * The last warning or error logged about each VM (its log context
 * "vm=NAME") is kept here for the status, from the log's hook.
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <lttng-hyper/channel.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/transport.h"
#include "control.h"
#include "vm.h"

/* The request is one short line; the client has this long to send it. */
#define REQUEST_MAX		64
#define REQUEST_TIMEOUT_MS	2000
/*
 * After the reply, what the client still sends is read and dropped for
 * this long, or this much: closing with unread bytes would reset the
 * connection, and the client could lose the reply.
 */
#define DRAIN_TIMEOUT_MS	1000
#define DRAIN_MAX		65536
#define PERMISSION_DENIED	"permission denied: only root may read the relay's status"
/* Clients served at once; more wait in the backlog. */
#define MAX_CLIENTS		16
#define STATUS_VERSION		1
#define JSON_STRING_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct client {
	struct lh_relay_control *ctl;
	int fd;
	struct lh_watch *watch;
	struct lh_timer *timer;
	char req[REQUEST_MAX + 1];
	size_t req_len;
	char *reply;			/* once the request is judged */
	size_t reply_len, sent;
	bool refused;			/* not root: whatever it asks, it is told so */
	size_t drained;			/* bytes dropped after the reply */
};

struct last_error {
	char msg[512];
	uint64_t ms;			/* lh_now_ms(); 0: none */
};

struct lh_relay_control {
	struct lh_loop *loop;
	const struct lh_relay_control_source *src;
	char *path;
	int fd;
	struct lh_watch *watch;
	struct client *clients[MAX_CLIENTS];
	unsigned int nr_clients;
	struct last_error *vm_errors;	/* one per src->vms, by index */
	struct last_error relay_error;	/* logged with no VM */
	uint64_t start_ms;
};

static void client_free(struct client *c)
{
	struct lh_relay_control *ctl = c->ctl;
	unsigned int i;

	for (i = 0; i < ctl->nr_clients; i++) {
		if (ctl->clients[i] == c) {
			ctl->clients[i] = ctl->clients[--ctl->nr_clients];
			break;
		}
	}
	lh_watch_remove(c->watch);
	lh_timer_cancel(c->timer);
	if (close(c->fd) < 0) {
		PERROR("close control client");
	}
	free(c->reply);
	free(c);
}

static double seconds_since(uint64_t then_ms, uint64_t now_ms)
{
	return now_ms > then_ms ? (double) (now_ms - then_ms) / 1000.0 : 0.0;
}

static int add(json_object *obj, const char *key, json_object *val)
{
	if (!val || json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

/* JSON's null (json-c's NULL object). */
static int add_null(json_object *obj, const char *key)
{
	return json_object_object_add(obj, key, NULL);
}

static int add_error(json_object *obj, const char *key, const struct last_error *e,
		uint64_t now_ms)
{
	json_object *err;

	if (!e || !e->ms) {
		return add_null(obj, key);
	}
	err = json_object_new_object();
	if (add(obj, key, err) < 0) {
		return -1;
	}
	return add(err, "message", json_object_new_string(e->msg)) < 0 ||
		add(err, "age_s", json_object_new_double(seconds_since(e->ms, now_ms))) < 0 ?
		-1 : 0;
}

struct vm_walk {
	json_object *array;
	const struct last_error *error;	/* of the channel's VM */
	uint64_t now_ms;
	int ret;
};

/* A nested VM's bytes are held on its channel's account. */
static int add_memory(json_object *obj, const struct lh_vm_report *r, bool nested)
{
	json_object *mem;

	if (nested) {
		return add_null(obj, "memory");
	}
	mem = json_object_new_object();
	if (add(obj, "memory", mem) < 0 ||
			add(mem, "held", json_object_new_uint64(r->mem.used)) < 0 ||
			add(mem, "peak", json_object_new_uint64(r->mem.peak)) < 0 ||
			add(mem, "limit", json_object_new_uint64(r->mem.limit)) < 0) {
		return -1;
	}
	return 0;
}

/* Likewise for the disk; a limit of 0 is none. */
static int add_disk(json_object *obj, const struct lh_vm_report *r, bool nested)
{
	json_object *disk;

	if (nested) {
		return add_null(obj, "disk");
	}
	disk = json_object_new_object();
	if (add(obj, "disk", disk) < 0 ||
			add(disk, "used", json_object_new_uint64(r->disk_used)) < 0 ||
			add(disk, "limit", json_object_new_uint64(r->disk_limit)) < 0) {
		return -1;
	}
	return 0;
}

static int add_clock(json_object *obj, const struct lh_vm_report *r)
{
	json_object *clk;

	if (!r->have_clock) {
		return add_null(obj, "clock");
	}
	clk = json_object_new_object();
	if (add(obj, "clock", clk) < 0) {
		return -1;
	}
	/* The offset at the estimate's reference point: host minus guest. */
	return add(clk, "offset_ns", json_object_new_int64(
			(int64_t) (r->clock.ref_host_ns - r->clock.ref_guest_ns))) < 0 ||
		add(clk, "error_ns", json_object_new_uint64(r->clock.error_ns)) < 0 ||
		add(clk, "drift_ppm", json_object_new_double(r->clock.drift * 1e6)) < 0 ? -1 : 0;
}

static void vm_json(const struct lh_vm_report *r, void *arg)
{
	struct vm_walk *w = arg;
	bool nested = r->depth > 0;
	json_object *obj;
	const char *state;
	double state_s;

	if (w->ret < 0) {
		return;
	}
	if (nested) {
		state = r->banned ? "banned" : "up";
		state_s = 0;
	} else {
		state = r->channel.state;
		state_s = seconds_since(r->channel.state_ms, w->now_ms);
	}
	obj = json_object_new_object();
	if (!obj || json_object_array_add(w->array, obj) < 0) {
		json_object_put(obj);
		w->ret = -1;
		return;
	}
	if (add(obj, "name", json_object_new_string(r->name)) < 0 ||
			(nested ? add(obj, "parent", json_object_new_string(r->parent)) :
				add_null(obj, "parent")) < 0 ||
			add(obj, "depth", json_object_new_int((int) r->depth)) < 0 ||
			(nested ? add_null(obj, "channel") :
				add(obj, "channel", json_object_new_string(r->channel.channel))) < 0 ||
			add(obj, "state", json_object_new_string(state)) < 0 ||
			add(obj, "state_s", json_object_new_double(state_s)) < 0 ||
			add(obj, "ups", json_object_new_uint64(nested ? 0 : r->channel.ups)) < 0 ||
			add(obj, "connections", json_object_new_int((int) r->stats.conns)) < 0 ||
			add(obj, "sessions", json_object_new_int((int) r->sessions)) < 0 ||
			add(obj, "streams", json_object_new_int((int) r->streams)) < 0 ||
			add(obj, "bytes_in", json_object_new_uint64(r->stats.bytes_in)) < 0 ||
			add(obj, "packets", json_object_new_uint64(r->stats.packets)) < 0 ||
			add(obj, "events_discarded",
				json_object_new_uint64(r->stats.events_discarded)) < 0 ||
			add_memory(obj, r, nested) < 0 ||
			add_disk(obj, r, nested) < 0 ||
			add_clock(obj, r) < 0 ||
			/* Nested VMs' faults are logged under their channel's VM. */
			add_error(obj, "last_error", nested ? NULL : w->error, w->now_ms) < 0) {
		w->ret = -1;
	}
}

/* The whole status, as one JSON text; NULL when out of memory. */
static char *status_json(struct lh_relay_control *ctl)
{
	const struct lh_relay_control_source *src = ctl->src;
	struct vm_walk w = { .now_ms = lh_now_ms() };
	json_object *root, *relay, *vms;
	struct timespec rt;
	char *text = NULL;
	unsigned int i;

	clock_gettime(CLOCK_REALTIME, &rt);
	root = json_object_new_object();
	if (!root) {
		return NULL;
	}
	/* add() gives each new object to its parent, or frees it. */
	relay = json_object_new_object();
	if (add(root, "version", json_object_new_int(STATUS_VERSION)) < 0 ||
			add(root, "relay", relay) < 0) {
		goto end;
	}
	vms = json_object_new_array();
	if (add(root, "vms", vms) < 0) {
		goto end;
	}
	if (add(relay, "pid", json_object_new_int((int) getpid())) < 0 ||
			add(relay, "package_version", json_object_new_string(PACKAGE_VERSION)) < 0 ||
			add(relay, "uptime_s",
				json_object_new_double(seconds_since(ctl->start_ms, w.now_ms))) < 0 ||
			add(relay, "time_ns", json_object_new_uint64(
				(uint64_t) rt.tv_sec * 1000000000ULL + (uint64_t) rt.tv_nsec)) < 0 ||
			add(relay, "monotonic_ns", json_object_new_uint64(lh_now_ns())) < 0 ||
			(src->output ? add(relay, "output", json_object_new_string(src->output)) :
				add_null(relay, "output")) < 0 ||
			add(relay, "relayd", json_object_new_string(src->relayd_state)) < 0 ||
			add_error(relay, "last_error", &ctl->relay_error, w.now_ms) < 0) {
		goto end;
	}
	w.array = vms;
	for (i = 0; i < src->nr_vms && !w.ret; i++) {
		w.error = &ctl->vm_errors[i];
		lh_vm_report(src->vms[i], vm_json, &w);
	}
	if (!w.ret) {
		text = strdup(json_object_to_json_string_ext(root, JSON_STRING_FLAGS));
	}
end:
	json_object_put(root);
	return text;
}

static char *error_reply(const char *msg)
{
	json_object *obj = json_object_new_object();
	char *text = NULL;

	if (obj && !add(obj, "error", json_object_new_string(msg))) {
		text = strdup(json_object_to_json_string_ext(obj, JSON_STRING_FLAGS));
	}
	json_object_put(obj);
	return text;
}

/* A client that neither takes its reply nor closes, in time, goes. */
static void client_gone_cb(struct lh_timer *timer, void *arg)
{
	struct client *c = arg;

	c->timer = NULL;
	client_free(c);
}

/* The reply is sent: say so with EOF, and wait (bounded) for the client's. */
static void client_drain(struct client *c)
{
	if (shutdown(c->fd, SHUT_WR) < 0 || lh_watch_set_events(c->watch, EPOLLIN) < 0) {
		client_free(c);
		return;
	}
	lh_timer_cancel(c->timer);
	c->timer = lh_loop_timer(c->ctl->loop, DRAIN_TIMEOUT_MS, client_gone_cb, c);
	if (!c->timer) {
		client_free(c);
	}
}

/* Send what is left of the reply; done, the client drains; failed, it goes. */
static void client_send(struct client *c)
{
	while (c->sent < c->reply_len) {
		ssize_t n = send(c->fd, c->reply + c->sent, c->reply_len - c->sent,
			MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (lh_watch_set_events(c->watch, EPOLLOUT) < 0) {
				break;
			}
			return;
		}
		if (n < 0) {
			DBG("control socket: send: %s", strerror(errno));
			break;
		}
		c->sent += (size_t) n;
	}
	if (c->sent == c->reply_len) {
		client_drain(c);
		return;
	}
	client_free(c);
}

static void client_reply(struct client *c, char *reply)
{
	lh_timer_cancel(c->timer);
	c->timer = NULL;
	if (!reply) {
		ERR("control socket: out of memory for a reply");
		client_free(c);
		return;
	}
	c->reply = reply;
	c->reply_len = strlen(reply);
	c->timer = lh_loop_timer(c->ctl->loop, REQUEST_TIMEOUT_MS, client_gone_cb, c);
	if (!c->timer) {
		client_free(c);
		return;
	}
	client_send(c);
}

static void client_judge(struct client *c)
{
	char *nl = memchr(c->req, '\n', c->req_len);

	*nl = '\0';
	if (nl > c->req && nl[-1] == '\r') {
		nl[-1] = '\0';
	}
	if (c->refused) {
		client_reply(c, error_reply(PERMISSION_DENIED));
		return;
	}
	if (!strcmp(c->req, "status")) {
		client_reply(c, status_json(c->ctl));
		return;
	}
	DBG("control socket: unknown request refused");
	client_reply(c, error_reply("unknown request: the control socket answers \"status\""));
}

static void client_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	struct client *c = arg;
	char scratch[4096];
	ssize_t n;

	if (c->reply && c->sent < c->reply_len) {
		client_send(c);
		return;
	}
	if (c->reply) {
		n = recv(fd, scratch, sizeof(scratch), 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			return;
		}
		c->drained += n > 0 ? (size_t) n : 0;
		if (n <= 0 || c->drained > DRAIN_MAX) {
			client_free(c);
		}
		return;
	}
	n = recv(fd, c->req + c->req_len, REQUEST_MAX - c->req_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		return;
	}
	if (n <= 0) {
		client_free(c);
		return;
	}
	c->req_len += (size_t) n;
	if (memchr(c->req, '\n', c->req_len)) {
		client_judge(c);
	} else if (c->req_len == REQUEST_MAX) {
		client_reply(c, error_reply(c->refused ? PERMISSION_DENIED :
			"request too long: the control socket answers \"status\""));
	}
}

static void client_timeout_cb(struct lh_timer *timer, void *arg)
{
	struct client *c = arg;

	c->timer = NULL;
	client_reply(c, error_reply(c->refused ? PERMISSION_DENIED :
		"no request in time: write \"status\" and a newline"));
}

/* Root, or the user the relay runs as. */
static bool peer_allowed(int fd, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	*uid = (uid_t) -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		PERROR("control socket: SO_PEERCRED");
		return false;
	}
	*uid = cred.uid;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void accept_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	struct lh_relay_control *ctl = arg;
	struct client *c;
	uid_t uid;
	int cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			PERROR("control socket: accept");
		}
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		PERROR("calloc");
		close(cfd);
		return;
	}
	c->ctl = ctl;
	c->fd = cfd;
	c->watch = lh_loop_watch(ctl->loop, cfd, EPOLLIN, client_cb, c);
	c->timer = lh_loop_timer(ctl->loop, REQUEST_TIMEOUT_MS, client_timeout_cb, c);
	if (!c->watch || !c->timer || ctl->nr_clients == MAX_CLIENTS) {
		/* Busy or out of memory: this client goes, the next may come. */
		lh_watch_remove(c->watch);
		lh_timer_cancel(c->timer);
		close(cfd);
		free(c);
		return;
	}
	ctl->clients[ctl->nr_clients++] = c;
	if (!peer_allowed(cfd, &uid)) {
		WARN("control socket: uid %u refused: only root may read the relay's status",
			(unsigned int) uid);
		c->refused = true;
	}
}

/* The log's hook: keep the last warning or error of each VM, and of the relay. */
static void log_hook(enum lh_log_level level, const char *ctx, const char *msg, void *arg)
{
	struct lh_relay_control *ctl = arg;
	struct last_error *e = &ctl->relay_error;
	unsigned int i;

	if (ctx && !strncmp(ctx, "vm=", 3)) {
		for (i = 0; i < ctl->src->nr_vms; i++) {
			if (!strcmp(ctx + 3, lh_vm_name(ctl->src->vms[i]))) {
				e = &ctl->vm_errors[i];
				break;
			}
		}
	}
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	e->ms = lh_now_ms();
}

struct lh_relay_control *lh_relay_control_create(struct lh_loop *loop, const char *path,
		const struct lh_relay_control_source *src)
{
	struct lttng_hyper_channel_uri uri = { .transport = &lh_transport_unix_listen };
	struct lh_relay_control *ctl;
	mode_t old_mask;

	if (strlen(path) >= sizeof(uri.path)) {
		ERR("control socket path too long (%zu bytes at most): %s",
			sizeof(uri.path) - 1, path);
		return NULL;
	}
	memcpy(uri.path, path, strlen(path) + 1);
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		PERROR("calloc");
		return NULL;
	}
	ctl->loop = loop;
	ctl->src = src;
	ctl->start_ms = lh_now_ms();
	ctl->path = strdup(path);
	ctl->vm_errors = calloc(src->nr_vms ? src->nr_vms : 1, sizeof(*ctl->vm_errors));
	if (!ctl->path || !ctl->vm_errors) {
		PERROR("calloc");
		goto error;
	}
	/* Born 0600: the file's mode guards it from the start, SO_PEERCRED after. */
	old_mask = umask(0177);
	ctl->fd = lttng_hyper_channel_listen(&uri);
	umask(old_mask);
	if (ctl->fd < 0) {
		ERR("cannot listen on the control socket %s: %s", path, strerror(errno));
		goto error;
	}
	ctl->watch = lh_loop_watch(loop, ctl->fd, EPOLLIN, accept_cb, ctl);
	if (!ctl->watch) {
		ERR("cannot watch the control socket");
		goto error_fd;
	}
	/* Milliseconds are all a reader of seconds needs. */
	json_c_set_serialization_double_format("%.3f", JSON_C_OPTION_GLOBAL);
	lh_log_set_hook(log_hook, ctl);
	INFO("control socket: %s (lttng-hyper status, lttng-hyper top)", path);
	return ctl;

error_fd:
	close(ctl->fd);
	unlink(path);
error:
	free(ctl->vm_errors);
	free(ctl->path);
	free(ctl);
	return NULL;
}

void lh_relay_control_destroy(struct lh_relay_control *ctl)
{
	if (!ctl) {
		return;
	}
	lh_log_set_hook(NULL, NULL);
	while (ctl->nr_clients) {
		client_free(ctl->clients[0]);
	}
	lh_watch_remove(ctl->watch);
	if (close(ctl->fd) < 0) {
		PERROR("close control socket");
	}
	if (unlink(ctl->path) < 0 && errno != ENOENT) {
		PERROR("unlink %s", ctl->path);
	}
	free(ctl->vm_errors);
	free(ctl->path);
	free(ctl);
}
