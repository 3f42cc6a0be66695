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

#define NBLOBS	6

struct fixture {
	char		*dir;
	int		 dirfd;
	struct store	*st;
	struct digest	 d[NBLOBS];
	size_t		 size[NBLOBS];
	uint8_t		*data[NBLOBS];
};

static void
setup(struct fixture *f)
{
	int	 i, created;
	size_t	 j;

	memset(f, 0, sizeof(*f));
	f->dir = unit_tmpdir();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(f->dirfd != -1);
	f->st = store_new(f->dirfd, f->dir, &unit_new_dirs);
	CU_ASSERT_FATAL(f->st != NULL);
	for (i = 0; i < NBLOBS; i++) {
		f->size[i] = 1000 * (size_t)(i + 1) + (size_t)i;
		f->data[i] = xmalloc(f->size[i]);
		for (j = 0; j < f->size[i]; j++)
			f->data[i][j] = (uint8_t)(j * 7 + (size_t)i);
		digest_compute(i == NBLOBS - 1 ? DIGEST_SHA512 : DIGEST_SHA256,
		    f->data[i], f->size[i], &f->d[i]);
		CU_ASSERT_FATAL(unit_store_write(f->st, &f->d[i], f->data[i],
		    f->size[i], &created) == 0);
	}
}

static void
teardown(struct fixture *f)
{
	int	 i;

	for (i = 0; i < NBLOBS; i++)
		free(f->data[i]);
	store_free(f->st);
	close(f->dirfd);
	unit_rmtree(f->dir);
	free(f->dir);
}

static int
exists(struct fixture *f, int i)
{
	uint64_t	 size;
	int64_t		 mtime_ms;

	return store_stat_blob(f->st, &f->d[i], &size, &mtime_ms) == 0;
}

/* Sets every blob's mtime to `ago` seconds in the past. */
static void
age_all(struct fixture *f, time_t ago)
{
	struct timespec	 ts[2];
	char		 hex[2 * DIGEST_RAW_MAX + 1], *path;
	int		 i;

	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - ago;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	for (i = 0; i < NBLOBS; i++) {
		digest_hex(&f->d[i], hex);
		xasprintf(&path, "%s/blobs/%s/%.2s/%s", f->dir,
		    digest_algo_name(f->d[i].algo), hex, hex);
		CU_ASSERT(utimensat(AT_FDCWD, path, ts, 0) == 0);
		free(path);
	}
}

/* A sweep list naming the blobs whose bit is set in mask. */
static int
sweep_file(struct fixture *f, unsigned int mask, uint64_t *count)
{
	struct gc_blob	 b;
	int		 fd, i;

	fd = anon_file("test-sweep");
	CU_ASSERT_FATAL(fd != -1);
	*count = 0;
	for (i = 0; i < NBLOBS; i++) {
		if (!(mask & 1u << i))
			continue;
		memset(&b, 0, sizeof(b));
		digest_format(&f->d[i], b.digest);
		b.size = f->size[i];
		CU_ASSERT(write_full(fd, &b, sizeof(b)) == 0);
		(*count)++;
	}
	return fd;
}

static void
test_list(void)
{
	struct fixture	 f;
	struct gc_blob	 b;
	struct digest	 d;
	uint64_t	 count;
	unsigned int	 seen = 0;
	int		 fd, i;
	int64_t		 now = now_ms();

	setup(&f);
	CU_ASSERT_FATAL(gc_list(f.st, &fd, &count) == 0);
	CU_ASSERT_EQUAL(count, NBLOBS);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_CUR), 0);
	while (read_full(fd, &b, sizeof(b)) == sizeof(b)) {
		CU_ASSERT_FATAL(memchr(b.digest, '\0', sizeof(b.digest)) !=
		    NULL);
		CU_ASSERT_FATAL(digest_parse_str(b.digest, &d) == 0);
		for (i = 0; i < NBLOBS; i++)
			if (digest_eq(&d, &f.d[i]))
				break;
		CU_ASSERT_FATAL(i < NBLOBS);
		CU_ASSERT(!(seen & 1u << i));
		seen |= 1u << i;
		CU_ASSERT_EQUAL(b.size, f.size[i]);
		CU_ASSERT(b.mtime_ms <= now + 1000 && b.mtime_ms > now - 60000);
	}
	CU_ASSERT_EQUAL(seen, (1u << NBLOBS) - 1);
	close(fd);
	teardown(&f);
}

static void
test_sweep(void)
{
	struct fixture	 f;
	uint64_t	 count, blobs, bytes, before;
	int		 fd, i;

	setup(&f);
	age_all(&f, 600);
	before = unit_bytes(f.st);
	/* Blobs 0, 2 and 5 (sha512) go. */
	fd = sweep_file(&f, 1u << 0 | 1u << 2 | 1u << 5, &count);
	CU_ASSERT_EQUAL(gc_sweep(f.st, fd, count, now_ms(), 0, &blobs,
	    &bytes), 0);
	close(fd);
	CU_ASSERT_EQUAL(blobs, 3);
	CU_ASSERT_EQUAL(bytes, f.size[0] + f.size[2] + f.size[5]);
	for (i = 0; i < NBLOBS; i++)
		CU_ASSERT_EQUAL(exists(&f, i), i != 0 && i != 2 && i != 5);
	CU_ASSERT_EQUAL(unit_blobs(f.st), NBLOBS - 3);
	CU_ASSERT_EQUAL(unit_bytes(f.st), before - bytes);

	/* Gone already: not counted again. */
	fd = sweep_file(&f, 1u << 0 | 1u << 1, &count);
	CU_ASSERT_EQUAL(gc_sweep(f.st, fd, count, now_ms(), 0, &blobs,
	    &bytes), 0);
	close(fd);
	CU_ASSERT_EQUAL(blobs, 1);
	CU_ASSERT_EQUAL(bytes, f.size[1]);
	teardown(&f);
}

static void
test_stored_again(void)
{
	struct fixture	 f;
	uint64_t	 count, blobs, bytes;
	int64_t		 not_after;
	int		 fd, created;

	setup(&f);
	age_all(&f, 600);
	/* The listing is taken; then a push stores blob 3 again. */
	not_after = now_ms() - 300 * 1000;
	CU_ASSERT_EQUAL(unit_store_write(f.st, &f.d[3], f.data[3], f.size[3],
	    &created), 0);
	CU_ASSERT_EQUAL(created, 0);
	fd = sweep_file(&f, (1u << NBLOBS) - 1, &count);
	CU_ASSERT_EQUAL(gc_sweep(f.st, fd, count, not_after, 0, &blobs,
	    &bytes), 0);
	close(fd);
	CU_ASSERT_EQUAL(blobs, NBLOBS - 1);
	CU_ASSERT(exists(&f, 3));
	CU_ASSERT(!exists(&f, 0));
	CU_ASSERT_EQUAL(unit_blobs(f.st), 1);
	CU_ASSERT_EQUAL(unit_bytes(f.st), f.size[3]);
	teardown(&f);
}

static void
test_dry_run(void)
{
	struct fixture	 f;
	struct gc_blob	 b;
	uint64_t	 count, blobs, bytes, dblobs, dbytes;
	unsigned int	 mask = 1u << 1 | 1u << 4 | 1u << 5;
	int		 fd, i;

	setup(&f);
	age_all(&f, 600);
	fd = sweep_file(&f, mask, &count);
	/* A record twice: a real sweep finds it gone the second time. */
	memset(&b, 0, sizeof(b));
	digest_format(&f.d[1], b.digest);
	CU_ASSERT(write_full(fd, &b, sizeof(b)) == 0);
	count++;
	CU_ASSERT_EQUAL(gc_sweep(f.st, fd, count, now_ms(), 1, &dblobs,
	    &dbytes), 0);
	for (i = 0; i < NBLOBS; i++)
		CU_ASSERT(exists(&f, i));
	CU_ASSERT_EQUAL(unit_blobs(f.st), NBLOBS);
	CU_ASSERT_EQUAL(gc_sweep(f.st, fd, count, now_ms(), 0, &blobs,
	    &bytes), 0);
	close(fd);
	CU_ASSERT_EQUAL(dblobs, 3);
	CU_ASSERT_EQUAL(blobs, dblobs);
	CU_ASSERT_EQUAL(bytes, dbytes);
	CU_ASSERT_EQUAL(bytes, f.size[1] + f.size[4] + f.size[5]);
	teardown(&f);
}

static void
test_uploads_untouched(void)
{
	struct fixture		 f;
	struct upload_table	*t;
	struct upload		*u;
	uint64_t		 count, blobs, bytes;
	char			*path;
	int			 fd;

	setup(&f);
	t = upload_table_new(f.st, f.dirfd, NULL, 3600, &unit_new_dirs);
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_FATAL(upload_create(t, "o/r/n", 0, &u) == 0);
	CU_ASSERT_FATAL(upload_append_begin(u, 0) == 0);
	CU_ASSERT(upload_append_write(u, f.data[0], f.size[0]) == 0);
	/* In flight: the append has not ended. */
	age_all(&f, 600);
	CU_ASSERT_FATAL(gc_list(f.st, &fd, &count) == 0);
	close(fd);
	CU_ASSERT_EQUAL(count, NBLOBS);
	fd = sweep_file(&f, (1u << NBLOBS) - 1, &count);
	CU_ASSERT_EQUAL(gc_sweep(f.st, fd, count, now_ms(), 0, &blobs,
	    &bytes), 0);
	close(fd);
	CU_ASSERT_EQUAL(blobs, NBLOBS);
	CU_ASSERT_EQUAL(u->size, f.size[0]);
	xasprintf(&path, "%s/uploads/%s/data", f.dir, u->name);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	CU_ASSERT(upload_append_write(u, f.data[0], 10) == 0);
	upload_append_end(u);
	CU_ASSERT_EQUAL(u->size, f.size[0] + 10);
	free(path);
	upload_table_free(t);
	teardown(&f);
}

static void
test_malformed(void)
{
	struct fixture	 f;
	struct gc_blob	 b;
	uint64_t	 count, blobs, bytes;
	int		 fd, i;

	setup(&f);
	age_all(&f, 600);
	fd = sweep_file(&f, 1u << 0 | 1u << 1, &count);
	CU_ASSERT_EQUAL(gc_sweep(f.st, fd, count + 1, now_ms(), 0, &blobs,
	    &bytes), BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(gc_sweep(f.st, fd, count - 1, now_ms(), 0, &blobs,
	    &bytes), BERR_BAD_REQUEST);
	/* A bad record after a good one: nothing at all is deleted. */
	memset(&b, 'x', sizeof(b));
	CU_ASSERT(write_full(fd, &b, sizeof(b)) == 0);
	CU_ASSERT_EQUAL(gc_sweep(f.st, fd, count + 1, now_ms(), 0, &blobs,
	    &bytes), BERR_BAD_REQUEST);
	memset(&b, 0, sizeof(b));
	strcpy(b.digest, "sha256:abc");
	CU_ASSERT(pwrite(fd, &b, sizeof(b), 2 * sizeof(b)) == sizeof(b));
	CU_ASSERT_EQUAL(gc_sweep(f.st, fd, count + 1, now_ms(), 0, &blobs,
	    &bytes), BERR_BAD_REQUEST);
	close(fd);
	for (i = 0; i < NBLOBS; i++)
		CU_ASSERT(exists(&f, i));
	teardown(&f);
}

int
test_gc_register(void)
{
	static const struct {
		const char	*name;
		void		(*fn)(void);
	} tests[] = {
		{ "list", test_list },
		{ "sweep", test_sweep },
		{ "blob stored again survives", test_stored_again },
		{ "dry run", test_dry_run },
		{ "uploads untouched", test_uploads_untouched },
		{ "malformed sweep list", test_malformed },
	};
	CU_pSuite	 s;
	size_t		 i;

	if ((s = CU_add_suite("gc", NULL, NULL)) == NULL)
		return -1;
	for (i = 0; i < nitems(tests); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}
