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
 * GETs that join a blob's fetch through the cache.  The first GET of a
 * blob is shown it as it arrives (ptc_stream.c); a GET of the whole blob
 * that comes while the fetch runs, once the upstream answered, is
 * served from blobd's upload file as that file grows, not after the
 * store has the blob.  blobd gives a read-only descriptor of the session's
 * file (MSG_UPLOAD_OPEN); berthd sends what the file holds with
 * sendfile(2), with no copy through its memory and no buffer of its own,
 * so a 512 MiB layer and many clients cost the page cache only, and the
 * first client's stream is not touched.  A joined client that has all
 * that the file holds waits for the file to grow: one inotify(7)
 * instance of berthd's watches the files of the fetches joined (one watch
 * per file, whatever the number of clients; the descriptor's
 * /proc/self/fd link names it) and blobd's writes wake the clients
 * waiting on that file, the notifications of 5 ms at a time, with no
 * timer per client.  Where inotify
 * is not to be had (no /proc, the watch limit reached) a client looks
 * again a little later instead.  As for the first client, the blob's last byte goes
 * only once blobd verified the digest and the link is recorded, and the
 * file then has exactly the size announced; a fetch that fails closes
 * every joined connection short, so that no client takes other bytes for
 * the blob.  An upstream that gave no length makes the response chunked,
 * each move a chunk, its last chunk held as the last byte is.  A join
 * whose file cannot be opened (the session just ended), or of an HTTP/1.0
 * client when the length is not known, is served from the store after
 * the fetch, as before.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/param.h>
#include <sys/queue.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "ptc.h"
#include "util.h"

/* Without inotify, how long a client that has caught up with the file
 * waits to look again: blobd writes a buffer (1 MiB or more) at a time. */
#define PTC_JOIN_POLL_USEC	20000
/* How long the files' notifications gather before the clients are woken:
 * a fast upstream's writes wake each client once per batch, not once per
 * 1 MiB buffer (berthd's CPU for many clients). */
#define PTC_JOIN_BATCH_USEC	5000
/* Bytes handed to sendfile(2) at a time. */
#define PTC_JOIN_MOVE		(1024 * 1024)

enum ptc_join_state {
	JOIN_OPENING,		/* blobd's answer is awaited */
	JOIN_IDLE,		/* no file: served after the fetch */
	JOIN_STREAMING,		/* the response started */
	JOIN_ABANDONED		/* the fetch ended while opening */
};

struct ptc_join {
	enum ptc_join_state state;
	struct http_request *req;	/* NULL once given up */
	struct digest	 digest;
	int		 fd;		/* the upload's file */
	uint64_t	 length;	/* the blob's (the upstream's
					 * Content-Length), or UINT64_MAX:
					 * chunked */
	uint64_t	 sent;		/* the file's offset reached */
	uint64_t	 end;		/* of the bytes to send (a Range) */
	struct ptc_chunks chunks;
	int		 verified;	/* the fetch ended well */
	int		 orphan;	/* the fetch ended: the join is its own */
	struct event	*cev;		/* the client's socket */
	struct event	*tev;		/* looking at the file again */
	const struct timeval *io_tv;
	int		 wd;		/* the file's inotify watch, or -1 */
	int		 waiting;	/* for the file to grow */
	int		 wake;		/* it grew */
	int		 lost;		/* the watch went (IN_IGNORED) */
	uint64_t	 wakes;		/* times woken by it */
	uint64_t	 looks;		/* times the timer looked instead */
	TAILQ_ENTRY(ptc_join) entry;	/* in ptc_join_watched */
};

/* berthd's inotify instance (-1: none; ptc_notify_tried once made) and
 * the joins that have a watch. */
static int		 ptc_notify_fd = -1;
static int		 ptc_notify_tried;
static struct event	*ptc_notify_ev;	/* it is readable */
static struct event	*ptc_notify_tev;	/* then, the batch's end */
static TAILQ_HEAD(, ptc_join) ptc_join_watched =
    TAILQ_HEAD_INITIALIZER(ptc_join_watched);

static void	ptc_join_pump(struct ptc_join *);

/* Drops j's watch, and the file's once no other join has it. */
static void
ptc_join_unwatch(struct ptc_join *j)
{
	struct ptc_join	*o;

	if (j->wd == -1)
		return;
	TAILQ_REMOVE(&ptc_join_watched, j, entry);
	TAILQ_FOREACH(o, &ptc_join_watched, entry)
		if (o->wd == j->wd)
			break;
	/* EINVAL when the kernel dropped it already (IN_IGNORED). */
	if (o == NULL)
		(void)inotify_rm_watch(ptc_notify_fd, j->wd);
	j->wd = -1;
	j->waiting = 0;
}

static void
ptc_join_free(struct ptc_join *j)
{
	ptc_join_unwatch(j);
	if (j->fd != -1)
		close(j->fd);
	if (j->cev != NULL)
		event_free(j->cev);
	if (j->tev != NULL)
		event_free(j->tev);
	free(j);
}

/* The response ends (whole with ok, else short); the join goes once the
 * fetch's end was told to it. */
static void
ptc_join_finish(struct ptc_join *j, int ok)
{
	if (j->req != NULL) {
		if (j->cev != NULL)
			event_del(j->cev);
		if (j->tev != NULL)
			event_del(j->tev);
		j->waiting = 0;
		log_debug("pull through cache: a joined GET ends%s: woken %llu "
		    "times by the file, %llu by the timer", ok ? "" : " short",
		    (unsigned long long)j->wakes,
		    (unsigned long long)j->looks);
		http_end(j->req, ok);
		j->req = NULL;
	}
	if (j->orphan)
		ptc_join_free(j);
}

static void
ptc_join_client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ptc_join	*j = arg;

	if (what & EV_TIMEOUT) {
		log_debug("pull through cache: a joined client took nothing "
		    "for the I/O timeout");
		ptc_join_finish(j, 0);
		return;
	}
	ptc_join_pump(j);
}

static void
ptc_join_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	ptc_join_pump(arg);
}

/* http_on_drain(): the head went (or the client did). */
static void
ptc_join_drain_cb(struct http_request *req, void *arg)
{
	ptc_join_pump(arg);
}

static void
ptc_join_wait_client(struct ptc_join *j, int sock)
{
	if (j->cev == NULL && (j->cev = event_new(ev_base, sock, EV_WRITE,
	    ptc_join_client_cb, j)) == NULL)
		fatalx("pull through cache: out of memory");
	event_add(j->cev, j->io_tv);
	http_on_drain(j->req, ptc_join_drain_cb, j);
}

static void
ptc_join_wait_file(struct ptc_join *j)
{
	struct timeval	 tv = { 0, PTC_JOIN_POLL_USEC };

	if (j->wd != -1) {
		if (j->wakes == 0)
			log_debug("pull through cache: a joined GET has what "
			    "the file holds: it waits for it to grow");
		j->waiting = 1;		/* ptc_join_notify_cb wakes it */
		return;
	}
	j->looks++;
	if (j->tev == NULL && (j->tev = evtimer_new(ev_base,
	    ptc_join_timer_cb, j)) == NULL)
		fatalx("pull through cache: out of memory");
	evtimer_add(j->tev, &tv);
}

/* Marks the joins waiting on the file of watch wd (any, for -1). */
static void
ptc_join_mark(int wd)
{
	struct ptc_join	*j;

	TAILQ_FOREACH(j, &ptc_join_watched, entry)
		if (j->waiting && (wd == -1 || j->wd == wd))
			j->wake = 1;
}

/* A file was written to: the batch of notifications starts. */
static void
ptc_join_readable_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	 tv = { 0, PTC_JOIN_BATCH_USEC };

	evtimer_add(ptc_notify_tev, &tv);
}

/* The batch ends: the clients waiting on the files written to go on. */
static void
ptc_join_notify_cb(evutil_socket_t unused, short what, void *arg)
{
	int		 fd = ptc_notify_fd;
	char		 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	struct ptc_join	*j;
	ssize_t		 n;
	size_t		 off;
	int		 waiting;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < (size_t)n; off += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (ev->mask & IN_IGNORED) {
				/* The watch went with the file: the joins
				 * on it look by the timer from now. */
				TAILQ_FOREACH(j, &ptc_join_watched, entry)
					if (j->wd == ev->wd)
						j->wake = j->lost = 1;
				continue;
			}
			ptc_join_mark(ev->mask & IN_Q_OVERFLOW ? -1 : ev->wd);
		}
	/* One at a time from the start: a pump can end (and free) any. */
	for (;;) {
		TAILQ_FOREACH(j, &ptc_join_watched, entry)
			if (j->wake)
				break;
		if (j == NULL)
			break;
		j->wake = 0;
		if (j->lost) {
			waiting = j->waiting;
			ptc_join_unwatch(j);
			if (waiting)
				ptc_join_pump(j);
			continue;
		}
		if (!j->waiting)
			continue;
		j->waiting = 0;
		j->wakes++;
		ptc_join_pump(j);
	}
	event_add(ptc_notify_ev, NULL);
}

/* Watches j's file (shared with the other joins of the fetch), so that
 * ptc_join_notify_cb wakes j; without inotify j looks by the timer. */
static void
ptc_join_watch(struct ptc_join *j)
{
	char	 path[64];

	if (!ptc_notify_tried) {
		ptc_notify_tried = 1;
		if ((ptc_notify_fd = inotify_init1(IN_NONBLOCK |
		    IN_CLOEXEC)) == -1)
			log_warn("pull through cache: inotify_init1: joined "
			    "GETs look at the file every %d ms instead",
			    PTC_JOIN_POLL_USEC / 1000);
		else if ((ptc_notify_ev = event_new(ev_base, ptc_notify_fd,
		    EV_READ, ptc_join_readable_cb, NULL)) == NULL ||
		    (ptc_notify_tev = evtimer_new(ev_base, ptc_join_notify_cb,
		    NULL)) == NULL || event_add(ptc_notify_ev, NULL) == -1)
			fatalx("pull through cache: out of memory");
	}
	if (ptc_notify_fd == -1)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", j->fd);
	if ((j->wd = inotify_add_watch(ptc_notify_fd, path, IN_MODIFY)) ==
	    -1) {
		log_debug("pull through cache: inotify_add_watch %s: %s: the "
		    "joined GET looks at the file every %d ms", path,
		    strerror(errno), PTC_JOIN_POLL_USEC / 1000);
		return;
	}
	TAILQ_INSERT_TAIL(&ptc_join_watched, j, entry);
}

/* A move from the file to the client: -1 with errno EAGAIN when the
 * socket is full; the client is given up on any other failure. */
static ssize_t
ptc_join_move(struct ptc_join *j, int sock, size_t n)
{
	off_t	 off = (off_t)j->sent;
	ssize_t	 w;

	if ((w = sendfile(sock, j->fd, &off, MIN(n, PTC_JOIN_MOVE))) == -1 &&
	    (errno == EAGAIN || errno == EINTR)) {
		ptc_join_wait_client(j, sock);
		errno = EAGAIN;
		return -1;
	}
	if (w <= 0 || http_wrote(j->req, (size_t)w) == -1) {
		ptc_join_finish(j, 0);
		errno = EPIPE;
		return -1;
	}
	j->sent += (uint64_t)w;
	return w;
}

/* The client's socket once the head went, or -1 (waiting for it, or the
 * client given up). */
static int
ptc_join_sock(struct ptc_join *j)
{
	int	 sock;

	if ((sock = http_stream_fd(j->req, &j->io_tv)) == -1) {
		if (errno == EAGAIN)
			http_on_drain(j->req, ptc_join_drain_cb, j);
		else
			ptc_join_finish(j, 0);
	}
	return sock;
}

/*
 * A blob the upstream gave no length for, in a chunked response: each
 * move from the file a chunk, and the last chunk once the fetch is
 * verified (the file then is the blob).  0 when some moved, -1 to wait.
 */
static int
ptc_join_chunked(struct ptc_join *j, uint64_t have)
{
	ssize_t	 n, w;
	int	 sock;

	if (have <= j->sent && j->chunks.left == 0) {
		if (!j->verified)
			ptc_join_wait_file(j);
		else
			ptc_join_finish(j, ptc_chunks_end(&j->chunks,
			    j->req) == 0);
		return -1;
	}
	if ((sock = ptc_join_sock(j)) == -1)
		return -1;
	if ((n = ptc_chunks_head(&j->chunks, sock, (size_t)MIN(have - j->sent,
	    PTC_JOIN_MOVE))) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			ptc_join_wait_client(j, sock);
		else
			ptc_join_finish(j, 0);
		return -1;
	}
	if ((w = ptc_join_move(j, sock, (size_t)n)) == -1)
		return -1;
	ptc_chunks_moved(&j->chunks, (size_t)w);
	return 0;
}

/* Sends what the file holds, all but the last byte until the fetch is
 * verified. */
static void
ptc_join_pump(struct ptc_join *j)
{
	struct stat	 st;
	uint64_t	 limit, have = 0;
	int		 sock, look = 1;

	while (j->req != NULL) {
		if (look && fstat(j->fd, &st) == -1) {
			log_warn("pull through cache: a joined upload");
			ptc_join_finish(j, 0);
			return;
		}
		if (look)
			have = (uint64_t)st.st_size;
		/* With a watch, a write after this look wakes j: once it
		 * sent what the file held it waits, without looking again. */
		look = j->wd == -1;
		if (j->length == UINT64_MAX) {
			if (ptc_join_chunked(j, have) != 0)
				return;
			continue;
		}
		if (j->verified && have != j->length) {
			log_warnx("pull through cache: the blob has %llu "
			    "bytes, not the %llu announced",
			    (unsigned long long)have,
			    (unsigned long long)j->length);
			ptc_join_finish(j, 0);
			return;
		}
		limit = j->verified ? j->end : j->end - 1;
		if (j->sent == limit) {
			if (j->verified)
				ptc_join_finish(j, 1);
			return;		/* until the verdict */
		}
		if (have <= j->sent) {
			ptc_join_wait_file(j);
			return;
		}
		if ((sock = ptc_join_sock(j)) == -1 ||
		    ptc_join_move(j, sock, (size_t)(MIN(have, limit) -
		    j->sent)) == -1)
			return;
	}
}

/* The head of a response of a known length: the whole blob, or the range
 * asked for (206).  0, or -1 when the client went. */
static int
ptc_join_respond(struct ptc_join *j)
{
	struct byte_range br;

	/* ptc_join_new() let only a satisfiable Range in. */
	if (range_parse(http_request_header(j->req, "Range"), j->length,
	    &br) != 0 || !br.partial)
		return http_respond_start(j->req, 200,
		    "application/octet-stream", j->length);
	http_response_headerf(j->req, "Content-Range", "bytes %llu-%llu/%llu",
	    (unsigned long long)br.off,
	    (unsigned long long)(br.off + br.len - 1),
	    (unsigned long long)j->length);
	j->sent = br.off;
	j->end = br.off + br.len;
	return http_respond_start(j->req, 206, "application/octet-stream",
	    br.len);
}

static void
ptc_join_opened_cb(int err, int fd, uint64_t offset, uint64_t size,
    void *arg)
{
	struct ptc_join	*j = arg;

	if (j->state == JOIN_ABANDONED) {
		if (fd != -1)
			close(fd);
		ptc_join_free(j);
		return;
	}
	if (err != 0 || fd == -1) {
		log_debug("pull through cache: no upload file to join: %s",
		    berr_message(err));
		j->state = JOIN_IDLE;
		return;
	}
	if (j->length == UINT64_MAX && !http_request_chunkable(j->req)) {
		close(fd);
		j->state = JOIN_IDLE;	/* an HTTP/1.0 client */
		return;
	}
	j->fd = fd;
	j->state = JOIN_STREAMING;
	ptc_join_watch(j);
	oci_blob_headers(j->req, &j->digest);
	if ((j->length == UINT64_MAX ? http_respond_chunked(j->req, 200,
	    "application/octet-stream") : ptc_join_respond(j)) != 0) {
		j->req = NULL;		/* the client went */
		return;
	}
	log_debug("pull through cache: a GET joins the fetch (%llu bytes "
	    "there)", (unsigned long long)size);
	ptc_join_pump(j);
}

struct ptc_join *
ptc_join_new(struct http_request *req, const struct digest *d,
    const struct blob_upload *u, uint64_t length)
{
	struct ptc_join	*j;
	struct byte_range br;
	const char	*range = http_request_header(req, "Range");

	j = xcalloc(1, sizeof(*j));
	j->state = JOIN_OPENING;
	j->req = req;
	j->digest = *d;
	j->fd = -1;
	j->wd = -1;
	j->length = length;
	j->end = length;
	/* A Range of a blob of unknown length, or one the store answers
	 * 416, waits for the store. */
	if (range != NULL && (length == UINT64_MAX ||
	    range_parse(range, length, &br) != 0)) {
		j->state = JOIN_IDLE;
		return j;
	}
	blobc_upload_open(u->owner, u->id, ptc_join_opened_cb, j);
	return j;
}

int
ptc_join_verdict(struct ptc_join *j, int ok)
{
	switch (j->state) {
	case JOIN_OPENING:
		j->state = JOIN_ABANDONED;	/* ptc_join_opened_cb frees */
		return 0;
	case JOIN_IDLE:
		ptc_join_free(j);
		return 0;
	default:
		break;
	}
	j->orphan = 1;
	if (!ok || j->req == NULL) {
		ptc_join_finish(j, 0);
		return 1;
	}
	j->verified = 1;
	if (j->tev != NULL)
		event_del(j->tev);
	j->waiting = 0;
	ptc_join_pump(j);
	return 1;
}
