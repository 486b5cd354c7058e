/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the rewriter and the file fixer share (ctf-metadata-scan.h,
 * ctf-metadata-field.h): the form of a stream, the scanner of its
 * syntax, and the new text of a field.
 */
#include <inttypes.h>
#include <stdio.h>

#include "common/ctf-metadata-packet.h"
#include "common/ctf-metadata-scan.h"

const char *lh_ctf_md_form_name(enum lh_ctf_md_form form)
{
	switch (form) {
	case LH_CTF_MD_FORM_PACKETIZED:
		return "packetized";
	case LH_CTF_MD_FORM_TSDL:
		return "tsdl";
	case LH_CTF_MD_FORM_CTF2:
		return "ctf2";
	case LH_CTF_MD_FORM_UNKNOWN:
		break;
	}
	return "unknown";
}

enum lh_ctf_md_form md_form_detect(const uint8_t *p, size_t len, bool more)
{
	bool big_endian;

	if (!len) {
		return LH_CTF_MD_FORM_UNKNOWN;
	}
	if (p[0] == MD_JSON_RS) {
		return LH_CTF_MD_FORM_CTF2;
	}
	if ((len >= 4 || more) && md_packet_magic(p, len, &big_endian)) {
		return LH_CTF_MD_FORM_PACKETIZED;
	}
	return LH_CTF_MD_FORM_TSDL;
}

void md_scan_init(struct md_scan *s, enum lh_ctf_md_form form,
		struct lh_ctf_md_report *report, md_field_cb cb, void *arg)
{
	s->form = form;
	if (form == LH_CTF_MD_FORM_CTF2) {
		md_json_init(&s->u.json, report, cb, arg);
	} else if (form != LH_CTF_MD_FORM_UNKNOWN) {
		md_tsdl_init(&s->u.tsdl, report, cb, arg);
	}
}

void md_scan_byte(struct md_scan *s, uint8_t c, uint64_t pos)
{
	if (s->form == LH_CTF_MD_FORM_CTF2) {
		md_json_byte(&s->u.json, c, pos);
	} else if (s->form != LH_CTF_MD_FORM_UNKNOWN) {
		md_tsdl_byte(&s->u.tsdl, c, pos);
	}
}

bool md_scan_open_field(const struct md_scan *s, uint64_t *pos)
{
	if (s->form == LH_CTF_MD_FORM_CTF2) {
		return md_json_open_field(&s->u.json, pos);
	}
	return s->form != LH_CTF_MD_FORM_UNKNOWN && md_tsdl_open_field(&s->u.tsdl, pos);
}

size_t md_field_text(const struct lh_ctf_md_values *v, const struct md_field *f, char *text,
		bool *changes)
{
	uint64_t value = f->value, freq;

	*changes = false;
	switch (f->key) {
	case MD_FIELD_FREQ:
		*changes = v->set_freq;
		value = v->set_freq ? v->freq : value;
		break;
	case MD_FIELD_OFFSET:
		*changes = v->set_offset;
		value = v->set_offset ? v->offset : value;
		break;
	case MD_FIELD_SECONDS:
	case MD_FIELD_CYCLES:
		if (!v->set_offset) {
			break;
		}
		freq = v->set_freq ? v->freq : f->freq;
		if (!freq) {
			return 0;
		}
		*changes = true;
		value = f->key == MD_FIELD_SECONDS ? v->offset / freq : v->offset % freq;
		break;
	}
	return (size_t) snprintf(text, MD_FIELD_MAX + 1, "%" PRIu64, value);
}
