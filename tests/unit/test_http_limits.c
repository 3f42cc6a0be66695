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
 * The HTTP layer's limits and refusals against real sockets: header and
 * target sizes, malformed requests, broken bodies, the connection table
 * and the timeouts.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <http_parser.h>

#include "error.h"
#include "util.h"
#include "unit.h"
#include "http_harness.h"

static void
expect_refusal(const char *request, int status)
{
	struct tclient	*c;

	c = simple(request, 1);
	CU_ASSERT_EQUAL_FATAL(c->nresp, 1);
	CU_ASSERT_EQUAL(c->r[0].status, status);
	CU_ASSERT(resp_header_is(&c->r[0], "Content-Type", "text/plain"));
	CU_ASSERT(resp_header_is(&c->r[0], "Connection", "close"));
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT_EQUAL(T.last_status, status);
	client_free(c);
}

static void
test_http_refusals(void)
{
	struct evbuffer	*b;
	char		*s;
	int		 i;

	srv_start(NULL);
	b = evbuffer_new();

	/* 70 KiB of headers. */
	evbuffer_add_printf(b, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < 70; i++) {
		evbuffer_add_printf(b, "X-H%d: ", i);
		while (evbuffer_get_length(b) % 1024 != 1022)
			evbuffer_add(b, "v", 1);
		evbuffer_add(b, "\r\n", 2);
	}
	evbuffer_add(b, "\r\n\0", 3);
	s = (char *)evbuffer_pullup(b, -1);
	expect_refusal(s, 431);
	evbuffer_drain(b, evbuffer_get_length(b));

	/* 101 header lines. */
	evbuffer_add_printf(b, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 101; i++)
		evbuffer_add_printf(b, "X-H%d: v\r\n", i);
	evbuffer_add(b, "\r\n\0", 3);
	expect_refusal((char *)evbuffer_pullup(b, -1), 431);
	evbuffer_drain(b, evbuffer_get_length(b));
	/* 100 are fine. */
	evbuffer_add_printf(b, "GET /echo HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < 99; i++)
		evbuffer_add_printf(b, "X-H%d: v\r\n", i);
	evbuffer_add(b, "\r\n\0", 3);
	{
		struct tclient *c = simple((char *)evbuffer_pullup(b, -1), 1);

		CU_ASSERT_EQUAL(c->r[0].status, 200);
		client_free(c);
	}
	evbuffer_drain(b, evbuffer_get_length(b));

	/* A 9 KiB URI. */
	evbuffer_add_printf(b, "GET /");
	for (i = 0; i < 9 * 1024; i++)
		evbuffer_add(b, "a", 1);
	evbuffer_add_printf(b, " HTTP/1.1\r\nHost: x\r\n\r\n");
	evbuffer_add(b, "", 1);
	expect_refusal((char *)evbuffer_pullup(b, -1), 414);
	evbuffer_free(b);

	expect_refusal("GET /a%zzb HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	expect_refusal("GET /a%2 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	expect_refusal("GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	expect_refusal("POST /body HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\n", 400);
	expect_refusal("POST /body HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
	    "0\r\n\r\n", 400);
	expect_refusal("POST /body HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400);
	expect_refusal("POST /body HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: +5\r\n\r\nhello", 400);
	expect_refusal("POST /body HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: gzip\r\n\r\nhello", 400);
	expect_refusal("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
	expect_refusal("GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505);
	expect_refusal("GET /\r\n\r\n", 505);
	expect_refusal("\x01\x02 nonsense\r\n\r\n", 400);
	expect_refusal("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400);
	expect_refusal("GET / HTTP/1.1\r\nX-Ctl: a\x01b\r\n\r\n", 400);
	CU_ASSERT_EQUAL(T.nreq, 1);
	srv_stop();
}

static void
test_http_bad_chunk(void)
{
	struct tclient	*c;

	srv_start(NULL);
	c = client_new();
	client_send(c, "POST /body HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	/* The handler learns of it and answers; then the connection
	 * closes. */
	CU_ASSERT_EQUAL(c->r[0].status, 400);
	CU_ASSERT_STRING_EQUAL(c->r[0].body, "no\n");
	CU_ASSERT(resp_header_is(&c->r[0], "Connection", "close"));
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT_EQUAL(T.body_calls, 1);
	CU_ASSERT_EQUAL(T.body_err, BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(c->nresp, 1);
	CU_ASSERT_EQUAL(T.last_status, 400);
	client_free(c);
	srv_stop();
}

/*
 * Request-smuggling defences: framing that http-parser (built without
 * HTTP_PARSER_STRICT) would take, and header combinations that make the
 * body's length ambiguous, are refused with 400 and a close.
 */
static void
test_http_smuggling(void)
{
	static const char *const refused[] = {
		"GET /echo HTTP/1.1\nHost: x\n\n",
		"GET /echo HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
		"GET /echo HTTP/1.1\r\nHost: x\r\n\r\r\n",
		"GET /echo HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",
		"GET /echo HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
		"GET /echo HTTP/1.1\r\n Host: x\r\n\r\n",
		"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
		    "Content-Length: 5\r\n\r\nhello",
		"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n"
		    "\r\nhello",
		"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST /body HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"POST /body HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST /body HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
		"POST /body HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "0\r\n\r\n",
		"POST /body HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
		    "Upgrade: x\r\nContent-Length: 5\r\n\r\nhello",
	};
	struct tclient	*c;
	size_t		 i;

	srv_start(NULL);
	for (i = 0; i < nitems(refused); i++)
		expect_refusal(refused[i], 400);
	CU_ASSERT_EQUAL(T.nreq, 0);

	/* A good request, then a bad one on the same connection: the first
	 * is answered, the second refused when the parser gets to it. */
	c = simple("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /echo HTTP/1.1\nHost: x\n\n", 2);
	CU_ASSERT_EQUAL_FATAL(c->nresp, 2);
	CU_ASSERT_EQUAL(c->r[0].status, 200);
	CU_ASSERT_EQUAL(c->r[1].status, 400);
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT_EQUAL(T.nreq, 1);
	client_free(c);

	/* Two bytes that are not CRLF after chunk data: the body stops
	 * before them, its reader is told, the handler answers. */
	pipe_open();
	T.pipe_const = 1;
	pipe_start_reading();
	c = simple("PUT /fd HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabcXX4\r\ndefg\r\n0\r\n\r\n", 1);
	CU_ASSERT_EQUAL_FATAL(c->nresp, 1);
	CU_ASSERT_EQUAL(c->r[0].status, 500);
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT(run_until(cond_pipe_eof, NULL, 5000));
	CU_ASSERT_EQUAL(T.fd_calls, 1);
	CU_ASSERT_EQUAL(T.fd_err, BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(T.pipe_pos, 3);
	client_free(c);
	srv_stop();
}

static int
cond_held2(void *arg)
{
	return T.held2 != NULL;
}

/*
 * At the limit, the connection idle the longest is closed to take a new
 * one; only with none idle is the new one refused (503).
 */
static void
test_http_max_connections(void)
{
	struct http_limits	 l;
	struct tclient		*c1, *c2, *c3;

	http_limits_default(&l);
	l.max_connections = 2;
	srv_start(&l);
	c1 = simple("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	c2 = simple("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	CU_ASSERT(c1->nresp == 1 && c2->nresp == 1);
	/* c1 was idle first, but has been used since: c2 goes. */
	client_send(c1, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT(client_wait(c1, 2, 5000));
	c3 = simple("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	CU_ASSERT_EQUAL_FATAL(c3->nresp, 1);
	CU_ASSERT_EQUAL(c3->r[0].status, 200);
	CU_ASSERT(run_until(cond_eof, c2, 5000));
	CU_ASSERT_EQUAL(c2->nresp, 1);
	CU_ASSERT_EQUAL(http_server_connections(T.srv), 2);
	client_send(c1, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT(client_wait(c1, 3, 5000));
	CU_ASSERT_EQUAL(c1->eof, 0);
	client_free(c2);

	/* Both busy with a request: 503 and close. */
	client_send(c1, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
	client_send(c3, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(run_until(cond_held2, NULL, 5000));
	c2 = simple("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	CU_ASSERT_EQUAL_FATAL(c2->nresp, 1);
	CU_ASSERT_EQUAL(c2->r[0].status, 503);
	CU_ASSERT(resp_header_is(&c2->r[0], "Retry-After", "1"));
	CU_ASSERT(resp_header_is(&c2->r[0], "Connection", "close"));
	CU_ASSERT(run_until(cond_eof, c2, 5000));
	CU_ASSERT_EQUAL(http_server_connections(T.srv), 2);
	CU_ASSERT(c1->eof == 0 && c3->eof == 0);
	http_respond(T.held, 200, NULL, NULL, 0);
	http_respond(T.held2, 200, NULL, NULL, 0);
	CU_ASSERT(client_wait(c1, 4, 5000));
	CU_ASSERT(client_wait(c3, 2, 5000));
	client_free(c3);
	client_free(c2);
	client_free(c1);
	srv_stop();
}

static void
test_http_idle_timeout(void)
{
	struct http_limits	 l;
	struct tclient		*c;
	int64_t			 t0;

	http_limits_default(&l);
	l.idle_timeout = 1;
	srv_start(&l);
	c = client_new();
	t0 = mono_ms();
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT(ms_since(t0) >= 900 && ms_since(t0) < 3000);
	CU_ASSERT_EQUAL(c->rx, 0);
	client_free(c);

	/* And between requests. */
	c = simple("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	t0 = mono_ms();
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT(ms_since(t0) >= 900 && ms_since(t0) < 3000);
	CU_ASSERT_EQUAL(c->nresp, 1);
	client_free(c);
	CU_ASSERT_EQUAL(http_server_connections(T.srv), 0);
	srv_stop();
}

static void
test_http_header_timeout(void)
{
	struct http_limits	 l;
	struct tclient		*c;
	int64_t			 t0;
	int			 i;

	http_limits_default(&l);
	l.header_timeout = 1;
	srv_start(&l);
	c = client_new();
	t0 = mono_ms();
	client_send(c, "GET /echo HTTP/1.1\r\n");
	for (i = 0; i < 20 && c->nresp == 0 && !c->eof; i++) {
		client_wait(c, 1, 200);
		if (c->nresp == 0 && !c->eof)
			client_send(c, "X-Slow: 1\r\n");
	}
	CU_ASSERT_EQUAL_FATAL(c->nresp, 1);
	CU_ASSERT_EQUAL(c->r[0].status, 408);
	CU_ASSERT(ms_since(t0) >= 900 && ms_since(t0) < 3000);
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT_EQUAL(T.nreq, 0);
	client_free(c);
	srv_stop();
}

static void
test_http_io_timeout(void)
{
	struct http_limits	 l;
	struct tclient		*c;
	int64_t			 t0;

	http_limits_default(&l);
	l.io_timeout = 1;
	srv_start(&l);
	/* The client stops halfway through its body. */
	c = client_new();
	t0 = mono_ms();
	client_send(c, "PUT /body HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 100\r\n\r\n0123456789");
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT(ms_since(t0) >= 900 && ms_since(t0) < 3000);
	CU_ASSERT_EQUAL(T.body_calls, 1);
	CU_ASSERT_EQUAL(T.body_err, BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(c->nresp, 0);
	client_free(c);

	/* The descriptor's reader stops. */
	pipe_open();
	c = client_new();
	t0 = mono_ms();
	client_send(c, "PUT /fd HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1048576\r\n\r\n");
	client_upload(c, 1048576, 0);
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	CU_ASSERT(ms_since(t0) >= 900 && ms_since(t0) < 3000);
	CU_ASSERT_EQUAL(c->r[0].status, 500);
	CU_ASSERT_EQUAL(T.fd_calls, 1);
	CU_ASSERT_EQUAL(T.fd_err, BERR_IO);
	CU_ASSERT(run_until(cond_eof, c, 5000));
	client_free(c);
	srv_stop();
}

/* RFC 9112 3.2: exactly one Host, a valid host[:port], on HTTP/1.1. */
static void
test_http_host(void)
{
	static const char *const good[] = {
		"localhost", "localhost:4566", "127.0.0.1:1", "[::1]",
		"[::1]:4566", "[v1.x:y]", "111111111111.dkr.ecr.eu-west-1."
		"localhost:4566", "a_b~c-d.e!$&'()*+,;=", "%41b", "x:",
		"x:65535", "",
	};
	static const char *const bad[] = {
		"a b", "a/b", "a@b", "a?b", "a#b", "[::1", "[::1]x", "[zz]",
		"[::1]:x", "x:65536", "x:1:2", "x:-1", "%4", "%zz", "\"x\"",
		"a\\b", "[v.x]", "[1.2.3.4]", "x:99999999999999999999",
	};
	char		 req[256];
	struct tclient	*c;
	size_t		 i;

	srv_start(NULL);
	for (i = 0; i < nitems(good); i++) {
		snprintf(req, sizeof(req), "GET /echo HTTP/1.1\r\n"
		    "Host: %s\r\n\r\n", good[i]);
		c = simple(req, 1);
		if (c->nresp != 1 || c->r[0].status != 200)
			fprintf(stderr, "\nHost: %s refused\n", good[i]);
		CU_ASSERT(c->nresp == 1 && c->r[0].status == 200);
		client_free(c);
	}
	for (i = 0; i < nitems(bad); i++) {
		snprintf(req, sizeof(req), "GET /echo HTTP/1.1\r\n"
		    "Host: %s\r\n\r\n", bad[i]);
		expect_refusal(req, 400);
	}
	expect_refusal("GET /echo HTTP/1.1\r\n\r\n", 400);
	expect_refusal("GET /echo HTTP/1.1\r\nX-Host: x\r\n\r\n", 400);
	expect_refusal("GET /echo HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
	    400);
	expect_refusal("GET /echo HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
	    400);
	expect_refusal("GET /echo HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
	    400);
	CU_ASSERT_EQUAL(T.nreq, (int)nitems(good));
	/* HTTP/1.0 may leave it out. */
	c = simple("GET /echo HTTP/1.0\r\n\r\n", 1);
	CU_ASSERT(c->nresp == 1 && c->r[0].status == 200);
	client_free(c);
	srv_stop();
}

/* Answers a refusal in a shape of its own, except on /silent. */
static void
refusal_cb(struct http_request *req, int err, const char *reason, void *arg)
{
	const char	*path = http_request_path(req);
	char		 body[256];
	int		 n;

	T.nrefusal++;
	T.refusal_err = err;
	snprintf(T.refusal_method, sizeof(T.refusal_method), "%s",
	    http_request_method(req));
	snprintf(T.refusal_path, sizeof(T.refusal_path), "%s", path);
	/* Headers may be incomplete: none are shown. */
	CU_ASSERT_PTR_NULL(http_request_header(req, "Host"));
	if (strcmp(path, "/silent") == 0)
		return;
	http_response_header(req, "X-Refused", "yes");
	n = snprintf(body, sizeof(body), "{\"refused\":\"%s\"}", reason);
	http_respond(req, berr_http_status(err), "application/json", body, n);
}

/* Refused once the target is read: the callback answers. */
static void
expect_shaped(const char *request, int head, int status, int err,
    const char *path)
{
	struct tclient	*c;
	int		 n = T.nrefusal;

	c = client_new();
	c->head[0] = head;
	client_send(c, request);
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	CU_ASSERT_EQUAL(c->r[0].status, status);
	CU_ASSERT(resp_header_is(&c->r[0], "Content-Type",
	    "application/json"));
	CU_ASSERT(resp_header_is(&c->r[0], "X-Refused", "yes"));
	CU_ASSERT(resp_header_is(&c->r[0], "Connection", "close"));
	if (head) {
		CU_ASSERT_EQUAL(c->r[0].blen, 0);
	} else {
		CU_ASSERT(strncmp(c->r[0].body, "{\"refused\":\"", 12) == 0);
	}
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT_EQUAL(T.nrefusal, n + 1);
	CU_ASSERT_EQUAL(T.refusal_err, err);
	CU_ASSERT_STRING_EQUAL(T.refusal_path, path);
	CU_ASSERT_EQUAL(T.last_status, status);
	client_free(c);
}

static void
test_http_refusal_cb(void)
{
	struct http_limits	 l;
	struct evbuffer		*b;
	struct tclient		*c;
	char			 path[600];
	int			 i, j;

	http_limits_default(&l);
	l.max_uri = 512;
	l.header_timeout = 1;
	srv_start(&l);
	http_server_set_refusal_cb(T.srv, refusal_cb, NULL);
	b = evbuffer_new();

	/* A target too long: what arrived of it, up to the limit. */
	evbuffer_add_printf(b, "GET /v2/");
	for (i = 0; i < 600; i++)
		evbuffer_add(b, "a", 1);
	evbuffer_add_printf(b, " HTTP/1.1\r\nHost: x\r\n\r\n");
	evbuffer_add(b, "", 1);
	memset(path, 'a', sizeof(path));
	memcpy(path, "/v2/", 4);
	path[512] = '\0';
	expect_shaped((char *)evbuffer_pullup(b, -1), 0, 414,
	    BERR_URI_TOO_LONG, path);
	evbuffer_drain(b, evbuffer_get_length(b));
	CU_ASSERT_STRING_EQUAL(T.refusal_method, "GET");

	/* 101 header lines, and the same for HEAD: no body. */
	for (i = 0; i < 2; i++) {
		evbuffer_add_printf(b, "%s /v2/x?q=1 HTTP/1.1\r\n",
		    i == 0 ? "GET" : "HEAD");
		for (j = 0; j < 101; j++)
			evbuffer_add_printf(b, "X-H%d: v\r\n", j);
		evbuffer_add(b, "\r\n\0", 3);
		expect_shaped((char *)evbuffer_pullup(b, -1), i, 431,
		    BERR_HEADERS_TOO_LARGE, "/v2/x");
		evbuffer_drain(b, evbuffer_get_length(b));
	}
	evbuffer_free(b);

	expect_shaped("POST / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n",
	    0, 400, BERR_BAD_REQUEST, "/");
	CU_ASSERT_STRING_EQUAL(T.refusal_method, "POST");
	expect_shaped("GET /a%zzb?x HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400,
	    BERR_BAD_REQUEST, "/a%zzb");
	expect_shaped("GET /v2/ HTTP/2.0\r\nHost: x\r\n\r\n", 0, 505,
	    BERR_HTTP_VERSION, "/v2/");

	/* The header timeout, once the target is in. */
	c = client_new();
	client_send(c, "GET /v2/slow HTTP/1.1\r\n");
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	CU_ASSERT_EQUAL(c->r[0].status, 408);
	CU_ASSERT(resp_header_is(&c->r[0], "X-Refused", "yes"));
	CU_ASSERT_EQUAL(T.refusal_err, BERR_REQUEST_TIMEOUT);
	CU_ASSERT_STRING_EQUAL(T.refusal_path, "/v2/slow");
	client_free(c);

	/* Before the target is known, and when the callback does not
	 * answer: a line of text. */
	i = T.nrefusal;
	expect_refusal("\x01\x02 nonsense\r\n\r\n", 400);
	CU_ASSERT_EQUAL(T.nrefusal, i);
	c = client_new();
	client_send(c, "GET /v2/sl");
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	CU_ASSERT_EQUAL(c->r[0].status, 408);
	CU_ASSERT(resp_header_is(&c->r[0], "Content-Type", "text/plain"));
	CU_ASSERT_EQUAL(T.nrefusal, i);
	client_free(c);
	expect_refusal("GET /silent HTTP/1.1\r\nBad Header: x\r\n\r\n", 400);
	CU_ASSERT_EQUAL(T.nrefusal, i + 1);
	CU_ASSERT_EQUAL(T.nreq, 0);
	srv_stop();
}

int
test_http_limits_register(void)
{
	static const struct harness_test tests[] = {
		{ "refusals", test_http_refusals },
		{ "bad_chunk", test_http_bad_chunk },
		{ "max_connections", test_http_max_connections },
		{ "idle_timeout", test_http_idle_timeout },
		{ "header_timeout", test_http_header_timeout },
		{ "io_timeout", test_http_io_timeout },
		{ "refusal_cb", test_http_refusal_cb },
		{ "host", test_http_host },
		{ "smuggling", test_http_smuggling },
	};
	return harness_register("http_limits", tests, nitems(tests));
}
