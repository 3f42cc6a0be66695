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
 * daemon/scan_layer.c: layers written here with libarchive's writer
 * (tar, gzip and zstd), read back through the merged view: whiteouts,
 * opaque directories, links over directories, and the layers an attacker
 * would send (paths with "..", truncated or corrupt data, bombs and huge
 * entries) failing the scan with a reason.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <isa-l.h>

#include "scan.h"
#include "util.h"
#include "unit.h"

/* One entry: a regular file with content, a directory ("/" at the end
 * of its path), or a symbolic link (link set). */
struct entry {
	const char	*path;
	const char	*content;
	const char	*link;
	size_t		 zeros;		/* extra zero bytes after content */
};

enum { PLAIN, GZIP, ZSTD };

static ssize_t
write_cb(struct archive *a, void *arg, const void *buf, size_t n)
{
	return write_full(*(int *)arg, buf, n) == 0 ? (ssize_t)n : -1;
}

/* A layer in a memfd, positioned at its start. */
static int
layer_make(int filter, const struct entry *e, size_t n)
{
	struct archive		*a;
	struct archive_entry	*ae;
	static char		 zeros[65536];
	size_t			 i, left, len;
	int			 fd;

	fd = anon_file("layer");
	CU_ASSERT_FATAL(fd != -1);
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (filter == GZIP)
		archive_write_add_filter_gzip(a);
	else if (filter == ZSTD)
		archive_write_add_filter_zstd(a);
	archive_write_set_bytes_in_last_block(a, 1);
	CU_ASSERT_FATAL(archive_write_open(a, &fd, NULL, write_cb, NULL) ==
	    ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].path);
		len = strlen(e[i].path);
		if (e[i].link != NULL) {
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e[i].link);
			archive_entry_set_perm(ae, 0777);
		} else if (len > 0 && e[i].path[len - 1] == '/') {
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, 0755);
		} else {
			len = e[i].content != NULL ? strlen(e[i].content) : 0;
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_size(ae, (la_int64_t)(len +
			    e[i].zeros));
		}
		CU_ASSERT(archive_write_header(a, ae) == ARCHIVE_OK);
		if (e[i].content != NULL)
			archive_write_data(a, e[i].content,
			    strlen(e[i].content));
		for (left = e[i].zeros; left > 0; left -= len) {
			len = left < sizeof(zeros) ? left : sizeof(zeros);
			archive_write_data(a, zeros, len);
		}
		archive_entry_free(ae);
	}
	CU_ASSERT(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static const struct scan_limits limits = {
	.max_file = 1024 * 1024,
	.max_unpacked = 64 * 1024 * 1024,
	.max_entries = 10000,
	.threads = 1,
};

struct image {
	struct scan_layer	 layers[8];
	size_t			 n;
	struct scan_inventory	 inv;
	struct scan_stats	 stats;
	char			 why[SCAN_DESCRIPTION_MAX];
};

static void
image_add(struct image *img, int filter, const struct entry *e, size_t n)
{
	img->layers[img->n].fd = layer_make(filter, e, n);
	img->layers[img->n].media = filter == GZIP ? SCAN_MEDIA_TAR_GZIP :
	    filter == ZSTD ? SCAN_MEDIA_TAR_ZSTD : SCAN_MEDIA_TAR;
	img->n++;
}

static int
image_scan(struct image *img, const struct scan_limits *lim)
{
	size_t	 i;
	int	 st;

	st = scan_layers_read(img->layers, img->n, lim, &img->inv,
	    &img->stats, img->why, sizeof(img->why));
	for (i = 0; i < img->n; i++)
		close(img->layers[i].fd);
	return st;
}

static int
has(const struct image *img, const char *name, const char *version)
{
	size_t	 i;

	for (i = 0; i < img->inv.packages.len; i++)
		if (strcmp(img->inv.packages.v[i].name, name) == 0 &&
		    (version == NULL ||
		    strcmp(img->inv.packages.v[i].version, version) == 0))
			return 1;
	return 0;
}

/* Scans the image; the status and a phrase of the reason must be these.
 * The image is emptied for the next one. */
static void
expect(struct image *img, const struct scan_limits *lim, int status,
    const char *words)
{
	CU_ASSERT_EQUAL(image_scan(img, lim), status);
	CU_ASSERT_PTR_NOT_NULL(strstr(img->why, words));
	scan_inventory_clear(&img->inv);
	img->n = 0;
}

#define DEBIAN	"ID=debian\nVERSION_ID=\"12\"\n"
#define STANZA(n, v) "Package: " n "\nStatus: install ok installed\n" \
	"Version: " v "\n\n"

static void
test_layers_debian(void)
{
	struct image	 img = { 0 };
	const struct entry l1[] = {
		{ "./", NULL, NULL, 0 },
		{ "./etc/", NULL, NULL, 0 },
		{ "./usr/lib/os-release", DEBIAN, NULL, 0 },
		{ "./etc/os-release", NULL, "../usr/lib/os-release", 0 },
		{ "./var/lib/dpkg/status", STANZA("libc6", "2.36-9") STANZA(
		    "zlib1g", "1:1.2.13.dfsg-1"), NULL, 0 },
		{ "./bin/big", "x", NULL, 200000 },
	};
	const struct entry l2[] = {
		{ "var/lib/dpkg/status", STANZA("libc6", "2.36-9+deb12u4")
		    STANZA("zlib1g", "1:1.2.13.dfsg-1") STANZA("curl",
		    "7.88.1-10+deb12u5"), NULL, 0 },
	};
	const struct entry l3[] = {
		{ "bin/.wh.big", "", NULL, 0 },
	};

	struct scan_limits threaded = limits;

	/* Read side by side, the layers' changes still apply in order. */
	threaded.threads = 3;
	image_add(&img, GZIP, l1, nitems(l1));
	image_add(&img, ZSTD, l2, nitems(l2));
	image_add(&img, PLAIN, l3, nitems(l3));
	CU_ASSERT_EQUAL(image_scan(&img, &threaded), SCAN_STATUS_COMPLETE);
	CU_ASSERT(img.inv.have_os);
	CU_ASSERT_STRING_EQUAL(img.inv.os.id, "debian");
	CU_ASSERT_EQUAL(img.inv.packages.len, 3);
	CU_ASSERT(has(&img, "libc6", "2.36-9+deb12u4"));
	CU_ASSERT(has(&img, "curl", NULL));
	CU_ASSERT(img.stats.unpacked > 200000);
	CU_ASSERT(img.stats.compressed > 0 &&
	    img.stats.compressed < img.stats.unpacked);
	scan_inventory_clear(&img.inv);
}

static void
test_layers_whiteouts(void)
{
	struct image	 img = { 0 };
	const struct entry base[] = {
		{ "etc/os-release", DEBIAN, NULL, 0 },
		{ "var/lib/dpkg/status.d/base", STANZA("base-files", "12.4"),
		    NULL, 0 },
		{ "var/lib/dpkg/status.d/libc6", STANZA("libc6", "2.36-9"),
		    NULL, 0 },
		{ "var/lib/dpkg/status.d/libc6.md5sums", "abc  lib/x\n",
		    NULL, 0 },
		{ "lib/apk/db/installed", "P:musl\nV:1.2.4-r2\n\n", NULL, 0 },
	};
	const struct entry opaque[] = {
		{ "var/lib/dpkg/status.d/", NULL, NULL, 0 },
		{ "var/lib/dpkg/status.d/.wh..wh..opq", "", NULL, 0 },
		{ "var/lib/dpkg/status.d/tzdata", STANZA("tzdata", "2024a"),
		    NULL, 0 },
		{ "lib/apk/db/.wh.installed", "", NULL, 0 },
	};
	const struct entry again[] = {
		{ "var/lib/dpkg/status.d/libc6", STANZA("libc6",
		    "2.36-9+deb12u4"), NULL, 0 },
	};

	struct scan_limits threaded = limits;
	int		 round;

	threaded.threads = 2;
	for (round = 0; round < 2; round++) {
		img.n = 0;
		image_add(&img, PLAIN, base, nitems(base));
		image_add(&img, GZIP, opaque, nitems(opaque));
		image_add(&img, PLAIN, again, nitems(again));
		CU_ASSERT_EQUAL(image_scan(&img, round == 0 ? &limits :
		    &threaded), SCAN_STATUS_COMPLETE);
		CU_ASSERT(has(&img, "tzdata", NULL));
		CU_ASSERT(has(&img, "libc6", "2.36-9+deb12u4"));
		CU_ASSERT(!has(&img, "libc6", "2.36-9"));
		CU_ASSERT(!has(&img, "base-files", NULL));
		CU_ASSERT(!has(&img, "musl", NULL));
		CU_ASSERT_EQUAL(img.inv.packages.len, 2);
		scan_inventory_clear(&img.inv);
	}
}

static void
test_layers_no_database(void)
{
	struct image	 img = { 0 };
	const struct entry base[] = {
		{ "etc/os-release", DEBIAN, NULL, 0 },
	};

	image_add(&img, PLAIN, base, nitems(base));
	CU_ASSERT_EQUAL(image_scan(&img, &limits), SCAN_STATUS_UNSUPPORTED);
	scan_inventory_clear(&img.inv);
}

static void
test_layers_links(void)
{
	struct image	 img = { 0 };
	const struct entry base[] = {
		{ "etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n", NULL,
		    0 },
		{ "lib/apk/db/installed", "P:musl\nV:1.2.4-r2\n\n", NULL, 0 },
		{ "var/lib/dpkg/status", STANZA("libc6", "2.36-9"), NULL, 0 },
	};
	/* A link where a directory was hides what was beneath it; a file
	 * that is a link is not followed. */
	const struct entry links[] = {
		{ "var/lib/dpkg", NULL, "/etc", 0 },
		{ "lib/apk/db/installed", NULL, "/etc/shadow", 0 },
	};

	image_add(&img, PLAIN, base, nitems(base));
	image_add(&img, PLAIN, links, nitems(links));
	expect(&img, &limits, SCAN_STATUS_UNSUPPORTED, "no package database");
}

static void
test_layers_unsupported(void)
{
	struct image	 img = { 0 };
	const struct entry scratch[] = {
		{ "app", "#!/bin/true\n", NULL, 0 },
	};
	const struct entry bdb[] = {
		{ "etc/os-release", "ID=centos\nVERSION_ID=7\n", NULL, 0 },
		{ "var/lib/rpm/Packages", "bdb", NULL, 0 },
	};

	image_add(&img, GZIP, scratch, nitems(scratch));
	expect(&img, &limits, SCAN_STATUS_UNSUPPORTED, "No operating system");
	image_add(&img, GZIP, bdb, nitems(bdb));
	expect(&img, &limits, SCAN_STATUS_UNSUPPORTED, "Berkeley DB");
	CU_ASSERT_EQUAL(image_scan(&img, &limits), SCAN_STATUS_UNSUPPORTED);
}

static void
test_layers_hostile(void)
{
	struct image		 img = { 0 };
	struct scan_limits	 small = limits;
	const struct entry dotdot[] = {
		{ "etc/os-release", DEBIAN, NULL, 0 },
		{ "var/lib/../../../etc/passwd", "x", NULL, 0 },
	};
	const struct entry zeros[] = {
		{ "etc/os-release", DEBIAN, NULL, 0 },
		{ "zeros", NULL, NULL, 8 * 1024 * 1024 },
	};
	const struct entry hugedb[] = {
		{ "var/lib/dpkg/status", STANZA("a", "1"), NULL, 2048 * 1024 },
	};
	const struct entry good[] = {
		{ "etc/os-release", DEBIAN, NULL, 0 },
		{ "var/lib/dpkg/status", STANZA("a", "1"), NULL, 0 },
		{ "filler", "y", NULL, 100000 },
	};
	struct entry	*many;
	char		 junk[4096], *names;
	struct stat	 sb;
	size_t		 i;
	int		 fd;

	image_add(&img, PLAIN, dotdot, nitems(dotdot));
	expect(&img, &limits, SCAN_STATUS_FAILED, "leaves the root");

	/* More bytes unpacked than allowed. */
	small.max_unpacked = 1024 * 1024;
	image_add(&img, ZSTD, zeros, nitems(zeros));
	expect(&img, &small, SCAN_STATUS_FAILED, "unpack to more than");

	/* A package database past the per-file limit. */
	image_add(&img, GZIP, hugedb, nitems(hugedb));
	expect(&img, &limits, SCAN_STATUS_FAILED, "larger than");

	/* Truncated gzip fails the scan with the layer named. */
	image_add(&img, GZIP, good, nitems(good));
	fd = img.layers[0].fd;
	CU_ASSERT(fstat(fd, &sb) == 0);
	CU_ASSERT(ftruncate(fd, sb.st_size / 2) == 0);
	expect(&img, &limits, SCAN_STATUS_FAILED, "Layer 1");

	/* Too many package database files. */
	many = xcalloc(10002, sizeof(*many));
	names = xcalloc(10002, 48);
	for (i = 0; i < 10002; i++) {
		snprintf(names + i * 48, 48, "var/lib/dpkg/status.d/p%zu", i);
		many[i].path = names + i * 48;
		many[i].content = "Package: p\nVersion: 1\n";
	}
	small = limits;
	small.max_entries = 20000;
	small.max_file = 16 << 20;
	image_add(&img, PLAIN, many, 10002);
	expect(&img, &small, SCAN_STATUS_FAILED, "package database files");
	free(many);
	free(names);

	/* Not an archive at all. */
	memset(junk, 'A', sizeof(junk));
	img.layers[0].fd = anon_file("junk");
	CU_ASSERT(write_full(img.layers[0].fd, junk, sizeof(junk)) == 0);
	lseek(img.layers[0].fd, 0, SEEK_SET);
	img.layers[0].media = SCAN_MEDIA_TAR_GZIP;
	img.n = 1;
	CU_ASSERT_EQUAL(image_scan(&img, &limits), SCAN_STATUS_FAILED);
	scan_inventory_clear(&img.inv);
}

/* One gzip member of [p, p + n) appended to fd. */
static void
gzip_member(int fd, const uint8_t *p, size_t n)
{
	struct isal_zstream	 z;
	uint8_t			*out = xmalloc(n + 4096);

	isal_deflate_init(&z);
	z.gzip_flag = IGZIP_GZIP;
	z.end_of_stream = 1;
	z.next_in = (uint8_t *)(uintptr_t)p;
	z.avail_in = (uint32_t)n;
	z.next_out = out;
	z.avail_out = (uint32_t)(n + 4096);
	CU_ASSERT(isal_deflate(&z) == COMP_OK);
	CU_ASSERT(write_full(fd, out, n + 4096 - z.avail_out) == 0);
	free(out);
}

/* gzip as ISA-L reads it: several members, trailing zeros, and a member
 * whose checksum is wrong. */
static void
test_layers_gzip(void)
{
	struct image	 img = { 0 };
	const struct entry base[] = {
		{ "etc/os-release", DEBIAN, NULL, 0 },
		{ "var/lib/dpkg/status", STANZA("libc6", "2.36-9"), NULL, 0 },
		{ "filler", "z", NULL, 300000 },
	};
	static const uint8_t zeros[1024];
	struct stat	 sb;
	uint8_t		*tar;
	int		 plain, fd;

	plain = layer_make(PLAIN, base, nitems(base));
	CU_ASSERT_FATAL(fstat(plain, &sb) == 0);
	tar = xmalloc((size_t)sb.st_size);
	CU_ASSERT(read_full(plain, tar, (size_t)sb.st_size) == sb.st_size);
	close(plain);

	/* The tar cut in three members, then zeros. */
	fd = anon_file("members");
	gzip_member(fd, tar, 1000);
	gzip_member(fd, tar + 1000, (size_t)sb.st_size / 2);
	gzip_member(fd, tar + 1000 + sb.st_size / 2,
	    (size_t)sb.st_size - 1000 - (size_t)sb.st_size / 2);
	CU_ASSERT(write_full(fd, zeros, sizeof(zeros)) == 0);
	lseek(fd, 0, SEEK_SET);
	img.layers[0].fd = fd;
	img.layers[0].media = SCAN_MEDIA_TAR_GZIP;
	img.n = 1;
	CU_ASSERT_EQUAL(image_scan(&img, &limits), SCAN_STATUS_COMPLETE);
	CU_ASSERT(has(&img, "libc6", "2.36-9"));
	CU_ASSERT(img.stats.unpacked == (uint64_t)sb.st_size);
	scan_inventory_clear(&img.inv);

	/* A wrong CRC in the last member's trailer. */
	fd = anon_file("crc");
	gzip_member(fd, tar, (size_t)sb.st_size);
	CU_ASSERT(fstat(fd, &sb) == 0);
	CU_ASSERT(pwrite(fd, "\xff", 1, sb.st_size - 8) == 1);
	lseek(fd, 0, SEEK_SET);
	img.layers[0].fd = fd;
	img.n = 1;
	expect(&img, &limits, SCAN_STATUS_FAILED, "checksum");
	free(tar);
}

int
test_scan_layer_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("scan_layer", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "debian layers", test_layers_debian) == NULL ||
	    CU_add_test(s, "whiteouts", test_layers_whiteouts) == NULL ||
	    CU_add_test(s, "no package database", test_layers_no_database) ==
	    NULL ||
	    CU_add_test(s, "links", test_layers_links) == NULL ||
	    CU_add_test(s, "unsupported", test_layers_unsupported) == NULL ||
	    CU_add_test(s, "hostile layers", test_layers_hostile) == NULL ||
	    CU_add_test(s, "gzip members", test_layers_gzip) == NULL)
		return -1;
	return 0;
}
