/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The channel side of the data path: every read, write and splice on
 * the channel fd, and its setup and close, behind the mux_chan_*
 * functions. The loop's watch on the fd is set up by lh_mux_create().
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mux-internal.h"

/* Socket buffers of the channel: fewer, larger writes and reads. */
#define MUX_SOCK_BUF		(4U << 20)

/*
 * Grow a socket's buffers so bulk data moves in few, large system calls.
 * Beyond net.core.[rw]mem_max only root may go (the FORCE options).
 * Not every channel is a socket (virtio-serial ports are not), and a
 * smaller buffer only costs speed, so failures are ignored.
 */
static void sock_grow_buffers(int fd)
{
	int size = MUX_SOCK_BUF;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size))) {
		(void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size))) {
		(void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
}

/* A new channel: a socket gets large buffers. */
void mux_chan_setup(struct lh_mux *mux)
{
	sock_grow_buffers(mux->fd);
}

ssize_t mux_chan_read(struct lh_mux *mux, struct lh_buf *buf, size_t max)
{
	return lh_buf_read_fd(buf, mux->fd, max);
}

ssize_t mux_chan_write(struct lh_mux *mux, const void *buf, size_t len)
{
	ssize_t ret;

	do {
		ret = write(mux->fd, buf, len);
	} while (ret < 0 && errno == EINTR);
	return ret;
}

/* Move len bytes that wait in a pipe onto the channel. */
ssize_t mux_chan_splice_from_pipe(struct lh_mux *mux, int pipe_fd, size_t len)
{
	ssize_t ret;

	do {
		ret = splice(pipe_fd, NULL, mux->fd, NULL, len,
				SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	} while (ret < 0 && errno == EINTR);
	return ret;
}

/* Move up to len bytes off the channel into a pipe. */
ssize_t mux_chan_splice_to_pipe(struct lh_mux *mux, int pipe_fd, size_t len)
{
	ssize_t ret;

	do {
		ret = splice(mux->fd, NULL, pipe_fd, NULL, len,
				SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	} while (ret < 0 && errno == EINTR);
	return ret;
}

void mux_chan_close(struct lh_mux *mux)
{
	if (close(mux->fd)) {
		lh_log_errno(mux->log_ctx, "closing the channel");
	}
	mux->fd = -1;
}
