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
 * Loading the model from blobd's metadata log, compacting the log into a
 * snapshot, and recording pull times in batches.
 *
 * A reload may be asked for while requests keep changing the model (blobd
 * restarted, an append failed).  Entries sent after the load request are
 * not in the state blobd returns, so they are kept and applied again on
 * top of the loaded state.
 *
 * A link record may also ride with its blob's commit (txn_link_ride):
 * blobd appends it, and berthd applies it when both are durable.  Until
 * then the model lacks it, so no snapshot may be taken while one is in
 * flight: a compaction waits for them to land, and new ones wait for it.
 */
#include "config.h"

#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "registry.h"
#include "error.h"
#include "log.h"
#include "util.h"

#define COMPACT_BYTES		(64ull * 1024 * 1024)
#define COMPACT_ENTRIES		100000
#define PULL_FLUSH_SEC		10

/* Whom a load, a compaction or a flush answers (done may be NULL). */
struct meta_waiter {
	meta_done_cb	 done;
	void		*arg;
	struct meta_waiter *next;	/* answered with this one */
};

struct pending_entry {
	uint8_t		*data;
	size_t		 len;
};

static int			 meta_nloads;	/* loads in flight */
static struct pending_entry	*meta_pending;
static size_t			 meta_npending;
static int			 meta_compacting;
static int			 meta_rides;	/* link records riding */
static int			 meta_compact_due;	/* once they landed */
static struct meta_waiter	*meta_compact_waiters;

struct pull_note {
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		*repo;
	struct digest	 digest;
	int64_t		 ms;
};

static struct pull_note	*meta_pulls;
static size_t		 meta_npulls;
static struct event	*meta_ev_pulls;

int
meta_loading(void)
{
	return meta_nloads > 0;
}

static struct meta_waiter *
meta_waiter_new(meta_done_cb done, void *arg)
{
	struct meta_waiter *w;

	w = xcalloc(1, sizeof(*w));
	w->done = done;
	w->arg = arg;
	return w;
}

/* Answers w and the waiters chained to it. */
static void
meta_waiter_done(struct meta_waiter *w, int err)
{
	struct meta_waiter *next;

	for (; w != NULL; w = next) {
		next = w->next;
		if (w->done != NULL)
			w->done(err, w->arg);
		free(w);
	}
}

void
meta_sent_entry(const uint8_t *data, size_t len)
{
	struct pending_entry *e;

	if (meta_nloads == 0)
		return;
	meta_pending = xreallocarray(meta_pending, meta_npending + 1,
	    sizeof(*meta_pending));
	e = &meta_pending[meta_npending++];
	e->data = xmalloc(len);
	memcpy(e->data, data, len);
	e->len = len;
}

static void
meta_pending_clear(void)
{
	size_t	 i;

	for (i = 0; i < meta_npending; i++)
		free(meta_pending[i].data);
	free(meta_pending);
	meta_pending = NULL;
	meta_npending = 0;
}

static void
meta_secret_cb(int err, void *arg)
{
	if (err != 0)
		log_warnx("cannot store the token signing key: %s",
		    berr_message(err));
}

/* Replays the state in [p, p+len) into a new model; 0 or -1. */
static int
meta_replay(const uint8_t *p, size_t len, uint64_t entries)
{
	struct model	*old = model;
	uint32_t	 n;
	uint64_t	 count = 0;
	size_t		 off = 0, i;

	model = model_new();
	while (off < len) {
		if (len - off < sizeof(n))
			goto bad;
		memcpy(&n, p + off, sizeof(n));
		off += sizeof(n);
		if (n > len - off || n > FRAME_MAX_PAYLOAD)
			goto bad;
		if (record_apply_entry(p + off, n) == -1)
			goto bad;
		off += n;
		count++;
	}
	if (count != entries)
		goto bad;
	/* Entries sent while this load was in flight come after it. */
	for (i = 0; i < meta_npending; i++)
		if (record_apply_entry(meta_pending[i].data,
		    meta_pending[i].len) == -1)
			goto bad;
	model->log_entries = count;
	model->log_bytes = len;
	model_free(old);
	return 0;
bad:
	model_free(model);
	model = old;
	return -1;
}

static void
meta_state_cb(int err, int fd, uint64_t len, uint64_t entries, void *arg)
{
	struct meta_waiter *ctx = arg;
	struct txn	 t;
	void		*map = NULL;
	int		 rc = 0;

	meta_nloads--;
	if (err != 0) {
		rc = err;
		goto done;
	}
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			log_warn("mmap metadata state");
			rc = BERR_IO;
			goto done;
		}
	}
	if (meta_replay(map, len, entries) == -1) {
		/* blobd checked every entry's checksum: this is our bug or a
		 * format we do not know.  Serving would lose data. */
		fatalx("the metadata in %s does not replay; refusing to run",
		    conf.data_dir);
	}
	log_info("loaded %llu metadata entries (%llu bytes)",
	    (unsigned long long)entries, (unsigned long long)len);
	/* Work a crash interrupted resumes from what the disk says. */
	replication_reload();
	signing_reload();
	if (map != NULL)
		munmap(map, len);
	if (!model->have_secret) {
		uint8_t secret[32];
		random_bytes(secret, sizeof(secret));
		txn_init(&t);
		if (txn_secret(&t, secret, sizeof(secret)) != 0)
			fatalx("cannot record the token signing key");
		txn_commit(&t, meta_secret_cb, NULL);
		explicit_bzero(secret, sizeof(secret));
	}
done:
	if (fd != -1)
		close(fd);
	if (meta_nloads == 0)
		meta_pending_clear();
	meta_waiter_done(ctx, rc);
}

void
meta_load(meta_done_cb done, void *arg)
{
	struct meta_waiter *ctx;

	ctx = meta_waiter_new(done, arg);
	meta_nloads++;
	blobc_meta_load(meta_state_cb, ctx);
}

static void
meta_compact_cb(int err, void *arg)
{
	struct meta_waiter *ctx = arg;

	meta_compacting = 0;
	if (err != 0)
		log_warnx("metadata compaction failed: %s", berr_message(err));
	else
		log_info("metadata log compacted");
	meta_waiter_done(ctx, err);
}

/* Writes the snapshot and sends it; the waiters hear how it went. */
static void
meta_compact_start(struct meta_waiter *waiters)
{
	uint64_t	 len;
	int64_t		 entries;
	int		 fd;

	if ((fd = anon_file("berth-snapshot")) == -1) {
		log_warn("memfd for the snapshot");
		meta_waiter_done(waiters, BERR_IO);
		return;
	}
	if ((entries = record_snapshot(fd, &len)) < 0) {
		log_warn("writing the snapshot");
		close(fd);
		meta_waiter_done(waiters, BERR_IO);
		return;
	}
	meta_compacting = 1;
	/* Counted from here: entries after this message go to the new log. */
	model->log_entries = 0;
	model->log_bytes = 0;
	model->snapshot_entries = (uint64_t)entries;
	model->snapshot_bytes = len;
	blobc_meta_compact(fd, len, (uint64_t)entries, meta_compact_cb,
	    waiters);
}

void
meta_compact(meta_done_cb done, void *arg)
{
	struct meta_waiter *w;

	if (meta_compacting || meta_loading()) {
		if (done != NULL)
			done(BERR_UNAVAILABLE, arg);
		return;
	}
	w = meta_waiter_new(done, arg);
	if (meta_rides == 0) {
		meta_compact_start(w);
		return;
	}
	w->next = meta_compact_waiters;
	meta_compact_waiters = w;
	meta_compact_due = 1;
}

int
meta_ride_begin(void)
{
	if (meta_compact_due)
		return -1;
	meta_rides++;
	return 0;
}

void
meta_ride_end(void)
{
	struct meta_waiter *w;

	if (--meta_rides > 0 || !meta_compact_due)
		return;
	meta_compact_due = 0;
	w = meta_compact_waiters;
	meta_compact_waiters = NULL;
	if (meta_compacting || meta_loading())
		meta_waiter_done(w, BERR_UNAVAILABLE);
	else
		meta_compact_start(w);
}

/*
 * Compact when the log since the last snapshot has grown past a floor and
 * past the snapshot itself, so that rewriting the whole state costs no
 * more than the changes that made it necessary.
 */
int
meta_compaction_due(uint64_t snapshot_bytes, uint64_t log_bytes,
    uint64_t log_entries)
{
	uint64_t limit = COMPACT_BYTES;

	if (snapshot_bytes > limit)
		limit = snapshot_bytes;
	if (log_bytes >= limit)
		return 1;
	/* Many small entries replay slowly too, but a big state is not
	 * rewritten for a tail that is small beside it. */
	return log_entries >= COMPACT_ENTRIES &&
	    log_bytes >= snapshot_bytes / 4;
}

void
meta_maybe_compact(void)
{
	if (meta_compacting || meta_loading() || meta_compact_due)
		return;
	if (meta_compaction_due(model->snapshot_bytes, model->log_bytes,
	    model->log_entries))
		meta_compact(NULL, NULL);
}

/* --- pull times ---------------------------------------------------------- */

static void
meta_pulls_done_cb(int err, void *arg)
{
	struct meta_waiter *ctx = arg;

	if (err != 0)
		log_debug("pull times not recorded: %s", berr_message(err));
	meta_waiter_done(ctx, err);
}

void
meta_flush_pulls(meta_done_cb done, void *arg)
{
	struct meta_waiter *ctx;
	struct txn	 t;
	struct repository *repo;
	struct image	*img;
	size_t		 i;

	txn_init(&t);
	for (i = 0; i < meta_npulls; i++) {
		struct pull_note *pn = &meta_pulls[i];
		repo = repository_lookup(pn->account, pn->region, pn->repo);
		if (repo != NULL && (img = image_find(repo, &pn->digest)) !=
		    NULL)
			(void)txn_pull_time(&t, img, pn->ms);
		free(pn->repo);
	}
	meta_npulls = 0;
	if (meta_ev_pulls != NULL)
		evtimer_del(meta_ev_pulls);
	if (t.nrecords == 0) {
		txn_clear(&t);
		if (done != NULL)
			done(0, arg);
		return;
	}
	ctx = meta_waiter_new(done, arg);
	txn_commit(&t, meta_pulls_done_cb, ctx);
}

static void
meta_pulls_cb(evutil_socket_t fd, short events, void *arg)
{
	meta_flush_pulls(NULL, NULL);
}

void
meta_note_pull(struct image *img, const char *principal)
{
	struct pull_note *pn;
	struct timeval	 tv = { PULL_FLUSH_SEC, 0 };
	char		 key[sizeof(PULL_EXCLUSION_KEY) + PRINCIPAL_MAX];
	size_t		 i;

	if (img->repo->registry->settings.len > 0) {
		snprintf(key, sizeof(key), PULL_EXCLUSION_KEY "%s", principal);
		if (registry_setting(img->repo->registry, key) != NULL)
			return;
	}
	img->pulled_ms = model_now_ms();
	model_repo_changed(img->repo);
	for (i = 0; i < meta_npulls; i++) {
		pn = &meta_pulls[i];
		if (digest_eq(&pn->digest, &img->digest) &&
		    strcmp(pn->repo, img->repo->name) == 0 &&
		    strcmp(pn->account, img->repo->registry->account) == 0 &&
		    strcmp(pn->region, img->repo->registry->region) == 0) {
			pn->ms = img->pulled_ms;
			return;
		}
	}
	meta_pulls = xreallocarray(meta_pulls, meta_npulls + 1,
	    sizeof(*meta_pulls));
	pn = &meta_pulls[meta_npulls++];
	memset(pn, 0, sizeof(*pn));
	strcpy(pn->account, img->repo->registry->account);
	strcpy(pn->region, img->repo->registry->region);
	pn->repo = xstrdup(img->repo->name);
	pn->digest = img->digest;
	pn->ms = img->pulled_ms;
	if (meta_ev_pulls == NULL &&
	    (meta_ev_pulls = evtimer_new(ev_base, meta_pulls_cb, NULL)) ==
	    NULL)
		fatalx("evtimer_new");
	if (!evtimer_pending(meta_ev_pulls, NULL))
		evtimer_add(meta_ev_pulls, &tv);
}
