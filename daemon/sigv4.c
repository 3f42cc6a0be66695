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
 * AWS Signature Version 4 as ECR's clients send it: the Authorization
 * header's parts, the identity they name, and, with --credentials, the
 * verification AWS does (canonical request, string to sign, signing key,
 * a 15-minute clock skew), answered with AWS's exceptions.
 *
 * The credentials file maps access keys to secrets (and accounts, and
 * the IAM principals they stand for):
 *   # comment
 *   ACCESS_KEY_ID  SECRET_ACCESS_KEY  [ACCOUNT_ID] [PRINCIPAL_ARN]
 * A principal's ARN names its account; with both, they must agree.
 * berthd reads it at start and again on SIGHUP (a file that does not
 * load leaves the previous keys in force).
 *
 * HTTP status: AWS's JSON services answer these errors with 400 (ECR's
 * UnrecognizedClientException: "400 Bad Request", aws/aws-sdk-php issue
 * 1114; ecs-cli, "status code: 400"), unlike the REST services' 403.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "berthd.h"
#include "ecr.h"
#include "log.h"
#include "util.h"

#define SIGV4_ALGORITHM		"AWS4-HMAC-SHA256"
#define SIGV4_SKEW_SEC		(15 * 60)
#define SIGV4_SERVICE		"ecr"
#define SIGV4_HEADER_VALUES	16

struct sigv4_credential {
	char	*access_key;
	char	*secret;
	char	 account[ACCOUNT_LEN + 1];	/* "" when not given */
	char	 principal[PRINCIPAL_MAX + 1];	/* "" when not given */
};

static struct sigv4_credential	*sigv4_creds;
static size_t			 sigv4_ncreds;
static int			 sigv4_loaded;

/* --- the credentials file ------------------------------------------------ */

static void
creds_free(struct sigv4_credential *c, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(c[i].access_key);
		if (c[i].secret != NULL) {
			explicit_bzero(c[i].secret, strlen(c[i].secret));
			free(c[i].secret);
		}
	}
	free(c);
}

static int	sigv4_credentials_read(FILE *, const char *);

/*
 * Whether s is a principal the credentials file may name: an ARN
 * RegisterPullTimeUpdateExclusion accepts (an IAM user or role, the
 * model's PrincipalArn), of account when that is not NULL.
 */
static int
sigv4_principal_valid(const char *s, const char *account)
{
	static int	 shape = -1;
	const char	*acct;
	size_t		 i;

	if (shape == -1) {
		for (i = 0; i < ecr_nshapes; i++)
			if (strcmp(ecr_shapes[i].name, "PrincipalArn") == 0)
				shape = (int)i;
		if (shape == -1)
			fatalx("the API model has no PrincipalArn");
	}
	if (strlen(s) > PRINCIPAL_MAX || !ecr_pattern_match(shape, s,
	    strlen(s)) || (acct = strstr(s, ":iam::")) == NULL)
		return 0;
	return account == NULL || strncmp(acct + 6, account,
	    ACCOUNT_LEN) == 0;
}

int
sigv4_credentials_load(const char *path)
{
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL) {
		log_warn("credentials file %s", path);
		return -1;
	}
	return sigv4_credentials_read(f, path);
}

int
sigv4_credentials_load_fd(int fd, const char *path)
{
	FILE	*f;

	if ((f = fdopen(fd, "r")) == NULL) {
		log_warn("credentials file %s", path);
		close(fd);
		return -1;
	}
	return sigv4_credentials_read(f, path);
}

struct creds_read {
	const char	*path;
	struct sigv4_credential *c;
	size_t		 n;
};

static int
creds_line(char **fields, size_t nf, size_t lineno, void *arg)
{
	struct creds_read *cr = arg;
	const char	*account = NULL, *principal = NULL;
	size_t		 i;

	if (nf >= 3 && strncmp(fields[2], "arn:", 4) == 0)
		principal = fields[2];
	else if (nf >= 3) {
		account = fields[2];
		principal = nf == 4 ? fields[3] : NULL;
	}
	if (nf < 2 || nf > 4 || (nf == 4 && account == NULL) ||
	    strlen(fields[0]) > 128 || strlen(fields[1]) > 128 ||
	    (account != NULL && (strlen(account) != ACCOUNT_LEN ||
	    !name_account_valid(account, ACCOUNT_LEN)))) {
		log_warnx("%s:%zu: want ACCESS_KEY SECRET [12-digit ACCOUNT] "
		    "[PRINCIPAL_ARN]", cr->path, lineno);
		return -1;
	}
	if (principal != NULL && !sigv4_principal_valid(principal, account)) {
		log_warnx("%s:%zu: %.*s is not the ARN of an IAM user or "
		    "role%s (arn:aws:iam::ACCOUNT:user/NAME or role/NAME)",
		    cr->path, lineno, PRINCIPAL_MAX, principal,
		    account != NULL ? " of that account" : "");
		return -1;
	}
	for (i = 0; i < cr->n; i++)
		if (strcmp(cr->c[i].access_key, fields[0]) == 0) {
			log_warnx("%s:%zu: access key %s given twice",
			    cr->path, lineno, fields[0]);
			return -1;
		}
	cr->c = xreallocarray(cr->c, cr->n + 1, sizeof(*cr->c));
	memset(&cr->c[cr->n], 0, sizeof(cr->c[cr->n]));
	cr->c[cr->n].access_key = xstrdup(fields[0]);
	cr->c[cr->n].secret = xstrdup(fields[1]);
	if (principal != NULL) {
		strcpy(cr->c[cr->n].principal, principal);
		/* arn:PARTITION:iam::ACCOUNT:... */
		memcpy(cr->c[cr->n].account, strstr(principal, ":iam::") + 6,
		    ACCOUNT_LEN);
	} else if (account != NULL)
		strcpy(cr->c[cr->n].account, account);
	cr->n++;
	return 0;
}

/* Reads the credentials from f, which is closed. */
static int
sigv4_credentials_read(FILE *f, const char *path)
{
	struct creds_read cr = { path, NULL, 0 };
	int		 rc;

	rc = fields_read(f, path, FIELDS_HASH_ANYWHERE, 4, creds_line, &cr);
	fclose(f);
	if (rc != 0) {
		creds_free(cr.c, cr.n);
		return -1;
	}
	creds_free(sigv4_creds, sigv4_ncreds);
	sigv4_creds = cr.c;
	sigv4_ncreds = cr.n;
	sigv4_loaded = 1;
	log_info("%zu access keys loaded from %s", sigv4_ncreds, path);
	return 0;
}

int
sigv4_verifying(void)
{
	return sigv4_loaded;
}

static const struct sigv4_credential *
credential_find(const char *access_key)
{
	size_t	 i;

	for (i = 0; i < sigv4_ncreds; i++)
		if (strcmp(sigv4_creds[i].access_key, access_key) == 0)
			return &sigv4_creds[i];
	return NULL;
}

/* --- the Authorization header -------------------------------------------- */

/* Copies [p, p+n) into out (outsz) unless too long; 0 or -1. */
static int
copy_part(char *out, size_t outsz, const char *p, size_t n)
{
	if (n >= outsz)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
sigv4_parse(const char *h, struct sigv4_auth *a, char *why, size_t whysz)
{
	const char	*p, *end, *val, *slash[4];
	size_t		 n, vlen, i;
	int		 have_cred = 0, have_sh = 0, have_sig = 0;

	memset(a, 0, sizeof(*a));
	why[0] = '\0';
	while (*h == ' ')
		h++;
	n = strcspn(h, " ");
	if (n != strlen(SIGV4_ALGORITHM) ||
	    memcmp(h, SIGV4_ALGORITHM, n) != 0) {
		snprintf(why, whysz, "Unsupported AWS 'algorithm': '%.*s'",
		    (int)(n > 64 ? 64 : n), h);
		return -1;
	}
	p = h + n;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, ",");
		val = memchr(p, '=', (size_t)(end - p));
		if (val == NULL) {
			snprintf(why, whysz, "'%.*s' not a valid key=value "
			    "pair (missing equal-sign) in Authorization header",
			    (int)((end - p) > 64 ? 64 : end - p), p);
			return -1;
		}
		n = (size_t)(val - p);
		val++;
		vlen = (size_t)(end - val);
		while (vlen > 0 && val[vlen - 1] == ' ')
			vlen--;
		if (n == 10 && memcmp(p, "Credential", n) == 0) {
			if (copy_part(a->credential, sizeof(a->credential),
			    val, vlen) == -1)
				goto toolong;
			have_cred = 1;
		} else if (n == 13 && memcmp(p, "SignedHeaders", n) == 0) {
			if (copy_part(a->signed_headers,
			    sizeof(a->signed_headers), val, vlen) == -1)
				goto toolong;
			have_sh = 1;
		} else if (n == 9 && memcmp(p, "Signature", n) == 0) {
			if (copy_part(a->signature, sizeof(a->signature), val,
			    vlen) == -1)
				goto toolong;
			have_sig = 1;
		}
		p = end;
	}
	if (!have_cred || !have_sh || !have_sig) {
		snprintf(why, whysz, "%s%s%sAuthorization=%.200s",
		    have_cred ? "" : "Authorization header requires "
		    "'Credential' parameter. ",
		    have_sig ? "" : "Authorization header requires "
		    "'Signature' parameter. ",
		    have_sh ? "" : "Authorization header requires "
		    "'SignedHeaders' parameter. ", h);
		return -1;
	}
	/* keyid/date/region/service/aws4_request; the key id may not hold
	 * a '/', the others may not be empty. */
	p = a->credential;
	for (i = 0; i < 4; i++) {
		if ((slash[i] = strchr(p, '/')) == NULL)
			break;
		p = slash[i] + 1;
	}
	if (i < 4 || strchr(p, '/') != NULL || slash[0] == a->credential) {
		snprintf(why, whysz, "Credential must have exactly 5 "
		    "slash-delimited elements, e.g. keyid/date/region/service/"
		    "term, got '%.200s'", a->credential);
		return -1;
	}
	if (copy_part(a->access_key, sizeof(a->access_key), a->credential,
	    (size_t)(slash[0] - a->credential)) == -1 ||
	    copy_part(a->date, sizeof(a->date), slash[0] + 1,
	    (size_t)(slash[1] - slash[0] - 1)) == -1 ||
	    copy_part(a->region, sizeof(a->region), slash[1] + 1,
	    (size_t)(slash[2] - slash[1] - 1)) == -1 ||
	    copy_part(a->service, sizeof(a->service), slash[2] + 1,
	    (size_t)(slash[3] - slash[2] - 1)) == -1 ||
	    copy_part(a->terminator, sizeof(a->terminator), slash[3] + 1,
	    strlen(slash[3] + 1)) == -1) {
		snprintf(why, whysz, "Credential must have exactly 5 "
		    "slash-delimited elements, e.g. keyid/date/region/service/"
		    "term, got '%.200s'", a->credential);
		return -1;
	}
	if (a->signed_headers[0] == '\0') {
		snprintf(why, whysz, "Authorization header requires "
		    "'SignedHeaders' parameter. Authorization=%.200s", h);
		return -1;
	}
	return 0;
toolong:
	snprintf(why, whysz, "Authorization header is malformed. "
	    "Authorization=%.200s", h);
	return -1;
}

/* --- the canonical request ----------------------------------------------- */

static void
sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t	 md[SHA256_DIGEST_LENGTH];

	SHA256(p, n, md);
	hex_encode(md, sizeof(md), out);
}

/* RFC 3986 encoding of everything but the unreserved set (and '/'). */
static void
uri_encode(struct wbuf *w, const char *s, size_t n, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t	 i;
	char	 e[3];

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~' || (keep_slash && c == '/')) {
			wbuf_put(w, &s[i], 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		wbuf_put(w, e, 3);
	}
}

/* Percent-decodes s[0..n) into a new string (bad escapes kept as is). */
static char *
pct_decode(const char *s, size_t n, size_t *outlen)
{
	char	*out = xmalloc(n + 1);
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    hex_digit_value((unsigned char)s[i + 1]) >= 0 &&
		    hex_digit_value((unsigned char)s[i + 2]) >= 0) {
			out[o++] = (char)(hex_digit_value(
			    (unsigned char)s[i + 1]) * 16 +
			    hex_digit_value((unsigned char)s[i + 2]));
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

struct qparam {
	char	*key;	/* encoded */
	char	*value;
};

static int
qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int		 c;

	if ((c = strcmp(x->key, y->key)) != 0)
		return c;
	return strcmp(x->value, y->value);
}

static char *
encoded(const char *s, size_t n)
{
	struct wbuf	 w;
	char		*d, *out;
	size_t		 dl;

	d = pct_decode(s, n, &dl);
	wbuf_init(&w);
	uri_encode(&w, d, dl, 0);
	wbuf_put(&w, "", 1);
	free(d);
	out = xstrdup((const char *)w.data);
	wbuf_clear(&w);
	return out;
}

static void
canonical_query(struct wbuf *w, const char *q)
{
	struct qparam	*ps = NULL;
	const char	*p, *end, *eq;
	size_t		 n = 0, i;

	if (q == NULL || *q == '\0')
		return;
	for (p = q; *p != '\0'; p = *end == '&' ? end + 1 : end) {
		end = p + strcspn(p, "&");
		if (end == p)
			continue;
		eq = memchr(p, '=', (size_t)(end - p));
		ps = xreallocarray(ps, n + 1, sizeof(*ps));
		if (eq == NULL) {
			ps[n].key = encoded(p, (size_t)(end - p));
			ps[n].value = xstrdup("");
		} else {
			ps[n].key = encoded(p, (size_t)(eq - p));
			ps[n].value = encoded(eq + 1, (size_t)(end - eq - 1));
		}
		n++;
	}
	qsort(ps, n, sizeof(*ps), qparam_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0)
			wbuf_put(w, "&", 1);
		wbuf_put(w, ps[i].key, strlen(ps[i].key));
		wbuf_put(w, "=", 1);
		wbuf_put(w, ps[i].value, strlen(ps[i].value));
		free(ps[i].key);
		free(ps[i].value);
	}
	free(ps);
}

/* A header value trimmed, with runs of spaces made one. */
static void
header_value(struct wbuf *w, const char *v)
{
	int	 space = 0, started = 0;

	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t') {
			space = started;
			continue;
		}
		if (space)
			wbuf_put(w, " ", 1);
		space = 0;
		started = 1;
		wbuf_put(w, v, 1);
	}
}

char *
sigv4_canonical_request(const struct sigv4_request *r,
    const struct sigv4_auth *a, const char *payload_hash)
{
	struct wbuf	 w, path;
	const char	*vals[SIGV4_HEADER_VALUES], *p, *end;
	char		 name[128], *out;
	size_t		 nv, i, n;

	wbuf_init(&w);
	wbuf_put(&w, r->method, strlen(r->method));
	wbuf_put(&w, "\n", 1);
	/* The path encoded once (the client's form), then again: every
	 * service but S3 signs the doubly encoded path. */
	wbuf_init(&path);
	if (r->path == NULL || r->path[0] == '\0')
		wbuf_put(&path, "/", 1);
	else
		uri_encode(&path, r->path, strlen(r->path), 1);
	uri_encode(&w, (const char *)path.data, path.len, 1);
	wbuf_clear(&path);
	wbuf_put(&w, "\n", 1);
	canonical_query(&w, r->query);
	wbuf_put(&w, "\n", 1);
	for (p = a->signed_headers; *p != '\0'; p = *end == ';' ? end + 1 :
	    end) {
		end = p + strcspn(p, ";");
		n = (size_t)(end - p);
		if (n == 0 || n >= sizeof(name))
			continue;
		for (i = 0; i < n; i++)
			name[i] = (char)tolower((unsigned char)p[i]);
		name[n] = '\0';
		wbuf_put(&w, name, n);
		wbuf_put(&w, ":", 1);
		nv = r->headers(r->arg, name, vals, nitems(vals));
		if (nv > nitems(vals))
			nv = nitems(vals);
		for (i = 0; i < nv; i++) {
			if (i > 0)
				wbuf_put(&w, ",", 1);
			header_value(&w, vals[i]);
		}
		wbuf_put(&w, "\n", 1);
	}
	wbuf_put(&w, "\n", 1);
	for (p = a->signed_headers; *p != '\0'; p++) {
		char c = (char)tolower((unsigned char)*p);
		wbuf_put(&w, &c, 1);
	}
	wbuf_put(&w, "\n", 1);
	wbuf_put(&w, payload_hash, strlen(payload_hash));
	wbuf_put(&w, "", 1);
	out = xstrdup((const char *)w.data);
	wbuf_clear(&w);
	return out;
}

static void
hmac256(const void *key, size_t klen, const char *msg, uint8_t out[32])
{
	digest_hmac_sha256(key, klen, msg, strlen(msg), out);
}

/* The hex signature of a canonical request. */
static void
sigv4_signature(const char *secret, const char *amz_date,
    const struct sigv4_auth *a, const char *canonical, char out[65])
{
	uint8_t	 k[32], sig[32];
	char	*key, *sts, hash[65];

	xasprintf(&key, "AWS4%s", secret);
	hmac256(key, strlen(key), a->date, k);
	explicit_bzero(key, strlen(key));
	free(key);
	hmac256(k, sizeof(k), a->region, k);
	hmac256(k, sizeof(k), a->service, k);
	hmac256(k, sizeof(k), "aws4_request", k);
	sha256_hex(canonical, strlen(canonical), hash);
	xasprintf(&sts, "%s\n%s\n%s/%s/%s/%s\n%s", SIGV4_ALGORITHM, amz_date,
	    a->date, a->region, a->service, a->terminator, hash);
	hmac256(k, sizeof(k), sts, sig);
	free(sts);
	explicit_bzero(k, sizeof(k));
	hex_encode(sig, sizeof(sig), out);
}

char *
sigv4_sign(const struct sigv4_request *r, const char *signed_headers,
    const char *access_key, const char *secret, const char *region,
    const char *service, const char *amz_date)
{
	struct sigv4_auth a;
	char		 hash[65], sig[65], *canonical, *out;

	memset(&a, 0, sizeof(a));
	snprintf(a.date, sizeof(a.date), "%.8s", amz_date);
	snprintf(a.region, sizeof(a.region), "%s", region);
	snprintf(a.service, sizeof(a.service), "%s", service);
	snprintf(a.terminator, sizeof(a.terminator), "aws4_request");
	snprintf(a.signed_headers, sizeof(a.signed_headers), "%s",
	    signed_headers);
	sha256_hex(r->body != NULL ? r->body : "", r->body_len, hash);
	canonical = sigv4_canonical_request(r, &a, hash);
	sigv4_signature(secret, amz_date, &a, canonical, sig);
	free(canonical);
	xasprintf(&out, "%s Credential=%s/%s/%s/%s/%s, SignedHeaders=%s, "
	    "Signature=%s", SIGV4_ALGORITHM, access_key, a.date, a.region,
	    a.service, a.terminator, a.signed_headers, sig);
	return out;
}

/* --- the check ----------------------------------------------------------- */

/* "20250101T000000Z" into epoch seconds; -1 if malformed. */
static int64_t
parse_amz_date(const char *s)
{
	struct tm	 tm;
	const char	*end;

	if (strlen(s) != 16)
		return -1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

/* RFC 7231 dates (and the obsolete forms strptime can read). */
static int64_t
parse_http_date(const char *s)
{
	static const char *const formats[] = { "%a, %d %b %Y %H:%M:%S GMT",
	    "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y" };
	struct tm	 tm;
	const char	*end;
	size_t		 i;

	for (i = 0; i < nitems(formats); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, formats[i], &tm);
		if (end != NULL && *end == '\0')
			return (int64_t)timegm(&tm);
	}
	return -1;
}

static void
format_amz_date(int64_t t, char out[17])
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static const char *
first_header(const struct sigv4_request *r, const char *name)
{
	const char	*v[1];

	return r->headers(r->arg, name, v, 1) > 0 ? v[0] : NULL;
}

/* Whether NAME is one of the ';'-separated lower-case SignedHeaders. */
static int
signed_header_listed(const char *list, const char *name)
{
	size_t	 n = strlen(name);
	const char *p = list;

	while (*p != '\0') {
		if (strncmp(p, name, n) == 0 && (p[n] == ';' || p[n] == '\0'))
			return 1;
		if ((p = strchr(p, ';')) == NULL)
			break;
		p++;
	}
	return 0;
}

/* -1, with the exception to answer and its message. */
static int __attribute__((format(printf, 5, 6)))
fail(const char **exception, char *msg, size_t msgsz, const char *type,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, msgsz, fmt, ap);
	va_end(ap);
	*exception = type;
	return -1;
}

int
sigv4_check(const struct sigv4_request *r, int64_t now,
    struct sigv4_identity *id, const char **exc, char *msg, size_t msgsz)
{
	const struct sigv4_credential *cred;
	struct sigv4_auth a;
	const char	*auth, *xdate, *hdate, *ph;
	char		 amz_date[17], want[65], hash[65], *canonical;
	char		 why[512], t1[17], t2[17];
	int64_t		 t;
	int		 verify = sigv4_loaded, ok;

	strcpy(id->account, conf.account_id);
	strcpy(id->region, conf.region);
	id->access_key[0] = '\0';
	id->principal[0] = '\0';
	msg[0] = '\0';
	if ((auth = first_header(r, "Authorization")) == NULL) {
		if (!verify)
			return 0;
		return fail(exc, msg, msgsz,
		    "MissingAuthenticationTokenException",
		    "Request is missing Authentication Token");
	}
	if (sigv4_parse(auth, &a, why, sizeof(why)) == -1) {
		if (!verify)
			return 0;	/* not signed as we know: defaults */
		return fail(exc, msg, msgsz, "IncompleteSignatureException",
		    "%s", why);
	}
	snprintf(id->access_key, sizeof(id->access_key), "%s", a.access_key);
	if (strlen(a.access_key) == ACCOUNT_LEN &&
	    name_account_valid(a.access_key, strlen(a.access_key)))
		strcpy(id->account, a.access_key);
	if (name_region_valid(a.region, strlen(a.region)))
		strcpy(id->region, a.region);
	if (!verify)
		return 0;

	if (!name_region_valid(a.region, strlen(a.region)))
		return fail(exc, msg, msgsz, "InvalidSignatureException",
		    "Credential should be scoped to a valid region. ");
	if (strcmp(a.service, SIGV4_SERVICE) != 0)
		return fail(exc, msg, msgsz, "InvalidSignatureException",
		    "Credential should be scoped to correct service: '%s'. ",
		    SIGV4_SERVICE);
	if (strcmp(a.terminator, "aws4_request") != 0)
		return fail(exc, msg, msgsz, "InvalidSignatureException",
		    "Credential should be scoped with a valid terminator: "
		    "'aws4_request', not '%s'. ", a.terminator);
	if (!signed_header_listed(a.signed_headers, "host"))
		return fail(exc, msg, msgsz, "IncompleteSignatureException",
		    "'Host' or ':authority' must be a 'SignedHeader' in the "
		    "AWS Authorization.");
	xdate = first_header(r, "X-Amz-Date");
	hdate = first_header(r, "Date");
	if (xdate != NULL) {
		if ((t = parse_amz_date(xdate)) == -1)
			return fail(exc, msg, msgsz,
			    "IncompleteSignatureException", "Date must be in "
			    "ISO-8601 'basic format'. Got '%.40s'. See "
			    "http://en.wikipedia.org/wiki/ISO_8601", xdate);
		snprintf(amz_date, sizeof(amz_date), "%s", xdate);
	} else if (hdate != NULL && (t = parse_http_date(hdate)) != -1)
		format_amz_date(t, amz_date);
	else
		return fail(exc, msg, msgsz, "IncompleteSignatureException",
		    "Authorization header requires existence of either a "
		    "'X-Amz-Date' or a 'Date' header. Authorization=%.200s",
		    auth);
	if (strncmp(amz_date, a.date, 8) != 0 || strlen(a.date) != 8)
		return fail(exc, msg, msgsz, "InvalidSignatureException",
		    "Date in Credential scope does not match YYYYMMDD from "
		    "ISO-8601 version of date from HTTP: '%.8s' != '%.8s', "
		    "from '%s'.", a.date, amz_date, amz_date);
	if (t < now - SIGV4_SKEW_SEC) {
		format_amz_date(now - SIGV4_SKEW_SEC, t1);
		format_amz_date(now, t2);
		return fail(exc, msg, msgsz, "InvalidSignatureException",
		    "Signature expired: %s is now earlier than %s (%s - 15 "
		    "min.)", amz_date, t1, t2);
	}
	if (t > now + SIGV4_SKEW_SEC) {
		format_amz_date(now + SIGV4_SKEW_SEC, t1);
		format_amz_date(now, t2);
		return fail(exc, msg, msgsz, "InvalidSignatureException",
		    "Signature not yet current: %s is still later than %s (%s "
		    "+ 15 min.)", amz_date, t1, t2);
	}
	if ((cred = credential_find(a.access_key)) == NULL)
		return fail(exc, msg, msgsz, "UnrecognizedClientException",
		    "The security token included in the request is invalid.");
	if (cred->account[0] != '\0')
		strcpy(id->account, cred->account);
	strcpy(id->principal, cred->principal);
	/*
	 * The payload hash is always the body's: a client-supplied
	 * X-Amz-Content-Sha256 that names another body (or
	 * UNSIGNED-PAYLOAD, which only S3 accepts) would let a captured
	 * signature carry a different body.
	 */
	sha256_hex(r->body, r->body_len, hash);
	if ((ph = first_header(r, "X-Amz-Content-Sha256")) != NULL &&
	    strcasecmp(ph, hash) != 0)
		return fail(exc, msg, msgsz, "InvalidSignatureException", "The "
		    "provided 'x-amz-content-sha256' header does not match "
		    "what was computed.");
	canonical = sigv4_canonical_request(r, &a, hash);
	sigv4_signature(cred->secret, amz_date, &a, canonical, want);
	free(canonical);
	ok = strlen(a.signature) == 64 &&
	    CRYPTO_memcmp(want, a.signature, 64) == 0;
	explicit_bzero(want, sizeof(want));
	if (!ok)
		return fail(exc, msg, msgsz, "InvalidSignatureException", "The "
		    "request signature we calculated does not match the "
		    "signature you provided. Check your AWS Secret Access Key "
		    "and signing method. Consult the service documentation for "
		    "details.");
	return 0;
}
