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
 * Registry passwords and download URLs (daemon/auth.c): what berthd signs
 * it accepts until it expires, for what it was signed for, and nothing
 * altered, expired or signed under another key.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "berthd.h"
#include "error.h"
#include "util.h"
#include "unit.h"

#define ACCT	"123456789012"
#define REGION	"eu-west-3"
#define REPO	"team/app"
#define PRINCIPAL "arn:aws:iam::123456789012:role/ci-scanner"
#define DIGEST	"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static void
auth_fixture(uint8_t key)
{
	struct model	*m = model_new();

	memset(m->secret, key, sizeof(m->secret));
	m->have_secret = 1;
	model_install(m);
}

static char *
basic(const char *user, const char *password)
{
	char	*plain, *b64, *out;
	size_t	 n;

	n = (size_t)xasprintf(&plain, "%s:%s", user, password);
	b64 = xmalloc(base64_encoded_len(n) + 1);
	b64[base64_encode((const uint8_t *)plain, n, b64)] = '\0';
	xasprintf(&out, "Basic %s", b64);
	free(plain);
	free(b64);
	return out;
}

/* A password as berth signed them before they named a principal. */
static char *
password_without_principal(int64_t expires)
{
	char		 payload[128], hexp[256], hexm[65], *out;
	uint8_t		 mac[32];
	unsigned int	 maclen = sizeof(mac);
	int		 n;

	n = snprintf(payload, sizeof(payload), "%s:%s:%lld", ACCT, REGION,
	    (long long)expires);
	HMAC(EVP_sha256(), model->secret, sizeof(model->secret),
	    (const unsigned char *)payload, (size_t)n, mac, &maclen);
	hex_encode((const uint8_t *)payload, (size_t)n, hexp);
	hex_encode(mac, sizeof(mac), hexm);
	xasprintf(&out, "berth1.%s.%s", hexp, hexm);
	return out;
}

static void
test_password(void)
{
	char	 acct[ACCOUNT_LEN + 1], region[REGION_MAX + 1], *tok, *h;
	char	 principal[PRINCIPAL_MAX + 1];
	int64_t	 exp, now = now_sec();
	size_t	 n;

	auth_fixture(1);
	tok = auth_token_issue(ACCT, REGION, PRINCIPAL, now + 43200);
	n = strlen(tok);
	CU_ASSERT_EQUAL(auth_token_verify(tok, n, acct, region, principal,
	    &exp), 0);
	CU_ASSERT_STRING_EQUAL(acct, ACCT);
	CU_ASSERT_STRING_EQUAL(region, REGION);
	CU_ASSERT_STRING_EQUAL(principal, PRINCIPAL);
	CU_ASSERT_EQUAL(exp, now + 43200);

	/* As Basic auth, user AWS only. */
	h = basic("AWS", tok);
	memset(principal, 0, sizeof(principal));
	CU_ASSERT_EQUAL(auth_basic_identity(h, acct, region, principal), 0);
	CU_ASSERT_STRING_EQUAL(principal, PRINCIPAL);
	free(h);
	h = basic("aws", tok);
	CU_ASSERT_EQUAL(auth_basic_identity(h, acct, region, NULL),
	    BERR_UNAUTHORIZED);
	free(h);
	CU_ASSERT_EQUAL(auth_basic_identity(NULL, acct, region, NULL),
	    BERR_UNAUTHORIZED);
	CU_ASSERT_EQUAL(auth_basic_identity("Bearer x", acct, region, NULL),
	    BERR_UNAUTHORIZED);

	/* A byte changed anywhere: refused. */
	for (size_t i = 0; i < n; i++) {
		char	*t = xstrdup(tok);

		t[i] = t[i] == '0' ? '1' : '0';
		if (strcmp(t, tok) != 0)
			CU_ASSERT_EQUAL(auth_token_verify(t, n, acct, region, NULL,
			    NULL), BERR_UNAUTHORIZED);
		free(t);
	}
	/* Cut short. */
	CU_ASSERT_EQUAL(auth_token_verify(tok, n - 1, acct, region, NULL,
	    NULL), BERR_UNAUTHORIZED);
	/* Another key (another berth, or a reset secret): refused. */
	auth_fixture(2);
	CU_ASSERT_EQUAL(auth_token_verify(tok, n, acct, region, NULL, NULL),
	    BERR_UNAUTHORIZED);
	free(tok);

	/* Issued before passwords named a principal: the account's root. */
	auth_fixture(1);
	tok = password_without_principal(now + 60);
	CU_ASSERT_EQUAL(auth_token_verify(tok, strlen(tok), acct, region,
	    principal, NULL), 0);
	CU_ASSERT_STRING_EQUAL(principal, "arn:aws:iam::" ACCT ":root");
	free(tok);

	/* Expired: refused, however well signed. */
	tok = auth_token_issue(ACCT, REGION, PRINCIPAL, now - 1);
	CU_ASSERT_EQUAL(auth_token_verify(tok, strlen(tok), acct, region, NULL,
	    NULL), BERR_UNAUTHORIZED);
	h = basic("AWS", tok);
	CU_ASSERT_EQUAL(auth_basic_identity(h, acct, region, NULL),
	    BERR_UNAUTHORIZED);
	free(h);
	free(tok);
	model_install(NULL);
}

static void
test_download(void)
{
	char	 acct[ACCOUNT_LEN + 1], region[REGION_MAX + 1], *g, *t;
	int64_t	 now = now_sec();

	auth_fixture(3);
	g = auth_download_issue(ACCT, REGION, REPO, DIGEST, now + 3600);
	CU_ASSERT_EQUAL(auth_download_verify(g, REPO, DIGEST, acct, region),
	    0);
	CU_ASSERT_STRING_EQUAL(acct, ACCT);
	CU_ASSERT_STRING_EQUAL(region, REGION);
	/* For that repository and that blob only. */
	CU_ASSERT_EQUAL(auth_download_verify(g, "team/other", DIGEST, acct,
	    region), BERR_DENIED);
	CU_ASSERT_EQUAL(auth_download_verify(g, REPO, "sha256:"
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    acct, region), BERR_DENIED);
	/* The account, region or expiry it names cannot be changed. */
	t = xstrdup(g);
	t[0] = t[0] == '1' ? '2' : '1';
	CU_ASSERT_EQUAL(auth_download_verify(t, REPO, DIGEST, acct, region),
	    BERR_DENIED);
	free(t);
	t = xstrdup(g);
	memcpy(strchr(t, '.') + 1, "eu-west-1", 9);
	CU_ASSERT_EQUAL(auth_download_verify(t, REPO, DIGEST, acct, region),
	    BERR_DENIED);
	free(t);
	xasprintf(&t, "%s.%s.%lld.%s", ACCT, REGION, (long long)now + 7200,
	    strrchr(g, '.') + 1);
	CU_ASSERT_EQUAL(auth_download_verify(t, REPO, DIGEST, acct, region),
	    BERR_DENIED);
	free(t);
	/* Malformed. */
	CU_ASSERT_EQUAL(auth_download_verify("", REPO, DIGEST, acct, region),
	    BERR_DENIED);
	CU_ASSERT_EQUAL(auth_download_verify("1.2.3.4", REPO, DIGEST, acct,
	    region), BERR_DENIED);
	/* It is not a password, nor a password a download grant. */
	CU_ASSERT_EQUAL(auth_token_verify(g, strlen(g), acct, region, NULL,
	    NULL), BERR_UNAUTHORIZED);
	t = auth_token_issue(ACCT, REGION, PRINCIPAL, now + 3600);
	CU_ASSERT_EQUAL(auth_download_verify(t, REPO, DIGEST, acct, region),
	    BERR_DENIED);
	free(t);
	free(g);
	/* Expired. */
	g = auth_download_issue(ACCT, REGION, REPO, DIGEST, now - 1);
	CU_ASSERT_EQUAL(auth_download_verify(g, REPO, DIGEST, acct, region),
	    BERR_DENIED);
	free(g);
	model_install(NULL);
}

int
test_auth_register(void)
{
	CU_pSuite s = CU_add_suite("auth", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "registry passwords", test_password) == NULL ||
	    CU_add_test(s, "download URLs", test_download) == NULL)
		return -1;
	return 0;
}
