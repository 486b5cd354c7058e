/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One VM: its hyper channel (vm-channel.h), the relay state of the VM and
 * of each VM nested below it, and their clocks.
 *
 * A nested VM's identity is the VM path its parent gives it, under this
 * channel's name: the guest on this channel names the VMs it serves, and
 * cannot name anything outside its own subtree. Each VM path gets its
 * own relay state (the sessions and streams it owns, its hostname and
 * directory), and the estimates of the clocks along the path, which the
 * VMs in between relay upward (CLOCK_ESTIMATE), compose with ours into
 * the correction of its traces.
 *
 * Its data ports (data-port.c) carry frames of the channel's own VM, and
 * follow its channel: a session's connections to lttng-relayd close when
 * the session ends, all of them when the channel goes down.
 *
 * The VM is on top of the files it uses: the states it makes, the filter
 * it attaches, the ports it drives reach it back only through the
 * functions it hands them (vm_state_ops, lh_data_port_vm), never by
 * calling this file.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>
#include <lttng-hyper/frame.h>

#include "common/clock-probe.h"
#include "common/defaults.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/mux.h"
#include "common/relayd-msg.h"
#include "common/vm-channel.h"
#include "data-port.h"
#include "disk.h"
#include "filter.h"
#include "vm-state.h"
#include "vm.h"

/* A VM at a path below this channel's ("" is the channel's own VM). */
struct nested_vm {
	char path[LTTNG_HYPER_PATH_MAX_LEN + 1];
	struct lh_relay_vm_state *state;	/* once it opens a connection */
	/* How its clock maps to its parent's, as the parent measured it. */
	bool have_hop;
	struct lh_clock_estimate hop;
	/* A protocol violation: its connections are refused from now on. */
	bool banned;
	/* What it sent since it appeared; the channel's VM's are in lh_vm. */
	struct lh_relay_vm_stats stats;
};

struct lh_vm {
	struct lh_vm_config cfg;
	struct lh_loop *loop;
	struct lh_vm_channel *vc;
	struct lh_data_port **ports;
	unsigned int nr_ports;
	/* Per channel connection: [0] is the channel's own VM. */
	struct nested_vm vms[LH_MAX_NESTED_VMS + 1];
	unsigned int nr_vms;
	bool limit_logged;
	/* It opened connections to lttng-relayd: the states may hold its ids. */
	bool used_relayd;
	/* What the channel's own VM sent since the relay started. */
	struct lh_relay_vm_stats stats;
	/* What the relay holds for the channel, nested VMs included (--max-memory). */
	struct lh_mem_account mem;
	/* What their traces take on disk (--max-disk), and the drop it may call for. */
	struct lh_disk_quota disk;
	struct lh_timer *disk_drop;
	/* Resets the open connections of the VMs just banned, from the loop. */
	struct lh_timer *ban_reset;
};

/* What the VM does for its states' filters and ports; defined with its functions below. */
static const struct lh_relay_vm_ops vm_state_ops;

static void close_fd(struct lh_vm *vm, int fd, const char *what)
{
	if (close(fd) < 0) {
		lh_log_errno(lh_vm_channel_log_ctx(vm->vc), "close %s", what);
	}
}

static unsigned int path_depth(const char *path)
{
	unsigned int depth = 1;

	for (; *path; path++) {
		depth += *path == '/';
	}
	return depth;
}

/* Whether path is below (or is) the VM at prefix, which is not "". */
static bool path_within(const char *path, const char *prefix)
{
	size_t len = strlen(prefix);

	return !strncmp(path, prefix, len) && (path[len] == '\0' || path[len] == '/');
}

/* The direct child of the channel's VM that path is, or runs under: its first name. */
static size_t first_name_len(const char *path)
{
	const char *slash = strchr(path, '/');

	return slash ? (size_t) (slash - path) : strlen(path);
}

static struct nested_vm *nested_find(const struct lh_vm *vm, const char *path)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vms; i++) {
		if (!strcmp(vm->vms[i].path, path)) {
			return (struct nested_vm *) &vm->vms[i];
		}
	}
	return NULL;
}

/*
 * The entry of path, made if need be; NULL past the limits (logged once).
 * Each direct child of the channel's VM gets a share of the entries, so
 * that a child that names VM after VM cannot crowd its siblings out.
 */
static struct nested_vm *nested_get(struct lh_vm *vm, const char *path)
{
	const char *ctx = lh_vm_channel_log_ctx(vm->vc);
	size_t first = first_name_len(path);
	unsigned int i, share = 0;
	struct nested_vm *n;

	n = nested_find(vm, path);
	if (n) {
		return n;
	}
	for (i = 0; i < vm->nr_vms; i++) {
		if (path[0] && first_name_len(vm->vms[i].path) == first &&
				!strncmp(vm->vms[i].path, path, first)) {
			share++;
		}
	}
	if (vm->nr_vms == LH_MAX_NESTED_VMS + 1 || share >= LH_MAX_NESTED_PER_CHILD ||
			path_depth(path) >= LH_MAX_NESTED_DEPTH) {
		if (!vm->limit_logged) {
			WARN_CTX(ctx, "nested VM %s/%s refused: at most %d nested VMs, %d below each VM %s runs, %d levels deep",
				vm->cfg.name, path, LH_MAX_NESTED_VMS, LH_MAX_NESTED_PER_CHILD,
				vm->cfg.name, LH_MAX_NESTED_DEPTH);
			vm->limit_logged = true;
		}
		return NULL;
	}
	n = &vm->vms[vm->nr_vms++];
	memset(n, 0, sizeof(*n));
	snprintf(n->path, sizeof(n->path), "%s", path);
	if (path[0]) {
		INFO_CTX(ctx, "nested VM %s/%s appears", vm->cfg.name, path);
	}
	return n;
}

/* A VM banned, or one that runs under a banned VM: its parent names it at will. */
static bool nested_banned(const struct lh_vm *vm, const char *path)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vms; i++) {
		if (vm->vms[i].banned && path_within(path, vm->vms[i].path)) {
			return true;
		}
	}
	return false;
}

static int vm_on_connect(struct lh_vm_channel *vc)
{
	struct lh_vm *vm = lh_vm_channel_priv(vc);
	struct nested_vm *own;

	own = nested_get(vm, "");
	own->state = lh_relay_vm_state_create(vm, &vm_state_ops, &vm->mem, vm->cfg.name, "",
		&vm->cfg.limits, &vm->stats);
	return own->state ? 0 : -1;
}

static void vm_on_disconnect(struct lh_vm_channel *vc)
{
	struct lh_vm *vm = lh_vm_channel_priv(vc);
	unsigned int i;

	for (i = 0; i < vm->nr_ports; i++) {
		lh_data_port_vm_down(vm->ports[i]);
	}
	for (i = 0; i < vm->nr_vms; i++) {
		lh_relay_vm_state_destroy(vm->vms[i].state);
	}
	vm->nr_vms = 0;
	vm->limit_logged = false;
	vm->used_relayd = false;
}

static int vm_on_open(struct lh_vm_channel *vc, struct lh_mux_conn *conn,
		enum lttng_hyper_conn_kind kind, const char *path)
{
	struct lh_vm *vm = lh_vm_channel_priv(vc);
	const char *ctx = lh_vm_channel_log_ctx(vc);
	const struct lh_relayd_target *relayd = vm->cfg.relayd;
	bool control = kind == LTTNG_HYPER_CONN_CONTROL;
	const char *host = control ? relayd->control_host : relayd->data_host;
	uint16_t port = control ? relayd->control_port : relayd->data_port;
	struct nested_vm *n;
	int fd;

	if (path[0] && nested_banned(vm, path)) {
		DBG_CTX(ctx, "conn %" PRIu32 ": nested VM %s/%s is banned from this channel connection",
			lh_mux_conn_id(conn), vm->cfg.name, path);
		return -1;
	}
	n = nested_get(vm, path);
	if (!n) {
		return -1;
	}
	if (!n->state) {
		n->state = lh_relay_vm_state_create(vm, &vm_state_ops, &vm->mem, vm->cfg.name,
			path, &vm->cfg.limits, &n->stats);
		if (!n->state) {
			return -1;
		}
	}
	fd = lttng_hyper_tcp_connect(host, port);
	if (fd < 0) {
		WARN_CTX(ctx, "conn %" PRIu32 ": cannot connect to lttng-relayd at %s:%u: %s",
			lh_mux_conn_id(conn), host, port, strerror(errno));
		return -1;
	}
	if (lh_relay_filter_attach(conn, kind, n->state) < 0) {
		char why[192] = "out of memory";

		if (lh_mem_account_exceeded(&vm->mem)) {
			lh_mem_account_describe(&vm->mem, why, sizeof(why));
		}
		ERR_CTX(ctx, "conn %" PRIu32 ": cannot attach the relayd protocol filter: %s",
			lh_mux_conn_id(conn), why);
		close_fd(vm, fd, "relayd socket");
		return -1;
	}
	vm->used_relayd = true;
	DBG_CTX(ctx, "conn %" PRIu32 ": %s connection of VM %s%s%s to lttng-relayd at %s:%u",
		lh_mux_conn_id(conn), control ? "control" : "data", vm->cfg.name,
		path[0] ? "/" : "", path, host, port);
	return fd;
}

static void vm_on_clock_estimate(struct lh_vm_channel *vc, const char *path,
		const struct lttng_hyper_clock_estimate *wire)
{
	struct lh_vm *vm = lh_vm_channel_priv(vc);
	struct nested_vm *n = nested_get(vm, path);

	if (!n) {
		return;
	}
	lh_clock_estimate_from_wire(wire, &n->hop);
	if (!n->have_hop) {
		INFO_CTX(lh_vm_channel_log_ctx(vc), "clock of nested VM %s/%s relayed: error bound %.3f µs against its parent's",
			vm->cfg.name, path, (double) n->hop.error_ns / 1e3);
	}
	n->have_hop = true;
}

static const struct lh_vm_channel_ops vm_channel_ops = {
	.on_connect = vm_on_connect,
	.on_open = vm_on_open,
	.on_clock_estimate = vm_on_clock_estimate,
	.on_disconnect = vm_on_disconnect,
};

static int vm_clock_correction(const struct lh_vm *vm, const char *path,
		struct lh_clock_correction *corr, struct lh_relay_clock_chain *chain)
{
	struct lh_clock_probe *clk = lh_vm_channel_clock(vm->vc);
	struct lh_clock_estimate hops[LH_MAX_NESTED_DEPTH];
	char prefix[LTTNG_HYPER_PATH_MAX_LEN + 1];
	unsigned int nr = 0;
	const char *end = path;

	if (!clk || lh_clock_probe_estimate(clk, &chain->hop[0].est) < 0) {
		return -1;
	}
	snprintf(chain->hop[0].vm, sizeof(chain->hop[0].vm), "%s", vm->cfg.name);
	/* Each prefix of the path is a VM on the way, whose clock its parent relayed. */
	while (*end) {
		const struct nested_vm *n;
		size_t len;

		end = strchr(end + 1, '/');
		if (!end) {
			end = path + strlen(path);
		}
		len = (size_t) (end - path);
		memcpy(prefix, path, len);
		prefix[len] = '\0';
		n = nested_find(vm, prefix);
		if (!n || !n->have_hop || nr + 1 >= LH_MAX_NESTED_DEPTH) {
			return -1;
		}
		hops[nr++] = n->hop;
		chain->hop[nr].est = n->hop;
		snprintf(chain->hop[nr].vm, sizeof(chain->hop[nr].vm), "%s/%s",
			vm->cfg.name, prefix);
	}
	chain->nr = nr + 1;
	return lh_clock_probe_correction_nested(clk, hops, nr, corr, &chain->composed);
}

static int vm_check_room(const struct lh_vm *vm, uint32_t cmd, char *err, size_t errlen)
{
	unsigned int sessions = 0, streams = 0, i;

	for (i = 0; i < vm->nr_vms; i++) {
		unsigned int se, st;

		if (!vm->vms[i].state) {
			continue;
		}
		lh_relay_vm_state_usage(vm->vms[i].state, &se, &st);
		sessions += se;
		streams += st;
	}
	if (cmd == LH_RELAYD_CREATE_SESSION && sessions >= vm->cfg.limits.max_sessions) {
		snprintf(err, errlen, "session limit (%u) of the channel and its nested VMs reached",
			vm->cfg.limits.max_sessions);
		return -1;
	}
	if (cmd == LH_RELAYD_ADD_STREAM && streams >= vm->cfg.limits.max_streams) {
		snprintf(err, errlen, "stream limit (%u) of the channel and its nested VMs reached",
			vm->cfg.limits.max_streams);
		return -1;
	}
	return 0;
}

static void vm_clock_burst(const struct lh_vm *vm)
{
	struct lh_clock_probe *clk = lh_vm_channel_clock(vm->vc);

	if (clk) {
		lh_clock_probe_burst(clk);
	}
}

/* A connection of a banned VM, or of a VM below one. */
static bool conn_banned(struct lh_mux_conn *conn, void *arg)
{
	const struct lh_relay_vm_state *state = lh_relay_filter_state(conn);
	const struct lh_vm *vm = arg;
	unsigned int i, j;

	for (i = 0; i < vm->nr_vms; i++) {
		if (!state || vm->vms[i].state != state || !vm->vms[i].path[0]) {
			continue;
		}
		for (j = 0; j < vm->nr_vms; j++) {
			if (vm->vms[j].banned && path_within(vm->vms[i].path, vm->vms[j].path)) {
				return true;
			}
		}
	}
	return false;
}

/*
 * What a banned VM holds goes with its open connections, which would
 * otherwise keep their partial messages on the channel's account.
 */
static void ban_reset_cb(struct lh_timer *timer, void *arg)
{
	struct lh_vm *vm = arg;
	struct lh_mux *mux = lh_vm_channel_mux(vm->vc);

	vm->ban_reset = NULL;
	if (mux) {
		lh_mux_reset_conns(mux, conn_banned, vm, LTTNG_HYPER_RESET_PROTOCOL);
	}
}

static void vm_ban(struct lh_vm *vm, const char *path)
{
	struct nested_vm *n = nested_find(vm, path);

	if (n && !n->banned) {
		WARN_CTX(lh_vm_channel_log_ctx(vm->vc), "nested VM %s/%s: its connections, and those of the VMs it runs, are refused from now on",
			vm->cfg.name, path);
		n->banned = true;
		/* Not from here: the filter that called is in the middle of one of them. */
		if (!vm->ban_reset) {
			vm->ban_reset = lh_loop_timer(vm->loop, 0, ban_reset_cb, vm);
		}
	}
}

const char *lh_vm_name(const struct lh_vm *vm)
{
	return vm->cfg.name;
}

/* Tree order: a VM, then the VMs below it ('/' sorts before any name character). */
static int nested_cmp(const void *a, const void *b)
{
	const char *p = (*(const struct nested_vm *const *) a)->path;
	const char *q = (*(const struct nested_vm *const *) b)->path;

	for (; *p && *p == *q; p++, q++) {
	}
	if (*p == *q) {
		return 0;
	}
	if (*p == '/' || *q == '/') {
		return *p == '/' ? -1 : 1;
	}
	return (unsigned char) *p - (unsigned char) *q;
}

static void report_clock(const struct lh_vm *vm, const char *path, struct lh_vm_report *r)
{
	struct lh_relay_clock_chain chain;
	struct lh_clock_correction corr;

	r->have_clock = !vm_clock_correction(vm, path, &corr, &chain);
	if (r->have_clock) {
		r->clock = chain.composed;
	}
}

void lh_vm_report(const struct lh_vm *vm, void (*cb)(const struct lh_vm_report *r, void *arg),
		void *arg)
{
	const struct nested_vm *sorted[LH_MAX_NESTED_VMS + 1];
	struct lh_vm_report r;
	unsigned int i, nr = 0;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", vm->cfg.name);
	lh_vm_channel_get_status(vm->vc, &r.channel);
	r.stats = vm->stats;
	r.mem = vm->mem;
	r.disk_used = lh_disk_quota_used(&vm->disk);
	r.disk_limit = vm->disk.limit;
	if (vm->nr_vms && !vm->vms[0].path[0] && vm->vms[0].state) {
		lh_relay_vm_state_usage(vm->vms[0].state, &r.sessions, &r.streams);
	}
	report_clock(vm, "", &r);
	cb(&r, arg);

	for (i = 0; i < vm->nr_vms; i++) {
		if (vm->vms[i].path[0]) {
			sorted[nr++] = &vm->vms[i];
		}
	}
	qsort(sorted, nr, sizeof(*sorted), nested_cmp);
	for (i = 0; i < nr; i++) {
		const struct nested_vm *n = sorted[i];
		const char *slash = strrchr(n->path, '/');

		memset(&r, 0, sizeof(r));
		snprintf(r.name, sizeof(r.name), "%s/%s", vm->cfg.name, n->path);
		snprintf(r.parent, sizeof(r.parent), "%s%s%.*s", vm->cfg.name, slash ? "/" : "",
			slash ? (int) (slash - n->path) : 0, n->path);
		r.depth = path_depth(n->path);
		r.banned = n->banned;
		r.stats = n->stats;
		if (n->state) {
			lh_relay_vm_state_usage(n->state, &r.sessions, &r.streams);
		}
		report_clock(vm, n->path, &r);
		cb(&r, arg);
	}
}

struct lh_vm *lh_vm_create(struct lh_loop *loop, const struct lh_vm_config *cfg)
{
	struct lh_vm_channel_config vc_cfg = {
		.name = cfg->name,
		.uri = cfg->uri,
		.stall_timeout_ms = cfg->relayd_timeout_ms,
		.max_conns = cfg->max_conns,
	};
	struct lh_vm *vm;

	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		PERROR("calloc");
		return NULL;
	}
	vm->cfg = *cfg;
	vm->loop = loop;
	lh_mem_account_init(&vm->mem, cfg->max_memory, "--max-memory");
	vc_cfg.mem = &vm->mem;
	vm->vc = lh_vm_channel_create(loop, &vc_cfg, &vm_channel_ops, vm);
	if (!vm->vc) {
		free(vm);
		return NULL;
	}
	vm->cfg.name = lh_vm_channel_name(vm->vc);
	lh_disk_quota_init(&vm->disk, cfg->output, vm->cfg.name, cfg->max_disk);
	return vm;
}

static struct lh_relay_vm_state *vm_port_state(const struct lh_vm *vm)
{
	/* The channel's own VM comes first, from its connection's start. */
	if (!vm->nr_vms || vm->vms[0].path[0]) {
		return NULL;
	}
	return vm->vms[0].state;
}

int lh_vm_add_data_port(struct lh_vm *vm, const struct lh_data_port_config *cfg)
{
	const struct lh_data_port_vm port_vm = {
		.vm = vm,
		.mem = &vm->mem,
		.state = vm_port_state,
	};
	struct lh_data_port **ports, *port;

	ports = realloc(vm->ports, (vm->nr_ports + 1) * sizeof(*ports));
	if (!ports) {
		PERROR("realloc");
		return -1;
	}
	vm->ports = ports;
	port = lh_data_port_create(vm->loop, &port_vm, lh_vm_channel_log_ctx(vm->vc), cfg);
	if (!port) {
		return -1;
	}
	vm->ports[vm->nr_ports++] = port;
	return 0;
}

int lh_vm_start(struct lh_vm *vm)
{
	unsigned int i;

	if (lh_vm_channel_start(vm->vc) < 0) {
		return -1;
	}
	for (i = 0; i < vm->nr_ports; i++) {
		if (lh_data_port_start(vm->ports[i]) < 0) {
			return -1;
		}
	}
	return 0;
}

static void disk_drop_cb(struct lh_timer *timer, void *arg)
{
	struct lh_vm *vm = arg;

	vm->disk_drop = NULL;
	lh_vm_channel_drop(vm->vc, "over --max-disk: its sessions end");
}

static int vm_disk_charge(struct lh_vm *vm, uint64_t bytes, char *err, size_t errlen)
{
	if (lh_disk_quota_charge(&vm->disk, bytes, err, errlen) == 0) {
		return 0;
	}
	/*
	 * The caller closes what it checks (the channel, or a data port's
	 * connection); the channel goes too, from the loop, so that every
	 * session of the VM ends, whatever carries its packets.
	 */
	if (!vm->disk_drop) {
		vm->disk_drop = lh_loop_timer(vm->loop, 0, disk_drop_cb, vm);
	}
	return -1;
}

static int vm_disk_check_session(struct lh_vm *vm, char *err, size_t errlen)
{
	return lh_disk_quota_check_session(&vm->disk, err, errlen);
}

static void vm_port_sessions_changed(struct lh_vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_ports; i++) {
		lh_data_port_sessions_changed(vm->ports[i]);
	}
}

static const struct lh_relay_vm_ops vm_state_ops = {
	.check_room = vm_check_room,
	.disk_charge = vm_disk_charge,
	.disk_check_session = vm_disk_check_session,
	.clock_correction = vm_clock_correction,
	.clock_burst = vm_clock_burst,
	.ban = vm_ban,
	.sessions_changed = vm_port_sessions_changed,
};

/*
 * The sessions and streams this VM owns died with lttng-relayd, and a new
 * one hands out the same ids again: the VM must start over on a new
 * channel connection, even when its connections are closed already.
 */
void lh_vm_relayd_lost(struct lh_vm *vm)
{
	if (!vm->used_relayd) {
		return;
	}
	lh_vm_channel_drop(vm->vc, "lttng-relayd went away with this VM's sessions");
}

void lh_vm_destroy(struct lh_vm *vm)
{
	unsigned int i;

	if (!vm) {
		return;
	}
	/* The ports first: the channel's end would have them check sessions. */
	for (i = 0; i < vm->nr_ports; i++) {
		lh_data_port_destroy(vm->ports[i]);
	}
	vm->nr_ports = 0;
	free(vm->ports);
	vm->ports = NULL;
	lh_vm_channel_destroy(vm->vc);
	if (vm->disk_drop) {
		lh_timer_cancel(vm->disk_drop);
	}
	if (vm->ban_reset) {
		lh_timer_cancel(vm->ban_reset);
	}
	free(vm);
}
