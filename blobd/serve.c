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

/* An asynchronous reply: an append from a pipe or a commit that hashes. */
struct serve_req {
	struct blobd	*env;
	uint32_t	 id;
	struct digest	 digest;
	uint64_t	 size;
};

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
serve_committed(struct blobd *env, uint32_t id, const struct digest *d,
    uint64_t size, int created)
{
	struct msg_blob_committed m;

	memset(&m, 0, sizeof(m));
	digest_format(d, m.digest);
	m.size = size;
	m.created = created ? 1 : 0;
	serve_reply(env, MSG_BLOB_COMMITTED, id, &m, sizeof(m), -1);
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
	req = xcalloc(1, sizeof(*req));
	req->env = env;
	req->id = h->id;
	if ((rc = upload_append_pipe(u, m.offset, fd, serve_append_done_cb,
	    req)) != 0) {
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
serve_commit(struct blobd *env, uint32_t id, struct upload *u,
    const struct digest *d, uint64_t size)
{
	uint64_t	 now = u->size;
	int		 rc, created;

	if ((rc = upload_commit(u, d, size, &created)) != 0) {
		/* The session may be gone: report the size it had. */
		serve_error(env, id, rc, now);
		return;
	}
	serve_committed(env, id, d, now, created);
}

static void
serve_commit_hashed_cb(struct upload *u, int err, void *arg)
{
	struct serve_req	*req = arg;

	if (err != 0)
		serve_error(req->env, req->id, err, u->size);
	else
		serve_commit(req->env, req->id, u, &req->digest, req->size);
	free(req);
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
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	if ((u = serve_upload(env, h->id, m.id, m.owner)) == NULL)
		return;
	if ((rc = serve_digest(m.digest, sizeof(m.digest), &d)) != 0) {
		serve_error(env, h->id, rc, u->size);
		return;
	}
	if (u->state != UPLOAD_IDLE) {
		serve_error(env, h->id, BERR_UPLOAD_BUSY, u->size);
		return;
	}
	if (m.size != UINT64_MAX && m.size != u->size) {
		serve_error(env, h->id, BERR_SIZE_INVALID, u->size);
		return;
	}
	/* Re-reading a large upload takes many loop iterations. */
	if (upload_hash_pending(u, d.algo) > UPLOAD_HASH_STEP) {
		req = xcalloc(1, sizeof(*req));
		req->env = env;
		req->id = h->id;
		req->digest = d;
		req->size = m.size;
		if ((rc = upload_hash_start(u, d.algo, serve_commit_hashed_cb,
		    req)) != 0) {
			free(req);
			serve_error(env, h->id, rc, u->size);
		}
		return;
	}
	serve_commit(env, h->id, u, &d, m.size);
}

/* proto.h: the data that follows is exactly size bytes. */
static int
serve_check_blob_write(const struct frame_hdr *h, const uint8_t *payload)
{
	struct msg_blob_write	 m;

	memcpy(&m, payload, sizeof(m));
	return m.size == h->len - sizeof(m) ? 0 : -1;
}

static void
serve_blob_write(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_blob_write	 m;
	struct digest		 d;
	int			 rc, created;

	memcpy(&m, payload, sizeof(m));
	if ((rc = serve_digest(m.digest, sizeof(m.digest), &d)) != 0) {
		serve_error(env, h->id, rc, 0);
		return;
	}
	if ((rc = store_write(env->store, &d, payload + sizeof(m),
	    (size_t)m.size, &created)) != 0) {
		serve_error(env, h->id, rc, 0);
		return;
	}
	serve_committed(env, h->id, &d, m.size, created);
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
		rc = store_open_blob(env->store, &d, &bfd, &r.size);
	serve_answer(env, h->id, rc, MSG_BLOB_OPENED, &r, sizeof(r), bfd);
}

/* Syncs the metadata log once for every append since the last sync and
 * answers them all. */
static void
serve_meta_flush(struct blobd *env)
{
	struct msg_meta_appended r;
	size_t			 i;
	int			 rc;

	if (env->nmeta_waits == 0)
		return;
	rc = metalog_sync(env->metalog);
	for (i = 0; i < env->nmeta_waits; i++) {
		if (rc != 0)
			serve_error(env, env->meta_waits[i].id, rc, 0);
		else {
			r.seq = env->meta_waits[i].seq;
			serve_reply(env, MSG_META_APPENDED,
			    env->meta_waits[i].id, &r, sizeof(r), -1);
		}
	}
	env->nmeta_waits = 0;
}

static void
serve_meta_sync_cb(evutil_socket_t fd, short events, void *arg)
{
	serve_meta_flush(arg);
}

static void
serve_meta_append(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd	*env = arg;
	uint64_t	 seq;
	int		 rc;

	if ((rc = metalog_append(env->metalog, payload, h->len, &seq)) != 0) {
		serve_error(env, h->id, rc, 0);
		return;
	}
	if (env->nmeta_waits == env->meta_waits_cap) {
		env->meta_waits_cap = env->meta_waits_cap == 0 ? 64 :
		    env->meta_waits_cap * 2;
		env->meta_waits = xreallocarray(env->meta_waits,
		    env->meta_waits_cap, sizeof(*env->meta_waits));
	}
	env->meta_waits[env->nmeta_waits].id = h->id;
	env->meta_waits[env->nmeta_waits].seq = seq;
	env->nmeta_waits++;
	/*
	 * Group commit: the sync runs once the frames already read have been
	 * dispatched, so that they share one fdatasync.
	 */
	if (env->nmeta_waits == 1)
		event_active(env->ev_meta_sync, EV_TIMEOUT, 0);
}

static void
serve_meta_load(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_meta_state	 r;
	int			 rc, sfd = -1;

	serve_meta_flush(env);
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
	serve_meta_flush(env);
	rc = metalog_compact(env->metalog, fd, m.len, m.entries);
	close(fd);
	serve_answer(env, h->id, rc, MSG_OK, NULL, 0, -1);
}

static void
serve_gc_list(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_gc_listing	 r;
	int			 rc, lfd = -1;

	rc = gc_list(env->store, &lfd, &r.count);
	serve_answer(env, h->id, rc, MSG_GC_LISTING, &r, sizeof(r), lfd);
}

static void
serve_gc_sweep(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_gc_sweep	 m;
	struct msg_gc_swept	 r;
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	rc = gc_sweep(env->store, fd, m.count, m.not_after_ms, m.dry_run != 0,
	    &r.blobs, &r.bytes);
	close(fd);
	serve_answer(env, h->id, rc, MSG_GC_SWEPT, &r, sizeof(r), -1);
}

static void
serve_stats(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd		*env = arg;
	struct msg_stats_reply	 r;

	memset(&r, 0, sizeof(r));
	r.blobs = env->store->blobs;
	r.bytes = env->store->bytes;
	r.uploads = env->uploads->count;
	r.meta_log_bytes = metalog_log_bytes(env->metalog);
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
	{ MSG_UPLOAD_COMMIT, FIXED(struct msg_upload_commit), RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_upload_commit },
	{ MSG_BLOB_WRITE, sizeof(struct msg_blob_write),
	    sizeof(struct msg_blob_write) + BLOB_WRITE_MAX, RPC_FD_NONE,
	    RPC_ID_REQUEST, serve_check_blob_write, serve_blob_write },
	{ MSG_BLOB_OPEN, FIXED(struct msg_blob_ref), RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_blob_open },
	{ MSG_META_APPEND, 1, FRAME_MAX_PAYLOAD, RPC_FD_NONE,
	    RPC_ID_REQUEST, NULL, serve_meta_append },
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
};
const size_t serve_nrules = nitems(serve_rules);

/* A malformed frame or a closed socket: berthd restarts us if it lives. */
static void
serve_close_cb(struct rpc_chan *chan, int err, void *arg)
{
	/* Never outlive berthd. */
	if (err == 0) {
		log_info("berthd closed the channel; exiting");
		exit(0);
	}
	log_warnx("channel to berthd failed: %s; exiting", berr_message(err));
	exit(1);
}

void
serve_start(struct blobd *env, int sock)
{
	struct msg_hello hello;

	env->chan = rpc_new(env->base, sock, serve_rules, serve_nrules, NULL,
	    serve_close_cb, env);
	if ((env->ev_meta_sync = event_new(env->base, -1, 0,
	    serve_meta_sync_cb, env)) == NULL)
		fatalx("event_new");
	hello.version = PROTOCOL_VERSION;
	hello.pid = (uint32_t)getpid();
	if (rpc_send(env->chan, MSG_HELLO, 0, &hello, sizeof(hello), -1) != 0)
		exit(1);
}
