/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Finding the traces under a directory that lttng-hyper-relayd wrote, and
 * their layers (lttng-hyper(1), DESCRIPTION).
 *
 * A trace is a directory holding a "metadata" file. Its layer is its
 * path under the top directory without its last LTTng levels (the session
 * directory and what lttng-relayd writes below it: ust/..., kernel). Its
 * sync file is the nearest lttng-hyper-sync above it, up to the top.
 */
#ifndef LH_LTTNG_HYPER_TRACES_H
#define LH_LTTNG_HYPER_TRACES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ctf-metadata.h"
#include "common/defaults.h"
#include "sync-file.h"

#define LH_METADATA_NAME	"metadata"
#define LH_MAX_TRACES		4096

struct lh_trace {
	char dir[PATH_MAX];	/* the directory holding "metadata" */
	char layer[PATH_MAX];
	struct lh_sync_info sync;
	/* Its metadata's form: CTF 1.8 (packetized or plain TSDL) or CTF 2. */
	enum lh_ctf_md_form form;
	/* What "show" counted. */
	uint64_t events;
	bool has_range;
	int64_t first_ns, last_ns;
};

/*
 * Every trace under top (an absolute path; symbolic links are not
 * followed), sorted by layer, then by directory: *traces (free() it) and
 * *nr. Returns 0, or -1 (logged).
 */
int lh_traces_find(const char *top, struct lh_trace **traces, size_t *nr);

/* The CTF version of a form, as show prints it: "1.8", "2", or "?". */
const char *lh_trace_ctf_version(enum lh_ctf_md_form form);

/*
 * Why the libbabeltrace2 we run with cannot read trace t, in buf (then
 * returned), or NULL when it can try: CTF 2 needs 2.1 or later, and 2.0
 * would only say that it cannot parse the metadata.
 */
const char *lh_trace_unreadable(const struct lh_trace *t, char *buf, size_t len);

#endif /* LH_LTTNG_HYPER_TRACES_H */
