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
 * The lifecycle policy evaluator, as LifecyclePolicies.html ("Lifecycle
 * policy evaluation rules") describes it: all rules are evaluated at once,
 * each marking the images it would act on as if no other rule existed,
 * then applied by priority, an image being acted on by at most one rule.
 * Since "an image that matches the tagging requirements of a rule cannot
 * be expired or archived by a rule with a lower priority", the rule that
 * governs an image is the first (by priority) whose selection it matches;
 * the image is acted on if and only if that rule marked it.  Lower rules
 * still count it ("can still identify them as if they haven't been
 * expired or archived"), which is what imageCountMoreThan needs.  The
 * worked examples of lifecycle_policy_examples.html come out as the page
 * says (tests/unit/test_lifecycle_eval.c works each of them).
 *
 * Then the images that are not plain images: one listed by a manifest
 * list (index) is acted on only when every index listing it goes first
 * ("If an image is referenced by a manifest list, it cannot be expired or
 * archived without the manifest list being deleted or archived first");
 * a referrer follows its subject ("lifecycle policies automatically expire
 * or archive those artifacts within 24 hours of the deletion or archival
 * of the subject image"), so no rule selects it on its own.  Both are
 * resolved in one pass over the images in topological order.
 *
 * The cost is a pass over the images per rule for the tag selection, one
 * sort by push time when a rule counts images, and a pass over the graph
 * when the repository has indexes or referrers.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "log.h"
#include "util.h"

struct push_key {
	int64_t		 time;
	uint32_t	 image;
};

struct order_key {
	uint32_t	 depth;		/* acted indexes above it */
	uint32_t	 referrers;	/* subjects it follows, transitively */
	int64_t		 time;
	uint32_t	 image;
};

struct lifecycle_eval {
	size_t		 cap;
	uint64_t	*mask;		/* rules selecting each image */
	int8_t		*rule;		/* the rule acting on it, or -1 */
	struct lifecycle_verdict *verdicts;
	struct push_key	*by_push;
	uint32_t	*order;
	size_t		 norder;
	struct order_key *keys;
	/* The graph: index -> listed image, subject -> referrer. */
	uint32_t	*out_start;	/* cap + 1 */
	uint32_t	*parent_start;	/* cap + 1 */
	uint32_t	*indegree;
	uint32_t	*queue;
	uint32_t	*depth;
	uint32_t	*referrers;
	uint32_t	*out;
	uint32_t	*parents;
	size_t		 edge_cap;
};

struct lifecycle_eval *
lifecycle_eval_new(void)
{
	return xcalloc(1, sizeof(struct lifecycle_eval));
}

void
lifecycle_eval_free(struct lifecycle_eval *ev)
{
	if (ev == NULL)
		return;
	free(ev->mask);
	free(ev->rule);
	free(ev->verdicts);
	free(ev->by_push);
	free(ev->order);
	free(ev->keys);
	free(ev->out_start);
	free(ev->parent_start);
	free(ev->indegree);
	free(ev->queue);
	free(ev->depth);
	free(ev->referrers);
	free(ev->out);
	free(ev->parents);
	free(ev);
}

const struct lifecycle_verdict *
lifecycle_eval_verdicts(const struct lifecycle_eval *ev)
{
	return ev->verdicts;
}

const uint32_t *
lifecycle_eval_order(const struct lifecycle_eval *ev)
{
	return ev->order;
}

static void
grow(struct lifecycle_eval *ev, size_t n)
{
	if (n <= ev->cap)
		return;
	if (n >= UINT32_MAX)
		fatalx("lifecycle: %zu images in one evaluation", n);
	ev->mask = xreallocarray(ev->mask, n, sizeof(*ev->mask));
	ev->rule = xreallocarray(ev->rule, n, sizeof(*ev->rule));
	ev->verdicts = xreallocarray(ev->verdicts, n, sizeof(*ev->verdicts));
	ev->by_push = xreallocarray(ev->by_push, n, sizeof(*ev->by_push));
	ev->order = xreallocarray(ev->order, n, sizeof(*ev->order));
	ev->keys = xreallocarray(ev->keys, n, sizeof(*ev->keys));
	ev->out_start = xreallocarray(ev->out_start, n + 1,
	    sizeof(*ev->out_start));
	ev->parent_start = xreallocarray(ev->parent_start, n + 1,
	    sizeof(*ev->parent_start));
	ev->indegree = xreallocarray(ev->indegree, n, sizeof(*ev->indegree));
	ev->queue = xreallocarray(ev->queue, n, sizeof(*ev->queue));
	ev->depth = xreallocarray(ev->depth, n, sizeof(*ev->depth));
	ev->referrers = xreallocarray(ev->referrers, n,
	    sizeof(*ev->referrers));
	ev->cap = n;
}

/*
 * The push time lifecycle rules see: "If an image was archived and then
 * restored at any point in the past, the image's last_activated_at is
 * used instead of pushed_at_time" (LifecyclePolicies.html).
 */
static int64_t
pushed_time(const struct lifecycle_image *im)
{
	return im->activated_ms > 0 ? im->activated_ms : im->pushed_ms;
}

/*
 * sinceImagePulled: the last recorded pull, else the push time, but the
 * restore time for an image restored and not pulled since
 * (LifecyclePolicies.html): the latest of the three.
 */
static int64_t
pulled_time(const struct lifecycle_image *im)
{
	int64_t	 t = im->pushed_ms;

	if (im->pulled_ms > t)
		t = im->pulled_ms;
	if (im->activated_ms > t)
		t = im->activated_ms;
	return t;
}

static int64_t
rule_time(const struct lifecycle_rule *r, const struct lifecycle_image *im)
{
	switch (r->count_type) {
	case LIFECYCLE_SINCE_IMAGE_PULLED:
		return pulled_time(im);
	case LIFECYCLE_SINCE_IMAGE_TRANSITIONED:
		return im->archived_ms;
	case LIFECYCLE_IMAGE_COUNT_MORE_THAN:
	case LIFECYCLE_SINCE_IMAGE_PUSHED:
		break;
	}
	return pushed_time(im);
}

/* "all images whose pushed_at_time is older than the specified number of
 * days": strictly older than countNumber days before now. */
static int
rule_aged(const struct lifecycle_rule *r, const struct lifecycle_image *im,
    int64_t now)
{
	int64_t	 limit;

	if (r->count_type == LIFECYCLE_SINCE_IMAGE_TRANSITIONED &&
	    im->archived_ms == 0)
		return 0;
	if (__builtin_sub_overflow(now, r->count_number * LIFECYCLE_DAY_MS,
	    &limit))
		return 0;
	return rule_time(r, im) < limit;
}

/* The rules whose storage class and tags select the image, as bits by
 * priority.  An image being restored is in neither class. */
static uint64_t
rules_selecting(const struct lifecycle_policy *pol,
    const struct lifecycle_image *im)
{
	const struct lifecycle_rule *r;
	uint64_t	 m = 0;
	size_t		 i;

	if (im->storage == LIFECYCLE_ACTIVATING)
		return 0;
	for (i = 0; i < pol->nrules; i++) {
		r = &pol->rules[i];
		if (r->storage_class == im->storage &&
		    lifecycle_rule_selects_tags(r, im->tags, im->ntags))
			m |= 1ULL << i;
	}
	return m;
}

static void
act(struct lifecycle_eval *ev, uint32_t x, const struct lifecycle_policy *pol,
    int rule)
{
	ev->rule[x] = (int8_t)rule;
	ev->verdicts[x].action = pol->rules[rule].action;
	ev->verdicts[x].rule_priority = pol->rules[rule].priority;
}

static int
push_cmp(const void *a, const void *b)
{
	const struct push_key *ka = a, *kb = b;

	if (ka->time != kb->time)
		return ka->time > kb->time ? -1 : 1;
	return ka->image < kb->image ? -1 : ka->image > kb->image;
}

/*
 * imageCountMoreThan: "images are sorted from youngest to oldest based on
 * pushed_at_time and then all images greater than the specified count
 * are expired or archived" -- counting every image the rule selects.
 */
static void
apply_counts(struct lifecycle_eval *ev, const struct lifecycle_policy *pol,
    const struct lifecycle_image *images, size_t n, uint64_t count_rules)
{
	uint32_t	 seen[LIFECYCLE_RULES_MAX];
	uint64_t	 m;
	size_t		 i, k = 0;
	uint32_t	 x;
	int		 b, governing;

	for (i = 0; i < n; i++)
		if (ev->mask[i] & count_rules) {
			ev->by_push[k].time = pushed_time(&images[i]);
			ev->by_push[k++].image = (uint32_t)i;
		}
	qsort(ev->by_push, k, sizeof(*ev->by_push), push_cmp);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < k; i++) {
		x = ev->by_push[i].image;
		governing = __builtin_ctzll(ev->mask[x]);
		for (m = ev->mask[x] & count_rules; m != 0; m &= m - 1) {
			b = __builtin_ctzll(m);
			if (++seen[b] > (uint32_t)pol->rules[b].count_number &&
			    b == governing)
				act(ev, x, pol, b);
		}
	}
}

/* Whether every index listing x lets it go: an index expired first, or
 * for an archival also one archived (already or now). */
static int
parents_allow(const struct lifecycle_eval *ev,
    const struct lifecycle_image *images, uint32_t x,
    enum lifecycle_action action)
{
	enum lifecycle_action pa;
	uint32_t	 i, p;

	for (i = ev->parent_start[x]; i < ev->parent_start[x + 1]; i++) {
		p = ev->parents[i];
		pa = ev->verdicts[p].action;
		if (pa == LIFECYCLE_EXPIRE)
			continue;
		if (action == LIFECYCLE_TRANSITION &&
		    (pa == LIFECYCLE_TRANSITION ||
		    images[p].storage == LIFECYCLE_ARCHIVE))
			continue;
		return 0;
	}
	return 1;
}

/* A referrer does what its subject undergoes, now or already. */
static void
follow_subject(struct lifecycle_eval *ev,
    const struct lifecycle_image *images, size_t n, uint32_t x)
{
	const struct lifecycle_image *im = &images[x];
	struct lifecycle_verdict *v = &ev->verdicts[x], *sv;
	int64_t		 s = im->subject;

	if (s < 0 || (size_t)s >= n) {
		v->action = LIFECYCLE_EXPIRE;	/* the subject is gone */
		v->via_subject = 1;
		return;
	}
	sv = &ev->verdicts[s];
	if (sv->action == LIFECYCLE_EXPIRE ||
	    (im->storage == LIFECYCLE_STANDARD &&
	    (sv->action == LIFECYCLE_TRANSITION ||
	    (sv->action == LIFECYCLE_KEEP &&
	    images[s].storage == LIFECYCLE_ARCHIVE)))) {
		v->action = sv->action == LIFECYCLE_EXPIRE ? LIFECYCLE_EXPIRE :
		    LIFECYCLE_TRANSITION;
		v->rule_priority = sv->rule_priority;
		v->via_subject = 1;
		ev->referrers[x] = ev->referrers[s] + 1;
	}
}

static void
add_edge(struct lifecycle_eval *ev, uint32_t from, uint32_t to)
{
	ev->out[ev->out_start[from]++] = to;
	ev->parents[ev->parent_start[to]++] = from;
}

/* Edges, as two adjacency arrays; parent lists keep index edges only. */
static void
build_graph(struct lifecycle_eval *ev, const struct lifecycle_image *images,
    size_t n)
{
	const struct lifecycle_image *im;
	size_t		 i, j, nedges = 0;
	uint32_t	 c, sum_out = 0, sum_par = 0, t;

	memset(ev->out_start, 0, (n + 1) * sizeof(*ev->out_start));
	memset(ev->parent_start, 0, (n + 1) * sizeof(*ev->parent_start));
	memset(ev->indegree, 0, n * sizeof(*ev->indegree));
	for (i = 0; i < n; i++) {
		im = &images[i];
		for (j = 0; j < im->nchildren; j++)
			if ((c = im->children[j]) < n) {
				ev->out_start[i]++;
				ev->parent_start[c]++;
				ev->indegree[c]++;
				nedges++;
			}
		if (im->subject >= 0 && (size_t)im->subject < n) {
			ev->out_start[im->subject]++;
			ev->indegree[i]++;
			nedges++;
		}
	}
	if (nedges > ev->edge_cap) {
		ev->out = xreallocarray(ev->out, nedges, sizeof(*ev->out));
		ev->parents = xreallocarray(ev->parents, nedges,
		    sizeof(*ev->parents));
		ev->edge_cap = nedges;
	}
	/* Starts as running sums; add_edge advances each to its end, and
	 * the shift below turns ends back into starts. */
	for (i = 0; i <= n; i++) {
		t = ev->out_start[i];
		ev->out_start[i] = sum_out;
		sum_out += t;
		t = ev->parent_start[i];
		ev->parent_start[i] = sum_par;
		sum_par += t;
	}
	for (i = 0; i < n; i++) {
		im = &images[i];
		for (j = 0; j < im->nchildren; j++)
			if ((c = im->children[j]) < n)
				add_edge(ev, (uint32_t)i, c);
		if (im->subject >= 0 && (size_t)im->subject < n)
			ev->out[ev->out_start[im->subject]++] = (uint32_t)i;
	}
	memmove(ev->out_start + 1, ev->out_start, n * sizeof(*ev->out_start));
	memmove(ev->parent_start + 1, ev->parent_start,
	    n * sizeof(*ev->parent_start));
	ev->out_start[0] = ev->parent_start[0] = 0;
}

/*
 * Indexes and referrers, in topological order (Kahn): every image is
 * decided after the indexes listing it and the subject it follows.  An
 * image in a cycle (impossible with real digests) is kept.
 */
static void
resolve_graph(struct lifecycle_eval *ev, const struct lifecycle_image *images,
    size_t n)
{
	struct lifecycle_verdict *v;
	size_t		 head = 0, tail = 0, i;
	uint32_t	 x, e, c, p;

	build_graph(ev, images, n);
	for (i = 0; i < n; i++)
		if (ev->indegree[i] == 0)
			ev->queue[tail++] = (uint32_t)i;
	while (head < tail) {
		x = ev->queue[head++];
		v = &ev->verdicts[x];
		if (images[x].subject != LIFECYCLE_NO_SUBJECT)
			follow_subject(ev, images, n, x);
		if (v->action != LIFECYCLE_KEEP &&
		    !parents_allow(ev, images, x, v->action)) {
			memset(v, 0, sizeof(*v));
			ev->rule[x] = -1;
			ev->referrers[x] = 0;
		}
		if (v->action != LIFECYCLE_KEEP)
			for (e = ev->parent_start[x];
			    e < ev->parent_start[x + 1]; e++) {
				p = ev->parents[e];
				if (ev->depth[p] + 1 > ev->depth[x])
					ev->depth[x] = ev->depth[p] + 1;
			}
		for (e = ev->out_start[x]; e < ev->out_start[x + 1]; e++)
			if (--ev->indegree[c = ev->out[e]] == 0)
				ev->queue[tail++] = c;
	}
	for (i = 0; i < n; i++)
		if (ev->indegree[i] != 0) {
			memset(&ev->verdicts[i], 0, sizeof(ev->verdicts[i]));
			ev->rule[i] = -1;
		}
}

static int
order_cmp(const void *a, const void *b)
{
	const struct order_key *ka = a, *kb = b;

	if (ka->depth != kb->depth)
		return ka->depth < kb->depth ? -1 : 1;
	if (ka->referrers != kb->referrers)
		return ka->referrers > kb->referrers ? -1 : 1;
	if (ka->time != kb->time)
		return ka->time < kb->time ? -1 : 1;
	return ka->image < kb->image ? -1 : ka->image > kb->image;
}

/* "Expiration is always ordered by pushed_at_time or transitioned_at_time
 * and always expires older images before newer ones." */
static void
build_order(struct lifecycle_eval *ev, const struct lifecycle_policy *pol,
    const struct lifecycle_image *images, size_t n)
{
	struct order_key *k;
	size_t		 i;

	ev->norder = 0;
	for (i = 0; i < n; i++) {
		if (ev->verdicts[i].action == LIFECYCLE_KEEP)
			continue;
		k = &ev->keys[ev->norder++];
		k->depth = ev->depth[i];
		k->referrers = ev->referrers[i];
		k->time = ev->rule[i] >= 0 ?
		    rule_time(&pol->rules[ev->rule[i]], &images[i]) :
		    pushed_time(&images[i]);
		k->image = (uint32_t)i;
	}
	qsort(ev->keys, ev->norder, sizeof(*ev->keys), order_cmp);
	for (i = 0; i < ev->norder; i++)
		ev->order[i] = ev->keys[i].image;
}

size_t
lifecycle_eval_run(struct lifecycle_eval *ev,
    const struct lifecycle_policy *pol, const struct lifecycle_image *images,
    size_t n, int64_t now)
{
	const struct lifecycle_rule *r;
	uint64_t	 count_rules = 0, counted = 0;
	size_t		 i;
	int		 graph = 0, g;

	grow(ev, n);
	for (i = 0; i < pol->nrules; i++)
		if (pol->rules[i].count_type == LIFECYCLE_IMAGE_COUNT_MORE_THAN)
			count_rules |= 1ULL << i;
	memset(ev->verdicts, 0, n * sizeof(*ev->verdicts));
	memset(ev->rule, -1, n * sizeof(*ev->rule));
	memset(ev->depth, 0, n * sizeof(*ev->depth));
	memset(ev->referrers, 0, n * sizeof(*ev->referrers));
	for (i = 0; i < n; i++) {
		ev->mask[i] = 0;
		if (images[i].nchildren > 0)
			graph = 1;
		if (images[i].subject != LIFECYCLE_NO_SUBJECT) {
			graph = 1;
			continue;
		}
		if ((ev->mask[i] = rules_selecting(pol, &images[i])) == 0)
			continue;
		counted |= ev->mask[i];
		g = __builtin_ctzll(ev->mask[i]);
		r = &pol->rules[g];
		if (r->count_type != LIFECYCLE_IMAGE_COUNT_MORE_THAN &&
		    rule_aged(r, &images[i], now))
			act(ev, (uint32_t)i, pol, g);
	}
	if (counted & count_rules)
		apply_counts(ev, pol, images, n, count_rules);
	if (graph)
		resolve_graph(ev, images, n);
	build_order(ev, pol, images, n);
	return ev->norder;
}
