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
 * The pull through cache rule operations: CreatePullThroughCacheRule,
 * DescribePullThroughCacheRules, UpdatePullThroughCacheRule,
 * DeletePullThroughCacheRule and ValidatePullThroughCacheRule, with the
 * checks ECR makes beyond the model's patterns: the upstream registry
 * must be one ECR supports (upstreamRegistry, when given, must name the
 * URL's), those that need a Secrets Manager secret get a credentialArn
 * in the registry's account and Region whose secret berth can read, a
 * customRoleArn only for an upstream ECR (required across accounts, in
 * the registry's account), an upstreamRepositoryPrefix only for an
 * upstream ECR and a prefix other than ROOT, and 50 rules at most.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "error.h"
#include "fetch_proto.h"
#include "log.h"
#include "ptc.h"
#include "util.h"

/* "prefix" of "prefix/": ECR assumes the '/' either way. */
static void
ecr_ptc_prefix(const char *in, char *out, size_t outsz)
{
	size_t	 n;

	snprintf(out, outsz, "%s", in);
	n = strlen(out);
	if (n > 0 && out[n - 1] == '/')
		out[n - 1] = '\0';
}

static void
ecr_ptc_not_found(struct ecr_req *r, const char *prefix)
{
	ecr_error(r, "PullThroughCacheRuleNotFoundException", "The pull "
	    "through cache rule with the repository prefix '%s' does not "
	    "exist in the registry with id '%s'.", prefix, r->account);
}

/* Checks credentialArn for the rule and that berth can read its secret;
 * 0, or -1 when r was answered. */
static int
ecr_ptc_check_secret(struct ecr_req *r, const char *arn)
{
	const char	*user, *token;
	char		 expect[128];
	int		 rc;

	/* arn:aws:secretsmanager:<region>:<account>:secret:... */
	snprintf(expect, sizeof(expect), ":secretsmanager:%s:%s:secret:",
	    r->region, r->account);
	if (strstr(arn, expect) == NULL) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'credentialArn' failed to satisfy constraint: 'the "
		    "secret must be in the account and Region of the registry "
		    "(%s, %s)'", r->account, r->region);
		return -1;
	}
	if ((rc = ptc_secret_lookup(arn, &user, &token)) == 0)
		return 0;
	switch (rc) {
	case PTC_SECRET_NOT_FOUND:
		ecr_error(r, ptc_secret_exception(rc), "The secret '%s' was "
		    "not found: add it to the --pull-through-secrets file.",
		    arn);
		break;
	case PTC_SECRET_MALFORMED:
		ecr_error(r, ptc_secret_exception(rc), "The value of the "
		    "secret '%s' cannot be read: its line in the "
		    "--pull-through-secrets file must be ARN USERNAME "
		    "ACCESS_TOKEN.", arn);
		break;
	default:
		ecr_error(r, ptc_secret_exception(rc), "The secret '%s' "
		    "cannot be accessed: berthd has no readable "
		    "--pull-through-secrets file.", arn);
		break;
	}
	return -1;
}

/* arn:aws:iam::<account>:role/<name>, in the registry's account. */
static int
ecr_ptc_check_role(struct ecr_req *r, const char *arn)
{
	char	 expect[64];

	snprintf(expect, sizeof(expect), "arn:aws:iam::%s:role/", r->account);
	if (strncmp(arn, expect, strlen(expect)) != 0 ||
	    arn[strlen(expect)] == '\0') {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'customRoleArn' failed to satisfy constraint: 'an IAM "
		    "role ARN (arn:aws:iam::%s:role/NAME) in the account of "
		    "the registry'", r->account);
		return -1;
	}
	return 0;
}

/* The account of an upstream ECR URL: <account>.dkr.ecr.<region>... */
static int
ecr_ptc_upstream_account(const char *url, char account[ACCOUNT_LEN + 1])
{
	if (strncasecmp(url, "https://", 8) == 0)
		url += 8;
	if (strlen(url) < ACCOUNT_LEN + 1 || url[ACCOUNT_LEN] != '.' ||
	    !name_account_valid(url, ACCOUNT_LEN))
		return -1;
	memcpy(account, url, ACCOUNT_LEN);
	account[ACCOUNT_LEN] = '\0';
	return 0;
}

void
ecr_ptc_create(struct ecr_req *r)
{
	const char	*url = ecr_str(r, "upstreamRegistryUrl");
	const char	*kind = ecr_str(r, "upstreamRegistry");
	const char	*cred = ecr_str(r, "credentialArn");
	const char	*role = ecr_str(r, "customRoleArn");
	const char	*up = ecr_str(r, "upstreamRepositoryPrefix");
	const struct ptc_upstream *u;
	struct registry	*reg = registry_find(r->account, r->region);
	struct ptc_rule	 rule, old;
	struct json_object *out;
	struct txn	 t;
	char		 key[64], *text, upacct[ACCOUNT_LEN + 1];

	memset(&rule, 0, sizeof(rule));
	ecr_ptc_prefix(ecr_str(r, "ecrRepositoryPrefix"), rule.prefix,
	    sizeof(rule.prefix));
	if ((u = ptc_upstream_for_url(url)) == NULL) {
		ecr_error(r, "UnsupportedUpstreamRegistryException", "The "
		    "upstream registry URL '%s' is not supported; use one of "
		    "ECR's supported upstream registries (registry-1.docker.io, "
		    "public.ecr.aws, quay.io, registry.k8s.io, ghcr.io, "
		    "registry.gitlab.com, <name>.azurecr.io, cgr.dev, "
		    "<account>.dkr.ecr.<region>.amazonaws.com) and "
		    "berthd --upstream-map to fetch it from elsewhere.", url);
		return;
	}
	if (kind != NULL && strcmp(kind, u->name) != 0) {
		ecr_error(r, "UnsupportedUpstreamRegistryException", "The "
		    "upstream registry '%s' does not serve the URL '%s', which "
		    "is %s's.", kind, url, u->name);
		return;
	}
	if (u->auth == PTC_AUTH_SECRET && cred == NULL) {
		ecr_error(r, "UnsupportedUpstreamRegistryException", "The "
		    "upstream registry %s requires authentication: give a "
		    "credentialArn.", u->name);
		return;
	}
	if (u->auth == PTC_AUTH_ROLE && cred != NULL) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter: "
		    "an upstream Amazon ECR registry is reached with a "
		    "customRoleArn, not a credentialArn.");
		return;
	}
	if (role != NULL && u->auth != PTC_AUTH_ROLE) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter: "
		    "customRoleArn is only for an upstream Amazon ECR "
		    "registry.");
		return;
	}
	if (u->auth == PTC_AUTH_ROLE && role == NULL &&
	    (ecr_ptc_upstream_account(url, upacct) != 0 ||
	    strcmp(upacct, r->account) != 0)) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter: "
		    "an upstream Amazon ECR registry in another account needs "
		    "a customRoleArn.");
		return;
	}
	if (up != NULL && (u->auth != PTC_AUTH_ROLE ||
	    (strcmp(rule.prefix, "ROOT") == 0 && strcmp(up, "ROOT") != 0))) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter: "
		    "upstreamRepositoryPrefix is only for an upstream Amazon "
		    "ECR registry and an ecrRepositoryPrefix other than ROOT.");
		return;
	}
	if (ptc_rule_find(reg, rule.prefix, &old) == 0) {
		ptc_rule_clear(&old);
		ecr_error(r, "PullThroughCacheRuleAlreadyExistsException", "A "
		    "pull through cache rule with the repository prefix '%s' "
		    "already exists in the registry with id '%s'.",
		    rule.prefix, r->account);
		return;
	}
	if (ptc_rule_count(reg) >= PTC_RULES_MAX) {
		ecr_error(r, "LimitExceededException", "The registry already "
		    "has %d pull through cache rules, the most ECR allows.",
		    PTC_RULES_MAX);
		return;
	}
	if ((cred != NULL && ecr_ptc_check_secret(r, cred) != 0) ||
	    (role != NULL && ecr_ptc_check_role(r, role) != 0))
		return;
	snprintf(rule.url, sizeof(rule.url), "%s", url);
	snprintf(rule.kind, sizeof(rule.kind), "%s", u->name);
	if (up != NULL)
		ecr_ptc_prefix(up, rule.upstream_prefix,
		    sizeof(rule.upstream_prefix));
	rule.credential_arn = cred != NULL ? xstrdup(cred) : NULL;
	rule.custom_role_arn = role != NULL ? xstrdup(role) : NULL;
	rule.created_ms = now_ms();

	out = ptc_rule_json(&rule, r->account);
	json_object_object_del(out, "updatedAt");
	text = ptc_rule_text(&rule);
	snprintf(key, sizeof(key), "%s%s", PTC_KEY_PREFIX, rule.prefix);
	txn_init(&t);
	if (txn_setting_put(&t, registry_get(r->account, r->region), key,
	    text) != 0)
		fatalx("CreatePullThroughCacheRule: the record does not apply");
	free(text);
	ptc_rule_clear(&rule);
	ecr_commit(r, &t, out);
}

void
ecr_ptc_describe(struct ecr_req *r)
{
	struct json_object *names = ecr_member(r, "ecrRepositoryPrefixes");
	const char	*token = ecr_str(r, "nextToken");
	struct registry	*reg = registry_find(r->account, r->region);
	struct json_object *out, *arr;
	struct ptc_rule	 rule;
	char		 prefix[32], cursor[64], *next;
	size_t		 i, n, start = 0, count;
	int		 page;

	out = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(out, "pullThroughCacheRules", arr);
	if (names != NULL) {
		n = json_object_array_length(names);
		for (i = 0; i < n; i++) {
			ecr_ptc_prefix(json_object_get_string(
			    json_object_array_get_idx(names, i)), prefix,
			    sizeof(prefix));
			if (ptc_rule_find(reg, prefix, &rule) != 0) {
				json_object_put(out);
				ecr_ptc_not_found(r, prefix);
				return;
			}
			json_object_array_add(arr, ptc_rule_json(&rule,
			    r->account));
			ptc_rule_clear(&rule);
		}
		ecr_respond(r, out);
		return;
	}
	page = ecr_page_size(r);
	count = ptc_rule_count(reg);
	if (token != NULL) {
		if (ecr_token_parse(r, "", token, cursor, sizeof(cursor)) ==
		    -1) {
			json_object_put(out);
			ecr_bad_token(r);
			return;
		}
		while (start < count && strcmp(ptc_rule_key_at(reg, start),
		    cursor) <= 0)
			start++;
	}
	for (i = start; i < count && i - start < (size_t)page; i++) {
		if (ptc_rule_find(reg, ptc_rule_key_at(reg, i), &rule) != 0)
			continue;
		json_object_array_add(arr, ptc_rule_json(&rule, r->account));
		ptc_rule_clear(&rule);
	}
	if (i < count) {
		next = ecr_token_make(r, "", ptc_rule_key_at(reg, i - 1));
		ecr_add_str(out, "nextToken", next);
		free(next);
	}
	ecr_respond(r, out);
}

void
ecr_ptc_update(struct ecr_req *r)
{
	const char	*cred = ecr_str(r, "credentialArn");
	const char	*role = ecr_str(r, "customRoleArn");
	struct registry	*reg = registry_find(r->account, r->region);
	const struct ptc_upstream *u;
	struct ptc_rule	 rule;
	struct json_object *out;
	struct txn	 t;
	char		 prefix[32], key[64], *text;

	ecr_ptc_prefix(ecr_str(r, "ecrRepositoryPrefix"), prefix,
	    sizeof(prefix));
	if (ptc_rule_find(reg, prefix, &rule) != 0) {
		ecr_ptc_not_found(r, prefix);
		return;
	}
	u = ptc_upstream_named(rule.kind);
	if (cred == NULL && role == NULL) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter: "
		    "give a credentialArn or a customRoleArn to change.");
		goto out;
	}
	if (cred != NULL && (u == NULL || u->auth == PTC_AUTH_ROLE)) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter: "
		    "an upstream Amazon ECR registry is reached with a "
		    "customRoleArn, not a credentialArn.");
		goto out;
	}
	if (role != NULL && (u == NULL || u->auth != PTC_AUTH_ROLE)) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter: "
		    "customRoleArn is only for an upstream Amazon ECR "
		    "registry.");
		goto out;
	}
	if ((cred != NULL && ecr_ptc_check_secret(r, cred) != 0) ||
	    (role != NULL && ecr_ptc_check_role(r, role) != 0))
		goto out;
	if (cred != NULL) {
		free(rule.credential_arn);
		rule.credential_arn = xstrdup(cred);
	}
	if (role != NULL) {
		free(rule.custom_role_arn);
		rule.custom_role_arn = xstrdup(role);
	}
	rule.updated_ms = now_ms();
	out = json_object_new_object();
	ecr_add_str(out, "ecrRepositoryPrefix", rule.prefix);
	ecr_add_str(out, "registryId", r->account);
	ecr_add_time(out, "updatedAt", rule.updated_ms);
	if (rule.credential_arn != NULL)
		ecr_add_str(out, "credentialArn", rule.credential_arn);
	if (rule.custom_role_arn != NULL)
		ecr_add_str(out, "customRoleArn", rule.custom_role_arn);
	ecr_add_str(out, "upstreamRepositoryPrefix",
	    rule.upstream_prefix[0] != '\0' ? rule.upstream_prefix : "ROOT");
	text = ptc_rule_text(&rule);
	snprintf(key, sizeof(key), "%s%s", PTC_KEY_PREFIX, rule.prefix);
	txn_init(&t);
	if (txn_setting_put(&t, registry_get(r->account, r->region), key,
	    text) != 0)
		fatalx("UpdatePullThroughCacheRule: the record does not apply");
	free(text);
	ecr_commit(r, &t, out);
out:
	ptc_rule_clear(&rule);
}

void
ecr_ptc_delete(struct ecr_req *r)
{
	struct registry	*reg = registry_find(r->account, r->region);
	struct ptc_rule	 rule;
	struct json_object *out;
	struct txn	 t;
	char		 prefix[32], key[64];

	ecr_ptc_prefix(ecr_str(r, "ecrRepositoryPrefix"), prefix,
	    sizeof(prefix));
	if (ptc_rule_find(reg, prefix, &rule) != 0) {
		ecr_ptc_not_found(r, prefix);
		return;
	}
	/* Repositories it created stay, with what they cached. */
	out = ptc_rule_json(&rule, r->account);
	json_object_object_del(out, "updatedAt");
	snprintf(key, sizeof(key), "%s%s", PTC_KEY_PREFIX, rule.prefix);
	ptc_rule_clear(&rule);
	txn_init(&t);
	if (txn_setting_delete(&t, reg, key) != 0)
		fatalx("DeletePullThroughCacheRule: the record does not apply");
	ecr_commit(r, &t, out);
}

/* ValidatePullThroughCacheRule: authenticating to the upstream's /v2/. */
struct ecr_ptc_check {
	struct ecr_req	*r;
	struct json_object *out;
};

static void
ecr_ptc_validated_cb(const struct msg_fetch_done *d, const uint8_t *body,
    size_t len, void *arg)
{
	struct ecr_ptc_check *c = arg;
	const char	*why;

	json_object_object_add(c->out, "isValid",
	    json_object_new_boolean(d->result == FETCH_OK));
	if (d->result != FETCH_OK) {
		switch (d->result) {
		case FETCH_ERR_DENIED:
			why = "authentication to the upstream registry failed";
			break;
		case FETCH_ERR_TOO_MANY:
			why = "the upstream registry refused too many requests";
			break;
		default:
			why = "the upstream registry could not be reached";
			break;
		}
		json_object_object_add(c->out, "failure",
		    json_object_new_string(d->message[0] != '\0' ?
		    d->message : why));
		log_info("pull through cache rule %s: %s (%s)",
		    json_object_get_string(json_object_object_get(c->out,
		    "ecrRepositoryPrefix")), why, d->message);
	}
	ecr_respond(c->r, c->out);
	free(c);
}

void
ecr_ptc_validate(struct ecr_req *r)
{
	struct registry	*reg = registry_find(r->account, r->region);
	struct fetchc_request rq;
	struct ecr_ptc_check *c;
	struct ptc_rule	 rule;
	const char	*user = NULL, *token = NULL;
	char		 prefix[32], *url;
	int		 rc;

	ecr_ptc_prefix(ecr_str(r, "ecrRepositoryPrefix"), prefix,
	    sizeof(prefix));
	if (ptc_rule_find(reg, prefix, &rule) != 0) {
		ecr_ptc_not_found(r, prefix);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->out = ptc_rule_json(&rule, r->account);
	json_object_object_del(c->out, "createdAt");
	json_object_object_del(c->out, "updatedAt");
	json_object_object_del(c->out, "upstreamRegistry");
	if (rule.credential_arn != NULL &&
	    (rc = ptc_secret_lookup(rule.credential_arn, &user, &token)) !=
	    0) {
		json_object_object_add(c->out, "isValid",
		    json_object_new_boolean(0));
		json_object_object_add(c->out, "failure",
		    json_object_new_string(ptc_secret_exception(rc)));
		ecr_respond(r, c->out);
		free(c);
		ptc_rule_clear(&rule);
		return;
	}
	xasprintf(&url, "%s%s/v2/", strncasecmp(rule.url, "https://", 8) ==
	    0 ? "" : "https://", rule.url);
	memset(&rq, 0, sizeof(rq));
	rq.method = FETCH_GET;
	rq.flags = FETCH_F_REGISTRY;
	rq.max_bytes = 65536;
	rq.url = url;
	rq.user = user;
	rq.secret = token;
	rq.pipe = -1;
	(void)fetchc_fetch(&rq, NULL, ecr_ptc_validated_cb, c);
	free(url);
	ptc_rule_clear(&rule);
}
