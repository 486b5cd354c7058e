/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper graph: small containers and helpers (graph-model.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "graph-model.h"

int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64;
	void *np;

	if (need <= *cap) {
		return 0;
	}
	while (ncap < need) {
		ncap *= 2;
	}
	np = realloc(*p, ncap * elem);
	if (!np) {
		ERR("Out of memory");
		return -1;
	}
	*p = np;
	*cap = ncap;
	return 0;
}

void sb_putn(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->failed || grow((void **) &sb->b, &sb->cap, sb->len + n + 1, 1)) {
		sb->failed = true;
		return;
	}
	memcpy(sb->b + sb->len, s, n);
	sb->len += n;
	sb->b[sb->len] = '\0';
}

void sb_puts(struct sbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= 0) {
		sb_putn(sb, buf, (size_t) n < sizeof(buf) ? (size_t) n : sizeof(buf) - 1);
	}
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80) {
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n) {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
			cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		return 0;
	}
	return len;
}

/*
 * s as a JSON string, at most max bytes of it (0: all). Invalid UTF-8
 * becomes U+FFFD; '<', '>' and '&' are escaped so that nothing a trace
 * holds can end the <script> element the data sits in.
 */
void sb_json_str(struct sbuf *sb, const char *s, size_t n, size_t max)
{
	const unsigned char *u = (const unsigned char *) s;
	size_t i = 0, len;
	char esc[8];

	sb_putn(sb, "\"", 1);
	while (i < n) {
		if (max && i >= max) {
			sb_printf(sb, "\\u2026 (%zu bytes)", n);
			break;
		}
		if (u[i] == '"' || u[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char) u[i];
			sb_putn(sb, esc, 2);
			i++;
		} else if (u[i] < 0x20 || u[i] == '<' || u[i] == '>' || u[i] == '&' ||
				u[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			sb_putn(sb, esc, 6);
			i++;
		} else if ((len = utf8_len(u + i, n - i))) {
			sb_putn(sb, s + i, len);
			i += len;
		} else {
			sb_puts(sb, "\\ufffd");
			i++;
		}
	}
	sb_putn(sb, "\"", 1);
}

static size_t ptr_hash(const void *p, size_t cap)
{
	uint64_t x = (uint64_t) (uintptr_t) p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t) x & (cap - 1);
}

bool ptr_map_get(const struct ptr_map *m, const void *key, uint32_t *val)
{
	size_t i;

	if (!m->cap) {
		return false;
	}
	for (i = ptr_hash(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			*val = m->vals[i];
			return true;
		}
	}
	return false;
}

int ptr_map_put(struct ptr_map *m, const void *key, uint32_t val)
{
	size_t i;

	if ((m->nr + 1) * 2 > m->cap) {
		struct ptr_map n = { .cap = m->cap ? m->cap * 2 : 64 };

		n.keys = calloc(n.cap, sizeof(*n.keys));
		n.vals = calloc(n.cap, sizeof(*n.vals));
		if (!n.keys || !n.vals) {
			free(n.keys);
			free(n.vals);
			ERR("Out of memory");
			return -1;
		}
		for (i = 0; i < m->cap; i++) {
			if (m->keys[i]) {
				ptr_map_put(&n, m->keys[i], m->vals[i]);
			}
		}
		free(m->keys);
		free(m->vals);
		*m = n;
	}
	for (i = ptr_hash(key, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->nr++;
	return 0;
}

void ptr_map_free(struct ptr_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h = (h ^ (unsigned char) s[i]) * 0x100000001b3ULL;
	}
	return h;
}

int str_table_intern(struct str_table *t, const char *s, uint32_t *idx)
{
	size_t i, n = strlen(s);

	if ((t->nr + 1) * 2 > t->nslots) {
		size_t ns = t->nslots ? t->nslots * 2 : 256, j;
		uint32_t *slots = calloc(ns, sizeof(*slots));

		if (!slots) {
			ERR("Out of memory");
			return -1;
		}
		for (j = 0; j < t->nr; j++) {
			i = fnv1a(t->strs[j], strlen(t->strs[j])) & (ns - 1);
			while (slots[i]) {
				i = (i + 1) & (ns - 1);
			}
			slots[i] = (uint32_t) j + 1;
		}
		free(t->slots);
		t->slots = slots;
		t->nslots = ns;
	}
	for (i = fnv1a(s, n) & (t->nslots - 1); t->slots[i]; i = (i + 1) & (t->nslots - 1)) {
		if (!strcmp(t->strs[t->slots[i] - 1], s)) {
			*idx = t->slots[i] - 1;
			return 0;
		}
	}
	if (grow((void **) &t->strs, &t->cap, t->nr + 1, sizeof(*t->strs))) {
		return -1;
	}
	t->strs[t->nr] = strdup(s);
	if (!t->strs[t->nr]) {
		ERR("Out of memory");
		return -1;
	}
	t->slots[i] = (uint32_t) t->nr + 1;
	*idx = (uint32_t) t->nr++;
	return 0;
}

void str_table_free(struct str_table *t)
{
	size_t i;

	for (i = 0; i < t->nr; i++) {
		free(t->strs[i]);
	}
	free(t->strs);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

int64_t resolve_time(const struct tspec *ts, int64_t first_ns)
{
	int64_t day = first_ns / (86400 * NS_PER_S) * 86400 * NS_PER_S;

	switch (ts->kind) {
	case TS_REL:
		return first_ns + ts->ns;
	case TS_TOD:
		return day + ts->ns;
	default:
		return ts->ns;
	}
}

void format_utc(int64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t) (ns / NS_PER_S);
	long frac = (long) (ns % NS_PER_S);
	struct tm tm;
	char date[32];

	if (frac < 0) {
		frac += NS_PER_S;
		sec--;
	}
	if (!gmtime_r(&sec, &tm) || !strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm)) {
		snprintf(buf, len, "%" PRId64, ns);
		return;
	}
	snprintf(buf, len, "%s.%09ld", date, frac);
}

void format_duration(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000) {
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	} else if (ns < 1000000) {
		snprintf(buf, len, "%.1f \xc2\xb5s", ns / 1e3);
	} else if (ns < 1000000000) {
		snprintf(buf, len, "%.3f ms", ns / 1e6);
	} else {
		snprintf(buf, len, "%.3f s", ns / 1e9);
	}
}

uint64_t band_error_ns(const struct graph_state *g, const struct band *b)
{
	uint64_t max = 0;
	size_t i;

	for (i = 0; i < b->nr_traces; i++) {
		const struct lh_sync_info *si = &g->traces[b->traces[i]].sync;

		if (si->has_error && si->error_ns > max) {
			max = si->error_ns;
		}
	}
	return max;
}

void graph_state_free(struct graph_state *g)
{
	size_t i, j;

	for (i = 0; i < g->nr_bands; i++) {
		struct band *b = &g->bands[i];

		for (j = 0; j < b->nr_lanes; j++) {
			free(b->lanes[j].hist);
		}
		free(b->lanes);
		free(b->traces);
		free(b->class_counts);
		free(b->ev);
		free(b->sp);
		free(b->vals.b);
	}
	free(g->bands);
	free(g->trace_band);
	for (i = 0; i < g->nr_cls; i++) {
		free(g->cls[i].name);
		free(g->cls[i].fields);
	}
	free(g->cls);
	ptr_map_free(&g->streams);
	ptr_map_free(&g->classes);
	str_table_free(&g->comms);
	free(g->lev);
	free(g->link_copy);
}
