/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest clock estimation from two-way probes.
 *
 * Relative to the first sample (guest g0, host t0), a sample becomes
 * x = g - g0 and the two host stamps y = t - t0 - x: the host clock's lead
 * over the guest's, bounded below by y1 (probe sent) and above by y2
 * (reply received). A clock relation host = (1 + d) * guest + c is a line
 * y = d * x + b that passes between (x, y1) and (x, y2) for every sample.
 *
 * Convex hull (Duda's algorithm, as in Trace Compass): only the upper
 * hull of the (x, y1) points and the lower hull of the (x, y2) points
 * bound the feasible lines. With L(d) = max(y1 - d * x) over the first
 * and U(d) = min(y2 - d * x) over the second, taken at the middle of the
 * sampled span, the feasible lines are the convex polygon
 * {(d, b) : L(d) <= b <= U(d)}, whose corners lie at the hulls' edge
 * slopes. A slow probe only widens its own interval, so outliers cost
 * nothing. We take zero drift when the polygon admits it (the clocks of a
 * KVM guest or a time namespace do not drift, and a drift the samples do
 * not demand only harms extrapolation), else the polygon's centroid, the
 * mean of all the lines the samples allow. The error at a guest time is
 * bounded by the distance to the farthest feasible line there.
 *
 * Min-RTT fit, when no line fits every sample (a clock step, a slewed
 * clock): the fastest sample of each time bucket, dropping buckets much
 * slower than the typical one, and a least-squares line through their
 * midpoints. The error bound is the worst used sample's half round trip
 * plus its residual.
 *
 * Coordinates are int64 nanoseconds; hull turns are exact in 128 bits, and
 * only slopes and the fitted line are doubles.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/clocksync.h"
#include "common/log.h"

/*
 * Samples farther than this (36 years) from the first one are refused,
 * so that every coordinate difference fits in 63 bits and every hull
 * cross product in 127.
 */
#define CLOCK_MAX_DELTA		(INT64_C(1) << 60)
/* A drift beyond this (real clocks stay within 500 ppm) is not a clock. */
#define CLOCK_MAX_DRIFT		1e-3
/* Time buckets of the min-RTT fit. */
#define CLOCK_FIT_BUCKETS	32
/* The fit drops bucket minima slower than this many times the median one. */
#define CLOCK_FIT_RTT_FACTOR	2
#define CLOCK_MIN_SAMPLES	16

struct sample {
	int64_t x;	/* guest time from the first sample */
	int64_t y1;	/* lower bound of the host's lead at x */
	int64_t y2;	/* upper bound */
};

struct lh_clock_sync {
	size_t max;
	size_t count;
	uint64_t ref_guest_ns;	/* the first sample's, origin of x */
	uint64_t ref_host_ns;	/* its host_send_ns, origin of y */
	struct sample *s;	/* sorted by x */
};

/* A point of the feasible polygon: drift, and host lead at the span's middle. */
struct vertex {
	double d;
	double b;
};

/* A hull over one side of the samples, with its edge slopes. */
struct hull {
	size_t *idx;	/* sample indices, by increasing x */
	double *slope;	/* slope[k]: edge idx[k] -> idx[k + 1] */
	size_t n;
	bool upper;	/* upper hull of (x, y1); else lower hull of (x, y2) */
};

static double dabs(double v)
{
	return v < 0 ? -v : v;
}

/* Round to nearest, saturating at the int64 range. */
static int64_t round_sat(double v)
{
	if (v >= 9.2e18) {
		return INT64_MAX;
	}
	if (v <= -9.2e18) {
		return INT64_MIN;
	}
	return v < 0 ? -(int64_t) (-v + 0.5) : (int64_t) (v + 0.5);
}

static uint64_t ceil_u64(double v)
{
	uint64_t u;

	if (v <= 0) {
		return 0;
	}
	if (v >= 1.8e19) {
		return UINT64_MAX;
	}
	u = (uint64_t) v;
	return (double) u < v ? u + 1 : u;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* a - b as a signed difference, saturating. */
static int64_t diff_sat(uint64_t a, uint64_t b)
{
	if (a >= b) {
		return a - b > (uint64_t) INT64_MAX ? INT64_MAX : (int64_t) (a - b);
	}
	return b - a > (uint64_t) INT64_MAX ? INT64_MIN : -(int64_t) (b - a);
}

/* base + delta, clamped to the uint64 range. */
static uint64_t offset_sat(uint64_t base, __int128 delta)
{
	__int128 v = (__int128) base + delta;

	if (v < 0) {
		return 0;
	}
	if (v > (__int128) UINT64_MAX) {
		return UINT64_MAX;
	}
	return (uint64_t) v;
}

static int64_t sample_y(const struct sample *s, bool upper)
{
	return upper ? s->y1 : s->y2;
}

static int64_t sample_rtt(const struct sample *s)
{
	return s->y2 - s->y1;
}

static double sample_mid(const struct sample *s)
{
	return ((double) s->y1 + (double) s->y2) / 2;
}

/*
 * Andrew's monotone chain over the samples (sorted by x). For the upper
 * hull of (x, y1), keep only the highest point of each x and pop a point
 * that is not strictly above the chord; the lower hull mirrors it.
 */
static void hull_build(const struct sample *s, size_t n, struct hull *h)
{
	size_t i, k = 0;
	int sign = h->upper ? 1 : -1;

	for (i = 0; i < n; i++) {
		int64_t y = sample_y(&s[i], h->upper);

		if (k > 0 && s[h->idx[k - 1]].x == s[i].x) {
			if (sign * (y - sample_y(&s[h->idx[k - 1]], h->upper)) <= 0) {
				continue;
			}
			k--;
		}
		while (k >= 2) {
			const struct sample *o = &s[h->idx[k - 2]], *a = &s[h->idx[k - 1]];
			__int128 cross = (__int128) (a->x - o->x) * (y - sample_y(o, h->upper)) -
				(__int128) (sample_y(a, h->upper) - sample_y(o, h->upper)) *
				(s[i].x - o->x);

			if (sign * cross < 0) {
				break;
			}
			k--;
		}
		h->idx[k++] = i;
	}
	h->n = k;
	for (i = 0; i + 1 < k; i++) {
		const struct sample *a = &s[h->idx[i]], *b = &s[h->idx[i + 1]];

		h->slope[i] = (double) (sample_y(b, h->upper) - sample_y(a, h->upper)) /
			(double) (b->x - a->x);
	}
}

/*
 * The upper hull's L(d) = max(y1 - d * x) and the lower hull's
 * U(d) = min(y2 - d * x), x taken from xm. The extreme vertex for slope d
 * is the first whose outgoing edge is no steeper (upper hull: slopes
 * decrease) or no flatter (lower hull: slopes increase) than d.
 */
static double hull_support(const struct sample *s, const struct hull *h, double d, int64_t xm)
{
	size_t lo = 0, hi = h->n - 1;
	const struct sample *v;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->upper ? h->slope[mid] <= d : h->slope[mid] >= d) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	v = &s[h->idx[lo]];
	return (double) sample_y(v, h->upper) - d * (double) (v->x - xm);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

static int cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

/* The scratch space of one estimate or compaction. */
struct work {
	struct hull h1, h2;
	double *cand;		/* every edge slope */
	double *w;		/* U - L at each */
	struct vertex *poly;
	size_t *sidx;
	double *sval;
};

static void work_fini(struct work *wk)
{
	free(wk->h1.idx);
	free(wk->h1.slope);
	free(wk->h2.idx);
	free(wk->h2.slope);
	free(wk->cand);
	free(wk->w);
	free(wk->poly);
	free(wk->sidx);
	free(wk->sval);
}

static int work_init(struct work *wk, size_t n)
{
	memset(wk, 0, sizeof(*wk));
	wk->h1.idx = calloc(n, sizeof(*wk->h1.idx));
	wk->h1.slope = calloc(n, sizeof(*wk->h1.slope));
	wk->h2.idx = calloc(n, sizeof(*wk->h2.idx));
	wk->h2.slope = calloc(n, sizeof(*wk->h2.slope));
	wk->cand = calloc(2 * n, sizeof(*wk->cand));
	wk->w = calloc(2 * n, sizeof(*wk->w));
	wk->poly = calloc(2 * n + 2, sizeof(*wk->poly));
	wk->sidx = calloc(CLOCK_FIT_BUCKETS, sizeof(*wk->sidx));
	wk->sval = calloc(CLOCK_FIT_BUCKETS, sizeof(*wk->sval));
	if (!wk->h1.idx || !wk->h1.slope || !wk->h2.idx || !wk->h2.slope || !wk->cand ||
			!wk->w || !wk->poly || !wk->sidx || !wk->sval) {
		PERROR("calloc");
		work_fini(wk);
		return -1;
	}
	wk->h1.upper = true;
	return 0;
}

/* The line chosen, in coordinates from the middle of the span. */
struct fit {
	double d;
	double b;
	double err;
	unsigned int used;
	const char *method;
};

/* Where U - L, linear between neighbouring candidates, crosses zero. */
static double root_between(double d0, double w0, double d1, double w1)
{
	return d0 + w0 * (d1 - d0) / (w0 - w1);
}

/*
 * Centroid of a convex polygon, or the mean of its corners when it has
 * no area (a single feasible line, or a sliver).
 */
static struct vertex centroid(const struct vertex *p, size_t n)
{
	struct vertex mean = { 0, 0 }, c = { 0, 0 };
	double area = 0, dmin = p[0].d, dmax = p[0].d, bmin = p[0].b, bmax = p[0].b;
	size_t i;

	for (i = 0; i < n; i++) {
		mean.d += p[i].d / n;
		mean.b += p[i].b / n;
		dmin = p[i].d < dmin ? p[i].d : dmin;
		dmax = p[i].d > dmax ? p[i].d : dmax;
		bmin = p[i].b < bmin ? p[i].b : bmin;
		bmax = p[i].b > bmax ? p[i].b : bmax;
	}
	/* From the mean, so that the cross products do not cancel out. */
	for (i = 0; i < n; i++) {
		double d0 = p[i].d - mean.d, b0 = p[i].b - mean.b;
		double d1 = p[(i + 1) % n].d - mean.d, b1 = p[(i + 1) % n].b - mean.b;
		double cross = d0 * b1 - d1 * b0;

		area += cross;
		c.d += (d0 + d1) * cross;
		c.b += (b0 + b1) * cross;
	}
	if (n < 3 || dabs(area) <= 1e-9 * (dmax - dmin) * (bmax - bmin)) {
		return mean;
	}
	c.d = mean.d + c.d / (3 * area);
	c.b = mean.b + c.b / (3 * area);
	return c;
}

/* The farthest feasible line from the chosen one, at x from the middle. */
static double poly_reach(const struct vertex *p, size_t n, const struct fit *f, double x)
{
	double e = f->b + f->d * x, worst = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double dist = dabs(p[i].b + p[i].d * x - e);

		worst = dist > worst ? dist : worst;
	}
	return worst;
}

/* Convex hull estimate. Returns -1 when no line fits every sample. */
static int fit_hull(const struct lh_clock_sync *sync, struct work *wk, int64_t xm,
		struct fit *f)
{
	const struct sample *s = sync->s;
	struct hull *h1 = &wk->h1, *h2 = &wk->h2;
	double span = (double) (s[sync->count - 1].x - s[0].x);
	double dlo, dhi, best = 0, reach;
	size_t m = 0, i, k, kbest = 0, np = 0;

	hull_build(s, sync->count, h1);
	hull_build(s, sync->count, h2);
	for (i = 0; i + 1 < h1->n; i++) {
		wk->cand[m++] = h1->slope[i];
	}
	for (i = 0; i + 1 < h2->n; i++) {
		wk->cand[m++] = h2->slope[i];
	}
	/* U - L is concave, piecewise linear, with corners at the edge slopes. */
	qsort(wk->cand, m, sizeof(*wk->cand), cmp_double);
	for (i = 0; i < m; i++) {
		wk->w[i] = hull_support(s, h2, wk->cand[i], xm) -
			hull_support(s, h1, wk->cand[i], xm);
		if (i == 0 || wk->w[i] > best) {
			best = wk->w[i];
			kbest = i;
		}
	}
	if (best < 0) {
		return -1;
	}
	/* Past the last corner, U - L falls by the span per unit of slope. */
	i = kbest + 1;
	while (i < m && wk->w[i] >= 0) {
		i++;
	}
	dhi = i < m ? root_between(wk->cand[i - 1], wk->w[i - 1], wk->cand[i], wk->w[i]) :
		wk->cand[m - 1] + wk->w[m - 1] / span;
	i = kbest;
	while (i > 0 && wk->w[i - 1] >= 0) {
		i--;
	}
	dlo = i > 0 ? root_between(wk->cand[i], wk->w[i], wk->cand[i - 1], wk->w[i - 1]) :
		wk->cand[0] - wk->w[0] / span;

	/* Lower chain by increasing slope, then the upper chain back. */
	wk->poly[np++] = (struct vertex) { dlo, (hull_support(s, h1, dlo, xm) +
			hull_support(s, h2, dlo, xm)) / 2 };
	for (i = h1->n - 1; i-- > 0;) {
		if (h1->slope[i] > dlo && h1->slope[i] < dhi) {
			wk->poly[np++] = (struct vertex) { h1->slope[i],
				hull_support(s, h1, h1->slope[i], xm) };
		}
	}
	wk->poly[np++] = (struct vertex) { dhi, (hull_support(s, h1, dhi, xm) +
			hull_support(s, h2, dhi, xm)) / 2 };
	for (i = h2->n - 1; i-- > 0;) {
		if (h2->slope[i] > dlo && h2->slope[i] < dhi) {
			wk->poly[np++] = (struct vertex) { h2->slope[i],
				hull_support(s, h2, h2->slope[i], xm) };
		}
	}

	if (dlo <= 0 && dhi >= 0) {
		f->d = 0;
		f->b = (hull_support(s, h1, 0, xm) + hull_support(s, h2, 0, xm)) / 2;
	} else {
		struct vertex c = centroid(wk->poly, np);

		f->d = c.d;
		f->b = c.b;
	}
	/* The distance to the farthest line is convex in x: the ends bound it. */
	f->err = poly_reach(wk->poly, np, f, (double) (s[0].x - xm));
	reach = poly_reach(wk->poly, np, f, (double) (s[sync->count - 1].x - xm));
	f->err = reach > f->err ? reach : f->err;

	/* The samples on either hull shaped the polygon: merge the sorted sets. */
	f->used = 0;
	for (i = 0, k = 0; i < h1->n || k < h2->n; f->used++) {
		if (k == h2->n || (i < h1->n && h1->idx[i] < h2->idx[k])) {
			i++;
		} else if (i == h1->n || h2->idx[k] < h1->idx[i]) {
			k++;
		} else {
			i++;
			k++;
		}
	}
	f->method = "convex-hull";
	return 0;
}

/* Bucket of x among nb across the span, in 128 bits: x * nb overflows. */
static size_t bucket_of(const struct lh_clock_sync *sync, int64_t x, size_t nb)
{
	__int128 span = (__int128) sync->s[sync->count - 1].x - sync->s[0].x + 1;

	return (size_t) (((__int128) x - sync->s[0].x) * nb / span);
}

/* Min-RTT fit. Returns -1 with fewer than two usable buckets. */
static int fit_min_rtt(const struct lh_clock_sync *sync, struct work *wk, int64_t xm,
		struct fit *f)
{
	const struct sample *s = sync->s;
	size_t nb = 0, i, k, used = 0;
	int64_t rtts[CLOCK_FIT_BUCKETS], limit;
	double sx = 0, sm = 0, sxx = 0, sxm = 0, xmean, mmean, err = 0;

	for (i = 0; i < sync->count; i++) {
		size_t b = bucket_of(sync, s[i].x, CLOCK_FIT_BUCKETS);

		if (nb > 0 && bucket_of(sync, s[wk->sidx[nb - 1]].x, CLOCK_FIT_BUCKETS) == b) {
			if (sample_rtt(&s[i]) < sample_rtt(&s[wk->sidx[nb - 1]])) {
				wk->sidx[nb - 1] = i;
			}
			continue;
		}
		wk->sidx[nb++] = i;
	}
	if (nb < 2) {
		return -1;
	}
	for (i = 0; i < nb; i++) {
		rtts[i] = sample_rtt(&s[wk->sidx[i]]);
	}
	qsort(rtts, nb, sizeof(*rtts), cmp_int64);
	/* The upper median, so that at least two buckets stay. */
	limit = rtts[nb / 2] > INT64_MAX / CLOCK_FIT_RTT_FACTOR ? INT64_MAX :
		rtts[nb / 2] * CLOCK_FIT_RTT_FACTOR;
	for (i = 0, k = 0; i < nb; i++) {
		if (sample_rtt(&s[wk->sidx[i]]) <= limit) {
			wk->sidx[k++] = wk->sidx[i];
		}
	}
	used = k;
	for (i = 0; i < used; i++) {
		double x = (double) (s[wk->sidx[i]].x - xm);

		wk->sval[i] = sample_mid(&s[wk->sidx[i]]);
		sx += x;
		sm += wk->sval[i];
	}
	xmean = sx / used;
	mmean = sm / used;
	for (i = 0; i < used; i++) {
		double x = (double) (s[wk->sidx[i]].x - xm) - xmean;

		sxx += x * x;
		sxm += x * (wk->sval[i] - mmean);
	}
	f->d = sxm / sxx;
	f->b = mmean - f->d * xmean;
	for (i = 0; i < used; i++) {
		const struct sample *p = &s[wk->sidx[i]];
		double r = dabs(wk->sval[i] - (f->b + f->d * (double) (p->x - xm)));
		double e = (double) sample_rtt(p) / 2 + r;

		err = e > err ? e : err;
	}
	f->err = err;
	f->used = used;
	f->method = "min-rtt";
	return 0;
}

struct lh_clock_sync *lh_clock_sync_create(size_t max_samples)
{
	struct lh_clock_sync *sync;

	sync = calloc(1, sizeof(*sync));
	if (!sync) {
		PERROR("calloc");
		return NULL;
	}
	/* Compaction needs room for the first, the last and a few buckets. */
	sync->max = max_samples < CLOCK_MIN_SAMPLES ? CLOCK_MIN_SAMPLES : max_samples;
	sync->s = calloc(sync->max, sizeof(*sync->s));
	if (!sync->s) {
		PERROR("calloc");
		free(sync);
		return NULL;
	}
	return sync;
}

void lh_clock_sync_destroy(struct lh_clock_sync *sync)
{
	if (!sync) {
		return;
	}
	free(sync->s);
	free(sync);
}

/*
 * Make room: keep the first and the last sample, the fastest, the
 * fastest of each time bucket and, when they leave room for buckets, the
 * samples on either hull, which alone decide the convex hull estimate.
 * Returns -1 if the scratch space cannot be allocated.
 */
static int sync_compact(struct lh_clock_sync *sync)
{
	size_t target = sync->max / 2, i, k, nb, marked = 0, fastest = 0;
	struct work wk;
	bool *keep;

	keep = calloc(sync->count, sizeof(*keep));
	if (!keep) {
		PERROR("calloc");
		return -1;
	}
	if (work_init(&wk, sync->count) < 0) {
		free(keep);
		return -1;
	}
	for (i = 1; i < sync->count; i++) {
		if (sample_rtt(&sync->s[i]) < sample_rtt(&sync->s[fastest])) {
			fastest = i;
		}
	}
	keep[0] = keep[sync->count - 1] = keep[fastest] = true;
	hull_build(sync->s, sync->count, &wk.h1);
	hull_build(sync->s, sync->count, &wk.h2);
	if (wk.h1.n + wk.h2.n <= target / 2) {
		for (i = 0; i < wk.h1.n; i++) {
			keep[wk.h1.idx[i]] = true;
		}
		for (i = 0; i < wk.h2.n; i++) {
			keep[wk.h2.idx[i]] = true;
		}
	}
	for (i = 0; i < sync->count; i++) {
		marked += keep[i];
	}
	nb = target - marked;
	/* Buckets never straddle: samples are sorted, so each is a run. */
	for (i = 0; i < sync->count; i = k) {
		size_t b = bucket_of(sync, sync->s[i].x, nb), best = i;

		for (k = i + 1; k < sync->count && bucket_of(sync, sync->s[k].x, nb) == b; k++) {
			if (sample_rtt(&sync->s[k]) < sample_rtt(&sync->s[best])) {
				best = k;
			}
		}
		keep[best] = true;
	}
	for (i = 0, k = 0; i < sync->count; i++) {
		if (keep[i]) {
			sync->s[k++] = sync->s[i];
		}
	}
	sync->count = k;
	work_fini(&wk);
	free(keep);
	return 0;
}

int lh_clock_sync_add(struct lh_clock_sync *sync, const struct lh_clock_sample *sample)
{
	struct sample n;
	int64_t x, t1, rtt;
	size_t pos;

	if (sample->host_recv_ns < sample->host_send_ns) {
		return -1;
	}
	if (sync->count == 0) {
		sync->ref_guest_ns = sample->guest_ns;
		sync->ref_host_ns = sample->host_send_ns;
	}
	x = diff_sat(sample->guest_ns, sync->ref_guest_ns);
	t1 = diff_sat(sample->host_send_ns, sync->ref_host_ns);
	rtt = diff_sat(sample->host_recv_ns, sample->host_send_ns);
	if (x <= -CLOCK_MAX_DELTA || x >= CLOCK_MAX_DELTA || t1 <= -CLOCK_MAX_DELTA ||
			t1 >= CLOCK_MAX_DELTA || rtt >= CLOCK_MAX_DELTA) {
		return -1;
	}
	if (sync->count == sync->max && sync_compact(sync) < 0) {
		return -1;
	}
	n.x = x;
	n.y1 = t1 - x;
	n.y2 = t1 + rtt - x;
	/* Replies come in guest order but for a reordering or lying guest. */
	pos = sync->count;
	while (pos > 0 && sync->s[pos - 1].x > x) {
		pos--;
	}
	memmove(&sync->s[pos + 1], &sync->s[pos], (sync->count - pos) * sizeof(*sync->s));
	sync->s[pos] = n;
	sync->count++;
	return 0;
}

int lh_clock_sync_estimate(const struct lh_clock_sync *sync, struct lh_clock_estimate *est)
{
	const struct sample *s = sync->s;
	struct work wk;
	struct fit f;
	int64_t xm, min_rtt;
	size_t i;
	int ret;

	if (sync->count < 2 || s[0].x == s[sync->count - 1].x) {
		return -1;
	}
	if (work_init(&wk, sync->count) < 0) {
		return -1;
	}
	/* From the middle of the span, the drift's error weighs least. */
	xm = s[0].x + (s[sync->count - 1].x - s[0].x) / 2;
	ret = fit_hull(sync, &wk, xm, &f);
	if (ret < 0) {
		ret = fit_min_rtt(sync, &wk, xm, &f);
	}
	work_fini(&wk);
	if (ret < 0 || dabs(f.d) > CLOCK_MAX_DRIFT) {
		return -1;
	}
	min_rtt = sample_rtt(&s[0]);
	for (i = 1; i < sync->count; i++) {
		min_rtt = sample_rtt(&s[i]) < min_rtt ? sample_rtt(&s[i]) : min_rtt;
	}
	/*
	 * The hull may claim less than half a round trip when the probes'
	 * delays differ in asymmetry, but only if both clocks are exactly
	 * linear over the span: do not claim it.
	 */
	if (f.err < (double) min_rtt / 2) {
		f.err = (double) min_rtt / 2;
	}
	memset(est, 0, sizeof(*est));
	est->ref_guest_ns = sync->ref_guest_ns + (uint64_t) xm;
	est->ref_host_ns = offset_sat(sync->ref_host_ns, (__int128) xm + round_sat(f.b));
	est->drift = f.d;
	est->error_ns = ceil_u64(f.err);
	est->min_rtt_ns = (uint64_t) min_rtt;
	est->first_guest_ns = sync->ref_guest_ns + (uint64_t) s[0].x;
	est->last_guest_ns = sync->ref_guest_ns + (uint64_t) s[sync->count - 1].x;
	est->samples = sync->count;
	est->used = f.used;
	est->method = f.method;
	return 0;
}

uint64_t lh_clock_estimate_map(const struct lh_clock_estimate *est, uint64_t guest_ns)
{
	int64_t delta = diff_sat(guest_ns, est->ref_guest_ns);

	/* The drift term in double, the large delta exact. */
	return offset_sat(est->ref_host_ns,
		(__int128) delta + round_sat((double) delta * est->drift));
}

void lh_clock_estimate_compose(const struct lh_clock_estimate *outer,
		const struct lh_clock_estimate *inner, struct lh_clock_estimate *out)
{
	struct lh_clock_estimate r;

	r.ref_guest_ns = inner->ref_guest_ns;
	r.ref_host_ns = lh_clock_estimate_map(outer, inner->ref_host_ns);
	r.drift = inner->drift + outer->drift + inner->drift * outer->drift;
	/* The inner error is in the child's nanoseconds: scale it to ours. */
	r.error_ns = add_sat(outer->error_ns, ceil_u64((double) inner->error_ns *
			(1 + dabs(outer->drift))));
	r.min_rtt_ns = add_sat(outer->min_rtt_ns, inner->min_rtt_ns);
	r.first_guest_ns = inner->first_guest_ns;
	r.last_guest_ns = inner->last_guest_ns;
	r.samples = inner->samples + outer->samples;
	r.used = inner->used + outer->used;
	r.method = "composed";
	*out = r;
}

/* num / den rounded to nearest, for den > 0. */
static __int128 div_round(__int128 num, __int128 den)
{
	return num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
}

void lh_clock_correction_from_estimate(const struct lh_clock_estimate *est,
		int64_t host_realtime_minus_mono_ns, double min_drift,
		struct lh_clock_correction *corr)
{
	const uint64_t nsec = 1000000000;
	uint64_t freq = nsec, reach_first, reach_last;
	double residual;
	__int128 origin, offset;

	if (dabs(est->drift) > min_drift) {
		freq = (uint64_t) round_sat((double) nsec / (1 + est->drift));
	}
	/* Host realtime at the reference point; then ns = (offset + c) * 1e9 / freq. */
	origin = (__int128) est->ref_host_ns + host_realtime_minus_mono_ns;
	offset = div_round(origin * freq, nsec) - est->ref_guest_ns;

	/* What the applied freq leaves of the drift, over the span. */
	residual = dabs(est->drift - ((double) nsec / (double) freq - 1));
	reach_first = (uint64_t) dabs((double) diff_sat(est->first_guest_ns, est->ref_guest_ns));
	reach_last = (uint64_t) dabs((double) diff_sat(est->last_guest_ns, est->ref_guest_ns));
	corr->error_ns = add_sat(est->error_ns, ceil_u64(residual *
			(double) (reach_first > reach_last ? reach_first : reach_last)));
	corr->freq = freq;
	corr->host_realtime_minus_mono_ns = host_realtime_minus_mono_ns;
	if (offset < 0) {
		corr->error_ns = add_sat(corr->error_ns, offset < -(__int128) UINT64_MAX ?
				UINT64_MAX : (uint64_t) -offset);
		offset = 0;
	} else if (offset > (__int128) UINT64_MAX) {
		offset = UINT64_MAX;
	}
	corr->offset = (uint64_t) offset;
}
