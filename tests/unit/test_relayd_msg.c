/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the relayd protocol checks (src/common/relayd-msg.c).
 *
 * Messages are built byte by byte with the layouts lttng-sessiond and
 * lttng-consumerd 2.13 send (x86-64), then altered the ways a hostile
 * guest could.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buffer.h"
#include "common/bytes.h"
#include "common/relayd-msg.h"
#include "common/relayd-owned.h"
#include "tests/utils/tap.h"

#define VM_NAME		"guest1"
#define MAX_PAYLOAD	(1U << 20)

/* LTTNG_PATH_MAX: a base_path's bytes, NUL included. */
#define RELAYD_PATH_TEST_MAX	4096

/* A string field with its NUL, as sizeof counts it. */
#define STR(s)		(s), sizeof(s)

struct msgb {
	uint8_t buf[8192];
	size_t len;
};

static const uint8_t guest_uuid[LH_RELAYD_UUID_LEN] = {
	0x3c, 0x1f, 0x5e, 0x22, 0x90, 0x41, 0x4b, 0x17,
	0x8a, 0x6e, 0x01, 0xd2, 0xc3, 0x7f, 0x55, 0xaa,
};

static struct lh_relayd_msg_ctx ctx;
static struct lh_buf out;
static struct lh_relayd_msg_info info;
static char err[256];

static void put_u8(struct msgb *m, uint8_t v)
{
	m->buf[m->len++] = v;
}

static void put_u32(struct msgb *m, uint32_t v)
{
	put_u8(m, (uint8_t) (v >> 24));
	put_u8(m, (uint8_t) (v >> 16));
	put_u8(m, (uint8_t) (v >> 8));
	put_u8(m, (uint8_t) v);
}

static void put_u64(struct msgb *m, uint64_t v)
{
	put_u32(m, (uint32_t) (v >> 32));
	put_u32(m, (uint32_t) v);
}

static void put_bytes(struct msgb *m, const void *p, size_t len)
{
	memcpy(m->buf + m->len, p, len);
	m->len += len;
}

static uint32_t get_u32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

static uint64_t get_u64(const uint8_t *p)
{
	return ((uint64_t) get_u32(p) << 32) | get_u32(p + 4);
}

/* Header with a data_size fixed by msg_end(). */
static void msg_start(struct msgb *m, uint32_t cmd)
{
	m->len = 0;
	put_u64(m, 0);
	put_u64(m, 0);
	put_u32(m, cmd);
	put_u32(m, 0);
}

static void msg_end(struct msgb *m)
{
	struct msgb h = { .len = 8 };

	put_u64(&h, m->len - LH_RELAYD_CTRL_HDR_LEN);
	memcpy(m->buf + 8, h.buf + 8, 8);
}

static void build_version(struct msgb *m, uint32_t major, uint32_t minor)
{
	msg_start(m, LH_RELAYD_VERSION);
	put_u32(m, major);
	put_u32(m, minor);
	msg_end(m);
}

/*
 * CREATE_SESSION's trace_format: 0 builds struct
 * lttcomm_relayd_create_session_2_11 (lttng 2.11 to 2.14), else
 * lttcomm_relayd_create_session_2_15 with this value.
 */
static uint32_t cs_trace_format;

/* struct lttcomm_relayd_create_session_2_11 or _2_15, as lttng fills it. */
static void build_create_session_at(struct msgb *m, uint8_t name_has_time,
		uint64_t creation_time, const char *name, uint32_t name_len,
		const char *host, uint32_t host_len, const char *base, uint32_t base_len)
{
	msg_start(m, LH_RELAYD_CREATE_SESSION);
	put_u32(m, name_len);
	put_u32(m, host_len);
	put_u32(m, base_len);
	put_u32(m, 0);			/* live_timer */
	put_u8(m, 0);			/* snapshot */
	put_u8(m, name_has_time);	/* session_name_contains_creation_time */
	put_bytes(m, guest_uuid, sizeof(guest_uuid));
	put_u64(m, 4);			/* sessiond session id */
	put_u64(m, creation_time);
	put_u8(m, 1);			/* current_chunk_id.is_set */
	put_u64(m, 0);			/* current_chunk_id.value */
	if (cs_trace_format) {
		put_u32(m, cs_trace_format);
	}
	put_bytes(m, name, name_len);
	put_bytes(m, host, host_len);
	put_bytes(m, base, base_len);
	msg_end(m);
}

/* An automatic session name ("auto-<date>"), as lttng create names it. */
static void build_create_session(struct msgb *m, const char *name, uint32_t name_len,
		const char *host, uint32_t host_len, const char *base, uint32_t base_len)
{
	build_create_session_at(m, 1, 1700000000, name, name_len, host, host_len,
		base, base_len);
}

/* struct lttcomm_relayd_add_stream_2_11, with trace files of a size and count. */
static void build_add_stream_files(struct msgb *m, const char *channel, uint32_t channel_len,
		const char *path, uint32_t path_len, uint64_t size, uint64_t count)
{
	msg_start(m, LH_RELAYD_ADD_STREAM);
	put_u32(m, channel_len);
	put_u32(m, path_len);
	put_u64(m, size);		/* tracefile_size */
	put_u64(m, count);		/* tracefile_count */
	put_u64(m, 0);			/* trace_chunk_id */
	put_bytes(m, channel, channel_len);
	put_bytes(m, path, path_len);
	msg_end(m);
}

static void build_add_stream(struct msgb *m, const char *channel, uint32_t channel_len,
		const char *path, uint32_t path_len)
{
	build_add_stream_files(m, channel, channel_len, path, path_len, 0, 0);
}

static void build_create_trace_chunk(struct msgb *m, const char *name, uint32_t name_len)
{
	msg_start(m, LH_RELAYD_CREATE_TRACE_CHUNK);
	put_u64(m, 1);			/* chunk_id */
	put_u64(m, 1700000000);		/* creation_timestamp */
	put_u32(m, name_len);
	put_bytes(m, name, name_len);
	msg_end(m);
}

static void build_close_trace_chunk(struct msgb *m, uint8_t is_set, uint32_t command)
{
	msg_start(m, LH_RELAYD_CLOSE_TRACE_CHUNK);
	put_u64(m, 1);			/* chunk_id */
	put_u64(m, 1700000100);		/* close_timestamp */
	put_u8(m, is_set);
	put_u32(m, command);
	msg_end(m);
}

/* A command whose payload is one u64 (and optionally a second). */
static void build_ids(struct msgb *m, uint32_t cmd, uint64_t id, bool second)
{
	msg_start(m, cmd);
	put_u64(m, id);
	if (second) {
		put_u64(m, 99);		/* last_net_seq_num, version */
	}
	msg_end(m);
}

static int run(const struct msgb *m)
{
	lh_buf_reset(&out);
	err[0] = '\0';
	return lh_relayd_msg_filter(&ctx, m->buf, m->len, &out, &info, err, sizeof(err));
}

/* The message must be refused with exactly this reason. */
static void refused(const struct msgb *m, const char *expected, const char *what)
{
	int ret = run(m);

	if (!ok(ret == -1 && !strcmp(err, expected) && lh_buf_len(&out) == 0,
			"refused: %s", what)) {
		diag("ret %d, err \"%s\", expected \"%s\"", ret, err, expected);
	}
}

/* The message must pass and be forwarded unchanged. */
static void passed_verbatim(const struct msgb *m, const char *what)
{
	int ret = run(m);

	if (!ok(ret == 0 && lh_buf_len(&out) == m->len &&
			!memcmp(lh_buf_head(&out), m->buf, m->len), "verbatim: %s", what)) {
		diag("ret %d, err \"%s\", out %zu bytes", ret, err, lh_buf_len(&out));
	}
}

static void test_headers(void)
{
	const struct lh_relayd_ctrl_hdr ch = {
		.circuit_id = 1, .data_size = 0x0102030405060708ULL, .cmd = 5, .cmd_version = 9,
	};
	const struct lh_relayd_data_hdr dh = {
		.circuit_id = 2, .stream_id = 0x1122334455667788ULL, .net_seq_num = 3,
		.data_size = 4096, .padding_size = 0xaabbccdd,
	};
	struct lh_relayd_ctrl_hdr ch2;
	struct lh_relayd_data_hdr dh2;
	uint8_t buf[LH_RELAYD_DATA_HDR_LEN];

	lh_relayd_ctrl_hdr_encode(&ch, buf);
	lh_relayd_ctrl_hdr_decode(buf, &ch2);
	ok(buf[8] == 0x01 && buf[15] == 0x08 && buf[19] == 5 &&
		!memcmp(&ch, &ch2, sizeof(ch)), "control header: big-endian round trip");
	lh_relayd_data_hdr_encode(&dh, buf);
	lh_relayd_data_hdr_decode(buf, &dh2);
	ok(buf[8] == 0x11 && buf[28] == 0xaa && dh2.stream_id == dh.stream_id &&
		dh2.data_size == 4096 && dh2.padding_size == 0xaabbccdd,
		"data header: big-endian round trip");
}

static void test_version(void)
{
	struct msgb m;
	const uint8_t *o;

	ctx.minor = 0;
	build_version(&m, 2, 13);
	passed_verbatim(&m, "VERSION 2.13");
	ok(info.reply == LH_RELAYD_REPLY_VERSION && info.version_minor == 13,
		"VERSION expects a version reply, forwards 2.13");

	build_version(&m, 2, 15);
	o = NULL;
	if (run(&m) == 0) {
		o = lh_buf_head(&out) + LH_RELAYD_CTRL_HDR_LEN;
	}
	ok(o && get_u32(o) == 2 && get_u32(o + 4) == 15 && info.version_minor == 15 &&
		info.guest_version_minor == 15, "VERSION 2.15 (lttng 2.15, 2.16) is forwarded as is");
	build_version(&m, 2, 16);
	o = NULL;
	if (run(&m) == 0) {
		o = lh_buf_head(&out) + LH_RELAYD_CTRL_HDR_LEN;
	}
	ok(o && get_u32(o + 4) == 15 && info.version_minor == 15 && info.guest_version_minor == 16,
		"VERSION 2.16, a minor not checked here, is forwarded as 2.15");

	build_version(&m, 2, 10);
	refused(&m, "relayd protocol 2.10 not supported (2.11 to 2.15)", "VERSION 2.10");
	build_version(&m, 1, 5);
	refused(&m, "relayd protocol 1.5 not supported (2.11 to 2.15)", "VERSION 1.5");
	build_version(&m, 3, 0);
	refused(&m, "relayd protocol 3.0 not supported (2.11 to 2.15)", "VERSION 3.0");

	msg_start(&m, LH_RELAYD_VERSION);
	put_u32(&m, 2);
	msg_end(&m);
	refused(&m, "VERSION: payload of 4 bytes, expected 8", "truncated VERSION");

	build_ids(&m, LH_RELAYD_DATA_PENDING, 1, true);
	refused(&m, "DATA_PENDING before VERSION", "a command before VERSION");

	ctx.minor = 13;
	build_version(&m, 2, 13);
	refused(&m, "VERSION sent twice", "a second VERSION");
}

static void test_get_configuration(void)
{
	struct msgb m;

	msg_start(&m, LH_RELAYD_GET_CONFIGURATION);
	put_u64(&m, 0);
	msg_end(&m);
	ctx.minor = 12;
	passed_verbatim(&m, "GET_CONFIGURATION at 2.12");
	ok(info.reply == LH_RELAYD_REPLY_GET_CONFIGURATION, "GET_CONFIGURATION reply kind");
	ctx.minor = 11;
	refused(&m, "GET_CONFIGURATION needs protocol 2.12 (negotiated 2.11)",
		"GET_CONFIGURATION at 2.11");
	ctx.minor = 13;
}

static void test_create_session(void)
{
	const size_t vm_len = sizeof(VM_NAME);
	char long_name[256];
	const uint8_t *o;
	struct msgb m;
	size_t i;
	bool uuid_ok = true;

	build_create_session(&m, STR("auto-20240101-120000"), STR("a-rather-long-guest-hostname"),
		STR(""));
	ok(run(&m) == 0, "CREATE_SESSION 2.11 passes");
	o = lh_buf_head(&out);
	ok(info.reply == LH_RELAYD_REPLY_CREATE_SESSION && info.nr_stream_refs == 0 &&
		!info.has_session_ref, "CREATE_SESSION: creates a session, names none");
	ok(lh_buf_len(&out) == m.len - sizeof("a-rather-long-guest-hostname") + vm_len &&
		get_u64(o + 8) == lh_buf_len(&out) - LH_RELAYD_CTRL_HDR_LEN,
		"CREATE_SESSION: data_size fixed up for the new hostname");
	o += LH_RELAYD_CTRL_HDR_LEN;
	ok(get_u32(o) == sizeof("auto-20240101-120000") && get_u32(o + 4) == vm_len &&
		get_u32(o + 8) == 1, "CREATE_SESSION: hostname_len is the VM name's");
	ok(!memcmp(o + 59, "auto-20240101-120000", sizeof("auto-20240101-120000")) &&
		!memcmp(o + 59 + sizeof("auto-20240101-120000"), VM_NAME, vm_len) &&
		o[59 + sizeof("auto-20240101-120000") + vm_len] == '\0',
		"CREATE_SESSION: hostname replaced by the VM name, names kept");
	ok(info.guest_hostname && !strcmp(info.guest_hostname, "a-rather-long-guest-hostname"),
		"CREATE_SESSION: the guest's own hostname is reported");
	for (i = 0; i < LH_RELAYD_UUID_LEN; i++) {
		if (o[18 + i] != (guest_uuid[i] ^ ctx.uuid_key[i])) {
			uuid_ok = false;
		}
	}
	ok(uuid_ok && !memcmp(o + 12, m.buf + LH_RELAYD_CTRL_HDR_LEN + 12, 6) &&
		!memcmp(o + 34, m.buf + LH_RELAYD_CTRL_HDR_LEN + 34, 25),
		"CREATE_SESSION: sessiond UUID keyed to the VM, other fields kept");

	build_create_session(&m, STR("s"), STR("h"), STR("traces/run-1/"));
	ok(run(&m) == 0 && lh_buf_len(&out) == m.len + vm_len - 2,
		"CREATE_SESSION with a base path passes (short hostname grows)");
	build_create_session(&m, STR("s"), STR(""), "", 0);
	ok(run(&m) == 0, "CREATE_SESSION with no base path (length 0) passes");

	/* "../" and absolute paths in every path field. */
	build_create_session(&m, STR(".."), STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: unsafe session_name \"..\"", "session_name ..");
	build_create_session(&m, STR("../x"), STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: unsafe session_name \"../x\"", "session_name ../x");
	build_create_session(&m, STR("/etc"), STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: unsafe session_name \"/etc\"", "session_name /etc");
	build_create_session(&m, STR(".hidden"), STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: unsafe session_name \".hidden\"", "session_name .hidden");
	build_create_session(&m, STR("s"), STR("h"), STR("../../etc"));
	refused(&m, "CREATE_SESSION: unsafe base_path \"../../etc\"", "base_path ../../etc");
	build_create_session(&m, STR("s"), STR("h"), STR("a/../../b"));
	refused(&m, "CREATE_SESSION: unsafe base_path \"a/../../b\"", "base_path a/../../b");
	build_create_session(&m, STR("s"), STR("h"), STR("/etc/cron.d"));
	refused(&m, "CREATE_SESSION: unsafe base_path \"/etc/cron.d\"", "base_path /etc/cron.d");
	build_create_session(&m, STR("s"), STR("h"), STR("a//b"));
	refused(&m, "CREATE_SESSION: unsafe base_path \"a//b\"", "base_path a//b");
	build_create_session(&m, STR("s\x01\"\\"), STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: unsafe session_name \"s\\x01\\\"\\\\\"",
		"session_name with control bytes, quoted in the error");
	build_create_session(&m, STR("../aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: unsafe session_name "
		"\"../aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"",
		"a long unsafe value is cut in the error");

	/* Strings and declared lengths. */
	build_create_session(&m, STR("ab\0cd"), STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: session_name has an embedded NUL", "embedded NUL in session_name");
	build_create_session(&m, STR("s"), STR("h"), STR("a\0/../../x"));
	refused(&m, "CREATE_SESSION: base_path has an embedded NUL", "embedded NUL in base_path");
	build_create_session(&m, STR("s"), STR("h\0x"), STR(""));
	refused(&m, "CREATE_SESSION: hostname has an embedded NUL", "embedded NUL in hostname");
	build_create_session(&m, "abc", 3, STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: session_name not NUL-terminated within its 3 bytes",
		"session_name without NUL");
	build_create_session(&m, "", 0, STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: session_name missing (length 0)", "empty session_name field");
	build_create_session(&m, STR("s"), STR("h"), STR(""));
	m.buf[LH_RELAYD_CTRL_HDR_LEN + 3]++;
	refused(&m, "CREATE_SESSION: payload of 64 bytes does not match its declared lengths "
		"(59 + 3 + 2 + 1)", "session_name_len beyond data_size");
	build_create_session(&m, STR("s"), STR("h"), STR(""));
	m.buf[LH_RELAYD_CTRL_HDR_LEN + 11] = 0;
	refused(&m, "CREATE_SESSION: payload of 64 bytes does not match its declared lengths "
		"(59 + 2 + 2 + 0)", "base_path_len short of data_size");
	build_create_session(&m, STR("s"), STR("h"), STR(""));
	m.buf[LH_RELAYD_CTRL_HDR_LEN + 4] = 0xff;
	refused(&m, "CREATE_SESSION: payload of 64 bytes does not match its declared lengths "
		"(59 + 2 + 4278190082 + 1)", "huge hostname_len");
	msg_start(&m, LH_RELAYD_CREATE_SESSION);
	put_u32(&m, 2);
	put_u32(&m, 2);
	msg_end(&m);
	refused(&m, "CREATE_SESSION: payload of 8 bytes, expected at least 59",
		"truncated CREATE_SESSION");
	build_create_session(&m, STR("s"), STR("h"), STR(""));
	memset(m.buf + LH_RELAYD_CTRL_HDR_LEN + 18, 0, LH_RELAYD_UUID_LEN);
	refused(&m, "CREATE_SESSION: nil sessiond UUID", "nil sessiond UUID");
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	build_create_session(&m, long_name, sizeof(long_name), STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: session_name of 256 bytes exceeds 255",
		"session_name longer than LTTNG_NAME_MAX");
}

/*
 * From protocol 2.15 (lttng 2.15, 2.16), CREATE_SESSION carries the
 * trace format after the 2.11 fixed part; lttng-relayd reads the layout
 * of the negotiated minor, so each layout passes only at its own.
 */
static void test_create_session_2_15(void)
{
	const size_t vm_len = sizeof(VM_NAME);
	const uint8_t *o;
	struct msgb m;

	ctx.minor = 15;
	cs_trace_format = 2;
	build_create_session(&m, STR("s"), STR("h"), STR("traces"));
	ok(run(&m) == 0 && info.trace_format == LH_RELAYD_CTF_2,
		"CREATE_SESSION 2.15, CTF 2: passes, its trace format reported");
	o = lh_buf_head(&out) + LH_RELAYD_CTRL_HDR_LEN;
	ok(lh_buf_len(&out) == m.len - 2 + vm_len &&
		get_u64(lh_buf_head(&out) + 8) == lh_buf_len(&out) - LH_RELAYD_CTRL_HDR_LEN &&
		get_u32(o + 4) == vm_len && get_u32(o + 59) == 2 &&
		!memcmp(o + 63, "s", 2) && !memcmp(o + 65, VM_NAME, vm_len) &&
		!memcmp(o + 65 + vm_len, "traces", sizeof("traces")),
		"CREATE_SESSION 2.15: trace format kept, names after it, hostname replaced");
	cs_trace_format = 1;
	build_create_session(&m, STR("s"), STR("h"), STR(""));
	ok(run(&m) == 0 && info.trace_format == LH_RELAYD_CTF_1_8,
		"CREATE_SESSION 2.15, CTF 1.8: passes, its trace format reported");
	cs_trace_format = 0;
	build_create_session(&m, STR("s"), STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: payload of 64 bytes does not match its declared lengths (63 + 2 + 2 + 1)",
		"the 2.11 layout at protocol 2.15");
	cs_trace_format = 3;
	build_create_session(&m, STR("s"), STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: trace format 3 is neither CTF 1.8 (1) nor CTF 2 (2)",
		"trace format 3");
	cs_trace_format = 0x100;
	build_create_session(&m, STR("s"), STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: trace format 256 is neither CTF 1.8 (1) nor CTF 2 (2)",
		"trace format 256");
	ctx.minor = 14;
	cs_trace_format = 2;
	build_create_session(&m, STR("s"), STR("h"), STR(""));
	refused(&m, "CREATE_SESSION: payload of 68 bytes does not match its declared lengths (59 + 2 + 2 + 1)",
		"the 2.15 layout at protocol 2.14");
	cs_trace_format = 0;
	build_create_session(&m, STR("s"), STR("h"), STR(""));
	ok(run(&m) == 0 && info.trace_format == LH_RELAYD_CTF_1_8,
		"CREATE_SESSION 2.11 at protocol 2.14: passes as CTF 1.8");
	ctx.minor = 13;
}

/*
 * The forwarded CREATE_SESSION carries session_name name, the VM name as
 * hostname and base_path base ("" for none: length 0), with the fixed
 * part otherwise as the guest sent it.
 */
static bool create_session_emitted(const struct msgb *m, const char *name,
		const char *base)
{
	const uint8_t *in = m->buf + LH_RELAYD_CTRL_HDR_LEN;
	const uint8_t *o = lh_buf_head(&out);
	size_t name_len = strlen(name) + 1, vm_len = sizeof(VM_NAME);
	size_t base_len = base[0] ? strlen(base) + 1 : 0;
	size_t len = LH_RELAYD_CTRL_HDR_LEN + 59 + name_len + vm_len + base_len;

	if (lh_buf_len(&out) != len) {
		diag("forwarded %zu bytes, expected %zu", lh_buf_len(&out), len);
		return false;
	}
	if (get_u64(o + 8) != len - LH_RELAYD_CTRL_HDR_LEN) {
		diag("data_size %" PRIu64, get_u64(o + 8));
		return false;
	}
	o += LH_RELAYD_CTRL_HDR_LEN;
	if (get_u32(o) != name_len || get_u32(o + 4) != vm_len || get_u32(o + 8) != base_len) {
		diag("lengths %" PRIu32 " %" PRIu32 " %" PRIu32, get_u32(o), get_u32(o + 4),
			get_u32(o + 8));
		return false;
	}
	if (memcmp(o + 12, in + 12, 6) || memcmp(o + 34, in + 34, 25)) {
		diag("fixed part altered");
		return false;
	}
	o += 59;
	if (memcmp(o, name, name_len) || memcmp(o + name_len, VM_NAME, vm_len) ||
			memcmp(o + name_len + vm_len, base, base_len)) {
		diag("names \"%.*s\" \"%.*s\" \"%.*s\"", (int) name_len, (const char *) o,
			(int) vm_len, (const char *) o + name_len, (int) base_len,
			(const char *) o + name_len + vm_len);
		return false;
	}
	return true;
}

/* A nested VM's sessions go to hostname/<prefix>/<what lttng-relayd would name>. */
static void test_nested_create_session(void)
{
	static char base[RELAYD_PATH_TEST_MAX], expected[RELAYD_PATH_TEST_MAX];
	uint8_t plain[256];
	struct msgb m;
	size_t plain_len;
	size_t i;

	/* lttng-relayd dates a session in its local time: pin it. */
	if (setenv("TZ", "UTC0", 1) < 0) {
		diag("setenv TZ failed");
	}
	tzset();

	/* No prefix: forwarded exactly as before nesting existed. */
	build_create_session_at(&m, 0, 1700000000, STR("s"), STR("h"), STR("traces/run-1/"));
	ctx.base_prefix = NULL;
	ok(run(&m) == 0 && create_session_emitted(&m, "s", "traces/run-1/"),
		"CREATE_SESSION without prefix: base path kept");
	plain_len = lh_buf_len(&out);
	memcpy(plain, lh_buf_head(&out), plain_len);
	ctx.base_prefix = "";
	ok(run(&m) == 0 && lh_buf_len(&out) == plain_len &&
		!memcmp(lh_buf_head(&out), plain, plain_len),
		"CREATE_SESSION: empty prefix forwards the same bytes as no prefix");
	build_create_session_at(&m, 0, 1700000000, STR("s"), STR("h"), "", 0);
	ctx.base_prefix = NULL;
	ok(run(&m) == 0 && create_session_emitted(&m, "s", ""),
		"CREATE_SESSION without prefix: no base path stays absent");

	ctx.base_prefix = "l2";
	build_create_session_at(&m, 0, 1700000000, STR("s"), STR("h"), STR("traces/run-1/"));
	ok(run(&m) == 0 && create_session_emitted(&m, "s", "l2/traces/run-1/"),
		"nested CREATE_SESSION: base path moved under the prefix");
	build_create_session_at(&m, 1, 1700000000, STR("auto-20231114-221320"), STR("h"), "", 0);
	ok(run(&m) == 0 && create_session_emitted(&m, "auto-20231114-221320",
		"l2/auto-20231114-221320"),
		"nested CREATE_SESSION: dated name used as is");
	build_create_session_at(&m, 0, 1700000000, STR("s"), STR("h"), "", 0);
	ok(run(&m) == 0 && create_session_emitted(&m, "s", "l2/s-20231114-221320"),
		"nested CREATE_SESSION: name dated with creation_time");
	build_create_session_at(&m, 0, 1700000000, STR("s"), STR("h"), STR(""));
	ok(run(&m) == 0 && create_session_emitted(&m, "s", "l2/s-20231114-221320"),
		"nested CREATE_SESSION: empty base path string counts as none");

	ctx.base_prefix = "l2/l3";
	build_create_session_at(&m, 1, 1700000000, STR("auto-20231114-221320"), STR("h"), "", 0);
	ok(run(&m) == 0 && create_session_emitted(&m, "auto-20231114-221320",
		"l2/l3/auto-20231114-221320"),
		"nested CREATE_SESSION: two-level prefix");
	build_create_session_at(&m, 0, 1700000000, STR("s"), STR("h"), STR("a/b"));
	ok(run(&m) == 0 && create_session_emitted(&m, "s", "l2/l3/a/b"),
		"nested CREATE_SESSION: two-level prefix before a base path");

	/* base_path is bounded by LTTNG_PATH_MAX (4096 with its NUL) once prefixed too. */
	ctx.base_prefix = "l2";
	for (i = 0; i < sizeof(base) - 1; i++) {
		base[i] = i % 128 == 127 ? '/' : 'a';
	}
	base[sizeof(base) - 1] = '\0';
	/* The guest's base path cut so that, prefixed, it fills 4096 bytes exactly. */
	build_create_session_at(&m, 0, 1700000000, STR("s"), STR("h"), base,
		(uint32_t) sizeof(base) - 3);
	m.buf[m.len - 1] = '\0';
	snprintf(expected, sizeof(expected), "l2/%.*s", (int) sizeof(base) - 4, base);
	ok(run(&m) == 0 && strlen(expected) == sizeof(base) - 1 &&
		create_session_emitted(&m, "s", expected),
		"nested CREATE_SESSION: prefixed base path of 4096 bytes passes");
	build_create_session_at(&m, 0, 1700000000, STR("s"), STR("h"), base,
		(uint32_t) sizeof(base) - 2);
	m.buf[m.len - 1] = '\0';
	refused(&m, "CREATE_SESSION: the nested VM's base path would exceed 4095 bytes",
		"prefixed base path beyond LTTNG_PATH_MAX");
	build_create_session_at(&m, 0, 1700000000, STR("s"), STR("h"), base, sizeof(base));
	refused(&m, "CREATE_SESSION: the nested VM's base path would exceed 4095 bytes",
		"guest's longest base path, prefixed");
	build_create_session_at(&m, 0, INT64_MAX, STR("s"), STR("h"), "", 0);
	refused(&m, "CREATE_SESSION: creation time 9223372036854775807 cannot be a date",
		"creation_time beyond any local date");
	build_create_session_at(&m, 1, INT64_MAX, STR("auto-1"), STR("h"), "", 0);
	ok(run(&m) == 0 && create_session_emitted(&m, "auto-1", "l2/auto-1"),
		"nested CREATE_SESSION: creation_time unused when the name is dated");
	ctx.base_prefix = NULL;
}

static void test_add_stream(void)
{
	char long_name[300];
	struct msgb m;

	build_add_stream(&m, STR("channel0_0"), STR("ust/uid/1000/64-bit"));
	passed_verbatim(&m, "ADD_STREAM 2.11");
	ok(info.reply == LH_RELAYD_REPLY_ADD_STREAM && info.nr_stream_refs == 0,
		"ADD_STREAM: creates a stream, names none");
	build_add_stream(&m, STR("metadata"), STR("kernel/"));
	passed_verbatim(&m, "ADD_STREAM of a kernel metadata stream");

	build_add_stream_files(&m, STR("channel0_0"), STR("ust"), 1 << 20, 4);
	passed_verbatim(&m, "ADD_STREAM with 4 trace files of 1 MiB");
	build_add_stream_files(&m, STR("channel0_0"), STR("ust"), 0, LH_RELAYD_MAX_TRACEFILE_COUNT);
	passed_verbatim(&m, "ADD_STREAM with as many trace files as allowed");
	build_add_stream_files(&m, STR("channel0_0"), STR("ust"), 1 << 20, 0);
	refused(&m, "ADD_STREAM: tracefile_size 1048576 with tracefile_count 0 would crash lttng-relayd before 2.16; give the channel --tracefile-count too",
		"a trace file size with no count");
	build_add_stream_files(&m, STR("channel0_0"), STR("ust"), 1 << 20,
		LH_RELAYD_MAX_TRACEFILE_COUNT + 1);
	refused(&m, "ADD_STREAM: tracefile_count 65537 exceeds 65536", "too many trace files");
	build_add_stream_files(&m, STR("channel0_0"), STR("ust"), 1 << 20, UINT64_MAX);
	refused(&m, "ADD_STREAM: tracefile_count 18446744073709551615 exceeds 65536",
		"tracefile_count 2^64 - 1");

	build_add_stream(&m, STR(".."), STR("ust"));
	refused(&m, "ADD_STREAM: unsafe channel_name \"..\"", "channel_name ..");
	build_add_stream(&m, STR("../chan"), STR("ust"));
	refused(&m, "ADD_STREAM: unsafe channel_name \"../chan\"", "channel_name ../chan");
	build_add_stream(&m, STR("/tmp/chan"), STR("ust"));
	refused(&m, "ADD_STREAM: unsafe channel_name \"/tmp/chan\"", "channel_name /tmp/chan");
	build_add_stream(&m, STR("lttng-hyper-sync"), STR("ust/uid/0/64-bit"));
	refused(&m, "ADD_STREAM: channel_name \"lttng-hyper-sync\" is the relay's own file",
		"a stream named as the relay's sync file");
	build_add_stream(&m, STR("chan"), STR("../../../root/.ssh"));
	refused(&m, "ADD_STREAM: unsafe pathname \"../../../root/.ssh\"", "pathname ../../..");
	build_add_stream(&m, STR("chan"), STR("ust/../../x"));
	refused(&m, "ADD_STREAM: unsafe pathname \"ust/../../x\"", "pathname ust/../../x");
	build_add_stream(&m, STR("chan"), STR("/var/lib"));
	refused(&m, "ADD_STREAM: unsafe pathname \"/var/lib\"", "pathname /var/lib");
	build_add_stream(&m, STR("chan"), STR(""));
	refused(&m, "ADD_STREAM: unsafe pathname \"\"", "empty pathname");
	build_add_stream(&m, STR("chan\0../x"), STR("ust"));
	refused(&m, "ADD_STREAM: channel_name has an embedded NUL", "embedded NUL in channel_name");
	build_add_stream(&m, STR("chan"), "ust", 3);
	refused(&m, "ADD_STREAM: pathname not NUL-terminated within its 3 bytes",
		"pathname without NUL");
	build_add_stream(&m, STR("chan"), STR("ust"));
	m.buf[LH_RELAYD_CTRL_HDR_LEN + 7] = 3;
	refused(&m, "ADD_STREAM: payload of 41 bytes does not match its declared lengths "
		"(32 + 5 + 3)", "pathname_len short of data_size");
	build_add_stream(&m, STR("chan"), STR("ust"));
	m.len--;
	msg_end(&m);
	refused(&m, "ADD_STREAM: payload of 40 bytes does not match its declared lengths "
		"(32 + 5 + 4)", "truncated names");
	msg_start(&m, LH_RELAYD_ADD_STREAM);
	put_u32(&m, 5);
	msg_end(&m);
	refused(&m, "ADD_STREAM: payload of 4 bytes, expected at least 32", "truncated ADD_STREAM");
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	build_add_stream(&m, STR("chan"), long_name, 257);
	refused(&m, "ADD_STREAM: pathname of 257 bytes exceeds 255",
		"pathname longer than lttng-relayd takes");
}

static void test_trace_chunks(void)
{
	struct msgb m;

	build_create_trace_chunk(&m, "", 0);
	passed_verbatim(&m, "CREATE_TRACE_CHUNK without a name");
	build_create_trace_chunk(&m, STR("20240101T120000+0000-1"));
	passed_verbatim(&m, "CREATE_TRACE_CHUNK with an override name");
	build_create_trace_chunk(&m, STR(".."));
	refused(&m, "CREATE_TRACE_CHUNK: unsafe override_name \"..\"", "chunk name ..");
	build_create_trace_chunk(&m, STR("../../x"));
	refused(&m, "CREATE_TRACE_CHUNK: unsafe override_name \"../../x\"", "chunk name ../../x");
	build_create_trace_chunk(&m, STR("/x"));
	refused(&m, "CREATE_TRACE_CHUNK: unsafe override_name \"/x\"", "chunk name /x");
	build_create_trace_chunk(&m, STR("a\0b"));
	refused(&m, "CREATE_TRACE_CHUNK: override_name has an embedded NUL", "embedded NUL in chunk name");
	build_create_trace_chunk(&m, STR("a"));
	m.buf[LH_RELAYD_CTRL_HDR_LEN + 19] = 9;
	refused(&m, "CREATE_TRACE_CHUNK: payload of 22 bytes does not match its declared lengths "
		"(20 + 9)", "name length beyond data_size");

	build_close_trace_chunk(&m, 1, 0);
	passed_verbatim(&m, "CLOSE_TRACE_CHUNK, move to completed");
	ok(info.reply == LH_RELAYD_REPLY_CLOSE_TRACE_CHUNK, "CLOSE_TRACE_CHUNK reply kind");
	build_close_trace_chunk(&m, 0, 0);
	passed_verbatim(&m, "CLOSE_TRACE_CHUNK, no command");
	build_close_trace_chunk(&m, 1, 3);
	refused(&m, "CLOSE_TRACE_CHUNK: bad close_command (is_set 1, value 3)", "unknown close command");
	build_close_trace_chunk(&m, 2, 0);
	refused(&m, "CLOSE_TRACE_CHUNK: bad close_command (is_set 2, value 0)", "bad is_set");
	build_close_trace_chunk(&m, 1, 0);
	m.len--;
	msg_end(&m);
	refused(&m, "CLOSE_TRACE_CHUNK: payload of 20 bytes, expected 21", "truncated CLOSE_TRACE_CHUNK");

	build_ids(&m, LH_RELAYD_TRACE_CHUNK_EXISTS, 1, false);
	passed_verbatim(&m, "TRACE_CHUNK_EXISTS");
	ok(info.reply == LH_RELAYD_REPLY_TRACE_CHUNK_EXISTS, "TRACE_CHUNK_EXISTS reply kind");
}

static void test_stream_commands(void)
{
	static const size_t rotate_headers[] = { 13, 16, 20 };
	struct msgb m;
	size_t i;

	build_ids(&m, LH_RELAYD_DATA_PENDING, 7, true);
	passed_verbatim(&m, "DATA_PENDING");
	ok(info.reply == LH_RELAYD_REPLY_GENERIC && info.nr_stream_refs == 1 &&
		lh_relayd_msg_stream_ref(&info, 0) == 7 && !info.has_session_ref,
		"DATA_PENDING names stream 7");
	m.len--;
	msg_end(&m);
	refused(&m, "DATA_PENDING: payload of 15 bytes, expected 16", "truncated DATA_PENDING");

	build_ids(&m, LH_RELAYD_CLOSE_STREAM, 8, true);
	ok(run(&m) == 0 && info.nr_stream_refs == 1 && lh_relayd_msg_stream_ref(&info, 0) == 8,
		"CLOSE_STREAM names its stream");
	build_ids(&m, LH_RELAYD_RESET_METADATA, 9, true);
	ok(run(&m) == 0 && info.nr_stream_refs == 1 && lh_relayd_msg_stream_ref(&info, 0) == 9,
		"RESET_METADATA names its stream");
	build_ids(&m, LH_RELAYD_QUIESCENT_CONTROL, 10, false);
	ok(run(&m) == 0 && info.nr_stream_refs == 1 && lh_relayd_msg_stream_ref(&info, 0) == 10,
		"QUIESCENT_CONTROL names its stream");
	build_ids(&m, LH_RELAYD_BEGIN_DATA_PENDING, 3, false);
	ok(run(&m) == 0 && info.has_session_ref && info.session_ref == 3 &&
		info.nr_stream_refs == 0, "BEGIN_DATA_PENDING names session 3");
	build_ids(&m, LH_RELAYD_END_DATA_PENDING, 3, true);
	refused(&m, "END_DATA_PENDING: payload of 16 bytes, expected 8", "oversized END_DATA_PENDING");

	msg_start(&m, LH_RELAYD_STREAMS_SENT);
	msg_end(&m);
	passed_verbatim(&m, "STREAMS_SENT");

	msg_start(&m, LH_RELAYD_SEND_INDEX);
	put_u64(&m, 11);
	for (i = 1; i < 10; i++) {
		put_u64(&m, i);
	}
	msg_end(&m);
	ok(run(&m) == 0 && info.nr_stream_refs == 1 && lh_relayd_msg_stream_ref(&info, 0) == 11,
		"SEND_INDEX (80 bytes) names its relay stream");
	m.len -= 16;
	msg_end(&m);
	refused(&m, "SEND_INDEX: payload of 64 bytes, expected 80", "2.7-sized SEND_INDEX");

	msg_start(&m, LH_RELAYD_SEND_METADATA);
	put_u64(&m, 12);
	put_u32(&m, 100);
	put_bytes(&m, "/* CTF 1.8 */", 13);
	msg_end(&m);
	passed_verbatim(&m, "SEND_METADATA");
	ok(info.reply == LH_RELAYD_REPLY_NONE && info.nr_stream_refs == 1 &&
		lh_relayd_msg_stream_ref(&info, 0) == 12, "SEND_METADATA: no reply, names its stream");
	msg_start(&m, LH_RELAYD_SEND_METADATA);
	put_u64(&m, 12);
	put_u32(&m, LH_RELAYD_MAX_PACKET);
	put_u8(&m, 'x');
	msg_end(&m);
	refused(&m, "SEND_METADATA: packet of 1 + 67108864 padding bytes exceeds 67108864",
		"SEND_METADATA with a huge padding");
	msg_start(&m, LH_RELAYD_SEND_METADATA);
	put_u64(&m, 12);
	msg_end(&m);
	refused(&m, "SEND_METADATA: payload of 8 bytes, expected at least 12", "truncated SEND_METADATA");

	/* The three ABIs of struct lttcomm_relayd_rotate_streams. */
	for (i = 0; i < 3; i++) {
		msg_start(&m, LH_RELAYD_ROTATE_STREAMS);
		put_u32(&m, 2);
		put_u8(&m, 1);
		while (m.len < LH_RELAYD_CTRL_HDR_LEN + rotate_headers[i] - 8) {
			put_u8(&m, 0);
		}
		put_u64(&m, 5);		/* new_chunk_id */
		put_u64(&m, 21);
		put_u64(&m, 100);
		put_u64(&m, 22);
		put_u64(&m, 200);
		msg_end(&m);
		ok(run(&m) == 0 && info.nr_stream_refs == 2 &&
			lh_relayd_msg_stream_ref(&info, 0) == 21 &&
			lh_relayd_msg_stream_ref(&info, 1) == 22,
			"ROTATE_STREAMS (%zu-byte header) names both streams", rotate_headers[i]);
	}
	put_u8(&m, 0);
	msg_end(&m);
	refused(&m, "ROTATE_STREAMS: payload of 53 bytes does not hold 2 stream positions",
		"ROTATE_STREAMS of a bad size");
	m.len--;
	m.buf[LH_RELAYD_CTRL_HDR_LEN + 3] = 200;
	msg_end(&m);
	refused(&m, "ROTATE_STREAMS: payload of 52 bytes does not hold 200 stream positions",
		"ROTATE_STREAMS announcing more positions than sent");
}

static void test_refused_commands(void)
{
	struct msgb m;

	msg_start(&m, 99);
	msg_end(&m);
	refused(&m, "unknown relayd command 99", "unknown command");
	msg_start(&m, 0);
	msg_end(&m);
	refused(&m, "unknown relayd command 0", "command 0");
	msg_start(&m, LH_RELAYD_LIST_SESSIONS);
	msg_end(&m);
	refused(&m, "LIST_SESSIONS refused: a live viewer command, not for a guest", "LIST_SESSIONS");
	msg_start(&m, LH_RELAYD_UPDATE_SYNC_INFO);
	msg_end(&m);
	refused(&m, "UPDATE_SYNC_INFO refused: not implemented by lttng-relayd", "UPDATE_SYNC_INFO");
	msg_start(&m, LH_RELAYD_START_DATA);
	msg_end(&m);
	refused(&m, "START_DATA refused: not sent by lttng 2.11 and later", "START_DATA");

	msg_start(&m, LH_RELAYD_SEND_METADATA);
	msg_end(&m);
	memset(m.buf + 8, 0xff, 8);
	refused(&m, "SEND_METADATA: payload of 18446744073709551615 bytes exceeds the limit (1048576)",
		"data_size over the limit");
	build_ids(&m, LH_RELAYD_DATA_PENDING, 7, true);
	m.len--;
	refused(&m, "DATA_PENDING: header announces 16 payload bytes, got 15",
		"payload shorter than data_size");
	ok(run(&m) == -1 && run(&(struct msgb) { .len = 10 }) == -1 &&
		!strcmp(err, "control message of 10 bytes is shorter than its header"),
		"a message shorter than a header");
}

static void test_header_check(void)
{
	struct lh_relayd_ctrl_hdr hdr = { .cmd = LH_RELAYD_SEND_METADATA, .data_size = 4096 };

	ok(lh_relayd_ctrl_hdr_check(&ctx, &hdr, err, sizeof(err)) == 0,
		"header check: a SEND_METADATA header");
	hdr.data_size = MAX_PAYLOAD + 1;
	ok(lh_relayd_ctrl_hdr_check(&ctx, &hdr, err, sizeof(err)) == -1 &&
		!strcmp(err, "SEND_METADATA: payload of 1048577 bytes exceeds the limit (1048576)"),
		"header check: oversized payload refused before it is buffered");
	hdr = (struct lh_relayd_ctrl_hdr) { .cmd = 1000 };
	ok(lh_relayd_ctrl_hdr_check(&ctx, &hdr, err, sizeof(err)) == -1 &&
		!strcmp(err, "unknown relayd command 1000"), "header check: unknown command");
}

static void test_replies(void)
{
	struct lh_relayd_reply_info r;
	struct msgb m = { .len = 0 };
	uint32_t negotiated, guest_minor;

	put_u32(&m, 10);
	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_GENERIC, m.buf, 3, &r, err, sizeof(err)) == 0 &&
		lh_relayd_reply_parse(LH_RELAYD_REPLY_GENERIC, m.buf, 4, &r, err, sizeof(err)) == 4 &&
		r.ret_code == LH_RELAYD_RET_OK, "generic reply: 4 bytes");

	m.len = 0;
	put_u32(&m, 2);
	put_u32(&m, 13);
	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_VERSION, m.buf, 8, &r, err, sizeof(err)) == 8 &&
		r.major == 2 && r.minor == 13, "VERSION reply: major and minor");

	m.len = 0;
	put_u64(&m, 42);
	put_u32(&m, LH_RELAYD_RET_OK);
	put_u32(&m, sizeof("/srv/traces/guest1/s-1"));
	put_bytes(&m, STR("/srv/traces/guest1/s-1"));
	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_CREATE_SESSION, m.buf, 16, &r, err, sizeof(err)) == 0 &&
		lh_relayd_reply_parse(LH_RELAYD_REPLY_CREATE_SESSION, m.buf, m.len - 1, &r, err,
			sizeof(err)) == 0, "CREATE_SESSION reply: incomplete until its path is in");
	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_CREATE_SESSION, m.buf, m.len + 5, &r, err,
			sizeof(err)) == (ssize_t) m.len && r.id == 42 && r.ret_code == LH_RELAYD_RET_OK,
		"CREATE_SESSION reply: session id 42, size with the path");
	m.buf[m.len - 1] = 'x';
	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_CREATE_SESSION, m.buf, m.len, &r, err,
			sizeof(err)) == -1 && !strcmp(err, "CREATE_SESSION reply: malformed path"),
		"CREATE_SESSION reply: unterminated path is malformed");
	m.buf[14] = 0x10;
	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_CREATE_SESSION, m.buf, 16, &r, err,
			sizeof(err)) == -1 && !strcmp(err, "CREATE_SESSION reply: path of 4119 bytes"),
		"CREATE_SESSION reply: a path of PATH_MAX or more is malformed");

	m.len = 0;
	put_u64(&m, 7);
	put_u32(&m, LH_RELAYD_RET_OK);
	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_ADD_STREAM, m.buf, m.len, &r, err,
			sizeof(err)) == 12 && r.id == 7, "ADD_STREAM reply: stream handle 7");

	m.len = 0;
	put_u32(&m, LH_RELAYD_RET_OK);
	put_u32(&m, 3);
	put_bytes(&m, STR("/a"));
	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_CLOSE_TRACE_CHUNK, m.buf, m.len, &r, err,
			sizeof(err)) == 11, "CLOSE_TRACE_CHUNK reply with its path");
	m.buf[3] = 1;
	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_CLOSE_TRACE_CHUNK, m.buf, 8, &r, err,
			sizeof(err)) == 8 && r.ret_code == 1, "CLOSE_TRACE_CHUNK error reply has no path");

	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_TRACE_CHUNK_EXISTS, m.buf, 4, &r, err,
			sizeof(err)) == 0 &&
		lh_relayd_reply_parse(LH_RELAYD_REPLY_TRACE_CHUNK_EXISTS, m.buf, 5, &r, err,
			sizeof(err)) == 5, "TRACE_CHUNK_EXISTS reply: 5 bytes");
	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_GET_CONFIGURATION, m.buf, 11, &r, err,
			sizeof(err)) == 0 &&
		lh_relayd_reply_parse(LH_RELAYD_REPLY_GET_CONFIGURATION, m.buf, 12, &r, err,
			sizeof(err)) == 12, "GET_CONFIGURATION reply: 12 bytes");
	ok(lh_relayd_reply_parse(LH_RELAYD_REPLY_NONE, m.buf, 12, &r, err, sizeof(err)) == -1,
		"no reply to parse after SEND_METADATA");

	r = (struct lh_relayd_reply_info) { .major = 2, .minor = 13 };
	ok(lh_relayd_version_negotiate(12, &r, &negotiated, &guest_minor, err, sizeof(err)) == 0 &&
		negotiated == 12 && guest_minor == 13, "guest 2.12, relayd 2.13: both use 2.12");
	r.minor = 14;
	ok(lh_relayd_version_negotiate(13, &r, &negotiated, &guest_minor, err, sizeof(err)) == 0 &&
		negotiated == 13 && guest_minor == 14, "guest 2.13, relayd 2.14: both use 2.13");
	r.minor = 13;
	ok(lh_relayd_version_negotiate(15, &r, &negotiated, &guest_minor, err, sizeof(err)) == 0 &&
		negotiated == 13 && guest_minor == 13,
		"guest 2.15, relayd 2.13: both use 2.13 (no CTF 2)");
	r.minor = 15;
	ok(lh_relayd_version_negotiate(15, &r, &negotiated, &guest_minor, err, sizeof(err)) == 0 &&
		negotiated == 15 && guest_minor == 15, "guest 2.15, relayd 2.15: both use 2.15");
	r.minor = 16;
	ok(lh_relayd_version_negotiate(15, &r, &negotiated, &guest_minor, err, sizeof(err)) == 0 &&
		negotiated == 15 && guest_minor == 15, "relayd 2.16, a minor not checked here, is shown as 2.15");
	r.minor = 11;
	ok(lh_relayd_version_negotiate(13, &r, &negotiated, &guest_minor, err, sizeof(err)) == 0 &&
		negotiated == 11 && guest_minor == 11, "relayd 2.11: both use 2.11");
	r.minor = 10;
	ok(lh_relayd_version_negotiate(13, &r, &negotiated, &guest_minor, err, sizeof(err)) == -1 &&
		!strcmp(err, "lttng-relayd speaks protocol 2.10, not 2.11 to 2.15"),
		"relayd 2.10 refused");
}

/* A reply of kind with path, its path rewritten from host_dir to guest_dir: the new path. */
static const char *rewritten(enum lh_relayd_reply kind, const char *path, const char *host_dir,
		const char *guest_dir)
{
	static char result[512];
	size_t fixed = kind == LH_RELAYD_REPLY_CREATE_SESSION ? 16 : 8;
	uint8_t reply[512] = { 0 };
	size_t len = fixed + strlen(path) + 1;
	const uint8_t *o;

	lh_put_be64(reply, 77);
	lh_put_be32(reply + fixed - 8, LH_RELAYD_RET_OK);
	lh_put_be32(reply + fixed - 4, (uint32_t) strlen(path) + 1);
	memcpy(reply + fixed, path, strlen(path) + 1);
	lh_buf_reset(&out);
	if (lh_relayd_reply_rewrite_path(kind, reply, len, host_dir, guest_dir, &out) < 0) {
		return "(failed)";
	}
	o = lh_buf_head(&out);
	if (lh_buf_len(&out) != fixed + get_u32(o + fixed - 4) || memcmp(o, reply, fixed - 4) ||
			o[lh_buf_len(&out) - 1] != '\0') {
		return "(malformed)";
	}
	snprintf(result, sizeof(result), "%s", (const char *) o + fixed);
	return result;
}

static void test_reply_paths(void)
{
	const uint8_t generic[4] = { 0, 0, 0, 10 };
	const char *p;

	p = rewritten(LH_RELAYD_REPLY_CREATE_SESSION, "vm1/s1-20261205-080000", "vm1", "guest-a");
	ok(!strcmp(p, "guest-a/s1-20261205-080000"),
		"CREATE_SESSION's path: the VM's directory becomes the guest's hostname (%s)", p);
	p = rewritten(LH_RELAYD_REPLY_CREATE_SESSION, "l1/l2/s-20261205-080000", "l1/l2", "l2host");
	ok(!strcmp(p, "l2host/s-20261205-080000"),
		"a nested VM's path loses its parents too (%s)", p);
	p = rewritten(LH_RELAYD_REPLY_CLOSE_TRACE_CHUNK,
		"vm1/s1-20261205-080000/archives/20261205T080000-20261205T080100-1", "vm1", "guest-a");
	ok(!strcmp(p, "guest-a/s1-20261205-080000/archives/20261205T080000-20261205T080100-1"),
		"CLOSE_TRACE_CHUNK's path too (%s)", p);
	p = rewritten(LH_RELAYD_REPLY_CREATE_SESSION, "vm10/s1", "vm1", "guest-a");
	ok(!strcmp(p, "guest-a/s1"), "a path outside the VM's directory keeps its last component (%s)", p);
	p = rewritten(LH_RELAYD_REPLY_CREATE_SESSION, "vm1", "vm1", "guest-a");
	ok(!strcmp(p, "guest-a"), "the VM's directory itself (%s)", p);
	lh_buf_reset(&out);
	ok(lh_relayd_reply_rewrite_path(LH_RELAYD_REPLY_GENERIC, generic, sizeof(generic), "vm1",
		"guest-a", &out) == 0 && lh_buf_len(&out) == 4 && !memcmp(lh_buf_head(&out), generic, 4),
		"a reply without a path passes unchanged");
}

static bool owns_range(const struct lh_relayd_owned *owned, uint64_t first, uint64_t last)
{
	uint64_t id;

	for (id = first; id <= last; id++) {
		if (!lh_relayd_owned_has_stream(owned, id)) {
			return false;
		}
	}
	return true;
}

static bool owns_none(const struct lh_relayd_owned *owned, uint64_t first, uint64_t last)
{
	uint64_t id;

	for (id = first; id <= last; id++) {
		if (lh_relayd_owned_has_stream(owned, id)) {
			return false;
		}
	}
	return true;
}

static bool add_range(struct lh_relayd_owned *owned, uint64_t first, uint64_t last,
		const void *owner)
{
	bool all = true;
	uint64_t id;

	for (id = first; id <= last; id++) {
		if (lh_relayd_owned_add_stream(owned, id, owner, err, sizeof(err)) < 0) {
			all = false;
		}
	}
	return all;
}

static void close_range(struct lh_relayd_owned *owned, uint64_t first, uint64_t last)
{
	uint64_t id;

	for (id = first; id <= last; id++) {
		lh_relayd_owned_close_stream(owned, id);
	}
}

static void test_owned(void)
{
	struct lh_relayd_owned *owned = lh_relayd_owned_create(2, 100);
	char conn_a, conn_b;

	if (!ok(owned != NULL, "ownership table created")) {
		skip(18, "no table");
		return;
	}
	ok(!lh_relayd_owned_has_session(owned, 1) && !lh_relayd_owned_has_stream(owned, 1),
		"nothing owned at first");
	ok(lh_relayd_owned_add_session(owned, 5, &conn_a, err, sizeof(err)) == 0 &&
		lh_relayd_owned_add_session(owned, 9, &conn_b, err, sizeof(err)) == 0 &&
		lh_relayd_owned_has_session(owned, 5) && !lh_relayd_owned_has_session(owned, 6),
		"sessions 5 and 9 owned, 6 not");
	ok(lh_relayd_owned_check_room(owned, LH_RELAYD_CREATE_SESSION, err, sizeof(err)) == -1 &&
		!strcmp(err, "session limit (2) reached") &&
		lh_relayd_owned_add_session(owned, 11, &conn_a, err, sizeof(err)) == -1,
		"session limit (2) reached");
	ok(lh_relayd_owned_add_session(owned, 9, &conn_a, err, sizeof(err)) == -1 &&
		!strcmp(err, "lttng-relayd handed out session 9 twice"), "a duplicate session is refused");

	/* Sequential handles, as lttng-relayd gives them, across table growth. */
	ok(add_range(owned, 1000, 1049, &conn_a) && add_range(owned, 1050, 1099, &conn_b) &&
		owns_range(owned, 1000, 1099) && owns_none(owned, 0, 999) &&
		owns_none(owned, 1100, 3000), "exactly the 100 streams added are owned");
	ok(lh_relayd_owned_add_stream(owned, 2000, &conn_a, err, sizeof(err)) == -1 &&
		!strcmp(err, "stream limit (100) reached"), "stream limit (100) reached");
	ok(lh_relayd_owned_add_stream(owned, 1010, &conn_a, err, sizeof(err)) == -1 &&
		!strcmp(err, "lttng-relayd handed out stream 1010 twice"), "a duplicate stream is refused");

	lh_relayd_owned_close_stream(owned, 1000);
	ok(lh_relayd_owned_has_stream(owned, 1000) &&
		lh_relayd_owned_check_room(owned, LH_RELAYD_ADD_STREAM, err, sizeof(err)) == 0,
		"a closed stream stays owned (late packets) and frees room");
	lh_relayd_owned_close_stream(owned, 1000);
	lh_relayd_owned_close_stream(owned, 5000);
	ok(lh_relayd_owned_add_stream(owned, 1100, &conn_a, err, sizeof(err)) == 0 &&
		lh_relayd_owned_check_room(owned, LH_RELAYD_ADD_STREAM, err, sizeof(err)) == -1,
		"closing twice or an unknown stream frees nothing more");

	/* conn_a goes: its session drops, its 50 active streams close. */
	lh_relayd_owned_release(owned, &conn_a);
	ok(!lh_relayd_owned_has_session(owned, 5) && lh_relayd_owned_has_session(owned, 9),
		"release drops the session of that connection only");
	ok(owns_range(owned, 1000, 1100), "released streams stay owned while recent");
	ok(add_range(owned, 3000, 3049, &conn_b) &&
		lh_relayd_owned_add_stream(owned, 4000, &conn_b, err, sizeof(err)) == -1,
		"their room is back: 50 more streams, then the limit");

	/* 100 closed streams are remembered, the oldest first forgotten. */
	close_range(owned, 3000, 3048);
	ok(owns_range(owned, 1000, 1100), "100 closed streams remembered");
	lh_relayd_owned_close_stream(owned, 3049);
	ok(!lh_relayd_owned_has_stream(owned, 1000) && owns_range(owned, 1001, 1100) &&
		owns_range(owned, 3000, 3049), "the 101st close forgets the oldest");
	lh_relayd_owned_release(owned, &conn_b);
	ok(!lh_relayd_owned_has_session(owned, 9) && owns_none(owned, 1001, 1049) &&
		!lh_relayd_owned_has_stream(owned, 1100) && owns_range(owned, 1050, 1099) &&
		owns_range(owned, 3000, 3049), "releasing the other connection forgets older ones");
	ok(add_range(owned, 5000, 5099, &conn_a), "100 streams again");
	close_range(owned, 5000, 5099);
	ok(owns_none(owned, 1000, 4999) && owns_range(owned, 5000, 5099),
		"churn keeps only the last 100 closed streams");
	ok(lh_relayd_owned_add_session(owned, 12, &conn_a, err, sizeof(err)) == 0 &&
		add_range(owned, 6000, 6099, &conn_a), "sessions and streams can be created again");
	lh_relayd_owned_destroy(owned);
}

int main(void)
{
	plan_tests(179);

	lh_buf_init(&out);
	ctx = (struct lh_relayd_msg_ctx) {
		.hostname = VM_NAME,
		.uuid_key = {
			0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
			0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01,
		},
		.max_payload = MAX_PAYLOAD,
	};

	test_headers();
	test_version();
	test_get_configuration();
	test_create_session();
	test_create_session_2_15();
	test_nested_create_session();
	test_add_stream();
	test_trace_chunks();
	test_stream_commands();
	test_refused_commands();
	test_header_check();
	test_replies();
	test_reply_paths();
	test_owned();

	lh_buf_fini(&out);
	return exit_status();
}
