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
 * Unit tests of streamed responses (http_respond_start, http_write,
 * http_on_drain, http_end): a body produced as it goes and kept short in
 * memory by the drain callback, a stream broken off (the client sees a
 * short body and the connection close), HEAD, a client gone before the
 * start, and a client that stops reading, cut off after io_timeout while
 * the producer is told at its next drain; a body the handler splices to
 * the socket itself (http_stream_fd, http_wrote), and the client of one
 * going.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <http_parser.h>

#include "util.h"
#include "unit.h"
#include "http_harness.h"

/* A producer of pattern bytes: up to `stop` of `length`, then ends. */
struct pump {
	struct http_request *req;
	uint64_t	 length;
	uint64_t	 stop;
	uint64_t	 pos;
	size_t		 max_queued;
	int		 drains;
	int		 refused;	/* http_write said -1 */
	int		 ended;
};

static void
pump_cb(struct http_request *req, void *arg)
{
	struct pump	*pm = arg;
	uint8_t		 buf[16384];
	size_t		 n, i;

	pm->drains++;
	while (pm->pos < pm->stop) {
		if (http_queued(req) > pm->max_queued)
			pm->max_queued = http_queued(req);
		if (http_queued(req) > 4 * HTTP_STREAM_LOW) {
			http_on_drain(req, pump_cb, pm);
			return;
		}
		n = pm->stop - pm->pos < sizeof(buf) ?
		    (size_t)(pm->stop - pm->pos) : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = pattern(pm->pos + i);
		if (http_write(req, buf, n) == -1) {
			pm->refused = 1;
			break;
		}
		pm->pos += n;
	}
	pm->ended = 1;
	http_end(req, !pm->refused && pm->pos == pm->length);
}

static int
cond_ended(void *arg)
{
	return ((struct pump *)arg)->ended;
}

static int
body_is_pattern(const struct tresp *r, uint64_t len)
{
	uint64_t	 i;

	if (r->blen != len)
		return 0;
	for (i = 0; i < len; i++)
		if ((uint8_t)r->body[i] != pattern(i))
			return 0;
	return 1;
}

static struct http_request *
held_request(struct tclient *c, const char *method)
{
	char	 line[128];

	T.held = NULL;
	snprintf(line, sizeof(line), "%s /hold HTTP/1.1\r\nHost: x\r\n\r\n",
	    method);
	client_send(c, line);
	run_for(100);
	CU_ASSERT_FATAL(T.held != NULL);
	return T.held;
}

static void
test_http_stream_whole(void)
{
	struct tclient	*c;
	struct pump	 pm;
	char		 v[64];

	srv_start(NULL);
	c = client_new();
	memset(&pm, 0, sizeof(pm));
	pm.req = held_request(c, "GET");
	pm.length = pm.stop = 3 * 1024 * 1024 + 17;
	CU_ASSERT_FATAL(http_respond_start(pm.req, 200,
	    "application/octet-stream", pm.length) == 0);
	pump_cb(pm.req, &pm);
	CU_ASSERT(client_wait(c, 1, 10000));
	CU_ASSERT(pm.ended && !pm.refused);
	CU_ASSERT(pm.drains > 1);
	/* The queue stayed short: the producer waited for the client. */
	CU_ASSERT(pm.max_queued <= 4 * HTTP_STREAM_LOW + 16384);
	CU_ASSERT_EQUAL(c->r[0].status, 200);
	CU_ASSERT_STRING_EQUAL(resp_header(&c->r[0], "Content-Length", v,
	    sizeof(v)), "3145745");
	CU_ASSERT(body_is_pattern(&c->r[0], pm.length));
	CU_ASSERT_EQUAL(T.last_out, pm.length);
	/* The connection goes on. */
	client_send(c, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT(client_wait(c, 2, 5000));
	CU_ASSERT_STRING_EQUAL(c->r[1].body, "hello\n");

	/* More than Content-Length is refused. */
	pm.req = held_request(c, "GET");
	CU_ASSERT_FATAL(http_respond_start(pm.req, 200, NULL, 4) == 0);
	CU_ASSERT_EQUAL(http_write(pm.req, "12345", 5), -1);
	CU_ASSERT_EQUAL(http_write(pm.req, "1234", 4), 0);
	http_end(pm.req, 1);
	CU_ASSERT(client_wait(c, 3, 5000));
	CU_ASSERT_STRING_EQUAL(c->r[2].body, "1234");
	client_free(c);
	srv_stop();
}

static void
test_http_stream_broken(void)
{
	struct tclient	*c;
	struct pump	 pm;

	srv_start(NULL);
	c = client_new();
	memset(&pm, 0, sizeof(pm));
	pm.req = held_request(c, "GET");
	pm.length = 1024 * 1024;
	pm.stop = 1000;
	CU_ASSERT_FATAL(http_respond_start(pm.req, 200, NULL, pm.length) ==
	    0);
	pump_cb(pm.req, &pm);
	/* The client gets what was written, then the end: a short body. */
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT_EQUAL(c->nresp, 0);
	CU_ASSERT(body_is_pattern(&c->r[0], 1000));
	CU_ASSERT(run_until(cond_no_connections, NULL, 5000));
	client_free(c);

	/* HEAD: the length, no body; what is written is dropped. */
	c = client_new();
	c->head[0] = 1;
	memset(&pm, 0, sizeof(pm));
	pm.req = held_request(c, "HEAD");
	pm.length = pm.stop = 100000;
	CU_ASSERT_FATAL(http_respond_start(pm.req, 200, NULL, pm.length) ==
	    0);
	pump_cb(pm.req, &pm);
	CU_ASSERT(pm.ended && !pm.refused);
	CU_ASSERT(client_wait(c, 1, 5000));
	CU_ASSERT(resp_header_is(&c->r[0], "Content-Length", "100000"));
	CU_ASSERT_EQUAL(c->r[0].blen, 0);
	CU_ASSERT_EQUAL(T.last_out, 0);
	client_free(c);

	/* A client gone before the start: the request is freed. */
	c = client_new();
	pm.req = held_request(c, "GET");
	client_close(c);
	CU_ASSERT(run_until(cond_no_connections, NULL, 5000));
	CU_ASSERT_EQUAL(http_respond_start(pm.req, 200, NULL, 10), -1);
	CU_ASSERT_EQUAL(T.last_status, 499);
	client_free(c);
	srv_stop();
}

static void
test_http_stream_stalled(void)
{
	struct http_limits l;
	struct pump	 pm;
	const char	*rq = "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n";
	int		 fd;

	http_limits_default(&l);
	l.io_timeout = 1;
	srv_start(&l);
	/* A client that sends its request and never reads the answer. */
	fd = client_connect(4096);
	CU_ASSERT_FATAL(write(fd, rq, strlen(rq)) == (ssize_t)strlen(rq));
	run_for(100);
	CU_ASSERT_FATAL(T.held != NULL);
	memset(&pm, 0, sizeof(pm));
	pm.req = T.held;
	pm.length = pm.stop = 1024ULL * 1024 * 1024;
	CU_ASSERT_FATAL(http_respond_start(pm.req, 200, NULL, pm.length) ==
	    0);
	pump_cb(pm.req, &pm);
	/* The producer waits (memory stays bounded) until the layer cuts the
	 * client off; its next drain tells it. */
	CU_ASSERT(run_until(cond_ended, &pm, 30000));
	CU_ASSERT(pm.refused);
	CU_ASSERT(pm.pos < pm.length);
	CU_ASSERT(pm.max_queued <= 4 * HTTP_STREAM_LOW + 16384);
	CU_ASSERT(run_until(cond_no_connections, NULL, 5000));
	CU_ASSERT_EQUAL(T.last_status, 200);
	close(fd);
	srv_stop();
}

static void
own_drain_cb(struct http_request *req, void *arg)
{
	(*(int *)arg)++;
}

/* Splices len pattern bytes from offset off to the client's socket, as
 * the pull-through cache does. */
static void
own_splice(struct http_request *req, uint64_t off, uint64_t len)
{
	const struct timeval *tv;
	uint8_t		 buf[8192];
	size_t		 n, i, inpipe = 0;
	ssize_t		 w;
	int		 p[2], fd;

	CU_ASSERT_FATAL(pipe2(p, O_NONBLOCK) == 0);
	while (len > 0 || inpipe > 0) {
		if (inpipe == 0) {
			n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
			for (i = 0; i < n; i++)
				buf[i] = pattern(off + i);
			CU_ASSERT_FATAL(write(p[1], buf, n) == (ssize_t)n);
			inpipe = n;
			off += n;
			len -= n;
		}
		CU_ASSERT_FATAL((fd = http_stream_fd(req, &tv)) != -1);
		if (http_queued(req) > 0) {
			run_for(10);
			continue;
		}
		w = splice(p[0], NULL, fd, NULL, inpipe, SPLICE_F_NONBLOCK);
		if (w == -1 && errno == EAGAIN) {
			run_for(10);
			continue;
		}
		CU_ASSERT_FATAL(w > 0);
		CU_ASSERT_FATAL(http_wrote(req, (size_t)w) == 0);
		inpipe -= (size_t)w;
	}
	close(p[0]);
	close(p[1]);
}

static void
test_http_stream_own(void)
{
	struct http_request *req;
	const struct timeval *tv;
	struct tclient	*c;
	uint64_t	 length = 2 * 1024 * 1024 + 5;
	uint8_t		 last;
	int		 gone = 0;

	srv_start(NULL);
	c = client_new();
	req = held_request(c, "GET");
	CU_ASSERT_FATAL(http_respond_start(req, 200, NULL, length) == 0);
	/* All but the last byte spliced, the last one written. */
	own_splice(req, 0, length - 1);
	CU_ASSERT_EQUAL(http_wrote(req, 2), -1);	/* past the length */
	last = pattern(length - 1);
	CU_ASSERT(http_write(req, &last, 1) == 0);
	http_end(req, 1);
	CU_ASSERT(client_wait(c, 1, 10000));
	CU_ASSERT(body_is_pattern(&c->r[0], length));
	CU_ASSERT_EQUAL(T.last_out, length);
	/* The connection goes on. */
	client_send(c, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT(client_wait(c, 2, 5000));
	CU_ASSERT_STRING_EQUAL(c->r[1].body, "hello\n");

	/* The drain callback comes only once the client has gone. */
	req = held_request(c, "GET");
	CU_ASSERT_FATAL(http_respond_start(req, 200, NULL, length) == 0);
	own_splice(req, 0, 1000);
	http_on_drain(req, own_drain_cb, &gone);
	run_for(100);
	CU_ASSERT_EQUAL(gone, 0);
	client_close(c);
	CU_ASSERT(run_until(cond_no_connections, NULL, 5000));
	CU_ASSERT_EQUAL(gone, 1);
	errno = 0;
	CU_ASSERT(http_stream_fd(req, &tv) == -1 && errno == EPIPE);
	http_end(req, 0);
	client_free(c);

	/* HEAD: no socket for a body. */
	c = client_new();
	c->head[0] = 1;
	req = held_request(c, "HEAD");
	CU_ASSERT_FATAL(http_respond_start(req, 200, NULL, 10) == 0);
	errno = 0;
	CU_ASSERT(http_stream_fd(req, &tv) == -1 && errno == EPIPE);
	CU_ASSERT(http_write(req, "0123456789", 10) == 0);
	http_end(req, 1);
	CU_ASSERT(client_wait(c, 1, 5000));
	CU_ASSERT(resp_header_is(&c->r[0], "Content-Length", "10"));
	client_free(c);
	srv_stop();
}

int
test_http_stream_register(void)
{
	static const struct harness_test tests[] = {
		{ "whole", test_http_stream_whole },
		{ "broken", test_http_stream_broken },
		{ "stalled", test_http_stream_stalled },
		{ "own", test_http_stream_own },
	};

	return harness_register("http_stream", tests, nitems(tests));
}
