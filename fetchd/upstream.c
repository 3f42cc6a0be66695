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
 * Where an upstream URL really goes and what berth-fetchd trusts there.
 * --upstream-map sends an origin elsewhere (Docker Hub to a company
 * mirror, or to a registry on this machine for tests and offline use),
 * optionally trusting one more CA file.  Certificates are always
 * verified: the system's bundle (curl's built-in path, or $SSL_CERT_FILE)
 * and each map's CA file are read into memory before the sandbox closes
 * the filesystem, and handed to curl as blobs.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fetchd.h"
#include "log.h"
#include "util.h"

/* A CA file larger than this is not one. */
#define UPSTREAM_CA_MAX		(16 * 1024 * 1024)
#define UPSTREAM_MAPS_MAX	64

struct upstream_map {
	char		*from;		/* normalized origin */
	char		*to;		/* base URL, no trailing '/' */
	char		*ca_file;	/* or NULL */
	struct curl_blob ca;		/* the system's, plus ca_file's */
};

static struct upstream_map upstream_maps[UPSTREAM_MAPS_MAX];
static size_t		 upstream_nmaps;
static struct curl_blob	 upstream_system_ca;

int
upstream_origin(const char *url, char *out, size_t outsz, const char **rest)
{
	const char	*p, *host, *end;
	size_t		 slen, hlen, i, o;
	int		 https;

	if (strncasecmp(url, "https://", 8) == 0) {
		https = 1;
		slen = 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		https = 0;
		slen = 7;
	} else
		return -1;
	host = url + slen;
	end = host + strcspn(host, "/?#");
	hlen = (size_t)(end - host);
	if (hlen == 0 || memchr(host, '@', hlen) != NULL ||
	    slen + hlen + 1 > outsz)
		return -1;
	o = 0;
	memcpy(out, https ? "https://" : "http://", slen);
	o = slen;
	for (i = 0; i < hlen; i++) {
		if ((unsigned char)host[i] <= ' ')
			return -1;
		out[o++] = (char)tolower((unsigned char)host[i]);
	}
	out[o] = '\0';
	/* The default port names the same origin as none. */
	p = strrchr(out + slen, ':');
	if (p != NULL && strchr(p, ']') == NULL &&
	    strcmp(p + 1, https ? "443" : "80") == 0)
		out[p - out] = '\0';
	*rest = end;
	return 0;
}

int
upstream_map_add(const char *arg)
{
	struct upstream_map *m;
	char		*copy, *eq, *comma, origin[512];
	const char	*rest;
	size_t		 n;

	if (upstream_nmaps == UPSTREAM_MAPS_MAX) {
		fprintf(stderr, "--upstream-map: at most %d maps\n",
		    UPSTREAM_MAPS_MAX);
		return -1;
	}
	copy = xstrdup(arg);
	if ((eq = strchr(copy, '=')) == NULL || eq == copy) {
		fprintf(stderr, "--upstream-map %s: not FROM=TO[,CA_FILE]\n",
		    arg);
		free(copy);
		return -1;
	}
	*eq = '\0';
	if ((comma = strchr(eq + 1, ',')) != NULL)
		*comma = '\0';
	m = &upstream_maps[upstream_nmaps];
	memset(m, 0, sizeof(*m));
	/* FROM without a scheme is an https origin, as registries are. */
	if (strstr(copy, "://") == NULL)
		xasprintf(&m->from, "https://%s", copy);
	else
		m->from = xstrdup(copy);
	if (upstream_origin(m->from, origin, sizeof(origin), &rest) != 0 ||
	    *rest != '\0') {
		fprintf(stderr, "--upstream-map %s: %s is not an http or https "
		    "origin (scheme://host[:port])\n", arg, copy);
		goto fail;
	}
	free(m->from);
	m->from = xstrdup(origin);
	m->to = xstrdup(eq + 1);
	if (upstream_origin(m->to, origin, sizeof(origin), &rest) != 0 ||
	    (*rest != '\0' && *rest != '/')) {
		fprintf(stderr, "--upstream-map %s: %s is not an http or https "
		    "URL\n", arg, m->to);
		goto fail;
	}
	n = strlen(m->to);
	while (n > 0 && m->to[n - 1] == '/')
		m->to[--n] = '\0';
	if (comma != NULL) {
		if (comma[1] == '\0') {
			fprintf(stderr, "--upstream-map %s: an empty CA file "
			    "name\n", arg);
			goto fail;
		}
		m->ca_file = xstrdup(comma + 1);
	}
	upstream_nmaps++;
	free(copy);
	return 0;
fail:
	free(m->from);
	free(m->to);
	memset(m, 0, sizeof(*m));
	free(copy);
	return -1;
}

/* Reads a whole file; NULL (logged) when it cannot. */
static uint8_t *
upstream_read_file(const char *path, size_t *len)
{
	struct stat	 sb;
	uint8_t		*buf;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		log_warn("%s", path);
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > UPSTREAM_CA_MAX) {
		log_warnx("%s: not a CA file", path);
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	if ((n = read_full(fd, buf, (size_t)sb.st_size)) !=
	    (ssize_t)sb.st_size) {
		log_warn("%s", path);
		free(buf);
		close(fd);
		return NULL;
	}
	close(fd);
	*len = (size_t)n;
	return buf;
}

int
upstream_load_cas(void)
{
	curl_version_info_data	*v = curl_version_info(CURLVERSION_NOW);
	const char		*sys;
	uint8_t			*b, *all;
	size_t			 len = 0, i, n;

	if ((sys = getenv("SSL_CERT_FILE")) == NULL || *sys == '\0')
		sys = v->cainfo;
	if (sys != NULL && (b = upstream_read_file(sys, &len)) != NULL) {
		upstream_system_ca.data = b;
		upstream_system_ca.len = len;
	} else
		log_warnx("no system CA certificates%s%s: only the CA files "
		    "of --upstream-map are trusted", sys != NULL ? " in " :
		    "", sys != NULL ? sys : "");
	upstream_system_ca.flags = CURL_BLOB_NOCOPY;
	for (i = 0; i < upstream_nmaps; i++) {
		struct upstream_map *m = &upstream_maps[i];
		m->ca = upstream_system_ca;
		if (m->ca_file == NULL)
			continue;
		if ((b = upstream_read_file(m->ca_file, &n)) == NULL)
			return -1;
		all = xmalloc(upstream_system_ca.len + 1 + n);
		if (upstream_system_ca.len > 0)
			memcpy(all, upstream_system_ca.data,
			    upstream_system_ca.len);
		/* PEM blocks need not end in a newline. */
		all[upstream_system_ca.len] = '\n';
		memcpy(all + upstream_system_ca.len + 1, b, n);
		free(b);
		m->ca.data = all;
		m->ca.len = upstream_system_ca.len + 1 + n;
		m->ca.flags = CURL_BLOB_NOCOPY;
	}
	return 0;
}

char *
upstream_resolve(const char *url, const struct curl_blob **ca)
{
	char		 origin[512], *out;
	const char	*rest;
	size_t		 i;

	if (upstream_origin(url, origin, sizeof(origin), &rest) != 0)
		return NULL;
	for (i = 0; i < upstream_nmaps; i++) {
		if (strcmp(upstream_maps[i].from, origin) != 0)
			continue;
		*ca = &upstream_maps[i].ca;
		xasprintf(&out, "%s%s", upstream_maps[i].to, rest);
		return out;
	}
	*ca = &upstream_system_ca;
	return xstrdup(url);
}

void
upstream_easy_setup(CURL *easy, const struct curl_blob *ca)
{
	(void)curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR,
	    "http,https");
	/* Blob downloads redirect to storage on other hosts.  Credentials
	 * are custom Authorization headers, which curl sends to the
	 * origin only, never after a redirect to another host or port. */
	(void)curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
	(void)curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
	(void)curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	(void)curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	/* Only the blob: no CA path or file read at connection time. */
	(void)curl_easy_setopt(easy, CURLOPT_CAINFO, NULL);
	(void)curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
	(void)curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, ca);
	(void)curl_easy_setopt(easy, CURLOPT_PROXY_CAINFO, NULL);
	(void)curl_easy_setopt(easy, CURLOPT_PROXY_CAPATH, NULL);
	(void)curl_easy_setopt(easy, CURLOPT_PROXY_CAINFO_BLOB, ca);
	(void)curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_2TLS);
	(void)curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
	(void)curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 30L);
	/* An upstream that sends nothing for a minute has failed. */
	(void)curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	(void)curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, 60L);
	(void)curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, NULL);
	(void)curl_easy_setopt(easy, CURLOPT_USERAGENT,
	    "berth/" PACKAGE_VERSION);
}
