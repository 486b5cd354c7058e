/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoint provider of pingpong: one event as a message leaves, one as
 * it arrives, so that a merged trace can be checked for causality.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hyper_pingpong

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "tests/utils/pingpong-tp.h"

#if !defined(LH_PINGPONG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define LH_PINGPONG_TP_H

#include <stdint.h>

#include <lttng/tracepoint.h>

/* round counts from 0; side is the tracing process's: 0 host, 1 guest. */
LTTNG_UST_TRACEPOINT_EVENT_CLASS(hyper_pingpong, message,
	LTTNG_UST_TP_ARGS(uint64_t, round, uint32_t, side),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, round, round)
		lttng_ust_field_integer(uint32_t, side, side)
	)
)

LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hyper_pingpong, message, hyper_pingpong, send,
	LTTNG_UST_TP_ARGS(uint64_t, round, uint32_t, side)
)

LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(hyper_pingpong, message, hyper_pingpong, recv,
	LTTNG_UST_TP_ARGS(uint64_t, round, uint32_t, side)
)

#endif /* LH_PINGPONG_TP_H */

#include <lttng/tracepoint-event.h>
