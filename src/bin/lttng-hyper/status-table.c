/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What lttng-hyper status and top show of a relay's status
 * (relay-status.h): the summary line and the table of VMs, the same for
 * both. Each column is as wide as its widest cell; the last one, LAST
 * ERROR, takes what is left of the line. Widths count characters, not
 * bytes: guests name their nested VMs, in UTF-8 or anything else.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "relay-status.h"

#define LINE_SIZE	4096
/* A longer VM name is cut: the indentation of the tree stays readable. */
#define NAME_MAX_COLS	32
#define GAP		2

enum col {
	COL_VM,
	COL_STATE,
	COL_CONNS,
	COL_SESSIONS,
	COL_STREAMS,
	COL_IN,
	COL_PACKETS,
	COL_DISCARDED,
	COL_OFFSET,
	COL_BOUND,
	COL_ERROR,
	NR_COLS,
};

struct row {
	const char *cell[NR_COLS];
	char buf[NR_COLS][40];
	unsigned int indent;		/* of the VM column */
	const char *error_prefix;	/* before cell[COL_ERROR]: its age */
};

struct line {
	char *buf;
	size_t size, len;
	unsigned int cols, max_cols;
	bool ascii;
};

/*
 * The length of the character at s, shown in one column, and whether it
 * may be shown as it is: not a control character (C0, DEL, or C1 in
 * UTF-8), which could drive the terminal.
 */
static size_t char_len(const char *s, bool ascii, bool *shown)
{
	unsigned char c = (unsigned char) *s;
	size_t n = 1;

	if (c < 0x80 || ascii) {
		*shown = c >= 0x20 && c < 0x7f;
		return 1;
	}
	while (n < 4 && ((unsigned char) s[n] & 0xc0) == 0x80) {
		n++;
	}
	*shown = (c & 0xc0) == 0xc0 && !(c == 0xc2 && n == 2 && (unsigned char) s[1] < 0xa0);
	return n;
}

static unsigned int text_cols(const char *s, bool ascii)
{
	unsigned int cols = 0;
	bool shown;

	while (*s) {
		s += char_len(s, ascii, &shown);
		cols++;
	}
	return cols;
}

/* Append at most n columns of s, within the line's width; returns where it stopped. */
static const char *put(struct line *l, const char *s, unsigned int n)
{
	bool shown;

	while (*s && n-- && l->cols < l->max_cols) {
		size_t len = char_len(s, l->ascii, &shown);

		if (l->len + len >= l->size) {
			break;
		}
		if (shown) {
			memcpy(l->buf + l->len, s, len);
			l->len += len;
		} else {
			l->buf[l->len++] = '?';
		}
		l->cols++;
		s += len;
	}
	return s;
}

static void pad(struct line *l, unsigned int n)
{
	while (n-- && l->cols < l->max_cols && l->len + 1 < l->size) {
		l->buf[l->len++] = ' ';
		l->cols++;
	}
}

void lh_status_format_duration(double s, char *buf, size_t len)
{
	/* Bounded first: a double beyond uint64_t does not convert. */
	uint64_t t = s > 0 ? (uint64_t) (s < 1e12 ? s : 1e12) : 0;

	if (t < 60) {
		snprintf(buf, len, "%" PRIu64 "s", t);
	} else if (t < 3600) {
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", t / 60, t % 60);
	} else if (t < 86400) {
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", t / 3600, t % 3600 / 60);
	} else {
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", t / 86400, t % 86400 / 3600);
	}
}

size_t lh_status_vms_up(const struct lh_status *st)
{
	size_t i, up = 0;

	for (i = 0; i < st->nr_vms; i++) {
		up += !strcmp(st->vms[i].state, "up");
	}
	return up;
}

void lh_status_summary(const struct lh_status *st, char *buf, size_t len)
{
	char up[32];

	lh_status_format_duration(st->relay.uptime_s, up, sizeof(up));
	snprintf(buf, len, "relay pid %" PRId64 " (%s), up %s, lttng-relayd %s, %zu/%zu VMs up",
		st->relay.pid, st->relay.package_version, up, st->relay.relayd,
		lh_status_vms_up(st), st->nr_vms);
}

size_t lh_status_fit(const char *text, unsigned int width, bool ascii, char *out, size_t len)
{
	struct line l = {
		.buf = out, .size = len, .max_cols = width ? width : UINT_MAX, .ascii = ascii,
	};
	const char *end;

	if (!len) {
		return 0;
	}
	end = put(&l, text, UINT_MAX);
	out[l.len] = '\0';
	return (size_t) (end - text);
}

/* Nested VMs show the last part of their name, under their parent. */
static const char *leaf_name(const struct lh_status_vm *vm)
{
	size_t len = vm->parent ? strlen(vm->parent) : 0;

	if (len && !strncmp(vm->name, vm->parent, len) && vm->name[len] == '/' &&
			vm->name[len + 1]) {
		return vm->name + len + 1;
	}
	return vm->name;
}

static const char *set_cell(struct row *r, enum col c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static const char *set_cell(struct row *r, enum col c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->buf[c], sizeof(r->buf[c]), fmt, ap);
	va_end(ap);
	r->cell[c] = r->buf[c];
	return r->cell[c];
}

static void make_row(const struct lh_status_vm *vm, bool rates, struct row *r)
{
	char dur[32];

	r->indent = 2 * vm->depth;
	r->cell[COL_VM] = leaf_name(vm);
	if (vm->channel) {
		lh_status_format_duration(vm->state_s, dur, sizeof(dur));
		set_cell(r, COL_STATE, "%s %s", vm->state, dur);
	} else {
		r->cell[COL_STATE] = vm->state;
	}
	set_cell(r, COL_CONNS, "%" PRIu64, vm->connections);
	set_cell(r, COL_SESSIONS, "%" PRIu64, vm->sessions);
	set_cell(r, COL_STREAMS, "%" PRIu64, vm->streams);
	if (!rates) {
		set_cell(r, COL_IN, "%.1f", (double) vm->bytes_in / 1e6);
		set_cell(r, COL_PACKETS, "%" PRIu64, vm->packets);
	} else if (vm->has_rate) {
		set_cell(r, COL_IN, "%.2f", vm->mb_per_s);
		set_cell(r, COL_PACKETS, "%.1f", vm->pkt_per_s);
	} else {
		r->cell[COL_IN] = "-";
		r->cell[COL_PACKETS] = "-";
	}
	set_cell(r, COL_DISCARDED, "%" PRIu64, vm->events_discarded);
	if (vm->has_clock) {
		/* In integers: offsets span days, where a double blurs the microseconds. */
		uint64_t mag = vm->clock_offset_ns < 0 ? -(uint64_t) vm->clock_offset_ns :
			(uint64_t) vm->clock_offset_ns;

		set_cell(r, COL_OFFSET, "%c%" PRIu64 ".%06" PRIu64 "s",
			vm->clock_offset_ns < 0 ? '-' : '+', mag / 1000000000, mag % 1000000000 / 1000);
		set_cell(r, COL_BOUND, "%.1f", (double) vm->clock_error_ns / 1e3);
	} else {
		r->cell[COL_OFFSET] = "-";
		r->cell[COL_BOUND] = "-";
	}
	if (vm->last_error) {
		lh_status_format_duration(vm->last_error_age_s, dur, sizeof(dur));
		r->error_prefix = set_cell(r, COL_ERROR, "%s ago: ", dur);
		r->cell[COL_ERROR] = vm->last_error;
	} else {
		r->error_prefix = "";
		r->cell[COL_ERROR] = "-";
	}
}

static void make_header(const struct lh_status_table_opts *opts, struct row *r)
{
	static const char *const titles[NR_COLS] = {
		[COL_VM] = "VM", [COL_STATE] = "STATE", [COL_CONNS] = "CONNS",
		[COL_SESSIONS] = "SESSIONS", [COL_STREAMS] = "STREAMS",
		[COL_DISCARDED] = "DISCARDED", [COL_OFFSET] = "CLOCK OFFSET",
		[COL_ERROR] = "LAST ERROR",
	};

	memcpy(r->cell, titles, sizeof(titles));
	r->cell[COL_IN] = opts->rates ? "MB/S IN" : "MB IN";
	r->cell[COL_PACKETS] = opts->rates ? "PKT/S" : "PACKETS";
	r->cell[COL_BOUND] = opts->ascii ? "ERROR BOUND (us)" : "ERROR BOUND (µs)";
	r->indent = 0;
	r->error_prefix = "";
}

static unsigned int cell_cols(const struct row *r, enum col c, bool ascii)
{
	unsigned int cols = text_cols(r->cell[c], ascii);

	if (c == COL_VM) {
		return r->indent + (cols < NAME_MAX_COLS ? cols : NAME_MAX_COLS);
	}
	return cols;
}

static void emit(struct line *l, const struct row *r, const unsigned int *widths)
{
	enum col c;

	for (c = 0; c < NR_COLS; c++) {
		unsigned int cols = cell_cols(r, c, l->ascii);

		if (c) {
			pad(l, GAP);
		}
		switch (c) {
		case COL_VM:
			pad(l, r->indent);
			put(l, r->cell[c], NAME_MAX_COLS);
			pad(l, widths[c] - cols);
			break;
		case COL_STATE:
			put(l, r->cell[c], UINT_MAX);
			pad(l, widths[c] - cols);
			break;
		case COL_ERROR:
			put(l, r->error_prefix, UINT_MAX);
			put(l, r->cell[c], UINT_MAX);
			break;
		default:
			pad(l, widths[c] - cols);
			put(l, r->cell[c], UINT_MAX);
			break;
		}
	}
	l->buf[l->len] = '\0';
}

void lh_status_table(const struct lh_status *st, const struct lh_status_table_opts *opts,
		void (*line)(const char *text, enum lh_status_line kind, void *arg), void *arg)
{
	unsigned int widths[NR_COLS];
	char buf[LINE_SIZE];
	struct line l = {
		.buf = buf, .size = sizeof(buf), .max_cols = opts->width ? opts->width : UINT_MAX,
		.ascii = opts->ascii,
	};
	struct row r;
	enum col c;
	size_t i;

	/* Rows are made twice, for the widths then for the lines: no allocation. */
	make_header(opts, &r);
	for (c = 0; c < NR_COLS; c++) {
		widths[c] = cell_cols(&r, c, opts->ascii);
	}
	for (i = 0; i < st->nr_vms; i++) {
		make_row(&st->vms[i], opts->rates, &r);
		for (c = 0; c < NR_COLS; c++) {
			unsigned int cols = cell_cols(&r, c, opts->ascii);

			widths[c] = cols > widths[c] ? cols : widths[c];
		}
	}
	make_header(opts, &r);
	emit(&l, &r, widths);
	line(l.buf, LH_STATUS_LINE_HEADER, arg);
	for (i = 0; i < st->nr_vms; i++) {
		l.len = 0;
		l.cols = 0;
		make_row(&st->vms[i], opts->rates, &r);
		emit(&l, &r, widths);
		line(l.buf, strcmp(st->vms[i].state, "up") ? LH_STATUS_LINE_VM_DOWN :
			LH_STATUS_LINE_VM_UP, arg);
	}
}
