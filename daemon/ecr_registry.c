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
 * The registry as a whole: DescribeRegistry, and the host names under
 * which clients reach a registry (repository URIs, proxyEndpoint, layer
 * download URLs).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"

/* The host put into repository URIs and proxyEndpoint. */
static const char *
advertise_host(void)
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
		snprintf(out, outsz, "%s:%d", advertise_host(),
		    conf.port);
}

void
ecr_registry_describe(struct ecr_req *r)
{
	struct json_object *out, *rc;

	/* berth replicates nothing: the configuration has no rules. */
	out = json_object_new_object();
	ecr_add_str(out, "registryId", r->account);
	rc = json_object_new_object();
	json_object_object_add(rc, "rules", json_object_new_array());
	json_object_object_add(out, "replicationConfiguration", rc);
	ecr_respond(r, out);
}
