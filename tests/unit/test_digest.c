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

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "digest.h"
#include "error.h"
#include "unit.h"

#define SHA256_EMPTY "sha256:" \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "sha256:" \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA512_ABC "sha512:" \
	"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define SHA512_EMPTY "sha512:" \
	"cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" \
	"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
/* sha256 of 1000 'x' bytes */
#define SHA256_1000X "sha256:" \
	"44f8354494a5ba03ba1792a8d3e9c534c47a9181980fde7a3f44b06ef2ae7c7f"

static void
test_digest_vectors(void)
{
	struct digest	 d;
	char		 out[DIGEST_STR_MAX], hex[129];

	digest_compute(DIGEST_SHA256, "", 0, &d);
	CU_ASSERT_EQUAL(d.algo, DIGEST_SHA256);
	CU_ASSERT_STRING_EQUAL(digest_format(&d, out), SHA256_EMPTY);
	CU_ASSERT_EQUAL(d.raw[0], 0xe3);
	CU_ASSERT_EQUAL(d.raw[31], 0x55);

	digest_compute(DIGEST_SHA256, "abc", 3, &d);
	CU_ASSERT_STRING_EQUAL(digest_format(&d, out), SHA256_ABC);
	CU_ASSERT_STRING_EQUAL(digest_hex(&d, hex), &SHA256_ABC[7]);

	digest_compute(DIGEST_SHA512, "abc", 3, &d);
	CU_ASSERT_EQUAL(d.algo, DIGEST_SHA512);
	CU_ASSERT_STRING_EQUAL(digest_format(&d, out), SHA512_ABC);
	CU_ASSERT_STRING_EQUAL(digest_hex(&d, hex), &SHA512_ABC[7]);
	CU_ASSERT_EQUAL(strlen(out), DIGEST_STR_MAX - 1);

	digest_compute(DIGEST_SHA512, "", 0, &d);
	CU_ASSERT_STRING_EQUAL(digest_format(&d, out), SHA512_EMPTY);
}

static void
test_digest_roundtrip(void)
{
	static const char *const good[] = {
		SHA256_EMPTY, SHA256_ABC, SHA512_ABC, SHA512_EMPTY,
	};
	struct digest	 d, c;
	char		 out[DIGEST_STR_MAX];
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&d, 0xa5, sizeof(d));
		CU_ASSERT_EQUAL_FATAL(digest_parse_str(good[i], &d), 0);
		CU_ASSERT_STRING_EQUAL(digest_format(&d, out), good[i]);
		CU_ASSERT_EQUAL(d.algo, strncmp(good[i], "sha512", 6) == 0 ?
		    DIGEST_SHA512 : DIGEST_SHA256);
		/* The unused tail of raw is zeroed, so eq/cmp are stable. */
		if (d.algo == DIGEST_SHA256) {
			static const uint8_t zero[32];
			CU_ASSERT_EQUAL(memcmp(d.raw + 32, zero, 32), 0);
		}
	}
	/* digest_parse honours n: the same digest inside a longer string. */
	CU_ASSERT_EQUAL(digest_parse(SHA256_ABC "trailing", strlen(SHA256_ABC),
	    &d), 0);
	digest_compute(DIGEST_SHA256, "abc", 3, &c);
	CU_ASSERT_TRUE(digest_eq(&d, &c));
}

static void
test_digest_algo(void)
{
	CU_ASSERT_EQUAL(digest_algo_parse("sha256", 6), DIGEST_SHA256);
	CU_ASSERT_EQUAL(digest_algo_parse("sha512", 6), DIGEST_SHA512);
	CU_ASSERT_EQUAL(digest_algo_parse("sha384", 6), 0);
	CU_ASSERT_EQUAL(digest_algo_parse("sha25", 5), 0);
	CU_ASSERT_EQUAL(digest_algo_parse("sha2566", 7), 0);
	CU_ASSERT_EQUAL(digest_algo_parse("SHA256", 6), 0);
	CU_ASSERT_EQUAL(digest_algo_parse("", 0), 0);
	CU_ASSERT_STRING_EQUAL(digest_algo_name(DIGEST_SHA256), "sha256");
	CU_ASSERT_STRING_EQUAL(digest_algo_name(DIGEST_SHA512), "sha512");
	CU_ASSERT_EQUAL(digest_raw_len(DIGEST_SHA256), 32);
	CU_ASSERT_EQUAL(digest_raw_len(DIGEST_SHA512), 64);
}

static void
test_digest_incremental(void)
{
	static const size_t pieces[] = { 1, 3, 7, 0, 64, 65, 127, 13, 5 };
	uint8_t			 buf[4099];
	struct digest_ctx	*ctx;
	struct digest		 one, inc;
	size_t			 i, off, n;
	int			 a;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	for (a = DIGEST_SHA256; a <= DIGEST_SHA512; a++) {
		digest_compute(a, buf, sizeof(buf), &one);
		ctx = digest_ctx_new(a);
		for (off = 0, i = 0; off < sizeof(buf); i++) {
			n = pieces[i % (sizeof(pieces) / sizeof(pieces[0]))];
			if (n > sizeof(buf) - off)
				n = sizeof(buf) - off;
			digest_ctx_update(ctx, buf + off, n);
			off += n;
		}
		digest_ctx_final(ctx, &inc);
		CU_ASSERT_EQUAL(inc.algo, (enum digest_algo)a);
		CU_ASSERT_TRUE(digest_eq(&one, &inc));
		CU_ASSERT_EQUAL(digest_cmp(&one, &inc), 0);

		/* After a reset the context starts over. */
		digest_ctx_reset(ctx);
		digest_ctx_update(ctx, "ab", 2);
		digest_ctx_update(ctx, "c", 1);
		digest_ctx_final(ctx, &inc);
		digest_compute(a, "abc", 3, &one);
		CU_ASSERT_TRUE(digest_eq(&one, &inc));

		/* A reset discards data fed before it. */
		digest_ctx_reset(ctx);
		digest_ctx_update(ctx, "garbage", 7);
		digest_ctx_reset(ctx);
		digest_ctx_final(ctx, &inc);
		digest_compute(a, "", 0, &one);
		CU_ASSERT_TRUE(digest_eq(&one, &inc));
		digest_ctx_free(ctx);
	}

	/* 1000 bytes in pieces against a vector computed elsewhere. */
	memset(buf, 'x', 1000);
	ctx = digest_ctx_new(DIGEST_SHA256);
	for (off = 0; off < 1000; off += 9)
		digest_ctx_update(ctx, buf + off, off + 9 > 1000 ? 1000 - off :
		    9);
	digest_ctx_final(ctx, &inc);
	digest_ctx_free(ctx);
	CU_ASSERT_EQUAL(digest_parse_str(SHA256_1000X, &one), 0);
	CU_ASSERT_TRUE(digest_eq(&one, &inc));
	digest_ctx_free(NULL);
}

static void
test_digest_reject(void)
{
	static const struct {
		const char	*s;
		int		 want;
	} cases[] = {
		/* uppercase hex */
		{ "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA4959"
		  "91B7852B855", BERR_DIGEST_INVALID },
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
		  "91b7852b85A", BERR_DIGEST_INVALID },
		/* wrong length for the algorithm */
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
		  "91b7852b85", BERR_DIGEST_INVALID },
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
		  "91b7852b8555", BERR_DIGEST_INVALID },
		{ "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410f"
		  "f61f20015ad", BERR_DIGEST_INVALID },
		/* no colon, empty parts */
		{ "sha256e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
		  "91b7852b855", BERR_DIGEST_INVALID },
		{ ":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b78"
		  "52b855", BERR_DIGEST_INVALID },
		{ "sha256:", BERR_DIGEST_INVALID },
		{ ":", BERR_DIGEST_INVALID },
		{ "", BERR_DIGEST_INVALID },
		/* characters outside the grammar */
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
		  "91b7852b85g", BERR_DIGEST_INVALID },
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
		  "91b7852b85 ", BERR_DIGEST_INVALID },
		{ "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
		  "91b7852b8:5", BERR_DIGEST_INVALID },
		{ " sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495"
		  "991b7852b855", BERR_DIGEST_INVALID },
		/* the algorithm grammar */
		{ "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
		  "91b7852b855", BERR_DIGEST_INVALID },
		{ "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
		  BERR_DIGEST_UNSUPPORTED },
		{ "md5:d41d8cd98f00b204e9800998ecf8427e",
		  BERR_DIGEST_UNSUPPORTED },
		{ "sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc"
		  "7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b",
		  BERR_DIGEST_UNSUPPORTED },
		{ "a.b-c_d+e:xyz=", BERR_DIGEST_UNSUPPORTED },
		{ "+sha256:abc", BERR_DIGEST_INVALID },
		{ "sha256+:abc", BERR_DIGEST_INVALID },
		{ "sha256++b64u:abc", BERR_DIGEST_INVALID },
		{ "sha256.-x:abc", BERR_DIGEST_INVALID },
		{ "sha_256:ab/c", BERR_DIGEST_INVALID },
		{ "sha256:ab+c", BERR_DIGEST_INVALID },
	};
	struct digest	 d;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = digest_parse_str(cases[i].s, &d);
		CU_ASSERT_EQUAL(rc, cases[i].want);
		if (rc != cases[i].want)
			fprintf(stderr, "\n  digest \"%s\": %d, want %d\n",
			    cases[i].s, rc, cases[i].want);
	}
	/* An embedded NUL within n is not part of the grammar. */
	CU_ASSERT_EQUAL(digest_parse(SHA256_ABC, strlen(SHA256_ABC) + 1, &d),
	    BERR_DIGEST_INVALID);
	/* An absurdly long but well-formed digest is refused as invalid. */
	{
		char	 longd[400];

		memcpy(longd, "sha256:", 7);
		memset(longd + 7, 'a', sizeof(longd) - 8);
		longd[sizeof(longd) - 1] = '\0';
		CU_ASSERT_EQUAL(digest_parse_str(longd, &d),
		    BERR_DIGEST_INVALID);
	}
}

static void
test_digest_compare(void)
{
	struct digest	 a, b, c, x;

	digest_compute(DIGEST_SHA256, "abc", 3, &a);
	CU_ASSERT_EQUAL(digest_parse_str(SHA256_ABC, &b), 0);
	CU_ASSERT_TRUE(digest_eq(&a, &b));
	CU_ASSERT_EQUAL(digest_cmp(&a, &b), 0);

	/* sha256("") = e3..., sha256("abc") = ba...: "abc" sorts first. */
	digest_compute(DIGEST_SHA256, "", 0, &c);
	CU_ASSERT_FALSE(digest_eq(&a, &c));
	CU_ASSERT_TRUE(digest_cmp(&a, &c) < 0);
	CU_ASSERT_TRUE(digest_cmp(&c, &a) > 0);

	/* Same leading bytes, different algorithms: never equal; sha256
	 * sorts before sha512. */
	x = a;
	x.algo = DIGEST_SHA512;
	CU_ASSERT_FALSE(digest_eq(&a, &x));
	CU_ASSERT_TRUE(digest_cmp(&a, &x) < 0);
	CU_ASSERT_TRUE(digest_cmp(&x, &a) > 0);

	/* Only the last byte differs. */
	x = a;
	x.raw[31] ^= 1;
	CU_ASSERT_FALSE(digest_eq(&a, &x));
	CU_ASSERT_NOT_EQUAL(digest_cmp(&a, &x), 0);
	/* Bytes beyond the algorithm's length do not count. */
	x = a;
	x.raw[32] ^= 1;
	CU_ASSERT_TRUE(digest_eq(&a, &x));
	CU_ASSERT_EQUAL(digest_cmp(&a, &x), 0);
}

static void
hex32(const uint8_t *b, char out[65])
{
	int	 i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* RFC 4231's vectors, then libcrypto's HMAC() for every key length around
 * the 64-byte block and a few message lengths. */
static void
test_digest_hmac(void)
{
	uint8_t		 key[131], msg[200], mac[32], want[32];
	char		 hex[65];
	unsigned int	 wlen;
	size_t		 kl, ml, i;
	const size_t	 mls[] = { 0, 1, 55, 56, 63, 64, 65, 200 };

	memset(key, 0x0b, 20);
	digest_hmac_sha256(key, 20, "Hi There", 8, mac);
	hex32(mac, hex);
	CU_ASSERT_STRING_EQUAL(hex, "b0344c61d8db38535ca8afceaf0bf12b"
	    "881dc200c9833da726e9376c2e32cff7");
	digest_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28,
	    mac);
	hex32(mac, hex);
	CU_ASSERT_STRING_EQUAL(hex, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
	memset(key, 0xaa, 131);
	digest_hmac_sha256(key, 131,
	    "Test Using Larger Than Block-Size Key - Hash Key First", 54, mac);
	hex32(mac, hex);
	CU_ASSERT_STRING_EQUAL(hex, "60e431591ee0b67f0d8a26aacbf5b77f"
	    "8e0bc6213728c5140546040f0ee37f54");

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 13 + 1);
	for (kl = 0; kl <= sizeof(key); kl++)
		for (i = 0; i < sizeof(mls) / sizeof(mls[0]); i++) {
			ml = mls[i];
			digest_hmac_sha256(key, kl, msg, ml, mac);
			wlen = sizeof(want);
			CU_ASSERT_PTR_NOT_NULL(HMAC(EVP_sha256(), key,
			    (int)kl, msg, ml, want, &wlen));
			CU_ASSERT_EQUAL(memcmp(mac, want, sizeof(mac)), 0);
		}
}

int
test_digest_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("digest", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "known vectors", test_digest_vectors) == NULL ||
	    CU_add_test(s, "parse/format round trip", test_digest_roundtrip) ==
	    NULL ||
	    CU_add_test(s, "algorithm names", test_digest_algo) == NULL ||
	    CU_add_test(s, "incremental == one-shot",
	    test_digest_incremental) == NULL ||
	    CU_add_test(s, "rejections", test_digest_reject) == NULL ||
	    CU_add_test(s, "eq and cmp", test_digest_compare) == NULL ||
	    CU_add_test(s, "HMAC-SHA256", test_digest_hmac) == NULL)
		return -1;
	return 0;
}
