/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper graph: the command (graph.h). Its options and their checks,
 * one band per layer in nesting order; graph-read.c reads the traces into
 * them, graph-write.c writes the page.
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/number.h"
#include "graph-model.h"
#include "graph.h"

#define DEFAULT_OUTPUT		"lttng-hyper-graph.html"
#define DEFAULT_MAX_DETAIL	1000000

/* --- options ------------------------------------------------------ */

enum {
	GOPT_OUTPUT = 1,
	GOPT_FROM,
	GOPT_TO,
	GOPT_LAYER,
	GOPT_LINK,
	GOPT_MAX_DETAIL,
};

static struct {
	bool given;
	char *output, *from, *to, *link, *max_detail;
	char **layers;
	size_t nr_layers;
} gopt;

static void set_opt(char **dst, const char *arg)
{
	free(*dst);
	*dst = strdup(arg ? arg : "");
}

static void opt_cb(poptContext con, enum poptCallbackReason reason,
		const struct poptOption *opt, const char *arg, const void *data)
{
	char **layers;

	if (reason != POPT_CALLBACK_REASON_OPTION) {
		return;
	}
	gopt.given = true;
	switch (opt->val) {
	case GOPT_OUTPUT:
		set_opt(&gopt.output, arg);
		break;
	case GOPT_FROM:
		set_opt(&gopt.from, arg);
		break;
	case GOPT_TO:
		set_opt(&gopt.to, arg);
		break;
	case GOPT_LINK:
		set_opt(&gopt.link, arg);
		break;
	case GOPT_MAX_DETAIL:
		set_opt(&gopt.max_detail, arg);
		break;
	case GOPT_LAYER:
		layers = realloc(gopt.layers, (gopt.nr_layers + 1) * sizeof(*layers));
		if (layers) {
			gopt.layers = layers;
			gopt.layers[gopt.nr_layers] = NULL;
			set_opt(&gopt.layers[gopt.nr_layers++], arg);
		}
		break;
	default:
		break;
	}
}

struct poptOption lh_graph_options[] = {
	{ NULL, '\0', POPT_ARG_CALLBACK, (void *) opt_cb, 0, NULL, NULL },
	{ "output", 'o', POPT_ARG_STRING, NULL, GOPT_OUTPUT, NULL, NULL },
	{ "from", '\0', POPT_ARG_STRING, NULL, GOPT_FROM, NULL, NULL },
	{ "to", '\0', POPT_ARG_STRING, NULL, GOPT_TO, NULL, NULL },
	{ "layer", '\0', POPT_ARG_STRING, NULL, GOPT_LAYER, NULL, NULL },
	{ "link", '\0', POPT_ARG_STRING, NULL, GOPT_LINK, NULL, NULL },
	{ "max-detail", '\0', POPT_ARG_STRING, NULL, GOPT_MAX_DETAIL, NULL, NULL },
	POPT_TABLEEND
};

bool lh_graph_options_given(void)
{
	return gopt.given;
}

static void free_opts(void)
{
	size_t i;

	for (i = 0; i < gopt.nr_layers; i++) {
		free(gopt.layers[i]);
	}
	free(gopt.layers);
	free(gopt.output);
	free(gopt.from);
	free(gopt.to);
	free(gopt.link);
	free(gopt.max_detail);
	memset(&gopt, 0, sizeof(gopt));
}

/* --- times -------------------------------------------------------- */

/* DIGITS[.FRACTION] (up to 9 fraction digits) at *p, as ns; advances *p. */
static int parse_seconds(const char **p, int64_t max_s, int64_t *ns)
{
	const char *s = *p;
	int64_t sec = 0, frac = 0;
	int digits = 0, i;

	if (!isdigit((unsigned char) *s)) {
		return -1;
	}
	while (isdigit((unsigned char) *s)) {
		sec = sec * 10 + (*s++ - '0');
		if (sec > max_s) {
			return -1;
		}
	}
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char) *s)) {
			return -1;
		}
		while (isdigit((unsigned char) *s)) {
			if (digits++ == 9) {
				return -1;
			}
			frac = frac * 10 + (*s++ - '0');
		}
		for (i = digits; i < 9; i++) {
			frac *= 10;
		}
	}
	*ns = sec * NS_PER_S + frac;
	*p = s;
	return 0;
}

/* NN within [0, max] at *p, exactly two digits. */
static int parse_2(const char **p, int max, int *v)
{
	const char *s = *p;

	if (!isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1])) {
		return -1;
	}
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	*p = s + 2;
	return *v <= max ? 0 : -1;
}

/* HH:MM:SS[.FRACTION] at *p, as ns into the day. */
static int parse_tod(const char **p, int64_t *ns)
{
	int h, m;
	int64_t s;

	if (parse_2(p, 23, &h) || *(*p)++ != ':' || parse_2(p, 59, &m) || *(*p)++ != ':' ||
			!isdigit((unsigned char) (*p)[0]) || !isdigit((unsigned char) (*p)[1]) ||
			isdigit((unsigned char) (*p)[2]) || parse_seconds(p, 60, &s)) {
		return -1;
	}
	*ns = ((int64_t) h * 3600 + m * 60) * NS_PER_S + s;
	return 0;
}

static int parse_time(const char *str, struct tspec *ts)
{
	const char *p = str;
	int64_t ns;

	if (*p == '+') {
		p++;
		if (parse_seconds(&p, 100LL * 365 * 86400, &ns) || *p) {
			return -1;
		}
		*ts = (struct tspec) { .kind = TS_REL, .ns = ns };
		return 0;
	}
	if (strlen(p) >= 10 && p[4] == '-' && p[7] == '-') {
		struct tm tm = { 0 };
		int y, mo, d;
		time_t day;

		if (!isdigit((unsigned char) p[0]) || !isdigit((unsigned char) p[1]) ||
				parse_2(&p, 99, &y)) {
			return -1;
		}
		y = (str[0] - '0') * 1000 + (str[1] - '0') * 100 + (str[2] - '0') * 10 +
			(str[3] - '0');
		p = str + 5;
		if (!isdigit((unsigned char) str[2]) || !isdigit((unsigned char) str[3]) ||
				y < 1970 || y > 2261 || parse_2(&p, 12, &mo) || mo < 1 ||
				*p++ != '-' || parse_2(&p, 31, &d) || d < 1 ||
				(*p != ' ' && *p != 'T') || (p++, parse_tod(&p, &ns)) || *p) {
			return -1;
		}
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		day = timegm(&tm);
		if (day == (time_t) -1 || tm.tm_mday != d) {
			return -1;
		}
		*ts = (struct tspec) { .kind = TS_ABS, .ns = (int64_t) day * NS_PER_S + ns };
		return 0;
	}
	if (strlen(p) >= 3 && p[2] == ':') {
		if (parse_tod(&p, &ns) || *p) {
			return -1;
		}
		*ts = (struct tspec) { .kind = TS_TOD, .ns = ns };
		return 0;
	}
	if (parse_seconds(&p, 9200000000LL, &ns) || *p) {
		return -1;
	}
	*ts = (struct tspec) { .kind = TS_ABS, .ns = ns };
	return 0;
}

static int check_time_option(const char *opt, const char *arg, struct tspec *ts)
{
	if (!arg) {
		return 0;
	}
	if (parse_time(arg, ts)) {
		ERR("Invalid %s '%s': give SECONDS[.NANOS] since the epoch, "
			"'YYYY-MM-DD HH:MM:SS[.NANOS]' or HH:MM:SS[.NANOS] (UTC), "
			"or +SECONDS[.NANOS] after the first event", opt, arg);
		return -1;
	}
	return 0;
}

/* --- layers ------------------------------------------------------- */

/* Layer order: a parent, then its subtree, then its next sibling. */
static int layer_cmp(const char *a, const char *b)
{
	for (; *a && *a == *b; a++, b++) {
	}
	if (*a == *b) {
		return 0;
	}
	if (!*a || !*b) {
		return *a ? 1 : -1;
	}
	if (*a == '/' || *b == '/') {
		return *a == '/' ? -1 : 1;
	}
	return (unsigned char) *a < (unsigned char) *b ? -1 : 1;
}

static int band_cmp(const void *pa, const void *pb)
{
	const struct band *a = pa, *b = pb;

	/* The host's own traces, the reference clock, come first. */
	if (a->host != b->host) {
		return a->host ? -1 : 1;
	}
	return layer_cmp(a->layer, b->layer);
}

static int name_cmp(const void *pa, const void *pb)
{
	return layer_cmp(*(const char *const *) pa, *(const char *const *) pb);
}

static bool layer_selected(const struct graph_state *g, const char *layer, bool host)
{
	size_t i;

	if (!gopt.nr_layers) {
		return true;
	}
	for (i = 0; i < gopt.nr_layers; i++) {
		if (!strcmp(gopt.layers[i], layer) || (host && !strcmp(gopt.layers[i], "host"))) {
			return true;
		}
	}
	return false;
}

/* One band per layer; a layer is the host's when none of its traces has a sync file. */
static int make_bands(struct graph_state *g, size_t nr)
{
	size_t i = 0, j, k;

	g->bands = calloc(nr, sizeof(*g->bands));
	g->trace_band = calloc(nr, sizeof(*g->trace_band));
	if (!g->bands || !g->trace_band) {
		ERR("Out of memory");
		return -1;
	}
	while (i < nr) {
		struct band *b = &g->bands[g->nr_bands];
		bool host = true;
		const char *c;

		for (j = i; j < nr && !strcmp(g->traces[j].layer, g->traces[i].layer); j++) {
			if (g->traces[j].sync.found) {
				host = false;
			}
		}
		if (layer_selected(g, g->traces[i].layer, host)) {
			snprintf(b->layer, sizeof(b->layer), "%s", g->traces[i].layer);
			b->host = host;
			b->width = 1;
			for (c = b->layer; *c; c++) {
				b->depth += *c == '/';
			}
			b->traces = calloc(j - i, sizeof(*b->traces));
			if (!b->traces) {
				ERR("Out of memory");
				return -1;
			}
			for (k = i; k < j; k++) {
				b->traces[b->nr_traces++] = k;
			}
			g->nr_bands++;
		}
		i = j;
	}
	for (i = 0; i < gopt.nr_layers; i++) {
		bool known = false;

		for (j = 0; j < nr; j++) {
			known |= !strcmp(g->traces[j].layer, gopt.layers[i]);
		}
		for (j = 0; j < g->nr_bands; j++) {
			known |= g->bands[j].host && !strcmp(gopt.layers[i], "host");
		}
		if (!known) {
			struct sbuf all = { 0 };
			const char **names = calloc(nr, sizeof(*names));
			size_t nr_names = 0;

			for (j = 0; names && j < nr; j++) {
				if (!j || strcmp(g->traces[j].layer, g->traces[j - 1].layer)) {
					names[nr_names++] = g->traces[j].layer;
				}
			}
			if (names) {
				qsort(names, nr_names, sizeof(*names), name_cmp);
			}
			for (j = 0; j < nr_names; j++) {
				sb_puts(&all, j ? ", " : "");
				sb_puts(&all, names[j]);
			}
			free(names);
			ERR("No layer '%s' under %s; its layers: %s (and 'host' for the host's)",
				gopt.layers[i], g->top, all.b ? all.b : "none");
			free(all.b);
			return -1;
		}
	}
	qsort(g->bands, g->nr_bands, sizeof(*g->bands), band_cmp);
	for (i = 0; i < g->nr_bands; i++) {
		for (k = 0; k < g->bands[i].nr_traces; k++) {
			g->trace_band[g->bands[i].traces[k]] = (uint32_t) i;
		}
	}
	return 0;
}

/* --- links -------------------------------------------------------- */

/*
 * SEND:RECV:FIELD, where LTTng's event names hold colons themselves
 * (hyper_pingpong:send): FIELD is the last part, and the split between
 * SEND and RECV is the one whose two names both occur in the traces.
 */
static int parse_link(struct graph_state *g, const char *arg)
{
	char *copy, *p;
	size_t n = 1, i;

	for (p = (char *) arg; *p; p++) {
		n += *p == ':';
	}
	if (n < 3 || n > MAX_LINK_NAMES + 1 || strstr(arg, "::") || arg[0] == ':' ||
			arg[strlen(arg) - 1] == ':') {
		ERR("Invalid --link '%s': expected SEND:RECV:FIELD (at most %d names in all), "
			"e.g. hyper_pingpong:send:hyper_pingpong:recv:round", arg, MAX_LINK_NAMES);
		return -1;
	}
	copy = strdup(arg);
	if (!copy) {
		ERR("Out of memory");
		return -1;
	}
	p = copy;
	for (i = 0; i < n; i++) {
		char *colon = strchr(p, ':');

		if (colon) {
			*colon = '\0';
		}
		if (i + 1 < n) {
			g->link_names[i] = p;
		} else {
			g->link_field = p;
		}
		p = colon ? colon + 1 : p;
	}
	g->nr_link_names = n - 1;
	g->link_copy = copy;
	g->linking = true;
	return 0;
}

/* --- the command -------------------------------------------------- */

int lh_graph_cmd(const char *top, struct lh_trace *traces, size_t nr, int verbose)
{
	struct graph_state g = {
		.top = top, .link_arg = gopt.link, .traces = traces, .nr_traces = nr,
		.max_detail = DEFAULT_MAX_DETAIL,
	};
	struct link_result links = { 0 };
	const char *output = gopt.output ? gopt.output : DEFAULT_OUTPUT;
	struct timespec start, end;
	char first[48], last[48], abs_out[PATH_MAX];
	int ret = -1;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (check_time_option("--from", gopt.from, &g.from_spec) ||
			check_time_option("--to", gopt.to, &g.to_spec) ||
			(gopt.link && parse_link(&g, gopt.link))) {
		goto end;
	}
	if (gopt.max_detail && lh_parse_u64(gopt.max_detail, 0, UINT32_MAX, &g.max_detail)) {
		ERR("Invalid --max-detail '%s': give a number of events, 0 to %u", gopt.max_detail,
			UINT32_MAX);
		goto end;
	}
	if (g.from_spec.kind == TS_ABS && g.to_spec.kind == TS_ABS &&
			g.from_spec.ns >= g.to_spec.ns) {
		ERR("--from (%s) must come before --to (%s)", gopt.from, gopt.to);
		goto end;
	}
	if (!*output) {
		ERR("Invalid -o '': give a file name");
		goto end;
	}
	if (!nr) {
		ERR("No trace under %s: give the output directory of lttng-hyper-relayd (-o)", top);
		goto end;
	}
	if (make_bands(&g, nr)) {
		goto end;
	}
	if (graph_read(&g, verbose)) {
		goto end;
	}
	if (!g.events) {
		if (g.win_from != INT64_MIN || g.win_to != INT64_MAX) {
			format_utc(g.win_from, first, sizeof(first));
			format_utc(g.win_to, last, sizeof(last));
			ERR("No event between %s and %s UTC in the traces under %s",
				g.win_from != INT64_MIN ? first : "the start",
				g.win_to != INT64_MAX ? last : "the end", top);
		} else {
			ERR("The traces under %s hold no event", top);
		}
		goto end;
	}
	if (g.linking && graph_match_links(&g, &links)) {
		goto end;
	}
	if (graph_write_html(&g, &links, output)) {
		goto end;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (!realpath(output, abs_out)) {
		snprintf(abs_out, sizeof(abs_out), "%s", output);
	}
	format_utc(g.first_ns, first, sizeof(first));
	format_utc(g.last_ns, last, sizeof(last));
	printf("Graph of %zu layer%s, %" PRIu64 " events from %s to %s UTC, written to %s "
		"in %.1f s\n", g.nr_bands, g.nr_bands == 1 ? "" : "s", g.events, first, last,
		abs_out,
		(double) (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
	for (size_t i = 0; i < g.nr_bands; i++) {
		const struct band *b = &g.bands[i];

		if (b->aggregated) {
			char dur[32];

			format_duration(b->width, dur, sizeof(dur));
			printf("  %s: %" PRIu64 " events aggregated into buckets of %s per CPU\n",
				b->layer, b->events, dur);
		}
	}
	if (g.linking && links.resolved) {
		printf("  links %s -> %s by %s: %zu matched, %" PRIu64 " back in time (%" PRIu64
			" beyond the error bounds)\n", links.send, links.recv, g.link_field, links.nr,
			links.backward, links.beyond);
	} else if (g.linking) {
		printf("  links %s: no such events, no link\n", gopt.link);
	}
	ret = 0;
end:
	free(links.links);
	graph_state_free(&g);
	free_opts();
	return ret;
}
