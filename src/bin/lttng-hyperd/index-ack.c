/* SPDX-License-Identifier: GPL-2.0-only */
/* Early acknowledgement of relayd indexes (index-ack.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "index-ack.h"

/*
 * Commands awaiting a reply that one connection may have. lttng waits for
 * each reply before its next command but for the indexes acknowledged
 * here; a client that goes beyond this ends the acknowledgements.
 */
#define PENDING_MAX		32

struct pending {
	enum lh_relayd_reply kind;
	bool acked;		/* acknowledged here: drop lttng-relayd's reply */
	bool pass;		/* unknown from here on: everything passes */
};

struct lh_index_ack {
	/* From the guest: the command being read. */
	uint8_t hdr[LH_RELAYD_CTRL_HDR_LEN];
	size_t hdr_len;
	uint32_t cmd;
	uint64_t skip;			/* payload bytes of cmd still to come */
	bool guest_pass;		/* an unknown command came: parse no more */
	/* Replies due, oldest first. */
	struct pending fifo[PENDING_MAX];
	unsigned int head, nr;
	unsigned int ahead;		/* acked entries in fifo */
	/* From the host: bytes short of a whole reply. */
	struct lh_buf replies;
	bool host_pass;
};

struct lh_index_ack *lh_index_ack_create(void)
{
	struct lh_index_ack *ia = calloc(1, sizeof(*ia));

	if (ia) {
		lh_buf_init(&ia->replies);
	}
	return ia;
}

void lh_index_ack_destroy(struct lh_index_ack *ia)
{
	if (!ia) {
		return;
	}
	lh_buf_fini(&ia->replies);
	free(ia);
}

static void fifo_push(struct lh_index_ack *ia, struct pending p)
{
	ia->fifo[(ia->head + ia->nr) % PENDING_MAX] = p;
	ia->nr++;
}

/* A whole command went by. Returns 1 if it is to be acknowledged now. */
static unsigned int command_done(struct lh_index_ack *ia)
{
	enum lh_relayd_reply kind;
	bool acked;

	if (lh_relayd_cmd_reply(ia->cmd, &kind) < 0 || ia->nr == PENDING_MAX - 1) {
		/* Its reply cannot be told apart: from it on, all passes. */
		fifo_push(ia, (struct pending) { .pass = true });
		ia->guest_pass = true;
		return 0;
	}
	if (kind == LH_RELAYD_REPLY_NONE) {
		return 0;
	}
	acked = ia->cmd == LH_RELAYD_SEND_INDEX && ia->ahead < LH_INDEX_ACK_MAX_AHEAD;
	fifo_push(ia, (struct pending) { .kind = kind, .acked = acked });
	if (!acked) {
		return 0;
	}
	ia->ahead++;
	return 1;
}

unsigned int lh_index_ack_from_guest(struct lh_index_ack *ia, const uint8_t *buf, size_t len)
{
	struct lh_relayd_ctrl_hdr hdr;
	unsigned int acks = 0;
	size_t n;

	while (len && !ia->guest_pass) {
		if (ia->hdr_len < sizeof(ia->hdr)) {
			n = sizeof(ia->hdr) - ia->hdr_len;
			n = n < len ? n : len;
			memcpy(ia->hdr + ia->hdr_len, buf, n);
			ia->hdr_len += n;
			buf += n;
			len -= n;
			if (ia->hdr_len < sizeof(ia->hdr)) {
				break;
			}
			lh_relayd_ctrl_hdr_decode(ia->hdr, &hdr);
			ia->cmd = hdr.cmd;
			ia->skip = hdr.data_size;
		} else {
			n = ia->skip < len ? (size_t) ia->skip : len;
			ia->skip -= n;
			buf += n;
			len -= n;
		}
		if (!ia->skip) {
			acks += command_done(ia);
			ia->hdr_len = 0;
		}
	}
	return acks;
}

void lh_index_ack_reply(uint8_t *out)
{
	lh_put_be32(out, LH_RELAYD_RET_OK);
}

unsigned int lh_index_ack_ahead(const struct lh_index_ack *ia)
{
	return ia->ahead;
}

static int pass_rest(const uint8_t *buf, size_t len, struct lh_buf *out,
		char *err, size_t errlen)
{
	if (lh_buf_append(out, buf, len) < 0) {
		snprintf(err, errlen, "out of memory for a relayd reply");
		return -1;
	}
	return 0;
}

int lh_index_ack_from_host(struct lh_index_ack *ia, const uint8_t *buf, size_t len,
		struct lh_buf *out, char *err, size_t errlen)
{
	struct lh_relayd_reply_info info;
	struct pending *p;
	ssize_t n;

	if (ia->host_pass) {
		return pass_rest(buf, len, out, err, errlen);
	}
	if (lh_buf_append(&ia->replies, buf, len) < 0) {
		snprintf(err, errlen, "out of memory for a relayd reply");
		return -1;
	}
	while (lh_buf_len(&ia->replies)) {
		p = &ia->fifo[ia->head];
		if (!ia->nr || p->pass) {
			/*
			 * A reply to nothing known here is lttng's business: it
			 * passes, as all after it, and no index is acknowledged
			 * any more (its reply could not be told apart).
			 */
			ia->host_pass = true;
			ia->guest_pass = true;
			n = (ssize_t) lh_buf_len(&ia->replies);
			if (pass_rest(lh_buf_head(&ia->replies), (size_t) n, out, err, errlen) < 0) {
				return -1;
			}
			lh_buf_reset(&ia->replies);
			lh_buf_shrink(&ia->replies);
			return 0;
		}
		n = lh_relayd_reply_parse(p->kind, lh_buf_head(&ia->replies),
			lh_buf_len(&ia->replies), &info, err, errlen);
		if (n < 0) {
			return -1;
		}
		if (n == 0) {
			break;
		}
		if (p->acked) {
			if (info.ret_code != LH_RELAYD_RET_OK) {
				snprintf(err, errlen, "lttng-relayd refused an index already acknowledged (ret_code %" PRIu32 ")",
					info.ret_code);
				return -1;
			}
			ia->ahead--;
		} else if (lh_buf_append(out, lh_buf_head(&ia->replies), (size_t) n) < 0) {
			snprintf(err, errlen, "out of memory for a relayd reply");
			return -1;
		}
		lh_buf_consume(&ia->replies, (size_t) n);
		ia->head = (ia->head + 1) % PENDING_MAX;
		ia->nr--;
	}
	return 0;
}
