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

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "name.h"
#include "unit.h"

#define SHA256_ABC "sha256:" \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* A string of n copies of c (n < sizeof buf). */
static char *
repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static const struct {
	const char	*name;
	int		 oci, ecr;
} repo_cases[] = {
	{ "a",				1, 0 },	/* ECR: at least 2 */
	{ "ab",				1, 1 },
	{ "0",				1, 0 },
	{ "42",				1, 1 },
	{ "library/ubuntu",		1, 1 },
	{ "a/b",			1, 1 },
	{ "a/b/c/d",			1, 1 },
	{ "a.b_c__d--e/f",		1, 1 },
	{ "a.b_c-d/f",			1, 1 },
	{ "a__b",			1, 1 },
	{ "a--b",			1, 1 },
	{ "a---b",			1, 1 },
	{ "a-b",			1, 1 },
	{ "a.b",			1, 1 },
	{ "a_b",			1, 1 },
	{ "a.b.c-d_e",			1, 1 },
	{ "ns__x/y--z",			1, 1 },
	{ "",				0, 0 },
	{ "A",				0, 0 },
	{ "Ab",				0, 0 },
	{ "library/Ubuntu",		0, 0 },
	{ "-a",				0, 0 },
	{ "a-",				0, 0 },
	{ ".a",				0, 0 },
	{ "a.",				0, 0 },
	{ "_a",				0, 0 },
	{ "a_",				0, 0 },
	{ "/a",				0, 0 },
	{ "a/",				0, 0 },
	{ "ab/",			0, 0 },
	{ "/",				0, 0 },
	{ "a//b",			0, 0 },
	{ "a/_b",			0, 0 },
	{ "a/b-",			0, 0 },
	{ "a___b",			0, 0 },
	{ "a..b",			0, 0 },
	{ "a._b",			0, 0 },
	{ "a_.b",			0, 0 },
	{ "a-.b",			0, 0 },
	{ "a_-b",			0, 0 },
	{ "a b",			0, 0 },
	{ "a:b",			0, 0 },
	{ "a@b",			0, 0 },
	{ "a+b",			0, 0 },
	{ "a\\b",			0, 0 },
	{ "\xc3\xa4",			0, 0 },
};

static void
test_name_repository(void)
{
	char	 buf[300];
	size_t	 i;
	int	 oci, ecr;

	for (i = 0; i < sizeof(repo_cases) / sizeof(repo_cases[0]); i++) {
		const char *s = repo_cases[i].name;
		oci = name_oci_repository_valid(s, strlen(s));
		ecr = name_ecr_repository_valid(s, strlen(s));
		CU_ASSERT_EQUAL(oci, repo_cases[i].oci);
		CU_ASSERT_EQUAL(ecr, repo_cases[i].ecr);
		if (oci != repo_cases[i].oci || ecr != repo_cases[i].ecr)
			fprintf(stderr, "\n  repository \"%s\": oci %d "
			    "ecr %d\n", s, oci, ecr);
	}

	/* 256 characters are allowed, 257 are not. */
	repeat(buf, 'a', 256);
	CU_ASSERT_TRUE(name_oci_repository_valid(buf, 256));
	CU_ASSERT_TRUE(name_ecr_repository_valid(buf, 256));
	repeat(buf, 'a', 257);
	CU_ASSERT_FALSE(name_oci_repository_valid(buf, 257));
	CU_ASSERT_FALSE(name_ecr_repository_valid(buf, 257));
	/* Also with path components: "ab/ab/.../abcd" of 256 and 257. */
	for (i = 0; i + 3 <= 252; i += 3)
		memcpy(buf + i, "ab/", 3);
	memcpy(buf + i, "abcd", 4);
	buf[i + 4] = '\0';
	CU_ASSERT_EQUAL_FATAL(strlen(buf), 256);
	CU_ASSERT_TRUE(name_oci_repository_valid(buf, 256));
	CU_ASSERT_TRUE(name_ecr_repository_valid(buf, 256));
	strcat(buf, "e");
	CU_ASSERT_FALSE(name_oci_repository_valid(buf, 257));
	CU_ASSERT_FALSE(name_ecr_repository_valid(buf, 257));

	/* Only n bytes are looked at. */
	CU_ASSERT_TRUE(name_oci_repository_valid("ab/Cd", 2));
	CU_ASSERT_FALSE(name_oci_repository_valid("ab/Cd", 3));
	CU_ASSERT_FALSE(name_oci_repository_valid("ab", 0));
	CU_ASSERT_FALSE(name_ecr_repository_valid("ab", 1));
}

static void
test_name_tag(void)
{
	static const struct {
		const char	*tag;
		int		 valid;
	} cases[] = {
		{ "latest", 1 }, { "_x", 1 }, { "x", 1 }, { "0", 1 },
		{ "_", 1 }, { "V1.2.3-rc_1", 1 }, { "a..b--c__", 1 },
		{ "A", 1 },
		{ "", 0 }, { "-x", 0 }, { ".x", 0 }, { "a:b", 0 },
		{ "a/b", 0 }, { "a b", 0 }, { "a@b", 0 }, { "a+b", 0 },
		{ "\xc3\xa4", 0 }, { "tag\n", 0 },
	};
	char	 buf[200];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].tag;
		int v = name_oci_tag_valid(s, strlen(s));
		CU_ASSERT_EQUAL(v, cases[i].valid);
		if (v != cases[i].valid)
			fprintf(stderr, "\n  tag \"%s\": %d\n", s, v);
	}
	repeat(buf, 'x', TAG_MAX_LEN);
	CU_ASSERT_EQUAL(TAG_MAX_LEN, 128);
	CU_ASSERT_TRUE(name_oci_tag_valid(buf, 128));
	buf[0] = '_';
	buf[127] = '-';
	CU_ASSERT_TRUE(name_oci_tag_valid(buf, 128));
	repeat(buf, 'x', 129);
	CU_ASSERT_FALSE(name_oci_tag_valid(buf, 129));
	/* n bounds the tag: a valid prefix of an invalid string. */
	CU_ASSERT_TRUE(name_oci_tag_valid("v1:x", 2));
	CU_ASSERT_FALSE(name_oci_tag_valid("v1:x", 3));
}

static void
test_name_reference(void)
{
	struct reference ref;
	struct digest	 d;
	char		 buf[200];

	CU_ASSERT_EQUAL(name_reference_parse("latest", 6, &ref), 0);
	CU_ASSERT_FALSE(ref.is_digest);
	CU_ASSERT_EQUAL(ref.tag_len, 6);
	CU_ASSERT_EQUAL(memcmp(ref.tag, "latest", 6), 0);

	/* A tag taken from the middle of a longer string. */
	strcpy(buf, "v1.0/manifest");
	CU_ASSERT_EQUAL(name_reference_parse(buf, 4, &ref), 0);
	CU_ASSERT_FALSE(ref.is_digest);
	CU_ASSERT_PTR_EQUAL(ref.tag, buf);
	CU_ASSERT_EQUAL(ref.tag_len, 4);

	CU_ASSERT_EQUAL(name_reference_parse(SHA256_ABC, strlen(SHA256_ABC),
	    &ref), 0);
	CU_ASSERT_TRUE(ref.is_digest);
	CU_ASSERT_PTR_NULL(ref.tag);
	digest_compute(DIGEST_SHA256, "abc", 3, &d);
	CU_ASSERT_TRUE(digest_eq(&ref.digest, &d));

	/* Anything with a colon is a digest, and its errors are digest
	 * errors. */
	CU_ASSERT_EQUAL(name_reference_parse("sha256:abc", 10, &ref),
	    BERR_DIGEST_INVALID);
	CU_ASSERT_EQUAL(name_reference_parse("sha256:", 7, &ref),
	    BERR_DIGEST_INVALID);
	CU_ASSERT_EQUAL(name_reference_parse("a:b", 3, &ref),
	    BERR_DIGEST_UNSUPPORTED);
	CU_ASSERT_EQUAL(name_reference_parse(
	    "md5:d41d8cd98f00b204e9800998ecf8427e", 36, &ref),
	    BERR_DIGEST_UNSUPPORTED);
	CU_ASSERT_EQUAL(name_reference_parse("SHA256:ab", 9, &ref),
	    BERR_DIGEST_INVALID);
	CU_ASSERT_EQUAL(name_reference_parse(":", 1, &ref),
	    BERR_DIGEST_INVALID);

	CU_ASSERT_EQUAL(name_reference_parse("", 0, &ref), BERR_TAG_INVALID);
	CU_ASSERT_EQUAL(name_reference_parse("-x", 2, &ref), BERR_TAG_INVALID);
	CU_ASSERT_EQUAL(name_reference_parse(".x", 2, &ref), BERR_TAG_INVALID);
	repeat(buf, 'x', 129);
	CU_ASSERT_EQUAL(name_reference_parse(buf, 129, &ref),
	    BERR_TAG_INVALID);
	CU_ASSERT_EQUAL(name_reference_parse(buf, 128, &ref), 0);
	/* A colon past n does not make a digest. */
	CU_ASSERT_EQUAL(name_reference_parse("latest:x", 6, &ref), 0);
	CU_ASSERT_FALSE(ref.is_digest);
}

static void
test_name_wildcard(void)
{
	static const struct {
		const char	*pattern, *s;
		int		 match;
	} cases[] = {
		{ "*", "", 1 },
		{ "*", "anything", 1 },
		{ "**", "x", 1 },
		{ "", "", 1 },
		{ "", "a", 0 },
		{ "a", "", 0 },
		{ "latest", "latest", 1 },
		{ "latest", "latest1", 0 },
		{ "latest", "latesT", 0 },
		{ "latest", "late", 0 },
		{ "latest", "alatest", 0 },
		{ "release-*", "release-", 1 },
		{ "release-*", "release-1.2", 1 },
		{ "release-*", "release", 0 },
		{ "release-*", "prerelease-1", 0 },
		{ "*-prod", "eu-prod", 1 },
		{ "*-prod", "-prod", 1 },
		{ "*-prod", "eu-prod2", 0 },
		{ "*-prod", "prod", 0 },
		{ "a*b*c", "abc", 1 },
		{ "a*b*c", "axxbyyc", 1 },
		{ "a*b*c", "abcbc", 1 },
		{ "a*b*c", "acb", 0 },
		{ "a*b*c", "abcd", 0 },
		{ "a*b*c", "xabc", 0 },
		{ "*ab", "aab", 1 },
		{ "*ab", "abab", 1 },
		{ "*ab", "aba", 0 },
		{ "*aab", "aaab", 1 },
		{ "*abc*", "ababcab", 1 },
		{ "*abc*", "ababab", 0 },
		{ "a*", "a", 1 },
		{ "*a*", "bab", 1 },
		{ "*a*", "bbb", 0 },
		{ "a**b", "ab", 1 },
		{ "a*b", "a*b", 1 },
		{ "a*b", "a*c", 0 },
		{ "v*.*.*", "v1.2.3", 1 },
		{ "v*.*.*", "v1.2", 0 },
	};
	size_t	 i;
	int	 m;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m = name_wildcard_match(cases[i].pattern, cases[i].s);
		CU_ASSERT_EQUAL(m, cases[i].match);
		if (m != cases[i].match)
			fprintf(stderr, "\n  \"%s\" ~ \"%s\": %d\n",
			    cases[i].pattern, cases[i].s, m);
	}
}

static void
test_name_owner(void)
{
	char	 out[32];

	CU_ASSERT_EQUAL(name_owner_format(out, sizeof(out), "123456789012",
	    "eu-west-1", "team/app"), 0);
	CU_ASSERT_STRING_EQUAL(out, "123456789012/eu-west-1/team/app");
	/* What does not fit is refused, not cut short. */
	CU_ASSERT_EQUAL(name_owner_format(out, sizeof(out), "123456789012",
	    "eu-west-1", "team/application"), -1);
	CU_ASSERT_EQUAL(name_owner_format(out, 31, "123456789012",
	    "eu-west-1", "team/app"), -1);
}

int
test_name_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("name", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "repository names", test_name_repository) == NULL ||
	    CU_add_test(s, "tags", test_name_tag) == NULL ||
	    CU_add_test(s, "references", test_name_reference) == NULL ||
	    CU_add_test(s, "wildcards", test_name_wildcard) == NULL ||
	    CU_add_test(s, "upload owners", test_name_owner) == NULL)
		return -1;
	return 0;
}
