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
 * The in-memory model: registries (one per account and region), their
 * repositories, images, tags and blob links, and the blobs they share.
 * Only record.c changes it, by applying records; everything else reads.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "error.h"
#include "image_scan.h"
#include "log.h"
#include "name.h"
#include "util.h"

/* JSON nesting allowed in a registry setting's value. */
#define REGISTRY_SETTING_DEPTH	16

struct model	*model;

struct registry_key {
	const char	*account;
	const char	*region;
};

static int
registry_cmp(const void *key, const void *item)
{
	const struct registry_key *k = key;
	const struct registry	*r = item;
	int			 c;

	if ((c = strcmp(k->account, r->account)) != 0)
		return c;
	return strcmp(k->region, r->region);
}

static int
repository_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct repository *)item)->name);
}

static int
image_cmp(const void *key, const void *item)
{
	return digest_cmp(key, &((const struct image *)item)->digest);
}

static int
tag_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct tag *)item)->name);
}

static int
link_cmp(const void *key, const void *item)
{
	return digest_cmp(key, &((const struct link *)item)->blob->digest);
}

static int
repo_ref_cmp(const void *key, const void *item)
{
	return digest_cmp(key, &((const struct repo_ref *)item)->digest);
}

static int
blob_cmp(const void *key, const void *item)
{
	return digest_cmp(key, &((const struct blob *)item)->digest);
}

static int
kv_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct kv *)item)->key);
}

/*
 * The test clock: berth's "now" for every time the model records or
 * compares (push, pull, archive and evaluation times, repository
 * creation, lifecycle ages) is the real clock plus an offset that POST
 * /_berth/clock moves; the offset is a record (REC_CLOCK), so it survives
 * restarts.  What must follow the real clock keeps now_ms()/now_sec():
 * SigV4's skew check, login tokens and download URLs (clients stay logged
 * in), and GC's grace, which it compares with the files' own mtimes.
 */
int64_t
model_now_ms(void)
{
	return now_ms() + (model != NULL ? model->clock_offset_ms : 0);
}

/*
 * A restore is recorded once, as ACTIVATING with activated_ms the time it
 * completes; from then on the image is ACTIVE, with no second record to
 * write and none to lose.
 */
enum image_status
image_status_now(const struct image *img)
{
	if (img->status == IMAGE_ACTIVATING &&
	    model_now_ms() >= img->activated_ms)
		return IMAGE_ACTIVE;
	return img->status;
}

int
image_is_pullable(const struct image *img)
{
	return image_status_now(img) == IMAGE_ACTIVE;
}

/* Never reset: a reloaded model's repositories get new generations. */
static uint64_t	 model_generation;

void
model_repo_changed(struct repository *repo)
{
	repo->generation = ++model_generation;
}

struct model *
model_new(void)
{
	struct model	*m;

	m = xcalloc(1, sizeof(*m));
	sortvec_init(&m->registries, registry_cmp);
	sortvec_init(&m->blobs, blob_cmp);
	return m;
}

void
repo_config_init(struct repo_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mutability = MUT_MUTABLE;
}

void
repo_config_clear(struct repo_config *c)
{
	size_t	 i;

	for (i = 0; i < c->nmut_filters; i++)
		free(c->mut_filters[i]);
	free(c->mut_filters);
	for (i = 0; i < c->ntags; i++) {
		free(c->tags[i].key);
		free(c->tags[i].value);
	}
	free(c->tags);
	free(c->encryption_type);
	free(c->kms_key);
	free(c->policy);
	free(c->lifecycle);
	repo_config_init(c);
}

static char *
strdup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

void
repo_config_copy(struct repo_config *dst, const struct repo_config *src)
{
	size_t	 i;

	repo_config_init(dst);
	dst->mutability = src->mutability;
	dst->nmut_filters = src->nmut_filters;
	dst->mut_filters = xcalloc(src->nmut_filters, sizeof(char *));
	for (i = 0; i < src->nmut_filters; i++)
		dst->mut_filters[i] = xstrdup(src->mut_filters[i]);
	dst->scan_on_push = src->scan_on_push;
	dst->encryption_type = strdup_or_null(src->encryption_type);
	dst->kms_key = strdup_or_null(src->kms_key);
	dst->ntags = src->ntags;
	dst->tags = xcalloc(src->ntags, sizeof(struct kv));
	for (i = 0; i < src->ntags; i++) {
		dst->tags[i].key = xstrdup(src->tags[i].key);
		dst->tags[i].value = xstrdup(src->tags[i].value);
	}
	dst->policy = strdup_or_null(src->policy);
	dst->lifecycle = strdup_or_null(src->lifecycle);
	dst->lifecycle_evaluated_ms = src->lifecycle_evaluated_ms;
}

void
image_free(struct image *img)
{
	size_t	 i;

	if (img == NULL)
		return;
	free(img->media_type);
	free(img->artifact_type);
	free(img->manifest);
	for (i = 0; i < img->nrefs; i++)
		free(img->refs[i].media_type);
	free(img->refs);
	for (i = 0; i < img->ntags; i++)
		free(img->tags[i]);
	free(img->tags);
	image_scan_free(img->scan);
	free(img);
}

void
image_scan_free(struct image_scan *sc)
{
	if (sc == NULL)
		return;
	free(sc->description);
	free(sc->report);
	free(sc);
}

static void
repository_free(struct repository *repo)
{
	size_t	 i;

	for (i = 0; i < repo->images.len; i++)
		image_free(repo->images.items[i]);
	sortvec_clear(&repo->images);
	for (i = 0; i < repo->tags.len; i++) {
		struct tag *t = repo->tags.items[i];
		free(t->name);
		free(t);
	}
	sortvec_clear(&repo->tags);
	for (i = 0; i < repo->links.len; i++)
		free(repo->links.items[i]);
	sortvec_clear(&repo->links);
	for (i = 0; i < repo->refs.len; i++) {
		struct repo_ref *ref = repo->refs.items[i];
		sortvec_clear(&ref->referrers);
		free(ref->media_type);
		free(ref);
	}
	sortvec_clear(&repo->refs);
	repo_config_clear(&repo->config);
	free(repo->name);
	free(repo);
}

static void
registry_free(struct registry *reg)
{
	size_t	 i;

	for (i = 0; i < reg->repositories.len; i++)
		repository_free(reg->repositories.items[i]);
	sortvec_clear(&reg->repositories);
	for (i = 0; i < reg->settings.len; i++) {
		struct kv *kv = reg->settings.items[i];
		free(kv->key);
		free(kv->value);
		free(kv);
	}
	sortvec_clear(&reg->settings);
	free(reg);
}

void
model_free(struct model *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->registries.len; i++)
		registry_free(m->registries.items[i]);
	sortvec_clear(&m->registries);
	for (i = 0; i < m->blobs.len; i++)
		free(m->blobs.items[i]);
	sortvec_clear(&m->blobs);
	explicit_bzero(m->secret, sizeof(m->secret));
	free(m);
}

void
model_install(struct model *m)
{
	struct model	*old = model;

	model = m;
	model_free(old);
}

struct registry *
registry_find(const char *account, const char *region)
{
	struct registry_key k = { account, region };

	return sortvec_find(&model->registries, &k);
}

struct registry *
registry_get(const char *account, const char *region)
{
	struct registry_key k = { account, region };
	struct registry	*reg;

	if ((reg = sortvec_find(&model->registries, &k)) != NULL)
		return reg;
	if (strlen(account) > ACCOUNT_LEN || strlen(region) > REGION_MAX)
		fatalx("registry_get: bad key %s/%s", account, region);
	reg = xcalloc(1, sizeof(*reg));
	strcpy(reg->account, account);
	strcpy(reg->region, region);
	sortvec_init(&reg->repositories, repository_cmp);
	sortvec_init(&reg->settings, kv_cmp);
	k.account = reg->account;
	k.region = reg->region;
	(void)sortvec_insert(&model->registries, &k, reg);
	return reg;
}

int
registry_has_room(const char *account, const char *region)
{
	const struct registry *reg = registry_find(account, region);

	return reg == NULL || reg->repositories.len < conf.max_repositories;
}

struct repository *
repository_find(const struct registry *reg, const char *name)
{
	if (reg == NULL)
		return NULL;
	return sortvec_find(&reg->repositories, name);
}

struct repository *
repository_lookup(const char *account, const char *region, const char *name)
{
	return repository_find(registry_find(account, region), name);
}

struct image *
image_find(const struct repository *repo, const struct digest *d)
{
	return sortvec_find(&repo->images, d);
}

struct tag *
tag_find(const struct repository *repo, const char *name)
{
	return sortvec_find(&repo->tags, name);
}

struct link *
link_find(const struct repository *repo, const struct digest *d)
{
	return sortvec_find(&repo->links, d);
}

struct blob *
blob_find(const struct digest *d)
{
	return sortvec_find(&model->blobs, d);
}

const char *
registry_setting(const struct registry *reg, const char *key)
{
	struct kv	*kv;

	if (reg == NULL || (kv = sortvec_find(&reg->settings, key)) == NULL)
		return NULL;
	return kv->value;
}

struct json_object *
registry_setting_json(const struct registry *reg, const char *key)
{
	struct json_object *o;
	const char	*text;

	if ((text = registry_setting(reg, key)) == NULL)
		return NULL;
	o = json_parse_strict(text, strlen(text), REGISTRY_SETTING_DEPTH,
	    NULL);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

void
blob_touch(struct blob *b)
{
	b->active_ms = now_ms();
}

int
repository_tag_is_immutable(const struct repository *repo, const char *tag)
{
	const struct repo_config *c = &repo->config;
	size_t			 i;
	int			 excluded = 0;

	for (i = 0; i < c->nmut_filters; i++)
		if (name_wildcard_match(c->mut_filters[i], tag)) {
			excluded = 1;
			break;
		}
	switch (c->mutability) {
	case MUT_IMMUTABLE:
		return 1;
	case MUT_IMMUTABLE_WITH_EXCLUSION:
		return !excluded;
	case MUT_MUTABLE_WITH_EXCLUSION:
		return excluded;
	case MUT_MUTABLE:
	default:
		return 0;
	}
}

const struct repo_ref *
repo_ref_find(const struct repository *repo, const struct digest *d)
{
	return sortvec_find(&repo->refs, d);
}

size_t
repository_referrers(const struct repository *repo,
    const struct digest *subject, struct image **out, size_t max)
{
	const struct repo_ref *ref = repo_ref_find(repo, subject);
	size_t		 i, n;

	if (ref == NULL)
		return 0;
	n = ref->referrers.len;
	for (i = 0; i < n && i < max; i++)
		out[i] = ref->referrers.items[i];
	return n;
}

/* --- primitive mutations (called from record.c only) --------------------- */

static struct blob *
blob_get(const struct digest *d, uint64_t size)
{
	struct blob	*b;

	if ((b = sortvec_find(&model->blobs, d)) != NULL)
		return b;
	b = xcalloc(1, sizeof(*b));
	b->digest = *d;
	b->size = size;
	(void)sortvec_insert(&model->blobs, d, b);
	return b;
}

static void
blob_deref(struct blob *b, int64_t when)
{
	if (b->refs > 0 && --b->refs == 0)
		b->deref_ms = when;
}

int
model_repo_put(const char *account, const char *region, const char *name,
    int64_t created_ms, struct repo_config *take)
{
	struct registry	*reg = registry_get(account, region);
	struct repository *repo;

	if ((repo = repository_find(reg, name)) != NULL) {
		repo_config_clear(&repo->config);
		repo->config = *take;
		repo_config_init(take);
		model_repo_changed(repo);
		return 0;
	}
	repo = xcalloc(1, sizeof(*repo));
	repo->registry = reg;
	repo->name = xstrdup(name);
	repo->created_ms = created_ms;
	repo->config = *take;
	repo_config_init(take);
	sortvec_init(&repo->images, image_cmp);
	sortvec_init(&repo->tags, tag_cmp);
	sortvec_init(&repo->links, link_cmp);
	sortvec_init(&repo->refs, repo_ref_cmp);
	model_repo_changed(repo);
	(void)sortvec_insert(&reg->repositories, repo->name, repo);
	return 0;
}

/* Takes a link off its blob's list (and count), before it is freed. */
static void
link_unlist(struct link *l)
{
	struct blob	*b = l->blob;

	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		b->link_list = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	if (b->links > 0)
		b->links--;
}

/*
 * The per-image registry settings (the replication and signing statuses)
 * go with their image or repository.  This happens here, in the model,
 * rather than as records of their own: replay deletes them exactly as the
 * live change did.  d NULL: every image of the repository name.
 */
static void
image_state_forget(struct registry *reg, const char *name,
    const struct digest *d)
{
	static const char *const prefixes[] = { REPLICATION_KEY_PREFIX,
	    SIGNING_KEY_PREFIX };
	char		 ds[DIGEST_STR_MAX], *key;
	size_t		 i, j, n;

	for (i = 0; i < nitems(prefixes); i++) {
		if (d != NULL) {
			xasprintf(&key, "%s%s@%s", prefixes[i], name,
			    digest_format(d, ds));
			(void)model_setting_delete(reg, key);
			free(key);
			continue;
		}
		xasprintf(&key, "%s%s@", prefixes[i], name);
		n = strlen(key);
		for (j = 0; j < reg->settings.len;) {
			struct kv *kv = reg->settings.items[j];

			if (strncmp(kv->key, key, n) == 0 &&
			    strchr(kv->key + n, '@') == NULL)
				(void)model_setting_delete(reg, kv->key);
			else
				j++;
		}
		free(key);
	}
}

/* --- deletions in a batch ------------------------------------------------ */

static int		 model_batching;
static struct repository **model_batch;	/* those with holes */
static size_t		 model_nbatch;

void
model_batch_begin(void)
{
	model_batching = 1;
}

static void
model_batch_close(struct repository *repo)
{
	sortvec_compact(&repo->images);
	sortvec_compact(&repo->tags);
	sortvec_compact(&repo->refs);
	repo->batched = 0;
}

void
model_batch_end(void)
{
	size_t	 i;

	for (i = 0; i < model_nbatch; i++)
		model_batch_close(model_batch[i]);
	model_nbatch = 0;
	model_batching = 0;
}

/* Removes key from one of repo's large arrays, at once or in the batch. */
static void *
model_remove(struct repository *repo, struct sortvec *v, const void *key)
{
	if (!model_batching)
		return sortvec_remove(v, key);
	if (!repo->batched) {
		model_batch = xreallocarray(model_batch, model_nbatch + 1,
		    sizeof(*model_batch));
		model_batch[model_nbatch++] = repo;
		repo->batched = 1;
	}
	return sortvec_remove_deferred(v, key);
}

int
model_repo_delete(const char *account, const char *region, const char *name)
{
	struct registry	*reg = registry_find(account, region);
	struct repository *repo;
	int64_t		 now = now_ms();
	size_t		 i, k;

	if (reg == NULL ||
	    (repo = sortvec_remove(&reg->repositories, name)) == NULL)
		return BERR_NAME_UNKNOWN;
	if (repo->batched) {
		/* Out of the batch: its arrays are walked below. */
		model_batch_close(repo);
		for (i = 0; model_batch[i] != repo; i++)
			;
		model_batch[i] = model_batch[--model_nbatch];
	}
	for (i = 0; i < repo->images.len; i++) {
		struct image *img = repo->images.items[i];
		for (k = 0; k < img->nrefs; k++) {
			struct blob *b;
			if (img->refs[k].kind == REF_MANIFEST)
				continue;
			if ((b = blob_find(&img->refs[k].digest)) != NULL)
				blob_deref(b, now);
		}
	}
	for (i = 0; i < repo->links.len; i++)
		link_unlist(repo->links.items[i]);
	image_state_forget(reg, repo->name, NULL);
	repository_free(repo);
	return 0;
}

static struct repo_ref *
repo_ref_get(struct repository *repo, const struct digest *d)
{
	struct repo_ref	*ref;

	if ((ref = sortvec_find(&repo->refs, d)) != NULL)
		return ref;
	ref = xcalloc(1, sizeof(*ref));
	ref->digest = *d;
	sortvec_init(&ref->referrers, image_cmp);
	(void)sortvec_insert(&repo->refs, &ref->digest, ref);
	return ref;
}

/* Counts what img names in its repository's index (delta 1), or takes it
 * out again (-1). */
static void
repo_refs_note(struct repository *repo, struct image *img, int delta)
{
	struct repo_ref	*ref;
	size_t		 i;

	for (i = 0; i < img->nrefs; i++) {
		ref = repo_ref_get(repo, &img->refs[i].digest);
		if (img->refs[i].kind == REF_MANIFEST)
			ref->index_refs += delta;
		else {
			ref->blob_refs += delta;
			if (ref->media_type == NULL &&
			    img->refs[i].media_type != NULL)
				ref->media_type =
				    xstrdup(img->refs[i].media_type);
		}
	}
	if (img->has_subject) {
		ref = repo_ref_get(repo, &img->subject);
		if (delta > 0)
			(void)sortvec_insert(&ref->referrers, &img->digest,
			    img);
		else
			(void)sortvec_remove(&ref->referrers, &img->digest);
	}
	if (delta > 0)
		return;
	/* Entries nothing names any more go. */
	for (i = 0; i <= img->nrefs; i++) {
		const struct digest *d = i < img->nrefs ?
		    &img->refs[i].digest : &img->subject;
		if (i == img->nrefs && !img->has_subject)
			break;
		if ((ref = sortvec_find(&repo->refs, d)) == NULL ||
		    ref->blob_refs > 0 || ref->index_refs > 0 ||
		    ref->referrers.len > 0)
			continue;
		(void)model_remove(repo, &repo->refs, d);
		sortvec_clear(&ref->referrers);
		free(ref->media_type);
		free(ref);
	}
}

int
model_image_put(struct repository *repo, struct image *img)
{
	size_t	 i;

	if (image_find(repo, &img->digest) != NULL) {
		image_free(img);
		return 0;
	}
	img->repo = repo;
	for (i = 0; i < img->nrefs; i++) {
		if (img->refs[i].kind == REF_MANIFEST)
			continue;
		blob_get(&img->refs[i].digest, img->refs[i].size)->refs++;
	}
	(void)sortvec_insert(&repo->images, &img->digest, img);
	repo_refs_note(repo, img, 1);
	model_repo_changed(repo);
	return 0;
}

static void
image_drop_tag(struct image *img, const char *tag)
{
	size_t	 i;

	for (i = 0; i < img->ntags; i++) {
		if (strcmp(img->tags[i], tag) != 0)
			continue;
		free(img->tags[i]);
		memmove(&img->tags[i], &img->tags[i + 1],
		    (img->ntags - i - 1) * sizeof(char *));
		img->ntags--;
		return;
	}
}

static void
image_add_tag(struct image *img, const char *tag)
{
	size_t	 i;

	for (i = 0; i < img->ntags; i++) {
		int c = strcmp(img->tags[i], tag);
		if (c == 0)
			return;
		if (c > 0)
			break;
	}
	img->tags = xreallocarray(img->tags, img->ntags + 1, sizeof(char *));
	memmove(&img->tags[i + 1], &img->tags[i],
	    (img->ntags - i) * sizeof(char *));
	img->tags[i] = xstrdup(tag);
	img->ntags++;
}

int
model_image_delete(struct repository *repo, const struct digest *d)
{
	struct image	*img;
	int64_t		 now = now_ms();
	size_t		 i;

	if ((img = model_remove(repo, &repo->images, d)) == NULL)
		return BERR_MANIFEST_UNKNOWN;
	repo_refs_note(repo, img, -1);
	image_state_forget(repo->registry, repo->name, d);
	for (i = 0; i < img->ntags; i++) {
		struct tag *t = model_remove(repo, &repo->tags, img->tags[i]);
		if (t != NULL) {
			free(t->name);
			free(t);
		}
	}
	for (i = 0; i < img->nrefs; i++) {
		struct blob *b;
		if (img->refs[i].kind == REF_MANIFEST)
			continue;
		if ((b = blob_find(&img->refs[i].digest)) != NULL)
			blob_deref(b, now);
	}
	image_free(img);
	model_repo_changed(repo);
	return 0;
}

int
model_tag_put(struct repository *repo, const char *name,
    const struct digest *d)
{
	struct image	*img;
	struct tag	*t;

	if ((img = image_find(repo, d)) == NULL)
		return BERR_MANIFEST_UNKNOWN;
	if ((t = tag_find(repo, name)) != NULL) {
		if (t->image == img)
			return 0;
		image_drop_tag(t->image, name);
	} else {
		t = xcalloc(1, sizeof(*t));
		t->name = xstrdup(name);
		(void)sortvec_insert(&repo->tags, t->name, t);
	}
	t->image = img;
	image_add_tag(img, name);
	model_repo_changed(repo);
	return 0;
}

int
model_tag_delete(struct repository *repo, const char *name)
{
	struct tag	*t;

	if ((t = sortvec_remove(&repo->tags, name)) == NULL)
		return BERR_MANIFEST_UNKNOWN;
	image_drop_tag(t->image, name);
	free(t->name);
	free(t);
	model_repo_changed(repo);
	return 0;
}

int
model_image_status(struct repository *repo, const struct digest *d,
    enum image_status status, int64_t archived_ms, int64_t activated_ms)
{
	struct image	*img;

	if (status > IMAGE_ACTIVATING)
		return BERR_FRAME;
	if ((img = image_find(repo, d)) == NULL)
		return BERR_MANIFEST_UNKNOWN;
	img->status = status;
	img->archived_ms = archived_ms;
	img->activated_ms = activated_ms;
	model_repo_changed(repo);
	return 0;
}

int
model_link_put(struct repository *repo, const struct digest *d,
    uint64_t size, int64_t linked_ms)
{
	struct link	*l;
	struct blob	*b;

	b = blob_get(d, size);
	/* Its first link carries the stored size; the one a lenient image's
	 * manifest declared for it before (see image_push) may be wrong. */
	if (b->links == 0)
		b->size = size;
	if (linked_ms > b->active_ms)
		b->active_ms = linked_ms;
	if ((l = link_find(repo, d)) != NULL) {
		l->linked_ms = linked_ms;
		return 0;
	}
	l = xcalloc(1, sizeof(*l));
	l->blob = b;
	l->linked_ms = linked_ms;
	l->repo = repo;
	if ((l->next = b->link_list) != NULL)
		l->next->prev = l;
	b->link_list = l;
	b->links++;
	(void)sortvec_insert(&repo->links, d, l);
	return 0;
}

int
model_link_delete(struct repository *repo, const struct digest *d)
{
	struct link	*l;

	if ((l = sortvec_remove(&repo->links, d)) == NULL)
		return BERR_BLOB_UNKNOWN;
	link_unlist(l);
	free(l);
	return 0;
}

int
model_blob_forget(const struct digest *d)
{
	struct blob	*b;
	struct link	*l;

	if ((b = blob_find(d)) == NULL)
		return 0;
	if (b->refs > 0)
		return BERR_INTERNAL;	/* GC never forgets a referenced blob */
	/* Its own list of links: not a scan of every repository. */
	while ((l = b->link_list) != NULL) {
		(void)sortvec_remove(&l->repo->links, d);
		link_unlist(l);
		free(l);
	}
	free(sortvec_remove(&model->blobs, d));
	return 0;
}

int
model_setting_put(struct registry *reg, const char *key, const char *value)
{
	struct kv	*kv;

	if ((kv = sortvec_find(&reg->settings, key)) != NULL) {
		free(kv->value);
		kv->value = xstrdup(value);
		return 0;
	}
	kv = xcalloc(1, sizeof(*kv));
	kv->key = xstrdup(key);
	kv->value = xstrdup(value);
	(void)sortvec_insert(&reg->settings, kv->key, kv);
	return 0;
}

int
model_setting_delete(struct registry *reg, const char *key)
{
	struct kv	*kv;

	if ((kv = sortvec_remove(&reg->settings, key)) == NULL)
		return BERR_NOT_FOUND;
	free(kv->key);
	free(kv->value);
	free(kv);
	return 0;
}

int
model_scan_put(struct image *img, struct image_scan *take)
{
	image_scan_free(img->scan);
	img->scan = take;
	return 0;
}
