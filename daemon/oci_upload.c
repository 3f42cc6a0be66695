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
 * Blob uploads: sessions, chunks streamed to blobd through a pipe, and the
 * final commit, in every style clients use (POST then PATCH+PUT; POST then
 * one PUT with the body; monolithic POST ?digest=; streamed chunked PATCH
 * with no Content-Range; Content-Range chunks; cross-repository mounts).
 *
 * berthd never buffers an upload: the body goes from the client's socket
 * into a pipe whose other end blobd reads, hashes and writes; blobd checks
 * the offset and verifies the digest itself.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berthd.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "util.h"

enum upload_step {
	STEP_PATCH,		/* append, then 202 */
	STEP_FINISH,		/* append (maybe nothing), commit, 201 */
	STEP_MONOLITHIC		/* create, append, commit, 201 */
};

struct upload_op {
	struct http_request *req;
	enum upload_step step;
	struct oci_ident id;
	char		 name[NAME_MAX_LEN + 1];
	char		 owner[OWNER_MAX];
	uint8_t		 uuid[UPLOAD_ID_LEN];
	char		 uuid_str[37];
	struct digest	 digest;
	int		 have_digest;
	uint64_t	 offset;	/* UINT64_MAX: at the end */
	uint64_t	 length;	/* UINT64_MAX: unknown */
	int		 body_pending;
	int		 reply_pending;
	int		 body_err;
	int		 reply_err;
	uint64_t	 size;		/* after the append */
};

static void	upload_commit(struct upload_op *);

static void
upload_owner(const struct oci_ident *id, const char *name, char *out)
{
	snprintf(out, OWNER_MAX, "%s/%s/%s", id->account, id->region, name);
}

static void
uuid_format(const uint8_t id[UPLOAD_ID_LEN], char out[37])
{
	char	 hex[2 * UPLOAD_ID_LEN + 1];

	hex_encode(id, UPLOAD_ID_LEN, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
	    hex + 12, hex + 16, hex + 20);
}

int
upload_id_parse(const char *s, uint8_t id[UPLOAD_ID_LEN])
{
	char	 hex[2 * UPLOAD_ID_LEN];
	size_t	 i, o = 0;

	if (strlen(s) != 36)
		return -1;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		hex[o++] = s[i];
	}
	return hex_decode(hex, sizeof(hex), id);
}

static struct upload_op *
upload_op_new(struct http_request *req, const struct oci_ident *id,
    const char *name, enum upload_step step)
{
	struct upload_op *op;

	op = xcalloc(1, sizeof(*op));
	op->req = req;
	op->step = step;
	op->id = *id;
	strcpy(op->name, name);
	upload_owner(id, name, op->owner);
	op->offset = UINT64_MAX;
	op->length = UINT64_MAX;
	return op;
}

static int
upload_repo_exists(const struct upload_op *op)
{
	return repository_find(registry_find(op->id.account, op->id.region),
	    op->name) != NULL;
}

/* Range: 0-<last byte>, and "0-0" for an empty session, as clients expect. */
static void
upload_range_header(struct http_request *req, uint64_t size)
{
	http_response_headerf(req, "Range", "0-%llu",
	    (unsigned long long)(size > 0 ? size - 1 : 0));
}

static void
upload_session_headers(struct upload_op *op, uint64_t size)
{
	oci_location(op->req, "/v2/%s/blobs/uploads/%s", op->name,
	    op->uuid_str);
	upload_range_header(op->req, size);
	http_response_header(op->req, "Docker-Upload-UUID", op->uuid_str);
}

static void
upload_fail(struct upload_op *op, int err, uint64_t size)
{
	if (err == BERR_RANGE_INVALID && op->uuid_str[0] != '\0')
		upload_session_headers(op, size);
	switch (err) {
	case BERR_DIGEST_INVALID:
		oci_error(op->req, err, "the content does not match the digest");
		break;
	case BERR_SIZE_INVALID:
		oci_error(op->req, err, "the content is not of the given size");
		break;
	case BERR_RANGE_INVALID:
		oci_error(op->req, err, "the upload holds %llu bytes",
		    (unsigned long long)size);
		break;
	case BERR_UPLOAD_UNKNOWN:
		oci_error(op->req, err, "upload %s not found", op->uuid_str);
		break;
	default:
		oci_error(op->req, err, NULL);
		break;
	}
	free(op);
}

/* --- the commit: blobd verifies, then the blob is linked in the repo --- */

static void
upload_linked_cb(int err, void *arg)
{
	struct upload_op *op = arg;
	char		 ds[DIGEST_STR_MAX];

	if (err != 0) {
		upload_fail(op, err, 0);
		return;
	}
	digest_format(&op->digest, ds);
	oci_location(op->req, "/v2/%s/blobs/%s", op->name, ds);
	http_response_header(op->req, "Docker-Content-Digest", ds);
	http_respond(op->req, 201, NULL, NULL, 0);
	free(op);
}

static void
upload_link(struct upload_op *op, uint64_t size)
{
	struct repository *repo;
	struct txn	 t;
	int		 rc;

	repo = repository_find(registry_find(op->id.account, op->id.region),
	    op->name);
	if (repo == NULL) {
		upload_fail(op, BERR_NAME_UNKNOWN, 0);
		return;
	}
	txn_init(&t);
	if ((rc = txn_link_put(&t, repo, &op->digest, size)) != 0) {
		txn_clear(&t);
		upload_fail(op, rc, 0);
		return;
	}
	txn_commit(&t, upload_linked_cb, op);
}

static void
upload_discarded_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	struct upload_op *op = arg;

	if (err != 0 && err != BERR_UPLOAD_UNKNOWN)
		log_warnx("upload %s: not discarded after a digest mismatch: "
		    "%s", op->uuid_str, berr_message(err));
	upload_fail(op, BERR_DIGEST_INVALID, 0);
}

/*
 * Bytes that do not match their digest cannot become that blob, and no
 * resumption can fix them: the session goes, as distribution's does, and
 * its disk with it, rather than waiting for --upload-ttl.
 */
static void
upload_discard(struct upload_op *op)
{
	struct msg_upload_ref msg;

	memset(&msg, 0, sizeof(msg));
	memcpy(msg.id, op->uuid, UPLOAD_ID_LEN);
	strcpy(msg.owner, op->owner);
	blobc_call(MSG_UPLOAD_CANCEL, &msg, sizeof(msg), NULL, 0, -1, MSG_OK,
	    upload_discarded_cb, op);
}

static void
upload_committed_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	struct upload_op *op = arg;
	struct msg_blob_committed msg;
	struct msg_error e;

	if (err == BERR_DIGEST_INVALID && op->uuid_str[0] != '\0') {
		upload_discard(op);
		return;
	}
	if (err != 0) {
		memset(&e, 0, sizeof(e));
		if (payload != NULL)
			memcpy(&e, payload, sizeof(e));
		upload_fail(op, err, e.size);
		return;
	}
	memcpy(&msg, payload, sizeof(msg));
	upload_link(op, msg.size);
}

static void
upload_commit(struct upload_op *op)
{
	struct msg_upload_commit msg;

	memset(&msg, 0, sizeof(msg));
	memcpy(msg.id, op->uuid, UPLOAD_ID_LEN);
	strcpy(msg.owner, op->owner);
	digest_format(&op->digest, msg.digest);
	msg.size = UINT64_MAX;
	blobc_call(MSG_UPLOAD_COMMIT, &msg, sizeof(msg), NULL, 0, -1,
	    MSG_BLOB_COMMITTED, upload_committed_cb, op);
}

/* --- appending: the body streams into a pipe that blobd reads --------- */

static void
upload_append_done(struct upload_op *op)
{
	if (op->body_pending || op->reply_pending)
		return;
	if (op->reply_err != 0) {
		upload_fail(op, op->reply_err, op->size);
		return;
	}
	if (op->body_err != 0) {
		/* blobd kept what arrived; the client may resume from it. */
		if (op->body_err == BERR_BAD_REQUEST)
			http_response_close(op->req);
		if (op->step == STEP_PATCH) {
			upload_session_headers(op, op->size);
			oci_error(op->req, BERR_UPLOAD_INVALID, "the body was "
			    "cut short; the upload holds %llu bytes",
			    (unsigned long long)op->size);
			free(op);
		} else
			upload_fail(op, BERR_UPLOAD_INVALID, op->size);
		return;
	}
	if (op->length != UINT64_MAX &&
	    http_request_body_received(op->req) != op->length) {
		upload_fail(op, BERR_RANGE_INVALID, op->size);
		return;
	}
	if (op->step == STEP_PATCH) {
		upload_session_headers(op, op->size);
		http_respond(op->req, 202, NULL, NULL, 0);
		free(op);
		return;
	}
	upload_commit(op);
}

static void
upload_append_reply_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	struct upload_op *op = arg;
	struct msg_upload_status st;
	struct msg_error e;

	op->reply_pending = 0;
	if (err == 0) {
		memcpy(&st, payload, sizeof(st));
		op->size = st.size;
	} else {
		op->reply_err = err;
		if (payload != NULL) {
			memcpy(&e, payload, sizeof(e));
			op->size = e.size;
		}
	}
	upload_append_done(op);
}

static void
upload_body_cb(struct http_request *req, int err, void *arg)
{
	struct upload_op *op = arg;

	op->body_pending = 0;
	op->body_err = err;
	upload_append_done(op);
}

static void
upload_append(struct upload_op *op)
{
	struct msg_upload_append msg;
	int		 p[2];

	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("pipe");
		upload_fail(op, BERR_IO, 0);
		return;
	}
	/* Bigger pipes mean fewer wake-ups on both sides. */
	(void)fcntl(p[1], F_SETPIPE_SZ, 1024 * 1024);
	memset(&msg, 0, sizeof(msg));
	memcpy(msg.id, op->uuid, UPLOAD_ID_LEN);
	strcpy(msg.owner, op->owner);
	msg.offset = op->offset;
	msg.length = op->length;
	op->body_pending = 1;
	op->reply_pending = 1;
	blobc_call(MSG_UPLOAD_APPEND, &msg, sizeof(msg), NULL, 0, p[0],
	    MSG_UPLOAD_STATUS, upload_append_reply_cb, op);
	http_request_body_to_fd(op->req, p[1], upload_body_cb, op);
}

/* Sets op's offset and length from the request; 0 or a BERR code. */
static int
upload_chunk_params(struct upload_op *op)
{
	const char	*cr = http_request_header(op->req, "Content-Range");
	int64_t		 cl = http_request_content_length(op->req);
	uint64_t	 first, last;

	if (cl >= 0)
		op->length = (uint64_t)cl;
	if (cr == NULL)
		return 0;
	if (content_range_parse(cr, &first, &last) == -1)
		return BERR_RANGE_INVALID;
	if (cl >= 0 && (uint64_t)cl != last - first + 1)
		return BERR_RANGE_INVALID;
	op->offset = first;
	op->length = last - first + 1;
	return 0;
}

static int
upload_lookup(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *uuid, struct upload_op *op)
{
	if (!upload_repo_exists(op)) {
		oci_error(req, BERR_NAME_UNKNOWN, "repository %s not found",
		    name);
		return -1;
	}
	if (upload_id_parse(uuid, op->uuid) == -1) {
		oci_error(req, BERR_UPLOAD_UNKNOWN, "upload %s not found",
		    uuid);
		return -1;
	}
	uuid_format(op->uuid, op->uuid_str);
	return 0;
}

void
oci_upload_patch(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *uuid)
{
	struct upload_op *op;
	int		 rc;

	op = upload_op_new(req, id, name, STEP_PATCH);
	if (upload_lookup(req, id, name, uuid, op) == -1) {
		free(op);
		return;
	}
	if ((rc = upload_chunk_params(op)) != 0) {
		oci_error(req, rc, "bad Content-Range");
		free(op);
		return;
	}
	upload_append(op);
}

void
oci_upload_finish(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *uuid)
{
	struct upload_op *op;
	const char	*ds;
	int		 rc;

	op = upload_op_new(req, id, name, STEP_FINISH);
	if (upload_lookup(req, id, name, uuid, op) == -1) {
		free(op);
		return;
	}
	if ((ds = http_request_param(req, "digest")) == NULL) {
		oci_error(req, BERR_DIGEST_INVALID, "the digest parameter is "
		    "required");
		free(op);
		return;
	}
	if ((rc = digest_parse_str(ds, &op->digest)) != 0) {
		oci_error(req, rc, "invalid digest %s", ds);
		free(op);
		return;
	}
	op->have_digest = 1;
	if (!http_request_has_body(req)) {
		upload_commit(op);
		return;
	}
	if ((rc = upload_chunk_params(op)) != 0) {
		oci_error(req, rc, "bad Content-Range");
		free(op);
		return;
	}
	upload_append(op);
}

static void
upload_status_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	struct upload_op *op = arg;
	struct msg_upload_status st;

	if (err != 0) {
		upload_fail(op, err, 0);
		return;
	}
	memcpy(&st, payload, sizeof(st));
	upload_session_headers(op, st.size);
	http_respond(op->req, 204, NULL, NULL, 0);
	free(op);
}

void
oci_upload_status(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *uuid)
{
	struct upload_op *op;
	struct msg_upload_ref msg;

	op = upload_op_new(req, id, name, STEP_PATCH);
	if (upload_lookup(req, id, name, uuid, op) == -1) {
		free(op);
		return;
	}
	memset(&msg, 0, sizeof(msg));
	memcpy(msg.id, op->uuid, UPLOAD_ID_LEN);
	strcpy(msg.owner, op->owner);
	blobc_call(MSG_UPLOAD_STAT, &msg, sizeof(msg), NULL, 0, -1,
	    MSG_UPLOAD_STATUS, upload_status_cb, op);
}

static void
upload_cancelled_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	struct upload_op *op = arg;

	if (err != 0) {
		upload_fail(op, err, 0);
		return;
	}
	http_respond(op->req, 204, NULL, NULL, 0);
	free(op);
}

void
oci_upload_cancel(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *uuid)
{
	struct upload_op *op;
	struct msg_upload_ref msg;

	op = upload_op_new(req, id, name, STEP_PATCH);
	if (upload_lookup(req, id, name, uuid, op) == -1) {
		free(op);
		return;
	}
	memset(&msg, 0, sizeof(msg));
	memcpy(msg.id, op->uuid, UPLOAD_ID_LEN);
	strcpy(msg.owner, op->owner);
	blobc_call(MSG_UPLOAD_CANCEL, &msg, sizeof(msg), NULL, 0, -1, MSG_OK,
	    upload_cancelled_cb, op);
}

/* --- starting: sessions, monolithic uploads and mounts ------------------- */

static void
upload_created_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	struct upload_op *op = arg;
	struct msg_upload_created msg;

	if (err != 0) {
		upload_fail(op, err, 0);
		return;
	}
	memcpy(&msg, payload, sizeof(msg));
	memcpy(op->uuid, msg.id, UPLOAD_ID_LEN);
	uuid_format(op->uuid, op->uuid_str);
	if (op->step == STEP_MONOLITHIC) {
		op->offset = 0;
		upload_append(op);
		return;
	}
	upload_session_headers(op, 0);
	http_respond(op->req, 202, NULL, NULL, 0);
	free(op);
}

static void
upload_create(struct upload_op *op, enum digest_algo algo)
{
	struct msg_upload_create msg;

	memset(&msg, 0, sizeof(msg));
	strcpy(msg.owner, op->owner);
	msg.algo = algo;
	blobc_call(MSG_UPLOAD_CREATE, &msg, sizeof(msg), NULL, 0, -1,
	    MSG_UPLOAD_CREATED, upload_created_cb, op);
}

static void
upload_written_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	upload_committed_cb(err, payload, len, fd, arg);
}

static void
upload_small_body_cb(struct http_request *req, int err, void *arg)
{
	struct upload_op *op = arg;
	struct msg_blob_write msg;
	const char	*body;
	size_t		 blen;

	if (err != 0) {
		upload_fail(op, err == BERR_TOO_LARGE ? BERR_SIZE_INVALID :
		    BERR_UPLOAD_INVALID, 0);
		return;
	}
	body = http_request_body(req, &blen);
	memset(&msg, 0, sizeof(msg));
	digest_format(&op->digest, msg.digest);
	msg.size = blen;
	blobc_call(MSG_BLOB_WRITE, &msg, sizeof(msg), body, blen, -1,
	    MSG_BLOB_COMMITTED, upload_written_cb, op);
}

static int
upload_mount(struct upload_op *op, const char *mount, const char *from)
{
	struct repository *src, *dst;
	struct link	*l;
	struct txn	 t;
	struct digest	 d;

	if (from == NULL || digest_parse_str(mount, &d) != 0)
		return 0;
	src = repository_find(registry_find(op->id.account, op->id.region),
	    from);
	dst = repository_find(registry_find(op->id.account, op->id.region),
	    op->name);
	if (src == NULL || dst == NULL || (l = link_find(src, &d)) == NULL)
		return 0;
	blob_touch(l->blob);
	op->digest = d;
	op->have_digest = 1;
	txn_init(&t);
	if (txn_link_put(&t, dst, &d, l->blob->size) != 0) {
		txn_clear(&t);
		return 0;
	}
	txn_commit(&t, upload_linked_cb, op);
	return 1;
}

static void
upload_start(struct upload_op *op)
{
	struct http_request *req = op->req;
	const char	*mount, *ds, *algo_name;
	enum digest_algo algo = DIGEST_SHA256;
	int64_t		 cl;
	int		 rc;

	mount = http_request_param(req, "mount");
	if (mount != NULL && upload_mount(op, mount,
	    http_request_param(req, "from")))
		return;
	if ((algo_name = http_request_param(req, "digest-algorithm")) !=
	    NULL && (algo = digest_algo_parse(algo_name,
	    strlen(algo_name))) == 0) {
		oci_error(req, BERR_DIGEST_UNSUPPORTED, "digest-algorithm %s",
		    algo_name);
		free(op);
		return;
	}
	if ((ds = http_request_param(req, "digest")) == NULL || mount != NULL) {
		upload_create(op, algo);
		return;
	}
	if ((rc = digest_parse_str(ds, &op->digest)) != 0) {
		oci_error(req, rc, "invalid digest %s", ds);
		free(op);
		return;
	}
	op->have_digest = 1;
	op->step = STEP_MONOLITHIC;
	cl = http_request_content_length(req);
	if (cl >= 0 && cl <= BLOB_WRITE_MAX) {
		http_request_read_body(req, BLOB_WRITE_MAX,
		    upload_small_body_cb, op);
		return;
	}
	upload_create(op, op->digest.algo);
}

static void
upload_repo_created_cb(int err, void *arg)
{
	struct upload_op *op = arg;

	if (err != 0) {
		upload_fail(op, err, 0);
		return;
	}
	upload_start(op);
}

void
oci_upload_start(struct http_request *req, const struct oci_ident *id,
    const char *name)
{
	struct upload_op *op;
	struct txn	 t;
	int		 rc;

	op = upload_op_new(req, id, name, STEP_PATCH);
	if (upload_repo_exists(op)) {
		upload_start(op);
		return;
	}
	if (!template_create_on_push(id->account, id->region, name)) {
		oci_error(req, BERR_NAME_UNKNOWN, "repository %s does not "
		    "exist; create it first, add a CREATE_ON_PUSH repository "
		    "creation template, or run berthd --create-on-push",
		    name);
		free(op);
		return;
	}
	txn_init(&t);
	if ((rc = template_create(id->account, id->region, name,
	    TEMPLATE_FOR_CREATE_ON_PUSH, &t)) != 0) {
		txn_clear(&t);
		oci_error(req, rc, "cannot create repository %s", name);
		free(op);
		return;
	}
	txn_commit(&t, upload_repo_created_cb, op);
}
