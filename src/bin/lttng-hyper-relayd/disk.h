/* SPDX-License-Identifier: GPL-2.0-only */
/* What a VM's traces take on disk, against --max-disk (disk.c). */
#ifndef LH_RELAYD_DISK_H
#define LH_RELAYD_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lh_disk_quota {
	uint64_t limit;			/* --max-disk; 0: none */
	uint64_t scanned;		/* the VM's directory at the last measure */
	uint64_t since;			/* bytes sent to lttng-relayd since */
	bool full;			/* its sessions were ended at the limit */
	const char *vm_name;
	bool have_dir;			/* the relay knows lttng-relayd's output */
	char dir[4096];			/* OUTPUT/NAME */
};

/* output: lttng-relayd's (absolute), or NULL with --relayd-url: then only bytes sent count. */
void lh_disk_quota_init(struct lh_disk_quota *q, const char *output, const char *vm_name,
		uint64_t limit);
/* Measure the VM's directory again. */
void lh_disk_quota_rescan(struct lh_disk_quota *q);
uint64_t lh_disk_quota_used(const struct lh_disk_quota *q);
/* bytes more go to lttng-relayd: 0, or -1 with err past the limit (nothing counted). */
int lh_disk_quota_charge(struct lh_disk_quota *q, uint64_t bytes, char *err, size_t errlen);
/*
 * The VM creates a session: measure again; -1 with err while at the limit,
 * or, once its sessions were ended there, until the VM has room again.
 */
int lh_disk_quota_check_session(struct lh_disk_quota *q, char *err, size_t errlen);

#endif /* LH_RELAYD_DISK_H */
