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
 * Runs every suite; the exit status is the number of failures, so that
 * `make check` fails when any assertion does.
 */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <event2/event.h>

#include "blobd.h"
#include "error.h"
#include "log.h"
#include "util.h"
#include "unit.h"

int unit_new_dirs;

static int (*const suites[])(void) = {
	test_auth_register,
	test_buf_register,
	test_digest_register,
	test_ecr_layer_part_register,
	test_ecr_validate_register,
	test_error_register,
	test_frame_register,
	test_frame_raw_register,
	test_log_register,
	test_model_register,
	test_gc_register,
	test_metalog_register,
	test_http_register,
	test_http_limits_register,
	test_http_framing_register,
	test_http_stream_register,
	test_iam_register,
	test_lifecycle_eval_register,
	test_lifecycle_policy_register,
	test_name_register,
	test_reserve_register,
	test_pack_register,
	test_ptc_register,
	test_sandbox_register,
	test_scan_layer_register,
	test_scanning_register,
	test_scan_osv_register,
	test_scan_pkgdb_register,
	test_scan_version_register,
	test_sigv4_register,
	test_sortvec_register,
	test_store_register,
	test_upload_register,
	test_utf8_register,
	test_util_register,
	test_wwwauth_register,
};

char *
unit_tmpdir(void)
{
	const char	*base = getenv("TMPDIR");
	char		*dir;

	xasprintf(&dir, "%s/berth-unit.XXXXXX", base != NULL ? base : "/tmp");
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp %s", dir);
	return dir;
}

unsigned char *
unit_pattern(size_t n, unsigned int seed)
{
	unsigned char	*p = xmalloc(n);
	size_t		 i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131 + seed + (i >> 16));
	return p;
}

static int
rmtree_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

void
unit_rmtree(const char *dir)
{
	(void)nftw(dir, rmtree_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(int argc, char **argv)
{
	unsigned int	 failures;
	size_t		 i;

	log_init("berth-unit", getenv("BERTH_UNIT_DEBUG") != NULL ?
	    LOG_LVL_DEBUG : LOG_LVL_WARN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	for (i = 0; i < nitems(suites); i++)
		if (suites[i]() != 0) {
			fprintf(stderr, "cannot register suite %zu\n", i);
			CU_cleanup_registry();
			return 1;
		}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (argc > 1)
		CU_basic_run_suite(CU_get_suite(argv[1]));
	else
		CU_basic_run_tests();
	failures = CU_get_number_of_tests_failed();
	printf("\n%u passed, %u failed\n",
	    CU_get_number_of_tests_run() - failures, failures);
	CU_cleanup_registry();
	return failures > 255 ? 255 : (int)failures;
}

static void
unit_commit_done_cb(struct commit *c, void *arg)
{
	*(int *)arg = 1;
}

/* Runs c's round now (syncing the log of a store that packs); c->err and
 * c->created tell the outcome. */
static void
unit_run_commit(struct store *st, struct commit *c)
{
	struct event_base	*base;
	struct committer	*cm;

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	cm = committer_new(base, st->metalog, 1, 0);
	commit_add(cm, c);
	committer_drain(cm);
	committer_free(cm);
	event_base_free(base);
}

int
unit_store_write(struct store *st, const struct digest *d, const void *data,
    size_t size, int *created)
{
	struct commit	 c;
	int		 done = 0, rc;

	*created = 0;
	commit_init(&c, unit_commit_done_cb, &done);
	if ((rc = store_write(st, d, data, size, &c)) != 0)
		return rc;
	unit_run_commit(st, &c);
	store_committed(st, &c, size);
	if (c.err != 0 && c.fd != -1 && !c.created)
		(void)unlinkat(c.src_dir, c.src_name, 0);
	*created = c.created;
	rc = done ? c.err : BERR_INTERNAL;
	commit_clear(&c);
	return rc;
}

int
unit_store_commit(struct store *st, int fd, int srcdir, const char *srcname,
    const struct digest *d, unsigned long long size, int *created)
{
	struct commit	 c;
	int		 done = 0, rc, own;

	*created = 0;
	commit_init(&c, unit_commit_done_cb, &done);
	if ((own = dup(fd)) == -1)
		return BERR_IO;
	if ((rc = store_commit(st, own, srcdir, srcname, d, &c)) != 0) {
		close(own);
		return rc;
	}
	unit_run_commit(st, &c);
	store_committed(st, &c, size);
	*created = c.created;
	rc = done ? c.err : BERR_INTERNAL;
	commit_clear(&c);
	return rc;
}

int
unit_upload_commit(struct upload *u, const struct digest *d,
    unsigned long long size, int *created)
{
	struct commit	 c;
	struct store	*st = u->table->store;
	uint64_t	 had = u->size;
	int		 done = 0, rc;

	*created = 0;
	commit_init(&c, unit_commit_done_cb, &done);
	if ((rc = upload_commit(u, d, size, &c)) != 0)
		return rc;
	unit_run_commit(st, &c);
	store_committed(st, &c, had);
	upload_committed(u, c.err);
	*created = c.created;
	rc = done ? c.err : BERR_INTERNAL;
	commit_clear(&c);
	return rc;
}

unsigned long long
unit_blobs(struct store *st)
{
	uint64_t blobs, bytes;

	return store_counts(st, &blobs, &bytes) == 0 ? blobs : ~0ULL;
}

unsigned long long
unit_bytes(struct store *st)
{
	uint64_t blobs, bytes;

	return store_counts(st, &blobs, &bytes) == 0 ? bytes : ~0ULL;
}
