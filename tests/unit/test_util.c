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

#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "unit.h"

static void
test_util_hex(void)
{
	static const uint8_t bin[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	uint8_t	 out[8];
	char	 hex[16];

	memset(hex, 'z', sizeof(hex));
	hex_encode(bin, sizeof(bin), hex);
	CU_ASSERT_STRING_EQUAL(hex, "00017f80abff");
	hex_encode(bin, 0, hex);
	CU_ASSERT_STRING_EQUAL(hex, "");

	memset(out, 0xee, sizeof(out));
	CU_ASSERT_EQUAL(hex_decode("00017f80abff", 12, out), 0);
	CU_ASSERT_EQUAL(memcmp(out, bin, sizeof(bin)), 0);
	CU_ASSERT_EQUAL(out[6], 0xee);		/* nothing written past n/2 */
	CU_ASSERT_EQUAL(hex_decode("", 0, out), 0);
	CU_ASSERT_EQUAL(hex_decode("0", 1, out), -1);
	CU_ASSERT_EQUAL(hex_decode("abc", 3, out), -1);
	CU_ASSERT_EQUAL(hex_decode("0g", 2, out), -1);
	CU_ASSERT_EQUAL(hex_decode("g0", 2, out), -1);
	CU_ASSERT_EQUAL(hex_decode("00 1", 4, out), -1);
	CU_ASSERT_EQUAL(hex_decode("0x01", 4, out), -1);
	CU_ASSERT_EQUAL(hex_decode("\0\0", 2, out), -1);
	/* Only n characters are read. */
	CU_ASSERT_EQUAL(hex_decode("12zz", 2, out), 0);
	CU_ASSERT_EQUAL(out[0], 0x12);
}

static void
test_util_uuid(void)
{
	static const uint8_t b[UUID_LEN] = { 0x01, 0x23, 0x45, 0x67, 0x89,
	    0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
	uint8_t	 out[UUID_LEN];
	char	 s[UUID_STR_LEN];

	uuid_format(b, s);
	CU_ASSERT_STRING_EQUAL(s, "01234567-89ab-cdef-fedc-ba9876543210");
	memset(out, 0, sizeof(out));
	CU_ASSERT_EQUAL(uuid_parse(s, out), 0);
	CU_ASSERT_EQUAL(memcmp(out, b, sizeof(b)), 0);
	/* Either case is read; the form is always written lower-case. */
	memset(out, 0, sizeof(out));
	CU_ASSERT_EQUAL(uuid_parse("01234567-89AB-CDEF-FEDC-BA9876543210",
	    out), 0);
	CU_ASSERT_EQUAL(memcmp(out, b, sizeof(b)), 0);
	CU_ASSERT_EQUAL(uuid_parse("0123456789abcdeffedcba9876543210", out),
	    -1);
	CU_ASSERT_EQUAL(uuid_parse("01234567-89ab-cdef-fedc-ba987654321", out),
	    -1);
	CU_ASSERT_EQUAL(uuid_parse("01234567-89ab-cdef-fedc-ba98765432100",
	    out), -1);
	CU_ASSERT_EQUAL(uuid_parse("01234567+89ab-cdef-fedc-ba9876543210",
	    out), -1);
	CU_ASSERT_EQUAL(uuid_parse("0123456g-89ab-cdef-fedc-ba9876543210",
	    out), -1);
	CU_ASSERT_EQUAL(uuid_parse("", out), -1);
}

static const struct {
	const char	*plain, *b64;
} b64_vectors[] = {	/* RFC 4648, section 10 */
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_util_base64(void)
{
	static const uint8_t all[] = { 0x00, 0x10, 0x83, 0x10, 0x51, 0x87,
	    0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f, 0x41, 0x14, 0x93, 0x51, 0x55,
	    0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f, 0x82, 0x18, 0xa3, 0x92,
	    0x59, 0xa7, 0xa2, 0x9a, 0xab, 0xb2, 0xdb, 0xaf, 0xc3, 0x1c, 0xb3,
	    0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf };
	char	 enc[80];
	uint8_t	 dec[64];
	size_t	 i, n;
	ssize_t	 r;

	for (i = 0; i < sizeof(b64_vectors) / sizeof(b64_vectors[0]); i++) {
		const char *p = b64_vectors[i].plain, *e = b64_vectors[i].b64;

		n = strlen(p);
		CU_ASSERT_EQUAL(base64_encoded_len(n), strlen(e));
		memset(enc, 'z', sizeof(enc));
		CU_ASSERT_EQUAL(base64_encode((const uint8_t *)p, n, enc),
		    strlen(e));
		CU_ASSERT_STRING_EQUAL(enc, e);

		memset(dec, 0xee, sizeof(dec));
		r = base64_decode(e, strlen(e), dec, sizeof(dec));
		CU_ASSERT_EQUAL(r, (ssize_t)n);
		CU_ASSERT_EQUAL(memcmp(dec, p, n), 0);
		CU_ASSERT_EQUAL(dec[n], 0xee);
		/* An output buffer of exactly the decoded size is enough. */
		r = base64_decode(e, strlen(e), dec, n);
		CU_ASSERT_EQUAL(r, (ssize_t)n);
		/* One byte less is not. */
		if (n > 0) {
			CU_ASSERT_EQUAL(base64_decode(e, strlen(e), dec, n - 1),
			    -1);
		}
	}

	/* Every one of the 64 characters, both ways. */
	n = base64_encode(all, sizeof(all), enc);
	CU_ASSERT_EQUAL(n, 64);
	CU_ASSERT_STRING_EQUAL(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	    "opqrstuvwxyz0123456789+/");
	r = base64_decode(enc, n, dec, sizeof(dec));
	CU_ASSERT_EQUAL(r, (ssize_t)sizeof(all));
	CU_ASSERT_EQUAL(memcmp(dec, all, sizeof(all)), 0);
}

static void
test_util_base64_reject(void)
{
	static const char *const bad[] = {
		"Zg=", "Zg", "Z", "Zm9vY", "Zm9vYmF",	/* length % 4 */
		"Zg=a", "Z===", "====", "Zm=9",		/* misplaced '=' */
		"Zg==Zm9v", "Zm8=Zm9v", "=Zm9",
		"Zm9v\n", "Zm 9", "Zm9-", "Zm9_", "Zm9*",	/* bad chars */
		"Zm9vYmFy====",
	};
	uint8_t	 dec[32];
	size_t	 i;
	ssize_t	 r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = base64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec));
		CU_ASSERT_EQUAL(r, -1);
		if (r != -1)
			fprintf(stderr, "\n  base64 \"%s\" decoded: %zd\n",
			    bad[i], r);
	}
	/* A NUL inside n is a bad character. */
	CU_ASSERT_EQUAL(base64_decode("Zm\0v", 4, dec, sizeof(dec)), -1);
	/* Too small an output buffer: 6 bytes into 5 or 0. */
	CU_ASSERT_EQUAL(base64_decode("Zm9vYmFy", 8, dec, 5), -1);
	CU_ASSERT_EQUAL(base64_decode("Zm9v", 4, dec, 0), -1);
	CU_ASSERT_EQUAL(base64_decode("", 0, dec, 0), 0);
}

/* CRC-32C by its definition: reflected, polynomial 0x82f63b78. */
static uint32_t
crc32c_bits(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffff;
	int	 k;

	while (n-- > 0) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
	}
	return ~c;
}

static void
test_util_crc32c(void)
{
	static const uint8_t zeros[32];
	static const size_t lens[] = { 24575, 24576, 24577, 24583, 24584,
	    49151, 49152, 49160, 73728, 99999 };
	uint8_t	 buf[1000], *big;
	uint32_t c;
	size_t	 i;
	const char *s = "123456789";

	CU_ASSERT_EQUAL(crc32c(0, s, 9), 0xe3069283);
	CU_ASSERT_EQUAL(crc32c(0, "", 0), 0);
	/* RFC 3720, B.4: 32 bytes of zeros. */
	CU_ASSERT_EQUAL(crc32c(0, zeros, sizeof(zeros)), 0x8a9136aa);
	/* Incremental, in every split, equals one-shot. */
	for (i = 0; i <= 9; i++) {
		c = crc32c(0, s, i);
		c = crc32c(c, s + i, 9 - i);
		CU_ASSERT_EQUAL(c, 0xe3069283);
	}
	c = 0;
	for (i = 0; i < 9; i++)
		c = crc32c(c, s + i, 1);
	CU_ASSERT_EQUAL(c, 0xe3069283);
	CU_ASSERT_NOT_EQUAL(crc32c(0, "123456788", 9), 0xe3069283);
	/* Every length and alignment (the hardware path takes eight bytes
	 * at a time) against the definition, a bit at a time. */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (i = 0; i < 40; i++) {
		CU_ASSERT_EQUAL(crc32c(0, buf + i % 8, i), crc32c_bits(buf +
		    i % 8, i));
		CU_ASSERT_EQUAL(crc32c(0, buf + 3, sizeof(buf) - 3 - i),
		    crc32c_bits(buf + 3, sizeof(buf) - 3 - i));
	}
	/* Long buffers go in blocks of 8 KiB, three at a time: around
	 * their edges, and in two pieces whose first ends mid-block. */
	if ((big = malloc(100000)) == NULL)
		return;
	for (i = 0; i < 100000; i++)
		big[i] = (uint8_t)(i * 2654435761U >> 13);
	for (i = 0; i < nitems(lens); i++) {
		CU_ASSERT_EQUAL(crc32c(0, big + 1, lens[i]),
		    crc32c_bits(big + 1, lens[i]));
		c = crc32c(0, big, lens[i] / 3);
		CU_ASSERT_EQUAL(crc32c(c, big + lens[i] / 3,
		    lens[i] - lens[i] / 3), crc32c_bits(big, lens[i]));
	}
	free(big);
}

static void
test_util_parse_u64(void)
{
	static const struct {
		const char	*s;
		int		 rc;
		uint64_t	 v;
	} cases[] = {
		{ "0", 0, 0 },
		{ "7", 0, 7 },
		{ "0042", 0, 42 },
		{ "4294967296", 0, UINT64_C(4294967296) },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 },
		{ "18446744073709551620", -1, 0 },
		{ "99999999999999999999", -1, 0 },
		{ "184467440737095516150", -1, 0 },
		{ "", -1, 0 },
		{ "-1", -1, 0 },
		{ "+1", -1, 0 },
		{ " 1", -1, 0 },
		{ "1 ", -1, 0 },
		{ "1a", -1, 0 },
		{ "0x10", -1, 0 },
		{ "1.0", -1, 0 },
	};
	uint64_t v;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 12345;
		rc = parse_u64(cases[i].s, strlen(cases[i].s), &v);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0) {
			CU_ASSERT_EQUAL(v, cases[i].v);
		} else {
			CU_ASSERT_EQUAL(v, 12345);	/* untouched */
		}
		if (rc != cases[i].rc)
			fprintf(stderr, "\n  parse_u64 \"%s\": %d\n",
			    cases[i].s, rc);
	}
	/* Only n characters. */
	CU_ASSERT_EQUAL(parse_u64("123abc", 3, &v), 0);
	CU_ASSERT_EQUAL(v, 123);
	CU_ASSERT_EQUAL(parse_u64("123", 0, &v), -1);
}

static void
test_util_parse_duration(void)
{
	static const struct {
		const char	*s;
		int64_t		 v;
	} cases[] = {
		{ "10s", 10 }, { "5m", 300 }, { "2h", 7200 }, { "1d", 86400 },
		{ "42", 42 }, { "0", 0 }, { "0s", 0 }, { "90d", 7776000 },
		{ "", -1 }, { "s", -1 }, { "d", -1 }, { "10x", -1 },
		{ "10S", -1 }, { "10ms", -1 }, { "1h30m", -1 }, { "-5s", -1 },
		{ "+5s", -1 }, { " 5s", -1 }, { "5 s", -1 }, { "5.5h", -1 },
		{ "18446744073709551616", -1 },
		{ "106751991167301d", -1 },	/* overflows int64 seconds */
	};
	size_t	 i;
	int64_t	 v;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = parse_duration(cases[i].s);
		CU_ASSERT_EQUAL(v, cases[i].v);
		if (v != cases[i].v)
			fprintf(stderr, "\n  parse_duration \"%s\": %lld\n",
			    cases[i].s, (long long)v);
	}
}

static void
test_util_file_io(void)
{
	char	*dir, *path;
	uint8_t	 data[100000], back[100010];
	int	 fd;
	size_t	 i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i % 251);
	dir = unit_tmpdir();
	xasprintf(&path, "%s/file", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(fd != -1);

	CU_ASSERT_EQUAL(write_full(fd, data, sizeof(data)), 0);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_CUR), (off_t)sizeof(data));
	CU_ASSERT_EQUAL(write_full(fd, data, 0), 0);

	/* read_full stops at EOF and reports what it got. */
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_SET), 0);
	memset(back, 0, sizeof(back));
	CU_ASSERT_EQUAL(read_full(fd, back, sizeof(back)),
	    (ssize_t)sizeof(data));
	CU_ASSERT_EQUAL(memcmp(back, data, sizeof(data)), 0);
	CU_ASSERT_EQUAL(read_full(fd, back, 10), 0);

	/* pwrite_full/pread_full at an offset leave the file offset alone. */
	CU_ASSERT_EQUAL(lseek(fd, 5, SEEK_SET), 5);
	CU_ASSERT_EQUAL(pwrite_full(fd, "HELLO", 5, 1000), 0);
	CU_ASSERT_EQUAL(pwrite_full(fd, "TAIL", 4, sizeof(data)), 0);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_CUR), 5);
	memset(back, 0, sizeof(back));
	CU_ASSERT_EQUAL(pread_full(fd, back, 7, 999), 7);
	CU_ASSERT_EQUAL(back[0], data[999]);
	CU_ASSERT_EQUAL(memcmp(back + 1, "HELLO", 5), 0);
	CU_ASSERT_EQUAL(back[6], data[1005]);
	CU_ASSERT_EQUAL(pread_full(fd, back, 100, sizeof(data) - 2), 6);
	CU_ASSERT_EQUAL(memcmp(back + 2, "TAIL", 4), 0);
	CU_ASSERT_EQUAL(pread_full(fd, back, 100, sizeof(data) + 4), 0);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_CUR), 5);
	close(fd);

	/* Errors are reported, with errno. */
	fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd != -1);
	errno = 0;
	CU_ASSERT_EQUAL(write_full(fd, "x", 1), -1);
	CU_ASSERT_EQUAL(errno, EBADF);
	CU_ASSERT_EQUAL(pwrite_full(fd, "x", 1, 0), -1);
	close(fd);
	CU_ASSERT_EQUAL(read_full(fd, back, 1), -1);
	CU_ASSERT_EQUAL(errno, EBADF);
	CU_ASSERT_EQUAL(pread_full(fd, back, 1, 0), -1);

	free(path);
	unit_rmtree(dir);
	free(dir);
}

static void
test_util_mkdir_p(void)
{
	struct stat	 st;
	char		*dir, *path, *file;
	int		 fd;

	dir = unit_tmpdir();
	xasprintf(&path, "%s/a/b/c/d", dir);
	CU_ASSERT_EQUAL(mkdir_p(path, 0750), 0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
	/* Again: already there is fine. */
	CU_ASSERT_EQUAL(mkdir_p(path, 0750), 0);
	free(path);

	/* Trailing and doubled slashes. */
	xasprintf(&path, "%s/x//y/", dir);
	CU_ASSERT_EQUAL(mkdir_p(path, 0700), 0);
	free(path);
	xasprintf(&path, "%s/x/y", dir);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
	free(path);

	/* A regular file in the way, as a parent or as the target. */
	xasprintf(&file, "%s/file", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(fd != -1);
	close(fd);
	xasprintf(&path, "%s/file/sub", dir);
	errno = 0;
	CU_ASSERT_EQUAL(mkdir_p(path, 0700), -1);
	CU_ASSERT_EQUAL(errno, ENOTDIR);
	free(path);
	errno = 0;
	CU_ASSERT_EQUAL(mkdir_p(file, 0700), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	free(file);

	/* The empty path names nothing. */
	errno = 0;
	CU_ASSERT_EQUAL(mkdir_p("", 0700), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	/* "/" exists. */
	CU_ASSERT_EQUAL(mkdir_p("/", 0700), 0);

	unit_rmtree(dir);
	free(dir);
}

static void
test_util_anon_file(void)
{
	struct stat	 st;
	char		 back[16];
	int		 fd, flags;

	fd = anon_file("berth-unit");
	CU_ASSERT_FATAL(fd != -1);
	flags = fcntl(fd, F_GETFD);
	CU_ASSERT_TRUE(flags != -1 && (flags & FD_CLOEXEC));
	CU_ASSERT_EQUAL(write_full(fd, "anonymous", 9), 0);
	CU_ASSERT_EQUAL_FATAL(fstat(fd, &st), 0);
	CU_ASSERT_TRUE(S_ISREG(st.st_mode));
	CU_ASSERT_EQUAL(st.st_size, 9);
	memset(back, 0, sizeof(back));
	CU_ASSERT_EQUAL(pread_full(fd, back, sizeof(back), 0), 9);
	CU_ASSERT_STRING_EQUAL(back, "anonymous");
	close(fd);
}

static void
test_util_fd_flags(void)
{
	int	 p[2], flags;

	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_EQUAL(fd_set_nonblock(p[0]), 0);
	flags = fcntl(p[0], F_GETFL);
	CU_ASSERT_TRUE(flags != -1 && (flags & O_NONBLOCK));
	CU_ASSERT_EQUAL(fd_set_cloexec(p[0]), 0);
	flags = fcntl(p[0], F_GETFD);
	CU_ASSERT_TRUE(flags != -1 && (flags & FD_CLOEXEC));
	/* A non-blocking empty pipe: read_full reports the error. */
	errno = 0;
	CU_ASSERT_EQUAL(read_full(p[0], &flags, 1), -1);
	CU_ASSERT_EQUAL(errno, EAGAIN);
	close(p[0]);
	close(p[1]);
	CU_ASSERT_EQUAL(fd_set_nonblock(p[0]), -1);
	CU_ASSERT_EQUAL(fd_set_cloexec(p[0]), -1);
}

static void
test_util_alloc(void)
{
	char	*s;
	int	 n;

	s = xstrndup("abcdef", 3);
	CU_ASSERT_STRING_EQUAL(s, "abc");
	free(s);
	s = xstrndup("ab", 10);
	CU_ASSERT_STRING_EQUAL(s, "ab");
	free(s);
	n = xasprintf(&s, "%s-%d", "x", 42);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_STRING_EQUAL(s, "x-42");
	free(s);
	s = xcalloc(0, 0);	/* never NULL, even for nothing */
	CU_ASSERT_PTR_NOT_NULL(s);
	free(s);
}

int
test_util_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("util", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "hex", test_util_hex) == NULL ||
	    CU_add_test(s, "uuid", test_util_uuid) == NULL ||
	    CU_add_test(s, "base64 RFC 4648 vectors", test_util_base64) ==
	    NULL ||
	    CU_add_test(s, "base64 rejections", test_util_base64_reject) ==
	    NULL ||
	    CU_add_test(s, "crc32c", test_util_crc32c) == NULL ||
	    CU_add_test(s, "parse_u64", test_util_parse_u64) == NULL ||
	    CU_add_test(s, "parse_duration", test_util_parse_duration) ==
	    NULL ||
	    CU_add_test(s, "file i/o", test_util_file_io) == NULL ||
	    CU_add_test(s, "mkdir_p", test_util_mkdir_p) == NULL ||
	    CU_add_test(s, "anon_file", test_util_anon_file) == NULL ||
	    CU_add_test(s, "descriptor flags", test_util_fd_flags) == NULL ||
	    CU_add_test(s, "allocation helpers", test_util_alloc) == NULL)
		return -1;
	return 0;
}
