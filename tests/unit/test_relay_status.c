/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the client of the relay's control socket
 * (src/bin/lttng-hyper/relay-status.h): a reply with a channel VM, a VM
 * nested in it and a VM whose channel is down is read field by field;
 * rates between two samples, a counter that restarts and a relay that
 * restarted; malformed replies refused with a reason that names the
 * field; the table's indentation and its control of what reaches the
 * terminal; and the socket, against a forked server that answers canned
 * replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bin/lttng-hyper/relay-status.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	86
#define DIR_TEMPLATE	"/tmp/lh-test-rs-XXXXXX"
#define MAX_LINES	16

/* One sample: l1's and l1/l2's counters, and when and from which pid. */
struct sample {
	long long pid;
	unsigned long long mono_ns;
	unsigned long long l1_bytes, l1_packets, l2_bytes, l2_packets;
};

static const struct sample first = {
	.pid = 1234, .mono_ns = 10000000000ULL,
	.l1_bytes = 1000000, .l1_packets = 100, .l2_bytes = 500000, .l2_packets = 50,
};

static char reply[8192];

static const char *make_reply(const struct sample *s)
{
	snprintf(reply, sizeof(reply),
		"{\"version\": 1, \"relay\": {\"pid\": %lld, \"package_version\": \"0.1.0\", "
		"\"uptime_s\": 12.5, \"time_ns\": 1796467310087138380, \"monotonic_ns\": %llu, "
		"\"output\": \"/root/lttng-traces\", \"relayd\": \"up\", \"last_error\": null}, "
		"\"vms\": ["
		"{\"name\": \"l1\", \"parent\": null, \"depth\": 0, "
		"\"channel\": \"unix-listen:/tmp/l1.sock\", \"state\": \"up\", \"state_s\": 3.2, "
		"\"ups\": 1, \"connections\": 2, \"sessions\": 1, \"streams\": 5, "
		"\"bytes_in\": %llu, \"packets\": %llu, \"events_discarded\": 7, "
		"\"clock\": {\"offset_ns\": -123456789, \"error_ns\": 5400, \"drift_ppm\": 0.5}, "
		"\"last_error\": null}, "
		"{\"name\": \"l1/l2\", \"parent\": \"l1\", \"depth\": 1, \"channel\": null, "
		"\"state\": \"up\", \"state_s\": 0, \"ups\": 0, \"connections\": 2, "
		"\"sessions\": 1, \"streams\": 3, \"bytes_in\": %llu, \"packets\": %llu, "
		"\"events_discarded\": 0, \"clock\": {\"offset_ns\": 42000, \"error_ns\": 9000}, "
		"\"last_error\": null}, "
		"{\"name\": \"l3\", \"parent\": null, \"depth\": 0, "
		"\"channel\": \"unix-connect:/tmp/l3.sock\", \"state\": \"listening\", "
		"\"state_s\": 42, \"ups\": 0, \"connections\": 0, \"sessions\": 0, \"streams\": 0, "
		"\"bytes_in\": 0, \"packets\": 0, \"events_discarded\": 0, \"clock\": null, "
		"\"last_error\": {\"message\": \"conn 3 (control) reset: peer gone\", "
		"\"age_s\": 4.1}}"
		"]}\n", s->pid, s->mono_ns, s->l1_bytes, s->l1_packets, s->l2_bytes, s->l2_packets);
	return reply;
}

static int parse(const char *text, struct lh_status *st, char *err, size_t err_len)
{
	return lh_status_parse(text, strlen(text), st, err, err_len);
}

static void test_parse(void)
{
	struct lh_status st;
	const struct lh_status_vm *l1, *l2, *l3;
	char err[512] = "";

	if (!ok(!parse(make_reply(&first), &st, err, sizeof(err)), "sample reply parsed")) {
		diag("%s", err);
		skip(21, "no status");
		return;
	}
	ok(st.relay.pid == 1234 && !strcmp(st.relay.package_version, "0.1.0") &&
		st.relay.uptime_s == 12.5, "relay: pid, version, uptime");
	ok(st.relay.time_ns == 1796467310087138380ULL && st.relay.monotonic_ns == first.mono_ns,
		"relay: wall clock and monotonic clock of the sample, exact");
	ok(!strcmp(st.relay.output, "/root/lttng-traces") && !strcmp(st.relay.relayd, "up"),
		"relay: output and lttng-relayd's state");
	if (!ok(st.nr_vms == 3, "three VMs")) {
		skip(17, "not three VMs");
		lh_status_free(&st);
		return;
	}
	l1 = &st.vms[0];
	l2 = &st.vms[1];
	l3 = &st.vms[2];
	ok(!strcmp(l1->name, "l1") && !l1->parent && l1->depth == 0 &&
		!strcmp(l1->channel, "unix-listen:/tmp/l1.sock"), "l1: name, no parent, channel");
	ok(!strcmp(l1->state, "up") && l1->state_s == 3.2 && l1->ups == 1, "l1: state");
	ok(l1->connections == 2 && l1->sessions == 1 && l1->streams == 5, "l1: relayd objects");
	ok(l1->bytes_in == 1000000 && l1->packets == 100 && l1->events_discarded == 7,
		"l1: counters");
	ok(l1->has_clock && l1->clock_offset_ns == -123456789 && l1->clock_error_ns == 5400,
		"l1: clock, a negative offset and its bound (an unknown field is ignored)");
	ok(!l1->last_error, "l1: no last error");
	ok(!strcmp(l2->name, "l1/l2") && !strcmp(l2->parent, "l1") && l2->depth == 1,
		"l1/l2: full name, parent, depth");
	ok(!l2->channel && !strcmp(l2->state, "up"), "l1/l2: no channel of its own");
	ok(l2->bytes_in == 500000 && l2->packets == 50 && l2->streams == 3, "l1/l2: counters");
	ok(l2->has_clock && l2->clock_offset_ns == 42000 && l2->clock_error_ns == 9000,
		"l1/l2: clock");
	ok(!strcmp(l3->state, "listening") && l3->state_s == 42,
		"l3: its channel's state, an integer where seconds are a double");
	ok(!l3->has_clock, "l3: clock null, unknown");
	ok(l3->last_error && !strcmp(l3->last_error, "conn 3 (control) reset: peer gone") &&
		l3->last_error_age_s == 4.1, "l3: last error and its age");
	ok(lh_status_vms_up(&st) == 2, "two VMs up out of three");
	ok(!l1->has_rate && !l2->has_rate, "no rate before lh_status_rates()");
	lh_status_free(&st);
	ok(!st.root && !st.vms && !st.nr_vms, "freed status is empty");

	ok(!parse("{\"version\": 1, \"relay\": {\"pid\": 1, \"package_version\": \"0.1.0\", "
		"\"uptime_s\": 0, \"time_ns\": 1, \"monotonic_ns\": 1, \"output\": null, "
		"\"relayd\": \"external\"}, \"vms\": []}", &st, err, sizeof(err)) &&
		!st.relay.output && !st.nr_vms, "no VM, output null (--relayd-url)");
	lh_status_free(&st);
}

static bool near(double a, double b)
{
	return a > b - 1e-9 && a < b + 1e-9;
}

static void test_rates(void)
{
	struct sample next = first, restarted;
	struct lh_status a, b, c, d;
	char err[512];

	/* Two seconds later: l1 sent 4 MB and 200 packets; l1/l2 reappeared. */
	next.mono_ns += 2000000000ULL;
	next.l1_bytes += 4000000;
	next.l1_packets += 200;
	next.l2_bytes = 1000;
	next.l2_packets = 60;
	restarted = next;
	restarted.pid = 4321;
	restarted.mono_ns += 1000000000ULL;
	restarted.l1_bytes += 1000000;
	if (parse(make_reply(&first), &a, err, sizeof(err)) ||
			parse(make_reply(&next), &b, err, sizeof(err)) ||
			parse(make_reply(&restarted), &c, err, sizeof(err)) ||
			parse(make_reply(&next), &d, err, sizeof(err))) {
		diag("%s", err);
		skip(7, "samples not parsed");
		return;
	}
	lh_status_rates(NULL, &a);
	ok(!a.vms[0].has_rate && !a.vms[1].has_rate, "first sample: no rate");
	lh_status_rates(&a, &b);
	ok(b.vms[0].has_rate && near(b.vms[0].mb_per_s, 2.0) && near(b.vms[0].pkt_per_s, 100.0),
		"l1: 4 MB and 200 packets in 2 s: 2 MB/s, 100 packets/s (%f, %f)",
		b.vms[0].mb_per_s, b.vms[0].pkt_per_s);
	ok(!b.vms[1].has_rate, "l1/l2: bytes went down, a restart: no rate");
	ok(b.vms[2].has_rate && near(b.vms[2].mb_per_s, 0) && near(b.vms[2].pkt_per_s, 0),
		"l3: no traffic, a rate of 0");
	lh_status_rates(&b, &c);
	ok(!c.vms[0].has_rate && !c.vms[2].has_rate, "another relay pid: no rate");
	/* A sample not after the previous one (the same clock) has no rate. */
	lh_status_rates(&b, &d);
	ok(!d.vms[0].has_rate, "no time between the samples: no rate");
	/* VMs matched by name, not index: drop l1 from the previous sample. */
	a.vms[0].name = "gone";
	lh_status_rates(&a, &b);
	ok(!b.vms[0].has_rate && !b.vms[1].has_rate && b.vms[2].has_rate,
		"a VM absent from the previous sample: no rate; others matched by name");
	lh_status_free(&a);
	lh_status_free(&b);
	lh_status_free(&c);
	lh_status_free(&d);
}

/* The sample reply with the first occurrence of old made new. */
static const char *variant(const char *old, const char *new)
{
	static char buf[sizeof(reply) + 256];
	const char *text = make_reply(&first), *at = strstr(text, old);

	if (!at) {
		diag("no '%s' in the sample", old);
		return "";
	}
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int) (at - text), text, new, at + strlen(old));
	return buf;
}

/* Refused, with an error message that holds want. */
static bool refused(const char *text, size_t len, const char *want)
{
	struct lh_status st;
	char err[512] = "";

	if (!lh_status_parse(text, len, &st, err, sizeof(err))) {
		lh_status_free(&st);
		return false;
	}
	if (!strstr(err, want)) {
		diag("error '%s' lacks '%s'", err, want);
		return false;
	}
	return !st.root && !st.vms;
}

#define REFUSED(text, want) refused(text, strlen(text), want)

static void test_malformed(void)
{
	const char *good = make_reply(&first);
	char nul[64] = "{\"error\": \"x\"}";

	ok(REFUSED("{\"error\": \"only root may read the relay's status\"}",
		"lttng-hyper-relayd: only root may read the relay's status"),
		"an error reply gives the relay's message");
	ok(REFUSED("{\"error\": 3}", "error is not a string"), "an error that is not a string");
	ok(refused(good, strlen(good) / 2, "ends early"), "a truncated reply");
	ok(refused(good, 0, "ends early"), "an empty reply");
	ok(REFUSED("not json", "malformed reply"), "not JSON");
	ok(REFUSED("[1, 2]", "not a JSON object"), "an array, not an object");
	ok(REFUSED("null", "not a JSON object"), "null");
	ok(REFUSED("{\"version\": 1} {}", "malformed reply"), "two objects");
	ok(REFUSED("{\"version\": 1}x", "malformed reply"), "data after the object");
	ok(refused(nul, strlen(nul) + 2, "data after the object"), "a NUL after the object");
	ok(REFUSED("{\"version\": 1, 'relay': {}}", "malformed reply"),
		"single quotes: strict JSON only");
	ok(REFUSED(variant("\"version\": 1", "\"version\": 2"), "version 2"),
		"another version of the reply");
	ok(REFUSED(variant("\"version\": 1, ", ""), "reply.version is missing"),
		"version missing");
	ok(REFUSED(variant("\"pid\": 1234, ", ""), "relay.pid is missing"), "relay.pid missing");
	ok(REFUSED(variant("\"pid\": 1234", "\"pid\": \"1234\""), "relay.pid is not an integer"),
		"relay.pid a string");
	ok(REFUSED(variant("\"relayd\": \"up\"", "\"relayd\": null"),
		"relay.relayd is not a string"), "relay.relayd null");
	ok(REFUSED(variant("\"uptime_s\": 12.5", "\"uptime_s\": -1"),
		"relay.uptime_s is not a number of seconds"), "a negative uptime");
	ok(REFUSED(variant("\"vms\": [", "\"vms\": 3, \"x\": ["), "reply.vms is not an array"),
		"vms not an array");
	ok(REFUSED(variant("\"name\": \"l1\", ", ""), "vms[0].name is missing"),
		"a VM without a name");
	ok(REFUSED(variant("\"name\": \"l1\"", "\"name\": \"\""), "vms[0].name is empty"),
		"a VM with an empty name");
	ok(REFUSED(variant("\"bytes_in\": 1000000", "\"bytes_in\": \"1000000\""),
		"vms[0].bytes_in is not an integer"), "a counter that is a string");
	ok(REFUSED(variant("\"bytes_in\": 1000000", "\"bytes_in\": 1.5"),
		"vms[0].bytes_in is not an integer"), "a counter that is a double");
	ok(REFUSED(variant("\"packets\": 100", "\"packets\": -1"), "vms[0].packets is negative"),
		"a negative counter");
	ok(REFUSED(variant("\"depth\": 0", "\"depth\": 1000"), "vms[0].depth is out of range"),
		"a depth beyond any nesting");
	ok(REFUSED(variant("\"error_ns\": 5400", "\"error_ns\": true"),
		"vms[0].clock.error_ns is not an integer"), "a clock bound that is a boolean");
	ok(REFUSED(variant("\"clock\": {\"offset_ns\": -123456789, ", "\"clock\": {"),
		"vms[0].clock.offset_ns is missing"), "a clock without its offset");
	ok(REFUSED(variant("\"clock\": null", "\"clock\": 3"),
		"vms[2].clock is not an object or null"), "a clock that is a number");
	ok(REFUSED(variant("\"age_s\": 4.1", "\"age_s\": \"4.1\""),
		"vms[2].last_error.age_s is not a number"), "an error age that is a string");
	ok(REFUSED(variant("{\"name\": \"l1\"", "3, {\"name\": \"l1\""), "vms[0] is not an object"),
		"a VM that is not an object");
	ok(REFUSED(variant("\"parent\": \"l1\"", "\"parent\": 1"),
		"vms[1].parent is not a string or null"), "a parent that is a number");
}

/* --- the table ------------------------------------------------------- */

static struct {
	char text[MAX_LINES][512];
	enum lh_status_line kind[MAX_LINES];
	int nr;
} lines;

static void collect(const char *text, enum lh_status_line kind, void *arg)
{
	if (lines.nr < MAX_LINES) {
		snprintf(lines.text[lines.nr], sizeof(lines.text[0]), "%s", text);
		lines.kind[lines.nr++] = kind;
	}
}

static void table(const struct lh_status *st, unsigned int width, bool rates, bool ascii)
{
	struct lh_status_table_opts opts = { .width = width, .rates = rates, .ascii = ascii };

	memset(&lines, 0, sizeof(lines));
	lh_status_table(st, &opts, collect, NULL);
}

static void test_table(void)
{
	struct sample next = first;
	struct lh_status st, st2;
	char err[512], fit[64];

	if (parse(make_reply(&first), &st, err, sizeof(err))) {
		diag("%s", err);
		skip(17, "no status");
		return;
	}
	table(&st, 0, false, false);
	if (!ok(lines.nr == 4, "a header and three lines")) {
		skip(16, "no table");
		lh_status_free(&st);
		return;
	}
	ok(!strncmp(lines.text[0], "VM  ", 4) && strstr(lines.text[0], "MB IN") &&
		strstr(lines.text[0], "ERROR BOUND (\u00b5s)") &&
		lines.kind[0] == LH_STATUS_LINE_HEADER, "header: totals, bound in \u00b5s");
	ok(!strncmp(lines.text[1], "l1 ", 3) && lines.kind[1] == LH_STATUS_LINE_VM_UP,
		"l1 at the left margin, up");
	ok(!strncmp(lines.text[2], "  l2 ", 5) && lines.kind[2] == LH_STATUS_LINE_VM_UP,
		"l1/l2 indented two spaces under l1, by its last name");
	ok(!strncmp(lines.text[3], "l3 ", 3) && lines.kind[3] == LH_STATUS_LINE_VM_DOWN &&
		strstr(lines.text[3], "listening 42s"), "l3: down, its state and for how long");
	ok(strstr(lines.text[1], "up 3s") && strstr(lines.text[1], " 1.0 ") &&
		strstr(lines.text[1], " 100 "), "l1: state, MB in, packets");
	ok(strstr(lines.text[1], "-0.123456s") && strstr(lines.text[1], " 5.4 "),
		"l1: clock offset in s, bound in \u00b5s");
	ok(strstr(lines.text[3], "4s ago: conn 3 (control) reset: peer gone"),
		"l3: last error whole, with its age");
	ok(strstr(lines.text[3], "  -  "), "l3: unknown clock as '-'");
	/* Each column starts at the same place on every line. */
	ok(strstr(lines.text[0], "CLOCK OFFSET") - lines.text[0] + strlen("CLOCK OFFSET") ==
		strstr(lines.text[1], "-0.123456s") - lines.text[1] + strlen("-0.123456s"),
		"columns aligned: the offset ends under its title");

	table(&st, 120, false, true);
	ok(strstr(lines.text[0], "ERROR BOUND (us)") && strlen(lines.text[3]) == 120 &&
		strstr(lines.text[3], "  4s ago: conn"),
		"ASCII terminal: 'us'; LAST ERROR cut to the width");

	/* A nested VM named by a guest, with a terminal escape sequence. */
	st.vms[1].name = "l1/evil\x1b]0;owned\x07\xc2\x9b" "2J";
	table(&st, 0, false, false);
	ok(!strncmp(lines.text[2], "  evil?]0;owned??2J ", 20),
		"control characters (C0 and C1) shown as '?'");
	st.vms[1].name = "l1/\xc3\xa9t\xc3\xa9";
	table(&st, 0, false, false);
	ok(!strncmp(lines.text[2], "  \xc3\xa9t\xc3\xa9 ", 8), "UTF-8 kept on a UTF-8 terminal");
	table(&st, 0, false, true);
	ok(!strncmp(lines.text[2], "  ??t?? ", 8), "and byte by byte as '?' on an ASCII one");

	next.mono_ns += 1000000000ULL;
	next.l1_bytes += 2500000;
	if (parse(make_reply(&next), &st2, err, sizeof(err))) {
		diag("%s", err);
		skip(3, "no second sample");
		lh_status_free(&st);
		return;
	}
	lh_status_rates(&st, &st2);
	table(&st2, 0, true, false);
	ok(strstr(lines.text[0], "MB/S IN") && strstr(lines.text[0], "PKT/S") &&
		strstr(lines.text[1], " 2.50 ") && strstr(lines.text[1], " 0.0 "),
		"rates: l1 at 2.50 MB/s, 0.0 packets/s");

	lh_status_fit("a\x1b[2Jb", 0, false, fit, sizeof(fit));
	ok(!strcmp(fit, "a?[2Jb"), "fit: escape shown as '?'");
	ok(lh_status_fit("abcdef", 4, false, fit, sizeof(fit)) == 4 && !strcmp(fit, "abcd"),
		"fit: cut to the width, and tells where");
	lh_status_free(&st);
	lh_status_free(&st2);
}

/* --- the socket ------------------------------------------------------ */

/*
 * A server at path that accepts one client, reads its request unless
 * rude, and answers text (len bytes). It exits 0 if the request was
 * "status\n". A rude one closes with the request unread, as the relay does
 * with a peer it refuses: the client sees a reset after the reply.
 */
static pid_t serve(const char *path, const char *text, size_t len, bool rude)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char req[65];
	ssize_t n;
	size_t got = 0;
	int fd, cfd;
	pid_t pid;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "%s: too long\n", path);
		exit(EXIT_FAILURE);
	}
	memcpy(addr.sun_path, path, strlen(path));
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *) &addr, sizeof(addr)) || listen(fd, 1)) {
		perror("server socket");
		exit(EXIT_FAILURE);
	}
	pid = fork();
	if (pid) {
		close(fd);
		return pid;
	}
	cfd = accept(fd, NULL, NULL);
	while (cfd >= 0 && !rude && got < sizeof(req) - 1 && !memchr(req, '\n', got) &&
			(n = read(cfd, req + got, sizeof(req) - 1 - got)) > 0) {
		got += (size_t) n;
	}
	while (len) {
		n = send(cfd, text, len, MSG_NOSIGNAL);
		if (n <= 0) {
			break;
		}
		text += n;
		len -= (size_t) n;
	}
	_exit(got == 7 && !memcmp(req, "status\n", 7) ? 0 : 1);
}

/* A socket file that nothing listens on, as a relay killed leaves it. */
static bool stale(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd;
	bool ret;

	if (len >= sizeof(addr.sun_path)) {
		return false;
	}
	memcpy(addr.sun_path, path, len);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ret = fd >= 0 && !bind(fd, (struct sockaddr *) &addr, sizeof(addr));
	close(fd);
	return ret;
}

static bool served(pid_t pid)
{
	int status;

	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status);
}

static void test_socket(void)
{
	char dir[] = DIR_TEMPLATE, path[128], err[512] = "";
	const char *text = make_reply(&first);
	struct lh_status st;
	size_t big_len = LH_STATUS_MAX_REPLY + 1;
	int i, rude_ok;
	char *big;
	pid_t pid;

	if (!mkdtemp(dir)) {
		skip(10, "no temporary directory");
		return;
	}
	snprintf(path, sizeof(path), "%s/relay.sock", dir);

	pid = serve(path, text, strlen(text), false);
	ok(!lh_status_query(path, &st, err, sizeof(err)) && st.nr_vms == 3 &&
		!strcmp(st.vms[1].name, "l1/l2"), "query: the reply read and parsed (%s)", err);
	ok(served(pid), "query: the request was \"status\\n\"");
	lh_status_free(&st);

	pid = serve(path, "{\"error\": \"x\"}", 14, false);
	ok(lh_status_query(path, &st, err, sizeof(err)) && !strcmp(err, "lttng-hyper-relayd: x"),
		"query: an error reply gives the relay's message (%s)", err);
	served(pid);

	/* The request lands before or after the close: either way, the reply. */
	for (i = 0, rude_ok = 0; i < 10; i++) {
		pid = serve(path, "{\"error\": \"denied\"}", 19, true);
		rude_ok += lh_status_query(path, &st, err, sizeof(err)) &&
			!strcmp(err, "lttng-hyper-relayd: denied");
		served(pid);
	}
	ok(rude_ok == 10, "query: a reply, then a close with the request unread (%s)", err);

	/* The relay closes without a word when it has too many clients. */
	pid = serve(path, "", 0, false);
	ok(lh_status_query(path, &st, err, sizeof(err)) && strstr(err, "without a reply"),
		"query: no reply (%s)", err);
	served(pid);

	big = malloc(big_len);
	if (big) {
		memset(big, ' ', big_len);
		pid = serve(path, big, big_len, false);
		ok(lh_status_query(path, &st, err, sizeof(err)) && strstr(err, "over 4 MiB"),
			"query: a reply over 4 MiB refused (%s)", err);
		served(pid);
		/* Exactly the bound is read (and is no JSON). */
		pid = serve(path, big, big_len - 1, false);
		ok(lh_status_query(path, &st, err, sizeof(err)) && strstr(err, "ends early"),
			"query: a reply of 4 MiB read whole (%s)", err);
		served(pid);
		free(big);
	} else {
		skip(2, "no memory for a big reply");
	}

	unlink(path);
	ok(lh_status_query(path, &st, err, sizeof(err)) &&
		strstr(err, "No lttng-hyper-relayd control socket at ") && strstr(err, path) &&
		strstr(err, "--socket"), "query: no socket (%s)", err);
	ok(stale(path) && lh_status_query(path, &st, err, sizeof(err)) &&
		strstr(err, "No lttng-hyper-relayd control socket at "),
		"query: a socket that nothing listens on, of a relay gone (%s)", err);
	snprintf(path, sizeof(path), "%s/%0120d", dir, 0);
	ok(lh_status_query(path, &st, err, sizeof(err)) && strstr(err, "too long"),
		"query: a path beyond sun_path (%s)", err);
	snprintf(path, sizeof(path), "%s/relay.sock", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	plan_tests(NUM_TESTS);
	test_parse();
	test_rates();
	test_malformed();
	test_table();
	test_socket();
	return exit_status();
}
