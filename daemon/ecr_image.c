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
 * ECR images: PutImage, BatchGetImage, DescribeImages, ListImages,
 * BatchDeleteImage, UpdateImageStorageClass (the archive).  They read and write the model the OCI side uses;
 * PutImage goes through image_push(), the one push path.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "error.h"
#include "log.h"
#include "name.h"
#include "ptc.h"
#include "util.h"

#define DIGEST_REGEX	"[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+"

/* --- identifiers --------------------------------------------------------- */

enum id_result {
	ID_FOUND, ID_MISSING_BOTH, ID_BAD_DIGEST, ID_NOT_FOUND, ID_MISMATCH
};

/* Whether ds has the form ECR asks of digests (DIGEST_REGEX). */
static int
digest_regex_ok(const char *ds)
{
	const char	*colon = strchr(ds, ':');
	size_t		 n;

	if (colon == NULL || colon == ds || colon[1] == '\0')
		return 0;
	n = (size_t)(colon - ds);
	if (strspn(ds, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_+.") != n)
		return 0;
	return strspn(colon + 1, "0123456789abcdefABCDEF") ==
	    strlen(colon + 1);
}

/* Resolves an ImageIdentifier {imageDigest, imageTag} in repo (NULL: none
 * is found). */
static enum id_result
resolve_id(struct repository *repo, struct json_object *id,
    struct image **out, const char **tagp, const char **digestp)
{
	struct json_object *v;
	const char	*tag = NULL, *ds = NULL;
	struct digest	 d;
	struct image	*img = NULL;
	struct tag	*tg;

	*out = NULL;
	if (json_object_object_get_ex(id, "imageTag", &v) && v != NULL)
		tag = json_object_get_string(v);
	if (json_object_object_get_ex(id, "imageDigest", &v) && v != NULL)
		ds = json_object_get_string(v);
	*tagp = tag;
	*digestp = ds;
	if (tag == NULL && ds == NULL)
		return ID_MISSING_BOTH;
	if (ds != NULL) {
		if (digest_parse_str(ds, &d) != 0)
			return digest_regex_ok(ds) ? ID_NOT_FOUND :
			    ID_BAD_DIGEST;
		img = repo != NULL ? image_find(repo, &d) : NULL;
	}
	if (tag != NULL) {
		tg = repo != NULL ? tag_find(repo, tag) : NULL;
		if (tg == NULL)
			return ID_NOT_FOUND;
		if (img != NULL && tg->image != img)
			return ID_MISMATCH;
		if (ds != NULL && img == NULL)
			return ID_MISMATCH;
		img = tg->image;
	}
	if (img == NULL)
		return ID_NOT_FOUND;
	*out = img;
	return ID_FOUND;
}

static struct json_object *
id_json(const char *digest, const char *tag)
{
	struct json_object *o = json_object_new_object();

	ecr_add_str(o, "imageDigest", digest);
	ecr_add_str(o, "imageTag", tag);
	return o;
}

static void
add_failure(struct json_object *failures, const char *digest,
    const char *tag, const char *code, const char *reason)
{
	struct json_object *f = json_object_new_object();

	json_object_object_add(f, "imageId", id_json(digest, tag));
	ecr_add_str(f, "failureCode", code);
	ecr_add_str(f, "failureReason", reason);
	json_object_array_add(failures, f);
}

static int
id_failure(struct json_object *failures, enum id_result rc,
    const char *digest, const char *tag)
{
	switch (rc) {
	case ID_MISSING_BOTH:
		add_failure(failures, digest, tag, "MissingDigestAndTag",
		    "Invalid request parameters: both tag and digest cannot be "
		    "null");
		return 1;
	case ID_BAD_DIGEST:
		add_failure(failures, digest, tag, "InvalidImageDigest",
		    "Invalid request parameters: image digest should satisfy "
		    "the regex '" DIGEST_REGEX "'");
		return 1;
	case ID_NOT_FOUND:
		add_failure(failures, digest, tag, "ImageNotFound",
		    "Requested image not found");
		return 1;
	case ID_MISMATCH:
		add_failure(failures, digest, tag, "ImageTagDoesNotMatchDigest",
		    "Invalid request parameters: given tag and digest do not "
		    "match");
		return 1;
	case ID_FOUND:
	default:
		return 0;
	}
}

/* --- PutImage ------------------------------------------------------------ */

/* What PutImage refuses before it looks at the repository: 0, or -1 when r
 * was answered. */
static int
image_put_check(struct ecr_req *r)
{
	const char	*manifest = ecr_str(r, "imageManifest");
	const char	*ds = ecr_str(r, "imageDigest");
	struct json_object *doc, *v;
	struct digest	 expected;
	int		 has_mt = 0;

	if (ds != NULL && digest_parse_str(ds, &expected) != 0) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'imageDigest' failed to satisfy constraint: 'must be "
		    "a sha256 or sha512 digest'");
		return -1;
	}
	/* As ECR: a manifest that does not name its media type needs
	 * imageManifestMediaType (--lenient-images: it is Docker's). */
	if ((doc = json_parse_strict(manifest, strlen(manifest), 64,
	    NULL)) != NULL) {
		has_mt = json_object_is_type(doc, json_type_object) &&
		    json_object_object_get_ex(doc, "mediaType", &v);
		json_object_put(doc);
	}
	if (doc == NULL) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'ImageManifest' failed to satisfy constraint: "
		    "'Invalid JSON syntax'");
		return -1;
	}
	if (!has_mt && ecr_str(r, "imageManifestMediaType") == NULL &&
	    !conf.lenient_images) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'imageManifestMediaType' failed to satisfy "
		    "constraint: 'the manifest has no mediaType, so "
		    "imageManifestMediaType is required'");
		return -1;
	}
	return 0;
}

static void
image_put_go(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*manifest = ecr_str(r, "imageManifest");
	const char	*mt = ecr_str(r, "imageManifestMediaType");
	const char	*tag = ecr_str(r, "imageTag");
	const char	*ds = ecr_str(r, "imageDigest");
	struct json_object *out, *image;
	struct image_push p;
	struct repository *repo;
	struct image	*img;
	struct digest	 expected;
	struct ecr_reply *c;
	char		 dstr[DIGEST_STR_MAX], *tags[1];
	size_t		 len = strlen(manifest);
	int		 rc;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	if (ds != NULL)
		(void)digest_parse_str(ds, &expected);	/* checked */
	memset(&p, 0, sizeof(p));
	p.account = r->account;
	p.region = r->region;
	p.repository = name;
	p.manifest = (const uint8_t *)manifest;
	p.len = len;
	p.content_type = mt;
	p.expected = ds != NULL ? &expected : NULL;
	if (tag != NULL) {
		tags[0] = (char *)(uintptr_t)tag;
		p.tags = tags;
		p.ntags = 1;
	}
	p.ecr = 1;
	p.lenient = conf.lenient_images;
	c = ecr_reply_new(r, NULL);
	if ((rc = image_push(&p, ecr_reply_cb, c)) == 0) {
		/* Applied: the output comes from the model as it is now. */
		digest_format(&p.digest, dstr);
		img = image_find(repo, &p.digest);
		out = json_object_new_object();
		image = json_object_new_object();
		ecr_add_str(image, "registryId", r->account);
		ecr_add_str(image, "repositoryName", name);
		json_object_object_add(image, "imageId", id_json(dstr, tag));
		ecr_add_str(image, "imageManifest", manifest);
		ecr_add_str(image, "imageManifestMediaType", img != NULL ?
		    img->media_type : mt);
		json_object_object_add(out, "image", image);
		c->out = out;
		return;
	}
	free(c);
	digest_format(&p.digest, dstr);
	switch (rc) {
	case BERR_NAME_UNKNOWN:
		ecr_repository_not_found(r, name);
		break;
	case BERR_DIGEST_INVALID:
		ecr_error(r, "ImageDigestDoesNotMatchException", "The provided "
		    "image digest '%s' does not match the digest '%s' computed "
		    "for the image manifest", ds, dstr);
		break;
	case BERR_EXISTS:
		if (tag != NULL)
			ecr_error(r, "ImageAlreadyExistsException", "Image "
			    "with digest '%s' and tag '%s' already exists in "
			    "the repository with name '%s' in registry with "
			    "id '%s'", dstr, tag, name, r->account);
		else
			ecr_error(r, "ImageAlreadyExistsException", "Image "
			    "with digest '%s' already exists in the "
			    "repository with name '%s' in registry with id "
			    "'%s'", dstr, name, r->account);
		break;
	case BERR_TAG_IMMUTABLE:
		ecr_error(r, "ImageTagAlreadyExistsException", "The image tag "
		    "'%s' already exists in the '%s' repository and cannot be "
		    "overwritten because the %s immutable.", tag, name,
		    repo->config.mutability == MUT_IMMUTABLE ?
		    "repository is" : "tag is");
		break;
	case BERR_MANIFEST_BLOB_UNKNOWN:
		digest_format(&p.missing, dstr);
		if (p.missing_is_manifest)
			ecr_error(r, "ReferencedImagesNotFoundException", "The "
			    "manifest references images that do not exist in "
			    "the repository: [%s]", dstr);
		else
			ecr_error(r, "LayersNotFoundException", "Layers with "
			    "digests '[%s]' required for pushing image into "
			    "repository with name '%s' in the registry with id "
			    "'%s' do not exist", dstr, name, r->account);
		break;
	case BERR_LIMIT_EXCEEDED:
		ecr_error(r, "LimitExceededException", "%s", p.detail);
		break;
	case BERR_MANIFEST_INVALID:
	case BERR_TOO_LARGE:
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'ImageManifest' failed to satisfy constraint: '%s'",
		    p.detail[0] != '\0' ? p.detail : berr_message(rc));
		break;
	default:
		ecr_fail(r, rc);
		break;
	}
}

void
ecr_image_put(struct ecr_req *r)
{
	if (image_put_check(r) == 0)
		ecr_push_repository(r, ecr_str(r, "repositoryName"),
		    image_put_go);
}

/* --- BatchGetImage ------------------------------------------------------- */

static int
media_type_accepted(struct json_object *accepted, const char *mt)
{
	size_t	 i, n;

	if (accepted == NULL)
		return 1;
	n = json_object_array_length(accepted);
	for (i = 0; i < n; i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(
		    accepted, i)), mt) == 0)
			return 1;
	return 0;
}

void
ecr_image_batch_get(struct ecr_req *r)
{
	if (!ecr_ptc_batch_get(r))
		ecr_image_batch_get_held(r, NULL);
}

void
ecr_image_batch_get_held(struct ecr_req *r,
    const struct ecr_upstream_failure *upstream)
{
	const char	*name = ecr_str(r, "repositoryName"), *tag, *ds;
	struct json_object *ids = ecr_member(r, "imageIds");
	struct json_object *accepted = ecr_member(r, "acceptedMediaTypes");
	struct json_object *out, *images, *failures, *o;
	struct repository *repo;
	struct image	*img;
	enum id_result	 rc;
	char		 dstr[DIGEST_STR_MAX];
	size_t		 i, n;

	n = json_object_array_length(ids);
	/* A repository the cache did not create because the upstream
	 * failed: the failures say why rather than RepositoryNotFound. */
	for (i = 0; upstream != NULL && i < n; i++)
		if (upstream[i].code != NULL)
			break;
	if ((repo = repository_lookup(r->account, r->region, name)) == NULL &&
	    (upstream == NULL || i == n)) {
		ecr_repository_not_found(r, name);
		return;
	}
	out = json_object_new_object();
	images = json_object_new_array();
	failures = json_object_new_array();
	for (i = 0; i < n; i++) {
		rc = resolve_id(repo, json_object_array_get_idx(ids, i), &img,
		    &tag, &ds);
		if (upstream != NULL && upstream[i].code != NULL) {
			add_failure(failures, ds, tag, upstream[i].code,
			    upstream[i].reason);
			continue;
		}
		if (id_failure(failures, rc, ds, tag))
			continue;
		/* The model has no failure code for it; an archived image's
		 * manifest is not served (userguide/archive-image.html). */
		if (!image_is_pullable(img)) {
			add_failure(failures, ds, tag, "ImageNotFound",
			    "Requested image is archived: restore it with "
			    "UpdateImageStorageClass first");
			continue;
		}
		if (!media_type_accepted(accepted, img->media_type)) {
			add_failure(failures, ds, tag, "ImageNotFound",
			    "Requested image not found: its manifest media "
			    "type is not in acceptedMediaTypes");
			continue;
		}
		o = json_object_new_object();
		ecr_add_str(o, "registryId", r->account);
		ecr_add_str(o, "repositoryName", repo->name);
		json_object_object_add(o, "imageId", id_json(
		    digest_format(&img->digest, dstr), tag));
		json_object_object_add(o, "imageManifest",
		    json_object_new_string_len((const char *)img->manifest,
		    (int)img->manifest_len));
		ecr_add_str(o, "imageManifestMediaType", img->media_type);
		json_object_array_add(images, o);
		meta_note_pull(img, r->caller.principal);
	}
	json_object_object_add(out, "images", images);
	json_object_object_add(out, "failures", failures);
	ecr_respond(r, out);
}

/* --- DescribeImages and ListImages --------------------------------------- */

enum tag_status { TS_ANY, TS_TAGGED, TS_UNTAGGED };

static const char *const image_status_names[] = {
	"ACTIVE", "ARCHIVED", "ACTIVATING"
};

/*
 * filter.tagStatus, and in *statuses the image statuses filter.imageStatus
 * admits, a bit per enum image_status: ACTIVE alone by default, as
 * "archived images are listed/described only with filter.imageStatus"
 * (userguide/archive-image.html, API_DescribeImagesFilter).
 */
static enum tag_status
filter_tag_status(struct ecr_req *r, unsigned *statuses)
{
	struct json_object *f = ecr_member(r, "filter"), *v;
	const char	*s;
	size_t		 i;

	*statuses = 1u << IMAGE_ACTIVE;
	if (f == NULL)
		return TS_ANY;
	if (json_object_object_get_ex(f, "imageStatus", &v) && v != NULL) {
		s = json_object_get_string(v);
		*statuses = strcmp(s, "ANY") == 0 ? ~0u : 0;
		for (i = 0; i < nitems(image_status_names); i++)
			if (strcmp(s, image_status_names[i]) == 0)
				*statuses = 1u << i;
	}
	if (!json_object_object_get_ex(f, "tagStatus", &v) || v == NULL)
		return TS_ANY;
	s = json_object_get_string(v);
	if (strcmp(s, "TAGGED") == 0)
		return TS_TAGGED;
	if (strcmp(s, "UNTAGGED") == 0)
		return TS_UNTAGGED;
	return TS_ANY;
}

static struct json_object *
image_detail(struct ecr_req *r, const struct image *img)
{
	struct json_object *o, *tags;
	char		 dstr[DIGEST_STR_MAX];
	size_t		 i;

	o = json_object_new_object();
	ecr_add_str(o, "registryId", r->account);
	ecr_add_str(o, "repositoryName", img->repo->name);
	ecr_add_str(o, "imageDigest", digest_format(&img->digest, dstr));
	if (img->ntags > 0) {
		tags = json_object_new_array();
		for (i = 0; i < img->ntags; i++)
			json_object_array_add(tags,
			    json_object_new_string(img->tags[i]));
		json_object_object_add(o, "imageTags", tags);
	}
	json_object_object_add(o, "imageSizeInBytes",
	    json_object_new_int64((int64_t)img->size));
	ecr_add_time(o, "imagePushedAt", img->pushed_ms);
	ecr_add_str(o, "imageManifestMediaType", img->media_type);
	ecr_add_str(o, "artifactMediaType", img->artifact_type);
	ecr_add_time(o, "lastRecordedPullTime", img->pulled_ms);
	if (img->has_subject)
		ecr_add_str(o, "subjectManifestDigest",
		    digest_format(&img->subject, dstr));
	ecr_add_str(o, "imageStatus",
	    image_status_names[image_status_now(img)]);
	ecr_add_time(o, "lastArchivedAt", img->archived_ms);
	if (image_status_now(img) == IMAGE_ACTIVE)
		ecr_add_time(o, "lastActivatedAt", img->activated_ms);
	ecr_scan_summary(o, img);
	return o;
}

static int
filter_admits(enum tag_status ts, unsigned statuses, const struct image *img)
{
	if ((statuses & (1u << image_status_now(img))) == 0)
		return 0;
	return ts == TS_ANY || (ts == TS_TAGGED && img->ntags > 0) ||
	    (ts == TS_UNTAGGED && img->ntags == 0);
}

static int
no_paging_with_ids(struct ecr_req *r)
{
	if (ecr_member(r, "nextToken") == NULL &&
	    ecr_member(r, "maxResults") == NULL)
		return 0;
	ecr_error(r, "InvalidParameterException", "Invalid parameter at "
	    "'imageIds' failed to satisfy constraint: 'maxResults and "
	    "nextToken cannot be used with imageIds'");
	return 1;
}

void
ecr_image_describe(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName"), *tag, *ds;
	const char	*token = ecr_str(r, "nextToken");
	struct json_object *ids = ecr_member(r, "imageIds"), *out, *arr;
	struct repository *repo;
	struct image	*img, **seen, *last = NULL;
	struct digest	 d;
	enum tag_status	 ts;
	enum id_result	 rc;
	char		 cursor[DIGEST_STR_MAX], *next;
	size_t		 i, k, n, nseen = 0, start = 0;
	int		 page;
	unsigned	 statuses;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	out = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(out, "imageDetails", arr);
	if (ids != NULL) {
		if (no_paging_with_ids(r)) {
			json_object_put(out);
			return;
		}
		n = json_object_array_length(ids);
		seen = xcalloc(n, sizeof(*seen));
		for (i = 0; i < n; i++) {
			rc = resolve_id(repo, json_object_array_get_idx(ids, i),
			    &img, &tag, &ds);
			if (rc == ID_MISSING_BOTH || rc == ID_BAD_DIGEST) {
				free(seen);
				json_object_put(out);
				ecr_error(r, "InvalidParameterException",
				    "Invalid parameter at "
				    "'imageIds.%zu.member' failed to satisfy "
				    "constraint: '%s'", i + 1,
				    rc == ID_MISSING_BOTH ? "both tag and "
				    "digest cannot be null" : "image digest "
				    "should satisfy the regex '"
				    DIGEST_REGEX "'");
				return;
			}
			if (rc != ID_FOUND) {
				free(seen);
				json_object_put(out);
				ecr_error(r, "ImageNotFoundException", "The "
				    "image with imageId {imageDigest:'%s', "
				    "imageTag:'%s'} does not exist within the "
				    "repository with name '%s' in the "
				    "registry with id '%s'", ds != NULL ? ds :
				    "null", tag != NULL ? tag : "null", name,
				    r->account);
				return;
			}
			for (k = 0; k < nseen && seen[k] != img; k++)
				;
			if (k < nseen)
				continue;
			seen[nseen++] = img;
			json_object_array_add(arr, image_detail(r, img));
		}
		free(seen);
		ecr_respond(r, out);
		return;
	}
	ts = filter_tag_status(r, &statuses);
	page = ecr_page_size(r);
	if (token != NULL) {
		if (ecr_token_parse(r, repo->name, token, cursor,
		    sizeof(cursor)) == -1 ||
		    digest_parse_str(cursor, &d) != 0) {
			json_object_put(out);
			ecr_bad_token(r);
			return;
		}
		start = sortvec_upper_bound(&repo->images, &d);
	}
	n = 0;
	for (i = start; i < repo->images.len; i++) {
		img = repo->images.items[i];
		if (!filter_admits(ts, statuses, img))
			continue;
		if (n == (size_t)page) {
			next = ecr_token_make(r, repo->name,
			    digest_format(&last->digest, cursor));
			ecr_add_str(out, "nextToken", next);
			free(next);
			break;
		}
		json_object_array_add(arr, image_detail(r, img));
		last = img;
		n++;
	}
	ecr_respond(r, out);
}

/*
 * ListImages: one row per tag, and one (digest only) per untagged image,
 * in digest then tag order.  The cursor is the last row: "<digest> <tag>"
 * ("<digest> " for an untagged one).
 */
void
ecr_image_list(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*token = ecr_str(r, "nextToken"), *after = NULL;
	struct json_object *out, *arr;
	struct repository *repo;
	struct image	*img;
	struct digest	 d;
	enum tag_status	 ts;
	char		 cursor[DIGEST_STR_MAX + ECR_TAG_MAX_LEN + 2], *sp;
	char		 dstr[DIGEST_STR_MAX], *next;
	const char	*last_tag = NULL;
	struct image	*last = NULL;
	size_t		 i, k = 0, n = 0, start = 0;
	int		 page, full = 0;
	unsigned	 statuses;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	ts = filter_tag_status(r, &statuses);
	page = ecr_page_size(r);
	if (token != NULL) {
		if (ecr_token_parse(r, repo->name, token, cursor,
		    sizeof(cursor)) == -1 || (sp = strchr(cursor, ' ')) ==
		    NULL) {
			ecr_bad_token(r);
			return;
		}
		*sp = '\0';
		if (digest_parse_str(cursor, &d) != 0) {
			ecr_bad_token(r);
			return;
		}
		after = sp + 1;
		start = sortvec_lower_bound(&repo->images, &d);
		if (start < repo->images.len && digest_eq(&((struct image *)
		    repo->images.items[start])->digest, &d)) {
			img = repo->images.items[start];
			/* Resume after the cursor's tag (or its untagged
			 * row). */
			if (after[0] == '\0' || img->ntags == 0)
				start++;
			else {
				for (k = 0; k < img->ntags &&
				    strcmp(img->tags[k], after) <= 0; k++)
					;
				if (k == img->ntags) {
					start++;
					k = 0;
				}
			}
		}
	}
	out = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(out, "imageIds", arr);
	for (i = start; i < repo->images.len && !full; i++, k = 0) {
		img = repo->images.items[i];
		if (!filter_admits(ts, statuses, img))
			continue;
		digest_format(&img->digest, dstr);
		if (img->ntags == 0) {
			if (n == (size_t)page) {
				full = 1;
				break;
			}
			json_object_array_add(arr, id_json(dstr, NULL));
			last = img;
			last_tag = "";
			n++;
			continue;
		}
		for (; k < img->ntags; k++) {
			if (n == (size_t)page) {
				full = 1;
				break;
			}
			json_object_array_add(arr, id_json(dstr, img->tags[k]));
			last = img;
			last_tag = img->tags[k];
			n++;
		}
	}
	if (full) {
		snprintf(cursor, sizeof(cursor), "%s %s",
		    digest_format(&last->digest, dstr), last_tag);
		next = ecr_token_make(r, repo->name, cursor);
		ecr_add_str(out, "nextToken", next);
		free(next);
	}
	ecr_respond(r, out);
}

/* Whether an index in repo lists the image (it may not go alone). */
static int
image_referenced(const struct repository *repo, const struct image *img)
{
	const struct repo_ref *ref = repo_ref_find(repo, &img->digest);

	return ref != NULL && ref->index_refs > 0;
}

static void
referenced_failure(struct json_object *failures, const char *ds,
    const char *tag, const struct image *img)
{
	char	 reason[256], dstr[DIGEST_STR_MAX];

	snprintf(reason, sizeof(reason), "Requested image referenced by "
	    "manifest list: [%s]", digest_format(&img->digest, dstr));
	add_failure(failures, ds, tag, "ImageReferencedByManifestList",
	    reason);
}

/*
 * BatchDeleteImage: by tag removes the tag (and the image with its last
 * tag, as ECR documents); by digest removes the image and all its tags.
 */
void
ecr_image_batch_delete(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName"), *tag, *ds;
	struct json_object *ids = ecr_member(r, "imageIds");
	struct json_object *out, *deleted, *failures;
	struct repository *repo;
	struct image	*img;
	enum id_result	 rc;
	struct txn	 t;
	char		 dstr[DIGEST_STR_MAX], **tags;
	size_t		 i, k, n, ntags;
	int		 err = 0;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	out = json_object_new_object();
	deleted = json_object_new_array();
	failures = json_object_new_array();
	txn_init(&t);
	n = json_object_array_length(ids);
	for (i = 0; i < n && err == 0; i++) {
		rc = resolve_id(repo, json_object_array_get_idx(ids, i), &img,
		    &tag, &ds);
		if (id_failure(failures, rc, ds, tag))
			continue;
		digest_format(&img->digest, dstr);
		if (tag != NULL && ds == NULL && img->ntags > 1) {
			if ((err = txn_tag_delete(&t, repo, tag)) == 0)
				json_object_array_add(deleted,
				    id_json(dstr, tag));
			continue;
		}
		if (image_referenced(repo, img)) {
			referenced_failure(failures, ds, tag, img);
			continue;
		}
		ntags = img->ntags;
		tags = xcalloc(ntags, sizeof(char *));
		for (k = 0; k < ntags; k++)
			tags[k] = xstrdup(img->tags[k]);
		if ((err = txn_image_delete(&t, img)) == 0) {
			if (ntags == 0)
				json_object_array_add(deleted,
				    id_json(dstr, NULL));
			for (k = 0; k < ntags; k++)
				json_object_array_add(deleted,
				    id_json(dstr, tags[k]));
		}
		for (k = 0; k < ntags; k++)
			free(tags[k]);
		free(tags);
	}
	json_object_object_add(out, "imageIds", deleted);
	json_object_object_add(out, "failures", failures);
	/* A record that does not apply is a bug: what did is committed, and
	 * the error answered. */
	if (err != 0)
		log_warnx("BatchDeleteImage: %s", berr_message(err));
	ecr_commit(r, &t, out);
}

/* --- one image by its ImageIdentifier --------------------------------------- */

struct image *
ecr_image_resolve(struct ecr_req *r, struct repository *repo,
    struct json_object *id)
{
	struct image	*img;
	const char	*tag, *ds;
	enum id_result	 rc;

	rc = resolve_id(repo, id, &img, &tag, &ds);
	if (rc == ID_MISSING_BOTH || rc == ID_BAD_DIGEST) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter at "
		    "'imageId' failed to satisfy constraint: '%s'",
		    rc == ID_MISSING_BOTH ? "both tag and digest cannot be "
		    "null" : "image digest should satisfy the regex '"
		    DIGEST_REGEX "'");
		return NULL;
	}
	if (rc != ID_FOUND) {
		ecr_error(r, "ImageNotFoundException", "The image with imageId "
		    "{imageDigest:'%s', imageTag:'%s'} does not exist within the "
		    "repository with name '%s' in the registry with id '%s'",
		    ds != NULL ? ds : "null", tag != NULL ? tag : "null",
		    repo->name, r->account);
		return NULL;
	}
	return img;
}

struct json_object *
ecr_image_id_json(struct ecr_req *r, const struct image *img)
{
	struct json_object *id = ecr_member(r, "imageId"), *v;
	char		 ds[DIGEST_STR_MAX];
	const char	*tag = NULL;

	if (id != NULL && json_object_object_get_ex(id, "imageTag", &v) &&
	    v != NULL)
		tag = json_object_get_string(v);
	return id_json(digest_format(&img->digest, ds), tag);
}

/* --- UpdateImageStorageClass --------------------------------------------- */

/*
 * ARCHIVE moves an active image to the archive (imageStatus ARCHIVED,
 * lastArchivedAt); STANDARD starts restoring an archived one (ACTIVATING
 * for IMAGE_RESTORE_MS of the model's clock, then ACTIVE with
 * lastActivatedAt).  Any other move (an archived image to the archive, an
 * active or restoring one to STANDARD) is not a storage class update
 * ECR supports.  Sources: userguide/archive-image.html,
 * userguide/restore-image.html, API_UpdateImageStorageClass.
 */
void
ecr_image_update_storage_class(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*target = ecr_str(r, "targetStorageClass");
	struct json_object *out;
	struct repository *repo;
	struct image	*img;
	enum image_status now_status, status;
	struct txn	 t;
	char		 dstr[DIGEST_STR_MAX];
	int64_t		 now = model_now_ms(), archived_ms, activated_ms;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	if ((img = ecr_image_resolve(r, repo, ecr_member(r, "imageId"))) ==
	    NULL)
		return;
	now_status = image_status_now(img);
	archived_ms = img->archived_ms;
	activated_ms = img->activated_ms;
	if (strcmp(target, "ARCHIVE") == 0 && now_status == IMAGE_ACTIVE) {
		status = IMAGE_ARCHIVED;
		archived_ms = now;
	} else if (strcmp(target, "STANDARD") == 0 &&
	    now_status == IMAGE_ARCHIVED) {
		status = IMAGE_ACTIVATING;
		activated_ms = now + IMAGE_RESTORE_MS;
	} else {
		ecr_error(r, "ImageStorageClassUpdateNotSupportedException",
		    "The image with digest '%s' in the repository with name "
		    "'%s' is %s: it cannot move to the %s storage class",
		    digest_format(&img->digest, dstr), name,
		    image_status_names[now_status], target);
		return;
	}
	out = json_object_new_object();
	ecr_add_str(out, "registryId", r->account);
	ecr_add_str(out, "repositoryName", repo->name);
	json_object_object_add(out, "imageId", ecr_image_id_json(r, img));
	ecr_add_str(out, "imageStatus", image_status_names[status]);
	txn_init(&t);
	(void)txn_image_status(&t, img, status, archived_ms, activated_ms);
	ecr_commit(r, &t, out);
}
