/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoint provider of gen-events: one event per sequence number, so a
 * trace can be checked for lost, duplicated or reordered events.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hyper_test

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "tests/utils/gen-events-tp.h"

#if !defined(LH_GEN_EVENTS_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define LH_GEN_EVENTS_TP_H

#include <stdint.h>

#include <lttng/tracepoint.h>

/*
 * seq counts from 0; pid tells the emitters apart when several run in one
 * session; payload pads the event to a chosen size for throughput runs.
 */
LTTNG_UST_TRACEPOINT_EVENT(hyper_test, seq,
	LTTNG_UST_TP_ARGS(uint64_t, seq, uint32_t, pid,
		const char *, payload, uint32_t, payload_len),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, seq, seq)
		lttng_ust_field_integer(uint32_t, pid, pid)
		lttng_ust_field_sequence_text(char, payload, payload,
			uint32_t, payload_len)
	)
)

#endif /* LH_GEN_EVENTS_TP_H */

#include <lttng/tracepoint-event.h>
