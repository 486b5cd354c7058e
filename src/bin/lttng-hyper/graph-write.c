/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper graph: writing the page (graph-model.h), the template
 * graph-template.html with its @LH_...@ tokens replaced: the data as JSON
 * and a plain table of the layers.
 *
 * A guest controls the contents of its trace: every string goes into the
 * file JSON-escaped, with '<', '>' and '&' escaped too (sb_json_str()),
 * or HTML-escaped in the table, and the page shows them as text only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "graph-model.h"

/* graph-template.c, made from graph-template.html by the build. */
extern const char lh_graph_template[];

#define LINK_BUCKETS		4096

struct out {
	FILE *f;
	struct sbuf sb;
};

static void out_flush(struct out *o)
{
	if (o->sb.len) {
		fwrite(o->sb.b, 1, o->sb.len, o->f);
		o->sb.len = 0;
	}
}

static void out_check(struct out *o)
{
	if (o->sb.len > (1 << 20)) {
		out_flush(o);
	}
}

#define OUT_PRINTF(o, ...) do { sb_printf(&(o)->sb, __VA_ARGS__); out_check(o); } while (0)

static void out_str(struct out *o, const char *s)
{
	sb_json_str(&o->sb, s, strlen(s), 0);
	out_check(o);
}

/* A path under the top directory, relative to it. */
static const char *rel_path(const struct graph_state *g, const char *path)
{
	size_t n = strlen(g->top);

	if (!strncmp(path, g->top, n) && path[n] == '/') {
		return path + n + 1;
	}
	return path;
}

static void write_sync(struct out *o, const struct graph_state *g, const struct band *b)
{
	size_t i, j;
	bool first = true;

	sb_puts(&o->sb, "[");
	for (i = 0; i < b->nr_traces; i++) {
		const struct lh_sync_info *si = &g->traces[b->traces[i]].sync;
		bool dup = false;

		for (j = 0; j < i; j++) {
			dup |= !strcmp(g->traces[b->traces[j]].sync.path, si->path);
		}
		if (!si->found || dup) {
			continue;
		}
		sb_puts(&o->sb, first ? "{\"file\":" : ",{\"file\":");
		first = false;
		out_str(o, rel_path(g, si->path));
		sb_puts(&o->sb, ",\"status\":");
		out_str(o, si->status[0] ? si->status : "unknown");
		if (si->has_offset && si->has_guest_offset) {
			OUT_PRINTF(o, ",\"shift_ns\":%" PRId64, lh_sync_shift_ns(si));
		}
		if (si->has_error) {
			OUT_PRINTF(o, ",\"error_ns\":%" PRIu64, si->error_ns);
		}
		sb_puts(&o->sb, "}");
	}
	sb_puts(&o->sb, "]");
}

static int span_cmp(const void *pa, const void *pb)
{
	const struct span_rec *a = pa, *b = pb;

	if (a->start != b->start) {
		return a->start < b->start ? -1 : 1;
	}
	return a->lane < b->lane ? -1 : a->lane > b->lane;
}

static int cpu_cmp(const void *pa, const void *pb)
{
	const struct lane *const *a = pa, *const *b = pb;

	/* The lane of no CPU last. */
	if ((*a)->cpu < 0 || (*b)->cpu < 0) {
		return (*a)->cpu < 0 ? ((*b)->cpu < 0 ? 0 : 1) : -1;
	}
	return (*a)->cpu < (*b)->cpu ? -1 : (*a)->cpu > (*b)->cpu;
}

/* A JSON array of one member of each record, with deltas when asked. */
#define WRITE_COLUMN(o, name, arr, nr, expr, delta) do {			\
	int64_t prev_ = 0;							\
	size_t i_;								\
										\
	sb_puts(&(o)->sb, "\"" name "\":[");					\
	for (i_ = 0; i_ < (nr); i_++) {						\
		int64_t v_ = (int64_t) (arr)[i_].expr;				\
										\
		OUT_PRINTF(o, i_ ? ",%" PRId64 : "%" PRId64, (delta) ? v_ - prev_ : v_);	\
		prev_ = v_;							\
	}									\
	sb_puts(&(o)->sb, "]");							\
} while (0)

/* A lane's buckets, those not empty, one column per member. */
static void write_buckets(struct out *o, const struct bucket *h)
{
	const char *names[] = { "i", "n", "b", "tid", "comm" };
	size_t c, j;

	sb_puts(&o->sb, "{");
	for (c = 0; c < 5; c++) {
		size_t prev = 0, nr = 0;

		OUT_PRINTF(o, "%s\"%s\":[", c ? "," : "", names[c]);
		for (j = 0; h && j < NR_BUCKETS; j++) {
			int64_t v;

			if (!h[j].count && !h[j].busy_ns) {
				continue;
			}
			switch (c) {
			case 0:
				v = (int64_t) (j - prev);	/* delta-encoded */
				prev = j;
				break;
			case 1:
				v = h[j].count;
				break;
			case 2:
				v = (int64_t) h[j].busy_ns;
				break;
			case 3:
				v = h[j].top_tid;
				break;
			default:
				v = h[j].top_tid >= 0 ? h[j].top_comm : 0;
				break;
			}
			OUT_PRINTF(o, "%s%" PRId64, nr++ ? "," : "", v);
		}
		sb_puts(&o->sb, "]");
	}
	sb_puts(&o->sb, "}");
}

static int write_band(struct out *o, struct graph_state *g, struct band *b)
{
	struct lane **sorted = calloc(b->nr_lanes ? b->nr_lanes : 1, sizeof(*sorted));
	uint32_t *order = calloc(b->nr_lanes ? b->nr_lanes : 1, sizeof(*order));
	size_t i, j;

	if (!sorted || !order) {
		free(sorted);
		free(order);
		ERR("Out of memory");
		return -1;
	}
	for (i = 0; i < b->nr_lanes; i++) {
		sorted[i] = &b->lanes[i];
	}
	qsort(sorted, b->nr_lanes, sizeof(*sorted), cpu_cmp);
	for (i = 0; i < b->nr_lanes; i++) {
		order[sorted[i] - b->lanes] = (uint32_t) i;
	}
	sb_puts(&o->sb, "{\"layer\":");
	out_str(o, b->layer);
	OUT_PRINTF(o, ",\"host\":%s,\"depth\":%d,\"traces\":[", b->host ? "true" : "false",
		b->depth);
	for (i = 0; i < b->nr_traces; i++) {
		sb_puts(&o->sb, i ? "," : "");
		out_str(o, rel_path(g, g->traces[b->traces[i]].dir));
	}
	sb_puts(&o->sb, "],\"sync\":");
	write_sync(o, g, b);
	OUT_PRINTF(o, ",\"events\":%" PRIu64 ",\"switches\":%" PRIu64 ",\"spans\":%" PRIu64,
		b->events, b->switches, b->spans);
	OUT_PRINTF(o, ",\"discarded\":%" PRIu64 ",\"discarded_unknown\":%" PRIu64
		",\"lost_packets\":%" PRIu64, b->discarded, b->discarded_unknown, b->lost_packets);
	OUT_PRINTF(o, ",\"kernel\":%s,\"aggregated\":%s,\"cpus\":[", b->kernel ? "true" : "false",
		b->aggregated ? "true" : "false");
	for (i = 0; i < b->nr_lanes; i++) {
		OUT_PRINTF(o, i ? ",%" PRId64 : "%" PRId64, sorted[i]->cpu);
	}
	sb_puts(&o->sb, "],\"classes\":[");
	for (i = 0, j = 0; i < b->nr_class_counts; i++) {
		if (b->class_counts[i]) {
			OUT_PRINTF(o, j++ ? ",[%zu,%" PRIu64 "]" : "[%zu,%" PRIu64 "]", i,
				b->class_counts[i]);
		}
	}
	sb_puts(&o->sb, "]");
	if (!b->aggregated) {
		for (i = 0; i < b->nr_ev; i++) {
			b->ev[i].lane = order[b->ev[i].lane];
		}
		for (i = 0; i < b->nr_sp; i++) {
			b->sp[i].lane = order[b->sp[i].lane];
		}
		qsort(b->sp, b->nr_sp, sizeof(*b->sp), span_cmp);
		sb_puts(&o->sb, ",\"ev\":{");
		WRITE_COLUMN(o, "t", b->ev, b->nr_ev, t, true);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "l", b->ev, b->nr_ev, lane, false);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "c", b->ev, b->nr_ev, cls, false);
		sb_puts(&o->sb, ",\"v\":[");
		for (i = 0; i < b->nr_ev; i++) {
			sb_puts(&o->sb, i ? "," : "");
			sb_putn(&o->sb, b->vals.b + b->ev[i].voff, b->ev[i].vlen);
			out_check(o);
		}
		sb_puts(&o->sb, "]},\"sp\":{");
		WRITE_COLUMN(o, "t", b->sp, b->nr_sp, start, true);
		sb_puts(&o->sb, ",\"d\":[");
		for (i = 0; i < b->nr_sp; i++) {
			OUT_PRINTF(o, i ? ",%" PRId64 : "%" PRId64, b->sp[i].end - b->sp[i].start);
		}
		sb_puts(&o->sb, "],");
		WRITE_COLUMN(o, "l", b->sp, b->nr_sp, lane, false);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "tid", b->sp, b->nr_sp, tid, false);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "comm", b->sp, b->nr_sp, comm, false);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "prio", b->sp, b->nr_sp, prio, false);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "st", b->sp, b->nr_sp, end_state, false);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "f", b->sp, b->nr_sp, flags, false);
		sb_puts(&o->sb, "}");
	} else {
		OUT_PRINTF(o, ",\"agg\":{\"w\":%" PRIu64 ",\"lanes\":[", b->width);
		for (i = 0; i < b->nr_lanes; i++) {
			sb_puts(&o->sb, i ? "," : "");
			write_buckets(o, sorted[i]->hist);
		}
		sb_puts(&o->sb, "]}");
	}
	sb_puts(&o->sb, "}");
	out_check(o);
	free(sorted);
	free(order);
	return 0;
}

/* Aggregated links: one group per bucket of send time and pair of bands. */
static uint64_t link_bucket_w;

static int link_group_cmp(const void *pa, const void *pb)
{
	const struct link *a = pa, *b = pb;
	uint64_t ka = (uint64_t) a->st / link_bucket_w, kb = (uint64_t) b->st / link_bucket_w;

	if (ka != kb) {
		return ka < kb ? -1 : 1;
	}
	if (a->sb != b->sb) {
		return a->sb < b->sb ? -1 : 1;
	}
	return a->rb < b->rb ? -1 : a->rb > b->rb;
}

static void write_links(struct out *o, struct graph_state *g, const struct link_result *r)
{
	size_t i;

	if (!g->linking) {
		sb_puts(&o->sb, "null");
		return;
	}
	sb_puts(&o->sb, "{\"arg\":");
	out_str(o, g->link_arg);
	sb_puts(&o->sb, ",\"send\":");
	out_str(o, r->send);
	sb_puts(&o->sb, ",\"recv\":");
	out_str(o, r->recv);
	sb_puts(&o->sb, ",\"field\":");
	out_str(o, g->link_field);
	OUT_PRINTF(o, ",\"resolved\":%s,\"sends\":%" PRIu64 ",\"recvs\":%" PRIu64
		",\"matched\":%zu,\"backward\":%" PRIu64 ",\"beyond\":%" PRIu64,
		r->resolved ? "true" : "false", r->sends, r->recvs, r->nr, r->backward, r->beyond);
	if (r->nr <= MAX_LINK_DETAIL) {
		sb_puts(&o->sb, ",\"aggregated\":false,");
		WRITE_COLUMN(o, "st", r->links, r->nr, st, true);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "rt", r->links, r->nr, rt, false);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "sb", r->links, r->nr, sb, false);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "sl", r->links, r->nr, sl, false);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "rb", r->links, r->nr, rb, false);
		sb_puts(&o->sb, ",");
		WRITE_COLUMN(o, "rl", r->links, r->nr, rl, false);
	} else {
		/*
		 * Too many to draw one by one: one link per band pair and
		 * bucket of send time, with how many it stands for.
		 */
		int64_t end = g->last_ns - g->t0;
		size_t j;

		link_bucket_w = 1;
		while ((uint64_t) end >= link_bucket_w * LINK_BUCKETS) {
			link_bucket_w *= 2;
		}
		qsort(r->links, r->nr, sizeof(*r->links), link_group_cmp);
		OUT_PRINTF(o, ",\"aggregated\":true,\"w\":%" PRIu64 ",\"groups\":[", link_bucket_w);
		for (i = 0; i < r->nr; i = j) {
			const struct link *a = &r->links[i];
			uint64_t n = 0, back = 0;
			int64_t min = INT64_MAX, max = INT64_MIN;

			for (j = i; j < r->nr && !link_group_cmp(a, &r->links[j]); j++) {
				int64_t d = r->links[j].rt - r->links[j].st;

				n++;
				back += d < 0;
				min = d < min ? d : min;
				max = d > max ? d : max;
			}
			OUT_PRINTF(o, "%s[%" PRId64 ",%" PRId64 ",%u,%u,%u,%u,%" PRIu64 ",%" PRIu64
				",%" PRId64 ",%" PRId64 "]", i ? "," : "", a->st, a->rt, a->sb,
				a->sl, a->rb, a->rl, n, back, min, max);
		}
		sb_puts(&o->sb, "]");
	}
	sb_puts(&o->sb, "}");
}

static void write_data(struct out *o, struct graph_state *g, const struct link_result *r)
{
	char t0[48], from[48], to[48], now[32];
	time_t wall = time(NULL);
	struct tm tm;
	size_t i;

	format_utc(g->t0, t0, sizeof(t0));
	format_utc(g->win_from, from, sizeof(from));
	format_utc(g->win_to, to, sizeof(to));
	gmtime_r(&wall, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sb_puts(&o->sb, "{\"format\":1,\"generator\":\"lttng-hyper graph\",\"dir\":");
	out_str(o, g->top);
	sb_puts(&o->sb, ",\"written_at\":");
	out_str(o, now);
	OUT_PRINTF(o, ",\"t0\":\"%" PRId64 "\",\"t0_utc\":", g->t0);
	out_str(o, t0);
	OUT_PRINTF(o, ",\"end\":%" PRId64 ",\"events\":%" PRIu64 ",\"max_detail\":%" PRIu64,
		g->last_ns - g->t0, g->events, g->max_detail);
	sb_puts(&o->sb, ",\"from\":");
	if (g->win_from != INT64_MIN) {
		out_str(o, from);
	} else {
		sb_puts(&o->sb, "null");
	}
	sb_puts(&o->sb, ",\"to\":");
	if (g->win_to != INT64_MAX) {
		out_str(o, to);
	} else {
		sb_puts(&o->sb, "null");
	}
	sb_puts(&o->sb, ",\"classes\":[");
	for (i = 0; i < g->nr_cls; i++) {
		sb_puts(&o->sb, i ? ",[" : "[");
		out_str(o, g->cls[i].name);
		sb_puts(&o->sb, ",");
		sb_puts(&o->sb, g->cls[i].fields);
		sb_puts(&o->sb, "]");
	}
	sb_puts(&o->sb, "],\"comms\":[");
	for (i = 0; i < g->comms.nr; i++) {
		sb_puts(&o->sb, i ? "," : "");
		out_str(o, g->comms.strs[i]);
	}
	sb_puts(&o->sb, "],\"bands\":[");
	for (i = 0; i < g->nr_bands; i++) {
		sb_puts(&o->sb, i ? "," : "");
		write_band(o, g, &g->bands[i]);
	}
	sb_puts(&o->sb, "],\"links\":");
	write_links(o, g, r);
	sb_puts(&o->sb, "}");
}

static void html_text(struct out *o, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			sb_puts(&o->sb, "&lt;");
			break;
		case '>':
			sb_puts(&o->sb, "&gt;");
			break;
		case '&':
			sb_puts(&o->sb, "&amp;");
			break;
		case '"':
			sb_puts(&o->sb, "&quot;");
			break;
		default:
			sb_putn(&o->sb, s, 1);
			break;
		}
	}
	out_check(o);
}

/* The same facts as the page's bands, as a plain table: readable without scripts. */
static void write_summary(struct out *o, struct graph_state *g, const struct link_result *r)
{
	size_t i, j;

	sb_puts(&o->sb, "<table class=\"summary\"><thead><tr><th>Layer</th><th>Clock</th>"
		"<th>Traces</th><th>Events</th><th>What ran</th><th>CPUs</th><th>In this file</th>"
		"<th>Clock correction</th><th>Error bound</th></tr></thead><tbody>\n");
	for (i = 0; i < g->nr_bands; i++) {
		const struct band *b = &g->bands[i];
		char buf[160], dur[32];
		uint64_t err = band_error_ns(g, b);
		bool any_sync = false;

		OUT_PRINTF(o, "<tr data-layer-row=\"%zu\"><td>", i);
		html_text(o, b->layer);
		sb_puts(&o->sb, b->host ? "</td><td>host (reference)</td>" :
			"</td><td>guest</td>");
		OUT_PRINTF(o, "<td>%zu</td><td>%" PRIu64 "%s</td>", b->nr_traces, b->events,
			b->discarded || b->discarded_unknown || b->lost_packets ?
				" (and events the tracer discarded or lost)" : "");
		if (b->kernel) {
			OUT_PRINTF(o, "<td>%" PRIu64 " spans from %" PRIu64 " sched_switch</td>",
				b->spans, b->switches);
		} else {
			sb_puts(&o->sb, "<td>kernel not traced: event density</td>");
		}
		OUT_PRINTF(o, "<td>%zu</td>", b->nr_lanes);
		if (b->aggregated) {
			format_duration(b->width, dur, sizeof(dur));
			snprintf(buf, sizeof(buf), "aggregated into buckets of %s per CPU", dur);
		} else {
			snprintf(buf, sizeof(buf), "every event and span");
		}
		OUT_PRINTF(o, "<td>%s</td><td>", buf);
		for (j = 0; j < b->nr_traces; j++) {
			const struct lh_sync_info *si = &g->traces[b->traces[j]].sync;

			if (si->found && (!j || strcmp(si->path,
					g->traces[b->traces[j - 1]].sync.path))) {
				if (si->has_offset && si->has_guest_offset) {
					snprintf(buf, sizeof(buf), "%s%+.9f s (%s)",
						any_sync ? "; " : "", lh_sync_shift_ns(si) / 1e9,
						si->status);
				} else {
					snprintf(buf, sizeof(buf), "%s%s", any_sync ? "; " : "",
						si->status[0] ? si->status : "unknown");
				}
				html_text(o, buf);
				any_sync = true;
			}
		}
		if (!any_sync) {
			sb_puts(&o->sb, b->host ? "none: the host's clock" : "none");
		}
		format_duration(err, dur, sizeof(dur));
		OUT_PRINTF(o, "</td><td>%s</td></tr>\n", b->host ? "0 (reference)" : dur);
	}
	sb_puts(&o->sb, "</tbody></table>\n");
	if (g->linking) {
		sb_puts(&o->sb, "<p class=\"links-summary\">Links ");
		html_text(o, g->link_arg);
		if (r->resolved) {
			OUT_PRINTF(o, ": %zu matched (%" PRIu64 " sends, %" PRIu64
				" receives), %" PRIu64 " going back in time, %" PRIu64
				" by more than the error bounds%s.</p>\n", r->nr, r->sends,
				r->recvs, r->backward, r->beyond,
				r->nr > MAX_LINK_DETAIL ?
					"; aggregated per band pair and time bucket" : "");
		} else {
			sb_puts(&o->sb, ": no such events in these layers.</p>\n");
		}
	}
}

int graph_write_html(struct graph_state *g, const struct link_result *r, const char *path)
{
	const char *tpl = lh_graph_template, *tok;
	char *tmp = malloc(strlen(path) + 16);
	struct out o = { 0 };
	mode_t mask;
	int fd, ret = -1;

	if (!tmp) {
		ERR("Out of memory");
		return -1;
	}
	/* Written aside, then renamed: a failure leaves no half file. */
	sprintf(tmp, "%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		PERROR("Cannot write %s", path);
		free(tmp);
		return -1;
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0) {
		PERROR("%s", tmp);
	}
	o.f = fdopen(fd, "w");
	if (!o.f) {
		PERROR("%s", tmp);
		close(fd);
		goto end;
	}
	while ((tok = strstr(tpl, "@LH_"))) {
		const char *close_tok = strchr(tok + 4, '@');
		size_t len;

		if (!close_tok) {
			break;
		}
		sb_putn(&o.sb, tpl, (size_t) (tok - tpl));
		len = (size_t) (close_tok - tok) + 1;
		if (!strncmp(tok, "@LH_DATA@", len)) {
			write_data(&o, g, r);
		} else if (!strncmp(tok, "@LH_SUMMARY@", len)) {
			write_summary(&o, g, r);
		} else if (!strncmp(tok, "@LH_TITLE@", len)) {
			html_text(&o, "lttng-hyper graph: ");
			html_text(&o, g->top);
		} else {
			sb_putn(&o.sb, tok, len);
		}
		out_check(&o);
		tpl = close_tok + 1;
	}
	sb_puts(&o.sb, tpl);
	out_flush(&o);
	if (o.sb.failed) {
		ERR("Out of memory");
		goto end;
	}
	if (fflush(o.f) || ferror(o.f)) {
		PERROR("%s", tmp);
		goto end;
	}
	if (fclose(o.f)) {
		o.f = NULL;
		PERROR("%s", tmp);
		goto end;
	}
	o.f = NULL;
	if (rename(tmp, path) < 0) {
		PERROR("Cannot write %s", path);
		goto end;
	}
	ret = 0;
end:
	if (o.f) {
		fclose(o.f);
	}
	if (ret) {
		unlink(tmp);
	}
	free(o.sb.b);
	free(tmp);
	return ret;
}
