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
 * Notary Project signatures (notaryproject/specifications, specs/
 * signature-specification.md and signature-envelope-jws.md): the signing
 * key and its certificate chain, the JWS envelope (flattened JSON
 * serialization, signing scheme notary.x509) over the payload
 * {"targetArtifact": <descriptor>}, and the signature manifest: an OCI
 * image manifest whose config has the media type
 * application/vnd.cncf.notary.signature (content "{}"), whose one layer is
 * the envelope (application/jose+json), whose subject is the signed image,
 * and whose annotations carry the chain's SHA-256 thumbprints.
 *
 * The algorithm follows the key, as the specification's table says: EC
 * P-256/384/521 sign ES256/384/512 (the JWS signature is r||s, not DER),
 * RSA 2048/3072/4096 sign PS256/384/512 with a salt as long as the hash.
 * A generated key is EC P-256 with a self-signed certificate that meets
 * the leaf requirements (keyUsage digitalSignature, critical; extended
 * key usage codeSigning; not a CA), which the specification allows as a
 * chain of one.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "berthd.h"
#include "registry.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define NOTARY_CHAIN_MAX	8
#define NOTARY_CERT_DAYS	3650

struct notary_key {
	EVP_PKEY	*pkey;
	X509		*chain[NOTARY_CHAIN_MAX];
	size_t		 nchain;
	const char	*alg;		/* JWS alg */
	const EVP_MD	*md;
	size_t		 ec_len;	/* bytes of r (and s); 0 for RSA */
};

void
notary_key_free(struct notary_key *k)
{
	size_t	 i;

	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	for (i = 0; i < k->nchain; i++)
		X509_free(k->chain[i]);
	free(k);
}

/* The algorithm of the specification's table for the key, or -1. */
static int
key_algorithm(struct notary_key *k, char *why, size_t whysz)
{
	int	 bits = EVP_PKEY_get_bits(k->pkey);

	switch (EVP_PKEY_get_base_id(k->pkey)) {
	case EVP_PKEY_EC:
		k->ec_len = (size_t)(bits + 7) / 8;
		if (bits == 256) {
			k->alg = "ES256";
			k->md = EVP_sha256();
		} else if (bits == 384) {
			k->alg = "ES384";
			k->md = EVP_sha384();
		} else if (bits == 521) {
			k->alg = "ES512";
			k->md = EVP_sha512();
		} else
			break;
		return 0;
	case EVP_PKEY_RSA:
		if (bits == 2048) {
			k->alg = "PS256";
			k->md = EVP_sha256();
		} else if (bits == 3072) {
			k->alg = "PS384";
			k->md = EVP_sha384();
		} else if (bits == 4096) {
			k->alg = "PS512";
			k->md = EVP_sha512();
		} else
			break;
		return 0;
	}
	snprintf(why, whysz, "the key is neither EC P-256, P-384 or P-521 nor "
	    "RSA 2048, 3072 or 4096");
	return -1;
}

struct notary_key *
notary_key_load(const char *pem, size_t len, char *why, size_t whysz)
{
	struct notary_key *k = xcalloc(1, sizeof(*k));
	BIO		*bio;
	X509		*x;

	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		fatalx("BIO_new_mem_buf");
	k->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (k->pkey == NULL) {
		snprintf(why, whysz, "no private key in PEM form");
		goto fail;
	}
	/* The certificates follow in any order of the file, leaf first. */
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		fatalx("BIO_new_mem_buf");
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (k->nchain == NOTARY_CHAIN_MAX) {
			X509_free(x);
			break;
		}
		k->chain[k->nchain++] = x;
	}
	BIO_free(bio);
	if (k->nchain == 0) {
		snprintf(why, whysz, "no certificate in PEM form after the key");
		goto fail;
	}
	if (X509_check_private_key(k->chain[0], k->pkey) != 1) {
		snprintf(why, whysz, "the first certificate is not the key's");
		goto fail;
	}
	if (key_algorithm(k, why, whysz) == -1)
		goto fail;
	return k;
fail:
	notary_key_free(k);
	return NULL;
}

static void
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		fatalx("certificate extension %d", nid);
	X509_EXTENSION_free(ext);
}

static char *
pem_of(int (*write)(BIO *, const void *), const void *obj)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*data, *out;
	long	 n;

	if (bio == NULL || write(bio, obj) != 1)
		fatalx("PEM encoding");
	n = BIO_get_mem_data(bio, &data);
	out = xstrndup(data, (size_t)n);
	BIO_free(bio);
	return out;
}

static int
write_key(BIO *bio, const void *k)
{
	return PEM_write_bio_PrivateKey(bio, (const EVP_PKEY *)k, NULL, NULL, 0,
	    NULL, NULL);
}

static int
write_cert(BIO *bio, const void *x)
{
	return PEM_write_bio_X509(bio, (const X509 *)x);
}

char *
notary_key_generate(const char *common_name)
{
	EVP_PKEY	*pkey;
	X509		*x;
	X509_NAME	*name;
	uint8_t		 serial[16];
	BIGNUM		*bn;
	char		*key_pem, *cert_pem, *pem;

	if ((pkey = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		fatalx("EC key generation");
	random_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		fatalx("certificate serial");
	BN_free(bn);
	X509_set_version(x, 2);
	/* Valid from a day ago: clocks of verifiers differ. */
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)NOTARY_CERT_DAYS * 86400);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"berth", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)common_name, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, pkey);
	add_ext(x, NID_basic_constraints, "critical,CA:FALSE");
	add_ext(x, NID_key_usage, "critical,digitalSignature");
	add_ext(x, NID_ext_key_usage, "codeSigning");
	add_ext(x, NID_subject_key_identifier, "hash");
	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		fatalx("certificate signature");
	key_pem = pem_of(write_key, pkey);
	cert_pem = pem_of(write_cert, x);
	xasprintf(&pem, "%s%s", key_pem, cert_pem);
	free(key_pem);
	free(cert_pem);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return pem;
}

char *
notary_chain_pem(const struct notary_key *k)
{
	char	*out = xstrdup(""), *pem, *cat;
	size_t	 i;

	for (i = 0; i < k->nchain; i++) {
		pem = pem_of(write_cert, k->chain[i]);
		xasprintf(&cat, "%s%s", out, pem);
		free(out);
		free(pem);
		out = cat;
	}
	return out;
}

/* Base64url without padding (RFC 7515 section 2). */
static char *
b64url(const uint8_t *in, size_t n)
{
	char	*out = xmalloc(base64_encoded_len(n) + 1);
	size_t	 i, len = base64_encode(in, n, out);

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (i = 0; i < len; i++)
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	return out;
}

static char *
b64url_str(const char *s)
{
	return b64url((const uint8_t *)s, strlen(s));
}

/* Signs in with the key's algorithm; the JWS form of the signature. */
static char *
jws_sign(const struct notary_key *k, const char *in)
{
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx;
	uint8_t		*sig, raw[2 * 66];
	size_t		 siglen;
	char		*out;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, &pctx, k->md, NULL, k->pkey) != 1)
		fatalx("EVP_DigestSignInit");
	if (k->ec_len == 0 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) !=
	    1))
		fatalx("RSA-PSS parameters");
	if (EVP_DigestSign(ctx, NULL, &siglen, (const uint8_t *)in,
	    strlen(in)) != 1)
		fatalx("EVP_DigestSign");
	sig = xmalloc(siglen);
	if (EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)in,
	    strlen(in)) != 1)
		fatalx("EVP_DigestSign");
	EVP_MD_CTX_free(ctx);
	if (k->ec_len > 0) {
		/* DER ECDSA-Sig-Value to the fixed-width r||s of RFC 7518
		 * section 3.4. */
		const uint8_t	*p = sig;
		ECDSA_SIG	*es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);

		if (es == NULL ||
		    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)k->ec_len) < 0 ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + k->ec_len,
		    (int)k->ec_len) < 0)
			fatalx("ECDSA signature conversion");
		ECDSA_SIG_free(es);
		out = b64url(raw, 2 * k->ec_len);
	} else
		out = b64url(sig, siglen);
	free(sig);
	return out;
}

static struct json_object *
descriptor(const char *media_type, const struct digest *d, uint64_t size)
{
	struct json_object *o = json_object_new_object();
	char	 s[DIGEST_STR_MAX];

	json_object_object_add(o, "mediaType",
	    json_object_new_string(media_type));
	json_object_object_add(o, "digest",
	    json_object_new_string(digest_format(d, s)));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	return o;
}

static char *
json_text(struct json_object *o)
{
	char	*s = xstrdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return s;
}

char *
notary_envelope(const struct notary_key *k, const char *media_type,
    const struct digest *target, uint64_t size, int64_t signing_time)
{
	struct json_object *payload, *protected, *crit, *env, *header, *x5c;
	char		 when[32], *p64, *h64, *input, *sig;
	time_t		 t = (time_t)signing_time;
	struct tm	 tm;
	size_t		 i;
	uint8_t		*der;
	int		 n;

	payload = json_object_new_object();
	json_object_object_add(payload, "targetArtifact",
	    descriptor(media_type, target, size));
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	protected = json_object_new_object();
	json_object_object_add(protected, "alg",
	    json_object_new_string(k->alg));
	crit = json_object_new_array();
	json_object_array_add(crit,
	    json_object_new_string("io.cncf.notary.signingScheme"));
	json_object_object_add(protected, "crit", crit);
	json_object_object_add(protected, "cty",
	    json_object_new_string(NOTARY_PAYLOAD_TYPE));
	json_object_object_add(protected, "io.cncf.notary.signingScheme",
	    json_object_new_string("notary.x509"));
	json_object_object_add(protected, "io.cncf.notary.signingTime",
	    json_object_new_string(when));
	p64 = json_text(payload);
	h64 = json_text(protected);
	{
		char *a = b64url_str(p64), *b = b64url_str(h64);

		free(p64);
		free(h64);
		p64 = a;
		h64 = b;
	}
	xasprintf(&input, "%s.%s", h64, p64);
	sig = jws_sign(k, input);
	free(input);

	x5c = json_object_new_array();
	for (i = 0; i < k->nchain; i++) {
		der = NULL;
		if ((n = i2d_X509(k->chain[i], &der)) <= 0)
			fatalx("i2d_X509");
		{
			char *b = xmalloc(base64_encoded_len((size_t)n) + 1);

			b[base64_encode(der, (size_t)n, b)] = '\0';
			json_object_array_add(x5c, json_object_new_string(b));
			free(b);
		}
		OPENSSL_free(der);
	}
	header = json_object_new_object();
	json_object_object_add(header, "x5c", x5c);
	json_object_object_add(header, "io.cncf.notary.signingAgent",
	    json_object_new_string("berth/" PACKAGE_VERSION));
	env = json_object_new_object();
	json_object_object_add(env, "payload", json_object_new_string(p64));
	json_object_object_add(env, "protected", json_object_new_string(h64));
	json_object_object_add(env, "header", header);
	json_object_object_add(env, "signature", json_object_new_string(sig));
	free(p64);
	free(h64);
	free(sig);
	return json_text(env);
}

char *
notary_manifest(const struct notary_key *k, const struct digest *envelope,
    uint64_t envelope_size, const char *subject_type,
    const struct digest *subject, uint64_t subject_size,
    const char *profile)
{
	struct json_object *m, *layers, *ann, *thumbs;
	struct digest	 config, thumb;
	uint8_t		*der;
	char		 hex[DIGEST_STR_MAX], *up;
	size_t		 i, j;
	int		 n;

	digest_compute(DIGEST_SHA256, "{}", 2, &config);
	m = json_object_new_object();
	json_object_object_add(m, "schemaVersion", json_object_new_int(2));
	json_object_object_add(m, "mediaType",
	    json_object_new_string(MT_OCI_MANIFEST));
	json_object_object_add(m, "config",
	    descriptor(NOTARY_ARTIFACT_TYPE, &config, 2));
	layers = json_object_new_array();
	json_object_array_add(layers, descriptor(NOTARY_ENVELOPE_TYPE,
	    envelope, envelope_size));
	json_object_object_add(m, "layers", layers);
	json_object_object_add(m, "subject",
	    descriptor(subject_type, subject, subject_size));
	thumbs = json_object_new_array();
	for (i = 0; i < k->nchain; i++) {
		der = NULL;
		if ((n = i2d_X509(k->chain[i], &der)) <= 0)
			fatalx("i2d_X509");
		digest_compute(DIGEST_SHA256, der, (size_t)n, &thumb);
		OPENSSL_free(der);
		up = digest_hex(&thumb, hex);
		for (j = 0; up[j] != '\0'; j++)
			if (up[j] >= 'a' && up[j] <= 'f')
				up[j] = (char)(up[j] - 'a' + 'A');
		json_object_array_add(thumbs, json_object_new_string(up));
	}
	ann = json_object_new_object();
	json_object_object_add(ann, "io.cncf.notary.x509chain.thumbprint#S256",
	    json_object_new_string(json_object_to_json_string_ext(thumbs,
	    JSON_C_TO_STRING_PLAIN)));
	json_object_put(thumbs);
	if (profile != NULL)
		json_object_object_add(ann, "dev.berth.signing-profile-arn",
		    json_object_new_string(profile));
	json_object_object_add(m, "annotations", ann);
	return json_text(m);
}
