/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a VM's traces take on the host's disk, against --max-disk.
 *
 * The relay sees every byte a VM makes lttng-relayd write (data packets
 * with their padding, metadata), so it counts them as they go, on top of
 * what the VM's directory took when last measured. The directory is
 * measured when the relay starts (a restart keeps the VM's account) and
 * whenever the VM creates a session, so that traces the administrator
 * removed, or that lttng-relayd's --tracefile-count rings replaced, are
 * given back then. A VM whose sessions were ended at the quota is full
 * until its directory is down to DISK_REOPEN_PERCENT of it: just below
 * the quota, every new session would end at its first packet.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "disk.h"

/* Deeper than lttng-relayd's layout (host/session/chunk/domain/...), with room. */
#define DISK_SCAN_MAX_DEPTH	32
#define DISK_REOPEN_PERCENT	90

/* The bytes of the files below dirfd, which it closes; symbolic links are not followed. */
static uint64_t dir_bytes(int dirfd, unsigned int depth)
{
	uint64_t total = 0;
	struct dirent *de;
	DIR *dir;

	dir = fdopendir(dirfd);
	if (!dir) {
		close(dirfd);
		return 0;
	}
	while ((de = readdir(dir))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
			continue;
		}
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			/* Allocated blocks: a sparse file takes less than its size. */
			total += (uint64_t) st.st_blocks * 512;
		} else if (S_ISDIR(st.st_mode) && depth < DISK_SCAN_MAX_DEPTH) {
			int fd = openat(dirfd, de->d_name,
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0) {
				total += dir_bytes(fd, depth + 1);
			}
		}
	}
	closedir(dir);
	return total;
}

void lh_disk_quota_init(struct lh_disk_quota *q, const char *output, const char *vm_name,
		uint64_t limit)
{
	memset(q, 0, sizeof(*q));
	q->limit = limit;
	q->vm_name = vm_name;
	if (output) {
		q->have_dir = snprintf(q->dir, sizeof(q->dir), "%s/%s", output, vm_name) <
			(int) sizeof(q->dir);
	}
	lh_disk_quota_rescan(q);
}

void lh_disk_quota_rescan(struct lh_disk_quota *q)
{
	int fd;

	if (!q->limit || !q->have_dir) {
		return;
	}
	fd = open(q->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT) {
			lh_log_errno(NULL, "measuring %s", q->dir);
		}
		q->scanned = 0;
	} else {
		q->scanned = dir_bytes(fd, 0);
	}
	q->since = 0;
}

uint64_t lh_disk_quota_used(const struct lh_disk_quota *q)
{
	return q->scanned + q->since;
}

int lh_disk_quota_charge(struct lh_disk_quota *q, uint64_t bytes, char *err, size_t errlen)
{
	uint64_t used = lh_disk_quota_used(q);

	if (q->limit && (bytes > q->limit || used > q->limit - bytes)) {
		snprintf(err, errlen, "over --max-disk %" PRIu64 ": its traces take %" PRIu64
			" bytes and %" PRIu64 " more came: its sessions end here, what was written stays whole",
			q->limit, used, bytes);
		q->full = true;
		return -1;
	}
	q->since += bytes;
	return 0;
}

int lh_disk_quota_check_session(struct lh_disk_quota *q, char *err, size_t errlen)
{
	uint64_t room;

	if (!q->limit) {
		return 0;
	}
	lh_disk_quota_rescan(q);
	room = q->full ? q->limit / 100 * DISK_REOPEN_PERCENT : q->limit;
	if (lh_disk_quota_used(q) >= room) {
		snprintf(err, errlen, "over --max-disk %" PRIu64 ": its traces take %" PRIu64
			" bytes: no new session until it is down to %" PRIu64
			" (remove traces from %s)", q->limit, lh_disk_quota_used(q), room,
			q->have_dir ? q->dir : "the output, then restart the relay");
		return -1;
	}
	q->full = false;
	return 0;
}
