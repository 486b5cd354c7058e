/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/loop.h"

#define LOOP_MAX_EVENTS		64

struct lh_watch {
	struct lh_loop *loop;
	int fd;
	uint32_t events;
	lh_watch_cb cb;
	void *arg;
	bool dead;
	struct lh_watch *next_dead;
};

struct lh_timer {
	struct lh_loop *loop;
	uint64_t deadline_ms;
	lh_timer_cb cb;
	void *arg;
	bool running;
	bool due;	/* in the due list, else in the pending list */
	struct lh_timer *prev, *next;
};

struct lh_timer_list {
	struct lh_timer *first, *last;
};

struct lh_loop {
	int epfd;
	bool stop;
	struct lh_timer_list pending;
	/* Timers taken from pending for the current round, in deadline order. */
	struct lh_timer_list due;
	/*
	 * Removed watches may still have an event in the array of the
	 * current round: they are freed once the round is over.
	 */
	struct lh_watch *dead_watches;
};

uint64_t lh_now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

uint64_t lh_now_ms(void)
{
	return lh_now_ns() / 1000000ULL;
}

struct lh_loop *lh_loop_create(void)
{
	struct lh_loop *loop = calloc(1, sizeof(*loop));

	if (!loop) {
		PERROR("allocating the event loop");
		return NULL;
	}
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		PERROR("epoll_create1");
		free(loop);
		return NULL;
	}
	return loop;
}

static void free_dead_watches(struct lh_loop *loop)
{
	while (loop->dead_watches) {
		struct lh_watch *watch = loop->dead_watches;

		loop->dead_watches = watch->next_dead;
		free(watch);
	}
}

static void timer_list_remove(struct lh_timer_list *list, struct lh_timer *timer)
{
	if (timer->prev) {
		timer->prev->next = timer->next;
	} else {
		list->first = timer->next;
	}
	if (timer->next) {
		timer->next->prev = timer->prev;
	} else {
		list->last = timer->prev;
	}
	timer->prev = NULL;
	timer->next = NULL;
}

static void timer_list_free(struct lh_timer_list *list)
{
	while (list->first) {
		struct lh_timer *timer = list->first;

		timer_list_remove(list, timer);
		free(timer);
	}
}

void lh_loop_destroy(struct lh_loop *loop)
{
	if (!loop) {
		return;
	}
	free_dead_watches(loop);
	timer_list_free(&loop->pending);
	timer_list_free(&loop->due);
	if (close(loop->epfd)) {
		PERROR("closing the epoll fd");
	}
	free(loop);
}

struct lh_watch *lh_loop_watch(struct lh_loop *loop, int fd, uint32_t events,
		lh_watch_cb cb, void *arg)
{
	struct lh_watch *watch = calloc(1, sizeof(*watch));
	struct epoll_event ev = { .events = events };

	if (!watch) {
		PERROR("allocating a watch");
		return NULL;
	}
	watch->loop = loop;
	watch->fd = fd;
	watch->events = events;
	watch->cb = cb;
	watch->arg = arg;
	ev.data.ptr = watch;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		PERROR("epoll_ctl add fd %d", fd);
		free(watch);
		return NULL;
	}
	return watch;
}

int lh_watch_set_events(struct lh_watch *watch, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = watch };

	if (watch->events == events) {
		return 0;
	}
	if (epoll_ctl(watch->loop->epfd, EPOLL_CTL_MOD, watch->fd, &ev)) {
		PERROR("epoll_ctl mod fd %d", watch->fd);
		return -1;
	}
	watch->events = events;
	return 0;
}

uint32_t lh_watch_get_events(const struct lh_watch *watch)
{
	return watch->events;
}

void lh_watch_remove(struct lh_watch *watch)
{
	struct lh_loop *loop;

	if (!watch || watch->dead) {
		return;
	}
	loop = watch->loop;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, watch->fd, NULL)) {
		PERROR("epoll_ctl del fd %d", watch->fd);
	}
	watch->dead = true;
	watch->next_dead = loop->dead_watches;
	loop->dead_watches = watch;
}

struct lh_timer *lh_loop_timer(struct lh_loop *loop, uint64_t delay_ms,
		lh_timer_cb cb, void *arg)
{
	struct lh_timer *timer = calloc(1, sizeof(*timer));
	struct lh_timer *pos;

	if (!timer) {
		PERROR("allocating a timer");
		return NULL;
	}
	timer->loop = loop;
	timer->deadline_ms = lh_now_ms() + delay_ms;
	timer->cb = cb;
	timer->arg = arg;
	/* Insert after every timer due no later, so equal deadlines fire in order. */
	pos = loop->pending.last;
	while (pos && pos->deadline_ms > timer->deadline_ms) {
		pos = pos->prev;
	}
	timer->prev = pos;
	timer->next = pos ? pos->next : loop->pending.first;
	if (timer->next) {
		timer->next->prev = timer;
	} else {
		loop->pending.last = timer;
	}
	if (pos) {
		pos->next = timer;
	} else {
		loop->pending.first = timer;
	}
	return timer;
}

void lh_timer_cancel(struct lh_timer *timer)
{
	struct lh_loop *loop;

	/* A running timer is freed by the loop when its callback returns. */
	if (!timer || timer->running) {
		return;
	}
	loop = timer->loop;
	timer_list_remove(timer->due ? &loop->due : &loop->pending, timer);
	free(timer);
}

/* Milliseconds until the first timer, for epoll_wait: -1 when there is none. */
static int loop_timeout(struct lh_loop *loop)
{
	uint64_t now, delay;

	if (loop->due.first) {
		return 0;
	}
	if (!loop->pending.first) {
		return -1;
	}
	now = lh_now_ms();
	if (loop->pending.first->deadline_ms <= now) {
		return 0;
	}
	delay = loop->pending.first->deadline_ms - now;
	return delay > INT32_MAX ? INT32_MAX : (int) delay;
}

static void run_timers(struct lh_loop *loop)
{
	uint64_t now = lh_now_ms();

	/*
	 * Move what is due now to the due list first: a callback that arms a
	 * zero-delay timer gets it called in the next round, not in an
	 * endless loop inside this one.
	 */
	while (loop->pending.first && loop->pending.first->deadline_ms <= now) {
		struct lh_timer *timer = loop->pending.first;

		timer_list_remove(&loop->pending, timer);
		timer->due = true;
		timer->prev = loop->due.last;
		if (loop->due.last) {
			loop->due.last->next = timer;
		} else {
			loop->due.first = timer;
		}
		loop->due.last = timer;
	}
	while (loop->due.first && !loop->stop) {
		struct lh_timer *timer = loop->due.first;

		timer_list_remove(&loop->due, timer);
		timer->running = true;
		timer->cb(timer, timer->arg);
		free(timer);
	}
}

int lh_loop_run(struct lh_loop *loop)
{
	struct epoll_event events[LOOP_MAX_EVENTS];
	int ret = 0;

	while (!loop->stop) {
		int i, n;

		n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS, loop_timeout(loop));
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			PERROR("epoll_wait");
			ret = -1;
			break;
		}
		for (i = 0; i < n && !loop->stop; i++) {
			struct lh_watch *watch = events[i].data.ptr;

			if (watch->dead) {
				continue;
			}
			watch->cb(watch, watch->fd, events[i].events, watch->arg);
		}
		if (!loop->stop) {
			run_timers(loop);
		}
		free_dead_watches(loop);
	}
	loop->stop = false;
	return ret;
}

void lh_loop_stop(struct lh_loop *loop)
{
	loop->stop = true;
}
