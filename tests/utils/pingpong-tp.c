/* SPDX-License-Identifier: GPL-2.0-only */
/* Instantiates the hyper_pingpong probes, linked statically into pingpong. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "pingpong-tp.h"
