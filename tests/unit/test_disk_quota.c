/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of the relay's disk quota (src/bin/lttng-hyper-relayd/disk.c):
 * what a VM's directory takes (allocated blocks of its files, nested
 * directories included, a sparse file for what it holds, nothing through
 * a symbolic link); bytes counted on top until the next measure; a charge
 * past the limit refused and nothing counted; new sessions refused at the
 * limit and, once the VM's sessions were ended there, until it is down to
 * 90% of it; no directory (--relayd-url) and no limit.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bin/lttng-hyper-relayd/disk.h"
#include "tests/utils/tap.h"

#define NUM_TESTS	15
#define DIR_TEMPLATE	"/tmp/lh-test-dq-XXXXXX"
#define MIB		(1ULL << 20)

static char root[sizeof(DIR_TEMPLATE)];

/* Write size bytes of data at offset in file path (under root), made if need be. */
static void put(const char *path, off_t offset, size_t size)
{
	char full[512], *buf;
	int fd;

	snprintf(full, sizeof(full), "%s/%s", root, path);
	fd = open(full, O_WRONLY | O_CREAT, 0644);
	buf = malloc(size);
	if (fd < 0 || !buf) {
		diag("cannot write %s", full);
		abort();
	}
	memset(buf, 'x', size);
	if (pwrite(fd, buf, size, offset) != (ssize_t) size || fsync(fd)) {
		diag("short write to %s", full);
		abort();
	}
	free(buf);
	close(fd);
}

static void rm(const char *path)
{
	char full[512];

	snprintf(full, sizeof(full), "%s/%s", root, path);
	if (unlink(full)) {
		diag("unlink %s failed", full);
		abort();
	}
}

static void dir(const char *path)
{
	char full[512];

	snprintf(full, sizeof(full), "%s/%s", root, path);
	if (mkdir(full, 0755)) {
		diag("mkdir %s failed", full);
		abort();
	}
}

/* Allocated bytes of path under root, as the quota counts them. */
static uint64_t blocks(const char *path)
{
	char full[512];
	struct stat st;

	snprintf(full, sizeof(full), "%s/%s", root, path);
	return lstat(full, &st) ? 0 : (uint64_t) st.st_blocks * 512;
}

static void test_measure(void)
{
	struct lh_disk_quota q;
	char link_target[512], link_path[512];
	uint64_t want;

	dir("vm1");
	dir("vm1/s1");
	dir("vm1/s1/ust");
	dir("other");
	put("vm1/s1/ust/c_0", 0, MIB);
	put("vm1/s1/metadata", 0, 5000);
	/* 1 MiB written 64 MiB into the file: it takes 1 MiB, not 65. */
	put("vm1/s1/ust/sparse", 64 * MIB, MIB);
	/* Another VM's 8 MiB, and a link to it from vm1: neither counts. */
	put("other/big", 0, 8 * MIB);
	snprintf(link_target, sizeof(link_target), "%s/other", root);
	snprintf(link_path, sizeof(link_path), "%s/vm1/escape", root);
	if (symlink(link_target, link_path)) {
		diag("symlink failed");
		abort();
	}
	want = blocks("vm1/s1/ust/c_0") + blocks("vm1/s1/metadata") + blocks("vm1/s1/ust/sparse");

	lh_disk_quota_init(&q, root, "vm1", 32 * MIB);
	ok(lh_disk_quota_used(&q) == want,
		"the directory's files, nested, by allocated blocks: %llu bytes (want %llu)",
		(unsigned long long) lh_disk_quota_used(&q), (unsigned long long) want);
	ok(want < 4 * MIB, "a sparse file counts what it holds, a link to another VM nothing");

	lh_disk_quota_init(&q, root, "vm2", 32 * MIB);
	ok(lh_disk_quota_used(&q) == 0, "a VM with no directory yet takes nothing");
}

static void test_charge(void)
{
	char err[256];
	struct lh_disk_quota q;
	uint64_t base;

	lh_disk_quota_init(&q, root, "vm1", 8 * MIB);
	base = lh_disk_quota_used(&q);
	ok(lh_disk_quota_charge(&q, MIB, err, sizeof(err)) == 0 &&
		lh_disk_quota_used(&q) == base + MIB, "bytes sent count on top of the measure");
	ok(lh_disk_quota_check_session(&q, err, sizeof(err)) == 0 &&
		lh_disk_quota_used(&q) == base, "a new session measures again: the bytes are on disk now");
	ok(lh_disk_quota_charge(&q, 8 * MIB - base + 1, err, sizeof(err)) == -1 &&
		lh_disk_quota_used(&q) == base, "a charge past the limit is refused, nothing counted");
	ok(strstr(err, "over --max-disk 8388608: its traces take ") != NULL,
		"the refusal names the limit: '%s'", err);
	ok(lh_disk_quota_charge(&q, 8 * MIB - base, err, sizeof(err)) == 0 &&
		lh_disk_quota_used(&q) == 8 * MIB, "what still fits is taken, up to the limit itself");

	/* The VM's sessions were ended: full until it is down to 90%. */
	put("vm1/s1/ust/c_1", 0, 15 * MIB / 2 - (size_t) base);
	ok(lh_disk_quota_check_session(&q, err, sizeof(err)) == -1 &&
		strstr(err, "no new session until it is down to 7549740 (remove traces from ") != NULL,
		"ended at the limit, at 7.5 MiB of 8 it may create no session: '%s'", err);
	rm("vm1/s1/ust/c_1");
	ok(lh_disk_quota_check_session(&q, err, sizeof(err)) == 0,
		"its traces removed, it creates sessions again");
	put("vm1/s1/ust/c_1", 0, 15 * MIB / 2 - (size_t) base);
	ok(lh_disk_quota_check_session(&q, err, sizeof(err)) == 0,
		"no longer full, 7.5 MiB of 8 leave room for a session");
	put("vm1/s1/ust/c_2", 0, MIB);
	ok(lh_disk_quota_check_session(&q, err, sizeof(err)) == -1,
		"at the limit, no new session");
}

static void test_no_dir_no_limit(void)
{
	char err[256];
	struct lh_disk_quota q;

	lh_disk_quota_init(&q, NULL, "vm1", 2 * MIB);
	ok(lh_disk_quota_used(&q) == 0 && lh_disk_quota_charge(&q, MIB, err, sizeof(err)) == 0 &&
		lh_disk_quota_check_session(&q, err, sizeof(err)) == 0 &&
		lh_disk_quota_used(&q) == MIB,
		"without the output (--relayd-url), bytes sent since the start count");
	ok(lh_disk_quota_charge(&q, 2 * MIB, err, sizeof(err)) == -1 &&
		strstr(err, "over --max-disk") != NULL, "and the limit holds");

	lh_disk_quota_init(&q, root, "vm1", 0);
	ok(lh_disk_quota_charge(&q, UINT64_MAX, err, sizeof(err)) == 0 &&
		lh_disk_quota_check_session(&q, err, sizeof(err)) == 0,
		"no limit: everything goes");
}

int main(void)
{
	char cmd[sizeof(root) + 16];

	plan_tests(NUM_TESTS);
	strcpy(root, DIR_TEMPLATE);
	if (!mkdtemp(root)) {
		diag("mkdtemp failed");
		return 1;
	}
	test_measure();
	test_charge();
	test_no_dir_no_limit();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd)) {
		diag("could not remove %s", root);
	}
	return exit_status();
}
