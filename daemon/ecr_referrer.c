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
 * ListImageReferrers: the artifacts whose manifest names an image of the
 * repository as its subject, the same referrers the OCI referrers API
 * (GET /v2/<name>/referrers/<digest>) lists, in the same digest order
 * and with the same descriptor: the manifest's media type, digest and
 * size in bytes, its artifactType (the manifest's, else its config's
 * media type) and annotations, and here its status.
 *
 * As the API reference says: without a filter only ACTIVE artifacts are
 * listed; filter.artifactStatus names one status or ANY, and
 * filter.artifactTypes (at most five) keeps artifacts of those types.  A
 * subject that is not in the repository has no referrers (an empty list,
 * as the OCI API answers), since a referrer may be pushed before its
 * subject.  Pages hold maxResults (1 to 50, 20 by default) and the
 * nextToken names the last digest given.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"

static const char *const referrer_statuses[] = {
	[IMAGE_ACTIVE] = "ACTIVE",
	[IMAGE_ARCHIVED] = "ARCHIVED",
	[IMAGE_ACTIVATING] = "ACTIVATING"
};

/* Whether the request's filter admits the referrer img. */
static int
referrer_admitted(const struct ecr_req *r, const struct image *img)
{
	struct json_object *f = ecr_member(r, "filter"), *types = NULL, *v;
	const char	*status = "ACTIVE";
	size_t		 i, n;

	if (f != NULL && json_object_object_get_ex(f, "artifactStatus", &v) &&
	    v != NULL)
		status = json_object_get_string(v);
	if (strcmp(status, "ANY") != 0 &&
	    strcmp(status, referrer_statuses[image_status_now(img)]) != 0)
		return 0;
	if (f == NULL || !json_object_object_get_ex(f, "artifactTypes",
	    &types) || types == NULL ||
	    (n = json_object_array_length(types)) == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (img->artifact_type != NULL && strcmp(img->artifact_type,
		    json_object_get_string(json_object_array_get_idx(types,
		    i))) == 0)
			return 1;
	return 0;
}

static struct json_object *
referrer_json(const struct image *img)
{
	struct json_object *o = json_object_new_object(), *ann;
	char		 ds[DIGEST_STR_MAX];

	ecr_add_str(o, "digest", digest_format(&img->digest, ds));
	ecr_add_str(o, "mediaType", img->media_type);
	if (img->artifact_type != NULL)
		ecr_add_str(o, "artifactType", img->artifact_type);
	json_object_object_add(o, "size",
	    json_object_new_int64((int64_t)img->manifest_len));
	if ((ann = manifest_annotations(img)) != NULL)
		json_object_object_add(o, "annotations", ann);
	ecr_add_str(o, "artifactStatus",
	    referrer_statuses[image_status_now(img)]);
	return o;
}

void
ecr_referrer_list(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*token = ecr_str(r, "nextToken");
	struct json_object *subject = ecr_member(r, "subjectId"), *v, *out, *arr;
	struct repository *repo;
	const struct image *img, *last = NULL;
	struct digest	 d, after;
	char		 cursor[DIGEST_STR_MAX], *next;
	size_t		 i = 0, n = 0, page = (size_t)ecr_page_size(r);

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	if (!json_object_object_get_ex(subject, "imageDigest", &v) ||
	    digest_parse_str(json_object_get_string(v), &d) != 0) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'subjectId.imageDigest' failed to satisfy constraint: "
		    "'must be a sha256 or sha512 digest'");
		return;
	}
	if (token != NULL) {
		if (ecr_token_parse(r, repo->name, token, cursor,
		    sizeof(cursor)) == -1 ||
		    digest_parse_str(cursor, &after) != 0) {
			ecr_bad_token(r);
			return;
		}
		i = sortvec_upper_bound(&repo->images, &after);
	}
	out = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(out, "referrers", arr);
	for (; i < repo->images.len; i++) {
		img = repo->images.items[i];
		if (!img->has_subject || !digest_eq(&img->subject, &d) ||
		    !referrer_admitted(r, img))
			continue;
		if (n == page) {
			next = ecr_token_make(r, repo->name,
			    digest_format(&last->digest, cursor));
			ecr_add_str(out, "nextToken", next);
			free(next);
			break;
		}
		json_object_array_add(arr, referrer_json(img));
		last = img;
		n++;
	}
	ecr_respond(r, out);
}
