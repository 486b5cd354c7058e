/* SPDX-License-Identifier: GPL-2.0-only */
/* The messages a metadata rewriter holds back (ctf-metadata-held.h). */
#include <stdlib.h>
#include <string.h>

#include "common/ctf-metadata-held.h"

static struct md_held_msg *held_find(const struct md_held *h, uint32_t seq)
{
	size_t i;

	for (i = 0; i < h->nr; i++) {
		if (h->msg[i].seq == seq) {
			return (struct md_held_msg *) &h->msg[i];
		}
	}
	return NULL;
}

uint8_t *md_held_byte(struct md_held *h, uint64_t pos)
{
	struct md_held_msg *m = held_find(h, (uint32_t) (pos >> 32));
	size_t i = (uint32_t) pos;

	if (!m || i < m->base || i - m->base >= m->len) {
		return NULL;
	}
	return m->data + (i - m->base);
}

size_t md_held_from(const struct md_held *h, uint64_t pos)
{
	size_t i = 0, n;

	while (h->msg[i].seq != (uint32_t) (pos >> 32)) {
		i++;
	}
	n = h->msg[i].len - ((uint32_t) pos - h->msg[i].base);
	for (i++; i < h->nr; i++) {
		n += h->msg[i].len;
	}
	return n;
}

void md_held_drop_all(struct md_held *h)
{
	size_t i;

	for (i = 0; i < h->nr; i++) {
		free(h->msg[i].data);
	}
	h->nr = 0;
}

int md_held_emit_all(struct md_held *h, lh_ctf_md_emit_cb emit, void *arg)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < h->nr && !ret; i++) {
		ret = emit(arg, h->msg[i].data, h->msg[i].len, h->msg[i].padding);
	}
	md_held_drop_all(h);
	return ret;
}

int md_held_push(struct md_held *h, const uint8_t *data, size_t len, uint32_t padding,
		lh_ctf_md_emit_cb emit, void *arg)
{
	struct md_held_msg *m;

	if (h->nr == MD_HELD_MAX && md_held_emit_all(h, emit, arg) < 0) {
		return -1;
	}
	m = &h->msg[h->nr];
	*m = (struct md_held_msg) {
		.data = malloc(len ? len : 1),
		.len = len,
		.padding = padding,
		.seq = h->next_seq++,
	};
	if (!m->data) {
		return -1;
	}
	if (len) {
		memcpy(m->data, data, len);
	}
	h->nr++;
	return 0;
}

bool md_held_can_join(const struct md_held *h, size_t len)
{
	const struct md_held_msg *m;

	if (!h->nr) {
		return false;
	}
	m = &h->msg[h->nr - 1];
	/* Positions keep 32 bits of index. */
	return !m->padding && m->base + m->len <= UINT32_MAX &&
		len <= UINT32_MAX - (m->base + m->len);
}

int md_held_join(struct md_held *h, const uint8_t *data, size_t len, uint32_t padding)
{
	struct md_held_msg *m = md_held_last(h);
	uint8_t *p = realloc(m->data, m->len + len ? m->len + len : 1);

	if (!p) {
		return -1;
	}
	m->data = p;
	if (len) {
		memcpy(m->data + m->len, data, len);
	}
	m->len += len;
	m->padding = padding;
	return 0;
}

int md_held_insert(struct md_held *h, uint64_t pos, const char *text, size_t k)
{
	struct md_held_msg *m = held_find(h, (uint32_t) (pos >> 32));
	size_t i = (uint32_t) pos;
	uint8_t *p;

	if (!m || i < m->base || i - m->base > m->len) {
		return -1;
	}
	i -= m->base;
	p = realloc(m->data, m->len + k);
	if (!p) {
		return -1;
	}
	m->data = p;
	memmove(m->data + i + k, m->data + i, m->len - i);
	memcpy(m->data + i, text, k);
	m->len += k;
	return 0;
}

int md_held_emit_before(struct md_held *h, uint64_t pos, lh_ctf_md_emit_cb emit, void *arg)
{
	struct md_held_msg *m;
	size_t i, cut;
	uint8_t *p;

	for (i = 0; h->msg[i].seq != (uint32_t) (pos >> 32); i++) {
		if (emit(arg, h->msg[i].data, h->msg[i].len, h->msg[i].padding) < 0) {
			md_held_drop_all(h);
			return -1;
		}
	}
	for (cut = 0; cut < i; cut++) {
		free(h->msg[cut].data);
	}
	memmove(h->msg, h->msg + i, (h->nr - i) * sizeof(h->msg[0]));
	h->nr -= i;
	m = &h->msg[0];
	cut = (uint32_t) pos - m->base;
	if (!cut) {
		return 0;
	}
	if (emit(arg, m->data, cut, 0) < 0) {
		md_held_drop_all(h);
		return -1;
	}
	memmove(m->data, m->data + cut, m->len - cut);
	m->len -= cut;
	m->base += cut;
	p = realloc(m->data, m->len ? m->len : 1);
	if (p) {
		m->data = p;
	}
	return 0;
}
