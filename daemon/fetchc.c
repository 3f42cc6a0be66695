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
 * berthd's side of berth-fetchd: supervising it (the spawner starts it,
 * as it starts berth-blobd; a dead one is started again with worker.c's
 * backoff) and
 * the requests to it.  A request names a URL and gets the answer's
 * headers, then its body in a pipe berthd made or inline, then the
 * outcome.  Requests made while berth-fetchd is starting wait for it; when
 * it dies, those in flight fail as if the upstream were unreachable.  It
 * is first started a quarter of a second after berthd, or by the first
 * request that needs it if that comes sooner: its start (libcurl and its
 * libraries, OpenSSL, the resolver) costs more CPU than berthd's and
 * berth-blobd's together, and made at once it delays the first answers.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "error.h"
#include "fetch_proto.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

struct fetchc_call {
	TAILQ_ENTRY(fetchc_call) entry;
	uint32_t	 id;
	struct wbuf	 frame;		/* the request, until it is sent */
	int		 pipe;		/* to pass with it, or -1 */
	int		 sent;
	fetchc_headers_cb headers;
	fetchc_done_cb	 done;
	void		*arg;
};

static TAILQ_HEAD(, fetchc_call) fetchc_calls =
    TAILQ_HEAD_INITIALIZER(fetchc_calls);
static struct rpc_chan	*fetchc_chan;
static pid_t		 fetchc_child = -1;
static int		 fetchc_starting;
static int		 fetchc_hello;
static int		 fetchc_stopping;
static uint32_t		 fetchc_next_id;
static struct restart	 fetchc_restart;
static struct event	*fetchc_first;	/* the first start, deferred */

/* How long after berthd's start berth-fetchd is first started. */
#define FETCHC_FIRST_START_MS	250

static int	fetchc_check_headers(const struct frame_hdr *,
		    const uint8_t *);
static int	fetchc_check_done(const struct frame_hdr *, const uint8_t *);

const struct rpc_rule fetchc_rules[] = {
	{ MSG_FETCH_HELLO, sizeof(struct msg_fetch_hello),
	    sizeof(struct msg_fetch_hello), RPC_FD_NONE, RPC_ID_ZERO, NULL,
	    NULL },
	{ MSG_FETCH_HEADERS, sizeof(struct msg_fetch_headers),
	    sizeof(struct msg_fetch_headers), RPC_FD_NONE, RPC_ID_REQUEST,
	    fetchc_check_headers, NULL },
	{ MSG_FETCH_DONE, sizeof(struct msg_fetch_done),
	    sizeof(struct msg_fetch_done) + FETCH_INLINE_MAX, RPC_FD_NONE,
	    RPC_ID_REQUEST, fetchc_check_done, NULL },
};
const size_t fetchc_nrules = nitems(fetchc_rules);

/* The headers' strings end within their fields: berthd uses them as C
 * strings (the manifest's media type, the digest it is checked with). */
static int
fetchc_check_headers(const struct frame_hdr *h, const uint8_t *payload)
{
	struct msg_fetch_headers hd;

	memcpy(&hd, payload, sizeof(hd));
	if (memchr(hd.content_type, '\0', sizeof(hd.content_type)) == NULL ||
	    memchr(hd.digest, '\0', sizeof(hd.digest)) == NULL)
		return -1;
	return 0;
}

static int
fetchc_check_done(const struct frame_hdr *h, const uint8_t *payload)
{
	struct msg_fetch_done	 d;

	memcpy(&d, payload, sizeof(d));
	if (h->len != sizeof(d) + (uint64_t)d.body_len || d.result < 0 ||
	    d.result >= FETCH_ERR__MAX ||
	    memchr(d.message, '\0', sizeof(d.message)) == NULL)
		return -1;
	return 0;
}

static struct fetchc_call *
fetchc_find(uint32_t id)
{
	struct fetchc_call *c;

	TAILQ_FOREACH(c, &fetchc_calls, entry)
		if (c->id == id)
			return c;
	return NULL;
}

static void
fetchc_call_free(struct fetchc_call *c)
{
	TAILQ_REMOVE(&fetchc_calls, c, entry);
	wbuf_clear(&c->frame);
	if (c->pipe != -1)
		close(c->pipe);
	free(c);
}

/* Ends a call without an answer from berth-fetchd. */
static void
fetchc_call_fail(struct fetchc_call *c, const char *why)
{
	struct msg_fetch_done	 d;
	fetchc_done_cb		 done = c->done;
	void			*arg = c->arg;

	memset(&d, 0, sizeof(d));
	d.result = FETCH_ERR_UNREACHABLE;
	snprintf(d.message, sizeof(d.message), "%s", why);
	fetchc_call_free(c);
	done(&d, NULL, 0, arg);
}

static void
fetchc_send(struct fetchc_call *c)
{
	int	 fd = c->pipe;

	c->pipe = -1;
	c->sent = 1;
	/* The channel owns fd from here, even when sending fails. */
	if (rpc_send(fetchc_chan, MSG_FETCH_START, c->id, c->frame.data,
	    c->frame.len, fd) != 0)
		log_warnx("cannot reach berth-fetchd");
	wbuf_clear(&c->frame);
}

static void
fetchc_msg_cb(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct msg_fetch_hello	 hello;
	struct msg_fetch_headers hd;
	struct msg_fetch_done	 d;
	struct fetchc_call	*c;
	fetchc_done_cb		 done;
	void			*carg;

	switch (h->type) {
	case MSG_FETCH_HELLO:
		memcpy(&hello, payload, sizeof(hello));
		if (hello.version != FETCH_PROTOCOL_VERSION)
			fatalx("berth-fetchd speaks protocol %u, berthd %u: "
			    "install matching binaries", hello.version,
			    FETCH_PROTOCOL_VERSION);
		fetchc_hello = 1;
		fetchc_restart.up_since = mono_ms();
		log_debug("berth-fetchd %u ready", hello.pid);
		return;
	case MSG_FETCH_HEADERS:
		if ((c = fetchc_find(h->id)) == NULL)
			return;		/* cancelled */
		memcpy(&hd, payload, sizeof(hd));
		hd.content_type[sizeof(hd.content_type) - 1] = '\0';
		hd.digest[sizeof(hd.digest) - 1] = '\0';
		if (c->headers != NULL)
			c->headers(&hd, c->arg);
		return;
	case MSG_FETCH_DONE:
		if ((c = fetchc_find(h->id)) == NULL)
			return;
		memcpy(&d, payload, sizeof(d));
		done = c->done;
		carg = c->arg;
		fetchc_call_free(c);
		done(&d, d.body_len > 0 ? payload + sizeof(d) : NULL,
		    d.body_len, carg);
		return;
	}
}

static void
fetchc_fail_all(const char *why)
{
	struct fetchc_call *c, *next;

	for (c = TAILQ_FIRST(&fetchc_calls); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->sent)
			fetchc_call_fail(c, why);
	}
}

static void
fetchc_close_cb(struct rpc_chan *chan, int err, void *arg)
{
	if (err == BERR_FRAME)
		fatalx("berth-fetchd sent a malformed message");
	/* Its exit status, which the spawner reports, does the rest. */
	if (fetchc_child > 0)
		spawner_kill_worker(fetchc_child);
}

static void
fetchc_spawn(void)
{
	fetchc_starting = 1;
	fetchc_hello = 0;
	spawner_request_fetcher();
}

static void
fetchc_restart_cb(void)
{
	if (!fetchc_stopping)
		fetchc_spawn();
}

static void
fetchc_schedule_restart(const char *how)
{
	struct fetchc_call *c, *next;

	/* What waits for a start fails now rather than after the delay. */
	for (c = TAILQ_FIRST(&fetchc_calls); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		fetchc_call_fail(c, "berth-fetchd is not running");
	}
	if (fetchc_stopping)
		return;
	restart_schedule(&fetchc_restart, how);
	fetchc_restart.restarts++;
}

void
fetchc_started(pid_t pid, int fd)
{
	struct fetchc_call *c;

	if (!fetchc_starting)
		fatalx("the spawner started a fetcher nobody asked for");
	fetchc_starting = 0;
	fetchc_child = pid;
	fetchc_restart.up_since = 0;
	fetchc_chan = rpc_new(ev_base, fd, fetchc_rules, nitems(fetchc_rules),
	    fetchc_msg_cb, fetchc_close_cb, NULL);
	TAILQ_FOREACH(c, &fetchc_calls, entry)
		if (!c->sent)
			fetchc_send(c);
}

void
fetchc_failed(int err)
{
	char	 how[128];

	fetchc_starting = 0;
	snprintf(how, sizeof(how), "could not be started (%s)",
	    strerror(err));
	fetchc_schedule_restart(how);
}

int
fetchc_exited(pid_t pid, int status)
{
	char	 how[64];

	if (pid != fetchc_child || pid <= 0)
		return 0;
	restart_describe_exit(status, how, sizeof(how));
	/* A bad --upstream-map or CA file: nothing would ever work. */
	if (!fetchc_hello && WIFEXITED(status) &&
	    WEXITSTATUS(status) == FETCHD_EXIT_CONFIG)
		fatalx("berth-fetchd refused its configuration (see above)");
	fetchc_child = -1;
	fetchc_hello = 0;
	if (fetchc_chan != NULL) {
		rpc_free(fetchc_chan);
		fetchc_chan = NULL;
	}
	fetchc_fail_all("berth-fetchd stopped during the fetch");
	fetchc_schedule_restart(how);
	return 1;
}

static void
fetchc_first_cb(evutil_socket_t fd, short what, void *arg)
{
	if (fetchc_child == -1 && !fetchc_starting &&
	    !restart_pending(&fetchc_restart) && !fetchc_stopping)
		fetchc_spawn();
}

void
fetchc_start(void)
{
	struct timeval	 tv = { 0, FETCHC_FIRST_START_MS * 1000 };

	restart_init(&fetchc_restart, "berth-fetchd", fetchc_restart_cb);
	if ((fetchc_first = evtimer_new(ev_base, fetchc_first_cb, NULL)) ==
	    NULL || evtimer_add(fetchc_first, &tv) == -1)
		fatalx("cannot schedule berth-fetchd's start");
}

void
fetchc_stop(void)
{
	fetchc_stopping = 1;
	if (fetchc_first != NULL) {
		event_free(fetchc_first);
		fetchc_first = NULL;
	}
	restart_cancel(&fetchc_restart);
	fetchc_fail_all("berthd is stopping");
	if (fetchc_chan != NULL) {
		rpc_free(fetchc_chan);
		fetchc_chan = NULL;
	}
}

pid_t
fetchc_pid(void)
{
	return fetchc_hello ? fetchc_child : -1;
}

uint64_t
fetchc_restarts(void)
{
	return fetchc_restart.restarts;
}

void
fetchc_reopen_log(void)
{
	restart_send_stderr(fetchc_chan, MSG_FETCH_LOG_REOPEN);
}

static void
fetchc_too_large_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fetchc_call *c;

	if ((c = fetchc_find((uint32_t)(uintptr_t)arg)) != NULL)
		fetchc_call_fail(c, "the request is too large for berth-fetchd");
}

static void
fetchc_put_field(struct wbuf *b, const char *s)
{
	if (s != NULL)
		wbuf_put(b, s, strlen(s));
}

uint32_t
fetchc_fetch(const struct fetchc_request *rq, fetchc_headers_cb headers,
    fetchc_done_cb done, void *arg)
{
	struct msg_fetch_start	 m;
	struct fetchc_call	*c;

	c = xcalloc(1, sizeof(*c));
	if (++fetchc_next_id == 0)
		fetchc_next_id = 1;
	c->id = fetchc_next_id;
	c->pipe = rq->pipe;
	c->headers = headers;
	c->done = done;
	c->arg = arg;
	memset(&m, 0, sizeof(m));
	m.method = rq->method;
	m.flags = rq->flags;
	m.max_bytes = rq->max_bytes;
	m.url_len = (uint32_t)strlen(rq->url);
	m.accept_len = rq->accept != NULL ? (uint32_t)strlen(rq->accept) : 0;
	m.user_len = rq->user != NULL ? (uint32_t)strlen(rq->user) : 0;
	m.secret_len = rq->secret != NULL ? (uint32_t)strlen(rq->secret) : 0;
	m.headers_len = rq->headers != NULL ? (uint32_t)strlen(rq->headers) :
	    0;
	m.body_len = (uint32_t)rq->body_len;
	wbuf_init(&c->frame);
	wbuf_put(&c->frame, &m, sizeof(m));
	fetchc_put_field(&c->frame, rq->url);
	fetchc_put_field(&c->frame, rq->accept);
	fetchc_put_field(&c->frame, rq->user);
	fetchc_put_field(&c->frame, rq->secret);
	fetchc_put_field(&c->frame, rq->headers);
	if (rq->body_len > 0)
		wbuf_put(&c->frame, rq->body, rq->body_len);
	TAILQ_INSERT_TAIL(&fetchc_calls, c, entry);
	if (m.url_len > FETCH_URL_MAX || m.accept_len > FETCH_FIELD_MAX ||
	    m.user_len > FETCH_FIELD_MAX || m.secret_len > FETCH_FIELD_MAX ||
	    m.headers_len > FETCH_FIELD_MAX || m.body_len > FETCH_BODY_MAX) {
		/* Answered from the loop: never before this returns. */
		struct timeval tv = { 0, 0 };
		c->sent = 1;
		if (event_base_once(ev_base, -1, EV_TIMEOUT,
		    fetchc_too_large_cb, (void *)(uintptr_t)c->id, &tv) == -1)
			fatalx("event_base_once");
		return c->id;
	}
	if (fetchc_chan != NULL)
		fetchc_send(c);
	else if (!fetchc_starting && !restart_pending(&fetchc_restart) &&
	    !fetchc_stopping)
		fetchc_spawn();
	return c->id;
}

void
fetchc_cancel(uint32_t id)
{
	struct fetchc_call *c;

	if (id == 0 || (c = fetchc_find(id)) == NULL)
		return;
	if (c->sent && fetchc_chan != NULL)
		(void)rpc_send(fetchc_chan, MSG_FETCH_CANCEL, id, NULL, 0, -1);
	fetchc_call_free(c);
}
