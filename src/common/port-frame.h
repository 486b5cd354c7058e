/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The frames of a data port, as the host relay judges them.
 *
 * A data port (doc/output-hyper.md) carries the relayd data frames a
 * guest's lttng-consumerd would write to lttng-relayd's data socket: a
 * 32-byte header (relayd-msg.h), then data_size bytes. The relay checks
 * each header before one byte of the frame goes on: the header itself,
 * then the stream it names against what the guest's control connections
 * did with that stream. Nothing here does I/O.
 *
 * A stream's frames and its CLOSE_STREAM take two paths (the port, and
 * the control connection through lttng-hyperd), so CLOSE_STREAM may come
 * first: a closed stream still takes the frames up to the last one
 * CLOSE_STREAM announced (its last_net_seq_num), once.
 */
#ifndef LH_COMMON_PORT_FRAME_H
#define LH_COMMON_PORT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/relayd-msg.h"

/* CLOSE_STREAM's last_net_seq_num when the stream sent nothing. */
#define LH_PORT_NO_SEQ		UINT64_MAX

/*
 * circuit_id 0, and data_size + padding_size (the packet lttng-relayd
 * writes) at most max_frame. Returns 0, or -1 with the reason in err.
 */
int lh_port_frame_hdr_check(const struct lh_relayd_data_hdr *hdr, uint64_t max_frame,
		char *err, size_t errlen);

/* What the relay knows of a data stream the VM added, for its frames on a port. */
struct lh_port_stream {
	/* Closed: CLOSE_STREAM was sent, or its control connection is gone. */
	bool closed;
	/* CLOSE_STREAM's last_net_seq_num; LH_PORT_NO_SEQ without one. */
	uint64_t last_seq;
	/* A frame of it went to lttng-relayd through a port: the last one's number. */
	bool seen;
	uint64_t seq;
	/* Its session's data connection was cut in the middle of a frame. */
	bool cut;
};

/*
 * Whether frame seq of stream stream_id may pass. Returns 0, or -1 with
 * the reason in err.
 */
int lh_port_stream_check(const struct lh_port_stream *s, uint64_t stream_id, uint64_t seq,
		char *err, size_t errlen);
/*
 * Whether the stream, closed, still waits for frames it already began
 * sending through a port: its session's data connection must stay open.
 */
bool lh_port_stream_awaited(const struct lh_port_stream *s);

#endif /* LH_COMMON_PORT_FRAME_H */
