/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The transport seam (src/common/transport.h): the code that runs a
 * channel asks its kind's table and nothing else. A fake kind, whose
 * connections are socket pairs the test holds the other end of, goes
 * through lttng_hyper_channel_*, the endpoint (connect with back-off,
 * listen, accept, unlisten) and the --vm spec checks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/defaults.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/transport.h"
#include "common/vm-channel.h"
#include "tests/utils/loop-run.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	26

/* What the fake kind saw, and the test's ends of its connections. */
static struct {
	unsigned int opens, tunes, unlistens;
	int fail_opens;		/* opens to fail with ECONNREFUSED first */
	int peer;		/* the test's end of the last connection */
	int lfd;		/* the listening socket's peer side: a connected pair */
} fake;

static int fake_parse(const char *rest, const char *str, struct lttng_hyper_channel_uri *uri,
		char *err, size_t errlen)
{
	uint32_t id;

	if (lh_parse_u32(rest, strlen(rest), str, "fake id", &id, err, errlen) < 0) {
		return -1;
	}
	uri->port = (uint16_t) id;
	return 0;
}

static void fake_format(const struct lttng_hyper_channel_uri *uri, char *buf, size_t len)
{
	snprintf(buf, len, "%u", uri->port);
}

static int fake_connect(const struct lttng_hyper_channel_uri *uri)
{
	int sv[2];

	fake.opens++;
	if (fake.fail_opens > 0) {
		fake.fail_opens--;
		errno = ECONNREFUSED;
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		return -1;
	}
	fake.peer = sv[1];
	return sv[0];
}

/* A listener is a unix socket in the test's folder, named by the id. */
static char fake_dir[] = "/tmp/lh-test-transport.XXXXXX";

static void fake_path(const struct lttng_hyper_channel_uri *uri, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%u", fake_dir, uri->port);
}

static int fake_listen(const struct lttng_hyper_channel_uri *uri)
{
	struct sockaddr_un sun;
	int fd;

	fake.opens++;
	fake_path(uri, &sun);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0 || listen(fd, 4) < 0) {
		return -1;
	}
	return fd;
}

static int fake_tune(int fd)
{
	fake.tunes++;
	return 0;
}

static void fake_unlisten(const struct lttng_hyper_channel_uri *uri)
{
	struct sockaddr_un sun;

	fake.unlistens++;
	fake_path(uri, &sun);
	unlink(sun.sun_path);
}

static const char *fake_object(const struct lttng_hyper_channel_uri *uri)
{
	return "the one fake object";
}

static const struct lttng_hyper_transport fake_connecting = {
	.scheme = "fake:",
	.syntax = "fake:ID",
	.ends = LH_TRANSPORT_HOST_END,
	.parse = fake_parse,
	.format = fake_format,
	.open = fake_connect,
	.object = fake_object,
};

static const struct lttng_hyper_transport fake_listening = {
	.scheme = "fake-listen:",
	.syntax = "fake-listen:ID",
	.listens = true,
	.ends = LH_TRANSPORT_HOST_END,
	.parse = fake_parse,
	.format = fake_format,
	.open = fake_listen,
	.tune = fake_tune,
	.unlisten = fake_unlisten,
	.object = fake_object,
};

static int conns;
static int last_fd = -1;

static int conn_cb(struct lh_endpoint *ep, int fd, void *arg)
{
	conns++;
	if (last_fd >= 0) {
		close(last_fd);
	}
	last_fd = fd;
	return 0;
}

static bool have_conns(void *arg)
{
	return conns >= *(int *) arg;
}

static struct lttng_hyper_channel_uri fake_uri(const struct lttng_hyper_transport *t, uint16_t id)
{
	struct lttng_hyper_channel_uri uri = { .transport = t, .port = id };

	return uri;
}

static void test_dispatch(void)
{
	struct lttng_hyper_channel_uri uri = fake_uri(&fake_connecting, 7);
	char buf[64];
	int fd;

	lttng_hyper_channel_format(&uri, buf, sizeof(buf));
	ok(!strcmp(buf, "fake:7"), "format: the scheme, then the kind's address (%s)", buf);
	ok(!lttng_hyper_channel_is_listener(&uri), "a connecting kind is no listener");
	fd = lttng_hyper_channel_connect(&uri);
	ok(fd >= 0 && fake.opens == 1 && write(fake.peer, "x", 1) == 1 && read(fd, buf, 1) == 1,
		"connect opens through the kind's table");
	close(fd);
	close(fake.peer);
	ok(lttng_hyper_channel_listen(&uri) < 0 && errno == EINVAL && fake.opens == 1,
		"listen on a connecting kind: EINVAL, the kind is not asked");
	uri = fake_uri(&fake_listening, 8);
	ok(lttng_hyper_channel_connect(&uri) < 0 && errno == EINVAL,
		"connect on a listening kind: EINVAL");
	ok(lh_transport_find("fake:1") == NULL, "a kind outside transport.c's list is not parsed");
}

static void test_connecting(struct lh_loop *loop)
{
	struct lh_endpoint_config cfg = {
		.uri = fake_uri(&fake_connecting, 1),
		.log_ctx = "test",
		.label = "fake:1",
		.owner = "the test",
	};
	struct lh_endpoint *ep;
	uint64_t t0;
	int want;

	memset(&fake, 0, sizeof(fake));
	fake.fail_opens = 2;
	conns = 0;
	ep = lh_endpoint_create(loop, &cfg, conn_cb, NULL);
	ok(ep && lh_endpoint_start(ep) == 0, "a connecting endpoint of the fake kind starts");
	t0 = lh_now_ms();
	want = 1;
	ok(lh_test_run_until(loop, have_conns, &want, 4 * LH_RECONNECT_MAX_MS) &&
		fake.opens == 3, "two refused opens, then a connection");
	ok(lh_now_ms() - t0 >= 3 * LH_RECONNECT_MIN_MS,
		"the retries waited the back-off (%llu ms >= %u)",
		(unsigned long long) (lh_now_ms() - t0), 3 * LH_RECONNECT_MIN_MS);
	ok(fake.tunes == 0, "a kind with no tune() is not tuned");
	close(fake.peer);
	lh_endpoint_peer_alive(ep);
	lh_endpoint_conn_lost(ep);
	want = 2;
	ok(lh_test_run_until(loop, have_conns, &want, 4 * LH_RECONNECT_MAX_MS) &&
		fake.opens == 4, "the connection lost: the endpoint opens the kind again");
	close(fake.peer);
	lh_endpoint_destroy(ep);
	ok(fake.unlistens == 0, "destroying a connecting endpoint unlistens nothing");
}

static void test_listening(struct lh_loop *loop)
{
	struct lh_endpoint_config cfg = {
		.uri = fake_uri(&fake_listening, 2),
		.log_ctx = "test",
		.label = "fake-listen:2",
		.owner = "the test",
	};
	struct sockaddr_un sun;
	struct lh_endpoint *ep;
	int want, c1, c2;

	memset(&fake, 0, sizeof(fake));
	conns = 0;
	ep = lh_endpoint_create(loop, &cfg, conn_cb, NULL);
	ok(ep && lh_endpoint_start(ep) == 0 && fake.opens == 1,
		"a listening endpoint of the fake kind listens through its table");
	fake_path(&cfg.uri, &sun);
	c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok(c1 >= 0 && connect(c1, (struct sockaddr *) &sun, sizeof(sun)) == 0,
		"a peer connects to it");
	want = 1;
	ok(lh_test_run_until(loop, have_conns, &want, 2000) && fake.tunes == 1,
		"the accepted connection is tuned by the kind");
	c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	want = 2;
	ok(c2 >= 0 && connect(c2, (struct sockaddr *) &sun, sizeof(sun)) == 0 &&
		lh_test_run_until(loop, have_conns, &want, 2000) && fake.tunes == 2,
		"a second peer: accepted and tuned too");
	ok(write(c2, "y", 1) == 1, "bytes reach the owner's connection");
	close(c1);
	close(c2);
	lh_endpoint_destroy(ep);
	ok(fake.unlistens == 1 && access(sun.sun_path, F_OK) < 0,
		"destroying it unlistens through the kind (its socket file gone)");
}

static void test_spec_checks(void)
{
	struct lh_vm_spec a = { .name = "a" }, b = { .name = "b" };
	char err[256];

	a.uri = fake_uri(&fake_connecting, 1);
	b.uri = fake_uri(&fake_listening, 2);
	lttng_hyper_channel_format(&a.uri, a.channel, sizeof(a.channel));
	lttng_hyper_channel_format(&b.uri, b.channel, sizeof(b.channel));
	ok(lh_vm_spec_conflict(&a, &b, err, sizeof(err)) &&
		strstr(err, "uses the socket of VM a's channel fake:1"),
		"two channels on one object of the kind conflict: %s", err);
	b.uri.transport = &lh_transport_unix;
	snprintf(b.uri.path, sizeof(b.uri.path), "/run/b.sock");
	lttng_hyper_channel_format(&b.uri, b.channel, sizeof(b.channel));
	ok(!lh_vm_spec_conflict(&a, &b, err, sizeof(err)),
		"a unix socket and the fake object do not");
	ok(lh_vm_spec_parse("vm=virtio-serial:/dev/x", &a, err, sizeof(err)) < 0 &&
		strstr(err, "host end takes unix:PATH, unix-listen:PATH, tcp-listen://ADDR:PORT"),
		"a guest-end kind is refused for --vm, naming the host-end kinds: %s", err);
}

static void test_vsock(void)
{
	struct lh_vm_spec spec;
	char err[256];

	ok(lh_vm_spec_parse("l2=vsock:3:5000", &spec, err, sizeof(err)) == 0 &&
		!strcmp(spec.channel, "vsock:3:5000") &&
		lh_vm_spec_parse("l2=vsock-listen:5000", &spec, err, sizeof(err)) < 0,
		"--vm takes vsock:CID:PORT (the host names the VM by its context id), not vsock-listen");
}

static void test_kinds(void)
{
	struct lttng_hyper_channel_uri uri;
	char kinds[256], err[256];

	lh_transport_syntaxes(LH_TRANSPORT_GUEST_END, kinds, sizeof(kinds));
	ok(!strcmp(kinds, "virtio-serial:PATH, unix:PATH, tcp://HOST:PORT, vsock-listen:PORT, "
			"ivshmem:PATH[,bell=PORT]"),
		"the guest end's kinds: %s", kinds);
	ok(lttng_hyper_channel_parse("tcp-listen://127.0.0.1:1", &uri, err, sizeof(err)) == 0 &&
		uri.transport == &lh_transport_tcp_listen && uri.transport->tune,
		"tcp-listen tunes what it accepts (TCP_NODELAY)");
	ok(lttng_hyper_channel_parse("unix-listen:/x", &uri, err, sizeof(err)) == 0 &&
		uri.transport->unlisten && uri.transport->absolute,
		"unix-listen removes its socket file and makes its path absolute");
	ok(lttng_hyper_channel_parse("bogus:1", &uri, err, sizeof(err)) < 0 &&
		strstr(err, "expected virtio-serial:PATH, unix:PATH, unix-listen:PATH"),
		"an unknown kind: the message lists every kind from the table: %s", err);
}

int main(void)
{
	struct lh_loop *loop;

	plan_tests(NUM_TESTS);
	lh_log_init("test_transport");
	lh_log_set_level(LH_LOG_ERR);
	loop = lh_loop_create();
	if (!mkdtemp(fake_dir) || !loop) {
		diag("no folder or no loop: %s", strerror(errno));
		return 1;
	}
	test_dispatch();
	test_connecting(loop);
	test_listening(loop);
	test_spec_checks();
	test_kinds();
	test_vsock();
	if (last_fd >= 0) {
		close(last_fd);
	}
	lh_loop_destroy(loop);
	rmdir(fake_dir);
	return exit_status();
}
