/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The bridge of an ivshmem channel (ivshmem-bridge.h). Its bell
 * (ivshmem.h) is the guest's virtio-serial port or, on the host, the
 * socket of QEMU's chardev of that port: QEMU >= 4 delivers
 * ivshmem-doorbell's interrupts only by MSI-X, which needs a guest
 * driver, and takes the peers' eventfds once, so a host relay that
 * restarts could not ring again. The host's bell also tells it the VM is
 * gone: QEMU closes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/ivshmem-bridge.h"
#include "common/transport.h"

/*
 * Idle waits: a short spin (shorter in a guest, where each step's
 * syscall is dear and what it waits for mostly comes through its socket
 * or its bell); the host then sleeps doubling from 50 us to 5 ms. Then,
 * if the peer can ring us, sleep until it does (at most a second: a lost
 * ring costs a second); otherwise poll every 5 ms, a few hundred wakeups
 * a second.
 */
#define BRIDGE_SPINS		64
#define BRIDGE_GUEST_SPINS	4
#define BRIDGE_SLEEP_MIN_NS	50000L
#define BRIDGE_SLEEP_MAX_NS	5000000L
#define BRIDGE_SLEEP_RUNG_NS	1000000000L

/* What a step changed (lh_ivshmem_bridge.kick). */
#define KICK_NEWS	(1U << 0)	/* our epoch, ack or producer index: ring a sleeper */
#define KICK_ROOM	(1U << 1)	/* our consumer index: ring one that waits for room */

static uint32_t new_epoch(uint32_t old)
{
	uint32_t e = 0;
	struct timespec ts;

	if (getrandom(&e, sizeof(e), GRND_NONBLOCK) != sizeof(e)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		e = (uint32_t) ts.tv_nsec ^ (uint32_t) ts.tv_sec ^ ((uint32_t) getpid() << 16);
	}
	while (e == 0 || e == old) {
		e++;
	}
	return e;
}

/* Accept the peer's epoch pe: drop what its earlier sessions left in our rx ring. */
static void accept_peer(struct lh_ivshmem_bridge *b, uint32_t pe)
{
	b->rx_cons = atomic_load_explicit(&b->peer->prod, memory_order_acquire);
	atomic_store_explicit(&b->own->cons, b->rx_cons, memory_order_release);
	b->peer_epoch = pe;
	atomic_store_explicit(&b->own->ack, pe, memory_order_release);
	b->kick |= KICK_NEWS;
}

/*
 * One pass: returns 1 if something moved, 0 if idle, -1 to stop (with a
 * reason in why, or none when the user closed the socket).
 */
static int bridge_step(struct lh_ivshmem_bridge *b, char *why, size_t whylen)
{
	uint32_t pe, pp, pc, used, off, len;
	int progress = 0;
	ssize_t n;

	if (b->bell_gone) {
		snprintf(why, whylen, "its bell closed: the VM's QEMU has gone");
		return -1;
	}
	/* Each word is read once into a local; only the local is used after its check. */
	pe = atomic_load_explicit(&b->peer->epoch, memory_order_acquire);
	if (!b->established) {
		if (pe == 0) {
			return 0;
		}
		if (pe != b->peer_epoch) {
			accept_peer(b, pe);
			progress = 1;
		}
		if (atomic_load_explicit(&b->peer->ack, memory_order_acquire) != b->epoch) {
			return progress;
		}
		b->established = true;
	} else if (pe != b->peer_epoch && (pe || !b->peer_closed)) {
		/* Closed, not reopened: what it wrote before is still ours to pass on. */
		if (pe == 0) {
			b->peer_closed = true;
		} else {
			snprintf(why, whylen, "the %s end reopened: ending this session",
				lh_ivshmem_side_name(!lh_ivshmem_slot_side(b->slot)));
			return -1;
		}
	}

	/* The peer's ring to our socket. */
	pp = atomic_load_explicit(&b->peer->prod, memory_order_acquire);
	used = pp - b->rx_cons;
	if (used > b->ring_size) {
		b->fault = true;
		snprintf(why, whylen, "the %s's producer index %u is %s our consumer index %u "
			"(ring of %u bytes): closing the channel", lh_ivshmem_side_name(!lh_ivshmem_slot_side(b->slot)), pp,
			(int32_t) used < 0 ? "behind" : "too far ahead of", b->rx_cons,
			b->ring_size);
		return -1;
	}
	if (used) {
		off = b->rx_cons & (b->ring_size - 1);
		len = used < b->ring_size - off ? used : b->ring_size - off;
		n = send(b->fd, b->rx + off, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			b->rx_cons += (uint32_t) n;
			atomic_store_explicit(&b->own->cons, b->rx_cons, memory_order_release);
			b->sock_full = false;
			b->kick |= KICK_ROOM;
			progress = 1;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			b->sock_full = true;
		} else if (errno != EINTR) {
			return -1;
		}
	}

	if (b->peer_closed) {
		if (pp == b->rx_cons) {
			snprintf(why, whylen, "the %s end closed: ending this session",
				lh_ivshmem_side_name(!lh_ivshmem_slot_side(b->slot)));
			return -1;
		}
		return progress;
	}

	/* Our socket to our ring (after a hangup, what the user wrote before it). */
	pc = atomic_load_explicit(&b->peer->cons, memory_order_acquire);
	used = b->tx_prod - pc;
	if (used > b->ring_size) {
		b->fault = true;
		snprintf(why, whylen, "the %s's consumer index %u is %s our producer index %u "
			"(ring of %u bytes): closing the channel", lh_ivshmem_side_name(!lh_ivshmem_slot_side(b->slot)), pc,
			(int32_t) used < 0 ? "ahead of" : "too far behind", b->tx_prod,
			b->ring_size);
		return -1;
	}
	if (used < b->ring_size) {
		off = b->tx_prod & (b->ring_size - 1);
		len = b->ring_size - used;
		if (len > b->ring_size - off) {
			len = b->ring_size - off;
		}
		n = read(b->fd, b->tx + off, len);
		if (n > 0) {
			b->tx_prod += (uint32_t) n;
			atomic_store_explicit(&b->own->prod, b->tx_prod, memory_order_release);
			b->kick |= KICK_NEWS;
			progress = 1;
		} else if (n == 0) {
			return -1;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			return -1;
		}
	}
	return progress;
}

/* The guest's bell is its virtio-serial port; the host's, QEMU's socket of it. */
static int bell_open(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		return lh_unix_connect(path);
	}
	return open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
}

/* Our bells word: our epoch while the peer can hear us ring. */
static void bell_advertise(struct lh_ivshmem_bridge *b)
{
	atomic_store_explicit(&b->own->bells, b->bell >= 0 && !b->bell_hup ? b->epoch : 0,
		memory_order_release);
}

/*
 * A guest's port hangs up while no host holds its socket (the host relay
 * is down): then it cannot ring nor be rung.
 */
static void bell_probe(struct lh_ivshmem_bridge *b)
{
	struct pollfd pfd = { .fd = b->bell, .events = POLLIN };
	bool hup;

	if (b->bell < 0 || lh_ivshmem_slot_side(b->slot) == LH_IVSHMEM_HOST) {
		return;
	}
	hup = poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR));
	if (hup != b->bell_hup) {
		b->bell_hup = hup;
		bell_advertise(b);
	}
}

/* Empty the bell. Its end: the host's QEMU has gone, the guest's host has. */
static void bell_drain(struct lh_ivshmem_bridge *b)
{
	char buf[64];
	unsigned int i;
	ssize_t n = -1;

	/* Bounded: a guest that rings without end does not hold us here. */
	for (i = 0; i < 16; i++) {
		n = read(b->bell, buf, sizeof(buf));
		if (n <= 0) {
			break;
		}
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		if (lh_ivshmem_slot_side(b->slot) == LH_IVSHMEM_HOST) {
			b->bell_gone = true;
		} else {
			b->bell_hup = true;
			bell_advertise(b);
		}
	}
}

/*
 * After a change of a word the peer may sleep on (kick: KICK_NEWS, or
 * KICK_ROOM only for a peer that waits for room): ring, once per sleep
 * of the peer's. A full bell has rung already (the peer has yet to drain
 * it): no error matters.
 */
static void ring_if_waiting(struct lh_ivshmem_bridge *b, unsigned int kick)
{
	static const char ding = '!';
	uint32_t w;

	if (b->bell < 0 || b->bell_hup) {
		return;
	}
	/* Pairs with the sleeper's fence between its waiting word and its last look. */
	atomic_thread_fence(memory_order_seq_cst);
	w = atomic_load_explicit(&b->peer->waiting, memory_order_relaxed);
	if (!w || w == b->rung || (!(kick & KICK_NEWS) && !(w & LH_IVSHMEM_WAIT_ROOM))) {
		return;
	}
	b->rung = w;
	if (send(b->bell, &ding, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno == ENOTSOCK) {
		(void) !write(b->bell, &ding, 1);
	}
}

/* The peer rings us when we sleep: it has a bell, and so do we. */
static bool can_be_rung(struct lh_ivshmem_bridge *b)
{
	uint32_t pe;

	bell_probe(b);
	if (b->bell < 0 || b->bell_hup) {
		return false;
	}
	pe = atomic_load_explicit(&b->peer->epoch, memory_order_acquire);
	return pe == 0 || atomic_load_explicit(&b->peer->bells, memory_order_acquire) == pe;
}

/*
 * Set (on) or clear our waiting word: a new value each time, with
 * LH_IVSHMEM_WAIT_ROOM when our ring is full (the user's bytes wait for
 * the peer to consume).
 */
static void arm(struct lh_ivshmem_bridge *b, bool on)
{
	uint32_t w = 0, pc;

	if (on) {
		/* In 1..2^31 - 1: bit 0 of the word is LH_IVSHMEM_WAIT_ROOM. */
		b->wait_gen = (b->wait_gen + 1) & 0x7fffffffU;
		if (!b->wait_gen) {
			b->wait_gen = 1;
		}
		w = b->wait_gen << 1;
		pc = atomic_load_explicit(&b->peer->cons, memory_order_relaxed);
		if (b->tx_prod - pc >= b->ring_size) {
			w |= LH_IVSHMEM_WAIT_ROOM;
		}
	}
	atomic_store_explicit(&b->own->waiting, w, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	b->armed = on;
}

/*
 * Idle: wait for our socket (the user writes, or frees room), for the
 * bell, or at most sleep_ns for the memory to change.
 */
static void bridge_wait(struct lh_ivshmem_bridge *b, long sleep_ns)
{
	struct timespec ts = { .tv_sec = sleep_ns / 1000000000L, .tv_nsec = sleep_ns % 1000000000L };
	struct pollfd pfd[2] = { { .fd = b->fd }, { .fd = -1, .events = POLLIN } };
	uint32_t pc;

	if (b->established) {
		pc = atomic_load_explicit(&b->peer->cons, memory_order_relaxed);
		if (b->tx_prod - pc < b->ring_size) {
			pfd[0].events |= POLLIN;
		}
		if (b->sock_full) {
			pfd[0].events |= POLLOUT;
		}
	}
	/* POLLHUP comes whatever the events: once seen, leave the socket out. */
	if (b->hup) {
		pfd[0].fd = -1;
	}
	if (b->bell >= 0 && !b->bell_hup) {
		pfd[1].fd = b->bell;
	}
	if (ppoll(pfd, 2, &ts, NULL) <= 0) {
		return;
	}
	if (pfd[0].revents & (POLLHUP | POLLERR)) {
		b->hup = true;
	}
	if (pfd[1].revents) {
		bell_drain(b);
	}
}

/* Set our waiting word, look at the memory once more, and sleep until rung. */
static int bridge_sleep(struct lh_ivshmem_bridge *b, char *why, size_t whylen)
{
	int ret;

	arm(b, true);
	ret = bridge_step(b, why, whylen);
	if (ret == 0) {
		bridge_wait(b, BRIDGE_SLEEP_RUNG_NS);
	}
	arm(b, false);
	return ret;
}

static void *bridge_main(void *arg)
{
	struct lh_ivshmem_bridge *b = arg;
	char why[256] = "";
	bool guest = lh_ivshmem_slot_side(b->slot) == LH_IVSHMEM_GUEST;
	unsigned int max_spins = guest ? BRIDGE_GUEST_SPINS : BRIDGE_SPINS;
	unsigned int spins = 0;
	long sleep_ns = 0;
	bool rung;
	int ret;

	/* A name of its own: its CPU time is the channel's, apart from its user's. */
	pthread_setname_np(pthread_self(), "lh-ivshmem");
	/* Our new epoch: wake a sleeping peer. */
	ring_if_waiting(b, KICK_NEWS);
	while (!lh_ivshmem_slot_stopping(b->slot)) {
		/*
		 * Idle after the spins: sleep until rung if the peer rings,
		 * else poll. The host polls a while first, so that the guest
		 * need not ring for a prompt answer (its rings are dear). The
		 * user closed: once established, pass on what it wrote until
		 * read() sees the end, unless the peer stopped reading for all
		 * the short sleeps.
		 */
		rung = spins == max_spins && !b->hup &&
			(guest || sleep_ns == BRIDGE_SLEEP_MAX_NS) && can_be_rung(b);
		if (rung) {
			ret = bridge_sleep(b, why, sizeof(why));
		} else {
			ret = bridge_step(b, why, sizeof(why));
		}
		if (b->kick) {
			ring_if_waiting(b, b->kick);
			b->kick = 0;
		}
		if (ret < 0) {
			break;
		}
		if (ret > 0) {
			spins = 0;
			sleep_ns = 0;
			continue;
		}
		if (rung) {
			continue;
		}
		if (b->hup && (!b->established || sleep_ns == BRIDGE_SLEEP_MAX_NS)) {
			break;
		}
		if (spins < max_spins) {
			spins++;
			continue;
		}
		sleep_ns = sleep_ns ? sleep_ns * 2 : BRIDGE_SLEEP_MIN_NS;
		if (sleep_ns > BRIDGE_SLEEP_MAX_NS) {
			sleep_ns = BRIDGE_SLEEP_MAX_NS;
		}
		bridge_wait(b, sleep_ns);
	}
	if (why[0]) {
		lh_ivshmem_slot_say(b->slot, why, b->fault);
	}
	/* Tell the peer this session is over. */
	lh_ivshmem_slot_track(b->slot, NULL);
	atomic_store_explicit(&b->own->bells, 0, memory_order_relaxed);
	atomic_store_explicit(&b->own->epoch, 0, memory_order_release);
	ring_if_waiting(b, KICK_NEWS);
	munmap(b->map, b->map_len);
	if (b->bell >= 0) {
		close(b->bell);
	}
	close(b->fd);
	lh_ivshmem_slot_release(b->slot);
	free(b);
	return NULL;
}

int lh_ivshmem_bridge_bell(struct lh_ivshmem_bridge *b, const char *path)
{
	b->bell = bell_open(path);
	if (b->bell < 0) {
		return -1;
	}
	bell_probe(b);
	return 0;
}

int lh_ivshmem_bridge_start(struct lh_ivshmem_bridge *b, int fd)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int err;

	b->fd = fd;
	b->epoch = new_epoch(atomic_load_explicit(&b->own->epoch, memory_order_relaxed));
	b->tx_prod = atomic_load_explicit(&b->own->prod, memory_order_relaxed);
	atomic_store_explicit(&b->own->ack, 0, memory_order_relaxed);
	atomic_store_explicit(&b->own->prod, b->tx_prod, memory_order_relaxed);
	atomic_store_explicit(&b->own->waiting, 0, memory_order_relaxed);
	bell_advertise(b);
	/* The new epoch last: the peer ends its session and accepts this one. */
	atomic_store_explicit(&b->own->epoch, b->epoch, memory_order_release);
	lh_ivshmem_slot_track(b->slot, &b->own->epoch);

	/* Signals are the daemon's main thread's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&tid, &attr, bridge_main, b);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		lh_ivshmem_slot_track(b->slot, NULL);
		atomic_store_explicit(&b->own->bells, 0, memory_order_relaxed);
		atomic_store_explicit(&b->own->epoch, 0, memory_order_release);
		errno = err;
		return -1;
	}
	return 0;
}
