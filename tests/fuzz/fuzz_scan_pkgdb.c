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
 * The package database parsers on arbitrary bytes: the first byte picks
 * dpkg's status format, apk's installed database, os-release or an rpm
 * header blob; the rest is the file.  Whatever they accept must be a
 * package the rest of the scanner can carry (printable fields of bounded
 * length), and nothing may leak.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_field(const char *s, int required)
{
	size_t	 n;

	if (s == NULL) {
		if (required)
			abort();
		return;
	}
	for (n = 0; s[n] != '\0'; n++)
		if (s[n] <= ' ' || s[n] > '~')
			abort();
	if (n == 0 || n >= SCAN_FIELD_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_pkglist	 l = { 0 };
	struct scan_os		 os;
	const char		*buf = (const char *)data + 1;
	size_t			 i, len = size - 1;
	int			 n = 0;

	if (size == 0)
		return 0;
	log_init("fuzz", LOG_LVL_WARN);
	switch (data[0] % 4) {
	case 0:
		n = scan_dpkg_parse(buf, len, &l);
		break;
	case 1:
		n = scan_apk_parse(buf, len, &l);
		break;
	case 2:
		if (scan_os_release_parse(buf, len, &os) == 0 &&
		    (os.id[0] == '\0' || strlen(os.id) >= sizeof(os.id)))
			abort();
		break;
	default:
		n = scan_rpm_header_parse(data + 1, len, &l);
		break;
	}
	if (n > 0 && (size_t)n != l.len)
		abort();
	for (i = 0; i < l.len; i++) {
		check_field(l.v[i].name, 1);
		check_field(l.v[i].version, 1);
		check_field(l.v[i].source, 0);
		check_field(l.v[i].source_version, 0);
		check_field(l.v[i].arch, 0);
	}
	scan_pkglist_sort(&l);
	scan_pkglist_clear(&l);
	return 0;
}
