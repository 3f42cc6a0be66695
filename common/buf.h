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
 * Bounded binary encoding: a growable writer and a reader that never reads
 * past its end.  Integers are little-endian; byte strings carry a u32
 * length.  A reader that runs short sets its error flag and from then on
 * returns zeros, so a decoder checks rbuf_ok() once at the end.
 */
#ifndef BERTH_BUF_H
#define BERTH_BUF_H

#include <stddef.h>
#include <stdint.h>

struct wbuf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
};

void	 wbuf_init(struct wbuf *);
void	 wbuf_clear(struct wbuf *);
void	 wbuf_reset(struct wbuf *);		/* len = 0, keeps memory */
void	 wbuf_put(struct wbuf *, const void *, size_t);
void	 wbuf_put_u8(struct wbuf *, uint8_t);
void	 wbuf_put_u32(struct wbuf *, uint32_t);
void	 wbuf_put_u64(struct wbuf *, uint64_t);
void	 wbuf_put_i64(struct wbuf *, int64_t);
/* u32 length, then the bytes; s may be NULL for an empty string. */
void	 wbuf_put_bytes(struct wbuf *, const void *, size_t);
void	 wbuf_put_str(struct wbuf *, const char *);
/* Patches a u32 at offset (for lengths known only afterwards). */
void	 wbuf_patch_u32(struct wbuf *, size_t off, uint32_t);

struct rbuf {
	const uint8_t	*p;
	size_t		 left;
	int		 error;
};

void	 rbuf_init(struct rbuf *, const void *, size_t);
int	 rbuf_ok(const struct rbuf *);		/* no short read so far */
uint8_t	 rbuf_get_u8(struct rbuf *);
uint32_t rbuf_get_u32(struct rbuf *);
uint64_t rbuf_get_u64(struct rbuf *);
int64_t	 rbuf_get_i64(struct rbuf *);
/* Points into the buffer; *len gets the length.  NULL on short read. */
const void *rbuf_get_bytes(struct rbuf *, size_t *len);
/* A NUL-free string copied into a new allocation (xmalloc), bounded by
 * max; NULL (and the error flag) on short read, NUL or excess length. */
char	*rbuf_get_str(struct rbuf *, size_t max);
const void *rbuf_get_raw(struct rbuf *, size_t n);

#endif
