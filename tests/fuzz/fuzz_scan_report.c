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
 * The record decoder, the one way a scan's report is read by scand (from
 * the sandboxed child) and by berthd (from scand), on arbitrary bytes.
 * What it accepts must re-encode to a report it accepts again with the
 * same inventory.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "scan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_inventory	 inv, again;
	struct scan_stats	 st, st2;
	struct scan_record	 r;
	struct wbuf		 b;
	char			 why[SCAN_DESCRIPTION_MAX];
	char			 why2[SCAN_DESCRIPTION_MAX];
	size_t			 off = 0, i;
	int			 status, status2, rc;

	log_init("fuzz", LOG_LVL_WARN);
	while ((rc = scan_report_next(data, size, &off, &r)) == 1)
		if (r.nfields > SCAN_RECORD_FIELDS_MAX || off > size)
			abort();
	if (scan_report_child_decode(data, size, &status, &st, why,
	    sizeof(why), &inv) == -1)
		return 0;
	wbuf_init(&b);
	scan_report_child(&b, status, &st, why, &inv);
	if (scan_report_child_decode(b.data, b.len, &status2, &st2, why2,
	    sizeof(why2), &again) == -1 || status2 != status ||
	    strcmp(why, why2) != 0 || again.have_os != inv.have_os ||
	    again.packages.len != inv.packages.len)
		abort();
	for (i = 0; i < inv.packages.len; i++)
		if (strcmp(inv.packages.v[i].name, again.packages.v[i].name) != 0 ||
		    strcmp(inv.packages.v[i].version,
		    again.packages.v[i].version) != 0)
			abort();
	wbuf_clear(&b);
	scan_inventory_clear(&inv);
	scan_inventory_clear(&again);
	return 0;
}
