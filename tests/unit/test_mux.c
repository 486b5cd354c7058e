/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the multiplexer: a guest mux and a host mux in one loop,
 * joined by a socketpair as the channel, with socketpairs as local
 * sockets; and raw peers that write hand-made frames to check that every
 * protocol fault closes the channel with a reason that names it.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <lttng-hyper/frame.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/mux.h"
#include "tests/utils/loop-run.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	87
#define MAX_APPS	64
#define BULK_BYTES	(8U << 20)
#define APP_CHUNK	(64U << 10)

static struct lh_loop *loop;

/* The program at the far end of a local socket: writes a pattern, checks what it reads. */
struct app {
	bool used;
	int fd;
	struct lh_watch *watch;
	uint8_t tx_seed, rx_seed;
	uint64_t to_send, sent;
	uint64_t received, bad;
	uint32_t tx_sum, rx_sum;	/* FNV-1a of the bytes written and read */
	bool paused;			/* not reading */
	bool eof;
	bool close_when_sent;
	char text[256];			/* the first bytes read, for short messages */
};

static struct app apps[MAX_APPS];

struct side {
	struct lh_mux *mux;
	bool ready;
	struct lttng_hyper_hello peer;
	bool failed;
	char why[512];
	unsigned int closed;
	/* Host: how on_open answers. */
	bool refuse;
	const struct lh_mux_filter *filter;
	struct app *conn_app[MAX_APPS];
	struct lh_mux_conn *conns[MAX_APPS];
	bool got_reply;
	struct lttng_hyper_clock_reply reply;
	/* Host: the VM path of each conn, and the clock estimates relayed. */
	char conn_path[MAX_APPS][LTTNG_HYPER_PATH_MAX_LEN + 1];
	unsigned int estimates;
	char est_path[LTTNG_HYPER_PATH_MAX_LEN + 1];
	struct lttng_hyper_clock_estimate est;
};

struct pair {
	struct side guest, host;
};

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint8_t pattern(uint8_t seed, uint64_t off)
{
	return (uint8_t) (seed + off * 7 + (off >> 9) * 13 + (off >> 17));
}

static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		h = (h ^ p[i]) * 16777619U;
	}
	return h;
}

static void app_update(struct app *app);

static void app_close(struct app *app)
{
	lh_watch_remove(app->watch);
	app->watch = NULL;
	if (app->fd >= 0 && close(app->fd)) {
		diag("close: %s", strerror(errno));
	}
	app->fd = -1;
}

static void app_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	static uint8_t buf[APP_CHUNK];
	struct app *app = arg;
	ssize_t ret;
	size_t i, n;

	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !app->paused && !app->eof) {
		ret = read(fd, buf, sizeof(buf));
		if (ret > 0) {
			for (i = 0; i < (size_t) ret; i++) {
				if (buf[i] != pattern(app->rx_seed, app->received + i)) {
					app->bad++;
				}
				if (app->received + i < sizeof(app->text) - 1) {
					app->text[app->received + i] = (char) buf[i];
				}
			}
			app->rx_sum = fnv1a(app->rx_sum, buf, (size_t) ret);
			app->received += (uint64_t) ret;
		} else if (ret == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			app->eof = true;
		}
	}
	if ((events & EPOLLOUT) && app->sent < app->to_send) {
		n = app->to_send - app->sent < sizeof(buf) ? app->to_send - app->sent : sizeof(buf);
		for (i = 0; i < n; i++) {
			buf[i] = pattern(app->tx_seed, app->sent + i);
		}
		ret = write(fd, buf, n);
		if (ret > 0) {
			app->tx_sum = fnv1a(app->tx_sum, buf, (size_t) ret);
			app->sent += (uint64_t) ret;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			/* The conn is gone: stop sending. */
			app->to_send = app->sent;
		}
	}
	if (app->close_when_sent && app->sent == app->to_send) {
		app_close(app);
		return;
	}
	app_update(app);
}

static void app_update(struct app *app)
{
	uint32_t events = 0;

	if (app->fd < 0) {
		return;
	}
	if (!app->paused && !app->eof) {
		events |= EPOLLIN;
	}
	if (app->sent < app->to_send) {
		events |= EPOLLOUT;
	}
	if (!app->watch) {
		app->watch = lh_loop_watch(loop, app->fd, events, app_cb, app);
		return;
	}
	if (!events) {
		lh_watch_remove(app->watch);
		app->watch = NULL;
		return;
	}
	lh_watch_set_events(app->watch, events);
}

static struct app *app_new(int fd, uint8_t tx_seed, uint8_t rx_seed)
{
	int i;

	for (i = 0; i < MAX_APPS; i++) {
		if (!apps[i].used) {
			struct app *app = &apps[i];

			memset(app, 0, sizeof(*app));
			app->used = true;
			app->fd = fd;
			app->tx_seed = tx_seed;
			app->rx_seed = rx_seed;
			app->tx_sum = 2166136261U;
			app->rx_sum = 2166136261U;
			app_update(app);
			return app;
		}
	}
	diag("out of apps");
	abort();
}

static void app_send(struct app *app, uint64_t bytes)
{
	app->to_send += bytes;
	app_update(app);
}

static void app_pause(struct app *app, bool paused)
{
	app->paused = paused;
	app_update(app);
}

/* Send a short text message (pattern checking does not apply to these). */
static void app_write_text(struct app *app, const char *text)
{
	ssize_t ret = write(app->fd, text, strlen(text));

	if (ret != (ssize_t) strlen(text)) {
		diag("short write of a message");
	}
}


static bool side_failed(void *arg)
{
	return ((struct side *) arg)->failed;
}

static bool pair_ready(void *arg)
{
	struct pair *p = arg;

	return p->guest.ready && p->host.ready;
}

static bool app_got_eof(void *arg)
{
	return ((struct app *) arg)->eof;
}

struct want_bytes {
	struct app *app;
	uint64_t bytes;
};

static bool app_got_bytes(void *arg)
{
	struct want_bytes *w = arg;

	return w->app->received >= w->bytes;
}

/* Mux callbacks. */

static void on_ready(struct lh_mux *mux, const struct lttng_hyper_hello *peer)
{
	struct side *side = lh_mux_get_priv(mux);

	side->ready = true;
	side->peer = *peer;
}

static int on_open(struct lh_mux *mux, struct lh_mux_conn *conn,
		enum lttng_hyper_conn_kind kind, const char *path)
{
	struct side *side = lh_mux_get_priv(mux);
	uint32_t id = lh_mux_conn_id(conn);
	int sv[2];

	if (side->refuse || id >= MAX_APPS) {
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) {
		diag("socketpair: %s", strerror(errno));
		return -1;
	}
	if (side->filter) {
		lh_mux_conn_set_filter(conn, side->filter);
	}
	/* The host app sends with seed id + 100 and expects the guest's seed id. */
	side->conn_app[id] = app_new(sv[1], (uint8_t) (id + 100), (uint8_t) id);
	side->conns[id] = conn;
	snprintf(side->conn_path[id], sizeof(side->conn_path[id]), "%s", path);
	return sv[0];
}

static void on_conn_closed(struct lh_mux *mux, struct lh_mux_conn *conn)
{
	struct side *side = lh_mux_get_priv(mux);
	uint32_t id = lh_mux_conn_id(conn);

	side->closed++;
	if (id < MAX_APPS && side->conns[id] == conn) {
		side->conns[id] = NULL;
	}
}

static void on_channel_error(struct lh_mux *mux, const char *why)
{
	struct side *side = lh_mux_get_priv(mux);

	side->failed = true;
	snprintf(side->why, sizeof(side->why), "%s", why);
	lh_mux_destroy(mux);
	side->mux = NULL;
}

static void on_clock_reply(struct lh_mux *mux, const struct lttng_hyper_clock_reply *reply)
{
	struct side *side = lh_mux_get_priv(mux);

	side->got_reply = true;
	side->reply = *reply;
}

static void on_clock_estimate(struct lh_mux *mux, const char *path,
		const struct lttng_hyper_clock_estimate *est)
{
	struct side *side = lh_mux_get_priv(mux);

	side->estimates++;
	snprintf(side->est_path, sizeof(side->est_path), "%s", path);
	side->est = *est;
}

static const struct lh_mux_ops ops = {
	.on_ready = on_ready,
	.on_open = on_open,
	.on_conn_closed = on_conn_closed,
	.on_channel_error = on_channel_error,
	.on_clock_reply = on_clock_reply,
	.on_clock_estimate = on_clock_estimate,
};

/* Set-up helpers. */

static void channel_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) {
		diag("socketpair: %s", strerror(errno));
		abort();
	}
}

static void config(struct lh_mux_config *cfg, enum lh_mux_role role)
{
	lh_mux_config_init(cfg, role);
	cfg->log_ctx = role == LH_MUX_HOST ? "vm=vm-test1" : "channel=test";
	if (role == LH_MUX_HOST) {
		cfg->vm_name = "vm-test1";
	}
}

static bool pair_start(struct pair *p, const struct lh_mux_config *gcfg,
		const struct lh_mux_config *hcfg)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	channel_pair(sv);
	p->guest.mux = lh_mux_create(loop, sv[0], gcfg, &ops, &p->guest);
	p->host.mux = lh_mux_create(loop, sv[1], hcfg, &ops, &p->host);
	if (!p->guest.mux || !p->host.mux) {
		return false;
	}
	return lh_test_run_until(loop, pair_ready, p, 2000);
}

static void pair_stop(struct pair *p)
{
	lh_mux_destroy(p->guest.mux);
	p->guest.mux = NULL;
	lh_mux_destroy(p->host.mux);
	p->host.mux = NULL;
}

/*
 * Open a conn of VM path (NULL: the guest's own) from the guest; the guest
 * app sends with seed id and expects id + 100.
 */
static struct app *guest_open_path(struct side *guest, enum lttng_hyper_conn_kind kind,
		const char *path, struct lh_mux_conn **connp)
{
	struct lh_mux_conn *conn;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) {
		diag("socketpair: %s", strerror(errno));
		return NULL;
	}
	conn = path ? lh_mux_open_path(guest->mux, kind, sv[0], path) :
		lh_mux_open(guest->mux, kind, sv[0]);
	if (!conn) {
		close(sv[1]);
		return NULL;
	}
	if (connp) {
		*connp = conn;
	}
	return app_new(sv[1], (uint8_t) lh_mux_conn_id(conn),
		(uint8_t) (lh_mux_conn_id(conn) + 100));
}

static struct app *guest_open(struct side *guest, enum lttng_hyper_conn_kind kind,
		struct lh_mux_conn **connp)
{
	return guest_open_path(guest, kind, NULL, connp);
}

static void free_apps(void)
{
	int i;

	for (i = 0; i < MAX_APPS; i++) {
		if (apps[i].used) {
			app_close(&apps[i]);
			apps[i].used = false;
		}
	}
}

/* A raw peer: hand-made frames. */

static void raw_frame(int fd, uint8_t type, uint32_t conn_id, const char *path,
		const void *body, size_t len)
{
	uint8_t buf[LTTNG_HYPER_FRAME_HEADER_LEN + 70000];
	size_t path_len = path ? strlen(path) : 0;
	struct lttng_hyper_frame_header hdr = {
		.type = type,
		.conn_id = conn_id,
		.length = (uint32_t) (path_len + len),
		.path_len = (uint16_t) path_len,
	};
	size_t total = LTTNG_HYPER_FRAME_HEADER_LEN + path_len + len;

	lttng_hyper_frame_header_encode(&hdr, buf);
	if (path_len) {
		memcpy(buf + LTTNG_HYPER_FRAME_HEADER_LEN, path, path_len);
	}
	if (len) {
		memcpy(buf + LTTNG_HYPER_FRAME_HEADER_LEN + path_len, body, len);
	}
	if (write(fd, buf, total) != (ssize_t) total) {
		diag("raw write: %s", strerror(errno));
	}
}

static void raw_hello_caps(int fd, uint16_t major, uint32_t window, const char *name,
		uint32_t caps)
{
	struct lttng_hyper_hello hello = {
		.major = major,
		.minor = 0,
		.caps = caps,
		.max_frame = LTTNG_HYPER_FRAME_MAX_LEN,
		.window = window,
	};
	uint8_t body[LTTNG_HYPER_HELLO_FIXED_LEN + LTTNG_HYPER_NAME_MAX_LEN];

	if (name) {
		hello.name_len = (uint8_t) strlen(name);
		memcpy(hello.name, name, hello.name_len);
	}
	raw_frame(fd, LTTNG_HYPER_FRAME_HELLO, 0, NULL, body,
		lttng_hyper_hello_encode(&hello, body));
}

static void raw_hello(int fd, uint16_t major, uint32_t window, const char *name)
{
	raw_hello_caps(fd, major, window, name, 0);
}

static void raw_open(int fd, uint32_t conn_id)
{
	uint8_t body[LTTNG_HYPER_OPEN_LEN];

	raw_frame(fd, LTTNG_HYPER_FRAME_OPEN, conn_id, NULL, body,
		lttng_hyper_open_encode(LTTNG_HYPER_CONN_DATA, body));
}

/* A valid estimate, with the drift given in 1e-15 units. */
static void raw_estimate(int fd, uint32_t conn_id, const char *path, int64_t drift_fs,
		size_t len)
{
	const struct lttng_hyper_clock_estimate est = {
		.ref_child_ns = 5000,
		.ref_parent_ns = 9000,
		.drift_fs = drift_fs,
		.first_child_ns = 4000,
		.last_child_ns = 6000,
		.samples = 2,
		.used = 2,
	};
	uint8_t body[LTTNG_HYPER_CLOCK_ESTIMATE_LEN];

	lttng_hyper_clock_estimate_encode(&est, body);
	raw_frame(fd, LTTNG_HYPER_FRAME_CLOCK_ESTIMATE, conn_id, path, body, len);
}

/* What a raw peer has read from a mux, frame by frame. */
struct raw_rx {
	int fd;
	uint8_t buf[1U << 16];
	size_t len;
	/* The frame looked for, and where its body was found. */
	uint8_t type;
	uint32_t conn_id;
	const uint8_t *body;
	uint32_t body_len;
};

/* Read what is there and look for the first frame of rx->type on rx->conn_id. */
static bool raw_got_frame(void *arg)
{
	struct raw_rx *rx = arg;
	struct lttng_hyper_frame_header hdr;
	size_t off = 0;
	ssize_t ret;

	while (rx->len < sizeof(rx->buf) &&
			(ret = read(rx->fd, rx->buf + rx->len, sizeof(rx->buf) - rx->len)) > 0) {
		rx->len += (size_t) ret;
	}
	while (off + LTTNG_HYPER_FRAME_HEADER_LEN <= rx->len &&
			!lttng_hyper_frame_header_decode(rx->buf + off,
				LTTNG_HYPER_FRAME_MAX_LEN, &hdr) &&
			off + LTTNG_HYPER_FRAME_HEADER_LEN + hdr.length <= rx->len) {
		if (hdr.type == rx->type && hdr.conn_id == rx->conn_id) {
			rx->body = rx->buf + off + LTTNG_HYPER_FRAME_HEADER_LEN + hdr.path_len;
			rx->body_len = hdr.length - hdr.path_len;
			return true;
		}
		off += LTTNG_HYPER_FRAME_HEADER_LEN + hdr.length;
	}
	return false;
}

/* Wait for a frame from the mux at the other end of rx->fd. */
static bool raw_wait_frame(struct raw_rx *rx, uint8_t type, uint32_t conn_id)
{
	rx->type = type;
	rx->conn_id = conn_id;
	rx->body = NULL;
	rx->body_len = 0;
	return lh_test_run_until(loop, raw_got_frame, rx, 2000);
}

enum garbage {
	G_BEFORE_HELLO,
	G_BAD_MAGIC,
	G_OVERSIZED,
	G_BEYOND_CREDIT,
	G_UNKNOWN_CONN,
	G_PATH,
	G_ESTIMATE_UNNESTED,
	G_BODY_SIZE,
	G_VERSION,
	G_OPEN_ID,
	G_SECOND_HELLO,
	G_EOF,
	/* The host takes VM paths from here on. */
	G_NESTED_FIRST,
	G_BAD_PATH = G_NESTED_FIRST,
	G_PATH_DATA,
	G_PATH_CREDIT,
	G_PATH_CLOSE,
	G_PATH_RESET,
	G_PATH_PING,
	G_PATH_REPLY,
	G_ESTIMATE_NO_PATH,
	G_ESTIMATE_CONN,
	G_ESTIMATE_DRIFT,
	G_ESTIMATE_SIZE,
};

/*
 * Let a raw guest send one kind of garbage to a host mux; return whether
 * the host closed the channel with a reason containing expect.
 */
static bool garbage_test(enum garbage g, const char *expect, const char *label)
{
	static uint8_t big[5000];
	struct lh_mux_config cfg;
	struct side host;
	uint8_t hdr[LTTNG_HYPER_FRAME_HEADER_LEN];
	uint8_t body[4] = { 0 };
	int sv[2];
	bool ret;

	memset(&host, 0, sizeof(host));
	config(&cfg, LH_MUX_HOST);
	cfg.window = 4096;
	cfg.max_frame = 65536;
	cfg.allow_paths = g >= G_NESTED_FIRST;
	channel_pair(sv);
	host.mux = lh_mux_create(loop, sv[0], &cfg, &ops, &host);
	if (g != G_BEFORE_HELLO) {
		raw_hello(sv[1], g == G_VERSION ? 2 : 1, 65536, NULL);
	}
	switch (g) {
	case G_BEFORE_HELLO:
		raw_frame(sv[1], LTTNG_HYPER_FRAME_DATA, 1, NULL, "x", 1);
		break;
	case G_BAD_MAGIC:
		memset(hdr, 0x5a, sizeof(hdr));
		if (write(sv[1], hdr, sizeof(hdr)) != sizeof(hdr)) {
			diag("raw write failed");
		}
		break;
	case G_OVERSIZED:
		raw_open(sv[1], 1);
		/* A header announcing more than max_frame; the body never comes. */
		lttng_hyper_frame_header_encode(&(struct lttng_hyper_frame_header) {
				.type = LTTNG_HYPER_FRAME_DATA,
				.conn_id = 1,
				.length = 65537,
			}, hdr);
		if (write(sv[1], hdr, sizeof(hdr)) != sizeof(hdr)) {
			diag("raw write failed");
		}
		break;
	case G_BEYOND_CREDIT:
		raw_open(sv[1], 1);
		raw_frame(sv[1], LTTNG_HYPER_FRAME_DATA, 1, NULL, big, 4097);
		break;
	case G_UNKNOWN_CONN:
		raw_open(sv[1], 1);
		raw_frame(sv[1], LTTNG_HYPER_FRAME_DATA, 5, NULL, "x", 1);
		break;
	case G_PATH:
		raw_frame(sv[1], LTTNG_HYPER_FRAME_OPEN, 1, "vm2", "\x02\0\0\0", 4);
		break;
	case G_ESTIMATE_UNNESTED:
		raw_estimate(sv[1], 0, "l2", 0, LTTNG_HYPER_CLOCK_ESTIMATE_LEN);
		break;
	case G_BODY_SIZE:
		raw_open(sv[1], 1);
		raw_frame(sv[1], LTTNG_HYPER_FRAME_CREDIT, 1, NULL, body, 3);
		break;
	case G_VERSION:
		break;
	case G_OPEN_ID:
		raw_open(sv[1], 2);
		raw_open(sv[1], 2);
		break;
	case G_SECOND_HELLO:
		raw_hello(sv[1], 1, 65536, NULL);
		break;
	case G_EOF:
		close(sv[1]);
		sv[1] = -1;
		break;
	case G_BAD_PATH:
		raw_frame(sv[1], LTTNG_HYPER_FRAME_OPEN, 1, "l2/../l3", "\x02\0\0\0", 4);
		break;
	case G_PATH_DATA:
		raw_open(sv[1], 1);
		raw_frame(sv[1], LTTNG_HYPER_FRAME_DATA, 1, "l2", "x", 1);
		break;
	case G_PATH_CREDIT:
		raw_open(sv[1], 1);
		raw_frame(sv[1], LTTNG_HYPER_FRAME_CREDIT, 1, "l2", body, 4);
		break;
	case G_PATH_CLOSE:
		raw_open(sv[1], 1);
		raw_frame(sv[1], LTTNG_HYPER_FRAME_CLOSE, 1, "l2", NULL, 0);
		break;
	case G_PATH_RESET:
		raw_open(sv[1], 1);
		raw_frame(sv[1], LTTNG_HYPER_FRAME_RESET, 1, "l2", body, 4);
		break;
	case G_PATH_PING:
		raw_frame(sv[1], LTTNG_HYPER_FRAME_PING, 0, "l2", big, LTTNG_HYPER_PING_LEN);
		break;
	case G_PATH_REPLY:
		raw_frame(sv[1], LTTNG_HYPER_FRAME_CLOCK_REPLY, 0, "l2", big,
			LTTNG_HYPER_CLOCK_REPLY_LEN);
		break;
	case G_ESTIMATE_NO_PATH:
		raw_estimate(sv[1], 0, NULL, 0, LTTNG_HYPER_CLOCK_ESTIMATE_LEN);
		break;
	case G_ESTIMATE_CONN:
		raw_open(sv[1], 1);
		raw_estimate(sv[1], 1, "l2", 0, LTTNG_HYPER_CLOCK_ESTIMATE_LEN);
		break;
	case G_ESTIMATE_DRIFT:
		raw_estimate(sv[1], 0, "l2/l3", LTTNG_HYPER_CLOCK_MAX_DRIFT_FS + 1,
			LTTNG_HYPER_CLOCK_ESTIMATE_LEN);
		break;
	case G_ESTIMATE_SIZE:
		raw_estimate(sv[1], 0, "l2", 0, LTTNG_HYPER_CLOCK_ESTIMATE_LEN - 1);
		break;
	}
	lh_test_run_until(loop, side_failed, &host, 2000);
	ret = host.failed && strstr(host.why, expect);
	if (!ret) {
		diag("%s: failed=%d why='%s'", label, host.failed, host.why);
	}
	lh_mux_destroy(host.mux);
	if (sv[1] >= 0) {
		close(sv[1]);
	}
	free_apps();
	return ret;
}

/* Filters. */

static enum lh_filter_verdict upper_from_peer(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out, char *err, size_t errlen)
{
	size_t i;

	if (len >= 3 && !memcmp(buf, "bad", 3)) {
		snprintf(err, errlen, "forbidden message");
		return LH_FILTER_ERROR;
	}
	if (lh_buf_reserve(out, len)) {
		snprintf(err, errlen, "out of memory");
		return LH_FILTER_ERROR;
	}
	for (i = 0; i < len; i++) {
		uint8_t c = buf[i];

		lh_buf_tail(out)[i] = (c >= 'a' && c <= 'z') ? (uint8_t) (c - 32) : c;
	}
	lh_buf_commit(out, len);
	return LH_FILTER_CONSUMED;
}

static enum lh_filter_verdict suffix_from_local(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out, char *err, size_t errlen)
{
	if (lh_buf_append(out, buf, len) || lh_buf_append(out, "!", 1)) {
		snprintf(err, errlen, "out of memory");
		return LH_FILTER_ERROR;
	}
	return LH_FILTER_CONSUMED;
}

static unsigned int filter_releases;

static void count_release(struct lh_mux_conn *conn)
{
	filter_releases++;
}

static const struct lh_mux_filter upper_filter = {
	.from_peer = upper_from_peer,
	.from_local = suffix_from_local,
	.release = count_release,
};

static bool both_closed(void *arg)
{
	struct pair *p = arg;

	return p->guest.closed > 0 && p->host.closed > 0;
}

/* The tests. */

static void test_bulk(struct pair *p)
{
	struct lh_mux_conn *gconn = NULL;
	struct app *gapp = guest_open(&p->guest, LTTNG_HYPER_CONN_DATA, &gconn);
	struct app *happ;
	struct want_bytes w;
	struct lh_mux_stats gs;
	uint32_t id;

	if (!ok(gapp, "guest opens a connection")) {
		skip(3, "no connection");
		return;
	}
	id = lh_mux_conn_id(gconn);
	app_send(gapp, BULK_BYTES);
	lh_test_run_until(loop, NULL, NULL, 50);
	happ = p->host.conn_app[id];
	if (!ok(happ, "host accepted conn %u", id)) {
		skip(2, "no host connection");
		return;
	}
	app_send(happ, BULK_BYTES);
	w.app = happ;
	w.bytes = BULK_BYTES;
	lh_test_run_until(loop, app_got_bytes, &w, 20000);
	w.app = gapp;
	lh_test_run_until(loop, app_got_bytes, &w, 20000);
	ok(happ->received == BULK_BYTES && happ->bad == 0 && happ->rx_sum == gapp->tx_sum,
		"guest to host: %llu bytes, %llu wrong, checksum %08x vs %08x",
		(unsigned long long) happ->received, (unsigned long long) happ->bad,
		happ->rx_sum, gapp->tx_sum);
	ok(gapp->received == BULK_BYTES && gapp->bad == 0 && gapp->rx_sum == happ->tx_sum,
		"host to guest: %llu bytes, %llu wrong, checksum %08x vs %08x",
		(unsigned long long) gapp->received, (unsigned long long) gapp->bad,
		gapp->rx_sum, happ->tx_sum);
	lh_mux_get_stats(p->guest.mux, &gs);
	diag("guest stats: %llu bytes out, %llu in, %llu frames out, %llu in",
		(unsigned long long) gs.bytes_to_peer, (unsigned long long) gs.bytes_from_peer,
		(unsigned long long) gs.frames_to_peer, (unsigned long long) gs.frames_from_peer);
	app_close(gapp);
	app_close(happ);
	lh_test_run_until(loop, both_closed, p, 2000);
}

static void test_flow_control(void)
{
	struct lh_mux_config gcfg, hcfg;
	struct lh_mux_conn *gconn = NULL, *gconn2 = NULL;
	struct app *gapp, *happ, *gapp2, *happ2;
	struct lh_mux_stats s1, s2;
	struct want_bytes w;
	struct pair p;
	int queued = 0;
	uint32_t window = 256U << 10;

	config(&gcfg, LH_MUX_GUEST);
	config(&hcfg, LH_MUX_HOST);
	gcfg.window = hcfg.window = window;
	gcfg.data_chunk = hcfg.data_chunk = 64U << 10;
	if (!ok(pair_start(&p, &gcfg, &hcfg), "flow control pair ready")) {
		skip(6, "no pair");
		pair_stop(&p);
		return;
	}
	gapp = guest_open(&p.guest, LTTNG_HYPER_CONN_DATA, &gconn);
	lh_test_run_for(loop, 20);
	happ = gapp ? p.host.conn_app[lh_mux_conn_id(gconn)] : NULL;
	if (!happ) {
		ok(0, "flow control conn opened");
		skip(5, "no conn");
		pair_stop(&p);
		free_apps();
		return;
	}
	app_pause(happ, true);
	app_send(gapp, 4U << 20);
	lh_test_run_for(loop, 300);
	lh_mux_get_stats(p.guest.mux, &s1);
	lh_test_run_for(loop, 200);
	lh_mux_get_stats(p.guest.mux, &s2);
	if (ioctl(happ->fd, FIONREAD, &queued)) {
		diag("FIONREAD: %s", strerror(errno));
	}
	ok(s1.bytes_to_peer == s2.bytes_to_peer &&
		s2.bytes_to_peer <= (uint64_t) window + (uint64_t) queued,
		"stalled reader: guest stops at %llu bytes sent <= window %u + %d in the socket",
		(unsigned long long) s2.bytes_to_peer, window, queued);

	/* No head-of-line blocking: a second conn still works both ways. */
	gapp2 = guest_open(&p.guest, LTTNG_HYPER_CONN_CONTROL, &gconn2);
	lh_test_run_for(loop, 20);
	happ2 = gapp2 ? p.host.conn_app[lh_mux_conn_id(gconn2)] : NULL;
	if (happ2) {
		app_write_text(gapp2, "ping");
		w.app = happ2;
		w.bytes = 4;
		lh_test_run_until(loop, app_got_bytes, &w, 2000);
		app_write_text(happ2, "pong");
		w.app = gapp2;
		lh_test_run_until(loop, app_got_bytes, &w, 2000);
	}
	ok(happ2 && !strcmp(happ2->text, "ping") && !strcmp(gapp2->text, "pong"),
		"second conn passes messages both ways while the first is stalled");

	app_pause(happ, false);
	w.app = happ;
	w.bytes = 4U << 20;
	lh_test_run_until(loop, app_got_bytes, &w, 10000);
	ok(happ->received == (4U << 20) && happ->bad == 0,
		"stalled conn resumes: %llu bytes, %llu wrong",
		(unsigned long long) happ->received, (unsigned long long) happ->bad);

	/* CLOSE flushes: everything written before close() arrives, then EOF. */
	app_send(gapp2, 1U << 20);
	gapp2->close_when_sent = true;
	/* Count from here: the text messages were not pattern bytes. */
	happ2->received = 0;
	happ2->bad = 0;
	lh_test_run_until(loop, app_got_eof, happ2, 5000);
	ok(happ2->eof && happ2->received == (1U << 20) && happ2->bad == 0,
		"guest CLOSE after 1 MiB: host reads %llu bytes (%llu wrong), then EOF",
		(unsigned long long) happ2->received, (unsigned long long) happ2->bad);

	/* Same the other way. */
	app_send(happ, 1U << 20);
	happ->close_when_sent = true;
	lh_test_run_until(loop, app_got_eof, gapp, 5000);
	ok(gapp->eof && gapp->received == (1U << 20) && gapp->bad == 0,
		"host CLOSE after 1 MiB: guest reads %llu bytes (%llu wrong), then EOF",
		(unsigned long long) gapp->received, (unsigned long long) gapp->bad);
	lh_test_run_for(loop, 20);
	ok(p.guest.closed == 2 && p.host.closed == 2 && !p.guest.failed && !p.host.failed,
		"both conns closed on both sides (guest %u, host %u), channel up",
		p.guest.closed, p.host.closed);

	/*
	 * A local socket that hangs up while its conn has no credit: the mux
	 * must neither spin on the hang-up nor lose the bytes still in it.
	 */
	gapp = guest_open(&p.guest, LTTNG_HYPER_CONN_DATA, &gconn);
	lh_test_run_for(loop, 20);
	happ = gapp ? p.host.conn_app[lh_mux_conn_id(gconn)] : NULL;
	if (!happ) {
		ok(0, "hang-up conn opened");
		skip(1, "no conn");
	} else {
		uint64_t cpu, wall = lh_now_ns();
		uint64_t sent;

		app_pause(happ, true);
		app_send(gapp, 4U << 20);
		lh_test_run_for(loop, 200);
		sent = gapp->sent;
		app_close(gapp);
		cpu = cpu_ns();
		wall = lh_now_ns();
		lh_test_run_for(loop, 200);
		cpu = cpu_ns() - cpu;
		wall = lh_now_ns() - wall;
		app_pause(happ, false);
		lh_test_run_until(loop, app_got_eof, happ, 5000);
		ok(happ->eof && happ->received == sent && happ->bad == 0 && cpu < wall / 2,
			"hang-up without credit: %llu of %llu bytes then EOF, %llu%% CPU while parked",
			(unsigned long long) happ->received, (unsigned long long) sent,
			(unsigned long long) (cpu * 100 / wall));
	}
	pair_stop(&p);
	free_apps();
}

static bool conn_gone(void *arg)
{
	struct side *side = arg;

	return side->closed > 0;
}

static void test_reset(struct pair *p)
{
	struct lh_mux_conn *gconn = NULL;
	struct app *gapp, *happ;
	struct lh_mux_stats hs;
	uint32_t id;

	p->guest.closed = p->host.closed = 0;
	gapp = guest_open(&p->guest, LTTNG_HYPER_CONN_DATA, &gconn);
	lh_test_run_for(loop, 20);
	id = gapp ? lh_mux_conn_id(gconn) : 0;
	happ = gapp ? p->host.conn_app[id] : NULL;
	if (!happ) {
		ok(0, "reset conn opened");
		skip(3, "no conn");
		return;
	}
	app_pause(happ, true);
	app_send(gapp, 2U << 20);
	lh_test_run_for(loop, 100);
	lh_mux_conn_reset(p->host.conns[id], LTTNG_HYPER_RESET_UNSPEC);
	app_pause(happ, false);
	lh_test_run_until(loop, app_got_eof, gapp, 2000);
	lh_test_run_until(loop, app_got_eof, happ, 2000);
	ok(gapp->eof && p->guest.closed == 1 && p->host.closed == 1,
		"host RESET: guest conn closed (%u, %u), guest app sees EOF",
		p->guest.closed, p->host.closed);
	ok(happ->eof && happ->received < (2U << 20) && happ->bad == 0,
		"RESET drops queued data: host app got %llu of %u bytes, then EOF",
		(unsigned long long) happ->received, 2U << 20);
	lh_mux_get_stats(p->host.mux, &hs);
	ok(hs.conns == 0 && !p->guest.failed && !p->host.failed,
		"no conn left after RESET, channel still up");
	app_close(gapp);
	app_close(happ);

	/* The host refuses: RESET(REFUSED) closes the guest's conn. */
	p->guest.closed = 0;
	p->host.refuse = true;
	gapp = guest_open(&p->guest, LTTNG_HYPER_CONN_CONTROL, NULL);
	lh_test_run_until(loop, conn_gone, &p->guest, 2000);
	lh_test_run_until(loop, app_got_eof, gapp, 2000);
	ok(gapp && gapp->eof && p->guest.closed == 1, "refused OPEN closes the guest's conn");
	p->host.refuse = false;
	if (gapp) {
		app_close(gapp);
	}
}

static void test_filter(void)
{
	struct lh_mux_config gcfg, hcfg;
	struct lh_mux_conn *gconn = NULL;
	struct app *gapp, *happ;
	struct want_bytes w;
	struct pair p;

	config(&gcfg, LH_MUX_GUEST);
	config(&hcfg, LH_MUX_HOST);
	filter_releases = 0;
	if (!pair_start(&p, &gcfg, &hcfg)) {
		ok(0, "filter pair ready");
		skip(3, "no pair");
		pair_stop(&p);
		return;
	}
	p.host.filter = &upper_filter;
	gapp = guest_open(&p.guest, LTTNG_HYPER_CONN_CONTROL, &gconn);
	lh_test_run_for(loop, 20);
	happ = gapp ? p.host.conn_app[lh_mux_conn_id(gconn)] : NULL;
	if (!happ) {
		ok(0, "filter conn opened");
		skip(3, "no conn");
		pair_stop(&p);
		free_apps();
		return;
	}
	app_write_text(gapp, "hello");
	w.app = happ;
	w.bytes = 5;
	lh_test_run_until(loop, app_got_bytes, &w, 2000);
	ok(!strcmp(happ->text, "HELLO"), "from_peer filter output reaches the local socket: '%s'",
		happ->text);
	app_write_text(happ, "reply");
	w.app = gapp;
	w.bytes = 6;
	lh_test_run_until(loop, app_got_bytes, &w, 2000);
	ok(!strcmp(gapp->text, "reply!"), "from_local filter output reaches the peer: '%s'",
		gapp->text);
	app_write_text(gapp, "bad things");
	lh_test_run_until(loop, side_failed, &p.guest, 2000);
	ok(p.host.failed && strstr(p.host.why, "(control): forbidden message") &&
		filter_releases == 1,
		"filter ERROR closes the channel: host says '%s'", p.host.why);
	ok(p.guest.failed && strstr(p.guest.why, "peer closed the channel"),
		"the guest sees the channel close: '%s'", p.guest.why);
	pair_stop(&p);
	free_apps();
}

/*
 * A filter that inspects one byte in every SKIP_STRIDE and lets the rest
 * pass unseen, as the relay's data filter does with packet payloads.
 */
#define SKIP_STRIDE	100000

static uint64_t skip_left, skip_seen, skip_marks, skip_skipped;

static enum lh_filter_verdict skip_from_peer(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out, char *err, size_t errlen)
{
	while (len) {
		size_t n = len < skip_left ? len : (size_t) skip_left;

		skip_left -= n;
		skip_seen += n;
		len -= n;
		if (len) {
			skip_marks++;
			skip_seen++;
			len--;
			skip_left = SKIP_STRIDE - 1;
		}
	}
	return LH_FILTER_PASS;
}

static uint64_t skip_skippable(struct lh_mux_conn *conn)
{
	return skip_left;
}

static void skip_skipped_cb(struct lh_mux_conn *conn, uint64_t len)
{
	skip_left -= len;
	skip_skipped += len;
}

static const struct lh_mux_filter skip_filter = {
	.from_peer = skip_from_peer,
	.peer_skippable = skip_skippable,
	.peer_skipped = skip_skipped_cb,
};

static void test_skip_filter(void)
{
	struct lh_mux_config gcfg, hcfg;
	struct lh_mux_conn *gconn = NULL;
	struct app *gapp, *happ;
	struct want_bytes w;
	struct pair p;

	config(&gcfg, LH_MUX_GUEST);
	config(&hcfg, LH_MUX_HOST);
	if (!pair_start(&p, &gcfg, &hcfg)) {
		ok(0, "skip filter pair ready");
		skip(1, "no pair");
		pair_stop(&p);
		return;
	}
	p.host.filter = &skip_filter;
	gapp = guest_open(&p.guest, LTTNG_HYPER_CONN_DATA, &gconn);
	lh_test_run_for(loop, 20);
	happ = gapp ? p.host.conn_app[lh_mux_conn_id(gconn)] : NULL;
	if (!happ) {
		ok(0, "skip filter conn opened");
		skip(1, "no conn");
		pair_stop(&p);
		free_apps();
		return;
	}
	app_send(gapp, BULK_BYTES);
	w.app = happ;
	w.bytes = BULK_BYTES;
	lh_test_run_until(loop, app_got_bytes, &w, 20000);
	ok(happ->received == BULK_BYTES && happ->bad == 0 && happ->rx_sum == gapp->tx_sum,
		"bytes a filter lets pass unseen arrive intact: %llu bytes, %llu wrong",
		(unsigned long long) happ->received, (unsigned long long) happ->bad);
	ok(skip_marks == (BULK_BYTES + SKIP_STRIDE - 1) / SKIP_STRIDE &&
		skip_seen + skip_skipped == BULK_BYTES,
		"the filter sees every byte it asks for: %llu marks, %llu bytes seen, %llu skipped",
		(unsigned long long) skip_marks, (unsigned long long) skip_seen,
		(unsigned long long) skip_skipped);
	pair_stop(&p);
	free_apps();
}

/* A guest that pings and never reads: the host's queue hits its hard limit. */
static void test_peer_stall(void)
{
	uint8_t cookie[LTTNG_HYPER_PING_LEN] = { 0 };
	struct lh_mux_config cfg;
	struct side host;
	int sv[2], i, j;

	memset(&host, 0, sizeof(host));
	config(&cfg, LH_MUX_HOST);
	cfg.out_high_water = 16U << 10;
	cfg.out_hard_limit = 64U << 10;
	channel_pair(sv);
	host.mux = lh_mux_create(loop, sv[0], &cfg, &ops, &host);
	raw_hello(sv[1], 1, 65536, NULL);
	for (i = 0; i < 2000 && !host.failed; i++) {
		for (j = 0; j < 100; j++) {
			raw_frame(sv[1], LTTNG_HYPER_FRAME_PING, 0, NULL, cookie, sizeof(cookie));
		}
		lh_test_run_for(loop, 1);
	}
	ok(host.failed && strstr(host.why, "peer stalled: ") && strstr(host.why, " bytes queued"),
		"a peer that does not read is detected: '%s'", host.why);
	lh_mux_destroy(host.mux);
	close(sv[1]);
}

/*
 * The host's memory account: traffic that flows stays within it and is
 * all given back; a guest whose bytes pile up past it loses the channel.
 */
static void test_memory_account(void)
{
	struct lh_mux_config gcfg, hcfg;
	struct lh_mux_conn *gconn = NULL;
	struct lh_mem_account mem;
	struct app *gapp, *happ;
	struct want_bytes w;
	struct pair p;

	lh_mem_account_init(&mem, 8U << 20, "--max-memory");
	config(&gcfg, LH_MUX_GUEST);
	config(&hcfg, LH_MUX_HOST);
	/* Credit would cap what piles up long before the account does. */
	hcfg.window = 64U << 20;
	hcfg.mem = &mem;
	pair_start(&p, &gcfg, &hcfg);
	gapp = guest_open(&p.guest, LTTNG_HYPER_CONN_DATA, &gconn);
	lh_test_run_for(loop, 20);
	happ = gapp ? p.host.conn_app[lh_mux_conn_id(gconn)] : NULL;
	if (happ) {
		app_send(gapp, 32U << 20);
		w.app = happ;
		w.bytes = 32U << 20;
		lh_test_run_until(loop, app_got_bytes, &w, 20000);
	}
	ok(happ && happ->received == 32U << 20 && !happ->bad && !p.host.failed,
		"32 MiB flow through a host that may hold 8 MiB");
	ok(mem.used > 0 && mem.peak <= mem.limit,
		"the host's queues are charged: %" PRIu64 " bytes now, %" PRIu64 " at most",
		mem.used, mem.peak);

	app_pause(happ, true);
	app_send(gapp, 32U << 20);
	lh_test_run_until(loop, side_failed, &p.host, 20000);
	ok(p.host.failed && strstr(p.host.why, "over --max-memory 8388608: it holds "),
		"a guest whose bytes pile up past the limit loses the channel: '%s'", p.host.why);
	ok(mem.peak <= mem.limit, "the host never held more than the limit: %" PRIu64 " bytes",
		mem.peak);
	pair_stop(&p);
	ok(mem.used == 0, "every byte charged is given back: %" PRIu64 " left", mem.used);
}

/*
 * Let a raw host send a CLOCK_ESTIMATE (with path, or none) to a guest
 * mux; return whether the guest closed the channel saying expect.
 */
static bool guest_garbage(bool allow_paths, const char *path, const char *expect)
{
	struct lh_mux_config cfg;
	struct side guest;
	int sv[2];
	bool ret;

	memset(&guest, 0, sizeof(guest));
	config(&cfg, LH_MUX_GUEST);
	cfg.allow_paths = allow_paths;
	channel_pair(sv);
	guest.mux = lh_mux_create(loop, sv[0], &cfg, &ops, &guest);
	raw_hello_caps(sv[1], 1, 65536, "vm-x", LTTNG_HYPER_CAP_NESTED);
	raw_estimate(sv[1], 0, path, 0, LTTNG_HYPER_CLOCK_ESTIMATE_LEN);
	lh_test_run_until(loop, side_failed, &guest, 2000);
	ret = guest.failed && strstr(guest.why, expect);
	if (!ret) {
		diag("estimate from the host: failed=%d why='%s'", guest.failed, guest.why);
	}
	lh_mux_destroy(guest.mux);
	close(sv[1]);
	return ret;
}

static void test_garbage(void)
{
	struct lh_mux_config cfg;
	struct side guest;
	int sv[2];

	ok(garbage_test(G_BEFORE_HELLO, "DATA frame before HELLO", "before hello"),
		"frame before HELLO");
	ok(garbage_test(G_BAD_MAGIC, "bad magic", "bad magic"), "bad magic");
	ok(garbage_test(G_OVERSIZED, "65537 bytes exceeds the maximum of 65536", "oversized"),
		"oversized frame");
	ok(garbage_test(G_BEYOND_CREDIT, "DATA frame of 4097 bytes on conn 1 exceeds its credit of 4096 bytes",
		"credit"), "DATA beyond credit");
	ok(garbage_test(G_UNKNOWN_CONN, "conn 5, which was never opened", "unknown conn"),
		"DATA for a conn never opened");
	ok(garbage_test(G_PATH, "nesting is not enabled", "path"), "VM path without nesting");
	ok(garbage_test(G_BODY_SIZE, "CREDIT frame on conn 1 has a 3-byte body (expected 4)",
		"body size"), "wrong body size");
	ok(garbage_test(G_VERSION, "protocol version 2.0 not supported", "version"),
		"unsupported protocol version");
	ok(garbage_test(G_OPEN_ID, "connection ids must increase", "open id"), "OPEN reusing an id");
	ok(garbage_test(G_SECOND_HELLO, "second HELLO", "second hello"), "second HELLO");
	ok(garbage_test(G_EOF, "peer closed the channel", "eof"), "channel EOF");
	ok(garbage_test(G_ESTIMATE_UNNESTED,
			"CLOCK_ESTIMATE frame on conn 0 carries a VM path of 2 bytes, but nesting is not enabled",
			"estimate unnested"), "CLOCK_ESTIMATE without nesting");
	ok(garbage_test(G_BAD_PATH, "OPEN frame on conn 1 carries a malformed VM path", "bad path"),
		"nested: OPEN with the VM path 'l2/../l3'");
	ok(garbage_test(G_PATH_DATA,
			"DATA frame on conn 1 carries a VM path: only OPEN and CLOCK_ESTIMATE do",
			"path on DATA"), "nested: VM path on DATA");
	ok(garbage_test(G_PATH_CREDIT,
			"CREDIT frame on conn 1 carries a VM path: only OPEN and CLOCK_ESTIMATE do",
			"path on CREDIT"), "nested: VM path on CREDIT");
	ok(garbage_test(G_PATH_CLOSE,
			"CLOSE frame on conn 1 carries a VM path: only OPEN and CLOCK_ESTIMATE do",
			"path on CLOSE"), "nested: VM path on CLOSE");
	ok(garbage_test(G_PATH_RESET,
			"RESET frame on conn 1 carries a VM path: only OPEN and CLOCK_ESTIMATE do",
			"path on RESET"), "nested: VM path on RESET");
	ok(garbage_test(G_PATH_PING,
			"PING frame on conn 0 carries a VM path: only OPEN and CLOCK_ESTIMATE do",
			"path on PING"), "nested: VM path on PING");
	ok(garbage_test(G_PATH_REPLY,
			"CLOCK_REPLY frame on conn 0 carries a VM path: only OPEN and CLOCK_ESTIMATE do",
			"path on CLOCK_REPLY"), "nested: VM path on CLOCK_REPLY");
	ok(garbage_test(G_ESTIMATE_NO_PATH,
			"CLOCK_ESTIMATE frame without a VM path", "estimate without path"),
		"nested: CLOCK_ESTIMATE without a VM path");
	ok(garbage_test(G_ESTIMATE_CONN,
			"CLOCK_ESTIMATE frame on conn 1: this frame type belongs to conn 0",
			"estimate on a conn"), "nested: CLOCK_ESTIMATE on conn 1");
	ok(garbage_test(G_ESTIMATE_DRIFT, "invalid CLOCK_ESTIMATE for VM l2/l3: bad length",
			"estimate drift"), "nested: CLOCK_ESTIMATE with a drift beyond 1000 ppm");
	ok(garbage_test(G_ESTIMATE_SIZE,
			"CLOCK_ESTIMATE frame on conn 0 has a 63-byte body (expected 64)",
			"estimate size"), "nested: CLOCK_ESTIMATE of 63 bytes");

	/* The guest checks the host too. */
	memset(&guest, 0, sizeof(guest));
	config(&cfg, LH_MUX_GUEST);
	channel_pair(sv);
	guest.mux = lh_mux_create(loop, sv[0], &cfg, &ops, &guest);
	raw_hello(sv[1], 1, 65536, "vm-x");
	raw_frame(sv[1], LTTNG_HYPER_FRAME_OPEN, 1, NULL, "\x01\0\0\0", 4);
	lh_test_run_until(loop, side_failed, &guest, 2000);
	ok(guest.failed && strstr(guest.why, "only the guest opens connections"),
		"guest refuses an OPEN from the host: '%s'", guest.why);
	lh_mux_destroy(guest.mux);
	close(sv[1]);

	/* Estimates go up only, with or without nesting on the guest. */
	ok(guest_garbage(false, NULL, "CLOCK_ESTIMATE frame from the host"),
		"guest refuses a CLOCK_ESTIMATE from the host");
	ok(guest_garbage(true, "l2", "CLOCK_ESTIMATE frame from the host"),
		"a nesting guest refuses a CLOCK_ESTIMATE with a VM path from the host");
	ok(guest_garbage(false, "l2", "carries a VM path of 2 bytes, but nesting is not enabled"),
		"a guest without nesting refuses a VM path from the host");
}

static void test_ping(void)
{
	struct lh_mux_config gcfg, hcfg;
	struct lh_mux_stats s1, s2;
	struct side guest;
	struct pair p;
	uint64_t start;
	int sv[2];

	config(&gcfg, LH_MUX_GUEST);
	config(&hcfg, LH_MUX_HOST);
	gcfg.ping_interval_ms = 50;
	gcfg.stall_timeout_ms = 300;
	if (!pair_start(&p, &gcfg, &hcfg)) {
		ok(0, "ping pair ready");
		skip(2, "no pair");
		pair_stop(&p);
	} else {
		lh_mux_get_stats(p.guest.mux, &s1);
		lh_test_run_for(loop, 500);
		lh_mux_get_stats(p.guest.mux, &s2);
		ok(!p.guest.failed, "guest with an answering host stays up past its 300 ms timeout");
		ok(s2.frames_from_peer - s1.frames_from_peer >= 5,
			"host answered %llu pings in 500 ms",
			(unsigned long long) (s2.frames_from_peer - s1.frames_from_peer));
		pair_stop(&p);
	}

	/* A host that said HELLO and then fell silent. */
	memset(&guest, 0, sizeof(guest));
	channel_pair(sv);
	guest.mux = lh_mux_create(loop, sv[0], &gcfg, &ops, &guest);
	raw_hello(sv[1], 1, 65536, "vm-x");
	start = lh_now_ms();
	lh_test_run_until(loop, side_failed, &guest, 2000);
	ok(guest.failed && strstr(guest.why, "host unresponsive for") &&
		lh_now_ms() - start >= 300 && lh_now_ms() - start < 700,
		"silent host detected after %llu ms: '%s'",
		(unsigned long long) (lh_now_ms() - start), guest.why);
	lh_mux_destroy(guest.mux);
	close(sv[1]);
}

static bool got_reply(void *arg)
{
	return ((struct side *) arg)->got_reply;
}

static void test_clock(struct pair *p)
{
	uint64_t before = lh_now_ns(), after;

	ok(lh_mux_send_clock_probe(p->host.mux, 42, 123456789) == 0, "host sends a clock probe");
	lh_test_run_until(loop, got_reply, &p->host, 2000);
	after = lh_now_ns();
	ok(p->host.got_reply && p->host.reply.seq == 42 &&
		p->host.reply.host_send_ns == 123456789 && p->host.reply.clock_id == 1,
		"guest answers: seq %llu, host_send_ns echoed, clock_id %u",
		(unsigned long long) p->host.reply.seq, p->host.reply.clock_id);
	ok(p->host.reply.guest_ns >= before && p->host.reply.guest_ns <= after,
		"guest_ns is the guest's CLOCK_MONOTONIC at the probe");
}

static void test_host_stall(void)
{
	struct lh_mux_config gcfg, hcfg;
	struct lh_mux_conn *gconn = NULL;
	struct app *gapp;
	uint32_t id;
	struct pair p;

	config(&gcfg, LH_MUX_GUEST);
	config(&hcfg, LH_MUX_HOST);
	hcfg.stall_timeout_ms = 200;
	if (!pair_start(&p, &gcfg, &hcfg)) {
		ok(0, "stall pair ready");
		skip(1, "no pair");
		pair_stop(&p);
		return;
	}
	gapp = guest_open(&p.guest, LTTNG_HYPER_CONN_CONTROL, &gconn);
	lh_test_run_for(loop, 20);
	id = gapp ? lh_mux_conn_id(gconn) : 0;
	ok(gapp && p.host.conns[id], "stall conn opened");
	if (!gapp || !p.host.conns[id]) {
		skip(1, "no conn");
		pair_stop(&p);
		free_apps();
		return;
	}
	lh_mux_conn_set_waiting(p.host.conns[id], true);
	lh_test_run_until(loop, conn_gone, &p.guest, 2000);
	ok(p.guest.closed == 1 && p.host.closed == 1 && !p.host.failed,
		"a conn left waiting past the stall timeout is reset, the channel stays up");
	pair_stop(&p);
	free_apps();
}

static void test_limits_and_shutdown(void)
{
	struct lh_mux_config gcfg, hcfg;
	struct lh_mux_conn *gconn = NULL;
	struct app *gapp, *g1, *g2, *g3, *happ;
	struct pair p;

	config(&gcfg, LH_MUX_GUEST);
	config(&hcfg, LH_MUX_HOST);
	hcfg.max_conns = 2;
	if (!pair_start(&p, &gcfg, &hcfg)) {
		ok(0, "limits pair ready");
		skip(3, "no pair");
		pair_stop(&p);
		return;
	}
	g1 = guest_open(&p.guest, LTTNG_HYPER_CONN_CONTROL, NULL);
	g2 = guest_open(&p.guest, LTTNG_HYPER_CONN_DATA, NULL);
	g3 = guest_open(&p.guest, LTTNG_HYPER_CONN_DATA, NULL);
	lh_test_run_until(loop, conn_gone, &p.guest, 2000);
	lh_test_run_until(loop, app_got_eof, g3, 2000);
	ok(g1 && g2 && g3 && g3->eof && !g1->eof && !g2->eof && p.guest.closed == 1,
		"the host refuses a conn beyond max_conns, the others stay");
	app_close(g1);
	app_close(g2);
	app_close(g3);
	lh_test_run_for(loop, 20);

	/* Shutdown: data already read from the guest app is delivered, then EOF. */
	p.guest.closed = 0;
	gapp = guest_open(&p.guest, LTTNG_HYPER_CONN_DATA, &gconn);
	if (!gapp) {
		ok(0, "shutdown conn opened");
		skip(1, "no conn");
		pair_stop(&p);
		free_apps();
		return;
	}
	app_write_text(gapp, "last words");
	lh_test_run_for(loop, 20);
	/* The conn is freed by the shutdown. */
	happ = p.host.conn_app[lh_mux_conn_id(gconn)];
	lh_mux_shutdown(p.guest.mux);
	lh_test_run_until(loop, app_got_eof, happ, 2000);
	ok(happ && happ->eof && !strcmp(happ->text, "last words") &&
		lh_mux_flushed(p.guest.mux),
		"after shutdown the host app reads '%s' then EOF, and the guest is flushed",
		happ ? happ->text : "");
	lh_test_run_until(loop, app_got_eof, gapp, 2000);
	ok(gapp->eof && p.guest.closed == 1 && !lh_mux_open(p.guest.mux, LTTNG_HYPER_CONN_DATA,
		dup(gapp->fd)), "shutdown closes the guest's conns and refuses new ones");
	pair_stop(&p);
	free_apps();
}

static bool side_ready(void *arg)
{
	return ((struct side *) arg)->ready;
}

struct want_estimates {
	struct side *side;
	unsigned int n;
};

static bool got_estimates(void *arg)
{
	struct want_estimates *w = arg;

	return w->side->estimates >= w->n;
}

static bool estimate_equal(const struct lttng_hyper_clock_estimate *a,
		const struct lttng_hyper_clock_estimate *b)
{
	return a->ref_child_ns == b->ref_child_ns && a->ref_parent_ns == b->ref_parent_ns &&
		a->drift_fs == b->drift_fs && a->error_ns == b->error_ns &&
		a->min_rtt_ns == b->min_rtt_ns && a->first_child_ns == b->first_child_ns &&
		a->last_child_ns == b->last_child_ns && a->samples == b->samples &&
		a->used == b->used && a->method == b->method;
}

/* A host that takes VM paths: nested connections and relayed clock estimates. */
static void test_nested(void)
{
	const struct lttng_hyper_clock_estimate est2 = {
		.ref_child_ns = 123456789012ULL,
		.ref_parent_ns = 987654321098ULL,
		.drift_fs = -31415926535LL,
		.error_ns = 2718,
		.min_rtt_ns = 16180,
		.first_child_ns = 100000000000ULL,
		.last_child_ns = 200000000000ULL,
		.samples = 96,
		.used = 9,
		.method = LTTNG_HYPER_CLOCK_METHOD_MIN_RTT,
	};
	struct lttng_hyper_clock_estimate est3 = est2;
	char long_path[LTTNG_HYPER_PATH_MAX_LEN + 1];
	struct lh_mux_config gcfg, hcfg;
	struct lh_mux_conn *gconn = NULL, *oconn = NULL, *lconn = NULL;
	struct app *gapp, *happ, *oapp, *lapp;
	struct want_estimates we;
	struct want_bytes w;
	struct pair p;
	ssize_t eof = -1;
	uint32_t id;
	int sv[2];
	size_t i;
	char c;

	config(&gcfg, LH_MUX_GUEST);
	config(&hcfg, LH_MUX_HOST);
	hcfg.allow_paths = true;
	if (!ok(pair_start(&p, &gcfg, &hcfg), "nested pair ready")) {
		skip(8, "no pair");
		pair_stop(&p);
		return;
	}
	ok(lh_mux_peer_nested(p.guest.mux) && (p.guest.peer.caps & LTTNG_HYPER_CAP_NESTED) &&
		!(p.host.peer.caps & LTTNG_HYPER_CAP_NESTED),
		"the host's HELLO announces NESTED, the guest's does not");

	gapp = guest_open_path(&p.guest, LTTNG_HYPER_CONN_CONTROL, "l2/l3", &gconn);
	oapp = guest_open_path(&p.guest, LTTNG_HYPER_CONN_DATA, "", &oconn);
	/* 51 names of 4 bytes, each followed by a slash, then a 1-byte name: 255 bytes. */
	for (i = 0; i < LTTNG_HYPER_PATH_MAX_LEN; i++) {
		long_path[i] = i % 5 == 4 ? '/' : 'v';
	}
	long_path[LTTNG_HYPER_PATH_MAX_LEN - 1] = 'v';
	long_path[LTTNG_HYPER_PATH_MAX_LEN] = '\0';
	lapp = guest_open_path(&p.guest, LTTNG_HYPER_CONN_DATA, long_path, &lconn);
	lh_test_run_for(loop, 20);
	id = gapp ? lh_mux_conn_id(gconn) : 0;
	happ = gapp ? p.host.conn_app[id] : NULL;
	if (happ) {
		app_write_text(gapp, "nested");
		w.app = happ;
		w.bytes = 6;
		lh_test_run_until(loop, app_got_bytes, &w, 2000);
	}
	ok(happ && !strcmp(p.host.conn_path[id], "l2/l3") && !strcmp(happ->text, "nested"),
		"OPEN with the VM path 'l2/l3' reaches on_open with it ('%s'), bytes pass",
		happ ? p.host.conn_path[id] : "");
	ok(oapp && lapp && p.host.conn_app[lh_mux_conn_id(oconn)] &&
		!strcmp(p.host.conn_path[lh_mux_conn_id(oconn)], "") &&
		p.host.conn_app[lh_mux_conn_id(lconn)] &&
		!strcmp(p.host.conn_path[lh_mux_conn_id(lconn)], long_path),
		"an empty path is the channel's own VM; a 255-byte path passes whole");

	we.side = &p.host;
	we.n = 1;
	ok(lh_mux_send_clock_estimate(p.guest.mux, "l2", &est2) == 0 &&
		lh_test_run_until(loop, got_estimates, &we, 2000) && !strcmp(p.host.est_path, "l2") &&
		estimate_equal(&p.host.est, &est2),
		"CLOCK_ESTIMATE for 'l2' reaches on_clock_estimate with its path and values");
	est3.drift_fs = LTTNG_HYPER_CLOCK_MAX_DRIFT_FS;
	est3.method = LTTNG_HYPER_CLOCK_METHOD_CONVEX_HULL;
	we.n = 2;
	ok(lh_mux_send_clock_estimate(p.guest.mux, "l2/l3", &est3) == 0 &&
		lh_test_run_until(loop, got_estimates, &we, 2000) && p.host.estimates == 2 &&
		!strcmp(p.host.est_path, "l2/l3") && estimate_equal(&p.host.est, &est3) &&
		!p.host.failed, "and one for 'l2/l3', with a drift of +1000 ppm");
	ok(lh_mux_send_clock_estimate(p.host.mux, "l2", &est2) == -1,
		"the host cannot send a CLOCK_ESTIMATE");
	pair_stop(&p);
	free_apps();

	/* A host without nesting. */
	config(&hcfg, LH_MUX_HOST);
	if (!pair_start(&p, &gcfg, &hcfg)) {
		ok(0, "plain pair ready");
		skip(1, "no pair");
		pair_stop(&p);
		return;
	}
	gconn = NULL;
	if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) {
		gconn = lh_mux_open_path(p.guest.mux, LTTNG_HYPER_CONN_CONTROL, sv[0], "l2");
		/* The mux owns sv[0] even on refusal: it must have closed it. */
		eof = read(sv[1], &c, 1);
		close(sv[1]);
	}
	lh_test_run_for(loop, 20);
	ok(!lh_mux_peer_nested(p.guest.mux) && !gconn && eof == 0 &&
		lh_mux_send_clock_estimate(p.guest.mux, "l2", &est2) == -1 &&
		!p.host.failed && !p.guest.failed && p.host.estimates == 0 && !p.host.conn_app[1],
		"without NESTED from the host: a nested OPEN is refused, its fd closed, no estimate sent");
	oapp = guest_open_path(&p.guest, LTTNG_HYPER_CONN_DATA, "", &oconn);
	lh_test_run_for(loop, 20);
	ok(oapp && p.host.conn_app[lh_mux_conn_id(oconn)] && !p.host.failed,
		"the guest's own connections still open");
	pair_stop(&p);
	free_apps();
}

/* An estimate is dropped, not queued, when the channel is backed up. */
static void test_estimate_drop(void)
{
	const struct lttng_hyper_clock_estimate est = {
		.first_child_ns = 1,
		.last_child_ns = 2,
	};
	struct lh_mux_config cfg;
	struct lh_mux_stats st;
	struct side guest;
	unsigned int sent = 0, i;
	size_t queued_at_drop = 0;
	bool dropped = false;
	uint8_t sink[65536];
	int sv[2], ret = -1;

	memset(&guest, 0, sizeof(guest));
	config(&cfg, LH_MUX_GUEST);
	cfg.out_high_water = 4096;
	channel_pair(sv);
	guest.mux = lh_mux_create(loop, sv[0], &cfg, &ops, &guest);
	raw_hello_caps(sv[1], 1, 65536, "vm-x", LTTNG_HYPER_CAP_NESTED);
	lh_test_run_until(loop, side_ready, &guest, 2000);
	while (guest.ready && sent < 1000000) {
		if (lh_mux_send_clock_estimate(guest.mux, "l2", &est)) {
			lh_mux_get_stats(guest.mux, &st);
			queued_at_drop = st.out_queued;
			dropped = true;
			break;
		}
		sent++;
	}
	ok(dropped && queued_at_drop >= cfg.out_high_water &&
		queued_at_drop < cfg.out_high_water + 16 + 2 + LTTNG_HYPER_CLOCK_ESTIMATE_LEN,
		"estimates stop at the high water mark: %u sent, then one dropped with %zu bytes queued",
		sent, queued_at_drop);
	/* The host reads again: the queue drains and estimates flow. */
	for (i = 0; i < 1000 && guest.mux && !guest.failed; i++) {
		while (read(sv[1], sink, sizeof(sink)) > 0) {
		}
		lh_test_run_for(loop, 5);
		lh_mux_get_stats(guest.mux, &st);
		if (st.out_queued == 0) {
			ret = lh_mux_send_clock_estimate(guest.mux, "l2", &est);
			break;
		}
	}
	ok(ret == 0 && !guest.failed, "once drained, estimates are sent again");
	lh_mux_destroy(guest.mux);
	close(sv[1]);
}

/* Resets a conn on "bad" from either side, as the relay's filter does on a nested VM's fault. */
static enum lh_filter_verdict reset_on_bad(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out, char *err, size_t errlen)
{
	if (len >= 3 && !memcmp(buf, "bad", 3)) {
		snprintf(err, errlen, "vm=l2: bad message");
		return LH_FILTER_RESET;
	}
	return LH_FILTER_PASS;
}

static const struct lh_mux_filter reset_filter = {
	.from_peer = reset_on_bad,
	.from_local = reset_on_bad,
	.release = count_release,
};

static bool reset_reason_is(struct raw_rx *rx, uint32_t want)
{
	uint32_t reason;

	return rx->body && !lttng_hyper_u32_decode(rx->body, rx->body_len, &reason) &&
		reason == want;
}

/* A filter's LH_FILTER_RESET ends its conn alone; the channel and the other conns go on. */
static void test_filter_reset(void)
{
	static struct raw_rx rx;
	struct lh_mux_config cfg;
	struct lh_mux_stats st;
	struct want_bytes w;
	struct side host;
	struct app *a2;
	int sv[2];

	memset(&host, 0, sizeof(host));
	memset(&rx, 0, sizeof(rx));
	config(&cfg, LH_MUX_HOST);
	cfg.allow_paths = true;
	filter_releases = 0;
	channel_pair(sv);
	rx.fd = sv[1];
	host.mux = lh_mux_create(loop, sv[0], &cfg, &ops, &host);
	host.filter = &reset_filter;
	raw_hello(sv[1], 1, 65536, NULL);
	raw_frame(sv[1], LTTNG_HYPER_FRAME_OPEN, 1, "l2", "\x01\0\0\0", 4);
	raw_frame(sv[1], LTTNG_HYPER_FRAME_OPEN, 2, "l3", "\x02\0\0\0", 4);
	raw_frame(sv[1], LTTNG_HYPER_FRAME_DATA, 1, NULL, "bad!", 4);
	ok(raw_wait_frame(&rx, LTTNG_HYPER_FRAME_RESET, 1) &&
		reset_reason_is(&rx, LTTNG_HYPER_RESET_PROTOCOL),
		"from_peer RESET: the guest gets RESET (PROTOCOL) on conn 1");
	lh_test_run_for(loop, 20);
	ok(!host.failed && host.closed == 1 && !host.conns[1] && host.conns[2] &&
		filter_releases == 1 && host.conn_app[1] && host.conn_app[1]->received == 0,
		"conn 1 alone is gone, nothing of it reached its socket, the channel is up");

	/* DATA that crossed the RESET is dropped; conn 2 carries bytes both ways. */
	raw_frame(sv[1], LTTNG_HYPER_FRAME_DATA, 1, NULL, "late", 4);
	raw_frame(sv[1], LTTNG_HYPER_FRAME_DATA, 2, NULL, "fine", 4);
	a2 = host.conn_app[2];
	w.app = a2;
	w.bytes = 4;
	ok(a2 && lh_test_run_until(loop, app_got_bytes, &w, 2000) && !strcmp(a2->text, "fine") && !host.failed,
		"conn 2 still carries bytes to the host: '%s'", a2 ? a2->text : "");
	if (a2) {
		app_write_text(a2, "back");
	}
	ok(raw_wait_frame(&rx, LTTNG_HYPER_FRAME_DATA, 2) && rx.body_len == 4 &&
		!memcmp(rx.body, "back", 4), "and from the host");

	/* A local reply the filter refuses resets that conn too. */
	if (a2) {
		app_write_text(a2, "bad reply");
	}
	ok(raw_wait_frame(&rx, LTTNG_HYPER_FRAME_RESET, 2) &&
		reset_reason_is(&rx, LTTNG_HYPER_RESET_PROTOCOL),
		"from_local RESET: the guest gets RESET (PROTOCOL) on conn 2");
	raw_frame(sv[1], LTTNG_HYPER_FRAME_OPEN, 3, "l2", "\x01\0\0\0", 4);
	lh_test_run_for(loop, 20);
	lh_mux_get_stats(host.mux, &st);
	ok(!host.failed && host.closed == 2 && st.conns == 1 && host.conns[3] &&
		filter_releases == 2, "the channel goes on: a new conn opens (%u conns)", st.conns);
	lh_mux_destroy(host.mux);
	close(sv[1]);
	free_apps();
}

int main(void)
{
	struct lh_mux_config gcfg, hcfg;
	struct lh_mux_conn *gconn = NULL;
	struct app *gapp, *happ;
	struct want_bytes w;
	struct pair p;

	plan_tests(NUM_TESTS);
	signal(SIGPIPE, SIG_IGN);
	lh_log_init("test_mux");
	lh_log_set_level(LH_LOG_ERR);
	loop = lh_loop_create();
	if (!loop) {
		return 1;
	}

	config(&gcfg, LH_MUX_GUEST);
	config(&hcfg, LH_MUX_HOST);
	ok(pair_start(&p, &gcfg, &hcfg), "handshake completes");
	ok(p.guest.ready && !strcmp(p.guest.peer.name, "vm-test1"),
		"the guest learns its name from the host: '%s'", p.guest.peer.name);
	ok(lh_test_run_until(loop, side_ready, &p.host, 10) && lh_mux_is_ready(p.host.mux) &&
		lh_mux_is_ready(p.guest.mux) && p.host.peer.window == gcfg.window,
		"both sides ready, windows exchanged");

	test_bulk(&p);
	test_reset(&p);
	test_clock(&p);
	test_flow_control();
	test_filter();
	test_skip_filter();
	test_garbage();
	test_peer_stall();
	test_memory_account();

	/* The long-lived pair was not disturbed by any of the faults above. */
	gapp = guest_open(&p.guest, LTTNG_HYPER_CONN_CONTROL, &gconn);
	lh_test_run_for(loop, 20);
	happ = gapp ? p.host.conn_app[lh_mux_conn_id(gconn)] : NULL;
	if (happ) {
		app_write_text(gapp, "still here");
		w.app = happ;
		w.bytes = 10;
		lh_test_run_until(loop, app_got_bytes, &w, 2000);
	}
	ok(happ && !strcmp(happ->text, "still here") && !p.guest.failed && !p.host.failed,
		"a healthy channel in the same loop is unaffected by the others' faults");

	test_ping();
	test_host_stall();
	test_limits_and_shutdown();
	test_nested();
	test_estimate_drop();
	test_filter_reset();

	pair_stop(&p);
	free_apps();
	lh_test_run_for(loop, 5);
	lh_loop_destroy(loop);
	return exit_status();
}
