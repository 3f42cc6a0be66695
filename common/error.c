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
 * The table behind error.h: for each berr, its message, HTTP status, OCI
 * error code and ECR exception; and the mapping of storage errno values.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>

#include "error.h"

struct berr_entry {
	const char	*message;
	int		 http_status;
	const char	*oci_code;
	const char	*ecr_exception;
};

/* Indexed by -err. */
static const struct berr_entry berr_table[] = {
	[0] = { "success", 200, "", "" },
	[-BERR_INTERNAL] = { "internal error", 500, "UNKNOWN",
	    "ServerException" },
	[-BERR_NOMEM] = { "out of memory", 500, "UNKNOWN", "ServerException" },
	[-BERR_IO] = { "storage input/output error", 500, "UNKNOWN",
	    "ServerException" },
	[-BERR_NOSPACE] = { "no space left on the storage device", 507,
	    "UNKNOWN", "ServerException" },
	[-BERR_UNAVAILABLE] = { "the storage worker is restarting; retry the "
	    "request", 503, "UNAVAILABLE", "ServerException" },
	[-BERR_FRAME] = { "malformed internal message", 500, "UNKNOWN",
	    "ServerException" },
	[-BERR_LOCKED] = { "data directory is in use by another berth "
	    "process", 500, "UNKNOWN", "ServerException" },
	[-BERR_BAD_REQUEST] = { "malformed request", 400, "UNSUPPORTED",
	    "InvalidParameterException" },
	[-BERR_DIGEST_INVALID] = { "provided digest did not match uploaded "
	    "content", 400, "DIGEST_INVALID", "InvalidLayerException" },
	[-BERR_DIGEST_UNSUPPORTED] = { "digest algorithm is not supported; "
	    "use sha256 or sha512", 400, "DIGEST_INVALID",
	    "InvalidParameterException" },
	[-BERR_SIZE_INVALID] = { "provided length did not match content "
	    "length", 400, "SIZE_INVALID", "InvalidLayerException" },
	[-BERR_BLOB_UNKNOWN] = { "blob unknown to registry", 404,
	    "BLOB_UNKNOWN", "LayersNotFoundException" },
	[-BERR_UPLOAD_UNKNOWN] = { "blob upload unknown to registry", 404,
	    "BLOB_UPLOAD_UNKNOWN", "UploadNotFoundException" },
	[-BERR_UPLOAD_INVALID] = { "blob upload invalid", 400,
	    "BLOB_UPLOAD_INVALID", "InvalidLayerPartException" },
	[-BERR_RANGE_INVALID] = { "chunk does not start where the upload "
	    "ends", 416, "BLOB_UPLOAD_INVALID", "InvalidLayerPartException" },
	[-BERR_UPLOAD_BUSY] = { "another request is writing to this upload",
	    409, "BLOB_UPLOAD_INVALID", "InvalidLayerPartException" },
	[-BERR_NAME_INVALID] = { "invalid repository name", 400,
	    "NAME_INVALID", "InvalidParameterException" },
	[-BERR_NAME_UNKNOWN] = { "repository name not known to registry", 404,
	    "NAME_UNKNOWN", "RepositoryNotFoundException" },
	[-BERR_MANIFEST_UNKNOWN] = { "manifest unknown", 404,
	    "MANIFEST_UNKNOWN", "ImageNotFoundException" },
	[-BERR_MANIFEST_INVALID] = { "manifest invalid", 400,
	    "MANIFEST_INVALID", "InvalidParameterException" },
	[-BERR_MANIFEST_BLOB_UNKNOWN] = { "blob unknown to registry", 400,
	    "MANIFEST_BLOB_UNKNOWN", "LayersNotFoundException" },
	[-BERR_TAG_INVALID] = { "manifest tag did not match URI", 400,
	    "TAG_INVALID", "InvalidParameterException" },
	[-BERR_TAG_IMMUTABLE] = { "tag is immutable and already exists", 400,
	    "TAG_INVALID", "ImageTagAlreadyExistsException" },
	[-BERR_TOO_LARGE] = { "payload too large", 413, "SIZE_INVALID",
	    "InvalidParameterException" },
	[-BERR_UNAUTHORIZED] = { "authentication required", 401,
	    "UNAUTHORIZED", "UnrecognizedClientException" },
	[-BERR_DENIED] = { "requested access to the resource is denied", 403,
	    "DENIED", "AccessDeniedException" },
	[-BERR_UNSUPPORTED] = { "the operation is unsupported", 405,
	    "UNSUPPORTED", "UnsupportedCommandException" },
	[-BERR_EXISTS] = { "already exists", 409, "UNSUPPORTED",
	    "InvalidParameterException" },
	[-BERR_NOT_FOUND] = { "not found", 404, "UNSUPPORTED",
	    "UnknownOperationException" },
	[-BERR_RANGE_UNSATISFIABLE] = { "requested range not satisfiable",
	    416, "UNSUPPORTED", "InvalidParameterException" },
	[-BERR_TOO_MANY_REQUESTS] = { "too many requests", 429,
	    "TOOMANYREQUESTS", "ThrottlingException" },
	[-BERR_TIMEOUT] = { "timed out", 504, "UNAVAILABLE",
	    "ServerException" },
	[-BERR_SHUTTING_DOWN] = { "server is shutting down; retry", 503,
	    "UNAVAILABLE", "ServerException" },
	[-BERR_TOO_MANY_TAGS] = { "too many tags in one request", 414,
	    "TAG_INVALID", "InvalidParameterException" },
	/* The HTTP layer's own refusals.  RequestTimeoutException is a
	 * transient error to the SDKs (botocore's standard retry mode). */
	[-BERR_URI_TOO_LONG] = { "request URI too long", 414, "UNSUPPORTED",
	    "ValidationException" },
	[-BERR_HEADERS_TOO_LARGE] = { "request header fields too large", 431,
	    "UNSUPPORTED", "ValidationException" },
	[-BERR_REQUEST_TIMEOUT] = { "the request did not arrive in time",
	    408, "UNSUPPORTED", "RequestTimeoutException" },
	[-BERR_HTTP_VERSION] = { "HTTP version not supported", 505,
	    "UNSUPPORTED", "ValidationException" },
	/* An upstream that failed and no cached copy: a gateway's error. */
	[-BERR_UPSTREAM] = { "the upstream registry could not be reached",
	    502, "UNAVAILABLE", "UnableToGetUpstreamImageException" },
};

static const struct berr_entry *
berr_lookup(int err)
{
	if (err > 0 || err <= BERR__LAST ||
	    berr_table[-err].message == NULL)
		return &berr_table[-BERR_INTERNAL];
	return &berr_table[-err];
}

const char *
berr_message(int err)
{
	return berr_lookup(err)->message;
}

int
berr_http_status(int err)
{
	return berr_lookup(err)->http_status;
}

const char *
berr_oci_code(int err)
{
	return berr_lookup(err)->oci_code;
}

const char *
berr_ecr_exception(int err)
{
	return berr_lookup(err)->ecr_exception;
}

int
berr_from_errno(int errnum)
{
	switch (errnum) {
	case ENOSPC:
	case EDQUOT:
		return BERR_NOSPACE;
	case ENOMEM:
		return BERR_NOMEM;
	case ENOENT:
		return BERR_NOT_FOUND;
	default:
		return BERR_IO;
	}
}
