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
 * daemon/scan_osv.c, scan_cvss.c and scan_report.c: advisories in the
 * shapes the distributions' OSV feeds use, matched against inventories
 * with each ecosystem's order; CVSS v3 scores against the specification's
 * examples; the record format round trip and its refusals.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "scan.h"
#include "util.h"
#include "unit.h"

static const char debian_osv[] =
    "{\"id\":\"DSA-5514-1\",\"modified\":\"2024-03-01T10:00:00Z\","
    "\"upstream\":[\"CVE-2023-4911\"],"
    "\"summary\":\"glibc - security update\","
    "\"details\":\"Buffer overflow in ld.so (Looney Tunables).\","
    "\"severity\":[{\"type\":\"CVSS_V3\",\"score\":"
    "\"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H\"}],"
    "\"references\":[{\"type\":\"WEB\",\"url\":\"https://example.org/w\"},"
    "{\"type\":\"ADVISORY\",\"url\":"
    "\"https://www.debian.org/security/2023/dsa-5514\"}],"
    "\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
    "\"name\":\"glibc\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
    "\"events\":[{\"fixed\":\"2.36-9+deb12u3\"},{\"introduced\":\"0\"}]}]},"
    "{\"package\":{\"ecosystem\":\"Debian:11\",\"name\":\"glibc\"},"
    "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":"
    "\"0\"},{\"fixed\":\"2.31-13+deb11u7\"}]}]}]}";

static const char debian_unfixed[] =
    "{\"id\":\"DEBIAN-CVE-2024-2961\",\"modified\":\"2024-05-01T00:00:00.5"
    "+02:00\",\"details\":\"iconv overflow\","
    "\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\","
    "\"name\":\"glibc\"},\"ecosystem_specific\":{\"severity\":\"important\""
    "},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":"
    "\"0\"}]}]}]}";

static const char alpine_osv[] =
    "[{\"id\":\"ALPINE-CVE-2023-5678\",\"modified\":\"2023-11-10T00:00:00Z\","
    "\"affected\":[{\"package\":{\"ecosystem\":\"Alpine:v3.19\","
    "\"name\":\"openssl\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
    "\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"3.1.4-r1\"}]}]},"
    "{\"package\":{\"ecosystem\":\"Alpine:v3.18\",\"name\":\"musl\"},"
    "\"versions\":[\"1.2.4-r2\"]}]},"
    "{\"id\":\"WITHDRAWN-1\",\"withdrawn\":\"2024-01-01T00:00:00Z\","
    "\"affected\":[{\"package\":{\"ecosystem\":\"Alpine:v3.19\","
    "\"name\":\"musl\"},\"versions\":[\"1.2.4-r2\"]}]},"
    "{\"id\":\"GHSA-xxxx\",\"affected\":[{\"package\":{\"ecosystem\":"
    "\"PyPI\",\"name\":\"requests\"},\"versions\":[\"1.0\"]}]}]";

static const char rocky_osv[] =
    "{\"id\":\"RLSA-2024:0310\",\"aliases\":[\"CVE-2023-5678\"],"
    "\"database_specific\":{\"severity\":\"Moderate\"},"
    "\"affected\":[{\"package\":{\"ecosystem\":\"Rocky Linux:9\","
    "\"name\":\"openssl\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
    "\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"1:3.0.7-25.el9_3\"}]}"
    "]},{\"package\":{\"ecosystem\":\"Rocky Linux:9\",\"name\":\"bash\"},"
    "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":"
    "\"5.0\"},{\"last_affected\":\"5.1.8-6.el9\"}]}]}]}";

struct findings {
	struct wbuf	 records;
	size_t		 n;
	char		 names[16][64];
	char		 fixed[16][64];
	int		 sev[16];
};

static void
finding_cb(const struct scan_finding *f, void *arg)
{
	struct findings	*fs = arg;

	if (fs->n < 16) {
		snprintf(fs->names[fs->n], 64, "%s/%s", f->name,
		    f->package_name);
		snprintf(fs->fixed[fs->n], 64, "%s", f->fixed_version);
		fs->sev[fs->n] = f->severity;
	}
	scan_report_finding(&fs->records, f);
	fs->n++;
}

static int
found(const struct findings *fs, const char *name)
{
	size_t	 i;

	for (i = 0; i < fs->n && i < 16; i++)
		if (strcmp(fs->names[i], name) == 0)
			return (int)i;
	return -1;
}

static struct osv_db *
db_of(const char *const *docs, size_t n)
{
	struct osv_db	*db = osv_db_new();
	char		 why[128];
	size_t		 i;

	for (i = 0; i < n; i++)
		CU_ASSERT_EQUAL(osv_db_add_json(db, docs[i], strlen(docs[i]),
		    why, sizeof(why)), 0);
	osv_db_finish(db);
	return db;
}

static void
inventory(struct scan_inventory *inv, const char *id, const char *ver)
{
	memset(inv, 0, sizeof(*inv));
	snprintf(inv->os.id, sizeof(inv->os.id), "%s", id);
	snprintf(inv->os.version_id, sizeof(inv->os.version_id), "%s", ver);
	inv->have_os = 1;
}

static void
test_osv_debian(void)
{
	static const char *const docs[] = { debian_osv, debian_unfixed };
	struct osv_db		*db = db_of(docs, nitems(docs));
	struct scan_inventory	 inv;
	struct findings		 fs;
	int			 i;

	CU_ASSERT_EQUAL(osv_db_advisories(db), 2);
	/* 2024-05-01T00:00:00.5+02:00 */
	CU_ASSERT_EQUAL(osv_db_updated_at(db), 1714514400);
	inventory(&inv, "debian", "12");
	scan_pkglist_add(&inv.packages, SCAN_ECO_DPKG, "libc6",
	    "2.36-9+deb12u2", "glibc", NULL, "amd64");
	scan_pkglist_add(&inv.packages, SCAN_ECO_DPKG, "libc-bin",
	    "2.36-9+deb12u2", "glibc", NULL, "amd64");
	scan_pkglist_add(&inv.packages, SCAN_ECO_DPKG, "glibc-doc",
	    "2.36-9+deb12u3", "glibc", NULL, "all");
	memset(&fs, 0, sizeof(fs));
	wbuf_init(&fs.records);
	CU_ASSERT_EQUAL(osv_match(db, &inv, finding_cb, &fs), 5);
	CU_ASSERT_FATAL((i = found(&fs, "CVE-2023-4911/libc6")) != -1);
	CU_ASSERT_STRING_EQUAL(fs.fixed[i], "2.36-9+deb12u3");
	CU_ASSERT_EQUAL(fs.sev[i], SCAN_SEV_HIGH);	/* CVSS 7.8 */
	CU_ASSERT(found(&fs, "CVE-2023-4911/libc-bin") != -1);
	CU_ASSERT(found(&fs, "CVE-2023-4911/glibc-doc") == -1);
	CU_ASSERT_FATAL((i = found(&fs, "CVE-2024-2961/glibc-doc")) != -1);
	CU_ASSERT_EQUAL(fs.sev[i], SCAN_SEV_HIGH);	/* "important" */
	CU_ASSERT_STRING_EQUAL(fs.fixed[i], "");
	wbuf_clear(&fs.records);

	/* Debian 11 advisories do not apply to 12, and the reverse. */
	snprintf(inv.os.version_id, sizeof(inv.os.version_id), "11");
	memset(&fs, 0, sizeof(fs));
	wbuf_init(&fs.records);
	CU_ASSERT_EQUAL(osv_match(db, &inv, finding_cb, &fs), 0);
	wbuf_clear(&fs.records);
	scan_inventory_clear(&inv);
	osv_db_free(db);
}

static void
test_osv_alpine_rocky(void)
{
	static const char *const docs[] = { alpine_osv, rocky_osv };
	struct osv_db		*db = db_of(docs, nitems(docs));
	struct scan_inventory	 inv;
	struct findings		 fs;
	int			 i;

	CU_ASSERT_EQUAL(osv_db_advisories(db), 2);
	inventory(&inv, "alpine", "3.19.1");
	scan_pkglist_add(&inv.packages, SCAN_ECO_APK, "libcrypto3",
	    "3.1.4-r0", "openssl", NULL, "x86_64");
	scan_pkglist_add(&inv.packages, SCAN_ECO_APK, "libssl3",
	    "3.1.4-r1", "openssl", NULL, "x86_64");
	scan_pkglist_add(&inv.packages, SCAN_ECO_APK, "musl", "1.2.4-r2",
	    "musl", NULL, "x86_64");
	memset(&fs, 0, sizeof(fs));
	wbuf_init(&fs.records);
	CU_ASSERT_EQUAL(osv_match(db, &inv, finding_cb, &fs), 1);
	CU_ASSERT_FATAL((i = found(&fs, "CVE-2023-5678/libcrypto3")) != -1);
	CU_ASSERT_STRING_EQUAL(fs.fixed[i], "3.1.4-r1");
	CU_ASSERT_EQUAL(fs.sev[i], SCAN_SEV_UNDEFINED);
	wbuf_clear(&fs.records);
	scan_inventory_clear(&inv);

	inventory(&inv, "rocky", "9.3");
	scan_pkglist_add(&inv.packages, SCAN_ECO_RPM, "openssl-libs",
	    "1:3.0.7-24.el9", "openssl", "1:3.0.7-24.el9", "x86_64");
	scan_pkglist_add(&inv.packages, SCAN_ECO_RPM, "bash", "5.1.8-6.el9",
	    "bash", "5.1.8-6.el9", "x86_64");
	scan_pkglist_add(&inv.packages, SCAN_ECO_RPM, "bash-doc",
	    "5.1.8-7.el9", "bash", "5.1.8-7.el9", "noarch");
	memset(&fs, 0, sizeof(fs));
	wbuf_init(&fs.records);
	CU_ASSERT_EQUAL(osv_match(db, &inv, finding_cb, &fs), 2);
	CU_ASSERT_FATAL((i = found(&fs, "CVE-2023-5678/openssl-libs")) != -1);
	CU_ASSERT_EQUAL(fs.sev[i], SCAN_SEV_MEDIUM);	/* "Moderate" */
	CU_ASSERT_STRING_EQUAL(fs.fixed[i], "1:3.0.7-25.el9_3");
	CU_ASSERT(found(&fs, "RLSA-2024:0310/bash") != -1 ||
	    found(&fs, "CVE-2023-5678/bash") != -1);
	CU_ASSERT(found(&fs, "CVE-2023-5678/bash-doc") == -1);
	wbuf_clear(&fs.records);
	scan_inventory_clear(&inv);

	/* An OS the database has no mapping for matches nothing. */
	inventory(&inv, "plan9", "4");
	CU_ASSERT_EQUAL(osv_match(db, &inv, finding_cb, &fs), 0);
	osv_db_free(db);
}

static void
test_osv_malformed(void)
{
	static const char *const bad[] = { "", "{", "[1,2]", "{}", "nul",
	    "{\"id\":5}", "{\"id\":\"\"}", "{\"id\":\"X\"} trailing" };
	static const char bogus[] = "{\"id\":\"A\",\"affected\":[{"
	    "\"package\":{\"ecosystem\":\"Debian:12\",\"name\":\"x\"},"
	    "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"bogus\":"
	    "\"1\"}]}]}]}";
	struct osv_db	*db = osv_db_new();
	char		 why[128];
	size_t		 i;

	for (i = 0; i < nitems(bad); i++)
		CU_ASSERT_EQUAL(osv_db_add_json(db, bad[i], strlen(bad[i]), why,
		    sizeof(why)), -1);
	/* No affected entry we keep: accepted, nothing stored. */
	CU_ASSERT_EQUAL(osv_db_add_json(db, bogus, strlen(bogus), why,
	    sizeof(why)), 0);
	osv_db_finish(db);
	CU_ASSERT_EQUAL(osv_db_advisories(db), 0);
	osv_db_free(db);
}

static void
test_osv_dir(void)
{
	struct osv_db	*db = osv_db_new();
	char		*dir, *path;
	size_t		 skipped;
	int		 fd;

	dir = unit_tmpdir();
	xasprintf(&path, "%s/debian", dir);
	CU_ASSERT(mkdir_p(path, 0755) == 0);
	free(path);
	xasprintf(&path, "%s/debian/DSA-5514-1.json", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CU_ASSERT(write_full(fd, debian_osv, strlen(debian_osv)) == 0);
	close(fd);
	free(path);
	xasprintf(&path, "%s/broken.json", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CU_ASSERT(write_full(fd, "{", 1) == 0);
	close(fd);
	free(path);
	xasprintf(&path, "%s/README", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	close(fd);
	free(path);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_EQUAL(osv_db_load_dir(db, fd, &skipped), 0);
	CU_ASSERT_EQUAL(skipped, 1);
	CU_ASSERT_EQUAL(osv_db_advisories(db), 1);
	/* Twice from the same descriptor: the walk starts over. */
	CU_ASSERT_EQUAL(osv_db_load_dir(db, fd, &skipped), 0);
	CU_ASSERT_EQUAL(osv_db_advisories(db), 2);
	close(fd);
	osv_db_free(db);
	unit_rmtree(dir);
	free(dir);
}

static void
test_cvss(void)
{
	static const struct {
		const char	*vector;
		int		 score10;
	} cases[] = {
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 98 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 100 },
		{ "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 55 },
		{ "CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 31 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 61 },
		{ "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 78 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0 },
		/* Any order, temporal metrics ignored. */
		{ "CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N/E:P", 98 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", -1 },
		{ "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", -1 },
		{ "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", -1 },
		{ "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", -1 },
		{ "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", -1 },
		{ "AV:N/AC:L/Au:N/C:P/I:P/A:P", -1 },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		CU_ASSERT_EQUAL(cvss3_score(cases[i].vector), cases[i].score10);
	CU_ASSERT_EQUAL(scan_severity_from_score(0), SCAN_SEV_INFORMATIONAL);
	CU_ASSERT_EQUAL(scan_severity_from_score(39), SCAN_SEV_LOW);
	CU_ASSERT_EQUAL(scan_severity_from_score(40), SCAN_SEV_MEDIUM);
	CU_ASSERT_EQUAL(scan_severity_from_score(70), SCAN_SEV_HIGH);
	CU_ASSERT_EQUAL(scan_severity_from_score(90), SCAN_SEV_CRITICAL);
	CU_ASSERT_EQUAL(scan_severity_from_score(-1), SCAN_SEV_UNDEFINED);
}

static void
test_report(void)
{
	struct scan_inventory	 inv, back;
	struct scan_stats	 st = { 10, 20, 3 }, st2;
	struct scan_finding	 f;
	struct scan_record	 r;
	struct wbuf		 b;
	char			 why[SCAN_DESCRIPTION_MAX];
	size_t			 off = 0, i;
	int			 status;
	uint8_t			 save;

	inventory(&inv, "debian", "12");
	snprintf(inv.os.pretty_name, sizeof(inv.os.pretty_name), "Debian");
	scan_pkglist_add(&inv.packages, SCAN_ECO_DPKG, "libc6", "2.36-9",
	    "glibc", NULL, "amd64");
	wbuf_init(&b);
	scan_report_child(&b, SCAN_STATUS_COMPLETE, &st, "fine", &inv);
	CU_ASSERT_EQUAL(scan_report_child_decode(b.data, b.len, &status, &st2,
	    why, sizeof(why), &back), 0);
	CU_ASSERT_EQUAL(status, SCAN_STATUS_COMPLETE);
	CU_ASSERT_STRING_EQUAL(why, "fine");
	CU_ASSERT_EQUAL(st2.unpacked, 20);
	CU_ASSERT_STRING_EQUAL(back.os.id, "debian");
	CU_ASSERT_EQUAL_FATAL(back.packages.len, 1);
	CU_ASSERT_STRING_EQUAL(back.packages.v[0].source, "glibc");
	CU_ASSERT_PTR_NULL(back.packages.v[0].source_version);
	scan_inventory_clear(&back);
	/* Every truncation is refused or decodes to less, never more. */
	for (i = 0; i < b.len; i++)
		if (scan_report_child_decode(b.data, i, &status, &st2, why,
		    sizeof(why), &back) == 0) {
			CU_ASSERT(back.packages.len == 0);
			scan_inventory_clear(&back);
		}
	/* A control character in a package name is refused. */
	save = b.data[b.len - 20];
	b.data[b.len - 20] = '\n';
	CU_ASSERT_EQUAL(scan_report_child_decode(b.data, b.len, &status, &st2,
	    why, sizeof(why), &back), -1);
	b.data[b.len - 20] = save;
	wbuf_clear(&b);

	/* Findings: decoded field by field; the description keeps its
	 * newlines; bad UTF-8 and unknown severities are refused. */
	memset(&f, 0, sizeof(f));
	f.id = "DSA-1";
	f.name = "CVE-2024-1";
	f.description = "line one\nligne d\xc3\xa9ux";
	f.uri = "https://example.org";
	f.severity = SCAN_SEV_CRITICAL;
	f.package_name = "libc6";
	f.package_version = "2.36-9";
	f.fixed_version = "";
	f.cvss_vector = "";
	f.cvss_score10 = 98;
	f.ecosystem = "Debian:12";
	wbuf_init(&b);
	scan_report_finding(&b, &f);
	CU_ASSERT_EQUAL(scan_report_next(b.data, b.len, &off, &r), 1);
	CU_ASSERT_EQUAL(off, b.len);
	CU_ASSERT_EQUAL(r.kind, SCAN_REC_FINDING);
	CU_ASSERT(r.flen[4] == 8 && memcmp(r.field[4], "CRITICAL", 8) == 0);
	CU_ASSERT(r.flen[9] == 3 && memcmp(r.field[9], "9.8", 3) == 0);
	CU_ASSERT_EQUAL(scan_report_next(b.data, b.len, &off, &r), 0);
	/* A finding is no part of a child's inventory. */
	CU_ASSERT_EQUAL(scan_report_inventory(b.data, b.len, &back), -1);
	wbuf_clear(&b);
	f.description = "bad \xc0\xaf overlong";
	wbuf_init(&b);
	scan_report_finding(&b, &f);
	off = 0;
	CU_ASSERT_EQUAL(scan_report_next(b.data, b.len, &off, &r), -1);
	wbuf_clear(&b);
	scan_inventory_clear(&inv);
}

static void
test_media_types(void)
{
	CU_ASSERT_EQUAL(scan_media_from_type(
	    "application/vnd.oci.image.layer.v1.tar+gzip"), SCAN_MEDIA_TAR_GZIP);
	CU_ASSERT_EQUAL(scan_media_from_type(
	    "application/vnd.oci.image.layer.v1.tar+zstd"), SCAN_MEDIA_TAR_ZSTD);
	CU_ASSERT_EQUAL(scan_media_from_type(
	    "application/vnd.oci.image.layer.v1.tar"), SCAN_MEDIA_TAR);
	CU_ASSERT_EQUAL(scan_media_from_type(
	    "application/vnd.docker.image.rootfs.diff.tar.gzip"),
	    SCAN_MEDIA_TAR_GZIP);
	CU_ASSERT_EQUAL(scan_media_from_type(
	    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"),
	    SCAN_MEDIA_TAR_GZIP);
	CU_ASSERT_EQUAL(scan_media_from_type(
	    "application/vnd.oci.image.config.v1+json"), 0);
	CU_ASSERT_EQUAL(scan_media_from_type("application/x-tar"), 0);
}

int
test_scan_osv_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("scan_osv", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "debian advisories", test_osv_debian) == NULL ||
	    CU_add_test(s, "alpine and rocky", test_osv_alpine_rocky) ==
	    NULL ||
	    CU_add_test(s, "malformed documents", test_osv_malformed) ==
	    NULL ||
	    CU_add_test(s, "a database directory", test_osv_dir) == NULL ||
	    CU_add_test(s, "cvss v3", test_cvss) == NULL ||
	    CU_add_test(s, "report records", test_report) == NULL ||
	    CU_add_test(s, "layer media types", test_media_types) == NULL)
		return -1;
	return 0;
}
