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
 * GetAuthorizationToken: registry passwords for `docker login` and
 * `podman login`.  The token is base64("AWS:<password>"), the password
 * one berthd signs (auth.c) naming the account, the region, the
 * caller's principal (whose pulls it makes) and the expiry, twelve hours ahead as with ECR; proxyEndpoint is the registry
 * to log in to.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "util.h"

#define AUTH_TOKEN_TTL		(12 * 60 * 60)

static struct json_object *
authorization_data(const char *account, const char *region,
    const char *principal, int64_t expires)
{
	struct json_object *o;
	char		*password, *plain, *b64, host[384], *url;
	size_t		 len;

	password = auth_token_issue(account, region, principal, expires);
	len = (size_t)xasprintf(&plain, "AWS:%s", password);
	b64 = xmalloc(base64_encoded_len(len) + 1);
	base64_encode((const uint8_t *)plain, len, b64);
	o = json_object_new_object();
	ecr_add_str(o, "authorizationToken", b64);
	ecr_add_time(o, "expiresAt", expires * 1000);
	ecr_registry_host(account, region, host, sizeof(host));
	xasprintf(&url, "http://%s", host);
	ecr_add_str(o, "proxyEndpoint", url);
	free(url);
	explicit_bzero(plain, len);
	explicit_bzero(password, strlen(password));
	free(plain);
	free(password);
	free(b64);
	return o;
}

void
ecr_auth_token(struct ecr_req *r)
{
	struct json_object *ids = ecr_member(r, "registryIds"), *out, *arr;
	int64_t		 expires = now_sec() + AUTH_TOKEN_TTL;
	size_t		 i, n;

	out = json_object_new_object();
	arr = json_object_new_array();
	if (ids == NULL)
		json_object_array_add(arr, authorization_data(r->caller.account,
		    r->region, r->caller.principal, expires));
	else {
		n = json_object_array_length(ids);
		for (i = 0; i < n; i++)
			json_object_array_add(arr, authorization_data(
			    json_object_get_string(json_object_array_get_idx(
			    ids, i)), r->region, r->caller.principal, expires));
	}
	json_object_object_add(out, "authorizationData", arr);
	ecr_respond(r, out);
}
