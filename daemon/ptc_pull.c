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
 * - a blob goes from berth-fetchd's pipe into a blobd upload session
 *   through the one upload flow (blob_upload.c; berthd copies no byte
 *   unless a GET is shown the blob as it comes, below), is committed
 *   against its digest by blobd, which verifies it, and linked into the
 *   repository.  The GET that starts the fetch is streamed the blob by
 *   ptc_stream.c, its last byte held until blobd verified it; other
 *   GETs of the whole blob join the fetch once its size is known
 *   (ptc_join.c); the other pulls of the blob wait on the one fetch and
 *   are served from the store.  A fetch that fails or is cut leaves only an upload session,
 *   which is cancelled (or expires after a crash): nothing partly fetched
 *   is ever visible.
 *
 * A missing repository is created as ECR creates it, with a
 * PULL_THROUGH_CACHE creation template when one applies; a caller of
 * another account needs the registry policy's ecr:BatchImportUpstreamImage
 * (and ecr:CreateRepository for a new repository).  Then the pull goes on
 * as if the content had been pushed.  A tag is checked upstream again once
 * the last check is --pull-through-refresh old (the times are kept in
 * memory: after a restart the first pull of a tag checks it); when the
 * upstream fails, a cached copy is served.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "berthd.h"
#include "ecr.h"
#include "error.h"
#include "fetch_proto.h"
#include "http.h"
#include "log.h"
#include "name.h"
#include "ptc.h"
#include "registry.h"
#include "util.h"

/* The Accept header of a manifest fetch: every type berth stores. */
#define PTC_ACCEPT	MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " \
	MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST
/* A layer larger than this is refused (the store's limit is the disk). */
#define PTC_BLOB_MAX	(64ULL * 1024 * 1024 * 1024)

static struct sortvec	 ptc_checks;
static int		 ptc_checks_ready;

/* Where a pull goes: the registry and repository, copied. */
struct ptc_where {
	char		 caller[ACCOUNT_LEN + 1];
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		 name[NAME_MAX_LEN + 1];
};

struct ptc_mfetch {
	struct ptc_where w;
	char		 ref[DIGEST_STR_MAX + ECR_TAG_MAX_LEN];
	int		 cached;	/* a copy to serve if the fetch fails */
	int		 is_digest;
	char		 key[NAME_MAX_LEN + 64 + ECR_TAG_MAX_LEN];
	struct msg_fetch_headers hd;
	uint8_t		*manifest;
	size_t		 len;
	int		 err;		/* refused before any fetch */
	int		 relogged;	/* logged in again after a refusal */
	char		 why[PTC_WHY_MAX];
	ptc_done_cb	 cb;
	void		*arg;
};

struct ptc_waiter {
	ptc_done_cb	 cb;
	void		*arg;
	int		 joinable;	/* a GET of the whole blob */
	int		 head;		/* a HEAD not answered yet */
};

struct ptc_bfetch {
	TAILQ_ENTRY(ptc_bfetch) entry;
	struct ptc_where w;
	struct digest	 digest;
	struct blob_upload u;
	int		 fetch_err;	/* how berth-fetchd's side ended */
	int		 relogged;	/* logged in again after a refusal */
	char		 why[PTC_WHY_MAX];
	struct ptc_waiter *waiters;
	size_t		 nwaiters;
	uint64_t	 length;	/* the upstream's 200 said, or 0;
					 * UINT64_MAX: it gave none */
	/* The first client, shown the blob as it comes (ptc_stream.c),
	 * until the upstream's answer says whether it can be. */
	struct ptc_tee	*tee;
	struct http_request *sreq;
	void		*sarg;		/* its waiter's, a struct ptc_oci */
};

static TAILQ_HEAD(, ptc_bfetch) ptc_bfetches =
    TAILQ_HEAD_INITIALIZER(ptc_bfetches);

static int
ptc_check_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct ptc_check *)item)->key);
}

struct ptc_check *
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

static void
ptc_where_set(struct ptc_where *w, const struct ptc_pull *p)
{
	snprintf(w->caller, sizeof(w->caller), "%s", p->caller);
	snprintf(w->account, sizeof(w->account), "%s", p->account);
	snprintf(w->region, sizeof(w->region), "%s", p->region);
	snprintf(w->name, sizeof(w->name), "%s", p->name);
}

/* ptc_login for the rule covering w's repository. */
static int
ptc_login_where(const struct ptc_where *w, ptc_done_cb cb, void *arg)
{
	struct ptc_rule	 rule;
	char		 upstream[NAME_MAX_LEN + 1];
	int		 rc;

	if (ptc_match(registry_find(w->account, w->region), w->name, &rule,
	    upstream, sizeof(upstream)) != 0)
		return 0;
	rc = ptc_login(w->account, w->region, &rule, cb, arg);
	ptc_rule_clear(&rule);
	return rc;
}

/*
 * After the upstream refused a fetch (401, 403): forgets the login of the
 * rule covering w's repository, which the upstream may have revoked or
 * expired early.  Returns 1 when there was one (log in again once and
 * retry), else 0.
 */
static int
ptc_login_forget(const struct ptc_where *w)
{
	struct ptc_rule	 rule;
	char		 upstream[NAME_MAX_LEN + 1];
	int		 had;

	if (ptc_match(registry_find(w->account, w->region), w->name, &rule,
	    upstream, sizeof(upstream)) != 0)
		return 0;
	had = ptc_login_drop(w->account, w->region, &rule);
	ptc_rule_clear(&rule);
	return had;
}

/* The URL of kind/ref at the rule's upstream repository. */
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

/*
 * The fetch of kind/ref from the upstream of the rule covering w's
 * repository, as far as the rule and its secret go: 0 with rq set and
 * *url its URL (free it), or a BERR code with why.
 */
static int
ptc_request(const struct ptc_where *w, const char *kind, const char *ref,
    struct fetchc_request *rq, char **url, char *why, size_t whysz)
{
	struct ptc_rule	 rule;
	const char	*user = NULL, *secret = NULL;
	char		 upstream[NAME_MAX_LEN + 1];

	if (ptc_match(registry_find(w->account, w->region), w->name, &rule,
	    upstream, sizeof(upstream)) != 0) {
		snprintf(why, whysz, "no pull through cache rule covers the "
		    "repository any more");
		return BERR_NAME_UNKNOWN;
	}
	if (rule.credential_arn != NULL && ptc_secret_lookup(
	    rule.credential_arn, &user, &secret) != 0) {
		snprintf(why, whysz, "the secret %s of the rule cannot be "
		    "read", rule.credential_arn);
		ptc_rule_clear(&rule);
		return BERR_UPSTREAM_SECRET;
	}
	if (rule.custom_role_arn != NULL) {
		/* ptc_login got it just before. */
		if ((secret = ptc_login_password(w->account, w->region,
		    &rule)) == NULL) {
			snprintf(why, whysz, "no login to the upstream with "
			    "the role %s", rule.custom_role_arn);
			ptc_rule_clear(&rule);
			return BERR_UPSTREAM_SECRET;
		}
		user = "AWS";
	}
	memset(rq, 0, sizeof(*rq));
	rq->method = FETCH_GET;
	rq->flags = FETCH_F_REGISTRY;
	rq->url = *url = ptc_url(&rule, upstream, kind, ref);
	rq->user = user;
	rq->secret = secret;
	rq->pipe = -1;
	ptc_rule_clear(&rule);
	return 0;
}

int
ptc_fetch_err(const struct msg_fetch_done *d, int not_found)
{
	switch (d->result) {
	case FETCH_OK:
		return 0;
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

/*
 * Whether w's caller may import into w's repository: always in its own
 * registry; from another account only as the registry policy allows
 * ecr:BatchImportUpstreamImage, and ecr:CreateRepository when the
 * repository is missing (AWS's pull-through-cache-iam page).
 */
static int
ptc_import_allowed(const struct ptc_where *w, char *why, size_t whysz)
{
	const struct registry *reg = registry_find(w->account, w->region);
	const char	*action = "ecr:BatchImportUpstreamImage";

	if (registry_policy_allows(w->caller, action, reg, w->account,
	    w->region, w->name, NULL) && (repository_lookup(w->account,
	    w->region, w->name) != NULL || registry_policy_allows(w->caller,
	    action = "ecr:CreateRepository", reg, w->account, w->region,
	    w->name, NULL)))
		return 1;
	snprintf(why, whysz, "the registry policy of %s does not allow "
	    "account %s %s on %s", w->account, w->caller, action, w->name);
	return 0;
}

/* Adds w's repository to t unless it exists, as ECR creates a repository
 * for a pull through cache rule. */
static int
ptc_repo_ensure(const struct ptc_where *w, struct txn *t)
{
	if (repository_lookup(w->account, w->region, w->name) == NULL)
		log_info("pull through cache: creating repository %s",
		    w->name);
	return template_create(t, w->account, w->region, w->name,
	    TEMPLATE_FOR_PULL_THROUGH_CACHE);
}

/* --- manifests ------------------------------------------------------------ */

static void	ptc_manifest_fetch(struct ptc_mfetch *);
static void	ptc_manifest_login_cb(int, const char *, void *);

static void
ptc_mfetch_end(struct ptc_mfetch *m, int err, const char *why)
{
	if (err != 0 && m->cached) {
		log_warnx("pull through cache: %s:%s: %s; serving the cached "
		    "copy", m->w.name, m->ref, why);
		err = 0;
	} else if (err != 0)
		log_warnx("pull through cache: %s:%s: %s", m->w.name, m->ref,
		    why);
	else
		ptc_check_get(m->key)->ms = mono_ms();
	m->cb(err, why, m->arg);
	free(m->manifest);
	free(m);
}

static void
ptc_manifest_stored_cb(int err, void *arg)
{
	ptc_mfetch_end(arg, err, err != 0 ? berr_message(err) : NULL);
}

static void
ptc_manifest_push(struct ptc_mfetch *m)
{
	struct image_push p;
	struct digest	 expected;
	char		*tags[1];
	int		 rc;

	memset(&p, 0, sizeof(p));
	p.account = m->w.account;
	p.region = m->w.region;
	p.repository = m->w.name;
	p.manifest = m->manifest;
	p.len = m->len;
	p.content_type = m->hd.content_type[0] != '\0' ? m->hd.content_type :
	    NULL;
	p.cache = 1;
	if (m->is_digest) {
		(void)digest_parse_str(m->ref, &expected);
		p.expected = &expected;
	} else {
		if (m->hd.digest[0] != '\0' &&
		    digest_parse_str(m->hd.digest, &expected) == 0)
			p.expected = &expected;
		tags[0] = m->ref;
		p.tags = tags;
		p.ntags = 1;
	}
	/* A manifest that is not the one its digest names is the
	 * upstream's fault, not the client's. */
	if ((rc = image_push(&p, ptc_manifest_stored_cb, m)) != 0)
		ptc_mfetch_end(m, rc == BERR_DIGEST_INVALID ? BERR_UPSTREAM :
		    rc, p.detail[0] != '\0' ? p.detail : berr_message(rc));
}

static void
ptc_repo_created_cb(int err, void *arg)
{
	struct ptc_mfetch *m = arg;

	if (err != 0)
		ptc_mfetch_end(m, err, berr_message(err));
	else
		ptc_manifest_push(m);
}

static void
ptc_manifest_headers_cb(const struct msg_fetch_headers *h, void *arg)
{
	struct ptc_mfetch *m = arg;

	m->hd = *h;
}

static void
ptc_manifest_fetched_cb(const struct msg_fetch_done *d, const uint8_t *body,
    size_t len, void *arg)
{
	struct ptc_mfetch *m = arg;
	struct txn	 t;
	int		 rc;

	if (d->result == FETCH_ERR_DENIED && !m->relogged &&
	    ptc_login_forget(&m->w)) {
		m->relogged = 1;
		if (!ptc_login_where(&m->w, ptc_manifest_login_cb, m))
			ptc_manifest_fetch(m);
		return;
	}
	if (d->result != FETCH_OK) {
		ptc_mfetch_end(m, ptc_fetch_err(d, BERR_MANIFEST_UNKNOWN),
		    d->message[0] != '\0' ? d->message : "the fetch failed");
		return;
	}
	m->manifest = xmalloc(len > 0 ? len : 1);
	memcpy(m->manifest, body, len);
	m->len = len;
	txn_init(&t);
	if ((rc = ptc_repo_ensure(&m->w, &t)) != 0) {
		txn_clear(&t);
		ptc_mfetch_end(m, rc, berr_message(rc));
		return;
	}
	txn_commit(&t, ptc_repo_created_cb, m);
}

static void
ptc_mfetch_refused_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ptc_mfetch *m = arg;

	m->cached = 0;
	ptc_mfetch_end(m, m->err, m->why);
}

/* Ends m with m->err from the loop: a callback never runs before its call
 * returns. */
static void
ptc_mfetch_refuse(struct ptc_mfetch *m)
{
	struct timeval	 tv = { 0, 0 };

	if (event_base_once(ev_base, -1, EV_TIMEOUT, ptc_mfetch_refused_cb, m,
	    &tv) == -1)
		fatalx("event_base_once");
}

int
ptc_covered(const struct registry *reg, const char *name)
{
	struct ptc_rule	 rule;
	char		 upstream[NAME_MAX_LEN + 1];

	if (ptc_match(reg, name, &rule, upstream, sizeof(upstream)) != 0)
		return 0;
	ptc_rule_clear(&rule);
	return 1;
}

/* Fetches m's manifest from the upstream (logged in if it needs it). */
static void
ptc_manifest_fetch(struct ptc_mfetch *m)
{
	struct fetchc_request rq;
	char		*url;

	if ((m->err = ptc_request(&m->w, "manifests", m->ref, &rq, &url,
	    m->why, sizeof(m->why))) != 0) {
		ptc_mfetch_refuse(m);
		return;
	}
	rq.max_bytes = MANIFEST_MAX;
	rq.accept = PTC_ACCEPT;
	log_debug("pull through cache: %s:%s from %s", m->w.name, m->ref,
	    rq.url);
	(void)fetchc_fetch(&rq, ptc_manifest_headers_cb,
	    ptc_manifest_fetched_cb, m);
	free(url);
}

static void
ptc_manifest_login_cb(int err, const char *why, void *arg)
{
	struct ptc_mfetch *m = arg;

	if (err != 0)
		ptc_mfetch_end(m, err, why);
	else
		ptc_manifest_fetch(m);
}

int
ptc_manifest_ensure(const struct ptc_pull *p, const char *ref,
    ptc_done_cb cb, void *arg)
{
	struct registry	*reg;
	struct repository *repo;
	struct reference r;
	struct ptc_mfetch *m;
	struct ptc_check *c;
	int		 cached = 0;

	if ((reg = registry_find(p->account, p->region)) == NULL ||
	    name_reference_parse(ref, strlen(ref), &r) != 0 ||
	    !ptc_covered(reg, p->name))
		return 0;
	if ((repo = repository_find(reg, p->name)) != NULL)
		cached = r.is_digest ? image_find(repo, &r.digest) != NULL :
		    tag_find(repo, ref) != NULL;
	m = xcalloc(1, sizeof(*m));
	snprintf(m->key, sizeof(m->key), "%s/%s/%s:%s", p->account,
	    p->region, p->name, ref);
	if (cached) {
		/* Digests never change; a tag is checked again when due. */
		c = ptc_check_get(m->key);
		if (r.is_digest || (c->ms != 0 &&
		    mono_ms() - c->ms < conf.ptc_refresh * 1000)) {
			if (c->ms == 0)
				c->ms = mono_ms();
			free(m);
			return 0;
		}
	}
	ptc_where_set(&m->w, p);
	snprintf(m->ref, sizeof(m->ref), "%s", ref);
	m->cached = cached;
	m->is_digest = r.is_digest;
	m->cb = cb;
	m->arg = arg;
	if (!ptc_import_allowed(&m->w, m->why, sizeof(m->why))) {
		m->err = BERR_DENIED;
		ptc_mfetch_refuse(m);
	} else if (!ptc_login_where(&m->w, ptc_manifest_login_cb, m))
		ptc_manifest_fetch(m);
	return 1;
}

/* --- blobs ---------------------------------------------------------------- */

static void
ptc_bfetch_end(struct ptc_bfetch *b, int err)
{
	char	 ds[DIGEST_STR_MAX];
	size_t	 i;

	TAILQ_REMOVE(&ptc_bfetches, b, entry);
	if (b->tee != NULL)
		ptc_tee_end(b->tee, err == 0);
	if (err != 0) {
		if (b->why[0] == '\0')
			snprintf(b->why, sizeof(b->why), "%s",
			    berr_message(err));
		log_warnx("pull through cache: %s@%s: %s", b->w.name,
		    digest_format(&b->digest, ds), b->why);
	}
	for (i = 0; i < b->nwaiters; i++)
		b->waiters[i].cb(err, err != 0 ? b->why : NULL,
		    b->waiters[i].arg);
	free(b->waiters);
	free(b);
}

static void	ptc_bfetch_login_cb(int, const char *, void *);

static void
ptc_bfetch_cancelled_cb(int err, uint64_t size, void *arg)
{
	struct ptc_bfetch *b = arg;

	if (b->fetch_err == BERR_DENIED && !b->relogged &&
	    ptc_login_forget(&b->w)) {
		/* Once more, logged in again, into a new session (the
		 * upstream's refusal came before any byte). */
		b->relogged = 1;
		b->fetch_err = 0;
		b->why[0] = '\0';
		b->length = 0;
		if (b->tee != NULL)
			ptc_tee_end(b->tee, 0);
		b->tee = NULL;
		if (!ptc_login_where(&b->w, ptc_bfetch_login_cb, b))
			ptc_bfetch_login_cb(0, NULL, b);
		return;
	}
	ptc_bfetch_end(b, b->fetch_err != 0 ? b->fetch_err : BERR_UPSTREAM);
}

static void
ptc_bfetch_committed_cb(int err, uint64_t size, void *arg)
{
	struct ptc_bfetch *b = arg;

	/* BLOB_UPLOAD_DISCARD ended the session of a mismatch. */
	if (err == BERR_DIGEST_INVALID) {
		snprintf(b->why, sizeof(b->why), "the upstream sent other "
		    "content than the digest names");
		err = BERR_UPSTREAM;
	}
	ptc_bfetch_end(b, err);
}

/* Both blobd (the pipe's end) and berth-fetchd (the fetch's outcome)
 * have answered. */
static void
ptc_bfetch_appended_cb(int err, uint64_t size, void *arg)
{
	struct ptc_bfetch *b = arg;

	if (b->fetch_err != 0 || err != 0) {
		if (b->fetch_err == 0) {
			b->fetch_err = err;
			snprintf(b->why, sizeof(b->why), "%s",
			    berr_message(err));
		}
		/* What was received is never committed: the session
		 * goes. */
		blob_upload_cancel(&b->u, ptc_bfetch_cancelled_cb, b);
		return;
	}
	blob_upload_commit(&b->u, &b->digest, UINT64_MAX, BLOB_UPLOAD_DISCARD,
	    ptc_bfetch_committed_cb, b);
}

static void
ptc_bfetch_fetched_cb(const struct msg_fetch_done *d, const uint8_t *body,
    size_t len, void *arg)
{
	struct ptc_bfetch *b = arg;

	if ((b->fetch_err = ptc_fetch_err(d, BERR_BLOB_UNKNOWN)) != 0)
		snprintf(b->why, sizeof(b->why), "%s", d->message[0] != '\0' ?
		    d->message : "the fetch failed");
	blob_upload_source_end(&b->u, b->fetch_err);
}

/* The upstream answers: a client that can be shown the blob as it comes
 * no longer waits for the store; its response has length bytes
 * (UINT64_MAX: chunked, the upstream gave no length; 0: not shown). */
static void
ptc_bfetch_stream(struct ptc_bfetch *b, uint64_t length)
{
	size_t		 i;

	if (b->tee == NULL || !ptc_tee_undecided(b->tee))
		return;
	if (length == 0) {
		ptc_tee_client(b->tee, NULL, 0);
		return;
	}
	for (i = 0; i < b->nwaiters; i++)
		if (b->waiters[i].arg == b->sarg)
			break;
	if (i == b->nwaiters) {
		ptc_tee_client(b->tee, NULL, 0);
		return;
	}
	memmove(&b->waiters[i], &b->waiters[i + 1],
	    (b->nwaiters - i - 1) * sizeof(*b->waiters));
	b->nwaiters--;
	free(b->sarg);
	oci_blob_headers(b->sreq, &b->digest);
	ptc_tee_client(b->tee, b->sreq, length);
	b->sreq = NULL;
	b->sarg = NULL;
}

/* The upstream gave the blob's size: w, a GET of the whole blob, joins
 * the fetch; a HEAD is answered. */
static void
ptc_bfetch_known(struct ptc_bfetch *b, struct ptc_waiter *w)
{
	if (w->joinable)
		ptc_oci_join(w->arg, &b->digest, &b->u, b->length);
	else if (w->head && b->length != UINT64_MAX) {
		w->head = 0;
		ptc_oci_head(w->arg, &b->digest, b->length);
	}
}

static void
ptc_bfetch_headers_cb(const struct msg_fetch_headers *h, void *arg)
{
	struct ptc_bfetch *b = arg;
	size_t		 i;

	if (h->status == 200 && h->content_length == -1)
		b->length = UINT64_MAX;		/* chunked */
	else if (h->status == 200 && h->content_length > 0 &&
	    (uint64_t)h->content_length <= PTC_BLOB_MAX)
		b->length = (uint64_t)h->content_length;
	ptc_bfetch_stream(b, b->length);
	/* The other GETs of the whole blob follow blobd's file; HEADs are
	 * answered with the length. */
	if (b->length != 0)
		for (i = 0; i < b->nwaiters; i++)
			ptc_bfetch_known(b, &b->waiters[i]);
}

/* The upload session exists: the pipe goes to blobd and to fetchd (or,
 * for a client to stream to, to berthd's copier between them). */
static void
ptc_bfetch_created_cb(int err, uint64_t size, void *arg)
{
	struct ptc_bfetch *b = arg;
	struct fetchc_request rq;
	char		 ds[DIGEST_STR_MAX], *url;
	int		 rc, wfd;

	if (err != 0) {
		ptc_bfetch_end(b, err);
		return;
	}
	if ((rc = ptc_request(&b->w, "blobs", digest_format(&b->digest, ds),
	    &rq, &url, b->why, sizeof(b->why))) == 0 &&
	    (rc = blob_upload_append_pipe(&b->u, 0, &wfd,
	    ptc_bfetch_appended_cb, b)) != 0)
		free(url);
	if (rc != 0) {
		b->fetch_err = rc;
		blob_upload_cancel(&b->u, ptc_bfetch_cancelled_cb, b);
		return;
	}
	rq.max_bytes = PTC_BLOB_MAX;
	rq.pipe = wfd;
	if (b->sreq != NULL && (b->tee = ptc_tee_new(wfd, &rq.pipe)) == NULL)
		rq.pipe = wfd;
	log_debug("pull through cache: blob %s from %s%s", ds, rq.url,
	    b->tee != NULL ? ", streamed" : "");
	(void)fetchc_fetch(&rq, ptc_bfetch_headers_cb, ptc_bfetch_fetched_cb,
	    b);
	free(url);
}

static void
ptc_bfetch_linked_cb(int err, const char *why, void *arg)
{
	struct ptc_bfetch *b = arg;

	if (err == PTC_LINK_FETCH)
		blob_upload_create(&b->u, b->digest.algo,
		    ptc_bfetch_created_cb, b);
	else if (err == 0)
		ptc_bfetch_end(b, 0);
	else {
		/* As a fetch that failed: a refusal logs in again once. */
		b->fetch_err = err;
		snprintf(b->why, sizeof(b->why), "%s", why);
		ptc_bfetch_cancelled_cb(0, 0, b);
	}
}

/*
 * A blob the store holds already (for another repository) is not fetched
 * again: once the upstream says it has it in the repository (a HEAD), it
 * is linked (ptc_link.c).  1 when that is under way.
 */
static int
ptc_bfetch_link(struct ptc_bfetch *b)
{
	struct ptc_pull	 p = { b->w.caller, b->w.account, b->w.region,
	    b->w.name };
	struct fetchc_request rq;
	char		 ds[DIGEST_STR_MAX], *url;

	/* A rule's secret that cannot be read fails the fetch instead. */
	if (!ptc_link_candidate(&b->digest) || ptc_request(&b->w, "blobs",
	    digest_format(&b->digest, ds), &rq, &url, b->why,
	    sizeof(b->why)) != 0)
		return 0;
	ptc_link_stored(&p, &b->digest, &rq, ptc_bfetch_linked_cb, b);
	free(url);
	return 1;
}

static void
ptc_bfetch_login_cb(int err, const char *why, void *arg)
{
	struct ptc_bfetch *b = arg;

	if (err != 0) {
		snprintf(b->why, sizeof(b->why), "%s", why);
		ptc_bfetch_end(b, err);
	} else if (!ptc_bfetch_link(b))
		blob_upload_create(&b->u, b->digest.algo,
		    ptc_bfetch_created_cb, b);
}

static void
ptc_bfetch_repo_cb(int err, void *arg)
{
	struct ptc_bfetch *b = arg;

	if (err != 0)
		ptc_bfetch_end(b, err);
	else if (!ptc_login_where(&b->w, ptc_bfetch_login_cb, b))
		ptc_bfetch_login_cb(0, NULL, b);
}

int
ptc_blob_fetch(const struct ptc_pull *p, const struct digest *d,
    ptc_done_cb cb, void *arg, struct http_request *sreq)
{
	struct registry	*reg;
	struct repository *repo;
	struct ptc_bfetch *b;
	struct ptc_waiter *w;
	struct txn	 t;
	char		 ds[DIGEST_STR_MAX];
	int		 joinable, streamable;

	joinable = sreq != NULL && !http_request_is_head(sreq);
	/* The first client is shown the blob as it comes when it wants the
	 * whole of it; a Range joins from blobd's file. */
	streamable = joinable && http_request_header(sreq, "Range") == NULL;
	if ((reg = registry_find(p->account, p->region)) == NULL)
		return 0;
	if ((repo = repository_find(reg, p->name)) != NULL &&
	    link_find(repo, d) != NULL)
		return 0;
	if (!ptc_covered(reg, p->name))
		return 0;
	TAILQ_FOREACH(b, &ptc_bfetches, entry)
		if (digest_eq(&b->digest, d) &&
		    strcmp(b->w.name, p->name) == 0 &&
		    strcmp(b->w.account, p->account) == 0 &&
		    strcmp(b->w.region, p->region) == 0)
			break;
	if (b == NULL) {
		b = xcalloc(1, sizeof(*b));
		ptc_where_set(&b->w, p);
		b->digest = *d;
		blob_upload_init(&b->u, p->account, p->region, p->name);
		b->sreq = streamable ? sreq : NULL;
		b->sarg = streamable ? arg : NULL;
		TAILQ_INSERT_TAIL(&ptc_bfetches, b, entry);
		/* An empty transaction when nothing is missing: its answer
		 * comes from the loop either way. */
		txn_init(&t);
		if (!ptc_import_allowed(&b->w, b->why, sizeof(b->why)))
			t.err = BERR_DENIED;
		else
			(void)ptc_repo_ensure(&b->w, &t);
		txn_commit(&t, ptc_bfetch_repo_cb, b);
	}
	b->waiters = xreallocarray(b->waiters, b->nwaiters + 1,
	    sizeof(*b->waiters));
	w = &b->waiters[b->nwaiters++];
	memset(w, 0, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	w->joinable = joinable;
	w->head = sreq != NULL && !joinable;
	if (b->nwaiters > 1 || b->sarg != arg)
		log_debug("pull through cache: blob %s: a %s waits for its "
		    "fetch", digest_format(d, ds), joinable ? "GET that can "
		    "join" : w->head ? "HEAD" : "pull");
	if (b->length != 0 && b->sarg != arg)
		ptc_bfetch_known(b, w);
	return 1;
}

int
ptc_blob_ensure(const struct ptc_pull *p, const struct digest *d,
    ptc_done_cb cb, void *arg)
{
	return ptc_blob_fetch(p, d, cb, arg, NULL);
}
