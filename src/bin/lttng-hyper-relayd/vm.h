/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One VM (vm.c): its hyper channel and its mux, the connections it opens
 * to lttng-relayd, its data ports, what the relay holds for it and what
 * its traces take on disk, its clock; and the state of each VM path of
 * the channel (vm-state.h), whose connections it hands to the filter.
 */
#ifndef LH_RELAYD_VM_H
#define LH_RELAYD_VM_H

#include <stdbool.h>
#include <stdint.h>

#include <lttng-hyper/channel.h>
#include <lttng-hyper/frame.h>

#include "common/clocksync.h"
#include "common/loop.h"
#include "common/mem-account.h"
#include "common/vm-channel.h"
#include "data-port.h"
#include "relayd-target.h"
#include "vm-state.h"

/* One hyper channel and the VM it stands for. */
struct lh_vm_config {
	const char *name;		/* validated VM name, copied */
	struct lttng_hyper_channel_uri uri;	/* unix, unix-listen or tcp-listen */
	const struct lh_relayd_target *relayd;	/* must outlive the VM */
	uint64_t relayd_timeout_ms;
	unsigned int max_conns;
	struct lh_relay_limits limits;
	uint64_t max_memory;		/* what the relay may hold for the VM; 0: no limit */
	uint64_t max_disk;		/* what its traces may take on disk; 0: no limit */
	const char *output;		/* lttng-relayd's, absolute; NULL: not ours */
};

struct lh_vm;

struct lh_vm *lh_vm_create(struct lh_loop *loop, const struct lh_vm_config *cfg);
/* Give the VM a data port (before lh_vm_start). Returns 0 or -1. */
int lh_vm_add_data_port(struct lh_vm *vm, const struct lh_data_port_config *cfg);
/* Listen (failure is returned) or start connecting (failures are retried), ports too. */
int lh_vm_start(struct lh_vm *vm);
/* lttng-relayd went away: drop the channel if this VM used it (its ids are void). */
void lh_vm_relayd_lost(struct lh_vm *vm);
void lh_vm_destroy(struct lh_vm *vm);

/* One VM, the channel's own or one nested below it, for lttng-hyper status. */
struct lh_vm_report {
	char name[LTTNG_HYPER_NAME_MAX_LEN + 1 + LTTNG_HYPER_PATH_MAX_LEN + 1];
	char parent[LTTNG_HYPER_NAME_MAX_LEN + 1 + LTTNG_HYPER_PATH_MAX_LEN + 1];	/* "" */
	unsigned int depth;		/* 0: the channel's own VM */
	struct lh_vm_channel_status channel;	/* the channel's own VM only */
	bool banned;			/* nested only */
	unsigned int sessions, streams;
	struct lh_relay_vm_stats stats;
	struct lh_mem_account mem;	/* the channel's own VM only: nested VMs' included */
	uint64_t disk_used, disk_limit;	/* likewise */
	bool have_clock;
	struct lh_clock_estimate clock;	/* its clock in the host's, composed */
};
const char *lh_vm_name(const struct lh_vm *vm);
/* Call cb for the channel's VM, then for each VM below it, in tree order. */
void lh_vm_report(const struct lh_vm *vm, void (*cb)(const struct lh_vm_report *r, void *arg),
		void *arg);

#endif /* LH_RELAYD_VM_H */
