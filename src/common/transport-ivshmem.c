/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ivshmem:PATH (the guest) and ivshmem-host:PATH (the host): a channel
 * over shared memory (layout and session rules in ivshmem.h). open()
 * maps PATH and starts a bridge thread that moves bytes between the
 * shared rings and one end of a socketpair; the caller gets the other
 * end, so the mux and the endpoint run it as any socket. Both ends
 * "connect": the channel exists once mapped. The bridge ends when its
 * socket's user closes it, when the peer reopens or closes, or (the
 * guest is untrusted) when an index read from the memory is out of
 * range; then the user sees the end of the stream and reopens.
 *
 * The bridge runs in a thread of a daemon whose log hook is not
 * thread-safe: it never logs, it leaves why it stopped for the next
 * open() of the path to log.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/ivshmem.h"
#include "common/log.h"
#include "common/transport.h"

/*
 * Idle waits: a short spin, then sleeps doubling from 50 us to 5 ms (the
 * peer cannot wake us): an idle end costs a few hundred wakeups a second.
 */
#define BRIDGE_SPINS		64
#define BRIDGE_SLEEP_MIN_NS	50000L
#define BRIDGE_SLEEP_MAX_NS	5000000L

/*
 * One per path and side this process has opened, kept for its life: it
 * lets a new open() stop and wait for the previous bridge (two producers
 * on one ring would mix streams), and holds that bridge's last words.
 */
struct slot {
	struct slot *next;
	char path[sizeof(((struct lttng_hyper_channel_uri *) 0)->path)];
	enum lh_ivshmem_side side;
	bool busy;			/* a bridge runs */
	_Atomic uint32_t *epoch;	/* its epoch word while mapped, for exit_cb */
	atomic_bool stop;		/* a new open() wants it gone */
	char why[256];			/* why the last bridge stopped, to log */
	bool why_warn;			/* a fault, not the peer's ordinary reopen */
};

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_cond = PTHREAD_COND_INITIALIZER;
static struct slot *slots;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static pid_t exit_pid;

/*
 * The process exits (a daemon stopping): its bridges die with it, so
 * close their sessions here, or the peer would learn of it only at our
 * next open.
 */
static void exit_cb(void)
{
	struct slot *s;

	/* A forked child that exits closes nothing of its parent's. */
	if (getpid() != exit_pid) {
		return;
	}
	pthread_mutex_lock(&slots_lock);
	for (s = slots; s; s = s->next) {
		if (s->epoch) {
			atomic_store_explicit(s->epoch, 0, memory_order_release);
		}
	}
	pthread_mutex_unlock(&slots_lock);
}

static void exit_register(void)
{
	exit_pid = getpid();
	atexit(exit_cb);
}

struct bridge {
	struct slot *slot;
	int fd;				/* our end of the socketpair */
	void *map;
	size_t map_len;
	struct lh_ivshmem_block *own, *peer;
	uint8_t *tx, *rx;		/* the rings we write and read */
	uint32_t ring_size;
	uint32_t epoch, peer_epoch;	/* ours; the peer's we accepted (0: none) */
	/* Our indices: the truth is here, never read back from the memory. */
	uint32_t tx_prod, rx_cons;
	bool established;
	bool hup;			/* the user closed its end */
	bool sock_full;			/* our last send() would block */
	bool fault;			/* the peer broke the rules */
};

static const char *side_name(enum lh_ivshmem_side side)
{
	return side == LH_IVSHMEM_HOST ? "host" : "guest";
}

static enum lh_ivshmem_side uri_side(const struct lttng_hyper_channel_uri *uri)
{
	return uri->transport == &lh_transport_ivshmem_host ? LH_IVSHMEM_HOST : LH_IVSHMEM_GUEST;
}

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

/*
 * Claim the slot of path and side: stop its running bridge and wait for
 * it (bounded by its longest sleep), log its last words.
 */
static struct slot *slot_claim(const char *path, enum lh_ivshmem_side side)
{
	struct slot *s;

	pthread_once(&exit_once, exit_register);
	pthread_mutex_lock(&slots_lock);
	for (s = slots; s; s = s->next) {
		if (s->side == side && !strcmp(s->path, path)) {
			break;
		}
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			pthread_mutex_unlock(&slots_lock);
			errno = ENOMEM;
			return NULL;
		}
		snprintf(s->path, sizeof(s->path), "%s", path);
		s->side = side;
		s->next = slots;
		slots = s;
	}
	atomic_store(&s->stop, true);
	while (s->busy) {
		pthread_cond_wait(&slots_cond, &slots_lock);
	}
	if (s->why[0]) {
		lh_log(s->why_warn ? LH_LOG_WARN : LH_LOG_INFO, NULL, "ivshmem %s end of %s: %s",
			side_name(side), path, s->why);
		s->why[0] = '\0';
	}
	atomic_store(&s->stop, false);
	s->busy = true;
	pthread_mutex_unlock(&slots_lock);
	return s;
}

static void slot_release(struct slot *s, const char *why, bool warn)
{
	pthread_mutex_lock(&slots_lock);
	if (why) {
		snprintf(s->why, sizeof(s->why), "%s", why);
		s->why_warn = warn;
	}
	s->busy = false;
	pthread_cond_broadcast(&slots_cond);
	pthread_mutex_unlock(&slots_lock);
}

/*
 * Map path and check or write its header. The host sizes a new file and
 * writes the layout from its own file size, never reading it back; the
 * guest takes the host's layout once it is there (EAGAIN before, so that
 * the endpoint retries), checked against what it mapped.
 */
static int map_region(struct bridge *b, const char *path, enum lh_ivshmem_side side)
{
	bool host = side == LH_IVSHMEM_HOST;
	struct lh_ivshmem_hdr *hdr;
	uint32_t ring, hdr_size;
	struct stat st;
	uint64_t size;
	int fd, saved;

	fd = open(path, O_RDWR | O_CLOEXEC | (host ? O_CREAT : 0), 0600);
	if (fd < 0) {
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		goto error;
	}
	size = (uint64_t) st.st_size;
	if (host && size == 0) {
		if (ftruncate(fd, LH_IVSHMEM_DEFAULT_SIZE) < 0) {
			goto error;
		}
		size = LH_IVSHMEM_DEFAULT_SIZE;
	}
	if (size < LH_IVSHMEM_HDR_SIZE + 2 * LH_IVSHMEM_MIN_RING || size > (1ULL << 31)) {
		errno = EINVAL;
		goto error;
	}
	b->map_len = (size_t) size;
	b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b->map == MAP_FAILED) {
		goto error;
	}
	close(fd);
	hdr = b->map;
	if (host) {
		for (ring = LH_IVSHMEM_MIN_RING; 2 * (uint64_t) ring * 2 <= size - LH_IVSHMEM_HDR_SIZE;
				ring *= 2) {
		}
		hdr->version = LH_IVSHMEM_VERSION;
		hdr->hdr_size = LH_IVSHMEM_HDR_SIZE;
		hdr->ring_size = ring;
		atomic_store_explicit(&hdr->magic, LH_IVSHMEM_MAGIC, memory_order_release);
		hdr_size = LH_IVSHMEM_HDR_SIZE;
	} else {
		if (atomic_load_explicit(&hdr->magic, memory_order_acquire) != LH_IVSHMEM_MAGIC) {
			errno = EAGAIN;
			goto unmap;
		}
		hdr_size = hdr->hdr_size;
		ring = hdr->ring_size;
		if (hdr->version != LH_IVSHMEM_VERSION || hdr_size != LH_IVSHMEM_HDR_SIZE ||
				ring < LH_IVSHMEM_MIN_RING || (ring & (ring - 1)) ||
				hdr_size + 2 * (uint64_t) ring > size) {
			errno = EPROTO;
			goto unmap;
		}
	}
	b->ring_size = ring;
	b->own = &hdr->side[side];
	b->peer = &hdr->side[!side];
	b->tx = (uint8_t *) b->map + hdr_size + (host ? ring : 0);
	b->rx = (uint8_t *) b->map + hdr_size + (host ? 0 : ring);
	return 0;

unmap:
	saved = errno;
	munmap(b->map, b->map_len);
	errno = saved;
	return -1;
error:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Accept the peer's epoch pe: drop what its earlier sessions left in our rx ring. */
static void accept_peer(struct bridge *b, uint32_t pe)
{
	b->rx_cons = atomic_load_explicit(&b->peer->prod, memory_order_acquire);
	atomic_store_explicit(&b->own->cons, b->rx_cons, memory_order_release);
	b->peer_epoch = pe;
	atomic_store_explicit(&b->own->ack, pe, memory_order_release);
}

/*
 * One pass: returns 1 if something moved, 0 if idle, -1 to stop (with a
 * reason in why, or none when the user closed the socket).
 */
static int bridge_step(struct bridge *b, char *why, size_t whylen)
{
	uint32_t pe, pp, pc, used, off, len;
	int progress = 0;
	ssize_t n;

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
	} else if (pe != b->peer_epoch) {
		snprintf(why, whylen, "the %s end %s: ending this session",
			side_name(!b->slot->side), pe ? "reopened" : "closed");
		return -1;
	}

	/* The peer's ring to our socket. */
	pp = atomic_load_explicit(&b->peer->prod, memory_order_acquire);
	used = pp - b->rx_cons;
	if (used > b->ring_size) {
		b->fault = true;
		snprintf(why, whylen, "the %s's producer index %u is %s our consumer index %u "
			"(ring of %u bytes): closing the channel", side_name(!b->slot->side), pp,
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
			progress = 1;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			b->sock_full = true;
		} else if (errno != EINTR) {
			return -1;
		}
	}

	/* Our socket to our ring (after a hangup, what the user wrote before it). */
	pc = atomic_load_explicit(&b->peer->cons, memory_order_acquire);
	used = b->tx_prod - pc;
	if (used > b->ring_size) {
		b->fault = true;
		snprintf(why, whylen, "the %s's consumer index %u is %s our producer index %u "
			"(ring of %u bytes): closing the channel", side_name(!b->slot->side), pc,
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
			progress = 1;
		} else if (n == 0) {
			return -1;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			return -1;
		}
	}
	return progress;
}

/*
 * Idle: wait for our socket (the user writes, or frees room) or, since
 * the peer cannot wake us, at most sleep_ns for the memory to change.
 */
static void bridge_wait(struct bridge *b, long sleep_ns)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = sleep_ns };
	struct pollfd pfd = { .fd = b->fd };
	uint32_t pc;

	if (b->established) {
		pc = atomic_load_explicit(&b->peer->cons, memory_order_relaxed);
		if (b->tx_prod - pc < b->ring_size) {
			pfd.events |= POLLIN;
		}
		if (b->sock_full) {
			pfd.events |= POLLOUT;
		}
	}
	/* POLLHUP comes whatever the events: once seen, just sleep. */
	if (ppoll(&pfd, b->hup ? 0 : 1, &ts, NULL) > 0 && (pfd.revents & (POLLHUP | POLLERR))) {
		b->hup = true;
	}
}

static void *bridge_main(void *arg)
{
	struct bridge *b = arg;
	char why[256] = "";
	unsigned int spins = 0;
	long sleep_ns = 0;
	int ret;

	while (!atomic_load_explicit(&b->slot->stop, memory_order_relaxed)) {
		ret = bridge_step(b, why, sizeof(why));
		if (ret < 0) {
			break;
		}
		if (ret > 0) {
			spins = 0;
			sleep_ns = 0;
			continue;
		}
		/*
		 * The user closed: once established, pass on what it wrote
		 * until read() sees the end, unless the peer stopped reading.
		 */
		if (b->hup && (!b->established || sleep_ns == BRIDGE_SLEEP_MAX_NS)) {
			break;
		}
		if (spins < BRIDGE_SPINS) {
			spins++;
			continue;
		}
		sleep_ns = sleep_ns ? sleep_ns * 2 : BRIDGE_SLEEP_MIN_NS;
		if (sleep_ns > BRIDGE_SLEEP_MAX_NS) {
			sleep_ns = BRIDGE_SLEEP_MAX_NS;
		}
		bridge_wait(b, sleep_ns);
	}
	/* Tell the peer this session is over. */
	pthread_mutex_lock(&slots_lock);
	b->slot->epoch = NULL;
	pthread_mutex_unlock(&slots_lock);
	atomic_store_explicit(&b->own->epoch, 0, memory_order_release);
	munmap(b->map, b->map_len);
	close(b->fd);
	slot_release(b->slot, why[0] ? why : NULL, b->fault);
	free(b);
	return NULL;
}

static int ivshmem_open(const struct lttng_hyper_channel_uri *uri)
{
	enum lh_ivshmem_side side = uri_side(uri);
	sigset_t all, old;
	pthread_attr_t attr;
	struct bridge *b;
	int sv[2], err;

	b = calloc(1, sizeof(*b));
	if (!b) {
		return -1;
	}
	b->slot = slot_claim(uri->path, side);
	if (!b->slot) {
		free(b);
		return -1;
	}
	if (map_region(b, uri->path, side) < 0) {
		goto error_slot;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		goto error_map;
	}
	b->fd = sv[1];
	b->epoch = new_epoch(atomic_load_explicit(&b->own->epoch, memory_order_relaxed));
	b->tx_prod = atomic_load_explicit(&b->own->prod, memory_order_relaxed);
	atomic_store_explicit(&b->own->ack, 0, memory_order_relaxed);
	atomic_store_explicit(&b->own->prod, b->tx_prod, memory_order_relaxed);
	/* The new epoch last: the peer ends its session and accepts this one. */
	atomic_store_explicit(&b->own->epoch, b->epoch, memory_order_release);
	pthread_mutex_lock(&slots_lock);
	b->slot->epoch = &b->own->epoch;
	pthread_mutex_unlock(&slots_lock);

	/* Signals are the daemon's main thread's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	{
		pthread_t tid;

		err = pthread_create(&tid, &attr, bridge_main, b);
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_mutex_lock(&slots_lock);
		b->slot->epoch = NULL;
		pthread_mutex_unlock(&slots_lock);
		atomic_store_explicit(&b->own->epoch, 0, memory_order_release);
		close(sv[0]);
		close(sv[1]);
		errno = err;
		goto error_map;
	}
	return sv[0];

error_map:
	err = errno;
	munmap(b->map, b->map_len);
	errno = err;
error_slot:
	err = errno;
	slot_release(b->slot, NULL, false);
	free(b);
	errno = err;
	return -1;
}

static int ivshmem_parse(const char *rest, const char *str, struct lttng_hyper_channel_uri *uri,
		char *err, size_t errlen)
{
	return lh_parse_path(rest, str, "ivshmem", uri, err, errlen);
}

static int ivshmem_absolute(struct lttng_hyper_channel_uri *uri, char *err, size_t errlen)
{
	return lh_path_absolute(uri, "ivshmem", err, errlen);
}

const struct lttng_hyper_transport lh_transport_ivshmem = {
	.scheme = "ivshmem:",
	.syntax = "ivshmem:PATH",
	.help = "the guest's ivshmem BAR2 (.../resource2)",
	.ends = LH_TRANSPORT_GUEST_END,
	.parse = ivshmem_parse,
	.format = lh_path_format,
	.open = ivshmem_open,
	.absolute = ivshmem_absolute,
	.object = lh_path_object,
};

const struct lttng_hyper_transport lh_transport_ivshmem_host = {
	.scheme = "ivshmem-host:",
	.syntax = "ivshmem-host:PATH",
	.help = "the file of a VM's ivshmem memory",
	.ends = LH_TRANSPORT_HOST_END,
	.parse = ivshmem_parse,
	.format = lh_path_format,
	.open = ivshmem_open,
	.absolute = ivshmem_absolute,
	.object = lh_path_object,
};
