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
 * IAM policy documents: the grammar of the resource policies ECR keeps
 * (repository policies and the registry policy), parsed into statements
 * that can be evaluated.  A document is an object of Version, Id and
 * Statement; a statement has an Effect, exactly one of Principal and
 * NotPrincipal, exactly one of Action and NotAction, at most one of
 * Resource and NotResource, and optionally Sid and Condition.
 *
 * Evaluation follows IAM's order (an explicit Deny wins, then an Allow,
 * else the implicit deny): actions match case-insensitively, resources
 * case-sensitively, both with the '*' and '?' wildcards.  An AWS principal
 * names an account as its id, its root ARN or any ARN of that account
 * (an IAM role such as ECR's replication service-linked role); "*" is
 * everyone.
 *
 * A Condition is evaluated against the request context the caller gives
 * (IAM_User Guide, reference_policies_elements_condition_operators.html
 * and reference_policies_multi-value-conditions.html): operators are
 * ANDed, the keys under one operator are ANDed, the values of one key are
 * ORed (NORed for a negated operator); a key absent from the context fails
 * a positive operator and passes a negated one, passes an ...IfExists form
 * and ForAllValues:, fails ForAnyValue:, and is what Null asks about.  The
 * string, ARN, Bool, Null, Numeric, Date and IpAddress operators are
 * evaluated: numbers as decimals, dates as ISO 8601 (a date, or a date and
 * time with an optional zone) or seconds since the epoch, addresses as
 * IPv4 or IPv6 CIDR ranges (an address alone is its own range).  A
 * condition berth cannot decide (another operator such as Binary, a key
 * its requests never carry, a policy variable, a value or context value
 * its operator cannot read) makes its statement undecidable, which is
 * taken deny-safe: such an Allow grants nothing, such a Deny applies.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "name.h"
#include "util.h"

#define IAM_JSON_DEPTH		16

/* The condition keys berth's requests can carry (a name ending in '/'
 * stands for every key under it); any other key is undecidable. */
static const char *const iam_known_keys[] = {
	"aws:PrincipalAccount", "aws:PrincipalArn", "aws:SourceAccount",
	"aws:SourceArn", "aws:RequestedRegion", "aws:ResourceAccount",
	"aws:ResourceTag/", "ecr:ResourceTag/", "aws:SourceIp",
	"aws:CurrentTime", "aws:EpochTime"
};

enum cond_kind { COND_STRING, COND_STRING_NOCASE, COND_LIKE, COND_ARN,
    COND_BOOL, COND_NULL, COND_NUMERIC, COND_DATE, COND_IP };

/* How a Numeric or Date operator compares the context's value to the
 * policy's. */
enum cond_cmp { CMP_EQ, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

static const struct cond_op {
	const char	*name;
	enum cond_kind	 kind;
	int		 negated;
	enum cond_cmp	 cmp;
} cond_ops[] = {
	{ "StringEquals",		COND_STRING,		0 },
	{ "StringNotEquals",		COND_STRING,		1 },
	{ "StringEqualsIgnoreCase",	COND_STRING_NOCASE,	0 },
	{ "StringNotEqualsIgnoreCase",	COND_STRING_NOCASE,	1 },
	{ "StringLike",			COND_LIKE,		0 },
	{ "StringNotLike",		COND_LIKE,		1 },
	{ "ArnEquals",			COND_ARN,		0 },
	{ "ArnLike",			COND_ARN,		0 },
	{ "ArnNotEquals",		COND_ARN,		1 },
	{ "ArnNotLike",			COND_ARN,		1 },
	{ "Bool",			COND_BOOL,		0 },
	{ "Null",			COND_NULL,		0 },
	{ "IpAddress",			COND_IP,		0 },
	{ "NotIpAddress",		COND_IP,		1 }
};

/* The Numeric and Date operators: the type's name, then one of these. */
static const struct cond_op ordered_ops[] = {
	{ "Equals",			COND_NUMERIC,	0, CMP_EQ },
	{ "NotEquals",			COND_NUMERIC,	1, CMP_EQ },
	{ "LessThan",			COND_NUMERIC,	0, CMP_LT },
	{ "LessThanEquals",		COND_NUMERIC,	0, CMP_LE },
	{ "GreaterThan",		COND_NUMERIC,	0, CMP_GT },
	{ "GreaterThanEquals",		COND_NUMERIC,	0, CMP_GE }
};

/* One key under one operator, with its values. */
struct iam_condition {
	char		*op;
	char		*key;
	char		**values;
	size_t		 nvalues;
};

struct iam_statement {
	int		 allow;
	int		 not_principal;
	char		**principals;		/* AWS principals; "*" any */
	size_t		 nprincipals;
	int		 not_action;
	char		**actions;
	size_t		 nactions;
	int		 not_resource;
	char		**resources;		/* none: every resource */
	size_t		 nresources;
	struct iam_condition *conditions;
	size_t		 nconditions;
};

struct iam_policy {
	struct iam_statement *statements;
	size_t		 nstatements;
};

static void
strings_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
statement_clear(struct iam_statement *s)
{
	size_t	 i;

	strings_free(s->principals, s->nprincipals);
	strings_free(s->actions, s->nactions);
	strings_free(s->resources, s->nresources);
	for (i = 0; i < s->nconditions; i++) {
		free(s->conditions[i].op);
		free(s->conditions[i].key);
		strings_free(s->conditions[i].values,
		    s->conditions[i].nvalues);
	}
	free(s->conditions);
}

void
iam_policy_free(struct iam_policy *p)
{
	size_t	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nstatements; i++)
		statement_clear(&p->statements[i]);
	free(p->statements);
	free(p);
}

static int
fail(char *why, size_t whysz, const char *msg)
{
	if (why != NULL && whysz > 0)
		snprintf(why, whysz, "%s", msg);
	return -1;
}

/* A non-empty string or a non-empty array of non-empty strings, appended
 * to *out. */
static int
strings_take(struct json_object *v, char ***out, size_t *n)
{
	struct json_object *e;
	size_t	 i, len;

	if (json_object_is_type(v, json_type_string)) {
		if (json_object_get_string_len(v) == 0)
			return -1;
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = xstrdup(json_object_get_string(v));
		return 0;
	}
	if (!json_object_is_type(v, json_type_array) ||
	    (len = json_object_array_length(v)) == 0)
		return -1;
	for (i = 0; i < len; i++) {
		e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string) ||
		    strings_take(e, out, n) == -1)
			return -1;
	}
	return 0;
}

/* "*", or an object of principal types (AWS, Service, Federated,
 * CanonicalUser) to strings; only AWS principals are kept. */
static int
principal_take(struct json_object *v, struct iam_statement *s)
{
	struct json_object_iterator it, end;
	const char	*type;
	char		**other = NULL;
	size_t		 nother = 0;
	int		 rc = 0;

	if (json_object_is_type(v, json_type_string)) {
		if (strcmp(json_object_get_string(v), "*") != 0)
			return -1;
		s->principals = xcalloc(1, sizeof(*s->principals));
		s->principals[0] = xstrdup("*");
		s->nprincipals = 1;
		return 0;
	}
	if (!json_object_is_type(v, json_type_object) ||
	    json_object_object_length(v) == 0)
		return -1;
	it = json_object_iter_begin(v);
	end = json_object_iter_end(v);
	for (; rc == 0 && !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it)) {
		type = json_object_iter_peek_name(&it);
		if (strcmp(type, "AWS") == 0)
			rc = strings_take(json_object_iter_peek_value(&it),
			    &s->principals, &s->nprincipals);
		else if (strcmp(type, "Service") == 0 ||
		    strcmp(type, "Federated") == 0 ||
		    strcmp(type, "CanonicalUser") == 0)
			rc = strings_take(json_object_iter_peek_value(&it),
			    &other, &nother);
		else
			rc = -1;
	}
	strings_free(other, nother);
	return rc;
}

/* A condition value: a string, a number or a boolean, as its text. */
static int
cond_value_take(struct json_object *v, struct iam_condition *c)
{
	if (!json_object_is_type(v, json_type_string) &&
	    !json_object_is_type(v, json_type_boolean) &&
	    !json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return -1;
	c->values = xreallocarray(c->values, c->nvalues + 1,
	    sizeof(*c->values));
	c->values[c->nvalues++] = xstrdup(json_object_get_string(v));
	return 0;
}

/* Condition: an object of operators, each an object of keys, each a value
 * or a non-empty array of values.  Operators are checked at evaluation. */
static int
condition_take(struct json_object *cond, struct iam_statement *s)
{
	struct json_object_iterator it, end, kit, kend;
	struct json_object *keys, *v;
	struct iam_condition *c;
	size_t		 i, n;

	if (!json_object_is_type(cond, json_type_object))
		return -1;
	it = json_object_iter_begin(cond);
	end = json_object_iter_end(cond);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		keys = json_object_iter_peek_value(&it);
		if (!json_object_is_type(keys, json_type_object) ||
		    json_object_object_length(keys) == 0 ||
		    json_object_iter_peek_name(&it)[0] == '\0')
			return -1;
		kit = json_object_iter_begin(keys);
		kend = json_object_iter_end(keys);
		for (; !json_object_iter_equal(&kit, &kend);
		    json_object_iter_next(&kit)) {
			if (json_object_iter_peek_name(&kit)[0] == '\0')
				return -1;
			s->conditions = xreallocarray(s->conditions,
			    s->nconditions + 1, sizeof(*s->conditions));
			c = &s->conditions[s->nconditions++];
			memset(c, 0, sizeof(*c));
			c->op = xstrdup(json_object_iter_peek_name(&it));
			c->key = xstrdup(json_object_iter_peek_name(&kit));
			v = json_object_iter_peek_value(&kit);
			if (!json_object_is_type(v, json_type_array)) {
				if (cond_value_take(v, c) == -1)
					return -1;
				continue;
			}
			if ((n = json_object_array_length(v)) == 0)
				return -1;
			for (i = 0; i < n; i++)
				if (cond_value_take(json_object_array_get_idx(v,
				    i), c) == -1)
					return -1;
		}
	}
	return 0;
}

static int
statement_parse(struct json_object *o, struct iam_statement *s, char *why,
    size_t whysz)
{
	static const char *const keys[] = { "Sid", "Effect", "Principal",
	    "NotPrincipal", "Action", "NotAction", "Resource", "NotResource",
	    "Condition" };
	struct json_object_iterator it, end;
	struct json_object *v, *p, *np, *a, *na, *res, *nres;
	const char	*effect;
	size_t		 i;

	if (!json_object_is_type(o, json_type_object))
		return fail(why, whysz, "a statement is not an object");
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		for (i = 0; i < nitems(keys); i++)
			if (strcmp(json_object_iter_peek_name(&it), keys[i]) ==
			    0)
				break;
		if (i == nitems(keys))
			return fail(why, whysz, "a statement has an unknown "
			    "element");
	}
	if (!json_object_object_get_ex(o, "Effect", &v) ||
	    !json_object_is_type(v, json_type_string))
		return fail(why, whysz, "a statement has no Effect");
	effect = json_object_get_string(v);
	if (strcmp(effect, "Allow") == 0)
		s->allow = 1;
	else if (strcmp(effect, "Deny") != 0)
		return fail(why, whysz, "Effect is neither Allow nor Deny");
	if (json_object_object_get_ex(o, "Sid", &v) &&
	    !json_object_is_type(v, json_type_string))
		return fail(why, whysz, "Sid is not a string");
	if (!json_object_object_get_ex(o, "Principal", &p))
		p = NULL;
	if (!json_object_object_get_ex(o, "NotPrincipal", &np))
		np = NULL;
	if ((p == NULL) == (np == NULL))
		return fail(why, whysz, "a statement needs exactly one of "
		    "Principal and NotPrincipal");
	s->not_principal = np != NULL;
	if (principal_take(p != NULL ? p : np, s) == -1)
		return fail(why, whysz, "a principal is not valid");
	if (!json_object_object_get_ex(o, "Action", &a))
		a = NULL;
	if (!json_object_object_get_ex(o, "NotAction", &na))
		na = NULL;
	if ((a == NULL) == (na == NULL))
		return fail(why, whysz, "a statement needs exactly one of "
		    "Action and NotAction");
	s->not_action = na != NULL;
	if (strings_take(a != NULL ? a : na, &s->actions, &s->nactions) ==
	    -1)
		return fail(why, whysz, "an action is not valid");
	if (!json_object_object_get_ex(o, "Resource", &res))
		res = NULL;
	if (!json_object_object_get_ex(o, "NotResource", &nres))
		nres = NULL;
	if (res != NULL && nres != NULL)
		return fail(why, whysz, "a statement has both Resource and "
		    "NotResource");
	s->not_resource = nres != NULL;
	if ((res != NULL || nres != NULL) && strings_take(res != NULL ? res :
	    nres, &s->resources, &s->nresources) == -1)
		return fail(why, whysz, "a resource is not valid");
	if (json_object_object_get_ex(o, "Condition", &v) &&
	    condition_take(v, s) == -1)
		return fail(why, whysz, "Condition is not an object of "
		    "operators, each an object of condition keys and values");
	return 0;
}

struct iam_policy *
iam_policy_parse(const char *text, size_t len, char *why, size_t whysz)
{
	struct json_object *doc, *v, *st;
	struct json_object_iterator it, end;
	struct iam_policy *p = NULL;
	const char	*name;
	size_t		 i, n;

	if ((doc = json_parse_strict(text, len, IAM_JSON_DEPTH, NULL)) ==
	    NULL) {
		fail(why, whysz, "the policy is not valid JSON");
		return NULL;
	}
	if (!json_object_is_type(doc, json_type_object)) {
		fail(why, whysz, "the policy is not a JSON object");
		goto out;
	}
	it = json_object_iter_begin(doc);
	end = json_object_iter_end(doc);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if (strcmp(name, "Version") != 0 && strcmp(name, "Id") != 0 &&
		    strcmp(name, "Statement") != 0) {
			fail(why, whysz, "the policy has an unknown element");
			goto out;
		}
	}
	if (json_object_object_get_ex(doc, "Version", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    (strcmp(json_object_get_string(v), "2012-10-17") != 0 &&
	    strcmp(json_object_get_string(v), "2008-10-17") != 0))) {
		fail(why, whysz, "Version is neither 2012-10-17 nor "
		    "2008-10-17");
		goto out;
	}
	if (json_object_object_get_ex(doc, "Id", &v) &&
	    !json_object_is_type(v, json_type_string)) {
		fail(why, whysz, "Id is not a string");
		goto out;
	}
	if (!json_object_object_get_ex(doc, "Statement", &st)) {
		fail(why, whysz, "the policy has no Statement");
		goto out;
	}
	n = json_object_is_type(st, json_type_array) ?
	    json_object_array_length(st) : 1;
	if (n == 0) {
		fail(why, whysz, "Statement is empty");
		goto out;
	}
	p = xcalloc(1, sizeof(*p));
	p->statements = xcalloc(n, sizeof(*p->statements));
	for (i = 0; i < n; i++) {
		p->nstatements++;
		if (statement_parse(json_object_is_type(st, json_type_array) ?
		    json_object_array_get_idx(st, i) : st, &p->statements[i],
		    why, whysz) == -1) {
			iam_policy_free(p);
			p = NULL;
			break;
		}
	}
out:
	json_object_put(doc);
	return p;
}

/* IAM's wildcards: '*' any run of characters, '?' any one; the whole
 * string must match. */
int
iam_match(const char *p, const char *s, int nocase)
{
	return name_wildcard_match_flags(p, s, NAME_WILD_QUESTION |
	    (nocase ? NAME_WILD_NOCASE : 0));
}

static int
any_match(char **patterns, size_t n, const char *s, int nocase)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (iam_match(patterns[i], s, nocase))
			return 1;
	return 0;
}

/* Whether an AWS principal names the account. */
static int
principal_names(const char *principal, const char *account)
{
	size_t	 n = strlen(account);

	if (strcmp(principal, "*") == 0 || strcmp(principal, account) == 0)
		return 1;
	/* arn:<partition>:iam::<account>:<anything> */
	if (strncmp(principal, "arn:", 4) != 0)
		return 0;
	principal = strchr(principal + 4, ':');
	if (principal == NULL || strncmp(principal, ":iam::", 6) != 0)
		return 0;
	principal += 6;
	return strncmp(principal, account, n) == 0 && principal[n] == ':';
}

static int
statement_applies(const struct iam_statement *s, const char *account,
    const char *action, const char *resource)
{
	size_t	 i;
	int	 named = 0;

	for (i = 0; i < s->nprincipals && !named; i++)
		named = principal_names(s->principals[i], account);
	if (named == s->not_principal)
		return 0;
	if (any_match(s->actions, s->nactions, action, 1) == s->not_action)
		return 0;
	if (s->nresources > 0 && any_match(s->resources, s->nresources,
	    resource, 0) == s->not_resource)
		return 0;
	return 1;
}

/* --- conditions ------------------------------------------------------------ */

enum { COND_FALSE, COND_TRUE, COND_UNDECIDED };

static int
key_known(const char *key)
{
	size_t	 i, n;

	for (i = 0; i < nitems(iam_known_keys); i++) {
		n = strlen(iam_known_keys[i]);
		if (iam_known_keys[i][n - 1] == '/' ?
		    strncasecmp(key, iam_known_keys[i], n) == 0 &&
		    key[n] != '\0' : strcasecmp(key, iam_known_keys[i]) == 0)
			return 1;
	}
	return 0;
}

/* The context's value of key (condition keys ignore case), or NULL. */
static const char *
context_get(const struct iam_context *ctx, const char *key)
{
	size_t	 i;

	for (i = 0; ctx != NULL && i < ctx->nkv; i++)
		if (strcasecmp(ctx->kv[i].key, key) == 0)
			return ctx->kv[i].value;
	return NULL;
}

/* ArnEquals and ArnLike: each of the six colon-separated parts matched on
 * its own, with wildcards. */
static int
arn_match(const char *pattern, const char *arn)
{
	const char	*pe, *ae;
	char		*ps, *as;
	int		 part, ok = 1;

	for (part = 0; ok && part < 6; part++) {
		pe = part < 5 ? strchr(pattern, ':') : NULL;
		ae = part < 5 ? strchr(arn, ':') : NULL;
		if (part < 5 && (pe == NULL || ae == NULL))
			return 0;
		ps = pe != NULL ? xstrndup(pattern, pe - pattern) :
		    xstrdup(pattern);
		as = ae != NULL ? xstrndup(arn, ae - arn) : xstrdup(arn);
		ok = iam_match(ps, as, 0);
		free(ps);
		free(as);
		if (pe != NULL) {
			pattern = pe + 1;
			arn = ae + 1;
		}
	}
	return ok;
}

/* A decimal number, whole: 0, or -1. */
static int
number_parse(const char *s, double *out)
{
	char	*end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	*out = strtod(s, &end);
	return *end == '\0' && isfinite(*out) ? 0 : -1;
}

/* n digits at *s, advanced past them; -1 if they are not there. */
static int
digits(const char **s, int n)
{
	int	 v = 0;

	for (; n > 0; n--, (*s)++) {
		if (!isdigit((unsigned char)**s))
			return -1;
		v = v * 10 + (**s - '0');
	}
	return v;
}

/* A date as seconds since the epoch: the seconds themselves, or ISO 8601
 * YYYY-MM-DD[Thh:mm[:ss[.fff]][Z|+hh:mm|-hh:mm]] (UTC without a zone). */
static int
date_parse(const char *s, double *out)
{
	struct tm	 tm;
	double		 frac = 0;
	int		 zone = 0, sign, h, m;
	char		*end;

	if (isdigit((unsigned char)s[0]) && strchr(s, '-') == NULL)
		return number_parse(s, out);
	memset(&tm, 0, sizeof(tm));
	if ((tm.tm_year = digits(&s, 4)) == -1 || *s++ != '-' ||
	    (tm.tm_mon = digits(&s, 2)) < 1 || tm.tm_mon > 12 ||
	    *s++ != '-' || (tm.tm_mday = digits(&s, 2)) < 1 ||
	    tm.tm_mday > 31)
		return -1;
	if (*s == 'T') {
		s++;
		if ((tm.tm_hour = digits(&s, 2)) == -1 || tm.tm_hour > 23 ||
		    *s++ != ':' || (tm.tm_min = digits(&s, 2)) == -1 ||
		    tm.tm_min > 59)
			return -1;
		if (*s == ':') {
			s++;
			if ((tm.tm_sec = digits(&s, 2)) == -1 ||
			    tm.tm_sec > 60)
				return -1;
			if (*s == '.') {
				if (!isdigit((unsigned char)s[1]))
					return -1;
				frac = strtod(s, &end);
				s = end;
			}
		}
		if (*s == 'Z')
			s++;
		else if (*s == '+' || *s == '-') {
			sign = *s++ == '-' ? -1 : 1;
			if ((h = digits(&s, 2)) == -1 || h > 23 ||
			    *s++ != ':' || (m = digits(&s, 2)) == -1 || m > 59)
				return -1;
			zone = sign * (h * 3600 + m * 60);
		}
	}
	if (*s != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon--;
	*out = (double)timegm(&tm) - zone + frac;
	return 0;
}

/* An IPv4 or IPv6 address with an optional /bits: the address in 16 bytes
 * (IPv4 in the first 4), its family's length in bits, and the range's. */
static int
cidr_parse(const char *s, uint8_t addr[16], int *len, int *bits)
{
	char		 buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	long		 b;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	memset(addr, 0, 16);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		*len = 32;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		*len = 128;
	else
		return -1;
	*bits = *len;
	if (slash != NULL) {
		if (!isdigit((unsigned char)*slash))
			return -1;
		b = strtol(slash, &end, 10);
		if (*end != '\0' || b > *len)
			return -1;
		*bits = (int)b;
	}
	return 0;
}

/* Whether address have is in the range want; -1 if either is unreadable. */
static int
ip_in_range(const char *want, const char *have)
{
	uint8_t	 w[16], h[16];
	int	 wlen, hlen, bits, hbits, i;

	if (cidr_parse(want, w, &wlen, &bits) == -1 ||
	    cidr_parse(have, h, &hlen, &hbits) == -1)
		return -1;
	if (wlen != hlen)
		return 0;
	for (i = 0; i < bits / 8; i++)
		if (w[i] != h[i])
			return 0;
	if (bits % 8 != 0 && ((w[i] ^ h[i]) & (0xff << (8 - bits % 8))))
		return 0;
	return 1;
}

/* have compared to want as cmp asks; -1 if either is unreadable. */
static int
ordered_matches(const struct cond_op *o, const char *want, const char *have)
{
	double	 w, h;
	int	 (*parse)(const char *, double *) = o->kind == COND_DATE ?
		     date_parse : number_parse;

	if (parse(want, &w) == -1 || parse(have, &h) == -1)
		return -1;
	switch (o->cmp) {
	case CMP_LT:
		return h < w;
	case CMP_LE:
		return h <= w;
	case CMP_GT:
		return h > w;
	case CMP_GE:
		return h >= w;
	default:
		return h == w;
	}
}

/* 1 or 0, or -1 when a value cannot be read as the operator's type. */
static int
value_matches(const struct cond_op *o, const char *want, const char *have)
{
	switch (o->kind) {
	case COND_STRING:
		return strcmp(want, have) == 0;
	case COND_STRING_NOCASE:
	case COND_BOOL:
		return strcasecmp(want, have) == 0;
	case COND_LIKE:
		return iam_match(want, have, 0);
	case COND_ARN:
		return arn_match(want, have);
	case COND_NUMERIC:
	case COND_DATE:
		return ordered_matches(o, want, have);
	case COND_IP:
		return ip_in_range(want, have);
	default:
		return 0;
	}
}

/* Whether the context has what Null's values ask (true: the key absent). */
static int
null_holds(const struct iam_condition *c, const char *have)
{
	size_t	 i;
	int	 m = 0;

	for (i = 0; i < c->nvalues; i++) {
		if (strcasecmp(c->values[i], "true") == 0)
			m |= have == NULL;
		else if (strcasecmp(c->values[i], "false") == 0)
			m |= have != NULL;
		else
			return COND_UNDECIDED;
	}
	return m ? COND_TRUE : COND_FALSE;
}

/* The operator named by the n bytes at op, into *out; -1 if berth does not
 * know it. */
static int
cond_op_find(const char *op, size_t n, struct cond_op *out)
{
	enum cond_kind	 kind;
	size_t		 i, skip;

	for (i = 0; i < nitems(cond_ops); i++)
		if (strlen(cond_ops[i].name) == n &&
		    strncmp(cond_ops[i].name, op, n) == 0) {
			*out = cond_ops[i];
			return 0;
		}
	if (n > 7 && strncmp(op, "Numeric", 7) == 0) {
		kind = COND_NUMERIC;
		skip = 7;
	} else if (n > 4 && strncmp(op, "Date", 4) == 0) {
		kind = COND_DATE;
		skip = 4;
	} else
		return -1;
	for (i = 0; i < nitems(ordered_ops); i++)
		if (strlen(ordered_ops[i].name) == n - skip &&
		    strncmp(ordered_ops[i].name, op + skip, n - skip) == 0) {
			*out = ordered_ops[i];
			out->kind = kind;
			return 0;
		}
	return -1;
}

static int
condition_holds(const struct iam_condition *c, const struct iam_context *ctx)
{
	struct cond_op	 found;
	const struct cond_op *o = &found;
	const char	*op = c->op, *have;
	size_t		 i, n;
	int		 forall = 0, forany = 0, ifexists = 0, m = 0;

	if (strncmp(op, "ForAnyValue:", 12) == 0) {
		forany = 1;
		op += 12;
	} else if (strncmp(op, "ForAllValues:", 13) == 0) {
		forall = 1;
		op += 13;
	}
	n = strlen(op);
	if (n > 8 && strcmp(op + n - 8, "IfExists") == 0) {
		ifexists = 1;
		n -= 8;
	}
	if (cond_op_find(op, n, &found) == -1 || !key_known(c->key) ||
	    (o->kind == COND_NULL && (ifexists || forany || forall)))
		return COND_UNDECIDED;
	for (i = 0; i < c->nvalues; i++)
		if (strstr(c->values[i], "${") != NULL)
			return COND_UNDECIDED;	/* a policy variable */
	have = context_get(ctx, c->key);
	if (o->kind == COND_NULL)
		return null_holds(c, have);
	if (have == NULL) {
		if (ifexists || forall)
			return COND_TRUE;
		return !forany && o->negated ? COND_TRUE : COND_FALSE;
	}
	for (i = 0; i < c->nvalues && m != 1; i++)
		if ((m = value_matches(o, c->values[i], have)) == -1)
			return COND_UNDECIDED;
	return m != o->negated ? COND_TRUE : COND_FALSE;
}

/* All of a statement's conditions: COND_TRUE, COND_FALSE, or undecided
 * when none is false and one cannot be decided. */
static int
conditions_hold(const struct iam_statement *s, const struct iam_context *ctx)
{
	size_t	 i;
	int	 r = COND_TRUE, h;

	for (i = 0; i < s->nconditions; i++) {
		if ((h = condition_holds(&s->conditions[i], ctx)) ==
		    COND_FALSE)
			return COND_FALSE;
		if (h == COND_UNDECIDED)
			r = COND_UNDECIDED;
	}
	return r;
}

enum iam_decision
iam_policy_evaluate(const struct iam_policy *p, const char *account,
    const char *action, const char *resource, const struct iam_context *ctx)
{
	enum iam_decision d = IAM_IMPLICIT_DENY;
	size_t	 i;
	int	 c;

	if (p == NULL)
		return d;
	for (i = 0; i < p->nstatements; i++) {
		const struct iam_statement *s = &p->statements[i];

		if (!statement_applies(s, account, action, resource) ||
		    (c = conditions_hold(s, ctx)) == COND_FALSE)
			continue;
		if (!s->allow)
			return IAM_EXPLICIT_DENY;
		if (c == COND_TRUE)
			d = IAM_ALLOW;
	}
	return d;
}

int
iam_policy_actions_within(const struct iam_policy *p,
    const char *const *known, size_t nknown, char *why, size_t whysz)
{
	size_t	 i, j, k;
	int	 hit;

	for (i = 0; i < p->nstatements; i++) {
		const struct iam_statement *s = &p->statements[i];

		for (j = 0; j < s->nactions; j++) {
			hit = 0;
			for (k = 0; k < nknown && !hit; k++)
				hit = iam_match(s->actions[j], known[k], 1);
			if (!hit) {
				if (why != NULL && whysz > 0)
					snprintf(why, whysz, "the action '%s' "
					    "is not allowed here",
					    s->actions[j]);
				return -1;
			}
		}
	}
	return 0;
}
