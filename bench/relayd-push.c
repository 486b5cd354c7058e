/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * relayd-push: push trace packets to a relay daemon as fast as possible.
 *
 * A synthetic lttng-relayd client for the VM benchmark (bench/vm.sh). It
 * speaks protocol 2.13 the way lttng-sessiond and lttng-consumerd do:
 * VERSION, CREATE_SESSION, CREATE_TRACE_CHUNK and ADD_STREAM on the
 * control connection, then data packets on the data connection, each
 * followed by its SEND_INDEX on the control connection. Unlike
 * consumerd, it keeps a few index replies outstanding instead of waiting
 * for each, so the figure is the capacity of the path, not its latency.
 * The clock stops when DATA_PENDING says that the relay daemon wrote the
 * last packet and its index.
 *
 * Pointed at lttng-hyperd (127.0.0.1:5342/5343, the default), it
 * measures hyper's data path: lttng-hyperd, the channel,
 * lttng-hyper-relayd and lttng-relayd.
 *
 * With --port PATH, it writes the data packets as lttng-consumerd does for
 * a channel of enable-channel --output=hyper (doc/output-hyper.md): each
 * packet's relayd data frame (the same header, then the packet) goes into
 * the data port PATH (a virtio-serial port, /dev/virtio-ports/
 * org.lttng.hyper.data.ust64, or a unix socket) instead of a data
 * connection, while the control connection and the indexes still go to
 * the relay daemon. It measures the data ports' path: the port,
 * lttng-hyper-relayd's --vm-data and lttng-relayd.
 *
 * With --latency N, it measures the path's latency instead (bench/nested.sh):
 * after VERSION and CREATE_SESSION, N GET_CONFIGURATION commands, one at a
 * time. lttng-hyper-relayd checks and forwards that command and
 * lttng-relayd answers it without touching a disk, so each round trip is
 * the relaying cost of the whole chain plus a trivial reply.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "common/relayd-msg.h"

/* Fixed parts of the 2.11+ messages (lttng-tools' sessiond-comm/relayd.h). */
#define PUSH_CREATE_SESSION_LEN		59
#define PUSH_CS_OFF_UUID		18
#define PUSH_CREATE_CHUNK_LEN		20
#define PUSH_ADD_STREAM_LEN		32
/* struct lttcomm_relayd_index of protocol >= 2.8: ten u64. */
#define PUSH_INDEX_LEN			80

#define PUSH_SESSION_NAME		"relayd-push"
#define PUSH_CHANNEL_NAME		"push_0"
#define PUSH_STREAM_PATH		"ust/uid/0/64-bit"
#define PUSH_CHUNK_ID			0
/* Longest CREATE_SESSION reply path accepted (LTTNG_PATH_MAX). */
#define PUSH_MAX_REPLY_PATH		4096
/*
 * SEND_INDEX commands sent before their replies are read: a few keep the
 * path busy, and lttng-hyper-relayd closes a channel with more than 16
 * commands awaiting a reply.
 */
#define PUSH_MAX_INFLIGHT		8
/* How often DATA_PENDING is asked again while packets are in flight. */
#define PUSH_PENDING_POLL_NS		1000000L
/* How long a data port may take nothing, as lttng-consumerd's default. */
#define PUSH_PORT_TIMEOUT_MS		10000

struct push_opts {
	const char *host;
	const char *ctrl_port;
	const char *data_port;
	/* A data port to write the frames into, instead of the data connection. */
	const char *port;
	uint64_t total;
	uint32_t packet;
	/* Round trips to time; 0: push packets. */
	uint32_t latency_rounds;
};

struct push_conn {
	int ctrl;
	int data;
	uint32_t minor;
	uint64_t stream;
	/* SEND_INDEX replies not read yet. */
	uint64_t replies_due;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int connect_tcp(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int fd = -1, ret;

	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		ERR("%s:%s: %s", host, port, gai_strerror(ret));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			continue;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			break;
		}
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		PERROR("cannot connect to %s:%s", host, port);
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * The data port, as lttng-consumerd opens it: a unix socket is connected,
 * anything else (a virtio-serial port, a FIFO) opened for writing; both
 * non-blocking. A blocking write to a virtio-serial port waits until the
 * host took each buffer, which lttng-consumerd does not do.
 */
static int open_port(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (stat(path, &st) < 0) {
		PERROR("data port %s", path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			PERROR("cannot open the data port %s", path);
		}
		return fd;
	}
	if (strlen(path) >= sizeof(addr.sun_path)) {
		ERR("data port %s: a unix socket's path must be shorter than %zu bytes", path,
			sizeof(addr.sun_path));
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		PERROR("socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0 ||
			fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		PERROR("cannot connect to the data port %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A non-blocking data port took nothing: wait until it takes more, at most
 * PUSH_PORT_TIMEOUT_MS, as lttng-consumerd does. A write that took nothing
 * without an error (a virtio-serial port whose queue was full) and POLLHUP
 * alone (its host side not connected) are tried again 1 ms later.
 */
static int wait_writable(int fd, bool took_nothing)
{
	const struct timespec pause = { .tv_nsec = 1000000L };
	uint64_t deadline = now_ns() + PUSH_PORT_TIMEOUT_MS * 1000000ULL;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int ret;

	if (took_nothing) {
		nanosleep(&pause, NULL);
		return 0;
	}
	for (;;) {
		uint64_t now = now_ns();

		if (now >= deadline) {
			ERR("the data port took nothing for %d ms", PUSH_PORT_TIMEOUT_MS);
			return -1;
		}
		ret = poll(&pfd, 1, (int) ((deadline - now) / 1000000ULL) + 1);
		if (ret < 0 && errno != EINTR) {
			PERROR("poll");
			return -1;
		}
		if (ret > 0 && (pfd.revents & POLLOUT)) {
			return 0;
		}
		if (ret > 0 && (pfd.revents & (POLLERR | POLLNVAL))) {
			ERR("the data port failed");
			return -1;
		}
		if (ret > 0) {
			nanosleep(&pause, NULL);
		}
	}
}

static int writev_all(int fd, struct iovec *iov, int iovcnt)
{
	ssize_t n;

	while (iovcnt > 0) {
		n = writev(fd, iov, iovcnt);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (wait_writable(fd, false) < 0) {
					return -1;
				}
				continue;
			}
			PERROR("send");
			return -1;
		}
		if (n == 0) {
			if (wait_writable(fd, true) < 0) {
				return -1;
			}
			continue;
		}
		while (iovcnt > 0 && (size_t) n >= iov->iov_len) {
			n -= (ssize_t) iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (uint8_t *) iov->iov_base + n;
			iov->iov_len -= (size_t) n;
		}
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = recv(fd, p, len, 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			PERROR("recv");
			return -1;
		}
		if (n == 0) {
			ERR("the relay daemon closed the control connection");
			return -1;
		}
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

static int send_cmd(struct push_conn *c, uint32_t cmd, const void *payload, size_t len)
{
	struct lh_relayd_ctrl_hdr hdr = { .data_size = len, .cmd = cmd };
	uint8_t raw[LH_RELAYD_CTRL_HDR_LEN];
	struct iovec iov[2] = {
		{ .iov_base = raw, .iov_len = sizeof(raw) },
		{ .iov_base = (void *) payload, .iov_len = len },
	};

	lh_relayd_ctrl_hdr_encode(&hdr, raw);
	return writev_all(c->ctrl, iov, len ? 2 : 1);
}

/* A generic reply's ret_code, or -1. */
static int64_t recv_generic(struct push_conn *c)
{
	uint8_t raw[4];

	if (recv_all(c->ctrl, raw, sizeof(raw)) < 0) {
		return -1;
	}
	return lh_get_be32(raw);
}

/* Send a command with a generic reply, and expect LTTNG_OK. */
static int cmd_ok(struct push_conn *c, uint32_t cmd, const void *payload, size_t len)
{
	int64_t ret;

	if (send_cmd(c, cmd, payload, len) < 0) {
		return -1;
	}
	ret = recv_generic(c);
	if (ret < 0) {
		return -1;
	}
	if (ret != LH_RELAYD_RET_OK) {
		ERR("%s refused (code %" PRId64 ")", lh_relayd_cmd_str(cmd), ret);
		return -1;
	}
	return 0;
}

static int negotiate_version(struct push_conn *c)
{
	uint8_t body[8];

	lh_relayd_version_encode(LH_RELAYD_MAJOR, LH_RELAYD_MINOR_MAX, body);
	if (send_cmd(c, LH_RELAYD_VERSION, body, sizeof(body)) < 0 ||
			recv_all(c->ctrl, body, sizeof(body)) < 0) {
		return -1;
	}
	c->minor = lh_get_be32(body + 4);
	if (lh_get_be32(body) != LH_RELAYD_MAJOR || c->minor < LH_RELAYD_MINOR_MIN) {
		ERR("the relay daemon speaks %" PRIu32 ".%" PRIu32 ", 2.%d or later is needed",
			lh_get_be32(body), c->minor, LH_RELAYD_MINOR_MIN);
		return -1;
	}
	if (c->minor > LH_RELAYD_MINOR_MAX) {
		c->minor = LH_RELAYD_MINOR_MAX;
	}
	return 0;
}

static int create_session(struct push_conn *c)
{
	static const char name[] = PUSH_SESSION_NAME;
	uint8_t msg[PUSH_CREATE_SESSION_LEN + sizeof(name) + 256] = { 0 };
	uint8_t reply[16], path[PUSH_MAX_REPLY_PATH];
	char host[256] = { 0 };
	size_t host_len, len;
	uint32_t path_len;

	if (gethostname(host, sizeof(host) - 1) < 0) {
		PERROR("gethostname");
		return -1;
	}
	host_len = strlen(host) + 1;
	lh_put_be32(msg, sizeof(name));
	lh_put_be32(msg + 4, (uint32_t) host_len);
	/* base_path_len, live_timer, snapshot and name_contains_creation_time: 0. */
	if (getrandom(msg + PUSH_CS_OFF_UUID, LH_RELAYD_UUID_LEN, 0) != LH_RELAYD_UUID_LEN) {
		PERROR("getrandom");
		return -1;
	}
	/* A nil UUID means a peer older than 2.11 to lttng-relayd. */
	msg[PUSH_CS_OFF_UUID] |= 1;
	lh_put_be64(msg + 34, 1);			/* session_id */
	lh_put_be64(msg + 42, (uint64_t) time(NULL));	/* creation_time */
	/* current_chunk_id unset: CREATE_TRACE_CHUNK follows. */
	len = PUSH_CREATE_SESSION_LEN;
	memcpy(msg + len, name, sizeof(name));
	len += sizeof(name);
	memcpy(msg + len, host, host_len);
	len += host_len;

	if (send_cmd(c, LH_RELAYD_CREATE_SESSION, msg, len) < 0 ||
			recv_all(c->ctrl, reply, sizeof(reply)) < 0) {
		return -1;
	}
	if (lh_get_be32(reply + 8) != LH_RELAYD_RET_OK) {
		ERR("CREATE_SESSION refused (code %" PRIu32 ")", lh_get_be32(reply + 8));
		return -1;
	}
	path_len = lh_get_be32(reply + 12);
	if (path_len > sizeof(path)) {
		ERR("CREATE_SESSION reply with a path of %" PRIu32 " bytes", path_len);
		return -1;
	}
	return recv_all(c->ctrl, path, path_len);
}

static int create_chunk(struct push_conn *c)
{
	uint8_t msg[PUSH_CREATE_CHUNK_LEN] = { 0 };

	lh_put_be64(msg, PUSH_CHUNK_ID);
	lh_put_be64(msg + 8, (uint64_t) time(NULL));
	/* override_name_length 0: the chunk is the session's folder. */
	return cmd_ok(c, LH_RELAYD_CREATE_TRACE_CHUNK, msg, sizeof(msg));
}

static int add_stream(struct push_conn *c)
{
	static const char channel[] = PUSH_CHANNEL_NAME, path[] = PUSH_STREAM_PATH;
	uint8_t msg[PUSH_ADD_STREAM_LEN + sizeof(channel) + sizeof(path)] = { 0 };
	uint8_t reply[12];

	lh_put_be32(msg, sizeof(channel));
	lh_put_be32(msg + 4, sizeof(path));
	/* tracefile_size and tracefile_count 0: one unbounded file. */
	lh_put_be64(msg + 24, PUSH_CHUNK_ID);
	memcpy(msg + PUSH_ADD_STREAM_LEN, channel, sizeof(channel));
	memcpy(msg + PUSH_ADD_STREAM_LEN + sizeof(channel), path, sizeof(path));
	if (send_cmd(c, LH_RELAYD_ADD_STREAM, msg, sizeof(msg)) < 0 ||
			recv_all(c->ctrl, reply, sizeof(reply)) < 0) {
		return -1;
	}
	if (lh_get_be32(reply + 8) != LH_RELAYD_RET_OK) {
		ERR("ADD_STREAM refused (code %" PRIu32 ")", lh_get_be32(reply + 8));
		return -1;
	}
	c->stream = lh_get_be64(reply);
	return 0;
}

/* Read the oldest SEND_INDEX reply. */
static int read_index_reply(struct push_conn *c)
{
	int64_t ret;

	ret = recv_generic(c);
	if (ret < 0) {
		return -1;
	}
	if (ret != LH_RELAYD_RET_OK) {
		ERR("SEND_INDEX refused (code %" PRId64 ")", ret);
		return -1;
	}
	c->replies_due--;
	return 0;
}

static int send_packet(struct push_conn *c, uint64_t seq, const uint8_t *payload,
		uint32_t len, uint64_t ts)
{
	struct lh_relayd_data_hdr hdr = {
		.stream_id = c->stream, .net_seq_num = seq, .data_size = len,
	};
	uint8_t raw[LH_RELAYD_DATA_HDR_LEN], index[PUSH_INDEX_LEN] = { 0 };
	struct iovec iov[2] = {
		{ .iov_base = raw, .iov_len = sizeof(raw) },
		{ .iov_base = (void *) payload, .iov_len = len },
	};

	lh_relayd_data_hdr_encode(&hdr, raw);
	if (writev_all(c->data, iov, 2) < 0) {
		return -1;
	}
	/* The index, as consumerd sends it: sizes in bits. */
	lh_put_be64(index, c->stream);
	lh_put_be64(index + 8, seq);
	lh_put_be64(index + 16, (uint64_t) len * 8);
	lh_put_be64(index + 24, (uint64_t) len * 8);
	lh_put_be64(index + 32, ts);
	lh_put_be64(index + 40, ts);
	lh_put_be64(index + 72, seq);	/* packet_seq_num */
	while (c->replies_due >= PUSH_MAX_INFLIGHT) {
		if (read_index_reply(c) < 0) {
			return -1;
		}
	}
	if (send_cmd(c, LH_RELAYD_SEND_INDEX, index, sizeof(index)) < 0) {
		return -1;
	}
	c->replies_due++;
	return 0;
}

/* Wait until lttng-relayd wrote every packet up to last_seq, and its index. */
static int wait_written(struct push_conn *c, uint64_t last_seq)
{
	const struct timespec pause = { .tv_nsec = PUSH_PENDING_POLL_NS };
	uint8_t msg[16];
	int64_t ret;

	while (c->replies_due > 0) {
		if (read_index_reply(c) < 0) {
			return -1;
		}
	}
	lh_put_be64(msg, c->stream);
	lh_put_be64(msg + 8, last_seq);
	for (;;) {
		if (send_cmd(c, LH_RELAYD_DATA_PENDING, msg, sizeof(msg)) < 0) {
			return -1;
		}
		ret = recv_generic(c);
		if (ret < 0) {
			return -1;
		}
		/* DATA_PENDING answers 1 (pending) or 0, not an error code. */
		if (ret == 0) {
			return 0;
		}
		if (ret != 1) {
			ERR("DATA_PENDING failed (code %" PRId64 ")", ret);
			return -1;
		}
		nanosleep(&pause, NULL);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* One GET_CONFIGURATION round trip, in ns, or 0 on failure. */
static uint64_t config_round_trip(struct push_conn *c)
{
	uint8_t query[8] = { 0 }, reply[12];
	uint64_t t0, t1;

	/* No query flag: lttng-relayd refuses the ones it does not know. */
	t0 = now_ns();
	if (send_cmd(c, LH_RELAYD_GET_CONFIGURATION, query, sizeof(query)) < 0 ||
			recv_all(c->ctrl, reply, sizeof(reply)) < 0) {
		return 0;
	}
	t1 = now_ns();
	if (lh_get_be32(reply) != LH_RELAYD_RET_OK) {
		ERR("GET_CONFIGURATION refused (code %" PRIu32 ")", lh_get_be32(reply));
		return 0;
	}
	/* A round trip is never shorter than a nanosecond: 0 stays the error. */
	return t1 > t0 ? t1 - t0 : 1;
}

static int latency(const struct push_opts *o)
{
	struct push_conn c = { .ctrl = -1, .data = -1 };
	uint64_t *rtt, sum = 0;
	uint32_t i, n = o->latency_rounds;
	int ret = -1;

	rtt = calloc(n, sizeof(*rtt));
	if (!rtt) {
		ERR("out of memory for %" PRIu32 " round trips", n);
		return -1;
	}
	c.ctrl = connect_tcp(o->host, o->ctrl_port);
	if (c.ctrl < 0) {
		goto end;
	}
	if (negotiate_version(&c) < 0 || create_session(&c) < 0) {
		goto end;
	}
	if (c.minor < 12) {
		ERR("GET_CONFIGURATION needs protocol 2.12, the relay daemon speaks 2.%" PRIu32,
			c.minor);
		goto end;
	}
	for (i = 0; i < n; i++) {
		rtt[i] = config_round_trip(&c);
		if (!rtt[i]) {
			goto end;
		}
		sum += rtt[i];
	}
	qsort(rtt, n, sizeof(*rtt), cmp_u64);
	/* p99 by nearest rank: at least 99% of the round trips took no longer. */
	printf("relayd-push: %" PRIu32 " GET_CONFIGURATION round trips: min %.1f us, median %.1f us, "
		"mean %.1f us, p99 %.1f us, max %.1f us\n", n, rtt[0] / 1e3,
		(n % 2 ? rtt[n / 2] : (rtt[n / 2 - 1] + rtt[n / 2]) / 2) / 1e3,
		(double) sum / n / 1e3, rtt[((uint64_t) n * 99 + 99) / 100 - 1] / 1e3,
		rtt[n - 1] / 1e3);
	ret = 0;
end:
	if (c.ctrl >= 0) {
		close(c.ctrl);
	}
	free(rtt);
	return ret;
}

static int push(const struct push_opts *o)
{
	struct push_conn c = { .ctrl = -1, .data = -1 };
	uint64_t packets, seq, t0, t1, bytes;
	uint8_t *payload, close_msg[16];
	int ret = -1;

	payload = malloc(o->packet);
	if (!payload) {
		ERR("out of memory for a %" PRIu32 "-byte packet", o->packet);
		return -1;
	}
	/* Not zeros: a compressing path would make the figure meaningless. */
	for (seq = 0; seq < o->packet; seq++) {
		payload[seq] = (uint8_t) (seq * 2654435761U >> 24);
	}
	packets = (o->total + o->packet - 1) / o->packet;

	c.ctrl = connect_tcp(o->host, o->ctrl_port);
	if (c.ctrl < 0) {
		goto end;
	}
	c.data = o->port ? open_port(o->port) : connect_tcp(o->host, o->data_port);
	if (c.data < 0) {
		goto end;
	}
	if (negotiate_version(&c) < 0 || create_session(&c) < 0 ||
			create_chunk(&c) < 0 || add_stream(&c) < 0) {
		goto end;
	}

	t0 = now_ns();
	for (seq = 0; seq < packets; seq++) {
		if (send_packet(&c, seq, payload, o->packet, now_ns()) < 0) {
			goto end;
		}
	}
	if (wait_written(&c, packets - 1) < 0) {
		goto end;
	}
	t1 = now_ns();

	lh_put_be64(close_msg, c.stream);
	lh_put_be64(close_msg + 8, packets - 1);
	if (cmd_ok(&c, LH_RELAYD_CLOSE_STREAM, close_msg, sizeof(close_msg)) < 0) {
		goto end;
	}
	bytes = packets * o->packet;
	printf("relayd-push: %" PRIu64 " bytes in %" PRIu64 " us, %.1f MB/s (protocol 2.%" PRIu32
		", %" PRIu64 " packets of %" PRIu32 " bytes%s%s)\n",
		bytes, (t1 - t0) / 1000, (double) bytes * 1000.0 / (double) (t1 - t0),
		c.minor, packets, o->packet, o->port ? ", into the data port " : "",
		o->port ? o->port : "");
	ret = 0;
end:
	if (c.data >= 0) {
		close(c.data);
	}
	if (c.ctrl >= 0) {
		close(c.ctrl);
	}
	free(payload);
	return ret;
}

static int parse_size(const char *opt, const char *str, uint64_t min, uint64_t max,
		uint64_t *out)
{
	unsigned long long val;
	char *end;

	errno = 0;
	val = strtoull(str, &end, 10);
	if (errno || end == str || str[0] == '-') {
		goto invalid;
	}
	switch (*end) {
	case 'K':
		val <<= 10;
		end++;
		break;
	case 'M':
		val <<= 20;
		end++;
		break;
	case 'G':
		val <<= 30;
		end++;
		break;
	}
	if (*end != '\0' || val < min || val > max) {
		goto invalid;
	}
	*out = val;
	return 0;
invalid:
	ERR("invalid %s '%s' (%" PRIu64 " to %" PRIu64 ", with an optional K, M or G)",
		opt, str, min, max);
	return -1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: relayd-push [-H HOST] [-C PORT] [-D PORT | -P PATH] [-s BYTES] [-p BYTES]\n"
		"       relayd-push [-H HOST] [-C PORT] -l ROUNDS\n"
		"\n"
		"Push trace packets to a relay daemon as fast as it takes them, and print\n"
		"the rate at which it wrote them; or, with -l, time ROUNDS control round\n"
		"trips (GET_CONFIGURATION, one at a time) and print their distribution.\n"
		"  -H, --host HOST         relay daemon's address (default 127.0.0.1)\n"
		"  -C, --control-port P    control port (default 5342)\n"
		"  -D, --data-port P       data port (default 5343)\n"
		"  -P, --port PATH         write the data frames into the data port PATH (a\n"
		"                          virtio-serial port or a unix socket), as\n"
		"                          lttng-consumerd does for --output=hyper\n"
		"  -s, --size BYTES        bytes to push, e.g. 256M (default 256M)\n"
		"  -p, --packet BYTES      packet size, e.g. 256K (default 256K)\n"
		"  -l, --latency ROUNDS    time ROUNDS round trips instead of pushing\n"
		"  -h, --help              this help\n");
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "control-port", required_argument, NULL, 'C' },
		{ "data-port", required_argument, NULL, 'D' },
		{ "port", required_argument, NULL, 'P' },
		{ "size", required_argument, NULL, 's' },
		{ "packet", required_argument, NULL, 'p' },
		{ "latency", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct push_opts o = {
		.host = "127.0.0.1", .ctrl_port = "5342", .data_port = "5343",
		.total = 256ULL << 20, .packet = 256U << 10,
	};
	uint64_t val;
	int opt;

	lh_log_init("relayd-push");
	while ((opt = getopt_long(argc, argv, "H:C:D:P:s:p:l:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'H':
			o.host = optarg;
			break;
		case 'C':
			o.ctrl_port = optarg;
			break;
		case 'D':
			o.data_port = optarg;
			break;
		case 'P':
			o.port = optarg;
			break;
		case 's':
			if (parse_size("size", optarg, 1, 1ULL << 40, &o.total) < 0) {
				return EXIT_FAILURE;
			}
			break;
		case 'p':
			if (parse_size("packet", optarg, 1, LH_RELAYD_MAX_PACKET, &val) < 0) {
				return EXIT_FAILURE;
			}
			o.packet = (uint32_t) val;
			break;
		case 'l':
			if (parse_size("latency", optarg, 1, 1U << 24, &val) < 0) {
				return EXIT_FAILURE;
			}
			o.latency_rounds = (uint32_t) val;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_FAILURE;
	}
	if (o.latency_rounds) {
		return latency(&o) ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	return push(&o) ? EXIT_FAILURE : EXIT_SUCCESS;
}
