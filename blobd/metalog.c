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
 * The metadata log.  berthd's entries are opaque here.  On disk, integers
 * are little-endian:
 *
 *	log:		"BERTHLOG" u32 version
 *			entries: u32 len, u32 crc, u64 seq, len bytes
 *			(crc is CRC-32C over seq and the bytes)
 *	snapshot:	"BERTHSNP" u32 version, u32 crc, u64 seq, u64 count
 *			(crc over seq and count; seq is the last entry the
 *			snapshot replaces)
 *			entries: u32 len, u32 crc, len bytes (crc over them)
 *
 * A compaction writes a new snapshot, then a new empty log, each through
 * a temporary file and a rename.  A crash in between leaves the new
 * snapshot with the old log, whose entries (all seq <= the snapshot's) are
 * skipped.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/uio.h>

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

#define LOG_MAGIC		"BERTHLOG"
#define SNAP_MAGIC		"BERTHSNP"
#define METALOG_VERSION		1
#define LOG_HDR_LEN		12
#define LOG_ENTRY_HDR_LEN	16
#define SNAP_HDR_LEN		32
#define SNAP_ENTRY_HDR_LEN	8
/* metalog_scan_log(): the sequence is broken, which no crash does. */
#define SCAN_BROKEN		2

/* Sequential reads of [off, end) of a file through a buffer. */
struct metalog_reader {
	int		 fd;
	uint64_t	 off;		/* file offset of buf[0] */
	uint64_t	 end;
	uint8_t		*buf;
	size_t		 cap;
	size_t		 pos;		/* next byte to consume */
	size_t		 len;		/* bytes in buf */
};

/* Buffered writes to a file. */
struct metalog_writer {
	int		 fd;
	uint8_t		*buf;
	size_t		 len;
	uint64_t	 total;
	int		 error;		/* errno of the first failure */
};

/* An entry handed to a scan callback. */
typedef int (*metalog_entry_cb)(uint64_t seq, const uint8_t *, size_t,
    void *);

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24 & 0xff;
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void
reader_init(struct metalog_reader *r, int fd, uint64_t off, uint64_t end)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->off = off;
	r->end = end;
	r->cap = BLOBD_IO_SIZE;
	r->buf = xmalloc(r->cap);
}

static void
reader_clear(struct metalog_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

static uint64_t
reader_offset(const struct metalog_reader *r)
{
	return r->off + r->pos;
}

static int
reader_at_end(const struct metalog_reader *r)
{
	return reader_offset(r) >= r->end;
}

/* Makes n bytes available at buf + pos: 0, 1 when the range ends
 * first, -1 on a read error. */
static int
reader_fill(struct metalog_reader *r, size_t n)
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

static void
writer_init(struct metalog_writer *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->buf = xmalloc(BLOBD_IO_SIZE);
}

static void
writer_flush(struct metalog_writer *w)
{
	if (w->len > 0 && w->error == 0 &&
	    write_full(w->fd, w->buf, w->len) == -1)
		w->error = errno;
	w->len = 0;
}

static void
writer_put(struct metalog_writer *w, const void *p, size_t n)
{
	if (w->len + n > BLOBD_IO_SIZE)
		writer_flush(w);
	if (n >= BLOBD_IO_SIZE) {
		if (w->error == 0 && write_full(w->fd, p, n) == -1)
			w->error = errno;
	} else {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
	}
	w->total += n;
}

/* Flushes; 0, or -1 with errno from the first failure. */
static int
writer_finish(struct metalog_writer *w)
{
	writer_flush(w);
	free(w->buf);
	w->buf = NULL;
	if (w->error != 0) {
		errno = w->error;
		return -1;
	}
	return 0;
}

static uint32_t
log_entry_crc(uint64_t seq, const uint8_t *p, size_t n)
{
	uint8_t	 b[8];

	put_le64(b, seq);
	return crc32c(crc32c(0, b, sizeof(b)), p, n);
}

/*
 * Reads the log's entries in [LOG_HDR_LEN, end), calling cb (if not NULL)
 * for each.  Stops at the first entry that is incomplete or fails its
 * check: *valid_end is where the good entries end.  Returns 0, -1 on a
 * read error, or SCAN_BROKEN.
 */
static int
metalog_scan_log(int fd, uint64_t end, metalog_entry_cb cb, void *arg,
    uint64_t *valid_end, uint64_t *first_seq, uint64_t *last_seq,
    uint64_t *count)
{
	struct metalog_reader	 r;
	const uint8_t		*p;
	uint64_t		 seq;
	uint32_t		 len;
	int			 rc = 0;

	*first_seq = *last_seq = *count = 0;
	reader_init(&r, fd, LOG_HDR_LEN, end);
	while (!reader_at_end(&r)) {
		if ((rc = reader_fill(&r, LOG_ENTRY_HDR_LEN)) != 0)
			break;
		p = r.buf + r.pos;
		len = get_le32(p);
		seq = get_le64(p + 8);
		if (len == 0 || len > FRAME_MAX_PAYLOAD)
			break;
		if ((rc = reader_fill(&r, LOG_ENTRY_HDR_LEN + len)) != 0)
			break;
		p = r.buf + r.pos;
		if (log_entry_crc(seq, p + LOG_ENTRY_HDR_LEN, len) !=
		    get_le32(p + 4))
			break;
		if (*count > 0 && seq != *last_seq + 1) {
			log_warnx("metadata log: entry at offset %" PRIu64
			    " has seq %" PRIu64 ", expected %" PRIu64,
			    reader_offset(&r), seq, *last_seq + 1);
			rc = SCAN_BROKEN;
			break;
		}
		if (*count == 0)
			*first_seq = seq;
		*last_seq = seq;
		(*count)++;
		if (cb != NULL && (rc = cb(seq, p + LOG_ENTRY_HDR_LEN, len,
		    arg)) != 0)
			break;
		r.pos += LOG_ENTRY_HDR_LEN + len;
	}
	*valid_end = reader_offset(&r);
	reader_clear(&r);
	return rc == 1 ? 0 : rc;
}

/*
 * Reads and checks a whole snapshot, calling cb (if not NULL) for each
 * entry.  0, or -1 with *why set.
 */
static int
metalog_scan_snapshot(int fd, metalog_entry_cb cb, void *arg,
    uint64_t *seq, uint64_t *count, const char **why)
{
	struct metalog_reader	 r;
	const uint8_t		*p;
	uint64_t		 i;
	uint32_t		 len;
	int			 rc;

	reader_init(&r, fd, 0, UINT64_MAX);
	*why = "truncated header";
	if ((rc = reader_fill(&r, SNAP_HDR_LEN)) != 0)
		goto fail;
	p = r.buf;
	*why = "bad magic or version";
	if (memcmp(p, SNAP_MAGIC, 8) != 0 ||
	    get_le32(p + 8) != METALOG_VERSION)
		goto fail;
	*why = "bad header checksum";
	if (crc32c(0, p + 16, 16) != get_le32(p + 12))
		goto fail;
	*seq = get_le64(p + 16);
	*count = get_le64(p + 24);
	r.pos = SNAP_HDR_LEN;
	for (i = 0; i < *count; i++) {
		*why = "truncated";
		if ((rc = reader_fill(&r, SNAP_ENTRY_HDR_LEN)) != 0)
			goto fail;
		len = get_le32(r.buf + r.pos);
		*why = "bad entry length";
		if (len > FRAME_MAX_PAYLOAD)
			goto fail;
		*why = "truncated";
		if ((rc = reader_fill(&r, SNAP_ENTRY_HDR_LEN + len)) != 0)
			goto fail;
		p = r.buf + r.pos;
		*why = "bad entry checksum";
		if (crc32c(0, p + SNAP_ENTRY_HDR_LEN, len) != get_le32(p + 4))
			goto fail;
		*why = "cannot copy";
		if (cb != NULL && cb(0, p + SNAP_ENTRY_HDR_LEN, len, arg) != 0)
			goto fail;
		r.pos += SNAP_ENTRY_HDR_LEN + len;
	}
	*why = "trailing bytes";
	if ((rc = reader_fill(&r, 1)) != 1)
		goto fail;
	reader_clear(&r);
	return 0;
fail:
	if (rc == -1)
		*why = strerror(errno);
	reader_clear(&r);
	return -1;
}

/* Starts an empty log through log.tmp and makes it the current one. */
static int
metalog_fresh_log(struct metalog *ml)
{
	uint8_t	 hdr[LOG_HDR_LEN];
	int	 fd;

	memcpy(hdr, LOG_MAGIC, 8);
	put_le32(hdr + 8, METALOG_VERSION);
	if ((fd = openat(ml->dir_fd, "log.tmp", O_RDWR | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) == -1) {
		log_warn("meta/log.tmp");
		return berr_from_errno(errno);
	}
	if (write_full(fd, hdr, sizeof(hdr)) == -1 || fdatasync(fd) == -1 ||
	    renameat(ml->dir_fd, "log.tmp", ml->dir_fd, "log") == -1) {
		log_warn("meta/log.tmp");
		close(fd);
		(void)unlinkat(ml->dir_fd, "log.tmp", 0);
		return berr_from_errno(errno);
	}
	/* Renamed: appends must go to the new file whatever happens next. */
	if (ml->log_fd != -1)
		close(ml->log_fd);
	ml->log_fd = fd;
	ml->log_end = ml->synced_end = LOG_HDR_LEN;
	if (fsync_dirfd(ml->dir_fd) == -1) {
		log_warn("meta");
		return berr_from_errno(errno);
	}
	return 0;
}

/* Moves the log's bytes [from, to) to meta/log.torn-<epoch>, then cuts
 * the log at from. */
static int
metalog_drop_tail(struct metalog *ml, uint64_t from, uint64_t to)
{
	char	 name[64];
	uint8_t	*buf;
	uint64_t off;
	size_t	 n;
	ssize_t	 r;
	int	 fd, i;

	for (i = 0;; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "log.torn-%" PRId64,
			    now_sec());
		else
			snprintf(name, sizeof(name), "log.torn-%" PRId64 "-%d",
			    now_sec(), i);
		if ((fd = openat(ml->dir_fd, name, O_WRONLY | O_CREAT |
		    O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640)) != -1)
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
		if ((r = pread_full(ml->log_fd, buf, n, (off_t)off)) == -1 ||
		    (size_t)r != n || write_full(fd, buf, n) == -1) {
			log_warn("copying the torn log tail to meta/%s", name);
			free(buf);
			close(fd);
			return -1;
		}
	}
	free(buf);
	if (fdatasync(fd) == -1 || fsync_dirfd(ml->dir_fd) == -1) {
		log_warn("meta/%s", name);
		close(fd);
		return -1;
	}
	close(fd);
	if (ftruncate(ml->log_fd, (off_t)from) == -1 ||
	    fdatasync(ml->log_fd) == -1) {
		log_warn("truncating meta/log");
		return -1;
	}
	log_warnx("metadata log: dropped a torn tail of %" PRIu64 " bytes at "
	    "offset %" PRIu64 " (kept in meta/%s)", to - from, from, name);
	return 0;
}

static int
metalog_open_log(struct metalog *ml, int have_snapshot)
{
	struct stat	 sb;
	uint8_t		 hdr[LOG_HDR_LEN];
	uint64_t	 end, first, last, count;
	ssize_t		 n;
	int		 rc;

	if ((ml->log_fd = openat(ml->dir_fd, "log", O_RDWR | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		if (errno != ENOENT) {
			log_warn("meta/log");
			return -1;
		}
		if (have_snapshot)
			log_warnx("metadata log meta/log is missing; "
			    "starting a new one after the snapshot");
		if (metalog_fresh_log(ml) != 0)
			return -1;
		ml->next_seq = ml->synced_seq = ml->snap_seq + 1;
		return 0;
	}
	if (fstat(ml->log_fd, &sb) == -1) {
		log_warn("meta/log");
		return -1;
	}
	n = pread_full(ml->log_fd, hdr, sizeof(hdr), 0);
	if (n != (ssize_t)sizeof(hdr) || memcmp(hdr, LOG_MAGIC, 8) != 0 ||
	    get_le32(hdr + 8) != METALOG_VERSION) {
		log_warnx("meta/log is not a berth metadata log (version %d); "
		    "refusing to start", METALOG_VERSION);
		return -1;
	}
	rc = metalog_scan_log(ml->log_fd, (uint64_t)sb.st_size, NULL, NULL,
	    &end, &first, &last, &count);
	if (rc == -1) {
		log_warn("reading meta/log");
		return -1;
	}
	if (rc != 0) {
		log_warnx("meta/log is inconsistent; refusing to start");
		return -1;
	}
	if (count > 0 && (first == 0 || first > ml->snap_seq + 1)) {
		log_warnx("meta/log starts at entry %" PRIu64 " but the "
		    "snapshot ends at %" PRIu64 "; entries are missing, "
		    "refusing to start", first, ml->snap_seq);
		return -1;
	}
	if (end < (uint64_t)sb.st_size &&
	    metalog_drop_tail(ml, end, (uint64_t)sb.st_size) == -1)
		return -1;
	ml->log_end = ml->synced_end = end;
	ml->next_seq = (count > 0 && last > ml->snap_seq ? last :
	    ml->snap_seq) + 1;
	ml->synced_seq = ml->next_seq;
	/* Entries the snapshot covers: a compaction was interrupted. */
	if (count > 0 && last <= ml->snap_seq)
		return metalog_fresh_log(ml) == 0 ? 0 : -1;
	return 0;
}

struct metalog *
metalog_new(int datadir_fd)
{
	struct metalog	*ml;
	const char	*why;
	int		 fd;

	ml = xcalloc(1, sizeof(*ml));
	ml->log_fd = -1;
	if ((ml->dir_fd = store_subdir(datadir_fd, "meta")) == -1) {
		log_warn("meta");
		goto fail;
	}
	(void)unlinkat(ml->dir_fd, "snapshot.tmp", 0);
	(void)unlinkat(ml->dir_fd, "log.tmp", 0);

	if ((fd = openat(ml->dir_fd, "snapshot", O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) != -1) {
		if (metalog_scan_snapshot(fd, NULL, NULL, &ml->snap_seq,
		    &ml->snap_count, &why) == -1) {
			log_warnx("metadata snapshot meta/snapshot is corrupt "
			    "(%s); refusing to start rather than lose "
			    "acknowledged data: restore it from a backup",
			    why);
			close(fd);
			goto fail;
		}
		close(fd);
	} else if (errno != ENOENT) {
		log_warn("meta/snapshot");
		goto fail;
	}
	if (metalog_open_log(ml, fd != -1) == -1)
		goto fail;
	log_info("metadata: snapshot up to %" PRIu64 " (%" PRIu64 " entries), "
	    "log of %" PRIu64 " bytes, next entry %" PRIu64, ml->snap_seq,
	    ml->snap_count, ml->log_end, ml->next_seq);
	return ml;
fail:
	metalog_free(ml);
	return NULL;
}

void
metalog_free(struct metalog *ml)
{
	if (ml == NULL)
		return;
	if (ml->log_fd != -1)
		close(ml->log_fd);
	if (ml->dir_fd != -1)
		close(ml->dir_fd);
	free(ml);
}

/* pwritev until done; 0 or -1 with errno. */
static int
pwritev_full(int fd, struct iovec *iov, int iovcnt, off_t off)
{
	ssize_t	 n;

	while (iovcnt > 0) {
		if ((n = pwritev(fd, iov, iovcnt, off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += n;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int
metalog_append(struct metalog *ml, const void *p, size_t n, uint64_t *seq)
{
	uint8_t		 hdr[LOG_ENTRY_HDR_LEN];
	struct iovec	 iov[2];
	int		 rc;

	if (n == 0 || n > FRAME_MAX_PAYLOAD)
		return BERR_SIZE_INVALID;
	put_le32(hdr, (uint32_t)n);
	put_le32(hdr + 4, log_entry_crc(ml->next_seq, p, n));
	put_le64(hdr + 8, ml->next_seq);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = n;
	if (pwritev_full(ml->log_fd, iov, 2, (off_t)ml->log_end) == -1) {
		rc = berr_from_errno(errno);
		log_warn("metadata log: write");
		/* A partial entry would end the log for every later one. */
		if (ftruncate(ml->log_fd, (off_t)ml->log_end) == -1)
			fatal("metadata log: cannot undo a failed write");
		return rc;
	}
	ml->log_end += sizeof(hdr) + n;
	*seq = ml->next_seq++;
	return 0;
}

/* 1 if entries wait for metalog_sync(). */
static int
metalog_dirty(const struct metalog *ml)
{
	return ml->log_end != ml->synced_end;
}

int
metalog_sync(struct metalog *ml)
{
	int	 rc;

	if (!metalog_dirty(ml))
		return 0;
	if (fdatasync(ml->log_fd) == -1) {
		rc = berr_from_errno(errno);
		log_warn("metadata log: fdatasync");
		if (ftruncate(ml->log_fd, (off_t)ml->synced_end) == -1)
			fatal("metadata log: cannot undo a failed sync");
		ml->log_end = ml->synced_end;
		ml->next_seq = ml->synced_seq;
		return rc;
	}
	ml->synced_end = ml->log_end;
	ml->synced_seq = ml->next_seq;
	return 0;
}

uint64_t
metalog_log_bytes(const struct metalog *ml)
{
	return ml->log_end;
}

struct metalog_load {
	struct metalog_writer	 w;
	uint64_t		 snap_seq;
	uint64_t		 entries;
};

static int
metalog_load_cb(uint64_t seq, const uint8_t *p, size_t n, void *arg)
{
	struct metalog_load	*l = arg;
	uint32_t		 len = (uint32_t)n;

	/* seq is 0 for snapshot entries. */
	if (seq != 0 && seq <= l->snap_seq)
		return 0;
	writer_put(&l->w, &len, sizeof(len));
	writer_put(&l->w, p, n);
	l->entries++;
	return 0;
}

int
metalog_load(struct metalog *ml, int *fdp, uint64_t *len, uint64_t *entries)
{
	struct metalog_load	 l;
	const char		*why;
	uint64_t		 seq, count, end, first, last;
	int			 fd, sfd, rc;

	if ((rc = metalog_sync(ml)) != 0)
		return rc;
	if ((fd = anon_file("berth-meta-state")) == -1) {
		log_warn("memfd");
		return berr_from_errno(errno);
	}
	memset(&l, 0, sizeof(l));
	writer_init(&l.w, fd);
	l.snap_seq = ml->snap_seq;
	if ((sfd = openat(ml->dir_fd, "snapshot", O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) != -1) {
		rc = metalog_scan_snapshot(sfd, metalog_load_cb, &l, &seq,
		    &count, &why);
		close(sfd);
		if (rc == -1 || seq != ml->snap_seq) {
			log_warnx("meta/snapshot: %s", rc == -1 ? why :
			    "changed behind our back");
			rc = BERR_IO;
			goto fail;
		}
	} else if (errno != ENOENT) {
		log_warn("meta/snapshot");
		rc = berr_from_errno(errno);
		goto fail;
	}
	rc = metalog_scan_log(ml->log_fd, ml->log_end, metalog_load_cb, &l,
	    &end, &first, &last, &count);
	if (rc != 0 || end != ml->log_end) {
		log_warnx("meta/log: cannot read back the entries before "
		    "offset %" PRIu64, ml->log_end);
		rc = BERR_IO;
		goto fail;
	}
	if (writer_finish(&l.w) == -1 || lseek(fd, 0, SEEK_SET) == -1) {
		log_warn("memfd");
		rc = berr_from_errno(errno);
		close(fd);
		return rc;
	}
	*fdp = fd;
	*len = l.w.total;
	*entries = l.entries;
	return 0;
fail:
	(void)writer_finish(&l.w);
	close(fd);
	return rc;
}

/*
 * Reads the entries of a MSG_META_COMPACT file, calling cb for each if
 * not NULL.  0, or BERR_BAD_REQUEST if they do not add up to exactly len
 * bytes and count entries.
 */
static int
metalog_read_state(int fd, uint64_t len, uint64_t count, metalog_entry_cb cb,
    void *arg)
{
	struct metalog_reader	 r;
	uint64_t		 n = 0;
	uint32_t		 elen;
	int			 rc = 0;

	reader_init(&r, fd, 0, len);
	while (!reader_at_end(&r)) {
		if (n == count || reader_fill(&r, sizeof(elen)) != 0) {
			rc = BERR_BAD_REQUEST;
			break;
		}
		memcpy(&elen, r.buf + r.pos, sizeof(elen));
		if (elen > FRAME_MAX_PAYLOAD ||
		    reader_fill(&r, sizeof(elen) + elen) != 0) {
			rc = BERR_BAD_REQUEST;
			break;
		}
		if (cb != NULL && (rc = cb(0, r.buf + r.pos + sizeof(elen),
		    elen, arg)) != 0)
			break;
		r.pos += sizeof(elen) + elen;
		n++;
	}
	reader_clear(&r);
	if (rc == 0 && n != count)
		rc = BERR_BAD_REQUEST;
	return rc;
}

static int
metalog_snap_entry_cb(uint64_t seq, const uint8_t *p, size_t n, void *arg)
{
	struct metalog_writer	*w = arg;
	uint8_t			 hdr[SNAP_ENTRY_HDR_LEN];

	put_le32(hdr, (uint32_t)n);
	put_le32(hdr + 4, crc32c(0, p, n));
	writer_put(w, hdr, sizeof(hdr));
	writer_put(w, p, n);
	return 0;
}

int
metalog_compact(struct metalog *ml, int fd, uint64_t len, uint64_t entries)
{
	struct metalog_writer	 w;
	uint8_t			 hdr[SNAP_HDR_LEN];
	uint64_t		 seq;
	int			 sfd, rc;

	if ((rc = metalog_sync(ml)) != 0)
		return rc;
	/* Check it all before anything on disk changes. */
	if ((rc = metalog_read_state(fd, len, entries, NULL, NULL)) != 0) {
		log_warnx("compaction refused: the snapshot from berthd does "
		    "not hold %" PRIu64 " entries in %" PRIu64 " bytes",
		    entries, len);
		return rc;
	}
	seq = ml->next_seq - 1;
	if ((sfd = openat(ml->dir_fd, "snapshot.tmp", O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640)) == -1) {
		log_warn("meta/snapshot.tmp");
		return berr_from_errno(errno);
	}
	memcpy(hdr, SNAP_MAGIC, 8);
	put_le32(hdr + 8, METALOG_VERSION);
	put_le64(hdr + 16, seq);
	put_le64(hdr + 24, entries);
	put_le32(hdr + 12, crc32c(0, hdr + 16, 16));
	writer_init(&w, sfd);
	writer_put(&w, hdr, sizeof(hdr));
	/* berthd could change the file since the check: check again. */
	rc = metalog_read_state(fd, len, entries, metalog_snap_entry_cb, &w);
	if (writer_finish(&w) == -1 || fdatasync(sfd) == -1) {
		log_warn("meta/snapshot.tmp");
		if (rc == 0)
			rc = berr_from_errno(errno);
	}
	close(sfd);
	if (rc == 0 && renameat(ml->dir_fd, "snapshot.tmp", ml->dir_fd,
	    "snapshot") == -1) {
		log_warn("meta/snapshot");
		rc = berr_from_errno(errno);
	}
	if (rc != 0) {
		(void)unlinkat(ml->dir_fd, "snapshot.tmp", 0);
		return rc;
	}
	ml->snap_seq = seq;
	ml->snap_count = entries;
	if (fsync_dirfd(ml->dir_fd) == -1) {
		log_warn("meta");
		return berr_from_errno(errno);
	}
	/* The old log's entries are all in the snapshot now. */
	if ((rc = metalog_fresh_log(ml)) != 0)
		return rc;
	log_info("metadata compacted: %" PRIu64 " entries up to %" PRIu64,
	    entries, seq);
	return 0;
}
