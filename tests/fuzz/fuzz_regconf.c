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
 * The readers of the registry configurations on arbitrary bytes: a
 * replication configuration's destinations for a name, a signing
 * configuration's profiles, a repository creation template's repository
 * configuration.  Whatever the text, each
 * gives a well-formed answer (destinations with a region, a registry and
 * the IN_PROGRESS status, once each; profiles as strings, once each; a
 * configuration with a known mutability and an encryption type) and
 * nothing leaks.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "log.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* berthd.c is not linked. */
struct berthd_config	 conf;
struct event_base	*ev_base;

static const char *const names[] = { "prod/app", "a", "team/x/y" };

static void
check_destinations(struct json_object *d)
{
	struct json_object *o, *v;
	size_t	 i, j, n = json_object_array_length(d);

	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(d, i);
		if (!json_object_object_get_ex(o, "region", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    !json_object_object_get_ex(o, "registryId", &v) ||
		    !json_object_object_get_ex(o, "status", &v) ||
		    strcmp(json_object_get_string(v), "IN_PROGRESS") != 0)
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(json_object_to_json_string(o),
			    json_object_to_json_string(
			    json_object_array_get_idx(d, j))) == 0)
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *r;
	struct repo_config c;
	char		*s;
	size_t		 i, j, k;

	log_init("fuzz", LOG_LVL_WARN);
	s = xstrndup((const char *)data, size);
	for (i = 0; i < nitems(names); i++) {
		r = replication_match(s, names[i]);
		check_destinations(r);
		json_object_put(r);
		r = signing_match(s, names[i]);
		for (j = 0; j < json_object_array_length(r); j++) {
			if (!json_object_is_type(json_object_array_get_idx(r, j),
			    json_type_string))
				abort();
			for (k = 0; k < j; k++)
				if (strcmp(json_object_get_string(
				    json_object_array_get_idx(r, j)),
				    json_object_get_string(
				    json_object_array_get_idx(r, k))) == 0)
					abort();
		}
		json_object_put(r);
	}
	if (template_config(s, &c) == 0 && ((int)c.mutability < 0 ||
	    c.mutability > MUT_MUTABLE_WITH_EXCLUSION ||
	    c.encryption_type == NULL))
		abort();
	repo_config_clear(&c);
	free(s);
	return 0;
}
