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
 * Lifecycle runs: the real expiry and archiving that repositories'
 * lifecycle policies ask for, on a schedule and on demand (POST
 * /_berth/lifecycle/run).  A run takes one repository at a time, at the
 * model's now (the test clock), in slices of at most SLICE_US of the
 * event loop, so that no request waits long behind it: it builds the
 * evaluator's input and evaluates (lifecycle_eval.c) a few thousand
 * images at a time, then acts.  Each slice's actions are one transaction
 * of at most SLICE_ACTIONS expiries (exactly what BatchDeleteImage
 * writes: the image and its tags go, its blobs stay for GC) and archivals
 * (a status record), across as many repositories as the slice reaches,
 * so a run over many small repositories makes one durable commit per
 * slice, not one per repository.
 *
 * Crash safety: every slice is durable before the next starts, and the
 * repository's lastEvaluatedAt (a record of its own) is written with its
 * last slice.  A run cut
 * short by a crash has done exactly what its durable slices say; the next
 * run evaluates again, and since an evaluation depends only on the images
 * that remain and the clock, it finds the rest of the same work and
 * nothing already done: nothing is lost and nothing happens twice.  Should
 * anything else change the repository between slices (a push, a tag, a
 * deletion, a new policy), its generation moves and the run plans again
 * from the start rather than act on a stale verdict, or read tags that
 * are gone.  A pull does not move it: it only makes its own image less
 * idle, and the run judges the repository as it was when its plan
 * started, a pull after that counting as after the run (AWS acts "within
 * 24 hours" too); a repository pulled without pause is thus still
 * evaluated.
 *
 * Runs are queued and done one at a time.  What is reported for each
 * repository: how many images it had, and per rule how many it expired
 * and archived.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "berthd.h"
#include "error.h"
#include "lifecycle.h"
#include "log.h"
#include "util.h"

/* Expiries in one slice leave holes that its end closes, one pass over
 * the repository's arrays (model_batch_end): 512 makes that pass cheap
 * per image; the 5 ms bound still holds the slice. */
#define SLICE_ACTIONS		512
#define SLICE_US		LIFECYCLE_SLICE_US
#define ACT_CHUNK		8	/* actions between clock reads */
#define PLAN_WORK		LIFECYCLE_WORK

/* One repository to evaluate. */
struct lifecycle_job {
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		*name;
};

/* A planned action, by digest: the model may change between slices. */
struct lifecycle_step {
	struct digest	 digest;
	enum lifecycle_action action;
	int		 rule;
};

/* How far the plan of the repository being run is. */
enum lifecycle_plan_state {
	PLAN_NONE,
	PLAN_EVAL,			/* building the input, evaluating */
	PLAN_STEPS,			/* writing the verdicts down as steps */
	PLAN_READY			/* acting on the steps */
};

/* Per rule counts of the repository being run. */
struct lifecycle_count {
	int		 rule;
	uint64_t	 expired;
	uint64_t	 transitioned;
};

struct lifecycle_run {
	struct lifecycle_run *next;	/* the queue */
	lifecycle_run_cb cb;
	void		*arg;
	struct lifecycle_job *jobs;
	size_t		 njobs;
	size_t		 job;		/* the one being run */
	/* Its plan and how far it went. */
	enum lifecycle_plan_state plan;
	/* The last policy parsed and its text: repositories made from one
	 * template share theirs, and a parse costs more than evaluating a
	 * small repository. */
	struct lifecycle_policy *policy;
	char		*policy_text;
	struct lifecycle_pass pass;
	struct lifecycle_step *steps;
	size_t		 nsteps;
	size_t		 step;
	uint64_t	 generation;
	int64_t		 now_ms;
	size_t		 nimages;
	struct lifecycle_count *counts;
	size_t		 ncounts;
	struct json_object *report;	/* per repository */
	uint64_t	 expired;
	uint64_t	 transitioned;
	uint64_t	 commits;
	uint64_t	 slices;
	int64_t		 longest_us;	/* the longest slice */
	int64_t		 longest_cpu_us; /* the most CPU one took */
};

static struct lifecycle_run *lifecycle_queue;
static struct lifecycle_run *lifecycle_tail;
static struct event	*lifecycle_ev;
static struct lifecycle_eval *lifecycle_run_evaluator;
static struct lifecycle_stats lifecycle_totals;

static void	lifecycle_slice_cb(evutil_socket_t, short, void *);

/* The CPU time of berthd's loop, in µs: what a slice cost, however long
 * a busy machine kept it off the CPU. */
static int64_t
lifecycle_cpu_us(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
lifecycle_schedule_slice(void)
{
	struct timeval	 tv = { 0, 0 };

	if (lifecycle_ev == NULL &&
	    (lifecycle_ev = evtimer_new(ev_base, lifecycle_slice_cb,
	    NULL)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(lifecycle_ev, &tv);
}

/* --- a repository's images as the evaluator sees them -------------------- */

static enum lifecycle_storage
lifecycle_storage_of(const struct image *img)
{
	switch (image_status_now(img)) {
	case IMAGE_ARCHIVED:
		return LIFECYCLE_ARCHIVE;
	case IMAGE_ACTIVATING:
		return LIFECYCLE_ACTIVATING;
	case IMAGE_ACTIVE:
	default:
		return LIFECYCLE_STANDARD;
	}
}

/* The index of the image d names in repo, or -1. */
static int64_t
lifecycle_image_index(const struct repository *repo, const struct digest *d)
{
	size_t	 i = sortvec_lower_bound(&repo->images, d);

	if (i < repo->images.len &&
	    digest_eq(&((const struct image *)repo->images.items[i])->digest,
	    d))
		return (int64_t)i;
	return -1;
}

static void
lifecycle_input_start(struct lifecycle_input *in,
    const struct repository *repo)
{
	memset(in, 0, sizeof(*in));
	in->n = repo->images.len;
	in->images = xcalloc(in->n, sizeof(*in->images));
}

static void
lifecycle_input_fill(struct lifecycle_input *in,
    const struct repository *repo, size_t i)
{
	const struct image *img = repo->images.items[i];
	struct lifecycle_image *li = &in->images[i];
	size_t		 k;
	int64_t		 j;

	li->tags = (const char *const *)img->tags;
	li->ntags = img->ntags;
	li->pushed_ms = img->pushed_ms;
	li->pulled_ms = img->pulled_ms;
	li->archived_ms = img->archived_ms;
	li->activated_ms = img->activated_ms <= model_now_ms() ?
	    img->activated_ms : 0;
	li->storage = lifecycle_storage_of(img);
	li->children = &in->children[in->c];
	for (k = 0; k < img->nrefs; k++) {
		if (img->refs[k].kind != REF_MANIFEST ||
		    (j = lifecycle_image_index(repo, &img->refs[k].digest)) < 0)
			continue;
		in->children[in->c++] = (uint32_t)j;
		li->nchildren++;
	}
	li->subject = LIFECYCLE_NO_SUBJECT;
	if (img->has_subject) {
		j = lifecycle_image_index(repo, &img->subject);
		li->subject = j >= 0 ? j : LIFECYCLE_SUBJECT_GONE;
	}
}

/* Builds up to work images more of in; 1 once it is whole.  The
 * repository must not have changed since lifecycle_input_start. */
static int
lifecycle_input_step(struct lifecycle_input *in,
    const struct repository *repo, size_t work)
{
	const struct image *img;
	size_t		 k;

	for (; !in->counted && work > 0 && in->pos < in->n; in->pos++, work--) {
		img = repo->images.items[in->pos];
		for (k = 0; k < img->nrefs; k++)
			in->nchildren += img->refs[k].kind == REF_MANIFEST;
	}
	if (!in->counted) {
		if (in->pos < in->n)
			return 0;
		in->children = xcalloc(in->nchildren, sizeof(*in->children));
		in->counted = 1;
		in->pos = 0;
	}
	for (; work > 0 && in->pos < in->n; in->pos++, work--)
		lifecycle_input_fill(in, repo, in->pos);
	return in->pos == in->n;
}

static void
lifecycle_input_clear(struct lifecycle_input *in)
{
	free(in->images);
	free(in->children);
	memset(in, 0, sizeof(*in));
}

void
lifecycle_pass_start(struct lifecycle_pass *pass, struct lifecycle_eval *ev,
    const struct repository *repo, const struct lifecycle_policy *policy,
    int64_t now_ms)
{
	memset(pass, 0, sizeof(*pass));
	pass->eval = ev;
	pass->policy = policy;
	pass->now_ms = now_ms;
	lifecycle_input_start(&pass->in, repo);
}

int
lifecycle_pass_step(struct lifecycle_pass *pass,
    const struct repository *repo, size_t work)
{
	if (!pass->evaluating) {
		if (lifecycle_input_step(&pass->in, repo, work)) {
			lifecycle_eval_start(pass->eval, pass->policy,
			    pass->in.images, pass->in.n, pass->now_ms);
			pass->evaluating = 1;
		}
		return 0;
	}
	return lifecycle_eval_step(pass->eval, work);
}

void
lifecycle_pass_clear(struct lifecycle_pass *pass)
{
	lifecycle_input_clear(&pass->in);
	pass->evaluating = 0;
}

/* --- a run --------------------------------------------------------------- */

/* Drops the plan: the repository is evaluated again from the start. */
static void
lifecycle_plan_reset(struct lifecycle_run *run)
{
	lifecycle_pass_clear(&run->pass);
	free(run->steps);
	run->steps = NULL;
	run->nsteps = run->step = 0;
	run->plan = PLAN_NONE;
}

static void
lifecycle_run_free(struct lifecycle_run *run)
{
	size_t	 i;

	for (i = 0; i < run->njobs; i++)
		free(run->jobs[i].name);
	free(run->jobs);
	lifecycle_plan_reset(run);
	lifecycle_policy_free(run->policy);
	free(run->policy_text);
	free(run->counts);
	json_object_put(run->report);
	free(run);
}

/* Ends the run at the head of the queue and starts the next. */
static void
lifecycle_run_end(int err)
{
	struct lifecycle_run *run = lifecycle_queue;
	struct json_object *out = NULL;

	lifecycle_queue = run->next;
	if (lifecycle_queue == NULL)
		lifecycle_tail = NULL;
	else
		lifecycle_schedule_slice();
	if (err == 0) {
		out = json_object_new_object();
		json_object_object_add(out, "repositories", run->report);
		run->report = NULL;
		json_object_object_add(out, "expired",
		    json_object_new_int64((int64_t)run->expired));
		json_object_object_add(out, "transitioned",
		    json_object_new_int64((int64_t)run->transitioned));
		json_object_object_add(out, "commits",
		    json_object_new_int64((int64_t)run->commits));
		json_object_object_add(out, "slices",
		    json_object_new_int64((int64_t)run->slices));
		json_object_object_add(out, "longest_slice_us",
		    json_object_new_int64(run->longest_us));
		json_object_object_add(out, "longest_slice_cpu_us",
		    json_object_new_int64(run->longest_cpu_us));
	}
	lifecycle_totals.runs++;
	if (run->cb != NULL)
		run->cb(err, out, run->arg);
	else
		json_object_put(out);
	lifecycle_run_free(run);
}

static struct lifecycle_count *
lifecycle_count_of(struct lifecycle_run *run, int rule)
{
	size_t	 i;

	for (i = 0; i < run->ncounts; i++)
		if (run->counts[i].rule == rule)
			return &run->counts[i];
	run->counts = xreallocarray(run->counts, run->ncounts + 1,
	    sizeof(*run->counts));
	memset(&run->counts[run->ncounts], 0, sizeof(*run->counts));
	run->counts[run->ncounts].rule = rule;
	return &run->counts[run->ncounts++];
}

static int
lifecycle_count_cmp(const void *a, const void *b)
{
	const struct lifecycle_count *x = a, *y = b;

	return (x->rule > y->rule) - (x->rule < y->rule);
}

/* Adds the repository just finished to the report; the next job. */
static void
lifecycle_job_done(struct lifecycle_run *run, int evaluated)
{
	struct lifecycle_job *job = &run->jobs[run->job];
	struct json_object *o, *rules, *c;
	uint64_t	 expired = 0, transitioned = 0;
	size_t		 i;

	if (evaluated) {
		if (run->ncounts > 1)
			qsort(run->counts, run->ncounts,
			    sizeof(*run->counts), lifecycle_count_cmp);
		o = json_object_new_object();
		json_object_object_add(o, "account",
		    json_object_new_string(job->account));
		json_object_object_add(o, "region",
		    json_object_new_string(job->region));
		json_object_object_add(o, "repository",
		    json_object_new_string(job->name));
		json_object_object_add(o, "images",
		    json_object_new_int64((int64_t)run->nimages));
		rules = json_object_new_array();
		for (i = 0; i < run->ncounts; i++) {
			c = json_object_new_object();
			json_object_object_add(c, "rulePriority",
			    json_object_new_int(run->counts[i].rule));
			json_object_object_add(c, "expired",
			    json_object_new_int64(
			    (int64_t)run->counts[i].expired));
			json_object_object_add(c, "transitioned",
			    json_object_new_int64(
			    (int64_t)run->counts[i].transitioned));
			json_object_array_add(rules, c);
			expired += run->counts[i].expired;
			transitioned += run->counts[i].transitioned;
		}
		json_object_object_add(o, "expired",
		    json_object_new_int64((int64_t)expired));
		json_object_object_add(o, "transitioned",
		    json_object_new_int64((int64_t)transitioned));
		json_object_object_add(o, "rules", rules);
		json_object_array_add(run->report, o);
		run->expired += expired;
		run->transitioned += transitioned;
		lifecycle_totals.repositories++;
		lifecycle_totals.expired += expired;
		lifecycle_totals.transitioned += transitioned;
	}
	lifecycle_plan_reset(run);
	free(run->counts);
	run->counts = NULL;
	run->ncounts = 0;
	run->job++;
}

/*
 * Starts planning the job's repository: its policy, the time the run
 * judges it at.  0, or -1 when there is nothing to do (no policy any
 * more).
 */
static int
lifecycle_plan_start(struct lifecycle_run *run, struct repository *repo)
{
	const char *text = repo->config.lifecycle;
	char	*msg = NULL;

	if (text == NULL)
		return -1;
	if (run->policy_text == NULL || strcmp(run->policy_text, text) != 0) {
		lifecycle_policy_free(run->policy);
		free(run->policy_text);
		run->policy = NULL;
		run->policy_text = NULL;
		if (lifecycle_policy_parse(text, strlen(text),
		    "lifecyclePolicyText", &run->policy, &msg) == -1) {
			/* Accepted once, so refused only by a newer berth. */
			log_warnx("lifecycle: %s: stored policy refused: %s",
			    repo->name, msg);
			free(msg);
			return -1;
		}
		run->policy_text = xstrdup(text);
	}
	run->now_ms = model_now_ms();
	if (lifecycle_run_evaluator == NULL)
		lifecycle_run_evaluator = lifecycle_eval_new();
	lifecycle_pass_start(&run->pass, lifecycle_run_evaluator, repo,
	    run->policy, run->now_ms);
	run->generation = repo->generation;
	run->plan = PLAN_EVAL;
	return 0;
}

/*
 * Goes on with the plan for about PLAN_WORK images: the pass (input and
 * evaluation), then the steps, in the evaluator's safe order (run->step
 * counts those written until the plan is ready).  The repository has not
 * changed since the plan started.
 */
static void
lifecycle_plan_step(struct lifecycle_run *run, struct repository *repo)
{
	const struct lifecycle_verdict *v;
	const uint32_t	*order;
	const struct image *img;
	size_t		 i, n;

	if (run->plan == PLAN_EVAL) {
		if (!lifecycle_pass_step(&run->pass, repo, PLAN_WORK))
			return;
		run->nsteps = lifecycle_eval_acted(lifecycle_run_evaluator);
		run->steps = xcalloc(run->nsteps, sizeof(*run->steps));
		run->step = 0;
		run->plan = PLAN_STEPS;
	}
	v = lifecycle_eval_verdicts(lifecycle_run_evaluator);
	order = lifecycle_eval_order(lifecycle_run_evaluator);
	n = run->nsteps - run->step < PLAN_WORK ? run->nsteps - run->step :
	    PLAN_WORK;
	for (i = run->step; i < run->step + n; i++) {
		img = repo->images.items[order[i]];
		run->steps[i].digest = img->digest;
		run->steps[i].action = v[order[i]].action;
		run->steps[i].rule = v[order[i]].rule_priority;
	}
	if ((run->step += n) < run->nsteps)
		return;
	run->step = 0;
	run->nimages = repo->images.len;
	lifecycle_pass_clear(&run->pass);
	run->plan = PLAN_READY;
	lifecycle_totals.images += repo->images.len;
}

/*
 * Adds up to max actions of the plan to t; with the plan's end, the
 * repository's lastEvaluatedAt, and the job is done.  Returns how many
 * actions it added.
 */
static size_t
lifecycle_act(struct lifecycle_run *run, struct repository *repo,
    struct txn *t, size_t max)
{
	struct lifecycle_step *s;
	struct lifecycle_count *c;
	struct image	*img;
	size_t		 n;
	int		 rc;

	for (n = 0; n < max && run->step < run->nsteps; run->step++) {
		s = &run->steps[run->step];
		if ((img = image_find(repo, &s->digest)) == NULL)
			continue;
		c = lifecycle_count_of(run, s->rule);
		if (s->action == LIFECYCLE_EXPIRE) {
			rc = txn_image_delete(t, img);
			c->expired++;
		} else {
			rc = txn_image_status(t, img, IMAGE_ARCHIVED,
			    run->now_ms, img->activated_ms);
			c->transitioned++;
		}
		if (rc != 0)
			fatalx("lifecycle: an action does not apply: %s",
			    berr_message(rc));
		n++;
	}
	/* Our own changes: the plan still holds. */
	run->generation = repo->generation;
	if (run->step < run->nsteps)
		return n;
	if ((rc = txn_repo_evaluated(t, repo, run->now_ms)) != 0)
		fatalx("lifecycle: the evaluation time does not apply: %s",
		    berr_message(rc));
	lifecycle_job_done(run, 1);
	return n;
}

static void
lifecycle_slice_done_cb(int err, void *arg)
{
	struct lifecycle_run *run = arg;

	if (err != 0) {
		log_warnx("lifecycle: %s", berr_message(err));
		lifecycle_run_end(err);
	} else if (run->job == run->njobs)
		lifecycle_run_end(0);
	else
		lifecycle_schedule_slice();
}

/*
 * One slice of the run at the head of the queue: repositories evaluated
 * and acted on for at most SLICE_US or SLICE_ACTIONS, as one transaction
 * (a repository of many images takes several slices).
 */
static void
lifecycle_slice_cb(evutil_socket_t fd, short events, void *arg)
{
	struct lifecycle_run *run = lifecycle_queue;
	struct lifecycle_job *job;
	struct repository *repo;
	struct txn	 t;
	int64_t		 start = mono_us(), took, cpu = lifecycle_cpu_us();
	size_t		 n = 0;
	int		 committed = 0;

	if (run == NULL)
		return;
	if (!worker_ready()) {
		lifecycle_run_end(BERR_UNAVAILABLE);
		return;
	}
	txn_init(&t);
	while (run->job < run->njobs && n < SLICE_ACTIONS &&
	    mono_us() - start < SLICE_US) {
		job = &run->jobs[run->job];
		repo = repository_lookup(job->account, job->region, job->name);
		if (repo == NULL) {
			lifecycle_job_done(run, 0);
			continue;
		}
		/* Planning reads the arrays directly: no holes then. */
		if (run->plan != PLAN_READY ||
		    repo->generation != run->generation)
			model_batch_end();
		/* A change since the plan started: it may be stale, and
		 * the input's tags may be gone. */
		if (run->plan != PLAN_NONE &&
		    repo->generation != run->generation)
			lifecycle_plan_reset(run);
		if (run->plan == PLAN_NONE &&
		    lifecycle_plan_start(run, repo) == -1) {
			lifecycle_job_done(run, 0);
			continue;
		}
		if (run->plan != PLAN_READY)
			lifecycle_plan_step(run, repo);
		else {
			model_batch_begin();
			n += lifecycle_act(run, repo, &t,
			    SLICE_ACTIONS - n < ACT_CHUNK ?
			    SLICE_ACTIONS - n : ACT_CHUNK);
		}
	}
	model_batch_end();
	if (t.nrecords > 0) {
		run->commits++;
		committed = 1;
		txn_commit(&t, lifecycle_slice_done_cb, run);
	} else
		txn_clear(&t);
	/* What a request may have waited behind this slice. */
	took = mono_us() - start;
	cpu = lifecycle_cpu_us() - cpu;
	run->slices++;
	if (took > run->longest_us)
		run->longest_us = took;
	if (cpu > run->longest_cpu_us)
		run->longest_cpu_us = cpu;
	log_debug("lifecycle: slice %llu: %lld us (CPU %lld us), %zu actions",
	    (unsigned long long)run->slices, (long long)took, (long long)cpu,
	    n);
	if (!committed)
		lifecycle_slice_done_cb(0, run);
}

int
lifecycle_run_start(const char *account, const char *region,
    const char *repository, lifecycle_run_cb cb, void *arg)
{
	struct lifecycle_run *run;
	struct lifecycle_job *job;
	size_t		 i, k;

	if (!worker_ready())
		return BERR_UNAVAILABLE;
	run = xcalloc(1, sizeof(*run));
	run->cb = cb;
	run->arg = arg;
	run->report = json_object_new_array();
	for (i = 0; i < model->registries.len; i++) {
		struct registry *reg = model->registries.items[i];
		if ((account != NULL && strcmp(reg->account, account) != 0) ||
		    (region != NULL && strcmp(reg->region, region) != 0))
			continue;
		for (k = 0; k < reg->repositories.len; k++) {
			struct repository *repo = reg->repositories.items[k];
			if (repo->config.lifecycle == NULL ||
			    (repository != NULL &&
			    strcmp(repo->name, repository) != 0))
				continue;
			run->jobs = xreallocarray(run->jobs, run->njobs + 1,
			    sizeof(*run->jobs));
			job = &run->jobs[run->njobs++];
			snprintf(job->account, sizeof(job->account), "%s",
			    reg->account);
			snprintf(job->region, sizeof(job->region), "%s",
			    reg->region);
			job->name = xstrdup(repo->name);
		}
	}
	if (lifecycle_tail != NULL)
		lifecycle_tail->next = run;
	else {
		lifecycle_queue = run;
		lifecycle_schedule_slice();
	}
	lifecycle_tail = run;
	return 0;
}

const struct lifecycle_stats *
lifecycle_stats(void)
{
	return &lifecycle_totals;
}

static int	 lifecycle_scheduled_pending;
static struct event	*lifecycle_timer;

static void
lifecycle_scheduled_done_cb(int err, struct json_object *report, void *arg)
{
	lifecycle_scheduled_pending = 0;
	if (err != 0)
		log_warnx("scheduled lifecycle run: %s", berr_message(err));
	else
		log_info("scheduled lifecycle run: %lld expired, %lld archived",
		    (long long)json_object_get_int64(json_object_object_get(
		    report, "expired")),
		    (long long)json_object_get_int64(json_object_object_get(
		    report, "transitioned")));
	json_object_put(report);
}

static void
lifecycle_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	/* One scheduled run at a time: a slow one is not queued twice. */
	if (lifecycle_scheduled_pending)
		return;
	if (lifecycle_run_start(NULL, NULL, NULL, lifecycle_scheduled_done_cb,
	    NULL) == 0)
		lifecycle_scheduled_pending = 1;
}

void
lifecycle_schedule(int64_t interval)
{
	struct timeval	 tv = { (time_t)interval, 0 };

	/* Once; the timer stays for the process's life (kept here, not
	 * leaked). */
	if (interval <= 0 || lifecycle_timer != NULL)
		return;
	if ((lifecycle_timer = event_new(ev_base, -1, EV_PERSIST,
	    lifecycle_timer_cb, NULL)) == NULL)
		fatalx("event_new");
	evtimer_add(lifecycle_timer, &tv);
}
