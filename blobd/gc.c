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
 *
 * Both run in steps of bounded work (gc_list_step, gc_sweep_step) that
 * blobd's loop takes turns with, serving blob I/O in between: a listing
 * walks one fan-out directory a step, a sweep checks, deletes or fsyncs
 * what a few milliseconds allow.  Between two steps anything may happen;
 * each deletion checks the blob's mtime right before it, as it always
 * did, and the caller makes sure that no commit round is renaming files
 * while a sweep's step runs.
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

/* Records read or written at once; how often a step looks at the clock. */
#define GC_STEP_RECORDS	1024
#define GC_CLOCK_EVERY	16

struct gc_lister {
	struct store	*st;
	int		 fd;
	struct gc_blob	*recs;
	size_t		 n;
	uint64_t	 count;
	unsigned int	 part;		/* the next store_walk_part */
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
gc_list_new(struct store *st, struct gc_lister **out)
{
	struct gc_lister *l;
	int		 fd;

	if ((fd = anon_file("berth-gc-list")) == -1) {
		log_warn("memfd");
		return berr_from_errno(errno);
	}
	l = xcalloc(1, sizeof(*l));
	l->st = st;
	l->fd = fd;
	l->recs = xcalloc(GC_BATCH, sizeof(*l->recs));
	*out = l;
	return 0;
}

int
gc_list_step(struct gc_lister *l, int64_t until_us, int *rc)
{
	*rc = 0;
	while (l->part < STORE_WALK_PARTS) {
		if ((*rc = store_walk_part(l->st, l->part++, gc_list_cb, l)) !=
		    0)
			return 0;
		if (mono_us() >= until_us)
			break;
	}
	return l->part < STORE_WALK_PARTS;
}

int
gc_list_finish(struct gc_lister *l, int rc, int *fdp, uint64_t *count)
{
	if (rc == 0 && (gc_flush(l) == -1 || lseek(l->fd, 0, SEEK_SET) ==
	    -1))
		rc = berr_from_errno(errno);
	free(l->recs);
	if (rc != 0) {
		log_warnx("gc: cannot list the blob store");
		close(l->fd);
	} else {
		*fdp = l->fd;
		*count = l->count;
	}
	free(l);
	return rc;
}

int
gc_list(struct store *st, int *fdp, uint64_t *count)
{
	struct gc_lister *l;
	int		 rc;

	if ((rc = gc_list_new(st, &l)) != 0)
		return rc;
	while (gc_list_step(l, INT64_MAX, &rc))
		;
	return gc_list_finish(l, rc, fdp, count);
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

static int
gc_check_record(const struct gc_blob *b)
{
	struct digest	 d;

	return gc_record_digest(b, &d);
}

enum gc_phase {
	GC_CHECK,	/* every record valid before anything goes */
	GC_DELETE,
	GC_SYNC,	/* the fan-out directories touched, the dead marks */
	GC_PUNCH,	/* the bytes of the packed blobs removed */
	GC_DONE
};

struct gc_sweep {
	struct store	*st;
	int		 fd;		/* the records (owned) */
	uint64_t	 count;
	uint64_t	 next;		/* record of the phase */
	enum gc_phase	 phase;
	unsigned int	 sync_pos;	/* of 2 x 256 fan-out directories */
	struct gc_blob	*buf;		/* GC_STEP_RECORDS */
	int64_t		 not_after_ms;
	int		 dry_run;
	uint64_t	 blobs;
	uint64_t	 bytes;
	uint8_t		 touched[2][256];	/* fan-out dirs to fsync */
	int		 packed;		/* packed blobs removed */
	int		 punch_later;		/* see gc_sweep_punch_later */
	struct gc_seen	 seen;
	int		 rc;		/* BERR_BAD_REQUEST: nothing done */
	int		 error;		/* the first storage error */
};

static void
gc_delete_record(struct gc_sweep *s, const struct gc_blob *b)
{
	struct digest		 d;
	uint64_t		 size;
	int64_t			 mtime_ms;
	int			 rc, packed;

	(void)gc_record_digest(b, &d);
	if ((rc = store_stat_blob(s->st, &d, &size, &mtime_ms)) != 0) {
		if (rc != BERR_BLOB_UNKNOWN && s->error == 0)
			s->error = rc;
		return;
	}
	/* Stored again since the listing: a push needs it. */
	if (mtime_ms > s->not_after_ms)
		return;
	if (s->dry_run) {
		if (!gc_seen_add(&s->seen, &d))
			return;
	} else {
		if ((rc = store_remove_blob(s->st, &d, size, &packed)) != 0) {
			if (rc != BERR_BLOB_UNKNOWN && s->error == 0)
				s->error = rc;
			return;
		}
		if (packed)
			s->packed = 1;
		else
			s->touched[d.algo == DIGEST_SHA512]
			    [store_fanout(&d)] = 1;
	}
	s->blobs++;
	s->bytes += size;
}

int
gc_sweep_new(struct store *st, int fd, uint64_t count, int64_t not_after_ms,
    int dry_run, struct gc_sweep **out)
{
	struct gc_sweep	*s;
	struct stat	 sb;

	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    count > (uint64_t)INT64_MAX / sizeof(struct gc_blob) ||
	    (uint64_t)sb.st_size != count * sizeof(struct gc_blob)) {
		log_warnx("gc: the sweep list does not hold %" PRIu64
		    " records", count);
		close(fd);
		return BERR_BAD_REQUEST;
	}
	s = xcalloc(1, sizeof(*s));
	s->st = st;
	s->fd = fd;
	s->count = count;
	s->not_after_ms = not_after_ms;
	s->dry_run = dry_run;
	s->buf = xcalloc(GC_STEP_RECORDS, sizeof(*s->buf));
	if (dry_run)
		gc_seen_init(&s->seen, count);
	*out = s;
	return 0;
}

/* Reads the phase's next records into buf: how many, 0 at the end, -1. */
static ssize_t
gc_read_records(struct gc_sweep *s)
{
	size_t	 n;

	if (s->next >= s->count)
		return 0;
	n = s->count - s->next < GC_STEP_RECORDS ?
	    (size_t)(s->count - s->next) : GC_STEP_RECORDS;
	if (pread_full(s->fd, s->buf, n * sizeof(*s->buf),
	    (off_t)(s->next * sizeof(*s->buf))) != (ssize_t)(n *
	    sizeof(*s->buf)))
		return -1;
	return (ssize_t)n;
}

/* One step of the check or the deletion; 1 when the phase is over. */
static int
gc_step_records(struct gc_sweep *s, int64_t until_us)
{
	ssize_t	 n, k;

	while ((n = gc_read_records(s)) > 0) {
		for (k = 0; k < n; k++) {
			if (s->phase == GC_CHECK) {
				if (gc_check_record(&s->buf[k]) == -1) {
					log_warnx("gc: malformed record in "
					    "the sweep list");
					s->rc = BERR_BAD_REQUEST;
					return 1;
				}
			} else
				gc_delete_record(s, &s->buf[k]);
			s->next++;
			if ((k + 1) % GC_CLOCK_EVERY == 0 &&
			    mono_us() >= until_us)
				return 0;
		}
		if (mono_us() >= until_us)
			return 0;
	}
	if (n == -1)
		s->rc = BERR_BAD_REQUEST;
	return 1;
}

static void
gc_note_error(struct gc_sweep *s, int rc)
{
	if (rc != 0 && s->error == 0)
		s->error = rc;
}

int
gc_sweep_step(struct gc_sweep *s, int64_t until_us)
{
	unsigned int	 a, f;
	int		 rc;

	switch (s->phase) {
	case GC_CHECK:
	case GC_DELETE:
		if (!gc_step_records(s, until_us))
			return 1;
		s->next = 0;
		s->phase = s->rc != 0 ? GC_DONE : s->phase + 1;
		return s->phase != GC_DONE;
	case GC_SYNC:
		for (; s->sync_pos < 2 * 256; s->sync_pos++) {
			a = s->sync_pos / 256;
			f = s->sync_pos % 256;
			if (!s->touched[a][f])
				continue;
			s->touched[a][f] = 0;
			gc_note_error(s, store_sync_fanout(s->st, a ?
			    DIGEST_SHA512 : DIGEST_SHA256, f));
			if (mono_us() >= until_us)
				return 1;
		}
		s->phase = GC_DONE;
		if (!s->packed)
			return 0;
		if ((rc = metalog_sync(s->st->metalog)) != 0) {
			gc_note_error(s, rc);
			return 0;
		}
		pack_marks_synced(s->st->pack, mono_ms());
		if (s->punch_later) {
			gc_note_error(s, metalog_maintain(s->st->metalog));
			return 0;
		}
		s->phase = GC_PUNCH;
		return 1;
	case GC_PUNCH:
		if (pack_punch(s->st->pack, s->st->metalog, INT64_MAX,
		    until_us))
			return 1;
		gc_note_error(s, metalog_maintain(s->st->metalog));
		s->phase = GC_DONE;
		return 0;
	case GC_DONE:
		break;
	}
	return 0;
}

void
gc_sweep_punch_later(struct gc_sweep *s)
{
	s->punch_later = 1;
}

int
gc_sweep_finish(struct gc_sweep *s, uint64_t *blobs, uint64_t *bytes)
{
	int	 rc = s->rc != 0 ? s->rc : s->error;

	*blobs = s->blobs;
	*bytes = s->bytes;
	if (s->rc == 0)
		log_info("gc: %s %" PRIu64 " blobs, %" PRIu64 " bytes",
		    s->dry_run ? "would delete" : "deleted", s->blobs,
		    s->bytes);
	close(s->fd);
	free(s->seen.slots);
	free(s->buf);
	free(s);
	return rc;
}

int
gc_sweep(struct store *st, int fd, uint64_t count, int64_t not_after_ms,
    int dry_run, uint64_t *blobs, uint64_t *bytes)
{
	struct gc_sweep	*s;
	int		 rc, dfd;

	*blobs = *bytes = 0;
	if ((dfd = dup(fd)) == -1)
		return berr_from_errno(errno);
	if ((rc = gc_sweep_new(st, dfd, count, not_after_ms, dry_run, &s)) !=
	    0)
		return rc;
	while (gc_sweep_step(s, INT64_MAX))
		;
	return gc_sweep_finish(s, blobs, bytes);
}
