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
 * Upload sessions: DIR/uploads/<uuid>/info (owner, algorithm, creation
 * time, the boot that wrote the data, with a CRC) and .../data (the bytes
 * so far), kept in a hash table.  Found after the machine restarted, a
 * session starts again empty (upload_other_boot).
 * A session is written to disk only when it first needs its file: one
 * whose bytes all come with its commit never is (nor its removal), and an
 * empty one is forgotten by a crash, as one not yet fsync'd always was.
 * Data arrives through upload_append.c, hashed as it comes; a commit
 * checks the digest (re-reading what was not hashed, in steps, after a
 * restart), then hands the file to the store.  Idle sessions expire after
 * --upload-ttl.
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

#include <event2/event.h>

#include "blobd.h"
#include "buf.h"
#include "digest.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define UPLOAD_INFO_MAGIC	"BERTHUPL"
#define UPLOAD_INFO_VERSION	2	/* 1: without the boot id */
#define UPLOAD_INFO_MAX		4096
/* "<uuid>/info.new" */
#define UPLOAD_PATH_MAX		(UPLOAD_NAME_LEN + 12)
#define UPLOAD_BOOT_ID		"/proc/sys/kernel/random/boot_id"

static void	upload_unlink(struct upload *);

/* A session's directory name: its id's UUID form exactly as written. */
static int
upload_parse_name(const char *s, uint8_t *id)
{
	char	 again[UPLOAD_NAME_LEN];

	if (uuid_parse(s, id) == -1)
		return -1;
	uuid_format(id, again);
	return strcmp(s, again) == 0 ? 0 : -1;
}

static void
upload_path(const struct upload *u, const char *file, char *out)
{
	snprintf(out, UPLOAD_PATH_MAX, "%s/%s", u->name, file);
}

static size_t
upload_bucket(const struct upload_table *t, const uint8_t *id)
{
	uint64_t h;

	/* Ids are random, but those read back from disk need not be. */
	memcpy(&h, id, sizeof(h));
	h ^= h >> 31;
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	return (size_t)h & (t->nbuckets - 1);
}

static struct upload *
upload_lookup(const struct upload_table *t, const uint8_t *id)
{
	struct upload	*u;

	for (u = t->buckets[upload_bucket(t, id)]; u != NULL; u = u->next)
		if (memcmp(u->id, id, UPLOAD_ID_LEN) == 0)
			return u;
	return NULL;
}

static void
upload_insert(struct upload_table *t, struct upload *u)
{
	struct upload	**old, *v, *next;
	size_t		 i, n, b;

	if (t->count >= t->nbuckets) {
		old = t->buckets;
		n = t->nbuckets;
		t->nbuckets *= 2;
		t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
		for (i = 0; i < n; i++)
			for (v = old[i]; v != NULL; v = next) {
				next = v->next;
				b = upload_bucket(t, v->id);
				v->next = t->buckets[b];
				t->buckets[b] = v;
			}
		free(old);
	}
	b = upload_bucket(t, u->id);
	u->next = t->buckets[b];
	t->buckets[b] = u;
	u->table = t;
	t->count++;
}

static void
upload_free(struct upload *u)
{
	if (u->ev != NULL)
		event_free(u->ev);
	if (u->pipe != -1)
		close(u->pipe);
	if (u->fd != -1)
		close(u->fd);
	if (u->dio_fd != -1)
		close(u->dio_fd);
	if (u->dio_buf[0] != NULL) {
		free(u->dio_buf[0]);
		free(u->dio_buf[1]);
		u->table->dio_count--;
	}
	upload_held_free(u);
	digest_ctx_free(u->ctx);
	free(u->owner);
	free(u);
}

/* Removes a session directory and what it holds; best effort. */
static void
upload_remove_dir(int dir_fd, const char *name)
{
	int	 fd;

	if ((fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) != -1) {
		(void)store_empty_dir(fd);
		close(fd);
	}
	if (unlinkat(dir_fd, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		log_warn("cannot remove uploads/%s", name);
}

/* Forgets the session and removes it from disk. */
static void
upload_unlink(struct upload *u)
{
	struct upload_table	 *t = u->table;
	struct upload		**pp;

	for (pp = &t->buckets[upload_bucket(t, u->id)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == u) {
			*pp = u->next;
			t->count--;
			break;
		}
	if (u->on_disk)
		upload_remove_dir(t->dir_fd, u->name);
	upload_free(u);
}

static void
upload_info_encode(const struct upload *u, struct wbuf *w)
{
	wbuf_put(w, UPLOAD_INFO_MAGIC, 8);
	wbuf_put_u32(w, UPLOAD_INFO_VERSION);
	wbuf_put_u32(w, (uint32_t)u->algo);
	wbuf_put_i64(w, u->created);
	wbuf_put_str(w, u->owner);
	wbuf_put(w, u->boot, UUID_LEN);
	wbuf_put_u32(w, crc32c(0, w->data, w->len));
}

/* Fills owner, algo and created from an info file's bytes; 0 or -1. */
static int
upload_info_decode(struct upload *u, const uint8_t *p, size_t n)
{
	struct rbuf	 r;
	const void	*magic, *boot = NULL;
	uint32_t	 version, algo;

	if (n < 4)
		return -1;
	rbuf_init(&r, p + n - 4, 4);
	if (rbuf_get_u32(&r) != crc32c(0, p, n - 4))
		return -1;
	rbuf_init(&r, p, n - 4);
	magic = rbuf_get_raw(&r, 8);
	version = rbuf_get_u32(&r);
	algo = rbuf_get_u32(&r);
	u->created = rbuf_get_i64(&r);
	u->owner = rbuf_get_str(&r, OWNER_MAX - 1);
	if (version == UPLOAD_INFO_VERSION)
		boot = rbuf_get_raw(&r, UUID_LEN);
	if (!rbuf_ok(&r) || r.left != 0 ||
	    memcmp(magic, UPLOAD_INFO_MAGIC, 8) != 0 ||
	    (version != UPLOAD_INFO_VERSION && version != 1) ||
	    (algo != DIGEST_SHA256 && algo != DIGEST_SHA512) ||
	    u->owner[0] == '\0')
		return -1;
	u->algo = (enum digest_algo)algo;
	/* Version 1: written in a boot not known, treated as another. */
	if (boot != NULL)
		memcpy(u->boot, boot, UUID_LEN);
	return 0;
}

/*
 * The id of this boot of the machine, which a session's info records:
 * its data file is true to its size (in the page cache, if not on disk)
 * only in the boot that wrote it.
 */
static void
upload_read_boot_id(struct upload_table *t)
{
	char	 buf[UUID_STR_LEN + 1];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(UPLOAD_BOOT_ID, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s: upload sessions start again empty at each start",
		    UPLOAD_BOOT_ID);
		return;
	}
	n = read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (uuid_parse(buf, t->boot) == 0)
		t->boot_known = 1;
	else
		log_warnx("%s: not a UUID; upload sessions start again empty "
		    "at each start", UPLOAD_BOOT_ID);
}

/*
 * A session whose data was written in another boot.  Appends are not
 * synced before the commit, so after a power cut its file's size may
 * count bytes that never reached the disk (zeros, or old blocks): only
 * what was synced is known to be the client's, and that is nothing.  The
 * session starts again empty, stamped with this boot (info.new renamed
 * over info: no sync, since a stamp lost to another cut only starts it
 * again), and the client, told offset 0, sends everything again.
 */
static int
upload_other_boot(struct upload_table *t, struct upload *u, struct stat *sb)
{
	struct wbuf	 w;
	char		 path[UPLOAD_PATH_MAX], info[UPLOAD_PATH_MAX];
	int		 fd, rc = -1;

	upload_path(u, "data", path);
	if (sb->st_size > 0) {
		if ((fd = openat(t->dir_fd, path, O_WRONLY | O_TRUNC |
		    O_CLOEXEC | O_NOFOLLOW)) == -1) {
			log_warn("uploads/%s", path);
			return -1;
		}
		close(fd);
		log_info("upload %s: its %lld bytes were written before the "
		    "machine started and never synced; it starts again at 0",
		    u->name, (long long)sb->st_size);
		sb->st_size = 0;
	}
	memcpy(u->boot, t->boot, UUID_LEN);
	wbuf_init(&w);
	upload_info_encode(u, &w);
	upload_path(u, "info.new", path);
	upload_path(u, "info", info);
	if ((fd = openat(t->dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) != -1 &&
	    write_full(fd, w.data, w.len) == 0 &&
	    renameat(t->dir_fd, path, t->dir_fd, info) == 0)
		rc = 0;
	else
		log_warn("uploads/%s", path);
	if (fd != -1)
		close(fd);
	wbuf_clear(&w);
	return rc;
}

static struct upload *
upload_alloc(void)
{
	struct upload	*u;

	u = xcalloc(1, sizeof(*u));
	u->fd = u->pipe = u->dio_fd = -1;
	u->state = UPLOAD_IDLE;
	return u;
}

/* Loads the session in directory name; -1 if it is not a valid one. */
static int
upload_load_one(struct upload_table *t, const char *name)
{
	struct upload	*u;
	struct stat	 sb;
	uint8_t		 info[UPLOAD_INFO_MAX];
	char		 path[UPLOAD_PATH_MAX];
	ssize_t		 n;
	int		 fd;

	u = upload_alloc();
	if (upload_parse_name(name, u->id) == -1)
		goto bad;
	memcpy(u->name, name, UPLOAD_NAME_LEN);
	upload_path(u, "info", path);
	if ((fd = openat(t->dir_fd, path, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		log_warn("uploads/%s", path);
		goto bad;
	}
	n = read_full(fd, info, sizeof(info));
	close(fd);
	if (n <= 0 || (size_t)n == sizeof(info) ||
	    upload_info_decode(u, info, (size_t)n) == -1) {
		log_warnx("uploads/%s: corrupt", path);
		goto bad;
	}
	upload_path(u, "data", path);
	if (fstatat(t->dir_fd, path, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(sb.st_mode)) {
		log_warnx("uploads/%s: missing", path);
		goto bad;
	}
	if (upload_lookup(t, u->id) != NULL)
		goto bad;
	if ((!t->boot_known || memcmp(u->boot, t->boot, UUID_LEN) != 0) &&
	    upload_other_boot(t, u, &sb) == -1)
		goto bad;
	u->size = u->synced = u->waited = (uint64_t)sb.st_size;
	u->touched = sb.st_mtim.tv_sec;
	u->on_disk = 1;
	/* ctx stays NULL: the commit hashes the file from the start. */
	upload_insert(t, u);
	return 0;
bad:
	upload_free(u);
	return -1;
}

static int
upload_load(struct upload_table *t)
{
	DIR		*dir;
	struct dirent	*de;
	uint8_t		 id[UPLOAD_ID_LEN];

	if ((dir = store_opendir(t->dir_fd, ".")) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (upload_parse_name(de->d_name, id) == -1) {
			log_warnx("uploads/%s: not an upload session, ignored",
			    de->d_name);
			continue;
		}
		if (upload_load_one(t, de->d_name) == -1) {
			log_warnx("removing broken upload session %s",
			    de->d_name);
			upload_remove_dir(t->dir_fd, de->d_name);
		}
	}
	closedir(dir);
	return 0;
}

struct upload_table *
upload_table_new(struct store *st, int datadir_fd, struct event_base *base,
    int64_t ttl, int *new_dirs)
{
	struct upload_table	*t;

	t = xcalloc(1, sizeof(*t));
	t->store = st;
	t->base = base;
	t->ttl = ttl;
	t->nbuckets = 64;
	t->dio_max = UPLOAD_DIO_MAX;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	t->buf = xmalloc(BLOBD_IO_SIZE);
	if ((t->dir_fd = store_subdir(datadir_fd, "uploads", new_dirs)) ==
	    -1) {
		log_warn("%s/uploads", st->path);
		upload_table_free(t);
		return NULL;
	}
	upload_read_boot_id(t);
	if (upload_load(t) == -1) {
		log_warn("cannot read %s/uploads", st->path);
		upload_table_free(t);
		return NULL;
	}
	log_info("%zu upload sessions", t->count);
	upload_held_at_exit(t);
	return t;
}

void
upload_table_free(struct upload_table *t)
{
	struct upload	*u, *next;
	size_t		 i;

	if (t == NULL)
		return;
	/* No direct write may still be on its way into a buffer. */
	writer_free(t->writer);
	upload_held_spill_all(t);
	upload_held_at_exit(NULL);
	for (i = 0; i < t->nbuckets; i++)
		for (u = t->buckets[i]; u != NULL; u = next) {
			next = u->next;
			upload_free(u);
		}
	if (t->dir_fd != -1)
		close(t->dir_fd);
	free(t->buckets);
	free(t->buf);
	free(t);
}

int
upload_create(struct upload_table *t, const char *owner,
    enum digest_algo algo, struct upload **up)
{
	struct upload	*u;

	if (algo == 0)
		algo = DIGEST_SHA256;
	if (algo != DIGEST_SHA256 && algo != DIGEST_SHA512)
		return BERR_DIGEST_UNSUPPORTED;
	if (owner[0] == '\0' || strlen(owner) >= OWNER_MAX)
		return BERR_BAD_REQUEST;

	u = upload_alloc();
	do {
		random_bytes(u->id, sizeof(u->id));
		/* An RFC 4122 version 4 UUID, as clients are used to. */
		u->id[6] = (u->id[6] & 0x0f) | 0x40;
		u->id[8] = (u->id[8] & 0x3f) | 0x80;
	} while (upload_lookup(t, u->id) != NULL);
	uuid_format(u->id, u->name);
	memcpy(u->boot, t->boot, UUID_LEN);
	u->owner = xstrdup(owner);
	u->algo = algo;
	u->created = u->touched = now_sec();
	u->ctx = digest_ctx_new(algo);
	upload_insert(t, u);
	*up = u;
	return 0;
}

/* Writes the session's directory, its info and an empty data file; 0, or
 * -1 with errno set (nothing is left behind). */
static int
upload_write_dir(struct upload *u)
{
	struct upload_table	*t = u->table;
	struct wbuf		 w;
	char			 path[UPLOAD_PATH_MAX];
	int			 fd = -1, saved;

	if (mkdirat(t->dir_fd, u->name, 0750) == -1) {
		log_warn("%s/uploads/%s", t->store->path, u->name);
		return -1;
	}
	/* No fsync: a session lost to a crash is restarted by the client. */
	wbuf_init(&w);
	upload_info_encode(u, &w);
	upload_path(u, "info", path);
	fd = openat(t->dir_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
	if (fd == -1 || write_full(fd, w.data, w.len) == -1)
		goto fail;
	close(fd);
	upload_path(u, "data", path);
	if ((fd = openat(t->dir_fd, path, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) == -1)
		goto fail;
	close(fd);
	wbuf_clear(&w);
	u->on_disk = 1;
	return 0;
fail:
	saved = errno;
	log_warn("%s/uploads/%s", t->store->path, path);
	if (fd != -1)
		close(fd);
	wbuf_clear(&w);
	upload_remove_dir(t->dir_fd, u->name);
	errno = saved;
	return -1;
}

struct upload *
upload_find(struct upload_table *t, const uint8_t *id, const char *owner)
{
	struct upload	*u;

	if ((u = upload_lookup(t, id)) == NULL || strcmp(u->owner, owner) != 0)
		return NULL;
	u->touched = now_sec();
	return u;
}

int
upload_cancel(struct upload *u)
{
	if (u->state != UPLOAD_IDLE)
		return BERR_UPLOAD_BUSY;
	upload_unlink(u);
	return 0;
}

int
upload_open_data(struct upload *u, int flags)
{
	char	 path[UPLOAD_PATH_MAX];
	int	 fd;

	if (!u->on_disk && upload_write_dir(u) == -1)
		return -1;
	upload_path(u, "data", path);
	if ((fd = openat(u->table->dir_fd, path, flags | O_CLOEXEC |
	    O_NOFOLLOW)) == -1 && !((flags & O_DIRECT) && errno == EINVAL))
		log_warn("%s/uploads/%s", u->table->store->path, path);
	return fd;
}

uint64_t
upload_hash_pending(const struct upload *u, enum digest_algo algo)
{
	if (u->ctx == NULL || u->algo != algo)
		return u->size;
	return u->size - u->hashed;
}

/* Hashes up to max more of the bytes upload_hash_pending() counts.  0 or
 * a negative berr. */
static int
upload_hash_step(struct upload *u, enum digest_algo algo, uint64_t max)
{
	uint8_t	*buf = u->table->buf;
	size_t	 n;
	ssize_t	 r;
	int	 fd, rc = 0;

	if (u->ctx == NULL || u->algo != algo) {
		digest_ctx_free(u->ctx);
		u->ctx = digest_ctx_new(algo);
		u->algo = algo;
		u->hashed = 0;
	}
	if (max == 0 || u->hashed == u->size)
		return 0;
	if (u->held != NULL) {
		n = (size_t)(u->size - u->hashed);
		if (n > max)
			n = (size_t)max;
		digest_ctx_update(u->ctx, u->held + u->hashed, n);
		u->hashed += n;
		return 0;
	}
	if ((fd = u->fd) == -1 && (fd = upload_open_data(u, O_RDWR)) == -1)
		return berr_from_errno(errno);
	while (max > 0 && u->hashed < u->size) {
		n = BLOBD_IO_SIZE;
		if (n > u->size - u->hashed)
			n = (size_t)(u->size - u->hashed);
		if (n > max)
			n = (size_t)max;
		if ((r = pread_full(fd, buf, n, (off_t)u->hashed)) == -1) {
			log_warn("read upload %s", u->name);
			rc = berr_from_errno(errno);
			break;
		}
		if ((size_t)r != n) {
			log_warnx("upload %s: data file is shorter than "
			    "%" PRIu64 " bytes", u->name, u->size);
			rc = BERR_IO;
			break;
		}
		digest_ctx_update(u->ctx, buf, n);
		u->hashed += n;
		max -= n;
	}
	if (fd != u->fd)
		close(fd);
	return rc;
}

static void
upload_hash_cb(evutil_socket_t fd, short events, void *arg)
{
	struct upload	*u = arg;
	struct timeval	 now = { 0, 0 };
	int		 rc;

	rc = upload_hash_step(u, u->algo, UPLOAD_HASH_STEP);
	if (rc == 0 && u->hashed < u->size) {
		evtimer_add(u->ev, &now);
		return;
	}
	upload_finish(u, rc);
}

int
upload_hash_start(struct upload *u, enum digest_algo algo,
    upload_done_cb cb, void *arg)
{
	struct timeval	 now = { 0, 0 };

	if (u->state != UPLOAD_IDLE)
		return BERR_UPLOAD_BUSY;
	if (u->table->base == NULL)
		return BERR_INTERNAL;
	if (u->held == NULL && (u->fd = upload_open_data(u, O_RDWR)) == -1)
		return berr_from_errno(errno);
	(void)upload_hash_step(u, algo, 0);	/* picks the algorithm */
	u->state = UPLOAD_HASHING;
	u->done_cb = cb;
	u->done_arg = arg;
	/* A zero timeout runs once per loop iteration, after the I/O. */
	if ((u->ev = evtimer_new(u->table->base, upload_hash_cb, u)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(u->ev, &now);
	return 0;
}

/* A small session's bytes go to the pack: the log's next sync makes them
 * durable, and the session's file is removed after (no sync for that).
 * Takes fd on success. */
static int
upload_commit_packed(struct upload *u, int fd, const struct digest *d,
    struct commit *c)
{
	uint8_t	*data;
	int	 rc;

	data = xmalloc(u->size == 0 ? 1 : (size_t)u->size);
	if (pread_full(fd, data, (size_t)u->size, 0) != (ssize_t)u->size) {
		log_warn("upload %s: data file", u->name);
		free(data);
		return BERR_IO;
	}
	if ((rc = store_put(u->table->store, d, data, (size_t)u->size, c)) ==
	    0)
		close(fd);
	free(data);
	return rc;
}

int
upload_commit(struct upload *u, const struct digest *d, uint64_t size,
    struct commit *c)
{
	struct upload_table	*t = u->table;
	struct digest		 got;
	struct stat		 sb;
	char			 path[UPLOAD_PATH_MAX];
	int			 fd, rc;

	if (u->state != UPLOAD_IDLE)
		return BERR_UPLOAD_BUSY;
	if (size != UINT64_MAX && size != u->size)
		return BERR_SIZE_INVALID;
	if ((rc = upload_hash_step(u, d->algo, UINT64_MAX)) != 0)
		return rc;
	digest_ctx_final(u->ctx, &got);
	digest_ctx_reset(u->ctx);
	u->hashed = 0;
	if (!digest_eq(&got, d))
		return BERR_DIGEST_INVALID;

	if (u->held != NULL) {
		/* Held in memory: no file to read back (upload_held.c). */
		if ((rc = store_put(t->store, d, u->held, (size_t)u->size,
		    c)) != 0)
			return rc;
		u->state = UPLOAD_COMMITTING;
		return 0;
	}
	if ((fd = upload_open_data(u, O_RDWR)) == -1)
		return berr_from_errno(errno);
	if (fstat(fd, &sb) == -1 || (uint64_t)sb.st_size < u->size ||
	    ((uint64_t)sb.st_size > u->size &&
	    ftruncate(fd, (off_t)u->size) == -1)) {
		log_warn("upload %s: data file", u->name);
		close(fd);
		return BERR_IO;
	}
	if (u->size <= t->store->pack_max)
		rc = upload_commit_packed(u, fd, d, c);
	else {
		upload_path(u, "data", path);
		rc = store_commit(t->store, fd, t->dir_fd, path, d, c);
	}
	if (rc != 0) {
		close(fd);
		return rc;
	}
	u->state = UPLOAD_COMMITTING;
	return 0;
}

void
upload_committed(struct upload *u, int err)
{
	char	 path[UPLOAD_PATH_MAX];

	u->state = UPLOAD_IDLE;
	upload_path(u, "data", path);
	/* Gone unless the data is still where it was. */
	if (err == 0 || (u->on_disk && faccessat(u->table->dir_fd, path,
	    F_OK, AT_SYMLINK_NOFOLLOW) == -1))
		upload_unlink(u);
}

size_t
upload_expire(struct upload_table *t, int64_t now)
{
	struct upload	*u, *next;
	size_t		 i, n = 0;

	for (i = 0; i < t->nbuckets; i++)
		for (u = t->buckets[i]; u != NULL; u = next) {
			next = u->next;
			if (u->state != UPLOAD_IDLE ||
			    now - u->touched < t->ttl)
				continue;
			log_info("upload %s of %s expired after %" PRId64
			    " s unused", u->name, u->owner, now - u->touched);
			upload_unlink(u);
			n++;
		}
	return n;
}
