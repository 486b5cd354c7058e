/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <paths.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/log.h"

/* Write end of the pipe the daemonizing parent waits on; -1 when not daemonized. */
static int ready_fd = -1;

/*
 * Parent side of lh_daemonize(): wait for the child's "ready" byte. EOF
 * without it means the child died (it holds the only write end), so
 * report the child's own exit status.
 */
static void __attribute__((noreturn)) wait_for_child(pid_t pid, int fd)
{
	int status = EXIT_FAILURE;
	char byte;
	ssize_t ret;

	do {
		ret = read(fd, &byte, 1);
	} while (ret < 0 && errno == EINTR);
	if (ret == 1) {
		_exit(EXIT_SUCCESS);
	}
	if (ret < 0) {
		PERROR("read from daemon child");
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			PERROR("waitpid");
			_exit(EXIT_FAILURE);
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		_exit(WEXITSTATUS(status));
	}
	_exit(EXIT_FAILURE);
}

/* Point stdin, stdout and stderr at /dev/null; the daemon logs to a file. */
static int detach_stdio(void)
{
	int ret = -1;
	int fd;

	fd = open(_PATH_DEVNULL, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		PERROR("open %s", _PATH_DEVNULL);
		goto end;
	}
	if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
			dup2(fd, STDERR_FILENO) < 0) {
		PERROR("dup2 %s", _PATH_DEVNULL);
		goto end_close;
	}
	ret = 0;
end_close:
	if (fd > STDERR_FILENO && close(fd) < 0) {
		PERROR("close %s", _PATH_DEVNULL);
	}
end:
	return ret;
}

int lh_daemonize(void)
{
	int ret = -1;
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		PERROR("pipe2");
		goto end;
	}
	/* Whatever the parent buffered must not be written twice. */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		PERROR("fork");
		close(fds[0]);
		close(fds[1]);
		goto end;
	}
	if (pid > 0) {
		close(fds[1]);
		wait_for_child(pid, fds[0]);
	}
	close(fds[0]);
	ready_fd = fds[1];
	if (setsid() < 0) {
		PERROR("setsid");
		goto end;
	}
	/* Do not keep the directory we were started from busy. */
	if (chdir("/") < 0) {
		PERROR("chdir /");
		goto end;
	}
	if (detach_stdio() < 0) {
		goto end;
	}
	ret = 0;
end:
	return ret;
}

void lh_daemon_ready(void)
{
	const char byte = 'r';
	ssize_t ret;

	if (ready_fd < 0) {
		return;
	}
	do {
		ret = write(ready_fd, &byte, 1);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0) {
		PERROR("write to daemon parent");
	}
	if (close(ready_fd) < 0) {
		PERROR("close daemon parent pipe");
	}
	ready_fd = -1;
}

/*
 * The pid file stays open and locked while the daemon runs: a second daemon
 * given the same path fails here, and leaves the running one's file alone.
 */
int lh_pidfile_write(const char *path)
{
	char buf[32];
	ssize_t len;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		PERROR("open pid file %s", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			len = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[len > 0 ? len : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			ERR("pid file %s belongs to a running daemon (PID %s): stop it, or give this one another --pidfile",
				path, buf[0] ? buf : "unknown");
		} else {
			PERROR("lock pid file %s", path);
		}
		goto error;
	}
	len = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, len, 0) != len) {
		PERROR("write pid file %s", path);
		goto error;
	}
	return fd;
error:
	if (close(fd) < 0) {
		PERROR("close pid file %s", path);
	}
	return -1;
}

void lh_pidfile_remove(const char *path, int fd)
{
	/* Unlink before the unlock: the path never names an unlocked file. */
	if (unlink(path) < 0 && errno != ENOENT) {
		PERROR("unlink pid file %s", path);
	}
	if (close(fd) < 0) {
		PERROR("close pid file %s", path);
	}
}

int lh_signalfd_create(void)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigset_t set;
	int fd = -1;

	/* A peer closing a socket must be an EPIPE, not a dead daemon. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) < 0) {
		PERROR("sigaction SIGPIPE");
		goto end;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		PERROR("sigprocmask");
		goto end;
	}
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		PERROR("signalfd");
	}
end:
	return fd;
}

const char *lh_lttng_home(void)
{
	const char *home = getenv("LTTNG_HOME");

	if (!home || !*home) {
		home = getenv("HOME");
	}
	if (!home || !*home) {
		home = "/root";
	}
	return home;
}

char *lh_absolute_path(const char *path)
{
	char cwd[PATH_MAX];
	char *abs;

	if (path[0] == '/') {
		abs = strdup(path);
		if (!abs) {
			PERROR("strdup");
		}
		return abs;
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		PERROR("getcwd");
		return NULL;
	}
	if (asprintf(&abs, "%s/%s", cwd, path) < 0) {
		PERROR("asprintf");
		return NULL;
	}
	return abs;
}
