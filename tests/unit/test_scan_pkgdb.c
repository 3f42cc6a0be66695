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
 * daemon/scan_pkgdb.c and daemon/scan_rpm.c: the package databases and
 * os-release, on the formats as the tools write them, and on damage.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "scan.h"
#include "util.h"
#include "unit.h"

static const struct scan_package *
find(const struct scan_pkglist *l, const char *name)
{
	size_t	 i;

	for (i = 0; i < l->len; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

/* The package, asserted present; an empty one (never NULL) if absent. */
static const struct scan_package *
must_find(const struct scan_pkglist *l, const char *name)
{
	static char			 empty[1];
	static struct scan_package	 none = { SCAN_ECO_NONE, empty, empty,
	    NULL, NULL, NULL };
	const struct scan_package	*p = find(l, name);

	CU_ASSERT_PTR_NOT_NULL(p);
	return p != NULL ? p : &none;
}

static int
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void
test_dpkg_status(void)
{
	static const char status[] =
	    "Package: libc6\n"
	    "Status: install ok installed\n"
	    "Priority: optional\n"
	    "Architecture: amd64\n"
	    "Multi-Arch: same\n"
	    "Source: glibc\n"
	    "Version: 2.36-9+deb12u4\n"
	    "Description: GNU C Library: Shared libraries\n"
	    " Contains the standard libraries.\n"
	    " .\n"
	    " Package: not-a-package\n"
	    "\n"
	    "Package: libssl3\n"
	    "Status: install ok installed\n"
	    "Architecture: amd64\n"
	    "Source: openssl (3.0.11-1~deb12u2)\n"
	    "Version: 3.0.11-1~deb12u2+b1\n"
	    "\n"
	    "Package: removed\n"
	    "Status: deinstall ok config-files\n"
	    "Version: 1.0-1\n"
	    "\n"
	    "Package: half\n"
	    "Status: install ok half-installed\n"
	    "Version: 1.0-1\n"
	    "\n"
	    "Package: bad name\n"
	    "Status: install ok installed\n"
	    "Version: 1.0\n"
	    "\r\n"
	    "Package: zlib1g\r\n"
	    "Status: install ok installed\r\n"
	    "Version: 1:1.2.13.dfsg-1\r\n";
	static const char tzdata[] = "Package: tzdata\nVersion: 2024a-0+"
	    "deb12u1\nArchitecture: all\n";
	struct scan_pkglist	 l = { 0 };
	const struct scan_package *p;

	CU_ASSERT_EQUAL(scan_dpkg_parse(status, strlen(status), &l), 3);
	p = must_find(&l, "libc6");
	CU_ASSERT(streq(p->version, "2.36-9+deb12u4"));
	CU_ASSERT(streq(p->source, "glibc"));
	CU_ASSERT_PTR_NULL(p->source_version);
	CU_ASSERT(streq(p->arch, "amd64"));
	CU_ASSERT_EQUAL(p->eco, SCAN_ECO_DPKG);
	p = must_find(&l, "libssl3");
	CU_ASSERT(streq(p->source, "openssl"));
	CU_ASSERT(streq(p->source_version, "3.0.11-1~deb12u2"));
	CU_ASSERT(streq(p->version, "3.0.11-1~deb12u2+b1"));
	p = must_find(&l, "zlib1g");
	CU_ASSERT(streq(p->version, "1:1.2.13.dfsg-1"));
	CU_ASSERT_PTR_NULL(find(&l, "removed"));
	CU_ASSERT_PTR_NULL(find(&l, "half"));
	CU_ASSERT_PTR_NULL(find(&l, "not-a-package"));
	scan_pkglist_clear(&l);

	/* A distroless status.d file: one stanza, no Status. */
	CU_ASSERT_EQUAL(scan_dpkg_parse(tzdata, strlen(tzdata), &l), 1);
	CU_ASSERT_PTR_NOT_NULL(find(&l, "tzdata"));
	scan_pkglist_clear(&l);

	/* Not a control file at all; empty is empty. */
	CU_ASSERT_EQUAL(scan_dpkg_parse("\x7f" "ELF\x01\x02", 6, &l), -1);
	CU_ASSERT_EQUAL(scan_dpkg_parse("", 0, &l), 0);
	CU_ASSERT_EQUAL(l.len, 0);
}

static void
test_apk_installed(void)
{
	static const char db[] =
	    "C:Q1abc=\n"
	    "P:musl\n"
	    "V:1.2.4_git20230717-r4\n"
	    "A:x86_64\n"
	    "S:383152\n"
	    "o:musl\n"
	    "F:lib\n"
	    "R:libc.musl-x86_64.so.1\n"
	    "\n"
	    "P:libcrypto3\n"
	    "V:3.1.4-r0\n"
	    "A:x86_64\n"
	    "o:openssl\n"
	    "\n"
	    "P:noversion\n"
	    "\n";
	struct scan_pkglist	 l = { 0 };
	const struct scan_package *p;

	CU_ASSERT_EQUAL(scan_apk_parse(db, strlen(db), &l), 2);
	p = must_find(&l, "libcrypto3");
	CU_ASSERT(streq(p->version, "3.1.4-r0"));
	CU_ASSERT(streq(p->source, "openssl"));
	CU_ASSERT_EQUAL(p->eco, SCAN_ECO_APK);
	p = must_find(&l, "musl");
	CU_ASSERT(streq(p->version, "1.2.4_git20230717-r4"));
	scan_pkglist_clear(&l);
	CU_ASSERT_EQUAL(scan_apk_parse("garbage without fields", 22, &l), -1);
}

static void
test_os_release(void)
{
	static const char deb[] =
	    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
	    "NAME=\"Debian GNU/Linux\"\n"
	    "VERSION_ID=\"12\"\n"
	    "ID=debian\n";
	static const char rocky[] =
	    "# comment\n"
	    "  ID='Rocky'\n"
	    "VERSION_ID=9.3  # trailing\n"
	    "PRETTY_NAME=\"Rocky \\\"Blue\\\" Onyx\"\n";
	struct scan_os	 os;

	CU_ASSERT_EQUAL(scan_os_release_parse(deb, strlen(deb), &os), 0);
	CU_ASSERT_STRING_EQUAL(os.id, "debian");
	CU_ASSERT_STRING_EQUAL(os.version_id, "12");
	CU_ASSERT_STRING_EQUAL(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
	CU_ASSERT_EQUAL(scan_os_release_parse(rocky, strlen(rocky), &os), 0);
	CU_ASSERT_STRING_EQUAL(os.id, "rocky");
	CU_ASSERT_STRING_EQUAL(os.version_id, "9.3");
	CU_ASSERT_STRING_EQUAL(os.pretty_name, "Rocky \"Blue\" Onyx");
	CU_ASSERT_EQUAL(scan_os_release_parse("NAME=x\n", 7, &os), -1);
}

/* --- rpm headers, built as rpm lays them out ------------------------------ */

struct hdr_entry {
	uint32_t	 tag, type;
	const void	*data;
	uint32_t	 len, count;
};

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A header blob (no magic) of the entries; *len set; free() it. */
static uint8_t *
hdr_build(const struct hdr_entry *e, size_t n, size_t *len)
{
	uint8_t		*b;
	uint32_t	 dl = 0, off[16];
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (e[i].type == 4)
			dl = (dl + 3) & ~3u;
		off[i] = dl;
		dl += e[i].len;
	}
	*len = 8 + n * 16 + dl;
	b = xcalloc(1, *len);
	put_be32(b, (uint32_t)n);
	put_be32(b + 4, dl);
	for (i = 0; i < n; i++) {
		put_be32(b + 8 + i * 16, e[i].tag);
		put_be32(b + 8 + i * 16 + 4, e[i].type);
		put_be32(b + 8 + i * 16 + 8, off[i]);
		put_be32(b + 8 + i * 16 + 12, e[i].count);
		memcpy(b + 8 + n * 16 + off[i], e[i].data, e[i].len);
	}
	return b;
}

static uint8_t *
hdr_package(const char *name, const char *ver, const char *rel, int epoch,
    const char *srpm, size_t *len)
{
	uint8_t			 ep[4];
	struct hdr_entry	 e[6];
	size_t			 n = 0;

	put_be32(ep, (uint32_t)epoch);
	e[n++] = (struct hdr_entry){ 1000, 6, name, (uint32_t)strlen(name) + 1,
	    1 };
	e[n++] = (struct hdr_entry){ 1001, 6, ver, (uint32_t)strlen(ver) + 1,
	    1 };
	e[n++] = (struct hdr_entry){ 1002, 6, rel, (uint32_t)strlen(rel) + 1,
	    1 };
	if (epoch >= 0)
		e[n++] = (struct hdr_entry){ 1003, 4, ep, 4, 1 };
	e[n++] = (struct hdr_entry){ 1022, 6, "x86_64", 7, 1 };
	if (srpm != NULL)
		e[n++] = (struct hdr_entry){ 1044, 6, srpm,
		    (uint32_t)strlen(srpm) + 1, 1 };
	return hdr_build(e, n, len);
}

static void
test_rpm_header(void)
{
	struct scan_pkglist	 l = { 0 };
	const struct scan_package *p;
	uint8_t			*b;
	size_t			 len, i;

	b = hdr_package("openssl-libs", "3.0.7", "25.el9_3", 1,
	    "openssl-3.0.7-25.el9_3.src.rpm", &len);
	CU_ASSERT_EQUAL(scan_rpm_header_parse(b, len, &l), 1);
	p = must_find(&l, "openssl-libs");
	CU_ASSERT(streq(p->version, "1:3.0.7-25.el9_3"));
	CU_ASSERT(streq(p->source, "openssl"));
	CU_ASSERT(streq(p->source_version, "1:3.0.7-25.el9_3"));
	CU_ASSERT(streq(p->arch, "x86_64"));
	CU_ASSERT_EQUAL(p->eco, SCAN_ECO_RPM);
	/* Every truncation and a length that disagrees are refused. */
	for (i = 0; i < len; i++)
		CU_ASSERT_EQUAL(scan_rpm_header_parse(b, i, &l), -1);
	b[7]++;
	CU_ASSERT_EQUAL(scan_rpm_header_parse(b, len, &l), -1);
	b[7]--;
	/* An offset past the store. */
	b[8 + 8 + 3] = 0xff;
	CU_ASSERT_EQUAL(scan_rpm_header_parse(b, len, &l), 0);
	free(b);

	b = hdr_package("gpg-pubkey", "fd431d51", "4ae0493b", -1, NULL, &len);
	CU_ASSERT_EQUAL(scan_rpm_header_parse(b, len, &l), 0);
	free(b);
	b = hdr_package("bash", "5.1.8", "6.el9_1", -1,
	    "bash-5.1.8-6.el9_1.src.rpm", &len);
	CU_ASSERT_EQUAL(scan_rpm_header_parse(b, len, &l), 1);
	p = must_find(&l, "bash");
	CU_ASSERT(streq(p->version, "5.1.8-6.el9_1"));
	CU_ASSERT(streq(p->source_version, "5.1.8-6.el9_1"));
	free(b);
	CU_ASSERT_EQUAL(l.len, 2);
	scan_pkglist_clear(&l);
}

/* An rpmdb.sqlite as rpm creates it (WAL mode), read from memory. */
static void
test_rpmdb(void)
{
	struct scan_pkglist	 l = { 0 };
	sqlite3			*db;
	sqlite3_stmt		*st;
	char			*dir, *path, *data;
	uint8_t			*b;
	size_t			 len;
	FILE			*f;
	long			 size;
	int			 i;

	dir = unit_tmpdir();
	xasprintf(&path, "%s/rpmdb.sqlite", dir);
	CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
	CU_ASSERT(sqlite3_exec(db, "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " blob BLOB NOT NULL);", NULL, NULL, NULL) == SQLITE_OK);
	CU_ASSERT(sqlite3_prepare_v2(db, "INSERT INTO Packages (blob) "
	    "VALUES (?)", -1, &st, NULL) == SQLITE_OK);
	for (i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "pkg%d", i);
		b = hdr_package(name, "1.0", "1.el9", i == 0 ? -1 : i, NULL,
		    &len);
		sqlite3_bind_blob(st, 1, b, (int)len, SQLITE_TRANSIENT);
		CU_ASSERT(sqlite3_step(st) == SQLITE_DONE);
		sqlite3_reset(st);
		free(b);
	}
	sqlite3_finalize(st);
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	data = xmalloc((size_t)size);
	CU_ASSERT(fread(data, 1, (size_t)size, f) == (size_t)size);
	fclose(f);
	CU_ASSERT_EQUAL(data[18], 2);		/* rpm's WAL mode */
	CU_ASSERT_EQUAL(scan_rpmdb_parse((uint8_t *)data, (size_t)size, &l),
	    3);
	CU_ASSERT_PTR_NOT_NULL(find(&l, "pkg0"));
	CU_ASSERT(find(&l, "pkg2") != NULL &&
	    streq(find(&l, "pkg2")->version, "2:1.0-1.el9"));
	scan_pkglist_clear(&l);
	/* Damage: truncated, not sqlite, no Packages table. */
	CU_ASSERT_EQUAL(scan_rpmdb_parse((uint8_t *)data, 4096, &l), -1);
	memset(data, 'x', 16);
	CU_ASSERT_EQUAL(scan_rpmdb_parse((uint8_t *)data, (size_t)size, &l),
	    -1);
	free(data);
	unlink(path);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

static void
test_pkglist(void)
{
	struct scan_pkglist	 l = { 0 };
	char			 big[SCAN_FIELD_MAX + 1];

	CU_ASSERT_EQUAL(scan_pkglist_add(&l, SCAN_ECO_APK, "b", "1", NULL,
	    NULL, NULL), 0);
	CU_ASSERT_EQUAL(scan_pkglist_add(&l, SCAN_ECO_APK, "a", "1", NULL,
	    NULL, NULL), 0);
	CU_ASSERT_EQUAL(scan_pkglist_add(&l, SCAN_ECO_APK, "b", "1", NULL,
	    NULL, NULL), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(scan_pkglist_add(&l, SCAN_ECO_APK, big, "1", NULL,
	    NULL, NULL), -1);
	CU_ASSERT_EQUAL(scan_pkglist_add(&l, SCAN_ECO_APK, "c", "", NULL,
	    NULL, NULL), -1);
	CU_ASSERT_EQUAL(scan_pkglist_add(&l, SCAN_ECO_APK, "c\xc3\xa9", "1",
	    NULL, NULL, NULL), -1);
	scan_pkglist_sort(&l);
	CU_ASSERT_EQUAL_FATAL(l.len, 2);
	CU_ASSERT_STRING_EQUAL(l.v[0].name, "a");
	CU_ASSERT_STRING_EQUAL(l.v[1].name, "b");
	scan_pkglist_clear(&l);
}

int
test_scan_pkgdb_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("scan_pkgdb", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "dpkg status", test_dpkg_status) == NULL ||
	    CU_add_test(s, "apk installed", test_apk_installed) == NULL ||
	    CU_add_test(s, "os-release", test_os_release) == NULL ||
	    CU_add_test(s, "rpm header", test_rpm_header) == NULL ||
	    CU_add_test(s, "rpmdb.sqlite", test_rpmdb) == NULL ||
	    CU_add_test(s, "package list", test_pkglist) == NULL)
		return -1;
	return 0;
}
