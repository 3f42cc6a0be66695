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
 * The unit tests' HTTP harness: a server on 127.0.0.1:0 whose handler
 * picks what to do from the path, a client that parses what comes back,
 * and a pipe that a streamed body can go into.  Server and clients share
 * one event base and one thread, so every test runs the loop until what
 * it waits for has happened (or a deadline passed).
 */
#ifndef BERTH_HTTP_HARNESS_H
#define BERTH_HTTP_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <http_parser.h>

#include "../../daemon/http.h"

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

struct http_test {
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
	struct http_request	*held;	/* the first /hold, and a second */
	struct http_request	*held2;
	int			 nsummary;
	int			 last_status;
	uint64_t		 last_in;
	uint64_t		 last_out;
	char			 last_method[32];
	char			 last_path[256];
	int			 drained;
	int			 nrefusal;
	int			 refusal_err;
	char			 refusal_method[16];
	char			 refusal_path[10240];
	char			*big;
	struct evbuffer_file_segment *seg;
};

extern struct http_test T;

/* The byte at offset i of a generated upload. */
uint8_t	 pattern(uint64_t);

/* The test server: T is reset, a server with limits (NULL: defaults)
 * listens on T.port. */
void	 srv_start(const struct http_limits *);
void	 srv_stop(void);
/* The test server's handler: what it does depends on the path. */
void	 test_handler(struct http_request *, void *);
void	 body_done_cb(struct http_request *, int, void *);
/* Runs the loop until cond(arg) holds or ms pass; returns cond(arg). */
int	 run_until(int (*)(void *), void *, int);
void	 run_for(int);

/* Test clients. */
int	 client_connect(int);
struct tclient *client_new(void);
void	 client_close(struct tclient *);
void	 client_free(struct tclient *);
void	 client_send(struct tclient *, const char *);
/* Sends a generated body of len bytes, chunked or not. */
void	 client_upload(struct tclient *, uint64_t, int);
/* Waits until n responses have arrived. */
int	 client_wait(struct tclient *, int, int);
int	 cond_resp(void *);
int	 cond_eof(void *);
int	 cond_continue(void *);
int	 cond_no_connections(void *);
/* The value of a response header, or NULL. */
const char *resp_header(struct tresp *, const char *, char *, size_t);
int	 resp_header_is(struct tresp *, const char *, const char *);
/* One request, one response, on a fresh connection. */
struct tclient *simple(const char *, int);
int64_t	 ms_since(int64_t);

/* The pipe /fd streams into. */
void	 pipe_open(void);
void	 pipe_start_reading(void);
int	 cond_pipe_eof(void *);

/* Registers a suite of the tests (SIGPIPE ignored); 0, or -1. */
struct harness_test {
	const char	*name;
	void		(*fn)(void);
};
int	 harness_register(const char *, const struct harness_test *, size_t);

#endif
