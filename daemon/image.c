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
 * Pushing an image: the one path behind OCI manifest PUT and ECR PutImage,
 * so that both APIs see one model with one set of rules (blobs present in
 * the repository, index children present, digests of the exact bytes, tag
 * immutability with its exclusion filters).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berthd.h"
#include "registry.h"
#include "error.h"
#include "image_scan.h"
#include "log.h"
#include "name.h"
#include "util.h"

static void __attribute__((format(printf, 2, 3)))
image_fail_detail(struct image_push *p, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

/*
 * Checks that what the manifest references is in the repository: the
 * images an index names always, blobs unless the push is lenient (they
 * are then pullable once pushed).
 */
static int
image_check_refs(struct repository *repo, const struct manifest_info *mi,
    struct image_push *p, uint64_t *index_size)
{
	char	 ds[DIGEST_STR_MAX];
	size_t	 i;

	*index_size = 0;
	for (i = 0; i < mi->nrefs; i++) {
		const struct image_ref *ref = &mi->refs[i];
		if (ref->kind == REF_MANIFEST) {
			struct image *child = image_find(repo, &ref->digest);
			if (child == NULL) {
				p->missing_is_manifest = 1;
				p->missing = ref->digest;
				image_fail_detail(p, "manifest %s is not in "
				    "the repository",
				    digest_format(&ref->digest, ds));
				return BERR_MANIFEST_BLOB_UNKNOWN;
			}
			if (child->size > *index_size)
				*index_size = child->size;
			continue;
		}
		if ((mi->foreign != NULL && mi->foreign[i]) || p->lenient)
			continue;
		if (link_find(repo, &ref->digest) == NULL) {
			p->missing = ref->digest;
			image_fail_detail(p, "blob %s is not in the repository",
			    digest_format(&ref->digest, ds));
			return BERR_MANIFEST_BLOB_UNKNOWN;
		}
	}
	return 0;
}

/* The tags of p the image does not have yet, each counted once. */
static size_t
image_new_tags(const struct image_push *p, const struct repository *repo,
    const struct image *existing)
{
	struct tag	*tg;
	size_t		 i, j, n = 0;

	for (i = 0; i < p->ntags; i++) {
		tg = tag_find(repo, p->tags[i]);
		if (tg != NULL && tg->image == existing && existing != NULL)
			continue;
		for (j = 0; j < i; j++)
			if (strcmp(p->tags[j], p->tags[i]) == 0)
				break;
		if (j == i)
			n++;
	}
	return n;
}

struct image_pushed {
	txn_done_cb	 done;
	void		*arg;
};

/* Once a push is durable, what it set in motion may run. */
static void
image_pushed_cb(int err, void *arg)
{
	struct image_pushed *ipd = arg;

	ipd->done(err, ipd->arg);
	free(ipd);
	if (err == 0) {
		replication_kick();
		signing_kick();
	}
}

int
image_push(struct image_push *p, txn_done_cb done, void *arg)
{
	struct image_pushed *ipd;
	struct manifest_info mi;
	struct repository *repo;
	struct image	*img, *existing;
	struct txn	 t;
	struct tag	*tg;
	uint64_t	 index_size;
	size_t		 i;
	int		 rc, changes = 0;

	p->detail[0] = '\0';
	p->missing_is_manifest = 0;
	repo = repository_lookup(p->account, p->region, p->repository);
	if (repo == NULL) {
		image_fail_detail(p, "repository %s does not exist",
		    p->repository);
		return BERR_NAME_UNKNOWN;
	}
	if (p->len == 0 || p->len > MANIFEST_MAX)
		return p->len == 0 ? BERR_MANIFEST_INVALID : BERR_TOO_LARGE;
	digest_compute(p->expected != NULL ? p->expected->algo :
	    DIGEST_SHA256, p->manifest, p->len, &p->digest);
	if (p->expected != NULL && !digest_eq(p->expected, &p->digest)) {
		char ds[DIGEST_STR_MAX];
		image_fail_detail(p, "the manifest's digest is %s",
		    digest_format(&p->digest, ds));
		return BERR_DIGEST_INVALID;
	}
	if ((rc = manifest_parse((const char *)p->manifest, p->len,
	    p->content_type, p->lenient ? MANIFEST_LENIENT : 0, &mi)) != 0) {
		snprintf(p->detail, sizeof(p->detail), "%s", mi.error);
		return rc;
	}
	if (p->cache)
		index_size = 0;
	else if ((rc = image_check_refs(repo, &mi, p, &index_size)) != 0) {
		manifest_info_clear(&mi);
		return rc;
	}
	existing = image_find(repo, &p->digest);
	if (existing == NULL && repo->images.len >= conf.max_images) {
		snprintf(p->detail, sizeof(p->detail), "The repository with "
		    "name '%s' in registry with id '%s' already has the "
		    "maximum allowed number of images which is '%llu'",
		    repo->name, p->account,
		    (unsigned long long)conf.max_images);
		manifest_info_clear(&mi);
		return BERR_LIMIT_EXCEEDED;
	}
	for (i = 0; i < p->ntags; i++) {
		tg = tag_find(repo, p->tags[i]);
		if (tg != NULL && tg->image == existing)
			continue;
		if (tg != NULL && repository_tag_is_immutable(repo,
		    p->tags[i])) {
			snprintf(p->detail, sizeof(p->detail), "The image tag "
			    "'%.128s' already exists in the '%.256s' "
			    "repository and cannot be overwritten because the "
			    "tag is immutable.", p->tags[i], repo->name);
			manifest_info_clear(&mi);
			return BERR_TAG_IMMUTABLE;
		}
		changes++;
	}
	if ((existing != NULL ? existing->ntags : 0) + image_new_tags(p,
	    repo, existing) > ECR_IMAGE_TAGS_MAX) {
		char ds[DIGEST_STR_MAX];
		snprintf(p->detail, sizeof(p->detail), "The image with digest "
		    "'%s' in the repository with name '%s' in registry with "
		    "id '%s' already has the maximum allowed number of tags "
		    "which is '%d'", digest_format(&p->digest, ds), repo->name,
		    p->account, ECR_IMAGE_TAGS_MAX);
		manifest_info_clear(&mi);
		return BERR_LIMIT_EXCEEDED;
	}
	if (existing != NULL && changes == 0 && p->ecr &&
	    existing->status == IMAGE_ACTIVE) {
		/* ECR: "no changes to the manifest or image tag". */
		manifest_info_clear(&mi);
		return BERR_EXISTS;
	}

	txn_init(&t);
	if (existing == NULL) {
		img = xcalloc(1, sizeof(*img));
		img->repo = repo;
		img->digest = p->digest;
		img->media_type = mi.media_type;
		mi.media_type = NULL;
		if (mi.artifact_type != NULL)
			img->artifact_type = xstrdup(mi.artifact_type);
		else if (mi.config_media_type != NULL)
			img->artifact_type = xstrdup(mi.config_media_type);
		img->manifest = xmalloc(p->len);
		memcpy(img->manifest, p->manifest, p->len);
		img->manifest_len = p->len;
		img->pushed_ms = model_now_ms();
		img->refs = mi.refs;
		img->nrefs = mi.nrefs;
		mi.refs = NULL;
		mi.nrefs = 0;
		img->has_subject = mi.has_subject;
		img->subject = mi.subject;
		img->size = mi.is_index ? index_size : mi.layers_size;
		rc = txn_image_put(&t, img);
		image_free(img);
		if (rc != 0)
			fatalx("image_push: the image record does not apply: "
			    "%s", berr_message(rc));
		/* Scan on push: recorded with the image, run after.  Not
		 * for the pull-through cache, whose layers come when clients
		 * pull them: a scan now could only fail. */
		if ((img = image_find(repo, &p->digest)) == NULL ||
		    (!p->cache && (rc = image_scan_on_push(&t, img)) != 0))
			fatalx("image_push: the scan record does not apply");
	}
	/* Pushing an archived image again restores it at once
	 * (userguide/archive-image.html). */
	if (existing != NULL && existing->status != IMAGE_ACTIVE &&
	    (rc = txn_image_status(&t, existing, IMAGE_ACTIVE,
	    existing->archived_ms, model_now_ms())) != 0)
		fatalx("image_push: the status record does not apply: %s",
		    berr_message(rc));
	p->has_subject = mi.has_subject;
	p->subject = mi.subject;
	manifest_info_clear(&mi);
	for (i = 0; i < p->ntags; i++)
		if ((rc = txn_tag_put(&t, repo, p->tags[i], &p->digest)) != 0)
			fatalx("image_push: the tag record does not apply: %s",
			    berr_message(rc));
	p->created = existing == NULL;
	if ((img = image_find(repo, &p->digest)) == NULL)
		fatalx("image_push: the image is not in the model");
	replication_plan(&t, repo, img, p->tags, p->ntags);
	signing_plan(&t, repo, img);
	if (p->extra != NULL)
		p->extra(&t, p->extra_arg);
	ipd = xcalloc(1, sizeof(*ipd));
	ipd->done = done;
	ipd->arg = arg;
	txn_commit(&t, image_pushed_cb, ipd);
	return 0;
}
