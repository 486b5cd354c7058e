/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A VM's data port (data-port.h, doc/output-hyper.md): the relayd data
 * frames a guest's lttng-consumerd writes straight into a port of its
 * own, routed by stream id to lttng-relayd data connections the relay
 * opens itself, one per session.
 *
 * Each frame's header is read alone and checked (port-frame.h, and the
 * VM's streams in vm-state.c) before one byte of the frame goes on. Then
 * the header is written to its session's connection and the payload is
 * spliced from the port through a pipe to it. The port is read only
 * while the pipe is empty: a port holds one pipe of the relay's memory,
 * and a slow lttng-relayd slows the guest down. Where splice() does not
 * work, a buffer of the same size carries the payload instead.
 *
 * lttng-relayd binds a data connection to the session of its first
 * frame, and ends that session when the connection closes. So a session
 * gets its connection at its first frame, and keeps it until the session
 * is over: its control connection is gone and the frames its closed
 * streams announced have come (filter.c), or the VM's channel is down.
 * Connections belong to the port, not to one connection of it, so that
 * the frames of a guest that reconnects go on in order.
 *
 * A bad frame closes this port's connection (the guest reconnects, or
 * the relay connects again, with back-off): the VM's channel, its other
 * ports and the other VMs go on, and every frame before it stays written.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/endpoint.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/port-frame.h"
#include "common/relayd-msg.h"
#include "data-port.h"
#include "vm-state.h"

/* Payload bytes held at once for a port: the pipe, or the copy buffer. */
#define PORT_STAGE_SIZE		(1U << 20)
/* Bytes read from a port per wake-up, so that one busy port lets the others run. */
#define PORT_BUDGET		(4U << 20)
#define PORT_WHY_LEN		512

/* An lttng-relayd data connection of one session. */
struct upstream {
	struct lh_data_port *port;
	uint64_t session_id;
	int fd;				/* -1: lost; the session's frames are dropped */
	struct lh_watch *watch;
	uint64_t frames;
	uint64_t bytes;
	struct upstream *next;
};

struct lh_data_port {
	struct lh_loop *loop;
	struct lh_data_port_vm vm;	/* what it needs of its VM */
	struct lh_data_port_config cfg;
	const char *log_ctx;
	char label[sizeof("data port ") + 600];	/* "data port unix:/run/vm1-data.sock" */
	struct lh_endpoint *ep;
	struct upstream *ups;
	struct lh_timer *kick;		/* a pump to run from the loop */
	/* The current connection of the port; fd -1 when there is none. */
	int fd;
	struct lh_watch *watch;		/* NULL while an upstream write waits */
	uint64_t conn_ms;
	uint64_t frames;		/* whole frames read on it */
	uint64_t bytes;			/* bytes read on it */
	/* The frame being read. */
	uint8_t hdr[LH_RELAYD_DATA_HDR_LEN];
	size_t hdr_len;			/* header bytes read */
	bool in_frame;			/* its header passed: the frame is on its way */
	struct lh_relayd_data_hdr cur;
	struct upstream *up;		/* where it goes; NULL: the rest is dropped */
	size_t hdr_sent;		/* header bytes written to up */
	uint64_t left;			/* payload bytes not read from the port yet */
	uint64_t sent;			/* payload bytes written to up */
	/* Payload read and not written yet: in the pipe, or in buf from buf_off. */
	size_t staged;
	int pipe[2];
	bool splice_off;		/* splice() failed: copy through buf */
	uint8_t *buf;
	size_t buf_off;
};

static void port_pump(struct lh_data_port *port);
static void stage_drop(struct lh_data_port *port);

static void close_fd(struct lh_data_port *port, int fd, const char *what)
{
	if (close(fd) < 0) {
		lh_log_errno(port->log_ctx, "close %s", what);
	}
}

/* splice() cannot move data between these two files: copy instead. */
static bool splice_unsupported(int err)
{
	return err == EINVAL || err == EOPNOTSUPP;
}

static bool would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK;
}

static void pipe_close(struct lh_data_port *port)
{
	int i;

	if (port->pipe[0] >= 0) {
		lh_mem_uncharge(port->vm.mem, PORT_STAGE_SIZE);
	}
	for (i = 0; i < 2; i++) {
		if (port->pipe[i] >= 0) {
			close_fd(port, port->pipe[i], "pipe");
		}
		port->pipe[i] = -1;
	}
}

/* Stop reading the port until the connection being written takes more. */
static void port_watch_off(struct lh_data_port *port)
{
	if (port->watch) {
		/* Removed, not muted: a hung-up socket reports EPOLLHUP whatever we ask. */
		lh_watch_remove(port->watch);
		port->watch = NULL;
	}
}

static void port_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg);

static int port_watch_on(struct lh_data_port *port)
{
	if (port->watch || port->fd < 0) {
		return 0;
	}
	port->watch = lh_loop_watch(port->loop, port->fd, EPOLLIN, port_cb, port);
	return port->watch ? 0 : -1;
}

static void upstream_free(struct lh_data_port *port, struct upstream *up)
{
	struct upstream **pp;

	for (pp = &port->ups; *pp; pp = &(*pp)->next) {
		if (*pp == up) {
			*pp = up->next;
			break;
		}
	}
	if (up->watch) {
		lh_watch_remove(up->watch);
	}
	if (up->fd >= 0) {
		close_fd(port, up->fd, "lttng-relayd data connection");
	}
	if (port->up == up) {
		port->up = NULL;
	}
	free(up);
}

/* Close a session's connection; its session ended, or is made to end. */
static void upstream_close(struct lh_data_port *port, struct upstream *up, const char *why)
{
	INFO_CTX(port->log_ctx, "%s: data connection of session %" PRIu64 " to lttng-relayd closed (%s): %" PRIu64 " frames, %" PRIu64 " bytes",
		port->label, up->session_id, why, up->frames, up->bytes);
	upstream_free(port, up);
}

/*
 * lttng-relayd closed a connection, or a write to it failed: the session
 * is over on its side. Its frames are dropped from now on; what waits
 * for the connection goes too.
 */
static void upstream_lost(struct lh_data_port *port, struct upstream *up, const char *why)
{
	WARN_CTX(port->log_ctx, "%s: data connection of session %" PRIu64 " to lttng-relayd lost (%s) after %" PRIu64 " frames: the session's frames are dropped",
		port->label, up->session_id, why, up->frames);
	if (up->watch) {
		lh_watch_remove(up->watch);
		up->watch = NULL;
	}
	close_fd(port, up->fd, "lttng-relayd data connection");
	up->fd = -1;
	if (port->up == up) {
		port->up = NULL;
	}
}

static void upstream_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	struct upstream *up = arg;
	struct lh_data_port *port = up->port;
	char why[128];
	uint8_t byte;
	ssize_t n;

	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		/* lttng-relayd never writes on a data connection: this is its end. */
		n = recv(fd, &byte, sizeof(byte), MSG_DONTWAIT);
		if (n < 0 && would_block(errno)) {
			return;
		}
		snprintf(why, sizeof(why), "%s", n < 0 ? strerror(errno) :
			n == 0 ? "closed by lttng-relayd" : "lttng-relayd wrote to it");
		upstream_lost(port, up, why);
	} else if (lh_watch_set_events(watch, EPOLLIN) < 0) {
		upstream_lost(port, up, "cannot watch it");
	}
	/* The port may have waited for it: go on, or drop the rest of the frame. */
	port_pump(port);
}

/*
 * Wait for the connection being written to take more, and stop reading
 * the port meanwhile. Returns 0, or -1 when the connection is lost.
 */
static int upstream_wait(struct lh_data_port *port)
{
	if (lh_watch_set_events(port->up->watch, EPOLLIN | EPOLLOUT) < 0) {
		upstream_lost(port, port->up, "cannot watch it");
		return -1;
	}
	port_watch_off(port);
	return 0;
}

/* The session's connection, opened at its first frame. */
static struct upstream *upstream_get(struct lh_data_port *port, uint64_t session_id)
{
	const struct lh_relayd_target *relayd = port->cfg.relayd;
	struct upstream *up;

	for (up = port->ups; up; up = up->next) {
		if (up->session_id == session_id) {
			return up;
		}
	}
	up = calloc(1, sizeof(*up));
	if (!up) {
		PERROR("calloc");
		return NULL;
	}
	up->port = port;
	up->session_id = session_id;
	up->fd = lttng_hyper_tcp_connect(relayd->data_host, relayd->data_port);
	if (up->fd < 0) {
		WARN_CTX(port->log_ctx, "%s: cannot connect to lttng-relayd at %s:%u for session %" PRIu64 ": %s: the session's frames are dropped",
			port->label, relayd->data_host, relayd->data_port, session_id,
			strerror(errno));
	} else {
		up->watch = lh_loop_watch(port->loop, up->fd, EPOLLIN, upstream_cb, up);
		if (!up->watch) {
			ERR_CTX(port->log_ctx, "%s: cannot watch a connection to lttng-relayd: the frames of session %" PRIu64 " are dropped",
				port->label, session_id);
			close_fd(port, up->fd, "lttng-relayd data connection");
			up->fd = -1;
		} else {
			DBG_CTX(port->log_ctx, "%s: data connection of session %" PRIu64 " to lttng-relayd at %s:%u",
				port->label, session_id, relayd->data_host, relayd->data_port);
		}
	}
	up->next = port->ups;
	port->ups = up;
	return up;
}

/* Forget the frame being read; what is staged of it goes. */
static void frame_reset(struct lh_data_port *port)
{
	port->hdr_len = 0;
	port->in_frame = false;
	port->up = NULL;
	port->hdr_sent = 0;
	port->left = 0;
	port->sent = 0;
	stage_drop(port);
}

/* Why a port's connection ends, for its log lines. */
enum port_end {
	PORT_END_QUIET,		/* the guest closed it, or the relay stops */
	PORT_END_FAULT,		/* a bad frame: the relay closes it */
	PORT_END_CUT,		/* the guest closed it in the middle of a frame */
};

/*
 * Close the port's connection. A fault is logged with its reason; a frame
 * cut short takes its session's data connection with it, since
 * lttng-relayd would read the next bytes as the rest of that frame.
 */
static void port_close(struct lh_data_port *port, enum port_end end, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void port_close(struct lh_data_port *port, enum port_end end, const char *fmt, ...)
{
	struct lh_relay_vm_state *state = port->vm.state(port->vm.vm);
	char why[PORT_WHY_LEN];
	va_list ap;

	if (port->fd < 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (end == PORT_END_FAULT) {
		WARN_CTX(port->log_ctx, "%s: %s: closing the port", port->label, why);
	} else if (end == PORT_END_CUT) {
		WARN_CTX(port->log_ctx, "%s: %s", port->label, why);
	}
	INFO_CTX(port->log_ctx, "%s down after %.1f s%s%s: %" PRIu64 " frames, %" PRIu64 " bytes from the guest",
		port->label, (double) (lh_now_ms() - port->conn_ms) / 1000.0,
		end == PORT_END_QUIET ? ", " : "", end == PORT_END_QUIET ? why : "",
		port->frames, port->bytes);
	if (port->in_frame && port->up && (port->hdr_sent || port->sent || port->staged)) {
		if (state) {
			lh_relay_port_frame_cut(state, port->cur.stream_id);
		}
		upstream_close(port, port->up, "a frame of it was cut");
	}
	frame_reset(port);
	port_watch_off(port);
	close_fd(port, port->fd, "data port");
	port->fd = -1;
	lh_endpoint_conn_lost(port->ep);
}

/* The port's end came: at a frame boundary it is the guest's to close. */
static void port_eof(struct lh_data_port *port, int err)
{
	char how[128];

	snprintf(how, sizeof(how), "%s", err ? strerror(err) : "closed by the guest");
	if (port->in_frame) {
		port_close(port, PORT_END_CUT, "%s in the middle of a frame for stream %" PRIu64 " (%" PRIu64 " of %" PRIu32 " bytes)",
			how, port->cur.stream_id, (uint64_t) port->cur.data_size - port->left,
			port->cur.data_size);
	} else if (port->hdr_len) {
		port_close(port, PORT_END_CUT, "%s in the middle of a frame header (%zu of %d bytes)",
			how, port->hdr_len, LH_RELAYD_DATA_HDR_LEN);
	} else {
		port_close(port, PORT_END_QUIET, "%s", how);
	}
}

/* A whole header came: check it, and start the frame on its way. Returns 0 or -1 (closed). */
static int frame_begin(struct lh_data_port *port)
{
	struct lh_relay_vm_state *state = port->vm.state(port->vm.vm);
	char err[PORT_WHY_LEN];
	uint64_t session_id;

	lh_relayd_data_hdr_decode(port->hdr, &port->cur);
	if (lh_port_frame_hdr_check(&port->cur, port->cfg.max_frame, err, sizeof(err)) < 0) {
		port_close(port, PORT_END_FAULT, "%s", err);
		return -1;
	}
	if (!state) {
		port_close(port, PORT_END_FAULT, "frame for stream %" PRIu64 " while this VM's channel is down",
			port->cur.stream_id);
		return -1;
	}
	if (lh_relay_port_frame_check(state, &port->cur, &session_id, err, sizeof(err)) < 0) {
		port_close(port, PORT_END_FAULT, "%s", err);
		return -1;
	}
	port->in_frame = true;
	port->up = upstream_get(port, session_id);
	if (port->up && port->up->fd < 0) {
		port->up = NULL;
	}
	port->hdr_sent = 0;
	port->left = port->cur.data_size;
	port->sent = 0;
	return 0;
}

/* The frame went whole: count it; its session may be over now. */
static void frame_end(struct lh_data_port *port)
{
	struct lh_relay_vm_state *state = port->vm.state(port->vm.vm);
	struct upstream *up = port->up;

	port->frames++;
	if (port->frames == 1) {
		/* The guest speaks the protocol: a later outage starts a short back-off. */
		lh_endpoint_peer_alive(port->ep);
	}
	frame_reset(port);
	if (!up || !state) {
		return;
	}
	up->frames++;
	up->bytes += LH_RELAYD_DATA_HDR_LEN + (uint64_t) port->cur.data_size;
	/* cur stays until the next header. */
	lh_relay_port_frame_done(state, &port->cur);
	if (!lh_relay_port_session_live(state, up->session_id)) {
		upstream_close(port, up, "its session ended");
	}
}

/* Read header bytes. Returns 1 (frame begun), 0 (wait for the port), -1 (closed). */
static int read_header(struct lh_data_port *port)
{
	ssize_t n;

	do {
		n = read(port->fd, port->hdr + port->hdr_len, sizeof(port->hdr) - port->hdr_len);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && would_block(errno)) {
		return 0;
	}
	if (n <= 0) {
		port_eof(port, n < 0 ? errno : 0);
		return -1;
	}
	port->bytes += (uint64_t) n;
	port->hdr_len += (size_t) n;
	if (port->hdr_len < sizeof(port->hdr)) {
		return 0;
	}
	return frame_begin(port) < 0 ? -1 : 1;
}

/* Write the rest of the header. Returns 1 (progress), 0 (wait for it), -1 (lost). */
static int send_header(struct lh_data_port *port)
{
	struct upstream *up = port->up;
	int flags = MSG_NOSIGNAL | MSG_DONTWAIT;
	ssize_t n;

	/* The payload follows at once: one segment for both, when it fits. */
	if (port->cur.data_size) {
		flags |= MSG_MORE;
	}
	do {
		n = send(up->fd, port->hdr + port->hdr_sent, sizeof(port->hdr) - port->hdr_sent,
			flags);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && would_block(errno)) {
		return upstream_wait(port);
	}
	if (n < 0) {
		upstream_lost(port, up, strerror(errno));
		return -1;
	}
	port->hdr_sent += (size_t) n;
	return 1;
}

/* What the pipe can hold is charged to the VM's account. */
static int pipe_open(struct lh_data_port *port)
{
	if (lh_mem_charge(port->vm.mem, PORT_STAGE_SIZE) < 0) {
		return -1;
	}
	if (pipe2(port->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		lh_mem_uncharge(port->vm.mem, PORT_STAGE_SIZE);
		port->pipe[0] = port->pipe[1] = -1;
		return -1;
	}
	/* A smaller pipe only costs more splice calls (the size is capped for non-root). */
	(void) fcntl(port->pipe[0], F_SETPIPE_SZ, PORT_STAGE_SIZE);
	return 0;
}

/* The copy buffer, for when splice() cannot serve: made at its first use. */
static int stage_buf(struct lh_data_port *port)
{
	if (!port->buf) {
		if (lh_mem_charge(port->vm.mem, PORT_STAGE_SIZE) < 0) {
			return -1;
		}
		port->buf = malloc(PORT_STAGE_SIZE);
		if (!port->buf) {
			lh_mem_uncharge(port->vm.mem, PORT_STAGE_SIZE);
			errno = ENOMEM;
			return -1;
		}
	}
	return 0;
}

/* Read payload into the stage. Returns what read or splice did (-1 with errno). */
static ssize_t stage_fill(struct lh_data_port *port, size_t max)
{
	ssize_t n;

	if (!port->splice_off) {
		if (port->pipe[0] < 0 && pipe_open(port) < 0) {
			lh_log_errno(port->log_ctx, "%s: creating a pipe: copying instead",
				port->label);
			port->splice_off = true;
		} else {
			do {
				n = splice(port->fd, NULL, port->pipe[1], NULL, max,
					SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			} while (n < 0 && errno == EINTR);
			if (n >= 0 || !splice_unsupported(errno)) {
				return n;
			}
			DBG_CTX(port->log_ctx, "%s: splice from the port not supported: copying",
				port->label);
			port->splice_off = true;
			pipe_close(port);
		}
	}
	if (stage_buf(port) < 0) {
		return -1;
	}
	do {
		n = read(port->fd, port->buf, max);
	} while (n < 0 && errno == EINTR);
	port->buf_off = 0;
	return n;
}

/* Move the pipe's bytes into buf, when they cannot be spliced where they go. */
static int stage_unpipe(struct lh_data_port *port)
{
	size_t done = 0;
	ssize_t n;

	if (stage_buf(port) < 0) {
		return -1;
	}
	while (done < port->staged) {
		n = read(port->pipe[0], port->buf + done, port->staged - done);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return -1;
		}
		done += (size_t) n;
	}
	port->buf_off = 0;
	port->splice_off = true;
	pipe_close(port);
	return 0;
}

static void stage_drop(struct lh_data_port *port)
{
	if (!port->splice_off) {
		/* The pipe holds the bytes: a fresh one is simpler than draining it. */
		pipe_close(port);
	}
	port->staged = 0;
	port->buf_off = 0;
}

/* Write the stage to up. Returns what splice or send did (-1 with errno). */
static ssize_t stage_write(struct lh_data_port *port, struct upstream *up)
{
	ssize_t n;

	if (!port->splice_off) {
		do {
			n = splice(port->pipe[0], NULL, up->fd, NULL, port->staged,
				SPLICE_F_MOVE | SPLICE_F_NONBLOCK |
				(port->left ? SPLICE_F_MORE : 0));
		} while (n < 0 && errno == EINTR);
		if (n >= 0 || !splice_unsupported(errno)) {
			return n;
		}
		DBG_CTX(port->log_ctx, "%s: splice to lttng-relayd not supported: copying",
			port->label);
		if (stage_unpipe(port) < 0) {
			errno = EIO;
			return -1;
		}
	}
	do {
		n = send(up->fd, port->buf + port->buf_off, port->staged,
			MSG_NOSIGNAL | MSG_DONTWAIT | (port->left ? MSG_MORE : 0));
	} while (n < 0 && errno == EINTR);
	return n;
}

/*
 * Write the stage to the frame's connection, or drop it when there is
 * none. Returns 1 (progress), 0 (wait for the connection), -1 (lost).
 */
static int stage_drain(struct lh_data_port *port)
{
	struct upstream *up = port->up;
	ssize_t n;

	if (!up) {
		stage_drop(port);
		return 1;
	}
	n = stage_write(port, up);
	if (n < 0 && would_block(errno)) {
		return upstream_wait(port);
	}
	if (n <= 0) {
		upstream_lost(port, up, n < 0 ? strerror(errno) : "it took nothing");
		return -1;
	}
	port->staged -= (size_t) n;
	port->buf_off += (size_t) n;
	port->sent += (uint64_t) n;
	return 1;
}

/*
 * Move frames from the port to lttng-relayd until one side would block,
 * or the port had its share of this wake-up.
 */
static void port_pump(struct lh_data_port *port)
{
	uint64_t budget = PORT_BUDGET;
	ssize_t n;

	while (port->fd >= 0) {
		if (!port->in_frame) {
			if (!budget) {
				break;
			}
			if (read_header(port) <= 0) {
				break;
			}
			budget -= budget < LH_RELAYD_DATA_HDR_LEN ? budget : LH_RELAYD_DATA_HDR_LEN;
			continue;
		}
		/* 0 from these: wait for lttng-relayd, the port unwatched meanwhile. */
		if (port->up && port->hdr_sent < sizeof(port->hdr)) {
			if (send_header(port) == 0) {
				return;
			}
			continue;
		}
		if (port->staged) {
			if (stage_drain(port) == 0) {
				return;
			}
			continue;
		}
		if (port->left) {
			if (!budget) {
				break;
			}
			n = stage_fill(port, port->left < PORT_STAGE_SIZE ?
				(size_t) port->left : PORT_STAGE_SIZE);
			if (n < 0 && would_block(errno)) {
				break;
			}
			if (n <= 0) {
				port_eof(port, n < 0 ? errno : 0);
				return;
			}
			port->staged = (size_t) n;
			port->left -= (uint64_t) n;
			port->bytes += (uint64_t) n;
			budget -= budget < (uint64_t) n ? budget : (uint64_t) n;
			continue;
		}
		frame_end(port);
	}
	/* Waiting for the port: read it again. */
	if (port->fd >= 0 && port_watch_on(port) < 0) {
		port_close(port, PORT_END_QUIET, "cannot watch it");
	}
}

static void port_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	port_pump(arg);
}

/* A new connection of the port (endpoint.h): it replaces the current one. */
static int endpoint_conn_cb(struct lh_endpoint *ep, int fd, void *arg)
{
	struct lh_data_port *port = arg;

	if (port->fd >= 0) {
		if (port->in_frame || port->hdr_len) {
			port_close(port, PORT_END_CUT, "a new connection replaces it in the middle of a frame");
		} else {
			port_close(port, PORT_END_QUIET, "a new connection replaces it");
		}
	}
	port->fd = fd;
	port->conn_ms = lh_now_ms();
	port->frames = 0;
	port->bytes = 0;
	frame_reset(port);
	if (port_watch_on(port) < 0) {
		ERR_CTX(port->log_ctx, "%s: cannot watch its connection", port->label);
		close_fd(port, fd, "data port");
		port->fd = -1;
		return -1;
	}
	INFO_CTX(port->log_ctx, "%s up", port->label);
	return 0;
}

struct lh_data_port *lh_data_port_create(struct lh_loop *loop, const struct lh_data_port_vm *vm,
		const char *log_ctx, const struct lh_data_port_config *cfg)
{
	struct lh_endpoint_config ep_cfg = { .uri = cfg->uri, .log_ctx = log_ctx };
	char uri[512];
	struct lh_data_port *port;

	port = calloc(1, sizeof(*port));
	if (!port) {
		PERROR("calloc");
		return NULL;
	}
	port->loop = loop;
	port->vm = *vm;
	port->cfg = *cfg;
	port->log_ctx = log_ctx;
	port->fd = -1;
	port->pipe[0] = port->pipe[1] = -1;
	lttng_hyper_channel_format(&cfg->uri, uri, sizeof(uri));
	snprintf(port->label, sizeof(port->label), "data port %s", uri);
	ep_cfg.label = port->label;
	ep_cfg.owner = "this data port";
	port->ep = lh_endpoint_create(loop, &ep_cfg, endpoint_conn_cb, port);
	if (!port->ep) {
		free(port);
		return NULL;
	}
	return port;
}

int lh_data_port_start(struct lh_data_port *port)
{
	return lh_endpoint_start(port->ep);
}

void lh_data_port_sessions_changed(struct lh_data_port *port)
{
	struct lh_relay_vm_state *state = port->vm.state(port->vm.vm);
	struct upstream *up, *next;

	for (up = port->ups; up; up = next) {
		next = up->next;
		/* The frame on its way decides at its end (frame_end). */
		if (up == port->up && port->in_frame) {
			continue;
		}
		if (!state || !lh_relay_port_session_live(state, up->session_id)) {
			upstream_close(port, up, "its session ended");
		}
	}
}

static void kick_cb(struct lh_timer *timer, void *arg)
{
	struct lh_data_port *port = arg;

	port->kick = NULL;
	port_pump(port);
}

void lh_data_port_vm_down(struct lh_data_port *port)
{
	while (port->ups) {
		upstream_close(port, port->ups, "the VM's channel is down");
	}
	/*
	 * A frame on its way is read to its end and dropped, from the loop:
	 * the VM's state is still being torn down.
	 */
	if (port->fd >= 0 && port->in_frame && !port->kick) {
		port->kick = lh_loop_timer(port->loop, 0, kick_cb, port);
		if (!port->kick) {
			port_close(port, PORT_END_QUIET, "cannot schedule it");
		}
	}
}

void lh_data_port_destroy(struct lh_data_port *port)
{
	if (!port) {
		return;
	}
	if (port->kick) {
		lh_timer_cancel(port->kick);
	}
	port_close(port, PORT_END_QUIET, "the relay stops");
	while (port->ups) {
		upstream_close(port, port->ups, "the relay stops");
	}
	lh_endpoint_destroy(port->ep);
	pipe_close(port);
	if (port->buf) {
		lh_mem_uncharge(port->vm.mem, PORT_STAGE_SIZE);
	}
	free(port->buf);
	free(port);
}
