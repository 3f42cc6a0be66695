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
 * Registry passwords, as GetAuthorizationToken hands them out and the
 * registry side accepts them in Basic auth ("AWS:<password>").  A password
 * names its account, region, expiry and the principal it was issued to
 * (the caller of GetAuthorizationToken, whose pulls it makes) and carries
 * an HMAC-SHA256 over them under the key kept in the metadata, so berthd
 * verifies it alone and it stays valid across restarts.
 *
 *   berth1.<hex of "account:region:expires:principal">.<hex of the HMAC>
 *
 * A password issued before principals were (no ":principal") is the
 * default principal's of its account.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "berthd.h"
#include "error.h"
#include "log.h"
#include "name.h"
#include "util.h"

#define AUTH_PREFIX	"berth1."
#define AUTH_MAC_LEN	32
#define AUTH_PAYLOAD_MAX (ACCOUNT_LEN + 1 + REGION_MAX + 1 + 20 + 1 + \
			    PRINCIPAL_MAX)

static void
auth_mac(const char *payload, size_t len, uint8_t mac[AUTH_MAC_LEN])
{
	if (!model->have_secret)
		fatalx("auth: no signing key loaded");
	digest_hmac_sha256(model->secret, sizeof(model->secret), payload, len,
	    mac);
}

void
auth_principal_default(const char *account, char *out, size_t outsz)
{
	snprintf(out, outsz, "arn:aws:iam::%s:root", account);
}

char *
auth_token_issue(const char *account, const char *region,
    const char *principal, int64_t expires)
{
	char	 payload[AUTH_PAYLOAD_MAX + 1];
	char	 hexp[2 * AUTH_PAYLOAD_MAX + 1], hexm[2 * AUTH_MAC_LEN + 1];
	uint8_t	 mac[AUTH_MAC_LEN];
	char	*out;
	int	 n;

	n = snprintf(payload, sizeof(payload), "%s:%s:%lld:%s", account,
	    region, (long long)expires, principal);
	if (n < 0 || (size_t)n >= sizeof(payload))
		fatalx("auth_token_issue: payload too long");
	auth_mac(payload, (size_t)n, mac);
	hex_encode((const uint8_t *)payload, (size_t)n, hexp);
	hex_encode(mac, sizeof(mac), hexm);
	xasprintf(&out, "%s%s.%s", AUTH_PREFIX, hexp, hexm);
	return out;
}

int
auth_token_verify(const char *token, size_t len, char *account,
    char *region, char *principal, int64_t *expires)
{
	char		 payload[AUTH_PAYLOAD_MAX + 1], *p, *q, *e;
	uint8_t		 mac[AUTH_MAC_LEN], want[AUTH_MAC_LEN];
	const char	*dot;
	size_t		 plen, hexlen, preflen = strlen(AUTH_PREFIX);
	uint64_t	 exp;

	if (!model->have_secret || len <= preflen ||
	    memcmp(token, AUTH_PREFIX, preflen) != 0)
		return BERR_UNAUTHORIZED;
	token += preflen;
	len -= preflen;
	if ((dot = memchr(token, '.', len)) == NULL)
		return BERR_UNAUTHORIZED;
	hexlen = (size_t)(dot - token);
	if (hexlen % 2 != 0 || hexlen / 2 > AUTH_PAYLOAD_MAX ||
	    len - hexlen - 1 != 2 * AUTH_MAC_LEN)
		return BERR_UNAUTHORIZED;
	plen = hexlen / 2;
	if (hex_decode(token, hexlen, (uint8_t *)payload) == -1 ||
	    hex_decode(dot + 1, 2 * AUTH_MAC_LEN, mac) == -1)
		return BERR_UNAUTHORIZED;
	payload[plen] = '\0';
	auth_mac(payload, plen, want);
	if (CRYPTO_memcmp(mac, want, sizeof(mac)) != 0)
		return BERR_UNAUTHORIZED;
	/* Signed by us: the fields are ours, but check them anyway. */
	if (strlen(payload) != plen || (p = strchr(payload, ':')) == NULL ||
	    (q = strchr(p + 1, ':')) == NULL ||
	    (size_t)(p - payload) != ACCOUNT_LEN ||
	    (size_t)(q - p - 1) > REGION_MAX || q == p + 1)
		return BERR_UNAUTHORIZED;
	if ((e = strchr(q + 1, ':')) == NULL)
		e = q + 1 + strlen(q + 1);
	if (parse_u64(q + 1, (size_t)(e - q - 1), &exp) == -1 ||
	    strlen(e) > 1 + PRINCIPAL_MAX || (*e == ':' && e[1] == '\0'))
		return BERR_UNAUTHORIZED;
	if ((int64_t)exp <= now_sec())
		return BERR_UNAUTHORIZED;
	memcpy(account, payload, ACCOUNT_LEN);
	account[ACCOUNT_LEN] = '\0';
	memcpy(region, p + 1, (size_t)(q - p - 1));
	region[q - p - 1] = '\0';
	if (principal != NULL && *e == ':')
		strcpy(principal, e + 1);
	else if (principal != NULL)
		auth_principal_default(account, principal, PRINCIPAL_MAX + 1);
	if (expires != NULL)
		*expires = (int64_t)exp;
	return 0;
}

int
auth_basic_identity(const char *header, char *account, char *region,
    char *principal)
{
	uint8_t		 buf[1024];
	const char	*b64, *colon;
	ssize_t		 n;
	size_t		 len;

	if (header == NULL || strncasecmp(header, "Basic ", 6) != 0)
		return BERR_UNAUTHORIZED;
	b64 = header + 6;
	while (*b64 == ' ')
		b64++;
	len = strlen(b64);
	while (len > 0 && b64[len - 1] == ' ')
		len--;
	if ((n = base64_decode(b64, len, buf, sizeof(buf) - 1)) < 0)
		return BERR_UNAUTHORIZED;
	buf[n] = '\0';
	if ((colon = memchr(buf, ':', (size_t)n)) == NULL)
		return BERR_UNAUTHORIZED;
	/* ECR's user name is always AWS. */
	if ((const uint8_t *)colon - buf != 3 || memcmp(buf, "AWS", 3) != 0)
		return BERR_UNAUTHORIZED;
	return auth_token_verify(colon + 1,
	    (size_t)n - (size_t)((const uint8_t *)colon + 1 - buf), account,
	    region, principal, NULL);
}

/*
 * Download URLs (GetDownloadUrlForLayer) work without credentials, as
 * ECR's pre-signed URLs do: the URL carries
 * "<account>.<region>.<expires>.<hex HMAC>", the HMAC over a payload that
 * also names the repository and the digest and cannot be mistaken for a
 * password's (a password's payload starts with the account).
 */
static void
auth_download_mac(const char *account, const char *region,
    const char *repository, const char *digest, int64_t expires,
    uint8_t mac[AUTH_MAC_LEN])
{
	char	*payload;
	int	 n;

	n = xasprintf(&payload, "download\n%s\n%s\n%s\n%s\n%lld", account,
	    region, repository, digest, (long long)expires);
	auth_mac(payload, (size_t)n, mac);
	free(payload);
}

char *
auth_download_issue(const char *account, const char *region,
    const char *repository, const char *digest, int64_t expires)
{
	uint8_t	 mac[AUTH_MAC_LEN];
	char	 hexm[2 * AUTH_MAC_LEN + 1], *out;

	auth_download_mac(account, region, repository, digest, expires, mac);
	hex_encode(mac, sizeof(mac), hexm);
	xasprintf(&out, "%s.%s.%lld.%s", account, region, (long long)expires,
	    hexm);
	return out;
}

int
auth_download_verify(const char *param, const char *repository,
    const char *digest, char *account, char *region)
{
	char		 acct[ACCOUNT_LEN + 1], reg[REGION_MAX + 1];
	uint8_t		 mac[AUTH_MAC_LEN], want[AUTH_MAC_LEN];
	const char	*p, *q, *r;
	uint64_t	 exp;

	if (!model->have_secret || (p = strchr(param, '.')) == NULL ||
	    (q = strchr(p + 1, '.')) == NULL ||
	    (r = strchr(q + 1, '.')) == NULL)
		return BERR_DENIED;
	if ((size_t)(p - param) != ACCOUNT_LEN ||
	    !name_account_valid(param, ACCOUNT_LEN) ||
	    (size_t)(q - p - 1) > REGION_MAX ||
	    !name_region_valid(p + 1, (size_t)(q - p - 1)) ||
	    parse_u64(q + 1, (size_t)(r - q - 1), &exp) == -1 ||
	    exp > INT64_MAX || strlen(r + 1) != 2 * AUTH_MAC_LEN ||
	    hex_decode(r + 1, 2 * AUTH_MAC_LEN, mac) == -1)
		return BERR_DENIED;
	memcpy(acct, param, ACCOUNT_LEN);
	acct[ACCOUNT_LEN] = '\0';
	memcpy(reg, p + 1, (size_t)(q - p - 1));
	reg[q - p - 1] = '\0';
	auth_download_mac(acct, reg, repository, digest, (int64_t)exp, want);
	if (CRYPTO_memcmp(mac, want, sizeof(mac)) != 0 ||
	    (int64_t)exp <= now_sec())
		return BERR_DENIED;
	strcpy(account, acct);
	strcpy(region, reg);
	return 0;
}
