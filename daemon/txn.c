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
 * Transactions: a batch of records written as one log entry, all or
 * nothing after a crash.  Each txn_* call encodes a record (record.c) and
 * applies it to the model at once, through the code that replays the log,
 * so that memory and disk cannot disagree.  The first record that does
 * not apply becomes the transaction's error and later calls do nothing:
 * a caller adds its records, then commits and reports once.  txn_commit
 * is the one writer of the metadata log: it sends the entry to blobd,
 * tells meta.c of entries sent while a load is in flight, and has the
 * model reloaded from disk when an append fails.  A link record may
 * instead ride with its blob's commit, applied once both are durable.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "berthd.h"
#include "error.h"
#include "image_scan.h"
#include "log.h"
#include "name.h"
#include "util.h"

struct txn_commit_ctx {
	txn_done_cb	 done;
	void		*arg;
	size_t		 len;
	int		 err;		/* the transaction's own */
};

void
txn_init(struct txn *t)
{
	wbuf_init(&t->buf);
	t->nrecords = 0;
	t->adds = 0;
	t->err = 0;
}

void
txn_clear(struct txn *t)
{
	wbuf_clear(&t->buf);
	t->nrecords = 0;
	t->adds = 0;
	t->err = 0;
}

/* Where the next record will start in the entry. */
static size_t
txn_begin(struct txn *t)
{
	record_entry_begin(&t->buf);
	return t->buf.len;
}

/*
 * Applies the record encoded at [start, end) of the entry; if it does not
 * apply, the encoding is undone (the model is untouched then) and its
 * error becomes the transaction's.
 */
static int
txn_add(struct txn *t, size_t start, int adds)
{
	int	 rc;

	if (t->err != 0)
		return t->err;
	if ((rc = record_apply(t->buf.data + start, t->buf.len - start)) !=
	    0) {
		t->buf.len = start;
		t->err = rc;
		return rc;
	}
	t->nrecords++;
	t->adds |= adds;
	return 0;
}

int
txn_repo_put(struct txn *t, const char *account, const char *region,
    const char *name, int64_t created_ms, const struct repo_config *c)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_repo_put(&t->buf, account, region, name, created_ms, c);
	return txn_add(t, start, 1);
}

int
txn_repo_ensure(struct txn *t, const char *account, const char *region,
    const char *name)
{
	struct repo_config cfg;
	int		 rc;

	if (t->err != 0 || repository_lookup(account, region, name) != NULL)
		return t->err;
	if (!name_ecr_repository_valid(name, strlen(name)))
		return t->err = BERR_NAME_INVALID;
	if (!registry_has_room(account, region))
		return t->err = BERR_LIMIT_EXCEEDED;
	repo_config_init(&cfg);
	cfg.encryption_type = xstrdup("AES256");
	rc = txn_repo_put(t, account, region, name, model_now_ms(),
	    &cfg);
	repo_config_clear(&cfg);
	return rc;
}

int
txn_repo_delete(struct txn *t, struct repository *repo)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_repo_delete(&t->buf, repo);
	return txn_add(t, start, 0);
}

int
txn_image_put(struct txn *t, const struct image *img)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_image_put(&t->buf, img);
	return txn_add(t, start, 1);
}

int
txn_image_delete(struct txn *t, struct image *img)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_image_delete(&t->buf, img);
	return txn_add(t, start, 0);
}

int
txn_tag_put(struct txn *t, struct repository *repo, const char *tag,
    const struct digest *d)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_tag_put(&t->buf, repo, tag, d);
	return txn_add(t, start, 1);
}

int
txn_tag_delete(struct txn *t, struct repository *repo, const char *tag)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_tag_delete(&t->buf, repo, tag);
	return txn_add(t, start, 0);
}

int
txn_link_put(struct txn *t, struct repository *repo, const struct digest *d,
    uint64_t size)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_link_put(&t->buf, repo, d, size, now_ms());
	return txn_add(t, start, 1);
}

int
txn_link_delete(struct txn *t, struct repository *repo,
    const struct digest *d)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_link_delete(&t->buf, repo, d);
	return txn_add(t, start, 0);
}

int
txn_blob_forget(struct txn *t, const struct digest *d)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_blob_forget(&t->buf, d);
	return txn_add(t, start, 0);
}

int
txn_pull_time(struct txn *t, struct image *img, int64_t ms)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_pull_time(&t->buf, img, ms);
	return txn_add(t, start, 1);
}

int
txn_secret(struct txn *t, const uint8_t *secret, size_t len)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_secret(&t->buf, secret, len);
	return txn_add(t, start, 1);
}

int
txn_image_status(struct txn *t, struct image *img, enum image_status status,
    int64_t archived_ms, int64_t activated_ms)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_image_status(&t->buf, img, status, archived_ms,
		    activated_ms);
	return txn_add(t, start, 1);
}

int
txn_repo_evaluated(struct txn *t, struct repository *repo, int64_t ms)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_repo_evaluated(&t->buf, repo, ms);
	return txn_add(t, start, 1);
}

int
txn_clock(struct txn *t, int64_t offset_ms)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_clock(&t->buf, offset_ms);
	return txn_add(t, start, 1);
}

int
txn_setting_put(struct txn *t, struct registry *reg, const char *key,
    const char *value)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_setting_put(&t->buf, reg, key, value);
	return txn_add(t, start, 1);
}

int
txn_setting_delete(struct txn *t, struct registry *reg, const char *key)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_setting_delete(&t->buf, reg, key);
	return txn_add(t, start, 0);
}

int
txn_scan_put(struct txn *t, struct image *img, const struct image_scan *sc)
{
	size_t	 start = txn_begin(t);

	if (t->err == 0)
		record_scan_put(&t->buf, img, sc);
	return txn_add(t, start, 1);
}

/* --- committing ---------------------------------------------------------- */

int
txn_link_ride(struct txn *t, struct repository *repo, const struct digest *d,
    uint64_t size)
{
	if (t->buf.len != 0 || meta_ride_begin() == -1)
		return -1;
	record_link_put(&t->buf, repo, d, size, now_ms());
	t->nrecords = 1;
	return 0;
}

int
txn_link_landed(struct txn *t, int err)
{
	int	 landed = err == 0;

	if (landed) {
		/* Past the entry's version byte: its one record. */
		err = record_apply(t->buf.data + 1, t->buf.len - 1);
		/* A load in flight may not have seen the entry. */
		meta_sent_entry(t->buf.data, t->buf.len);
		model->log_entries++;
		model->log_bytes += t->buf.len;
	}
	txn_clear(t);
	meta_ride_end();
	if (landed)
		meta_maybe_compact();
	return err;
}

static void
txn_done(struct txn_commit_ctx *ctx, int err)
{
	ctx->done(ctx->err != 0 ? ctx->err : err, ctx->arg);
	free(ctx);
}

static void
txn_appended_cb(int err, void *arg)
{
	struct txn_commit_ctx *ctx = arg;

	if (err != 0) {
		/* The change is in memory but maybe not on disk: go back to
		 * what the disk says, so that nothing unacknowledged shows. */
		log_warnx("metadata append failed (%s); reloading state",
		    berr_message(err));
		if (err != BERR_UNAVAILABLE && err != BERR_SHUTTING_DOWN)
			meta_load(NULL, NULL);
	} else {
		model->log_entries++;
		model->log_bytes += ctx->len;
	}
	txn_done(ctx, err);
	if (err == 0)
		meta_maybe_compact();
}

static void
txn_refused_cb(evutil_socket_t fd, short events, void *arg)
{
	txn_done(arg, 0);
}

void
txn_commit(struct txn *t, txn_done_cb done, void *arg)
{
	struct txn_commit_ctx *ctx;

	ctx = xcalloc(1, sizeof(*ctx));
	ctx->done = done;
	ctx->arg = arg;
	ctx->err = t->err;
	if (t->err != 0 && t->nrecords == 0) {
		/* Nothing applied, nothing to write: the error, from the
		 * loop, as every answer comes. */
		txn_clear(t);
		if (event_base_once(ev_base, -1, EV_TIMEOUT, txn_refused_cb,
		    ctx, NULL) == -1)
			fatalx("event_base_once");
		return;
	}
	/*
	 * An empty transaction still goes through the log as an entry with
	 * no records: the change it found already made may belong to another
	 * request whose entry is not fsync'd yet, and blobd acknowledges
	 * entries in order.  Records that applied before an error go too:
	 * they are in the model.
	 */
	record_entry_begin(&t->buf);
	ctx->len = t->buf.len;
	meta_sent_entry(t->buf.data, t->buf.len);
	/* One that only deletes may use blobd's space reserve: deletes and
	 * GC work on a full disk. */
	blobc_meta_append(t->buf.data, t->buf.len, !t->adds, txn_appended_cb,
	    ctx);
	txn_clear(t);
}
