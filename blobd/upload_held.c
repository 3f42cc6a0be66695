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
 * Small uploads held in memory.  An append through a pipe to a session
 * that holds nothing yet, of a known length the pack takes, is read into
 * a buffer instead of the session's file: its commit (upload.c) hands the
 * buffer to the store, and the session never touches the disk, as one
 * whose bytes all come with its commit.  A 1 MiB PATCH then PUT had cost a
 * directory, two files, their data written and read back, and their
 * removal.  Anything else that needs the file (another append, a clean
 * exit, which blobd makes when berthd goes or on SIGTERM) writes the bytes
 * to it first (upload_held_spill).  Appends are
 * not synced before the commit anyway; a held session is lost to a crash
 * of blobd, as an empty one is, and the client starts it again.  At most
 * UPLOAD_HELD_MAX bytes are held at once, and none while the disk has no
 * room for them; the other appends go to files.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "blobd.h"
#include "digest.h"
#include "error.h"
#include "log.h"
#include "util.h"

int
upload_held_begin(struct upload *u, uint64_t offset, uint64_t length)
{
	struct upload_table	*t = u->table;
	struct statvfs		 sv;

	if (u->state != UPLOAD_IDLE || u->size != 0 ||
	    (offset != UINT64_MAX && offset != 0) || length == 0 ||
	    length == UINT64_MAX || length > t->store->pack_max)
		return 0;
	/* Could have been held: counted if it is not (blobd's stats). */
	if (u->on_disk || u->held != NULL ||
	    length > UPLOAD_HELD_MAX - t->held_bytes) {
		t->held_refused++;
		return 0;
	}
	/* A disk without room for them refuses the bytes now, as the
	 * file would, not at the commit. */
	if (fstatvfs(t->dir_fd, &sv) == -1 ||
	    (uint64_t)sv.f_bavail * sv.f_frsize <= length) {
		t->held_refused++;
		return 0;
	}
	u->held = xmalloc((size_t)length);
	u->held_cap = (size_t)length;
	t->held_bytes += u->held_cap;
	u->state = UPLOAD_APPENDING;
	u->touched = now_sec();
	return 1;
}

void
upload_held_take(struct upload *u, size_t n)
{
	if (u->ctx != NULL && u->hashed == u->size) {
		digest_ctx_update(u->ctx, u->held + u->size, n);
		u->hashed += n;
	}
	u->size += n;
}

void
upload_held_free(struct upload *u)
{
	if (u->held == NULL)
		return;
	free(u->held);
	u->held = NULL;
	u->table->held_bytes -= u->held_cap;
	u->held_cap = 0;
}

int
upload_held_spill(struct upload *u)
{
	int	 fd, rc;

	if (u->held == NULL)
		return 0;
	if ((fd = upload_open_data(u, O_WRONLY)) == -1)
		return berr_from_errno(errno);
	if (pwrite_full(fd, u->held, (size_t)u->size, 0) == -1) {
		rc = berr_from_errno(errno);
		log_warn("write to upload %s", u->name);
		close(fd);
		return rc;
	}
	close(fd);
	upload_held_free(u);
	return 0;
}

int
upload_held_overflow(struct upload *u)
{
	int	 rc;

	if ((rc = upload_held_spill(u)) != 0)
		return rc;
	if ((u->fd = upload_open_data(u, O_RDWR)) == -1)
		return berr_from_errno(errno);
	return 0;
}

void
upload_held_spill_all(struct upload_table *t)
{
	struct upload	*u;
	size_t		 i;

	for (i = 0; i < t->nbuckets; i++)
		for (u = t->buckets[i]; u != NULL; u = u->next)
			(void)upload_held_spill(u);
}

static struct upload_table	*held_exit_table;

static void
upload_held_exit(void)
{
	if (held_exit_table != NULL)
		upload_held_spill_all(held_exit_table);
}

void
upload_held_at_exit(struct upload_table *t)
{
	static int	 registered;

	held_exit_table = t;
	if (t != NULL && !registered && atexit(upload_held_exit) == 0)
		registered = 1;
}
