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
 * What the HTTP layer's files share; the rest of berthd sees http.h only.
 * http_server.c holds the listeners, accepting and the connection table;
 * http_conn.c one connection's state machine, its I/O and timers;
 * http_answer.c the status line and headers and the layer's refusals;
 * http_parse.c http-parser's callbacks and the checks of the request line
 * and headers; http_framing.c the strict framing check run ahead of the
 * parser; http_request.c the request's accessors, its body and the
 * response.
 *
 * Each connection owns one http_parser, fed straight from the segments of
 * its bufferevent's input, as far as the framing check has passed them.
 * The parser is paused wherever the layer has to
 * wait: after the headers of a request with a body (until someone asks for
 * the body), at the end of every message (until its response is queued),
 * and when the descriptor a body streams into is full.  Parser callbacks
 * only record what happened; user callbacks run from http_conn_process(),
 * never inside http_parser_execute(), and API calls made from them only
 * set state that the http_conn_process() loop picks up (or schedule it
 * when called from elsewhere).
 *
 * A connection and its one request live in one allocation, reused from
 * request to request.  When the client goes while its request is with the
 * handler, the socket is closed and the rest stays until the handler
 * answers.
 */
#ifndef BERTH_HTTP_PRIV_H
#define BERTH_HTTP_PRIV_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <http_parser.h>

#include "util.h"
#include "http.h"

struct bufferevent;
struct event;
struct event_base;
struct evbuffer;
struct evconnlistener;

/* At most this much goes into one http_parser_execute(): also the most a
 * connection keeps of a body its descriptor did not take yet. */
#define HTTP_FEED_MAX		(16 * 1024)
#define HTTP_BUF_MIN		512

enum http_phase {
	PHASE_IDLE,		/* between requests */
	PHASE_HEAD,		/* in a request line or its headers */
	PHASE_REQUEST,		/* a request is being handled */
	PHASE_CLOSING,		/* flushing the last response, lingering */
	PHASE_CLOSED		/* the socket is gone */
};

enum http_body_state {
	BODY_IDLE,		/* nobody asked; the parser waits before it */
	BODY_MEMORY,		/* collecting: http_request_read_body() */
	BODY_FD,		/* streaming: http_request_body_to_fd() */
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

/* The strict framing check of a connection's stream (http_framing.c); a
 * zeroed one is at the start of a stream. */
struct http_framing {
	int		 state;
	int		 trailer;	/* in a trailer section */
	uint64_t	 left;		/* a chunk's size, or bytes to pass */
	size_t		 line;		/* bytes of the chunk-size line */
	const char	*error;		/* why the stream was refused */
};

/* What http_framing_state() says. */
enum {
	HTTP_FRAMING_BETWEEN,		/* between requests */
	HTTP_FRAMING_IN_MESSAGE,
	HTTP_FRAMING_HEAD_END,		/* waits for http_framing_body() */
	HTTP_FRAMING_BAD		/* refused: f->error says why */
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
	int			 refused;	/* by the layer itself */
	int			 body_broken;	/* malformed, or cut short */
	int			 no_splice;	/* its descriptor cannot */

	enum http_body_state	 body_state;
	http_body_cb		 body_cb;
	void			*body_arg;
	size_t			 body_limit;
	uint64_t		 body_share;	/* of http_bodies */
	int			 body_fd;
	int			 body_err;
	int			 body_cb_due;
	http_fd_full_cb		 fd_full_cb;	/* once, when body_fd fills */
	void			*fd_full_arg;
	const char		*body;
	size_t			 body_len;

	int			 streaming;	/* started, not ended */
	uint64_t		 stream_left;	/* body bytes still due */
	int			 stream_chunked; /* its handler frames it */
	int			 drain_armed;
	int			 stream_own;	/* the handler writes the socket */
	http_drain_cb		 drain_cb;
	void			*drain_arg;
};

struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	struct http_server	*srv;
	struct bufferevent	*bev;
	struct event		*timer;
	struct event		*defer;
	struct event		*fd_ev;
	struct event		*splice_ev;	/* http_splice.c's wait */
	http_parser		 parser;
	enum http_phase		 phase;
	enum http_timer		 timer_kind;
	int			 timer_dirty;
	int			 read_timeout;
	int			 reading;
	int			 writing;	/* output blocked */
	int			 read_eof;
	int			 lingering;
	int			 refused;
	int			 close_after;
	int			 keep_alive;
	int			 in_process;
	int			 error;		/* BERR_*, of the parse */
	const char		*error_reason;
	char			 error_text[128];

	struct http_buf		 head;
	size_t			 head_bytes;
	size_t			 url_len;
	int			 url_done;	/* NUL-terminated in head */
	int			 url_complete;	/* its end was seen */
	const char		*feed_end;	/* of what the parser is fed */
	int			 skipping;	/* http_parse_skip() */
	enum http_hstate	 hstate;
	struct http_header	*headers;
	size_t			 nheaders;
	size_t			 headers_size;
	size_t			 trailer_bytes;

	struct http_buf		 qbuf;
	struct http_param	*params;
	size_t			 nparams;
	size_t			 params_size;
	size_t			 params_dropped;	/* did not decode */

	struct http_buf		 rhdr;
	char			*rbuf;		/* bulk reads, lent */
	size_t			 rbuf_used;
	int			 rbuf_refs;
	struct evbuffer		*body;
	char			*pbody;		/* a pooled body, or NULL */
	char			*pending;
	size_t			 pending_off;
	size_t			 pending_len;

	struct http_framing	 framing;
	size_t			 framed;	/* input bytes it passed */

	struct sockaddr_storage	 ss;
	char			 peer[INET6_ADDRSTRLEN + 8];
	struct http_request	 req;
};

TAILQ_HEAD(http_conns, http_conn);

/* conns is in the order connections were accepted or last went idle. */
struct http_server {
	struct event_base	*base;
	struct http_limits	 limits;
	http_request_cb		 cb;
	void			*arg;
	http_summary_cb		 summary_cb;
	void			*summary_arg;
	http_refusal_cb		 refusal_cb;
	void			*refusal_arg;
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
	int			 unlistened;	/* bound, not listening */
	struct event		*drain_ev;
	void			(*drain_done)(void *);
	void			*drain_arg;
	time_t			 date_sec;
	size_t			 date_len;
	char			 date[128];
};

/* The growable buffers of a connection; they never shrink. */
static inline void
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

static inline void
hbuf_add(struct http_buf *b, const void *data, size_t len)
{
	hbuf_reserve(b, len);
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static inline void
hbuf_free(struct http_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->size = 0;
}

/* http_server.c */
/* Makes srv->date "Date: ...\r\nServer: ...\r\n" for this second. */
void	http_server_date(struct http_server *);

/* http_conn.c */
/* A connection for an accepted socket, not yet in the server's table;
 * NULL (fd closed) if it cannot be set up. */
struct http_conn *http_conn_new(struct http_server *, int fd,
	    const struct sockaddr *, socklen_t);
/* Acts on everything that has happened; may free conn. */
void	http_conn_process(struct http_conn *);
/* Runs http_conn_process() from the event loop, unless it runs now. */
void	http_conn_schedule(struct http_conn *);

/* http_answer.c */
/* Refuses a request before it reached the handler (err is a BERR_*, reason
 * says what was wrong): in its API's shape once its target is known,
 * through the server's refusal callback, else a line of text; then
 * close. */
void	http_conn_refuse(struct http_conn *, int err, const char *reason);
/* Queues a status line and headers; clen < 0 sends no Content-Length.
 * with_rhdr adds the handler's headers; extra holds complete header
 * lines of the layer's own. */
void	http_conn_write_head(struct http_conn *, int status,
	    const char *ctype, int64_t clen, int close, int with_rhdr,
	    const char *extra);

/* http_conn.c, continued */
/* Closes once the output is flushed, reading and dropping input meanwhile
 * so that a refused client reads its answer. */
void	http_conn_closing(struct http_conn *);
/* The access log's line for a request the connection answered. */
void	http_conn_summary(struct http_conn *, const char *method,
	    const char *path, int status, uint64_t bytes_in,
	    uint64_t bytes_out, int64_t start_us);
/* A gone request was answered: it needs nothing more. */
void	http_conn_release(struct http_conn *);
/* Waiting for a request with nothing of one read, queued or answered:
 * closing it loses nothing (RFC 9112 9.6). */
int	http_conn_idle(const struct http_conn *);
/* The server drains: idle connections close, busy ones after their
 * current request. */
void	http_conn_drain(struct http_conn *);
/* Closes the socket now, unless a callback of conn is running. */
void	http_conn_abort(struct http_conn *);
/* The server is freed: no callback runs again; a request still with its
 * handler stays (gone) until answered, the rest is freed now. */
void	http_conn_detach(struct http_conn *);

/* http_framing.c */
/* Checks the next len bytes of the stream; returns how many passed: len,
 * or fewer where it stopped, at the end of a request head (until
 * http_framing_body()) or at a byte that breaks the framing (the state is
 * then HTTP_FRAMING_BAD). */
size_t	http_framing_scan(struct http_framing *, const char *, size_t);
/* How the body of the request whose head ended is framed: chunked, else
 * length bytes (0: none). */
void	http_framing_body(struct http_framing *, int chunked,
	    uint64_t length);
int	http_framing_state(const struct http_framing *);

/* http_splice.c */
/* Moves the body of the request from the socket into its descriptor with
 * splice(2) when it can (all that was read is parsed, its length is
 * known); 1 when something changed, 0 when it cannot or waits, -1 when
 * the connection failed. */
int	http_splice_step(struct http_conn *);
/* Whether it waits for the socket or the descriptor (the bufferevent then
 * does not read). */
int	http_splice_waiting(const struct http_conn *);
/* Stops waiting: the body or the socket is done with. */
void	http_splice_stop(struct http_conn *);

/* http_parse.c */
/* Runs the parser over the buffered input.  Returns 1 when it paused
 * (there is something to act on), 0 when it used up the input, -1 on an
 * error (conn->error, or the parser's errno, says which). */
int	http_parse_feed(struct http_conn *);
/* The parser and the framing check pass over n body bytes that went
 * around them (http_splice.c); returns as http_parse_feed(). */
int	http_parse_skip(struct http_conn *, size_t n);
/* Percent-decodes src into dst (at most len bytes); '+' becomes a space
 * if plus is set.  Returns the decoded length, or -1 on a malformed
 * escape or an encoded NUL. */
ssize_t	http_parse_unescape(char *dst, const char *src, size_t len,
	    int plus);

/* http_request.c */
/* Whether an address is in 127.0.0.0/8 or ::1 (or v4-mapped 127/8). */
int	http_addr_is_loopback(const struct sockaddr *);
/* Frees what a body's descriptor had not taken (conn->pending). */
void	http_request_pending_free(struct http_conn *);
/* Gives back the request's share of the memory bodies hold. */
void	http_request_body_release(struct http_request *);
/* Frees or pools the body conn's last request read into memory. */
void	http_request_body_free(struct http_conn *);
/* Ends an active body reader: closes its descriptor and, if notify is
 * set, arranges for its callback to run with err. */
void	http_request_body_end(struct http_request *, int err, int notify);
/* body_fd is full and the body goes on: tells the reader waiting for its
 * end (http_request_on_fd_full) to start. */
void	http_request_fd_full(struct http_request *);
/* Runs a streamed response's drain callback when it is due; 1 if it ran. */
int	http_stream_step(struct http_conn *);
/* Body bytes the parser decoded: collected, written or dropped. */
void	http_request_body_data(struct http_request *, const char *,
	    size_t);
/* The parser reached the end of the message. */
void	http_request_body_done(struct http_request *);

#endif
