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
 * The lifecycle evaluator: every worked example of the User Guide's
 * lifecycle_policy_examples.html comes out as the page says, each
 * evaluation rule of LifecyclePolicies.html has its case (ages, counts,
 * pulls, archive and restore times, storage classes, indexes and
 * referrers), and on random repositories the evaluator agrees with a
 * reference written from the page's sentences, one after the other.
 *
 * Results are written as a string, in the order to act: the image's
 * letter (A is the first of the array), 'e' for expire or 't' for
 * transition, the rule priority, and '^' when the image follows its
 * subject; "Ae1 Be2" expires A by rule 1, then B by rule 2.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "test_lifecycle.h"
#include "unit.h"
#include "util.h"

#define NOW		1750000000000LL
#define AGO(days)	(NOW - (int64_t)((days) * LIFECYCLE_DAY_MS))

static struct lifecycle_image
image(int64_t pushed, const char *const *tags, size_t ntags)
{
	struct lifecycle_image im;

	memset(&im, 0, sizeof(im));
	im.tags = tags;
	im.ntags = ntags;
	im.pushed_ms = pushed;
	im.storage = LIFECYCLE_STANDARD;
	im.subject = LIFECYCLE_NO_SUBJECT;
	return im;
}

/* The outcome as a string (see the top of the file). */
static const char *
outcome(struct lifecycle_eval *ev, size_t nacted, size_t nimages)
{
	static char	 buf[1024];
	const struct lifecycle_verdict *v = lifecycle_eval_verdicts(ev);
	const uint32_t	*order = lifecycle_eval_order(ev);
	size_t		 i, acted = 0, len = 0;
	uint32_t	 x;

	buf[0] = '\0';
	for (i = 0; i < nimages; i++)
		if (v[i].action != LIFECYCLE_KEEP)
			acted++;
	if (acted != nacted)
		return "(count disagrees)";
	for (i = 0; i < nacted; i++) {
		x = order[i];
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "%s%c%c%d%s", i > 0 ? " " : "", 'A' + (int)x,
		    v[x].action == LIFECYCLE_EXPIRE ? 'e' : 't',
		    v[x].rule_priority, v[x].via_subject ? "^" : "");
	}
	return buf;
}

static const char *
evaluate_at(const char *text, const struct lifecycle_image *images, size_t n,
    int64_t now)
{
	static char	 buf[1024];
	struct lifecycle_policy *pol;
	struct lifecycle_eval *ev;
	size_t		 nacted;

	if ((pol = test_lifecycle_parse(text)) == NULL)
		return "(policy refused)";
	ev = lifecycle_eval_new();
	nacted = lifecycle_eval_run(ev, pol, images, n, now);
	snprintf(buf, sizeof(buf), "%s", outcome(ev, nacted, n));
	lifecycle_eval_free(ev);
	lifecycle_policy_free(pol);
	return buf;
}

#define evaluate(text, images) \
	evaluate_at(text, images, nitems(images), NOW)

static int
same(const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return 1;
	fprintf(stderr, "\ngot \"%s\", want \"%s\"\n", got, want);
	return 0;
}

/* lifecycle_policy_examples.html, "Filtering on multiple rules". */
static void
test_multiple_rules(void)
{
	struct lifecycle_image repo[] = {
		image(AGO(10), TAGS("beta-1", "prod-1")),
		image(AGO(9), TAGS("beta-2", "prod-2")),
		image(AGO(8), TAGS("beta-3")),
	};

	/* Example A: "Result: Image A is expired." */
	CU_ASSERT_TRUE(same(evaluate(POLICY(
	    RULE(1, PATTERNS("[\"prod*\"]") COUNT(1), EXPIRE) ","
	    RULE(2, PATTERNS("[\"beta*\"]") COUNT(1), EXPIRE)), repo), "Ae1"));
	/* Example B: "Result: Images A and B are expired." */
	CU_ASSERT_TRUE(same(evaluate(POLICY(
	    RULE(1, PATTERNS("[\"beta*\"]") COUNT(1), EXPIRE) ","
	    RULE(2, PATTERNS("[\"prod*\"]") COUNT(1), EXPIRE)), repo),
	    "Ae1 Be1"));
}

/* lifecycle_policy_examples.html, "Filtering on multiple tags in a single
 * rule". */
static void
test_multiple_tags(void)
{
	struct lifecycle_image a[] = {
		image(AGO(12), TAGS("alpha-1")),
		image(AGO(11), TAGS("beta-1")),
		image(AGO(10), TAGS("alpha-2", "beta-2")),
		image(AGO(4), TAGS("alpha-3")),
		image(AGO(3), TAGS("beta-3")),
		image(AGO(2), TAGS("alpha-4", "beta-4")),
	};
	struct lifecycle_image b[] = {
		image(AGO(10), TAGS("alpha-1", "beta-1", "gamma-1")),
		image(AGO(9), TAGS("alpha-2", "beta-2")),
		image(AGO(8), TAGS("alpha-3", "beta-3", "gamma-2")),
		/* newest, but only alpha: the rule does not count it */
		image(AGO(1), TAGS("alpha-4")),
	};

	/* Example A: "Result: Image C is expired." */
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1,
	    PATTERNS("[\"alpha*\", \"beta*\"]") DAYS("sinceImagePushed", 5),
	    EXPIRE)), a), "Ce1"));
	/* Example B: "Result: Images A and B are expired." */
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1,
	    PATTERNS("[\"alpha*\", \"beta*\"]") COUNT(1), EXPIRE)), b),
	    "Ae1 Be1"));
}

/* lifecycle_policy_examples.html, "Filtering on all images". */
static void
test_all_images(void)
{
	struct lifecycle_image a[] = {
		image(AGO(4), TAGS("alpha-1")),
		image(AGO(3), TAGS("beta-1")),
		image(AGO(2), NOTAGS),
		image(AGO(1), TAGS("alpha-2")),
	};
	struct lifecycle_image b[] = {
		image(AGO(4), TAGS("alpha-1", "beta-1")),
		image(AGO(3), NOTAGS),
		image(AGO(2), TAGS("alpha-2")),
		image(AGO(1), TAGS("git hash")),
		/* "1 day ago" too, pushed after D: the newest */
		image(AGO(1) + 1000, NOTAGS),
	};

	/* Example A: "Result: Images A, B, and C are expired." */
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, ANY COUNT(1), EXPIRE)),
	    a), "Ae1 Be1 Ce1"));
	/* Example B: "Result: Images A, B, and D are expired." */
	CU_ASSERT_TRUE(same(evaluate(POLICY(
	    RULE(1, PATTERNS("[\"alpha*\"]") COUNT(1), EXPIRE) ","
	    RULE(2, UNTAGGED DAYS("sinceImagePushed", 1), EXPIRE) ","
	    RULE(3, ANY COUNT(1), EXPIRE)), b), "Ae1 Be2 De3"));
	/* The same with "keep one untagged image" as rule 2. */
	CU_ASSERT_TRUE(same(evaluate(POLICY(
	    RULE(1, PATTERNS("[\"alpha*\"]") COUNT(1), EXPIRE) ","
	    RULE(2, UNTAGGED COUNT(1), EXPIRE) ","
	    RULE(3, ANY COUNT(1), EXPIRE)), b), "Ae1 Be2 De3"));
}

/* "Filtering on image age" and "Filtering on image count", and the
 * boundary: "older than the specified number of days". */
static void
test_age_and_count(void)
{
	struct lifecycle_image ages[] = {
		image(AGO(15), TAGS("prod-1")),
		image(AGO(13), TAGS("prod-2")),
		image(AGO(20), TAGS("dev-1")),
		image(AGO(14), TAGS("prod-3")),
		image(AGO(14) - 1, TAGS("prod-4")),
	};
	struct lifecycle_image untagged[] = {
		image(AGO(3), NOTAGS),
		image(AGO(1), NOTAGS),
		image(AGO(2), NOTAGS),
		image(AGO(9), TAGS("v1")),
	};
	struct lifecycle_image ties[] = {
		image(AGO(1), NOTAGS),
		image(AGO(1), NOTAGS),
		image(AGO(1), NOTAGS),
	};

	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, PATTERNS("[\"prod*\"]")
	    DAYS("sinceImagePushed", 14), EXPIRE)), ages), "Ae1 Ee1"));
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, UNTAGGED COUNT(1),
	    EXPIRE)), untagged), "Ae1 Ce1"));
	/* Equal push times: the array's order decides, the first counts
	 * as the youngest. */
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, UNTAGGED COUNT(1),
	    EXPIRE)), ties), "Be1 Ce1"));
	/* The transition action does the same, to the archive. */
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, ANY COUNT(2),
	    ARCHIVE)), untagged), "Dt1 At1"));
}

/*
 * sinceImagePulled (LifecyclePolicies.html): the last recorded pull; the
 * push time if never pulled; the restore time if restored and not pulled
 * since.
 */
static void
test_pulled(void)
{
	struct lifecycle_image repo[] = {
		image(AGO(100), NOTAGS),		/* never pulled */
		image(AGO(100), NOTAGS),		/* pulled lately */
		image(AGO(300), NOTAGS),		/* restored lately */
		image(AGO(300), NOTAGS),		/* restored long ago */
		image(AGO(300), NOTAGS),		/* pulled after that */
		image(AGO(10), NOTAGS),			/* young */
	};

	repo[1].pulled_ms = AGO(10);
	repo[2].pulled_ms = AGO(200);
	repo[2].archived_ms = AGO(150);
	repo[2].activated_ms = AGO(10);
	repo[3].activated_ms = AGO(95);
	repo[3].archived_ms = AGO(250);
	repo[4].activated_ms = AGO(95);
	repo[4].pulled_ms = AGO(91);
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, ANY
	    DAYS("sinceImagePulled", 90), ARCHIVE)), repo), "At1 Dt1 Et1"));
	repo[4].pulled_ms = AGO(89);
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, ANY
	    DAYS("sinceImagePulled", 90), ARCHIVE)), repo), "At1 Dt1"));
}

/*
 * Storage classes: a rule selects only its class (lifecycle_policy_
 * parameters.html, "Storage class"); sinceImageTransitioned counts from
 * last_archived_at; an image being restored is in neither; "Combining
 * archive and expire rules" of the examples page.
 */
static void
test_storage_classes(void)
{
	struct lifecycle_image repo[] = {
		image(AGO(40), NOTAGS),
		image(AGO(500), NOTAGS),
		image(AGO(500), NOTAGS),
		image(AGO(10), NOTAGS),
		image(AGO(500), NOTAGS),
	};
	struct lifecycle_image counted[] = {
		image(AGO(3), NOTAGS),
		image(AGO(1), NOTAGS),
		image(AGO(2), NOTAGS),
	};

	repo[1].storage = LIFECYCLE_ARCHIVE;
	repo[1].archived_ms = AGO(400);
	repo[2].storage = LIFECYCLE_ARCHIVE;
	repo[2].archived_ms = AGO(100);
	repo[4].storage = LIFECYCLE_ACTIVATING;
	repo[4].archived_ms = AGO(400);
	/* Oldest first: B by its archive time, then A by its push time. */
	CU_ASSERT_TRUE(same(evaluate(POLICY(
	    RULE(1, ANY DAYS("sinceImagePushed", 30), ARCHIVE) ","
	    RULE(2, ANY IN_ARCHIVE DAYS("sinceImageTransitioned", 365),
	    EXPIRE)), repo), "Be2 At1"));
	/* A standard rule neither sees nor counts archived images. */
	counted[1].storage = LIFECYCLE_ARCHIVE;
	counted[1].archived_ms = AGO(1);
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, ANY COUNT(1), EXPIRE)),
	    counted), "Ae1"));
}

/* "If an image was archived and then restored at any point in the past,
 * the image's last_activated_at is used instead of pushed_at_time." */
static void
test_restored(void)
{
	struct lifecycle_image repo[] = {
		image(AGO(100), NOTAGS),
		image(AGO(2), NOTAGS),
	};

	repo[0].archived_ms = AGO(50);
	repo[0].activated_ms = AGO(1);
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, ANY COUNT(1), EXPIRE)),
	    repo), "Be1"));
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, ANY
	    DAYS("sinceImagePushed", 30), ARCHIVE)), repo), ""));
}

/* "If an image is referenced by a manifest list, it cannot be expired or
 * archived without the manifest list being deleted or archived first." */
static void
test_indexes(void)
{
	static const uint32_t kept_children[] = { 1, 2 };
	static const uint32_t gone_children[] = { 4, 5 };
	static const uint32_t one_child[] = { 1 };
	static const uint32_t second[] = { 2 };
	const char	*pol = POLICY(
	    RULE(1, PATTERNS("[\"v*\"]") COUNT(1), EXPIRE) ","
	    RULE(2, UNTAGGED DAYS("sinceImagePushed", 1), EXPIRE));
	struct lifecycle_image repo[] = {
		image(AGO(5), TAGS("v2")),	/* the newest v: kept */
		image(AGO(5), NOTAGS),
		image(AGO(5), NOTAGS),
		image(AGO(10), TAGS("v1")),	/* expired by rule 1 */
		image(AGO(10), NOTAGS),
		image(AGO(10), NOTAGS),
	};
	struct lifecycle_image archived[] = {
		image(AGO(10), TAGS("v1")),
		image(AGO(10), NOTAGS),
	};
	struct lifecycle_image nested[] = {
		image(AGO(10), TAGS("v1")),
		image(AGO(10), NOTAGS),
		image(AGO(10), NOTAGS),
	};

	repo[0].children = kept_children;
	repo[0].nchildren = nitems(kept_children);
	repo[3].children = gone_children;
	repo[3].nchildren = nitems(gone_children);
	/* The index goes first, then what it listed. */
	CU_ASSERT_TRUE(same(evaluate(pol, repo), "De1 Ee2 Fe2"));
	/* Now A lists C, D lists B and C: an image listed by a kept index
	 * and an expired one stays; E and F are listed by none. */
	repo[0].children = second;
	repo[0].nchildren = 1;
	repo[3].children = kept_children;
	repo[3].nchildren = nitems(kept_children);
	CU_ASSERT_TRUE(same(evaluate(pol, repo), "De1 Ee2 Fe2 Be2"));

	/* An archived index lets what it lists be archived, not expired. */
	archived[0].storage = LIFECYCLE_ARCHIVE;
	archived[0].archived_ms = AGO(5);
	archived[0].children = one_child;
	archived[0].nchildren = 1;
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, UNTAGGED
	    DAYS("sinceImagePushed", 1), ARCHIVE)), archived), "Bt1"));
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, UNTAGGED
	    DAYS("sinceImagePushed", 1), EXPIRE)), archived), ""));
	/* An index archived in the same run, likewise. */
	archived[0].storage = LIFECYCLE_STANDARD;
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, ANY
	    DAYS("sinceImagePushed", 1), ARCHIVE)), archived), "At1 Bt1"));

	/* An index of indexes: each level after the one above it. */
	nested[0].children = one_child;
	nested[0].nchildren = 1;
	nested[1].children = second;
	nested[1].nchildren = 1;
	CU_ASSERT_TRUE(same(evaluate(POLICY(
	    RULE(1, PATTERNS("[\"v*\"]") DAYS("sinceImagePushed", 1),
	    EXPIRE) ","
	    RULE(2, UNTAGGED DAYS("sinceImagePushed", 1), EXPIRE)), nested),
	    "Ae1 Be2 Ce2"));
	nested[0].pushed_ms = AGO(0.5);
	CU_ASSERT_TRUE(same(evaluate(POLICY(
	    RULE(1, PATTERNS("[\"v*\"]") DAYS("sinceImagePushed", 1),
	    EXPIRE) ","
	    RULE(2, UNTAGGED DAYS("sinceImagePushed", 1), EXPIRE)), nested),
	    ""));
}

/* "When reference artifacts are present in a repository, Amazon ECR
 * lifecycle policies automatically expire or archive those artifacts
 * within 24 hours of the deletion or archival of the subject image." */
static void
test_referrers(void)
{
	const char	*expire_old_v = POLICY(
	    RULE(1, PATTERNS("[\"v*\"]") DAYS("sinceImagePushed", 5),
	    EXPIRE) ","
	    RULE(2, UNTAGGED COUNT(1), EXPIRE));
	const char	*archive_old_v = POLICY(RULE(1, PATTERNS("[\"v*\"]")
	    DAYS("sinceImagePushed", 5), ARCHIVE));
	const char	*expire_untagged = POLICY(RULE(1, UNTAGGED
	    DAYS("sinceImagePushed", 1), EXPIRE));
	struct lifecycle_image repo[] = {
		image(AGO(10), TAGS("v1")),	/* expired by rule 1 */
		image(AGO(1), NOTAGS),		/* its signature */
		image(AGO(3), TAGS("v2")),	/* kept */
		image(AGO(0.5), NOTAGS),	/* its signature, the newest */
		image(AGO(8), NOTAGS),
		image(AGO(2), NOTAGS),
		image(AGO(0.2), NOTAGS),	/* signs B's signature */
	};
	struct lifecycle_image arch[] = {
		image(AGO(10), TAGS("v1")),
		image(AGO(1), NOTAGS),
		image(AGO(1), NOTAGS),
	};
	static const uint32_t child[] = { 1 };

	repo[1].subject = 0;
	repo[3].subject = 2;
	repo[6].subject = 1;
	/* Referrers go before their subject (G signs B, B signs A); the
	 * signatures of kept images stay and are not counted as untagged
	 * images: E is expired, F is the one kept. */
	CU_ASSERT_TRUE(same(evaluate(expire_old_v, repo),
	    "Ge1^ Be1^ Ae1 Ee2"));
	/* A subject no longer in the repository. */
	repo[3].subject = LIFECYCLE_SUBJECT_GONE;
	CU_ASSERT_TRUE(same(evaluate(expire_old_v, repo),
	    "Ge1^ Be1^ Ae1 Ee2 De0^"));

	/* Archival: now, or already done. */
	arch[1].subject = 0;
	CU_ASSERT_TRUE(same(evaluate(archive_old_v, arch), "Bt1^ At1"));
	arch[0].storage = LIFECYCLE_ARCHIVE;
	arch[0].archived_ms = AGO(2);
	CU_ASSERT_TRUE(same(evaluate(archive_old_v, arch), "Bt0^"));
	/* An archived referrer of an archived subject stays as it is. */
	arch[1].storage = LIFECYCLE_ARCHIVE;
	CU_ASSERT_TRUE(same(evaluate(archive_old_v, arch), ""));
	/* Now A is a young index listing B, and C refers to B: B, kept by
	 * A, keeps C. */
	arch[0].storage = arch[1].storage = LIFECYCLE_STANDARD;
	arch[0].pushed_ms = AGO(0.5);
	arch[0].children = child;
	arch[0].nchildren = 1;
	arch[1].subject = LIFECYCLE_NO_SUBJECT;
	arch[1].pushed_ms = AGO(3);
	arch[2].subject = 1;
	CU_ASSERT_TRUE(same(evaluate(expire_untagged, arch), ""));
	/* Without A, B goes and C with it. */
	arch[0].nchildren = 0;
	CU_ASSERT_TRUE(same(evaluate(expire_untagged, arch), "Ce1^ Be1"));
}

/* Inputs no real repository has: a cycle, a child out of range. */
static void
test_odd_graphs(void)
{
	static const uint32_t self[] = { 0 };
	static const uint32_t wild[] = { 7, 1 };
	struct lifecycle_image repo[] = {
		image(AGO(10), NOTAGS),
		image(AGO(10), NOTAGS),
	};

	repo[0].children = self;
	repo[0].nchildren = 1;
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, ANY
	    DAYS("sinceImagePushed", 1), EXPIRE)), repo), "Be1"));
	repo[0].children = wild;
	repo[0].nchildren = 2;
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, ANY
	    DAYS("sinceImagePushed", 1), EXPIRE)), repo), "Ae1 Be1"));
	repo[1].subject = 9;
	CU_ASSERT_TRUE(same(evaluate(POLICY(RULE(1, ANY
	    DAYS("sinceImagePushed", 1), EXPIRE)), repo), "Ae1 Be0^"));
}

/* One evaluator, runs of different sizes. */
static void
test_reuse(void)
{
	struct lifecycle_policy *pol;
	struct lifecycle_eval *ev;
	struct lifecycle_image *many;
	size_t		 i;

	pol = test_lifecycle_parse(POLICY(RULE(1, ANY COUNT(10), EXPIRE)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(pol);
	ev = lifecycle_eval_new();
	many = xcalloc(1000, sizeof(*many));
	for (i = 0; i < 1000; i++)
		many[i] = image(AGO(1000 - (double)i), NOTAGS);
	CU_ASSERT_EQUAL(lifecycle_eval_run(ev, pol, many, 3, NOW), 0);
	CU_ASSERT_EQUAL(lifecycle_eval_run(ev, pol, many, 1000, NOW), 990);
	CU_ASSERT_EQUAL(lifecycle_eval_order(ev)[0], 0);
	CU_ASSERT_EQUAL(lifecycle_eval_order(ev)[989], 989);
	CU_ASSERT_EQUAL(lifecycle_eval_run(ev, pol, many + 995, 5, NOW), 0);
	CU_ASSERT_EQUAL(lifecycle_eval_run(ev, pol, many, 0, NOW), 0);
	free(many);
	lifecycle_eval_free(ev);
	lifecycle_eval_free(NULL);
	lifecycle_policy_free(pol);
}

/* --- the reference: LifecyclePolicies.html, sentence by sentence --------- */

static int64_t
ref_time(const struct lifecycle_rule *r, const struct lifecycle_image *im)
{
	int64_t	 t;

	switch (r->count_type) {
	case LIFECYCLE_SINCE_IMAGE_TRANSITIONED:
		/* "all archived images whose last_archived_at is older" */
		return im->archived_ms;
	case LIFECYCLE_SINCE_IMAGE_PULLED:
		/* last_recorded_pulltime; pushed_at_time if never pulled;
		 * last_activated_at if restored and not pulled since */
		if (im->pulled_ms == 0 && im->activated_ms == 0)
			return im->pushed_ms;
		if (im->activated_ms > im->pulled_ms)
			return im->activated_ms;
		return im->pulled_ms;
	default:
		break;
	}
	/* last_activated_at instead of pushed_at_time once restored */
	t = im->activated_ms != 0 ? im->activated_ms : im->pushed_ms;
	return t;
}

static void
reference(const struct lifecycle_policy *pol,
    const struct lifecycle_image *im, size_t n, int64_t now,
    struct lifecycle_verdict *out)
{
	const struct lifecycle_rule *r;
	uint8_t		*selected, *marked, *seen;
	size_t		 i, j, k, rank;

	selected = xcalloc(n, 1);
	marked = xcalloc(n, 1);
	seen = xcalloc(n, 1);
	memset(out, 0, n * sizeof(*out));
	/* "All rules are evaluated at the same time ... then applied based
	 * on rule priority." */
	for (k = 0; k < pol->nrules; k++) {
		r = &pol->rules[k];
		for (i = 0; i < n; i++)
			selected[i] = im[i].storage == r->storage_class &&
			    lifecycle_rule_selects_tags(r, im[i].tags,
			    im[i].ntags);
		for (i = 0; i < n; i++) {
			marked[i] = 0;
			if (!selected[i])
				continue;
			if (r->count_type != LIFECYCLE_IMAGE_COUNT_MORE_THAN) {
				marked[i] = r->count_type !=
				    LIFECYCLE_SINCE_IMAGE_TRANSITIONED ||
				    im[i].archived_ms != 0;
				marked[i] = marked[i] && now - ref_time(r,
				    &im[i]) > r->count_number *
				    LIFECYCLE_DAY_MS;
				continue;
			}
			/* youngest to oldest, then beyond the count */
			for (j = 0, rank = 0; j < n; j++)
				if (selected[j] && (ref_time(r, &im[j]) >
				    ref_time(r, &im[i]) || (ref_time(r, &im[j])
				    == ref_time(r, &im[i]) && j < i)))
					rank++;
			marked[i] = rank >= (size_t)r->count_number;
		}
		/* "An image is expired or archived by exactly one or zero
		 * rules"; "An image that matches the tagging requirements of
		 * a rule cannot be expired or archived by a rule with a lower
		 * priority." */
		for (i = 0; i < n; i++) {
			if (marked[i] && !seen[i]) {
				out[i].action = r->action;
				out[i].rule_priority = r->priority;
			}
			if (selected[i])
				seen[i] = 1;
		}
	}
	free(selected);
	free(marked);
	free(seen);
}

static const char *const vocabulary[] = { "prod", "prod-1", "beta-2",
    "v1.0", "v1.1", "latest", "main-sha-1f", "rc" };
static const char *const lists[] = { "[\"prod*\"]", "[\"*1*\"]",
    "[\"v*\", \"*1\"]", "[\"latest\"]", "[\"*-sha-*\"]", "[\"beta*\"]",
    "[\"*\"]", "[\"r*c\", \"prod*\"]" };

static void
random_rule(char *buf, size_t size, int priority, unsigned *seed)
{
	const char	*status, *count, *action;
	char		 sel[160], cnt[160];
	int		 archive = rand_r(seed) % 5 == 0;

	switch (rand_r(seed) % 3) {
	case 0:
		status = "\"tagStatus\": \"untagged\"";
		break;
	case 1:
		status = "\"tagStatus\": \"any\"";
		break;
	default:
		status = NULL;
		break;
	}
	if (status == NULL)
		snprintf(sel, sizeof(sel), "\"tagStatus\": \"tagged\", \"%s\": "
		    "%s", rand_r(seed) % 2 ? "tagPatternList" : "tagPrefixList",
		    lists[rand_r(seed) % nitems(lists)]);
	else
		snprintf(sel, sizeof(sel), "%s", status);
	action = rand_r(seed) % 2 ? EXPIRE : ARCHIVE;
	if (archive) {
		snprintf(cnt, sizeof(cnt), "\"storageClass\": \"archive\", "
		    DAYS("sinceImageTransitioned", %d), 90 + rand_r(seed) % 60);
		action = EXPIRE;
	} else {
		switch (rand_r(seed) % 3) {
		case 0:
			count = "imageCountMoreThan";
			break;
		case 1:
			count = "sinceImagePushed";
			break;
		default:
			count = "sinceImagePulled";
			action = ARCHIVE;
			break;
		}
		snprintf(cnt, sizeof(cnt), "\"countType\": \"%s\", %s"
		    "\"countNumber\": %d", count, count[0] == 'i' ? "" :
		    "\"countUnit\": \"days\", ", 1 + rand_r(seed) % 30);
	}
	snprintf(buf, size, "{\"rulePriority\": %d, \"selection\": {%s, %s}, "
	    "\"action\": {%s}}", priority, sel, cnt, action);
}

/* An image with times in their real order: pushed, then pulled, archived
 * and restored at or after that. */
static void
random_image(struct lifecycle_image *im, const char **tags, unsigned *seed)
{
	size_t	 t;

	*im = image(AGO(rand_r(seed) % 60 + (double)(rand_r(seed) % 1000) /
	    1000), (const char *const *)tags, 0);
	if (rand_r(seed) % 8 == 0)
		im->pushed_ms = AGO(7);		/* ties now and then */
	for (t = rand_r(seed) % 4; t > 0; t--)
		tags[im->ntags++] = vocabulary[rand_r(seed) %
		    nitems(vocabulary)];
	if (rand_r(seed) % 3 == 0)
		im->pulled_ms = im->pushed_ms + rand_r(seed) % 20 *
		    LIFECYCLE_DAY_MS;
	switch (rand_r(seed) % 6) {
	case 0:
		im->storage = LIFECYCLE_ARCHIVE;
		im->archived_ms = im->pushed_ms + rand_r(seed) % 30 *
		    LIFECYCLE_DAY_MS;
		break;
	case 1:
		im->archived_ms = im->pushed_ms + rand_r(seed) % 30 *
		    LIFECYCLE_DAY_MS;
		im->activated_ms = im->archived_ms + rand_r(seed) % 30 *
		    LIFECYCLE_DAY_MS;
		break;
	case 2:
		im->storage = LIFECYCLE_ACTIVATING;
		break;
	default:
		break;
	}
}

/* Random repositories and policies: the evaluator and the reference
 * agree on every image. */
static void
test_against_reference(void)
{
	struct lifecycle_image images[40];
	const char	*tags[40][4];
	struct lifecycle_verdict want[40];
	const struct lifecycle_verdict *got;
	struct lifecycle_policy *pol;
	struct lifecycle_eval *ev = lifecycle_eval_new();
	char		 text[4096], *p, *message;
	unsigned	 seed = 20260101;
	size_t		 n, i, tried, checked = 0, acted = 0, wrong = 0;
	int		 nrules, k;

	for (tried = 0; tried < 3000; tried++) {
		nrules = 1 + rand_r(&seed) % 4;
		p = text + sprintf(text, "{\"rules\": [");
		for (k = 0; k < nrules; k++) {
			if (k > 0)
				*p++ = ',';
			random_rule(p, sizeof(text) - (size_t)(p - text) - 4,
			    k * 3 + 1 + rand_r(&seed) % 3, &seed);
			p += strlen(p);
		}
		strcpy(p, "]}");
		message = NULL;
		if (lifecycle_policy_parse(text, strlen(text), "x", &pol,
		    &message) == -1) {
			free(message);
			continue;
		}
		n = 1 + rand_r(&seed) % nitems(images);
		for (i = 0; i < n; i++)
			random_image(&images[i], tags[i], &seed);
		lifecycle_eval_run(ev, pol, images, n, NOW);
		got = lifecycle_eval_verdicts(ev);
		reference(pol, images, n, NOW, want);
		for (i = 0; i < n; i++) {
			if (got[i].action != want[i].action ||
			    got[i].rule_priority != want[i].rule_priority) {
				if (wrong++ == 0)
					fprintf(stderr, "\n%s\nimage %zu: got "
					    "%d/%d, want %d/%d\n", text, i,
					    got[i].action, got[i].rule_priority,
					    want[i].action,
					    want[i].rule_priority);
			}
			if (want[i].action != LIFECYCLE_KEEP)
				acted++;
		}
		checked++;
		lifecycle_policy_free(pol);
	}
	CU_ASSERT_EQUAL(wrong, 0);
	/* Enough valid policies, and enough of them doing something. */
	CU_ASSERT_TRUE(checked > 500);
	CU_ASSERT_TRUE(acted > 2000);
	lifecycle_eval_free(ev);
}

int
test_lifecycle_eval_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("lifecycle_eval", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "examples: multiple rules", test_multiple_rules) ==
	    NULL ||
	    CU_add_test(s, "examples: multiple tags", test_multiple_tags) ==
	    NULL ||
	    CU_add_test(s, "examples: all images", test_all_images) == NULL ||
	    CU_add_test(s, "ages and counts", test_age_and_count) == NULL ||
	    CU_add_test(s, "sinceImagePulled", test_pulled) == NULL ||
	    CU_add_test(s, "storage classes", test_storage_classes) == NULL ||
	    CU_add_test(s, "restored images", test_restored) == NULL ||
	    CU_add_test(s, "manifest lists", test_indexes) == NULL ||
	    CU_add_test(s, "referrers", test_referrers) == NULL ||
	    CU_add_test(s, "odd graphs", test_odd_graphs) == NULL ||
	    CU_add_test(s, "reuse", test_reuse) == NULL ||
	    CU_add_test(s, "against the reference", test_against_reference) ==
	    NULL)
		return -1;
	return 0;
}
