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
 * Resource tags: TagResource, UntagResource, ListTagsForResource, and the
 * tags CreateRepository takes.  They follow ECR's documented limits: 50
 * per repository, keys of 1 to 128 characters and values of at most 256,
 * of letters, digits, spaces and _ . : / = + - @, keys not beginning with
 * "aws:".  A resource is named by its ARN.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "util.h"

#define TAGS_MAX		50
#define TAG_KEY_MAX		128
#define TAG_VALUE_MAX		256

static int
tag_chars_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x80 || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr(" _.:/=+-@", c) != NULL)
			continue;
		return 0;
	}
	return 1;
}

static size_t
chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int
tag_key_ok(struct ecr_req *r, const char *key)
{
	if (chars(key) == 0 || chars(key) > TAG_KEY_MAX || !tag_chars_ok(key) ||
	    strncasecmp(key, "aws:", 4) == 0) {
		ecr_error(r, "InvalidTagParameterException", "The tag key "
		    "'%.*s' is invalid: a key has 1 to %d letters, digits, "
		    "spaces or _.:/=+-@ and may not begin with 'aws:'",
		    TAG_KEY_MAX + 8, key, TAG_KEY_MAX);
		return 0;
	}
	return 1;
}

int
ecr_tag_merge(struct ecr_req *r, struct repo_config *c,
    struct json_object *tags)
{
	struct json_object *t, *k, *v;
	const char	*key, *value;
	size_t		 i, j, n;

	n = tags != NULL ? json_object_array_length(tags) : 0;
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(tags, i);
		if (!json_object_object_get_ex(t, "Key", &k) ||
		    !json_object_object_get_ex(t, "Value", &v) || k == NULL ||
		    v == NULL)
			continue;	/* the validator requires both */
		key = json_object_get_string(k);
		value = json_object_get_string(v);
		if (!tag_key_ok(r, key))
			return -1;
		if (chars(value) > TAG_VALUE_MAX || !tag_chars_ok(value)) {
			ecr_error(r, "InvalidTagParameterException", "The tag "
			    "value for key '%s' is invalid: a value has at "
			    "most %d letters, digits, spaces or _.:/=+-@", key,
			    TAG_VALUE_MAX);
			return -1;
		}
		for (j = 0; j < c->ntags; j++)
			if (strcmp(c->tags[j].key, key) == 0)
				break;
		if (j < c->ntags) {
			free(c->tags[j].value);
			c->tags[j].value = xstrdup(value);
			continue;
		}
		if (c->ntags == TAGS_MAX) {
			ecr_error(r, "TooManyTagsException", "A repository can "
			    "have at most %d tags", TAGS_MAX);
			return -1;
		}
		c->tags = xreallocarray(c->tags, c->ntags + 1,
		    sizeof(*c->tags));
		c->tags[c->ntags].key = xstrdup(key);
		c->tags[c->ntags].value = xstrdup(value);
		c->ntags++;
	}
	return 0;
}

/*
 * The repository an ARN names: arn:aws:ecr:<region>:<account>:
 * repository/<name>.  It addresses that account's registry in that region.
 */
static struct repository *
arn_repository(struct ecr_req *r)
{
	const char	*arn = ecr_str(r, "resourceArn"), *p, *f[5];
	struct repository *repo;
	size_t		 i, n;

	p = arn;
	for (i = 0; i < 5; i++) {
		if ((p = strchr(p, ':')) == NULL)
			break;
		f[i] = ++p;
	}
	if (i < 5 || strncmp(arn, "arn:aws", 7) != 0 ||
	    strncmp(f[1], "ecr:", 4) != 0 ||
	    (n = (size_t)(f[3] - f[2] - 1)) == 0 || n > REGION_MAX ||
	    f[4] - f[3] - 1 != ACCOUNT_LEN ||
	    strncmp(f[4], "repository/", 11) != 0) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'resourceArn' failed to satisfy constraint: 'Invalid "
		    "ARN: %.300s'", arn);
		return NULL;
	}
	memcpy(r->region, f[2], n);
	r->region[n] = '\0';
	memcpy(r->account, f[3], ACCOUNT_LEN);
	r->account[ACCOUNT_LEN] = '\0';
	for (i = 0; i < ACCOUNT_LEN; i++)
		if (r->account[i] < '0' || r->account[i] > '9')
			break;
	if (i < ACCOUNT_LEN) {
		ecr_error(r, "InvalidParameterException", "Invalid parameter "
		    "at 'resourceArn' failed to satisfy constraint: 'Invalid "
		    "ARN: %.300s'", arn);
		return NULL;
	}
	repo = ecr_repository_find(r, f[4] + 11);
	return repo;
}

static void
tags_write(struct ecr_req *r, struct repository *repo,
    struct repo_config *cfg)
{
	ecr_repository_update(r, repo, cfg, json_object_new_object());
}

void
ecr_tag_resource(struct ecr_req *r)
{
	struct repository *repo;
	struct repo_config cfg;

	if ((repo = arn_repository(r)) == NULL)
		return;
	repo_config_copy(&cfg, &repo->config);
	if (ecr_tag_merge(r, &cfg, ecr_member(r, "tags")) == -1) {
		repo_config_clear(&cfg);
		return;
	}
	tags_write(r, repo, &cfg);
}

void
ecr_tag_untag_resource(struct ecr_req *r)
{
	struct json_object *keys = ecr_member(r, "tagKeys");
	struct repository *repo;
	struct repo_config cfg;
	const char	*key;
	size_t		 i, j, n;

	if ((repo = arn_repository(r)) == NULL)
		return;
	n = json_object_array_length(keys);
	for (i = 0; i < n; i++)
		if (!tag_key_ok(r, json_object_get_string(
		    json_object_array_get_idx(keys, i))))
			return;
	repo_config_copy(&cfg, &repo->config);
	for (i = 0; i < n; i++) {
		key = json_object_get_string(json_object_array_get_idx(keys,
		    i));
		for (j = 0; j < cfg.ntags; j++)
			if (strcmp(cfg.tags[j].key, key) == 0)
				break;
		if (j == cfg.ntags)
			continue;
		free(cfg.tags[j].key);
		free(cfg.tags[j].value);
		memmove(&cfg.tags[j], &cfg.tags[j + 1],
		    (cfg.ntags - j - 1) * sizeof(*cfg.tags));
		cfg.ntags--;
	}
	tags_write(r, repo, &cfg);
}

void
ecr_tag_list(struct ecr_req *r)
{
	struct repository *repo;
	struct json_object *out, *arr, *t;
	size_t		 i;

	if ((repo = arn_repository(r)) == NULL)
		return;
	out = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < repo->config.ntags; i++) {
		t = json_object_new_object();
		ecr_add_str(t, "Key", repo->config.tags[i].key);
		ecr_add_str(t, "Value", repo->config.tags[i].value);
		json_object_array_add(arr, t);
	}
	json_object_object_add(out, "tags", arr);
	ecr_respond(r, out);
}
