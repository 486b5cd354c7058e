/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-place fixer of a metadata file's clock (ctf-metadata.h): the
 * whole file is read, scanned, and the bytes of the fields rewritten are
 * written back, at the same length.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ctf-metadata-packet.h"
#include "common/ctf-metadata-scan.h"

struct fix_ctx {
	uint8_t *buf;
	const struct lh_ctf_md_values *values;
	uint64_t dirty_lo, dirty_hi;	/* [lo, hi) rewritten */
};

static enum md_field_result fix_field(void *arg, const struct md_field *f)
{
	struct fix_ctx *fx = arg;
	char text[MD_FIELD_MAX + 1];
	size_t digits, i;
	bool changes;

	if (!fx->values) {
		return MD_FIELD_KEPT;
	}
	digits = md_field_text(fx->values, f, text, &changes);
	if (!digits || digits > f->nr_pos) {
		return MD_FIELD_LEFT;
	}
	memset(text + digits, ' ', f->nr_pos - digits);
	for (i = 0; i < f->nr_pos; i++) {
		fx->buf[f->pos[i]] = (uint8_t) text[i];
		if (f->pos[i] < fx->dirty_lo) {
			fx->dirty_lo = f->pos[i];
		}
		if (f->pos[i] + 1 > fx->dirty_hi) {
			fx->dirty_hi = f->pos[i] + 1;
		}
	}
	return changes ? MD_FIELD_CHANGED : MD_FIELD_KEPT;
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t) done);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		done += (size_t) n;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -1;
		}
		buf += n;
		len -= (size_t) n;
		off += n;
	}
	return 0;
}

/* Scan the text of every packet. Returns -1 (EINVAL) on a malformed packet. */
static int fix_scan_packets(struct md_scan *s, struct lh_ctf_md_report *report,
		const uint8_t *buf, size_t size)
{
	bool big_endian;
	size_t off = 0;

	while (off < size) {
		uint64_t content, packet, i;

		if (size - off < MD_PKT_HDR_LEN ||
				md_packet_sizes(buf + off, &big_endian, &content, &packet) < 0 ||
				content > size - off) {
			report->bad_packet = true;
			errno = EINVAL;
			return -1;
		}
		for (i = MD_PKT_HDR_LEN; i < content; i++) {
			md_scan_byte(s, buf[off + i], off + i);
		}
		if (packet > size - off) {
			break;
		}
		off += packet;
	}
	return 0;
}

int lh_ctf_md_fix_fd(int fd, const struct lh_ctf_md_values *values,
		struct lh_ctf_md_report *report)
{
	struct fix_ctx fx = { .values = values, .dirty_lo = UINT64_MAX };
	struct md_scan scan;
	struct stat st;
	size_t size, off;
	int ret = -1;

	memset(report, 0, sizeof(*report));
	if (fstat(fd, &st) < 0) {
		return -1;
	}
	if (st.st_size > MD_MAX_SIZE) {
		errno = EFBIG;
		return -1;
	}
	size = (size_t) st.st_size;
	fx.buf = malloc(size ? size : 1);
	if (!fx.buf) {
		return -1;
	}
	if (read_all(fd, fx.buf, size) < 0) {
		goto end;
	}
	report->form = md_form_detect(fx.buf, size, false);
	md_scan_init(&scan, report->form, report, fix_field, &fx);
	if (report->form == LH_CTF_MD_FORM_PACKETIZED) {
		if (fix_scan_packets(&scan, report, fx.buf, size) < 0) {
			goto end;
		}
	} else {
		/* Plain text, as lttng 2.14 and later send it, or write it without a relay. */
		for (off = 0; off < size; off++) {
			md_scan_byte(&scan, fx.buf[off], off);
		}
	}
	if (fx.dirty_hi > fx.dirty_lo) {
		if (write_all(fd, fx.buf + fx.dirty_lo, fx.dirty_hi - fx.dirty_lo,
				(off_t) fx.dirty_lo) < 0 || fsync(fd) < 0) {
			goto end;
		}
	}
	ret = 0;
end:
	free(fx.buf);
	return ret;
}
