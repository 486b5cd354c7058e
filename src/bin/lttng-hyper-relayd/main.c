/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lttng-hyper-relayd: the host end of the hyper channels.
 *
 * It serves one hyper channel per VM (--vm NAME=CHANNEL) and forwards
 * every logical connection a guest opens to lttng-relayd, through the
 * relayd protocol filter, which gives each session the host's name for
 * the VM. A VM may also have data ports (--vm-data NAME=CHANNEL), where
 * its lttng-consumerd writes trace packets straight. By default it starts
 * that lttng-relayd itself and supervises it; the VMs' channels open once
 * it accepts connections.
 *
 * Its files, each with its header, call one another one way only:
 *   main.c     -> vm, child, control, sync, trim
 *   control.c  -> vm (the status socket)
 *   vm.c       -> vm-state, filter, data-port, disk (a VM: its channel,
 *                 its states, its ports, its memory and disk accounts,
 *                 its clock)
 *   filter.c   -> vm-state, sync, trim (polices a VM's relayd messages)
 *   data-port.c -> vm-state (a VM's --vm-data ports)
 *   vm-state.c -> trim (what the relay records of a VM's traffic)
 *   child.c, disk.c, sync.c, trim.c: nothing of the relay's.
 * What the filter and the ports need of their VM, vm.c hands them as
 * function pointers (vm-state.h, data-port.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <popt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>
#include <lttng-hyper/frame.h>

#include "common/daemon.h"
#include "common/defaults.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/number.h"
#include "common/transport.h"
#include "common/vm-channel.h"
#include "child.h"
#include "control.h"
#include "data-port.h"
#include "sync.h"
#include "trim.h"
#include "vm.h"

#define PROGNAME	"lttng-hyper-relayd"
#define LOG_NAME	PROGNAME ".log"
/* Directories we create get lttng-relayd's own mode for its output. */
#define DIR_MODE	(S_IRWXU | S_IRWXG)

/* Long-only options. */
enum {
	OPT_VM = 1,
	OPT_RELAYD_URL,
	OPT_RELAYD_PATH,
	OPT_PIDFILE,
	OPT_LOG,
	OPT_RELAYD_TIMEOUT,
	OPT_MAX_STREAMS,
	OPT_MAX_CONNS,
	OPT_VM_DATA,
	OPT_MAX_DATA_FRAME,
	OPT_MAX_MEMORY,
	OPT_MAX_DISK,
	OPT_CONTROL_SOCKET,
};

static const struct poptOption options[] = {
	{ "output", 'o', POPT_ARG_STRING, NULL, 'o', NULL, NULL },
	{ "vm", '\0', POPT_ARG_STRING, NULL, OPT_VM, NULL, NULL },
	{ "vm-data", '\0', POPT_ARG_STRING, NULL, OPT_VM_DATA, NULL, NULL },
	{ "relayd-url", '\0', POPT_ARG_STRING, NULL, OPT_RELAYD_URL, NULL, NULL },
	{ "control-port", 'C', POPT_ARG_STRING, NULL, 'C', NULL, NULL },
	{ "data-port", 'D', POPT_ARG_STRING, NULL, 'D', NULL, NULL },
	{ "live-port", 'L', POPT_ARG_STRING, NULL, 'L', NULL, NULL },
	{ "relayd-path", '\0', POPT_ARG_STRING, NULL, OPT_RELAYD_PATH, NULL, NULL },
	{ "daemonize", 'd', POPT_ARG_NONE, NULL, 'd', NULL, NULL },
	{ "verbose", 'v', POPT_ARG_NONE, NULL, 'v', NULL, NULL },
	{ "pidfile", '\0', POPT_ARG_STRING, NULL, OPT_PIDFILE, NULL, NULL },
	{ "log", '\0', POPT_ARG_STRING, NULL, OPT_LOG, NULL, NULL },
	{ "relayd-timeout", '\0', POPT_ARG_STRING, NULL, OPT_RELAYD_TIMEOUT, NULL, NULL },
	{ "max-streams", '\0', POPT_ARG_STRING, NULL, OPT_MAX_STREAMS, NULL, NULL },
	{ "max-conns", '\0', POPT_ARG_STRING, NULL, OPT_MAX_CONNS, NULL, NULL },
	{ "max-data-frame", '\0', POPT_ARG_STRING, NULL, OPT_MAX_DATA_FRAME, NULL, NULL },
	{ "max-memory", '\0', POPT_ARG_STRING, NULL, OPT_MAX_MEMORY, NULL, NULL },
	{ "max-disk", '\0', POPT_ARG_STRING, NULL, OPT_MAX_DISK, NULL, NULL },
	{ "control-socket", '\0', POPT_ARG_STRING, NULL, OPT_CONTROL_SOCKET, NULL, NULL },
	{ "help", 'h', POPT_ARG_NONE, NULL, 'h', NULL, NULL },
	{ "version", 'V', POPT_ARG_NONE, NULL, 'V', NULL, NULL },
	POPT_TABLEEND
};

/* One --vm, as parsed. */
struct relay {
	/* Options; strings are ours to free. */
	char *output;
	char *control_url;
	char *data_url;
	char *live_url;
	char *relayd_url;
	char *relayd_path;
	char *pidfile;
	char *log_path;
	char *control_path;
	bool control_given;		/* --control-socket: failing to listen is fatal */
	bool daemonize;
	unsigned int verbose;
	uint64_t relayd_timeout_ms;
	unsigned int max_streams;
	unsigned int max_conns;
	uint64_t max_data_frame;
	uint64_t max_memory;
	uint64_t max_disk;
	struct lh_vm_spec *vm_opts;
	unsigned int nr_vms;
	struct lh_vm_spec *data_opts;	/* --vm-data, checked once every --vm is known */
	unsigned int nr_data;

	struct lh_relayd_target target;
	struct lh_loop *loop;
	int sig_fd;
	struct lh_watch *sig_watch;
	int relayd_log_fd;		/* lttng-relayd's stdout and stderr; -1: ours */
	struct lh_relayd_child *child;	/* NULL with --relayd-url */
	struct lh_vm **vms;
	struct lh_relay_control_source status;
	struct lh_relay_control *control;
	bool vms_started;
	int pidfile_fd;
	int exit_code;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROGNAME " [OPTION]... --vm NAME=CHANNEL [--vm NAME=CHANNEL]...\n"
		"\n"
		"Receive the LTTng traces of virtual machines over hyper channels and have\n"
		"lttng-relayd write them under OUTPUT/NAME/.\n"
		"\n"
		"  --vm NAME=CHANNEL         Serve the VM called NAME on CHANNEL, one of\n");
	lh_transport_usage(out, LH_TRANSPORT_HOST_END, 30);
	fprintf(out,
		"  --vm-data NAME=CHANNEL    Also take trace packets from VM NAME's lttng-consumerd\n"
		"                            on CHANNEL, a data port (same forms; repeatable)\n"
		"  -o, --output DIR          Output of the lttng-relayd started\n"
		"                            (default: $LTTNG_HOME/lttng-traces)\n"
		"  -C, --control-port URL    Its control port (default: " LH_DEFAULT_CONTROL_URL ")\n"
		"  -D, --data-port URL       Its data port (default: " LH_DEFAULT_DATA_URL ")\n"
		"  -L, --live-port URL       Its live port (default: " LH_DEFAULT_LIVE_URL ")\n"
		"      --relayd-path PATH    The lttng-relayd to start\n"
		"                            (default: " CONFIG_LTTNG_RELAYD_BIN ")\n"
		"      --relayd-url URL      Start no lttng-relayd; use the one at\n"
		"                            net://HOST[:CTRL[:DATA]]\n"
		"      --relayd-timeout MS   Reset a connection lttng-relayd leaves stalled this\n"
		"                            long, and restart an lttng-relayd started here\n"
		"                            that answers nothing this long (default: %u)\n"
		"      --max-streams N       Streams one VM may add (default: %u)\n"
		"      --max-conns N         Connections one VM may hold open (default: %u)\n"
		"      --max-data-frame SIZE Largest packet (data_size + padding_size) one\n"
		"                            frame of a data port may carry (default: %uM)\n"
		"      --max-memory SIZE     Memory the relay may hold for one VM, the VMs\n"
		"                            nested in it included; past it, the VM is cut off\n"
		"                            (default: %uM, at least %uM)\n"
		"      --max-disk SIZE       Disk one VM's traces may take, the VMs nested in it\n"
		"                            included; past it, its sessions end (default: none)\n"
		"  -d, --daemonize           Run as a daemon, once ready\n"
		"      --pidfile PATH        Write the process ID to PATH\n"
		"      --log PATH            Log to PATH (daemonized, the default is\n"
		"                            $LTTNG_HOME/.lttng/" LOG_NAME ")\n"
		"      --control-socket PATH The socket lttng-hyper status and top read, for\n"
		"                            root only (default:\n"
		"                            $LTTNG_HOME/.lttng/" LH_RELAYD_CONTROL_SOCK_NAME ")\n"
		"  -v, --verbose             More messages; passed on to lttng-relayd\n"
		"  -h, --help                Show this help\n"
		"  -V, --version             Show the version\n"
		"\n"
		"See lttng-hyper-relayd(8).\n",
		LH_DEFAULT_RELAYD_TIMEOUT_MS, LH_DEFAULT_MAX_STREAMS, LH_DEFAULT_MAX_CONNS,
		LH_DEFAULT_MAX_DATA_FRAME >> 20, LH_DEFAULT_MAX_MEMORY >> 20, LH_MIN_MAX_MEMORY >> 20);
}

static int parse_number(const char *opt, const char *str, uint64_t min, uint64_t max,
		uint64_t *out)
{
	if (lh_parse_u64(str, min, max, out) < 0) {
		ERR("%s: \"%s\" is not a number from %" PRIu64 " to %" PRIu64, opt, str, min, max);
		return -1;
	}
	return 0;
}

static int parse_size(const char *opt, const char *str, uint64_t min, uint64_t max,
		uint64_t *out)
{
	if (lh_parse_size(str, min, max, out) < 0) {
		ERR("%s: \"%s\" is not a size (bytes, or with a k, M or G suffix) from %" PRIu64
			" to %" PRIu64 " bytes", opt, str, min, max);
		return -1;
	}
	return 0;
}

static int make_absolute(char **path)
{
	char *abs = lh_absolute_path(*path);

	if (!abs) {
		return -1;
	}
	free(*path);
	*path = abs;
	return 0;
}

static int add_vm(struct relay *relay, const char *arg)
{
	char err[512], host[HOST_NAME_MAX + 1];
	struct lh_vm_spec *vm, *vms;
	unsigned int i;

	vms = realloc(relay->vm_opts, (relay->nr_vms + 1) * sizeof(*vms));
	if (!vms) {
		PERROR("realloc");
		return -1;
	}
	relay->vm_opts = vms;
	vm = &vms[relay->nr_vms];
	if (lh_vm_spec_parse(arg, vm, err, sizeof(err)) < 0) {
		ERR("--vm %s: %s", arg, err);
		return -1;
	}
	/* The host's own sessions land in OUTPUT/<its hostname>: keep VMs apart. */
	if (gethostname(host, sizeof(host)) == 0 && !strcmp(host, vm->name)) {
		ERR("--vm %s: '%s' is this host's hostname, under which the host's own traces land in the output directory; choose another VM name",
			arg, host);
		return -1;
	}
	for (i = 0; i < relay->nr_vms; i++) {
		if (lh_vm_spec_conflict(&vms[i], vm, err, sizeof(err))) {
			ERR("--vm %s: %s", arg, err);
			return -1;
		}
	}
	relay->nr_vms++;
	return 0;
}

/* A --vm-data, parsed now; its VM is checked once every --vm is known. */
static int add_data_port(struct relay *relay, const char *arg)
{
	struct lh_vm_spec *spec, *specs;
	char err[512];
	unsigned int i;

	specs = realloc(relay->data_opts, (relay->nr_data + 1) * sizeof(*specs));
	if (!specs) {
		PERROR("realloc");
		return -1;
	}
	relay->data_opts = specs;
	spec = &specs[relay->nr_data];
	if (lh_vm_spec_parse(arg, spec, err, sizeof(err)) < 0) {
		ERR("--vm-data %s: %s", arg, err);
		return -1;
	}
	for (i = 0; i < relay->nr_data; i++) {
		if (lh_vm_spec_same_socket(&specs[i], spec, err, sizeof(err))) {
			ERR("--vm-data %s: %s", arg, err);
			return -1;
		}
	}
	relay->nr_data++;
	return 0;
}

/* Each data port belongs to a --vm, on a socket of its own. */
static int check_data_ports(const struct relay *relay)
{
	const struct lh_vm_spec *spec;
	unsigned int i, j;
	char err[512];
	bool found;

	for (i = 0; i < relay->nr_data; i++) {
		spec = &relay->data_opts[i];
		found = false;
		for (j = 0; j < relay->nr_vms; j++) {
			if (lh_vm_spec_same_socket(&relay->vm_opts[j], spec, err, sizeof(err))) {
				ERR("--vm-data %s=%s: %s", spec->name, spec->channel, err);
				return -1;
			}
			found = found || !strcmp(relay->vm_opts[j].name, spec->name);
		}
		if (!found) {
			ERR("--vm-data %s=%s: no --vm %s=CHANNEL: a data port belongs to a VM the relay serves",
				spec->name, spec->channel, spec->name);
			return -1;
		}
	}
	return 0;
}

/* Take a string option, refusing it twice: a second value would silently win. */
static int set_string(char **dst, char *arg, const char *name)
{
	if (*dst) {
		ERR("%s given twice", name);
		free(arg);
		return -1;
	}
	*dst = arg;
	return 0;
}

/* Returns 0 to run, 1 to exit successfully (help, version), -1 on error. */
static int parse_options(struct relay *relay, int argc, const char **argv)
{
	uint64_t num = 0;
	poptContext pc;
	const char *extra;
	char *arg;
	int ret = 0;
	int opt;

	pc = poptGetContext(NULL, argc, argv, options, 0);
	while ((opt = poptGetNextOpt(pc)) > 0) {
		arg = poptGetOptArg(pc);
		switch (opt) {
		case 'h':
			usage(stdout);
			ret = 1;
			break;
		case 'V':
			printf(PROGNAME " " PACKAGE_VERSION "\n");
			ret = 1;
			break;
		case 'd':
			relay->daemonize = true;
			break;
		case 'v':
			relay->verbose++;
			break;
		case OPT_VM:
			ret = add_vm(relay, arg);
			break;
		case OPT_VM_DATA:
			ret = add_data_port(relay, arg);
			break;
		case 'o':
			ret = set_string(&relay->output, arg, "--output");
			arg = NULL;
			break;
		case 'C':
			ret = set_string(&relay->control_url, arg, "--control-port");
			arg = NULL;
			break;
		case 'D':
			ret = set_string(&relay->data_url, arg, "--data-port");
			arg = NULL;
			break;
		case 'L':
			ret = set_string(&relay->live_url, arg, "--live-port");
			arg = NULL;
			break;
		case OPT_RELAYD_URL:
			ret = set_string(&relay->relayd_url, arg, "--relayd-url");
			arg = NULL;
			break;
		case OPT_RELAYD_PATH:
			ret = set_string(&relay->relayd_path, arg, "--relayd-path");
			arg = NULL;
			break;
		case OPT_PIDFILE:
			ret = set_string(&relay->pidfile, arg, "--pidfile");
			arg = NULL;
			break;
		case OPT_LOG:
			ret = set_string(&relay->log_path, arg, "--log");
			arg = NULL;
			break;
		case OPT_CONTROL_SOCKET:
			ret = set_string(&relay->control_path, arg, "--control-socket");
			relay->control_given = true;
			arg = NULL;
			break;
		case OPT_RELAYD_TIMEOUT:
			ret = parse_number("--relayd-timeout", arg, 1, UINT32_MAX, &num);
			relay->relayd_timeout_ms = num;
			break;
		case OPT_MAX_STREAMS:
			ret = parse_number("--max-streams", arg, 1, UINT32_MAX, &num);
			relay->max_streams = num;
			break;
		case OPT_MAX_CONNS:
			ret = parse_number("--max-conns", arg, 1, 65535, &num);
			relay->max_conns = num;
			break;
		case OPT_MAX_DATA_FRAME:
			/* A frame's data_size and padding_size are u32 each. */
			ret = parse_size("--max-data-frame", arg, 1, 2ULL * UINT32_MAX, &num);
			relay->max_data_frame = num;
			break;
		case OPT_MAX_MEMORY:
			ret = parse_size("--max-memory", arg, LH_MIN_MAX_MEMORY, UINT64_MAX, &num);
			relay->max_memory = num;
			break;
		case OPT_MAX_DISK:
			ret = parse_size("--max-disk", arg, 1, UINT64_MAX, &num);
			relay->max_disk = num;
			break;
		}
		free(arg);
		if (ret) {
			goto end;
		}
	}
	if (opt < -1) {
		ERR("%s: %s (see --help)", poptBadOption(pc, POPT_BADOPTION_NOALIAS),
			poptStrerror(opt));
		ret = -1;
		goto end;
	}
	extra = poptGetArg(pc);
	if (extra) {
		ERR("unexpected argument \"%s\" (see --help)", extra);
		ret = -1;
		goto end;
	}
	if (!relay->nr_vms) {
		ERR("no VM: give at least one --vm NAME=CHANNEL (see --help)");
		ret = -1;
		goto end;
	}
	if (check_data_ports(relay) < 0) {
		ret = -1;
		goto end;
	}
	if (relay->relayd_url && (relay->output || relay->control_url || relay->data_url ||
			relay->live_url || relay->relayd_path)) {
		ERR("--output, --control-port, --data-port, --live-port and --relayd-path configure the lttng-relayd this daemon starts: not with --relayd-url");
		ret = -1;
	}
end:
	poptFreeContext(pc);
	return ret;
}

/* lttng-relayd listening on a wildcard address is reached on the loopback. */
static void connectable_host(char *host, size_t len)
{
	if (!strcmp(host, "0.0.0.0")) {
		snprintf(host, len, "127.0.0.1");
	} else if (!strcmp(host, "::")) {
		snprintf(host, len, "::1");
	}
}

static int dup_default(char **dst, const char *value)
{
	if (*dst) {
		return 0;
	}
	*dst = strdup(value);
	if (!*dst) {
		PERROR("strdup");
		return -1;
	}
	return 0;
}

/* Where the VMs' connections go, and the started lttng-relayd's URLs. */
static int set_relayd_target(struct relay *relay)
{
	struct lh_relayd_target *target = &relay->target;
	char err[256], host[256];
	uint16_t port;

	if (relay->relayd_url) {
		if (lttng_hyper_net_url_parse(relay->relayd_url, target->control_host,
				sizeof(target->control_host), &target->control_port,
				&target->data_port, err, sizeof(err)) < 0) {
			ERR("--relayd-url %s: %s", relay->relayd_url, err);
			return -1;
		}
		strcpy(target->data_host, target->control_host);
		return 0;
	}
	if (dup_default(&relay->control_url, LH_DEFAULT_CONTROL_URL) < 0 ||
			dup_default(&relay->data_url, LH_DEFAULT_DATA_URL) < 0 ||
			dup_default(&relay->live_url, LH_DEFAULT_LIVE_URL) < 0 ||
			dup_default(&relay->relayd_path, CONFIG_LTTNG_RELAYD_BIN) < 0) {
		return -1;
	}
	if (lttng_hyper_tcp_url_parse(relay->control_url, target->control_host,
			sizeof(target->control_host), &target->control_port,
			err, sizeof(err)) < 0) {
		ERR("--control-port %s: %s", relay->control_url, err);
		return -1;
	}
	if (lttng_hyper_tcp_url_parse(relay->data_url, target->data_host,
			sizeof(target->data_host), &target->data_port, err, sizeof(err)) < 0) {
		ERR("--data-port %s: %s", relay->data_url, err);
		return -1;
	}
	if (lttng_hyper_tcp_url_parse(relay->live_url, host, sizeof(host), &port,
			err, sizeof(err)) < 0) {
		ERR("--live-port %s: %s", relay->live_url, err);
		return -1;
	}
	connectable_host(target->control_host, sizeof(target->control_host));
	connectable_host(target->data_host, sizeof(target->data_host));
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int) sizeof(buf)) {
		ERR("path too long: %s", path);
		return -1;
	}
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0') {
			continue;
		}
		if (p[-1] != '/') {
			const char c = *p;

			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST) {
				PERROR("mkdir %s", buf);
				return -1;
			}
			*p = c;
		}
		if (*p == '\0') {
			break;
		}
	}
	return 0;
}

/* The started lttng-relayd's output directory: created, and absolute. */
static int prepare_output(struct relay *relay)
{
	char *real;
	struct stat st;

	if (!relay->output && asprintf(&relay->output, "%s/lttng-traces", lh_lttng_home()) < 0) {
		PERROR("asprintf");
		relay->output = NULL;
		return -1;
	}
	if (mkdir_p(relay->output, DIR_MODE) < 0) {
		return -1;
	}
	real = realpath(relay->output, NULL);
	if (!real) {
		PERROR("output directory %s", relay->output);
		return -1;
	}
	free(relay->output);
	relay->output = real;
	if (stat(real, &st) < 0) {
		PERROR("stat %s", real);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		ERR("output %s is not a directory", real);
		return -1;
	}
	return 0;
}

/* *path = $LTTNG_HOME/.lttng/name, the directory made if need be. */
static int lttng_home_file(const char *name, char **path)
{
	char *dir;

	if (asprintf(&dir, "%s/.lttng", lh_lttng_home()) < 0) {
		PERROR("asprintf");
		return -1;
	}
	if (mkdir_p(dir, DIR_MODE) < 0 || asprintf(path, "%s/%s", dir, name) < 0) {
		free(dir);
		*path = NULL;
		return -1;
	}
	free(dir);
	return 0;
}

/* The control socket's path: absolute, in a directory that exists. */
static int prepare_control(struct relay *relay)
{
	if (relay->control_path) {
		return make_absolute(&relay->control_path);
	}
	return lttng_home_file(LH_RELAYD_CONTROL_SOCK_NAME, &relay->control_path);
}

/* Open the logs before daemonizing, so a bad --log is reported on the terminal. */
static int prepare_log(struct relay *relay)
{
	if (!relay->log_path && relay->daemonize &&
			lttng_home_file(LOG_NAME, &relay->log_path) < 0) {
		return -1;
	}
	if (!relay->log_path) {
		return 0;
	}
	if (lh_log_set_file(relay->log_path) < 0) {
		PERROR("log file %s", relay->log_path);
		return -1;
	}
	if (relay->relayd_url) {
		return 0;
	}
	/* lttng-relayd's own messages go to the same log, appended line by line. */
	relay->relayd_log_fd = open(relay->log_path,
		O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (relay->relayd_log_fd < 0) {
		PERROR("log file %s", relay->log_path);
		return -1;
	}
	return 0;
}

static void fail(struct relay *relay)
{
	relay->exit_code = EXIT_FAILURE;
	lh_loop_stop(relay->loop);
}

static void start_vms(struct relay *relay)
{
	unsigned int i;

	for (i = 0; i < relay->nr_vms; i++) {
		if (lh_vm_start(relay->vms[i]) < 0) {
			fail(relay);
			return;
		}
	}
	relay->vms_started = true;
	INFO("ready: %u VM%s, %u data port%s, lttng-relayd at %s:%u (control) and %s:%u (data)",
		relay->nr_vms, relay->nr_vms > 1 ? "s" : "",
		relay->nr_data, relay->nr_data == 1 ? "" : "s",
		relay->target.control_host, relay->target.control_port,
		relay->target.data_host, relay->target.data_port);
	lh_daemon_ready();
}

static void child_on_ready(void *arg)
{
	struct relay *relay = arg;

	relay->status.relayd_state = "up";
	if (!relay->vms_started) {
		start_vms(relay);
	}
}

static void child_on_lost(void *arg)
{
	struct relay *relay = arg;
	unsigned int i;

	relay->status.relayd_state = "restarting";
	for (i = 0; i < relay->nr_vms; i++) {
		lh_vm_relayd_lost(relay->vms[i]);
	}
}

static void child_on_failed(void *arg)
{
	struct relay *relay = arg;

	relay->status.relayd_state = "failed";
	fail(relay);
}

static const struct lh_relayd_child_ops child_ops = {
	.on_ready = child_on_ready,
	.on_lost = child_on_lost,
	.on_failed = child_on_failed,
};

static void signal_cb(struct lh_watch *watch, int fd, uint32_t events, void *arg)
{
	struct relay *relay = arg;
	struct signalfd_siginfo si;
	ssize_t ret;

	for (;;) {
		ret = read(fd, &si, sizeof(si));
		if (ret < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN) {
				PERROR("read signalfd");
			}
			return;
		}
		if (ret != sizeof(si)) {
			ERR("short read from signalfd: %zd bytes", ret);
			return;
		}
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			INFO("%s: shutting down", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			lh_loop_stop(relay->loop);
			break;
		case SIGHUP:
			INFO("SIGHUP ignored: there is no configuration to reload");
			break;
		case SIGCHLD:
			if (relay->child) {
				lh_relayd_child_reap(relay->child);
			}
			break;
		}
	}
}

static int create_vms(struct relay *relay)
{
	struct lh_vm_config cfg = {
		.relayd = &relay->target,
		.relayd_timeout_ms = relay->relayd_timeout_ms,
		.max_conns = relay->max_conns,
		.max_memory = relay->max_memory,
		.max_disk = relay->max_disk,
		.output = relay->relayd_url ? NULL : relay->output,
		.limits = {
			.max_control_payload = LH_DEFAULT_MAX_CONTROL_PAYLOAD,
			.max_streams = relay->max_streams,
			.max_sessions = LH_DEFAULT_MAX_SESSIONS,
		},
	};
	struct lh_data_port_config port_cfg = {
		.relayd = &relay->target,
		.max_frame = relay->max_data_frame,
	};
	unsigned int i, j;

	relay->vms = calloc(relay->nr_vms, sizeof(*relay->vms));
	if (!relay->vms) {
		PERROR("calloc");
		return -1;
	}
	for (i = 0; i < relay->nr_vms; i++) {
		cfg.name = relay->vm_opts[i].name;
		cfg.uri = relay->vm_opts[i].uri;
		relay->vms[i] = lh_vm_create(relay->loop, &cfg);
		if (!relay->vms[i]) {
			return -1;
		}
		for (j = 0; j < relay->nr_data; j++) {
			if (strcmp(relay->data_opts[j].name, cfg.name)) {
				continue;
			}
			port_cfg.uri = relay->data_opts[j].uri;
			if (lh_vm_add_data_port(relay->vms[i], &port_cfg) < 0) {
				return -1;
			}
		}
	}
	return 0;
}

static int start_relayd(struct relay *relay)
{
	const struct lh_relayd_child_config cfg = {
		.path = relay->relayd_path,
		.output = relay->output,
		.control_url = relay->control_url,
		.data_url = relay->data_url,
		.live_url = relay->live_url,
		.target = &relay->target,
		.liveness_timeout_ms = relay->relayd_timeout_ms,
		.verbose = relay->verbose,
		.log_fd = relay->relayd_log_fd,
	};

	relay->child = lh_relayd_child_create(relay->loop, &cfg, &child_ops, relay);
	if (!relay->child) {
		return -1;
	}
	return lh_relayd_child_start(relay->child);
}

/* Everything after the daemonization: the event loop and what it serves. */
static void run(struct relay *relay)
{
	relay->exit_code = EXIT_FAILURE;
	relay->loop = lh_loop_create();
	if (!relay->loop) {
		ERR("cannot create the event loop");
		return;
	}
	if (!relay->relayd_url && lh_relay_trim_init(relay->loop, relay->output) < 0) {
		return;
	}
	relay->sig_fd = lh_signalfd_create();
	if (relay->sig_fd < 0) {
		return;
	}
	relay->sig_watch = lh_loop_watch(relay->loop, relay->sig_fd, EPOLLIN, signal_cb, relay);
	if (!relay->sig_watch) {
		ERR("cannot watch signals");
		return;
	}
	if (relay->pidfile) {
		relay->pidfile_fd = lh_pidfile_write(relay->pidfile);
		if (relay->pidfile_fd < 0) {
			return;
		}
	}
	if (create_vms(relay) < 0) {
		return;
	}
	relay->status = (struct lh_relay_control_source) {
		.output = relay->relayd_url ? NULL : relay->output,
		.relayd_state = relay->relayd_url ? "external" : "starting",
		.vms = relay->vms,
		.nr_vms = relay->nr_vms,
	};
	relay->control = lh_relay_control_create(relay->loop, relay->control_path,
		&relay->status);
	if (!relay->control) {
		if (relay->control_given) {
			return;
		}
		WARN("running without a control socket: lttng-hyper status and top cannot reach this relay (give another --control-socket)");
	}
	relay->exit_code = EXIT_SUCCESS;
	if (relay->relayd_url) {
		start_vms(relay);
	} else if (start_relayd(relay) < 0) {
		relay->exit_code = EXIT_FAILURE;
	}
	if (relay->exit_code == EXIT_SUCCESS && lh_loop_run(relay->loop) < 0) {
		ERR("event loop failed");
		relay->exit_code = EXIT_FAILURE;
	}
}

static void cleanup(struct relay *relay)
{
	unsigned int i;

	/* Before the VMs: a status must not read a VM being torn down. */
	lh_relay_control_destroy(relay->control);
	if (relay->vms) {
		for (i = 0; i < relay->nr_vms; i++) {
			lh_vm_destroy(relay->vms[i]);
		}
		free(relay->vms);
	}
	/* After the VMs: lttng-relayd sees their connections close first. */
	lh_relayd_child_destroy(relay->child);
	/* lttng-relayd is gone: the pending trims need not wait for it. */
	lh_relay_trim_fini();
	if (relay->pidfile_fd >= 0) {
		lh_pidfile_remove(relay->pidfile, relay->pidfile_fd);
	}
	if (relay->sig_watch) {
		lh_watch_remove(relay->sig_watch);
	}
	if (relay->sig_fd >= 0 && close(relay->sig_fd) < 0) {
		PERROR("close signalfd");
	}
	if (relay->loop) {
		lh_loop_destroy(relay->loop);
	}
	if (relay->relayd_log_fd >= 0 && close(relay->relayd_log_fd) < 0) {
		PERROR("close lttng-relayd log");
	}
	free(relay->output);
	free(relay->control_url);
	free(relay->data_url);
	free(relay->live_url);
	free(relay->relayd_url);
	free(relay->relayd_path);
	free(relay->pidfile);
	free(relay->log_path);
	free(relay->control_path);
	free(relay->vm_opts);
	free(relay->data_opts);
	lh_relay_sync_fini();
}

int main(int argc, const char **argv)
{
	struct relay relay = {
		.relayd_timeout_ms = LH_DEFAULT_RELAYD_TIMEOUT_MS,
		.max_streams = LH_DEFAULT_MAX_STREAMS,
		.max_conns = LH_DEFAULT_MAX_CONNS,
		.max_data_frame = LH_DEFAULT_MAX_DATA_FRAME,
		.max_memory = LH_DEFAULT_MAX_MEMORY,
		.sig_fd = -1,
		.pidfile_fd = -1,
		.relayd_log_fd = -1,
		.exit_code = EXIT_FAILURE,
	};
	int ret;

	lh_log_init(PROGNAME);
	/*
	 * A guest may make the relay hold a control message of up to 16 MiB
	 * for a moment. Such buffers go back to the system once freed: past
	 * the first, glibc's dynamic threshold would keep them in the heap,
	 * and the relay's memory would grow with what guests once sent.
	 */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	ret = parse_options(&relay, argc, argv);
	if (ret) {
		if (ret > 0) {
			relay.exit_code = EXIT_SUCCESS;
		}
		goto end;
	}
	lh_log_set_level((enum lh_log_level) (LH_LOG_INFO + relay.verbose));
	if (relay.pidfile && make_absolute(&relay.pidfile) < 0) {
		goto end;
	}
	if (set_relayd_target(&relay) < 0) {
		goto end;
	}
	/* A bare program name is looked up in PATH. */
	if (relay.relayd_path && strchr(relay.relayd_path, '/') &&
			make_absolute(&relay.relayd_path) < 0) {
		goto end;
	}
	if (!relay.relayd_url && prepare_output(&relay) < 0) {
		goto end;
	}
	/*
	 * The final clock fix rewrites the files lttng-relayd wrote, so it
	 * needs their directory: only with the relayd we start ourselves.
	 */
	if (!relay.relayd_url && lh_relay_sync_set_output(relay.output) < 0) {
		goto end;
	}
	if (prepare_log(&relay) < 0 || prepare_control(&relay) < 0) {
		goto end;
	}
	if (relay.daemonize && lh_daemonize() < 0) {
		goto end;
	}
	run(&relay);
	cleanup(&relay);
	INFO("exiting");
	return relay.exit_code;
end:
	cleanup(&relay);
	return relay.exit_code;
}
