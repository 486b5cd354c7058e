/* SPDX-License-Identifier: GPL-2.0-only */
/* Ownership of relay sessions and streams (src/common/relayd-owned.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/relayd-msg.h"
#include "common/relayd-owned.h"

enum slot_state {
	SLOT_EMPTY = 0,
	SLOT_ACTIVE,
	SLOT_CLOSED,
	/*
	 * A forgotten stream. Tombstones, not backward shifting, so that
	 * nothing moves while lh_relayd_owned_release() scans the table.
	 */
	SLOT_DELETED,
};

struct stream_slot {
	uint64_t id;
	const void *owner;
	enum slot_state state;
};

struct session_slot {
	uint64_t id;
	const void *owner;
	bool used;
};

struct lh_relayd_owned {
	unsigned int max_sessions;
	unsigned int max_streams;
	unsigned int nr_sessions;
	struct session_slot *sessions;	/* max_sessions slots */
	/* Open addressing, linear probing; at most half the slots non-empty. */
	struct stream_slot *streams;
	size_t capacity;		/* power of two */
	size_t nr_used;			/* non-empty slots, tombstones included */
	size_t nr_live;			/* active and closed */
	unsigned int nr_active;
	/* Closed streams, oldest first: a ring of max_streams ids. */
	uint64_t *closed;
	size_t closed_head;
	size_t nr_closed;
};

#define STREAMS_MIN_CAPACITY	64

struct lh_relayd_owned *lh_relayd_owned_create(unsigned int max_sessions,
		unsigned int max_streams)
{
	struct lh_relayd_owned *owned = calloc(1, sizeof(*owned));

	if (!owned) {
		return NULL;
	}
	owned->max_sessions = max_sessions;
	owned->max_streams = max_streams;
	owned->capacity = STREAMS_MIN_CAPACITY;
	owned->sessions = calloc(max_sessions ? max_sessions : 1, sizeof(*owned->sessions));
	owned->streams = calloc(owned->capacity, sizeof(*owned->streams));
	owned->closed = calloc(max_streams ? max_streams : 1, sizeof(*owned->closed));
	if (!owned->sessions || !owned->streams || !owned->closed) {
		lh_relayd_owned_destroy(owned);
		return NULL;
	}
	return owned;
}

void lh_relayd_owned_destroy(struct lh_relayd_owned *owned)
{
	if (!owned) {
		return;
	}
	free(owned->sessions);
	free(owned->streams);
	free(owned->closed);
	free(owned);
}

int lh_relayd_owned_check_room(const struct lh_relayd_owned *owned, uint32_t cmd,
		char *err, size_t errlen)
{
	if (cmd == LH_RELAYD_CREATE_SESSION && owned->nr_sessions >= owned->max_sessions) {
		lh_set_err(err, errlen, "session limit (%u) reached", owned->max_sessions);
		return -1;
	}
	if (cmd == LH_RELAYD_ADD_STREAM && owned->nr_active >= owned->max_streams) {
		lh_set_err(err, errlen, "stream limit (%u) reached", owned->max_streams);
		return -1;
	}
	return 0;
}

void lh_relayd_owned_usage(const struct lh_relayd_owned *owned, unsigned int *sessions,
		unsigned int *streams)
{
	*sessions = owned->nr_sessions;
	*streams = owned->nr_active;
}

size_t lh_relayd_owned_bytes(const struct lh_relayd_owned *owned)
{
	return sizeof(*owned) +
		(owned->max_sessions ? owned->max_sessions : 1) * sizeof(*owned->sessions) +
		owned->capacity * sizeof(*owned->streams) +
		(owned->max_streams ? owned->max_streams : 1) * sizeof(*owned->closed);
}

static struct session_slot *find_session(const struct lh_relayd_owned *owned, uint64_t id)
{
	unsigned int i;

	for (i = 0; i < owned->max_sessions; i++) {
		if (owned->sessions[i].used && owned->sessions[i].id == id) {
			return &owned->sessions[i];
		}
	}
	return NULL;
}

int lh_relayd_owned_add_session(struct lh_relayd_owned *owned, uint64_t id,
		const void *owner, char *err, size_t errlen)
{
	unsigned int i;

	if (find_session(owned, id)) {
		lh_set_err(err, errlen, "lttng-relayd handed out session %" PRIu64 " twice", id);
		return -1;
	}
	if (lh_relayd_owned_check_room(owned, LH_RELAYD_CREATE_SESSION, err, errlen) < 0) {
		return -1;
	}
	for (i = 0; owned->sessions[i].used; i++) {
	}
	owned->sessions[i] = (struct session_slot) { .id = id, .owner = owner, .used = true };
	owned->nr_sessions++;
	return 0;
}

bool lh_relayd_owned_has_session(const struct lh_relayd_owned *owned, uint64_t id)
{
	return find_session(owned, id) != NULL;
}

/* Stream handles are sequential: mix them so they spread over the table. */
static size_t stream_hash(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t) id;
}

/* The live slot holding id, or capacity if there is none. */
static size_t find_stream(const struct lh_relayd_owned *owned, uint64_t id)
{
	size_t mask = owned->capacity - 1;
	size_t i = stream_hash(id) & mask;

	for (; owned->streams[i].state != SLOT_EMPTY; i = (i + 1) & mask) {
		if (owned->streams[i].state != SLOT_DELETED && owned->streams[i].id == id) {
			return i;
		}
	}
	return owned->capacity;
}

/* Where a new id goes: the first empty or deleted slot of its probe. */
static size_t free_slot(const struct stream_slot *slots, size_t capacity, uint64_t id)
{
	size_t mask = capacity - 1;
	size_t i = stream_hash(id) & mask;

	while (slots[i].state == SLOT_ACTIVE || slots[i].state == SLOT_CLOSED) {
		i = (i + 1) & mask;
	}
	return i;
}

/* Rebuild the table without tombstones, twice as large if live slots need it. */
static int streams_rehash(struct lh_relayd_owned *owned)
{
	size_t capacity = owned->capacity, i;
	struct stream_slot *slots;

	if ((owned->nr_live + 1) * 4 > capacity) {
		capacity *= 2;
	}
	slots = calloc(capacity, sizeof(*slots));
	if (!slots) {
		return -1;
	}
	for (i = 0; i < owned->capacity; i++) {
		const struct stream_slot *slot = &owned->streams[i];

		if (slot->state == SLOT_ACTIVE || slot->state == SLOT_CLOSED) {
			slots[free_slot(slots, capacity, slot->id)] = *slot;
		}
	}
	free(owned->streams);
	owned->streams = slots;
	owned->capacity = capacity;
	owned->nr_used = owned->nr_live;
	return 0;
}

int lh_relayd_owned_add_stream(struct lh_relayd_owned *owned, uint64_t id,
		const void *owner, char *err, size_t errlen)
{
	size_t i;

	if (lh_relayd_owned_has_stream(owned, id)) {
		lh_set_err(err, errlen, "lttng-relayd handed out stream %" PRIu64 " twice", id);
		return -1;
	}
	if (lh_relayd_owned_check_room(owned, LH_RELAYD_ADD_STREAM, err, errlen) < 0) {
		return -1;
	}
	if ((owned->nr_used + 1) * 2 > owned->capacity && streams_rehash(owned) < 0) {
		lh_set_err(err, errlen, "out of memory");
		return -1;
	}
	i = free_slot(owned->streams, owned->capacity, id);
	if (owned->streams[i].state == SLOT_EMPTY) {
		owned->nr_used++;
	}
	owned->streams[i] = (struct stream_slot) {
		.id = id,
		.owner = owner,
		.state = SLOT_ACTIVE,
	};
	owned->nr_live++;
	owned->nr_active++;
	return 0;
}

bool lh_relayd_owned_has_stream(const struct lh_relayd_owned *owned, uint64_t id)
{
	return find_stream(owned, id) != owned->capacity;
}

/* Move an active stream to the closed ring, forgetting the oldest closed one if full. */
static void close_slot(struct lh_relayd_owned *owned, size_t i)
{
	owned->streams[i].state = SLOT_CLOSED;
	owned->nr_active--;
	if (owned->nr_closed == owned->max_streams) {
		size_t oldest = find_stream(owned, owned->closed[owned->closed_head]);

		owned->streams[oldest].state = SLOT_DELETED;
		owned->nr_live--;
		owned->closed_head = (owned->closed_head + 1) % owned->max_streams;
		owned->nr_closed--;
	}
	owned->closed[(owned->closed_head + owned->nr_closed) % owned->max_streams] =
		owned->streams[i].id;
	owned->nr_closed++;
}

void lh_relayd_owned_close_stream(struct lh_relayd_owned *owned, uint64_t id)
{
	size_t i = find_stream(owned, id);

	if (i != owned->capacity && owned->streams[i].state == SLOT_ACTIVE) {
		close_slot(owned, i);
	}
}

void lh_relayd_owned_release(struct lh_relayd_owned *owned, const void *owner)
{
	unsigned int s;
	size_t i;

	for (s = 0; s < owned->max_sessions; s++) {
		if (owned->sessions[s].used && owned->sessions[s].owner == owner) {
			owned->sessions[s].used = false;
			owned->nr_sessions--;
		}
	}
	for (i = 0; i < owned->capacity; i++) {
		if (owned->streams[i].state == SLOT_ACTIVE && owned->streams[i].owner == owner) {
			close_slot(owned, i);
		}
	}
}
