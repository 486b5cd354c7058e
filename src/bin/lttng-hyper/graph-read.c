/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper graph: reading the traces (graph-model.h). One src.ctf.fs
 * per trace, then flt.utils.muxer: the timeline `babeltrace2 DIR` gives.
 *
 * What ran comes from sched_switch: each switch ends a span of the task
 * that leaves the CPU. The other events are kept with their fields as
 * JSON, for the page's tooltips.
 */
#include <babeltrace2/babeltrace.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "graph-model.h"

/* Longest string value kept for the tooltips. */
#define MAX_TEXT		200
/* How far a send looks for its receive among events of equal value. */
#define MAX_LINK_SCAN		1024

/* What a babeltrace2 event class maps to. */
#define CLS_SWITCH	(1U << 31)
#define CLS_IDX_MASK	0xffffU
#define CLS_SEND_SHIFT	16
#define CLS_RECV_SHIFT	23

/* --- aggregation -------------------------------------------------- */

static int lane_hist(struct band *b, struct lane *l)
{
	if (!l->hist) {
		size_t i;

		l->hist = calloc(NR_BUCKETS, sizeof(*l->hist));
		if (!l->hist) {
			ERR("Out of memory");
			return -1;
		}
		for (i = 0; i < NR_BUCKETS; i++) {
			l->hist[i].top_tid = -1;
		}
	}
	return 0;
}

static void bucket_merge(struct bucket *d, const struct bucket *a, const struct bucket *b)
{
	struct bucket r = {
		.count = a->count + b->count,
		.busy_ns = a->busy_ns + b->busy_ns,
		.top_tid = a->top_tid, .top_comm = a->top_comm, .top_ns = a->top_ns,
	};

	/* One task across both halves is usually one span: add its parts. */
	if (b->top_tid >= 0 && b->top_tid == a->top_tid) {
		r.top_ns += b->top_ns;
	} else if (b->top_ns > a->top_ns) {
		r.top_tid = b->top_tid;
		r.top_comm = b->top_comm;
		r.top_ns = b->top_ns;
	}
	*d = r;
}

/* Widen the band's buckets until rel (ns from t0) falls in the last one. */
static void band_fit(struct band *b, int64_t rel)
{
	size_t i, j;

	while (rel >= 0 && (uint64_t) rel >= b->width * NR_BUCKETS) {
		for (i = 0; i < b->nr_lanes; i++) {
			struct bucket *h = b->lanes[i].hist;

			if (!h) {
				continue;
			}
			for (j = 0; j < NR_BUCKETS / 2; j++) {
				bucket_merge(&h[j], &h[2 * j], &h[2 * j + 1]);
			}
			for (; j < NR_BUCKETS; j++) {
				h[j] = (struct bucket) { .top_tid = -1 };
			}
		}
		b->width *= 2;
	}
}

static void hist_event(struct band *b, struct lane *l, int64_t rel)
{
	band_fit(b, rel);
	l->hist[(uint64_t) rel / b->width].count++;
}

static void hist_span(struct band *b, struct lane *l, const struct span_rec *s)
{
	uint64_t i, last;

	band_fit(b, s->end);
	last = (uint64_t) (s->end > s->start ? s->end - 1 : s->start) / b->width;
	for (i = (uint64_t) s->start / b->width; i <= last && i < NR_BUCKETS; i++) {
		struct bucket *k = &l->hist[i];
		int64_t lo = (int64_t) (i * b->width), hi = (int64_t) ((i + 1) * b->width);
		int64_t from = s->start > lo ? s->start : lo, to = s->end < hi ? s->end : hi;
		uint64_t part = (uint64_t) (to - from);

		k->busy_ns += part;
		if (k->top_tid == s->tid) {
			k->top_ns += part;
		} else if (part > k->top_ns) {
			k->top_tid = s->tid;
			k->top_comm = s->comm;
			k->top_ns = part;
		}
	}
}

/* From detail to buckets: the band's records go into its histograms. */
static int band_aggregate(struct graph_state *g, struct band *b)
{
	size_t i;
	int64_t last = 0;

	for (i = 0; i < b->nr_lanes; i++) {
		if (lane_hist(b, &b->lanes[i])) {
			return -1;
		}
	}
	b->width = 1;
	if (b->nr_ev) {
		last = b->ev[b->nr_ev - 1].t;
	}
	for (i = 0; i < b->nr_sp; i++) {
		if (b->sp[i].end > last) {
			last = b->sp[i].end;
		}
	}
	band_fit(b, last);
	for (i = 0; i < b->nr_ev; i++) {
		hist_event(b, &b->lanes[b->ev[i].lane], b->ev[i].t);
	}
	for (i = 0; i < b->nr_sp; i++) {
		hist_span(b, &b->lanes[b->sp[i].lane], &b->sp[i]);
	}
	g->detail -= b->nr_ev + b->nr_sp;
	free(b->ev);
	free(b->sp);
	free(b->vals.b);
	b->ev = NULL;
	b->sp = NULL;
	memset(&b->vals, 0, sizeof(b->vals));
	b->nr_ev = b->cap_ev = b->nr_sp = b->cap_sp = 0;
	b->aggregated = true;
	DBG("Band %s aggregated into buckets of %" PRIu64 " ns", b->layer, b->width);
	return 0;
}

/* Over budget: aggregate the largest band still in detail. */
static int enforce_budget(struct graph_state *g)
{
	while (g->detail > g->max_detail) {
		struct band *big = NULL;
		size_t i;

		for (i = 0; i < g->nr_bands; i++) {
			struct band *b = &g->bands[i];

			if (!b->aggregated &&
					(!big || b->nr_ev + b->nr_sp > big->nr_ev + big->nr_sp)) {
				big = b;
			}
		}
		if (!big || band_aggregate(g, big)) {
			return -1;
		}
	}
	return 0;
}

/* --- fields ------------------------------------------------------- */

/* A field as text, as babeltrace2's text sink would show it, roughly. */
static void field_text(const bt_field *f, struct sbuf *sb, int depth)
{
	const bt_field_class *fc = bt_field_borrow_class_const(f);
	bt_field_class_type type = bt_field_get_class_type(f);
	uint64_t i, n;

	if (sb->len > MAX_TEXT * 2 || depth > 8) {
		return;
	}
	if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) {
		sb_printf(sb, "%" PRIu64, bt_field_integer_unsigned_get_value(f));
	} else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) {
		sb_printf(sb, "%" PRId64, bt_field_integer_signed_get_value(f));
	} else if (type == BT_FIELD_CLASS_TYPE_BOOL) {
		sb_puts(sb, bt_field_bool_get_value(f) ? "true" : "false");
	} else if (type == BT_FIELD_CLASS_TYPE_BIT_ARRAY) {
		sb_printf(sb, "0x%" PRIx64, bt_field_bit_array_get_value_as_integer(f));
	} else if (type == BT_FIELD_CLASS_TYPE_SINGLE_PRECISION_REAL) {
		sb_printf(sb, "%g", (double) bt_field_real_single_precision_get_value(f));
	} else if (type == BT_FIELD_CLASS_TYPE_DOUBLE_PRECISION_REAL) {
		sb_printf(sb, "%.17g", bt_field_real_double_precision_get_value(f));
	} else if (type == BT_FIELD_CLASS_TYPE_STRING) {
		n = bt_field_string_get_length(f);
		sb_putn(sb, "\"", 1);
		sb_putn(sb, bt_field_string_get_value(f), n > MAX_TEXT ? MAX_TEXT : n);
		sb_putn(sb, "\"", 1);
	} else if (type == BT_FIELD_CLASS_TYPE_STRUCTURE) {
		n = bt_field_class_structure_get_member_count(fc);
		sb_puts(sb, "{ ");
		for (i = 0; i < n; i++) {
			sb_puts(sb, i ? ", " : "");
			sb_puts(sb, bt_field_class_structure_member_get_name(
				bt_field_class_structure_borrow_member_by_index_const(fc, i)));
			sb_puts(sb, " = ");
			field_text(bt_field_structure_borrow_member_field_by_index_const(f, i), sb,
				depth + 1);
		}
		sb_puts(sb, " }");
	} else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_ARRAY)) {
		n = bt_field_array_get_length(f);
		sb_puts(sb, "[");
		for (i = 0; i < n && sb->len <= MAX_TEXT * 2; i++) {
			sb_puts(sb, i ? ", " : "");
			field_text(bt_field_array_borrow_element_field_by_index_const(f, i), sb,
				depth + 1);
		}
		sb_puts(sb, i < n ? ", ...]" : "]");
	} else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_OPTION)) {
		const bt_field *inner = bt_field_option_borrow_field_const(f);

		if (inner) {
			field_text(inner, sb, depth + 1);
		} else {
			sb_puts(sb, "none");
		}
	} else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_VARIANT)) {
		field_text(bt_field_variant_borrow_selected_option_field_const(f), sb, depth + 1);
	} else {
		sb_puts(sb, "?");
	}
}

#define JS_SAFE_INT	9007199254740991ULL

/* A field as a JSON value: a number when JavaScript holds it exactly. */
static void field_json(const bt_field *f, struct sbuf *sb)
{
	bt_field_class_type type = bt_field_get_class_type(f);

	if (type == BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER &&
			bt_field_integer_unsigned_get_value(f) <= JS_SAFE_INT) {
		sb_printf(sb, "%" PRIu64, bt_field_integer_unsigned_get_value(f));
	} else if (type == BT_FIELD_CLASS_TYPE_SIGNED_INTEGER &&
			bt_field_integer_signed_get_value(f) <= (int64_t) JS_SAFE_INT &&
			bt_field_integer_signed_get_value(f) >= -(int64_t) JS_SAFE_INT) {
		sb_printf(sb, "%" PRId64, bt_field_integer_signed_get_value(f));
	} else if (type == BT_FIELD_CLASS_TYPE_BOOL) {
		sb_puts(sb, bt_field_bool_get_value(f) ? "true" : "false");
	} else if (type == BT_FIELD_CLASS_TYPE_STRING) {
		sb_json_str(sb, bt_field_string_get_value(f), bt_field_string_get_length(f),
			MAX_TEXT);
	} else {
		struct sbuf t = { 0 };

		field_text(f, &t, 0);
		sb_json_str(sb, t.b ? t.b : "", t.len, MAX_TEXT);
		free(t.b);
	}
}

static void struct_names(const bt_field_class *fc, struct sbuf *sb, bool *first)
{
	uint64_t i, n;

	if (!fc || bt_field_class_get_type(fc) != BT_FIELD_CLASS_TYPE_STRUCTURE) {
		return;
	}
	n = bt_field_class_structure_get_member_count(fc);
	for (i = 0; i < n; i++) {
		const char *name = bt_field_class_structure_member_get_name(
			bt_field_class_structure_borrow_member_by_index_const(fc, i));

		sb_puts(sb, *first ? "" : ",");
		sb_json_str(sb, name, strlen(name), 0);
		*first = false;
	}
}

static void struct_values(const bt_field *f, struct sbuf *sb, bool *first)
{
	uint64_t i, n;

	if (!f || bt_field_get_class_type(f) != BT_FIELD_CLASS_TYPE_STRUCTURE) {
		return;
	}
	n = bt_field_class_structure_get_member_count(bt_field_borrow_class_const(f));
	for (i = 0; i < n; i++) {
		sb_puts(sb, *first ? "" : ",");
		field_json(bt_field_structure_borrow_member_field_by_index_const(f, i), sb);
		*first = false;
	}
}

/* The event's context and payload members, as a JSON array. */
static void event_values(const bt_event *ev, struct sbuf *sb)
{
	bool first = true;

	sb_puts(sb, "[");
	struct_values(bt_event_borrow_common_context_field_const(ev), sb, &first);
	struct_values(bt_event_borrow_specific_context_field_const(ev), sb, &first);
	struct_values(bt_event_borrow_payload_field_const(ev), sb, &first);
	sb_puts(sb, "]");
}

/* A member of the payload (or else of a context) by name. */
static const bt_field *event_member(const bt_event *ev, const char *name)
{
	const bt_field *s[3] = {
		bt_event_borrow_payload_field_const(ev),
		bt_event_borrow_specific_context_field_const(ev),
		bt_event_borrow_common_context_field_const(ev),
	};
	size_t i;

	for (i = 0; i < 3; i++) {
		const bt_field *m;

		if (!s[i] || bt_field_get_class_type(s[i]) != BT_FIELD_CLASS_TYPE_STRUCTURE) {
			continue;
		}
		m = bt_field_structure_borrow_member_field_by_name_const(s[i], name);
		if (m) {
			return m;
		}
	}
	return NULL;
}

static bool member_int(const bt_event *ev, const char *name, int64_t *v)
{
	const bt_field *f = event_member(ev, name);
	bt_field_class_type type;

	if (!f) {
		return false;
	}
	type = bt_field_get_class_type(f);
	if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) {
		*v = (int64_t) bt_field_integer_unsigned_get_value(f);
	} else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) {
		*v = bt_field_integer_signed_get_value(f);
	} else {
		return false;
	}
	return true;
}

static const char *member_str(const bt_event *ev, const char *name)
{
	const bt_field *f = event_member(ev, name);

	if (!f || bt_field_get_class_type(f) != BT_FIELD_CLASS_TYPE_STRING) {
		return "?";
	}
	return bt_field_string_get_value(f);
}

/* --- reading events ----------------------------------------------- */

static int class_lookup(struct graph_state *g, const bt_event *ev, uint32_t *info)
{
	const bt_event_class *ec = bt_event_borrow_class_const(ev);
	const bt_stream_class *sc = bt_event_class_borrow_stream_class_const(ec);
	const char *name = bt_event_class_get_name(ec);
	struct sbuf fields = { 0 };
	bool first = true;
	size_t i;
	uint32_t v = 0;

	if (ptr_map_get(&g->classes, ec, info)) {
		return 0;
	}
	if (!name) {
		name = "(unnamed)";
	}
	sb_puts(&fields, "[");
	struct_names(bt_stream_class_borrow_event_common_context_field_class_const(sc), &fields,
		&first);
	struct_names(bt_event_class_borrow_specific_context_field_class_const(ec), &fields,
		&first);
	struct_names(bt_event_class_borrow_payload_field_class_const(ec), &fields, &first);
	sb_puts(&fields, "]");
	if (fields.failed) {
		free(fields.b);
		return -1;
	}
	for (i = 0; i < g->nr_cls; i++) {
		if (!strcmp(g->cls[i].name, name) && !strcmp(g->cls[i].fields, fields.b)) {
			break;
		}
	}
	if (i == g->nr_cls) {
		if (i > CLS_IDX_MASK) {
			ERR("More than %u kinds of events: cannot graph them", CLS_IDX_MASK);
			free(fields.b);
			return -1;
		}
		if (grow((void **) &g->cls, &g->cap_cls, g->nr_cls + 1, sizeof(*g->cls))) {
			free(fields.b);
			return -1;
		}
		g->cls[i].name = strdup(name);
		g->cls[i].fields = fields.b;
		if (!g->cls[i].name) {
			ERR("Out of memory");
			return -1;
		}
		g->nr_cls++;
	} else {
		free(fields.b);
	}
	v = (uint32_t) i;
	if (!strcmp(name, "sched_switch") && event_member(ev, "prev_tid") &&
			event_member(ev, "next_tid")) {
		v |= CLS_SWITCH;
	}
	if (g->linking) {
		size_t k;

		/* Split k puts the first k names in SEND, the others in RECV. */
		for (k = 1; k < g->nr_link_names; k++) {
			struct sbuf s = { 0 }, r = { 0 };
			size_t j;

			for (j = 0; j < g->nr_link_names; j++) {
				struct sbuf *d = j < k ? &s : &r;

				sb_puts(d, d->len ? ":" : "");
				sb_puts(d, g->link_names[j]);
			}
			if (s.b && !strcmp(s.b, name)) {
				v |= 1U << (CLS_SEND_SHIFT + k - 1);
			}
			if (r.b && !strcmp(r.b, name)) {
				v |= 1U << (CLS_RECV_SHIFT + k - 1);
			}
			free(s.b);
			free(r.b);
		}
	}
	*info = v;
	return ptr_map_put(&g->classes, ec, v);
}

/*
 * Each source names its trace "lh-INDEX" (src.ctf.fs's trace-name, which
 * it puts after the trace's hostname and a slash).
 */
static int trace_index(const struct graph_state *g, const bt_trace *trace, size_t *idx)
{
	const char *name = bt_trace_get_name(trace), *last;
	unsigned long v;
	char *end;

	last = name ? strrchr(name, '/') : NULL;
	last = last ? last + 1 : name;
	if (!last || strncmp(last, "lh-", 3) || !isdigit((unsigned char) last[3])) {
		ERR("An event of an unknown trace (%s)", name ? name : "no name");
		return -1;
	}
	v = strtoul(last + 3, &end, 10);
	if (*end || v >= g->nr_traces) {
		ERR("An event of an unknown trace (%s)", name);
		return -1;
	}
	*idx = v;
	return 0;
}

/* The band and lane of an event's stream. */
static int stream_lookup(struct graph_state *g, const bt_event *ev, struct band **bp,
		uint32_t *lane)
{
	const bt_stream *stream = bt_event_borrow_stream_const(ev);
	uint32_t v;
	size_t idx;
	struct band *b;
	int64_t cpu = -1;
	size_t i;

	if (ptr_map_get(&g->streams, stream, &v)) {
		*bp = &g->bands[v >> 16];
		*lane = v & 0xffff;
		return 0;
	}
	if (trace_index(g, bt_stream_borrow_trace_const(stream), &idx)) {
		return -1;
	}
	b = &g->bands[g->trace_band[idx]];
	if (bt_stream_class_supports_packets(bt_stream_borrow_class_const(stream))) {
		const bt_packet *pkt = bt_event_borrow_packet_const(ev);
		const bt_field *ctx = pkt ? bt_packet_borrow_context_field_const(pkt) : NULL;
		const bt_field *f = ctx ? bt_field_structure_borrow_member_field_by_name_const(ctx,
			"cpu_id") : NULL;

		if (f && bt_field_class_type_is(bt_field_get_class_type(f),
				BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) {
			cpu = (int64_t) bt_field_integer_unsigned_get_value(f);
		}
	}
	for (i = 0; i < b->nr_lanes && b->lanes[i].cpu != cpu; i++) {
	}
	if (i == b->nr_lanes) {
		if (i >= 0xffff) {
			ERR("%s: too many CPUs", b->layer);
			return -1;
		}
		if (grow((void **) &b->lanes, &b->cap_lanes, i + 1, sizeof(*b->lanes))) {
			return -1;
		}
		memset(&b->lanes[i], 0, sizeof(b->lanes[i]));
		b->lanes[i].cpu = cpu;
		b->nr_lanes++;
		if (b->aggregated && lane_hist(b, &b->lanes[i])) {
			return -1;
		}
	}
	*bp = b;
	*lane = (uint32_t) i;
	return ptr_map_put(&g->streams, stream, (uint32_t) (b - g->bands) << 16 | (uint32_t) i);
}

static int add_span(struct graph_state *g, struct band *b, uint32_t lane_idx, int64_t start,
		int64_t end, int32_t tid, uint32_t comm, int32_t prio, int64_t state,
		uint32_t flags)
{
	struct lane *l = &b->lanes[lane_idx];
	struct span_rec s;

	if (start < g->win_from) {
		start = g->win_from;
	}
	if (end > g->win_to) {
		end = g->win_to;
	}
	if (end <= start || tid == 0) {
		return 0;
	}
	s = (struct span_rec) {
		.start = start - g->t0, .end = end - g->t0, .lane = lane_idx, .comm = comm,
		.tid = tid, .prio = prio, .end_state = state, .flags = flags,
	};
	b->spans++;
	if (b->aggregated) {
		hist_span(b, l, &s);
		return 0;
	}
	if (grow((void **) &b->sp, &b->cap_sp, b->nr_sp + 1, sizeof(*b->sp))) {
		return -1;
	}
	b->sp[b->nr_sp++] = s;
	g->detail++;
	return enforce_budget(g);
}

static int on_switch(struct graph_state *g, struct band *b, uint32_t lane_idx,
		const bt_event *ev, int64_t ns)
{
	struct lane *l = &b->lanes[lane_idx];
	int64_t prev_tid = -1, prev_prio = 0, prev_state = -1, next_tid = -1, next_prio = 0;
	uint32_t prev_comm, next_comm;

	member_int(ev, "prev_tid", &prev_tid);
	member_int(ev, "prev_prio", &prev_prio);
	member_int(ev, "prev_state", &prev_state);
	member_int(ev, "next_tid", &next_tid);
	member_int(ev, "next_prio", &next_prio);
	if (str_table_intern(&g->comms, member_str(ev, "prev_comm"), &prev_comm) ||
			str_table_intern(&g->comms, member_str(ev, "next_comm"), &next_comm)) {
		return -1;
	}
	b->kernel = true;
	/* The task leaving ran since the last switch, or since the CPU's first event. */
	if (add_span(g, b, lane_idx, l->running ? l->since_ns : l->first_ns, ns,
			(int32_t) prev_tid, prev_comm, (int32_t) prev_prio, prev_state,
			l->running ? 0 : SPAN_FROM_UNKNOWN)) {
		return -1;
	}
	l->running = true;
	l->tid = (int32_t) next_tid;
	l->prio = (int32_t) next_prio;
	l->comm = next_comm;
	l->since_ns = ns;
	return 0;
}

static int link_event(struct graph_state *g, const bt_event *ev, uint32_t info,
		struct band *b, uint32_t lane, int64_t ns)
{
	const bt_field *f = event_member(ev, g->link_field);
	bt_field_class_type type;
	struct link_ev *le;
	uint64_t key;

	if (!f) {
		return 0;
	}
	type = bt_field_get_class_type(f);
	if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) {
		key = bt_field_integer_unsigned_get_value(f);
	} else if (bt_field_class_type_is(type, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) {
		key = (uint64_t) bt_field_integer_signed_get_value(f);
	} else if (type == BT_FIELD_CLASS_TYPE_STRING) {
		key = fnv1a(bt_field_string_get_value(f), bt_field_string_get_length(f));
	} else {
		return 0;
	}
	if (grow((void **) &g->lev, &g->cap_lev, g->nr_lev + 1, sizeof(*g->lev))) {
		return -1;
	}
	le = &g->lev[g->nr_lev++];
	*le = (struct link_ev) {
		.t = ns - g->t0, .key = key, .band = (uint32_t) (b - g->bands), .lane = lane,
		.send_mask = (uint8_t) (info >> CLS_SEND_SHIFT & 0x7f),
		.recv_mask = (uint8_t) (info >> CLS_RECV_SHIFT & 0x7f),
	};
	return 0;
}

static int window_start(struct graph_state *g, int64_t first)
{
	g->started = true;
	g->win_from = g->from_spec.kind != TS_NONE ? resolve_time(&g->from_spec, first) : INT64_MIN;
	g->win_to = g->to_spec.kind != TS_NONE ? resolve_time(&g->to_spec, first) : INT64_MAX;
	if (g->win_from >= g->win_to) {
		char f[48], t[48];

		format_utc(g->win_from, f, sizeof(f));
		format_utc(g->win_to, t, sizeof(t));
		ERR("--from (%s UTC) must come before --to (%s UTC)", f, t);
		return -1;
	}
	g->t0 = g->win_from != INT64_MIN ? g->win_from : first;
	return 0;
}

static int on_event(struct graph_state *g, const bt_message *msg)
{
	const bt_event *ev = bt_message_event_borrow_event_const(msg);
	const bt_clock_snapshot *cs;
	struct band *b;
	struct lane *l;
	uint32_t lane, info, cls;
	int64_t ns, rel;
	size_t voff;

	if (!bt_message_event_borrow_stream_class_default_clock_class_const(msg)) {
		return 0;
	}
	cs = bt_message_event_borrow_default_clock_snapshot_const(msg);
	if (bt_clock_snapshot_get_ns_from_origin(cs, &ns) !=
			BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK) {
		return 0;
	}
	if (!g->started && window_start(g, ns)) {
		return -1;
	}
	if (stream_lookup(g, ev, &b, &lane) || class_lookup(g, ev, &info)) {
		return -1;
	}
	l = &b->lanes[lane];
	if (!l->has_first) {
		l->has_first = true;
		l->first_ns = ns;
	}
	b->has_last = true;
	b->last_ns = ns;
	/* A switch before the window still says what runs when it opens. */
	if ((info & CLS_SWITCH) && ns <= g->win_to && on_switch(g, b, lane, ev, ns)) {
		return -1;
	}
	if (ns < g->win_from || ns > g->win_to) {
		return 0;
	}
	if (!g->events) {
		g->first_ns = ns;
	}
	g->last_ns = ns;
	g->events++;
	b->events++;
	if (info & CLS_SWITCH) {
		b->switches++;
	}
	cls = info & CLS_IDX_MASK;
	if (cls >= b->nr_class_counts) {
		size_t old = b->nr_class_counts;

		if (grow((void **) &b->class_counts, &b->cap_class_counts, cls + 1,
				sizeof(*b->class_counts))) {
			return -1;
		}
		memset(b->class_counts + old, 0, (cls + 1 - old) * sizeof(*b->class_counts));
		b->nr_class_counts = cls + 1;
	}
	b->class_counts[cls]++;
	if (g->linking && (info >> CLS_SEND_SHIFT & 0x3fff) &&
			link_event(g, ev, info, b, lane, ns)) {
		return -1;
	}
	/* sched_switch events are drawn as the spans they delimit. */
	if (info & CLS_SWITCH) {
		return 0;
	}
	rel = ns - g->t0;
	if (b->aggregated) {
		hist_event(b, l, rel);
		return 0;
	}
	if (grow((void **) &b->ev, &b->cap_ev, b->nr_ev + 1, sizeof(*b->ev))) {
		return -1;
	}
	voff = b->vals.len;
	event_values(ev, &b->vals);
	if (b->vals.failed) {
		ERR("Out of memory");
		return -1;
	}
	b->ev[b->nr_ev++] = (struct ev_rec) {
		.t = rel, .lane = lane, .cls = cls, .voff = voff,
		.vlen = (uint32_t) (b->vals.len - voff),
	};
	g->detail++;
	return enforce_budget(g);
}

static bt_graph_simple_sink_component_consume_func_status consume(bt_message_iterator *it,
		void *user_data)
{
	struct graph_state *g = user_data;
	bt_message_array_const msgs;
	uint64_t count, i;

	switch (bt_message_iterator_next(it, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_MEMORY_ERROR;
	default:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
	}
	for (i = 0; i < count; i++) {
		const bt_message *msg = msgs[i];

		if (!g->error && bt_message_get_type(msg) == BT_MESSAGE_TYPE_EVENT) {
			g->error = on_event(g, msg);
		} else if (!g->error &&
				bt_message_get_type(msg) == BT_MESSAGE_TYPE_DISCARDED_PACKETS) {
			const bt_stream *s = bt_message_discarded_packets_borrow_stream_const(msg);
			size_t idx;
			uint64_t n = 1;

			if (!trace_index(g, bt_stream_borrow_trace_const(s), &idx)) {
				bt_message_discarded_packets_get_count(msg, &n);
				g->bands[g->trace_band[idx]].lost_packets += n;
			}
		} else if (!g->error &&
				bt_message_get_type(msg) == BT_MESSAGE_TYPE_DISCARDED_EVENTS) {
			const bt_stream *s = bt_message_discarded_events_borrow_stream_const(msg);
			size_t idx;
			uint64_t n;

			if (!trace_index(g, bt_stream_borrow_trace_const(s), &idx)) {
				struct band *b = &g->bands[g->trace_band[idx]];

				if (bt_message_discarded_events_get_count(msg, &n) ==
						BT_PROPERTY_AVAILABILITY_AVAILABLE) {
					b->discarded += n;
				} else {
					b->discarded_unknown++;
				}
			}
		}
		bt_message_put_ref(msg);
	}
	if (g->error) {
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
	}
	return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK;
}

/* babeltrace2's own account of a failure, when it gave one. */
static void bt_error_report(const char *what)
{
	const bt_error *err = bt_current_thread_take_error();

	if (err && bt_error_get_cause_count(err)) {
		const bt_error_cause *c = bt_error_borrow_cause_by_index(err, 0);

		ERR("%s: %s", what, bt_error_cause_get_message(c));
	} else {
		ERR("%s", what);
	}
	if (err) {
		bt_error_release(err);
	}
}

/* src.ctf.fs for trace t, named "lh-t", its ports into the muxer. */
static int add_source(struct graph_state *g, bt_graph *graph,
		const bt_component_class_source *fs_class, const bt_component_filter *mux, size_t t,
		bt_logging_level log)
{
	const bt_component_source *src;
	bt_value *params = bt_value_map_create(), *inputs = NULL;
	bt_graph_add_component_status st;
	uint64_t p, nr_ports;
	char name[32], why[128];

	snprintf(name, sizeof(name), "lh-%zu", t);
	if (lh_trace_unreadable(&g->traces[t], why, sizeof(why))) {
		bt_value_put_ref(params);
		ERR("%s: %s (leave its layer out with --layer)", g->traces[t].dir, why);
		return -1;
	}
	if (!params ||
			bt_value_map_insert_empty_array_entry(params, "inputs", &inputs) !=
				BT_VALUE_MAP_INSERT_ENTRY_STATUS_OK ||
			bt_value_array_append_string_element(inputs, g->traces[t].dir) !=
				BT_VALUE_ARRAY_APPEND_ELEMENT_STATUS_OK ||
			bt_value_map_insert_string_entry(params, "trace-name", name) !=
				BT_VALUE_MAP_INSERT_ENTRY_STATUS_OK) {
		bt_value_put_ref(params);
		ERR("Out of memory");
		return -1;
	}
	st = bt_graph_add_source_component(graph, fs_class, name, params, log, &src);
	bt_value_put_ref(params);
	if (st != BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		char what[PATH_MAX + 128];

		snprintf(what, sizeof(what), "%s: src.ctf.fs cannot read this trace "
			"(leave its layer out with --layer)", g->traces[t].dir);
		bt_error_report(what);
		return -1;
	}
	nr_ports = bt_component_source_get_output_port_count(src);
	for (p = 0; p < nr_ports; p++) {
		/* The muxer always has one free input port, its last. */
		const bt_port_input *in = bt_component_filter_borrow_input_port_by_index_const(mux,
			bt_component_filter_get_input_port_count(mux) - 1);

		if (bt_graph_connect_ports(graph,
				bt_component_source_borrow_output_port_by_index_const(src, p), in,
				NULL) != BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
			bt_error_report("Cannot connect a trace to the muxer");
			return -1;
		}
	}
	return 0;
}

/* src.ctf.fs for each trace of the selected bands, a muxer, our sink. */
static int read_traces(struct graph_state *g, int verbose)
{
	const bt_plugin *ctf = NULL, *utils = NULL;
	const bt_component_class_source *fs_class;
	const bt_component_class_filter *mux_class;
	const bt_component_filter *mux;
	const bt_component_sink *sink;
	bt_logging_level log = verbose > 1 ? BT_LOGGING_LEVEL_INFO : BT_LOGGING_LEVEL_NONE;
	bt_graph *graph = bt_graph_create(0);
	bt_graph_run_status st;
	size_t i, j;
	int ret = -1;

	if (!graph) {
		ERR("Out of memory");
		return -1;
	}
	if (bt_plugin_find("ctf", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_FALSE, &ctf) !=
			BT_PLUGIN_FIND_STATUS_OK ||
			bt_plugin_find("utils", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_FALSE,
				&utils) != BT_PLUGIN_FIND_STATUS_OK) {
		ERR("The babeltrace2 \"ctf\" and \"utils\" plugins are needed: "
			"install babeltrace2");
		goto end;
	}
	fs_class = bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs");
	mux_class = bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer");
	if (!fs_class || !mux_class) {
		ERR("babeltrace2 has no src.ctf.fs or flt.utils.muxer");
		goto end;
	}
	if (bt_graph_add_filter_component(graph, mux_class, "muxer", NULL, log, &mux) !=
			BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		bt_error_report("Cannot make babeltrace2's muxer");
		goto end;
	}
	for (i = 0; i < g->nr_bands; i++) {
		for (j = 0; j < g->bands[i].nr_traces; j++) {
			if (add_source(g, graph, fs_class, mux, g->bands[i].traces[j], log)) {
				goto end;
			}
		}
	}
	if (bt_graph_add_simple_sink_component(graph, "lttng-hyper-graph", NULL, consume, NULL, g,
			&sink) != BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
		bt_error_report("Cannot build the reading graph");
		goto end;
	}
	if (bt_graph_connect_ports(graph,
			bt_component_filter_borrow_output_port_by_index_const(mux, 0),
			bt_component_sink_borrow_input_port_by_index_const(sink, 0), NULL) !=
			BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
		bt_error_report("Cannot build the reading graph");
		goto end;
	}
	do {
		st = bt_graph_run(graph);
	} while (st == BT_GRAPH_RUN_STATUS_AGAIN);
	if (g->error) {
		bt_current_thread_clear_error();
		goto end;
	}
	if (st != BT_GRAPH_RUN_STATUS_OK) {
		bt_error_report("Reading the traces failed");
		goto end;
	}
	ret = 0;
end:
	bt_current_thread_clear_error();
	bt_graph_put_ref(graph);
	bt_plugin_put_ref(ctf);
	bt_plugin_put_ref(utils);
	return ret;
}

/* The tasks still on their CPUs at the end ran until the band's last event. */
static int close_spans(struct graph_state *g)
{
	size_t i, j;

	for (i = 0; i < g->nr_bands; i++) {
		struct band *b = &g->bands[i];

		for (j = 0; j < b->nr_lanes; j++) {
			struct lane *l = &b->lanes[j];

			if (l->running && add_span(g, b, (uint32_t) j, l->since_ns, b->last_ns,
					l->tid, l->comm, l->prio, -1, SPAN_TO_END)) {
				return -1;
			}
			l->running = false;
		}
	}
	return 0;
}

/* --- links -------------------------------------------------------- */

static int link_ev_cmp(const void *pa, const void *pb)
{
	const struct link_ev *a = pa, *b = pb;

	if (a->key != b->key) {
		return a->key < b->key ? -1 : 1;
	}
	return a->t < b->t ? -1 : a->t > b->t;
}

static int link_cmp(const void *pa, const void *pb)
{
	const struct link *a = pa, *b = pb;

	return a->st < b->st ? -1 : a->st > b->st;
}

/*
 * Each send is linked to the earliest receive not linked yet that has the
 * same value and lies in another layer: ping-pong rounds echo the same
 * number both ways, so "another layer" tells the two directions apart.
 */
int graph_match_links(struct graph_state *g, struct link_result *r)
{
	size_t k, i, j, n = 0, chosen = 0, nr_cand = 0;
	bool *used;

	memset(r, 0, sizeof(*r));
	for (k = 1; k < g->nr_link_names; k++) {
		bool s = false, v = false;

		for (i = 0; i < g->nr_lev; i++) {
			s |= g->lev[i].send_mask >> (k - 1) & 1;
			v |= g->lev[i].recv_mask >> (k - 1) & 1;
		}
		if (s && v) {
			if (!nr_cand++) {
				chosen = k;
			}
		}
	}
	if (!nr_cand) {
		WARN("--link: no pair of SEND and RECV events with a field '%s' in the selected "
			"layers: no link drawn", g->link_field);
		return 0;
	}
	for (k = 0; k < g->nr_link_names; k++) {
		char *d = k < chosen ? r->send : r->recv;
		size_t len = strlen(d);

		snprintf(d + len, sizeof(r->send) - len, "%s%s", len ? ":" : "", g->link_names[k]);
	}
	if (nr_cand > 1) {
		WARN("--link: several ways to read SEND:RECV; using %s and %s", r->send, r->recv);
	}
	r->resolved = true;
	/* Keep the events of the chosen split, sends marked by send_mask = 1. */
	for (i = 0; i < g->nr_lev; i++) {
		struct link_ev e = g->lev[i];
		bool s = e.send_mask >> (chosen - 1) & 1, v = e.recv_mask >> (chosen - 1) & 1;

		if (s || v) {
			e.send_mask = s;
			g->lev[n++] = e;
			r->sends += s;
			r->recvs += !s;
		}
	}
	qsort(g->lev, n, sizeof(*g->lev), link_ev_cmp);
	used = calloc(n ? n : 1, sizeof(*used));
	r->links = calloc(n ? n : 1, sizeof(*r->links));
	if (!used || !r->links) {
		free(used);
		ERR("Out of memory");
		return -1;
	}
	for (i = 0; i < n; i = j) {
		size_t first_free = i, s;

		for (j = i; j < n && g->lev[j].key == g->lev[i].key; j++) {
		}
		for (s = i; s < j; s++) {
			size_t m, scanned = 0;

			if (!g->lev[s].send_mask) {
				continue;
			}
			while (first_free < j &&
					(used[first_free] || g->lev[first_free].send_mask)) {
				first_free++;
			}
			for (m = first_free; m < j && scanned < MAX_LINK_SCAN; m++) {
				const struct link_ev *a = &g->lev[s], *b = &g->lev[m];

				if (used[m] || b->send_mask) {
					continue;
				}
				scanned++;
				if (b->band == a->band) {
					continue;
				}
				used[m] = true;
				r->links[r->nr++] = (struct link) {
					.st = a->t, .sb = a->band, .sl = a->lane,
					.rt = b->t, .rb = b->band, .rl = b->lane,
				};
				if (b->t < a->t) {
					r->backward++;
					if ((uint64_t) (a->t - b->t) >
							band_error_ns(g, &g->bands[a->band]) +
							band_error_ns(g, &g->bands[b->band])) {
						r->beyond++;
					}
				}
				break;
			}
		}
	}
	free(used);
	qsort(r->links, r->nr, sizeof(*r->links), link_cmp);
	return 0;
}

int graph_read(struct graph_state *g, int verbose)
{
	if (read_traces(g, verbose)) {
		return -1;
	}
	return close_spans(g);
}
