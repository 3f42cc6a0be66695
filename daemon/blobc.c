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
 * Requests from berthd to berth-blobd: numbering, the table of requests in
 * flight, and matching each reply to its request by id.  Replies may come
 * in any order (metadata appends wait for a group fsync; blob opens do
 * not).  When blobd dies every request in flight fails with
 * BERR_UNAVAILABLE, which the HTTP side turns into a retryable 503.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "error.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

struct blobc_req {
	uint32_t	 id;
	uint32_t	 reply_type;
	blobc_cb	 cb;
	void		*arg;
	struct blobc_req *next;		/* hash chain */
};

#define BLOBC_BUCKETS	1024

static struct rpc_chan	*blobc_chan;
static struct blobc_req	*blobc_table[BLOBC_BUCKETS];
static size_t		 blobc_count;
static uint32_t		 blobc_next_id = 1;

#define FIXED(t, s)	{ t, sizeof(s), sizeof(s), RPC_FD_NONE }
#define WITH_FD(t, s)	{ t, sizeof(s), sizeof(s), RPC_FD_REQUIRED }

/* What berthd accepts from blobd. */
const struct rpc_rule blobc_rules[] = {
	FIXED(MSG_HELLO, struct msg_hello),
	{ MSG_OK, 0, 0, RPC_FD_NONE },
	FIXED(MSG_ERROR, struct msg_error),
	FIXED(MSG_UPLOAD_CREATED, struct msg_upload_created),
	FIXED(MSG_UPLOAD_STATUS, struct msg_upload_status),
	FIXED(MSG_BLOB_COMMITTED, struct msg_blob_committed),
	WITH_FD(MSG_BLOB_OPENED, struct msg_blob_opened),
	FIXED(MSG_META_APPENDED, struct msg_meta_appended),
	WITH_FD(MSG_META_STATE, struct msg_meta_state),
	WITH_FD(MSG_GC_LISTING, struct msg_gc_listing),
	FIXED(MSG_GC_SWEPT, struct msg_gc_swept),
	FIXED(MSG_STATS_REPLY, struct msg_stats_reply),
};
const size_t blobc_nrules = nitems(blobc_rules);

static struct blobc_req **
blobc_slot(uint32_t id)
{
	struct blobc_req **p = &blobc_table[id % BLOBC_BUCKETS];

	while (*p != NULL && (*p)->id != id)
		p = &(*p)->next;
	return p;
}

/* Failing a request from inside blobc_call must wait for the loop. */
struct blobc_deferred {
	blobc_cb	 cb;
	void		*arg;
	int		 err;
};

static void
blobc_deferred_cb(evutil_socket_t fd, short events, void *arg)
{
	struct blobc_deferred *d = arg;

	d->cb(d->err, NULL, 0, -1, d->arg);
	free(d);
}

static void
blobc_fail_later(blobc_cb cb, void *arg, int err)
{
	struct blobc_deferred *d;

	d = xcalloc(1, sizeof(*d));
	d->cb = cb;
	d->arg = arg;
	d->err = err;
	if (event_base_once(ev_base, -1, EV_TIMEOUT, blobc_deferred_cb, d,
	    NULL) == -1)
		fatalx("event_base_once");
}

void
blobc_call(uint32_t type, const void *p1, size_t n1, const void *p2,
    size_t n2, int fd, uint32_t reply_type, blobc_cb cb, void *arg)
{
	struct blobc_req *req;
	uint32_t	 id;

	if (blobc_chan == NULL) {
		if (fd != -1)
			close(fd);
		blobc_fail_later(cb, arg, BERR_UNAVAILABLE);
		return;
	}
	do {
		id = blobc_next_id++;
	} while (id == 0 || *blobc_slot(id) != NULL);
	if (rpc_send2(blobc_chan, type, id, p1, n1, p2, n2, fd) != 0) {
		blobc_fail_later(cb, arg, BERR_UNAVAILABLE);
		return;
	}
	req = xcalloc(1, sizeof(*req));
	req->id = id;
	req->reply_type = reply_type;
	req->cb = cb;
	req->arg = arg;
	*blobc_slot(id) = req;
	blobc_count++;
}

void
blobc_attach(struct rpc_chan *chan)
{
	blobc_chan = chan;
}

void
blobc_detach(int err)
{
	struct blobc_req *req, *next;
	size_t		 i;

	blobc_chan = NULL;
	for (i = 0; i < BLOBC_BUCKETS; i++) {
		req = blobc_table[i];
		blobc_table[i] = NULL;
		for (; req != NULL; req = next) {
			next = req->next;
			blobc_count--;
			req->cb(err, NULL, 0, -1, req->arg);
			free(req);
		}
	}
}

void
blobc_dispatch(const struct frame_hdr *h, const uint8_t *payload, int fd)
{
	struct blobc_req **slot, *req;
	struct msg_error err;

	slot = blobc_slot(h->id);
	if ((req = *slot) == NULL)
		fatalx("berth-blobd answered request %u, which is not in "
		    "flight", h->id);
	if (h->type != req->reply_type && h->type != MSG_ERROR)
		fatalx("berth-blobd answered request %u with message %u, "
		    "expected %u", h->id, h->type, req->reply_type);
	*slot = req->next;
	blobc_count--;
	if (h->type == MSG_ERROR) {
		memcpy(&err, payload, sizeof(err));
		if (err.code >= 0 || err.code <= BERR__LAST)
			fatalx("berth-blobd sent error code %d", err.code);
		if (fd != -1)
			close(fd);
		req->cb(err.code, payload, h->len, -1, req->arg);
	} else
		req->cb(0, payload, h->len, fd, req->arg);
	free(req);
}

size_t
blobc_in_flight(void)
{
	return blobc_count;
}
