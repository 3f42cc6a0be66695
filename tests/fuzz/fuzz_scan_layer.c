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
 * The layer reader on arbitrary bytes, as one layer of an image: the gzip
 * reader (ISA-L) when they start with gzip's magic, libarchive's filters
 * otherwise, then the tar reader, path checks, whiteouts and the package
 * database parsers of whatever survives.  Every outcome must be one of
 * the three statuses, with a reason unless the scan completed.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "scan.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct scan_limits lim = {
		.max_file = 1 << 20,
		.max_unpacked = 64 << 20,
		.max_entries = 10000,
		.threads = 1,
	};
	struct scan_layer	 layer;
	struct scan_inventory	 inv;
	struct scan_stats	 st;
	char			 why[SCAN_DESCRIPTION_MAX];
	int			 status;

	log_init("fuzz", LOG_LVL_WARN);
	if ((layer.fd = anon_file("layer")) == -1)
		return 0;
	if (write_full(layer.fd, data, size) == -1 ||
	    lseek(layer.fd, 0, SEEK_SET) == -1) {
		close(layer.fd);
		return 0;
	}
	layer.media = SCAN_MEDIA_TAR_GZIP;
	status = scan_layers_read(&layer, 1, &lim, &inv, &st, why,
	    sizeof(why));
	if (status < SCAN_STATUS_COMPLETE || status >= SCAN_STATUS__MAX ||
	    (status != SCAN_STATUS_COMPLETE && why[0] == '\0') ||
	    st.unpacked > lim.max_unpacked + (1 << 20))
		abort();
	if (status != SCAN_STATUS_COMPLETE && inv.packages.len != 0)
		abort();
	scan_inventory_clear(&inv);
	close(layer.fd);
	return 0;
}
