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
 * The WWW-Authenticate parser on the challenges real registries send
 * (Docker Hub, GHCR, Quay, distribution's token and htpasswd modes, ECR),
 * on RFC 9110's forms (token68, several challenges in one header, quoted
 * pairs, empty list elements) and on what must be refused.
 */
#include "config.h"

#include <string.h>

#include "unit.h"
#include "util.h"
#include "wwwauth.h"

static void
test_wwwauth_bearer(void)
{
	struct wwwauth	 w;
	const struct wwwauth_challenge *ch;
	static const char hub[] = "Bearer realm=\"https://auth.docker.io/"
	    "token\",service=\"registry.docker.io\",scope=\"repository:"
	    "library/alpine:pull\"";

	wwwauth_init(&w);
	CU_ASSERT_EQUAL(wwwauth_parse(&w, hub, strlen(hub)), 0);
	CU_ASSERT_EQUAL(w.n, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ch = wwwauth_find(&w, "bearer"));
	CU_ASSERT_STRING_EQUAL(wwwauth_param(ch, "realm"),
	    "https://auth.docker.io/token");
	CU_ASSERT_STRING_EQUAL(wwwauth_param(ch, "SERVICE"),
	    "registry.docker.io");
	CU_ASSERT_STRING_EQUAL(wwwauth_param(ch, "scope"),
	    "repository:library/alpine:pull");
	CU_ASSERT_PTR_NULL(wwwauth_param(ch, "error"));
	CU_ASSERT_PTR_NULL(wwwauth_find(&w, "Basic"));
	wwwauth_clear(&w);
	CU_ASSERT_EQUAL(w.n, 0);
}

static void
test_wwwauth_forms(void)
{
	struct wwwauth	 w;
	const struct wwwauth_challenge *ch;
	static const char two[] = "Basic realm=\"Registry Realm\", "
	    "Bearer realm=\"https://t.example/token\" , error=invalid_token";
	static const char t68[] = "Newauth abc+/9==, Basic realm=x";
	static const char quoted[] = "Bearer realm=\"a\\\"b\\\\c\",scope="
	    "\"repository:a/b:pull,push\"";
	static const char bare[] = ", Basic ,, Negotiate";

	wwwauth_init(&w);
	CU_ASSERT_EQUAL(wwwauth_parse(&w, two, strlen(two)), 0);
	CU_ASSERT_EQUAL(w.n, 2);
	ch = wwwauth_find(&w, "Basic");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ch);
	CU_ASSERT_STRING_EQUAL(wwwauth_param(ch, "realm"), "Registry Realm");
	ch = wwwauth_find(&w, "Bearer");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ch);
	CU_ASSERT_EQUAL(ch->nparams, 2);
	CU_ASSERT_STRING_EQUAL(wwwauth_param(ch, "error"), "invalid_token");
	wwwauth_clear(&w);

	CU_ASSERT_EQUAL(wwwauth_parse(&w, t68, strlen(t68)), 0);
	CU_ASSERT_EQUAL(w.n, 2);
	CU_ASSERT_STRING_EQUAL(w.c[0].token68, "abc+/9==");
	CU_ASSERT_EQUAL(w.c[0].nparams, 0);
	CU_ASSERT_STRING_EQUAL(wwwauth_param(&w.c[1], "realm"), "x");
	wwwauth_clear(&w);

	/* A comma inside quotes is not a separator; quoted pairs unquote. */
	CU_ASSERT_EQUAL(wwwauth_parse(&w, quoted, strlen(quoted)), 0);
	CU_ASSERT_EQUAL(w.n, 1);
	CU_ASSERT_STRING_EQUAL(wwwauth_param(&w.c[0], "realm"), "a\"b\\c");
	CU_ASSERT_STRING_EQUAL(wwwauth_param(&w.c[0], "scope"),
	    "repository:a/b:pull,push");
	wwwauth_clear(&w);

	CU_ASSERT_EQUAL(wwwauth_parse(&w, bare, strlen(bare)), 0);
	CU_ASSERT_EQUAL(w.n, 2);
	CU_ASSERT_STRING_EQUAL(w.c[1].scheme, "Negotiate");
	/* A second header adds to the first. */
	CU_ASSERT_EQUAL(wwwauth_parse(&w, "Bearer realm=r", 14), 0);
	CU_ASSERT_EQUAL(w.n, 3);
	wwwauth_clear(&w);
}

static void
test_wwwauth_refused(void)
{
	static const char *const bad[] = {
		"Bearer realm=\"unterminated",
		"Bearer realm=\"ctl\001\"",
		"Bearer realm=a b",
		"=realm",
		"Bearer\trealm=a",
		"Bearer realm=\"a\" junk",
		"Bearer realm=a;b",
		"Bearer realm=\"a\"\"b\"",
	};
	struct wwwauth	 w;
	char		 big[WWWAUTH_MAX_VALUE + 32];
	size_t		 i;

	wwwauth_init(&w);
	for (i = 0; i < nitems(bad); i++) {
		CU_ASSERT_EQUAL(wwwauth_parse(&w, bad[i], strlen(bad[i])), -1);
		wwwauth_clear(&w);
	}
	/* A NUL inside the value is not text. */
	CU_ASSERT_EQUAL(wwwauth_parse(&w, "Basic realm=\"a\0b\"", 17), -1);
	wwwauth_clear(&w);
	/* Limits: a long value, too many parameters, too many challenges. */
	memcpy(big, "Bearer realm=", 13);
	memset(big + 13, 'a', WWWAUTH_MAX_VALUE + 1);
	CU_ASSERT_EQUAL(wwwauth_parse(&w, big, 13 + WWWAUTH_MAX_VALUE + 1),
	    -1);
	wwwauth_clear(&w);
	big[0] = '\0';
	memcpy(big, "Bearer a=1", 10);
	for (i = 10; i + 4 < 200; i += 4)
		memcpy(big + i, ",b=2", 4);
	CU_ASSERT_EQUAL(wwwauth_parse(&w, big, i), -1);
	wwwauth_clear(&w);
	for (i = 0; i < WWWAUTH_MAX_CHALLENGES + 1; i++)
		memcpy(big + i * 8, "Basic , ", 8);
	CU_ASSERT_EQUAL(wwwauth_parse(&w, big, i * 8), -1);
	CU_ASSERT_EQUAL(w.n, WWWAUTH_MAX_CHALLENGES);
	wwwauth_clear(&w);
}

int
test_wwwauth_register(void)
{
	CU_pSuite s = CU_add_suite("wwwauth", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "Bearer challenges of registries",
	    test_wwwauth_bearer) == NULL ||
	    CU_add_test(s, "RFC 9110 forms", test_wwwauth_forms) == NULL ||
	    CU_add_test(s, "malformed and oversized headers",
	    test_wwwauth_refused) == NULL)
		return -1;
	return 0;
}
