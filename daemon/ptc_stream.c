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
 * The OCI routes' way into the pull through cache: a manifest or blob GET
 * or HEAD that the cache takes waits for the fetch and is then served
 * again from the store.  And a blob pulled through the cache, shown to
 * its first client as it arrives, with no copy through berthd's memory.  berth-fetchd writes the
 * blob into a pipe of berthd's; berthd duplicates what that pipe holds
 * into blobd's upload pipe (tee(2): the pages are shared, not copied) and
 * then moves the same bytes from it to the client's socket (splice(2)),
 * once the upstream's headers gave the size (a response whose
 * Content-Length is that size).  tee(2) always starts at the pipe's
 * front, so the bytes teed are moved on before more are teed: "ahead"
 * counts them.  The blob's last byte is held back (read out of the pipe)
 * until blobd has verified the digest and stored it: on a mismatch, a
 * cut or any failure the connection closes instead, so that the client
 * sees a short body and never takes wrong content for the blob.  The
 * bytes move at the pace of the slower reader (blobd, or the client,
 * which is given up after the HTTP layer's I/O timeout without progress
 * or when it goes; then the fetch goes on into the store alone, spliced
 * from pipe to pipe).  An upstream that gives no length is streamed in a
 * chunked response, each piece moved a chunk, and the last (empty) chunk
 * is what waits for blobd's verdict.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/param.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "http.h"
#include "log.h"
#include "ptc.h"
#include "util.h"

/* Each pipe's size: fewer, larger moves. */
#define PTC_TEE_PIPE	(1024 * 1024)
/* Bytes dropped from the fetch's pipe at a time (no client). */
#define PTC_TEE_DROP	(16 * 1024)

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
	struct event	*cev;		/* the client's socket, once known */
	const struct timeval *io_tv;
	enum ptc_tee_client state;
	struct http_request *req;
	uint64_t	 length;	/* the Content-Length sent */
	uint64_t	 sent;		/* bytes handed to the client */
	uint64_t	 received;
	size_t		 ahead;		/* in_fd's first bytes, in store_fd */
	int		 have_last;
	uint8_t		 last;		/* the blob's last byte, held */
	/* An upstream without a Content-Length: a chunked response whose
	 * last chunk is held instead (ptc_tee_give_chunked). */
	int		 chunked;
	int		 sock;		/* the client's, once given, or -1 */
	struct ptc_chunks chunks;
};

static void	ptc_tee_pump(struct ptc_tee *);

static void
ptc_tee_event_cb(evutil_socket_t fd, short what, void *arg)
{
	ptc_tee_pump(arg);
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

/* The fetch is given up (blobd gave up its upload, or the pipe failed). */
static void
ptc_tee_stop(struct ptc_tee *t, const char *what)
{
	log_debug("pull through cache: %s: %s", what, strerror(errno));
	ptc_tee_close(&t->in_fd, t->rev);
	ptc_tee_close(&t->store_fd, t->wev);
}

/* The client is given up: it sees a short body. */
static void
ptc_tee_drop_client(struct ptc_tee *t)
{
	if (t->cev != NULL)
		event_del(t->cev);
	if (t->state == TEE_CLIENT)
		http_end(t->req, 0);
	t->req = NULL;
	t->state = TEE_NONE;
	t->have_last = 0;
}

static void
ptc_tee_client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ptc_tee	*t = arg;

	if (what & EV_TIMEOUT) {
		log_debug("pull through cache: the client took nothing for "
		    "the I/O timeout");
		ptc_tee_drop_client(t);
	}
	ptc_tee_pump(t);
}

/* http_on_drain() of a spliced stream: the client has gone. */
static void
ptc_tee_gone_cb(struct http_request *req, void *arg)
{
	struct ptc_tee	*t = arg;

	ptc_tee_drop_client(t);
	ptc_tee_pump(t);
}

/* Waits for the client's socket to take more, or for the client to go. */
static void
ptc_tee_wait_client(struct ptc_tee *t, int fd)
{
	if (t->cev == NULL && (t->cev = event_new(ev_base, fd, EV_WRITE,
	    ptc_tee_client_cb, t)) == NULL)
		fatalx("pull through cache: out of memory");
	event_add(t->cev, t->io_tv);
	http_on_drain(t->req, ptc_tee_gone_cb, t);
}

/* A move between pipes would block: on the fetch's pipe when it is
 * empty, else on blobd's. */
static void
ptc_tee_wait(struct ptc_tee *t)
{
	int	 avail = 0;

	if (ioctl(t->in_fd, FIONREAD, &avail) == 0 && avail == 0)
		event_add(t->rev, NULL);
	else
		event_add(t->wev, NULL);
}

/* http_on_drain() of the head of a chunked response: it went. */
static void
ptc_tee_head_cb(struct http_request *req, void *arg)
{
	ptc_tee_pump(arg);
}

/* --- chunked responses (also ptc_join.c's) ------------------------------- */

ssize_t
ptc_chunks_head(struct ptc_chunks *c, int sock, size_t avail)
{
	ssize_t	 w;

	if (c->left == 0 && c->head_off == c->head_len) {
		c->left = avail;
		c->head_len = (size_t)snprintf(c->head, sizeof(c->head),
		    "%s%zx\r\n", c->sent > 0 ? "\r\n" : "", avail);
		c->head_off = 0;
	}
	while (c->head_off < c->head_len) {
		if ((w = write(sock, c->head + c->head_off,
		    c->head_len - c->head_off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->head_off += (size_t)w;
	}
	return (ssize_t)c->left;
}

void
ptc_chunks_moved(struct ptc_chunks *c, size_t n)
{
	c->left -= n;
	c->sent += n;
}

int
ptc_chunks_end(struct ptc_chunks *c, struct http_request *req)
{
	static const char last[] = "\r\n0\r\n\r\n";

	if (c->left > 0 || c->head_off < c->head_len)
		return -1;
	/* No "\r\n" ends a chunk before it when there was none. */
	return c->sent > 0 ? http_write(req, last, sizeof(last) - 1) :
	    http_write(req, last + 2, sizeof(last) - 3);
}

/*
 * The bytes ahead go to the client of a chunked response, each move of
 * them a chunk: its head, then the bytes, spliced.  What is held is the
 * last chunk (ptc_tee_end): a client sees a body without it as cut short.
 * 0 when some moved, 1 to wait.
 */
static int
ptc_tee_give_chunked(struct ptc_tee *t)
{
	ssize_t	 n, w;

	if (t->sock == -1 &&
	    (t->sock = http_stream_fd(t->req, &t->io_tv)) == -1) {
		if (errno != EAGAIN) {
			ptc_tee_drop_client(t);
			return 0;
		}
		http_on_drain(t->req, ptc_tee_head_cb, t);
		return 1;
	}
	if ((n = ptc_chunks_head(&t->chunks, t->sock, t->ahead)) != -1)
		w = splice(t->in_fd, NULL, t->sock, NULL, (size_t)n,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	else
		w = -1;
	if (w == -1 && (errno == EAGAIN || errno == EINTR)) {
		ptc_tee_wait_client(t, t->sock);
		return 1;
	}
	if (w <= 0 || http_wrote(t->req, (size_t)w) == -1) {
		ptc_tee_drop_client(t);
		return 0;
	}
	ptc_chunks_moved(&t->chunks, (size_t)w);
	t->sent += (uint64_t)w;
	t->ahead -= (size_t)w;
	return 0;
}

/*
 * The bytes ahead (already in blobd's pipe) go to the client, all but the
 * blob's last byte, which is read and held; with no client they are read
 * and dropped.  Returns 0 when some left the fetch's pipe, 1 to wait.
 */
static int
ptc_tee_give(struct ptc_tee *t)
{
	uint8_t	 buf[PTC_TEE_DROP];
	size_t	 n;
	ssize_t	 w;
	int	 fd;

	if (t->state == TEE_UNDECIDED)
		return 1;		/* ptc_tee_client() comes */
	if (t->state == TEE_CLIENT && t->chunked)
		return ptc_tee_give_chunked(t);
	if (t->state == TEE_CLIENT && t->sent + 1 < t->length) {
		if ((fd = http_stream_fd(t->req, &t->io_tv)) == -1) {
			ptc_tee_drop_client(t);
			return 0;
		}
		if (http_queued(t->req) > 0) {
			ptc_tee_wait_client(t, fd);
			return 1;	/* the head first */
		}
		n = MIN(t->ahead, t->length - 1 - t->sent);
		if ((w = splice(t->in_fd, NULL, fd, NULL, n,
		    SPLICE_F_NONBLOCK | SPLICE_F_MOVE)) == -1 &&
		    (errno == EAGAIN || errno == EINTR)) {
			ptc_tee_wait_client(t, fd);
			return 1;
		}
		if (w <= 0 || http_wrote(t->req, (size_t)w) == -1) {
			ptc_tee_drop_client(t);
			return 0;
		}
		t->sent += (uint64_t)w;
		t->ahead -= (size_t)w;
		return 0;
	}
	if ((w = read(t->in_fd, buf, MIN(t->ahead, sizeof(buf)))) <= 0) {
		if (w == -1 && errno == EINTR)
			return 0;
		ptc_tee_stop(t, "the fetch's pipe");
		return 1;
	}
	if (t->state == TEE_CLIENT && !t->have_last) {
		t->last = buf[0];
		t->have_last = 1;
	}
	t->ahead -= (size_t)w;
	return 0;
}

/* Moves bytes from berth-fetchd's pipe on, while both sides take them. */
static void
ptc_tee_pump(struct ptc_tee *t)
{
	ssize_t	 n;

	while (t->store_fd != -1) {
		if (t->ahead > 0) {
			if (ptc_tee_give(t) != 0)
				return;
			continue;
		}
		if (t->state == TEE_NONE)
			n = splice(t->in_fd, NULL, t->store_fd, NULL,
			    PTC_TEE_PIPE, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		else
			n = tee(t->in_fd, t->store_fd, PTC_TEE_PIPE,
			    SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			ptc_tee_wait(t);
			return;
		}
		if (n == -1) {
			/* blobd gave up the upload: so does the fetch. */
			ptc_tee_stop(t, "the store's pipe");
			return;
		}
		if (n == 0) {
			/* All went on: blobd sees the end. */
			ptc_tee_close(&t->in_fd, t->rev);
			ptc_tee_close(&t->store_fd, t->wev);
			return;
		}
		t->received += (uint64_t)n;
		if (t->state != TEE_NONE)
			t->ahead = (size_t)n;
		if (t->state == TEE_CLIENT && !t->chunked &&
		    t->received > t->length)
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
	/* The default is 64 KiB: a move per 16 pages. */
	(void)fcntl(fds[0], F_SETPIPE_SZ, PTC_TEE_PIPE);
	t = xcalloc(1, sizeof(*t));
	t->sock = -1;
	t->in_fd = fds[0];
	t->store_fd = store_wfd;
	(void)fcntl(store_wfd, F_SETFL, fcntl(store_wfd, F_GETFL) | O_NONBLOCK);
	t->rev = event_new(ev_base, t->in_fd, EV_READ, ptc_tee_event_cb, t);
	t->wev = event_new(ev_base, t->store_fd, EV_WRITE, ptc_tee_event_cb, t);
	if (t->rev == NULL || t->wev == NULL)
		fatalx("pull through cache: out of memory");
	event_add(t->rev, NULL);
	*fetch_wfd = fds[1];
	return t;
}

/* A response of a size not known: chunked, for a client that can take
 * it.  0 or -1. */
static int
ptc_tee_start_chunked(struct ptc_tee *t, struct http_request *req)
{
	if (!http_request_chunkable(req) ||
	    http_respond_chunked(req, 200, "application/octet-stream") != 0)
		return -1;
	t->chunked = 1;
	return 0;
}

void
ptc_tee_client(struct ptc_tee *t, struct http_request *req, uint64_t length)
{
	if (t->state != TEE_UNDECIDED)
		return;
	if (req == NULL || length == 0 || (length == UINT64_MAX ?
	    ptc_tee_start_chunked(t, req) != 0 : (t->received > length ||
	    http_respond_start(req, 200, "application/octet-stream",
	    length) != 0))) {
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
	if (t->state == TEE_CLIENT && t->chunked) {
		if (t->cev != NULL)
			event_del(t->cev);
		http_end(t->req, ok && t->in_fd == -1 && t->ahead == 0 &&
		    ptc_chunks_end(&t->chunks, t->req) == 0);
	} else if (t->state == TEE_CLIENT) {
		if (t->cev != NULL)
			event_del(t->cev);
		if (ok && t->in_fd == -1 && t->have_last &&
		    t->sent + 1 == t->length &&
		    http_write(t->req, &t->last, 1) == 0)
			http_end(t->req, 1);
		else
			http_end(t->req, 0);
	}
	ptc_tee_close(&t->in_fd, t->rev);
	ptc_tee_close(&t->store_fd, t->wev);
	event_free(t->rev);
	event_free(t->wev);
	if (t->cev != NULL)
		event_free(t->cev);
	free(t);
}

/* --- the OCI routes ------------------------------------------------------ */

/* An OCI request waiting for the cache, then served again. */
struct ptc_oci {
	struct http_request *req;
	struct oci_ident id;
	char		 name[NAME_MAX_LEN + 1];
	char		 ref[DIGEST_STR_MAX + ECR_TAG_MAX_LEN];
	int		 blob;
	int		 answered;	/* a HEAD, before the fetch ended */
	struct ptc_join	*join;		/* following the fetch, or NULL */
};

/* Set while a request is served again after a fetch: no second fetch. */
static int	ptc_bypass;

static void
ptc_oci_done_cb(int err, const char *why, void *arg)
{
	struct ptc_oci	*o = arg;

	if (o->answered ||
	    (o->join != NULL && ptc_join_verdict(o->join, err == 0))) {
		free(o);
		return;
	}
	if (err != 0)
		oci_error(o->req, err, "%s%s%s from the upstream: %s", o->name,
		    o->blob ? "@" : ":", o->ref, why);
	else {
		ptc_bypass = 1;
		if (o->blob)
			oci_blob_get(o->req, &o->id, o->name, o->ref);
		else
			oci_manifest_get(o->req, &o->id, o->name, o->ref);
		ptc_bypass = 0;
	}
	free(o);
}

void
ptc_oci_join(void *arg, const struct digest *d, const struct blob_upload *u,
    uint64_t length)
{
	struct ptc_oci	*o = arg;

	if (o->join == NULL)
		o->join = ptc_join_new(o->req, d, u, length);
}

void
ptc_oci_head(void *arg, const struct digest *d, uint64_t length)
{
	struct ptc_oci	*o = arg;

	o->answered = 1;
	log_debug("pull through cache: a HEAD is answered during the fetch");
	oci_blob_headers(o->req, d);
	http_respond_length(o->req, 200, "application/octet-stream", length);
}

static int
ptc_oci_intercept(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *ref, int blob)
{
	struct ptc_pull	 p;
	struct ptc_oci	*o;
	struct digest	 d;
	int		 taken;

	if (ptc_bypass || (blob && digest_parse_str(ref, &d) != 0))
		return 0;
	o = xcalloc(1, sizeof(*o));
	o->req = req;
	o->id = *id;
	snprintf(o->name, sizeof(o->name), "%s", name);
	snprintf(o->ref, sizeof(o->ref), "%s", ref);
	o->blob = blob;
	/* The registry API's caller is the registry's own account. */
	p.caller = p.account = id->account;
	p.region = id->region;
	p.name = name;
	/* A GET of the whole blob can be shown it as it comes, or join, and
	 * a Range GET join; a HEAD is answered once the upstream gave the
	 * size. */
	taken = blob ? ptc_blob_fetch(&p, &d, ptc_oci_done_cb, o,
	    !http_request_is_head(req) ||
	    http_request_header(req, "Range") == NULL ? req : NULL) :
	    ptc_manifest_ensure(&p, ref, ptc_oci_done_cb, o);
	if (!taken)
		free(o);
	return taken;
}

int
ptc_manifest_intercept(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *ref)
{
	return ptc_oci_intercept(req, id, name, ref, 0);
}

int
ptc_blob_intercept(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *dstr)
{
	return ptc_oci_intercept(req, id, name, dstr, 1);
}
