/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * port-guest: a guest's lttng-consumerd that writes its trace packets to
 * a data port of lttng-hyper-relayd (doc/output-hyper.md).
 *
 * It speaks relayd protocol 2.13 on one control connection per session,
 * as lttng-sessiond and lttng-consumerd do (in a guest role, through
 * lttng-hyperd): VERSION, CREATE_SESSION, CREATE_TRACE_CHUNK, ADD_STREAM
 * of a metadata stream and of data streams, SEND_METADATA. Then each
 * packet goes as a relayd data frame into the data port, not to a data
 * connection, and its SEND_INDEX on the control connection. At the end,
 * DATA_PENDING until lttng-relayd wrote every packet, then CLOSE_STREAM.
 *
 * The packets are valid CTF, so that babeltrace2 judges what the host
 * wrote: each holds events "hyper_test:seq" numbered from --base, and an
 * event's time grows with its number, so that babeltrace2 shows them in
 * number order. The packets go round-robin over every stream of every
 * session, and --expect lists the number of every event the host must
 * have, once.
 *
 * With --attack, it misbehaves on the port once, in place of packet
 * --at (counting every stream's packets): garbage, a frame for a stream
 * of another VM (--foreign), a frame over the relay's --max-data-frame,
 * or a frame cut short by closing the port. It then expects the relay
 * to close the port (it closes it itself for a cut), connects again, and
 * goes on: every packet arrives but the cut one and the rest of its
 * session, which lttng-relayd ends with the cut.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/bytes.h"
#include "common/defaults.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/number.h"
#include "common/relayd-msg.h"

/* Fixed parts of the 2.11+ messages (lttng-tools' sessiond-comm/relayd.h). */
#define PG_CREATE_SESSION_LEN	59
#define PG_CREATE_CHUNK_LEN	20
#define PG_ADD_STREAM_LEN	32
#define PG_INDEX_LEN		80
#define PG_MAX_REPLY_PATH	4096
#define PG_CHUNK_ID		0
#define PG_STREAM_PATH		"ust/uid/0/64-bit"
/* SEND_INDEX replies left unread, as consumerd would not, to keep the path busy. */
#define PG_MAX_INFLIGHT		8

/* CTF: the stream packet header and context below, then 20-byte events. */
#define CTF_MAGIC		0xC1FC1FC1U
#define CTF_PACKET_HDR_LEN	84
#define CTF_EVENT_LEN		20
#define CTF_PACKET_ALIGN	4096
#define MD_MAGIC		0x75D11D57U
#define MD_HDR_LEN		37
/* Each event is this many ns after the one numbered before it. */
#define EVENT_NS		1000000

struct pg_opts {
	const char *host;
	uint16_t ctrl_port;
	const char *port;		/* the data port's channel */
	const char *name;		/* session names: NAME-0, NAME-1... */
	unsigned int sessions;
	unsigned int streams;		/* data streams per session */
	uint64_t packets;		/* per stream */
	unsigned int events;		/* per packet */
	uint64_t base;			/* the first event's number */
	uint64_t rate;			/* packets per second at most; 0: no bound */
	const char *attack;
	uint64_t at;
	uint64_t foreign;
	uint64_t max_frame;
	const char *expect;
	uint64_t timeout_ms;
};

struct pg_stream {
	uint64_t id;			/* lttng-relayd's */
	uint64_t next_seq;		/* net_seq_num of its next frame */
};

struct pg_session {
	int ctrl;
	char name[128];
	uint8_t uuid[16];		/* the trace's */
	uint64_t md_stream;
	struct pg_stream *streams;
	uint64_t replies_due;		/* SEND_INDEX replies not read */
	bool abandoned;			/* its data connection was cut */
};

struct pg {
	struct pg_opts o;
	struct lttng_hyper_channel_uri uri;
	int listen_fd;			/* unix-listen: the relay connects to us */
	int port_fd;
	struct pg_session *s;
	uint64_t t0;			/* the first event's time */
	uint8_t *pkt;
	size_t pkt_cap;
	FILE *expect;
	uint64_t frames;
	uint64_t expected;
};

static void put_le64(uint8_t *p, uint64_t v)
{
	lh_put_le32(p, (uint32_t) v);
	lh_put_le32(p + 4, (uint32_t) (v >> 32));
}

static uint64_t deadline(const struct pg *pg)
{
	return lh_now_ms() + pg->o.timeout_ms;
}

/* --- sockets ------------------------------------------------------------ */

/* Blocking, with timeouts: no step may hang the test. */
static int set_blocking(const struct pg *pg, int fd)
{
	struct timeval tv = {
		.tv_sec = pg->o.timeout_ms / 1000,
		.tv_usec = (pg->o.timeout_ms % 1000) * 1000,
	};
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		PERROR("socket options");
		return -1;
	}
	return 0;
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
			return -1;
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

static int write_all(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };

	return writev_all(fd, &iov, 1);
}

static int recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			if (n == 0) {
				errno = ECONNRESET;
			}
			PERROR("receiving from the relay daemon");
			return -1;
		}
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

/* The data port: connect to the relay, or take its connection. */
static int port_open(struct pg *pg)
{
	uint64_t end = deadline(pg);
	struct pollfd pfd;
	int fd;

	for (;;) {
		if (pg->listen_fd >= 0) {
			pfd = (struct pollfd) { .fd = pg->listen_fd, .events = POLLIN };
			if (poll(&pfd, 1, 100) > 0) {
				fd = accept4(pg->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			} else {
				fd = -1;
			}
		} else {
			fd = lttng_hyper_channel_connect(&pg->uri);
		}
		if (fd >= 0) {
			break;
		}
		if (lh_now_ms() >= end) {
			ERR("no data port connection on %s after %" PRIu64 " ms", pg->o.port,
				pg->o.timeout_ms);
			return -1;
		}
		if (pg->listen_fd < 0) {
			usleep(50000);
		}
	}
	if (set_blocking(pg, fd) < 0) {
		close(fd);
		return -1;
	}
	pg->port_fd = fd;
	return 0;
}

/*
 * After an attack: the relay must close the port. Returns 0 once it did
 * (EOF, or a reset), -1 if it is still open at the deadline.
 */
static int port_wait_closed(struct pg *pg)
{
	uint64_t start = lh_now_ms(), end = deadline(pg);
	uint8_t buf[4096];
	struct pollfd pfd = { .fd = pg->port_fd, .events = POLLIN };
	ssize_t n;

	while (lh_now_ms() < end) {
		if (poll(&pfd, 1, 100) <= 0) {
			continue;
		}
		n = recv(pg->port_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			continue;
		}
		if (n <= 0) {
			printf("port-guest: the relay closed the port after %" PRIu64 " ms (%s)\n",
				lh_now_ms() - start, n ? strerror(errno) : "EOF");
			return 0;
		}
	}
	printf("port-guest: the port is still open after %" PRIu64 " ms\n", pg->o.timeout_ms);
	return -1;
}

static void port_close(struct pg *pg)
{
	if (pg->port_fd >= 0) {
		close(pg->port_fd);
		pg->port_fd = -1;
	}
}

/* --- relayd control ----------------------------------------------------- */

static int send_cmd(int fd, uint32_t cmd, const void *payload, size_t len)
{
	struct lh_relayd_ctrl_hdr hdr = { .data_size = len, .cmd = cmd };
	uint8_t raw[LH_RELAYD_CTRL_HDR_LEN];
	struct iovec iov[2] = {
		{ .iov_base = raw, .iov_len = sizeof(raw) },
		{ .iov_base = (void *) payload, .iov_len = len },
	};

	lh_relayd_ctrl_hdr_encode(&hdr, raw);
	if (writev_all(fd, iov, len ? 2 : 1) < 0) {
		PERROR("sending %s", lh_relayd_cmd_str(cmd));
		return -1;
	}
	return 0;
}

/* A generic reply's ret_code, or -1. */
static int64_t recv_generic(int fd)
{
	uint8_t raw[4];

	if (recv_all(fd, raw, sizeof(raw)) < 0) {
		return -1;
	}
	return lh_get_be32(raw);
}

static int cmd_ok(int fd, uint32_t cmd, const void *payload, size_t len)
{
	int64_t ret;

	if (send_cmd(fd, cmd, payload, len) < 0) {
		return -1;
	}
	ret = recv_generic(fd);
	if (ret != LH_RELAYD_RET_OK) {
		ERR("%s refused (%" PRId64 ")", lh_relayd_cmd_str(cmd), ret);
		return -1;
	}
	return 0;
}

static int ctrl_connect_once(const struct pg *pg, struct pg_session *s)
{
	uint8_t body[8];
	uint32_t minor;

	s->ctrl = lttng_hyper_tcp_connect(pg->o.host, pg->o.ctrl_port);
	if (s->ctrl >= 0) {
		struct pollfd pfd = { .fd = s->ctrl, .events = POLLOUT };
		int err = 0;
		socklen_t len = sizeof(err);

		if (poll(&pfd, 1, (int) pg->o.timeout_ms) != 1 ||
				getsockopt(s->ctrl, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			errno = err ? err : ETIMEDOUT;
			close(s->ctrl);
			s->ctrl = -1;
		}
	}
	if (s->ctrl < 0 || set_blocking(pg, s->ctrl) < 0) {
		return -1;
	}
	lh_relayd_version_encode(LH_RELAYD_MAJOR, LH_RELAYD_MINOR_MAX, body);
	if (send_cmd(s->ctrl, LH_RELAYD_VERSION, body, sizeof(body)) < 0 ||
			recv_all(s->ctrl, body, sizeof(body)) < 0) {
		close(s->ctrl);
		s->ctrl = -1;
		return -1;
	}
	minor = lh_get_be32(body + 4);
	if (lh_get_be32(body) != LH_RELAYD_MAJOR || minor < LH_RELAYD_MINOR_MIN) {
		ERR("the relay daemon speaks %" PRIu32 ".%" PRIu32, lh_get_be32(body), minor);
		return -1;
	}
	return 0;
}

/* lttng-hyperd refuses connections until its channel is up: try again until then. */
static int ctrl_connect(const struct pg *pg, struct pg_session *s)
{
	uint64_t end = deadline(pg);

	while (ctrl_connect_once(pg, s) < 0) {
		if (s->ctrl >= 0 || lh_now_ms() >= end) {
			ERR("no relay daemon at %s:%u", pg->o.host, pg->o.ctrl_port);
			return -1;
		}
		usleep(100000);
	}
	return 0;
}

static int create_session(struct pg_session *s, uint64_t sessiond_id)
{
	uint8_t msg[PG_CREATE_SESSION_LEN + 512] = { 0 };
	uint8_t reply[16], path[PG_MAX_REPLY_PATH];
	char host[256] = { 0 };
	size_t name_len = strlen(s->name) + 1, host_len, len = PG_CREATE_SESSION_LEN;
	uint32_t path_len;

	if (gethostname(host, sizeof(host) - 1) < 0) {
		PERROR("gethostname");
		return -1;
	}
	host_len = strlen(host) + 1;
	lh_put_be32(msg, (uint32_t) name_len);
	lh_put_be32(msg + 4, (uint32_t) host_len);
	/* A random sessiond UUID: lttng-relayd takes the nil one for a peer before 2.11. */
	if (getrandom(msg + 18, LH_RELAYD_UUID_LEN, 0) != LH_RELAYD_UUID_LEN) {
		PERROR("getrandom");
		return -1;
	}
	msg[18] |= 1;
	lh_put_be64(msg + 34, sessiond_id);
	lh_put_be64(msg + 42, (uint64_t) time(NULL));
	memcpy(msg + len, s->name, name_len);
	len += name_len;
	memcpy(msg + len, host, host_len);
	len += host_len;
	if (send_cmd(s->ctrl, LH_RELAYD_CREATE_SESSION, msg, len) < 0 ||
			recv_all(s->ctrl, reply, sizeof(reply)) < 0) {
		return -1;
	}
	path_len = lh_get_be32(reply + 12);
	if (path_len > sizeof(path) || recv_all(s->ctrl, path, path_len) < 0) {
		return -1;
	}
	if (lh_get_be32(reply + 8) != LH_RELAYD_RET_OK) {
		ERR("CREATE_SESSION refused (%" PRIu32 ")", lh_get_be32(reply + 8));
		return -1;
	}
	printf("port-guest: session %s: relayd session %" PRIu64 " in %.*s\n", s->name,
		lh_get_be64(reply), (int) path_len, (const char *) path);
	return 0;
}

static int create_chunk(struct pg_session *s)
{
	uint8_t msg[PG_CREATE_CHUNK_LEN] = { 0 };

	lh_put_be64(msg, PG_CHUNK_ID);
	lh_put_be64(msg + 8, (uint64_t) time(NULL));
	return cmd_ok(s->ctrl, LH_RELAYD_CREATE_TRACE_CHUNK, msg, sizeof(msg));
}

static int add_stream(struct pg_session *s, const char *channel, uint64_t *id)
{
	static const char path[] = PG_STREAM_PATH;
	uint8_t msg[PG_ADD_STREAM_LEN + 64 + sizeof(path)] = { 0 };
	size_t channel_len = strlen(channel) + 1;
	uint8_t reply[12];

	lh_put_be32(msg, (uint32_t) channel_len);
	lh_put_be32(msg + 4, sizeof(path));
	/* tracefile_size and tracefile_count 0: one unbounded file. */
	lh_put_be64(msg + 24, PG_CHUNK_ID);
	memcpy(msg + PG_ADD_STREAM_LEN, channel, channel_len);
	memcpy(msg + PG_ADD_STREAM_LEN + channel_len, path, sizeof(path));
	if (send_cmd(s->ctrl, LH_RELAYD_ADD_STREAM, msg,
			PG_ADD_STREAM_LEN + channel_len + sizeof(path)) < 0 ||
			recv_all(s->ctrl, reply, sizeof(reply)) < 0) {
		return -1;
	}
	if (lh_get_be32(reply + 8) != LH_RELAYD_RET_OK) {
		ERR("ADD_STREAM %s refused (%" PRIu32 ")", channel, lh_get_be32(reply + 8));
		return -1;
	}
	*id = lh_get_be64(reply);
	return 0;
}

static int read_index_reply(struct pg_session *s)
{
	int64_t ret = recv_generic(s->ctrl);

	if (ret != LH_RELAYD_RET_OK) {
		ERR("SEND_INDEX refused (%" PRId64 ")", ret);
		return -1;
	}
	s->replies_due--;
	return 0;
}

/* Wait until lttng-relayd wrote every frame of the session's streams, and its index. */
static int wait_written(const struct pg *pg, struct pg_session *s)
{
	uint64_t end = deadline(pg);
	uint8_t msg[16];
	unsigned int j;
	int64_t ret;

	while (s->replies_due) {
		if (read_index_reply(s) < 0) {
			return -1;
		}
	}
	for (j = 0; j < pg->o.streams; j++) {
		if (!s->streams[j].next_seq) {
			continue;
		}
		lh_put_be64(msg, s->streams[j].id);
		lh_put_be64(msg + 8, s->streams[j].next_seq - 1);
		for (;;) {
			if (send_cmd(s->ctrl, LH_RELAYD_DATA_PENDING, msg, sizeof(msg)) < 0) {
				return -1;
			}
			/* DATA_PENDING answers 1 (pending) or 0, not an error code. */
			ret = recv_generic(s->ctrl);
			if (ret == 0) {
				break;
			}
			if (ret != 1 || lh_now_ms() >= end) {
				ERR("session %s, stream %" PRIu64 ": DATA_PENDING %s", s->name,
					s->streams[j].id, ret == 1 ? "still pending" : "failed");
				return -1;
			}
			usleep(2000);
		}
	}
	return 0;
}

static int close_streams(const struct pg *pg, struct pg_session *s)
{
	uint8_t msg[16];
	unsigned int j;

	for (j = 0; j < pg->o.streams; j++) {
		lh_put_be64(msg, s->streams[j].id);
		lh_put_be64(msg + 8, s->streams[j].next_seq - 1);
		if (cmd_ok(s->ctrl, LH_RELAYD_CLOSE_STREAM, msg, sizeof(msg)) < 0) {
			return -1;
		}
	}
	lh_put_be64(msg, s->md_stream);
	lh_put_be64(msg + 8, UINT64_MAX);
	return cmd_ok(s->ctrl, LH_RELAYD_CLOSE_STREAM, msg, sizeof(msg));
}

/* --- CTF ----------------------------------------------------------------- */

static void uuid_str(const uint8_t *u, char *out)
{
	sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		u[12], u[13], u[14], u[15]);
}

/* The trace's metadata, one packet of it, as LTTng's consumerd sends it. */
static int send_metadata(struct pg_session *s)
{
	struct timespec mono, real;
	char uuid[40], host[256] = { 0 }, text[4096];
	uint8_t msg[12 + MD_HDR_LEN + sizeof(text)];
	size_t len, content;
	uint32_t packet;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	uuid_str(s->uuid, uuid);
	if (gethostname(host, sizeof(host) - 1) < 0) {
		PERROR("gethostname");
		return -1;
	}
	n = snprintf(text, sizeof(text),
		"/* CTF 1.8 */\n\n"
		"typealias integer { size = 8; align = 8; signed = false; } := uint8_t;\n"
		"typealias integer { size = 32; align = 8; signed = false; } := uint32_t;\n"
		"typealias integer { size = 64; align = 8; signed = false; } := uint64_t;\n\n"
		"trace {\n"
		"\tmajor = 1;\n\tminor = 8;\n\tuuid = \"%s\";\n\tbyte_order = le;\n"
		"\tpacket.header := struct {\n"
		"\t\tuint32_t magic;\n\t\tuint8_t uuid[16];\n"
		"\t\tuint32_t stream_id;\n\t\tuint64_t stream_instance_id;\n"
		"\t};\n};\n\n"
		"env {\n\thostname = \"%s\";\n\tdomain = \"ust\";\n"
		"\ttracer_name = \"lttng-hyper-port-guest\";\n"
		"\ttracer_major = 1;\n\ttracer_minor = 0;\n};\n\n"
		"clock {\n\tname = \"monotonic\";\n\tuuid = \"%s\";\n"
		"\tdescription = \"Monotonic Clock\";\n"
		"\tfreq = 1000000000; /* Frequency, in Hz */\n"
		"\t/* clock value offset from Epoch is: offset * (1/freq) */\n"
		"\toffset = %" PRIu64 ";\n};\n\n"
		"typealias integer {\n\tsize = 64; align = 8; signed = false;\n"
		"\tmap = clock.monotonic.value;\n} := uint64_clock_monotonic_t;\n\n"
		"stream {\n\tid = 0;\n"
		"\tevent.header := struct {\n"
		"\t\tuint32_t id;\n\t\tuint64_clock_monotonic_t timestamp;\n\t};\n"
		"\tpacket.context := struct {\n"
		"\t\tuint64_clock_monotonic_t timestamp_begin;\n"
		"\t\tuint64_clock_monotonic_t timestamp_end;\n"
		"\t\tuint64_t content_size;\n\t\tuint64_t packet_size;\n"
		"\t\tuint64_t packet_seq_num;\n\t\tuint64_t events_discarded;\n"
		"\t\tuint32_t cpu_id;\n\t};\n};\n\n"
		"event {\n\tname = \"hyper_test:seq\";\n\tid = 0;\n\tstream_id = 0;\n"
		"\tfields := struct {\n\t\tuint64_t seq;\n\t};\n};\n",
		uuid, host, uuid,
		(uint64_t) ((real.tv_sec - mono.tv_sec) * 1000000000LL +
			(real.tv_nsec - mono.tv_nsec)));
	if (n < 0 || (size_t) n >= sizeof(text)) {
		ERR("metadata too long");
		return -1;
	}
	len = (size_t) n;
	content = MD_HDR_LEN + len;
	/* Room to grow in: the relay widens the clock's fields it rewrites. */
	packet = (uint32_t) ((content + CTF_PACKET_ALIGN) / CTF_PACKET_ALIGN * CTF_PACKET_ALIGN);
	memset(msg, 0, 12 + MD_HDR_LEN);
	lh_put_be64(msg, s->md_stream);
	lh_put_be32(msg + 8, packet - (uint32_t) content);
	lh_put_le32(msg + 12, MD_MAGIC);
	memcpy(msg + 12 + 4, s->uuid, 16);
	lh_put_le32(msg + 12 + 24, (uint32_t) content * 8);
	lh_put_le32(msg + 12 + 28, packet * 8);
	msg[12 + 35] = 1;
	msg[12 + 36] = 8;
	memcpy(msg + 12 + MD_HDR_LEN, text, len);
	return send_cmd(s->ctrl, LH_RELAYD_SEND_METADATA, msg, 12 + content);
}

/*
 * Packet p of global stream g: events numbered from first, each EVENT_NS
 * after the one before. Returns its content size; *packet_size is the
 * size lttng-relayd writes (the rest is padding).
 */
static size_t build_packet(struct pg *pg, const struct pg_session *s, uint64_t g, uint64_t p,
		uint64_t first, uint64_t *packet_size)
{
	size_t content = CTF_PACKET_HDR_LEN + (size_t) pg->o.events * CTF_EVENT_LEN;
	uint64_t ts_first = pg->t0 + (first - pg->o.base) * EVENT_NS;
	uint8_t *b = pg->pkt, *e;
	unsigned int i;

	*packet_size = (content + CTF_PACKET_ALIGN - 1) / CTF_PACKET_ALIGN * CTF_PACKET_ALIGN;
	lh_put_le32(b, CTF_MAGIC);
	memcpy(b + 4, s->uuid, 16);
	lh_put_le32(b + 20, 0);
	put_le64(b + 24, g);
	put_le64(b + 32, ts_first);
	put_le64(b + 40, ts_first + (pg->o.events - 1) * EVENT_NS);
	put_le64(b + 48, content * 8);
	put_le64(b + 56, *packet_size * 8);
	put_le64(b + 64, p);
	put_le64(b + 72, 0);
	lh_put_le32(b + 80, (uint32_t) g);
	for (i = 0, e = b + CTF_PACKET_HDR_LEN; i < pg->o.events; i++, e += CTF_EVENT_LEN) {
		lh_put_le32(e, 0);
		put_le64(e + 4, ts_first + i * EVENT_NS);
		put_le64(e + 12, first + i);
	}
	return content;
}

static void data_hdr(uint8_t *raw, uint64_t stream, uint64_t seq, uint32_t size,
		uint32_t padding)
{
	const struct lh_relayd_data_hdr hdr = {
		.stream_id = stream,
		.net_seq_num = seq,
		.data_size = size,
		.padding_size = padding,
	};

	lh_relayd_data_hdr_encode(&hdr, raw);
}

/* --- the run --------------------------------------------------------------- */

static int session_setup(struct pg *pg, unsigned int i)
{
	struct pg_session *s = &pg->s[i];
	char channel[32];
	unsigned int j;

	snprintf(s->name, sizeof(s->name), "%s-%u", pg->o.name, i);
	if (getrandom(s->uuid, sizeof(s->uuid), 0) != sizeof(s->uuid)) {
		PERROR("getrandom");
		return -1;
	}
	s->streams = calloc(pg->o.streams, sizeof(*s->streams));
	if (!s->streams) {
		ERR("out of memory");
		return -1;
	}
	if (ctrl_connect(pg, s) < 0 || create_session(s, i + 1) < 0 || create_chunk(s) < 0 ||
			add_stream(s, "metadata", &s->md_stream) < 0 || send_metadata(s) < 0) {
		return -1;
	}
	for (j = 0; j < pg->o.streams; j++) {
		snprintf(channel, sizeof(channel), "chan_%u", j);
		if (add_stream(s, channel, &s->streams[j].id) < 0) {
			return -1;
		}
		printf("port-guest: session %s: stream %s is relayd stream %" PRIu64 "\n",
			s->name, channel, s->streams[j].id);
	}
	return 0;
}

/* One packet: its frame into the port, its index on the control connection. */
static int send_packet(struct pg *pg, uint64_t k)
{
	uint64_t G = (uint64_t) pg->o.sessions * pg->o.streams;
	uint64_t g = k % G, p = k / G, first = pg->o.base + k * pg->o.events;
	struct pg_session *s = &pg->s[g / pg->o.streams];
	struct pg_stream *st = &s->streams[g % pg->o.streams];
	uint8_t raw[LH_RELAYD_DATA_HDR_LEN], index[PG_INDEX_LEN] = { 0 };
	uint64_t packet_size, i;
	size_t content = build_packet(pg, s, g, p, first, &packet_size);
	struct iovec iov[2] = {
		{ .iov_base = raw, .iov_len = sizeof(raw) },
		{ .iov_base = pg->pkt, .iov_len = content },
	};

	data_hdr(raw, st->id, st->next_seq, (uint32_t) content,
		(uint32_t) (packet_size - content));
	if (writev_all(pg->port_fd, iov, 2) < 0) {
		PERROR("writing packet %" PRIu64 " to the data port", k);
		return -1;
	}
	pg->frames++;
	lh_put_be64(index, st->id);
	lh_put_be64(index + 8, st->next_seq);
	lh_put_be64(index + 16, packet_size * 8);
	lh_put_be64(index + 24, (uint64_t) content * 8);
	lh_put_be64(index + 32, lh_get_le64(pg->pkt + 32));
	lh_put_be64(index + 40, lh_get_le64(pg->pkt + 40));
	lh_put_be64(index + 64, g);			/* stream_instance_id */
	lh_put_be64(index + 72, p);			/* packet_seq_num */
	st->next_seq++;
	while (s->replies_due >= PG_MAX_INFLIGHT) {
		if (read_index_reply(s) < 0) {
			return -1;
		}
	}
	if (send_cmd(s->ctrl, LH_RELAYD_SEND_INDEX, index, sizeof(index)) < 0) {
		return -1;
	}
	s->replies_due++;
	for (i = 0; i < pg->o.events; i++) {
		fprintf(pg->expect, "%" PRIu64 "\n", first + i);
	}
	pg->expected += pg->o.events;
	return 0;
}

/* Misbehave once, in place of packet k. Returns 0 if the relay did as it must. */
static int attack(struct pg *pg, uint64_t k)
{
	uint64_t G = (uint64_t) pg->o.sessions * pg->o.streams;
	uint64_t g = k % G, p = k / G, first = pg->o.base + k * pg->o.events;
	struct pg_session *s = &pg->s[g / pg->o.streams];
	struct pg_stream *st = &s->streams[g % pg->o.streams];
	uint8_t raw[LH_RELAYD_DATA_HDR_LEN];
	uint64_t packet_size;
	size_t content = build_packet(pg, s, g, p, first, &packet_size);
	const char *mode = pg->o.attack;
	unsigned int i;

	printf("port-guest: attack %s in place of packet %" PRIu64 " (stream %" PRIu64 ")\n",
		mode, k, st->id);
	if (!strcmp(mode, "cut")) {
		/* What came before is written: only the cut frame is lost. */
		if (wait_written(pg, s) < 0) {
			return -1;
		}
		data_hdr(raw, st->id, st->next_seq, (uint32_t) content,
			(uint32_t) (packet_size - content));
		if (write_all(pg->port_fd, raw, sizeof(raw)) < 0 ||
				write_all(pg->port_fd, pg->pkt, content / 2) < 0) {
			PERROR("writing the cut frame");
			return -1;
		}
		port_close(pg);
		printf("port-guest: closed the port in the middle of packet %" PRIu64 "\n", k);
		s->abandoned = true;
		return port_open(pg);
	}
	if (!strcmp(mode, "garbage")) {
		for (i = 0; i < sizeof(raw); i++) {
			raw[i] = (uint8_t) (i * 2654435761U >> 13);
		}
		raw[0] |= 0x80;		/* a circuit_id, never 0 */
		content = 0;
	} else if (!strcmp(mode, "foreign")) {
		data_hdr(raw, pg->o.foreign, 0, (uint32_t) content,
			(uint32_t) (packet_size - content));
	} else if (!strcmp(mode, "oversized")) {
		/* Past the relay's bound by one byte, within what the field holds. */
		data_hdr(raw, st->id, st->next_seq, pg->o.max_frame + 1 > UINT32_MAX ?
			UINT32_MAX : (uint32_t) (pg->o.max_frame + 1), 0);
	} else {
		ERR("unknown attack %s", mode);
		return -1;
	}
	/* The relay may close the port before it takes all: a write error is no failure. */
	if (write_all(pg->port_fd, raw, sizeof(raw)) == 0 && content) {
		(void) write_all(pg->port_fd, pg->pkt, content);
	}
	if (port_wait_closed(pg) < 0) {
		return -1;
	}
	port_close(pg);
	if (port_open(pg) < 0) {
		return -1;
	}
	/* The packet itself now goes, whole. */
	return send_packet(pg, k);
}

static int run(struct pg *pg)
{
	uint64_t G = (uint64_t) pg->o.sessions * pg->o.streams, k, start_ms;
	struct timespec ts;
	unsigned int i;
	char err[256];

	if (lttng_hyper_channel_parse(pg->o.port, &pg->uri, err, sizeof(err)) < 0) {
		ERR("--port %s: %s", pg->o.port, err);
		return -1;
	}
	if (lttng_hyper_channel_is_listener(&pg->uri)) {
		pg->listen_fd = lttng_hyper_channel_listen(&pg->uri);
		if (pg->listen_fd < 0) {
			PERROR("listening on %s", pg->o.port);
			return -1;
		}
	}
	pg->pkt_cap = CTF_PACKET_HDR_LEN + (size_t) pg->o.events * CTF_EVENT_LEN;
	pg->pkt = malloc(pg->pkt_cap);
	pg->s = calloc(pg->o.sessions, sizeof(*pg->s));
	if (!pg->pkt || !pg->s) {
		ERR("out of memory");
		return -1;
	}
	for (i = 0; i < pg->o.sessions; i++) {
		pg->s[i].ctrl = -1;
	}
	for (i = 0; i < pg->o.sessions; i++) {
		if (session_setup(pg, i) < 0) {
			return -1;
		}
	}
	if (port_open(pg) < 0) {
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pg->t0 = (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
	start_ms = lh_now_ms();
	for (k = 0; k < G * pg->o.packets; k++) {
		if (pg->s[(k % G) / pg->o.streams].abandoned) {
			continue;
		}
		if (pg->o.rate) {
			uint64_t due_ms = start_ms + k * 1000 / pg->o.rate;
			uint64_t now_ms = lh_now_ms();

			if (due_ms > now_ms) {
				usleep((useconds_t) (due_ms - now_ms) * 1000);
			}
		}
		if (pg->o.attack && k == pg->o.at) {
			if (attack(pg, k) < 0) {
				return -1;
			}
			continue;
		}
		if (send_packet(pg, k) < 0) {
			return -1;
		}
	}
	for (i = 0; i < pg->o.sessions; i++) {
		if (pg->s[i].abandoned) {
			continue;
		}
		if (wait_written(pg, &pg->s[i]) < 0 || close_streams(pg, &pg->s[i]) < 0) {
			return -1;
		}
	}
	printf("port-guest: %" PRIu64 " frames written, %" PRIu64 " events expected on the host\n",
		pg->frames, pg->expected);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: port-guest -p CHANNEL -x FILE [OPTION]...\n"
		"\n"
		"Trace synthetic CTF events as a guest lttng-consumerd with a data port: control\n"
		"through the relay daemon at HOST, packets into the data port CHANNEL\n"
		"(unix:PATH, or unix-listen:PATH for a relay that connects), and list the\n"
		"events the host must have in FILE.\n"
		"  -H, --host HOST         relay daemon (lttng-hyperd) address (default 127.0.0.1)\n"
		"  -C, --control-port P    its control port (default 5342)\n"
		"  -p, --port CHANNEL      the data port\n"
		"  -N, --name NAME         sessions NAME-0, NAME-1... (default port-guest)\n"
		"  -s, --sessions N        sessions (default 1)\n"
		"  -S, --streams N         data streams per session (default 2)\n"
		"  -n, --packets N         packets per stream (default 50)\n"
		"  -e, --events N          events per packet (default 100)\n"
		"  -b, --base N            number of the first event (default 0)\n"
		"  -r, --rate N            N packets a second at most (default: no bound)\n"
		"  -a, --attack MODE       garbage, foreign, oversized or cut, once\n"
		"  -k, --at K              in place of packet K, all streams counted (default 5)\n"
		"  -f, --foreign ID        foreign: another VM's relayd stream id\n"
		"  -m, --max-frame BYTES   oversized: the relay's --max-data-frame\n"
		"  -x, --expect FILE       write the numbers of the events the host must have\n"
		"  -t, --timeout MS        bound of each wait (default 20000)\n");
}

static int parse_opt_u64(const char *opt, const char *arg, uint64_t min, uint64_t max,
		uint64_t *out)
{
	if (lh_parse_u64(arg, min, max, out) < 0) {
		ERR("%s: \"%s\" is not a number from %" PRIu64 " to %" PRIu64, opt, arg, min, max);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "control-port", required_argument, NULL, 'C' },
		{ "port", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'N' },
		{ "sessions", required_argument, NULL, 's' },
		{ "streams", required_argument, NULL, 'S' },
		{ "packets", required_argument, NULL, 'n' },
		{ "events", required_argument, NULL, 'e' },
		{ "base", required_argument, NULL, 'b' },
		{ "rate", required_argument, NULL, 'r' },
		{ "attack", required_argument, NULL, 'a' },
		{ "at", required_argument, NULL, 'k' },
		{ "foreign", required_argument, NULL, 'f' },
		{ "max-frame", required_argument, NULL, 'm' },
		{ "expect", required_argument, NULL, 'x' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pg pg = {
		.o = {
			.host = "127.0.0.1", .ctrl_port = LH_DEFAULT_CONTROL_PORT,
			.name = "port-guest", .sessions = 1, .streams = 2, .packets = 50,
			.events = 100, .at = 5, .timeout_ms = 20000,
		},
		.listen_fd = -1,
		.port_fd = -1,
	};
	uint64_t v;
	int opt, ret = -1;

	lh_log_init("port-guest");
	/* The relay closes the port on an attack: a write then fails, it does not kill. */
	signal(SIGPIPE, SIG_IGN);
	/* Each line reaches the test even if this process ends badly. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt_long(argc, argv, "H:C:p:N:s:S:n:e:b:r:a:k:f:m:x:t:h", long_opts,
			NULL)) != -1) {
		switch (opt) {
		case 'H':
			pg.o.host = optarg;
			break;
		case 'C':
			if (parse_opt_u64("--control-port", optarg, 1, 65535, &v) < 0) {
				return EXIT_FAILURE;
			}
			pg.o.ctrl_port = (uint16_t) v;
			break;
		case 'p':
			pg.o.port = optarg;
			break;
		case 'N':
			pg.o.name = optarg;
			break;
		case 's':
		case 'S':
			if (parse_opt_u64(opt == 's' ? "--sessions" : "--streams", optarg, 1, 64,
					&v) < 0) {
				return EXIT_FAILURE;
			}
			*(opt == 's' ? &pg.o.sessions : &pg.o.streams) = (unsigned int) v;
			break;
		case 'n':
			if (parse_opt_u64("--packets", optarg, 1, 1000000, &pg.o.packets) < 0) {
				return EXIT_FAILURE;
			}
			break;
		case 'e':
			if (parse_opt_u64("--events", optarg, 1, 100000, &v) < 0) {
				return EXIT_FAILURE;
			}
			pg.o.events = (unsigned int) v;
			break;
		case 'b':
			if (parse_opt_u64("--base", optarg, 0, 1ULL << 40, &pg.o.base) < 0) {
				return EXIT_FAILURE;
			}
			break;
		case 'r':
			if (parse_opt_u64("--rate", optarg, 1, 1000000, &pg.o.rate) < 0) {
				return EXIT_FAILURE;
			}
			break;
		case 'a':
			pg.o.attack = optarg;
			break;
		case 'k':
			if (parse_opt_u64("--at", optarg, 0, UINT64_MAX, &pg.o.at) < 0) {
				return EXIT_FAILURE;
			}
			break;
		case 'f':
			if (parse_opt_u64("--foreign", optarg, 0, UINT64_MAX, &pg.o.foreign) < 0) {
				return EXIT_FAILURE;
			}
			break;
		case 'm':
			if (parse_opt_u64("--max-frame", optarg, 1, UINT32_MAX, &pg.o.max_frame) < 0) {
				return EXIT_FAILURE;
			}
			break;
		case 'x':
			pg.o.expect = optarg;
			break;
		case 't':
			if (parse_opt_u64("--timeout", optarg, 1, 3600000, &pg.o.timeout_ms) < 0) {
				return EXIT_FAILURE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (optind != argc || !pg.o.port || !pg.o.expect ||
			(pg.o.attack && !strcmp(pg.o.attack, "oversized") && !pg.o.max_frame)) {
		usage(stderr);
		return EXIT_FAILURE;
	}
	pg.expect = fopen(pg.o.expect, "w");
	if (!pg.expect) {
		PERROR("%s", pg.o.expect);
		return EXIT_FAILURE;
	}
	ret = run(&pg);
	if (fclose(pg.expect) != 0) {
		PERROR("%s", pg.o.expect);
		ret = -1;
	}
	port_close(&pg);
	if (pg.listen_fd >= 0) {
		close(pg.listen_fd);
		unlink(pg.uri.path);
	}
	if (pg.s) {
		unsigned int i;

		for (i = 0; i < pg.o.sessions; i++) {
			if (pg.s[i].ctrl >= 0) {
				close(pg.s[i].ctrl);
			}
			free(pg.s[i].streams);
		}
		free(pg.s);
	}
	free(pg.pkt);
	printf("port-guest: %s\n", ret ? "FAILED" : "done");
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}
