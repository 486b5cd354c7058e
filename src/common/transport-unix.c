/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unix:PATH and unix-listen:PATH: a unix stream socket, as QEMU's
 * chardev socket makes one (server=on: the host connects to QEMU; or
 * QEMU connects to a listening host).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/transport.h"

#define UNIX_LISTEN_BACKLOG	16

/* Fill a sockaddr_un; the parser already bounded the path length. */
static int unix_addr(const char *path, struct sockaddr_un *sun)
{
	size_t len = strlen(path);

	if (len >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	return 0;
}

/*
 * Connect to a unix stream socket. A non-blocking unix connect completes
 * or fails at once; EAGAIN means the listener's backlog is full.
 */
int lh_unix_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd, saved;

	if (unix_addr(path, &sun)) {
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *) &sun, sizeof(sun))) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * A socket file left by a previous run makes bind() fail with EADDRINUSE.
 * Remove it, but only if it is a socket nobody listens on: never delete a
 * regular file given by mistake, nor take over a live daemon's address.
 */
static int unix_remove_stale(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st)) {
		return errno == ENOENT ? 0 : -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		ERR("Refusing to replace '%s': it exists and is not a socket", path);
		errno = EEXIST;
		return -1;
	}
	fd = lh_unix_connect(path);
	if (fd >= 0) {
		close(fd);
	}
	if (fd >= 0 || errno == EAGAIN) {
		ERR("Unix socket '%s' is in use by a running listener", path);
		errno = EADDRINUSE;
		return -1;
	}
	if (unlink(path) && errno != ENOENT) {
		PERROR("Cannot remove stale unix socket '%s'", path);
		return -1;
	}
	DBG("Removed stale unix socket '%s'", path);
	return 0;
}

/* Listen on a unix stream socket, replacing a stale one. */
static int unix_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd, saved;

	if (unix_addr(path, &sun) || unix_remove_stale(path)) {
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) ||
			listen(fd, UNIX_LISTEN_BACKLOG)) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int unix_parse(const char *rest, const char *str, struct lttng_hyper_channel_uri *uri,
		char *err, size_t errlen)
{
	return lh_parse_path(rest, str, "unix socket", uri, err, errlen);
}

static int unix_open(const struct lttng_hyper_channel_uri *uri)
{
	return uri->transport->listens ? unix_listen(uri->path) : lh_unix_connect(uri->path);
}

/* The socket file is ours: leave no stale one behind. */
static void unix_unlisten(const struct lttng_hyper_channel_uri *uri)
{
	if (unlink(uri->path) < 0 && errno != ENOENT) {
		PERROR("unlink %s", uri->path);
	}
}

static int unix_absolute(struct lttng_hyper_channel_uri *uri, char *err, size_t errlen)
{
	return lh_path_absolute(uri, "socket", err, errlen);
}

const struct lttng_hyper_transport lh_transport_unix = {
	.scheme = "unix:",
	.syntax = "unix:PATH",
	.help = "connect (QEMU's server=on socket)",
	.ends = LH_TRANSPORT_GUEST_END | LH_TRANSPORT_HOST_END,
	.parse = unix_parse,
	.format = lh_path_format,
	.open = unix_open,
	.absolute = unix_absolute,
	.object = lh_path_object,
};

const struct lttng_hyper_transport lh_transport_unix_listen = {
	.scheme = "unix-listen:",
	.syntax = "unix-listen:PATH",
	.help = "listen",
	.listens = true,
	.ends = LH_TRANSPORT_HOST_END,
	.parse = unix_parse,
	.format = lh_path_format,
	.open = unix_open,
	.unlisten = unix_unlisten,
	.absolute = unix_absolute,
	.object = lh_path_object,
};
