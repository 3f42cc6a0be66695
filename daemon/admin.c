/*
 * The admin API under /_berth/: health for supervisors and load
 * balancers.  It answers only on loopback connections.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "berthd.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "util.h"

static void
admin_json(struct http_request *req, int status, struct json_object *body)
{
	const char	*s;

	s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	http_respond(req, status, "application/json", s, strlen(s));
	json_object_put(body);
}

static void
admin_error(struct http_request *req, int status, const char *message)
{
	struct json_object *body = json_object_new_object();

	json_object_object_add(body, "error",
	    json_object_new_string(message));
	admin_json(req, status, body);
}

static void
admin_health_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	struct http_request *req = arg;
	struct json_object *body;
	struct msg_stats_reply st;
	int		 ok;

	if (fd != -1)
		close(fd);
	memset(&st, 0, sizeof(st));
	if (err == 0)
		memcpy(&st, payload, sizeof(st));
	ok = err == 0 && st.writable;
	body = json_object_new_object();
	json_object_object_add(body, "status",
	    json_object_new_string(ok ? "ok" : "unavailable"));
	json_object_object_add(body, "blobd",
	    json_object_new_string(err == 0 ? "up" : "down"));
	json_object_object_add(body, "storage_writable",
	    json_object_new_boolean(st.writable));
	json_object_object_add(body, "blobd_restarts",
	    json_object_new_int64((int64_t)proc_restarts()));
	if (!ok)
		http_response_header(req, "Retry-After", "1");
	admin_json(req, ok ? 200 : 503, body);
}

static void
admin_health(struct http_request *req)
{
	blobc_call(MSG_STATS, NULL, 0, NULL, 0, -1, MSG_STATS_REPLY,
	    admin_health_cb, req);
}

void
admin_dispatch(struct http_request *req, const char *path)
{
	const char	*method = http_request_method(req);

	if (!http_request_peer_is_loopback(req)) {
		admin_error(req, 403, "the admin API answers only on loopback");
		return;
	}
	if (strcmp(path, "health") == 0) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
			http_response_header(req, "Allow", "GET, HEAD");
			admin_error(req, 405, "use GET");
			return;
		}
		admin_health(req);
		return;
	}
	admin_error(req, 404, "no such admin endpoint");
}
