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
 * What a web page the user opens may make berthd do.  A browser lets any
 * page send requests to 127.0.0.1, but without CORS headers, which berthd
 * never sends, the page reads no answer; two attacks remain, and the rules
 * here stop both (berthd(8) SECURITY says the same to users):
 *
 * - DNS rebinding.  The page's own name is made to resolve to 127.0.0.1:
 *   the page is then same-origin with berthd and reads every answer, but
 *   its requests carry its name in Host.  The admin API, and every route
 *   while berthd listens on loopback addresses only, serve only a Host
 *   that is localhost or a name under .localhost (RFC 6761: browsers and
 *   resolvers never ask DNS for them), an address literal (a page served
 *   from an address was served by it, not rebound), an ECR registry name
 *   <account>.dkr.ecr.<region>.amazonaws.com or ECR's API endpoint
 *   api.ecr.<region>.amazonaws.com (AWS holds that DNS), or the advertised
 *   host.  A berthd listening on other addresses is reached by
 *   names it cannot know: /v2/ and the ECR API then take any Host, and
 *   --require-auth and --credentials are what protects them.
 * - Cross-site requests.  Browsers ask first (a CORS preflight, which
 *   berthd refuses) before anything but a GET, a HEAD or a POST of a
 *   simple content type, so a page can still POST a form or a fetch() of
 *   that kind: an admin GC or reset, a /v2/ blob upload or mount (an ECR
 *   call needs an X-Amz-Target header and never gets through).  Every
 *   request but GET, HEAD and OPTIONS that the browser marks as sent by
 *   another origin is refused on every route: Sec-Fetch-Site cross-site
 *   or same-site (another port of this host is another origin), an Origin
 *   other than the Host, Origin: null.  Registry and AWS clients send
 *   neither header.
 */
#include "config.h"

#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "berthd.h"
#include "http.h"
#include "utf8.h"

#define ORIGIN_HOST_MAX		256

static int	origin_loopback_listener;

void
origin_set_loopback_listener(int loopback)
{
	origin_loopback_listener = loopback;
}

/* The name in a Host value, without its port, in lower case and without
 * a trailing dot (brackets stay around an IPv6 literal); -1 when it is
 * malformed. */
static int
origin_host_name(const char *host, char *out, size_t outsz)
{
	const char	*end, *port;
	size_t		 n, i;

	if (host[0] == '[') {
		if ((end = strchr(host, ']')) == NULL)
			return -1;
		end++;
		port = *end == ':' ? end + 1 : NULL;
		if (*end != '\0' && port == NULL)
			return -1;
	} else {
		end = host + strcspn(host, ":");
		port = *end == ':' ? end + 1 : NULL;
	}
	if (port != NULL && (*port == '\0' ||
	    strspn(port, "0123456789") != strlen(port)))
		return -1;
	n = (size_t)(end - host);
	if (n > 1 && host[n - 1] == '.')
		n--;
	if (n == 0 || n >= outsz)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)(host[i] >= 'A' && host[i] <= 'Z' ?
		    host[i] - 'A' + 'a' : host[i]);
	out[n] = '\0';
	return 0;
}

static int
origin_is_address(const char *name)
{
	char		 v6[ORIGIN_HOST_MAX];
	struct in6_addr	 a6;
	struct in_addr	 a4;
	size_t		 n = strlen(name);

	if (name[0] != '[')
		return inet_pton(AF_INET, name, &a4) == 1;
	if (n < 3 || name[n - 1] != ']')
		return 0;
	memcpy(v6, name + 1, n - 2);
	v6[n - 2] = '\0';
	return inet_pton(AF_INET6, v6, &a6) == 1;
}

/* Whether name is ECR's API endpoint for a region (api.ecr.REGION or the
 * older ecr.REGION, under amazonaws.com): AWS holds that DNS, so no page
 * rebinds it, and berth-fetchd names it when an ECR upstream that
 * --upstream-map sends here is a berthd. */
static int
origin_is_ecr_api(const char *name)
{
	static const char suffix[] = ".amazonaws.com";
	size_t		 n = strlen(name), s = sizeof(suffix) - 1, p;

	if (strncmp(name, "api.ecr.", 8) == 0)
		p = 8;
	else if (strncmp(name, "ecr.", 4) == 0)
		p = 4;
	else
		return 0;
	return n > p + s && strcmp(name + n - s, suffix) == 0 &&
	    name_region_valid(name + p, n - p - s);
}

int
origin_host_allowed(const char *host)
{
	char	 name[ORIGIN_HOST_MAX];
	char	 account[ACCOUNT_LEN + 1], region[REGION_MAX + 1];
	size_t	 n;

	if (host == NULL)
		return 1;	/* HTTP/1.0: a browser always sends Host */
	if (origin_host_name(host, name, sizeof(name)) == -1)
		return 0;
	n = strlen(name);
	return strcmp(name, "localhost") == 0 ||
	    (n > 10 && strcmp(name + n - 10, ".localhost") == 0) ||
	    origin_is_address(name) ||
	    oci_host_identity(name, account, region) == 0 ||
	    origin_is_ecr_api(name) ||
	    strcasecmp(name, ecr_advertise_host()) == 0;
}

/* An authority ("host[:port]") without the scheme's default port. */
static size_t
origin_authority_len(const char *a, const char *default_port)
{
	size_t	 n = strlen(a), p = strlen(default_port);

	if (n > p + 1 && a[n - p - 1] == ':' &&
	    strcmp(a + n - p, default_port) == 0)
		return n - p - 1;
	return n;
}

/* Whether the Origin a browser sent names the server the Host names. */
static int
origin_same_as_host(const char *origin, const char *host)
{
	const char	*port, *auth;
	size_t		 n;

	if (host == NULL)
		return 0;
	if (strncasecmp(origin, "http://", 7) == 0) {
		auth = origin + 7;
		port = "80";
	} else if (strncasecmp(origin, "https://", 8) == 0) {
		auth = origin + 8;	/* behind a TLS proxy */
		port = "443";
	} else
		return 0;		/* "null" and everything else */
	n = origin_authority_len(auth, port);
	return n > 0 && n == origin_authority_len(host, port) &&
	    strncasecmp(auth, host, n) == 0;
}

static int
origin_method_changes(const struct http_request *req)
{
	const char	*m = http_request_method(req);

	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 &&
	    strcmp(m, "OPTIONS") != 0;
}

int
origin_refusal(struct http_request *req, int admin, char *why, size_t whysz)
{
	const char	*host = http_request_header(req, "Host");
	const char	*site, *origin;

	if ((admin || origin_loopback_listener) &&
	    !origin_host_allowed(host)) {
		snprintf(why, whysz, "the Host header names %.200s, which is "
		    "not this registry: a web page may be trying DNS "
		    "rebinding; use localhost, an address, or the name given "
		    "to --advertise-host", host);
		utf8_scrub(why);
		return 1;
	}
	if (!origin_method_changes(req))
		return 0;
	site = http_request_header(req, "Sec-Fetch-Site");
	if (site != NULL && (strcasecmp(site, "cross-site") == 0 ||
	    strcasecmp(site, "same-site") == 0)) {
		snprintf(why, whysz, "a web page of another site may not "
		    "change this registry (Sec-Fetch-Site: %s)", site);
		return 1;
	}
	origin = http_request_header(req, "Origin");
	if (origin != NULL && !origin_same_as_host(origin, host)) {
		snprintf(why, whysz, "a web page of another origin may not "
		    "change this registry (Origin: %.200s)", origin);
		utf8_scrub(why);
		return 1;
	}
	return 0;
}
