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
 * libFuzzer target: arbitrary bytes as one client's stream into a server
 * connection.  A socketpair end is adopted by a fresh server on a shared
 * event base; a handler picks what to do from the path so that the body
 * paths (memory, descriptor, unread), deferred answers and every response
 * kind are reached.  The first input byte sets how the stream is cut into
 * writes.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "error.h"
#include "log.h"
#include "util.h"
#include "../../daemon/http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base	*base;
static int			 outstanding;	/* requests not answered */
static int			 pipe_r = -1;

static void
answer_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_request	*req = arg;

	http_respond(req, 202, "text/plain", "later\n", 6);
	outstanding--;
}

static void
body_cb(struct http_request *req, int err, void *arg)
{
	const char	*body;
	size_t		 len;

	body = http_request_body(req, &len);
	if (err == 0 && body != NULL && body[len] != '\0')
		abort();
	if (err == 0)
		http_respond(req, 200, "application/octet-stream", body, len);
	else
		http_respond(req, berr_http_status(err), "text/plain", "no\n",
		    3);
	outstanding--;
}

static void
handler(struct http_request *req, void *arg)
{
	static const struct timeval	 zero = { 0, 0 };
	const char			*path = http_request_path(req);
	const char			*vals[4], *v;
	struct evbuffer			*b;
	int				 fds[2];

	outstanding++;
	http_request_set_class(req, "fuzz");
	(void)http_request_params(req, "a", vals, nitems(vals));
	(void)http_request_headers(req, "accept", vals, nitems(vals));
	(void)http_request_peer_is_loopback(req);
	switch (path[0] != '\0' ? path[1] : '\0') {
	case 'b':
		http_request_read_body(req, 64, body_cb, NULL);
		return;
	case 'f':
		if (pipe(fds) == -1)
			abort();
		/* A small reader: the rest is left to block or fail. */
		if (pipe_r != -1)
			close(pipe_r);
		pipe_r = fds[0];
		fd_set_nonblock(pipe_r);
		http_request_body_to_fd(req, fds[1], body_cb, NULL);
		return;
	case 'c':
		if (pipe(fds) == -1)
			abort();
		close(fds[0]);
		http_request_body_to_fd(req, fds[1], body_cb, NULL);
		return;
	case 'l':
		event_base_once(base, -1, EV_TIMEOUT, answer_later_cb, req,
		    &zero);
		return;
	case 'e':
		b = evbuffer_new();
		evbuffer_add_printf(b, "%s\n", http_request_method(req));
		http_respond_evbuffer(req, 200, "text/plain", b);
		evbuffer_free(b);
		break;
	case 'n':
		http_respond_length(req, 200, NULL, 1234);
		break;
	case 'z':
		http_respond(req, 204, NULL, NULL, 0);
		break;
	default:
		if (path[1] == 'x')
			http_response_close(req);
		v = http_request_param(req, "q");
		http_response_header(req, "X-Q", v != NULL ? v : "-");
		v = http_request_header(req, "x-echo");
		http_response_header(req, "X-Echo", v != NULL ? v : "-");
		http_respond(req, 200, "text/plain", path, strlen(path));
		break;
	}
	outstanding--;
}

/* The layer's refusals: answered in a shape of our own, but on paths
 * starting with /s, left unanswered (the layer then answers). */
static void
refusal_cb(struct http_request *req, int err, const char *reason, void *arg)
{
	const char	*path = http_request_path(req);

	if (path == NULL || http_request_method(req) == NULL)
		abort();
	if (http_request_header(req, "host") != NULL)
		abort();
	if (path[0] != '\0' && path[1] == 's')
		return;
	http_response_header(req, "X-Reason", reason);
	http_respond(req, berr_http_status(err), "application/json", "{}", 2);
}

/* Runs whatever is ready; returns whether the client end had news. */
static int
pump(int client)
{
	char	 buf[16384];
	ssize_t	 n;
	int	 news = 0;

	event_base_loop(base, EVLOOP_NONBLOCK);
	while ((n = read(client, buf, sizeof(buf))) > 0)
		news = 1;
	if (n == 0)
		return -1;
	if (pipe_r != -1)
		while (read(pipe_r, buf, 512) > 0)
			;
	return news;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_server	*srv;
	struct http_limits	 limits;
	size_t			 cut, off, n;
	ssize_t			 w;
	int			 sv[2], i, idle;

	if (base == NULL) {
		signal(SIGPIPE, SIG_IGN);
		log_init("fuzz_http", LOG_LVL_WARN);
		if ((base = event_base_new()) == NULL)
			abort();
	}
	if (size == 0)
		return 0;
	cut = data[0] == 0 ? size : data[0];
	data++;
	size--;

	http_limits_default(&limits);
	limits.max_header_bytes = 2048;
	limits.max_headers = 16;
	limits.max_uri = 512;
	if ((srv = http_server_new(base, &limits, handler, NULL)) == NULL)
		abort();
	http_server_set_refusal_cb(srv, refusal_cb, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	fd_set_nonblock(sv[1]);
	if (http_server_adopt(srv, sv[0], NULL, 0) == -1)
		abort();

	for (off = 0; off < size; off += n) {
		n = size - off < cut ? size - off : cut;
		w = write(sv[1], data + off, n);
		if (w < 0) {
			if (errno != EAGAIN)
				break;
			n = 0;
		} else
			n = (size_t)w;
		if (pump(sv[1]) == -1)
			break;
	}
	shutdown(sv[1], SHUT_WR);
	for (i = idle = 0; i < 10000 && idle < 50; i++) {
		switch (pump(sv[1])) {
		case -1:
			idle = 50;
			break;
		case 0:
			idle++;
			break;
		default:
			idle = 0;
		}
	}
	close(sv[1]);
	for (i = 0; i < 10000 && (http_server_connections(srv) > 0 ||
	    outstanding > 0); i++)
		pump(-1);
	http_server_free(srv);
	/* Whatever is still held answers into the void, after the server. */
	for (i = 0; i < 100 && outstanding > 0; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	if (pipe_r != -1) {
		close(pipe_r);
		pipe_r = -1;
	}
	if (outstanding != 0)
		abort();
	return 0;
}
