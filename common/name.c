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
 * The grammars of name.h: OCI and ECR repository names, OCI tags, AWS
 * account ids and regions, manifest references, ECR's wildcard filters.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "name.h"

static int
is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: separators are '.', '_', '__' or a run of '-'. */
static int
component_valid(const char *s, size_t n)
{
	size_t	 i = 0;

	if (n == 0 || !is_lower_alnum(s[0]))
		return 0;
	while (i < n) {
		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			i++;
			while (i < n && s[i] == '-')
				i++;
		} else
			return 0;
		if (i == n || !is_lower_alnum(s[i]))
			return 0;
	}
	return 1;
}

int
name_oci_repository_valid(const char *s, size_t n)
{
	size_t	 start = 0, i;

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			if (!component_valid(s + start, i - start))
				return 0;
			start = i + 1;
		}
	}
	return 1;
}

int
name_ecr_repository_valid(const char *s, size_t n)
{
	return n >= 2 && name_oci_repository_valid(s, n);
}

int
name_oci_tag_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > TAG_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_';
		if (i == 0 ? !word : !(word || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

int
name_account_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n != 12)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int
name_region_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

int
name_owner_format(char *out, size_t outsz, const char *account,
    const char *region, const char *repository)
{
	int	 n;

	n = snprintf(out, outsz, "%s/%s/%s", account, region, repository);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int
name_reference_parse(const char *s, size_t n, struct reference *ref)
{
	memset(ref, 0, sizeof(*ref));
	if (memchr(s, ':', n) != NULL) {
		ref->is_digest = 1;
		return digest_parse(s, n, &ref->digest);
	}
	if (!name_oci_tag_valid(s, n))
		return BERR_TAG_INVALID;
	ref->tag = s;
	ref->tag_len = n;
	return 0;
}

int
name_wildcard_match(const char *p, const char *s)
{
	return name_wildcard_match_flags(p, s, 0);
}

int
name_wildcard_match_flags(const char *p, const char *s, int flags)
{
	const char	*star = NULL, *resume = NULL;

#define SAME(a, b)	((a) == (b) || ((flags & NAME_WILD_NOCASE) && \
	    tolower((unsigned char)(a)) == tolower((unsigned char)(b))))
	/* Greedy matching with one backtrack point: linear in practice. */
	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p != '\0' && (SAME(*p, *s) ||
		    (*p == '?' && (flags & NAME_WILD_QUESTION)))) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else
			return 0;
	}
#undef SAME
	while (*p == '*')
		p++;
	return *p == '\0';
}
