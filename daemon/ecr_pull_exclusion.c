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
 * Pull time update exclusions: RegisterPullTimeUpdateExclusion,
 * DeregisterPullTimeUpdateExclusion and ListPullTimeUpdateExclusions
 * (userguide/pull-time-update-exclusions.html).  An exclusion names an
 * IAM principal whose pulls leave an image's lastRecordedPullTime where
 * it was (meta_note_pull checks it); "up to 100 exclusions per account",
 * which berth counts per registry (account and region), as it keeps them:
 * one registry setting each, PULL_EXCLUSION_KEY and the ARN, its value
 * the creation time.  Settings are sorted by key, so the list comes in
 * ARN order and a page's cursor is the last ARN it gave.
 *
 * The caller's principal is the ARN the credentials file names for its
 * access key, else its account's root (auth_principal_default), which
 * the model's PrincipalArn (users and roles only) cannot exclude, as AWS
 * cannot exclude a root user.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "util.h"

#define EXCLUSIONS_MAX		100
#define EXCLUSION_KEY_MAX	(sizeof(PULL_EXCLUSION_KEY) + PRINCIPAL_MAX)

/* The exclusion at index i of reg's settings, or NULL past the last. */
static const struct kv *
exclusion_at(const struct registry *reg, size_t i)
{
	const struct kv	*kv;

	if (i >= reg->settings.len)
		return NULL;
	kv = reg->settings.items[i];
	if (strncmp(kv->key, PULL_EXCLUSION_KEY,
	    sizeof(PULL_EXCLUSION_KEY) - 1) != 0)
		return NULL;
	return kv;
}

static size_t
exclusion_count(const struct registry *reg)
{
	size_t	 i, n = 0;

	if (reg == NULL)
		return 0;
	for (i = sortvec_lower_bound(&reg->settings, PULL_EXCLUSION_KEY);
	    exclusion_at(reg, i) != NULL; i++)
		n++;
	return n;
}

static struct json_object *
exclusion_out(const char *arn)
{
	struct json_object *out = json_object_new_object();

	ecr_add_str(out, "principalArn", arn);
	return out;
}

void
ecr_pull_exclusion_register(struct ecr_req *r)
{
	const char	*arn = ecr_str(r, "principalArn");
	struct registry	*reg = registry_find(r->account, r->region);
	struct json_object *out;
	char		 key[EXCLUSION_KEY_MAX], value[24];
	int64_t		 now = model_now_ms();
	struct txn	 t;

	snprintf(key, sizeof(key), PULL_EXCLUSION_KEY "%s", arn);
	if (registry_setting(reg, key) != NULL) {
		ecr_error(r, "ExclusionAlreadyExistsException", "The principal "
		    "'%s' is already excluded from pull time updates in the "
		    "registry with id '%s'", arn, r->account);
		return;
	}
	if (exclusion_count(reg) >= EXCLUSIONS_MAX) {
		ecr_error(r, "LimitExceededException", "The registry with id "
		    "'%s' already has the maximum of %d pull time update "
		    "exclusions: deregister one first", r->account,
		    EXCLUSIONS_MAX);
		return;
	}
	snprintf(value, sizeof(value), "%lld", (long long)now);
	txn_init(&t);
	(void)txn_setting_put(&t, registry_get(r->account, r->region), key,
	    value);
	out = exclusion_out(arn);
	ecr_add_time(out, "createdAt", now);
	ecr_commit(r, &t, out);
}

void
ecr_pull_exclusion_deregister(struct ecr_req *r)
{
	const char	*arn = ecr_str(r, "principalArn");
	struct registry	*reg = registry_find(r->account, r->region);
	char		 key[EXCLUSION_KEY_MAX];
	struct txn	 t;

	snprintf(key, sizeof(key), PULL_EXCLUSION_KEY "%s", arn);
	if (registry_setting(reg, key) == NULL) {
		ecr_error(r, "ExclusionNotFoundException", "The principal '%s' "
		    "is not excluded from pull time updates in the registry "
		    "with id '%s'", arn, r->account);
		return;
	}
	txn_init(&t);
	(void)txn_setting_delete(&t, reg, key);
	ecr_commit(r, &t, exclusion_out(arn));
}

void
ecr_pull_exclusion_list(struct ecr_req *r)
{
	const char	*token = ecr_str(r, "nextToken");
	struct registry	*reg = registry_find(r->account, r->region);
	struct json_object *out, *arr;
	const struct kv	*kv, *last = NULL;
	char		 cursor[EXCLUSION_KEY_MAX], *next;
	size_t		 i, n = 0, page = (size_t)ecr_page_size(r);

	snprintf(cursor, sizeof(cursor), "%s", PULL_EXCLUSION_KEY);
	if (token != NULL && ecr_token_parse(r, "", token, cursor,
	    sizeof(cursor)) == -1) {
		ecr_bad_token(r);
		return;
	}
	out = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(out, "pullTimeUpdateExclusions", arr);
	if (reg == NULL) {
		ecr_respond(r, out);
		return;
	}
	i = token != NULL ? sortvec_upper_bound(&reg->settings, cursor) :
	    sortvec_lower_bound(&reg->settings, cursor);
	for (; (kv = exclusion_at(reg, i)) != NULL && n < page; i++, n++) {
		json_object_array_add(arr, json_object_new_string(kv->key +
		    sizeof(PULL_EXCLUSION_KEY) - 1));
		last = kv;
	}
	if (last != NULL && exclusion_at(reg, i) != NULL) {
		next = ecr_token_make(r, "", last->key);
		ecr_add_str(out, "nextToken", next);
		free(next);
	}
	ecr_respond(r, out);
}
