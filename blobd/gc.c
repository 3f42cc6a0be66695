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
 * The sweeping half of garbage collection: blobd lists every stored blob
 * (digest, size, mtime) into an anonymous file for berthd, which marks, and
 * deletes the blobs berthd returns unless they were stored again since the
 * listing (a newer mtime).  Every record is checked before anything is
 * deleted; the fan-out directories touched are fsync'd once at the end.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blobd.h"
#include "digest.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define GC_BATCH	(BLOBD_IO_SIZE / sizeof(struct gc_blob))

struct gc_lister {
	int		 fd;
	struct gc_blob	*recs;
	size_t		 n;
	uint64_t	 count;
};

/* The digests a dry run has counted, so that a repeated record is not
 * counted twice (a real sweep finds it gone). */
struct gc_seen {
	struct digest	*slots;
	size_t		 mask;
};

static int
gc_flush(struct gc_lister *l)
{
	if (l->n > 0 && write_full(l->fd, l->recs, l->n * sizeof(*l->recs))
	    == -1)
		return -1;
	l->n = 0;
	return 0;
}

static int
gc_list_cb(const struct digest *d, uint64_t size, int64_t mtime_ms,
    void *arg)
{
	struct gc_lister	*l = arg;
	struct gc_blob		*b = &l->recs[l->n++];

	memset(b, 0, sizeof(*b));
	digest_format(d, b->digest);
	b->size = size;
	b->mtime_ms = mtime_ms;
	l->count++;
	if (l->n == GC_BATCH && gc_flush(l) == -1)
		return berr_from_errno(errno);
	return 0;
}

int
gc_list(struct store *st, int *fdp, uint64_t *count)
{
	struct gc_lister l;
	int		 rc;

	memset(&l, 0, sizeof(l));
	if ((l.fd = anon_file("berth-gc-list")) == -1) {
		log_warn("memfd");
		return berr_from_errno(errno);
	}
	l.recs = xcalloc(GC_BATCH, sizeof(*l.recs));
	rc = store_walk(st, gc_list_cb, &l);
	if (rc == 0 && (gc_flush(&l) == -1 || lseek(l.fd, 0, SEEK_SET) == -1))
		rc = berr_from_errno(errno);
	free(l.recs);
	if (rc != 0) {
		log_warnx("gc: cannot list the blob store");
		close(l.fd);
		return rc;
	}
	*fdp = l.fd;
	*count = l.count;
	return 0;
}

/* The digest of a record, checked; 0 or -1. */
static int
gc_record_digest(const struct gc_blob *b, struct digest *d)
{
	const char	*nul;

	if ((nul = memchr(b->digest, '\0', sizeof(b->digest))) == NULL ||
	    nul == b->digest)
		return -1;
	return digest_parse(b->digest, (size_t)(nul - b->digest), d) == 0 ?
	    0 : -1;
}

static void
gc_seen_init(struct gc_seen *s, uint64_t count)
{
	size_t	 n = 16;

	while (n < 2 * count)
		n *= 2;
	s->slots = xcalloc(n, sizeof(*s->slots));
	s->mask = n - 1;
}

/* 1 if d was added, 0 if it was there. */
static int
gc_seen_add(struct gc_seen *s, const struct digest *d)
{
	uint64_t h;
	size_t	 i;

	memcpy(&h, d->raw, sizeof(h));
	for (i = (size_t)h & s->mask;; i = (i + 1) & s->mask) {
		if (s->slots[i].algo == 0) {
			s->slots[i] = *d;
			return 1;
		}
		if (digest_eq(&s->slots[i], d))
			return 0;
	}
}

/*
 * Reads the records in batches and calls fn on each; stops at the first
 * non-zero return.  -1 on a read error or a short file.
 */
static int
gc_each_record(int fd, uint64_t count, struct gc_blob *buf,
    int (*fn)(const struct gc_blob *, void *), void *arg)
{
	uint64_t i = 0;
	size_t	 n, k;
	ssize_t	 r;
	int	 rc;

	while (i < count) {
		n = count - i < GC_BATCH ? (size_t)(count - i) : GC_BATCH;
		r = pread_full(fd, buf, n * sizeof(*buf),
		    (off_t)(i * sizeof(*buf)));
		if (r != (ssize_t)(n * sizeof(*buf)))
			return -1;
		for (k = 0; k < n; k++)
			if ((rc = fn(&buf[k], arg)) != 0)
				return rc;
		i += n;
	}
	return 0;
}

static int
gc_check_cb(const struct gc_blob *b, void *arg)
{
	struct digest	 d;

	return gc_record_digest(b, &d) == 0 ? 0 : -1;
}

struct gc_sweeper {
	struct store	*st;
	int64_t		 not_after_ms;
	int		 dry_run;
	uint64_t	 blobs;
	uint64_t	 bytes;
	uint8_t		 touched[2][256];	/* fan-out dirs to fsync */
	int		 packed;		/* packed blobs removed */
	struct gc_seen	 seen;
	int		 error;
};

static int
gc_sweep_cb(const struct gc_blob *b, void *arg)
{
	struct gc_sweeper	*s = arg;
	struct digest		 d;
	uint64_t		 size;
	int64_t			 mtime_ms;
	int			 rc, packed;

	if (gc_record_digest(b, &d) == -1)
		return -1;
	if ((rc = store_stat_blob(s->st, &d, &size, &mtime_ms)) != 0) {
		if (rc != BERR_BLOB_UNKNOWN && s->error == 0)
			s->error = rc;
		return 0;
	}
	/* Stored again since the listing: a push needs it. */
	if (mtime_ms > s->not_after_ms)
		return 0;
	if (s->dry_run) {
		if (!gc_seen_add(&s->seen, &d))
			return 0;
	} else {
		if ((rc = store_remove_blob(s->st, &d, size, &packed)) != 0) {
			if (rc != BERR_BLOB_UNKNOWN && s->error == 0)
				s->error = rc;
			return 0;
		}
		if (packed)
			s->packed = 1;
		else
			s->touched[d.algo == DIGEST_SHA512]
			    [store_fanout(&d)] = 1;
	}
	s->blobs++;
	s->bytes += size;
	return 0;
}

int
gc_sweep(struct store *st, int fd, uint64_t count, int64_t not_after_ms,
    int dry_run, uint64_t *blobs, uint64_t *bytes)
{
	struct gc_sweeper *s;
	struct gc_blob	*buf;
	struct stat	 sb;
	unsigned int	 a, f;
	int		 rc, src;

	*blobs = *bytes = 0;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    count > (uint64_t)INT64_MAX / sizeof(struct gc_blob) ||
	    (uint64_t)sb.st_size != count * sizeof(struct gc_blob)) {
		log_warnx("gc: the sweep list does not hold %" PRIu64
		    " records", count);
		return BERR_BAD_REQUEST;
	}
	buf = xcalloc(GC_BATCH, sizeof(*buf));
	/* Every record must be valid before anything is deleted. */
	if (gc_each_record(fd, count, buf, gc_check_cb, NULL) != 0) {
		log_warnx("gc: malformed record in the sweep list");
		free(buf);
		return BERR_BAD_REQUEST;
	}
	s = xcalloc(1, sizeof(*s));
	s->st = st;
	s->not_after_ms = not_after_ms;
	s->dry_run = dry_run;
	if (dry_run)
		gc_seen_init(&s->seen, count);
	rc = gc_each_record(fd, count, buf, gc_sweep_cb, s) == 0 ? 0 :
	    BERR_BAD_REQUEST;
	for (a = 0; a < 2; a++)
		for (f = 0; f < 256; f++)
			if (s->touched[a][f] && (src = store_sync_fanout(st,
			    a ? DIGEST_SHA512 : DIGEST_SHA256, f)) != 0 &&
			    s->error == 0)
				s->error = src;
	if (s->packed && (src = store_sync_pack(st)) != 0 && s->error == 0)
		s->error = src;
	if (rc == 0)
		rc = s->error;
	*blobs = s->blobs;
	*bytes = s->bytes;
	log_info("gc: %s %" PRIu64 " blobs, %" PRIu64 " bytes",
	    dry_run ? "would delete" : "deleted", s->blobs, s->bytes);
	free(s->seen.slots);
	free(s);
	free(buf);
	return rc;
}
