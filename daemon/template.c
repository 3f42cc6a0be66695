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
 * Repository creation templates as ECR applies them (User Guide,
 * repository-creation-templates.html): only when ECR creates a repository
 * itself (create on push, replication, pull through cache), never for
 * CreateRepository; only for the uses the template's appliedFor lists; the
 * longest matching prefix wins ("prod/team" over "prod"), a prefix always
 * standing for itself followed by "/", and ROOT applies to every
 * repository no other template covers.  Without a template ECR uses its
 * defaults: tags mutable, AES256, no policies, no resource tags.
 *
 * Create on push (since December 2025): a push into a repository that
 * does not exist creates it when a CREATE_ON_PUSH template applies to the
 * name, and is refused otherwise.  berthd --create-on-push creates it in
 * every case, with the template's settings when one applies and the
 * defaults when none does.
 *
 * Each template is the registry setting "template/<prefix>", holding
 * {"template": <RepositoryCreationTemplate without its dates>,
 * "createdMs": ..., "updatedMs": ...}, the prefix without a trailing '/'.
 * Data written before that rule may hold "template/prod/": the record is
 * read as "template/prod" (template_setting_canon), and the next snapshot
 * writes it so.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "error.h"
#include "log.h"
#include "name.h"
#include "util.h"

#define TEMPLATE_JSON_DEPTH	16

/* The length of the name's part prefix covers, or 0. */
static size_t
prefix_covers(const char *prefix, const char *name)
{
	size_t	 n = strlen(prefix);

	if (strcmp(prefix, "ROOT") == 0)
		return 0;
	if (n > 0 && prefix[n - 1] == '/')
		n--;
	if (n == 0 || strncmp(prefix, name, n) != 0)
		return 0;
	return name[n] == '\0' || name[n] == '/' ? n : 0;
}

static int
applied_for(struct json_object *tpl, const char *use)
{
	struct json_object *list, *v;
	size_t	 i, n;

	if (!json_object_object_get_ex(tpl, "appliedFor", &list) ||
	    !json_object_is_type(list, json_type_array))
		return 0;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(list, i);
		if (json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), use) == 0)
			return 1;
	}
	return 0;
}

const char *
template_for(const struct registry *reg, const char *name, const char *use)
{
	struct json_object *doc, *tpl;
	const char	*best = NULL, *root = NULL, *prefix;
	size_t		 i, n, best_len = 0, plen = strlen(TEMPLATE_KEY_PREFIX);

	if (reg == NULL)
		return NULL;
	for (i = 0; i < reg->settings.len; i++) {
		const struct kv *kv = reg->settings.items[i];

		if (strncmp(kv->key, TEMPLATE_KEY_PREFIX, plen) != 0)
			continue;
		prefix = kv->key + plen;
		n = prefix_covers(prefix, name);
		if (n == 0 && strcmp(prefix, "ROOT") != 0)
			continue;
		if (n > 0 && n <= best_len)
			continue;
		if ((doc = json_parse_strict(kv->value, strlen(kv->value),
		    TEMPLATE_JSON_DEPTH, NULL)) == NULL)
			continue;
		if (json_object_object_get_ex(doc, "template", &tpl) &&
		    applied_for(tpl, use)) {
			if (n == 0)
				root = kv->value;
			else {
				best = kv->value;
				best_len = n;
			}
		}
		json_object_put(doc);
	}
	return best != NULL ? best : root;
}

static const char *
member_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
template_config(const char *json, struct repo_config *c)
{
	static const char *const mut[] = { "MUTABLE", "IMMUTABLE",
	    "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION" };
	struct json_object *doc, *tpl, *v, *e;
	const char	*s;
	size_t		 i, n;

	repo_config_init(c);
	c->encryption_type = xstrdup("AES256");
	if ((doc = json_parse_strict(json, strlen(json),
	    TEMPLATE_JSON_DEPTH, NULL)) == NULL)
		return -1;
	if (!json_object_object_get_ex(doc, "template", &tpl)) {
		json_object_put(doc);
		return -1;
	}
	if ((s = member_str(tpl, "imageTagMutability")) != NULL)
		for (i = 0; i < nitems(mut); i++)
			if (strcmp(s, mut[i]) == 0)
				c->mutability = (enum tag_mutability)i;
	if (json_object_object_get_ex(tpl, "imageTagMutabilityExclusionFilters",
	    &v) && json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		c->mut_filters = xcalloc(n + 1, sizeof(char *));
		for (i = 0; i < n; i++)
			if ((s = member_str(json_object_array_get_idx(v, i),
			    "filter")) != NULL)
				c->mut_filters[c->nmut_filters++] = xstrdup(s);
	}
	if (json_object_object_get_ex(tpl, "encryptionConfiguration", &e)) {
		if ((s = member_str(e, "encryptionType")) != NULL) {
			free(c->encryption_type);
			c->encryption_type = xstrdup(s);
		}
		if ((s = member_str(e, "kmsKey")) != NULL && *s != '\0')
			c->kms_key = xstrdup(s);
	}
	if (json_object_object_get_ex(tpl, "resourceTags", &v) &&
	    json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		c->tags = xcalloc(n + 1, sizeof(*c->tags));
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(v, i);
			if (member_str(e, "Key") == NULL ||
			    member_str(e, "Value") == NULL)
				continue;
			c->tags[c->ntags].key = xstrdup(member_str(e, "Key"));
			c->tags[c->ntags++].value =
			    xstrdup(member_str(e, "Value"));
		}
	}
	if ((s = member_str(tpl, "repositoryPolicy")) != NULL && *s != '\0')
		c->policy = xstrdup(s);
	if ((s = member_str(tpl, "lifecyclePolicy")) != NULL && *s != '\0')
		c->lifecycle = xstrdup(s);
	json_object_put(doc);
	return 0;
}

int
template_create_on_push(const char *account, const char *region,
    const char *name)
{
	return conf.create_on_push || template_for(registry_find(account,
	    region), name, TEMPLATE_FOR_CREATE_ON_PUSH) != NULL;
}

int
template_create(struct txn *t, const char *account, const char *region,
    const char *name, const char *use)
{
	struct repo_config cfg;
	const char	*tpl;
	int		 rc;

	tpl = template_for(registry_find(account, region), name, use);
	if (t->err != 0 || tpl == NULL ||
	    repository_lookup(account, region, name) != NULL)
		return txn_repo_ensure(t, account, region, name);
	if (!name_ecr_repository_valid(name, strlen(name)))
		return t->err = BERR_NAME_INVALID;
	/* Repositories per registry, for every way one is made. */
	if (!registry_has_room(account, region))
		return t->err = BERR_LIMIT_EXCEEDED;
	if (template_config(tpl, &cfg) == -1) {
		repo_config_clear(&cfg);
		return txn_repo_ensure(t, account, region, name);
	}
	rc = txn_repo_put(t, account, region, name, now_ms(), &cfg);
	repo_config_clear(&cfg);
	return rc;
}

void
template_setting_canon(char **key, char **value)
{
	struct json_object *doc, *tpl;
	size_t	 n = strlen(*key), plen = strlen(TEMPLATE_KEY_PREFIX);
	char	*prefix;

	if (n <= plen + 1 || (*key)[n - 1] != '/' ||
	    strncmp(*key, TEMPLATE_KEY_PREFIX, plen) != 0)
		return;
	(*key)[n - 1] = '\0';
	if (value == NULL || (doc = json_parse_strict(*value, strlen(*value),
	    TEMPLATE_JSON_DEPTH, NULL)) == NULL)
		return;
	if (json_object_object_get_ex(doc, "template", &tpl) &&
	    json_object_is_type(tpl, json_type_object)) {
		prefix = *key + plen;
		json_object_object_add(tpl, "prefix",
		    json_object_new_string(prefix));
		free(*value);
		*value = xstrdup(json_object_to_json_string_ext(doc,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(doc);
}
