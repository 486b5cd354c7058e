/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Codec of the lttng-hyper wire format (lttng-hyper/frame.h,
 * doc/protocol.md).
 *
 * Every byte that comes from a guest goes through the decoders here, so
 * they check everything the specification fixes and trust nothing. Wire
 * integers are big-endian and read byte by byte: a frame can start at
 * any offset of a receive buffer, so no struct is ever cast over it.
 */
#include <stdbool.h>
#include <string.h>

#include <lttng-hyper/frame.h>

#include "common/bytes.h"

/* Byte offsets of the header fields. */
#define HDR_OFF_MAGIC		0
#define HDR_OFF_TYPE		2
#define HDR_OFF_FLAGS		3
#define HDR_OFF_CONN_ID		4
#define HDR_OFF_LENGTH		8
#define HDR_OFF_PATH_LEN	12
#define HDR_OFF_RESERVED	14

/* Big-endian stores and loads: the only place byte order is handled. */






/* A body of fixed size: shorter is truncated, longer is inconsistent. */
static int check_fixed_len(size_t len, size_t expected)
{
	if (len < expected) {
		return -LTTNG_HYPER_ERR_TRUNCATED;
	}
	if (len > expected) {
		return -LTTNG_HYPER_ERR_LENGTH;
	}
	return 0;
}

/* Encode hdr; magic and the reserved u16 are filled in here. */
void lttng_hyper_frame_header_encode(const struct lttng_hyper_frame_header *hdr,
		uint8_t *out)
{
	lh_put_be16(out + HDR_OFF_MAGIC, LTTNG_HYPER_FRAME_MAGIC);
	out[HDR_OFF_TYPE] = hdr->type;
	out[HDR_OFF_FLAGS] = hdr->flags;
	lh_put_be32(out + HDR_OFF_CONN_ID, hdr->conn_id);
	lh_put_be32(out + HDR_OFF_LENGTH, hdr->length);
	lh_put_be16(out + HDR_OFF_PATH_LEN, hdr->path_len);
	lh_put_be16(out + HDR_OFF_RESERVED, 0);
}

/* Decode and validate a header; hdr is written only on success. */
int lttng_hyper_frame_header_decode(const uint8_t *in, uint32_t max_len,
		struct lttng_hyper_frame_header *hdr)
{
	uint8_t type = in[HDR_OFF_TYPE];
	uint32_t length = lh_get_be32(in + HDR_OFF_LENGTH);
	uint16_t path_len = lh_get_be16(in + HDR_OFF_PATH_LEN);

	if (lh_get_be16(in + HDR_OFF_MAGIC) != LTTNG_HYPER_FRAME_MAGIC) {
		return -LTTNG_HYPER_ERR_MAGIC;
	}
	if (type < LTTNG_HYPER_FRAME_HELLO || type > LTTNG_HYPER_FRAME_TYPE_MAX) {
		return -LTTNG_HYPER_ERR_TYPE;
	}
	/* No flag is defined yet: a set bit means a peer we do not understand. */
	if (in[HDR_OFF_FLAGS] != 0 || lh_get_be16(in + HDR_OFF_RESERVED) != 0) {
		return -LTTNG_HYPER_ERR_RESERVED;
	}
	if (path_len > LTTNG_HYPER_PATH_MAX_LEN) {
		return -LTTNG_HYPER_ERR_PATH;
	}
	if (path_len > length || length > max_len) {
		return -LTTNG_HYPER_ERR_LENGTH;
	}
	hdr->type = type;
	hdr->flags = 0;
	hdr->conn_id = lh_get_be32(in + HDR_OFF_CONN_ID);
	hdr->length = length;
	hdr->path_len = path_len;
	return 0;
}

/* [A-Za-z0-9_-]: safe as a directory name and in a log line. */
static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* One VM name: 1 to LTTNG_HYPER_NAME_MAX_LEN name characters, no leading '-'. */
int lttng_hyper_name_validate(const char *name, size_t len)
{
	size_t i;

	/* A leading '-' would read as an option on a command line. */
	if (len == 0 || len > LTTNG_HYPER_NAME_MAX_LEN || name[0] == '-') {
		return -LTTNG_HYPER_ERR_PATH;
	}
	for (i = 0; i < len; i++) {
		if (!is_name_char(name[i])) {
			return -LTTNG_HYPER_ERR_PATH;
		}
	}
	return 0;
}

/* Valid names joined by single '/', at most LTTNG_HYPER_PATH_MAX_LEN bytes. */
int lttng_hyper_path_validate(const char *path, size_t len)
{
	size_t start = 0, i;

	if (len == 0 || len > LTTNG_HYPER_PATH_MAX_LEN) {
		return -LTTNG_HYPER_ERR_PATH;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && path[i] != '/') {
			continue;
		}
		if (lttng_hyper_name_validate(path + start, i - start)) {
			return -LTTNG_HYPER_ERR_PATH;
		}
		start = i + 1;
	}
	return 0;
}

/* Encode a HELLO body: hello->name_len bytes of hello->name follow the fixed part. */
size_t lttng_hyper_hello_encode(const struct lttng_hyper_hello *hello, uint8_t *out)
{
	lh_put_be16(out, hello->major);
	lh_put_be16(out + 2, hello->minor);
	lh_put_be32(out + 4, hello->caps);
	lh_put_be32(out + 8, hello->max_frame);
	lh_put_be32(out + 12, hello->window);
	out[16] = hello->name_len;
	memcpy(out + LTTNG_HYPER_HELLO_FIXED_LEN, hello->name, hello->name_len);
	return LTTNG_HYPER_HELLO_FIXED_LEN + hello->name_len;
}

/*
 * Decode a HELLO body. Its length must be exactly the fixed part plus the
 * name: trailing bytes would be a peer speaking a layout we do not know.
 */
int lttng_hyper_hello_decode(const uint8_t *body, size_t len, struct lttng_hyper_hello *hello)
{
	uint8_t name_len;
	int ret;

	if (len < LTTNG_HYPER_HELLO_FIXED_LEN) {
		return -LTTNG_HYPER_ERR_TRUNCATED;
	}
	name_len = body[16];
	if (name_len > LTTNG_HYPER_NAME_MAX_LEN) {
		return -LTTNG_HYPER_ERR_LENGTH;
	}
	ret = check_fixed_len(len, LTTNG_HYPER_HELLO_FIXED_LEN + (size_t) name_len);
	if (ret) {
		return ret;
	}
	if (name_len > 0 &&
			lttng_hyper_name_validate((const char *) body + LTTNG_HYPER_HELLO_FIXED_LEN,
				name_len)) {
		return -LTTNG_HYPER_ERR_PATH;
	}
	hello->major = lh_get_be16(body);
	hello->minor = lh_get_be16(body + 2);
	hello->caps = lh_get_be32(body + 4);
	hello->max_frame = lh_get_be32(body + 8);
	hello->window = lh_get_be32(body + 12);
	hello->name_len = name_len;
	memcpy(hello->name, body + LTTNG_HYPER_HELLO_FIXED_LEN, name_len);
	hello->name[name_len] = '\0';
	return 0;
}

/* CREDIT and RESET bodies: one u32. */
size_t lttng_hyper_u32_encode(uint32_t v, uint8_t *out)
{
	lh_put_be32(out, v);
	return 4;
}

/* Decode a body that is exactly one u32. */
int lttng_hyper_u32_decode(const uint8_t *body, size_t len, uint32_t *v)
{
	int ret = check_fixed_len(len, 4);

	if (ret) {
		return ret;
	}
	*v = lh_get_be32(body);
	return 0;
}

/* PING and PONG bodies: one u64 cookie. */
size_t lttng_hyper_u64_encode(uint64_t v, uint8_t *out)
{
	lh_put_be64(out, v);
	return 8;
}

/* Decode a body that is exactly one u64. */
int lttng_hyper_u64_decode(const uint8_t *body, size_t len, uint64_t *v)
{
	int ret = check_fixed_len(len, 8);

	if (ret) {
		return ret;
	}
	*v = lh_get_be64(body);
	return 0;
}

/* OPEN body: the kind, then three zero bytes. */
size_t lttng_hyper_open_encode(enum lttng_hyper_conn_kind kind, uint8_t *out)
{
	out[0] = (uint8_t) kind;
	out[1] = 0;
	out[2] = 0;
	out[3] = 0;
	return LTTNG_HYPER_OPEN_LEN;
}

/* Decode an OPEN body; an unknown kind is reported as a bad type. */
int lttng_hyper_open_decode(const uint8_t *body, size_t len, enum lttng_hyper_conn_kind *kind)
{
	int ret = check_fixed_len(len, LTTNG_HYPER_OPEN_LEN);

	if (ret) {
		return ret;
	}
	if (body[0] != LTTNG_HYPER_CONN_CONTROL && body[0] != LTTNG_HYPER_CONN_DATA) {
		return -LTTNG_HYPER_ERR_TYPE;
	}
	if (body[1] || body[2] || body[3]) {
		return -LTTNG_HYPER_ERR_RESERVED;
	}
	*kind = (enum lttng_hyper_conn_kind) body[0];
	return 0;
}

/* CLOCK_PROBE body: u64 seq, u64 host_send_ns. */
size_t lttng_hyper_clock_probe_encode(uint64_t seq, uint64_t host_send_ns, uint8_t *out)
{
	lh_put_be64(out, seq);
	lh_put_be64(out + 8, host_send_ns);
	return LTTNG_HYPER_CLOCK_PROBE_LEN;
}

/* Decode a CLOCK_PROBE body. */
int lttng_hyper_clock_probe_decode(const uint8_t *body, size_t len, uint64_t *seq,
		uint64_t *host_send_ns)
{
	int ret = check_fixed_len(len, LTTNG_HYPER_CLOCK_PROBE_LEN);

	if (ret) {
		return ret;
	}
	*seq = lh_get_be64(body);
	*host_send_ns = lh_get_be64(body + 8);
	return 0;
}

/* CLOCK_REPLY body: u64 seq, u64 host_send_ns, u64 guest_ns, u32 clock_id, u32 0. */
size_t lttng_hyper_clock_reply_encode(const struct lttng_hyper_clock_reply *r, uint8_t *out)
{
	lh_put_be64(out, r->seq);
	lh_put_be64(out + 8, r->host_send_ns);
	lh_put_be64(out + 16, r->guest_ns);
	lh_put_be32(out + 24, r->clock_id);
	lh_put_be32(out + 28, 0);
	return LTTNG_HYPER_CLOCK_REPLY_LEN;
}

/* Decode a CLOCK_REPLY body; the clock id is the caller's to judge. */
int lttng_hyper_clock_reply_decode(const uint8_t *body, size_t len,
		struct lttng_hyper_clock_reply *r)
{
	int ret = check_fixed_len(len, LTTNG_HYPER_CLOCK_REPLY_LEN);

	if (ret) {
		return ret;
	}
	if (lh_get_be32(body + 28) != 0) {
		return -LTTNG_HYPER_ERR_RESERVED;
	}
	r->seq = lh_get_be64(body);
	r->host_send_ns = lh_get_be64(body + 8);
	r->guest_ns = lh_get_be64(body + 16);
	r->clock_id = lh_get_be32(body + 24);
	return 0;
}

size_t lttng_hyper_clock_estimate_encode(const struct lttng_hyper_clock_estimate *e,
		uint8_t *out)
{
	lh_put_be64(out, e->ref_child_ns);
	lh_put_be64(out + 8, e->ref_parent_ns);
	lh_put_be64(out + 16, (uint64_t) e->drift_fs);
	lh_put_be64(out + 24, e->error_ns);
	lh_put_be64(out + 32, e->min_rtt_ns);
	lh_put_be64(out + 40, e->first_child_ns);
	lh_put_be64(out + 48, e->last_child_ns);
	lh_put_be32(out + 56, e->samples);
	lh_put_be16(out + 60, e->used);
	out[62] = e->method;
	out[63] = 0;
	return LTTNG_HYPER_CLOCK_ESTIMATE_LEN;
}

int lttng_hyper_clock_estimate_decode(const uint8_t *body, size_t len,
		struct lttng_hyper_clock_estimate *e)
{
	struct lttng_hyper_clock_estimate d;
	int ret = check_fixed_len(len, LTTNG_HYPER_CLOCK_ESTIMATE_LEN);

	if (ret) {
		return ret;
	}
	if (body[63] != 0) {
		return -LTTNG_HYPER_ERR_RESERVED;
	}
	d.ref_child_ns = lh_get_be64(body);
	d.ref_parent_ns = lh_get_be64(body + 8);
	d.drift_fs = (int64_t) lh_get_be64(body + 16);
	d.error_ns = lh_get_be64(body + 24);
	d.min_rtt_ns = lh_get_be64(body + 32);
	d.first_child_ns = lh_get_be64(body + 40);
	d.last_child_ns = lh_get_be64(body + 48);
	d.samples = lh_get_be32(body + 56);
	d.used = lh_get_be16(body + 60);
	d.method = body[62];
	if (d.drift_fs > LTTNG_HYPER_CLOCK_MAX_DRIFT_FS ||
			d.drift_fs < -LTTNG_HYPER_CLOCK_MAX_DRIFT_FS ||
			d.last_child_ns < d.first_child_ns || d.used > d.samples) {
		return -LTTNG_HYPER_ERR_LENGTH;
	}
	*e = d;
	return 0;
}

/* Name of a frame type, for log lines. */
const char *lttng_hyper_frame_type_str(uint8_t type)
{
	static const char *const names[] = {
		[LTTNG_HYPER_FRAME_HELLO] = "HELLO",
		[LTTNG_HYPER_FRAME_OPEN] = "OPEN",
		[LTTNG_HYPER_FRAME_DATA] = "DATA",
		[LTTNG_HYPER_FRAME_CLOSE] = "CLOSE",
		[LTTNG_HYPER_FRAME_RESET] = "RESET",
		[LTTNG_HYPER_FRAME_CREDIT] = "CREDIT",
		[LTTNG_HYPER_FRAME_PING] = "PING",
		[LTTNG_HYPER_FRAME_PONG] = "PONG",
		[LTTNG_HYPER_FRAME_CLOCK_PROBE] = "CLOCK_PROBE",
		[LTTNG_HYPER_FRAME_CLOCK_REPLY] = "CLOCK_REPLY",
		[LTTNG_HYPER_FRAME_CLOCK_ESTIMATE] = "CLOCK_ESTIMATE",
	};

	if (type < LTTNG_HYPER_FRAME_HELLO || type > LTTNG_HYPER_FRAME_TYPE_MAX) {
		return "unknown";
	}
	return names[type];
}

/* Text of a decoder error; err may be given negated (as returned) or not. */
const char *lttng_hyper_error_str(int err)
{
	static const char *const texts[] = {
		[LTTNG_HYPER_OK] = "success",
		[LTTNG_HYPER_ERR_MAGIC] = "bad magic",
		[LTTNG_HYPER_ERR_TYPE] = "unknown frame or connection type",
		[LTTNG_HYPER_ERR_LENGTH] = "bad length",
		[LTTNG_HYPER_ERR_RESERVED] = "reserved field not zero",
		[LTTNG_HYPER_ERR_PATH] = "malformed VM path or name",
		[LTTNG_HYPER_ERR_TRUNCATED] = "body too short",
		[LTTNG_HYPER_ERR_VERSION] = "unsupported protocol version",
	};

	if (err < -LTTNG_HYPER_ERR_VERSION || err > LTTNG_HYPER_ERR_VERSION) {
		return "unknown error";
	}
	return texts[err < 0 ? -err : err];
}
