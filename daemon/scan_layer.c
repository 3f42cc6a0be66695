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
 * An image's layers, read with libarchive in the sandboxed child: tar,
 * gzip- or zstd-compressed (the only filters enabled, whatever the media
 * type claims; gzip through ISA-L, scan_gzip.c), lowest layer first, keeping only the few files the
 * scanner wants (os-release and the package databases) in a small view
 * of the merged filesystem.  The OCI layer rules apply across layers: a
 * whiteout ".wh.<name>" removes <name> from the layers below, an opaque
 * marker ".wh..wh..opq" empties its directory of them, and any entry
 * replaces what lower layers had at its path (a symbolic link or a file
 * where a directory was hides the directory's contents).
 *
 * Nothing is extracted and no link is followed, so link tricks reach
 * nothing; a path with a ".." component is refused outright, as no image
 * builder writes one.  Limits bound what one image may cost: bytes kept
 * per file, bytes decompressed in total, entries, and a decompression
 * ratio no real layer reaches.  Breaking one fails the scan with a
 * description; the process's memory and time limits are the backstop.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "scan.h"
#include "util.h"

/* A layer that expands past this many bytes... */
#define BOMB_FLOOR	(1024ULL * 1024 * 1024)
/* ...more than this many times its compressed size is a bomb. */
#define BOMB_RATIO	1000
/* Files kept over all layers (status.d/ has one per package; the view is
 * searched linearly). */
#define KEPT_FILES_MAX	10000

enum wanted {
	W_NONE = 0,
	W_OS_ETC,
	W_OS_USR,
	W_DPKG_STATUS,
	W_DPKG_STATUS_D,	/* one file of var/lib/dpkg/status.d/ */
	W_APK,
	W_RPM_SQLITE,
	W_RPM_SQLITE_USR,
	W_RPM_BDB,		/* presence only: not readable */
	W_RPM_NDB
};

static const struct {
	const char	*path;
	enum wanted	 kind;
} wanted_paths[] = {
	{ "etc/os-release", W_OS_ETC },
	{ "usr/lib/os-release", W_OS_USR },
	{ "var/lib/dpkg/status", W_DPKG_STATUS },
	{ "lib/apk/db/installed", W_APK },
	{ "var/lib/rpm/rpmdb.sqlite", W_RPM_SQLITE },
	{ "usr/lib/sysimage/rpm/rpmdb.sqlite", W_RPM_SQLITE_USR },
	{ "var/lib/rpm/Packages", W_RPM_BDB },
	{ "var/lib/rpm/Packages.db", W_RPM_NDB },
	{ "usr/lib/sysimage/rpm/Packages.db", W_RPM_NDB },
};
#define STATUS_D	"var/lib/dpkg/status.d/"

/* A file of the merged view. */
struct vfile {
	char		*path;
	enum wanted	 kind;
	uint32_t	 layer;
	uint8_t		*data;
	size_t		 len;
};

struct vfs {
	struct vfile	*v;
	size_t		 len, cap;
	uint64_t	 bytes;		/* data held */
};

/* One change a layer makes to the view, recorded as the layer is read
 * and applied once every layer below it has been. */
struct change {
	char		*path;
	enum wanted	 kind;		/* W_NONE: a removal */
	int		 exact, under;	/* removals: the path, what is beneath */
	uint8_t		*data;
	size_t		 len;
};

/* One layer's reading, done by one thread. */
struct layer_read {
	struct change	*ch;
	size_t		 nch, cap;
	struct scan_gzip *gz;		/* or NULL: libarchive's filters */
	uint64_t	 compressed, unpacked;
	int		 status;	/* 0, a scan status, or STOPPED */
	char		 why[SCAN_DESCRIPTION_MAX];
};
/* A layer left unread because another one failed. */
#define STOPPED		(-1)

/* Shared by the threads; the counters are updated atomically. */
struct reader {
	const struct scan_limits *lim;
	const struct scan_layer	*layers;
	size_t			 n;
	struct layer_read	*reads;
	uint64_t		 unpacked;	/* all layers so far */
	uint64_t		 entries;
	uint64_t		 kept;		/* bytes of files kept */
	uint64_t		 kept_files;
	size_t			 next;		/* the next layer to read */
	int			 stop;		/* a layer failed */
};

static int
reader_fail(struct reader *r, struct layer_read *lr, int status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
reader_fail(struct reader *r, struct layer_read *lr, int status,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(lr->why, sizeof(lr->why), fmt, ap);
	va_end(ap);
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	return status;
}

static enum wanted
wanted_kind(const char *path)
{
	const char	*base;
	size_t		 i, n;

	for (i = 0; i < nitems(wanted_paths); i++)
		if (strcmp(path, wanted_paths[i].path) == 0)
			return wanted_paths[i].kind;
	n = sizeof(STATUS_D) - 1;
	if (strncmp(path, STATUS_D, n) == 0) {
		base = path + n;
		if (*base != '\0' && strchr(base, '/') == NULL &&
		    (strlen(base) < 9 ||
		    strcmp(base + strlen(base) - 9, ".md5sums") != 0))
			return W_DPKG_STATUS_D;
	}
	return W_NONE;
}

/* Whether an entry at path can hide a file the view may hold: path is a
 * wanted file or one of the directories above one. */
static int
path_covers_wanted(const char *path)
{
	size_t	 i, n = strlen(path);

	if (strncmp(STATUS_D, path, n) == 0 &&
	    (STATUS_D[n] == '/' || STATUS_D[n] == '\0'))
		return 1;
	if (strncmp(path, STATUS_D, sizeof(STATUS_D) - 1) == 0)
		return 1;
	for (i = 0; i < nitems(wanted_paths); i++)
		if (strncmp(wanted_paths[i].path, path, n) == 0 &&
		    (wanted_paths[i].path[n] == '/' ||
		    wanted_paths[i].path[n] == '\0'))
			return 1;
	return 0;
}

static void
vfile_free(struct vfile *f)
{
	free(f->path);
	free(f->data);
}

/*
 * Removes files of layers below layer at path (exact) and, if under, the
 * files beneath path.
 */
static void
vfs_remove(struct vfs *vfs, const char *path, uint32_t layer, int exact,
    int under)
{
	size_t	 i, j, n = strlen(path);

	for (i = j = 0; i < vfs->len; i++) {
		struct vfile *f = &vfs->v[i];
		int hit = f->layer < layer &&
		    ((exact && strcmp(f->path, path) == 0) ||
		    (under && (n == 0 || (strncmp(f->path, path, n) == 0 &&
		    f->path[n] == '/'))));

		if (hit) {
			vfs->bytes -= f->len;
			vfile_free(f);
		} else
			vfs->v[j++] = *f;
	}
	vfs->len = j;
}

static void
vfs_put(struct vfs *vfs, const char *path, enum wanted kind, uint32_t layer,
    uint8_t *data, size_t len)
{
	struct vfile	*f;

	/* Same path in the same layer twice: tar's last entry wins. */
	vfs_remove(vfs, path, layer + 1, 1, 0);
	if (vfs->len == vfs->cap) {
		vfs->cap = vfs->cap == 0 ? 16 : vfs->cap * 2;
		vfs->v = xreallocarray(vfs->v, vfs->cap, sizeof(*vfs->v));
	}
	f = &vfs->v[vfs->len++];
	f->path = xstrdup(path);
	f->kind = kind;
	f->layer = layer;
	f->data = data;
	f->len = len;
	vfs->bytes += len;
}

static void
vfs_clear(struct vfs *vfs)
{
	size_t	 i;

	for (i = 0; i < vfs->len; i++)
		vfile_free(&vfs->v[i]);
	free(vfs->v);
	memset(vfs, 0, sizeof(*vfs));
}

static const struct vfile *
vfs_find(const struct vfs *vfs, enum wanted kind)
{
	size_t	 i;

	for (i = 0; i < vfs->len; i++)
		if (vfs->v[i].kind == kind)
			return &vfs->v[i];
	return NULL;
}

/*
 * A tar path made relative to the root: "./", "/" and "." components
 * and trailing slashes go.  0, or -1 for a ".." component or a path too
 * long to be real.
 */
static int
path_clean(const char *in, char *out, size_t outsz)
{
	const char	*p = in, *e;
	size_t		 o = 0, n;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		e = strchr(p, '/');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (!(n == 1 && p[0] == '.')) {
			if (o + n + 2 > outsz)
				return -1;
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	out[o] = '\0';
	return 0;
}

/* Checks the totals after each block; a status other than 0 on a breach
 * (STOPPED when another layer failed). */
static int
reader_check(struct reader *r, struct layer_read *lr, struct archive *a)
{
	int64_t		 in = lr->gz != NULL ?
			    (int64_t)scan_gzip_compressed(lr->gz) :
			    archive_filter_bytes(a, -1);
	int64_t		 out = archive_filter_bytes(a, 0);
	uint64_t	 total;

	if (__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		return STOPPED;
	if (in < 0 || out < 0 || (uint64_t)out < lr->unpacked)
		return 0;
	total = __atomic_add_fetch(&r->unpacked, (uint64_t)out - lr->unpacked,
	    __ATOMIC_RELAXED);
	lr->unpacked = (uint64_t)out;
	if (total > r->lim->max_unpacked)
		return reader_fail(r, lr, SCAN_STATUS_FAILED, "The image's "
		    "layers unpack to more than %llu bytes, the scanner's "
		    "limit.", (unsigned long long)r->lim->max_unpacked);
	if ((uint64_t)out > BOMB_FLOOR &&
	    (uint64_t)out / BOMB_RATIO > (uint64_t)(in > 0 ? in : 1))
		return reader_fail(r, lr, SCAN_STATUS_FAILED, "A layer "
		    "decompresses to over %d times its size: refused as a "
		    "decompression bomb.", BOMB_RATIO);
	return 0;
}

/* Reads (keep) or skips the entry's data block by block, checking the
 * limits as it goes.  0, or a scan status. */
static int
reader_data(struct reader *r, struct layer_read *lr, struct archive *a,
    uint8_t **keep, size_t *keeplen, uint32_t layer)
{
	const void	*block;
	size_t		 size, len = 0, cap = 0;
	int64_t		 off;
	uint8_t		*buf = NULL;
	int		 rc, st;

	for (;;) {
		rc = archive_read_data_block(a, &block, &size, &off);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			free(buf);
			return reader_fail(r, lr, SCAN_STATUS_FAILED, "Layer "
			    "%u cannot be read: %s.", layer + 1,
			    archive_error_string(a) != NULL ?
			    archive_error_string(a) : "corrupt data");
		}
		if ((st = reader_check(r, lr, a)) != 0) {
			free(buf);
			return st;
		}
		if (keep == NULL)
			continue;
		/* Sparse files: the holes are zeros. */
		if (off < 0 || (uint64_t)off > r->lim->max_file ||
		    size > r->lim->max_file - (uint64_t)off) {
			free(buf);
			return reader_fail(r, lr, SCAN_STATUS_FAILED, "A "
			    "package database in layer %u is larger than the "
			    "scanner's limit of %llu bytes.", layer + 1,
			    (unsigned long long)r->lim->max_file);
		}
		if ((size_t)off + size > cap) {
			size_t ncap = cap == 0 ? 65536 : cap;

			while (ncap < (size_t)off + size)
				ncap *= 2;
			buf = xreallocarray(buf, 1, ncap);
			memset(buf + cap, 0, ncap - cap);
			cap = ncap;
		}
		memcpy(buf + off, block, size);
		if ((size_t)off + size > len)
			len = (size_t)off + size;
	}
	if (keep != NULL) {
		*keep = buf;
		*keeplen = len;
	}
	return 0;
}

static void
change_add(struct layer_read *lr, const char *path, enum wanted kind,
    int exact, int under, uint8_t *data, size_t len)
{
	struct change	*c;

	if (lr->nch == lr->cap) {
		lr->cap = lr->cap == 0 ? 16 : lr->cap * 2;
		lr->ch = xreallocarray(lr->ch, lr->cap, sizeof(*lr->ch));
	}
	c = &lr->ch[lr->nch++];
	c->path = xstrdup(path);
	c->kind = kind;
	c->exact = exact;
	c->under = under;
	c->data = data;
	c->len = len;
}

/* One entry of layer: the changes it makes to the view.  0 or a status. */
static int
reader_entry(struct reader *r, struct layer_read *lr, struct archive *a,
    struct archive_entry *e, uint32_t layer)
{
	char		 path[4096], target[4096];
	const char	*name, *base_name;
	char		*slash;
	mode_t		 type = archive_entry_filetype(e);
	enum wanted	 kind;
	uint8_t		*data = NULL;
	size_t		 len = 0;
	int		 st;

	if ((name = archive_entry_pathname(e)) == NULL)
		return reader_fail(r, lr, SCAN_STATUS_FAILED, "Layer %u has "
		    "an entry without a path.", layer + 1);
	if (path_clean(name, path, sizeof(path)) == -1)
		return reader_fail(r, lr, SCAN_STATUS_FAILED, "Layer %u has "
		    "an entry whose path leaves the root (\"..\") or is too "
		    "long: refused.", layer + 1);
	if (path[0] == '\0')
		return reader_data(r, lr, a, NULL, NULL, layer);
	slash = strrchr(path, '/');
	base_name = slash != NULL ? slash + 1 : path;

	/* Whiteouts: they remove from the layers below. */
	if (strncmp(base_name, ".wh.", 4) == 0) {
		if (strcmp(base_name, ".wh..wh..opq") == 0) {
			if (slash != NULL)
				*slash = '\0';
			else
				path[0] = '\0';
			change_add(lr, path, W_NONE, 0, 1, NULL, 0);
		} else if (strncmp(base_name, ".wh..wh.", 8) != 0) {
			snprintf(target, sizeof(target), "%.*s%s",
			    (int)(base_name - path), path, base_name + 4);
			if (path_covers_wanted(target))
				change_add(lr, target, W_NONE, 1, 1, NULL, 0);
		}
		return reader_data(r, lr, a, NULL, NULL, layer);
	}

	kind = type == AE_IFREG && archive_entry_hardlink(e) == NULL ?
	    wanted_kind(path) : W_NONE;
	/* A directory replaces only a file at its path; anything else
	 * replaces the path and what was beneath it. */
	if (kind == W_NONE && path_covers_wanted(path))
		change_add(lr, path, W_NONE, 1, type != AE_IFDIR, NULL, 0);
	if (kind == W_NONE)
		return reader_data(r, lr, a, NULL, NULL, layer);
	if (kind == W_RPM_BDB || kind == W_RPM_NDB) {
		change_add(lr, path, kind, 1, 1, NULL, 0);
		return reader_data(r, lr, a, NULL, NULL, layer);
	}
	if (archive_entry_size_is_set(e) &&
	    (uint64_t)archive_entry_size(e) > r->lim->max_file)
		return reader_fail(r, lr, SCAN_STATUS_FAILED, "%s in layer %u "
		    "is larger than the scanner's limit of %llu bytes.", path,
		    layer + 1, (unsigned long long)r->lim->max_file);
	if ((st = reader_data(r, lr, a, &data, &len, layer)) != 0)
		return st;
	if (__atomic_add_fetch(&r->kept_files, 1, __ATOMIC_RELAXED) >
	    KEPT_FILES_MAX) {
		free(data);
		return reader_fail(r, lr, SCAN_STATUS_FAILED, "The image has "
		    "more than %d package database files, the scanner's "
		    "limit.", KEPT_FILES_MAX);
	}
	if (__atomic_add_fetch(&r->kept, len, __ATOMIC_RELAXED) >
	    r->lim->max_file) {
		free(data);
		return reader_fail(r, lr, SCAN_STATUS_FAILED, "The image's "
		    "package databases together are larger than the "
		    "scanner's limit of %llu bytes.",
		    (unsigned long long)r->lim->max_file);
	}
	change_add(lr, path, kind, 1, 1, data, len);
	return 0;
}

static int
reader_layer(struct reader *r, uint32_t layer)
{
	const struct scan_layer	*l = &r->layers[layer];
	struct layer_read	*lr = &r->reads[layer];
	struct archive		*a;
	struct archive_entry	*e;
	int			 rc, st = 0;

	if (l->media < SCAN_MEDIA_TAR || l->media >= SCAN_MEDIA__MAX)
		return reader_fail(r, lr, SCAN_STATUS_UNSUPPORTED, "Layer %u "
		    "has a media type the scanner cannot read.", layer + 1);
	if ((a = archive_read_new()) == NULL)
		return reader_fail(r, lr, SCAN_STATUS_FAILED,
		    "Out of memory.");
	/* Only what layers are made of: less code facing the bytes. */
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_empty(a);
	if ((lr->gz = scan_gzip_new(l->fd)) != NULL)
		rc = scan_gzip_open(a, lr->gz);
	else {
		archive_read_support_filter_gzip(a);
		archive_read_support_filter_zstd(a);
		rc = archive_read_open_fd(a, l->fd, 256 * 1024);
	}
	if (rc != ARCHIVE_OK) {
		st = reader_fail(r, lr, SCAN_STATUS_FAILED, "Layer %u is not "
		    "a tar archive (plain, gzip or zstd): %s.", layer + 1,
		    archive_error_string(a) != NULL ?
		    archive_error_string(a) : "unrecognized data");
		goto out;
	}
	for (;;) {
		rc = archive_read_next_header(a, &e);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			st = reader_fail(r, lr, SCAN_STATUS_FAILED, "Layer %u "
			    "cannot be read: %s.", layer + 1,
			    archive_error_string(a) != NULL ?
			    archive_error_string(a) : "corrupt archive");
			goto out;
		}
		if (__atomic_add_fetch(&r->entries, 1, __ATOMIC_RELAXED) >
		    r->lim->max_entries) {
			st = reader_fail(r, lr, SCAN_STATUS_FAILED, "The "
			    "image's layers have more than %llu entries, the "
			    "scanner's limit.",
			    (unsigned long long)r->lim->max_entries);
			goto out;
		}
		if ((st = reader_entry(r, lr, a, e, layer)) != 0)
			goto out;
	}
out:
	if (lr->gz != NULL)
		lr->compressed = scan_gzip_compressed(lr->gz);
	else if (archive_filter_bytes(a, -1) > 0)
		lr->compressed = (uint64_t)archive_filter_bytes(a, -1);
	if (archive_filter_bytes(a, 0) > 0)
		lr->unpacked = (uint64_t)archive_filter_bytes(a, 0);
	archive_read_free(a);
	scan_gzip_free(lr->gz);
	lr->gz = NULL;
	return st;
}

/* A thread's loop: the next layer nobody has taken, until none is left. */
static void *
reader_thread(void *arg)
{
	struct reader	*r = arg;
	size_t		 i;

	while ((i = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED)) <
	    r->n)
		r->reads[i].status = reader_layer(r, (uint32_t)i);
	return NULL;
}

/* The view into an inventory; a scan status and why. */
static int
reader_inventory(const struct vfs *vfs, struct scan_inventory *inv,
    char *why, size_t whysz)
{
	const struct vfile *f;
	size_t		 i;
	int		 dbs = 0;

	if ((f = vfs_find(vfs, W_OS_ETC)) == NULL)
		f = vfs_find(vfs, W_OS_USR);
	if (f != NULL && scan_os_release_parse((const char *)f->data, f->len,
	    &inv->os) == 0)
		inv->have_os = 1;
	if ((f = vfs_find(vfs, W_DPKG_STATUS)) != NULL) {
		dbs++;
		if (scan_dpkg_parse((const char *)f->data, f->len,
		    &inv->packages) == -1) {
			snprintf(why, whysz, "The dpkg database "
			    "(var/lib/dpkg/status) cannot be read.");
			return SCAN_STATUS_FAILED;
		}
	}
	for (i = 0; i < vfs->len; i++) {
		f = &vfs->v[i];
		if (f->kind != W_DPKG_STATUS_D)
			continue;
		dbs++;
		(void)scan_dpkg_parse((const char *)f->data, f->len,
		    &inv->packages);
	}
	if ((f = vfs_find(vfs, W_APK)) != NULL) {
		dbs++;
		if (scan_apk_parse((const char *)f->data, f->len,
		    &inv->packages) == -1) {
			snprintf(why, whysz, "The apk database "
			    "(lib/apk/db/installed) cannot be read.");
			return SCAN_STATUS_FAILED;
		}
	}
	if ((f = vfs_find(vfs, W_RPM_SQLITE)) == NULL)
		f = vfs_find(vfs, W_RPM_SQLITE_USR);
	if (f != NULL) {
		dbs++;
		if (scan_rpmdb_parse(f->data, f->len, &inv->packages) == -1) {
			snprintf(why, whysz, "The rpm database (%s) cannot be "
			    "read.", f->path);
			return SCAN_STATUS_FAILED;
		}
	} else if (vfs_find(vfs, W_RPM_BDB) != NULL ||
	    vfs_find(vfs, W_RPM_NDB) != NULL) {
		snprintf(why, whysz, "The image's rpm database is in a format "
		    "the scanner does not read (Berkeley DB or ndb); only "
		    "rpmdb.sqlite is supported.");
		return SCAN_STATUS_UNSUPPORTED;
	}
	scan_pkglist_sort(&inv->packages);
	if (dbs == 0) {
		snprintf(why, whysz, "%s", inv->have_os ? "The image's "
		    "operating system has no package database the scanner "
		    "reads (dpkg, apk or rpm with sqlite)." : "No operating "
		    "system was found in the image (no os-release file and no "
		    "package database).");
		return SCAN_STATUS_UNSUPPORTED;
	}
	return SCAN_STATUS_COMPLETE;
}

/* Applies each layer's changes in order; the lowest layer that failed
 * decides the status otherwise. */
static int
reader_merge(struct reader *r, struct vfs *vfs, struct scan_stats *stats,
    char *why, size_t whysz)
{
	struct layer_read	*lr;
	struct change		*c;
	size_t			 i, j;
	int			 st = 0;

	for (i = 0; i < r->n; i++) {
		lr = &r->reads[i];
		stats->compressed += lr->compressed;
		stats->unpacked += lr->unpacked;
		if (st == 0 && lr->status > 0) {
			st = lr->status;
			snprintf(why, whysz, "%s", lr->why);
		}
		for (j = 0; j < lr->nch; j++) {
			c = &lr->ch[j];
			if (st == 0 && c->kind == W_NONE)
				vfs_remove(vfs, c->path, (uint32_t)i, c->exact,
				    c->under);
			else if (st == 0) {
				vfs_put(vfs, c->path, c->kind, (uint32_t)i,
				    c->data, c->len);
				c->data = NULL;
			}
			free(c->path);
			free(c->data);
		}
		free(lr->ch);
	}
	stats->entries = r->entries;
	return st;
}

int
scan_layers_read(const struct scan_layer *layers, size_t n,
    const struct scan_limits *lim, struct scan_inventory *inv,
    struct scan_stats *stats, char *why, size_t whysz)
{
	struct reader	 r;
	struct vfs	 vfs;
	pthread_t	 tid[SCAN_THREADS_MAX];
	size_t		 i, nthreads;
	int		 st;

	memset(&r, 0, sizeof(r));
	memset(&vfs, 0, sizeof(vfs));
	memset(inv, 0, sizeof(*inv));
	memset(stats, 0, sizeof(*stats));
	why[0] = '\0';
	if (n == 0) {
		snprintf(why, whysz, "The image has no layers.");
		return SCAN_STATUS_UNSUPPORTED;
	}
	r.lim = lim;
	r.layers = layers;
	r.n = n;
	r.reads = xcalloc(n, sizeof(*r.reads));
	/* Layers are independent streams: read them side by side. */
	nthreads = lim->threads < 1 ? 1 : (size_t)lim->threads;
	if (nthreads > SCAN_THREADS_MAX)
		nthreads = SCAN_THREADS_MAX;
	if (nthreads > n)
		nthreads = n;
	for (i = 1; i < nthreads; i++)
		if (pthread_create(&tid[i], NULL, reader_thread, &r) != 0)
			break;
	nthreads = i;
	(void)reader_thread(&r);
	for (i = 1; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	st = reader_merge(&r, &vfs, stats, why, whysz);
	free(r.reads);
	if (st == 0)
		st = reader_inventory(&vfs, inv, why, whysz);
	vfs_clear(&vfs);
	return st;
}
