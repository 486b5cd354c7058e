/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the channel path, the host's mux (src/common/mux*.c) over
 * a real socket pair in a real event loop, fed a guest's byte stream:
 * what a VM writes into its virtio-serial port. Each connection it opens
 * gets a local socket whose far end reads and discards, as lttng-relayd
 * would take the bytes; what the host sends back to the guest is read
 * and discarded too. The input ends with the guest's EOF. Its first
 * byte picks the host's memory limit: one that a window and a pipe fit
 * in, or one that refuses even a pipe, so that the mux's fallbacks and
 * its failures on a refused charge run too.
 *
 * Invariants: the host holds no more than the account's limit at any
 * time (the account refuses past it), and once the mux is gone every
 * byte it charged has been given back.
 */
#include <errno.h>
#include <inttypes.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/loop.h"
#include "common/mem-account.h"
#include "common/mux.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_MEMORY		(4U << 20)
#define FUZZ_MIN_MEMORY		(64U << 10)
#define FUZZ_WINDOW		(64U << 10)
#define MAX_LOCALS		64
/* Loop passes with nothing moving before the input counts as consumed. */
#define IDLE_STEPS		4
#define MAX_STEPS		2000

struct run {
	struct lh_mux *mux;
	int locals[MAX_LOCALS];	/* the far ends of the connections' local sockets */
	unsigned int nr_locals;
};

static struct lh_loop *loop;

static int on_open(struct lh_mux *mux, struct lh_mux_conn *conn,
		enum lttng_hyper_conn_kind kind, const char *path)
{
	struct run *run = lh_mux_get_priv(mux);
	int sv[2];

	if (run->nr_locals == MAX_LOCALS ||
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv)) {
		return -1;
	}
	run->locals[run->nr_locals++] = sv[1];
	return sv[0];
}

static void on_channel_error(struct lh_mux *mux, const char *why)
{
	struct run *run = lh_mux_get_priv(mux);

	lh_mux_destroy(mux);
	run->mux = NULL;
}

static const struct lh_mux_ops ops = {
	.on_open = on_open,
	.on_channel_error = on_channel_error,
};

static void stop_cb(struct lh_timer *timer, void *arg)
{
	lh_loop_stop(loop);
}

/* One pass of the loop: what is ready, then the timers due. */
static void step(void)
{
	FUZZ_CHECK(lh_loop_timer(loop, 0, stop_cb, NULL) != NULL, "no timer");
	FUZZ_CHECK(lh_loop_run(loop) == 0, "loop failed");
}

/* Read and discard what waits on fd; returns the bytes read. */
static size_t drain(int fd)
{
	static uint8_t sink[65536];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, sink, sizeof(sink))) > 0) {
		total += (size_t) n;
	}
	return total;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	loop = lh_loop_create();
	FUZZ_CHECK(loop != NULL, "no loop");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lh_mem_account mem;
	struct lh_mux_config cfg;
	struct run run = { .nr_locals = 0 };
	unsigned int i, idle = 0, steps;
	size_t sent = 0;
	int sv[2];

	if (!size) {
		return 0;
	}
	lh_mem_account_init(&mem, data[0] & 1 ? FUZZ_MIN_MEMORY : FUZZ_MAX_MEMORY,
		"--max-memory");
	data++;
	size--;
	FUZZ_CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv),
		"socketpair: %s", strerror(errno));
	lh_mux_config_init(&cfg, LH_MUX_HOST);
	cfg.log_ctx = "vm=fuzz";
	cfg.vm_name = "fuzz";
	cfg.window = FUZZ_WINDOW;
	cfg.allow_paths = true;
	cfg.mem = &mem;
	run.mux = lh_mux_create(loop, sv[0], &cfg, &ops, &run);
	FUZZ_CHECK(run.mux != NULL, "no mux");

	for (steps = 0; run.mux && steps < MAX_STEPS && idle < IDLE_STEPS; steps++) {
		size_t moved = 0;
		ssize_t n = 0;

		if (sent < size) {
			n = write(sv[1], data + sent, size - sent);
			if (n > 0) {
				sent += (size_t) n;
				moved += (size_t) n;
			} else if (n < 0 && errno != EAGAIN) {
				break;
			}
		} else if (sent == size) {
			/* The guest is done: its EOF is the last thing the host reads. */
			shutdown(sv[1], SHUT_WR);
			sent++;
			moved++;
		}
		step();
		moved += drain(sv[1]);
		for (i = 0; i < run.nr_locals; i++) {
			moved += drain(run.locals[i]);
		}
		FUZZ_CHECK(mem.used <= mem.limit, "%" PRIu64 " bytes held", mem.used);
		idle = moved ? 0 : idle + 1;
	}
	if (run.mux) {
		lh_mux_destroy(run.mux);
	}
	/* Timers the mux cancelled, and its deferred work, run out here. */
	step();
	FUZZ_CHECK(mem.used == 0, "%" PRIu64 " bytes still charged", mem.used);
	close(sv[1]);
	for (i = 0; i < run.nr_locals; i++) {
		close(run.locals[i]);
	}
	return 0;
}
