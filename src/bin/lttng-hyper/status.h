/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper status and top: what the host relay's control socket says
 * of its VMs, once (status.c) or live (top.c). lttng-hyper(1).
 */
#ifndef LH_LTTNG_HYPER_STATUS_H
#define LH_LTTNG_HYPER_STATUS_H

#include <popt.h>
#include <stdbool.h>

/* --socket (status and top) and --json (status), for POPT_ARG_INCLUDE_TABLE. */
extern struct poptOption lh_status_options[];
/* -d, -n and -b (top). */
extern struct poptOption lh_top_options[];

/* Which of them were given: each goes with its commands only. */
bool lh_status_socket_given(void);
bool lh_status_json_given(void);
bool lh_top_options_given(void);

/* The control socket to ask: --socket, else the relay's default. */
const char *lh_status_socket(void);

/* Both return 0, or -1 (logged). */
int lh_status_cmd(void);
int lh_top_cmd(void);

#endif /* LH_LTTNG_HYPER_STATUS_H */
