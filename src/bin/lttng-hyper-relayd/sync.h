/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The final clock fix of a guest's trace (sync.c). It is handed all it
 * writes, the stream and its VM's correction, and calls no other file of
 * the relay.
 */
#ifndef LH_RELAYD_SYNC_H
#define LH_RELAYD_SYNC_H

#include <lttng-hyper/frame.h>

#include "common/clocksync.h"
#include "common/ctf-metadata.h"
#include "common/defaults.h"

/*
 * lttng-relayd's output directory (its -o, absolute), where the final
 * fix finds the files; set once by main.c. Without it (an lttng-relayd
 * the relay does not start), only the in-flight rewrite happens.
 */
int lh_relay_sync_set_output(const char *dir);
void lh_relay_sync_fini(void);

/* Every hop from the host down to a VM: the channel's own VM first. */
struct lh_relay_clock_chain {
	unsigned int nr;
	struct {
		char vm[LTTNG_HYPER_NAME_MAX_LEN + 1 + LTTNG_HYPER_PATH_MAX_LEN + 1];
		struct lh_clock_estimate est;	/* its clock in its parent's */
	} hop[LH_MAX_NESTED_DEPTH];
	struct lh_clock_estimate composed;	/* its clock in the host's */
};

/* A metadata stream that ended, and what its in-flight rewrite found. */
struct lh_relay_sync_stream {
	const char *vm_name;
	const char *session_path;	/* CREATE_SESSION reply: relative to the output */
	const char *pathname;		/* ADD_STREAM: relative to the session */
	const char *channel_name;	/* ADD_STREAM: the file name */
	const struct lh_ctf_md_report *guest;	/* the guest's own values */
};

/*
 * Apply the VM's latest correction corr, composed along chain (corr NULL:
 * none known, chain unused), in place to the stream's metadata file, and
 * write <session>/lttng-hyper-sync. Paths are resolved under the output
 * directory only, refusing symbolic links. Returns 0 or -1 (logged).
 */
int lh_relay_sync_finish(const struct lh_relay_sync_stream *stream,
		const struct lh_clock_correction *corr,
		const struct lh_relay_clock_chain *chain);

#endif /* LH_RELAYD_SYNC_H */
