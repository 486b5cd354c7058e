/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Measuring a guest's clock over its hyper channel: CLOCK_PROBE frames
 * out, CLOCK_REPLY frames back (doc/clock-sync.md). The host relay runs
 * one per VM channel, and lttng-hyperd one per VM it serves itself.
 */
#ifndef LH_COMMON_CLOCK_PROBE_H
#define LH_COMMON_CLOCK_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <lttng-hyper/frame.h>

#include "common/clocksync.h"
#include "common/loop.h"
#include "common/mux.h"

struct lh_clock_probe;

/*
 * Start probing the guest behind mux: a burst when the channel comes up
 * (so an estimate exists before the guest's first session sends its
 * metadata; at once if mux is ready, else when lh_mux_ops.on_ready calls
 * lh_clock_probe_burst()), then a few probes periodically. Feed it
 * replies from lh_mux_ops.on_clock_reply. Probes are sent from a timer
 * only, so the clock may be destroyed after the mux, which lets final
 * fixes made while the mux is torn down still read its estimate.
 */
struct lh_clock_probe *lh_clock_probe_create(struct lh_loop *loop, struct lh_mux *mux,
		const char *log_ctx);
void lh_clock_probe_destroy(struct lh_clock_probe *clk);
void lh_clock_probe_on_reply(struct lh_clock_probe *clk,
		const struct lttng_hyper_clock_reply *reply);
/* Ask for a burst now (e.g. when a session ends, before the final fix). */
void lh_clock_probe_burst(struct lh_clock_probe *clk);
/* Called after each reply that changed the estimate. */
void lh_clock_probe_set_notify(struct lh_clock_probe *clk,
		void (*on_estimate)(struct lh_clock_probe *clk, void *arg), void *arg);
/* The guest's clock in ours; -1 while there is no estimate yet. */
int lh_clock_probe_estimate(const struct lh_clock_probe *clk, struct lh_clock_estimate *est);
/*
 * The current correction (TSDL clock values for the guest's metadata) and
 * the estimate behind it. Returns -1 while there is no estimate yet.
 */
int lh_clock_probe_correction(const struct lh_clock_probe *clk,
		struct lh_clock_correction *corr, struct lh_clock_estimate *est);
/*
 * The same for a VM nested below the guest: hops[0] maps the clock of the
 * guest's child to the guest's, hops[1] the grandchild's to the child's,
 * and so on. The estimate is the composed one.
 */
int lh_clock_probe_correction_nested(const struct lh_clock_probe *clk,
		const struct lh_clock_estimate *hops, size_t nr_hops,
		struct lh_clock_correction *corr, struct lh_clock_estimate *est);

/* An estimate as a CLOCK_ESTIMATE body carries it, and back. */
void lh_clock_estimate_to_wire(const struct lh_clock_estimate *est,
		struct lttng_hyper_clock_estimate *wire);
void lh_clock_estimate_from_wire(const struct lttng_hyper_clock_estimate *wire,
		struct lh_clock_estimate *est);

#endif /* LH_COMMON_CLOCK_PROBE_H */
