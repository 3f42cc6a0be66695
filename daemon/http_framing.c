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
 * A second, strict reading of how a client's byte stream is framed, run
 * ahead of http-parser, which is fed only the bytes it passed.  Debian
 * builds http-parser without HTTP_PARSER_STRICT: it takes any two bytes
 * for the CRLF after chunk data, a bare LF for the end of a line, a CR and
 * any byte for the end of a head, and a folded header line as more of the
 * value before it.  A proxy in front of berthd that reads such bytes
 * otherwise could be made to see other requests than berthd does.  So,
 * as RFC 9112 writes them: every line of a request head or a trailer
 * section ends with CRLF; no field line starts with whitespace (obs-fold,
 * or whitespace before the first field); a chunk is its size in hex, an
 * optional extension, CRLF, exactly that many bytes and CRLF; the last
 * chunk's trailer section ends with an empty line.  Empty lines before a
 * request line are allowed (RFC 9112 2.2).  The check knows nothing else
 * of HTTP: at the end of a head it stops until it is told how the body
 * is framed.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "util.h"
#include "http.h"
#include "http_priv.h"

/* The longest chunk-size line, extensions included, taken. */
#define FRAMING_LINE_MAX	4096

enum framing_state {
	FR_START,		/* before a request line, or empty lines */
	FR_START_CR,
	FR_LINE,		/* in a line of a head or a trailer section */
	FR_LINE_CR,
	FR_FIELD_START,		/* a field line, or the empty line ending all */
	FR_END_CR,
	FR_BODY_WAIT,		/* after a head, until http_framing_body() */
	FR_LENGTH,		/* in a body of known length */
	FR_CHUNK_SIZE,		/* in the hex digits of a chunk size */
	FR_CHUNK_WS,		/* whitespace after them */
	FR_CHUNK_EXT,		/* a chunk extension */
	FR_CHUNK_SIZE_CR,
	FR_CHUNK_DATA,
	FR_CHUNK_DATA_CR,
	FR_CHUNK_DATA_LF,
	FR_BAD
};

static int
framing_fail(struct http_framing *f, const char *why)
{
	f->state = FR_BAD;
	f->error = why;
	return -1;
}

/* The LF that must follow a CR, and where it leads. */
static int
framing_lf(struct http_framing *f, unsigned char c)
{
	if (c != '\n')
		return framing_fail(f, f->state == FR_CHUNK_DATA_LF ?
		    "chunk data not followed by CRLF" :
		    "a CR not followed by LF");
	switch (f->state) {
	case FR_START_CR:
		f->state = FR_START;
		break;
	case FR_LINE_CR:
		f->state = FR_FIELD_START;
		break;
	case FR_END_CR:
		f->state = f->trailer ? FR_START : FR_BODY_WAIT;
		f->trailer = 0;
		break;
	case FR_CHUNK_SIZE_CR:
		if (f->left == 0) {
			f->trailer = 1;
			f->state = FR_FIELD_START;
		} else
			f->state = FR_CHUNK_DATA;
		break;
	default:
		f->state = FR_CHUNK_SIZE;
		f->left = 0;
		f->line = 0;
		break;
	}
	return 0;
}

/* The chunk-size line: 1*HEXDIG [ BWS ] [ ";" extension ] CRLF. */
static int
framing_chunk_line(struct http_framing *f, unsigned char c)
{
	int	 d;

	if (++f->line > FRAMING_LINE_MAX)
		return framing_fail(f, "chunk-size line too long");
	if (c == '\n')
		return framing_fail(f, "a bare LF");
	if (f->state == FR_CHUNK_SIZE && (d = hex_digit_value(c)) != -1) {
		if (f->left > (uint64_t)INT64_MAX >> 4)
			return framing_fail(f, "chunk size too large");
		f->left = f->left << 4 | (uint64_t)d;
		return 0;
	}
	if (f->state == FR_CHUNK_SIZE && f->line == 1)
		return framing_fail(f, "malformed chunk size");
	if (c == '\r')
		f->state = FR_CHUNK_SIZE_CR;
	else if (f->state == FR_CHUNK_EXT) {
		if ((c < ' ' && c != '\t') || c == 127)
			return framing_fail(f,
			    "a control character in a chunk extension");
	} else if (c == ';')
		f->state = FR_CHUNK_EXT;
	else if (c == ' ' || c == '\t')
		f->state = FR_CHUNK_WS;
	else
		return framing_fail(f, "malformed chunk size");
	return 0;
}

static int
framing_byte(struct http_framing *f, unsigned char c)
{
	switch (f->state) {
	case FR_START:
		if (c == '\n')
			return framing_fail(f, "a bare LF");
		f->state = c == '\r' ? FR_START_CR : FR_LINE;
		return 0;
	case FR_LINE:
		if (c == '\n')
			return framing_fail(f, "a bare LF");
		if (c == '\r')
			f->state = FR_LINE_CR;
		return 0;
	case FR_FIELD_START:
		if (c == '\n')
			return framing_fail(f, "a bare LF");
		if (c == ' ' || c == '\t')
			return framing_fail(f, "a header line starting with "
			    "whitespace (obs-fold)");
		f->state = c == '\r' ? FR_END_CR : FR_LINE;
		return 0;
	case FR_START_CR:
	case FR_LINE_CR:
	case FR_END_CR:
	case FR_CHUNK_SIZE_CR:
	case FR_CHUNK_DATA_LF:
		return framing_lf(f, c);
	case FR_CHUNK_SIZE:
	case FR_CHUNK_WS:
	case FR_CHUNK_EXT:
		return framing_chunk_line(f, c);
	case FR_CHUNK_DATA_CR:
		if (c != '\r')
			return framing_fail(f,
			    "chunk data not followed by CRLF");
		f->state = FR_CHUNK_DATA_LF;
		return 0;
	default:
		return framing_fail(f, "the framing check is out of step");
	}
}

size_t
http_framing_scan(struct http_framing *f, const char *data, size_t len)
{
	const unsigned char	*p = (const unsigned char *)data, *cr, *lf;
	size_t			 i = 0, n;

	while (i < len) {
		switch (f->state) {
		case FR_BODY_WAIT:
		case FR_BAD:
			return i;
		case FR_LINE:
			/* Most of a head: skip to the line's CR at memchr's
			 * speed, refusing a bare LF on the way. */
			cr = memchr(p + i, '\r', len - i);
			n = cr != NULL ? (size_t)(cr - p) : len;
			if ((lf = memchr(p + i, '\n', n - i)) != NULL) {
				(void)framing_fail(f, "a bare LF");
				return (size_t)(lf - p);
			}
			if (cr != NULL) {
				f->state = FR_LINE_CR;
				n++;
			}
			i = n;
			continue;
		case FR_LENGTH:
		case FR_CHUNK_DATA:
			n = len - i < f->left ? len - i : (size_t)f->left;
			i += n;
			if ((f->left -= n) == 0)
				f->state = f->state == FR_LENGTH ? FR_START :
				    FR_CHUNK_DATA_CR;
			continue;
		default:
			break;
		}
		if (framing_byte(f, p[i]) == -1)
			return i;
		i++;
	}
	return i;
}

void
http_framing_body(struct http_framing *f, int chunked, uint64_t length)
{
	if (f->state != FR_BODY_WAIT) {
		(void)framing_fail(f, "the framing check is out of step");
		return;
	}
	f->left = 0;
	f->line = 0;
	if (chunked)
		f->state = FR_CHUNK_SIZE;
	else if (length > 0) {
		f->state = FR_LENGTH;
		f->left = length;
	} else
		f->state = FR_START;
}

int
http_framing_state(const struct http_framing *f)
{
	switch (f->state) {
	case FR_BAD:
		return HTTP_FRAMING_BAD;
	case FR_BODY_WAIT:
		return HTTP_FRAMING_HEAD_END;
	case FR_START:
	case FR_START_CR:
		return HTTP_FRAMING_BETWEEN;
	default:
		return HTTP_FRAMING_IN_MESSAGE;
	}
}
