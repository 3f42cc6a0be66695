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
 * The HTTP layer against real sockets: a server on 127.0.0.1:0 and test
 * clients share one event base and one thread, so every test runs the
 * loop until what it waits for has happened (or a deadline passed).
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
#include "../../daemon/http.h"
#include "unit.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNIT_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNIT_ASAN	1
#endif
#endif

#define TEST_MAXRESP	8
#define TEST_BIG	100000

struct tresp {
	int		 status;
	char		 hdr[8192];	/* "\nName: value" lines */
	size_t		 hlen;
	char		*body;
	size_t		 blen;
};

struct tclient {
	struct bufferevent	*bev;
	http_parser		 p;
	struct tresp		 r[TEST_MAXRESP];
	int			 nresp;
	int			 ncontinue;
	int			 is_continue;
	int			 head[TEST_MAXRESP];
	int			 in_value;
	int			 want;
	int			 eof;
	int			 perr;
	size_t			 rx;
	/* a generated upload */
	uint64_t		 up_left;
	uint64_t		 up_pos;
	int			 up_chunked;
	int			 up_const;
};

static struct {
	struct event_base	*base;
	struct http_server	*srv;
	int			 port;
	size_t			 body_limit;
	int			 nreq;
	int			 body_calls;
	int			 body_err;
	int			 body_nul;
	int			 fd_calls;
	int			 fd_err;
	uint64_t		 fd_received;
	int			 pipe_r;
	int			 pipe_w;
	struct event		*pipe_ev;
	uint64_t		 pipe_pos;
	uint64_t		 pipe_bad;
	int			 pipe_eof;
	int			 pipe_const;
	struct http_request	*cur;
	struct http_request	*held;
	int			 nsummary;
	int			 last_status;
	uint64_t		 last_in;
	uint64_t		 last_out;
	char			 last_method[32];
	char			 last_path[256];
	int			 drained;
	char			*big;
	struct evbuffer_file_segment *seg;
} T;

static uint8_t
pattern(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 11 ^ i >> 16);
}

/* --- the test server ------------------------------------------------------- */

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	http_respond(arg, 200, "text/plain", "later\n", 6);
}

static void
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

static void
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
		http_request_body_to_fd(req, fd, fd_done_cb, NULL);
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
		T.held = req;
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

static void
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

static void
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
static int
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

static void
run_for(int ms)
{
	run_until(NULL, NULL, ms);
}

/* --- the test client ------------------------------------------------------- */

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

static struct tclient *
client_new(void)
{
	struct tclient		*c;
	struct sockaddr_in	 sin;
	int			 fd;

	c = xcalloc(1, sizeof(*c));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(T.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(fd != -1);
	/* On loopback the kernel completes the handshake from the backlog. */
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ==
	    0);
	evutil_make_socket_nonblocking(fd);
	c->bev = bufferevent_socket_new(T.base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, cl_read_cb, cl_write_cb, cl_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 64 * 1024, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	http_parser_init(&c->p, HTTP_RESPONSE);
	c->p.data = c;
	return c;
}

static void
client_close(struct tclient *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
}

static void
client_free(struct tclient *c)
{
	int	 i;

	client_close(c);
	for (i = 0; i < TEST_MAXRESP; i++)
		free(c->r[i].body);
	free(c);
}

static void
client_send(struct tclient *c, const char *s)
{
	if (c->bev != NULL)
		bufferevent_write(c->bev, s, strlen(s));
}

static void
client_upload(struct tclient *c, uint64_t len, int chunked)
{
	c->up_left = len;
	c->up_pos = 0;
	c->up_chunked = chunked;
	cl_fill(c);
}

static int
cond_resp(void *arg)
{
	struct tclient	*c = arg;

	return c->nresp >= c->want || c->eof || c->perr;
}

static int
cond_eof(void *arg)
{
	return ((struct tclient *)arg)->eof;
}

static int
cond_continue(void *arg)
{
	struct tclient	*c = arg;

	return c->ncontinue > 0 || c->nresp > 0 || c->eof;
}

static int
cond_no_connections(void *arg)
{
	return http_server_connections(T.srv) == 0;
}

/* Waits until n responses have arrived. */
static int
client_wait(struct tclient *c, int n, int ms)
{
	c->want = n;
	run_until(cond_resp, c, ms);
	return c->nresp >= n;
}

/* The value of a response header, or NULL. */
static const char *
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

static int
resp_header_is(struct tresp *r, const char *name, const char *value)
{
	char	 buf[1024];

	return resp_header(r, name, buf, sizeof(buf)) != NULL &&
	    strcmp(buf, value) == 0;
}

/* One request, one response, on a fresh connection. */
static struct tclient *
simple(const char *request, int want)
{
	struct tclient	*c = client_new();

	client_send(c, request);
	client_wait(c, want, 5000);
	return c;
}

static int64_t
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

static void
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

static void
pipe_start_reading(void)
{
	event_add(T.pipe_ev, NULL);
}

static int
cond_pipe_eof(void *arg)
{
	return T.pipe_eof;
}

/* --- tests ------------------------------------------------------------------ */

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
	client_send(c, "GET /echo?n=5 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
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
	evbuffer_add_printf(b, "GET /echo HTTP/1.1\r\n");
	for (i = 0; i < 100; i++)
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
	/* The layer answers; the handler's answer to a gone request is
	 * dropped. */
	CU_ASSERT_EQUAL(c->r[0].status, 400);
	CU_ASSERT(run_until(cond_eof, c, 5000));
	CU_ASSERT_EQUAL(T.body_calls, 1);
	CU_ASSERT_EQUAL(T.body_err, BERR_BAD_REQUEST);
	CU_ASSERT_EQUAL(c->nresp, 1);
	CU_ASSERT_EQUAL(T.last_status, 400);
	client_free(c);
	srv_stop();
}

static void
test_http_max_connections(void)
{
	struct http_limits	 l;
	struct tclient		*c1, *c2;

	http_limits_default(&l);
	l.max_connections = 1;
	srv_start(&l);
	c1 = simple("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	CU_ASSERT_EQUAL(c1->r[0].status, 200);
	c2 = simple("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", 1);
	CU_ASSERT_EQUAL_FATAL(c2->nresp, 1);
	CU_ASSERT_EQUAL(c2->r[0].status, 503);
	CU_ASSERT(resp_header_is(&c2->r[0], "Retry-After", "1"));
	CU_ASSERT(resp_header_is(&c2->r[0], "Connection", "close"));
	CU_ASSERT(run_until(cond_eof, c2, 5000));
	CU_ASSERT_EQUAL(T.nreq, 1);
	CU_ASSERT_EQUAL(http_server_connections(T.srv), 1);
	client_send(c1, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
	CU_ASSERT(client_wait(c1, 2, 5000));
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

static int
suite_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
test_http_register(void)
{
	static const struct {
		const char	*name;
		void		(*fn)(void);
	} tests[] = {
		{ "get", test_http_get },
		{ "head", test_http_head },
		{ "file", test_http_file },
		{ "keepalive", test_http_keepalive },
		{ "pipeline", test_http_pipeline },
		{ "multi_headers", test_http_multi_headers },
		{ "chunked_read_body", test_http_chunked_read_body },
		{ "body_to_fd", test_http_body_to_fd },
		{ "body_to_fd_epipe", test_http_body_to_fd_epipe },
		{ "body_fd_client_gone", test_http_body_fd_client_gone },
		{ "too_large", test_http_too_large },
		{ "expect_continue", test_http_expect_continue },
		{ "refusals", test_http_refusals },
		{ "bad_chunk", test_http_bad_chunk },
		{ "max_connections", test_http_max_connections },
		{ "idle_timeout", test_http_idle_timeout },
		{ "header_timeout", test_http_header_timeout },
		{ "io_timeout", test_http_io_timeout },
		{ "async", test_http_async },
		{ "client_vanished", test_http_client_vanished },
		{ "drain", test_http_drain },
		{ "drain_timeout", test_http_drain_timeout },
		{ "memory_bound", test_http_memory_bound },
		{ "listen", test_http_listen },
		{ "mapped_loopback", test_http_mapped_loopback },
	};
	CU_pSuite	 s;
	size_t		 i;

	if ((s = CU_add_suite("http", suite_init, NULL)) == NULL)
		return -1;
	for (i = 0; i < nitems(tests); i++)
		if (CU_add_test(s, tests[i].name, tests[i].fn) == NULL)
			return -1;
	return 0;
}
