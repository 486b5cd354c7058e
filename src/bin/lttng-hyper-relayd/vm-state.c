/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the relay records of one VM's relayd traffic (vm-state.h).
 *
 * lttng-relayd's session and stream ids are global, shared by every VM
 * the host serves; a VM may only name the ones handed to it.
 *
 * Data streams are followed from ADD_STREAM to the data connection that
 * carries them, so that when it goes away, perhaps in the middle of a
 * packet, trim.c can cut the stream file back to its last whole packet.
 * They are also what a data port (data-port.c) checks its frames
 * against: the session each belongs to, and how it closed. And each
 * mirrors the partial indexes lttng-relayd keeps of it, packets whose
 * SEND_INDEX has not come and the reverse, which a VM may only have so
 * many of (defaults.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/bytes.h"
#include "common/defaults.h"
#include "common/log.h"
#include "trim.h"
#include "vm-state.h"

/* What a data stream the relay cannot follow loses. */
#define DS_COST			"a packet it loses is not trimmed"

/* Count n more bytes of an object in *charged: 0, or -1 (ENOBUFS) past the limit. */
int lh_relay_charge(struct lh_mem_account *mem, size_t *charged, size_t n)
{
	if (lh_mem_charge(mem, n) < 0) {
		return -1;
	}
	*charged += n;
	return 0;
}

/* strdup(), its bytes charged; NULL when out of memory or past the limit. */
char *lh_relay_charged_strdup(struct lh_mem_account *mem, size_t *charged, const char *str)
{
	size_t len = strlen(str) + 1;
	char *copy;

	if (lh_relay_charge(mem, charged, len) < 0) {
		return NULL;
	}
	copy = malloc(len);
	if (!copy) {
		lh_mem_uncharge(mem, len);
		*charged -= len;
		return NULL;
	}
	return memcpy(copy, str, len);
}

/* What lh_relayd_owned holds now, charged or given back. */
int lh_relay_state_charge_owned(struct lh_relay_vm_state *state)
{
	size_t now = sizeof(*state) + lh_relayd_owned_bytes(state->owned);

	if (now < state->charged) {
		lh_mem_uncharge(state->mem, state->charged - now);
		state->charged = now;
		return 0;
	}
	return lh_relay_charge(state->mem, &state->charged, now - state->charged);
}

/* Why an allocation failed, into err: past the VM's limit, or out of memory. */
void lh_relay_alloc_failed(const struct lh_mem_account *mem, const char *what,
		char *err, size_t errlen)
{
	char why[192];

	if (lh_mem_account_exceeded(mem)) {
		lh_mem_account_describe(mem, why, sizeof(why));
	} else {
		snprintf(why, sizeof(why), "out of memory");
	}
	snprintf(err, errlen, "%s: %s", what, why);
}

struct lh_relay_vm_state *lh_relay_vm_state_create(struct lh_vm *vm,
		const struct lh_relay_vm_ops *ops, struct lh_mem_account *mem,
		const char *vm_name, const char *path, const struct lh_relay_limits *limits,
		struct lh_relay_vm_stats *stats)
{
	struct lh_relay_vm_state *state;
	size_t len = strlen(vm_name);

	if (lttng_hyper_name_validate(vm_name, len) < 0) {
		ERR("Invalid VM name \"%s\"", vm_name);
		return NULL;
	}
	state = calloc(1, sizeof(*state));
	if (!state) {
		PERROR("calloc");
		return NULL;
	}
	state->vm = vm;
	state->ops = ops;
	state->mem = mem;
	state->stats = stats;
	memcpy(state->hostname, vm_name, len + 1);
	snprintf(state->path, sizeof(state->path), "%s", path);
	snprintf(state->vm_name, sizeof(state->vm_name), "%s%s%s", vm_name,
		path[0] ? "/" : "", path);
	state->limits = *limits;
	if (getrandom(state->uuid_key, sizeof(state->uuid_key), 0) !=
			(ssize_t) sizeof(state->uuid_key)) {
		PERROR("getrandom");
		free(state);
		return NULL;
	}
	state->owned = lh_relayd_owned_create(limits->max_sessions, limits->max_streams);
	if (!state->owned) {
		ERR("Out of memory for the relayd state of VM %s", state->vm_name);
		free(state);
		return NULL;
	}
	if (lh_relay_state_charge_owned(state) < 0) {
		char why[192];

		lh_mem_account_describe(state->mem, why, sizeof(why));
		ERR("No room for the relayd state of VM %s: %s", state->vm_name, why);
		lh_relayd_owned_destroy(state->owned);
		free(state);
		return NULL;
	}
	return state;
}

void lh_relay_data_stream_free(struct data_stream *ds)
{
	if (!ds) {
		return;
	}
	free(ds->session_path);
	free(ds->pathname);
	free(ds->channel_name);
	free(ds->packets_ahead.seq);
	free(ds->indexes_ahead.seq);
	lh_mem_uncharge(ds->mem, ds->charged);
	free(ds);
}

void lh_relay_vm_state_destroy(struct lh_relay_vm_state *state)
{
	if (!state) {
		return;
	}
	while (state->data_streams) {
		struct data_stream *ds = state->data_streams;

		state->data_streams = ds->next;
		lh_relay_data_stream_free(ds);
	}
	lh_relayd_owned_destroy(state->owned);
	lh_mem_uncharge(state->mem, state->charged);
	free(state);
}

void lh_relay_vm_state_usage(const struct lh_relay_vm_state *state, unsigned int *sessions,
		unsigned int *streams)
{
	lh_relayd_owned_usage(state->owned, sessions, streams);
}

int lh_relay_vm_state_correction(const struct lh_relay_vm_state *state,
		struct lh_clock_correction *corr, struct lh_relay_clock_chain *chain)
{
	return state->ops->clock_correction(state->vm, state->path, corr, chain);
}

/*
 * What follows a stream could not be allocated: past the VM's limit, -1
 * with err, and the VM is cut off; out of memory, 0 and the stream goes
 * on unfollowed, with a log line that says what that costs.
 */
int lh_relay_follow_failed(const struct lh_relay_vm_state *state, const char *what,
		const char *cost, char *err, size_t errlen)
{
	if (lh_mem_account_exceeded(state->mem)) {
		lh_relay_alloc_failed(state->mem, what, err, errlen);
		return -1;
	}
	ERR("Out of memory for %s: %s", what, cost);
	return 0;
}

/*
 * A checked ADD_STREAM of a data stream: 0 and *out (NULL: metadata, or
 * out of memory), or -1 past the VM's memory limit (err).
 */
int lh_relay_data_stream_from_add(struct lh_relay_vm_state *state, const uint8_t *msg,
		struct data_stream **out, char *err, size_t errlen)
{
	const uint8_t *p = msg + LH_RELAYD_CTRL_HDR_LEN;
	uint32_t channel_len = lh_get_be32(p);
	const char *channel = (const char *) p + ADD_STREAM_FIXED_LEN;
	const char *path = channel + channel_len;
	struct data_stream *ds;
	size_t charged = 0;

	*out = NULL;
	if (!strcmp(channel, METADATA_CHANNEL)) {
		return 0;
	}
	if (lh_relay_charge(state->mem, &charged, sizeof(*ds)) < 0) {
		return lh_relay_follow_failed(state, "a data stream", DS_COST, err, errlen);
	}
	ds = calloc(1, sizeof(*ds));
	if (!ds) {
		lh_mem_uncharge(state->mem, charged);
		return lh_relay_follow_failed(state, "a data stream", DS_COST, err, errlen);
	}
	ds->mem = state->mem;
	ds->charged = charged;
	ds->pathname = lh_relay_charged_strdup(ds->mem, &ds->charged, path);
	ds->channel_name = lh_relay_charged_strdup(ds->mem, &ds->charged, channel);
	ds->port.last_seq = LH_PORT_NO_SEQ;
	if (!ds->pathname || !ds->channel_name) {
		lh_relay_data_stream_free(ds);
		return lh_relay_follow_failed(state, "a data stream", DS_COST, err, errlen);
	}
	*out = ds;
	return 0;
}

/* Most recently used first: lttng sends runs of packets of one stream. */
struct data_stream *lh_relay_data_stream_find(struct lh_relay_vm_state *state, uint64_t id)
{
	struct data_stream **pp, *ds;

	for (pp = &state->data_streams; *pp; pp = &(*pp)->next) {
		ds = *pp;
		if (ds->id == id) {
			*pp = ds->next;
			ds->next = state->data_streams;
			state->data_streams = ds;
			return ds;
		}
	}
	return NULL;
}

/* Remove seq from set, if it is there. */
static bool seq_set_take(struct seq_set *set, uint64_t seq)
{
	unsigned int i;

	for (i = 0; i < set->nr; i++) {
		if (set->seq[i] == seq) {
			set->seq[i] = set->seq[--set->nr];
			return true;
		}
	}
	return false;
}

static bool seq_set_has(const struct seq_set *set, uint64_t seq)
{
	unsigned int i;

	for (i = 0; i < set->nr; i++) {
		if (set->seq[i] == seq) {
			return true;
		}
	}
	return false;
}

static int seq_set_add(struct data_stream *ds, struct seq_set *set, uint64_t seq)
{
	if (set->nr == set->size) {
		unsigned int size = set->size ? 2 * set->size : 4;
		size_t more = (size - set->size) * sizeof(*set->seq);
		uint64_t *p;

		if (lh_relay_charge(ds->mem, &ds->charged, more) < 0) {
			return -1;
		}
		p = realloc(set->seq, size * sizeof(*p));
		if (!p) {
			lh_mem_uncharge(ds->mem, more);
			ds->charged -= more;
			return -1;
		}
		set->seq = p;
		set->size = size;
	}
	set->seq[set->nr++] = seq;
	return 0;
}

/*
 * One half of packet seq of ds on its way to lttng-relayd, a data packet
 * or its SEND_INDEX: as lttng-relayd does (its index.c), it completes the
 * partial index the other half left, or leaves one, at most max of them.
 * A consumerd never sends a half twice.
 */
static int half_arrives(struct data_stream *ds, uint64_t seq, struct seq_set *mine,
		struct seq_set *other, unsigned int max, const char *what, const char *whats,
		const char *other_what, char *err, size_t errlen)
{
	if (seq_set_take(other, seq)) {
		return 0;
	}
	if (seq_set_has(mine, seq)) {
		snprintf(err, errlen, "stream %" PRIu64 ": %s %" PRIu64 " sent twice before its %s",
			ds->id, what, seq, other_what);
		return -1;
	}
	if (mine->nr >= max) {
		snprintf(err, errlen, "stream %" PRIu64 ": %u %s ahead of their %s (at most %u): the newest is net_seq_num %" PRIu64,
			ds->id, mine->nr + 1, whats, other_what, max, seq);
		return -1;
	}
	if (seq_set_add(ds, mine, seq) < 0) {
		char what_of[64];

		snprintf(what_of, sizeof(what_of), "the %s of stream %" PRIu64, whats, ds->id);
		lh_relay_alloc_failed(ds->mem, what_of, err, errlen);
		return -1;
	}
	return 0;
}

int lh_relay_packet_arrives(struct data_stream *ds, uint64_t seq, char *err, size_t errlen)
{
	if (ds->snapshot) {
		return 0;
	}
	return half_arrives(ds, seq, &ds->packets_ahead, &ds->indexes_ahead,
		LH_MAX_PACKETS_AHEAD, "data packet", "data packets", "index", err, errlen);
}

int lh_relay_index_arrives(struct data_stream *ds, uint64_t seq, char *err, size_t errlen)
{
	return half_arrives(ds, seq, &ds->indexes_ahead, &ds->packets_ahead,
		LH_MAX_INDEXES_AHEAD, "index", "indexes", "data packet", err, errlen);
}

/* The stream's last packets may still be on the way: it stays known. */
void lh_relay_data_stream_close(struct lh_relay_vm_state *state, struct data_stream *ds)
{
	if (ds->closed_seq) {
		return;
	}
	ds->owner = NULL;
	ds->closed_seq = ++state->close_seq;
	ds->port.closed = true;
	state->nr_closed++;
}

/* Forget the oldest closed streams beyond as many as a VM may have open. */
void lh_relay_data_streams_evict(struct lh_relay_vm_state *state)
{
	while (state->nr_closed > state->limits.max_streams) {
		struct data_stream **pp, **oldest = NULL, *ds;

		for (pp = &state->data_streams; *pp; pp = &(*pp)->next) {
			if ((*pp)->closed_seq &&
					(!oldest || (*pp)->closed_seq < (*oldest)->closed_seq)) {
				oldest = pp;
			}
		}
		ds = *oldest;
		*oldest = ds->next;
		lh_relay_data_stream_free(ds);
		state->nr_closed--;
	}
}

/*
 * A data port carries the frames of the channel's own VM: a nested VM's
 * consumerd writes to its own parent's ports, never to ours.
 */
int lh_relay_port_frame_check(struct lh_relay_vm_state *state,
		const struct lh_relayd_data_hdr *hdr, uint64_t *session_id,
		char *err, size_t errlen)
{
	struct data_stream *ds = lh_relay_data_stream_find(state, hdr->stream_id);

	if (!ds) {
		if (lh_relayd_owned_has_stream(state->owned, hdr->stream_id)) {
			snprintf(err, errlen, "frame for stream %" PRIu64 ", which is not a data stream",
				hdr->stream_id);
		} else {
			snprintf(err, errlen, "frame for stream %" PRIu64 ", which this VM does not own",
				hdr->stream_id);
		}
		return -1;
	}
	if (lh_port_stream_check(&ds->port, hdr->stream_id, hdr->net_seq_num, err, errlen) < 0 ||
			lh_relay_packet_arrives(ds, hdr->net_seq_num, err, errlen) < 0 ||
			state->ops->disk_charge(state->vm,
				(uint64_t) hdr->data_size + hdr->padding_size, err, errlen) < 0) {
		return -1;
	}
	if (!ds->first_packet_size) {
		ds->first_packet_size = (uint64_t) hdr->data_size + hdr->padding_size;
	}
	*session_id = ds->session_id;
	return 0;
}

void lh_relay_port_frame_done(struct lh_relay_vm_state *state,
		const struct lh_relayd_data_hdr *hdr)
{
	struct data_stream *ds = lh_relay_data_stream_find(state, hdr->stream_id);

	state->stats->bytes_in += LH_RELAYD_DATA_HDR_LEN + (uint64_t) hdr->data_size;
	state->stats->packets++;
	if (ds) {
		ds->port.seen = true;
		ds->port.seq = hdr->net_seq_num;
	}
}

void lh_relay_port_frame_cut(struct lh_relay_vm_state *state, uint64_t stream_id)
{
	struct data_stream *cut = lh_relay_data_stream_find(state, stream_id), *ds;
	struct lh_relay_trim_stream stream;

	if (!cut) {
		return;
	}
	for (ds = state->data_streams; ds; ds = ds->next) {
		if (ds->session_id == cut->session_id) {
			ds->port.cut = true;
		}
	}
	stream = (struct lh_relay_trim_stream) {
		.vm_name = state->vm_name,
		.session_path = cut->session_path,
		.pathname = cut->pathname,
		.channel_name = cut->channel_name,
		.first_packet_size = cut->first_packet_size,
	};
	lh_relay_trim_schedule(&stream);
}

bool lh_relay_port_session_live(const struct lh_relay_vm_state *state, uint64_t session_id)
{
	const struct data_stream *ds;

	if (lh_relayd_owned_has_session(state->owned, session_id)) {
		return true;
	}
	for (ds = state->data_streams; ds; ds = ds->next) {
		if (ds->session_id == session_id && lh_port_stream_awaited(&ds->port)) {
			return true;
		}
	}
	return false;
}
