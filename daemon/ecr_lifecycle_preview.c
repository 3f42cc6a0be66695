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
 * Lifecycle policy previews: StartLifecyclePolicyPreview and
 * GetLifecyclePolicyPreview (userguide/lpp_creation.html).  A preview is
 * the policy (the one given, else the repository's) and the model's time
 * when it was asked for, kept durably as a setting of the registry
 * ("lifecycle-preview/<repository>", a name no AWS account setting can
 * have) with its status: IN_PROGRESS when started, COMPLETE once its
 * evaluation ran on a later turn of the event loop (a second durable
 * write).  Its results are the evaluation at that time, by the same code
 * a real run uses, over the images the repository has when they are read:
 * what a run at that time would do.  A preview installs nothing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "error.h"
#include "lifecycle.h"
#include "log.h"
#include "util.h"

#define PREVIEW_KEY		"lifecycle-preview/"

/* A preview as stored. */
struct preview {
	char		*text;
	int		 complete;
	int64_t		 at_ms;
};

static void
preview_key(const struct repository *repo, char *out, size_t outsz)
{
	snprintf(out, outsz, PREVIEW_KEY "%s", repo->name);
}

/* The repository's preview; 0, or -1 when it has none (a preview of an
 * earlier repository of that name is none). */
static int
preview_get(const struct repository *repo, struct preview *p)
{
	struct json_object *doc, *v;
	char		 key[NAME_MAX_LEN + sizeof(PREVIEW_KEY)];
	const char	*s;
	int64_t		 created;

	memset(p, 0, sizeof(*p));
	preview_key(repo, key, sizeof(key));
	if ((s = registry_setting(repo->registry, key)) == NULL ||
	    (doc = json_tokener_parse(s)) == NULL)
		return -1;
	created = json_object_object_get_ex(doc, "created", &v) ?
	    json_object_get_int64(v) : -1;
	if (created != repo->created_ms ||
	    !json_object_object_get_ex(doc, "text", &v)) {
		json_object_put(doc);
		return -1;
	}
	p->text = xstrdup(json_object_get_string(v));
	p->complete = json_object_object_get_ex(doc, "status", &v) &&
	    strcmp(json_object_get_string(v), "COMPLETE") == 0;
	p->at_ms = json_object_object_get_ex(doc, "at", &v) ?
	    json_object_get_int64(v) : 0;
	json_object_put(doc);
	return 0;
}

static void
preview_clear(struct preview *p)
{
	free(p->text);
	memset(p, 0, sizeof(*p));
}

static int
preview_put(struct txn *t, struct repository *repo, const struct preview *p)
{
	struct json_object *doc = json_object_new_object();
	char		 key[NAME_MAX_LEN + sizeof(PREVIEW_KEY)];
	int		 rc;

	json_object_object_add(doc, "text", json_object_new_string(p->text));
	json_object_object_add(doc, "status", json_object_new_string(
	    p->complete ? "COMPLETE" : "IN_PROGRESS"));
	json_object_object_add(doc, "at", json_object_new_int64(p->at_ms));
	json_object_object_add(doc, "created",
	    json_object_new_int64(repo->created_ms));
	preview_key(repo, key, sizeof(key));
	rc = txn_setting_put(t, repo->registry, key,
	    json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	json_object_put(doc);
	return rc;
}

int
ecr_lifecycle_preview_forget(struct txn *t, struct repository *repo)
{
	char	 key[NAME_MAX_LEN + sizeof(PREVIEW_KEY)];

	preview_key(repo, key, sizeof(key));
	if (registry_setting(repo->registry, key) == NULL)
		return 0;
	return txn_setting_delete(t, repo->registry, key);
}

/* --- completing a preview on a later turn of the loop -------------------- */

struct preview_job {
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		 name[NAME_MAX_LEN + 1];
	int64_t		 at_ms;
	struct event	*ev;
};

static void
preview_done_cb(int err, void *arg)
{
	if (err != 0)
		log_warnx("lifecycle preview: %s", berr_message(err));
}

static void
preview_complete_cb(evutil_socket_t fd, short events, void *arg)
{
	struct preview_job *job = arg;
	struct repository *repo;
	struct preview	 p;
	struct txn	 t;

	repo = repository_lookup(job->account, job->region, job->name);
	if (worker_ready() && repo != NULL && preview_get(repo, &p) == 0) {
		if (!p.complete && p.at_ms == job->at_ms) {
			p.complete = 1;
			txn_init(&t);
			(void)preview_put(&t, repo, &p);
			txn_commit(&t, preview_done_cb, NULL);
		}
		preview_clear(&p);
	}
	event_free(job->ev);
	free(job);
}

static void
preview_schedule(const struct repository *repo, int64_t at_ms)
{
	struct preview_job *job = xcalloc(1, sizeof(*job));
	struct timeval	 tv = { 0, 0 };

	snprintf(job->account, sizeof(job->account), "%s",
	    repo->registry->account);
	snprintf(job->region, sizeof(job->region), "%s",
	    repo->registry->region);
	snprintf(job->name, sizeof(job->name), "%s", repo->name);
	job->at_ms = at_ms;
	if ((job->ev = evtimer_new(ev_base, preview_complete_cb, job)) ==
	    NULL)
		fatalx("evtimer_new");
	evtimer_add(job->ev, &tv);
}

/* --- StartLifecyclePolicyPreview ----------------------------------------- */

static struct json_object *
preview_out(struct ecr_req *r, const struct repository *repo,
    const struct preview *p)
{
	struct json_object *out = json_object_new_object();

	ecr_add_str(out, "registryId", r->account);
	ecr_add_str(out, "repositoryName", repo->name);
	ecr_add_str(out, "lifecyclePolicyText", p->text);
	ecr_add_str(out, "status", p->complete ? "COMPLETE" : "IN_PROGRESS");
	return out;
}

void
ecr_lifecycle_preview_start(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*text = ecr_str(r, "lifecyclePolicyText");
	struct repository *repo;
	struct preview	 p, old;
	struct txn	 t;
	char		*msg = NULL;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	if (text == NULL && (repo = ecr_lifecycle_repository(r)) == NULL)
		return;
	if (text == NULL)
		text = repo->config.lifecycle;
	else if (lifecycle_policy_parse(text, strlen(text),
	    "LifecyclePolicyText", NULL, &msg) == -1) {
		ecr_error(r, "InvalidParameterException", "%s", msg);
		free(msg);
		return;
	}
	if (preview_get(repo, &old) == 0) {
		if (!old.complete) {
			preview_clear(&old);
			ecr_error(r, "LifecyclePolicyPreviewInProgressException",
			    "A lifecycle policy preview of the repository with "
			    "name '%s' in the registry with id '%s' is in "
			    "progress: wait for it with "
			    "GetLifecyclePolicyPreview", name, r->account);
			return;
		}
		preview_clear(&old);
	}
	memset(&p, 0, sizeof(p));
	p.text = xstrdup(text);
	p.at_ms = model_now_ms();
	txn_init(&t);
	(void)preview_put(&t, repo, &p);
	preview_schedule(repo, p.at_ms);
	ecr_commit(r, &t, preview_out(r, repo, &p));
	preview_clear(&p);
}

/* --- GetLifecyclePolicyPreview ------------------------------------------- */

static const char *const storage_names[] = { "STANDARD", "ARCHIVE" };

static struct json_object *
preview_result(const struct image *img, const struct lifecycle_verdict *v)
{
	struct json_object *o = json_object_new_object(), *tags, *a;
	char		 ds[DIGEST_STR_MAX];
	size_t		 i;

	tags = json_object_new_array();
	for (i = 0; i < img->ntags; i++)
		json_object_array_add(tags,
		    json_object_new_string(img->tags[i]));
	json_object_object_add(o, "imageTags", tags);
	ecr_add_str(o, "imageDigest", digest_format(&img->digest, ds));
	ecr_add_time(o, "imagePushedAt", img->pushed_ms);
	a = json_object_new_object();
	ecr_add_str(a, "type", v->action == LIFECYCLE_EXPIRE ? "EXPIRE" :
	    "TRANSITION");
	if (v->action == LIFECYCLE_TRANSITION)
		ecr_add_str(a, "targetStorageClass", "ARCHIVE");
	json_object_object_add(o, "action", a);
	if (v->rule_priority > 0)
		json_object_object_add(o, "appliedRulePriority",
		    json_object_new_int(v->rule_priority));
	ecr_add_str(o, "storageClass", storage_names[
	    image_status_now(img) == IMAGE_ACTIVE ? 0 : 1]);
	return o;
}

/* Whether the request's filter and imageIds admit the image. */
static int
preview_admits(struct ecr_req *r, const struct image *img)
{
	struct json_object *f = ecr_member(r, "filter");
	struct json_object *ids = ecr_member(r, "imageIds"), *id, *v;
	const char	*s;
	struct digest	 d;
	size_t		 i, k, n;

	if (f != NULL && json_object_object_get_ex(f, "tagStatus", &v) &&
	    v != NULL) {
		s = json_object_get_string(v);
		if ((strcmp(s, "TAGGED") == 0 && img->ntags == 0) ||
		    (strcmp(s, "UNTAGGED") == 0 && img->ntags > 0))
			return 0;
	}
	if (ids == NULL)
		return 1;
	n = json_object_array_length(ids);
	for (i = 0; i < n; i++) {
		id = json_object_array_get_idx(ids, i);
		if (json_object_object_get_ex(id, "imageDigest", &v) &&
		    v != NULL && digest_parse_str(json_object_get_string(v),
		    &d) == 0 && digest_eq(&d, &img->digest))
			return 1;
		if (json_object_object_get_ex(id, "imageTag", &v) &&
		    v != NULL)
			for (k = 0; k < img->ntags; k++)
				if (strcmp(img->tags[k],
				    json_object_get_string(v)) == 0)
					return 1;
	}
	return 0;
}

void
ecr_lifecycle_preview_get(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*token = ecr_str(r, "nextToken");
	const struct lifecycle_verdict *v;
	struct lifecycle_policy *policy;
	struct json_object *out, *results, *summary, *counts, *c;
	struct repository *repo;
	struct preview	 p;
	struct digest	 after;
	const struct image *img, *last = NULL;
	char		 cursor[DIGEST_STR_MAX], *next, *msg = NULL;
	size_t		 i, n = 0, start = 0, nacted;
	uint64_t	 expiring = 0, transitioning = 0;
	int		 page = ecr_page_size(r);

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	if (preview_get(repo, &p) == -1) {
		ecr_error(r, "LifecyclePolicyPreviewNotFoundException",
		    "There is no lifecycle policy preview for the repository "
		    "with name '%s' in the registry with id '%s'", name,
		    r->account);
		return;
	}
	out = preview_out(r, repo, &p);
	if (!p.complete) {
		/* After a restart nothing is pending: start it again. */
		preview_schedule(repo, p.at_ms);
		preview_clear(&p);
		ecr_respond(r, out);
		return;
	}
	if (token != NULL) {
		if (ecr_token_parse(r, repo->name, token, cursor,
		    sizeof(cursor)) == -1 ||
		    digest_parse_str(cursor, &after) != 0) {
			preview_clear(&p);
			json_object_put(out);
			ecr_bad_token(r);
			return;
		}
		start = sortvec_upper_bound(&repo->images, &after);
	}
	if (lifecycle_policy_parse(p.text, strlen(p.text),
	    "LifecyclePolicyText", &policy, &msg) == -1) {
		log_warnx("lifecycle preview: %s", msg);
		free(msg);
		preview_clear(&p);
		json_object_put(out);
		ecr_fail(r, BERR_IO);
		return;
	}
	v = lifecycle_eval_verdicts(lifecycle_evaluate(repo, policy, p.at_ms,
	    &nacted));
	lifecycle_policy_free(policy);
	preview_clear(&p);
	results = json_object_new_array();
	for (i = 0; i < repo->images.len; i++) {
		img = repo->images.items[i];
		if (v[i].action == LIFECYCLE_KEEP || !preview_admits(r, img))
			continue;
		if (v[i].action == LIFECYCLE_EXPIRE)
			expiring++;
		else
			transitioning++;
		if (i < start)
			continue;
		if (n == (size_t)page) {
			if (last != NULL) {
				next = ecr_token_make(r, repo->name,
				    digest_format(&last->digest, cursor));
				ecr_add_str(out, "nextToken", next);
				free(next);
				last = NULL;
			}
			continue;
		}
		json_object_array_add(results, preview_result(img, &v[i]));
		last = img;
		n++;
	}
	json_object_object_add(out, "previewResults", results);
	summary = json_object_new_object();
	json_object_object_add(summary, "expiringImageTotalCount",
	    json_object_new_int64((int64_t)expiring));
	counts = json_object_new_array();
	if (transitioning > 0) {
		c = json_object_new_object();
		ecr_add_str(c, "targetStorageClass", "ARCHIVE");
		json_object_object_add(c, "imageTotalCount",
		    json_object_new_int64((int64_t)transitioning));
		json_object_array_add(counts, c);
	}
	json_object_object_add(summary, "transitioningImageTotalCounts",
	    counts);
	json_object_object_add(out, "summary", summary);
	ecr_respond(r, out);
}
