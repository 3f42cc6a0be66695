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
 * Parsing, formatting and computing content digests (sha256, sha512),
 * one-shot and incremental, with libcrypto's SHA-256 and SHA-512
 * functions called directly rather than through EVP: they are the very
 * functions EVP's default provider calls (SHA-NI and all), but they need
 * no provider, no name map and no configuration, whose set-up at a
 * process's first EVP digest cost about 6 million instructions, two
 * thirds of berth-blobd's start; HMAC-SHA256 (SigV4, tokens) is built
 * on them for the same reason, and because EVP's HMAC() fetched its
 * implementation again at every call.  Only the Init, Update and Final
 * functions: OpenSSL 3's one-shot SHA256() goes through EVP, and without
 * it berth-blobd can link the SHA-2 objects of libcrypto.a alone
 * (configure's --enable-static-digests; ARCHITECTURE.md).  OpenSSL 3
 * marks them deprecated,
 * in favour of EVP: that is the one reason for the
 * OPENSSL_SUPPRESS_DEPRECATED below.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "digest.h"
#include "error.h"
#include "log.h"
#include "util.h"

struct digest_ctx {
	enum digest_algo algo;
	union {
		SHA256_CTX	 sha256;
		SHA512_CTX	 sha512;
	} u;
};

size_t
digest_raw_len(enum digest_algo algo)
{
	return algo == DIGEST_SHA512 ? 64 : 32;
}

const char *
digest_algo_name(enum digest_algo algo)
{
	return algo == DIGEST_SHA512 ? "sha512" : "sha256";
}

enum digest_algo
digest_algo_parse(const char *s, size_t n)
{
	if (n == 6 && memcmp(s, "sha256", 6) == 0)
		return DIGEST_SHA256;
	if (n == 6 && memcmp(s, "sha512", 6) == 0)
		return DIGEST_SHA512;
	return 0;
}

static int
is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The OCI digest grammar's algorithm and encoded parts. */
static int
digest_wellformed(const char *s, size_t n, size_t *colon)
{
	size_t	 i;
	int	 prev_sep = 1;

	for (i = 0; i < n && s[i] != ':'; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			prev_sep = 0;
		else if (c == '+' || c == '.' || c == '_' || c == '-') {
			if (prev_sep)
				return 0;
			prev_sep = 1;
		} else
			return 0;
	}
	if (i == 0 || i == n || prev_sep)
		return 0;
	*colon = i;
	if (i + 1 == n)
		return 0;
	for (i = i + 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '=' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

int
digest_parse(const char *s, size_t n, struct digest *d)
{
	enum digest_algo algo;
	size_t		 colon, i, hexlen;

	if (n >= DIGEST_STR_MAX + 64 || !digest_wellformed(s, n, &colon))
		return BERR_DIGEST_INVALID;
	if ((algo = digest_algo_parse(s, colon)) == 0)
		return BERR_DIGEST_UNSUPPORTED;
	hexlen = n - colon - 1;
	if (hexlen != 2 * digest_raw_len(algo))
		return BERR_DIGEST_INVALID;
	for (i = colon + 1; i < n; i++)
		if (!is_lower_hex(s[i]))
			return BERR_DIGEST_INVALID;
	memset(d, 0, sizeof(*d));
	d->algo = algo;
	if (hex_decode(s + colon + 1, hexlen, d->raw) == -1)
		return BERR_DIGEST_INVALID;
	return 0;
}

int
digest_parse_str(const char *s, struct digest *d)
{
	return digest_parse(s, strlen(s), d);
}

char *
digest_hex(const struct digest *d, char *out)
{
	hex_encode(d->raw, digest_raw_len(d->algo), out);
	return out;
}

char *
digest_format(const struct digest *d, char *out)
{
	size_t	 n = strlen(digest_algo_name(d->algo));

	memcpy(out, digest_algo_name(d->algo), n);
	out[n] = ':';
	hex_encode(d->raw, digest_raw_len(d->algo), out + n + 1);
	return out;
}

int
digest_eq(const struct digest *a, const struct digest *b)
{
	return a->algo == b->algo &&
	    memcmp(a->raw, b->raw, digest_raw_len(a->algo)) == 0;
}

int
digest_cmp(const struct digest *a, const struct digest *b)
{
	if (a->algo != b->algo)
		return a->algo < b->algo ? -1 : 1;
	return memcmp(a->raw, b->raw, digest_raw_len(a->algo));
}

/* RFC 2104 over SHA-256, whose blocks are 64 bytes. */
void
digest_hmac_sha256(const void *key, size_t klen, const void *msg,
    size_t mlen, uint8_t out[32])
{
	SHA256_CTX	 c;
	uint8_t		 k[64], pad[64], inner[32];
	size_t		 i;

	memset(k, 0, sizeof(k));
	if (klen > sizeof(k)) {
		SHA256_Init(&c);
		SHA256_Update(&c, key, klen);
		SHA256_Final(k, &c);
	} else if (klen > 0)
		memcpy(k, key, klen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	SHA256_Init(&c);
	SHA256_Update(&c, pad, sizeof(pad));
	SHA256_Update(&c, msg, mlen);
	SHA256_Final(inner, &c);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256_Init(&c);
	SHA256_Update(&c, pad, sizeof(pad));
	SHA256_Update(&c, inner, sizeof(inner));
	SHA256_Final(out, &c);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
	OPENSSL_cleanse(&c, sizeof(c));
}

void
digest_compute(enum digest_algo algo, const void *buf, size_t n,
    struct digest *out)
{
	SHA256_CTX	 c;
	SHA512_CTX	 c5;

	memset(out, 0, sizeof(*out));
	out->algo = algo;
	if (algo == DIGEST_SHA512) {
		SHA512_Init(&c5);
		SHA512_Update(&c5, buf, n);
		SHA512_Final(out->raw, &c5);
	} else {
		SHA256_Init(&c);
		SHA256_Update(&c, buf, n);
		SHA256_Final(out->raw, &c);
	}
}

struct digest_ctx *
digest_ctx_new(enum digest_algo algo)
{
	struct digest_ctx *ctx;

	ctx = xcalloc(1, sizeof(*ctx));
	ctx->algo = algo;
	digest_ctx_reset(ctx);
	return ctx;
}

void
digest_ctx_reset(struct digest_ctx *ctx)
{
	if (ctx->algo == DIGEST_SHA512)
		SHA512_Init(&ctx->u.sha512);
	else
		SHA256_Init(&ctx->u.sha256);
}

void
digest_ctx_update(struct digest_ctx *ctx, const void *buf, size_t n)
{
	if (ctx->algo == DIGEST_SHA512)
		SHA512_Update(&ctx->u.sha512, buf, n);
	else
		SHA256_Update(&ctx->u.sha256, buf, n);
}

void
digest_ctx_final(struct digest_ctx *ctx, struct digest *out)
{
	memset(out, 0, sizeof(*out));
	out->algo = ctx->algo;
	if (ctx->algo == DIGEST_SHA512)
		SHA512_Final(out->raw, &ctx->u.sha512);
	else
		SHA256_Final(out->raw, &ctx->u.sha256);
}

void
digest_ctx_free(struct digest_ctx *ctx)
{
	if (ctx == NULL)
		return;
	free(ctx);
}
