/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The multiplexer's insides, shared by its files and by nothing else:
 *
 *   mux.c          the mux's life cycle, its failure, the public API
 *   mux-conn.c     connections: lookup, creation, end, local socket watch
 *   mux-local.c    local sockets: reads onto the channel, the peer's bytes
 *                  delivered to them, filters
 *   mux-credit.c   flow control: credit taken, given back, received
 *   mux-tx.c       the channel's output queue
 *   mux-rx.c       the channel's read path, cut into frames
 *   mux-frame.c    frames from the peer: checks and handlers
 *   mux-splice.c   the splice data path: pipes, and moves through them
 *   mux-timer.c    periodic work
 *   mux-chan-io.c  every I/O call on the channel fd
 *
 * Data path: bulk DATA never enters user space. A local read is
 * splice()d into a pipe and, behind its frame header, from the pipe onto
 * the channel; a DATA body from the channel is spliced through a pipe of
 * its connection to the local socket, in the spans its filter lets pass
 * unseen. Where splice is not supported, or for bytes a filter inspects,
 * a channel read carries many frames and DATA for a local socket with
 * nothing queued is written straight from the input buffer; local reads
 * land behind a reserved header slot in the channel queue.
 */
#ifndef LH_COMMON_MUX_INTERNAL_H
#define LH_COMMON_MUX_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buffer.h"
#include "common/loop.h"
#include "common/mux.h"

/* Largest read from the channel at once. */
#define MUX_CHANNEL_READ	(256U << 10)
/* The smallest max_frame a peer may announce. */
#define MUX_MIN_PEER_FRAME	4096
#define MUX_WHY_LEN		512
/*
 * A local read that takes less than this is copied behind its header, so
 * that both go to the channel in one write: for a virtio-serial port, one
 * buffer and one notification of the host instead of two.
 */
#define MUX_SMALL_READ		4096

struct lh_mux_conn {
	struct lh_mux *mux;
	/* Live list; once closed, next links the list of conns to free. */
	struct lh_mux_conn *prev, *next;
	uint32_t id;
	enum lttng_hyper_conn_kind kind;
	int fd;
	/* NULL while parked after a hang-up, when there is nothing to do with the fd. */
	struct lh_watch *watch;
	/* From the peer, waiting for the local fd: first the pipe, then out. */
	int pipe[2];
	size_t pipe_len;
	bool splice_off;		/* the local fd refused splice */
	bool tx_bulk;			/* its last read was not small: splice the next */
	struct lh_buf out;
	struct lh_buf pend;		/* filtered local bytes waiting for credit */
	uint64_t send_credit;		/* DATA bytes we may still send */
	uint32_t recv_credit;		/* DATA bytes the peer may still send */
	uint32_t unreturned;		/* received, not yet given back as credit */
	const struct lh_mux_filter *filter;
	void *priv;
	uint64_t progress_ms;		/* last byte moved on the local fd */
	bool waiting;
	bool peer_closed;		/* CLOSE received: flush out, then close */
	bool local_eof;			/* EOF read: CLOSE once pend is sent */
	bool closed;
};

struct lh_mux {
	struct lh_loop *loop;
	int fd;
	struct lh_watch *watch;
	struct lh_mux_config cfg;
	const struct lh_mux_ops *ops;
	void *priv;
	char *log_ctx;
	char *vm_name;

	struct lttng_hyper_hello peer;
	bool ready;
	bool shutting_down;
	bool failed;
	bool reported;
	bool destroyed;
	/* A local reader was stopped because the channel queue is above high water. */
	bool out_blocked;
	/*
	 * Nesting of mux code on the stack. Conns and the mux itself are
	 * freed only when it drops to zero, so no caller is left holding a
	 * freed pointer after a callback.
	 */
	unsigned int depth;
	char why[MUX_WHY_LEN];

	struct lh_buf in;
	struct lh_buf out;
	struct lh_buf scratch;
	/*
	 * The DATA payload in tx_pipe goes on the channel right after the
	 * first tx_mark bytes of out (which end with its frame header).
	 */
	int tx_pipe[2];
	size_t tx_pipe_len;
	size_t tx_mark;
	bool tx_splice_off;
	/* The body of a DATA frame being received, and for which conn. */
	uint32_t rx_conn_id;
	uint32_t rx_left;
	/* Bodies are being spliced: read frame headers alone. */
	bool rx_bulk;
	bool rx_splice_off;
	struct lh_mux_conn *conns;
	struct lh_mux_conn *dead_conns;
	struct lh_mux_conn *last_conn;	/* lookup cache: DATA comes in runs */
	unsigned int nr_conns;
	/* Bumped when a conn closes: a walk over the list restarts. */
	unsigned int conn_gen;
	uint32_t highest_id;
	struct lh_timer *tick_timer;
	struct lh_timer *report_timer;
	uint64_t last_rx_ms;
	uint64_t ping_cookie;
	struct lh_mux_stats stats;
};

static inline bool mux_stopped(const struct lh_mux *mux)
{
	return mux->failed || mux->destroyed;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* splice() cannot move data between these two files: copy instead. */
static inline bool splice_unsupported(int err)
{
	return err == EINVAL || err == EOPNOTSUPP;
}

/* Bytes waiting to go on the channel, spliced ones included. */
static inline size_t mux_out_queued(const struct lh_mux *mux)
{
	return lh_buf_len(&mux->out) + mux->tx_pipe_len;
}

/* Bytes from the peer that wait for the local fd. */
static inline size_t conn_queued(const struct lh_mux_conn *conn)
{
	return conn->pipe_len + lh_buf_len(&conn->out);
}

/* mux.c */
void mux_enter(struct lh_mux *mux);
void mux_leave(struct lh_mux *mux, bool from_loop);
void mux_fail(struct lh_mux *mux, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* mux-conn.c */
const char *kind_str(enum lttng_hyper_conn_kind kind);
struct lh_mux_conn *conn_lookup(struct lh_mux *mux, uint32_t id);
struct lh_mux_conn *conn_new(struct lh_mux *mux, uint32_t id,
		enum lttng_hyper_conn_kind kind);
void conn_discard(struct lh_mux_conn *conn);
void conn_free(struct lh_mux_conn *conn);
void mux_free_dead_conns(struct lh_mux *mux);
void mux_close_all_conns(struct lh_mux *mux);
void conn_reset(struct lh_mux_conn *conn, enum lttng_hyper_reset_reason reason);
void conn_local_error(struct lh_mux_conn *conn, int err, const char *what);
void conn_update_events(struct lh_mux_conn *conn);
void conn_close_local(struct lh_mux_conn *conn);
void conn_start(struct lh_mux_conn *conn, int fd);

/* mux-local.c */
bool conn_rx_splices(const struct lh_mux_conn *conn);
bool conn_can_read(struct lh_mux_conn *conn);
void conn_flush_local(struct lh_mux_conn *conn);
void conn_read_local(struct lh_mux_conn *conn);
void conn_send_pending(struct lh_mux_conn *conn);
void conn_resume(struct lh_mux_conn *conn);
void conn_deliver(struct lh_mux_conn *conn, const uint8_t *buf, size_t len);

/* mux-credit.c */
void conn_return_credit(struct lh_mux_conn *conn, bool drained);
struct lh_mux_conn *data_accept(struct lh_mux *mux,
		const struct lttng_hyper_frame_header *hdr, uint32_t len);
void frame_credit(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *body, uint32_t len);

/* mux-tx.c */
void mux_flush_channel(struct lh_mux *mux);
void mux_kick(struct lh_mux *mux);
int mux_queue_path(struct lh_mux *mux, uint8_t type, uint32_t conn_id,
		const char *path, const void *body, size_t len);
int mux_queue(struct lh_mux *mux, uint8_t type, uint32_t conn_id,
		const void *body, size_t len);
void mux_send(struct lh_mux *mux, uint8_t type, uint32_t conn_id,
		const void *body, size_t len);
void mux_send_u32(struct lh_mux *mux, uint8_t type, uint32_t conn_id, uint32_t v);

/* mux-rx.c */
void mux_read_channel(struct lh_mux *mux);

/* mux-frame.c */
struct lh_mux_conn *frame_conn(struct lh_mux *mux,
		const struct lttng_hyper_frame_header *hdr);
bool mux_frame_check(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr);
void mux_frame(struct lh_mux *mux, const struct lttng_hyper_frame_header *hdr,
		const uint8_t *payload);

/* mux-splice.c */
int pipe_open(int fds[2], struct lh_mem_account *acct);
void pipe_close(int fds[2], struct lh_mem_account *acct, const char *log_ctx);
int buf_insert_from_pipe(struct lh_buf *buf, size_t at, int fd, size_t len);
ssize_t conn_flush_pipe(struct lh_mux_conn *conn);
ssize_t conn_splice_local(struct lh_mux_conn *conn, size_t max);
bool mux_splice_channel(struct lh_mux *mux, size_t *max);

/* mux-timer.c */
uint64_t mux_tick_interval(const struct lh_mux *mux);
void mux_tick_cb(struct lh_timer *timer, void *arg);

/*
 * mux-chan-io.c: the channel side of the data path. The I/O functions
 * return what the system call did (EINTR retried), errno set on -1.
 */
void mux_chan_setup(struct lh_mux *mux);
ssize_t mux_chan_read(struct lh_mux *mux, struct lh_buf *buf, size_t max);
ssize_t mux_chan_write(struct lh_mux *mux, const void *buf, size_t len);
ssize_t mux_chan_splice_from_pipe(struct lh_mux *mux, int pipe_fd, size_t len);
ssize_t mux_chan_splice_to_pipe(struct lh_mux *mux, int pipe_fd, size_t len);
void mux_chan_close(struct lh_mux *mux);

#endif /* LH_COMMON_MUX_INTERNAL_H */
