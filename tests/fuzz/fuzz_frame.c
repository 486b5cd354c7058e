/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the frame codec (src/common/frame.c), fed a channel's
 * byte stream as the mux parses it: header, VM path, then the body
 * decoded by its type, frame after frame until one is refused or
 * incomplete.
 *
 * Invariants: the header decoder accepts exactly what the rules of
 * lttng-hyper/frame.h allow (written out again here); whatever is
 * accepted, header or body, encodes back to the very bytes it was
 * decoded from; a decoded HELLO name and VM path hold only name
 * characters.
 */
#include <lttng-hyper/frame.h>

#include "common/bytes.h"
#include "tests/fuzz/fuzz.h"

/* The header rules of lttng-hyper/frame.h, independently of frame.c. */
static bool header_is_valid(const uint8_t *b, uint32_t max_len)
{
	uint32_t length = lh_get_be32(b + 8);
	unsigned int path_len = lh_get_be16(b + 12);

	return b[0] == 0x4c && b[1] == 0x48 && b[2] >= 1 && b[2] <= 11 && b[3] == 0 &&
		b[14] == 0 && b[15] == 0 && path_len <= 255 && path_len <= length &&
		length <= max_len;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* The path rule, independently: names of 1..64 name characters, no leading '-'. */
static bool path_is_valid(const uint8_t *p, size_t len)
{
	size_t start = 0, i;

	if (len == 0 || len > LTTNG_HYPER_PATH_MAX_LEN) {
		return false;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != '/') {
			if (!is_name_char((char) p[i])) {
				return false;
			}
			continue;
		}
		if (i == start || i - start > LTTNG_HYPER_NAME_MAX_LEN || p[start] == '-') {
			return false;
		}
		start = i + 1;
	}
	return true;
}

/* Decode a body by its type; what decodes must encode to the same bytes. */
static void check_body(uint8_t type, const uint8_t *body, size_t len)
{
	uint8_t again[LTTNG_HYPER_HELLO_FIXED_LEN + LTTNG_HYPER_NAME_MAX_LEN];
	struct lttng_hyper_clock_estimate est;
	struct lttng_hyper_clock_reply reply;
	struct lttng_hyper_hello hello;
	enum lttng_hyper_conn_kind kind;
	uint64_t u64, seq, ns;
	uint32_t u32;
	size_t n = 0;
	int ret = -1;

	switch (type) {
	case LTTNG_HYPER_FRAME_HELLO:
		ret = lttng_hyper_hello_decode(body, len, &hello);
		if (!ret) {
			size_t i;

			FUZZ_CHECK(hello.name_len <= LTTNG_HYPER_NAME_MAX_LEN &&
				hello.name[hello.name_len] == '\0', "HELLO name of %u bytes",
				hello.name_len);
			for (i = 0; i < hello.name_len; i++) {
				FUZZ_CHECK(is_name_char(hello.name[i]), "HELLO name byte 0x%02x",
					(unsigned char) hello.name[i]);
			}
			n = lttng_hyper_hello_encode(&hello, again);
		}
		break;
	case LTTNG_HYPER_FRAME_OPEN:
		ret = lttng_hyper_open_decode(body, len, &kind);
		if (!ret) {
			FUZZ_CHECK(kind == LTTNG_HYPER_CONN_CONTROL ||
				kind == LTTNG_HYPER_CONN_DATA, "OPEN kind %d", (int) kind);
			n = lttng_hyper_open_encode(kind, again);
		}
		break;
	case LTTNG_HYPER_FRAME_RESET:
	case LTTNG_HYPER_FRAME_CREDIT:
		ret = lttng_hyper_u32_decode(body, len, &u32);
		if (!ret) {
			n = lttng_hyper_u32_encode(u32, again);
		}
		break;
	case LTTNG_HYPER_FRAME_PING:
	case LTTNG_HYPER_FRAME_PONG:
		ret = lttng_hyper_u64_decode(body, len, &u64);
		if (!ret) {
			n = lttng_hyper_u64_encode(u64, again);
		}
		break;
	case LTTNG_HYPER_FRAME_CLOCK_PROBE:
		ret = lttng_hyper_clock_probe_decode(body, len, &seq, &ns);
		if (!ret) {
			n = lttng_hyper_clock_probe_encode(seq, ns, again);
		}
		break;
	case LTTNG_HYPER_FRAME_CLOCK_REPLY:
		ret = lttng_hyper_clock_reply_decode(body, len, &reply);
		if (!ret) {
			n = lttng_hyper_clock_reply_encode(&reply, again);
		}
		break;
	case LTTNG_HYPER_FRAME_CLOCK_ESTIMATE:
		ret = lttng_hyper_clock_estimate_decode(body, len, &est);
		if (!ret) {
			FUZZ_CHECK(est.drift_fs <= LTTNG_HYPER_CLOCK_MAX_DRIFT_FS &&
				est.drift_fs >= -LTTNG_HYPER_CLOCK_MAX_DRIFT_FS &&
				est.first_child_ns <= est.last_child_ns && est.used <= est.samples,
				"CLOCK_ESTIMATE out of its bounds decoded");
			n = lttng_hyper_clock_estimate_encode(&est, again);
		}
		break;
	default:
		/* DATA and CLOSE bodies are not decoded here. */
		return;
	}
	/* Every error is one of the documented ones, and has a text. */
	FUZZ_CHECK(ret <= 0 && ret >= -LTTNG_HYPER_ERR_VERSION, "decoder returned %d", ret);
	FUZZ_CHECK(lttng_hyper_error_str(ret) != NULL, "no text for %d", ret);
	if (ret) {
		return;
	}
	FUZZ_CHECK(n == len && !memcmp(again, body, len),
		"%s body of %zu bytes re-encodes to %zu other bytes",
		lttng_hyper_frame_type_str(type), len, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks the receiver's limit, as a mux's max_frame would. */
	static const uint32_t limits[] = { LTTNG_HYPER_FRAME_MAX_LEN, 0, 64, 4096, UINT32_MAX };
	struct fuzz_in in = { data, size };
	uint32_t max_len = limits[fuzz_u8(&in) % (sizeof(limits) / sizeof(limits[0]))];

	while (in.len >= LTTNG_HYPER_FRAME_HEADER_LEN) {
		struct lttng_hyper_frame_header hdr;
		uint8_t again[LTTNG_HYPER_FRAME_HEADER_LEN];
		const uint8_t *p = in.p, *payload;
		size_t got;
		int ret;

		ret = lttng_hyper_frame_header_decode(p, max_len, &hdr);
		FUZZ_CHECK((ret == 0) == header_is_valid(p, max_len),
			"header decoder says %d", ret);
		if (ret) {
			FUZZ_CHECK(ret < 0 && ret >= -LTTNG_HYPER_ERR_VERSION, "error %d", ret);
			break;
		}
		FUZZ_CHECK(strcmp(lttng_hyper_frame_type_str(hdr.type), "unknown"),
			"accepted type %u has no name", hdr.type);
		lttng_hyper_frame_header_encode(&hdr, again);
		FUZZ_CHECK(!memcmp(again, p, sizeof(again)), "header does not re-encode");
		fuzz_bytes(&in, LTTNG_HYPER_FRAME_HEADER_LEN, &got);
		if (in.len < hdr.length) {
			break;
		}
		payload = fuzz_bytes(&in, hdr.length, &got);
		if (hdr.path_len) {
			ret = lttng_hyper_path_validate((const char *) payload, hdr.path_len);
			FUZZ_CHECK((ret == 0) == path_is_valid(payload, hdr.path_len),
				"path validator says %d", ret);
			if (ret) {
				break;
			}
		}
		check_body(hdr.type, payload + hdr.path_len, hdr.length - hdr.path_len);
	}
	return 0;
}
