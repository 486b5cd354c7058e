/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The final clock fix of a guest's trace, and its sync file (sync.h).
 *
 * When a guest's metadata stream ends, the latest estimate of its clock
 * is written in place into the metadata file lttng-relayd wrote (the
 * in-flight rewrite reserved the width), and into those of the session's
 * archived trace chunks if it was rotated, and the estimate is recorded in
 * <session>/lttng-hyper-sync (doc/clock-sync.md, "The sync file"). The
 * paths come from lttng-relayd's reply and the guest's checked names:
 * they are still walked one component at a time under the output
 * directory, never through a symbolic link.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "sync.h"

#define SYNC_FILE_TMP		".lttng-hyper-sync.tmp"
#define SYNC_FILE_MODE		0640

static char *sync_output;

int lh_relay_sync_set_output(const char *dir)
{
	char *copy = strdup(dir);

	if (!copy) {
		PERROR("strdup");
		return -1;
	}
	free(sync_output);
	sync_output = copy;
	return 0;
}

void lh_relay_sync_fini(void)
{
	free(sync_output);
	sync_output = NULL;
}

static void format_time(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || !gmtime_r(&ts.tv_sec, &tm) ||
			!strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		snprintf(buf, len, "unknown");
	}
}

/* Write the sync file next to the trace: a temporary file, then a rename. */
static int write_sync_file(int session_fd, const struct lh_relay_sync_stream *stream,
		const char *status, const struct lh_clock_correction *corr,
		const struct lh_relay_clock_chain *chain)
{
	const struct lh_clock_estimate *est = &chain->composed;
	unsigned int i;
	const struct lh_ctf_md_report *guest = stream->guest;
	char when[32];
	FILE *f;
	int fd;

	fd = openat(session_fd, SYNC_FILE_TMP,
		O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, SYNC_FILE_MODE);
	if (fd < 0) {
		return -1;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	format_time(when, sizeof(when));
	fprintf(f, "# lttng-hyper clock synchronization (see doc/clock-sync.md)\n");
	fprintf(f, "format = 1\nvm = %s\nmetadata = %s/%s\nstatus = %s\nwritten_at = %s\n",
		stream->vm_name, stream->pathname, stream->channel_name, status, when);
	if (guest->has_offset) {
		fprintf(f, "guest_offset = %" PRIu64 "\n", guest->offset);
	}
	if (guest->has_freq) {
		fprintf(f, "guest_freq = %" PRIu64 "\n", guest->freq);
	}
	if (corr) {
		fprintf(f, "offset = %" PRIu64 "\nfreq = %" PRIu64 "\nerror_ns = %" PRIu64 "\n"
			"host_realtime_minus_mono_ns = %" PRId64 "\n",
			corr->offset, corr->freq, corr->error_ns,
			corr->host_realtime_minus_mono_ns);
		fprintf(f, "method = %s\nprobes = %u\nprobes_used = %u\nmin_rtt_ns = %" PRIu64 "\n"
			"drift_ppb = %.3f\nref_guest_ns = %" PRIu64 "\nref_host_ns = %" PRIu64 "\n"
			"span_guest_ns = %" PRIu64 "\n",
			est->method ? est->method : "unknown", est->samples, est->used,
			est->min_rtt_ns, est->drift * 1e9, est->ref_guest_ns, est->ref_host_ns,
			est->last_guest_ns - est->first_guest_ns);
		/* A nested VM's correction composes these, host first. */
		fprintf(f, "hops = %u\n", chain->nr);
		for (i = 0; i < chain->nr; i++) {
			const struct lh_clock_estimate *hop = &chain->hop[i].est;

			fprintf(f, "hop.%u = vm=%s method=%s probes=%u error_ns=%" PRIu64
				" drift_ppb=%.3f lead_ns=%" PRId64 "\n",
				i + 1, chain->hop[i].vm, hop->method ? hop->method : "unknown",
				hop->samples, hop->error_ns, hop->drift * 1e9,
				(int64_t) (hop->ref_guest_ns - hop->ref_host_ns));
		}
	}
	if (fflush(f) || fsync(fd) < 0) {
		fclose(f);
		unlinkat(session_fd, SYNC_FILE_TMP, 0);
		return -1;
	}
	if (fclose(f)) {
		unlinkat(session_fd, SYNC_FILE_TMP, 0);
		return -1;
	}
	if (renameat(session_fd, SYNC_FILE_TMP, session_fd, LH_SYNC_FILE_NAME) < 0) {
		unlinkat(session_fd, SYNC_FILE_TMP, 0);
		return -1;
	}
	return 0;
}

/* Where a rotated session's lttng-relayd moved its finished trace chunks. */
#define ARCHIVES_DIR		"archives"

/* The outcome of fixing a stream's metadata files, over all of them. */
struct md_fix_tally {
	unsigned int fixed;		/* files rewritten */
	unsigned int incomplete;	/* of those, not every clock field */
};

/*
 * Fix the stream's metadata file under DIR_FD (the session, or one of its
 * archived chunks). Returns 0 when fixed, 1 when there is no such file, -1
 * on error (logged).
 */
static int fix_metadata_under(int dir_fd, const char *where, const struct lh_relay_sync_stream *stream,
		const struct lh_ctf_md_values *values, struct md_fix_tally *tally, const char *ctx)
{
	struct lh_ctf_md_report rep;
	int stream_fd, md_fd = -1;
	int ret = 1;
	struct stat st;

	stream_fd = lh_path_open_dir_under(dir_fd, stream->pathname);
	if (stream_fd < 0) {
		return 1;
	}
	md_fd = openat(stream_fd, stream->channel_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (md_fd < 0) {
		if (errno != ENOENT) {
			lh_log_errno(ctx, "Metadata file %s/%s/%s", where, stream->pathname,
				stream->channel_name);
			ret = -1;
		}
		goto end;
	}
	ret = -1;
	if (fstat(md_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ERR_CTX(ctx, "Metadata %s/%s/%s is not a regular file", where, stream->pathname,
			stream->channel_name);
		goto end;
	}
	if (lh_ctf_md_fix_fd(md_fd, values, &rep) < 0) {
		lh_log_errno(ctx, "Clock fix of %s/%s/%s", where, stream->pathname,
			stream->channel_name);
		goto end;
	}
	tally->fixed++;
	if (values && (!rep.clock_found || rep.left || rep.rewritten != 2)) {
		tally->incomplete++;
		WARN_CTX(ctx, "Clock fix of %s/%s incomplete: monotonic clock %s, %u field(s) rewritten, %u left",
			where, stream->pathname, rep.clock_found ? "found" : "not found",
			rep.rewritten, rep.left);
	}
	ret = 0;
end:
	if (md_fd >= 0) {
		close(md_fd);
	}
	close(stream_fd);
	return ret;
}

/*
 * The metadata files of a rotated session's archived chunks: each has its
 * own, and the session's timeline needs the same fix in all of them.
 * Returns -1 if one failed.
 */
static int fix_archived_metadata(int session_fd, const struct lh_relay_sync_stream *stream,
		const struct lh_ctf_md_values *values, struct md_fix_tally *tally, const char *ctx)
{
	char where[LTTNG_HYPER_PATH_MAX_LEN * 2];
	struct dirent *ent;
	int archives_fd, chunk_fd;
	int ret = 0;
	DIR *dir;

	archives_fd = lh_path_open_dir_under(session_fd, ARCHIVES_DIR);
	if (archives_fd < 0) {
		return 0;
	}
	dir = fdopendir(archives_fd);
	if (!dir) {
		lh_log_errno(ctx, "Archives of %s", stream->session_path);
		close(archives_fd);
		return -1;
	}
	while ((ent = readdir(dir))) {
		if (ent->d_name[0] == '.') {
			continue;
		}
		/* A chunk's name is lttng-relayd's; a link or a file is skipped. */
		chunk_fd = lh_path_open_dir_under(dirfd(dir), ent->d_name);
		if (chunk_fd < 0) {
			continue;
		}
		snprintf(where, sizeof(where), "%s/%s/%s", stream->session_path, ARCHIVES_DIR,
			ent->d_name);
		if (fix_metadata_under(chunk_fd, where, stream, values, tally, ctx) < 0) {
			ret = -1;
		}
		close(chunk_fd);
	}
	closedir(dir);
	return ret;
}

int lh_relay_sync_finish(const struct lh_relay_sync_stream *stream,
		const struct lh_clock_correction *corr,
		const struct lh_relay_clock_chain *chain)
{
	char ctx[LTTNG_HYPER_NAME_MAX_LEN + LTTNG_HYPER_PATH_MAX_LEN + 8];
	struct lh_ctf_md_values values = { 0 };
	struct md_fix_tally tally = { 0 };
	const char *status;
	int out_fd = -1, session_fd = -1;
	int ret = -1;

	snprintf(ctx, sizeof(ctx), "vm=%s", stream->vm_name);
	if (!sync_output) {
		DBG_CTX(ctx, "No output directory known: no final clock fix");
		return 0;
	}
	if (!lh_path_relative_is_safe(stream->session_path, strlen(stream->session_path), false) ||
			!lh_path_relative_is_safe(stream->pathname, strlen(stream->pathname), false) ||
			!lh_path_component_is_safe(stream->channel_name,
				strlen(stream->channel_name))) {
		ERR_CTX(ctx, "Unsafe metadata path %s/%s/%s: no final clock fix",
			stream->session_path, stream->pathname, stream->channel_name);
		return -1;
	}
	if (corr) {
		values = (struct lh_ctf_md_values) {
			.set_offset = true,
			.offset = corr->offset,
			.set_freq = true,
			.freq = corr->freq,
		};
	}
	out_fd = open(sync_output, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out_fd < 0) {
		lh_log_errno(ctx, "Output directory %s", sync_output);
		goto end;
	}
	session_fd = lh_path_open_dir_under(out_fd, stream->session_path);
	if (session_fd < 0) {
		lh_log_errno(ctx, "Session directory %s/%s", sync_output, stream->session_path);
		goto end;
	}
	/* The current chunk's file, if lttng-relayd has not archived it yet. */
	if (fix_metadata_under(session_fd, stream->session_path, stream, corr ? &values : NULL,
				&tally, ctx) < 0 ||
			fix_archived_metadata(session_fd, stream, corr ? &values : NULL,
				&tally, ctx) < 0) {
		goto end;
	}
	if (!tally.fixed) {
		ERR_CTX(ctx, "No metadata file %s/%s under %s/%s, nor in its archived chunks: no final clock fix",
			stream->pathname, stream->channel_name, sync_output, stream->session_path);
		goto end;
	}
	if (!corr) {
		status = "no-estimate";
		WARN_CTX(ctx, "No clock estimate for %s/%s: its clock is the guest's own",
			stream->session_path, stream->pathname);
	} else if (tally.incomplete) {
		status = "not-applied";
	} else {
		status = "applied";
		INFO_CTX(ctx, "Clock fix of %s/%s (%u metadata file%s): offset %" PRIu64
			", freq %" PRIu64 " (guest's offset %" PRIu64 "), error bound %" PRIu64 " ns",
			stream->session_path, stream->pathname, tally.fixed,
			tally.fixed > 1 ? "s, the archived chunks' too" : "",
			corr->offset, corr->freq, stream->guest->offset, corr->error_ns);
	}
	if (write_sync_file(session_fd, stream, status, corr, chain) < 0) {
		lh_log_errno(ctx, "Sync file in %s/%s", sync_output, stream->session_path);
		goto end;
	}
	ret = 0;
end:
	if (session_fd >= 0) {
		close(session_fd);
	}
	if (out_fd >= 0) {
		close(out_fd);
	}
	return ret;
}
