/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest clock estimation from two-way probes.
 *
 * The host stamps a probe with its CLOCK_MONOTONIC (t1), the guest
 * answers with its own clock reading (g, the clock its LTTng traces
 * use), and the host stamps the answer's arrival (t2). So the guest read
 * g at some host time in [t1, t2]. From many such samples the estimator
 * finds the line host = (1 + drift) * (g - ref_guest_ns) + ref_host_ns
 * that fits every sample's interval, and a bound on its error.
 */
#ifndef LH_COMMON_CLOCKSYNC_H
#define LH_COMMON_CLOCKSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lh_clock_sample {
	uint64_t host_send_ns;	/* t1, host CLOCK_MONOTONIC */
	uint64_t guest_ns;	/* g, the guest's clock */
	uint64_t host_recv_ns;	/* t2, host CLOCK_MONOTONIC */
};

struct lh_clock_estimate {
	/* host_mono(g) = ref_host_ns + (g - ref_guest_ns) * (1 + drift) */
	uint64_t ref_guest_ns;
	uint64_t ref_host_ns;
	double drift;		/* dimensionless, e.g. 1e-6 = 1 ppm */
	/* Bound on |error| of host_mono(g) for g within the sampled span. */
	uint64_t error_ns;
	uint64_t min_rtt_ns;
	uint64_t first_guest_ns, last_guest_ns;	/* sampled span */
	unsigned int samples;	/* samples kept */
	unsigned int used;	/* samples that shaped the estimate */
	const char *method;	/* e.g. "convex-hull", "min-rtt" (static string) */
};

/*
 * A guest's clock as TSDL clock values on the host's wall-clock axis:
 * host_realtime_ns(c) = offset * 1e9 / freq + c * 1e9 / freq, for a guest
 * clock value c (nanoseconds, as LTTng writes them with freq = 1e9).
 * This is what goes into the trace's metadata clock block.
 */
struct lh_clock_correction {
	uint64_t freq;		/* Hz; 1000000000 when drift is not corrected */
	uint64_t offset;	/* in cycles of freq */
	uint64_t error_ns;	/* bound, from the estimate */
	int64_t host_realtime_minus_mono_ns;	/* the host's own offset used */
};

struct lh_clock_sync;

/* Keep at most max_samples (the most informative ones win). */
struct lh_clock_sync *lh_clock_sync_create(size_t max_samples);
void lh_clock_sync_destroy(struct lh_clock_sync *sync);
/*
 * Samples with host_recv_ns < host_send_ns, or more than 2^60 ns (36
 * years) from the first sample, are ignored (returns -1).
 */
int lh_clock_sync_add(struct lh_clock_sync *sync, const struct lh_clock_sample *sample);
/*
 * 0 and *est filled, or -1 when there are not enough samples yet (two
 * guest times at least), or they imply a drift beyond 1000 ppm.
 */
int lh_clock_sync_estimate(const struct lh_clock_sync *sync, struct lh_clock_estimate *est);

/* host_mono(guest_ns) by the estimate. */
uint64_t lh_clock_estimate_map(const struct lh_clock_estimate *est, uint64_t guest_ns);
/*
 * Compose: inner maps a grandchild's clock to the child's, outer maps the
 * child's clock to ours. The result maps the grandchild's clock to ours;
 * offsets add, drifts compose, error bounds add.
 */
void lh_clock_estimate_compose(const struct lh_clock_estimate *outer,
		const struct lh_clock_estimate *inner, struct lh_clock_estimate *out);
/*
 * TSDL clock values for the estimate, given the host's realtime - monotonic
 * offset. Drift is corrected through freq only when |drift| exceeds
 * min_drift (e.g. 1e-8); freq is then rounded to the nearest Hz. The
 * drift left uncorrected over the sampled span is added to error_ns. An
 * offset that would be negative (a guest clock ahead of the host's wall
 * clock; TSDL readers reject it) is clamped to 0, and the clamped amount
 * is added to error_ns.
 */
void lh_clock_correction_from_estimate(const struct lh_clock_estimate *est,
		int64_t host_realtime_minus_mono_ns, double min_drift,
		struct lh_clock_correction *corr);

#endif /* LH_COMMON_CLOCKSYNC_H */
