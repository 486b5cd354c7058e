/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the host relay's relayd protocol filter
 * (src/bin/lttng-hyper-relayd/filter.c), driven without sockets. The mux
 * connections it filters (mux.c) and the VMs it reports to (the ops vm.c
 * gives a VM state) are stand-ins here; lttng-relayd is played by this target, which answers
 * what the filter forwards as lttng-relayd 2.11 to 2.15 would, handing
 * out sequential session and stream ids shared by every VM.
 *
 * Two channels: VM guest1, with its nested VM guest1/l2, and VM guest2.
 * Six connection slots: a control and a data connection for each of
 * guest1, l2 and guest2. The input is a flags byte (the minor
 * lttng-relayd speaks, 11 + n % 5) then operations, each a byte: its low
 * 3 bits the operation, the rest the slot (modulo 6):
 *   0 guest bytes: u16 length (12 bits; bit 15 on a data connection:
 *     let the mux move what the filter says it may skip), the bytes;
 *   1 a well-formed command (control) or packet (data) built from the
 *     next bytes, naming ids lttng-relayd handed out to any VM, then a
 *     byte whose bit 0 lets the mux skip as in 0;
 *   2 lttng-relayd's pending replies, in pieces of 1 + u8 % 64 bytes;
 *   3 the connection closes (a new one opens on next use);
 *   4 the clock correction appears (u64 offset) or goes (offset 0);
 *   5 a data port frame of the slot's channel VM: u8 picks the stream,
 *     u8 its seq, u8 whether it went through whole or was cut, u8 picks
 *     a session to ask whether the port keeps it live;
 *   6 the channel is lost;
 *   7 raw bytes from "lttng-relayd" on a control connection (u8 length).
 *
 * Invariants: what reaches lttng-relayd is whole, clean control
 * messages and data packets, naming only sessions and streams that
 * lttng-relayd handed to the same VM (not to another VM, nor to the
 * same VM before its channel was lost), with the VM's name as hostname
 * and a nested VM's sessions under its directory; the filter expects
 * exactly the replies lttng-relayd sends; a data port frame passes only
 * for a data stream of the same VM, in the session it was added to; the
 * paths handed to the final clock fix and to the trimming are safe; a
 * refusal's reason is printable; no half of a packet's index (its data,
 * its SEND_INDEX) reaches lttng-relayd twice, and lttng-relayd never
 * holds more partial indexes of a stream than defaults.h allows, but in
 * a session whose frame was cut (lttng-relayd aborts it).
 */
#include <inttypes.h>

#include "common/bytes.h"
#include "common/defaults.h"
#include "common/path.h"
#include "src/bin/lttng-hyper-relayd/filter.h"
#include "src/bin/lttng-hyper-relayd/sync.h"
#include "src/bin/lttng-hyper-relayd/trim.h"
#include "src/bin/lttng-hyper-relayd/vm-state.h"
#include "tests/fuzz/fuzz.h"

#define MAX_IDS		512
#define SESSION_BASE	1000
#define STREAM_BASE	5000
#define RET_ERR		11	/* LTTNG_ERR_UNK */
#define NR_SLOTS	6

/* --- stand-ins for mux.c ---------------------------------------------- */

struct lh_mux {
	char log_ctx[32];
};

struct lh_mux_conn {
	struct lh_mux *mux;
	uint32_t id;
	enum lttng_hyper_conn_kind kind;
	void *priv;
	const struct lh_mux_filter *filter;
	bool waiting;
};

const char *lh_mux_log_ctx(const struct lh_mux *mux)
{
	return mux->log_ctx;
}

struct lh_mux *lh_mux_conn_mux(const struct lh_mux_conn *conn)
{
	return conn->mux;
}

uint32_t lh_mux_conn_id(const struct lh_mux_conn *conn)
{
	return conn->id;
}

enum lttng_hyper_conn_kind lh_mux_conn_kind(const struct lh_mux_conn *conn)
{
	return conn->kind;
}

void lh_mux_conn_set_filter(struct lh_mux_conn *conn, const struct lh_mux_filter *filter)
{
	conn->filter = filter;
}

void lh_mux_conn_set_priv(struct lh_mux_conn *conn, void *priv)
{
	conn->priv = priv;
}

void *lh_mux_conn_get_priv(const struct lh_mux_conn *conn)
{
	return conn->priv;
}

void lh_mux_conn_set_waiting(struct lh_mux_conn *conn, bool waiting)
{
	conn->waiting = waiting;
}

/* --- stand-ins for vm.c's VM state ops, sync.c, trim.c ------------------ */

enum { VS_GUEST1, VS_L2, VS_GUEST2, NR_VSTATES };

/* A VM state, and the tag lttng-relayd's ids are owned by (never reused). */
struct vstate {
	struct lh_relay_vm_state *state;
	unsigned int tag;
	struct lh_vm *vm;
	const char *name;
	const char *path;
	struct lh_relay_vm_stats stats;
};

struct lh_vm {
	struct lh_mux mux;
	struct lh_relay_limits limits;
	bool l2_banned;
	struct lh_mem_account mem;
};

/* Small enough that inputs reach it: refusals must cut off cleanly. */
#define FUZZ_MAX_MEMORY		(512U << 10)

/* The disk quota's arithmetic is disk.c's; the filter only asks. */
static int vm_disk_charge(struct lh_vm *vm, uint64_t bytes, char *err, size_t errlen)
{
	return 0;
}

static int vm_disk_check_session(struct lh_vm *vm, char *err, size_t errlen)
{
	return 0;
}

static struct lh_vm vms[2];
static struct vstate vstates[NR_VSTATES];
static unsigned int next_tag;
static bool have_corr;
static uint64_t corr_offset;

static int vm_check_room(const struct lh_vm *vm, uint32_t cmd, char *err, size_t errlen)
{
	unsigned int sessions = 0, streams = 0, i;

	for (i = 0; i < NR_VSTATES; i++) {
		unsigned int se, st;

		if (vstates[i].vm != vm || !vstates[i].state) {
			continue;
		}
		lh_relay_vm_state_usage(vstates[i].state, &se, &st);
		sessions += se;
		streams += st;
	}
	if ((cmd == LH_RELAYD_CREATE_SESSION && sessions >= vm->limits.max_sessions) ||
			(cmd == LH_RELAYD_ADD_STREAM && streams >= vm->limits.max_streams)) {
		snprintf(err, errlen, "limit of the channel reached");
		return -1;
	}
	return 0;
}

static void vm_ban(struct lh_vm *vm, const char *path)
{
	FUZZ_CHECK(vm == &vms[0] && !strcmp(path, "l2"), "ban of %s", path);
	vm->l2_banned = true;
}

static void vm_clock_burst(const struct lh_vm *vm)
{
}

static void vm_port_sessions_changed(struct lh_vm *vm)
{
}

static int vm_clock_correction(const struct lh_vm *vm, const char *path,
		struct lh_clock_correction *corr, struct lh_relay_clock_chain *chain)
{
	memset(chain, 0, sizeof(*chain));
	if (!have_corr) {
		return -1;
	}
	*corr = (struct lh_clock_correction) { .offset = corr_offset, .freq = 1000000000 };
	return 0;
}

static const struct lh_relay_vm_ops vm_state_ops = {
	.check_room = vm_check_room,
	.disk_charge = vm_disk_charge,
	.disk_check_session = vm_disk_check_session,
	.clock_correction = vm_clock_correction,
	.clock_burst = vm_clock_burst,
	.ban = vm_ban,
	.sessions_changed = vm_port_sessions_changed,
};

/* The final fix and the trimming resolve these under lttng-relayd's output. */
static void check_stream_paths(const char *session_path, const char *pathname,
		const char *channel_name)
{
	FUZZ_CHECK(lh_path_relative_is_safe(session_path, strlen(session_path), false) &&
		lh_path_relative_is_safe(pathname, strlen(pathname), false) &&
		lh_path_component_is_safe(channel_name, strlen(channel_name)),
		"unsafe stream path %s/%s/%s", session_path, pathname, channel_name);
}

int lh_relay_sync_finish(const struct lh_relay_sync_stream *stream,
		const struct lh_clock_correction *corr,
		const struct lh_relay_clock_chain *chain)
{
	check_stream_paths(stream->session_path, stream->pathname, stream->channel_name);
	FUZZ_CHECK(!strcmp(stream->channel_name, "metadata"), "final fix of %s",
		stream->channel_name);
	return 0;
}

int lh_relay_trim_schedule(const struct lh_relay_trim_stream *stream)
{
	check_stream_paths(stream->session_path, stream->pathname, stream->channel_name);
	FUZZ_CHECK(strcmp(stream->channel_name, "metadata"), "trimming the metadata");
	return 0;
}

/* --- lttng-relayd ------------------------------------------------------ */

static unsigned int session_tag[MAX_IDS], stream_tag[MAX_IDS];
static bool session_snapshot[MAX_IDS], session_aborted[MAX_IDS];
static uint64_t stream_session[MAX_IDS];
static bool stream_is_data[MAX_IDS];
static unsigned int nr_sessions, nr_streams;
static uint32_t relayd_minor;

static unsigned int tag_of(const unsigned int *tags, unsigned int nr, uint64_t base,
		uint64_t id)
{
	return id >= base && id - base < nr ? tags[id - base] : 0;
}

/*
 * lttng-relayd's partial indexes (index.c): one per stream and
 * net_seq_num, made by the packet or by its SEND_INDEX, whichever comes
 * first, and gone when the other does.
 */
struct partial {
	uint64_t stream;
	uint64_t seq;
	bool is_index;
};

static struct partial *partials;
static size_t nr_partials, partials_size;

static void relayd_partial(uint64_t stream, uint64_t seq, bool is_index)
{
	uint64_t session = stream_session[stream - STREAM_BASE] - SESSION_BASE;
	unsigned int same = 0;
	size_t i;

	/* Its packets leave none in a snapshot session. */
	if (!is_index && session_snapshot[session]) {
		return;
	}
	for (i = 0; i < nr_partials; i++) {
		if (partials[i].stream != stream) {
			continue;
		}
		if (partials[i].seq == seq) {
			FUZZ_CHECK(partials[i].is_index != is_index || session_aborted[session],
				"%s of packet %" PRIu64 " of stream %" PRIu64 " forwarded twice",
				is_index ? "SEND_INDEX" : "data", seq, stream);
			partials[i] = partials[--nr_partials];
			return;
		}
		same += partials[i].is_index == is_index;
	}
	FUZZ_CHECK(session_aborted[session] ||
		same < (is_index ? LH_MAX_INDEXES_AHEAD : LH_MAX_PACKETS_AHEAD),
		"stream %" PRIu64 ": %u %s ahead forwarded", stream, same + 1,
		is_index ? "indexes" : "packets");
	if (nr_partials == partials_size) {
		partials_size = partials_size ? 2 * partials_size : 64;
		partials = realloc(partials, partials_size * sizeof(*partials));
		FUZZ_CHECK(partials, "out of memory");
	}
	partials[nr_partials++] = (struct partial) {
		.stream = stream,
		.seq = seq,
		.is_index = is_index,
	};
}

/* A connection slot: the filter's end, and lttng-relayd's. */
struct slot {
	int vs;
	enum lttng_hyper_conn_kind kind;
	struct lh_mux_conn *conn;
	/* lttng-relayd's connection. */
	struct lh_buf replies;		/* to send back, in order */
	bool raw;			/* raw bytes were sent: replies no longer match */
	bool has_session;
	uint64_t session_id;
	/* The minor this connection negotiated; 0 before VERSION. */
	uint32_t minor;
	uint8_t hdr[LH_RELAYD_DATA_HDR_LEN];
	size_t hdr_have;
	uint64_t to_skip;
};

static struct slot slots[NR_SLOTS];
static uint32_t next_conn_id;

static void put32(struct lh_buf *b, uint32_t v)
{
	uint8_t p[4];

	lh_put_be32(p, v);
	FUZZ_CHECK(lh_buf_append(b, p, 4) == 0, "out of memory");
}

static void put64(struct lh_buf *b, uint64_t v)
{
	uint8_t p[8];

	lh_put_be64(p, v);
	FUZZ_CHECK(lh_buf_append(b, p, 8) == 0, "out of memory");
}

static void check_stream(const struct slot *s, const char *cmd, uint64_t id)
{
	unsigned int tag = tag_of(stream_tag, nr_streams, STREAM_BASE, id);

	FUZZ_CHECK(tag && tag == vstates[s->vs].tag, "%s names stream %" PRIu64
		" of tag %u, forwarded for %s%s%s (tag %u)", cmd, id, tag, vstates[s->vs].name,
		vstates[s->vs].path[0] ? "/" : "", vstates[s->vs].path, vstates[s->vs].tag);
}

static void check_session(const struct slot *s, const char *cmd, uint64_t id)
{
	unsigned int tag = tag_of(session_tag, nr_sessions, SESSION_BASE, id);

	FUZZ_CHECK(tag && tag == vstates[s->vs].tag, "%s names session %" PRIu64
		" of tag %u, forwarded for tag %u", cmd, id, tag, vstates[s->vs].tag);
}

static void relayd_create_session(struct slot *s, const uint8_t *p, size_t len)
{
	const struct vstate *v = &vstates[s->vs];
	uint32_t name_len = lh_get_be32(p), host_len = lh_get_be32(p + 4);
	uint32_t base_len = lh_get_be32(p + 8);
	/* From 2.15, a u32 trace format (1 or 2) follows the 2.11 layout's 59 bytes. */
	size_t fixed = s->minor >= LH_RELAYD_MINOR_CTF2 ? 63 : 59;
	const char *host = (const char *) p + fixed + name_len;
	const char *base = host + host_len;
	char path[64];

	FUZZ_CHECK(len >= fixed && len == fixed + (uint64_t) name_len + host_len + base_len,
		"CREATE_SESSION of %zu bytes forwarded at minor %" PRIu32, len, s->minor);
	FUZZ_CHECK(fixed == 59 || lh_get_be32(p + 59) == 1 || lh_get_be32(p + 59) == 2,
		"CREATE_SESSION with trace format %" PRIu32, lh_get_be32(p + 59));
	FUZZ_CHECK(host_len == strlen(v->name) + 1 && !memcmp(host, v->name, host_len),
		"CREATE_SESSION with a hostname not the VM's");
	if (v->path[0]) {
		FUZZ_CHECK(base_len > 3 && !memcmp(base, "l2/", 3), "nested session outside l2/");
	}
	if (s->has_session || nr_sessions == MAX_IDS) {
		put64(&s->replies, 0);
		put32(&s->replies, RET_ERR);
		put32(&s->replies, 0);
		return;
	}
	session_tag[nr_sessions] = v->tag;
	session_snapshot[nr_sessions] = p[16] != 0;
	session_aborted[nr_sessions] = false;
	s->has_session = true;
	s->session_id = SESSION_BASE + nr_sessions++;
	snprintf(path, sizeof(path), "%s/s-%" PRIu64, v->name, s->session_id);
	put64(&s->replies, s->session_id);
	put32(&s->replies, LH_RELAYD_RET_OK);
	put32(&s->replies, (uint32_t) strlen(path) + 1);
	FUZZ_CHECK(lh_buf_append(&s->replies, path, strlen(path) + 1) == 0, "out of memory");
}

static void relayd_add_stream(struct slot *s, const uint8_t *p)
{
	uint32_t channel_len = lh_get_be32(p);

	/* lttng-relayd adds streams only to the connection's session. */
	if (!s->has_session || nr_streams == MAX_IDS) {
		put64(&s->replies, 0);
		put32(&s->replies, RET_ERR);
		return;
	}
	stream_tag[nr_streams] = vstates[s->vs].tag;
	stream_session[nr_streams] = s->session_id;
	stream_is_data[nr_streams] = channel_len != sizeof("metadata") ||
		memcmp(p + 32, "metadata", sizeof("metadata"));
	put64(&s->replies, STREAM_BASE + nr_streams++);
	put32(&s->replies, LH_RELAYD_RET_OK);
}

/* ROTATE_STREAMS: the header length that the payload size leaves, as lttng-relayd finds it. */
static void relayd_rotate(struct slot *s, const uint8_t *p, size_t len)
{
	static const size_t hdr_lens[] = { 13, 16, 20 };
	uint32_t count = lh_get_be32(p), i;
	size_t h;

	for (h = 0; h < 3; h++) {
		if (len == hdr_lens[h] + (uint64_t) count * 16) {
			break;
		}
	}
	FUZZ_CHECK(h < 3, "ROTATE_STREAMS of %zu bytes for %" PRIu32 " streams", len, count);
	for (i = 0; i < count; i++) {
		check_stream(s, "ROTATE_STREAMS", lh_get_be64(p + hdr_lens[h] + 16 * i));
	}
}

/* One whole message the filter forwarded: check it, and queue its reply. */
static void relayd_ctl_msg(struct slot *s, const struct lh_relayd_ctrl_hdr *hdr,
		const uint8_t *p, size_t len)
{
	const char *name = lh_relayd_cmd_str(hdr->cmd);

	FUZZ_CHECK(hdr->circuit_id == 0 && hdr->cmd_version == 0, "%s: unclean header", name);
	switch (hdr->cmd) {
	case LH_RELAYD_VERSION:
		FUZZ_CHECK(len == 8 && lh_get_be32(p) == 2 && lh_get_be32(p + 4) >= 11 &&
			lh_get_be32(p + 4) <= LH_RELAYD_MINOR_MAX, "VERSION forwarded as %zu bytes",
			len);
		s->minor = lh_get_be32(p + 4) < relayd_minor ? lh_get_be32(p + 4) : relayd_minor;
		put32(&s->replies, 2);
		put32(&s->replies, relayd_minor);
		return;
	case LH_RELAYD_CREATE_SESSION:
		relayd_create_session(s, p, len);
		return;
	case LH_RELAYD_ADD_STREAM:
		FUZZ_CHECK(len >= 32, "ADD_STREAM of %zu bytes", len);
		relayd_add_stream(s, p);
		return;
	case LH_RELAYD_SEND_METADATA:
		FUZZ_CHECK(len >= 12, "SEND_METADATA of %zu bytes", len);
		check_stream(s, name, lh_get_be64(p));
		return;
	case LH_RELAYD_SEND_INDEX:
		FUZZ_CHECK(len == 80, "SEND_INDEX of %zu bytes", len);
		check_stream(s, name, lh_get_be64(p));
		/* A live beacon (packet_size 0) is no packet's. */
		if (lh_get_be64(p + 16)) {
			relayd_partial(lh_get_be64(p), lh_get_be64(p + 8), true);
		}
		break;
	case LH_RELAYD_CLOSE_STREAM:
	case LH_RELAYD_DATA_PENDING:
	case LH_RELAYD_QUIESCENT_CONTROL:
	case LH_RELAYD_RESET_METADATA:
		FUZZ_CHECK(len >= 8, "%s of %zu bytes", name, len);
		check_stream(s, name, lh_get_be64(p));
		break;
	case LH_RELAYD_BEGIN_DATA_PENDING:
	case LH_RELAYD_END_DATA_PENDING:
		FUZZ_CHECK(len == 8, "%s of %zu bytes", name, len);
		check_session(s, name, lh_get_be64(p));
		break;
	case LH_RELAYD_ROTATE_STREAMS:
		FUZZ_CHECK(len >= 13, "ROTATE_STREAMS of %zu bytes", len);
		relayd_rotate(s, p, len);
		break;
	case LH_RELAYD_CLOSE_TRACE_CHUNK:
		put32(&s->replies, LH_RELAYD_RET_OK);
		put32(&s->replies, 6);
		FUZZ_CHECK(lh_buf_append(&s->replies, "chunk", 6) == 0, "out of memory");
		return;
	case LH_RELAYD_TRACE_CHUNK_EXISTS:
		put32(&s->replies, LH_RELAYD_RET_OK);
		FUZZ_CHECK(lh_buf_append(&s->replies, "\1", 1) == 0, "out of memory");
		return;
	case LH_RELAYD_GET_CONFIGURATION:
		put32(&s->replies, LH_RELAYD_RET_OK);
		put64(&s->replies, 0);
		return;
	case LH_RELAYD_STREAMS_SENT:
	case LH_RELAYD_CREATE_TRACE_CHUNK:
		break;
	default:
		FUZZ_CHECK(false, "command %" PRIu32 " (%s) forwarded", hdr->cmd, name);
	}
	put32(&s->replies, LH_RELAYD_RET_OK);
}

/* What the filter forwarded on a control connection: whole messages only. */
static void relayd_ctl_receive(struct slot *s, const uint8_t *p, size_t len)
{
	while (len) {
		struct lh_relayd_ctrl_hdr hdr;

		FUZZ_CHECK(len >= LH_RELAYD_CTRL_HDR_LEN, "a partial header forwarded");
		lh_relayd_ctrl_hdr_decode(p, &hdr);
		FUZZ_CHECK(hdr.data_size <= len - LH_RELAYD_CTRL_HDR_LEN,
			"%s of %" PRIu64 " bytes forwarded in part", lh_relayd_cmd_str(hdr.cmd),
			hdr.data_size);
		relayd_ctl_msg(s, &hdr, p + LH_RELAYD_CTRL_HDR_LEN, (size_t) hdr.data_size);
		p += LH_RELAYD_CTRL_HDR_LEN + hdr.data_size;
		len -= LH_RELAYD_CTRL_HDR_LEN + (size_t) hdr.data_size;
	}
}

/* What passed on a data connection: packets of this VM's streams. */
static void relayd_data_receive(struct slot *s, const uint8_t *p, size_t len)
{
	while (len) {
		struct lh_relayd_data_hdr hdr;
		size_t n;

		if (s->to_skip) {
			n = len < s->to_skip ? len : (size_t) s->to_skip;
			s->to_skip -= n;
			p += n;
			len -= n;
			continue;
		}
		n = LH_RELAYD_DATA_HDR_LEN - s->hdr_have;
		n = n < len ? n : len;
		memcpy(s->hdr + s->hdr_have, p, n);
		s->hdr_have += n;
		p += n;
		len -= n;
		if (s->hdr_have < LH_RELAYD_DATA_HDR_LEN) {
			break;
		}
		s->hdr_have = 0;
		lh_relayd_data_hdr_decode(s->hdr, &hdr);
		check_stream(s, "a data packet", hdr.stream_id);
		FUZZ_CHECK((uint64_t) hdr.data_size + hdr.padding_size <= LH_RELAYD_MAX_PACKET,
			"a data packet of %" PRIu32 " + %" PRIu32 " bytes", hdr.data_size,
			hdr.padding_size);
		relayd_partial(hdr.stream_id, hdr.net_seq_num, false);
		s->to_skip = hdr.data_size;
	}
}

/* --- the channels and their connections ------------------------------ */

static const struct lh_relay_limits limits = {
	.max_control_payload = 64 * 1024,
	.max_streams = 6,
	.max_sessions = 3,
};

static void vstate_create(int vs)
{
	struct vstate *v = &vstates[vs];

	v->state = lh_relay_vm_state_create(v->vm, &vm_state_ops, &v->vm->mem, v->name, v->path,
		&limits, &v->stats);
	FUZZ_CHECK(v->state, "no VM state");
	v->tag = ++next_tag;
}

static void slot_reset_relayd(struct slot *s)
{
	lh_buf_reset(&s->replies);
	s->raw = false;
	s->has_session = false;
	s->minor = 0;
	s->hdr_have = 0;
	s->to_skip = 0;
}

static void slot_close(struct slot *s)
{
	if (!s->conn) {
		return;
	}
	if (s->conn->filter->release) {
		s->conn->filter->release(s->conn);
	}
	free(s->conn);
	s->conn = NULL;
	slot_reset_relayd(s);
}

/* The channel is gone: its connections, then its VMs' states. */
static void channel_lost(struct lh_vm *vm)
{
	int i;

	for (i = 0; i < NR_SLOTS; i++) {
		if (vstates[slots[i].vs].vm == vm) {
			slot_close(&slots[i]);
		}
	}
	for (i = 0; i < NR_VSTATES; i++) {
		if (vstates[i].vm == vm && vstates[i].state) {
			lh_relay_vm_state_destroy(vstates[i].state);
			vstates[i].state = NULL;
		}
	}
	/* Every byte charged is given back. */
	FUZZ_CHECK(vm->mem.used == 0, "%" PRIu64 " bytes still charged", vm->mem.used);
	lh_mem_account_rearm(&vm->mem);
	vm->l2_banned = false;
}

/* The connection of the slot, opened as the guest would; NULL if refused. */
static struct lh_mux_conn *slot_conn(struct slot *s)
{
	struct vstate *v = &vstates[s->vs];

	if (s->conn) {
		return s->conn;
	}
	if (v->path[0] && v->vm->l2_banned) {
		return NULL;
	}
	if (!v->state) {
		vstate_create(s->vs);
	}
	s->conn = calloc(1, sizeof(*s->conn));
	FUZZ_CHECK(s->conn, "out of memory");
	s->conn->mux = &v->vm->mux;
	s->conn->id = ++next_conn_id;
	s->conn->kind = s->kind;
	FUZZ_CHECK(lh_relay_filter_attach(s->conn, s->kind, v->state) == 0, "attach failed");
	FUZZ_CHECK(s->conn->filter && s->conn->filter->from_peer, "no filter attached");
	return s->conn;
}

/* LH_FUZZ_DEBUG=1 in the environment: each refusal, to see where an input goes. */
static bool debug;

/* The mux's reaction to a verdict. */
static void verdict(struct slot *s, enum lh_filter_verdict v, const char *err)
{
	if (debug && (v == LH_FILTER_ERROR || v == LH_FILTER_RESET)) {
		fprintf(stderr, "slot %d: %s: %s\n", (int) (s - slots),
			v == LH_FILTER_ERROR ? "channel lost" : "connection reset", err);
	}
	if (v == LH_FILTER_ERROR || v == LH_FILTER_RESET) {
		FUZZ_CHECK(err[0] && fuzz_printable(err), "reason \"%s\"", err);
	}
	if (v == LH_FILTER_RESET) {
		FUZZ_CHECK(vstates[s->vs].path[0], "a connection of a channel's own VM reset");
		slot_close(s);
	} else if (v == LH_FILTER_ERROR) {
		channel_lost(vstates[s->vs].vm);
	}
}

/* Guest bytes on the slot's connection, as the mux hands them over. */
static void guest_send(struct slot *s, const uint8_t *p, size_t len, bool splice)
{
	struct lh_mux_conn *conn = slot_conn(s);
	enum lh_filter_verdict v;
	struct lh_buf out;
	char err[512] = "";

	if (!conn) {
		return;
	}
	lh_buf_init(&out);
	/* A checked packet's payload may go by without the filter. */
	if (splice && conn->filter->peer_skippable) {
		uint64_t n = conn->filter->peer_skippable(conn);

		n = n < len ? n : len;
		if (n) {
			conn->filter->peer_skipped(conn, n);
			relayd_data_receive(s, p, (size_t) n);
			p += n;
			len -= (size_t) n;
		}
	}
	v = conn->filter->from_peer(conn, p, len, &out, err, sizeof(err));
	if (debug) {
		fprintf(stderr, "slot %d: %zu guest bytes, %zu forwarded\n", (int) (s - slots),
			len, lh_buf_len(&out));
	}
	if (v == LH_FILTER_PASS) {
		FUZZ_CHECK(s->kind == LTTNG_HYPER_CONN_DATA, "a control message passed unchecked");
		relayd_data_receive(s, p, len);
	} else if (v == LH_FILTER_CONSUMED) {
		FUZZ_CHECK(s->kind == LTTNG_HYPER_CONN_CONTROL, "a data filter consumed");
		if (lh_buf_len(&out)) {
			relayd_ctl_receive(s, lh_buf_head(&out), lh_buf_len(&out));
		}
	}
	lh_buf_fini(&out);
	verdict(s, v, err);
}

/* lttng-relayd's bytes back on a control connection, in pieces of chunk bytes. */
static void relayd_send(struct slot *s, const uint8_t *p, size_t len, size_t chunk, bool raw)
{
	while (s->conn && len) {
		size_t n = len < chunk ? len : chunk;
		enum lh_filter_verdict v;
		struct lh_buf out;
		char err[512] = "";

		lh_buf_init(&out);
		if (debug) {
			fprintf(stderr, "slot %d: %zu reply bytes\n", (int) (s - slots), n);
		}
		v = s->conn->filter->from_local(s->conn, p, n, &out, err, sizeof(err));
		lh_buf_fini(&out);
		/* Two commands in flight may add one stream too many: the guest's own doing. */
		FUZZ_CHECK(raw || v == LH_FILTER_CONSUMED || strstr(err, "limit ("),
			"a well-formed reply refused: %s", err);
		FUZZ_CHECK(v == LH_FILTER_CONSUMED || v == LH_FILTER_ERROR, "reply verdict %d", v);
		p += n;
		len -= n;
		verdict(s, v, err);
	}
}

static void relayd_reply(struct slot *s, size_t chunk)
{
	struct lh_buf replies;

	if (!s->conn || s->kind != LTTNG_HYPER_CONN_CONTROL || !lh_buf_len(&s->replies)) {
		return;
	}
	/* What is sent is gone from the queue, even if the channel goes with it. */
	replies = s->replies;
	lh_buf_init(&s->replies);
	relayd_send(s, lh_buf_head(&replies), lh_buf_len(&replies), chunk, s->raw);
	lh_buf_fini(&replies);
}

/* --- well-formed commands and packets ---------------------------------- */

static uint64_t pick_stream(struct fuzz_in *in)
{
	uint8_t b = fuzz_u8(in);

	if (b < 0xf0 && nr_streams) {
		return STREAM_BASE + b % nr_streams;
	}
	return fuzz_u64(in);
}

static uint64_t pick_session(struct fuzz_in *in)
{
	uint8_t b = fuzz_u8(in);

	if (b < 0xf0 && nr_sessions) {
		return SESSION_BASE + b % nr_sessions;
	}
	return fuzz_u64(in);
}

/* A string field from the input (u8 length, bytes), or one of the usual ones. */
static void put_string(struct lh_buf *m, struct fuzz_in *in, const char *const *usual,
		size_t nr_usual, uint32_t *len)
{
	uint8_t b = fuzz_u8(in);
	const uint8_t *p;
	size_t got;

	if (b < 0x80) {
		const char *s = usual[b % nr_usual];

		*len = (uint32_t) strlen(s) + 1;
		FUZZ_CHECK(lh_buf_append(m, s, *len) == 0, "out of memory");
		return;
	}
	p = fuzz_bytes(in, b & 0x7f, &got);
	FUZZ_CHECK(lh_buf_append(m, p, got) == 0 && lh_buf_append(m, "", 1) == 0,
		"out of memory");
	*len = (uint32_t) got + 1;
}

/* A metadata packet holding a monotonic clock, as LTTng sends it. */
static void put_metadata(struct lh_buf *m, struct fuzz_in *in)
{
	static const char text[] =
		"clock {\n\tname = \"monotonic\";\n\tfreq = 1000000000;\n"
		"\toffset = 1795639570593412007;\n};\n";
	uint8_t hdr[37] = { 0 };
	uint32_t padding = fuzz_u8(in);
	size_t cut = fuzz_u8(in) % (sizeof(text) - 1 + 1);

	/* Whole, or its text cut short: the rest comes in the next message. */
	lh_put_be32(hdr, 0x75D11D57U);
	lh_put_be32(hdr + 24, (uint32_t) (sizeof(hdr) + sizeof(text) - 1) * 8);
	lh_put_be32(hdr + 28, (uint32_t) (sizeof(hdr) + sizeof(text) - 1 + padding) * 8);
	if (fuzz_u8(in) & 1) {
		FUZZ_CHECK(lh_buf_append(m, hdr, sizeof(hdr)) == 0 &&
			lh_buf_append(m, text, cut) == 0, "out of memory");
	} else {
		FUZZ_CHECK(lh_buf_append(m, text + cut, sizeof(text) - 1 - cut) == 0,
			"out of memory");
	}
}

/* A command for a connection of protocol minor (0: not negotiated yet, any). */
static void build_command(struct lh_buf *m, struct fuzz_in *in, uint32_t minor)
{
	static const char *const names[] = { "auto-20240101-120000", "s", "my-session" };
	static const char *const hosts[] = { "guest-host", "h" };
	static const char *const bases[] = { "", "traces/run-1/" };
	static const char *const channels[] = { "metadata", "chan_0", "chan_1" };
	static const char *const paths[] = { "ust/uid/1000/64-bit", "kernel" };
	static const uint32_t cmds[] = {
		LH_RELAYD_VERSION, LH_RELAYD_CREATE_SESSION, LH_RELAYD_ADD_STREAM,
		LH_RELAYD_SEND_METADATA, LH_RELAYD_CLOSE_STREAM, LH_RELAYD_DATA_PENDING,
		LH_RELAYD_QUIESCENT_CONTROL, LH_RELAYD_BEGIN_DATA_PENDING,
		LH_RELAYD_END_DATA_PENDING, LH_RELAYD_SEND_INDEX, LH_RELAYD_STREAMS_SENT,
		LH_RELAYD_RESET_METADATA, LH_RELAYD_ROTATE_STREAMS,
		LH_RELAYD_CREATE_TRACE_CHUNK, LH_RELAYD_CLOSE_TRACE_CHUNK,
		LH_RELAYD_TRACE_CHUNK_EXISTS, LH_RELAYD_GET_CONFIGURATION,
	};
	uint32_t cmd = cmds[fuzz_u8(in) % (sizeof(cmds) / sizeof(cmds[0]))];
	uint32_t l1, l2, l3, i, count;
	size_t start = lh_buf_len(m), lens;
	uint8_t uuid[16];

	put64(m, 0);
	put64(m, 0);		/* data_size, set below */
	put32(m, cmd);
	put32(m, 0);
	switch (cmd) {
	case LH_RELAYD_VERSION:
		put32(m, 2);
		put32(m, 11 + fuzz_u8(in) % 6);
		break;
	case LH_RELAYD_CREATE_SESSION:
		lens = lh_buf_len(m);
		put32(m, 0);
		put32(m, 0);
		put32(m, 0);
		put32(m, 0);			/* live_timer */
		/* snapshot, then session_name_contains_creation_time */
		FUZZ_CHECK(lh_buf_append(m, (uint8_t[]) { fuzz_u8(in) & 1, 1 }, 2) == 0,
			"out of memory");
		for (i = 0; i < sizeof(uuid); i++) {
			uuid[i] = (uint8_t) (fuzz_u8(in) | 1);
		}
		FUZZ_CHECK(lh_buf_append(m, uuid, sizeof(uuid)) == 0, "out of memory");
		put64(m, 4);
		put64(m, 1700000000);
		FUZZ_CHECK(lh_buf_append(m, "\1", 1) == 0, "out of memory");
		put64(m, 0);
		if (minor >= LH_RELAYD_MINOR_CTF2) {
			put32(m, 1 + fuzz_u8(in) % 2);	/* trace format */
		}
		put_string(m, in, names, 3, &l1);
		put_string(m, in, hosts, 2, &l2);
		put_string(m, in, bases, 2, &l3);
		if (l3 == 1) {
			/* No base path: length 0, no byte. */
			m->tail--;
			l3 = 0;
		}
		lh_put_be32(lh_buf_head(m) + lens, l1);
		lh_put_be32(lh_buf_head(m) + lens + 4, l2);
		lh_put_be32(lh_buf_head(m) + lens + 8, l3);
		break;
	case LH_RELAYD_ADD_STREAM:
		lens = lh_buf_len(m);
		put32(m, 0);
		put32(m, 0);
		put64(m, 0);
		put64(m, 0);
		put64(m, 0);
		put_string(m, in, channels, 3, &l1);
		put_string(m, in, paths, 2, &l2);
		lh_put_be32(lh_buf_head(m) + lens, l1);
		lh_put_be32(lh_buf_head(m) + lens + 4, l2);
		break;
	case LH_RELAYD_SEND_METADATA:
		put64(m, pick_stream(in));
		put32(m, 0);
		put_metadata(m, in);
		break;
	case LH_RELAYD_CLOSE_STREAM:
	case LH_RELAYD_DATA_PENDING:
	case LH_RELAYD_RESET_METADATA:
		put64(m, pick_stream(in));
		put64(m, fuzz_u8(in));
		break;
	case LH_RELAYD_QUIESCENT_CONTROL:
		put64(m, pick_stream(in));
		break;
	case LH_RELAYD_BEGIN_DATA_PENDING:
	case LH_RELAYD_END_DATA_PENDING:
		put64(m, pick_session(in));
		break;
	case LH_RELAYD_SEND_INDEX:
		put64(m, pick_stream(in));
		put64(m, fuzz_u16(in));		/* net_seq_num */
		put64(m, fuzz_u8(in) & 1 ? 0 : 4096 * 8);	/* packet_size, 0: a beacon */
		for (i = 3; i < 10; i++) {
			put64(m, i);
		}
		break;
	case LH_RELAYD_ROTATE_STREAMS:
		count = fuzz_u8(in) % 4;
		put32(m, count);
		FUZZ_CHECK(lh_buf_append(m, "\1\0\0\0", 4) == 0, "out of memory");
		put64(m, 5);		/* new_chunk_id, 4-byte aligned */
		for (i = 0; i < count; i++) {
			put64(m, pick_stream(in));
			put64(m, 100);
		}
		break;
	case LH_RELAYD_CREATE_TRACE_CHUNK:
		put64(m, 1);
		put64(m, 1700000000);
		put32(m, 0);
		break;
	case LH_RELAYD_CLOSE_TRACE_CHUNK:
		put64(m, 1);
		put64(m, 1700000100);
		FUZZ_CHECK(lh_buf_append(m, "\1", 1) == 0, "out of memory");
		put32(m, 0);
		break;
	case LH_RELAYD_TRACE_CHUNK_EXISTS:
	case LH_RELAYD_GET_CONFIGURATION:
		put64(m, 1);
		break;
	default:
		break;
	}
	lh_put_be64(lh_buf_head(m) + start + 8, lh_buf_len(m) - start - LH_RELAYD_CTRL_HDR_LEN);
}

static void build_packet(struct lh_buf *m, struct fuzz_in *in)
{
	uint32_t len = fuzz_u8(in);
	const uint8_t *p;
	size_t got;

	put64(m, 0);
	put64(m, pick_stream(in));
	put64(m, fuzz_u8(in));
	put32(m, len);
	put32(m, fuzz_u8(in));
	p = fuzz_bytes(in, len, &got);
	FUZZ_CHECK(lh_buf_append(m, p, got) == 0, "out of memory");
}

/* --- data port frames -------------------------------------------------- */

static void port_frame(struct slot *s, struct fuzz_in *in)
{
	/* A data port carries its channel's own VM's frames. */
	struct vstate *v = &vstates[s->vs == VS_GUEST2 ? VS_GUEST2 : VS_GUEST1];
	struct lh_relayd_data_hdr hdr = { 0 };
	uint64_t session_id = 0, id;
	char err[512] = "";
	uint8_t how;

	hdr.stream_id = pick_stream(in);
	hdr.net_seq_num = fuzz_u8(in);
	hdr.data_size = 4096;
	how = fuzz_u8(in);
	if (!v->state) {
		return;
	}
	id = hdr.stream_id - STREAM_BASE;
	if (lh_relay_port_frame_check(v->state, &hdr, &session_id, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] && fuzz_printable(err), "reason \"%s\"", err);
	} else {
		FUZZ_CHECK(tag_of(stream_tag, nr_streams, STREAM_BASE, hdr.stream_id) == v->tag &&
			stream_is_data[id] && session_id == stream_session[id],
			"port frame of stream %" PRIu64 " (session %" PRIu64 ") passed for tag %u",
			hdr.stream_id, session_id, v->tag);
		if (how & 1) {
			lh_relay_port_frame_cut(v->state, hdr.stream_id);
			/* Its session's data connection goes, and lttng-relayd aborts the session. */
			session_aborted[session_id - SESSION_BASE] = true;
		} else {
			lh_relay_port_frame_done(v->state, &hdr);
			relayd_partial(hdr.stream_id, hdr.net_seq_num, false);
		}
	}
	/* The data port keeps a session's lttng-relayd connection open only for its VM. */
	id = pick_session(in);
	if (lh_relay_port_session_live(v->state, id)) {
		FUZZ_CHECK(tag_of(session_tag, nr_sessions, SESSION_BASE, id) == v->tag,
			"session %" PRIu64 " kept live for tag %u", id, v->tag);
	}
}

/* --- the run --------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int i;

	fuzz_quiet_logs();
	debug = getenv("LH_FUZZ_DEBUG") != NULL;
	for (i = 0; i < 2; i++) {
		snprintf(vms[i].mux.log_ctx, sizeof(vms[i].mux.log_ctx), "vm=guest%d", i + 1);
		vms[i].limits = limits;
		lh_mem_account_init(&vms[i].mem, FUZZ_MAX_MEMORY, "--max-memory");
	}
	vstates[VS_GUEST1] = (struct vstate) { .vm = &vms[0], .name = "guest1", .path = "" };
	vstates[VS_L2] = (struct vstate) { .vm = &vms[0], .name = "guest1", .path = "l2" };
	vstates[VS_GUEST2] = (struct vstate) { .vm = &vms[1], .name = "guest2", .path = "" };
	for (i = 0; i < NR_SLOTS; i++) {
		slots[i].vs = i / 2;
		slots[i].kind = i % 2 ? LTTNG_HYPER_CONN_DATA : LTTNG_HYPER_CONN_CONTROL;
		lh_buf_init(&slots[i].replies);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct lh_buf m;
	int i;

	relayd_minor = 11 + fuzz_u8(&in) % 5;
	nr_sessions = 0;
	nr_streams = 0;
	nr_partials = 0;
	have_corr = false;
	lh_buf_init(&m);
	while (in.len) {
		uint8_t op = fuzz_u8(&in);
		struct slot *s = &slots[(op >> 3) % NR_SLOTS];
		const uint8_t *p;
		size_t got;
		uint16_t len;

		switch (op & 7) {
		case 0:
			len = fuzz_u16(&in);
			p = fuzz_bytes(&in, len & 0x0fff, &got);
			guest_send(s, p, got, len & 0x8000);
			break;
		case 1:
			lh_buf_reset(&m);
			if (s->kind == LTTNG_HYPER_CONN_CONTROL) {
				build_command(&m, &in, s->minor);
			} else {
				build_packet(&m, &in);
			}
			guest_send(s, lh_buf_head(&m), lh_buf_len(&m), fuzz_u8(&in) & 1);
			break;
		case 2:
			relayd_reply(s, 1 + fuzz_u8(&in) % 64);
			break;
		case 3:
			slot_close(s);
			break;
		case 4:
			corr_offset = fuzz_u64(&in);
			have_corr = corr_offset != 0;
			break;
		case 5:
			port_frame(s, &in);
			break;
		case 6:
			channel_lost(vstates[s->vs].vm);
			break;
		case 7:
		default:
			p = fuzz_bytes(&in, fuzz_u8(&in), &got);
			if (s->conn && s->kind == LTTNG_HYPER_CONN_CONTROL) {
				s->raw = true;
				relayd_send(s, p, got, got ? got : 1, true);
			}
			break;
		}
	}
	lh_buf_fini(&m);
	channel_lost(&vms[0]);
	channel_lost(&vms[1]);
	for (i = 0; i < NR_SLOTS; i++) {
		slot_reset_relayd(&slots[i]);
	}
	return 0;
}
