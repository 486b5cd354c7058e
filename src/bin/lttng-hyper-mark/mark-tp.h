/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoint provider of lttng-hyper-mark: each marker in the guest's own
 * trace, recorded just before its hypercall, with the registers the host
 * sees in kvm_x86_hypercall (a0..a3), so that the two can be matched.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER lttng_hyper

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "src/bin/lttng-hyper-mark/mark-tp.h"

#if !defined(LH_MARK_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define LH_MARK_TP_H

#include <stdint.h>

#include <lttng/tracepoint.h>

/*
 * text: the marker's text (a0..a2); seq: its number (a3); hypercall: 1 if
 * the hypercall follows, 0 with no KVM below.
 */
LTTNG_UST_TRACEPOINT_EVENT(lttng_hyper, mark,
	LTTNG_UST_TP_ARGS(const char *, text, uint32_t, text_len, uint64_t, seq,
		const unsigned long *, a, int, hypercall),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_sequence_text(char, text, text, uint32_t, text_len)
		lttng_ust_field_integer(uint64_t, seq, seq)
		lttng_ust_field_integer_hex(uint64_t, a0, a[0])
		lttng_ust_field_integer_hex(uint64_t, a1, a[1])
		lttng_ust_field_integer_hex(uint64_t, a2, a[2])
		lttng_ust_field_integer_hex(uint64_t, a3, a[3])
		lttng_ust_field_integer(int, hypercall, hypercall)
	)
)

#endif /* LH_MARK_TP_H */

#include <lttng/tracepoint-event.h>
