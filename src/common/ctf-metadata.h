/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rewriting the clock of a CTF 1.8 metadata stream (LTTng's TSDL text).
 *
 * LTTng places a trace on the wall-clock axis through its metadata's
 * clock { name = "monotonic"; freq = F; offset = N; } block, and the
 * guest measured N against its own, possibly wrong, wall clock. The host
 * relay rewrites F and N in two steps:
 *
 * - in flight, with a streaming rewriter per metadata stream, fed the
 *   payload of each SEND_METADATA message in order. The stream is
 *   packetized (magic 0x75D11D57, sizes in bits, in the trace's byte
 *   order), and a value may straddle two packets or two messages. A value
 *   is rewritten in place when it fits (padded with spaces after its
 *   digits, never with leading zeros, which read as octal), or grows into
 *   its packet's padding, updating content_size. Rewritten fields are made
 *   at least min_width characters wide, so that the final fix fits;
 * - at session end, in place in the file lttng-relayd wrote, at the same
 *   length.
 *
 * A field is a value's digits and the spaces that follow them, but for
 * the last space before a token that would extend the number (a digit, a
 * letter, '_' or '.'): that one keeps them apart, so that a rewritten
 * value never merges with the next token and fixing twice equals fixing
 * once. Only decimal values are rewritten; the clock's name must come
 * before its freq and offset, as LTTng writes it.
 */
#ifndef LH_COMMON_CTF_METADATA_H
#define LH_COMMON_CTF_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for any u64 in decimal: the width reserved in flight. */
#define LH_CTF_MD_RESERVE_WIDTH		20

/*
 * Most bytes a rewriter holds back between two messages, while a value
 * straddles them: a value is a few dozen characters, so only a small
 * tail of a message need wait. It bounds what a guest that never ends a
 * value can make the relay hold, per metadata stream.
 */
#define LH_CTF_MD_HOLD_MAX		(4U << 10)

/* What to write in the "monotonic" clock block. */
struct lh_ctf_md_values {
	bool set_offset;
	uint64_t offset;
	bool set_freq;
	uint64_t freq;
	/* Widen every field to this many characters when it can grow (0: never grow). */
	unsigned int min_width;
};

/* What was found, and done. */
struct lh_ctf_md_report {
	bool clock_found;	/* a clock named "monotonic" */
	bool has_offset;
	uint64_t offset;	/* its first offset, as found (before rewriting) */
	bool has_freq;
	uint64_t freq;
	unsigned int rewritten;	/* fields rewritten */
	/* Fields left as they were: no room, not decimal, or interrupted. */
	unsigned int left;
	/* Not a packetized CTF metadata stream: the rest passes untouched. */
	bool bad_packet;
};

/*
 * Output of the streaming rewriter: one metadata message (data, then
 * padding zero bytes that lttng-relayd writes itself). Returns 0 or -1
 * (which feed and flush return).
 */
typedef int (*lh_ctf_md_emit_cb)(void *arg, const uint8_t *data, size_t len,
		uint32_t padding);

struct lh_ctf_md_rewriter;

struct lh_ctf_md_rewriter *lh_ctf_md_rewriter_create(void);
void lh_ctf_md_rewriter_destroy(struct lh_ctf_md_rewriter *rw);
/* The most a rewriter holds between two calls: itself and its held bytes. */
size_t lh_ctf_md_rewriter_footprint(void);
/* Values for the fields to come; NULL: find and report only. */
void lh_ctf_md_rewriter_set_values(struct lh_ctf_md_rewriter *rw,
		const struct lh_ctf_md_values *values);
/*
 * Feed one message (len data bytes, then padding zero bytes). The
 * rewritten messages are emitted in order, at once, except while a field
 * to rewrite straddles the end of the message: then what comes before
 * the field (or before its packet's header, so that the field can still
 * grow) is emitted as a message of its own, and the rest, at most
 * LH_CTF_MD_HOLD_MAX bytes, is held until the field ends; a field that
 * would need more is left as it was. Returns 0, or -1 (out of memory,
 * or emit failed).
 */
int lh_ctf_md_rewriter_feed(struct lh_ctf_md_rewriter *rw, const uint8_t *data,
		size_t len, uint32_t padding, lh_ctf_md_emit_cb emit, void *arg);
/*
 * Emit the held messages now (before another command, or at the end):
 * a field they hold the start of is left as it was.
 */
int lh_ctf_md_rewriter_flush(struct lh_ctf_md_rewriter *rw, lh_ctf_md_emit_cb emit,
		void *arg);
/* Whether messages are held. */
bool lh_ctf_md_rewriter_holding(const struct lh_ctf_md_rewriter *rw);
/* The metadata starts over (RESET_METADATA); call after a flush. */
void lh_ctf_md_rewriter_reset(struct lh_ctf_md_rewriter *rw);
const struct lh_ctf_md_report *lh_ctf_md_rewriter_report(const struct lh_ctf_md_rewriter *rw);

/*
 * Find the "monotonic" clock's fields in a metadata file (packetized, or
 * plain TSDL text) open read-write at fd, rewrite them in place at the
 * same length when values is not NULL, and fsync. Returns 0 and fills
 * report, or -1 with errno set (I/O error, or EINVAL for a malformed
 * packet, EFBIG beyond 64 MiB).
 */
int lh_ctf_md_fix_fd(int fd, const struct lh_ctf_md_values *values,
		struct lh_ctf_md_report *report);

#endif /* LH_COMMON_CTF_METADATA_H */
