/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper-mark: markers that the host stamps with its own clock.
 *
 *   lttng-hyper-mark [-n COUNT] [-r RATE] [TEXT]
 *
 * Each marker is a hypercall (lttng-hyper/hypercall.h) whose payload is
 * TEXT (at most 24 bytes, in a0..a2) and the marker's number (a3, from 0),
 * which KVM traces on the host as kvm_x86_hypercall before it refuses the
 * call; and, just before it, the event lttng_hyper:mark in this guest's
 * own trace when a session records it. With no KVM below, the hypercall
 * would fault: then only the events are emitted, and a warning says so.
 * lttng-hyper mark runs this program.
 */
#include <errno.h>
#include <inttypes.h>
#include <popt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lttng-hyper/hypercall.h>

#include "common/log.h"
#include "common/number.h"
#include "mark-tp.h"

#define PROGNAME		"lttng-hyper-mark"
/* a3 holds the marker's number: the text has the other three registers. */
#define TEXT_MAX		(LTTNG_HYPER_MARK_PAYLOAD_MAX - 8)
#define DEFAULT_TEXT		"mark"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROGNAME " [-n COUNT] [-r RATE] [TEXT]\n"
		"\n"
		"Issue markers that the host records with its own clock: each one a\n"
		"hypercall with TEXT (at most %d bytes, default '" DEFAULT_TEXT "') and its\n"
		"number, and the event lttng_hyper:mark in this guest's trace.\n"
		"\n"
		"Options:\n"
		"  -n, --count COUNT         Markers to issue, numbered from 0 (default 1)\n"
		"  -r, --rate RATE           Markers per second (default: no limit)\n"
		"  -v, --verbose             More messages\n"
		"  -h, --help                This help\n"
		"\n"
		"See lttng-hyper(1), \"mark\".\n", TEXT_MAX);
}

static void option_error(const char *fmt, const char *arg)
{
	fprintf(stderr, PROGNAME ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" PROGNAME " --help'.\n");
	exit(EXIT_FAILURE);
}

/* Sleep until start + n / rate seconds. */
static void pace(const struct timespec *start, uint64_t n, uint64_t rate)
{
	uint64_t ns = n * (1000000000ULL / rate);
	struct timespec t = {
		.tv_sec = start->tv_sec + (time_t) (ns / 1000000000ULL),
		.tv_nsec = start->tv_nsec + (long) (ns % 1000000000ULL),
	};

	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
	}
}

int main(int argc, const char **argv)
{
	enum { OPT_HELP = 1, OPT_VERBOSE, OPT_COUNT, OPT_RATE };
	const struct poptOption options[] = {
		{ "count", 'n', POPT_ARG_STRING, NULL, OPT_COUNT, NULL, NULL },
		{ "rate", 'r', POPT_ARG_STRING, NULL, OPT_RATE, NULL, NULL },
		{ "verbose", 'v', POPT_ARG_NONE, NULL, OPT_VERBOSE, NULL, NULL },
		{ "help", 'h', POPT_ARG_NONE, NULL, OPT_HELP, NULL, NULL },
		POPT_TABLEEND
	};
	uint64_t count = 1, rate = 0, seq;
	enum lttng_hyper_hypercall_insn insn;
	unsigned long a[4];
	struct timespec start;
	const char *text = DEFAULT_TEXT;
	char sig[13];
	long ret = 0;
	int opt, verbose = 0;
	size_t text_len;
	poptContext pc;

	lh_log_init(PROGNAME);
	pc = poptGetContext(PROGNAME, argc, argv, options, 0);
	while ((opt = poptGetNextOpt(pc)) > 0) {
		switch (opt) {
		case OPT_HELP:
			usage(stdout);
			poptFreeContext(pc);
			return EXIT_SUCCESS;
		case OPT_VERBOSE:
			verbose++;
			break;
		case OPT_COUNT:
			if (lh_parse_u64(poptGetOptArg(pc), 1, UINT64_MAX, &count) < 0) {
				option_error("%s", "-n takes a count of at least 1");
			}
			break;
		case OPT_RATE:
			if (lh_parse_u64(poptGetOptArg(pc), 1, 1000000000, &rate) < 0) {
				option_error("%s", "-r takes markers per second, 1 to 1000000000");
			}
			break;
		default:
			break;
		}
	}
	if (opt < -1) {
		option_error("%s", poptStrerror(opt));
	}
	lh_log_set_level(LH_LOG_INFO + verbose);
	if (poptPeekArg(pc)) {
		text = poptGetArg(pc);
	}
	if (poptPeekArg(pc)) {
		option_error("unexpected argument '%s'", poptPeekArg(pc));
	}
	text_len = strlen(text);
	if (text_len > TEXT_MAX) {
		option_error("the text '%s' is longer than 24 bytes", text);
	}

	insn = lttng_hyper_hypercall_probe(sig);
	if (insn == LTTNG_HYPER_HC_NONE) {
		WARN("No KVM below this system (hypervisor signature '%s'): the markers go into"
			" the trace only, with no hypercall", sig[0] ? sig : "none");
	}
	/* The text fills a0..a2 once; each marker's number is a3. */
	lttng_hyper_mark_pack(text, text_len, a);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (seq = 0; seq < count; seq++) {
		a[3] = seq;
		lttng_ust_tracepoint(lttng_hyper, mark, text, (uint32_t) text_len, seq, a,
			insn != LTTNG_HYPER_HC_NONE);
		if (insn != LTTNG_HYPER_HC_NONE) {
			ret = lttng_hyper_hypercall4(insn, LTTNG_HYPER_HC_MARK, a[0], a[1], a[2],
				a[3]);
		}
		if (rate && seq + 1 < count) {
			pace(&start, seq + 1, rate);
		}
	}
	if (insn != LTTNG_HYPER_HC_NONE) {
		DBG("%" PRIu64 " markers '%s' by %s: KVM answered %ld", count, text,
			insn == LTTNG_HYPER_HC_VMMCALL ? "vmmcall" : "vmcall", ret);
		if (ret != -LTTNG_HYPER_KVM_EPERM && ret != -LTTNG_HYPER_KVM_ENOSYS) {
			WARN("The hypervisor answered %ld, not KVM's refusal: it may serve"
				" hypercall 0x%lx itself", ret, LTTNG_HYPER_HC_MARK);
		}
	}
	poptFreeContext(pc);
	return EXIT_SUCCESS;
}
