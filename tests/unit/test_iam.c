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
 * principals by account), conditions against a request context (the
 * operators berth evaluates, absent keys, undecidable conditions taken
 * deny-safe), IAM's
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
	d = iam_policy_evaluate(p, account, action, resource, NULL);
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

/* A policy allowing SRC everything under condition C, and one allowing
 * everyone everything but denying under C. */
#define ALLOW_IF(c)	"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":" \
	"{\"AWS\":\"" SRC "\"},\"Action\":\"ecr:*\",\"Condition\":" c "}}"
#define DENY_IF(c)	"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":" \
	"\"*\",\"Action\":\"ecr:*\"},{\"Effect\":\"Deny\",\"Principal\":" \
	"\"*\",\"Action\":\"ecr:*\",\"Condition\":" c "}]}"
#define SRC_ARN	"arn:aws:ecr:eu-west-1:" SRC ":repository/prod/app"

/* What text decides for SRC replicating into RES in the context of the
 * first n keys of kv. */
static enum iam_decision
decide_with(const char *text, const struct iam_kv *kv, size_t n)
{
	struct iam_context ctx = { kv, n };
	struct iam_policy *p = parse(text);
	enum iam_decision d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	d = iam_policy_evaluate(p, SRC, "ecr:ReplicateImage", RES, &ctx);
	iam_policy_free(p);
	return d;
}

/* What text decides with the source keys (replication) or without them
 * (a principal's own request). */
static enum iam_decision
decide_in(const char *text, int with_source)
{
	static const struct iam_kv kv[] = {
		{ "aws:PrincipalAccount", SRC },
		{ "aws:PrincipalArn", "arn:aws:iam::" SRC ":root" },
		{ "ecr:ResourceTag/flag", "true" },
		{ "aws:SourceAccount", SRC },
		{ "aws:SourceArn", SRC_ARN }
	};

	return decide_with(text, kv, with_source ? 5 : 3);
}

static void
test_conditions(void)
{
	const enum iam_decision A = IAM_ALLOW, N = IAM_IMPLICIT_DENY,
	    D = IAM_EXPLICIT_DENY;

	/* Strings: case-sensitive values, keys in any case, values ORed,
	 * NORed when negated. */
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringEquals\":"
	    "{\"aws:SourceAccount\":\"" SRC "\"}}"), 1), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringEquals\":"
	    "{\"AWS:sourceaccount\":[\"3\",\"" SRC "\"]}}"), 1), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringEquals\":"
	    "{\"aws:SourceAccount\":\"3\"}}"), 1), N);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringNotEquals\":"
	    "{\"aws:SourceAccount\":[\"3\",\"" SRC "\"]}}"), 1), N);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringNotEquals\":"
	    "{\"aws:SourceAccount\":[\"3\",\"4\"]}}"), 1), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringEquals\":"
	    "{\"aws:PrincipalArn\":\"ARN:aws:iam::" SRC ":root\"}}"), 1), N);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringEqualsIgnoreCase\":"
	    "{\"aws:PrincipalArn\":\"ARN:aws:iam::" SRC ":ROOT\"}}"), 1), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringLike\":"
	    "{\"aws:SourceArn\":\"arn:aws:ecr:*:" SRC ":repository/prod/*\"}}"),
	    1), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringNotLike\":"
	    "{\"aws:SourceArn\":\"*/prod/*\"}}"), 1), N);
	/* ARNs: six parts, each matched with its own wildcards. */
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"ArnLike\":"
	    "{\"aws:SourceArn\":\"arn:aws:ecr:*:*:repository/prod/*\"}}"), 1),
	    A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"ArnEquals\":"
	    "{\"aws:SourceArn\":\"" SRC_ARN "\"}}"), 1), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"ArnLike\":"
	    "{\"aws:SourceArn\":\"arn:aws:*:repository/prod/app\"}}"), 1), N);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"ArnNotLike\":"
	    "{\"aws:SourceArn\":\"arn:aws:ecr:us-*:*:*\"}}"), 1), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"Bool\":"
	    "{\"ecr:ResourceTag/flag\":true}}"), 1), A);
	/* Absent keys: positive operators fail, negated ones, IfExists and
	 * ForAllValues: pass, ForAnyValue: fails; Null asks about them. */
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringEquals\":"
	    "{\"aws:SourceAccount\":\"" SRC "\"}}"), 0), N);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringNotEquals\":"
	    "{\"aws:SourceAccount\":\"3\"}}"), 0), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringEqualsIfExists\":"
	    "{\"aws:SourceAccount\":\"3\"}}"), 0), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringEqualsIfExists\":"
	    "{\"aws:SourceAccount\":\"3\"}}"), 1), N);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"ForAllValues:StringEquals\":"
	    "{\"aws:SourceAccount\":\"3\"}}"), 0), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"ForAnyValue:StringNotEquals\":"
	    "{\"aws:SourceAccount\":\"3\"}}"), 0), N);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"Null\":"
	    "{\"aws:SourceArn\":\"true\"}}"), 0), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"Null\":"
	    "{\"aws:SourceArn\":\"true\"}}"), 1), N);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"Null\":"
	    "{\"aws:SourceArn\":false}}"), 1), A);
	/* Operators and keys ANDed. */
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringEquals\":"
	    "{\"aws:SourceAccount\":\"" SRC "\",\"aws:PrincipalAccount\":"
	    "\"" SRC "\"},\"ArnLike\":{\"aws:PrincipalArn\":"
	    "\"arn:aws:iam::*:root\"}}"), 1), A);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringEquals\":"
	    "{\"aws:SourceAccount\":\"" SRC "\",\"aws:PrincipalAccount\":"
	    "\"3\"}}"), 1), N);
	/* Deny under a condition: only when it holds. */
	CU_ASSERT_EQUAL(decide_in(DENY_IF("{\"StringEquals\":"
	    "{\"aws:SourceAccount\":\"" SRC "\"}}"), 1), D);
	CU_ASSERT_EQUAL(decide_in(DENY_IF("{\"StringEquals\":"
	    "{\"aws:SourceAccount\":\"3\"}}"), 1), A);
	/* Undecidable (an operator berth does not evaluate, a key its
	 * requests never carry, a policy variable, a value its operator
	 * cannot read): deny-safe, unless another condition of the
	 * statement is false. */
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"BinaryEquals\":"
	    "{\"aws:SourceAccount\":\"NQ==\"}}"), 1), N);
	CU_ASSERT_EQUAL(decide_in(DENY_IF("{\"BinaryEquals\":"
	    "{\"aws:SourceAccount\":\"NQ==\"}}"), 1), D);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"NumericLessThan\":"
	    "{\"aws:SourceArn\":\"5\"}}"), 1), N);
	CU_ASSERT_EQUAL(decide_in(DENY_IF("{\"NumericLessThan\":"
	    "{\"aws:SourceArn\":\"5\"}}"), 1), D);
	CU_ASSERT_EQUAL(decide_in(DENY_IF("{\"Bool\":"
	    "{\"aws:SecureTransport\":\"false\"}}"), 1), D);
	CU_ASSERT_EQUAL(decide_in(ALLOW_IF("{\"StringEquals\":"
	    "{\"aws:SourceAccount\":\"${aws:PrincipalAccount}\"}}"), 1), N);
	CU_ASSERT_EQUAL(decide_in(DENY_IF("{\"stringequals\":"
	    "{\"aws:SourceAccount\":\"3\"}}"), 1), D);
	CU_ASSERT_EQUAL(decide_in(DENY_IF("{\"BinaryEquals\":"
	    "{\"aws:SourceAccount\":\"NQ==\"},\"StringEquals\":"
	    "{\"aws:SourceAccount\":\"3\"}}"), 1), A);
	/* The grammar of Condition. */
	CU_ASSERT(invalid(ALLOW_IF("[]")));
	CU_ASSERT(invalid(ALLOW_IF("{\"StringEquals\":\"x\"}")));
	CU_ASSERT(invalid(ALLOW_IF("{\"StringEquals\":{}}")));
	CU_ASSERT(invalid(ALLOW_IF("{\"StringEquals\":{\"k\":[]}}")));
	CU_ASSERT(invalid(ALLOW_IF("{\"StringEquals\":{\"k\":{\"a\":1}}}")));
	CU_ASSERT(invalid(ALLOW_IF("{\"StringEquals\":{\"k\":[null]}}")));
	CU_ASSERT(!invalid(ALLOW_IF("{\"NumericEquals\":{\"k\":[1,2.5]}}")));
}

/* What text decides with aws:SourceIp (ip; NULL: absent), aws:CurrentTime
 * (2026-12-07 13:30:00 UTC), aws:EpochTime and a numeric tag. */
static enum iam_decision
decide_typed(const char *text, const char *ip)
{
	const struct iam_kv kv[] = {
		{ "aws:CurrentTime", "2026-12-07T13:30:00Z" },
		{ "aws:EpochTime", "1796650200" },
		{ "ecr:ResourceTag/size", "10" },
		{ "aws:SourceIp", ip }
	};

	return decide_with(text, kv, ip != NULL ? 4 : 3);
}

#define NUM(op, v)	ALLOW_IF("{\"" op "\":{\"ecr:ResourceTag/size\":" v \
	"}}")
#define DATE(op, v)	ALLOW_IF("{\"" op "\":{\"aws:CurrentTime\":\"" v \
	"\"}}")
#define IP(op, v)	ALLOW_IF("{\"" op "\":{\"aws:SourceIp\":" v "}}")
#define V4	"203.0.113.7"
#define V6	"2001:db8::1"

static void
test_typed_conditions(void)
{
	static const struct {
		const char		*policy;
		const char		*ip;	/* aws:SourceIp; NULL: absent */
		enum iam_decision	 want;
	} cases[] = {
		/* Numbers: decimals compared as numbers, the context's
		 * value on the left. */
		{ NUM("NumericEquals", "10"), V4, IAM_ALLOW },
		{ NUM("NumericEquals", "\"10.0\""), V4, IAM_ALLOW },
		{ NUM("NumericEquals", "[1,2]"), V4, IAM_IMPLICIT_DENY },
		{ NUM("NumericNotEquals", "[1,2]"), V4, IAM_ALLOW },
		{ NUM("NumericNotEquals", "[1,10]"), V4, IAM_IMPLICIT_DENY },
		{ NUM("NumericLessThan", "11"), V4, IAM_ALLOW },
		{ NUM("NumericLessThan", "10"), V4, IAM_IMPLICIT_DENY },
		{ NUM("NumericLessThanEquals", "10"), V4, IAM_ALLOW },
		{ NUM("NumericGreaterThan", "9.5"), V4, IAM_ALLOW },
		{ NUM("NumericGreaterThan", "10"), V4, IAM_IMPLICIT_DENY },
		{ NUM("NumericGreaterThanEquals", "10"), V4, IAM_ALLOW },
		{ NUM("NumericEquals", "\"ten\""), V4, IAM_IMPLICIT_DENY },
		{ NUM("NumericEqualsIfExists", "10"), V4, IAM_ALLOW },
		{ ALLOW_IF("{\"NumericLessThan\":{\"aws:EpochTime\":"
		    "1796650201}}"), V4, IAM_ALLOW },
		/* Dates: ISO 8601 with or without a zone, or epoch
		 * seconds. */
		{ DATE("DateEquals", "2026-12-07T13:30:00Z"), V4, IAM_ALLOW },
		{ DATE("DateEquals", "2026-12-07T14:30:00+01:00"), V4,
		    IAM_ALLOW },
		{ DATE("DateEquals", "1796650200"), V4, IAM_ALLOW },
		{ DATE("DateNotEquals", "2026-12-07"), V4, IAM_ALLOW },
		{ DATE("DateLessThan", "2027-01-01"), V4, IAM_ALLOW },
		{ DATE("DateLessThan", "2026-12-07T13:30:00Z"), V4,
		    IAM_IMPLICIT_DENY },
		{ DATE("DateLessThanEquals", "2026-12-07T13:30:00.000Z"), V4,
		    IAM_ALLOW },
		{ DATE("DateGreaterThan", "2026-12-07T13:29:59Z"), V4,
		    IAM_ALLOW },
		{ DATE("DateGreaterThan", "2026-12-08"), V4,
		    IAM_IMPLICIT_DENY },
		{ DATE("DateGreaterThanEquals", "2026-12-07T08:30-05:00"), V4,
		    IAM_ALLOW },
		{ ALLOW_IF("{\"DateGreaterThan\":{\"aws:EpochTime\":"
		    "\"2026-01-01T00:00:00Z\"}}"), V4, IAM_ALLOW },
		{ DATE("DateEquals", "2026-13-07"), V4, IAM_IMPLICIT_DENY },
		{ DATE("DateLessThanNot", "2027-01-01"), V4,
		    IAM_IMPLICIT_DENY },
		{ DENY_IF("{\"DateLessThan\":{\"aws:CurrentTime\":"
		    "\"yesterday\"}}"), V4, IAM_EXPLICIT_DENY },
		/* Addresses: CIDR ranges of either family, an address alone
		 * for itself; an absent aws:SourceIp fails IpAddress and
		 * passes NotIpAddress. */
		{ IP("IpAddress", "\"203.0.113.0/24\""), V4, IAM_ALLOW },
		{ IP("IpAddress", "[\"10.0.0.0/8\",\"203.0.113.7\"]"), V4,
		    IAM_ALLOW },
		{ IP("IpAddress", "\"203.0.113.0/30\""), V4,
		    IAM_IMPLICIT_DENY },
		{ IP("IpAddress", "\"203.0.113.4/30\""), V4, IAM_ALLOW },
		{ IP("IpAddress", "\"203.0.113.6/31\""), V4, IAM_ALLOW },
		{ IP("IpAddress", "\"0.0.0.0/0\""), V4, IAM_ALLOW },
		{ IP("IpAddress", "\"0.0.0.0/0\""), V6, IAM_IMPLICIT_DENY },
		{ IP("IpAddress", "\"2001:db8::/32\""), V6, IAM_ALLOW },
		{ IP("IpAddress", "\"2001:db9::/32\""), V6,
		    IAM_IMPLICIT_DENY },
		{ IP("NotIpAddress", "\"203.0.113.0/24\""), V4,
		    IAM_IMPLICIT_DENY },
		{ IP("NotIpAddress", "\"10.0.0.0/8\""), V4, IAM_ALLOW },
		{ IP("IpAddress", "\"203.0.113.0/24\""), NULL,
		    IAM_IMPLICIT_DENY },
		{ IP("NotIpAddress", "\"203.0.113.0/24\""), NULL, IAM_ALLOW },
		{ IP("IpAddress", "\"203.0.113.0/33\""), V4,
		    IAM_IMPLICIT_DENY },
		{ DENY_IF("{\"NotIpAddress\":{\"aws:SourceIp\":"
		    "\"not-an-address\"}}"), V4, IAM_EXPLICIT_DENY }
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		if (decide_typed(cases[i].policy, cases[i].ip) !=
		    cases[i].want)
			CU_FAIL(cases[i].policy);
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
	    CU_add_test(s, "policy conditions", test_conditions) == NULL ||
	    CU_add_test(s, "typed conditions", test_typed_conditions) ==
	    NULL ||
	    CU_add_test(s, "wildcards", test_match) == NULL ||
	    CU_add_test(s, "actions a scope allows", test_actions_within) ==
	    NULL ||
	    CU_add_test(s, "replication destinations", test_replication_match)
	    == NULL ||
	    CU_add_test(s, "signing profiles", test_signing_match) == NULL)
		return -1;
	return 0;
}
