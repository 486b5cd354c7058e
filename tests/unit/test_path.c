/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the path safety rules (src/common/path.h) that stand
 * between a guest's names and the host's filesystem, and of the walk
 * that opens a checked path under a directory without following links
 * (on a scratch tree under /tmp).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/path.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	55
#define TREE_TEMPLATE	"/tmp/lh-test-path-XXXXXX"

/* Test a NUL-terminated path. */
static bool rel(const char *s, bool allow_empty)
{
	return lh_path_relative_is_safe(s, strlen(s), allow_empty);
}

static bool comp(const char *s)
{
	return lh_path_component_is_safe(s, strlen(s));
}

static void test_components(void)
{
	char name[257];

	ok(comp("metadata"), "plain name");
	ok(comp("chan_0"), "channel file name");
	ok(comp("my session-20240101-120000"), "name with a space and dashes");
	ok(!comp(""), "empty name refused");
	ok(!comp("."), "'.' refused");
	ok(!comp(".."), "'..' refused");
	ok(!comp(".hidden"), "hidden name refused");
	ok(comp("a.b"), "'.' inside a name accepted");
	ok(!comp("a/b"), "'/' refused");
	ok(!comp("a\nb"), "newline refused");
	ok(!comp("a\tb"), "tab refused");
	ok(!comp("a\x7f"), "DEL refused");
	ok(!comp("caf\xc3\xa9"), "non-ASCII refused");
	ok(!lh_path_component_is_safe("a\0b", 3), "NUL inside refused");
	memset(name, 'n', sizeof(name));
	ok(lh_path_component_is_safe(name, 255), "255-byte name");
	ok(!lh_path_component_is_safe(name, 256), "256-byte name refused");
}

static void test_relative(void)
{
	char path[4097];
	size_t i;

	ok(rel("ust/uid/0/64-bit", false), "ust/uid/0/64-bit");
	ok(rel("kernel", false), "single component");
	ok(rel("a/b/", false), "single trailing '/' accepted");
	ok(!rel("a/b//", false), "double trailing '/' refused");
	ok(rel("", true), "empty path with allow_empty");
	ok(!rel("", false), "empty path without allow_empty");
	ok(!rel("/", true), "'/' refused even with allow_empty");
	ok(!rel(".", true), "'.' refused");
	ok(!rel("..", true), "'..' refused");
	ok(!rel("../x", true), "'../x' refused");
	ok(!rel("a/../b", true), "'a/../b' refused");
	ok(!rel("a/..", true), "'a/..' refused");
	ok(!rel("/abs", true), "absolute path refused");
	ok(!rel("a//b", true), "'a//b' refused");
	ok(!rel("a/.hidden/b", true), "hidden component refused");
	ok(!rel("a/\x01/b", true), "control character refused");
	ok(!lh_path_relative_is_safe("a/b\0/../../x", 12, true), "NUL inside refused");

	/* Components of 99 bytes, so only the total length matters. */
	for (i = 0; i < sizeof(path); i++) {
		path[i] = i % 100 == 99 ? '/' : 'p';
	}
	path[4094] = 'p';
	ok(lh_path_relative_is_safe(path, 4095, false), "4095-byte path");
	ok(!lh_path_relative_is_safe(path, 4096, false), "4096-byte path refused");
	memset(path, 'p', sizeof(path));
	ok(!lh_path_relative_is_safe(path, 300, false), "300-byte component refused");
}

/* Open files of this process, counted in /proc/self/fd; -1 if unknown. */
static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *ent;
	int n = 0;

	if (!dir) {
		diag("opendir /proc/self/fd: %s", strerror(errno));
		return -1;
	}
	while ((ent = readdir(dir))) {
		if (ent->d_name[0] != '.') {
			n++;
		}
	}
	closedir(dir);
	return n;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether fd is the directory at root/rel. */
static bool fd_is(int fd, const char *root, const char *rel)
{
	char path[sizeof(TREE_TEMPLATE) + 64];
	struct stat want, got;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return stat(path, &want) == 0 && fstat(fd, &got) == 0 && same_file(&want, &got);
}

/* The walk must refuse path, with errno e1 or e2. */
static void check_refused(int dirfd, const char *path, int e1, int e2, const char *what)
{
	int fd, err;

	errno = 0;
	fd = lh_path_open_dir_under(dirfd, path);
	err = errno;
	if (fd >= 0) {
		close(fd);
	}
	ok(fd < 0 && (err == e1 || err == e2), "%s: %s refused (%s)", what, path,
		fd >= 0 ? "it opened" : strerror(err));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path)) {
		diag("remove %s: %s", path, strerror(errno));
	}
	return 0;
}

/*
 * The scratch tree under root:
 *   a/b/c/marker   the directory to reach, and a file in it
 *   a/file         a regular file
 *   a/b/last -> c  a link as the last component
 *   a/mid -> b     a link in the middle
 *   a/out -> /tmp, a/root -> /, up -> ..   links out of the tree
 */
static bool make_tree(const char *root)
{
	char path[sizeof(TREE_TEMPLATE) + 64];
	static const char *const dirs[] = { "a", "a/b", "a/b/c" };
	static const char *const files[] = { "a/b/c/marker", "a/file" };
	static const char *const links[][2] = {
		{ "a/b/last", "c" },
		{ "a/mid", "b" },
		{ "a/out", "/tmp" },
		{ "a/root", "/" },
		{ "up", ".." },
	};
	size_t i;
	int fd;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		if (mkdir(path, 0700)) {
			diag("mkdir %s: %s", path, strerror(errno));
			return false;
		}
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			diag("create %s: %s", path, strerror(errno));
			return false;
		}
		close(fd);
	}
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, links[i][0]);
		if (symlink(links[i][1], path)) {
			diag("symlink %s: %s", path, strerror(errno));
			return false;
		}
	}
	return true;
}

static void test_walk_cases(int dirfd, const char *root)
{
	struct stat before, after;
	int fd, flags;

	ok(fstat(dirfd, &before) == 0, "fstat of the base directory");

	fd = lh_path_open_dir_under(dirfd, "a/b/c");
	ok(fd >= 0 && fd_is(fd, root, "a/b/c"), "a/b/c opens that very directory");
	ok(fd >= 0 && faccessat(fd, "marker", F_OK, AT_SYMLINK_NOFOLLOW) == 0,
		"the marker file is reachable through the fd");
	flags = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
	ok(flags >= 0 && (flags & FD_CLOEXEC), "the fd is close-on-exec");
	if (fd >= 0) {
		close(fd);
	}
	fd = lh_path_open_dir_under(dirfd, "a/b/c/");
	ok(fd >= 0 && fd_is(fd, root, "a/b/c"), "a trailing '/' opens the same directory");
	if (fd >= 0) {
		close(fd);
	}
	fd = lh_path_open_dir_under(dirfd, "");
	flags = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
	ok(fd >= 0 && fd_is(fd, root, "") && (flags & FD_CLOEXEC),
		"no component: the base directory again, close-on-exec");
	if (fd >= 0) {
		close(fd);
	}
	fd = lh_path_open_dir_under(dirfd, "a");
	ok(fd >= 0 && fd_is(fd, root, "a"), "a single component opens");
	if (fd >= 0) {
		close(fd);
	}

	/* Where O_NOFOLLOW meets a link, Linux says ELOOP, or ENOTDIR with O_DIRECTORY. */
	check_refused(dirfd, "a/b/last", ELOOP, ENOTDIR, "link as the last component");
	check_refused(dirfd, "a/mid/c", ELOOP, ENOTDIR, "link in the middle");
	check_refused(dirfd, "up", ELOOP, ENOTDIR, "link to '..'");
	check_refused(dirfd, "a/out", ELOOP, ENOTDIR, "link to /tmp");
	check_refused(dirfd, "a/root/tmp", ELOOP, ENOTDIR, "walk through a link to /");
	check_refused(dirfd, "a/missing", ENOENT, ENOENT, "missing last component");
	check_refused(dirfd, "a/missing/c", ENOENT, ENOENT, "missing middle component");
	check_refused(dirfd, "a/file", ENOTDIR, ENOTDIR, "regular file as the last component");
	check_refused(dirfd, "a/file/x", ENOTDIR, ENOTDIR, "regular file in the middle");

	ok(fcntl(dirfd, F_GETFD) >= 0 && fstat(dirfd, &after) == 0 &&
		same_file(&before, &after) &&
		faccessat(dirfd, "a/b/c/marker", F_OK, AT_SYMLINK_NOFOLLOW) == 0,
		"the base fd is still open and usable");
}

static void test_open_dir_under(void)
{
	char root[] = TREE_TEMPLATE;
	int dirfd, fds_before, fds_after;

	if (!mkdtemp(root)) {
		diag("mkdtemp: %s", strerror(errno));
		skip(18, "no scratch directory");
		return;
	}
	dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || !make_tree(root)) {
		diag("cannot build the tree under %s", root);
		skip(17, "no scratch tree");
	} else {
		fds_before = count_fds();
		test_walk_cases(dirfd, root);
		fds_after = count_fds();
		ok(fds_before > 0 && fds_after == fds_before,
			"no fd leaked (%d open before, %d after)", fds_before, fds_after);
	}
	if (dirfd >= 0) {
		close(dirfd);
	}
	/* Depth first, and links removed rather than followed. */
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	ok(access(root, F_OK) < 0 && errno == ENOENT, "scratch tree removed");
}

int main(void)
{
	plan_tests(NUM_TESTS);
	test_components();
	test_relative();
	test_open_dir_under();
	return exit_status();
}
