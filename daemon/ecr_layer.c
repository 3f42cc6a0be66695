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
 * ECR's layer API: BatchCheckLayerAvailability, InitiateLayerUpload,
 * UploadLayerPart, CompleteLayerUpload, GetDownloadUrlForLayer.  Uploads
 * are blobd's sessions, the same as /v2/ uploads: a part's decoded bytes
 * go to blobd through a pipe written as it drains (never blocking the
 * loop); blobd checks the offset and, at completion, the digest.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "berthd.h"
#include "error.h"
#include "log.h"
#include "name.h"
#include "util.h"

/* What ECR answers for partSize (10 MiB; the documented part size). */
#define ECR_PART_SIZE		10485760

struct layer_op {
	struct ecr_req	*r;
	char		 name[NAME_MAX_LEN + 1];
	char		 owner[OWNER_MAX];
	uint8_t		 uuid[UPLOAD_ID_LEN];
	char		 uuid_str[UUID_STR_LEN];
	struct digest	 digest;
	/* UploadLayerPart */
	uint8_t		*data;
	size_t		 len, off;
	uint64_t	 first;
	int		 wfd;
	struct event	*ev;
	int		 reply_pending;
	int		 write_pending;
	int		 err;
	uint64_t	 size;		/* the session's size from blobd */
};

static struct layer_op *
layer_op_new(struct ecr_req *r, const char *name)
{
	struct layer_op	*op;

	op = xcalloc(1, sizeof(*op));
	op->r = r;
	op->wfd = -1;
	snprintf(op->name, sizeof(op->name), "%s", name);
	(void)name_owner_format(op->owner, sizeof(op->owner), r->account,
	    r->region, name);
	return op;
}

static void
layer_op_free(struct layer_op *op)
{
	if (op->ev != NULL)
		event_free(op->ev);
	if (op->wfd != -1)
		close(op->wfd);
	free(op->data);
	free(op);
}

static void
upload_not_found(struct layer_op *op)
{
	ecr_error(op->r, "UploadNotFoundException", "The upload with id '%s' "
	    "does not exist for the repository with name '%s' in the registry "
	    "with id '%s'", op->uuid_str, op->name, op->r->account);
}

/* The repository and the upload id of a request; NULL once answered. */
static struct layer_op *
layer_session(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*uid = ecr_str(r, "uploadId");
	struct layer_op	*op;

	if (ecr_repository_find(r, name) == NULL) {
		ecr_repository_not_found(r, name);
		return NULL;
	}
	op = layer_op_new(r, name);
	snprintf(op->uuid_str, sizeof(op->uuid_str), "%s", uid);
	if (uuid_parse(uid, op->uuid) == -1) {
		upload_not_found(op);
		layer_op_free(op);
		return NULL;
	}
	uuid_format(op->uuid, op->uuid_str);
	return op;
}

static struct json_object *
session_out(struct layer_op *op)
{
	struct json_object *out = json_object_new_object();

	ecr_add_str(out, "registryId", op->r->account);
	ecr_add_str(out, "repositoryName", op->name);
	ecr_add_str(out, "uploadId", op->uuid_str);
	return out;
}

/* Whether an image of repo names the blob (config or layer). */
static const struct image_ref *
layer_ref(const struct repository *repo, const struct digest *d)
{
	size_t	 i, k;

	for (i = 0; i < repo->images.len; i++) {
		const struct image *img = repo->images.items[i];
		for (k = 0; k < img->nrefs; k++)
			if (img->refs[k].kind != REF_MANIFEST &&
			    digest_eq(&img->refs[k].digest, d))
				return &img->refs[k];
	}
	return NULL;
}

/* --- BatchCheckLayerAvailability ----------------------------------------- */

void
ecr_layer_check(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName"), *ds;
	struct json_object *digests = ecr_member(r, "layerDigests");
	struct json_object *out, *layers, *failures, *o;
	const struct image_ref *ref;
	struct repository *repo;
	struct digest	 d;
	struct link	*l;
	size_t		 i, n;

	if ((repo = ecr_repository_find(r, name)) == NULL) {
		ecr_repository_not_found(r, name);
		return;
	}
	out = json_object_new_object();
	layers = json_object_new_array();
	failures = json_object_new_array();
	n = json_object_array_length(digests);
	for (i = 0; i < n; i++) {
		ds = json_object_get_string(json_object_array_get_idx(digests,
		    i));
		if (ds[0] == '\0' || digest_parse_str(ds, &d) != 0) {
			o = json_object_new_object();
			ecr_add_str(o, "layerDigest", ds);
			ecr_add_str(o, "failureCode", ds[0] == '\0' ?
			    "MissingLayerDigest" : "InvalidLayerDigest");
			ecr_add_str(o, "failureReason", ds[0] == '\0' ?
			    "The layer digest is missing" :
			    "Invalid layer digest");
			json_object_array_add(failures, o);
			continue;
		}
		o = json_object_new_object();
		ecr_add_str(o, "layerDigest", ds);
		if ((l = link_find(repo, &d)) == NULL) {
			ecr_add_str(o, "layerAvailability", "UNAVAILABLE");
			json_object_array_add(layers, o);
			continue;
		}
		blob_touch(l->blob);
		ecr_add_str(o, "layerAvailability", "AVAILABLE");
		json_object_object_add(o, "layerSize",
		    json_object_new_int64((int64_t)l->blob->size));
		if ((ref = layer_ref(repo, &d)) != NULL)
			ecr_add_str(o, "mediaType", ref->media_type);
		json_object_array_add(layers, o);
	}
	json_object_object_add(out, "layers", layers);
	json_object_object_add(out, "failures", failures);
	ecr_respond(r, out);
}

/* --- InitiateLayerUpload -------------------------------------------------- */

static void
initiate_cb(int err, const uint8_t id[UPLOAD_ID_LEN], void *arg)
{
	struct layer_op	*op = arg;
	struct json_object *out;

	if (err != 0) {
		ecr_fail(op->r, err);
		layer_op_free(op);
		return;
	}
	uuid_format(id, op->uuid_str);
	out = json_object_new_object();
	ecr_add_str(out, "uploadId", op->uuid_str);
	json_object_object_add(out, "partSize",
	    json_object_new_int64(ECR_PART_SIZE));
	ecr_respond(op->r, out);
	layer_op_free(op);
}

void
ecr_layer_initiate(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	struct layer_op	*op;

	if (ecr_repository_find(r, name) == NULL) {
		ecr_repository_not_found(r, name);
		return;
	}
	op = layer_op_new(r, name);
	blobc_upload_create(op->owner, DIGEST_SHA256, initiate_cb, op);
}

/* --- UploadLayerPart ------------------------------------------------------ */

static void
invalid_part(struct layer_op *op, uint64_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
invalid_part(struct layer_op *op, uint64_t size, const char *fmt, ...)
{
	struct json_object *f;
	char		 msg[512];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The exception's members, as the model defines them. */
	f = session_out(op);
	json_object_object_add(f, "lastValidByteReceived",
	    json_object_new_int64(size > 0 ? (int64_t)size - 1 : 0));
	ecr_error_fields(op->r, "InvalidLayerPartException", f, "%s", msg);
}

static void
part_finish(struct layer_op *op)
{
	struct json_object *out;

	if (op->reply_pending || op->write_pending)
		return;
	switch (op->err) {
	case 0:
		out = session_out(op);
		json_object_object_add(out, "lastByteReceived",
		    json_object_new_int64(op->size > 0 ?
		    (int64_t)op->size - 1 : 0));
		ecr_respond(op->r, out);
		break;
	case BERR_UPLOAD_UNKNOWN:
		upload_not_found(op);
		break;
	case BERR_RANGE_INVALID:
		invalid_part(op, op->size, "The part's first byte %llu is not "
		    "the next byte of the upload, which holds %llu bytes",
		    (unsigned long long)op->first,
		    (unsigned long long)op->size);
		break;
	case BERR_UPLOAD_BUSY:
		invalid_part(op, op->size, "Another part of this upload is "
		    "being received");
		break;
	default:
		ecr_fail(op->r, op->err);
		break;
	}
	layer_op_free(op);
}

static void
part_stop_writing(struct layer_op *op)
{
	if (op->ev != NULL) {
		event_free(op->ev);
		op->ev = NULL;
	}
	if (op->wfd != -1) {
		close(op->wfd);
		op->wfd = -1;
	}
	op->write_pending = 0;
}

static void
part_write_cb(evutil_socket_t fd, short events, void *arg)
{
	struct layer_op	*op = arg;
	ssize_t		 n;

	while (op->off < op->len) {
		n = write(op->wfd, op->data + op->off, op->len - op->off);
		if (n > 0) {
			op->off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;		/* the event calls again */
		/* blobd closed its end: it refused the part, and says
		 * why in its reply. */
		break;
	}
	part_stop_writing(op);
	part_finish(op);
}

static void
part_reply_cb(int err, uint64_t size, void *arg)
{
	struct layer_op	*op = arg;

	op->reply_pending = 0;
	op->err = err;
	op->size = size;
	if (err != 0)
		part_stop_writing(op);
	part_finish(op);
}

void
ecr_layer_upload_part(struct ecr_req *r)
{
	const char	*b64 = ecr_str(r, "layerPartBlob");
	struct layer_op	*op;
	int64_t		 first = ecr_int(r, "partFirstByte", -1);
	int64_t		 last = ecr_int(r, "partLastByte", -1);
	size_t		 blen = strlen(b64);
	ssize_t		 n;
	int		 p[2];

	if ((op = layer_session(r)) == NULL)
		return;
	op->data = xmalloc(blen / 4 * 3 + 3);
	if ((n = base64_decode(b64, blen, op->data, blen / 4 * 3 + 3)) < 0) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter at "
		    "'layerPartBlob' failed to satisfy constraint: 'must be "
		    "base64'");
		layer_op_free(op);
		return;
	}
	op->len = (size_t)n;
	op->first = (uint64_t)first;
	if (first < 0 || last < first || (uint64_t)(last - first) + 1 !=
	    op->len) {
		invalid_part(op, (uint64_t)(first > 0 ? first : 0),
		    "The part's byte range %lld-%lld does not match its %zu "
		    "bytes", (long long)first, (long long)last, op->len);
		layer_op_free(op);
		return;
	}
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("pipe");
		ecr_fail(r, BERR_IO);
		layer_op_free(op);
		return;
	}
	(void)fcntl(p[1], F_SETPIPE_SZ, 1024 * 1024);
	op->wfd = p[1];
	if ((op->ev = event_new(ev_base, p[1], EV_WRITE | EV_PERSIST,
	    part_write_cb, op)) == NULL)
		fatalx("event_new");
	op->reply_pending = 1;
	op->write_pending = 1;
	/* blobd reads the pipe until EOF; p[0] goes with the request. */
	blobc_upload_append(op->owner, op->uuid, op->first, op->len, p[0],
	    part_reply_cb, op);
	if (op->write_pending && op->ev != NULL)
		event_add(op->ev, NULL);
}

/* --- CompleteLayerUpload -------------------------------------------------- */

static void
complete_linked_cb(int err, void *arg)
{
	struct layer_op	*op = arg;
	struct json_object *out;
	char		 ds[DIGEST_STR_MAX];

	if (err != 0)
		ecr_fail(op->r, err);
	else {
		out = session_out(op);
		ecr_add_str(out, "layerDigest", digest_format(&op->digest,
		    ds));
		ecr_respond(op->r, out);
	}
	layer_op_free(op);
}

static void
layer_exists(struct layer_op *op)
{
	char	 ds[DIGEST_STR_MAX];

	ecr_error(op->r, "LayerAlreadyExistsException", "The layer with digest "
	    "'%s' already exists in the repository with name '%s' in the "
	    "registry with id '%s'", digest_format(&op->digest, ds), op->name,
	    op->r->account);
}

static void
complete_committed_cb(int err, uint64_t size, void *arg)
{
	struct layer_op	*op = arg;
	struct repository *repo;
	struct txn	 t;
	char		 ds[DIGEST_STR_MAX];

	if (err != 0) {
		if (err == BERR_UPLOAD_UNKNOWN)
			upload_not_found(op);
		else if (err == BERR_DIGEST_INVALID || err == BERR_SIZE_INVALID)
			ecr_error(op->r, "InvalidLayerException", "The layer "
			    "uploaded does not have the digest %s",
			    digest_format(&op->digest, ds));
		else
			ecr_fail(op->r, err);
		layer_op_free(op);
		return;
	}
	/* Looked up again: the model may have changed during the wait. */
	repo = repository_lookup(op->r->account, op->r->region, op->name);
	if (repo == NULL) {
		ecr_repository_not_found(op->r, op->name);
		layer_op_free(op);
		return;
	}
	if (link_find(repo, &op->digest) != NULL) {
		layer_exists(op);
		layer_op_free(op);
		return;
	}
	txn_init(&t);
	(void)txn_link_put(&t, repo, &op->digest, size);
	txn_commit(&t, complete_linked_cb, op);
}

static void
complete_stat_cb(int err, uint64_t size, void *arg)
{
	struct layer_op	*op = arg;

	if (err != 0) {
		if (err == BERR_UPLOAD_UNKNOWN)
			upload_not_found(op);
		else
			ecr_fail(op->r, err);
		layer_op_free(op);
		return;
	}
	if (size == 0) {
		ecr_error(op->r, "EmptyUploadException", "The upload with id "
		    "'%s' contains no layer parts", op->uuid_str);
		layer_op_free(op);
		return;
	}
	blobc_upload_commit(op->owner, op->uuid, &op->digest,
	    complete_committed_cb, op);
}

void
ecr_layer_complete(struct ecr_req *r)
{
	struct json_object *digests = ecr_member(r, "layerDigests");
	struct repository *repo;
	struct layer_op	*op;
	const char	*ds;

	if ((op = layer_session(r)) == NULL)
		return;
	/* ECR takes the layer's digest from the list's first entry. */
	ds = json_object_get_string(json_object_array_get_idx(digests, 0));
	if (digest_parse_str(ds, &op->digest) != 0) {
		ecr_error(r, "InvalidLayerException", "The layer digest '%s' is "
		    "not a sha256 or sha512 digest", ds);
		layer_op_free(op);
		return;
	}
	repo = ecr_repository_find(r, op->name);
	if (repo != NULL && link_find(repo, &op->digest) != NULL) {
		layer_exists(op);
		layer_op_free(op);
		return;
	}
	blobc_upload_stat(op->owner, op->uuid, complete_stat_cb, op);
}

/* --- GetDownloadUrlForLayer -------------------------------------------------- */

/*
 * AWS: LayersNotFoundException when the repository has no such layer;
 * LayerInaccessibleException when it has it but no image of the
 * repository uses it ("not associated with an image").
 */
void
ecr_layer_download_url(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*ds = ecr_str(r, "layerDigest");
	struct repository *repo;
	struct json_object *out;
	struct digest	 d;
	char		 host[384], *url, *grant;

	if ((repo = ecr_repository_find(r, name)) == NULL) {
		ecr_repository_not_found(r, name);
		return;
	}
	if (digest_parse_str(ds, &d) != 0 || link_find(repo, &d) == NULL) {
		ecr_error(r, "LayersNotFoundException", "The layer with digest "
		    "'%s' does not exist in the repository with name '%s' in "
		    "the registry with id '%s'", ds, name, r->account);
		return;
	}
	if (layer_ref(repo, &d) == NULL) {
		ecr_error(r, "LayerInaccessibleException", "The layer with "
		    "digest '%s' is not associated with an image in the "
		    "repository with name '%s' in the registry with id '%s'",
		    ds, name, r->account);
		return;
	}
	/* Like ECR's pre-signed URL: usable without a login, for a while. */
	ecr_registry_host(r->account, r->region, host, sizeof(host));
	grant = auth_download_issue(r->account, r->region, name, ds,
	    now_sec() + OCI_DOWNLOAD_TTL);
	xasprintf(&url, "http://%s/v2/%s/blobs/%s?%s=%s", host, name, ds,
	    OCI_DOWNLOAD_PARAM, grant);
	out = json_object_new_object();
	ecr_add_str(out, "downloadUrl", url);
	ecr_add_str(out, "layerDigest", ds);
	free(grant);
	free(url);
	ecr_respond(r, out);
}
