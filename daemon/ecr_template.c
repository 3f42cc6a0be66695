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
 * The repository creation template operations: Create, Describe (with
 * pagination, in prefix order), Update and Delete.  A template's settings
 * are validated as the operations that set them on a repository validate
 * them (CreateRepository for tag mutability, its exclusion filters and the
 * encryption; TagResource for resource tags; SetRepositoryPolicy and
 * PutLifecyclePolicy, through lifecycle_policy_parse, for the policy
 * texts).  customRoleArn must be an IAM
 * role of the registry's own account (API_CreateRepositoryCreationTemplate:
 * "This role must be in the same account as the registry").  Update
 * changes only the members the request names.  The model layer that
 * applies templates is template.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "ecr.h"
#include "lifecycle.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define TEMPLATE_JSON_DEPTH	16

static const char *const mutability_names[] = {
	"MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION",
	"MUTABLE_WITH_EXCLUSION",
};

/* What a template holds beyond a repository configuration. */
struct template_meta {
	char		*description;
	struct json_object *applied_for;	/* array of strings */
	char		*role;
	int64_t		 created_ms;
};

static void
meta_clear(struct template_meta *m)
{
	free(m->description);
	free(m->role);
	json_object_put(m->applied_for);
	memset(m, 0, sizeof(*m));
}

static char *
template_key(const char *prefix)
{
	char	*key;

	xasprintf(&key, "%s%s", TEMPLATE_KEY_PREFIX, prefix);
	return key;
}

static const char *
template_text(struct ecr_req *r, const char *prefix)
{
	char		*key = template_key(prefix);
	const char	*text;

	text = registry_setting(registry_find(r->account, r->region), key);
	free(key);
	return text;
}

/* The stored form: {"template": {...}, "createdMs", "updatedMs"}. */
static char *
template_serialize(const char *prefix, const struct repo_config *c,
    const struct template_meta *m, int64_t updated_ms)
{
	struct json_object *doc, *t, *enc, *arr, *o;
	char		*s;
	size_t		 i;

	t = json_object_new_object();
	ecr_add_str(t, "prefix", prefix);
	ecr_add_str(t, "description", m->description);
	enc = json_object_new_object();
	ecr_add_str(enc, "encryptionType", c->encryption_type != NULL ?
	    c->encryption_type : "AES256");
	ecr_add_str(enc, "kmsKey", c->kms_key);
	json_object_object_add(t, "encryptionConfiguration", enc);
	arr = json_object_new_array();
	for (i = 0; i < c->ntags; i++) {
		o = json_object_new_object();
		ecr_add_str(o, "Key", c->tags[i].key);
		ecr_add_str(o, "Value", c->tags[i].value);
		json_object_array_add(arr, o);
	}
	json_object_object_add(t, "resourceTags", arr);
	ecr_add_str(t, "imageTagMutability", mutability_names[c->mutability]);
	if (c->nmut_filters > 0) {
		arr = json_object_new_array();
		for (i = 0; i < c->nmut_filters; i++) {
			o = json_object_new_object();
			ecr_add_str(o, "filterType", "WILDCARD");
			ecr_add_str(o, "filter", c->mut_filters[i]);
			json_object_array_add(arr, o);
		}
		json_object_object_add(t,
		    "imageTagMutabilityExclusionFilters", arr);
	}
	ecr_add_str(t, "repositoryPolicy", c->policy);
	ecr_add_str(t, "lifecyclePolicy", c->lifecycle);
	json_object_object_add(t, "appliedFor",
	    json_object_get(m->applied_for));
	ecr_add_str(t, "customRoleArn", m->role);
	doc = json_object_new_object();
	json_object_object_add(doc, "template", t);
	json_object_object_add(doc, "createdMs",
	    json_object_new_int64(m->created_ms));
	json_object_object_add(doc, "updatedMs",
	    json_object_new_int64(updated_ms));
	s = xstrdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return s;
}

/* The template as ECR returns it. */
static struct json_object *
template_out(const char *text)
{
	struct json_object *doc, *t, *v;
	int64_t		 created = 0, updated = 0;

	if ((doc = json_parse_strict(text, strlen(text),
	    TEMPLATE_JSON_DEPTH)) == NULL ||
	    !json_object_object_get_ex(doc, "template", &t)) {
		json_object_put(doc);
		return json_object_new_object();
	}
	t = json_object_get(t);
	if (json_object_object_get_ex(doc, "createdMs", &v))
		created = json_object_get_int64(v);
	if (json_object_object_get_ex(doc, "updatedMs", &v))
		updated = json_object_get_int64(v);
	json_object_put(doc);
	ecr_add_time(t, "createdAt", created);
	ecr_add_time(t, "updatedAt", updated);
	return t;
}

static void
meta_from_text(const char *text, struct template_meta *m)
{
	struct json_object *doc, *t, *v;

	memset(m, 0, sizeof(*m));
	if ((doc = json_parse_strict(text, strlen(text),
	    TEMPLATE_JSON_DEPTH)) == NULL)
		return;
	if (json_object_object_get_ex(doc, "template", &t)) {
		if (json_object_object_get_ex(t, "description", &v))
			m->description = xstrdup(json_object_get_string(v));
		if (json_object_object_get_ex(t, "customRoleArn", &v))
			m->role = xstrdup(json_object_get_string(v));
		if (json_object_object_get_ex(t, "appliedFor", &v))
			m->applied_for = json_object_get(v);
	}
	if (json_object_object_get_ex(doc, "createdMs", &v))
		m->created_ms = json_object_get_int64(v);
	json_object_put(doc);
}

/* The request's members into c and m; 0, or -1 when r was answered. */
static int
template_apply_request(struct ecr_req *r, struct repo_config *c,
    struct template_meta *m, int update)
{
	struct json_object *v, *arr;
	const char	*s, *colon;
	char		*msg;
	size_t		 i, j, n;

	if ((v = ecr_member(r, "appliedFor")) != NULL) {
		n = json_object_array_length(v);
		arr = json_object_new_array();
		for (i = 0; i < n; i++) {
			s = json_object_get_string(json_object_array_get_idx(v,
			    i));
			for (j = 0; j < i; j++)
				if (strcmp(s, json_object_get_string(
				    json_object_array_get_idx(v, j))) == 0)
					break;
			if (j == i)
				json_object_array_add(arr,
				    json_object_new_string(s));
		}
		if (n == 0) {
			json_object_put(arr);
			ecr_error(r, "InvalidParameterException", "Invalid "
			    "parameter at 'appliedFor' failed to satisfy "
			    "constraint: 'at least one of REPLICATION, "
			    "PULL_THROUGH_CACHE or CREATE_ON_PUSH is "
			    "required'");
			return -1;
		}
		json_object_put(m->applied_for);
		m->applied_for = arr;
	}
	if ((s = ecr_str(r, "description")) != NULL) {
		free(m->description);
		m->description = *s != '\0' ? xstrdup(s) : NULL;
	}
	if ((s = ecr_str(r, "customRoleArn")) != NULL) {
		/* arn:<partition>:iam::<this account>:role/<path and name> */
		colon = strncmp(s, "arn:", 4) == 0 ? strchr(s + 4, ':') : NULL;
		if (*s != '\0' && (colon == NULL ||
		    strncmp(colon, ":iam::", 6) != 0 ||
		    strncmp(colon + 6, r->account, ACCOUNT_LEN) != 0 ||
		    strncmp(colon + 6 + ACCOUNT_LEN, ":role/", 6) != 0 ||
		    colon[6 + ACCOUNT_LEN + 6] == '\0')) {
			ecr_error(r, "InvalidParameterException", "Invalid "
			    "parameter at 'customRoleArn' failed to satisfy "
			    "constraint: 'the role must be an IAM role of the "
			    "registry's account, arn:aws:iam::%s:role/<name>'",
			    r->account);
			return -1;
		}
		free(m->role);
		m->role = *s != '\0' ? xstrdup(s) : NULL;
	}
	if ((!update || ecr_member(r, "imageTagMutability") != NULL ||
	    ecr_member(r, "imageTagMutabilityExclusionFilters") != NULL) &&
	    ecr_repository_parse_mutability(r, c, 0) == -1)
		return -1;
	if (ecr_member(r, "encryptionConfiguration") != NULL) {
		free(c->encryption_type);
		free(c->kms_key);
		c->encryption_type = c->kms_key = NULL;
		if (ecr_repository_parse_encryption(r, c) == -1)
			return -1;
	}
	if ((v = ecr_member(r, "resourceTags")) != NULL) {
		for (i = 0; i < c->ntags; i++) {
			free(c->tags[i].key);
			free(c->tags[i].value);
		}
		c->ntags = 0;
		if (ecr_tag_merge(r, c, v) == -1)
			return -1;
	}
	if ((s = ecr_str(r, "repositoryPolicy")) != NULL) {
		if (*s != '\0' && !ecr_policy_valid(s, strlen(s))) {
			ecr_error(r, "InvalidParameterException", "Invalid "
			    "parameter at 'repositoryPolicy' failed to satisfy "
			    "constraint: 'Invalid repository policy provided'");
			return -1;
		}
		free(c->policy);
		c->policy = *s != '\0' ? xstrdup(s) : NULL;
	}
	if ((s = ecr_str(r, "lifecyclePolicy")) != NULL) {
		/* As PutLifecyclePolicy validates it (lifecycle_policy.c). */
		if (*s != '\0' && lifecycle_policy_parse(s, strlen(s),
		    "lifecyclePolicy", NULL, &msg) == -1) {
			ecr_error(r, "InvalidParameterException", "%s", msg);
			free(msg);
			return -1;
		}
		free(c->lifecycle);
		c->lifecycle = *s != '\0' ? xstrdup(s) : NULL;
	}
	return 0;
}

static void
template_write(struct ecr_req *r, const char *prefix, struct repo_config *c,
    struct template_meta *m)
{
	struct json_object *out;
	struct txn	 t;
	char		*text, *key;

	text = template_serialize(prefix, c, m, now_ms());
	key = template_key(prefix);
	txn_init(&t);
	if (txn_setting_put(&t, registry_get(r->account, r->region), key,
	    text) != 0)
		fatalx("template record does not apply");
	out = json_object_new_object();
	ecr_add_str(out, "registryId", r->account);
	json_object_object_add(out, "repositoryCreationTemplate",
	    template_out(text));
	free(key);
	free(text);
	repo_config_clear(c);
	meta_clear(m);
	ecr_commit(r, &t, out);
}

void
ecr_template_create(struct ecr_req *r)
{
	const char	*prefix = ecr_str(r, "prefix");
	struct repo_config cfg;
	struct template_meta m;

	if (template_text(r, prefix) != NULL) {
		ecr_error(r, "TemplateAlreadyExistsException", "The repository "
		    "creation template with prefix '%s' already exists in the "
		    "registry with id '%s'", prefix, r->account);
		return;
	}
	repo_config_init(&cfg);
	cfg.encryption_type = xstrdup("AES256");
	memset(&m, 0, sizeof(m));
	m.created_ms = now_ms();
	if (template_apply_request(r, &cfg, &m, 0) == -1) {
		repo_config_clear(&cfg);
		meta_clear(&m);
		return;
	}
	template_write(r, prefix, &cfg, &m);
}

static const char *
template_or_error(struct ecr_req *r, const char *prefix)
{
	const char	*text;

	if ((text = template_text(r, prefix)) == NULL)
		ecr_error(r, "TemplateNotFoundException", "The repository "
		    "creation template with prefix '%s' does not exist in the "
		    "registry with id '%s'", prefix, r->account);
	return text;
}

void
ecr_template_update(struct ecr_req *r)
{
	const char	*prefix = ecr_str(r, "prefix");
	const char	*text;
	struct repo_config cfg;
	struct template_meta m;

	if ((text = template_or_error(r, prefix)) == NULL)
		return;
	if (template_config(text, &cfg) == -1) {
		repo_config_clear(&cfg);
		ecr_fail(r, BERR_INTERNAL);
		return;
	}
	meta_from_text(text, &m);
	if (template_apply_request(r, &cfg, &m, 1) == -1) {
		repo_config_clear(&cfg);
		meta_clear(&m);
		return;
	}
	template_write(r, prefix, &cfg, &m);
}

void
ecr_template_delete(struct ecr_req *r)
{
	const char	*prefix = ecr_str(r, "prefix");
	const char	*text;
	struct json_object *out;
	char		*key;

	if ((text = template_or_error(r, prefix)) == NULL)
		return;
	out = json_object_new_object();
	ecr_add_str(out, "registryId", r->account);
	json_object_object_add(out, "repositoryCreationTemplate",
	    template_out(text));
	key = template_key(prefix);
	ecr_registry_setting_delete(r, key, out);
	free(key);
}

void
ecr_template_describe(struct ecr_req *r)
{
	struct json_object *prefixes = ecr_member(r, "prefixes"), *out, *arr;
	const char	*token = ecr_str(r, "nextToken"), *text;
	struct registry	*reg = registry_find(r->account, r->region);
	char		 cursor[NAME_MAX_LEN + 16], *next;
	size_t		 i, n, plen = strlen(TEMPLATE_KEY_PREFIX);
	int		 page = ecr_page_size(r), count = 0;

	out = json_object_new_object();
	ecr_add_str(out, "registryId", r->account);
	arr = json_object_new_array();
	json_object_object_add(out, "repositoryCreationTemplates", arr);
	if (prefixes != NULL) {
		/* Prefixes that name no template return nothing. */
		n = json_object_array_length(prefixes);
		for (i = 0; i < n; i++) {
			text = template_text(r, json_object_get_string(
			    json_object_array_get_idx(prefixes, i)));
			if (text != NULL)
				json_object_array_add(arr, template_out(text));
		}
		ecr_respond(r, out);
		return;
	}
	cursor[0] = '\0';
	if (token != NULL && ecr_token_parse(r, "", token, cursor,
	    sizeof(cursor)) == -1) {
		json_object_put(out);
		ecr_bad_token(r);
		return;
	}
	n = reg != NULL ? reg->settings.len : 0;
	for (i = 0; i < n; i++) {
		const struct kv *kv = reg->settings.items[i];

		if (strncmp(kv->key, TEMPLATE_KEY_PREFIX, plen) != 0 ||
		    strcmp(kv->key + plen, cursor) <= 0)
			continue;
		if (count == page) {
			next = ecr_token_make(r, "", cursor);
			ecr_add_str(out, "nextToken", next);
			free(next);
			break;
		}
		json_object_array_add(arr, template_out(kv->value));
		snprintf(cursor, sizeof(cursor), "%s", kv->key + plen);
		count++;
	}
	ecr_respond(r, out);
}
