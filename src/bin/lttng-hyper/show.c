/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper show DIR: one line per layer (show.h), and below it the
 * hypercall markers (lttng-hyper mark) the layer made and those it
 * recorded of the VMs it runs, decoded.
 */
#include <babeltrace2/babeltrace.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "marker.h"
#include "show.h"
#include "trace-read.h"

/* The markers of a layer's traces: made there, and recorded there per VM. */
struct seen {
	char layer[LH_MARKER_LAYER_LEN];
	char text[LH_MARKER_TEXT_LEN];
	bool other_text;
	uint64_t count, first, last;
};

struct tally {
	uint64_t made;
	struct seen *seen;
	size_t nr;
	bool oom;
};

struct counting {
	struct lh_trace *t;
	struct tally *tally;
};

static void tally_recorded(struct tally *tally, const struct lh_trace *t, const char *procname,
		const uint64_t a[4])
{
	char layer[LH_MARKER_LAYER_LEN], text[LH_MARKER_TEXT_LEN];
	struct seen *s;
	size_t i;

	if (procname) {
		lh_marker_layer(t, procname, layer, sizeof(layer));
	} else {
		snprintf(layer, sizeof(layer), "a VM not named (no procname context)");
	}
	lh_marker_text(a, text);
	for (i = 0; i < tally->nr && strcmp(tally->seen[i].layer, layer); i++) {
	}
	if (i == tally->nr) {
		s = realloc(tally->seen, (tally->nr + 1) * sizeof(*s));
		if (!s) {
			tally->oom = true;
			return;
		}
		tally->seen = s;
		s = &s[tally->nr++];
		memset(s, 0, sizeof(*s));
		snprintf(s->layer, sizeof(s->layer), "%s", layer);
		snprintf(s->text, sizeof(s->text), "%s", text);
		s->first = s->last = a[3];
	}
	s = &tally->seen[i];
	s->count++;
	s->other_text |= strcmp(s->text, text) != 0;
	if (a[3] < s->first) {
		s->first = a[3];
	}
	if (a[3] > s->last) {
		s->last = a[3];
	}
}

static void count_event(const bt_event *event, bool has_ns, int64_t ns, void *arg)
{
	struct counting *c = arg;
	struct lh_trace *t = c->t;
	const char *procname;
	uint64_t a[4];

	t->events++;
	if (has_ns) {
		if (!t->has_range || ns < t->first_ns) {
			t->first_ns = ns;
		}
		if (!t->has_range || ns > t->last_ns) {
			t->last_ns = ns;
		}
		t->has_range = true;
	}
	if (lh_marker_guest(event, a)) {
		c->tally->made++;
	} else if (lh_marker_host(event, a, &procname)) {
		tally_recorded(c->tally, t, procname, a);
	}
}

/* The markers below a layer's line; returns -1 if some were not counted. */
static int print_tally(const struct tally *tally)
{
	size_t i;

	if (tally->made) {
		printf("  hypercall markers made here: %" PRIu64 " (lttng_hyper:mark)\n", tally->made);
	}
	for (i = 0; i < tally->nr; i++) {
		const struct seen *s = &tally->seen[i];

		printf("  hypercall markers recorded here: %" PRIu64 " from %s, text '%s'%s,"
			" numbers (a3) %" PRIu64 " to %" PRIu64 "\n", s->count, s->layer, s->text,
			s->other_text ? " and others" : "", s->first, s->last);
	}
	if (tally->oom) {
		ERR("Out of memory: some hypercall markers were not counted");
		return -1;
	}
	return 0;
}

static void format_ns(int64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t) (ns / 1000000000);
	long frac = (long) (ns % 1000000000);
	struct tm tm;
	char date[32];

	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	if (!gmtime_r(&sec, &tm) || !strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm)) {
		snprintf(buf, len, "%" PRId64, ns);
		return;
	}
	snprintf(buf, len, "%s.%09ld", date, frac);
}

static void format_correction(const struct lh_sync_info *si, char *buf, size_t len)
{
	if (!si->found) {
		snprintf(buf, len, "none");
	} else if (!si->has_offset || !si->has_guest_offset) {
		snprintf(buf, len, "%s", si->status[0] ? si->status : "none");
	} else {
		snprintf(buf, len, "%+.6f s, error <= %" PRIu64 " ns%s%s",
			(double) lh_sync_shift_ns(si) / 1e9,
			si->has_error ? si->error_ns : 0,
			strcmp(si->status, "applied") ? ", " : "",
			strcmp(si->status, "applied") ? si->status : "");
	}
}

int lh_show_cmd(const char *top, struct lh_trace *traces, size_t nr, int verbose)
{
	const bt_plugin *plugin = NULL;
	const bt_component_class_source *fs_class;
	size_t i = 0;
	int ret = 0;

	if (!nr) {
		printf("No trace under %s\n", top);
		return 0;
	}
	fs_class = lh_trace_fs_class(&plugin);
	if (!fs_class) {
		return -1;
	}
	printf("%-20s %6s %-4s %12s  %-29s  %-29s  %s\n", "LAYER", "TRACES", "CTF", "EVENTS",
		"FIRST (UTC)", "LAST (UTC)", "CLOCK CORRECTION");
	while (i < nr) {
		struct lh_trace sum = { .has_range = false };
		struct tally tally = { 0 };
		const char *ctf = lh_trace_ctf_version(traces[i].form);
		size_t j, nr_read = 0;
		char events[24] = "-", first[48] = "-", last[48] = "-", corr[96];

		for (j = i; j < nr && !strcmp(traces[j].layer, traces[i].layer);
				j++) {
			struct lh_trace *t = &traces[j];
			struct counting counting = { .t = t, .tally = &tally };
			bool read_ok = lh_trace_read(fs_class, t, verbose, count_event, &counting) == 0;

			if (t->form != traces[i].form) {
				ctf = "mix";
			}
			if (verbose) {
				format_correction(&t->sync, corr, sizeof(corr));
				if (read_ok) {
					snprintf(events, sizeof(events), "%" PRIu64 " events", t->events);
				} else {
					snprintf(events, sizeof(events), "not read");
				}
				printf("  %s: CTF %s, %s, clock correction %s\n", t->dir,
					lh_trace_ctf_version(t->form), events, corr);
			}
			if (!read_ok) {
				ret = -1;
				continue;
			}
			nr_read++;
			sum.events += t->events;
			if (t->has_range) {
				if (!sum.has_range || t->first_ns < sum.first_ns) {
					sum.first_ns = t->first_ns;
				}
				if (!sum.has_range || t->last_ns > sum.last_ns) {
					sum.last_ns = t->last_ns;
				}
				sum.has_range = true;
			}
		}
		/* A layer none of whose traces could be read has no count to give. */
		if (nr_read) {
			snprintf(events, sizeof(events), "%" PRIu64, sum.events);
		} else {
			snprintf(events, sizeof(events), "-");
		}
		if (sum.has_range) {
			format_ns(sum.first_ns, first, sizeof(first));
			format_ns(sum.last_ns, last, sizeof(last));
		}
		format_correction(&traces[i].sync, corr, sizeof(corr));
		printf("%-20s %6zu %-4s %12s  %-29s  %-29s  %s\n", traces[i].layer, j - i,
			ctf, events, first, last, corr);
		if (print_tally(&tally) < 0) {
			ret = -1;
		}
		free(tally.seen);
		i = j;
	}
	bt_plugin_put_ref(plugin);
	return ret;
}

