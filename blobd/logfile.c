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
 * The files of the metadata log as bytes: little-endian integers,
 * buffered sequential reads and writes, and the entries of a log file
 * (metalog.c says what the files are).  An entry is a u32 holding its
 * length and flags, a u32 CRC-32C over its seq and payload, a u64 seq,
 * then the payload.  berthd's entries are opaque and numbered; a blob
 * entry (LOG_F_BLOB, seq 0) holds a small blob: u8 algorithm, 7 bytes of
 * padding, i64 time stored (ms), the raw digest, the bytes.  LOG_F_DEAD
 * marks a blob entry that garbage collection removed; it is set in place,
 * outside the CRC, and the bytes may be a hole since (pack.c), so a scan
 * reads a dead entry's head only.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blobd.h"
#include "error.h"
#include "log.h"
#include "util.h"

void
le32enc(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

void
le64enc(uint8_t *p, uint64_t v)
{
	le32enc(p, (uint32_t)v);
	le32enc(p + 4, (uint32_t)(v >> 32));
}

uint32_t
le32dec(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

uint64_t
le64dec(const uint8_t *p)
{
	return (uint64_t)le32dec(p) | (uint64_t)le32dec(p + 4) << 32;
}

void
logfile_reader_init(struct logfile_reader *r, int fd, uint64_t off,
    uint64_t end)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->off = off;
	r->end = end;
	r->cap = BLOBD_IO_SIZE;
	r->buf = xmalloc(r->cap);
}

void
logfile_reader_clear(struct logfile_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

uint64_t
logfile_reader_offset(const struct logfile_reader *r)
{
	return r->off + r->pos;
}

int
logfile_reader_fill(struct logfile_reader *r, size_t n)
{
	uint64_t	 at;
	size_t		 want;
	ssize_t		 got;

	if (r->len - r->pos >= n)
		return 0;
	memmove(r->buf, r->buf + r->pos, r->len - r->pos);
	r->off += r->pos;
	r->len -= r->pos;
	r->pos = 0;
	if (n > r->cap) {
		r->cap = n;
		r->buf = xreallocarray(r->buf, r->cap, 1);
	}
	while (r->len < n) {
		at = r->off + r->len;
		if (at >= r->end)
			return 1;
		want = r->cap - r->len;
		if (want > r->end - at)
			want = (size_t)(r->end - at);
		if ((got = pread(r->fd, r->buf + r->len, want, (off_t)at)) ==
		    -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (got == 0)
			return 1;
		r->len += (size_t)got;
	}
	return 0;
}

/* Moves past n bytes, reading none of those not in the buffer. */
static void
logfile_reader_skip(struct logfile_reader *r, uint64_t n)
{
	if (n <= r->len - r->pos) {
		r->pos += (size_t)n;
		return;
	}
	r->off += r->pos + n;
	r->pos = r->len = 0;
}

void
logfile_writer_init(struct logfile_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->buf = xmalloc(BLOBD_IO_SIZE);
}

static void
logfile_writer_flush(struct logfile_writer *w)
{
	if (w->len > 0 && w->error == 0 &&
	    write_full(w->fd, w->buf, w->len) == -1)
		w->error = errno;
	w->len = 0;
}

void
logfile_writer_put(struct logfile_writer *w, const void *p, size_t n)
{
	if (w->len + n > BLOBD_IO_SIZE)
		logfile_writer_flush(w);
	if (n >= BLOBD_IO_SIZE) {
		if (w->error == 0 && write_full(w->fd, p, n) == -1)
			w->error = errno;
	} else {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
	}
	w->total += n;
}

int
logfile_writer_finish(struct logfile_writer *w)
{
	logfile_writer_flush(w);
	free(w->buf);
	w->buf = NULL;
	if (w->error != 0) {
		errno = w->error;
		return -1;
	}
	return 0;
}

uint32_t
logfile_entry_crc(uint64_t seq, const uint8_t *p, size_t n)
{
	uint8_t	 b[8];

	le64enc(b, seq);
	return crc32c(crc32c(0, b, sizeof(b)), p, n);
}

void
logfile_blob_header(uint8_t *out, const struct digest *d, int64_t stored_ms)
{
	memset(out, 0, LOG_BLOB_HDR_LEN);
	out[0] = (uint8_t)d->algo;
	le64enc(out + 8, (uint64_t)stored_ms);
	memcpy(out + 16, d->raw, digest_raw_len(d->algo));
}

/* Fills a blob entry's digest, time and data from its payload's head
 * (at least LOG_BLOB_HDR_LEN bytes); -1 if it is not one. */
static int
logfile_blob_decode(struct logfile_entry *e, const uint8_t *p)
{
	size_t	 head;

	if (p[0] != DIGEST_SHA256 && p[0] != DIGEST_SHA512)
		return -1;
	memset(&e->digest, 0, sizeof(e->digest));
	e->digest.algo = (enum digest_algo)p[0];
	head = LOG_BLOB_HDR_LEN + digest_raw_len(e->digest.algo);
	if (e->len < head)
		return -1;
	memcpy(e->digest.raw, p + 16, digest_raw_len(e->digest.algo));
	e->stored_ms = (int64_t)le64dec(p + 8);
	e->data_off = e->off + LOG_ENTRY_HDR_LEN + head;
	e->data_len = e->len - (uint32_t)head;
	return 0;
}

int
logfile_scan(int fd, uint64_t end, int whole, logfile_entry_cb cb,
    void *arg, uint64_t *valid_end)
{
	struct logfile_reader	 r;
	struct logfile_entry	 e;
	const uint8_t		*p;
	uint32_t		 word, want;
	int			 rc = 0, check;

	logfile_reader_init(&r, fd, LOG_HDR_LEN, end);
	while (logfile_reader_offset(&r) < end) {
		if ((rc = logfile_reader_fill(&r, LOG_ENTRY_HDR_LEN)) != 0)
			break;
		memset(&e, 0, sizeof(e));
		p = r.buf + r.pos;
		word = le32dec(p);
		e.off = logfile_reader_offset(&r);
		e.flags = word & ~LOG_LEN_MASK;
		e.len = word & LOG_LEN_MASK;
		e.seq = le64dec(p + 8);
		if ((e.flags & ~(LOG_F_BLOB | LOG_F_DEAD)) != 0 ||
		    ((e.flags & LOG_F_DEAD) && !(e.flags & LOG_F_BLOB)) ||
		    e.len == 0 || e.len > LOG_ENTRY_MAX ||
		    (e.seq == 0) != ((e.flags & LOG_F_BLOB) != 0))
			break;
		/* A closed file's blobs and dead ones (their bytes may be
		 * a hole now, pack.c): their heads, not their bytes. */
		want = e.len;
		if ((!whole || (e.flags & LOG_F_DEAD)) &&
		    (e.flags & LOG_F_BLOB) &&
		    want > LOG_BLOB_HDR_LEN + DIGEST_RAW_MAX)
			want = LOG_BLOB_HDR_LEN + DIGEST_RAW_MAX;
		check = want == e.len && !(e.flags & LOG_F_DEAD);
		if (e.off + LOG_ENTRY_HDR_LEN + e.len > end) {
			rc = 1;
			break;
		}
		if ((rc = logfile_reader_fill(&r, LOG_ENTRY_HDR_LEN + want)) !=
		    0)
			break;
		p = r.buf + r.pos;
		e.payload = p + LOG_ENTRY_HDR_LEN;
		if (check && logfile_entry_crc(e.seq, e.payload,
		    e.len) != le32dec(p + 4))
			break;
		if ((e.flags & LOG_F_BLOB) &&
		    logfile_blob_decode(&e, e.payload) == -1)
			break;
		if (cb != NULL && (rc = cb(&e, arg)) != 0)
			break;
		logfile_reader_skip(&r, LOG_ENTRY_HDR_LEN + (uint64_t)e.len);
	}
	*valid_end = logfile_reader_offset(&r);
	logfile_reader_clear(&r);
	return rc == 1 ? 0 : rc;
}

/* Where the bytes that are not zero end in p[0..n) (0: none), a word at a
 * time: a log made from a spare (logspare.c) is zeros after its end. */
static size_t
logfile_last_nonzero(const uint8_t *p, size_t n)
{
	uint64_t w;
	size_t	 i = n;

	while (i % sizeof(w) != 0)
		if (p[--i] != 0)
			return i + 1;
	for (; i > 0; i -= sizeof(w)) {
		memcpy(&w, p + i - sizeof(w), sizeof(w));
		if (w != 0)
			break;
	}
	while (i > 0 && p[i - 1] == 0)
		i--;
	return i;
}

uint64_t
logfile_zeros_from(int fd, uint64_t from, uint64_t to)
{
	uint8_t	*buf;
	uint64_t off, nonzero = from;
	size_t	 n, i;
	ssize_t	 r;

	buf = xmalloc(BLOBD_IO_SIZE);
	for (off = from; off < to; off += n) {
		n = to - off < BLOBD_IO_SIZE ? (size_t)(to - off) :
		    BLOBD_IO_SIZE;
		if ((r = pread_full(fd, buf, n, (off_t)off)) == -1 ||
		    (size_t)r != n) {
			nonzero = to;	/* unreadable: not free space */
			break;
		}
		if ((i = logfile_last_nonzero(buf, n)) > 0)
			nonzero = off + i;
	}
	free(buf);
	return nonzero;
}

int
logfile_keep_torn(int dir_fd, int fd, uint64_t from, uint64_t to,
    char *name, size_t namelen)
{
	uint8_t	*buf;
	uint64_t off;
	size_t	 n;
	ssize_t	 r;
	int	 out, i;

	for (i = 0;; i++) {
		if (i == 0)
			snprintf(name, namelen, "log.torn-%" PRId64, now_sec());
		else
			snprintf(name, namelen, "log.torn-%" PRId64 "-%d",
			    now_sec(), i);
		if ((out = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0640)) != -1)
			break;
		if (errno != EEXIST || i > 100) {
			log_warn("meta/%s", name);
			return -1;
		}
	}
	buf = xmalloc(BLOBD_IO_SIZE);
	for (off = from; off < to; off += n) {
		n = to - off < BLOBD_IO_SIZE ? (size_t)(to - off) :
		    BLOBD_IO_SIZE;
		if ((r = pread_full(fd, buf, n, (off_t)off)) == -1 ||
		    (size_t)r != n || write_full(out, buf, n) == -1) {
			log_warn("copying the torn log tail to meta/%s", name);
			free(buf);
			close(out);
			return -1;
		}
	}
	free(buf);
	if (fdatasync(out) == -1 || fsync_dirfd(dir_fd) == -1) {
		log_warn("meta/%s", name);
		close(out);
		return -1;
	}
	close(out);
	return 0;
}
