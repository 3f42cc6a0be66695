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
 * A blob pulled through the cache, shown to its first client as it
 * arrives.  berth-fetchd writes the blob into a pipe of berthd's; berthd
 * copies each piece on into blobd's upload pipe and, once the upstream's
 * headers gave the size, to the client (a response whose Content-Length
 * is that size).  The blob's last byte is held back until blobd has
 * verified the digest and stored it: on a mismatch, a cut or any failure
 * the connection closes instead, so that the client sees a short body and
 * never takes wrong content for the blob.  The copy goes at the pace of
 * the slower reader (blobd, or the client, which the HTTP layer cuts off
 * after --io-timeout without progress; then the fetch goes on into the
 * store alone), with at most PTC_TEE_HIGH bytes held for the client.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "berthd.h"
#include "http.h"
#include "log.h"
#include "ptc.h"
#include "util.h"

#define PTC_TEE_READ	(64 * 1024)
#define PTC_TEE_HIGH	(1024 * 1024)

enum ptc_tee_client {
	TEE_UNDECIDED,		/* the size is not known yet */
	TEE_CLIENT,		/* streaming to req */
	TEE_NONE		/* no client, or it went */
};

struct ptc_tee {
	int		 in_fd;		/* berth-fetchd's pipe, or -1 at its end */
	int		 store_fd;	/* blobd's pipe, or -1 once closed */
	struct event	*rev;
	struct event	*wev;
	struct evbuffer	*sbuf;		/* for blobd */
	struct evbuffer	*cbuf;		/* for the client */
	enum ptc_tee_client state;
	struct http_request *req;
	uint64_t	 length;	/* the Content-Length sent */
	uint64_t	 sent;		/* bytes handed to the client */
	uint64_t	 received;
	int		 draining;	/* a drain callback is asked for */
};

static void	ptc_tee_pump(struct ptc_tee *);

static void
ptc_tee_event_cb(evutil_socket_t fd, short what, void *arg)
{
	ptc_tee_pump(arg);
}

static void
ptc_tee_drain_cb(struct http_request *req, void *arg)
{
	struct ptc_tee	*t = arg;

	t->draining = 0;
	ptc_tee_pump(t);
}

static void
ptc_tee_close(int *fd, struct event *ev)
{
	if (*fd == -1)
		return;
	event_del(ev);
	close(*fd);
	*fd = -1;
}

/* The client is given up: it sees a short body. */
static void
ptc_tee_drop_client(struct ptc_tee *t)
{
	if (t->state == TEE_CLIENT)
		http_end(t->req, 0);
	t->req = NULL;
	t->state = TEE_NONE;
	t->draining = 0;
	evbuffer_drain(t->cbuf, evbuffer_get_length(t->cbuf));
}

/* Hands the client what it may have: all but the blob's last byte. */
static void
ptc_tee_feed(struct ptc_tee *t)
{
	size_t	 n;

	while (t->state == TEE_CLIENT && evbuffer_get_length(t->cbuf) > 0 &&
	    t->sent + 1 < t->length) {
		if (http_queued(t->req) > 4 * HTTP_STREAM_LOW) {
			if (!t->draining) {
				t->draining = 1;
				http_on_drain(t->req, ptc_tee_drain_cb, t);
			}
			return;
		}
		n = evbuffer_get_contiguous_space(t->cbuf);
		if (n > t->length - 1 - t->sent)
			n = t->length - 1 - t->sent;
		if (http_write(t->req, evbuffer_pullup(t->cbuf, n), n) == -1) {
			ptc_tee_drop_client(t);
			return;
		}
		evbuffer_drain(t->cbuf, n);
		t->sent += n;
	}
}

/* Moves bytes from berth-fetchd's pipe on, while both sides take them. */
static void
ptc_tee_pump(struct ptc_tee *t)
{
	char	 buf[PTC_TEE_READ];
	ssize_t	 n;

	for (;;) {
		ptc_tee_feed(t);
		if (t->store_fd != -1 && evbuffer_get_length(t->sbuf) > 0 &&
		    evbuffer_write(t->sbuf, t->store_fd) == -1 &&
		    errno != EAGAIN && errno != EINTR) {
			/* blobd gave up the upload: so does the fetch. */
			log_debug("pull through cache: the store's pipe: %s",
			    strerror(errno));
			ptc_tee_close(&t->in_fd, t->rev);
			ptc_tee_close(&t->store_fd, t->wev);
			return;
		}
		if (t->store_fd == -1)
			return;
		if (evbuffer_get_length(t->sbuf) > 0) {
			event_add(t->wev, NULL);
			return;
		}
		if (t->in_fd == -1) {
			/* All went on: blobd sees the end. */
			ptc_tee_close(&t->store_fd, t->wev);
			return;
		}
		if (t->state != TEE_NONE &&
		    evbuffer_get_length(t->cbuf) >= PTC_TEE_HIGH)
			return;		/* the client, or its size, first */
		if ((n = read(t->in_fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				event_add(t->rev, NULL);
				return;
			}
			log_debug("pull through cache: the fetch's pipe: %s",
			    strerror(errno));
			n = 0;
		}
		if (n == 0) {
			ptc_tee_close(&t->in_fd, t->rev);
			continue;
		}
		t->received += (uint64_t)n;
		(void)evbuffer_add(t->sbuf, buf, (size_t)n);
		if (t->state != TEE_NONE)
			(void)evbuffer_add(t->cbuf, buf, (size_t)n);
		if (t->state == TEE_CLIENT && t->received > t->length)
			ptc_tee_drop_client(t);	/* more than it said */
	}
}

struct ptc_tee *
ptc_tee_new(int store_wfd, int *fetch_wfd)
{
	struct ptc_tee	*t;
	int		 fds[2];

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("pull through cache: pipe");
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->in_fd = fds[0];
	t->store_fd = store_wfd;
	(void)fcntl(store_wfd, F_SETFL, fcntl(store_wfd, F_GETFL) | O_NONBLOCK);
	t->rev = event_new(ev_base, t->in_fd, EV_READ, ptc_tee_event_cb, t);
	t->wev = event_new(ev_base, t->store_fd, EV_WRITE, ptc_tee_event_cb, t);
	t->sbuf = evbuffer_new();
	t->cbuf = evbuffer_new();
	if (t->rev == NULL || t->wev == NULL || t->sbuf == NULL ||
	    t->cbuf == NULL)
		fatalx("pull through cache: out of memory");
	event_add(t->rev, NULL);
	*fetch_wfd = fds[1];
	return t;
}

void
ptc_tee_client(struct ptc_tee *t, struct http_request *req, uint64_t length)
{
	if (t->state != TEE_UNDECIDED)
		return;
	if (req == NULL || length == 0 || t->received > length ||
	    http_respond_start(req, 200, "application/octet-stream",
	    length) != 0) {
		ptc_tee_drop_client(t);
	} else {
		t->state = TEE_CLIENT;
		t->req = req;
		t->length = length;
	}
	ptc_tee_pump(t);
}

int
ptc_tee_undecided(const struct ptc_tee *t)
{
	return t->state == TEE_UNDECIDED;
}

void
ptc_tee_end(struct ptc_tee *t, int ok)
{
	size_t	 n;

	if (t->state == TEE_CLIENT) {
		n = evbuffer_get_length(t->cbuf);
		if (ok && t->in_fd == -1 && t->sent + n == t->length &&
		    http_write(t->req, evbuffer_pullup(t->cbuf, -1), n) == 0)
			http_end(t->req, 1);
		else
			http_end(t->req, 0);
	}
	ptc_tee_close(&t->in_fd, t->rev);
	ptc_tee_close(&t->store_fd, t->wev);
	event_free(t->rev);
	event_free(t->wev);
	evbuffer_free(t->sbuf);
	evbuffer_free(t->cbuf);
	free(t);
}
