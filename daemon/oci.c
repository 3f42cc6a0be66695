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
 * The OCI distribution API under /v2/: routing, whose registry a request
 * addresses, and the pieces every route shares (errors, Location URLs).
 *
 * Account and region come from the host name when it is
 * <account>.dkr.ecr.<region>.localhost (or .amazonaws.com) with or without
 * a port, else from the login token (Basic "AWS:<password>"), else from
 * --account-id and --region.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "name.h"
#include "utf8.h"
#include "util.h"

int
oci_host_identity(const char *host, char *account, char *region)
{
	static const char *const suffixes[] = { ".localhost",
	    ".amazonaws.com", ".localhost.", ".amazonaws.com." };
	const char	*p, *end, *colon;
	size_t		 len, i, slen;

	if (host == NULL)
		return -1;
	len = strlen(host);
	if ((colon = strrchr(host, ':')) != NULL && strchr(host, ']') == NULL)
		len = (size_t)(colon - host);
	for (i = 0; i < nitems(suffixes); i++) {
		slen = strlen(suffixes[i]);
		if (len > slen && strncasecmp(host + len - slen, suffixes[i],
		    slen) == 0)
			break;
	}
	if (i == nitems(suffixes))
		return -1;
	end = host + len - slen;
	if (len < ACCOUNT_LEN + 9 || !name_account_valid(host, ACCOUNT_LEN) ||
	    strncasecmp(host + ACCOUNT_LEN, ".dkr.ecr.", 9) != 0)
		return -1;
	p = host + ACCOUNT_LEN + 9;
	if (end <= p || (size_t)(end - p) > REGION_MAX)
		return -1;
	for (i = 0; p + i < end; i++) {
		char c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-'))
			return -1;
		region[i] = c;
	}
	region[i] = '\0';
	memcpy(account, host, ACCOUNT_LEN);
	account[ACCOUNT_LEN] = '\0';
	return 0;
}

static void
oci_challenge(struct http_request *req)
{
	const char	*host = http_request_header(req, "Host");

	http_response_headerf(req, "WWW-Authenticate",
	    "Basic realm=\"http://%s/\",service=\"ecr.amazonaws.com\"",
	    host != NULL ? host : "localhost");
}

/* 0, BERR_UNAUTHORIZED (bad or, with --require-auth, missing token) or
 * BERR_DENIED (a token for another registry than the host names). */
static int
oci_identity(struct http_request *req, struct oci_ident *id)
{
	const char	*auth = http_request_header(req, "Authorization");
	char		 hacct[ACCOUNT_LEN + 1], hregion[REGION_MAX + 1];
	char		 tacct[ACCOUNT_LEN + 1], tregion[REGION_MAX + 1];
	int		 have_host;

	have_host = oci_host_identity(http_request_header(req, "Host"), hacct,
	    hregion) == 0;
	if ((auth == NULL && conf.require_auth) || (auth != NULL &&
	    auth_basic_identity(auth, tacct, tregion, id->principal) != 0))
		return BERR_UNAUTHORIZED;
	if (have_host) {
		if (auth != NULL && (strcmp(hacct, tacct) != 0 ||
		    strcmp(hregion, tregion) != 0))
			return BERR_DENIED;
		strcpy(id->account, hacct);
		strcpy(id->region, hregion);
	} else if (auth != NULL) {
		strcpy(id->account, tacct);
		strcpy(id->region, tregion);
	} else {
		strcpy(id->account, conf.account_id);
		strcpy(id->region, conf.region);
	}
	/* Anonymous: the default principal of the account addressed. */
	if (auth == NULL)
		auth_principal_default(id->account, id->principal,
		    sizeof(id->principal));
	id->authenticated = auth != NULL;
	return 0;
}

struct repository *
oci_repository(struct http_request *req, const struct oci_ident *id,
    const char *name)
{
	struct repository *repo;

	if ((repo = repository_lookup(id->account, id->region, name)) == NULL)
		oci_error(req, BERR_NAME_UNKNOWN, "repository %s not found",
		    name);
	return repo;
}

/* {"errors":[{"code","message","detail"}]}: the error's code and message
 * from the one table, the detail (or null) from the caller. */
void
oci_error(struct http_request *req, int err, const char *fmt, ...)
{
	struct json_object *body, *errors, *e;
	char		 detail[512];
	va_list		 ap;
	int		 status = berr_http_status(err);

	if (err == BERR_UNAUTHORIZED)
		oci_challenge(req);
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
		utf8_scrub(detail);	/* it may quote the client */
	}
	e = json_object_new_object();
	json_object_object_add(e, "code",
	    json_object_new_string(berr_oci_code(err)));
	json_object_object_add(e, "message",
	    json_object_new_string(berr_message(err)));
	json_object_object_add(e, "detail", fmt != NULL ?
	    json_object_new_string(detail) : NULL);
	errors = json_object_new_array();
	json_object_array_add(errors, e);
	body = json_object_new_object();
	json_object_object_add(body, "errors", errors);
	if (status == 503 || status == 429)
		http_response_header(req, "Retry-After", "1");
	router_json(req, status, body);
}

void
oci_repository_create_failed(struct http_request *req, int err,
    const char *account, const char *name)
{
	if (err == BERR_LIMIT_EXCEEDED)
		oci_error(req, err, "cannot create repository %s: the "
		    "registry with id '%s' already has the maximum allowed "
		    "number of repositories which is '%llu'", name, account,
		    (unsigned long long)conf.max_repositories);
	else
		oci_error(req, err, "cannot create repository %s", name);
}

/* Absolute URLs from the Host the client used, so port forwards work. */
void
oci_location(struct http_request *req, const char *fmt, ...)
{
	const char	*host = http_request_header(req, "Host");
	const char	*proto = http_request_header(req, "X-Forwarded-Proto");
	char		 path[1024];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (host == NULL || strpbrk(host, " \r\n/\\") != NULL)
		http_response_header(req, "Location", path);
	else
		http_response_headerf(req, "Location", "%s://%s%s",
		    proto != NULL && strcmp(proto, "https") == 0 ? "https" :
		    "http", host, path);
}

void
oci_accepted_cb(int err, void *arg)
{
	struct http_request *req = arg;

	if (err != 0) {
		oci_error(req, err, "the change could not be stored");
		return;
	}
	http_respond(req, 202, NULL, NULL, 0);
}


/* Parses the page parameters of tags/list and _catalog. */
int
oci_page_params(struct http_request *req, long *n, const char **last)
{
	const char	*ns = http_request_param(req, "n");
	uint64_t	 v;

	*n = -1;
	*last = http_request_param(req, "last");
	if (ns == NULL)
		return 0;
	if (parse_u64(ns, strlen(ns), &v) == -1 || v > 100000)
		return BERR_BAD_REQUEST;
	*n = (long)v;
	return 0;
}

static void
oci_catalog(struct http_request *req, const struct oci_ident *id)
{
	struct registry	*reg = registry_find(id->account, id->region);
	struct json_object *body, *arr;
	const char	*last;
	size_t		 i = 0;
	long		 n, count = 0;

	if (oci_page_params(req, &n, &last) != 0) {
		oci_error(req, BERR_BAD_REQUEST, "n must be a number");
		return;
	}
	body = json_object_new_object();
	arr = json_object_new_array();
	if (reg != NULL) {
		if (last != NULL)
			i = sortvec_upper_bound(&reg->repositories, last);
		for (; i < reg->repositories.len && (n < 0 || count < n);
		    i++, count++) {
			struct repository *repo = reg->repositories.items[i];
			json_object_array_add(arr,
			    json_object_new_string(repo->name));
		}
		if (n > 0 && i < reg->repositories.len) {
			struct repository *prev =
			    reg->repositories.items[i - 1];
			http_response_headerf(req, "Link",
			    "</v2/_catalog?n=%ld&last=%s>; rel=\"next\"", n,
			    prev->name);
		}
	}
	json_object_object_add(body, "repositories", arr);
	router_json(req, 200, body);
}

/* Splits /v2/<name>/<route>/<arg> into its parts; see oci_route_kind. */
static int
oci_parse_route(const char *rest, struct oci_route *r)
{
	const char	*slash, *last;
	size_t		 prefix_len, name_len;

	memset(r, 0, sizeof(*r));
	if (rest[0] == '\0') {
		r->kind = OCI_BASE;
		return 0;
	}
	if (strcmp(rest, "_catalog") == 0) {
		r->kind = OCI_CATALOG;
		return 0;
	}
	if ((slash = strrchr(rest, '/')) == NULL)
		return BERR_NOT_FOUND;
	last = slash + 1;
	prefix_len = (size_t)(slash - rest);
#define ENDS(s)	(prefix_len > strlen(s) && \
	    memcmp(rest + prefix_len - strlen(s), s, strlen(s)) == 0)
	if (prefix_len > 5 && strcmp(last, "list") == 0 && ENDS("/tags")) {
		r->kind = OCI_TAGS;
		name_len = prefix_len - 5;
	} else if (ENDS("/manifests")) {
		r->kind = OCI_MANIFEST;
		name_len = prefix_len - 10;
	} else if (ENDS("/referrers")) {
		r->kind = OCI_REFERRERS;
		name_len = prefix_len - 10;
	} else if (ENDS("/blobs/uploads")) {
		r->kind = last[0] == '\0' ? OCI_UPLOAD_NEW : OCI_UPLOAD;
		name_len = prefix_len - 14;
	} else if (ENDS("/blobs") && strcmp(last, "uploads") == 0) {
		r->kind = OCI_UPLOAD_NEW;
		name_len = prefix_len - 6;
	} else if (ENDS("/blobs")) {
		r->kind = OCI_BLOB;
		name_len = prefix_len - 6;
	} else
		return BERR_NOT_FOUND;
#undef ENDS
	if (name_len == 0 || name_len > NAME_MAX_LEN)
		return BERR_NAME_INVALID;
	memcpy(r->name, rest, name_len);
	r->name[name_len] = '\0';
	if (!name_oci_repository_valid(r->name, name_len))
		return BERR_NAME_INVALID;
	if (strlen(last) > 512)
		return BERR_NOT_FOUND;
	strcpy(r->arg, last);
	if ((r->kind == OCI_MANIFEST || r->kind == OCI_BLOB ||
	    r->kind == OCI_REFERRERS || r->kind == OCI_UPLOAD) &&
	    r->arg[0] == '\0')
		return BERR_NOT_FOUND;
	return 0;
}

static int
method_is(struct http_request *req, const char *m)
{
	return strcmp(http_request_method(req), m) == 0;
}

static void
oci_unsupported(struct http_request *req, const char *allow)
{
	http_response_header(req, "Allow", allow);
	oci_error(req, BERR_UNSUPPORTED, "method not allowed here; use %s",
	    allow);
}

int
oci_is_anonymous_ping(struct http_request *req, const char *path)
{
	return (strcmp(path, "/v2") == 0 || strcmp(path, "/v2/") == 0) &&
	    (method_is(req, "GET") || method_is(req, "HEAD")) &&
	    http_request_header(req, "Authorization") == NULL &&
	    http_request_param(req, OCI_DOWNLOAD_PARAM) == NULL;
}

void
oci_dispatch(struct http_request *req, const char *path)
{
	struct oci_route r;
	struct oci_ident id;
	const char	*rest = path[3] == '\0' ? "" : path + 4, *dl;
	int		 err, route_err, get, head;

	http_request_set_class(req, "oci");
	/* Every answer under /v2/, errors included, as distribution and ECR
	 * send it. */
	http_response_header(req, "Docker-Distribution-API-Version",
	    "registry/2.0");
	/* Tokens and download URLs are checked with the model's key.  The
	 * first start holds every other request (router.c); later, while
	 * blobd is restarted, the ping says so too. */
	if (!worker_ready() && !(worker_first_start_pending() &&
	    oci_is_anonymous_ping(req, path))) {
		oci_error(req, BERR_UNAVAILABLE, "%s", worker_unready_reason());
		return;
	}
	get = method_is(req, "GET");
	head = method_is(req, "HEAD");
	route_err = oci_parse_route(rest, &r);
	if ((dl = http_request_param(req, OCI_DOWNLOAD_PARAM)) != NULL) {
		/* A URL from GetDownloadUrlForLayer: it is the credential. */
		if (route_err != 0 || r.kind != OCI_BLOB || (!get && !head) ||
		    auth_download_verify(dl, r.name, r.arg, id.account,
		    id.region) != 0) {
			oci_error(req, BERR_DENIED, "the download URL is not "
			    "valid for this blob, or it has expired");
			return;
		}
		id.authenticated = 1;
	} else if ((err = oci_identity(req, &id)) != 0) {
		oci_error(req, err, err == BERR_DENIED ? "the login token is "
		    "for another registry" : NULL);
		return;
	}
	if ((err = route_err) != 0) {
		oci_error(req, err, err == BERR_NAME_INVALID ?
		    "invalid repository name" : "no such route");
		return;
	}
	switch (r.kind) {
	case OCI_BASE:
		if (!get && !head) {
			oci_unsupported(req, "GET, HEAD");
			return;
		}
		http_respond(req, 200, "application/json", "{}", 2);
		return;
	case OCI_CATALOG:
		if (!get && !head) {
			oci_unsupported(req, "GET, HEAD");
			return;
		}
		http_request_set_class(req, "oci.catalog");
		oci_catalog(req, &id);
		return;
	case OCI_TAGS:
		if (!get && !head) {
			oci_unsupported(req, "GET, HEAD");
			return;
		}
		http_request_set_class(req, "oci.tags");
		oci_tags_list(req, &id, r.name);
		return;
	case OCI_REFERRERS:
		if (!get && !head) {
			oci_unsupported(req, "GET, HEAD");
			return;
		}
		http_request_set_class(req, "oci.referrers");
		oci_referrers(req, &id, r.name, r.arg);
		return;
	case OCI_MANIFEST:
		http_request_set_class(req, "oci.manifest");
		if (get || head)
			oci_manifest_get(req, &id, r.name, r.arg);
		else if (method_is(req, "PUT"))
			oci_manifest_put(req, &id, r.name, r.arg);
		else if (method_is(req, "DELETE"))
			oci_manifest_delete(req, &id, r.name, r.arg);
		else
			oci_unsupported(req, "GET, HEAD, PUT, DELETE");
		return;
	case OCI_BLOB:
		http_request_set_class(req, "oci.blob");
		if (get || head)
			oci_blob_get(req, &id, r.name, r.arg);
		else if (method_is(req, "DELETE"))
			oci_blob_delete(req, &id, r.name, r.arg);
		else
			oci_unsupported(req, "GET, HEAD, DELETE");
		return;
	case OCI_UPLOAD_NEW:
		http_request_set_class(req, "oci.upload");
		if (method_is(req, "POST"))
			oci_upload_start(req, &id, r.name);
		else
			oci_unsupported(req, "POST");
		return;
	case OCI_UPLOAD:
		http_request_set_class(req, "oci.upload");
		if (method_is(req, "PATCH"))
			oci_upload_patch(req, &id, r.name, r.arg);
		else if (method_is(req, "PUT"))
			oci_upload_finish(req, &id, r.name, r.arg);
		else if (get || method_is(req, "DELETE"))
			oci_upload_query(req, &id, r.name, r.arg);
		else
			oci_unsupported(req, "GET, PATCH, PUT, DELETE");
		return;
	}
}
