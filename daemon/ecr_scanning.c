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
 * The scanning configuration through the ECR API: the registry's
 * (PutRegistryScanningConfiguration, GetRegistryScanningConfiguration)
 * and what applies to each repository
 * (BatchGetRepositoryScanningConfiguration); scanning.c holds the rules.
 * The model checks the shapes (at most two rules, 100 filters a rule,
 * the filter pattern, the enums); this file adds AWS's rules between
 * them: BASIC takes SCAN_ON_PUSH rules only, ENHANCED takes
 * SCAN_ON_PUSH and CONTINUOUS_SCAN, a frequency once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "image_scan.h"
#include "util.h"

static struct json_object *
filters_json(char *const *filters, size_t n, const char *name)
{
	struct json_object *arr = json_object_new_array(), *f;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (name != NULL && !scanning_filter_matches(filters[i], name))
			continue;
		f = json_object_new_object();
		ecr_add_str(f, "filter", filters[i]);
		ecr_add_str(f, "filterType", "WILDCARD");
		json_object_array_add(arr, f);
	}
	return arr;
}

static struct json_object *
config_json(const struct scanning_config *c)
{
	struct json_object *o, *rules, *rule;
	size_t		 i;

	o = json_object_new_object();
	ecr_add_str(o, "scanType", c->enhanced ? "ENHANCED" : "BASIC");
	rules = json_object_new_array();
	for (i = 0; i < c->nrules; i++) {
		rule = json_object_new_object();
		ecr_add_str(rule, "scanFrequency",
		    scanning_frequency_name(c->rules[i].frequency));
		json_object_object_add(rule, "repositoryFilters",
		    filters_json(c->rules[i].filters, c->rules[i].nfilters,
		    NULL));
		json_object_array_add(rules, rule);
	}
	json_object_object_add(o, "rules", rules);
	return o;
}

/* The request's rules into c; 0, or -1 when r was answered. */
static int
config_from_request(struct ecr_req *r, struct scanning_config *c)
{
	struct json_object *rules = ecr_member(r, "rules"), *rule, *v, *fl;
	struct scanning_rule *sr;
	const char	*type = ecr_str(r, "scanType");
	size_t		 i, j, n, nf;

	memset(c, 0, sizeof(*c));
	c->configured = 1;
	c->enhanced = type != NULL && strcmp(type, "ENHANCED") == 0;
	n = rules != NULL ? json_object_array_length(rules) : 0;
	for (i = 0; i < n; i++) {
		rule = json_object_array_get_idx(rules, i);
		sr = &c->rules[c->nrules++];
		(void)json_object_object_get_ex(rule, "scanFrequency", &v);
		(void)scanning_frequency_parse(json_object_get_string(v),
		    &sr->frequency);
		if (sr->frequency == SCAN_FREQ_MANUAL ||
		    (sr->frequency == SCAN_FREQ_CONTINUOUS && !c->enhanced)) {
			ecr_error(r, "InvalidParameterException", "Invalid "
			    "parameter at 'rules.%zu.scanFrequency' failed to "
			    "satisfy constraint: 'scan frequency %s is not "
			    "supported for the %s scan type'", i + 1,
			    json_object_get_string(v), c->enhanced ?
			    "ENHANCED" : "BASIC");
			return -1;
		}
		for (j = 0; j < i; j++)
			if (c->rules[j].frequency == sr->frequency) {
				ecr_error(r, "InvalidParameterException",
				    "Invalid parameter at 'rules' failed to "
				    "satisfy constraint: 'only one rule per "
				    "scan frequency is allowed'");
				return -1;
			}
		(void)json_object_object_get_ex(rule, "repositoryFilters", &fl);
		nf = json_object_array_length(fl);
		sr->filters = xcalloc(nf + 1, sizeof(*sr->filters));
		for (j = 0; j < nf; j++) {
			(void)json_object_object_get_ex(
			    json_object_array_get_idx(fl, j), "filter", &v);
			sr->filters[sr->nfilters++] =
			    xstrdup(json_object_get_string(v));
		}
	}
	return 0;
}

void
ecr_scanning_put_registry(struct ecr_req *r)
{
	struct scanning_config c;
	struct json_object *out;
	struct txn	 t;
	int		 rc;

	if (config_from_request(r, &c) == -1) {
		scanning_config_clear(&c);
		return;
	}
	txn_init(&t);
	if ((rc = txn_scanning_config(&t, registry_get(r->account, r->region),
	    &c)) != 0) {
		txn_clear(&t);
		scanning_config_clear(&c);
		ecr_fail(r, rc);
		return;
	}
	out = json_object_new_object();
	json_object_object_add(out, "registryScanningConfiguration",
	    config_json(&c));
	scanning_config_clear(&c);
	ecr_commit(r, &t, out);
}

void
ecr_scanning_get_registry(struct ecr_req *r)
{
	struct scanning_config c;
	struct json_object *out;

	scanning_config_get(registry_find(r->account, r->region), &c);
	out = json_object_new_object();
	ecr_add_str(out, "registryId", r->account);
	json_object_object_add(out, "scanningConfiguration", config_json(&c));
	scanning_config_clear(&c);
	ecr_respond(r, out);
}

void
ecr_scanning_batch_get(struct ecr_req *r)
{
	struct json_object *names = ecr_member(r, "repositoryNames");
	struct json_object *out, *configs, *failures, *o;
	struct scanning_config c;
	struct scanning_applied a;
	struct repository *repo;
	const char	*name;
	char		*arn;
	size_t		 i, n = json_object_array_length(names);

	scanning_config_get(registry_find(r->account, r->region), &c);
	configs = json_object_new_array();
	failures = json_object_new_array();
	for (i = 0; i < n; i++) {
		name = json_object_get_string(json_object_array_get_idx(names,
		    i));
		if ((repo = repository_lookup(r->account, r->region, name)) ==
		    NULL) {
			o = json_object_new_object();
			ecr_add_str(o, "repositoryName", name);
			ecr_add_str(o, "failureCode", "REPOSITORY_NOT_FOUND");
			ecr_add_str(o, "failureReason", "REPOSITORY_NOT_FOUND");
			json_object_array_add(failures, o);
			continue;
		}
		scanning_applied(&c, repo, &a);
		o = json_object_new_object();
		arn = ecr_repository_arn(repo);
		ecr_add_str(o, "repositoryArn", arn);
		free(arn);
		ecr_add_str(o, "repositoryName", repo->name);
		json_object_object_add(o, "scanOnPush",
		    json_object_new_boolean(a.scan_on_push));
		ecr_add_str(o, "scanFrequency",
		    scanning_frequency_name(a.frequency));
		json_object_object_add(o, "appliedScanFilters", a.rule != NULL ?
		    filters_json(a.rule->filters, a.rule->nfilters,
		    repo->name) : json_object_new_array());
		json_object_array_add(configs, o);
	}
	scanning_config_clear(&c);
	out = json_object_new_object();
	json_object_object_add(out, "scanningConfigurations", configs);
	json_object_object_add(out, "failures", failures);
	ecr_respond(r, out);
}
