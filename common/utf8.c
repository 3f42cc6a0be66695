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
 * UTF-8 checks.  json-c's own check (JSON_TOKENER_VALIDATE_UTF8) lets
 * overlong forms, surrogates and code points past U+10FFFF through, so
 * berth checks input itself, against the table of well-formed byte
 * sequences in RFC 3629 section 4.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "utf8.h"

/* The length of the well-formed sequence at p (at most n bytes), or 0. */
static size_t
utf8_sequence(const uint8_t *p, size_t n)
{
	uint8_t	 c = p[0], lo = 0x80, hi = 0xbf;
	size_t	 len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* no overlong form */
		else if (c == 0xed)
			hi = 0x9f;	/* no surrogate */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;	/* no overlong form */
		else if (c == 0xf4)
			hi = 0x8f;	/* nothing past U+10FFFF */
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

int
utf8_valid(const void *s, size_t len)
{
	const uint8_t	*p = s;
	size_t		 i, n;

	for (i = 0; i < len; i += n) {
		/* The common case, ASCII, a byte at a time. */
		if (p[i] < 0x80) {
			n = 1;
			continue;
		}
		if ((n = utf8_sequence(p + i, len - i)) == 0)
			return 0;
	}
	return 1;
}

size_t
utf8_length(const char *s, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

char *
utf8_scrub(char *s)
{
	uint8_t	*p = (uint8_t *)s;
	size_t	 len = strlen(s), i, n;

	for (i = 0; i < len; i += n)
		if ((n = utf8_sequence(p + i, len - i)) == 0) {
			p[i] = '?';
			n = 1;
		}
	return s;
}
