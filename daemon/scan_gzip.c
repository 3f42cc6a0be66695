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
 * gzip layers decompressed with ISA-L's inflate (Debian's libisal) and fed
 * to libarchive as plain tar.  Layers are mostly gzip, and a scan is
 * bound by inflating them: ISA-L inflates about 2.5 times as fast as zlib
 * on this machine's CPUs (bench/README.md), which is what brings a
 * 300 MB image within the scanner's time target.  Anything that does not
 * start with gzip's magic, or cannot be peeked at (a pipe), goes through
 * libarchive's own filters instead.
 *
 * Concatenated members are read one after the other, as gzip(1) does;
 * bytes after the last member that do not start another are ignored, as
 * gzip(1) and libarchive do with trailing zeros.  Each member's CRC and
 * length are checked by ISA-L.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <isa-l.h>

#include "scan.h"
#include "util.h"

#define GZ_IN		(256 * 1024)
#define GZ_OUT		(256 * 1024)

struct scan_gzip {
	int			 fd;
	struct inflate_state	 st;
	uint64_t		 compressed;
	int			 eof;		/* no more input */
	int			 member_done;	/* a member ended */
	int			 done;		/* the stream ended */
	uint8_t			 in[GZ_IN];
	uint8_t			 out[GZ_OUT];
};

struct scan_gzip *
scan_gzip_new(int fd)
{
	struct scan_gzip	*g;
	uint8_t			 magic[2];
	off_t			 off;

	/* Peek without moving: a layer from blobd is a regular file. */
	if ((off = lseek(fd, 0, SEEK_CUR)) == -1 ||
	    pread(fd, magic, sizeof(magic), off) != (ssize_t)sizeof(magic) ||
	    magic[0] != 0x1f || magic[1] != 0x8b)
		return NULL;
	g = xcalloc(1, sizeof(*g));
	g->fd = fd;
	isal_inflate_init(&g->st);
	g->st.crc_flag = ISAL_GZIP;
	return g;
}

void
scan_gzip_free(struct scan_gzip *g)
{
	free(g);
}

uint64_t
scan_gzip_compressed(const struct scan_gzip *g)
{
	return g->compressed;
}

/* Starts the next member, if the input holds one; else the stream ends. */
static void
gz_next_member(struct scan_gzip *g)
{
	uint8_t		*next = g->st.next_in;
	uint32_t	 avail = g->st.avail_in;

	g->member_done = 0;
	if (next[0] != 0x1f) {
		g->done = 1;
		return;
	}
	isal_inflate_reset(&g->st);
	g->st.crc_flag = ISAL_GZIP;
	g->st.next_in = next;
	g->st.avail_in = avail;
}

static la_ssize_t
gz_read_cb(struct archive *a, void *arg, const void **buf)
{
	struct scan_gzip	*g = arg;
	uint32_t		 before;
	ssize_t			 n;
	size_t			 produced;
	int			 rc;

	for (;;) {
		if (g->done)
			return 0;
		if (g->st.avail_in == 0 && !g->eof) {
			while ((n = read(g->fd, g->in, sizeof(g->in))) == -1 &&
			    errno == EINTR)
				;
			if (n == -1) {
				archive_set_error(a, errno, "read error");
				return -1;
			}
			if (n == 0)
				g->eof = 1;
			g->st.next_in = g->in;
			g->st.avail_in = (uint32_t)n;
			g->compressed += (uint64_t)n;
		}
		if (g->member_done) {
			if (g->st.avail_in == 0) {
				if (g->eof)
					g->done = 1;
				continue;
			}
			gz_next_member(g);
			continue;
		}
		before = g->st.avail_in;
		g->st.next_out = g->out;
		g->st.avail_out = sizeof(g->out);
		if ((rc = isal_inflate(&g->st)) < 0) {
			archive_set_error(a, EINVAL, "invalid gzip "
			    "data (%s)", rc == ISAL_INCORRECT_CHECKSUM ?
			    "checksum mismatch" : rc == ISAL_INVALID_WRAPPER ?
			    "bad header" : "bad deflate stream");
			return -1;
		}
		produced = sizeof(g->out) - g->st.avail_out;
		if (g->st.block_state == ISAL_BLOCK_FINISH)
			g->member_done = 1;
		if (produced > 0) {
			*buf = g->out;
			return (la_ssize_t)produced;
		}
		if (g->member_done)
			continue;
		if (g->eof && g->st.avail_in == 0) {
			archive_set_error(a, EINVAL, "truncated "
			    "gzip data");
			return -1;
		}
		if (g->st.avail_in != 0 && g->st.avail_in == before) {
			archive_set_error(a, EINVAL, "invalid gzip "
			    "data (no progress)");
			return -1;
		}
	}
}

int
scan_gzip_open(struct archive *a, struct scan_gzip *g)
{
	return archive_read_open(a, g, NULL, gz_read_cb, NULL);
}
