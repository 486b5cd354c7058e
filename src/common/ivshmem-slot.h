/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ivshmem bridges a process runs (transport-ivshmem.c), one slot per
 * path and side, kept for the process's life: a new open() of a path
 * stops and waits for its previous bridge (two producers on one ring
 * would mix streams), the slot keeps that bridge's last words for the
 * daemon to log, and the process's exit ends its sessions.
 */
#ifndef LH_COMMON_IVSHMEM_SLOT_H
#define LH_COMMON_IVSHMEM_SLOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ivshmem.h"

struct lh_ivshmem_slot;

const char *lh_ivshmem_side_name(enum lh_ivshmem_side side);
/* Claim the slot of path and side: stop its running bridge and wait for it. NULL: ENOMEM. */
struct lh_ivshmem_slot *lh_ivshmem_slot_claim(const char *path, enum lh_ivshmem_side side);
/* A new open() wants the slot's bridge gone. */
bool lh_ivshmem_slot_stopping(struct lh_ivshmem_slot *s);
enum lh_ivshmem_side lh_ivshmem_slot_side(const struct lh_ivshmem_slot *s);
/* The bridge's epoch word while mapped (NULL once not): set to 0 if the process exits. */
void lh_ivshmem_slot_track(struct lh_ivshmem_slot *s, _Atomic uint32_t *epoch);
/* Leave why the bridge stops, before its user can see the end. */
void lh_ivshmem_slot_say(struct lh_ivshmem_slot *s, const char *why, bool warn);
/* The bridge has ended. */
void lh_ivshmem_slot_release(struct lh_ivshmem_slot *s);
/* Why the last bridge of path and side stopped, once: an lh_log level and words, or -1. */
int lh_ivshmem_slot_last_words(const char *path, enum lh_ivshmem_side side, char *buf,
		size_t len);

#endif /* LH_COMMON_IVSHMEM_SLOT_H */
