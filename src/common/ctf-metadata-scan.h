/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The scanner of a metadata stream in either syntax, TSDL or CTF 2, that
 * the rewriter and the file fixer share: fed the text bytes one at a
 * time, each with an opaque position, it reports every field of the
 * "monotonic" clock with the positions of its characters. Positions are
 * file offsets for the fixer, and (message, index) pairs for the
 * rewriter, so that a field may straddle packets and messages alike.
 */
#ifndef LH_COMMON_CTF_METADATA_SCAN_H
#define LH_COMMON_CTF_METADATA_SCAN_H

#include "common/ctf-metadata-json.h"
#include "common/ctf-metadata-tsdl.h"

struct md_scan {
	enum lh_ctf_md_form form;
	union {
		struct md_tsdl tsdl;
		struct md_json json;
	} u;
};

/*
 * The form of a stream from its first len bytes. With more to come, a
 * start shorter than the packet magic that could be its start is taken
 * as packetized: the packet's header decides in the end.
 */
enum lh_ctf_md_form md_form_detect(const uint8_t *p, size_t len, bool more);
/* A scanner of text in this form (TSDL for packets); none for UNKNOWN. */
void md_scan_init(struct md_scan *s, enum lh_ctf_md_form form,
		struct lh_ctf_md_report *report, md_field_cb cb, void *arg);
void md_scan_byte(struct md_scan *s, uint8_t c, uint64_t pos);
/* Where the first field still to be rewritten starts, if there is one. */
bool md_scan_open_field(const struct md_scan *s, uint64_t *pos);

#endif /* LH_COMMON_CTF_METADATA_SCAN_H */
