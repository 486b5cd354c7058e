/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper graph, inside: what graph-read.c makes of the traces and
 * graph-write.c writes, shared with graph.c (the command) and
 * graph-model.c (small containers and helpers).
 *
 * The model: one band per layer, one lane per CPU. A band holds its
 * events and task spans one by one ("detail") until the bands together
 * hold --max-detail of them; then the largest is aggregated into per-lane
 * buckets, which count every one of its events.
 */
#ifndef LH_LTTNG_HYPER_GRAPH_MODEL_H
#define LH_LTTNG_HYPER_GRAPH_MODEL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traces.h"

/*
 * Buckets per lane of an aggregated band: between half and all of them
 * cover the window, a few thousand, about a pixel each at full width.
 */
#define NR_BUCKETS		8192
#define MAX_LINK_NAMES		8
/* Matched links written one by one up to this; aggregated beyond. */
#define MAX_LINK_DETAIL		200000

#define SPAN_FROM_UNKNOWN	1	/* ran since before the CPU's first switch */
#define SPAN_TO_END		2	/* still running at the end */

#define NS_PER_S		1000000000LL

enum tspec_kind {
	TS_NONE,
	TS_ABS,		/* ns since the epoch */
	TS_REL,		/* ns after the first event */
	TS_TOD,		/* ns into the UTC day of the first event */
};

struct tspec {
	enum tspec_kind kind;
	int64_t ns;
};

struct sbuf {
	char *b;
	size_t len, cap;
	bool failed;
};

/* Pointer -> value map (open addressing), for babeltrace2's objects. */
struct ptr_map {
	const void **keys;
	uint32_t *vals;
	size_t cap, nr;
};

/* Interned strings (task names): index by value. */
struct str_table {
	char **strs;
	size_t nr, cap;
	uint32_t *slots;	/* index + 1, 0 when free */
	size_t nslots;
};

struct bucket {
	uint32_t count;		/* events other than sched_switch */
	uint32_t top_comm;
	int32_t top_tid;	/* the task that ran most of the bucket, -1: none */
	uint64_t busy_ns;	/* time a task other than idle ran */
	uint64_t top_ns;
};

struct lane {
	int64_t cpu;		/* -1: the stream names no CPU */
	bool has_first;
	int64_t first_ns;	/* the lane's first event, absolute */
	/* The task on the CPU since the last sched_switch. */
	bool running;
	int32_t tid, prio;
	uint32_t comm;
	int64_t since_ns;
	bool since_unknown;
	struct bucket *hist;
};

struct ev_rec {
	int64_t t;		/* ns from t0 */
	uint32_t lane, cls;
	size_t voff;		/* its values, JSON, in the band's arena */
	uint32_t vlen;
};

struct span_rec {
	int64_t start, end;	/* ns from t0 */
	uint32_t lane, comm;
	int32_t tid, prio;
	int64_t end_state;
	uint32_t flags;
};

struct band {
	char layer[PATH_MAX];
	bool host;
	int depth;
	size_t *traces;		/* indexes into the trace array */
	size_t nr_traces;
	struct lane *lanes;
	size_t nr_lanes, cap_lanes;
	uint64_t events, switches, spans, discarded, discarded_unknown, lost_packets;
	uint64_t *class_counts;
	size_t nr_class_counts, cap_class_counts;
	bool kernel, aggregated, has_last;
	int64_t last_ns;	/* the band's last event, absolute */
	/* Detail. */
	struct ev_rec *ev;
	size_t nr_ev, cap_ev;
	struct span_rec *sp;
	size_t nr_sp, cap_sp;
	struct sbuf vals;
	/* Aggregated: bucket width in ns, a power of two. */
	uint64_t width;
};

struct class_info {
	char *name;
	char *fields;		/* the field names, as a JSON array */
};

struct link_ev {
	int64_t t;
	uint64_t key;
	uint32_t band, lane;
	uint8_t send_mask, recv_mask;
};

struct link {
	int64_t st, rt;
	uint32_t sb, sl, rb, rl;
};

struct graph_state {
	const char *top;
	const char *link_arg;	/* --link as given */
	struct lh_trace *traces;
	size_t nr_traces;
	struct band *bands;
	size_t nr_bands;
	uint32_t *trace_band;	/* trace index -> band */
	struct ptr_map streams;	/* bt_stream -> band << 16 | lane */
	struct ptr_map classes;	/* bt_event_class -> CLS_* | class index */
	struct class_info *cls;
	size_t nr_cls, cap_cls;
	struct str_table comms;
	uint64_t max_detail, detail;
	/* Window, absolute ns. */
	struct tspec from_spec, to_spec;
	bool started;
	int64_t t0, win_from, win_to;
	int64_t first_ns, last_ns;	/* first and last events in the window */
	uint64_t events;
	/* --link */
	bool linking;
	char *link_names[MAX_LINK_NAMES];
	size_t nr_link_names;
	char *link_field;
	char *link_copy;
	struct link_ev *lev;
	size_t nr_lev, cap_lev;
	int error;
};

struct link_result {
	bool resolved;
	char send[256], recv[256];
	struct link *links;
	size_t nr;
	uint64_t sends, recvs, backward, beyond;
};

/* graph-model.c */
int grow(void **p, size_t *cap, size_t need, size_t elem);
void sb_putn(struct sbuf *sb, const char *s, size_t n);
void sb_puts(struct sbuf *sb, const char *s);
void sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_json_str(struct sbuf *sb, const char *s, size_t n, size_t max);
bool ptr_map_get(const struct ptr_map *m, const void *key, uint32_t *val);
int ptr_map_put(struct ptr_map *m, const void *key, uint32_t val);
void ptr_map_free(struct ptr_map *m);
uint64_t fnv1a(const char *s, size_t n);
int str_table_intern(struct str_table *t, const char *s, uint32_t *idx);
void str_table_free(struct str_table *t);
int64_t resolve_time(const struct tspec *ts, int64_t first_ns);
void format_utc(int64_t ns, char *buf, size_t len);
void format_duration(uint64_t ns, char *buf, size_t len);
uint64_t band_error_ns(const struct graph_state *g, const struct band *b);
void graph_state_free(struct graph_state *g);

/* graph-read.c */
/* Read the bands' traces into g (verbose > 1: babeltrace2 logs). 0, or -1 (logged). */
int graph_read(struct graph_state *g, int verbose);
/* Match --link's events into r (free r->links). 0, or -1 (logged). */
int graph_match_links(struct graph_state *g, struct link_result *r);

/* graph-write.c */
/* The page, from graph-template.html, to path (written aside, then renamed). */
int graph_write_html(struct graph_state *g, const struct link_result *r, const char *path);

#endif /* LH_LTTNG_HYPER_GRAPH_MODEL_H */
