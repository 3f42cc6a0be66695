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
 * sendfile from a descriptor blobd opened (through the blob descriptor
 * cache, blob_cache.c), deletions of a blob's link to the repository.
 */
#include "config.h"

#include <sys/types.h>

#include "berthd.h"
#include "error.h"
#include "http.h"
#include "ptc.h"

void
oci_blob_headers(struct http_request *req, const struct digest *d)
{
	char	 ds[DIGEST_STR_MAX];

	digest_format(d, ds);
	http_response_header(req, "Docker-Content-Digest", ds);
	http_response_headerf(req, "ETag", "\"%s\"", ds);
	http_response_header(req, "Accept-Ranges", "bytes");
}

/* Headers and body of a blob response, the range decided here. */
static void
blob_respond(struct http_request *req, const struct digest *d,
    struct evbuffer_file_segment *seg, uint64_t size)
{
	struct byte_range br;
	int	 status;

	oci_blob_headers(req, d);
	if (range_parse(http_request_header(req, "Range"), size, &br) != 0) {
		http_response_headerf(req, "Content-Range", "bytes */%llu",
		    (unsigned long long)size);
		oci_error(req, BERR_RANGE_UNSATISFIABLE, "the Range is not "
		    "valid or lies past the end of the blob's %llu bytes",
		    (unsigned long long)size);
		return;
	}
	if (br.partial)
		http_response_headerf(req, "Content-Range",
		    "bytes %llu-%llu/%llu", (unsigned long long)br.off,
		    (unsigned long long)(br.off + br.len - 1),
		    (unsigned long long)size);
	status = br.partial ? 206 : 200;
	if (seg == NULL)
		http_respond_length(req, status, "application/octet-stream",
		    br.len);
	else
		http_respond_file(req, status, "application/octet-stream", seg,
		    (off_t)br.off, (off_t)br.len);
}

static void
blob_opened_cb(int err, const struct digest *d,
    struct evbuffer_file_segment *seg, uint64_t size, void *arg)
{
	struct http_request *req = arg;

	if (err != 0) {
		oci_error(req, err, err == BERR_BLOB_UNKNOWN ?
		    "the blob's file is missing" : NULL);
		return;
	}
	blob_respond(req, d, seg, size);
}

/* The blob a route names (d set), in its repository (*repop); NULL when
 * the request was answered. */
static struct link *
oci_blob_link(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *dstr, struct digest *d,
    struct repository **repop)
{
	struct repository *repo;
	struct link	*l;
	int		 rc;

	if ((rc = digest_parse_str(dstr, d)) != 0) {
		oci_error(req, rc, "invalid digest %s", dstr);
		return NULL;
	}
	if ((repo = oci_repository(req, id, name)) == NULL)
		return NULL;
	if ((l = link_find(repo, d)) == NULL) {
		oci_error(req, BERR_BLOB_UNKNOWN, "blob %s is not in %s", dstr,
		    name);
		return NULL;
	}
	*repop = repo;
	return l;
}

void
oci_blob_get(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *dstr)
{
	struct evbuffer_file_segment *seg;
	struct repository *repo;
	struct digest	 d;
	struct link	*l;
	uint64_t	 size;

	if (ptc_blob_intercept(req, id, name, dstr))
		return;
	if ((l = oci_blob_link(req, id, name, dstr, &d, &repo)) == NULL)
		return;
	/* A push checks existence before it references: GC must wait. */
	blob_touch(l->blob);
	if (http_request_is_head(req)) {
		blob_respond(req, &d, NULL, l->blob->size);
		return;
	}
	if ((seg = blob_cache_get(&d, &size)) != NULL) {
		blob_respond(req, &d, seg, size);
		return;
	}
	blob_cache_open(&d, blob_opened_cb, req);
}

void
oci_blob_delete(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *dstr)
{
	struct repository *repo;
	struct digest	 d;
	struct txn	 t;

	if (oci_blob_link(req, id, name, dstr, &d, &repo) == NULL)
		return;
	/* Only the link goes; the bytes are GC's once nothing needs them. */
	txn_init(&t);
	(void)txn_link_delete(&t, repo, &d);
	txn_commit(&t, oci_accepted_cb, req);
}
