# SPDX-License-Identifier: GPL-2.0-only
# Medians for the reports of the benchmarks, loaded before the report's own
# program: awk -f bench/stats.awk -f REPORT. add(KEY, VALUE) records one
# sample of KEY; med(KEY) is the median of KEY's samples, n[KEY] their count.

# median(A, N): the median of A[1..N], which it sorts.
function median(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--) {
			a[j + 1] = a[j]
		}
		a[j + 1] = t
	}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

function med(key,    i, a) {
	for (i = 1; i <= n[key]; i++) {
		a[i] = v[key, i]
	}
	return median(a, n[key])
}

function add(key, val) {
	v[key, ++n[key]] = val
}
