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
 * The first look at a request: which API it belongs to.  "/" is the ECR
 * API (POST with an X-Amz-Target; anything else gets its error shape),
 * /v2/ is the OCI distribution API and /_berth/ the admin API.  The HTTP
 * layer's own refusals take the same routes, to answer in their shape;
 * the plain JSON answer of the OCI and admin APIs is here too.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "error.h"
#include "http.h"
#include "log.h"

void
router_dispatch_cb(struct http_request *req, void *arg)
{
	const char	*path = http_request_path(req);

	if (strncmp(path, "/_berth/", 8) == 0) {
		http_request_set_class(req, "admin");
		admin_dispatch(req, path + 8);
		return;
	}
	if (strcmp(path, "/") == 0) {
		ecr_dispatch(req);
		return;
	}
	if (strcmp(path, "/v2") == 0 || strncmp(path, "/v2/", 4) == 0) {
		oci_dispatch(req, path);
		return;
	}
	http_request_set_class(req, "other");
	oci_error(req, BERR_NOT_FOUND, "no such route");
}

/* The same routes as router_dispatch_cb's, for the layer's refusals. */
void
router_refusal_cb(struct http_request *req, int err, const char *reason,
    void *arg)
{
	const char	*path = http_request_path(req);

	if (strncmp(path, "/_berth/", 8) == 0) {
		http_request_set_class(req, "admin");
		admin_error(req, berr_http_status(err), reason);
		return;
	}
	if (strcmp(path, "/") == 0) {
		ecr_refuse(req, err, reason);
		return;
	}
	if (strcmp(path, "/v2") == 0 || strncmp(path, "/v2/", 4) == 0) {
		http_request_set_class(req, "oci");
		http_response_header(req, "Docker-Distribution-API-Version",
		    "registry/2.0");
	} else
		http_request_set_class(req, "other");
	oci_error(req, err, "%s", reason);
}

/* The plain JSON answer of the OCI and admin APIs. */
void
router_json(struct http_request *req, int status, struct json_object *body)
{
	const char	*s;

	s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	http_respond(req, status, "application/json", s, strlen(s));
	json_object_put(body);
}
