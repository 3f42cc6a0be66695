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
 *
 * An evaluation can be done in steps (lifecycle_eval_step), so that a
 * caller on an event loop never holds it for long: every pass goes over
 * at most the work it is given, and the sorts are merge sorts of runs of
 * SORT_RUN keys whose runs and merge passes are steps of their own.  Only
 * the graph's passes are not cut: each is a few simple sweeps over the
 * images, its cost counted as theirs.
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

#define SORT_RUN	2048	/* keys sorted at once */

/* A merge sort that can stop between runs and between merge passes. */
struct eval_sort {
	void		*keys;
	void		*tmp;		/* as many */
	size_t		 n;
	size_t		 size;
	int		(*cmp)(const void *, const void *);
	size_t		 pos;		/* the next run to sort */
	size_t		 width;		/* of the sorted runs, once all are */
};

enum eval_phase {
	PHASE_SELECT,
	PHASE_COUNT_COLLECT,
	PHASE_COUNT_SORT,
	PHASE_COUNT_APPLY,
	PHASE_GRAPH,
	PHASE_ORDER_COLLECT,
	PHASE_ORDER_SORT,
	PHASE_ORDER_OUT,
	PHASE_DONE
};

struct lifecycle_eval {
	/* The evaluation under way and how far it went. */
	const struct lifecycle_policy *pol;
	const struct lifecycle_image *images;
	size_t		 n;
	int64_t		 now;
	enum eval_phase	 phase;
	size_t		 pos;
	uint64_t	 count_rules;
	uint64_t	 counted;
	int		 graph;
	uint32_t	 seen[LIFECYCLE_RULES_MAX];
	size_t		 nby_push;
	struct eval_sort sort;

	size_t		 cap;
	uint64_t	*mask;		/* rules selecting each image */
	int8_t		*rule;		/* the rule acting on it, or -1 */
	struct lifecycle_verdict *verdicts;
	struct push_key	*by_push;
	struct push_key	*by_push_tmp;
	uint32_t	*order;
	size_t		 norder;
	struct order_key *keys;
	struct order_key *keys_tmp;
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
	free(ev->by_push_tmp);
	free(ev->order);
	free(ev->keys);
	free(ev->keys_tmp);
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
	ev->by_push_tmp = xreallocarray(ev->by_push_tmp, n,
	    sizeof(*ev->by_push_tmp));
	ev->order = xreallocarray(ev->order, n, sizeof(*ev->order));
	ev->keys = xreallocarray(ev->keys, n, sizeof(*ev->keys));
	ev->keys_tmp = xreallocarray(ev->keys_tmp, n, sizeof(*ev->keys_tmp));
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
 * This is one image of that walk, youngest first.
 */
static void
count_image(struct lifecycle_eval *ev, uint32_t x)
{
	const struct lifecycle_policy *pol = ev->pol;
	uint64_t	 m;
	int		 b, governing;

	governing = __builtin_ctzll(ev->mask[x]);
	for (m = ev->mask[x] & ev->count_rules; m != 0; m &= m - 1) {
		b = __builtin_ctzll(m);
		if (++ev->seen[b] > (uint32_t)pol->rules[b].count_number &&
		    b == governing)
			act(ev, x, pol, b);
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
order_image(struct lifecycle_eval *ev, uint32_t i)
{
	struct order_key *k;

	if (ev->verdicts[i].action == LIFECYCLE_KEEP)
		return;
	k = &ev->keys[ev->norder++];
	k->depth = ev->depth[i];
	k->referrers = ev->referrers[i];
	k->time = ev->rule[i] >= 0 ?
	    rule_time(&ev->pol->rules[ev->rule[i]], &ev->images[i]) :
	    pushed_time(&ev->images[i]);
	k->image = i;
}

/* The rules selecting image i; acts on it if its governing rule is one
 * of age and finds it old enough. */
static void
select_image(struct lifecycle_eval *ev, uint32_t i)
{
	const struct lifecycle_image *im = &ev->images[i];
	const struct lifecycle_rule *r;
	int		 g;

	memset(&ev->verdicts[i], 0, sizeof(ev->verdicts[i]));
	ev->rule[i] = -1;
	ev->depth[i] = 0;
	ev->referrers[i] = 0;
	ev->mask[i] = 0;
	if (im->nchildren > 0)
		ev->graph = 1;
	if (im->subject != LIFECYCLE_NO_SUBJECT) {
		ev->graph = 1;
		return;
	}
	if ((ev->mask[i] = rules_selecting(ev->pol, im)) == 0)
		return;
	ev->counted |= ev->mask[i];
	g = __builtin_ctzll(ev->mask[i]);
	r = &ev->pol->rules[g];
	if (r->count_type != LIFECYCLE_IMAGE_COUNT_MORE_THAN &&
	    rule_aged(r, im, ev->now))
		act(ev, i, ev->pol, g);
}

static void
charge(size_t *work, size_t n)
{
	*work = *work > n ? *work - n : 0;
}

static void
sort_init(struct eval_sort *s, void *keys, void *tmp, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	s->keys = keys;
	s->tmp = tmp;
	s->n = n;
	s->size = size;
	s->cmp = cmp;
	s->pos = 0;
	s->width = 0;
}

/*
 * One step of a sort: a run of SORT_RUN keys, or a merge pass over all of
 * them (the keys move between the two arrays; s->keys is where they are).
 * Returns 1 once they are sorted.  The orders are total (ties go by image
 * index), so the merge's own stability does not matter.
 */
static int
sort_step(struct eval_sort *s, size_t *work)
{
	unsigned char	*src = s->keys, *dst = s->tmp, *end, *a, *ae, *b, *be;
	size_t		 m, i, size = s->size, span;

	if (s->pos < s->n) {
		m = s->n - s->pos < SORT_RUN ? s->n - s->pos : SORT_RUN;
		qsort(src + s->pos * size, m, size, s->cmp);
		s->pos += m;
		charge(work, m);
		if (s->pos < s->n)
			return 0;
		s->width = SORT_RUN;
	}
	if (s->width >= s->n)
		return 1;
	end = src + s->n * size;
	span = s->width * size;
	for (i = 0; i < s->n; i += 2 * s->width) {
		a = src + i * size;
		ae = b = (size_t)(end - a) > span ? a + span : end;
		be = (size_t)(end - b) > span ? b + span : end;
		while (a < ae && b < be) {
			if (s->cmp(b, a) < 0) {
				memcpy(dst, b, size);
				b += size;
			} else {
				memcpy(dst, a, size);
				a += size;
			}
			dst += size;
		}
		memcpy(dst, a, (size_t)(ae - a));
		dst += ae - a;
		memcpy(dst, b, (size_t)(be - b));
		dst += be - b;
	}
	s->tmp = s->keys;
	s->keys = dst - s->n * size;
	s->width *= 2;
	charge(work, s->n);
	return s->width >= s->n;
}

void
lifecycle_eval_start(struct lifecycle_eval *ev,
    const struct lifecycle_policy *pol, const struct lifecycle_image *images,
    size_t n, int64_t now)
{
	size_t	 i;

	grow(ev, n);
	ev->pol = pol;
	ev->images = images;
	ev->n = n;
	ev->now = now;
	ev->phase = PHASE_SELECT;
	ev->pos = 0;
	ev->count_rules = ev->counted = 0;
	ev->graph = 0;
	ev->nby_push = ev->norder = 0;
	memset(ev->seen, 0, sizeof(ev->seen));
	for (i = 0; i < pol->nrules; i++)
		if (pol->rules[i].count_type == LIFECYCLE_IMAGE_COUNT_MORE_THAN)
			ev->count_rules |= 1ULL << i;
}

/* The end of the pass over ev->pos .. ev->n that work allows. */
static size_t
pass_end(struct lifecycle_eval *ev, size_t n, size_t *work)
{
	size_t	 end = n - ev->pos > *work ? ev->pos + *work : n;

	charge(work, end - ev->pos);
	return end;
}

static void
next_phase(struct lifecycle_eval *ev, enum eval_phase phase)
{
	ev->phase = phase;
	ev->pos = 0;
}

int
lifecycle_eval_step(struct lifecycle_eval *ev, size_t work)
{
	const struct push_key *pk;
	const struct order_key *ok;
	size_t		 end;

	while (ev->phase != PHASE_DONE && work > 0) {
		switch (ev->phase) {
		case PHASE_SELECT:
			for (end = pass_end(ev, ev->n, &work); ev->pos < end;
			    ev->pos++)
				select_image(ev, (uint32_t)ev->pos);
			if (ev->pos == ev->n)
				next_phase(ev, ev->counted & ev->count_rules ?
				    PHASE_COUNT_COLLECT : PHASE_GRAPH);
			break;
		case PHASE_COUNT_COLLECT:
			for (end = pass_end(ev, ev->n, &work); ev->pos < end;
			    ev->pos++)
				if (ev->mask[ev->pos] & ev->count_rules) {
					ev->by_push[ev->nby_push].time =
					    pushed_time(&ev->images[ev->pos]);
					ev->by_push[ev->nby_push++].image =
					    (uint32_t)ev->pos;
				}
			if (ev->pos < ev->n)
				break;
			sort_init(&ev->sort, ev->by_push, ev->by_push_tmp,
			    ev->nby_push, sizeof(*ev->by_push), push_cmp);
			next_phase(ev, PHASE_COUNT_SORT);
			break;
		case PHASE_COUNT_SORT:
			if (sort_step(&ev->sort, &work))
				next_phase(ev, PHASE_COUNT_APPLY);
			break;
		case PHASE_COUNT_APPLY:
			pk = ev->sort.keys;
			for (end = pass_end(ev, ev->nby_push, &work);
			    ev->pos < end; ev->pos++)
				count_image(ev, pk[ev->pos].image);
			if (ev->pos == ev->nby_push)
				next_phase(ev, PHASE_GRAPH);
			break;
		case PHASE_GRAPH:
			if (ev->graph) {
				resolve_graph(ev, ev->images, ev->n);
				charge(&work, ev->n);
			}
			next_phase(ev, PHASE_ORDER_COLLECT);
			break;
		case PHASE_ORDER_COLLECT:
			for (end = pass_end(ev, ev->n, &work); ev->pos < end;
			    ev->pos++)
				order_image(ev, (uint32_t)ev->pos);
			if (ev->pos < ev->n)
				break;
			sort_init(&ev->sort, ev->keys, ev->keys_tmp,
			    ev->norder, sizeof(*ev->keys), order_cmp);
			next_phase(ev, PHASE_ORDER_SORT);
			break;
		case PHASE_ORDER_SORT:
			if (sort_step(&ev->sort, &work))
				next_phase(ev, PHASE_ORDER_OUT);
			break;
		case PHASE_ORDER_OUT:
			ok = ev->sort.keys;
			for (end = pass_end(ev, ev->norder, &work);
			    ev->pos < end; ev->pos++)
				ev->order[ev->pos] = ok[ev->pos].image;
			if (ev->pos == ev->norder)
				next_phase(ev, PHASE_DONE);
			break;
		case PHASE_DONE:
			break;
		}
	}
	return ev->phase == PHASE_DONE;
}

size_t
lifecycle_eval_acted(const struct lifecycle_eval *ev)
{
	return ev->norder;
}

size_t
lifecycle_eval_run(struct lifecycle_eval *ev,
    const struct lifecycle_policy *pol, const struct lifecycle_image *images,
    size_t n, int64_t now)
{
	lifecycle_eval_start(ev, pol, images, n, now);
	(void)lifecycle_eval_step(ev, SIZE_MAX);
	return ev->norder;
}
