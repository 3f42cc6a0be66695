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
 * The blob descriptor cache: descriptors of recently read blobs, kept as
 * evbuffer file segments that responses send with sendfile.  A blob's
 * content never changes under its digest, so hot blobs cost no round trip
 * to blobd; GC, which deletes files, empties the cache.  The least
 * recently used entry makes room; responses in flight hold their own
 * reference to a segment.
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "berthd.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define BLOB_CACHE_MAX	128

struct blob_cache_entry {
	struct digest	 digest;
	struct evbuffer_file_segment *seg;
	uint64_t	 size;
	uint64_t	 used;
};

static struct blob_cache_entry	blob_cache[BLOB_CACHE_MAX];
static size_t			blob_cache_len;
static uint64_t			blob_cache_clock;

static struct blob_cache_entry *
blob_cache_find(const struct digest *d)
{
	size_t	 i;

	for (i = 0; i < blob_cache_len; i++)
		if (digest_eq(&blob_cache[i].digest, d)) {
			blob_cache[i].used = ++blob_cache_clock;
			return &blob_cache[i];
		}
	return NULL;
}

static struct blob_cache_entry *
blob_cache_add(const struct digest *d, struct evbuffer_file_segment *seg,
    uint64_t size)
{
	struct blob_cache_entry *e;
	size_t	 i, victim = 0;

	if ((e = blob_cache_find(d)) != NULL) {
		evbuffer_file_segment_free(seg);
		return e;
	}
	if (blob_cache_len < BLOB_CACHE_MAX)
		victim = blob_cache_len++;
	else {
		for (i = 1; i < BLOB_CACHE_MAX; i++)
			if (blob_cache[i].used < blob_cache[victim].used)
				victim = i;
		/* Responses in flight hold their own reference. */
		evbuffer_file_segment_free(blob_cache[victim].seg);
	}
	e = &blob_cache[victim];
	e->digest = *d;
	e->seg = seg;
	e->size = size;
	e->used = ++blob_cache_clock;
	return e;
}

void
blob_cache_forget_all(void)
{
	size_t	 i;

	for (i = 0; i < blob_cache_len; i++)
		evbuffer_file_segment_free(blob_cache[i].seg);
	blob_cache_len = 0;
}

struct evbuffer_file_segment *
blob_cache_get(const struct digest *d, uint64_t *size)
{
	struct blob_cache_entry *e;

	if ((e = blob_cache_find(d)) == NULL)
		return NULL;
	*size = e->size;
	return e->seg;
}

struct blob_cache_open {
	struct digest	 digest;
	blob_cache_cb	 cb;
	void		*arg;
};

static void
blob_cache_opened_cb(int err, int fd, uint64_t offset, uint64_t size,
    void *arg)
{
	struct blob_cache_open *bo = arg;
	struct evbuffer_file_segment *seg = NULL;
	struct blob_cache_entry *e;

	if (err == 0 && (seg = evbuffer_file_segment_new(fd,
	    (ev_off_t)offset, (ev_off_t)size, EVBUF_FS_CLOSE_ON_FREE |
	    EVBUF_FS_DISABLE_LOCKING)) == NULL) {
		close(fd);
		err = BERR_IO;
	}
	if (err != 0) {
		bo->cb(err, &bo->digest, NULL, 0, bo->arg);
		free(bo);
		return;
	}
	e = blob_cache_add(&bo->digest, seg, size);
	bo->cb(0, &bo->digest, e->seg, e->size, bo->arg);
	free(bo);
}

void
blob_cache_open(const struct digest *d, blob_cache_cb cb, void *arg)
{
	struct blob_cache_open *bo;

	bo = xcalloc(1, sizeof(*bo));
	bo->digest = *d;
	bo->cb = cb;
	bo->arg = arg;
	blobc_blob_open(d, blob_cache_opened_cb, bo);
}
