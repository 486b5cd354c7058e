/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The layout of an ivshmem hyper channel (transport-ivshmem.c): one
 * shared memory region that the host maps as a file (QEMU's
 * memory-backend-file of an ivshmem-plain device) and the guest as the
 * device's BAR2 (/sys/bus/pci/devices/BDF/resource2).
 *
 *   0        header: magic, version, hdr_size, ring_size (written by the host)
 *   64       the host's block: epoch, ack, prod, cons, bells, waiting
 *   128      the guest's block, the same (each side writes only its own)
 *   hdr_size              the guest-to-host ring's data, ring_size bytes
 *   hdr_size + ring_size  the host-to-guest ring's data, ring_size bytes
 *
 * All words are u32 in the machines' (one) byte order. Each side writes
 * only its own block: prod is the producer index of the ring it
 * writes, cons the consumer index of the ring it reads. Indices run
 * free (mod 2^32); a ring holds prod - cons bytes, at most ring_size (a
 * power of two), byte i at i & (ring_size - 1).
 *
 * With a bell (a virtio-serial port, whose host end is a socket of
 * QEMU's), an idle side sleeps until rung: it sets its waiting word to a
 * new non-zero value (with LH_IVSHMEM_WAIT_ROOM if its ring is full),
 * checks the rings once more and sleeps; it clears the word when it
 * wakes. A side that changed its epoch, ack or prod, or its cons for a
 * peer waiting for room, rings once per value of the peer's waiting
 * word. A side sets bells to its epoch when it can ring; its peer sleeps
 * long only then. Without a bell, or before the peer's, a side polls
 * (ivshmem-bridge.c).
 *
 * A side's epoch is a random non-zero word drawn at each open, 0 once it
 * closes. ack is the peer epoch it accepted: on accepting, it first sets
 * its cons to the peer's prod (dropping what an earlier session left),
 * then ack. A side moves data only once the peer's ack is its own epoch,
 * and ends its session (closes the channel fd) when the peer's epoch
 * changes: a reopened side always starts a clean stream on both ends. A
 * peer whose epoch went to 0 closed: what it wrote before is passed on
 * first.
 */
#ifndef LH_COMMON_IVSHMEM_H
#define LH_COMMON_IVSHMEM_H

#include <stdatomic.h>
#include <stdint.h>

#define LH_IVSHMEM_MAGIC	0x5649484cU	/* "LHIV" */
#define LH_IVSHMEM_VERSION	1U
#define LH_IVSHMEM_HDR_SIZE	4096U
#define LH_IVSHMEM_MIN_RING	4096U
/* The size the host gives a new, empty file: two 1 MiB rings. */
#define LH_IVSHMEM_DEFAULT_SIZE	(LH_IVSHMEM_HDR_SIZE + (2U << 20))
/* In a waiting word: ring me when you consume, too. */
#define LH_IVSHMEM_WAIT_ROOM	1U

enum lh_ivshmem_side {
	LH_IVSHMEM_HOST = 0,
	LH_IVSHMEM_GUEST = 1,
};

struct lh_ivshmem_block {
	_Atomic uint32_t epoch;
	_Atomic uint32_t ack;
	_Atomic uint32_t prod;
	_Atomic uint32_t cons;
	_Atomic uint32_t bells;		/* our epoch once we can ring the peer */
	_Atomic uint32_t waiting;	/* non-zero while we sleep until rung */
	uint8_t pad[40];
};

struct lh_ivshmem_hdr {
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t ring_size;
	uint8_t pad[48];
	struct lh_ivshmem_block side[2];	/* enum lh_ivshmem_side */
};

_Static_assert(sizeof(struct lh_ivshmem_hdr) <= LH_IVSHMEM_HDR_SIZE, "header fits");
_Static_assert(sizeof(struct lh_ivshmem_block) == 64, "one cache line per side");

#endif /* LH_COMMON_IVSHMEM_H */
