/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pingpong: two processes, typically one on a host and one in a guest,
 * bounce a round number over a unix socket or a character device (a
 * virtio-serial port in a guest, whose host end is a unix socket), tracing
 * hyper_pingpong:send just before each write() and hyper_pingpong:recv
 * just after each read().
 * In a trace that merges both sides on one time axis, every send must
 * come before its recv: that checks the clock correction of the guest's
 * trace. The side that connects plays the host (side 0) and starts each
 * round; the side that serves, or uses a device, plays the guest (side 1)
 * and echoes it.
 *
 * Run it with LTTNG_UST_REGISTER_TIMEOUT=-1 so that no event is lost to a
 * late registration with the session daemon (see gen-events.c).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/number.h"
#include "pingpong-tp.h"

#define SIDE_HOST		0
#define SIDE_GUEST		1
#define CONNECT_RETRY_NS	10000000L
#define CONNECT_RETRY_MS	10

static const char *progname = "pingpong";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s (--serve SOCKET | --connect SOCKET | --device PATH) [-n ROUNDS]\n"
		"       [-t SECONDS]\n"
		"\n"
		"Play ROUNDS round trips (default 1000) over the unix socket SOCKET or\n"
		"the character device PATH, tracing hyper_pingpong:send and\n"
		"hyper_pingpong:recv.\n"
		"  -s, --serve SOCKET    listen on SOCKET, echo each round (side 1, guest)\n"
		"  -c, --connect SOCKET  connect to SOCKET, start each round (side 0, host)\n"
		"  -d, --device PATH     open the virtio-serial port PATH, wait for its host\n"
		"                        end, echo each round (side 1, guest)\n"
		"  -n, --rounds ROUNDS   number of round trips\n"
		"  -t, --timeout SECONDS longest wait for the peer, 1..86400 (default 60)\n"
		"  -h, --help            this help\n",
		progname);
}

static int parse_u64(const char *opt, const char *str, uint64_t max, uint64_t *out)
{
	if (lh_parse_u64(str, 0, max, out) < 0) {
		fprintf(stderr, "%s: invalid %s '%s' (0..%" PRIu64 ")\n",
			progname, opt, str, max);
		return -1;
	}
	return 0;
}

static int make_addr(const char *path, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", progname, path);
		return -1;
	}
	strcpy(addr->sun_path, path);
	return 0;
}

/* A peer that goes silent fails the read or accept instead of hanging. */
static int set_timeout(int fd, unsigned int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		perror("setsockopt(SO_RCVTIMEO)");
		return -1;
	}
	return 0;
}

static int serve(const char *path, unsigned int timeout)
{
	struct sockaddr_un addr;
	int lfd, fd;

	if (make_addr(path, &addr)) {
		return -1;
	}
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("socket");
		return -1;
	}
	if (bind(lfd, (struct sockaddr *) &addr, sizeof(addr))) {
		fprintf(stderr, "%s: bind %s: %s\n", progname, path, strerror(errno));
		close(lfd);
		return -1;
	}
	if (listen(lfd, 1)) {
		perror("listen");
		fd = -1;
	} else if (set_timeout(lfd, timeout)) {
		fd = -1;
	} else {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "%s: no peer on %s within %u s: %s\n", progname,
				path, timeout, strerror(errno));
		}
	}
	/* One peer only: nobody else may connect from now on. */
	if (unlink(path)) {
		perror("unlink");
	}
	close(lfd);
	return fd;
}

/* The server may not listen yet: retry until the timeout. */
static int connect_peer(const char *path, unsigned int timeout)
{
	const struct timespec pause = { .tv_nsec = CONNECT_RETRY_NS };
	struct sockaddr_un addr;
	struct timespec start, now;
	int fd;

	if (make_addr(path, &addr)) {
		return -1;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &start)) {
		perror("clock_gettime");
		return -1;
	}
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			perror("socket");
			return -1;
		}
		if (!connect(fd, (struct sockaddr *) &addr, sizeof(addr))) {
			return fd;
		}
		close(fd);
		if (errno != ENOENT && errno != ECONNREFUSED) {
			fprintf(stderr, "%s: connect %s: %s\n", progname, path, strerror(errno));
			return -1;
		}
		if (clock_gettime(CLOCK_MONOTONIC, &now)) {
			perror("clock_gettime");
			return -1;
		}
		if (now.tv_sec - start.tv_sec >= timeout) {
			fprintf(stderr, "%s: no server on %s within %u s\n", progname, path,
				timeout);
			return -1;
		}
		if (nanosleep(&pause, NULL) && errno != EINTR) {
			perror("nanosleep");
			return -1;
		}
	}
}

/*
 * A virtio-serial port polls POLLHUP, and reads end-of-file, while its host
 * end is closed, and the host may open it after us: wait for the hang-up to
 * clear. Once the host is there, poll() blocks until it writes.
 */
static int open_device(const char *path, unsigned int timeout)
{
	struct pollfd pfd = { .events = POLLIN };
	struct timespec start, now;
	int ret;

	pfd.fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (pfd.fd < 0) {
		fprintf(stderr, "%s: open %s: %s\n", progname, path, strerror(errno));
		return -1;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &start)) {
		perror("clock_gettime");
		goto error;
	}
	for (;;) {
		ret = poll(&pfd, 1, CONNECT_RETRY_MS);
		if (ret < 0 && errno != EINTR) {
			perror("poll");
			goto error;
		}
		if (ret == 0 || (ret > 0 && !(pfd.revents & POLLHUP))) {
			return pfd.fd;
		}
		if (clock_gettime(CLOCK_MONOTONIC, &now)) {
			perror("clock_gettime");
			goto error;
		}
		if (now.tv_sec - start.tv_sec >= timeout) {
			fprintf(stderr, "%s: no host on %s within %u s\n", progname, path,
				timeout);
			goto error;
		}
		/* A hang-up polls at once: do not spin. */
		if (ret > 0) {
			const struct timespec pause = { .tv_nsec = CONNECT_RETRY_NS };

			if (nanosleep(&pause, NULL) && errno != EINTR) {
				perror("nanosleep");
				goto error;
			}
		}
	}
error:
	close(pfd.fd);
	return -1;
}

/* A device has no SO_RCVTIMEO: a peer that goes silent fails the poll. */
static int wait_readable(int fd, unsigned int timeout)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int ret;

	do {
		ret = poll(&pfd, 1, (int) timeout * 1000);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0) {
		perror("poll");
		return -1;
	}
	if (ret == 0) {
		fprintf(stderr, "%s: nothing to read within %u s\n", progname, timeout);
		return -1;
	}
	return 0;
}

static int send_round(int fd, uint64_t round, uint32_t side)
{
	uint64_t msg = htobe64(round);
	ssize_t ret;

	lttng_ust_tracepoint(hyper_pingpong, send, round, side);
	do {
		ret = write(fd, &msg, sizeof(msg));
	} while (ret < 0 && errno == EINTR);
	/* A stream socket takes 8 bytes whole unless it fails. */
	if (ret != (ssize_t) sizeof(msg)) {
		fprintf(stderr, "%s: write round %" PRIu64 ": %s\n", progname, round,
			ret < 0 ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

/* poll_timeout: 0 when SO_RCVTIMEO bounds the read, else seconds to poll. */
static int recv_round(int fd, uint64_t round, uint32_t side, unsigned int poll_timeout)
{
	uint64_t msg;
	size_t got = 0;
	ssize_t ret;

	while (got < sizeof(msg)) {
		if (poll_timeout && wait_readable(fd, poll_timeout)) {
			return -1;
		}
		ret = read(fd, (char *) &msg + got, sizeof(msg) - got);
		if (ret < 0 && errno == EINTR) {
			continue;
		}
		if (ret <= 0) {
			fprintf(stderr, "%s: read round %" PRIu64 ": %s\n", progname, round,
				ret < 0 ? strerror(errno) : "peer closed");
			return -1;
		}
		got += ret;
	}
	lttng_ust_tracepoint(hyper_pingpong, recv, round, side);
	if (be64toh(msg) != round) {
		fprintf(stderr, "%s: got round %" PRIu64 ", expected %" PRIu64 "\n",
			progname, be64toh(msg), round);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "serve", required_argument, NULL, 's' },
		{ "connect", required_argument, NULL, 'c' },
		{ "device", required_argument, NULL, 'd' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t rounds = 1000, timeout = 60, round;
	const char *path = NULL;
	bool server = false, device = false;
	unsigned int poll_timeout = 0;
	int opt, fd, ret = 0;

	while ((opt = getopt_long(argc, argv, "s:c:d:n:t:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 's':
		case 'c':
		case 'd':
			if (path) {
				fprintf(stderr, "%s: one of --serve, --connect or --device, once\n",
					progname);
				return 1;
			}
			path = optarg;
			server = opt == 's' || opt == 'd';
			device = opt == 'd';
			break;
		case 'n':
			if (parse_u64("rounds", optarg, UINT64_MAX, &rounds)) {
				return 1;
			}
			break;
		case 't':
			/* SO_RCVTIMEO would read 0 as "wait forever". */
			if (parse_u64("timeout", optarg, 86400, &timeout)) {
				return 1;
			}
			if (!timeout) {
				fprintf(stderr, "%s: the timeout is at least 1 s\n", progname);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc || !path) {
		usage(stderr);
		return 1;
	}

	if (device) {
		fd = open_device(path, (unsigned int) timeout);
		if (fd < 0) {
			return 1;
		}
		poll_timeout = (unsigned int) timeout;
	} else {
		fd = server ? serve(path, (unsigned int) timeout) :
			connect_peer(path, (unsigned int) timeout);
		if (fd < 0 || set_timeout(fd, (unsigned int) timeout)) {
			if (fd >= 0) {
				close(fd);
			}
			return 1;
		}
	}
	for (round = 0; round < rounds; round++) {
		if (server) {
			ret = recv_round(fd, round, SIDE_GUEST, poll_timeout) ||
				send_round(fd, round, SIDE_GUEST);
		} else {
			ret = send_round(fd, round, SIDE_HOST) ||
				recv_round(fd, round, SIDE_HOST, poll_timeout);
		}
		if (ret) {
			break;
		}
	}
	if (close(fd)) {
		perror("close");
		ret = 1;
	}
	return ret ? 1 : 0;
}
