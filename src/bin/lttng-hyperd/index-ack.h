/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Early acknowledgement of relayd indexes, for lttng-hyperd.
 *
 * lttng-consumerd sends a SEND_INDEX on its relayd control connection
 * after every packet and waits for lttng-relayd's reply before it reads
 * the next packet of any stream. Across a hyper channel that wait is a
 * round trip to the host per packet, and a host that is slow for a moment
 * stalls the consumer until its buffers overflow. lttng-hyperd therefore
 * answers a SEND_INDEX itself, LTTNG_OK, as soon as the whole message is
 * on its way, and drops lttng-relayd's own reply when it comes. Commands
 * and replies keep their order, so lttng-relayd sees exactly what the
 * guest sent; only the moment the consumer learns of success moves. A
 * refused index cannot be taken back: its connection is reset, which
 * lttng-consumerd handles as it handles an index error (the relay daemon
 * is gone for that session).
 *
 * At most LH_INDEX_ACK_MAX_AHEAD indexes are acknowledged ahead of their
 * reply; past that a SEND_INDEX waits for its real reply, so a host that
 * stops answering still stops the consumer. A command this does not know
 * ends the acknowledgements on that connection: its bytes and every later
 * one pass unchanged.
 *
 * This is the protocol logic alone, without I/O: lttng-hyperd feeds it
 * the bytes of each relayd control connection in both directions.
 */
#ifndef LH_HYPERD_INDEX_ACK_H
#define LH_HYPERD_INDEX_ACK_H

#include <stddef.h>
#include <stdint.h>

#include "common/buffer.h"
#include "common/relayd-msg.h"

/*
 * SEND_INDEXes acknowledged ahead of their reply, per connection. The host
 * relay lets a control connection have 16 commands awaiting a reply.
 */
#define LH_INDEX_ACK_MAX_AHEAD		8

/* The reply lttng-hyperd sends for an index: a generic reply, LTTNG_OK. */
#define LH_INDEX_ACK_REPLY_LEN		4

struct lh_index_ack;

struct lh_index_ack *lh_index_ack_create(void);
void lh_index_ack_destroy(struct lh_index_ack *ia);

/*
 * Bytes from lttng-consumerd or lttng-sessiond, on their way to the host
 * unchanged. Returns how many indexes to acknowledge now (each with
 * lh_index_ack_reply(), in order, before any later reply).
 */
unsigned int lh_index_ack_from_guest(struct lh_index_ack *ia, const uint8_t *buf, size_t len);

/* Write the acknowledgement of one index (LH_INDEX_ACK_REPLY_LEN bytes). */
void lh_index_ack_reply(uint8_t *out);

/*
 * Bytes from the host: the replies to forward are appended to out, the
 * replies to acknowledged indexes are dropped. Returns 0; -1 with a reason
 * in err when lttng-relayd refused an acknowledged index or a reply is
 * malformed (the connection must be reset), or out of memory.
 */
int lh_index_ack_from_host(struct lh_index_ack *ia, const uint8_t *buf, size_t len,
		struct lh_buf *out, char *err, size_t errlen);

/* Indexes acknowledged whose reply has not come yet. */
unsigned int lh_index_ack_ahead(const struct lh_index_ack *ia);

#endif /* LH_HYPERD_INDEX_ACK_H */
