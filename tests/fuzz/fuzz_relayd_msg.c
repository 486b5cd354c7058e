/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the relayd control message filter (src/common/relayd-msg.c)
 * at one negotiated protocol minor, LH_FUZZ_MINOR (11 to 15: one
 * binary each). A VERSION message is checked as the first of a
 * connection (nothing negotiated yet), any other at LH_FUZZ_MINOR.
 *
 * Input: one flags byte, then one control message (header and payload).
 * Flags bit 0: the connection is a nested VM's ("l2", a random UUID key)
 * rather than the channel's own (no prefix, a zero key).
 *
 * Invariants, for an accepted message: it is forwarded as one control
 * message whose header announces its payload exactly, with circuit id
 * and command version 0; its header alone passes the early check; the
 * streams it names lie inside it; everything but VERSION and
 * CREATE_SESSION is forwarded byte for byte; CREATE_SESSION names the
 * VM as host and a safe base path under the nested VM's prefix; without
 * prefix and key, filtering the forwarded form again changes nothing.
 * For a refused one: nothing is forwarded, and the reason, which may
 * quote guest strings, holds only printable ASCII.
 */
#include <inttypes.h>

#include "common/buffer.h"
#include "common/bytes.h"
#include "common/path.h"
#include "common/relayd-msg.h"
#include "tests/fuzz/fuzz.h"

#ifndef LH_FUZZ_MINOR
#define LH_FUZZ_MINOR	LH_RELAYD_MINOR_MAX
#endif

#define VM_NAME		"guest1"
#define NESTED_PREFIX	"l2"
#define MAX_PAYLOAD	(1U << 20)

/*
 * CREATE_SESSION's layout (struct lttcomm_relayd_create_session_2_11; from
 * minor 15, _2_15: a u32 trace format, 1 or 2, before the names).
 */
#define CS_FIXED_LEN	(LH_FUZZ_MINOR >= LH_RELAYD_MINOR_CTF2 ? 63 : 59)
#define CS_OFF_UUID	18
#define CS_OFF_TRACE_FORMAT	59

static struct lh_buf out, again;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	lh_buf_init(&out);
	lh_buf_init(&again);
	return 0;
}

static enum lh_relayd_reply expected_reply(uint32_t cmd)
{
	switch (cmd) {
	case LH_RELAYD_SEND_METADATA:
		return LH_RELAYD_REPLY_NONE;
	case LH_RELAYD_VERSION:
		return LH_RELAYD_REPLY_VERSION;
	case LH_RELAYD_CREATE_SESSION:
		return LH_RELAYD_REPLY_CREATE_SESSION;
	case LH_RELAYD_ADD_STREAM:
		return LH_RELAYD_REPLY_ADD_STREAM;
	case LH_RELAYD_CLOSE_TRACE_CHUNK:
		return LH_RELAYD_REPLY_CLOSE_TRACE_CHUNK;
	case LH_RELAYD_TRACE_CHUNK_EXISTS:
		return LH_RELAYD_REPLY_TRACE_CHUNK_EXISTS;
	case LH_RELAYD_GET_CONFIGURATION:
		return LH_RELAYD_REPLY_GET_CONFIGURATION;
	default:
		return LH_RELAYD_REPLY_GENERIC;
	}
}

/* The forwarded CREATE_SESSION: the VM as host, a safe base path under the prefix. */
static void check_create_session(const struct lh_relayd_msg_ctx *ctx, const uint8_t *in,
		const uint8_t *o, size_t olen)
{
	uint32_t name_len = lh_get_be32(o), host_len = lh_get_be32(o + 4);
	uint32_t base_len = lh_get_be32(o + 8);
	const char *base;
	size_t i;

	FUZZ_CHECK(olen == (uint64_t) CS_FIXED_LEN + name_len + host_len + base_len,
		"forwarded CREATE_SESSION of %zu bytes, lengths %" PRIu32 "+%" PRIu32 "+%" PRIu32,
		olen, name_len, host_len, base_len);
	FUZZ_CHECK(host_len == strlen(ctx->hostname) + 1 &&
		!memcmp(o + CS_FIXED_LEN + name_len, ctx->hostname, host_len),
		"forwarded hostname is not the VM's");
	FUZZ_CHECK(!memcmp(o + CS_FIXED_LEN, in + CS_FIXED_LEN, name_len),
		"session name changed");
	for (i = 0; i < LH_RELAYD_UUID_LEN; i++) {
		FUZZ_CHECK(o[CS_OFF_UUID + i] == (in[CS_OFF_UUID + i] ^ ctx->uuid_key[i]),
			"sessiond UUID byte %zu not keyed", i);
	}
	if (CS_FIXED_LEN > CS_OFF_TRACE_FORMAT) {
		uint32_t format = lh_get_be32(o + CS_OFF_TRACE_FORMAT);

		FUZZ_CHECK((format == 1 || format == 2) &&
			format == lh_get_be32(in + CS_OFF_TRACE_FORMAT),
			"forwarded trace format %" PRIu32, format);
	}
	base = (const char *) o + CS_FIXED_LEN + name_len + host_len;
	FUZZ_CHECK(!base_len || (base[base_len - 1] == '\0' &&
		!memchr(base, '\0', base_len - 1)), "forwarded base path not one string");
	FUZZ_CHECK(lh_path_relative_is_safe(base, base_len ? base_len - 1 : 0, true),
		"forwarded base path unsafe");
	if (ctx->base_prefix && ctx->base_prefix[0]) {
		size_t plen = strlen(ctx->base_prefix);

		FUZZ_CHECK(base_len > plen + 1 && !memcmp(base, ctx->base_prefix, plen) &&
			base[plen] == '/', "nested base path \"%.*s\" outside the prefix",
			(int) (base_len ? base_len - 1 : 0), base);
	}
}

static void check_accepted(const struct lh_relayd_msg_ctx *ctx, const uint8_t *msg,
		size_t len, const struct lh_relayd_msg_info *info)
{
	const uint8_t *o = lh_buf_head(&out);
	struct lh_relayd_ctrl_hdr ih, oh;
	char err[256];
	size_t i;

	lh_relayd_ctrl_hdr_decode(msg, &ih);
	FUZZ_CHECK(lh_relayd_ctrl_hdr_check(ctx, &ih, err, sizeof(err)) == 0,
		"accepted message, refused header: %s", err);
	FUZZ_CHECK(lh_buf_len(&out) >= LH_RELAYD_CTRL_HDR_LEN, "nothing forwarded");
	lh_relayd_ctrl_hdr_decode(o, &oh);
	FUZZ_CHECK(oh.data_size == lh_buf_len(&out) - LH_RELAYD_CTRL_HDR_LEN,
		"forwarded header announces %" PRIu64 " bytes, %zu follow", oh.data_size,
		lh_buf_len(&out) - LH_RELAYD_CTRL_HDR_LEN);
	FUZZ_CHECK(oh.cmd == ih.cmd && oh.circuit_id == 0 && oh.cmd_version == 0,
		"forwarded header not clean");
	FUZZ_CHECK(oh.data_size <= ctx->max_payload || ih.cmd == LH_RELAYD_CREATE_SESSION,
		"forwarded payload over the limit");
	FUZZ_CHECK(info->cmd == ih.cmd && info->reply == expected_reply(ih.cmd),
		"info says cmd %" PRIu32 " reply %d", info->cmd, (int) info->reply);
	if (info->nr_stream_refs) {
		const uint8_t *last = info->stream_refs +
			(info->nr_stream_refs - 1) * info->stream_ref_stride;

		FUZZ_CHECK(info->stream_refs >= msg + LH_RELAYD_CTRL_HDR_LEN &&
			last + 8 <= msg + len, "stream refs outside the message");
		for (i = 0; i < info->nr_stream_refs; i++) {
			(void) lh_relayd_msg_stream_ref(info, i);
		}
	}
	switch (ih.cmd) {
	case LH_RELAYD_VERSION:
		FUZZ_CHECK(info->version_minor >= LH_RELAYD_MINOR_MIN &&
			info->version_minor <= LH_RELAYD_MINOR_MAX,
			"VERSION forwards minor %" PRIu32, info->version_minor);
		FUZZ_CHECK(lh_get_be32(o + LH_RELAYD_CTRL_HDR_LEN) == LH_RELAYD_MAJOR &&
			lh_get_be32(o + LH_RELAYD_CTRL_HDR_LEN + 4) == info->version_minor,
			"forwarded VERSION body");
		break;
	case LH_RELAYD_CREATE_SESSION:
		check_create_session(ctx, msg + LH_RELAYD_CTRL_HDR_LEN,
			o + LH_RELAYD_CTRL_HDR_LEN, lh_buf_len(&out) - LH_RELAYD_CTRL_HDR_LEN);
		break;
	default:
		FUZZ_CHECK(lh_buf_len(&out) == len &&
			!memcmp(o + LH_RELAYD_CTRL_HDR_LEN, msg + LH_RELAYD_CTRL_HDR_LEN,
				len - LH_RELAYD_CTRL_HDR_LEN), "payload not forwarded verbatim");
		break;
	}
}

/* VERSION's reply from an lttng-relayd of LH_FUZZ_MINOR: both ends agree. */
static void check_negotiation(uint32_t forwarded)
{
	struct lh_relayd_reply_info reply = { .major = LH_RELAYD_MAJOR, .minor = LH_FUZZ_MINOR };
	uint32_t negotiated, guest_minor;
	char err[256];

	FUZZ_CHECK(lh_relayd_version_negotiate(forwarded, &reply, &negotiated, &guest_minor,
		err, sizeof(err)) == 0, "negotiation refused: %s", err);
	FUZZ_CHECK(negotiated >= LH_RELAYD_MINOR_MIN && negotiated <= LH_FUZZ_MINOR &&
		negotiated <= forwarded && guest_minor == LH_FUZZ_MINOR,
		"negotiated %" PRIu32 ", guest told %" PRIu32, negotiated, guest_minor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lh_relayd_msg_ctx ctx = {
		.hostname = VM_NAME,
		.base_prefix = "",
		.minor = LH_FUZZ_MINOR,
		.max_payload = MAX_PAYLOAD,
	};
	struct lh_relayd_msg_info info, info2;
	struct fuzz_in in = { data, size };
	uint8_t flags = fuzz_u8(&in);
	const uint8_t *msg = in.p;
	size_t len = in.len;
	char err[256];
	int ret;

	if (flags & 1) {
		size_t i;

		ctx.base_prefix = NESTED_PREFIX;
		for (i = 0; i < sizeof(ctx.uuid_key); i++) {
			ctx.uuid_key[i] = (uint8_t) (0x5a + 37 * i);
		}
	}
	/* VERSION comes first on a connection, before any minor is negotiated. */
	if (len >= LH_RELAYD_CTRL_HDR_LEN && lh_get_be32(msg + 16) == LH_RELAYD_VERSION) {
		ctx.minor = 0;
	}
	lh_buf_reset(&out);
	err[0] = '\0';
	ret = lh_relayd_msg_filter(&ctx, msg, len, &out, &info, err, sizeof(err));
	if (ret < 0) {
		FUZZ_CHECK(ret == -1 && lh_buf_len(&out) == 0, "refused, yet %zu bytes forwarded",
			lh_buf_len(&out));
		FUZZ_CHECK(err[0] && memchr(err, '\0', sizeof(err)), "refused without a reason");
		FUZZ_CHECK(fuzz_printable(err), "raw guest bytes in the reason: %s", err);
		return 0;
	}
	FUZZ_CHECK(ret == 0, "filter returned %d", ret);
	check_accepted(&ctx, msg, len, &info);
	if (info.cmd == LH_RELAYD_VERSION) {
		check_negotiation(info.version_minor);
	}
	/* A shorter guest hostname may take a message to the limit: then it is no input. */
	if ((flags & 1) || lh_buf_len(&out) - LH_RELAYD_CTRL_HDR_LEN > MAX_PAYLOAD) {
		return 0;
	}
	/* The forwarded form is a fixed point: nothing left to rewrite. */
	lh_buf_reset(&again);
	ret = lh_relayd_msg_filter(&ctx, lh_buf_head(&out), lh_buf_len(&out), &again, &info2,
		err, sizeof(err));
	FUZZ_CHECK(ret == 0, "forwarded form refused: %s", err);
	FUZZ_CHECK(lh_buf_len(&again) == lh_buf_len(&out) &&
		!memcmp(lh_buf_head(&again), lh_buf_head(&out), lh_buf_len(&out)),
		"filtering the forwarded form changed it");
	return 0;
}
