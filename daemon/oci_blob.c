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
 * Blobs: existence checks answered from memory, downloads sent with
 * sendfile from a descriptor blobd opened.  Descriptors of recently read
 * blobs are kept (blob content never changes under a digest) so that hot
 * blobs cost no round trip to blobd; GC empties the cache.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "berthd.h"
#include "error.h"
#include "http.h"
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

struct blob_get {
	struct http_request *req;
	struct digest	 digest;
};

/* Headers and body of a blob response, the range decided here. */
static void
blob_respond(struct http_request *req, const struct digest *d,
    struct evbuffer_file_segment *seg, uint64_t size)
{
	char	 ds[DIGEST_STR_MAX];
	uint64_t off = 0, len = size;
	int	 r;

	digest_format(d, ds);
	http_response_header(req, "Docker-Content-Digest", ds);
	http_response_headerf(req, "ETag", "\"%s\"", ds);
	http_response_header(req, "Accept-Ranges", "bytes");
	r = range_parse(http_request_header(req, "Range"), size, &off,
	    &len);
	if (r == BERR_RANGE_UNSATISFIABLE) {
		http_response_headerf(req, "Content-Range", "bytes */%llu",
		    (unsigned long long)size);
		oci_error(req, BERR_RANGE_UNSATISFIABLE, "the Range is not "
		    "valid or lies past the end of the blob's %llu bytes",
		    (unsigned long long)size);
		return;
	}
	if (r == 1)
		http_response_headerf(req, "Content-Range",
		    "bytes %llu-%llu/%llu", (unsigned long long)off,
		    (unsigned long long)(off + len - 1),
		    (unsigned long long)size);
	if (seg == NULL)
		http_respond_length(req, r == 1 ? 206 : 200,
		    "application/octet-stream", len);
	else
		http_respond_file(req, r == 1 ? 206 : 200,
		    "application/octet-stream", seg, (off_t)off, (off_t)len);
}

static void
blob_opened_cb(int err, const uint8_t *payload, size_t plen, int fd,
    void *arg)
{
	struct blob_get	*bg = arg;
	struct msg_blob_opened msg;
	struct evbuffer_file_segment *seg;
	struct blob_cache_entry *e;

	if (err != 0) {
		oci_error(bg->req, err, err == BERR_BLOB_UNKNOWN ?
		    "the blob's file is missing" : NULL);
		free(bg);
		return;
	}
	memcpy(&msg, payload, sizeof(msg));
	seg = evbuffer_file_segment_new(fd, 0, (ev_off_t)msg.size,
	    EVBUF_FS_CLOSE_ON_FREE | EVBUF_FS_DISABLE_LOCKING);
	if (seg == NULL) {
		close(fd);
		oci_error(bg->req, BERR_IO, NULL);
		free(bg);
		return;
	}
	e = blob_cache_add(&bg->digest, seg, msg.size);
	blob_respond(bg->req, &bg->digest, e->seg, e->size);
	free(bg);
}

void
oci_blob_get(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *dstr)
{
	struct repository *repo;
	struct blob_cache_entry *e;
	struct blob_get	*bg;
	struct digest	 d;
	struct link	*l;
	struct msg_blob_ref msg;
	int		 rc;

	if ((rc = digest_parse_str(dstr, &d)) != 0) {
		oci_error(req, rc, "invalid digest %s", dstr);
		return;
	}
	if (ptc_blob_intercept(req, id, name, dstr))
		return;
	repo = repository_find(registry_find(id->account, id->region), name);
	if (repo == NULL) {
		oci_error(req, BERR_NAME_UNKNOWN, "repository %s not found",
		    name);
		return;
	}
	if ((l = link_find(repo, &d)) == NULL) {
		oci_error(req, BERR_BLOB_UNKNOWN, "blob %s is not in %s", dstr,
		    name);
		return;
	}
	/* A push checks existence before it references: GC must wait. */
	blob_touch(l->blob);
	if (http_request_is_head(req)) {
		blob_respond(req, &d, NULL, l->blob->size);
		return;
	}
	if ((e = blob_cache_find(&d)) != NULL) {
		blob_respond(req, &d, e->seg, e->size);
		return;
	}
	bg = xcalloc(1, sizeof(*bg));
	bg->req = req;
	bg->digest = d;
	memset(&msg, 0, sizeof(msg));
	digest_format(&d, msg.digest);
	blobc_call(MSG_BLOB_OPEN, &msg, sizeof(msg), NULL, 0, -1,
	    MSG_BLOB_OPENED, blob_opened_cb, bg);
}

void
oci_blob_delete(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *dstr)
{
	struct repository *repo;
	struct digest	 d;
	struct txn	 t;
	int		 rc;

	if ((rc = digest_parse_str(dstr, &d)) != 0) {
		oci_error(req, rc, "invalid digest %s", dstr);
		return;
	}
	repo = repository_find(registry_find(id->account, id->region), name);
	if (repo == NULL) {
		oci_error(req, BERR_NAME_UNKNOWN, "repository %s not found",
		    name);
		return;
	}
	if (link_find(repo, &d) == NULL) {
		oci_error(req, BERR_BLOB_UNKNOWN, "blob %s is not in %s", dstr,
		    name);
		return;
	}
	/* Only the link goes; the bytes are GC's once nothing needs them. */
	txn_init(&t);
	if ((rc = txn_link_delete(&t, repo, &d)) != 0) {
		txn_clear(&t);
		oci_error(req, rc, NULL);
		return;
	}
	txn_commit(&t, oci_accepted_cb, req);
}
