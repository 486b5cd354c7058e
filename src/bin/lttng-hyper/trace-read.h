/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading every event of one trace with libbabeltrace2 (src.ctf.fs), in
 * no particular order across its streams, for the commands that look at
 * events one by one (show, sync-check).
 */
#ifndef LH_LTTNG_HYPER_TRACE_READ_H
#define LH_LTTNG_HYPER_TRACE_READ_H

#include <babeltrace2/babeltrace.h>
#include <stdbool.h>
#include <stdint.h>

#include "traces.h"

/*
 * One event; ns is its time (ns from the clock's origin, the corrected
 * one for a guest's trace) when has_ns.
 */
typedef void (*lh_trace_event_fn)(const bt_event *event, bool has_ns, int64_t ns, void *arg);

/*
 * The ctf plugin's fs source: *plugin holds it (bt_plugin_put_ref() it
 * when done). Returns NULL (logged) if babeltrace2 has none.
 */
const bt_component_class_source *lh_trace_fs_class(const bt_plugin **plugin);

/*
 * Call fn on every event of trace t. babeltrace2's own log shows from
 * verbose 2. Returns 0, or -1 (logged) if the trace could not be read
 * whole.
 */
int lh_trace_read(const bt_component_class_source *fs_class, const struct lh_trace *t,
		int verbose, lh_trace_event_fn fn, void *arg);

/*
 * The integer member name of structure field s (signed or unsigned) in
 * *out. Returns 0, or -1 if s is NULL or has no such integer.
 */
int lh_field_u64(const bt_field *s, const char *name, uint64_t *out);

/* The string member name of structure field s, or NULL. */
const char *lh_field_string(const bt_field *s, const char *name);

#endif /* LH_LTTNG_HYPER_TRACE_READ_H */
