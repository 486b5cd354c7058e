/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper top: the relay's status every -d seconds, with the rates
 * since the sample before (status.h); on the terminal with curses, or
 * with -b as frames on stdout for scripts. A relay that goes away is an
 * error on screen, asked again at each frame: top outlives relay restarts.
 */
#include <ctype.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/loop.h"
#include "common/number.h"
#include "relay-status.h"
#include "status.h"

/* Curses' macros need its own ERR: log.h's gives way, errors go to lh_log(). */
#undef ERR
#include <curses.h>

#define DEFAULT_DELAY_MS	1000
#define MIN_DELAY_MS		100
/* Within an int of milliseconds, for curses' timeout(). */
#define MAX_DELAY_S		86400
#define TEXT_SIZE		4096

enum {
	TOPT_DELAY = 1,
	TOPT_ITERATIONS,
	TOPT_BATCH,
};

static struct {
	bool given, batch;
	uint64_t delay_ms;
	uint64_t iterations;		/* 0: until q */
} topt = { .delay_ms = DEFAULT_DELAY_MS };

/* SECONDS[.FRACTION] as milliseconds (what is below them dropped). */
static int parse_delay(const char *s, uint64_t *ms)
{
	uint64_t sec = 0, frac = 0, scale = 100;
	bool digits = false;

	for (; isdigit((unsigned char) *s); s++) {
		sec = sec * 10 + (uint64_t) (*s - '0');
		if (sec > MAX_DELAY_S) {
			return -1;
		}
		digits = true;
	}
	if (*s == '.') {
		for (s++; isdigit((unsigned char) *s); s++) {
			frac += (uint64_t) (*s - '0') * scale;
			scale /= 10;
			digits = true;
		}
	}
	if (*s || !digits) {
		return -1;
	}
	*ms = sec * 1000 + frac;
	return 0;
}

/* An invalid value ends the command here, as popt's own errors do. */
static void opt_cb(poptContext con, enum poptCallbackReason reason,
		const struct poptOption *opt, const char *arg, const void *data)
{
	if (reason != POPT_CALLBACK_REASON_OPTION) {
		return;
	}
	topt.given = true;
	switch (opt->val) {
	case TOPT_DELAY:
		if (parse_delay(arg ? arg : "", &topt.delay_ms) || topt.delay_ms < MIN_DELAY_MS ||
				topt.delay_ms > MAX_DELAY_S * 1000) {
			lh_log(LH_LOG_ERR, NULL, "Invalid -d '%s': give SECONDS between frames, "
				"0.1 to %d", arg ? arg : "", MAX_DELAY_S);
			exit(EXIT_FAILURE);
		}
		break;
	case TOPT_ITERATIONS:
		if (lh_parse_u64(arg ? arg : "", 1, UINT32_MAX, &topt.iterations)) {
			lh_log(LH_LOG_ERR, NULL, "Invalid -n '%s': give a number of frames, "
				"1 to %u", arg ? arg : "", UINT32_MAX);
			exit(EXIT_FAILURE);
		}
		break;
	case TOPT_BATCH:
		topt.batch = true;
		break;
	default:
		break;
	}
}

struct poptOption lh_top_options[] = {
	{ NULL, '\0', POPT_ARG_CALLBACK, (void *) opt_cb, 0, NULL, NULL },
	{ "delay", 'd', POPT_ARG_STRING, NULL, TOPT_DELAY, NULL, NULL },
	{ "iterations", 'n', POPT_ARG_STRING, NULL, TOPT_ITERATIONS, NULL, NULL },
	{ "batch", 'b', POPT_ARG_NONE, NULL, TOPT_BATCH, NULL, NULL },
	POPT_TABLEEND
};

bool lh_top_options_given(void)
{
	return topt.given;
}

/* --- samples and frames ---------------------------------------------- */

struct sampler {
	const char *path;
	struct lh_status st[2];
	int cur;			/* st[cur]: the last good sample; -1: none */
	bool ok;			/* the last query worked; else err says why */
	char err[1024];
};

/* A new sample, with its rates since the last good one. */
static void sample(struct sampler *s)
{
	int next = s->cur == 0 ? 1 : 0;

	lh_status_free(&s->st[next]);
	s->ok = !lh_status_query(s->path, &s->st[next], s->err, sizeof(s->err));
	if (!s->ok) {
		return;
	}
	lh_status_rates(s->cur < 0 ? NULL : &s->st[s->cur], &s->st[next]);
	s->cur = next;
}

/* Where a frame's lines go: the screen, or stdout. */
struct output {
	void (*put)(const char *text, attr_t attr, void *arg);
	void *arg;
	unsigned int width;		/* 0: no limit */
	bool ascii;
};

static void table_line(const char *text, enum lh_status_line kind, void *arg)
{
	const struct output *o = arg;

	o->put(text, kind == LH_STATUS_LINE_HEADER ? A_REVERSE :
		kind == LH_STATUS_LINE_VM_DOWN ? A_BOLD : A_NORMAL, o->arg);
}

/* Text beyond the table wraps: an error's advice is at its end. */
static void put_wrapped(const struct output *o, const char *text, attr_t attr)
{
	char shown[TEXT_SIZE];
	size_t n;

	do {
		n = lh_status_fit(text, o->width, o->ascii, shown, sizeof(shown));
		o->put(shown, attr, o->arg);
		text += n;
	} while (*text && n);
}

static void frame(const struct sampler *s, const struct output *o)
{
	struct lh_status_table_opts opts = { .width = o->width, .rates = true, .ascii = o->ascii };
	const struct lh_status *st = s->ok ? &s->st[s->cur] : NULL;
	char clock[16] = "", summary[256], text[TEXT_SIZE];
	time_t t = st ? (time_t) (st->relay.time_ns / 1000000000) : time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm)) {
		strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	}
	if (!st) {
		snprintf(text, sizeof(text), "%s  %s", clock, s->err);
		put_wrapped(o, text, A_BOLD);
		snprintf(text, sizeof(text), "Retrying every %g s.", (double) topt.delay_ms / 1000);
		put_wrapped(o, text, A_NORMAL);
		return;
	}
	lh_status_summary(st, summary, sizeof(summary));
	snprintf(text, sizeof(text), "%s  %s", clock, summary);
	put_wrapped(o, text, A_NORMAL);
	o->put("", A_NORMAL, o->arg);
	lh_status_table(st, &opts, table_line, (void *) o);
}

/* --- batch ----------------------------------------------------------- */

static void stdout_put(const char *text, attr_t attr, void *arg)
{
	puts(text);
}

static void sleep_until(uint64_t deadline_ms)
{
	uint64_t now;

	while ((now = lh_now_ms()) < deadline_ms) {
		struct timespec ts = {
			.tv_sec = (time_t) ((deadline_ms - now) / 1000),
			.tv_nsec = (long) ((deadline_ms - now) % 1000 * 1000000),
		};

		nanosleep(&ts, NULL);
	}
}

static void run_batch(struct sampler *s)
{
	struct output o = { .put = stdout_put, .ascii = MB_CUR_MAX == 1 };
	uint64_t n;

	for (n = 1;; n++) {
		uint64_t deadline = lh_now_ms() + topt.delay_ms;

		sample(s);
		frame(s, &o);
		if (n == topt.iterations) {
			break;
		}
		putchar('\n');
		fflush(stdout);
		sleep_until(deadline);
	}
	fflush(stdout);
}

/* --- curses ---------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void screen_put(const char *text, attr_t attr, void *arg)
{
	int *y = arg;

	if (*y >= LINES) {
		return;
	}
	attrset((int) attr);
	mvaddstr((*y)++, 0, text);
	attrset(A_NORMAL);
}

static void draw(const struct sampler *s)
{
	int y = 0;
	struct output o = {
		.put = screen_put, .arg = &y, .width = COLS > 0 ? (unsigned int) COLS : 0,
		.ascii = MB_CUR_MAX == 1,
	};

	erase();
	frame(s, &o);
	refresh();
}

/* Keys until the deadline: false once the user quits. */
static bool wait_keys(const struct sampler *s, uint64_t deadline_ms)
{
	for (;;) {
		uint64_t now = lh_now_ms();
		int ch;

		if (stop) {
			return false;
		}
		if (now >= deadline_ms) {
			return true;
		}
		timeout((int) (deadline_ms - now));
		ch = getch();
		if (ch == 'q' || ch == 'Q') {
			return false;
		}
		/* Curses has the new size: the same sample, drawn to it. */
		if (ch == KEY_RESIZE) {
			draw(s);
		}
	}
}

static int run_curses(struct sampler *s)
{
	struct sigaction sa = { .sa_handler = on_signal };
	SCREEN *screen;
	uint64_t n;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		lh_log(LH_LOG_ERR, NULL, "top needs a terminal; -b prints frames to stdout");
		return -1;
	}
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		lh_log(LH_LOG_ERR, NULL, "Cannot use the terminal (TERM=%s); -b prints frames to "
			"stdout", getenv("TERM") ? getenv("TERM") : "");
		return -1;
	}
	/* No SA_RESTART: getch() returns, and curses restores the terminal. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	for (n = 1; !stop; n++) {
		uint64_t deadline = lh_now_ms() + topt.delay_ms;

		sample(s);
		draw(s);
		if (n == topt.iterations || !wait_keys(s, deadline)) {
			break;
		}
	}
	endwin();
	delscreen(screen);
	return 0;
}

int lh_top_cmd(void)
{
	struct sampler s = { .path = lh_status_socket(), .cur = -1 };
	int ret;

	/* Characters only: numbers keep their '.', whatever the locale. */
	setlocale(LC_CTYPE, "");
	if (topt.batch) {
		run_batch(&s);
		ret = 0;
	} else {
		ret = run_curses(&s);
	}
	/* With -n, a script learns whether the last frame had the status. */
	if (!ret && topt.iterations && !s.ok) {
		lh_log(LH_LOG_ERR, NULL, "%s", s.err);
		ret = -1;
	}
	lh_status_free(&s.st[0]);
	lh_status_free(&s.st[1]);
	return ret;
}
