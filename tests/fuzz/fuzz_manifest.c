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
 * The manifest parser on arbitrary bytes: the first byte picks the
 * Content-Type it is pushed with (or none) and, with its high bit, a
 * lenient parse (--lenient-images); the rest is the body.  Every result
 * must be either a clean refusal with a reason or a parse whose references
 * are well-formed, and nothing may leak.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berthd.h"
#include "error.h"
#include "log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const content_types[] = {
	NULL, "", MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST,
	MT_DOCKER_LIST, "application/json", "text/plain"
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest_info mi;
	size_t		 i;
	int		 rc, flags;

	if (size == 0)
		return 0;
	log_init("fuzz", LOG_LVL_WARN);
	flags = (data[0] & 0x80) != 0 ? MANIFEST_LENIENT : 0;
	rc = manifest_parse((const char *)data + 1, size - 1,
	    content_types[(data[0] & 0x7f) % (sizeof(content_types) /
	    sizeof(content_types[0]))], flags, &mi);
	if (rc != 0) {
		if (rc != BERR_MANIFEST_INVALID || mi.error[0] == '\0')
			abort();
		return 0;
	}
	if (mi.media_type == NULL || !manifest_type_known(mi.media_type))
		abort();
	for (i = 0; i < mi.nrefs; i++)
		if (mi.refs[i].media_type == NULL ||
		    (mi.refs[i].digest.algo != DIGEST_SHA256 &&
		    mi.refs[i].digest.algo != DIGEST_SHA512))
			abort();
	/* An image manifest's config comes first; only a lenient parse may
	 * do without one. */
	if (!mi.is_index && flags == 0 &&
	    (mi.nrefs == 0 || mi.refs[0].kind != REF_CONFIG))
		abort();
	for (i = 1; i < mi.nrefs; i++)
		if (mi.refs[i].kind == REF_CONFIG)
			abort();
	manifest_info_clear(&mi);
	return 0;
}
