/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the guest clock estimator (src/common/clocksync.h) on
 * synthetic probes whose truth is known: offset, drift, asymmetric
 * jitter, outliers, a clock step; then composition and the TSDL values;
 * then an estimate's wire form, and a nested VM's correction composed on
 * a real probe over a pair of muxes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lttng-hyper/frame.h>

#include "common/clock-probe.h"
#include "common/clocksync.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/mux.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	73

#define NSEC		INT64_C(1000000000)
#define USEC		INT64_C(1000)
#define MSEC		INT64_C(1000000)
/* Host CLOCK_MONOTONIC at the first probe, and the guest's lead over it. */
#define HOST0		INT64_C(1234567890123)
#define GUEST_LEAD	(12345 * NSEC + 678901234)
#define MAX_PROBES	16384

struct scenario {
	const char *name;
	double drift;		/* guest clock rate error, as the estimate sees it */
	int64_t span_s;		/* rounds after the burst, one per second */
	unsigned int outliers;	/* probes delayed by 50 ms, one way */
	int64_t step_ns;	/* host lead jumps by this half way (0: none) */
	size_t max_samples;
};

/* A probe and the host time at which the guest really read its clock. */
struct probe {
	struct lh_clock_sample s;
	uint64_t truth_ns;
};

static struct probe probes[MAX_PROBES];
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: deterministic, so a failure can be replayed. */
static double uniform(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double) ((rng_state * 0x2545f4914f6cdd1dULL) >> 11) / (double) (1ULL << 53);
}

/* 5 to 200 µs, mostly short; a higher power skews it further. */
static int64_t delay(int power)
{
	double u = uniform(), p = 1;
	int i;

	for (i = 0; i < power; i++) {
		p *= u;
	}
	return 5 * USEC + (int64_t) (195.0 * USEC * p);
}

static int64_t round_i64(double v)
{
	return v < 0 ? -(int64_t) (-v + 0.5) : (int64_t) (v + 0.5);
}

/*
 * The guest clock reads host_lead behind the host's at the first probe,
 * and runs 1 / (1 + drift) as fast, so that host = (1 + drift) * guest
 * plus a constant, as the estimator models it.
 */
static uint64_t guest_at(const struct scenario *sc, int64_t host_ns)
{
	int64_t rel = host_ns - HOST0;

	if (sc->step_ns && rel >= sc->span_s * NSEC / 2) {
		rel -= sc->step_ns;
	}
	return (uint64_t) (HOST0 + GUEST_LEAD + round_i64((double) rel / (1 + sc->drift)));
}

static void make_probe(const struct scenario *sc, struct probe *p, int64_t send_ns,
		bool outlier)
{
	int64_t out = delay(4), back = delay(2);

	if (outlier) {
		if (uniform() < 0.5) {
			out += 50 * MSEC;
		} else {
			back += 50 * MSEC;
		}
	}
	p->s.host_send_ns = (uint64_t) send_ns;
	p->truth_ns = (uint64_t) (send_ns + out);
	p->s.guest_ns = guest_at(sc, send_ns + out);
	p->s.host_recv_ns = p->truth_ns + (uint64_t) back;
}

/* The relay's schedule: a burst of 32 probes 1 ms apart, then 4 a second. */
static size_t make_probes(const struct scenario *sc)
{
	size_t n = 0, i;
	int64_t r;

	for (i = 0; i < 32; i++, n++) {
		make_probe(sc, &probes[n], HOST0 + (int64_t) i * MSEC, false);
	}
	for (r = 1; r <= sc->span_s && n + 4 <= MAX_PROBES; r++) {
		for (i = 0; i < 4; i++, n++) {
			make_probe(sc, &probes[n], HOST0 + r * NSEC + (int64_t) i * MSEC, false);
		}
	}
	/* Outliers spread over the run, never the first or last probe. */
	for (i = 0; i < sc->outliers; i++) {
		size_t k = 1 + (size_t) (uniform() * (double) (n - 2));

		make_probe(sc, &probes[k], (int64_t) probes[k].s.host_send_ns, true);
	}
	return n;
}

static int64_t abs_i64(int64_t v)
{
	return v < 0 ? -v : v;
}

/* The worst error over probes at 0, 1/8, ..., 1 of the run. */
static uint64_t worst_error(const struct lh_clock_estimate *est, size_t n)
{
	int64_t worst = 0;
	size_t i;

	for (i = 0; i <= 8; i++) {
		const struct probe *p = &probes[i * (n - 1) / 8];
		int64_t err = abs_i64((int64_t) (lh_clock_estimate_map(est, p->s.guest_ns) -
				p->truth_ns));

		worst = err > worst ? err : worst;
	}
	return (uint64_t) worst;
}

static bool run(const struct scenario *sc, struct lh_clock_estimate *est, uint64_t *err)
{
	struct lh_clock_sync *sync;
	size_t n, i;
	bool added = true;
	int ret;

	n = make_probes(sc);
	sync = lh_clock_sync_create(sc->max_samples);
	if (!sync) {
		return false;
	}
	for (i = 0; i < n; i++) {
		added &= lh_clock_sync_add(sync, &probes[i].s) == 0;
	}
	ret = lh_clock_sync_estimate(sync, est);
	lh_clock_sync_destroy(sync);
	if (!added || ret < 0) {
		return false;
	}
	*err = worst_error(est, n);
	diag("%s: %s, %u/%u samples, drift %+.4f ppm (truth %+.4f), error %" PRIu64
		" ns, bound %" PRIu64 " ns, min RTT %" PRIu64 " ns", sc->name, est->method,
		est->used, est->samples, est->drift * 1e6, sc->drift * 1e6, *err,
		est->error_ns, est->min_rtt_ns);
	return true;
}

static void test_clean(void)
{
	static const struct scenario scs[] = {
		{ "no drift", 0, 60, 0, 0, 4096 },
		{ "+50 ppm", 50e-6, 60, 0, 0, 4096 },
		{ "-20 ppm", -20e-6, 60, 0, 0, 4096 },
	};
	size_t i;

	for (i = 0; i < sizeof(scs) / sizeof(scs[0]); i++) {
		struct lh_clock_estimate est;
		uint64_t err;

		if (!ok(run(&scs[i], &est, &err), "%s: estimate", scs[i].name)) {
			skip(5, "no estimate");
			continue;
		}
		ok(!strcmp(est.method, "convex-hull"), "%s: convex hull fits", scs[i].name);
		ok(err <= est.error_ns, "%s: error within the bound", scs[i].name);
		ok(est.error_ns < 2 * est.min_rtt_ns, "%s: bound below twice the min RTT",
			scs[i].name);
		ok(est.drift - scs[i].drift < 0.1e-6 && scs[i].drift - est.drift < 0.1e-6,
			"%s: drift within 0.1 ppm", scs[i].name);
		ok(est.first_guest_ns == probes[0].s.guest_ns && est.samples == 272,
			"%s: span and samples", scs[i].name);
	}
}

static void test_outliers(void)
{
	const struct scenario sc = { "outliers", 50e-6, 60, 6, 0, 4096 };
	struct lh_clock_estimate est;
	uint64_t err;

	if (!ok(run(&sc, &est, &err), "outliers: estimate")) {
		skip(4, "no estimate");
		return;
	}
	ok(!strcmp(est.method, "convex-hull"), "outliers: the hull ignores them");
	ok(err <= est.error_ns, "outliers: error within the bound");
	ok(est.error_ns < 2 * est.min_rtt_ns, "outliers: bound below twice the min RTT");
	ok(est.drift - sc.drift < 0.1e-6 && sc.drift - est.drift < 0.1e-6,
		"outliers: drift within 0.1 ppm");
}

static void test_step(void)
{
	const struct scenario sc = { "300 us step", -20e-6, 60, 3, 300 * USEC, 4096 };
	struct lh_clock_estimate est;
	uint64_t err;

	if (!ok(run(&sc, &est, &err), "step: estimate")) {
		skip(3, "no estimate");
		return;
	}
	ok(!strcmp(est.method, "min-rtt"), "step: no line fits, min-RTT fit");
	ok(err <= est.error_ns, "step: error within the bound");
	ok(est.error_ns >= 150 * USEC && est.error_ns < 400 * USEC,
		"step: the bound covers half the step, and not much more");
}

static void test_bounded(void)
{
	const struct scenario small = { "64 samples", 50e-6, 60, 4, 0, 64 };
	const struct scenario hour = { "one hour, 2048 samples", -20e-6, 3600, 20, 0, 2048 };
	struct lh_clock_estimate est;
	uint64_t err;

	if (ok(run(&small, &est, &err), "64 samples: estimate")) {
		ok(est.samples <= 64, "64 samples: memory bounded");
		ok(err <= est.error_ns, "64 samples: error within the bound");
		ok(est.first_guest_ns == probes[0].s.guest_ns &&
			est.last_guest_ns == probes[271].s.guest_ns,
			"64 samples: first and last kept");
		ok(est.drift - small.drift < 0.2e-6 && small.drift - est.drift < 0.2e-6,
			"64 samples: drift within 0.2 ppm");
	} else {
		skip(4, "no estimate");
	}
	if (ok(run(&hour, &est, &err), "one hour: estimate")) {
		ok(est.samples <= 2048 && !strcmp(est.method, "convex-hull"),
			"one hour: memory bounded, hull kept");
		ok(err <= est.error_ns && est.error_ns < 2 * est.min_rtt_ns,
			"one hour: error within a tight bound");
		ok(est.drift - hour.drift < 0.01e-6 && hour.drift - est.drift < 0.01e-6,
			"one hour: drift within 0.01 ppm");
	} else {
		skip(3, "no estimate");
	}
}

static void test_inputs(void)
{
	struct lh_clock_sync *sync = lh_clock_sync_create(8);
	struct lh_clock_sample s = { 1000, 5000, 999 };
	struct lh_clock_estimate est;

	if (!ok(sync != NULL, "create")) {
		skip(7, "no sync");
		return;
	}
	ok(lh_clock_sync_estimate(sync, &est) < 0, "no estimate without samples");
	ok(lh_clock_sync_add(sync, &s) < 0, "reply before the probe refused");
	s.host_recv_ns = 1100;
	ok(lh_clock_sync_add(sync, &s) == 0, "sample added");
	ok(lh_clock_sync_estimate(sync, &est) < 0, "no estimate from one sample");
	s.guest_ns = UINT64_MAX;
	ok(lh_clock_sync_add(sync, &s) < 0, "sample a century away refused");
	s.host_send_ns = 2000;
	s.guest_ns = 6000;
	s.host_recv_ns = 2100;
	ok(lh_clock_sync_add(sync, &s) == 0, "second sample added");
	ok(lh_clock_sync_estimate(sync, &est) == 0 && est.drift == 0 &&
		lh_clock_estimate_map(&est, 5500) == 1550 && est.error_ns == 50,
		"two samples: zero drift, the midpoint, half the RTT");
	lh_clock_sync_destroy(sync);
}

static void test_compose(void)
{
	const struct lh_clock_estimate outer = {
		.ref_guest_ns = 500 * NSEC, .ref_host_ns = 100 * NSEC, .drift = 30e-6,
		.error_ns = 1500, .min_rtt_ns = 20000, .first_guest_ns = 400 * NSEC,
		.last_guest_ns = 600 * NSEC, .samples = 100, .used = 10, .method = "convex-hull",
	};
	const struct lh_clock_estimate inner = {
		.ref_guest_ns = 9000 * NSEC, .ref_host_ns = 520 * NSEC, .drift = -20e-6,
		.error_ns = 4000, .min_rtt_ns = 90000, .first_guest_ns = 8990 * NSEC,
		.last_guest_ns = 9010 * NSEC, .samples = 50, .used = 7, .method = "min-rtt",
	};
	struct lh_clock_estimate c;
	int64_t worst = 0;
	int i;

	lh_clock_estimate_compose(&outer, &inner, &c);
	for (i = -10; i <= 10; i++) {
		uint64_t g = (uint64_t) (9000 * NSEC + i * NSEC);
		int64_t d = (int64_t) (lh_clock_estimate_map(&c, g) -
			lh_clock_estimate_map(&outer, lh_clock_estimate_map(&inner, g)));

		worst = abs_i64(d) > worst ? abs_i64(d) : worst;
	}
	ok(worst <= 1, "composed map = outer(inner(g)) within 1 ns (%" PRId64 ")", worst);
	ok(c.drift > 9.99939e-6 && c.drift < 9.99941e-6, "drifts compose");
	ok(c.error_ns >= 5500 && c.error_ns <= 5501, "error bounds add");
	ok(c.first_guest_ns == inner.first_guest_ns && c.last_guest_ns == inner.last_guest_ns &&
		c.samples == 150, "span is the inner one");
	ok(c.ref_host_ns == lh_clock_estimate_map(&outer, 520 * NSEC),
		"reference maps through the outer estimate");
}

/* TSDL's ns_from_origin of clock value c: (offset + c) * 1e9 / freq, exactly. */
static __int128 tsdl_ns(const struct lh_clock_correction *corr, uint64_t c)
{
	return ((__int128) corr->offset + c) * NSEC / (__int128) corr->freq;
}

static void test_correction(void)
{
	/* A real host: realtime - monotonic is about 1.7e18 ns. */
	const int64_t rt = INT64_C(1764000000) * NSEC + 123456789;
	struct lh_clock_estimate est = {
		.ref_guest_ns = HOST0 + GUEST_LEAD, .ref_host_ns = HOST0, .drift = 0,
		.error_ns = 900, .first_guest_ns = HOST0 + GUEST_LEAD - 30 * NSEC,
		.last_guest_ns = HOST0 + GUEST_LEAD + 30 * NSEC,
	};
	struct lh_clock_correction corr;
	uint64_t later = est.ref_guest_ns + 30 * NSEC;
	__int128 want;

	lh_clock_correction_from_estimate(&est, rt, 1e-8, &corr);
	ok(corr.freq == 1000000000 && corr.offset == (uint64_t) (HOST0 + rt - HOST0 - GUEST_LEAD),
		"no drift: offset = host realtime - guest clock");
	ok(corr.error_ns == 900 && corr.host_realtime_minus_mono_ns == rt,
		"no drift: the estimate's bound");

	est.drift = 5e-9;
	lh_clock_correction_from_estimate(&est, rt, 1e-8, &corr);
	ok(corr.freq == 1000000000, "5 ppb: below min_drift, freq kept");
	ok(corr.error_ns == 900 + 150, "5 ppb: ignored drift added to the bound");

	est.drift = 50e-6;
	lh_clock_correction_from_estimate(&est, rt, 1e-8, &corr);
	ok(corr.freq == 999950002, "+50 ppm: freq = round(1e9 / (1 + drift))");
	want = (__int128) HOST0 + rt;
	ok(tsdl_ns(&corr, est.ref_guest_ns) - want <= 1 &&
		want - tsdl_ns(&corr, est.ref_guest_ns) <= 1,
		"+50 ppm: reference lands on host realtime");
	want = (__int128) HOST0 + rt + 30 * NSEC + 1500000;
	ok(tsdl_ns(&corr, later) - want <= 20 && want - tsdl_ns(&corr, later) <= 20,
		"+50 ppm: 30 s later, the drift is applied");
	ok(corr.error_ns >= 900 && corr.error_ns <= 900 + 20, "+50 ppm: freq rounding bounded");

	est.drift = -20e-6;
	lh_clock_correction_from_estimate(&est, rt, 1e-8, &corr);
	ok(corr.freq == 1000020000, "-20 ppm: freq");
	want = (__int128) HOST0 + rt + 30 * NSEC - 600000;
	ok(tsdl_ns(&corr, later) - want <= 20 && want - tsdl_ns(&corr, later) <= 20,
		"-20 ppm: 30 s later, the drift is applied");

	/* A guest clock ahead of the host's wall clock: offset would be negative. */
	est.drift = 0;
	est.ref_guest_ns = (uint64_t) rt + HOST0 + 5 * NSEC;
	lh_clock_correction_from_estimate(&est, rt, 1e-8, &corr);
	ok(corr.offset == 0 && corr.error_ns >= 5 * NSEC, "negative offset clamped, bound says so");
}

static bool estimates_equal(const struct lh_clock_estimate *a,
		const struct lh_clock_estimate *b)
{
	return a->ref_guest_ns == b->ref_guest_ns && a->ref_host_ns == b->ref_host_ns &&
		a->error_ns == b->error_ns && a->min_rtt_ns == b->min_rtt_ns &&
		a->first_guest_ns == b->first_guest_ns && a->last_guest_ns == b->last_guest_ns &&
		a->samples == b->samples && a->used == b->used;
}

/* est through to_wire, the CLOCK_ESTIMATE codec and from_wire. */
static int wire_round_trip(const struct lh_clock_estimate *est,
		struct lttng_hyper_clock_estimate *wire, struct lh_clock_estimate *back)
{
	uint8_t body[LTTNG_HYPER_CLOCK_ESTIMATE_LEN];
	struct lttng_hyper_clock_estimate decoded;

	lh_clock_estimate_to_wire(est, wire);
	lttng_hyper_clock_estimate_encode(wire, body);
	if (lttng_hyper_clock_estimate_decode(body, sizeof(body), &decoded)) {
		return -1;
	}
	lh_clock_estimate_from_wire(&decoded, back);
	return 0;
}

static void test_wire(void)
{
	struct lh_clock_estimate est = {
		.ref_guest_ns = 9000 * NSEC + 1, .ref_host_ns = 520 * NSEC + 2,
		.drift = -12.345678901234e-6, .error_ns = 4321, .min_rtt_ns = 87654,
		.first_guest_ns = 8990 * NSEC, .last_guest_ns = 9010 * NSEC,
		.samples = 70000, .used = 300, .method = "convex-hull",
	}, back;
	struct lttng_hyper_clock_estimate wire;
	int64_t worst = 0;
	int i, ret;

	ret = wire_round_trip(&est, &wire, &back);
	ok(ret == 0 && wire.drift_fs == -12345678901 &&
		wire.method == LTTNG_HYPER_CLOCK_METHOD_CONVEX_HULL &&
		wire.ref_child_ns == est.ref_guest_ns && wire.ref_parent_ns == est.ref_host_ns &&
		wire.samples == 70000 && wire.used == 300,
		"to_wire: drift in 1e-15 units (%" PRId64 "), fields in place", wire.drift_fs);
	ok(estimates_equal(&back, &est) && back.drift - est.drift <= 1e-15 &&
		est.drift - back.drift <= 1e-15 && !strcmp(back.method, "convex-hull"),
		"from_wire gives the estimate back, drift within 1e-15 (%.3g off)",
		back.drift - est.drift);
	for (i = -10; i <= 10; i++) {
		uint64_t g = (uint64_t) (9000 * NSEC + i * NSEC);
		int64_t d = (int64_t) (lh_clock_estimate_map(&back, g) -
			lh_clock_estimate_map(&est, g));

		worst = abs_i64(d) > worst ? abs_i64(d) : worst;
	}
	ok(worst <= 1, "the estimate maps the same after the trip, within 1 ns (%" PRId64 ")",
		worst);

	est.method = "min-rtt";
	ok(wire_round_trip(&est, &wire, &back) == 0 &&
		wire.method == LTTNG_HYPER_CLOCK_METHOD_MIN_RTT && !strcmp(back.method, "min-rtt"),
		"method min-rtt");
	est.method = "composed";
	ok(wire_round_trip(&est, &wire, &back) == 0 &&
		wire.method == LTTNG_HYPER_CLOCK_METHOD_OTHER && !strcmp(back.method, "other"),
		"another method is 'other'");
	wire.method = 200;
	lh_clock_estimate_from_wire(&wire, &back);
	ok(back.method && !strcmp(back.method, "other"), "an unknown method on the wire is 'other'");

	est.drift = 2e-3;
	est.used = 100000;
	est.samples = 200000;
	ok(wire_round_trip(&est, &wire, &back) == 0 &&
		wire.drift_fs == LTTNG_HYPER_CLOCK_MAX_DRIFT_FS && wire.used == UINT16_MAX,
		"to_wire clamps a drift beyond +1000 ppm and a used count beyond 16 bits");
	est.drift = -1;
	est.used = 10;
	est.samples = 5;
	ok(wire_round_trip(&est, &wire, &back) == 0 &&
		wire.drift_fs == -LTTNG_HYPER_CLOCK_MAX_DRIFT_FS && wire.used == 5,
		"to_wire clamps a drift beyond -1000 ppm, and used to samples");
}

/* A real probe: a host mux and a guest mux in one process, one clock. */
static struct lh_loop *loop;
static struct lh_clock_probe *probe;
static bool channel_failed;

static void host_on_ready(struct lh_mux *mux, const struct lttng_hyper_hello *peer)
{
	if (probe) {
		lh_clock_probe_burst(probe);
	}
}

static void host_on_clock_reply(struct lh_mux *mux, const struct lttng_hyper_clock_reply *reply)
{
	if (probe) {
		lh_clock_probe_on_reply(probe, reply);
	}
}

static int refuse_open(struct lh_mux *mux, struct lh_mux_conn *conn,
		enum lttng_hyper_conn_kind kind, const char *path)
{
	return -1;
}

static void on_channel_error(struct lh_mux *mux, const char *why)
{
	diag("channel error: %s", why);
	channel_failed = true;
	lh_loop_stop(loop);
}

static const struct lh_mux_ops host_ops = {
	.on_ready = host_on_ready,
	.on_open = refuse_open,
	.on_channel_error = on_channel_error,
	.on_clock_reply = host_on_clock_reply,
};

static const struct lh_mux_ops guest_ops = {
	.on_channel_error = on_channel_error,
};

static uint64_t deadline_ms;

/* Stop the loop once the probe has an estimate, or at the deadline. */
static void check_estimate(struct lh_timer *timer, void *arg)
{
	struct lh_clock_estimate est;

	if (lh_clock_probe_estimate(probe, &est) == 0 || lh_now_ms() >= deadline_ms ||
			!lh_loop_timer(loop, 1, check_estimate, NULL)) {
		lh_loop_stop(loop);
	}
}

static void test_probe_nested(void)
{
	/* l2's clock in l1's, then l3's in l2's, as the hops relay them. */
	const struct lh_clock_estimate hops[2] = {
		{
			.ref_guest_ns = 5000 * NSEC, .ref_host_ns = 7000 * NSEC, .drift = 0,
			.error_ns = 1000, .first_guest_ns = 4990 * NSEC,
			.last_guest_ns = 5010 * NSEC, .samples = 40, .used = 4,
			.method = "convex-hull",
		}, {
			.ref_guest_ns = 100 * NSEC, .ref_host_ns = 5000 * NSEC, .drift = 40e-6,
			.error_ns = 2000, .first_guest_ns = 90 * NSEC,
			.last_guest_ns = 110 * NSEC, .samples = 50, .used = 5,
			.method = "min-rtt",
		},
	};
	const uint64_t c3 = 110 * NSEC;
	struct lh_clock_correction corr, want_corr;
	struct lh_clock_estimate l1, est;
	struct lh_mux_config gcfg, hcfg;
	struct lh_mux *guest = NULL, *host = NULL;
	uint64_t want;
	int64_t d;
	int sv[2] = { -1, -1 }, ret;

	lh_mux_config_init(&gcfg, LH_MUX_GUEST);
	gcfg.log_ctx = "channel=test";
	lh_mux_config_init(&hcfg, LH_MUX_HOST);
	hcfg.log_ctx = "vm=l1";
	hcfg.vm_name = "l1";
	loop = lh_loop_create();
	if (loop && !socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) {
		guest = lh_mux_create(loop, sv[0], &gcfg, &guest_ops, NULL);
		host = lh_mux_create(loop, sv[1], &hcfg, &host_ops, NULL);
	}
	probe = host ? lh_clock_probe_create(loop, host, "vm=l1") : NULL;
	if (!ok(guest && host && probe, "a probe over a mux pair")) {
		skip(4, "no probe: %s", strerror(errno));
		goto end;
	}
	ok(lh_clock_probe_correction_nested(probe, hops, 2, &corr, &est) < 0,
		"no nested correction before the first estimate");
	deadline_ms = lh_now_ms() + 5000;
	if (lh_loop_timer(loop, 1, check_estimate, NULL)) {
		lh_loop_run(loop);
	}
	if (lh_clock_probe_estimate(probe, &l1) || channel_failed) {
		ok(0, "an estimate of l1's clock");
		skip(2, "no estimate");
		goto end;
	}
	ret = lh_clock_probe_correction_nested(probe, hops, 2, &corr, &est);
	ok(ret == 0 && est.error_ns >= l1.error_ns + 3000 && est.error_ns <= l1.error_ns + 3002,
		"l3's bound is the sum of the hops' (%" PRIu64 " ns = %" PRIu64 " + 1000 + 2000)",
		est.error_ns, l1.error_ns);
	/* l3 at 110 s is l2 at 5010.0004 s, l1 at 7010.0004 s, then l1's estimate. */
	want = lh_clock_estimate_map(&l1, 7010 * NSEC + 400 * USEC);
	d = (int64_t) (lh_clock_estimate_map(&est, c3) - want);
	lh_clock_correction_from_estimate(&est, corr.host_realtime_minus_mono_ns, 1e-8,
		&want_corr);
	ok(abs_i64(d) <= 2 && corr.freq == want_corr.freq && corr.offset == want_corr.offset &&
		corr.freq != 1000000000,
		"the hops compose in order: l3's clock lands %" PRId64 " ns from the truth, freq %" PRIu64,
		d, corr.freq);
	ok(lh_clock_probe_correction_nested(probe, NULL, 0, &want_corr, &est) == 0 &&
		lh_clock_probe_correction(probe, &corr, NULL) == 0 &&
		corr.offset == want_corr.offset && estimates_equal(&est, &l1),
		"no hop: the channel VM's own correction");
end:
	/* The probe outlives the mux, as the relay tears them down. */
	lh_mux_destroy(host);
	lh_mux_destroy(guest);
	if (probe) {
		lh_clock_probe_destroy(probe);
		probe = NULL;
	}
	if (!host && sv[1] >= 0) {
		close(sv[1]);
	}
	if (!guest && sv[0] >= 0) {
		close(sv[0]);
	}
	if (loop) {
		lh_loop_destroy(loop);
	}
}

int main(void)
{
	plan_tests(NUM_TESTS);
	lh_log_init("test_clocksync");
	lh_log_set_level(LH_LOG_ERR);
	test_clean();
	test_outliers();
	test_step();
	test_bounded();
	test_inputs();
	test_compose();
	test_correction();
	test_wire();
	test_probe_nested();
	return exit_status();
}
