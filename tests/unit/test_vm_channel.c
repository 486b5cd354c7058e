/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the host end of a VM channel (src/common/vm-channel.h):
 * the --vm NAME=CHANNEL parser and its duplicate check, and the
 * reconnection back-off of a connecting channel. For the latter the test
 * plays QEMU's server=on socket in the channel's own loop: it listens
 * late, timestamps each connection, and either hangs up at once (a failed
 * attempt as far as the back-off goes) or answers as a guest mux would.
 * The timing checks use ratios and wide margins, never exact times.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/defaults.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/mux.h"
#include "common/transport.h"
#include "common/vm-channel.h"
#include "tests/utils/loop-run.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	49
#define DIR_TEMPLATE	"/tmp/lh-test-vc-XXXXXX"
#define MAX_ACCEPTS	16
#define MIN_MS		((double) LH_RECONNECT_MIN_MS)
#define MAX_MS		((double) LH_RECONNECT_MAX_MS)

/*
 * The timeline below needs the back-off to reach the cap on its third
 * delay after 8 x the minimum (8, 16, then 32 capped), and to stay short.
 */
_Static_assert(LH_RECONNECT_MAX_MS > 16 * LH_RECONNECT_MIN_MS &&
		LH_RECONNECT_MAX_MS < 32 * LH_RECONNECT_MIN_MS &&
		LH_RECONNECT_MAX_MS <= 3000,
	"test_vm_channel's timeline assumes MIN * 16 < MAX < MIN * 32 and MAX <= 3 s");

static struct lh_loop *loop;


/* The --vm option parser. */

static bool spec_ok(const char *arg, struct lh_vm_spec *spec)
{
	char err[256] = "";

	if (lh_vm_spec_parse(arg, spec, err, sizeof(err))) {
		diag("'%s' refused: %s", arg, err);
		return false;
	}
	return true;
}

/* Refused, with a reason. */
static bool spec_refused(const char *arg)
{
	struct lh_vm_spec spec;
	char err[256] = "";

	return lh_vm_spec_parse(arg, &spec, err, sizeof(err)) == -1 && err[0];
}

/* Whether the VMs of a and b conflict, and the reason names what. */
static bool conflict(const char *a, const char *b, const char *what)
{
	struct lh_vm_spec sa, sb;
	char err[512] = "";

	if (!spec_ok(a, &sa) || !spec_ok(b, &sb)) {
		return false;
	}
	if (!lh_vm_spec_conflict(&sa, &sb, err, sizeof(err))) {
		return false;
	}
	if (!strstr(err, what)) {
		diag("the reason '%s' does not name '%s'", err, what);
		return false;
	}
	return true;
}

static bool no_conflict(const char *a, const char *b)
{
	struct lh_vm_spec sa, sb;
	char err[512] = "";

	return spec_ok(a, &sa) && spec_ok(b, &sb) &&
		!lh_vm_spec_conflict(&sa, &sb, err, sizeof(err));
}

/* Run in an empty directory of known length, for relative socket paths. */
static void test_spec(const char *dir)
{
	char arg[256], want[256], name[LTTNG_HYPER_NAME_MAX_LEN + 2], long_name[200];
	struct lh_vm_spec spec;
	size_t room;

	ok(spec_ok("vm1=unix:/run/vm1.sock", &spec) && !strcmp(spec.name, "vm1") &&
		spec.uri.transport == &lh_transport_unix &&
		!strcmp(spec.uri.path, "/run/vm1.sock") &&
		!strcmp(spec.channel, "unix:/run/vm1.sock"),
		"unix:PATH: name, type, path and canonical channel");
	ok(spec_ok("vm_2=unix-listen:/run/vm2.sock", &spec) &&
		spec.uri.transport == &lh_transport_unix_listen &&
		!strcmp(spec.channel, "unix-listen:/run/vm2.sock"),
		"unix-listen:PATH");
	ok(spec_ok("Vm-3=tcp-listen://127.0.0.1:4000", &spec) &&
		spec.uri.transport == &lh_transport_tcp_listen &&
		!strcmp(spec.uri.host, "127.0.0.1") && spec.uri.port == 4000 &&
		!strcmp(spec.channel, "tcp-listen://127.0.0.1:4000"),
		"tcp-listen://ADDR:PORT");
	ok(spec_ok("v6=tcp-listen://[::1]:4000", &spec) &&
		!strcmp(spec.channel, "tcp-listen://[::1]:4000"),
		"tcp-listen with an IPv6 address");
	snprintf(want, sizeof(want), "%s/rel.sock", dir);
	ok(spec_ok("vm5=unix:rel.sock", &spec) && !strcmp(spec.uri.path, want),
		"a relative socket path is made absolute: %s", spec.uri.path);
	memset(name, 'n', sizeof(name));
	memset(long_name, 's', sizeof(long_name));
	snprintf(arg, sizeof(arg), "%.*s=unix:/x", LTTNG_HYPER_NAME_MAX_LEN, name);
	ok(spec_ok(arg, &spec), "a %d-character name", LTTNG_HYPER_NAME_MAX_LEN);

	ok(spec_refused("vm1"), "no '=' refused");
	ok(spec_refused("=unix:/x"), "empty name refused");
	ok(spec_refused("-vm=unix:/x"), "name starting with '-' refused");
	ok(spec_refused("v.m=unix:/x"), "'.' in a name refused");
	ok(spec_refused("v m=unix:/x"), "blank in a name refused");
	ok(spec_refused("a/b=unix:/x"), "'/' in a name refused");
	ok(spec_refused("caf\xc3\xa9=unix:/x"), "non-ASCII name refused");
	snprintf(arg, sizeof(arg), "%.*s=unix:/x", LTTNG_HYPER_NAME_MAX_LEN + 1, name);
	ok(spec_refused(arg), "a %d-character name refused", LTTNG_HYPER_NAME_MAX_LEN + 1);

	ok(spec_refused("vm=virtio-serial:/dev/vport0p1"), "virtio-serial: (a guest end) refused");
	ok(spec_refused("vm=tcp://127.0.0.1:4000"), "tcp:// (a guest end) refused");
	ok(spec_refused("vm=http://127.0.0.1:4000"), "unknown scheme refused");
	ok(spec_refused("vm=/run/vm.sock"), "bare path refused");
	ok(spec_refused("vm="), "empty channel refused");
	ok(spec_refused("vm=unix:"), "unix: without a path refused");
	ok(spec_refused("vm=tcp-listen://127.0.0.1"), "tcp-listen without a port refused");
	/* A socket path fills sun_path with its NUL once made absolute. */
	room = sizeof(spec.uri.path) - 1 - strlen(dir) - 1;
	snprintf(arg, sizeof(arg), "vm=unix:%.*s", (int) room, long_name);
	ok(spec_ok(arg, &spec) && strlen(spec.uri.path) == sizeof(spec.uri.path) - 1,
		"relative path filling sun_path once absolute");
	strcat(arg, "s");
	ok(spec_refused(arg), "relative path one byte too long once absolute refused");

	ok(conflict("vm1=unix:/run/a.sock", "vm1=unix:/run/b.sock", "vm1"),
		"one name twice conflicts");
	ok(conflict("vm1=unix:/run/a.sock", "vm2=unix:/run/a.sock", "unix:/run/a.sock"),
		"one unix channel twice conflicts");
	snprintf(arg, sizeof(arg), "vm1=unix:%s/a.sock", dir);
	snprintf(want, sizeof(want), "unix:%s/a.sock", dir);
	ok(conflict(arg, "vm2=unix:a.sock", want),
		"one socket named absolute and relative conflicts");
	ok(conflict("vm1=tcp-listen://127.0.0.1:4000", "vm2=tcp-listen://127.0.0.1:4000",
			"tcp-listen://127.0.0.1:4000"),
		"one TCP address twice conflicts");
	ok(conflict("vm1=unix:/run/a.sock", "vm2=unix-listen:/run/a.sock", "VM vm1"),
		"one socket to connect to and to listen on conflicts");
	ok(no_conflict("vm1=unix:/run/a.sock", "vm2=unix:/run/b.sock"),
		"two names, two channels: no conflict");
	ok(no_conflict("vm1=tcp-listen://127.0.0.1:4000", "vm2=tcp-listen://127.0.0.1:4001"),
		"two ports: no conflict");
}

/*
 * The far end of the channel: a listening socket in the loop. Each
 * connection is timestamped, then hung up on (PEER_HANG_UP) or answered
 * by a guest mux (PEER_GUEST) that opens one connection once ready.
 */
enum peer_mode {
	PEER_HANG_UP,
	PEER_GUEST,
};

struct peer {
	int listen_fd;
	struct lh_watch *watch;
	enum peer_mode mode;
	unsigned int accepts;
	uint64_t accept_ns[MAX_ACCEPTS];
	struct lh_mux *guest;
	bool guest_ready;
	bool guest_failed;
	int app_fd;		/* the local end of the guest's connection */
};

/* What the VM channel told its owner. */
struct owner {
	unsigned int connects, disconnects, opens;
};

static struct peer peer = { .listen_fd = -1, .app_fd = -1 };
static struct owner owner;

static void guest_on_ready(struct lh_mux *mux, const struct lttng_hyper_hello *hello)
{
	int sv[2];

	peer.guest_ready = true;
	/* The host sees the OPEN after our HELLO, so only once it is ready itself. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) {
		diag("socketpair: %s", strerror(errno));
		return;
	}
	peer.app_fd = sv[1];
	if (!lh_mux_open(mux, LTTNG_HYPER_CONN_CONTROL, sv[0])) {
		diag("the guest cannot open a connection");
	}
}

static int guest_on_open(struct lh_mux *mux, struct lh_mux_conn *conn,
		enum lttng_hyper_conn_kind kind, const char *path)
{
	return -1;
}

static void guest_on_channel_error(struct lh_mux *mux, const char *why)
{
	peer.guest_failed = true;
	lh_mux_destroy(mux);
	peer.guest = NULL;
}

static const struct lh_mux_ops guest_ops = {
	.on_ready = guest_on_ready,
	.on_open = guest_on_open,
	.on_channel_error = guest_on_channel_error,
};

static void guest_stop(void)
{
	lh_mux_destroy(peer.guest);
	peer.guest = NULL;
	if (peer.app_fd >= 0) {
		close(peer.app_fd);
		peer.app_fd = -1;
	}
}

static void guest_start(int fd)
{
	struct lh_mux_config cfg;

	guest_stop();
	peer.guest_ready = false;
	peer.guest_failed = false;
	lh_mux_config_init(&cfg, LH_MUX_GUEST);
	cfg.log_ctx = "channel=test";
	peer.guest = lh_mux_create(loop, fd, &cfg, &guest_ops, NULL);
	if (!peer.guest) {
		diag("cannot start the guest mux");
		close(fd);
	}
}

static void peer_accept_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	int conn_fd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (conn_fd < 0) {
		return;
	}
	if (peer.accepts < MAX_ACCEPTS) {
		peer.accept_ns[peer.accepts] = lh_now_ns();
	}
	peer.accepts++;
	if (peer.mode == PEER_HANG_UP) {
		close(conn_fd);
		return;
	}
	guest_start(conn_fd);
}

static bool peer_listen(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	peer.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (peer.listen_fd < 0 || bind(peer.listen_fd, (struct sockaddr *) &sun, sizeof(sun)) ||
			listen(peer.listen_fd, 16)) {
		diag("listen on %s: %s", path, strerror(errno));
		return false;
	}
	peer.watch = lh_loop_watch(loop, peer.listen_fd, EPOLLIN, peer_accept_cb, NULL);
	return peer.watch != NULL;
}

static void peer_close(const char *path)
{
	guest_stop();
	lh_watch_remove(peer.watch);
	peer.watch = NULL;
	if (peer.listen_fd >= 0) {
		close(peer.listen_fd);
		peer.listen_fd = -1;
		unlink(path);
	}
}

static bool accepted(void *arg)
{
	return peer.accepts >= *(unsigned int *) arg;
}

/* Wait for connection number n (from 1), long enough for any back-off. */
static bool wait_accept(unsigned int n)
{
	return lh_test_run_until(loop, accepted, &n, 2 * LH_RECONNECT_MAX_MS);
}

/* Milliseconds between two lh_now_ns() stamps. */
static double ms_between(uint64_t from_ns, uint64_t to_ns)
{
	return (double) (int64_t) (to_ns - from_ns) / 1e6;
}

/* Milliseconds from connection a to connection b (from 1). */
static double accept_gap(unsigned int a, unsigned int b)
{
	if (a < 1 || b > MAX_ACCEPTS || peer.accepts < b) {
		return -1;
	}
	return ms_between(peer.accept_ns[a - 1], peer.accept_ns[b - 1]);
}

static bool host_opened(void *arg)
{
	return owner.opens >= *(unsigned int *) arg;
}

static bool guest_gone(void *arg)
{
	return peer.guest_failed;
}

static int owner_on_connect(struct lh_vm_channel *vc)
{
	owner.connects++;
	return 0;
}

static int owner_on_open(struct lh_vm_channel *vc, struct lh_mux_conn *conn,
		enum lttng_hyper_conn_kind kind, const char *path)
{
	owner.opens++;
	return -1;
}

static void owner_on_disconnect(struct lh_vm_channel *vc)
{
	owner.disconnects++;
}

static const struct lh_vm_channel_ops owner_ops = {
	.on_connect = owner_on_connect,
	.on_open = owner_on_open,
	.on_disconnect = owner_on_disconnect,
};

/*
 * The timeline, in units of the minimum back-off m: attempts at 0, m,
 * 3m and 7m; the listener comes at 4.5m, so the one at 7m connects.
 * Hung up on, the channel comes back after 8m, 16m, then the cap. A
 * connection that gets as far as the guest's HELLO resets the back-off.
 * About 55m in all.
 */
static void test_backoff(const char *dir)
{
	char arg[256], err[256];
	struct lh_vm_channel_config cfg;
	struct lh_vm_channel *vc;
	struct lh_vm_spec spec;
	uint64_t start_ns, listen_ns, mark_ns;
	double first, d1, d2, d3, reset, again, after_drop;
	unsigned int n;

	snprintf(arg, sizeof(arg), "vm-test=unix:%s/chan.sock", dir);
	if (lh_vm_spec_parse(arg, &spec, err, sizeof(err))) {
		diag("%s: %s", arg, err);
		skip(19, "no channel");
		return;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.name = spec.name;
	cfg.uri = spec.uri;
	cfg.stall_timeout_ms = LH_DEFAULT_RELAYD_TIMEOUT_MS;
	cfg.max_conns = LH_DEFAULT_MAX_CONNS;
	vc = lh_vm_channel_create(loop, &cfg, &owner_ops, NULL);
	if (!vc) {
		skip(19, "no channel");
		return;
	}

	start_ns = lh_now_ns();
	ok(lh_vm_channel_start(vc) == 0 && !lh_vm_channel_mux(vc),
		"a connecting channel starts with nothing listening");
	lh_test_run_for(loop, LH_RECONNECT_MIN_MS * 9 / 2);
	ok(owner.connects == 0 && !lh_vm_channel_mux(vc), "no connection while nothing listens");
	listen_ns = lh_now_ns();
	peer.mode = PEER_HANG_UP;
	ok(peer_listen(spec.uri.path) && wait_accept(1), "it connects once something listens");
	first = peer.accepts >= 1 ? ms_between(start_ns, peer.accept_ns[0]) : -1;
	ok(first >= 6 * MIN_MS && first <= 12 * MIN_MS &&
		(peer.accepts < 1 || ms_between(listen_ns, peer.accept_ns[0]) >= 1.5 * MIN_MS),
		"failed attempts back off from the minimum: connected after %.0f ms (attempts at 0, 1, 3, 7 x %d ms)",
		first, LH_RECONNECT_MIN_MS);

	/* Hang up on each connection: it never got to the HELLO, so the back-off goes on. */
	ok(wait_accept(2) && wait_accept(3), "hung up on, it comes back each time");
	/* The next one, after the capped delay, is answered as a guest. */
	peer.mode = PEER_GUEST;
	n = 1;
	ok(wait_accept(4) && lh_test_run_until(loop, host_opened, &n, 2000) && lh_vm_channel_mux(vc),
		"a guest connects and the channel comes up");
	d1 = accept_gap(1, 2);
	d2 = accept_gap(2, 3);
	d3 = accept_gap(3, 4);
	ok(d1 >= 0.9 * 8 * MIN_MS && d1 <= 1.5 * 8 * MIN_MS,
		"the next delay is 8 x the minimum: %.0f ms", d1);
	ok(d1 > 0 && d2 / d1 >= 1.6 && d2 / d1 <= 2.5,
		"the delay doubles: %.0f ms then %.0f ms", d1, d2);
	ok(d3 >= 0.9 * MAX_MS && d3 <= 1.25 * MAX_MS,
		"the delay is capped at the maximum: %.0f ms (uncapped it would be %.0f ms)",
		d3, 2 * d2);

	/* The HELLO exchange reset the back-off. */
	peer.mode = PEER_HANG_UP;
	mark_ns = lh_now_ns();
	guest_stop();
	ok(wait_accept(5), "the guest hangs up: it reconnects");
	reset = peer.accepts >= 5 ? ms_between(mark_ns, peer.accept_ns[4]) : -1;
	ok(reset >= 0.9 * MIN_MS && reset < MAX_MS / 2,
		"after a channel that came up, the back-off restarts from the minimum: %.0f ms",
		reset);
	peer.mode = PEER_GUEST;
	ok(wait_accept(6), "hung up on again, it comes back");
	again = accept_gap(5, 6);
	ok(reset > 0 && again / reset >= 1.5 && again / reset <= 2.6,
		"and doubles from there: %.0f ms then %.0f ms", reset, again);

	/* The owner drops a channel that is up: it reconnects. */
	n = 2;
	ok(lh_test_run_until(loop, host_opened, &n, 2000) && lh_vm_channel_mux(vc), "the guest is up again");
	mark_ns = lh_now_ns();
	lh_vm_channel_drop(vc, "dropped by the test");
	ok(!lh_vm_channel_mux(vc) && owner.disconnects == 6,
		"lh_vm_channel_drop closes the connection at once (%u disconnects)",
		owner.disconnects);
	ok(lh_test_run_until(loop, guest_gone, NULL, 2000), "the guest sees the channel close");
	ok(wait_accept(7), "after a drop, it reconnects");
	after_drop = peer.accepts >= 7 ? ms_between(mark_ns, peer.accept_ns[6]) : -1;
	ok(after_drop >= 0.9 * MIN_MS && after_drop < MAX_MS / 2,
		"after the drop of a channel that was up, it waits the minimum: %.0f ms",
		after_drop);
	n = 3;
	ok(lh_test_run_until(loop, host_opened, &n, 2000) && lh_vm_channel_mux(vc) &&
		owner.connects == 7 && owner.disconnects == 6 && peer.accepts == 7,
		"one on_connect per connection (%u), one on_disconnect per closed one (%u)",
		owner.connects, owner.disconnects);

	lh_vm_channel_destroy(vc);
	peer.guest_failed = false;
	lh_test_run_until(loop, guest_gone, NULL, 2000);
	peer_close(spec.uri.path);
}

int main(void)
{
	char dir[] = DIR_TEMPLATE;
	int cwd_fd;

	plan_tests(NUM_TESTS);
	signal(SIGPIPE, SIG_IGN);
	lh_log_init("test_vm_channel");
	lh_log_set_level(LH_LOG_ERR);
	loop = lh_loop_create();
	cwd_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!loop || cwd_fd < 0 || !mkdtemp(dir) || chdir(dir)) {
		diag("cannot set up: %s", strerror(errno));
		return 1;
	}

	test_spec(dir);
	test_backoff(dir);

	if (fchdir(cwd_fd) || rmdir(dir)) {
		diag("cannot remove %s: %s", dir, strerror(errno));
	}
	close(cwd_fd);
	lh_loop_destroy(loop);
	return exit_status();
}
