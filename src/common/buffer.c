/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buffer.h"

/* Smallest allocation, so that small appends do not realloc every time. */
#define LH_BUF_MIN_CAP		4096
/* An empty buffer larger than this gives its memory back on lh_buf_shrink(). */
#define LH_BUF_KEEP_CAP		(64U << 10)

void lh_buf_init(struct lh_buf *buf)
{
	lh_buf_init_account(buf, NULL);
}

void lh_buf_init_account(struct lh_buf *buf, struct lh_mem_account *acct)
{
	buf->data = NULL;
	buf->head = 0;
	buf->tail = 0;
	buf->cap = 0;
	buf->acct = acct;
}

void lh_buf_fini(struct lh_buf *buf)
{
	free(buf->data);
	lh_mem_uncharge(buf->acct, buf->cap);
	lh_buf_init_account(buf, buf->acct);
}

int lh_buf_reserve(struct lh_buf *buf, size_t n)
{
	size_t len = lh_buf_len(buf);
	size_t cap;
	uint8_t *data;

	if (buf->cap - buf->tail >= n) {
		return 0;
	}
	if (n > SIZE_MAX / 2 - len) {
		errno = ENOMEM;
		return -1;
	}
	/*
	 * Compact only when the live bytes are no more than the consumed
	 * ones: each byte is then moved at most once for every byte consumed,
	 * where compacting a long queue on every append would copy it over
	 * and over.
	 */
	if (buf->cap - len >= n && len <= buf->head) {
		memmove(buf->data, buf->data + buf->head, len);
		buf->head = 0;
		buf->tail = len;
		return 0;
	}
	cap = buf->cap ? buf->cap * 2 : LH_BUF_MIN_CAP;
	while (cap < len + n) {
		cap *= 2;
	}
	if (lh_mem_charge(buf->acct, cap - buf->cap)) {
		return -1;
	}
	if (buf->head == 0) {
		data = realloc(buf->data, cap);
	} else {
		/* A fresh block: copy the live bytes only, not the dead space before them. */
		data = malloc(cap);
		if (data) {
			memcpy(data, buf->data + buf->head, len);
			free(buf->data);
		}
	}
	if (!data) {
		lh_mem_uncharge(buf->acct, cap - buf->cap);
		return -1;
	}
	buf->data = data;
	buf->cap = cap;
	buf->head = 0;
	buf->tail = len;
	return 0;
}

void lh_buf_commit(struct lh_buf *buf, size_t n)
{
	buf->tail += n;
}

int lh_buf_append(struct lh_buf *buf, const void *src, size_t n)
{
	if (n == 0) {
		return 0;
	}
	if (lh_buf_reserve(buf, n)) {
		return -1;
	}
	memcpy(lh_buf_tail(buf), src, n);
	buf->tail += n;
	return 0;
}

void lh_buf_consume(struct lh_buf *buf, size_t n)
{
	buf->head += n;
	/* Back to the start when empty: the next append needs no compaction. */
	if (buf->head == buf->tail) {
		buf->head = 0;
		buf->tail = 0;
	}
}

void lh_buf_reset(struct lh_buf *buf)
{
	buf->head = 0;
	buf->tail = 0;
}

void lh_buf_shrink(struct lh_buf *buf)
{
	if (lh_buf_len(buf) == 0 && buf->cap > LH_BUF_KEEP_CAP) {
		lh_buf_fini(buf);
	}
}

ssize_t lh_buf_read_fd(struct lh_buf *buf, int fd, size_t max)
{
	ssize_t ret;

	if (lh_buf_reserve(buf, max)) {
		return -1;
	}
	do {
		ret = read(fd, lh_buf_tail(buf), max);
	} while (ret < 0 && errno == EINTR);
	if (ret > 0) {
		buf->tail += (size_t) ret;
	}
	return ret;
}

ssize_t lh_buf_write_fd(struct lh_buf *buf, int fd)
{
	ssize_t ret;

	do {
		ret = write(fd, lh_buf_head(buf), lh_buf_len(buf));
	} while (ret < 0 && errno == EINTR);
	if (ret > 0) {
		lh_buf_consume(buf, (size_t) ret);
	}
	return ret;
}
