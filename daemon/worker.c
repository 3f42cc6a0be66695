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
 * Supervising berth-blobd.  The spawner (spawner.c) starts it: a socketpair,
 * fork, the worker's end on BLOBD_SOCKET_FD, exec; berthd gets the other
 * end and the worker's pid, and later its exit status.  The storage client
 * (blobc.c) takes the socket; once the worker said hello, berthd loads the
 * metadata through it.  If the worker dies, requests in flight fail with
 * BERR_UNAVAILABLE and it is started again with exponential backoff; the
 * model is reloaded from disk because entries in flight may or may not
 * have reached it.  The restart's backoff is shared with berth-fetchd's
 * supervisor (fetchc.c).
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "error.h"
#include "image_scan.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

#define RESTART_BACKOFF_MIN_MS	100
#define RESTART_BACKOFF_MAX_MS	10000
#define RESTART_STABLE_MS	30000
#define WORKER_HELLO_TIMEOUT_MS	30000

enum worker_status { WORKER_DOWN, WORKER_STARTING, WORKER_LOADING, WORKER_UP };

static enum worker_status	 worker_status = WORKER_DOWN;
static pid_t		 worker_child = -1;
static struct restart	 worker_restart;
static int		 worker_first_start = 1;
static int		 worker_stopping;

static void	worker_spawn(void);

/* --- restarting a child, blobd's or fetchd's ----------------------------- */

void
restart_init(struct restart *r, const char *name, void (*cb)(void))
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->cb = cb;
	r->backoff_ms = RESTART_BACKOFF_MIN_MS;
}

static void
restart_cb(evutil_socket_t fd, short events, void *arg)
{
	struct restart	*r = arg;

	r->cb();
}

void
restart_later(struct restart *r, int64_t ms)
{
	struct timeval	 tv;

	if (r->ev == NULL && (r->ev = evtimer_new(ev_base, restart_cb, r)) ==
	    NULL)
		fatalx("cannot set up %s's start", r->name);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (evtimer_add(r->ev, &tv) == -1)
		fatalx("cannot schedule %s's start", r->name);
}

void
restart_schedule(struct restart *r, const char *how)
{
	if (r->up_since != 0 && mono_ms() - r->up_since >= RESTART_STABLE_MS)
		r->backoff_ms = RESTART_BACKOFF_MIN_MS;
	log_warnx("%s %s; restarting in %lld ms", r->name, how,
	    (long long)r->backoff_ms);
	restart_later(r, r->backoff_ms);
	r->backoff_ms *= 2;
	if (r->backoff_ms > RESTART_BACKOFF_MAX_MS)
		r->backoff_ms = RESTART_BACKOFF_MAX_MS;
}

int
restart_pending(const struct restart *r)
{
	return r->ev != NULL && evtimer_pending(r->ev, NULL);
}

void
restart_cancel(struct restart *r)
{
	if (r->ev != NULL)
		evtimer_del(r->ev);
}

void
restart_describe_exit(int status, char *how, size_t howsz)
{
	if (WIFEXITED(status))
		snprintf(how, howsz, "exited with status %d",
		    WEXITSTATUS(status));
	else
		snprintf(how, howsz, "was killed by signal %d",
		    WTERMSIG(status));
}

void
restart_send_stderr(struct rpc_chan *chan, uint32_t type)
{
	int	 fd;

	if (chan == NULL)
		return;
	if ((fd = dup(STDERR_FILENO)) == -1) {
		log_warn("dup");
		return;
	}
	(void)rpc_send(chan, type, 0, NULL, 0, fd);
}

/* --- berth-blobd ---------------------------------------------------------- */

int
worker_up(void)
{
	return worker_status == WORKER_UP;
}

const char *
worker_state(void)
{
	switch (worker_status) {
	case WORKER_STARTING:
		return "starting";
	case WORKER_LOADING:
		return "loading";
	case WORKER_UP:
		return "up";
	case WORKER_DOWN:
	default:
		return "down";
	}
}

/*
 * Until berth-blobd said hello and the metadata is loaded from it, the
 * model in memory is the one from before the restart (or the failed
 * append that started a reload): it may show changes the disk never got,
 * and entries made from it are replayed on top of what the disk says.
 * Nothing is read from it or done with it until then.
 */
int
worker_ready(void)
{
	return worker_up() && !meta_loading();
}

int
worker_first_start_pending(void)
{
	return worker_first_start;
}

const char *
worker_unready_reason(void)
{
	if (!worker_up() && worker_status != WORKER_LOADING)
		return "berth-blobd, the storage worker, is not running; it is "
		    "being restarted: retry";
	return "the metadata is being loaded from berth-blobd: retry";
}

pid_t
worker_pid(void)
{
	return worker_status == WORKER_UP ? worker_child : -1;
}

uint64_t
worker_restarts(void)
{
	return worker_restart.restarts;
}

static void
worker_loaded_cb(int err, void *arg)
{
	if (err != 0) {
		if (worker_first_start)
			fatalx("cannot load the metadata: %s",
			    berr_message(err));
		/* Never serve a model that is not the disk's: start over with
		 * a new worker, after the usual delay. */
		log_warnx("cannot load the metadata: %s; restarting "
		    "berth-blobd", berr_message(err));
		if (worker_child > 0)
			spawner_kill_worker(worker_child);
		return;
	}
	if (worker_status == WORKER_LOADING)
		worker_status = WORKER_UP;
	/* Scans the metadata shows in progress run (again). */
	image_scan_resume();
}

static void
worker_hello_cb(void *arg)
{
	worker_status = WORKER_LOADING;
	worker_restart.up_since = mono_ms();
	meta_load(worker_loaded_cb, NULL);
}

static void
worker_closed_cb(void *arg)
{
	/* The worker is going away; its exit status, which the spawner
	 * reports, does the rest. */
	if (worker_child > 0)
		spawner_kill_worker(worker_child);
	worker_status = WORKER_DOWN;
}

static void
worker_restart_cb(void)
{
	if (!worker_stopping)
		worker_spawn();
}

static void
worker_ended(int status)
{
	char		 how[64];

	restart_describe_exit(status, how, sizeof(how));
	blobc_close(BERR_UNAVAILABLE);
	worker_child = -1;
	worker_status = WORKER_DOWN;
	if (worker_stopping)
		return;
	if (worker_first_start && WIFEXITED(status)) {
		switch (WEXITSTATUS(status)) {
		case BLOBD_EXIT_LOCKED:
			fatalx("data directory %s is in use by another berth "
			    "process", conf.data_dir);
		case BLOBD_EXIT_CONFIG:
			fatalx("berth-blobd refused its configuration (see "
			    "above)");
		default:
			break;
		}
	}
	restart_schedule(&worker_restart, how);
}

void
worker_exited(pid_t pid, int status)
{
	if (pid == worker_child)
		worker_ended(status);
}

void
worker_started(pid_t pid, int fd)
{
	if (worker_status != WORKER_STARTING || worker_child != -1)
		fatalx("the spawner started a worker nobody asked for");
	worker_child = pid;
	blobc_open(fd, worker_hello_cb, worker_closed_cb, NULL);
}

void
worker_failed(int err)
{
	char	 how[128];

	worker_status = WORKER_DOWN;
	if (worker_stopping)
		return;
	snprintf(how, sizeof(how), "could not be started (%s)",
	    strerror(err));
	restart_schedule(&worker_restart, how);
}

static void
worker_spawn(void)
{
	worker_child = -1;
	worker_status = WORKER_STARTING;
	worker_restart.up_since = 0;
	if (!worker_first_start)
		worker_restart.restarts++;
	spawner_request_worker();
}

void
worker_start(void)
{
	int64_t	 deadline;

	restart_init(&worker_restart, "berth-blobd", worker_restart_cb);
	worker_spawn();
	deadline = mono_ms() + WORKER_HELLO_TIMEOUT_MS;
	while (worker_status != WORKER_UP) {
		if (mono_ms() > deadline)
			fatalx("berth-blobd did not start within %d s",
			    WORKER_HELLO_TIMEOUT_MS / 1000);
		/* Down and reaped: the exit status has been looked at. */
		if (worker_status == WORKER_DOWN && worker_child == -1)
			fatalx("berth-blobd could not be started");
		event_base_loop(ev_base, EVLOOP_ONCE);
	}
	worker_first_start = 0;
}

void
worker_stop(void)
{
	worker_stopping = 1;
	restart_cancel(&worker_restart);
	/* blobd exits when its socket closes; the spawner reaps it. */
	blobc_close(BERR_SHUTTING_DOWN);
	worker_child = -1;
	worker_status = WORKER_DOWN;
}
