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
 * Records: the durable form of every change to the model.  A log entry is
 * a version byte and a batch of records; each record is a type byte, a u32
 * body length and the body (see buf.h for the encoding).  This file
 * encodes records, decodes and applies them (live changes, which txn.c
 * builds, and replay go through the same code) and writes the whole model
 * as records for a snapshot.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berthd.h"
#include "error.h"
#include "image_scan.h"
#include "log.h"
#include "name.h"
#include "registry.h"
#include "util.h"

#define ENTRY_VERSION		1
#define SNAPSHOT_ENTRY_MAX	(1024 * 1024)

enum record_type {
	REC_REPO_PUT = 1,
	REC_REPO_DELETE,
	REC_IMAGE_PUT,
	REC_IMAGE_DELETE,
	REC_TAG_PUT,
	REC_TAG_DELETE,
	REC_LINK_PUT,
	REC_LINK_DELETE,
	REC_BLOB_FORGET,
	REC_PULL_TIME,
	REC_SECRET,
	REC_SETTING_PUT,
	REC_SETTING_DELETE,
	REC_IMAGE_STATUS,
	REC_CLOCK,
	REC_SCAN_PUT,
	REC_REPO_EVALUATED
};

/* Bounds checked on decode; larger than any value the API accepts. */
#define STR_SHORT		512
#define STR_TEXT		(1024 * 1024)
/* A scan's records; image_scan.c keeps them well under a frame. */
#define SCAN_REPORT_MAX		(4 * 1024 * 1024)

/* --- encoding ------------------------------------------------------------ */

void
record_entry_begin(struct wbuf *w)
{
	if (w->len == 0)
		wbuf_put_u8(w, ENTRY_VERSION);
}

static size_t
rec_begin(struct wbuf *w, enum record_type type)
{
	size_t	 off;

	record_entry_begin(w);
	wbuf_put_u8(w, type);
	off = w->len;
	wbuf_put_u32(w, 0);
	return off;
}

static void
rec_end(struct wbuf *w, size_t off)
{
	wbuf_patch_u32(w, off, (uint32_t)(w->len - off - 4));
}

static void
put_registry_key(struct wbuf *w, const char *account, const char *region)
{
	wbuf_put_str(w, account);
	wbuf_put_str(w, region);
}

static void
put_repo_key(struct wbuf *w, const struct repository *repo)
{
	put_registry_key(w, repo->registry->account, repo->registry->region);
	wbuf_put_str(w, repo->name);
}

static void
put_digest(struct wbuf *w, const struct digest *d)
{
	char	 s[DIGEST_STR_MAX];

	wbuf_put_str(w, digest_format(d, s));
}

static void
put_opt_str(struct wbuf *w, const char *s)
{
	wbuf_put_u8(w, s != NULL);
	if (s != NULL)
		wbuf_put_str(w, s);
}

static void
put_repo_config(struct wbuf *w, const struct repo_config *c)
{
	size_t	 i;

	wbuf_put_u8(w, (uint8_t)c->mutability);
	wbuf_put_u32(w, (uint32_t)c->nmut_filters);
	for (i = 0; i < c->nmut_filters; i++)
		wbuf_put_str(w, c->mut_filters[i]);
	wbuf_put_u8(w, (uint8_t)c->scan_on_push);
	put_opt_str(w, c->encryption_type);
	put_opt_str(w, c->kms_key);
	wbuf_put_u32(w, (uint32_t)c->ntags);
	for (i = 0; i < c->ntags; i++) {
		wbuf_put_str(w, c->tags[i].key);
		wbuf_put_str(w, c->tags[i].value);
	}
	put_opt_str(w, c->policy);
	put_opt_str(w, c->lifecycle);
	wbuf_put_i64(w, c->lifecycle_evaluated_ms);
}

void
record_repo_put(struct wbuf *w, const char *account, const char *region,
    const char *name, int64_t created_ms, const struct repo_config *c)
{
	size_t	 off = rec_begin(w, REC_REPO_PUT);

	put_registry_key(w, account, region);
	wbuf_put_str(w, name);
	wbuf_put_i64(w, created_ms);
	put_repo_config(w, c);
	rec_end(w, off);
}

void
record_repo_delete(struct wbuf *w, const struct repository *repo)
{
	size_t	 off = rec_begin(w, REC_REPO_DELETE);

	put_repo_key(w, repo);
	rec_end(w, off);
}

void
record_image_put(struct wbuf *w, const struct image *img)
{
	size_t	 off = rec_begin(w, REC_IMAGE_PUT);
	size_t	 i;

	put_repo_key(w, img->repo);
	put_digest(w, &img->digest);
	wbuf_put_str(w, img->media_type);
	put_opt_str(w, img->artifact_type);
	wbuf_put_i64(w, img->pushed_ms);
	wbuf_put_i64(w, img->pulled_ms);
	wbuf_put_u64(w, img->size);
	wbuf_put_u8(w, (uint8_t)img->has_subject);
	if (img->has_subject)
		put_digest(w, &img->subject);
	wbuf_put_u32(w, (uint32_t)img->nrefs);
	for (i = 0; i < img->nrefs; i++) {
		wbuf_put_u8(w, (uint8_t)img->refs[i].kind);
		put_digest(w, &img->refs[i].digest);
		wbuf_put_u64(w, img->refs[i].size);
		put_opt_str(w, img->refs[i].media_type);
	}
	wbuf_put_bytes(w, img->manifest, img->manifest_len);
	rec_end(w, off);
}

/* The records naming a repository and a digest. */
static void
put_repo_digest(struct wbuf *w, enum record_type type,
    const struct repository *repo, const struct digest *d)
{
	size_t	 off = rec_begin(w, type);

	put_repo_key(w, repo);
	put_digest(w, d);
	rec_end(w, off);
}

void
record_image_delete(struct wbuf *w, const struct image *img)
{
	put_repo_digest(w, REC_IMAGE_DELETE, img->repo, &img->digest);
}

void
record_tag_put(struct wbuf *w, const struct repository *repo,
    const char *tag, const struct digest *d)
{
	size_t	 off = rec_begin(w, REC_TAG_PUT);

	put_repo_key(w, repo);
	wbuf_put_str(w, tag);
	put_digest(w, d);
	rec_end(w, off);
}

void
record_tag_delete(struct wbuf *w, const struct repository *repo,
    const char *tag)
{
	size_t	 off = rec_begin(w, REC_TAG_DELETE);

	put_repo_key(w, repo);
	wbuf_put_str(w, tag);
	rec_end(w, off);
}

void
record_link_put(struct wbuf *w, const struct repository *repo,
    const struct digest *d, uint64_t size, int64_t linked_ms)
{
	size_t	 off = rec_begin(w, REC_LINK_PUT);

	put_repo_key(w, repo);
	put_digest(w, d);
	wbuf_put_u64(w, size);
	wbuf_put_i64(w, linked_ms);
	rec_end(w, off);
}

void
record_link_delete(struct wbuf *w, const struct repository *repo,
    const struct digest *d)
{
	put_repo_digest(w, REC_LINK_DELETE, repo, d);
}

void
record_blob_forget(struct wbuf *w, const struct digest *d)
{
	size_t	 off = rec_begin(w, REC_BLOB_FORGET);

	put_digest(w, d);
	rec_end(w, off);
}

void
record_pull_time(struct wbuf *w, const struct image *img, int64_t ms)
{
	size_t	 off = rec_begin(w, REC_PULL_TIME);

	put_repo_key(w, img->repo);
	put_digest(w, &img->digest);
	wbuf_put_i64(w, ms);
	rec_end(w, off);
}

void
record_image_status(struct wbuf *w, const struct image *img,
    enum image_status status, int64_t archived_ms, int64_t activated_ms)
{
	size_t	 off = rec_begin(w, REC_IMAGE_STATUS);

	put_repo_key(w, img->repo);
	put_digest(w, &img->digest);
	wbuf_put_u8(w, (uint8_t)status);
	wbuf_put_i64(w, archived_ms);
	wbuf_put_i64(w, activated_ms);
	rec_end(w, off);
}

void
record_clock(struct wbuf *w, int64_t offset_ms)
{
	size_t	 off = rec_begin(w, REC_CLOCK);

	wbuf_put_i64(w, offset_ms);
	rec_end(w, off);
}

void
record_repo_evaluated(struct wbuf *w, const struct repository *repo,
    int64_t ms)
{
	size_t	 off = rec_begin(w, REC_REPO_EVALUATED);

	put_repo_key(w, repo);
	wbuf_put_i64(w, ms);
	rec_end(w, off);
}

void
record_secret(struct wbuf *w, const uint8_t *secret, size_t len)
{
	size_t	 off = rec_begin(w, REC_SECRET);

	wbuf_put_bytes(w, secret, len);
	rec_end(w, off);
}

void
record_setting_put(struct wbuf *w, const struct registry *reg,
    const char *key, const char *value)
{
	size_t	 off = rec_begin(w, REC_SETTING_PUT);

	put_registry_key(w, reg->account, reg->region);
	wbuf_put_str(w, key);
	wbuf_put_str(w, value);
	rec_end(w, off);
}

void
record_setting_delete(struct wbuf *w, const struct registry *reg,
    const char *key)
{
	size_t	 off = rec_begin(w, REC_SETTING_DELETE);

	put_registry_key(w, reg->account, reg->region);
	wbuf_put_str(w, key);
	rec_end(w, off);
}

void
record_scan_put(struct wbuf *w, const struct image *img,
    const struct image_scan *sc)
{
	size_t	 off = rec_begin(w, REC_SCAN_PUT);
	int	 i;

	put_repo_key(w, img->repo);
	put_digest(w, &img->digest);
	wbuf_put_u8(w, (uint8_t)sc->status);
	wbuf_put_u8(w, (uint8_t)sc->enhanced);
	wbuf_put_str(w, sc->description != NULL ? sc->description : "");
	wbuf_put_i64(w, sc->started_ms);
	wbuf_put_i64(w, sc->completed_ms);
	wbuf_put_i64(w, sc->db_updated_ms);
	wbuf_put_u64(w, sc->db_generation);
	for (i = 0; i < SCAN_SEV__MAX; i++)
		wbuf_put_u32(w, sc->counts[i]);
	wbuf_put_bytes(w, sc->report, sc->report_len);
	rec_end(w, off);
}

static struct image_scan *
get_scan(struct rbuf *r)
{
	struct image_scan *sc;
	const void	*p;
	size_t		 n;
	int		 i;

	sc = xcalloc(1, sizeof(*sc));
	sc->status = rbuf_get_u8(r);
	sc->enhanced = rbuf_get_u8(r) != 0;
	sc->description = rbuf_get_str(r, STR_SHORT);
	sc->started_ms = rbuf_get_i64(r);
	sc->completed_ms = rbuf_get_i64(r);
	sc->db_updated_ms = rbuf_get_i64(r);
	sc->db_generation = rbuf_get_u64(r);
	for (i = 0; i < SCAN_SEV__MAX; i++)
		sc->counts[i] = rbuf_get_u32(r);
	if ((p = rbuf_get_bytes(r, &n)) == NULL || n > SCAN_REPORT_MAX ||
	    sc->description == NULL || sc->status < IMAGE_SCAN_IN_PROGRESS ||
	    sc->status >= IMAGE_SCAN__MAX || !rbuf_ok(r) || r->left != 0 ||
	    image_scan_report_check(p, n, &sc->nfindings) == -1) {
		image_scan_free(sc);
		return NULL;
	}
	if (n > 0) {
		sc->report = xmalloc(n);
		memcpy(sc->report, p, n);
	}
	sc->report_len = n;
	return sc;
}

/* --- decoding and applying ----------------------------------------------- */

static char *
get_opt_str(struct rbuf *r, size_t max)
{
	if (rbuf_get_u8(r) == 0)
		return NULL;
	return rbuf_get_str(r, max);
}

static int
get_digest(struct rbuf *r, struct digest *d)
{
	char	*s;
	int	 rc;

	if ((s = rbuf_get_str(r, DIGEST_STR_MAX)) == NULL)
		return -1;
	rc = digest_parse_str(s, d);
	free(s);
	return rc == 0 ? 0 : -1;
}

/* Reads account, region and name; the registry is created if needed. */
struct repo_key {
	char	*account;
	char	*region;
	char	*name;
};

static void
repo_key_clear(struct repo_key *k)
{
	free(k->account);
	free(k->region);
	free(k->name);
	memset(k, 0, sizeof(*k));
}

static int
get_registry_key(struct rbuf *r, struct repo_key *k)
{
	memset(k, 0, sizeof(*k));
	k->account = rbuf_get_str(r, ACCOUNT_LEN);
	k->region = rbuf_get_str(r, REGION_MAX);
	if (k->account == NULL || k->region == NULL ||
	    !name_account_valid(k->account, strlen(k->account)) ||
	    !name_region_valid(k->region, strlen(k->region)))
		return -1;
	return 0;
}

static int
get_repo_key(struct rbuf *r, struct repo_key *k)
{
	if (get_registry_key(r, k) == -1)
		return -1;
	k->name = rbuf_get_str(r, NAME_MAX_LEN);
	if (k->name == NULL || k->name[0] == '\0')
		return -1;
	return 0;
}

static struct repository *
lookup_repo(const struct repo_key *k)
{
	return repository_lookup(k->account, k->region, k->name);
}

static int
get_repo_config(struct rbuf *r, struct repo_config *c)
{
	uint32_t n, i;

	repo_config_init(c);
	c->mutability = rbuf_get_u8(r);
	if (c->mutability > MUT_MUTABLE_WITH_EXCLUSION)
		return -1;
	n = rbuf_get_u32(r);
	if (n > 64)
		return -1;
	c->mut_filters = xcalloc(n, sizeof(char *));
	for (i = 0; i < n; i++) {
		if ((c->mut_filters[i] = rbuf_get_str(r, STR_SHORT)) == NULL)
			return -1;
		c->nmut_filters++;
	}
	c->scan_on_push = rbuf_get_u8(r) != 0;
	c->encryption_type = get_opt_str(r, STR_SHORT);
	c->kms_key = get_opt_str(r, 2048);
	n = rbuf_get_u32(r);
	if (n > 1000)
		return -1;
	c->tags = xcalloc(n, sizeof(struct kv));
	for (i = 0; i < n; i++) {
		c->tags[i].key = rbuf_get_str(r, STR_SHORT);
		c->tags[i].value = rbuf_get_str(r, STR_SHORT);
		c->ntags++;
		if (c->tags[i].key == NULL || c->tags[i].value == NULL)
			return -1;
	}
	c->policy = get_opt_str(r, STR_TEXT);
	c->lifecycle = get_opt_str(r, STR_TEXT);
	c->lifecycle_evaluated_ms = rbuf_get_i64(r);
	return rbuf_ok(r) ? 0 : -1;
}

static struct image *
get_image(struct rbuf *r, struct repo_key *k)
{
	struct image	*img;
	const void	*p;
	size_t		 n;
	uint32_t	 i, nrefs;

	if (get_repo_key(r, k) == -1)
		return NULL;
	img = xcalloc(1, sizeof(*img));
	if (get_digest(r, &img->digest) == -1)
		goto bad;
	img->media_type = rbuf_get_str(r, STR_SHORT);
	img->artifact_type = get_opt_str(r, STR_SHORT);
	img->pushed_ms = rbuf_get_i64(r);
	img->pulled_ms = rbuf_get_i64(r);
	img->size = rbuf_get_u64(r);
	img->has_subject = rbuf_get_u8(r) != 0;
	if (img->media_type == NULL ||
	    (img->has_subject && get_digest(r, &img->subject) == -1))
		goto bad;
	nrefs = rbuf_get_u32(r);
	if (nrefs > 100000)
		goto bad;
	img->refs = xcalloc(nrefs, sizeof(*img->refs));
	for (i = 0; i < nrefs; i++) {
		struct image_ref *ref = &img->refs[i];
		img->nrefs++;
		ref->kind = rbuf_get_u8(r);
		if (ref->kind < REF_CONFIG || ref->kind > REF_MANIFEST ||
		    get_digest(r, &ref->digest) == -1)
			goto bad;
		ref->size = rbuf_get_u64(r);
		ref->media_type = get_opt_str(r, STR_SHORT);
	}
	if ((p = rbuf_get_bytes(r, &n)) == NULL || n > MANIFEST_MAX)
		goto bad;
	img->manifest = xmalloc(n);
	memcpy(img->manifest, p, n);
	img->manifest_len = n;
	if (!rbuf_ok(r))
		goto bad;
	return img;
bad:
	image_free(img);
	return NULL;
}

/* Applies one record's body; 0, or a negative code when it cannot apply
 * (the model is unchanged then). */
static int
record_apply_body(enum record_type type, struct rbuf *r)
{
	struct repo_key	 k;
	struct repository *repo = NULL;
	struct repo_config cfg;
	struct image	*img;
	struct image_scan *sc;
	struct digest	 d;
	char		*s = NULL, *v = NULL;
	const void	*p;
	size_t		 n;
	int64_t		 ms, ms2;
	uint64_t	 size;
	int		 rc = BERR_FRAME;

	memset(&k, 0, sizeof(k));
	switch (type) {
	case REC_REPO_PUT:
		if (get_repo_key(r, &k) == -1)
			break;
		ms = rbuf_get_i64(r);
		if (get_repo_config(r, &cfg) == -1 || r->left != 0) {
			repo_config_clear(&cfg);
			break;
		}
		rc = model_repo_put(k.account, k.region, k.name, ms, &cfg);
		repo_config_clear(&cfg);
		break;
	case REC_REPO_DELETE:
		if (get_repo_key(r, &k) == -1 || r->left != 0)
			break;
		rc = model_repo_delete(k.account, k.region, k.name);
		break;
	case REC_IMAGE_PUT:
		if ((img = get_image(r, &k)) == NULL)
			break;
		if (r->left != 0 || (repo = lookup_repo(&k)) == NULL) {
			image_free(img);
			rc = repo == NULL ? BERR_NAME_UNKNOWN : BERR_FRAME;
			break;
		}
		rc = model_image_put(repo, img);
		break;
	case REC_IMAGE_DELETE:
	case REC_LINK_DELETE:
		if (get_repo_key(r, &k) == -1 || get_digest(r, &d) == -1 ||
		    r->left != 0)
			break;
		if ((repo = lookup_repo(&k)) == NULL) {
			rc = BERR_NAME_UNKNOWN;
			break;
		}
		rc = type == REC_IMAGE_DELETE ? model_image_delete(repo, &d) :
		    model_link_delete(repo, &d);
		break;
	case REC_TAG_PUT:
	case REC_TAG_DELETE:
		if (get_repo_key(r, &k) == -1 ||
		    (s = rbuf_get_str(r, ECR_TAG_MAX_LEN)) == NULL)
			break;
		if (type == REC_TAG_PUT && get_digest(r, &d) == -1)
			break;
		if (r->left != 0)
			break;
		if ((repo = lookup_repo(&k)) == NULL) {
			rc = BERR_NAME_UNKNOWN;
			break;
		}
		rc = type == REC_TAG_PUT ? model_tag_put(repo, s, &d) :
		    model_tag_delete(repo, s);
		break;
	case REC_LINK_PUT:
		if (get_repo_key(r, &k) == -1 || get_digest(r, &d) == -1)
			break;
		size = rbuf_get_u64(r);
		ms = rbuf_get_i64(r);
		if (!rbuf_ok(r) || r->left != 0)
			break;
		if ((repo = lookup_repo(&k)) == NULL) {
			rc = BERR_NAME_UNKNOWN;
			break;
		}
		rc = model_link_put(repo, &d, size, ms);
		break;
	case REC_BLOB_FORGET:
		if (get_digest(r, &d) == -1 || r->left != 0)
			break;
		rc = model_blob_forget(&d);
		break;
	case REC_PULL_TIME:
		if (get_repo_key(r, &k) == -1 || get_digest(r, &d) == -1)
			break;
		ms = rbuf_get_i64(r);
		if (!rbuf_ok(r) || r->left != 0)
			break;
		if ((repo = lookup_repo(&k)) == NULL ||
		    (img = image_find(repo, &d)) == NULL) {
			rc = 0;		/* deleted since: nothing to record */
			break;
		}
		if (ms > img->pulled_ms)
			img->pulled_ms = ms;
		rc = 0;
		break;
	case REC_IMAGE_STATUS:
		if (get_repo_key(r, &k) == -1 || get_digest(r, &d) == -1)
			break;
		n = rbuf_get_u8(r);
		ms = rbuf_get_i64(r);
		ms2 = rbuf_get_i64(r);
		if (!rbuf_ok(r) || r->left != 0)
			break;
		if ((repo = lookup_repo(&k)) == NULL) {
			rc = BERR_NAME_UNKNOWN;
			break;
		}
		rc = model_image_status(repo, &d, (enum image_status)n, ms,
		    ms2);
		break;
	case REC_CLOCK:
		ms = rbuf_get_i64(r);
		if (!rbuf_ok(r) || r->left != 0)
			break;
		model->clock_offset_ms = ms;
		rc = 0;
		break;
	case REC_REPO_EVALUATED:
		if (get_repo_key(r, &k) == -1)
			break;
		ms = rbuf_get_i64(r);
		if (!rbuf_ok(r) || r->left != 0)
			break;
		if ((repo = lookup_repo(&k)) == NULL) {
			rc = BERR_NAME_UNKNOWN;
			break;
		}
		/* Not a change the lifecycle run's plan depends on: the
		 * generation stays. */
		repo->config.lifecycle_evaluated_ms = ms;
		rc = 0;
		break;
	case REC_SECRET:
		if ((p = rbuf_get_bytes(r, &n)) == NULL ||
		    n != sizeof(model->secret) || r->left != 0)
			break;
		memcpy(model->secret, p, n);
		model->have_secret = 1;
		rc = 0;
		break;
	case REC_SCAN_PUT:
		if (get_repo_key(r, &k) == -1 || get_digest(r, &d) == -1 ||
		    (sc = get_scan(r)) == NULL)
			break;
		if ((repo = lookup_repo(&k)) == NULL ||
		    (img = image_find(repo, &d)) == NULL) {
			image_scan_free(sc);
			rc = 0;		/* deleted since: nothing to record */
			break;
		}
		rc = model_scan_put(img, sc);
		break;
	case REC_SETTING_PUT:
	case REC_SETTING_DELETE:
		if (get_registry_key(r, &k) == -1 ||
		    (s = rbuf_get_str(r, STR_SHORT)) == NULL)
			break;
		if (type == REC_SETTING_PUT &&
		    (v = rbuf_get_str(r, STR_TEXT)) == NULL)
			break;
		if (r->left != 0)
			break;
		template_setting_canon(&s, type == REC_SETTING_PUT ? &v : NULL);
		rc = type == REC_SETTING_PUT ?
		    model_setting_put(registry_get(k.account, k.region), s, v) :
		    model_setting_delete(registry_get(k.account, k.region), s);
		break;
	default:
		break;
	}
	free(s);
	free(v);
	repo_key_clear(&k);
	return rc;
}

int
record_apply(const uint8_t *p, size_t len)
{
	struct rbuf	 r, body;
	const void	*b;
	uint8_t		 type;
	uint32_t	 n;

	rbuf_init(&r, p, len);
	type = rbuf_get_u8(&r);
	n = rbuf_get_u32(&r);
	if ((b = rbuf_get_raw(&r, n)) == NULL || r.left != 0)
		return BERR_FRAME;
	rbuf_init(&body, b, n);
	return record_apply_body(type, &body);
}

int
record_apply_entry(const uint8_t *p, size_t len)
{
	struct rbuf	 r;
	const uint8_t	*rec;
	uint32_t	 n;
	int		 rc;

	rbuf_init(&r, p, len);
	if (rbuf_get_u8(&r) != ENTRY_VERSION) {
		log_warnx("metadata entry of unknown version");
		return -1;
	}
	while (r.left > 0) {
		rec = r.p;
		(void)rbuf_get_u8(&r);
		n = rbuf_get_u32(&r);
		if (rbuf_get_raw(&r, n) == NULL) {
			log_warnx("metadata entry truncated");
			return -1;
		}
		if ((rc = record_apply(rec, (size_t)(r.p - rec))) != 0) {
			/* Replaying what was once valid: report and go on. */
			log_warnx("metadata record type %u not applied: %s",
			    rec[0], berr_message(rc));
			if (rc == BERR_FRAME)
				return -1;
		}
	}
	return 0;
}

/* --- snapshots ----------------------------------------------------------- */

struct snapshot_writer {
	int		 fd;
	struct wbuf	 entry;
	uint64_t	 len;
	int64_t		 entries;
	int		 error;
};

static void
snapshot_flush(struct snapshot_writer *sw)
{
	uint32_t n = (uint32_t)sw->entry.len;

	if (sw->entry.len == 0 || sw->error)
		return;
	if (write_full(sw->fd, &n, sizeof(n)) == -1 ||
	    write_full(sw->fd, sw->entry.data, sw->entry.len) == -1)
		sw->error = 1;
	sw->len += sizeof(n) + sw->entry.len;
	sw->entries++;
	wbuf_reset(&sw->entry);
}

static void
snapshot_next(struct snapshot_writer *sw)
{
	if (sw->entry.len >= SNAPSHOT_ENTRY_MAX)
		snapshot_flush(sw);
}

int64_t
record_snapshot(int fd, uint64_t *len)
{
	struct snapshot_writer sw;
	size_t		 i, j, k;

	memset(&sw, 0, sizeof(sw));
	sw.fd = fd;
	wbuf_init(&sw.entry);
	if (model->have_secret)
		record_secret(&sw.entry, model->secret, sizeof(model->secret));
	if (model->clock_offset_ms != 0)
		record_clock(&sw.entry, model->clock_offset_ms);
	for (i = 0; i < model->registries.len; i++) {
		struct registry *reg = model->registries.items[i];
		for (j = 0; j < reg->settings.len; j++) {
			struct kv *kv = reg->settings.items[j];
			record_setting_put(&sw.entry, reg, kv->key, kv->value);
			snapshot_next(&sw);
		}
		for (j = 0; j < reg->repositories.len; j++) {
			struct repository *repo = reg->repositories.items[j];
			record_repo_put(&sw.entry, reg->account, reg->region,
			    repo->name, repo->created_ms, &repo->config);
			for (k = 0; k < repo->links.len; k++) {
				struct link *l = repo->links.items[k];
				record_link_put(&sw.entry, repo,
				    &l->blob->digest, l->blob->size,
				    l->linked_ms);
				snapshot_next(&sw);
			}
			for (k = 0; k < repo->images.len; k++) {
				struct image *img = repo->images.items[k];
				record_image_put(&sw.entry, img);
				if (img->status != IMAGE_ACTIVE ||
				    img->archived_ms != 0 ||
				    img->activated_ms != 0)
					record_image_status(&sw.entry, img,
					    img->status, img->archived_ms,
					    img->activated_ms);
				if (img->scan != NULL)
					record_scan_put(&sw.entry, img,
					    img->scan);
				snapshot_next(&sw);
			}
			for (k = 0; k < repo->tags.len; k++) {
				struct tag *tg = repo->tags.items[k];
				record_tag_put(&sw.entry, repo, tg->name,
				    &tg->image->digest);
				snapshot_next(&sw);
			}
			/* Records of one repository may span entries; that is
			 * fine because a snapshot is installed whole. */
			snapshot_next(&sw);
		}
	}
	snapshot_flush(&sw);
	wbuf_clear(&sw.entry);
	if (sw.error)
		return -1;
	*len = sw.len;
	return sw.entries;
}
