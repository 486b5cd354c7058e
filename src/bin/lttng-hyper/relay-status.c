/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The client of lttng-hyper-relayd's control socket (relay-status.h): one
 * request, one JSON reply read whole within a size and a time bound, and
 * checked field by field before anything shows it. status-table.c
 * formats it.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/loop.h"
#include "relay-status.h"

/* VMs are at most a few levels deep (LH_MAX_NESTED_DEPTH): sanity only. */
#define MAX_DEPTH		64

static const char request[] = "status\n";

static int fail(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
	return -1;
}

/* --- the socket ------------------------------------------------------ */

static int connect_relay(const char *path, char *err, size_t err_len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	/* connect() waits this long for a relay whose backlog is full. */
	struct timeval tv = {
		.tv_sec = LH_STATUS_TIMEOUT_MS / 1000,
		.tv_usec = (LH_STATUS_TIMEOUT_MS % 1000) * 1000,
	};
	size_t len = strlen(path);
	int fd, e;

	if (len >= sizeof(addr.sun_path)) {
		return fail(err, err_len, "%s: too long for a unix socket path (%zu bytes at most)",
			path, sizeof(addr.sun_path) - 1);
	}
	memcpy(addr.sun_path, path, len);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return fail(err, err_len, "socket: %s", strerror(errno));
	}
	if (!setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) &&
			!connect(fd, (struct sockaddr *) &addr, sizeof(addr))) {
		return fd;
	}
	e = errno;
	close(fd);
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case ECONNREFUSED:
		/* ECONNREFUSED: a socket file that nothing listens on any more. */
		return fail(err, err_len, "No lttng-hyper-relayd control socket at %s: is the "
			"relay running? (give its --control-socket with --socket)", path);
	case EACCES:
	case EPERM:
		return fail(err, err_len, "%s: permission denied: the control socket is root's",
			path);
	case EAGAIN:
		return fail(err, err_len, "%s: the relay accepted no connection within %d s", path,
			LH_STATUS_TIMEOUT_MS / 1000);
	default:
		return fail(err, err_len, "%s: %s", path, strerror(e));
	}
}

/* Read until EOF, at most LH_STATUS_MAX_REPLY bytes, until the deadline. */
static int read_reply(int fd, const char *path, uint64_t deadline_ms, char **out,
		size_t *out_len, char *err, size_t err_len)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret = -1;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = lh_now_ms();
		ssize_t n;
		int r;

		if (len == cap) {
			/* One byte beyond the bound tells a reply that is too long. */
			size_t new_cap = cap ? cap * 2 : 16384;
			char *p;

			if (new_cap > LH_STATUS_MAX_REPLY + 1) {
				new_cap = LH_STATUS_MAX_REPLY + 1;
			}
			p = realloc(buf, new_cap);
			if (!p) {
				fail(err, err_len, "out of memory for the relay's reply");
				goto end;
			}
			buf = p;
			cap = new_cap;
		}
		if (now >= deadline_ms) {
			fail(err, err_len, "%s: the relay did not answer within %d s", path,
				LH_STATUS_TIMEOUT_MS / 1000);
			goto end;
		}
		r = poll(&pfd, 1, (int) (deadline_ms - now));
		if (r < 0 && errno != EINTR) {
			fail(err, err_len, "poll: %s", strerror(errno));
			goto end;
		}
		if (r <= 0) {
			continue;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		/*
		 * The relay answers a peer it refuses at once, and closes with
		 * the request unread: a reset after the reply ends it.
		 */
		if (n < 0 && errno == ECONNRESET && len) {
			break;
		}
		if (n < 0) {
			fail(err, err_len, "%s: reading the reply: %s", path, strerror(errno));
			goto end;
		}
		if (!n) {
			break;
		}
		len += (size_t) n;
		if (len > LH_STATUS_MAX_REPLY) {
			fail(err, err_len, "%s: the relay's reply is over %u MiB: refused", path,
				LH_STATUS_MAX_REPLY >> 20);
			goto end;
		}
	}
	if (!len) {
		/* The relay closes at once when it serves too many clients. */
		fail(err, err_len, "%s: the relay closed the connection without a reply (busy? "
			"try again)", path);
		goto end;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
	ret = 0;
end:
	free(buf);
	return ret;
}

int lh_status_query(const char *path, struct lh_status *st, char *err, size_t err_len)
{
	uint64_t deadline_ms = lh_now_ms() + LH_STATUS_TIMEOUT_MS;
	char *reply;
	size_t len;
	int fd, ret;

	fd = connect_relay(path, err, err_len);
	if (fd < 0) {
		return -1;
	}
	/*
	 * EPIPE: the relay already answered and closed, as it does for a
	 * peer it refuses; its reply is still there to read.
	 */
	if (send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) != sizeof(request) - 1 &&
			errno != EPIPE) {
		fail(err, err_len, "%s: sending the request: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	ret = read_reply(fd, path, deadline_ms, &reply, &len, err, err_len);
	close(fd);
	if (ret < 0) {
		return -1;
	}
	ret = lh_status_parse(reply, len, st, err, err_len);
	free(reply);
	return ret;
}

/* --- the reply ------------------------------------------------------- */

struct parser {
	char *err;
	size_t err_len;
};

static int bad(struct parser *p, const char *where, const char *key, const char *what)
{
	return fail(p->err, p->err_len, "malformed reply from the relay: %s%s%s %s", where,
		key ? "." : "", key ? key : "", what);
}

/*
 * obj's member key, of that type, or JSON's null if nullable (*out NULL).
 * A number may be written as an integer where a double is expected.
 */
static int member(struct parser *p, json_object *obj, const char *where, const char *key,
		enum json_type type, bool nullable, json_object **out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v)) {
		return bad(p, where, key, "is missing");
	}
	if ((!v && nullable) || json_object_is_type(v, type) ||
			(type == json_type_double && json_object_is_type(v, json_type_int))) {
		*out = v;
		return 0;
	}
	switch (type) {
	case json_type_string:
		return bad(p, where, key, nullable ? "is not a string or null" : "is not a string");
	case json_type_object:
		return bad(p, where, key,
			nullable ? "is not an object or null" : "is not an object");
	case json_type_array:
		return bad(p, where, key, "is not an array");
	case json_type_int:
		return bad(p, where, key, "is not an integer");
	default:
		return bad(p, where, key, "is not a number");
	}
}

static int get_string(struct parser *p, json_object *obj, const char *where, const char *key,
		bool nullable, const char **out)
{
	json_object *v;

	if (member(p, obj, where, key, json_type_string, nullable, &v)) {
		return -1;
	}
	*out = v ? json_object_get_string(v) : NULL;
	return 0;
}

static int get_int(struct parser *p, json_object *obj, const char *where, const char *key,
		int64_t *out)
{
	json_object *v;

	if (member(p, obj, where, key, json_type_int, false, &v)) {
		return -1;
	}
	*out = json_object_get_int64(v);
	return 0;
}

/* A counter: a non-negative integer, up to UINT64_MAX, at most max. */
static int get_u64(struct parser *p, json_object *obj, const char *where, const char *key,
		uint64_t max, uint64_t *out)
{
	json_object *v;

	if (member(p, obj, where, key, json_type_int, false, &v)) {
		return -1;
	}
	/* json-c holds integers beyond INT64_MAX as uint64, and reads them so. */
	if (json_object_get_int64(v) < 0) {
		return bad(p, where, key, "is negative");
	}
	*out = json_object_get_uint64(v);
	if (*out > max) {
		return bad(p, where, key, "is out of range");
	}
	return 0;
}

/* A time in seconds: finite, not negative. */
static int get_seconds(struct parser *p, json_object *obj, const char *where, const char *key,
		double *out)
{
	json_object *v;

	if (member(p, obj, where, key, json_type_double, false, &v)) {
		return -1;
	}
	*out = json_object_get_double(v);
	if (!isfinite(*out) || *out < 0) {
		return bad(p, where, key, "is not a number of seconds");
	}
	return 0;
}

static int parse_relay(struct parser *p, json_object *root, struct lh_status *st)
{
	json_object *relay;

	if (member(p, root, "reply", "relay", json_type_object, false, &relay) ||
			get_int(p, relay, "relay", "pid", &st->relay.pid) ||
			get_string(p, relay, "relay", "package_version", false,
				&st->relay.package_version) ||
			get_seconds(p, relay, "relay", "uptime_s", &st->relay.uptime_s) ||
			get_u64(p, relay, "relay", "time_ns", UINT64_MAX, &st->relay.time_ns) ||
			get_u64(p, relay, "relay", "monotonic_ns", UINT64_MAX,
				&st->relay.monotonic_ns) ||
			get_string(p, relay, "relay", "output", true, &st->relay.output) ||
			get_string(p, relay, "relay", "relayd", false, &st->relay.relayd)) {
		return -1;
	}
	return 0;
}

static int parse_vm(struct parser *p, json_object *obj, size_t i, struct lh_status_vm *vm)
{
	json_object *clock, *error;
	uint64_t depth;
	int64_t offset;
	char where[48];

	snprintf(where, sizeof(where), "vms[%zu]", i);
	if (!json_object_is_type(obj, json_type_object)) {
		return bad(p, where, NULL, "is not an object");
	}
	if (get_string(p, obj, where, "name", false, &vm->name) ||
			get_string(p, obj, where, "parent", true, &vm->parent) ||
			get_u64(p, obj, where, "depth", MAX_DEPTH, &depth) ||
			get_string(p, obj, where, "channel", true, &vm->channel) ||
			get_string(p, obj, where, "state", false, &vm->state) ||
			get_seconds(p, obj, where, "state_s", &vm->state_s) ||
			get_u64(p, obj, where, "ups", UINT64_MAX, &vm->ups) ||
			get_u64(p, obj, where, "connections", UINT64_MAX, &vm->connections) ||
			get_u64(p, obj, where, "sessions", UINT64_MAX, &vm->sessions) ||
			get_u64(p, obj, where, "streams", UINT64_MAX, &vm->streams) ||
			get_u64(p, obj, where, "bytes_in", UINT64_MAX, &vm->bytes_in) ||
			get_u64(p, obj, where, "packets", UINT64_MAX, &vm->packets) ||
			get_u64(p, obj, where, "events_discarded", UINT64_MAX,
				&vm->events_discarded) ||
			member(p, obj, where, "clock", json_type_object, true, &clock) ||
			member(p, obj, where, "last_error", json_type_object, true, &error)) {
		return -1;
	}
	if (!*vm->name) {
		return bad(p, where, "name", "is empty");
	}
	vm->depth = (unsigned int) depth;
	if (clock) {
		snprintf(where, sizeof(where), "vms[%zu].clock", i);
		if (get_int(p, clock, where, "offset_ns", &offset) ||
				get_u64(p, clock, where, "error_ns", UINT64_MAX,
					&vm->clock_error_ns)) {
			return -1;
		}
		vm->has_clock = true;
		vm->clock_offset_ns = offset;
	}
	if (error) {
		snprintf(where, sizeof(where), "vms[%zu].last_error", i);
		if (get_string(p, error, where, "message", false, &vm->last_error) ||
				get_seconds(p, error, where, "age_s", &vm->last_error_age_s)) {
			return -1;
		}
	}
	return 0;
}

/* The whole text is one JSON object, and only that. */
static json_object *tokenize(struct parser *p, const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	enum json_tokener_error jerr;
	json_object *root;
	size_t end;

	if (!tok) {
		fail(p->err, p->err_len, "out of memory for the relay's reply");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int) len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* A NUL ends the input: what the text holds may be whole ("null"). */
		root = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		fail(p->err, p->err_len, "malformed reply from the relay: %s",
			jerr == json_tokener_error_parse_eof ? "it ends early" :
				json_tokener_error_desc(jerr));
	} else if (!json_object_is_type(root, json_type_object)) {
		fail(p->err, p->err_len, "malformed reply from the relay: not a JSON object");
	} else {
		while (end < len && text[end] && strchr(" \t\r\n", text[end])) {
			end++;
		}
		if (end == len) {
			return root;
		}
		fail(p->err, p->err_len, "malformed reply from the relay: data after the object");
	}
	json_object_put(root);
	return NULL;
}

int lh_status_parse(const char *text, size_t len, struct lh_status *st, char *err,
		size_t err_len)
{
	struct parser p = { .err = err, .err_len = err_len };
	json_object *root, *vms, *msg;
	int64_t version;
	size_t i;

	memset(st, 0, sizeof(*st));
	if (len > LH_STATUS_MAX_REPLY) {
		return fail(err, err_len, "the relay's reply is over %u MiB: refused",
			LH_STATUS_MAX_REPLY >> 20);
	}
	root = tokenize(&p, text, len);
	if (!root) {
		return -1;
	}
	st->root = root;
	if (json_object_object_get_ex(root, "error", &msg)) {
		if (json_object_is_type(msg, json_type_string)) {
			fail(err, err_len, "lttng-hyper-relayd: %s", json_object_get_string(msg));
		} else {
			bad(&p, "reply", "error", "is not a string");
		}
		goto error;
	}
	if (get_int(&p, root, "reply", "version", &version)) {
		goto error;
	}
	if (version != LH_STATUS_VERSION) {
		fail(err, err_len, "the relay's status is version %" PRId64 ", this lttng-hyper "
			"reads version %d: use the lttng-hyper of the relay's package", version,
			LH_STATUS_VERSION);
		goto error;
	}
	if (parse_relay(&p, root, st) ||
			member(&p, root, "reply", "vms", json_type_array, false, &vms)) {
		goto error;
	}
	st->nr_vms = json_object_array_length(vms);
	if (st->nr_vms) {
		st->vms = calloc(st->nr_vms, sizeof(*st->vms));
		if (!st->vms) {
			fail(err, err_len, "out of memory for %zu VMs", st->nr_vms);
			goto error;
		}
	}
	for (i = 0; i < st->nr_vms; i++) {
		if (parse_vm(&p, json_object_array_get_idx(vms, i), i, &st->vms[i])) {
			goto error;
		}
	}
	return 0;
error:
	lh_status_free(st);
	return -1;
}

void lh_status_free(struct lh_status *st)
{
	json_object_put(st->root);
	free(st->vms);
	memset(st, 0, sizeof(*st));
}

/* --- between two samples --------------------------------------------- */

/* The VM of that name in st, looked for at index hint first. */
static const struct lh_status_vm *find_vm(const struct lh_status *st, const char *name,
		size_t hint)
{
	size_t i;

	if (hint < st->nr_vms && !strcmp(st->vms[hint].name, name)) {
		return &st->vms[hint];
	}
	for (i = 0; i < st->nr_vms; i++) {
		if (!strcmp(st->vms[i].name, name)) {
			return &st->vms[i];
		}
	}
	return NULL;
}

void lh_status_rates(const struct lh_status *prev, struct lh_status *cur)
{
	double dt = 0;
	size_t i;

	/* Another pid: the relay restarted, and its counters with it. */
	if (prev && prev->relay.pid == cur->relay.pid &&
			cur->relay.monotonic_ns > prev->relay.monotonic_ns) {
		dt = (double) (cur->relay.monotonic_ns - prev->relay.monotonic_ns) / 1e9;
	}
	for (i = 0; i < cur->nr_vms; i++) {
		struct lh_status_vm *vm = &cur->vms[i];
		const struct lh_status_vm *old = dt > 0 ? find_vm(prev, vm->name, i) : NULL;

		vm->has_rate = old && vm->bytes_in >= old->bytes_in &&
			vm->packets >= old->packets;
		if (vm->has_rate) {
			vm->mb_per_s = (double) (vm->bytes_in - old->bytes_in) / 1e6 / dt;
			vm->pkt_per_s = (double) (vm->packets - old->packets) / dt;
		} else {
			vm->mb_per_s = 0;
			vm->pkt_per_s = 0;
		}
	}
}
