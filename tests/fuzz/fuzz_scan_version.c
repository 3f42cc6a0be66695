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
 * The three version orders on arbitrary strings: the input is split at
 * its first two NUL bytes into a, b and c.  Each comparator must say a
 * string equals itself, be antisymmetric, and be transitive on the three
 * (a <= b <= c implies a <= c): a matcher whose order is not one could
 * call a version both fixed and affected.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
sign(int v)
{
	return v < 0 ? -1 : v > 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s, *a, *b, *c;
	int	 eco, ab, ba, bc, ac;

	if ((s = malloc(size + 3)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = s[size + 1] = s[size + 2] = '\0';
	a = s;
	b = a + strlen(a) + 1;
	c = b <= s + size ? b + strlen(b) + 1 : b;
	if (c > s + size + 2)
		c = s + size + 2;
	for (eco = SCAN_ECO_NONE; eco < SCAN_ECO__MAX; eco++) {
		if (scan_version_cmp(eco, a, a) != 0 ||
		    scan_version_cmp(eco, b, b) != 0)
			abort();
		ab = sign(scan_version_cmp(eco, a, b));
		ba = sign(scan_version_cmp(eco, b, a));
		if (ab != -ba)
			abort();
		bc = sign(scan_version_cmp(eco, b, c));
		ac = sign(scan_version_cmp(eco, a, c));
		if (ab <= 0 && bc <= 0 && ac > 0)
			abort();
		if (ab >= 0 && bc >= 0 && ac < 0)
			abort();
	}
	(void)scan_rpm_vercmp(a, b);
	free(s);
	return 0;
}
