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
 * berthd's HTTP/1.1 server layer; the contract is in http.h.
 *
 * Each connection owns one http_parser, fed straight from the segments of
 * its bufferevent's input.  The parser is paused wherever the layer has to
 * wait: after the headers of a request with a body (until someone asks for
 * the body), at the end of every message (until its response is queued),
 * and when the descriptor a body streams into is full.  Parser callbacks
 * only record what happened; user callbacks run from conn_process(), never
 * inside http_parser_execute(), and API calls made from them only set state
 * that the conn_process() loop picks up (or schedule it when called from
 * elsewhere).
 *
 * A connection and its one request live in one allocation, reused from
 * request to request.  When the client goes while its request is with the
 * handler, the socket is closed and the rest stays until the handler
 * answers.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <http_parser.h>

#include "error.h"
#include "log.h"
#include "util.h"
#include "http.h"

#define HTTP_READ_HIGH		(256 * 1024)	/* input held per connection */
#define HTTP_READ_MAX		(128 * 1024)	/* one read from the socket */
#define HTTP_FEED_MAX		(64 * 1024)	/* one http_parser_execute() */
#define HTTP_OUT_PIPELINE	(64 * 1024)	/* parse on while output below */
#define HTTP_DISCARD_MAX	(64 * 1024)	/* unread body read and dropped */
#define HTTP_LINGER		2		/* s: drain input before close */
#define HTTP_REFUSED_MAX	64		/* 503s in flight at once */
#define HTTP_LINE_OVERHEAD	16		/* method, version, CRLF */
#define HTTP_BUF_MIN		512

enum http_phase {
	PHASE_IDLE,		/* between requests */
	PHASE_HEAD,		/* in a request line or its headers */
	PHASE_REQUEST,		/* a request is being handled */
	PHASE_CLOSING,		/* flushing the last response, then lingering */
	PHASE_CLOSED		/* the socket is gone */
};

enum http_body_state {
	BODY_IDLE,		/* nobody asked; the parser waits before it */
	BODY_MEMORY,		/* collecting for http_request_read_body() */
	BODY_FD,		/* streaming for http_request_body_to_fd() */
	BODY_FD_BLOCKED,	/* ... and the descriptor is full */
	BODY_DISCARD,		/* read and dropped after the response */
	BODY_STOPPED,		/* its reader failed or gave up midway */
	BODY_ABANDONED,		/* left unread: the connection closes */
	BODY_DONE		/* the whole message has been parsed */
};

enum http_timer {
	TIMER_NONE,
	TIMER_IDLE,
	TIMER_HEADER,
	TIMER_LINGER
};

enum http_hstate {
	HSTATE_URL,
	HSTATE_FIELD,
	HSTATE_VALUE
};

struct http_buf {
	char		*p;
	size_t		 len;
	size_t		 size;
};

/* Offsets into conn->head, which may move while headers arrive. */
struct http_header {
	uint32_t	 name;
	uint32_t	 name_len;
	uint32_t	 value;
};

/* Offsets into conn->qbuf. */
struct http_param {
	uint32_t	 key;
	uint32_t	 value;
};

struct http_request {
	struct http_conn	*conn;
	const char		*method;
	const char		*path;
	const char		*raw_path;
	const char		*query;
	const char		*route_class;
	int64_t			 content_length;
	int64_t			 start_us;
	uint64_t		 body_received;
	uint64_t		 bytes_out;
	int			 status;
	int			 http_minor;
	int			 is_head;
	int			 chunked;
	int			 expect_continue;
	int			 sent_continue;
	int			 delivered;
	int			 responded;
	int			 gone;
	int			 close;
	int			 params_parsed;

	enum http_body_state	 body_state;
	http_body_cb		 body_cb;
	void			*body_arg;
	size_t			 body_limit;
	int			 body_fd;
	int			 body_err;
	int			 body_cb_due;
	const char		*body;
	size_t			 body_len;
};

struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	struct http_server	*srv;
	struct bufferevent	*bev;
	struct event		*timer;
	struct event		*defer;
	struct event		*fd_ev;
	http_parser		 parser;
	enum http_phase		 phase;
	enum http_timer		 timer_kind;
	int			 timer_dirty;
	int			 read_timeout;
	int			 reading;
	int			 writing;	/* EV_WRITE on: output blocked */
	int			 read_eof;
	int			 lingering;
	int			 refused;
	int			 close_after;
	int			 keep_alive;
	int			 in_process;
	int			 error_status;
	const char		*error_reason;

	struct http_buf		 head;
	size_t			 head_bytes;
	size_t			 url_len;
	int			 url_done;
	enum http_hstate	 hstate;
	struct http_header	*headers;
	size_t			 nheaders;
	size_t			 headers_size;
	size_t			 trailer_bytes;

	struct http_buf		 qbuf;
	struct http_param	*params;
	size_t			 nparams;
	size_t			 params_size;

	struct http_buf		 rhdr;
	char			*rbuf;		/* bulk reads, lent to the input */
	size_t			 rbuf_used;
	int			 rbuf_refs;
	struct evbuffer		*body;
	char			*pending;
	size_t			 pending_off;
	size_t			 pending_len;

	struct sockaddr_storage	 ss;
	char			 peer[INET6_ADDRSTRLEN + 8];
	struct http_request	 req;
};

TAILQ_HEAD(http_conns, http_conn);

#define HTTP_BACKLOG	1024

struct http_server {
	struct event_base	*base;
	struct http_limits	 limits;
	http_request_cb		 cb;
	void			*arg;
	http_summary_cb		 summary_cb;
	void			*summary_arg;
	struct evconnlistener	**listeners;
	size_t			 nlisteners;
	int			 port;
	struct http_conns	 conns;
	size_t			 nconns;
	size_t			 nrefused;
	const struct timeval	*idle_tv;
	const struct timeval	*header_tv;
	const struct timeval	*io_tv;
	struct timeval		 tv_store[3];
	struct event		*accept_ev;
	int			 draining;
	int			 paused;
	int			 unlistened;	/* bound, listen() not yet called */
	struct event		*drain_ev;
	void			(*drain_done)(void *);
	void			*drain_arg;
	time_t			 date_sec;
	size_t			 date_len;
	char			 date[128];
};

static const struct timeval http_linger_tv = { HTTP_LINGER, 0 };

static int	parse_begin_cb(http_parser *);
static int	parse_url_cb(http_parser *, const char *, size_t);
static int	parse_field_cb(http_parser *, const char *, size_t);
static int	parse_value_cb(http_parser *, const char *, size_t);
static int	parse_headers_done_cb(http_parser *);
static int	parse_body_cb(http_parser *, const char *, size_t);
static int	parse_message_done_cb(http_parser *);

static const http_parser_settings http_settings = {
	.on_message_begin = parse_begin_cb,
	.on_url = parse_url_cb,
	.on_header_field = parse_field_cb,
	.on_header_value = parse_value_cb,
	.on_headers_complete = parse_headers_done_cb,
	.on_body = parse_body_cb,
	.on_message_complete = parse_message_done_cb,
};

static void	conn_process(struct http_conn *);
static void	conn_close_socket(struct http_conn *);
static void	conn_closing(struct http_conn *);
static void	conn_body_fd_cb(evutil_socket_t, short, void *);
static void	server_drain_cb(evutil_socket_t, short, void *);

/* --- small helpers -------------------------------------------------------- */

static void
hbuf_reserve(struct http_buf *b, size_t more)
{
	size_t	 size;

	if (b->size - b->len >= more)
		return;
	size = b->size != 0 ? b->size : HTTP_BUF_MIN;
	while (size - b->len < more)
		size *= 2;
	b->p = xreallocarray(b->p, 1, size);
	b->size = size;
}

static void
hbuf_add(struct http_buf *b, const void *data, size_t len)
{
	hbuf_reserve(b, len);
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void
hbuf_free(struct http_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->size = 0;
}

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

/*
 * Percent-decodes src into dst (at most len bytes); '+' becomes a space if
 * plus is set.  Returns the decoded length, or -1 on a malformed escape or
 * an encoded NUL.
 */
static ssize_t
http_unescape(char *dst, const char *src, size_t len, int plus)
{
	size_t	 i, n = 0;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		if (src[i] == '%') {
			if (len - i < 3 || (hi = hex_digit_value((unsigned char)src[i + 1])) < 0 ||
			    (lo = hex_digit_value((unsigned char)src[i + 2])) < 0)
				return -1;
			if (hi == 0 && lo == 0)
				return -1;
			dst[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && src[i] == '+')
			dst[n++] = ' ';
		else
			dst[n++] = src[i];
	}
	return (ssize_t)n;
}

static int
http_status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

static const char *
http_reason(int status)
{
	const char	*reason;

	reason = http_status_str((enum http_status)status);
	return strcmp(reason, "<unknown>") == 0 ? "Unknown" : reason;
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

/* "Date: ...\r\nServer: ...\r\n", rebuilt once a second. */
static void
server_date(struct http_server *srv)
{
	static const char	*days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char	*months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct timeval		 tv;
	struct tm		 tm;
	time_t			 t;
	int			 n;

	event_base_gettimeofday_cached(srv->base, &tv);
	t = tv.tv_sec;
	if (srv->date_len != 0 && t == srv->date_sec)
		return;
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	n = snprintf(srv->date, sizeof(srv->date),
	    "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n"
	    "Server: berth/%s\r\n",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    PACKAGE_VERSION);
	srv->date_len = n > 0 && (size_t)n < sizeof(srv->date) ? (size_t)n : 0;
	srv->date_sec = t;
}

/* --- connections ------------------------------------------------------------ */

static int
conn_held(const struct http_conn *conn)
{
	return conn->req.delivered && !conn->req.responded;
}

static void
conn_schedule(struct http_conn *conn)
{
	if (conn->in_process == 0 && conn->defer != NULL)
		event_active(conn->defer, EV_TIMEOUT, 1);
}

static void
conn_reset_request(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	memset(req, 0, sizeof(*req));
	req->conn = conn;
	req->body_fd = -1;
	req->content_length = -1;
	conn->head.len = 0;
	conn->head_bytes = HTTP_LINE_OVERHEAD;
	conn->url_len = 0;
	conn->url_done = 0;
	conn->hstate = HSTATE_URL;
	conn->nheaders = 0;
	conn->trailer_bytes = 0;
	conn->nparams = 0;
	conn->rhdr.len = 0;
	conn->pending_len = 0;
	conn->error_status = 0;
	conn->error_reason = NULL;
	if (conn->body != NULL && evbuffer_get_length(conn->body) != 0)
		evbuffer_drain(conn->body, evbuffer_get_length(conn->body));
}

/*
 * Ends an active body reader: closes its descriptor and, if notify is set,
 * arranges for its callback to run with err.
 */
static void
req_body_end(struct http_request *req, int err, int notify)
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
		close(req->body_fd);
		req->body_fd = -1;
	}
	conn->pending_len = 0;
	req->body_state = BODY_STOPPED;
	if (notify) {
		req->body_err = err;
		req->body_cb_due = 1;
	}
}

static void
conn_summary(struct http_conn *conn, const char *method, const char *path,
    int status, uint64_t bytes_in, uint64_t bytes_out, int64_t start_us)
{
	struct http_server		*srv = conn->srv;
	struct http_request_summary	 s;

	if (srv == NULL)
		return;
	s.method = method;
	s.path = path;
	s.status = status;
	s.bytes_in = bytes_in;
	s.bytes_out = bytes_out;
	s.duration_us = start_us != 0 ? mono_us() - start_us : 0;
	s.route_class = conn->req.route_class != NULL ?
	    conn->req.route_class : "";
	s.peer = conn->peer;
	if (srv->summary_cb != NULL)
		srv->summary_cb(&s, srv->summary_arg);
	else if (log_verbosity() >= LOG_LVL_INFO)
		log_info("ACCESS %s \"%s %s\" %d %llu %lldms", conn->peer,
		    method, path, status, (unsigned long long)bytes_out,
		    (long long)(s.duration_us / 1000));
}

static void
conn_summary_req(struct http_conn *conn, int status)
{
	struct http_request	*req = &conn->req;

	conn_summary(conn, req->method, req->raw_path, status,
	    req->body_received, req->bytes_out, req->start_us);
}

/* Returns what the input holds of conn->rbuf before the bufferevent goes,
 * whose freeing may be deferred past conn's. */
static void
conn_drop_input(struct http_conn *conn)
{
	struct evbuffer	*in = bufferevent_get_input(conn->bev);

	if (evbuffer_get_length(in) != 0)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void
conn_free(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	if (conn->bev != NULL)
		conn_close_socket(conn);
	if (req->body_fd != -1) {
		if (conn->fd_ev != NULL)
			event_del(conn->fd_ev);
		close(req->body_fd);
		req->body_fd = -1;
	}
	if (conn->srv != NULL)
		TAILQ_REMOVE(&conn->srv->conns, conn, entry);
	if (conn->timer != NULL)
		event_free(conn->timer);
	if (conn->defer != NULL)
		event_free(conn->defer);
	if (conn->fd_ev != NULL)
		event_free(conn->fd_ev);
	if (conn->body != NULL)
		evbuffer_free(conn->body);
	hbuf_free(&conn->head);
	hbuf_free(&conn->qbuf);
	hbuf_free(&conn->rhdr);
	free(conn->headers);
	free(conn->params);
	free(conn->pending);
	free(conn->rbuf);
	free(conn);
}

/*
 * Closes the socket.  A request still with its handler becomes gone (its
 * body reader is told BERR_BAD_REQUEST); the rest is freed by
 * conn_process() once nothing holds it.
 */
static void
conn_close_socket(struct http_conn *conn)
{
	struct http_server	*srv = conn->srv;
	struct http_request	*req = &conn->req;

	if (conn->bev == NULL)
		return;
	conn_drop_input(conn);
	bufferevent_free(conn->bev);
	conn->bev = NULL;
	if (conn->timer != NULL)
		evtimer_del(conn->timer);
	conn->timer_kind = TIMER_NONE;
	conn->phase = PHASE_CLOSED;
	if (conn_held(conn)) {
		req->gone = 1;
		req_body_end(req, BERR_BAD_REQUEST, 1);
	}
	if (srv == NULL)
		return;
	if (conn->refused)
		srv->nrefused--;
	else
		srv->nconns--;
	if (srv->draining && srv->nconns + srv->nrefused == 0)
		event_active(srv->drain_ev, EV_TIMEOUT, 1);
}

/* The output is flushed: half-close and read until the client closes. */
static void
conn_linger(struct http_conn *conn)
{
	if (conn->lingering || conn->bev == NULL)
		return;
	conn->lingering = 1;
	conn->timer_dirty = 1;
	if (conn->read_eof) {
		conn_close_socket(conn);
		return;
	}
	(void)shutdown(bufferevent_getfd(conn->bev), SHUT_WR);
}

/*
 * Closes after the output is flushed.  Input is read and dropped until then
 * (and for a moment after), so that a client still sending a body it was
 * refused reads the response instead of a reset.
 */
static void
conn_closing(struct http_conn *conn)
{
	if (conn->bev == NULL)
		return;
	conn->phase = PHASE_CLOSING;
	conn->timer_dirty = 1;
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0)
		conn_linger(conn);
}

/*
 * Queues a status line and headers; clen < 0 sends no Content-Length.
 * extra holds complete header lines of the layer's own.
 */
static void
conn_write_head(struct http_conn *conn, int status, const char *ctype,
    int64_t clen, int close, int with_rhdr, const char *extra)
{
	struct http_server	*srv = conn->srv;
	struct evbuffer		*out = bufferevent_get_output(conn->bev);
	struct evbuffer_iovec	 v;
	const char		*reason = http_reason(status);
	size_t			 need, rlen, ctlen, elen;
	char			*p;

	server_date(srv);
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
	conn_write_head(conn, status, "text/plain", n, 1, 0, extra);
	if (!conn->req.is_head)
		evbuffer_add(bufferevent_get_output(conn->bev), body, n);
}

/* Refuses a request before it reached the handler. */
static void
conn_refuse(struct http_conn *conn, int status, const char *reason,
    const char *extra)
{
	const char	*method = "-", *path = "-";
	char		*q;

	if (conn->bev == NULL)
		return;
	if (conn->phase == PHASE_HEAD && conn->url_done) {
		method = http_method_str(conn->parser.method);
		path = conn->head.p;
		if ((q = strchr(conn->head.p, '?')) != NULL)
			*q = '\0';
	}
	conn_write_error(conn, status, reason, extra);
	conn_summary(conn, method, path, status, 0,
	    conn->req.is_head ? 0 : strlen(reason) + 1, conn->req.start_us);
	conn_closing(conn);
}

/* A request the handler has answered is over; next one, or close. */
static void
conn_finish(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	conn_summary_req(conn, req->status);
	if (req->close || conn->close_after ||
	    (conn->srv != NULL && conn->srv->draining)) {
		conn_closing(conn);
		return;
	}
	conn_reset_request(conn);
	conn->phase = PHASE_IDLE;
	conn->timer_dirty = 1;
}

/* The client broke off or garbled a body: answer 400 and close. */
static void
conn_body_error(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	if (req->responded) {
		req->body_state = BODY_ABANDONED;
		req->close = 1;
		return;
	}
	req_body_end(req, BERR_BAD_REQUEST, 1);
	req->gone = 1;
	req->status = 400;
	conn_write_error(conn, 400, "malformed or incomplete request body",
	    NULL);
	conn_closing(conn);
}

/* A gone request was answered: it needs nothing more. */
static void
conn_release(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	/* 499: the client went before an answer (nginx's convention). */
	conn_summary_req(conn, req->status != 0 ? req->status : 499);
	req_body_end(req, 0, 0);
	if (conn->in_process == 0 && conn->bev == NULL)
		conn_free(conn);
}

/*
 * Runs the parser over the buffered input.  Returns 1 when it paused (there
 * is something to act on), 0 when it used up the input, -1 on an error.
 */
static int
conn_parse(struct http_conn *conn)
{
	struct evbuffer		*in = bufferevent_get_input(conn->bev);
	struct evbuffer_iovec	 v[4];
	enum http_errno		 err;
	size_t			 len, used;
	int			 i, n;

	while (evbuffer_get_length(in) != 0) {
		n = evbuffer_peek(in, -1, NULL, v, nitems(v));
		if (n > (int)nitems(v))
			n = nitems(v);
		for (i = 0; i < n && v[i].iov_len == 0; i++)
			;
		if (i == n) {
			v[0].iov_base = evbuffer_pullup(in, -1);
			v[0].iov_len = evbuffer_get_length(in);
			i = 0;
		}
		len = v[i].iov_len > HTTP_FEED_MAX ? HTTP_FEED_MAX :
		    v[i].iov_len;
		http_parser_pause(&conn->parser, 0);
		used = http_parser_execute(&conn->parser, &http_settings,
		    v[i].iov_base, len);
		if (used != 0)
			evbuffer_drain(in, used);
		err = HTTP_PARSER_ERRNO(&conn->parser);
		if (err == HPE_PAUSED)
			return 1;
		if (err != HPE_OK)
			return -1;
		if (used != len)
			return -1;
	}
	return 0;
}

static void
conn_head_error(struct http_conn *conn)
{
	enum http_errno	 err = HTTP_PARSER_ERRNO(&conn->parser);
	const char	*reason;
	int		 status;

	if (conn->error_status != 0) {
		status = conn->error_status;
		reason = conn->error_reason;
	} else if (err == HPE_HEADER_OVERFLOW) {
		status = 431;
		reason = "request header fields too large";
	} else {
		status = 400;
		reason = http_errno_description(err);
	}
	log_debug("http: %s: refused with %d: %s", conn->peer, status, reason);
	conn_refuse(conn, status, reason, NULL);
}

static int
conn_step_head(struct http_conn *conn)
{
	struct evbuffer	*in = bufferevent_get_input(conn->bev);

	if (evbuffer_get_length(in) == 0) {
		if (!conn->read_eof)
			return 0;
		conn_closing(conn);
		return 1;
	}
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) >
	    HTTP_OUT_PIPELINE)
		return 0;
	switch (conn_parse(conn)) {
	case -1:
		conn_head_error(conn);
		return 1;
	case 0:
		/* All used up; after the end of input, act on that. */
		return conn->read_eof;
	default:
		return 1;
	}
}

static int
conn_step_request(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	if (req->responded && (req->body_state == BODY_DONE ||
	    req->body_state == BODY_ABANDONED)) {
		conn_finish(conn);
		return 1;
	}
	switch (req->body_state) {
	case BODY_MEMORY:
	case BODY_FD:
	case BODY_DISCARD:
		break;
	default:
		/*
		 * Like Go's server: the end of input while the handler works
		 * means the client left, unless requests still wait.  (An
		 * unread body finds out when it is read.)
		 */
		if (conn->read_eof && conn_held(conn) &&
		    req->body_state == BODY_DONE && evbuffer_get_length(
		    bufferevent_get_input(conn->bev)) == 0) {
			conn_close_socket(conn);
			return 1;
		}
		return 0;
	}
	if (evbuffer_get_length(bufferevent_get_input(conn->bev)) == 0) {
		if (!conn->read_eof)
			return 0;
		conn_body_error(conn);
		return 1;
	}
	switch (conn_parse(conn)) {
	case -1:
		log_debug("http: %s: bad body: %s", conn->peer,
		    http_errno_description(HTTP_PARSER_ERRNO(&conn->parser)));
		conn_body_error(conn);
		return 1;
	case 0:
		/* All used up; after the end of input, act on that. */
		return conn->read_eof;
	default:
		return 1;
	}
}

static void
conn_step_closing(struct http_conn *conn)
{
	struct evbuffer	*in = bufferevent_get_input(conn->bev);

	if (evbuffer_get_length(in) != 0)
		evbuffer_drain(in, evbuffer_get_length(in));
	if (conn->read_eof &&
	    evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0)
		conn_close_socket(conn);
}

/* One step; returns whether anything changed. */
static int
conn_step(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	if (conn->phase == PHASE_REQUEST && !req->delivered) {
		req->delivered = 1;
		conn->srv->cb(req, conn->srv->arg);
		return 1;
	}
	if (req->body_cb_due) {
		req->body_cb_due = 0;
		req->body_cb(req, req->body_err, req->body_arg);
		return 1;
	}
	if (conn->bev == NULL)
		return 0;
	switch (conn->phase) {
	case PHASE_IDLE:
	case PHASE_HEAD:
		return conn_step_head(conn);
	case PHASE_REQUEST:
		return conn_step_request(conn);
	case PHASE_CLOSING:
		conn_step_closing(conn);
		return 0;
	case PHASE_CLOSED:
		break;
	}
	return 0;
}

static const struct timeval *
conn_timer_tv(const struct http_conn *conn, enum http_timer kind)
{
	switch (kind) {
	case TIMER_IDLE:
		return conn->srv->idle_tv;
	case TIMER_HEADER:
		return conn->srv->header_tv;
	case TIMER_LINGER:
		return &http_linger_tv;
	case TIMER_NONE:
		break;
	}
	return NULL;
}

/* Sets the timer, read timeout and reading to what the state needs. */
static void
conn_update_io(struct http_conn *conn)
{
	struct http_server	*srv = conn->srv;
	struct http_request	*req = &conn->req;
	const struct timeval	*tv;
	enum http_timer		 kind;
	int			 want;

	switch (conn->phase) {
	case PHASE_IDLE:
		kind = TIMER_IDLE;
		break;
	case PHASE_HEAD:
		kind = TIMER_HEADER;
		break;
	case PHASE_CLOSING:
		kind = conn->lingering ? TIMER_LINGER : TIMER_NONE;
		break;
	default:
		kind = TIMER_NONE;
		break;
	}
	if ((tv = conn_timer_tv(conn, kind)) == NULL)
		kind = TIMER_NONE;
	if (kind != conn->timer_kind || (conn->timer_dirty && tv != NULL)) {
		if (tv == NULL)
			evtimer_del(conn->timer);
		else
			evtimer_add(conn->timer, tv);
		conn->timer_kind = kind;
	}
	conn->timer_dirty = 0;

	want = conn->phase == PHASE_REQUEST &&
	    (req->body_state == BODY_MEMORY || req->body_state == BODY_FD ||
	    req->body_state == BODY_DISCARD);
	if (want != conn->read_timeout) {
		bufferevent_set_timeouts(conn->bev, want ? srv->io_tv : NULL,
		    srv->io_tv);
		conn->read_timeout = want;
	}
	want = !conn->read_eof && !(conn->phase == PHASE_REQUEST &&
	    req->body_state == BODY_FD_BLOCKED);
	if (want != conn->reading) {
		if (want)
			bufferevent_enable(conn->bev, EV_READ);
		else
			bufferevent_disable(conn->bev, EV_READ);
		conn->reading = want;
	}
}

/*
 * Writes queued output straight away: arming the write event for every
 * response would cost two epoll_ctl()s and a loop iteration each.  Only
 * output the socket does not take goes to the bufferevent.  Returns 1
 * when the output was emptied (the state may move on), else 0.
 */
static int
conn_flush(struct http_conn *conn)
{
	struct evbuffer	*out = bufferevent_get_output(conn->bev);
	int		 n;

	if (conn->writing || evbuffer_get_length(out) == 0)
		return 0;
	/* The bufferevent keeps its output's start frozen but for its own
	 * writes; so do we. */
	evbuffer_unfreeze(out, 1);
	errno = 0;
	n = evbuffer_write(out, bufferevent_getfd(conn->bev));
	evbuffer_freeze(out, 1);
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) {
		log_debug("http: %s: write: %s", conn->peer, strerror(errno));
		conn_close_socket(conn);
		return 1;
	}
	if (evbuffer_get_length(out) != 0) {
		bufferevent_enable(conn->bev, EV_WRITE);
		conn->writing = 1;
		return 0;
	}
	if (conn->phase == PHASE_CLOSING)
		conn_linger(conn);
	return 1;
}

/* Acts on everything that has happened; may free conn. */
static void
conn_process(struct http_conn *conn)
{
	conn->in_process++;
	do {
		while (conn_step(conn))
			;
	} while (conn->bev != NULL && conn_flush(conn));
	if (--conn->in_process != 0)
		return;
	if (conn->bev == NULL) {
		if (!conn_held(conn))
			conn_free(conn);
		return;
	}
	conn_update_io(conn);
}

static void
conn_rbuf_release_cb(const void *data, size_t len, void *arg)
{
	struct http_conn	*conn = arg;

	if (--conn->rbuf_refs == 0)
		conn->rbuf_used = 0;
}

/*
 * libevent 2.1 reads at most 4 KiB at a time (EVBUFFER_MAX_READ), one read
 * per loop iteration: fine for requests, far too slow for a body streaming
 * at a gigabyte a second.  While a body is read, top the input up with
 * bigger reads of our own into a buffer of the connection's, lent to the
 * input by reference: allocating and freeing chains of that size makes
 * malloc give memory back and fault it in again.  End of file and errors
 * are left for the bufferevent to find.
 */
static void
conn_read_more(struct http_conn *conn)
{
	struct evbuffer	*in = bufferevent_get_input(conn->bev);
	size_t		 len, room;
	ssize_t		 n;

	if (conn->rbuf == NULL)
		conn->rbuf = xmalloc(HTTP_READ_HIGH);
	evbuffer_unfreeze(in, 0);
	while ((len = evbuffer_get_length(in)) < HTTP_READ_HIGH) {
		room = HTTP_READ_HIGH - conn->rbuf_used;
		if (room > HTTP_READ_HIGH - len)
			room = HTTP_READ_HIGH - len;
		if (room < HTTP_READ_HIGH / 8)
			break;
		n = read(bufferevent_getfd(conn->bev),
		    conn->rbuf + conn->rbuf_used, room);
		if (n <= 0)
			break;
		if (evbuffer_add_reference(in, conn->rbuf + conn->rbuf_used,
		    n, conn_rbuf_release_cb, conn) == -1)
			fatalx("http: evbuffer_add_reference");
		conn->rbuf_refs++;
		conn->rbuf_used += n;
		if ((size_t)n < room)
			break;
	}
	evbuffer_freeze(in, 0);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn	*conn = arg;

	if (conn->phase == PHASE_REQUEST) {
		switch (conn->req.body_state) {
		case BODY_MEMORY:
		case BODY_FD:
		case BODY_DISCARD:
			conn_read_more(conn);
			break;
		default:
			break;
		}
	}
	conn_process(conn);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn	*conn = arg;

	bufferevent_disable(bev, EV_WRITE);
	conn->writing = 0;
	if (conn->phase == PHASE_CLOSING)
		conn_linger(conn);
	conn_process(conn);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn	*conn = arg;

	if (what & BEV_EVENT_EOF)
		conn->read_eof = 1;
	else {
		if (what & BEV_EVENT_TIMEOUT)
			log_debug("http: %s: %s timed out", conn->peer,
			    what & BEV_EVENT_READING ? "read" : "write");
		conn_close_socket(conn);
	}
	conn_process(conn);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*conn = arg;
	enum http_timer		 kind = conn->timer_kind;

	conn->timer_kind = TIMER_NONE;
	switch (kind) {
	case TIMER_IDLE:
		if (conn->phase == PHASE_IDLE && evbuffer_get_length(
		    bufferevent_get_output(conn->bev)) == 0)
			conn_close_socket(conn);
		break;
	case TIMER_HEADER:
		if (conn->phase == PHASE_HEAD)
			conn_refuse(conn, 408, "request headers took too long",
			    NULL);
		break;
	case TIMER_LINGER:
		conn_close_socket(conn);
		break;
	case TIMER_NONE:
		break;
	}
	conn_process(conn);
}

static void
conn_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_process(arg);
}

static void
conn_format_peer(struct http_conn *conn)
{
	char	 addr[INET6_ADDRSTRLEN];

	switch (conn->ss.ss_family) {
	case AF_INET: {
		struct sockaddr_in *sin = (struct sockaddr_in *)&conn->ss;

		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(conn->peer, sizeof(conn->peer), "%s:%u", addr,
		    ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&conn->ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		snprintf(conn->peer, sizeof(conn->peer), "[%s]:%u", addr,
		    ntohs(sin6->sin6_port));
		break;
	}
	default:
		snprintf(conn->peer, sizeof(conn->peer), "local");
		break;
	}
}

static void
server_add_conn(struct http_server *srv, evutil_socket_t fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct http_conn	*conn;
	int			 refused;

	refused = srv->limits.max_connections > 0 &&
	    srv->nconns >= (size_t)srv->limits.max_connections;
	if (refused && srv->nrefused >= HTTP_REFUSED_MAX) {
		close(fd);
		return;
	}
	conn = xcalloc(1, sizeof(*conn));
	conn->srv = srv;
	conn->refused = refused;
	if (sa != NULL && salen > 0)
		memcpy(&conn->ss, sa, (size_t)salen < sizeof(conn->ss) ?
		    (size_t)salen : sizeof(conn->ss));
	conn_format_peer(conn);
	if ((conn->bev = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("http: %s: cannot set up the connection", conn->peer);
		close(fd);
		free(conn);
		return;
	}
	if ((conn->timer = evtimer_new(srv->base, conn_timer_cb, conn)) ==
	    NULL || (conn->defer = event_new(srv->base, -1, 0, conn_defer_cb,
	    conn)) == NULL)
		fatalx("http: event_new");
	http_parser_init(&conn->parser, HTTP_REQUEST);
	conn->parser.data = conn;
	conn_reset_request(conn);
	bufferevent_setcb(conn->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    conn);
	bufferevent_setwatermark(conn->bev, EV_READ, 0, HTTP_READ_HIGH);
	bufferevent_set_max_single_read(conn->bev, HTTP_READ_MAX);
	bufferevent_set_timeouts(conn->bev, NULL, srv->io_tv);
	bufferevent_enable(conn->bev, EV_READ);
	bufferevent_disable(conn->bev, EV_WRITE);
	conn->reading = 1;
	conn->phase = PHASE_IDLE;
	conn->timer_dirty = 1;
	TAILQ_INSERT_TAIL(&srv->conns, conn, entry);
	if (refused) {
		srv->nrefused++;
		log_debug("http: %s: too many connections", conn->peer);
		conn_refuse(conn, 503, "too many connections",
		    "Retry-After: 1\r\n");
	} else
		srv->nconns++;
	conn_process(conn);
}

/* --- the parser's callbacks ------------------------------------------------ */

static int
conn_parse_fail(struct http_conn *conn, int status, const char *reason)
{
	conn->error_status = status;
	conn->error_reason = reason;
	return -1;
}

static int
conn_head_count(struct http_conn *conn, size_t len)
{
	conn->head_bytes += len;
	if (conn->head_bytes > conn->srv->limits.max_header_bytes)
		return conn_parse_fail(conn, 431,
		    "request header fields too large");
	return 0;
}

/* Ends the URL, a header name or a header value with a NUL. */
static void
conn_head_end_item(struct http_conn *conn)
{
	struct http_header	*h;

	switch (conn->hstate) {
	case HSTATE_URL:
		if (!conn->url_done) {
			hbuf_add(&conn->head, "", 1);
			conn->url_done = 1;
		}
		break;
	case HSTATE_FIELD:
		h = &conn->headers[conn->nheaders - 1];
		hbuf_add(&conn->head, "", 1);
		h->value = conn->head.len;
		break;
	case HSTATE_VALUE:
		h = &conn->headers[conn->nheaders - 1];
		while (conn->head.len > h->value &&
		    (conn->head.p[conn->head.len - 1] == ' ' ||
		    conn->head.p[conn->head.len - 1] == '\t'))
			conn->head.len--;
		hbuf_add(&conn->head, "", 1);
		break;
	}
}

static int
conn_trailer_count(struct http_conn *conn, size_t len)
{
	conn->trailer_bytes += len;
	return conn->trailer_bytes > conn->srv->limits.max_header_bytes ?
	    -1 : 0;
}

static int
parse_begin_cb(http_parser *p)
{
	struct http_conn	*conn = p->data;

	if (conn->phase != PHASE_IDLE)
		return -1;
	conn->phase = PHASE_HEAD;
	conn->req.start_us = mono_us();
	conn->timer_dirty = 1;
	return 0;
}

static int
parse_url_cb(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*conn = p->data;

	if (conn->url_done)
		return -1;
	if (conn->url_len + len > conn->srv->limits.max_uri)
		return conn_parse_fail(conn, 414, "request URI too long");
	if (conn_head_count(conn, len) == -1)
		return -1;
	hbuf_add(&conn->head, at, len);
	conn->url_len += len;
	return 0;
}

static int
parse_field_cb(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*conn = p->data;
	struct http_header	*h;

	if (conn->phase == PHASE_REQUEST)
		return conn_trailer_count(conn, len);
	if (conn->hstate != HSTATE_FIELD) {
		conn_head_end_item(conn);
		if (conn->nheaders >= conn->srv->limits.max_headers)
			return conn_parse_fail(conn, 431,
			    "too many header fields");
		if (conn->nheaders == conn->headers_size) {
			conn->headers_size = conn->headers_size == 0 ? 16 :
			    conn->headers_size * 2;
			conn->headers = xreallocarray(conn->headers,
			    conn->headers_size, sizeof(*conn->headers));
		}
		h = &conn->headers[conn->nheaders++];
		h->name = conn->head.len;
		h->name_len = 0;
		h->value = 0;
		conn->hstate = HSTATE_FIELD;
		if (conn_head_count(conn, 4) == -1)
			return -1;
	}
	if (conn_head_count(conn, len) == -1)
		return -1;
	hbuf_add(&conn->head, at, len);
	conn->headers[conn->nheaders - 1].name_len += len;
	return 0;
}

static int
parse_value_cb(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*conn = p->data;

	if (conn->phase == PHASE_REQUEST)
		return conn_trailer_count(conn, len);
	if (conn->hstate == HSTATE_FIELD) {
		conn_head_end_item(conn);
		conn->hstate = HSTATE_VALUE;
	}
	if (conn_head_count(conn, len) == -1)
		return -1;
	hbuf_add(&conn->head, at, len);
	return 0;
}

/* RFC 9110 5.1 token characters. */
static int
http_token_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Debian builds http-parser without HTTP_PARSER_STRICT: it lets spaces
 * into names and control characters into values.  We do not. */
static int
http_header_valid(const char *name, size_t name_len, const char *value)
{
	const unsigned char	*v = (const unsigned char *)value;
	size_t			 i;

	if (name_len == 0)
		return 0;
	for (i = 0; i < name_len; i++)
		if (!http_token_char((unsigned char)name[i]))
			return 0;
	for (; *v != '\0'; v++)
		if ((*v < ' ' && *v != '\t') || *v == 127)
			return 0;
	return 1;
}

/* Content-Length, Transfer-Encoding and Expect, strictly. */
static int
conn_check_headers(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;
	struct http_header	*h;
	const char		*name, *value;
	uint64_t		 v, cl = 0;
	size_t			 i;
	int			 have_cl = 0, have_te = 0, expect = 0;

	for (i = 0; i < conn->nheaders; i++) {
		h = &conn->headers[i];
		name = conn->head.p + h->name;
		value = conn->head.p + h->value;
		if (!http_header_valid(name, h->name_len, value))
			return conn_parse_fail(conn, 400,
			    "malformed header field");
		switch (h->name_len) {
		case 14:
			if (strcasecmp(name, "Content-Length") != 0)
				break;
			if (parse_u64(value, strlen(value), &v) == -1 ||
			    v > INT64_MAX)
				return conn_parse_fail(conn, 400,
				    "invalid Content-Length");
			if (have_cl && v != cl)
				return conn_parse_fail(conn, 400,
				    "conflicting Content-Length headers");
			cl = v;
			have_cl = 1;
			break;
		case 17:
			if (strcasecmp(name, "Transfer-Encoding") == 0)
				have_te = 1;
			break;
		case 6:
			if (strcasecmp(name, "Expect") == 0 &&
			    strcasecmp(value, "100-continue") == 0)
				expect = 1;
			break;
		}
	}
	req->chunked = (conn->parser.flags & F_CHUNKED) != 0;
	if (have_te && have_cl)
		return conn_parse_fail(conn, 400,
		    "both Content-Length and Transfer-Encoding");
	if (have_te && !req->chunked)
		return conn_parse_fail(conn, 400,
		    "unsupported Transfer-Encoding");
	req->content_length = have_cl ? (int64_t)cl : -1;
	req->expect_continue = expect && conn->parser.http_minor == 1;
	return 0;
}

/* Splits the target into path and query and decodes the path. */
static int
conn_parse_target(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;
	struct http_parser_url	 u;
	size_t			 poff = 0, plen = 0, qoff = 0, qlen = 0;
	size_t			 raw, rawlen, query = 0, path;
	ssize_t			 n;
	int			 has_query;

	http_parser_url_init(&u);
	if (http_parser_parse_url(conn->head.p, conn->url_len,
	    conn->parser.method == HTTP_CONNECT, &u) != 0)
		return conn_parse_fail(conn, 400, "malformed request target");
	if (u.field_set & (1 << UF_PATH)) {
		poff = u.field_data[UF_PATH].off;
		plen = u.field_data[UF_PATH].len;
	}
	if ((has_query = (u.field_set & (1 << UF_QUERY)) != 0)) {
		qoff = u.field_data[UF_QUERY].off;
		qlen = u.field_data[UF_QUERY].len;
	}
	hbuf_reserve(&conn->head, 2 * plen + qlen + 8);
	raw = conn->head.len;
	rawlen = plen == 0 ? 1 : plen;
	if (plen == 0)
		hbuf_add(&conn->head, "/", 1);
	else
		hbuf_add(&conn->head, conn->head.p + poff, plen);
	hbuf_add(&conn->head, "", 1);
	if (has_query) {
		query = conn->head.len;
		hbuf_add(&conn->head, conn->head.p + qoff, qlen);
		hbuf_add(&conn->head, "", 1);
	}
	path = conn->head.len;
	n = http_unescape(conn->head.p + path, conn->head.p + raw, rawlen, 0);
	if (n < 0)
		return conn_parse_fail(conn, 400,
		    "malformed percent-encoding in the path");
	conn->head.len += n;
	hbuf_add(&conn->head, "", 1);
	req->raw_path = conn->head.p + raw;
	req->query = has_query ? conn->head.p + query : NULL;
	req->path = conn->head.p + path;
	return 0;
}

static int
parse_headers_done_cb(http_parser *p)
{
	struct http_conn	*conn = p->data;
	struct http_request	*req = &conn->req;

	if (conn->phase != PHASE_HEAD)
		return -1;
	conn_head_end_item(conn);
	if (!conn->url_done) {
		hbuf_add(&conn->head, "", 1);
		conn->url_done = 1;
	}
	req->method = http_method_str(p->method);
	req->is_head = p->method == HTTP_HEAD;
	req->http_minor = p->http_minor;
	if (p->http_major != 1 || p->http_minor > 1)
		return conn_parse_fail(conn, 505,
		    "HTTP version not supported");
	if (conn_check_headers(conn) == -1 || conn_parse_target(conn) == -1)
		return -1;
	conn->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	conn->phase = PHASE_REQUEST;
	req->body_state = BODY_IDLE;
	/* Without a body the message ends right here and pauses there. */
	if (req->chunked || req->content_length > 0)
		http_parser_pause(p, 1);
	return 0;
}

/* Writes body bytes to the descriptor, keeping what does not fit. */
static void
conn_body_write(struct http_conn *conn, const char *at, size_t len)
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
			event_add(conn->fd_ev, conn->srv->io_tv);
			http_parser_pause(&conn->parser, 1);
			return;
		}
		log_debug("http: %s: body descriptor: %s", conn->peer,
		    strerror(errno));
		req_body_end(req, BERR_IO, 1);
		http_parser_pause(&conn->parser, 1);
		return;
	}
}

static int
parse_body_cb(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*conn = p->data;
	struct http_request	*req = &conn->req;

	if (conn->phase != PHASE_REQUEST)
		return -1;
	req->body_received += len;
	switch (req->body_state) {
	case BODY_MEMORY:
		if (req->body_received > req->body_limit) {
			req_body_end(req, BERR_TOO_LARGE, 1);
			http_parser_pause(p, 1);
			break;
		}
		evbuffer_add(conn->body, at, len);
		break;
	case BODY_FD:
		conn_body_write(conn, at, len);
		break;
	default:
		break;
	}
	return 0;
}

static int
parse_message_done_cb(http_parser *p)
{
	struct http_conn	*conn = p->data;
	struct http_request	*req = &conn->req;

	http_parser_pause(p, 1);
	if (conn->phase != PHASE_REQUEST)
		return -1;
	switch (req->body_state) {
	case BODY_MEMORY:
		evbuffer_add(conn->body, "", 1);
		req->body_len = evbuffer_get_length(conn->body) - 1;
		req->body = (const char *)evbuffer_pullup(conn->body, -1);
		req->body_err = 0;
		req->body_cb_due = 1;
		break;
	case BODY_FD:
		close(req->body_fd);
		req->body_fd = -1;
		req->body_err = 0;
		req->body_cb_due = 1;
		break;
	default:
		break;
	}
	req->body_state = BODY_DONE;
	return 0;
}

static void
conn_body_fd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*conn = arg;
	struct http_request	*req = &conn->req;
	ssize_t			 n;

	if (req->body_state != BODY_FD_BLOCKED)
		return;
	if (what & EV_TIMEOUT) {
		log_warnx("http: %s: body reader stalled", conn->peer);
		req_body_end(req, BERR_IO, 1);
		conn_process(conn);
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
		req_body_end(req, BERR_IO, 1);
		break;
	}
	if (req->body_state == BODY_FD_BLOCKED)
		req->body_state = BODY_FD;
	conn_process(conn);
}

/* --- the server ------------------------------------------------------------- */

void
http_limits_default(struct http_limits *l)
{
	l->max_header_bytes = 64 * 1024;
	l->max_headers = 100;
	l->max_uri = 8 * 1024;
	l->idle_timeout = 60;
	l->header_timeout = 30;
	l->io_timeout = 120;
	l->max_connections = 1024;
}

static const struct timeval *
server_timeout(struct http_server *srv, int seconds, struct timeval *store)
{
	const struct timeval	*common;

	if (seconds <= 0)
		return NULL;
	store->tv_sec = seconds;
	store->tv_usec = 0;
	/* Thousands of connections share a few durations: O(1) queues. */
	if ((common = event_base_init_common_timeout(srv->base, store)) !=
	    NULL)
		return common;
	return store;
}

struct http_server *
http_server_new(struct event_base *base, const struct http_limits *limits,
    http_request_cb cb, void *arg)
{
	struct http_server	*srv;

	srv = xcalloc(1, sizeof(*srv));
	srv->base = base;
	if (limits != NULL)
		srv->limits = *limits;
	else
		http_limits_default(&srv->limits);
	/* http_parser_parse_url() keeps 16-bit offsets. */
	if (srv->limits.max_uri > UINT16_MAX)
		srv->limits.max_uri = UINT16_MAX;
	/* The parser has its own cap (80 KiB); keep ours the one that bites.
	 * It is process-wide, hence only ever raised. */
	if (srv->limits.max_header_bytes + 1024 > HTTP_MAX_HEADER_SIZE &&
	    srv->limits.max_header_bytes < UINT32_MAX - 1024)
		http_parser_set_max_header_size(
		    (uint32_t)srv->limits.max_header_bytes + 1024);
	srv->cb = cb;
	srv->arg = arg;
	srv->idle_tv = server_timeout(srv, srv->limits.idle_timeout,
	    &srv->tv_store[0]);
	srv->header_tv = server_timeout(srv, srv->limits.header_timeout,
	    &srv->tv_store[1]);
	srv->io_tv = server_timeout(srv, srv->limits.io_timeout,
	    &srv->tv_store[2]);
	TAILQ_INIT(&srv->conns);
	if ((srv->drain_ev = evtimer_new(base, server_drain_cb, srv)) == NULL)
		fatalx("http: evtimer_new");
	return srv;
}

void
http_server_set_summary_cb(struct http_server *srv, http_summary_cb cb,
    void *arg)
{
	srv->summary_cb = cb;
	srv->summary_arg = arg;
}

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	int	 one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	server_add_conn(arg, fd, sa, salen);
}

static void
server_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server	*srv = arg;
	size_t			 i;

	if (srv->paused)
		return;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_enable(srv->listeners[i]);
}

void
http_server_pause(struct http_server *srv, int paused)
{
	size_t	 i;

	srv->paused = paused;
	for (i = 0; i < srv->nlisteners; i++) {
		if (!paused && srv->unlistened &&
		    listen(evconnlistener_get_fd(srv->listeners[i]),
		    HTTP_BACKLOG) == -1)
			fatal("http: listen");
		if (paused)
			evconnlistener_disable(srv->listeners[i]);
		else
			evconnlistener_enable(srv->listeners[i]);
	}
	if (!paused)
		srv->unlistened = 0;
}

/* Out of descriptors: stop accepting for a second rather than spin. */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct http_server	*srv = arg;
	struct timeval		 tv = { 1, 0 };
	size_t			 i;

	log_warn("http: accept");
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i]);
	evtimer_add(srv->accept_ev, &tv);
}

static void
server_close_listeners(struct http_server *srv)
{
	size_t	 i;

	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	srv->nlisteners = 0;
	if (srv->accept_ev != NULL)
		evtimer_del(srv->accept_ev);
}

/* A bound socket that does not listen yet (libevent's _new_bind always
 * listens); http_server_pause() calls listen(2) on it. */
static struct evconnlistener *
server_bind_unlistened(struct http_server *srv, const struct sockaddr *sa,
    socklen_t salen)
{
	struct evconnlistener	*l;
	int			 fd, on = 1, saved;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return NULL;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, sa, salen) == -1)
		goto fail;
	/* A backlog of 0: libevent does not call listen() itself. */
	if ((l = evconnlistener_new(srv->base, server_accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd)) == NULL)
		goto fail;
	return l;
 fail:
	saved = errno;
	close(fd);
	errno = saved;
	return NULL;
}

int
http_server_listen(struct http_server *srv, const char *addrport)
{
	struct evconnlistener	*l;
	struct addrinfo		 hints, *res;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 host[256], port[8];
	const char		*colon, *end;
	size_t			 hlen, plen, i;
	int			 error;

	if (addrport[0] == '[') {
		if ((end = strchr(addrport, ']')) == NULL || end[1] != ':')
			goto bad;
		hlen = end - addrport - 1;
		memmove(host, addrport + 1, hlen < sizeof(host) ? hlen : 0);
		colon = end + 1;
	} else {
		if ((colon = strrchr(addrport, ':')) == NULL)
			goto bad;
		hlen = colon - addrport;
		memmove(host, addrport, hlen < sizeof(host) ? hlen : 0);
	}
	if (hlen >= sizeof(host))
		goto bad;
	host[hlen] = '\0';
	plen = strlen(colon + 1);
	if (plen == 0 || plen > 5)
		goto bad;
	for (i = 0; i < plen; i++)
		if (colon[1 + i] < '0' || colon[1 + i] > '9')
			goto bad;
	memcpy(port, colon + 1, plen + 1);
	if (strtol(port, NULL, 10) > 65535)
		goto bad;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = hlen == 0 ? AF_INET : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((error = getaddrinfo(hlen == 0 ? NULL : host, port, &hints,
	    &res)) != 0) {
		log_warnx("http: %s: %s", addrport, gai_strerror(error));
		return -1;
	}
	/*
	 * Paused from the start: bound (a low port needs the privileges
	 * berthd has now) but not listening, so that clients are refused
	 * rather than queued until the server may answer.  A backlog of 0
	 * tells libevent not to call listen().
	 */
	if (srv->paused && srv->nlisteners == 0)
		srv->unlistened = 1;
	if (srv->unlistened)
		l = server_bind_unlistened(srv, res->ai_addr,
		    res->ai_addrlen);
	else
		l = evconnlistener_new_bind(srv->base, server_accept_cb, srv,
		    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
		    LEV_OPT_CLOSE_ON_EXEC, HTTP_BACKLOG, res->ai_addr,
		    (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (l == NULL) {
		log_warn("http: cannot listen on %s", addrport);
		return -1;
	}
	evconnlistener_set_error_cb(l, server_accept_error_cb);
	if (srv->paused)
		evconnlistener_disable(l);
	if (srv->accept_ev == NULL && (srv->accept_ev = evtimer_new(srv->base,
	    server_accept_resume_cb, srv)) == NULL)
		fatalx("http: evtimer_new");
	srv->listeners = xreallocarray(srv->listeners, srv->nlisteners + 1,
	    sizeof(*srv->listeners));
	srv->listeners[srv->nlisteners++] = l;
	if (srv->port == 0 && getsockname(evconnlistener_get_fd(l),
	    (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET)
			srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			srv->port =
			    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return 0;
 bad:
	log_warnx("http: %s: expected ADDR:PORT or [ADDR]:PORT", addrport);
	return -1;
}

int
http_server_port(const struct http_server *srv)
{
	return srv->port;
}

int
http_server_adopt(struct http_server *srv, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	if (evutil_make_socket_nonblocking(fd) == -1)
		return -1;
	server_add_conn(srv, fd, sa, salen);
	return 0;
}

size_t
http_server_connections(const struct http_server *srv)
{
	return srv->nconns;
}

static void
server_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server	*srv = arg;
	struct http_conn	*conn, *next;
	void			(*done)(void *);

	if (srv->nconns + srv->nrefused != 0) {
		log_info("http: closing %zu connections still busy",
		    srv->nconns + srv->nrefused);
		for (conn = TAILQ_FIRST(&srv->conns); conn != NULL;
		    conn = next) {
			next = TAILQ_NEXT(conn, entry);
			if (conn->bev == NULL || conn->in_process)
				continue;
			conn_close_socket(conn);
			conn_process(conn);
		}
	}
	if ((done = srv->drain_done) != NULL) {
		srv->drain_done = NULL;
		done(srv->drain_arg);
	}
}

void
http_server_drain(struct http_server *srv, int timeout,
    void (*done)(void *), void *arg)
{
	struct http_conn	*conn, *next;
	struct timeval		 tv = { timeout > 0 ? timeout : 0, 0 };

	srv->draining = 1;
	srv->drain_done = done;
	srv->drain_arg = arg;
	server_close_listeners(srv);
	for (conn = TAILQ_FIRST(&srv->conns); conn != NULL; conn = next) {
		next = TAILQ_NEXT(conn, entry);
		if (conn->bev == NULL)
			continue;
		if (conn->phase == PHASE_IDLE || conn->phase == PHASE_HEAD)
			conn_closing(conn);
		else
			conn->close_after = 1;
		if (conn->in_process == 0)
			conn_process(conn);
	}
	if (srv->nconns + srv->nrefused == 0)
		event_active(srv->drain_ev, EV_TIMEOUT, 1);
	else
		evtimer_add(srv->drain_ev, &tv);
}

void
http_server_free(struct http_server *srv)
{
	struct http_conn	*conn;
	struct http_request	*req;

	if (srv == NULL)
		return;
	server_close_listeners(srv);
	while ((conn = TAILQ_FIRST(&srv->conns)) != NULL) {
		TAILQ_REMOVE(&srv->conns, conn, entry);
		req = &conn->req;
		/* No callbacks once the server is gone. */
		req_body_end(req, 0, 0);
		req->body_cb_due = 0;
		if (conn->bev != NULL) {
			conn_drop_input(conn);
			bufferevent_free(conn->bev);
			conn->bev = NULL;
		}
		conn->srv = NULL;
		event_free(conn->timer);
		event_free(conn->defer);
		if (conn->fd_ev != NULL)
			event_free(conn->fd_ev);
		conn->timer = conn->defer = conn->fd_ev = NULL;
		conn->phase = PHASE_CLOSED;
		if (conn_held(conn))
			req->gone = 1;
		else
			conn_free(conn);
	}
	if (srv->accept_ev != NULL)
		event_free(srv->accept_ev);
	event_free(srv->drain_ev);
	free(srv->listeners);
	free(srv);
}

/* --- the request ------------------------------------------------------------ */

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
		if ((n = http_unescape(conn->qbuf.p + start, q, klen, 1)) < 0)
			continue;
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
		if (eq < amp && (n = http_unescape(conn->qbuf.p +
		    conn->qbuf.len, eq + 1, amp - eq - 1, 1)) < 0) {
			conn->qbuf.len = start;
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
http_request_is_chunked(const struct http_request *req)
{
	return req->chunked;
}

int
http_request_has_body(const struct http_request *req)
{
	return req->chunked || req->content_length > 0;
}

int
http_request_peer_is_loopback(const struct http_request *req)
{
	const struct sockaddr_storage	*ss = &req->conn->ss;
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	switch (ss->ss_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)ss;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)ss;
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127);
	}
	return 0;
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

/* --- the body ------------------------------------------------------------- */

static int
req_body_claim(struct http_request *req, http_body_cb cb, void *arg)
{
	if (req->body_cb != NULL || req->responded) {
		log_warnx("http: %s %s: body asked for %s", req->method,
		    req->raw_path, req->responded ? "after the response" :
		    "twice");
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
	conn_schedule(req->conn);
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
		conn_schedule(conn);
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

void
http_request_body_to_fd(struct http_request *req, int fd, http_body_cb cb,
    void *arg)
{
	struct http_conn	*conn = req->conn;

	if (req_body_claim(req, cb, arg) == -1) {
		close(fd);
		return;
	}
	if (req->gone) {
		close(fd);
		req_body_due(req, BERR_BAD_REQUEST);
	} else if (req->body_state == BODY_DONE) {
		close(fd);
		req_body_due(req, 0);
	} else if (fd_set_nonblock(fd) == -1) {
		log_warn("http: body descriptor");
		close(fd);
		req->body_state = BODY_STOPPED;
		req_body_due(req, BERR_IO);
	} else {
		if (conn->fd_ev == NULL) {
			if ((conn->fd_ev = event_new(conn->srv->base, fd,
			    EV_WRITE, conn_body_fd_cb, conn)) == NULL)
				fatalx("http: event_new");
		} else
			event_assign(conn->fd_ev, conn->srv->base, fd,
			    EV_WRITE, conn_body_fd_cb, conn);
		req->body_fd = fd;
		req_send_continue(req);
		req->body_state = BODY_FD;
		conn_schedule(conn);
	}
}

uint64_t
http_request_body_received(const struct http_request *req)
{
	return req->body_received;
}

/* --- the response --------------------------------------------------------- */

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
conn_settle_body(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	req_body_end(req, 0, 0);
	switch (req->body_state) {
	case BODY_IDLE:
	case BODY_STOPPED:
		break;
	default:
		return;
	}
	if (!req->chunked && !(req->expect_continue && !req->sent_continue) &&
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
		conn_release(conn);
		return 1;
	}
	/* 1xx are the layer's (100 Continue); a handler's answer is final. */
	if (*status < 200 || *status > 999) {
		log_warnx("http: %s %s: invalid status %d", req->method,
		    req->raw_path, *status);
		*status = 500;
	}
	req->status = *status;
	conn_settle_body(conn);
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

void
http_respond(struct http_request *req, int status, const char *content_type,
    const void *body, size_t len)
{
	struct http_conn	*conn = req->conn;

	if (req_respond_start(req, &status) != 0)
		return;
	req_content_type_ok(req, &content_type);
	if (!http_status_has_body(status)) {
		conn_write_head(conn, status, content_type, -1, req->close, 1,
		    NULL);
	} else {
		conn_write_head(conn, status, content_type, (int64_t)len,
		    req->close, 1, NULL);
		if (!req->is_head && len > 0) {
			evbuffer_add(bufferevent_get_output(conn->bev), body,
			    len);
			req->bytes_out = len;
		}
	}
	conn_schedule(conn);
}

void
http_respond_evbuffer(struct http_request *req, int status,
    const char *content_type, struct evbuffer *body)
{
	struct http_conn	*conn = req->conn;
	size_t			 len = evbuffer_get_length(body);
	int			 rc;

	if ((rc = req_respond_start(req, &status)) != 0) {
		if (rc > 0)
			evbuffer_drain(body, len);
		return;
	}
	req_content_type_ok(req, &content_type);
	if (!http_status_has_body(status)) {
		conn_write_head(conn, status, content_type, -1, req->close, 1,
		    NULL);
		evbuffer_drain(body, len);
	} else {
		conn_write_head(conn, status, content_type, (int64_t)len,
		    req->close, 1, NULL);
		if (req->is_head)
			evbuffer_drain(body, len);
		else {
			evbuffer_add_buffer(bufferevent_get_output(conn->bev),
			    body);
			req->bytes_out = len;
		}
	}
	conn_schedule(conn);
}

void
http_respond_file(struct http_request *req, int status,
    const char *content_type, struct evbuffer_file_segment *seg,
    off_t offset, off_t length)
{
	struct http_conn	*conn = req->conn;

	if (length < 0)
		length = 0;
	if (req_respond_start(req, &status) != 0)
		return;
	req_content_type_ok(req, &content_type);
	if (!http_status_has_body(status)) {
		conn_write_head(conn, status, content_type, -1, req->close, 1,
		    NULL);
	} else {
		conn_write_head(conn, status, content_type, (int64_t)length,
		    req->close, 1, NULL);
		if (!req->is_head && length > 0) {
			if (evbuffer_add_file_segment(
			    bufferevent_get_output(conn->bev), seg, offset,
			    length) == -1) {
				/* The client sees a short body and retries. */
				log_warnx("http: %s %s: cannot queue the file",
				    req->method, req->raw_path);
				req->close = 1;
			} else
				req->bytes_out = (uint64_t)length;
		}
	}
	conn_schedule(conn);
}

void
http_respond_length(struct http_request *req, int status,
    const char *content_type, uint64_t length)
{
	struct http_conn	*conn = req->conn;

	if (req_respond_start(req, &status) != 0)
		return;
	req_content_type_ok(req, &content_type);
	conn_write_head(conn, status, content_type,
	    http_status_has_body(status) && length <= INT64_MAX ?
	    (int64_t)length : -1, req->close, 1, NULL);
	conn_schedule(conn);
}
