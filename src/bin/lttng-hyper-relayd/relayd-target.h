/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where lttng-relayd listens: the VMs' connections (vm.c), their data
 * ports' (data-port.c) and the supervision of a started one (child.c)
 * all go there.
 */
#ifndef LH_RELAYD_RELAYD_TARGET_H
#define LH_RELAYD_RELAYD_TARGET_H

#include <stdint.h>

/* Where the relay connects the logical connections of every VM. */
struct lh_relayd_target {
	char control_host[256];
	uint16_t control_port;
	char data_host[256];
	uint16_t data_port;
};

#endif /* LH_RELAYD_RELAYD_TARGET_H */
