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
 * UTF-8 as RFC 3629 defines it: what clients send must be it before berth
 * stores or echoes it, and what berth answers must be it, because every
 * JSON client decodes the answer as UTF-8 and fails on anything else.
 */
#ifndef BERTH_UTF8_H
#define BERTH_UTF8_H

#include <stddef.h>

/* Whether s[0..len) is well-formed UTF-8: no stray or missing
 * continuation byte, no overlong form, no surrogate (U+D800..U+DFFF),
 * nothing past U+10FFFF.  A NUL byte is well-formed (U+0000). */
int	 utf8_valid(const void *s, size_t len);
/* The characters (code points) in s[0..len), which must be well-formed:
 * AWS counts lengths in characters, not bytes. */
size_t	 utf8_length(const char *s, size_t len);
/* Replaces, in place, every byte of the NUL-terminated s that is not part
 * of a well-formed sequence with '?'; returns s.  For messages that quote
 * what a client sent. */
char	*utf8_scrub(char *s);

#endif
