/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Path safety checks for names a guest sends (src/common/path.h).
 *
 * The rules are positive: a name is accepted only if every byte is known
 * to be harmless, rather than refused when it matches a known attack.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/path.h"

#define PATH_COMPONENT_MAX_LEN	255
#define PATH_RELATIVE_MAX_LEN	4095

/*
 * Printable ASCII but '/', no leading '.': this refuses ".", ".." and
 * hidden files, and keeps control characters out of names and log lines.
 */
bool lh_path_component_is_safe(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > PATH_COMPONENT_MAX_LEN || s[0] == '.') {
		return false;
	}
	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '/') {
			return false;
		}
	}
	return true;
}

/* Safe components joined by single '/', optionally ending with one '/'. */
bool lh_path_relative_is_safe(const char *s, size_t len, bool allow_empty)
{
	size_t start = 0, i;

	if (len == 0) {
		return allow_empty;
	}
	if (len > PATH_RELATIVE_MAX_LEN || s[0] == '/') {
		return false;
	}
	/* "a/b/" names the same directory as "a/b"; "a//" still fails below. */
	if (s[len - 1] == '/') {
		len--;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '/') {
			continue;
		}
		if (!lh_path_component_is_safe(s + start, i - start)) {
			return false;
		}
		start = i + 1;
	}
	return true;
}

int lh_path_open_dir_under(int dirfd, const char *path)
{
	char *copy = strdup(path);
	char *save = NULL, *comp;
	/* Close-on-exec even when path has no component to open. */
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);

	if (!copy || fd < 0) {
		free(copy);
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		close(fd);
		fd = next;
		if (fd < 0) {
			break;
		}
	}
	free(copy);
	return fd;
}
