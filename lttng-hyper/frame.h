/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * lttng-hyper wire format: the framing carried over a hyper channel.
 *
 * A hyper channel is one reliable, ordered byte stream between a guest
 * agent (lttng-hyperd) and the host relay (lttng-hyper-relayd): a
 * virtio-serial port, a unix or TCP socket, a vsock. Frames multiplex any
 * number of logical connections over it. doc/protocol.md is the byte-level
 * specification; this header is its C rendering. All integers are
 * big-endian on the wire; the structs below hold host-order values and
 * are converted only by the encode/decode functions.
 */
#ifndef LTTNG_HYPER_FRAME_H
#define LTTNG_HYPER_FRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LTTNG_HYPER_PROTO_MAJOR		1
#define LTTNG_HYPER_PROTO_MINOR		0

#define LTTNG_HYPER_FRAME_MAGIC		0x4C48	/* "LH" */
#define LTTNG_HYPER_FRAME_HEADER_LEN	16
/* Largest "length" (VM path + body) a receiver ever accepts. */
#define LTTNG_HYPER_FRAME_MAX_LEN	(1U << 20)
/* Largest VM path ("vm1/vm2/..."), in bytes, no terminating NUL on the wire. */
#define LTTNG_HYPER_PATH_MAX_LEN	255
/* Largest channel identity (VM name) in HELLO. */
#define LTTNG_HYPER_NAME_MAX_LEN	64

enum lttng_hyper_frame_type {
	LTTNG_HYPER_FRAME_HELLO		= 1,	/* conn_id 0: handshake */
	LTTNG_HYPER_FRAME_OPEN		= 2,	/* open a logical connection */
	LTTNG_HYPER_FRAME_DATA		= 3,	/* bytes of a logical connection */
	LTTNG_HYPER_FRAME_CLOSE		= 4,	/* orderly close, after the data before it */
	LTTNG_HYPER_FRAME_RESET		= 5,	/* abortive close, queued data dropped */
	LTTNG_HYPER_FRAME_CREDIT	= 6,	/* grant more DATA bytes */
	LTTNG_HYPER_FRAME_PING		= 7,	/* conn_id 0: liveness probe */
	LTTNG_HYPER_FRAME_PONG		= 8,	/* conn_id 0: answer to PING */
	LTTNG_HYPER_FRAME_CLOCK_PROBE	= 9,	/* conn_id 0: reserved for clock sync */
	LTTNG_HYPER_FRAME_CLOCK_REPLY	= 10,	/* conn_id 0: reserved for clock sync */
	LTTNG_HYPER_FRAME_CLOCK_ESTIMATE = 11,	/* conn_id 0: a nested VM's clock, measured below */
};
#define LTTNG_HYPER_FRAME_TYPE_MAX	LTTNG_HYPER_FRAME_CLOCK_ESTIMATE

/* Kind of a logical connection: which lttng-relayd port it stands for. */
enum lttng_hyper_conn_kind {
	LTTNG_HYPER_CONN_CONTROL	= 1,
	LTTNG_HYPER_CONN_DATA		= 2,
};

/* Capability bits exchanged in HELLO. */
#define LTTNG_HYPER_CAP_CLOCK_SYNC	(1U << 0)
#define LTTNG_HYPER_CAP_NESTED		(1U << 1)

/* Reason codes carried by RESET. */
enum lttng_hyper_reset_reason {
	LTTNG_HYPER_RESET_UNSPEC	= 0,
	LTTNG_HYPER_RESET_REFUSED	= 1,	/* peer could not open the connection */
	LTTNG_HYPER_RESET_PROTOCOL	= 2,	/* protocol violation on this connection */
	LTTNG_HYPER_RESET_TIMEOUT	= 3,	/* the far end stalled */
	LTTNG_HYPER_RESET_SHUTDOWN	= 4,	/* daemon shutting down */
	LTTNG_HYPER_RESET_LIMIT		= 5,	/* a resource limit was reached */
};

/* Errors returned (negated) by the decoders. */
enum lttng_hyper_error {
	LTTNG_HYPER_OK			= 0,
	LTTNG_HYPER_ERR_MAGIC		= 1,
	LTTNG_HYPER_ERR_TYPE		= 2,
	LTTNG_HYPER_ERR_LENGTH		= 3,	/* too large, or inconsistent */
	LTTNG_HYPER_ERR_RESERVED	= 4,	/* a reserved field is not zero */
	LTTNG_HYPER_ERR_PATH		= 5,	/* malformed VM path */
	LTTNG_HYPER_ERR_TRUNCATED	= 6,	/* body shorter than its type needs */
	LTTNG_HYPER_ERR_VERSION		= 7,
};

/*
 * Frame header, 16 bytes on the wire:
 *   u16 magic, u8 type, u8 flags (0), u32 conn_id,
 *   u32 length (bytes after the header: path_len bytes of VM path,
 *   then the body), u16 path_len, u16 reserved (0).
 */
struct lttng_hyper_frame_header {
	uint8_t type;
	uint8_t flags;
	uint32_t conn_id;
	uint32_t length;
	uint16_t path_len;
};

/* HELLO body. */
struct lttng_hyper_hello {
	uint16_t major;
	uint16_t minor;
	uint32_t caps;
	uint32_t max_frame;	/* largest frame "length" the sender accepts */
	uint32_t window;	/* initial DATA credit per connection, bytes */
	uint8_t name_len;	/* host: the VM name it gave this channel; guest: 0 */
	char name[LTTNG_HYPER_NAME_MAX_LEN + 1];	/* NUL-terminated in memory */
};
#define LTTNG_HYPER_HELLO_FIXED_LEN	17	/* body bytes before the name */

/* OPEN body: u8 kind, u8[3] reserved. */
#define LTTNG_HYPER_OPEN_LEN		4
/* CREDIT body: u32 bytes granted. */
#define LTTNG_HYPER_CREDIT_LEN		4
/* RESET body: u32 reason. */
#define LTTNG_HYPER_RESET_LEN		4
/* PING/PONG body: u64 cookie. */
#define LTTNG_HYPER_PING_LEN		8

/*
 * CLOCK_PROBE body (host to guest): u64 seq, u64 host_send_ns.
 * CLOCK_REPLY body (guest to host): u64 seq, u64 host_send_ns (echoed),
 * u64 guest_ns (CLOCK_MONOTONIC when the probe was read), u32 clock_id
 * (1 = CLOCK_MONOTONIC), u32 reserved.
 */
#define LTTNG_HYPER_CLOCK_PROBE_LEN	16
#define LTTNG_HYPER_CLOCK_REPLY_LEN	32
struct lttng_hyper_clock_reply {
	uint64_t seq;
	uint64_t host_send_ns;
	uint64_t guest_ns;
	uint32_t clock_id;
};

/*
 * CLOCK_ESTIMATE body (guest to host, with the VM path of a VM the guest
 * serves, directly or further down): how that VM's clock maps to its
 * parent's, as the parent measured it (the parent is the VM one level up
 * the path, or the sender itself for a one-name path):
 *   parent_ns(c) = ref_parent_ns + (c - ref_child_ns) * (1 + drift),
 * u64 ref_child_ns, u64 ref_parent_ns, s64 drift_fs (drift in units of
 * 1e-15), u64 error_ns, u64 min_rtt_ns, u64 first_child_ns,
 * u64 last_child_ns (the sampled span), u32 samples, u16 used,
 * u8 method, u8 reserved (0).
 */
#define LTTNG_HYPER_CLOCK_ESTIMATE_LEN	64
/* A drift beyond 1000 ppm is no clock worth correcting. */
#define LTTNG_HYPER_CLOCK_MAX_DRIFT_FS	1000000000000LL

enum lttng_hyper_clock_method {
	LTTNG_HYPER_CLOCK_METHOD_OTHER		= 0,
	LTTNG_HYPER_CLOCK_METHOD_CONVEX_HULL	= 1,
	LTTNG_HYPER_CLOCK_METHOD_MIN_RTT	= 2,
};

struct lttng_hyper_clock_estimate {
	uint64_t ref_child_ns;
	uint64_t ref_parent_ns;
	int64_t drift_fs;
	uint64_t error_ns;
	uint64_t min_rtt_ns;
	uint64_t first_child_ns;
	uint64_t last_child_ns;
	uint32_t samples;
	uint16_t used;
	uint8_t method;
};

/* Encode a header into exactly LTTNG_HYPER_FRAME_HEADER_LEN bytes. */
void lttng_hyper_frame_header_encode(const struct lttng_hyper_frame_header *hdr,
		uint8_t *out);
/*
 * Decode and validate a header: magic, known type, reserved fields zero,
 * path_len <= length, path_len <= LTTNG_HYPER_PATH_MAX_LEN and
 * length <= max_len. Returns 0 or a negated enum lttng_hyper_error.
 */
int lttng_hyper_frame_header_decode(const uint8_t *in, uint32_t max_len,
		struct lttng_hyper_frame_header *hdr);

/*
 * A VM path is one or more names joined by '/'. Each name is 1 to
 * LTTNG_HYPER_NAME_MAX_LEN bytes of [A-Za-z0-9_-], not starting with '-';
 * the whole path is at most LTTNG_HYPER_PATH_MAX_LEN bytes.
 * Returns 0 or -LTTNG_HYPER_ERR_PATH.
 */
int lttng_hyper_path_validate(const char *path, size_t len);
/* Same rule for one name (a VM name as configured, or in HELLO). */
int lttng_hyper_name_validate(const char *name, size_t len);

/*
 * Body codecs. Encoders return the number of bytes written to out.
 * Decoders want the exact body size: shorter is -LTTNG_HYPER_ERR_TRUNCATED,
 * longer -LTTNG_HYPER_ERR_LENGTH.
 */
size_t lttng_hyper_hello_encode(const struct lttng_hyper_hello *hello, uint8_t *out);
int lttng_hyper_hello_decode(const uint8_t *body, size_t len, struct lttng_hyper_hello *hello);
size_t lttng_hyper_u32_encode(uint32_t v, uint8_t *out);
int lttng_hyper_u32_decode(const uint8_t *body, size_t len, uint32_t *v);
size_t lttng_hyper_u64_encode(uint64_t v, uint8_t *out);	/* PING/PONG cookie */
int lttng_hyper_u64_decode(const uint8_t *body, size_t len, uint64_t *v);
size_t lttng_hyper_open_encode(enum lttng_hyper_conn_kind kind, uint8_t *out);
int lttng_hyper_open_decode(const uint8_t *body, size_t len, enum lttng_hyper_conn_kind *kind);
size_t lttng_hyper_clock_probe_encode(uint64_t seq, uint64_t host_send_ns, uint8_t *out);
int lttng_hyper_clock_probe_decode(const uint8_t *body, size_t len, uint64_t *seq,
		uint64_t *host_send_ns);
size_t lttng_hyper_clock_reply_encode(const struct lttng_hyper_clock_reply *r, uint8_t *out);
int lttng_hyper_clock_reply_decode(const uint8_t *body, size_t len, struct lttng_hyper_clock_reply *r);
/*
 * The decoder also refuses what no measurement yields: a drift beyond
 * LTTNG_HYPER_CLOCK_MAX_DRIFT_FS, a span that ends before it starts, more
 * samples used than kept (-LTTNG_HYPER_ERR_LENGTH).
 */
size_t lttng_hyper_clock_estimate_encode(const struct lttng_hyper_clock_estimate *e,
		uint8_t *out);
int lttng_hyper_clock_estimate_decode(const uint8_t *body, size_t len,
		struct lttng_hyper_clock_estimate *e);

const char *lttng_hyper_frame_type_str(uint8_t type);
const char *lttng_hyper_error_str(int err);

#ifdef __cplusplus
}
#endif

#endif /* LTTNG_HYPER_FRAME_H */
