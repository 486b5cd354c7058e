/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of lttng-hyperd's early index acknowledgement
 * (src/bin/lttng-hyperd/index-ack.h): which commands are acknowledged, in
 * what pieces the bytes may come, which of lttng-relayd's replies reach the
 * guest, the bound on acknowledgements ahead, a refused index, and a
 * command it does not know.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/buffer.h"
#include "common/bytes.h"
#include "common/relayd-msg.h"
#include "src/bin/lttng-hyperd/index-ack.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	31
#define INDEX_LEN	72	/* SEND_INDEX's body at 2.13; its content does not matter here */

/* A control message: header and len zero bytes of payload, into out (returns its size). */
static size_t msg(uint8_t *out, uint32_t cmd, uint64_t len)
{
	struct lh_relayd_ctrl_hdr hdr = { .data_size = len, .cmd = cmd };

	lh_relayd_ctrl_hdr_encode(&hdr, out);
	memset(out + LH_RELAYD_CTRL_HDR_LEN, 0, len);
	return LH_RELAYD_CTRL_HDR_LEN + len;
}

static unsigned int send_cmd(struct lh_index_ack *ia, uint32_t cmd, uint64_t len)
{
	uint8_t buf[LH_RELAYD_CTRL_HDR_LEN + 256];

	return lh_index_ack_from_guest(ia, buf, msg(buf, cmd, len));
}

static size_t generic(uint8_t *out, uint32_t ret_code)
{
	lh_put_be32(out, ret_code);
	return 4;
}

/* Feed host bytes; returns what from_host returned, out gets what passes. */
static int host(struct lh_index_ack *ia, const uint8_t *buf, size_t len, struct lh_buf *out)
{
	char err[256] = "";

	return lh_index_ack_from_host(ia, buf, len, out, err, sizeof(err));
}

static void test_reply_bytes(void)
{
	uint8_t r[LH_INDEX_ACK_REPLY_LEN];

	lh_index_ack_reply(r);
	ok(lh_get_be32(r) == LH_RELAYD_RET_OK, "the acknowledgement is a generic reply, LTTNG_OK");
}

static void test_version_then_index(void)
{
	struct lh_index_ack *ia = lh_index_ack_create();
	uint8_t rep[16];
	struct lh_buf out;

	lh_buf_init(&out);
	ok(send_cmd(ia, LH_RELAYD_VERSION, 8) == 0, "VERSION is not acknowledged");
	ok(send_cmd(ia, LH_RELAYD_SEND_INDEX, INDEX_LEN) == 1, "SEND_INDEX is acknowledged at once");
	ok(lh_index_ack_ahead(ia) == 1, "one index ahead of its reply");
	lh_put_be32(rep, 2);
	lh_put_be32(rep + 4, 13);
	generic(rep + 8, LH_RELAYD_RET_OK);
	ok(host(ia, rep, 12, &out) == 0 && lh_buf_len(&out) == 8 &&
		!memcmp(lh_buf_head(&out), rep, 8),
		"VERSION's reply passes, the index's reply is dropped");
	ok(lh_index_ack_ahead(ia) == 0, "no index ahead once its reply came");
	lh_buf_fini(&out);
	lh_index_ack_destroy(ia);
}

static void test_byte_by_byte(void)
{
	struct lh_index_ack *ia = lh_index_ack_create();
	uint8_t buf[LH_RELAYD_CTRL_HDR_LEN + INDEX_LEN];
	uint8_t rep[16];
	size_t len = msg(buf, LH_RELAYD_SEND_INDEX, INDEX_LEN), i;
	unsigned int early = 0, last;
	struct lh_buf out;

	lh_buf_init(&out);
	for (i = 0; i + 1 < len; i++) {
		early += lh_index_ack_from_guest(ia, buf + i, 1);
	}
	last = lh_index_ack_from_guest(ia, buf + len - 1, 1);
	ok(early == 0 && last == 1, "an index is acknowledged at its last byte, not before");
	/* Then CLOSE_STREAM, whose reply the guest waits for. */
	ok(send_cmd(ia, LH_RELAYD_CLOSE_STREAM, 16) == 0, "CLOSE_STREAM is not acknowledged");
	generic(rep, LH_RELAYD_RET_OK);
	generic(rep + 4, 77);
	for (i = 0; i < 8; i++) {
		if (host(ia, rep + i, 1, &out)) {
			break;
		}
	}
	ok(i == 8 && lh_buf_len(&out) == 4 && lh_get_be32(lh_buf_head(&out)) == 77,
		"replies coming a byte at a time: CLOSE_STREAM's passes whole");
	lh_buf_fini(&out);
	lh_index_ack_destroy(ia);
}

static void test_no_reply_commands(void)
{
	struct lh_index_ack *ia = lh_index_ack_create();
	uint8_t rep[8];
	struct lh_buf out;

	lh_buf_init(&out);
	ok(send_cmd(ia, LH_RELAYD_SEND_INDEX, INDEX_LEN) == 1, "index acknowledged");
	ok(send_cmd(ia, LH_RELAYD_SEND_METADATA, 200) == 0, "SEND_METADATA: no reply, nothing to do");
	ok(send_cmd(ia, LH_RELAYD_DATA_PENDING, 16) == 0, "DATA_PENDING waits for lttng-relayd");
	generic(rep, LH_RELAYD_RET_OK);
	generic(rep + 4, 1);
	ok(host(ia, rep, 8, &out) == 0 && lh_buf_len(&out) == 4 &&
		lh_get_be32(lh_buf_head(&out)) == 1,
		"a command without reply does not shift the replies: DATA_PENDING's answer passes");
	lh_buf_fini(&out);
	lh_index_ack_destroy(ia);
}

static void test_bound(void)
{
	struct lh_index_ack *ia = lh_index_ack_create();
	unsigned int acks = 0, i;
	uint8_t rep[4 * (LH_INDEX_ACK_MAX_AHEAD + 2)];
	struct lh_buf out;

	lh_buf_init(&out);
	for (i = 0; i < LH_INDEX_ACK_MAX_AHEAD + 2; i++) {
		acks += send_cmd(ia, LH_RELAYD_SEND_INDEX, INDEX_LEN);
		generic(rep + 4 * i, LH_RELAYD_RET_OK);
	}
	ok(acks == LH_INDEX_ACK_MAX_AHEAD, "at most %d indexes acknowledged ahead",
		LH_INDEX_ACK_MAX_AHEAD);
	ok(host(ia, rep, sizeof(rep), &out) == 0 && lh_buf_len(&out) == 8,
		"the replies of the two indexes beyond the bound reach the guest");
	ok(lh_index_ack_ahead(ia) == 0, "none ahead after all the replies");
	ok(send_cmd(ia, LH_RELAYD_SEND_INDEX, INDEX_LEN) == 1, "acknowledging again below the bound");
	lh_buf_fini(&out);
	lh_index_ack_destroy(ia);
}

static void test_refused(void)
{
	struct lh_index_ack *ia = lh_index_ack_create();
	char err[256] = "";
	uint8_t rep[4];
	struct lh_buf out;

	lh_buf_init(&out);
	send_cmd(ia, LH_RELAYD_SEND_INDEX, INDEX_LEN);
	generic(rep, 42);
	ok(lh_index_ack_from_host(ia, rep, 4, &out, err, sizeof(err)) == -1 &&
		strstr(err, "refused") && strstr(err, "42"),
		"a refused index already acknowledged is an error: \"%s\"", err);
	ok(lh_buf_len(&out) == 0, "the refusal itself is not passed on");
	lh_buf_fini(&out);
	lh_index_ack_destroy(ia);
}

static void test_unknown_command(void)
{
	struct lh_index_ack *ia = lh_index_ack_create();
	uint8_t rep[8];
	struct lh_buf out;

	lh_buf_init(&out);
	ok(send_cmd(ia, LH_RELAYD_SEND_INDEX, INDEX_LEN) == 1, "index acknowledged");
	ok(send_cmd(ia, 99, 10) == 0, "an unknown command is not acknowledged");
	ok(send_cmd(ia, LH_RELAYD_SEND_INDEX, INDEX_LEN) == 0,
		"after an unknown command, indexes wait for lttng-relayd");
	generic(rep, LH_RELAYD_RET_OK);
	memcpy(rep + 4, "abcd", 4);
	ok(host(ia, rep, 8, &out) == 0 && lh_buf_len(&out) == 4 &&
		!memcmp(lh_buf_head(&out), "abcd", 4),
		"the acknowledged index's reply is dropped, the rest passes unparsed");
	ok(host(ia, (const uint8_t *) "xy", 2, &out) == 0 && lh_buf_len(&out) == 6,
		"and everything after it");
	lh_buf_fini(&out);
	lh_index_ack_destroy(ia);
}

static void test_variable_replies(void)
{
	struct lh_index_ack *ia = lh_index_ack_create();
	uint8_t rep[64];
	size_t len, i;
	struct lh_buf out;

	lh_buf_init(&out);
	ok(send_cmd(ia, LH_RELAYD_CREATE_SESSION, 100) == 0, "CREATE_SESSION waits for its reply");
	ok(send_cmd(ia, LH_RELAYD_SEND_INDEX, INDEX_LEN) == 1, "the next index is acknowledged");
	lh_put_be64(rep, 7);
	lh_put_be32(rep + 8, LH_RELAYD_RET_OK);
	lh_put_be32(rep + 12, 6);
	memcpy(rep + 16, "a/b/c", 6);
	len = 22 + generic(rep + 22, LH_RELAYD_RET_OK);
	for (i = 0; i < len; i += 5) {
		host(ia, rep + i, len - i < 5 ? len - i : 5, &out);
	}
	ok(lh_buf_len(&out) == 22 && !memcmp(lh_buf_head(&out), rep, 22),
		"CREATE_SESSION's reply, with its path, passes whole; the index's is dropped");
	ok(lh_index_ack_ahead(ia) == 0, "nothing ahead");
	lh_buf_fini(&out);
	lh_index_ack_destroy(ia);
}

static void test_unsolicited(void)
{
	struct lh_index_ack *ia = lh_index_ack_create();
	struct lh_buf out;

	lh_buf_init(&out);
	ok(host(ia, (const uint8_t *) "zz", 2, &out) == 0 && lh_buf_len(&out) == 2,
		"bytes with no command pending pass: lttng judges them");
	ok(send_cmd(ia, LH_RELAYD_SEND_INDEX, INDEX_LEN) == 0 && lh_index_ack_ahead(ia) == 0,
		"then indexes wait for lttng-relayd");
	ok(host(ia, (const uint8_t *) "\0\0\0\12", 4, &out) == 0 && lh_buf_len(&out) == 6,
		"and its replies pass");
	lh_buf_fini(&out);
	lh_index_ack_destroy(ia);
}

int main(void)
{
	plan_tests(NUM_TESTS);
	test_reply_bytes();
	test_version_then_index();
	test_byte_by_byte();
	test_no_reply_commands();
	test_bound();
	test_refused();
	test_unknown_command();
	test_variable_replies();
	test_unsolicited();
	return exit_status();
}
