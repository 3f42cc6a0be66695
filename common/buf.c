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
 * The bounded binary encoding of buf.h: a growable writer and a reader
 * with a sticky error flag, little-endian integers and u32-length strings.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "util.h"

void
wbuf_init(struct wbuf *w)
{
	memset(w, 0, sizeof(*w));
}

void
wbuf_clear(struct wbuf *w)
{
	free(w->data);
	memset(w, 0, sizeof(*w));
}

void
wbuf_reset(struct wbuf *w)
{
	w->len = 0;
}

static void
wbuf_reserve(struct wbuf *w, size_t n)
{
	size_t	 cap;

	if (w->cap - w->len >= n)
		return;
	cap = w->cap == 0 ? 256 : w->cap;
	while (cap - w->len < n) {
		if (cap > SIZE_MAX / 2)
			fatalx("wbuf too large");
		cap *= 2;
	}
	w->data = xreallocarray(w->data, cap, 1);
	w->cap = cap;
}

void
wbuf_put(struct wbuf *w, const void *p, size_t n)
{
	if (n == 0)
		return;
	wbuf_reserve(w, n);
	memcpy(w->data + w->len, p, n);
	w->len += n;
}

void
wbuf_put_u8(struct wbuf *w, uint8_t v)
{
	wbuf_put(w, &v, 1);
}

void
wbuf_put_u32(struct wbuf *w, uint32_t v)
{
	uint8_t	 b[4];

	b[0] = v; b[1] = v >> 8; b[2] = v >> 16; b[3] = v >> 24;
	wbuf_put(w, b, 4);
}

void
wbuf_put_u64(struct wbuf *w, uint64_t v)
{
	wbuf_put_u32(w, (uint32_t)v);
	wbuf_put_u32(w, (uint32_t)(v >> 32));
}

void
wbuf_put_i64(struct wbuf *w, int64_t v)
{
	wbuf_put_u64(w, (uint64_t)v);
}

void
wbuf_put_bytes(struct wbuf *w, const void *p, size_t n)
{
	if (n > UINT32_MAX)
		fatalx("wbuf_put_bytes: %zu bytes", n);
	wbuf_put_u32(w, (uint32_t)n);
	wbuf_put(w, p, n);
}

void
wbuf_put_str(struct wbuf *w, const char *s)
{
	wbuf_put_bytes(w, s, s == NULL ? 0 : strlen(s));
}

void
wbuf_patch_u32(struct wbuf *w, size_t off, uint32_t v)
{
	if (w->len < 4 || off > w->len - 4)
		fatalx("wbuf_patch_u32 out of range");
	w->data[off] = v;
	w->data[off + 1] = v >> 8;
	w->data[off + 2] = v >> 16;
	w->data[off + 3] = v >> 24;
}

void
rbuf_init(struct rbuf *r, const void *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->error = 0;
}

int
rbuf_ok(const struct rbuf *r)
{
	return !r->error;
}

const void *
rbuf_get_raw(struct rbuf *r, size_t n)
{
	const void	*p;

	if (r->error || r->left < n) {
		r->error = 1;
		return NULL;
	}
	p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

uint8_t
rbuf_get_u8(struct rbuf *r)
{
	const uint8_t	*p = rbuf_get_raw(r, 1);

	return p == NULL ? 0 : p[0];
}

uint32_t
rbuf_get_u32(struct rbuf *r)
{
	const uint8_t	*p = rbuf_get_raw(r, 4);

	if (p == NULL)
		return 0;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

uint64_t
rbuf_get_u64(struct rbuf *r)
{
	const uint8_t	*p = rbuf_get_raw(r, 8);
	uint64_t	 v = 0;
	int		 i;

	/* All eight bytes or none: a short read yields 0, not a half. */
	if (p == NULL)
		return 0;
	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int64_t
rbuf_get_i64(struct rbuf *r)
{
	return (int64_t)rbuf_get_u64(r);
}

const void *
rbuf_get_bytes(struct rbuf *r, size_t *len)
{
	uint32_t n = rbuf_get_u32(r);
	const void *p;

	if (r->error)
		return NULL;
	if ((p = rbuf_get_raw(r, n)) == NULL)
		return NULL;
	*len = n;
	return p;
}

char *
rbuf_get_str(struct rbuf *r, size_t max)
{
	const char	*p;
	size_t		 n;

	if ((p = rbuf_get_bytes(r, &n)) == NULL)
		return NULL;
	if (n > max || memchr(p, '\0', n) != NULL) {
		r->error = 1;
		return NULL;
	}
	return xstrndup(p, n);
}
