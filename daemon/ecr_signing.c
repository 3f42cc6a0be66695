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
 * The managed signing operations: Put/Get/DeleteSigningConfiguration and
 * DescribeImageSigningStatus.  The model checks the shapes (at most 10
 * rules, ARNs of Signer profiles, WILDCARD_MATCH filters); beyond them a
 * profile must be in the registry's region (managed-signing.html).
 * Deleting the configuration keeps the signatures already made.  The
 * signing itself is signing.c's.
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

#define SIGNING_JSON_DEPTH	16

/* The configuration with the members ECR knows; NULL when r was answered. */
static struct json_object *
signing_canonical(struct ecr_req *r, struct json_object *in)
{
	struct json_object *rules, *rule, *out, *orules, *orule, *v, *filters;
	struct json_object *f, *of, *ofilters;
	const char	*arn, *region;
	size_t		 i, j, n, len;

	out = json_object_new_object();
	orules = json_object_new_array();
	json_object_object_add(out, "rules", orules);
	if (!json_object_object_get_ex(in, "rules", &rules) || rules == NULL)
		return out;
	n = json_object_array_length(rules);
	for (i = 0; i < n; i++) {
		rule = json_object_array_get_idx(rules, i);
		json_object_object_get_ex(rule, "signingProfileArn", &v);
		arn = json_object_get_string(v);
		/* arn:<partition>:signer:<region>:<account>:/signing-... */
		region = strchr(strchr(arn + 4, ':') + 1, ':') + 1;
		len = strcspn(region, ":");
		if (len != strlen(r->region) ||
		    strncmp(region, r->region, len) != 0) {
			ecr_error(r, "InvalidParameterException", "Invalid "
			    "parameter at 'signingConfiguration.rules.%zu."
			    "member.signingProfileArn' failed to satisfy "
			    "constraint: 'the signing profile must be in the "
			    "registry's region, %s'", i + 1, r->region);
			json_object_put(out);
			return NULL;
		}
		orule = json_object_new_object();
		ecr_add_str(orule, "signingProfileArn", arn);
		if (json_object_object_get_ex(rule, "repositoryFilters",
		    &filters) && filters != NULL) {
			ofilters = json_object_new_array();
			for (j = 0; j < json_object_array_length(filters); j++) {
				f = json_object_array_get_idx(filters, j);
				of = json_object_new_object();
				json_object_object_get_ex(f, "filter", &v);
				ecr_add_str(of, "filter",
				    json_object_get_string(v));
				json_object_object_get_ex(f, "filterType", &v);
				ecr_add_str(of, "filterType",
				    json_object_get_string(v));
				json_object_array_add(ofilters, of);
			}
			json_object_object_add(orule, "repositoryFilters",
			    ofilters);
		}
		json_object_array_add(orules, orule);
	}
	return out;
}

static struct json_object *
config_out(struct ecr_req *r, const char *text)
{
	struct json_object *out = json_object_new_object(), *c;

	ecr_add_str(out, "registryId", r->account);
	if ((c = json_parse_strict(text, strlen(text),
	    SIGNING_JSON_DEPTH)) != NULL)
		json_object_object_add(out, "signingConfiguration", c);
	return out;
}

void
ecr_signing_put(struct ecr_req *r)
{
	struct json_object *c, *out;
	struct txn	 t;

	if ((c = signing_canonical(r, ecr_member(r,
	    "signingConfiguration"))) == NULL)
		return;
	txn_init(&t);
	if (txn_setting_put(&t, registry_get(r->account, r->region),
	    REGISTRY_KEY_SIGNING, json_object_to_json_string_ext(c,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) != 0)
		fatalx("signing configuration record does not apply");
	out = json_object_new_object();
	json_object_object_add(out, "signingConfiguration", c);
	ecr_commit(r, &t, out);
}

static const char *
config_or_error(struct ecr_req *r)
{
	return ecr_registry_setting_find(r, REGISTRY_KEY_SIGNING,
	    "SigningConfigurationNotFoundException", "The signing "
	    "configuration");
}

void
ecr_signing_get(struct ecr_req *r)
{
	const char	*text;

	if ((text = config_or_error(r)) != NULL)
		ecr_respond(r, config_out(r, text));
}

void
ecr_signing_delete(struct ecr_req *r)
{
	const char	*text;

	if ((text = config_or_error(r)) != NULL)
		ecr_registry_setting_delete(r, REGISTRY_KEY_SIGNING,
		    config_out(r, text));
}

void
ecr_signing_status(struct ecr_req *r)
{
	ecr_registry_image_status(r, signing_status, "signingStatuses", 1);
}
