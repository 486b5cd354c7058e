/* SPDX-License-Identifier: GPL-2.0-only */
/* lttng-hyper show (show.c). */
#ifndef LH_LTTNG_HYPER_SHOW_H
#define LH_LTTNG_HYPER_SHOW_H

#include <stddef.h>

#include "traces.h"

/*
 * Print one line per layer of traces (found under top): its traces, CTF
 * version, events, time range and clock correction, and below it the
 * hypercall markers it made and recorded. Counts into each trace. Returns
 * 0, or -1 if a trace could not be read.
 */
int lh_show_cmd(const char *top, struct lh_trace *traces, size_t nr, int verbose);

#endif /* LH_LTTNG_HYPER_SHOW_H */
