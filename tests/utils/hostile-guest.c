/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hostile-guest: a compromised guest attacking a host relay channel.
 *
 * It connects to a channel of lttng-hyper-relayd, as a guest's
 * virtio-serial port appears to the relay, plays one attack and reports
 * on stdout what the relay did. The exit status is 0 only when the relay
 * behaved as it must (for most attacks: it closed the channel), 1 when it
 * did not or when the attack could not even be set up (a relay that
 * closes every channel must not pass), 2 on a usage or connection error.
 * With --raw, the observation is reported and the exit status is 0.
 *
 * With --nested, the channel is a child channel that a guest's
 * lttng-hyperd serves, carrying this VM's connections to the host under
 * a VM path: the host then resets the faulty connection of a nested VM
 * instead of closing the channel, and files its sessions under the
 * parent's directory.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>
#include <lttng-hyper/frame.h>

#include "common/buffer.h"
#include "common/bytes.h"
#include "common/defaults.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/relayd-msg.h"

/* Fixed parts of the 2.11+ messages (lttng-tools' sessiond-comm/relayd.h). */
#define RLY_CREATE_SESSION_FIXED_LEN	59
#define RLY_ADD_STREAM_FIXED_LEN	32
#define RLY_CREATE_CHUNK_FIXED_LEN	20

#define HG_MAX_CONNS		255
#define HG_READ_CHUNK		(64U << 10)
#define HG_SEND_CHUNK		(64U << 10)
#define HG_FLOOD_PACKET		(64U << 10)
/* SEND_METADATA's payload header (stream_id, padding_size); a metadata packet's header. */
#define HG_MD_PAYLOAD_HDR_LEN	12
#define HG_MD_PKT_HDR_LEN	37
/* SEND_INDEX commands of the flood sent ahead of their replies. */
#define HG_FLOOD_INDEX_AHEAD	8
/* The payload of each no-index packet: a page-sized sub-buffer. */
#define HG_NO_INDEX_PACKET	4096
#define HG_DEFAULT_EVIL		"../../../lh-hostile-escape"

enum hg_verdict {
	HG_PASS = 0,
	HG_FAIL = 1,
	HG_USAGE = 2,
};

struct hg_opts {
	const char *mode;
	const char *channel;
	uint64_t timeout_ms;
	uint64_t duration_ms;
	uint64_t max_bytes;
	uint64_t packets;
	uint64_t payload;	/* partial-control: the payload each message announces */
	unsigned int minor;	/* of the relayd protocol, in every VERSION */
	const char *evil;
	const char *path;	/* VM path of every OPEN, NULL: the channel's own VM */
	const char *parent;	/* --nested: the host's name of the serving guest */
	uint64_t first_stream;
	uint64_t last_stream;
	unsigned int conns;
	bool conns_set;		/* -n given: partial-control defaults to --max-conns */
	unsigned int max_conns;
	unsigned int seed;
	pid_t stall_pid;
	bool raw;
};

struct hg_conn {
	uint32_t id;
	bool reset;		/* the host sent RESET */
	uint32_t reset_reason;
	bool closed;		/* the host sent CLOSE */
	uint64_t credit;	/* DATA bytes we may still send */
	uint64_t credit_granted;	/* all CREDIT received, for the report */
	struct lh_buf rx;	/* DATA from the host not consumed yet */
};

struct hg {
	const struct hg_opts *opts;
	int fd;
	struct lh_buf in;
	struct lh_buf out;
	bool eof;		/* the host closed the channel */
	char eof_how[64];
	uint64_t eof_at;
	bool bad_host;		/* the host sent something malformed */
	bool hello_seen;
	struct lttng_hyper_hello hello;
	uint64_t pongs;
	uint32_t next_id;
	struct hg_conn *conns[HG_MAX_CONNS + 1];
	uint64_t prng;
};

/* One relayd session, every name of which an attack may replace. */
struct hg_session {
	const char *session_name;
	const char *hostname;
	const char *base_path;
	const char *chunk_name;		/* NULL: no override */
	const char *channel_name;
	const char *pathname;
	uint64_t session_id;
	uint64_t stream_id;
	char output_path[4096];
};

enum hg_step {
	HG_STEP_OK,
	HG_STEP_REFUSED,	/* lttng-relayd answered with an error */
	HG_STEP_DEAD,		/* channel closed, connection reset or timeout */
};

/* xorshift64: reproducible garbage for a given --seed. */
static uint8_t hg_random_byte(struct hg *hg)
{
	hg->prng ^= hg->prng << 13;
	hg->prng ^= hg->prng >> 7;
	hg->prng ^= hg->prng << 17;
	return hg->prng >> 32;
}

static uint64_t hg_deadline(const struct hg *hg)
{
	return lh_now_ms() + hg->opts->timeout_ms;
}

static void hg_set_eof(struct hg *hg, const char *how)
{
	if (hg->eof) {
		return;
	}
	hg->eof = true;
	hg->eof_at = lh_now_ms();
	snprintf(hg->eof_how, sizeof(hg->eof_how), "%s", how);
}

static struct hg_conn *hg_conn_get(struct hg *hg, uint32_t id)
{
	if (id == 0 || id > HG_MAX_CONNS) {
		return NULL;
	}
	return hg->conns[id];
}

static void hg_header(uint8_t *out, uint8_t type, uint32_t conn_id,
		uint16_t path_len, uint32_t body_len)
{
	struct lttng_hyper_frame_header hdr = {
		.type = type,
		.conn_id = conn_id,
		.length = path_len + body_len,
		.path_len = path_len,
	};

	lttng_hyper_frame_header_encode(&hdr, out);
}

static int hg_queue(struct hg *hg, const void *buf, size_t len)
{
	if (len && lh_buf_append(&hg->out, buf, len)) {
		ERR("Out of memory queueing %zu bytes", len);
		return -1;
	}
	return 0;
}

static int hg_queue_frame(struct hg *hg, uint8_t type, uint32_t conn_id,
		const char *path, const void *body, size_t body_len)
{
	uint8_t hdr[LTTNG_HYPER_FRAME_HEADER_LEN];
	size_t path_len = path ? strlen(path) : 0;

	hg_header(hdr, type, conn_id, path_len, body_len);
	if (hg_queue(hg, hdr, sizeof(hdr)) || hg_queue(hg, path, path_len) ||
			hg_queue(hg, body, body_len)) {
		return -1;
	}
	return 0;
}

static void hg_frame_in(struct hg *hg, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *body)
{
	struct hg_conn *conn = hg_conn_get(hg, hdr->conn_id);
	uint32_t v;

	switch (hdr->type) {
	case LTTNG_HYPER_FRAME_HELLO:
		if (lttng_hyper_hello_decode(body, hdr->length, &hg->hello)) {
			printf("host: malformed HELLO\n");
			hg->bad_host = true;
			return;
		}
		hg->hello_seen = true;
		break;
	case LTTNG_HYPER_FRAME_PING:
		/* Answer like a live guest, so that only the attack is at fault. */
		if (hdr->length == LTTNG_HYPER_PING_LEN) {
			(void) hg_queue_frame(hg, LTTNG_HYPER_FRAME_PONG, 0, NULL,
					body, hdr->length);
		}
		break;
	case LTTNG_HYPER_FRAME_PONG:
		hg->pongs++;
		break;
	case LTTNG_HYPER_FRAME_CREDIT:
		if (conn && !lttng_hyper_u32_decode(body, hdr->length, &v)) {
			conn->credit += v;
			conn->credit_granted += v;
		}
		break;
	case LTTNG_HYPER_FRAME_DATA:
		if (conn && lh_buf_append(&conn->rx, body, hdr->length)) {
			ERR("Out of memory receiving %" PRIu32 " bytes", hdr->length);
		}
		break;
	case LTTNG_HYPER_FRAME_CLOSE:
		if (conn) {
			conn->closed = true;
		}
		break;
	case LTTNG_HYPER_FRAME_RESET:
		if (conn && !lttng_hyper_u32_decode(body, hdr->length, &v)) {
			conn->reset = true;
			conn->reset_reason = v;
			printf("host: RESET conn %" PRIu32 " reason %" PRIu32 "\n",
				conn->id, v);
		}
		break;
	default:
		/* Clock probes and the like: a guest without the capability ignores them. */
		break;
	}
}

/* Decode every whole frame received so far. */
static void hg_parse(struct hg *hg)
{
	while (!hg->bad_host && lh_buf_len(&hg->in) >= LTTNG_HYPER_FRAME_HEADER_LEN) {
		struct lttng_hyper_frame_header hdr;
		const uint8_t *p = lh_buf_head(&hg->in);
		int ret;

		ret = lttng_hyper_frame_header_decode(p, LTTNG_HYPER_FRAME_MAX_LEN, &hdr);
		if (ret || hdr.path_len) {
			printf("host: malformed frame header (%s)\n",
				ret ? lttng_hyper_error_str(-ret) : "unexpected VM path");
			hg->bad_host = true;
			return;
		}
		if (lh_buf_len(&hg->in) < LTTNG_HYPER_FRAME_HEADER_LEN + hdr.length) {
			return;
		}
		hg_frame_in(hg, &hdr, p + LTTNG_HYPER_FRAME_HEADER_LEN);
		lh_buf_consume(&hg->in, LTTNG_HYPER_FRAME_HEADER_LEN + hdr.length);
	}
}

/*
 * One round of I/O: read what the host sent, write what is queued.
 * Waits at most until deadline. Returns -1 once the channel is gone.
 */
static int hg_poll(struct hg *hg, uint64_t deadline)
{
	struct pollfd pfd = { .fd = hg->fd, .events = POLLIN };
	uint64_t now = lh_now_ms();
	ssize_t ret;

	if (hg->eof) {
		return -1;
	}
	if (lh_buf_len(&hg->out)) {
		pfd.events |= POLLOUT;
	}
	ret = poll(&pfd, 1, deadline > now ? (int) (deadline - now) : 0);
	if (ret < 0) {
		if (errno == EINTR) {
			return 0;
		}
		PERROR("poll");
		hg_set_eof(hg, "poll error");
		return -1;
	}
	if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
		ret = lh_buf_read_fd(&hg->in, hg->fd, HG_READ_CHUNK);
		if (ret == 0) {
			hg_set_eof(hg, "EOF");
		} else if (ret < 0 && errno != EAGAIN && errno != EINTR) {
			hg_set_eof(hg, strerror(errno));
		}
		hg_parse(hg);
	}
	if (!hg->eof && (pfd.revents & POLLOUT)) {
		ret = lh_buf_write_fd(&hg->out, hg->fd);
		if (ret < 0 && errno != EAGAIN && errno != EINTR) {
			hg_set_eof(hg, strerror(errno));
		}
	}
	return hg->eof ? -1 : 0;
}

/* Write everything queued. Returns 0, or -1 if the channel died or stalled. */
static int hg_flush(struct hg *hg, uint64_t deadline)
{
	while (lh_buf_len(&hg->out)) {
		if (hg_poll(hg, deadline) || lh_now_ms() >= deadline) {
			return -1;
		}
	}
	return 0;
}

static int hg_connect(struct hg *hg)
{
	struct lttng_hyper_channel_uri uri;
	uint64_t deadline = hg_deadline(hg);
	struct pollfd pfd;
	char err[256];
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (lttng_hyper_channel_parse(hg->opts->channel, &uri, err, sizeof(err))) {
		ERR("Bad channel \"%s\": %s", hg->opts->channel, err);
		return -1;
	}
	if (lttng_hyper_channel_is_listener(&uri)) {
		ERR("Channel \"%s\" listens; the attacker connects to the relay",
			hg->opts->channel);
		return -1;
	}
	hg->fd = lttng_hyper_channel_connect(&uri);
	if (hg->fd < 0) {
		PERROR("Connecting to %s", hg->opts->channel);
		return -1;
	}
	pfd.fd = hg->fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, (int) (deadline - lh_now_ms())) != 1 ||
			getsockopt(hg->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) || soerr) {
		ERR("Connecting to %s: %s", hg->opts->channel,
			soerr ? strerror(soerr) : "timed out");
		return -1;
	}
	return 0;
}

static int hg_send_hello(struct hg *hg)
{
	struct lttng_hyper_hello hello = {
		.major = LTTNG_HYPER_PROTO_MAJOR,
		.minor = LTTNG_HYPER_PROTO_MINOR,
		.max_frame = LTTNG_HYPER_FRAME_MAX_LEN,
		.window = LH_DEFAULT_WINDOW,
	};
	uint8_t body[LTTNG_HYPER_HELLO_FIXED_LEN + LTTNG_HYPER_NAME_MAX_LEN];
	size_t len = lttng_hyper_hello_encode(&hello, body);

	return hg_queue_frame(hg, LTTNG_HYPER_FRAME_HELLO, 0, NULL, body, len);
}

/*
 * A proper handshake, then a PING answered: proof that the relay took this
 * channel as a guest, so that what follows tests the attack and nothing else.
 */
static int hg_handshake(struct hg *hg)
{
	uint64_t deadline = hg_deadline(hg);
	uint8_t cookie[LTTNG_HYPER_PING_LEN] = { 'h', 'o', 's', 't', 'i', 'l', 'e' };

	if (hg_send_hello(hg) ||
			hg_queue_frame(hg, LTTNG_HYPER_FRAME_PING, 0, NULL,
				cookie, sizeof(cookie))) {
		return -1;
	}
	while (!hg->bad_host && (!hg->hello_seen || !hg->pongs)) {
		if (hg_poll(hg, deadline) || lh_now_ms() >= deadline) {
			printf("setup: no HELLO and PONG from the host (%s)\n",
				hg->eof ? hg->eof_how : "timed out");
			return -1;
		}
	}
	if (hg->bad_host) {
		return -1;
	}
	printf("host: HELLO vm=%s version=%u.%u window=%" PRIu32 " max_frame=%" PRIu32 "\n",
		hg->hello.name, hg->hello.major, hg->hello.minor,
		hg->hello.window, hg->hello.max_frame);
	return 0;
}

/* Open a logical connection for path, or for --path when path is NULL. */
static struct hg_conn *hg_open(struct hg *hg, enum lttng_hyper_conn_kind kind,
		const char *path)
{
	uint8_t body[LTTNG_HYPER_OPEN_LEN];
	struct hg_conn *conn;

	if (!path) {
		path = hg->opts->path;
	}
	if (hg->next_id > HG_MAX_CONNS) {
		ERR("Out of connection ids");
		return NULL;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		ERR("Out of memory");
		return NULL;
	}
	conn->id = hg->next_id++;
	conn->credit = hg->hello.window;
	lh_buf_init(&conn->rx);
	hg->conns[conn->id] = conn;
	lttng_hyper_open_encode(kind, body);
	if (hg_queue_frame(hg, LTTNG_HYPER_FRAME_OPEN, conn->id, path, body, sizeof(body))) {
		return NULL;
	}
	return conn;
}

static const char *hg_conn_state(const struct hg *hg, const struct hg_conn *conn)
{
	if (hg->eof) {
		return "channel closed";
	}
	if (conn->reset) {
		return "connection reset";
	}
	if (conn->closed) {
		return "connection closed";
	}
	return "timed out";
}

/* Send bytes on a logical connection within the credit the host granted. */
static int hg_conn_send(struct hg *hg, struct hg_conn *conn, const void *buf, size_t len)
{
	uint64_t deadline = hg_deadline(hg);
	const uint8_t *p = buf;

	while (len) {
		size_t n = len;

		if (conn->reset || conn->closed) {
			return -1;
		}
		if (!conn->credit || lh_buf_len(&hg->out) >= HG_SEND_CHUNK) {
			if (hg_poll(hg, deadline) || lh_now_ms() >= deadline) {
				return -1;
			}
			continue;
		}
		if (n > conn->credit) {
			n = conn->credit;
		}
		if (n > HG_SEND_CHUNK) {
			n = HG_SEND_CHUNK;
		}
		if (hg_queue_frame(hg, LTTNG_HYPER_FRAME_DATA, conn->id, NULL, p, n)) {
			return -1;
		}
		conn->credit -= n;
		p += n;
		len -= n;
	}
	return hg_flush(hg, deadline);
}

/* Receive exactly len bytes of a logical connection, and give the credit back. */
static int hg_conn_recv(struct hg *hg, struct hg_conn *conn, void *buf, size_t len)
{
	uint64_t deadline = hg_deadline(hg);
	uint8_t credit[LTTNG_HYPER_CREDIT_LEN];

	if (!len) {
		return 0;
	}
	while (lh_buf_len(&conn->rx) < len) {
		if (conn->reset || conn->closed || hg->bad_host ||
				hg_poll(hg, deadline) || lh_now_ms() >= deadline) {
			return -1;
		}
	}
	memcpy(buf, lh_buf_head(&conn->rx), len);
	lh_buf_consume(&conn->rx, len);
	lttng_hyper_u32_encode(len, credit);
	return hg_queue_frame(hg, LTTNG_HYPER_FRAME_CREDIT, conn->id, NULL,
			credit, sizeof(credit));
}

static void hg_ctrl_hdr(uint8_t *out, uint32_t cmd, uint64_t data_size)
{
	struct lh_relayd_ctrl_hdr hdr = { .data_size = data_size, .cmd = cmd };

	lh_relayd_ctrl_hdr_encode(&hdr, out);
}

static void hg_data_hdr(uint8_t *out, uint64_t stream_id, uint64_t seq, uint32_t size)
{
	struct lh_relayd_data_hdr hdr = {
		.stream_id = stream_id,
		.net_seq_num = seq,
		.data_size = size,
	};

	lh_relayd_data_hdr_encode(&hdr, out);
}

/* A relayd control message; data_size may lie about the payload. */
static int hg_rly_send(struct hg *hg, struct hg_conn *conn, uint32_t cmd,
		uint64_t data_size, const void *payload, size_t len)
{
	uint8_t hdr[LH_RELAYD_CTRL_HDR_LEN];

	hg_ctrl_hdr(hdr, cmd, data_size);
	if (hg_conn_send(hg, conn, hdr, sizeof(hdr))) {
		return -1;
	}
	return hg_conn_send(hg, conn, payload, len);
}

static int hg_rly_version(struct hg *hg, struct hg_conn *conn)
{
	uint8_t msg[8], reply[8];

	lh_relayd_version_encode(LH_RELAYD_MAJOR, hg->opts->minor, msg);
	if (hg_rly_send(hg, conn, LH_RELAYD_VERSION, sizeof(msg), msg, sizeof(msg)) ||
			hg_conn_recv(hg, conn, reply, sizeof(reply))) {
		printf("setup: VERSION %d.%u got no answer (%s)\n", LH_RELAYD_MAJOR,
			hg->opts->minor, hg_conn_state(hg, conn));
		return -1;
	}
	printf("relayd: VERSION %" PRIu32 ".%" PRIu32 "\n", lh_get_be32(reply),
		lh_get_be32(reply + 4));
	return 0;
}

/* Handshake, OPEN(control), VERSION: what every relayd-level attack starts from. */
static struct hg_conn *hg_control(struct hg *hg)
{
	struct hg_conn *conn;

	if (hg_handshake(hg)) {
		return NULL;
	}
	conn = hg_open(hg, LTTNG_HYPER_CONN_CONTROL, NULL);
	if (!conn || hg_rly_version(hg, conn)) {
		return NULL;
	}
	return conn;
}

static size_t hg_put_name(uint8_t *p, const char *name)
{
	size_t len = strlen(name) + 1;

	memcpy(p, name, len);
	return len;
}

static enum hg_step hg_create_session(struct hg *hg, struct hg_conn *conn,
		struct hg_session *s)
{
	uint8_t msg[RLY_CREATE_SESSION_FIXED_LEN + 3 * 4096] = { 0 };
	uint8_t reply[16];
	size_t len = RLY_CREATE_SESSION_FIXED_LEN;
	uint32_t path_len;

	if (strlen(s->session_name) + strlen(s->hostname) + strlen(s->base_path) + 3 >
			sizeof(msg) - len) {
		ERR("Names too long for CREATE_SESSION");
		return HG_STEP_DEAD;
	}
	lh_put_be32(msg, strlen(s->session_name) + 1);
	lh_put_be32(msg + 4, strlen(s->hostname) + 1);
	lh_put_be32(msg + 8, strlen(s->base_path) + 1);
	/* A random sessiond UUID: lttng-relayd refuses the nil one. */
	if (getrandom(msg + 18, 16, 0) != 16) {
		PERROR("getrandom");
		return HG_STEP_DEAD;
	}
	lh_put_be64(msg + 34, 1);
	lh_put_be64(msg + 42, time(NULL));
	len += hg_put_name(msg + len, s->session_name);
	len += hg_put_name(msg + len, s->hostname);
	len += hg_put_name(msg + len, s->base_path);
	if (hg_rly_send(hg, conn, LH_RELAYD_CREATE_SESSION, len, msg, len) ||
			hg_conn_recv(hg, conn, reply, sizeof(reply))) {
		printf("relayd: CREATE_SESSION got no answer (%s)\n", hg_conn_state(hg, conn));
		return HG_STEP_DEAD;
	}
	s->session_id = lh_get_be64(reply);
	path_len = lh_get_be32(reply + 12);
	if (path_len >= sizeof(s->output_path) ||
			hg_conn_recv(hg, conn, s->output_path, path_len)) {
		printf("relayd: CREATE_SESSION answer cut short (%s)\n",
			hg_conn_state(hg, conn));
		return HG_STEP_DEAD;
	}
	s->output_path[path_len] = '\0';
	if (lh_get_be32(reply + 8) != LH_RELAYD_RET_OK) {
		printf("relayd: CREATE_SESSION refused, code %" PRIu32 "\n", lh_get_be32(reply + 8));
		return HG_STEP_REFUSED;
	}
	printf("relayd: CREATE_SESSION id=%" PRIu64 " output_path=\"%s\"\n",
		s->session_id, s->output_path);
	return HG_STEP_OK;
}

static enum hg_step hg_create_chunk(struct hg *hg, struct hg_conn *conn,
		const struct hg_session *s)
{
	uint8_t msg[RLY_CREATE_CHUNK_FIXED_LEN + 4096] = { 0 };
	uint8_t reply[4];
	size_t len = RLY_CREATE_CHUNK_FIXED_LEN;

	lh_put_be64(msg + 8, time(NULL));
	if (s->chunk_name) {
		if (strlen(s->chunk_name) + 1 > sizeof(msg) - len) {
			ERR("Chunk name too long");
			return HG_STEP_DEAD;
		}
		lh_put_be32(msg + 16, strlen(s->chunk_name) + 1);
		len += hg_put_name(msg + len, s->chunk_name);
	}
	if (hg_rly_send(hg, conn, LH_RELAYD_CREATE_TRACE_CHUNK, len, msg, len) ||
			hg_conn_recv(hg, conn, reply, sizeof(reply))) {
		printf("relayd: CREATE_TRACE_CHUNK got no answer (%s)\n",
			hg_conn_state(hg, conn));
		return HG_STEP_DEAD;
	}
	if (lh_get_be32(reply) != LH_RELAYD_RET_OK) {
		printf("relayd: CREATE_TRACE_CHUNK refused, code %" PRIu32 "\n", lh_get_be32(reply));
		return HG_STEP_REFUSED;
	}
	printf("relayd: CREATE_TRACE_CHUNK ok\n");
	return HG_STEP_OK;
}

static enum hg_step hg_add_stream(struct hg *hg, struct hg_conn *conn,
		struct hg_session *s)
{
	uint8_t msg[RLY_ADD_STREAM_FIXED_LEN + 2 * 4096] = { 0 };
	uint8_t reply[12];
	size_t len = RLY_ADD_STREAM_FIXED_LEN;

	if (strlen(s->channel_name) + strlen(s->pathname) + 2 > sizeof(msg) - len) {
		ERR("Names too long for ADD_STREAM");
		return HG_STEP_DEAD;
	}
	lh_put_be32(msg, strlen(s->channel_name) + 1);
	lh_put_be32(msg + 4, strlen(s->pathname) + 1);
	len += hg_put_name(msg + len, s->channel_name);
	len += hg_put_name(msg + len, s->pathname);
	if (hg_rly_send(hg, conn, LH_RELAYD_ADD_STREAM, len, msg, len) ||
			hg_conn_recv(hg, conn, reply, sizeof(reply))) {
		printf("relayd: ADD_STREAM got no answer (%s)\n", hg_conn_state(hg, conn));
		return HG_STEP_DEAD;
	}
	if (lh_get_be32(reply + 8) != LH_RELAYD_RET_OK) {
		printf("relayd: ADD_STREAM refused, code %" PRIu32 "\n", lh_get_be32(reply + 8));
		return HG_STEP_REFUSED;
	}
	s->stream_id = lh_get_be64(reply);
	printf("relayd: ADD_STREAM stream_id=%" PRIu64 "\n", s->stream_id);
	return HG_STEP_OK;
}

/*
 * Create a session, a trace chunk and a stream, as sessiond and consumerd
 * do, so that lttng-relayd creates directories and files: an escape the
 * relay let through then shows on disk. Stops at the first step that fails
 * and returns that step's number (1 to 3) in *failed, or 0.
 */
static enum hg_step hg_session_setup(struct hg *hg, struct hg_conn *conn,
		struct hg_session *s, int *failed)
{
	enum hg_step ret;

	*failed = 1;
	ret = hg_create_session(hg, conn, s);
	if (ret != HG_STEP_OK) {
		return ret;
	}
	*failed = 2;
	ret = hg_create_chunk(hg, conn, s);
	if (ret != HG_STEP_OK) {
		return ret;
	}
	*failed = 3;
	ret = hg_add_stream(hg, conn, s);
	if (ret == HG_STEP_OK) {
		*failed = 0;
	}
	return ret;
}

static void hg_session_defaults(struct hg_session *s)
{
	memset(s, 0, sizeof(*s));
	s->session_name = "hostile";
	s->hostname = "hostile-guest";
	s->base_path = "";
	s->channel_name = "channel0_0";
	s->pathname = "ust/uid/0/64-bit";
}

/* The first connection the host closed or reset, or NULL. */
static const struct hg_conn *hg_conn_ended(const struct hg *hg)
{
	unsigned int i;

	for (i = 1; i <= HG_MAX_CONNS; i++) {
		if (hg->conns[i] && (hg->conns[i]->reset || hg->conns[i]->closed)) {
			return hg->conns[i];
		}
	}
	return NULL;
}

/*
 * Whether the channel ended since start: the relay closed it (HG_PASS in
 * *verdict) or sent something malformed (HG_FAIL). Reported either way.
 */
static bool hg_channel_ended(const struct hg *hg, uint64_t start, enum hg_verdict *verdict)
{
	if (hg->bad_host) {
		printf("verdict: FAIL: the host sent a malformed frame\n");
		*verdict = HG_FAIL;
		return true;
	}
	if (hg->eof) {
		printf("result: closed by peer after %" PRIu64 " ms (%s)\n",
			hg->eof_at > start ? hg->eof_at - start : 0, hg->eof_how);
		*verdict = HG_PASS;
		return true;
	}
	return false;
}

/*
 * Wait for the relay to close the channel or, with --nested, to end the
 * faulty connection. Returns HG_PASS if it did within the timeout.
 */
static enum hg_verdict hg_expect_close(struct hg *hg)
{
	uint64_t start = lh_now_ms();
	uint64_t deadline = start + hg->opts->timeout_ms;
	const struct hg_conn *ended = NULL;
	enum hg_verdict verdict;
	unsigned int i;

	(void) hg_flush(hg, deadline);
	while (!hg->eof && !hg->bad_host && lh_now_ms() < deadline) {
		if (hg->opts->parent) {
			ended = hg_conn_ended(hg);
			if (ended) {
				break;
			}
		}
		(void) hg_poll(hg, deadline);
	}
	if (hg_channel_ended(hg, start, &verdict)) {
		return verdict;
	}
	if (ended) {
		printf("result: conn %" PRIu32 " %s by peer, the channel open (a nested VM's fault)\n",
			ended->id, ended->reset ? "reset" : "closed");
		return HG_PASS;
	}
	printf("result: still open after %" PRIu64 " ms\n", lh_now_ms() - start);
	for (i = 1; i <= HG_MAX_CONNS; i++) {
		if (hg->conns[i] && hg->conns[i]->reset) {
			printf("verdict: FAIL: only conn %u was reset, the channel stayed open\n",
				i);
			return HG_FAIL;
		}
	}
	printf("verdict: FAIL: the relay did not close the channel\n");
	return HG_FAIL;
}

/* The setup before the attack failed: the attack proved nothing. */
static enum hg_verdict hg_setup_failed(const char *what)
{
	printf("verdict: FAIL: could not set up the attack: %s\n", what);
	return HG_FAIL;
}

/* Control experiment: a well-formed guest session must be served and stay open. */
static enum hg_verdict mode_benign(struct hg *hg)
{
	struct hg_session s;
	struct hg_conn *conn = hg_control(hg);
	uint64_t deadline;
	int failed;

	if (!conn) {
		return hg_setup_failed("handshake or VERSION");
	}
	hg_session_defaults(&s);
	if (hg_session_setup(hg, conn, &s, &failed) != HG_STEP_OK) {
		printf("verdict: FAIL: a well-formed session was refused at step %d\n", failed);
		return HG_FAIL;
	}
	deadline = hg_deadline(hg);
	while (!hg->eof && lh_now_ms() < deadline) {
		(void) hg_poll(hg, deadline);
	}
	if (hg->eof || conn->reset) {
		printf("result: closed by peer (%s)\n", hg_conn_state(hg, conn));
		printf("verdict: FAIL: a well-behaved guest was cut off\n");
		return HG_FAIL;
	}
	printf("result: still open after %" PRIu64 " ms\n", hg->opts->timeout_ms);
	return HG_PASS;
}

static enum hg_verdict mode_garbage(struct hg *hg)
{
	uint8_t buf[4096];
	size_t i;

	for (i = 0; i < sizeof(buf); i++) {
		buf[i] = hg_random_byte(hg);
	}
	/* Never the first byte of the magic: this must be garbage from byte 0. */
	if (buf[0] == (LTTNG_HYPER_FRAME_MAGIC >> 8)) {
		buf[0] ^= 0xff;
	}
	printf("attack: %zu random bytes instead of HELLO\n", sizeof(buf));
	if (hg_queue(hg, buf, sizeof(buf))) {
		return HG_USAGE;
	}
	return hg_expect_close(hg);
}

/* A valid PING whose header the caller then spoils at byte `offset`. */
static enum hg_verdict hg_spoiled_ping(struct hg *hg, size_t offset, uint8_t value,
		const char *what)
{
	uint8_t frame[LTTNG_HYPER_FRAME_HEADER_LEN + LTTNG_HYPER_PING_LEN] = { 0 };

	if (hg_handshake(hg)) {
		return hg_setup_failed("handshake");
	}
	hg_header(frame, LTTNG_HYPER_FRAME_PING, 0, 0, LTTNG_HYPER_PING_LEN);
	frame[offset] = value;
	printf("attack: PING frame with %s\n", what);
	if (hg_queue(hg, frame, sizeof(frame))) {
		return HG_USAGE;
	}
	return hg_expect_close(hg);
}

static enum hg_verdict mode_bad_magic(struct hg *hg)
{
	return hg_spoiled_ping(hg, 0, 0x00, "magic 0x0048");
}

static enum hg_verdict mode_reserved_flags(struct hg *hg)
{
	return hg_spoiled_ping(hg, 3, 0x80, "flags 0x80");
}

static enum hg_verdict mode_reserved_field(struct hg *hg)
{
	return hg_spoiled_ping(hg, 15, 0x01, "reserved field 0x0001");
}

static enum hg_verdict mode_unknown_type(struct hg *hg)
{
	return hg_spoiled_ping(hg, 2, LTTNG_HYPER_FRAME_TYPE_MAX + 1, "type 12 (unknown)");
}

static enum hg_verdict mode_oversized(struct hg *hg)
{
	uint8_t hdr[LTTNG_HYPER_FRAME_HEADER_LEN];
	static uint8_t filler[HG_SEND_CHUNK];
	struct hg_conn *conn;

	if (hg_handshake(hg)) {
		return hg_setup_failed("handshake");
	}
	conn = hg_open(hg, LTTNG_HYPER_CONN_CONTROL, NULL);
	if (!conn) {
		return HG_USAGE;
	}
	hg_header(hdr, LTTNG_HYPER_FRAME_DATA, conn->id, 0, LTTNG_HYPER_FRAME_MAX_LEN + 1);
	printf("attack: DATA frame announcing %u bytes (limit %u)\n",
		LTTNG_HYPER_FRAME_MAX_LEN + 1, LTTNG_HYPER_FRAME_MAX_LEN);
	/* The start of the body too: a relay must refuse on the header alone. */
	if (hg_queue(hg, hdr, sizeof(hdr)) || hg_queue(hg, filler, sizeof(filler))) {
		return HG_USAGE;
	}
	return hg_expect_close(hg);
}

static enum hg_verdict mode_truncated(struct hg *hg)
{
	uint8_t frame[LTTNG_HYPER_FRAME_HEADER_LEN + 100] = { 0 };
	struct hg_conn *conn;

	if (hg_handshake(hg)) {
		return hg_setup_failed("handshake");
	}
	conn = hg_open(hg, LTTNG_HYPER_CONN_CONTROL, NULL);
	if (!conn) {
		return HG_USAGE;
	}
	hg_header(frame, LTTNG_HYPER_FRAME_DATA, conn->id, 0, 4096);
	printf("attack: DATA frame of 4096 bytes cut after 100, then EOF\n");
	if (hg_queue(hg, frame, sizeof(frame)) || hg_flush(hg, hg_deadline(hg))) {
		return hg_setup_failed("sending the truncated frame");
	}
	if (shutdown(hg->fd, SHUT_WR)) {
		PERROR("shutdown");
		return HG_USAGE;
	}
	return hg_expect_close(hg);
}

static enum hg_verdict mode_data_unopened(struct hg *hg)
{
	uint8_t body[64] = { 0 };

	if (hg_handshake(hg)) {
		return hg_setup_failed("handshake");
	}
	printf("attack: DATA on conn 77, never opened\n");
	if (hg_queue_frame(hg, LTTNG_HYPER_FRAME_DATA, 77, NULL, body, sizeof(body))) {
		return HG_USAGE;
	}
	return hg_expect_close(hg);
}

static enum hg_verdict mode_nested_path(struct hg *hg)
{
	if (hg_handshake(hg)) {
		return hg_setup_failed("handshake");
	}
	printf("attack: OPEN(control) for VM path \"../other-vm\", out of its subtree\n");
	if (!hg_open(hg, LTTNG_HYPER_CONN_CONTROL, "../other-vm")) {
		return HG_USAGE;
	}
	return hg_expect_close(hg);
}

static enum hg_verdict mode_bad_open(struct hg *hg)
{
	uint8_t body[LTTNG_HYPER_OPEN_LEN] = { 7, 0, 0, 0 };

	if (hg_handshake(hg)) {
		return hg_setup_failed("handshake");
	}
	printf("attack: OPEN of unknown kind 7\n");
	if (hg_queue_frame(hg, LTTNG_HYPER_FRAME_OPEN, hg->next_id++, NULL,
			body, sizeof(body))) {
		return HG_USAGE;
	}
	return hg_expect_close(hg);
}

/*
 * DATA beyond the credit: well-formed metadata for its own stream, sent
 * without waiting for CREDIT, up to --max-bytes. A host whose lttng-relayd
 * keeps up returns credit before it can be exceeded, hence --stall-pid;
 * once its queue backs up, the relay must close the channel rather than
 * buffer what it never granted.
 */
static enum hg_verdict mode_data_over_credit(struct hg *hg)
{
	static uint8_t msg[HG_SEND_CHUNK];
	struct hg_conn *conn = hg_control(hg);
	uint64_t credit, granted, sent = 0;
	enum hg_verdict verdict;
	struct hg_session s;
	int64_t excess;
	int failed;

	if (!conn) {
		return hg_setup_failed("handshake or VERSION");
	}
	hg_session_defaults(&s);
	s.channel_name = "metadata";
	if (hg_session_setup(hg, conn, &s, &failed) != HG_STEP_OK) {
		return hg_setup_failed("a well-formed session");
	}
	if (hg->opts->stall_pid) {
		if (kill(hg->opts->stall_pid, SIGSTOP)) {
			PERROR("Stopping pid %d", (int) hg->opts->stall_pid);
			return HG_USAGE;
		}
		printf("stall: pid %d stopped\n", (int) hg->opts->stall_pid);
	}
	credit = conn->credit;
	granted = conn->credit_granted;
	memset(msg, ' ', sizeof(msg));
	hg_ctrl_hdr(msg, LH_RELAYD_SEND_METADATA, sizeof(msg) - LH_RELAYD_CTRL_HDR_LEN);
	/* Payload: u64 stream_id, u32 padding_size, then the metadata text. */
	lh_put_be64(msg + LH_RELAYD_CTRL_HDR_LEN, s.stream_id);
	lh_put_be32(msg + LH_RELAYD_CTRL_HDR_LEN + 8, 0);
	printf("attack: SEND_METADATA of %zu bytes each on conn %" PRIu32
		", up to %" PRIu64 " bytes, ignoring the credit (%" PRIu64 " left)\n",
		sizeof(msg), conn->id, hg->opts->max_bytes, credit);
	while (sent < hg->opts->max_bytes && !hg->eof) {
		if (hg_queue_frame(hg, LTTNG_HYPER_FRAME_DATA, conn->id, NULL,
					msg, sizeof(msg)) ||
				hg_flush(hg, hg_deadline(hg))) {
			break;
		}
		sent += sizeof(msg);
	}
	verdict = hg_expect_close(hg);
	if (hg->opts->stall_pid && kill(hg->opts->stall_pid, SIGCONT)) {
		PERROR("Resuming pid %d", (int) hg->opts->stall_pid);
	}
	/* Every CREDIT the host sent before closing has been read by now. */
	granted = conn->credit_granted - granted;
	excess = (int64_t) (sent - credit - granted);
	printf("credit: sent %" PRIu64 ", had %" PRIu64 ", granted since %" PRIu64
		", excess %" PRId64 "\n", sent, credit, granted, excess);
	if (excess <= 0) {
		printf("verdict: FAIL: inconclusive, the burst never exceeded the credit\n");
		return HG_FAIL;
	}
	return verdict;
}

static enum hg_verdict hg_path_attack(struct hg *hg, struct hg_session *s,
		int poisoned, const char *what)
{
	struct hg_conn *conn = hg_control(hg);
	enum hg_step ret;
	int failed;

	if (!conn) {
		return hg_setup_failed("handshake or VERSION");
	}
	printf("attack: %s \"%s\"\n", what, hg->opts->evil);
	ret = hg_session_setup(hg, conn, s, &failed);
	if (failed && failed < poisoned) {
		return hg_setup_failed("a well-formed step before the attack failed");
	}
	if (ret == HG_STEP_REFUSED) {
		printf("note: the relay forwarded it and lttng-relayd refused it\n");
	} else if (ret == HG_STEP_OK) {
		printf("note: lttng-relayd accepted it\n");
	}
	return hg_expect_close(hg);
}

static enum hg_verdict mode_session_name(struct hg *hg)
{
	struct hg_session s;

	hg_session_defaults(&s);
	s.session_name = hg->opts->evil;
	return hg_path_attack(hg, &s, 1, "CREATE_SESSION session_name");
}

static enum hg_verdict mode_base_path(struct hg *hg)
{
	struct hg_session s;

	hg_session_defaults(&s);
	s.base_path = hg->opts->evil;
	return hg_path_attack(hg, &s, 1, "CREATE_SESSION base_path");
}

static enum hg_verdict mode_chunk_name(struct hg *hg)
{
	struct hg_session s;

	hg_session_defaults(&s);
	s.chunk_name = hg->opts->evil;
	return hg_path_attack(hg, &s, 2, "CREATE_TRACE_CHUNK name");
}

static enum hg_verdict mode_stream_path(struct hg *hg)
{
	struct hg_session s;

	hg_session_defaults(&s);
	s.pathname = hg->opts->evil;
	return hg_path_attack(hg, &s, 3, "ADD_STREAM pathname");
}

static enum hg_verdict mode_stream_channel(struct hg *hg)
{
	struct hg_session s;

	hg_session_defaults(&s);
	s.channel_name = hg->opts->evil;
	return hg_path_attack(hg, &s, 3, "ADD_STREAM channel_name");
}

/*
 * The hostname is the guest's to say but not the host's to obey: the relay
 * may refuse it, or file the session under the VM name it gave this
 * channel. The guest cannot see which: the relay answers with the path the
 * guest's own relay daemon would give (its hostname, then the session's
 * directory), so the test looks at the host's disk for where it went.
 */
static enum hg_verdict mode_hostname(struct hg *hg)
{
	struct hg_conn *conn = hg_control(hg);
	struct hg_session s;
	size_t host_len;
	int failed;

	if (!conn) {
		return hg_setup_failed("handshake or VERSION");
	}
	hg_session_defaults(&s);
	s.hostname = hg->opts->evil;
	printf("attack: CREATE_SESSION hostname \"%s\"\n", s.hostname);
	if (hg_session_setup(hg, conn, &s, &failed) == HG_STEP_DEAD && failed == 1) {
		return hg_expect_close(hg);
	}
	if (failed == 1) {
		printf("verdict: FAIL: forwarded to lttng-relayd, which refused it\n");
		return HG_FAIL;
	}
	host_len = strlen(s.hostname);
	if (strncmp(s.output_path, s.hostname, host_len) || s.output_path[host_len] != '/' ||
			strchr(s.output_path + host_len + 1, '/')) {
		printf("verdict: FAIL: the relay answered the path \"%s\", not the guest's own hostname and session\n",
			s.output_path);
		return HG_FAIL;
	}
	printf("result: session created; the guest sees its path as \"%s\"\n", s.output_path);
	return HG_PASS;
}

static enum hg_verdict mode_huge_control(struct hg *hg)
{
	static uint8_t filler[HG_SEND_CHUNK];
	struct hg_conn *conn = hg_control(hg);

	if (!conn) {
		return hg_setup_failed("handshake or VERSION");
	}
	printf("attack: SEND_METADATA announcing 1 GiB of payload\n");
	/* Some of the payload, within credit, as a sender that means it would. */
	(void) hg_rly_send(hg, conn, LH_RELAYD_SEND_METADATA, 1ULL << 30, filler, sizeof(filler));
	return hg_expect_close(hg);
}

static enum hg_verdict mode_unknown_command(struct hg *hg)
{
	struct hg_conn *conn = hg_control(hg);

	if (!conn) {
		return hg_setup_failed("handshake or VERSION");
	}
	printf("attack: relayd command 4242\n");
	(void) hg_rly_send(hg, conn, 4242, 0, NULL, 0);
	return hg_expect_close(hg);
}

static enum hg_verdict mode_truncated_create(struct hg *hg)
{
	uint8_t msg[20] = { 0 };
	struct hg_conn *conn = hg_control(hg);

	if (!conn) {
		return hg_setup_failed("handshake or VERSION");
	}
	/* Shorter than the fixed part of a 2.11+ CREATE_SESSION. */
	lh_put_be32(msg, 8);
	lh_put_be32(msg + 4, 8);
	printf("attack: CREATE_SESSION with a %zu-byte payload (fixed part is %d)\n",
		sizeof(msg), RLY_CREATE_SESSION_FIXED_LEN);
	(void) hg_rly_send(hg, conn, LH_RELAYD_CREATE_SESSION, sizeof(msg), msg, sizeof(msg));
	return hg_expect_close(hg);
}

/*
 * Commands naming streams of other guests. A relay that forwards them lets
 * this guest close, probe or write into another VM's trace.
 */
static enum hg_verdict hg_foreign_control(struct hg *hg, uint32_t cmd, const char *name,
		bool has_reply)
{
	struct hg_conn *conn = hg_control(hg);
	uint64_t id, answered = 0;
	struct hg_session s;
	int failed;

	if (!conn) {
		return hg_setup_failed("handshake or VERSION");
	}
	/* A session of its own first, so that only the stream ids are at fault. */
	hg_session_defaults(&s);
	if (hg_session_setup(hg, conn, &s, &failed) != HG_STEP_OK) {
		return hg_setup_failed("a well-formed session");
	}
	printf("attack: %s on stream ids %" PRIu64 "..%" PRIu64 " (own: %" PRIu64 ")\n",
		name, hg->opts->first_stream, hg->opts->last_stream, s.stream_id);
	for (id = hg->opts->first_stream; id <= hg->opts->last_stream && !hg->eof; id++) {
		uint8_t msg[20] = { 0 }, reply[4];
		size_t len = 16;

		if (id == s.stream_id) {
			continue;
		}
		lh_put_be64(msg, id);
		if (cmd == LH_RELAYD_SEND_METADATA) {
			memcpy(msg + 12, "/* x */", 8);
			len = 20;
		}
		if (hg_rly_send(hg, conn, cmd, len, msg, len)) {
			break;
		}
		if (has_reply) {
			if (hg_conn_recv(hg, conn, reply, sizeof(reply))) {
				break;
			}
			answered++;
		}
	}
	if (answered) {
		printf("note: lttng-relayd answered %" PRIu64 " of them\n", answered);
	}
	return hg_expect_close(hg);
}

/*
 * The start of most attacks: a control connection with the well-formed
 * session s (its defaults, and what the caller changed), and a data
 * connection when data is given. The control connection, or NULL and
 * the verdict to return.
 */
static struct hg_conn *hg_attack_session(struct hg *hg, struct hg_session *s,
		struct hg_conn **data, enum hg_verdict *verdict)
{
	struct hg_conn *conn = hg_control(hg);
	int failed;

	if (!conn) {
		*verdict = hg_setup_failed("handshake or VERSION");
		return NULL;
	}
	if (hg_session_setup(hg, conn, s, &failed) != HG_STEP_OK) {
		*verdict = hg_setup_failed("a well-formed session");
		return NULL;
	}
	if (data) {
		*data = hg_open(hg, LTTNG_HYPER_CONN_DATA, NULL);
		if (!*data) {
			*verdict = HG_USAGE;
			return NULL;
		}
	}
	return conn;
}

static enum hg_verdict mode_foreign_data_pending(struct hg *hg)
{
	return hg_foreign_control(hg, LH_RELAYD_DATA_PENDING, "DATA_PENDING", true);
}

static enum hg_verdict mode_foreign_close_stream(struct hg *hg)
{
	return hg_foreign_control(hg, LH_RELAYD_CLOSE_STREAM, "CLOSE_STREAM", true);
}

static enum hg_verdict mode_foreign_metadata(struct hg *hg)
{
	return hg_foreign_control(hg, LH_RELAYD_SEND_METADATA, "SEND_METADATA", false);
}

static enum hg_verdict mode_foreign_data(struct hg *hg)
{
	struct hg_conn *conn;
	struct hg_conn *data;
	struct hg_session s;
	uint64_t id;
	enum hg_verdict verdict;

	hg_session_defaults(&s);
	conn = hg_attack_session(hg, &s, &data, &verdict);
	if (!conn) {
		return verdict;
	}
	printf("attack: data packets for stream ids %" PRIu64 "..%" PRIu64 " (own: %" PRIu64 ")\n",
		hg->opts->first_stream, hg->opts->last_stream, s.stream_id);
	for (id = hg->opts->first_stream; id <= hg->opts->last_stream && !hg->eof; id++) {
		uint8_t pkt[LH_RELAYD_DATA_HDR_LEN + 64] = { 0 };

		if (id == s.stream_id) {
			continue;
		}
		hg_data_hdr(pkt, id, 0, sizeof(pkt) - LH_RELAYD_DATA_HDR_LEN);
		if (hg_conn_send(hg, data, pkt, sizeof(pkt))) {
			break;
		}
	}
	return hg_expect_close(hg);
}

/*
 * The control half of a packet's index, as a consumerd sends it after the
 * packet. Replies are read once *pending reaches HG_FLOOD_INDEX_AHEAD,
 * within the relay's limit of commands awaiting a reply. Without it,
 * the relay would close the channel at the 65th packet (no-index).
 */
static int hg_flood_index(struct hg *hg, struct hg_conn *conn, uint64_t stream_id,
		uint64_t seq, unsigned int *pending)
{
	uint8_t msg[80] = { 0 }, reply[4];

	/* relay_stream_id, net_seq_num, packet_size and content_size (bits). */
	lh_put_be64(msg, stream_id);
	lh_put_be64(msg + 8, seq);
	lh_put_be64(msg + 16, (uint64_t) HG_FLOOD_PACKET * 8);
	lh_put_be64(msg + 24, (uint64_t) HG_FLOOD_PACKET * 8);
	/* packet_seq_num */
	lh_put_be64(msg + 72, seq);
	if (hg_rly_send(hg, conn, LH_RELAYD_SEND_INDEX, sizeof(msg), msg, sizeof(msg))) {
		return -1;
	}
	for ((*pending)++; *pending >= HG_FLOOD_INDEX_AHEAD; (*pending)--) {
		if (hg_conn_recv(hg, conn, reply, sizeof(reply))) {
			return -1;
		}
	}
	return 0;
}

/*
 * Well-formed data for its own stream, as fast as the credit allows, for
 * --duration or --max-bytes, each packet followed by its index. Not a
 * protocol violation: the relay must neither fall over nor let it starve
 * the other VMs. Passes if the flood reached the data path.
 */
static enum hg_verdict mode_flood(struct hg *hg)
{
	static uint8_t payload[HG_SEND_CHUNK];
	struct hg_conn *conn;
	uint64_t start, end, sent = 0, seq = 0, pkt_off = 0;
	const uint64_t pkt_len = LH_RELAYD_DATA_HDR_LEN + HG_FLOOD_PACKET;
	unsigned int pending = 0;
	struct hg_conn *data;
	struct hg_session s;
	enum hg_verdict verdict;

	hg_session_defaults(&s);
	s.session_name = "flood";
	conn = hg_attack_session(hg, &s, &data, &verdict);
	if (!conn) {
		return verdict;
	}
	memset(payload, 0x5a, sizeof(payload));
	start = lh_now_ms();
	end = start + hg->opts->duration_ms;
	printf("attack: flood of stream %" PRIu64 " for %" PRIu64 " ms or %" PRIu64 " bytes\n",
		s.stream_id, hg->opts->duration_ms, hg->opts->max_bytes);
	while (lh_now_ms() < end && sent < hg->opts->max_bytes && !data->reset) {
		size_t n;

		if (!data->credit || lh_buf_len(&hg->out) >= HG_SEND_CHUNK) {
			if (hg_poll(hg, end)) {
				break;
			}
			continue;
		}
		if (pkt_off == 0) {
			uint8_t hdr[LH_RELAYD_DATA_HDR_LEN];

			hg_data_hdr(hdr, s.stream_id, seq++, HG_FLOOD_PACKET);
			if (data->credit < sizeof(hdr)) {
				if (hg_poll(hg, end)) {
					break;
				}
				continue;
			}
			if (hg_queue_frame(hg, LTTNG_HYPER_FRAME_DATA, data->id, NULL,
					hdr, sizeof(hdr))) {
				break;
			}
			n = sizeof(hdr);
		} else {
			n = pkt_len - pkt_off;
			if (n > data->credit) {
				n = data->credit;
			}
			if (hg_queue_frame(hg, LTTNG_HYPER_FRAME_DATA, data->id, NULL,
					payload, n)) {
				break;
			}
		}
		data->credit -= n;
		sent += n;
		pkt_off = (pkt_off + n) % pkt_len;
		if (pkt_off == 0 && hg_flood_index(hg, conn, s.stream_id, seq - 1, &pending)) {
			break;
		}
	}
	(void) hg_flush(hg, hg_deadline(hg));
	printf("flood: %" PRIu64 " bytes in %" PRIu64 " ms, %" PRIu64 " packets\n",
		sent, lh_now_ms() - start, seq);
	if (hg->eof || data->reset) {
		printf("result: closed by peer during the flood (%s)\n",
			hg_conn_state(hg, data));
	} else {
		printf("result: still open\n");
	}
	if (!sent) {
		printf("verdict: FAIL: nothing could be sent\n");
		return HG_FAIL;
	}
	return HG_PASS;
}

/*
 * --packets data packets of its own stream, the index of none of them
 * sent. lttng-relayd would keep a partial index for each; thousands of
 * them once deadlocked it (lttng-hyper-relayd(8), SECURITY). The relay
 * must close the channel once they are more than it allows.
 */
static enum hg_verdict mode_no_index(struct hg *hg)
{
	static uint8_t pkt[LH_RELAYD_DATA_HDR_LEN + HG_NO_INDEX_PACKET];
	struct hg_conn *conn;
	struct hg_conn *data;
	struct hg_session s;
	uint64_t seq;
	enum hg_verdict verdict;

	hg_session_defaults(&s);
	s.session_name = "no-index";
	conn = hg_attack_session(hg, &s, &data, &verdict);
	if (!conn) {
		return verdict;
	}
	printf("attack: %" PRIu64 " data packets of stream %" PRIu64 " without their index\n",
		hg->opts->packets, s.stream_id);
	memset(pkt + LH_RELAYD_DATA_HDR_LEN, 0x5a, HG_NO_INDEX_PACKET);
	for (seq = 0; seq < hg->opts->packets && !hg->eof; seq++) {
		hg_data_hdr(pkt, s.stream_id, seq, HG_NO_INDEX_PACKET);
		if (hg_conn_send(hg, data, pkt, sizeof(pkt))) {
			break;
		}
	}
	printf("packets: %" PRIu64 " sent\n", seq);
	return hg_expect_close(hg);
}

/*
 * The indexes of --packets data packets never sent: lttng-relayd would
 * keep a partial index for each of them too. The relay must close the
 * channel once they are more than it allows.
 */
static enum hg_verdict mode_index_ahead(struct hg *hg)
{
	struct hg_conn *conn;
	unsigned int pending = 0;
	struct hg_session s;
	uint64_t seq;
	enum hg_verdict verdict;

	hg_session_defaults(&s);
	s.session_name = "index-ahead";
	conn = hg_attack_session(hg, &s, NULL, &verdict);
	if (!conn) {
		return verdict;
	}
	printf("attack: the indexes of %" PRIu64 " data packets of stream %" PRIu64
		", none of them sent\n", hg->opts->packets, s.stream_id);
	for (seq = 0; seq < hg->opts->packets && !hg->eof; seq++) {
		if (hg_flood_index(hg, conn, s.stream_id, seq, &pending)) {
			break;
		}
	}
	printf("indexes: %" PRIu64 " sent\n", seq);
	return hg_expect_close(hg);
}

/*
 * SEND_METADATA that never ends a clock value: a packet opening the
 * monotonic clock's offset, then messages of spaces only, each nearly as
 * large as a control message may be, up to --max-bytes. Not a protocol
 * violation, but the relay must not hold the messages back waiting for
 * the value's end (ctf-metadata.h: LH_CTF_MD_HOLD_MAX per metadata
 * stream); the test checks its memory. Passes if all could be sent.
 */
static enum hg_verdict mode_metadata_hold(struct hg *hg)
{
	static const char text[] = "clock {\n\tname = \"monotonic\";\n\toffset = 1";
	const size_t len = (15U << 20) + HG_MD_PAYLOAD_HDR_LEN;
	struct hg_conn *conn;
	uint64_t sent = 0, msgs = 0;
	uint8_t *msg, *pkt;
	struct hg_session s;
	enum hg_verdict verdict;

	hg_session_defaults(&s);
	s.session_name = "metadata-hold";
	s.channel_name = "metadata";
	conn = hg_attack_session(hg, &s, NULL, &verdict);
	if (!conn) {
		return verdict;
	}
	msg = malloc(len);
	if (!msg) {
		return HG_USAGE;
	}
	/* Payload: u64 stream_id, u32 padding_size, then the metadata. */
	lh_put_be64(msg, s.stream_id);
	lh_put_be32(msg + 8, 0);
	pkt = msg + HG_MD_PAYLOAD_HDR_LEN;
	/* A packet header as LTTng writes it, little-endian, 64 MiB of content. */
	memset(pkt, 0, HG_MD_PKT_HDR_LEN);
	lh_put_u32(pkt, 0x75D11D57U, false);
	lh_put_u32(pkt + 24, (64U << 20) * 8, false);
	lh_put_u32(pkt + 28, (64U << 20) * 8, false);
	pkt[35] = 1;
	pkt[36] = 8;
	memcpy(pkt + HG_MD_PKT_HDR_LEN, text, strlen(text));
	printf("attack: a clock value, then SEND_METADATA of %zu spaces each, up to %" PRIu64
		" bytes\n", len - HG_MD_PAYLOAD_HDR_LEN, hg->opts->max_bytes);
	if (hg_rly_send(hg, conn, LH_RELAYD_SEND_METADATA, HG_MD_PAYLOAD_HDR_LEN +
			HG_MD_PKT_HDR_LEN + strlen(text), msg,
			HG_MD_PAYLOAD_HDR_LEN + HG_MD_PKT_HDR_LEN + strlen(text))) {
		free(msg);
		return hg_setup_failed("the first SEND_METADATA");
	}
	memset(pkt, ' ', len - HG_MD_PAYLOAD_HDR_LEN);
	while (sent < hg->opts->max_bytes && !hg->eof) {
		if (hg_rly_send(hg, conn, LH_RELAYD_SEND_METADATA, len, msg, len)) {
			break;
		}
		sent += len;
		msgs++;
	}
	free(msg);
	printf("metadata: %" PRIu64 " messages, %" PRIu64 " bytes\n", msgs, sent);
	if (hg->eof || conn->reset || conn->closed) {
		printf("result: closed by peer (%s)\n", hg_conn_state(hg, conn));
		printf("verdict: FAIL: well-formed metadata refused\n");
		return HG_FAIL;
	}
	printf("result: still open\n");
	if (sent < hg->opts->max_bytes) {
		printf("verdict: FAIL: could not send it all\n");
		return HG_FAIL;
	}
	return HG_PASS;
}

/*
 * More logical connections than the relay allows: those beyond the limit
 * must be refused (RESET) or the channel closed.
 */
static enum hg_verdict mode_conn_flood(struct hg *hg)
{
	unsigned int i, accepted = 0, refused = 0, silent = 0;
	struct hg_conn *conns[HG_MAX_CONNS];
	uint8_t msg[8];
	uint64_t deadline;

	if (hg->opts->conns > HG_MAX_CONNS) {
		ERR("At most %d connections", HG_MAX_CONNS);
		return HG_USAGE;
	}
	if (hg_handshake(hg)) {
		return hg_setup_failed("handshake");
	}
	printf("attack: %u control connections (limit %u)\n", hg->opts->conns,
		hg->opts->max_conns);
	lh_relayd_version_encode(LH_RELAYD_MAJOR, hg->opts->minor, msg);
	for (i = 0; i < hg->opts->conns; i++) {
		uint8_t hdr[LH_RELAYD_CTRL_HDR_LEN];

		conns[i] = hg_open(hg, LTTNG_HYPER_CONN_CONTROL, NULL);
		if (!conns[i]) {
			return HG_USAGE;
		}
		/* A VERSION on each: its answer proves the host took the connection. */
		hg_ctrl_hdr(hdr, LH_RELAYD_VERSION, sizeof(msg));
		if (hg_queue_frame(hg, LTTNG_HYPER_FRAME_DATA, conns[i]->id, NULL,
					hdr, sizeof(hdr)) ||
				hg_queue_frame(hg, LTTNG_HYPER_FRAME_DATA, conns[i]->id, NULL,
					msg, sizeof(msg))) {
			return HG_USAGE;
		}
	}
	deadline = hg_deadline(hg);
	while (!hg->eof && lh_now_ms() < deadline) {
		bool all = true;

		for (i = 0; i < hg->opts->conns; i++) {
			if (!conns[i]->reset && lh_buf_len(&conns[i]->rx) < sizeof(msg)) {
				all = false;
			}
		}
		if (all) {
			break;
		}
		(void) hg_poll(hg, deadline);
	}
	for (i = 0; i < hg->opts->conns; i++) {
		if (conns[i]->reset) {
			refused++;
		} else if (lh_buf_len(&conns[i]->rx) >= sizeof(msg)) {
			accepted++;
		} else {
			silent++;
		}
	}
	printf("conns: %u answered, %u refused, %u silent\n", accepted, refused, silent);
	if (hg->eof) {
		printf("result: closed by peer (%s)\n", hg->eof_how);
		return HG_PASS;
	}
	printf("result: still open\n");
	if (accepted > hg->opts->max_conns || !refused) {
		printf("verdict: FAIL: the connection limit was not enforced\n");
		return HG_FAIL;
	}
	return HG_PASS;
}

/*
 * Open n control connections, each with its VERSION and then the header
 * of a SEND_METADATA announcing --payload bytes.
 */
static int hg_partial_open(struct hg *hg, struct hg_conn **conns, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		conns[i] = hg_open(hg, LTTNG_HYPER_CONN_CONTROL, NULL);
		if (!conns[i] || hg_rly_version(hg, conns[i]) ||
				hg_rly_send(hg, conns[i], LH_RELAYD_SEND_METADATA,
					hg->opts->payload, NULL, 0)) {
			return -1;
		}
	}
	return 0;
}

/*
 * Send the left[i] bytes of each of the n connections, a frame at a time
 * round-robin as the credit allows, until all are sent, the channel
 * closes or no credit comes for --timeout. Returns the bytes written,
 * one frame queued at a time so that a close leaves at most one unwritten
 * (not counted); a relay that closes may not have read the last few.
 */
static uint64_t hg_partial_send(struct hg *hg, struct hg_conn **conns, uint64_t *left,
		unsigned int n)
{
	static uint8_t filler[HG_SEND_CHUNK];
	uint64_t deadline = hg_deadline(hg), sent = 0, len, last = 0;
	unsigned int i, next = 0, idle = 0, remaining = 0;

	for (i = 0; i < n; i++) {
		if (left[i]) {
			remaining++;
		}
	}
	while (remaining && !hg->bad_host) {
		struct hg_conn *conn;

		if (lh_buf_len(&hg->out) || idle == n) {
			/* Write the frame queued, or wait for CREDIT. */
			if (hg_poll(hg, deadline) || lh_now_ms() >= deadline) {
				break;
			}
			idle = 0;
			continue;
		}
		i = next;
		next = (next + 1) % n;
		conn = conns[i];
		if (left[i] && (conn->reset || conn->closed)) {
			left[i] = 0;
			remaining--;
		}
		len = left[i] < conn->credit ? left[i] : conn->credit;
		if (len > HG_SEND_CHUNK) {
			len = HG_SEND_CHUNK;
		}
		if (!len) {
			idle++;
			continue;
		}
		if (hg_queue_frame(hg, LTTNG_HYPER_FRAME_DATA, conn->id, NULL, filler, len)) {
			break;
		}
		conn->credit -= len;
		left[i] -= len;
		if (!left[i]) {
			remaining--;
		}
		sent += len;
		last = len;
		idle = 0;
		deadline = hg_deadline(hg);
	}
	if (hg_flush(hg, hg_deadline(hg))) {
		sent -= last;
	}
	return sent;
}

/*
 * --conns control connections (--max-conns unless -n is given), each
 * with a SEND_METADATA announcing --payload bytes, then all of them but
 * the last: the relay buffers a control message whole before it judges
 * it, and returns the credit of its bytes meanwhile, so a guest can make
 * it hold --conns times --payload. The channel then stays open for
 * --duration, for the test to measure the relay's memory. The relay must
 * cut the VM off.
 */
static enum hg_verdict mode_partial_control(struct hg *hg)
{
	unsigned int n = hg->opts->conns_set ? hg->opts->conns : hg->opts->max_conns;
	unsigned int i, held = 0, ended = 0;
	struct hg_conn *conns[HG_MAX_CONNS];
	uint64_t left[HG_MAX_CONNS];
	uint64_t start, end, sent;
	enum hg_verdict verdict;

	if (n == 0 || n > HG_MAX_CONNS) {
		ERR("partial-control: 1 to %d connections", HG_MAX_CONNS);
		return HG_USAGE;
	}
	if (hg_handshake(hg)) {
		return hg_setup_failed("handshake");
	}
	printf("attack: partial-control: %u connections, %" PRIu64 " bytes announced each\n",
		n, hg->opts->payload);
	start = lh_now_ms();
	if (hg_partial_open(hg, conns, n)) {
		return hg_setup_failed("OPEN, VERSION or the SEND_METADATA header");
	}
	for (i = 0; i < n; i++) {
		left[i] = hg->opts->payload - 1;
	}
	sent = (uint64_t) n * LH_RELAYD_CTRL_HDR_LEN + hg_partial_send(hg, conns, left, n);
	for (i = 0; i < n; i++) {
		if (conns[i]->reset || conns[i]->closed) {
			ended++;
		} else if (!left[i]) {
			held++;
		}
	}
	printf("sent: %" PRIu64 " bytes, %u of %u messages one byte short, %u conns ended\n",
		sent, held, n, ended);

	/* Hold it all, answering PINGs, while the test measures the relay. */
	end = lh_now_ms() + hg->opts->duration_ms;
	if (!hg->eof) {
		printf("hold: %" PRIu64 " ms\n", hg->opts->duration_ms);
	}
	while (!hg->eof && !hg->bad_host && lh_now_ms() < end) {
		(void) hg_poll(hg, end);
	}
	if (hg_channel_ended(hg, start, &verdict)) {
		return verdict;
	}
	for (i = 0, ended = 0; i < n; i++) {
		if (conns[i]->reset || conns[i]->closed) {
			ended++;
		}
	}
	if (hg->opts->parent && ended) {
		printf("result: %u of %u conns ended by peer, the channel open (a nested VM's fault)\n",
			ended, n);
		return HG_PASS;
	}
	printf("result: still open after %" PRIu64 " ms, %u of %u conns ended\n",
		lh_now_ms() - start, ended, n);
	if (held == n && !ended) {
		printf("verdict: FAIL: the relay held every byte\n");
	} else {
		printf("verdict: FAIL: the relay did not close the channel\n");
	}
	return HG_FAIL;
}

struct hg_mode {
	const char *name;
	enum hg_verdict (*run)(struct hg *hg);
	const char *help;
};

static const struct hg_mode hg_modes[] = {
	{ "benign", mode_benign, "well-formed session; the channel must stay open" },
	{ "garbage", mode_garbage, "random bytes instead of HELLO" },
	{ "bad-magic", mode_bad_magic, "a frame with a wrong magic after HELLO" },
	{ "oversized", mode_oversized, "a frame header announcing more than 1 MiB" },
	{ "truncated", mode_truncated, "a frame cut short by EOF" },
	{ "unknown-type", mode_unknown_type, "a frame of an unknown type" },
	{ "reserved-flags", mode_reserved_flags, "nonzero flags in a frame header" },
	{ "reserved-field", mode_reserved_field, "nonzero reserved field in a frame header" },
	{ "bad-open", mode_bad_open, "OPEN of an unknown connection kind" },
	{ "data-unopened", mode_data_unopened, "DATA for a connection never opened" },
	{ "data-over-credit", mode_data_over_credit, "DATA beyond the granted credit" },
	{ "nested-path", mode_nested_path, "a VM path climbing out of its subtree" },
	{ "session-name", mode_session_name, "CREATE_SESSION session_name = --evil" },
	{ "hostname", mode_hostname, "CREATE_SESSION hostname = --evil" },
	{ "base-path", mode_base_path, "CREATE_SESSION base_path = --evil" },
	{ "chunk-name", mode_chunk_name, "CREATE_TRACE_CHUNK name = --evil" },
	{ "stream-path", mode_stream_path, "ADD_STREAM pathname = --evil" },
	{ "stream-channel", mode_stream_channel, "ADD_STREAM channel_name = --evil" },
	{ "huge-control", mode_huge_control, "a control message announcing 1 GiB" },
	{ "unknown-command", mode_unknown_command, "an unknown relayd command" },
	{ "truncated-create", mode_truncated_create, "a CREATE_SESSION too short" },
	{ "foreign-data-pending", mode_foreign_data_pending, "DATA_PENDING on --streams" },
	{ "foreign-close-stream", mode_foreign_close_stream, "CLOSE_STREAM on --streams" },
	{ "foreign-metadata", mode_foreign_metadata, "SEND_METADATA on --streams" },
	{ "foreign-data", mode_foreign_data, "data packets for --streams" },
	{ "flood", mode_flood, "well-formed data as fast as credit allows" },
	{ "no-index", mode_no_index, "--packets data packets, none followed by its index" },
	{ "index-ahead", mode_index_ahead, "the indexes of --packets data packets never sent" },
	{ "metadata-hold", mode_metadata_hold, "metadata whose clock value never ends" },
	{ "conn-flood", mode_conn_flood, "more connections than --max-conns" },
	{ "partial-control", mode_partial_control, "--conns control messages, each one byte short" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"Usage: hostile-guest [OPTIONS] MODE CHANNEL\n"
		"\n"
		"Connect to a host relay channel (unix:PATH or tcp://HOST:PORT) as a\n"
		"hostile guest, play MODE and report what the relay did. Exit status 0:\n"
		"the relay behaved as it must; 1: it did not, or the attack could not be\n"
		"set up; 2: usage or connection error.\n"
		"\n"
		"Options:\n"
		"  -t, --timeout MS       wait this long for each answer and for the close (5000)\n"
		"  -d, --duration MS      flood duration, partial-control's hold (5000)\n"
		"  -b, --max-bytes N      flood at most N bytes (268435456)\n"
		"  -k, --packets N        data packets of no-index and index-ahead (1024)\n"
		"  -e, --evil STR         the hostile name of the path attacks (%s)\n"
		"  -p, --path PATH        the VM path of every OPEN: a VM of this VM's own\n"
		"  -N, --nested PARENT    CHANNEL is served by the guest the host calls\n"
		"                         PARENT: a fault may end the connection alone\n"
		"  -s, --streams A-B      foreign stream ids (1-100)\n"
		"  -n, --conns N          connections opened by conn-flood (%u) and by\n"
		"                         partial-control (--max-conns)\n"
		"  -m, --max-conns N      the relay's connection limit (%u)\n"
		"      --payload N        the payload partial-control announces (%u)\n"
		"      --minor N          the relayd protocol minor of every VERSION (%d)\n"
		"      --seed N           seed of the garbage\n"
		"      --stall-pid PID    data-over-credit: SIGSTOP PID (the host's lttng-relayd)\n"
		"                         during the burst, so that the relay cannot drain it\n"
		"  -r, --raw              report only; exit 0 whatever happened\n"
		"  -h, --help\n"
		"\nModes:\n", HG_DEFAULT_EVIL, LH_DEFAULT_MAX_CONNS + 16,
		LH_DEFAULT_MAX_CONNS, LH_DEFAULT_MAX_CONTROL_PAYLOAD, LH_RELAYD_MINOR_MAX);
	for (i = 0; i < sizeof(hg_modes) / sizeof(hg_modes[0]); i++) {
		fprintf(out, "  %-22s %s\n", hg_modes[i].name, hg_modes[i].help);
	}
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-') {
		ERR("Bad number \"%s\"", s);
		return -1;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned int *v)
{
	uint64_t u;

	if (parse_u64(s, &u)) {
		return -1;
	}
	if (u > UINT_MAX) {
		ERR("Number too large \"%s\"", s);
		return -1;
	}
	*v = u;
	return 0;
}

static int parse_path(const char *s, const char **path)
{
	if (strlen(s) > LTTNG_HYPER_PATH_MAX_LEN) {
		ERR("VM path longer than %d bytes", LTTNG_HYPER_PATH_MAX_LEN);
		return -1;
	}
	*path = s;
	return 0;
}

static int parse_streams(const char *s, struct hg_opts *opts)
{
	char *end;

	errno = 0;
	opts->first_stream = strtoull(s, &end, 0);
	if (errno || end == s || *end != '-') {
		goto error;
	}
	s = end + 1;
	opts->last_stream = strtoull(s, &end, 0);
	if (errno || end == s || *end || opts->last_stream < opts->first_stream) {
		goto error;
	}
	return 0;
error:
	ERR("Bad stream range (A-B expected)");
	return -1;
}

static int parse_args(int argc, char **argv, struct hg_opts *opts)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "max-bytes", required_argument, NULL, 'b' },
		{ "packets", required_argument, NULL, 'k' },
		{ "evil", required_argument, NULL, 'e' },
		{ "path", required_argument, NULL, 'p' },
		{ "nested", required_argument, NULL, 'N' },
		{ "streams", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'n' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "payload", required_argument, NULL, 'L' },
		{ "minor", required_argument, NULL, 'M' },
		{ "seed", required_argument, NULL, 'S' },
		{ "stall-pid", required_argument, NULL, 'P' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int u;
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, "t:d:b:k:e:p:N:s:n:m:rh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			ret = parse_u64(optarg, &opts->timeout_ms);
			break;
		case 'd':
			ret = parse_u64(optarg, &opts->duration_ms);
			break;
		case 'b':
			ret = parse_u64(optarg, &opts->max_bytes);
			break;
		case 'k':
			ret = parse_u64(optarg, &opts->packets);
			break;
		case 'e':
			opts->evil = optarg;
			break;
		case 'p':
			/* Any path, malformed ones too: the frame format bounds only its length. */
			ret = parse_path(optarg, &opts->path);
			break;
		case 'N':
			ret = parse_path(optarg, &opts->parent);
			break;
		case 's':
			ret = parse_streams(optarg, opts);
			break;
		case 'n':
			ret = parse_uint(optarg, &opts->conns);
			opts->conns_set = true;
			break;
		case 'm':
			ret = parse_uint(optarg, &opts->max_conns);
			break;
		case 'L':
			ret = parse_u64(optarg, &opts->payload);
			if (!ret && opts->payload == 0) {
				ERR("Bad payload: at least 1 byte");
				ret = -1;
			}
			break;
		case 'M':
			ret = parse_uint(optarg, &opts->minor);
			break;
		case 'S':
			ret = parse_uint(optarg, &opts->seed);
			break;
		case 'P':
			ret = parse_uint(optarg, &u);
			if (!ret && (u == 0 || u > INT_MAX)) {
				ERR("Bad pid \"%s\"", optarg);
				ret = -1;
			}
			opts->stall_pid = u;
			break;
		case 'r':
			opts->raw = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			ret = -1;
			break;
		}
		if (ret) {
			return -1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return -1;
	}
	if (opts->timeout_ms == 0 || opts->timeout_ms > INT_MAX) {
		ERR("Bad timeout");
		return -1;
	}
	opts->mode = argv[optind];
	opts->channel = argv[optind + 1];
	return 0;
}

int main(int argc, char **argv)
{
	struct hg_opts opts = {
		.timeout_ms = 5000,
		.duration_ms = 5000,
		.max_bytes = 256ULL << 20,
		.packets = 1024,
		.payload = LH_DEFAULT_MAX_CONTROL_PAYLOAD,
		.minor = LH_RELAYD_MINOR_MAX,
		.evil = HG_DEFAULT_EVIL,
		.first_stream = 1,
		.last_stream = 100,
		.conns = LH_DEFAULT_MAX_CONNS + 16,
		.max_conns = LH_DEFAULT_MAX_CONNS,
		.seed = 1,
	};
	const struct hg_mode *mode = NULL;
	enum hg_verdict verdict;
	struct hg hg;
	unsigned int i;
	size_t m;

	lh_log_init("hostile-guest");
	/* Observations go to stdout line by line, even when killed by a timeout. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		PERROR("signal");
		return HG_USAGE;
	}
	if (parse_args(argc, argv, &opts)) {
		return HG_USAGE;
	}
	for (m = 0; m < sizeof(hg_modes) / sizeof(hg_modes[0]); m++) {
		if (!strcmp(hg_modes[m].name, opts.mode)) {
			mode = &hg_modes[m];
		}
	}
	if (!mode) {
		ERR("Unknown mode \"%s\" (see --help)", opts.mode);
		return HG_USAGE;
	}

	memset(&hg, 0, sizeof(hg));
	hg.opts = &opts;
	hg.fd = -1;
	hg.next_id = 1;
	hg.prng = 0x9e3779b97f4a7c15ULL ^ opts.seed;
	lh_buf_init(&hg.in);
	lh_buf_init(&hg.out);
	printf("mode: %s\nchannel: %s\n", mode->name, opts.channel);
	if (hg_connect(&hg)) {
		verdict = HG_USAGE;
	} else {
		verdict = mode->run(&hg);
	}
	if (verdict == HG_PASS) {
		printf("verdict: pass\n");
	}

	if (hg.fd >= 0 && close(hg.fd)) {
		PERROR("close");
	}
	for (i = 1; i <= HG_MAX_CONNS; i++) {
		if (hg.conns[i]) {
			lh_buf_fini(&hg.conns[i]->rx);
			free(hg.conns[i]);
		}
	}
	lh_buf_fini(&hg.in);
	lh_buf_fini(&hg.out);
	if (opts.raw && verdict != HG_USAGE) {
		return 0;
	}
	return verdict;
}
