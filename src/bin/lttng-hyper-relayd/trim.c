/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Cutting a data stream file back to its last complete packet (trim.h).
 *
 * lttng-relayd writes a data packet to its stream file as the bytes
 * arrive. When a guest dies, or its channel is lost, in the middle of a
 * packet, the file ends with the first part of that packet, and
 * babeltrace2 refuses the whole file. Once lttng-relayd has written all it
 * received, the file is cut back to the end of its last complete packet,
 * and its index to the entries of the packets kept.
 *
 * Packet boundaries come from the index file (offset and size of each
 * packet lttng-relayd indexed), then from the packets themselves: the
 * packet_size field is found in a packet whose size is known (the last
 * indexed one, or the first one, whose size the data filter saw), and
 * every packet of the stream has the same header layout. Anything that
 * does not look like a CTF stream of whole packets plus one cut short is
 * left as it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lttng-hyper/frame.h>

#include "common/bytes.h"
#include "common/log.h"
#include "common/loop.h"
#include "common/path.h"
#include "trim.h"

/* lttng-relayd drains what is left in its socket first. */
#define TRIM_DELAY_MS		1000
/* The file must be this long unmodified before it is cut... */
#define TRIM_QUIET_MS		500
/* ...checked this many times, TRIM_DELAY_MS apart, before giving up. */
#define TRIM_MAX_TRIES		30

/* ctf-index.h: a big-endian header, then fixed-size entries. */
#define IDX_MAGIC		0xC1F1DCC1U
#define IDX_HDR_LEN		16
/* An entry starts with u64 offset, packet_size and content_size (bits). */
#define IDX_ENTRY_MIN_LEN	24
#define IDX_DIR			"index"
#define IDX_SUFFIX		".idx"

#define CTF_PACKET_MAGIC	0xC1FC1FC1U
/* How far into a packet its packet_size field is looked for. */
#define LAYOUT_SCAN_LEN		256

struct trim_job {
	char *vm_name;
	char *session_path;
	char *pathname;
	char *channel_name;
	uint64_t first_packet_size;
	unsigned int tries;
	struct lh_timer *timer;
	struct trim_job *next;
};

static struct lh_loop *trim_loop;
static char *trim_output;
static struct trim_job *trim_jobs;

/* Where packet_size lies in this stream's packets, and in which byte order. */
struct packet_layout {
	uint8_t magic[4];
	size_t size_off;
	bool big_endian;
};

/* Read exactly len bytes at off; short of that is an error (EIO). */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0) {
		return -1;
	}
	if ((size_t) n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Learn the layout from the packet at off, of size bytes (of which only
 * what the file holds is read): its magic, and the first 64-bit field
 * holding its size in bits, after content_size, which is at most that.
 * Returns 0, or -1 if nothing fits.
 */
static int learn_layout(int fd, uint64_t file_size, uint64_t off, uint64_t size,
		struct packet_layout *layout)
{
	uint8_t buf[LAYOUT_SCAN_LEN];
	uint64_t avail = file_size - off;
	size_t len = sizeof(buf), o;

	if (size < len) {
		len = (size_t) size;
	}
	if (avail < len) {
		len = (size_t) avail;
	}
	if (len < 16 || read_at(fd, buf, len, (off_t) off) < 0) {
		return -1;
	}
	if (lh_get_be32(buf) == CTF_PACKET_MAGIC) {
		layout->big_endian = true;
	} else if (lh_get_be32(buf) == __builtin_bswap32(CTF_PACKET_MAGIC)) {
		layout->big_endian = false;
	} else {
		return -1;
	}
	memcpy(layout->magic, buf, sizeof(layout->magic));
	for (o = 16; o + 8 <= len; o += 8) {
		uint64_t bits = lh_get_u64(buf + o, layout->big_endian);
		uint64_t content = lh_get_u64(buf + o - 8, layout->big_endian);

		if (bits == size * 8 && content <= bits && content >= (o + 8) * 8) {
			layout->size_off = o;
			return 0;
		}
	}
	return -1;
}

/*
 * Walk the packets from *end (a packet boundary) to file_size, and set
 * *end to the boundary after the last whole one. Returns 1 if a packet
 * cut short follows it, 0 if the file ends there, -1 if the bytes are not
 * packets of this layout (errno 0) or cannot be read.
 */
static int walk_packets(int fd, const struct packet_layout *layout, uint64_t file_size,
		uint64_t *end)
{
	const size_t need = layout->size_off + 8;

	errno = 0;
	while (*end < file_size) {
		uint8_t buf[LAYOUT_SCAN_LEN];
		uint64_t left = file_size - *end, size;
		size_t len = left < need ? (size_t) left : need;
		size_t magic_len = len < sizeof(layout->magic) ? len : sizeof(layout->magic);

		if (read_at(fd, buf, len, (off_t) *end) < 0) {
			return -1;
		}
		if (memcmp(buf, layout->magic, magic_len)) {
			errno = 0;
			return -1;
		}
		if (len < need) {
			/* Not even its header made it. */
			return 1;
		}
		size = lh_get_u64(buf + layout->size_off, layout->big_endian);
		if (size % 8 || size / 8 < need) {
			errno = 0;
			return -1;
		}
		size /= 8;
		if (size > left) {
			return 1;
		}
		*end += size;
	}
	return 0;
}

/* What the index file says: its whole entries that match the data file. */
struct index_scan {
	uint32_t entry_len;
	uint64_t kept;		/* leading entries of contiguous packets in the file */
	uint64_t end;		/* where the last of them ends */
	uint64_t last_off;	/* and where it starts */
};

/*
 * Read the index (fd, its size idx_size) against a data file of
 * file_size bytes. Returns 0, or -1 if it is not an index file
 * (then nothing of it is used).
 */
static int scan_index(int fd, uint64_t idx_size, uint64_t file_size, struct index_scan *scan)
{
	uint8_t hdr[IDX_HDR_LEN];
	uint64_t i, nr;

	*scan = (struct index_scan) { 0 };
	if (idx_size < IDX_HDR_LEN || read_at(fd, hdr, sizeof(hdr), 0) < 0) {
		return -1;
	}
	scan->entry_len = (uint32_t) lh_get_be32(hdr + 12);
	if (lh_get_be32(hdr) != IDX_MAGIC || lh_get_be32(hdr + 4) != 1 ||
			scan->entry_len < IDX_ENTRY_MIN_LEN) {
		return -1;
	}
	nr = (idx_size - IDX_HDR_LEN) / scan->entry_len;
	for (i = 0; i < nr; i++) {
		uint8_t entry[IDX_ENTRY_MIN_LEN];
		uint64_t off, size;

		if (read_at(fd, entry, sizeof(entry),
				(off_t) (IDX_HDR_LEN + i * scan->entry_len)) < 0) {
			return -1;
		}
		off = lh_get_be64(entry);
		size = lh_get_be64(entry + 8);
		if (off != scan->end || size % 8 || size / 8 > file_size - off) {
			break;
		}
		scan->last_off = off;
		scan->end = off + size / 8;
		scan->kept = i + 1;
	}
	return 0;
}

/* A regular file under dirfd, never through a symbolic link; -1 with errno. */
static int open_file_under(int dirfd, const char *name, struct stat *st)
{
	int fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		return -1;
	}
	if (fstat(fd, st) < 0) {
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* Whether lttng-relayd may still be writing the file. */
static bool recently_modified(const struct stat *st)
{
	struct timespec now;
	int64_t age_ms;

	if (clock_gettime(CLOCK_REALTIME, &now) < 0) {
		return false;
	}
	age_ms = (int64_t) (now.tv_sec - st->st_mtim.tv_sec) * 1000 +
		(now.tv_nsec - st->st_mtim.tv_nsec) / 1000000;
	return age_ms < TRIM_QUIET_MS;
}

enum trim_result {
	TRIM_DONE,	/* trimmed, nothing to trim, or given up (logged) */
	TRIM_BUSY,	/* the file is still being written: try again later */
};

/* Cut the data file of open fd to end, and the index to its kept entries. */
static int cut(const char *ctx, const struct trim_job *job, int data_fd, uint64_t end,
		int idx_fd, uint64_t idx_new_len)
{
	if (ftruncate(data_fd, (off_t) end) < 0 || fsync(data_fd) < 0) {
		lh_log_errno(ctx, "Truncating %s/%s/%s", job->session_path, job->pathname,
			job->channel_name);
		return -1;
	}
	if (idx_fd >= 0 && (ftruncate(idx_fd, (off_t) idx_new_len) < 0 || fsync(idx_fd) < 0)) {
		lh_log_errno(ctx, "Truncating the index of %s/%s/%s", job->session_path,
			job->pathname, job->channel_name);
		return -1;
	}
	return 0;
}

static enum trim_result trim_file(const struct trim_job *job, bool wait_quiet)
{
	char ctx[LTTNG_HYPER_NAME_MAX_LEN + 8];
	char idx_name[NAME_MAX + 1];
	struct index_scan scan = { 0 };
	struct packet_layout layout;
	enum trim_result res = TRIM_DONE;
	int out_fd, session_fd = -1, stream_fd = -1, idx_dir_fd = -1;
	int data_fd = -1, idx_fd = -1;
	uint64_t end = 0, known_off = 0, known_size = 0, idx_new_len = 0;
	struct stat st, idx_st;
	int walk;

	snprintf(ctx, sizeof(ctx), "vm=%s", job->vm_name);
	out_fd = open(trim_output, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out_fd < 0) {
		lh_log_errno(ctx, "Output directory %s", trim_output);
		return TRIM_DONE;
	}
	session_fd = lh_path_open_dir_under(out_fd, job->session_path);
	if (session_fd >= 0) {
		stream_fd = lh_path_open_dir_under(session_fd, job->pathname);
	}
	if (stream_fd >= 0) {
		data_fd = open_file_under(stream_fd, job->channel_name, &st);
	}
	if (data_fd < 0) {
		/* A rotated or split stream: its files are named otherwise. */
		DBG_CTX(ctx, "No stream file %s/%s/%s to check: %s", job->session_path,
			job->pathname, job->channel_name, strerror(errno));
		goto end;
	}
	if (wait_quiet && recently_modified(&st)) {
		res = TRIM_BUSY;
		goto end;
	}
	idx_dir_fd = openat(stream_fd, IDX_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (idx_dir_fd >= 0 && snprintf(idx_name, sizeof(idx_name), "%s%s", job->channel_name,
			IDX_SUFFIX) < (int) sizeof(idx_name)) {
		idx_fd = open_file_under(idx_dir_fd, idx_name, &idx_st);
	}
	if (idx_fd >= 0 && scan_index(idx_fd, (uint64_t) idx_st.st_size,
			(uint64_t) st.st_size, &scan) < 0) {
		WARN_CTX(ctx, "Index of %s/%s/%s unreadable or invalid: left as it is",
			job->session_path, job->pathname, job->channel_name);
		close(idx_fd);
		idx_fd = -1;
		scan = (struct index_scan) { 0 };
	}
	if (scan.kept) {
		known_off = scan.last_off;
		known_size = scan.end - scan.last_off;
		end = scan.end;
		idx_new_len = IDX_HDR_LEN + scan.kept * scan.entry_len;
	} else if (job->first_packet_size) {
		known_size = job->first_packet_size;
		idx_new_len = idx_fd >= 0 ? IDX_HDR_LEN : 0;
	}
	if ((uint64_t) st.st_size == end) {
		walk = 0;
	} else if (!known_size) {
		DBG_CTX(ctx, "No packet boundary known in %s/%s/%s: left as it is",
			job->session_path, job->pathname, job->channel_name);
		goto end;
	} else if (learn_layout(data_fd, (uint64_t) st.st_size, known_off, known_size,
			&layout) < 0) {
		WARN_CTX(ctx, "No CTF packet header found in %s/%s/%s: left as it is",
			job->session_path, job->pathname, job->channel_name);
		goto end;
	} else {
		walk = walk_packets(data_fd, &layout, (uint64_t) st.st_size, &end);
	}
	if (walk < 0) {
		if (errno) {
			lh_log_errno(ctx, "Reading %s/%s/%s", job->session_path, job->pathname,
				job->channel_name);
		} else {
			WARN_CTX(ctx, "%s/%s/%s is not a sequence of CTF packets at offset %" PRIu64
				": left as it is", job->session_path, job->pathname,
				job->channel_name, end);
		}
		goto end;
	}
	if (walk == 0) {
		DBG_CTX(ctx, "%s/%s/%s ends on a packet boundary", job->session_path,
			job->pathname, job->channel_name);
		goto end;
	}
	if (idx_fd >= 0 && (uint64_t) idx_st.st_size <= idx_new_len) {
		idx_new_len = (uint64_t) idx_st.st_size;
	}
	if (cut(ctx, job, data_fd, end, idx_fd, idx_new_len) == 0) {
		INFO_CTX(ctx, "Trimmed the partial last packet of %s/%s/%s (%" PRIu64 " bytes)",
			job->session_path, job->pathname, job->channel_name,
			(uint64_t) st.st_size - end);
	}
end:
	if (idx_fd >= 0) {
		close(idx_fd);
	}
	if (idx_dir_fd >= 0) {
		close(idx_dir_fd);
	}
	if (data_fd >= 0) {
		close(data_fd);
	}
	if (stream_fd >= 0) {
		close(stream_fd);
	}
	if (session_fd >= 0) {
		close(session_fd);
	}
	close(out_fd);
	return res;
}

static void job_free(struct trim_job *job)
{
	free(job->vm_name);
	free(job->session_path);
	free(job->pathname);
	free(job->channel_name);
	free(job);
}

static void job_unlink(struct trim_job *job)
{
	struct trim_job **pp;

	for (pp = &trim_jobs; *pp; pp = &(*pp)->next) {
		if (*pp == job) {
			*pp = job->next;
			return;
		}
	}
}

static void job_cb(struct lh_timer *timer, void *arg)
{
	struct trim_job *job = arg;
	char ctx[LTTNG_HYPER_NAME_MAX_LEN + 8];

	job->timer = NULL;
	if (trim_file(job, true) == TRIM_BUSY) {
		snprintf(ctx, sizeof(ctx), "vm=%s", job->vm_name);
		if (++job->tries < TRIM_MAX_TRIES) {
			job->timer = lh_loop_timer(trim_loop, TRIM_DELAY_MS, job_cb, job);
			if (job->timer) {
				return;
			}
			ERR_CTX(ctx, "Cannot schedule the check of %s/%s/%s", job->session_path,
				job->pathname, job->channel_name);
		} else {
			WARN_CTX(ctx, "%s/%s/%s is still being written: not checked",
				job->session_path, job->pathname, job->channel_name);
		}
	}
	job_unlink(job);
	job_free(job);
}

static bool job_is(const struct trim_job *job, const struct lh_relay_trim_stream *stream)
{
	return !strcmp(job->vm_name, stream->vm_name) &&
		!strcmp(job->session_path, stream->session_path) &&
		!strcmp(job->pathname, stream->pathname) &&
		!strcmp(job->channel_name, stream->channel_name);
}

int lh_relay_trim_init(struct lh_loop *loop, const char *output)
{
	char *copy = strdup(output);

	if (!copy) {
		PERROR("strdup");
		return -1;
	}
	free(trim_output);
	trim_output = copy;
	trim_loop = loop;
	return 0;
}

void lh_relay_trim_fini(void)
{
	while (trim_jobs) {
		struct trim_job *job = trim_jobs;

		trim_jobs = job->next;
		if (job->timer) {
			lh_timer_cancel(job->timer);
		}
		trim_file(job, false);
		job_free(job);
	}
	free(trim_output);
	trim_output = NULL;
	trim_loop = NULL;
}

int lh_relay_trim_schedule(const struct lh_relay_trim_stream *stream)
{
	char ctx[LTTNG_HYPER_NAME_MAX_LEN + 8];
	struct trim_job *job;

	if (!trim_output) {
		return 0;
	}
	snprintf(ctx, sizeof(ctx), "vm=%s", stream->vm_name);
	if (!lh_path_relative_is_safe(stream->session_path, strlen(stream->session_path), false) ||
			!lh_path_relative_is_safe(stream->pathname, strlen(stream->pathname), false) ||
			!lh_path_component_is_safe(stream->channel_name,
				strlen(stream->channel_name))) {
		ERR_CTX(ctx, "Unsafe stream path %s/%s/%s: not checked for a partial packet",
			stream->session_path, stream->pathname, stream->channel_name);
		return -1;
	}
	for (job = trim_jobs; job; job = job->next) {
		if (job_is(job, stream)) {
			job->tries = 0;
			return 0;
		}
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		PERROR("calloc");
		return -1;
	}
	job->vm_name = strdup(stream->vm_name);
	job->session_path = strdup(stream->session_path);
	job->pathname = strdup(stream->pathname);
	job->channel_name = strdup(stream->channel_name);
	job->first_packet_size = stream->first_packet_size;
	if (!job->vm_name || !job->session_path || !job->pathname || !job->channel_name) {
		ERR_CTX(ctx, "Out of memory: %s/%s/%s not checked for a partial packet",
			stream->session_path, stream->pathname, stream->channel_name);
		job_free(job);
		return -1;
	}
	job->timer = lh_loop_timer(trim_loop, TRIM_DELAY_MS, job_cb, job);
	if (!job->timer) {
		ERR_CTX(ctx, "Cannot schedule the check of %s/%s/%s for a partial packet",
			stream->session_path, stream->pathname, stream->channel_name);
		job_free(job);
		return -1;
	}
	job->next = trim_jobs;
	trim_jobs = job;
	return 0;
}
