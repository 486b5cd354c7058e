/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper-relayd internals shared between its files.
 *
 * main.c: options, lttng-relayd supervision (child.c), the event loop.
 * vm.c: one struct lh_vm per --vm, its channel (listen or connect,
 *       reconnect) and its mux; opens the connections to lttng-relayd.
 * filter.c: the relayd protocol filter for the connections of one VM
 *       channel: parses, checks and rewrites control messages, and checks
 *       data headers.
 * vm-state.c: what the relay records of a VM's relayd traffic: the
 *       sessions and streams it owns, its data streams' partial indexes,
 *       and what these records cost its memory account (vm-state.h).
 * data-port.c: a VM's data ports (--vm-data): relayd data frames straight
 *       from the guest's lttng-consumerd, checked against what vm-state.c
 *       knows of the VM's streams and written to lttng-relayd.
 * disk.c: what a VM's traces take on disk, against --max-disk.
 */
#ifndef LH_RELAYD_RELAYD_H
#define LH_RELAYD_RELAYD_H

#include <stdint.h>

#include <lttng-hyper/channel.h>
#include <lttng-hyper/frame.h>

#include "common/clock-probe.h"
#include "common/clocksync.h"
#include "common/ctf-metadata.h"
#include "common/defaults.h"
#include "common/loop.h"
#include "common/mem-account.h"
#include "common/mux.h"
#include "common/relayd-msg.h"
#include "common/vm-channel.h"

struct lh_relay_limits {
	uint32_t max_control_payload;	/* largest control message accepted */
	unsigned int max_streams;	/* streams one VM channel may add */
	unsigned int max_sessions;	/* sessions one VM channel may create */
};

/*
 * What the relay knows of one VM channel's relayd traffic: the VM name it
 * writes in place of the guest's hostname, the negotiated protocol minor,
 * and the sessions and streams lttng-relayd handed out to this VM. It
 * lives as long as one connection of the channel (one mux).
 */
struct lh_relay_vm_state;

struct lh_vm;

/* What one VM sent, for lttng-hyper status (control.c); cumulative. */
struct lh_relay_vm_stats {
	uint64_t bytes_in;		/* relayd messages and data packets, headers included */
	uint64_t packets;		/* data packets, through a data port or not */
	uint64_t events_discarded;	/* as its packet indexes say, over its streams */
	unsigned int conns;		/* open relayd connections */
};

/*
 * The state of VM vm_name (its channel's), or of the VM at path below it
 * (nested, path already validated; "" for none). Its hostname on the host
 * is vm_name, and a nested VM's sessions go under vm_name/path/. What it
 * sends is counted in stats, which must outlive the state.
 */
struct lh_relay_vm_state *lh_relay_vm_state_create(struct lh_vm *vm, const char *vm_name,
		const char *path, const struct lh_relay_limits *limits,
		struct lh_relay_vm_stats *stats);
/* Sessions and active streams the VM holds in lttng-relayd. */
void lh_relay_vm_state_usage(const struct lh_relay_vm_state *state, unsigned int *sessions,
		unsigned int *streams);
/*
 * The limits bound a channel as a whole: its VM and every VM nested below
 * it together. Returns 0 if one more session (CREATE_SESSION) or stream
 * (ADD_STREAM) fits, or -1 with the reason in err.
 */
int lh_vm_check_room(const struct lh_vm *vm, uint32_t cmd, char *err, size_t errlen);
void lh_relay_vm_state_destroy(struct lh_relay_vm_state *state);

/*
 * Attach the relayd protocol filter to a connection just opened by the
 * guest (from lh_mux_ops.on_open). Returns 0 or -1 (out of memory).
 */
int lh_relay_filter_attach(struct lh_mux_conn *conn, enum lttng_hyper_conn_kind kind,
		struct lh_relay_vm_state *state);
/* The state a connection's filter serves; NULL for a connection without one. */
struct lh_relay_vm_state *lh_relay_filter_state(const struct lh_mux_conn *conn);

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

/* Where the relay connects the logical connections of every VM. */
struct lh_relayd_target {
	char control_host[256];
	uint16_t control_port;
	char data_host[256];
	uint16_t data_port;
};

/* data-port.c: one --vm-data port of a VM. */
struct lh_data_port_config {
	struct lttng_hyper_channel_uri uri;	/* unix, unix-listen or tcp-listen */
	const struct lh_relayd_target *relayd;	/* must outlive the port */
	uint64_t max_frame;			/* largest data_size + padding_size */
};

struct lh_data_port;

/* vm's name is its log context; the port follows vm's channel (lh_vm_port_state()). */
struct lh_data_port *lh_data_port_create(struct lh_loop *loop, struct lh_vm *vm,
		const char *log_ctx, const struct lh_data_port_config *cfg);
/* Listen (failure is returned) or start connecting (failures are retried). */
int lh_data_port_start(struct lh_data_port *port);
/* Sessions of the VM may have ended: close their lttng-relayd data connections. */
void lh_data_port_sessions_changed(struct lh_data_port *port);
/* The VM's channel is down, and its sessions with it: close every data connection. */
void lh_data_port_vm_down(struct lh_data_port *port);
void lh_data_port_destroy(struct lh_data_port *port);

/* --- disk: what a VM's traces take on disk (disk.c) --------------------- */

struct lh_disk_quota {
	uint64_t limit;			/* --max-disk; 0: none */
	uint64_t scanned;		/* the VM's directory at the last measure */
	uint64_t since;			/* bytes sent to lttng-relayd since */
	bool full;			/* its sessions were ended at the limit */
	const char *vm_name;
	bool have_dir;			/* the relay knows lttng-relayd's output */
	char dir[4096];			/* OUTPUT/NAME */
};

/* output: lttng-relayd's (absolute), or NULL with --relayd-url: then only bytes sent count. */
void lh_disk_quota_init(struct lh_disk_quota *q, const char *output, const char *vm_name,
		uint64_t limit);
/* Measure the VM's directory again. */
void lh_disk_quota_rescan(struct lh_disk_quota *q);
uint64_t lh_disk_quota_used(const struct lh_disk_quota *q);
/* bytes more go to lttng-relayd: 0, or -1 with err past the limit (nothing counted). */
int lh_disk_quota_charge(struct lh_disk_quota *q, uint64_t bytes, char *err, size_t errlen);
/*
 * The VM creates a session: measure again; -1 with err while at the limit,
 * or, once its sessions were ended there, until the VM has room again.
 */
int lh_disk_quota_check_session(struct lh_disk_quota *q, char *err, size_t errlen);

/* vm.c: one hyper channel and the VM it stands for. */
struct lh_vm_config {
	const char *name;		/* validated VM name, copied */
	struct lttng_hyper_channel_uri uri;	/* unix, unix-listen or tcp-listen */
	const struct lh_relayd_target *relayd;	/* must outlive the VM */
	uint64_t relayd_timeout_ms;
	unsigned int max_conns;
	struct lh_relay_limits limits;
	uint64_t max_memory;		/* what the relay may hold for the VM; 0: no limit */
	uint64_t max_disk;		/* what its traces may take on disk; 0: no limit */
	const char *output;		/* lttng-relayd's, absolute; NULL: not ours */
};

struct lh_vm;

struct lh_vm *lh_vm_create(struct lh_loop *loop, const struct lh_vm_config *cfg);
/* Give the VM a data port (before lh_vm_start). Returns 0 or -1. */
int lh_vm_add_data_port(struct lh_vm *vm, const struct lh_data_port_config *cfg);
/* Listen (failure is returned) or start connecting (failures are retried), ports too. */
int lh_vm_start(struct lh_vm *vm);
/*
 * The account of what the relay holds for the VM and the VMs nested below
 * it; past its limit, the channel is dropped.
 */
struct lh_mem_account *lh_vm_mem(struct lh_vm *vm);
/*
 * bytes more of the VM's trace (nested VMs' included) go to lttng-relayd:
 * 0, or -1 with err past --max-disk, and the VM's channel is dropped, its
 * sessions with it.
 */
int lh_vm_disk_charge(struct lh_vm *vm, uint64_t bytes, char *err, size_t errlen);
/* A VM of the channel creates a session: -1 with err while over --max-disk. */
int lh_vm_disk_check_session(struct lh_vm *vm, char *err, size_t errlen);
/* The state the VM's data ports check frames against; NULL while its channel is down. */
struct lh_relay_vm_state *lh_vm_port_state(const struct lh_vm *vm);
/* A session of the VM's own ended (filter.c): tell its data ports. */
void lh_vm_port_sessions_changed(struct lh_vm *vm);
/* lttng-relayd went away: drop the channel if this VM used it (its ids are void). */
void lh_vm_relayd_lost(struct lh_vm *vm);
void lh_vm_destroy(struct lh_vm *vm);

/* One VM, the channel's own or one nested below it, for lttng-hyper status. */
struct lh_vm_report {
	char name[LTTNG_HYPER_NAME_MAX_LEN + 1 + LTTNG_HYPER_PATH_MAX_LEN + 1];
	char parent[LTTNG_HYPER_NAME_MAX_LEN + 1 + LTTNG_HYPER_PATH_MAX_LEN + 1];	/* "" */
	unsigned int depth;		/* 0: the channel's own VM */
	struct lh_vm_channel_status channel;	/* the channel's own VM only */
	bool banned;			/* nested only */
	unsigned int sessions, streams;
	struct lh_relay_vm_stats stats;
	struct lh_mem_account mem;	/* the channel's own VM only: nested VMs' included */
	uint64_t disk_used, disk_limit;	/* likewise */
	bool have_clock;
	struct lh_clock_estimate clock;	/* its clock in the host's, composed */
};
const char *lh_vm_name(const struct lh_vm *vm);
/* Call cb for the channel's VM, then for each VM below it, in tree order. */
void lh_vm_report(const struct lh_vm *vm, void (*cb)(const struct lh_vm_report *r, void *arg),
		void *arg);

/* child.c: the lttng-relayd the relay starts and supervises. */
struct lh_relayd_child_config {
	const char *path;		/* lttng-relayd binary, looked up in PATH without a slash */
	const char *output;		/* its -o */
	const char *control_url;	/* its -C, -D and -L */
	const char *data_url;
	const char *live_url;
	const struct lh_relayd_target *target;	/* where to check it is up */
	/* Once up, SIGKILL and restart it after this long without answering; 0: never. */
	uint64_t liveness_timeout_ms;
	unsigned int verbose;		/* number of -v to pass */
	int log_fd;			/* its stdout and stderr; -1: ours */
};

struct lh_relayd_child_ops {
	/* It accepts connections (after the first start and every restart). */
	void (*on_ready)(void *arg);
	/* It exited after the first start succeeded; a restart is scheduled. */
	void (*on_lost)(void *arg);
	/* The first start failed (the reason is logged); nothing is retried. */
	void (*on_failed)(void *arg);
};

struct lh_relayd_child;

/* The config's strings and target must outlive the child. */
struct lh_relayd_child *lh_relayd_child_create(struct lh_loop *loop,
		const struct lh_relayd_child_config *cfg,
		const struct lh_relayd_child_ops *ops, void *arg);
/* Start it; the ops report the outcome. Returns -1 if it cannot run at all. */
int lh_relayd_child_start(struct lh_relayd_child *child);
/* On SIGCHLD: reap it if it exited. */
void lh_relayd_child_reap(struct lh_relayd_child *child);
/* SIGTERM it and wait (SIGKILL after a while), then free. */
void lh_relayd_child_destroy(struct lh_relayd_child *child);


/* --- clock: how a VM's clock maps to the host's (vm.c) ------------------ */

/* Every hop from the host down to a VM: the channel's own VM first. */
struct lh_relay_clock_chain {
	unsigned int nr;
	struct {
		char vm[LTTNG_HYPER_NAME_MAX_LEN + 1 + LTTNG_HYPER_PATH_MAX_LEN + 1];
		struct lh_clock_estimate est;	/* its clock in its parent's */
	} hop[LH_MAX_NESTED_DEPTH];
	struct lh_clock_estimate composed;	/* its clock in the host's */
};

/*
 * The correction of the traces of the VM at path below vm's channel
 * ("" for its own), composed along the chain; -1 while a hop is unknown.
 */
int lh_vm_clock_correction(const struct lh_vm *vm, const char *path,
		struct lh_clock_correction *corr, struct lh_relay_clock_chain *chain);
/* Measure the channel's VM again now (e.g. before a final fix). */
void lh_vm_clock_burst(const struct lh_vm *vm);
/* A nested VM broke the protocol: refuse its connections from now on. */
void lh_vm_ban(struct lh_vm *vm, const char *path);
/* The same, through a VM state. */
int lh_relay_vm_state_correction(const struct lh_relay_vm_state *state,
		struct lh_clock_correction *corr, struct lh_relay_clock_chain *chain);

/* --- sync: the final clock fix of a guest's trace (sync.c) ------------- */

/*
 * lttng-relayd's output directory (its -o, absolute), where the final
 * fix finds the files; set once by main.c. Without it (an lttng-relayd
 * the relay does not start), only the in-flight rewrite happens.
 */
int lh_relay_sync_set_output(const char *dir);
void lh_relay_sync_fini(void);

/* A metadata stream that ended, and what its in-flight rewrite found. */
struct lh_relay_sync_stream {
	const char *vm_name;
	const char *session_path;	/* CREATE_SESSION reply: relative to the output */
	const char *pathname;		/* ADD_STREAM: relative to the session */
	const char *channel_name;	/* ADD_STREAM: the file name */
	const struct lh_ctf_md_report *guest;	/* the guest's own values */
};

/*
 * Apply the VM's latest correction (if any) in place to the stream's
 * metadata file, and write <session>/lttng-hyper-sync. Paths are resolved
 * under the output directory only, refusing symbolic links. Returns 0 or
 * -1 (logged).
 */
int lh_relay_sync_finish(const struct lh_relay_sync_stream *stream,
		const struct lh_relay_vm_state *state);

/* --- trim: a data packet cut short by a lost guest (trim.c) ------------ */

/*
 * The loop of the delayed checks and lttng-relayd's output directory
 * (absolute); set once by main.c. Without them (an lttng-relayd the
 * relay does not start), nothing is trimmed.
 */
int lh_relay_trim_init(struct lh_loop *loop, const char *output);
/* lttng-relayd has exited: do the pending checks now, then free. */
void lh_relay_trim_fini(void);

/* A data stream whose connection is gone, perhaps in the middle of a packet. */
struct lh_relay_trim_stream {
	const char *vm_name;
	const char *session_path;	/* CREATE_SESSION reply: relative to the output */
	const char *pathname;		/* ADD_STREAM: relative to the session */
	const char *channel_name;	/* ADD_STREAM: the file name */
	uint64_t first_packet_size;	/* its first packet's bytes, as announced */
};

/*
 * Once lttng-relayd has written all it received, cut the stream file back
 * to the end of its last complete packet (and its index to the entries of
 * the packets kept), so that babeltrace2 reads it. The file is left alone
 * when it ends on a packet boundary, or does not look like CTF packets.
 * Paths are resolved under the output directory only, refusing symbolic
 * links. The stream is copied. Returns 0 or -1 (logged).
 */
int lh_relay_trim_schedule(const struct lh_relay_trim_stream *stream);

/* --- control: the relay's control socket (control.c) --------------------- */

/* What the status shows of the relay itself; main.c keeps it current. */
struct lh_relay_control_source {
	const char *output;		/* lttng-relayd's; NULL with --relayd-url */
	const char *relayd_state;	/* "starting", "up", "restarting", "failed", "external" */
	struct lh_vm *const *vms;
	unsigned int nr_vms;
};

struct lh_relay_control;

/*
 * Listen on the unix socket at path (mode 0600, a stale one replaced, a
 * live one left alone) and answer "status" with the JSON of
 * lttng-hyper-relayd(8). src must outlive it. NULL on failure (logged).
 */
struct lh_relay_control *lh_relay_control_create(struct lh_loop *loop, const char *path,
		const struct lh_relay_control_source *src);
void lh_relay_control_destroy(struct lh_relay_control *ctl);

#endif /* LH_RELAYD_RELAYD_H */
