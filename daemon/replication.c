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
 * Private image replication.  A push into a repository that a rule of the
 * registry's replication configuration matches records, in the push's own
 * transaction, the registry setting "replication/<repository>@<digest>":
 * the tags pushed and one IN_PROGRESS status per destination.  Once the
 * push is acknowledged (and after every load of the metadata, so that a
 * kill -9 of either process loses nothing) the work runs here: for each
 * destination the repository is created when missing (from the
 * destination's REPLICATION creation template, else ECR's defaults), the
 * image (an index with its children) gets the source's blobs linked, its
 * manifest recorded and the tags put, and the status becomes COMPLETE or
 * FAILED, all in one transaction.  Blobs are stored once per digest, so a
 * replica costs records, not bytes.
 *
 * What ECR replicates and what it does not (User Guide, replication.html):
 * content pushed after the configuration; the same repository name; one
 * hop (a replica is not replicated again); never deletions; no repository
 * or lifecycle policy (settings come only from REPLICATION templates); an
 * image whose tag already exists in an immutable destination arrives
 * without that tag.  Across accounts the destination's registry policy
 * must allow ecr:ReplicateImage to the source account, and
 * ecr:CreateRepository when the repository is missing
 * (registry-permissions-create-replication.html); otherwise the status is
 * FAILED with failureCode ACCESS_DENIED or REPOSITORY_NOT_FOUND (berth's
 * codes: ECR documents none).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "ecr.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define REPLICATION_JSON_DEPTH	16
#define REPLICATION_BATCH	16
#define REPLICATION_INDEX_DEPTH	4

struct pending {
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		*key;
};

static struct pending	*queue;
static size_t		 nqueue, queue_cap;
static int		 running;
static struct event	*kick_ev;

static void	replication_run_cb(evutil_socket_t, short, void *);

static void
queue_add(const struct registry *reg, const char *key)
{
	struct pending	*p;

	if (nqueue == queue_cap) {
		queue_cap = queue_cap == 0 ? 16 : queue_cap * 2;
		queue = xreallocarray(queue, queue_cap, sizeof(*queue));
	}
	p = &queue[nqueue++];
	memcpy(p->account, reg->account, sizeof(p->account));
	memcpy(p->region, reg->region, sizeof(p->region));
	p->key = xstrdup(key);
}

static void
queue_clear(void)
{
	size_t	 i;

	for (i = 0; i < nqueue; i++)
		free(queue[i].key);
	nqueue = 0;
}

static char *
status_key(const char *prefix, const char *name, const struct digest *d)
{
	char	 ds[DIGEST_STR_MAX], *key;

	xasprintf(&key, "%s%s@%s", prefix, name, digest_format(d, ds));
	return key;
}

static const char *
member_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *
member_array(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

int
replication_rule_matches(struct json_object *rule, const char *name)
{
	struct json_object *filters;
	const char	*f;
	size_t		 i, n;

	if ((filters = member_array(rule, "repositoryFilters")) == NULL ||
	    (n = json_object_array_length(filters)) == 0)
		return 1;
	for (i = 0; i < n; i++)
		if ((f = member_str(json_object_array_get_idx(filters, i),
		    "filter")) != NULL && strncmp(name, f, strlen(f)) == 0)
			return 1;
	return 0;
}

struct json_object *
replication_match(const char *config, const char *name)
{
	struct json_object *doc, *rules, *rule, *list, *d, *o, *dests;
	const char	*region, *registry;
	size_t		 i, j, k, n;

	dests = json_object_new_array();
	if (config == NULL || (doc = json_parse_strict(config, strlen(config),
	    REPLICATION_JSON_DEPTH, NULL)) == NULL)
		return dests;
	if ((rules = member_array(doc, "rules")) == NULL)
		goto out;
	for (i = 0; i < json_object_array_length(rules); i++) {
		rule = json_object_array_get_idx(rules, i);
		if (!replication_rule_matches(rule, name) ||
		    (list = member_array(rule, "destinations")) == NULL)
			continue;
		for (j = 0; j < json_object_array_length(list); j++) {
			d = json_object_array_get_idx(list, j);
			if ((region = member_str(d, "region")) == NULL ||
			    (registry = member_str(d, "registryId")) == NULL)
				continue;
			n = json_object_array_length(dests);
			for (k = 0; k < n; k++) {
				o = json_object_array_get_idx(dests, k);
				if (strcmp(member_str(o, "region"), region) ==
				    0 && strcmp(member_str(o, "registryId"),
				    registry) == 0)
					break;
			}
			if (k < n)
				continue;
			o = json_object_new_object();
			ecr_add_str(o, "region", region);
			ecr_add_str(o, "registryId", registry);
			ecr_add_str(o, "status", "IN_PROGRESS");
			json_object_array_add(dests, o);
		}
	}
out:
	json_object_put(doc);
	return dests;
}

static void
add_tag_once(struct json_object *tags, const char *tag)
{
	size_t	 i;

	for (i = 0; i < json_object_array_length(tags); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(tags,
		    i)), tag) == 0)
			return;
	json_object_array_add(tags, json_object_new_string(tag));
}

static void
put_value(struct txn *t, struct registry *reg, const char *key,
    struct json_object *o)
{
	if (txn_setting_put(t, reg, key, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) != 0)
		fatalx("replication status record does not apply");
}

void
replication_plan(struct txn *t, struct repository *repo,
    const struct image *img, char **tags, size_t ntags)
{
	struct registry	*reg = repo->registry;
	struct json_object *job, *dests, *jtags, *old, *v;
	char		*key;
	size_t		 i;

	dests = replication_match(registry_setting(reg,
	    REGISTRY_KEY_REPLICATION), repo->name);
	if (json_object_array_length(dests) == 0) {
		json_object_put(dests);
		return;
	}
	key = status_key(REPLICATION_KEY_PREFIX, repo->name, &img->digest);
	jtags = json_object_new_array();
	/* Tags of a job not yet run go with this one. */
	if ((old = registry_setting_json(reg, key)) != NULL) {
		if (json_object_object_get_ex(old, "tags", &v))
			for (i = 0; i < json_object_array_length(v); i++)
				add_tag_once(jtags, json_object_get_string(
				    json_object_array_get_idx(v, i)));
		json_object_put(old);
	}
	for (i = 0; i < ntags; i++)
		add_tag_once(jtags, tags[i]);
	job = json_object_new_object();
	json_object_object_add(job, "tags", jtags);
	json_object_object_add(job, "destinations", dests);
	put_value(t, reg, key, job);
	json_object_put(job);
	queue_add(reg, key);
	free(key);
}

/* Makes img (and, for an index, its children) present in dst. */
static void
copy_image(struct txn *t, struct repository *src, struct repository *dst,
    const struct image *img, int depth)
{
	struct image	 copy;
	struct image	*child;
	struct link	*l;
	size_t		 i;

	for (i = 0; i < img->nrefs; i++) {
		const struct image_ref *ref = &img->refs[i];

		if (ref->kind == REF_MANIFEST) {
			if (depth < REPLICATION_INDEX_DEPTH &&
			    (child = image_find(src, &ref->digest)) != NULL)
				copy_image(t, src, dst, child, depth + 1);
			continue;
		}
		/* Foreign layers the repository never held stay foreign. */
		if ((l = link_find(src, &ref->digest)) == NULL ||
		    link_find(dst, &ref->digest) != NULL)
			continue;
		if (txn_link_put(t, dst, &ref->digest, l->blob->size) != 0)
			fatalx("replica link record does not apply");
	}
	if (image_find(dst, &img->digest) != NULL)
		return;
	copy = *img;
	copy.repo = dst;
	copy.pushed_ms = now_ms();
	copy.pulled_ms = 0;
	copy.tags = NULL;
	copy.ntags = 0;
	if (txn_image_put(t, &copy) != 0)
		fatalx("replica image record does not apply");
}

/*
 * The images copy_image would add to dst: img and, for an index, its
 * children, those not there already (a child an index names twice counts
 * twice: a quota check errs on the safe side).
 */
static size_t
count_new_images(struct repository *src, struct repository *dst,
    const struct image *img, int depth)
{
	struct image	*child;
	size_t		 i, n = 0;

	for (i = 0; i < img->nrefs; i++)
		if (img->refs[i].kind == REF_MANIFEST &&
		    depth < REPLICATION_INDEX_DEPTH &&
		    (child = image_find(src, &img->refs[i].digest)) != NULL)
			n += count_new_images(src, dst, child, depth + 1);
	return n + (image_find(dst, &img->digest) == NULL);
}

/* Whether tag goes onto the replica of img in dst (see replicate_to). */
static int
tag_moves(struct repository *dst, const struct image *img, const char *tag)
{
	struct tag	*tg = tag_find(dst, tag);

	return tg == NULL || (!digest_eq(&tg->image->digest, &img->digest) &&
	    !repository_tag_is_immutable(dst, tag));
}

/*
 * Replicates img of src to one destination; NULL, or the failure code.
 * ImageReplicationStatus.failureCode is a free string in ECR's model
 * (ReplicationError) and neither the API reference nor the user guide
 * names a value, so ACCESS_DENIED and REPOSITORY_NOT_FOUND are berth's
 * own, documented in berthd(8).
 */
static const char *
replicate_to(struct txn *t, struct repository *src, const struct image *img,
    struct json_object *tags, const char *account, const char *region)
{
	const struct registry *sreg = src->registry;
	struct registry	*dreg = registry_find(account, region);
	struct repository *dst = repository_find(dreg, src->name);
	struct image	*have;
	const char	*tag;
	char		*source_arn;
	size_t		 i, ntags;
	int		 may_replicate, may_create;

	xasprintf(&source_arn, "arn:aws:ecr:%s:%s:repository/%s",
	    sreg->region, sreg->account, src->name);
	may_replicate = registry_policy_allows(sreg->account,
	    "ecr:ReplicateImage", dreg, account, region, src->name,
	    source_arn);
	may_create = dst != NULL || registry_policy_allows(sreg->account,
	    "ecr:CreateRepository", dreg, account, region, src->name,
	    source_arn);
	free(source_arn);
	if (!may_replicate)
		return "ACCESS_DENIED";
	if (dst == NULL) {
		if (!may_create)
			return "REPOSITORY_NOT_FOUND";
		/* ECR's quotas hold for replicas too (an error here would
		 * spoil the transaction of every destination). */
		if (!registry_has_room(account, region))
			return "REPOSITORY_LIMIT_EXCEEDED";
		if (template_create(t, account, region, src->name,
		    TEMPLATE_FOR_REPLICATION) != 0)
			fatalx("replica repository record does not apply");
		dst = repository_find(registry_find(account, region),
		    src->name);
		if (dst == NULL)
			fatalx("replica repository record does not apply");
	}
	/* An index brings its children: each is an image of dst's. */
	if (dst->images.len + count_new_images(src, dst, img, 0) >
	    conf.max_images)
		return "IMAGE_LIMIT_EXCEEDED";
	have = image_find(dst, &img->digest);
	ntags = have != NULL ? have->ntags : 0;
	for (i = 0; i < json_object_array_length(tags); i++)
		if (tag_moves(dst, img, json_object_get_string(
		    json_object_array_get_idx(tags, i))))
			ntags++;
	if (ntags > ECR_IMAGE_TAGS_MAX)
		return "TAG_LIMIT_EXCEEDED";
	copy_image(t, src, dst, img, 0);
	for (i = 0; i < json_object_array_length(tags); i++) {
		tag = json_object_get_string(json_object_array_get_idx(tags, i));
		if (!tag_moves(dst, img, tag))
			continue;
		if (txn_tag_put(t, dst, tag, &img->digest) != 0)
			fatalx("replica tag record does not apply");
	}
	return NULL;
}

/* Runs one job into t. */
static void
replication_run_one(struct txn *t, const struct pending *p)
{
	struct registry	*reg = registry_find(p->account, p->region);
	struct repository *repo;
	struct image	*img;
	struct json_object *job, *dests, *d, *tags, *v, *w;
	struct digest	 digest;
	const char	*failure;
	char		*name, *at;
	size_t		 i;

	if ((job = registry_setting_json(reg, p->key)) == NULL)
		return;
	name = xstrdup(p->key + strlen(REPLICATION_KEY_PREFIX));
	repo = NULL;
	img = NULL;
	if ((at = strrchr(name, '@')) != NULL) {
		*at = '\0';
		if (digest_parse_str(at + 1, &digest) == 0 &&
		    (repo = repository_find(reg, name)) != NULL)
			img = image_find(repo, &digest);
	}
	if (img == NULL) {
		/* Deleted before it was replicated: nothing to report on. */
		if (txn_setting_delete(t, reg, p->key) != 0)
			fatalx("replication status record does not apply");
		goto out;
	}
	if (!json_object_object_get_ex(job, "tags", &tags) ||
	    !json_object_object_get_ex(job, "destinations", &dests))
		goto out;
	for (i = 0; i < json_object_array_length(dests); i++) {
		d = json_object_array_get_idx(dests, i);
		if (!json_object_object_get_ex(d, "status", &v) ||
		    strcmp(json_object_get_string(v), "IN_PROGRESS") != 0)
			continue;
		json_object_object_get_ex(d, "registryId", &v);
		json_object_object_get_ex(d, "region", &w);
		failure = replicate_to(t, repo, img, tags,
		    json_object_get_string(v), json_object_get_string(w));
		ecr_add_str(d, "status", failure == NULL ? "COMPLETE" :
		    "FAILED");
		if (failure != NULL) {
			ecr_add_str(d, "failureCode", failure);
			log_info("replication of %s in %s/%s to %s/%s failed: %s",
			    p->key, p->account, p->region,
			    json_object_get_string(v),
			    json_object_get_string(w), failure);
		}
	}
	/* The tags went; a later push of the image brings its own. */
	json_object_object_add(job, "tags", json_object_new_array());
	put_value(t, reg, p->key, job);
out:
	free(name);
	json_object_put(job);
}

static void
replication_done_cb(int err, void *arg)
{
	running = 0;
	if (err != 0) {
		/* The model goes back to the disk's, and replication_reload
		 * requeues what is still IN_PROGRESS there. */
		log_warnx("replication not recorded: %s", berr_message(err));
		return;
	}
	replication_kick();
}

static void
replication_run_cb(evutil_socket_t fd, short events, void *arg)
{
	struct txn	 t;
	size_t		 i, n;

	if (running || nqueue == 0 || !worker_ready())
		return;
	n = nqueue < REPLICATION_BATCH ? nqueue : REPLICATION_BATCH;
	txn_init(&t);
	for (i = 0; i < n; i++) {
		replication_run_one(&t, &queue[i]);
		free(queue[i].key);
	}
	memmove(queue, queue + n, (nqueue - n) * sizeof(*queue));
	nqueue -= n;
	running = 1;
	txn_commit(&t, replication_done_cb, NULL);
}

void
replication_kick(void)
{
	if (running || nqueue == 0)
		return;
	if (kick_ev == NULL &&
	    (kick_ev = event_new(ev_base, -1, 0, replication_run_cb, NULL)) ==
	    NULL)
		fatalx("event_new");
	event_active(kick_ev, EV_TIMEOUT, 0);
}

void
replication_reload(void)
{
	struct json_object *job, *dests, *v;
	size_t		 i, j, k, plen = strlen(REPLICATION_KEY_PREFIX);

	queue_clear();
	for (i = 0; i < model->registries.len; i++) {
		const struct registry *reg = model->registries.items[i];

		for (j = 0; j < reg->settings.len; j++) {
			const struct kv *kv = reg->settings.items[j];

			if (strncmp(kv->key, REPLICATION_KEY_PREFIX, plen) != 0 ||
			    (job = registry_setting_json(reg, kv->key)) == NULL)
				continue;
			if (json_object_object_get_ex(job, "destinations",
			    &dests))
				for (k = 0; k < json_object_array_length(dests);
				    k++)
					if (json_object_object_get_ex(
					    json_object_array_get_idx(dests, k),
					    "status", &v) && strcmp(
					    json_object_get_string(v),
					    "IN_PROGRESS") == 0) {
						queue_add(reg, kv->key);
						break;
					}
			json_object_put(job);
		}
	}
	if (nqueue > 0)
		log_info("%zu replication jobs to finish", nqueue);
	replication_kick();
}

struct json_object *
replication_status(const struct repository *repo, const struct digest *d)
{
	struct json_object *job, *dests, *out = NULL;
	char		*key = status_key(REPLICATION_KEY_PREFIX, repo->name, d);

	if ((job = registry_setting_json(repo->registry, key)) !=
	    NULL) {
		if (json_object_object_get_ex(job, "destinations", &dests))
			out = json_object_get(dests);
		json_object_put(job);
	}
	free(key);
	return out;
}
