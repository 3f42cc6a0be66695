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
 * evaluation is over (a second durable write).  The evaluation, by the
 * same code a real run uses, starts once the start is durable and goes in
 * slices of the event loop as a run's do, so that no request waits long
 * behind a large repository's; its results are kept in memory while the
 * repository does not change.  A change (a push, a deletion) or a restart
 * evaluates the images the repository then has again, the preview
 * answering IN_PROGRESS meanwhile: its results are always what a run at
 * the preview's time would do.  A preview installs nothing.
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

/* --- evaluating a preview in slices ------------------------------------- */

/* An image a preview acts on: its place in the repository (valid while
 * the repository's generation stays) and what happens to it. */
struct preview_hit {
	size_t		 index;
	enum lifecycle_action action;
	int		 rule;
};

enum preview_state {
	PREVIEW_WAITING,		/* for its start to be durable */
	PREVIEW_EVALUATING,
	PREVIEW_DONE
};

/*
 * The evaluation of one repository's preview, done in slices of the loop
 * like a run's, and its results, kept while the repository does not
 * change: a change, or a restart, evaluates again (IN_PROGRESS meanwhile).
 */
struct preview_job {
	struct preview_job *next;
	uint64_t	 id;
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		 name[NAME_MAX_LEN + 1];
	int64_t		 created_ms;	/* of the repository */
	int64_t		 at_ms;		/* of the preview */
	enum preview_state state;
	struct lifecycle_policy *policy;
	struct lifecycle_eval *eval;
	struct lifecycle_pass pass;
	uint64_t	 generation;	/* of the repository evaluated */
	struct preview_hit *hits;
	size_t		 nhits;
	uint64_t	 expiring;
	uint64_t	 transitioning;
	struct event	*ev;
};

static struct preview_job *preview_jobs;
static uint64_t		 preview_job_ids;

static struct preview_job *
preview_job_find(const struct repository *repo)
{
	struct preview_job *job;

	for (job = preview_jobs; job != NULL; job = job->next)
		if (strcmp(job->name, repo->name) == 0 &&
		    strcmp(job->account, repo->registry->account) == 0 &&
		    strcmp(job->region, repo->registry->region) == 0)
			return job;
	return NULL;
}

static void
preview_job_drop(struct preview_job *job)
{
	struct preview_job **pp;

	for (pp = &preview_jobs; *pp != job; pp = &(*pp)->next)
		;
	*pp = job->next;
	lifecycle_pass_clear(&job->pass);
	lifecycle_eval_free(job->eval);
	lifecycle_policy_free(job->policy);
	free(job->hits);
	event_free(job->ev);
	free(job);
}

static void
preview_done_cb(int err, void *arg)
{
	if (err != 0)
		log_warnx("lifecycle preview: %s", berr_message(err));
}

/* (Re)starts the evaluation of the repository as it is now. */
static void
preview_job_evaluate(struct preview_job *job, const struct repository *repo)
{
	struct timeval	 tv = { 0, 0 };

	lifecycle_pass_clear(&job->pass);
	free(job->hits);
	job->hits = NULL;
	job->nhits = 0;
	job->expiring = job->transitioning = 0;
	if (job->eval == NULL)
		job->eval = lifecycle_eval_new();
	lifecycle_pass_start(&job->pass, job->eval, repo, job->policy,
	    job->at_ms);
	job->generation = repo->generation;
	job->state = PREVIEW_EVALUATING;
	evtimer_add(job->ev, &tv);
}

/* The evaluation is over: its verdicts as hits, the status COMPLETE. */
static void
preview_job_finish(struct preview_job *job, struct repository *repo,
    struct preview *p)
{
	const struct lifecycle_verdict *v = lifecycle_eval_verdicts(job->eval);
	size_t		 i, n = lifecycle_eval_acted(job->eval);
	struct txn	 t;

	job->hits = xcalloc(n > 0 ? n : 1, sizeof(*job->hits));
	for (i = 0; i < repo->images.len; i++) {
		if (v[i].action == LIFECYCLE_KEEP)
			continue;
		job->hits[job->nhits].index = i;
		job->hits[job->nhits].action = v[i].action;
		job->hits[job->nhits++].rule = v[i].rule_priority;
		if (v[i].action == LIFECYCLE_EXPIRE)
			job->expiring++;
		else
			job->transitioning++;
	}
	lifecycle_pass_clear(&job->pass);
	lifecycle_eval_free(job->eval);
	job->eval = NULL;
	job->state = PREVIEW_DONE;
	if (!p->complete) {
		p->complete = 1;
		txn_init(&t);
		(void)preview_put(&t, repo, p);
		txn_commit(&t, preview_done_cb, NULL);
	}
}

/* One slice of a preview's evaluation: at most LIFECYCLE_SLICE_US. */
static void
preview_slice_cb(evutil_socket_t fd, short events, void *arg)
{
	struct preview_job *job = arg;
	struct repository *repo;
	struct preview	 p;
	struct timeval	 tv = { 0, 0 };
	int64_t		 start = mono_us();
	int		 done = 0;

	repo = repository_lookup(job->account, job->region, job->name);
	if (!worker_ready() || repo == NULL ||
	    repo->created_ms != job->created_ms ||
	    preview_get(repo, &p) == -1) {
		preview_job_drop(job);
		return;
	}
	if (p.at_ms != job->at_ms) {
		preview_clear(&p);
		preview_job_drop(job);
		return;
	}
	/* A change since the evaluation started: the input is stale. */
	if (repo->generation != job->generation)
		preview_job_evaluate(job, repo);
	while (!done && mono_us() - start < LIFECYCLE_SLICE_US)
		done = lifecycle_pass_step(&job->pass, repo, LIFECYCLE_WORK);
	if (done)
		preview_job_finish(job, repo, &p);
	else
		evtimer_add(job->ev, &tv);
	log_debug("lifecycle preview: %s: slice of %lld us", job->name,
	    (long long)(mono_us() - start));
	preview_clear(&p);
}

/* A job in the list by its id, NULL once dropped. */
static struct preview_job *
preview_job_by_id(uint64_t id)
{
	struct preview_job *job;

	for (job = preview_jobs; job != NULL; job = job->next)
		if (job->id == id)
			return job;
	return NULL;
}

/* The preview's start is durable (blobd acknowledges in order). */
static void
preview_durable_cb(int err, void *arg)
{
	struct preview_job *job = preview_job_by_id((uintptr_t)arg);
	struct repository *repo;

	if (job == NULL || job->state != PREVIEW_WAITING)
		return;
	repo = repository_lookup(job->account, job->region, job->name);
	if (err != 0 || repo == NULL) {
		preview_job_drop(job);
		return;
	}
	preview_job_evaluate(job, repo);
}

/*
 * A new job for the repository's preview p (replacing any other): its
 * evaluation starts at once, or once what was written so far is durable
 * (a preview just started).  NULL if the stored text is refused.
 */
static struct preview_job *
preview_job_new(struct repository *repo, const struct preview *p,
    int after_durable)
{
	struct preview_job *job;
	struct lifecycle_policy *policy;
	struct txn	 t;
	char		*msg = NULL;

	if (lifecycle_policy_parse(p->text, strlen(p->text),
	    "LifecyclePolicyText", &policy, &msg) == -1) {
		/* Accepted once, so refused only by a newer berth. */
		log_warnx("lifecycle preview: %s", msg);
		free(msg);
		return NULL;
	}
	if ((job = preview_job_find(repo)) != NULL)
		preview_job_drop(job);
	job = xcalloc(1, sizeof(*job));
	job->id = ++preview_job_ids;
	snprintf(job->account, sizeof(job->account), "%s",
	    repo->registry->account);
	snprintf(job->region, sizeof(job->region), "%s",
	    repo->registry->region);
	snprintf(job->name, sizeof(job->name), "%s", repo->name);
	job->created_ms = repo->created_ms;
	job->at_ms = p->at_ms;
	job->policy = policy;
	if ((job->ev = evtimer_new(ev_base, preview_slice_cb, job)) == NULL)
		fatalx("evtimer_new");
	job->next = preview_jobs;
	preview_jobs = job;
	if (!after_durable) {
		preview_job_evaluate(job, repo);
		return job;
	}
	job->state = PREVIEW_WAITING;
	txn_init(&t);
	txn_commit(&t, preview_durable_cb, (void *)(uintptr_t)job->id);
	return job;
}

int
ecr_lifecycle_preview_forget(struct txn *t, struct repository *repo)
{
	char	 key[NAME_MAX_LEN + sizeof(PREVIEW_KEY)];

	struct preview_job *job;

	if ((job = preview_job_find(repo)) != NULL)
		preview_job_drop(job);
	preview_key(repo, key, sizeof(key));
	if (registry_setting(repo->registry, key) == NULL)
		return 0;
	return txn_setting_delete(t, repo->registry, key);
}

/* --- StartLifecyclePolicyPreview ----------------------------------------- */

static struct json_object *
preview_out(struct ecr_req *r, const struct repository *repo,
    const struct preview *p, int complete)
{
	struct json_object *out = json_object_new_object();

	ecr_add_str(out, "registryId", r->account);
	ecr_add_str(out, "repositoryName", repo->name);
	ecr_add_str(out, "lifecyclePolicyText", p->text);
	ecr_add_str(out, "status", complete ? "COMPLETE" : "IN_PROGRESS");
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
			/* After a restart nothing evaluates it: start that. */
			if (preview_job_find(repo) == NULL)
				(void)preview_job_new(repo, &old, 0);
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
	ecr_commit(r, &t, preview_out(r, repo, &p, 0));
	(void)preview_job_new(repo, &p, 1);
	preview_clear(&p);
}

/* --- GetLifecyclePolicyPreview ------------------------------------------- */

static const char *const storage_names[] = { "STANDARD", "ARCHIVE" };

static struct json_object *
preview_result(const struct image *img, const struct preview_hit *h)
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
	ecr_add_str(a, "type", h->action == LIFECYCLE_EXPIRE ? "EXPIRE" :
	    "TRANSITION");
	if (h->action == LIFECYCLE_TRANSITION)
		ecr_add_str(a, "targetStorageClass", "ARCHIVE");
	json_object_object_add(o, "action", a);
	if (h->rule > 0)
		json_object_object_add(o, "appliedRulePriority",
		    json_object_new_int(h->rule));
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

/*
 * Whether the job has the results of the preview p over the repository as
 * it is; if not, it starts evaluating (and the preview is IN_PROGRESS).
 */
static int
preview_ready(struct repository *repo, const struct preview *p,
    struct preview_job **jobp)
{
	struct preview_job *job = preview_job_find(repo);

	if (job == NULL || job->at_ms != p->at_ms ||
	    job->created_ms != repo->created_ms) {
		*jobp = preview_job_new(repo, p, 0);
		return 0;
	}
	*jobp = job;
	if (job->state != PREVIEW_DONE)
		return 0;
	if (job->generation != repo->generation) {
		preview_job_evaluate(job, repo);
		return 0;
	}
	return 1;
}

void
ecr_lifecycle_preview_get(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*token = ecr_str(r, "nextToken");
	struct json_object *out, *results, *summary, *counts, *c;
	struct repository *repo;
	struct preview_job *job;
	struct preview	 p;
	struct digest	 after;
	const struct image *img, *last = NULL;
	char		 cursor[DIGEST_STR_MAX], *next;
	size_t		 i, n = 0, start = 0;
	uint64_t	 expiring = 0, transitioning = 0;
	int		 page = ecr_page_size(r), all;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	if (preview_get(repo, &p) == -1) {
		ecr_error(r, "LifecyclePolicyPreviewNotFoundException",
		    "There is no lifecycle policy preview for the repository "
		    "with name '%s' in the registry with id '%s'", name,
		    r->account);
		return;
	}
	if (!preview_ready(repo, &p, &job)) {
		preview_clear(&p);
		if (job == NULL) {
			ecr_fail(r, BERR_IO);
			return;
		}
		ecr_respond(r, preview_out(r, repo, &p, 0));
		return;
	}
	out = preview_out(r, repo, &p, 1);
	preview_clear(&p);
	if (token != NULL) {
		if (ecr_token_parse(r, repo->name, token, cursor,
		    sizeof(cursor)) == -1 ||
		    digest_parse_str(cursor, &after) != 0) {
			json_object_put(out);
			ecr_bad_token(r);
			return;
		}
		start = sortvec_upper_bound(&repo->images, &after);
	}
	/* Without a filter the totals are the job's, and the pages start
	 * where the token says. */
	all = ecr_member(r, "filter") == NULL &&
	    ecr_member(r, "imageIds") == NULL;
	results = json_object_new_array();
	for (i = 0; i < job->nhits; i++) {
		if (all && job->hits[i].index < start)
			continue;
		img = repo->images.items[job->hits[i].index];
		if (!all && !preview_admits(r, img))
			continue;
		if (job->hits[i].action == LIFECYCLE_EXPIRE)
			expiring++;
		else
			transitioning++;
		if (job->hits[i].index < start)
			continue;
		if (n == (size_t)page) {
			if (last != NULL) {
				next = ecr_token_make(r, repo->name,
				    digest_format(&last->digest, cursor));
				ecr_add_str(out, "nextToken", next);
				free(next);
				last = NULL;
			}
			if (all)
				break;
			continue;
		}
		json_object_array_add(results, preview_result(img,
		    &job->hits[i]));
		last = img;
		n++;
	}
	if (all) {
		expiring = job->expiring;
		transitioning = job->transitioning;
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
