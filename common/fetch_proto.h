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
 * The protocol between berthd and berth-fetchd, the process that talks
 * to upstream registries, over their socketpair.  Frames are those of
 * proto.h (struct frame_hdr, at most one descriptor each) on a channel of
 * their own; only the message set differs.  berthd numbers its requests
 * (id != 0).  For each MSG_FETCH_START berth-fetchd sends at most one
 * MSG_FETCH_HEADERS, when the upstream's final answer is a 2xx, and then
 * exactly one MSG_FETCH_DONE with the same id.
 *
 * The body of a 2xx answer goes into the pipe passed with MSG_FETCH_START
 * (closed by berth-fetchd when the transfer ends, whatever the outcome:
 * berthd reads until EOF and then waits for MSG_FETCH_DONE to learn
 * whether what it read is whole), or, without a pipe, inline after
 * struct msg_fetch_done (at most FETCH_INLINE_MAX bytes).  Closing the
 * read end of the pipe, or MSG_FETCH_CANCEL, stops a transfer.
 *
 * berth-fetchd trusts nothing berthd sends beyond what it must: it
 * fetches only http and https URLs, follows redirects only to them, and
 * verifies TLS certificates always.
 */
#ifndef BERTH_FETCH_PROTO_H
#define BERTH_FETCH_PROTO_H

#include <stdint.h>

#include "digest.h"

#define FETCH_PROTOCOL_VERSION	1

/* berth-fetchd's end of the socketpair, as the spawner execs it. */
#define FETCHD_SOCKET_FD	3
#define FETCHD_EXIT_CONFIG	2	/* bad arguments, unreadable CA file */

#define FETCH_URL_MAX		4096
/* accept, user, secret and extra headers, each */
#define FETCH_FIELD_MAX		8192
/* A request body (the ECR API) at most. */
#define FETCH_BODY_MAX		65536
/* An answer's body delivered inline at most (manifests, tokens). */
#define FETCH_INLINE_MAX	(5u * 1024 * 1024)

enum fetch_msg_type {
	MSG_FETCH_HELLO = 1,	/* f->d, id 0: struct msg_fetch_hello */
	MSG_FETCH_START,	/* d->f: struct msg_fetch_start + strings,
				 * a pipe (write end) or none */
	MSG_FETCH_HEADERS,	/* f->d: struct msg_fetch_headers */
	MSG_FETCH_DONE,		/* f->d: struct msg_fetch_done + body */
	MSG_FETCH_CANCEL,	/* d->f: no payload */
	MSG_FETCH_LOG_REOPEN,	/* d->f, id 0: a new stderr */
	MSG_FETCH__MAX
};

struct msg_fetch_hello {
	uint32_t	version;	/* FETCH_PROTOCOL_VERSION */
	uint32_t	pid;
};

enum fetch_method { FETCH_GET = 1, FETCH_HEAD, FETCH_POST };

/*
 * A registry request (/v2/...): on a 401 the challenge is answered, with
 * the Docker/OCI token flow (Bearer) or Basic, using user and secret when
 * given (anonymously otherwise), and the request made once more.
 */
#define FETCH_F_REGISTRY	0x1

/*
 * Followed by url, accept, user, secret, headers (extra "Name: value"
 * lines, each ending in '\n') and body, of the lengths given, none
 * NUL-terminated; the frame's length is exactly their sum plus the struct.
 */
struct msg_fetch_start {
	uint32_t	method;		/* enum fetch_method */
	uint32_t	flags;
	uint64_t	max_bytes;	/* a larger body fails the fetch */
	uint32_t	url_len;
	uint32_t	accept_len;
	uint32_t	user_len;
	uint32_t	secret_len;
	uint32_t	headers_len;
	uint32_t	body_len;
};

struct msg_fetch_headers {
	int32_t		status;
	uint32_t	http_version;	/* 10, 11, 20 or 30 */
	int64_t		content_length;	/* -1: not given */
	char		content_type[256];
	char		digest[DIGEST_STR_MAX];	/* Docker-Content-Digest */
};

enum fetch_result {
	FETCH_OK = 0,
	FETCH_ERR_UNREACHABLE,	/* name, connection, TLS, timeout, 5xx */
	FETCH_ERR_DENIED,	/* 401 or 403 once the challenge was met */
	FETCH_ERR_NOT_FOUND,	/* 404 */
	FETCH_ERR_TOO_MANY,	/* 429 */
	FETCH_ERR_STATUS,	/* another status */
	FETCH_ERR_TOO_LARGE,	/* over max_bytes */
	FETCH_ERR_TRUNCATED,	/* the body ended early */
	FETCH_ERR_CANCELLED,
	FETCH_ERR_INVALID,	/* a URL berth-fetchd refuses, a bad token */
	FETCH_ERR__MAX
};

/* Followed by body_len bytes of body when the fetch had no pipe. */
struct msg_fetch_done {
	int32_t		result;		/* enum fetch_result */
	int32_t		status;		/* the last HTTP status, or 0 */
	uint64_t	bytes;		/* body bytes delivered */
	uint32_t	body_len;
	uint32_t	pad;
	char		message[256];	/* what went wrong, for the log */
};

#endif
