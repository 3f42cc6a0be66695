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
 * UTF-8 checks against RFC 3629's table of well-formed sequences and the
 * boundaries around each of its rows, plus the scrubbing of messages.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "utf8.h"

static const struct {
	const char	*bytes;
	size_t		 len;
	int		 valid;
} utf8_cases[] = {
	{ "", 0, 1 },
	{ "plain ASCII", 11, 1 },
	{ "a\0b", 3, 1 },			/* U+0000 is a character */
	{ "\x7f", 1, 1 },
	{ "\x80", 1, 0 },			/* a stray continuation */
	{ "\xbf", 1, 0 },
	{ "\xc0\x80", 2, 0 },			/* overlong NUL */
	{ "\xc1\xbf", 2, 0 },			/* overlong U+007F */
	{ "\xc2\x80", 2, 1 },			/* U+0080 */
	{ "\xdf\xbf", 2, 1 },			/* U+07FF */
	{ "\xc3", 1, 0 },			/* cut short */
	{ "\xc3(", 2, 0 },
	{ "\xe0\x9f\xbf", 3, 0 },		/* overlong U+07FF */
	{ "\xe0\xa0\x80", 3, 1 },		/* U+0800 */
	{ "\xec\xbf\xbf", 3, 1 },
	{ "\xed\x9f\xbf", 3, 1 },		/* U+D7FF */
	{ "\xed\xa0\x80", 3, 0 },		/* U+D800, a surrogate */
	{ "\xed\xbf\xbf", 3, 0 },		/* U+DFFF */
	{ "\xee\x80\x80", 3, 1 },		/* U+E000 */
	{ "\xef\xbf\xbf", 3, 1 },		/* U+FFFF */
	{ "\xef\xbf", 2, 0 },
	{ "\xf0\x8f\xbf\xbf", 4, 0 },		/* overlong U+FFFF */
	{ "\xf0\x90\x80\x80", 4, 1 },		/* U+10000 */
	{ "\xf0\x9f\x98\x80", 4, 1 },		/* an emoji */
	{ "\xf4\x8f\xbf\xbf", 4, 1 },		/* U+10FFFF */
	{ "\xf4\x90\x80\x80", 4, 0 },		/* past U+10FFFF */
	{ "\xf5\x80\x80\x80", 4, 0 },
	{ "\xf8\x88\x80\x80\x80", 5, 0 },	/* five bytes: never */
	{ "\xfe", 1, 0 },
	{ "\xff", 1, 0 },
	{ "caf\xc3\xa9 \xe2\x98\x95", 9, 1 },
	{ "caf\xc3\xa9 \xe2\x98", 8, 0 },	/* cut in the last one */
	{ "\xe2\x98\x95\x80", 4, 0 },		/* one continuation too many */
};

static void
test_utf8_valid(void)
{
	size_t	 i;
	int	 v;

	for (i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		v = utf8_valid(utf8_cases[i].bytes, utf8_cases[i].len);
		CU_ASSERT_EQUAL(v, utf8_cases[i].valid);
		if (v != utf8_cases[i].valid)
			fprintf(stderr, "\n  case %zu: %d\n", i, v);
	}
}

static void
test_utf8_length(void)
{
	CU_ASSERT_EQUAL(utf8_length("", 0), 0);
	CU_ASSERT_EQUAL(utf8_length("abc", 3), 3);
	CU_ASSERT_EQUAL(utf8_length("caf\xc3\xa9", 5), 4);
	CU_ASSERT_EQUAL(utf8_length("\xf0\x9f\x98\x80!", 5), 2);
	CU_ASSERT_EQUAL(utf8_length("a\0b", 3), 3);
}

static void
test_utf8_scrub(void)
{
	char	 s[64];

	snprintf(s, sizeof(s), "%s", "ok caf\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(utf8_scrub(s), "ok caf\xc3\xa9");
	snprintf(s, sizeof(s), "%s", "a\xff" "b\xc3(c\xed\xa0\x80");
	CU_ASSERT_STRING_EQUAL(utf8_scrub(s), "a?b?(c???");
	CU_ASSERT(utf8_valid(s, strlen(s)));
	snprintf(s, sizeof(s), "%s", "cut \xe2\x98");
	CU_ASSERT_STRING_EQUAL(utf8_scrub(s), "cut ??");
}

int
test_utf8_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("utf8", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "well-formed sequences", test_utf8_valid) == NULL ||
	    CU_add_test(s, "characters", test_utf8_length) == NULL ||
	    CU_add_test(s, "scrubbing messages", test_utf8_scrub) == NULL)
		return -1;
	return 0;
}
