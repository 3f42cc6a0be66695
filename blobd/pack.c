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
 * The pack: small blobs kept as entries of the metadata log's files
 * rather than as files of their own, so that storing one costs a share of
 * the log's next fdatasync, the same one that makes the record linking it
 * durable, instead of an fdatasync, a rename and a directory fsync.  This
 * is their index: where each one's bytes are (a segment of the log, an
 * offset), found again at start-up from the log's files.  A pull sends
 * them from the segment's file like any blob (MSG_BLOB_OPENED has the
 * offset).  Garbage collection marks an entry dead in place and, once
 * the mark is on disk, punches a hole where the bytes were, so that the
 * space comes back before the whole segment goes (metalog.c): a full disk
 * is emptied through GC (reserve.c) whatever size its blobs are.  The
 * hole waits PACK_PUNCH_DELAY_MS, for pulls that opened the blob before
 * it died, unless the disk is short of space (serve.c decides).
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blobd.h"
#include "error.h"
#include "log.h"
#include "util.h"

struct pack_blob {
	struct pack_blob	*next;		/* in its hash chain */
	struct digest		 digest;
	uint64_t		 file;		/* the log segment */
	uint64_t		 data_off;
	uint32_t		 size;
	int64_t			 stored_ms;	/* stored, or stored again */
	int64_t			 dead_ms;	/* mark synced (mono_ms) */
};

struct pack {
	struct pack_blob	**buckets;
	size_t			 nbuckets;	/* a power of two */
	size_t			 count;
	uint64_t		 bytes;
	/* Older copies of a blob found at start-up, to mark dead. */
	struct pack_blob	*stale;
	/* Blobs marked dead whose marks may not be synced yet. */
	struct pack_blob	*marked;
	/* Blobs whose marks are synced, oldest first: their holes wait
	 * for PACK_PUNCH_DELAY_MS (a pull may still be reading them). */
	struct pack_blob	*dead, **dead_tail;
};

static size_t
pack_bucket(const struct pack *p, const struct digest *d)
{
	uint64_t h;

	memcpy(&h, d->raw, sizeof(h));
	return (size_t)(h ^ h >> 29) & (p->nbuckets - 1);
}

static struct pack_blob **
pack_slot(struct pack *p, const struct digest *d)
{
	struct pack_blob **pp;

	for (pp = &p->buckets[pack_bucket(p, d)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (digest_eq(&(*pp)->digest, d))
			break;
	return pp;
}

static void
pack_insert(struct pack *p, struct pack_blob *b)
{
	struct pack_blob **old, *v, *next, **pp;
	size_t		 i, n;

	if (p->count >= p->nbuckets) {
		old = p->buckets;
		n = p->nbuckets;
		p->nbuckets *= 2;
		p->buckets = xcalloc(p->nbuckets, sizeof(*p->buckets));
		for (i = 0; i < n; i++)
			for (v = old[i]; v != NULL; v = next) {
				next = v->next;
				pp = &p->buckets[pack_bucket(p, &v->digest)];
				v->next = *pp;
				*pp = v;
			}
		free(old);
	}
	pp = &p->buckets[pack_bucket(p, &b->digest)];
	b->next = *pp;
	*pp = b;
	p->count++;
	p->bytes += b->size;
}

/* Takes the blob out of the index; it is the caller's. */
static struct pack_blob *
pack_detach(struct pack *p, struct pack_blob **pp)
{
	struct pack_blob *b = *pp;

	*pp = b->next;
	p->count--;
	p->bytes -= b->size;
	return b;
}

static void
pack_unlink(struct pack *p, struct pack_blob **pp)
{
	free(pack_detach(p, pp));
}

static void
pack_free_list(struct pack_blob *b)
{
	struct pack_blob *next;

	for (; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
}

struct pack *
pack_new(void)
{
	struct pack	*p;

	p = xcalloc(1, sizeof(*p));
	p->nbuckets = 64;
	p->buckets = xcalloc(p->nbuckets, sizeof(*p->buckets));
	p->dead_tail = &p->dead;
	return p;
}

void
pack_free(struct pack *p)
{
	struct pack_blob *b, *next;
	size_t		 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nbuckets; i++)
		for (b = p->buckets[i]; b != NULL; b = next) {
			next = b->next;
			free(b);
		}
	pack_free_list(p->stale);
	pack_free_list(p->marked);
	pack_free_list(p->dead);
	free(p->buckets);
	free(p);
}

void
pack_found(struct pack *p, uint64_t file, const struct logfile_entry *e)
{
	struct pack_blob *b, **pp;

	b = xcalloc(1, sizeof(*b));
	b->digest = e->digest;
	b->file = file;
	b->data_off = e->data_off;
	b->size = e->data_len;
	b->stored_ms = e->stored_ms;
	/* The log holds it twice (a crash between storing it and marking
	 * the first copy dead): the later copy stays. */
	if (*(pp = pack_slot(p, &b->digest)) != NULL) {
		struct pack_blob *old = *pp;

		*pp = old->next;
		p->count--;
		p->bytes -= old->size;
		old->next = p->stale;
		p->stale = old;
	}
	pack_insert(p, b);
}

/* Where the entry of a blob starts in its file. */
static uint64_t
pack_entry_off(const struct pack_blob *b)
{
	return b->data_off - LOG_ENTRY_HDR_LEN - LOG_BLOB_HDR_LEN -
	    digest_raw_len(b->digest.algo);
}

int
pack_kill_stale(struct pack *p, struct metalog *ml)
{
	struct pack_blob *b;
	int		 rc = 0, any = p->stale != NULL;

	while ((b = p->stale) != NULL) {
		p->stale = b->next;
		if (rc == 0)
			rc = metalog_kill_blob(ml, b->file,
			    pack_entry_off(b));
		free(b);
	}
	return rc != 0 || !any ? rc : metalog_sync(ml);
}

int
pack_stat(struct pack *p, const struct digest *d, uint64_t *size,
    int64_t *mtime_ms)
{
	struct pack_blob *b;

	if ((b = *pack_slot(p, d)) == NULL)
		return BERR_BLOB_UNKNOWN;
	*size = b->size;
	*mtime_ms = b->stored_ms;
	return 0;
}

void
pack_touch(struct pack *p, const struct digest *d)
{
	struct pack_blob *b;

	if ((b = *pack_slot(p, d)) != NULL)
		b->stored_ms = now_ms();
}

int
pack_put(struct pack *p, struct metalog *ml, const struct digest *d,
    const void *data, size_t n)
{
	struct pack_blob *b;
	int		 rc;

	b = xcalloc(1, sizeof(*b));
	b->digest = *d;
	b->size = (uint32_t)n;
	b->stored_ms = now_ms();
	if ((rc = metalog_append_blob(ml, d, b->stored_ms, data, n,
	    &b->file, &b->data_off)) != 0) {
		free(b);
		return rc;
	}
	pack_insert(p, b);
	return 0;
}

void
pack_truncated(struct pack *p, uint64_t file, uint64_t end)
{
	struct pack_blob **pp;
	size_t		 i;

	for (i = 0; i < p->nbuckets; i++)
		for (pp = &p->buckets[i]; *pp != NULL;)
			if ((*pp)->file == file && (*pp)->data_off >= end)
				pack_unlink(p, pp);
			else
				pp = &(*pp)->next;
}

int
pack_remove(struct pack *p, struct metalog *ml, const struct digest *d)
{
	struct pack_blob **pp, *b;
	int		 rc;

	if (*(pp = pack_slot(p, d)) == NULL)
		return BERR_BLOB_UNKNOWN;
	if ((rc = metalog_kill_blob(ml, (*pp)->file, pack_entry_off(*pp))) !=
	    0)
		return rc;
	b = pack_detach(p, pp);
	b->next = p->marked;
	p->marked = b;
	return 0;
}

void
pack_marks_synced(struct pack *p, int64_t now_ms)
{
	struct pack_blob *b;

	while ((b = p->marked) != NULL) {
		p->marked = b->next;
		b->next = NULL;
		b->dead_ms = now_ms;
		*p->dead_tail = b;
		p->dead_tail = &b->next;
	}
}

int
pack_punch(struct pack *p, struct metalog *ml, int64_t dead_by_ms,
    int64_t until_us)
{
	struct pack_blob *b;
	unsigned int	 n = 0;

	while ((b = p->dead) != NULL && b->dead_ms <= dead_by_ms) {
		if ((p->dead = b->next) == NULL)
			p->dead_tail = &p->dead;
		metalog_punch(ml, b->file, b->data_off, b->size);
		free(b);
		if (++n % 64 == 0 && mono_us() >= until_us)
			break;
	}
	return p->dead != NULL && p->dead->dead_ms <= dead_by_ms;
}

int64_t
pack_punch_due(const struct pack *p)
{
	return p->dead != NULL ? p->dead->dead_ms + PACK_PUNCH_DELAY_MS : -1;
}

int
pack_open(struct pack *p, struct metalog *ml, const struct digest *d,
    int *fd, uint64_t *offset, uint64_t *size)
{
	struct pack_blob *b;

	if ((b = *pack_slot(p, d)) == NULL)
		return BERR_BLOB_UNKNOWN;
	if ((*fd = metalog_file_fd(ml, b->file)) == -1)
		return berr_from_errno(errno);
	*offset = b->data_off;
	*size = b->size;
	return 0;
}

int
pack_walk(struct pack *p, int (*cb)(const struct digest *, uint64_t size,
    int64_t mtime_ms, void *), void *arg)
{
	struct pack_blob *b;
	size_t		 i;
	int		 rc;

	for (i = 0; i < p->nbuckets; i++)
		for (b = p->buckets[i]; b != NULL; b = b->next)
			if ((rc = cb(&b->digest, b->size, b->stored_ms,
			    arg)) != 0)
				return rc;
	return 0;
}

size_t
pack_count(const struct pack *p)
{
	return p->count;
}

uint64_t
pack_bytes(const struct pack *p)
{
	return p->bytes;
}
