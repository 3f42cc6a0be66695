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
 * The lifecycle policy parser and validator.  ECR checks a policy in two
 * passes, and so does this file: first the document's shape, as a JSON
 * schema would (ECR's messages are those of a JSON-schema validator:
 * "object has missing required properties ([...])" and the like; here
 * each also says where, as a JSON pointer), then the rules' meaning, in
 * the sentences ECR uses where they are known ("Only one rule can select
 * Untagged images per storage class.").  The properties and their
 * combinations are those of the User Guide's "Lifecycle policy
 * properties" page (lifecycle_policy_parameters.html), the cross-rule
 * constraints those of "How lifecycle policies work"
 * (LifecyclePolicies.html) and the archive constraints the Important boxes
 * of "Examples of lifecycle policies" (lifecycle_policy_examples.html).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "lifecycle.h"
#include "log.h"
#include "util.h"

#define POLICY_JSON_DEPTH	16
#define INT_MAX_TEXT		"2147483647"

/* A tagPrefixList entry (one segment matched at the start of a tag) or a
 * tagPatternList entry (segments between the '*'s, matched in order). */
struct lifecycle_pattern {
	char		*text;
	int		 prefix;
	const char	*seg[LIFECYCLE_WILDCARDS_MAX + 1];
	size_t		 seglen[LIFECYCLE_WILDCARDS_MAX + 1];
	size_t		 nseg;
	size_t		 minlen;	/* of a matching tag */
};

struct parse {
	const char	*member;
	char		*message;
};

/* What a rule said beyond what struct lifecycle_rule keeps. */
struct rule_form {
	int		 has_prefixes;
	int		 has_patterns;
	int		 has_count_unit;
	int		 has_storage_class;
	int		 has_target;
};

static const char *const tag_statuses[] = { "tagged", "untagged", "any" };
static const char *const count_types[] = { "imageCountMoreThan",
    "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned" };
static const char *const count_units[] = { "days" };
static const char *const storage_classes[] = { "standard", "archive" };
static const char *const action_types[] = { "expire", "transition" };
static const char *const target_classes[] = { "archive" };

static int	 fail(struct parse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
fail(struct parse *p, const char *fmt, ...)
{
	va_list	 ap;
	char	*detail;

	va_start(ap, fmt);
	if (vasprintf(&detail, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	free(p->message);
	xasprintf(&p->message, "Invalid parameter at '%s' failed to satisfy "
	    "constraint: 'Lifecycle policy validation failure: %s'", p->member,
	    detail);
	free(detail);
	return -1;
}

/* A JSON value as a schema validator quotes it: "x", 12, ["a","b"]. */
static const char *
json_text(struct json_object *v)
{
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
}

static const char *
json_kind(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "boolean";
	case json_type_double:
		return "number";
	case json_type_int:
		return "integer";
	case json_type_object:
		return "object";
	case json_type_array:
		return "array";
	case json_type_string:
		break;
	}
	return "string";
}

static int
want_type(struct parse *p, struct json_object *v, enum json_type type,
    const char *name, const char *path)
{
	if (v != NULL && json_object_is_type(v, type))
		return 0;
	return fail(p, "instance type (%s) does not match any allowed "
	    "primitive type (allowed: [\"%s\"]) at %s", json_kind(v), name,
	    path);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names as a JSON array, sorted, as the validator lists them. */
static int
fail_names(struct parse *p, const char *what, const char **names, size_t n,
    const char *path)
{
	struct json_object *list = json_object_new_array();
	size_t		 i;
	int		 rc;

	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++)
		json_object_array_add(list, json_object_new_string(names[i]));
	rc = fail(p, "%s (%s) at %s", what, json_text(list), path);
	json_object_put(list);
	return rc;
}

static int
in_list(const char *name, const char *const *list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

/* An object with only the allowed properties and all the required ones. */
static int
check_object(struct parse *p, struct json_object *o, const char *path,
    const char *const *allowed, size_t nallowed,
    const char *const *required, size_t nrequired)
{
	struct json_object_iterator it, end;
	struct json_object *v;
	const char	**names;
	const char	*name;
	size_t		 i, n = 0;
	int		 rc = 0;

	if (want_type(p, o, json_type_object, "object", path) == -1)
		return -1;
	names = xcalloc(json_object_object_length(o) + nrequired + 1,
	    sizeof(*names));
	for (i = 0; i < nrequired; i++)
		if (!json_object_object_get_ex(o, required[i], &v))
			names[n++] = required[i];
	if (n > 0) {
		rc = fail_names(p, "object has missing required properties",
		    names, n, path);
		goto out;
	}
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if (!in_list(name, allowed, nallowed))
			names[n++] = name;
	}
	if (n > 0)
		rc = fail_names(p, "object instance has properties which are "
		    "not allowed by the schema:", names, n, path);
out:
	free(names);
	return rc;
}

/* Whether o has key; *vp is its value (NULL for a JSON null). */
static int
get(struct json_object *o, const char *key, struct json_object **vp)
{
	*vp = NULL;
	return json_object_object_get_ex(o, key, vp);
}

/* An integer from min to INT_MAX (ECR maps it to a Java int). */
static int
want_int(struct parse *p, struct json_object *v, int min, const char *path,
    int *out)
{
	int64_t	 n;

	if (want_type(p, v, json_type_int, "integer", path) == -1)
		return -1;
	n = json_object_get_int64(v);
	if (n < min)
		return fail(p, "numeric instance is lower than the required "
		    "minimum (minimum: %d, found: %s) at %s", min, json_text(v),
		    path);
	if (n > 2147483647)
		return fail(p, "numeric instance is greater than the required "
		    "maximum (maximum: " INT_MAX_TEXT ", found: %s) at %s",
		    json_text(v), path);
	*out = (int)n;
	return 0;
}

/* A string among values; *out is its index. */
static int
want_enum(struct parse *p, struct json_object *v, const char *const *values,
    size_t n, const char *path, int *out)
{
	struct json_object *list;
	size_t		 i;
	int		 rc;

	if (want_type(p, v, json_type_string, "string", path) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(json_object_get_string(v), values[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	list = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(list, json_object_new_string(values[i]));
	rc = fail(p, "instance value (%s) not found in enum (possible values: "
	    "%s) at %s", json_text(v), json_text(list), path);
	json_object_put(list);
	return rc;
}

/* Member key of o as an enum: 1 (*out set), 0 if absent, -1 if invalid. */
static int
enum_member(struct parse *p, struct json_object *o, const char *path,
    const char *key, const char *const *values, size_t n, int *out)
{
	struct json_object *v;
	char		 sub[96];

	if (!get(o, key, &v))
		return 0;
	snprintf(sub, sizeof(sub), "%s/%s", path, key);
	return want_enum(p, v, values, n, sub, out) == -1 ? -1 : 1;
}

static int
pattern_compile(struct lifecycle_pattern *pat, const char *text, int prefix)
{
	char	*s, *star;

	memset(pat, 0, sizeof(*pat));
	pat->text = s = xstrdup(text);
	pat->prefix = prefix;
	for (;;) {
		star = prefix ? NULL : strchr(s, '*');
		if (pat->nseg == nitems(pat->seg))
			return -1;
		pat->seg[pat->nseg] = s;
		pat->seglen[pat->nseg] = star != NULL ? (size_t)(star - s) :
		    strlen(s);
		pat->minlen += pat->seglen[pat->nseg++];
		if (star == NULL)
			return 0;
		*star = '\0';
		s = star + 1;
	}
}

/* tagPrefixList or tagPatternList: at least one non-empty string. */
static int
parse_tag_list(struct parse *p, struct json_object *v, const char *path,
    struct lifecycle_rule *r, int prefix)
{
	struct json_object *s;
	char		 sub[96];
	size_t		 i, n;
	int		 rc;

	if (want_type(p, v, json_type_array, "array", path) == -1)
		return -1;
	if ((n = json_object_array_length(v)) == 0)
		return fail(p, "array is too short: must have at least 1 "
		    "elements but instance has 0 elements at %s", path);
	if (r->tags != NULL)		/* both lists: the rule check says so */
		return 0;
	r->tags = xcalloc(n, sizeof(*r->tags));
	r->patterns = xcalloc(n, sizeof(*r->patterns));
	r->tag_prefixes = prefix;
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s/%zu", path, i);
		s = json_object_array_get_idx(v, i);
		if (want_type(p, s, json_type_string, "string", sub) == -1)
			return -1;
		if (json_object_get_string_len(s) == 0)
			return fail(p, "string \"\" is too short (length: 0, "
			    "required minimum: 1) at %s", sub);
		r->tags[r->ntags] = xstrdup(json_object_get_string(s));
		rc = pattern_compile(&r->patterns[r->ntags], r->tags[r->ntags],
		    prefix);
		r->ntags++;
		/* lifecycle_policy_parameters.html, "Tag pattern list":
		 * "a maximum limit of four wildcards (*) per string". */
		if (rc == -1)
			return fail(p, "A tagPatternList entry may contain "
			    "at most four wildcards (*): %s has more "
			    "(rulePriority %d)", json_text(s), r->priority);
	}
	return 0;
}

static int
parse_selection(struct parse *p, struct json_object *o, const char *rpath,
    struct lifecycle_rule *r, struct rule_form *f)
{
	static const char *const keys[] = { "countNumber", "countType",
	    "countUnit", "storageClass", "tagPatternList", "tagPrefixList",
	    "tagStatus" };
	static const char *const need[] = { "countNumber", "countType",
	    "tagStatus" };
	struct json_object *v;
	char		 path[64], sub[96];
	int		 n;

	snprintf(path, sizeof(path), "%s/selection", rpath);
	if (check_object(p, o, path, keys, nitems(keys), need,
	    nitems(need)) == -1)
		return -1;
	if (enum_member(p, o, path, "tagStatus", tag_statuses,
	    nitems(tag_statuses), &n) == -1)
		return -1;
	r->tag_status = (enum lifecycle_tag_status)n;
	if (enum_member(p, o, path, "countType", count_types,
	    nitems(count_types), &n) == -1)
		return -1;
	r->count_type = (enum lifecycle_count_type)n;
	snprintf(sub, sizeof(sub), "%s/countNumber", path);
	get(o, "countNumber", &v);
	if (want_int(p, v, 1, sub, &r->count_number) == -1)
		return -1;
	if ((f->has_count_unit = enum_member(p, o, path, "countUnit",
	    count_units, nitems(count_units), &n)) == -1)
		return -1;
	n = 0;
	if ((f->has_storage_class = enum_member(p, o, path, "storageClass",
	    storage_classes, nitems(storage_classes), &n)) == -1)
		return -1;
	r->storage_class = n == 0 ? LIFECYCLE_STANDARD : LIFECYCLE_ARCHIVE;
	if ((f->has_prefixes = get(o, "tagPrefixList", &v))) {
		snprintf(sub, sizeof(sub), "%s/tagPrefixList", path);
		if (parse_tag_list(p, v, sub, r, 1) == -1)
			return -1;
	}
	if ((f->has_patterns = get(o, "tagPatternList", &v))) {
		snprintf(sub, sizeof(sub), "%s/tagPatternList", path);
		if (parse_tag_list(p, v, sub, r, 0) == -1)
			return -1;
	}
	return 0;
}

static int
parse_action(struct parse *p, struct json_object *o, const char *rpath,
    struct lifecycle_rule *r, struct rule_form *f)
{
	static const char *const keys[] = { "targetStorageClass", "type" };
	static const char *const need[] = { "type" };
	char		 path[64];
	int		 n;

	snprintf(path, sizeof(path), "%s/action", rpath);
	if (check_object(p, o, path, keys, nitems(keys), need,
	    nitems(need)) == -1)
		return -1;
	if (enum_member(p, o, path, "type", action_types,
	    nitems(action_types), &n) == -1)
		return -1;
	r->action = n == 0 ? LIFECYCLE_EXPIRE : LIFECYCLE_TRANSITION;
	f->has_target = enum_member(p, o, path, "targetStorageClass",
	    target_classes, nitems(target_classes), &n);
	return f->has_target == -1 ? -1 : 0;
}

/* The combinations lifecycle_policy_parameters.html allows. */
static int
check_rule(struct parse *p, const struct lifecycle_rule *r,
    const struct rule_form *f)
{
	int	 since = r->count_type != LIFECYCLE_IMAGE_COUNT_MORE_THAN;

	if (r->tag_status == LIFECYCLE_TAGGED && !f->has_prefixes &&
	    !f->has_patterns)
		return fail(p, "Must specify tagPrefixList or tagPatternList "
		    "when tagStatus=TAGGED. (rulePriority %d)", r->priority);
	if (r->tag_status != LIFECYCLE_TAGGED &&
	    (f->has_prefixes || f->has_patterns))
		return fail(p, "tagPrefixList and tagPatternList may only be "
		    "used when tagStatus=TAGGED. (rulePriority %d)",
		    r->priority);
	/* LifecyclePolicies.html: "either tagPatternList or tagPrefixList,
	 * but not both". */
	if (f->has_prefixes && f->has_patterns)
		return fail(p, "A rule may specify either tagPatternList or "
		    "tagPrefixList, but not both. (rulePriority %d)",
		    r->priority);
	if (since && !f->has_count_unit)
		return fail(p, "countUnit is required when countType=%s. "
		    "(rulePriority %d)", count_types[r->count_type],
		    r->priority);
	if (!since && f->has_count_unit)
		return fail(p, "countUnit may only be specified when countType "
		    "is sinceImagePushed, sinceImagePulled or "
		    "sinceImageTransitioned. (rulePriority %d)", r->priority);
	/* lifecycle_policy_examples.html, Important boxes: sinceImagePulled
	 * only transitions, sinceImageTransitioned only expires archived
	 * images, and only after 90 days in the archive. */
	if (r->count_type == LIFECYCLE_SINCE_IMAGE_PULLED &&
	    r->action != LIFECYCLE_TRANSITION)
		return fail(p, "countType=sinceImagePulled must be used with "
		    "the transition action. (rulePriority %d)", r->priority);
	if (r->count_type == LIFECYCLE_SINCE_IMAGE_TRANSITIONED) {
		if (r->storage_class != LIFECYCLE_ARCHIVE)
			return fail(p, "countType=sinceImageTransitioned "
			    "requires storageClass=archive. (rulePriority %d)",
			    r->priority);
		if (r->action != LIFECYCLE_EXPIRE)
			return fail(p, "countType=sinceImageTransitioned must "
			    "be used with the expire action. (rulePriority %d)",
			    r->priority);
		if (r->count_number < LIFECYCLE_ARCHIVE_DAYS)
			return fail(p, "Images must be in archive storage for "
			    "a minimum of %d days before deletion: "
			    "countNumber %d is too small. (rulePriority %d)",
			    LIFECYCLE_ARCHIVE_DAYS, r->count_number,
			    r->priority);
	} else if (r->storage_class == LIFECYCLE_ARCHIVE)
		return fail(p, "storageClass=archive may only be used with "
		    "countType=sinceImageTransitioned. (rulePriority %d)",
		    r->priority);
	if (r->action == LIFECYCLE_TRANSITION && !f->has_target)
		return fail(p, "targetStorageClass is required when the action "
		    "type is transition. (rulePriority %d)", r->priority);
	if (r->action != LIFECYCLE_TRANSITION && f->has_target)
		return fail(p, "targetStorageClass may only be used when the "
		    "action type is transition. (rulePriority %d)",
		    r->priority);
	return 0;
}

static int
parse_rule(struct parse *p, struct json_object *o, size_t i,
    struct lifecycle_rule *r)
{
	static const char *const keys[] = { "action", "description",
	    "rulePriority", "selection" };
	static const char *const need[] = { "action", "rulePriority",
	    "selection" };
	struct rule_form f;
	struct json_object *v;
	char		 path[32], sub[64];

	memset(&f, 0, sizeof(f));
	snprintf(path, sizeof(path), "/rules/%zu", i);
	if (check_object(p, o, path, keys, nitems(keys), need,
	    nitems(need)) == -1)
		return -1;
	snprintf(sub, sizeof(sub), "%s/rulePriority", path);
	get(o, "rulePriority", &v);
	if (want_int(p, v, 1, sub, &r->priority) == -1)
		return -1;
	if (get(o, "description", &v)) {
		snprintf(sub, sizeof(sub), "%s/description", path);
		if (want_type(p, v, json_type_string, "string", sub) == -1)
			return -1;
		r->description = xstrdup(json_object_get_string(v));
	}
	get(o, "selection", &v);
	if (parse_selection(p, v, path, r, &f) == -1)
		return -1;
	get(o, "action", &v);
	if (parse_action(p, v, path, r, &f) == -1)
		return -1;
	return check_rule(p, r, &f);
}

static int
rule_cmp(const void *a, const void *b)
{
	const struct lifecycle_rule *ra = a, *rb = b;

	return ra->priority < rb->priority ? -1 : ra->priority > rb->priority;
}

static const char *
class_name(enum lifecycle_storage class)
{
	return class == LIFECYCLE_ARCHIVE ? "archive" : "standard";
}

/* The same tags, in any order, repeated or not. */
static int
same_tags(const struct lifecycle_rule *a, const struct lifecycle_rule *b)
{
	size_t	 i;

	if (a->tag_prefixes != b->tag_prefixes)
		return 0;
	for (i = 0; i < a->ntags; i++)
		if (!in_list(a->tags[i], (const char *const *)b->tags,
		    b->ntags))
			return 0;
	for (i = 0; i < b->ntags; i++)
		if (!in_list(b->tags[i], (const char *const *)a->tags,
		    a->ntags))
			return 0;
	return 1;
}

/*
 * The constraints between rules, of LifecyclePolicies.html ("How lifecycle
 * policies work") and lifecycle_policy_parameters.html ("Rule priority"),
 * on rules sorted by priority.  The archive example of
 * lifecycle_policy_examples.html has an "any" rule in each storage class,
 * and ECR's own message says "per storage class", so the "any" and
 * "untagged" constraints hold within one storage class.
 */
static int
check_policy(struct parse *p, const struct lifecycle_policy *pol)
{
	const struct lifecycle_rule *r, *q;
	size_t		 i, j;

	for (i = 1; i < pol->nrules; i++)
		if (pol->rules[i].priority == pol->rules[i - 1].priority)
			return fail(p, "Rule priorities must be unique: "
			    "rulePriority %d is used by more than one rule.",
			    pol->rules[i].priority);
	for (i = 0; i < pol->nrules; i++) {
		r = &pol->rules[i];
		for (j = i + 1; j < pol->nrules; j++) {
			q = &pol->rules[j];
			if (q->storage_class != r->storage_class)
				continue;
			if (r->tag_status == LIFECYCLE_ANY)
				return fail(p, "Rule for tagStatus=ANY must "
				    "have the lowest priority per storage "
				    "class. (rulePriority %d selects any %s "
				    "image but rulePriority %d comes after "
				    "it)", r->priority,
				    class_name(r->storage_class), q->priority);
			if (r->tag_status == LIFECYCLE_UNTAGGED &&
			    q->tag_status == LIFECYCLE_UNTAGGED)
				return fail(p, "Only one rule can select "
				    "Untagged images per storage class. "
				    "(rulePriority %d and %d both select "
				    "untagged %s images)", r->priority,
				    q->priority, class_name(r->storage_class));
			if (r->tag_status == LIFECYCLE_TAGGED &&
			    q->tag_status == LIFECYCLE_TAGGED &&
			    same_tags(r, q))
				return fail(p, "The rules selecting a storage "
				    "class must contain a unique set of "
				    "prefixes. (rulePriority %d and %d select "
				    "the same tags of %s images)", r->priority,
				    q->priority, class_name(r->storage_class));
		}
	}
	return 0;
}

static size_t
utf8_chars(const char *s, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

static int
parse_policy(struct parse *p, const char *text, size_t len,
    struct lifecycle_policy *pol)
{
	static const char *const keys[] = { "rules" };
	struct json_object *doc, *rules;
	size_t		 i, n, nchars;
	int		 rc = -1;

	if ((nchars = utf8_chars(text, len)) > LIFECYCLE_TEXT_MAX)
		return fail(p, "A lifecycle policy has at most %d characters; "
		    "this one has %zu.", LIFECYCLE_TEXT_MAX, nchars);
	if ((doc = json_parse_strict(text, len, POLICY_JSON_DEPTH)) == NULL ||
	    !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		return fail(p, "Could not map policyString into "
		    "LifecyclePolicy.");
	}
	if (check_object(p, doc, "/", keys, nitems(keys), keys,
	    nitems(keys)) == -1)
		goto out;
	get(doc, "rules", &rules);
	if (want_type(p, rules, json_type_array, "array", "/rules") == -1)
		goto out;
	if ((n = json_object_array_length(rules)) == 0) {
		fail(p, "array is too short: must have at least 1 elements but "
		    "instance has 0 elements at /rules");
		goto out;
	}
	if (n > LIFECYCLE_RULES_MAX) {
		fail(p, "array is too long: must have at most %d elements but "
		    "instance has %zu elements at /rules", LIFECYCLE_RULES_MAX,
		    n);
		goto out;
	}
	pol->rules = xcalloc(n, sizeof(*pol->rules));
	for (i = 0; i < n; i++) {
		pol->nrules++;
		if (parse_rule(p, json_object_array_get_idx(rules, i), i,
		    &pol->rules[i]) == -1)
			goto out;
	}
	qsort(pol->rules, pol->nrules, sizeof(*pol->rules), rule_cmp);
	rc = check_policy(p, pol);
out:
	json_object_put(doc);
	return rc;
}

int
lifecycle_policy_parse(const char *text, size_t len, const char *member,
    struct lifecycle_policy **policyp, char **messagep)
{
	struct lifecycle_policy *pol = xcalloc(1, sizeof(*pol));
	struct parse	 p = { member, NULL };

	if (parse_policy(&p, text, len, pol) == -1) {
		lifecycle_policy_free(pol);
		*messagep = p.message;
		return -1;
	}
	if (policyp != NULL)
		*policyp = pol;
	else
		lifecycle_policy_free(pol);
	return 0;
}

void
lifecycle_policy_free(struct lifecycle_policy *pol)
{
	struct lifecycle_rule *r;
	size_t		 i, j;

	if (pol == NULL)
		return;
	for (i = 0; i < pol->nrules; i++) {
		r = &pol->rules[i];
		free(r->description);
		for (j = 0; j < r->ntags; j++) {
			free(r->tags[j]);
			free(r->patterns[j].text);
		}
		free(r->tags);
		free(r->patterns);
	}
	free(pol->rules);
	free(pol);
}

/* A glob whose only wildcard is '*': the first segment starts the tag,
 * the last ends it, the others follow in order in between. */
static int
pattern_match(const struct lifecycle_pattern *pat, const char *tag,
    size_t len)
{
	const char	*s = tag, *end = tag + len, *hit;
	size_t		 i, last = pat->nseg - 1;

	if (len < pat->minlen || memcmp(tag, pat->seg[0], pat->seglen[0]) != 0)
		return 0;
	if (pat->prefix)
		return 1;
	if (last == 0)
		return len == pat->seglen[0];
	if (memcmp(end - pat->seglen[last], pat->seg[last],
	    pat->seglen[last]) != 0)
		return 0;
	s += pat->seglen[0];
	end -= pat->seglen[last];
	for (i = 1; i < last; i++) {
		if ((hit = memmem(s, (size_t)(end - s), pat->seg[i],
		    pat->seglen[i])) == NULL)
			return 0;
		s = hit + pat->seglen[i];
	}
	return 1;
}

/*
 * LifecyclePolicies.html: "An image is successfully matched if all of the
 * tags in the tagPatternList or tagPrefixList value are matched against
 * any of the image's tags."  So every entry must match some tag.
 */
int
lifecycle_rule_selects_tags(const struct lifecycle_rule *r,
    const char *const *tags, size_t ntags)
{
	size_t	 i, j;

	switch (r->tag_status) {
	case LIFECYCLE_ANY:
		return 1;
	case LIFECYCLE_UNTAGGED:
		return ntags == 0;
	case LIFECYCLE_TAGGED:
		break;
	}
	if (ntags == 0)
		return 0;
	for (i = 0; i < r->ntags; i++) {
		for (j = 0; j < ntags; j++)
			if (pattern_match(&r->patterns[i], tags[j],
			    strlen(tags[j])))
				break;
		if (j == ntags)
			return 0;
	}
	return 1;
}
