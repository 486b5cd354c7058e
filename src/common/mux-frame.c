/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Frames from the peer: the checks every frame passes, and what each
 * type does.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mux-internal.h"

#define MUX_CLOCK_MONOTONIC_ID	1

static const char *reset_reason_str(uint32_t reason)
{
	switch (reason) {
	case LTTNG_HYPER_RESET_UNSPEC:
		return "unspecified";
	case LTTNG_HYPER_RESET_REFUSED:
		return "refused";
	case LTTNG_HYPER_RESET_PROTOCOL:
		return "protocol error";
	case LTTNG_HYPER_RESET_TIMEOUT:
		return "timeout";
	case LTTNG_HYPER_RESET_SHUTDOWN:
		return "shutdown";
	case LTTNG_HYPER_RESET_LIMIT:
		return "limit reached";
	}
	return "unknown reason";
}

static const char *mux_peer_name(const struct lh_mux *mux)
{
	return mux->cfg.role == LH_MUX_GUEST ? "host" : "guest";
}

static void frame_hello(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *body, uint32_t len)
{
	struct lttng_hyper_hello hello;
	int ret;

	if (mux->ready) {
		mux_fail(mux, "second HELLO from the %s", mux_peer_name(mux));
		return;
	}
	ret = lttng_hyper_hello_decode(body, len, &hello);
	if (ret) {
		mux_fail(mux, "invalid HELLO (%" PRIu32 " bytes): %s", len,
			lttng_hyper_error_str(ret));
		return;
	}
	if (hello.major != LTTNG_HYPER_PROTO_MAJOR) {
		mux_fail(mux, "protocol version %u.%u not supported", hello.major, hello.minor);
		return;
	}
	if (hello.max_frame < MUX_MIN_PEER_FRAME) {
		mux_fail(mux, "HELLO max_frame %" PRIu32 " is below the minimum of %u",
			hello.max_frame, MUX_MIN_PEER_FRAME);
		return;
	}
	if (hello.window == 0) {
		mux_fail(mux, "HELLO window is 0");
		return;
	}
	mux->peer = hello;
	mux->ready = true;
	DBG_CTX(mux->log_ctx, "handshake done: peer protocol %u.%u, caps 0x%" PRIx32
		", max_frame %" PRIu32 ", window %" PRIu32,
		hello.major, hello.minor, hello.caps, hello.max_frame, hello.window);
	if (mux->ops->on_ready) {
		mux->ops->on_ready(mux, &mux->peer);
	}
}

static void frame_open(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const char *path, const uint8_t *body, uint32_t len)
{
	enum lttng_hyper_conn_kind kind;
	struct lh_mux_conn *conn;
	int ret, fd;

	if (mux->cfg.role != LH_MUX_HOST) {
		mux_fail(mux, "OPEN frame for conn %" PRIu32 " from the host: only the guest opens connections",
			hdr->conn_id);
		return;
	}
	if (hdr->conn_id <= mux->highest_id) {
		mux_fail(mux, "OPEN frame for conn %" PRIu32 ": connection ids must increase (highest so far %" PRIu32 ")",
			hdr->conn_id, mux->highest_id);
		return;
	}
	ret = lttng_hyper_open_decode(body, len, &kind);
	if (ret) {
		mux_fail(mux, "OPEN frame for conn %" PRIu32 ": %s (kind %u)", hdr->conn_id,
			lttng_hyper_error_str(ret), body[0]);
		return;
	}
	mux->highest_id = hdr->conn_id;
	if (mux->shutting_down) {
		mux_send_u32(mux, LTTNG_HYPER_FRAME_RESET, hdr->conn_id,
			LTTNG_HYPER_RESET_SHUTDOWN);
		return;
	}
	if (mux->nr_conns >= mux->cfg.max_conns) {
		WARN_CTX(mux->log_ctx, "conn %" PRIu32 " (%s) refused: the limit of %u connections is reached",
			hdr->conn_id, kind_str(kind), mux->cfg.max_conns);
		mux_send_u32(mux, LTTNG_HYPER_FRAME_RESET, hdr->conn_id, LTTNG_HYPER_RESET_LIMIT);
		return;
	}
	conn = conn_new(mux, hdr->conn_id, kind);
	if (!conn) {
		ERR_CTX(mux->log_ctx, "conn %" PRIu32 " (%s) refused: out of memory",
			hdr->conn_id, kind_str(kind));
		mux_send_u32(mux, LTTNG_HYPER_FRAME_RESET, hdr->conn_id, LTTNG_HYPER_RESET_LIMIT);
		return;
	}
	fd = mux->ops->on_open(mux, conn, kind, path);
	if (mux_stopped(mux) || fd < 0) {
		if (fd >= 0 && close(fd)) {
			lh_log_errno(mux->log_ctx, "conn %" PRIu32 ": closing the local socket",
				hdr->conn_id);
		}
		conn_discard(conn);
		mux_send_u32(mux, LTTNG_HYPER_FRAME_RESET, hdr->conn_id, LTTNG_HYPER_RESET_REFUSED);
		return;
	}
	DBG_CTX(mux->log_ctx, "conn %" PRIu32 " (%s) opened by the guest", hdr->conn_id,
		kind_str(kind));
	conn_start(conn, fd);
}

/*
 * The conn a frame is for; NULL when there is none, either because it
 * was closed already here (the frame crossed our CLOSE or RESET: ignore
 * it) or because it never existed (channel error).
 */
struct lh_mux_conn *frame_conn(struct lh_mux *mux,
		const struct lttng_hyper_frame_header *hdr)
{
	struct lh_mux_conn *conn = conn_lookup(mux, hdr->conn_id);

	if (!conn && hdr->conn_id > mux->highest_id) {
		mux_fail(mux, "%s frame for conn %" PRIu32 ", which was never opened (highest opened %" PRIu32 ")",
			lttng_hyper_frame_type_str(hdr->type), hdr->conn_id, mux->highest_id);
	}
	return conn;
}

static void frame_data(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *body, uint32_t len)
{
	struct lh_mux_conn *conn = data_accept(mux, hdr, len);

	if (!conn) {
		return;
	}
	conn->unreturned += len;
	mux->stats.bytes_from_peer += len;
	if (len > 0) {
		conn_deliver(conn, body, len);
	}
}

static void frame_close(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr)
{
	struct lh_mux_conn *conn = frame_conn(mux, hdr);

	if (!conn || conn->peer_closed) {
		return;
	}
	DBG_CTX(mux->log_ctx, "conn %" PRIu32 " (%s): closed by the %s", conn->id,
		kind_str(conn->kind), mux_peer_name(mux));
	conn->peer_closed = true;
	lh_buf_reset(&conn->pend);
	if (conn_queued(conn) == 0) {
		conn_free(conn);
		return;
	}
	conn_update_events(conn);
}

static void frame_reset(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *body, uint32_t len)
{
	struct lh_mux_conn *conn;
	uint32_t reason;

	if (lttng_hyper_u32_decode(body, len, &reason)) {
		return;
	}
	conn = frame_conn(mux, hdr);
	if (!conn) {
		return;
	}
	INFO_CTX(mux->log_ctx, "conn %" PRIu32 " (%s): reset by the %s (%s)", conn->id,
		kind_str(conn->kind), mux_peer_name(mux), reset_reason_str(reason));
	conn_free(conn);
}

static void frame_clock_probe(struct lh_mux *mux, const uint8_t *body, uint32_t len)
{
	struct lttng_hyper_clock_reply reply = { .clock_id = MUX_CLOCK_MONOTONIC_ID };
	uint8_t out[LTTNG_HYPER_CLOCK_REPLY_LEN];

	if (lttng_hyper_clock_probe_decode(body, len, &reply.seq, &reply.host_send_ns)) {
		return;
	}
	reply.guest_ns = lh_now_ns();
	mux_send(mux, LTTNG_HYPER_FRAME_CLOCK_REPLY, 0, out,
		lttng_hyper_clock_reply_encode(&reply, out));
}

static void frame_clock_reply(struct lh_mux *mux, const uint8_t *body, uint32_t len)
{
	struct lttng_hyper_clock_reply reply;
	int ret;

	ret = lttng_hyper_clock_reply_decode(body, len, &reply);
	if (ret) {
		mux_fail(mux, "invalid CLOCK_REPLY: %s", lttng_hyper_error_str(ret));
		return;
	}
	if (mux->ops->on_clock_reply) {
		mux->ops->on_clock_reply(mux, &reply);
	}
}

static void frame_clock_estimate(struct lh_mux *mux, const char *path, const uint8_t *body,
		uint32_t len)
{
	struct lttng_hyper_clock_estimate est;
	int ret;

	ret = lttng_hyper_clock_estimate_decode(body, len, &est);
	if (ret) {
		mux_fail(mux, "invalid CLOCK_ESTIMATE for VM %s: %s", path,
			lttng_hyper_error_str(ret));
		return;
	}
	if (mux->ops->on_clock_estimate) {
		mux->ops->on_clock_estimate(mux, path, &est);
	}
}

/* Body size of each fixed-size frame type; -1 for variable. */
static long frame_body_len(uint8_t type)
{
	switch (type) {
	case LTTNG_HYPER_FRAME_OPEN:
		return LTTNG_HYPER_OPEN_LEN;
	case LTTNG_HYPER_FRAME_CLOSE:
		return 0;
	case LTTNG_HYPER_FRAME_RESET:
		return LTTNG_HYPER_RESET_LEN;
	case LTTNG_HYPER_FRAME_CREDIT:
		return LTTNG_HYPER_CREDIT_LEN;
	case LTTNG_HYPER_FRAME_PING:
	case LTTNG_HYPER_FRAME_PONG:
		return LTTNG_HYPER_PING_LEN;
	case LTTNG_HYPER_FRAME_CLOCK_PROBE:
		return LTTNG_HYPER_CLOCK_PROBE_LEN;
	case LTTNG_HYPER_FRAME_CLOCK_REPLY:
		return LTTNG_HYPER_CLOCK_REPLY_LEN;
	case LTTNG_HYPER_FRAME_CLOCK_ESTIMATE:
		return LTTNG_HYPER_CLOCK_ESTIMATE_LEN;
	}
	return -1;
}

static bool frame_is_channel_level(uint8_t type)
{
	switch (type) {
	case LTTNG_HYPER_FRAME_HELLO:
	case LTTNG_HYPER_FRAME_PING:
	case LTTNG_HYPER_FRAME_PONG:
	case LTTNG_HYPER_FRAME_CLOCK_PROBE:
	case LTTNG_HYPER_FRAME_CLOCK_REPLY:
	case LTTNG_HYPER_FRAME_CLOCK_ESTIMATE:
		return true;
	}
	return false;
}

/* Checks every frame passes, whatever its body. Returns false on failure. */
bool mux_frame_check(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr)
{
	const char *type = lttng_hyper_frame_type_str(hdr->type);
	uint32_t len = hdr->length - hdr->path_len;
	long expected = frame_body_len(hdr->type);

	mux->stats.frames_from_peer++;
	if (!mux->ready && hdr->type != LTTNG_HYPER_FRAME_HELLO) {
		mux_fail(mux, "%s frame before HELLO", type);
		return false;
	}
	if (frame_is_channel_level(hdr->type) != (hdr->conn_id == 0)) {
		mux_fail(mux, "%s frame on conn %" PRIu32 ": %s", type, hdr->conn_id,
			hdr->conn_id ? "this frame type belongs to conn 0" :
				"conn 0 is reserved for the channel");
		return false;
	}
	if (expected >= 0 && len != (uint32_t) expected) {
		mux_fail(mux, "%s frame on conn %" PRIu32 " has a %" PRIu32 "-byte body (expected %ld)",
			type, hdr->conn_id, len, expected);
		return false;
	}
	return true;
}

/* One whole frame; payload is the VM path followed by the body. */
void mux_frame(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *payload)
{
	const char *type = lttng_hyper_frame_type_str(hdr->type);
	const uint8_t *body = payload + hdr->path_len;
	uint32_t len = hdr->length - hdr->path_len;
	char path[LTTNG_HYPER_PATH_MAX_LEN + 1] = "";

	if (!mux_frame_check(mux, hdr)) {
		return;
	}
	if (hdr->path_len > 0) {
		if (!mux->cfg.allow_paths) {
			mux_fail(mux, "%s frame on conn %" PRIu32 " carries a VM path of %u bytes, but nesting is not enabled",
				type, hdr->conn_id, hdr->path_len);
			return;
		}
		if (lttng_hyper_path_validate((const char *) payload, hdr->path_len)) {
			mux_fail(mux, "%s frame on conn %" PRIu32 " carries a malformed VM path",
				type, hdr->conn_id);
			return;
		}
		if (hdr->type != LTTNG_HYPER_FRAME_OPEN &&
				hdr->type != LTTNG_HYPER_FRAME_CLOCK_ESTIMATE) {
			mux_fail(mux, "%s frame on conn %" PRIu32 " carries a VM path: only OPEN and CLOCK_ESTIMATE do",
				type, hdr->conn_id);
			return;
		}
		memcpy(path, payload, hdr->path_len);
		path[hdr->path_len] = '\0';
	}

	switch (hdr->type) {
	case LTTNG_HYPER_FRAME_HELLO:
		frame_hello(mux, hdr, body, len);
		break;
	case LTTNG_HYPER_FRAME_OPEN:
		frame_open(mux, hdr, path, body, len);
		break;
	case LTTNG_HYPER_FRAME_DATA:
		frame_data(mux, hdr, body, len);
		break;
	case LTTNG_HYPER_FRAME_CLOSE:
		frame_close(mux, hdr);
		break;
	case LTTNG_HYPER_FRAME_RESET:
		frame_reset(mux, hdr, body, len);
		break;
	case LTTNG_HYPER_FRAME_CREDIT:
		frame_credit(mux, hdr, body, len);
		break;
	case LTTNG_HYPER_FRAME_PING:
		/* The cookie is opaque: echo its bytes. */
		mux_send(mux, LTTNG_HYPER_FRAME_PONG, 0, body, len);
		break;
	case LTTNG_HYPER_FRAME_PONG:
		/* Its arrival refreshed last_rx_ms already. */
		break;
	case LTTNG_HYPER_FRAME_CLOCK_PROBE:
		if (mux->cfg.role != LH_MUX_GUEST) {
			mux_fail(mux, "CLOCK_PROBE frame from the guest");
			return;
		}
		frame_clock_probe(mux, body, len);
		break;
	case LTTNG_HYPER_FRAME_CLOCK_REPLY:
		if (mux->cfg.role != LH_MUX_HOST) {
			mux_fail(mux, "CLOCK_REPLY frame from the host");
			return;
		}
		frame_clock_reply(mux, body, len);
		break;
	case LTTNG_HYPER_FRAME_CLOCK_ESTIMATE:
		if (mux->cfg.role != LH_MUX_HOST) {
			mux_fail(mux, "CLOCK_ESTIMATE frame from the host");
			return;
		}
		if (!path[0]) {
			mux_fail(mux, "CLOCK_ESTIMATE frame without a VM path: a guest does not measure itself");
			return;
		}
		frame_clock_estimate(mux, path, body, len);
		break;
	}
}
