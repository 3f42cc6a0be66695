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
 * The space reserve (blobd/reserve.c): allocated in full when it is
 * made, given up for a delete, refused while it is spent and taken again
 * when asked at once, and completed when a crash left it short.  The full
 * disk itself is tests/integration/disk_full.sh's.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../blobd/blobd.h"
#include "util.h"
#include "unit.h"

/* The reserve file's size and allocated bytes, or -1 when absent. */
static long long
reserve_allocated(const char *dir, long long *size)
{
	struct stat	 sb;
	char		*path;
	int		 rc;

	xasprintf(&path, "%s/reserve", dir);
	rc = stat(path, &sb);
	free(path);
	if (rc == -1)
		return -1;
	*size = (long long)sb.st_size;
	return (long long)sb.st_blocks * 512;
}

static void
test_reserve_cycle(void)
{
	struct reserve	*r;
	char		*dir = unit_tmpdir(), *path;
	long long	 size = 0;
	int		 fd, sync_fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd != -1);
	r = reserve_new(fd, 1, &sync_fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(r->held);
	/* Its sync is the caller's (the committer's first round). */
	CU_ASSERT_FATAL(sync_fd != -1);
	CU_ASSERT_EQUAL(fsync(sync_fd), 0);
	close(sync_fd);
	CU_ASSERT(reserve_allocated(dir, &size) >= RESERVE_BYTES);
	CU_ASSERT_EQUAL(size, RESERVE_BYTES);
	CU_ASSERT_EQUAL(reserve_ready(r, 0), 1);

	/* Given up for a delete: gone, and pushes wait a while. */
	CU_ASSERT_EQUAL(reserve_release(r), 0);
	CU_ASSERT_EQUAL(reserve_allocated(dir, &size), -1);
	CU_ASSERT_EQUAL(reserve_ready(r, 0), 0);
	CU_ASSERT_EQUAL(reserve_release(r), -1);
	/* A GC sweep asks at once. */
	CU_ASSERT_EQUAL(reserve_ready(r, 1), 1);
	CU_ASSERT(reserve_allocated(dir, &size) >= RESERVE_BYTES);
	reserve_free(r);

	/* A crash left a short one: completed at start. */
	xasprintf(&path, "%s/reserve", dir);
	CU_ASSERT_EQUAL(truncate(path, 4096), 0);
	r = reserve_new(fd, 0, &sync_fd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	/* Relaxed: nothing to sync. */
	CU_ASSERT_EQUAL(sync_fd, -1);
	CU_ASSERT(reserve_allocated(dir, &size) >= RESERVE_BYTES);
	CU_ASSERT_EQUAL(size, RESERVE_BYTES);
	reserve_free(r);
	free(path);
	close(fd);
	unit_rmtree(dir);
	free(dir);
}

int
test_reserve_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("reserve", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "made, given up, taken again",
	    test_reserve_cycle) == NULL)
		return -1;
	return 0;
}
