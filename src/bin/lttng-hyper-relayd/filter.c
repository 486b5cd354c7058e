/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The relayd protocol filter of one VM channel (filter.h).
 *
 * Control connections: whole messages are checked and rewritten by
 * relayd-msg.c, then forwarded; each expected reply is queued, and the
 * replies coming back from lttng-relayd tell which sessions and streams
 * now belong to this VM (vm-state.h). Data connections: only the packet
 * headers are looked at, and the payload passes untouched.
 *
 * A VM may only name the sessions and streams lttng-relayd handed to it.
 * Its trace chunks are found by sessiond UUID, which relayd-msg.c moves
 * into a key space of this VM's own.
 *
 * Metadata streams (ADD_STREAM's channel "metadata") go through a clock
 * rewriter (ctf-metadata.h) that puts the guest's clock on the host's
 * axis with the latest estimate, and when one ends (CLOSE_STREAM's
 * reply, or its connection going away) sync.c applies the final
 * estimate to the file lttng-relayd wrote.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/ctf-metadata.h"
#include "common/defaults.h"
#include "common/log.h"
#include "common/relayd-msg.h"
#include "common/relayd-owned.h"
#include "filter.h"
#include "sync.h"
#include "trim.h"
#include "vm-state.h"

/*
 * Commands one control connection may have awaiting a reply. lttng waits
 * for each reply before its next command; this only bounds a guest that
 * does not.
 */
#define MAX_PENDING_REPLIES	16

/* SEND_METADATA's payload: u64 stream_id, u32 padding_size, then the metadata. */
#define METADATA_HDR_LEN	12
#define METADATA_PADDING_OFF	8
/* CREATE_SESSION's reply: u64 session_id, u32 ret_code, u32 path_length, path. */
#define CREATE_SESSION_REPLY_LEN	16
/* CREATE_SESSION's payload (2.11): three u32 lengths, u32 live_timer, u8 snapshot. */
#define CREATE_SESSION_SNAPSHOT_OFF	16
/* CLOSE_STREAM's payload: u64 stream_id, u64 last_net_seq_num. */
#define CLOSE_STREAM_LAST_SEQ_OFF	8
/*
 * SEND_INDEX's payload: u64 relay_stream_id, net_seq_num, packet_size (0:
 * a live beacon, no packet's), ..., events_discarded.
 */
#define SEND_INDEX_SEQ_OFF		8
#define SEND_INDEX_PACKET_SIZE_OFF	16
#define SEND_INDEX_DISCARDED_OFF	48
/* What a metadata stream the relay cannot follow loses. */
#define MD_COST			"its clock is left as it is"

/* A metadata stream of a control connection, and its clock rewriter. */
struct md_stream {
	uint64_t id;			/* lttng-relayd's, once ADD_STREAM is answered */
	char *pathname;
	char *channel_name;
	struct lh_ctf_md_rewriter *rw;
	struct lh_mem_account *mem;	/* its VM channel's, charged with */
	size_t charged;
	struct md_stream *next;
};

/* What to do when a pending reply comes. */
struct pending_md {
	struct md_stream *added;	/* ADD_STREAM of a metadata stream */
	struct md_stream *closed;	/* CLOSE_STREAM of a metadata stream */
	struct data_stream *data_added;	/* ADD_STREAM of a data stream */
};

/* A control connection; its address owns the session and streams it creates. */
struct relay_ctl {
	struct lh_relay_vm_state *state;
	struct lh_buf in;		/* guest bytes short of a whole message */
	struct lh_buf replies;		/* lttng-relayd bytes short of a whole reply */
	enum lh_relayd_reply pending[MAX_PENDING_REPLIES];	/* a FIFO */
	struct pending_md pending_md[MAX_PENDING_REPLIES];	/* alongside */
	unsigned int pending_head;
	unsigned int nr_pending;
	bool version_sent;
	uint32_t forwarded_minor;	/* the VERSION lttng-relayd got */
	uint32_t guest_minor;		/* the one the guest sent */
	uint32_t minor;			/* negotiated; 0 until VERSION's reply */
	/* lttng-relayd holds one session per connection (and asserts it). */
	bool session_requested;
	bool snapshot;			/* CREATE_SESSION's */
	uint64_t session_id;		/* from CREATE_SESSION's reply */
	char *session_path;		/* from CREATE_SESSION's reply */
	/* The hostname the guest gave in CREATE_SESSION: its paths start there. */
	char *guest_hostname;
	struct md_stream *md_streams;	/* answered metadata streams */
	size_t charged;			/* to the state's account: itself, its strings */
};

struct relay_data {
	struct lh_relay_vm_state *state;
	uint8_t hdr[LH_RELAYD_DATA_HDR_LEN];
	size_t hdr_len;			/* header bytes gathered so far */
	uint64_t to_skip;		/* payload bytes left in the current packet */
};

static void md_stream_free(struct md_stream *md)
{
	if (!md) {
		return;
	}
	lh_ctf_md_rewriter_destroy(md->rw);
	free(md->pathname);
	free(md->channel_name);
	lh_mem_uncharge(md->mem, md->charged);
	free(md);
}

/*
 * A checked ADD_STREAM of a metadata stream, to follow: 0 and *out, or
 * -1 past the VM's memory limit (err). *out is NULL when the stream is not
 * metadata, or when out of memory: its metadata then passes as it is.
 */
static int md_stream_from_add(struct lh_relay_vm_state *state, const uint8_t *msg,
		struct md_stream **out, char *err, size_t errlen)
{
	const uint8_t *p = msg + LH_RELAYD_CTRL_HDR_LEN;
	uint32_t channel_len = lh_get_be32(p);
	const char *channel = (const char *) p + ADD_STREAM_FIXED_LEN;
	const char *path = channel + channel_len;
	struct md_stream *md;
	size_t charged = 0;

	*out = NULL;
	if (strcmp(channel, METADATA_CHANNEL)) {
		return 0;
	}
	if (lh_relay_charge(state->mem, &charged, sizeof(*md) + lh_ctf_md_rewriter_footprint()) < 0) {
		return lh_relay_follow_failed(state, "a metadata stream", MD_COST, err, errlen);
	}
	md = calloc(1, sizeof(*md));
	if (!md) {
		lh_mem_uncharge(state->mem, charged);
		return lh_relay_follow_failed(state, "a metadata stream", MD_COST, err, errlen);
	}
	md->mem = state->mem;
	md->charged = charged;
	md->pathname = lh_relay_charged_strdup(md->mem, &md->charged, path);
	md->channel_name = lh_relay_charged_strdup(md->mem, &md->charged, channel);
	md->rw = lh_ctf_md_rewriter_create();
	if (!md->pathname || !md->channel_name || !md->rw) {
		md_stream_free(md);
		return lh_relay_follow_failed(state, "a metadata stream", MD_COST, err, errlen);
	}
	*out = md;
	return 0;
}

static struct md_stream *md_stream_find(const struct relay_ctl *ctl, uint64_t id)
{
	struct md_stream *md;

	for (md = ctl->md_streams; md; md = md->next) {
		if (md->id == id) {
			return md;
		}
	}
	return NULL;
}

static void md_stream_unlink(struct relay_ctl *ctl, struct md_stream *md)
{
	struct md_stream **pp;

	for (pp = &ctl->md_streams; *pp; pp = &(*pp)->next) {
		if (*pp == md) {
			*pp = md->next;
			return;
		}
	}
}

/* The final fix of a metadata stream that ended, with the VM's latest correction. */
static void md_stream_finish(const struct relay_ctl *ctl, const struct md_stream *md)
{
	struct lh_relay_clock_chain chain;
	struct lh_clock_correction corr;
	const struct lh_relay_sync_stream stream = {
		.vm_name = ctl->state->vm_name,
		.session_path = ctl->session_path,
		.pathname = md->pathname,
		.channel_name = md->channel_name,
		.guest = lh_ctf_md_rewriter_report(md->rw),
	};

	if (!ctl->session_path) {
		char ctx[sizeof(ctl->state->vm_name) + 8];

		snprintf(ctx, sizeof(ctx), "vm=%s", ctl->state->vm_name);
		WARN_CTX(ctx, "Metadata stream %" PRIu64 " of an unknown session: no final clock fix",
			md->id);
		return;
	}
	lh_relay_sync_finish(&stream,
		lh_relay_vm_state_correction(ctl->state, &corr, &chain) == 0 ? &corr : NULL,
		&chain);
}

struct md_emit {
	struct lh_buf *out;
	uint64_t stream_id;
};

/* Forward one rewritten metadata message. */
static int md_emit(void *arg, const uint8_t *data, size_t len, uint32_t padding)
{
	const struct md_emit *e = arg;
	const struct lh_relayd_ctrl_hdr hdr = {
		.data_size = METADATA_HDR_LEN + len,
		.cmd = LH_RELAYD_SEND_METADATA,
	};
	uint8_t *p;

	if (lh_buf_reserve(e->out, LH_RELAYD_CTRL_HDR_LEN + METADATA_HDR_LEN + len) < 0) {
		return -1;
	}
	p = lh_buf_tail(e->out);
	lh_relayd_ctrl_hdr_encode(&hdr, p);
	p += LH_RELAYD_CTRL_HDR_LEN;
	lh_put_be32(p, (uint32_t) (e->stream_id >> 32));
	lh_put_be32(p + 4, (uint32_t) e->stream_id);
	lh_put_be32(p + METADATA_PADDING_OFF, padding);
	memcpy(p + METADATA_HDR_LEN, data, len);
	lh_buf_commit(e->out, LH_RELAYD_CTRL_HDR_LEN + METADATA_HDR_LEN + len);
	return 0;
}

/* What the rewriter writes now: the latest correction, or room for it. */
static void md_values(const struct relay_ctl *ctl, struct lh_ctf_md_values *values)
{
	struct lh_relay_clock_chain chain;
	struct lh_clock_correction corr;

	*values = (struct lh_ctf_md_values) { .min_width = LH_CTF_MD_RESERVE_WIDTH };
	if (lh_relay_vm_state_correction(ctl->state, &corr, &chain) == 0) {
		values->set_offset = true;
		values->offset = corr.offset;
		values->set_freq = true;
		values->freq = corr.freq;
	}
}

/* Metadata messages held by the rewriters go out before any other command. */
static int md_flush_all(struct relay_ctl *ctl, struct lh_buf *out)
{
	struct md_stream *md;

	for (md = ctl->md_streams; md; md = md->next) {
		struct md_emit e = { .out = out, .stream_id = md->id };

		if (lh_ctf_md_rewriter_holding(md->rw) &&
				lh_ctf_md_rewriter_flush(md->rw, md_emit, &e) < 0) {
			return -1;
		}
	}
	return 0;
}

/* Replace the verbatim SEND_METADATA at out_len in out by the rewritten form. */
static int md_rewrite(struct relay_ctl *ctl, struct md_stream *md, const uint8_t *msg,
		size_t len, struct lh_buf *out, size_t out_len)
{
	const uint8_t *payload = msg + LH_RELAYD_CTRL_HDR_LEN;
	struct md_emit e = { .out = out, .stream_id = md->id };
	struct lh_ctf_md_values values;

	out->tail = out->head + out_len;
	md_values(ctl, &values);
	lh_ctf_md_rewriter_set_values(md->rw, &values);
	return lh_ctf_md_rewriter_feed(md->rw, payload + METADATA_HDR_LEN,
		len - LH_RELAYD_CTRL_HDR_LEN - METADATA_HDR_LEN,
		lh_get_be32(payload + METADATA_PADDING_OFF), md_emit, &e);
}

static const char *conn_log_ctx(const struct lh_mux_conn *conn)
{
	return lh_mux_log_ctx(lh_mux_conn_mux(conn));
}

static void ctl_msg_ctx(const struct relay_ctl *ctl, struct lh_relayd_msg_ctx *ctx)
{
	*ctx = (struct lh_relayd_msg_ctx) {
		.hostname = ctl->state->hostname,
		.base_prefix = ctl->state->path,
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

/* The guest's count of events its stream discarded, as of this index. */
static void index_discarded(struct lh_relay_vm_state *state, struct data_stream *ds,
		const uint8_t *msg)
{
	uint64_t discarded = lh_get_be64(msg + LH_RELAYD_CTRL_HDR_LEN + SEND_INDEX_DISCARDED_OFF);

	/* A counter that goes back is a guest's lie: count nothing for it. */
	if (discarded > ds->events_discarded) {
		state->stats->events_discarded += discarded - ds->events_discarded;
	}
	ds->events_discarded = discarded;
}

/* A SEND_INDEX, checked and owned: account for its partial index. */
static int ctl_index(struct relay_ctl *ctl, uint64_t stream_id, const uint8_t *msg,
		char *err, size_t errlen)
{
	const uint8_t *p = msg + LH_RELAYD_CTRL_HDR_LEN;
	struct data_stream *ds = lh_relay_data_stream_find(ctl->state, stream_id);

	/* lttng-relayd would keep the indexes of a metadata stream forever. */
	if (!ds) {
		snprintf(err, errlen, "SEND_INDEX on stream %" PRIu64 ", which is not a data stream",
			stream_id);
		return -1;
	}
	/* A live beacon leaves no partial index, and its counters are not a packet's. */
	if (!lh_get_be64(p + SEND_INDEX_PACKET_SIZE_OFF)) {
		return 0;
	}
	if (lh_relay_index_arrives(ds, lh_get_be64(p + SEND_INDEX_SEQ_OFF), err, errlen) < 0) {
		return -1;
	}
	index_discarded(ctl->state, ds, msg);
	return 0;
}

/* Check, rewrite and forward one whole message from the guest. */
static int ctl_forward(struct lh_mux_conn *conn, struct relay_ctl *ctl,
		const uint8_t *msg, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct lh_relayd_owned *owned = ctl->state->owned;
	struct pending_md act = { 0 };
	struct lh_relayd_msg_info info;
	struct lh_relayd_msg_ctx ctx;
	struct md_stream *md = NULL;
	struct data_stream *ds;
	size_t out_len;

	if (lh_get_be32(msg + 16) != LH_RELAYD_SEND_METADATA && md_flush_all(ctl, out) < 0) {
		lh_relay_alloc_failed(ctl->state->mem, "metadata", err, errlen);
		return -1;
	}
	out_len = lh_buf_len(out);
	ctl_msg_ctx(ctl, &ctx);
	if (lh_relayd_msg_filter(&ctx, msg, len, out, &info, err, errlen) < 0 ||
			ctl_check_refs(ctl, &info, err, errlen) < 0) {
		return -1;
	}
	if (info.nr_stream_refs) {
		md = md_stream_find(ctl, lh_relayd_msg_stream_ref(&info, 0));
	}
	ctl->state->stats->bytes_in += len;
	switch (info.cmd) {
	case LH_RELAYD_VERSION:
		ctl->version_sent = true;
		ctl->forwarded_minor = info.version_minor;
		ctl->guest_minor = info.guest_version_minor;
		break;
	case LH_RELAYD_CREATE_SESSION:
		if (ctl->session_requested) {
			snprintf(err, errlen, "CREATE_SESSION sent twice on one connection");
			return -1;
		}
		if (ctl->state->ops->check_room(ctl->state->vm, info.cmd, err, errlen) < 0 ||
				ctl->state->ops->disk_check_session(ctl->state->vm, err, errlen) < 0) {
			return -1;
		}
		ctl->session_requested = true;
		ctl->snapshot = msg[LH_RELAYD_CTRL_HDR_LEN + CREATE_SESSION_SNAPSHOT_OFF] != 0;
		ctl->guest_hostname = lh_relay_charged_strdup(ctl->state->mem, &ctl->charged,
			info.guest_hostname);
		if (!ctl->guest_hostname) {
			lh_relay_alloc_failed(ctl->state->mem, "a session", err, errlen);
			return -1;
		}
		break;
	case LH_RELAYD_ADD_STREAM:
		if (ctl->state->ops->check_room(ctl->state->vm, info.cmd, err, errlen) < 0) {
			return -1;
		}
		if (md_stream_from_add(ctl->state, msg, &act.added, err, errlen) < 0 ||
				(!act.added && lh_relay_data_stream_from_add(ctl->state, msg,
					&act.data_added, err, errlen) < 0)) {
			return -1;
		}
		break;
	case LH_RELAYD_CLOSE_STREAM:
		lh_relayd_owned_close_stream(owned, lh_relayd_msg_stream_ref(&info, 0));
		ds = lh_relay_data_stream_find(ctl->state, lh_relayd_msg_stream_ref(&info, 0));
		if (ds) {
			/* Its last frames may still be on their way through a data port. */
			if (!ds->closed_seq) {
				ds->port.last_seq = lh_get_be64(msg + LH_RELAYD_CTRL_HDR_LEN +
					CLOSE_STREAM_LAST_SEQ_OFF);
			}
			lh_relay_data_stream_close(ctl->state, ds);
			lh_relay_data_streams_evict(ctl->state);
		}
		if (md) {
			/* Fresh probes for the final fix, done on the reply. */
			md_stream_unlink(ctl, md);
			act.closed = md;
			ctl->state->ops->clock_burst(ctl->state->vm);
		}
		break;
	case LH_RELAYD_SEND_INDEX:
		if (ctl_index(ctl, lh_relayd_msg_stream_ref(&info, 0), msg, err, errlen) < 0) {
			return -1;
		}
		break;
	case LH_RELAYD_SEND_METADATA:
		/* Checked: the message holds its payload header. lttng-relayd writes the padding. */
		if (ctl->state->ops->disk_charge(ctl->state->vm,
				len - LH_RELAYD_CTRL_HDR_LEN - METADATA_HDR_LEN +
				lh_get_be32(msg + LH_RELAYD_CTRL_HDR_LEN + METADATA_PADDING_OFF),
				err, errlen) < 0) {
			return -1;
		}
		if (md && md_rewrite(ctl, md, msg, len, out, out_len) < 0) {
			lh_relay_alloc_failed(ctl->state->mem, "metadata", err, errlen);
			return -1;
		}
		break;
	case LH_RELAYD_RESET_METADATA:
		if (md) {
			lh_ctf_md_rewriter_reset(md->rw);
		}
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
		md_stream_free(act.added);
		lh_relay_data_stream_free(act.data_added);
		/* Unlinked above: its connection's end will not find it. */
		if (act.closed) {
			md_stream_finish(ctl, act.closed);
			md_stream_free(act.closed);
		}
		return -1;
	}
	ctl->pending[(ctl->pending_head + ctl->nr_pending) % MAX_PENDING_REPLIES] = info.reply;
	ctl->pending_md[(ctl->pending_head + ctl->nr_pending) % MAX_PENDING_REPLIES] = act;
	ctl->nr_pending++;
	lh_mux_conn_set_waiting(conn, true);
	return 0;
}

/*
 * The guest broke the protocol. A nested VM's fault is its own: its
 * connection alone is reset and it may open no other, while the VM that
 * relays it and its other VMs go on.
 */
static enum lh_filter_verdict guest_fault(struct lh_relay_vm_state *state,
		enum lh_filter_verdict verdict, char *err, size_t errlen)
{
	char why[512];

	if (verdict != LH_FILTER_ERROR || !state->path[0]) {
		return verdict;
	}
	/* The log line names the VM at fault, not only the channel. */
	snprintf(why, sizeof(why), "%s", err);
	snprintf(err, errlen, "nested VM %s: %s", state->vm_name, why);
	state->ops->ban(state->vm, state->path);
	/* Its bytes go with its connection: the channel's VM starts afresh. */
	lh_mem_account_rearm(state->mem);
	return LH_FILTER_RESET;
}

static enum lh_filter_verdict ctl_check_peer(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct relay_ctl *ctl = lh_mux_conn_get_priv(conn);

	if (lh_buf_append(&ctl->in, buf, len) < 0) {
		lh_relay_alloc_failed(ctl->state->mem, "a control message", err, errlen);
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

/*
 * A guest whose LTTng makes CTF 2 sessions by default (2.15 and later)
 * gets "Trace format is not supported" from its own lttng when the
 * protocol agreed is older: the host's log says why and what to do, once
 * per VM.
 */
static void ctl_version_advice(struct lh_mux_conn *conn, struct relay_ctl *ctl,
		uint32_t relayd_minor)
{
	if (ctl->guest_minor < LH_RELAYD_MINOR_CTF2 || ctl->minor >= LH_RELAYD_MINOR_CTF2 ||
			ctl->state->ctf2_advised) {
		return;
	}
	ctl->state->ctf2_advised = true;
	WARN_CTX(conn_log_ctx(conn), "VM %s: its LTTng speaks relayd protocol %d.%" PRIu32
		", this host's lttng-relayd %d.%" PRIu32 ": its lttng refuses CTF 2 sessions below %d.%d (\"Trace format is not supported\"); run lttng-relayd 2.15 or later (--relayd-path, --relayd-url) or create them with lttng create --trace-format=ctf-1.8",
		ctl->state->vm_name, LH_RELAYD_MAJOR, ctl->guest_minor, LH_RELAYD_MAJOR,
		relayd_minor, LH_RELAYD_MAJOR, LH_RELAYD_MINOR_CTF2);
}

/* Learn from one whole reply, and pass it on to the guest. */
static int ctl_reply(struct lh_mux_conn *conn, struct relay_ctl *ctl,
		enum lh_relayd_reply kind, const struct lh_relayd_reply_info *info,
		struct pending_md *act, const uint8_t *reply, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct lh_relayd_owned *owned = ctl->state->owned;
	char host_dir[sizeof(ctl->state->hostname) + 1 + sizeof(ctl->state->path)];
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
		ctl_version_advice(conn, ctl, info->minor);
		lh_relayd_version_encode(info->major, guest_minor, version);
		reply = version;
		len = sizeof(version);
		break;
	case LH_RELAYD_REPLY_CREATE_SESSION:
		if (info->ret_code == LH_RELAYD_RET_OK &&
				lh_relayd_owned_add_session(owned, info->id, ctl, err, errlen) < 0) {
			return -1;
		}
		if (lh_relay_state_charge_owned(ctl->state) < 0) {
			lh_relay_alloc_failed(ctl->state->mem, "a session", err, errlen);
			return -1;
		}
		if (info->ret_code == LH_RELAYD_RET_OK) {
			ctl->session_id = info->id;
		}
		/* The session's directory, relative to lttng-relayd's output. */
		if (info->ret_code == LH_RELAYD_RET_OK && len > CREATE_SESSION_REPLY_LEN &&
				!ctl->session_path) {
			ctl->session_path = lh_relay_charged_strdup(ctl->state->mem, &ctl->charged,
				(const char *) reply + CREATE_SESSION_REPLY_LEN);
			if (!ctl->session_path && lh_mem_account_exceeded(ctl->state->mem)) {
				lh_relay_alloc_failed(ctl->state->mem, "a session", err, errlen);
				return -1;
			}
			if (!ctl->session_path) {
				ERR_CTX(conn_log_ctx(conn), "Out of memory: no final clock fix");
			}
		}
		break;
	case LH_RELAYD_REPLY_ADD_STREAM:
		if (info->ret_code == LH_RELAYD_RET_OK &&
				lh_relayd_owned_add_stream(owned, info->id, ctl, err, errlen) < 0) {
			return -1;
		}
		if (lh_relay_state_charge_owned(ctl->state) < 0) {
			lh_relay_alloc_failed(ctl->state->mem, "a stream", err, errlen);
			return -1;
		}
		if (act->added && info->ret_code == LH_RELAYD_RET_OK) {
			act->added->id = info->id;
			act->added->next = ctl->md_streams;
			ctl->md_streams = act->added;
			act->added = NULL;
		}
		/* Without its session's directory, its file cannot be found. */
		if (act->data_added && info->ret_code == LH_RELAYD_RET_OK && ctl->session_path) {
			act->data_added->session_path = lh_relay_charged_strdup(act->data_added->mem,
				&act->data_added->charged, ctl->session_path);
			if (!act->data_added->session_path &&
					lh_mem_account_exceeded(ctl->state->mem)) {
				lh_relay_alloc_failed(ctl->state->mem, "a stream", err, errlen);
				return -1;
			}
			if (!act->data_added->session_path) {
				ERR_CTX(conn_log_ctx(conn), "Out of memory: a packet stream %" PRIu64
					" loses is not trimmed", info->id);
				break;
			}
			act->data_added->id = info->id;
			act->data_added->session_id = ctl->session_id;
			act->data_added->snapshot = ctl->snapshot;
			act->data_added->owner = ctl;
			act->data_added->next = ctl->state->data_streams;
			ctl->state->data_streams = act->data_added;
			act->data_added = NULL;
		}
		break;
	case LH_RELAYD_REPLY_GENERIC:
		if (act->closed) {
			md_stream_finish(ctl, act->closed);
			md_stream_free(act->closed);
			act->closed = NULL;
		}
		break;
	default:
		break;
	}
	/* Paths under lttng-relayd's output go back as the guest's own relayd would name them. */
	snprintf(host_dir, sizeof(host_dir), "%s%s%s", ctl->state->hostname,
		ctl->state->path[0] ? "/" : "", ctl->state->path);
	if (lh_relayd_reply_rewrite_path(kind, reply, len, host_dir,
			ctl->guest_hostname ? ctl->guest_hostname : ctl->state->hostname, out) < 0) {
		lh_relay_alloc_failed(ctl->state->mem, "a relayd reply", err, errlen);
		return -1;
	}
	return 0;
}

static enum lh_filter_verdict ctl_from_peer(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct relay_ctl *ctl = lh_mux_conn_get_priv(conn);

	return guest_fault(ctl->state, ctl_check_peer(conn, buf, len, out, err, errlen),
		err, errlen);
}

static enum lh_filter_verdict ctl_from_local(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct relay_ctl *ctl = lh_mux_conn_get_priv(conn);

	if (lh_buf_append(&ctl->replies, buf, len) < 0) {
		lh_relay_alloc_failed(ctl->state->mem, "a relayd reply", err, errlen);
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
		if (ctl_reply(conn, ctl, kind, &info, &ctl->pending_md[ctl->pending_head],
				lh_buf_head(&ctl->replies), (size_t) n, out, err, errlen) < 0) {
			return LH_FILTER_ERROR;
		}
		/* A stream lttng-relayd refused is not followed. */
		md_stream_free(ctl->pending_md[ctl->pending_head].added);
		lh_relay_data_stream_free(ctl->pending_md[ctl->pending_head].data_added);
		ctl->pending_md[ctl->pending_head] = (struct pending_md) { 0 };
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
	struct data_stream *ds;
	unsigned int i;

	/* lttng-relayd closes the streams of a connection that goes away. */
	while (ctl->md_streams) {
		struct md_stream *md = ctl->md_streams;

		ctl->md_streams = md->next;
		md_stream_finish(ctl, md);
		md_stream_free(md);
	}
	for (i = 0; i < ctl->nr_pending; i++) {
		struct pending_md *act = &ctl->pending_md[(ctl->pending_head + i) % MAX_PENDING_REPLIES];

		md_stream_free(act->added);
		lh_relay_data_stream_free(act->data_added);
		if (act->closed) {
			md_stream_finish(ctl, act->closed);
			md_stream_free(act->closed);
		}
	}
	for (ds = ctl->state->data_streams; ds; ds = ds->next) {
		if (ds->owner == ctl) {
			lh_relay_data_stream_close(ctl->state, ds);
		}
	}
	lh_relay_data_streams_evict(ctl->state);
	free(ctl->session_path);
	free(ctl->guest_hostname);
	lh_relayd_owned_release(ctl->state->owned, ctl);
	/* Its session ended: the data ports close their connections of it. */
	if (!ctl->state->path[0]) {
		ctl->state->ops->sessions_changed(ctl->state->vm);
	}
	lh_buf_fini(&ctl->in);
	lh_buf_fini(&ctl->replies);
	ctl->state->stats->conns--;
	lh_mem_uncharge(ctl->state->mem, ctl->charged);
	free(ctl);
}

/*
 * The bulk path: follow packet boundaries through the byte stream, and
 * check each header, without copying the payload.
 */
static enum lh_filter_verdict data_check_peer(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct relay_data *data = lh_mux_conn_get_priv(conn);
	struct data_stream *ds;

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
		/* lttng-relayd would index the packets of a metadata stream too. */
		ds = lh_relay_data_stream_find(data->state, hdr.stream_id);
		if (!ds) {
			snprintf(err, errlen, "data packet on stream %" PRIu64 ", which is not a data stream",
				hdr.stream_id);
			return LH_FILTER_ERROR;
		}
		if (lh_relay_packet_arrives(ds, hdr.net_seq_num, err, errlen) < 0 ||
				data->state->ops->disk_charge(data->state->vm,
					(uint64_t) hdr.data_size + hdr.padding_size, err, errlen) < 0) {
			return LH_FILTER_ERROR;
		}
		data->to_skip = hdr.data_size;
		data->state->stats->bytes_in += LH_RELAYD_DATA_HDR_LEN + (uint64_t) hdr.data_size;
		data->state->stats->packets++;
		ds->carrier = data;
		if (!ds->first_packet_size) {
			ds->first_packet_size = (uint64_t) hdr.data_size + hdr.padding_size;
		}
	}
	return LH_FILTER_PASS;
}

/*
 * The connection may have ended in the middle of a packet, of the stream
 * it was sending or, when the channel was lost with bytes still queued
 * for lttng-relayd, of any stream it carried: trim.c checks them all.
 */
static void data_release(struct lh_mux_conn *conn)
{
	struct relay_data *data = lh_mux_conn_get_priv(conn);
	struct data_stream *ds;

	for (ds = data->state->data_streams; ds; ds = ds->next) {
		const struct lh_relay_trim_stream stream = {
			.vm_name = data->state->vm_name,
			.session_path = ds->session_path,
			.pathname = ds->pathname,
			.channel_name = ds->channel_name,
			.first_packet_size = ds->first_packet_size,
		};

		if (ds->carrier != data) {
			continue;
		}
		ds->carrier = NULL;
		lh_relay_trim_schedule(&stream);
	}
	data->state->stats->conns--;
	lh_mem_uncharge(data->state->mem, sizeof(*data));
	free(data);
}

static enum lh_filter_verdict data_from_peer(struct lh_mux_conn *conn,
		const uint8_t *buf, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	struct relay_data *data = lh_mux_conn_get_priv(conn);

	return guest_fault(data->state, data_check_peer(conn, buf, len, out, err, errlen),
		err, errlen);
}

static const struct lh_mux_filter ctl_filter = {
	.from_peer = ctl_from_peer,
	.from_local = ctl_from_local,
	.release = ctl_release,
};

/* The rest of a packet whose header was checked may pass unseen (spliced). */
static uint64_t data_peer_skippable(struct lh_mux_conn *conn)
{
	const struct relay_data *data = lh_mux_conn_get_priv(conn);

	return data->to_skip;
}

static void data_peer_skipped(struct lh_mux_conn *conn, uint64_t len)
{
	struct relay_data *data = lh_mux_conn_get_priv(conn);

	assert(len <= data->to_skip);
	data->to_skip -= len;
}

/* lttng-relayd never writes on a data connection. */
static const struct lh_mux_filter data_filter = {
	.from_peer = data_from_peer,
	.release = data_release,
	.peer_skippable = data_peer_skippable,
	.peer_skipped = data_peer_skipped,
};

struct lh_relay_vm_state *lh_relay_filter_state(const struct lh_mux_conn *conn)
{
	void *priv = lh_mux_conn_get_priv(conn);

	if (!priv) {
		return NULL;
	}
	if (lh_mux_conn_kind(conn) == LTTNG_HYPER_CONN_CONTROL) {
		return ((struct relay_ctl *) priv)->state;
	}
	return ((struct relay_data *) priv)->state;
}

int lh_relay_filter_attach(struct lh_mux_conn *conn, enum lttng_hyper_conn_kind kind,
		struct lh_relay_vm_state *state)
{
	if (kind == LTTNG_HYPER_CONN_CONTROL) {
		struct relay_ctl *ctl;

		if (lh_mem_charge(state->mem, sizeof(*ctl)) < 0) {
			return -1;
		}
		ctl = calloc(1, sizeof(*ctl));
		if (!ctl) {
			PERROR("calloc");
			lh_mem_uncharge(state->mem, sizeof(*ctl));
			return -1;
		}
		ctl->state = state;
		ctl->charged = sizeof(*ctl);
		state->stats->conns++;
		lh_buf_init_account(&ctl->in, state->mem);
		lh_buf_init_account(&ctl->replies, state->mem);
		lh_mux_conn_set_priv(conn, ctl);
		lh_mux_conn_set_filter(conn, &ctl_filter);
	} else {
		struct relay_data *data;

		if (lh_mem_charge(state->mem, sizeof(*data)) < 0) {
			return -1;
		}
		data = calloc(1, sizeof(*data));
		if (!data) {
			PERROR("calloc");
			lh_mem_uncharge(state->mem, sizeof(*data));
			return -1;
		}
		data->state = state;
		state->stats->conns++;
		lh_mux_conn_set_priv(conn, data);
		lh_mux_conn_set_filter(conn, &data_filter);
	}
	return 0;
}

