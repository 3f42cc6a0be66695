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
 * The metadata log.  berthd's entries are opaque here; the small blobs
 * blobd keeps in the log's files (pack.c) are entries too, so that a blob
 * and the record that links it are made durable by one fdatasync.  The
 * files of DIR/meta (integers little-endian, entries as logfile.c says):
 *
 *	snapshot	"BERTHSNP" u32 version, u32 crc, u64 seq, u64 count
 *			(crc over seq and count; seq is the last entry the
 *			snapshot replaces), then entries: u32 len, u32 crc
 *			(over the bytes), len bytes
 *	log		"BERTHLOG" u32 version, then entries: the current
 *			segment, the only one appended to
 *	log.<n>		closed segments, n increasing: the log's earlier
 *			parts, each complete and synced when it was closed
 *
 * berthd's entries are numbered without gaps across the segments; those
 * the snapshot covers (seq <= its seq) are skipped.  The log closes into
 * a segment when it outgrows METALOG_SEGMENT_MAX and at a compaction,
 * which writes a new snapshot, then closes the log; a crash in between
 * leaves the new snapshot with the old log, whose entries are skipped.  A
 * segment goes once none of its berthd entries is newer than the
 * snapshot and none of its blobs is alive.  Blobs removed by garbage
 * collection are marked dead in place; a segment of dead blobs alone is
 * removed at once.
 *
 * The log may be a spare segment (logspare.c) that holds zeros after its
 * entries: its end is where a scan of its entries stops, not its size;
 * zeros after it are free space, anything else a torn write.  A segment
 * closes, and blobd exits, with the zeros cut off.
 *
 * Version 2 of the log may hold blob entries; version 1 did not, so a
 * version 1 log is read as it is and becomes version 2 when a blob is
 * first written to it.  An older blobd refuses version 2 rather than
 * cutting a blob entry off as a torn tail.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
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

/* Names of the log's files: "log.<n>" and temporary ones. */
#define METALOG_NAME_MAX	32


static int	metalog_roll(struct metalog *);
static void	metalog_prune(struct metalog *);
/* Moves the log's bytes [from, to) to meta/log.torn-<epoch>, then cuts
 * the log at from (zeros after to go too). */
static int
metalog_drop_tail(struct metalog *ml, uint64_t from, uint64_t to)
{
	char	 name[64];

	if (logfile_keep_torn(ml->dir_fd, ml->log_fd, from, to, name,
	    sizeof(name)) == -1)
		return -1;
	if (ftruncate(ml->log_fd, (off_t)from) == -1 ||
	    fdatasync(ml->log_fd) == -1) {
		log_warn("truncating meta/log");
		return -1;
	}
	log_warnx("metadata log: dropped a torn tail of %" PRIu64 " bytes at "
	    "offset %" PRIu64 " (kept in meta/%s)", to - from, from, name);
	return 0;
}

/* "log" for the current segment, "log.<n>" for a closed one. */
static void
metalog_name(const struct metalog *ml, uint64_t n, char *out)
{
	if (n == ml->log_n)
		snprintf(out, METALOG_NAME_MAX, "log");
	else
		snprintf(out, METALOG_NAME_MAX, "log.%" PRIu64, n);
}

static struct metalog_seg *
metalog_seg(struct metalog *ml, uint64_t n)
{
	size_t	 i;

	for (i = 0; i < ml->nsegs; i++)
		if (ml->segs[i].n == n)
			return &ml->segs[i];
	return NULL;
}

static int
metalog_fsync_dir(struct metalog *ml)
{
	if (ml->durable && fsync_dirfd(ml->dir_fd) == -1) {
		log_warn("meta");
		return berr_from_errno(errno);
	}
	return 0;
}

/*
 * Starts an empty log through log.tmp and makes it the current one: on
 * disk at once with now, else with the first sync of the log and of DIR/meta
 * (blobd's start: ml->fresh).  A log whose header never reached the disk
 * holds zeros there, and is taken for a missing one.
 */
static int
metalog_fresh_log(struct metalog *ml, int now)
{
	uint8_t	 hdr[LOG_HDR_LEN];
	int	 fd;

	memcpy(hdr, LOG_MAGIC, 8);
	le32enc(hdr + 8, LOG_VERSION);
	if ((fd = openat(ml->dir_fd, "log.tmp", O_RDWR | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0640)) == -1) {
		log_warn("meta/log.tmp");
		return berr_from_errno(errno);
	}
	if (write_full(fd, hdr, sizeof(hdr)) == -1 ||
	    (now && ml->durable && fdatasync(fd) == -1) ||
	    renameat(ml->dir_fd, "log.tmp", ml->dir_fd, "log") == -1) {
		log_warn("meta/log.tmp");
		close(fd);
		(void)unlinkat(ml->dir_fd, "log.tmp", 0);
		return berr_from_errno(errno);
	}
	/* Renamed: appends must go to the new file whatever happens next. */
	metalog_use_log(ml, fd);
	if (!now) {
		ml->synced_end = 0;	/* the header waits for a sync */
		ml->fresh = 1;
		return 0;
	}
	return metalog_fsync_dir(ml);
}

void
metalog_use_log(struct metalog *ml, int fd)
{
	if (ml->log_fd != -1)
		close(ml->log_fd);
	ml->log_fd = fd;
	ml->version = LOG_VERSION;
	ml->log_end = ml->synced_end = LOG_HDR_LEN;
	ml->log_last_seq = 0;
	ml->log_blobs = 0;
	ml->log_dead = 0;
}

/* What a scan of the log's files keeps track of. */
struct metalog_scan {
	struct metalog		*ml;
	uint64_t		 file;		/* the segment number */
	uint64_t		 chain;		/* snapshot seq, or later */
	uint64_t		 last_seq;	/* of the file, 0: none */
	uint64_t		 blobs;		/* live blobs in the file */
	int			 broken;	/* a gap in the sequence */
};

static int
metalog_scan_cb(const struct logfile_entry *e, void *arg)
{
	struct metalog_scan	*s = arg;
	struct metalog		*ml = s->ml;

	if (e->flags & LOG_F_BLOB) {
		if (e->flags & LOG_F_DEAD)
			return 0;
		s->blobs++;
		if (ml->blob_cb != NULL)
			ml->blob_cb(s->file, e, ml->blob_arg);
		return 0;
	}
	s->last_seq = e->seq;
	/* Entries the snapshot covers are skipped; after it, none is
	 * missing, which no crash can cause. */
	if (e->seq <= ml->snap_seq)
		return 0;
	if (e->seq != s->chain + 1) {
		log_warnx("meta/%s: entry at offset %" PRIu64 " has seq %"
		    PRIu64 ", expected %" PRIu64, s->file == ml->log_n ?
		    "log" : "log.<n>", e->off, e->seq, s->chain + 1);
		s->broken = 1;
		return 1;
	}
	s->chain = e->seq;
	return 0;
}

/* Checks a file's header; its version, or 0 if it is not a log. */
static uint32_t
metalog_header(int fd)
{
	uint8_t	 hdr[LOG_HDR_LEN];
	uint32_t version;

	if (pread_full(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) ||
	    memcmp(hdr, LOG_MAGIC, 8) != 0)
		return 0;
	version = le32dec(hdr + 8);
	return version == 1 || version == LOG_VERSION ? version : 0;
}

/* 1 if a log's header is missing or all zeros: it never reached the
 * disk, so neither did anything after it. */
static int
metalog_header_unwritten(int fd, uint64_t size)
{
	uint8_t	 hdr[LOG_HDR_LEN];
	size_t	 i;

	if (size < LOG_HDR_LEN)
		return 1;
	if (pread_full(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		return 0;
	for (i = 0; i < sizeof(hdr); i++)
		if (hdr[i] != 0)
			return 0;
	return 1;
}

static int
metalog_seg_cmp(const void *a, const void *b)
{
	const struct metalog_seg *x = a, *y = b;

	return x->n < y->n ? -1 : x->n > y->n;
}

/* Finds the closed segments, in order. */
static int
metalog_list_segs(struct metalog *ml)
{
	DIR		*dir;
	struct dirent	*de;
	uint64_t	 n;
	size_t		 cap = 0;

	if ((dir = store_opendir(ml->dir_fd, ".")) == NULL) {
		log_warn("meta");
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, "log.", 4) != 0 ||
		    parse_u64(de->d_name + 4, strlen(de->d_name + 4), &n) ==
		    -1 || n == 0)
			continue;
		if (ml->nsegs == cap) {
			cap = cap == 0 ? 8 : 2 * cap;
			ml->segs = xreallocarray(ml->segs, cap,
			    sizeof(*ml->segs));
		}
		memset(&ml->segs[ml->nsegs], 0, sizeof(*ml->segs));
		ml->segs[ml->nsegs].wr_fd = -1;
		ml->segs[ml->nsegs++].n = n;
	}
	closedir(dir);
	if (ml->nsegs > 1)
		qsort(ml->segs, ml->nsegs, sizeof(*ml->segs),
		    metalog_seg_cmp);
	return 0;
}

/* Reads a closed segment: its berthd entries' seqs, its live blobs. */
static int
metalog_open_seg(struct metalog *ml, struct metalog_seg *seg,
    struct metalog_scan *s)
{
	struct stat	 sb;
	char		 name[METALOG_NAME_MAX];
	uint64_t	 end;
	int		 fd, rc;

	metalog_name(ml, seg->n, name);
	if ((fd = openat(ml->dir_fd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1 || fstat(fd, &sb) == -1) {
		log_warn("meta/%s", name);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (metalog_header(fd) == 0) {
		log_warnx("meta/%s is not a berth metadata log segment; "
		    "refusing to start", name);
		close(fd);
		return -1;
	}
	s->file = seg->n;
	s->last_seq = s->blobs = 0;
	rc = logfile_scan(fd, (uint64_t)sb.st_size, 0, metalog_scan_cb, s,
	    &end);
	close(fd);
	/* It was complete when it closed: anything less is damage. */
	if (rc != 0 || end != (uint64_t)sb.st_size) {
		if (rc == -1)
			log_warn("reading meta/%s", name);
		log_warnx("meta/%s is damaged at offset %" PRIu64 "; refusing "
		    "to start rather than lose acknowledged data", name, end);
		return -1;
	}
	seg->size = (uint64_t)sb.st_size;
	seg->last_seq = s->last_seq;
	seg->blobs = s->blobs;
	return 0;
}

static int
metalog_open_log(struct metalog *ml, int have_snapshot,
    struct metalog_scan *s)
{
	struct stat	 sb;
	uint64_t	 end, torn;
	int		 rc;

	if ((ml->log_fd = openat(ml->dir_fd, "log", O_RDWR | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		if (errno != ENOENT) {
			log_warn("meta/log");
			return -1;
		}
		if (have_snapshot && ml->nsegs == 0)
			log_warnx("metadata log meta/log is missing; "
			    "starting a new one after the snapshot");
		return metalog_fresh_log(ml, 0) == 0 ? 0 : -1;
	}
	if (fstat(ml->log_fd, &sb) == -1) {
		log_warn("meta/log");
		return -1;
	}
	if (metalog_header_unwritten(ml->log_fd, (uint64_t)sb.st_size)) {
		/* Created by a start that stopped before its first sync:
		 * nothing in it was ever acknowledged. */
		close(ml->log_fd);
		ml->log_fd = -1;
		return metalog_fresh_log(ml, 0) == 0 ? 0 : -1;
	}
	if ((ml->version = metalog_header(ml->log_fd)) == 0) {
		log_warnx("meta/log is not a berth metadata log (version %d); "
		    "refusing to start", LOG_VERSION);
		return -1;
	}
	s->file = ml->log_n;
	s->last_seq = s->blobs = 0;
	rc = logfile_scan(ml->log_fd, (uint64_t)sb.st_size, 1,
	    metalog_scan_cb, s, &end);
	if (rc == -1) {
		log_warn("reading meta/log");
		return -1;
	}
	if (s->broken) {
		log_warnx("meta/log is inconsistent; refusing to start");
		return -1;
	}
	/* What follows the last good entry is free space if it is zeros
	 * (a spare's, left by a crash), else a torn write up to its last
	 * byte not zero. */
	if (end < (uint64_t)sb.st_size && (torn = logfile_zeros_from(
	    ml->log_fd, end, (uint64_t)sb.st_size)) > end &&
	    metalog_drop_tail(ml, end, torn) == -1)
		return -1;
	ml->log_end = ml->synced_end = end;
	ml->log_last_seq = s->last_seq;
	ml->log_blobs = s->blobs;
	return 0;
}

struct metalog *
metalog_new(int datadir_fd, int *new_dirs, metalog_blob_cb blob_cb,
    metalog_cut_cb cut_cb, void *blob_arg)
{
	struct metalog		*ml;
	struct metalog_scan	 s;
	const char		*why;
	size_t			 i;
	int			 fd;

	ml = xcalloc(1, sizeof(*ml));
	ml->log_fd = -1;
	ml->durable = 1;
	ml->seg_max = METALOG_SEGMENT_MAX;
	ml->blob_cb = blob_cb;
	ml->cut_cb = cut_cb;
	ml->blob_arg = blob_arg;
	if ((ml->dir_fd = store_subdir(datadir_fd, "meta", new_dirs)) == -1) {
		log_warn("meta");
		goto fail;
	}
	(void)unlinkat(ml->dir_fd, "snapshot.tmp", 0);
	(void)unlinkat(ml->dir_fd, "log.tmp", 0);

	if ((fd = openat(ml->dir_fd, "snapshot", O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) != -1) {
		if (snapshot_scan(fd, NULL, NULL, &ml->snap_seq,
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
	if (metalog_list_segs(ml) == -1)
		goto fail;
	memset(&s, 0, sizeof(s));
	s.ml = ml;
	s.chain = ml->snap_seq;
	ml->log_n = ml->nsegs > 0 ? ml->segs[ml->nsegs - 1].n + 1 : 1;
	for (i = 0; i < ml->nsegs; i++)
		if (metalog_open_seg(ml, &ml->segs[i], &s) == -1)
			goto fail;
	if (metalog_open_log(ml, fd != -1, &s) == -1)
		goto fail;
	ml->next_seq = ml->synced_seq = s.chain + 1;
	metalog_prune(ml);
	log_info("metadata: snapshot up to %" PRIu64 " (%" PRIu64 " entries), "
	    "%zu closed segments, log of %" PRIu64 " bytes, next entry %"
	    PRIu64, ml->snap_seq, ml->snap_count, ml->nsegs, ml->log_end,
	    ml->next_seq);
	return ml;
fail:
	metalog_free(ml);
	return NULL;
}

void
metalog_free(struct metalog *ml)
{
	size_t	 i;

	if (ml == NULL)
		return;
	/* Once loaded; not synced: a start that finds the zeros after all
	 * scans them. */
	if (ml->next_seq != 0 && ml->log_fd != -1)
		(void)metalog_spare_cut(ml, 0);
	logspare_free(ml->spare);
	if (ml->log_fd != -1)
		close(ml->log_fd);
	if (ml->dir_fd != -1)
		close(ml->dir_fd);
	for (i = 0; i < ml->nsegs; i++)
		if (ml->segs[i].wr_fd != -1)
			close(ml->segs[i].wr_fd);
	free(ml->segs);
	free(ml);
}

/* Writes an entry at the end of the log; 0 or a negative berr. */
static int
metalog_write(struct metalog *ml, uint32_t flags, uint64_t seq,
    struct iovec *iov, int iovcnt, size_t len)
{
	uint8_t		 hdr[LOG_ENTRY_HDR_LEN];
	struct iovec	 all[4];
	uint32_t	 crc;
	int		 i, rc;

	crc = logfile_entry_crc(seq, NULL, 0);
	for (i = 0; i < iovcnt; i++)
		crc = crc32c(crc, iov[i].iov_base, iov[i].iov_len);
	le32enc(hdr, (uint32_t)len | flags);
	le32enc(hdr + 4, crc);
	le64enc(hdr + 8, seq);
	all[0].iov_base = hdr;
	all[0].iov_len = sizeof(hdr);
	for (i = 0; i < iovcnt; i++)
		all[i + 1] = iov[i];
	if (pwritev_full(ml->log_fd, all, iovcnt + 1, (off_t)ml->log_end) ==
	    -1) {
		rc = berr_from_errno(errno);
		log_warn("metadata log: write");
		/* A partial entry would end the log for every later one. */
		if (ftruncate(ml->log_fd, (off_t)ml->log_end) == -1)
			fatal("metadata log: cannot undo a failed write");
		return rc;
	}
	ml->log_end += sizeof(hdr) + len;
	logspare_note_write(ml->spare);
	return 0;
}

int
metalog_append(struct metalog *ml, const void *p, size_t n, uint64_t *seq)
{
	struct iovec	 iov;
	int		 rc;

	if (n == 0 || n > FRAME_MAX_PAYLOAD)
		return BERR_SIZE_INVALID;
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = n;
	if ((rc = metalog_write(ml, 0, ml->next_seq, &iov, 1, n)) != 0)
		return rc;
	ml->log_last_seq = ml->next_seq;
	*seq = ml->next_seq++;
	return 0;
}

int
metalog_append_blob(struct metalog *ml, const struct digest *d,
    int64_t stored_ms, const void *data, size_t n, uint64_t *file,
    uint64_t *data_off)
{
	uint8_t		 head[LOG_BLOB_HDR_LEN + DIGEST_RAW_MAX], v[4];
	struct iovec	 iov[2];
	size_t		 hlen = LOG_BLOB_HDR_LEN + digest_raw_len(d->algo);
	uint64_t	 at = ml->log_end;
	int		 rc;

	if (hlen + n > LOG_ENTRY_MAX)
		return BERR_TOO_LARGE;
	/* A log of version 1 says it may hold blobs from now on; the sync
	 * that makes the blob durable makes this durable too. */
	if (ml->version < LOG_VERSION) {
		le32enc(v, LOG_VERSION);
		if (pwrite_full(ml->log_fd, v, sizeof(v), 8) == -1) {
			log_warn("metadata log: header");
			return berr_from_errno(errno);
		}
		ml->version = LOG_VERSION;
	}
	logfile_blob_header(head, d, stored_ms);
	iov[0].iov_base = head;
	iov[0].iov_len = hlen;
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = n;
	if ((rc = metalog_write(ml, LOG_F_BLOB, 0, iov, 2, hlen + n)) != 0)
		return rc;
	ml->log_blobs++;
	*file = ml->log_n;
	*data_off = at + LOG_ENTRY_HDR_LEN + hlen;
	return 0;
}

int
metalog_kill_blob(struct metalog *ml, uint64_t file, uint64_t entry_off)
{
	struct metalog_seg *seg = NULL;
	char		 name[METALOG_NAME_MAX];
	uint8_t		 w[4];
	uint32_t	 word;
	int		 fd, rc = 0;

	if (file != ml->log_n && (seg = metalog_seg(ml, file)) == NULL)
		return BERR_INTERNAL;
	metalog_name(ml, file, name);
	if (seg == NULL)
		fd = ml->log_fd;
	else if ((fd = seg->wr_fd) == -1 && (fd = seg->wr_fd = openat(
	    ml->dir_fd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		log_warn("meta/%s", name);
		return berr_from_errno(errno);
	}
	if (pread_full(fd, w, sizeof(w), (off_t)entry_off) != sizeof(w)) {
		log_warn("meta/%s: read", name);
		rc = BERR_IO;
	} else if (((word = le32dec(w)) & (LOG_F_BLOB | LOG_F_DEAD)) !=
	    LOG_F_BLOB) {
		log_warnx("meta/%s: no live blob at offset %" PRIu64, name,
		    entry_off);
		rc = BERR_INTERNAL;
	} else {
		/* Four bytes in one sector: written whole or not at all. */
		le32enc(w, word | LOG_F_DEAD);
		if (pwrite_full(fd, w, sizeof(w), (off_t)entry_off) == -1) {
			log_warn("meta/%s: marking a blob dead", name);
			rc = berr_from_errno(errno);
		}
	}
	if (rc != 0)
		return rc;
	if (seg != NULL) {
		seg->blobs--;
		seg->dead = 1;
	} else {
		ml->log_blobs--;
		ml->log_dead = 1;
	}
	return 0;
}

int
metalog_file_fd(struct metalog *ml, uint64_t file)
{
	char	 name[METALOG_NAME_MAX];
	int	 fd;

	metalog_name(ml, file, name);
	if ((fd = openat(ml->dir_fd, name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		log_warn("meta/%s", name);
	return fd;
}

int
metalog_dirty(const struct metalog *ml)
{
	return ml->log_end != ml->synced_end || ml->log_dead;
}

int
metalog_pending(const struct metalog *ml)
{
	return ml->log_end > (ml->synced_end > LOG_HDR_LEN ? ml->synced_end :
	    LOG_HDR_LEN);
}

int
metalog_fd(const struct metalog *ml)
{
	return ml->log_fd;
}

void
metalog_sync_point(struct metalog *ml, uint64_t *end, uint64_t *seq)
{
	*end = ml->log_end;
	*seq = ml->next_seq;
	/* The coming sync covers the dead marks made so far. */
	ml->log_dead = 0;
}

uint64_t
metalog_end(const struct metalog *ml)
{
	return ml->log_end;
}

uint64_t
metalog_synced_end(const struct metalog *ml)
{
	return ml->synced_end;
}

void
metalog_synced(struct metalog *ml, uint64_t end, uint64_t seq, int err)
{
	if (err == 0) {
		if (end > ml->synced_end) {
			ml->synced_end = end;
			ml->synced_seq = seq;
		}
		return;
	}
	/* Whatever follows the last good sync is unknown now: cut it. */
	if (ml->synced_end < LOG_HDR_LEN)
		fatalx("metadata log: the new log cannot be synced");
	if (ftruncate(ml->log_fd, (off_t)ml->synced_end) == -1)
		fatal("metadata log: cannot undo a failed sync");
	ml->log_end = ml->synced_end;
	ml->next_seq = ml->synced_seq;
	ml->log_dead = 1;
	if (ml->cut_cb != NULL)
		ml->cut_cb(ml->log_n, ml->synced_end, ml->blob_arg);
}

int
metalog_sync(struct metalog *ml)
{
	struct metalog_seg *seg;
	uint64_t end, seq;
	size_t	 i;
	int	 rc = 0;

	/* The closed segments' dead marks first. */
	for (i = 0; i < ml->nsegs; i++) {
		seg = &ml->segs[i];
		if (seg->dead && ml->durable && fdatasync(seg->wr_fd) == -1) {
			log_warn("meta/log.%" PRIu64 ": fdatasync", seg->n);
			rc = berr_from_errno(errno);
		}
		if (seg->wr_fd != -1)
			close(seg->wr_fd);
		seg->wr_fd = -1;
		seg->dead = 0;
	}
	if (rc != 0 || !metalog_dirty(ml))
		return rc;
	metalog_sync_point(ml, &end, &seq);
	if (ml->durable && fdatasync(ml->log_fd) == -1) {
		rc = berr_from_errno(errno);
		log_warn("metadata log: fdatasync");
	}
	metalog_synced(ml, end, seq, rc);
	return rc;
}

int
metalog_dir_fd(const struct metalog *ml)
{
	return ml->dir_fd;
}

void
metalog_punch(struct metalog *ml, uint64_t n, uint64_t off, uint64_t len)
{
#if defined(FALLOC_FL_PUNCH_HOLE) && defined(FALLOC_FL_KEEP_SIZE)
	static int	 unsupported;
	char		 name[METALOG_NAME_MAX];
	int		 fd;

	if (unsupported || len == 0)
		return;
	metalog_name(ml, n, name);
	if (n == ml->log_n)
		fd = ml->log_fd;
	else if ((fd = openat(ml->dir_fd, name, O_RDWR | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		if (errno != ENOENT)	/* a segment that went since */
			log_warn("meta/%s", name);
		return;
	}
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)off, (off_t)len) == -1) {
		if (errno == EOPNOTSUPP) {
			unsupported = 1;
			log_info("meta/: the file system punches no holes; "
			    "the space of collected small blobs comes back "
			    "when their segment goes");
		} else
			log_warn("meta/%s: punching a hole", name);
	}
	if (fd != ml->log_fd)
		close(fd);
#endif
}

uint64_t
metalog_log_bytes(const struct metalog *ml)
{
	return ml->log_end;
}

/*
 * Closes the log into the segment log.<log_n> and starts a new one.  The
 * log must be synced.  The rename is on disk before the new log can take
 * the name, so that a crash never leaves the old log without one.
 */
static int
metalog_roll(struct metalog *ml)
{
	struct metalog_seg *seg;
	char		 name[METALOG_NAME_MAX];
	int		 rc;

	if ((rc = metalog_sync(ml)) != 0 ||
	    (rc = metalog_spare_cut(ml, ml->durable)) != 0)
		return rc;
	snprintf(name, sizeof(name), "log.%" PRIu64, ml->log_n);
	if (renameat(ml->dir_fd, "log", ml->dir_fd, name) == -1) {
		log_warn("meta/log to meta/%s", name);
		return berr_from_errno(errno);
	}
	ml->segs = xreallocarray(ml->segs, ml->nsegs + 1, sizeof(*ml->segs));
	seg = &ml->segs[ml->nsegs++];
	memset(seg, 0, sizeof(*seg));
	seg->wr_fd = -1;
	seg->n = ml->log_n++;
	seg->size = ml->log_end;
	seg->last_seq = ml->log_last_seq;
	seg->blobs = ml->log_blobs;
	if ((rc = metalog_fsync_dir(ml)) != 0)
		return rc;
	if (metalog_spare_roll(ml) == 0)
		return 0;
	return metalog_fresh_log(ml, 1);
}

/* Removes the closed segments that hold nothing needed any more. */
static void
metalog_prune(struct metalog *ml)
{
	char	 name[METALOG_NAME_MAX];
	size_t	 i, j;

	for (i = j = 0; i < ml->nsegs; i++) {
		if (ml->segs[i].blobs == 0 &&
		    ml->segs[i].last_seq <= ml->snap_seq) {
			metalog_name(ml, ml->segs[i].n, name);
			if (ml->segs[i].dead)
				continue;	/* its marks wait for a sync */
			if (unlinkat(ml->dir_fd, name, 0) == 0 ||
			    errno == ENOENT)
				continue;
			log_warn("meta/%s", name);
		}
		ml->segs[j++] = ml->segs[i];
	}
	ml->nsegs = j;
}

int
metalog_maintain(struct metalog *ml)
{
	int	 rc = 0;

	if (ml->log_end >= ml->seg_max && !metalog_dirty(ml))
		rc = metalog_roll(ml);
	else
		metalog_spare_adopt(ml);
	metalog_prune(ml);
	return rc;
}

struct metalog_load {
	struct logfile_writer	 w;
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
	logfile_writer_put(&l->w, &len, sizeof(len));
	logfile_writer_put(&l->w, p, n);
	l->entries++;
	return 0;
}

static int
metalog_load_entry_cb(const struct logfile_entry *e, void *arg)
{
	if (e->flags & LOG_F_BLOB)
		return 0;
	return metalog_load_cb(e->seq, e->payload, e->len, arg);
}

/* Adds file n's entries newer than the snapshot to the load. */
static int
metalog_load_file(struct metalog *ml, uint64_t n, uint64_t size,
    struct metalog_load *l)
{
	char	 name[METALOG_NAME_MAX];
	uint64_t end;
	int	 fd, rc;

	metalog_name(ml, n, name);
	if (n == ml->log_n)
		fd = ml->log_fd;
	else if ((fd = metalog_file_fd(ml, n)) == -1)
		return berr_from_errno(errno);
	rc = logfile_scan(fd, size, 0, metalog_load_entry_cb, l, &end);
	if (fd != ml->log_fd)
		close(fd);
	if (rc != 0 || end != size) {
		log_warnx("meta/%s: cannot read back the entries before "
		    "offset %" PRIu64, name, size);
		return BERR_IO;
	}
	return 0;
}

int
metalog_load(struct metalog *ml, int *fdp, uint64_t *len, uint64_t *entries)
{
	struct metalog_load	 l;
	const char		*why;
	uint64_t		 seq, count;
	size_t			 i;
	int			 fd, sfd, rc;

	if ((rc = metalog_sync(ml)) != 0)
		return rc;
	if ((fd = anon_file("berth-meta-state")) == -1) {
		log_warn("memfd");
		return berr_from_errno(errno);
	}
	memset(&l, 0, sizeof(l));
	logfile_writer_init(&l.w, fd);
	l.snap_seq = ml->snap_seq;
	if ((sfd = openat(ml->dir_fd, "snapshot", O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) != -1) {
		rc = snapshot_scan(sfd, metalog_load_cb, &l, &seq,
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
	for (i = 0; i < ml->nsegs; i++)
		if (ml->segs[i].last_seq > ml->snap_seq &&
		    (rc = metalog_load_file(ml, ml->segs[i].n,
		    ml->segs[i].size, &l)) != 0)
			goto fail;
	if ((rc = metalog_load_file(ml, ml->log_n, ml->log_end, &l)) != 0)
		goto fail;
	if (logfile_writer_finish(&l.w) == -1 || lseek(fd, 0, SEEK_SET) == -1) {
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
	(void)logfile_writer_finish(&l.w);
	close(fd);
	return rc;
}

int
metalog_compact(struct metalog *ml, int fd, uint64_t len, uint64_t entries)
{
	uint64_t seq;
	int	 rc;

	if ((rc = metalog_sync(ml)) != 0)
		return rc;
	seq = ml->next_seq - 1;
	if ((rc = snapshot_write(ml->dir_fd, fd, len, entries, seq,
	    ml->durable)) != 0)
		return rc;
	ml->snap_seq = seq;
	ml->snap_count = entries;
	if ((rc = metalog_fsync_dir(ml)) != 0)
		return rc;
	/* The log's entries are all in the snapshot now: it closes, and it
	 * goes with every file whose blobs are all gone. */
	if ((rc = metalog_roll(ml)) != 0)
		return rc;
	metalog_prune(ml);
	log_info("metadata compacted: %" PRIu64 " entries up to %" PRIu64,
	    entries, seq);
	return 0;
}
