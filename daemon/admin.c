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
 * The admin API under /_berth/: health, Prometheus metrics, garbage
 * collection by hand, reset, and read-only introspection; the lifecycle
 * run and the test clock are in admin_lifecycle.c.
 *
 * Access: loopback connections only, unless --admin-token is set; then a
 * request from anywhere must carry "Authorization: Bearer <token>".  What
 * a web page could send (a rebound Host, a cross-site POST) never gets
 * here: the router refuses it first (origin.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "berthd.h"
#include "registry.h"
#include "error.h"
#include "image_scan.h"
#include "http.h"
#include "log.h"
#include "utf8.h"
#include "util.h"


void
admin_error(struct http_request *req, int status, const char *message)
{
	struct json_object *body = json_object_new_object();
	char		 msg[1024];

	/* It may quote the client. */
	snprintf(msg, sizeof(msg), "%s", message);
	json_object_object_add(body, "error",
	    json_object_new_string(utf8_scrub(msg)));
	if (status == 503)
		http_response_header(req, "Retry-After", "1");
	router_json(req, status, body);
}

/* 1 if the model may be used (worker_ready); else answers 503 and
 * returns 0. */
static int
admin_require_ready(struct http_request *req)
{
	if (worker_ready())
		return 1;
	admin_error(req, 503, worker_unready_reason());
	return 0;
}

static int
admin_authorized(struct http_request *req)
{
	const char	*h;
	size_t		 n;

	if (conf.admin_token == NULL)
		return http_request_peer_is_loopback(req);
	h = http_request_header(req, "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	n = strlen(conf.admin_token);
	return strlen(h) == n && CRYPTO_memcmp(h, conf.admin_token, n) == 0;
}

static int
admin_method(struct http_request *req, const char *want)
{
	const char	*m = http_request_method(req);

	if (strcmp(m, want) == 0 ||
	    (strcmp(want, "GET") == 0 && strcmp(m, "HEAD") == 0))
		return 1;
	http_response_header(req, "Allow", strcmp(want, "GET") == 0 ?
	    "GET, HEAD" : want);
	admin_error(req, 405, strcmp(want, "GET") == 0 ? "use GET" :
	    "use POST");
	return 0;
}

/* --- health and metrics: both need blobd's statistics -------------------- */

static void
admin_metrics_cb(int err, const struct blobc_stats *st, void *arg)
{
	struct http_request *req = arg;
	struct evbuffer	*b;

	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	metrics_render(b, st);
	http_respond_evbuffer(req, 200,
	    "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}

/* berth-scand and its database; scans wait while it is down, so it does
 * not make berthd unavailable. */
static void
admin_health_scanner(struct json_object *body)
{
	const struct msg_scan_db_state *db = scanner_db();
	struct json_object *o;

	json_object_object_add(body, "scanner",
	    json_object_new_string(scanner_up() ? "up" : "down"));
	json_object_object_add(body, "scanner_restarts",
	    json_object_new_int64((int64_t)scanner_restarts()));
	if (scanner_pid() > 0)
		json_object_object_add(body, "scanner_pid",
		    json_object_new_int64((int64_t)scanner_pid()));
	json_object_object_add(body, "scans_pending",
	    json_object_new_int64((int64_t)image_scan_pending()));
	o = json_object_new_object();
	json_object_object_add(o, "loaded", json_object_new_boolean(
	    db->loaded));
	json_object_object_add(o, "advisories",
	    json_object_new_int64((int64_t)db->advisories));
	json_object_object_add(o, "generation",
	    json_object_new_int64((int64_t)db->generation));
	json_object_object_add(o, "updated_at",
	    json_object_new_int64(db->updated_at));
	json_object_object_add(body, "vuln_db", o);
}

static void
admin_health_cb(int err, const struct blobc_stats *st, void *arg)
{
	struct http_request *req = arg;
	struct json_object *body, *down;
	int		 ok, blobd_up, loaded, writable;

	/* Judged now, when the answer goes: not when it was asked. */
	blobd_up = worker_up();
	loaded = worker_ready();
	writable = st != NULL && st->writable;
	ok = blobd_up && loaded && writable;
	body = json_object_new_object();
	json_object_object_add(body, "status",
	    json_object_new_string(ok ? "ok" : "unavailable"));
	json_object_object_add(body, "blobd",
	    json_object_new_string(worker_state()));
	json_object_object_add(body, "metadata", json_object_new_string(
	    loaded ? "loaded" : meta_loading() ? "loading" : "not loaded"));
	json_object_object_add(body, "storage_writable", st != NULL ?
	    json_object_new_boolean(st->writable) : NULL);
	json_object_object_add(body, "blobd_restarts",
	    json_object_new_int64((int64_t)worker_restarts()));
	if (st != NULL && worker_pid() > 0)
		json_object_object_add(body, "blobd_pid",
		    json_object_new_int64((int64_t)worker_pid()));
	admin_health_scanner(body);
	if (!ok) {
		down = json_object_new_array();
		if (!blobd_up)
			json_object_array_add(down,
			    json_object_new_string("blobd"));
		if (!loaded)
			json_object_array_add(down,
			    json_object_new_string("metadata"));
		if (!writable)
			json_object_array_add(down,
			    json_object_new_string("storage"));
		json_object_object_add(body, "unavailable", down);
		json_object_object_add(body, "message", json_object_new_string(
		    !loaded ? worker_unready_reason() : err != 0 ?
		    berr_message(err) : "the storage is not writable"));
		http_response_header(req, "Retry-After", "1");
	}
	router_json(req, ok ? 200 : 503, body);
}

/* --- garbage collection and reset ---------------------------------------- */

static struct json_object *
admin_gc_json(const struct gc_result *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "dry_run",
	    json_object_new_boolean(r->dry_run));
	json_object_object_add(o, "blobs_examined",
	    json_object_new_int64((int64_t)r->examined));
	json_object_object_add(o, "blobs_reclaimed",
	    json_object_new_int64((int64_t)r->blobs));
	json_object_object_add(o, "bytes_reclaimed",
	    json_object_new_int64((int64_t)r->bytes));
	json_object_object_add(o, "duration_ms",
	    json_object_new_int64(r->duration_ms));
	return o;
}

static void
admin_gc_done_cb(int err, const struct gc_result *r, void *arg)
{
	struct http_request *req = arg;

	if (err != 0) {
		admin_error(req, berr_http_status(err), berr_message(err));
		return;
	}
	router_json(req, 200, admin_gc_json(r));
}

static void
admin_gc(struct http_request *req, const struct admin_query *q)
{
	gc_run(q->dry_run, 0, admin_gc_done_cb, req);
}

struct admin_reset {
	struct http_request *req;
	uint64_t	 repositories;
	int		 everything;
	struct digest	*released;	/* what the deleted ones held */
	size_t		 nreleased;
	size_t		 released_cap;
};

static void
admin_reset_free(struct admin_reset *ar)
{
	free(ar->released);
	free(ar);
}

static void
admin_reset_release(struct admin_reset *ar, const struct digest *d)
{
	if (ar->nreleased == ar->released_cap) {
		ar->released_cap = ar->released_cap == 0 ? 64 :
		    ar->released_cap * 2;
		ar->released = xreallocarray(ar->released, ar->released_cap,
		    sizeof(*ar->released));
	}
	ar->released[ar->nreleased++] = *d;
}

/* Notes every blob the repository references or links. */
static void
admin_reset_note_repository(struct admin_reset *ar,
    const struct repository *repo)
{
	size_t	 i, k;

	for (i = 0; i < repo->images.len; i++) {
		const struct image *img = repo->images.items[i];
		for (k = 0; k < img->nrefs; k++)
			if (img->refs[k].kind != REF_MANIFEST)
				admin_reset_release(ar, &img->refs[k].digest);
	}
	for (i = 0; i < repo->links.len; i++) {
		const struct link *l = repo->links.items[i];
		admin_reset_release(ar, &l->blob->digest);
	}
}

static void
admin_reset_gc_cb(int err, const struct gc_result *r, void *arg)
{
	struct admin_reset *ar = arg;
	struct json_object *body;

	if (err != 0) {
		admin_error(ar->req, berr_http_status(err), berr_message(err));
		admin_reset_free(ar);
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "repositories_deleted",
	    json_object_new_int64((int64_t)ar->repositories));
	json_object_object_add(body, "gc", admin_gc_json(r));
	router_json(ar->req, 200, body);
	admin_reset_free(ar);
}

static void
admin_reset_done_cb(int err, void *arg)
{
	struct admin_reset *ar = arg;

	if (err != 0) {
		admin_error(ar->req, berr_http_status(err), berr_message(err));
		admin_reset_free(ar);
		return;
	}
	/*
	 * With every registry gone, whatever is stored is garbage, however
	 * new.  After a reset of one, only what it held and no repository
	 * has any more goes at once: other registries' pushes in progress,
	 * and files the metadata does not know, keep the grace rule.
	 */
	if (ar->everything) {
		gc_run(0, 1, admin_reset_gc_cb, ar);
		return;
	}
	gc_run_released(ar->released, ar->nreleased, admin_reset_gc_cb, ar);
	ar->released = NULL;
	ar->nreleased = 0;
}

static void
admin_reset(struct http_request *req, const struct admin_query *q)
{
	const char	*account = q->account, *region = q->region;
	struct admin_reset *ar;
	struct txn	 t;
	size_t		 i;

	if ((account == NULL) != (region == NULL)) {
		admin_error(req, 400, "give both account and region, or "
		    "neither");
		return;
	}
	ar = xcalloc(1, sizeof(*ar));
	ar->req = req;
	ar->everything = account == NULL;
	txn_init(&t);
	for (i = 0; i < model->registries.len; i++) {
		struct registry *reg = model->registries.items[i];
		if (account != NULL && (strcmp(reg->account, account) != 0 ||
		    strcmp(reg->region, region) != 0))
			continue;
		while (reg->repositories.len > 0) {
			if (!ar->everything)
				admin_reset_note_repository(ar,
				    reg->repositories.items[0]);
			if (txn_repo_delete(&t,
			    reg->repositories.items[0]) != 0)
				fatalx("reset: a repository delete does not "
				    "apply");
			ar->repositories++;
		}
		while (reg->settings.len > 0) {
			struct kv *kv = reg->settings.items[0];
			if (txn_setting_delete(&t, reg, kv->key) != 0)
				fatalx("reset: a setting delete does not "
				    "apply");
		}
	}
	txn_commit(&t, admin_reset_done_cb, ar);
}

static void
admin_compacted_cb(int err, void *arg)
{
	struct http_request *req = arg;
	struct json_object *body;

	if (err != 0) {
		admin_error(req, berr_http_status(err), berr_message(err));
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "snapshot_entries",
	    json_object_new_int64((int64_t)model->snapshot_entries));
	json_object_object_add(body, "snapshot_bytes",
	    json_object_new_int64((int64_t)model->snapshot_bytes));
	router_json(req, 200, body);
}

/* --- introspection ------------------------------------------------------- */

static struct json_object *
json_time(int64_t ms)
{
	return json_object_new_double((double)ms / 1000.0);
}

static void
admin_repositories(struct http_request *req, const struct admin_query *q)
{
	struct json_object *body, *arr, *o;
	size_t		 i, k;

	body = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < model->registries.len; i++) {
		struct registry *reg = model->registries.items[i];
		for (k = 0; k < reg->repositories.len; k++) {
			struct repository *repo = reg->repositories.items[k];
			o = json_object_new_object();
			json_object_object_add(o, "account",
			    json_object_new_string(reg->account));
			json_object_object_add(o, "region",
			    json_object_new_string(reg->region));
			json_object_object_add(o, "name",
			    json_object_new_string(repo->name));
			json_object_object_add(o, "createdAt",
			    json_time(repo->created_ms));
			json_object_object_add(o, "images",
			    json_object_new_int64((int64_t)repo->images.len));
			json_object_object_add(o, "tags",
			    json_object_new_int64((int64_t)repo->tags.len));
			json_object_object_add(o, "blobs",
			    json_object_new_int64((int64_t)repo->links.len));
			json_object_array_add(arr, o);
		}
	}
	json_object_object_add(body, "repositories", arr);
	router_json(req, 200, body);
}

static void
admin_images(struct http_request *req, const struct admin_query *q)
{
	const char	*name = q->repository;
	const char	*account = q->account, *region = q->region;
	struct repository *repo;
	struct json_object *body, *arr, *o, *tags;
	char		 ds[DIGEST_STR_MAX];
	size_t		 i, k;

	if (name == NULL) {
		admin_error(req, 400, "the repository parameter is required");
		return;
	}
	repo = repository_lookup(account != NULL ? account :
	    conf.account_id, region != NULL ? region : conf.region, name);
	if (repo == NULL) {
		admin_error(req, 404, "no such repository");
		return;
	}
	body = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < repo->images.len; i++) {
		struct image *img = repo->images.items[i];
		o = json_object_new_object();
		json_object_object_add(o, "digest",
		    json_object_new_string(digest_format(&img->digest, ds)));
		json_object_object_add(o, "mediaType",
		    json_object_new_string(img->media_type));
		if (img->artifact_type != NULL)
			json_object_object_add(o, "artifactType",
			    json_object_new_string(img->artifact_type));
		json_object_object_add(o, "size",
		    json_object_new_int64((int64_t)img->size));
		tags = json_object_new_array();
		for (k = 0; k < img->ntags; k++)
			json_object_array_add(tags,
			    json_object_new_string(img->tags[k]));
		json_object_object_add(o, "tags", tags);
		json_object_object_add(o, "pushedAt",
		    json_time(img->pushed_ms));
		if (img->pulled_ms != 0)
			json_object_object_add(o, "lastPulledAt",
			    json_time(img->pulled_ms));
		if (img->has_subject)
			json_object_object_add(o, "subject",
			    json_object_new_string(digest_format(&img->subject,
			    ds)));
		json_object_array_add(arr, o);
	}
	json_object_object_add(body, "images", arr);
	router_json(req, 200, body);
}

static void
admin_blobs_cb(int err, const struct blobc_stored *list, size_t n,
    void *arg)
{
	struct http_request *req = arg;
	struct json_object *body, *arr, *o;
	struct blob	*b;
	char		 ds[DIGEST_STR_MAX];
	size_t		 i;

	if (err == 0 && !worker_ready()) {
		admin_error(req, 503, worker_unready_reason());
		return;
	}
	if (err != 0) {
		admin_error(req, berr_http_status(err), berr_message(err));
		return;
	}
	body = json_object_new_object();
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		b = blob_find(&list[i].digest);
		o = json_object_new_object();
		json_object_object_add(o, "digest", json_object_new_string(
		    digest_format(&list[i].digest, ds)));
		json_object_object_add(o, "size",
		    json_object_new_int64((int64_t)list[i].size));
		json_object_object_add(o, "storedAt",
		    json_time(list[i].mtime_ms));
		json_object_object_add(o, "references",
		    json_object_new_int64(b != NULL ? b->refs : 0));
		json_object_object_add(o, "repositories",
		    json_object_new_int64(b != NULL ? b->links : 0));
		json_object_array_add(arr, o);
	}
	json_object_object_add(body, "blobs", arr);
	router_json(req, 200, body);
}

static void
admin_health(struct http_request *req, const struct admin_query *q)
{
	blobc_stats(admin_health_cb, req);
}

static void
admin_metrics(struct http_request *req, const struct admin_query *q)
{
	blobc_stats(admin_metrics_cb, req);
}

static void
admin_compact(struct http_request *req, const struct admin_query *q)
{
	meta_compact(admin_compacted_cb, req);
}

static void
admin_blobs(struct http_request *req, const struct admin_query *q)
{
	blobc_gc_list(admin_blobs_cb, req);
}

static void
admin_lifecycle(struct http_request *req, const struct admin_query *q)
{
	admin_lifecycle_run(req, q->account, q->region, q->repository);
}

static void
admin_clock_endpoint(struct http_request *req, const struct admin_query *q)
{
	admin_clock(req);
}

/* The certificate chain that verifies the registry's managed signatures. */
static void
admin_signing_certificate(struct http_request *req,
    const struct admin_query *q)
{
	const char	*account = q->account, *region = q->region;
	char		*pem;

	if (account == NULL)
		account = conf.account_id;
	if (region == NULL)
		region = conf.region;
	if ((pem = signing_certificate(registry_find(account, region))) ==
	    NULL) {
		admin_error(req, 404, "this registry has no signing key yet: "
		    "one is made when it signs its first image (or give "
		    "berthd --signing-key)");
		return;
	}
	http_respond(req, 200, "application/x-pem-file", pem, strlen(pem));
	free(pem);
}

/* The endpoints: each with its method (NULL: GET or POST), whether it
 * needs the model (see admin_require_ready) and the parameters it takes. */
static const struct {
	const char	*path;
	const char	*method;
	int		 ready;
	unsigned int	 params;
	void		(*fn)(struct http_request *,
			    const struct admin_query *);
} admin_endpoints[] = {
	{ "health", "GET", 0, 0, admin_health },
	{ "metrics", "GET", 0, 0, admin_metrics },
	{ "gc", "POST", 1, ADMIN_Q_DRY_RUN, admin_gc },
	{ "reset", "POST", 1, ADMIN_Q_REGISTRY, admin_reset },
	{ "compact", "POST", 1, 0, admin_compact },
	{ "lifecycle/run", "POST", 1, ADMIN_Q_REGISTRY | ADMIN_Q_REPOSITORY,
	    admin_lifecycle },
	{ "clock", NULL, 1, 0, admin_clock_endpoint },
	{ "repositories", "GET", 1, 0, admin_repositories },
	{ "images", "GET", 1, ADMIN_Q_REPOSITORY | ADMIN_Q_REGISTRY,
	    admin_images },
	{ "signing-certificate", "GET", 1, ADMIN_Q_REGISTRY,
	    admin_signing_certificate },
	{ "blobs", "GET", 1, 0, admin_blobs },
};

void
admin_dispatch(struct http_request *req, const char *path)
{
	struct admin_query q;
	char		 why[256];
	size_t		 i;

	if (!admin_authorized(req)) {
		admin_error(req, 403, conf.admin_token != NULL ?
		    "the admin API needs Authorization: Bearer <admin token>" :
		    "the admin API answers only on loopback connections");
		return;
	}
	for (i = 0; i < nitems(admin_endpoints); i++)
		if (strcmp(path, admin_endpoints[i].path) == 0)
			break;
	if (i == nitems(admin_endpoints)) {
		admin_error(req, 404, "no such admin endpoint");
		return;
	}
	if (admin_endpoints[i].method == NULL ? strcmp(http_request_method(
	    req), "POST") != 0 && !admin_method(req, "GET") :
	    !admin_method(req, admin_endpoints[i].method))
		return;
	if (admin_query_parse(req, admin_endpoints[i].params, &q, why,
	    sizeof(why)) == -1) {
		admin_error(req, 400, why);
		return;
	}
	if (admin_endpoints[i].ready && !admin_require_ready(req))
		return;
	admin_endpoints[i].fn(req, &q);
}
