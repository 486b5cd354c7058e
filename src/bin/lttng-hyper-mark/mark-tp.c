/* SPDX-License-Identifier: GPL-2.0-only */
/* Instantiates the lttng_hyper probes, linked statically into lttng-hyper-mark. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "mark-tp.h"
