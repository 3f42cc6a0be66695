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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../blobd/blobd.h"
#include "error.h"
#include "util.h"
#include "unit.h"

#define MAX_ENTRIES	64

struct fixture {
	char		*dir;
	int		 dirfd;
	struct metalog	*ml;
	char		*log;		/* path of meta/log */
};

struct state {
	size_t		 n;
	char		*entry[MAX_ENTRIES];
};

static void
setup(struct fixture *f)
{
	f->dir = unit_tmpdir();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(f->dirfd != -1);
	f->ml = metalog_new(f->dirfd, &unit_new_dirs, NULL, NULL, NULL);
	CU_ASSERT_FATAL(f->ml != NULL);
	xasprintf(&f->log, "%s/meta/log", f->dir);
}

static void
teardown(struct fixture *f)
{
	metalog_free(f->ml);
	close(f->dirfd);
	unit_rmtree(f->dir);
	free(f->dir);
	free(f->log);
}

static void
reopen(struct fixture *f)
{
	metalog_free(f->ml);
	f->ml = metalog_new(f->dirfd, &unit_new_dirs, NULL, NULL, NULL);
	CU_ASSERT_FATAL(f->ml != NULL);
}

/* Entries of several sizes, some bigger than a read buffer. */
static char *
entry_text(const char *tag, int i)
{
	size_t	 n = i % 7 == 3 ? BLOBD_IO_SIZE + 10 : (size_t)(10 + i * 13);
	char	*s = xmalloc(n + 1);

	memset(s, 'a' + i % 26, n);
	snprintf(s, n + 1, "%s-%d:", tag, i);
	s[strlen(s)] = 'a' + i % 26;
	s[n] = '\0';
	return s;
}

static uint64_t
append(struct fixture *f, const char *tag, int i)
{
	char	*s = entry_text(tag, i);
	uint64_t seq = 0;

	CU_ASSERT_EQUAL(metalog_append(f->ml, s, strlen(s), &seq), 0);
	free(s);
	return seq;
}

static void
state_add(struct state *st, const char *tag, int i)
{
	CU_ASSERT_FATAL(st->n < MAX_ENTRIES);
	st->entry[st->n++] = entry_text(tag, i);
}

static void
state_clear(struct state *st)
{
	size_t	 i;

	for (i = 0; i < st->n; i++)
		free(st->entry[i]);
	st->n = 0;
}

/* Loads the state and compares it with what is expected. */
static void
check_state(struct fixture *f, const struct state *want)
{
	uint64_t len, entries, total = 0;
	uint32_t n;
	size_t	 i;
	char	*buf;
	int	 fd;

	CU_ASSERT_FATAL(metalog_load(f->ml, &fd, &len, &entries) == 0);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_CUR), 0);
	CU_ASSERT_EQUAL(entries, want->n);
	for (i = 0; i < want->n; i++) {
		if (read_full(fd, &n, sizeof(n)) != sizeof(n)) {
			CU_FAIL("state too short");
			break;
		}
		CU_ASSERT_EQUAL(n, strlen(want->entry[i]));
		buf = xmalloc(n);
		CU_ASSERT_EQUAL(read_full(fd, buf, n), n);
		CU_ASSERT(n == strlen(want->entry[i]) &&
		    memcmp(buf, want->entry[i], n) == 0);
		free(buf);
		total += sizeof(n) + n;
	}
	CU_ASSERT_EQUAL(read_full(fd, &n, 1), 0);
	CU_ASSERT_EQUAL(len, total);
	close(fd);
}

/* A file in the MSG_META_COMPACT format. */
static int
snapshot_file(const struct state *st, uint64_t *len)
{
	uint32_t n;
	size_t	 i;
	int	 fd;

	fd = anon_file("test-snapshot");
	CU_ASSERT_FATAL(fd != -1);
	*len = 0;
	for (i = 0; i < st->n; i++) {
		n = (uint32_t)strlen(st->entry[i]);
		CU_ASSERT(write_full(fd, &n, sizeof(n)) == 0);
		CU_ASSERT(write_full(fd, st->entry[i], n) == 0);
		*len += sizeof(n) + n;
	}
	return fd;
}

static off_t
file_size(const char *path)
{
	struct stat	 sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static char *
read_file(const char *path, size_t *n)
{
	char	*buf;
	off_t	 size = file_size(path);
	int	 fd;

	CU_ASSERT_FATAL(size >= 0);
	buf = xmalloc((size_t)size + 1);
	fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_EQUAL(read_full(fd, buf, (size_t)size), size);
	close(fd);
	*n = (size_t)size;
	return buf;
}

static void
write_file(const char *path, const void *p, size_t n)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_TRUNC);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT(write_full(fd, p, n) == 0);
	close(fd);
}

/* The size of the one meta/log.torn-* file, or -1. */
static off_t
torn_size(struct fixture *f)
{
	DIR		*d;
	struct dirent	*de;
	char		*path, *meta;
	off_t		 size = -1;
	int		 found = 0;

	xasprintf(&meta, "%s/meta", f->dir);
	d = opendir(meta);
	CU_ASSERT_FATAL(d != NULL);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "log.torn-", 9) != 0)
			continue;
		found++;
		xasprintf(&path, "%s/%s", meta, de->d_name);
		size = file_size(path);
		free(path);
	}
	closedir(d);
	free(meta);
	return found == 1 ? size : -1;
}

static void
test_append_reopen(void)
{
	struct fixture	 f;
	struct state	 want = { 0 };
	int		 i;

	setup(&f);
	for (i = 1; i <= 20; i++) {
		CU_ASSERT_EQUAL(append(&f, "e", i), (uint64_t)i);
		state_add(&want, "e", i);
	}
	CU_ASSERT(f.ml->synced_end < f.ml->log_end);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	CU_ASSERT_EQUAL(f.ml->synced_end, f.ml->log_end);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	CU_ASSERT_EQUAL((off_t)metalog_log_bytes(f.ml), file_size(f.log));
	check_state(&f, &want);
	reopen(&f);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(append(&f, "e", 21), 21);
	state_add(&want, "e", 21);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	reopen(&f);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(metalog_append(f.ml, "", 0, NULL), BERR_SIZE_INVALID);
	state_clear(&want);
	teardown(&f);
}

static void
torn(int corrupt_byte)
{
	struct fixture	 f;
	struct state	 want = { 0 };
	off_t		 full, before_last;
	int		 i, fd;

	setup(&f);
	for (i = 1; i <= 4; i++) {
		append(&f, "e", i);
		state_add(&want, "e", i);
	}
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	before_last = file_size(f.log);
	append(&f, "e", 5);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	full = file_size(f.log);
	metalog_free(f.ml);
	f.ml = NULL;

	if (corrupt_byte) {
		fd = open(f.log, O_RDWR);
		CU_ASSERT_FATAL(fd != -1);
		CU_ASSERT_EQUAL(pwrite(fd, "#", 1, full - 1), 1);
		close(fd);
	} else
		CU_ASSERT_EQUAL(truncate(f.log, full - 3), 0);

	reopen(&f);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(file_size(f.log), before_last);
	CU_ASSERT_EQUAL(torn_size(&f), corrupt_byte ? full - before_last :
	    full - 3 - before_last);
	/* Appends go on where the good entries end. */
	CU_ASSERT_EQUAL(append(&f, "again", 5), 5);
	state_add(&want, "again", 5);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	reopen(&f);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(append(&f, "again", 6), 6);
	state_clear(&want);
	teardown(&f);
}

static void
test_torn_truncated(void)
{
	torn(0);
}

static void
test_torn_corrupt(void)
{
	torn(1);
}

static void
test_compaction(void)
{
	struct fixture	 f;
	struct state	 want = { 0 }, snap = { 0 };
	uint64_t	 len;
	int		 i, fd;

	setup(&f);
	for (i = 1; i <= 10; i++)
		append(&f, "e", i);
	/* berthd's view of those ten entries, folded into three. */
	for (i = 1; i <= 3; i++) {
		state_add(&snap, "s", i);
		state_add(&want, "s", i);
	}
	fd = snapshot_file(&snap, &len);
	/* Unsynced appends are synced first and covered. */
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, len, snap.n), 0);
	close(fd);
	CU_ASSERT_EQUAL(f.ml->synced_end, f.ml->log_end);
	CU_ASSERT_EQUAL(f.ml->snap_seq, 10);
	CU_ASSERT_EQUAL(file_size(f.log), 12);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(append(&f, "e", 11), 11);
	CU_ASSERT_EQUAL(append(&f, "e", 12), 12);
	state_add(&want, "e", 11);
	state_add(&want, "e", 12);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	check_state(&f, &want);
	reopen(&f);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(append(&f, "e", 13), 13);

	/* An empty snapshot is a snapshot too. */
	state_clear(&snap);
	fd = snapshot_file(&snap, &len);
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, len, 0), 0);
	close(fd);
	state_clear(&want);
	check_state(&f, &want);
	reopen(&f);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(append(&f, "e", 14), 14);
	teardown(&f);
}

static void
test_compaction_refused(void)
{
	struct fixture	 f;
	struct state	 want = { 0 }, snap = { 0 };
	uint64_t	 len;
	char		*snapshot;
	int		 fd;

	setup(&f);
	append(&f, "e", 1);
	state_add(&want, "e", 1);
	state_add(&snap, "s", 1);
	state_add(&snap, "s", 2);
	fd = snapshot_file(&snap, &len);
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, len, 3), BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, len, 1), BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, len + 1, 2),
	    BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, len - 1, 2),
	    BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, 2, 1), BERR_BAD_REQUEST);
	close(fd);
	xasprintf(&snapshot, "%s/meta/snapshot", f.dir);
	CU_ASSERT_EQUAL(access(snapshot, F_OK), -1);
	check_state(&f, &want);
	free(snapshot);
	state_clear(&want);
	state_clear(&snap);
	teardown(&f);
}

/* The new snapshot is in place but the old log was never replaced. */
static void
test_crash_after_snapshot(void)
{
	struct fixture	 f;
	struct state	 want = { 0 }, snap = { 0 };
	uint64_t	 len;
	size_t		 old_n;
	char		*old;
	int		 i, fd;

	setup(&f);
	for (i = 1; i <= 3; i++)
		append(&f, "e", i);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	old = read_file(f.log, &old_n);
	state_add(&snap, "s", 1);
	state_add(&want, "s", 1);
	fd = snapshot_file(&snap, &len);
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, len, 1), 0);
	close(fd);
	metalog_free(f.ml);
	f.ml = NULL;
	write_file(f.log, old, old_n);

	reopen(&f);
	check_state(&f, &want);		/* no duplicates */
	CU_ASSERT_EQUAL(append(&f, "e", 4), 4);
	state_add(&want, "e", 4);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	reopen(&f);
	check_state(&f, &want);
	free(old);
	state_clear(&want);
	state_clear(&snap);
	teardown(&f);
}

/* Old entries the snapshot covers, then newer ones, in one log. */
static void
test_skip_covered(void)
{
	struct fixture	 f;
	struct state	 want = { 0 }, snap = { 0 };
	uint64_t	 len;
	size_t		 old_n, new_n;
	char		*old, *fresh, *mixed;
	int		 i, fd;

	setup(&f);
	for (i = 1; i <= 3; i++)
		append(&f, "e", i);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	old = read_file(f.log, &old_n);
	state_add(&snap, "s", 1);
	state_add(&want, "s", 1);
	fd = snapshot_file(&snap, &len);
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, len, 1), 0);
	close(fd);
	append(&f, "e", 4);
	append(&f, "e", 5);
	state_add(&want, "e", 4);
	state_add(&want, "e", 5);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	fresh = read_file(f.log, &new_n);
	metalog_free(f.ml);
	f.ml = NULL;
	mixed = xmalloc(old_n + new_n);
	memcpy(mixed, old, old_n);
	memcpy(mixed + old_n, fresh + 12, new_n - 12);
	write_file(f.log, mixed, old_n + new_n - 12);

	reopen(&f);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(append(&f, "e", 6), 6);
	free(old);
	free(fresh);
	free(mixed);
	state_clear(&want);
	state_clear(&snap);
	teardown(&f);
}

static void
test_refuse_untrusted(void)
{
	struct fixture	 f;
	struct state	 snap = { 0 };
	uint64_t	 len;
	char		*snapshot;
	size_t		 n;
	char		*saved;
	int		 fd;

	setup(&f);
	append(&f, "e", 1);
	append(&f, "e", 2);
	state_add(&snap, "s", 1);
	fd = snapshot_file(&snap, &len);
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, len, 1), 0);
	close(fd);
	append(&f, "e", 3);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	metalog_free(f.ml);
	f.ml = NULL;

	/* A corrupt snapshot is fatal, never silently dropped. */
	xasprintf(&snapshot, "%s/meta/snapshot", f.dir);
	saved = read_file(snapshot, &n);
	saved[n - 1] ^= 1;
	write_file(snapshot, saved, n);
	CU_ASSERT_PTR_NULL(metalog_new(f.dirfd, &unit_new_dirs, NULL, NULL,
	    NULL));
	saved[n - 1] ^= 1;
	write_file(snapshot, saved, n - 1);
	CU_ASSERT_PTR_NULL(metalog_new(f.dirfd, &unit_new_dirs, NULL, NULL,
	    NULL));
	write_file(snapshot, saved, n);
	reopen(&f);
	metalog_free(f.ml);
	f.ml = NULL;

	/* Without the snapshot, the log starts at 3: entries are missing. */
	CU_ASSERT_EQUAL(unlink(snapshot), 0);
	CU_ASSERT_PTR_NULL(metalog_new(f.dirfd, &unit_new_dirs, NULL, NULL,
	    NULL));
	free(saved);
	free(snapshot);
	state_clear(&snap);
	teardown(&f);
}

/*
 * A start makes the log and syncs it with its first commit round: if it
 * stopped before, the log's header is zeros (or missing) and nothing in
 * the log was acknowledged, so the log starts again; with a snapshot, from
 * the snapshot.  A damaged header that is not all zeros is refused.
 */
static void
test_header_never_synced(void)
{
	struct fixture	 f;
	struct state	 want = { 0 }, snap = { 0 };
	uint64_t	 len;
	char		 zeros[LOG_HDR_LEN] = { 0 }, junk[LOG_HDR_LEN];
	int		 fd;

	setup(&f);
	CU_ASSERT(f.ml->fresh);
	CU_ASSERT(metalog_dirty(f.ml));		/* the header waits */
	metalog_free(f.ml);
	f.ml = NULL;
	write_file(f.log, zeros, sizeof(zeros));
	reopen(&f);
	CU_ASSERT_EQUAL(f.ml->next_seq, 1);
	CU_ASSERT_EQUAL(append(&f, "e", 1), 1);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	CU_ASSERT(!metalog_dirty(f.ml));
	state_add(&snap, "s", 1);
	state_add(&want, "s", 1);
	fd = snapshot_file(&snap, &len);
	CU_ASSERT_EQUAL(metalog_compact(f.ml, fd, len, 1), 0);
	close(fd);
	metalog_free(f.ml);
	f.ml = NULL;
	write_file(f.log, zeros, 5);
	reopen(&f);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(append(&f, "e", 2), 2);
	metalog_free(f.ml);
	f.ml = NULL;
	memset(junk, 'x', sizeof(junk));
	write_file(f.log, junk, sizeof(junk));
	CU_ASSERT_PTR_NULL(metalog_new(f.dirfd, &unit_new_dirs, NULL, NULL,
	    NULL));
	write_file(f.log, zeros, sizeof(zeros));
	reopen(&f);
	state_clear(&want);
	state_clear(&snap);
	teardown(&f);
}

/* The log's spares (logspare.c), small: made at once and waited for. */
#define SPARE_SIZE	(256 * 1024)

static void
spare_setup(struct fixture *f)
{
	setup(f);
	f->ml->seg_max = SPARE_SIZE;
	metalog_spare_enable(f->ml, 0);
	logspare_wait(f->ml->spare);
}

/* A power cut: nothing is cut off the log, the spare stays. */
static void
crash(struct fixture *f)
{
	logspare_free(f->ml->spare);
	f->ml->spare = NULL;
	close(f->ml->log_fd);
	f->ml->log_fd = -1;
	reopen(f);
}

static off_t
spare_size(struct fixture *f)
{
	char	*path;
	off_t	 size;

	xasprintf(&path, "%s/meta/log.spare", f->dir);
	size = file_size(path);
	free(path);
	return size;
}

static void
test_spare_adopt(void)
{
	struct fixture	 f;
	struct state	 want = { 0 };
	uint64_t	 end;
	int		 i;

	spare_setup(&f);
	CU_ASSERT_EQUAL(spare_size(&f), SPARE_SIZE);
	/* Small entries (entry_text makes the third a big one). */
	for (i = 1; i <= 5; i++) {
		CU_ASSERT_EQUAL(append(&f, "s", i * 7 + 1), (uint64_t)i);
		state_add(&want, "s", i * 7 + 1);
	}
	CU_ASSERT_EQUAL(metalog_maintain(f.ml), 0);	/* not synced */
	CU_ASSERT(file_size(f.log) < SPARE_SIZE);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	end = metalog_log_bytes(f.ml);
	CU_ASSERT_EQUAL(metalog_maintain(f.ml), 0);
	CU_ASSERT_EQUAL(file_size(f.log), SPARE_SIZE);
	CU_ASSERT_EQUAL(metalog_log_bytes(f.ml), end);
	logspare_wait(f.ml->spare);
	CU_ASSERT_EQUAL(spare_size(&f), SPARE_SIZE);
	check_state(&f, &want);
	/* Appends overwrite the zeros: the file does not grow. */
	append(&f, "e", 6);
	state_add(&want, "e", 6);
	CU_ASSERT(metalog_log_bytes(f.ml) > end);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	CU_ASSERT_EQUAL(file_size(f.log), SPARE_SIZE);
	crash(&f);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(file_size(f.log), SPARE_SIZE);
	CU_ASSERT_EQUAL(torn_size(&f), -1);
	CU_ASSERT_EQUAL(append(&f, "e", 7), 7);
	state_add(&want, "e", 7);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	/* An exit cuts the zeros off. */
	reopen(&f);
	CU_ASSERT_EQUAL((uint64_t)file_size(f.log), metalog_log_bytes(f.ml));
	check_state(&f, &want);
	state_clear(&want);
	teardown(&f);
}

static void
test_spare_torn(void)
{
	struct fixture	 f;
	struct state	 want = { 0 };
	uint64_t	 end;
	int		 i, fd;

	spare_setup(&f);
	for (i = 1; i <= 3; i++) {
		append(&f, "s", i * 7 + 1);
		state_add(&want, "s", i * 7 + 1);
	}
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	CU_ASSERT_EQUAL(metalog_maintain(f.ml), 0);
	CU_ASSERT_EQUAL(file_size(f.log), SPARE_SIZE);
	end = metalog_log_bytes(f.ml);
	crash(&f);
	/* Bytes of an entry never synced, some way after the end. */
	fd = open(f.log, O_RDWR);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_EQUAL(pwrite(fd, "#####", 5, (off_t)end + 40), 5);
	close(fd);
	crash(&f);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(torn_size(&f), 45);
	CU_ASSERT_EQUAL((uint64_t)file_size(f.log), end);
	CU_ASSERT_EQUAL(append(&f, "e", 4), 4);
	state_add(&want, "e", 4);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	crash(&f);
	check_state(&f, &want);
	state_clear(&want);
	teardown(&f);
}

static void
test_spare_roll(void)
{
	struct fixture	 f;
	struct state	 want = { 0 };
	char		*seg;
	int		 fd, i;

	spare_setup(&f);
	xasprintf(&seg, "%s/meta/log.1", f.dir);
	for (i = 1; i <= 2; i++) {
		append(&f, "e", i);
		state_add(&want, "e", i);
	}
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	CU_ASSERT_EQUAL(metalog_maintain(f.ml), 0);	/* adopted */
	logspare_wait(f.ml->spare);
	/* An entry bigger than a read buffer outgrows the spare. */
	append(&f, "e", 3);
	state_add(&want, "e", 3);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	CU_ASSERT(file_size(f.log) > SPARE_SIZE);
	CU_ASSERT_EQUAL(metalog_maintain(f.ml), 0);	/* rolled */
	CU_ASSERT(file_size(seg) > SPARE_SIZE);
	CU_ASSERT_EQUAL(file_size(f.log), SPARE_SIZE);
	CU_ASSERT_EQUAL(metalog_log_bytes(f.ml), LOG_HDR_LEN);
	logspare_wait(f.ml->spare);
	CU_ASSERT_EQUAL(spare_size(&f), SPARE_SIZE);
	append(&f, "e", 4);
	state_add(&want, "e", 4);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	crash(&f);
	check_state(&f, &want);
	/* A spare renamed to the log whose header never reached the disk
	 * holds nothing acknowledged: the log starts again. */
	state_clear(&want);
	for (i = 1; i <= 3; i++)
		state_add(&want, "e", i);
	fd = open(f.log, O_RDWR);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_EQUAL(pwrite(fd, "\0\0\0\0\0\0\0\0\0\0\0\0", LOG_HDR_LEN,
	    0), LOG_HDR_LEN);
	close(fd);
	crash(&f);
	check_state(&f, &want);
	CU_ASSERT_EQUAL(torn_size(&f), -1);
	free(seg);
	state_clear(&want);
	teardown(&f);
}

/* A disk short of space gets the spare's bytes back. */
static void
test_spare_trim(void)
{
	struct fixture	 f;

	spare_setup(&f);
	CU_ASSERT_EQUAL(spare_size(&f), SPARE_SIZE);
	logspare_trim(f.ml->spare, 1);		/* plenty */
	CU_ASSERT_EQUAL(spare_size(&f), SPARE_SIZE);
	logspare_trim(f.ml->spare, UINT64_MAX / 2);
	CU_ASSERT_EQUAL(spare_size(&f), -1);
	append(&f, "s", 1);
	CU_ASSERT_EQUAL(metalog_sync(f.ml), 0);
	CU_ASSERT_EQUAL(metalog_maintain(f.ml), 0);
	CU_ASSERT(file_size(f.log) < SPARE_SIZE);
	teardown(&f);
}

int
test_metalog_register(void)
{
	static const struct {
		const char	*name;
		void		(*fn)(void);
	} tests[] = {
		{ "append and reopen", test_append_reopen },
		{ "torn tail: truncated entry", test_torn_truncated },
		{ "torn tail: corrupt entry", test_torn_corrupt },
		{ "compaction", test_compaction },
		{ "compaction refuses bad input", test_compaction_refused },
		{ "crash after the snapshot", test_crash_after_snapshot },
		{ "covered entries skipped", test_skip_covered },
		{ "corrupt snapshot, missing entries", test_refuse_untrusted },
		{ "a log whose header never synced", test_header_never_synced },
		{ "a spare taken by a small log", test_spare_adopt },
		{ "a spare's zeros after a torn entry", test_spare_torn },
		{ "a spare taken at a roll", test_spare_roll },
		{ "a spare removed when space is short", test_spare_trim },
	};
	CU_pSuite	 s;
	size_t		 i;

	if ((s = CU_add_suite("metalog", NULL, NULL)) == NULL)
		return -1;
	for (i = 0; i < nitems(tests); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}
