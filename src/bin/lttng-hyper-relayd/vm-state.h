/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the relay records of one VM's relayd traffic (vm-state.c): the
 * sessions and streams lttng-relayd handed to the VM, each data stream
 * from its ADD_STREAM to its last packet, and what the VM makes the relay
 * hold for these records, charged to its channel's account. filter.c
 * polices the messages that make and use them; data-port.c's frames are
 * checked against them.
 */
#ifndef LH_RELAYD_VM_STATE_H
#define LH_RELAYD_VM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/mem-account.h"
#include "common/port-frame.h"
#include "common/relayd-msg.h"
#include "common/relayd-owned.h"
#include "relayd.h"

/* ADD_STREAM's fixed part (struct lttcomm_relayd_add_stream_2_11), then its names. */
#define ADD_STREAM_FIXED_LEN	32
#define METADATA_CHANNEL	"metadata"

/* Net sequence numbers of one stream's packets, or of its indexes. */
struct seq_set {
	uint64_t *seq;
	unsigned int nr;
	unsigned int size;
};

struct lh_relay_vm_state {
	struct lh_vm *vm;
	/* "vm" or "vm/path" for a nested VM: for the logs and the sync file. */
	char vm_name[LTTNG_HYPER_NAME_MAX_LEN + 1 + LTTNG_HYPER_PATH_MAX_LEN + 1];
	char hostname[LTTNG_HYPER_NAME_MAX_LEN + 1];	/* the channel's VM */
	char path[LTTNG_HYPER_PATH_MAX_LEN + 1];	/* below it; "" for itself */
	struct lh_relay_limits limits;
	struct lh_relay_vm_stats *stats;
	uint8_t uuid_key[LH_RELAYD_UUID_LEN];
	struct lh_relayd_owned *owned;
	struct data_stream *data_streams;	/* answered data streams */
	unsigned int nr_closed;		/* of them, closed */
	uint64_t close_seq;
	bool ctf2_advised;		/* ctl_version_advice() logged */
	/*
	 * Its VM channel's account (--max-memory): a nested VM's state is
	 * held on its parent's behalf. charged: itself and its table.
	 */
	struct lh_mem_account *mem;
	size_t charged;
};

/* A data stream: where lttng-relayd writes it, and who carries its packets. */
struct data_stream {
	uint64_t id;			/* lttng-relayd's, once ADD_STREAM is answered */
	char *session_path;
	char *pathname;
	char *channel_name;
	uint64_t first_packet_size;	/* 0 until its first data header */
	const void *owner;		/* its control connection; NULL once closed */
	const void *carrier;		/* the data connection of its packets */
	uint64_t closed_seq;		/* 0 while open */
	uint64_t session_id;		/* lttng-relayd's, of its control connection */
	uint64_t events_discarded;	/* its last index's */
	/*
	 * What lttng-relayd holds a partial index for: packets whose index
	 * has not come, indexes whose packet has not (defaults.h). It keeps
	 * none for the packets of a snapshot session.
	 */
	struct seq_set packets_ahead;
	struct seq_set indexes_ahead;
	bool snapshot;
	struct lh_port_stream port;	/* for its frames on a data port */
	struct lh_mem_account *mem;	/* its VM channel's, charged with */
	size_t charged;
	struct data_stream *next;
};

/* Count n more bytes of an object in *charged: 0, or -1 (ENOBUFS) past the limit. */
int lh_relay_charge(struct lh_mem_account *mem, size_t *charged, size_t n);
/* strdup(), its bytes charged; NULL when out of memory or past the limit. */
char *lh_relay_charged_strdup(struct lh_mem_account *mem, size_t *charged, const char *str);
/* What the state's table of sessions and streams holds now, charged or given back. */
int lh_relay_state_charge_owned(struct lh_relay_vm_state *state);
/* Why an allocation failed, into err: past the VM's limit, or out of memory. */
void lh_relay_alloc_failed(const struct lh_mem_account *mem, const char *what,
		char *err, size_t errlen);
/*
 * What follows a stream could not be allocated: past the VM's limit, -1
 * with err; out of memory, 0 and a log line that says what that costs.
 */
int lh_relay_follow_failed(const struct lh_relay_vm_state *state, const char *what,
		const char *cost, char *err, size_t errlen);

/*
 * A checked ADD_STREAM of a data stream: 0 and *out (NULL: metadata, or
 * out of memory), or -1 past the VM's memory limit (err).
 */
int lh_relay_data_stream_from_add(struct lh_relay_vm_state *state, const uint8_t *msg,
		struct data_stream **out, char *err, size_t errlen);
void lh_relay_data_stream_free(struct data_stream *ds);
/* The answered data stream id of the state, or NULL. */
struct data_stream *lh_relay_data_stream_find(struct lh_relay_vm_state *state, uint64_t id);
/*
 * A data packet, or the SEND_INDEX, of net_seq_num seq of ds goes to
 * lttng-relayd: 0, or -1 with err past the bounds of defaults.h.
 */
int lh_relay_packet_arrives(struct data_stream *ds, uint64_t seq, char *err, size_t errlen);
int lh_relay_index_arrives(struct data_stream *ds, uint64_t seq, char *err, size_t errlen);
/* The stream's last packets may still be on the way: it stays known. */
void lh_relay_data_stream_close(struct lh_relay_vm_state *state, struct data_stream *ds);
/* Forget the oldest closed streams beyond as many as a VM may have open. */
void lh_relay_data_streams_evict(struct lh_relay_vm_state *state);

#endif /* LH_RELAYD_VM_STATE_H */
