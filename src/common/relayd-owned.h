/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which relay sessions and streams belong to one VM (the ids it learnt
 * from lttng-relayd's replies), bounded per VM.
 */
#ifndef LH_COMMON_RELAYD_OWNED_H
#define LH_COMMON_RELAYD_OWNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The sessions and streams lttng-relayd handed to one VM. lttng-relayd's
 * ids are global, so a VM may only name what it was given. Each id is
 * recorded with its owner, the control connection that created it.
 * A closed stream stays owned, since its last packets may still be on
 * the way on the data connection, until max_streams newer streams have
 * closed; then it is forgotten.
 */
struct lh_relayd_owned;

struct lh_relayd_owned *lh_relayd_owned_create(unsigned int max_sessions,
		unsigned int max_streams);
void lh_relayd_owned_destroy(struct lh_relayd_owned *owned);
/*
 * Whether one more session (CREATE_SESSION) or stream (ADD_STREAM) fits
 * the limits. Returns 0, or -1 with err ("stream limit (N) reached").
 */
int lh_relayd_owned_check_room(const struct lh_relayd_owned *owned, uint32_t cmd,
		char *err, size_t errlen);
/* Sessions and active streams recorded. */
void lh_relayd_owned_usage(const struct lh_relayd_owned *owned, unsigned int *sessions,
		unsigned int *streams);
/* The bytes it holds now (its tables grow with the streams recorded). */
size_t lh_relayd_owned_bytes(const struct lh_relayd_owned *owned);
/* Record an id from a reply. Returns 0, or -1 with err (limit, duplicate, memory). */
int lh_relayd_owned_add_session(struct lh_relayd_owned *owned, uint64_t id,
		const void *owner, char *err, size_t errlen);
int lh_relayd_owned_add_stream(struct lh_relayd_owned *owned, uint64_t id,
		const void *owner, char *err, size_t errlen);
bool lh_relayd_owned_has_session(const struct lh_relayd_owned *owned, uint64_t id);
bool lh_relayd_owned_has_stream(const struct lh_relayd_owned *owned, uint64_t id);
/* The guest closed a stream: it no longer counts against max_streams. */
void lh_relayd_owned_close_stream(struct lh_relayd_owned *owned, uint64_t id);
/*
 * owner's connection is gone: lttng-relayd drops its session, and
 * closes its streams.
 */
void lh_relayd_owned_release(struct lh_relayd_owned *owned, const void *owner);

#endif /* LH_COMMON_RELAYD_OWNED_H */
