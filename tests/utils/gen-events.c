/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * gen-events: emit hyper_test:seq events numbered 0..COUNT-1, at full
 * speed or at a fixed rate, each with an optional payload of a chosen size.
 *
 * lttng-ust registers the application with the session daemon in its
 * constructor, before main() runs. Run it with LTTNG_UST_REGISTER_TIMEOUT=-1
 * so that the constructor waits for the registration (and the session's
 * event rules) however slow the session daemon is: then no event is lost
 * to a late registration. Run it with LTTNG_UST_ALLOW_BLOCKING=1 and a
 * channel with a blocking timeout so that no event is discarded either.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/number.h"
#include "gen-events-tp.h"

/* Keeps each event well within the default UST sub-buffer size. */
#define GEN_EVENTS_MAX_PAYLOAD	65536U

static const char *progname = "gen-events";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-n COUNT] [--payload BYTES] [--rate EVENTS_PER_SEC] [--until FILE]\n"
		"\n"
		"Emit COUNT hyper_test:seq events (default 1000), seq = 0..COUNT-1.\n"
		"  -n, --count COUNT     number of events\n"
		"  -p, --payload BYTES   text payload per event, 0..%u (default 0)\n"
		"  -r, --rate N          at most N events per second (default: no limit)\n"
		"  -u, --until FILE      after COUNT events, go on until FILE exists, and\n"
		"                        print how many events were emitted in all\n"
		"  -h, --help            this help\n",
		progname, GEN_EVENTS_MAX_PAYLOAD);
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

/* When event seq is due at rate events per second; never overflows. */
static struct timespec due_time(const struct timespec *start, uint64_t seq, uint64_t rate)
{
	struct timespec due = *start;
	uint64_t ns;

	ns = (seq % rate) * 1000000000ULL / rate + (uint64_t) start->tv_nsec;
	due.tv_sec += seq / rate + ns / 1000000000ULL;
	due.tv_nsec = ns % 1000000000ULL;
	return due;
}

static bool timespec_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
		(a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * Wait until event seq is due. Pace against the start time, not the
 * previous event, so that oversleeping does not lower the mean rate; and
 * read the clock (no system call) before sleeping, so that events already
 * due cost no sleep at high rates.
 */
static int pace(const struct timespec *start, uint64_t seq, uint64_t rate)
{
	struct timespec due = due_time(start, seq, rate), now;
	int ret;

	if (clock_gettime(CLOCK_MONOTONIC, &now)) {
		perror("clock_gettime");
		return -1;
	}
	if (!timespec_before(&now, &due)) {
		return 0;
	}
	do {
		ret = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
	} while (ret == EINTR);
	if (ret) {
		errno = ret;
		perror("clock_nanosleep");
		return -1;
	}
	return 0;
}

/* Past COUNT: whether FILE exists, looked at once every 1024 events. */
static bool until_reached(const char *file, uint64_t seq)
{
	return (seq % 1024) == 0 && access(file, F_OK) == 0;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "payload", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },
		{ "until", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t count = 1000, payload_len = 0, rate = 0, seq;
	const char *until = NULL;
	struct timespec start;
	uint32_t pid;
	char *payload;
	int opt;

	while ((opt = getopt_long(argc, argv, "n:p:r:u:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (parse_u64("count", optarg, UINT64_MAX, &count)) {
				return 1;
			}
			break;
		case 'p':
			if (parse_u64("payload", optarg, GEN_EVENTS_MAX_PAYLOAD, &payload_len)) {
				return 1;
			}
			break;
		case 'r':
			if (parse_u64("rate", optarg, 1000000000ULL, &rate)) {
				return 1;
			}
			break;
		case 'u':
			until = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", progname, argv[optind]);
		usage(stderr);
		return 1;
	}

	/* malloc(0) may return NULL: always allocate at least one byte. */
	payload = malloc(payload_len + 1);
	if (!payload) {
		perror("malloc");
		return 1;
	}
	memset(payload, 'x', payload_len);
	pid = (uint32_t) getpid();

	if (clock_gettime(CLOCK_MONOTONIC, &start)) {
		perror("clock_gettime");
		free(payload);
		return 1;
	}
	for (seq = 0; seq < count || (until && !until_reached(until, seq)); seq++) {
		if (rate && pace(&start, seq, rate)) {
			free(payload);
			return 1;
		}
		lttng_ust_tracepoint(hyper_test, seq, seq, pid, payload,
			(uint32_t) payload_len);
	}
	free(payload);
	if (until) {
		printf("%" PRIu64 "\n", seq);
	}
	return 0;
}
