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

#include <sys/wait.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "unit.h"

static void
test_buf_roundtrip(void)
{
	struct wbuf	 w;
	struct rbuf	 r;
	const void	*p;
	char		*s;
	size_t		 len;

	wbuf_init(&w);
	wbuf_put_u8(&w, 0xab);
	wbuf_put_u32(&w, 0xdeadbeef);
	wbuf_put_u64(&w, UINT64_C(0x0123456789abcdef));
	wbuf_put_i64(&w, -2);
	wbuf_put_i64(&w, INT64_MIN);
	wbuf_put_bytes(&w, "xyz", 3);
	wbuf_put_str(&w, "hello");
	wbuf_put_str(&w, "");
	wbuf_put_str(&w, NULL);
	wbuf_put_bytes(&w, NULL, 0);
	wbuf_put_u8(&w, 0x7f);
	CU_ASSERT_EQUAL(w.len, 1 + 4 + 8 + 8 + 8 + 7 + 9 + 4 + 4 + 4 + 1);

	rbuf_init(&r, w.data, w.len);
	CU_ASSERT_EQUAL(rbuf_get_u8(&r), 0xab);
	CU_ASSERT_EQUAL(rbuf_get_u32(&r), 0xdeadbeef);
	CU_ASSERT_EQUAL(rbuf_get_u64(&r), UINT64_C(0x0123456789abcdef));
	CU_ASSERT_EQUAL(rbuf_get_i64(&r), -2);
	CU_ASSERT_EQUAL(rbuf_get_i64(&r), INT64_MIN);
	p = rbuf_get_bytes(&r, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT_EQUAL(memcmp(p, "xyz", 3), 0);
	s = rbuf_get_str(&r, 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "hello");
	free(s);
	s = rbuf_get_str(&r, 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
	s = rbuf_get_str(&r, 0);	/* an empty string fits max 0 */
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
	len = 99;
	p = rbuf_get_bytes(&r, &len);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(rbuf_get_u8(&r), 0x7f);
	CU_ASSERT_TRUE(rbuf_ok(&r));
	CU_ASSERT_EQUAL(r.left, 0);

	/* Reading one byte more is a short read. */
	CU_ASSERT_EQUAL(rbuf_get_u8(&r), 0);
	CU_ASSERT_FALSE(rbuf_ok(&r));
	wbuf_clear(&w);
	CU_ASSERT_PTR_NULL(w.data);
	CU_ASSERT_EQUAL(w.len, 0);
	CU_ASSERT_EQUAL(w.cap, 0);
}

static void
test_buf_layout(void)
{
	static const uint8_t want[] = {
		0x04, 0x03, 0x02, 0x01,				/* u32 */
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,	/* u64 */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* i64 -1 */
		0x02, 0x00, 0x00, 0x00, 'h', 'i',		/* str */
	};
	struct wbuf	 w;

	wbuf_init(&w);
	wbuf_put_u32(&w, 0x01020304);
	wbuf_put_u64(&w, UINT64_C(0x0102030405060708));
	wbuf_put_i64(&w, -1);
	wbuf_put_str(&w, "hi");
	CU_ASSERT_EQUAL_FATAL(w.len, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(w.data, want, sizeof(want)), 0);
	wbuf_clear(&w);
}

static void
test_buf_grow_and_reset(void)
{
	struct wbuf	 w;
	uint8_t		 big[5000];
	size_t		 i;
	uint8_t		*old;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	wbuf_init(&w);
	for (i = 0; i < 300; i++)
		wbuf_put_u8(&w, (uint8_t)i);
	wbuf_put(&w, big, sizeof(big));
	CU_ASSERT_EQUAL_FATAL(w.len, 300 + sizeof(big));
	CU_ASSERT_TRUE(w.cap >= w.len);
	for (i = 0; i < 300; i++)
		CU_ASSERT_EQUAL(w.data[i], (uint8_t)i);
	CU_ASSERT_EQUAL(memcmp(w.data + 300, big, sizeof(big)), 0);

	old = w.data;
	wbuf_reset(&w);
	CU_ASSERT_EQUAL(w.len, 0);
	CU_ASSERT_PTR_EQUAL(w.data, old);	/* memory is kept */
	wbuf_put_u32(&w, 7);
	CU_ASSERT_EQUAL(w.len, 4);
	CU_ASSERT_EQUAL(w.data[0], 7);
	wbuf_clear(&w);
	wbuf_clear(&w);		/* clearing twice is harmless */
}

static void
test_buf_patch(void)
{
	struct wbuf	 w;
	struct rbuf	 r;
	size_t		 off;

	wbuf_init(&w);
	wbuf_put_u8(&w, 1);
	off = w.len;
	wbuf_put_u32(&w, 0);		/* placeholder */
	wbuf_put_str(&w, "abc");
	wbuf_put_u32(&w, 0);		/* another, at the very end */
	wbuf_patch_u32(&w, off, 0xa1b2c3d4);
	CU_ASSERT_EQUAL(w.data[1], 0xd4);
	CU_ASSERT_EQUAL(w.data[2], 0xc3);
	CU_ASSERT_EQUAL(w.data[3], 0xb2);
	CU_ASSERT_EQUAL(w.data[4], 0xa1);
	/* The last four bytes of the buffer may be patched too. */
	wbuf_patch_u32(&w, w.len - 4, 0x00636261);
	rbuf_init(&r, w.data, w.len);
	CU_ASSERT_EQUAL(rbuf_get_u8(&r), 1);
	CU_ASSERT_EQUAL(rbuf_get_u32(&r), 0xa1b2c3d4);
	CU_ASSERT_EQUAL(rbuf_get_u32(&r), 3);
	CU_ASSERT_EQUAL(memcmp(rbuf_get_raw(&r, 3), "abc", 3), 0);
	CU_ASSERT_EQUAL(rbuf_get_u32(&r), 0x00636261);
	CU_ASSERT_TRUE(rbuf_ok(&r));
	wbuf_clear(&w);
}

/* Runs wbuf_patch_u32 at off in a child; returns its wait status. */
static int
patch_in_child(size_t off)
{
	struct wbuf	 w;
	pid_t		 pid;
	int		 status;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		close(STDERR_FILENO);	/* fatalx's message is expected */
		wbuf_init(&w);
		wbuf_put_u32(&w, 0);
		wbuf_put_u32(&w, 0);
		wbuf_patch_u32(&w, off, 1);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	return status;
}

static void
test_buf_patch_range(void)
{
	int	 status;

	status = patch_in_child(4);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Out of range: fatalx, which exits 1, not a wild write. */
	status = patch_in_child(5);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	status = patch_in_child(SIZE_MAX - 1);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

static void
test_buf_short_reads(void)
{
	static const uint8_t data[] = { 1, 2, 3, 4, 5, 6, 7 };
	struct rbuf	 r;
	size_t		 len = 42;

	/* A u64 needs eight bytes: seven are a short read. */
	rbuf_init(&r, data, sizeof(data));
	CU_ASSERT_EQUAL(rbuf_get_u64(&r), 0);
	CU_ASSERT_FALSE(rbuf_ok(&r));

	/* The error is sticky: later reads that would fit return zeros. */
	rbuf_init(&r, data, sizeof(data));
	CU_ASSERT_EQUAL(rbuf_get_u32(&r), 0x04030201);
	CU_ASSERT_EQUAL(rbuf_get_u32(&r), 0);		/* 3 left */
	CU_ASSERT_FALSE(rbuf_ok(&r));
	CU_ASSERT_EQUAL(rbuf_get_u8(&r), 0);
	CU_ASSERT_EQUAL(rbuf_get_u32(&r), 0);
	CU_ASSERT_EQUAL(rbuf_get_i64(&r), 0);
	CU_ASSERT_PTR_NULL(rbuf_get_raw(&r, 1));
	CU_ASSERT_PTR_NULL(rbuf_get_bytes(&r, &len));
	CU_ASSERT_EQUAL(len, 42);
	CU_ASSERT_PTR_NULL(rbuf_get_str(&r, 10));
	CU_ASSERT_FALSE(rbuf_ok(&r));

	/* Nothing at all. */
	rbuf_init(&r, data, 0);
	CU_ASSERT_TRUE(rbuf_ok(&r));
	CU_ASSERT_EQUAL(rbuf_get_u8(&r), 0);
	CU_ASSERT_FALSE(rbuf_ok(&r));

	/* rbuf_init clears the error. */
	rbuf_init(&r, data, sizeof(data));
	CU_ASSERT_TRUE(rbuf_ok(&r));
	CU_ASSERT_EQUAL(rbuf_get_u8(&r), 1);
	CU_ASSERT_PTR_EQUAL(rbuf_get_raw(&r, 6), data + 1);
	CU_ASSERT_EQUAL(r.left, 0);
	CU_ASSERT_TRUE(rbuf_ok(&r));
}

static void
test_buf_length_prefix(void)
{
	struct wbuf	 w;
	struct rbuf	 r;
	size_t		 len = 42;
	uint8_t		*copy;

	/* A prefix of 5 followed by only 4 bytes: fails, reads nothing. */
	wbuf_init(&w);
	wbuf_put_u32(&w, 5);
	wbuf_put(&w, "abcd", 4);
	/* An exact-size heap copy so that ASan catches a read past the end. */
	copy = malloc(w.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	memcpy(copy, w.data, w.len);
	rbuf_init(&r, copy, w.len);
	CU_ASSERT_PTR_NULL(rbuf_get_bytes(&r, &len));
	CU_ASSERT_EQUAL(len, 42);
	CU_ASSERT_FALSE(rbuf_ok(&r));
	rbuf_init(&r, copy, w.len);
	CU_ASSERT_PTR_NULL(rbuf_get_str(&r, 100));
	CU_ASSERT_FALSE(rbuf_ok(&r));
	free(copy);

	/* A huge prefix: no overflow in the bounds check. */
	wbuf_reset(&w);
	wbuf_put_u32(&w, UINT32_MAX);
	wbuf_put(&w, "abcd", 4);
	rbuf_init(&r, w.data, w.len);
	CU_ASSERT_PTR_NULL(rbuf_get_bytes(&r, &len));
	CU_ASSERT_FALSE(rbuf_ok(&r));

	/* A prefix cut short itself. */
	rbuf_init(&r, w.data, 3);
	CU_ASSERT_PTR_NULL(rbuf_get_bytes(&r, &len));
	CU_ASSERT_FALSE(rbuf_ok(&r));
	wbuf_clear(&w);
}

static void
test_buf_str_checks(void)
{
	struct wbuf	 w;
	struct rbuf	 r;
	char		*s;

	/* An embedded NUL is refused. */
	wbuf_init(&w);
	wbuf_put_bytes(&w, "ab\0cd", 5);
	rbuf_init(&r, w.data, w.len);
	CU_ASSERT_PTR_NULL(rbuf_get_str(&r, 100));
	CU_ASSERT_FALSE(rbuf_ok(&r));

	/* A trailing NUL as well. */
	wbuf_reset(&w);
	wbuf_put_bytes(&w, "abc", 4);
	rbuf_init(&r, w.data, w.len);
	CU_ASSERT_PTR_NULL(rbuf_get_str(&r, 100));
	CU_ASSERT_FALSE(rbuf_ok(&r));

	/* Longer than max is refused; exactly max is accepted. */
	wbuf_reset(&w);
	wbuf_put_str(&w, "abcdef");
	rbuf_init(&r, w.data, w.len);
	CU_ASSERT_PTR_NULL(rbuf_get_str(&r, 5));
	CU_ASSERT_FALSE(rbuf_ok(&r));
	rbuf_init(&r, w.data, w.len);
	s = rbuf_get_str(&r, 6);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "abcdef");
	CU_ASSERT_TRUE(rbuf_ok(&r));
	free(s);
	wbuf_clear(&w);
}

int
test_buf_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("buf", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "round trip", test_buf_roundtrip) == NULL ||
	    CU_add_test(s, "little-endian layout", test_buf_layout) == NULL ||
	    CU_add_test(s, "growth and reset", test_buf_grow_and_reset) ==
	    NULL ||
	    CU_add_test(s, "patch u32", test_buf_patch) == NULL ||
	    CU_add_test(s, "patch out of range", test_buf_patch_range) ==
	    NULL ||
	    CU_add_test(s, "short reads", test_buf_short_reads) == NULL ||
	    CU_add_test(s, "length prefix past end", test_buf_length_prefix) ==
	    NULL ||
	    CU_add_test(s, "string checks", test_buf_str_checks) == NULL)
		return -1;
	return 0;
}
