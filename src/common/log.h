/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging for the lttng-hyper daemons and tools.
 *
 * Every line carries the program name and, through lh_log_ctx(), the
 * context it concerns (a VM name, a channel), so that a fault in one
 * guest can be told from the others in a relay serving many.
 */
#ifndef LH_COMMON_LOG_H
#define LH_COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum lh_log_level {
	LH_LOG_ERR = 0,
	LH_LOG_WARN = 1,
	LH_LOG_INFO = 2,
	LH_LOG_DBG = 3,
};

/* Program name shown on each line; set once at start-up. */
void lh_log_init(const char *progname);
/* Each -v raises the level by one, from LH_LOG_INFO. */
void lh_log_set_level(enum lh_log_level level);
enum lh_log_level lh_log_get_level(void);
/* Send log lines to a file (daemon mode) instead of stderr. */
int lh_log_set_file(const char *path);
/*
 * Also hand every warning and error, whatever the level, to hook: the
 * host relay keeps each VM's last one for lttng-hyper status. NULL: none.
 */
typedef void (*lh_log_hook)(enum lh_log_level level, const char *ctx, const char *msg,
		void *arg);
void lh_log_set_hook(lh_log_hook hook, void *arg);

void lh_log(enum lh_log_level level, const char *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define ERR(fmt, ...) lh_log(LH_LOG_ERR, NULL, fmt, ##__VA_ARGS__)
#define WARN(fmt, ...) lh_log(LH_LOG_WARN, NULL, fmt, ##__VA_ARGS__)
#define INFO(fmt, ...) lh_log(LH_LOG_INFO, NULL, fmt, ##__VA_ARGS__)
#define DBG(fmt, ...)							\
	do {								\
		if (lh_log_get_level() >= LH_LOG_DBG) {			\
			lh_log(LH_LOG_DBG, NULL, fmt, ##__VA_ARGS__);	\
		}							\
	} while (0)

/* Same, with a context such as "vm=guest1". */
#define ERR_CTX(ctx, fmt, ...) lh_log(LH_LOG_ERR, ctx, fmt, ##__VA_ARGS__)
#define WARN_CTX(ctx, fmt, ...) lh_log(LH_LOG_WARN, ctx, fmt, ##__VA_ARGS__)
#define INFO_CTX(ctx, fmt, ...) lh_log(LH_LOG_INFO, ctx, fmt, ##__VA_ARGS__)
#define DBG_CTX(ctx, fmt, ...)						\
	do {								\
		if (lh_log_get_level() >= LH_LOG_DBG) {			\
			lh_log(LH_LOG_DBG, ctx, fmt, ##__VA_ARGS__);	\
		}							\
	} while (0)

/* ERR with ": strerror(errno)" appended. */
#define PERROR(fmt, ...) lh_log_errno(NULL, fmt, ##__VA_ARGS__)
void lh_log_errno(const char *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Write a reason into a caller's err buffer of errlen bytes (none if err
 * is NULL or errlen 0): how parsers and checks say why they refused.
 */
void lh_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* LH_COMMON_LOG_H */
