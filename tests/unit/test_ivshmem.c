/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ivshmem channel kind (transport-ivshmem.c): both ends opened on
 * one file in /dev/shm pass bytes both ways, more than a ring's worth in
 * order; a side that reopens ends the other's session; a guest that
 * scribbles its indices gets the host's channel closed, no more; an idle
 * channel costs next to no CPU; closing the fds ends the bridge threads.
 * With bells (a thread plays QEMU's virtio-serial port between two
 * sockets), an idle end sleeps until rung, and the host's session ends
 * when QEMU closes its bell.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/ivshmem.h"
#include "common/log.h"
#include "common/transport.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	31
#define BIG		(8U << 20)	/* each way: 4 rings' worth */

static char path[64];
static char bells[2][80];	/* the host's, the guest's */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_end(const char *scheme)
{
	struct lttng_hyper_channel_uri uri;
	char str[256], err[256];

	snprintf(str, sizeof(str), "%s%s", scheme, path);
	if (bells[0][0]) {
		snprintf(str + strlen(str), sizeof(str) - strlen(str), ",bell=%s",
			bells[!strcmp(scheme, "ivshmem:")]);
	}
	if (lttng_hyper_channel_parse(str, &uri, err, sizeof(err)) < 0) {
		diag("%s", err);
		return -1;
	}
	return lttng_hyper_channel_connect(&uri);
}

/* Read exactly len bytes within timeout_s; the count read (short: EOF, error or timeout). */
static size_t read_full(int fd, void *buf, size_t len, double timeout_s)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	double end = now_s() + timeout_s;
	size_t got = 0;
	ssize_t n;

	while (got < len && now_s() < end) {
		n = read(fd, (char *) buf + got, len - got);
		if (n > 0) {
			got += (size_t) n;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			break;
		} else {
			poll(&pfd, 1, 100);
		}
	}
	return got;
}

static int write_full(int fd, const void *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, (const char *) buf + done, len - done);
		if (n > 0) {
			done += (size_t) n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			poll(&pfd, 1, 100);
		} else {
			return -1;
		}
	}
	return 0;
}

/* The fd reaches its end (read returns 0 or an error) within timeout_s. */
static bool sees_end(int fd, double timeout_s)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	double end = now_s() + timeout_s;
	char buf[4096];
	ssize_t n;

	while (now_s() < end) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			return true;
		}
		if (n < 0) {
			poll(&pfd, 1, 50);
		}
	}
	return false;
}

static uint8_t pattern(uint32_t i, uint32_t seed)
{
	return (uint8_t) ((i * 2654435761U + seed) >> 13);
}

/* BIG bytes each way at once, checked byte for byte. */
static bool big_transfer(int a, int b, double *mib_s)
{
	struct pollfd pfd[2] = { { .fd = a }, { .fd = b } };
	size_t sent[2] = { 0, 0 }, got[2] = { 0, 0 };
	uint8_t out[2][65536], in[65536];
	double start = now_s();
	bool good = true;
	ssize_t n;
	size_t i, k;
	int s;

	while ((got[0] < BIG || got[1] < BIG) && now_s() - start < 30) {
		for (s = 0; s < 2; s++) {
			int fd = s ? b : a, peer = s ? a : b;

			/* s sends seed s, peer checks it. */
			if (sent[s] < BIG) {
				k = BIG - sent[s] < sizeof(out[s]) ? BIG - sent[s] : sizeof(out[s]);
				for (i = 0; i < k; i++) {
					out[s][i] = pattern((uint32_t) (sent[s] + i), (uint32_t) s);
				}
				n = write(fd, out[s], k);
				if (n > 0) {
					sent[s] += (size_t) n;
				}
			}
			n = read(peer, in, sizeof(in));
			if (n > 0) {
				for (i = 0; i < (size_t) n; i++) {
					if (in[i] != pattern((uint32_t) (got[s] + i), (uint32_t) s)) {
						good = false;
					}
				}
				got[s] += (size_t) n;
			} else if (n == 0) {
				return false;
			}
		}
		pfd[0].events = POLLIN | (sent[0] < BIG ? POLLOUT : 0);
		pfd[1].events = POLLIN | (sent[1] < BIG ? POLLOUT : 0);
		poll(pfd, 2, 10);
	}
	*mib_s = 2.0 * BIG / (1 << 20) / (now_s() - start);
	return good && got[0] == BIG && got[1] == BIG;
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d) {
		return -1;
	}
	while ((e = readdir(d))) {
		n += e->d_name[0] != '.';
	}
	closedir(d);
	return n;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * QEMU's part: a virtio-serial port whose host end is a socket. Here two
 * listening sockets; the bytes one end writes, the other reads.
 */
struct port {
	int lfd[2], fd[2];
	atomic_uint rung;		/* bytes carried */
	atomic_bool quit, close_host;
	pthread_t tid;
};

static int listen_on(const char *p)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p);
	unlink(p);
	if (fd < 0 || bind(fd, (struct sockaddr *) &sun, sizeof(sun)) || listen(fd, 1)) {
		return -1;
	}
	return fd;
}

static void *port_main(void *arg)
{
	struct port *pt = arg;
	struct pollfd pfd[2];
	char buf[64];
	ssize_t n;
	int i;

	while (!atomic_load(&pt->quit)) {
		if (atomic_load(&pt->close_host) && pt->fd[0] >= 0) {
			close(pt->fd[0]);
			pt->fd[0] = -1;
		}
		for (i = 0; i < 2; i++) {
			pfd[i].fd = pt->fd[i] >= 0 ? pt->fd[i] : pt->lfd[i];
			pfd[i].events = POLLIN;
		}
		if (pt->fd[0] < 0 && atomic_load(&pt->close_host)) {
			pfd[0].fd = -1;
		}
		if (poll(pfd, 2, 250) <= 0) {
			continue;
		}
		for (i = 0; i < 2; i++) {
			if (!pfd[i].revents) {
				continue;
			}
			if (pt->fd[i] < 0) {
				pt->fd[i] = accept4(pt->lfd[i], NULL, NULL, SOCK_CLOEXEC);
				continue;
			}
			n = read(pt->fd[i], buf, sizeof(buf));
			if (n <= 0) {
				close(pt->fd[i]);
				pt->fd[i] = -1;
				continue;
			}
			atomic_fetch_add(&pt->rung, (unsigned int) n);
			if (pt->fd[!i] >= 0) {
				(void) !write(pt->fd[!i], buf, (size_t) n);
			}
		}
	}
	for (i = 0; i < 2; i++) {
		if (pt->fd[i] >= 0) {
			close(pt->fd[i]);
		}
		close(pt->lfd[i]);
		unlink(bells[i]);
	}
	return NULL;
}

static long nvcsw(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_nvcsw;
}

/* Wait (bounded) until *word == want. */
static bool wait_word(_Atomic uint32_t *word, uint32_t want)
{
	double end = now_s() + 2;

	while (now_s() < end) {
		if (atomic_load(word) == want) {
			return true;
		}
		usleep(1000);
	}
	return false;
}

/*
 * Play a hostile guest by hand on the host's memory: take part in the
 * handshake, then return the guest's block to scribble.
 */
static struct lh_ivshmem_block *fake_guest(struct lh_ivshmem_hdr *hdr, uint32_t epoch)
{
	struct lh_ivshmem_block *host = &hdr->side[LH_IVSHMEM_HOST];
	struct lh_ivshmem_block *guest = &hdr->side[LH_IVSHMEM_GUEST];
	double end = now_s() + 2;

	while (!atomic_load(&host->epoch) && now_s() < end) {
		usleep(1000);
	}
	/* Accept the host's session as the real guest does, then show up. */
	atomic_store(&guest->cons, atomic_load(&host->prod));
	atomic_store(&guest->ack, atomic_load(&host->epoch));
	atomic_store(&guest->epoch, epoch);
	return wait_word(&host->ack, epoch) ? guest : NULL;
}

int main(void)
{
	struct lttng_hyper_channel_uri uri;
	struct lh_ivshmem_block *g;
	struct lh_ivshmem_hdr *hdr;
	int h, gfd, h2, g2, fd, threads0, level;
	char buf[64], err[256], words[512], str[256];
	struct port port = { .fd = { -1, -1 } };
	long csw_poll, csw;
	unsigned int rung;
	double mib_s, cpu;
	void *map;

	plan_tests(NUM_TESTS);
	lh_log_init("test_ivshmem");
	snprintf(path, sizeof(path), "/dev/shm/lh-test-ivshmem-%d", (int) getpid());
	threads0 = count_threads();

	ok(lttng_hyper_channel_parse("ivshmem:/x", &uri, err, sizeof(err)) == 0 &&
		uri.transport == &lh_transport_ivshmem &&
		(uri.transport->ends & LH_TRANSPORT_GUEST_END) &&
		!(uri.transport->ends & LH_TRANSPORT_HOST_END) &&
		lttng_hyper_channel_parse("ivshmem-host:/x", &uri, err, sizeof(err)) == 0 &&
		uri.transport == &lh_transport_ivshmem_host &&
		uri.transport->ends == LH_TRANSPORT_HOST_END && !strcmp(uri.path, "/x"),
		"ivshmem:PATH is the guest's end, ivshmem-host:PATH the host's");

	/* The guest waits for the host's layout: the endpoint retries. */
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ok(fd >= 0 && ftruncate(fd, LH_IVSHMEM_DEFAULT_SIZE) == 0, "made an empty shm file");
	close(fd);
	errno = 0;
	ok(open_end("ivshmem:") < 0 && errno == EAGAIN,
		"the guest's open fails with EAGAIN before the host wrote the layout");

	h = open_end("ivshmem-host:");
	gfd = open_end("ivshmem:");
	ok(h >= 0 && gfd >= 0, "host and guest ends open on one file");
	ok(write_full(h, "ping", 4) == 0 && read_full(gfd, buf, 4, 2) == 4 &&
		!memcmp(buf, "ping", 4), "host to guest");
	ok(write_full(gfd, "pong!", 5) == 0 && read_full(h, buf, 5, 2) == 5 &&
		!memcmp(buf, "pong!", 5), "guest to host");
	ok(big_transfer(h, gfd, &mib_s), "%u MiB each way at once arrive intact and in order",
		BIG >> 20);
	diag("both ways at once: %.0f MiB/s in all", mib_s);

	/* Idle: the two bridge threads sleep most of the time. */
	usleep(100000);
	cpu = cpu_s();
	csw_poll = nvcsw();
	usleep(1000000);
	cpu = cpu_s() - cpu;
	csw_poll = nvcsw() - csw_poll;
	ok(csw_poll <= 500, "idle ends without bells poll every 5 ms at most: %ld wakeups in 1 s, "
		"%.2f ms of CPU, for both", csw_poll, cpu * 1e3);

	/* The guest reopens: both current sessions end, the new one is clean. */
	ok(write_full(h, "stale", 5) == 0, "host bytes left unread in the old session");
	usleep(20000);
	g2 = open_end("ivshmem:");
	ok(g2 >= 0, "the guest reopens");
	ok(sees_end(gfd, 2), "the guest's old fd ends");
	ok(sees_end(h, 2), "the host's session ends when the guest's epoch changes");
	close(gfd);
	close(h);
	h2 = open_end("ivshmem-host:");
	ok(h2 >= 0 && write_full(h2, "fresh", 5) == 0 && read_full(g2, buf, 5, 2) == 5 &&
		!memcmp(buf, "fresh", 5), "the host reopens: the new session starts clean");
	ok(write_full(g2, "again", 5) == 0 && read_full(h2, buf, 5, 2) == 5 &&
		!memcmp(buf, "again", 5), "and runs both ways");
	/* More than the socket holds, so that some is still in the ring at the close. */
	{
		static char last[3U << 18];
		static char got[sizeof(last)];

		memset(last, 0x5a, sizeof(last));
		ok(write_full(g2, last, sizeof(last)) == 0 && (close(g2), 1) &&
			read_full(h2, got, sizeof(got), 5) == sizeof(got) &&
			!memcmp(got, last, sizeof(got)) && sees_end(h2, 2),
			"the guest writes and closes: the host reads it all, then its session ends");
	}
	close(h2);

	/* A hostile guest, played by hand on the same memory. */
	fd = open(path, O_RDWR);
	map = mmap(NULL, LH_IVSHMEM_DEFAULT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	hdr = map;
	ok(map != MAP_FAILED, "mapped the memory as a hostile guest");
	h = open_end("ivshmem-host:");
	g = fake_guest(hdr, 0x1111);
	if (g) {
		atomic_store(&g->prod, atomic_load(&hdr->side[LH_IVSHMEM_HOST].cons) +
			hdr->ring_size + 1);
	}
	ok(g && sees_end(h, 2), "a producer index beyond consumer + ring size closes the host's fd");
	close(h);

	h = open_end("ivshmem-host:");
	g = fake_guest(hdr, 0x2222);
	if (g) {
		atomic_store(&g->cons, atomic_load(&hdr->side[LH_IVSHMEM_HOST].prod) + 100);
	}
	ok(g && sees_end(h, 2), "a consumer index ahead of the producer closes the host's fd");
	close(h);

	h = open_end("ivshmem-host:");
	g = fake_guest(hdr, 0x3333);
	if (g) {
		atomic_store(&g->prod, atomic_load(&hdr->side[LH_IVSHMEM_HOST].cons) - 1);
	}
	ok(g && sees_end(h, 2), "a producer index behind the consumer closes the host's fd");
	close(h);

	/* Garbage everywhere in the guest's block and the rings: no crash. */
	h = open_end("ivshmem-host:");
	g = fake_guest(hdr, 0x4444);
	memset((char *) map + LH_IVSHMEM_HDR_SIZE, 0xa5, 2 * hdr->ring_size);
	if (g) {
		atomic_store(&g->prod, atomic_load(&hdr->side[LH_IVSHMEM_HOST].cons) + 4096);
	}
	ok(g && read_full(h, buf, sizeof(buf), 2) == sizeof(buf) && buf[0] == (char) 0xa5,
		"a guest's bytes reach the host as mere bytes");
	atomic_store(&g->prod, 0xffffffffU);
	atomic_store(&g->cons, 0x80000000U);
	ok(sees_end(h, 2), "then its scribbled indices close the channel");
	close(h);
	munmap(map, LH_IVSHMEM_DEFAULT_SIZE);

	/* The daemon logs why the last bridge stopped (in its VM's context). */
	snprintf(str, sizeof(str), "ivshmem-host:%s", path);
	level = lttng_hyper_channel_parse(str, &uri, err, sizeof(err)) ? -1 :
		uri.transport->last_words(&uri, words, sizeof(words));
	ok(level == LH_LOG_WARN && strstr(words, "ivshmem host end of ") &&
		strstr(words, "closing the channel") &&
		uri.transport->last_words(&uri, words, sizeof(words)) < 0,
		"the host's last words on a hostile guest are a warning, said once");
	diag("%s", level >= 0 ? words : "(none)");

	/* Bells: QEMU's virtio-serial port between the ends. */
	ok(lttng_hyper_channel_parse("ivshmem-host:/x,bell=/y", &uri, err, sizeof(err)) == 0 &&
		!strcmp(uri.path, "/x") && !strcmp(uri.bell, "/y") &&
		(uri.transport->format(&uri, words, sizeof(words)), !strcmp(words, "/x,bell=/y")) &&
		lttng_hyper_channel_parse("ivshmem:/x,bell=", &uri, err, sizeof(err)) < 0,
		"PATH,bell=BELL parses and formats back; an empty bell is refused");
	snprintf(bells[0], sizeof(bells[0]), "%s.hbell", path);
	snprintf(bells[1], sizeof(bells[1]), "%s.gbell", path);
	port.lfd[0] = listen_on(bells[0]);
	port.lfd[1] = listen_on(bells[1]);
	if (port.lfd[0] < 0 || port.lfd[1] < 0 || pthread_create(&port.tid, NULL, port_main, &port)) {
		diag("cannot play QEMU's port: %s", strerror(errno));
		return 1;
	}
	h = open_end("ivshmem-host:");
	gfd = open_end("ivshmem:");
	ok(h >= 0 && gfd >= 0 && big_transfer(h, gfd, &mib_s),
		"with bells, %u MiB each way at once arrive intact and in order", BIG >> 20);
	diag("with bells, both ways at once: %.0f MiB/s in all", mib_s);
	usleep(200000);
	csw = nvcsw();
	usleep(1000000);
	csw = nvcsw() - csw;
	ok(csw <= 20, "idle ends with bells sleep until rung: %ld wakeups in 1 s "
		"(%ld polling without bells)", csw, csw_poll);
	rung = atomic_load(&port.rung);
	ok(write_full(h, "ding", 4) == 0 && read_full(gfd, buf, 4, 2) == 4 &&
		!memcmp(buf, "ding", 4) && atomic_load(&port.rung) > rung,
		"the host's write rings the sleeping guest");
	usleep(200000);
	rung = atomic_load(&port.rung);
	ok(write_full(gfd, "dong", 4) == 0 && read_full(h, buf, 4, 2) == 4 &&
		!memcmp(buf, "dong", 4) && atomic_load(&port.rung) > rung,
		"the guest's write rings the sleeping host");
	atomic_store(&port.close_host, true);
	ok(sees_end(h, 3), "QEMU closes the host's bell: the host's session ends");
	snprintf(str, sizeof(str), "ivshmem-host:%s,bell=%s", path, bells[0]);
	level = lttng_hyper_channel_parse(str, &uri, err, sizeof(err)) ? -1 :
		uri.transport->last_words(&uri, words, sizeof(words));
	ok(level == LH_LOG_INFO && strstr(words, "its bell closed"),
		"and says why: %s", level >= 0 ? words : "(nothing)");
	ok(sees_end(gfd, 3), "the guest's session ends with the host's");
	close(h);
	close(gfd);
	atomic_store(&port.quit, true);
	pthread_join(port.tid, NULL);

	/* The bridge threads end with their fds. */
	{
		double end = now_s() + 2;

		while (count_threads() > threads0 && now_s() < end) {
			usleep(10000);
		}
	}
	ok(count_threads() == threads0, "every bridge thread ended (%d threads, %d at start)",
		count_threads(), threads0);
	unlink(path);
	return exit_status();
}
