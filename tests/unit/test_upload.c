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

#include <dirent.h>
#include <errno.h>
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

#define OWNER	"123456789012/us-east-1/team/app"
#define TTL	3600

struct fixture {
	char			*dir;
	int			 dirfd;
	struct event_base	*base;
	struct store		*st;
	struct upload_table	*t;
};

static void
engine_open(struct fixture *f)
{
	f->st = store_new(f->dirfd, f->dir, &unit_new_dirs);
	CU_ASSERT_FATAL(f->st != NULL);
	f->t = upload_table_new(f->st, f->dirfd, f->base, TTL, &unit_new_dirs);
	CU_ASSERT_FATAL(f->t != NULL);
}

static void
engine_close(struct fixture *f)
{
	upload_table_free(f->t);
	store_free(f->st);
	f->t = NULL;
	f->st = NULL;
}

static void
setup(struct fixture *f)
{
	f->dir = unit_tmpdir();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(f->dirfd != -1);
	f->base = event_base_new();
	CU_ASSERT_FATAL(f->base != NULL);
	engine_open(f);
}

static void
teardown(struct fixture *f)
{
	engine_close(f);
	event_base_free(f->base);
	close(f->dirfd);
	unit_rmtree(f->dir);
	free(f->dir);
}

/* Appends through the functions the pipe reader uses, in pieces. */
static void
append(struct upload *u, const uint8_t *p, size_t n, size_t piece)
{
	size_t	 off, k;

	CU_ASSERT_FATAL(upload_append_begin(u, u->size) == 0);
	for (off = 0; off < n; off += k) {
		k = n - off < piece ? n - off : piece;
		CU_ASSERT_FATAL(upload_append_write(u, p + off, k) == 0);
	}
	upload_append_end(u);
}

static int
session_exists(struct fixture *f, const struct upload *u)
{
	char		*path;
	struct stat	 sb;
	int		 rc;

	xasprintf(&path, "%s/uploads/%s", f->dir, u->name);
	rc = stat(path, &sb) == 0;
	free(path);
	return rc;
}

static int
blob_matches(struct fixture *f, const struct digest *d, const uint8_t *p,
    size_t n)
{
	uint8_t	*back;
	uint64_t size, off;
	int	 fd, ok;

	if (store_open_blob(f->st, d, &fd, &off, &size) != 0)
		return 0;
	back = xmalloc(n + 1);
	ok = size == n && pread_full(fd, back, n, (off_t)off) == (ssize_t)n &&
	    memcmp(back, p, n) == 0;
	close(fd);
	free(back);
	return ok;
}

static void
test_append_commit(void)
{
	struct fixture	 f;
	struct upload	*u;
	struct digest	 d;
	size_t		 n = 3 * 1024 * 1024 + 17;
	uint8_t		*data = unit_pattern(n, 1);
	char		 name[UPLOAD_NAME_LEN];
	int		 created;

	setup(&f);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	CU_ASSERT_EQUAL(strlen(u->name), 36);
	CU_ASSERT_EQUAL(u->name[14], '4');	/* a version 4 UUID */
	CU_ASSERT(!session_exists(&f, u));	/* until its first bytes */
	CU_ASSERT_EQUAL(f.t->count, 1);
	append(u, data, n, 100 * 1024 + 3);
	CU_ASSERT(session_exists(&f, u));
	CU_ASSERT_EQUAL(u->size, n);
	digest_compute(DIGEST_SHA256, data, n, &d);
	/* Hashed on the way in: nothing to read back. */
	CU_ASSERT_EQUAL(upload_hash_pending(u, DIGEST_SHA256), 0);
	memcpy(name, u->name, sizeof(name));
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, n, &created), 0);
	CU_ASSERT_EQUAL(created, 1);
	CU_ASSERT_EQUAL(f.t->count, 0);
	CU_ASSERT(blob_matches(&f, &d, data, n));
	CU_ASSERT_EQUAL(unit_blobs(f.st), 1);
	CU_ASSERT_EQUAL(unit_bytes(f.st), n);
	free(data);
	teardown(&f);
}

static void
test_sha512_and_existing(void)
{
	struct fixture	 f;
	struct upload	*u;
	struct digest	 d;
	uint8_t		*data = unit_pattern(70000, 2);
	int		 created;

	setup(&f);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, DIGEST_SHA512, &u) == 0);
	append(u, data, 70000, 4096);
	digest_compute(DIGEST_SHA512, data, 70000, &d);
	CU_ASSERT_EQUAL(upload_hash_pending(u, DIGEST_SHA512), 0);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, UINT64_MAX, &created), 0);
	CU_ASSERT_EQUAL(created, 1);

	/* The same content again, committed as sha256 this time: the
	 * hint was wrong, so it is hashed from the file. */
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, DIGEST_SHA512, &u) == 0);
	append(u, data, 70000, 65536);
	digest_compute(DIGEST_SHA256, data, 70000, &d);
	CU_ASSERT_EQUAL(upload_hash_pending(u, DIGEST_SHA256), 70000);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, 70000, &created), 0);
	CU_ASSERT_EQUAL(created, 1);

	/* And once more: the blob exists already. */
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	append(u, data, 70000, 70000);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, 70000, &created), 0);
	CU_ASSERT_EQUAL(created, 0);
	CU_ASSERT_EQUAL(f.t->count, 0);
	CU_ASSERT_EQUAL(unit_blobs(f.st), 2);
	free(data);
	teardown(&f);
}

static void
test_out_of_order(void)
{
	struct fixture	 f;
	struct upload	*u;

	setup(&f);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	append(u, (const uint8_t *)"0123456789", 10, 10);
	CU_ASSERT_EQUAL(upload_append_begin(u, 5), BERR_RANGE_INVALID);
	CU_ASSERT_EQUAL(upload_append_begin(u, 11), BERR_RANGE_INVALID);
	CU_ASSERT_EQUAL(upload_append_begin(u, 0), BERR_RANGE_INVALID);
	CU_ASSERT_EQUAL(u->size, 10);
	CU_ASSERT_EQUAL(u->state, UPLOAD_IDLE);
	/* UINT64_MAX: wherever it ends. */
	CU_ASSERT_EQUAL(upload_append_begin(u, UINT64_MAX), 0);
	CU_ASSERT_EQUAL(upload_append_write(u, "abcdefghij", 10), 0);
	upload_append_end(u);
	CU_ASSERT_EQUAL(u->size, 20);
	CU_ASSERT_EQUAL(upload_append_begin(u, 20), 0);
	upload_append_end(u);
	teardown(&f);
}

static void
test_busy(void)
{
	struct fixture	 f;
	struct upload	*u;
	struct digest	 d;
	int		 created;

	setup(&f);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	CU_ASSERT_EQUAL(upload_append_begin(u, 0), 0);
	CU_ASSERT_EQUAL(upload_append_begin(u, 0), BERR_UPLOAD_BUSY);
	CU_ASSERT_EQUAL(upload_cancel(u), BERR_UPLOAD_BUSY);
	digest_compute(DIGEST_SHA256, "", 0, &d);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, 0, &created),
	    BERR_UPLOAD_BUSY);
	CU_ASSERT_EQUAL(upload_expire(f.t, now_sec() + 10 * TTL), 0);
	upload_append_end(u);
	/* An empty blob is a blob. */
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, 0, &created), 0);
	CU_ASSERT_EQUAL(created, 1);
	teardown(&f);
}

static void
test_owner(void)
{
	struct fixture	 f;
	struct upload	*u;
	uint8_t		 id[UPLOAD_ID_LEN];

	setup(&f);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	CU_ASSERT_PTR_EQUAL(upload_find(f.t, u->id, OWNER), u);
	CU_ASSERT_PTR_NULL(upload_find(f.t, u->id,
	    "123456789012/us-east-1/other"));
	CU_ASSERT_PTR_NULL(upload_find(f.t, u->id, ""));
	memcpy(id, u->id, sizeof(id));
	id[15] ^= 1;
	CU_ASSERT_PTR_NULL(upload_find(f.t, id, OWNER));
	CU_ASSERT_EQUAL(upload_create(f.t, "", 0, &u), BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(upload_create(f.t, OWNER, 9, &u),
	    BERR_DIGEST_UNSUPPORTED);
	teardown(&f);
}

static void
test_wrong_digest_retry(void)
{
	struct fixture	 f;
	struct upload	*u;
	struct digest	 d, bad;
	uint8_t		*data = unit_pattern(200000, 4);
	int		 created;

	setup(&f);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	append(u, data, 200000, 65536);
	digest_compute(DIGEST_SHA256, data, 200000, &d);
	digest_compute(DIGEST_SHA256, data, 199999, &bad);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &bad, 200000, &created),
	    BERR_DIGEST_INVALID);
	CU_ASSERT_PTR_EQUAL(upload_find(f.t, u->id, OWNER), u);
	CU_ASSERT_EQUAL(u->size, 200000);
	CU_ASSERT(session_exists(&f, u));
	CU_ASSERT_EQUAL(unit_blobs(f.st), 0);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, 200000, &created), 0);
	CU_ASSERT_EQUAL(created, 1);
	CU_ASSERT(blob_matches(&f, &d, data, 200000));
	free(data);
	teardown(&f);
}

static void
test_size_mismatch(void)
{
	struct fixture	 f;
	struct upload	*u;
	struct digest	 d;
	int		 created;

	setup(&f);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	append(u, (const uint8_t *)"hello", 5, 5);
	digest_compute(DIGEST_SHA256, "hello", 5, &d);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, 6, &created),
	    BERR_SIZE_INVALID);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, 4, &created),
	    BERR_SIZE_INVALID);
	CU_ASSERT_EQUAL(f.t->count, 1);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, 5, &created), 0);
	teardown(&f);
}

static void
hashed_cb(struct upload *u, int err, void *arg)
{
	int	*res = arg;

	*res = err == 0 ? 1 : err;
}

static void
test_resume_after_restart(void)
{
	struct fixture	 f;
	struct upload	*u;
	struct digest	 d;
	uint8_t		 id[UPLOAD_ID_LEN];
	size_t		 n = 20 * 1024 * 1024 + 5, first = 12 * 1024 * 1024;
	uint8_t		*data = unit_pattern(n, 5);
	int		 created, done = 0;

	setup(&f);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	memcpy(id, u->id, sizeof(id));
	append(u, data, first, 1024 * 1024);
	engine_close(&f);

	engine_open(&f);
	CU_ASSERT_EQUAL(f.t->count, 1);
	u = upload_find(f.t, id, OWNER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_EQUAL(u->size, first);
	CU_ASSERT_EQUAL(upload_hash_pending(u, DIGEST_SHA256), first);
	CU_ASSERT_EQUAL(upload_append_begin(u, 0), BERR_RANGE_INVALID);
	append(u, data + first, n - first, 1024 * 1024);
	CU_ASSERT_EQUAL(u->size, n);
	digest_compute(DIGEST_SHA256, data, n, &d);

	/* Re-hash in steps through the loop, as blobd does for big ones. */
	CU_ASSERT_EQUAL(upload_hash_start(u, DIGEST_SHA256, hashed_cb, &done),
	    0);
	CU_ASSERT_EQUAL(u->state, UPLOAD_HASHING);
	CU_ASSERT_EQUAL(upload_cancel(u), BERR_UPLOAD_BUSY);
	event_base_dispatch(f.base);
	CU_ASSERT_EQUAL(done, 1);
	CU_ASSERT_EQUAL(u->state, UPLOAD_IDLE);
	CU_ASSERT_EQUAL(upload_hash_pending(u, DIGEST_SHA256), 0);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, n, &created), 0);
	CU_ASSERT_EQUAL(created, 1);
	CU_ASSERT(blob_matches(&f, &d, data, n));

	/* Without the loop, commit hashes everything itself. */
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	memcpy(id, u->id, sizeof(id));
	append(u, data, 1000, 1000);
	engine_close(&f);
	engine_open(&f);
	u = upload_find(f.t, id, OWNER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	append(u, data + 1000, 1000, 1000);
	digest_compute(DIGEST_SHA256, data, 2000, &d);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, 2000, &created), 0);
	free(data);
	teardown(&f);
}

static void
test_broken_sessions(void)
{
	struct fixture	 f;
	struct upload	*u1, *u2, *u3;
	char		*p1, *p2, *p3, *info, *data, *junk;
	FILE		*fp;

	setup(&f);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u1) == 0);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u2) == 0);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u3) == 0);
	append(u1, (const uint8_t *)"1", 1, 1);
	append(u2, (const uint8_t *)"2", 1, 1);
	append(u3, (const uint8_t *)"3", 1, 1);
	xasprintf(&p1, "%s/uploads/%s", f.dir, u1->name);
	xasprintf(&p2, "%s/uploads/%s", f.dir, u2->name);
	xasprintf(&p3, "%s/uploads/%s", f.dir, u3->name);
	xasprintf(&info, "%s/info", p1);
	xasprintf(&data, "%s/data", p2);
	xasprintf(&junk, "%s/uploads/not-a-session", f.dir);
	engine_close(&f);

	/* A changed byte in one info file; a missing data file. */
	fp = fopen(info, "r+");
	CU_ASSERT_FATAL(fp != NULL);
	fseek(fp, 12, SEEK_SET);
	fputc('x', fp);
	fclose(fp);
	CU_ASSERT_EQUAL(unlink(data), 0);
	CU_ASSERT_EQUAL(mkdir(junk, 0700), 0);

	engine_open(&f);
	CU_ASSERT_EQUAL(f.t->count, 1);
	CU_ASSERT_EQUAL(access(p1, F_OK), -1);
	CU_ASSERT_EQUAL(access(p2, F_OK), -1);
	CU_ASSERT_EQUAL(access(p3, F_OK), 0);
	CU_ASSERT_EQUAL(access(junk, F_OK), 0);	/* not ours: left alone */
	free(p1);
	free(p2);
	free(p3);
	free(info);
	free(data);
	free(junk);
	teardown(&f);
}

static void
test_cancel(void)
{
	struct fixture	 f;
	struct upload	*u;
	uint8_t		 id[UPLOAD_ID_LEN];
	char		*path;

	setup(&f);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	append(u, (const uint8_t *)"data", 4, 4);
	memcpy(id, u->id, sizeof(id));
	xasprintf(&path, "%s/uploads/%s", f.dir, u->name);
	CU_ASSERT_EQUAL(upload_cancel(u), 0);
	CU_ASSERT_EQUAL(access(path, F_OK), -1);
	CU_ASSERT_PTR_NULL(upload_find(f.t, id, OWNER));
	CU_ASSERT_EQUAL(f.t->count, 0);
	free(path);
	teardown(&f);
}

/* The entries of a directory but . and .. */
static int
dir_entries(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* A session that never had bytes is never written: cancelled, committed
 * as the empty blob, or forgotten by a restart, it leaves nothing. */
static void
test_empty_in_memory(void)
{
	struct fixture	 f;
	struct upload	*u;
	struct digest	 d;
	uint8_t		 id[UPLOAD_ID_LEN];
	char		*dir;
	int		 created;

	setup(&f);
	xasprintf(&dir, "%s/uploads", f.dir);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	CU_ASSERT_EQUAL(upload_cancel(u), 0);
	CU_ASSERT_EQUAL(f.t->count, 0);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	digest_compute(DIGEST_SHA256, "", 0, &d);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, 0, &created), 0);
	CU_ASSERT(blob_matches(&f, &d, (const uint8_t *)"", 0));
	CU_ASSERT_EQUAL(f.t->count, 0);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u) == 0);
	memcpy(id, u->id, sizeof(id));
	CU_ASSERT(!session_exists(&f, u));
	CU_ASSERT_EQUAL(dir_entries(dir), 0);
	engine_close(&f);
	engine_open(&f);
	CU_ASSERT_PTR_NULL(upload_find(f.t, id, OWNER));
	CU_ASSERT_EQUAL(f.t->count, 0);
	free(dir);
	teardown(&f);
}

static void
test_expiry(void)
{
	struct fixture	 f;
	struct upload	*u1, *u2, *busy;
	uint8_t		 id1[UPLOAD_ID_LEN], id2[UPLOAD_ID_LEN];
	int64_t		 now = now_sec();

	setup(&f);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u1) == 0);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u2) == 0);
	CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &busy) == 0);
	memcpy(id1, u1->id, sizeof(id1));
	memcpy(id2, u2->id, sizeof(id2));
	u2->touched = now - TTL / 2;
	/* u2 was last used half a ttl before the others. */
	CU_ASSERT_EQUAL(upload_expire(f.t, now + TTL / 2 - 10), 0);
	CU_ASSERT_EQUAL(f.t->count, 3);
	CU_ASSERT_EQUAL(upload_append_begin(busy, 0), 0);
	CU_ASSERT_EQUAL(upload_expire(f.t, now + TTL / 2 + 1), 1);
	CU_ASSERT_PTR_NULL(upload_find(f.t, id2, OWNER));
	CU_ASSERT_PTR_NOT_NULL(upload_find(f.t, id1, OWNER));
	CU_ASSERT_EQUAL(upload_expire(f.t, now + 2 * TTL), 1);
	CU_ASSERT_PTR_NULL(upload_find(f.t, id1, OWNER));
	CU_ASSERT_EQUAL(f.t->count, 1);		/* the busy one */
	upload_append_end(busy);
	CU_ASSERT_EQUAL(upload_expire(f.t, now + 2 * TTL), 1);
	CU_ASSERT_EQUAL(f.t->count, 0);
	teardown(&f);
}

/* Streams one buffer into a pipe from the loop, like berthd would. */
struct feeder {
	struct event	*ev;
	int		 fd;
	const uint8_t	*p;
	size_t		 n, off;
	int		 result;	/* 0 pending, 1 ok, or a berr */
};

static void
feeder_cb(evutil_socket_t fd, short events, void *arg)
{
	struct feeder	*fe = arg;
	ssize_t		 w;

	/* Small writes, to exercise many short reads on the other side. */
	w = write(fe->fd, fe->p + fe->off, fe->n - fe->off < 50000 ?
	    fe->n - fe->off : 50000);
	if (w > 0)
		fe->off += (size_t)w;
	if (fe->off == fe->n || (w == -1 && errno != EAGAIN)) {
		event_del(fe->ev);
		close(fe->fd);
		fe->fd = -1;
	}
}

static void
feeder_done_cb(struct upload *u, int err, void *arg)
{
	struct feeder	*fe = arg;

	fe->result = err == 0 ? 1 : err;
}

static void
test_pipes(void)
{
	struct fixture	 f;
	struct feeder	 fe[3];
	struct upload	*u[3];
	struct digest	 d;
	size_t		 sizes[3] = { 5 * 1024 * 1024 + 1, 1, 300000 };
	uint8_t		*data[3];
	int		 p[2], i, created;

	setup(&f);
	for (i = 0; i < 3; i++) {
		data[i] = unit_pattern(sizes[i], 10 + i);
		CU_ASSERT_FATAL(upload_create(f.t, OWNER, 0, &u[i]) == 0);
		CU_ASSERT_FATAL(pipe(p) == 0);
		memset(&fe[i], 0, sizeof(fe[i]));
		fe[i].fd = p[1];
		fe[i].p = data[i];
		fe[i].n = sizes[i];
		CU_ASSERT_FATAL(fd_set_nonblock(p[1]) == 0);
		fe[i].ev = event_new(f.base, p[1], EV_WRITE | EV_PERSIST,
		    feeder_cb, &fe[i]);
		event_add(fe[i].ev, NULL);
		CU_ASSERT_EQUAL(upload_append_pipe(u[i], 0, UINT64_MAX, p[0],
		    feeder_done_cb, &fe[i]), 0);
	}
	/* A second append on a busy session is refused at once. */
	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_EQUAL(upload_append_pipe(u[0], 0, UINT64_MAX, p[0],
	    feeder_done_cb, NULL), BERR_UPLOAD_BUSY);
	CU_ASSERT_EQUAL(fcntl(p[0], F_GETFD), -1);	/* it was closed */
	close(p[1]);
	/* Not a pipe: refused, never fatal. */
	p[0] = open(f.dir, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_EQUAL(upload_append_pipe(u[1], UINT64_MAX, UINT64_MAX, p[0],
	    feeder_done_cb, NULL), BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(fcntl(p[0], F_GETFD), -1);

	event_base_dispatch(f.base);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(fe[i].result, 1);
		CU_ASSERT_EQUAL(u[i]->size, sizes[i]);
		CU_ASSERT_EQUAL(u[i]->state, UPLOAD_IDLE);
		CU_ASSERT_EQUAL(upload_hash_pending(u[i], DIGEST_SHA256), 0);
		digest_compute(DIGEST_SHA256, data[i], sizes[i], &d);
		CU_ASSERT_EQUAL(unit_upload_commit(u[i], &d, sizes[i],
		    &created), 0);
		CU_ASSERT(blob_matches(&f, &d, data[i], sizes[i]));
		event_free(fe[i].ev);
		free(data[i]);
	}
	teardown(&f);
}

/* One append from a pipe, fed from the loop; its outcome. */
static int
pipe_append(struct fixture *f, struct upload *u, const uint8_t *p, size_t n)
{
	struct feeder	 fe;
	int		 fds[2];

	memset(&fe, 0, sizeof(fe));
	if (pipe(fds) == -1 || fd_set_nonblock(fds[1]) == -1)
		return BERR_INTERNAL;
	fe.fd = fds[1];
	fe.p = p;
	fe.n = n;
	fe.ev = event_new(f->base, fds[1], EV_WRITE | EV_PERSIST, feeder_cb,
	    &fe);
	event_add(fe.ev, NULL);
	if (upload_append_pipe(u, u->size, UINT64_MAX, fds[0], feeder_done_cb,
	    &fe) != 0) {
		event_free(fe.ev);
		close(fds[1]);
		return BERR_INTERNAL;
	}
	/* An empty body closes the pipe before the reader waits on it. */
	if (n == 0) {
		event_del(fe.ev);
		close(fe.fd);
		fe.fd = -1;
	}
	event_base_dispatch(f->base);
	event_free(fe.ev);
	return fe.result == 1 ? 0 : fe.result;
}

static off_t
data_size(struct fixture *f, const struct upload *u)
{
	struct stat	 sb;
	char		*path;
	off_t		 size;

	xasprintf(&path, "%s/uploads/%s/data", f->dir, u->name);
	size = stat(path, &sb) == 0 ? sb.st_size : -1;
	free(path);
	return size;
}

/*
 * Appends that start and end anywhere: direct writes of whole blocks, the
 * partly written last block read back and written again whole, the tail
 * through the page cache; what the file holds is always the session.
 */
static void
check_odd_appends(struct fixture *f)
{
	static const size_t pieces[] = { 5000, 2 * UPLOAD_DIO_CHUNK + 4097,
	    1, 0, 3 * UPLOAD_DIO_ALIGN, UPLOAD_DIO_CHUNK - 1, 777 };
	struct upload	*u;
	struct digest	 d;
	uint8_t		*data;
	size_t		 total = 0, i, off = 0;
	int		 created;

	for (i = 0; i < nitems(pieces); i++)
		total += pieces[i];
	data = unit_pattern(total, 77);
	CU_ASSERT_FATAL(upload_create(f->t, OWNER, 0, &u) == 0);
	for (i = 0; i < nitems(pieces); i++) {
		CU_ASSERT_EQUAL(pipe_append(f, u, data + off, pieces[i]), 0);
		off += pieces[i];
		CU_ASSERT_EQUAL(u->size, off);
		CU_ASSERT_EQUAL(data_size(f, u), (off_t)off);
		CU_ASSERT_EQUAL(u->state, UPLOAD_IDLE);
		CU_ASSERT_PTR_NULL(u->dio_buf[0]);
	}
	CU_ASSERT_EQUAL(f->t->dio_count, 0);
	CU_ASSERT_EQUAL(upload_hash_pending(u, DIGEST_SHA256), 0);
	digest_compute(DIGEST_SHA256, data, total, &d);
	CU_ASSERT_EQUAL(unit_upload_commit(u, &d, total, &created), 0);
	CU_ASSERT(blob_matches(f, &d, data, total));
	free(data);
}

static void
test_direct_writes(void)
{
	struct fixture	 f;

	setup(&f);
	check_odd_appends(&f);
	teardown(&f);
}

/* The same through the page cache, as when no direct buffer is free or
 * the file system has no O_DIRECT. */
static void
test_buffered_fallback(void)
{
	struct fixture	 f;

	setup(&f);
	f.t->dio_max = 0;
	check_odd_appends(&f);
	teardown(&f);
}

int
test_upload_register(void)
{
	static const struct {
		const char	*name;
		void		(*fn)(void);
	} tests[] = {
		{ "create, append, commit", test_append_commit },
		{ "sha512, other algorithm, existing blob",
		    test_sha512_and_existing },
		{ "out-of-order offset", test_out_of_order },
		{ "busy session", test_busy },
		{ "owner and id checks", test_owner },
		{ "wrong digest, then retry", test_wrong_digest_retry },
		{ "size mismatch", test_size_mismatch },
		{ "resume after restart", test_resume_after_restart },
		{ "broken sessions removed at load", test_broken_sessions },
		{ "cancel", test_cancel },
		{ "an empty session stays in memory", test_empty_in_memory },
		{ "expiry", test_expiry },
		{ "streaming from pipes", test_pipes },
		{ "direct writes at odd offsets", test_direct_writes },
		{ "buffered writes without a direct buffer",
		    test_buffered_fallback },
	};
	CU_pSuite	 s;
	size_t		 i;

	if ((s = CU_add_suite("upload", NULL, NULL)) == NULL)
		return -1;
	for (i = 0; i < nitems(tests); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}
