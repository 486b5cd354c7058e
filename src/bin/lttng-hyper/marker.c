/* SPDX-License-Identifier: GPL-2.0-only */
/* Hypercall markers in traces (marker.h). */
#include <stdio.h>
#include <string.h>

#include <lttng-hyper/hypercall.h>

#include "marker.h"
#include "trace-read.h"

#define GUEST_EVENT	"lttng_hyper:mark"
#define HOST_EVENT	"kvm_x86_hypercall"

static bool get_regs(const bt_field *payload, uint64_t a[4])
{
	return !lh_field_u64(payload, "a0", &a[0]) && !lh_field_u64(payload, "a1", &a[1]) &&
		!lh_field_u64(payload, "a2", &a[2]) && !lh_field_u64(payload, "a3", &a[3]);
}

static bool is_named(const bt_event *event, const char *name)
{
	const char *n = bt_event_class_get_name(bt_event_borrow_class_const(event));

	return n && !strcmp(n, name);
}

bool lh_marker_guest(const bt_event *event, uint64_t a[4])
{
	const bt_field *payload;
	uint64_t hc;

	if (!is_named(event, GUEST_EVENT)) {
		return false;
	}
	payload = bt_event_borrow_payload_field_const(event);
	/* Made with no KVM below, it has no twin. */
	return !lh_field_u64(payload, "hypercall", &hc) && hc && get_regs(payload, a);
}

bool lh_marker_host(const bt_event *event, uint64_t a[4], const char **procname)
{
	const bt_field *payload;
	uint64_t nr;

	if (!is_named(event, HOST_EVENT)) {
		return false;
	}
	payload = bt_event_borrow_payload_field_const(event);
	if (lh_field_u64(payload, "nr", &nr) || nr != LTTNG_HYPER_HC_MARK || !get_regs(payload, a)) {
		return false;
	}
	*procname = lh_field_string(bt_event_borrow_common_context_field_const(event), "procname");
	return true;
}

void lh_marker_layer(const struct lh_trace *t, const char *procname, char *buf, size_t len)
{
	if (t->sync.found) {
		snprintf(buf, len, "%s/%.15s", t->layer, procname);
	} else {
		snprintf(buf, len, "%.15s", procname);
	}
}

void lh_marker_text(const uint64_t a[4], char text[LH_MARKER_TEXT_LEN])
{
	size_t i;

	for (i = 0; i < LH_MARKER_TEXT_LEN - 1; i++) {
		unsigned char c = (unsigned char) (a[i / 8] >> (8 * (i % 8)));

		if (!c) {
			break;
		}
		text[i] = c >= 0x20 && c < 0x7f ? (char) c : '?';
	}
	text[i] = '\0';
}
