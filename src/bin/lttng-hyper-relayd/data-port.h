/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A VM's data ports (--vm-data, data-port.c): relayd data frames straight
 * from the guest's lttng-consumerd, checked against what vm-state.c knows
 * of the VM's streams and written to lttng-relayd.
 */
#ifndef LH_RELAYD_DATA_PORT_H
#define LH_RELAYD_DATA_PORT_H

#include <stdint.h>

#include <lttng-hyper/channel.h>

#include "common/loop.h"
#include "common/mem-account.h"
#include "relayd-target.h"

struct lh_vm;
struct lh_relay_vm_state;

/* One --vm-data port of a VM. */
struct lh_data_port_config {
	struct lttng_hyper_channel_uri uri;	/* unix, unix-listen or tcp-listen */
	const struct lh_relayd_target *relayd;	/* must outlive the port */
	uint64_t max_frame;			/* largest data_size + padding_size */
};

/*
 * What the port needs of its VM, handed in by vm.c, which makes and
 * drives the ports: the port calls nothing of vm.c's but through this.
 */
struct lh_data_port_vm {
	struct lh_vm *vm;
	/* What the relay holds for the VM: the port's pipe or buffer. */
	struct lh_mem_account *mem;
	/* The state frames are checked against; NULL while the VM's channel is down. */
	struct lh_relay_vm_state *(*state)(const struct lh_vm *vm);
};

struct lh_data_port;

/* log_ctx is the VM's; the port follows the VM's channel (vm->state). */
struct lh_data_port *lh_data_port_create(struct lh_loop *loop, const struct lh_data_port_vm *vm,
		const char *log_ctx, const struct lh_data_port_config *cfg);
/* Listen (failure is returned) or start connecting (failures are retried). */
int lh_data_port_start(struct lh_data_port *port);
/* Sessions of the VM may have ended: close their lttng-relayd data connections. */
void lh_data_port_sessions_changed(struct lh_data_port *port);
/* The VM's channel is down, and its sessions with it: close every data connection. */
void lh_data_port_vm_down(struct lh_data_port *port);
void lh_data_port_destroy(struct lh_data_port *port);

#endif /* LH_RELAYD_DATA_PORT_H */
