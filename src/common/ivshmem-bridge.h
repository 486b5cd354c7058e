/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The bridge of an ivshmem channel (transport-ivshmem.c): a thread that
 * moves bytes between the shared rings (ivshmem.h) and one end of a
 * socketpair, rings the peer's bell and sleeps on its own. It never logs
 * (the daemons' log hooks are not thread-safe): it leaves why it stopped
 * in its slot (ivshmem-slot.h).
 */
#ifndef LH_COMMON_IVSHMEM_BRIDGE_H
#define LH_COMMON_IVSHMEM_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ivshmem-slot.h"
#include "common/ivshmem.h"

/* Filled in by the transport (the slot, the mapping, the rings), then started. */
struct lh_ivshmem_bridge {
	struct lh_ivshmem_slot *slot;
	int fd;				/* our end of the socketpair */
	void *map;
	size_t map_len;
	struct lh_ivshmem_block *own, *peer;
	uint8_t *tx, *rx;		/* the rings we write and read */
	uint32_t ring_size;
	int bell;			/* -1: none */
	bool bell_hup;			/* the guest's port has no host end */
	bool bell_gone;			/* the host's: QEMU closed it */
	bool armed;			/* our waiting word is set */
	uint32_t wait_gen;		/* our waiting word's last value, bit 0 aside */
	uint32_t rung;			/* the peer's waiting word we last rang for */
	unsigned int kick;		/* what this step changed that the peer may wait on */
	uint32_t epoch, peer_epoch;	/* ours; the peer's we accepted (0: none) */
	/* Our indices: the truth is here, never read back from the memory. */
	uint32_t tx_prod, rx_cons;
	bool established;
	bool peer_closed;		/* its epoch went to 0: pass on what it left */
	bool hup;			/* the user closed its end */
	bool sock_full;			/* our last send() would block */
	bool fault;			/* the peer broke the rules */
};

/* Open the bell at path for the bridge. Returns 0, or -1 with errno. */
int lh_ivshmem_bridge_bell(struct lh_ivshmem_bridge *b, const char *path);
/*
 * Start a session on b (mapped, its slot claimed) with the socket fd:
 * the thread then owns b, fd, the mapping, the bell and the slot, and
 * releases them when it ends. Returns 0, or -1 with errno (nothing owned).
 */
int lh_ivshmem_bridge_start(struct lh_ivshmem_bridge *b, int fd);

#endif /* LH_COMMON_IVSHMEM_BRIDGE_H */
