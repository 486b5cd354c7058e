/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A single-threaded epoll event loop with one-shot millisecond timers.
 *
 * Watches and timers are allocated by the loop. Removing or cancelling
 * one from inside any callback is safe: the loop never calls it again
 * and frees it once the current dispatch round is over.
 */
#ifndef LH_COMMON_LOOP_H
#define LH_COMMON_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct lh_loop;
struct lh_watch;
struct lh_timer;

typedef void (*lh_watch_cb)(struct lh_watch *watch, int fd, uint32_t events, void *arg);
typedef void (*lh_timer_cb)(struct lh_timer *timer, void *arg);

struct lh_loop *lh_loop_create(void);
void lh_loop_destroy(struct lh_loop *loop);

/* Watch fd for events (EPOLLIN, EPOLLOUT; level-triggered). NULL on error. */
struct lh_watch *lh_loop_watch(struct lh_loop *loop, int fd, uint32_t events,
		lh_watch_cb cb, void *arg);
int lh_watch_set_events(struct lh_watch *watch, uint32_t events);
uint32_t lh_watch_get_events(const struct lh_watch *watch);
/* Stop watching. Does not close the fd. */
void lh_watch_remove(struct lh_watch *watch);

/* Call cb once, delay_ms from now. NULL on error. */
struct lh_timer *lh_loop_timer(struct lh_loop *loop, uint64_t delay_ms,
		lh_timer_cb cb, void *arg);
/* A timer is gone once it has fired; cancel only pending ones. */
void lh_timer_cancel(struct lh_timer *timer);

/* Dispatch until lh_loop_stop(). Returns 0, or -1 if epoll fails. */
int lh_loop_run(struct lh_loop *loop);
void lh_loop_stop(struct lh_loop *loop);

/* CLOCK_MONOTONIC in milliseconds and nanoseconds. */
uint64_t lh_now_ms(void);
uint64_t lh_now_ns(void);

#endif /* LH_COMMON_LOOP_H */
