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
 * The registry's scanning configuration (PutRegistryScanningConfiguration)
 * and what it applies to each repository.  It is stored as one registry
 * setting, a small JSON document, so it is durable and compacted like
 * every other setting.  AWS's rules, from the ECR User Guide:
 * - Never configured, a registry uses BASIC scanning with no rules, and
 *   each repository's own scanOnPush (PutImageScanningConfiguration,
 *   CreateRepository) decides whether pushes are scanned.
 * - BASIC: a repository a SCAN_ON_PUSH rule's filter matches is scanned
 *   on push; any other is MANUAL.  The repository's own scanOnPush still
 *   counts under BASIC, so the older API keeps working as it does on AWS.
 * - ENHANCED: a repository a CONTINUOUS_SCAN filter matches is scanned on
 *   push and again whenever the vulnerability database changes; one a
 *   SCAN_ON_PUSH filter matches, on push; others not at all (MANUAL).
 *   CONTINUOUS_SCAN wins where both match.  Repository settings do not
 *   count.
 * - Filters: without '*' a filter matches every name that contains it;
 *   '*' stands for zero or more characters in an anchored match.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "image_scan.h"
#include "log.h"
#include "util.h"

/* The registry setting holding the configuration. */
#define SCANNING_SETTING	"berth:scanning-configuration"

static const char *const frequency_names[] = {
	[SCAN_FREQ_MANUAL] = "MANUAL",
	[SCAN_FREQ_SCAN_ON_PUSH] = "SCAN_ON_PUSH",
	[SCAN_FREQ_CONTINUOUS] = "CONTINUOUS_SCAN",
};

const char *
scanning_frequency_name(enum scan_frequency f)
{
	return frequency_names[f];
}

int
scanning_frequency_parse(const char *s, enum scan_frequency *f)
{
	size_t	 i;

	for (i = 0; i < nitems(frequency_names); i++)
		if (strcmp(s, frequency_names[i]) == 0) {
			*f = (enum scan_frequency)i;
			return 0;
		}
	return -1;
}

void
scanning_config_clear(struct scanning_config *c)
{
	size_t	 i, j;

	for (i = 0; i < c->nrules; i++) {
		for (j = 0; j < c->rules[i].nfilters; j++)
			free(c->rules[i].filters[j]);
		free(c->rules[i].filters);
	}
	memset(c, 0, sizeof(*c));
}

char *
scanning_config_encode(const struct scanning_config *c)
{
	struct json_object	*o, *rules, *rule, *filters;
	char			*out;
	size_t			 i, j;

	o = json_object_new_object();
	json_object_object_add(o, "scanType",
	    json_object_new_string(c->enhanced ? "ENHANCED" : "BASIC"));
	rules = json_object_new_array();
	for (i = 0; i < c->nrules; i++) {
		rule = json_object_new_object();
		json_object_object_add(rule, "scanFrequency",
		    json_object_new_string(
		    frequency_names[c->rules[i].frequency]));
		filters = json_object_new_array();
		for (j = 0; j < c->rules[i].nfilters; j++)
			json_object_array_add(filters,
			    json_object_new_string(c->rules[i].filters[j]));
		json_object_object_add(rule, "filters", filters);
		json_object_array_add(rules, rule);
	}
	json_object_object_add(o, "rules", rules);
	out = xstrdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

int
scanning_config_decode(const char *s, struct scanning_config *c)
{
	struct json_object	*o, *v, *rules, *rule, *filters, *f;
	struct scanning_rule	*r;
	size_t			 i, j, n, nf;

	memset(c, 0, sizeof(*c));
	if ((o = json_tokener_parse(s)) == NULL)
		return -1;
	if (!json_object_object_get_ex(o, "scanType", &v) ||
	    !json_object_object_get_ex(o, "rules", &rules) ||
	    !json_object_is_type(rules, json_type_array) ||
	    (n = json_object_array_length(rules)) > nitems(c->rules))
		goto bad;
	c->enhanced = strcmp(json_object_get_string(v), "ENHANCED") == 0;
	c->configured = 1;
	for (i = 0; i < n; i++) {
		rule = json_object_array_get_idx(rules, i);
		r = &c->rules[c->nrules++];
		if (!json_object_object_get_ex(rule, "scanFrequency", &v) ||
		    scanning_frequency_parse(json_object_get_string(v),
		    &r->frequency) == -1 ||
		    !json_object_object_get_ex(rule, "filters", &filters) ||
		    !json_object_is_type(filters, json_type_array))
			goto bad;
		nf = json_object_array_length(filters);
		r->filters = xcalloc(nf + 1, sizeof(*r->filters));
		for (j = 0; j < nf; j++) {
			f = json_object_array_get_idx(filters, j);
			if (!json_object_is_type(f, json_type_string))
				goto bad;
			r->filters[r->nfilters++] =
			    xstrdup(json_object_get_string(f));
		}
	}
	json_object_put(o);
	return 0;
bad:
	json_object_put(o);
	scanning_config_clear(c);
	return -1;
}

void
scanning_config_get(const struct registry *reg, struct scanning_config *c)
{
	const char	*s;

	memset(c, 0, sizeof(*c));
	if (reg == NULL || (s = registry_setting(reg, SCANNING_SETTING)) ==
	    NULL)
		return;
	/* Only berth writes it: a value it cannot read is a bug. */
	if (scanning_config_decode(s, c) == -1)
		fatalx("the stored scanning configuration is malformed");
}

int
txn_scanning_config(struct txn *t, struct registry *reg,
    const struct scanning_config *c)
{
	char	*s = scanning_config_encode(c);
	int	 rc;

	rc = txn_setting_put(t, reg, SCANNING_SETTING, s);
	free(s);
	return rc;
}

/* Whether name[ni..] matches pattern[pi..], '*' being any run. */
static int
wildcard_match(const char *p, const char *n)
{
	for (; *p != '\0'; p++, n++) {
		if (*p == '*') {
			while (p[1] == '*')
				p++;
			for (;; n++) {
				if (wildcard_match(p + 1, n))
					return 1;
				if (*n == '\0')
					return 0;
			}
		}
		if (*n != *p)
			return 0;
	}
	return *n == '\0';
}

int
scanning_filter_matches(const char *filter, const char *name)
{
	if (strchr(filter, '*') == NULL)
		return strstr(name, filter) != NULL;
	return wildcard_match(filter, name);
}

static int
rule_matches(const struct scanning_rule *r, const char *name)
{
	size_t	 i;

	for (i = 0; i < r->nfilters; i++)
		if (scanning_filter_matches(r->filters[i], name))
			return 1;
	return 0;
}

void
scanning_applied(const struct scanning_config *c,
    const struct repository *repo, struct scanning_applied *a)
{
	size_t	 i;

	memset(a, 0, sizeof(*a));
	a->enhanced = c->enhanced;
	for (i = 0; i < c->nrules; i++) {
		if (c->rules[i].frequency == SCAN_FREQ_MANUAL ||
		    (c->rules[i].frequency == SCAN_FREQ_CONTINUOUS &&
		    !c->enhanced) ||
		    !rule_matches(&c->rules[i], repo->name))
			continue;
		/* CONTINUOUS_SCAN wins over SCAN_ON_PUSH. */
		if (a->rule == NULL ||
		    c->rules[i].frequency > a->rule->frequency)
			a->rule = &c->rules[i];
	}
	if (a->rule != NULL)
		a->frequency = a->rule->frequency;
	else if (!c->enhanced && repo->config.scan_on_push)
		a->frequency = SCAN_FREQ_SCAN_ON_PUSH;
	a->scan_on_push = a->frequency != SCAN_FREQ_MANUAL;
}
