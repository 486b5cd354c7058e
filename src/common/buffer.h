/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A contiguous byte queue: append at the tail, consume from the head.
 * Consumed space is reclaimed by moving the live bytes to the front when
 * the tail runs out of room, so readers always see one contiguous span.
 */
#ifndef LH_COMMON_BUFFER_H
#define LH_COMMON_BUFFER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/mem-account.h"

struct lh_buf {
	uint8_t *data;
	size_t head;	/* first live byte */
	size_t tail;	/* one past the last live byte */
	size_t cap;
	struct lh_mem_account *acct;	/* charged with cap; NULL: none */
};

void lh_buf_init(struct lh_buf *buf);
/* The same, its memory counted in acct: growing past its limit fails with ENOBUFS. */
void lh_buf_init_account(struct lh_buf *buf, struct lh_mem_account *acct);
void lh_buf_fini(struct lh_buf *buf);

static inline size_t lh_buf_len(const struct lh_buf *buf)
{
	return buf->tail - buf->head;
}

static inline uint8_t *lh_buf_head(const struct lh_buf *buf)
{
	return buf->data + buf->head;
}

static inline uint8_t *lh_buf_tail(const struct lh_buf *buf)
{
	return buf->data + buf->tail;
}

/* Make room for n more bytes at the tail. Returns 0, or -1 on ENOMEM or ENOBUFS. */
int lh_buf_reserve(struct lh_buf *buf, size_t n);
/* Account n bytes written at the tail (after lh_buf_reserve). */
void lh_buf_commit(struct lh_buf *buf, size_t n);
int lh_buf_append(struct lh_buf *buf, const void *src, size_t n);
void lh_buf_consume(struct lh_buf *buf, size_t n);
void lh_buf_reset(struct lh_buf *buf);
/* Give memory back when a large buffer has drained. */
void lh_buf_shrink(struct lh_buf *buf);

/*
 * read() at most max bytes from fd onto the tail. Returns what read()
 * returned; -1 with errno EAGAIN when nothing is ready.
 */
ssize_t lh_buf_read_fd(struct lh_buf *buf, int fd, size_t max);
/* write() from the head and consume what was written. Same return. */
ssize_t lh_buf_write_fd(struct lh_buf *buf, int fd);

#endif /* LH_COMMON_BUFFER_H */
