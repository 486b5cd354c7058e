/*
 * The relayd protocol filter of one VM channel (relayd.h).
 *
 * Control connections: whole messages are checked and rewritten by
 * relayd-msg.c, then forwarded; each expected reply is queued, and the
 * replies coming back from lttng-relayd tell which sessions and streams
 * now belong to this VM. Data connections: only the packet headers are
 * looked at, and the payload passes untouched.
 *
 * lttng-relayd's session and stream ids are global, shared by every VM
 * the host serves; a VM may only name the ones handed to it. Its trace
 * chunks are found by sessiond UUID, which relayd-msg.c moves into a key
 * space of this VM's own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"
#include "common/relayd-msg.h"
#include "relayd.h"

/*
 * Commands one control connection may have awaiting a reply. lttng waits
 * for each reply before its next command; this only bounds a guest that
 * does not.
 */
#define MAX_PENDING_REPLIES	16

struct lh_relay_vm_state {
	char vm_name[LTTNG_HYPER_NAME_MAX_LEN + 1];
	struct lh_relay_limits limits;
	uint8_t uuid_key[LH_RELAYD_UUID_LEN];
	struct lh_relayd_owned *owned;
};

/* A control connection; its address owns the session and streams it creates. */
struct relay_ctl {
	struct lh_relay_vm_state *state;
	struct lh_buf in;		/* guest bytes short of a whole message */
	struct lh_buf replies;		/* lttng-relayd bytes short of a whole reply */
	enum lh_relayd_reply pending[MAX_PENDING_REPLIES];	/* a FIFO */
	unsigned int pending_head;
	unsigned int nr_pending;
	bool version_sent;
	uint32_t forwarded_minor;	/* the VERSION lttng-relayd got */
	uint32_t minor;			/* negotiated; 0 until VERSION's reply */
	/* lttng-relayd holds one session per connection (and asserts it). */
	bool session_requested;
};

struct relay_data {
	struct lh_relay_vm_state *state;
	uint8_t hdr[LH_RELAYD_DATA_HDR_LEN];
	size_t hdr_len;			/* header bytes gathered so far */
	uint64_t to_skip;		/* payload bytes left in the current packet */
};

struct lh_relay_vm_state *lh_relay_vm_state_create(const char *vm_name,
		const struct lh_relay_limits *limits)
{
	struct lh_relay_vm_state *state;
	size_t len = strlen(vm_name);

	if (lttng_hyper_name_validate(vm_name, len) < 0) {
		ERR("Invalid VM name \"%s\"", vm_name);
		return NULL;
	}
	state = calloc(1, sizeof(*state));
	if (!state) {
		PERROR("calloc");
		return NULL;
	}
	memcpy(state->vm_name, vm_name, len + 1);
	state->limits = *limits;
	if (getrandom(state->uuid_key, sizeof(state->uuid_key), 0) !=
			(ssize_t) sizeof(state->uuid_key)) {
		PERROR("getrandom");
		free(state);
		return NULL;
	}
	state->owned = lh_relayd_owned_create(limits->max_sessions, limits->max_streams);
	if (!state->owned) {
		ERR("Out of memory for the relayd state of VM %s", vm_name);
		free(state);
		return NULL;
	}
	return state;
}

void lh_relay_vm_state_destroy(struct lh_relay_vm_state *state)
{
	if (!state) {
		return;
	}
	lh_relayd_owned_destroy(state->owned);
	free(state);
}

static const char *conn_log_ctx(const struct lh_mux_conn *conn)
{
	return lh_mux_log_ctx(lh_mux_conn_mux(conn));
}

static void ctl_msg_ctx(const struct relay_ctl *ctl, struct lh_relayd_msg_ctx *ctx)
{
	*ctx = (struct lh_relayd_msg_ctx) {
		.hostname = ctl->state->vm_name,
		.minor = ctl->minor,
		.max_payload = ctl->state->limits.max_control_payload,
	};
	memcpy(ctx->uuid_key, ctl->state->uuid_key, sizeof(ctx->uuid_key));
}

/* Every session and stream a message names must be this VM's. */
static int ctl_check_refs(const struct relay_ctl *ctl, const struct lh_relayd_msg_info *info,
		char *err, size_t errlen)
{
	const struct lh_relayd_owned *owned = ctl->state->owned;
	size_t i;

	if (info->has_session_ref && !lh_relayd_owned_has_session(owned, info->session_ref)) {
		snprintf(err, errlen, "%s on session %" PRIu64 " not owned by this VM",
			lh_relayd_cmd_str(info->cmd), info->session_ref);
		return -1;
	}
	for (i = 0; i < info->nr_stream_refs; i++) {
		uint64_t id = lh_relayd_msg_stream_ref(info, i);

		if (!lh_relayd_owned_has_stream(owned, id)) {
			snprintf(err, errlen, "%s on stream %" PRIu64 " not owned by this VM",
				lh_relayd_cmd_str(info->cmd), id);
			return -1;
		}
	}
	return 0;
}

/* Check, rewrite and forward one whole message from the guest. */
static int ctl_forward(struct lh_mux_conn *conn, struct relay_ctl *ctl,
		const uint8_t *msg, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct lh_relayd_owned *owned = ctl->state->owned;
	struct lh_relayd_msg_info info;
	struct lh_relayd_msg_ctx ctx;

	ctl_msg_ctx(ctl, &ctx);
	if (lh_relayd_msg_filter(&ctx, msg, len, out, &info, err, errlen) < 0 ||
			ctl_check_refs(ctl, &info, err, errlen) < 0) {
		return -1;
	}
	switch (info.cmd) {
	case LH_RELAYD_VERSION:
		ctl->version_sent = true;
		ctl->forwarded_minor = info.version_minor;
		break;
	case LH_RELAYD_CREATE_SESSION:
		if (ctl->session_requested) {
			snprintf(err, errlen, "CREATE_SESSION sent twice on one connection");
			return -1;
		}
		if (lh_relayd_owned_check_room(owned, info.cmd, err, errlen) < 0) {
			return -1;
		}
		ctl->session_requested = true;
		break;
	case LH_RELAYD_ADD_STREAM:
		if (lh_relayd_owned_check_room(owned, info.cmd, err, errlen) < 0) {
			return -1;
		}
		break;
	case LH_RELAYD_CLOSE_STREAM:
		lh_relayd_owned_close_stream(owned, lh_relayd_msg_stream_ref(&info, 0));
		break;
	default:
		break;
	}
	DBG_CTX(conn_log_ctx(conn), "conn %" PRIu32 ": %s, %zu bytes",
		lh_mux_conn_id(conn), lh_relayd_cmd_str(info.cmd), len);

	if (info.reply == LH_RELAYD_REPLY_NONE) {
		return 0;
	}
	if (ctl->nr_pending == MAX_PENDING_REPLIES) {
		snprintf(err, errlen, "more than %d commands awaiting a reply", MAX_PENDING_REPLIES);
		return -1;
	}
	ctl->pending[(ctl->pending_head + ctl->nr_pending) % MAX_PENDING_REPLIES] = info.reply;
	ctl->nr_pending++;
	lh_mux_conn_set_waiting(conn, true);
	return 0;
}

static enum lh_filter_verdict ctl_from_peer(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct relay_ctl *ctl = lh_mux_conn_get_priv(conn);

	if (lh_buf_append(&ctl->in, buf, len) < 0) {
		snprintf(err, errlen, "out of memory for a control message");
		return LH_FILTER_ERROR;
	}
	while (lh_buf_len(&ctl->in) >= LH_RELAYD_CTRL_HDR_LEN) {
		struct lh_relayd_ctrl_hdr hdr;
		struct lh_relayd_msg_ctx ctx;
		size_t msg_len;

		lh_relayd_ctrl_hdr_decode(lh_buf_head(&ctl->in), &hdr);
		/* Judge the header before buffering what it announces. */
		if (ctl->version_sent && !ctl->minor) {
			snprintf(err, errlen, "%s sent before the VERSION reply",
				lh_relayd_cmd_str(hdr.cmd));
			return LH_FILTER_ERROR;
		}
		ctl_msg_ctx(ctl, &ctx);
		if (lh_relayd_ctrl_hdr_check(&ctx, &hdr, err, errlen) < 0) {
			return LH_FILTER_ERROR;
		}
		msg_len = LH_RELAYD_CTRL_HDR_LEN + (size_t) hdr.data_size;
		if (lh_buf_len(&ctl->in) < msg_len) {
			break;
		}
		if (ctl_forward(conn, ctl, lh_buf_head(&ctl->in), msg_len, out, err, errlen) < 0) {
			return LH_FILTER_ERROR;
		}
		lh_buf_consume(&ctl->in, msg_len);
	}
	if (!lh_buf_len(&ctl->in)) {
		lh_buf_shrink(&ctl->in);
	}
	return LH_FILTER_CONSUMED;
}

/* Learn from one whole reply, and pass it on to the guest. */
static int ctl_reply(struct lh_mux_conn *conn, struct relay_ctl *ctl,
		enum lh_relayd_reply kind, const struct lh_relayd_reply_info *info,
		const uint8_t *reply, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct lh_relayd_owned *owned = ctl->state->owned;
	uint8_t version[8];
	uint32_t guest_minor;

	switch (kind) {
	case LH_RELAYD_REPLY_VERSION:
		if (lh_relayd_version_negotiate(ctl->forwarded_minor, info, &ctl->minor,
				&guest_minor, err, errlen) < 0) {
			return -1;
		}
		DBG_CTX(conn_log_ctx(conn), "conn %" PRIu32 ": relayd protocol %d.%" PRIu32,
			lh_mux_conn_id(conn), LH_RELAYD_MAJOR, ctl->minor);
		lh_relayd_version_encode(info->major, guest_minor, version);
		reply = version;
		len = sizeof(version);
		break;
	case LH_RELAYD_REPLY_CREATE_SESSION:
		if (info->ret_code == LH_RELAYD_RET_OK &&
				lh_relayd_owned_add_session(owned, info->id, ctl, err, errlen) < 0) {
			return -1;
		}
		break;
	case LH_RELAYD_REPLY_ADD_STREAM:
		if (info->ret_code == LH_RELAYD_RET_OK &&
				lh_relayd_owned_add_stream(owned, info->id, ctl, err, errlen) < 0) {
			return -1;
		}
		break;
	default:
		break;
	}
	if (lh_buf_append(out, reply, len) < 0) {
		snprintf(err, errlen, "out of memory for a relayd reply");
		return -1;
	}
	return 0;
}

static enum lh_filter_verdict ctl_from_local(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct relay_ctl *ctl = lh_mux_conn_get_priv(conn);

	if (lh_buf_append(&ctl->replies, buf, len) < 0) {
		snprintf(err, errlen, "out of memory for a relayd reply");
		return LH_FILTER_ERROR;
	}
	while (ctl->nr_pending) {
		enum lh_relayd_reply kind = ctl->pending[ctl->pending_head];
		struct lh_relayd_reply_info info;
		char why[128];
		ssize_t n;

		n = lh_relayd_reply_parse(kind, lh_buf_head(&ctl->replies),
			lh_buf_len(&ctl->replies), &info, why, sizeof(why));
		if (n < 0) {
			snprintf(err, errlen, "malformed reply from lttng-relayd: %s", why);
			return LH_FILTER_ERROR;
		}
		if (n == 0) {
			break;
		}
		if (ctl_reply(conn, ctl, kind, &info, lh_buf_head(&ctl->replies),
				(size_t) n, out, err, errlen) < 0) {
			return LH_FILTER_ERROR;
		}
		lh_buf_consume(&ctl->replies, (size_t) n);
		ctl->pending_head = (ctl->pending_head + 1) % MAX_PENDING_REPLIES;
		ctl->nr_pending--;
	}
	if (!ctl->nr_pending) {
		if (lh_buf_len(&ctl->replies)) {
			snprintf(err, errlen, "lttng-relayd sent %zu bytes nobody asked for",
				lh_buf_len(&ctl->replies));
			return LH_FILTER_ERROR;
		}
		lh_mux_conn_set_waiting(conn, false);
	}
	return LH_FILTER_CONSUMED;
}

static void ctl_release(struct lh_mux_conn *conn)
{
	struct relay_ctl *ctl = lh_mux_conn_get_priv(conn);

	lh_relayd_owned_release(ctl->state->owned, ctl);
	lh_buf_fini(&ctl->in);
	lh_buf_fini(&ctl->replies);
	free(ctl);
}

/*
 * The bulk path: follow packet boundaries through the byte stream, and
 * check each header, without copying the payload.
 */
static enum lh_filter_verdict data_from_peer(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct relay_data *data = lh_mux_conn_get_priv(conn);

	while (len) {
		struct lh_relayd_data_hdr hdr;
		size_t n;

		if (data->to_skip) {
			n = len < data->to_skip ? len : (size_t) data->to_skip;
			data->to_skip -= n;
			buf += n;
			len -= n;
			continue;
		}
		n = LH_RELAYD_DATA_HDR_LEN - data->hdr_len;
		if (n > len) {
			n = len;
		}
		memcpy(data->hdr + data->hdr_len, buf, n);
		data->hdr_len += n;
		buf += n;
		len -= n;
		if (data->hdr_len < LH_RELAYD_DATA_HDR_LEN) {
			break;
		}
		data->hdr_len = 0;
		lh_relayd_data_hdr_decode(data->hdr, &hdr);
		if (!lh_relayd_owned_has_stream(data->state->owned, hdr.stream_id)) {
			snprintf(err, errlen, "data packet on stream %" PRIu64 " not owned by this VM",
				hdr.stream_id);
			return LH_FILTER_ERROR;
		}
		/* lttng-relayd writes the padding itself, as zeros. */
		if ((uint64_t) hdr.data_size + hdr.padding_size > LH_RELAYD_MAX_PACKET) {
			snprintf(err, errlen,
				"data packet of %" PRIu32 " + %" PRIu32 " padding bytes exceeds %u",
				hdr.data_size, hdr.padding_size, LH_RELAYD_MAX_PACKET);
			return LH_FILTER_ERROR;
		}
		data->to_skip = hdr.data_size;
	}
	return LH_FILTER_PASS;
}

static void data_release(struct lh_mux_conn *conn)
{
	free(lh_mux_conn_get_priv(conn));
}

static const struct lh_mux_filter ctl_filter = {
	.from_peer = ctl_from_peer,
	.from_local = ctl_from_local,
	.release = ctl_release,
};

/* lttng-relayd never writes on a data connection. */
static const struct lh_mux_filter data_filter = {
	.from_peer = data_from_peer,
	.release = data_release,
};

int lh_relay_filter_attach(struct lh_mux_conn *conn, enum lttng_hyper_conn_kind kind,
		struct lh_relay_vm_state *state)
{
	if (kind == LTTNG_HYPER_CONN_CONTROL) {
		struct relay_ctl *ctl = calloc(1, sizeof(*ctl));

		if (!ctl) {
			PERROR("calloc");
			return -1;
		}
		ctl->state = state;
		lh_buf_init(&ctl->in);
		lh_buf_init(&ctl->replies);
		lh_mux_conn_set_priv(conn, ctl);
		lh_mux_conn_set_filter(conn, &ctl_filter);
	} else {
		struct relay_data *data = calloc(1, sizeof(*data));

		if (!data) {
			PERROR("calloc");
			return -1;
		}
		data->state = state;
		lh_mux_conn_set_priv(conn, data);
		lh_mux_conn_set_filter(conn, &data_filter);
	}
	return 0;
}
