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
 * (iam.c: the grammar's required elements and known keys); berth stores
 * them and hands them back, it does not enforce them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "ecr.h"
#include "error.h"
#include "log.h"
#include "util.h"

/* Whether text is an IAM policy document fit for a repository. */
int
ecr_policy_valid(const char *text, size_t len)
{
	struct iam_policy *p;

	if ((p = iam_policy_parse(text, len, NULL, 0)) == NULL)
		return 0;
	iam_policy_free(p);
	return 1;
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
	if (!ecr_policy_valid(text, strlen(text))) {
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
