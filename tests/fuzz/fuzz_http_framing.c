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
 * libFuzzer target: the strict framing check (daemon/http_framing.c) and
 * http-parser against each other on one client stream, as berthd runs
 * them: the check a byte at a time, ahead; the parser in pieces (their
 * size from the first input byte), never past the check, telling it at
 * each head how the body is framed.  Wherever both accept the bytes they
 * must agree on where every request ends, for that is where the next one
 * would be read from (where they disagree on a head's end, berthd refuses
 * the request); and the check must give the same answer however the
 * stream is cut.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "util.h"
#include "../../daemon/http.h"
#include "../../daemon/http_priv.h"

#define ENDS_MAX	256

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* How the parser framed each body, in order. */
struct body_framing {
	int		 chunked;
	uint64_t	 length;
};

struct run {
	struct http_framing	 f;
	size_t			 f_ends[ENDS_MAX];	/* offsets after */
	size_t			 nf_ends;
	size_t			 p_ends[ENDS_MAX];
	size_t			 np_ends;
	struct body_framing	 bodies[ENDS_MAX];
	size_t			 nbodies;
	int			 completed;
};

static int
on_headers(http_parser *p)
{
	struct run	*r = p->data;
	int		 chunked = (p->flags & F_CHUNKED) != 0;
	uint64_t	 length = 0;

	if (!chunked && p->content_length != UINT64_MAX)
		length = p->content_length;
	/* berthd refuses what it could not read on (see http_parse.c). */
	if (length > INT64_MAX || (p->upgrade && (chunked || length > 0)) ||
	    r->nbodies == ENDS_MAX)
		return -1;
	r->bodies[r->nbodies].chunked = chunked;
	r->bodies[r->nbodies++].length = length;
	http_framing_body(&r->f, chunked, length);
	/* A head the check does not see ending here: refused. */
	return http_framing_state(&r->f) == HTTP_FRAMING_BAD ? -1 : 0;
}

static int
on_complete(http_parser *p)
{
	struct run	*r = p->data;

	r->completed = 1;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_headers_complete = on_headers,
	.on_message_complete = on_complete,
};

static void
note(size_t *ends, size_t *n, size_t at)
{
	if (*n < ENDS_MAX)
		ends[(*n)++] = at;
}

static int
has(const size_t *ends, size_t n, size_t at)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (ends[i] == at)
			return 1;
	return 0;
}

/* The check alone, in pieces of cut bytes, told of the bodies as the
 * parser framed them; returns its state, and in *stop where it stopped. */
static int
check_alone(const uint8_t *data, size_t size, size_t cut,
    const struct run *ref, size_t *stop)
{
	struct http_framing	 f;
	size_t			 off = 0, n, want, k = 0;

	memset(&f, 0, sizeof(f));
	while (off < size) {
		want = size - off < cut ? size - off : cut;
		n = http_framing_scan(&f, (const char *)data + off, want);
		off += n;
		if (http_framing_state(&f) == HTTP_FRAMING_HEAD_END) {
			if (k == ref->nbodies)
				break;
			http_framing_body(&f, ref->bodies[k].chunked,
			    ref->bodies[k].length);
			k++;
		} else if (n < want)
			break;
	}
	*stop = off;
	return http_framing_state(&f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run	 r;
	http_parser		 p;
	enum http_errno		 err = HPE_OK;
	size_t			 cut, pos_f = 0, pos_p = 0, n, used, i, stop;
	int			 was, st;

	if (size == 0)
		return 0;
	cut = data[0] % 16 + 1;
	data++;
	size--;
	memset(&r, 0, sizeof(r));
	http_parser_init(&p, HTTP_REQUEST);
	p.data = &r;

	for (;;) {
		/* The check, a byte at a time, noting where requests end. */
		while (pos_f < size) {
			was = http_framing_state(&r.f);
			if (was == HTTP_FRAMING_HEAD_END ||
			    was == HTTP_FRAMING_BAD)
				break;
			if (http_framing_scan(&r.f, (const char *)data + pos_f,
			    1) != 1)
				break;
			pos_f++;
			if (was == HTTP_FRAMING_IN_MESSAGE &&
			    http_framing_state(&r.f) == HTTP_FRAMING_BETWEEN)
				note(r.f_ends, &r.nf_ends, pos_f);
		}
		if (pos_p == pos_f)
			break;
		/* The parser, in pieces, never past the check. */
		n = pos_f - pos_p < cut ? pos_f - pos_p : cut;
		http_parser_pause(&p, 0);
		st = http_framing_state(&r.f);
		used = http_parser_execute(&p, &settings,
		    (const char *)data + pos_p, n);
		pos_p += used;
		/* A head without a body ends its request where it ends. */
		if (st == HTTP_FRAMING_HEAD_END &&
		    http_framing_state(&r.f) == HTTP_FRAMING_BETWEEN)
			note(r.f_ends, &r.nf_ends, pos_f);
		if (r.completed) {
			r.completed = 0;
			note(r.p_ends, &r.np_ends, pos_p);
		}
		err = HTTP_PARSER_ERRNO(&p);
		if (err != HPE_OK && err != HPE_PAUSED)
			break;	/* stricter than the check, or refused */
		if (err == HPE_OK && used != n)
			abort();
	}

	/* Where both went, they agree on every request's end... */
	for (i = 0; i < r.np_ends; i++)
		if (r.p_ends[i] <= pos_p && !has(r.f_ends, r.nf_ends,
		    r.p_ends[i]))
			abort();
	for (i = 0; i < r.nf_ends; i++)
		if (r.f_ends[i] <= pos_p && !has(r.p_ends, r.np_ends,
		    r.f_ends[i]))
			abort();
	/* A head whose end the parser did not see there is refused too
	 * ("out of step"). */
	if ((err != HPE_OK && err != HPE_PAUSED) ||
	    http_framing_state(&r.f) == HTTP_FRAMING_HEAD_END)
		return 0;
	/* ...and the check's verdict does not depend on how the stream is
	 * cut. */
	if (check_alone(data, size, cut, &r, &stop) !=
	    http_framing_state(&r.f) || stop != pos_f)
		abort();
	return 0;
}
