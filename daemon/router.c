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
 * /v2/ is the OCI distribution API and /_berth/ the admin API.  What a web
 * page may not ask (origin.c) is refused before any of them.  The HTTP
 * layer's own refusals take the same routes, to answer in their shape;
 * the plain JSON answer of the OCI and admin APIs is here too.
 *
 * berthd listens before berth-blobd said hello and the metadata is loaded
 * (worker_start), so that clients can connect at once: an anonymous ping
 * of /v2/ is answered then, and every other request waits here, in the
 * order it came, until the first load is done (or berthd gives up and
 * exits).  A client that pings and then pushes at once is answered late,
 * never refused.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "util.h"

struct router_held {
	STAILQ_ENTRY(router_held) entry;
	struct http_request	*req;
};

static STAILQ_HEAD(, router_held) router_held =
    STAILQ_HEAD_INITIALIZER(router_held);

static void
router_route(struct http_request *req, const char *path)
{
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

void
router_dispatch_cb(struct http_request *req, void *arg)
{
	const char	*path = http_request_path(req);
	struct router_held *h;
	char		 why[512];

	if (origin_refusal(req, strncmp(path, "/_berth/", 8) == 0, why,
	    sizeof(why))) {
		router_refusal_cb(req, BERR_DENIED, why, arg);
		return;
	}
	if (worker_first_start_pending() && !oci_is_anonymous_ping(req,
	    path)) {
		h = xcalloc(1, sizeof(*h));
		h->req = req;
		STAILQ_INSERT_TAIL(&router_held, h, entry);
		return;
	}
	router_route(req, path);
}

void
router_release(void)
{
	struct router_held *h;

	while ((h = STAILQ_FIRST(&router_held)) != NULL) {
		STAILQ_REMOVE_HEAD(&router_held, entry);
		router_route(h->req, http_request_path(h->req));
		free(h);
	}
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
