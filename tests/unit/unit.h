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

/* berth's CUnit test binary: every module registers one suite. */
#ifndef BERTH_UNIT_H
#define BERTH_UNIT_H

#include <CUnit/CUnit.h>

/* Each returns 0, or -1 if CUnit could not register the suite. */
int	test_auth_register(void);
int	test_buf_register(void);
int	test_digest_register(void);
int	test_ecr_layer_part_register(void);
int	test_ecr_validate_register(void);
int	test_error_register(void);
int	test_frame_register(void);
int	test_frame_raw_register(void);
int	test_log_register(void);
int	test_model_register(void);
int	test_gc_register(void);
int	test_metalog_register(void);
int	test_http_register(void);
int	test_http_limits_register(void);
int	test_http_stream_register(void);
int	test_http_framing_register(void);
int	test_iam_register(void);
int	test_lifecycle_eval_register(void);
int	test_lifecycle_policy_register(void);
int	test_name_register(void);
int	test_reserve_register(void);
int	test_pack_register(void);
int	test_ptc_register(void);
int	test_sandbox_register(void);
int	test_scan_layer_register(void);
int	test_scanning_register(void);
int	test_scan_osv_register(void);
int	test_scan_pkgdb_register(void);
int	test_scan_version_register(void);
int	test_sigv4_register(void);
int	test_sortvec_register(void);
int	test_store_register(void);
int	test_upload_register(void);
int	test_utf8_register(void);
int	test_util_register(void);
int	test_wwwauth_register(void);

/* Where tests let store_new() and friends say they made directories. */
extern int unit_new_dirs;

/* A fresh temporary directory (mkdtemp under $TMPDIR) and its removal. */
char	*unit_tmpdir(void);
void	 unit_rmtree(const char *);
/* n bytes (to free) that differ with seed and along the buffer. */
unsigned char *unit_pattern(size_t n, unsigned int seed);

/*
 * blobd's store_write(), store_commit() and upload_commit(), each with its
 * commit round run at once (commit.c), as blobd answers them: 0 or a
 * negative berr, and *created from the commit.  unit_store_commit() keeps
 * the caller's fd.
 */
struct digest;
struct store;
struct upload;
/* store_counts() */
unsigned long long unit_blobs(struct store *);
unsigned long long unit_bytes(struct store *);
int	 unit_store_write(struct store *, const struct digest *, const void *,
	    size_t, int *created);
int	 unit_store_commit(struct store *, int fd, int srcdir,
	    const char *srcname, const struct digest *, unsigned long long size,
	    int *created);
int	 unit_upload_commit(struct upload *, const struct digest *,
	    unsigned long long size, int *created);

#endif
