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
 * The small parsers of the registry API on arbitrary strings: manifest
 * references (tag or digest), digests, repository names, wildcard tag
 * filters, and the Range and Content-Range headers.  Results are checked
 * for consistency, not only for crashes.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "berthd.h"
#include "digest.h"
#include "error.h"
#include "log.h"
#include "name.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reference ref;
	struct byte_range br, br2;
	struct digest	 d, back;
	char		*s, buf[DIGEST_STR_MAX], *split, rbuf[64];
	uint64_t	 first, last, entity;
	size_t		 skip;
	int		 rc;

	log_init("fuzz", LOG_LVL_WARN);
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	/* A parsed digest formats back to itself. */
	if (digest_parse(s, size, &d) == 0) {
		digest_format(&d, buf);
		if (strlen(buf) != size || memcmp(buf, s, size) != 0 ||
		    digest_parse_str(buf, &back) != 0 || !digest_eq(&d, &back))
			abort();
	}
	rc = name_reference_parse(s, size, &ref);
	if (rc == 0 && !ref.is_digest && !name_oci_tag_valid(s, size))
		abort();
	if (name_ecr_repository_valid(s, size) &&
	    !name_oci_repository_valid(s, size))
		abort();
	/* A pattern always matches itself once its stars are taken out. */
	if (strchr(s, '*') == NULL && !name_wildcard_match(s, s))
		abort();
	if ((split = memchr(s, '\n', size)) != NULL) {
		*split = '\0';
		(void)name_wildcard_match(s, split + 1);
	}

	entity = size > 8 ? (uint64_t)data[0] << 8 | data[1] : size;
	rc = range_parse(s, entity, &br);
	if (rc == 0 && br.partial && (br.len == 0 || br.off >= entity ||
	    br.len > entity - br.off))
		abort();
	if (rc == 0 && !br.partial && (br.off != 0 || br.len != entity))
		abort();
	if (rc != 0 && rc != BERR_RANGE_UNSATISFIABLE)
		abort();
	/* Units other than bytes are ignored, never refused. */
	skip = strspn(s, " \t");
	if ((rc != 0 || br.partial) && strncasecmp(s + skip, "bytes", 5) != 0)
		abort();
	/* The range found, written as first-last, is found again. */
	if (rc == 0 && br.partial) {
		snprintf(rbuf, sizeof(rbuf), "bytes=%llu-%llu",
		    (unsigned long long)br.off,
		    (unsigned long long)(br.off + br.len - 1));
		if (range_parse(rbuf, entity, &br2) != 0 || !br2.partial ||
		    br2.off != br.off || br2.len != br.len)
			abort();
	}
	if (content_range_parse(s, &first, &last) == 0 && last < first)
		abort();
	free(s);
	return 0;
}
