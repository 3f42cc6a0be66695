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
 * The OCI upload routes: sessions, chunks and the final PUT, in every
 * style clients use (POST then PATCH+PUT; POST then one PUT with the
 * body; monolithic POST ?digest=; streamed chunked PATCH with no
 * Content-Range; Content-Range chunks; cross-repository mounts).  The flow
 * itself, shared with ECR's layer operations, is blob_upload.c's: berthd
 * buffers no upload but a body of at most 1 MiB that ends one (sent with
 * the commit), and blobd checks offsets and verifies digests.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "berthd.h"
#include "registry.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "ptc.h"
#include "util.h"

/* Bodies of this size and more go into blobd's pipe by splice(2), not
 * through berthd's memory (oci_upload_append). */
#define OCI_UPLOAD_SPLICE_MIN	(64 * 1024)

enum oci_upload_step {
	STEP_START,		/* create (or mount), then 202 (201) */
	STEP_PATCH,		/* append, then 202 */
	STEP_FINISH,		/* append (maybe nothing), commit, 201 */
	STEP_MONOLITHIC,	/* create, append, commit, 201 */
	STEP_STATUS,		/* stat, 204 with the session's headers */
	STEP_CANCEL		/* cancel, 204 */
};

struct oci_upload_op {
	struct http_request *req;
	enum oci_upload_step step;
	struct blob_upload	 u;
	struct digest	 digest;
	uint64_t	 offset;	/* UINT64_MAX: at the end */
	uint64_t	 length;	/* UINT64_MAX: unknown */
};

static struct oci_upload_op *
oci_upload_op_new(struct http_request *req, const struct oci_ident *id,
    const char *name, enum oci_upload_step step)
{
	struct oci_upload_op *op;

	op = xcalloc(1, sizeof(*op));
	op->req = req;
	op->step = step;
	blob_upload_init(&op->u, id->account, id->region, name);
	op->offset = UINT64_MAX;
	op->length = UINT64_MAX;
	return op;
}

/* Location, Range (0-<last byte>, and "0-0" for an empty session, as
 * clients expect) and Docker-Upload-UUID of a session. */
static void
oci_upload_headers(struct oci_upload_op *op, uint64_t size)
{
	oci_location(op->req, "/v2/%s/blobs/uploads/%s", op->u.repository,
	    op->u.id_str);
	http_response_headerf(op->req, "Range", "0-%llu",
	    (unsigned long long)(size > 0 ? size - 1 : 0));
	http_response_header(op->req, "Docker-Upload-UUID", op->u.id_str);
}

/* Answers err (size: what the session holds) and frees op. */
static void
oci_upload_fail(struct oci_upload_op *op, int err, uint64_t size)
{
	if (err == BERR_RANGE_INVALID && op->u.id_str[0] != '\0')
		oci_upload_headers(op, size);
	switch (err) {
	case BERR_DIGEST_INVALID:
		oci_error(op->req, err, "the content does not match the "
		    "digest");
		break;
	case BERR_SIZE_INVALID:
		oci_error(op->req, err, "the content is not of the given size");
		break;
	case BERR_RANGE_INVALID:
		oci_error(op->req, err, "the upload holds %llu bytes",
		    (unsigned long long)size);
		break;
	case BERR_UPLOAD_UNKNOWN:
		oci_error(op->req, err, "upload %s not found", op->u.id_str);
		break;
	case BERR_TOO_LARGE:
		oci_error(op->req, err, "a layer holds at most %llu MiB",
		    LAYER_MAX >> 20);
		break;
	default:
		oci_error(op->req, err, NULL);
		break;
	}
	free(op);
}

/* Answers 201 for the blob, now in the repository. */
static void
oci_upload_linked_cb(int err, uint64_t size, void *arg)
{
	struct oci_upload_op *op = arg;
	char		 ds[DIGEST_STR_MAX];

	if (err != 0) {
		oci_upload_fail(op, err, size);
		return;
	}
	digest_format(&op->digest, ds);
	oci_location(op->req, "/v2/%s/blobs/%s", op->u.repository, ds);
	http_response_header(op->req, "Docker-Content-Digest", ds);
	http_respond(op->req, 201, NULL, NULL, 0);
	free(op);
}

/* Commits the session, of size bytes (UINT64_MAX: not known). */
static void
oci_upload_commit(struct oci_upload_op *op, uint64_t size)
{
	blob_upload_commit(&op->u, &op->digest, size, BLOB_UPLOAD_DISCARD,
	    oci_upload_linked_cb, op);
}

/* The body read whole (err: how reading it ended), or NULL when it could
 * not be read (then the request is answered and op freed). */
static const char *
oci_upload_body(struct oci_upload_op *op, int err, size_t *blen)
{
	if (err != 0) {
		oci_upload_fail(op, err == BERR_TOO_LARGE ? BERR_SIZE_INVALID :
		    BERR_UPLOAD_INVALID, 0);
		return NULL;
	}
	return http_request_body(op->req, blen);
}

/* A small body, in memory, goes with the commit: the last bytes of the
 * session, or the whole blob of a monolithic upload. */
static void
oci_upload_body_cb(struct http_request *req, int err, void *arg)
{
	struct oci_upload_op *op = arg;
	const char	*body;
	size_t		 blen;

	if ((body = oci_upload_body(op, err, &blen)) == NULL)
		return;
	blob_upload_finish(&op->u, &op->digest, body, blen,
	    BLOB_UPLOAD_DISCARD, oci_upload_linked_cb, op);
}

static void
oci_upload_appended_cb(int err, uint64_t size, void *arg)
{
	struct oci_upload_op *op = arg;

	if (err == BERR_UPLOAD_INVALID && op->step == STEP_PATCH) {
		oci_upload_headers(op, size);
		oci_error(op->req, err, "the body was cut short; the upload "
		    "holds %llu bytes", (unsigned long long)size);
		free(op);
		return;
	}
	if (err != 0) {
		oci_upload_fail(op, err, size);
		return;
	}
	if (op->step != STEP_PATCH) {
		oci_upload_commit(op, size);
		return;
	}
	oci_upload_headers(op, size);
	http_respond(op->req, 202, NULL, NULL, 0);
	free(op);
}

/* A small chunk, read whole, goes to the session in one write: streamed,
 * its pieces (of what the parser is fed at a time) each woke blobd.  From
 * OCI_UPLOAD_SPLICE_MIN bytes up it is spliced into the pipe instead
 * (blob_upload_append_body), and blobd is told once it is all there. */
static void
oci_upload_chunk_cb(struct http_request *req, int err, void *arg)
{
	struct oci_upload_op *op = arg;
	const char	*body;
	size_t		 blen;
	int		 rc;

	if ((body = oci_upload_body(op, err, &blen)) == NULL)
		return;
	if ((rc = blob_upload_append_lent(&op->u, body, blen, op->offset,
	    oci_upload_appended_cb, op)) != 0)
		oci_upload_fail(op, rc, 0);
}

/* The request's body goes to the session. */
static void
oci_upload_append(struct oci_upload_op *op)
{
	int64_t	 cl = http_request_content_length(op->req);
	int	 rc;

	if (op->step == STEP_PATCH && cl > 0 && cl < OCI_UPLOAD_SPLICE_MIN &&
	    (uint64_t)cl == op->length && http_bodies_room((uint64_t)cl)) {
		http_request_read_body(op->req, BLOB_WRITE_MAX,
		    oci_upload_chunk_cb, op);
		return;
	}
	if ((rc = blob_upload_append_body(&op->u, op->req, op->offset,
	    op->length, oci_upload_appended_cb, op)) != 0)
		oci_upload_fail(op, rc, 0);
}

/* Appends the request's body as the chunk its Content-Range (optional)
 * and Content-Length say it is. */
static void
oci_upload_append_chunk(struct oci_upload_op *op)
{
	const char	*cr = http_request_header(op->req, "Content-Range");
	int64_t		 cl = http_request_content_length(op->req);
	uint64_t	 first, last;

	if (cl >= 0)
		op->length = (uint64_t)cl;
	if (cr != NULL) {
		if (content_range_parse(cr, &first, &last) == -1 ||
		    (cl >= 0 && (uint64_t)cl != last - first + 1)) {
			oci_error(op->req, BERR_RANGE_INVALID,
			    "bad Content-Range");
			free(op);
			return;
		}
		op->offset = first;
		op->length = last - first + 1;
	}
	oci_upload_append(op);
}

/* The session a route names, or NULL when the request was answered. */
static struct oci_upload_op *
oci_upload_session(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *uuid, enum oci_upload_step step)
{
	struct oci_upload_op *op;

	if (oci_repository(req, id, name) == NULL)
		return NULL;
	op = oci_upload_op_new(req, id, name, step);
	if (blob_upload_set_id(&op->u, uuid) != 0) {
		oci_error(req, BERR_UPLOAD_UNKNOWN, "upload %s not found",
		    uuid);
		free(op);
		return NULL;
	}
	return op;
}

void
oci_upload_patch(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *uuid)
{
	struct oci_upload_op *op;

	if ((op = oci_upload_session(req, id, name, uuid, STEP_PATCH)) !=
	    NULL)
		oci_upload_append_chunk(op);
}

void
oci_upload_finish(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *uuid)
{
	struct oci_upload_op *op;
	const char	*ds;
	int64_t		 cl;
	int		 rc;

	if ((op = oci_upload_session(req, id, name, uuid, STEP_FINISH)) ==
	    NULL)
		return;
	if ((ds = http_request_param(req, "digest")) == NULL) {
		oci_error(req, BERR_DIGEST_INVALID, "the digest parameter is "
		    "required");
		free(op);
		return;
	}
	if ((rc = digest_parse_str(ds, &op->digest)) != 0) {
		oci_error(req, rc, "invalid digest %s", ds);
		free(op);
		return;
	}
	cl = http_request_content_length(req);
	if (!http_request_has_body(req))
		oci_upload_commit(op, UINT64_MAX);
	else if (cl >= 0 && cl <= BLOB_WRITE_MAX &&
	    http_request_header(req, "Content-Range") == NULL &&
	    http_bodies_room((uint64_t)cl))
		/* Small enough to go with the commit, in one message (and
		 * few enough bodies in memory: else it streams). */
		http_request_read_body(req, BLOB_WRITE_MAX,
		    oci_upload_body_cb, op);
	else
		oci_upload_append_chunk(op);
}

/*
 * A session's request is done: 204 after a status (with its headers) or a
 * cancel, 202 after a new session, and for a monolithic upload the body
 * goes to it.
 */
static void
oci_upload_session_cb(int err, uint64_t size, void *arg)
{
	struct oci_upload_op *op = arg;

	if (err != 0) {
		oci_upload_fail(op, err, 0);
		return;
	}
	switch (op->step) {
	case STEP_MONOLITHIC:
		op->offset = 0;
		oci_upload_append(op);
		return;
	case STEP_START:
		oci_upload_headers(op, 0);
		http_respond(op->req, 202, NULL, NULL, 0);
		break;
	default:		/* a status or a cancel */
		if (op->step == STEP_STATUS)
			oci_upload_headers(op, size);
		http_respond(op->req, 204, NULL, NULL, 0);
		break;
	}
	free(op);
}

/* GET (its status) or DELETE (a cancel) of a session. */
void
oci_upload_query(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *uuid)
{
	struct oci_upload_op *op;
	int		 cancel;

	cancel = strcmp(http_request_method(req), "DELETE") == 0;
	if ((op = oci_upload_session(req, id, name, uuid, cancel ?
	    STEP_CANCEL : STEP_STATUS)) == NULL)
		return;
	if (cancel)
		blob_upload_cancel(&op->u, oci_upload_session_cb, op);
	else
		blob_upload_stat(&op->u, oci_upload_session_cb, op);
}

/* --- starting: sessions, monolithic uploads and mounts ------------------- */

/* Whether two repositories are encrypted alike (no type: AES256; no key:
 * the AWS managed key). */
static int
same_encryption(const struct repo_config *a, const struct repo_config *b)
{
	const char	*ta = a->encryption_type, *tb = b->encryption_type;

	if (strcmp(ta != NULL ? ta : "AES256", tb != NULL ? tb : "AES256") !=
	    0)
		return 0;
	return a->kms_key == b->kms_key || (a->kms_key != NULL &&
	    b->kms_key != NULL && strcmp(a->kms_key, b->kms_key) == 0);
}

/*
 * A mount of a blob the source repository has: 1 when it is under way,
 * 0 to open a session instead (as the OCI spec allows).  ECR mounts only
 * when the registry's BLOB_MOUNTING account setting is ENABLED (DISABLED
 * by default), only when the POST names both mount and from, only within
 * one registry, and only between repositories of the same encryption type
 * and key (userguide/blob-mounting.html).  Turning the setting off later
 * leaves the links already made, as ECR keeps mounted layers working.
 * Nor from or into a repository of a pull through cache rule: the page
 * excludes the images such a rule creates.
 */
static int
oci_upload_mount(struct oci_upload_op *op, const char *mount,
    const char *from)
{
	struct repository *src, *dst;
	struct link	*l;

	if (from == NULL || digest_parse_str(mount, &op->digest) != 0)
		return 0;
	src = repository_lookup(op->u.account, op->u.region, from);
	dst = repository_lookup(op->u.account, op->u.region,
	    op->u.repository);
	if (src == NULL || dst == NULL ||
	    strcmp(registry_account_setting(dst->registry, "BLOB_MOUNTING"),
	    "ENABLED") != 0 ||
	    !same_encryption(&src->config, &dst->config) ||
	    ptc_covered(src->registry, src->name) ||
	    ptc_covered(dst->registry, dst->name) ||
	    (l = link_find(src, &op->digest)) == NULL)
		return 0;
	blob_touch(l->blob);
	blob_upload_link(&op->u, &op->digest, l->blob->size, 0,
	    oci_upload_linked_cb, op);
	return 1;
}

static void
oci_upload_begin(struct oci_upload_op *op)
{
	struct http_request *req = op->req;
	const char	*mount, *ds, *algo_name;
	enum digest_algo algo = DIGEST_SHA256;
	int64_t		 cl;
	int		 rc;

	mount = http_request_param(req, "mount");
	if (mount != NULL && oci_upload_mount(op, mount,
	    http_request_param(req, "from")))
		return;
	if ((algo_name = http_request_param(req, "digest-algorithm")) !=
	    NULL && (algo = digest_algo_parse(algo_name,
	    strlen(algo_name))) == 0) {
		oci_error(req, BERR_DIGEST_UNSUPPORTED, "digest-algorithm %s",
		    algo_name);
		free(op);
		return;
	}
	if ((ds = http_request_param(req, "digest")) == NULL || mount != NULL) {
		blob_upload_create(&op->u, algo, oci_upload_session_cb, op);
		return;
	}
	if ((rc = digest_parse_str(ds, &op->digest)) != 0) {
		oci_error(req, rc, "invalid digest %s", ds);
		free(op);
		return;
	}
	op->step = STEP_MONOLITHIC;
	cl = http_request_content_length(req);
	if (cl >= 0 && cl <= BLOB_WRITE_MAX &&
	    http_bodies_room((uint64_t)cl)) {
		http_request_read_body(req, BLOB_WRITE_MAX,
		    oci_upload_body_cb, op);
		return;
	}
	blob_upload_create(&op->u, op->digest.algo, oci_upload_session_cb, op);
}

static void
oci_upload_repo_created_cb(int err, void *arg)
{
	struct oci_upload_op *op = arg;

	if (err != 0) {
		oci_repository_create_failed(op->req, err, op->u.account,
		    op->u.repository);
		free(op);
		return;
	}
	oci_upload_begin(op);
}

void
oci_upload_start(struct http_request *req, const struct oci_ident *id,
    const char *name)
{
	struct oci_upload_op *op;
	struct txn	 t;

	op = oci_upload_op_new(req, id, name, STEP_START);
	if (repository_lookup(id->account, id->region, name) != NULL) {
		oci_upload_begin(op);
		return;
	}
	if (!template_create_on_push(id->account, id->region, name)) {
		oci_error(req, BERR_NAME_UNKNOWN, "repository %s does not "
		    "exist; create it first, add a CREATE_ON_PUSH repository "
		    "creation template, or run berthd --create-on-push",
		    name);
		free(op);
		return;
	}
	txn_init(&t);
	(void)template_create(&t, id->account, id->region, name,
	    TEMPLATE_FOR_CREATE_ON_PUSH);
	txn_commit(&t, oci_upload_repo_created_cb, op);
}
