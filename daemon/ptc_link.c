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
 * A blob a pull through the cache misses in its repository, but that the
 * store holds already (images share base layers: stored for another
 * repository), is not downloaded again.  The upstream is asked whether it
 * has the blob in the repository the rule maps to (a HEAD through
 * berth-fetchd, with the token flow and credentials of a GET), and on its
 * 200 the stored blob is linked into the repository, durably, before the
 * pull is served from the store.  A 404 or a failure answers as a fetch's
 * would, and nothing is linked: a blob of another repository, maybe a
 * private one, becomes visible in a cache repository only when the
 * upstream vouched for it.  The HEAD's Content-Length and
 * Docker-Content-Digest, when it sends them, must be the stored blob's
 * size and digest: an upstream that describes other content is not
 * trusted to hold the blob, which is fetched instead (and verified
 * against its digest as any fetch).  The pulls of the blob that come
 * meanwhile wait on the one fetch in ptc_pull.c, so they make one HEAD.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berthd.h"
#include "error.h"
#include "fetch_proto.h"
#include "log.h"
#include "ptc.h"
#include "util.h"

struct ptc_link {
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		 name[NAME_MAX_LEN + 1];
	struct digest	 digest;
	int64_t		 length;	/* the HEAD's Content-Length, or -1 */
	char		 said[DIGEST_STR_MAX];	/* its digest, or "" */
	char		 why[PTC_WHY_MAX];
	ptc_done_cb	 cb;
	void		*arg;
};

int
ptc_link_candidate(const struct digest *d)
{
	struct blob	*b;

	/* A blob is linked once it is stored; one only referenced (a
	 * cached manifest's layer not fetched yet) may not be. */
	if ((b = blob_find(d)) == NULL || b->links == 0)
		return 0;
	/* GC keeps it while the upstream is asked. */
	blob_touch(b);
	return 1;
}

static void
ptc_link_end(struct ptc_link *l, int err)
{
	char	 ds[DIGEST_STR_MAX];

	if (err == 0)
		log_info("pull through cache: %s@%s: the upstream has it: "
		    "the stored blob is linked, not fetched again", l->name,
		    digest_format(&l->digest, ds));
	l->cb(err, err != 0 ? l->why : NULL, l->arg);
	free(l);
}

static void
ptc_link_linked_cb(int err, void *arg)
{
	struct ptc_link	*l = arg;

	if (err != 0)
		snprintf(l->why, sizeof(l->why), "%s", berr_message(err));
	ptc_link_end(l, err);
}

/* Whether the upstream's HEAD described other content than the stored
 * blob of size bytes (logged). */
static int
ptc_link_disagrees(const struct ptc_link *l, uint64_t size)
{
	struct digest	 said;
	char		 ds[DIGEST_STR_MAX];

	if (l->length != -1 && (uint64_t)l->length != size)
		log_warnx("pull through cache: %s@%s: the upstream says "
		    "%lld bytes, the stored blob has %llu: fetched, not "
		    "linked", l->name, digest_format(&l->digest, ds),
		    (long long)l->length, (unsigned long long)size);
	else if (l->said[0] != '\0' && (digest_parse_str(l->said,
	    &said) != 0 || !digest_eq(&said, &l->digest)))
		log_warnx("pull through cache: %s@%s: the upstream names it "
		    "%s: fetched, not linked", l->name,
		    digest_format(&l->digest, ds), l->said);
	else
		return 0;
	return 1;
}

/* blobd opened the blob (the descriptor cache keeps it for the GET that
 * follows), or says the store has it no more. */
static void
ptc_link_opened_cb(int err, const struct digest *d,
    struct evbuffer_file_segment *seg, uint64_t size, void *arg)
{
	struct ptc_link	*l = arg;
	struct repository *repo;
	struct txn	 t;

	if (err == BERR_BLOB_UNKNOWN || (err == 0 && blob_find(d) == NULL)) {
		/* Gone meanwhile (GC): fetched as any missing blob. */
		ptc_link_end(l, PTC_LINK_FETCH);
		return;
	}
	if (err == 0 && ptc_link_disagrees(l, size)) {
		ptc_link_end(l, PTC_LINK_FETCH);
		return;
	}
	if (err == 0 && (repo = repository_lookup(l->account, l->region,
	    l->name)) == NULL)
		err = BERR_NAME_UNKNOWN;
	if (err != 0) {
		snprintf(l->why, sizeof(l->why), "%s", berr_message(err));
		ptc_link_end(l, err);
		return;
	}
	/* The record a finished fetch makes, durable before the answer. */
	txn_init(&t);
	(void)txn_link_put(&t, repo, d, size);
	txn_commit(&t, ptc_link_linked_cb, l);
}

static void
ptc_link_headers_cb(const struct msg_fetch_headers *h, void *arg)
{
	struct ptc_link	*l = arg;

	l->length = h->content_length;
	snprintf(l->said, sizeof(l->said), "%s", h->digest);
}

static void
ptc_link_head_cb(const struct msg_fetch_done *d, const uint8_t *body,
    size_t len, void *arg)
{
	struct ptc_link	*l = arg;
	int		 err;

	if ((err = ptc_fetch_err(d, BERR_BLOB_UNKNOWN)) != 0) {
		snprintf(l->why, sizeof(l->why), "%s", d->message[0] != '\0' ?
		    d->message : "the upstream's HEAD failed");
		ptc_link_end(l, err);
		return;
	}
	blob_cache_open(&l->digest, ptc_link_opened_cb, l);
}

void
ptc_link_stored(const struct ptc_pull *p, const struct digest *d,
    const struct fetchc_request *rq, ptc_done_cb cb, void *arg)
{
	struct fetchc_request head = *rq;
	struct ptc_link	*l;

	l = xcalloc(1, sizeof(*l));
	snprintf(l->account, sizeof(l->account), "%s", p->account);
	snprintf(l->region, sizeof(l->region), "%s", p->region);
	snprintf(l->name, sizeof(l->name), "%s", p->name);
	l->digest = *d;
	l->length = -1;
	l->cb = cb;
	l->arg = arg;
	head.method = FETCH_HEAD;
	head.max_bytes = 0;
	head.pipe = -1;
	log_debug("pull through cache: %s: the store has the blob: HEAD %s",
	    p->name, head.url);
	(void)fetchc_fetch(&head, ptc_link_headers_cb, ptc_link_head_cb, l);
}
