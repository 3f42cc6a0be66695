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
 * The storage client: berthd's side of the socket to berth-blobd.  One
 * function per request, each with a typed callback, in the spirit of
 * OpenSSH's mm_* wrappers: this file is the only one in berthd that builds
 * or reads the structs of proto.h.  Requests are numbered and matched to
 * their replies by id; replies may come in any order (metadata appends
 * wait for a group fsync, blob opens do not).  Until the worker said hello
 * (its protocol version), and once its socket closed, every request fails
 * with BERR_UNAVAILABLE, which the HTTP side turns into a retryable 503.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "error.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

/* A reply's payload (its length checked against blobc_rules) and its
 * descriptor, which the callback owns; err as for the typed callbacks. */
typedef void (*blobc_reply_cb)(int err, const uint8_t *payload, int fd,
    void *req);

/* The caller's callback: the reply's decoder knows which. */
union blobc_cb {
	blobc_done_cb		 done;
	blobc_size_cb		 size;
	blobc_upload_created_cb	 created;
	blobc_blob_opened_cb	 opened;
	blobc_meta_state_cb	 state;
	blobc_gc_listed_cb	 listed;
	blobc_gc_swept_cb	 swept;
	blobc_stats_cb		 stats;
};

/* A request in flight: the caller's callback and argument, and the
 * decoder of the reply that calls it. */
struct blobc_req {
	uint32_t	 id;
	uint32_t	 reply_type;
	blobc_reply_cb	 reply;
	union blobc_cb	 cb;
	void		*arg;
	int		 err;		/* failed before it was sent */
	struct blobc_req *next;		/* hash chain */
};

#define BLOBC_BUCKETS	1024
#define BLOBC_SNDBUF	(2 * 1024 * 1024)	/* bytes */

static struct rpc_chan	*blobc_chan;
static int		 blobc_ready;	/* the worker said hello */
static blobc_hello_cb	 blobc_on_hello;
static blobc_closed_cb	 blobc_on_closed;
static struct blobc_req	*blobc_table[BLOBC_BUCKETS];
static uint32_t		 blobc_next_id = 1;

/* The caller's typed callback cb, as a request keeps it. */
#define CB(kind)	((union blobc_cb){ .kind = cb })

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

static void
blobc_deferred_cb(evutil_socket_t fd, short events, void *arg)
{
	struct blobc_req *req = arg;

	req->reply(req->err, NULL, -1, req);
	free(req);
}

/* Fails a request that was never sent, from the loop: callbacks never run
 * before their request function returns. */
static void
blobc_fail_later(struct blobc_req *req, int err)
{
	req->err = err;
	if (event_base_once(ev_base, -1, EV_TIMEOUT, blobc_deferred_cb, req,
	    NULL) == -1)
		fatalx("event_base_once");
}

static struct blobc_req *
blobc_req_new(blobc_reply_cb reply, union blobc_cb cb, void *arg)
{
	struct blobc_req *req;

	req = xcalloc(1, sizeof(*req));
	req->reply = reply;
	req->cb = cb;
	req->arg = arg;
	return req;
}

/*
 * Sends a request whose payload is the iovcnt pieces of iov; fd (or -1) is
 * handed over.  The reply, or the failure, goes to reply with the request,
 * whose cb and arg are the caller's.
 */
static void
blobc_callv(uint32_t type, const struct iovec *iov, int iovcnt, int fd,
    uint32_t reply_type, blobc_reply_cb reply, union blobc_cb cb, void *arg)
{
	struct blobc_req *req;

	req = blobc_req_new(reply, cb, arg);
	req->reply_type = reply_type;
	if (!blobc_ready) {
		if (fd != -1)
			close(fd);
		blobc_fail_later(req, BERR_UNAVAILABLE);
		return;
	}
	do {
		req->id = blobc_next_id++;
	} while (req->id == 0 || *blobc_slot(req->id) != NULL);
	if (rpc_sendv(blobc_chan, type, req->id, iov, iovcnt, fd) != 0) {
		blobc_fail_later(req, BERR_UNAVAILABLE);
		return;
	}
	*blobc_slot(req->id) = req;
}

/* The same with a payload of one piece. */
static void
blobc_call(uint32_t type, const void *p, size_t n, int fd,
    uint32_t reply_type, blobc_reply_cb reply, union blobc_cb cb, void *arg)
{
	struct iovec	 iov;

	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = n;
	blobc_callv(type, &iov, 1, fd, reply_type, reply, cb, arg);
}

/* Fails every request in flight with err. */
static void
blobc_fail_all(int err)
{
	struct blobc_req *req, *next;
	size_t		 i;

	for (i = 0; i < BLOBC_BUCKETS; i++) {
		req = blobc_table[i];
		blobc_table[i] = NULL;
		for (; req != NULL; req = next) {
			next = req->next;
			req->reply(err, NULL, -1, req);
			free(req);
		}
	}
}

static void
blobc_dispatch(const struct frame_hdr *h, const uint8_t *payload, int fd)
{
	struct blobc_req **slot, *req;
	struct msg_error e;

	slot = blobc_slot(h->id);
	if ((req = *slot) == NULL)
		fatalx("berth-blobd answered request %u, which is not in "
		    "flight", h->id);
	if (h->type != req->reply_type && h->type != MSG_ERROR)
		fatalx("berth-blobd answered request %u with message %u, "
		    "expected %u", h->id, h->type, req->reply_type);
	*slot = req->next;
	if (h->type == MSG_ERROR) {
		memcpy(&e, payload, sizeof(e));
		if (e.code >= 0 || e.code <= BERR__LAST)
			fatalx("berth-blobd sent error code %d", e.code);
		if (fd != -1)
			close(fd);
		req->reply(e.code, payload, -1, req);
	} else
		req->reply(0, payload, fd, req);
	free(req);
}

static void
blobc_msg_cb(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct msg_hello hello;

	if (h->type != MSG_HELLO) {
		if (!blobc_ready)
			fatalx("berth-blobd sent message %u before hello",
			    h->type);
		blobc_dispatch(h, payload, fd);
		return;
	}
	if (blobc_ready || h->id != 0)
		fatalx("berth-blobd sent a second hello");
	memcpy(&hello, payload, sizeof(hello));
	if (hello.version != PROTOCOL_VERSION)
		fatalx("berth-blobd speaks protocol %u, berthd %u: install "
		    "matching binaries", hello.version, PROTOCOL_VERSION);
	log_debug("berth-blobd %u ready", hello.pid);
	blobc_ready = 1;
	blobc_on_hello(arg);
}

static void
blobc_close_cb(struct rpc_chan *chan, int err, void *arg)
{
	if (err == BERR_FRAME)
		fatalx("berth-blobd sent a malformed message");
	blobc_ready = 0;
	blobc_fail_all(BERR_UNAVAILABLE);
	rpc_free(blobc_chan);
	blobc_chan = NULL;
	blobc_on_closed(arg);
}

void
blobc_open(int fd, blobc_hello_cb hello, blobc_closed_cb closed, void *arg)
{
	int	 sndbuf = BLOBC_SNDBUF;

	if (blobc_chan != NULL)
		fatalx("blobc_open: a worker's socket is open already");
	blobc_on_hello = hello;
	blobc_on_closed = closed;
	/* Room for a small blob's whole commit in the socket, so that it
	 * leaves without a copy into the channel's buffer (rpc_sendv); the
	 * system's wmem_max may allow less, which only costs that copy. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	blobc_chan = rpc_new(ev_base, fd, blobc_rules, blobc_nrules,
	    blobc_msg_cb, blobc_close_cb, arg);
}

void
blobc_close(int err)
{
	if (blobc_chan != NULL && err == BERR_SHUTTING_DOWN)
		(void)rpc_flush(blobc_chan);
	blobc_ready = 0;
	blobc_fail_all(err);
	if (blobc_chan != NULL) {
		rpc_free(blobc_chan);
		blobc_chan = NULL;
	}
}

void
blobc_reopen_log(void)
{
	restart_send_stderr(blobc_chan, MSG_LOG_REOPEN);
}

/* --- replies ------------------------------------------------------------- */

/* A reply's payload into out (len bytes; zeros unless err is 0); a
 * descriptor that came with it is closed. */
static void
blobc_reply_copy(int err, const uint8_t *payload, int fd, void *out,
    size_t len)
{
	if (fd != -1)
		close(fd);
	memset(out, 0, len);
	if (err == 0)
		memcpy(out, payload, len);
}

static void
blobc_reply_done(int err, const uint8_t *payload, int fd, void *arg)
{
	struct blobc_req *req = arg;

	if (fd != -1)
		close(fd);
	req->cb.done(err, req->arg);
}

/* A session's size (MSG_UPLOAD_STATUS), also after an error. */
static void
blobc_reply_status(int err, const uint8_t *payload, int fd, void *arg)
{
	struct blobc_req *req = arg;
	struct msg_upload_status st;
	struct msg_error e;
	uint64_t	 size = 0;

	if (fd != -1)
		close(fd);
	if (err == 0) {
		memcpy(&st, payload, sizeof(st));
		size = st.size;
	} else if (payload != NULL) {
		memcpy(&e, payload, sizeof(e));
		size = e.size;
	}
	req->cb.size(err, size, req->arg);
}

/* A stored blob's size (MSG_BLOB_COMMITTED); a session's after an
 * error. */
static void
blobc_reply_committed(int err, const uint8_t *payload, int fd, void *arg)
{
	struct blobc_req *req = arg;
	struct msg_blob_committed c;

	if (err != 0) {
		blobc_reply_status(err, payload, fd, arg);
		return;
	}
	if (fd != -1)
		close(fd);
	memcpy(&c, payload, sizeof(c));
	req->cb.size(0, c.size, req->arg);
}

/* --- uploads ------------------------------------------------------------- */

static void
blobc_reply_created(int err, const uint8_t *payload, int fd, void *arg)
{
	struct blobc_req *req = arg;
	struct msg_upload_created c;

	blobc_reply_copy(err, payload, fd, &c, sizeof(c));
	req->cb.created(err, c.id, req->arg);
}

void
blobc_upload_create(const char *owner, enum digest_algo algo,
    blobc_upload_created_cb cb, void *arg)
{
	struct msg_upload_create m;

	memset(&m, 0, sizeof(m));
	snprintf(m.owner, sizeof(m.owner), "%s", owner);
	m.algo = algo;
	blobc_call(MSG_UPLOAD_CREATE, &m, sizeof(m), -1,
	    MSG_UPLOAD_CREATED, blobc_reply_created, CB(created), arg);
}

void
blobc_upload_append(const char *owner, const uint8_t id[UPLOAD_ID_LEN],
    uint64_t offset, uint64_t length, int fd, blobc_size_cb cb, void *arg)
{
	struct msg_upload_append m;

	memset(&m, 0, sizeof(m));
	memcpy(m.id, id, UPLOAD_ID_LEN);
	snprintf(m.owner, sizeof(m.owner), "%s", owner);
	m.offset = offset;
	m.length = length;
	blobc_call(MSG_UPLOAD_APPEND, &m, sizeof(m), fd,
	    MSG_UPLOAD_STATUS, blobc_reply_status, CB(size), arg);
}

static void
blobc_upload_ref(struct msg_upload_ref *m, const char *owner,
    const uint8_t id[UPLOAD_ID_LEN])
{
	memset(m, 0, sizeof(*m));
	memcpy(m->id, id, UPLOAD_ID_LEN);
	snprintf(m->owner, sizeof(m->owner), "%s", owner);
}

void
blobc_upload_stat(const char *owner, const uint8_t id[UPLOAD_ID_LEN],
    blobc_size_cb cb, void *arg)
{
	struct msg_upload_ref m;

	blobc_upload_ref(&m, owner, id);
	blobc_call(MSG_UPLOAD_STAT, &m, sizeof(m), -1,
	    MSG_UPLOAD_STATUS, blobc_reply_status, CB(size), arg);
}

void
blobc_upload_cancel(const char *owner, const uint8_t id[UPLOAD_ID_LEN],
    blobc_done_cb cb, void *arg)
{
	struct msg_upload_ref m;

	blobc_upload_ref(&m, owner, id);
	blobc_call(MSG_UPLOAD_CANCEL, &m, sizeof(m), -1, MSG_OK,
	    blobc_reply_done, CB(done), arg);
}

/* The pieces of a frame: m (of len bytes), then b's data and entry. */
static int
blobc_pieces(struct iovec *iov, const void *m, size_t len,
    const struct blobc_blob *b)
{
	iov[0].iov_base = (void *)(uintptr_t)m;
	iov[0].iov_len = len;
	iov[1].iov_base = (void *)(uintptr_t)b->data;
	iov[1].iov_len = b->len;
	iov[2].iov_base = (void *)(uintptr_t)b->entry;
	iov[2].iov_len = b->entry_len;
	return 3;
}

void
blobc_upload_commit(const char *owner, const uint8_t id[UPLOAD_ID_LEN],
    const struct blobc_blob *b, blobc_size_cb cb, void *arg)
{
	struct msg_upload_commit m;
	struct iovec	 iov[3];

	memset(&m, 0, sizeof(m));
	memcpy(m.id, id, UPLOAD_ID_LEN);
	snprintf(m.owner, sizeof(m.owner), "%s", owner);
	digest_format(&b->digest, m.digest);
	m.size = b->size;
	m.offset = b->offset;
	m.data_len = (uint32_t)b->len;
	m.entry_len = (uint32_t)b->entry_len;
	blobc_callv(MSG_UPLOAD_COMMIT, iov, blobc_pieces(iov, &m, sizeof(m),
	    b), -1, MSG_BLOB_COMMITTED, blobc_reply_committed, CB(size), arg);
}

/* --- blobs --------------------------------------------------------------- */

void
blobc_blob_write(const struct blobc_blob *b, blobc_size_cb cb, void *arg)
{
	struct msg_blob_write m;
	struct iovec	 iov[3];

	memset(&m, 0, sizeof(m));
	digest_format(&b->digest, m.digest);
	m.size = b->len;
	m.entry_len = (uint32_t)b->entry_len;
	blobc_callv(MSG_BLOB_WRITE, iov, blobc_pieces(iov, &m, sizeof(m), b),
	    -1, MSG_BLOB_COMMITTED, blobc_reply_committed, CB(size), arg);
}

static void
blobc_reply_opened(int err, const uint8_t *payload, int fd, void *arg)
{
	struct blobc_req *req = arg;
	struct msg_blob_opened o;

	/* The descriptor is the callback's. */
	blobc_reply_copy(err, payload, -1, &o, sizeof(o));
	req->cb.opened(err, fd, o.offset, o.size, req->arg);
}

void
blobc_blob_open(const struct digest *d, blobc_blob_opened_cb cb, void *arg)
{
	struct msg_blob_ref m;

	memset(&m, 0, sizeof(m));
	digest_format(d, m.digest);
	blobc_call(MSG_BLOB_OPEN, &m, sizeof(m), -1,
	    MSG_BLOB_OPENED, blobc_reply_opened, CB(opened), arg);
}

void
blobc_upload_open(const char *owner, const uint8_t id[UPLOAD_ID_LEN],
    blobc_blob_opened_cb cb, void *arg)
{
	struct msg_upload_ref m;

	blobc_upload_ref(&m, owner, id);
	blobc_call(MSG_UPLOAD_OPEN, &m, sizeof(m), -1,
	    MSG_BLOB_OPENED, blobc_reply_opened, CB(opened), arg);
}

/* --- the metadata log ---------------------------------------------------- */

void
blobc_meta_append(const void *entry, size_t len, int releases,
    blobc_done_cb cb, void *arg)
{
	blobc_call(releases ? MSG_META_RELEASE : MSG_META_APPEND, entry, len,
	    -1, MSG_META_APPENDED, blobc_reply_done, CB(done), arg);
}

static void
blobc_reply_state(int err, const uint8_t *payload, int fd, void *arg)
{
	struct blobc_req *req = arg;
	struct msg_meta_state st;

	/* The descriptor is the callback's. */
	blobc_reply_copy(err, payload, -1, &st, sizeof(st));
	req->cb.state(err, fd, st.len, st.entries, req->arg);
}

void
blobc_meta_load(blobc_meta_state_cb cb, void *arg)
{
	blobc_call(MSG_META_LOAD, NULL, 0, -1, MSG_META_STATE,
	    blobc_reply_state, CB(state), arg);
}

void
blobc_meta_compact(int fd, uint64_t len, uint64_t entries, blobc_done_cb cb,
    void *arg)
{
	struct msg_meta_compact m;

	memset(&m, 0, sizeof(m));
	m.len = len;
	m.entries = entries;
	blobc_call(MSG_META_COMPACT, &m, sizeof(m), fd, MSG_OK,
	    blobc_reply_done, CB(done), arg);
}

/* --- garbage collection and statistics ----------------------------------- */

/* The listing in fd as an array (free it); n is its length.  A record
 * that does not name a digest is a broken worker: fatal. */
static struct blobc_stored *
blobc_listing_read(int fd, uint64_t count, size_t *n)
{
	struct blobc_stored *out;
	struct gc_blob	*list = NULL;
	size_t		 i, mapped = 0;

	*n = 0;
	if (count > SIZE_MAX / sizeof(struct gc_blob))
		fatalx("berth-blobd listed %llu blobs",
		    (unsigned long long)count);
	if (count > 0) {
		mapped = count * sizeof(struct gc_blob);
		list = mmap(NULL, mapped, PROT_READ, MAP_PRIVATE, fd, 0);
		if (list == MAP_FAILED) {
			log_warn("the blob listing");
			return NULL;
		}
	}
	out = xcalloc(count > 0 ? count : 1, sizeof(*out));
	for (i = 0; i < count; i++) {
		if (memchr(list[i].digest, '\0', sizeof(list[i].digest)) ==
		    NULL || digest_parse_str(list[i].digest,
		    &out[i].digest) != 0)
			fatalx("berth-blobd listed a malformed digest");
		out[i].size = list[i].size;
		out[i].mtime_ms = list[i].mtime_ms;
	}
	if (list != NULL)
		munmap(list, mapped);
	*n = count;
	return out;
}

static void
blobc_reply_listing(int err, const uint8_t *payload, int fd, void *arg)
{
	struct blobc_req *req = arg;
	struct msg_gc_listing l;
	struct blobc_stored *list = NULL;
	size_t		 n = 0;

	if (err == 0) {
		memcpy(&l, payload, sizeof(l));
		if ((list = blobc_listing_read(fd, l.count, &n)) == NULL)
			err = BERR_IO;
		close(fd);
	}
	req->cb.listed(err, list, n, req->arg);
	free(list);
}

void
blobc_gc_list(blobc_gc_listed_cb cb, void *arg)
{
	blobc_call(MSG_GC_LIST, NULL, 0, -1, MSG_GC_LISTING,
	    blobc_reply_listing, CB(listed), arg);
}

static void
blobc_reply_swept(int err, const uint8_t *payload, int fd, void *arg)
{
	struct blobc_req *req = arg;
	struct msg_gc_swept s;

	blobc_reply_copy(err, payload, fd, &s, sizeof(s));
	req->cb.swept(err, s.blobs, s.bytes, req->arg);
}

/* The sweep's list in a memfd, as blobd reads it; -1 on failure. */
static int
blobc_sweep_file(const struct blobc_stored *list, size_t n)
{
	struct gc_blob	 b;
	struct wbuf	 w;
	size_t		 i;
	int		 fd;

	if ((fd = anon_file("berth-gc-sweep")) == -1)
		return -1;
	wbuf_init(&w);
	for (i = 0; i < n; i++) {
		memset(&b, 0, sizeof(b));
		digest_format(&list[i].digest, b.digest);
		b.size = list[i].size;
		b.mtime_ms = list[i].mtime_ms;
		wbuf_put(&w, &b, sizeof(b));
		if (w.len >= 1024 * 1024 || i + 1 == n) {
			if (write_full(fd, w.data, w.len) == -1) {
				wbuf_clear(&w);
				close(fd);
				return -1;
			}
			wbuf_reset(&w);
		}
	}
	wbuf_clear(&w);
	return fd;
}

void
blobc_gc_sweep(const struct blobc_stored *list, size_t n,
    int64_t not_after_ms, blobc_gc_swept_cb cb, void *arg)
{
	struct msg_gc_sweep m;
	int		 fd;

	if ((fd = blobc_sweep_file(list, n)) == -1) {
		log_warn("gc sweep list");
		blobc_fail_later(blobc_req_new(blobc_reply_swept,
		    CB(swept), arg), BERR_IO);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.count = n;
	m.not_after_ms = not_after_ms;
	blobc_call(MSG_GC_SWEEP, &m, sizeof(m), fd, MSG_GC_SWEPT,
	    blobc_reply_swept, CB(swept), arg);
}

static void
blobc_reply_stats(int err, const uint8_t *payload, int fd, void *arg)
{
	struct blobc_req *req = arg;
	struct msg_stats_reply m;
	struct blobc_stats st;

	if (fd != -1)
		close(fd);
	memset(&st, 0, sizeof(st));
	if (err == 0) {
		memcpy(&m, payload, sizeof(m));
		st.blobs = m.blobs;
		st.bytes = m.bytes;
		st.uploads = m.uploads;
		st.meta_log_bytes = m.meta_log_bytes;
		st.held_bytes = m.held_bytes;
		st.held_refused = m.held_refused;
		st.commit_size_refused = m.commit_size_refused;
		st.writable = m.writable != 0;
	}
	req->cb.stats(err, err == 0 ? &st : NULL, req->arg);
}

void
blobc_stats(blobc_stats_cb cb, void *arg)
{
	blobc_call(MSG_STATS, NULL, 0, -1, MSG_STATS_REPLY,
	    blobc_reply_stats, CB(stats), arg);
}
