/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Finding traces and their layers (traces.h).
 */
#include <babeltrace2/babeltrace.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "traces.h"

/* The nearest sync file above dir, up to top. */
static void sync_find(const char *top, const char *dir, struct lh_sync_info *si)
{
	char cur[PATH_MAX];
	size_t top_len = strlen(top);

	memset(si, 0, sizeof(*si));
	snprintf(cur, sizeof(cur), "%s", dir);
	for (;;) {
		char path[PATH_MAX + sizeof(LH_SYNC_FILE_NAME) + 1];
		char *slash;

		snprintf(path, sizeof(path), "%s/%s", cur, LH_SYNC_FILE_NAME);
		if (!access(path, F_OK)) {
			lh_sync_file_read(path, si);
			return;
		}
		slash = strrchr(cur, '/');
		if (strlen(cur) <= top_len || !slash || (size_t) (slash - cur) < top_len) {
			return;
		}
		*slash = '\0';
	}
}

/* The form of a metadata file, told as the relay tells it. */
static enum lh_ctf_md_form metadata_form(const char *path)
{
	struct lh_ctf_md_report rep;
	int fd, ret;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return LH_CTF_MD_FORM_UNKNOWN;
	}
	ret = lh_ctf_md_fix_fd(fd, NULL, &rep);
	close(fd);
	return ret < 0 ? LH_CTF_MD_FORM_UNKNOWN : rep.form;
}

/* The layer of a trace: its path under top, without the LTTng levels. */
static void layer_of(const char *top, const char *dir, char *layer, size_t len)
{
	const char *rel = dir + strlen(top);
	char *cut;

	rel += strspn(rel, "/");
	snprintf(layer, len, "%s", rel);
	/* lttng-relayd writes <session>/ust/... or <session>/kernel. */
	cut = strstr(layer, "/ust/");
	if (!cut) {
		cut = strstr(layer, "/kernel");
	}
	if (!cut && (!strncmp(layer, "ust/", 4) || !strcmp(layer, "kernel"))) {
		cut = layer;
	}
	if (cut) {
		*cut = '\0';
	}
	/* Then the session directory. */
	cut = strrchr(layer, '/');
	if (cut) {
		*cut = '\0';
	} else {
		layer[0] = '\0';
	}
	if (!layer[0]) {
		snprintf(layer, len, ".");
	}
}

/* nftw() takes no argument for its callback. */
static struct {
	const char *top;
	struct lh_trace *traces;
	size_t nr;
	bool too_many;
} walk;

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct lh_trace *t;
	const char *base = path + ftw->base;
	size_t dir_len = ftw->base ? ftw->base - 1 : 0;

	if (type != FTW_F || strcmp(base, LH_METADATA_NAME)) {
		return 0;
	}
	if (walk.nr == LH_MAX_TRACES) {
		walk.too_many = true;
		return 1;
	}
	t = &walk.traces[walk.nr];
	memset(t, 0, sizeof(*t));
	if (dir_len >= sizeof(t->dir)) {
		return 0;
	}
	memcpy(t->dir, path, dir_len);
	t->dir[dir_len] = '\0';
	layer_of(walk.top, t->dir, t->layer, sizeof(t->layer));
	sync_find(walk.top, t->dir, &t->sync);
	t->form = metadata_form(path);
	walk.nr++;
	return 0;
}

static int trace_cmp(const void *a, const void *b)
{
	const struct lh_trace *ta = a, *tb = b;
	int c = strcmp(ta->layer, tb->layer);

	return c ? c : strcmp(ta->dir, tb->dir);
}

int lh_traces_find(const char *top, struct lh_trace **traces, size_t *nr)
{
	memset(&walk, 0, sizeof(walk));
	walk.traces = calloc(LH_MAX_TRACES, sizeof(*walk.traces));
	if (!walk.traces) {
		PERROR("calloc");
		return -1;
	}
	walk.top = top;
	if (nftw(top, walk_cb, 32, FTW_PHYS) < 0) {
		PERROR("%s", top);
		free(walk.traces);
		return -1;
	}
	if (walk.too_many) {
		WARN("More than %d traces under %s: the rest are ignored", LH_MAX_TRACES, top);
	}
	qsort(walk.traces, walk.nr, sizeof(*walk.traces), trace_cmp);
	*traces = walk.traces;
	*nr = walk.nr;
	return 0;
}

const char *lh_trace_ctf_version(enum lh_ctf_md_form form)
{
	switch (form) {
	case LH_CTF_MD_FORM_PACKETIZED:
	case LH_CTF_MD_FORM_TSDL:
		return "1.8";
	case LH_CTF_MD_FORM_CTF2:
		return "2";
	default:
		return "?";
	}
}

const char *lh_trace_unreadable(const struct lh_trace *t, char *buf, size_t len)
{
	unsigned int major = bt_version_get_major(), minor = bt_version_get_minor();

	if (t->form != LH_CTF_MD_FORM_CTF2 || major > 2 || (major == 2 && minor >= 1)) {
		return NULL;
	}
	snprintf(buf, len, "CTF 2, which libbabeltrace2 %u.%u.%u cannot read (2.1 or later can)",
		major, minor, bt_version_get_patch());
	return buf;
}
