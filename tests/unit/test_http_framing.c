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
 * daemon/http_framing.c, the strict framing check run ahead of
 * http-parser: streams written as data, each read at once and a byte at
 * a time, with the verdict and where a refusal falls.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "http.h"
#include "http_priv.h"
#include "unit.h"

#define HEAD	"POST /x HTTP/1.1\r\nHost: h\r\n"
#define CHUNKED	HEAD "Transfer-Encoding: chunked\r\n\r\n"

struct framing_case {
	const char	*stream;
	int		 chunked;	/* how every head's body is framed */
	uint64_t	 length;
	int		 state;		/* at the end */
	const char	*bad_at;	/* refused: the bad byte and the rest */
};

static const struct framing_case framing_cases[] = {
	{ "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, HTTP_FRAMING_BETWEEN,
	    NULL },
	/* Empty lines before a request line (RFC 9112 2.2). */
	{ "\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0, 0, HTTP_FRAMING_BETWEEN,
	    NULL },
	{ "GET / HTTP/1.1\r\nHost: h\r\n", 0, 0, HTTP_FRAMING_IN_MESSAGE,
	    NULL },
	{ HEAD "Content-Length: 5\r\n\r\nhello" HEAD "Content-Length: 5\r\n"
	    "\r\nworld", 0, 5, HTTP_FRAMING_BETWEEN, NULL },
	{ HEAD "Content-Length: 5\r\n\r\nhel", 0, 5,
	    HTTP_FRAMING_IN_MESSAGE, NULL },
	{ CHUNKED "5\r\nhello\r\n0\r\n\r\n", 1, 0, HTTP_FRAMING_BETWEEN,
	    NULL },
	{ CHUNKED "5;a=b;c=\"d e\"\r\nhello\r\n00 ;x\r\nT: 1\r\nU: 2\r\n\r\n",
	    1, 0, HTTP_FRAMING_BETWEEN, NULL },
	{ CHUNKED "A \t\r\n0123456789\r\n0\r\n\r\n", 1, 0,
	    HTTP_FRAMING_BETWEEN, NULL },
	{ CHUNKED "7fffffffffffffff\r\n", 1, 0, HTTP_FRAMING_IN_MESSAGE,
	    NULL },
	{ CHUNKED "0000000000000000000000003\r\nabc\r\n0\r\n\r\n", 1, 0,
	    HTTP_FRAMING_BETWEEN, NULL },
	/* Two requests, the second chunked too. */
	{ CHUNKED "1\r\nx\r\n0\r\n\r\n" CHUNKED "0\r\n\r\n", 1, 0,
	    HTTP_FRAMING_BETWEEN, NULL },

	/* Any two bytes after chunk data used to do (issue 15). */
	{ CHUNKED "3\r\nabcXX4\r\ndefg\r\n0\r\n\r\n", 1, 0,
	    HTTP_FRAMING_BAD, "XX4\r\ndefg\r\n0\r\n\r\n" },
	{ CHUNKED "3\r\nabc\rX", 1, 0, HTTP_FRAMING_BAD, "X" },
	{ CHUNKED "3\r\nabc\n0\r\n\r\n", 1, 0, HTTP_FRAMING_BAD,
	    "\n0\r\n\r\n" },
	/* Bare LF, and CR without LF, in heads, sizes and trailers. */
	{ "GET / HTTP/1.1\nHost: h\n\n", 0, 0, HTTP_FRAMING_BAD,
	    "\nHost: h\n\n" },
	{ "GET / HTTP/1.1\r\nHost: h\n\r\n", 0, 0, HTTP_FRAMING_BAD,
	    "\n\r\n" },
	{ "GET / HTTP/1.1\r\nHost: h\r\n\n", 0, 0, HTTP_FRAMING_BAD, "\n" },
	{ "\nGET / HTTP/1.1\r\n\r\n", 0, 0, HTTP_FRAMING_BAD,
	    "\nGET / HTTP/1.1\r\n\r\n" },
	{ "GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", 0, 0, HTTP_FRAMING_BAD,
	    "\r\n" },
	{ "GET / HTTP/1.1\rHost: h\r\n\r\n", 0, 0, HTTP_FRAMING_BAD,
	    "Host: h\r\n\r\n" },
	{ CHUNKED "3\nabc\r\n", 1, 0, HTTP_FRAMING_BAD, "\nabc\r\n" },
	{ CHUNKED "3;x\nabc\r\n", 1, 0, HTTP_FRAMING_BAD, "\nabc\r\n" },
	{ CHUNKED "0\r\nT: 1\n\r\n", 1, 0, HTTP_FRAMING_BAD, "\n\r\n" },
	{ CHUNKED "0\r\n\n", 1, 0, HTTP_FRAMING_BAD, "\n" },
	/* obs-fold, and whitespace before the first field line. */
	{ "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 0, 0, HTTP_FRAMING_BAD,
	    " b\r\n\r\n" },
	{ "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 0, 0, HTTP_FRAMING_BAD,
	    "\tb\r\n\r\n" },
	{ "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 0, 0, HTTP_FRAMING_BAD,
	    " Host: h\r\n\r\n" },
	{ CHUNKED "0\r\nT: 1\r\n x\r\n\r\n", 1, 0, HTTP_FRAMING_BAD,
	    " x\r\n\r\n" },
	/* Chunk sizes. */
	{ CHUNKED "\r\n", 1, 0, HTTP_FRAMING_BAD, "\r\n" },
	{ CHUNKED ";x\r\n", 1, 0, HTTP_FRAMING_BAD, ";x\r\n" },
	{ CHUNKED "g\r\n", 1, 0, HTTP_FRAMING_BAD, "g\r\n" },
	{ CHUNKED "-1\r\n", 1, 0, HTTP_FRAMING_BAD, "-1\r\n" },
	{ CHUNKED "0x5\r\n", 1, 0, HTTP_FRAMING_BAD, "x5\r\n" },
	{ CHUNKED "5 5\r\n", 1, 0, HTTP_FRAMING_BAD, "5\r\n" },
	{ CHUNKED "8000000000000000\r\n", 1, 0, HTTP_FRAMING_BAD, "0\r\n" },
	{ CHUNKED "5;a\001\r\n", 1, 0, HTTP_FRAMING_BAD, "\001\r\n" },
	{ CHUNKED "5;a\177\r\n", 1, 0, HTTP_FRAMING_BAD, "\177\r\n" },
};

/*
 * Reads the stream in pieces of step bytes (0: at once), telling the check
 * of each head's body as berthd's parser would; returns the final state,
 * and in *stop where the check stopped for good.
 */
static int
framing_run(const struct framing_case *fc, size_t step, size_t *stop)
{
	struct http_framing	 f;
	size_t			 len = strlen(fc->stream), off = 0, n, want;

	memset(&f, 0, sizeof(f));
	while (off < len) {
		want = step == 0 || len - off < step ? len - off : step;
		n = http_framing_scan(&f, fc->stream + off, want);
		off += n;
		if (http_framing_state(&f) == HTTP_FRAMING_HEAD_END)
			http_framing_body(&f, fc->chunked, fc->length);
		else if (n < want)
			break;
	}
	*stop = off;
	return http_framing_state(&f);
}

static void
test_http_framing_cases(void)
{
	const struct framing_case *fc;
	size_t			 i, step, stop, want;
	int			 state;

	for (i = 0; i < nitems(framing_cases); i++) {
		fc = &framing_cases[i];
		want = strlen(fc->stream);
		if (fc->bad_at != NULL) {
			want -= strlen(fc->bad_at);
			CU_ASSERT_STRING_EQUAL(fc->stream + want, fc->bad_at);
		}
		for (step = 0; step < 4; step++) {
			state = framing_run(fc, step, &stop);
			if (state != fc->state || stop != want)
				fprintf(stderr, "\ncase %zu, step %zu: state "
				    "%d at %zu, not %d at %zu\n", i, step,
				    state, stop, fc->state, want);
			CU_ASSERT_EQUAL(state, fc->state);
			CU_ASSERT_EQUAL(stop, want);
		}
	}
}

/* Where a head ends, nothing after it is looked at until the body's
 * framing is known; a refusal says why and stays. */
static void
test_http_framing_stops(void)
{
	struct http_framing	 f;
	const char		*s = "GET / HTTP/1.1\r\n\r\n\nGET";

	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(http_framing_scan(&f, s, strlen(s)), 18);
	CU_ASSERT_EQUAL(http_framing_state(&f), HTTP_FRAMING_HEAD_END);
	CU_ASSERT_EQUAL(http_framing_scan(&f, s + 18, 4), 0);
	http_framing_body(&f, 0, 0);
	CU_ASSERT_EQUAL(http_framing_state(&f), HTTP_FRAMING_BETWEEN);
	CU_ASSERT_EQUAL(http_framing_scan(&f, s + 18, 4), 0);
	CU_ASSERT_EQUAL(http_framing_state(&f), HTTP_FRAMING_BAD);
	CU_ASSERT_STRING_EQUAL(f.error, "a bare LF");
	CU_ASSERT_EQUAL(http_framing_scan(&f, "x", 1), 0);
	CU_ASSERT_EQUAL(http_framing_state(&f), HTTP_FRAMING_BAD);

	/* Told of a body while not at the end of a head: out of step. */
	memset(&f, 0, sizeof(f));
	http_framing_body(&f, 1, 0);
	CU_ASSERT_EQUAL(http_framing_state(&f), HTTP_FRAMING_BAD);
}

/* A chunk-size line is bounded, extensions and all. */
static void
test_http_framing_long_line(void)
{
	struct http_framing	 f;
	char			 line[5000];

	memset(&f, 0, sizeof(f));
	CU_ASSERT_EQUAL(http_framing_scan(&f, CHUNKED, strlen(CHUNKED)),
	    strlen(CHUNKED));
	http_framing_body(&f, 1, 0);
	memset(line, 'e', sizeof(line));
	line[0] = '1';
	line[1] = ';';
	CU_ASSERT_EQUAL(http_framing_scan(&f, line, sizeof(line)), 4096);
	CU_ASSERT_EQUAL(http_framing_state(&f), HTTP_FRAMING_BAD);
	CU_ASSERT_STRING_EQUAL(f.error, "chunk-size line too long");
}

int
test_http_framing_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("http_framing", NULL, NULL)) == NULL ||
	    CU_add_test(s, "cases", test_http_framing_cases) == NULL ||
	    CU_add_test(s, "stops", test_http_framing_stops) == NULL ||
	    CU_add_test(s, "long_line", test_http_framing_long_line) == NULL)
		return -1;
	return 0;
}
