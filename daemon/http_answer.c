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
 * What the HTTP layer writes itself: a response's status line and
 * headers (http_conn_write_head, for every answer), and its own refusals
 * before a handler has the request (a malformed or oversized head, a
 * target it cannot serve), plain text or, once the target is known, in
 * its protocol's shape through the server's refusal callback.  The
 * connection's state machine is http_conn.c's.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include <http_parser.h>

#include "error.h"
#include "log.h"
#include "util.h"
#include "http.h"
#include "http_priv.h"

/* --- answers -------------------------------------------------------------- */

static size_t
u64_format(char *out, uint64_t v)
{
	char	 tmp[24];
	size_t	 n = 0, i;

	do {
		tmp[n++] = '0' + (char)(v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static char *
put(char *p, const char *s, size_t len)
{
	if (len > 0)
		memcpy(p, s, len);
	return p + len;
}

static const char *
http_reason(int status)
{
	const char	*reason;

	reason = http_status_str((enum http_status)status);
	return strcmp(reason, "<unknown>") == 0 ? "Unknown" : reason;
}

void
http_conn_write_head(struct http_conn *conn, int status, const char *ctype,
    int64_t clen, int close, int with_rhdr, const char *extra)
{
	struct http_server	*srv = conn->srv;
	struct evbuffer		*out = bufferevent_get_output(conn->bev);
	struct evbuffer_iovec	 v;
	const char		*reason = http_reason(status);
	size_t			 need, rlen, ctlen, elen;
	char			*p;

	http_server_date(srv);
	rlen = strlen(reason);
	ctlen = ctype != NULL ? strlen(ctype) : 0;
	elen = extra != NULL ? strlen(extra) : 0;
	need = 16 + rlen + srv->date_len + (with_rhdr ? conn->rhdr.len : 0) +
	    16 + ctlen + 40 + 32 + elen + 2;
	if (evbuffer_reserve_space(out, need, &v, 1) < 1 || v.iov_len < need) {
		log_warnx("http: %s: cannot queue a response", conn->peer);
		return;
	}
	p = v.iov_base;
	p = put(p, "HTTP/1.1 ", 9);
	*p++ = '0' + status / 100;
	*p++ = '0' + status / 10 % 10;
	*p++ = '0' + status % 10;
	*p++ = ' ';
	p = put(p, reason, rlen);
	p = put(p, "\r\n", 2);
	p = put(p, srv->date, srv->date_len);
	if (with_rhdr)
		p = put(p, conn->rhdr.p, conn->rhdr.len);
	if (ctype != NULL) {
		p = put(p, "Content-Type: ", 14);
		p = put(p, ctype, ctlen);
		p = put(p, "\r\n", 2);
	}
	if (clen >= 0) {
		p = put(p, "Content-Length: ", 16);
		p += u64_format(p, (uint64_t)clen);
		p = put(p, "\r\n", 2);
	}
	if (extra != NULL)
		p = put(p, extra, elen);
	if (close)
		p = put(p, "Connection: close\r\n", 19);
	else if (conn->req.http_minor == 0)
		p = put(p, "Connection: keep-alive\r\n", 24);
	p = put(p, "\r\n", 2);
	v.iov_len = p - (char *)v.iov_base;
	evbuffer_commit_space(out, &v, 1);
}

/* The layer's own error response: a line of text, then close. */
static void
conn_write_error(struct http_conn *conn, int status, const char *reason,
    const char *extra)
{
	char	 body[160];
	int	 n;

	n = snprintf(body, sizeof(body), "%s\n", reason);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	http_conn_write_head(conn, status, "text/plain", n, 1, 0, extra);
	if (!conn->req.is_head)
		evbuffer_add(bufferevent_get_output(conn->bev), body, n);
}

/*
 * Gives a request the layer refuses the method and path it has read:
 * the decoded path when the target was parsed, else the target as it
 * came (for one too long, what arrived of it) up to its query.  Its
 * headers are hidden: they may be incomplete.  0, or -1 when the request
 * line is not that far.
 */
static int
conn_refused_target(struct http_conn *conn, int err)
{
	struct http_request	*req = &conn->req;
	char			*q;

	if (conn->phase != PHASE_HEAD || conn->url_len == 0 ||
	    (!conn->url_complete && err != BERR_URI_TOO_LONG))
		return -1;
	if (!conn->url_done) {
		hbuf_add(&conn->head, "", 1);
		conn->url_done = 1;
	}
	req->method = http_method_str(conn->parser.method);
	req->is_head = conn->parser.method == HTTP_HEAD;
	if (req->path == NULL) {
		if ((q = strchr(conn->head.p, '?')) != NULL)
			*q = '\0';
		req->raw_path = req->path = conn->head.p;
	}
	conn->nheaders = 0;
	return 0;
}

void
http_conn_refuse(struct http_conn *conn, int err, const char *reason)
{
	struct http_server	*srv = conn->srv;
	struct http_request	*req = &conn->req;
	int			 status = berr_http_status(err);

	if (conn->bev == NULL)
		return;
	log_debug("http: %s: refused with %d: %s", conn->peer, status,
	    reason);
	req->close = 1;
	if (conn_refused_target(conn, err) == 0 && srv->refusal_cb != NULL) {
		req->refused = 1;
		srv->refusal_cb(req, err, reason, srv->refusal_arg);
		if (!req->responded)
			log_warnx("http: %s %s: refusal left unanswered",
			    req->method, req->raw_path);
	}
	if (!req->responded) {
		conn_write_error(conn, status, reason,
		    status == 503 ? "Retry-After: 1\r\n" : NULL);
		req->status = status;
		req->bytes_out = req->is_head ? 0 : strlen(reason) + 1;
	}
	http_conn_summary(conn, req->method != NULL ? req->method : "-",
	    req->raw_path != NULL ? req->raw_path : "-", req->status, 0,
	    req->bytes_out, req->start_us);
	http_conn_closing(conn);
}

