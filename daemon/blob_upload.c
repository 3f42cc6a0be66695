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
 * The one upload flow, behind the OCI upload routes and ECR's layer
 * operations alike: a session of blobd's; bytes appended through a pipe
 * whose other end blobd reads, hashes and writes, fed from a request's
 * body or from memory as the pipe drains (never blocking the loop, never
 * buffering a body but a small last one, which goes inside the commit);
 * the commit, where blobd verifies the digest; and the link that makes
 * the blob visible in the repository, durably, riding with the commit
 * when it can (txn_link_ride).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "name.h"
#include "util.h"

/* Bigger pipes mean fewer wake-ups on both sides. */
#define BLOB_UPLOAD_PIPE_SIZE	(1024 * 1024)
#define BLOB_UPLOAD_GUESSES	64	/* sizes remembered (a power of 2) */
/* Bytes at most in pipes not yet with blobd (blob_upload_append_body). */
#define BLOB_UPLOAD_UNREAD_MAX	(16 * 1024 * 1024)

/*
 * The size blobd gave in its answer to a session's last append, for a few
 * sessions: the commit that follows, most often an empty PUT that does not
 * say its size, takes it as the size of the link record that rides with
 * the blob, instead of asking blobd first (a round trip per push).  A
 * guess that another request made wrong meanwhile is refused by blobd, and
 * the commit goes on as without one (blob_upload_committed_cb).
 */
static struct {
	uint8_t		 id[UPLOAD_ID_LEN];
	uint64_t	 size;
	int		 used;
} size_guess[BLOB_UPLOAD_GUESSES];
static uint64_t	size_guess_missed;
/* Bodies going into pipes that blobd does not read yet: the kernel holds
 * them, for as long as their clients take to send them. */
static uint64_t	unread_bytes;

static size_t
size_guess_slot(const uint8_t id[UPLOAD_ID_LEN])
{
	/* Session ids are random. */
	return (id[0] | (size_t)id[1] << 8) % BLOB_UPLOAD_GUESSES;
}

static void
size_guess_put(const uint8_t id[UPLOAD_ID_LEN], uint64_t size)
{
	size_t	 i = size_guess_slot(id);

	memcpy(size_guess[i].id, id, UPLOAD_ID_LEN);
	size_guess[i].size = size;
	size_guess[i].used = 1;
}

/* The guess for id, taken out; UINT64_MAX when there is none. */
static uint64_t
size_guess_take(const uint8_t id[UPLOAD_ID_LEN])
{
	size_t	 i = size_guess_slot(id);

	if (!size_guess[i].used ||
	    memcmp(size_guess[i].id, id, UPLOAD_ID_LEN) != 0)
		return UINT64_MAX;
	size_guess[i].used = 0;
	return size_guess[i].size;
}

void
blob_upload_init(struct blob_upload *u, const char *account, const char *region,
    const char *repository)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->account, sizeof(u->account), "%s", account);
	snprintf(u->region, sizeof(u->region), "%s", region);
	snprintf(u->repository, sizeof(u->repository), "%s", repository);
	/* Names and ids are bounded well below OWNER_MAX. */
	if (name_owner_format(u->owner, sizeof(u->owner), account, region,
	    repository) == -1)
		fatalx("upload owner too long: %s/%s/%s", account, region,
		    repository);
	u->wfd = -1;
	u->rfd = -1;
	txn_init(&u->link);
}

int
blob_upload_set_id(struct blob_upload *u, const char *id)
{
	if (uuid_parse(id, u->id) == -1)
		return BERR_UPLOAD_UNKNOWN;
	uuid_format(u->id, u->id_str);
	return 0;
}

static void
blob_upload_start(struct blob_upload *u, blob_upload_cb cb, void *arg)
{
	u->cb = cb;
	u->arg = arg;
}

static void
blob_upload_done(struct blob_upload *u, int err, uint64_t size)
{
	u->cb(err, size, u->arg);
}

/* --- sessions ------------------------------------------------------------ */

static void
blob_upload_created_cb(int err, const uint8_t id[UPLOAD_ID_LEN], void *arg)
{
	struct blob_upload	*u = arg;

	if (err == 0) {
		memcpy(u->id, id, UPLOAD_ID_LEN);
		uuid_format(u->id, u->id_str);
	}
	blob_upload_done(u, err, 0);
}

void
blob_upload_create(struct blob_upload *u, enum digest_algo algo,
    blob_upload_cb cb, void *arg)
{
	blob_upload_start(u, cb, arg);
	blobc_upload_create(u->owner, algo, blob_upload_created_cb, u);
}

static void
blob_upload_size_cb(int err, uint64_t size, void *arg)
{
	blob_upload_done(arg, err, size);
}

void
blob_upload_stat(struct blob_upload *u, blob_upload_cb cb, void *arg)
{
	blob_upload_start(u, cb, arg);
	blobc_upload_stat(u->owner, u->id, blob_upload_size_cb, u);
}

static void
blob_upload_cancelled_cb(int err, void *arg)
{
	blob_upload_done(arg, err, 0);
}

void
blob_upload_cancel(struct blob_upload *u, blob_upload_cb cb, void *arg)
{
	blob_upload_start(u, cb, arg);
	blobc_upload_cancel(u->owner, u->id, blob_upload_cancelled_cb, u);
}

/* --- appending ----------------------------------------------------------- */

/* The bytes source's writer stops (blobd refused, or all was written). */
static void
blob_upload_stop_writing(struct blob_upload *u)
{
	if (u->ev != NULL) {
		event_free(u->ev);
		u->ev = NULL;
	}
	if (u->wfd != -1) {
		close(u->wfd);
		u->wfd = -1;
	}
	if (!u->data_lent)
		free(u->data);
	u->data = NULL;
	u->data_lent = 0;
	u->source_pending = 0;
}

/* Both the source and blobd's reply are done. */
static void
blob_upload_appended(struct blob_upload *u)
{
	int	 err = u->reply_err;

	if (u->source_pending || u->reply_pending)
		return;
	if (err == 0 && u->source_err != 0) {
		/* blobd kept what arrived; the client may resume from it.  A
		 * malformed body leaves the connection unusable. */
		if (u->source_err == BERR_BAD_REQUEST && u->req != NULL)
			http_response_close(u->req);
		err = u->source_err == BERR_TOO_LARGE ? BERR_TOO_LARGE :
		    BERR_UPLOAD_INVALID;
	}
	if (err == 0 && u->req != NULL && u->length != UINT64_MAX &&
	    http_request_body_received(u->req) != u->length)
		err = BERR_RANGE_INVALID;
	u->req = NULL;
	blob_upload_done(u, err, u->size);
}

static void
blob_upload_append_reply_cb(int err, uint64_t size, void *arg)
{
	struct blob_upload	*u = arg;

	u->reply_pending = 0;
	u->reply_err = err;
	u->size = size;
	if (err == 0)
		size_guess_put(u->id, size);
	/* blobd closed its end: what is left to write goes nowhere (a
	 * body's reader and another process's writer find out alone). */
	if (err != 0 && u->ev != NULL)
		blob_upload_stop_writing(u);
	blob_upload_appended(u);
}

/* Sends the pipe's read end to blobd, which reads it until EOF. */
static void
blob_upload_hand_over(struct blob_upload *u)
{
	int	 rfd = u->rfd;

	if (rfd == -1)
		return;
	u->rfd = -1;
	unread_bytes -= u->length != UINT64_MAX ? u->length : 0;
	blobc_upload_append(u->owner, u->id, u->offset, u->length, rfd,
	    blob_upload_append_reply_cb, u);
}

/* Makes the pipe, kept in u->rfd until blob_upload_hand_over(); the write
 * end is returned.  -1 when there is no pipe. */
static int
blob_upload_pipe_held(struct blob_upload *u, uint64_t offset,
    uint64_t length, int flags)
{
	int	 p[2];

	if (pipe2(p, O_CLOEXEC | flags) == -1) {
		log_warn("pipe");
		return -1;
	}
	(void)fcntl(p[1], F_SETPIPE_SZ, BLOB_UPLOAD_PIPE_SIZE);
	u->rfd = p[0];
	u->offset = offset;
	u->length = length;
	unread_bytes += length != UINT64_MAX ? length : 0;
	u->source_pending = 1;
	u->reply_pending = 1;
	u->source_err = 0;
	u->reply_err = 0;
	return p[1];
}

/* Makes the pipe and sends its read end to blobd; the write end is
 * returned.  -1 when there is no pipe (nothing was sent). */
static int
blob_upload_pipe(struct blob_upload *u, uint64_t offset, uint64_t length,
    int flags)
{
	int	 wfd;

	if ((wfd = blob_upload_pipe_held(u, offset, length, flags)) != -1)
		blob_upload_hand_over(u);
	return wfd;
}

static void
blob_upload_body_cb(struct http_request *req, int err, void *arg)
{
	struct blob_upload	*u = arg;

	u->source_pending = 0;
	u->source_err = err;
	blob_upload_appended(u);
}

/* The body is in the pipe (or failed): blobd may read it now. */
static void
blob_upload_whole_body_cb(struct http_request *req, int err, void *arg)
{
	struct blob_upload	*u = arg;

	blob_upload_hand_over(u);
	blob_upload_body_cb(req, err, arg);
}

static void
blob_upload_pipe_full_cb(void *arg)
{
	blob_upload_hand_over(arg);
}

int
blob_upload_append_body(struct blob_upload *u, struct http_request *req,
    uint64_t offset, uint64_t length, blob_upload_cb cb, void *arg)
{
	uint64_t room;
	int	 wfd, whole;

	/* Without an offset, this request alone may not exceed it. */
	room = offset == UINT64_MAX ? LAYER_MAX : offset >= LAYER_MAX ? 0 :
	    LAYER_MAX - offset;
	if (length != UINT64_MAX && length > room)
		return BERR_TOO_LARGE;
	blob_upload_start(u, cb, arg);
	/*
	 * A body the pipe can hold is spliced into it whole before blobd
	 * is told of it: blobd is woken once and reads it in one go, and
	 * berthd neither copies it nor wakes blobd per piece.  If the pipe
	 * fills first (its pages hold less than a page each), blobd is told
	 * then and reads as the rest comes.  Past BLOB_UPLOAD_UNREAD_MAX in
	 * such pipes (many slow clients at once), blobd reads at once.
	 */
	whole = length != UINT64_MAX && length <= BLOB_UPLOAD_PIPE_SIZE &&
	    unread_bytes + length <= BLOB_UPLOAD_UNREAD_MAX;
	if ((wfd = whole ? blob_upload_pipe_held(u, offset, length, 0) :
	    blob_upload_pipe(u, offset, length, 0)) == -1)
		return BERR_IO;
	u->req = req;
	if (whole)
		http_request_on_fd_full(req, blob_upload_pipe_full_cb, u);
	http_request_body_to_fd(req, wfd, (size_t)room, whole ?
	    blob_upload_whole_body_cb : blob_upload_body_cb, u);
	return 0;
}

static void
blob_upload_write_cb(evutil_socket_t fd, short events, void *arg)
{
	struct blob_upload	*u = arg;
	ssize_t		 n;

	while (u->off < u->len) {
		n = write(u->wfd, u->data + u->off, u->len - u->off);
		if (n > 0) {
			u->off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;		/* the event calls again */
		/* blobd closed its end: it refused the bytes, and says
		 * why in its reply. */
		break;
	}
	blob_upload_stop_writing(u);
	blob_upload_appended(u);
}

/* Writes u->data through a pipe, in the event loop. */
static int
blob_upload_write_data(struct blob_upload *u, uint64_t offset)
{
	if ((u->wfd = blob_upload_pipe(u, offset, u->len, O_NONBLOCK)) == -1) {
		if (!u->data_lent)
			free(u->data);
		u->data = NULL;
		u->data_lent = 0;
		return BERR_IO;
	}
	if ((u->ev = event_new(ev_base, u->wfd, EV_WRITE | EV_PERSIST,
	    blob_upload_write_cb, u)) == NULL)
		fatalx("event_new");
	event_add(u->ev, NULL);
	return 0;
}

int
blob_upload_append_bytes(struct blob_upload *u, uint8_t *data, size_t len,
    uint64_t offset, blob_upload_cb cb, void *arg)
{
	blob_upload_start(u, cb, arg);
	u->data = data;
	u->data_lent = 0;
	u->len = len;
	u->off = 0;
	return blob_upload_write_data(u, offset);
}

int
blob_upload_append_lent(struct blob_upload *u, const void *data, size_t len,
    uint64_t offset, blob_upload_cb cb, void *arg)
{
	blob_upload_start(u, cb, arg);
	u->data = (uint8_t *)(uintptr_t)data;
	u->data_lent = 1;
	u->len = len;
	u->off = 0;
	return blob_upload_write_data(u, offset);
}

int
blob_upload_append_pipe(struct blob_upload *u, uint64_t offset, int *wfd,
    blob_upload_cb cb, void *arg)
{
	blob_upload_start(u, cb, arg);
	if ((*wfd = blob_upload_pipe(u, offset, UINT64_MAX, 0)) == -1)
		return BERR_IO;
	return 0;
}

void
blob_upload_source_end(struct blob_upload *u, int err)
{
	if (!u->source_pending)
		return;
	u->source_pending = 0;
	u->source_err = err;
	blob_upload_appended(u);
}

/* --- committing and linking ---------------------------------------------- */

static void
blob_upload_linked_cb(int err, void *arg)
{
	struct blob_upload	*u = arg;

	blob_upload_done(u, err, u->size);
}

void
blob_upload_link(struct blob_upload *u, const struct digest *d, uint64_t size,
    int flags, blob_upload_cb cb, void *arg)
{
	struct repository *repo;
	struct txn	 t;

	blob_upload_start(u, cb, arg);
	u->digest = *d;
	u->size = size;
	/* Looked up again: the model may have changed during a wait. */
	repo = repository_lookup(u->account, u->region, u->repository);
	if (repo == NULL) {
		blob_upload_done(u, BERR_NAME_UNKNOWN, size);
		return;
	}
	if ((flags & BLOB_UPLOAD_LINK_NEW) && link_find(repo, d) != NULL) {
		blob_upload_done(u, BERR_EXISTS, size);
		return;
	}
	txn_init(&t);
	(void)txn_link_put(&t, repo, d, size);
	txn_commit(&t, blob_upload_linked_cb, u);
}

static void
blob_upload_discarded_cb(int err, void *arg)
{
	struct blob_upload	*u = arg;

	if (err != 0 && err != BERR_UPLOAD_UNKNOWN)
		log_warnx("upload %s: not discarded after a digest mismatch: "
		    "%s", u->id_str, berr_message(err));
	blob_upload_done(u, BERR_DIGEST_INVALID, 0);
}

static void	blob_upload_committed_cb(int, uint64_t, void *);

/*
 * Stores u->blob: a session's commit, or a write.  When its size is known
 * the link record rides with it, so that one sync makes both durable;
 * else the blob is linked once it is stored.
 */
static void
blob_upload_store(struct blob_upload *u)
{
	struct repository *repo;
	struct blobc_blob *b = &u->blob;

	b->digest = u->digest;
	b->entry = NULL;
	b->entry_len = 0;
	repo = repository_lookup(u->account, u->region, u->repository);
	if (b->size != UINT64_MAX && repo != NULL &&
	    (!(u->flags & BLOB_UPLOAD_LINK_NEW) ||
	    link_find(repo, &u->digest) == NULL) &&
	    txn_link_ride(&u->link, repo, &u->digest, b->size) == 0) {
		b->entry = u->link.buf.data;
		b->entry_len = u->link.buf.len;
	} else {
		/* No guess to check without a record that needs it. */
		b->offset = UINT64_MAX;
		b->size = UINT64_MAX;
	}
	if (u->id_str[0] != '\0')
		blobc_upload_commit(u->owner, u->id, b,
		    blob_upload_committed_cb, u);
	else
		blobc_blob_write(b, blob_upload_committed_cb, u);
}

static void
blob_upload_committed_cb(int err, uint64_t size, void *arg)
{
	struct blob_upload	*u = arg;
	int			 rode = u->blob.entry_len > 0;

	if (rode) {
		err = txn_link_landed(&u->link, err);
		/* The session was not what it seemed (another request
		 * changed it): as it is, then, and linked after. */
		if ((err == BERR_SIZE_INVALID || err == BERR_RANGE_INVALID) &&
		    u->id_str[0] != '\0') {
			u->blob.size = UINT64_MAX;
			blob_upload_store(u);
			return;
		}
	}
	/*
	 * Bytes that do not match their digest cannot become that blob, and
	 * no resumption can fix them: with BLOB_UPLOAD_DISCARD the session
	 * goes, as distribution's does, and its disk with it, rather than
	 * waiting for --upload-ttl.
	 */
	if (err == BERR_DIGEST_INVALID && (u->flags & BLOB_UPLOAD_DISCARD) &&
	    u->id_str[0] != '\0') {
		blobc_upload_cancel(u->owner, u->id, blob_upload_discarded_cb,
		    u);
		return;
	}
	if (err != 0 || rode) {
		blob_upload_done(u, err, size);
		return;
	}
	blob_upload_link(u, &u->digest, size, u->flags, u->cb, u->arg);
}

static void
blob_upload_sized_cb(int err, uint64_t size, void *arg)
{
	struct blob_upload	*u = arg;

	if (err != 0) {
		blob_upload_done(u, err, size);
		return;
	}
	u->blob.size = size;
	blob_upload_store(u);
}

/* The operation stores the blob d names, of size bytes (UINT64_MAX: not
 * known yet). */
static void
blob_upload_start_blob(struct blob_upload *u, const struct digest *d,
    uint64_t size, int flags, blob_upload_cb cb, void *arg)
{
	blob_upload_start(u, cb, arg);
	u->digest = *d;
	u->flags = flags;
	memset(&u->blob, 0, sizeof(u->blob));
	u->blob.offset = UINT64_MAX;
	u->blob.size = size;
}

void
blob_upload_commit(struct blob_upload *u, const struct digest *d,
    uint64_t size, int flags, blob_upload_cb cb, void *arg)
{
	if (size == UINT64_MAX)
		size = size_guess_take(u->id);
	blob_upload_start_blob(u, d, size, flags, cb, arg);
	/* Its size first, for the link record (no sync, unlike a link). */
	if (size == UINT64_MAX) {
		size_guess_missed++;
		blobc_upload_stat(u->owner, u->id, blob_upload_sized_cb, u);
	} else
		blob_upload_store(u);
}

uint64_t
blob_upload_size_lookups(void)
{
	return size_guess_missed;
}

void
blob_upload_finish(struct blob_upload *u, const struct digest *d,
    const void *data, size_t len, int flags, blob_upload_cb cb, void *arg)
{
	/* Most often the whole blob: if not, blobd says so and it goes as
	 * the session's last bytes. */
	blob_upload_start_blob(u, d, len, flags, cb, arg);
	u->blob.data = data;
	u->blob.len = len;
	u->blob.offset = 0;
	blob_upload_store(u);
}
