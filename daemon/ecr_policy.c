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
 * Repository policies: SetRepositoryPolicy, GetRepositoryPolicy,
 * DeleteRepositoryPolicy.  Policies are checked as IAM policy documents
 * (the grammar's required elements and known keys); berth stores them and
 * hands them back, it does not enforce them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define POLICY_JSON_DEPTH	16

static int
string_or_strings(struct json_object *v)
{
	size_t	 i, n;

	if (json_object_is_type(v, json_type_string))
		return json_object_get_string_len(v) > 0;
	if (!json_object_is_type(v, json_type_array))
		return 0;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i),
		    json_type_string))
			return 0;
	return n > 0;
}

static int
principal_ok(struct json_object *v)
{
	struct json_object_iterator it, end;

	if (json_object_is_type(v, json_type_string))
		return strcmp(json_object_get_string(v), "*") == 0;
	if (!json_object_is_type(v, json_type_object) ||
	    json_object_object_length(v) == 0)
		return 0;
	it = json_object_iter_begin(v);
	end = json_object_iter_end(v);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
		if (!string_or_strings(json_object_iter_peek_value(&it)))
			return 0;
	return 1;
}

static int
statement_ok(struct json_object *s)
{
	static const char *const keys[] = { "Sid", "Effect", "Principal",
	    "NotPrincipal", "Action", "NotAction", "Resource", "NotResource",
	    "Condition" };
	struct json_object_iterator it, end;
	struct json_object *v, *p, *np, *a, *na;
	const char	*effect;
	size_t		 i;

	if (!json_object_is_type(s, json_type_object))
		return 0;
	it = json_object_iter_begin(s);
	end = json_object_iter_end(s);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it)) {
		for (i = 0; i < nitems(keys); i++)
			if (strcmp(json_object_iter_peek_name(&it), keys[i]) ==
			    0)
				break;
		if (i == nitems(keys))
			return 0;
	}
	if (!json_object_object_get_ex(s, "Effect", &v) ||
	    !json_object_is_type(v, json_type_string))
		return 0;
	effect = json_object_get_string(v);
	if (strcmp(effect, "Allow") != 0 && strcmp(effect, "Deny") != 0)
		return 0;
	/* A resource policy names whom it is about, and what. */
	if (!json_object_object_get_ex(s, "Principal", &p))
		p = NULL;
	if (!json_object_object_get_ex(s, "NotPrincipal", &np))
		np = NULL;
	if ((p == NULL) == (np == NULL) || !principal_ok(p != NULL ? p : np))
		return 0;
	if (!json_object_object_get_ex(s, "Action", &a))
		a = NULL;
	if (!json_object_object_get_ex(s, "NotAction", &na))
		na = NULL;
	if ((a == NULL) == (na == NULL) || !string_or_strings(a != NULL ? a :
	    na))
		return 0;
	if (json_object_object_get_ex(s, "Sid", &v) &&
	    !json_object_is_type(v, json_type_string))
		return 0;
	if (json_object_object_get_ex(s, "Condition", &v) &&
	    !json_object_is_type(v, json_type_object))
		return 0;
	return 1;
}

/* Whether text is an IAM policy document fit for a repository. */
static int
policy_valid(const char *text, size_t len)
{
	struct json_object *doc, *v, *st;
	struct json_object_iterator it, end;
	const char	*name;
	size_t		 i, n;
	int		 ok = 0;

	if ((doc = json_parse_strict(text, len, POLICY_JSON_DEPTH)) == NULL)
		return 0;
	if (!json_object_is_type(doc, json_type_object))
		goto out;
	it = json_object_iter_begin(doc);
	end = json_object_iter_end(doc);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if (strcmp(name, "Version") != 0 && strcmp(name, "Id") != 0 &&
		    strcmp(name, "Statement") != 0)
			goto out;
	}
	if (json_object_object_get_ex(doc, "Version", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    (strcmp(json_object_get_string(v), "2012-10-17") != 0 &&
	    strcmp(json_object_get_string(v), "2008-10-17") != 0)))
		goto out;
	if (!json_object_object_get_ex(doc, "Statement", &st))
		goto out;
	if (json_object_is_type(st, json_type_array)) {
		n = json_object_array_length(st);
		if (n == 0)
			goto out;
		for (i = 0; i < n; i++)
			if (!statement_ok(json_object_array_get_idx(st, i)))
				goto out;
	} else if (!statement_ok(st))
		goto out;
	ok = 1;
out:
	json_object_put(doc);
	return ok;
}

static struct json_object *
policy_out(struct ecr_req *r, const struct repository *repo,
    const char *text)
{
	struct json_object *out = json_object_new_object();

	ecr_add_str(out, "registryId", r->account);
	ecr_add_str(out, "repositoryName", repo->name);
	ecr_add_str(out, "policyText", text);
	return out;
}

static void
policy_write(struct ecr_req *r, struct repository *repo, const char *text,
    struct json_object *out)
{
	struct repo_config cfg;

	repo_config_copy(&cfg, &repo->config);
	free(cfg.policy);
	cfg.policy = text != NULL ? xstrdup(text) : NULL;
	ecr_repository_update(r, repo, &cfg, out);
}

void
ecr_policy_set(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*text = ecr_str(r, "policyText");
	struct repository *repo;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	if (!policy_valid(text, strlen(text))) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'PolicyText' failed to satisfy constraint: 'Invalid "
		    "repository policy provided'");
		return;
	}
	policy_write(r, repo, text, policy_out(r, repo, text));
}

/* The repository the request names, if it has a policy; else NULL, and
 * the request was answered. */
static struct repository *
policy_repository(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	struct repository *repo;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return NULL;
	if (repo->config.policy == NULL) {
		ecr_error(r, "RepositoryPolicyNotFoundException", "Repository "
		    "policy does not exist for the repository with name '%s' "
		    "in the registry with id '%s'", name, r->account);
		return NULL;
	}
	return repo;
}

void
ecr_policy_get(struct ecr_req *r)
{
	struct repository *repo;

	if ((repo = policy_repository(r)) != NULL)
		ecr_respond(r, policy_out(r, repo, repo->config.policy));
}

void
ecr_policy_delete(struct ecr_req *r)
{
	struct repository *repo;

	if ((repo = policy_repository(r)) != NULL)
		policy_write(r, repo, NULL, policy_out(r, repo,
		    repo->config.policy));
}
