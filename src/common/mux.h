/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The multiplexer: logical connections over one hyper channel.
 *
 * One lh_mux drives one channel fd. Each logical connection (lh_mux_conn)
 * joins a local socket (the guest's sessiond/consumerd connection, or the
 * host's connection to lttng-relayd) to a conn_id on the channel. The mux
 * does the generic work on both sides: the handshake, framing, credit flow
 * control, orderly and abortive close, pings, and stall detection.
 * Role-specific behaviour comes in through lh_mux_ops and per-connection
 * filters (the host relay parses the relayd protocol in a filter).
 *
 * Flow control: each side grants the other `window` bytes of DATA per
 * connection (announced in HELLO) and returns credit once the bytes have
 * left its queue for the local socket. So the channel reader never blocks
 * on one slow connection, a relayd control reply is never stuck behind
 * bulk data, and what one connection can make the other side hold is
 * bounded by the window.
 *
 * Ownership: the mux owns the channel fd and every connection's local fd,
 * and closes them. Callbacks may call any lh_mux function, and the owner
 * may lh_mux_destroy() the mux from on_channel_error (the mux touches
 * nothing after that call returns).
 */
#ifndef LH_COMMON_MUX_H
#define LH_COMMON_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lttng-hyper/frame.h>

#include "common/buffer.h"
#include "common/loop.h"
#include "common/mem-account.h"

struct lh_mux;
struct lh_mux_conn;

enum lh_mux_role {
	LH_MUX_GUEST,	/* opens connections, answers clock probes, pings */
	LH_MUX_HOST,	/* accepts connections, names the channel in HELLO */
};

/* What a filter did with the bytes it was given. */
enum lh_filter_verdict {
	LH_FILTER_PASS,		/* forward the bytes unchanged */
	LH_FILTER_CONSUMED,	/* the filter appended its own output to `out` (possibly nothing) */
	LH_FILTER_ERROR,	/* protocol violation: the whole channel is torn down */
	LH_FILTER_RESET,	/* violation confined to this connection: it alone is reset */
};

/*
 * A per-connection byte filter. The bytes of a connection arrive in
 * arbitrary pieces; a filter that needs whole messages keeps partial ones
 * itself. err receives a human-readable reason on LH_FILTER_ERROR.
 */
struct lh_mux_filter {
	/* Bytes from the peer, on their way to the local socket. */
	enum lh_filter_verdict (*from_peer)(struct lh_mux_conn *conn,
			const uint8_t *buf, size_t len, struct lh_buf *out,
			char *err, size_t errlen);
	/* Bytes from the local socket, on their way to the peer. May be NULL. */
	enum lh_filter_verdict (*from_local)(struct lh_mux_conn *conn,
			const uint8_t *buf, size_t len, struct lh_buf *out,
			char *err, size_t errlen);
	/* The connection is being freed. May be NULL. */
	void (*release)(struct lh_mux_conn *conn);
	/*
	 * Optional, both or neither: how many of the next bytes from the
	 * peer may reach the local socket without being shown to from_peer
	 * (e.g. the rest of a packet whose header was checked). The mux may
	 * then move up to that many without copying them, and reports each
	 * such move with peer_skipped; from_peer sees the bytes after them.
	 * Without these, from_peer sees every byte.
	 */
	uint64_t (*peer_skippable)(struct lh_mux_conn *conn);
	void (*peer_skipped)(struct lh_mux_conn *conn, uint64_t len);
};

struct lh_mux_ops {
	/* The handshake completed. On the guest, peer->name is the VM name the host gave. */
	void (*on_ready)(struct lh_mux *mux, const struct lttng_hyper_hello *peer);
	/*
	 * Host: the peer opens a connection of `kind` for VM `path` ("" is the
	 * channel's own VM). Return a non-blocking local fd, connected or with
	 * a connect in progress, or -1 to refuse (the peer gets RESET). The
	 * callback may attach a filter and private data to conn.
	 */
	int (*on_open)(struct lh_mux *mux, struct lh_mux_conn *conn,
			enum lttng_hyper_conn_kind kind, const char *path);
	/* A connection is gone; its fd is closed. Optional. */
	void (*on_conn_closed)(struct lh_mux *mux, struct lh_mux_conn *conn);
	/*
	 * The channel failed: EOF, I/O error, a protocol violation by the peer,
	 * or a stall. Every connection has been closed. `why` says what
	 * happened, for the log. The owner must destroy the mux.
	 */
	void (*on_channel_error)(struct lh_mux *mux, const char *why);
	/* Host: a CLOCK_REPLY arrived. Optional. */
	void (*on_clock_reply)(struct lh_mux *mux, const struct lttng_hyper_clock_reply *reply);
	/*
	 * Host: the guest relays the clock estimate of VM path (never "")
	 * it serves. Optional.
	 */
	void (*on_clock_estimate)(struct lh_mux *mux, const char *path,
			const struct lttng_hyper_clock_estimate *est);
};

struct lh_mux_config {
	enum lh_mux_role role;
	/* Log context, e.g. "vm=guest1" or "channel=unix:/run/x.sock". */
	const char *log_ctx;
	/* Host: the identity sent in HELLO (the VM name). Guest: NULL. */
	const char *vm_name;
	uint32_t window;		/* DATA credit we grant per connection */
	uint32_t max_frame;		/* largest frame length we accept */
	uint32_t data_chunk;		/* largest DATA frame we send */
	size_t out_high_water;		/* stop reading local fds above this */
	size_t out_hard_limit;		/* peer stalled/hostile above this */
	unsigned int max_conns;
	/*
	 * Guest: ping every ping_interval_ms; no frame from the host for
	 * stall_timeout_ms means it is gone. Host: a connection whose local
	 * socket makes no progress for stall_timeout_ms while data waits for
	 * it, or while it is marked waiting, is reset.
	 */
	uint64_t ping_interval_ms;
	uint64_t stall_timeout_ms;
	/* Accept frames that carry a VM path (nested forwarding). */
	bool allow_paths;
	/*
	 * Host: what the mux holds for the peer (queues, pipes, connections)
	 * is charged here; a refused charge fails the channel. NULL: none.
	 */
	struct lh_mem_account *mem;
};

/* Fill cfg with the defaults of defaults.h for role. */
void lh_mux_config_init(struct lh_mux_config *cfg, enum lh_mux_role role);

/*
 * Take over channel_fd (non-blocking, connected) and send HELLO. The
 * mux is ready (lh_mux_is_ready) once the peer's HELLO has arrived.
 * On failure (NULL) the caller still owns channel_fd.
 */
struct lh_mux *lh_mux_create(struct lh_loop *loop, int channel_fd,
		const struct lh_mux_config *cfg, const struct lh_mux_ops *ops, void *priv);
/* Close every connection and the channel fd, and free the mux. */
void lh_mux_destroy(struct lh_mux *mux);
bool lh_mux_is_ready(const struct lh_mux *mux);
void *lh_mux_get_priv(const struct lh_mux *mux);
const char *lh_mux_log_ctx(const struct lh_mux *mux);

/*
 * Guest: carry local fd (non-blocking) as a new logical connection of
 * kind. The mux owns fd from here on, even on failure. Returns NULL if the
 * channel is not ready or the connection limit is reached.
 */
struct lh_mux_conn *lh_mux_open(struct lh_mux *mux, enum lttng_hyper_conn_kind kind, int fd);
/*
 * The same for a connection of VM path (a VM this guest serves; NULL or
 * "" for its own); an invalid path (lttng_hyper_path_validate) is refused.
 */
struct lh_mux_conn *lh_mux_open_path(struct lh_mux *mux, enum lttng_hyper_conn_kind kind,
		int fd, const char *path);
/* Guest: the host announced LTTNG_HYPER_CAP_NESTED (it takes VM paths). */
bool lh_mux_peer_nested(const struct lh_mux *mux);
/*
 * Guest: relay the clock estimate of VM path upward. Estimates are the
 * latest value of a state, so one is dropped (-1) rather than queued
 * behind bulk data when the channel is backed up.
 */
int lh_mux_send_clock_estimate(struct lh_mux *mux, const char *path,
		const struct lttng_hyper_clock_estimate *est);

/*
 * Stop taking new data, send what is queued, then CLOSE every connection.
 * lh_mux_flushed() tells when the channel's queue is empty.
 */
void lh_mux_shutdown(struct lh_mux *mux);
bool lh_mux_flushed(const struct lh_mux *mux);

/* Host: send a clock probe. */
int lh_mux_send_clock_probe(struct lh_mux *mux, uint64_t seq, uint64_t host_ns);

struct lh_mux_stats {
	uint64_t bytes_from_peer;	/* DATA payload bytes received */
	uint64_t bytes_to_peer;		/* DATA payload bytes sent */
	uint64_t frames_from_peer;
	uint64_t frames_to_peer;
	unsigned int conns;
	size_t out_queued;		/* bytes waiting to go on the channel */
};
void lh_mux_get_stats(const struct lh_mux *mux, struct lh_mux_stats *stats);

/* Connections. */
uint32_t lh_mux_conn_id(const struct lh_mux_conn *conn);
enum lttng_hyper_conn_kind lh_mux_conn_kind(const struct lh_mux_conn *conn);
struct lh_mux *lh_mux_conn_mux(const struct lh_mux_conn *conn);
void lh_mux_conn_set_filter(struct lh_mux_conn *conn, const struct lh_mux_filter *filter);
void lh_mux_conn_set_priv(struct lh_mux_conn *conn, void *priv);
void *lh_mux_conn_get_priv(const struct lh_mux_conn *conn);
/*
 * Queue len bytes for the connection's local socket, after the peer's
 * bytes queued before them: a filter's own answer to its local side.
 * Returns 0, or -1 when out of memory (the channel then fails).
 */
int lh_mux_conn_queue_local(struct lh_mux_conn *conn, const void *buf, size_t len);
/*
 * Host: mark a connection as waiting for its local socket (a relayd reply
 * is due). A connection left waiting past stall_timeout_ms is reset.
 */
void lh_mux_conn_set_waiting(struct lh_mux_conn *conn, bool waiting);
/* Abort a connection: RESET to the peer, local fd closed. */
void lh_mux_conn_reset(struct lh_mux_conn *conn, enum lttng_hyper_reset_reason reason);
/* Abort every connection for which match() is true. */
void lh_mux_reset_conns(struct lh_mux *mux, bool (*match)(struct lh_mux_conn *conn, void *arg),
		void *arg, enum lttng_hyper_reset_reason reason);

#endif /* LH_COMMON_MUX_H */
