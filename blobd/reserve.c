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
 * The space reserve: DIR/meta/reserve, a file of RESERVE_BYTES allocated
 * on the disk, so that a disk that filled up completely can still be
 * emptied through berth.  Deleting an image and collecting the garbage
 * both append to the metadata log before they free anything (the log
 * must no longer name a blob when its file goes, or a crash in between
 * would leave a name without its bytes), so on a full disk they need room
 * that nothing else took.  An append that only deletes (MSG_META_RELEASE)
 * and finds the disk full frees the reserve and tries again; from then on,
 * until the reserve can be allocated again, everything that would take
 * space (uploads, blob writes, other appends, compaction) is refused with
 * BERR_NOSPACE, so that what deletes and GC free goes to the reserve
 * first.  A GC sweep allocates it again as soon as it has freed enough.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "blobd.h"
#include "error.h"
#include "log.h"
#include "util.h"

/* How often, at most, a spent reserve is tried again unasked. */
#define RESERVE_RETRY_MS	1000

/* Allocates meta/reserve in full (blocks a crash left unallocated too),
 * synced if durable and sync is set; the descriptor, or -1 with the file
 * removed. */
static int
reserve_allocate(struct reserve *r, int sync)
{
	int	 fd, err;

	if ((fd = openat(r->dir_fd, "reserve", O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1)
		return -1;
	if ((err = posix_fallocate(fd, 0, RESERVE_BYTES)) != 0 ||
	    (sync && r->durable && fsync(fd) == -1)) {
		if (err != 0)
			errno = err;
		err = errno;
		close(fd);
		(void)unlinkat(r->dir_fd, "reserve", 0);
		errno = err;
		return -1;
	}
	return fd;
}

/* Allocates it (reserve_ready's try); 0 or -1. */
static int
reserve_allocate_synced(struct reserve *r)
{
	int	 fd;

	if ((fd = reserve_allocate(r, 1)) == -1)
		return -1;
	close(fd);
	return 0;
}

/*
 * At start, the allocation is not synced here: its descriptor goes to the
 * committer's first round (*sync_fd), which syncs the new directories
 * in the background too, so that no fsync comes before the hello.  Every
 * start allocates it again, so a crash before that round loses nothing
 * a later start does not redo.
 */
struct reserve *
reserve_new(int meta_fd, int durable, int *sync_fd)
{
	struct reserve	*r;
	int		 fd;

	*sync_fd = -1;
	r = xcalloc(1, sizeof(*r));
	r->durable = durable;
	if ((r->dir_fd = dup(meta_fd)) == -1 || fd_set_cloexec(r->dir_fd)) {
		log_warn("meta");
		free(r);
		return NULL;
	}
	if ((fd = reserve_allocate(r, 0)) == -1) {
		if (errno != ENOSPC)
			log_warn("meta/reserve");
		r->tried_ms = mono_ms();
		log_warnx("no room for the %d MiB space reserve in meta/: the "
		    "disk is full; berth accepts only deletes until garbage "
		    "collection frees enough", RESERVE_BYTES >> 20);
		return r;
	}
	r->held = 1;
	if (durable)
		*sync_fd = fd;
	else
		close(fd);
	return r;
}

void
reserve_free(struct reserve *r)
{
	if (r == NULL)
		return;
	close(r->dir_fd);
	free(r);
}

int
reserve_ready(struct reserve *r, int now)
{
	int64_t	 t;

	if (r->held)
		return 1;
	t = mono_ms();
	if (!now && r->tried_ms != 0 && t - r->tried_ms < RESERVE_RETRY_MS)
		return 0;
	if (reserve_allocate_synced(r) == -1) {
		if (errno != ENOSPC)
			log_warn("meta/reserve");
		r->tried_ms = t;
		return 0;
	}
	if (r->tried_ms != 0)
		log_info("the space reserve is back: berth takes pushes again");
	r->held = 1;
	r->tried_ms = 0;
	return 1;
}

int
reserve_release(struct reserve *r)
{
	if (!r->held)
		return -1;
	/*
	 * The directory's fsync commits the unlink: a file system with a
	 * journal may not hand the blocks out again before that.
	 */
	if (unlinkat(r->dir_fd, "reserve", 0) == -1 ||
	    (r->durable && fsync_dirfd(r->dir_fd) == -1)) {
		log_warn("meta/reserve");
		return -1;
	}
	r->held = 0;
	r->tried_ms = mono_ms();
	log_warnx("the disk is full: the space reserve went to a delete; "
	    "berth refuses pushes until garbage collection frees %d MiB",
	    RESERVE_BYTES >> 20);
	return 0;
}
