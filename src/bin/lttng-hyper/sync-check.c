/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper sync-check DIR: the real error of each guest's clock
 * correction, measured by its hypercall markers (lttng-hyper mark).
 *
 * A marker is seen twice: in the guest's trace (lttng_hyper:mark, on the
 * guest's corrected clock, just before the call) and in the trace of the
 * layer below, whose kernel recorded kvm_x86_hypercall at the exit, on
 * that layer's clock. The VM that made a hypercall is its vCPU thread's
 * name (the procname context; launch-guest.sh names QEMU's threads after
 * the VM), under the layer that recorded it. Markers pair up by their
 * registers (text and number), in time order when several runs repeat
 * them. The difference of the two stamps is the exit's latency, which is
 * not negative, plus the correction's error: its smallest value over many
 * markers must lie within the error bound the relay recorded, from below
 * always, and from above as long as the shortest latency is small against
 * the bound.
 */
#include <babeltrace2/babeltrace.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "marker.h"
#include "sync-check.h"
#include "trace-read.h"

struct mark {
	const char *layer;	/* the guest's layer; points into a trace or names */
	uint64_t a[4];
	int64_t ns;
};

struct marks {
	struct mark *v;
	size_t nr, alloc;
};

struct check {
	struct marks host, guest;
	/* Layers named from a host trace: the parent's layer and a procname. */
	char **names;
	size_t nr_names;
	size_t unattributed;
	bool oom;
};

static struct mark *marks_add(struct check *c, struct marks *m)
{
	if (m->nr == m->alloc) {
		size_t n = m->alloc ? 2 * m->alloc : 1024;
		struct mark *v = realloc(m->v, n * sizeof(*v));

		if (!v) {
			c->oom = true;
			return NULL;
		}
		m->v = v;
		m->alloc = n;
	}
	return &m->v[m->nr++];
}

/* The layer a host trace's procname names: interned, so that marks share it. */
static const char *child_layer(struct check *c, const struct lh_trace *t, const char *procname)
{
	char name[LH_MARKER_LAYER_LEN], **names;
	size_t i;

	lh_marker_layer(t, procname, name, sizeof(name));
	for (i = 0; i < c->nr_names; i++) {
		if (!strcmp(c->names[i], name)) {
			return c->names[i];
		}
	}
	names = realloc(c->names, (c->nr_names + 1) * sizeof(*names));
	if (!names) {
		c->oom = true;
		return NULL;
	}
	c->names = names;
	names[c->nr_names] = strdup(name);
	if (!names[c->nr_names]) {
		c->oom = true;
		return NULL;
	}
	return names[c->nr_names++];
}

struct reading {
	struct check *c;
	const struct lh_trace *t;
};

static void on_event(const bt_event *event, bool has_ns, int64_t ns, void *arg)
{
	struct reading *r = arg;
	const char *procname, *layer;
	struct mark *m;
	uint64_t a[4];

	if (!has_ns) {
		return;
	}
	if (lh_marker_host(event, a, &procname)) {
		if (!procname) {
			r->c->unattributed++;
			return;
		}
		layer = child_layer(r->c, r->t, procname);
		m = layer ? marks_add(r->c, &r->c->host) : NULL;
	} else if (lh_marker_guest(event, a)) {
		layer = r->t->layer;
		m = marks_add(r->c, &r->c->guest);
	} else {
		return;
	}
	if (m) {
		m->layer = layer;
		memcpy(m->a, a, sizeof(m->a));
		m->ns = ns;
	}
}

/* Markers with the same guest layer and registers. */
static int key_cmp(const struct mark *a, const struct mark *b)
{
	int i, d = strcmp(a->layer, b->layer);

	if (d) {
		return d;
	}
	for (i = 0; i < 4; i++) {
		if (a->a[i] != b->a[i]) {
			return a->a[i] < b->a[i] ? -1 : 1;
		}
	}
	return 0;
}

/* By key, then in time order. */
static int mark_cmp(const void *pa, const void *pb)
{
	const struct mark *a = pa, *b = pb;
	int d = key_cmp(a, b);

	return d ? d : (a->ns > b->ns) - (a->ns < b->ns);
}

static int i64_cmp(const void *pa, const void *pb)
{
	int64_t a = *(const int64_t *) pa, b = *(const int64_t *) pb;

	return (a > b) - (a < b);
}

/* The error bound the relay recorded for layer, from its traces' sync files. */
static bool layer_bound(const struct lh_trace *traces, size_t nr, const char *layer,
		uint64_t *bound)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		if (!strcmp(traces[i].layer, layer) && traces[i].sync.found &&
				traces[i].sync.has_error) {
			*bound = traces[i].sync.error_ns;
			return true;
		}
	}
	return false;
}

/*
 * Pair the marks of one guest layer (g[0..ng), h[0..nh), sorted)
 * and print its line: markers in the guest's trace, in the trace below,
 * pairs, the differences (below minus guest), the bound. Returns true if
 * the smallest difference lies within the bound.
 */
static bool report_layer(const struct lh_trace *traces, size_t nr_traces, const struct mark *g,
		size_t ng, const struct mark *h, size_t nh)
{
	int64_t *d = calloc(ng ? ng : 1, sizeof(*d));
	size_t gi = 0, hi = 0, n = 0;
	uint64_t bound = 0;
	bool has_bound, ok;
	char verdict[64];

	if (!d) {
		ERR("Out of memory");
		return false;
	}
	while (gi < ng && hi < nh) {
		int k = key_cmp(&g[gi], &h[hi]);

		if (k < 0) {
			gi++;
		} else if (k > 0) {
			hi++;
		} else {
			d[n++] = h[hi++].ns - g[gi++].ns;
		}
	}
	qsort(d, n, sizeof(*d), i64_cmp);
	has_bound = layer_bound(traces, nr_traces, g->layer, &bound);
	ok = n && has_bound && (uint64_t) llabs(d[0]) <= bound;
	if (!n) {
		snprintf(verdict, sizeof(verdict), "no pair");
	} else if (!has_bound) {
		snprintf(verdict, sizeof(verdict), "no bound recorded");
	} else {
		snprintf(verdict, sizeof(verdict), "%s", ok ? "within" : "OUT OF BOUND");
	}
	printf("%-20s %8zu %8zu %8zu %12.3f %12.3f %12.3f %12.3f  %s\n", g->layer, ng, nh, n,
		n ? (double) d[0] / 1e3 : 0.0, n ? (double) d[(n - 1) / 2] / 1e3 : 0.0,
		n ? (double) d[n - 1] / 1e3 : 0.0, (double) bound / 1e3, verdict);
	free(d);
	return ok;
}

int lh_sync_check_cmd(const struct lh_trace *traces, size_t nr, int verbose)
{
	const bt_plugin *plugin = NULL;
	const bt_component_class_source *fs_class;
	struct check c = { 0 };
	size_t i, gi, hi, checked = 0, good = 0;
	int ret = 0;

	fs_class = lh_trace_fs_class(&plugin);
	if (!fs_class) {
		return -1;
	}
	for (i = 0; i < nr; i++) {
		struct reading r = { .c = &c, .t = &traces[i] };

		if (lh_trace_read(fs_class, &traces[i], verbose, on_event, &r) < 0) {
			ret = -1;
		}
	}
	bt_plugin_put_ref(plugin);
	if (c.oom) {
		ERR("Out of memory");
		ret = -1;
		goto end;
	}
	qsort(c.guest.v, c.guest.nr, sizeof(*c.guest.v), mark_cmp);
	qsort(c.host.v, c.host.nr, sizeof(*c.host.v), mark_cmp);
	printf("%-20s %8s %8s %8s %12s %12s %12s %12s  %s\n", "LAYER", "GUEST", "HOST", "PAIRS",
		"MIN (us)", "MEDIAN (us)", "MAX (us)", "BOUND (us)", "VERDICT");
	for (gi = 0, hi = 0; gi < c.guest.nr;) {
		const char *layer = c.guest.v[gi].layer;
		size_t gj = gi, hj;

		while (gj < c.guest.nr && !strcmp(c.guest.v[gj].layer, layer)) {
			gj++;
		}
		while (hi < c.host.nr && strcmp(c.host.v[hi].layer, layer) < 0) {
			hi++;
		}
		for (hj = hi; hj < c.host.nr && !strcmp(c.host.v[hj].layer, layer); hj++) {
		}
		checked++;
		if (report_layer(traces, nr, &c.guest.v[gi], gj - gi, &c.host.v[hi], hj - hi)) {
			good++;
		}
		gi = gj;
		hi = hj;
	}
	if (c.unattributed) {
		WARN("%zu marker hypercalls with no procname context: record kvm_x86_hypercall"
			" with 'lttng add-context -k -t procname' to tell their VMs", c.unattributed);
	}
	if (!checked) {
		printf("No marker made by a hypercall under the traces (lttng-hyper mark in a"
			" guest, kvm_x86_hypercall recorded below it)\n");
		ret = -1;
	} else if (good < checked) {
		ret = -1;
	}
end:
	for (i = 0; i < c.nr_names; i++) {
		free(c.names[i]);
	}
	free(c.names);
	free(c.guest.v);
	free(c.host.v);
	return ret;
}
