/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper: the user's tool for the traces lttng-hyper-relayd writes.
 *
 *   lttng-hyper show DIR       one line per layer (host, vm1, vm1/l2...):
 *                              events, time range, clock correction,
 *                              hypercall markers (show.c)
 *   lttng-hyper sync-fix DIR   re-apply each sync file's correction to its
 *                              trace's metadata (--inspect, --revert)
 *   lttng-hyper graph DIR      one HTML file: every layer on one time axis
 *                              (graph.c)
 *   lttng-hyper status         the host relay's VMs now, from its control
 *                              socket (status.c)
 *   lttng-hyper top            the same, live, with rates (top.c)
 *   lttng-hyper sync-check DIR each guest's clock correction against its
 *                              hypercall markers (sync-check.c)
 *   lttng-hyper mark [TEXT]    in a guest: markers the host stamps
 *                              (lttng-hyper-mark, mark.c)
 *
 * Traces and their layers: traces.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <popt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ctf-metadata.h"
#include "common/defaults.h"
#include "common/log.h"
#include "graph.h"
#include "mark.h"
#include "show.h"
#include "status.h"
#include "sync-check.h"
#include "sync-file.h"
#include "traces.h"

#define PROGNAME		"lttng-hyper"

static struct {
	struct lh_trace *traces;
	size_t nr;
} found;

static int verbose;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROGNAME " [-v] COMMAND [DIR] [OPTIONS]\n"
		"\n"
		"Commands:\n"
		"  show DIR                  One line per layer of the traces under DIR (host,\n"
		"                            vm1, vm1/l2...): CTF version, events, time range,\n"
		"                            and the clock correction applied with its error\n"
		"                            bound\n"
		"  sync-fix DIR              Re-apply each sync file's clock correction to the\n"
		"                            metadata of its trace (idempotent)\n"
		"    --inspect               Print what the metadata holds and what the sync\n"
		"                            file says, change nothing\n"
		"    --revert                Restore the guest's own clock offset and frequency\n"
		"  sync-check DIR            Measure each guest's clock correction against its\n"
		"                            hypercall markers (lttng-hyper mark), and check\n"
		"                            it lies within the recorded error bound\n"
		"  graph DIR                 Write one HTML file that shows every layer under\n"
		"                            DIR on one time axis (open it in any browser)\n"
		"    -o, --output FILE       The file to write (default: lttng-hyper-graph.html)\n"
		"    --from T, --to T        Only this time window: SECONDS.NANOS since the\n"
		"                            epoch, 'YYYY-MM-DD HH:MM:SS.NANOS' or HH:MM:SS.NANOS\n"
		"                            (UTC), or +SECONDS from the first event\n"
		"    --layer LAYER           Only this layer (repeat for more; 'host' for the\n"
		"                            host's own traces)\n"
		"    --link SEND:RECV:FIELD  Link each SEND event to the RECV event of another\n"
		"                            layer whose FIELD has the same value\n"
		"    --max-detail N          Aggregate bands beyond N events and spans in all\n"
		"                            (default 1000000)\n"
		"  status                    The host relay's VMs now: state, connections,\n"
		"                            sessions, streams, trace received, discarded\n"
		"                            events, clock offset, last error\n"
		"    --json                  Print the relay's JSON reply instead\n"
		"  top                       The same, live, with the rates in MB/s and\n"
		"                            packets/s (q quits)\n"
		"    -d, --delay SECONDS     Between frames (default 1, at least 0.1)\n"
		"    -n, --iterations N      Stop after N frames\n"
		"    -b, --batch             No screen: print each frame to stdout, frames\n"
		"                            separated by a blank line\n"
		"    --socket PATH           With status and top: the relay's control socket\n"
		"                            (default: $LTTNG_HOME/.lttng/"
		LH_RELAYD_CONTROL_SOCK_NAME ")\n"
		"  mark [TEXT]               In a guest: a marker that the host stamps with its\n"
		"                            own clock, by a hypercall, and an event of the\n"
		"                            guest's trace (lttng-hyper-mark --help)\n"
		"    -n, --count COUNT       Markers to issue, numbered from 0 (default 1)\n"
		"    -r, --rate RATE         Markers per second (default: no limit)\n"
		"\n"
		"Options:\n"
		"  -v, --verbose             More messages (repeat for more)\n"
		"  -h, --help                This help\n"
		"\n"
		"See lttng-hyper(1).\n");
}

static void option_error(const char *fmt, const char *arg)
{
	fprintf(stderr, PROGNAME ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" PROGNAME " --help'.\n");
	exit(EXIT_FAILURE);
}

static int find_traces(const char *top)
{
	return lh_traces_find(top, &found.traces, &found.nr);
}

/* --- sync-fix --------------------------------------------------------- */

enum fix_mode {
	FIX_APPLY,
	FIX_INSPECT,
	FIX_REVERT,
};

static int fix_one(const struct lh_trace *t, enum fix_mode mode)
{
	const struct lh_sync_info *si = &t->sync;
	struct lh_ctf_md_values values = { 0 };
	struct lh_ctf_md_report rep;
	char path[PATH_MAX + sizeof(LH_METADATA_NAME) + 1];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", t->dir, LH_METADATA_NAME);
	if (mode == FIX_APPLY) {
		values = (struct lh_ctf_md_values) {
			.set_offset = si->has_offset, .offset = si->offset,
			.set_freq = si->has_freq, .freq = si->freq,
		};
	} else if (mode == FIX_REVERT) {
		values = (struct lh_ctf_md_values) {
			.set_offset = si->has_guest_offset, .offset = si->guest_offset,
			.set_freq = si->has_guest_freq, .freq = si->guest_freq,
		};
	}
	if (mode != FIX_INSPECT && !values.set_offset) {
		printf("%s: skipped, %s has no %s\n", path, si->path,
			mode == FIX_APPLY ? "correction" : "guest offset");
		return 0;
	}
	fd = open(path, (mode == FIX_INSPECT ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		PERROR("%s", path);
		return -1;
	}
	ret = lh_ctf_md_fix_fd(fd, mode == FIX_INSPECT ? NULL : &values, &rep);
	if (close(fd) < 0 && !ret) {
		PERROR("%s", path);
		return -1;
	}
	if (ret < 0) {
		PERROR("%s", path);
		return -1;
	}
	if (!rep.clock_found) {
		ERR("%s: no \"monotonic\" clock", path);
		return -1;
	}
	if (mode == FIX_INSPECT) {
		printf("%s:\n  metadata:  CTF %s, offset = %" PRIu64 ", freq = %" PRIu64 "\n", path,
			lh_trace_ctf_version(rep.form), rep.offset, rep.freq);
		printf("  sync file: offset = %" PRIu64 ", freq = %" PRIu64 " (guest's: offset = %"
			PRIu64 ", freq = %" PRIu64 "), status %s\n", si->offset, si->freq,
			si->guest_offset, si->guest_freq, si->status[0] ? si->status : "unknown");
		printf("  state:     %s\n",
			rep.offset == si->offset && rep.freq == si->freq ? "corrected" :
			rep.offset == si->guest_offset && rep.freq == si->guest_freq ?
				"guest's own clock" : "differs from the sync file");
		return 0;
	}
	if (rep.left) {
		ERR("%s: %u field(s) could not be rewritten in place", path, rep.left);
		return -1;
	}
	printf("%s: offset %" PRIu64 " -> %" PRIu64 ", freq %" PRIu64 " -> %" PRIu64 "\n", path,
		rep.offset, values.offset, rep.freq, values.set_freq ? values.freq : rep.freq);
	return 0;
}

static int cmd_sync_fix(const char *top, enum fix_mode mode)
{
	size_t i, nr = 0;
	int ret = 0;

	if (find_traces(top) < 0) {
		return -1;
	}
	for (i = 0; i < found.nr; i++) {
		if (!found.traces[i].sync.found) {
			continue;
		}
		nr++;
		if (fix_one(&found.traces[i], mode) < 0) {
			ret = -1;
		}
	}
	if (!nr) {
		printf("No trace with a %s file under %s\n", LH_SYNC_FILE_NAME, top);
	}
	return ret;
}

/* A known command, and no option of another one. */
static void check_options(const char *cmd, enum fix_mode mode)
{
	static const char *const commands[] = { "show", "sync-fix", "sync-check", "graph", "status",
		"top" };
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(cmd, commands[i])) {
			break;
		}
	}
	if (i == sizeof(commands) / sizeof(commands[0])) {
		option_error("unknown command '%s'", cmd);
	}
	if (strcmp(cmd, "graph") && lh_graph_options_given()) {
		option_error("%s", "-o, --from, --to, --layer, --link and --max-detail go with graph");
	}
	if (strcmp(cmd, "sync-fix") && mode != FIX_APPLY) {
		option_error("%s", "--inspect and --revert go with sync-fix");
	}
	if (strcmp(cmd, "status") && strcmp(cmd, "top") && lh_status_socket_given()) {
		option_error("%s", "--socket goes with status and top");
	}
	if (strcmp(cmd, "status") && lh_status_json_given()) {
		option_error("%s", "--json goes with status");
	}
	if (strcmp(cmd, "top") && lh_top_options_given()) {
		option_error("%s", "-d, -n and -b go with top");
	}
}

int main(int argc, const char **argv)
{
	enum { OPT_HELP = 1, OPT_VERBOSE, OPT_INSPECT, OPT_REVERT };
	const struct poptOption options[] = {
		{ "help", 'h', POPT_ARG_NONE, NULL, OPT_HELP, NULL, NULL },
		{ "verbose", 'v', POPT_ARG_NONE, NULL, OPT_VERBOSE, NULL, NULL },
		{ "inspect", '\0', POPT_ARG_NONE, NULL, OPT_INSPECT, NULL, NULL },
		{ "revert", '\0', POPT_ARG_NONE, NULL, OPT_REVERT, NULL, NULL },
		{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, lh_graph_options, 0, NULL, NULL },
		{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, lh_status_options, 0, NULL, NULL },
		{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, lh_top_options, 0, NULL, NULL },
		POPT_TABLEEND
	};
	enum fix_mode mode = FIX_APPLY;
	char top[PATH_MAX];
	const char *cmd, *dir;
	poptContext pc;
	int opt, ret;

	lh_log_init(PROGNAME);
	if (lh_mark_exec(argc, argv) < 0) {
		return EXIT_FAILURE;
	}
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
		case OPT_INSPECT:
			mode = FIX_INSPECT;
			break;
		case OPT_REVERT:
			mode = FIX_REVERT;
			break;
		default:
			break;
		}
	}
	if (opt < -1) {
		option_error("%s", poptStrerror(opt));
	}
	lh_log_set_level(LH_LOG_INFO + verbose);
	cmd = poptGetArg(pc);
	if (!cmd) {
		usage(stderr);
		poptFreeContext(pc);
		return EXIT_FAILURE;
	}
	check_options(cmd, mode);
	if (!strcmp(cmd, "status") || !strcmp(cmd, "top")) {
		if (poptPeekArg(pc)) {
			option_error("unexpected argument '%s'", poptPeekArg(pc));
		}
		ret = !strcmp(cmd, "status") ? lh_status_cmd() : lh_top_cmd();
		poptFreeContext(pc);
		return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	dir = poptGetArg(pc);
	if (!dir) {
		usage(stderr);
		poptFreeContext(pc);
		return EXIT_FAILURE;
	}
	if (poptPeekArg(pc)) {
		option_error("unexpected argument '%s'", poptPeekArg(pc));
	}
	if (!realpath(dir, top)) {
		PERROR("%s", dir);
		poptFreeContext(pc);
		return EXIT_FAILURE;
	}
	if (!strcmp(cmd, "show")) {
		ret = find_traces(top);
		if (!ret) {
			ret = lh_show_cmd(top, found.traces, found.nr, verbose);
		}
	} else if (!strcmp(cmd, "sync-fix")) {
		ret = cmd_sync_fix(top, mode);
	} else if (!strcmp(cmd, "sync-check")) {
		ret = find_traces(top);
		if (!ret) {
			ret = lh_sync_check_cmd(found.traces, found.nr, verbose);
		}
	} else {
		ret = find_traces(top);
		if (!ret) {
			ret = lh_graph_cmd(top, found.traces, found.nr, verbose);
		}
	}
	poptFreeContext(pc);
	free(found.traces);
	return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
