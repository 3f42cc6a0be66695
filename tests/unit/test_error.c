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
 * common/error.c: the one table from error codes to messages, HTTP
 * statuses, OCI error codes and ECR exceptions.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "util.h"
#include "unit.h"

/* The error codes of the OCI distribution spec ("Error Codes"), and
 * those of docker's registry API that clients still know: TAG_INVALID,
 * UNKNOWN and UNAVAILABLE. */
static const char *const oci_codes[] = {
	"BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN",
	"DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID",
	"MANIFEST_UNKNOWN", "NAME_INVALID", "NAME_UNKNOWN", "SIZE_INVALID",
	"UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS",
	"TAG_INVALID", "UNKNOWN", "UNAVAILABLE",
};

static int
is_oci_code(const char *code)
{
	size_t	 i;

	for (i = 0; i < nitems(oci_codes); i++)
		if (strcmp(code, oci_codes[i]) == 0)
			return 1;
	return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t	 n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every code from BERR_INTERNAL to the last has its own complete entry. */
static void
test_error_table(void)
{
	const char	*internal = berr_message(BERR_INTERNAL);
	const char	*msg, *oci, *ecr;
	int		 err, status;

	CU_ASSERT_STRING_EQUAL(internal, "internal error");
	for (err = BERR_INTERNAL; err > BERR__LAST; err--) {
		msg = berr_message(err);
		oci = berr_oci_code(err);
		ecr = berr_ecr_exception(err);
		status = berr_http_status(err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
		CU_ASSERT_PTR_NOT_NULL_FATAL(oci);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ecr);
		if (msg[0] == '\0' || !is_oci_code(oci) ||
		    !ends_with(ecr, "Exception") || status < 400 ||
		    status > 599 || (err != BERR_INTERNAL &&
		    strcmp(msg, internal) == 0))
			fprintf(stderr, "\nerror %d: \"%s\" %d %s %s\n", err,
			    msg, status, oci, ecr);
		CU_ASSERT(msg[0] != '\0');
		/* A missing entry falls back to BERR_INTERNAL's. */
		if (err != BERR_INTERNAL)
			CU_ASSERT_STRING_NOT_EQUAL(msg, internal);
		CU_ASSERT(is_oci_code(oci));
		CU_ASSERT(ends_with(ecr, "Exception") &&
		    strlen(ecr) > strlen("Exception"));
		CU_ASSERT(status >= 400 && status <= 599);
	}

	/* Success is no error of either protocol. */
	CU_ASSERT_STRING_EQUAL(berr_message(BERR_OK), "success");
	CU_ASSERT_EQUAL(berr_http_status(BERR_OK), 200);
	CU_ASSERT_STRING_EQUAL(berr_oci_code(BERR_OK), "");
	CU_ASSERT_STRING_EQUAL(berr_ecr_exception(BERR_OK), "");
}

/* Entries that clients act on: the spec's status for each OCI code, and
 * the ECR exceptions SDKs retry or map to their own types. */
static void
test_error_mappings(void)
{
	static const struct {
		int		 err;
		int		 status;
		const char	*oci;
		const char	*ecr;
	} cases[] = {
		{ BERR_INTERNAL, 500, "UNKNOWN", "ServerException" },
		{ BERR_UNAVAILABLE, 503, "UNAVAILABLE", "ServerException" },
		{ BERR_DIGEST_INVALID, 400, "DIGEST_INVALID",
		    "InvalidLayerException" },
		{ BERR_SIZE_INVALID, 400, "SIZE_INVALID",
		    "InvalidLayerException" },
		{ BERR_BLOB_UNKNOWN, 404, "BLOB_UNKNOWN",
		    "LayersNotFoundException" },
		{ BERR_UPLOAD_UNKNOWN, 404, "BLOB_UPLOAD_UNKNOWN",
		    "UploadNotFoundException" },
		{ BERR_RANGE_INVALID, 416, "BLOB_UPLOAD_INVALID",
		    "InvalidLayerPartException" },
		{ BERR_NAME_INVALID, 400, "NAME_INVALID",
		    "InvalidParameterException" },
		{ BERR_NAME_UNKNOWN, 404, "NAME_UNKNOWN",
		    "RepositoryNotFoundException" },
		{ BERR_MANIFEST_UNKNOWN, 404, "MANIFEST_UNKNOWN",
		    "ImageNotFoundException" },
		{ BERR_MANIFEST_INVALID, 400, "MANIFEST_INVALID",
		    "InvalidParameterException" },
		{ BERR_MANIFEST_BLOB_UNKNOWN, 400, "MANIFEST_BLOB_UNKNOWN",
		    "LayersNotFoundException" },
		{ BERR_TAG_IMMUTABLE, 400, "TAG_INVALID",
		    "ImageTagAlreadyExistsException" },
		{ BERR_UNAUTHORIZED, 401, "UNAUTHORIZED",
		    "UnrecognizedClientException" },
		{ BERR_DENIED, 403, "DENIED", "AccessDeniedException" },
		{ BERR_TOO_MANY_REQUESTS, 429, "TOOMANYREQUESTS",
		    "ThrottlingException" },
		{ BERR_RANGE_UNSATISFIABLE, 416, "UNSUPPORTED",
		    "InvalidParameterException" },
		{ BERR_TOO_MANY_TAGS, 414, "TAG_INVALID",
		    "InvalidParameterException" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		CU_ASSERT_EQUAL(berr_http_status(cases[i].err),
		    cases[i].status);
		CU_ASSERT_STRING_EQUAL(berr_oci_code(cases[i].err),
		    cases[i].oci);
		CU_ASSERT_STRING_EQUAL(berr_ecr_exception(cases[i].err),
		    cases[i].ecr);
	}
}

/* Codes outside the enum read as BERR_INTERNAL, never past the table. */
static void
test_error_out_of_range(void)
{
	static const int bad[] = { BERR__LAST, BERR__LAST - 1, -1000,
	    INT_MIN, INT_MIN + 1, 1, 2, 1000, INT_MAX };
	size_t	 i;

	for (i = 0; i < nitems(bad); i++) {
		CU_ASSERT_STRING_EQUAL(berr_message(bad[i]), "internal error");
		CU_ASSERT_EQUAL(berr_http_status(bad[i]), 500);
		CU_ASSERT_STRING_EQUAL(berr_oci_code(bad[i]), "UNKNOWN");
		CU_ASSERT_STRING_EQUAL(berr_ecr_exception(bad[i]),
		    "ServerException");
	}
}

static void
test_error_from_errno(void)
{
	CU_ASSERT_EQUAL(berr_from_errno(ENOSPC), BERR_NOSPACE);
	CU_ASSERT_EQUAL(berr_from_errno(EDQUOT), BERR_NOSPACE);
	CU_ASSERT_EQUAL(berr_from_errno(ENOMEM), BERR_NOMEM);
	CU_ASSERT_EQUAL(berr_from_errno(ENOENT), BERR_NOT_FOUND);
	CU_ASSERT_EQUAL(berr_from_errno(EIO), BERR_IO);
	CU_ASSERT_EQUAL(berr_from_errno(EACCES), BERR_IO);
}

int
test_error_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("error", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "every code has an entry", test_error_table) ==
	    NULL ||
	    CU_add_test(s, "protocol mappings", test_error_mappings) == NULL ||
	    CU_add_test(s, "out-of-range codes", test_error_out_of_range) ==
	    NULL ||
	    CU_add_test(s, "errno mapping", test_error_from_errno) == NULL)
		return -1;
	return 0;
}
