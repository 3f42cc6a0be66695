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
 * The lifecycle policy parser and validator: every policy of the User
 * Guide's examples page is accepted, every property and combination the
 * properties page forbids is refused with its message, and tag prefixes
 * and patterns select as "How lifecycle policies work" says.  Pages are
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/<page>.html.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "test_lifecycle.h"
#include "unit.h"
#include "util.h"

#define PREFIXES(l)	"\"tagStatus\": \"tagged\", \"tagPrefixList\": " l ", "
#define PATTERNS(l)	"\"tagStatus\": \"tagged\", \"tagPatternList\": " l ", "
#define IN_ARCHIVE	"\"storageClass\": \"archive\", "
#define PREFIX		"Invalid parameter at 'LifecyclePolicyText' failed " \
			"to satisfy constraint: 'Lifecycle policy validation " \
			"failure: "

struct lifecycle_policy *
test_lifecycle_parse(const char *text)
{
	struct lifecycle_policy *pol = NULL;
	char	*message = NULL;

	if (lifecycle_policy_parse(text, strlen(text), "LifecyclePolicyText",
	    &pol, &message) != 0) {
		fprintf(stderr, "\nrefused: %s\n%s\n", text, message);
		free(message);
		return NULL;
	}
	return pol;
}

/* Accepted (and freed at once). */
static int
accepts(const char *text)
{
	struct lifecycle_policy *pol = test_lifecycle_parse(text);

	lifecycle_policy_free(pol);
	return pol != NULL;
}

/* Refused, with a message containing want. */
static int
refused_with(const char *text, const char *want)
{
	struct lifecycle_policy *pol = NULL;
	char	*message = NULL;
	int	 ok;

	if (lifecycle_policy_parse(text, strlen(text), "LifecyclePolicyText",
	    &pol, &message) == 0) {
		fprintf(stderr, "\naccepted: %s\n", text);
		lifecycle_policy_free(pol);
		return 0;
	}
	ok = pol == NULL && strncmp(message, PREFIX, strlen(PREFIX)) == 0 &&
	    message[strlen(message) - 1] == '\'' &&
	    strstr(message, want) != NULL;
	if (!ok)
		fprintf(stderr, "\n%s\ngave: %s\nwant: %s\n", text, message,
		    want);
	free(message);
	return ok;
}

/* Every policy of lifecycle_policy_examples.html is valid. */
static void
test_examples(void)
{
	static const char *const examples[] = {
		/* Filtering on image age */
		POLICY(RULE(1, PATTERNS("[\"prod*\"]")
		    DAYS("sinceImagePushed", 14), EXPIRE)),
		/* Filtering on last pulled time */
		POLICY(RULE(1, ANY DAYS("sinceImagePulled", 90), ARCHIVE)),
		/* Filtering on archive transition time */
		POLICY(RULE(1, ANY IN_ARCHIVE
		    DAYS("sinceImageTransitioned", 365), EXPIRE)),
		/* Filtering on image count */
		POLICY(RULE(1, UNTAGGED COUNT(1), EXPIRE)),
		/* Filtering on multiple rules, Example A */
		POLICY(RULE(1, PATTERNS("[\"prod*\"]") COUNT(1), EXPIRE) ","
		    RULE(2, PATTERNS("[\"beta*\"]") COUNT(1), EXPIRE)),
		/* Filtering on multiple tags in a single rule */
		POLICY(RULE(1, PATTERNS("[\"alpha*\", \"beta*\"]")
		    DAYS("sinceImagePushed", 5), EXPIRE)),
		/* Filtering on all images, Example B */
		POLICY(RULE(1, PATTERNS("[\"alpha*\"]") COUNT(1), EXPIRE) ","
		    RULE(2, UNTAGGED DAYS("sinceImagePushed", 1), EXPIRE) ","
		    RULE(3, ANY COUNT(1), EXPIRE)),
		/* Combining archive and expire rules: an "any" rule in
		 * each storage class */
		POLICY(RULE(1, ANY DAYS("sinceImagePushed", 30), ARCHIVE) ","
		    RULE(2, ANY IN_ARCHIVE DAYS("sinceImageTransitioned",
		    365), EXPIRE)),
		/* tagPrefixList, the older form */
		POLICY(RULE(1, PREFIXES("[\"prod\"]") COUNT(100), EXPIRE)),
		/* lifecycle_policy_parameters.html: four wildcards */
		POLICY(RULE(1, PATTERNS("[\"*test*1*2*3\", \"test*1*2*3*\"]")
		    COUNT(1), EXPIRE)),
		/* "Values don't need to be sequential", any order */
		POLICY(RULE(30, ANY COUNT(5), EXPIRE) ","
		    RULE(7, UNTAGGED COUNT(1), EXPIRE)),
		/* descriptions, storageClass standard said aloud */
		"{\"rules\":[{\"rulePriority\":1,\"description\":\"keep 3\","
		    "\"selection\":{\"tagStatus\":\"any\",\"storageClass\":"
		    "\"standard\",\"countType\":\"imageCountMoreThan\","
		    "\"countNumber\":3},\"action\":{\"type\":\"expire\"}}]}",
	};
	size_t	 i;

	for (i = 0; i < nitems(examples); i++)
		CU_ASSERT_TRUE(accepts(examples[i]));
}

/* What the parser keeps: rules by priority, every field. */
static void
test_structure(void)
{
	struct lifecycle_policy *pol;
	const struct lifecycle_rule *r;
	char	*message = NULL;

	pol = test_lifecycle_parse(POLICY(
	    RULE(9, ANY IN_ARCHIVE DAYS("sinceImageTransitioned", 100),
	    EXPIRE) ","
	    RULE(3, ANY DAYS("sinceImagePulled", 2), ARCHIVE) ","
	    "{\"rulePriority\": 1, \"description\": \"prod\", \"selection\": {"
	    PREFIXES("[\"prod\", \"v\"]") COUNT(4) "}, \"action\": {" EXPIRE
	    "}}"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(pol);
	CU_ASSERT_EQUAL_FATAL(pol->nrules, 3);
	r = &pol->rules[0];
	CU_ASSERT_EQUAL(r->priority, 1);
	CU_ASSERT_STRING_EQUAL(r->description, "prod");
	CU_ASSERT_EQUAL(r->tag_status, LIFECYCLE_TAGGED);
	CU_ASSERT_EQUAL(r->tag_prefixes, 1);
	CU_ASSERT_EQUAL_FATAL(r->ntags, 2);
	CU_ASSERT_STRING_EQUAL(r->tags[1], "v");
	CU_ASSERT_EQUAL(r->storage_class, LIFECYCLE_STANDARD);
	CU_ASSERT_EQUAL(r->count_type, LIFECYCLE_IMAGE_COUNT_MORE_THAN);
	CU_ASSERT_EQUAL(r->count_number, 4);
	CU_ASSERT_EQUAL(r->action, LIFECYCLE_EXPIRE);
	r = &pol->rules[1];
	CU_ASSERT_EQUAL(r->priority, 3);
	CU_ASSERT_PTR_NULL(r->description);
	CU_ASSERT_EQUAL(r->tag_status, LIFECYCLE_ANY);
	CU_ASSERT_EQUAL(r->count_type, LIFECYCLE_SINCE_IMAGE_PULLED);
	CU_ASSERT_EQUAL(r->action, LIFECYCLE_TRANSITION);
	r = &pol->rules[2];
	CU_ASSERT_EQUAL(r->priority, 9);
	CU_ASSERT_EQUAL(r->storage_class, LIFECYCLE_ARCHIVE);
	CU_ASSERT_EQUAL(r->count_type, LIFECYCLE_SINCE_IMAGE_TRANSITIONED);
	CU_ASSERT_EQUAL(r->count_number, 100);
	lifecycle_policy_free(pol);

	/* Validation alone, and the member named in the message. */
	CU_ASSERT_EQUAL(lifecycle_policy_parse("{}", 2, "lifecyclePolicy",
	    NULL, &message), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(message);
	CU_ASSERT_STRING_EQUAL(message, "Invalid parameter at "
	    "'lifecyclePolicy' failed to satisfy constraint: 'Lifecycle policy "
	    "validation failure: object has missing required properties "
	    "([\"rules\"]) at /'");
	free(message);
	CU_ASSERT_EQUAL(lifecycle_policy_parse(POLICY(RULE(1, ANY COUNT(1),
	    EXPIRE)), strlen(POLICY(RULE(1, ANY COUNT(1), EXPIRE))), "x", NULL,
	    &message), 0);
	lifecycle_policy_free(NULL);
}

/* The document's shape, in a JSON-schema validator's words (ECR's). */
static void
test_shape(void)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		{ "{\"rules\": [", "Could not map policyString into "
		    "LifecyclePolicy." },
		{ "[]", "Could not map policyString into LifecyclePolicy." },
		{ "{\"rules\": []} x", "Could not map policyString" },
		{ "{\"rules\": [], \"x\": 1}", "object instance has properties "
		    "which are not allowed by the schema: ([\"x\"]) at /" },
		{ "{\"rules\": {}}", "instance type (object) does not match "
		    "any allowed primitive type (allowed: [\"array\"]) at "
		    "/rules" },
		{ "{\"rules\": []}", "array is too short: must have at least 1 "
		    "elements but instance has 0 elements at /rules" },
		{ POLICY("1"), "instance type (integer) does not match any "
		    "allowed primitive type (allowed: [\"object\"]) at "
		    "/rules/0" },
		{ POLICY("{\"rulePriority\": 1}"), "object has missing "
		    "required properties ([\"action\",\"selection\"]) at "
		    "/rules/0" },
		{ POLICY("{\"rulePriority\": 1, \"selection\": {}, \"action\": "
		    "{}, \"zz\": 0, \"aa\": 0}"), "object instance has "
		    "properties which are not allowed by the schema: "
		    "([\"aa\",\"zz\"]) at /rules/0" },
		{ POLICY(RULE(0, ANY COUNT(1), EXPIRE)), "numeric instance is "
		    "lower than the required minimum (minimum: 1, found: 0) at "
		    "/rules/0/rulePriority" },
		{ POLICY(RULE(1.5, ANY COUNT(1), EXPIRE)), "instance type "
		    "(number) does not match any allowed primitive type "
		    "(allowed: [\"integer\"]) at /rules/0/rulePriority" },
		{ POLICY(RULE("1", ANY COUNT(1), EXPIRE)), "instance type "
		    "(string) does not match any allowed primitive type "
		    "(allowed: [\"integer\"])" },
		{ POLICY(RULE(2147483648, ANY COUNT(1), EXPIRE)), "numeric "
		    "instance is greater than the required maximum (maximum: "
		    "2147483647, found: 2147483648)" },
		{ POLICY("{\"rulePriority\": 1, \"description\": 5, "
		    "\"selection\": {" ANY COUNT(1) "}, \"action\": {" EXPIRE
		    "}}"), "instance type (integer) does not match any allowed "
		    "primitive type (allowed: [\"string\"]) at "
		    "/rules/0/description" },
		{ POLICY(RULE(1, "\"tagStatus\": \"any\"", EXPIRE)),
		    "object has missing required properties ([\"countNumber\","
		    "\"countType\"]) at /rules/0/selection" },
		{ POLICY(RULE(1, ANY COUNT(1) ", \"tagList\": []", EXPIRE)),
		    "properties which are not allowed by the schema: "
		    "([\"tagList\"]) at /rules/0/selection" },
		{ POLICY(RULE(1, "\"tagStatus\": \"TAGGED\", " COUNT(1),
		    EXPIRE)), "instance value (\"TAGGED\") not found in enum "
		    "(possible values: [\"tagged\",\"untagged\",\"any\"]) at "
		    "/rules/0/selection/tagStatus" },
		{ POLICY(RULE(1, ANY "\"countType\": \"sinceImageCreated\", "
		    "\"countNumber\": 1", EXPIRE)), "instance value "
		    "(\"sinceImageCreated\") not found in enum (possible "
		    "values: [\"imageCountMoreThan\",\"sinceImagePushed\","
		    "\"sinceImagePulled\",\"sinceImageTransitioned\"])" },
		{ POLICY(RULE(1, ANY "\"countType\": \"sinceImagePushed\", "
		    "\"countUnit\": \"hours\", \"countNumber\": 1", EXPIRE)),
		    "instance value (\"hours\") not found in enum (possible "
		    "values: [\"days\"]) at /rules/0/selection/countUnit" },
		{ POLICY(RULE(1, ANY COUNT(0), EXPIRE)), "numeric instance is "
		    "lower than the required minimum (minimum: 1, found: 0) at "
		    "/rules/0/selection/countNumber" },
		{ POLICY(RULE(1, ANY COUNT(-3), EXPIRE)), "(minimum: 1, found: "
		    "-3)" },
		{ POLICY(RULE(1, ANY "\"storageClass\": \"glacier\", " COUNT(1),
		    EXPIRE)), "instance value (\"glacier\") not found in enum "
		    "(possible values: [\"standard\",\"archive\"])" },
		/* null is not "absent" (Terraform users meet this one) */
		{ POLICY(RULE(1, ANY COUNT(1) ", \"countUnit\": null",
		    EXPIRE)), "instance type (null) does not match any allowed "
		    "primitive type (allowed: [\"string\"]) at "
		    "/rules/0/selection/countUnit" },
		{ POLICY(RULE(1, ANY COUNT(1), "\"type\": \"delete\"")),
		    "instance value (\"delete\") not found in enum (possible "
		    "values: [\"expire\",\"transition\"]) at "
		    "/rules/0/action/type" },
		{ POLICY(RULE(1, ANY COUNT(1), "")), "object has missing "
		    "required properties ([\"type\"]) at /rules/0/action" },
		{ POLICY(RULE(1, ANY COUNT(1), EXPIRE ", \"x\": 1")),
		    "not allowed by the schema: ([\"x\"]) at /rules/0/action" },
		{ POLICY(RULE(1, ANY DAYS("sinceImagePushed", 1),
		    "\"type\": \"transition\", \"targetStorageClass\": "
		    "\"standard\"")), "instance value (\"standard\") not found "
		    "in enum (possible values: [\"archive\"]) at "
		    "/rules/0/action/targetStorageClass" },
		{ POLICY(RULE(1, ANY DAYS("sinceImagePushed", 1),
		    "\"type\": \"transition\", \"targetStorageClass\": null")),
		    "instance type (null)" },
		{ POLICY(RULE(1, PREFIXES("\"prod\"") COUNT(1), EXPIRE)),
		    "instance type (string) does not match any allowed "
		    "primitive type (allowed: [\"array\"]) at "
		    "/rules/0/selection/tagPrefixList" },
		{ POLICY(RULE(1, PATTERNS("[]") COUNT(1), EXPIRE)), "array is "
		    "too short: must have at least 1 elements but instance has "
		    "0 elements at /rules/0/selection/tagPatternList" },
		{ POLICY(RULE(1, PATTERNS("[\"a\", 1]") COUNT(1), EXPIRE)),
		    "instance type (integer) does not match any allowed "
		    "primitive type (allowed: [\"string\"]) at "
		    "/rules/0/selection/tagPatternList/1" },
		{ POLICY(RULE(1, PREFIXES("[\"\"]") COUNT(1), EXPIRE)),
		    "string \"\" is too short (length: 0, required minimum: 1) "
		    "at /rules/0/selection/tagPrefixList/0" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		CU_ASSERT_TRUE(refused_with(cases[i].text, cases[i].message));
}

/* One rule's combinations, lifecycle_policy_parameters.html and the
 * Important boxes of lifecycle_policy_examples.html. */
static void
test_rule_combinations(void)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		/* "Tag status": tagged needs a list, untagged omits both */
		{ POLICY(RULE(4, "\"tagStatus\": \"tagged\", " COUNT(1),
		    EXPIRE)), "Must specify tagPrefixList or tagPatternList "
		    "when tagStatus=TAGGED. (rulePriority 4)" },
		{ POLICY(RULE(1, UNTAGGED "\"tagPrefixList\": [\"a\"], "
		    COUNT(1), EXPIRE)), "tagPrefixList and tagPatternList may "
		    "only be used when tagStatus=TAGGED." },
		{ POLICY(RULE(1, ANY "\"tagPatternList\": [\"a*\"], " COUNT(1),
		    EXPIRE)), "may only be used when tagStatus=TAGGED." },
		/* LifecyclePolicies.html: one list or the other */
		{ POLICY(RULE(1, PREFIXES("[\"a\"]") "\"tagPatternList\": "
		    "[\"b*\"], " COUNT(1), EXPIRE)), "A rule may specify "
		    "either tagPatternList or tagPrefixList, but not both." },
		/* "Tag pattern list": at most four wildcards per string */
		{ POLICY(RULE(2, PATTERNS("[\"test*1*2*3*4*5*6\"]") COUNT(1),
		    EXPIRE)), "A tagPatternList entry may contain at most "
		    "four wildcards (*): \"test*1*2*3*4*5*6\" has more "
		    "(rulePriority 2)" },
		{ POLICY(RULE(2, PATTERNS("[\"ok*\", \"*a*b*c*d*\"]") COUNT(1),
		    EXPIRE)), "\"*a*b*c*d*\" has more" },
		/* "Count unit": required with the since* types, an error
		 * with any other */
		{ POLICY(RULE(1, ANY "\"countType\": \"sinceImagePushed\", "
		    "\"countNumber\": 3", EXPIRE)), "countUnit is required "
		    "when countType=sinceImagePushed. (rulePriority 1)" },
		{ POLICY(RULE(1, ANY "\"countType\": \"sinceImagePulled\", "
		    "\"countNumber\": 3", ARCHIVE)), "countUnit is required "
		    "when countType=sinceImagePulled." },
		{ POLICY(RULE(1, ANY COUNT(3) ", \"countUnit\": \"days\"",
		    EXPIRE)), "countUnit may only be specified when countType "
		    "is sinceImagePushed, sinceImagePulled or "
		    "sinceImageTransitioned." },
		/* "Filtering on last pulled time": transition only */
		{ POLICY(RULE(1, ANY DAYS("sinceImagePulled", 90), EXPIRE)),
		    "countType=sinceImagePulled must be used with the "
		    "transition action." },
		/* "Filtering on archive transition time": expire, archive,
		 * and 90 days at least */
		{ POLICY(RULE(1, ANY DAYS("sinceImageTransitioned", 365),
		    EXPIRE)), "countType=sinceImageTransitioned requires "
		    "storageClass=archive." },
		{ POLICY(RULE(1, ANY "\"storageClass\": \"standard\", "
		    DAYS("sinceImageTransitioned", 365), EXPIRE)),
		    "requires storageClass=archive." },
		{ POLICY(RULE(1, ANY IN_ARCHIVE DAYS("sinceImageTransitioned",
		    365), ARCHIVE)), "countType=sinceImageTransitioned must be "
		    "used with the expire action." },
		{ POLICY(RULE(1, ANY IN_ARCHIVE DAYS("sinceImageTransitioned",
		    89), EXPIRE)), "Images must be in archive storage for a "
		    "minimum of 90 days before deletion: countNumber 89 is too "
		    "small." },
		/* "Storage class": archive only with sinceImageTransitioned */
		{ POLICY(RULE(1, ANY IN_ARCHIVE DAYS("sinceImagePushed", 1),
		    EXPIRE)), "storageClass=archive may only be used with "
		    "countType=sinceImageTransitioned." },
		{ POLICY(RULE(1, ANY IN_ARCHIVE COUNT(1), EXPIRE)),
		    "storageClass=archive may only be used with" },
		/* "Action": targetStorageClass with transition only */
		{ POLICY(RULE(1, ANY DAYS("sinceImagePushed", 1),
		    "\"type\": \"transition\"")), "targetStorageClass is "
		    "required when the action type is transition." },
		{ POLICY(RULE(1, ANY COUNT(1), EXPIRE ", "
		    "\"targetStorageClass\": \"archive\"")),
		    "targetStorageClass may only be used when the action type "
		    "is transition." },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		CU_ASSERT_TRUE(refused_with(cases[i].text, cases[i].message));
	/* The boundary case that is allowed. */
	CU_ASSERT_TRUE(accepts(POLICY(RULE(1, ANY IN_ARCHIVE
	    DAYS("sinceImageTransitioned", 90), EXPIRE))));
}

/* Between rules: LifecyclePolicies.html and "Rule priority". */
static void
test_rule_set(void)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		{ POLICY(RULE(2, ANY COUNT(1), EXPIRE) ","
		    RULE(2, UNTAGGED COUNT(1), EXPIRE)), "Rule priorities "
		    "must be unique: rulePriority 2 is used by more than one "
		    "rule." },
		/* "A rule with a tagStatus value of any must have the highest
		 * value for rulePriority and be evaluated last." */
		{ POLICY(RULE(1, ANY COUNT(5), EXPIRE) ","
		    RULE(2, UNTAGGED COUNT(1), EXPIRE)), "Rule for "
		    "tagStatus=ANY must have the lowest priority per storage "
		    "class. (rulePriority 1 selects any standard image but "
		    "rulePriority 2 comes after it)" },
		{ POLICY(RULE(3, ANY COUNT(5), EXPIRE) ","
		    RULE(4, ANY DAYS("sinceImagePushed", 9), EXPIRE)),
		    "rulePriority 3 selects any standard image" },
		/* "Only one rule selecting a specific storage class is
		 * allowed to select untagged images." */
		{ POLICY(RULE(1, UNTAGGED COUNT(5), EXPIRE) ","
		    RULE(2, UNTAGGED DAYS("sinceImagePushed", 9), EXPIRE)),
		    "Only one rule can select Untagged images per storage "
		    "class. (rulePriority 1 and 2 both select untagged "
		    "standard images)" },
		/* "The set of all rules selecting a specific storage class
		 * must contain a unique set of prefixes." */
		{ POLICY(RULE(1, PREFIXES("[\"prod\", \"v\"]") COUNT(5),
		    EXPIRE) "," RULE(2, PREFIXES("[\"v\", \"prod\", \"v\"]")
		    DAYS("sinceImagePushed", 9), EXPIRE)), "The rules "
		    "selecting a storage class must contain a unique set of "
		    "prefixes. "
		    "(rulePriority 1 and 2 select the same tags of standard "
		    "images)" },
		{ POLICY(RULE(1, PATTERNS("[\"a*\"]") COUNT(5), EXPIRE) ","
		    RULE(2, PATTERNS("[\"a*\"]") DAYS("sinceImagePulled", 9),
		    ARCHIVE)), "unique set of prefixes" },
	};
	static const char *const allowed[] = {
		/* one "any" rule per storage class */
		POLICY(RULE(1, ANY DAYS("sinceImagePulled", 9), ARCHIVE) ","
		    RULE(2, ANY IN_ARCHIVE DAYS("sinceImageTransitioned", 90),
		    EXPIRE)),
		/* one untagged rule per storage class */
		POLICY(RULE(1, UNTAGGED COUNT(1), EXPIRE) ","
		    RULE(2, UNTAGGED IN_ARCHIVE DAYS("sinceImageTransitioned",
		    90), EXPIRE)),
		/* the same tags in two storage classes */
		POLICY(RULE(1, PATTERNS("[\"a*\"]") COUNT(5), EXPIRE) ","
		    RULE(2, PATTERNS("[\"a*\"]") IN_ARCHIVE
		    DAYS("sinceImageTransitioned", 90), EXPIRE)),
		/* overlapping but different sets, and a prefix list next to a
		 * pattern list ("different rules use both") */
		POLICY(RULE(1, PREFIXES("[\"a\"]") COUNT(5), EXPIRE) ","
		    RULE(2, PREFIXES("[\"a\", \"b\"]") COUNT(5), EXPIRE) ","
		    RULE(3, PATTERNS("[\"a\"]") COUNT(5), EXPIRE)),
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		CU_ASSERT_TRUE(refused_with(cases[i].text, cases[i].message));
	for (i = 0; i < nitems(allowed); i++)
		CU_ASSERT_TRUE(accepts(allowed[i]));
}

/* Service quotas: 50 rules, 30,720 characters. */
static void
test_limits(void)
{
	struct lifecycle_policy *pol;
	char	*text, *p, *fifty = NULL;
	size_t	 i, len;

	text = xmalloc(128 * 1024);
	p = text + sprintf(text, "{\"rules\": [");
	for (i = 1; i <= 51; i++) {
		if (i == 51)
			fifty = p;
		p += sprintf(p, "%s" RULE(%zu, PREFIXES("[\"t%zu\"]")
		    COUNT(1), EXPIRE), i > 1 ? "," : "", i, i);
	}
	strcpy(p, "]}");
	CU_ASSERT_TRUE(refused_with(text, "array is too long: must have at "
	    "most 50 elements but instance has 51 elements at /rules"));
	/* 50 rules are fine. */
	strcpy(fifty, "]}");
	pol = test_lifecycle_parse(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pol);
	CU_ASSERT_EQUAL(pol->nrules, 50);
	lifecycle_policy_free(pol);

	/* Characters, not bytes: 30,720 "é" in a description fit... */
	p = text + sprintf(text, "{\"rules\": [{\"rulePriority\": 1, "
	    "\"description\": \"");
	len = LIFECYCLE_TEXT_MAX - (size_t)(p - text) - 200;
	for (i = 0; i < len; i++) {
		*p++ = (char)0xc3;
		*p++ = (char)0xa9;
	}
	strcpy(p, "\", \"selection\": {" ANY COUNT(1) "}, \"action\": {"
	    EXPIRE "}}]}");
	CU_ASSERT_TRUE(accepts(text));
	CU_ASSERT_TRUE(strlen(text) > LIFECYCLE_TEXT_MAX);
	/* ...one character more than the quota does not. */
	p = text + strlen(text);
	memset(p, ' ', LIFECYCLE_TEXT_MAX);
	p[LIFECYCLE_TEXT_MAX] = '\0';
	CU_ASSERT_TRUE(refused_with(text, "A lifecycle policy has at most "
	    "30720 characters; this one has"));
	free(text);
}

static int
selects(const char *list, int prefixes, const char *const *tags,
    size_t ntags)
{
	struct lifecycle_policy *pol;
	char	 text[512];
	int	 hit;

	snprintf(text, sizeof(text), POLICY(RULE(1, "\"tagStatus\": "
	    "\"tagged\", \"%s\": %s, " COUNT(1), EXPIRE)),
	    prefixes ? "tagPrefixList" : "tagPatternList", list);
	if ((pol = test_lifecycle_parse(text)) == NULL)
		return -1;
	hit = lifecycle_rule_selects_tags(&pol->rules[0], tags, ntags);
	lifecycle_policy_free(pol);
	return hit;
}

/* LifecyclePolicies.html on tagPatternList and tagPrefixList. */
static void
test_tag_matching(void)
{
	static const struct {
		const char *list;
		int prefixes;
		const char *tags[4];
		int want;
	} cases[] = {
		/* "prod*" matches "prod", "prod1" and "production-team1". */
		{ "[\"prod*\"]", 0, { "prod" }, 1 },
		{ "[\"prod*\"]", 0, { "prod1" }, 1 },
		{ "[\"prod*\"]", 0, { "production-team1" }, 1 },
		{ "[\"prod*\"]", 0, { "repo-prod" }, 0 },
		{ "[\"prod*\"]", 0, { "pro" }, 0 },
		/* "*prod*" matches "repo-production" and "prod-team". */
		{ "[\"*prod*\"]", 0, { "repo-production" }, 1 },
		{ "[\"*prod*\"]", 0, { "prod-team" }, 1 },
		{ "[\"*prod*\"]", 0, { "pr-od" }, 0 },
		/* No wildcard: the whole tag. */
		{ "[\"latest\"]", 0, { "latest" }, 1 },
		{ "[\"latest\"]", 0, { "latest-1" }, 0 },
		/* Segments in order, not overlapping. */
		{ "[\"a*b*c\"]", 0, { "abc" }, 1 },
		{ "[\"a*b*c\"]", 0, { "aXbYbZc" }, 1 },
		{ "[\"a*b*c\"]", 0, { "acb" }, 0 },
		{ "[\"ab*ba\"]", 0, { "aba" }, 0 },
		{ "[\"ab*ba\"]", 0, { "abba" }, 1 },
		{ "[\"*-sha-*\"]", 0, { "main-sha-1f2e" }, 1 },
		{ "[\"*\"]", 0, { "anything" }, 1 },
		{ "[\"*test*1*2*3\"]", 0, { "my-test-1-2-3" }, 1 },
		{ "[\"*test*1*2*3\"]", 0, { "my-test-1-3-2" }, 0 },
		/* Case matters, as in tags. */
		{ "[\"Prod*\"]", 0, { "prod" }, 0 },
		/* "If you specify multiple tags, only the images with all
		 * specified tags are selected": each entry matches one of the
		 * image's tags. */
		{ "[\"alpha*\", \"beta*\"]", 0, { "alpha-1", "beta-1" }, 1 },
		{ "[\"alpha*\", \"beta*\"]", 0, { "alpha-1" }, 0 },
		{ "[\"alpha*\", \"beta*\"]", 0,
		    { "x", "beta-1", "y", "alpha-2" }, 1 },
		/* One tag may satisfy several entries. */
		{ "[\"a*\", \"*z\"]", 0, { "a-z" }, 1 },
		/* tagPrefixList: the beginning of a tag, '*' a character. */
		{ "[\"prod\"]", 1, { "prod" }, 1 },
		{ "[\"prod\"]", 1, { "prod-1" }, 1 },
		{ "[\"prod\"]", 1, { "pro" }, 0 },
		{ "[\"prod\"]", 1, { "my-prod" }, 0 },
		{ "[\"p*\"]", 1, { "prod" }, 0 },
		{ "[\"alpha\", \"beta\"]", 1, { "beta-2", "alpha-2" }, 1 },
		{ "[\"alpha\", \"beta\"]", 1, { "alpha-2" }, 0 },
	};
	size_t	 i, n;
	int	 got;

	for (i = 0; i < nitems(cases); i++) {
		for (n = 0; n < nitems(cases[i].tags) &&
		    cases[i].tags[n] != NULL; n++)
			;
		got = selects(cases[i].list, cases[i].prefixes, cases[i].tags,
		    n);
		if (got != cases[i].want)
			fprintf(stderr, "\ncase %zu: %s\n", i, cases[i].list);
		CU_ASSERT_EQUAL(got, cases[i].want);
	}
}

/* tagStatus itself: tagged needs a tag, untagged none, any either. */
static void
test_tag_status(void)
{
	struct lifecycle_policy *pol;
	static const char *const one[] = { "v1" };

	pol = test_lifecycle_parse(POLICY(RULE(1, UNTAGGED COUNT(1), EXPIRE) ","
	    RULE(2, PATTERNS("[\"*\"]") COUNT(1), EXPIRE) ","
	    RULE(3, ANY COUNT(1), EXPIRE)));
	CU_ASSERT_PTR_NOT_NULL_FATAL(pol);
	CU_ASSERT_TRUE(lifecycle_rule_selects_tags(&pol->rules[0], NULL, 0));
	CU_ASSERT_FALSE(lifecycle_rule_selects_tags(&pol->rules[0], one, 1));
	CU_ASSERT_FALSE(lifecycle_rule_selects_tags(&pol->rules[1], NULL, 0));
	CU_ASSERT_TRUE(lifecycle_rule_selects_tags(&pol->rules[1], one, 1));
	CU_ASSERT_TRUE(lifecycle_rule_selects_tags(&pol->rules[2], NULL, 0));
	CU_ASSERT_TRUE(lifecycle_rule_selects_tags(&pol->rules[2], one, 1));
	lifecycle_policy_free(pol);
}

int
test_lifecycle_policy_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("lifecycle_policy", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "the User Guide's examples", test_examples) ==
	    NULL ||
	    CU_add_test(s, "what a policy keeps", test_structure) == NULL ||
	    CU_add_test(s, "the document's shape", test_shape) == NULL ||
	    CU_add_test(s, "one rule's combinations",
	    test_rule_combinations) == NULL ||
	    CU_add_test(s, "the rules together", test_rule_set) == NULL ||
	    CU_add_test(s, "quotas", test_limits) == NULL ||
	    CU_add_test(s, "prefixes and patterns", test_tag_matching) ==
	    NULL ||
	    CU_add_test(s, "tagStatus", test_tag_status) == NULL)
		return -1;
	return 0;
}
