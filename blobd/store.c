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
 * The content-addressed blob store: DIR/blobs/<algo>/<2 hex>/<hex>, one
 * file per digest, written through DIR/tmp and renamed into place after an
 * fdatasync, with the fan-out directory fsync'd before the blob counts as
 * stored.  Storing a blob that exists only bumps its mtime, which tells a
 * GC sweep to spare it.  Also the small directory helpers the other files
 * of blobd share.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blobd.h"
#include "digest.h"
#include "error.h"
#include "log.h"
#include "util.h"

/* "ab/" + 128 hex digits + NUL */
#define STORE_REL_MAX	(3 + 2 * DIGEST_RAW_MAX + 1)

static const enum digest_algo store_algos[] = { DIGEST_SHA256, DIGEST_SHA512 };

static int
store_algo_index(enum digest_algo algo)
{
	return algo == DIGEST_SHA512 ? 1 : 0;
}

/* The blob's path relative to its algorithm's directory: "ab/abcd...". */
static void
store_rel_path(const struct digest *d, char *out)
{
	char	 hex[2 * DIGEST_RAW_MAX + 1];

	digest_hex(d, hex);
	snprintf(out, STORE_REL_MAX, "%.2s/%s", hex, hex);
}

unsigned int
store_fanout(const struct digest *d)
{
	return d->raw[0];
}

int
store_subdir(int dirfd, const char *name, int *created)
{
	int	 fd;

	if (mkdirat(dirfd, name, 0750) == 0)
		*created = 1;
	else if (errno != EEXIST)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW);
	return fd;
}

DIR *
store_opendir(int dirfd, const char *name)
{
	DIR	*dir;
	int	 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return NULL;
	if ((dir = fdopendir(fd)) == NULL)
		close(fd);
	return dir;
}

int
store_empty_dir(int dfd)
{
	DIR		*dir;
	struct dirent	*de;
	int		 rc = 0;

	if ((dir = store_opendir(dfd, ".")) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dfd, de->d_name, 0) == -1 && errno != ENOENT) {
			log_warn("cannot remove %s", de->d_name);
			rc = -1;
		}
	}
	closedir(dir);
	return rc;
}

static int64_t
store_mtime_ms(const struct stat *sb)
{
	return (int64_t)sb->st_mtim.tv_sec * 1000 +
	    sb->st_mtim.tv_nsec / 1000000;
}

static int
store_count_cb(const struct digest *d, uint64_t size, int64_t mtime_ms,
    void *arg)
{
	struct store	*st = arg;

	st->blobs++;
	st->bytes += size;
	return 0;
}

int
store_counts(struct store *st, uint64_t *blobs, uint64_t *bytes)
{
	int	 rc;

	/* Counted when first asked rather than at every start. */
	if (!st->counted) {
		st->blobs = st->bytes = 0;
		if ((rc = store_walk(st, store_count_cb, st)) != 0) {
			log_warnx("cannot read the blob store in %s/blobs",
			    st->path);
			return rc;
		}
		st->counted = 1;
	}
	*blobs = st->blobs;
	*bytes = st->bytes;
	return 0;
}

struct store *
store_new(int datadir_fd, const char *path, int *new_dirs)
{
	struct store	*st;
	size_t		 i;
	int		 algo_new = 0;

	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	st->blobs_fd = st->algo_fd[0] = st->algo_fd[1] = st->tmp_fd = -1;
	st->durable = 1;
	st->pack = pack_new();
	if ((st->blobs_fd = store_subdir(datadir_fd, "blobs",
	    new_dirs)) == -1) {
		log_warn("%s/blobs", path);
		goto fail;
	}
	for (i = 0; i < nitems(store_algos); i++) {
		const char *name = digest_algo_name(store_algos[i]);
		if ((st->algo_fd[i] = store_subdir(st->blobs_fd, name,
		    &algo_new)) == -1) {
			log_warn("%s/blobs/%s", path, name);
			goto fail;
		}
	}
	/* New directories exist only once their parents say so: the first
	 * commit round fsyncs DIR/blobs, and DIR. */
	st->new_algo = algo_new;
	if ((st->tmp_fd = store_subdir(datadir_fd, "tmp", new_dirs)) == -1) {
		log_warn("%s/tmp", path);
		goto fail;
	}
	if (store_empty_dir(st->tmp_fd) == -1) {
		log_warn("cannot empty %s/tmp", path);
		goto fail;
	}
	return st;
fail:
	store_free(st);
	return NULL;
}

void
store_free(struct store *st)
{
	size_t	 i;

	if (st == NULL)
		return;
	if (st->blobs_fd != -1)
		close(st->blobs_fd);
	for (i = 0; i < nitems(st->algo_fd); i++)
		if (st->algo_fd[i] != -1)
			close(st->algo_fd[i]);
	if (st->tmp_fd != -1)
		close(st->tmp_fd);
	pack_free(st->pack);
	free(st->path);
	free(st);
}

void
store_found_cb(uint64_t file, const struct logfile_entry *e, void *arg)
{
	struct store	*st = arg;

	pack_found(st->pack, file, e);
}

void
store_cut_cb(uint64_t file, uint64_t end, void *arg)
{
	struct store	*st = arg;
	uint64_t	 n = pack_count(st->pack), b = pack_bytes(st->pack);

	pack_truncated(st->pack, file, end);
	if (st->counted) {
		st->blobs -= n - pack_count(st->pack);
		st->bytes -= b - pack_bytes(st->pack);
	}
}

int
store_attach(struct store *st, struct metalog *ml, size_t pack_max)
{
	int	 rc;

	st->metalog = ml;
	st->pack_max = pack_max;
	if ((rc = pack_kill_stale(st->pack, ml)) != 0)
		return rc;
	log_info("blob store %s: %zu blobs packed, %" PRIu64 " bytes",
	    st->path, pack_count(st->pack), pack_bytes(st->pack));
	return 0;
}

/* A blob stored as a file: 1 if it is one, 0 if not, or a negative berr. */
static int
store_file_stat(struct store *st, const struct digest *d, struct stat *sb)
{
	char	 rel[STORE_REL_MAX];

	store_rel_path(d, rel);
	if (fstatat(st->algo_fd[store_algo_index(d->algo)], rel, sb,
	    AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		log_warn("stat %s", rel);
		return berr_from_errno(errno);
	}
	return S_ISREG(sb->st_mode) ? 1 : 0;
}

int
store_stat_blob(struct store *st, const struct digest *d, uint64_t *size,
    int64_t *mtime_ms)
{
	struct stat	 sb;
	int		 rc;

	if ((rc = store_file_stat(st, d, &sb)) < 0)
		return rc;
	if (rc == 1) {
		*size = (uint64_t)sb.st_size;
		*mtime_ms = store_mtime_ms(&sb);
		return 0;
	}
	return pack_stat(st->pack, d, size, mtime_ms);
}

/* Sets an existing blob's mtime to now: see gc_sweep(). */
static int
store_touch(struct store *st, const struct digest *d)
{
	char	 rel[STORE_REL_MAX];

	store_rel_path(d, rel);
	if (utimensat(st->algo_fd[store_algo_index(d->algo)], rel, NULL,
	    AT_SYMLINK_NOFOLLOW) == -1) {
		log_warn("utimensat %s", rel);
		return berr_from_errno(errno);
	}
	return 0;
}

int
store_sync_fanout(struct store *st, enum digest_algo algo,
    unsigned int fanout)
{
	char	 name[3];
	int	 fd, rc = 0;

	if (!st->durable)
		return 0;
	snprintf(name, sizeof(name), "%02x", fanout & 0xff);
	if ((fd = openat(st->algo_fd[store_algo_index(algo)], name,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 || fsync(fd) == -1) {
		log_warn("fsync %s/blobs/%s/%s", st->path,
		    digest_algo_name(algo), name);
		rc = berr_from_errno(errno);
	}
	if (fd != -1)
		close(fd);
	return rc;
}

int
store_commit(struct store *st, int fd, int srcdir, const char *srcname,
    const struct digest *d, struct commit *c)
{
	char		 rel[STORE_REL_MAX];
	int		 algo_fd;

	algo_fd = st->algo_fd[store_algo_index(d->algo)];
	store_rel_path(d, rel);
	rel[2] = '\0';
	if (mkdirat(algo_fd, rel, 0750) == 0)
		/* New: its name in the algorithm's directory must last. */
		c->parent_dir = algo_fd;
	else if (errno != EEXIST) {
		log_warn("%s/blobs/%s/%s", st->path,
		    digest_algo_name(d->algo), rel);
		return berr_from_errno(errno);
	}
	if ((c->dst_dir = openat(algo_fd, rel, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_warn("%s/blobs/%s/%s", st->path,
		    digest_algo_name(d->algo), rel);
		return berr_from_errno(errno);
	}
	snprintf(c->dst_name, sizeof(c->dst_name), "%s", rel + 3);
	snprintf(c->src_name, sizeof(c->src_name), "%s", srcname);
	c->src_dir = srcdir;
	c->dir_id = (unsigned int)store_algo_index(d->algo) << 8 |
	    store_fanout(d);
	c->fd = fd;
	return 0;
}

void
store_committed(struct store *st, const struct commit *c, uint64_t size)
{
	if (st->counted && c->err == 0 && c->created) {
		st->blobs++;
		st->bytes += size;
	}
}

int
store_put(struct store *st, const struct digest *d, const void *data,
    size_t size, struct commit *c)
{
	struct stat	 sb;
	uint64_t	 psize;
	int64_t		 pmtime;
	char		 name[COMMIT_NAME_MAX];
	int		 fd, rc;

	/*
	 * Stored already: nothing to write.  The commit, with nothing of its
	 * own, is answered once whatever stored the blob is on disk: with
	 * the log's next sync if it may be waiting there.
	 */
	if ((rc = store_file_stat(st, d, &sb)) != 0)
		return rc < 0 ? rc : store_touch(st, d);
	if (pack_stat(st->pack, d, &psize, &pmtime) == 0) {
		pack_touch(st->pack, d);
		if (metalog_dirty(st->metalog))
			c->log_end = metalog_end(st->metalog);
		return 0;
	}
	if (st->metalog != NULL && size <= st->pack_max) {
		if ((rc = pack_put(st->pack, st->metalog, d, data, size)) != 0)
			return rc;
		c->log_end = metalog_end(st->metalog);
		c->created = 1;
		return 0;
	}

	snprintf(name, sizeof(name), "blob.%" PRIu64, st->tmp_seq++);
	if ((fd = openat(st->tmp_fd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) == -1) {
		log_warn("%s/tmp/%s", st->path, name);
		return berr_from_errno(errno);
	}
	if (write_full(fd, data, size) == -1) {
		log_warn("write %s/tmp/%s", st->path, name);
		rc = berr_from_errno(errno);
	} else
		rc = store_commit(st, fd, st->tmp_fd, name, d, c);
	if (rc != 0) {
		close(fd);
		c->fd = -1;
		(void)unlinkat(st->tmp_fd, name, 0);
	}
	return rc;
}

int
store_write(struct store *st, const struct digest *d, const void *data,
    size_t size, struct commit *c)
{
	struct digest	 got;

	digest_compute(d->algo, data, size, &got);
	if (!digest_eq(&got, d))
		return BERR_DIGEST_INVALID;
	return store_put(st, d, data, size, c);
}

int
store_open_blob(struct store *st, const struct digest *d, int *fdp,
    uint64_t *offset, uint64_t *size)
{
	struct stat	 sb;
	char		 rel[STORE_REL_MAX];
	int		 fd, rc;

	store_rel_path(d, rel);
	*offset = 0;
	if ((fd = openat(st->algo_fd[store_algo_index(d->algo)], rel,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return st->metalog == NULL ? BERR_BLOB_UNKNOWN :
			    pack_open(st->pack, st->metalog, d, fdp, offset,
			    size);
		if (errno == ELOOP)
			return BERR_BLOB_UNKNOWN;
		log_warn("open %s", rel);
		return berr_from_errno(errno);
	}
	if (fstat(fd, &sb) == -1) {
		rc = berr_from_errno(errno);
		close(fd);
		return rc;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return BERR_BLOB_UNKNOWN;
	}
	*fdp = fd;
	*size = (uint64_t)sb.st_size;
	return 0;
}

int
store_remove_blob(struct store *st, const struct digest *d, uint64_t size,
    int *packed)
{
	char	 rel[STORE_REL_MAX];
	int	 rc;

	store_rel_path(d, rel);
	*packed = 0;
	if (unlinkat(st->algo_fd[store_algo_index(d->algo)], rel, 0) == -1) {
		if (errno != ENOENT) {
			log_warn("unlink %s", rel);
			return berr_from_errno(errno);
		}
		if (st->metalog == NULL)
			return BERR_BLOB_UNKNOWN;
		if ((rc = pack_remove(st->pack, st->metalog, d)) != 0)
			return rc;
		*packed = 1;
	}
	if (st->counted && st->blobs > 0)
		st->blobs--;
	if (st->counted)
		st->bytes -= size < st->bytes ? size : st->bytes;
	return 0;
}

int
store_sync_pack(struct store *st)
{
	int	 rc;

	if ((rc = metalog_sync(st->metalog)) != 0)
		return rc;
	/* The dead marks are on disk: the bytes may go. */
	pack_marks_synced(st->pack, mono_ms());
	while (pack_punch(st->pack, st->metalog, INT64_MAX, INT64_MAX))
		;
	return metalog_maintain(st->metalog);
}

static int
is_lower_hex(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Walks one fan-out directory; see store_walk(). */
static int
store_walk_fanout(int algo_fd, enum digest_algo algo, const char *fan,
    store_walk_cb cb, void *arg)
{
	DIR		*dir;
	struct dirent	*de;
	struct digest	 d;
	struct stat	 sb;
	size_t		 hexlen = 2 * digest_raw_len(algo);
	int		 rc = 0;

	if ((dir = store_opendir(algo_fd, fan)) == NULL) {
		log_warn("open blobs/%s/%s", digest_algo_name(algo), fan);
		return BERR_IO;
	}
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (strlen(de->d_name) != hexlen ||
		    !is_lower_hex(de->d_name, hexlen) ||
		    memcmp(de->d_name, fan, 2) != 0) {
			log_warnx("blobs/%s/%s/%s: not a blob, ignored",
			    digest_algo_name(algo), fan, de->d_name);
			continue;
		}
		memset(&d, 0, sizeof(d));
		d.algo = algo;
		(void)hex_decode(de->d_name, hexlen, d.raw);
		if (fstatat(dirfd(dir), de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;
			log_warn("stat blobs/%s/%s/%s",
			    digest_algo_name(algo), fan, de->d_name);
			rc = BERR_IO;
			break;
		}
		if (!S_ISREG(sb.st_mode)) {
			log_warnx("blobs/%s/%s/%s: not a regular file, "
			    "ignored", digest_algo_name(algo), fan,
			    de->d_name);
			continue;
		}
		rc = cb(&d, (uint64_t)sb.st_size, store_mtime_ms(&sb), arg);
	}
	closedir(dir);
	return rc;
}

int
store_walk(struct store *st, store_walk_cb cb, void *arg)
{
	DIR		*dir;
	struct dirent	*de;
	size_t		 i;
	int		 rc = 0;

	for (i = 0; rc == 0 && i < nitems(store_algos); i++) {
		if ((dir = store_opendir(st->algo_fd[i], ".")) == NULL) {
			log_warn("open %s/blobs/%s", st->path,
			    digest_algo_name(store_algos[i]));
			return BERR_IO;
		}
		while (rc == 0 && (de = readdir(dir)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (strlen(de->d_name) != 2 ||
			    !is_lower_hex(de->d_name, 2)) {
				log_warnx("blobs/%s/%s: unexpected, ignored",
				    digest_algo_name(store_algos[i]),
				    de->d_name);
				continue;
			}
			rc = store_walk_fanout(st->algo_fd[i], store_algos[i],
			    de->d_name, cb, arg);
		}
		closedir(dir);
	}
	if (rc == 0 && st->metalog != NULL)
		rc = pack_walk(st->pack, cb, arg);
	return rc;
}

int
store_walk_part(struct store *st, unsigned int part, store_walk_cb cb,
    void *arg)
{
	struct stat	 sb;
	char		 fan[3];
	size_t		 a = part / 256;

	if (part == STORE_WALK_PARTS - 1)
		return st->metalog != NULL ? pack_walk(st->pack, cb, arg) : 0;
	if (a >= nitems(store_algos))
		return BERR_INTERNAL;
	snprintf(fan, sizeof(fan), "%02x", part % 256);
	/* A fan-out directory is made by the first blob it holds. */
	if (fstatat(st->algo_fd[a], fan, &sb, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT)
		return 0;
	return store_walk_fanout(st->algo_fd[a], store_algos[a], fan, cb,
	    arg);
}

int
store_probe(struct store *st)
{
	char	 name[64];
	int	 fd, ok;

	snprintf(name, sizeof(name), "probe.%" PRIu64, st->tmp_seq++);
	if ((fd = openat(st->tmp_fd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) == -1)
		return 0;
	ok = write_full(fd, "probe\n", 6) == 0;
	close(fd);
	if (unlinkat(st->tmp_fd, name, 0) == -1)
		ok = 0;
	return ok;
}
