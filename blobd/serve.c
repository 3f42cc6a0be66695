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
 * berth-blobd's side of the channel to berthd: the table of the frames it
 * accepts, each row with the rules of proto.h that the frame must keep
 * and the handler that serves it, and the handlers.  The channel checks a
 * frame against its row before the handler runs, so a handler starts from
 * a well-formed frame; what it still checks (a digest, an owner, that a
 * session exists) are request errors and get a MSG_ERROR reply.  Adding a
 * frame type is a row here and its handler.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "blobd.h"
#include "digest.h"
#include "error.h"
#include "log.h"
#include "proto.h"
#include "rpc.h"
#include "util.h"

/*
 * A request answered later: an append from a pipe, a commit that hashes,
 * anything that waits for a commit round.
 */
struct serve_req {
	struct blobd	*env;
	uint32_t	 id;
	struct digest	 digest;
	uint64_t	 size;		/* of the blob; or the upload's */
	uint64_t	 seq;		/* of a metadata log entry */
	struct upload	*upload;	/* being committed */
	uint8_t		*entry;		/* to append once the blob is */
	size_t		 entry_len;
	int		 created;	/* the blob is new */
	int		 from_tmp;	/* its file was written to DIR/tmp */
	struct commit	 commit;
};

static struct serve_req *
serve_req_new(struct blobd *env, uint32_t id, commit_done_cb cb)
{
	struct serve_req	*req;

	req = xcalloc(1, sizeof(*req));
	req->env = env;
	req->id = id;
	commit_init(&req->commit, cb, req);
	return req;
}

static void
serve_req_free(struct serve_req *req)
{
	commit_clear(&req->commit);
	free(req->entry);
	free(req);
}

static void
serve_reply(struct blobd *env, uint32_t type, uint32_t id, const void *p,
    size_t n, int fd)
{
	/* A dead channel ends the process from its close callback. */
	(void)rpc_send(env->chan, type, id, p, n, fd);
}

static void
serve_error(struct blobd *env, uint32_t id, int err, uint64_t size)
{
	struct msg_error m;

	memset(&m, 0, sizeof(m));
	m.code = err < 0 ? err : BERR_INTERNAL;
	m.size = size;
	serve_reply(env, MSG_ERROR, id, &m, sizeof(m), -1);
}

/* The reply when rc is 0, else MSG_ERROR (and fd, if any, is closed). */
static void
serve_answer(struct blobd *env, uint32_t id, int rc, uint32_t type,
    const void *p, size_t n, int fd)
{
	if (rc == 0)
		serve_reply(env, type, id, p, n, fd);
	else {
		if (fd != -1)
			close(fd);
		serve_error(env, id, rc, 0);
	}
}

static void
serve_committed(struct serve_req *req)
{
	struct msg_blob_committed m;

	memset(&m, 0, sizeof(m));
	digest_format(&req->digest, m.digest);
	m.size = req->size;
	m.created = req->created ? 1 : 0;
	m.seq = req->seq;
	serve_reply(req->env, MSG_BLOB_COMMITTED, req->id, &m, sizeof(m), -1);
}

/* The entry that rides with a blob (proto.h), kept until the blob is. */
static void
serve_req_entry(struct serve_req *req, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	req->entry = xmalloc(n);
	memcpy(req->entry, p, n);
	req->entry_len = n;
}

static void
serve_linked_cb(struct commit *c, void *arg)
{
	struct serve_req	*req = arg;

	if (c->err != 0)
		serve_error(req->env, req->id, c->err, 0);
	else
		serve_committed(req);
	serve_req_free(req);
}

/*
 * Appends the request's entry to the log; the commit c (the blob's, when
 * it has no file of its own: packed, or stored already) is answered once
 * the log is synced past it.  0 or a negative berr.
 */
static int
serve_link(struct serve_req *req, struct commit *c)
{
	int	 rc;

	if (req->entry == NULL)
		return 0;
	if ((rc = metalog_append(req->env->metalog, req->entry,
	    req->entry_len, &req->seq)) != 0)
		return rc;
	c->log_end = metalog_end(req->env->metalog);
	return 0;
}

/*
 * A blob's round is done (c): the answer, with size after an error, and
 * req freed; or, when its entry had to wait for the blob's own file, the
 * entry appended and answered with the next round.
 */
static void
serve_stored(struct serve_req *req, struct commit *c, uint64_t size)
{
	int	 rc;

	req->created = c->created;
	if (c->err == 0 && req->entry != NULL && req->seq == 0) {
		commit_clear(c);
		commit_init(c, serve_linked_cb, req);
		if ((rc = serve_link(req, c)) == 0) {
			commit_add(req->env->committer, c);
			return;
		}
		c->err = rc;
	}
	if (c->err != 0)
		serve_error(req->env, req->id, c->err, size);
	else
		serve_committed(req);
	serve_req_free(req);
}

/* A string in a fixed array: NUL-terminated inside it and not empty. */
static int
serve_str_ok(const char *s, size_t size)
{
	return s[0] != '\0' && memchr(s, '\0', size) != NULL;
}

/* Parses a digest in a fixed array; 0 or a negative berr. */
static int
serve_digest(const char *s, size_t size, struct digest *d)
{
	const char	*nul;

	if ((nul = memchr(s, '\0', size)) == NULL || nul == s)
		return BERR_DIGEST_INVALID;
	return digest_parse(s, (size_t)(nul - s), d);
}

/* The session a request names, or NULL (and an error reply sent). */
static struct upload *
serve_upload(struct blobd *env, uint32_t id, const uint8_t *uid,
    const char *owner)
{
	struct upload	*u;

	if (!serve_str_ok(owner, OWNER_MAX)) {
		serve_error(env, id, BERR_BAD_REQUEST, 0);
		return NULL;
	}
	if ((u = upload_find(env->uploads, uid, owner)) == NULL)
		serve_error(env, id, BERR_UPLOAD_UNKNOWN, 0);
	return u;
}

/* Whether a request that takes space may go on; else answers it
 * BERR_NOSPACE (with an upload's size): the space reserve went to a
 * delete and has not come back (reserve.c). */
static int
serve_room(struct blobd *env, uint32_t id, uint64_t size)
{
	if (reserve_ready(env->reserve, 0))
		return 1;
	serve_error(env, id, BERR_NOSPACE, size);
	return 0;
}

static void
serve_upload_create(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd			*env = arg;
	struct msg_upload_create	 m;
	struct msg_upload_created	 r;
	struct upload			*u;
	int				 rc;

	memcpy(&m, payload, sizeof(m));
	if (!serve_str_ok(m.owner, sizeof(m.owner))) {
		serve_error(env, h->id, BERR_BAD_REQUEST, 0);
		return;
	}
	if (!serve_room(env, h->id, 0))
		return;
	if (m.algo != 0 && m.algo != DIGEST_SHA256 && m.algo != DIGEST_SHA512) {
		serve_error(env, h->id, BERR_DIGEST_UNSUPPORTED, 0);
		return;
	}
	if ((rc = upload_create(env->uploads, m.owner,
	    (enum digest_algo)m.algo, &u)) != 0) {
		serve_error(env, h->id, rc, 0);
		return;
	}
	log_debug("upload %s created for %s", u->name, u->owner);
	memcpy(r.id, u->id, sizeof(r.id));
	serve_reply(env, MSG_UPLOAD_CREATED, h->id, &r, sizeof(r), -1);
}

static void
serve_append_done_cb(struct upload *u, int err, void *arg)
{
	struct serve_req	*req = arg;
	struct msg_upload_status r;

	if (err != 0)
		serve_error(req->env, req->id, err, u->size);
	else {
		r.size = u->size;
		serve_reply(req->env, MSG_UPLOAD_STATUS, req->id, &r,
		    sizeof(r), -1);
	}
	free(req);
}

static void
serve_upload_append(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_upload_append m;
	struct serve_req	*req;
	struct upload		*u;
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	if ((u = serve_upload(env, h->id, m.id, m.owner)) == NULL) {
		close(fd);
		return;
	}
	if (!serve_room(env, h->id, u->size)) {
		close(fd);
		return;
	}
	req = xcalloc(1, sizeof(*req));
	req->env = env;
	req->id = h->id;
	if ((rc = upload_append_pipe(u, m.offset, m.length, fd,
	    serve_append_done_cb, req)) != 0) {
		free(req);
		serve_error(env, h->id, rc, u->size);
	}
}

static void
serve_upload_stat(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_upload_ref	 m;
	struct msg_upload_status r;
	struct upload		*u;

	memcpy(&m, payload, sizeof(m));
	if ((u = serve_upload(env, h->id, m.id, m.owner)) == NULL)
		return;
	r.size = u->size;
	serve_reply(env, MSG_UPLOAD_STATUS, h->id, &r, sizeof(r), -1);
}

/* A descriptor to read the session's file as it grows. */
static void
serve_upload_open(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_upload_ref	 m;
	struct msg_blob_opened	 r;
	struct upload		*u;
	int			 rc = 0, ufd = -1;

	memcpy(&m, payload, sizeof(m));
	if ((u = serve_upload(env, h->id, m.id, m.owner)) == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.size = u->size;
	if (u->held != NULL || !u->on_disk)
		rc = BERR_UPLOAD_BUSY;
	else if ((ufd = upload_open_data(u, O_RDONLY)) == -1)
		rc = berr_from_errno(errno);
	serve_answer(env, h->id, rc, MSG_BLOB_OPENED, &r, sizeof(r), ufd);
}

static void
serve_upload_cancel(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_upload_ref	 m;
	struct upload		*u;
	uint64_t		 size;
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	if ((u = serve_upload(env, h->id, m.id, m.owner)) == NULL)
		return;
	size = u->size;
	if ((rc = upload_cancel(u)) != 0)
		serve_error(env, h->id, rc, size);
	else
		serve_reply(env, MSG_OK, h->id, NULL, 0, -1);
}

static void
serve_upload_committed_cb(struct commit *c, void *arg)
{
	struct serve_req	*req = arg;
	struct blobd		*env = req->env;

	struct upload		*u = req->upload;
	int			 err = c->err;

	store_committed(env->store, c, req->size);
	if (err != 0 && req->from_tmp && c->fd != -1 && !c->created)
		(void)unlinkat(c->src_dir, c->src_name, 0);
	/* The session may be gone: an error reports the size it had.  Its
	 * files go after the answer. */
	serve_stored(req, c, req->size);
	upload_committed(u, err);
}

/* Verifies the session (hashed by now) and puts it in the next round. */
static void
serve_commit(struct serve_req *req, struct upload *u, uint64_t size)
{
	int	 rc;

	req->upload = u;
	req->size = u->size;
	if ((rc = upload_commit(u, &req->digest, size, &req->commit)) != 0 ||
	    (req->commit.fd == -1 && (rc = serve_link(req, &req->commit)) !=
	    0)) {
		if (u->state == UPLOAD_COMMITTING)
			upload_committed(u, rc);	/* the session stays */
		serve_error(req->env, req->id, rc, u->size);
		serve_req_free(req);
		return;
	}
	commit_add(req->env->committer, &req->commit);
}

static void
serve_commit_hashed_cb(struct upload *u, int err, void *arg)
{
	struct serve_req	*req = arg;

	if (err != 0) {
		serve_error(req->env, req->id, err, u->size);
		serve_req_free(req);
		return;
	}
	serve_commit(req, u, req->size);
}

/* proto.h: data_len bytes of data, then entry_len of an entry, follow. */
static int
serve_check_upload_commit(const struct frame_hdr *h, const uint8_t *payload)
{
	struct msg_upload_commit m;

	memcpy(&m, payload, sizeof(m));
	return m.data_len <= BLOB_WRITE_MAX && m.entry_len <= LINK_ENTRY_MAX &&
	    h->len == sizeof(m) + (size_t)m.data_len + m.entry_len ? 0 : -1;
}

/*
 * A session whose bytes all came with its commit: they are verified and
 * stored from memory, its data file never written.  0 or a negative berr
 * (the session is unchanged then).
 */
static int
serve_commit_inline(struct serve_req *req, struct upload *u,
    const uint8_t *data, size_t n)
{
	struct digest	 got;
	int		 rc;

	digest_compute(req->digest.algo, data, n, &got);
	if (!digest_eq(&got, &req->digest))
		return BERR_DIGEST_INVALID;
	if ((rc = store_put(req->env->store, &req->digest, data, n,
	    &req->commit)) != 0)
		return rc;
	req->upload = u;
	req->size = n;
	req->from_tmp = req->commit.fd != -1;
	u->state = UPLOAD_COMMITTING;
	if (req->commit.fd == -1 && (rc = serve_link(req, &req->commit)) !=
	    0) {
		upload_committed(u, rc);	/* the session stays */
		return rc;
	}
	commit_add(req->env->committer, &req->commit);
	return 0;
}

/* Appends bytes that came with a commit to the session's file. */
static int
serve_append_inline(struct upload *u, uint64_t offset, const uint8_t *data,
    size_t n)
{
	int	 rc;

	if ((rc = upload_append_begin(u, offset)) != 0)
		return rc;
	rc = upload_append_write(u, data, n);
	upload_append_end(u);
	return rc;
}

static void
serve_upload_commit(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_upload_commit m;
	struct serve_req	*req;
	struct upload		*u;
	struct digest		 d;
	const uint8_t		*data = payload + sizeof(m);
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	if ((u = serve_upload(env, h->id, m.id, m.owner)) == NULL)
		return;
	/* A commit may pack the blob into the log, and its link rides. */
	if (!serve_room(env, h->id, u->size))
		return;
	if ((rc = serve_digest(m.digest, sizeof(m.digest), &d)) != 0) {
		serve_error(env, h->id, rc, u->size);
		return;
	}
	/* Refused before anything is appended: berthd may try again. */
	if (u->state != UPLOAD_IDLE)
		rc = BERR_UPLOAD_BUSY;
	else if (m.offset != UINT64_MAX && m.offset != u->size)
		rc = BERR_RANGE_INVALID;
	else if (m.size != UINT64_MAX && m.size != u->size + m.data_len)
		rc = BERR_SIZE_INVALID;
	if (rc == BERR_RANGE_INVALID || rc == BERR_SIZE_INVALID)
		env->commit_size_refused++;
	if (rc != 0) {
		serve_error(env, h->id, rc, u->size);
		return;
	}
	req = serve_req_new(env, h->id, serve_upload_committed_cb);
	req->digest = d;
	serve_req_entry(req, data + m.data_len, m.entry_len);
	if (m.data_len > 0 && u->size == 0) {
		if ((rc = serve_commit_inline(req, u, data, m.data_len)) !=
		    0) {
			serve_error(env, h->id, rc, u->size);
			serve_req_free(req);
		}
		return;
	}
	if (m.data_len > 0 && (rc = serve_append_inline(u, m.offset, data,
	    m.data_len)) != 0) {
		serve_error(env, h->id, rc, u->size);
		serve_req_free(req);
		return;
	}
	/* Re-reading a large upload takes many loop iterations. */
	if (upload_hash_pending(u, d.algo) > UPLOAD_HASH_STEP) {
		req->size = m.size;
		if ((rc = upload_hash_start(u, d.algo, serve_commit_hashed_cb,
		    req)) != 0) {
			serve_req_free(req);
			serve_error(env, h->id, rc, u->size);
		}
		return;
	}
	serve_commit(req, u, m.size);
}

/* proto.h: size bytes of data, then entry_len of an entry, follow. */
static int
serve_check_blob_write(const struct frame_hdr *h, const uint8_t *payload)
{
	struct msg_blob_write	 m;

	memcpy(&m, payload, sizeof(m));
	return m.size <= BLOB_WRITE_MAX && m.entry_len <= LINK_ENTRY_MAX &&
	    h->len == sizeof(m) + m.size + m.entry_len ? 0 : -1;
}

static void
serve_blob_written_cb(struct commit *c, void *arg)
{
	struct serve_req	*req = arg;

	store_committed(req->env->store, c, req->size);
	if (c->err != 0 && c->fd != -1 && !c->created)
		(void)unlinkat(c->src_dir, c->src_name, 0);
	serve_stored(req, c, 0);
}

static void
serve_blob_write(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_blob_write	 m;
	struct serve_req	*req;
	int			 rc;

	if (!serve_room(env, h->id, 0))
		return;
	memcpy(&m, payload, sizeof(m));
	req = serve_req_new(env, h->id, serve_blob_written_cb);
	req->size = m.size;
	serve_req_entry(req, payload + sizeof(m) + m.size, m.entry_len);
	if ((rc = serve_digest(m.digest, sizeof(m.digest), &req->digest)) !=
	    0 || (rc = store_write(env->store, &req->digest,
	    payload + sizeof(m), (size_t)m.size, &req->commit)) != 0 ||
	    (req->commit.fd == -1 && (rc = serve_link(req, &req->commit)) !=
	    0)) {
		serve_error(env, h->id, rc, 0);
		serve_req_free(req);
		return;
	}
	commit_add(env->committer, &req->commit);
}

static void
serve_blob_open(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_blob_ref	 m;
	struct msg_blob_opened	 r;
	struct digest		 d;
	int			 rc, bfd = -1;

	memcpy(&m, payload, sizeof(m));
	if ((rc = serve_digest(m.digest, sizeof(m.digest), &d)) == 0)
		rc = store_open_blob(env->store, &d, &bfd, &r.offset,
		    &r.size);
	serve_answer(env, h->id, rc, MSG_BLOB_OPENED, &r, sizeof(r), bfd);
}

static void
serve_meta_appended_cb(struct commit *c, void *arg)
{
	struct serve_req	*req = arg;
	struct msg_meta_appended r;

	if (c->err != 0)
		serve_error(req->env, req->id, c->err, 0);
	else {
		r.seq = req->seq;
		serve_reply(req->env, MSG_META_APPENDED, req->id, &r,
		    sizeof(r), -1);
	}
	serve_req_free(req);
}

/* Appends an entry; one that only deletes (releases) may use the space
 * reserve when the disk is full. */
static void
serve_meta_entry(struct blobd *env, const struct frame_hdr *h,
    const uint8_t *payload, int releases)
{
	struct serve_req	*req;
	uint64_t		 seq;
	int			 rc;

	if (!releases && !serve_room(env, h->id, 0))
		return;
	rc = metalog_append(env->metalog, payload, h->len, &seq);
	if (rc == BERR_NOSPACE && releases &&
	    reserve_release(env->reserve) == 0)
		rc = metalog_append(env->metalog, payload, h->len, &seq);
	if (rc != 0) {
		serve_error(env, h->id, rc, 0);
		return;
	}
	/* Group commit: entries appended before the next round starts
	 * share its one fdatasync. */
	req = serve_req_new(env, h->id, serve_meta_appended_cb);
	req->seq = seq;
	req->commit.log_end = metalog_end(env->metalog);
	commit_add(env->committer, &req->commit);
}

static void
serve_meta_append(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	serve_meta_entry(arg, h, payload, 0);
}

static void
serve_meta_release(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	serve_meta_entry(arg, h, payload, 1);
}

static void
serve_meta_load(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_meta_state	 r;
	int			 rc, sfd = -1;

	/* The state holds only durable entries, as berthd expects: those on
	 * their way to the disk are waited for.  Nothing else is (at a start,
	 * the fsyncs of new directories). */
	if (metalog_pending(env->metalog))
		committer_drain(env->committer);
	rc = metalog_load(env->metalog, &sfd, &r.len, &r.entries);
	serve_answer(env, h->id, rc, MSG_META_STATE, &r, sizeof(r), sfd);
}

static void
serve_meta_compact(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_meta_compact	 m;
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	if (!serve_room(env, h->id, 0)) {
		close(fd);
		return;
	}
	committer_drain(env->committer);
	rc = metalog_compact(env->metalog, fd, m.len, m.entries);
	close(fd);
	serve_answer(env, h->id, rc, MSG_OK, NULL, 0, -1);
}

/*
 * GC's listing and sweep run in steps of GC_STEP_US, one per turn of the
 * loop, so that blob I/O is served while they run (gc.c): a zero timeout
 * lets the loop poll its descriptors between two steps.  One of each at a
 * time; berthd runs one GC at a time anyway.
 */
#define GC_STEP_US	2000

static const struct timeval serve_gc_now = { 0, 0 };

struct serve_gc {
	struct blobd		*env;
	uint32_t		 id;
	struct event		*ev;
	struct gc_lister	*lister;	/* one of these two */
	struct gc_sweep		*sweep;
};

static struct serve_gc *
serve_gc_new(struct blobd *env, uint32_t id, event_callback_fn cb)
{
	struct serve_gc	*g;

	g = xcalloc(1, sizeof(*g));
	g->env = env;
	g->id = id;
	if ((g->ev = evtimer_new(env->base, cb, g)) == NULL)
		fatalx("evtimer_new");
	return g;
}

static void
serve_gc_free(struct serve_gc *g)
{
	event_free(g->ev);
	free(g);
}

/*
 * Whether the disk is short of space: the reserve spent, or less than
 * PACK_PUNCH_LOW_FREE free where the log is.  Then GC gives the bytes of
 * the packed blobs it removes back at once, rather than after
 * PACK_PUNCH_DELAY_MS.
 */
static int
serve_short_of_space(struct blobd *env)
{
	struct statvfs	 sv;

	if (!reserve_ready(env->reserve, 0))
		return 1;
	return fstatvfs(metalog_dir_fd(env->metalog), &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < PACK_PUNCH_LOW_FREE;
}

/* Sets the punch timer for the oldest hole waiting, if any. */
static void
serve_punch_schedule(struct blobd *env)
{
	struct timeval	 tv;
	int64_t		 due;

	if ((due = pack_punch_due(env->store->pack)) == -1)
		return;
	due = due > mono_ms() ? due - mono_ms() : 0;
	tv.tv_sec = (time_t)(due / 1000);
	tv.tv_usec = (suseconds_t)(due % 1000) * 1000;
	evtimer_add(env->ev_punch, &tv);
}

/* Punches the holes that are due in steps, as GC runs. */
static void
serve_punch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct blobd	*env = arg;
	int		 rc;

	committer_drain(env->committer);
	if (pack_punch(env->store->pack, env->metalog,
	    serve_short_of_space(env) ? INT64_MAX : mono_ms() -
	    PACK_PUNCH_DELAY_MS, mono_us() + GC_STEP_US)) {
		evtimer_add(env->ev_punch, &serve_gc_now);
		return;
	}
	if ((rc = metalog_maintain(env->metalog)) != 0)
		log_warnx("metadata log: %s", berr_message(rc));
	serve_punch_schedule(env);
}

static void
serve_gc_list_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve_gc		*g = arg;
	struct blobd		*env = g->env;
	struct msg_gc_listing	 r;
	int			 rc, lfd = -1;

	if (gc_list_step(g->lister, mono_us() + GC_STEP_US, &rc)) {
		evtimer_add(g->ev, &serve_gc_now);
		return;
	}
	rc = gc_list_finish(g->lister, rc, &lfd, &r.count);
	serve_answer(env, g->id, rc, MSG_GC_LISTING, &r, sizeof(r), lfd);
	env->gc_list = NULL;
	serve_gc_free(g);
}

static void
serve_gc_list(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct serve_gc		*g;
	int			 rc;

	if (env->gc_list != NULL) {
		serve_error(env, h->id, BERR_TOO_MANY_REQUESTS, 0);
		return;
	}
	g = serve_gc_new(env, h->id, serve_gc_list_cb);
	if ((rc = gc_list_new(env->store, &g->lister)) != 0) {
		serve_error(env, h->id, rc, 0);
		serve_gc_free(g);
		return;
	}
	env->gc_list = g;
	evtimer_add(g->ev, &serve_gc_now);
}

static void
serve_gc_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve_gc		*g = arg;
	struct blobd		*env = g->env;
	struct msg_gc_swept	 r;
	int			 rc;

	/* A step sees no rename in progress (a blob stored again while
	 * its file is being removed would be lost). */
	committer_drain(env->committer);
	if (gc_sweep_step(g->sweep, mono_us() + GC_STEP_US)) {
		evtimer_add(g->ev, &serve_gc_now);
		return;
	}
	rc = gc_sweep_finish(g->sweep, &r.blobs, &r.bytes);
	/* What it freed goes to a spent space reserve first. */
	if (rc == 0 && r.blobs > 0)
		(void)reserve_ready(env->reserve, 1);
	serve_answer(env, g->id, rc, MSG_GC_SWEPT, &r, sizeof(r), -1);
	env->gc_sweep = NULL;
	serve_gc_free(g);
	serve_punch_schedule(env);
}

static void
serve_gc_sweep(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_gc_sweep	 m;
	struct serve_gc		*g;
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	if (env->gc_sweep != NULL) {
		close(fd);
		serve_error(env, h->id, BERR_TOO_MANY_REQUESTS, 0);
		return;
	}
	g = serve_gc_new(env, h->id, serve_gc_sweep_cb);
	if ((rc = gc_sweep_new(env->store, fd, m.count, m.not_after_ms,
	    m.dry_run != 0, &g->sweep)) != 0) {
		serve_error(env, h->id, rc, 0);
		serve_gc_free(g);
		return;
	}
	if (!serve_short_of_space(env))
		gc_sweep_punch_later(g->sweep);
	env->gc_sweep = g;
	evtimer_add(g->ev, &serve_gc_now);
}

static void
serve_stats(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_stats_reply	 r;

	memset(&r, 0, sizeof(r));
	/* The first count walks the store: no rename may be in progress. */
	if (!env->store->counted)
		committer_drain(env->committer);
	(void)store_counts(env->store, &r.blobs, &r.bytes);
	r.uploads = env->uploads->count;
	r.meta_log_bytes = metalog_log_bytes(env->metalog);
	r.held_bytes = env->uploads->held_bytes;
	r.held_refused = env->uploads->held_refused;
	r.commit_size_refused = env->commit_size_refused;
	r.writable = (uint32_t)store_probe(env->store);
	serve_reply(env, MSG_STATS_REPLY, h->id, &r, sizeof(r), -1);
}

/* proto.h: id 0, and no reply. */
static void
serve_log_reopen(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	if (log_adopt_fd(fd) == -1)
		log_warn("cannot adopt the new log descriptor");
	close(fd);
}

#define FIXED(s)	sizeof(s), sizeof(s)

const struct rpc_rule serve_rules[] = {
	{ MSG_UPLOAD_CREATE, FIXED(struct msg_upload_create), RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_upload_create },
	{ MSG_UPLOAD_APPEND, FIXED(struct msg_upload_append),
	    RPC_FD_REQUIRED, RPC_ID_REQUEST, NULL, serve_upload_append },
	{ MSG_UPLOAD_STAT, FIXED(struct msg_upload_ref), RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_upload_stat },
	{ MSG_UPLOAD_CANCEL, FIXED(struct msg_upload_ref), RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_upload_cancel },
	{ MSG_UPLOAD_COMMIT, sizeof(struct msg_upload_commit),
	    sizeof(struct msg_upload_commit) + BLOB_WRITE_MAX + LINK_ENTRY_MAX,
	    RPC_FD_NONE, RPC_ID_REQUEST, serve_check_upload_commit,
	    serve_upload_commit },
	{ MSG_BLOB_WRITE, sizeof(struct msg_blob_write),
	    sizeof(struct msg_blob_write) + BLOB_WRITE_MAX + LINK_ENTRY_MAX,
	    RPC_FD_NONE, RPC_ID_REQUEST, serve_check_blob_write,
	    serve_blob_write },
	{ MSG_BLOB_OPEN, FIXED(struct msg_blob_ref), RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_blob_open },
	{ MSG_META_APPEND, 1, FRAME_MAX_PAYLOAD, RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_meta_append },
	{ MSG_META_RELEASE, 1, FRAME_MAX_PAYLOAD, RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_meta_release },
	{ MSG_META_LOAD, 0, 0, RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_meta_load },
	{ MSG_META_COMPACT, FIXED(struct msg_meta_compact), RPC_FD_REQUIRED,
	    RPC_ID_REQUEST, NULL, serve_meta_compact },
	{ MSG_GC_LIST, 0, 0, RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_gc_list },
	{ MSG_GC_SWEEP, FIXED(struct msg_gc_sweep), RPC_FD_REQUIRED,
	    RPC_ID_REQUEST, NULL, serve_gc_sweep },
	{ MSG_STATS, 0, 0, RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_stats },
	{ MSG_LOG_REOPEN, 0, 0, RPC_FD_REQUIRED,
	    RPC_ID_ZERO, NULL, serve_log_reopen },
	{ MSG_UPLOAD_OPEN, FIXED(struct msg_upload_ref), RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_upload_open },
};
const size_t serve_nrules = nitems(serve_rules);

/* A malformed frame or a closed socket: berthd restarts us if it lives. */
static void
serve_close_cb(struct rpc_chan *chan, int err, void *arg)
{
	/* Never outlive berthd. */
	if (err == 0) {
		log_info("berthd closed the channel; exiting");
		blobd_exiting();
		exit(0);
	}
	log_warnx("channel to berthd failed: %s; exiting", berr_message(err));
	blobd_exiting();
	exit(1);
}

void
serve_start(struct blobd *env, int sock)
{
	struct msg_hello hello;

	env->chan = rpc_new(env->base, sock, serve_rules, serve_nrules, NULL,
	    serve_close_cb, env);
	if ((env->ev_punch = evtimer_new(env->base, serve_punch_cb, env)) ==
	    NULL)
		fatalx("evtimer_new");
	hello.version = PROTOCOL_VERSION;
	hello.pid = (uint32_t)getpid();
	if (rpc_send(env->chan, MSG_HELLO, 0, &hello, sizeof(hello), -1) != 0)
		exit(1);
}
