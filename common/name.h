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
 * Grammar of repository names, tags and manifest references.
 *
 * OCI distribution-spec: a name is path components of
 * [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by "/"; a tag is
 * [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.  ECR (the AWS model's RepositoryName)
 * uses the same grammar with 2 to 256 characters; ECR's ImageTag is any
 * string of 1 to 300 characters.
 */
#ifndef BERTH_NAME_H
#define BERTH_NAME_H

#include <stddef.h>

#include "digest.h"

#define NAME_MAX_LEN		256
#define TAG_MAX_LEN		128	/* OCI */
#define ECR_TAG_MAX_LEN		300	/* the ECR model's ImageTag */

int	name_oci_repository_valid(const char *, size_t);
int	name_ecr_repository_valid(const char *, size_t);
int	name_oci_tag_valid(const char *, size_t);

/* An AWS account id: exactly 12 digits. */
int	name_account_valid(const char *, size_t);
/* An AWS region name as berth accepts it: 1 to 32 of [a-z0-9-]. */
int	name_region_valid(const char *, size_t);

/* "<account>/<region>/<repository>": whom an upload session belongs to
 * (blobd compares it, never parses it).  0, or -1 when it does not fit. */
int	name_owner_format(char *out, size_t outsz, const char *account,
	    const char *region, const char *repository);

/* A manifest reference: a tag, or a digest when it contains ':'. */
struct reference {
	int		 is_digest;
	struct digest	 digest;	/* when is_digest */
	const char	*tag;		/* points into the parsed string */
	size_t		 tag_len;
};

/* 0, or BERR_DIGEST_INVALID / BERR_DIGEST_UNSUPPORTED / BERR_TAG_INVALID. */
int	name_reference_parse(const char *, size_t, struct reference *);

/* Matches s against a wildcard pattern in which '*' stands for any run of
 * characters (ECR's tag mutability exclusion filters and lifecycle
 * tagPatternList); the whole string must match. */
int	name_wildcard_match(const char *pattern, const char *s);
/* The same with IAM's extensions: '?' for any one character, and case
 * folded (actions). */
#define NAME_WILD_QUESTION	0x1
#define NAME_WILD_NOCASE	0x2
int	name_wildcard_match_flags(const char *pattern, const char *s,
	    int flags);

#endif
