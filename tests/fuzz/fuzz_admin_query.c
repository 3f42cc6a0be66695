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
 * libFuzzer target: the admin API's query parsing (daemon/admin_query.c)
 * behind the HTTP layer's own query decoding.  The first input byte picks
 * the parameters the endpoint takes; the rest is the query, sent as the
 * target of a request (bytes a request line cannot hold are %-escaped).
 * What is accepted must be what the admin API may act on: values of their
 * grammar, only parameters the endpoint takes.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "log.h"
#include "name.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base	*base;
static unsigned int		 allowed;
static int			 answered;

static void
check_query(struct http_request *req)
{
	struct admin_query q;
	char		 why[256];

	memset(why, 0, sizeof(why));
	if (admin_query_parse(req, allowed, &q, why, sizeof(why)) == -1) {
		if (why[0] == '\0' || memchr(why, '\0', sizeof(why)) == NULL)
			abort();
		return;
	}
	if ((q.dry_run != 0 && q.dry_run != 1) ||
	    (q.dry_run && !(allowed & ADMIN_Q_DRY_RUN)))
		abort();
	if ((q.account != NULL || q.region != NULL) &&
	    !(allowed & ADMIN_Q_REGISTRY))
		abort();
	if (q.repository != NULL && !(allowed & ADMIN_Q_REPOSITORY))
		abort();
	if ((q.account != NULL && !name_account_valid(q.account,
	    strlen(q.account))) || (q.region != NULL &&
	    !name_region_valid(q.region, strlen(q.region))) ||
	    (q.repository != NULL && !name_oci_repository_valid(q.repository,
	    strlen(q.repository))))
		abort();
}

static void
handler(struct http_request *req, void *arg)
{
	check_query(req);
	answered++;
	http_respond(req, 200, NULL, NULL, 0);
}

/* What the HTTP layer refuses never reaches the parser. */
static void
refusal_cb(struct http_request *req, int err, const char *reason,
    void *arg)
{
	answered++;
	http_respond(req, 400, NULL, NULL, 0);
}

/* The query as a request target may carry it. */
static size_t
escape_query(const uint8_t *in, size_t n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		if (in[i] > 0x20 && in[i] < 0x7f &&
		    strchr("#\"<>\\^`{|}", in[i]) == NULL) {
			out[o++] = (char)in[i];
			continue;
		}
		out[o++] = '%';
		out[o++] = hex[in[i] >> 4];
		out[o++] = hex[in[i] & 0xf];
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_server	*srv;
	struct http_limits	 limits;
	char			*wire, buf[4096];
	size_t			 len;
	int			 sv[2], i;

	if (base == NULL) {
		signal(SIGPIPE, SIG_IGN);
		log_init("fuzz_admin_query", LOG_LVL_WARN);
		if ((base = event_base_new()) == NULL)
			abort();
	}
	if (size == 0 || size > 2000)
		return 0;
	allowed = data[0] & (ADMIN_Q_DRY_RUN | ADMIN_Q_REGISTRY |
	    ADMIN_Q_REPOSITORY);
	wire = xmalloc(3 * size + 64);
	len = (size_t)snprintf(wire, 32, "GET /_berth/q?");
	len += escape_query(data + 1, size - 1, wire + len);
	memcpy(wire + len, " HTTP/1.1\r\nHost: localhost\r\n\r\n", 31);
	len += 31;

	http_limits_default(&limits);
	if ((srv = http_server_new(base, &limits, handler, NULL)) == NULL)
		abort();
	http_server_set_refusal_cb(srv, refusal_cb, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    http_server_adopt(srv, sv[0], NULL, 0) == -1)
		abort();
	fd_set_nonblock(sv[1]);
	answered = 0;
	if (write(sv[1], wire, len) != (ssize_t)len)
		abort();
	for (i = 0; i < 1000 && answered == 0; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		while (read(sv[1], buf, sizeof(buf)) > 0)
			;
	}
	if (answered != 1)
		abort();
	close(sv[1]);
	http_server_free(srv);
	free(wire);
	return 0;
}
