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
 * Pulls through the cache.  A manifest or blob asked of a repository that
 * a pull through cache rule covers, and that berth does not hold, is
 * fetched from the upstream through berth-fetchd:
 *
 * - a manifest (inline, at most MANIFEST_MAX) is checked against the
 *   digest asked for or the upstream's Docker-Content-Digest, and stored
 *   with its tag through image_push in cache mode (its blobs come later,
 *   when clients ask for them), in a repository created first if needed;
 * - a blob goes from berth-fetchd's pipe straight into a blobd upload
 *   session (berthd copies no byte), is committed against its digest by
 *   blobd, which verifies it, and linked into the repository.  Concurrent
 *   requests for one blob wait on one fetch.  A fetch that fails or is
 *   cut leaves only an upload session, which is cancelled (or expires
 *   after a crash): nothing partly fetched is ever visible.
 *
 * Then the request is served again as if the content had been pushed.  A
 * tag is checked upstream again once the last check is --pull-through-
 * refresh old; when the upstream fails, a cached copy is served.
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berthd.h"
#include "error.h"
#include "fetch_proto.h"
#include "log.h"
#include "name.h"
#include "util.h"

/* The Accept header of a manifest fetch: every type berth stores. */
#define PTC_ACCEPT	MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " \
	MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST
/* A layer larger than this is refused (the store's limit is the disk). */
#define PTC_BLOB_MAX	(64ULL * 1024 * 1024 * 1024)

/* Set while a request is served again after a fetch: no second fetch. */
static int	ptc_bypass;

/* When a tag was last checked upstream: "account/region/name:tag". */
struct ptc_check {
	char	*key;
	int64_t	 ms;
};
static struct sortvec	 ptc_checks;
static int		 ptc_checks_ready;

struct ptc_target {
	struct http_request *req;
	struct oci_ident id;
	char		 name[NAME_MAX_LEN + 1];
	char		 ref[DIGEST_STR_MAX + ECR_TAG_MAX_LEN];
};

struct ptc_mfetch {
	struct ptc_target t;
	int		 cached;	/* a copy to serve if the fetch fails */
	int		 is_digest;
	char		 key[NAME_MAX_LEN + 64 + ECR_TAG_MAX_LEN];
	struct msg_fetch_headers hd;
	int		 have_headers;
	uint8_t		*manifest;
	size_t		 len;
};

struct ptc_bfetch {
	TAILQ_ENTRY(ptc_bfetch) entry;
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		 name[NAME_MAX_LEN + 1];
	struct digest	 digest;
	char		 owner[OWNER_MAX];
	uint8_t		 upload[UPLOAD_ID_LEN];
	uint32_t	 fetch_id;
	int		 appended;	/* blobd read the pipe to its end */
	int		 fetched;	/* berth-fetchd said how it ended */
	int		 append_err;
	struct msg_fetch_done done;
	int		 err;		/* the outcome for the waiters */
	struct ptc_target *waiters;
	size_t		 nwaiters;
};

static TAILQ_HEAD(, ptc_bfetch) ptc_bfetches =
    TAILQ_HEAD_INITIALIZER(ptc_bfetches);

static int
ptc_check_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct ptc_check *)item)->key);
}

static struct ptc_check *
ptc_check_get(const char *key)
{
	struct ptc_check *c;

	if (!ptc_checks_ready) {
		sortvec_init(&ptc_checks, ptc_check_cmp);
		ptc_checks_ready = 1;
	}
	if ((c = sortvec_find(&ptc_checks, key)) == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->key = xstrdup(key);
		(void)sortvec_insert(&ptc_checks, c->key, c);
	}
	return c;
}

/* The URL of path (after /v2/) at the rule's upstream. */
static char *
ptc_url(const struct ptc_rule *rule, const char *upstream, const char *kind,
    const char *ref)
{
	char	*url;

	xasprintf(&url, "%s%s/v2/%s/%s/%s", strncasecmp(rule->url,
	    "https://", 8) == 0 ? "" : "https://", rule->url, upstream, kind,
	    ref);
	return url;
}

/* The rule's credentials: 0, or -1 when its secret cannot be read. */
static int
ptc_credentials(const struct ptc_rule *rule, const char **user,
    const char **secret)
{
	*user = *secret = NULL;
	if (rule->credential_arn == NULL)
		return 0;
	return ptc_secret_lookup(rule->credential_arn, user, secret) == 0 ?
	    0 : -1;
}

static int
ptc_fetch_err(const struct msg_fetch_done *d, int not_found)
{
	switch (d->result) {
	case FETCH_ERR_NOT_FOUND:
		return not_found;
	case FETCH_ERR_DENIED:
		return BERR_DENIED;
	case FETCH_ERR_TOO_MANY:
		return BERR_TOO_MANY_REQUESTS;
	default:
		return BERR_UPSTREAM;
	}
}

/* --- manifests ------------------------------------------------------------- */

static void
ptc_mfetch_free(struct ptc_mfetch *m)
{
	free(m->manifest);
	free(m);
}

/* Serves the request again, now from what berth holds. */
static void
ptc_manifest_serve(struct ptc_mfetch *m)
{
	ptc_bypass = 1;
	oci_manifest_get(m->t.req, &m->t.id, m->t.name, m->t.ref);
	ptc_bypass = 0;
	ptc_mfetch_free(m);
}

static void
ptc_manifest_fail(struct ptc_mfetch *m, int err, const char *why)
{
	if (m->cached) {
		log_warnx("pull through cache: %s:%s: %s; serving the cached "
		    "copy", m->t.name, m->t.ref, why);
		ptc_manifest_serve(m);
		return;
	}
	log_warnx("pull through cache: %s:%s: %s", m->t.name, m->t.ref, why);
	oci_error(m->t.req, err, "%s:%s from the upstream: %s", m->t.name,
	    m->t.ref, why);
	ptc_mfetch_free(m);
}

static void
ptc_manifest_stored_cb(int err, void *arg)
{
	struct ptc_mfetch *m = arg;

	if (err != 0) {
		ptc_manifest_fail(m, err, berr_message(err));
		return;
	}
	ptc_check_get(m->key)->ms = mono_ms();
	ptc_manifest_serve(m);
}

static void
ptc_manifest_push(struct ptc_mfetch *m)
{
	struct image_push p;
	struct digest	 expected;
	char		*tags[1];
	int		 rc;

	memset(&p, 0, sizeof(p));
	p.account = m->t.id.account;
	p.region = m->t.id.region;
	p.repository = m->t.name;
	p.manifest = m->manifest;
	p.len = m->len;
	p.content_type = m->hd.content_type[0] != '\0' ? m->hd.content_type :
	    NULL;
	p.cache = 1;
	if (m->is_digest) {
		(void)digest_parse_str(m->t.ref, &expected);
		p.expected = &expected;
	} else {
		if (m->hd.digest[0] != '\0' &&
		    digest_parse_str(m->hd.digest, &expected) == 0)
			p.expected = &expected;
		tags[0] = m->t.ref;
		p.tags = tags;
		p.ntags = 1;
	}
	if ((rc = image_push(&p, ptc_manifest_stored_cb, m)) != 0)
		ptc_manifest_fail(m, rc == BERR_DIGEST_INVALID ? BERR_UPSTREAM :
		    rc, p.detail[0] != '\0' ? p.detail : berr_message(rc));
}

static void
ptc_repo_created_cb(int err, void *arg)
{
	struct ptc_mfetch *m = arg;

	if (err != 0) {
		ptc_manifest_fail(m, err, berr_message(err));
		return;
	}
	ptc_manifest_push(m);
}

static void
ptc_manifest_headers_cb(const struct msg_fetch_headers *h, void *arg)
{
	struct ptc_mfetch *m = arg;

	m->hd = *h;
	m->have_headers = 1;
}

static void
ptc_manifest_fetched_cb(const struct msg_fetch_done *d, const uint8_t *body,
    size_t len, void *arg)
{
	struct ptc_mfetch *m = arg;
	struct txn	 t;
	int		 rc;

	if (d->result != FETCH_OK) {
		ptc_manifest_fail(m, ptc_fetch_err(d, BERR_MANIFEST_UNKNOWN),
		    d->message[0] != '\0' ? d->message : "fetch failed");
		return;
	}
	m->manifest = xmalloc(len > 0 ? len : 1);
	memcpy(m->manifest, body, len);
	m->len = len;
	if (repository_find(registry_find(m->t.id.account, m->t.id.region),
	    m->t.name) != NULL) {
		ptc_manifest_push(m);
		return;
	}
	txn_init(&t);
	if ((rc = repository_ensure(m->t.id.account, m->t.id.region,
	    m->t.name, &t)) != 0) {
		txn_clear(&t);
		ptc_manifest_fail(m, rc, berr_message(rc));
		return;
	}
	log_info("pull through cache: created repository %s", m->t.name);
	txn_commit(&t, ptc_repo_created_cb, m);
}

int
ptc_manifest_intercept(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *refstr)
{
	struct registry	*reg;
	struct repository *repo;
	struct reference ref;
	struct ptc_rule	 rule;
	struct ptc_mfetch *m;
	struct ptc_check *c;
	struct fetchc_request rq;
	const char	*user, *secret;
	char		 upstream[NAME_MAX_LEN + 1], *url;
	int		 cached = 0;

	if (ptc_bypass || (reg = registry_find(id->account, id->region)) ==
	    NULL || name_reference_parse(refstr, strlen(refstr), &ref) != 0)
		return 0;
	if (ptc_match(reg, name, &rule, upstream, sizeof(upstream)) != 0)
		return 0;
	if ((repo = repository_find(reg, name)) != NULL) {
		if (ref.is_digest)
			cached = image_find(repo, &ref.digest) != NULL;
		else
			cached = tag_find(repo, refstr) != NULL;
	}
	m = xcalloc(1, sizeof(*m));
	snprintf(m->key, sizeof(m->key), "%s/%s/%s:%s", id->account,
	    id->region, name, refstr);
	if (cached) {
		/* Digests never change; a tag is checked again when due. */
		c = ptc_check_get(m->key);
		if (ref.is_digest || (c->ms != 0 &&
		    mono_ms() - c->ms < conf.ptc_refresh * 1000)) {
			if (c->ms == 0)
				c->ms = mono_ms();
			free(m);
			ptc_rule_clear(&rule);
			return 0;
		}
	}
	m->t.req = req;
	m->t.id = *id;
	snprintf(m->t.name, sizeof(m->t.name), "%s", name);
	snprintf(m->t.ref, sizeof(m->t.ref), "%s", refstr);
	m->cached = cached;
	m->is_digest = ref.is_digest;
	if (ptc_credentials(&rule, &user, &secret) != 0) {
		ptc_rule_clear(&rule);
		ptc_manifest_fail(m, BERR_DENIED, "the rule's secret cannot be "
		    "read");
		return 1;
	}
	url = ptc_url(&rule, upstream, "manifests", refstr);
	ptc_rule_clear(&rule);
	memset(&rq, 0, sizeof(rq));
	rq.method = FETCH_GET;
	rq.flags = FETCH_F_REGISTRY;
	rq.max_bytes = MANIFEST_MAX;
	rq.url = url;
	rq.accept = PTC_ACCEPT;
	rq.user = user;
	rq.secret = secret;
	rq.pipe = -1;
	log_debug("pull through cache: %s:%s from %s", name, refstr, url);
	(void)fetchc_fetch(&rq, ptc_manifest_headers_cb,
	    ptc_manifest_fetched_cb, m);
	free(url);
	return 1;
}

/* --- blobs ----------------------------------------------------------------- */

static void
ptc_bfetch_end(struct ptc_bfetch *b)
{
	size_t	 i;

	TAILQ_REMOVE(&ptc_bfetches, b, entry);
	for (i = 0; i < b->nwaiters; i++) {
		struct ptc_target *w = &b->waiters[i];
		char ds[DIGEST_STR_MAX];
		if (b->err != 0) {
			oci_error(w->req, b->err, "blob %s from the upstream: "
			    "%s", digest_format(&b->digest, ds),
			    b->done.message[0] != '\0' ? b->done.message :
			    berr_message(b->err));
			continue;
		}
		ptc_bypass = 1;
		oci_blob_get(w->req, &w->id, w->name, w->ref);
		ptc_bypass = 0;
	}
	free(b->waiters);
	free(b);
}

static void
ptc_bfetch_cancelled_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	ptc_bfetch_end(arg);
}

static void
ptc_bfetch_fail(struct ptc_bfetch *b, int err)
{
	struct msg_upload_ref msg;
	char	 ds[DIGEST_STR_MAX];

	b->err = err;
	log_warnx("pull through cache: %s@%s: %s", b->name,
	    digest_format(&b->digest, ds), b->done.message[0] != '\0' ?
	    b->done.message : berr_message(err));
	memset(&msg, 0, sizeof(msg));
	memcpy(msg.id, b->upload, UPLOAD_ID_LEN);
	strcpy(msg.owner, b->owner);
	/* What was received is never committed: the session goes. */
	blobc_call(MSG_UPLOAD_CANCEL, &msg, sizeof(msg), NULL, 0, -1, MSG_OK,
	    ptc_bfetch_cancelled_cb, b);
}

static void
ptc_bfetch_linked_cb(int err, void *arg)
{
	struct ptc_bfetch *b = arg;

	b->err = err;
	ptc_bfetch_end(b);
}

static void
ptc_bfetch_committed_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	struct ptc_bfetch *b = arg;
	struct msg_blob_committed c;
	struct repository *repo;
	struct txn	 t;
	int		 rc;

	if (err != 0) {
		/* A digest mismatch leaves the session: cancel it. */
		snprintf(b->done.message, sizeof(b->done.message), "the "
		    "upstream sent other content than the digest names");
		ptc_bfetch_fail(b, BERR_UPSTREAM);
		return;
	}
	memcpy(&c, payload, sizeof(c));
	txn_init(&t);
	if ((rc = repository_ensure(b->account, b->region, b->name, &t)) !=
	    0) {
		txn_clear(&t);
		b->err = rc;
		ptc_bfetch_end(b);
		return;
	}
	repo = repository_find(registry_find(b->account, b->region), b->name);
	if (repo != NULL && link_find(repo, &b->digest) == NULL &&
	    txn_link_put(&t, repo, &b->digest, c.size) != 0)
		fatalx("pull through cache: the link record does not apply");
	txn_commit(&t, ptc_bfetch_linked_cb, b);
}

/* Both the pipe's end (blobd) and the fetch's outcome are known. */
static void
ptc_bfetch_settle(struct ptc_bfetch *b)
{
	struct msg_upload_commit msg;

	if (!b->appended || !b->fetched)
		return;
	if (b->done.result != FETCH_OK || b->append_err != 0) {
		ptc_bfetch_fail(b, b->done.result != FETCH_OK ?
		    ptc_fetch_err(&b->done, BERR_BLOB_UNKNOWN) :
		    b->append_err);
		return;
	}
	memset(&msg, 0, sizeof(msg));
	memcpy(msg.id, b->upload, UPLOAD_ID_LEN);
	strcpy(msg.owner, b->owner);
	digest_format(&b->digest, msg.digest);
	msg.size = UINT64_MAX;
	blobc_call(MSG_UPLOAD_COMMIT, &msg, sizeof(msg), NULL, 0, -1,
	    MSG_BLOB_COMMITTED, ptc_bfetch_committed_cb, b);
}

static void
ptc_bfetch_appended_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	struct ptc_bfetch *b = arg;

	b->appended = 1;
	b->append_err = err;
	ptc_bfetch_settle(b);
}

static void
ptc_bfetch_fetched_cb(const struct msg_fetch_done *d, const uint8_t *body,
    size_t len, void *arg)
{
	struct ptc_bfetch *b = arg;

	b->fetched = 1;
	b->done = *d;
	ptc_bfetch_settle(b);
}

/* The upload session exists: the pipe goes to blobd and to fetchd. */
static void
ptc_bfetch_created_cb(int err, const uint8_t *payload, size_t len, int fd,
    void *arg)
{
	struct ptc_bfetch *b = arg;
	struct msg_upload_created c;
	struct msg_upload_append msg;
	struct fetchc_request rq;
	struct ptc_rule	 rule;
	const char	*user, *secret;
	char		 upstream[NAME_MAX_LEN + 1], ds[DIGEST_STR_MAX], *url;
	int		 p[2];

	if (err != 0) {
		b->err = err;
		ptc_bfetch_end(b);
		return;
	}
	memcpy(&c, payload, sizeof(c));
	memcpy(b->upload, c.id, UPLOAD_ID_LEN);
	if (ptc_match(registry_find(b->account, b->region), b->name, &rule,
	    upstream, sizeof(upstream)) != 0 ||
	    ptc_credentials(&rule, &user, &secret) != 0) {
		ptc_rule_clear(&rule);
		snprintf(b->done.message, sizeof(b->done.message), "the rule "
		    "is gone or its secret cannot be read");
		ptc_bfetch_fail(b, BERR_DENIED);
		return;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		ptc_rule_clear(&rule);
		ptc_bfetch_fail(b, berr_from_errno(errno));
		return;
	}
	/* Larger writes, fewer wake-ups (the default is 64 KiB). */
	(void)fcntl(p[1], F_SETPIPE_SZ, 1024 * 1024);
	memset(&msg, 0, sizeof(msg));
	memcpy(msg.id, b->upload, UPLOAD_ID_LEN);
	strcpy(msg.owner, b->owner);
	msg.offset = 0;
	msg.length = UINT64_MAX;
	blobc_call(MSG_UPLOAD_APPEND, &msg, sizeof(msg), NULL, 0, p[0],
	    MSG_UPLOAD_STATUS, ptc_bfetch_appended_cb, b);
	url = ptc_url(&rule, upstream, "blobs", digest_format(&b->digest,
	    ds));
	ptc_rule_clear(&rule);
	memset(&rq, 0, sizeof(rq));
	rq.method = FETCH_GET;
	rq.flags = FETCH_F_REGISTRY;
	rq.max_bytes = PTC_BLOB_MAX;
	rq.url = url;
	rq.user = user;
	rq.secret = secret;
	rq.pipe = p[1];
	log_debug("pull through cache: blob %s from %s", ds, url);
	b->fetch_id = fetchc_fetch(&rq, NULL, ptc_bfetch_fetched_cb, b);
	free(url);
}

int
ptc_blob_intercept(struct http_request *req, const struct oci_ident *id,
    const char *name, const char *dstr)
{
	struct registry	*reg;
	struct repository *repo;
	struct ptc_rule	 rule;
	struct ptc_bfetch *b;
	struct ptc_target *w;
	struct msg_upload_create msg;
	struct digest	 d;
	char		 upstream[NAME_MAX_LEN + 1];

	if (ptc_bypass || digest_parse_str(dstr, &d) != 0 ||
	    (reg = registry_find(id->account, id->region)) == NULL)
		return 0;
	if ((repo = repository_find(reg, name)) != NULL &&
	    link_find(repo, &d) != NULL)
		return 0;
	if (ptc_match(reg, name, &rule, upstream, sizeof(upstream)) != 0)
		return 0;
	ptc_rule_clear(&rule);
	TAILQ_FOREACH(b, &ptc_bfetches, entry)
		if (digest_eq(&b->digest, &d) && strcmp(b->name, name) == 0 &&
		    strcmp(b->account, id->account) == 0 &&
		    strcmp(b->region, id->region) == 0)
			break;
	if (b == NULL) {
		b = xcalloc(1, sizeof(*b));
		snprintf(b->account, sizeof(b->account), "%s", id->account);
		snprintf(b->region, sizeof(b->region), "%s", id->region);
		snprintf(b->name, sizeof(b->name), "%s", name);
		b->digest = d;
		snprintf(b->owner, sizeof(b->owner), "%s/%s/%s", id->account,
		    id->region, name);
		TAILQ_INSERT_TAIL(&ptc_bfetches, b, entry);
		memset(&msg, 0, sizeof(msg));
		strcpy(msg.owner, b->owner);
		msg.algo = d.algo;
		blobc_call(MSG_UPLOAD_CREATE, &msg, sizeof(msg), NULL, 0, -1,
		    MSG_UPLOAD_CREATED, ptc_bfetch_created_cb, b);
	}
	b->waiters = xreallocarray(b->waiters, b->nwaiters + 1,
	    sizeof(*b->waiters));
	w = &b->waiters[b->nwaiters++];
	memset(w, 0, sizeof(*w));
	w->req = req;
	w->id = *id;
	snprintf(w->name, sizeof(w->name), "%s", name);
	snprintf(w->ref, sizeof(w->ref), "%s", dstr);
	return 1;
}
