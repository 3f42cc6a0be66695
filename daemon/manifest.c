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
 * Manifests as the OCI image spec and Docker's schema 2 define them: image
 * manifests (config + layers), indexes and manifest lists, and OCI 1.1
 * artifacts (artifactType, subject).  Parsing extracts what the registry
 * needs; the bytes themselves are stored and served untouched.  With
 * MANIFEST_LENIENT (berthd --lenient-images) it takes image manifests the
 * way in-process ECR fakes do: config and layers may be left out, and a
 * manifest that names no type anywhere is Docker's.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define MANIFEST_JSON_DEPTH	64
#define MANIFEST_MAX_REFS	10000

static const char *const manifest_types[] = {
	MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST, MT_DOCKER_LIST
};

int
manifest_type_known(const char *mt)
{
	size_t	 i;

	for (i = 0; i < nitems(manifest_types); i++)
		if (strcmp(mt, manifest_types[i]) == 0)
			return 1;
	return 0;
}

static int
manifest_type_is_index(const char *mt)
{
	return strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0;
}

static const char *
json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
manifest_fail(struct manifest_info *mi, int err, const char *why)
{
	snprintf(mi->error, sizeof(mi->error), "%s", why);
	return err;
}

/* A descriptor: mediaType, digest and size are required. */
static int
parse_descriptor(struct json_object *o, struct image_ref *ref,
    enum image_ref_kind kind, struct manifest_info *mi, const char *what)
{
	struct json_object *v;
	const char	*mt, *dg;
	int64_t		 size;

	if (!json_object_is_type(o, json_type_object))
		return manifest_fail(mi, BERR_MANIFEST_INVALID, what);
	mt = json_str(o, "mediaType");
	dg = json_str(o, "digest");
	if (mt == NULL || dg == NULL || !json_object_object_get_ex(o, "size",
	    &v) || !json_object_is_type(v, json_type_int)) {
		snprintf(mi->error, sizeof(mi->error),
		    "%s needs mediaType, digest and size", what);
		return BERR_MANIFEST_INVALID;
	}
	errno = 0;
	size = json_object_get_int64(v);
	if (size < 0 || errno != 0) {
		snprintf(mi->error, sizeof(mi->error), "%s has a bad size",
		    what);
		return BERR_MANIFEST_INVALID;
	}
	memset(ref, 0, sizeof(*ref));
	if (digest_parse_str(dg, &ref->digest) != 0) {
		snprintf(mi->error, sizeof(mi->error),
		    "%s has an invalid digest %.200s", what, dg);
		return BERR_MANIFEST_INVALID;
	}
	ref->kind = kind;
	ref->size = (uint64_t)size;
	ref->media_type = xstrdup(mt);
	return 0;
}

void
manifest_info_clear(struct manifest_info *mi)
{
	size_t	 i;

	for (i = 0; i < mi->nrefs; i++)
		free(mi->refs[i].media_type);
	free(mi->refs);
	free(mi->media_type);
	free(mi->artifact_type);
	free(mi->foreign);
	/* config_media_type pointed into refs */
	memset(mi, 0, sizeof(*mi));
}

/* Foreign and non-distributable layers may live elsewhere. */
static int
layer_is_foreign(struct json_object *o, const char *mt)
{
	struct json_object *urls;

	if (!json_object_object_get_ex(o, "urls", &urls) ||
	    !json_object_is_type(urls, json_type_array) ||
	    json_object_array_length(urls) == 0)
		return 0;
	return strstr(mt, "foreign") != NULL ||
	    strstr(mt, "nondistributable") != NULL;
}

int
manifest_parse(const char *body, size_t len, const char *content_type,
    int flags, struct manifest_info *mi)
{
	struct json_object *root, *v, *arr, *cfg;
	const char	*mt, *at;
	size_t		 i, n;
	int		 rc, is_index, has_cfg, has_list;
	int		 lenient = (flags & MANIFEST_LENIENT) != 0;

	memset(mi, 0, sizeof(*mi));
	if ((root = json_parse_strict(body, len, MANIFEST_JSON_DEPTH)) ==
	    NULL)
		return manifest_fail(mi, BERR_MANIFEST_INVALID,
		    "manifest is not valid JSON");
	rc = BERR_MANIFEST_INVALID;
	if (!json_object_is_type(root, json_type_object)) {
		manifest_fail(mi, rc, "manifest is not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(root, "schemaVersion", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int(v) != 2) {
		manifest_fail(mi, rc, "schemaVersion must be 2");
		goto out;
	}
	/* The body's mediaType wins; a Content-Type that contradicts it is
	 * an error, one that is absent or generic is ignored. */
	mt = json_str(root, "mediaType");
	if (json_object_object_get_ex(root, "mediaType", &v) && mt == NULL) {
		manifest_fail(mi, rc, "mediaType must be a string");
		goto out;
	}
	if (mt != NULL && content_type != NULL && content_type[0] != '\0' &&
	    manifest_type_known(content_type) &&
	    strcmp(mt, content_type) != 0) {
		snprintf(mi->error, sizeof(mi->error), "mediaType %.100s does "
		    "not match Content-Type %.100s", mt, content_type);
		goto out;
	}
	if (mt == NULL && content_type != NULL &&
	    manifest_type_known(content_type))
		mt = content_type;
	if (mt == NULL) {
		/* Neither says: infer from the structure, as OCI allows, or
		 * take Docker's types, which ECR reports for docker's pushes
		 * and fakes assume. */
		has_list = json_object_object_get_ex(root, "manifests", &v);
		if (lenient)
			mt = has_list ? MT_DOCKER_LIST : MT_DOCKER_MANIFEST;
		else if (has_list)
			mt = MT_OCI_INDEX;
		else if (json_object_object_get_ex(root, "config", &v))
			mt = MT_OCI_MANIFEST;
	}
	if (mt == NULL || !manifest_type_known(mt)) {
		snprintf(mi->error, sizeof(mi->error), "unsupported manifest "
		    "media type %.200s",
		    mt != NULL ? mt : content_type != NULL ? content_type :
		    "(none)");
		goto out;
	}
	mi->media_type = xstrdup(mt);
	is_index = manifest_type_is_index(mt);
	mi->is_index = is_index;

	if ((at = json_str(root, "artifactType")) != NULL)
		mi->artifact_type = xstrdup(at);
	else if (json_object_object_get_ex(root, "artifactType", &v)) {
		manifest_fail(mi, rc, "artifactType must be a string");
		goto out;
	}
	if (json_object_object_get_ex(root, "subject", &v)) {
		struct image_ref sref;
		if ((rc = parse_descriptor(v, &sref, REF_MANIFEST, mi,
		    "subject")) != 0)
			goto out;
		free(sref.media_type);
		mi->has_subject = 1;
		mi->subject = sref.digest;
		rc = BERR_MANIFEST_INVALID;
	}

	if (is_index) {
		if (!json_object_object_get_ex(root, "manifests", &arr) ||
		    !json_object_is_type(arr, json_type_array)) {
			manifest_fail(mi, rc, "an index needs a manifests "
			    "array");
			goto out;
		}
		n = json_object_array_length(arr);
		if (n > MANIFEST_MAX_REFS) {
			manifest_fail(mi, rc, "too many manifests");
			goto out;
		}
		mi->refs = xcalloc(n, sizeof(*mi->refs));
		for (i = 0; i < n; i++) {
			if ((rc = parse_descriptor(json_object_array_get_idx(
			    arr, i), &mi->refs[i], REF_MANIFEST, mi,
			    "manifests entry")) != 0)
				goto out;
			mi->nrefs++;
		}
		rc = 0;
		goto out;
	}

	/* Lenient, either may be absent; what is there is checked. */
	has_cfg = json_object_object_get_ex(root, "config", &cfg);
	if (!has_cfg && !lenient) {
		manifest_fail(mi, rc, "an image manifest needs a config");
		goto out;
	}
	if (!json_object_object_get_ex(root, "layers", &arr)) {
		arr = NULL;
		if (!lenient) {
			manifest_fail(mi, rc, "an image manifest needs a layers "
			    "array");
			goto out;
		}
	} else if (!json_object_is_type(arr, json_type_array)) {
		manifest_fail(mi, rc, "an image manifest needs a layers array");
		goto out;
	}
	n = arr != NULL ? json_object_array_length(arr) : 0;
	if (n >= MANIFEST_MAX_REFS) {
		manifest_fail(mi, rc, "too many layers");
		goto out;
	}
	mi->refs = xcalloc(n + 1, sizeof(*mi->refs));
	mi->foreign = xcalloc(n + 1, sizeof(*mi->foreign));
	if (has_cfg) {
		if ((rc = parse_descriptor(cfg, &mi->refs[0], REF_CONFIG, mi,
		    "config")) != 0)
			goto out;
		mi->nrefs = 1;
		if (mi->artifact_type == NULL)
			mi->config_media_type = mi->refs[0].media_type;
	}
	for (i = 0; i < n; i++) {
		struct json_object *lo = json_object_array_get_idx(arr, i);
		struct image_ref *ref = &mi->refs[mi->nrefs];
		if ((rc = parse_descriptor(lo, ref, REF_LAYER, mi,
		    "layer")) != 0)
			goto out;
		mi->foreign[mi->nrefs] = layer_is_foreign(lo,
		    ref->media_type);
		mi->nrefs++;
		mi->layers_size += ref->size;
	}
	rc = 0;
out:
	json_object_put(root);
	if (rc != 0) {
		char saved[sizeof(mi->error)];
		memcpy(saved, mi->error, sizeof(saved));
		manifest_info_clear(mi);
		memcpy(mi->error, saved, sizeof(saved));
	}
	return rc;
}

/* The annotations object of a manifest, for the referrers API. */
struct json_object *
manifest_annotations(const struct image *img)
{
	struct json_object *root, *ann, *copy = NULL;

	if ((root = json_parse_strict((const char *)img->manifest,
	    img->manifest_len, MANIFEST_JSON_DEPTH)) == NULL)
		return NULL;
	if (json_object_object_get_ex(root, "annotations", &ann) &&
	    json_object_is_type(ann, json_type_object))
		json_object_deep_copy(ann, &copy, NULL);
	json_object_put(root);
	return copy;
}
