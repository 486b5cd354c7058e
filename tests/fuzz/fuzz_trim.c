/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fuzz target: cutting a data stream file back to its last whole packet
 * (src/bin/lttng-hyper-relayd/trim.c). The stream file holds what a
 * guest sent, and its index what the guest's SEND_INDEX said, both as
 * lttng-relayd wrote them; here they are written to a directory in
 * memory (/dev/shm) and trimmed at once, as when lttng-relayd exits.
 *
 * Input: a flags byte, then
 *   - raw (bit 0 clear): u32 first packet size (as the data filter saw
 *     it), u16 data file length, the data file, then the index file (none
 *     unless bit 1);
 *   - structured (bit 0 set): a stream of CTF packets whose header holds
 *     content_size then packet_size (u64, bits) at an offset picked by the
 *     input, the last one cut short, and an index of its first whole
 *     packets (if bit 1); bit 2 big-endian, bit 3 the filter saw no first
 *     packet size.
 *
 * Invariants: the data file and the index only ever lose a tail; a
 * structured stream is either left as it is or cut exactly after its
 * last whole packet, and is cut whenever its packet size is known and
 * its layout can be learnt.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/loop.h"
#include "src/bin/lttng-hyper-relayd/trim.h"
#include "tests/fuzz/fuzz.h"

#define SESSION		"s"
#define PATHNAME	"ust"
#define CHANNEL		"chan_0"
#define CTF_MAGIC	0xC1FC1FC1U
#define IDX_MAGIC	0xC1F1DCC1U
#define IDX_HDR_LEN	16
#define MAX_PACKETS	8
/* trim.c looks for packet_size in a packet's first 256 bytes. */
#define LAYOUT_SCAN_LEN	256

static char top[PATH_MAX];
static char data_path[PATH_MAX + 64], idx_path[PATH_MAX + 64];
static struct lh_loop *loop;

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
	char dir[PATH_MAX + 64];

	fuzz_quiet_logs();
	fuzz_make_tmpdir(top, sizeof(top), "trim");
	atexit(cleanup);
	snprintf(dir, sizeof(dir), "%s/%s", top, SESSION);
	FUZZ_CHECK(mkdir(dir, 0700) == 0, "mkdir %s: %m", dir);
	snprintf(dir, sizeof(dir), "%s/%s/%s", top, SESSION, PATHNAME);
	FUZZ_CHECK(mkdir(dir, 0700) == 0, "mkdir %s: %m", dir);
	snprintf(dir, sizeof(dir), "%s/%s/%s/index", top, SESSION, PATHNAME);
	FUZZ_CHECK(mkdir(dir, 0700) == 0, "mkdir %s: %m", dir);
	snprintf(data_path, sizeof(data_path), "%s/%s/%s/%s", top, SESSION, PATHNAME, CHANNEL);
	snprintf(idx_path, sizeof(idx_path), "%s/%s/%s/index/%s.idx", top, SESSION, PATHNAME,
		CHANNEL);
	loop = lh_loop_create();
	FUZZ_CHECK(loop, "no loop");
	return 0;
}

struct file {
	uint8_t *p;
	size_t len;
};

static void write_file(const char *path, const uint8_t *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FUZZ_CHECK(fd >= 0, "%s: %m", path);
	FUZZ_CHECK(!len || write(fd, p, len) == (ssize_t) len, "%s: %m", path);
	close(fd);
}

/* What the file holds now; len SIZE_MAX if it is gone. */
static struct file read_file(const char *path)
{
	struct file f = { NULL, SIZE_MAX };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		return f;
	}
	FUZZ_CHECK(fstat(fd, &st) == 0, "%s: %m", path);
	f.len = (size_t) st.st_size;
	f.p = malloc(f.len ? f.len : 1);
	FUZZ_CHECK(f.p && (!f.len || read(fd, f.p, f.len) == (ssize_t) f.len), "%s: %m", path);
	close(fd);
	return f;
}

/* The file lost at most a tail. */
static size_t check_prefix(const char *what, const struct file *before, const char *path)
{
	struct file after = read_file(path);
	size_t len = after.len;

	FUZZ_CHECK(after.len <= before->len && fuzz_same(after.p, before->p, after.len),
		"the %s file of %zu bytes is no prefix of the %zu it was", what, after.len,
		before->len);
	free(after.p);
	return len;
}

static void trim(uint64_t first_packet_size)
{
	const struct lh_relay_trim_stream stream = {
		.vm_name = "guest1",
		.session_path = SESSION,
		.pathname = PATHNAME,
		.channel_name = CHANNEL,
		.first_packet_size = first_packet_size,
	};

	FUZZ_CHECK(lh_relay_trim_init(loop, top) == 0, "trim init");
	FUZZ_CHECK(lh_relay_trim_schedule(&stream) == 0, "trim schedule");
	/* lttng-relayd exited: the pending checks run now. */
	lh_relay_trim_fini();
}

static void run_raw(struct fuzz_in *in, bool with_index)
{
	uint64_t first = fuzz_u32(in);
	struct file data, idx = { NULL, 0 };
	size_t got;

	data.p = (uint8_t *) fuzz_bytes(in, fuzz_u16(in), &got);
	data.len = got;
	write_file(data_path, data.p, data.len);
	unlink(idx_path);
	if (with_index) {
		idx.p = (uint8_t *) in->p;
		idx.len = in->len;
		write_file(idx_path, idx.p, idx.len);
	}
	trim(first);
	check_prefix("data", &data, data_path);
	if (with_index) {
		check_prefix("index", &idx, idx_path);
	}
}

static void put_u64(uint8_t *p, uint64_t v, bool be)
{
	int i;

	for (i = 0; i < 8; i++) {
		p[be ? i : 7 - i] = (uint8_t) (v >> (56 - 8 * i));
	}
}

static void run_structured(struct fuzz_in *in, uint8_t flags)
{
	bool be = flags & 0x04, with_index = flags & 0x02;
	/* packet_size's offset: content_size is the u64 before it. */
	size_t size_off = 16 + 8 * (fuzz_u8(in) % ((LAYOUT_SCAN_LEN - 16) / 8));
	size_t need = size_off + 8;
	size_t nr = 1 + fuzz_u8(in) % MAX_PACKETS, sizes[MAX_PACKETS], total = 0, whole, i, o;
	size_t nr_index, entry_len, cut;
	struct file data, idx = { NULL, 0 };
	uint8_t *idx_buf = NULL;

	for (i = 0; i < nr; i++) {
		/* At least the header, a multiple of 8 bytes; at most 4 KiB. */
		sizes[i] = need + 8 * (fuzz_u16(in) % 512);
		total += sizes[i];
	}
	/* The last packet arrived in part (maybe not at all). */
	cut = fuzz_u16(in) % sizes[nr - 1];
	whole = total - sizes[nr - 1];
	data.len = whole + cut;
	data.p = calloc(1, total);
	FUZZ_CHECK(data.p, "out of memory");
	for (i = 0, o = 0; i < nr; o += sizes[i], i++) {
		uint8_t *p = data.p + o;
		size_t content = need + fuzz_u16(in) % (sizes[i] - need + 1), j;

		lh_put_u32(p, CTF_MAGIC, be);
		put_u64(p + size_off - 8, content * 8, be);
		put_u64(p + size_off, sizes[i] * 8, be);
		/* The rest of the header stays zero: no earlier field reads as the size. */
		for (j = need; j < sizes[i]; j++) {
			p[j] = fuzz_u8(in);
		}
	}
	write_file(data_path, data.p, data.len);

	nr_index = with_index ? fuzz_u8(in) % nr : 0;
	entry_len = 24 + 8 * (fuzz_u8(in) % 8);
	unlink(idx_path);
	if (with_index) {
		idx.len = IDX_HDR_LEN + nr_index * entry_len;
		idx_buf = calloc(1, idx.len);
		FUZZ_CHECK(idx_buf, "out of memory");
		lh_put_be32(idx_buf, IDX_MAGIC);
		lh_put_be32(idx_buf + 4, 1);
		lh_put_be32(idx_buf + 8, 1);
		lh_put_be32(idx_buf + 12, (uint32_t) entry_len);
		for (i = 0, o = 0; i < nr_index; o += sizes[i], i++) {
			uint8_t *e = idx_buf + IDX_HDR_LEN + i * entry_len;

			lh_put_be64(e, o);
			lh_put_be64(e + 8, sizes[i] * 8);
			lh_put_be64(e + 16, sizes[i] * 8);
		}
		idx.p = idx_buf;
		write_file(idx_path, idx.p, idx.len);
	}
	trim(flags & 0x08 ? 0 : sizes[0]);
	o = check_prefix("data", &data, data_path);
	FUZZ_CHECK(o == data.len || o == whole,
		"%zu bytes of %zu whole and %zu cut were kept", o, whole, cut);
	/*
	 * It must be cut when a packet's size is known, from the index or the
	 * filter, and that packet holds packet_size within what trim.c reads.
	 */
	if (cut && (nr_index || !(flags & 0x08)) && need <= LAYOUT_SCAN_LEN &&
			(nr_index ? sizes[nr_index - 1] : sizes[0]) <= whole + cut) {
		FUZZ_CHECK(o == whole, "a cut packet left: %zu bytes kept, %zu whole", o, whole);
	}
	if (with_index) {
		check_prefix("index", &idx, idx_path);
	}
	free(data.p);
	free(idx_buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t flags = fuzz_u8(&in);

	if (flags & 0x01) {
		run_structured(&in, flags);
	} else {
		run_raw(&in, flags & 0x02);
	}
	return 0;
}
