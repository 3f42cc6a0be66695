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
 * The admin API's lifecycle routes: POST /_berth/lifecycle/run evaluates
 * the repositories' lifecycle policies now (all, or those of the account,
 * region and repository query parameters) and answers when the run is
 * done, with per rule counts; /_berth/clock reads (GET) and moves (POST
 * {"advance_seconds": N}, or {"reset": true}) the test clock that the
 * model's times follow (model_now_ms), so that a test can check a "30
 * days after push" rule in a second.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define CLOCK_BODY_MAX		1024
/* A century: far enough for any test, and no overflow. */
#define CLOCK_ADVANCE_MAX	(100LL * 366 * 24 * 3600)

static void
admin_lifecycle_run_cb(int err, struct json_object *report, void *arg)
{
	struct http_request *req = arg;

	if (err != 0) {
		admin_error(req, berr_http_status(err), berr_message(err));
		return;
	}
	router_json(req, 200, report);
}

void
admin_lifecycle_run(struct http_request *req)
{
	int	 rc;

	rc = lifecycle_run_start(http_request_param(req, "account"),
	    http_request_param(req, "region"),
	    http_request_param(req, "repository"), admin_lifecycle_run_cb,
	    req);
	if (rc != 0)
		admin_error(req, berr_http_status(rc), berr_message(rc));
}

static void
admin_clock_answer(struct http_request *req)
{
	struct json_object *body = json_object_new_object();
	int64_t		 now = model_now_ms();

	json_object_object_add(body, "now",
	    json_object_new_double((double)now / 1000.0));
	json_object_object_add(body, "offset_seconds",
	    json_object_new_int64(model->clock_offset_ms / 1000));
	router_json(req, 200, body);
}

static void
admin_clock_done_cb(int err, void *arg)
{
	struct http_request *req = arg;

	if (err != 0) {
		admin_error(req, berr_http_status(err), berr_message(err));
		return;
	}
	admin_clock_answer(req);
}

static void
admin_clock_body_cb(struct http_request *req, int err, void *arg)
{
	struct json_object *doc, *v;
	const char	*body;
	size_t		 len;
	int64_t		 offset, n;
	struct txn	 t;

	if (err != 0) {
		admin_error(req, 400, "the body was not received whole");
		return;
	}
	body = http_request_body(req, &len);
	doc = json_parse_strict(body, len, 4);
	if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		admin_error(req, 400, "give {\"advance_seconds\": N} or "
		    "{\"reset\": true}");
		return;
	}
	if (json_object_object_get_ex(doc, "reset", &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v))
		offset = 0;
	else if (json_object_object_get_ex(doc, "advance_seconds", &v) &&
	    json_object_is_type(v, json_type_int)) {
		errno = 0;
		n = json_object_get_int64(v);
		if (errno != 0 || n < 0 || n > CLOCK_ADVANCE_MAX ||
		    model->clock_offset_ms / 1000 + n > CLOCK_ADVANCE_MAX) {
			json_object_put(doc);
			admin_error(req, 400, "advance_seconds must be a "
			    "whole number from 0 to a century in all: the "
			    "clock never goes back but by a reset");
			return;
		}
		offset = model->clock_offset_ms + n * 1000;
	} else {
		json_object_put(doc);
		admin_error(req, 400, "give {\"advance_seconds\": N} or "
		    "{\"reset\": true}");
		return;
	}
	json_object_put(doc);
	if (!worker_ready()) {
		admin_error(req, 503, worker_unready_reason());
		return;
	}
	txn_init(&t);
	(void)txn_clock(&t, offset);
	txn_commit(&t, admin_clock_done_cb, req);
}

void
admin_clock(struct http_request *req)
{
	if (strcmp(http_request_method(req), "POST") == 0)
		http_request_read_body(req, CLOCK_BODY_MAX,
		    admin_clock_body_cb, NULL);
	else
		admin_clock_answer(req);
}
