/* SPDX-License-Identifier: GPL-2.0-only */
/* Daemon plumbing shared by lttng-hyperd and lttng-hyper-relayd. */
#ifndef LH_COMMON_DAEMON_H
#define LH_COMMON_DAEMON_H

#include <signal.h>

/*
 * Fork into the background as lttng's daemons do with -d: the parent
 * waits until the child calls lh_daemon_ready() (or fails) and exits with
 * the child's status, so "lttng-hyperd -d && next-step" is race-free.
 * Returns 0 in the child, -1 on error; the parent never returns.
 */
int lh_daemonize(void);
/* Tell the waiting parent that start-up succeeded (no-op if not daemonized). */
void lh_daemon_ready(void);

/*
 * Write this process's ID to PATH and lock the file until
 * lh_pidfile_remove(): fails, leaving the file alone, if a running daemon
 * holds it. Returns the file's descriptor, or -1.
 */
int lh_pidfile_write(const char *path);
void lh_pidfile_remove(const char *path, int fd);

/*
 * Block SIGTERM, SIGINT, SIGHUP and SIGCHLD, ignore SIGPIPE, and return a
 * non-blocking signalfd for the blocked ones, or -1.
 */
int lh_signalfd_create(void);

/*
 * A daemon works from "/": a relative path from the command line is made
 * absolute first. Returns a new string, or NULL (logged).
 */
char *lh_absolute_path(const char *path);

/* $LTTNG_HOME, else $HOME, else "/root". */
const char *lh_lttng_home(void);

#endif /* LH_COMMON_DAEMON_H */
