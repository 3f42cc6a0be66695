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
 * berth-scand, the image scanner, from berthd's side: the process (the
 * spawner starts it; berthd starts it again with backoff whenever it
 * exits, as it does blobd) and its protocol (common/scanproto.h).  A
 * scan is a request id, the layers' descriptors in order and a run;
 * scand answers with the result and a memfd of records.  A scan in
 * flight when scand goes fails with BERR_UNAVAILABLE, and image_scan.c
 * records it as FAILED.  scand holds nothing durable, so its restarts
 * need no more than that.
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

#define SCANNER_FIRST_START_MS	250

/* A scan waiting for its result. */
struct scanner_call {
	struct scanner_call	*next;
	uint32_t		 id;
	scanner_result_cb	 done;
	void			*arg;
};

static const struct rpc_rule scanner_rules[] = {
	{ MSG_SCAN_HELLO, sizeof(struct msg_scan_hello),
	    sizeof(struct msg_scan_hello), RPC_FD_NONE, RPC_ID_ZERO },
	{ MSG_SCAN_ERROR, sizeof(struct msg_scan_error),
	    sizeof(struct msg_scan_error), RPC_FD_NONE, RPC_ID_ANY },
	{ MSG_SCAN_RESULT, sizeof(struct msg_scan_result),
	    sizeof(struct msg_scan_result), RPC_FD_REQUIRED, RPC_ID_REQUEST },
	{ MSG_SCAN_DB_STATE, sizeof(struct msg_scan_db_state),
	    sizeof(struct msg_scan_db_state), RPC_FD_NONE, RPC_ID_ANY },
};

static struct rpc_chan	*scanner_chan;
static pid_t		 scanner_child = -1;
static int		 scanner_ready;		/* said hello */
static int		 scanner_starting;
static int		 scanner_said_hello;	/* since the last spawn */
static int		 scanner_stopping;
static uint64_t		 scanner_generation;	/* bumped per start */
static uint32_t		 scanner_next_id;
static struct scanner_call *scanner_calls;
static struct restart	 scanner_restart;
static int		 scanner_started_once;
static struct msg_scan_db_state scanner_db_state;

int
scanner_up(void)
{
	return scanner_ready;
}

pid_t
scanner_pid(void)
{
	return scanner_ready ? scanner_child : -1;
}

uint64_t
scanner_restarts(void)
{
	return scanner_restart.restarts;
}

const struct msg_scan_db_state *
scanner_db(void)
{
	return &scanner_db_state;
}

static void
scanner_fail_all(int err)
{
	struct scanner_call	*c;

	while ((c = scanner_calls) != NULL) {
		scanner_calls = c->next;
		c->done(err, NULL, -1, c->arg);
		free(c);
	}
}

static void
scanner_spawn(void)
{
	scanner_starting = 1;
	scanner_said_hello = 0;
	scanner_restart.up_since = 0;
	if (scanner_started_once)
		scanner_restart.restarts++;
	scanner_started_once = 1;
	spawner_request_scanner();
}

static void
scanner_restart_cb(void)
{
	if (!scanner_stopping)
		scanner_spawn();
}

static void
scanner_schedule_restart(const char *how)
{
	if (!scanner_stopping)
		restart_schedule(&scanner_restart, how);
}

/* The channel is gone, or must go: scans in flight fail. */
static void
scanner_disconnect(void)
{
	scanner_ready = 0;
	scanner_generation++;
	if (scanner_chan != NULL) {
		rpc_free(scanner_chan);
		scanner_chan = NULL;
	}
	scanner_fail_all(BERR_UNAVAILABLE);
}

static void
scanner_db_state_set(const uint8_t *payload)
{
	struct msg_scan_db_state st;
	uint64_t		 before = scanner_db_state.generation;

	memcpy(&st, payload, sizeof(st));
	scanner_db_state = st;
	if (st.generation != before && before != 0)
		image_scan_db_changed();
}

static void
scanner_result(const struct frame_hdr *h, const uint8_t *payload, int fd)
{
	struct scanner_call	**p, *c;
	struct msg_scan_result	 res;
	struct msg_scan_error	 e;

	for (p = &scanner_calls; *p != NULL; p = &(*p)->next)
		if ((*p)->id == h->id)
			break;
	if ((c = *p) == NULL) {
		/* An error about layers of a scan not run yet comes
		 * before its run: scanner_run finds it failed. */
		log_warnx("berth-scand answered scan %u, which is not in "
		    "flight", h->id);
		if (fd != -1)
			close(fd);
		return;
	}
	*p = c->next;
	if (h->type == MSG_SCAN_ERROR) {
		memcpy(&e, payload, sizeof(e));
		c->done(e.code < 0 && e.code > BERR__LAST ? e.code : BERR_IO,
		    NULL, -1, c->arg);
	} else {
		memcpy(&res, payload, sizeof(res));
		res.description[sizeof(res.description) - 1] = '\0';
		if (res.status < SCAN_STATUS_COMPLETE ||
		    res.status >= SCAN_STATUS__MAX) {
			close(fd);
			c->done(BERR_IO, NULL, -1, c->arg);
		} else
			c->done(0, &res, fd, c->arg);
	}
	free(c);
}

static void
scanner_msg_cb(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct msg_scan_hello	 hello;

	if (h->type == MSG_SCAN_HELLO) {
		memcpy(&hello, payload, sizeof(hello));
		if (scanner_ready || hello.version != SCAN_PROTOCOL_VERSION) {
			log_warnx("berth-scand speaks protocol %u, berthd %u: "
			    "install matching binaries", hello.version,
			    SCAN_PROTOCOL_VERSION);
			spawner_kill_worker(scanner_child);
			scanner_disconnect();
			return;
		}
		scanner_ready = 1;
		scanner_said_hello = 1;
		scanner_restart.up_since = mono_ms();
		log_debug("berth-scand %u ready", hello.pid);
		image_scan_scanner_ready();
		return;
	}
	if (!scanner_ready) {
		log_warnx("berth-scand sent message %u before hello", h->type);
		if (fd != -1)
			close(fd);
		spawner_kill_worker(scanner_child);
		scanner_disconnect();
		return;
	}
	switch (h->type) {
	case MSG_SCAN_DB_STATE:
		scanner_db_state_set(payload);
		break;
	case MSG_SCAN_ERROR:
	case MSG_SCAN_RESULT:
		scanner_result(h, payload, fd);
		break;
	}
}

static void
scanner_close_cb(struct rpc_chan *chan, int err, void *arg)
{
	if (err == BERR_FRAME)
		log_warnx("berth-scand sent a malformed message");
	/* Its exit status, which the spawner reports, does the rest. */
	if (scanner_child > 0)
		spawner_kill_worker(scanner_child);
	scanner_disconnect();
}

void
scanner_started(pid_t pid, int fd)
{
	if (!scanner_starting || scanner_child != -1 || scanner_stopping) {
		close(fd);
		if (scanner_stopping)
			return;
		fatalx("the spawner started a scanner nobody asked for");
	}
	scanner_starting = 0;
	scanner_child = pid;
	scanner_chan = rpc_new(ev_base, fd, scanner_rules,
	    nitems(scanner_rules), scanner_msg_cb, scanner_close_cb, NULL);
}

void
scanner_failed(int err)
{
	char	 how[128];

	scanner_starting = 0;
	snprintf(how, sizeof(how), "could not be started (%s)",
	    strerror(err));
	image_scan_fail_waiting(how);
	scanner_schedule_restart(how);
}

int
scanner_exited(pid_t pid, int status)
{
	char	 how[96];
	size_t	 n;

	if (pid != scanner_child || pid <= 0)
		return 0;
	restart_describe_exit(status, how, sizeof(how));
	n = strlen(how);
	if (WIFEXITED(status) && WEXITSTATUS(status) == SCAND_EXIT_CONFIG)
		snprintf(how + n, sizeof(how) - n, " (it refused its "
		    "configuration)");
	scanner_child = -1;
	scanner_disconnect();
	/* One that never started would keep scans waiting for ever. */
	if (!scanner_said_hello)
		image_scan_fail_waiting(how);
	scanner_schedule_restart(how);
	return 1;
}

/*
 * berth-scand loads libarchive, sqlite3 and ICU: its start costs more CPU
 * than berthd's and berth-blobd's together, and nothing needs it in the
 * first moments, so it starts a quarter of a second after berthd began
 * to serve, as berth-fetchd does; scans asked for before then wait for
 * its hello as they would for any start.
 */
void
scanner_start(void)
{
	restart_init(&scanner_restart, "berth-scand", scanner_restart_cb);
	restart_later(&scanner_restart, SCANNER_FIRST_START_MS);
}

void
scanner_stop(void)
{
	scanner_stopping = 1;
	restart_cancel(&scanner_restart);
	/* scand exits when its socket closes; the spawner reaps it. */
	scanner_disconnect();
	scanner_child = -1;
}

void
scanner_reload(void)
{
	if (scanner_ready)
		(void)rpc_send(scanner_chan, MSG_SCAN_DB_RELOAD, 0, NULL, 0,
		    -1);
}

/* --- scans --------------------------------------------------------------- */

uint32_t
scanner_scan_id(uint64_t *generation)
{
	*generation = scanner_generation;
	if (++scanner_next_id == 0)
		scanner_next_id = 1;
	return scanner_next_id;
}

int
scanner_layer(uint64_t generation, uint32_t id, uint32_t index,
    uint32_t media, uint64_t offset, uint64_t size, int fd)
{
	struct msg_scan_layer	 m;

	if (!scanner_ready || generation != scanner_generation) {
		close(fd);
		return BERR_UNAVAILABLE;
	}
	memset(&m, 0, sizeof(m));
	m.index = index;
	m.media = media;
	m.offset = offset;
	m.size = size;
	if (rpc_send(scanner_chan, MSG_SCAN_LAYER, id, &m, sizeof(m),
	    fd) != 0)
		return BERR_UNAVAILABLE;
	return 0;
}

static void
scanner_unavailable_cb(evutil_socket_t fd, short events, void *arg)
{
	struct scanner_call	*c = arg;

	c->done(BERR_UNAVAILABLE, NULL, -1, c->arg);
	free(c);
}

void
scanner_run(uint64_t generation, uint32_t id, uint32_t nlayers,
    scanner_result_cb done, void *arg)
{
	struct scanner_call	*c;
	struct msg_scan_run	 m;

	c = xcalloc(1, sizeof(*c));
	c->id = id;
	c->done = done;
	c->arg = arg;
	memset(&m, 0, sizeof(m));
	m.nlayers = nlayers;
	if (!scanner_ready || generation != scanner_generation ||
	    rpc_send(scanner_chan, MSG_SCAN_RUN, id, &m, sizeof(m), -1) != 0) {
		/* Never before this returns. */
		if (event_base_once(ev_base, -1, EV_TIMEOUT,
		    scanner_unavailable_cb, c, NULL) == -1)
			fatalx("event_base_once");
		return;
	}
	c->next = scanner_calls;
	scanner_calls = c;
}
