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
 * IAM policy documents (daemon/iam.c) and the registry configurations'
 * matching (replication.c, signing.c): which documents parse, what they
 * decide for an account, an action and a resource (explicit deny first,
 * conditions taken conservatively, principals by account), IAM's
 * wildcards, and which destinations and signing profiles a repository name
 * gets.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "util.h"
#include "unit.h"

#define SRC	"111111111111"
#define DST	"222222222222"
#define RES	"arn:aws:ecr:us-east-1:" DST ":repository/prod/app"

static struct iam_policy *
parse(const char *text)
{
	char	 why[256];

	return iam_policy_parse(text, strlen(text), why, sizeof(why));
}

static int
invalid(const char *text)
{
	struct iam_policy *p = parse(text);

	iam_policy_free(p);
	return p == NULL;
}

static enum iam_decision
decide(const char *text, const char *account, const char *action,
    const char *resource)
{
	struct iam_policy *p = parse(text);
	enum iam_decision d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	d = iam_policy_evaluate(p, account, action, resource);
	iam_policy_free(p);
	return d;
}

static void
test_grammar(void)
{
	CU_ASSERT(invalid(""));
	CU_ASSERT(invalid("[]"));
	CU_ASSERT(invalid("{\"Statement\":[]}"));
	CU_ASSERT(invalid("{\"Version\":\"2020-01-01\",\"Statement\":{"
	    "\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"ecr:*\"}}"));
	CU_ASSERT(invalid("{\"Statement\":{\"Effect\":\"Allow\","
	    "\"Action\":\"ecr:*\"}}"));			/* no principal */
	CU_ASSERT(invalid("{\"Statement\":{\"Effect\":\"Allow\","
	    "\"Principal\":\"*\"}}"));			/* no action */
	CU_ASSERT(invalid("{\"Statement\":{\"Effect\":\"Allow\","
	    "\"Principal\":\"*\",\"Action\":\"a\",\"NotAction\":\"b\"}}"));
	CU_ASSERT(invalid("{\"Statement\":{\"Effect\":\"Allow\","
	    "\"Principal\":\"someone\",\"Action\":\"a\"}}"));
	CU_ASSERT(invalid("{\"Statement\":{\"Effect\":\"Allow\","
	    "\"Principal\":{\"Team\":\"x\"},\"Action\":\"a\"}}"));
	CU_ASSERT(invalid("{\"Statement\":{\"Effect\":\"Allow\","
	    "\"Principal\":\"*\",\"Action\":[]}}"));
	CU_ASSERT(invalid("{\"Statement\":{\"Effect\":\"Allow\","
	    "\"Principal\":\"*\",\"Action\":\"a\",\"Colour\":\"red\"}}"));
	CU_ASSERT(invalid("{\"Statement\":{\"Effect\":\"Allow\","
	    "\"Principal\":\"*\",\"Action\":\"a\",\"Resource\":\"r\","
	    "\"NotResource\":\"s\"}}"));
	CU_ASSERT(!invalid("{\"Version\":\"2012-10-17\",\"Id\":\"x\","
	    "\"Statement\":{\"Sid\":\"s\",\"Effect\":\"Deny\","
	    "\"NotPrincipal\":{\"AWS\":[\"1\",\"2\"],\"Service\":\"x\"},"
	    "\"NotAction\":[\"a\"],\"NotResource\":\"r\",\"Condition\":{}}}"));
}

static void
test_evaluation(void)
{
	const char *allow = "{\"Statement\":[{\"Effect\":\"Allow\","
	    "\"Principal\":{\"AWS\":\"arn:aws:iam::" SRC ":root\"},"
	    "\"Action\":[\"ecr:ReplicateImage\",\"ecr:CreateRepository\"],"
	    "\"Resource\":\"arn:aws:ecr:us-east-1:" DST ":repository/prod/*\"}]}";
	const char *deny = "{\"Statement\":[{\"Effect\":\"Allow\","
	    "\"Principal\":\"*\",\"Action\":\"ecr:*\",\"Resource\":\"*\"},"
	    "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"" SRC "\"},"
	    "\"Action\":\"ECR:replicate*\",\"Resource\":\"" RES "\"}]}";
	const char *cond = "{\"Statement\":{\"Effect\":\"Allow\","
	    "\"Principal\":{\"AWS\":\"" SRC "\"},\"Action\":\"ecr:*\","
	    "\"Condition\":{\"StringEquals\":{\"aws:SourceVpc\":\"v\"}}}}";
	const char *notaction = "{\"Statement\":{\"Effect\":\"Allow\","
	    "\"Principal\":{\"AWS\":\"arn:aws:iam::" SRC ":role/x\"},"
	    "\"NotAction\":\"ecr:Delete*\",\"Resource\":\"arn:aws:ecr:*:"
	    DST ":repository/prod/ap?\"}}";

	CU_ASSERT_EQUAL(decide(allow, SRC, "ecr:ReplicateImage", RES),
	    IAM_ALLOW);
	CU_ASSERT_EQUAL(decide(allow, SRC, "ecr:replicateimage", RES),
	    IAM_ALLOW);			/* actions: case-insensitive */
	CU_ASSERT_EQUAL(decide(allow, "333333333333", "ecr:ReplicateImage",
	    RES), IAM_IMPLICIT_DENY);
	CU_ASSERT_EQUAL(decide(allow, SRC, "ecr:PutImage", RES),
	    IAM_IMPLICIT_DENY);
	CU_ASSERT_EQUAL(decide(allow, SRC, "ecr:ReplicateImage",
	    "arn:aws:ecr:us-east-1:" DST ":repository/dev/app"),
	    IAM_IMPLICIT_DENY);
	CU_ASSERT_EQUAL(decide(allow, SRC, "ecr:ReplicateImage",
	    "arn:aws:ecr:us-east-1:" DST ":repository/PROD/app"),
	    IAM_IMPLICIT_DENY);		/* resources: case-sensitive */
	CU_ASSERT_EQUAL(decide(deny, SRC, "ecr:ReplicateImage", RES),
	    IAM_EXPLICIT_DENY);
	CU_ASSERT_EQUAL(decide(deny, "333333333333", "ecr:ReplicateImage",
	    RES), IAM_ALLOW);
	CU_ASSERT_EQUAL(decide(cond, SRC, "ecr:ReplicateImage", RES),
	    IAM_IMPLICIT_DENY);
	CU_ASSERT_EQUAL(decide(notaction, SRC, "ecr:ReplicateImage", RES),
	    IAM_ALLOW);
	CU_ASSERT_EQUAL(decide(notaction, SRC, "ecr:DeleteRepository", RES),
	    IAM_IMPLICIT_DENY);
	CU_ASSERT_EQUAL(decide(notaction, SRC, "ecr:ReplicateImage",
	    RES "s"), IAM_IMPLICIT_DENY);
}

static void
test_match(void)
{
	CU_ASSERT(iam_match("*", "", 0));
	CU_ASSERT(iam_match("a*b?c", "aXXbYc", 0));
	CU_ASSERT(!iam_match("a*b?c", "aXXbc", 0));
	CU_ASSERT(iam_match("ECR:*", "ecr:PutImage", 1));
	CU_ASSERT(!iam_match("ECR:*", "ecr:PutImage", 0));
	CU_ASSERT(iam_match("*a*a*a", "aaaaaaaaa", 0));
	CU_ASSERT(!iam_match("?", "", 0));
}

static void
test_actions_within(void)
{
	static const char *const v1[] = { "ecr:ReplicateImage",
	    "ecr:BatchImportUpstreamImage", "ecr:CreateRepository" };
	struct iam_policy *p;
	char	 why[128];

	p = parse("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\","
	    "\"Action\":[\"ecr:*\",\"ecr:Create*\"]}}");
	CU_ASSERT_EQUAL(iam_policy_actions_within(p, v1, 3, why, sizeof(why)),
	    0);
	iam_policy_free(p);
	p = parse("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\","
	    "\"Action\":[\"ecr:ReplicateImage\",\"ecr:PutImage\"]}}");
	CU_ASSERT_EQUAL(iam_policy_actions_within(p, v1, 3, why, sizeof(why)),
	    -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "ecr:PutImage"));
	iam_policy_free(p);
}

static char *
destinations(const char *config, const char *name)
{
	struct json_object *d = replication_match(config, name);
	char	*s = xstrdup(json_object_to_json_string_ext(d,
	    JSON_C_TO_STRING_PLAIN));

	json_object_put(d);
	return s;
}

static void
test_replication_match(void)
{
	const char *conf_text = "{\"rules\":[{\"destinations\":["
	    "{\"region\":\"r1\",\"registryId\":\"" SRC "\"},"
	    "{\"region\":\"r2\",\"registryId\":\"" DST "\"}],"
	    "\"repositoryFilters\":[{\"filter\":\"prod\","
	    "\"filterType\":\"PREFIX_MATCH\"}]},"
	    "{\"destinations\":[{\"region\":\"r1\",\"registryId\":\"" SRC "\"}]}"
	    "]}";
	char	*s;

	s = destinations(conf_text, "production/x");
	CU_ASSERT_STRING_EQUAL(s, "[{\"region\":\"r1\",\"registryId\":\"" SRC
	    "\",\"status\":\"IN_PROGRESS\"},{\"region\":\"r2\",\"registryId\":\""
	    DST "\",\"status\":\"IN_PROGRESS\"}]");
	free(s);
	s = destinations(conf_text, "dev/x");
	CU_ASSERT_STRING_EQUAL(s, "[{\"region\":\"r1\",\"registryId\":\"" SRC
	    "\",\"status\":\"IN_PROGRESS\"}]");
	free(s);
	s = destinations("{\"rules\":7}", "x");
	CU_ASSERT_STRING_EQUAL(s, "[]");
	free(s);
	s = destinations(NULL, "x");
	CU_ASSERT_STRING_EQUAL(s, "[]");
	free(s);
}

static void
test_signing_match(void)
{
	const char *conf_text = "{\"rules\":["
	    "{\"signingProfileArn\":\"p1\"},"
	    "{\"signingProfileArn\":\"p2\",\"repositoryFilters\":["
	    "{\"filter\":\"*prod*\",\"filterType\":\"WILDCARD_MATCH\"}]},"
	    "{\"signingProfileArn\":\"p1\",\"repositoryFilters\":["
	    "{\"filter\":\"x\",\"filterType\":\"WILDCARD_MATCH\"}]}]}";
	struct json_object *p;

	p = signing_match(conf_text, "team/prod-api");
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(p,
	    JSON_C_TO_STRING_PLAIN), "[\"p1\",\"p2\"]");
	json_object_put(p);
	p = signing_match(conf_text, "team/dev");
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(p,
	    JSON_C_TO_STRING_PLAIN), "[\"p1\"]");
	json_object_put(p);
	p = signing_match("[1,2]", "team/dev");
	CU_ASSERT_EQUAL(json_object_array_length(p), 0);
	json_object_put(p);
}

int
test_iam_register(void)
{
	CU_pSuite s = CU_add_suite("iam", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "policy grammar", test_grammar) == NULL ||
	    CU_add_test(s, "policy evaluation", test_evaluation) == NULL ||
	    CU_add_test(s, "wildcards", test_match) == NULL ||
	    CU_add_test(s, "actions a scope allows", test_actions_within) ==
	    NULL ||
	    CU_add_test(s, "replication destinations", test_replication_match)
	    == NULL ||
	    CU_add_test(s, "signing profiles", test_signing_match) == NULL)
		return -1;
	return 0;
}
