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
 * A request's body: collected in memory up to a limit (in a pooled buffer
 * when it may be a small blob), streamed into a descriptor with
 * backpressure, or read and dropped after the response; the budget of
 * bodies held in memory across connections.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <http_parser.h>

#include "error.h"
#include "log.h"
#include "util.h"
#include "http.h"
#include "http_priv.h"

#define HTTP_BODY_POOLED	(1024 * 1024 + 1)	/* a small blob, a NUL */
#define HTTP_BODY_POOLED_MIN	(64 * 1024)	/* smaller: from the heap */
#define HTTP_BODY_SPARE		2
#define HTTP_BODY_SPARE_SEC	5

void
http_request_pending_free(struct http_conn *conn)
{
	free(conn->pending);
	conn->pending = NULL;
	conn->pending_len = 0;
}

void
http_request_body_end(struct http_request *req, int err, int notify)
{
	struct http_conn	*conn = req->conn;

	switch (req->body_state) {
	case BODY_MEMORY:
	case BODY_FD:
	case BODY_FD_BLOCKED:
		break;
	default:
		return;
	}
	if (req->body_fd != -1) {
		if (conn->fd_ev != NULL)
			event_del(conn->fd_ev);
		http_splice_stop(conn);
		close(req->body_fd);
		req->body_fd = -1;
	}
	http_request_pending_free(conn);
	req->body_state = BODY_STOPPED;
	if (notify) {
		req->body_err = err;
		req->body_cb_due = 1;
	}
}

static int
req_body_claim(struct http_request *req, http_body_cb cb, void *arg)
{
	if (req->body_cb != NULL || req->responded || req->refused) {
		log_warnx("http: %s %s: body asked for %s", req->method,
		    req->raw_path, req->responded ? "after the response" :
		    req->refused ? "by a refusal" : "twice");
		return -1;
	}
	req->body_cb = cb;
	req->body_arg = arg;
	return 0;
}

static void
req_send_continue(struct http_request *req)
{
	struct http_conn	*conn = req->conn;

	if (!req->expect_continue || req->sent_continue || conn->bev == NULL)
		return;
	evbuffer_add(bufferevent_get_output(conn->bev),
	    "HTTP/1.1 100 Continue\r\n\r\n", 25);
	req->sent_continue = 1;
}

static void
req_body_due(struct http_request *req, int err)
{
	req->body_err = err;
	req->body_cb_due = 1;
	http_conn_schedule(req->conn);
}

/* Bytes the bodies being read into memory say they hold. */
static uint64_t	http_bodies;

int
http_bodies_room(uint64_t n)
{
	return http_bodies == 0 || http_bodies + n <= HTTP_BODIES_SOFT;
}

/*
 * A body of known length up to HTTP_BODY_POOLED (a small blob's, which
 * goes on to blobd whole) and over malloc's mmap threshold is read into
 * one buffer of a pool: a buffer fresh from mmap(2) costs its page faults
 * and zeroing, more than the copy into it.  A few spare ones are kept
 * while bodies come, and freed when none came for HTTP_BODY_SPARE_SEC.
 */
static char		*body_spare[HTTP_BODY_SPARE];
static size_t		 body_nspare;
static int		 body_taken;	/* since the timer was set */
static struct event	*body_timer;

static void
body_spare_cb(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval tv = { HTTP_BODY_SPARE_SEC, 0 };

	if (body_taken) {
		body_taken = 0;
		evtimer_add(body_timer, &tv);
		return;
	}
	while (body_nspare > 0)
		free(body_spare[--body_nspare]);
}

static char *
body_get(struct event_base *base)
{
	static const struct timeval tv = { HTTP_BODY_SPARE_SEC, 0 };

	if (body_timer == NULL &&
	    (body_timer = evtimer_new(base, body_spare_cb, NULL)) == NULL)
		fatalx("http: evtimer_new");
	body_taken = 1;
	if (!evtimer_pending(body_timer, NULL))
		evtimer_add(body_timer, &tv);
	return body_nspare > 0 ? body_spare[--body_nspare] :
	    xmalloc(HTTP_BODY_POOLED);
}

void
http_request_body_free(struct http_conn *conn)
{
	if (conn->body != NULL && evbuffer_get_length(conn->body) != 0)
		evbuffer_drain(conn->body, evbuffer_get_length(conn->body));
	if (conn->pbody == NULL)
		return;
	if (body_nspare < HTTP_BODY_SPARE)
		body_spare[body_nspare++] = conn->pbody;
	else
		free(conn->pbody);
	conn->pbody = NULL;
}

void
http_request_body_release(struct http_request *req)
{
	http_bodies -= req->body_share;
	req->body_share = 0;
}

void
http_request_read_body(struct http_request *req, size_t limit,
    http_body_cb cb, void *arg)
{
	struct http_conn	*conn = req->conn;

	if (req_body_claim(req, cb, arg) == -1)
		return;
	req->body_limit = limit;
	if (req->gone)
		req_body_due(req, BERR_BAD_REQUEST);
	else if (req->body_state == BODY_DONE) {
		req->body = "";
		req->body_len = 0;
		req_body_due(req, 0);
	} else if (req->content_length > 0 &&
	    (uint64_t)req->content_length > limit) {
		req->body_state = BODY_STOPPED;
		req_body_due(req, BERR_TOO_LARGE);
	} else {
		if (conn->body == NULL && (conn->body = evbuffer_new()) == NULL)
			fatalx("http: evbuffer_new");
		req_send_continue(req);
		req->body_state = BODY_MEMORY;
		if (req->content_length > 0) {
			req->body_share = (uint64_t)req->content_length;
			http_bodies += req->body_share;
		}
		if (req->content_length >= HTTP_BODY_POOLED_MIN &&
		    req->content_length < HTTP_BODY_POOLED)
			conn->pbody = body_get(bufferevent_get_base(conn->bev));
		else if (req->content_length > 0 &&
		    evbuffer_expand(conn->body,
		    (size_t)req->content_length + 1) == -1)
			/* One piece for the body and its NUL: the pull-up
			 * at the end then copies nothing. */
			fatalx("http: evbuffer_expand");
		http_conn_schedule(conn);
	}
}

const char *
http_request_body(const struct http_request *req, size_t *len)
{
	if (req->body == NULL) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = req->body_len;
	return req->body;
}

static void
req_body_fd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*conn = arg;
	struct http_request	*req = &conn->req;
	ssize_t			 n;

	if (req->body_state != BODY_FD_BLOCKED)
		return;
	if (what & EV_TIMEOUT) {
		log_warnx("http: %s: body reader stalled", conn->peer);
		http_request_body_end(req, BERR_IO, 1);
		http_conn_process(conn);
		return;
	}
	while (conn->pending_len > 0) {
		n = write(fd, conn->pending + conn->pending_off,
		    conn->pending_len);
		if (n > 0) {
			conn->pending_off += n;
			conn->pending_len -= n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
			event_add(conn->fd_ev, conn->srv->io_tv);
			return;
		}
		log_debug("http: %s: body descriptor: %s", conn->peer,
		    strerror(errno));
		http_request_body_end(req, BERR_IO, 1);
		break;
	}
	http_request_pending_free(conn);
	if (req->body_state == BODY_FD_BLOCKED)
		req->body_state = BODY_FD;
	http_conn_process(conn);
}

void
http_request_body_to_fd(struct http_request *req, int fd, size_t limit,
    http_body_cb cb, void *arg)
{
	struct http_conn	*conn = req->conn;

	if (req_body_claim(req, cb, arg) == -1) {
		close(fd);
		return;
	}
	req->body_limit = limit;
	if (req->gone) {
		close(fd);
		req_body_due(req, BERR_BAD_REQUEST);
	} else if (req->body_state == BODY_DONE) {
		close(fd);
		req_body_due(req, 0);
	} else if (req->content_length > 0 &&
	    (uint64_t)req->content_length > limit) {
		close(fd);
		req->body_state = BODY_STOPPED;
		req_body_due(req, BERR_TOO_LARGE);
	} else if (fd_set_nonblock(fd) == -1) {
		log_warn("http: body descriptor");
		close(fd);
		req->body_state = BODY_STOPPED;
		req_body_due(req, BERR_IO);
	} else {
		if (conn->fd_ev == NULL) {
			if ((conn->fd_ev = event_new(conn->srv->base, fd,
			    EV_WRITE, req_body_fd_cb, conn)) == NULL)
				fatalx("http: event_new");
		} else
			event_assign(conn->fd_ev, conn->srv->base, fd,
			    EV_WRITE, req_body_fd_cb, conn);
		req->body_fd = fd;
		req_send_continue(req);
		req->body_state = BODY_FD;
		http_conn_schedule(conn);
	}
}

void
http_request_on_fd_full(struct http_request *req, http_fd_full_cb cb,
    void *arg)
{
	req->fd_full_cb = cb;
	req->fd_full_arg = arg;
}

void
http_request_fd_full(struct http_request *req)
{
	http_fd_full_cb	 cb = req->fd_full_cb;

	req->fd_full_cb = NULL;
	if (cb != NULL)
		cb(req->fd_full_arg);
}

uint64_t
http_request_body_received(const struct http_request *req)
{
	return req->body_received;
}

/* Writes body bytes to the descriptor, keeping what does not fit. */
static void
req_body_write(struct http_conn *conn, const char *at, size_t len)
{
	struct http_request	*req = &conn->req;
	ssize_t			 n;

	while (len > 0) {
		n = write(req->body_fd, at, len);
		if (n > 0) {
			at += n;
			len -= n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
			if (conn->pending == NULL)
				conn->pending = xmalloc(HTTP_FEED_MAX);
			memcpy(conn->pending, at, len);
			conn->pending_off = 0;
			conn->pending_len = len;
			req->body_state = BODY_FD_BLOCKED;
			http_request_fd_full(req);
			event_add(conn->fd_ev, conn->srv->io_tv);
			http_parser_pause(&conn->parser, 1);
			return;
		}
		log_debug("http: %s: body descriptor: %s", conn->peer,
		    strerror(errno));
		http_request_body_end(req, BERR_IO, 1);
		http_parser_pause(&conn->parser, 1);
		return;
	}
}

void
http_request_body_data(struct http_request *req, const char *at, size_t len)
{
	struct http_conn	*conn = req->conn;

	req->body_received += len;
	switch (req->body_state) {
	case BODY_MEMORY:
	case BODY_FD:
		if (req->body_received > req->body_limit) {
			http_request_body_end(req, BERR_TOO_LARGE, 1);
			http_parser_pause(&conn->parser, 1);
			break;
		}
		if (req->body_state != BODY_MEMORY)
			req_body_write(conn, at, len);
		else if (conn->pbody == NULL)
			evbuffer_add(conn->body, at, len);
		else if (req->body_received < HTTP_BODY_POOLED)
			memcpy(conn->pbody + req->body_received - len, at,
			    len);
		else {	/* more than its Content-Length: never */
			http_request_body_end(req, BERR_TOO_LARGE, 1);
			http_parser_pause(&conn->parser, 1);
		}
		break;
	default:
		break;
	}
}

void
http_request_body_done(struct http_request *req)
{
	struct http_conn	*conn = req->conn;

	switch (req->body_state) {
	case BODY_MEMORY:
		if (conn->pbody != NULL) {
			req->body_len = (size_t)req->body_received;
			conn->pbody[req->body_len] = '\0';
			req->body = conn->pbody;
		} else {
			evbuffer_add(conn->body, "", 1);
			req->body_len = evbuffer_get_length(conn->body) - 1;
			req->body = (const char *)evbuffer_pullup(conn->body,
			    -1);
		}
		req->body_err = 0;
		req->body_cb_due = 1;
		break;
	case BODY_FD:
		http_splice_stop(conn);
		close(req->body_fd);
		req->body_fd = -1;
		req->body_err = 0;
		req->body_cb_due = 1;
		break;
	default:
		break;
	}
	req->body_state = BODY_DONE;
}
