/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hypercall markers in traces (lttng-hyper mark): the event a guest's
 * trace holds for each, the event the layer below recorded, and what their
 * registers say (marker.c).
 */
#ifndef LH_LTTNG_HYPER_MARKER_H
#define LH_LTTNG_HYPER_MARKER_H

#include <babeltrace2/babeltrace.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traces.h"

/* A marker's text: a0..a2, 24 bytes, and a NUL. */
#define LH_MARKER_TEXT_LEN	25
/* A layer, '/', and a procname (the kernel's comm: 15 bytes and a NUL). */
#define LH_MARKER_LAYER_LEN	(PATH_MAX + 17)

/*
 * A marker in its guest's trace: lttng_hyper:mark, made by a hypercall.
 * Returns true with its registers in a.
 */
bool lh_marker_guest(const bt_event *event, uint64_t a[4]);

/*
 * A marker's hypercall recorded below its guest: kvm_x86_hypercall of
 * lttng-hyper's number. Returns true with its registers in a, and in
 * *procname the name of the thread that made it, or NULL if the event has
 * no procname context.
 */
bool lh_marker_host(const bt_event *event, uint64_t a[4], const char **procname);

/*
 * The layer of the VM whose thread procname made a hypercall that trace t
 * recorded, in buf: under t's layer, or a top-level VM if t is the host's
 * own (it has no sync file).
 */
void lh_marker_layer(const struct lh_trace *t, const char *procname, char *buf, size_t len);

/* The text of registers a (a0..a2, the first byte least significant), printable. */
void lh_marker_text(const uint64_t a[4], char text[LH_MARKER_TEXT_LEN]);

#endif /* LH_LTTNG_HYPER_MARKER_H */
