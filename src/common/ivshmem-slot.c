/* SPDX-License-Identifier: GPL-2.0-only */
/* The slots of the ivshmem bridges (ivshmem-slot.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/ivshmem-slot.h"
#include "common/log.h"

struct lh_ivshmem_slot {
	struct lh_ivshmem_slot *next;
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
static struct lh_ivshmem_slot *slots;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static pid_t exit_pid;

/*
 * The process exits (a daemon stopping): its bridges die with it, so
 * close their sessions here, or the peer would learn of it only at our
 * next open.
 */
static void exit_cb(void)
{
	struct lh_ivshmem_slot *s;

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

const char *lh_ivshmem_side_name(enum lh_ivshmem_side side)
{
	return side == LH_IVSHMEM_HOST ? "host" : "guest";
}

/* The slot of path and side; made on first use. */
static struct lh_ivshmem_slot *slot_find(const char *path, enum lh_ivshmem_side side, bool make)
{
	struct lh_ivshmem_slot *s;

	for (s = slots; s; s = s->next) {
		if (s->side == side && !strcmp(s->path, path)) {
			return s;
		}
	}
	if (!make) {
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->side = side;
	s->next = slots;
	slots = s;
	return s;
}

struct lh_ivshmem_slot *lh_ivshmem_slot_claim(const char *path, enum lh_ivshmem_side side)
{
	struct lh_ivshmem_slot *s;

	pthread_once(&exit_once, exit_register);
	pthread_mutex_lock(&slots_lock);
	s = slot_find(path, side, true);
	if (!s) {
		pthread_mutex_unlock(&slots_lock);
		return NULL;
	}
	atomic_store(&s->stop, true);
	while (s->busy) {
		pthread_cond_wait(&slots_cond, &slots_lock);
	}
	atomic_store(&s->stop, false);
	s->busy = true;
	pthread_mutex_unlock(&slots_lock);
	return s;
}

void lh_ivshmem_slot_say(struct lh_ivshmem_slot *s, const char *why, bool warn)
{
	pthread_mutex_lock(&slots_lock);
	snprintf(s->why, sizeof(s->why), "%s", why);
	s->why_warn = warn;
	pthread_mutex_unlock(&slots_lock);
}

void lh_ivshmem_slot_release(struct lh_ivshmem_slot *s)
{
	pthread_mutex_lock(&slots_lock);
	s->busy = false;
	pthread_cond_broadcast(&slots_cond);
	pthread_mutex_unlock(&slots_lock);
}

bool lh_ivshmem_slot_stopping(struct lh_ivshmem_slot *s)
{
	return atomic_load_explicit(&s->stop, memory_order_relaxed);
}

enum lh_ivshmem_side lh_ivshmem_slot_side(const struct lh_ivshmem_slot *s)
{
	return s->side;
}

void lh_ivshmem_slot_track(struct lh_ivshmem_slot *s, _Atomic uint32_t *epoch)
{
	pthread_mutex_lock(&slots_lock);
	s->epoch = epoch;
	pthread_mutex_unlock(&slots_lock);
}

int lh_ivshmem_slot_last_words(const char *path, enum lh_ivshmem_side side, char *buf,
		size_t len)
{
	struct lh_ivshmem_slot *s;
	int level = -1;

	pthread_mutex_lock(&slots_lock);
	s = slot_find(path, side, false);
	if (s && s->why[0]) {
		snprintf(buf, len, "ivshmem %s end of %s: %s", lh_ivshmem_side_name(side), s->path,
			s->why);
		level = s->why_warn ? LH_LOG_WARN : LH_LOG_INFO;
		s->why[0] = '\0';
	}
	pthread_mutex_unlock(&slots_lock);
	return level;
}
