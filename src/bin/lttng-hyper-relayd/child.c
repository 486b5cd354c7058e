/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The lttng-relayd that lttng-hyper-relayd starts and supervises.
 *
 * It runs in the foreground as our child and is up once its control port
 * accepts a TCP connection. If it exits after that, the connections that
 * went to it are gone: the owner resets them (on_lost) and it is started
 * again after a back-off, so a crash costs the guests one reconnection
 * rather than the relay.
 *
 * A port that accepts connections does not prove a live lttng-relayd: its
 * listener thread accepts while the one worker thread that serves every
 * connection may be stuck. Once up, it must therefore answer a VERSION
 * exchange on a fresh control connection now and then; when it has not
 * answered for the liveness timeout, it is killed and restarted like a
 * crashed one, rather than stalling every VM for good.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/defaults.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/relayd-msg.h"
#include "child.h"

/* How long lttng-relayd may take to accept connections once started. */
#define START_TIMEOUT_MS	10000
/* Interval between the checks that it accepts connections. */
#define PROBE_INTERVAL_MS	50
/* Interval between liveness probes, and the granularity of the timeout. */
#define LIVENESS_INTERVAL_MS	1000
/* A VERSION command: header and body. */
#define LIVENESS_REQ_LEN	(LH_RELAYD_CTRL_HDR_LEN + 8)
#define LIVENESS_REPLY_LEN	8
/* How long it may take to exit on SIGTERM before it gets SIGKILL. */
#define STOP_TIMEOUT_MS		5000
#define STOP_POLL_MS		20
/* A run this long was no crash loop: the next restart waits the minimum. */
#define STABLE_RUN_MS		10000
/* -v given to lttng-relayd at most this many times (its maximum). */
#define MAX_VERBOSE		3
/* Program, -o, -C, -D and -L with their values, the -v, the NULL. */
#define MAX_ARGS		(1 + 8 + MAX_VERBOSE + 1)

struct lh_relayd_child {
	struct lh_loop *loop;
	struct lh_relayd_child_config cfg;
	const struct lh_relayd_child_ops *ops;
	void *arg;
	const char *argv[MAX_ARGS];
	pid_t pid;			/* -1 when not running */
	bool ready;			/* the running one accepts connections */
	bool started_once;		/* the first start succeeded */
	uint64_t spawn_ms;
	uint64_t backoff_ms;
	struct lh_timer *timer;		/* next probe or next restart */
	/* Liveness, while ready: the last answer and the probe in flight. */
	struct lh_timer *live_timer;
	uint64_t answered_ms;
	int live_fd;			/* -1: no probe in flight */
	struct lh_watch *live_watch;
	uint8_t live_req[LIVENESS_REQ_LEN];
	size_t live_sent;
	uint8_t live_reply[LIVENESS_REPLY_LEN];
	size_t live_received;
};

static void probe_cb(struct lh_timer *timer, void *arg);

static void close_fd(int fd, const char *what)
{
	if (close(fd) < 0) {
		PERROR("close %s", what);
	}
}

/* Does something accept TCP connections on the relayd's control port? */
static bool control_port_accepts(const struct lh_relayd_target *target)
{
	struct pollfd pfd = { .events = POLLOUT };
	socklen_t len = sizeof(int);
	bool accepts = false;
	int err = 0;

	pfd.fd = lttng_hyper_tcp_connect(target->control_host, target->control_port);
	if (pfd.fd < 0) {
		goto end;
	}
	/* A connect to a local port completes at once; the bound is a guard. */
	if (poll(&pfd, 1, PROBE_INTERVAL_MS) == 1 &&
			getsockopt(pfd.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
			err == 0) {
		accepts = true;
	}
	close_fd(pfd.fd, "relayd probe socket");
end:
	return accepts;
}

static void format_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status)) {
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
			strsignal(WTERMSIG(status)));
	} else {
		snprintf(buf, len, "ended with wait status %#x", status);
	}
}

/*
 * Make fd available as target across exec. When we started with that
 * standard fd closed, fd may be target itself: dup2() would then leave
 * its close-on-exec flag set.
 */
static int give_fd(int fd, int target)
{
	if (fd != target) {
		return dup2(fd, target);
	}
	return fcntl(fd, F_SETFD, 0);
}

/*
 * In the forked child: become lttng-relayd. We are single-threaded, so
 * logging is safe here; the byte on err_fd tells the parent that exec
 * failed (EOF alone means it succeeded, as err_fd is close-on-exec).
 */
static void __attribute__((noreturn)) run_relayd(const struct lh_relayd_child *child,
		pid_t parent, int err_fd)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int fd;

	/* The signals we block for our signalfd and our ignored SIGPIPE survive exec. */
	sigemptyset(&none);
	sigemptyset(&dfl.sa_mask);
	if (sigaction(SIGPIPE, &dfl, NULL) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0) {
		PERROR("lttng-relayd child: reset signals");
		goto fail;
	}
	/*
	 * Leave the terminal's process group, so that ^C reaches only us and
	 * we stop lttng-relayd in order, and do not outlive us.
	 */
	if (setpgid(0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
		PERROR("lttng-relayd child: detach");
		goto fail;
	}
	if (getppid() != parent) {
		ERR("lttng-relayd child: the relay exited before it started");
		goto fail;
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || give_fd(fd, STDIN_FILENO) < 0) {
		PERROR("lttng-relayd child: stdin");
		goto fail;
	}
	if (child->cfg.log_fd >= 0 && (give_fd(child->cfg.log_fd, STDOUT_FILENO) < 0 ||
			give_fd(child->cfg.log_fd, STDERR_FILENO) < 0)) {
		PERROR("lttng-relayd child: stdout and stderr");
		goto fail;
	}
	/*
	 * Every fd the relay opens is close-on-exec already; this also covers
	 * any that is not, as a guest channel leaked into lttng-relayd would
	 * stay open after we close it. Kernels before 5.11 refuse the flag,
	 * and then the close-on-exec flags we set are what we have.
	 */
	(void) close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC);
	execvp(child->cfg.path, (char *const *) child->argv);
	PERROR("cannot run %s", child->cfg.path);
fail:
	if (write(err_fd, "!", 1) < 0) {
		PERROR("lttng-relayd child: report failure");
	}
	_exit(EXIT_FAILURE);
}

static int spawn(struct lh_relayd_child *child)
{
	pid_t parent = getpid();
	int status, pipefd[2];
	ssize_t ret;
	char byte;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		PERROR("pipe2");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		PERROR("fork");
		close_fd(pipefd[0], "exec status pipe");
		close_fd(pipefd[1], "exec status pipe");
		return -1;
	}
	if (pid == 0) {
		run_relayd(child, parent, pipefd[1]);
	}
	close_fd(pipefd[1], "exec status pipe");
	do {
		ret = read(pipefd[0], &byte, 1);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0) {
		PERROR("read exec status of lttng-relayd");
	}
	close_fd(pipefd[0], "exec status pipe");
	if (ret != 0) {
		/* It did not become lttng-relayd, or we cannot tell: make sure it is gone. */
		if (ret < 0 && kill(pid, SIGKILL) < 0) {
			PERROR("kill lttng-relayd (pid %d)", (int) pid);
		}
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				PERROR("waitpid lttng-relayd (pid %d)", (int) pid);
				break;
			}
		}
		return -1;
	}
	child->pid = pid;
	child->ready = false;
	child->spawn_ms = lh_now_ms();
	INFO("started lttng-relayd (pid %d): output %s, control %s, data %s, live %s",
		(int) pid, child->cfg.output, child->cfg.control_url, child->cfg.data_url,
		child->cfg.live_url);
	return 0;
}

static int start(struct lh_relayd_child *child)
{
	/*
	 * Our probe cannot tell our lttng-relayd from another process on the
	 * port, and a relayd that cannot bind exits with status 0 after a
	 * message of its own: check first, and say so plainly.
	 */
	if (control_port_accepts(child->cfg.target)) {
		ERR("%s already accepts connections (another lttng-relayd?): choose free ports with -C, -D and -L, or use that relayd with --relayd-url",
			child->cfg.control_url);
		return -1;
	}
	if (spawn(child) < 0) {
		return -1;
	}
	child->timer = lh_loop_timer(child->loop, PROBE_INTERVAL_MS, probe_cb, child);
	if (!child->timer) {
		ERR("cannot schedule the lttng-relayd start-up check: stopping it");
		if (kill(child->pid, SIGKILL) < 0) {
			PERROR("kill lttng-relayd (pid %d)", (int) child->pid);
		}
	}
	return 0;
}

static void restart_cb(struct lh_timer *timer, void *arg);

static void schedule_restart(struct lh_relayd_child *child)
{
	INFO("restarting lttng-relayd in %" PRIu64 " ms", child->backoff_ms);
	child->timer = lh_loop_timer(child->loop, child->backoff_ms, restart_cb, child);
	if (!child->timer) {
		ERR("cannot schedule the lttng-relayd restart: the VMs' connections will be refused");
	}
	child->backoff_ms *= 2;
	if (child->backoff_ms > LH_RECONNECT_MAX_MS) {
		child->backoff_ms = LH_RECONNECT_MAX_MS;
	}
}

static void restart_cb(struct lh_timer *timer, void *arg)
{
	struct lh_relayd_child *child = arg;

	child->timer = NULL;
	if (start(child) < 0) {
		schedule_restart(child);
	}
}

/* End the probe in flight, if any. */
static void liveness_probe_end(struct lh_relayd_child *child)
{
	if (child->live_watch) {
		lh_watch_remove(child->live_watch);
		child->live_watch = NULL;
	}
	if (child->live_fd >= 0) {
		close_fd(child->live_fd, "relayd liveness socket");
		child->live_fd = -1;
	}
}

static void liveness_stop(struct lh_relayd_child *child)
{
	liveness_probe_end(child);
	if (child->live_timer) {
		lh_timer_cancel(child->live_timer);
		child->live_timer = NULL;
	}
}

/* A failed probe is retried at the next tick; only the timeout kills. */
static void liveness_probe_failed(struct lh_relayd_child *child, const char *why)
{
	DBG("lttng-relayd (pid %d) liveness probe: %s", (int) child->pid, why);
	liveness_probe_end(child);
}

static void liveness_io_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	struct lh_relayd_child *child = arg;
	struct lh_relayd_reply_info info;
	char err[128];
	ssize_t ret;

	if (child->live_sent < sizeof(child->live_req)) {
		ret = send(fd, child->live_req + child->live_sent,
			sizeof(child->live_req) - child->live_sent, MSG_NOSIGNAL);
		if (ret < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				liveness_probe_failed(child, strerror(errno));
			}
			return;
		}
		child->live_sent += ret;
		if (child->live_sent == sizeof(child->live_req) &&
				lh_watch_set_events(watch, EPOLLIN) < 0) {
			liveness_probe_failed(child, "cannot watch for the reply");
		}
		return;
	}
	ret = recv(fd, child->live_reply + child->live_received,
		sizeof(child->live_reply) - child->live_received, 0);
	if (ret <= 0) {
		if (ret == 0) {
			liveness_probe_failed(child, "connection closed before the reply");
		} else if (errno != EAGAIN && errno != EINTR) {
			liveness_probe_failed(child, strerror(errno));
		}
		return;
	}
	child->live_received += ret;
	ret = lh_relayd_reply_parse(LH_RELAYD_REPLY_VERSION, child->live_reply,
		child->live_received, &info, err, sizeof(err));
	if (ret == 0) {
		return;
	}
	if (ret < 0) {
		liveness_probe_failed(child, err);
		return;
	}
	child->answered_ms = lh_now_ms();
	liveness_probe_end(child);
}

static void liveness_probe_start(struct lh_relayd_child *child)
{
	const struct lh_relayd_ctrl_hdr hdr = {
		.data_size = LIVENESS_REQ_LEN - LH_RELAYD_CTRL_HDR_LEN,
		.cmd = LH_RELAYD_VERSION,
	};

	child->live_fd = lttng_hyper_tcp_connect(child->cfg.target->control_host,
		child->cfg.target->control_port);
	if (child->live_fd < 0) {
		liveness_probe_failed(child, strerror(errno));
		return;
	}
	lh_relayd_ctrl_hdr_encode(&hdr, child->live_req);
	lh_relayd_version_encode(LH_RELAYD_MAJOR, LH_RELAYD_MINOR_MAX,
		child->live_req + LH_RELAYD_CTRL_HDR_LEN);
	child->live_sent = 0;
	child->live_received = 0;
	/* Writable once connected. */
	child->live_watch = lh_loop_watch(child->loop, child->live_fd, EPOLLOUT,
		liveness_io_cb, child);
	if (!child->live_watch) {
		liveness_probe_failed(child, "cannot watch the connection");
	}
}

static void liveness_cb(struct lh_timer *timer, void *arg)
{
	struct lh_relayd_child *child = arg;
	uint64_t silent_ms = lh_now_ms() - child->answered_ms;

	child->live_timer = NULL;
	if (silent_ms >= child->cfg.liveness_timeout_ms) {
		/* The reaping that follows restarts it. */
		ERR("lttng-relayd (pid %d) has not answered a VERSION command for %" PRIu64 " ms: killing it",
			(int) child->pid, silent_ms);
		liveness_probe_end(child);
		if (kill(child->pid, SIGKILL) < 0) {
			PERROR("kill lttng-relayd (pid %d)", (int) child->pid);
		}
		return;
	}
	/* A probe still in flight goes on: the timeout alone judges it. */
	if (child->live_fd < 0) {
		liveness_probe_start(child);
	}
	child->live_timer = lh_loop_timer(child->loop, LIVENESS_INTERVAL_MS, liveness_cb, child);
	if (!child->live_timer) {
		ERR("cannot schedule the lttng-relayd liveness check: a stuck lttng-relayd will go unnoticed");
		liveness_probe_end(child);
	}
}

static void liveness_start(struct lh_relayd_child *child)
{
	if (!child->cfg.liveness_timeout_ms) {
		return;
	}
	child->answered_ms = lh_now_ms();
	child->live_timer = lh_loop_timer(child->loop, LIVENESS_INTERVAL_MS, liveness_cb, child);
	if (!child->live_timer) {
		ERR("cannot schedule the lttng-relayd liveness check: a stuck lttng-relayd will go unnoticed");
	}
}

static void probe_cb(struct lh_timer *timer, void *arg)
{
	struct lh_relayd_child *child = arg;

	child->timer = NULL;
	if (control_port_accepts(child->cfg.target)) {
		INFO("lttng-relayd (pid %d) accepts connections", (int) child->pid);
		child->ready = true;
		child->started_once = true;
		liveness_start(child);
		child->ops->on_ready(child->arg);
		return;
	}
	if (lh_now_ms() - child->spawn_ms >= START_TIMEOUT_MS) {
		/* The reaping that follows reports the failure. */
		ERR("lttng-relayd (pid %d) does not accept connections on %s after %d ms: killing it",
			(int) child->pid, child->cfg.control_url, START_TIMEOUT_MS);
		if (kill(child->pid, SIGKILL) < 0) {
			PERROR("kill lttng-relayd (pid %d)", (int) child->pid);
		}
		return;
	}
	child->timer = lh_loop_timer(child->loop, PROBE_INTERVAL_MS, probe_cb, child);
	if (!child->timer) {
		ERR("cannot schedule the lttng-relayd start-up check: killing it");
		if (kill(child->pid, SIGKILL) < 0) {
			PERROR("kill lttng-relayd (pid %d)", (int) child->pid);
		}
	}
}

struct lh_relayd_child *lh_relayd_child_create(struct lh_loop *loop,
		const struct lh_relayd_child_config *cfg,
		const struct lh_relayd_child_ops *ops, void *arg)
{
	struct lh_relayd_child *child;
	unsigned int i, n = 0;

	child = calloc(1, sizeof(*child));
	if (!child) {
		PERROR("calloc");
		return NULL;
	}
	child->loop = loop;
	child->cfg = *cfg;
	child->ops = ops;
	child->arg = arg;
	child->pid = -1;
	child->live_fd = -1;
	child->backoff_ms = LH_RECONNECT_MIN_MS;
	child->argv[n++] = cfg->path;
	child->argv[n++] = "-o";
	child->argv[n++] = cfg->output;
	child->argv[n++] = "-C";
	child->argv[n++] = cfg->control_url;
	child->argv[n++] = "-D";
	child->argv[n++] = cfg->data_url;
	child->argv[n++] = "-L";
	child->argv[n++] = cfg->live_url;
	for (i = 0; i < cfg->verbose && i < MAX_VERBOSE; i++) {
		child->argv[n++] = "-v";
	}
	child->argv[n] = NULL;
	return child;
}

int lh_relayd_child_start(struct lh_relayd_child *child)
{
	return start(child);
}

void lh_relayd_child_reap(struct lh_relayd_child *child)
{
	char what[64];
	int status;
	pid_t ret;

	if (child->pid < 0) {
		return;
	}
	do {
		ret = waitpid(child->pid, &status, WNOHANG);
	} while (ret < 0 && errno == EINTR);
	if (ret == 0) {
		return;
	}
	if (ret < 0) {
		PERROR("waitpid lttng-relayd (pid %d)", (int) child->pid);
		return;
	}
	format_status(status, what, sizeof(what));
	if (child->timer) {
		lh_timer_cancel(child->timer);
		child->timer = NULL;
	}
	liveness_stop(child);
	child->pid = -1;
	if (!child->started_once) {
		ERR("lttng-relayd %s before accepting connections on %s (its own messages in the log say why)",
			what, child->cfg.control_url);
		child->ops->on_failed(child->arg);
		return;
	}
	ERR("lttng-relayd %s%s", what, child->ready ? "" : " before accepting connections");
	child->ready = false;
	if (lh_now_ms() - child->spawn_ms >= STABLE_RUN_MS) {
		child->backoff_ms = LH_RECONNECT_MIN_MS;
	}
	child->ops->on_lost(child->arg);
	schedule_restart(child);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long) (ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* Our shutdown: SIGTERM, then SIGKILL if it takes too long. */
static void stop(struct lh_relayd_child *child)
{
	uint64_t deadline = lh_now_ms() + STOP_TIMEOUT_MS;
	char what[64];
	int status;
	pid_t ret;

	INFO("stopping lttng-relayd (pid %d)", (int) child->pid);
	if (kill(child->pid, SIGTERM) < 0) {
		PERROR("kill lttng-relayd (pid %d)", (int) child->pid);
	}
	for (;;) {
		ret = waitpid(child->pid, &status, WNOHANG);
		if (ret == child->pid) {
			break;
		}
		if (ret < 0 && errno != EINTR) {
			PERROR("waitpid lttng-relayd (pid %d)", (int) child->pid);
			return;
		}
		if (lh_now_ms() >= deadline) {
			WARN("lttng-relayd (pid %d) still runs %d ms after SIGTERM: killing it",
				(int) child->pid, STOP_TIMEOUT_MS);
			if (kill(child->pid, SIGKILL) < 0) {
				PERROR("kill lttng-relayd (pid %d)", (int) child->pid);
			}
			while (waitpid(child->pid, &status, 0) < 0) {
				if (errno != EINTR) {
					PERROR("waitpid lttng-relayd (pid %d)", (int) child->pid);
					return;
				}
			}
			break;
		}
		sleep_ms(STOP_POLL_MS);
	}
	format_status(status, what, sizeof(what));
	INFO("lttng-relayd %s", what);
	child->pid = -1;
}

void lh_relayd_child_destroy(struct lh_relayd_child *child)
{
	if (!child) {
		return;
	}
	if (child->timer) {
		lh_timer_cancel(child->timer);
	}
	liveness_stop(child);
	if (child->pid >= 0) {
		stop(child);
	}
	free(child);
}
