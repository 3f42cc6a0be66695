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
 * ECR lifecycle policies: PutLifecyclePolicy, GetLifecyclePolicy,
 * DeleteLifecyclePolicy.  The text is validated by the one parser
 * (lifecycle_policy.c), which answers in AWS's words, and kept in the
 * repository's configuration with the time of its last real evaluation
 * (lastEvaluatedAt), which lifecycle_run.c writes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "lifecycle.h"
#include "util.h"

static struct json_object *
lifecycle_out(struct ecr_req *r, const struct repository *repo,
    const char *text, int with_time)
{
	struct json_object *out = json_object_new_object();

	ecr_add_str(out, "registryId", r->account);
	ecr_add_str(out, "repositoryName", repo->name);
	ecr_add_str(out, "lifecyclePolicyText", text);
	if (with_time)
		ecr_add_time(out, "lastEvaluatedAt",
		    repo->config.lifecycle_evaluated_ms);
	return out;
}

static void
lifecycle_write(struct ecr_req *r, struct repository *repo, const char *text,
    struct json_object *out)
{
	struct repo_config cfg;

	repo_config_copy(&cfg, &repo->config);
	free(cfg.lifecycle);
	cfg.lifecycle = text != NULL ? xstrdup(text) : NULL;
	ecr_repository_update(r, repo, &cfg, out);
}

void
ecr_lifecycle_put(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*text = ecr_str(r, "lifecyclePolicyText");
	struct repository *repo;
	char		*msg = NULL;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	if (lifecycle_policy_parse(text, strlen(text), "LifecyclePolicyText",
	    NULL, &msg) == -1) {
		ecr_error(r, "InvalidParameterException", "%s", msg);
		free(msg);
		return;
	}
	lifecycle_write(r, repo, text, lifecycle_out(r, repo, text, 0));
}

struct repository *
ecr_lifecycle_repository(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	struct repository *repo;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return NULL;
	if (repo->config.lifecycle == NULL) {
		ecr_error(r, "LifecyclePolicyNotFoundException", "Lifecycle "
		    "policy does not exist for the repository with name '%s' "
		    "in the registry with id '%s'", name, r->account);
		return NULL;
	}
	return repo;
}

void
ecr_lifecycle_get(struct ecr_req *r)
{
	struct repository *repo;

	if ((repo = ecr_lifecycle_repository(r)) != NULL)
		ecr_respond(r, lifecycle_out(r, repo, repo->config.lifecycle,
		    1));
}

void
ecr_lifecycle_delete(struct ecr_req *r)
{
	struct repository *repo;

	if ((repo = ecr_lifecycle_repository(r)) != NULL)
		lifecycle_write(r, repo, NULL, lifecycle_out(r, repo,
		    repo->config.lifecycle, 1));
}
