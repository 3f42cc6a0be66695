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
 * The lifecycle policy parser on arbitrary bytes, and the evaluator on
 * every policy it accepts.  A refusal must carry AWS's message form; an
 * accepted policy must keep the documented invariants (1 to 50 rules,
 * unique priorities in order, the allowed combinations) and its
 * evaluation over a small repository with an index, referrers and
 * archived images must act on each image at most once, by one of the
 * policy's rules or by following a subject, in an order that lists
 * exactly the images acted on.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "log.h"

#define PREFIX	"Invalid parameter at 'LifecyclePolicyText' failed to " \
		"satisfy constraint: 'Lifecycle policy validation failure: "
#define DAY	LIFECYCLE_DAY_MS
#define NOW	(1750000000000LL)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const tags_a[] = { "prod-1", "v1.0" };
static const char *const tags_b[] = { "beta-2" };
static const char *const tags_c[] = { "test-1-2-3", "main-sha-1f" };
static const char *const tags_d[] = { "alpha-4", "latest" };
static const uint32_t index_children[] = { 2, 3 };

static void
repository(struct lifecycle_image *im, size_t n)
{
	size_t	 i;

	memset(im, 0, n * sizeof(*im));
	for (i = 0; i < n; i++) {
		im[i].pushed_ms = NOW - (int64_t)(i * 37 % 400) * DAY;
		im[i].storage = LIFECYCLE_STANDARD;
		im[i].subject = LIFECYCLE_NO_SUBJECT;
	}
	im[0].tags = tags_a;
	im[0].ntags = 2;
	im[1].tags = tags_b;
	im[1].ntags = 1;
	im[1].children = index_children;
	im[1].nchildren = 2;
	im[4].tags = tags_c;
	im[4].ntags = 2;
	im[5].tags = tags_d;
	im[5].ntags = 2;
	im[5].pulled_ms = NOW - 3 * DAY;
	im[6].subject = 0;
	im[7].subject = 6;
	im[8].subject = LIFECYCLE_SUBJECT_GONE;
	im[9].storage = LIFECYCLE_ARCHIVE;
	im[9].archived_ms = NOW - 200 * DAY;
	im[10].storage = LIFECYCLE_ARCHIVE;
	im[10].archived_ms = NOW - 100 * DAY;
	im[10].tags = tags_a;
	im[10].ntags = 1;
	im[11].storage = LIFECYCLE_ACTIVATING;
	im[12].archived_ms = NOW - 150 * DAY;
	im[12].activated_ms = NOW - 40 * DAY;
	im[13].subject = 9;
}

static void
check_policy(const struct lifecycle_policy *pol)
{
	const struct lifecycle_rule *r;
	size_t	 i;

	if (pol->nrules == 0 || pol->nrules > LIFECYCLE_RULES_MAX)
		abort();
	for (i = 0; i < pol->nrules; i++) {
		r = &pol->rules[i];
		if (r->priority < 1 || r->count_number < 1 ||
		    (i > 0 && r->priority <= pol->rules[i - 1].priority))
			abort();
		if ((r->tag_status == LIFECYCLE_TAGGED) != (r->ntags > 0))
			abort();
		if ((r->storage_class == LIFECYCLE_ARCHIVE) !=
		    (r->count_type == LIFECYCLE_SINCE_IMAGE_TRANSITIONED))
			abort();
		if (r->count_type == LIFECYCLE_SINCE_IMAGE_PULLED &&
		    r->action != LIFECYCLE_TRANSITION)
			abort();
		if (r->storage_class == LIFECYCLE_ARCHIVE &&
		    (r->action != LIFECYCLE_EXPIRE ||
		    r->count_number < LIFECYCLE_ARCHIVE_DAYS))
			abort();
	}
}

static void
check_evaluation(const struct lifecycle_policy *pol,
    const struct lifecycle_image *im, size_t n)
{
	struct lifecycle_eval *ev = lifecycle_eval_new();
	const struct lifecycle_verdict *v;
	const uint32_t	*order;
	uint8_t		 listed[16];
	size_t		 nacted, acted = 0, i, j;

	nacted = lifecycle_eval_run(ev, pol, im, n, NOW);
	v = lifecycle_eval_verdicts(ev);
	order = lifecycle_eval_order(ev);
	memset(listed, 0, sizeof(listed));
	for (i = 0; i < nacted; i++) {
		if (order[i] >= n || listed[order[i]]++)
			abort();
		if (v[order[i]].action == LIFECYCLE_KEEP)
			abort();
	}
	for (i = 0; i < n; i++) {
		if (v[i].action == LIFECYCLE_KEEP) {
			if (v[i].rule_priority != 0 || v[i].via_subject)
				abort();
			continue;
		}
		acted++;
		if (v[i].action == LIFECYCLE_TRANSITION &&
		    im[i].storage != LIFECYCLE_STANDARD)
			abort();
		if (v[i].rule_priority == 0 && !v[i].via_subject)
			abort();
		if (v[i].rule_priority == 0)
			continue;
		for (j = 0; j < pol->nrules; j++)
			if (pol->rules[j].priority == v[i].rule_priority)
				break;
		if (j == pol->nrules || (!v[i].via_subject &&
		    pol->rules[j].action != v[i].action))
			abort();
	}
	if (acted != nacted)
		abort();
	lifecycle_eval_free(ev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lifecycle_policy *pol = NULL;
	struct lifecycle_image images[14];
	char		*message = NULL;
	size_t		 len;

	log_init("fuzz", LOG_LVL_WARN);
	if (lifecycle_policy_parse((const char *)data, size,
	    "LifecyclePolicyText", &pol, &message) == -1) {
		len = message != NULL ? strlen(message) : 0;
		if (pol != NULL || len <= strlen(PREFIX) ||
		    strncmp(message, PREFIX, strlen(PREFIX)) != 0 ||
		    message[len - 1] != '\'')
			abort();
		free(message);
		return 0;
	}
	if (pol == NULL || message != NULL)
		abort();
	check_policy(pol);
	repository(images, 14);
	check_evaluation(pol, images, 14);
	lifecycle_policy_free(pol);
	return 0;
}
