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
store_subdir(int dirfd, const char *name)
{
	int	 fd;

	if (mkdirat(dirfd, name, 0750) == 0) {
		/* A new directory exists only once its parent says so. */
		if (fsync_dirfd(dirfd) == -1)
			return -1;
	} else if (errno != EEXIST)
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

static int
store_count_cb(const struct digest *d, const struct stat *sb, void *arg)
{
	struct store	*st = arg;

	st->blobs++;
	st->bytes += (uint64_t)sb->st_size;
	return 0;
}

struct store *
store_new(int datadir_fd, const char *path)
{
	struct store	*st;
	size_t		 i;

	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	st->blobs_fd = st->algo_fd[0] = st->algo_fd[1] = st->tmp_fd = -1;
	if ((st->blobs_fd = store_subdir(datadir_fd, "blobs")) == -1) {
		log_warn("%s/blobs", path);
		goto fail;
	}
	for (i = 0; i < nitems(store_algos); i++) {
		const char *name = digest_algo_name(store_algos[i]);
		if ((st->algo_fd[i] = store_subdir(st->blobs_fd, name)) == -1) {
			log_warn("%s/blobs/%s", path, name);
			goto fail;
		}
	}
	if ((st->tmp_fd = store_subdir(datadir_fd, "tmp")) == -1) {
		log_warn("%s/tmp", path);
		goto fail;
	}
	if (store_empty_dir(st->tmp_fd) == -1) {
		log_warn("cannot empty %s/tmp", path);
		goto fail;
	}
	if (store_walk(st, store_count_cb, st) != 0) {
		log_warnx("cannot read the blob store in %s/blobs", path);
		goto fail;
	}
	log_info("blob store %s: %" PRIu64 " blobs, %" PRIu64 " bytes", path,
	    st->blobs, st->bytes);
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
	free(st->path);
	free(st);
}

int
store_stat_blob(struct store *st, const struct digest *d, struct stat *sb)
{
	char	 rel[STORE_REL_MAX];

	store_rel_path(d, rel);
	if (fstatat(st->algo_fd[store_algo_index(d->algo)], rel, sb,
	    AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return BERR_BLOB_UNKNOWN;
		log_warn("stat %s", rel);
		return berr_from_errno(errno);
	}
	if (!S_ISREG(sb->st_mode))
		return BERR_BLOB_UNKNOWN;
	return 0;
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
    const struct digest *d, uint64_t size, int *created)
{
	struct stat	 sb;
	char		 rel[STORE_REL_MAX], fan[3];
	int		 algo_fd, fan_fd, rc;

	*created = 0;
	if ((rc = store_stat_blob(st, d, &sb)) == 0) {
		if (unlinkat(srcdir, srcname, 0) == -1)
			log_warn("unlink %s", srcname);
		return store_touch(st, d);
	}
	if (rc != BERR_BLOB_UNKNOWN)
		return rc;
	rc = 0;

	if (fdatasync(fd) == -1) {
		log_warn("fdatasync %s", srcname);
		return berr_from_errno(errno);
	}
	algo_fd = st->algo_fd[store_algo_index(d->algo)];
	store_rel_path(d, rel);
	memcpy(fan, rel, 2);
	fan[2] = '\0';
	if ((fan_fd = store_subdir(algo_fd, fan)) == -1) {
		log_warn("%s/blobs/%s/%s", st->path,
		    digest_algo_name(d->algo), fan);
		return berr_from_errno(errno);
	}
	if (renameat(srcdir, srcname, fan_fd, rel + 3) == -1) {
		log_warn("rename %s to %s", srcname, rel);
		rc = berr_from_errno(errno);
		close(fan_fd);
		return rc;
	}
	st->blobs++;
	st->bytes += size;
	*created = 1;
	if (fsync(fan_fd) == -1) {
		log_warn("fsync %s/blobs/%s/%s", st->path,
		    digest_algo_name(d->algo), fan);
		rc = berr_from_errno(errno);
	}
	close(fan_fd);
	return rc;
}

int
store_write(struct store *st, const struct digest *d, const void *data,
    size_t size, int *created)
{
	struct digest	 got;
	struct stat	 sb;
	char		 name[64];
	int		 fd, rc;

	*created = 0;
	digest_compute(d->algo, data, size, &got);
	if (!digest_eq(&got, d))
		return BERR_DIGEST_INVALID;
	/* Stored already: no file to write, nothing to sync. */
	if ((rc = store_stat_blob(st, d, &sb)) == 0)
		return store_touch(st, d);
	if (rc != BERR_BLOB_UNKNOWN)
		return rc;

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
		rc = store_commit(st, fd, st->tmp_fd, name, d, size, created);
	close(fd);
	if (rc != 0 && !*created)
		(void)unlinkat(st->tmp_fd, name, 0);
	return rc;
}

int
store_open_blob(struct store *st, const struct digest *d, int *fdp,
    uint64_t *size)
{
	struct stat	 sb;
	char		 rel[STORE_REL_MAX];
	int		 fd, rc;

	store_rel_path(d, rel);
	if ((fd = openat(st->algo_fd[store_algo_index(d->algo)], rel,
	    O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
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
store_remove_blob(struct store *st, const struct digest *d,
    const struct stat *sb)
{
	char	 rel[STORE_REL_MAX];

	store_rel_path(d, rel);
	if (unlinkat(st->algo_fd[store_algo_index(d->algo)], rel, 0) == -1) {
		if (errno == ENOENT)
			return BERR_BLOB_UNKNOWN;
		log_warn("unlink %s", rel);
		return berr_from_errno(errno);
	}
	if (st->blobs > 0)
		st->blobs--;
	st->bytes -= (uint64_t)sb->st_size < st->bytes ?
	    (uint64_t)sb->st_size : st->bytes;
	return 0;
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
    int (*cb)(const struct digest *, const struct stat *, void *), void *arg)
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
		rc = cb(&d, &sb, arg);
	}
	closedir(dir);
	return rc;
}

int
store_walk(struct store *st, int (*cb)(const struct digest *,
    const struct stat *, void *), void *arg)
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
	return rc;
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
