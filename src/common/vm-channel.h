/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host end of one VM's hyper channel: what the host relay runs for
 * each of its VMs, and what lttng-hyperd runs for each VM it serves
 * itself (nesting).
 *
 * The configuration names the VM; nothing the guest sends does. A
 * listening channel takes one peer at a time, and a new connection
 * replaces the current one, since a rebooted guest reconnects before the
 * old connection is known to be dead. A connecting channel (QEMU's
 * server=on chardev socket) is reconnected with back-off (endpoint.h). Every channel
 * connection gets a fresh mux, so nothing a guest did on one survives it,
 * and a fault only ever closes this VM's channel. The guest's clock is
 * measured on each connection (clock-probe.h).
 */
#ifndef LH_COMMON_VM_CHANNEL_H
#define LH_COMMON_VM_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include <lttng-hyper/channel.h>
#include <lttng-hyper/frame.h>

#include "common/clock-probe.h"
#include "common/loop.h"
#include "common/mux.h"

struct lh_vm_channel;

/* A --vm NAME=CHANNEL option, as the host relay and lttng-hyperd take it. */
struct lh_vm_spec {
	char name[LTTNG_HYPER_NAME_MAX_LEN + 1];
	struct lttng_hyper_channel_uri uri;	/* a unix path made absolute */
	char channel[512];	/* canonical form, to refuse duplicates */
};

/*
 * Parse NAME=CHANNEL: a valid VM name, and a channel the host end takes
 * (unix:PATH, unix-listen:PATH, tcp-listen://ADDR:PORT). Returns 0, or -1
 * with the reason in err.
 */
int lh_vm_spec_parse(const char *arg, struct lh_vm_spec *spec, char *err, size_t errlen);
/* Two VMs with one name or one channel: true, and the reason in err. */
bool lh_vm_spec_conflict(const struct lh_vm_spec *a, const struct lh_vm_spec *b,
		char *err, size_t errlen);
/* Two channels on one socket, whatever their VMs: true, and the reason in err. */
bool lh_vm_spec_same_socket(const struct lh_vm_spec *a, const struct lh_vm_spec *b,
		char *err, size_t errlen);

struct lh_vm_channel_config {
	const char *name;		/* validated VM name, copied */
	struct lttng_hyper_channel_uri uri;	/* unix, unix-listen or tcp-listen */
	uint64_t stall_timeout_ms;	/* the mux's, for its connections */
	unsigned int max_conns;
	/* What each channel connection's mux holds for the VM; NULL: not counted. */
	struct lh_mem_account *mem;
};

struct lh_vm_channel_ops {
	/*
	 * A channel connection came (its mux exists; the guest's HELLO has
	 * not come yet). Set up what its connections need; -1 drops it.
	 * Optional.
	 */
	int (*on_connect)(struct lh_vm_channel *vc);
	/* The guest opens a connection: as lh_mux_ops.on_open. Required. */
	int (*on_open)(struct lh_vm_channel *vc, struct lh_mux_conn *conn,
			enum lttng_hyper_conn_kind kind, const char *path);
	/* The guest relays the clock of a VM it serves. Optional. */
	void (*on_clock_estimate)(struct lh_vm_channel *vc, const char *path,
			const struct lttng_hyper_clock_estimate *est);
	/* Our estimate of the guest's clock changed. Optional. */
	void (*on_estimate)(struct lh_vm_channel *vc);
	/*
	 * The channel connection is gone: its mux and connections are, and
	 * the clock probe still answers until this returns. Optional.
	 */
	void (*on_disconnect)(struct lh_vm_channel *vc);
};

struct lh_vm_channel *lh_vm_channel_create(struct lh_loop *loop,
		const struct lh_vm_channel_config *cfg, const struct lh_vm_channel_ops *ops,
		void *priv);
/* Listen (failure is returned) or start connecting (failures are retried). */
int lh_vm_channel_start(struct lh_vm_channel *vc);
/* Drop the current channel connection (logged with why); reconnect if ours to make. */
void lh_vm_channel_drop(struct lh_vm_channel *vc, const char *why);
void lh_vm_channel_destroy(struct lh_vm_channel *vc);

void *lh_vm_channel_priv(const struct lh_vm_channel *vc);
const char *lh_vm_channel_name(const struct lh_vm_channel *vc);
const char *lh_vm_channel_log_ctx(const struct lh_vm_channel *vc);
/* What lttng-hyper status shows of a channel. */
struct lh_vm_channel_status {
	/* "listening" or "connecting" while down, "handshake", then "up". */
	const char *state;
	uint64_t state_ms;		/* lh_now_ms() when it entered that state */
	uint64_t ups;			/* channel connections whose handshake completed */
	const char *channel;		/* canonical URI */
};
void lh_vm_channel_get_status(const struct lh_vm_channel *vc, struct lh_vm_channel_status *st);
/* The current connection's mux and clock probe; NULL when down (or no clock). */
struct lh_mux *lh_vm_channel_mux(const struct lh_vm_channel *vc);
struct lh_clock_probe *lh_vm_channel_clock(const struct lh_vm_channel *vc);

#endif /* LH_COMMON_VM_CHANNEL_H */
