/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * chan-dd: the raw capacity of a kind of hyper channel, as dd gives a
 * virtio-serial port's in bench/vm.sh: bytes through the channel, with
 * no protocol on them.
 *
 *   chan-dd -c URI -s SIZE   open the channel (the guest's end), write
 *                            SIZE zero bytes, close it; print
 *                            "BYTES MICROSECONDS" of the writes
 *   chan-dd -c URI -r        open the channel (the host's end), read and
 *                            drop what comes; open it again whenever the
 *                            peer ends its session, until killed
 *
 * An ivshmem channel's close passes on what is still in its socket
 * before the session ends: the sender's time is the channel's, within
 * the few MiB its buffers hold.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/number.h"

#define BUF_SIZE	(1U << 20)
#define OPEN_TRIES	600		/* every 100 ms: a minute */

static uint8_t buf[BUF_SIZE];

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Open the channel, retrying while the peer is not there yet. */
static int open_channel(const struct lttng_hyper_channel_uri *uri, const char *str)
{
	int i, fd;

	for (i = 0; i < OPEN_TRIES; i++) {
		fd = lttng_hyper_channel_connect(uri);
		if (fd >= 0) {
			return fd;
		}
		usleep(100000);
	}
	fprintf(stderr, "chan-dd: cannot open %s: %s\n", str, strerror(errno));
	return -1;
}

static int wait_fd(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, -1) < 0 && errno != EINTR ? -1 : 0;
}

static int send_bytes(int fd, uint64_t total)
{
	uint64_t sent = 0, start = 0;
	size_t len;
	ssize_t n;

	while (sent < total) {
		len = total - sent < BUF_SIZE ? (size_t) (total - sent) : BUF_SIZE;
		n = write(fd, buf, len);
		if (n > 0) {
			if (!start) {
				start = now_us();
			}
			sent += (uint64_t) n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			perror("chan-dd: write");
			return -1;
		} else if (wait_fd(fd, POLLOUT) < 0) {
			perror("chan-dd: poll");
			return -1;
		}
	}
	printf("%" PRIu64 " %" PRIu64 "\n", sent, now_us() - start);
	return 0;
}

/* One session: read until its end. */
static void drain(int fd)
{
	uint64_t got = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, buf, BUF_SIZE);
		if (n > 0) {
			got += (uint64_t) n;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			break;
		} else if (wait_fd(fd, POLLIN) < 0) {
			break;
		}
	}
	fprintf(stderr, "chan-dd: session ended after %" PRIu64 " bytes\n", got);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: chan-dd -c URI (-s SIZE | -r)\n"
		"  -c, --channel URI   the channel (lttng-hyperd's -c or a --vm channel's forms)\n"
		"  -s, --size SIZE     write SIZE bytes (k, M, G suffixes) and print "
		"\"BYTES MICROSECONDS\"\n"
		"  -r, --read          read and drop what comes, session after session\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "channel", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "read", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lttng_hyper_channel_uri uri;
	const char *str = NULL;
	uint64_t size = 0;
	bool reader = false;
	char err[256];
	int c, fd, ret;

	while ((c = getopt_long(argc, argv, "c:s:rh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			str = optarg;
			break;
		case 's':
			if (lh_parse_size(optarg, 1, 1ULL << 40, &size) < 0) {
				fprintf(stderr, "chan-dd: bad size '%s'\n", optarg);
				return 2;
			}
			break;
		case 'r':
			reader = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!str || reader == (size != 0)) {
		usage(stderr);
		return 2;
	}
	if (lttng_hyper_channel_parse(str, &uri, err, sizeof(err)) < 0) {
		fprintf(stderr, "chan-dd: %s\n", err);
		return 2;
	}
	if (reader) {
		for (;;) {
			fd = open_channel(&uri, str);
			if (fd < 0) {
				return 1;
			}
			drain(fd);
			close(fd);
		}
	}
	fd = open_channel(&uri, str);
	if (fd < 0) {
		return 1;
	}
	ret = send_bytes(fd, size);
	close(fd);
	return ret ? 1 : 0;
}
