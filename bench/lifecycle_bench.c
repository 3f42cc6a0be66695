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
 * The lifecycle evaluator's speed, without a server: one repository of
 * 100,000 images and 10,000 repositories of 10, shaped like a CI
 * registry (release tags, commit tags, untagged leftovers, multi-arch
 * indexes with their children, signatures as referrers, archived and
 * restored images), under a five-rule policy that uses every count type,
 * both actions and both storage classes.  It prints the median time per
 * image evaluated over several runs; the target is at most 2 us.  Building
 * the images is not timed; parsing the policy is timed apart.
 *
 * usage: lifecycle_bench [-q] [-k runs]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle.h"
#include "log.h"
#include "util.h"

#define NOW		1750000000000LL
#define TARGET_NS	2000.0

static const char policy_text[] = "{\"rules\": ["
    "{\"rulePriority\": 1, \"description\": \"keep 50 releases\","
    " \"selection\": {\"tagStatus\": \"tagged\", \"tagPatternList\":"
    " [\"v*.*\"], \"countType\": \"imageCountMoreThan\","
    " \"countNumber\": 50}, \"action\": {\"type\": \"expire\"}},"
    "{\"rulePriority\": 2, \"description\": \"archive commit builds\","
    " \"selection\": {\"tagStatus\": \"tagged\", \"tagPatternList\":"
    " [\"*-sha-*\"], \"countType\": \"sinceImagePushed\","
    " \"countUnit\": \"days\", \"countNumber\": 30},"
    " \"action\": {\"type\": \"transition\","
    " \"targetStorageClass\": \"archive\"}},"
    "{\"rulePriority\": 3, \"description\": \"untagged leftovers\","
    " \"selection\": {\"tagStatus\": \"untagged\", \"countType\":"
    " \"imageCountMoreThan\", \"countNumber\": 200},"
    " \"action\": {\"type\": \"expire\"}},"
    "{\"rulePriority\": 4, \"description\": \"idle images\","
    " \"selection\": {\"tagStatus\": \"any\", \"countType\":"
    " \"sinceImagePulled\", \"countUnit\": \"days\", \"countNumber\": 180},"
    " \"action\": {\"type\": \"transition\","
    " \"targetStorageClass\": \"archive\"}},"
    "{\"rulePriority\": 5, \"description\": \"old archives\","
    " \"selection\": {\"tagStatus\": \"any\", \"storageClass\": \"archive\","
    " \"countType\": \"sinceImageTransitioned\", \"countUnit\": \"days\","
    " \"countNumber\": 365}, \"action\": {\"type\": \"expire\"}}"
    "]}";

struct repo {
	struct lifecycle_image	*images;
	size_t			 n;
	char			*tag_text;	/* every tag, NUL-separated */
	const char		**tags;
	uint32_t		*children;
};

static uint64_t	 rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
next(uint32_t bound)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % bound);
}

static double
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * Images pushed over two years, newest last.  Every 20th is an index
 * whose two children follow it (untagged), every 33rd a signature of the
 * image before it; the rest carry a release tag, a commit tag, both, or
 * none.  A tenth were pulled lately, a twentieth are archived, a fiftieth
 * were restored.
 */
static void
repo_make(struct repo *r, size_t n)
{
	struct lifecycle_image *im;
	char		*t;
	size_t		 i, ntags = 0;
	uint32_t	 kind;

	r->n = n;
	r->images = xcalloc(n, sizeof(*r->images));
	r->tags = xcalloc(2 * n, sizeof(*r->tags));
	r->children = xcalloc(2 * n, sizeof(*r->children));
	t = r->tag_text = xcalloc(n, 48);
	for (i = 0; i < n; i++) {
		im = &r->images[i];
		im->pushed_ms = NOW - (int64_t)(n - i) * 730 *
		    LIFECYCLE_DAY_MS / (int64_t)n;
		im->storage = LIFECYCLE_STANDARD;
		im->subject = LIFECYCLE_NO_SUBJECT;
		im->tags = r->tags + ntags;
		if (i % 33 == 32) {
			im->subject = (int64_t)i - 1;
			continue;
		}
		if (i % 20 == 0 && i + 2 < n) {
			im->children = r->children + 2 * i;
			r->children[2 * i] = (uint32_t)(i + 1);
			r->children[2 * i + 1] = (uint32_t)(i + 2);
		} else if (i % 20 == 1 || i % 20 == 2)
			goto times;	/* an index's children */
		/* A release tag on a quarter, a commit tag on half (the
		 * releases among them), a pull request's on a quarter. */
		kind = next(4);
		if (kind == 0) {
			r->tags[ntags++] = t;
			t += sprintf(t, "v%zu.%zu", i / 1000, i % 1000) + 1;
		}
		if (kind <= 1) {
			r->tags[ntags++] = t;
			t += sprintf(t, "main-sha-%08x", next(0xffffffff)) + 1;
		} else if (kind == 2) {
			r->tags[ntags++] = t;
			t += sprintf(t, "pr-%u-sha-%06x", next(9000),
			    next(0xffffff)) + 1;
		}
		im->ntags = (size_t)(r->tags + ntags - im->tags);
		if (im->children != NULL)
			im->nchildren = 2;
times:
		if (next(10) == 0 && (im->pulled_ms = NOW - next(400) *
		    LIFECYCLE_DAY_MS) < im->pushed_ms)
			im->pulled_ms = im->pushed_ms;
		if (next(20) == 0) {
			im->storage = LIFECYCLE_ARCHIVE;
			im->archived_ms = NOW - next(500) * LIFECYCLE_DAY_MS;
		} else if (next(50) == 0) {
			im->archived_ms = NOW - 200 * LIFECYCLE_DAY_MS;
			im->activated_ms = NOW - next(100) * LIFECYCLE_DAY_MS;
		}
	}
}

static void
repo_free(struct repo *r)
{
	free(r->images);
	free(r->tags);
	free(r->children);
	free(r->tag_text);
}

static int
double_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Evaluates every repository once per run; the median ns per image. */
static double
measure(const struct lifecycle_policy *pol, struct repo *repos,
    size_t nrepos, int runs, size_t *acted)
{
	struct lifecycle_eval *ev = lifecycle_eval_new();
	double		*per_image, t0, median;
	size_t		 i, images = 0;
	int		 k;

	per_image = xcalloc((size_t)runs, sizeof(*per_image));
	for (i = 0; i < nrepos; i++)
		images += repos[i].n;
	for (k = 0; k < runs; k++) {
		*acted = 0;
		t0 = now_ns();
		for (i = 0; i < nrepos; i++)
			*acted += lifecycle_eval_run(ev, pol, repos[i].images,
			    repos[i].n, NOW);
		per_image[k] = (now_ns() - t0) / (double)images;
	}
	qsort(per_image, (size_t)runs, sizeof(*per_image), double_cmp);
	median = per_image[runs / 2];
	free(per_image);
	lifecycle_eval_free(ev);
	return median;
}

static int
report(const char *what, size_t nrepos, size_t n, double ns, size_t acted,
    int runs)
{
	printf("%-34s %8.3f us/image  (median of %d runs; %zu of %zu images "
	    "acted on)  target <= %.0f us: %s\n", what, ns / 1000, runs, acted,
	    nrepos * n, TARGET_NS / 1000, ns <= TARGET_NS ? "met" : "MISSED");
	return ns <= TARGET_NS ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct lifecycle_policy *pol;
	struct repo	 one, *many;
	char		*message;
	double		 t0, ns;
	size_t		 i, acted, nbig = 100000, nrepos = 10000;
	int		 ch, runs = 7, missed = 0;

	log_init("lifecycle_bench", LOG_LVL_WARN);
	while ((ch = getopt(argc, argv, "qk:")) != -1)
		switch (ch) {
		case 'q':
			nbig = 10000;
			nrepos = 1000;
			runs = 3;
			break;
		case 'k':
			runs = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: lifecycle_bench [-q] "
			    "[-k runs]\n");
			return 2;
		}
	if (runs < 1)
		runs = 1;

	t0 = now_ns();
	for (i = 0; i < 1000; i++) {
		if (lifecycle_policy_parse(policy_text, strlen(policy_text),
		    "LifecyclePolicyText", &pol, &message) == -1)
			fatalx("%s", message);
		lifecycle_policy_free(pol);
	}
	printf("%-34s %8.3f us/policy (%zu bytes, 5 rules)\n",
	    "parse and validate the policy", (now_ns() - t0) / 1000 / 1000,
	    sizeof(policy_text) - 1);
	if (lifecycle_policy_parse(policy_text, strlen(policy_text),
	    "LifecyclePolicyText", &pol, &message) == -1)
		fatalx("%s", message);

	repo_make(&one, nbig);
	ns = measure(pol, &one, 1, runs, &acted);
	missed += report(nbig == 100000 ? "1 repository of 100,000 images" :
	    "1 repository of 10,000 images", 1, nbig, ns, acted, runs);
	repo_free(&one);

	many = xcalloc(nrepos, sizeof(*many));
	for (i = 0; i < nrepos; i++)
		repo_make(&many[i], 10);
	ns = measure(pol, many, nrepos, runs, &acted);
	missed += report(nrepos == 10000 ? "10,000 repositories of 10 images" :
	    "1,000 repositories of 10 images", nrepos, 10, ns, acted, runs);
	for (i = 0; i < nrepos; i++)
		repo_free(&many[i]);
	free(many);
	lifecycle_policy_free(pol);
	return missed;
}
