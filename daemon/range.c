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
 * The byte-range headers of the registry API: Range on blob downloads
 * (RFC 9110, one range) and Content-Range on upload chunks (the OCI
 * spec's "first-last", and the HTTP forms some tools send).  Both see
 * untrusted bytes and have a fuzz target.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "berthd.h"
#include "error.h"
#include "util.h"

struct range_spec {
	uint64_t	 first;
	uint64_t	 last;		/* UINT64_MAX: to the end */
	uint64_t	 suffix;	/* a suffix range: the last this many */
	int		 is_suffix;
};

/*
 * A first-pos, last-pos or suffix-length: one or more digits.  A number
 * too large for 64 bits is still valid syntax and lies past the end of
 * any entity, so it saturates.
 */
static int
range_pos(const char *s, size_t n, uint64_t *v)
{
	size_t	 i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	while (n > 1 && s[0] == '0') {
		s++;
		n--;
	}
	if (parse_u64(s, n, v) == -1)
		*v = UINT64_MAX;
	return 0;
}

/* One range-spec (RFC 9110 14.1.1) of n bytes; 0, or -1 when invalid. */
static int
range_spec_parse(const char *s, size_t n, struct range_spec *rs)
{
	const char	*dash;
	size_t		 before, after;

	if ((dash = memchr(s, '-', n)) == NULL)
		return -1;
	before = (size_t)(dash - s);
	after = n - before - 1;
	memset(rs, 0, sizeof(*rs));
	if (before == 0) {
		rs->is_suffix = 1;
		return range_pos(dash + 1, after, &rs->suffix);
	}
	if (range_pos(s, before, &rs->first) == -1)
		return -1;
	if (after == 0) {
		rs->last = UINT64_MAX;
		return 0;
	}
	if (range_pos(dash + 1, after, &rs->last) == -1 ||
	    rs->last < rs->first)
		return -1;
	return 0;
}

/*
 * Parses a Range header against an entity of size bytes (RFC 9110 14.2).
 * The whole entity is served (partial clear) without a header, for a unit
 * other than bytes (which a server must ignore), for several ranges (berth
 * sends no multipart answers, and a server may ignore Range), and for a
 * suffix range of an empty entity (satisfiable, but no 206 can say so).
 * BERR_RANGE_UNSATISFIABLE for a range past the end and for a bytes range
 * that is not valid syntax, such as "bytes=500-0": 14.2 lets the server
 * answer 416 for an invalid ranges-specifier, and the OCI conformance
 * suite expects it.
 */
int
range_parse(const char *h, uint64_t size, struct byte_range *br)
{
	struct range_spec rs, one;
	const char	*p, *end;
	size_t		 n, nspecs = 0;

	br->off = 0;
	br->len = size;
	br->partial = 0;
	if (h == NULL)
		return 0;
	memset(&one, 0, sizeof(one));
	h += strspn(h, " \t");
	if (strncasecmp(h, "bytes", 5) != 0 ||
	    strcspn(h, "= \t") != 5)
		return 0;
	if (h[5] != '=')
		return BERR_RANGE_UNSATISFIABLE;
	/* A comma-separated list: white space around elements, empty ones
	 * ignored (RFC 9110 5.6.1), none inside a range-spec. */
	for (p = h + 6;; p = end + 1) {
		p += strspn(p, " \t");
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 0) {
			if (range_spec_parse(p, n, &rs) == -1)
				return BERR_RANGE_UNSATISFIABLE;
			if (nspecs++ == 0)
				one = rs;
		}
		if (*end == '\0')
			break;
	}
	if (nspecs == 0)
		return BERR_RANGE_UNSATISFIABLE;
	if (nspecs > 1)
		return 0;
	if (one.is_suffix) {
		if (one.suffix == 0)
			return BERR_RANGE_UNSATISFIABLE;
		if (size == 0)
			return 0;
		br->len = one.suffix < size ? one.suffix : size;
		br->off = size - br->len;
		br->partial = 1;
		return 0;
	}
	if (one.first >= size)
		return BERR_RANGE_UNSATISFIABLE;
	if (one.last >= size)
		one.last = size - 1;
	br->off = one.first;
	br->len = one.last - one.first + 1;
	br->partial = 1;
	return 0;
}

/*
 * Content-Range of a chunk: the spec's "first-last", also "bytes first-
 * last/total" and "bytes=first-last" that some tools send.
 */
int
content_range_parse(const char *h, uint64_t *first, uint64_t *last)
{
	const char	*dash, *end;

	if (strncmp(h, "bytes", 5) == 0) {
		h += 5;
		if (*h == '=' || *h == ' ')
			h++;
	}
	if ((dash = strchr(h, '-')) == NULL)
		return -1;
	end = dash + 1 + strcspn(dash + 1, "/");
	if (parse_u64(h, (size_t)(dash - h), first) == -1 ||
	    parse_u64(dash + 1, (size_t)(end - dash - 1), last) == -1 ||
	    *last < *first)
		return -1;
	return 0;
}
