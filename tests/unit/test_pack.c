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

/*
 * blobd/pack.c with the store and the metadata log on a real directory:
 * small blobs written into the log, read back from their offsets, found
 * again after a restart and after the log closed into segments, removed
 * by a GC sweep for good (their bytes a hole), a torn blob entry dropped
 * with the log's tail, a log of version 1 taking blobs, a blob found twice
 * kept once, and small upload sessions committed into the pack.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "../../blobd/blobd.h"
#include "digest.h"
#include "error.h"
#include "util.h"
#include "unit.h"

#define PACK_MAX	(64 * 1024)

struct fixture {
	char			*dir;
	int			 dirfd;
	struct store		*st;
	struct metalog		*ml;
};

static void
engine_open(struct fixture *f)
{
	f->st = store_new(f->dirfd, f->dir, &unit_new_dirs);
	CU_ASSERT_FATAL(f->st != NULL);
	f->ml = metalog_new(f->dirfd, &unit_new_dirs, store_found_cb,
	    store_cut_cb, f->st);
	CU_ASSERT_FATAL(f->ml != NULL);
	CU_ASSERT_FATAL(store_attach(f->st, f->ml, PACK_MAX) == 0);
}

static void
engine_close(struct fixture *f)
{
	metalog_free(f->ml);
	store_free(f->st);
	f->ml = NULL;
	f->st = NULL;
}

static void
setup(struct fixture *f)
{
	f->dir = unit_tmpdir();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(f->dirfd != -1);
	engine_open(f);
}

static void
teardown(struct fixture *f)
{
	engine_close(f);
	close(f->dirfd);
	unit_rmtree(f->dir);
	free(f->dir);
}

static void
reopen(struct fixture *f)
{
	engine_close(f);
	engine_open(f);
}

/* Stores blob number i (of size n); its digest in *d. */
static int
put(struct fixture *f, unsigned int i, size_t n, struct digest *d)
{
	uint8_t	*data = unit_pattern(n, i);
	int	 created, rc;

	digest_compute(DIGEST_SHA256, data, n, d);
	rc = unit_store_write(f->st, d, data, n, &created);
	free(data);
	return rc == 0 ? created : rc;
}

/* 1 if blob i reads back whole from its file and offset. */
static int
reads_back(struct fixture *f, unsigned int i, size_t n,
    const struct digest *d)
{
	uint8_t	*want = unit_pattern(n, i), *got = xmalloc(n + 1);
	uint64_t size, off;
	int	 fd, ok;

	if (store_open_blob(f->st, d, &fd, &off, &size) != 0) {
		free(want);
		free(got);
		return 0;
	}
	ok = size == n && pread_full(fd, got, n, (off_t)off) == (ssize_t)n &&
	    memcmp(got, want, n) == 0 &&
	    (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY;
	close(fd);
	free(want);
	free(got);
	return ok;
}

static char *
meta_path(struct fixture *f, const char *name)
{
	char	*p;

	xasprintf(&p, "%s/meta/%s", f->dir, name);
	return p;
}

static int
exists(struct fixture *f, const char *name)
{
	char	*p = meta_path(f, name);
	int	 ok = access(p, F_OK) == 0;

	free(p);
	return ok;
}

/* A GC sweep of the given blobs, as blobd runs one; blobs removed. */
static uint64_t
sweep(struct fixture *f, const struct digest *d, size_t n)
{
	struct gc_blob	*recs = xcalloc(n, sizeof(*recs));
	uint64_t	 blobs, bytes;
	size_t		 i;
	int		 fd;

	for (i = 0; i < n; i++)
		digest_format(&d[i], recs[i].digest);
	fd = anon_file("berth-unit");
	CU_ASSERT_FATAL(fd != -1 && write_full(fd, recs, n * sizeof(*recs)) ==
	    0);
	CU_ASSERT_EQUAL(gc_sweep(f->st, fd, n, now_ms() + 1000, 0, &blobs,
	    &bytes), 0);
	close(fd);
	free(recs);
	return blobs;
}

static void
test_put_read_reopen(void)
{
	struct fixture	 f;
	struct digest	 d[3], big;
	uint64_t	 size;
	int64_t		 mtime_ms;
	char		*hex, *path;

	setup(&f);
	CU_ASSERT_EQUAL(put(&f, 0, 4096, &d[0]), 1);
	CU_ASSERT_EQUAL(put(&f, 1, 1, &d[1]), 1);
	CU_ASSERT_EQUAL(put(&f, 2, PACK_MAX, &d[2]), 1);
	/* One byte more: a file of its own. */
	CU_ASSERT_EQUAL(put(&f, 3, PACK_MAX + 1, &big), 1);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 4);
	CU_ASSERT_EQUAL(unit_bytes(f.st), 4096 + 1 + PACK_MAX + PACK_MAX + 1);
	CU_ASSERT(reads_back(&f, 0, 4096, &d[0]));
	CU_ASSERT(reads_back(&f, 1, 1, &d[1]));
	CU_ASSERT(reads_back(&f, 2, PACK_MAX, &d[2]));
	CU_ASSERT(reads_back(&f, 3, PACK_MAX + 1, &big));
	/* Packed: no file under blobs/. */
	hex = xmalloc(2 * DIGEST_RAW_MAX + 1);
	digest_hex(&d[0], hex);
	xasprintf(&path, "%s/blobs/sha256/%.2s/%s", f.dir, hex, hex);
	CU_ASSERT_EQUAL(access(path, F_OK), -1);
	free(path);
	free(hex);
	/* Stored again: nothing new, the time stored moves. */
	CU_ASSERT_EQUAL(store_stat_blob(f.st, &d[0], &size, &mtime_ms), 0);
	CU_ASSERT_EQUAL(size, 4096);
	CU_ASSERT_EQUAL(put(&f, 0, 4096, &d[0]), 0);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 4);

	reopen(&f);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 4);
	CU_ASSERT_EQUAL(pack_count(f.st->pack), 3);
	CU_ASSERT(reads_back(&f, 0, 4096, &d[0]));
	CU_ASSERT(reads_back(&f, 1, 1, &d[1]));
	CU_ASSERT(reads_back(&f, 2, PACK_MAX, &d[2]));
	CU_ASSERT(reads_back(&f, 3, PACK_MAX + 1, &big));
	teardown(&f);
}

/* berthd's entries and blobs in one log: each load gives berthd its
 * entries only, and the blobs stay readable. */
static void
test_meta_and_blobs(void)
{
	struct fixture	 f;
	struct digest	 d;
	uint64_t	 seq, len, entries;
	int		 fd;

	setup(&f);
	CU_ASSERT_EQUAL(metalog_append(f.ml, "one", 3, &seq), 0);
	CU_ASSERT_EQUAL(seq, 1);
	CU_ASSERT_EQUAL(put(&f, 0, 5000, &d), 1);
	CU_ASSERT_EQUAL(metalog_append(f.ml, "two", 3, &seq), 0);
	CU_ASSERT_EQUAL(seq, 2);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	reopen(&f);
	CU_ASSERT_EQUAL(f.ml->next_seq, 3);
	CU_ASSERT_EQUAL(metalog_load(f.ml, &fd, &len, &entries), 0);
	CU_ASSERT_EQUAL(entries, 2);
	CU_ASSERT_EQUAL(len, 2 * (4 + 3));
	close(fd);
	CU_ASSERT(reads_back(&f, 0, 5000, &d));
	teardown(&f);
}

/* A compaction closes the log into a segment, which stays for its blob
 * and goes once the blob does. */
static void
test_segments(void)
{
	struct fixture	 f;
	struct digest	 d[2];
	uint64_t	 seq, len, entries;
	int		 fd;

	setup(&f);
	CU_ASSERT_EQUAL(metalog_append(f.ml, "e", 1, &seq), 0);
	CU_ASSERT_EQUAL(put(&f, 0, 3000, &d[0]), 1);
	fd = anon_file("berth-unit");
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, 0, 0), 0);
	close(fd);
	CU_ASSERT(exists(&f, "log.1"));
	CU_ASSERT_EQUAL(f.ml->nsegs, 1);
	CU_ASSERT(reads_back(&f, 0, 3000, &d[0]));
	/* The log closes too when it outgrows its limit. */
	f.ml->seg_max = 1;
	CU_ASSERT_EQUAL(put(&f, 1, 2000, &d[1]), 1);
	CU_ASSERT_EQUAL(metalog_append(f.ml, "f", 1, &seq), 0);
	CU_ASSERT_EQUAL(seq, 2);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	CU_ASSERT_EQUAL(metalog_maintain(f.ml), 0);
	CU_ASSERT(exists(&f, "log.2"));
	CU_ASSERT(reads_back(&f, 1, 2000, &d[1]));

	reopen(&f);
	CU_ASSERT_EQUAL(f.ml->nsegs, 2);
	CU_ASSERT_EQUAL(f.ml->next_seq, 3);
	CU_ASSERT(reads_back(&f, 0, 3000, &d[0]));
	CU_ASSERT(reads_back(&f, 1, 2000, &d[1]));
	/* "f" is newer than the snapshot: it comes from segment 2. */
	CU_ASSERT_EQUAL(metalog_load(f.ml, &fd, &len, &entries), 0);
	CU_ASSERT_EQUAL(entries, 1);
	close(fd);

	/* Segment 1 holds nothing berthd needs: it goes with its blob. */
	CU_ASSERT_EQUAL(sweep(&f, &d[0], 1), 1);
	CU_ASSERT(!exists(&f, "log.1"));
	CU_ASSERT(exists(&f, "log.2"));
	CU_ASSERT_EQUAL(unit_blobs(f.st), 1);
	reopen(&f);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 1);
	CU_ASSERT(!reads_back(&f, 0, 3000, &d[0]));
	CU_ASSERT(reads_back(&f, 1, 2000, &d[1]));
	/* Segment 2 still holds "f", newer than the snapshot. */
	CU_ASSERT_EQUAL(sweep(&f, &d[1], 1), 1);
	CU_ASSERT(exists(&f, "log.2"));
	reopen(&f);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 0);
	CU_ASSERT_EQUAL(metalog_load(f.ml, &fd, &len, &entries), 0);
	CU_ASSERT_EQUAL(entries, 1);
	close(fd);
	teardown(&f);
}

/* Removed for good: a restart does not bring a swept blob back. */
static void
test_sweep_durable(void)
{
	struct fixture	 f;
	struct digest	 d[3];
	unsigned int	 i;

	setup(&f);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(put(&f, i, 1000 + i, &d[i]), 1);
	CU_ASSERT_EQUAL(sweep(&f, &d[1], 1), 1);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 2);
	CU_ASSERT(!reads_back(&f, 1, 1001, &d[1]));
	reopen(&f);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 2);
	CU_ASSERT(reads_back(&f, 0, 1000, &d[0]));
	CU_ASSERT(!reads_back(&f, 1, 1001, &d[1]));
	CU_ASSERT(reads_back(&f, 2, 1002, &d[2]));
	/* Stored again after its removal: back, and for good. */
	CU_ASSERT_EQUAL(put(&f, 1, 1001, &d[1]), 1);
	reopen(&f);
	CU_ASSERT(reads_back(&f, 1, 1001, &d[1]));
	CU_ASSERT_EQUAL(unit_blobs(f.st), 3);
	teardown(&f);
}

/* The blocks meta/log takes on the disk. */
static uint64_t
log_blocks(struct fixture *f)
{
	struct stat	 sb;
	char		*p = meta_path(f, "log");

	CU_ASSERT_FATAL(stat(p, &sb) == 0);
	free(p);
	return (uint64_t)sb.st_blocks;
}

/* 1 if the file system of the fixture punches holes. */
static int
punches(struct fixture *f)
{
	char	*p = meta_path(f, "probe");
	int	 fd, ok;

	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd != -1);
	ok = posix_fallocate(fd, 0, 65536) == 0 &&
	    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
	    65536) == 0;
	close(fd);
	unlink(p);
	free(p);
	return ok;
}

/*
 * A swept blob's bytes go back to the disk at once (a hole in the log),
 * and the log, whose dead entries no longer match their CRC, is read
 * whole again: dead blobs big and small, live ones around them.
 */
static void
test_sweep_punches(void)
{
	struct fixture	 f;
	struct digest	 d[4];
	static const size_t sizes[] = { 60000, 10, 60000, 10 };
	uint64_t	 before;
	unsigned int	 i;

	setup(&f);
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(put(&f, i, sizes[i], &d[i]), 1);
	CU_ASSERT_EQUAL(store_sync_pack(f.st), 0);
	before = log_blocks(&f);
	CU_ASSERT_EQUAL(sweep(&f, &d[0], 2), 2);
	if (punches(&f))
		CU_ASSERT(log_blocks(&f) * 512 + 50000 <= before * 512);
	reopen(&f);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 2);
	CU_ASSERT(!reads_back(&f, 0, sizes[0], &d[0]));
	CU_ASSERT(!reads_back(&f, 1, sizes[1], &d[1]));
	CU_ASSERT(reads_back(&f, 2, sizes[2], &d[2]));
	CU_ASSERT(reads_back(&f, 3, sizes[3], &d[3]));
	/* What follows the holes is appended to, not cut as torn. */
	CU_ASSERT_EQUAL(put(&f, 0, sizes[0], &d[0]), 1);
	reopen(&f);
	CU_ASSERT(reads_back(&f, 0, sizes[0], &d[0]));
	CU_ASSERT_EQUAL(unit_blobs(f.st), 3);
	teardown(&f);
}

/*
 * A pull that opened a packed blob before a sweep removed it reads its
 * bytes: blobd's sweep (punch_later) leaves the hole for
 * PACK_PUNCH_DELAY_MS after the mark is synced, as an unlinked file keeps
 * an open reader's bytes; a punch that early would give it zeros.
 */
static void
test_sweep_keeps_readers_bytes(void)
{
	struct fixture	 f;
	struct gc_sweep	*s;
	struct gc_blob	 rec;
	struct digest	 d;
	uint8_t		*want = unit_pattern(60000, 0), *got = xmalloc(60000);
	uint64_t	 off, size, blobs, bytes;
	int64_t		 due;
	int		 fd, lfd;

	setup(&f);
	CU_ASSERT_EQUAL(put(&f, 0, 60000, &d), 1);
	CU_ASSERT_EQUAL(store_sync_pack(f.st), 0);
	CU_ASSERT_FATAL(store_open_blob(f.st, &d, &fd, &off, &size) == 0);
	memset(&rec, 0, sizeof(rec));
	digest_format(&d, rec.digest);
	lfd = anon_file("berth-unit");
	CU_ASSERT_FATAL(lfd != -1 && write_full(lfd, &rec, sizeof(rec)) == 0);
	CU_ASSERT_FATAL(gc_sweep_new(f.st, lfd, 1, now_ms() + 1000, 0, &s) ==
	    0);
	gc_sweep_punch_later(s);
	while (gc_sweep_step(s, INT64_MAX))
		;
	CU_ASSERT_EQUAL(gc_sweep_finish(s, &blobs, &bytes), 0);
	CU_ASSERT_EQUAL(blobs, 1);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 0);
	due = pack_punch_due(f.st->pack);
	CU_ASSERT(due >= mono_ms() + PACK_PUNCH_DELAY_MS - 60000);
	/* Not due yet: nothing punched. */
	CU_ASSERT_EQUAL(pack_punch(f.st->pack, f.ml, mono_ms() -
	    PACK_PUNCH_DELAY_MS, INT64_MAX), 0);
	CU_ASSERT(pread_full(fd, got, 60000, (off_t)off) == 60000 &&
	    memcmp(got, want, 60000) == 0);
	/* Due (the delay passed): the hole, and the reader would see it. */
	CU_ASSERT_EQUAL(pack_punch(f.st->pack, f.ml, due -
	    PACK_PUNCH_DELAY_MS, INT64_MAX), 0);
	CU_ASSERT_EQUAL(pack_punch_due(f.st->pack), -1);
	if (punches(&f)) {
		memset(want, 0, 60000);
		CU_ASSERT(pread_full(fd, got, 60000, (off_t)off) == 60000 &&
		    memcmp(got, want, 60000) == 0);
	}
	close(fd);
	free(want);
	free(got);
	teardown(&f);
}

/*
 * GC in steps, as blobd's loop runs it: the listing a part at a time finds
 * every blob, and a blob stored again between two steps of a sweep stays.
 */
static void
test_gc_steps(void)
{
	struct fixture	 f;
	struct digest	 d[200];
	struct gc_blob	*recs = xcalloc(200, sizeof(*recs));
	struct gc_lister *l;
	struct gc_sweep	*s;
	uint64_t	 count, blobs, bytes;
	int64_t		 not_after;
	unsigned int	 i, steps = 0;
	int		 fd, rc;

	setup(&f);
	for (i = 0; i < 200; i++)
		CU_ASSERT_EQUAL(put(&f, i, 100 + i, &d[i]), 1);
	CU_ASSERT_FATAL(gc_list_new(f.st, &l) == 0);
	while (gc_list_step(l, 0, &rc))
		steps++;
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(steps >= STORE_WALK_PARTS - 1);
	CU_ASSERT_FATAL(gc_list_finish(l, rc, &fd, &count) == 0);
	CU_ASSERT_EQUAL(count, 200);
	close(fd);

	usleep(2000);
	not_after = now_ms();
	for (i = 0; i < 200; i++)
		digest_format(&d[i], recs[i].digest);
	fd = anon_file("berth-unit");
	CU_ASSERT_FATAL(fd != -1 && write_full(fd, recs, 200 *
	    sizeof(*recs)) == 0);
	CU_ASSERT_FATAL(gc_sweep_new(f.st, fd, 200, not_after, 0, &s) == 0);
	for (steps = 0; gc_sweep_step(s, 0); steps++)
		if (steps == 0) {
			usleep(2000);
			CU_ASSERT_EQUAL(put(&f, 199, 299, &d[199]), 0);
		}
	CU_ASSERT(steps > 3);
	CU_ASSERT_EQUAL(gc_sweep_finish(s, &blobs, &bytes), 0);
	CU_ASSERT_EQUAL(blobs, 199);
	CU_ASSERT(!reads_back(&f, 0, 100, &d[0]));
	CU_ASSERT(reads_back(&f, 199, 299, &d[199]));
	reopen(&f);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 1);
	CU_ASSERT(reads_back(&f, 199, 299, &d[199]));
	free(recs);
	teardown(&f);
}

/* A crash in the middle of a blob entry: that blob, not the others. */
static void
test_torn_blob(void)
{
	struct fixture	 f;
	struct digest	 d[2];
	struct stat	 sb;
	char		*log;

	setup(&f);
	CU_ASSERT_EQUAL(put(&f, 0, 3000, &d[0]), 1);
	CU_ASSERT_EQUAL(put(&f, 1, 3000, &d[1]), 1);
	engine_close(&f);
	log = meta_path(&f, "log");
	CU_ASSERT_EQUAL_FATAL(stat(log, &sb), 0);
	CU_ASSERT_EQUAL(truncate(log, sb.st_size - 100), 0);
	engine_open(&f);
	CU_ASSERT(reads_back(&f, 0, 3000, &d[0]));
	CU_ASSERT(!reads_back(&f, 1, 3000, &d[1]));
	CU_ASSERT_EQUAL(unit_blobs(f.st), 1);
	/* The log goes on after the cut. */
	CU_ASSERT_EQUAL(put(&f, 1, 3000, &d[1]), 1);
	reopen(&f);
	CU_ASSERT(reads_back(&f, 1, 3000, &d[1]));
	free(log);
	teardown(&f);
}

/* A log written before blobs were packed says version 1. */
static void
test_version_1(void)
{
	struct fixture	 f;
	struct digest	 d;
	uint64_t	 seq;
	uint8_t		 v[4];
	char		*log;
	int		 fd;

	setup(&f);
	CU_ASSERT_EQUAL(metalog_append(f.ml, "old", 3, &seq), 0);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	engine_close(&f);
	log = meta_path(&f, "log");
	fd = open(log, O_RDWR);
	CU_ASSERT_FATAL(fd != -1);
	le32enc(v, 1);
	CU_ASSERT_EQUAL(pwrite_full(fd, v, 4, 8), 0);
	engine_open(&f);
	CU_ASSERT_EQUAL(f.ml->version, 1);
	CU_ASSERT_EQUAL(put(&f, 0, 100, &d), 1);
	CU_ASSERT_EQUAL(pread_full(fd, v, 4, 8), 4);
	CU_ASSERT_EQUAL(le32dec(v), 2);
	close(fd);
	reopen(&f);
	CU_ASSERT(reads_back(&f, 0, 100, &d));
	CU_ASSERT_EQUAL(f.ml->next_seq, 2);
	free(log);
	teardown(&f);
}

/* The log holds a blob twice (a crash between a copy and its cleanup):
 * one is kept, counted once, the other marked dead. */
static void
test_twice(void)
{
	struct fixture	 f;
	struct digest	 d;
	uint8_t		*data = unit_pattern(700, 5);
	uint64_t	 file, off;

	setup(&f);
	CU_ASSERT_EQUAL(put(&f, 5, 700, &d), 1);
	CU_ASSERT_EQUAL(metalog_append_blob(f.ml, &d, now_ms(), data, 700,
	    &file, &off), 0);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	reopen(&f);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 1);
	CU_ASSERT_EQUAL(f.ml->log_blobs, 1);
	CU_ASSERT(reads_back(&f, 5, 700, &d));
	reopen(&f);
	CU_ASSERT_EQUAL(f.ml->log_blobs, 1);
	CU_ASSERT_EQUAL(sweep(&f, &d, 1), 1);
	reopen(&f);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 0);
	free(data);
	teardown(&f);
}

/* A small session's commit puts its bytes in the pack. */
static void
test_upload_packed(void)
{
	struct fixture		 f;
	struct event_base	*base;
	struct upload_table	*t;
	struct upload		*u;
	struct digest		 d;
	uint8_t			*data = unit_pattern(9000, 9);
	int			 created;

	setup(&f);
	base = event_base_new();
	t = upload_table_new(f.st, f.dirfd, base, 3600, &unit_new_dirs);
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT_FATAL(upload_create(t, "123456789012/r/x", 0, &u) == 0);
	CU_ASSERT_FATAL(upload_append_begin(u, 0) == 0);
	CU_ASSERT_EQUAL(upload_append_write(u, data, 9000), 0);
	upload_append_end(u);
	digest_compute(DIGEST_SHA256, data, 9000, &d);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, 9000, &created), 0);
	CU_ASSERT_EQUAL(created, 1);
	CU_ASSERT_EQUAL(t->count, 0);
	CU_ASSERT_EQUAL(pack_count(f.st->pack), 1);
	CU_ASSERT(reads_back(&f, 9, 9000, &d));
	upload_table_free(t);
	event_base_free(base);
	reopen(&f);
	CU_ASSERT(reads_back(&f, 9, 9000, &d));
	free(data);
	teardown(&f);
}

int
test_pack_register(void)
{
	static const struct {
		const char	*name;
		void		(*fn)(void);
	} tests[] = {
		{ "write, read, reopen", test_put_read_reopen },
		{ "a sweep punches holes; the log reads whole",
		    test_sweep_punches },
		{ "a reader's bytes stay PACK_PUNCH_DELAY_MS after a sweep",
		    test_sweep_keeps_readers_bytes },
		{ "GC in steps", test_gc_steps },
		{ "berthd's entries and blobs", test_meta_and_blobs },
		{ "segments", test_segments },
		{ "a sweep lasts", test_sweep_durable },
		{ "torn blob entry", test_torn_blob },
		{ "version 1 log", test_version_1 },
		{ "a blob found twice", test_twice },
		{ "small upload committed packed", test_upload_packed },
	};
	CU_pSuite	 s;
	size_t		 i;

	if ((s = CU_add_suite("pack", NULL, NULL)) == NULL)
		return -1;
	for (i = 0; i < nitems(tests); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}
