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
 * berth-blobd: the storage worker.  It owns the data directory and serves
 * berthd over the socketpair described in proto.h.
 *
 * The data directory (--data-dir DIR), used by one process at a time:
 *
 *	DIR/lock			flock()ed while in use; holds the pid
 *	DIR/blobs/sha256/ab/abcd...	one file per blob, named by the hex of
 *	DIR/blobs/sha512/ab/abcd...	its digest, under its first two digits
 *	DIR/uploads/<uuid>/info		an upload session: owner, algorithm,
 *					creation time
 *	DIR/uploads/<uuid>/data		the bytes received so far
 *	DIR/meta/snapshot		the metadata at the last compaction
 *	DIR/meta/log			metadata entries appended since
 *	DIR/meta/log.torn-<epoch>	a torn log tail dropped at start-up,
 *					kept for inspection
 *	DIR/tmp/			files being written; emptied at start-up
 *
 * Durability: a blob is fsync'd, renamed into place and its directory
 * fsync'd before it is acknowledged; a metadata entry is fdatasync'd before
 * it is acknowledged.  Upload data is not synced as it arrives: after a
 * power loss an upload may be shorter than berthd was told, and
 * MSG_UPLOAD_STAT says where the client must resume.  Whatever the upload
 * holds, the digest is checked when it is committed.
 *
 * Returns: functions return 0 or a negative enum berr (error.h), which
 * serve.c passes to berthd as it is; constructors return NULL with the
 * reason logged; the thin wrappers of system calls (store_subdir,
 * store_opendir, store_empty_dir) return as the call does, -1 or NULL
 * with errno.
 */
#ifndef BERTH_BLOBD_H
#define BERTH_BLOBD_H

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "proto.h"
#include "rpc.h"
#include "util.h"

struct event;
struct event_base;
struct rpc_chan;

/* The size of every read, write and hash buffer. */
#define BLOBD_IO_SIZE		(1024 * 1024)
/* Upload data is pushed to the disk in steps this big as it arrives, so
 * that the fsync at commit has little left to do. */
#define UPLOAD_SYNC_STEP	(8ULL * 1024 * 1024)
/* Bytes hashed per loop iteration when an upload is re-read at commit. */
#define UPLOAD_HASH_STEP	(8ULL * 1024 * 1024)
#define UPLOAD_TTL_DEFAULT	86400
/* A session's directory: its id's UUID form (uuid_format). */
#define UPLOAD_NAME_LEN		UUID_STR_LEN

struct store {
	char		*path;		/* the data directory, for messages */
	int		 blobs_fd;	/* DIR/blobs */
	int		 algo_fd[2];	/* DIR/blobs/sha256, DIR/blobs/sha512 */
	int		 tmp_fd;	/* DIR/tmp */
	uint64_t	 blobs;		/* files in the store */
	uint64_t	 bytes;		/* and their sizes */
	uint64_t	 tmp_seq;	/* names temporary files */
};

enum upload_state {
	UPLOAD_IDLE,
	UPLOAD_APPENDING,	/* data file open, maybe a pipe being read */
	UPLOAD_HASHING		/* data file being re-read for the digest */
};

struct upload;
struct upload_table;

/* The end of an append from a pipe or of a re-hash: err is 0 or a
 * negative berr; the session is idle again and still exists. */
typedef void (*upload_done_cb)(struct upload *, int err, void *arg);

struct upload {
	struct upload		*next;		/* in its hash chain */
	struct upload_table	*table;
	uint8_t			 id[UPLOAD_ID_LEN];
	char			 name[UPLOAD_NAME_LEN];
	char			*owner;
	enum digest_algo	 algo;		/* of ctx */
	int64_t			 created;	/* epoch seconds */
	int64_t			 touched;	/* last use, epoch seconds */
	uint64_t		 size;		/* bytes in the data file */
	/*
	 * ctx has seen the first `hashed` bytes of the data.  While
	 * hashed == size, appends feed it and commit needs no re-read;
	 * otherwise (after a restart, or a commit with another algorithm)
	 * commit hashes the remainder from the file.
	 */
	struct digest_ctx	*ctx;
	uint64_t		 hashed;
	uint64_t		 synced;	/* write-back started to here */
	uint64_t		 waited;	/* and finished to here */
	enum upload_state	 state;
	int			 fd;		/* data file, while busy */
	int			 pipe;		/* an append being read */
	struct event		*ev;		/* pipe reader or hash step */
	upload_done_cb		 done_cb;
	void			*done_arg;
};

struct upload_table {
	struct store		*store;
	struct event_base	*base;
	int			 dir_fd;	/* DIR/uploads */
	int64_t			 ttl;
	struct upload		**buckets;
	size_t			 nbuckets;	/* a power of two */
	size_t			 count;
	uint8_t			*buf;		/* BLOBD_IO_SIZE */
};

struct metalog {
	int		 dir_fd;	/* DIR/meta */
	int		 log_fd;
	uint64_t	 log_end;	/* bytes written to the log */
	uint64_t	 synced_end;	/* of which fdatasync'd */
	uint64_t	 next_seq;	/* of the next entry appended */
	uint64_t	 synced_seq;	/* next_seq at the last sync */
	uint64_t	 snap_seq;	/* last seq in the snapshot, 0: none */
	uint64_t	 snap_count;	/* entries in the snapshot */
};

/* serve.c: one pending reply to a META_APPEND (sent after the sync). */
struct blobd_meta_wait {
	uint32_t	 id;
	uint64_t	 seq;
};

/* blobd.c: the process. */
struct blobd {
	struct event_base	*base;
	struct rpc_chan		*chan;
	struct store		*store;
	struct upload_table	*uploads;
	struct metalog		*metalog;
	struct event		*ev_meta_sync;
	struct event		*ev_expire;
	struct event		*ev_sigterm;
	struct event		*ev_sigint;
	struct blobd_meta_wait	*meta_waits;
	size_t			 nmeta_waits;
	size_t			 meta_waits_cap;
};

/* store.c */
/*
 * Creates DIR/blobs/{sha256,sha512} and DIR/tmp under datadir_fd (which is
 * not kept), empties DIR/tmp and counts the stored blobs.  NULL, with the
 * reason logged, when the directory is unusable.
 */
struct store	*store_new(int datadir_fd, const char *path);
void		 store_free(struct store *);
/*
 * Stores size bytes of data as the blob d after checking that they hash to
 * d.  *created is 1 for a new blob, 0 when it existed (its mtime is then
 * set to now, which tells a GC sweep in progress to spare it).  0 or
 * BERR_DIGEST_INVALID, BERR_IO, BERR_NOSPACE.
 */
int		 store_write(struct store *, const struct digest *,
		    const void *data, size_t size, int *created);
/*
 * Moves the file srcname (relative to srcdir; fd is it, open) into the
 * store as the blob d, whose content the caller has verified: fdatasync,
 * rename, fsync of the directory.  If the blob exists, srcname is removed
 * and the blob's mtime set to now.  On error srcname stays where it was,
 * unless it was already renamed (then the blob exists but may not be
 * durable).  0 or a negative berr.
 */
int		 store_commit(struct store *, int fd, int srcdir,
		    const char *srcname, const struct digest *, uint64_t size,
		    int *created);
/* A read-only descriptor of the blob, and its size; BERR_BLOB_UNKNOWN. */
int		 store_open_blob(struct store *, const struct digest *,
		    int *fd, uint64_t *size);
/* lstat of the blob: 0, BERR_BLOB_UNKNOWN or BERR_IO. */
int		 store_stat_blob(struct store *, const struct digest *,
		    struct stat *);
/* Unlinks the blob (no fsync: see store_sync_fanout) and updates the
 * counters with sb, its stat. */
int		 store_remove_blob(struct store *, const struct digest *,
		    const struct stat *sb);
/* fsyncs the directory DIR/blobs/<algo>/<fanout>; 0 or a negative berr. */
int		 store_sync_fanout(struct store *, enum digest_algo,
		    unsigned int fanout);
/* The fan-out directory's index (0..255) of a digest. */
unsigned int	 store_fanout(const struct digest *);
/* Calls cb for every blob in the store until it returns non-zero, which
 * store_walk then returns; BERR_IO if a directory cannot be read. */
int		 store_walk(struct store *,
		    int (*cb)(const struct digest *, const struct stat *,
		    void *), void *arg);
/* 1 if a file can be created, written and removed in DIR/tmp now. */
int		 store_probe(struct store *);
/* mkdirat (0750) that fsyncs dirfd when the directory is new, then opens
 * it; the directory's fd or -1 with errno. */
int		 store_subdir(int dirfd, const char *name);
/* opendir of name beneath dirfd, not following a link; NULL with errno. */
DIR		*store_opendir(int dirfd, const char *name);
/* Unlinks every file in the directory dfd; -1 if it cannot be read. */
int		 store_empty_dir(int dfd);

/* upload.c */
/*
 * Loads the sessions in DIR/uploads (created if missing); those whose info
 * is missing or corrupt are removed.  base may be NULL when nothing is
 * streamed from pipes (tests).  ttl is --upload-ttl in seconds.  NULL, with
 * the reason logged, if the directory is unusable.
 */
struct upload_table *upload_table_new(struct store *, int datadir_fd,
		    struct event_base *, int64_t ttl);
/* Stops appends and hashing in progress without calling their callbacks. */
void		 upload_table_free(struct upload_table *);
/* A new, empty session; algo 0 means sha256.  0 or a negative berr. */
int		 upload_create(struct upload_table *, const char *owner,
		    enum digest_algo, struct upload **);
/* The session with this id if it belongs to owner (and marks it used);
 * NULL otherwise. */
struct upload	*upload_find(struct upload_table *, const uint8_t *id,
		    const char *owner);
/* Removes an idle session; BERR_UPLOAD_BUSY otherwise. */
int		 upload_cancel(struct upload *);
/*
 * Starts an append at offset, which must be the session's size or
 * UINT64_MAX.  0, BERR_UPLOAD_BUSY, BERR_RANGE_INVALID (nothing changed),
 * or an I/O error.  The session is busy until upload_append_end().
 */
int		 upload_append_begin(struct upload *, uint64_t offset);
/* Writes n bytes at the end of an appending session and feeds the hash.
 * 0, or a negative berr with the session's size unchanged. */
int		 upload_write(struct upload *, const void *, size_t);
void		 upload_append_end(struct upload *);
/*
 * Appends what can be read from pipe (a pipe or socket, else
 * BERR_BAD_REQUEST) until EOF, in the event loop; takes pipe (closed when
 * done or on error).  done_cb is called once, never from within this call,
 * unless an error is returned (then it is not called).
 */
int		 upload_append_pipe(struct upload *, uint64_t offset,
		    int pipe, upload_done_cb, void *arg);
/* Bytes a commit with this algorithm would have to read back and hash. */
uint64_t	 upload_hash_pending(const struct upload *, enum digest_algo);
/* Hashes what is pending in UPLOAD_HASH_STEP pieces, one per loop
 * iteration; the session is busy meanwhile.  Same contract as
 * upload_append_pipe(). */
int		 upload_hash_start(struct upload *, enum digest_algo,
		    upload_done_cb, void *arg);
/*
 * Checks the session's content against d (and size unless UINT64_MAX),
 * stores it as a blob and removes the session.  On BERR_SIZE_INVALID,
 * BERR_DIGEST_INVALID and storage errors the session stays (unless its
 * data has already been moved into the store).
 */
int		 upload_commit(struct upload *, const struct digest *,
		    uint64_t size, int *created);
/* Removes the idle sessions unused since now - ttl; returns how many. */
size_t		 upload_expire(struct upload_table *, int64_t now);

/* metalog.c */
/*
 * Opens DIR/meta (created if missing) and checks the snapshot and the log.
 * A torn log tail is copied to meta/log.torn-<epoch>, cut off and logged.
 * NULL, with the reason logged, when the data cannot be trusted (a corrupt
 * snapshot, a gap in the sequence) or read.
 */
struct metalog	*metalog_new(int datadir_fd);
void		 metalog_free(struct metalog *);
/* Writes one entry (1..FRAME_MAX_PAYLOAD bytes) and gives its seq; it is
 * durable only after metalog_sync().  0 or a negative berr. */
int		 metalog_append(struct metalog *, const void *, size_t,
		    uint64_t *seq);
/*
 * fdatasyncs what was appended since the last sync.  On failure those
 * entries are cut off again (their seqs will be reused) and the error is
 * returned.
 */
int		 metalog_sync(struct metalog *);
/* An anonymous file at offset 0 with the snapshot's entries, then the
 * log's newer ones, each a u32 length and the bytes (MSG_META_STATE). */
int		 metalog_load(struct metalog *, int *fd, uint64_t *len,
		    uint64_t *entries);
/*
 * Replaces everything appended so far (syncing first) with the entries
 * read from fd, in the MSG_META_COMPACT format, after checking them.  0,
 * BERR_BAD_REQUEST for content that does not match len and entries, or a
 * storage error.
 */
int		 metalog_compact(struct metalog *, int fd, uint64_t len,
		    uint64_t entries);
/* The log file's size in bytes. */
uint64_t	 metalog_log_bytes(const struct metalog *);

/* gc.c */
/* An anonymous file at offset 0 with a struct gc_blob per stored blob. */
int		 gc_list(struct store *, int *fd, uint64_t *count);
/*
 * Deletes the blobs named by the count struct gc_blob records in fd whose
 * mtime is not after not_after_ms (nothing with dry_run), and sums what was
 * (or would be) deleted.  0, BERR_BAD_REQUEST for a malformed record file,
 * or a storage error.
 */
int		 gc_sweep(struct store *, int fd, uint64_t count,
		    int64_t not_after_ms, int dry_run, uint64_t *blobs,
		    uint64_t *bytes);

/* serve.c */
/* The frames blobd accepts from berthd, each with its handler. */
extern const struct rpc_rule	serve_rules[];
extern const size_t		serve_nrules;
/* Serves berthd on sock (taken) from env's event loop, and says hello. */
void		 serve_start(struct blobd *, int sock);

#endif
