/* SPDX-License-Identifier: GPL-2.0-only */
/* A data packet cut short by a lost guest (trim.c). */
#ifndef LH_RELAYD_TRIM_H
#define LH_RELAYD_TRIM_H

#include <stdint.h>

#include "common/loop.h"

/*
 * The loop of the delayed checks and lttng-relayd's output directory
 * (absolute); set once by main.c. Without them (an lttng-relayd the
 * relay does not start), nothing is trimmed.
 */
int lh_relay_trim_init(struct lh_loop *loop, const char *output);
/* lttng-relayd has exited: do the pending checks now, then free. */
void lh_relay_trim_fini(void);

/* A data stream whose connection is gone, perhaps in the middle of a packet. */
struct lh_relay_trim_stream {
	const char *vm_name;
	const char *session_path;	/* CREATE_SESSION reply: relative to the output */
	const char *pathname;		/* ADD_STREAM: relative to the session */
	const char *channel_name;	/* ADD_STREAM: the file name */
	uint64_t first_packet_size;	/* its first packet's bytes, as announced */
};

/*
 * Once lttng-relayd has written all it received, cut the stream file back
 * to the end of its last complete packet (and its index to the entries of
 * the packets kept), so that babeltrace2 reads it. The file is left alone
 * when it ends on a packet boundary, or does not look like CTF packets.
 * Paths are resolved under the output directory only, refusing symbolic
 * links. The stream is copied. Returns 0 or -1 (logged).
 */
int lh_relay_trim_schedule(const struct lh_relay_trim_stream *stream);

#endif /* LH_RELAYD_TRIM_H */
