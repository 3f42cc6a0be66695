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
 * end and the worker's pid, and later its exit status.  The worker says
 * hello with its protocol version; then berthd loads the metadata through
 * it.  If the worker dies, requests in flight fail with BERR_UNAVAILABLE
 * and it is started again with exponential backoff; the model is reloaded
 * from disk because entries in flight may or may not have reached it.
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
#include "log.h"
#include "rpc.h"
#include "util.h"

#define PROC_BACKOFF_MIN_MS	100
#define PROC_BACKOFF_MAX_MS	10000
#define PROC_STABLE_MS		30000
#define PROC_HELLO_TIMEOUT_MS	30000

enum proc_state { PROC_DOWN, PROC_STARTING, PROC_LOADING, PROC_UP };

static enum proc_state	 proc_state = PROC_DOWN;
static pid_t		 proc_pid = -1;
static struct rpc_chan	*proc_chan;
static struct event	*proc_ev_restart;
static int64_t		 proc_backoff_ms = PROC_BACKOFF_MIN_MS;
static int64_t		 proc_up_since;
static uint64_t		 proc_nrestarts;
static int		 proc_first_start = 1;
static int		 proc_stopping;

static void	proc_spawn(void);
static void	proc_schedule_restart(const char *);

int
proc_blobd_up(void)
{
	return proc_state == PROC_UP;
}

const char *
proc_blobd_state(void)
{
	switch (proc_state) {
	case PROC_STARTING:
		return "starting";
	case PROC_LOADING:
		return "loading";
	case PROC_UP:
		return "up";
	case PROC_DOWN:
	default:
		return "down";
	}
}

pid_t
proc_blobd_pid(void)
{
	return proc_state == PROC_UP ? proc_pid : -1;
}

uint64_t
proc_restarts(void)
{
	return proc_nrestarts;
}

static void
proc_loaded_cb(int err, void *arg)
{
	if (err != 0) {
		if (proc_first_start)
			fatalx("cannot load the metadata: %s",
			    berr_message(err));
		/* Never serve a model that is not the disk's: start over with
		 * a new worker, after the usual delay. */
		log_warnx("cannot load the metadata: %s; restarting "
		    "berth-blobd", berr_message(err));
		if (proc_pid > 0)
			spawner_kill_worker(proc_pid);
		return;
	}
	if (proc_state == PROC_LOADING)
		proc_state = PROC_UP;
}

static void
proc_msg_cb(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct msg_hello hello;

	if (h->type != MSG_HELLO) {
		if (proc_state == PROC_STARTING)
			fatalx("berth-blobd sent message %u before hello",
			    h->type);
		blobc_dispatch(h, payload, fd);
		return;
	}
	if (proc_state != PROC_STARTING || h->id != 0)
		fatalx("berth-blobd sent a second hello");
	memcpy(&hello, payload, sizeof(hello));
	if (hello.version != PROTOCOL_VERSION)
		fatalx("berth-blobd speaks protocol %u, berthd %u: install "
		    "matching binaries", hello.version, PROTOCOL_VERSION);
	log_debug("berth-blobd %u ready", hello.pid);
	proc_state = PROC_LOADING;
	proc_up_since = mono_ms();
	blobc_attach(proc_chan);
	meta_load(proc_loaded_cb, NULL);
}

static void
proc_close_cb(struct rpc_chan *chan, int err, void *arg)
{
	if (err == BERR_FRAME)
		fatalx("berth-blobd sent a malformed message");
	/* The worker is going away; its exit status, which the spawner
	 * reports, does the rest. */
	blobc_detach(BERR_UNAVAILABLE);
	if (proc_pid > 0)
		spawner_kill_worker(proc_pid);
	proc_state = PROC_DOWN;
}

static void
proc_restart_cb(evutil_socket_t fd, short events, void *arg)
{
	if (!proc_stopping)
		proc_spawn();
}

static void
proc_exited(int status)
{
	char		 how[64];

	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	else
		snprintf(how, sizeof(how), "was killed by signal %d",
		    WTERMSIG(status));
	if (proc_chan != NULL) {
		blobc_detach(BERR_UNAVAILABLE);
		rpc_free(proc_chan);
		proc_chan = NULL;
	}
	proc_pid = -1;
	proc_state = PROC_DOWN;
	if (proc_stopping)
		return;
	if (proc_first_start && WIFEXITED(status)) {
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
	proc_schedule_restart(how);
}

static void
proc_schedule_restart(const char *how)
{
	struct timeval	 tv;

	if (proc_up_since != 0 && mono_ms() - proc_up_since >= PROC_STABLE_MS)
		proc_backoff_ms = PROC_BACKOFF_MIN_MS;
	log_warnx("berth-blobd %s; restarting in %lld ms", how,
	    (long long)proc_backoff_ms);
	tv.tv_sec = proc_backoff_ms / 1000;
	tv.tv_usec = (proc_backoff_ms % 1000) * 1000;
	evtimer_add(proc_ev_restart, &tv);
	proc_backoff_ms *= 2;
	if (proc_backoff_ms > PROC_BACKOFF_MAX_MS)
		proc_backoff_ms = PROC_BACKOFF_MAX_MS;
}

void
proc_worker_exited(pid_t pid, int status)
{
	if (pid == proc_pid)
		proc_exited(status);
}

void
proc_worker_started(pid_t pid, int fd)
{
	if (proc_state != PROC_STARTING || proc_pid != -1)
		fatalx("the spawner started a worker nobody asked for");
	proc_pid = pid;
	proc_chan = rpc_new(ev_base, fd, blobc_rules, blobc_nrules,
	    proc_msg_cb, proc_close_cb, NULL);
}

void
proc_worker_failed(int err)
{
	char	 how[128];

	proc_state = PROC_DOWN;
	if (proc_stopping)
		return;
	snprintf(how, sizeof(how), "could not be started (%s)",
	    strerror(err));
	proc_schedule_restart(how);
}

static void
proc_spawn(void)
{
	proc_pid = -1;
	proc_state = PROC_STARTING;
	proc_up_since = 0;
	if (!proc_first_start)
		proc_nrestarts++;
	spawner_request_worker();
}

void
proc_start(void)
{
	int64_t	 deadline;

	if ((proc_ev_restart = evtimer_new(ev_base, proc_restart_cb,
	    NULL)) == NULL)
		fatalx("cannot set up the worker's events");
	proc_spawn();
	deadline = mono_ms() + PROC_HELLO_TIMEOUT_MS;
	while (proc_state != PROC_UP) {
		if (mono_ms() > deadline)
			fatalx("berth-blobd did not start within %d s",
			    PROC_HELLO_TIMEOUT_MS / 1000);
		/* Down and reaped: the exit status has been looked at. */
		if (proc_state == PROC_DOWN && proc_pid == -1)
			fatalx("berth-blobd could not be started");
		event_base_loop(ev_base, EVLOOP_ONCE);
	}
	proc_first_start = 0;
}

void
proc_stop(void)
{
	proc_stopping = 1;
	if (proc_ev_restart != NULL)
		evtimer_del(proc_ev_restart);
	/* blobd exits when its socket closes; the spawner reaps it. */
	if (proc_chan != NULL) {
		(void)rpc_flush(proc_chan);
		blobc_detach(BERR_SHUTTING_DOWN);
		rpc_free(proc_chan);
		proc_chan = NULL;
	}
	proc_pid = -1;
	proc_state = PROC_DOWN;
}

void
proc_reopen_log(void)
{
	int	 fd;

	if (proc_chan == NULL)
		return;
	if ((fd = dup(STDERR_FILENO)) == -1) {
		log_warn("dup");
		return;
	}
	(void)rpc_send(proc_chan, MSG_LOG_REOPEN, 0, NULL, 0, fd);
}
