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
 * The writer: a thread that makes the direct writes of upload data, so
 * that the event loop reads and hashes the next buffer of an upload while
 * the disk takes the last one (a write with O_DIRECT returns only once the
 * device has the data).  Jobs are done in the order they come; their
 * callbacks run in the loop.  The thread touches nothing but its jobs: a
 * descriptor, a buffer that stays the caller's until the callback, an
 * offset.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "blobd.h"
#include "log.h"
#include "util.h"

struct writer {
	struct event		*ev_done;
	int			 done_fd;	/* eventfd: jobs are done */
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct write_job	*queue, **queue_tail;
	struct write_job	*done, **done_tail;
	int			 stop;
	size_t			 outstanding;	/* loop side: not called back */
};

static void
writer_write(struct write_job *j)
{
	ssize_t	 n;

	/* One write: a direct write that stops short is finished through
	 * the page cache by the caller, which knows the alignment. */
	do
		n = pwrite(j->fd, j->buf, j->len, (off_t)j->off);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		j->err = errno;
	else
		j->done = (size_t)n;
}

static void *
writer_main(void *arg)
{
	struct writer		*w = arg;
	struct write_job	*j;
	uint64_t		 one = 1;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->queue == NULL && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->queue == NULL)
			break;
		j = w->queue;
		if ((w->queue = j->next) == NULL)
			w->queue_tail = &w->queue;
		pthread_mutex_unlock(&w->lock);
		writer_write(j);
		pthread_mutex_lock(&w->lock);
		j->next = NULL;
		*w->done_tail = j;
		w->done_tail = &j->next;
		pthread_cond_broadcast(&w->cond);
		(void)!write(w->done_fd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Runs the callbacks of the jobs done. */
static void
writer_done_cb(evutil_socket_t fd, short events, void *arg)
{
	struct writer		*w = arg;
	struct write_job	*j, *next;
	uint64_t		 n;

	(void)!read(w->done_fd, &n, sizeof(n));
	pthread_mutex_lock(&w->lock);
	j = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->lock);
	for (; j != NULL; j = next) {
		next = j->next;
		w->outstanding--;
		j->done_cb(j, j->done_arg);
	}
	/* Waited on only while jobs are out, so that an idle writer keeps
	 * no event loop from ending. */
	if (w->outstanding > 0 && !event_pending(w->ev_done, EV_READ, NULL))
		event_add(w->ev_done, NULL);
}

struct writer *
writer_new(struct event_base *base)
{
	struct writer	*w;
	int		 rc;

	w = xcalloc(1, sizeof(*w));
	w->queue_tail = &w->queue;
	w->done_tail = &w->done;
	if ((w->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		fatal("eventfd");
	if ((w->ev_done = event_new(base, w->done_fd, EV_READ,
	    writer_done_cb, w)) == NULL)
		fatalx("event_new");
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if ((rc = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		errno = rc;
		fatal("pthread_create");
	}
	return w;
}

void
writer_submit(struct writer *w, struct write_job *j)
{
	j->next = NULL;
	j->done = 0;
	j->err = 0;
	if (w->outstanding++ == 0 && event_add(w->ev_done, NULL) == -1)
		fatalx("event_add");
	pthread_mutex_lock(&w->lock);
	*w->queue_tail = j;
	w->queue_tail = &j->next;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	/* The jobs in the queue are written; their callbacks do not run. */
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	event_free(w->ev_done);
	close(w->done_fd);
	free(w);
}
