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
 * berthd's HTTP/1.1 server: connections on bufferevents, the wire format
 * parsed by http-parser, request bodies streamed with bounded memory.
 *
 * One request per connection is handled at a time; pipelined requests wait
 * in the input buffer and are answered in order.  The request callback runs
 * when a request's headers are complete.  It must eventually answer with
 * exactly one http_respond*() call, either at once or later (after RPCs).
 * If it wants the body it calls http_request_read_body() (collect in memory
 * up to a limit) or http_request_body_to_fd() (stream to a descriptor); a
 * body nobody asked for is read and thrown away after the response when it
 * is small and known, else the connection is closed after the response.
 * "Expect: 100-continue" is answered when the body is asked for, so a
 * request refused from its headers never sends its body.
 *
 * A request stays valid until its response has been queued, even when the
 * client has gone: http_respond*() on such a request only frees it.
 *
 * The process must ignore SIGPIPE: sockets and body descriptors are
 * written with plain write(2)s whose readers may be gone.
 */
#ifndef BERTH_HTTP_H
#define BERTH_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

struct event_base;
struct evbuffer;
struct evbuffer_file_segment;
struct http_server;
struct http_request;

/*
 * Request line and headers: max_header_bytes in all and max_headers lines
 * (431), max_uri for the target (414).  Timeouts in seconds: idle_timeout
 * between requests, header_timeout from a request's first byte to the end
 * of its headers (408), io_timeout without progress reading a body or
 * writing a response.  At max_connections, the connection idle the
 * longest (between requests, or not yet used) is closed for a new one;
 * with none idle, the new one gets 503 and a close.  http_server_new()
 * raises the descriptor limit to fit, as far as the hard limit allows.
 */
struct http_limits {
	size_t	 max_header_bytes;
	size_t	 max_headers;
	size_t	 max_uri;
	int	 idle_timeout;
	int	 header_timeout;
	int	 io_timeout;
	int	 max_connections;
};
/* Defaults: 64 KiB, 100 headers, 8 KiB URI, 60 s, 30 s, 120 s, 1024. */
void	http_limits_default(struct http_limits *);

typedef void (*http_request_cb)(struct http_request *, void *arg);

/* Called once per finished request (also for requests the layer itself
 * refused), for the access log and metrics.  Without a callback the layer
 * logs an ACCESS line with log_info(). */
struct http_request_summary {
	const char	*method;	/* "-": refused before it was read */
	const char	*path;		/* as received, no query; or "-" */
	int		 status;	/* 499: the client left unanswered */
	uint64_t	 bytes_in;	/* body bytes received */
	uint64_t	 bytes_out;	/* body bytes sent */
	int64_t		 duration_us;
	const char	*route_class;	/* http_request_set_class's, or "" */
	const char	*peer;		/* "ip:port" */
};
typedef void (*http_summary_cb)(const struct http_request_summary *,
    void *arg);

/*
 * The layer's own refusals of a request whose method and target it has
 * read (a malformed or missing header, a bad Host, a limit: 400, 408,
 * 414, 431, 505) go to this callback, so that they can be answered in
 * the protocol the path belongs to.  err is a BERR_* (error.h) whose
 * status is the one to send, reason says what was wrong.  The callback
 * must answer at once with one http_respond*() call; it cannot read a
 * body, and of the request only the method and the path are known (the
 * path as received, up to its query, when it was not parsed).  The
 * connection closes after the answer.  Without a callback, and for what
 * is refused before the target is read, the answer is a line of text.
 */
typedef void (*http_refusal_cb)(struct http_request *, int err,
    const char *reason, void *arg);

struct http_server *http_server_new(struct event_base *,
	    const struct http_limits *, http_request_cb, void *arg);
void	http_server_set_summary_cb(struct http_server *, http_summary_cb,
	    void *arg);
void	http_server_set_refusal_cb(struct http_server *, http_refusal_cb,
	    void *arg);
/* Listens on "ADDR:PORT" ("[v6]:port" for IPv6, ":PORT" for every IPv4
 * address; ADDR may be a name); 0, or -1 with a logged reason.  May be
 * called more than once. */
int	http_server_listen(struct http_server *, const char *addrport);
/* While paused, the listening sockets take no connections (they wait in
 * the backlog).  Listeners added while the server is paused from the start
 * are bound but do not listen until the first unpause, so that clients are
 * refused until the server may answer (start-up).  Not while draining. */
void	http_server_pause(struct http_server *, int paused);
/* The port actually bound by the first listener (for ":0"). */
int	http_server_port(const struct http_server *);
/* Whether every listener is bound to a loopback address (127.0.0.0/8,
 * ::1): no other machine can connect. */
int	http_server_loopback(const struct http_server *);
/* Graceful stop: stop accepting, close idle connections, let busy ones
 * finish their current request (at most timeout seconds), then call
 * done(arg). */
void	http_server_drain(struct http_server *, int timeout,
	    void (*done)(void *), void *arg);
size_t	http_server_connections(const struct http_server *);
/* Closes every connection at once; not from within one of its callbacks.
 * No callback runs afterwards; a request still with its handler stays
 * valid (and gone) until answered. */
void	http_server_free(struct http_server *);

/* For tests and fuzzing: serves an already connected stream socket as if
 * it had been accepted (peer may be NULL).  0, or -1. */
int	http_server_adopt(struct http_server *, int fd,
	    const struct sockaddr *peer, socklen_t peerlen);

/* --- the request -------------------------------------------------------- */

const char *http_request_method(const struct http_request *); /* "GET" */
int	http_request_is_head(const struct http_request *);
/* The percent-decoded path (no query).  The layer refuses paths that do
 * not decode or contain NUL with 400 before the callback runs. */
const char *http_request_path(const struct http_request *);
/* The raw query string after '?', or NULL. */
const char *http_request_query(const struct http_request *);
/* The first value of a query parameter, percent-decoded ('+' is a space);
 * NULL if absent.  Valid for the request's life. */
const char *http_request_param(struct http_request *, const char *key);
/* Every value of a repeated parameter, in order; returns how many (up to
 * max are stored in vals). */
size_t	http_request_params(struct http_request *, const char *key,
	    const char **vals, size_t max);
/* The i-th parameter of the query, percent-decoded: 1 with its key and
 * value (valid for the request's life), 0 when there are fewer. */
int	http_request_param_at(struct http_request *, size_t i,
	    const char **key, const char **value);
/* How many parameters of the query were left out because they do not
 * decode (a malformed escape, an encoded NUL). */
size_t	http_request_params_dropped(struct http_request *);
/* The first header of that name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *,
	    const char *name);
/* Every header line of that name, in order; returns how many. */
size_t	http_request_headers(const struct http_request *, const char *name,
	    const char **vals, size_t max);
/* Content-Length, or -1 when absent or the body is chunked. */
int64_t	http_request_content_length(const struct http_request *);
/* Content-Length > 0 or chunked. */
int	http_request_has_body(const struct http_request *);
/* The peer came from 127.0.0.0/8 or ::1. */
int	http_request_peer_is_loopback(const struct http_request *);
/* "ip:port" */
const char *http_request_peer(const struct http_request *);
/* The client has disconnected (input ended while the handler held the
 * request, with no further request buffered); a response will go
 * nowhere. */
int	http_request_gone(const struct http_request *);
/* A label for metrics and the access log ("oci.blob", "ecr", ...); the
 * string is not copied and must outlive the request (a literal). */
void	http_request_set_class(struct http_request *, const char *);

/* --- the body ------------------------------------------------------------- */

/*
 * err is 0 when the whole body arrived (or was written to the fd);
 * BERR_TOO_LARGE when it exceeded the limit; BERR_IO when writing to the
 * fd failed (its reader went away); BERR_BAD_REQUEST when the client's
 * body was malformed (its framing broken) or ended early: the connection
 * then closes after the answer, which goes nowhere if the client has
 * gone.  The callback then answers the request as it sees fit.  It never
 * runs before the call that asked for the body has returned.  Answering
 * before it ran cancels the read: it will not run, and a descriptor is
 * closed.
 */
typedef void (*http_body_cb)(struct http_request *, int err, void *arg);

/* Collects the body in memory, at most limit bytes. */
void	http_request_read_body(struct http_request *, size_t limit,
	    http_body_cb, void *arg);
/* Whether a body of n bytes may be read into memory now rather than
 * streamed: the bodies held in memory (by their Content-Length) stay
 * within HTTP_BODIES_SOFT unless there is none.  A caller that can stream
 * instead asks; others take what they need. */
#define HTTP_BODIES_SOFT	(4 * 1024 * 1024)
int	http_bodies_room(uint64_t n);
/* The collected body, NUL-terminated (the NUL is not counted); NULL until
 * the callback reported success. */
const char *http_request_body(const struct http_request *, size_t *len);
/* Streams the decoded body into fd (a pipe; made non-blocking), pausing
 * the client while fd is full.  The layer closes fd when the body ends or
 * fails, in every case exactly once.  A reader that takes no data for
 * io_timeout counts as failed (BERR_IO).  A body of more than limit bytes
 * (SIZE_MAX: none) fails with BERR_TOO_LARGE, refused at once when its
 * Content-Length says so, else once limit bytes went to fd.  Of a body
 * of known length, what did not come with the head goes into a pipe by
 * splice(2), not through memory. */
void	http_request_body_to_fd(struct http_request *, int fd, size_t limit,
	    http_body_cb, void *arg);
/* For a reader that takes fd only once the body has all gone into it:
 * called once, before the layer waits for room in fd, if fd fills first
 * (the reader must start now, or the body stalls). */
typedef void (*http_fd_full_cb)(void *arg);
void	http_request_on_fd_full(struct http_request *, http_fd_full_cb,
	    void *arg);
/* Body bytes received so far. */
uint64_t http_request_body_received(const struct http_request *);

/* --- the response --------------------------------------------------------- */

/* Headers to send with the response; Content-Length, Connection, Date and
 * Server are the layer's. */
void	http_response_header(struct http_request *, const char *name,
	    const char *value);
void	http_response_headerf(struct http_request *, const char *name,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Ask for the connection to close after this response. */
void	http_response_close(struct http_request *);

/* body may be NULL with len 0.  For HEAD the body is not sent but its
 * length is.  1xx, 204 and 304 get neither. */
void	http_respond(struct http_request *, int status,
	    const char *content_type, const void *body, size_t len);
/* Moves the contents of body into the response. */
void	http_respond_evbuffer(struct http_request *, int status,
	    const char *content_type, struct evbuffer *body);
/* Sends length bytes of seg from offset with sendfile; takes a reference
 * on seg. */
void	http_respond_file(struct http_request *, int status,
	    const char *content_type, struct evbuffer_file_segment *seg,
	    off_t offset, off_t length);
/* A response whose Content-Length is length with no body (HEAD, or when
 * the entity is not at hand). */
void	http_respond_length(struct http_request *, int status,
	    const char *content_type, uint64_t length);

/*
 * A response whose body the handler produces as it goes.
 * http_respond_start() queues the head, with Content-Length length (for
 * HEAD the body is not sent; 1xx, 204 and 304 get none): 0, or -1 when
 * the client had gone (the request is freed; nothing more is called on
 * it).  http_write() queues bytes of the body without blocking: 0, or -1
 * once the client has gone or was cut off for taking no data for
 * io_timeout, or when more than length bytes would go.  The handler keeps
 * the queue short: http_queued() says how much waits to be sent, and
 * http_on_drain() asks for one call of cb, from the event loop, once at
 * most HTTP_STREAM_LOW bytes wait or the client has gone.  http_end()
 * finishes the response; the request is invalid afterwards.  With ok and
 * length bytes written, the connection goes on to its next request;
 * otherwise it closes after what was queued, so that the client sees a
 * body shorter than its Content-Length and knows it failed.
 */
#define HTTP_STREAM_LOW		(64 * 1024)
typedef void (*http_drain_cb)(struct http_request *, void *arg);
int	http_respond_start(struct http_request *, int status,
	    const char *content_type, uint64_t length);
/*
 * A streamed response whose length is not known when it starts:
 * "Transfer-Encoding: chunked", for a GET of HTTP/1.1
 * (http_request_chunkable()).  The handler writes the chunks' framing
 * with the data (http_write() or the stream's socket), the last chunk
 * too, which tells the client the body is whole: a connection that
 * closes before it is a failed body.  http_end() with ok says the last
 * chunk was written: the connection goes on to its next request (without
 * ok it closes).  0, or -1 as http_respond_start().
 */
int	http_request_chunkable(const struct http_request *);
int	http_respond_chunked(struct http_request *, int status,
	    const char *content_type);
int	http_write(struct http_request *, const void *data, size_t len);
size_t	http_queued(const struct http_request *);
void	http_on_drain(struct http_request *, http_drain_cb, void *arg);
void	http_end(struct http_request *, int ok);

/*
 * A streamed body the handler sends to the socket itself, with splice(2)
 * (no copy through user space).  http_stream_fd() writes out what is
 * queued (the head) and then gives the client's socket, non-blocking, and
 * in *io_timeout how long the handler waits for it to take data before it
 * gives the client up (NULL: no limit); -1 with errno EAGAIN while the head waits for the
 * socket (wait until it is writable and call again), -1 with errno EPIPE
 * once the client has gone (or for a HEAD).  From then on the handler
 * reports the body bytes it sent with http_wrote() (-1 when more than
 * the Content-Length would go), and http_on_drain()'s callback comes only
 * when the client has gone, the socket closed.  http_write() may still
 * queue bytes (the last ones), and http_end() ends as before.
 */
struct timeval;
int	http_stream_fd(struct http_request *,
	    const struct timeval **io_timeout);
int	http_wrote(struct http_request *, size_t len);

#endif
