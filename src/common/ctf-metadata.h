/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rewriting the clock of an LTTng metadata stream: CTF 1.8 (TSDL text,
 * packetized or not) or CTF 2 (a JSON text sequence).
 *
 * LTTng places a trace on the wall-clock axis through its metadata's
 * "monotonic" clock: in TSDL, clock { name = "monotonic"; freq = F;
 * offset = N; }, N in cycles; in CTF 2, the clock-class fragment's
 * "frequency": F and "offset-from-origin": { "seconds": S, "cycles": C },
 * N = S * F + C. The guest measured N against its own, possibly wrong,
 * wall clock. The host relay rewrites F and N in two steps:
 *
 * - in flight, with a streaming rewriter per metadata stream, fed the
 *   payload of each SEND_METADATA message in order. It tells the form of
 *   the stream from its first bytes:
 *   - packetized TSDL (magic 0x75D11D57, sizes in bits, in the trace's
 *     byte order), as lttng-consumerd sent it before lttng 2.14: a value
 *     is rewritten in place when it fits, or grows into its packet's
 *     padding, updating content_size;
 *   - plain text, TSDL or CTF 2 (first byte 0x1E), as lttng 2.14 and
 *     later send it: a value grows as it needs, and its message with it.
 *   A value may straddle two packets or two messages. Rewritten fields
 *   are made at least min_width characters wide, so that the final fix
 *   fits;
 * - at session end, in place in the file lttng-relayd wrote, at the same
 *   length.
 *
 * A field is a value's digits and the spaces that follow them (room is
 * made with spaces, never with leading zeros, which read as octal in TSDL
 * and are invalid JSON), but for the last space before a token that would
 * extend the number (a digit, a letter, '_' or '.'; in JSON '+' and '-'
 * too): that one keeps them apart, so that a rewritten value never merges
 * with the next token and fixing twice equals fixing once. Only decimal values are rewritten; the
 * clock's name must come before its offset (and in TSDL before its freq),
 * as LTTng writes it. The CTF 2 details are in ctf-metadata-json.h.
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

/*
 * What a plain stream's fields may grow by, beyond a quarter of the bytes
 * before them: a clock's fields come after a few hundred bytes of
 * metadata, and grow by a few dozen. It bounds how much more than a
 * guest sent the relay has lttng-relayd write.
 */
#define LH_CTF_MD_GROW_SLACK		64

/* What to write in the "monotonic" clock. */
struct lh_ctf_md_values {
	bool set_offset;
	uint64_t offset;	/* in cycles: CTF 2 seconds and cycles derive from it */
	bool set_freq;
	uint64_t freq;		/* without it, CTF 2 seconds and cycles use the one found */
	/* Widen every field to this many characters when it can grow (0: never grow). */
	unsigned int min_width;
};

enum lh_ctf_md_form {
	LH_CTF_MD_FORM_UNKNOWN,		/* nothing seen yet */
	LH_CTF_MD_FORM_PACKETIZED,	/* TSDL in metadata packets (lttng before 2.14) */
	LH_CTF_MD_FORM_TSDL,		/* plain TSDL text */
	LH_CTF_MD_FORM_CTF2,		/* a JSON text sequence */
};

/* What was found, and done. */
struct lh_ctf_md_report {
	enum lh_ctf_md_form form;
	bool clock_found;	/* a clock named "monotonic" */
	bool has_offset;
	/* Its first offset, as found (before rewriting); CTF 2: none if negative. */
	uint64_t offset;
	bool has_freq;
	uint64_t freq;
	/* Values rewritten: freq, offset (in CTF 2, both its seconds and cycles). */
	unsigned int rewritten;
	/* Fields left as they were: no room, not decimal, or interrupted. */
	unsigned int left;
	/* A packetized stream broke (a malformed packet): the rest passes untouched. */
	bool bad_packet;
};

/* "packetized", "tsdl", "ctf2" or "unknown". */
const char *lh_ctf_md_form_name(enum lh_ctf_md_form form);

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
 * to rewrite straddles the end of the message (or, in CTF 2, a frequency
 * waits for its clock's name): then what comes before the field (or
 * before its packet's header, so that the field can still grow) is
 * emitted as a message of its own, and the rest, at most
 * LH_CTF_MD_HOLD_MAX bytes, is held until the field ends; a field that
 * would need more is left as it was. The messages of a plain stream
 * held together go out as one (lttng-relayd appends them alike). In a
 * plain stream, fields grow by at most a quarter of the bytes before
 * them, plus LH_CTF_MD_GROW_SLACK. Returns 0, or -1 (out of memory, or
 * emit failed).
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
/* The metadata starts over (RESET_METADATA), its form told anew; call after a flush. */
void lh_ctf_md_rewriter_reset(struct lh_ctf_md_rewriter *rw);
const struct lh_ctf_md_report *lh_ctf_md_rewriter_report(const struct lh_ctf_md_rewriter *rw);

/*
 * Find the "monotonic" clock's fields in a metadata file (packetized, or
 * plain TSDL or CTF 2 text) open read-write at fd, rewrite them in place
 * at the same length when values is not NULL, and fsync. Returns 0 and
 * fills report, or -1 with errno set (I/O error, or EINVAL for a
 * malformed packet, EFBIG beyond 64 MiB).
 */
int lh_ctf_md_fix_fd(int fd, const struct lh_ctf_md_values *values,
		struct lh_ctf_md_report *report);

#endif /* LH_COMMON_CTF_METADATA_H */
