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
 * Grouped commits.  Every change blobd acknowledges (a blob placed in the
 * store, a metadata log entry) joins the next round; a round puts all its
 * changes on disk at once: the files that become blobs are fdatasync'd,
 * renamed into the store, their directories fsync'd once each, then the
 * metadata log is fdatasync'd once for every entry appended before the
 * round began.  One thread of its own, the committer, runs the rounds of
 * several changes, so that the event loop goes on reading, hashing and
 * appending while a round is on its way to the disk; what arrives
 * meanwhile forms the next round.  A round of one change, with the thread
 * idle, the loop runs itself (committer_run_here).  The callbacks run in
 * the loop once their round is over.
 *
 * The order inside a round is the order of durability: a blob's bytes
 * before its name, its name before a log entry that may refer to it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "blobd.h"
#include "error.h"
#include "log.h"
#include "util.h"

struct commit_round {
	struct commit	*head;
	struct commit	**tail;
	int		 log_fd;	/* -1: no log entries to sync */
	uint64_t	 log_end;	/* the entries before here */
	uint64_t	 log_seq;	/* the seq that follows them */
	int		 log_err;
	int		 dirs[8];	/* new directories, fsync'd first */
	size_t		 ndirs;
	int		 dirs_err;
};

struct committer {
	struct event_base	*base;
	struct metalog		*metalog;
	int			 durable;	/* 0: --durability relaxed */
	struct commit_round	 pending;	/* joined by commit_add() */
	struct commit_round	 running;	/* with the thread, if busy */
	int			 busy;		/* running holds a round */
	struct event		*ev_start;
	struct event		*ev_done;
	int			 done_fd;	/* eventfd: a round is over */
	pthread_t		 thread;
	int			 have_thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 job;		/* the thread has a round */
	int			 finished;	/* and is done with it */
	int			 stop;		/* the thread must exit */
};

static void
commit_round_init(struct commit_round *r)
{
	r->head = NULL;
	r->tail = &r->head;
	r->log_fd = -1;
	r->log_end = r->log_seq = 0;
	r->log_err = 0;
	r->ndirs = 0;
	r->dirs_err = 0;
}

/* fsync, or fdatasync, that only --durability relaxed skips. */
static int
commit_sync(int fd, int data_only, int durable)
{
	if (!durable)
		return 0;
	return data_only ? fdatasync(fd) : fsync(fd);
}

/* Step 2 of a file: its name in the store. */
static void
commit_place(struct commit *c)
{
	struct stat	 sb;

	if (fstatat(c->dst_dir, c->dst_name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		/* Stored already (maybe by this very round): the newer
		 * mtime tells a GC sweep in progress to spare it. */
		if (unlinkat(c->src_dir, c->src_name, 0) == -1)
			log_warn("unlink %s", c->src_name);
		if (utimensat(c->dst_dir, c->dst_name, NULL,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			log_warn("utimensat %s", c->dst_name);
			c->err = berr_from_errno(errno);
		}
		return;
	}
	if (renameat(c->src_dir, c->src_name, c->dst_dir, c->dst_name) ==
	    -1) {
		log_warn("rename %s to %s", c->src_name, c->dst_name);
		c->err = berr_from_errno(errno);
		return;
	}
	c->created = 1;
}

/* Step 3: each directory that got a name, once. */
static void
commit_sync_dirs(struct commit_round *r, int durable)
{
	struct commit	*c, *d;
	int		 rc, err;

	for (c = r->head; c != NULL; c = c->next) {
		if (c->fd == -1 || !c->created)
			continue;
		/* Done with an earlier commit of the same directory? */
		for (d = r->head; d != c; d = d->next)
			if (d->fd != -1 && d->created &&
			    d->dir_id == c->dir_id)
				break;
		if (d != c) {
			c->err = d->err;
			continue;
		}
		err = 0;
		if (c->parent_dir != -1 &&
		    commit_sync(c->parent_dir, 0, durable) == -1)
			err = errno;
		if ((rc = commit_sync(c->dst_dir, 0, durable)) == -1)
			err = errno;
		if (err != 0) {
			errno = err;
			log_warn("fsync of the directory of %s", c->dst_name);
			c->err = berr_from_errno(err);
		}
	}
}

static void
commit_round_run(struct commit_round *r, int durable)
{
	struct commit	*c;
	size_t		 i;

	/* 0: directories a start made, on which everything depends. */
	for (i = 0; i < r->ndirs; i++)
		if (commit_sync(r->dirs[i], 0, durable) == -1) {
			log_warn("fsync of a new directory");
			r->dirs_err = berr_from_errno(errno);
		}

	/* 1: the bytes of every file, unless its blob is there already. */
	for (c = r->head; c != NULL; c = c->next) {
		if (c->fd == -1 || faccessat(c->dst_dir, c->dst_name, F_OK,
		    AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (commit_sync(c->fd, 1, durable) == -1) {
			log_warn("fdatasync %s", c->src_name);
			c->err = berr_from_errno(errno);
		}
	}
	/* 2: their names. */
	for (c = r->head; c != NULL; c = c->next)
		if (c->fd != -1 && c->err == 0)
			commit_place(c);
	/* 3: their directories. */
	commit_sync_dirs(r, durable);
	/* 4: the log, whose entries may name those blobs. */
	if (r->log_fd != -1 && commit_sync(r->log_fd, 1, durable) == -1) {
		r->log_err = berr_from_errno(errno);
		log_warn("metadata log: fdatasync");
	}
}

static void *
committer_main(void *arg)
{
	struct committer	*cm = arg;
	uint64_t		 one = 1;

	pthread_mutex_lock(&cm->lock);
	for (;;) {
		while (!cm->job && !cm->stop)
			pthread_cond_wait(&cm->cond, &cm->lock);
		if (cm->stop)
			break;
		pthread_mutex_unlock(&cm->lock);
		commit_round_run(&cm->running, cm->durable);
		pthread_mutex_lock(&cm->lock);
		cm->job = 0;
		cm->finished = 1;
		pthread_cond_broadcast(&cm->cond);
		/* Wakes the loop; a full counter still wakes it. */
		(void)!write(cm->done_fd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&cm->lock);
	return NULL;
}

/* Answers every commit of a round that is over. */
static void
committer_finish(struct committer *cm, struct commit_round *r)
{
	struct commit	*c, *next;
	uint64_t	 synced;
	size_t		 i;

	if (r->log_fd != -1) {
		metalog_synced(cm->metalog, r->log_end, r->log_seq,
		    r->log_err);
		/* A failed sync cut the log back: later entries went too. */
		synced = metalog_synced_end(cm->metalog);
		for (c = cm->pending.head; c != NULL; c = c->next)
			if (c->log_end > synced && c->err == 0)
				c->err = r->log_err;
	}
	for (i = 0; i < r->ndirs; i++)
		close(r->dirs[i]);
	for (c = r->head; c != NULL; c = next) {
		next = c->next;
		if (r->dirs_err != 0 && c->err == 0)
			c->err = r->dirs_err;
		if (c->log_end != 0 && r->log_err != 0 && c->err == 0)
			c->err = r->log_err;
		c->next = NULL;
		c->done_cb(c, c->done_arg);
	}
	commit_round_init(r);
}

/* Takes the pending round as the running one. */
static void
committer_take(struct committer *cm)
{
	cm->running = cm->pending;
	if (cm->running.head == NULL)
		cm->running.tail = &cm->running.head;
	if (cm->metalog != NULL && metalog_dirty(cm->metalog)) {
		cm->running.log_fd = metalog_fd(cm->metalog);
		metalog_sync_point(cm->metalog, &cm->running.log_end,
		    &cm->running.log_seq);
	}
	commit_round_init(&cm->pending);
}

/* Idle after a round: the log may roll to a new segment. */
static void
committer_maintain(struct committer *cm)
{
	int	 rc;

	if ((rc = metalog_maintain(cm->metalog)) != 0)
		log_warnx("metadata log: %s", berr_message(rc));
}

static int
committer_has_work(const struct committer *cm)
{
	return cm->pending.head != NULL || cm->pending.ndirs > 0 ||
	    (cm->metalog != NULL && metalog_dirty(cm->metalog));
}

/*
 * A round of one change that came to an idle committer runs in the loop:
 * handing it over cost a futex wake, an eventfd and three task switches
 * more than the sync itself (of the 14-15 of a 4 KiB push).  Nothing is
 * lost for grouping: what arrives while the loop waits for the disk forms
 * the next round.  A round of several changes, and whatever arrived while
 * the thread had a round (changes that keep coming), go to the thread, so
 * that the loop goes on reading, hashing and appending meanwhile.
 */
static int
committer_run_here(struct committer *cm)
{
	const struct commit_round *r = &cm->pending;

	if (cm->have_thread && (r->ndirs > 0 || (r->head != NULL &&
	    r->head->next != NULL)))
		return 0;
	committer_take(cm);
	commit_round_run(&cm->running, cm->durable);
	committer_finish(cm, &cm->running);
	if (committer_has_work(cm))
		event_active(cm->ev_start, EV_TIMEOUT, 0);
	else if (cm->have_thread && cm->metalog != NULL)
		committer_maintain(cm);
	return 1;
}

/* Gives the pending round to the thread. */
static void
committer_hand_off(struct committer *cm)
{
	committer_take(cm);
	cm->busy = 1;
	pthread_mutex_lock(&cm->lock);
	cm->finished = 0;
	cm->job = 1;
	pthread_cond_broadcast(&cm->cond);
	pthread_mutex_unlock(&cm->lock);
}

/* A change came to an idle committer. */
static void
committer_start_cb(evutil_socket_t fd, short events, void *arg)
{
	struct committer	*cm = arg;

	if (cm->busy || !committer_has_work(cm) || committer_run_here(cm))
		return;
	committer_hand_off(cm);
}

/* The running round is over (the thread said so): answer it. */
static void
committer_reap(struct committer *cm)
{
	pthread_mutex_lock(&cm->lock);
	while (!cm->finished)
		pthread_cond_wait(&cm->cond, &cm->lock);
	cm->finished = 0;
	pthread_mutex_unlock(&cm->lock);
	cm->busy = 0;
	committer_finish(cm, &cm->running);
}

static void
committer_done_cb(evutil_socket_t fd, short events, void *arg)
{
	struct committer	*cm = arg;
	uint64_t		 n;

	(void)!read(cm->done_fd, &n, sizeof(n));
	if (!cm->busy)
		return;		/* reaped already by committer_drain() */
	pthread_mutex_lock(&cm->lock);
	n = cm->finished;
	pthread_mutex_unlock(&cm->lock);
	if (!n)
		return;
	committer_reap(cm);
	/* What arrived while that round was on disk goes now, to the
	 * thread however small: changes keep coming. */
	if (committer_has_work(cm))
		committer_hand_off(cm);
	else if (cm->metalog != NULL)
		committer_maintain(cm);
}

struct committer *
committer_new(struct event_base *base, struct metalog *ml, int durable,
    int threaded)
{
	struct committer	*cm;
	int			 rc;

	cm = xcalloc(1, sizeof(*cm));
	cm->base = base;
	cm->metalog = ml;
	cm->durable = durable;
	cm->done_fd = -1;
	commit_round_init(&cm->pending);
	commit_round_init(&cm->running);
	if ((cm->ev_start = event_new(base, -1, 0, committer_start_cb, cm)) ==
	    NULL)
		fatalx("event_new");
	if (!threaded)
		return cm;
	if ((cm->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		fatal("eventfd");
	if ((cm->ev_done = event_new(base, cm->done_fd, EV_READ | EV_PERSIST,
	    committer_done_cb, cm)) == NULL || event_add(cm->ev_done, NULL) ==
	    -1)
		fatalx("event_new");
	pthread_mutex_init(&cm->lock, NULL);
	pthread_cond_init(&cm->cond, NULL);
	if ((rc = pthread_create(&cm->thread, NULL, committer_main, cm)) !=
	    0) {
		errno = rc;
		fatal("pthread_create");
	}
	cm->have_thread = 1;
	return cm;
}

void
commit_add(struct committer *cm, struct commit *c)
{
	c->next = NULL;
	c->err = 0;
	*cm->pending.tail = c;
	cm->pending.tail = &c->next;
	committer_schedule(cm);
}

void
committer_sync_dir(struct committer *cm, int fd)
{
	if (fd == -1)
		fatal("dup");
	if (cm->pending.ndirs == nitems(cm->pending.dirs))
		fatalx("committer: too many new directories");
	cm->pending.dirs[cm->pending.ndirs++] = fd;
	committer_schedule(cm);
}

void
committer_schedule(struct committer *cm)
{
	/* After the frames already read have been dispatched, so that they
	 * share the round. */
	if (!cm->busy)
		event_active(cm->ev_start, EV_TIMEOUT, 0);
}

void
committer_drain(struct committer *cm)
{
	if (cm->busy)
		committer_reap(cm);
	while (committer_has_work(cm)) {
		committer_take(cm);
		commit_round_run(&cm->running, cm->durable);
		committer_finish(cm, &cm->running);
	}
}

void
committer_free(struct committer *cm)
{
	if (cm == NULL)
		return;
	committer_drain(cm);
	if (cm->have_thread) {
		pthread_mutex_lock(&cm->lock);
		cm->stop = 1;
		pthread_cond_broadcast(&cm->cond);
		pthread_mutex_unlock(&cm->lock);
		pthread_join(cm->thread, NULL);
		pthread_mutex_destroy(&cm->lock);
		pthread_cond_destroy(&cm->cond);
		event_free(cm->ev_done);
		close(cm->done_fd);
	}
	event_free(cm->ev_start);
	free(cm);
}

void
commit_init(struct commit *c, commit_done_cb done_cb, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->fd = c->src_dir = c->dst_dir = c->parent_dir = -1;
	c->done_cb = done_cb;
	c->done_arg = arg;
}

void
commit_clear(struct commit *c)
{
	if (c->fd != -1)
		close(c->fd);
	if (c->dst_dir != -1)
		close(c->dst_dir);
	c->fd = c->dst_dir = -1;
}
