/* SPDX-License-Identifier: GPL-2.0-only */
/* Instantiates the hyper_test probes, linked statically into gen-events. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "gen-events-tp.h"
