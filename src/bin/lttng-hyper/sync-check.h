/* SPDX-License-Identifier: GPL-2.0-only */
/* lttng-hyper sync-check: each clock correction's error, by markers (sync-check.c). */
#ifndef LH_LTTNG_HYPER_SYNC_CHECK_H
#define LH_LTTNG_HYPER_SYNC_CHECK_H

#include <stddef.h>

#include "traces.h"

/*
 * Print, per guest layer with markers, how they pair with the hypercalls
 * recorded below it and whether the smallest difference lies within the
 * layer's error bound. Returns 0 if every layer's does, -1 if one does
 * not, none could be checked, or a trace could not be read.
 */
int lh_sync_check_cmd(const struct lh_trace *traces, size_t nr, int verbose);

#endif /* LH_LTTNG_HYPER_SYNC_CHECK_H */
