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
 * What a handler sees of a request (method, path, query parameters,
 * headers, peer) and its response, queued in one place for every kind of
 * payload.  The body is http_body.c's.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
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
#include "log.h"
#include "util.h"
#include "http.h"
#include "http_priv.h"

/* An unread body up to this size is read and dropped, not a reason to
 * close the connection. */
#define HTTP_DISCARD_MAX	(64 * 1024)

/* --- the request ------------------------------------------------------- */

const char *
http_request_method(const struct http_request *req)
{
	return req->method;
}

int
http_request_is_head(const struct http_request *req)
{
	return req->is_head;
}

const char *
http_request_path(const struct http_request *req)
{
	return req->path;
}

const char *
http_request_query(const struct http_request *req)
{
	return req->query;
}

static void
req_parse_params(struct http_request *req)
{
	struct http_conn	*conn = req->conn;
	struct http_param	*prm;
	const char		*q = req->query, *amp, *eq, *end;
	size_t			 qlen, klen, start;
	ssize_t			 n;

	req->params_parsed = 1;
	conn->nparams = 0;
	conn->params_dropped = 0;
	conn->qbuf.len = 0;
	if (q == NULL)
		return;
	qlen = strlen(q);
	hbuf_reserve(&conn->qbuf, 2 * qlen + 2);
	for (end = q + qlen; q < end; q = amp + 1) {
		if ((amp = memchr(q, '&', end - q)) == NULL)
			amp = end;
		if (amp == q)
			continue;
		if ((eq = memchr(q, '=', amp - q)) == NULL)
			eq = amp;
		klen = eq - q;
		start = conn->qbuf.len;
		if ((n = http_parse_unescape(conn->qbuf.p + start, q, klen,
		    1)) < 0) {
			conn->params_dropped++;
			continue;
		}
		conn->qbuf.len += n;
		conn->qbuf.p[conn->qbuf.len++] = '\0';
		if (conn->nparams == conn->params_size) {
			conn->params_size = conn->params_size == 0 ? 8 :
			    conn->params_size * 2;
			conn->params = xreallocarray(conn->params,
			    conn->params_size, sizeof(*conn->params));
		}
		prm = &conn->params[conn->nparams];
		prm->key = start;
		prm->value = conn->qbuf.len;
		if (eq < amp && (n = http_parse_unescape(conn->qbuf.p +
		    conn->qbuf.len, eq + 1, amp - eq - 1, 1)) < 0) {
			conn->qbuf.len = start;
			conn->params_dropped++;
			continue;
		}
		conn->qbuf.len += eq < amp ? (size_t)n : 0;
		conn->qbuf.p[conn->qbuf.len++] = '\0';
		conn->nparams++;
	}
}

size_t
http_request_params(struct http_request *req, const char *key,
    const char **vals, size_t max)
{
	struct http_conn	*conn = req->conn;
	size_t			 i, n = 0;

	if (!req->params_parsed)
		req_parse_params(req);
	for (i = 0; i < conn->nparams; i++) {
		if (strcmp(conn->qbuf.p + conn->params[i].key, key) != 0)
			continue;
		if (n < max)
			vals[n] = conn->qbuf.p + conn->params[i].value;
		n++;
	}
	return n;
}

int
http_request_param_at(struct http_request *req, size_t i, const char **key,
    const char **value)
{
	struct http_conn	*conn = req->conn;

	if (!req->params_parsed)
		req_parse_params(req);
	if (i >= conn->nparams)
		return 0;
	*key = conn->qbuf.p + conn->params[i].key;
	*value = conn->qbuf.p + conn->params[i].value;
	return 1;
}

size_t
http_request_params_dropped(struct http_request *req)
{
	if (!req->params_parsed)
		req_parse_params(req);
	return req->conn->params_dropped;
}

const char *
http_request_param(struct http_request *req, const char *key)
{
	const char	*val;

	return http_request_params(req, key, &val, 1) > 0 ? val : NULL;
}

size_t
http_request_headers(const struct http_request *req, const char *name,
    const char **vals, size_t max)
{
	const struct http_conn	*conn = req->conn;
	const struct http_header *h;
	size_t			 i, len = strlen(name), n = 0;

	for (i = 0; i < conn->nheaders; i++) {
		h = &conn->headers[i];
		if (h->name_len != len ||
		    strcasecmp(conn->head.p + h->name, name) != 0)
			continue;
		if (n < max)
			vals[n] = conn->head.p + h->value;
		n++;
	}
	return n;
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	const char	*val;

	return http_request_headers(req, name, &val, 1) > 0 ? val : NULL;
}

int64_t
http_request_content_length(const struct http_request *req)
{
	return req->chunked ? -1 : req->content_length;
}

int
http_request_has_body(const struct http_request *req)
{
	return req->chunked || req->content_length > 0;
}

int
http_addr_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127);
	}
	return 0;
}

int
http_request_peer_is_loopback(const struct http_request *req)
{
	return http_addr_is_loopback((const struct sockaddr *)&req->conn->ss);
}

const char *
http_request_peer(const struct http_request *req)
{
	return req->conn->peer;
}

int
http_request_gone(const struct http_request *req)
{
	return req->gone;
}

void
http_request_set_class(struct http_request *req, const char *class)
{
	req->route_class = class;
}

/* --- the response ------------------------------------------------------ */

static int
http_status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

static int
http_header_name_ok(const char *name)
{
	const unsigned char	*p = (const unsigned char *)name;

	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 127 || *p == ':')
			return 0;
	return 1;
}

/* Headers the layer writes itself. */
static int
http_header_reserved(const char *name)
{
	return strcasecmp(name, "Content-Length") == 0 ||
	    strcasecmp(name, "Connection") == 0 ||
	    strcasecmp(name, "Date") == 0 ||
	    strcasecmp(name, "Server") == 0 ||
	    strcasecmp(name, "Transfer-Encoding") == 0;
}

void
http_response_header(struct http_request *req, const char *name,
    const char *value)
{
	struct http_conn	*conn = req->conn;

	if (req->responded || req->gone)
		return;
	if (!http_header_name_ok(name) || strpbrk(value, "\r\n") != NULL) {
		log_warnx("http: %s %s: invalid response header %s",
		    req->method, req->raw_path, name);
		return;
	}
	if (http_header_reserved(name))
		return;
	hbuf_add(&conn->rhdr, name, strlen(name));
	hbuf_add(&conn->rhdr, ": ", 2);
	hbuf_add(&conn->rhdr, value, strlen(value));
	hbuf_add(&conn->rhdr, "\r\n", 2);
}

void
http_response_headerf(struct http_request *req, const char *name,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[256], *value = buf;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf)) {
		value = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(value, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	http_response_header(req, name, value);
	if (value != buf)
		free(value);
}

void
http_response_close(struct http_request *req)
{
	req->close = 1;
}

/*
 * Decides what happens to a body nobody read: small and of known length,
 * it is read and dropped; otherwise the connection closes.  An unfinished
 * reader is cancelled without its callback.
 */
static void
req_settle_body(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	http_request_body_end(req, 0, 0);
	switch (req->body_state) {
	case BODY_IDLE:
	case BODY_STOPPED:
		break;
	default:
		return;
	}
	if (!req->body_broken && !req->chunked &&
	    !(req->expect_continue && !req->sent_continue) &&
	    conn->parser.content_length <= HTTP_DISCARD_MAX)
		req->body_state = BODY_DISCARD;
	else {
		req->body_state = BODY_ABANDONED;
		req->close = 1;
	}
}

static int
req_respond_start(struct http_request *req, int *status)
{
	struct http_conn	*conn = req->conn;

	if (req->responded) {
		log_warnx("http: %s %s: second response ignored", req->method,
		    req->raw_path);
		return -1;
	}
	req->responded = 1;
	req->body_cb_due = 0;
	if (req->gone) {
		http_conn_release(conn);
		return 1;
	}
	/* 1xx are the layer's (100 Continue); a handler's answer is final. */
	if (*status < 200 || *status > 999) {
		log_warnx("http: %s %s: invalid status %d", req->method,
		    req->raw_path, *status);
		*status = 500;
	}
	req->status = *status;
	req_settle_body(conn);
	if (conn->close_after || !conn->keep_alive ||
	    (conn->srv != NULL && conn->srv->draining))
		req->close = 1;
	return 0;
}

static void
req_content_type_ok(struct http_request *req, const char **ctype)
{
	if (*ctype != NULL && strpbrk(*ctype, "\r\n") != NULL) {
		log_warnx("http: %s %s: invalid content type", req->method,
		    req->raw_path);
		*ctype = NULL;
	}
}

/* What follows a response's head: bytes, the contents of a buffer or a
 * segment of a file. */
struct http_payload {
	const void			*data;
	struct evbuffer			*buf;
	struct evbuffer_file_segment	*seg;
	off_t				 offset;
};

/*
 * The one way a handler's response goes out.  length is the body's, what
 * Content-Length says (for HEAD too, where nothing follows); the payload,
 * if any, holds that many bytes.  1xx, 204 and 304 get neither.
 */
static void
req_respond(struct http_request *req, int status, const char *content_type,
    uint64_t length, const struct http_payload *pl)
{
	struct http_conn	*conn = req->conn;
	struct evbuffer		*out;
	int64_t			 clen = -1;
	int			 rc;

	if (req_respond_start(req, &status) != 0)
		return;
	req_content_type_ok(req, &content_type);
	if (http_status_has_body(status) && length <= INT64_MAX)
		clen = (int64_t)length;
	http_conn_write_head(conn, status, content_type, clen, req->close, 1,
	    NULL);
	if (clen > 0 && !req->is_head && pl != NULL) {
		out = bufferevent_get_output(conn->bev);
		if (pl->seg != NULL)
			rc = evbuffer_add_file_segment(out, pl->seg, pl->offset,
			    clen);
		else if (pl->buf != NULL)
			rc = evbuffer_add_buffer(out, pl->buf);
		else
			rc = evbuffer_add(out, pl->data, length);
		if (rc == -1) {
			/* The client sees a short body and retries. */
			log_warnx("http: %s %s: cannot queue the body",
			    req->method, req->raw_path);
			req->close = 1;
		} else
			req->bytes_out = length;
	}
	http_conn_schedule(conn);
}

void
http_respond(struct http_request *req, int status, const char *content_type,
    const void *body, size_t len)
{
	struct http_payload	 pl = { .data = body };

	req_respond(req, status, content_type, len, &pl);
}

void
http_respond_evbuffer(struct http_request *req, int status,
    const char *content_type, struct evbuffer *body)
{
	struct http_payload	 pl = { .buf = body };

	req_respond(req, status, content_type, evbuffer_get_length(body), &pl);
	/* Whatever was not sent (HEAD, no answer) goes too. */
	evbuffer_drain(body, evbuffer_get_length(body));
}

void
http_respond_file(struct http_request *req, int status,
    const char *content_type, struct evbuffer_file_segment *seg,
    off_t offset, off_t length)
{
	struct http_payload	 pl = { .seg = seg, .offset = offset };

	req_respond(req, status, content_type,
	    length > 0 ? (uint64_t)length : 0, &pl);
}

void
http_respond_length(struct http_request *req, int status,
    const char *content_type, uint64_t length)
{
	req_respond(req, status, content_type, length, NULL);
}

/* --- a streamed response -------------------------------------------------- */

int
http_respond_start(struct http_request *req, int status,
    const char *content_type, uint64_t length)
{
	struct http_conn	*conn = req->conn;
	int64_t			 clen = -1;

	if (req_respond_start(req, &status) != 0)
		return -1;
	req_content_type_ok(req, &content_type);
	if (http_status_has_body(status) && length <= INT64_MAX)
		clen = (int64_t)length;
	http_conn_write_head(conn, status, content_type, clen, req->close, 1,
	    NULL);
	req->streaming = 1;
	req->stream_left = clen > 0 ? (uint64_t)clen : 0;
	http_conn_schedule(conn);
	return 0;
}

int
http_request_chunkable(const struct http_request *req)
{
	return req->http_minor >= 1 && !req->is_head;
}

int
http_respond_chunked(struct http_request *req, int status,
    const char *content_type)
{
	struct http_conn	*conn = req->conn;

	if (req_respond_start(req, &status) != 0)
		return -1;
	req_content_type_ok(req, &content_type);
	/* Its end is the handler's last chunk, not a length we count. */
	req->stream_chunked = 1;
	http_conn_write_head(conn, status, content_type, -1, req->close, 1,
	    "Transfer-Encoding: chunked\r\n");
	req->streaming = 1;
	req->stream_left = UINT64_MAX;
	http_conn_schedule(conn);
	return 0;
}

int
http_write(struct http_request *req, const void *data, size_t len)
{
	struct http_conn	*conn = req->conn;

	if (!req->streaming || req->gone || conn->bev == NULL)
		return -1;
	if (len > req->stream_left) {
		log_warnx("http: %s %s: %zu bytes past the Content-Length",
		    req->method, req->raw_path, len);
		return -1;
	}
	if (len == 0)
		return 0;
	req->stream_left -= len;
	if (!req->is_head) {
		if (evbuffer_add(bufferevent_get_output(conn->bev), data,
		    len) == -1)
			return -1;
		req->bytes_out += len;
	}
	http_conn_schedule(conn);
	return 0;
}

size_t
http_queued(const struct http_request *req)
{
	const struct http_conn	*conn = req->conn;

	return conn->bev != NULL ?
	    evbuffer_get_length(bufferevent_get_output(conn->bev)) : 0;
}

void
http_on_drain(struct http_request *req, http_drain_cb cb, void *arg)
{
	if (!req->streaming)
		return;
	req->drain_cb = cb;
	req->drain_arg = arg;
	req->drain_armed = 1;
	http_conn_schedule(req->conn);
}

int
http_stream_step(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	if (!req->streaming || !req->drain_armed ||
	    (conn->bev != NULL && !req->gone && (req->stream_own ||
	    http_queued(req) > HTTP_STREAM_LOW)))
		return 0;
	req->drain_armed = 0;
	req->drain_cb(req, req->drain_arg);
	return 1;
}

int
http_stream_fd(struct http_request *req, const struct timeval **io_timeout)
{
	struct http_conn	*conn = req->conn;
	struct evbuffer		*out;
	int			 fd;

	if (!req->streaming || req->gone || req->is_head || conn->bev == NULL) {
		errno = EPIPE;
		return -1;
	}
	out = bufferevent_get_output(conn->bev);
	fd = bufferevent_getfd(conn->bev);
	if (evbuffer_get_length(out) > 0 && !conn->writing) {
		/* As the connection flushes: the start is frozen but for
		 * the bufferevent's own writes. */
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, fd);
		evbuffer_freeze(out, 1);
	}
	if (evbuffer_get_length(out) > 0) {
		/* The rest goes when the socket takes it. */
		http_conn_schedule(conn);
		errno = EAGAIN;
		return -1;
	}
	req->stream_own = 1;
	*io_timeout = conn->srv->io_tv;
	return fd;
}

int
http_wrote(struct http_request *req, size_t len)
{
	if (!req->streaming || len > req->stream_left)
		return -1;
	req->stream_left -= len;
	req->bytes_out += len;
	return 0;
}

void
http_end(struct http_request *req, int ok)
{
	struct http_conn	*conn = req->conn;

	if (!req->streaming) {
		log_warnx("http: %s %s: http_end without a stream",
		    req->method, req->raw_path);
		return;
	}
	req->streaming = 0;
	req->drain_armed = 0;
	if (!ok || (!req->stream_chunked && req->stream_left != 0))
		req->close = 1;
	if (req->gone || conn->bev == NULL) {
		req->gone = 1;
		http_conn_release(conn);
		return;
	}
	http_conn_schedule(conn);
}
