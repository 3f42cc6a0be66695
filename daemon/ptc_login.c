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
 * Logins to an upstream that is another ECR (a rule with a
 * customRoleArn), as ECR logs in with the role it assumes:
 * GetAuthorizationToken on the upstream's API, signed (SigV4) with the
 * keys the secrets file gives for the role and sent through
 * berth-fetchd.  The token's password is kept in memory per rule for 11
 * hours (ECR's last 12) and is the Basic credential of the rule's
 * registry requests; a login the upstream refuses is dropped, so that the
 * next pull logs in again.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "error.h"
#include "fetch_proto.h"
#include "log.h"
#include "ptc.h"
#include "util.h"

/* How long a login is used: ECR's tokens last 12 hours. */
#define PTC_LOGIN_MS	(11LL * 3600 * 1000)
#define PTC_ECR_TARGET	"AmazonEC2ContainerRegistry_V20150921." \
	"GetAuthorizationToken"

struct ptc_login {
	char		 key[ACCOUNT_LEN + REGION_MAX + 48];
	ptc_done_cb	 cb;
	void		*arg;
};

static void
ptc_login_key(const char *account, const char *region,
    const struct ptc_rule *rule, char *key, size_t keysz)
{
	snprintf(key, keysz, "login:%s/%s/%s", account, region, rule->prefix);
}

const char *
ptc_login_password(const char *account, const char *region,
    const struct ptc_rule *rule)
{
	struct ptc_check *c;
	char		 key[ACCOUNT_LEN + REGION_MAX + 48];

	ptc_login_key(account, region, rule, key, sizeof(key));
	c = ptc_check_get(key);
	return c->secret != NULL && mono_ms() < c->ms ? c->secret : NULL;
}

/* The headers a GetAuthorizationToken request is signed over. */
struct ptc_login_headers {
	const char	*host;
	const char	*date;
};

static size_t
ptc_login_header(void *arg, const char *name, const char **vals, size_t max)
{
	const struct ptc_login_headers *h = arg;
	const char	*v = NULL;

	if (strcmp(name, "content-type") == 0)
		v = "application/x-amz-json-1.1";
	else if (strcmp(name, "host") == 0)
		v = h->host;
	else if (strcmp(name, "x-amz-date") == 0)
		v = h->date;
	else if (strcmp(name, "x-amz-target") == 0)
		v = PTC_ECR_TARGET;
	if (v == NULL || max == 0)
		return 0;
	vals[0] = v;
	return 1;
}

static void
ptc_login_done_cb(const struct msg_fetch_done *d, const uint8_t *body,
    size_t len, void *arg)
{
	struct ptc_login *l = arg;
	struct json_object *o = NULL, *data, *tok;
	struct ptc_check *c;
	uint8_t		 dec[1024];
	ssize_t		 n;
	char		 why[PTC_WHY_MAX];
	int		 err = BERR_UPSTREAM;

	snprintf(why, sizeof(why), "GetAuthorizationToken on the upstream: "
	    "%s", d->message[0] != '\0' ? d->message : "no token");
	if (d->result == FETCH_ERR_DENIED || (d->result == FETCH_ERR_STATUS &&
	    (d->status == 400 || d->status == 403)))
		err = BERR_DENIED;
	else if (d->result == FETCH_OK &&
	    (o = json_parse_strict((const char *)body, len, 8, NULL)) != NULL &&
	    json_object_object_get_ex(o, "authorizationData", &data) &&
	    json_object_is_type(data, json_type_array) &&
	    json_object_array_length(data) > 0 &&
	    json_object_object_get_ex(json_object_array_get_idx(data, 0),
	    "authorizationToken", &tok) &&
	    json_object_is_type(tok, json_type_string) &&
	    (n = base64_decode(json_object_get_string(tok),
	    (size_t)json_object_get_string_len(tok), dec, sizeof(dec) - 1)) >
	    4 && memcmp(dec, "AWS:", 4) == 0) {
		dec[n] = '\0';
		c = ptc_check_get(l->key);
		free(c->secret);
		c->secret = xstrdup((char *)dec + 4);
		c->ms = mono_ms() + PTC_LOGIN_MS;
		explicit_bzero(dec, sizeof(dec));
		err = 0;
	}
	json_object_put(o);
	l->cb(err, why, l->arg);
	free(l);
}

int
ptc_login(const char *account, const char *region,
    const struct ptc_rule *rule, ptc_done_cb cb, void *arg)
{
	struct fetchc_request rq;
	struct ptc_login_headers h;
	struct sigv4_request sr;
	struct ptc_login *l;
	const char	*access, *secret, *p;
	char		 upregion[REGION_MAX + 1];
	char		 host[REGION_MAX + 32], date[17], *auth, *url, *hdrs;
	time_t		 now = time(NULL);
	struct tm	 tm;

	/* <account>.dkr.ecr.<region>.amazonaws.com names the region. */
	p = strstr(rule->url, ".dkr.ecr.");
	if (rule->custom_role_arn == NULL || ptc_login_password(account,
	    region, rule) != NULL || p == NULL ||
	    ptc_secret_lookup(rule->custom_role_arn, &access, &secret) != 0)
		return 0;	/* ptc_request says what is missing */
	p += strlen(".dkr.ecr.");
	snprintf(upregion, sizeof(upregion), "%.*s", (int)strcspn(p, "."), p);
	snprintf(host, sizeof(host), "api.ecr.%s.amazonaws.com", upregion);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
	h.host = host;
	h.date = date;
	memset(&sr, 0, sizeof(sr));
	sr.method = "POST";
	sr.path = "/";
	sr.headers = ptc_login_header;
	sr.arg = &h;
	sr.body = "{}";
	sr.body_len = 2;
	auth = sigv4_sign(&sr, "content-type;host;x-amz-date;x-amz-target",
	    access, secret, upregion, "ecr", date);
	xasprintf(&hdrs, "Content-Type: application/x-amz-json-1.1\n"
	    "Host: %s\nX-Amz-Date: %s\nX-Amz-Target: %s\n"
	    "Authorization: %s\n", host, date, PTC_ECR_TARGET, auth);
	xasprintf(&url, "https://%s/", host);
	l = xcalloc(1, sizeof(*l));
	ptc_login_key(account, region, rule, l->key, sizeof(l->key));
	l->cb = cb;
	l->arg = arg;
	memset(&rq, 0, sizeof(rq));
	rq.method = FETCH_POST;
	rq.max_bytes = 65536;
	rq.url = url;
	rq.headers = hdrs;
	rq.body = (const uint8_t *)"{}";
	rq.body_len = 2;
	rq.pipe = -1;
	log_debug("pull through cache: GetAuthorizationToken at %s for %s",
	    url, rule->custom_role_arn);
	(void)fetchc_fetch(&rq, NULL, ptc_login_done_cb, l);
	explicit_bzero(hdrs, strlen(hdrs));
	free(hdrs);
	free(auth);
	free(url);
	return 1;
}

int
ptc_login_drop(const char *account, const char *region,
    const struct ptc_rule *rule)
{
	struct ptc_check *c;
	char		 key[ACCOUNT_LEN + REGION_MAX + 48];

	if (rule->custom_role_arn == NULL)
		return 0;
	ptc_login_key(account, region, rule, key, sizeof(key));
	c = ptc_check_get(key);
	if (c->secret == NULL)
		return 0;
	log_info("pull through cache: the upstream refused the login for %s: "
	    "logging in again", rule->custom_role_arn);
	explicit_bzero(c->secret, strlen(c->secret));
	free(c->secret);
	c->secret = NULL;
	c->ms = 0;
	return 1;
}
