/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: the sync file, lttng-hyper-sync, read by lttng-hyper
 * (src/bin/lttng-hyper/sync-file.c) and written by the host relay's
 * final clock fix (src/bin/lttng-hyper-relayd/sync.c).
 *
 * Input: a flags byte, then
 *   - read (bit 0 clear): any file. The reader must survive it (a guest
 *     can have lttng-relayd write a stream file of that name), and a
 *     well-formed tail the relay would write after it must read back as
 *     written: nothing read before one line leaks into the next;
 *   - write (bit 0 set): what a guest controls in a sync file, its
 *     metadata stream's pathname and channel name (one line each, kept
 *     if the relay's filter would accept them), and its clock's offset
 *     and freq (u64 each, present if bits 1 and 2), then the relay's
 *     correction (u64 offset, freq, error, if bit 3). The relay writes
 *     the file in a directory in memory, and reading it must give back
 *     the relay's values, whatever the guest's strings.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/path.h"
#include "src/bin/lttng-hyper-relayd/sync.h"
#include "src/bin/lttng-hyper/sync-file.h"
#include "tests/fuzz/fuzz.h"

#define SESSION		"s"
/* The relay's filter caps ADD_STREAM's pathname and channel name (with their NUL). */
#define PATHNAME_MAX	254
#define CHANNEL_MAX	263

static const char tail_text[] =
	"\n# lttng-hyper clock synchronization (see doc/clock-sync.md)\n"
	"format = 1\nstatus = applied\noffset = 1795639999000000123\nfreq = 1000000021\n"
	"error_ns = 1500\nguest_offset = 1795639570593412007\nguest_freq = 1000000000\n";

static const char metadata_text[] =
	"/* CTF 1.8 */\n"
	"clock {\n\tname = \"monotonic\";\n\tfreq = 1000000000;\n"
	"\toffset = 1795639570593412007;\n};\n";

static char top[PATH_MAX];
static bool have_corr;
static struct lh_clock_correction corr;

/* What filter.c hands over, as the VM's clock estimate would give it. */
static int vm_correction(struct lh_clock_correction *c, struct lh_relay_clock_chain *chain)
{
	memset(chain, 0, sizeof(*chain));
	if (!have_corr) {
		return -1;
	}
	*c = corr;
	chain->nr = 1;
	snprintf(chain->hop[0].vm, sizeof(chain->hop[0].vm), "guest1");
	chain->hop[0].est.method = "convex-hull";
	chain->composed = chain->hop[0].est;
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static void cleanup(void)
{
	nftw(top, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	fuzz_make_tmpdir(top, sizeof(top), "sync");
	atexit(cleanup);
	FUZZ_CHECK(lh_relay_sync_set_output(top) == 0, "sync output");
	return 0;
}

static void read_mem(const uint8_t *p, size_t len, struct lh_sync_info *si)
{
	FILE *f = fmemopen((void *) p, len, "r");

	FUZZ_CHECK(f, "fmemopen: %m");
	memset(si, 0, sizeof(*si));
	FUZZ_CHECK(lh_sync_file_parse(f, "fuzz", si) == 0, "parse failed");
	fclose(f);
	FUZZ_CHECK(memchr(si->status, '\0', sizeof(si->status)), "status not a string");
}

static void run_read(struct fuzz_in *in)
{
	struct lh_sync_info si;
	uint8_t *buf;

	if (in->len) {
		read_mem(in->p, in->len, &si);
	}
	buf = malloc(in->len + sizeof(tail_text));
	FUZZ_CHECK(buf, "out of memory");
	memcpy(buf, in->p, in->len);
	memcpy(buf + in->len, tail_text, sizeof(tail_text) - 1);
	read_mem(buf, in->len + sizeof(tail_text) - 1, &si);
	FUZZ_CHECK(!strcmp(si.status, "applied") && si.has_offset &&
		si.offset == 1795639999000000123ULL && si.has_freq && si.freq == 1000000021 &&
		si.has_error && si.error_ns == 1500 && si.has_guest_offset &&
		si.guest_offset == 1795639570593412007ULL && si.has_guest_freq &&
		si.guest_freq == 1000000000, "the last lines read otherwise after others");
	free(buf);
}

/* One line of the input, at most max bytes, as a string. */
static void take_line(struct fuzz_in *in, char *out, size_t max)
{
	size_t n = 0;

	while (in->len) {
		uint8_t c = fuzz_u8(in);

		if (c == '\n') {
			break;
		}
		if (n < max) {
			out[n++] = (char) c;
		}
	}
	out[n] = '\0';
}

/* mkdir -p of a checked relative path under base. */
static void make_dirs(const char *base, const char *rel)
{
	char path[PATH_MAX];
	size_t i, n = (size_t) snprintf(path, sizeof(path), "%s/", base);

	for (i = 0; rel[i] && n + 1 < sizeof(path); i++) {
		if (rel[i] == '/') {
			path[n] = '\0';
			FUZZ_CHECK(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s: %m",
				path);
		}
		path[n++] = rel[i];
	}
	path[n] = '\0';
	FUZZ_CHECK(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s: %m", path);
}

static void run_write(struct fuzz_in *in, uint8_t flags)
{
	char pathname[PATHNAME_MAX + 1], channel[CHANNEL_MAX + 1], dir[PATH_MAX];
	struct lh_ctf_md_report guest = { .clock_found = true };
	const struct lh_relay_sync_stream stream = {
		.vm_name = "guest1",
		.session_path = SESSION,
		.pathname = pathname,
		.channel_name = channel,
		.guest = &guest,
	};
	struct lh_clock_correction given;
	struct lh_relay_clock_chain chain;
	struct lh_sync_info si;
	int fd;

	take_line(in, pathname, PATHNAME_MAX);
	take_line(in, channel, CHANNEL_MAX);
	/* What relayd-msg.c lets through ADD_STREAM. */
	if (!lh_path_relative_is_safe(pathname, strlen(pathname), false) ||
			!lh_path_component_is_safe(channel, strlen(channel))) {
		return;
	}
	guest.has_offset = flags & 0x02;
	guest.offset = fuzz_u64(in);
	guest.has_freq = flags & 0x04;
	guest.freq = fuzz_u64(in);
	have_corr = flags & 0x08;
	corr = (struct lh_clock_correction) {
		.offset = fuzz_u64(in), .freq = fuzz_u64(in), .error_ns = fuzz_u64(in),
	};

	cleanup();
	FUZZ_CHECK(mkdir(top, 0700) == 0, "mkdir %s: %m", top);
	make_dirs(top, SESSION "/");
	snprintf(dir, sizeof(dir), "%s/" SESSION, top);
	make_dirs(dir, pathname);
	snprintf(dir, sizeof(dir), "%s/" SESSION "/%s/%s", top, pathname, channel);
	fd = open(dir, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0 && write(fd, metadata_text, sizeof(metadata_text) - 1) ==
		(ssize_t) sizeof(metadata_text) - 1, "%s: %m", dir);
	close(fd);

	FUZZ_CHECK(lh_relay_sync_finish(&stream,
		vm_correction(&given, &chain) == 0 ? &given : NULL, &chain) == 0,
		"the final fix failed");
	snprintf(dir, sizeof(dir), "%s/" SESSION "/lttng-hyper-sync", top);
	FUZZ_CHECK(lh_sync_file_read(dir, &si) == 0 && si.found, "no sync file");
	FUZZ_CHECK(si.has_guest_offset == guest.has_offset &&
		(!guest.has_offset || si.guest_offset == guest.offset) &&
		si.has_guest_freq == guest.has_freq &&
		(!guest.has_freq || si.guest_freq == guest.freq),
		"the guest's values read back otherwise");
	FUZZ_CHECK(si.has_offset == have_corr && si.has_freq == have_corr &&
		si.has_error == have_corr, "the correction's keys read back otherwise");
	if (have_corr) {
		FUZZ_CHECK(si.offset == corr.offset && si.freq == corr.freq &&
			si.error_ns == corr.error_ns, "the correction reads back otherwise");
	}
	FUZZ_CHECK(have_corr ? !strcmp(si.status, "applied") || !strcmp(si.status, "not-applied") :
		!strcmp(si.status, "no-estimate"), "status \"%s\"", si.status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t flags = fuzz_u8(&in);

	if (flags & 0x01) {
		run_write(&in, flags);
	} else {
		run_read(&in);
	}
	return 0;
}
