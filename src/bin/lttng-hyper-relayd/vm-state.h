/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the relay records of one VM's relayd traffic (vm-state.c): the
 * sessions and streams lttng-relayd handed to the VM, each data stream
 * from its ADD_STREAM to its last packet, and what the VM makes the relay
 * hold for these records, charged to its channel's account. The state
 * belongs to the VM (vm.c makes one per VM path); filter.c polices the
 * messages that make and use them; data-port.c's frames are checked
 * against them.
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
#include "sync.h"

struct lh_relay_limits {
	uint32_t max_control_payload;	/* largest control message accepted */
	unsigned int max_streams;	/* streams one VM channel may add */
	unsigned int max_sessions;	/* sessions one VM channel may create */
};

/* What one VM sent, for lttng-hyper status (control.c); cumulative. */
struct lh_relay_vm_stats {
	uint64_t bytes_in;		/* relayd messages and data packets, headers included */
	uint64_t packets;		/* data packets, through a data port or not */
	uint64_t events_discarded;	/* as its packet indexes say, over its streams */
	unsigned int conns;		/* open relayd connections */
};

/* The VM a state belongs to (vm.c), which the state only hands back to its ops. */
struct lh_vm;

/*
 * What the VM does for those who police and carry its traffic (filter.c,
 * and data-port.c through lh_relay_port_frame_check()). vm.c, which makes
 * the states and attaches the filters, hands its own functions in at
 * creation, so that these files reach the VM without calling vm.c: the
 * relay's files call one another one way only, vm.c on top.
 */
struct lh_relay_vm_ops {
	/*
	 * The limits bound a channel as a whole: its VM and every VM nested
	 * below it together. Returns 0 if one more session (CREATE_SESSION)
	 * or stream (ADD_STREAM) fits, or -1 with the reason in err.
	 */
	int (*check_room)(const struct lh_vm *vm, uint32_t cmd, char *err, size_t errlen);
	/*
	 * bytes more of the VM's trace (nested VMs' included) go to
	 * lttng-relayd: 0, or -1 with err past --max-disk, and the VM's
	 * channel is dropped, its sessions with it.
	 */
	int (*disk_charge)(struct lh_vm *vm, uint64_t bytes, char *err, size_t errlen);
	/* A VM of the channel creates a session: -1 with err while over --max-disk. */
	int (*disk_check_session)(struct lh_vm *vm, char *err, size_t errlen);
	/*
	 * The correction of the traces of the VM at path below vm's channel
	 * ("" for its own), composed along the chain; -1 while a hop is unknown.
	 */
	int (*clock_correction)(const struct lh_vm *vm, const char *path,
			struct lh_clock_correction *corr, struct lh_relay_clock_chain *chain);
	/* Measure the channel's VM again now (e.g. before a final fix). */
	void (*clock_burst)(const struct lh_vm *vm);
	/* A nested VM broke the protocol: refuse its connections from now on. */
	void (*ban)(struct lh_vm *vm, const char *path);
	/* A session of the VM's own ended: its data ports close their connections of it. */
	void (*sessions_changed)(struct lh_vm *vm);
};

/* ADD_STREAM's fixed part (struct lttcomm_relayd_add_stream_2_11), then its names. */
#define ADD_STREAM_FIXED_LEN	32
#define METADATA_CHANNEL	"metadata"

/* Net sequence numbers of one stream's packets, or of its indexes. */
struct seq_set {
	uint64_t *seq;
	unsigned int nr;
	unsigned int size;
};

/*
 * What the relay knows of one VM channel's relayd traffic: the VM name it
 * writes in place of the guest's hostname, and the sessions and streams
 * lttng-relayd handed out to this VM. It lives as long as one connection
 * of the channel (one mux).
 */
struct lh_relay_vm_state {
	struct lh_vm *vm;
	const struct lh_relay_vm_ops *ops;	/* the VM's, called with vm */
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

/*
 * The state of VM vm_name (its channel's), or of the VM at path below it
 * (nested, path already validated; "" for none), that vm owns and serves
 * through ops. Its hostname on the host is vm_name, and a nested VM's
 * sessions go under vm_name/path/. What it holds is charged to mem, what
 * it sends counted in stats; both must outlive the state.
 */
struct lh_relay_vm_state *lh_relay_vm_state_create(struct lh_vm *vm,
		const struct lh_relay_vm_ops *ops, struct lh_mem_account *mem,
		const char *vm_name, const char *path, const struct lh_relay_limits *limits,
		struct lh_relay_vm_stats *stats);
/* Sessions and active streams the VM holds in lttng-relayd. */
void lh_relay_vm_state_usage(const struct lh_relay_vm_state *state, unsigned int *sessions,
		unsigned int *streams);
void lh_relay_vm_state_destroy(struct lh_relay_vm_state *state);
/* The correction of the VM's traces (ops->clock_correction at its path). */
int lh_relay_vm_state_correction(const struct lh_relay_vm_state *state,
		struct lh_clock_correction *corr, struct lh_relay_clock_chain *chain);

/*
 * The frames of a data port, against the data streams the VM (not one
 * nested below it) added: 0 and the stream's lttng-relayd session in
 * *session_id, or -1 with the reason in err (port-frame.h).
 */
int lh_relay_port_frame_check(struct lh_relay_vm_state *state,
		const struct lh_relayd_data_hdr *hdr, uint64_t *session_id,
		char *err, size_t errlen);
/* The frame went to lttng-relayd whole. */
void lh_relay_port_frame_done(struct lh_relay_vm_state *state,
		const struct lh_relayd_data_hdr *hdr);
/*
 * A frame of stream_id was cut short, and its session's data connection
 * with it: the session's streams take no more frames, and the stream's
 * file is trimmed back to its last whole packet.
 */
void lh_relay_port_frame_cut(struct lh_relay_vm_state *state, uint64_t stream_id);
/*
 * Whether session_id's data connection must stay open: lttng-relayd ends
 * a session when one of its data connections closes. It must while the
 * session's control connection is open, or a closed stream of it still
 * waits for frames it began sending through a port.
 */
bool lh_relay_port_session_live(const struct lh_relay_vm_state *state, uint64_t session_id);

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
