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
 * libcurl on libevent: one multi handle whose sockets and timer are
 * libevent events (curl's multi-socket interface).  curl says which
 * sockets it waits on and for what (socket_cb) and when it next needs a
 * call (timer_cb); the events call curl_multi_socket_action() and then
 * collect the transfers that ended.  So every upstream transfer runs on
 * berth-fetchd's one event loop, with no thread of our own and no
 * poll(2) over every socket: what curl does per event is proportional to
 * the sockets that are ready.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "fetchd.h"
#include "log.h"
#include "util.h"

struct transfer_sock {
	struct event	*ev;
};

/* What CURLOPT_PRIVATE points to while a transfer runs. */
struct transfer_job {
	transfer_done_cb done;
	void		*arg;
};

static CURLM		*transfer_multi;
static struct event_base *transfer_base;
static struct event	*transfer_timer;
static size_t		 transfer_count;

static void
transfer_collect(void)
{
	struct transfer_job	*job;
	CURLMsg			*msg;
	CURL			*easy;
	CURLcode		 rc;
	int			 left;
	char			*priv;

	while ((msg = curl_multi_info_read(transfer_multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		rc = msg->data.result;
		priv = NULL;
		(void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		job = (struct transfer_job *)(void *)priv;
		curl_multi_remove_handle(transfer_multi, easy);
		(void)curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		transfer_count--;
		if (job != NULL) {
			job->done(easy, rc, job->arg);
			free(job);
		}
	}
}

static void
transfer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	int	 action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	(void)curl_multi_socket_action(transfer_multi, fd, action, &running);
	transfer_collect();
}

static void
transfer_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	int	 running;

	(void)curl_multi_socket_action(transfer_multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	transfer_collect();
}

/* curl: wait on s for what (or stop waiting). */
static int
transfer_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct transfer_sock	*ts = socketp;
	short			 events = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (ts != NULL) {
			event_free(ts->ev);
			free(ts);
			(void)curl_multi_assign(transfer_multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (ts == NULL) {
		ts = xcalloc(1, sizeof(*ts));
		(void)curl_multi_assign(transfer_multi, s, ts);
	} else
		event_free(ts->ev);
	if ((ts->ev = event_new(transfer_base, s, events, transfer_event_cb,
	    NULL)) == NULL || event_add(ts->ev, NULL) == -1)
		fatalx("transfer: cannot watch a socket");
	return 0;
}

/* curl: call back in timeout_ms (-1: no timer). */
static int
transfer_timer_set_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct timeval	 tv;

	if (timeout_ms < 0) {
		evtimer_del(transfer_timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	/* Never curl_multi_socket_action() from here: the timer event
	 * calls it, even for a timeout of 0. */
	evtimer_add(transfer_timer, &tv);
	return 0;
}

int
transfer_init(struct event_base *base)
{
	transfer_base = base;
	if ((transfer_multi = curl_multi_init()) == NULL) {
		log_warnx("curl_multi_init failed");
		return -1;
	}
	if ((transfer_timer = evtimer_new(base, transfer_timer_cb,
	    NULL)) == NULL)
		fatalx("evtimer_new");
	(void)curl_multi_setopt(transfer_multi, CURLMOPT_SOCKETFUNCTION,
	    transfer_socket_cb);
	(void)curl_multi_setopt(transfer_multi, CURLMOPT_TIMERFUNCTION,
	    transfer_timer_set_cb);
	/* HTTP/2 streams share a connection where the upstream offers it. */
	(void)curl_multi_setopt(transfer_multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_MULTIPLEX);
	return 0;
}

void
transfer_shutdown(void)
{
	if (transfer_multi != NULL)
		curl_multi_cleanup(transfer_multi);
	transfer_multi = NULL;
	if (transfer_timer != NULL)
		event_free(transfer_timer);
	transfer_timer = NULL;
}

void
transfer_start(CURL *easy, transfer_done_cb done, void *arg)
{
	struct transfer_job	*job;

	job = xcalloc(1, sizeof(*job));
	job->done = done;
	job->arg = arg;
	(void)curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)job);
	if (curl_multi_add_handle(transfer_multi, easy) != CURLM_OK)
		fatalx("transfer: curl_multi_add_handle failed");
	transfer_count++;
}

void
transfer_stop(CURL *easy)
{
	char	*priv = NULL;

	(void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	if (priv == NULL)
		return;
	curl_multi_remove_handle(transfer_multi, easy);
	(void)curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(priv);
	transfer_count--;
}

size_t
transfer_running(void)
{
	return transfer_count;
}
