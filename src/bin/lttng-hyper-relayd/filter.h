/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The relayd protocol filter for the connections of one VM channel
 * (filter.c): parses, checks and rewrites control messages, and checks
 * data headers, against and into the VM's state (vm-state.h).
 */
#ifndef LH_RELAYD_FILTER_H
#define LH_RELAYD_FILTER_H

#include <lttng-hyper/frame.h>

#include "common/mux.h"
#include "vm-state.h"

/*
 * Attach the relayd protocol filter to a connection just opened by the
 * guest (from lh_mux_ops.on_open). Returns 0 or -1 (out of memory).
 */
int lh_relay_filter_attach(struct lh_mux_conn *conn, enum lttng_hyper_conn_kind kind,
		struct lh_relay_vm_state *state);
/* The state a connection's filter serves; NULL for a connection without one. */
struct lh_relay_vm_state *lh_relay_filter_state(const struct lh_mux_conn *conn);

#endif /* LH_RELAYD_FILTER_H */
