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
 * berth's error codes: negative numbers from one enum.  One table maps each
 * to a message, an HTTP status, the OCI distribution error code and the ECR
 * exception name, so that no handler needs its own switch.
 */
#ifndef BERTH_ERROR_H
#define BERTH_ERROR_H

enum berr {
	BERR_OK = 0,
	BERR_INTERNAL = -1,		/* a bug or an impossible state */
	BERR_NOMEM = -2,
	BERR_IO = -3,			/* storage I/O failed */
	BERR_NOSPACE = -4,
	BERR_UNAVAILABLE = -5,		/* blobd down: retry */
	BERR_FRAME = -6,		/* malformed RPC frame */
	BERR_LOCKED = -7,		/* data directory in use */
	BERR_BAD_REQUEST = -8,		/* malformed HTTP or parameters */
	BERR_DIGEST_INVALID = -9,	/* malformed or mismatching digest */
	BERR_DIGEST_UNSUPPORTED = -10,	/* algorithm other than sha256/512 */
	BERR_SIZE_INVALID = -11,
	BERR_BLOB_UNKNOWN = -12,
	BERR_UPLOAD_UNKNOWN = -13,
	BERR_UPLOAD_INVALID = -14,
	BERR_RANGE_INVALID = -15,	/* out-of-order chunk: 416 */
	BERR_UPLOAD_BUSY = -16,		/* another append is running */
	BERR_NAME_INVALID = -17,
	BERR_NAME_UNKNOWN = -18,
	BERR_MANIFEST_UNKNOWN = -19,
	BERR_MANIFEST_INVALID = -20,
	BERR_MANIFEST_BLOB_UNKNOWN = -21,
	BERR_TAG_INVALID = -22,
	BERR_TAG_IMMUTABLE = -23,
	BERR_TOO_LARGE = -24,
	BERR_UNAUTHORIZED = -25,
	BERR_DENIED = -26,
	BERR_UNSUPPORTED = -27,
	BERR_EXISTS = -28,
	BERR_NOT_FOUND = -29,		/* generic: no such route or object */
	BERR_RANGE_UNSATISFIABLE = -30,	/* blob GET Range: 416 */
	BERR_TOO_MANY_REQUESTS = -31,
	BERR_TIMEOUT = -32,
	BERR_SHUTTING_DOWN = -33,
	BERR_TOO_MANY_TAGS = -34,	/* tags of one manifest PUT: 414 */
	BERR_URI_TOO_LONG = -35,	/* HTTP limits: 414 */
	BERR_HEADERS_TOO_LARGE = -36,	/* 431 */
	BERR_REQUEST_TIMEOUT = -37,	/* the request's head came too slowly */
	BERR_HTTP_VERSION = -38,	/* not HTTP/1.x: 505 */
	BERR_UPSTREAM = -39,		/* the pull-through cache's upstream */
	BERR__LAST = -40
};

/* A person-readable message; never NULL. */
const char	*berr_message(int err);
/* HTTP status conventionally sent for the error. */
int		 berr_http_status(int err);
/* OCI distribution-spec error code ("BLOB_UNKNOWN", ...); never NULL. */
const char	*berr_oci_code(int err);
/* The ECR exception closest to the error ("ServerException", ...). */
const char	*berr_ecr_exception(int err);
/* Maps errno values of storage calls to BERR_IO / BERR_NOSPACE / ... */
int		 berr_from_errno(int errnum);

#endif
