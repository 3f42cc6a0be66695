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
 * go through blob_upload.c as /v2/ uploads do: a part's decoded bytes go
 * to blobd through a pipe written as it drains; blobd checks the offset
 * and, at completion, the digest.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "error.h"
#include "ptc.h"
#include "util.h"

/* What ECR answers for partSize (10 MiB; the documented part size). */
#define ECR_PART_SIZE		10485760

/* One of the upload operations: its request and its session. */
struct layer_op {
	struct ecr_req	*r;
	struct blob_upload	 u;
	struct digest	 digest;
	uint64_t	 first;		/* UploadLayerPart's first byte */
	uint64_t	 len;		/* and its length */
};

static struct layer_op *
layer_op_new(struct ecr_req *r, const char *name)
{
	struct layer_op	*op;

	op = xcalloc(1, sizeof(*op));
	op->r = r;
	blob_upload_init(&op->u, r->account, r->region, name);
	return op;
}

static void
upload_not_found(struct layer_op *op, const char *id)
{
	ecr_error(op->r, "UploadNotFoundException", "The upload with id '%s' "
	    "does not exist for the repository with name '%s' in the registry "
	    "with id '%s'", id, op->u.repository, op->r->account);
}

/* The repository and the upload id of a request; NULL once answered. */
static struct layer_op *
layer_session(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*uid = ecr_str(r, "uploadId");
	struct layer_op	*op;

	if (ecr_repository_find(r, name) == NULL)
		return NULL;
	op = layer_op_new(r, name);
	if (blob_upload_set_id(&op->u, uid) != 0) {
		upload_not_found(op, uid);
		free(op);
		return NULL;
	}
	return op;
}

static struct json_object *
session_out(struct layer_op *op)
{
	struct json_object *out = json_object_new_object();

	ecr_add_str(out, "registryId", op->r->account);
	ecr_add_str(out, "repositoryName", op->u.repository);
	ecr_add_str(out, "uploadId", op->u.id_str);
	return out;
}

/* The media type an image of repo gives the blob (config or layer), or
 * NULL when none names it. */
static const char *
layer_media_type(const struct repository *repo, const struct digest *d)
{
	const struct repo_ref *ref = repo_ref_find(repo, d);

	return ref != NULL && ref->blob_refs > 0 ? ref->media_type : NULL;
}

/* --- BatchCheckLayerAvailability ----------------------------------------- */

void
ecr_layer_check(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName"), *ds;
	struct json_object *digests = ecr_member(r, "layerDigests");
	struct json_object *out, *layers, *failures, *o;
	struct repository *repo;
	struct digest	 d;
	struct link	*l;
	const char	*mt;
	size_t		 i, n;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
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
		if ((mt = layer_media_type(repo, &d)) != NULL)
			ecr_add_str(o, "mediaType", mt);
		json_object_array_add(layers, o);
	}
	json_object_object_add(out, "layers", layers);
	json_object_object_add(out, "failures", failures);
	ecr_respond(r, out);
}

/* --- InitiateLayerUpload ------------------------------------------------- */

static void
initiate_cb(int err, uint64_t size, void *arg)
{
	struct layer_op	*op = arg;
	struct json_object *out;

	if (err != 0) {
		ecr_fail(op->r, err);
		free(op);
		return;
	}
	out = json_object_new_object();
	ecr_add_str(out, "uploadId", op->u.id_str);
	json_object_object_add(out, "partSize",
	    json_object_new_int64(ECR_PART_SIZE));
	ecr_respond(op->r, out);
	free(op);
}

static void
initiate_go(struct ecr_req *r)
{
	struct layer_op	*op;

	op = layer_op_new(r, ecr_str(r, "repositoryName"));
	blob_upload_create(&op->u, DIGEST_SHA256, initiate_cb, op);
}

void
ecr_layer_initiate(struct ecr_req *r)
{
	ecr_push_repository(r, ecr_str(r, "repositoryName"), initiate_go);
}

/* --- UploadLayerPart ----------------------------------------------------- */

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
part_cb(int err, uint64_t size, void *arg)
{
	struct layer_op	*op = arg;
	struct json_object *out;

	switch (err) {
	case 0:
		layer_part_note(layer_parts_get(op->u.id, op->first), op->len);
		out = session_out(op);
		json_object_object_add(out, "lastByteReceived",
		    json_object_new_int64(size > 0 ? (int64_t)size - 1 : 0));
		ecr_respond(op->r, out);
		break;
	case BERR_UPLOAD_UNKNOWN:
		layer_parts_forget(op->u.id);
		upload_not_found(op, op->u.id_str);
		break;
	case BERR_RANGE_INVALID:
		invalid_part(op, size, "The part's first byte %llu is not the "
		    "next byte of the upload, which holds %llu bytes",
		    (unsigned long long)op->first, (unsigned long long)size);
		break;
	case BERR_UPLOAD_BUSY:
		invalid_part(op, size, "Another part of this upload is being "
		    "received");
		break;
	default:
		ecr_fail(op->r, err);
		break;
	}
	free(op);
}

void
ecr_layer_upload_part(struct ecr_req *r)
{
	const char	*b64 = ecr_str(r, "layerPartBlob");
	struct layer_op	*op;
	int64_t		 first = ecr_int(r, "partFirstByte", -1);
	int64_t		 last = ecr_int(r, "partLastByte", -1);
	size_t		 blen = strlen(b64), len;
	uint8_t		*data;
	const char	*exc;
	char		 msg[256];
	ssize_t		 n;
	int		 rc;

	if ((op = layer_session(r)) == NULL)
		return;
	data = xmalloc(blen / 4 * 3 + 3);
	if ((n = base64_decode(b64, blen, data, blen / 4 * 3 + 3)) < 0) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'layerPartBlob' failed to satisfy constraint: 'must "
		    "be base64'");
		free(data);
		free(op);
		return;
	}
	len = (size_t)n;
	if (first < 0 || last < first || (uint64_t)(last - first) + 1 != len) {
		invalid_part(op, (uint64_t)(first > 0 ? first : 0),
		    "The part's byte range %lld-%lld does not match its %zu "
		    "bytes", (long long)first, (long long)last, len);
		free(data);
		free(op);
		return;
	}
	op->first = (uint64_t)first;
	op->len = len;
	if ((exc = layer_part_check(layer_parts_get(op->u.id, op->first),
	    op->first, len, msg, sizeof(msg))) != NULL) {
		if (strcmp(exc, "InvalidLayerPartException") == 0)
			invalid_part(op, op->first, "%s", msg);
		else
			ecr_error(r, exc, "%s", msg);
		free(data);
		free(op);
		return;
	}
	if ((rc = blob_upload_append_bytes(&op->u, data, len, op->first,
	    part_cb, op)) != 0) {
		ecr_fail(r, rc);
		free(op);
	}
}

/* --- CompleteLayerUpload ------------------------------------------------- */

static void
complete_cb(int err, uint64_t size, void *arg)
{
	struct layer_op	*op = arg;
	struct json_object *out;
	char		 ds[DIGEST_STR_MAX];

	digest_format(&op->digest, ds);
	switch (err) {
	case 0:
		layer_parts_forget(op->u.id);
		out = session_out(op);
		ecr_add_str(out, "layerDigest", ds);
		ecr_respond(op->r, out);
		break;
	case BERR_UPLOAD_UNKNOWN:
		layer_parts_forget(op->u.id);
		upload_not_found(op, op->u.id_str);
		break;
	case BERR_DIGEST_INVALID:
	case BERR_SIZE_INVALID:
		ecr_error(op->r, "InvalidLayerException", "The layer uploaded "
		    "does not have the digest %s", ds);
		break;
	case BERR_NAME_UNKNOWN:
		ecr_repository_not_found(op->r, op->u.repository);
		break;
	case BERR_EXISTS:
		ecr_error(op->r, "LayerAlreadyExistsException", "The layer "
		    "with digest '%s' already exists in the repository with "
		    "name '%s' in the registry with id '%s'", ds,
		    op->u.repository, op->r->account);
		break;
	default:
		ecr_fail(op->r, err);
		break;
	}
	free(op);
}

static void
complete_stat_cb(int err, uint64_t size, void *arg)
{
	struct layer_op	*op = arg;

	if (err == 0 && size == 0) {
		ecr_error(op->r, "EmptyUploadException", "The upload with id "
		    "'%s' contains no layer parts", op->u.id_str);
		free(op);
		return;
	}
	if (err != 0) {
		complete_cb(err, size, op);
		return;
	}
	if (layer_parts_get(op->u.id, size)->small) {
		ecr_error(op->r, "LayerPartTooSmallException", "Layer parts "
		    "must be at least %d bytes, all but the last one: a part "
		    "before the last of the upload with id '%s' is shorter",
		    ECR_PART_MIN, op->u.id_str);
		free(op);
		return;
	}
	blob_upload_commit(&op->u, &op->digest, size, BLOB_UPLOAD_LINK_NEW,
	    complete_cb, op);
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
		ecr_error(r, "InvalidLayerException", "The layer digest '%s' "
		    "is not a sha256 or sha512 digest", ds);
		free(op);
		return;
	}
	repo = repository_lookup(r->account, r->region, op->u.repository);
	if (repo != NULL && link_find(repo, &op->digest) != NULL) {
		complete_cb(BERR_EXISTS, 0, op);
		return;
	}
	blob_upload_stat(&op->u, complete_stat_cb, op);
}

/* --- GetDownloadUrlForLayer ---------------------------------------------- */

/*
 * AWS: LayersNotFoundException when the repository has no such layer;
 * LayerInaccessibleException when it has it but no image of the
 * repository uses it ("not associated with an image").
 */
void
ecr_layer_download_url(struct ecr_req *r)
{
	struct repository *repo;
	const struct repo_ref *ref;
	struct digest	 d;

	/* The cache fetches a layer that an image it holds names (the
	 * client pulled the manifest first), never any digest asked for. */
	if ((repo = repository_lookup(r->account, r->region,
	    ecr_str(r, "repositoryName"))) != NULL &&
	    digest_parse_str(ecr_str(r, "layerDigest"), &d) == 0 &&
	    (ref = repo_ref_find(repo, &d)) != NULL && ref->blob_refs > 0 &&
	    ecr_ptc_download_url(r))
		return;
	ecr_layer_download_url_held(r);
}

void
ecr_layer_download_url_held(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*ds = ecr_str(r, "layerDigest");
	struct repository *repo;
	struct json_object *out;
	const struct repo_ref *ref;
	struct digest	 d;
	char		 host[384], *url, *grant;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	if (digest_parse_str(ds, &d) != 0 || link_find(repo, &d) == NULL) {
		ecr_error(r, "LayersNotFoundException", "The layer with digest "
		    "'%s' does not exist in the repository with name '%s' in "
		    "the registry with id '%s'", ds, name, r->account);
		return;
	}
	if ((ref = repo_ref_find(repo, &d)) == NULL || ref->blob_refs == 0) {
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
