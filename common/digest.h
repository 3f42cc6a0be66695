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
 * Content digests: "sha256:<64 hex>" and "sha512:<128 hex>", lower-case
 * hex only, as the OCI image spec registers them.
 */
#ifndef BERTH_DIGEST_H
#define BERTH_DIGEST_H

#include <stddef.h>
#include <stdint.h>

enum digest_algo { DIGEST_SHA256 = 1, DIGEST_SHA512 = 2 };

#define DIGEST_RAW_MAX	64
/* "sha512:" + 128 hex digits + NUL */
#define DIGEST_STR_MAX	136

struct digest {
	enum digest_algo algo;
	uint8_t		 raw[DIGEST_RAW_MAX];
};

/*
 * Parses s[0..n).  Returns 0; BERR_DIGEST_UNSUPPORTED for a well-formed
 * digest of another algorithm; BERR_DIGEST_INVALID for anything else.
 */
int		 digest_parse(const char *s, size_t n, struct digest *);
int		 digest_parse_str(const char *s, struct digest *);
/* Writes "algo:hex" into out (DIGEST_STR_MAX bytes); returns out. */
char		*digest_format(const struct digest *, char *out);
/* Only the hex part (129 bytes is enough). */
char		*digest_hex(const struct digest *, char *out);
size_t		 digest_raw_len(enum digest_algo);
const char	*digest_algo_name(enum digest_algo);
/* Parses an algorithm name ("sha256"); returns 0 if unknown. */
enum digest_algo digest_algo_parse(const char *, size_t);
int		 digest_eq(const struct digest *, const struct digest *);
int		 digest_cmp(const struct digest *, const struct digest *);
/* HMAC-SHA256 (RFC 2104) of msg under key into out. */
void		 digest_hmac_sha256(const void *key, size_t klen,
		    const void *msg, size_t mlen, uint8_t out[32]);
/* One-shot. */
void		 digest_compute(enum digest_algo, const void *, size_t,
		    struct digest *);

/* Incremental hashing: new/update/final; free accepts NULL. */
struct digest_ctx;
struct digest_ctx *digest_ctx_new(enum digest_algo);
void		 digest_ctx_update(struct digest_ctx *, const void *, size_t);
/* Finishes into out; the context may be reused after digest_ctx_reset. */
void		 digest_ctx_final(struct digest_ctx *, struct digest *out);
void		 digest_ctx_reset(struct digest_ctx *);
void		 digest_ctx_free(struct digest_ctx *);

#endif
