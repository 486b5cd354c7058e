/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Path safety rules for names a guest sends. The host relay refuses what
 * stock lttng-relayd refuses, and more: a guest must never name a place
 * outside its own directory.
 */
#ifndef LH_COMMON_PATH_H
#define LH_COMMON_PATH_H

#include <stdbool.h>
#include <stddef.h>

/*
 * One path component: 1 to 255 bytes of printable ASCII except '/', not
 * starting with '.', no NUL inside. (Covers "", ".", ".." and hidden files.)
 */
bool lh_path_component_is_safe(const char *s, size_t len);
/*
 * A relative path: safe components joined by single '/', no leading '/',
 * at most 4095 bytes. A single trailing '/' is accepted. The empty
 * path is accepted only if allow_empty.
 */
bool lh_path_relative_is_safe(const char *s, size_t len, bool allow_empty);

/*
 * Open the directory at path (relative, already checked to be safe) under
 * dirfd, one component at a time and never through a symbolic link, so
 * that what a guest named cannot lead out of dirfd. Returns a new
 * close-on-exec fd, or -1 with errno set.
 */
int lh_path_open_dir_under(int dirfd, const char *path);

#endif /* LH_COMMON_PATH_H */
