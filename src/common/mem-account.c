/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "common/mem-account.h"

void lh_mem_account_init(struct lh_mem_account *acct, uint64_t limit, const char *limit_name)
{
	acct->used = 0;
	acct->peak = 0;
	acct->limit = limit;
	acct->limit_name = limit_name;
	acct->refused = 0;
}

int lh_mem_charge(struct lh_mem_account *acct, uint64_t n)
{
	if (!acct) {
		return 0;
	}
	if (acct->limit && (n > acct->limit || acct->used > acct->limit - n)) {
		if (!acct->refused) {
			acct->refused = n;
		}
		errno = ENOBUFS;
		return -1;
	}
	acct->used += n;
	if (acct->used > acct->peak) {
		acct->peak = acct->used;
	}
	return 0;
}

void lh_mem_uncharge(struct lh_mem_account *acct, uint64_t n)
{
	if (!acct) {
		return;
	}
	acct->used -= n;
}

bool lh_mem_account_exceeded(const struct lh_mem_account *acct)
{
	return acct && acct->refused;
}

void lh_mem_account_rearm(struct lh_mem_account *acct)
{
	acct->refused = 0;
}

void lh_mem_account_describe(const struct lh_mem_account *acct, char *buf, size_t len)
{
	snprintf(buf, len, "over %s %" PRIu64 ": it holds %" PRIu64 " bytes here and asked for %" PRIu64 " more",
		acct->limit_name ? acct->limit_name : "the memory limit", acct->limit,
		acct->used, acct->refused);
}
