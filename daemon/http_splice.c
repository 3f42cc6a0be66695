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
 * Splicing a request body into its descriptor.  A body of known length
 * that streams into a pipe (an upload's, which blobd reads) moves from
 * the socket into the pipe with splice(2) once the bytes read with the
 * head have gone through the parser: the kernel hands the socket's pages
 * to the pipe, so berthd neither copies the body into its own memory and
 * out again nor scans it, and a read of the socket moves up to a pipe's
 * worth at a time.  The framing check and the parser are told how many
 * bytes went by (http_parse_skip()), so the request ends where it would
 * have.  While it splices, the connection's bufferevent does not read;
 * one event waits on whichever side splice(2) waited for: the socket
 * (nothing to read) or the pipe (full).  A descriptor that cannot be
 * spliced into, and a chunked body, take the parser's way.  A body read
 * into one pooled buffer (http_request_read_body()) goes around the parser
 * the same way, with read(2) straight into that buffer: no copy through
 * the connection's read buffer, and one read for what the socket holds
 * instead of one per 4 KiB and 64 KiB (two reads, an ioctl and an
 * epoll_wait each).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
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

/* At most this much per splice(2): the body pipe's size. */
#define HTTP_SPLICE_MAX		(1024 * 1024)

int
http_splice_waiting(const struct http_conn *conn)
{
	return conn->splice_ev != NULL &&
	    event_pending(conn->splice_ev, EV_READ | EV_WRITE, NULL);
}

void
http_splice_stop(struct http_conn *conn)
{
	if (conn->splice_ev != NULL)
		event_del(conn->splice_ev);
}

static void
splice_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*conn = arg;

	if (what & EV_TIMEOUT) {
		/* Which side it waited for is the event's. */
		if (event_get_events(conn->splice_ev) & EV_WRITE) {
			log_warnx("http: %s: body reader stalled", conn->peer);
			http_request_body_end(&conn->req, BERR_IO, 1);
		} else {
			log_debug("http: %s: read timed out", conn->peer);
			http_conn_abort(conn);
			return;
		}
	}
	http_conn_process(conn);
}

/* Waits for the socket to have bytes, or the pipe room (what = EV_WRITE). */
static void
splice_wait(struct http_conn *conn, int fd, short what)
{
	if (conn->splice_ev == NULL) {
		if ((conn->splice_ev = event_new(conn->srv->base, fd, what,
		    splice_wait_cb, conn)) == NULL)
			fatalx("http: event_new");
	} else
		event_assign(conn->splice_ev, conn->srv->base, fd, what,
		    splice_wait_cb, conn);
	if (event_add(conn->splice_ev, conn->srv->io_tv) == -1)
		fatalx("http: event_add");
}

/* Whether the body goes on by splicing (or by reading into its buffer):
 * all that was read is parsed, and the rest, of known length, is still in
 * the socket. */
static int
splice_ready(const struct http_conn *conn)
{
	const struct http_request *req = &conn->req;

	return (req->body_state == BODY_FD ||
	    (req->body_state == BODY_MEMORY && conn->pbody != NULL)) &&
	    !req->chunked &&
	    !req->no_splice && conn->bev != NULL && !conn->read_eof &&
	    conn->pending_len == 0 && conn->framed == 0 &&
	    req->content_length > 0 &&
	    req->body_received < (uint64_t)req->content_length &&
	    evbuffer_get_length(bufferevent_get_input(conn->bev)) == 0;
}

int
http_splice_step(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;
	uint64_t		 left;
	ssize_t			 n;
	size_t			 len;
	int			 sock, avail;

	if (http_splice_waiting(conn) || !splice_ready(conn))
		return 0;
	sock = bufferevent_getfd(conn->bev);
	left = (uint64_t)req->content_length - req->body_received;
	len = left > HTTP_SPLICE_MAX ? HTTP_SPLICE_MAX : (size_t)left;
	if (req->body_state == BODY_MEMORY)
		/* Its buffer holds Content-Length bytes and a NUL. */
		n = read(sock, conn->pbody + req->body_received, len);
	else
		n = splice(sock, NULL, req->body_fd, NULL, len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		req->body_received += (uint64_t)n;
		if (http_parse_skip(conn, (size_t)n) == -1) {
			log_warnx("http: %s: the parser is out of step with "
			    "a spliced body", conn->peer);
			return -1;
		}
		return 1;
	}
	if (n == 0) {
		/* The client left mid-body: found as at the end of input. */
		conn->read_eof = 1;
		return 1;
	}
	switch (errno) {
	case EINTR:
		return 1;
	case EAGAIN:
		/* Either side may be what it waits for; bytes in the socket
		 * mean the pipe is full (if it emptied meanwhile, its event
		 * comes at once).  A buffer is never full. */
		if (req->body_state == BODY_FD &&
		    ioctl(sock, FIONREAD, &avail) == 0 && avail > 0) {
			http_request_fd_full(req);
			splice_wait(conn, req->body_fd, EV_WRITE);
		} else
			splice_wait(conn, sock, EV_READ);
		return 0;
	case EINVAL:
		/* Not a pipe, or a socket that cannot splice: parse. */
		req->no_splice = 1;
		return 1;
	case EPIPE:
		/* The reader closed its end: it says why itself. */
		log_debug("http: %s: body descriptor: %s", conn->peer,
		    strerror(errno));
		http_request_body_end(req, BERR_IO, 1);
		return 1;
	default:
		log_debug("http: %s: splice: %s", conn->peer,
		    strerror(errno));
		return -1;
	}
}
