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
 * The HTTP layer against real sockets: requests and their accessors,
 * responses of every kind, keep-alive and pipelining, bodies in memory
 * and streamed into a descriptor, answers after the client left, drain
 * and memory.  Limits and refusals are test_http_limits.c's.
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
test_http_get(void)
{
	struct tclient	*c;
	struct tresp	*r;
	char		 buf[256];

	srv_start(NULL);
	c = simple("GET /badheader HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	CU_ASSERT_EQUAL(c->r[0].status, 200);
	CU_ASSERT(strstr(c->r[0].hdr, "Injected") == NULL);
	CU_ASSERT(strstr(c->r[0].hdr, "X-Bad") == NULL);
	client_free(c);
	c = simple("GET /echo/a%20b%2Fc?a=x+y%21&r=1&r=2&n HTTP/1.1\r\n"
	    "Host: x\r\nX-Trim:   padded  \t\r\n\r\n", 1);
	CU_ASSERT_EQUAL_FATAL(c->nresp, 1);
	r = &c->r[0];
	CU_ASSERT_EQUAL(r->status, 200);
	CU_ASSERT_STRING_EQUAL(r->body, "hello\n");
	CU_ASSERT(resp_header_is(r, "Content-Length", "6"));
	CU_ASSERT(resp_header_is(r, "Content-Type", "text/plain"));
	CU_ASSERT(resp_header_is(r, "Server", "berth/" PACKAGE_VERSION));
	CU_ASSERT(resp_header(r, "Date", buf, sizeof(buf)) != NULL &&
	    strlen(buf) == 29 && strcmp(buf + 25, " GMT") == 0);
	CU_ASSERT(resp_header(r, "Connection", buf, sizeof(buf)) == NULL);
	CU_ASSERT(resp_header_is(r, "X-Method", "GET"));
	CU_ASSERT(resp_header_is(r, "X-Path", "/echo/a b/c"));
	CU_ASSERT(resp_header_is(r, "X-Query", "a=x+y%21&r=1&r=2&n"));
	CU_ASSERT(resp_header_is(r, "X-Param-A", "x y!"));
	CU_ASSERT(resp_header_is(r, "X-Param-N", ""));
	CU_ASSERT(resp_header_is(r, "X-Params-R", "2:1:2"));
	CU_ASSERT(resp_header_is(r, "X-Trim", "[padded]"));
	CU_ASSERT(resp_header_is(r, "X-Loopback", "1"));
	CU_ASSERT(resp_header_is(r, "X-Peer-Ok", "1"));
	CU_ASSERT(resp_header_is(r, "X-CL", "-1"));
	CU_ASSERT(resp_header_is(r, "X-Has-Body", "0"));
	CU_ASSERT(strstr(r->hdr, "Injected") == NULL);
	CU_ASSERT(strstr(r->hdr, "999") == NULL);
	CU_ASSERT_EQUAL(T.nsummary, 2);
	CU_ASSERT_EQUAL(T.last_status, 200);
	CU_ASSERT_STRING_EQUAL(T.last_method, "GET");
	CU_ASSERT_STRING_EQUAL(T.last_path, "/echo/a%20b%2Fc");
	CU_ASSERT_EQUAL(T.last_out, 6);
	CU_ASSERT_EQUAL(http_server_connections(T.srv), 1);
	client_free(c);
	srv_stop();
}

static void
test_http_head(void)
{
	struct tclient	*c;

	srv_start(NULL);
	c = client_new();
	c->head[0] = 1;
	client_send(c, "HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	CU_ASSERT_EQUAL(c->r[0].status, 200);
	CU_ASSERT(resp_header_is(&c->r[0], "Content-Length", "100000"));
	CU_ASSERT_EQUAL(c->r[0].blen, 0);
	CU_ASSERT_EQUAL(T.last_out, 0);
	/* Had a body followed, it would be parsed as the next response. */
	client_send(c, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 2, 5000));
	CU_ASSERT_EQUAL(c->r[1].status, 200);
	CU_ASSERT_STRING_EQUAL(c->r[1].body, "hello\n");
	c->head[2] = 1;
	client_send(c, "HEAD /length HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 3, 5000));
	CU_ASSERT(resp_header_is(&c->r[2], "Content-Length", "123456789"));
	client_send(c, "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 4, 5000));
	CU_ASSERT_EQUAL(c->r[3].status, 204);
	CU_ASSERT(strstr(c->r[3].hdr, "Content-Length") == NULL);
	client_send(c, "GET /evbuf HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 5, 5000));
	CU_ASSERT_STRING_EQUAL(c->r[4].body, "evbuffer body\n");
	CU_ASSERT_EQUAL(c->eof, 0);
	client_free(c);
	srv_stop();
}

static void
test_http_file(void)
{
	struct tclient	*c;
	char		*dir, path[512], data[8192];
	size_t		 i;
	int		 fd, ok = 1;

	srv_start(NULL);
	dir = unit_tmpdir();
	snprintf(path, sizeof(path), "%s/blob", dir);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)pattern(i);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_FATAL(write_full(fd, data, sizeof(data)) == 0);
	T.seg = evbuffer_file_segment_new(fd, 0, sizeof(data),
	    EVBUF_FS_CLOSE_ON_FREE);
	CU_ASSERT_FATAL(T.seg != NULL);
	c = client_new();
	client_send(c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
	c->head[1] = 1;
	client_send(c, "HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n");
	client_send(c, "GET /file HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 3, 5000));
	/* The layer holds its own reference: ours can go now. */
	evbuffer_file_segment_free(T.seg);
	T.seg = NULL;
	CU_ASSERT_EQUAL(c->r[0].status, 206);
	CU_ASSERT(resp_header_is(&c->r[0], "Content-Length", "5000"));
	CU_ASSERT_EQUAL_FATAL(c->r[0].blen, 5000);
	for (i = 0; i < 5000; i++)
		if (c->r[0].body[i] != data[1000 + i])
			ok = 0;
	CU_ASSERT(ok);
	CU_ASSERT(resp_header_is(&c->r[1], "Content-Length", "5000"));
	CU_ASSERT_EQUAL(c->r[1].blen, 0);
	CU_ASSERT_EQUAL(c->r[2].blen, 5000);
	CU_ASSERT(memcmp(c->r[2].body, c->r[0].body, 5000) == 0);
	CU_ASSERT_EQUAL(T.last_out, 5000);

	/* A handler cannot send a 1xx as its answer. */
	client_send(c, "GET /status1xx HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 4, 5000));
	CU_ASSERT_EQUAL(c->r[3].status, 500);
	client_free(c);
	unit_rmtree(dir);
	free(dir);
	srv_stop();
}

static void
test_http_keepalive(void)
{
	struct tclient	*c;
	char		 buf[64];

	srv_start(NULL);
	c = client_new();
	client_send(c, "GET /echo?n=1 HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	client_send(c, "GET /echo?n=2 HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 2, 5000));
	CU_ASSERT(resp_header_is(&c->r[0], "X-Param-N", "1"));
	CU_ASSERT(resp_header_is(&c->r[1], "X-Param-N", "2"));
	CU_ASSERT_EQUAL(c->eof, 0);
	CU_ASSERT_EQUAL(T.nsummary, 2);

	/* The client's "Connection: close" is honoured. */
	client_send(c, "GET /echo?n=3 HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 3, 5000));
	CU_ASSERT(resp_header_is(&c->r[2], "Connection", "close"));
	CU_ASSERT(run_until(cond_eof, c, 5000));
	client_free(c);

	/* And the handler's. */
	c = simple("GET /close HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	CU_ASSERT(resp_header_is(&c->r[0], "Connection", "close"));
	CU_ASSERT(run_until(cond_eof, c, 5000));
	client_free(c);

	/* HTTP/1.0 closes unless asked to keep alive. */
	c = simple("GET /echo HTTP/1.0\r\n\r\n", 1);
	CU_ASSERT_EQUAL(c->r[0].status, 200);
	CU_ASSERT(resp_header_is(&c->r[0], "Connection", "close"));
	CU_ASSERT(run_until(cond_eof, c, 5000));
	client_free(c);
	c = simple("GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1);
	CU_ASSERT(resp_header_is(&c->r[0], "Connection", "keep-alive"));
	client_send(c, "GET /echo?n=5 HTTP/1.0\r\n"
	    "Connection: keep-alive\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 2, 5000));
	CU_ASSERT(resp_header_is(&c->r[1], "X-Param-N", "5"));
	CU_ASSERT(resp_header(&c->r[1], "Date", buf, sizeof(buf)) != NULL);
	CU_ASSERT_EQUAL(c->eof, 0);
	client_free(c);
	srv_stop();
}

static void
test_http_pipeline(void)
{
	struct tclient	*c;

	srv_start(NULL);
	c = client_new();
	/* The second one's body is never asked for: read and dropped. */
	client_send(c,
	    "GET /later HTTP/1.1\r\nHost: x\r\n\r\n"
	    "POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
	    "GET /echo?n=3 HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /echo?n=4 HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 4, 5000));
	CU_ASSERT_STRING_EQUAL(c->r[0].body, "later\n");
	CU_ASSERT_EQUAL(c->r[1].status, 401);
	CU_ASSERT(resp_header_is(&c->r[2], "X-Param-N", "3"));
	CU_ASSERT(resp_header_is(&c->r[3], "X-Param-N", "4"));
	CU_ASSERT_EQUAL(c->eof, 0);
	CU_ASSERT_EQUAL(T.nreq, 4);
	client_free(c);
	srv_stop();
}

static void
test_http_multi_headers(void)
{
	struct tclient	*c;

	srv_start(NULL);
	c = simple("GET /echo HTTP/1.1\r\nHost: x\r\n"
	    "Accept: a/1\r\nAccept: a/2\r\naccept: a/3\r\n"
	    "ACCEPT: a/4\r\nAccept: a/5\r\nAccept: a/6\r\n\r\n", 1);
	CU_ASSERT_EQUAL_FATAL(c->nresp, 1);
	CU_ASSERT(resp_header_is(&c->r[0], "X-Accept", "6:a/1:a/6"));
	client_free(c);
	srv_stop();
}

static void
test_http_chunked_read_body(void)
{
	struct tclient	*c;

	srv_start(NULL);
	c = simple("POST /body HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5;ext=1;other=\"q\"\r\nhello\r\n"
	    "1\r\n \r\n"
	    "6\r\nworld!\r\n"
	    "0\r\nX-Trailer: yes\r\nX-More: 1\r\n\r\n", 1);
	CU_ASSERT_EQUAL_FATAL(c->nresp, 1);
	CU_ASSERT_EQUAL(c->r[0].status, 200);
	CU_ASSERT_STRING_EQUAL(c->r[0].body, "hello world!");
	CU_ASSERT_EQUAL(T.body_calls, 1);
	CU_ASSERT_EQUAL(T.body_err, 0);
	CU_ASSERT(T.body_nul);
	CU_ASSERT_EQUAL(T.last_in, 12);
	/* The connection goes on after a chunked body. */
	client_send(c, "POST /body HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 3\r\n\r\nabc");
	CU_ASSERT_FATAL(client_wait(c, 2, 5000));
	CU_ASSERT_STRING_EQUAL(c->r[1].body, "abc");
	/* A body-less request asking for its body gets an empty one. */
	client_send(c, "GET /body HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 3, 5000));
	CU_ASSERT_EQUAL(c->r[2].status, 200);
	CU_ASSERT_EQUAL(c->r[2].blen, 0);
	CU_ASSERT_EQUAL(T.body_calls, 3);
	client_free(c);
	srv_stop();
}

static void
test_http_body_to_fd(void)
{
	struct tclient	*c;
	uint64_t	 total = 4 * 1024 * 1024 + 17;
	char		 req[256];
	int		 chunked;

	for (chunked = 0; chunked <= 1; chunked++) {
		srv_start(NULL);
		pipe_open();
		c = client_new();
		if (chunked)
			snprintf(req, sizeof(req), "PUT /fd HTTP/1.1\r\n"
			    "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n");
		else
			snprintf(req, sizeof(req), "PUT /fd HTTP/1.1\r\n"
			    "Host: x\r\nContent-Length: %llu\r\n\r\n",
			    (unsigned long long)total);
		client_send(c, req);
		client_upload(c, total, chunked);
		/* Nobody reads the pipe yet: the client must be held off. */
		run_for(300);
		CU_ASSERT_FATAL(T.cur != NULL);
		CU_ASSERT(http_request_body_received(T.cur) < 512 * 1024);
		CU_ASSERT_EQUAL(T.fd_calls, 0);
		pipe_start_reading();
		CU_ASSERT(client_wait(c, 1, 20000));
		CU_ASSERT(run_until(cond_pipe_eof, NULL, 5000));
		CU_ASSERT_EQUAL(c->r[0].status, 201);
		CU_ASSERT_EQUAL(T.fd_calls, 1);
		CU_ASSERT_EQUAL(T.fd_err, 0);
		CU_ASSERT_EQUAL(T.fd_received, total);
		CU_ASSERT_EQUAL(T.pipe_pos, total);
		CU_ASSERT_EQUAL(T.pipe_bad, 0);
		CU_ASSERT_EQUAL(T.last_in, total);
		/* And the connection is still usable. */
		client_send(c, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
		CU_ASSERT(client_wait(c, 2, 5000));
		CU_ASSERT_EQUAL(c->r[1].status, 200);
		client_free(c);
		srv_stop();
	}
}

/*
 * A body of known length is spliced into its descriptor once the bytes
 * read with its head are parsed: it must stop where its length says, so
 * that the request sent right after it, in the same stream, is read as a
 * request.  Twice: with the pipe read at once, and with it full first.
 */
static void
test_http_body_to_fd_pipelined(void)
{
	struct tclient	*c;
	struct evbuffer	*out;
	size_t		 total = 3 * 1024 * 1024 + 5, i;
	char		*body, head[128];
	const char	*next = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
	int		 late;

	body = xmalloc(total);
	for (i = 0; i < total; i++)
		body[i] = (char)pattern(i);
	for (late = 0; late <= 1; late++) {
		srv_start(NULL);
		pipe_open();
		if (!late)
			pipe_start_reading();
		c = client_new();
		snprintf(head, sizeof(head), "PUT /fd HTTP/1.1\r\nHost: x\r\n"
		    "Content-Length: %zu\r\n\r\n", total);
		out = bufferevent_get_output(c->bev);
		evbuffer_add(out, head, strlen(head));
		evbuffer_add(out, body, total);
		evbuffer_add(out, next, strlen(next));
		if (late) {
			run_for(200);
			CU_ASSERT_EQUAL(T.fd_calls, 0);
			pipe_start_reading();
		}
		CU_ASSERT_FATAL(client_wait(c, 2, 20000));
		CU_ASSERT_EQUAL(c->r[0].status, 201);
		CU_ASSERT_EQUAL(c->r[1].status, 200);
		CU_ASSERT(run_until(cond_pipe_eof, NULL, 5000));
		CU_ASSERT_EQUAL(T.fd_calls, 1);
		CU_ASSERT_EQUAL(T.fd_err, 0);
		CU_ASSERT_EQUAL(T.fd_received, total);
		CU_ASSERT_EQUAL(T.pipe_pos, total);
		CU_ASSERT_EQUAL(T.pipe_bad, 0);
		client_free(c);
		srv_stop();
	}
	free(body);
}

static void
test_http_body_to_fd_epipe(void)
{
	struct tclient	*c;

	srv_start(NULL);
	pipe_open();
	close(T.pipe_r);
	T.pipe_r = -1;
	c = client_new();
	client_send(c, "PUT /fd HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1048576\r\n\r\n");
	client_upload(c, 1048576, 0);
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	CU_ASSERT_EQUAL(c->r[0].status, 500);
	CU_ASSERT_EQUAL(T.fd_calls, 1);
	CU_ASSERT_EQUAL(T.fd_err, BERR_IO);
	/* Too much left to drop: the connection closes. */
	CU_ASSERT(resp_header_is(&c->r[0], "Connection", "close"));
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT(run_until(cond_no_connections, NULL, 5000));
	CU_ASSERT_EQUAL(T.fd_calls, 1);
	client_free(c);
	srv_stop();
}

static void
test_http_body_fd_client_gone(void)
{
	struct tclient	*c;

	srv_start(NULL);
	pipe_open();
	pipe_start_reading();
	c = client_new();
	client_send(c, "PUT /fd HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1000000\r\n\r\n");
	client_upload(c, 300000, 0);
	run_until(cond_pipe_eof, NULL, 300);
	CU_ASSERT_EQUAL(T.fd_calls, 0);
	client_close(c);
	CU_ASSERT(run_until(cond_pipe_eof, NULL, 5000));
	CU_ASSERT_EQUAL(T.fd_calls, 1);
	CU_ASSERT_EQUAL(T.fd_err, BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(T.pipe_pos, 300000);
	CU_ASSERT_EQUAL(T.pipe_bad, 0);
	run_for(50);
	CU_ASSERT_EQUAL(http_server_connections(T.srv), 0);
	client_free(c);
	srv_stop();
}

static void
test_http_too_large(void)
{
	struct tclient	*c;

	srv_start(NULL);
	T.body_limit = 16;
	/* Known up front: refused before a byte of it is read. */
	c = client_new();
	client_send(c, "POST /body HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 100\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	CU_ASSERT_EQUAL(c->r[0].status, 413);
	CU_ASSERT_EQUAL(T.body_err, BERR_TOO_LARGE);
	CU_ASSERT_EQUAL(T.body_calls, 1);
	client_free(c);

	/* Chunked: found out while it arrives; the connection closes. */
	c = client_new();
	client_send(c, "POST /body HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "10\r\n0123456789abcdef\r\n"
	    "10\r\n0123456789abcdef\r\n");
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	CU_ASSERT_EQUAL(c->r[0].status, 413);
	CU_ASSERT_EQUAL(T.body_err, BERR_TOO_LARGE);
	CU_ASSERT_EQUAL(T.body_calls, 2);
	CU_ASSERT(resp_header_is(&c->r[0], "Connection", "close"));
	CU_ASSERT(run_until(cond_eof, c, 5000));
	client_free(c);
	srv_stop();
}

static void
test_http_expect_continue(void)
{
	struct tclient	*c;

	srv_start(NULL);
	c = client_new();
	client_send(c, "PUT /body HTTP/1.1\r\nHost: x\r\n"
	    "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n");
	CU_ASSERT(run_until(cond_continue, c, 5000));
	CU_ASSERT_EQUAL(c->ncontinue, 1);
	CU_ASSERT_EQUAL(c->nresp, 0);
	client_send(c, "hello");
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	CU_ASSERT_EQUAL(c->r[0].status, 200);
	CU_ASSERT_STRING_EQUAL(c->r[0].body, "hello");
	client_free(c);

	/* Refused from its headers: no 100, and the body is never sent. */
	c = client_new();
	client_send(c, "PUT /refuse HTTP/1.1\r\nHost: x\r\n"
	    "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	CU_ASSERT_EQUAL(c->ncontinue, 0);
	CU_ASSERT_EQUAL(c->r[0].status, 401);
	CU_ASSERT(resp_header_is(&c->r[0], "Connection", "close"));
	CU_ASSERT(run_until(cond_eof, c, 5000));
	client_free(c);

	/* Too large up front: no 100 either. */
	T.body_limit = 2;
	c = client_new();
	client_send(c, "PUT /body HTTP/1.1\r\nHost: x\r\n"
	    "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n");
	CU_ASSERT_FATAL(client_wait(c, 1, 5000));
	CU_ASSERT_EQUAL(c->ncontinue, 0);
	CU_ASSERT_EQUAL(c->r[0].status, 413);
	client_free(c);
	srv_stop();
}

static void
test_http_async(void)
{
	struct tclient	*c;
	int64_t		 t0;

	srv_start(NULL);
	t0 = mono_ms();
	c = simple("GET /later HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	CU_ASSERT_EQUAL_FATAL(c->nresp, 1);
	CU_ASSERT_STRING_EQUAL(c->r[0].body, "later\n");
	CU_ASSERT(ms_since(t0) >= 150);
	client_free(c);

	/* A second response is a bug: ignored. */
	c = simple("GET /twice HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	CU_ASSERT_STRING_EQUAL(c->r[0].body, "one\n");
	client_send(c, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT(client_wait(c, 2, 5000));
	CU_ASSERT_STRING_EQUAL(c->r[1].body, "hello\n");
	client_free(c);
	srv_stop();
}

static void
test_http_client_vanished(void)
{
	struct tclient	*c;
	int		 n;

	srv_start(NULL);
	c = client_new();
	client_send(c, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
	run_for(100);
	CU_ASSERT_FATAL(T.held != NULL);
	CU_ASSERT_EQUAL(http_request_gone(T.held), 0);
	client_close(c);
	CU_ASSERT(run_until(cond_no_connections, NULL, 5000));
	CU_ASSERT_EQUAL(http_request_gone(T.held), 1);
	CU_ASSERT_STRING_EQUAL(http_request_path(T.held), "/hold");
	n = T.nsummary;
	http_respond(T.held, 200, "text/plain", "nobody\n", 7);
	CU_ASSERT_EQUAL(T.nsummary, n + 1);
	CU_ASSERT_EQUAL(T.last_status, 499);
	client_free(c);

	/* A body asked for after the client left reports it gone. */
	T.held = NULL;
	c = client_new();
	client_send(c, "POST /hold HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 10\r\n\r\n12345");
	run_for(100);
	CU_ASSERT_FATAL(T.held != NULL);
	client_close(c);
	run_for(100);
	http_request_read_body(T.held, 100, body_done_cb, NULL);
	CU_ASSERT_EQUAL(T.body_calls, 0);
	CU_ASSERT(run_until(cond_no_connections, NULL, 5000));
	CU_ASSERT_EQUAL(T.body_calls, 1);
	CU_ASSERT_EQUAL(T.body_err, BERR_BAD_REQUEST);
	client_free(c);

	/* Freeing the server leaves a held request answerable. */
	T.held = NULL;
	c = client_new();
	client_send(c, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
	run_for(100);
	CU_ASSERT_FATAL(T.held != NULL);
	http_server_free(T.srv);
	T.srv = NULL;
	CU_ASSERT_EQUAL(http_request_gone(T.held), 1);
	http_respond(T.held, 200, NULL, NULL, 0);
	client_free(c);
	srv_stop();
}

static int
connect_refused(void)
{
	struct sockaddr_in	 sin;
	int			 fd, rc;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(T.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return rc == -1 && errno == ECONNREFUSED;
}

static void
drain_done_cb(void *arg)
{
	T.drained++;
}

static void
test_http_drain(void)
{
	struct tclient	*idle, *busy;

	srv_start(NULL);
	idle = simple("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	busy = client_new();
	client_send(busy, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
	run_for(100);
	CU_ASSERT_FATAL(T.held != NULL);
	http_server_drain(T.srv, 10, drain_done_cb, NULL);
	CU_ASSERT(run_until(cond_eof, idle, 5000));
	CU_ASSERT_EQUAL(T.drained, 0);
	CU_ASSERT_EQUAL(busy->eof, 0);
	http_respond(T.held, 200, "text/plain", "done\n", 5);
	CU_ASSERT(client_wait(busy, 1, 5000));
	CU_ASSERT(resp_header_is(&busy->r[0], "Connection", "close"));
	CU_ASSERT(run_until(cond_eof, busy, 5000));
	run_for(50);
	CU_ASSERT_EQUAL(T.drained, 1);
	/* Nobody listens any more. */
	CU_ASSERT(connect_refused());
	client_free(idle);
	client_free(busy);
	srv_stop();
}

static void
test_http_drain_timeout(void)
{
	struct tclient	*busy;
	int64_t		 t0;

	srv_start(NULL);
	busy = client_new();
	client_send(busy, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
	run_for(100);
	CU_ASSERT_FATAL(T.held != NULL);
	t0 = mono_ms();
	http_server_drain(T.srv, 1, drain_done_cb, NULL);
	CU_ASSERT(run_until(cond_eof, busy, 5000));
	run_for(50);
	CU_ASSERT(ms_since(t0) >= 900);
	CU_ASSERT_EQUAL(T.drained, 1);
	CU_ASSERT_EQUAL(http_request_gone(T.held), 1);
	http_respond(T.held, 200, NULL, NULL, 0);
	client_free(busy);
	srv_stop();
}

/* Streams a big chunked body: memory must not follow its size. */
static void
test_http_memory_bound(void)
{
#ifndef UNIT_ASAN
	struct rusage	 ru;
	struct tclient	*c;
	uint64_t	 total = 256ULL * 1024 * 1024;
	long		 before;

	srv_start(NULL);
	pipe_open();
	T.pipe_const = 1;
	pipe_start_reading();
	c = client_new();
	c->up_const = 1;
	getrusage(RUSAGE_SELF, &ru);
	before = ru.ru_maxrss;
	client_send(c, "PUT /fd HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	client_upload(c, total, 1);
	CU_ASSERT(client_wait(c, 1, 60000));
	CU_ASSERT(run_until(cond_pipe_eof, NULL, 5000));
	CU_ASSERT_EQUAL(c->r[0].status, 201);
	CU_ASSERT_EQUAL(T.pipe_pos, total);
	getrusage(RUSAGE_SELF, &ru);
	CU_ASSERT(ru.ru_maxrss - before < 16 * 1024);
	client_free(c);
	srv_stop();
#endif
}

static void
test_http_listen(void)
{
	struct http_server	*srv;
	struct event_base	*base = event_base_new();
	int			 fd;

	srv = http_server_new(base, NULL, test_handler, NULL);
	CU_ASSERT_EQUAL(http_server_listen(srv, "nonsense"), -1);
	CU_ASSERT_EQUAL(http_server_listen(srv, "127.0.0.1:99999"), -1);
	CU_ASSERT_EQUAL(http_server_listen(srv, "[::1:80"), -1);
	CU_ASSERT_EQUAL(http_server_listen(srv, "127.0.0.1:"), -1);
	CU_ASSERT_EQUAL(http_server_port(srv), 0);
	CU_ASSERT_EQUAL(http_server_listen(srv, "localhost:0"), 0);
	CU_ASSERT(http_server_port(srv) > 0);
	/* Where the host has IPv6 at all. */
	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) != -1) {
		close(fd);
		CU_ASSERT_EQUAL(http_server_listen(srv, "[::1]:0"), 0);
	}
	http_server_free(srv);
	event_base_free(base);
}

/* An IPv4 client of a dual-stack listener is ::ffff:127.0.0.1. */
static void
test_http_mapped_loopback(void)
{
	struct http_limits	 l;
	struct tclient		*c;
	int			 fd;

	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		return;
	close(fd);
	http_limits_default(&l);
	memset(&T, 0, sizeof(T));
	T.pipe_r = T.pipe_w = -1;
	T.big = xmalloc(TEST_BIG);
	T.base = event_base_new();
	T.srv = http_server_new(T.base, &l, test_handler, NULL);
	if (http_server_listen(T.srv, "[::]:0") == -1) {
		srv_stop();
		return;
	}
	T.port = http_server_port(T.srv);
	c = simple("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	CU_ASSERT_EQUAL_FATAL(c->nresp, 1);
	CU_ASSERT(resp_header_is(&c->r[0], "X-Loopback", "1"));
	client_free(c);
	srv_stop();
}

int
test_http_register(void)
{
	static const struct harness_test tests[] = {
		{ "get", test_http_get },
		{ "head", test_http_head },
		{ "file", test_http_file },
		{ "keepalive", test_http_keepalive },
		{ "pipeline", test_http_pipeline },
		{ "multi_headers", test_http_multi_headers },
		{ "chunked_read_body", test_http_chunked_read_body },
		{ "body_to_fd", test_http_body_to_fd },
		{ "body_to_fd_pipelined", test_http_body_to_fd_pipelined },
		{ "body_to_fd_epipe", test_http_body_to_fd_epipe },
		{ "body_fd_client_gone", test_http_body_fd_client_gone },
		{ "too_large", test_http_too_large },
		{ "expect_continue", test_http_expect_continue },
		{ "async", test_http_async },
		{ "client_vanished", test_http_client_vanished },
		{ "drain", test_http_drain },
		{ "drain_timeout", test_http_drain_timeout },
		{ "memory_bound", test_http_memory_bound },
		{ "listen", test_http_listen },
		{ "mapped_loopback", test_http_mapped_loopback },
	};
	return harness_register("http", tests, nitems(tests));
}
