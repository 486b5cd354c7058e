/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The lttng-relayd protocol, 2.11 to 2.15 (src/common/relayd-msg.h).
 *
 * Layouts and replies follow what lttng-tools 2.13 to 2.16's client
 * (src/common/relayd/relayd.c[pp]) sends and reads, and what its
 * lttng-relayd accepts. lttng 2.14 speaks minor 14, 2.15 and 2.16 both
 * speak 15; only CREATE_SESSION changed between 2.13 and 2.16. Every length is checked exactly: a message that
 * lttng-tools would not send is refused, even where lttng-relayd would
 * tolerate it. Wire integers are read byte by byte; no struct is cast
 * over guest bytes.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "common/defaults.h"
#include "common/path.h"
#include "common/log.h"
#include "common/relayd-msg.h"

/* lttng-tools' limits (include/lttng/constant.h), counting the NUL. */
#define RELAYD_NAME_MAX			255	/* LTTNG_NAME_MAX */
#define RELAYD_HOST_NAME_MAX		256	/* LTTNG_HOST_NAME_MAX */
#define RELAYD_PATH_MAX			4096	/* LTTNG_PATH_MAX */
#define RELAYD_STREAM_NAME_MAX		264	/* DEFAULT_STREAM_NAME_LEN */

/*
 * struct lttcomm_relayd_create_session_2_11, before its names; from
 * minor 15 (lttcomm_relayd_create_session_2_15), a u32 trace_format
 * follows the same 59 bytes.
 */
#define CS_OFF_SESSION_NAME_LEN		0
#define CS_OFF_HOSTNAME_LEN		4
#define CS_OFF_BASE_PATH_LEN		8
#define CS_OFF_NAME_HAS_TIME		17
#define CS_OFF_UUID			18
#define CS_OFF_CREATION_TIME		42
#define CS_FIXED_LEN_2_11		59
#define CS_OFF_TRACE_FORMAT		59
#define CS_FIXED_LEN_2_15		63
/* enum lttng_trace_format as sent (DEFAULT is resolved before). */
#define CS_TRACE_FORMAT_CTF_1_8		1
#define CS_TRACE_FORMAT_CTF_2		2

/* struct lttcomm_relayd_add_stream_2_11, before its names. */
#define AS_OFF_CHANNEL_NAME_LEN		0
#define AS_OFF_PATHNAME_LEN		4
#define AS_OFF_TRACEFILE_SIZE		8
#define AS_OFF_TRACEFILE_COUNT		16
#define AS_FIXED_LEN			32

/* struct lttcomm_relayd_create_trace_chunk, before its name. */
#define CTC_OFF_NAME_LEN		16
#define CTC_FIXED_LEN			20

/* struct lttcomm_relayd_close_trace_chunk: u64, u64, packed optional u32. */
#define CLTC_OFF_IS_SET			16
#define CLTC_OFF_COMMAND		17
#define CLTC_LEN			21
/* enum lttng_trace_chunk_command_type: MOVE_TO_COMPLETED, NO_OPERATION, DELETE. */
#define CLTC_COMMAND_MAX		2

/* struct lttcomm_relayd_metadata_payload, before the metadata. */
#define MD_OFF_PADDING			8
#define MD_HDR_LEN			12

/*
 * struct lttcomm_relayd_rotate_streams: u32 stream_count, then an
 * optional u64 whose padding depends on the sender's ABI (packed, 4- or
 * 8-byte aligned), then 16-byte positions. The three header sizes differ
 * modulo 16, so the payload size tells them apart, as lttng-relayd does.
 */
#define RS_POSITION_LEN			16
static const size_t rs_header_lens[] = { 13, 16, 20 };

/* Index message of protocol >= 2.8 (index format 1.1): ten u64. */
#define SEND_INDEX_LEN			80

/* Escaped guest strings in error messages are cut to this many bytes. */
#define ESCAPE_MAX			48





void lh_relayd_ctrl_hdr_decode(const uint8_t *in, struct lh_relayd_ctrl_hdr *hdr)
{
	hdr->circuit_id = lh_get_be64(in);
	hdr->data_size = lh_get_be64(in + 8);
	hdr->cmd = lh_get_be32(in + 16);
	hdr->cmd_version = lh_get_be32(in + 20);
}

void lh_relayd_ctrl_hdr_encode(const struct lh_relayd_ctrl_hdr *hdr, uint8_t *out)
{
	lh_put_be64(out, hdr->circuit_id);
	lh_put_be64(out + 8, hdr->data_size);
	lh_put_be32(out + 16, hdr->cmd);
	lh_put_be32(out + 20, hdr->cmd_version);
}

void lh_relayd_data_hdr_decode(const uint8_t *in, struct lh_relayd_data_hdr *hdr)
{
	hdr->circuit_id = lh_get_be64(in);
	hdr->stream_id = lh_get_be64(in + 8);
	hdr->net_seq_num = lh_get_be64(in + 16);
	hdr->data_size = lh_get_be32(in + 24);
	hdr->padding_size = lh_get_be32(in + 28);
}

void lh_relayd_data_hdr_encode(const struct lh_relayd_data_hdr *hdr, uint8_t *out)
{
	lh_put_be64(out, hdr->circuit_id);
	lh_put_be64(out + 8, hdr->stream_id);
	lh_put_be64(out + 16, hdr->net_seq_num);
	lh_put_be32(out + 24, hdr->data_size);
	lh_put_be32(out + 28, hdr->padding_size);
}

void lh_relayd_version_encode(uint32_t major, uint32_t minor, uint8_t *out)
{
	lh_put_be32(out, major);
	lh_put_be32(out + 4, minor);
}

/*
 * Quote a guest string for a log line: printable ASCII as is, the rest
 * as \xNN, cut after ESCAPE_MAX bytes, so no guest byte reaches the log
 * raw.
 */
static void escape(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < len && i < ESCAPE_MAX && o + 5 < outlen; i++) {
		unsigned char ch = (unsigned char) s[i];

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char) ch;
		} else if (ch >= 0x20 && ch <= 0x7e) {
			out[o++] = (char) ch;
		} else {
			o += (size_t) snprintf(out + o, outlen - o, "\\x%02x", ch);
		}
	}
	if (i < len && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* One control message being checked. */
struct msg_check {
	const struct lh_relayd_msg_ctx *ctx;
	const char *name;
	const uint8_t *payload;
	size_t len;		/* payload bytes */
	struct lh_buf *out;
	struct lh_relayd_msg_info *info;
	char *err;
	size_t errlen;
};

enum ref_kind {
	REF_NONE,
	REF_STREAM,	/* u64 stream id at offset 0 */
	REF_SESSION,	/* u64 session id at offset 0 */
};

struct cmd_desc {
	const char *name;
	/* Why the relay refuses it; NULL if accepted. */
	const char *refused;
	uint32_t min_minor;
	enum lh_relayd_reply reply;
	/* NULL: fixed_len bytes, naming ref at offset 0. */
	int (*check)(struct msg_check *c);
	size_t fixed_len;
	enum ref_kind ref;
};

static int check_version(struct msg_check *c);
static int check_create_session(struct msg_check *c);
static int check_add_stream(struct msg_check *c);
static int check_send_metadata(struct msg_check *c);
static int check_rotate_streams(struct msg_check *c);
static int check_create_trace_chunk(struct msg_check *c);
static int check_close_trace_chunk(struct msg_check *c);

static const struct cmd_desc cmd_descs[] = {
	[LH_RELAYD_ADD_STREAM] = {
		.name = "ADD_STREAM", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_ADD_STREAM, .check = check_add_stream,
	},
	[LH_RELAYD_CREATE_SESSION] = {
		.name = "CREATE_SESSION", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_CREATE_SESSION, .check = check_create_session,
	},
	[LH_RELAYD_START_DATA] = {
		.name = "START_DATA", .refused = "not sent by lttng 2.11 and later",
	},
	[LH_RELAYD_UPDATE_SYNC_INFO] = {
		.name = "UPDATE_SYNC_INFO", .refused = "not implemented by lttng-relayd",
	},
	[LH_RELAYD_VERSION] = {
		.name = "VERSION", .reply = LH_RELAYD_REPLY_VERSION,
		.check = check_version,
	},
	[LH_RELAYD_SEND_METADATA] = {
		.name = "SEND_METADATA", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_NONE, .check = check_send_metadata,
	},
	[LH_RELAYD_CLOSE_STREAM] = {
		.name = "CLOSE_STREAM", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_GENERIC, .fixed_len = 16, .ref = REF_STREAM,
	},
	[LH_RELAYD_DATA_PENDING] = {
		.name = "DATA_PENDING", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_GENERIC, .fixed_len = 16, .ref = REF_STREAM,
	},
	[LH_RELAYD_QUIESCENT_CONTROL] = {
		.name = "QUIESCENT_CONTROL", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_GENERIC, .fixed_len = 8, .ref = REF_STREAM,
	},
	[LH_RELAYD_BEGIN_DATA_PENDING] = {
		.name = "BEGIN_DATA_PENDING", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_GENERIC, .fixed_len = 8, .ref = REF_SESSION,
	},
	[LH_RELAYD_END_DATA_PENDING] = {
		.name = "END_DATA_PENDING", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_GENERIC, .fixed_len = 8, .ref = REF_SESSION,
	},
	[LH_RELAYD_ADD_INDEX] = {
		.name = "ADD_INDEX", .refused = "not implemented by lttng-relayd",
	},
	[LH_RELAYD_SEND_INDEX] = {
		.name = "SEND_INDEX", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_GENERIC, .fixed_len = SEND_INDEX_LEN,
		.ref = REF_STREAM,
	},
	[LH_RELAYD_CLOSE_INDEX] = {
		.name = "CLOSE_INDEX", .refused = "not implemented by lttng-relayd",
	},
	[LH_RELAYD_LIST_SESSIONS] = {
		.name = "LIST_SESSIONS",
		.refused = "a live viewer command, not for a guest",
	},
	[LH_RELAYD_STREAMS_SENT] = {
		.name = "STREAMS_SENT", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_GENERIC, .fixed_len = 0,
	},
	[LH_RELAYD_RESET_METADATA] = {
		.name = "RESET_METADATA", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_GENERIC, .fixed_len = 16, .ref = REF_STREAM,
	},
	[LH_RELAYD_ROTATE_STREAMS] = {
		.name = "ROTATE_STREAMS", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_GENERIC, .check = check_rotate_streams,
	},
	[LH_RELAYD_CREATE_TRACE_CHUNK] = {
		.name = "CREATE_TRACE_CHUNK", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_GENERIC, .check = check_create_trace_chunk,
	},
	[LH_RELAYD_CLOSE_TRACE_CHUNK] = {
		.name = "CLOSE_TRACE_CHUNK", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_CLOSE_TRACE_CHUNK,
		.check = check_close_trace_chunk,
	},
	[LH_RELAYD_TRACE_CHUNK_EXISTS] = {
		.name = "TRACE_CHUNK_EXISTS", .min_minor = 11,
		.reply = LH_RELAYD_REPLY_TRACE_CHUNK_EXISTS, .fixed_len = 8,
	},
	[LH_RELAYD_GET_CONFIGURATION] = {
		.name = "GET_CONFIGURATION", .min_minor = 12,
		.reply = LH_RELAYD_REPLY_GET_CONFIGURATION, .fixed_len = 8,
	},
};

static const struct cmd_desc *cmd_desc(uint32_t cmd)
{
	if (cmd >= sizeof(cmd_descs) / sizeof(cmd_descs[0]) || !cmd_descs[cmd].name) {
		return NULL;
	}
	return &cmd_descs[cmd];
}

const char *lh_relayd_cmd_str(uint32_t cmd)
{
	const struct cmd_desc *desc = cmd_desc(cmd);

	return desc ? desc->name : "unknown command";
}

int lh_relayd_cmd_reply(uint32_t cmd, enum lh_relayd_reply *reply)
{
	const struct cmd_desc *desc = cmd_desc(cmd);

	if (!desc) {
		return -1;
	}
	*reply = desc->reply;
	return 0;
}

/* Append the header for a payload of len bytes; circuit and version are always 0. */
static int emit_header(struct msg_check *c, uint64_t len)
{
	const struct lh_relayd_ctrl_hdr hdr = {
		.data_size = len,
		.cmd = c->info->cmd,
	};

	if (lh_buf_reserve(c->out, LH_RELAYD_CTRL_HDR_LEN) < 0) {
		lh_set_err(c->err, c->errlen, "%s: out of memory", c->name);
		return -1;
	}
	lh_relayd_ctrl_hdr_encode(&hdr, lh_buf_tail(c->out));
	lh_buf_commit(c->out, LH_RELAYD_CTRL_HDR_LEN);
	return 0;
}

static int emit_bytes(struct msg_check *c, const void *p, size_t len)
{
	if (lh_buf_append(c->out, p, len) < 0) {
		lh_set_err(c->err, c->errlen, "%s: out of memory", c->name);
		return -1;
	}
	return 0;
}

/* Forward the message as received (with a clean header). */
static int emit_verbatim(struct msg_check *c)
{
	if (emit_header(c, c->len) < 0 || emit_bytes(c, c->payload, c->len) < 0) {
		return -1;
	}
	return 0;
}

static int check_len(struct msg_check *c, size_t expected)
{
	if (c->len != expected) {
		lh_set_err(c->err, c->errlen, "%s: payload of %zu bytes, expected %zu",
			c->name, c->len, expected);
		return -1;
	}
	return 0;
}

static void set_stream_refs(struct msg_check *c, const uint8_t *first, size_t nr,
		size_t stride)
{
	c->info->stream_refs = first;
	c->info->nr_stream_refs = nr;
	c->info->stream_ref_stride = stride;
}

/*
 * A string field of declared length len (counting its NUL), at most max:
 * it must end with its only NUL. An empty field (len 0) passes only if
 * allow_absent.
 */
static int check_string(struct msg_check *c, const char *field, const uint8_t *s,
		uint32_t len, uint32_t max, bool allow_absent)
{
	if (len == 0) {
		if (allow_absent) {
			return 0;
		}
		lh_set_err(c->err, c->errlen, "%s: %s missing (length 0)", c->name, field);
		return -1;
	}
	if (len > max) {
		lh_set_err(c->err, c->errlen, "%s: %s of %" PRIu32 " bytes exceeds %" PRIu32,
			c->name, field, len, max);
		return -1;
	}
	if (s[len - 1] != '\0') {
		lh_set_err(c->err, c->errlen, "%s: %s not NUL-terminated within its %" PRIu32 " bytes",
			c->name, field, len);
		return -1;
	}
	if (memchr(s, '\0', len - 1)) {
		lh_set_err(c->err, c->errlen, "%s: %s has an embedded NUL", c->name, field);
		return -1;
	}
	return 0;
}

enum path_rule {
	PATH_COMPONENT,		/* one safe component */
	PATH_RELATIVE,		/* a safe relative path */
	PATH_RELATIVE_OR_EMPTY,
};

/* s is a checked string field (NUL at s[len - 1]). */
static int check_path(struct msg_check *c, const char *field, const uint8_t *s,
		uint32_t len, enum path_rule rule)
{
	const char *str = (const char *) s;
	size_t slen = len ? len - 1 : 0;
	char quoted[ESCAPE_MAX * 4 + 8];
	bool safe;

	switch (rule) {
	case PATH_COMPONENT:
		safe = lh_path_component_is_safe(str, slen);
		break;
	case PATH_RELATIVE:
		safe = lh_path_relative_is_safe(str, slen, false);
		break;
	case PATH_RELATIVE_OR_EMPTY:
	default:
		safe = lh_path_relative_is_safe(str, slen, true);
		break;
	}
	if (safe) {
		return 0;
	}
	escape(str, slen, quoted, sizeof(quoted));
	lh_set_err(c->err, c->errlen, "%s: unsafe %s \"%s\"", c->name, field, quoted);
	return -1;
}

static int check_version(struct msg_check *c)
{
	uint32_t major, minor;
	uint8_t body[8];

	if (check_len(c, 8) < 0) {
		return -1;
	}
	major = lh_get_be32(c->payload);
	minor = lh_get_be32(c->payload + 4);
	if (major != LH_RELAYD_MAJOR || minor < LH_RELAYD_MINOR_MIN) {
		lh_set_err(c->err, c->errlen,
			"relayd protocol %" PRIu32 ".%" PRIu32 " not supported (%d.%d to %d.%d)",
			major, minor, LH_RELAYD_MAJOR, LH_RELAYD_MINOR_MIN,
			LH_RELAYD_MAJOR, LH_RELAYD_MINOR_MAX);
		return -1;
	}
	c->info->guest_version_minor = minor;
	/* Offer lttng-relayd no more than what is checked here. */
	if (minor > LH_RELAYD_MINOR_MAX) {
		minor = LH_RELAYD_MINOR_MAX;
	}
	c->info->version_minor = minor;
	lh_relayd_version_encode(major, minor, body);
	if (emit_header(c, sizeof(body)) < 0 || emit_bytes(c, body, sizeof(body)) < 0) {
		return -1;
	}
	return 0;
}

/*
 * A nested VM's session directory, under its parent's: lttng-relayd
 * writes hostname/base_path when base_path is set, else
 * hostname/session_name-DATETIME (just the name when the name holds its
 * creation time already). So the base path becomes prefix/ followed by
 * what lttng-relayd would have written, the date formatted as it does
 * (local time, in its environment, which is ours). Returns the new base
 * path's size with its NUL, or -1.
 */
static int nested_base_path(struct msg_check *c, const uint8_t *fixed, const char *name,
		const char *base, char *out, size_t outlen)
{
	time_t created = (time_t) lh_get_be64(fixed + CS_OFF_CREATION_TIME);
	char datetime[sizeof("YYYYmmdd-HHMMSS")];
	struct tm tm;
	int len;

	if (base[0]) {
		len = snprintf(out, outlen, "%s/%s", c->ctx->base_prefix, base);
	} else if (fixed[CS_OFF_NAME_HAS_TIME]) {
		len = snprintf(out, outlen, "%s/%s", c->ctx->base_prefix, name);
	} else {
		if (!localtime_r(&created, &tm) ||
				!strftime(datetime, sizeof(datetime), "%Y%m%d-%H%M%S", &tm)) {
			lh_set_err(c->err, c->errlen, "%s: creation time %" PRIu64 " cannot be a date",
				c->name, lh_get_be64(fixed + CS_OFF_CREATION_TIME));
			return -1;
		}
		len = snprintf(out, outlen, "%s/%s-%s", c->ctx->base_prefix, name, datetime);
	}
	if (len < 0 || (size_t) len >= outlen) {
		lh_set_err(c->err, c->errlen, "%s: the nested VM's base path would exceed %zu bytes",
			c->name, outlen - 1);
		return -1;
	}
	return len + 1;
}

/*
 * The guest names its session and base path; the host names the
 * directory above them: the hostname is replaced by the VM name (and a
 * nested VM's directory goes under its parent's), and the sessiond UUID
 * is moved into this VM's key space.
 */
static int check_create_session(struct msg_check *c)
{
	const uint8_t *p = c->payload;
	const uint8_t *name, *host, *base;
	uint32_t name_len, host_len, base_len, format;
	/* lttng-relayd reads the layout of the negotiated minor. */
	size_t fixed_len = c->ctx->minor >= LH_RELAYD_MINOR_CTF2 ?
		CS_FIXED_LEN_2_15 : CS_FIXED_LEN_2_11;
	uint8_t fixed[CS_FIXED_LEN_2_15];
	char nested[RELAYD_PATH_MAX];
	uint64_t expected;
	size_t vm_len;
	bool nil = true;
	int i, ret;

	if (c->len < fixed_len) {
		lh_set_err(c->err, c->errlen, "%s: payload of %zu bytes, expected at least %zu",
			c->name, c->len, fixed_len);
		return -1;
	}
	name_len = lh_get_be32(p + CS_OFF_SESSION_NAME_LEN);
	host_len = lh_get_be32(p + CS_OFF_HOSTNAME_LEN);
	base_len = lh_get_be32(p + CS_OFF_BASE_PATH_LEN);
	expected = (uint64_t) fixed_len + name_len + host_len + base_len;
	if (c->len != expected) {
		lh_set_err(c->err, c->errlen,
			"%s: payload of %zu bytes does not match its declared lengths (%zu + %" PRIu32
			" + %" PRIu32 " + %" PRIu32 ")",
			c->name, c->len, fixed_len, name_len, host_len, base_len);
		return -1;
	}
	c->info->trace_format = LH_RELAYD_CTF_1_8;
	if (fixed_len == CS_FIXED_LEN_2_15) {
		format = lh_get_be32(p + CS_OFF_TRACE_FORMAT);
		if (format != CS_TRACE_FORMAT_CTF_1_8 && format != CS_TRACE_FORMAT_CTF_2) {
			lh_set_err(c->err, c->errlen, "%s: trace format %" PRIu32
				" is neither CTF 1.8 (%d) nor CTF 2 (%d)", c->name, format,
				CS_TRACE_FORMAT_CTF_1_8, CS_TRACE_FORMAT_CTF_2);
			return -1;
		}
		if (format == CS_TRACE_FORMAT_CTF_2) {
			c->info->trace_format = LH_RELAYD_CTF_2;
		}
	}
	name = p + fixed_len;
	host = name + name_len;
	base = host + host_len;
	if (check_string(c, "session_name", name, name_len, RELAYD_NAME_MAX, false) < 0 ||
			check_string(c, "hostname", host, host_len,
				RELAYD_HOST_NAME_MAX, false) < 0 ||
			check_string(c, "base_path", base, base_len, RELAYD_PATH_MAX, true) < 0) {
		return -1;
	}
	if (check_path(c, "session_name", name, name_len, PATH_COMPONENT) < 0 ||
			check_path(c, "base_path", base, base_len, PATH_RELATIVE_OR_EMPTY) < 0) {
		return -1;
	}

	memcpy(fixed, p, fixed_len);
	for (i = 0; i < LH_RELAYD_UUID_LEN; i++) {
		if (fixed[CS_OFF_UUID + i]) {
			nil = false;
		}
		fixed[CS_OFF_UUID + i] ^= c->ctx->uuid_key[i];
	}
	/* lttng-relayd reserves the nil UUID for peers older than 2.11. */
	if (nil) {
		lh_set_err(c->err, c->errlen, "%s: nil sessiond UUID", c->name);
		return -1;
	}

	if (c->ctx->base_prefix && c->ctx->base_prefix[0]) {
		ret = nested_base_path(c, fixed, (const char *) name,
			base_len ? (const char *) base : "", nested, sizeof(nested));
		if (ret < 0) {
			return -1;
		}
		base = (const uint8_t *) nested;
		base_len = (uint32_t) ret;
		lh_put_be32(fixed + CS_OFF_BASE_PATH_LEN, base_len);
	}
	c->info->guest_hostname = (const char *) host;
	vm_len = strlen(c->ctx->hostname) + 1;
	lh_put_be32(fixed + CS_OFF_HOSTNAME_LEN, (uint32_t) vm_len);
	if (emit_header(c, (uint64_t) fixed_len + name_len + vm_len + base_len) < 0 ||
			emit_bytes(c, fixed, fixed_len) < 0 ||
			emit_bytes(c, name, name_len) < 0 ||
			emit_bytes(c, c->ctx->hostname, vm_len) < 0 ||
			emit_bytes(c, base, base_len) < 0) {
		return -1;
	}
	return 0;
}

static int check_add_stream(struct msg_check *c)
{
	const uint8_t *p = c->payload;
	const uint8_t *channel, *path;
	uint32_t channel_len, path_len;
	uint64_t expected, tracefile_size, tracefile_count;

	if (c->len < AS_FIXED_LEN) {
		lh_set_err(c->err, c->errlen, "%s: payload of %zu bytes, expected at least %d",
			c->name, c->len, AS_FIXED_LEN);
		return -1;
	}
	channel_len = lh_get_be32(p + AS_OFF_CHANNEL_NAME_LEN);
	path_len = lh_get_be32(p + AS_OFF_PATHNAME_LEN);
	expected = (uint64_t) AS_FIXED_LEN + channel_len + path_len;
	if (c->len != expected) {
		lh_set_err(c->err, c->errlen,
			"%s: payload of %zu bytes does not match its declared lengths (%d + %" PRIu32
			" + %" PRIu32 ")",
			c->name, c->len, AS_FIXED_LEN, channel_len, path_len);
		return -1;
	}
	channel = p + AS_FIXED_LEN;
	path = channel + channel_len;
	/* lttng-relayd caps the path name at LTTNG_NAME_MAX. */
	if (check_string(c, "channel_name", channel, channel_len,
				RELAYD_STREAM_NAME_MAX, false) < 0 ||
			check_string(c, "pathname", path, path_len, RELAYD_NAME_MAX, false) < 0 ||
			check_path(c, "channel_name", channel, channel_len, PATH_COMPONENT) < 0 ||
			check_path(c, "pathname", path, path_len, PATH_RELATIVE) < 0) {
		return -1;
	}
	if (!strcmp((const char *) channel, LH_SYNC_FILE_NAME)) {
		lh_set_err(c->err, c->errlen, "%s: channel_name \"%s\" is the relay's own file",
			c->name, LH_SYNC_FILE_NAME);
		return -1;
	}
	/*
	 * lttng-relayd up to 2.15 takes the next file's index modulo the
	 * count (SIGFPE when a size comes with no count: 2.16 refuses it),
	 * and every version allocates and writes 16 bytes per file counted.
	 */
	tracefile_size = lh_get_be64(p + AS_OFF_TRACEFILE_SIZE);
	tracefile_count = lh_get_be64(p + AS_OFF_TRACEFILE_COUNT);
	if (tracefile_size && !tracefile_count) {
		lh_set_err(c->err, c->errlen,
			"%s: tracefile_size %" PRIu64 " with tracefile_count 0 would crash lttng-relayd before 2.16; give the channel --tracefile-count too",
			c->name, tracefile_size);
		return -1;
	}
	if (tracefile_count > LH_RELAYD_MAX_TRACEFILE_COUNT) {
		lh_set_err(c->err, c->errlen, "%s: tracefile_count %" PRIu64 " exceeds %u",
			c->name, tracefile_count, LH_RELAYD_MAX_TRACEFILE_COUNT);
		return -1;
	}
	return emit_verbatim(c);
}

/* Metadata travels on the control connection, behind a stream id and padding. */
static int check_send_metadata(struct msg_check *c)
{
	uint32_t padding;

	if (c->len < MD_HDR_LEN) {
		lh_set_err(c->err, c->errlen, "%s: payload of %zu bytes, expected at least %d",
			c->name, c->len, MD_HDR_LEN);
		return -1;
	}
	padding = lh_get_be32(c->payload + MD_OFF_PADDING);
	if (c->len - MD_HDR_LEN + (uint64_t) padding > LH_RELAYD_MAX_PACKET) {
		lh_set_err(c->err, c->errlen, "%s: packet of %zu + %" PRIu32 " padding bytes exceeds %u",
			c->name, c->len - MD_HDR_LEN, padding, LH_RELAYD_MAX_PACKET);
		return -1;
	}
	set_stream_refs(c, c->payload, 1, 0);
	return emit_verbatim(c);
}

static int check_rotate_streams(struct msg_check *c)
{
	uint32_t count;
	size_t i;

	if (c->len < rs_header_lens[0]) {
		lh_set_err(c->err, c->errlen, "%s: payload of %zu bytes, expected at least %zu",
			c->name, c->len, rs_header_lens[0]);
		return -1;
	}
	count = lh_get_be32(c->payload);
	for (i = 0; i < sizeof(rs_header_lens) / sizeof(rs_header_lens[0]); i++) {
		if (c->len == rs_header_lens[i] + (uint64_t) count * RS_POSITION_LEN) {
			break;
		}
	}
	if (i == sizeof(rs_header_lens) / sizeof(rs_header_lens[0])) {
		lh_set_err(c->err, c->errlen,
			"%s: payload of %zu bytes does not hold %" PRIu32 " stream positions",
			c->name, c->len, count);
		return -1;
	}
	if (c->payload[4] > 1) {
		lh_set_err(c->err, c->errlen, "%s: bad new_chunk_id.is_set %u",
			c->name, c->payload[4]);
		return -1;
	}
	set_stream_refs(c, c->payload + rs_header_lens[i], count, RS_POSITION_LEN);
	return emit_verbatim(c);
}

static int check_create_trace_chunk(struct msg_check *c)
{
	const uint8_t *name;
	uint32_t name_len;

	if (c->len < CTC_FIXED_LEN) {
		lh_set_err(c->err, c->errlen, "%s: payload of %zu bytes, expected at least %d",
			c->name, c->len, CTC_FIXED_LEN);
		return -1;
	}
	name_len = lh_get_be32(c->payload + CTC_OFF_NAME_LEN);
	if (c->len != (uint64_t) CTC_FIXED_LEN + name_len) {
		lh_set_err(c->err, c->errlen,
			"%s: payload of %zu bytes does not match its declared lengths (%d + %" PRIu32 ")",
			c->name, c->len, CTC_FIXED_LEN, name_len);
		return -1;
	}
	name = c->payload + CTC_FIXED_LEN;
	/* No override name: lttng-relayd names the chunk itself. */
	if (name_len && (check_string(c, "override_name", name, name_len,
				RELAYD_NAME_MAX, false) < 0 ||
			check_path(c, "override_name", name, name_len, PATH_COMPONENT) < 0)) {
		return -1;
	}
	return emit_verbatim(c);
}

static int check_close_trace_chunk(struct msg_check *c)
{
	uint8_t is_set;
	uint32_t command;

	if (check_len(c, CLTC_LEN) < 0) {
		return -1;
	}
	is_set = c->payload[CLTC_OFF_IS_SET];
	command = lh_get_be32(c->payload + CLTC_OFF_COMMAND);
	if (is_set > 1 || (is_set && command > CLTC_COMMAND_MAX)) {
		lh_set_err(c->err, c->errlen, "%s: bad close_command (is_set %u, value %" PRIu32 ")",
			c->name, is_set, command);
		return -1;
	}
	return emit_verbatim(c);
}

static int check_fixed(struct msg_check *c, const struct cmd_desc *desc)
{
	if (check_len(c, desc->fixed_len) < 0) {
		return -1;
	}
	switch (desc->ref) {
	case REF_STREAM:
		set_stream_refs(c, c->payload, 1, 0);
		break;
	case REF_SESSION:
		c->info->has_session_ref = true;
		c->info->session_ref = lh_get_be64(c->payload);
		break;
	case REF_NONE:
		break;
	}
	return emit_verbatim(c);
}

int lh_relayd_ctrl_hdr_check(const struct lh_relayd_msg_ctx *ctx,
		const struct lh_relayd_ctrl_hdr *hdr, char *err, size_t errlen)
{
	const struct cmd_desc *desc = cmd_desc(hdr->cmd);

	if (!desc) {
		lh_set_err(err, errlen, "unknown relayd command %" PRIu32, hdr->cmd);
		return -1;
	}
	if (desc->refused) {
		lh_set_err(err, errlen, "%s refused: %s", desc->name, desc->refused);
		return -1;
	}
	if (hdr->cmd == LH_RELAYD_VERSION && ctx->minor) {
		lh_set_err(err, errlen, "VERSION sent twice");
		return -1;
	}
	if (hdr->cmd != LH_RELAYD_VERSION && !ctx->minor) {
		lh_set_err(err, errlen, "%s before VERSION", desc->name);
		return -1;
	}
	if (ctx->minor < desc->min_minor) {
		lh_set_err(err, errlen, "%s needs protocol %d.%" PRIu32 " (negotiated %d.%" PRIu32 ")",
			desc->name, LH_RELAYD_MAJOR, desc->min_minor, LH_RELAYD_MAJOR, ctx->minor);
		return -1;
	}
	if (hdr->data_size > ctx->max_payload) {
		lh_set_err(err, errlen, "%s: payload of %" PRIu64 " bytes exceeds the limit (%" PRIu64 ")",
			desc->name, hdr->data_size, ctx->max_payload);
		return -1;
	}
	return 0;
}

int lh_relayd_msg_filter(const struct lh_relayd_msg_ctx *ctx, const uint8_t *msg,
		size_t len, struct lh_buf *out, struct lh_relayd_msg_info *info,
		char *err, size_t errlen)
{
	const struct cmd_desc *desc;
	struct lh_relayd_ctrl_hdr hdr;
	struct msg_check c;
	size_t out_len = lh_buf_len(out);
	int ret;

	memset(info, 0, sizeof(*info));
	if (len < LH_RELAYD_CTRL_HDR_LEN) {
		lh_set_err(err, errlen, "control message of %zu bytes is shorter than its header", len);
		return -1;
	}
	lh_relayd_ctrl_hdr_decode(msg, &hdr);
	if (lh_relayd_ctrl_hdr_check(ctx, &hdr, err, errlen) < 0) {
		return -1;
	}
	desc = cmd_desc(hdr.cmd);
	if (hdr.data_size != len - LH_RELAYD_CTRL_HDR_LEN) {
		lh_set_err(err, errlen, "%s: header announces %" PRIu64 " payload bytes, got %zu",
			desc->name, hdr.data_size, len - LH_RELAYD_CTRL_HDR_LEN);
		return -1;
	}

	info->cmd = hdr.cmd;
	info->reply = desc->reply;
	c = (struct msg_check) {
		.ctx = ctx,
		.name = desc->name,
		.payload = msg + LH_RELAYD_CTRL_HDR_LEN,
		.len = len - LH_RELAYD_CTRL_HDR_LEN,
		.out = out,
		.info = info,
		.err = err,
		.errlen = errlen,
	};
	ret = desc->check ? desc->check(&c) : check_fixed(&c, desc);
	if (ret < 0) {
		/* Only running out of memory leaves part of a message: drop it. */
		out->tail = out->head + out_len;
	}
	return ret;
}

uint64_t lh_relayd_msg_stream_ref(const struct lh_relayd_msg_info *info, size_t i)
{
	return lh_get_be64(info->stream_refs + i * info->stream_ref_stride);
}

/* Reply sizes, fixed part. */
#define REPLY_GENERIC_LEN		4
#define REPLY_VERSION_LEN		8
#define REPLY_CREATE_SESSION_LEN	16
#define REPLY_ADD_STREAM_LEN		12
#define REPLY_CLOSE_CHUNK_LEN		8
#define REPLY_CHUNK_EXISTS_LEN		5
#define REPLY_GET_CONFIG_LEN		12

/* A path after a reply's fixed part: lttng's client wants it shorter than PATH_MAX. */
static ssize_t reply_with_path(const char *what, size_t fixed, uint32_t path_len,
		const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	const uint8_t *path = buf + fixed;

	if (path_len >= RELAYD_PATH_MAX) {
		lh_set_err(err, errlen, "%s reply: path of %" PRIu32 " bytes", what, path_len);
		return -1;
	}
	if (len < fixed + path_len) {
		return 0;
	}
	if (path_len && (path[path_len - 1] != '\0' || memchr(path, '\0', path_len - 1))) {
		lh_set_err(err, errlen, "%s reply: malformed path", what);
		return -1;
	}
	return (ssize_t) (fixed + path_len);
}

ssize_t lh_relayd_reply_parse(enum lh_relayd_reply kind, const uint8_t *buf,
		size_t len, struct lh_relayd_reply_info *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof(*info));
	switch (kind) {
	case LH_RELAYD_REPLY_GENERIC:
		if (len < REPLY_GENERIC_LEN) {
			return 0;
		}
		info->ret_code = lh_get_be32(buf);
		return REPLY_GENERIC_LEN;
	case LH_RELAYD_REPLY_VERSION:
		if (len < REPLY_VERSION_LEN) {
			return 0;
		}
		info->major = lh_get_be32(buf);
		info->minor = lh_get_be32(buf + 4);
		return REPLY_VERSION_LEN;
	case LH_RELAYD_REPLY_CREATE_SESSION:
		if (len < REPLY_CREATE_SESSION_LEN) {
			return 0;
		}
		info->id = lh_get_be64(buf);
		info->ret_code = lh_get_be32(buf + 8);
		return reply_with_path("CREATE_SESSION", REPLY_CREATE_SESSION_LEN,
			lh_get_be32(buf + 12), buf, len, err, errlen);
	case LH_RELAYD_REPLY_ADD_STREAM:
		if (len < REPLY_ADD_STREAM_LEN) {
			return 0;
		}
		info->id = lh_get_be64(buf);
		info->ret_code = lh_get_be32(buf + 8);
		return REPLY_ADD_STREAM_LEN;
	case LH_RELAYD_REPLY_CLOSE_TRACE_CHUNK:
		if (len < REPLY_CLOSE_CHUNK_LEN) {
			return 0;
		}
		info->ret_code = lh_get_be32(buf);
		/* lttng-relayd sends the path only with LTTNG_OK. */
		return reply_with_path("CLOSE_TRACE_CHUNK", REPLY_CLOSE_CHUNK_LEN,
			info->ret_code == LH_RELAYD_RET_OK ? lh_get_be32(buf + 4) : 0,
			buf, len, err, errlen);
	case LH_RELAYD_REPLY_TRACE_CHUNK_EXISTS:
		if (len < REPLY_CHUNK_EXISTS_LEN) {
			return 0;
		}
		info->ret_code = lh_get_be32(buf);
		return REPLY_CHUNK_EXISTS_LEN;
	case LH_RELAYD_REPLY_GET_CONFIGURATION:
		if (len < REPLY_GET_CONFIG_LEN) {
			return 0;
		}
		info->ret_code = lh_get_be32(buf);
		return REPLY_GET_CONFIG_LEN;
	case LH_RELAYD_REPLY_NONE:
	default:
		break;
	}
	lh_set_err(err, errlen, "no reply expected");
	return -1;
}

int lh_relayd_reply_rewrite_path(enum lh_relayd_reply kind, const uint8_t *reply, size_t len,
		const char *host_dir, const char *guest_dir, struct lh_buf *out)
{
	size_t fixed, dir_len = strlen(host_dir), new_len;
	const char *path, *rest, *slash;
	uint8_t head[REPLY_CREATE_SESSION_LEN];
	uint32_t path_len;

	switch (kind) {
	case LH_RELAYD_REPLY_CREATE_SESSION:
		fixed = REPLY_CREATE_SESSION_LEN;
		break;
	case LH_RELAYD_REPLY_CLOSE_TRACE_CHUNK:
		fixed = REPLY_CLOSE_CHUNK_LEN;
		break;
	default:
		return lh_buf_append(out, reply, len);
	}
	/* lh_relayd_reply_parse() checked that a path is whole and NUL-terminated. */
	if (len <= fixed) {
		return lh_buf_append(out, reply, len);
	}
	path = (const char *) reply + fixed;
	if (!strncmp(path, host_dir, dir_len) && (path[dir_len] == '/' || !path[dir_len])) {
		rest = path + dir_len + (path[dir_len] == '/');
	} else {
		slash = strrchr(path, '/');
		rest = slash ? slash + 1 : path;
	}
	new_len = strlen(guest_dir) + (*rest ? 1 + strlen(rest) : 0) + 1;
	if (new_len >= RELAYD_PATH_MAX) {
		return -1;
	}
	path_len = (uint32_t) new_len;
	memcpy(head, reply, fixed);
	lh_put_be32(head + fixed - 4, path_len);
	if (lh_buf_append(out, head, fixed) < 0 ||
			lh_buf_append(out, guest_dir, strlen(guest_dir)) < 0 ||
			(*rest && (lh_buf_append(out, "/", 1) < 0 ||
				lh_buf_append(out, rest, strlen(rest)) < 0)) ||
			lh_buf_append(out, "", 1) < 0) {
		return -1;
	}
	return 0;
}

int lh_relayd_version_negotiate(uint32_t forwarded_minor,
		const struct lh_relayd_reply_info *reply, uint32_t *negotiated,
		uint32_t *guest_minor, char *err, size_t errlen)
{
	uint32_t relayd_minor = reply->minor;

	if (reply->major != LH_RELAYD_MAJOR || relayd_minor < LH_RELAYD_MINOR_MIN) {
		lh_set_err(err, errlen,
			"lttng-relayd speaks protocol %" PRIu32 ".%" PRIu32 ", not %d.%d to %d.%d",
			reply->major, relayd_minor, LH_RELAYD_MAJOR, LH_RELAYD_MINOR_MIN,
			LH_RELAYD_MAJOR, LH_RELAYD_MINOR_MAX);
		return -1;
	}
	if (relayd_minor > LH_RELAYD_MINOR_MAX) {
		relayd_minor = LH_RELAYD_MINOR_MAX;
	}
	*guest_minor = relayd_minor;
	*negotiated = forwarded_minor < relayd_minor ? forwarded_minor : relayd_minor;
	return 0;
}
