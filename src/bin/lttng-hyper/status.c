/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper status: one sample of the relay's status, as a table or as
 * the relay's JSON (status.h). Also the --socket option, which top shares.
 */
#include <limits.h>
#include <locale.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/daemon.h"
#include "common/defaults.h"
#include "common/log.h"
#include "relay-status.h"
#include "status.h"

enum {
	SOPT_SOCKET = 1,
	SOPT_JSON,
};

static struct {
	bool socket_given, json;
	char socket[PATH_MAX];
} sopt;

static void opt_cb(poptContext con, enum poptCallbackReason reason,
		const struct poptOption *opt, const char *arg, const void *data)
{
	if (reason != POPT_CALLBACK_REASON_OPTION) {
		return;
	}
	switch (opt->val) {
	case SOPT_SOCKET:
		sopt.socket_given = true;
		snprintf(sopt.socket, sizeof(sopt.socket), "%s", arg ? arg : "");
		break;
	case SOPT_JSON:
		sopt.json = true;
		break;
	default:
		break;
	}
}

struct poptOption lh_status_options[] = {
	{ NULL, '\0', POPT_ARG_CALLBACK, (void *) opt_cb, 0, NULL, NULL },
	{ "socket", '\0', POPT_ARG_STRING, NULL, SOPT_SOCKET, NULL, NULL },
	{ "json", '\0', POPT_ARG_NONE, NULL, SOPT_JSON, NULL, NULL },
	POPT_TABLEEND
};

bool lh_status_socket_given(void)
{
	return sopt.socket_given;
}

bool lh_status_json_given(void)
{
	return sopt.json;
}

const char *lh_status_socket(void)
{
	if (!sopt.socket_given) {
		snprintf(sopt.socket, sizeof(sopt.socket), "%s/.lttng/%s", lh_lttng_home(),
			LH_RELAYD_CONTROL_SOCK_NAME);
	}
	return sopt.socket;
}

static void print_line(const char *text, enum lh_status_line kind, void *arg)
{
	puts(text);
}

int lh_status_cmd(void)
{
	struct lh_status_table_opts opts = { .width = 0 };
	struct lh_status st;
	struct winsize ws;
	char err[1024], summary[256], shown[1024];

	/* Characters only: numbers keep their '.', whatever the locale. */
	setlocale(LC_CTYPE, "");
	if (lh_status_query(lh_status_socket(), &st, err, sizeof(err)) < 0) {
		ERR("%s", err);
		return -1;
	}
	if (sopt.json) {
		puts(json_object_to_json_string_ext(st.root, JSON_C_TO_STRING_PRETTY |
			JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		/* On a terminal, LAST ERROR is cut to fit; in a pipe, it is whole. */
		if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws)) {
			opts.width = ws.ws_col;
		}
		opts.ascii = MB_CUR_MAX == 1;
		lh_status_summary(&st, summary, sizeof(summary));
		lh_status_fit(summary, opts.width, opts.ascii, shown, sizeof(shown));
		puts(shown);
		lh_status_table(&st, &opts, print_line, NULL);
	}
	lh_status_free(&st);
	if (fflush(stdout) || ferror(stdout)) {
		PERROR("stdout");
		return -1;
	}
	return 0;
}
