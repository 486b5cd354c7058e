/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper graph: one self-contained HTML file that shows the host's
 * trace and every VM's on one time axis (lttng-hyper(1), "graph").
 */
#ifndef LH_LTTNG_HYPER_GRAPH_H
#define LH_LTTNG_HYPER_GRAPH_H

#include <popt.h>
#include <stdbool.h>
#include <stddef.h>

#include "traces.h"

/* The graph command's options, for POPT_ARG_INCLUDE_TABLE in main(). */
extern struct poptOption lh_graph_options[];

/* Whether any of lh_graph_options was given: they go with "graph" only. */
bool lh_graph_options_given(void);

/*
 * Write the graph of the traces found under top (as lh_traces_find()
 * returned them). verbose > 1 lets babeltrace2 log. Returns 0, or -1
 * (logged).
 */
int lh_graph_cmd(const char *top, struct lh_trace *traces, size_t nr, int verbose);

#endif /* LH_LTTNG_HYPER_GRAPH_H */
