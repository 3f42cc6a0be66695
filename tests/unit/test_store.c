/*
 * Copyright (c) 2026 The berth authors
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHORS DISCLAIM ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHORS BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../blobd/blobd.h"
#include "digest.h"
#include "error.h"
#include "util.h"
#include "unit.h"

struct fixture {
	char		*dir;
	int		 dirfd;
	struct store	*st;
};

static void
setup(struct fixture *f)
{
	f->dir = unit_tmpdir();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(f->dirfd != -1);
	f->st = store_new(f->dirfd, f->dir, &unit_new_dirs);
	CU_ASSERT_FATAL(f->st != NULL);
}

static void
teardown(struct fixture *f)
{
	store_free(f->st);
	close(f->dirfd);
	unit_rmtree(f->dir);
	free(f->dir);
}

static char *
blob_path(const char *dir, const struct digest *d)
{
	char	 hex[2 * DIGEST_RAW_MAX + 1], *path;

	digest_hex(d, hex);
	xasprintf(&path, "%s/blobs/%s/%.2s/%s", dir, digest_algo_name(d->algo),
	    hex, hex);
	return path;
}

static int
dir_entries(const char *path)
{
	char	*cmd;
	FILE	*p;
	int	 n = -1;

	xasprintf(&cmd, "ls -A '%s' | wc -l", path);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	free(cmd);
	return n;
}

static void
commit_algo(enum digest_algo algo)
{
	struct fixture	 f;
	struct digest	 d;
	struct stat	 sb;
	uint8_t		*data = unit_pattern(5000, algo);
	char		*path, *tmp;
	int		 created = -1;

	setup(&f);
	digest_compute(algo, data, 5000, &d);
	CU_ASSERT_EQUAL(unit_store_write(f.st, &d, data, 5000, &created), 0);
	CU_ASSERT_EQUAL(created, 1);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 1);
	CU_ASSERT_EQUAL(unit_bytes(f.st), 5000);
	path = blob_path(f.dir, &d);
	CU_ASSERT_EQUAL(stat(path, &sb), 0);
	CU_ASSERT_EQUAL(sb.st_size, 5000);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0640);
	xasprintf(&tmp, "%s/tmp", f.dir);
	CU_ASSERT_EQUAL(dir_entries(tmp), 0);
	free(tmp);
	free(path);
	free(data);
	teardown(&f);
}

static void
test_commit_sha256(void)
{
	commit_algo(DIGEST_SHA256);
}

static void
test_commit_sha512(void)
{
	commit_algo(DIGEST_SHA512);
}

static void
test_exists(void)
{
	struct fixture	 f;
	struct digest	 d;
	struct timespec	 old[2];
	struct stat	 sb;
	uint8_t		*data = unit_pattern(100, 7);
	char		*path, *tmp;
	int		 created, fd;

	setup(&f);
	digest_compute(DIGEST_SHA256, data, 100, &d);
	CU_ASSERT_EQUAL(unit_store_write(f.st, &d, data, 100, &created), 0);
	path = blob_path(f.dir, &d);
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 3600;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, old, 0), 0);

	CU_ASSERT_EQUAL(unit_store_write(f.st, &d, data, 100, &created), 0);
	CU_ASSERT_EQUAL(created, 0);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 1);
	CU_ASSERT_EQUAL(unit_bytes(f.st), 100);
	CU_ASSERT_EQUAL(stat(path, &sb), 0);
	CU_ASSERT(sb.st_mtime >= time(NULL) - 5);

	/* The same through store_commit: the temporary file goes away. */
	CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, old, 0), 0);
	xasprintf(&tmp, "%s/tmp/copy", f.dir);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL, 0640);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_EQUAL(write_full(fd, data, 100), 0);
	CU_ASSERT_EQUAL(unit_store_commit(f.st, fd, f.st->tmp_fd, "copy", &d,
	    100, &created), 0);
	close(fd);
	CU_ASSERT_EQUAL(created, 0);
	CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
	CU_ASSERT_EQUAL(stat(path, &sb), 0);
	CU_ASSERT(sb.st_mtime >= time(NULL) - 5);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 1);
	free(tmp);
	free(path);
	free(data);
	teardown(&f);
}

static void
test_open_read_back(void)
{
	struct fixture	 f;
	struct digest	 d;
	uint8_t		*data = unit_pattern(BLOB_WRITE_MAX, 3), *back;
	uint64_t	 size, off;
	int		 created, fd, flags;

	setup(&f);
	digest_compute(DIGEST_SHA512, data, BLOB_WRITE_MAX, &d);
	CU_ASSERT_EQUAL(unit_store_write(f.st, &d, data, BLOB_WRITE_MAX,
	    &created), 0);
	CU_ASSERT_EQUAL(store_open_blob(f.st, &d, &fd, &off, &size), 0);
	CU_ASSERT_EQUAL(size, BLOB_WRITE_MAX);
	flags = fcntl(fd, F_GETFL);
	CU_ASSERT_EQUAL(flags & O_ACCMODE, O_RDONLY);
	CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	back = xmalloc(BLOB_WRITE_MAX + 1);
	CU_ASSERT_EQUAL(read_full(fd, back, BLOB_WRITE_MAX + 1),
	    BLOB_WRITE_MAX);
	CU_ASSERT(memcmp(back, data, BLOB_WRITE_MAX) == 0);
	close(fd);
	free(back);
	free(data);
	teardown(&f);
}

static void
test_mismatch(void)
{
	struct fixture	 f;
	struct digest	 d;
	uint8_t		*data = unit_pattern(300, 1);
	char		*tmp;
	int		 created = -1;

	setup(&f);
	digest_compute(DIGEST_SHA256, data, 300, &d);
	data[299] ^= 1;
	CU_ASSERT_EQUAL(unit_store_write(f.st, &d, data, 300, &created),
	    BERR_DIGEST_INVALID);
	CU_ASSERT_EQUAL(created, 0);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 0);
	/* A sha256 digest over sha512 content does not match either. */
	digest_compute(DIGEST_SHA512, data, 300, &d);
	d.algo = DIGEST_SHA256;
	CU_ASSERT_EQUAL(unit_store_write(f.st, &d, data, 300, &created),
	    BERR_DIGEST_INVALID);
	xasprintf(&tmp, "%s/tmp", f.dir);
	CU_ASSERT_EQUAL(dir_entries(tmp), 0);
	free(tmp);
	free(data);
	teardown(&f);
}

static void
test_unknown(void)
{
	struct fixture	 f;
	struct digest	 d;
	uint64_t	 size, off;
	int64_t		 mtime_ms;
	int		 fd = -1;

	setup(&f);
	digest_compute(DIGEST_SHA256, "nothing", 7, &d);
	CU_ASSERT_EQUAL(store_open_blob(f.st, &d, &fd, &off, &size),
	    BERR_BLOB_UNKNOWN);
	CU_ASSERT_EQUAL(fd, -1);
	CU_ASSERT_EQUAL(store_stat_blob(f.st, &d, &size, &mtime_ms),
	    BERR_BLOB_UNKNOWN);
	teardown(&f);
}

static void
test_reopen_counts(void)
{
	struct fixture	 f;
	struct digest	 d;
	uint8_t		*data;
	char		*stray;
	int		 created, i, fd;

	setup(&f);
	for (i = 0; i < 10; i++) {
		data = unit_pattern(1000 + i, i);
		digest_compute(i % 2 ? DIGEST_SHA512 : DIGEST_SHA256, data,
		    1000 + i, &d);
		CU_ASSERT_EQUAL(unit_store_write(f.st, &d, data, 1000 + i,
		    &created), 0);
		free(data);
	}
	xasprintf(&stray, "%s/tmp/blob.99", f.dir);
	fd = open(stray, O_WRONLY | O_CREAT, 0640);
	CU_ASSERT(fd != -1);
	close(fd);
	store_free(f.st);
	f.st = store_new(f.dirfd, f.dir, &unit_new_dirs);
	CU_ASSERT_FATAL(f.st != NULL);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 10);
	CU_ASSERT_EQUAL(unit_bytes(f.st), 10 * 1000 + 45);
	CU_ASSERT_EQUAL(access(stray, F_OK), -1);
	CU_ASSERT_EQUAL(store_probe(f.st), 1);
	free(stray);
	teardown(&f);
}

int
test_store_register(void)
{
	static const struct {
		const char	*name;
		void		(*fn)(void);
	} tests[] = {
		{ "commit sha256", test_commit_sha256 },
		{ "commit sha512", test_commit_sha512 },
		{ "already stored", test_exists },
		{ "open and read back", test_open_read_back },
		{ "digest mismatch", test_mismatch },
		{ "unknown digest", test_unknown },
		{ "reopen counts blobs, empties tmp", test_reopen_counts },
	};
	CU_pSuite	 s;
	size_t		 i;

	if ((s = CU_add_suite("store", NULL, NULL)) == NULL)
		return -1;
	for (i = 0; i < nitems(tests); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}
