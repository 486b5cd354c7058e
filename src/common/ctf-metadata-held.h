/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The messages a metadata rewriter holds back while a field straddles
 * them, oldest first. A byte's position is its message's sequence number
 * and its index in the message as it came (bytes inserted since count
 * too), so that positions stay valid when the front of a message goes
 * out on its own.
 */
#ifndef LH_COMMON_CTF_METADATA_HELD_H
#define LH_COMMON_CTF_METADATA_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ctf-metadata.h"

/*
 * Messages held while one field straddles them; beyond, the field is
 * given up (its bytes are bounded by LH_CTF_MD_HOLD_MAX too).
 */
#define MD_HELD_MAX		16

struct md_held_msg {
	uint8_t *data;
	size_t len;
	size_t base;		/* index in the message of data[0]: the bytes before went out */
	uint32_t padding;
	uint32_t seq;
};

struct md_held {
	struct md_held_msg msg[MD_HELD_MAX];
	size_t nr;
	uint32_t next_seq;
};

static inline uint64_t md_held_pos(uint32_t seq, size_t i)
{
	return ((uint64_t) seq << 32) | (uint32_t) i;
}

/* The message being walked: the last one. */
static inline struct md_held_msg *md_held_last(struct md_held *h)
{
	return &h->msg[h->nr - 1];
}

/* Where the byte at pos is held, or NULL if it went out already. */
uint8_t *md_held_byte(struct md_held *h, uint64_t pos);
/* Bytes held from pos (a held byte) on. */
size_t md_held_from(const struct md_held *h, uint64_t pos);
/* Hold a copy of a message; when MD_HELD_MAX are, they go out first. Returns 0 or -1. */
int md_held_push(struct md_held *h, const uint8_t *data, size_t len, uint32_t padding,
		lh_ctf_md_emit_cb emit, void *arg);
/* Whether len bytes can join the last message: it has no padding after its data. */
bool md_held_can_join(const struct md_held *h, size_t len);
/* Append data to the last message, which then ends with padding. Returns 0 or -1. */
int md_held_join(struct md_held *h, const uint8_t *data, size_t len, uint32_t padding);
/*
 * Insert k bytes before the byte at pos, or at the end of its message
 * (pos one past its last byte). Returns 0, or -1 (out of memory).
 */
int md_held_insert(struct md_held *h, uint64_t pos, const char *text, size_t k);
/* Emit every held message, and drop them whatever happens. Returns 0 or -1. */
int md_held_emit_all(struct md_held *h, lh_ctf_md_emit_cb emit, void *arg);
/* Emit what is held before pos (a held byte); the padding stays with the rest. */
int md_held_emit_before(struct md_held *h, uint64_t pos, lh_ctf_md_emit_cb emit, void *arg);
void md_held_drop_all(struct md_held *h);

#endif /* LH_COMMON_CTF_METADATA_HELD_H */
