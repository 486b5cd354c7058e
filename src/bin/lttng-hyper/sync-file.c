/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading a sync file (sync-file.h).
 */
#include <string.h>

#include "common/log.h"
#include "common/number.h"
#include "sync-file.h"

int lh_sync_file_parse(FILE *f, const char *path, struct lh_sync_info *si)
{
	struct {
		const char *key;
		bool *has;
		uint64_t *v;
	} keys[] = {
		{ "offset", &si->has_offset, &si->offset },
		{ "freq", &si->has_freq, &si->freq },
		{ "guest_offset", &si->has_guest_offset, &si->guest_offset },
		{ "guest_freq", &si->has_guest_freq, &si->guest_freq },
		{ "error_ns", &si->has_error, &si->error_ns },
	};
	char line[512];

	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');
		char *key = line, *val, *end;
		size_t i;

		if (line[0] == '#' || !eq) {
			continue;
		}
		*eq = '\0';
		val = eq + 1;
		for (end = eq; end > key && (end[-1] == ' ' || end[-1] == '\t'); end--) {
			end[-1] = '\0';
		}
		val += strspn(val, " \t");
		val[strcspn(val, "\r\n")] = '\0';
		if (!strcmp(key, "status")) {
			snprintf(si->status, sizeof(si->status), "%s", val);
			continue;
		}
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (!strcmp(key, keys[i].key)) {
				*keys[i].has = lh_parse_u64(val, 0, UINT64_MAX, keys[i].v) == 0;
				if (!*keys[i].has) {
					WARN("%s: bad value for %s", path, key);
				}
			}
		}
	}
	if (ferror(f)) {
		PERROR("%s", path);
		return -1;
	}
	return 0;
}

int lh_sync_file_read(const char *path, struct lh_sync_info *si)
{
	FILE *f;
	int ret;

	memset(si, 0, sizeof(*si));
	f = fopen(path, "re");
	if (!f) {
		return -1;
	}
	si->found = true;
	snprintf(si->path, sizeof(si->path), "%s", path);
	ret = lh_sync_file_parse(f, path, si);
	fclose(f);
	return ret;
}

int64_t lh_sync_shift_ns(const struct lh_sync_info *si)
{
	uint64_t freq = si->has_freq && si->freq ? si->freq : 1000000000;
	uint64_t gfreq = si->has_guest_freq && si->guest_freq ? si->guest_freq : 1000000000;

	return (int64_t) ((__int128) si->offset * 1000000000 / freq -
		(__int128) si->guest_offset * 1000000000 / gfreq);
}
