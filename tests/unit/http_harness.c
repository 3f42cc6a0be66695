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
 * The unit tests' HTTP harness (http_harness.h): the test server's
 * handler and callbacks, a client that parses responses with
 * http-parser, and the pipe a streamed body goes into.
 */
#include "config.h"

#include <sys/types.h>
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
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <http_parser.h>

#include "error.h"
#include "util.h"
#include "unit.h"
#include "http_harness.h"

struct http_test	 T;

uint8_t
pattern(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 11 ^ i >> 16);
}

/* --- the test server ------------------------------------------------------ */

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	http_respond(arg, 200, "text/plain", "later\n", 6);
}

void
body_done_cb(struct http_request *req, int err, void *arg)
{
	const char	*body;
	size_t		 len;

	T.body_calls++;
	T.body_err = err;
	if (err != 0) {
		http_respond(req, berr_http_status(err), "text/plain", "no\n",
		    3);
		return;
	}
	body = http_request_body(req, &len);
	T.body_nul = body != NULL && body[len] == '\0';
	http_respond(req, 200, "application/octet-stream", body, len);
}

static void
fd_done_cb(struct http_request *req, int err, void *arg)
{
	T.fd_calls++;
	T.fd_err = err;
	T.fd_received = http_request_body_received(req);
	http_respond(req, err == 0 ? 201 : 500, NULL, NULL, 0);
}

void
test_handler(struct http_request *req, void *arg)
{
	const char		*path = http_request_path(req);
	const char		*vals[8], *v;
	static struct timeval	 tv = { 0, 200000 };
	size_t			 n;
	int			 fd;

	T.nreq++;
	T.cur = req;
	http_request_set_class(req, "test");
	if (strcmp(path, "/body") == 0) {
		http_request_read_body(req, T.body_limit, body_done_cb, NULL);
		return;
	}
	if (strcmp(path, "/fd") == 0) {
		fd = T.pipe_w;
		T.pipe_w = -1;
		http_request_body_to_fd(req, fd, SIZE_MAX, fd_done_cb, NULL);
		return;
	}
	if (strcmp(path, "/refuse") == 0) {
		http_respond(req, 401, "text/plain", "denied\n", 7);
		return;
	}
	if (strcmp(path, "/later") == 0) {
		event_base_once(T.base, -1, EV_TIMEOUT, later_cb, req, &tv);
		return;
	}
	if (strcmp(path, "/hold") == 0) {
		if (T.held == NULL)
			T.held = req;
		else
			T.held2 = req;
		return;
	}
	if (strcmp(path, "/twice") == 0) {
		http_respond(req, 200, "text/plain", "one\n", 4);
		http_respond(req, 500, "text/plain", "two\n", 4);
		return;
	}
	if (strcmp(path, "/big") == 0) {
		http_respond(req, 200, "application/octet-stream", T.big,
		    TEST_BIG);
		return;
	}
	if (strcmp(path, "/evbuf") == 0) {
		struct evbuffer *b = evbuffer_new();

		evbuffer_add_printf(b, "evbuffer body\n");
		http_respond_evbuffer(req, 200, "text/plain", b);
		evbuffer_free(b);
		return;
	}
	if (strcmp(path, "/length") == 0) {
		http_respond_length(req, 200, "application/octet-stream",
		    123456789);
		return;
	}
	if (strcmp(path, "/file") == 0) {
		http_respond_file(req, 206, "application/octet-stream", T.seg,
		    1000, 5000);
		return;
	}
	if (strcmp(path, "/status1xx") == 0) {
		http_respond(req, 101, NULL, NULL, 0);
		return;
	}
	if (strcmp(path, "/empty") == 0) {
		http_respond(req, 204, NULL, NULL, 0);
		return;
	}
	if (strcmp(path, "/close") == 0)
		http_response_close(req);
	http_response_header(req, "X-Method", http_request_method(req));
	http_response_header(req, "X-Path", path);
	v = http_request_query(req);
	http_response_header(req, "X-Query", v != NULL ? v : "-");
	v = http_request_param(req, "a");
	http_response_header(req, "X-Param-A", v != NULL ? v : "-");
	v = http_request_param(req, "n");
	http_response_header(req, "X-Param-N", v != NULL ? v : "-");
	n = http_request_params(req, "r", vals, nitems(vals));
	http_response_headerf(req, "X-Params-R", "%zu:%s:%s", n,
	    n > 0 ? vals[0] : "", n > 1 ? vals[1] : "");
	n = http_request_headers(req, "accept", vals, nitems(vals));
	http_response_headerf(req, "X-Accept", "%zu:%s:%s", n,
	    n > 0 ? vals[0] : "", n > 5 ? vals[5] : "");
	v = http_request_header(req, "X-TRIM");
	http_response_headerf(req, "X-Trim", "[%s]", v != NULL ? v : "");
	http_response_headerf(req, "X-Loopback", "%d",
	    http_request_peer_is_loopback(req));
	http_response_headerf(req, "X-Peer-Ok", "%d",
	    strncmp(http_request_peer(req), "127.0.0.1:", 10) == 0);
	http_response_headerf(req, "X-CL", "%lld",
	    (long long)http_request_content_length(req));
	http_response_headerf(req, "X-Has-Body", "%d",
	    http_request_has_body(req));
	/* The layer owns this one. */
	http_response_header(req, "Content-Length", "999");
	if (strcmp(path, "/badheader") == 0)
		http_response_header(req, "X-Bad", "a\r\nInjected: yes");
	http_respond(req, 200, "text/plain", "hello\n", 6);
}

static void
test_summary_cb(const struct http_request_summary *s, void *arg)
{
	T.nsummary++;
	T.last_status = s->status;
	T.last_in = s->bytes_in;
	T.last_out = s->bytes_out;
	snprintf(T.last_method, sizeof(T.last_method), "%s", s->method);
	snprintf(T.last_path, sizeof(T.last_path), "%s", s->path);
}

void
srv_start(const struct http_limits *limits)
{
	struct http_limits	 l;

	memset(&T, 0, sizeof(T));
	T.pipe_r = T.pipe_w = -1;
	T.body_limit = 1024 * 1024;
	T.big = xmalloc(TEST_BIG);
	memset(T.big, 'b', TEST_BIG);
	if (limits == NULL) {
		http_limits_default(&l);
		limits = &l;
	}
	T.base = event_base_new();
	CU_ASSERT_FATAL(T.base != NULL);
	T.srv = http_server_new(T.base, limits, test_handler, NULL);
	http_server_set_summary_cb(T.srv, test_summary_cb, NULL);
	CU_ASSERT_FATAL(http_server_listen(T.srv, "127.0.0.1:0") == 0);
	T.port = http_server_port(T.srv);
	CU_ASSERT_FATAL(T.port > 0);
}

void
srv_stop(void)
{
	http_server_free(T.srv);
	if (T.pipe_ev != NULL)
		event_free(T.pipe_ev);
	if (T.pipe_r != -1)
		close(T.pipe_r);
	if (T.pipe_w != -1)
		close(T.pipe_w);
	event_base_free(T.base);
	free(T.big);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
}

/* Runs the loop until cond(arg) holds or ms pass; returns cond(arg). */
int
run_until(int (*cond)(void *), void *arg, int ms)
{
	struct event	*ev;
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	int		 expired = 0;

	ev = evtimer_new(T.base, deadline_cb, &expired);
	evtimer_add(ev, &tv);
	while ((cond == NULL || !cond(arg)) && !expired)
		event_base_loop(T.base, EVLOOP_ONCE);
	event_free(ev);
	return cond != NULL && cond(arg);
}

void
run_for(int ms)
{
	run_until(NULL, NULL, ms);
}

/* --- the test client ------------------------------------------------------ */

static int
cl_field_cb(http_parser *p, const char *at, size_t len)
{
	struct tclient	*c = p->data;
	struct tresp	*r = &c->r[c->nresp];

	if (c->nresp >= TEST_MAXRESP)
		return -1;
	if (r->hlen + len + 3 >= sizeof(r->hdr))
		return -1;
	if (c->in_value || r->hlen == 0) {
		r->hdr[r->hlen++] = '\n';
		c->in_value = 0;
	}
	memcpy(r->hdr + r->hlen, at, len);
	r->hlen += len;
	r->hdr[r->hlen] = '\0';
	return 0;
}

static int
cl_value_cb(http_parser *p, const char *at, size_t len)
{
	struct tclient	*c = p->data;
	struct tresp	*r = &c->r[c->nresp];

	if (r->hlen + len + 3 >= sizeof(r->hdr))
		return -1;
	if (!c->in_value) {
		memcpy(r->hdr + r->hlen, ": ", 2);
		r->hlen += 2;
		c->in_value = 1;
	}
	memcpy(r->hdr + r->hlen, at, len);
	r->hlen += len;
	r->hdr[r->hlen] = '\0';
	return 0;
}

static int
cl_headers_done_cb(http_parser *p)
{
	struct tclient	*c = p->data;
	struct tresp	*r = &c->r[c->nresp];

	r->status = p->status_code;
	c->in_value = 0;
	if (p->status_code == 100) {
		c->is_continue = 1;
		return 0;
	}
	return c->head[c->nresp] ? 1 : 0;
}

static int
cl_body_cb(http_parser *p, const char *at, size_t len)
{
	struct tclient	*c = p->data;
	struct tresp	*r = &c->r[c->nresp];

	r->body = xreallocarray(r->body, 1, r->blen + len + 1);
	memcpy(r->body + r->blen, at, len);
	r->blen += len;
	r->body[r->blen] = '\0';
	return 0;
}

static int
cl_message_done_cb(http_parser *p)
{
	struct tclient	*c = p->data;
	struct tresp	*r = &c->r[c->nresp];

	if (c->is_continue) {
		c->is_continue = 0;
		c->ncontinue++;
		free(r->body);
		memset(r, 0, sizeof(*r));
		return 0;
	}
	if (r->body == NULL)
		r->body = xstrdup("");
	c->nresp++;
	return 0;
}

static const http_parser_settings cl_settings = {
	.on_header_field = cl_field_cb,
	.on_header_value = cl_value_cb,
	.on_headers_complete = cl_headers_done_cb,
	.on_body = cl_body_cb,
	.on_message_complete = cl_message_done_cb,
};

static void
cl_read_cb(struct bufferevent *bev, void *arg)
{
	struct tclient	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 len = evbuffer_get_length(in), n;
	char		*data = (char *)evbuffer_pullup(in, -1);

	c->rx += len;
	if (!c->perr && len > 0) {
		n = http_parser_execute(&c->p, &cl_settings, data, len);
		if (n != len || HTTP_PARSER_ERRNO(&c->p) != HPE_OK)
			c->perr = 1;
	}
	evbuffer_drain(in, len);
}

static void
cl_fill(struct tclient *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	char		 chunk[65536], line[32];
	size_t		 n, i;

	while (c->up_left > 0 && evbuffer_get_length(out) < 256 * 1024) {
		n = c->up_left < sizeof(chunk) ? c->up_left : sizeof(chunk);
		if (c->up_const)
			memset(chunk, 'x', n);
		else
			for (i = 0; i < n; i++)
				chunk[i] = (char)pattern(c->up_pos + i);
		if (c->up_chunked) {
			snprintf(line, sizeof(line), "%zx;n=v\r\n", n);
			evbuffer_add(out, line, strlen(line));
		}
		evbuffer_add(out, chunk, n);
		if (c->up_chunked)
			evbuffer_add(out, "\r\n", 2);
		c->up_pos += n;
		c->up_left -= n;
		if (c->up_left == 0 && c->up_chunked)
			evbuffer_add(out, "0\r\nX-Trailer: t\r\n\r\n", 19);
	}
}

static void
cl_write_cb(struct bufferevent *bev, void *arg)
{
	cl_fill(arg);
}

static void
cl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tclient	*c = arg;

	/* Like a real client: close at the end of the response stream. */
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		c->eof = 1;
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
}

/* A blocking socket connected to the test server, with SO_RCVBUF rcvbuf
 * when it is not 0. */
int
client_connect(int rcvbuf)
{
	struct sockaddr_in	 sin;
	int			 fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(T.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(fd != -1);
	if (rcvbuf != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	/* On loopback the kernel completes the handshake from the backlog. */
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ==
	    0);
	return fd;
}

struct tclient *
client_new(void)
{
	struct tclient		*c;
	int			 fd;

	c = xcalloc(1, sizeof(*c));
	fd = client_connect(0);
	evutil_make_socket_nonblocking(fd);
	c->bev = bufferevent_socket_new(T.base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, cl_read_cb, cl_write_cb, cl_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 64 * 1024, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	http_parser_init(&c->p, HTTP_RESPONSE);
	c->p.data = c;
	return c;
}

void
client_close(struct tclient *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
}

void
client_free(struct tclient *c)
{
	int	 i;

	client_close(c);
	for (i = 0; i < TEST_MAXRESP; i++)
		free(c->r[i].body);
	free(c);
}

void
client_send(struct tclient *c, const char *s)
{
	if (c->bev != NULL)
		bufferevent_write(c->bev, s, strlen(s));
}

void
client_upload(struct tclient *c, uint64_t len, int chunked)
{
	c->up_left = len;
	c->up_pos = 0;
	c->up_chunked = chunked;
	cl_fill(c);
}

int
cond_resp(void *arg)
{
	struct tclient	*c = arg;

	return c->nresp >= c->want || c->eof || c->perr;
}

int
cond_eof(void *arg)
{
	return ((struct tclient *)arg)->eof;
}

int
cond_continue(void *arg)
{
	struct tclient	*c = arg;

	return c->ncontinue > 0 || c->nresp > 0 || c->eof;
}

int
cond_no_connections(void *arg)
{
	return http_server_connections(T.srv) == 0;
}

/* Waits until n responses have arrived. */
int
client_wait(struct tclient *c, int n, int ms)
{
	c->want = n;
	run_until(cond_resp, c, ms);
	return c->nresp >= n;
}

/* The value of a response header, or NULL. */
const char *
resp_header(struct tresp *r, const char *name, char *out, size_t outsz)
{
	char		 key[128];
	const char	*p, *e;

	snprintf(key, sizeof(key), "\n%s: ", name);
	if ((p = strstr(r->hdr, key)) == NULL)
		return NULL;
	p += strlen(key);
	if ((e = strchr(p, '\n')) == NULL)
		e = p + strlen(p);
	snprintf(out, outsz, "%.*s", (int)(e - p), p);
	return out;
}

int
resp_header_is(struct tresp *r, const char *name, const char *value)
{
	char	 buf[1024];

	return resp_header(r, name, buf, sizeof(buf)) != NULL &&
	    strcmp(buf, value) == 0;
}

/* One request, one response, on a fresh connection. */
struct tclient *
simple(const char *request, int want)
{
	struct tclient	*c = client_new();

	client_send(c, request);
	client_wait(c, want, 5000);
	return c;
}

int64_t
ms_since(int64_t t0)
{
	return mono_ms() - t0;
}

/* --- the pipe a body streams into ----------------------------------------- */

static void
pipe_read_cb(evutil_socket_t fd, short what, void *arg)
{
	char	 buf[65536];
	ssize_t	 n, i;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			if (!T.pipe_const)
				for (i = 0; i < n; i++)
					if ((uint8_t)buf[i] !=
					    pattern(T.pipe_pos + i))
						T.pipe_bad++;
			T.pipe_pos += n;
			continue;
		}
		if (n == 0) {
			T.pipe_eof = 1;
			event_del(T.pipe_ev);
		}
		return;
	}
}

void
pipe_open(void)
{
	int	 fds[2];

	CU_ASSERT_FATAL(pipe(fds) == 0);
	T.pipe_r = fds[0];
	T.pipe_w = fds[1];
	fd_set_nonblock(T.pipe_r);
	T.pipe_ev = event_new(T.base, T.pipe_r, EV_READ | EV_PERSIST,
	    pipe_read_cb, NULL);
}

void
pipe_start_reading(void)
{
	event_add(T.pipe_ev, NULL);
}

int
cond_pipe_eof(void *arg)
{
	return T.pipe_eof;
}

static int
harness_suite_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
harness_register(const char *suite, const struct harness_test *tests,
    size_t n)
{
	CU_pSuite	 s;
	size_t		 i;

	if ((s = CU_add_suite(suite, harness_suite_init, NULL)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}
