/*
 * Unit tests of the multiplexer: a guest mux and a host mux in one loop,
 * joined by a socketpair as the channel, with socketpairs as local
 * sockets; and raw peers that write hand-made frames to check that every
 * protocol fault closes the channel with a reason that names it.
 */
#include <errno.h>
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
#include "tests/utils/tap.h"

#define NUM_TESTS	50
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

/* Running the loop. */

struct run_ctx {
	bool (*cond)(void *arg);
	void *arg;
	uint64_t deadline;
	bool met;
};

static void run_check_cb(struct lh_timer *timer, void *arg)
{
	struct run_ctx *ctx = arg;

	if (ctx->cond && ctx->cond(ctx->arg)) {
		ctx->met = true;
		lh_loop_stop(loop);
		return;
	}
	if (lh_now_ms() >= ctx->deadline) {
		lh_loop_stop(loop);
		return;
	}
	if (!lh_loop_timer(loop, 1, run_check_cb, ctx)) {
		lh_loop_stop(loop);
	}
}

/* Run the loop until cond(arg) holds or timeout_ms passes; returns whether it held. */
static bool run_until(bool (*cond)(void *), void *arg, uint64_t timeout_ms)
{
	struct run_ctx ctx = {
		.cond = cond,
		.arg = arg,
		.deadline = lh_now_ms() + timeout_ms,
	};

	if (cond && cond(arg)) {
		return true;
	}
	if (!lh_loop_timer(loop, 1, run_check_cb, &ctx)) {
		return false;
	}
	lh_loop_run(loop);
	return ctx.met;
}

static void run_for(uint64_t ms)
{
	run_until(NULL, NULL, ms);
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

static const struct lh_mux_ops ops = {
	.on_ready = on_ready,
	.on_open = on_open,
	.on_conn_closed = on_conn_closed,
	.on_channel_error = on_channel_error,
	.on_clock_reply = on_clock_reply,
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
	return run_until(pair_ready, p, 2000);
}

static void pair_stop(struct pair *p)
{
	lh_mux_destroy(p->guest.mux);
	p->guest.mux = NULL;
	lh_mux_destroy(p->host.mux);
	p->host.mux = NULL;
}

/* Open a conn from the guest; the guest app sends with seed id and expects id + 100. */
static struct app *guest_open(struct side *guest, enum lttng_hyper_conn_kind kind,
		struct lh_mux_conn **connp)
{
	struct lh_mux_conn *conn;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) {
		diag("socketpair: %s", strerror(errno));
		return NULL;
	}
	conn = lh_mux_open(guest->mux, kind, sv[0]);
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

static void raw_hello(int fd, uint16_t major, uint32_t window, const char *name)
{
	struct lttng_hyper_hello hello = {
		.major = major,
		.minor = 0,
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

static void raw_open(int fd, uint32_t conn_id)
{
	uint8_t body[LTTNG_HYPER_OPEN_LEN];

	raw_frame(fd, LTTNG_HYPER_FRAME_OPEN, conn_id, NULL, body,
		lttng_hyper_open_encode(LTTNG_HYPER_CONN_DATA, body));
}

enum garbage {
	G_BEFORE_HELLO,
	G_BAD_MAGIC,
	G_OVERSIZED,
	G_BEYOND_CREDIT,
	G_UNKNOWN_CONN,
	G_PATH,
	G_BODY_SIZE,
	G_VERSION,
	G_OPEN_ID,
	G_SECOND_HELLO,
	G_EOF,
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
	}
	run_until(side_failed, &host, 2000);
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
	run_until(NULL, NULL, 50);
	happ = p->host.conn_app[id];
	if (!ok(happ, "host accepted conn %u", id)) {
		skip(2, "no host connection");
		return;
	}
	app_send(happ, BULK_BYTES);
	w.app = happ;
	w.bytes = BULK_BYTES;
	run_until(app_got_bytes, &w, 20000);
	w.app = gapp;
	run_until(app_got_bytes, &w, 20000);
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
	run_until(both_closed, p, 2000);
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
	run_for(20);
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
	run_for(300);
	lh_mux_get_stats(p.guest.mux, &s1);
	run_for(200);
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
	run_for(20);
	happ2 = gapp2 ? p.host.conn_app[lh_mux_conn_id(gconn2)] : NULL;
	if (happ2) {
		app_write_text(gapp2, "ping");
		w.app = happ2;
		w.bytes = 4;
		run_until(app_got_bytes, &w, 2000);
		app_write_text(happ2, "pong");
		w.app = gapp2;
		run_until(app_got_bytes, &w, 2000);
	}
	ok(happ2 && !strcmp(happ2->text, "ping") && !strcmp(gapp2->text, "pong"),
		"second conn passes messages both ways while the first is stalled");

	app_pause(happ, false);
	w.app = happ;
	w.bytes = 4U << 20;
	run_until(app_got_bytes, &w, 10000);
	ok(happ->received == (4U << 20) && happ->bad == 0,
		"stalled conn resumes: %llu bytes, %llu wrong",
		(unsigned long long) happ->received, (unsigned long long) happ->bad);

	/* CLOSE flushes: everything written before close() arrives, then EOF. */
	app_send(gapp2, 1U << 20);
	gapp2->close_when_sent = true;
	/* Count from here: the text messages were not pattern bytes. */
	happ2->received = 0;
	happ2->bad = 0;
	run_until(app_got_eof, happ2, 5000);
	ok(happ2->eof && happ2->received == (1U << 20) && happ2->bad == 0,
		"guest CLOSE after 1 MiB: host reads %llu bytes (%llu wrong), then EOF",
		(unsigned long long) happ2->received, (unsigned long long) happ2->bad);

	/* Same the other way. */
	app_send(happ, 1U << 20);
	happ->close_when_sent = true;
	run_until(app_got_eof, gapp, 5000);
	ok(gapp->eof && gapp->received == (1U << 20) && gapp->bad == 0,
		"host CLOSE after 1 MiB: guest reads %llu bytes (%llu wrong), then EOF",
		(unsigned long long) gapp->received, (unsigned long long) gapp->bad);
	run_for(20);
	ok(p.guest.closed == 2 && p.host.closed == 2 && !p.guest.failed && !p.host.failed,
		"both conns closed on both sides (guest %u, host %u), channel up",
		p.guest.closed, p.host.closed);

	/*
	 * A local socket that hangs up while its conn has no credit: the mux
	 * must neither spin on the hang-up nor lose the bytes still in it.
	 */
	gapp = guest_open(&p.guest, LTTNG_HYPER_CONN_DATA, &gconn);
	run_for(20);
	happ = gapp ? p.host.conn_app[lh_mux_conn_id(gconn)] : NULL;
	if (!happ) {
		ok(0, "hang-up conn opened");
		skip(1, "no conn");
	} else {
		uint64_t cpu, wall = lh_now_ns();
		uint64_t sent;

		app_pause(happ, true);
		app_send(gapp, 4U << 20);
		run_for(200);
		sent = gapp->sent;
		app_close(gapp);
		cpu = cpu_ns();
		wall = lh_now_ns();
		run_for(200);
		cpu = cpu_ns() - cpu;
		wall = lh_now_ns() - wall;
		app_pause(happ, false);
		run_until(app_got_eof, happ, 5000);
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
	run_for(20);
	id = gapp ? lh_mux_conn_id(gconn) : 0;
	happ = gapp ? p->host.conn_app[id] : NULL;
	if (!happ) {
		ok(0, "reset conn opened");
		skip(3, "no conn");
		return;
	}
	app_pause(happ, true);
	app_send(gapp, 2U << 20);
	run_for(100);
	lh_mux_conn_reset(p->host.conns[id], LTTNG_HYPER_RESET_UNSPEC);
	app_pause(happ, false);
	run_until(app_got_eof, gapp, 2000);
	run_until(app_got_eof, happ, 2000);
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
	run_until(conn_gone, &p->guest, 2000);
	run_until(app_got_eof, gapp, 2000);
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
	run_for(20);
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
	run_until(app_got_bytes, &w, 2000);
	ok(!strcmp(happ->text, "HELLO"), "from_peer filter output reaches the local socket: '%s'",
		happ->text);
	app_write_text(happ, "reply");
	w.app = gapp;
	w.bytes = 6;
	run_until(app_got_bytes, &w, 2000);
	ok(!strcmp(gapp->text, "reply!"), "from_local filter output reaches the peer: '%s'",
		gapp->text);
	app_write_text(gapp, "bad things");
	run_until(side_failed, &p.guest, 2000);
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
	run_for(20);
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
	run_until(app_got_bytes, &w, 20000);
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
		run_for(1);
	}
	ok(host.failed && strstr(host.why, "peer stalled: ") && strstr(host.why, " bytes queued"),
		"a peer that does not read is detected: '%s'", host.why);
	lh_mux_destroy(host.mux);
	close(sv[1]);
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

	/* The guest checks the host too. */
	memset(&guest, 0, sizeof(guest));
	config(&cfg, LH_MUX_GUEST);
	channel_pair(sv);
	guest.mux = lh_mux_create(loop, sv[0], &cfg, &ops, &guest);
	raw_hello(sv[1], 1, 65536, "vm-x");
	raw_frame(sv[1], LTTNG_HYPER_FRAME_OPEN, 1, NULL, "\x01\0\0\0", 4);
	run_until(side_failed, &guest, 2000);
	ok(guest.failed && strstr(guest.why, "only the guest opens connections"),
		"guest refuses an OPEN from the host: '%s'", guest.why);
	lh_mux_destroy(guest.mux);
	close(sv[1]);
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
		run_for(500);
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
	run_until(side_failed, &guest, 2000);
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
	run_until(got_reply, &p->host, 2000);
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
	run_for(20);
	id = gapp ? lh_mux_conn_id(gconn) : 0;
	ok(gapp && p.host.conns[id], "stall conn opened");
	if (!gapp || !p.host.conns[id]) {
		skip(1, "no conn");
		pair_stop(&p);
		free_apps();
		return;
	}
	lh_mux_conn_set_waiting(p.host.conns[id], true);
	run_until(conn_gone, &p.guest, 2000);
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
	run_until(conn_gone, &p.guest, 2000);
	run_until(app_got_eof, g3, 2000);
	ok(g1 && g2 && g3 && g3->eof && !g1->eof && !g2->eof && p.guest.closed == 1,
		"the host refuses a conn beyond max_conns, the others stay");
	app_close(g1);
	app_close(g2);
	app_close(g3);
	run_for(20);

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
	run_for(20);
	/* The conn is freed by the shutdown. */
	happ = p.host.conn_app[lh_mux_conn_id(gconn)];
	lh_mux_shutdown(p.guest.mux);
	run_until(app_got_eof, happ, 2000);
	ok(happ && happ->eof && !strcmp(happ->text, "last words") &&
		lh_mux_flushed(p.guest.mux),
		"after shutdown the host app reads '%s' then EOF, and the guest is flushed",
		happ ? happ->text : "");
	run_until(app_got_eof, gapp, 2000);
	ok(gapp->eof && p.guest.closed == 1 && !lh_mux_open(p.guest.mux, LTTNG_HYPER_CONN_DATA,
		dup(gapp->fd)), "shutdown closes the guest's conns and refuses new ones");
	pair_stop(&p);
	free_apps();
}

static bool side_ready(void *arg)
{
	return ((struct side *) arg)->ready;
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
	ok(run_until(side_ready, &p.host, 10) && lh_mux_is_ready(p.host.mux) &&
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

	/* The long-lived pair was not disturbed by any of the faults above. */
	gapp = guest_open(&p.guest, LTTNG_HYPER_CONN_CONTROL, &gconn);
	run_for(20);
	happ = gapp ? p.host.conn_app[lh_mux_conn_id(gconn)] : NULL;
	if (happ) {
		app_write_text(gapp, "still here");
		w.app = happ;
		w.bytes = 10;
		run_until(app_got_bytes, &w, 2000);
	}
	ok(happ && !strcmp(happ->text, "still here") && !p.guest.failed && !p.host.failed,
		"a healthy channel in the same loop is unaffected by the others' faults");

	test_ping();
	test_host_stall();
	test_limits_and_shutdown();

	pair_stop(&p);
	free_apps();
	run_for(5);
	lh_loop_destroy(loop);
	return exit_status();
}
