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
 * rpm's package database as recent distributions keep it (rpmdb.sqlite:
 * RHEL 9, Fedora, Rocky, Alma): a table Packages(hnum, blob) whose blobs
 * are package headers.  The database is opened from memory, read-only and
 * defensive, in the sandboxed child; the header decoder is ours, written
 * from rpm's format documentation (the header structure of the rpm file
 * format: a count of index entries and the size of the data store, both
 * big-endian, then 16-byte entries of tag, type, offset and count, then
 * the store), and checks every offset and length before it reads.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "scan.h"
#include "util.h"

#define RPM_TAG_NAME		1000
#define RPM_TAG_VERSION		1001
#define RPM_TAG_RELEASE		1002
#define RPM_TAG_EPOCH		1003
#define RPM_TAG_ARCH		1022
#define RPM_TAG_SOURCERPM	1044

#define RPM_TYPE_INT32		4
#define RPM_TYPE_STRING		6
#define RPM_TYPE_I18NSTRING	9

/* rpm's own limits on a header: index entries and data store bytes. */
#define RPM_INDEX_MAX		0x0000ffff
#define RPM_STORE_MAX		0x0fffffff

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

struct rpm_header {
	const uint8_t	*index;
	uint32_t	 il;
	const uint8_t	*store;
	uint32_t	 dl;
};

/* The string of tag, or NULL when absent or malformed. */
static const char *
rpm_string(const struct rpm_header *h, uint32_t tag)
{
	const uint8_t	*e;
	uint32_t	 i, type, off;

	for (i = 0; i < h->il; i++) {
		e = h->index + (size_t)i * 16;
		if (be32(e) != tag)
			continue;
		type = be32(e + 4);
		off = be32(e + 8);
		if ((type != RPM_TYPE_STRING && type != RPM_TYPE_I18NSTRING) ||
		    off >= h->dl ||
		    memchr(h->store + off, '\0', h->dl - off) == NULL)
			return NULL;
		return (const char *)h->store + off;
	}
	return NULL;
}

/* The first INT32 of tag: 1 and *v, 0 when absent, -1 when malformed. */
static int
rpm_int32(const struct rpm_header *h, uint32_t tag, uint32_t *v)
{
	const uint8_t	*e;
	uint32_t	 i, off;

	for (i = 0; i < h->il; i++) {
		e = h->index + (size_t)i * 16;
		if (be32(e) != tag)
			continue;
		off = be32(e + 8);
		if (be32(e + 4) != RPM_TYPE_INT32 || be32(e + 12) < 1 ||
		    off % 4 != 0 || off > h->dl || h->dl - off < 4)
			return -1;
		*v = be32(h->store + off);
		return 1;
	}
	return 0;
}

/*
 * "name-version-release.src.rpm" into its name and "version-release"; 0,
 * or -1 when it does not have that shape.
 */
static int
rpm_source_split(const char *srpm, char *name, char *vr, size_t sz)
{
	char		 s[SCAN_FIELD_MAX];
	char		*dash1, *dash2;
	size_t		 n = strlen(srpm);

	if (n >= sizeof(s))
		return -1;
	memcpy(s, srpm, n + 1);
	if (n > 8 && strcmp(s + n - 8, ".src.rpm") == 0)
		s[n - 8] = '\0';
	else if (n > 10 && strcmp(s + n - 10, ".nosrc.rpm") == 0)
		s[n - 10] = '\0';
	else
		return -1;
	if ((dash2 = strrchr(s, '-')) == NULL)
		return -1;
	*dash2 = '\0';
	if ((dash1 = strrchr(s, '-')) == NULL || dash1 == s)
		return -1;
	*dash2 = '-';
	*dash1 = '\0';
	if (snprintf(name, sz, "%s", s) >= (int)sz ||
	    snprintf(vr, sz, "%s", dash1 + 1) >= (int)sz)
		return -1;
	return 0;
}

int
scan_rpm_header_parse(const uint8_t *blob, size_t len,
    struct scan_pkglist *l)
{
	struct rpm_header h;
	const char	*name, *version, *release, *arch, *srpm;
	char		 evr[SCAN_FIELD_MAX], src[SCAN_FIELD_MAX];
	char		 srcvr[SCAN_FIELD_MAX], srcevr[SCAN_FIELD_MAX];
	uint32_t	 epoch = 0;
	int		 has_epoch, n;

	if (len < 8)
		return -1;
	h.il = be32(blob);
	h.dl = be32(blob + 4);
	if (h.il < 1 || h.il > RPM_INDEX_MAX || h.dl > RPM_STORE_MAX ||
	    len != 8 + (size_t)h.il * 16 + h.dl)
		return -1;
	h.index = blob + 8;
	h.store = h.index + (size_t)h.il * 16;

	if ((has_epoch = rpm_int32(&h, RPM_TAG_EPOCH, &epoch)) == -1)
		return -1;
	name = rpm_string(&h, RPM_TAG_NAME);
	version = rpm_string(&h, RPM_TAG_VERSION);
	release = rpm_string(&h, RPM_TAG_RELEASE);
	arch = rpm_string(&h, RPM_TAG_ARCH);
	srpm = rpm_string(&h, RPM_TAG_SOURCERPM);
	/* Imported keys are headers too, with no architecture. */
	if (name == NULL || version == NULL || strcmp(name, "gpg-pubkey") == 0)
		return 0;
	if (has_epoch)
		n = snprintf(evr, sizeof(evr), "%u:%s%s%s", epoch, version,
		    release != NULL ? "-" : "", release != NULL ? release : "");
	else
		n = snprintf(evr, sizeof(evr), "%s%s%s", version,
		    release != NULL ? "-" : "", release != NULL ? release : "");
	if (n < 0 || (size_t)n >= sizeof(evr))
		return -1;
	src[0] = srcevr[0] = '\0';
	if (srpm != NULL &&
	    rpm_source_split(srpm, src, srcvr, sizeof(src)) == 0) {
		if (has_epoch)
			n = snprintf(srcevr, sizeof(srcevr), "%u:%s", epoch,
			    srcvr);
		else
			n = snprintf(srcevr, sizeof(srcevr), "%s", srcvr);
		if (n < 0 || (size_t)n >= sizeof(srcevr))
			src[0] = srcevr[0] = '\0';
	}
	if (scan_pkglist_add(l, SCAN_ECO_RPM, name, evr,
	    src[0] != '\0' ? src : NULL, srcevr[0] != '\0' ? srcevr : NULL,
	    arch) == -1)
		return -1;
	return 1;
}

int
scan_rpmdb_parse(const uint8_t *db, size_t len, struct scan_pkglist *l)
{
	sqlite3		*s = NULL;
	sqlite3_stmt	*st = NULL;
	unsigned char	*copy;
	const void	*blob;
	int		 n, rc, added = 0;

	/* "SQLite format 3\0", and a page size that is not absurd. */
	if (len < 100 || memcmp(db, "SQLite format 3", 16) != 0 ||
	    len > (size_t)INT_MAX)
		return -1;
	if ((copy = sqlite3_malloc64(len)) == NULL)
		return -1;
	memcpy(copy, db, len);
	/*
	 * rpm writes in WAL mode; an image holds the checkpointed file.
	 * A database in memory cannot be in WAL mode, so read it as a
	 * rollback-journal one (bytes 18 and 19: read and write versions).
	 */
	if (copy[18] == 2)
		copy[18] = 1;
	if (copy[19] == 2)
		copy[19] = 1;
	if (sqlite3_open_v2(":memory:", &s, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		sqlite3_free(copy);
		goto fail;
	}
	/* Nothing in the file may run code or reach past its data. */
	sqlite3_db_config(s, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(s, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(s, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_limit(s, SQLITE_LIMIT_LENGTH, 64 * 1024 * 1024);
	if (sqlite3_deserialize(s, "main", copy, (sqlite3_int64)len,
	    (sqlite3_int64)len, SQLITE_DESERIALIZE_FREEONCLOSE |
	    SQLITE_DESERIALIZE_READONLY) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(s, "SELECT blob FROM Packages", -1, &st,
	    NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_BLOB)
			continue;
		blob = sqlite3_column_blob(st, 0);
		n = sqlite3_column_bytes(st, 0);
		if (blob != NULL && n > 0 &&
		    scan_rpm_header_parse(blob, (size_t)n, l) == 1)
			added++;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	sqlite3_close(s);
	return added;
fail:
	sqlite3_finalize(st);
	sqlite3_close(s);
	return -1;
}
