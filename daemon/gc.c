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
 * Garbage collection.  berthd knows what references what; blobd knows what
 * is stored.  A run:
 *  1. asks blobd for every stored blob (digest, size, mtime);
 *  2. marks: a blob is kept if an image references it, or if a push may be
 *     about to reference it (see gc_blob_is_garbage); after a reset of some
 *     registries, what they left that no repository has any more goes at
 *     once;
 *  3. durably forgets the garbage in the metadata (its links disappear, so
 *     no new manifest can reference it from here on);
 *  4. asks blobd to delete exactly those files, skipping any stored again
 *     since the listing (blobd bumps the mtime of a blob pushed again).
 * Runs are serialized; the registry keeps serving throughout: step 2 and
 * 3 go in steps of about GC_STEP_MS, each with its forget records sent as
 * one entry, so that the loop serves requests in between (a listing of
 * 100,000 blobs marked in one go stalled every request for seconds).
 * A blob is marked against the model as it is at its step, and each
 * step's records are sent before the loop runs anything else, so the log
 * orders them as the model did.
 */
#include "config.h"

#include <sys/time.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "error.h"
#include "log.h"
#include "util.h"

/* Forget records per log entry: well under FRAME_MAX_PAYLOAD. */
#define GC_FORGETS_PER_TXN	10000
/* How long a step of marking runs before the loop serves requests. */
#define GC_STEP_US		2000
/* Blobs marked between two looks at the clock. */
#define GC_CLOCK_EVERY		64

struct gc_waiter {
	int		 dry_run;
	int		 ignore_grace;
	struct digest	*released;	/* sorted; see gc_run_released */
	size_t		 nreleased;
	gc_done_cb	 done;
	void		*arg;
	struct gc_waiter *next;
};

struct gc_pass {
	struct gc_waiter *waiter;
	int64_t		 started_mono;
	int64_t		 not_after_ms;
	struct gc_result result;
	struct blobc_stored *garbage;
	size_t		 ngarbage;
	struct blobc_stored *list;	/* the listing, while marking */
	size_t		 nlist;
	size_t		 next;		/* the next to mark */
	struct event	*step_ev;
	size_t		 commits_pending; /* the marking counts as one */
	int		 commit_err;
};

static struct gc_waiter	*gc_queue, **gc_queue_tail = &gc_queue;
static struct gc_pass	*gc_current;
static struct gc_stats	 gc_totals;

static void	gc_start_next(void);

static int
gc_digest_cmp(const void *a, const void *b)
{
	return digest_cmp(a, b);
}

static int
gc_is_released(const struct gc_waiter *w, const struct digest *d)
{
	return w->nreleased > 0 && bsearch(d, w->released, w->nreleased,
	    sizeof(*w->released), gc_digest_cmp) != NULL;
}

static void
gc_waiter_free(struct gc_waiter *w)
{
	free(w->released);
	free(w);
}

const struct gc_stats *
gc_stats(void)
{
	return &gc_totals;
}

int
gc_blob_is_garbage(const struct blob *b, int64_t mtime_ms, int64_t now,
    int64_t grace_ms)
{
	int64_t	 horizon = now - grace_ms;

	if (b == NULL) {
		/* Stored but unknown to the metadata: a commit whose link
		 * never became durable.  Old enough means abandoned. */
		return mtime_ms < horizon;
	}
	if (b->refs > 0)
		return 0;
	/*
	 * Unreferenced.  Push activity (an upload, a mount, an existence
	 * check) after it lost its last reference, or since it was stored
	 * if it never had one, means a push may be about to reference it.
	 */
	if (b->active_ms > b->deref_ms && b->active_ms >= horizon)
		return 0;
	return 1;
}

static void
gc_finish(struct gc_pass *run, int err)
{
	struct gc_waiter *w = run->waiter;

	run->result.duration_ms = mono_ms() - run->started_mono;
	if (err == 0 && !run->result.dry_run) {
		gc_totals.runs++;
		gc_totals.blobs += run->result.blobs;
		gc_totals.bytes += run->result.bytes;
	}
	if (err == 0)
		log_info("gc%s: %llu blobs, %llu bytes %s in %lld ms",
		    run->result.dry_run ? " (dry run)" : "",
		    (unsigned long long)run->result.blobs,
		    (unsigned long long)run->result.bytes,
		    run->result.dry_run ? "would be reclaimed" : "reclaimed",
		    (long long)run->result.duration_ms);
	else
		log_warnx("gc failed: %s", berr_message(err));
	w->done(err, &run->result, w->arg);
	gc_waiter_free(w);
	free(run->garbage);
	free(run->list);
	if (run->step_ev != NULL)
		event_free(run->step_ev);
	free(run);
	gc_current = NULL;
	gc_start_next();
}

static void
gc_swept_cb(int err, uint64_t blobs, uint64_t bytes, void *arg)
{
	struct gc_pass	*run = arg;

	if (err == 0) {
		run->result.blobs = blobs;
		run->result.bytes = bytes;
		blob_cache_forget_all();
	}
	gc_finish(run, err);
}

static void
gc_forgotten_cb(int err, void *arg)
{
	struct gc_pass	*run = arg;

	if (err != 0 && run->commit_err == 0)
		run->commit_err = err;
	if (--run->commits_pending > 0)
		return;
	/* Delete files only once the metadata no longer names them. */
	if (run->commit_err != 0)
		gc_finish(run, run->commit_err);
	else
		blobc_gc_sweep(run->garbage, run->ngarbage, run->not_after_ms,
		    gc_swept_cb, run);
}

/*
 * Marks the listing from run->next for about GC_STEP_US and sends the
 * step's forget records; then the loop runs, and the next step after it.
 * The marking is one of commits_pending until its last step.
 */
static void
gc_mark_step(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval now_tv = { 0, 0 };
	struct gc_pass	*run = arg;
	struct blobc_stored *e;
	struct blob	*b;
	struct txn	 t;
	char		 ds[DIGEST_STR_MAX];
	int64_t		 now = now_ms(), until = mono_us() + GC_STEP_US;
	int64_t		 grace = run->waiter->ignore_grace ? 0 :
			    conf.gc_grace * 1000;
	size_t		 in_txn = 0, n = 0;

	/* A reload may have begun since the last step. */
	if (!worker_ready()) {
		gc_forgotten_cb(BERR_UNAVAILABLE, run);
		return;
	}
	txn_init(&t);
	for (; run->next < run->nlist; run->next++) {
		if (++n % GC_CLOCK_EVERY == 0 && mono_us() >= until)
			break;
		e = &run->list[run->next];
		run->result.examined++;
		b = blob_find(&e->digest);
		if (b != NULL && gc_is_released(run->waiter, &e->digest)) {
			/* Left by a reset: gone unless another repository
			 * still has it (its pushes keep the grace rule). */
			if (b->refs > 0 || b->links > 0)
				continue;
		} else if (!gc_blob_is_garbage(b, e->mtime_ms, now, grace))
			continue;
		run->garbage[run->ngarbage++] = *e;
		if (run->result.dry_run) {
			run->result.blobs++;
			run->result.bytes += e->size;
			continue;
		}
		if (b == NULL)
			continue;
		if (txn_blob_forget(&t, &e->digest) != 0)
			fatalx("gc: cannot forget %s",
			    digest_format(&e->digest, ds));
		if (++in_txn == GC_FORGETS_PER_TXN) {
			run->commits_pending++;
			txn_commit(&t, gc_forgotten_cb, run);
			txn_init(&t);
			in_txn = 0;
		}
	}
	/* The last step always commits: that orders the sweep after every
	 * entry sent before it. */
	if (!run->result.dry_run && (in_txn > 0 || run->next == run->nlist)) {
		run->commits_pending++;
		txn_commit(&t, gc_forgotten_cb, run);
	} else
		txn_clear(&t);
	if (run->next < run->nlist) {
		evtimer_add(run->step_ev, &now_tv);
		return;
	}
	free(run->list);
	run->list = NULL;
	if (run->result.dry_run)
		gc_finish(run, 0);
	else
		gc_forgotten_cb(0, run);
}

static void
gc_listing_cb(int err, const struct blobc_stored *list, size_t n,
    void *arg)
{
	struct gc_pass	*run = arg;

	/* A reload may have begun while the listing was on its way. */
	if (err == 0 && !worker_ready())
		err = BERR_UNAVAILABLE;
	if (err != 0) {
		gc_finish(run, err);
		return;
	}
	run->garbage = xcalloc(n > 0 ? n : 1, sizeof(*run->garbage));
	run->list = xcalloc(n > 0 ? n : 1, sizeof(*run->list));
	if (n > 0)
		memcpy(run->list, list, n * sizeof(*list));
	run->nlist = n;
	if ((run->step_ev = evtimer_new(ev_base, gc_mark_step, run)) == NULL)
		fatalx("evtimer_new");
	run->commits_pending = 1;
	gc_mark_step(-1, 0, run);
}

static void
gc_start_next(void)
{
	struct gc_waiter *w;
	struct gc_pass	*run;

	if (gc_current != NULL || (w = gc_queue) == NULL)
		return;
	if ((gc_queue = w->next) == NULL)
		gc_queue_tail = &gc_queue;
	w->next = NULL;
	if (!worker_ready()) {
		struct gc_result r;

		memset(&r, 0, sizeof(r));
		r.dry_run = w->dry_run;
		log_warnx("gc not run: %s", berr_message(BERR_UNAVAILABLE));
		w->done(BERR_UNAVAILABLE, &r, w->arg);
		gc_waiter_free(w);
		gc_start_next();
		return;
	}
	run = xcalloc(1, sizeof(*run));
	run->waiter = w;
	run->started_mono = mono_ms();
	/* blobd deletes blobs with mtime <= not_after: one stored again in
	 * this very millisecond must survive. */
	run->not_after_ms = now_ms() - 1;
	run->result.dry_run = w->dry_run;
	gc_current = run;
	blobc_gc_list(gc_listing_cb, run);
}

static void
gc_enqueue(struct gc_waiter *w)
{
	*gc_queue_tail = w;
	gc_queue_tail = &w->next;
	gc_start_next();
}

void
gc_run(int dry_run, int ignore_grace, gc_done_cb done, void *arg)
{
	struct gc_waiter *w;

	w = xcalloc(1, sizeof(*w));
	w->dry_run = dry_run;
	w->ignore_grace = ignore_grace;
	w->done = done;
	w->arg = arg;
	gc_enqueue(w);
}

void
gc_run_released(struct digest *released, size_t n, gc_done_cb done,
    void *arg)
{
	struct gc_waiter *w;

	w = xcalloc(1, sizeof(*w));
	if (n > 0)
		qsort(released, n, sizeof(*released), gc_digest_cmp);
	w->released = released;
	w->nreleased = n;
	w->done = done;
	w->arg = arg;
	gc_enqueue(w);
}
