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
 * The metadata snapshot, DIR/meta/snapshot: every entry of berthd's state
 * at a compaction, written by berthd into a file (MSG_META_COMPACT) and
 * checked here twice, before anything on disk changes and while it is
 * copied, since berthd could change the file in between.  Integers are
 * little-endian: "BERTHSNP" u32 version, u32 crc, u64 seq, u64 count (crc
 * over seq and count; seq is the last log entry the snapshot replaces),
 * then the entries: u32 len, u32 crc (over the bytes), len bytes.
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

#define SNAP_MAGIC		"BERTHSNP"
#define SNAP_VERSION		1
#define SNAP_HDR_LEN		32
#define SNAP_ENTRY_HDR_LEN	8

/*
 * Reads and checks a whole snapshot, calling cb (if not NULL) for each
 * entry.  0, or -1 with *why set.
 */
int
snapshot_scan(int fd, snapshot_entry_cb cb, void *arg,
    uint64_t *seq, uint64_t *count, const char **why)
{
	struct logfile_reader	 r;
	const uint8_t		*p;
	uint64_t		 i;
	uint32_t		 len;
	int			 rc;

	logfile_reader_init(&r, fd, 0, UINT64_MAX);
	*why = "truncated header";
	if ((rc = logfile_reader_fill(&r, SNAP_HDR_LEN)) != 0)
		goto fail;
	p = r.buf;
	*why = "bad magic or version";
	if (memcmp(p, SNAP_MAGIC, 8) != 0 ||
	    le32dec(p + 8) != SNAP_VERSION)
		goto fail;
	*why = "bad header checksum";
	if (crc32c(0, p + 16, 16) != le32dec(p + 12))
		goto fail;
	*seq = le64dec(p + 16);
	*count = le64dec(p + 24);
	r.pos = SNAP_HDR_LEN;
	for (i = 0; i < *count; i++) {
		*why = "truncated";
		if ((rc = logfile_reader_fill(&r, SNAP_ENTRY_HDR_LEN)) != 0)
			goto fail;
		len = le32dec(r.buf + r.pos);
		*why = "bad entry length";
		if (len > FRAME_MAX_PAYLOAD)
			goto fail;
		*why = "truncated";
		if ((rc = logfile_reader_fill(&r, SNAP_ENTRY_HDR_LEN + len)) !=
		    0)
			goto fail;
		p = r.buf + r.pos;
		*why = "bad entry checksum";
		if (crc32c(0, p + SNAP_ENTRY_HDR_LEN, len) != le32dec(p + 4))
			goto fail;
		*why = "cannot copy";
		if (cb != NULL && cb(0, p + SNAP_ENTRY_HDR_LEN, len, arg) != 0)
			goto fail;
		r.pos += SNAP_ENTRY_HDR_LEN + len;
	}
	*why = "trailing bytes";
	if ((rc = logfile_reader_fill(&r, 1)) != 1)
		goto fail;
	logfile_reader_clear(&r);
	return 0;
fail:
	if (rc == -1)
		*why = strerror(errno);
	logfile_reader_clear(&r);
	return -1;
}

/*
 * Reads the entries of a MSG_META_COMPACT file, calling cb for each if
 * not NULL.  0, or BERR_BAD_REQUEST if they do not add up to exactly len
 * bytes and count entries.
 */
static int
snapshot_read_state(int fd, uint64_t len, uint64_t count, snapshot_entry_cb cb,
    void *arg)
{
	struct logfile_reader	 r;
	uint64_t		 n = 0;
	uint32_t		 elen;
	int			 rc = 0;

	logfile_reader_init(&r, fd, 0, len);
	while (logfile_reader_offset(&r) < r.end) {
		if (n == count || logfile_reader_fill(&r, sizeof(elen)) != 0) {
			rc = BERR_BAD_REQUEST;
			break;
		}
		memcpy(&elen, r.buf + r.pos, sizeof(elen));
		if (elen > FRAME_MAX_PAYLOAD ||
		    logfile_reader_fill(&r, sizeof(elen) + elen) != 0) {
			rc = BERR_BAD_REQUEST;
			break;
		}
		if (cb != NULL && (rc = cb(0, r.buf + r.pos + sizeof(elen),
		    elen, arg)) != 0)
			break;
		r.pos += sizeof(elen) + elen;
		n++;
	}
	logfile_reader_clear(&r);
	if (rc == 0 && n != count)
		rc = BERR_BAD_REQUEST;
	return rc;
}

static int
snapshot_copy_cb(uint64_t seq, const uint8_t *p, size_t n, void *arg)
{
	struct logfile_writer	*w = arg;
	uint8_t			 hdr[SNAP_ENTRY_HDR_LEN];

	le32enc(hdr, (uint32_t)n);
	le32enc(hdr + 4, crc32c(0, p, n));
	logfile_writer_put(w, hdr, sizeof(hdr));
	logfile_writer_put(w, p, n);
	return 0;
}

int
snapshot_write(int dir_fd, int fd, uint64_t len, uint64_t entries,
    uint64_t seq, int durable)
{
	struct logfile_writer	 w;
	uint8_t			 hdr[SNAP_HDR_LEN];
	int			 sfd, rc;

	/* Check it all before anything on disk changes. */
	if ((rc = snapshot_read_state(fd, len, entries, NULL, NULL)) != 0) {
		log_warnx("compaction refused: the snapshot from berthd does "
		    "not hold %" PRIu64 " entries in %" PRIu64 " bytes",
		    entries, len);
		return rc;
	}
	if ((sfd = openat(dir_fd, "snapshot.tmp", O_WRONLY | O_CREAT |
	    O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640)) == -1) {
		log_warn("meta/snapshot.tmp");
		return berr_from_errno(errno);
	}
	memcpy(hdr, SNAP_MAGIC, 8);
	le32enc(hdr + 8, SNAP_VERSION);
	le64enc(hdr + 16, seq);
	le64enc(hdr + 24, entries);
	le32enc(hdr + 12, crc32c(0, hdr + 16, 16));
	logfile_writer_init(&w, sfd);
	logfile_writer_put(&w, hdr, sizeof(hdr));
	/* berthd could change the file since the check: check again. */
	rc = snapshot_read_state(fd, len, entries, snapshot_copy_cb,
	    &w);
	if (logfile_writer_finish(&w) == -1) {
		log_warn("meta/snapshot.tmp");
		if (rc == 0)
			rc = berr_from_errno(errno);
	}
	if (rc == 0 && durable && fdatasync(sfd) == -1)
		rc = berr_from_errno(errno);
	close(sfd);
	if (rc == 0 && renameat(dir_fd, "snapshot.tmp", dir_fd,
	    "snapshot") == -1) {
		log_warn("meta/snapshot");
		rc = berr_from_errno(errno);
	}
	if (rc != 0) {
		(void)unlinkat(dir_fd, "snapshot.tmp", 0);
		return rc;
	}
	return 0;
}
