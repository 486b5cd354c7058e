/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest clock measurement, per VM channel (clock-probe.h).
 *
 * Each probe is stamped with the host's CLOCK_MONOTONIC just before it is
 * queued, and its reply as soon as the mux hands it over, so the guest's
 * reading lies between the two stamps (doc/clock-sync.md). A burst when
 * the channel comes up gives an estimate before the guest's first session
 * sends its metadata; a few probes every second then stretch the span
 * over which the drift is known. Probes go one per millisecond, so that
 * each crosses an idle channel instead of queueing behind the previous.
 * Every probe is sent from a timer, never from the caller of
 * lh_clock_probe_burst(), which may run while the mux is torn down.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lttng-hyper/frame.h>

#include "common/clock-probe.h"
#include "common/clocksync.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/mux.h"

#define CLOCK_BURST_PROBES	32
#define CLOCK_ROUND_PROBES	8
#define CLOCK_SPACING_MS	1
#define CLOCK_ROUND_MS		1000
/* Samples kept: over 4 minutes at 8 a second, then the informative ones. */
#define CLOCK_MAX_SAMPLES	2048
/* Correct drift through freq beyond 10 ppb (0.6 µs a minute). */
#define CLOCK_MIN_DRIFT		1e-8
/* Probes awaiting their reply; a reply older than this many is ignored. */
#define CLOCK_INFLIGHT		64
/* CLOCK_REPLY clock_id of CLOCK_MONOTONIC, the clock of LTTng's traces. */
#define CLOCK_ID_MONOTONIC	1
/* clock_gettime() triples read for the host's realtime - monotonic. */
#define CLOCK_REALTIME_READS	8
/* Rounds between two debug lines on the estimate. */
#define CLOCK_LOG_ROUNDS	10
/* Probes sent with no reply at all before we say the guest is silent. */
#define CLOCK_SILENT_PROBES	(CLOCK_BURST_PROBES + 4 * CLOCK_ROUND_PROBES)

struct probe {
	uint64_t seq;		/* 0: free */
	uint64_t send_ns;
};

struct lh_clock_probe {
	struct lh_loop *loop;
	struct lh_mux *mux;
	char log_ctx[64];
	struct lh_clock_sync *sync;
	struct lh_timer *timer;
	struct probe inflight[CLOCK_INFLIGHT];
	uint64_t next_seq;
	unsigned int to_send;	/* probes left in the current burst or round */
	uint64_t round_start_ms;
	uint64_t rounds;
	uint64_t replies;
	bool silence_warned;
	bool reported;		/* the first estimate is in the log */
	bool have_estimate;
	struct lh_clock_estimate est;
	void (*on_estimate)(struct lh_clock_probe *clk, void *arg);
	void *notify_arg;
	int64_t realtime_minus_mono_ns;
};

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t) ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/*
 * The host's CLOCK_REALTIME - CLOCK_MONOTONIC, from the realtime read
 * whose surrounding monotonic reads are closest together. Read again each
 * round: the wall clock may be stepped.
 */
static void measure_realtime(struct lh_clock_probe *clk)
{
	int64_t best_gap = INT64_MAX;
	unsigned int i;

	for (i = 0; i < CLOCK_REALTIME_READS; i++) {
		struct timespec m1, rt, m2;
		int64_t gap;

		if (clock_gettime(CLOCK_MONOTONIC, &m1) < 0 ||
				clock_gettime(CLOCK_REALTIME, &rt) < 0 ||
				clock_gettime(CLOCK_MONOTONIC, &m2) < 0) {
			lh_log_errno(clk->log_ctx, "clock_gettime");
			return;
		}
		gap = ts_ns(&m2) - ts_ns(&m1);
		if (gap < best_gap) {
			best_gap = gap;
			clk->realtime_minus_mono_ns = ts_ns(&rt) - (ts_ns(&m1) + gap / 2);
		}
	}
}

static void log_estimate(const struct lh_clock_probe *clk, enum lh_log_level level)
{
	const struct lh_clock_estimate *est = &clk->est;
	/* The guest clock's lead over the host's at the reference point. */
	double lead = est->ref_guest_ns >= est->ref_host_ns ?
		(double) (est->ref_guest_ns - est->ref_host_ns) / 1e9 :
		-(double) (est->ref_host_ns - est->ref_guest_ns) / 1e9;

	lh_log(level, clk->log_ctx, "guest clock offset %+.9f s, drift %.3f ppm, error bound %.3f µs from %u probes (%s, %u used, min RTT %.3f µs)",
		lead, est->drift * 1e6, (double) est->error_ns / 1e3, est->samples,
		est->method, est->used, (double) est->min_rtt_ns / 1e3);
}

static void clock_timer_cb(struct lh_timer *timer, void *arg);

static void schedule(struct lh_clock_probe *clk, uint64_t delay_ms)
{
	clk->timer = lh_loop_timer(clk->loop, delay_ms, clock_timer_cb, clk);
	if (!clk->timer) {
		ERR_CTX(clk->log_ctx, "cannot schedule clock probes: the guest clock is no longer measured");
	}
}

static void start_round(struct lh_clock_probe *clk)
{
	clk->round_start_ms = lh_now_ms();
	clk->rounds++;
	measure_realtime(clk);
	if (clk->have_estimate && clk->rounds % CLOCK_LOG_ROUNDS == 0) {
		log_estimate(clk, LH_LOG_DBG);
	}
	if (!clk->replies && !clk->silence_warned && clk->next_seq > CLOCK_SILENT_PROBES) {
		WARN_CTX(clk->log_ctx, "the guest answers no clock probe: its traces keep its own clock");
		clk->silence_warned = true;
	}
}

static void send_probe(struct lh_clock_probe *clk)
{
	struct probe *p = &clk->inflight[clk->next_seq % CLOCK_INFLIGHT];

	p->seq = clk->next_seq++;
	/* Stamped last, so that nothing but the send lies between. */
	p->send_ns = lh_now_ns();
	if (lh_mux_send_clock_probe(clk->mux, p->seq, p->send_ns) < 0) {
		DBG_CTX(clk->log_ctx, "clock probe %" PRIu64 " not sent: the channel is down",
			p->seq);
		p->seq = 0;
	}
}

static void clock_timer_cb(struct lh_timer *timer, void *arg)
{
	struct lh_clock_probe *clk = arg;
	uint64_t next_ms, now_ms;

	clk->timer = NULL;
	if (!lh_mux_is_ready(clk->mux)) {
		return;
	}
	if (clk->to_send == 0) {
		clk->to_send = CLOCK_ROUND_PROBES;
		start_round(clk);
	}
	send_probe(clk);
	if (--clk->to_send > 0) {
		schedule(clk, CLOCK_SPACING_MS);
		return;
	}
	next_ms = clk->round_start_ms + CLOCK_ROUND_MS;
	now_ms = lh_now_ms();
	schedule(clk, next_ms > now_ms ? next_ms - now_ms : CLOCK_SPACING_MS);
}

struct lh_clock_probe *lh_clock_probe_create(struct lh_loop *loop, struct lh_mux *mux,
		const char *log_ctx)
{
	struct lh_clock_probe *clk;

	clk = calloc(1, sizeof(*clk));
	if (!clk) {
		PERROR("calloc");
		return NULL;
	}
	clk->loop = loop;
	clk->mux = mux;
	snprintf(clk->log_ctx, sizeof(clk->log_ctx), "%s", log_ctx);
	clk->next_seq = 1;
	clk->sync = lh_clock_sync_create(CLOCK_MAX_SAMPLES);
	if (!clk->sync) {
		free(clk);
		return NULL;
	}
	measure_realtime(clk);
	/* Otherwise the channel's on_ready asks for the first burst. */
	if (lh_mux_is_ready(mux)) {
		lh_clock_probe_burst(clk);
	}
	return clk;
}

void lh_clock_probe_destroy(struct lh_clock_probe *clk)
{
	if (!clk) {
		return;
	}
	if (clk->timer) {
		lh_timer_cancel(clk->timer);
	}
	if (clk->have_estimate) {
		log_estimate(clk, LH_LOG_DBG);
	}
	lh_clock_sync_destroy(clk->sync);
	free(clk);
}

void lh_clock_probe_burst(struct lh_clock_probe *clk)
{
	/* A burst under way only grows; a round becomes one. */
	if (clk->to_send > 0) {
		if (clk->to_send < CLOCK_BURST_PROBES) {
			clk->to_send = CLOCK_BURST_PROBES;
		}
		return;
	}
	if (clk->timer) {
		lh_timer_cancel(clk->timer);
	}
	clk->to_send = CLOCK_BURST_PROBES;
	start_round(clk);
	schedule(clk, 0);
}

void lh_clock_probe_on_reply(struct lh_clock_probe *clk,
		const struct lttng_hyper_clock_reply *reply)
{
	uint64_t recv_ns = lh_now_ns();
	struct probe *p = &clk->inflight[reply->seq % CLOCK_INFLIGHT];
	struct lh_clock_sample sample;
	struct lh_clock_estimate est;

	if (reply->seq == 0 || p->seq != reply->seq || p->send_ns != reply->host_send_ns) {
		DBG_CTX(clk->log_ctx, "clock reply %" PRIu64 " matches no probe: ignored",
			reply->seq);
		return;
	}
	p->seq = 0;
	if (reply->clock_id != CLOCK_ID_MONOTONIC) {
		DBG_CTX(clk->log_ctx, "clock reply %" PRIu64 " reads clock %" PRIu32 ", not CLOCK_MONOTONIC: ignored",
			reply->seq, reply->clock_id);
		return;
	}
	clk->replies++;
	sample.host_send_ns = p->send_ns;
	sample.guest_ns = reply->guest_ns;
	sample.host_recv_ns = recv_ns;
	if (lh_clock_sync_add(clk->sync, &sample) < 0) {
		DBG_CTX(clk->log_ctx, "clock reply %" PRIu64 ": guest time %" PRIu64 " refused",
			reply->seq, reply->guest_ns);
		return;
	}
	/* An estimate that fails (too few samples yet) leaves the last good one. */
	if (lh_clock_sync_estimate(clk->sync, &est) < 0) {
		return;
	}
	clk->est = est;
	clk->have_estimate = true;
	if (!clk->reported && reply->seq >= CLOCK_BURST_PROBES) {
		log_estimate(clk, LH_LOG_INFO);
		clk->reported = true;
	}
	if (clk->on_estimate) {
		clk->on_estimate(clk, clk->notify_arg);
	}
}

void lh_clock_probe_set_notify(struct lh_clock_probe *clk,
		void (*on_estimate)(struct lh_clock_probe *clk, void *arg), void *arg)
{
	clk->on_estimate = on_estimate;
	clk->notify_arg = arg;
}

int lh_clock_probe_estimate(const struct lh_clock_probe *clk, struct lh_clock_estimate *est)
{
	if (!clk->have_estimate) {
		return -1;
	}
	*est = clk->est;
	return 0;
}

int lh_clock_probe_correction(const struct lh_clock_probe *clk,
		struct lh_clock_correction *corr, struct lh_clock_estimate *est)
{
	return lh_clock_probe_correction_nested(clk, NULL, 0, corr, est);
}

int lh_clock_probe_correction_nested(const struct lh_clock_probe *clk,
		const struct lh_clock_estimate *hops, size_t nr_hops,
		struct lh_clock_correction *corr, struct lh_clock_estimate *est)
{
	struct lh_clock_estimate chain;
	size_t i;

	if (!clk->have_estimate) {
		return -1;
	}
	chain = clk->est;
	for (i = 0; i < nr_hops; i++) {
		lh_clock_estimate_compose(&chain, &hops[i], &chain);
	}
	lh_clock_correction_from_estimate(&chain, clk->realtime_minus_mono_ns,
		CLOCK_MIN_DRIFT, corr);
	if (est) {
		*est = chain;
	}
	return 0;
}

void lh_clock_estimate_to_wire(const struct lh_clock_estimate *est,
		struct lttng_hyper_clock_estimate *wire)
{
	double drift_fs = est->drift * 1e15;

	if (drift_fs > (double) LTTNG_HYPER_CLOCK_MAX_DRIFT_FS) {
		drift_fs = (double) LTTNG_HYPER_CLOCK_MAX_DRIFT_FS;
	} else if (drift_fs < -(double) LTTNG_HYPER_CLOCK_MAX_DRIFT_FS) {
		drift_fs = -(double) LTTNG_HYPER_CLOCK_MAX_DRIFT_FS;
	}
	*wire = (struct lttng_hyper_clock_estimate) {
		.ref_child_ns = est->ref_guest_ns,
		.ref_parent_ns = est->ref_host_ns,
		.drift_fs = (int64_t) (drift_fs >= 0 ? drift_fs + 0.5 : drift_fs - 0.5),
		.error_ns = est->error_ns,
		.min_rtt_ns = est->min_rtt_ns,
		.first_child_ns = est->first_guest_ns,
		.last_child_ns = est->last_guest_ns,
		.samples = est->samples,
		.used = est->used > UINT16_MAX ? UINT16_MAX : (uint16_t) est->used,
		.method = LTTNG_HYPER_CLOCK_METHOD_OTHER,
	};
	if (est->method && !strcmp(est->method, "convex-hull")) {
		wire->method = LTTNG_HYPER_CLOCK_METHOD_CONVEX_HULL;
	} else if (est->method && !strcmp(est->method, "min-rtt")) {
		wire->method = LTTNG_HYPER_CLOCK_METHOD_MIN_RTT;
	}
	if (wire->used > wire->samples) {
		wire->used = (uint16_t) (wire->samples > UINT16_MAX ? UINT16_MAX : wire->samples);
	}
}

void lh_clock_estimate_from_wire(const struct lttng_hyper_clock_estimate *wire,
		struct lh_clock_estimate *est)
{
	static const char *const methods[] = {
		[LTTNG_HYPER_CLOCK_METHOD_OTHER] = "other",
		[LTTNG_HYPER_CLOCK_METHOD_CONVEX_HULL] = "convex-hull",
		[LTTNG_HYPER_CLOCK_METHOD_MIN_RTT] = "min-rtt",
	};

	*est = (struct lh_clock_estimate) {
		.ref_guest_ns = wire->ref_child_ns,
		.ref_host_ns = wire->ref_parent_ns,
		.drift = (double) wire->drift_fs / 1e15,
		.error_ns = wire->error_ns,
		.min_rtt_ns = wire->min_rtt_ns,
		.first_guest_ns = wire->first_child_ns,
		.last_guest_ns = wire->last_child_ns,
		.samples = wire->samples,
		.used = wire->used,
		.method = wire->method <= LTTNG_HYPER_CLOCK_METHOD_MIN_RTT ?
			methods[wire->method] : "other",
	};
}
