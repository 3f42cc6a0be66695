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
 * One HTTP connection: the state machine that takes it from a request's
 * first byte through its handler and its body to the response and the
 * next request (or the close), the reads and writes on its bufferevent,
 * its timers (idle, headers, linger).  What the parser finds is
 * http_parse.c's, what the handler asks for http_request.c's, the status
 * line and the layer's own refusals http_answer.c's.
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

/*
 * What a connection holds while a body moves: at most HTTP_READ_HIGH of
 * input, and what the body's descriptor did not take of one parser feed
 * (HTTP_FEED_MAX).  Both are taken only while needed and given back as
 * soon as they are not, keeping HTTP_RBUF_SPARE read buffers for the next
 * body, so that 200 bodies at once stay within a few dozen MiB and idle
 * keep-alive connections hold next to nothing.
 */
#define HTTP_READ_HIGH		(64 * 1024)	/* input held per connection */
#define HTTP_LIBEVENT_READ	4096		/* its EVBUFFER_MAX_READ */
#define HTTP_READ_MAX		(64 * 1024)	/* one read from the socket */
#define HTTP_RBUF_SPARE		8
#define HTTP_OUT_PIPELINE	(64 * 1024)	/* parse on below this output */
#define HTTP_LINGER		2		/* s: read on before close */
#define HTTP_LINE_OVERHEAD	16		/* method, version, CRLF */

static const struct timeval http_linger_tv = { HTTP_LINGER, 0 };

static void	conn_close_socket(struct http_conn *);

static int
conn_held(const struct http_conn *conn)
{
	return conn->req.delivered &&
	    (!conn->req.responded || conn->req.streaming);
}

void
http_conn_schedule(struct http_conn *conn)
{
	if (conn->in_process == 0 && conn->defer != NULL)
		event_active(conn->defer, EV_TIMEOUT, 1);
}

static void
conn_reset_request(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	http_request_body_release(req);
	memset(req, 0, sizeof(*req));
	req->conn = conn;
	req->body_fd = -1;
	req->content_length = -1;
	conn->head.len = 0;
	conn->head_bytes = HTTP_LINE_OVERHEAD;
	conn->url_len = 0;
	conn->url_done = 0;
	conn->url_complete = 0;
	conn->hstate = HSTATE_URL;
	conn->nheaders = 0;
	conn->trailer_bytes = 0;
	conn->nparams = 0;
	conn->params_dropped = 0;
	conn->rhdr.len = 0;
	http_request_pending_free(conn);
	conn->error = 0;
	conn->error_reason = NULL;
	http_request_body_free(conn);
}

void
http_conn_summary(struct http_conn *conn, const char *method,
    const char *path, int status, uint64_t bytes_in, uint64_t bytes_out,
    int64_t start_us)
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

	http_conn_summary(conn, req->method, req->raw_path, status,
	    req->body_received, req->bytes_out, req->start_us);
}

/* --- read buffers --------------------------------------------------------- */

/* Read buffers nobody holds, for the next body to be read. */
static char	*rbuf_spare[HTTP_RBUF_SPARE];
static size_t	 rbuf_nspare;

static char *
rbuf_get(void)
{
	return rbuf_nspare > 0 ? rbuf_spare[--rbuf_nspare] :
	    xmalloc(HTTP_READ_HIGH);
}

static void
rbuf_put(char *b)
{
	if (rbuf_nspare < HTTP_RBUF_SPARE)
		rbuf_spare[rbuf_nspare++] = b;
	else
		free(b);
}

/* --- ending a connection -------------------------------------------------- */

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
	http_request_body_release(req);
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
	if (conn->splice_ev != NULL)
		event_free(conn->splice_ev);
	http_request_body_free(conn);
	if (conn->body != NULL)
		evbuffer_free(conn->body);
	hbuf_free(&conn->head);
	hbuf_free(&conn->qbuf);
	hbuf_free(&conn->rhdr);
	free(conn->headers);
	free(conn->params);
	free(conn->pending);
	if (conn->rbuf != NULL)		/* the input let go of it */
		rbuf_put(conn->rbuf);
	free(conn);
}

/*
 * Closes the socket.  A request still with its handler becomes gone (its
 * body reader is told BERR_BAD_REQUEST); the rest is freed by
 * http_conn_process() once nothing holds it.
 */
static void
conn_close_socket(struct http_conn *conn)
{
	struct http_server	*srv = conn->srv;
	struct http_request	*req = &conn->req;

	if (conn->bev == NULL)
		return;
	conn_drop_input(conn);
	http_splice_stop(conn);
	bufferevent_free(conn->bev);
	conn->bev = NULL;
	if (conn->timer != NULL)
		evtimer_del(conn->timer);
	conn->timer_kind = TIMER_NONE;
	conn->phase = PHASE_CLOSED;
	if (conn_held(conn)) {
		req->gone = 1;
		http_request_body_end(req, BERR_BAD_REQUEST, 1);
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
void
http_conn_closing(struct http_conn *conn)
{
	if (conn->bev == NULL)
		return;
	conn->phase = PHASE_CLOSING;
	conn->timer_dirty = 1;
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0)
		conn_linger(conn);
}

/* --- the state machine ---------------------------------------------------- */

/* A request the handler has answered is over; next one, or close. */
static void
conn_finish(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	conn_summary_req(conn, req->status);
	if (req->close || conn->close_after ||
	    (conn->srv != NULL && conn->srv->draining)) {
		http_conn_closing(conn);
		return;
	}
	conn_reset_request(conn);
	conn->phase = PHASE_IDLE;
	conn->timer_dirty = 1;
	/* The table is kept in the order connections went idle. */
	if (conn->srv != NULL) {
		TAILQ_REMOVE(&conn->srv->conns, conn, entry);
		TAILQ_INSERT_TAIL(&conn->srv->conns, conn, entry);
	}
}

/*
 * The client broke off or garbled a body.  Its reader is told so
 * (BERR_BAD_REQUEST) and the handler answers, in its API's shape; nothing
 * more is read, and the connection closes after the answer.
 */
static void
conn_body_error(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	req->close = 1;
	if (req->responded) {
		req->body_state = BODY_ABANDONED;
		return;
	}
	http_request_body_end(req, BERR_BAD_REQUEST, 1);
	req->body_broken = 1;
}

void
http_conn_release(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	/* 499: the client went before an answer (nginx's convention). */
	conn_summary_req(conn, req->status != 0 ? req->status : 499);
	http_request_body_end(req, 0, 0);
	if (conn->in_process == 0 && conn->bev == NULL)
		conn_free(conn);
}

static void
conn_head_error(struct http_conn *conn)
{
	enum http_errno	 perr = HTTP_PARSER_ERRNO(&conn->parser);

	if (conn->error != 0)
		http_conn_refuse(conn, conn->error, conn->error_reason);
	else if (perr == HPE_HEADER_OVERFLOW)
		http_conn_refuse(conn, BERR_HEADERS_TOO_LARGE,
		    "request header fields too large");
	else
		http_conn_refuse(conn, BERR_BAD_REQUEST,
		    http_errno_description(perr));
}

static int
conn_step_head(struct http_conn *conn)
{
	struct evbuffer	*in = bufferevent_get_input(conn->bev);

	if (evbuffer_get_length(in) == 0) {
		if (!conn->read_eof)
			return 0;
		http_conn_closing(conn);
		return 1;
	}
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) >
	    HTTP_OUT_PIPELINE)
		return 0;
	switch (http_parse_feed(conn)) {
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
	int			 rc;

	if (req->responded && !req->streaming &&
	    (req->body_state == BODY_DONE ||
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
		if (!conn->read_eof) {
			/* The rest of a body may go around the parser. */
			if ((rc = http_splice_step(conn)) != -1)
				return rc;
			conn_close_socket(conn);
			return 1;
		}
		conn_body_error(conn);
		return 1;
	}
	switch (http_parse_feed(conn)) {
	case -1:
		log_debug("http: %s: bad body: %s", conn->peer,
		    http_errno_description(HTTP_PARSER_ERRNO(&conn->parser)));
		conn_body_error(conn);
		return 1;
	case 0:
		/* All used up; after the end of input, act on that, and a
		 * body going to a descriptor or a pooled buffer may go on
		 * around the parser (http_splice.c). */
		return conn->read_eof || req->body_state == BODY_FD ||
		    (req->body_state == BODY_MEMORY && conn->pbody != NULL);
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
	if (http_stream_step(conn))
		return 1;
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

/* --- I/O and timers ------------------------------------------------------- */

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
	    (req->body_state == BODY_FD_BLOCKED || http_splice_waiting(conn)));
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

void
http_conn_process(struct http_conn *conn)
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

/* The input is done with the last piece of conn's read buffer: it goes
 * back until the next read needs one. */
static void
conn_rbuf_release_cb(const void *data, size_t len, void *arg)
{
	struct http_conn	*conn = arg;

	if (--conn->rbuf_refs != 0)
		return;
	conn->rbuf_used = 0;
	rbuf_put(conn->rbuf);
	conn->rbuf = NULL;
}

/*
 * libevent 2.1 reads at most 4 KiB at a time (EVBUFFER_MAX_READ), one read
 * per loop iteration: fine for requests, far too slow for a body streaming
 * at a gigabyte a second.  While a body is read, top the input up with
 * bigger reads of our own into a read buffer, lent to the input by
 * reference and taken back when it is consumed (buffers are reused, not
 * allocated per read: chains of that size make malloc give memory back
 * and fault it in again).  End of file and errors are left for the
 * bufferevent to find.
 */
static void
conn_read_more(struct http_conn *conn)
{
	struct evbuffer	*in = bufferevent_get_input(conn->bev);
	size_t		 len, room;
	ssize_t		 n;

	if (conn->rbuf == NULL)
		conn->rbuf = rbuf_get();
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

/* Whether the input holds the rest of the request's body already: a read
 * for more would most often find nothing (EAGAIN after every small PUT). */
static int
conn_body_buffered(struct http_conn *conn)
{
	const struct http_request *req = &conn->req;

	return !req->chunked && req->content_length >= 0 &&
	    (uint64_t)req->content_length >= req->body_received &&
	    evbuffer_get_length(bufferevent_get_input(conn->bev)) >=
	    (uint64_t)req->content_length - req->body_received;
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn	*conn = arg;

	if (conn->phase == PHASE_REQUEST && !conn_body_buffered(conn)) {
		switch (conn->req.body_state) {
		case BODY_MEMORY:
		case BODY_FD:
		case BODY_DISCARD:
			conn_read_more(conn);
			break;
		default:
			break;
		}
	} else if ((conn->phase == PHASE_IDLE || conn->phase == PHASE_HEAD) &&
	    evbuffer_get_length(bufferevent_get_input(bev)) >=
	    HTTP_LIBEVENT_READ)
		/* libevent's one read was full: a head with a small body
		 * after it (a 4 KiB PUT's), most often.  The rest now, not
		 * after another turn of the loop. */
		conn_read_more(conn);
	http_conn_process(conn);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn	*conn = arg;

	bufferevent_disable(bev, EV_WRITE);
	conn->writing = 0;
	if (conn->phase == PHASE_CLOSING)
		conn_linger(conn);
	http_conn_process(conn);
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
	http_conn_process(conn);
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
		if (conn->phase != PHASE_HEAD)
			break;
		(void)snprintf(conn->error_text, sizeof(conn->error_text),
		    "the request's header fields did not arrive within %d s",
		    conn->srv->limits.header_timeout);
		http_conn_refuse(conn, BERR_REQUEST_TIMEOUT, conn->error_text);
		break;
	case TIMER_LINGER:
		conn_close_socket(conn);
		break;
	case TIMER_NONE:
		break;
	}
	http_conn_process(conn);
}

static void
conn_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	http_conn_process(arg);
}

/* --- set-up and the server's calls ---------------------------------------- */

static void
conn_format_peer(struct http_conn *conn)
{
	const struct sockaddr_in	*sin = (void *)&conn->ss;
	const struct sockaddr_in6	*sin6 = (void *)&conn->ss;
	const void			*addr;
	char				 text[INET6_ADDRSTRLEN];
	int				 v6 = conn->ss.ss_family == AF_INET6;

	if (conn->ss.ss_family != AF_INET && !v6) {
		snprintf(conn->peer, sizeof(conn->peer), "local");
		return;
	}
	addr = v6 ? (const void *)&sin6->sin6_addr :
	    (const void *)&sin->sin_addr;
	inet_ntop(conn->ss.ss_family, addr, text, sizeof(text));
	snprintf(conn->peer, sizeof(conn->peer), "%s%s%s:%u", v6 ? "[" : "",
	    text, v6 ? "]" : "", ntohs(v6 ? sin6->sin6_port : sin->sin_port));
}

struct http_conn *
http_conn_new(struct http_server *srv, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct http_conn	*conn;

	conn = xcalloc(1, sizeof(*conn));
	conn->srv = srv;
	if (sa != NULL && salen > 0)
		memcpy(&conn->ss, sa, (size_t)salen < sizeof(conn->ss) ?
		    (size_t)salen : sizeof(conn->ss));
	conn_format_peer(conn);
	if ((conn->bev = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("http: %s: cannot set up the connection", conn->peer);
		close(fd);
		free(conn);
		return NULL;
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
	return conn;
}

int
http_conn_idle(const struct http_conn *conn)
{
	int	 pending;

	if (conn->bev == NULL || conn->phase != PHASE_IDLE || conn->refused ||
	    conn->in_process ||
	    evbuffer_get_length(bufferevent_get_input(conn->bev)) != 0 ||
	    evbuffer_get_length(bufferevent_get_output(conn->bev)) != 0)
		return 0;
	/* Nor a request in the socket, not yet read. */
	return ioctl(bufferevent_getfd(conn->bev), FIONREAD, &pending) == 0 &&
	    pending == 0;
}

void
http_conn_drain(struct http_conn *conn)
{
	if (conn->bev == NULL)
		return;
	if (conn->phase == PHASE_IDLE || conn->phase == PHASE_HEAD)
		http_conn_closing(conn);
	else
		conn->close_after = 1;
	if (conn->in_process == 0)
		http_conn_process(conn);
}

void
http_conn_abort(struct http_conn *conn)
{
	if (conn->bev == NULL || conn->in_process)
		return;
	conn_close_socket(conn);
	http_conn_process(conn);
}

void
http_conn_detach(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;

	/* No callbacks once the server is gone. */
	http_request_body_end(req, 0, 0);
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
	if (conn->splice_ev != NULL)
		event_free(conn->splice_ev);
	conn->timer = conn->defer = conn->fd_ev = conn->splice_ev = NULL;
	conn->phase = PHASE_CLOSED;
	if (conn_held(conn))
		req->gone = 1;
	else
		conn_free(conn);
}
