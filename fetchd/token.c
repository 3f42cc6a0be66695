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
 * Meeting a registry's challenge.  The Docker/OCI token flow: a 401
 * carries `WWW-Authenticate: Bearer realm=...,service=...,scope=...`; the
 * client asks the realm for a token (GET with service and scope, with the
 * credentials as Basic auth when it has any, anonymously otherwise) and
 * repeats the request with `Authorization: Bearer <token>`.  A Basic
 * challenge is met with the credentials themselves.  Answers are cached
 * per origin and repository until the token's expires_in runs out, so a
 * pull's many requests make one token request.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "buf.h"
#include "fetchd.h"
#include "log.h"
#include "util.h"
#include "wwwauth.h"

/* A token server's answer at most. */
#define TOKEN_BODY_MAX		(256 * 1024)
/* expires_in when the server gives none (the spec's default). */
#define TOKEN_DEFAULT_TTL	60
/* Basic credentials are kept this long (they do not expire). */
#define TOKEN_BASIC_TTL		3600
#define TOKEN_CACHE_MAX		256

struct token_entry {
	char		*origin;
	char		*repository;
	char		*authorization;	/* the header's value */
	int64_t		 expires_ms;	/* monotonic */
};

struct token_request {
	char		*origin;
	char		*repository;
	CURL		*easy;
	struct curl_slist *headers;
	struct wbuf	 body;
	int		 too_large;
	int		 result;	/* for an answer known at once */
	char		*why;
	int		 abandoned;
	token_done_cb	 done;
	void		*arg;
};

static struct token_entry token_cache[TOKEN_CACHE_MAX];
static size_t		  token_ncache;

static void
token_entry_clear(struct token_entry *e)
{
	free(e->origin);
	free(e->repository);
	free(e->authorization);
	memset(e, 0, sizeof(*e));
}

static struct token_entry *
token_lookup(const char *origin, const char *repository)
{
	size_t	 i;

	for (i = 0; i < token_ncache; i++)
		if (strcmp(token_cache[i].origin, origin) == 0 &&
		    strcmp(token_cache[i].repository, repository) == 0)
			return &token_cache[i];
	return NULL;
}

const char *
token_cached(const char *origin, const char *repository)
{
	struct token_entry *e = token_lookup(origin, repository);

	if (e == NULL || e->expires_ms <= mono_ms())
		return NULL;
	return e->authorization;
}

static void
token_store(const char *origin, const char *repository,
    const char *authorization, int64_t ttl_sec)
{
	struct token_entry *e;
	size_t		 i, oldest = 0;

	if ((e = token_lookup(origin, repository)) == NULL) {
		if (token_ncache == TOKEN_CACHE_MAX) {
			for (i = 1; i < token_ncache; i++)
				if (token_cache[i].expires_ms <
				    token_cache[oldest].expires_ms)
					oldest = i;
			e = &token_cache[oldest];
			token_entry_clear(e);
		} else
			e = &token_cache[token_ncache++];
		e->origin = xstrdup(origin);
		e->repository = xstrdup(repository);
	} else
		free(e->authorization);
	e->authorization = xstrdup(authorization);
	/* A margin, so that a token does not expire on its way. */
	e->expires_ms = mono_ms() + (ttl_sec > 20 ? ttl_sec - 10 : ttl_sec) *
	    1000;
}

static void
token_request_free(struct token_request *tr)
{
	if (tr->easy != NULL) {
		transfer_stop(tr->easy);
		curl_easy_cleanup(tr->easy);
	}
	curl_slist_free_all(tr->headers);
	wbuf_clear(&tr->body);
	free(tr->origin);
	free(tr->repository);
	free(tr->why);
	free(tr);
}

static void
token_finish(struct token_request *tr, int result, const char *why)
{
	if (!tr->abandoned)
		tr->done(result, why, tr->arg);
	token_request_free(tr);
}

/* An answer known without a transfer, given from the event loop. */
static void
token_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct token_request *tr = arg;

	token_finish(tr, tr->result, tr->why);
}

static void
token_later(struct token_request *tr, int result, const char *why)
{
	struct timeval	 tv = { 0, 0 };

	tr->result = result;
	tr->why = why != NULL ? xstrdup(why) : NULL;
	if (event_base_once(fetchd_base, -1, EV_TIMEOUT, token_later_cb, tr,
	    &tv) == -1)
		fatalx("event_base_once");
}

/* "Basic base64(user:secret)", a new string. */
static char *
token_basic(const char *user, const char *secret)
{
	char	*pair, *out;
	size_t	 n;

	n = (size_t)xasprintf(&pair, "%s:%s", user, secret != NULL ? secret :
	    "");
	out = xmalloc(6 + base64_encoded_len(n) + 1);
	memcpy(out, "Basic ", 6);
	out[6 + base64_encode((const uint8_t *)pair, n, out + 6)] = '\0';
	explicit_bzero(pair, n);
	free(pair);
	return out;
}

static size_t
token_body_cb(char *p, size_t size, size_t n, void *arg)
{
	struct token_request *tr = arg;

	if (tr->body.len + n > TOKEN_BODY_MAX) {
		tr->too_large = 1;
		return 0;
	}
	wbuf_put(&tr->body, p, n);
	return n;
}

/* The token server's JSON: "token" (or OAuth's "access_token") and
 * "expires_in".  0 with the answer stored, or -1. */
static int
token_answer(struct token_request *tr)
{
	struct json_tokener *tok;
	struct json_object *doc, *t = NULL, *ttl = NULL;
	const char	*s;
	char		*auth;
	int64_t		 sec = TOKEN_DEFAULT_TTL;
	int		 rc = -1;

	if ((tok = json_tokener_new_ex(16)) == NULL)
		fatalx("json_tokener_new_ex");
	doc = json_tokener_parse_ex(tok, (const char *)tr->body.data,
	    (int)tr->body.len);
	json_tokener_free(tok);
	if (doc == NULL || !json_object_is_type(doc, json_type_object))
		goto out;
	if ((!json_object_object_get_ex(doc, "token", &t) ||
	    !json_object_is_type(t, json_type_string) ||
	    json_object_get_string_len(t) == 0) &&
	    (!json_object_object_get_ex(doc, "access_token", &t) ||
	    !json_object_is_type(t, json_type_string)))
		goto out;
	s = json_object_get_string(t);
	if (*s == '\0' || strpbrk(s, "\r\n") != NULL || strlen(s) > 16384)
		goto out;
	if (json_object_object_get_ex(doc, "expires_in", &ttl) &&
	    json_object_is_type(ttl, json_type_int) &&
	    json_object_get_int64(ttl) >= TOKEN_DEFAULT_TTL)
		sec = json_object_get_int64(ttl) > 86400 ? 86400 :
		    json_object_get_int64(ttl);
	xasprintf(&auth, "Bearer %s", s);
	token_store(tr->origin, tr->repository, auth, sec);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	rc = 0;
out:
	json_object_put(doc);
	return rc;
}

static void
token_transfer_cb(CURL *easy, CURLcode cc, void *arg)
{
	struct token_request *tr = arg;
	long		 status = 0;
	char		 why[256];

	(void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK) {
		snprintf(why, sizeof(why), "the token server: %s",
		    tr->too_large ? "answer too large" :
		    curl_easy_strerror(cc));
		token_finish(tr, tr->too_large ? FETCH_ERR_INVALID :
		    FETCH_ERR_UNREACHABLE, why);
		return;
	}
	if (status == 401 || status == 403) {
		token_finish(tr, FETCH_ERR_DENIED, "the token server refused "
		    "the credentials");
		return;
	}
	if (status == 429) {
		token_finish(tr, FETCH_ERR_TOO_MANY, "the token server: too "
		    "many requests");
		return;
	}
	if (status != 200) {
		snprintf(why, sizeof(why), "the token server answered %ld",
		    status);
		token_finish(tr, FETCH_ERR_UNREACHABLE, why);
		return;
	}
	if (token_answer(tr) != 0) {
		token_finish(tr, FETCH_ERR_INVALID, "the token server's "
		    "answer holds no token");
		return;
	}
	token_finish(tr, FETCH_OK, NULL);
}

/* Asks realm for a token for the challenge's service and scope. */
static int
token_fetch(struct token_request *tr, const struct wwwauth_challenge *ch,
    const char *user, const char *secret)
{
	const struct curl_blob *ca;
	const char	*realm, *service, *scope;
	char		*url, *target, *esc_service = NULL, *esc_scope, *auth;
	char		*dflt_scope = NULL;

	if ((realm = wwwauth_param(ch, "realm")) == NULL)
		return -1;
	service = wwwauth_param(ch, "service");
	/* A challenge without a scope (to /v2/ itself) gets one only for a
	 * repository's request. */
	if ((scope = wwwauth_param(ch, "scope")) == NULL &&
	    tr->repository[0] != '\0') {
		xasprintf(&dflt_scope, "repository:%s:pull", tr->repository);
		scope = dflt_scope;
	}
	if ((tr->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	if (service != NULL)
		esc_service = curl_easy_escape(tr->easy, service, 0);
	esc_scope = scope != NULL ? curl_easy_escape(tr->easy, scope, 0) :
	    NULL;
	xasprintf(&url, "%s%s%s%s%s%s", realm, strchr(realm, '?') ? "&" : "?",
	    esc_scope != NULL ? "scope=" : "", esc_scope != NULL ? esc_scope :
	    "", esc_service != NULL ? "&service=" : "", esc_service != NULL ?
	    esc_service : "");
	curl_free(esc_service);
	curl_free(esc_scope);
	free(dflt_scope);
	target = upstream_resolve(url, &ca);
	free(url);
	if (target == NULL) {
		curl_easy_cleanup(tr->easy);
		tr->easy = NULL;
		return -1;
	}
	upstream_easy_setup(tr->easy, ca);
	(void)curl_easy_setopt(tr->easy, CURLOPT_URL, target);
	free(target);
	if (user != NULL) {
		auth = token_basic(user, secret);
		xasprintf(&url, "Authorization: %s", auth);
		tr->headers = curl_slist_append(tr->headers, url);
		explicit_bzero(url, strlen(url));
		explicit_bzero(auth, strlen(auth));
		free(url);
		free(auth);
		(void)curl_easy_setopt(tr->easy, CURLOPT_HTTPHEADER,
		    tr->headers);
	}
	(void)curl_easy_setopt(tr->easy, CURLOPT_WRITEFUNCTION, token_body_cb);
	(void)curl_easy_setopt(tr->easy, CURLOPT_WRITEDATA, tr);
	transfer_start(tr->easy, token_transfer_cb, tr);
	return 0;
}

struct token_request *
token_obtain(const char *origin, const char *repository,
    const char *const *challenges, size_t nchallenges, const char *user,
    const char *secret, token_done_cb done, void *arg)
{
	struct token_request *tr;
	struct wwwauth	 w;
	const struct wwwauth_challenge *ch;
	char		*auth;
	size_t		 i;

	tr = xcalloc(1, sizeof(*tr));
	tr->origin = xstrdup(origin);
	tr->repository = xstrdup(repository);
	tr->done = done;
	tr->arg = arg;
	wbuf_init(&tr->body);
	wwwauth_init(&w);
	for (i = 0; i < nchallenges; i++)
		if (wwwauth_parse(&w, challenges[i], strlen(challenges[i])) != 0)
			log_debug("%s: a malformed WWW-Authenticate header",
			    origin);
	if ((ch = wwwauth_find(&w, "Bearer")) != NULL) {
		if (token_fetch(tr, ch, user, secret) != 0)
			token_later(tr, FETCH_ERR_INVALID, "the upstream's "
			    "Bearer challenge names no usable realm");
	} else if (wwwauth_find(&w, "Basic") != NULL) {
		if (user == NULL)
			token_later(tr, FETCH_ERR_DENIED, "the upstream asks "
			    "for credentials and the rule has none");
		else {
			auth = token_basic(user, secret);
			token_store(origin, repository, auth, TOKEN_BASIC_TTL);
			explicit_bzero(auth, strlen(auth));
			free(auth);
			token_later(tr, FETCH_OK, NULL);
		}
	} else
		token_later(tr, FETCH_ERR_DENIED, "the upstream refused the "
		    "request with no challenge berth can meet");
	wwwauth_clear(&w);
	return tr;
}

void
token_abandon(struct token_request *tr)
{
	if (tr->easy != NULL) {
		token_request_free(tr);
		return;
	}
	/* The answer is queued on the loop, which frees it. */
	tr->abandoned = 1;
}
