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
 * The registry as a whole: the host names under which clients reach a
 * registry (repository URIs, proxyEndpoint, layer download URLs), and the
 * registry-wide ECR operations: DescribeRegistry and
 * PutReplicationConfiguration, DescribeImageReplicationStatus, the
 * registry policy (Put/Get/DeleteRegistryPolicy) and the account settings
 * (Put/GetAccountSetting).  Each configuration is one registry setting
 * holding its JSON as ECR returns it.
 *
 * Rules and their sources (User Guide pages under
 * docs.aws.amazon.com/AmazonECR/latest/userguide/):
 * - replication.html: at most 25 unique destinations across the rules;
 *   the registry itself is no destination (it replicates to other regions
 *   of the account, or to other accounts); {"rules": []} removes it.
 * - registry-permissions.html: with REGISTRY_POLICY_SCOPE V1 a registry
 *   policy may name only ecr:ReplicateImage, ecr:BatchImportUpstreamImage
 *   and ecr:CreateRepository ("if any additional actions are added ... an
 *   error will occur"); V2, the default, allows every ECR action.
 * - API_PutAccountSetting: BASIC_SCAN_TYPE_VERSION (AWS_NATIVE),
 *   REGISTRY_POLICY_SCOPE (V1, V2), BLOB_MOUNTING (ENABLED, DISABLED).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "ecr.h"
#include "error.h"
#include "log.h"
#include "name.h"
#include "util.h"

#define REPLICATION_DESTINATIONS_MAX	25
#define REGISTRY_JSON_DEPTH		16

/* The actions a V1 registry policy may name. */
static const char *const policy_v1_actions[] = {
	"ecr:ReplicateImage", "ecr:BatchImportUpstreamImage",
	"ecr:CreateRepository",
};

/* IAM-only ECR actions, besides the operations of the model. */
static const char *const policy_extra_actions[] = {
	"ecr:ReplicateImage", "ecr:BatchImportUpstreamImage",
};

struct account_setting {
	const char	*name;
	const char	*dflt;
	const char *const values[3];
};

static const struct account_setting account_settings[] = {
	{ "BASIC_SCAN_TYPE_VERSION", "AWS_NATIVE", { "AWS_NATIVE" } },
	{ "REGISTRY_POLICY_SCOPE", "V2", { "V1", "V2" } },
	{ "BLOB_MOUNTING", "DISABLED", { "ENABLED", "DISABLED" } },
};

/* --- host names ------------------------------------------------------------ */

const char *
ecr_advertise_host(void)
{
	static char	 host[256];
	const char	*l = conf.listen, *colon;
	size_t		 n;

	if (conf.advertise_host != NULL)
		return conf.advertise_host;
	if (l[0] == '[') {
		colon = strstr(l, "]:");
		n = colon != NULL ? (size_t)(colon - l) + 1 : strlen(l);
	} else {
		colon = strrchr(l, ':');
		n = colon != NULL ? (size_t)(colon - l) : strlen(l);
	}
	/* A wildcard address: clients on this machine reach it as
	 * localhost. */
	if (n == 0 || (n == 7 && memcmp(l, "0.0.0.0", 7) == 0) ||
	    (n == 4 && memcmp(l, "[::]", 4) == 0) || n >= sizeof(host))
		return "localhost";
	memcpy(host, l, n);
	host[n] = '\0';
	return host;
}

/* The registry host clients push to: "host:port". */
void
ecr_registry_host(const char *account, const char *region, char *out,
    size_t outsz)
{
	if (conf.uri_style == URI_STYLE_HOST)
		snprintf(out, outsz, "%s.dkr.ecr.%s.localhost:%d", account,
		    region, conf.port);
	else
		snprintf(out, outsz, "%s:%d", ecr_advertise_host(),
		    conf.port);
}

/* --- account settings ----------------------------------------------------- */

static const struct account_setting *
account_setting_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(account_settings); i++)
		if (strcmp(account_settings[i].name, name) == 0)
			return &account_settings[i];
	return NULL;
}

const char *
registry_account_setting(const struct registry *reg, const char *name)
{
	const struct account_setting *s = account_setting_find(name);
	const char	*v;
	char		*key;

	if (s == NULL)
		return NULL;
	xasprintf(&key, "%s%s", REGISTRY_KEY_ACCOUNT, name);
	v = registry_setting(reg, key);
	free(key);
	return v != NULL ? v : s->dflt;
}

static const struct account_setting *
account_setting_arg(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "name");
	const struct account_setting *s;

	if ((s = account_setting_find(name)) == NULL)
		ecr_error(r, "InvalidParameterException", "Invalid parameter at "
		    "'name' failed to satisfy constraint: 'the account setting "
		    "name must be one of BASIC_SCAN_TYPE_VERSION, "
		    "REGISTRY_POLICY_SCOPE or BLOB_MOUNTING'");
	return s;
}

static struct json_object *
setting_out(const char *name, const char *value)
{
	struct json_object *out = json_object_new_object();

	ecr_add_str(out, "name", name);
	ecr_add_str(out, "value", value);
	return out;
}

void
ecr_registry_get_setting(struct ecr_req *r)
{
	const struct account_setting *s;

	if ((s = account_setting_arg(r)) == NULL)
		return;
	ecr_respond(r, setting_out(s->name, registry_account_setting(
	    registry_find(r->account, r->region), s->name)));
}

void
ecr_registry_put_setting(struct ecr_req *r)
{
	const struct account_setting *s;
	const char	*value = ecr_str(r, "value");
	struct txn	 t;
	char		*key, list[128] = "";
	size_t		 i;

	if ((s = account_setting_arg(r)) == NULL)
		return;
	for (i = 0; i < nitems(s->values) && s->values[i] != NULL; i++) {
		if (strcmp(value, s->values[i]) == 0)
			break;
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i > 0 ? ", " : "", s->values[i]);
	}
	if (i == nitems(s->values) || s->values[i] == NULL) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter at "
		    "'value' failed to satisfy constraint: 'the value of %s "
		    "must be one of %s'", s->name, list);
		return;
	}
	xasprintf(&key, "%s%s", REGISTRY_KEY_ACCOUNT, s->name);
	txn_init(&t);
	if (txn_setting_put(&t, registry_get(r->account, r->region), key,
	    value) != 0)
		fatalx("account setting record does not apply");
	free(key);
	ecr_commit(r, &t, setting_out(s->name, value));
}

/* --- the registry policy ----------------------------------------------------- */

/* The context of a cross-account request: kv holds at most 8 keys plus
 * two per resource tag of the repository; strings to free go in own (3
 * plus two per tag).  The requests evaluated here are made by berth for
 * a principal (replication, a pull through cache import), as AWS services
 * make them: they come from no client address, and aws:SourceIp is
 * absent. */
static size_t
policy_context(struct iam_kv *kv, char **own, const char *account,
    const struct repository *repo, const char *dst_account,
    const char *dst_region, const char *source_arn)
{
	size_t		 n = 0, i;
	int64_t		 now = model_now_ms() / 1000;
	struct tm	 tm;
	time_t		 t = (time_t)now;
	char		 iso[32];

	kv[n].key = "aws:PrincipalAccount";
	kv[n++].value = account;
	xasprintf(&own[0], "arn:aws:iam::%s:root", account);
	kv[n].key = "aws:PrincipalArn";
	kv[n++].value = own[0];
	kv[n].key = "aws:RequestedRegion";
	kv[n++].value = dst_region;
	kv[n].key = "aws:ResourceAccount";
	kv[n++].value = dst_account;
	gmtime_r(&t, &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	own[1] = xstrdup(iso);
	kv[n].key = "aws:CurrentTime";
	kv[n++].value = own[1];
	xasprintf(&own[2], "%lld", (long long)now);
	kv[n].key = "aws:EpochTime";
	kv[n++].value = own[2];
	if (source_arn != NULL) {
		kv[n].key = "aws:SourceAccount";
		kv[n++].value = account;
		kv[n].key = "aws:SourceArn";
		kv[n++].value = source_arn;
	}
	for (i = 0; repo != NULL && i < repo->config.ntags; i++) {
		xasprintf(&own[3 + 2 * i], "aws:ResourceTag/%s",
		    repo->config.tags[i].key);
		xasprintf(&own[4 + 2 * i], "ecr:ResourceTag/%s",
		    repo->config.tags[i].key);
		kv[n].key = own[3 + 2 * i];
		kv[n++].value = repo->config.tags[i].value;
		kv[n].key = own[4 + 2 * i];
		kv[n++].value = repo->config.tags[i].value;
	}
	return n;
}

int
registry_policy_allows(const char *account, const char *action,
    const struct registry *dst, const char *dst_account,
    const char *dst_region, const char *name, const char *source_arn)
{
	const struct repository *repo;
	struct iam_policy *p;
	struct iam_context ctx;
	struct iam_kv	*kv;
	const char	*text;
	char		*arn, **own;
	size_t		 i, ntags;
	int		 ok;

	if (strcmp(account, dst_account) == 0)
		return 1;
	if ((text = registry_setting(dst, REGISTRY_KEY_POLICY)) == NULL ||
	    (p = iam_policy_parse(text, strlen(text), NULL, 0)) == NULL)
		return 0;
	repo = repository_find(dst, name);
	ntags = repo != NULL ? repo->config.ntags : 0;
	kv = xcalloc(8 + 2 * ntags, sizeof(*kv));
	own = xcalloc(3 + 2 * ntags, sizeof(*own));
	ctx.kv = kv;
	ctx.nkv = policy_context(kv, own, account, repo, dst_account,
	    dst_region, source_arn);
	xasprintf(&arn, "arn:aws:ecr:%s:%s:repository/%s", dst_region,
	    dst_account, name);
	ok = iam_policy_evaluate(p, account, action, arn, &ctx) == IAM_ALLOW;
	free(arn);
	for (i = 0; i < 3 + 2 * ntags; i++)
		free(own[i]);
	free(own);
	free(kv);
	iam_policy_free(p);
	return ok;
}

static struct json_object *
policy_out(struct ecr_req *r, const char *text)
{
	struct json_object *out = json_object_new_object();

	ecr_add_str(out, "registryId", r->account);
	ecr_add_str(out, "policyText", text);
	return out;
}

void
ecr_registry_put_policy(struct ecr_req *r)
{
	const char	*text = ecr_str(r, "policyText");
	const char	*scope;
	char		**known;
	struct iam_policy *p;
	struct registry	*reg = registry_find(r->account, r->region);
	struct txn	 t;
	char		 why[256];
	size_t		 i, n = 0;
	int		 rc;

	if ((p = iam_policy_parse(text, strlen(text), why, sizeof(why))) ==
	    NULL)
		goto invalid;
	scope = registry_account_setting(reg, "REGISTRY_POLICY_SCOPE");
	if (strcmp(scope, "V1") == 0)
		rc = iam_policy_actions_within(p, policy_v1_actions,
		    nitems(policy_v1_actions), why, sizeof(why));
	else {
		known = xcalloc(ecr_noperations + nitems(policy_extra_actions),
		    sizeof(*known));
		for (i = 0; i < ecr_noperations; i++)
			xasprintf(&known[n++], "ecr:%s",
			    ecr_operations[i].name);
		for (i = 0; i < nitems(policy_extra_actions); i++)
			known[n++] = xstrdup(policy_extra_actions[i]);
		rc = iam_policy_actions_within(p, (const char *const *)known,
		    n, why, sizeof(why));
		for (i = 0; i < n; i++)
			free(known[i]);
		free(known);
	}
	iam_policy_free(p);
	if (rc != 0)
		goto invalid;
	txn_init(&t);
	if (txn_setting_put(&t, registry_get(r->account, r->region),
	    REGISTRY_KEY_POLICY, text) != 0)
		fatalx("registry policy record does not apply");
	ecr_commit(r, &t, policy_out(r, text));
	return;
invalid:
	ecr_error(r, "InvalidParameterException", "Invalid parameter at "
	    "'PolicyText' failed to satisfy constraint: 'Invalid registry "
	    "policy provided' (%s)", why);
}

const char *
ecr_registry_setting_find(struct ecr_req *r, const char *key,
    const char *exception, const char *what)
{
	const char	*text;

	text = registry_setting(registry_find(r->account, r->region), key);
	if (text == NULL)
		ecr_error(r, exception, "%s does not exist in the registry with "
		    "id '%s'", what, r->account);
	return text;
}

void
ecr_registry_setting_delete(struct ecr_req *r, const char *key,
    struct json_object *out)
{
	struct txn	 t;

	txn_init(&t);
	if (txn_setting_delete(&t, registry_find(r->account, r->region),
	    key) != 0)
		fatalx("%s: the setting's record does not apply", key);
	ecr_commit(r, &t, out);
}

void
ecr_registry_get_policy(struct ecr_req *r)
{
	const char	*text;

	if ((text = ecr_registry_setting_find(r, REGISTRY_KEY_POLICY,
	    "RegistryPolicyNotFoundException", "Registry policy")) != NULL)
		ecr_respond(r, policy_out(r, text));
}

void
ecr_registry_delete_policy(struct ecr_req *r)
{
	const char	*text;

	if ((text = ecr_registry_setting_find(r, REGISTRY_KEY_POLICY,
	    "RegistryPolicyNotFoundException", "Registry policy")) != NULL)
		ecr_registry_setting_delete(r, REGISTRY_KEY_POLICY,
		    policy_out(r, text));
}

/* --- replication configuration ------------------------------------------------ */

static struct json_object *
replication_config(const struct registry *reg)
{
	struct json_object *o = NULL;
	const char	*text;

	text = registry_setting(reg, REGISTRY_KEY_REPLICATION);
	if (text != NULL)
		o = json_parse_strict(text, strlen(text), REGISTRY_JSON_DEPTH,
		    NULL);
	if (o == NULL) {
		o = json_object_new_object();
		json_object_object_add(o, "rules", json_object_new_array());
	}
	return o;
}

void
ecr_registry_describe(struct ecr_req *r)
{
	struct json_object *out = json_object_new_object();

	ecr_add_str(out, "registryId", r->account);
	json_object_object_add(out, "replicationConfiguration",
	    replication_config(registry_find(r->account, r->region)));
	ecr_respond(r, out);
}

/* The configuration as ECR keeps it: the members it knows, in its order. */
static struct json_object *
replication_canonical(struct ecr_req *r, struct json_object *in)
{
	struct json_object *rules, *out, *orules, *rule, *orule, *dests, *d;
	struct json_object *od, *odests, *filters, *f, *of, *ofilters, *v;
	char		 seen[REPLICATION_DESTINATIONS_MAX][ACCOUNT_LEN +
	    REGION_MAX + 2], key[sizeof(seen[0])];
	const char	*region, *registry;
	size_t		 i, j, k, nseen = 0, nrules, ndests, nfilters;

	json_object_object_get_ex(in, "rules", &rules);
	out = json_object_new_object();
	orules = json_object_new_array();
	json_object_object_add(out, "rules", orules);
	nrules = rules != NULL ? json_object_array_length(rules) : 0;
	for (i = 0; i < nrules; i++) {
		rule = json_object_array_get_idx(rules, i);
		orule = json_object_new_object();
		json_object_array_add(orules, orule);
		json_object_object_get_ex(rule, "destinations", &dests);
		odests = json_object_new_array();
		json_object_object_add(orule, "destinations", odests);
		ndests = dests != NULL ? json_object_array_length(dests) : 0;
		for (j = 0; j < ndests; j++) {
			d = json_object_array_get_idx(dests, j);
			json_object_object_get_ex(d, "region", &v);
			region = json_object_get_string(v);
			json_object_object_get_ex(d, "registryId", &v);
			registry = json_object_get_string(v);
			if (!name_region_valid(region, strlen(region))) {
				ecr_error(r, "InvalidParameterException",
				    "Invalid parameter at 'replicationConfigur"
				    "ation.rules.%zu.member.destinations.%zu."
				    "member.region' failed to satisfy "
				    "constraint: 'the region '%s' is not a "
				    "region name'", i + 1, j + 1, region);
				goto fail;
			}
			if (strcmp(region, r->region) == 0 &&
			    strcmp(registry, r->account) == 0) {
				ecr_error(r, "InvalidParameterException",
				    "Invalid parameter at 'replicationConfigur"
				    "ation.rules.%zu.member.destinations.%zu."
				    "member' failed to satisfy constraint: "
				    "'the source registry (%s in %s) cannot be "
				    "a destination'", i + 1, j + 1, registry,
				    region);
				goto fail;
			}
			snprintf(key, sizeof(key), "%s/%s", registry, region);
			for (k = 0; k < nseen && strcmp(seen[k], key) != 0;
			    k++)
				;
			if (k == nseen) {
				if (nseen == REPLICATION_DESTINATIONS_MAX) {
					ecr_error(r, "InvalidParameterException",
					    "Invalid parameter at 'replication"
					    "Configuration' failed to satisfy "
					    "constraint: 'a replication "
					    "configuration may have at most %d "
					    "unique destinations'",
					    REPLICATION_DESTINATIONS_MAX);
					goto fail;
				}
				memcpy(seen[nseen++], key, sizeof(key));
			}
			od = json_object_new_object();
			ecr_add_str(od, "region", region);
			ecr_add_str(od, "registryId", registry);
			json_object_array_add(odests, od);
		}
		if (!json_object_object_get_ex(rule, "repositoryFilters",
		    &filters) || filters == NULL)
			continue;
		ofilters = json_object_new_array();
		json_object_object_add(orule, "repositoryFilters", ofilters);
		nfilters = json_object_array_length(filters);
		for (j = 0; j < nfilters; j++) {
			f = json_object_array_get_idx(filters, j);
			of = json_object_new_object();
			json_object_object_get_ex(f, "filter", &v);
			ecr_add_str(of, "filter", json_object_get_string(v));
			json_object_object_get_ex(f, "filterType", &v);
			ecr_add_str(of, "filterType", json_object_get_string(v));
			json_object_array_add(ofilters, of);
		}
	}
	return out;
fail:
	json_object_put(out);
	return NULL;
}

void
ecr_registry_put_replication(struct ecr_req *r)
{
	struct json_object *conf_in = ecr_member(r, "replicationConfiguration");
	struct json_object *canon, *out, *rules;
	struct registry	*reg;
	struct txn	 t;

	if ((canon = replication_canonical(r, conf_in)) == NULL)
		return;
	out = json_object_new_object();
	json_object_object_add(out, "replicationConfiguration",
	    json_object_get(canon));
	reg = registry_get(r->account, r->region);
	txn_init(&t);
	json_object_object_get_ex(canon, "rules", &rules);
	if (json_object_array_length(rules) == 0) {
		if (registry_setting(reg, REGISTRY_KEY_REPLICATION) != NULL &&
		    txn_setting_delete(&t, reg, REGISTRY_KEY_REPLICATION) != 0)
			fatalx("replication record does not apply");
	} else if (txn_setting_put(&t, reg, REGISTRY_KEY_REPLICATION,
	    json_object_to_json_string_ext(canon, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) != 0)
		fatalx("replication record does not apply");
	json_object_put(canon);
	ecr_commit(r, &t, out);
}

void
ecr_registry_image_status(struct ecr_req *r,
    struct json_object *(*status)(const struct repository *,
    const struct digest *), const char *member, int with_registry)
{
	const char	*name = ecr_str(r, "repositoryName");
	struct repository *repo;
	struct image	*img;
	struct json_object *out, *statuses;

	if ((repo = ecr_repository_find(r, name)) == NULL)
		return;
	if ((img = ecr_image_resolve(r, repo, ecr_member(r, "imageId"))) ==
	    NULL)
		return;
	statuses = status(repo, &img->digest);
	out = json_object_new_object();
	ecr_add_str(out, "repositoryName", repo->name);
	json_object_object_add(out, "imageId", ecr_image_id_json(r, img));
	if (with_registry)
		ecr_add_str(out, "registryId", r->account);
	json_object_object_add(out, member, statuses != NULL ? statuses :
	    json_object_new_array());
	ecr_respond(r, out);
}

void
ecr_registry_replication_status(struct ecr_req *r)
{
	ecr_registry_image_status(r, replication_status, "replicationStatuses",
	    0);
}
