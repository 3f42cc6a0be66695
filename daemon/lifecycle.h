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
 * ECR lifecycle policies: the parser and validator of a policy's text
 * (lifecycle_policy.c) and the evaluator that decides which images of one
 * repository a policy expires or archives, and by which rule
 * (lifecycle_eval.c).  Both are pure: they know nothing of berth's model,
 * do no I/O and read no clock, so that a preview, a scheduled run and a
 * repository creation template all use exactly the same code.  The rules
 * they implement, each with the AWS page it comes from, are listed in
 * berth-lifecycle(7).
 */
#ifndef BERTH_LIFECYCLE_H
#define BERTH_LIFECYCLE_H

#include <stddef.h>
#include <stdint.h>

#define LIFECYCLE_TEXT_MAX	30720	/* characters (service quotas) */
#define LIFECYCLE_RULES_MAX	50	/* rules per policy (service quotas) */
#define LIFECYCLE_WILDCARDS_MAX	4	/* '*' per tagPatternList entry */
#define LIFECYCLE_ARCHIVE_DAYS	90	/* minimum stay in the archive */
#define LIFECYCLE_DAY_MS	(24 * 60 * 60 * 1000LL)

enum lifecycle_tag_status {
	LIFECYCLE_TAGGED,
	LIFECYCLE_UNTAGGED,
	LIFECYCLE_ANY
};

enum lifecycle_count_type {
	LIFECYCLE_IMAGE_COUNT_MORE_THAN,
	LIFECYCLE_SINCE_IMAGE_PUSHED,
	LIFECYCLE_SINCE_IMAGE_PULLED,
	LIFECYCLE_SINCE_IMAGE_TRANSITIONED
};

/* An image's storage class; ACTIVATING is an archived image on its way
 * back to STANDARD, which no rule selects. */
enum lifecycle_storage {
	LIFECYCLE_STANDARD,
	LIFECYCLE_ARCHIVE,
	LIFECYCLE_ACTIVATING
};

enum lifecycle_action {
	LIFECYCLE_KEEP,
	LIFECYCLE_EXPIRE,
	LIFECYCLE_TRANSITION		/* to the archive storage class */
};

struct lifecycle_pattern;		/* a compiled tagPatternList entry */

struct lifecycle_rule {
	int			 priority;	/* rulePriority, >= 1 */
	char			*description;	/* NULL if none */
	enum lifecycle_tag_status tag_status;
	int			 tag_prefixes;	/* tags: 1 tagPrefixList, 0
						   tagPatternList */
	char			**tags;
	size_t			 ntags;		/* 0 unless TAGGED */
	enum lifecycle_storage	 storage_class;	/* STANDARD or ARCHIVE */
	enum lifecycle_count_type count_type;
	int			 count_number;	/* images, or days */
	enum lifecycle_action	 action;	/* EXPIRE or TRANSITION */
	struct lifecycle_pattern *patterns;	/* ntags of them, or NULL */
};

struct lifecycle_policy {
	struct lifecycle_rule	*rules;		/* by priority, lowest first */
	size_t			 nrules;	/* 1 to LIFECYCLE_RULES_MAX */
};

/* --- lifecycle_policy.c --------------------------------------------------- */

/*
 * Parses and validates a lifecycle policy's text as ECR does.  Returns 0,
 * with *policyp set when policyp is not NULL (free it with
 * lifecycle_policy_free), or -1 with *messagep set to a malloc'd message
 * in AWS's words for an InvalidParameterException: "Invalid parameter at
 * '<member>' failed to satisfy constraint: 'Lifecycle policy validation
 * failure: ...'", member being the request member that carried the text
 * (PutLifecyclePolicy's is "LifecyclePolicyText").
 */
int	 lifecycle_policy_parse(const char *text, size_t len,
	    const char *member, struct lifecycle_policy **policyp,
	    char **messagep);
void	 lifecycle_policy_free(struct lifecycle_policy *);
/* Whether a rule's tagStatus and tag lists select an image with these
 * tags (its storage class aside). */
int	 lifecycle_rule_selects_tags(const struct lifecycle_rule *,
	    const char *const *tags, size_t ntags);

/* --- lifecycle_eval.c ----------------------------------------------------- */

#define LIFECYCLE_NO_SUBJECT	(-1)	/* not a referrer */
#define LIFECYCLE_SUBJECT_GONE	(-2)	/* a referrer whose subject is not
					   in the repository */

/* One image of the repository as the evaluator sees it.  Times are ms
 * since the epoch, 0 for never. */
struct lifecycle_image {
	const char *const *tags;
	size_t		 ntags;
	int64_t		 pushed_ms;
	int64_t		 pulled_ms;	/* lastRecordedPullTime */
	int64_t		 archived_ms;	/* lastArchivedAt */
	int64_t		 activated_ms;	/* lastActivatedAt (restored) */
	enum lifecycle_storage storage;
	/* An index: the images it lists, as indexes into the same array. */
	const uint32_t	*children;
	size_t		 nchildren;
	/* A referrer: the index of its subject, or one of the values above. */
	int64_t		 subject;
};

/* What happens to one image. */
struct lifecycle_verdict {
	enum lifecycle_action action;
	int		 rule_priority;	/* appliedRulePriority; 0 when the
					   image follows a subject that no
					   rule acted on in this run */
	int		 via_subject;	/* a referrer following its subject */
};

struct lifecycle_eval;

struct lifecycle_eval *lifecycle_eval_new(void);
void	 lifecycle_eval_free(struct lifecycle_eval *);
/*
 * Evaluates the policy over a repository's images at now_ms and returns
 * how many images it acts on.  The verdicts (one per image, in the
 * array's order) and the order to act in stay valid until the next run
 * or the free.  Images that tie on their push time are ordered by their
 * place in the array, so a caller passes them in a stable order (berth:
 * by digest).
 */
size_t	 lifecycle_eval_run(struct lifecycle_eval *,
	    const struct lifecycle_policy *, const struct lifecycle_image *,
	    size_t nimages, int64_t now_ms);
const struct lifecycle_verdict *lifecycle_eval_verdicts(
	    const struct lifecycle_eval *);
/*
 * The images acted on (as indexes), in an order that never breaks what
 * stays: referrers before their subject, an index before the images it
 * lists, then oldest first (by push time, or archive time for rules on
 * archived images).
 */
const uint32_t *lifecycle_eval_order(const struct lifecycle_eval *);

#endif
