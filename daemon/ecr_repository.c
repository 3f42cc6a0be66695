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
 * ECR repositories: CreateRepository, DescribeRepositories,
 * DeleteRepository, PutImageTagMutability, PutImageScanningConfiguration.
 * A repository's settings are one record (REC_REPO_PUT) written whole.
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
#include "registry.h"
#include "util.h"

static const char *const mutability_names[] = {
	[MUT_MUTABLE] = "MUTABLE",
	[MUT_IMMUTABLE] = "IMMUTABLE",
	[MUT_IMMUTABLE_WITH_EXCLUSION] = "IMMUTABLE_WITH_EXCLUSION",
	[MUT_MUTABLE_WITH_EXCLUSION] = "MUTABLE_WITH_EXCLUSION",
};

static void
add_mutability(struct json_object *o, const struct repo_config *c)
{
	struct json_object *arr, *f;
	size_t		 i;

	json_object_object_add(o, "imageTagMutability",
	    json_object_new_string(mutability_names[c->mutability]));
	if (c->nmut_filters == 0)
		return;
	arr = json_object_new_array();
	for (i = 0; i < c->nmut_filters; i++) {
		f = json_object_new_object();
		ecr_add_str(f, "filterType", "WILDCARD");
		ecr_add_str(f, "filter", c->mut_filters[i]);
		json_object_array_add(arr, f);
	}
	json_object_object_add(o, "imageTagMutabilityExclusionFilters", arr);
}

/* imageScanningConfiguration.scanOnPush of the request: false unless
 * given as true. */
static int
scan_on_push(struct ecr_req *r)
{
	struct json_object *scan = ecr_member(r, "imageScanningConfiguration");
	struct json_object *v;

	return scan != NULL && json_object_object_get_ex(scan, "scanOnPush",
	    &v) && v != NULL && json_object_get_boolean(v);
}

static struct json_object *
scanning_json(const struct repo_config *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "scanOnPush",
	    json_object_new_boolean(c->scan_on_push));
	return o;
}

char *
ecr_repository_arn(const struct repository *repo)
{
	char	*s;

	xasprintf(&s, "arn:aws:ecr:%s:%s:repository/%s",
	    repo->registry->region, repo->registry->account, repo->name);
	return s;
}

static struct json_object *
repository_json(const struct repository *repo)
{
	struct json_object *o, *enc;
	const struct registry *reg = repo->registry;
	char		*s, host[384];

	o = json_object_new_object();
	s = ecr_repository_arn(repo);
	ecr_add_str(o, "repositoryArn", s);
	free(s);
	ecr_add_str(o, "registryId", reg->account);
	ecr_add_str(o, "repositoryName", repo->name);
	ecr_registry_host(reg->account, reg->region, host, sizeof(host));
	xasprintf(&s, "%s/%s", host, repo->name);
	ecr_add_str(o, "repositoryUri", s);
	free(s);
	ecr_add_time(o, "createdAt", repo->created_ms);
	add_mutability(o, &repo->config);
	json_object_object_add(o, "imageScanningConfiguration",
	    scanning_json(&repo->config));
	enc = json_object_new_object();
	ecr_add_str(enc, "encryptionType", repo->config.encryption_type !=
	    NULL ? repo->config.encryption_type : "AES256");
	ecr_add_str(enc, "kmsKey", repo->config.kms_key);
	json_object_object_add(o, "encryptionConfiguration", enc);
	return o;
}

int
ecr_repository_parse_mutability(struct ecr_req *r, struct repo_config *c,
    int required)
{
	struct json_object *filters, *f, *v;
	const char	*m = ecr_str(r, "imageTagMutability");
	size_t		 i, n;

	if (m != NULL) {
		for (i = 0; i < nitems(mutability_names); i++)
			if (strcmp(m, mutability_names[i]) == 0)
				c->mutability = (enum tag_mutability)i;
	} else if (required)
		return 0;	/* the validator saw to it */
	filters = ecr_member(r, "imageTagMutabilityExclusionFilters");
	n = filters != NULL ? json_object_array_length(filters) : 0;
	if (c->mutability == MUT_MUTABLE || c->mutability == MUT_IMMUTABLE) {
		if (n > 0) {
			ecr_error(r, "InvalidParameterException", "Invalid "
			    "parameter at 'imageTagMutabilityExclusionFilters' "
			    "failed to satisfy constraint: 'Exclusion filters "
			    "can only be used with IMMUTABLE_WITH_EXCLUSION or "
			    "MUTABLE_WITH_EXCLUSION'");
			return -1;
		}
		for (i = 0; i < c->nmut_filters; i++)
			free(c->mut_filters[i]);
		c->nmut_filters = 0;
		return 0;
	}
	if (n == 0) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'imageTagMutabilityExclusionFilters' failed to "
		    "satisfy constraint: '%s requires at least one exclusion "
		    "filter'", mutability_names[c->mutability]);
		return -1;
	}
	for (i = 0; i < c->nmut_filters; i++)
		free(c->mut_filters[i]);
	free(c->mut_filters);
	c->mut_filters = xcalloc(n, sizeof(char *));
	c->nmut_filters = 0;
	for (i = 0; i < n; i++) {
		f = json_object_array_get_idx(filters, i);
		if (!json_object_object_get_ex(f, "filter", &v))
			continue;
		c->mut_filters[c->nmut_filters++] =
		    xstrdup(json_object_get_string(v));
	}
	return 0;
}

int
ecr_repository_parse_encryption(struct ecr_req *r, struct repo_config *c)
{
	struct json_object *enc = ecr_member(r, "encryptionConfiguration"), *v;
	const char	*type = "AES256", *key = NULL;

	if (enc != NULL) {
		if (json_object_object_get_ex(enc, "encryptionType", &v) &&
		    v != NULL)
			type = json_object_get_string(v);
		if (json_object_object_get_ex(enc, "kmsKey", &v) && v != NULL)
			key = json_object_get_string(v);
	}
	if (key != NULL && strcmp(type, "AES256") == 0) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'encryptionConfiguration.kmsKey' failed to satisfy "
		    "constraint: 'A KMS key can only be specified with the "
		    "KMS or KMS_DSSE encryption type'");
		return -1;
	}
	c->encryption_type = xstrdup(type);
	c->kms_key = key != NULL ? xstrdup(key) : NULL;
	return 0;
}

void
ecr_repository_create(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	struct repository *repo;
	struct repo_config cfg;
	struct json_object *out;
	struct txn	 t;

	if (repository_lookup(r->account, r->region, name) != NULL) {
		ecr_error(r, "RepositoryAlreadyExistsException", "The "
		    "repository with name '%s' already exists in the registry "
		    "with id '%s'", name, r->account);
		return;
	}
	if (!registry_has_room(r->account, r->region)) {
		ecr_error(r, "LimitExceededException", "The registry with id "
		    "'%s' already has the maximum allowed number of "
		    "repositories which is '%llu'", r->account,
		    (unsigned long long)conf.max_repositories);
		return;
	}
	repo_config_init(&cfg);
	if (ecr_repository_parse_mutability(r, &cfg, 0) == -1 ||
	    ecr_repository_parse_encryption(r, &cfg) == -1 ||
	    ecr_tag_merge(r, &cfg, ecr_member(r, "tags")) == -1) {
		repo_config_clear(&cfg);
		return;
	}
	cfg.scan_on_push = scan_on_push(r);
	txn_init(&t);
	(void)txn_repo_put(&t, r->account, r->region, name, model_now_ms(),
	    &cfg);
	repo_config_clear(&cfg);
	out = NULL;
	if ((repo = repository_lookup(r->account, r->region, name)) != NULL) {
		out = json_object_new_object();
		json_object_object_add(out, "repository",
		    repository_json(repo));
	}
	ecr_commit(r, &t, out);
}

void
ecr_repository_describe(struct ecr_req *r)
{
	struct json_object *names = ecr_member(r, "repositoryNames");
	const char	*token = ecr_str(r, "nextToken");
	struct registry	*reg = registry_find(r->account, r->region);
	struct repository *repo;
	struct json_object *out, *arr;
	char		 cursor[NAME_MAX_LEN + 1], *next;
	size_t		 i, n, start = 0;
	int		 page;

	out = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(out, "repositories", arr);
	if (names != NULL) {
		if (token != NULL || ecr_member(r, "maxResults") != NULL) {
			json_object_put(out);
			ecr_error(r, "InvalidParameterException", "Invalid "
			    "parameter at 'repositoryNames' failed to satisfy "
			    "constraint: 'maxResults and nextToken cannot be "
			    "used with repositoryNames'");
			return;
		}
		n = json_object_array_length(names);
		for (i = 0; i < n; i++) {
			const char *name = json_object_get_string(
			    json_object_array_get_idx(names, i));
			if ((repo = ecr_repository_find(r, name)) == NULL) {
				json_object_put(out);
				return;
			}
			json_object_array_add(arr, repository_json(repo));
		}
		ecr_respond(r, out);
		return;
	}
	page = ecr_page_size(r);
	if (token != NULL) {
		if (ecr_token_parse(r, "", token, cursor, sizeof(cursor)) ==
		    -1) {
			json_object_put(out);
			ecr_bad_token(r);
			return;
		}
		start = reg != NULL ? sortvec_upper_bound(&reg->repositories,
		    cursor) : 0;
	}
	if (reg == NULL) {
		ecr_respond(r, out);
		return;
	}
	for (i = start; i < reg->repositories.len &&
	    i - start < (size_t)page; i++)
		json_object_array_add(arr,
		    repository_json(reg->repositories.items[i]));
	if (i < reg->repositories.len) {
		repo = reg->repositories.items[i - 1];
		next = ecr_token_make(r, "", repo->name);
		ecr_add_str(out, "nextToken", next);
		free(next);
	}
	ecr_respond(r, out);
}

void
ecr_repository_delete(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	struct repository *repo;
	struct json_object *out;
	struct txn	 t;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	if (repo->images.len > 0 && !ecr_bool(r, "force", 0)) {
		ecr_error(r, "RepositoryNotEmptyException", "The repository "
		    "with name '%s' in registry with id '%s' cannot be "
		    "deleted because it still contains images", name,
		    r->account);
		return;
	}
	out = json_object_new_object();
	json_object_object_add(out, "repository", repository_json(repo));
	txn_init(&t);
	/* Its preview (a registry setting) goes with it, in the same entry. */
	(void)ecr_lifecycle_preview_forget(&t, repo);
	(void)txn_repo_delete(&t, repo);
	ecr_commit(r, &t, out);
}

/* The repository whose setting a request changes, with a copy of its
 * configuration in cfg; NULL when there is none (r was answered). */
static struct repository *
setting_begin(struct ecr_req *r, struct repo_config *cfg)
{
	struct repository *repo;

	if ((repo = ecr_repository_find(r, ecr_str(r, "repositoryName"))) ==
	    NULL)
		return NULL;
	repo_config_copy(cfg, &repo->config);
	return repo;
}

/* The answer to a change of a setting starts with whose it is. */
static struct json_object *
setting_out(struct ecr_req *r, const struct repository *repo)
{
	struct json_object *out = json_object_new_object();

	ecr_add_str(out, "registryId", r->account);
	ecr_add_str(out, "repositoryName", repo->name);
	return out;
}

void
ecr_repository_put_mutability(struct ecr_req *r)
{
	struct repository *repo;
	struct repo_config cfg;
	struct json_object *out;

	if ((repo = setting_begin(r, &cfg)) == NULL)
		return;
	if (ecr_repository_parse_mutability(r, &cfg, 1) == -1) {
		repo_config_clear(&cfg);
		return;
	}
	out = setting_out(r, repo);
	add_mutability(out, &cfg);
	ecr_repository_update(r, repo, &cfg, out);
}

void
ecr_repository_put_scanning(struct ecr_req *r)
{
	struct repository *repo;
	struct repo_config cfg;
	struct json_object *out;

	if ((repo = setting_begin(r, &cfg)) == NULL)
		return;
	cfg.scan_on_push = scan_on_push(r);
	out = setting_out(r, repo);
	json_object_object_add(out, "imageScanningConfiguration",
	    scanning_json(&cfg));
	ecr_repository_update(r, repo, &cfg, out);
}

/* --- create on push through the API -------------------------------------- */

struct push_repo {
	struct ecr_req	*r;
	void		(*cont)(struct ecr_req *);
};

static void
push_repo_created_cb(int err, void *arg)
{
	struct push_repo *pr = arg;

	if (err != 0)
		ecr_fail(pr->r, err);
	else
		pr->cont(pr->r);
	free(pr);
}

/*
 * ECR creates a repository a push names when a CREATE_ON_PUSH creation
 * template covers it (userguide/repository-creation-templates.html: the
 * repositories ECR creates on your behalf on push), and a push through
 * the API is InitiateLayerUpload, then PutImage: either creates it, as the
 * OCI blob POST and manifest PUT do.
 */
void
ecr_push_repository(struct ecr_req *r, const char *name,
    void (*cont)(struct ecr_req *))
{
	struct push_repo *pr;
	struct txn	 t;

	if (repository_lookup(r->account, r->region, name) != NULL) {
		cont(r);
		return;
	}
	if (!template_create_on_push(r->account, r->region, name)) {
		ecr_repository_not_found(r, name);
		return;
	}
	pr = xcalloc(1, sizeof(*pr));
	pr->r = r;
	pr->cont = cont;
	txn_init(&t);
	(void)template_create(&t, r->account, r->region, name,
	    TEMPLATE_FOR_CREATE_ON_PUSH);
	txn_commit(&t, push_repo_created_cb, pr);
}
