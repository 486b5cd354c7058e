/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static const char *log_progname = "lttng-hyper";
static enum lh_log_level log_level = LH_LOG_INFO;
static FILE *log_file;
static lh_log_hook log_hook;
static void *log_hook_arg;

static const char *const level_names[] = {
	[LH_LOG_ERR] = "Error",
	[LH_LOG_WARN] = "Warning",
	[LH_LOG_INFO] = "Info",
	[LH_LOG_DBG] = "Debug",
};

void lh_log_init(const char *progname)
{
	log_progname = progname;
}

void lh_log_set_level(enum lh_log_level level)
{
	if (level > LH_LOG_DBG) {
		level = LH_LOG_DBG;
	}
	log_level = level;
}

enum lh_log_level lh_log_get_level(void)
{
	return log_level;
}

int lh_log_set_file(const char *path)
{
	FILE *f = fopen(path, "ae");

	if (!f) {
		return -1;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_file) {
		fclose(log_file);
	}
	log_file = f;
	return 0;
}

void lh_log_set_hook(lh_log_hook hook, void *arg)
{
	log_hook = hook;
	log_hook_arg = arg;
}

static void log_line(enum lh_log_level level, const char *ctx, const char *fmt,
		va_list ap, const char *suffix)
{
	FILE *out = log_file ? log_file : stderr;
	bool hooked = log_hook && level <= LH_LOG_WARN;
	struct timespec ts;
	struct tm tm;
	char msg[1024];

	if (level > log_level && !hooked) {
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (hooked) {
		char full[1280];

		snprintf(full, sizeof(full), "%s%s", msg, suffix ? suffix : "");
		log_hook(level, ctx, full, log_hook_arg);
	}
	if (level > log_level) {
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	/* One fprintf per line keeps lines whole when several processes share a log. */
	fprintf(out, "%02d:%02d:%02d.%06ld %s[%d] %s: %s%s%s%s%s\n",
		tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000,
		log_progname, (int) getpid(), level_names[level],
		ctx ? "[" : "", ctx ? ctx : "", ctx ? "] " : "",
		msg, suffix ? suffix : "");
}

void lh_log(enum lh_log_level level, const char *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(level, ctx, fmt, ap, NULL);
	va_end(ap);
}

void lh_log_errno(const char *ctx, const char *fmt, ...)
{
	char suffix[256];
	int saved = errno;
	va_list ap;

	snprintf(suffix, sizeof(suffix), ": %s", strerror(saved));
	va_start(ap, fmt);
	log_line(LH_LOG_ERR, ctx, fmt, ap, suffix);
	va_end(ap);
	errno = saved;
}

void lh_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
