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
 * everyone.  berth cannot evaluate IAM condition keys, so a statement with
 * a Condition is taken conservatively: an Allow under a condition grants
 * nothing, a Deny under one always applies.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "name.h"
#include "util.h"

#define IAM_JSON_DEPTH		16

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
	int		 conditional;
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
	strings_free(s->principals, s->nprincipals);
	strings_free(s->actions, s->nactions);
	strings_free(s->resources, s->nresources);
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
	if (json_object_object_get_ex(o, "Condition", &v)) {
		if (!json_object_is_type(v, json_type_object))
			return fail(why, whysz, "Condition is not an object");
		s->conditional = json_object_object_length(v) > 0;
	}
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

	if ((doc = json_parse_strict(text, len, IAM_JSON_DEPTH)) == NULL) {
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

enum iam_decision
iam_policy_evaluate(const struct iam_policy *p, const char *account,
    const char *action, const char *resource)
{
	enum iam_decision d = IAM_IMPLICIT_DENY;
	size_t	 i;

	if (p == NULL)
		return d;
	for (i = 0; i < p->nstatements; i++) {
		const struct iam_statement *s = &p->statements[i];

		if (!statement_applies(s, account, action, resource))
			continue;
		if (!s->allow)
			return IAM_EXPLICIT_DENY;
		if (!s->conditional)
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
