/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper mark [OPTIONS] [TEXT]: lttng-hyper-mark does the work, in a
 * program of its own because it is an LTTng-UST application (its markers
 * are events of the guest's trace too), which lttng-hyper's other commands
 * must not be: they would register with every session daemon they meet.
 * It is looked for beside this program, then in PATH.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "mark.h"

#define MARK_PROG	"lttng-hyper-mark"

int lh_mark_exec(int argc, const char **argv)
{
	char self[PATH_MAX], beside[PATH_MAX + sizeof(MARK_PROG)];
	const char **args;
	int i, cmd, n = 0;
	ssize_t len;
	char *slash;

	/* Only -v may come before the command: other options go after it. */
	for (cmd = 1; cmd < argc; cmd++) {
		if (strcmp(argv[cmd], "-v") && strcmp(argv[cmd], "--verbose")) {
			break;
		}
	}
	if (cmd == argc || strcmp(argv[cmd], "mark")) {
		return 0;
	}
	args = calloc((size_t) argc + 1, sizeof(*args));
	if (!args) {
		PERROR("calloc");
		return -1;
	}
	args[n++] = MARK_PROG;
	for (i = 1; i < cmd; i++) {
		args[n++] = argv[i];
	}
	for (i = cmd + 1; i < argc; i++) {
		args[n++] = argv[i];
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len > 0) {
		self[len] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(beside, sizeof(beside), "%s/" MARK_PROG, self);
			execv(beside, (char *const *) args);
		}
	}
	execvp(MARK_PROG, (char *const *) args);
	ERR("Cannot run " MARK_PROG ": %s. It is installed with lttng-hyper: put it beside"
		" lttng-hyper or in PATH", strerror(errno));
	free(args);
	return -1;
}
