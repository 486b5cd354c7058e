/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The lttng-relayd network protocol as the host relay sees it.
 *
 * lttng-tools' own sessiond/consumerd speak it to lttng-relayd over a
 * control connection (commands and replies) and a data connection (trace
 * packets, no replies). The host relay sits between an untrusted guest
 * and a real lttng-relayd: it checks every control message of protocol
 * 2.11 to 2.15 against the layouts lttng-tools 2.13 to 2.16 send (2.16
 * still speaks 2.15), rewrites what
 * must not come from the guest (the hostname, the session daemon UUID),
 * and learns from the replies which sessions and streams belong to the
 * guest. Nothing here does I/O; filter.c drives it.
 *
 * All integers are big-endian on the wire.
 */
#ifndef LH_COMMON_RELAYD_MSG_H
#define LH_COMMON_RELAYD_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buffer.h"

/* Protocol versions accepted: 2.11 (trace chunks) to 2.15 (lttng 2.15, 2.16). */
#define LH_RELAYD_MAJOR			2
#define LH_RELAYD_MINOR_MIN		11
#define LH_RELAYD_MINOR_MAX		15
/*
 * The first minor whose sessions may be CTF 2 (lttng 2.15): its
 * CREATE_SESSION carries the trace format.
 */
#define LH_RELAYD_MINOR_CTF2		15

/*
 * Most trace files per stream (ADD_STREAM's tracefile_count):
 * lttng-relayd allocates 16 bytes for each, at once.
 */
#define LH_RELAYD_MAX_TRACEFILE_COUNT	65536

enum lh_relayd_trace_format {
	LH_RELAYD_CTF_1_8,
	LH_RELAYD_CTF_2,
};

/* enum lttcomm_relayd_command */
enum lh_relayd_cmd {
	LH_RELAYD_ADD_STREAM		= 1,
	LH_RELAYD_CREATE_SESSION	= 2,
	LH_RELAYD_START_DATA		= 3,
	LH_RELAYD_UPDATE_SYNC_INFO	= 4,
	LH_RELAYD_VERSION		= 5,
	LH_RELAYD_SEND_METADATA		= 6,
	LH_RELAYD_CLOSE_STREAM		= 7,
	LH_RELAYD_DATA_PENDING		= 8,
	LH_RELAYD_QUIESCENT_CONTROL	= 9,
	LH_RELAYD_BEGIN_DATA_PENDING	= 10,
	LH_RELAYD_END_DATA_PENDING	= 11,
	LH_RELAYD_ADD_INDEX		= 12,
	LH_RELAYD_SEND_INDEX		= 13,
	LH_RELAYD_CLOSE_INDEX		= 14,
	LH_RELAYD_LIST_SESSIONS		= 15,
	LH_RELAYD_STREAMS_SENT		= 16,
	LH_RELAYD_RESET_METADATA	= 17,
	LH_RELAYD_ROTATE_STREAMS	= 18,
	LH_RELAYD_CREATE_TRACE_CHUNK	= 19,
	LH_RELAYD_CLOSE_TRACE_CHUNK	= 20,
	LH_RELAYD_TRACE_CHUNK_EXISTS	= 21,
	LH_RELAYD_GET_CONFIGURATION	= 22,
};

/* LTTNG_OK, the ret_code of a successful reply. */
#define LH_RELAYD_RET_OK		10

#define LH_RELAYD_UUID_LEN		16

/*
 * Largest data_size + padding_size of one trace packet (data connection
 * or SEND_METADATA): lttng-relayd writes the padding as zeros, so this
 * bounds what one 32-byte header can make it write.
 */
#define LH_RELAYD_MAX_PACKET		(64U << 20)

/* Control message header: u64 circuit_id, u64 data_size, u32 cmd, u32 cmd_version. */
#define LH_RELAYD_CTRL_HDR_LEN		24
struct lh_relayd_ctrl_hdr {
	uint64_t circuit_id;
	uint64_t data_size;	/* payload bytes after the header */
	uint32_t cmd;
	uint32_t cmd_version;
};

/*
 * Data packet header: u64 circuit_id, u64 stream_id, u64 net_seq_num,
 * u32 data_size, u32 padding_size. Only data_size bytes follow it on the
 * wire; lttng-relayd adds the padding itself.
 */
#define LH_RELAYD_DATA_HDR_LEN		32
struct lh_relayd_data_hdr {
	uint64_t circuit_id;
	uint64_t stream_id;
	uint64_t net_seq_num;
	uint32_t data_size;
	uint32_t padding_size;
};

void lh_relayd_ctrl_hdr_decode(const uint8_t *in, struct lh_relayd_ctrl_hdr *hdr);
void lh_relayd_ctrl_hdr_encode(const struct lh_relayd_ctrl_hdr *hdr, uint8_t *out);
void lh_relayd_data_hdr_decode(const uint8_t *in, struct lh_relayd_data_hdr *hdr);
void lh_relayd_data_hdr_encode(const struct lh_relayd_data_hdr *hdr, uint8_t *out);

/* "CREATE_SESSION", or "unknown command". */
const char *lh_relayd_cmd_str(uint32_t cmd);

/* The reply lttng-relayd sends to a command, as relayd.c reads it. */
enum lh_relayd_reply {
	LH_RELAYD_REPLY_NONE,		/* SEND_METADATA */
	LH_RELAYD_REPLY_GENERIC,	/* u32 ret_code */
	LH_RELAYD_REPLY_VERSION,	/* u32 major, u32 minor */
	/* u64 session_id, u32 ret_code, u32 path_length, path: creates a session */
	LH_RELAYD_REPLY_CREATE_SESSION,
	/* u64 handle, u32 ret_code: creates a stream */
	LH_RELAYD_REPLY_ADD_STREAM,
	/* u32 ret_code, u32 path_length, path (only if ret_code is LTTNG_OK) */
	LH_RELAYD_REPLY_CLOSE_TRACE_CHUNK,
	LH_RELAYD_REPLY_TRACE_CHUNK_EXISTS,	/* u32 ret_code, u8 exists */
	LH_RELAYD_REPLY_GET_CONFIGURATION,	/* u32 ret_code, u64 flags */
};

/* The reply to cmd, into reply. Returns 0, or -1 for an unknown command. */
int lh_relayd_cmd_reply(uint32_t cmd, enum lh_relayd_reply *reply);

/* How to check and rewrite the control messages of one connection. */
struct lh_relayd_msg_ctx {
	/* Written in place of the guest's hostname: the VM name. */
	const char *hostname;
	/*
	 * A nested VM below it ("l2", "l2/l3"; NULL or "" for the VM
	 * itself): its sessions go under hostname/base_prefix/.
	 */
	const char *base_prefix;
	/*
	 * XORed into CREATE_SESSION's sessiond UUID. lttng-relayd finds
	 * trace chunks by (sessiond UUID, sessiond session id, chunk id): a
	 * secret key per VM keeps one guest from naming another's chunks.
	 */
	uint8_t uuid_key[LH_RELAYD_UUID_LEN];
	/* Negotiated minor; 0 until VERSION is answered (only VERSION passes). */
	uint32_t minor;
	/* Largest payload (data_size) accepted. */
	uint64_t max_payload;
};

/* What one checked control message refers to and expects. */
struct lh_relayd_msg_info {
	uint32_t cmd;
	enum lh_relayd_reply reply;
	/* VERSION: the minor forwarded to lttng-relayd, and the guest's own. */
	uint32_t version_minor;
	uint32_t guest_version_minor;
	/*
	 * CREATE_SESSION: the hostname the guest sent (a string inside the
	 * message given to lh_relayd_msg_filter(), valid while it lives).
	 */
	const char *guest_hostname;
	/* CREATE_SESSION: CTF 1.8 below minor 15, else what it says. */
	enum lh_relayd_trace_format trace_format;
	/* BEGIN/END_DATA_PENDING: the relay session it names. */
	bool has_session_ref;
	uint64_t session_ref;
	/*
	 * The relay streams it names: nr_stream_refs big-endian u64, the
	 * first at stream_refs, stream_ref_stride bytes apart, inside the
	 * message given to lh_relayd_msg_filter() (read them with
	 * lh_relayd_msg_stream_ref() while that message is alive).
	 */
	const uint8_t *stream_refs;
	size_t nr_stream_refs;
	size_t stream_ref_stride;
};

/*
 * Check a control header as soon as it arrives, before its payload is
 * buffered: a command a 2.11+ client sends at this point (VERSION first,
 * then no VERSION), with a payload within max_payload. Returns 0 or -1
 * with a reason in err.
 */
int lh_relayd_ctrl_hdr_check(const struct lh_relayd_msg_ctx *ctx,
		const struct lh_relayd_ctrl_hdr *hdr, char *err, size_t errlen);

/*
 * Check one complete control message (header and data_size payload
 * bytes, len in all) and append the form to forward to lttng-relayd to
 * out. Returns 0, or -1 with a reason in err (nothing appended); out of
 * memory is an error too.
 */
int lh_relayd_msg_filter(const struct lh_relayd_msg_ctx *ctx, const uint8_t *msg,
		size_t len, struct lh_buf *out, struct lh_relayd_msg_info *info,
		char *err, size_t errlen);
uint64_t lh_relayd_msg_stream_ref(const struct lh_relayd_msg_info *info, size_t i);

/* What a reply says. */
struct lh_relayd_reply_info {
	uint32_t ret_code;	/* all but VERSION */
	uint64_t id;		/* CREATE_SESSION: session id; ADD_STREAM: stream handle */
	uint32_t major;		/* VERSION */
	uint32_t minor;		/* VERSION */
};

/*
 * Parse the reply of kind at the head of buf (len bytes from
 * lttng-relayd). Returns its size once complete, 0 while incomplete, or
 * -1 with a reason in err if it is malformed.
 */
ssize_t lh_relayd_reply_parse(enum lh_relayd_reply kind, const uint8_t *buf,
		size_t len, struct lh_relayd_reply_info *info, char *err, size_t errlen);

/*
 * Append to out the reply of kind (len bytes, as lh_relayd_reply_parse()
 * measured it) with the path it carries, if any (CREATE_SESSION's and
 * CLOSE_TRACE_CHUNK's, under lttng-relayd's output), moved from host_dir,
 * the directory lttng-relayd made for the guest ("vm1", "l1/l2"), to
 * guest_dir (the guest's own hostname): a guest learns nothing of how the
 * host files it. A path outside host_dir keeps only its last component.
 * Other replies are appended unchanged. Returns 0, or -1 (out of memory,
 * or the new path is too long).
 */
int lh_relayd_reply_rewrite_path(enum lh_relayd_reply kind, const uint8_t *reply, size_t len,
		const char *host_dir, const char *guest_dir, struct lh_buf *out);

/*
 * VERSION reply: check lttng-relayd's version against the minor we
 * forwarded and set the negotiated minor, min(forwarded, relayd's, 15),
 * and the minor to show the guest, min(relayd's, 15), so both ends pick
 * the same. Returns 0 or -1 with err.
 */
int lh_relayd_version_negotiate(uint32_t forwarded_minor,
		const struct lh_relayd_reply_info *reply, uint32_t *negotiated,
		uint32_t *guest_minor, char *err, size_t errlen);
/* Write a VERSION body (8 bytes). */
void lh_relayd_version_encode(uint32_t major, uint32_t minor, uint8_t *out);

#endif /* LH_COMMON_RELAYD_MSG_H */
