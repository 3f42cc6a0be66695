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
 * The OSV loader and the matcher on arbitrary documents: whatever the
 * loader keeps is matched against a fixed inventory of each ecosystem,
 * and every finding must carry what ECR's shapes need and encode into
 * records the strict decoder accepts.  The input is also scored as a
 * CVSS vector, whose score must lie between 0 and 10.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "scan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
finding_cb(const struct scan_finding *f, void *arg)
{
	struct wbuf		*b = arg;
	struct scan_record	 r;
	size_t			 off = 0;

	if (f->id == NULL || *f->id == '\0' || f->name == NULL ||
	    *f->name == '\0' || f->severity < 0 ||
	    f->severity >= SCAN_SEV__MAX || f->fixed_version == NULL ||
	    f->cvss_score10 < -1 || f->cvss_score10 > 100)
		abort();
	wbuf_reset(b);
	scan_report_finding(b, f);
	if (scan_report_next(b->data, b->len, &off, &r) != 1 ||
	    off != b->len)
		abort();
}

static void
inventory(struct scan_inventory *inv, const char *id, const char *ver,
    enum scan_eco eco)
{
	memset(inv, 0, sizeof(*inv));
	strcpy(inv->os.id, id);
	strcpy(inv->os.version_id, ver);
	inv->have_os = 1;
	(void)scan_pkglist_add(&inv->packages, eco, "libc6", "2.36-9",
	    "glibc", NULL, NULL);
	(void)scan_pkglist_add(&inv->packages, eco, "openssl", "1:3.0.7-24",
	    NULL, NULL, NULL);
	(void)scan_pkglist_add(&inv->packages, eco, "musl", "1.2.4-r2",
	    NULL, NULL, NULL);
	(void)scan_pkglist_add(&inv->packages, eco, "x", "0", "x", "0", NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const char	*id, *ver;
		enum scan_eco	 eco;
	} oses[] = {
		{ "debian", "12", SCAN_ECO_DPKG },
		{ "alpine", "3.19.1", SCAN_ECO_APK },
		{ "rocky", "9.3", SCAN_ECO_RPM },
	};
	struct osv_db		*db;
	struct scan_inventory	 inv;
	struct wbuf		 b;
	char			 why[256], *s;
	size_t			 i;
	int			 score;

	log_init("fuzz", LOG_LVL_WARN);
	db = osv_db_new();
	(void)osv_db_add_json(db, (const char *)data, size, why, sizeof(why));
	osv_db_finish(db);
	wbuf_init(&b);
	for (i = 0; i < sizeof(oses) / sizeof(oses[0]); i++) {
		inventory(&inv, oses[i].id, oses[i].ver, oses[i].eco);
		(void)osv_match(db, &inv, finding_cb, &b);
		scan_inventory_clear(&inv);
	}
	wbuf_clear(&b);
	osv_db_free(db);

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	score = cvss3_score(s);
	if (score < -1 || score > 100)
		abort();
	free(s);
	return 0;
}
