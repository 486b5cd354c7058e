/*
 * lttng-hyper-relayd internals shared between its files.
 *
 * main.c: options, lttng-relayd supervision (child.c), the event loop.
 * vm.c: one struct lh_vm per --vm, its channel (listen or connect,
 *       reconnect) and its mux; opens the connections to lttng-relayd.
 * filter.c: the relayd protocol filter for the connections of one VM
 *       channel: parses, checks and rewrites control messages, checks data
 *       headers, and tracks which sessions and streams the VM owns.
 */
#ifndef LH_RELAYD_RELAYD_H
#define LH_RELAYD_RELAYD_H

#include <stdint.h>

#include <lttng-hyper/frame.h>

#include "common/mux.h"

struct lh_relay_limits {
	uint32_t max_control_payload;	/* largest control message accepted */
	unsigned int max_streams;	/* streams one VM channel may add */
	unsigned int max_sessions;	/* sessions one VM channel may create */
};

/*
 * What the relay knows of one VM channel's relayd traffic: the VM name it
 * writes in place of the guest's hostname, the negotiated protocol minor,
 * and the sessions and streams lttng-relayd handed out to this VM. It
 * lives as long as one connection of the channel (one mux).
 */
struct lh_relay_vm_state;

struct lh_relay_vm_state *lh_relay_vm_state_create(const char *vm_name,
		const struct lh_relay_limits *limits);
void lh_relay_vm_state_destroy(struct lh_relay_vm_state *state);

/*
 * Attach the relayd protocol filter to a connection just opened by the
 * guest (from lh_mux_ops.on_open). Returns 0 or -1 (out of memory).
 */
int lh_relay_filter_attach(struct lh_mux_conn *conn, enum lttng_hyper_conn_kind kind,
		struct lh_relay_vm_state *state);

#endif /* LH_RELAYD_RELAYD_H */
