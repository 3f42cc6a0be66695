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
 * SigV4: the header parser, and verification against requests signed by
 * botocore's SigV4Auth (service "ecr") at 2025-01-15T12:30:45Z.  The
 * vectors were made with Debian's python3-botocore 1.29 (a fixed clock,
 * AWSRequest, SigV4Auth.add_auth); they are data, reproduced here.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "berthd.h"
#include "ecr.h"
#include "unit.h"
#include "util.h"

#define VEC_NOW		1736944245	/* 20250115T123045Z */
#define AKID		"AKIDEXAMPLE"
#define SECRET		"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

struct hdr {
	const char	*name, *value;
};

struct vec {
	const char	*method, *path, *query, *body;
	struct hdr	 h[8];
};

static size_t
vec_headers(void *arg, const char *name, const char **vals, size_t max)
{
	const struct vec *v = arg;
	size_t		 i, n = 0;

	for (i = 0; i < nitems(v->h) && v->h[i].name != NULL; i++)
		if (strcasecmp(v->h[i].name, name) == 0) {
			if (n < max)
				vals[n] = v->h[i].value;
			n++;
		}
	return n;
}

static const struct vec vec_create = {
	"POST", "/", NULL, "{\"repositoryName\":\"team/app\"}", {
	{ "Host", "127.0.0.1:4566" },
	{ "X-Amz-Target",
	    "AmazonEC2ContainerRegistry_V20150921.CreateRepository" },
	{ "Content-Type", "application/x-amz-json-1.1" },
	{ "X-Amz-Date", "20250115T123045Z" },
	{ "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250115/"
	    "us-east-1/ecr/aws4_request, SignedHeaders=content-type;host;"
	    "x-amz-date;x-amz-target, Signature=af6b7d25f70c38c8307aad7e18a28"
	    "2a7a816243758a398c11e93b7156de019a3" } } };

static const struct vec vec_token = {
	"POST", "/", NULL, "{}", {
	{ "Host", "localhost:4566" },
	{ "X-Amz-Target",
	    "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories" },
	{ "Content-Type", "application/x-amz-json-1.1" },
	{ "X-Amz-Date", "20250115T123045Z" },
	{ "X-Amz-Security-Token", "SESSIONTOKEN/abc+=" },
	{ "Authorization", "AWS4-HMAC-SHA256 Credential=123456789012/20250115/"
	    "eu-west-3/ecr/aws4_request, SignedHeaders=content-type;host;"
	    "x-amz-date;x-amz-security-token;x-amz-target, Signature=085b759f"
	    "d58874abea99cb06d0f6498e49cfffbf4c72c1e0694cf0b653f51c9d" } } };

/* A path to double-encode, a query to sort, spaces to collapse. */
static const struct vec vec_query = {
	"GET", "/some path/x~y", "b=2&a=1&a=0&c=%20x%2F", "", {
	{ "Host", "localhost:4566" },
	{ "X-Odd", "  a   b  c " },
	{ "X-Amz-Date", "20250115T123045Z" },
	{ "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250115/"
	    "us-east-1/ecr/aws4_request, SignedHeaders=host;x-amz-date;x-odd, "
	    "Signature=ecbd4e22dc3cc21b3e9f74c46a8926e73b5261a60d88dd20d6e4990"
	    "aae6eade8" } } };

static void
vec_request(const struct vec *v, struct sigv4_request *r)
{
	memset(r, 0, sizeof(*r));
	r->method = v->method;
	r->path = v->path;
	r->query = v->query;
	r->headers = vec_headers;
	r->arg = (void *)(uintptr_t)v;
	r->body = v->body;
	r->body_len = strlen(v->body);
}

static char	*creds_dir;

static int
sigv4_suite_init(void)
{
	char	*path;
	FILE	*f;

	if (conf.account_id[0] == '\0')
		strcpy(conf.account_id, DEFAULT_ACCOUNT);
	if (conf.region[0] == '\0')
		strcpy(conf.region, DEFAULT_REGION);
	creds_dir = unit_tmpdir();
	xasprintf(&path, "%s/credentials", creds_dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "# berth credentials\n\n"
	    AKID " " SECRET "   # the docs' example key\n"
	    "123456789012\tsecret2\n"
	    "AKIDOTHER other 210987654321\n");
	fclose(f);
	free(path);
	return 0;
}

static int
sigv4_suite_clean(void)
{
	unit_rmtree(creds_dir);
	free(creds_dir);
	return 0;
}

static void
test_parse(void)
{
	static const struct {
		const char *header, *why;
	} bad[] = {
		{ "AWS4-HMAC-SHA512 Credential=a/b/c/d/e, SignedHeaders=host, "
		    "Signature=00", "Unsupported AWS 'algorithm'" },
		{ "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
		    "requires 'Credential' parameter" },
		{ "AWS4-HMAC-SHA256 Credential=a/20250115/r/ecr/aws4_request",
		    "requires 'Signature' parameter. Authorization header "
		    "requires 'SignedHeaders' parameter." },
		{ "AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, "
		    "Signature=00", "exactly 5 slash-delimited elements" },
		{ "AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f, SignedHeaders=host, "
		    "Signature=00", "exactly 5 slash-delimited elements" },
		{ "AWS4-HMAC-SHA256 Credential=/b/c/d/e, SignedHeaders=host, "
		    "Signature=00", "exactly 5 slash-delimited elements" },
		{ "AWS4-HMAC-SHA256 Credential", "missing equal-sign" },
		{ "", "Unsupported AWS 'algorithm'" },
	};
	struct sigv4_auth a;
	char	 why[512];
	size_t	 i;

	CU_ASSERT_EQUAL(sigv4_parse("AWS4-HMAC-SHA256 Credential=AKID/"
	    "20250115/us-east-1/ecr/aws4_request,SignedHeaders=host;x-amz-date,"
	    "Signature=abcd", &a, why, sizeof(why)), 0);
	CU_ASSERT_STRING_EQUAL(a.access_key, "AKID");
	CU_ASSERT_STRING_EQUAL(a.date, "20250115");
	CU_ASSERT_STRING_EQUAL(a.region, "us-east-1");
	CU_ASSERT_STRING_EQUAL(a.service, "ecr");
	CU_ASSERT_STRING_EQUAL(a.terminator, "aws4_request");
	CU_ASSERT_STRING_EQUAL(a.signed_headers, "host;x-amz-date");
	CU_ASSERT_STRING_EQUAL(a.signature, "abcd");
	for (i = 0; i < nitems(bad); i++) {
		if (sigv4_parse(bad[i].header, &a, why, sizeof(why)) != -1 ||
		    strstr(why, bad[i].why) == NULL) {
			fprintf(stderr, "\n%s: %s\n", bad[i].header, why);
			CU_FAIL("parse");
		}
	}
}

static void
test_canonical(void)
{
	struct sigv4_request r;
	struct sigv4_auth a;
	char		 why[256], *c;

	vec_request(&vec_query, &r);
	CU_ASSERT_EQUAL_FATAL(sigv4_parse(vec_query.h[3].value, &a, why,
	    sizeof(why)), 0);
	c = sigv4_canonical_request(&r, &a, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	CU_ASSERT_STRING_EQUAL(c, "GET\n/some%2520path/x~y\n"
	    "a=0&a=1&b=2&c=%20x%2F\nhost:localhost:4566\n"
	    "x-amz-date:20250115T123045Z\nx-odd:a b c\n\n"
	    "host;x-amz-date;x-odd\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	free(c);
}

/* The exception sigv4_check answers, or NULL when it lets it go on. */
static const char *
check(const struct vec *v, int64_t now, struct sigv4_identity *id,
    char *msg, size_t msgsz)
{
	struct sigv4_request r;
	const char	*exc = NULL;

	vec_request(v, &r);
	if (sigv4_check(&r, now, id, &exc, msg, msgsz) == 0) {
		CU_ASSERT_PTR_NULL(exc);
		return NULL;
	}
	CU_ASSERT_PTR_NOT_NULL(exc);
	return exc;
}

static void
test_identity_unverified(void)
{
	struct sigv4_identity id;
	struct vec	 v;
	char		 msg[1024];

	CU_ASSERT_EQUAL_FATAL(sigv4_verifying(), 0);
	/* Off: the scope names the identity, the signature is not read. */
	CU_ASSERT_PTR_NULL(check(&vec_create, 0, &id, msg, sizeof(msg)));
	CU_ASSERT_STRING_EQUAL(id.account, conf.account_id);
	CU_ASSERT_STRING_EQUAL(id.region, "us-east-1");
	CU_ASSERT_PTR_NULL(check(&vec_token, 0, &id, msg, sizeof(msg)));
	CU_ASSERT_STRING_EQUAL(id.account, "123456789012");
	CU_ASSERT_STRING_EQUAL(id.region, "eu-west-3");
	/* Unsigned: the defaults. */
	memset(&v, 0, sizeof(v));
	v.method = "POST";
	v.path = "/";
	v.body = "{}";
	CU_ASSERT_PTR_NULL(check(&v, 0, &id, msg, sizeof(msg)));
	CU_ASSERT_STRING_EQUAL(id.account, conf.account_id);
	CU_ASSERT_STRING_EQUAL(id.region, conf.region);
	/* A scope with a region that is no region: the default one. */
	v.h[0].name = "Authorization";
	v.h[0].value = "AWS4-HMAC-SHA256 Credential=k/20250115/US_EAST/ecr/"
	    "aws4_request, SignedHeaders=host, Signature=00";
	CU_ASSERT_PTR_NULL(check(&v, 0, &id, msg, sizeof(msg)));
	CU_ASSERT_STRING_EQUAL(id.region, conf.region);
}

static void
test_verify(void)
{
	struct sigv4_identity id;
	struct vec	 v;
	const char	*exc;
	char		 msg[1024], *path, hash[65], upper[65];
	unsigned char	 md[32];
	size_t		 i;

	xasprintf(&path, "%s/credentials", creds_dir);
	CU_ASSERT_EQUAL_FATAL(sigv4_credentials_load(path), 0);
	free(path);
	CU_ASSERT_EQUAL(sigv4_verifying(), 1);

	CU_ASSERT_PTR_NULL(check(&vec_create, VEC_NOW, &id, msg,
	    sizeof(msg)));
	CU_ASSERT_PTR_NULL(check(&vec_token, VEC_NOW + 899, &id, msg,
	    sizeof(msg)));
	CU_ASSERT_STRING_EQUAL(id.account, "123456789012");
	CU_ASSERT_PTR_NULL(check(&vec_query, VEC_NOW - 899, &id, msg,
	    sizeof(msg)));

	/* A byte of the body changed. */
	v = vec_create;
	v.body = "{\"repositoryName\":\"team/apq\"}";
	exc = check(&v, VEC_NOW, &id, msg, sizeof(msg));
	CU_ASSERT_PTR_NOT_NULL_FATAL(exc);
	CU_ASSERT_STRING_EQUAL(exc, "InvalidSignatureException");
	CU_ASSERT_STRING_EQUAL(msg, "The request signature we calculated "
	    "does not match the signature you provided. Check your AWS Secret "
	    "Access Key and signing method. Consult the service documentation "
	    "for details.");
	/* A signed header changed. */
	v = vec_create;
	v.h[1].value = "AmazonEC2ContainerRegistry_V20150921.DeleteRepository";
	CU_ASSERT_STRING_EQUAL(check(&v, VEC_NOW, &id, msg, sizeof(msg)),
	    "InvalidSignatureException");
	/*
	 * X-Amz-Content-Sha256 must name the body that came: the body's
	 * own hash (either case) passes, another hash or UNSIGNED-PAYLOAD
	 * does not, and a swapped body with the original's hash does not.
	 */
	v = vec_create;
	v.h[5].name = "X-Amz-Content-Sha256";
	SHA256((const unsigned char *)v.body, strlen(v.body), md);
	for (i = 0; i < sizeof(md); i++)
		snprintf(hash + 2 * i, 3, "%02x", md[i]);
	v.h[5].value = hash;
	CU_ASSERT_PTR_NULL(check(&v, VEC_NOW, &id, msg, sizeof(msg)));
	for (i = 0; hash[i] != '\0'; i++)
		upper[i] = (char)toupper((unsigned char)hash[i]);
	upper[i] = '\0';
	v.h[5].value = upper;
	CU_ASSERT_PTR_NULL(check(&v, VEC_NOW, &id, msg, sizeof(msg)));
	v.h[5].value = "0000";
	CU_ASSERT_STRING_EQUAL(check(&v, VEC_NOW, &id, msg, sizeof(msg)),
	    "InvalidSignatureException");
	CU_ASSERT_STRING_EQUAL(msg, "The provided 'x-amz-content-sha256' "
	    "header does not match what was computed.");
	v.h[5].value = "UNSIGNED-PAYLOAD";
	CU_ASSERT_STRING_EQUAL(check(&v, VEC_NOW, &id, msg, sizeof(msg)),
	    "InvalidSignatureException");
	v.h[5].value = hash;
	v.body = "{\"repositoryName\":\"team/apq\"}";
	CU_ASSERT_STRING_EQUAL(check(&v, VEC_NOW, &id, msg, sizeof(msg)),
	    "InvalidSignatureException");

	/* Host must be signed (before anything else is checked). */
	v = vec_create;
	v.h[4].value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250115/"
	    "us-east-1/ecr/aws4_request, SignedHeaders=content-type;"
	    "x-amz-date;x-amz-host;x-amz-target, Signature=af6b7d25f70c38c8"
	    "307aad7e18a282a7a816243758a398c11e93b7156de019a3";
	CU_ASSERT_STRING_EQUAL(check(&v, VEC_NOW, &id, msg, sizeof(msg)),
	    "IncompleteSignatureException");
	CU_ASSERT_STRING_EQUAL(msg, "'Host' or ':authority' must be a "
	    "'SignedHeader' in the AWS Authorization.");

	/* Clock skew. */
	exc = check(&vec_create, VEC_NOW + 901, &id, msg, sizeof(msg));
	CU_ASSERT_STRING_EQUAL(exc, "InvalidSignatureException");
	CU_ASSERT_STRING_EQUAL(msg, "Signature expired: 20250115T123045Z is "
	    "now earlier than 20250115T123046Z (20250115T124546Z - 15 min.)");
	exc = check(&vec_create, VEC_NOW - 901, &id, msg, sizeof(msg));
	CU_ASSERT_STRING_EQUAL(exc, "InvalidSignatureException");
	CU_ASSERT_STRING_EQUAL(msg, "Signature not yet current: "
	    "20250115T123045Z is still later than 20250115T123044Z "
	    "(20250115T121544Z + 15 min.)");

	/* Unknown key: checked after the time, as AWS does. */
	v = vec_create;
	v.h[4].value = "AWS4-HMAC-SHA256 Credential=AKIDNOBODY/20250115/"
	    "us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=00";
	CU_ASSERT_STRING_EQUAL(check(&v, VEC_NOW, &id, msg, sizeof(msg)),
	    "UnrecognizedClientException");
	CU_ASSERT_STRING_EQUAL(msg, "The security token included in the "
	    "request is invalid.");

	/* No Authorization; a malformed one; no date. */
	v = vec_create;
	v.h[4].name = "X-Not-Authorization";
	CU_ASSERT_STRING_EQUAL(check(&v, VEC_NOW, &id, msg, sizeof(msg)),
	    "MissingAuthenticationTokenException");
	v = vec_create;
	v.h[4].value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250115/"
	    "us-east-1/ecr/aws4_request";
	CU_ASSERT_STRING_EQUAL(check(&v, VEC_NOW, &id, msg, sizeof(msg)),
	    "IncompleteSignatureException");
	v = vec_create;
	v.h[3].name = "X-Amz-Not-Date";
	CU_ASSERT_STRING_EQUAL(check(&v, VEC_NOW, &id, msg, sizeof(msg)),
	    "IncompleteSignatureException");
	CU_ASSERT(strstr(msg, "'X-Amz-Date' or a 'Date' header") != NULL);
	/* The scope's date must be the request's. */
	v = vec_create;
	v.h[3].value = "20250116T000000Z";
	CU_ASSERT_STRING_EQUAL(check(&v, 1736985600, &id, msg, sizeof(msg)),
	    "InvalidSignatureException");
	CU_ASSERT(strstr(msg, "Date in Credential scope does not match") !=
	    NULL);
	/* Another service's scope. */
	v = vec_create;
	v.h[4].value = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250115/"
	    "us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";
	CU_ASSERT_STRING_EQUAL(check(&v, VEC_NOW, &id, msg, sizeof(msg)),
	    "InvalidSignatureException");

	/* A file that does not load leaves the keys as they were. */
	CU_ASSERT_EQUAL(sigv4_credentials_load("/nonexistent/creds"), -1);
	CU_ASSERT_PTR_NULL(check(&vec_create, VEC_NOW, &id, msg,
	    sizeof(msg)));
}

/* Loads a credentials file of one line; 0 or -1. */
static int
load_line(const char *line)
{
	char	*path;
	FILE	*f;
	int	 rc;

	xasprintf(&path, "%s/line", creds_dir);
	if ((f = fopen(path, "w")) == NULL)
		return -2;
	fprintf(f, "%s\n", line);
	fclose(f);
	rc = sigv4_credentials_load(path);
	free(path);
	return rc;
}

static void
test_principals(void)
{
	/* The principal column: after the account, or instead of it. */
	CU_ASSERT_EQUAL(load_line("AKIDA s 111122223333 "
	    "arn:aws:iam::111122223333:role/ci-scanner"), 0);
	CU_ASSERT_EQUAL(load_line("AKIDA s "
	    "arn:aws:iam::111122223333:user/path/dev"), 0);
	/* Not a user or role, of another account, or one field too many. */
	CU_ASSERT_EQUAL(load_line("AKIDA s arn:aws:iam::111122223333:root"),
	    -1);
	CU_ASSERT_EQUAL(load_line("AKIDA s arn:aws:iam::1111:role/x"), -1);
	CU_ASSERT_EQUAL(load_line("AKIDA s 111122223333 "
	    "arn:aws:iam::999922223333:role/x"), -1);
	CU_ASSERT_EQUAL(load_line("AKIDA s arn:aws:iam::111122223333:role/x "
	    "arn:aws:iam::111122223333:role/y"), -1);
	CU_ASSERT_EQUAL(load_line("AKIDA s 111122223333 "
	    "arn:aws:iam::111122223333:role/x extra"), -1);
}

int
test_sigv4_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("sigv4", sigv4_suite_init,
	    sigv4_suite_clean)) == NULL)
		return -1;
	if (CU_add_test(s, "header parser", test_parse) == NULL ||
	    CU_add_test(s, "canonical request", test_canonical) == NULL ||
	    CU_add_test(s, "identity without verification",
	    test_identity_unverified) == NULL ||
	    CU_add_test(s, "verification", test_verify) == NULL ||
	    CU_add_test(s, "principals in the credentials file",
	    test_principals) == NULL)
		return -1;
	return 0;
}
