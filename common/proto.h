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
 * The protocol between berthd and berth-blobd over their socketpair.
 *
 * Every message is a frame: struct frame_hdr, then len payload bytes
 * (len <= FRAME_MAX_PAYLOAD).  A frame with FRAME_F_FD set carries exactly
 * one descriptor (SCM_RIGHTS) sent with its first byte.  Integers are in
 * host order: both ends run on one machine from one build, and the hello
 * exchange checks PROTOCOL_VERSION.  berthd numbers its requests (id != 0);
 * blobd answers each with exactly one reply frame carrying the same id,
 * though not necessarily in request order.  Payloads are the fixed structs
 * below; where a struct says "followed by", the trailing bytes' length is
 * given by a field of the struct and the frame length must match exactly.
 * Strings in fixed arrays are NUL-terminated within the array.  A frame
 * that breaks these rules (a length or a descriptor its type does not
 * allow, a length that disagrees with its size field, an id other than 0
 * where the type says id 0) is malformed and ends the channel: it gets no
 * MSG_ERROR.
 */
#ifndef BERTH_PROTO_H
#define BERTH_PROTO_H

#include <stdint.h>

#include "digest.h"

/* 3: link records riding with blob writes and MSG_META_RELEASE (each was
 * a version 2, on two branches). */
#define PROTOCOL_VERSION	4

/* blobd's end of the socketpair, as berthd execs it. */
#define BLOBD_SOCKET_FD		3
/* blobd exit statuses berthd interprets. */
#define BLOBD_EXIT_CONFIG	2	/* bad arguments or data directory */
#define BLOBD_EXIT_LOCKED	3	/* another process holds the data dir */

#define FRAME_MAX_PAYLOAD	(6u * 1024 * 1024)
#define FRAME_F_FD		0x1

struct frame_hdr {
	uint32_t	type;
	uint32_t	len;
	uint32_t	id;
	uint32_t	flags;
};
#define FRAME_HDR_LEN		((uint32_t)sizeof(struct frame_hdr))

/* "<account>/<region>/<repository>": who an upload belongs to. */
#define OWNER_MAX		320
/* Clients see upload ids as UUIDs (uuid_format in util.h). */
#define UPLOAD_ID_LEN		16
/* Data written inline with MSG_BLOB_WRITE or MSG_UPLOAD_COMMIT at most. */
#define BLOB_WRITE_MAX		(1024 * 1024)
/* A metadata entry that rides with a blob, at most. */
#define LINK_ENTRY_MAX		(64 * 1024)

enum msg_type {
	MSG_HELLO = 1,		/* b->d, id 0: struct msg_hello */
	MSG_OK,			/* reply: no payload */
	MSG_ERROR,		/* reply: struct msg_error */

	MSG_UPLOAD_CREATE,	/* d->b: struct msg_upload_create */
	MSG_UPLOAD_CREATED,	/* reply: struct msg_upload_created */
	MSG_UPLOAD_APPEND,	/* d->b: struct msg_upload_append + pipe fd */
	MSG_UPLOAD_STAT,	/* d->b: struct msg_upload_ref */
	MSG_UPLOAD_STATUS,	/* reply to APPEND, STAT: msg_upload_status */
	MSG_UPLOAD_CANCEL,	/* d->b: struct msg_upload_ref; reply OK */
	MSG_UPLOAD_COMMIT,	/* d->b: struct msg_upload_commit */

	MSG_BLOB_WRITE,		/* d->b: struct msg_blob_write + data */
	MSG_BLOB_COMMITTED,	/* reply to COMMIT, WRITE: msg_blob_committed */
	MSG_BLOB_OPEN,		/* d->b: struct msg_blob_ref */
	MSG_BLOB_OPENED,	/* reply: struct msg_blob_opened + file fd */

	MSG_META_APPEND,	/* d->b: one log entry (opaque bytes) */
	MSG_META_APPENDED,	/* reply: struct msg_meta_appended */
	MSG_META_LOAD,		/* d->b: no payload */
	MSG_META_STATE,		/* reply: struct msg_meta_state + fd */
	MSG_META_COMPACT,	/* d->b: struct msg_meta_compact + fd; OK */

	MSG_GC_LIST,		/* d->b: no payload */
	MSG_GC_LISTING,		/* reply: struct msg_gc_listing + fd */
	MSG_GC_SWEEP,		/* d->b: struct msg_gc_sweep + fd */
	MSG_GC_SWEPT,		/* reply: struct msg_gc_swept */

	MSG_STATS,		/* d->b: no payload */
	MSG_STATS_REPLY,	/* reply: struct msg_stats_reply */

	MSG_LOG_REOPEN,		/* d->b, id 0, no reply: new stderr fd */

	/* d->b: a log entry that only deletes, answered as MSG_META_APPEND
	 * is; on a full disk it may use the space reserve (berth-blobd(8)). */
	MSG_META_RELEASE,
	/* d->b: struct msg_upload_ref; reply MSG_BLOB_OPENED with a
	 * read-only descriptor of the session's file, which grows as its
	 * append goes on (the pull through cache's joined GETs follow it);
	 * size is what the session holds, offset 0.  BERR_UPLOAD_UNKNOWN
	 * once it is committed or cancelled, BERR_UPLOAD_BUSY while its
	 * bytes are held in memory, not in the file. */
	MSG_UPLOAD_OPEN,
	MSG__MAX
};

struct msg_hello {
	uint32_t	version;	/* PROTOCOL_VERSION */
	uint32_t	pid;
};

struct msg_error {
	int32_t		code;		/* enum berr */
	uint32_t	pad;
	uint64_t	size;		/* uploads: the session's size now */
};

/*
 * algo is the enum digest_algo the client is expected to commit with
 * (0: sha256), so that blobd can hash the data as it arrives.
 */
struct msg_upload_create {
	char		owner[OWNER_MAX];
	uint32_t	algo;
	uint32_t	pad;
};

struct msg_upload_created {
	uint8_t		id[UPLOAD_ID_LEN];
};

struct msg_upload_ref {
	uint8_t		id[UPLOAD_ID_LEN];
	char		owner[OWNER_MAX];
};

/*
 * Append the bytes read from the passed pipe until EOF.  offset must equal
 * the session's size (BERR_RANGE_INVALID otherwise, and nothing is read).
 * length is the number of bytes berthd expects to send, or UINT64_MAX when
 * unknown (chunked transfer encoding).  The reply comes after EOF.
 */
struct msg_upload_append {
	uint8_t		id[UPLOAD_ID_LEN];
	char		owner[OWNER_MAX];
	uint64_t	offset;
	uint64_t	length;
};

struct msg_upload_status {
	uint64_t	size;
};

/*
 * Append data_len bytes of data (which follow the struct; offset is where
 * they go: the session's size, or UINT64_MAX) to the session, verify its
 * content against digest (and size unless it is UINT64_MAX), store it as
 * a blob, and end the session.  On a mismatch the session stays so that
 * the client may retry or cancel.  Then, if entry_len is not 0, append
 * the entry_len bytes after the data to the metadata log as MSG_META_APPEND
 * would (the record that links the blob): MSG_BLOB_COMMITTED comes once
 * blob and entry are both durable, and neither is written if the blob is
 * refused.  A small blob and its entry are made durable together.
 */
struct msg_upload_commit {
	uint8_t		id[UPLOAD_ID_LEN];
	char		owner[OWNER_MAX];
	char		digest[DIGEST_STR_MAX];
	uint64_t	size;
	uint64_t	offset;
	uint32_t	data_len;	/* at most BLOB_WRITE_MAX */
	uint32_t	entry_len;	/* at most LINK_ENTRY_MAX */
};

/* Store a small blob in one step; followed by exactly size bytes of
 * content (at most BLOB_WRITE_MAX), then entry_len bytes of a metadata
 * entry, as with MSG_UPLOAD_COMMIT. */
struct msg_blob_write {
	char		digest[DIGEST_STR_MAX];
	uint64_t	size;
	uint32_t	entry_len;	/* at most LINK_ENTRY_MAX */
	uint32_t	pad;
};

struct msg_blob_committed {
	char		digest[DIGEST_STR_MAX];
	uint64_t	size;
	uint32_t	created;	/* 0: the blob was already stored */
	uint32_t	pad;
	uint64_t	seq;		/* of the entry, 0: none */
};

struct msg_blob_ref {
	char		digest[DIGEST_STR_MAX];
};

/* The fd is a read-only descriptor of the file the blob is in, from
 * offset on (small blobs share a file). */
struct msg_blob_opened {
	uint64_t	size;
	uint64_t	offset;
};

/* The entry is durable (fsync'd) when this reply is sent. */
struct msg_meta_appended {
	uint64_t	seq;
};

/*
 * The fd holds the whole metadata state: the snapshot's entries, then the
 * log's, each as a u32 length and that many bytes, len bytes in all.
 */
struct msg_meta_state {
	uint64_t	len;
	uint64_t	entries;
};

/*
 * The fd holds a snapshot in the same form as MSG_META_STATE; it replaces
 * every entry appended before this message.
 */
struct msg_meta_compact {
	uint64_t	len;
	uint64_t	entries;
};

/* The fd holds count struct gc_blob records. */
struct msg_gc_listing {
	uint64_t	count;
};

struct gc_blob {
	char		digest[DIGEST_STR_MAX];
	uint64_t	size;
	int64_t		mtime_ms;
};

/*
 * The fd holds count struct gc_blob records to delete.  blobd skips a blob
 * whose mtime is after not_after_ms (it was stored again since the list
 * was made).  With dry_run set, nothing is deleted but the totals are
 * computed the same way.
 */
struct msg_gc_sweep {
	uint64_t	count;
	int64_t		not_after_ms;
	uint32_t	dry_run;
	uint32_t	pad;
};

struct msg_gc_swept {
	uint64_t	blobs;
	uint64_t	bytes;
};

struct msg_stats_reply {
	uint64_t	blobs;
	uint64_t	bytes;
	uint64_t	uploads;
	uint64_t	meta_log_bytes;
	uint32_t	writable;	/* a probe write to DIR works */
	uint32_t	pad;
	uint64_t	held_bytes;	/* uploads held in memory */
	uint64_t	held_refused;	/* appends that could have been */
	uint64_t	commit_size_refused; /* commits with a wrong size */
};

#endif
