/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading a sync file, lttng-hyper-sync (doc/clock-sync.md, "The sync
 * file"). lttng-hyper-relayd writes it next to a guest's trace, but a
 * reader cannot tell it from a file a guest got lttng-relayd to write
 * there, so any bytes must read safely.
 */
#ifndef LH_LTTNG_HYPER_SYNC_FILE_H
#define LH_LTTNG_HYPER_SYNC_FILE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A sync file's values. */
struct lh_sync_info {
	bool found;
	char path[PATH_MAX];
	char status[32];
	bool has_offset, has_freq, has_guest_offset, has_guest_freq, has_error;
	uint64_t offset, freq, guest_offset, guest_freq, error_ns;
};

/*
 * Read the sync file at path into si (found, path, and what it holds).
 * Returns 0, or -1 if it cannot be opened (found stays false) or read.
 */
int lh_sync_file_read(const char *path, struct lh_sync_info *si);
/*
 * Read the keys of the sync file open as f into si (path names it in
 * warnings); the caller sets found and path. Returns 0, or -1 on a read
 * error.
 */
int lh_sync_file_parse(FILE *f, const char *path, struct lh_sync_info *si);

/*
 * How far the correction moved the guest's events, in ns: offset / freq
 * minus guest_offset / guest_freq, exactly (a frequency missing or 0
 * counts as 1 GHz). The relay changes freq when the guest's clock drifts,
 * and then offset is in other cycles than guest_offset. Needs has_offset
 * and has_guest_offset.
 */
int64_t lh_sync_shift_ns(const struct lh_sync_info *si);

#endif /* LH_LTTNG_HYPER_SYNC_FILE_H */
