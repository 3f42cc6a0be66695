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
 * OCI manifests, tag listing and the referrers API.  Manifests are served
 * from memory, byte for byte as pushed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "name.h"
#include "ptc.h"
#include "util.h"

#define TAGS_PER_PUT_MAX	64

/*
 * Content negotiation (RFC 9110 12.5.1) for a manifest GET by tag: the
 * most specific media range that matches the stored type decides (the
 * type itself, then a wildcard subtype of its type such as application's,
 * then the any-type wildcard or the bare star containerd sends), and a
 * weight of q=0 there means "not acceptable".  Parameters other than q
 * are ignored: manifest types carry none.
 */
enum accept_match {
	ACCEPT_NONE,
	ACCEPT_ANY,		/* any type, or "*" */
	ACCEPT_TYPE,		/* any subtype of the type */
	ACCEPT_EXACT
};

struct accept_verdict {
	enum accept_match best;		/* the most specific match */
	int		 acceptable;	/* a weight above 0 there */
	size_t		 ranges;	/* media ranges named */
};

static enum accept_match
accept_range_match(const char *range, size_t len, const char *mt)
{
	size_t	 tlen = strcspn(mt, "/");

	if ((len == 1 && range[0] == '*') ||
	    (len == 3 && memcmp(range, "*/*", 3) == 0))
		return ACCEPT_ANY;
	if (mt[tlen] == '/' && len == tlen + 2 && range[tlen] == '/' &&
	    range[tlen + 1] == '*' && strncasecmp(range, mt, tlen) == 0)
		return ACCEPT_TYPE;
	if (len == strlen(mt) && strncasecmp(range, mt, len) == 0)
		return ACCEPT_EXACT;
	return ACCEPT_NONE;
}

/* Whether a qvalue is zero: "0", "0.", "0.000" (RFC 9110 12.4.2). */
static int
accept_q_is_zero(const char *q, size_t len)
{
	size_t	 i;

	if (len == 0 || q[0] != '0')
		return 0;
	if (len == 1)
		return 1;
	if (q[1] != '.')
		return 0;
	for (i = 2; i < len; i++)
		if (q[i] != '0')
			return 0;
	return 1;
}

static size_t
accept_trim(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len;
}

/*
 * One element of an Accept list at p: a media range, then parameters
 * whose values may be quoted strings (with commas inside).  Returns
 * where the element ends: at a comma or at the end of the line.
 */
static const char *
accept_element(const char *p, const char *mt, struct accept_verdict *v)
{
	const char	*range, *name, *val;
	size_t		 rlen, nlen, vlen;
	enum accept_match m;
	int		 zero = 0;

	p += strspn(p, " \t");
	range = p;
	p += strcspn(p, ";,");
	rlen = accept_trim(range, (size_t)(p - range));
	while (*p == ';') {
		p++;
		p += strspn(p, " \t");
		name = p;
		p += strcspn(p, "=;,");
		nlen = accept_trim(name, (size_t)(p - name));
		val = p;
		vlen = 0;
		if (*p == '=') {
			val = ++p;
			if (*p == '"') {
				for (p++; *p != '\0' && *p != '"'; p++)
					if (*p == '\\' && p[1] != '\0')
						p++;
				p += strcspn(p, ";,");
			} else {
				p += strcspn(p, ";,");
				vlen = accept_trim(val, (size_t)(p - val));
			}
		}
		if (nlen == 1 && (name[0] == 'q' || name[0] == 'Q'))
			zero = accept_q_is_zero(val, vlen);
	}
	if (rlen == 0)
		return p;		/* an empty list element */
	v->ranges++;
	m = accept_range_match(range, rlen, mt);
	if (m > v->best) {
		v->best = m;
		v->acceptable = !zero;
	} else if (m == v->best && m != ACCEPT_NONE && !zero)
		v->acceptable = 1;
	return p;
}

/*
 * Whether the Accept header lines admit media type mt.  Every line
 * counts (the HTTP layer bounds how many there are); no Accept, or one
 * that names nothing, admits anything.
 */
static int
oci_accepts(struct http_request *req, const char *mt)
{
	const char	*some[16], **lines = some, *p;
	struct accept_verdict v;
	size_t		 n, i;

	if ((n = http_request_headers(req, "Accept", some, nitems(some))) ==
	    0)
		return 1;
	if (n > nitems(some)) {
		lines = xcalloc(n, sizeof(*lines));
		n = http_request_headers(req, "Accept", lines, n);
	}
	memset(&v, 0, sizeof(v));
	for (i = 0; i < n; i++)
		for (p = lines[i];; p++)
			if (*(p = accept_element(p, mt, &v)) == '\0')
				break;
	if (lines != some)
		free(lines);
	return v.ranges == 0 || v.acceptable;
}

void
oci_manifest_get(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *refstr)
{
	struct repository *repo;
	struct reference ref;
	struct image	*img = NULL;
	struct tag	*tg;
	char		 ds[DIGEST_STR_MAX];
	int		 rc;

	if (ptc_manifest_intercept(req, id, name, refstr))
		return;
	if ((repo = oci_repository(req, id, name)) == NULL)
		return;
	if ((rc = name_reference_parse(refstr, strlen(refstr), &ref)) != 0) {
		if (ref.is_digest)
			oci_error(req, rc, "invalid digest %s", refstr);
		else
			oci_error(req, BERR_MANIFEST_UNKNOWN, "invalid tag %s",
			    refstr);
		return;
	}
	if (ref.is_digest)
		img = image_find(repo, &ref.digest);
	else if ((tg = tag_find(repo, refstr)) != NULL)
		img = tg->image;
	if (img == NULL) {
		oci_error(req, BERR_MANIFEST_UNKNOWN, "manifest %s not found "
		    "in %s", refstr, name);
		return;
	}
	/* "Requests to pull the archived image will fail with a 404 error"
	 * (userguide/archive-image.html). */
	if (!image_is_pullable(img)) {
		oci_error(req, BERR_MANIFEST_UNKNOWN, "manifest %s in %s is "
		    "archived: restore it with UpdateImageStorageClass "
		    "(targetStorageClass STANDARD) first", refstr, name);
		return;
	}
	/* By digest the bytes are what was asked for, whatever Accept says. */
	if (!ref.is_digest && !oci_accepts(req, img->media_type)) {
		oci_error(req, BERR_MANIFEST_UNKNOWN, "the manifest is %s, "
		    "which the Accept header does not admit", img->media_type);
		return;
	}
	digest_format(&img->digest, ds);
	http_response_header(req, "Docker-Content-Digest", ds);
	http_response_headerf(req, "ETag", "\"%s\"", ds);
	if (!http_request_is_head(req))
		meta_note_pull(img, id->principal);
	http_respond(req, 200, img->media_type, img->manifest,
	    img->manifest_len);
}

struct manifest_put {
	struct http_request *req;
	struct oci_ident id;
	char		 name[NAME_MAX_LEN + 1];
	char		*ref;
	struct reference parsed;
	char		*tags[TAGS_PER_PUT_MAX + 1];
	size_t		 ntags;
	struct image_push push;
};

static void
manifest_put_free(struct manifest_put *mp)
{
	size_t	 i;

	for (i = 0; i < mp->ntags; i++)
		free(mp->tags[i]);
	free(mp->ref);
	free(mp);
}

static void
manifest_put_done_cb(int err, void *arg)
{
	struct manifest_put *mp = arg;
	struct http_request *req = mp->req;
	char		 ds[DIGEST_STR_MAX];
	size_t		 i;

	if (err != 0) {
		oci_error(req, err, "the manifest could not be stored");
		manifest_put_free(mp);
		return;
	}
	digest_format(&mp->push.digest, ds);
	oci_location(req, "/v2/%s/manifests/%s", mp->name, ds);
	http_response_header(req, "Docker-Content-Digest", ds);
	if (mp->push.has_subject) {
		char ss[DIGEST_STR_MAX];
		http_response_header(req, "OCI-Subject",
		    digest_format(&mp->push.subject, ss));
	}
	if (mp->parsed.is_digest)
		for (i = 0; i < mp->ntags; i++)
			http_response_header(req, "OCI-Tag", mp->tags[i]);
	http_respond(req, 201, NULL, NULL, 0);
	manifest_put_free(mp);
}

static void
manifest_put_push(struct manifest_put *mp)
{
	struct http_request *req = mp->req;
	const char	*body;
	size_t		 len;
	int		 rc;

	body = http_request_body(req, &len);
	memset(&mp->push, 0, sizeof(mp->push));
	mp->push.account = mp->id.account;
	mp->push.region = mp->id.region;
	mp->push.repository = mp->name;
	mp->push.manifest = (const uint8_t *)body;
	mp->push.len = len;
	mp->push.content_type = http_request_header(req, "Content-Type");
	mp->push.expected = mp->parsed.is_digest ? &mp->parsed.digest : NULL;
	mp->push.tags = mp->tags;
	mp->push.ntags = mp->ntags;
	if ((rc = image_push(&mp->push, manifest_put_done_cb, mp)) == 0)
		return;
	switch (rc) {
	case BERR_TAG_IMMUTABLE:
		oci_error(req, rc, "%s", mp->push.detail);
		break;
	case BERR_DIGEST_INVALID:
		oci_error(req, rc, "the digest in the URL does not match the "
		    "manifest: %s", mp->push.detail);
		break;
	case BERR_TOO_LARGE:
		oci_error(req, rc, "manifests are limited to %d bytes",
		    MANIFEST_MAX);
		break;
	default:
		oci_error(req, rc, "%s", mp->push.detail);
		break;
	}
	manifest_put_free(mp);
}

static void
manifest_put_repo_cb(int err, void *arg)
{
	struct manifest_put *mp = arg;

	if (err != 0) {
		oci_error(mp->req, err, "cannot create repository %s",
		    mp->name);
		manifest_put_free(mp);
		return;
	}
	manifest_put_push(mp);
}

static void
manifest_put_body_cb(struct http_request *req, int err, void *arg)
{
	struct manifest_put *mp = arg;
	struct txn	 t;

	if (err != 0) {
		if (err == BERR_TOO_LARGE)
			oci_error(req, err, "manifests are limited to %d bytes",
			    MANIFEST_MAX);
		else
			oci_error(req, BERR_MANIFEST_INVALID,
			    "the manifest body was not received whole");
		manifest_put_free(mp);
		return;
	}
	if (repository_lookup(mp->id.account, mp->id.region,
	    mp->name) == NULL && template_create_on_push(mp->id.account,
	    mp->id.region, mp->name)) {
		txn_init(&t);
		(void)template_create(&t, mp->id.account, mp->id.region,
		    mp->name, TEMPLATE_FOR_CREATE_ON_PUSH);
		txn_commit(&t, manifest_put_repo_cb, mp);
		return;
	}
	manifest_put_push(mp);
}

void
oci_manifest_put(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *refstr)
{
	struct manifest_put *mp;
	const char	*extra[TAGS_PER_PUT_MAX + 1];
	size_t		 n, i;
	int		 rc;

	if (repository_lookup(id->account, id->region, name) == NULL &&
	    !template_create_on_push(id->account, id->region, name)) {
		oci_error(req, BERR_NAME_UNKNOWN, "repository %s does not "
		    "exist; create it first, add a CREATE_ON_PUSH repository "
		    "creation template, or run berthd --create-on-push",
		    name);
		return;
	}
	mp = xcalloc(1, sizeof(*mp));
	mp->req = req;
	mp->id = *id;
	strcpy(mp->name, name);
	mp->ref = xstrdup(refstr);
	if ((rc = name_reference_parse(mp->ref, strlen(mp->ref),
	    &mp->parsed)) != 0) {
		oci_error(req, rc, mp->parsed.is_digest ? "invalid digest %s" :
		    "invalid tag %s", refstr);
		manifest_put_free(mp);
		return;
	}
	if (!mp->parsed.is_digest)
		mp->tags[mp->ntags++] = xstrdup(refstr);
	else {
		/* distribution-spec (main): PUT by digest with ?tag=. */
		n = http_request_params(req, "tag", extra, nitems(extra));
		if (n > TAGS_PER_PUT_MAX) {
			oci_error(req, BERR_TOO_MANY_TAGS, "at most %d tags "
			    "per request", TAGS_PER_PUT_MAX);
			manifest_put_free(mp);
			return;
		}
		for (i = 0; i < n; i++) {
			if (!name_oci_tag_valid(extra[i], strlen(extra[i]))) {
				oci_error(req, BERR_TAG_INVALID, "invalid tag "
				    "%s", extra[i]);
				manifest_put_free(mp);
				return;
			}
			mp->tags[mp->ntags++] = xstrdup(extra[i]);
		}
	}
	http_request_read_body(req, MANIFEST_MAX, manifest_put_body_cb, mp);
}

void
oci_manifest_delete(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *refstr)
{
	struct repository *repo;
	struct reference ref;
	struct image	*img = NULL;
	struct txn	 t;
	int		 rc;

	if ((repo = oci_repository(req, id, name)) == NULL)
		return;
	if ((rc = name_reference_parse(refstr, strlen(refstr), &ref)) != 0) {
		oci_error(req, ref.is_digest ? rc : BERR_MANIFEST_UNKNOWN,
		    "invalid reference %s", refstr);
		return;
	}
	if (ref.is_digest && (img = image_find(repo, &ref.digest)) == NULL) {
		oci_error(req, BERR_MANIFEST_UNKNOWN, "manifest %s not found "
		    "in %s", refstr, name);
		return;
	}
	if (!ref.is_digest && tag_find(repo, refstr) == NULL) {
		oci_error(req, BERR_MANIFEST_UNKNOWN, "tag %s not found in %s",
		    refstr, name);
		return;
	}
	txn_init(&t);
	if (ref.is_digest)
		(void)txn_image_delete(&t, img);
	else
		(void)txn_tag_delete(&t, repo, refstr);
	txn_commit(&t, oci_accepted_cb, req);
}

void
oci_tags_list(struct http_request *req, const struct oci_ident *id,
    const char *name)
{
	struct repository *repo;
	struct json_object *body, *arr;
	const char	*last;
	size_t		 i = 0;
	long		 n, count = 0;

	if ((repo = oci_repository(req, id, name)) == NULL)
		return;
	if (oci_page_params(req, &n, &last) != 0) {
		oci_error(req, BERR_BAD_REQUEST, "n must be a number");
		return;
	}
	body = json_object_new_object();
	arr = json_object_new_array();
	if (last != NULL)
		i = sortvec_upper_bound(&repo->tags, last);
	for (; i < repo->tags.len && (n < 0 || count < n); i++, count++) {
		struct tag *tg = repo->tags.items[i];
		json_object_array_add(arr, json_object_new_string(tg->name));
	}
	if (n > 0 && i < repo->tags.len) {
		struct tag *prev = repo->tags.items[i - 1];
		http_response_headerf(req, "Link",
		    "</v2/%s/tags/list?n=%ld&last=%s>; rel=\"next\"", name, n,
		    prev->name);
	}
	json_object_object_add(body, "name", json_object_new_string(name));
	json_object_object_add(body, "tags", arr);
	router_json(req, 200, body);
}

void
oci_referrers(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *dstr)
{
	struct repository *repo;
	struct digest	 subject;
	struct json_object *body, *arr, *desc, *ann;
	struct image	**imgs;
	const char	*filter, *s;
	char		 ds[DIGEST_STR_MAX];
	size_t		 n, i;
	int		 rc;

	if ((rc = digest_parse_str(dstr, &subject)) != 0) {
		oci_error(req, rc, "invalid digest %s", dstr);
		return;
	}
	if ((repo = oci_repository(req, id, name)) == NULL)
		return;
	filter = http_request_param(req, "artifactType");
	n = repository_referrers(repo, &subject, NULL, 0);
	imgs = xcalloc(n, sizeof(*imgs));
	(void)repository_referrers(repo, &subject, imgs, n);
	body = json_object_new_object();
	json_object_object_add(body, "schemaVersion", json_object_new_int(2));
	json_object_object_add(body, "mediaType",
	    json_object_new_string(MT_OCI_INDEX));
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct image *img = imgs[i];
		if (filter != NULL && (img->artifact_type == NULL ||
		    strcmp(img->artifact_type, filter) != 0))
			continue;
		desc = json_object_new_object();
		json_object_object_add(desc, "mediaType",
		    json_object_new_string(img->media_type));
		json_object_object_add(desc, "digest",
		    json_object_new_string(digest_format(&img->digest, ds)));
		json_object_object_add(desc, "size",
		    json_object_new_int64((int64_t)img->manifest_len));
		if (img->artifact_type != NULL)
			json_object_object_add(desc, "artifactType",
			    json_object_new_string(img->artifact_type));
		if ((ann = manifest_annotations(img)) != NULL)
			json_object_object_add(desc, "annotations", ann);
		json_object_array_add(arr, desc);
	}
	free(imgs);
	json_object_object_add(body, "manifests", arr);
	if (filter != NULL)
		http_response_header(req, "OCI-Filters-Applied",
		    "artifactType");
	s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	http_respond(req, 200, MT_OCI_INDEX, s, strlen(s));
	json_object_put(body);
}
