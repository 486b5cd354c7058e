/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A memory account: the bytes a daemon holds on behalf of one peer (its
 * queues, partial messages, records), against a limit. The host relay
 * keeps one per VM, so that an untrusted guest can make it hold no more
 * than --max-memory: a charge past the limit is refused, and the caller
 * cuts the VM off.
 *
 * Buffers (buffer.h) charge their capacity; other holders charge what
 * they allocate, and give it back when they free it. Every function
 * takes NULL for "not accounted".
 */
#ifndef LH_COMMON_MEM_ACCOUNT_H
#define LH_COMMON_MEM_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lh_mem_account {
	uint64_t used;
	uint64_t peak;
	uint64_t limit;		/* 0: none */
	/* The option that sets the limit, for the log: "--max-memory". */
	const char *limit_name;
	/* The first charge refused, for the log; 0 while none was. */
	uint64_t refused;
};

void lh_mem_account_init(struct lh_mem_account *acct, uint64_t limit, const char *limit_name);
/* Count n more bytes held: 0, or -1 with errno ENOBUFS (nothing counted) past the limit. */
int lh_mem_charge(struct lh_mem_account *acct, uint64_t n);
/* n bytes counted by lh_mem_charge() are no longer held. */
void lh_mem_uncharge(struct lh_mem_account *acct, uint64_t n);
/* Whether a charge was refused: the peer asked for more than its limit. */
bool lh_mem_account_exceeded(const struct lh_mem_account *acct);
/* The peer is cut off and starts afresh: forget the refusal. */
void lh_mem_account_rearm(struct lh_mem_account *acct);
/* "over --max-memory L: it holds N bytes here and asked for M more", for a log line. */
void lh_mem_account_describe(const struct lh_mem_account *acct, char *buf, size_t len);

#endif /* LH_COMMON_MEM_ACCOUNT_H */
