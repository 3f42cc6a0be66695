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
 * it is acknowledged (commit.c groups all of these into rounds).  Upload
 * data is written with O_DIRECT where the file system allows, a buffer at
 * a time, and not synced as it arrives: after a crash an upload may be
 * shorter than berthd was told, and MSG_UPLOAD_STAT says where the client
 * must resume.  Whatever the upload holds, the digest is checked when it
 * is committed.
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
/* Blobs up to this size are packed (kept in the metadata log's files). */
#define PACK_BLOB_MAX		BLOB_WRITE_MAX
/*
 * How long a packed blob's bytes stay after GC removed it, unless the disk
 * is short of space (PACK_PUNCH_LOW_FREE free, or the reserve spent): a
 * pull that opened it before sends them (at most 1 MiB) in that time, as
 * it would from an unlinked file.  berthd drops a response that makes no
 * progress for 120 s.
 */
#define PACK_PUNCH_DELAY_MS	(10 * 60 * 1000)
#define PACK_PUNCH_LOW_FREE	(256 * 1024 * 1024)
/* The log closes into a segment when it grows past this. */
#define METALOG_SEGMENT_MAX	(64ULL * 1024 * 1024)
/* Names of files that become blobs, relative to their directory. */
#define COMMIT_NAME_MAX		64
/* Upload data is pushed to the disk in steps this big as it arrives, so
 * that the fsync at commit has little left to do. */
#define UPLOAD_SYNC_STEP	(8ULL * 1024 * 1024)
/* Direct writes of upload data: alignment, the size of each write (and of
 * the buffer an append has), and how many appends have one at once. */
#define UPLOAD_DIO_ALIGN	4096
#define UPLOAD_DIO_CHUNK	BLOBD_IO_SIZE
#define UPLOAD_DIO_MAX		16
/* Bytes of small uploads held in memory at once (upload_held.c). */
#define UPLOAD_HELD_MAX		(16 * 1024 * 1024)
/* Bytes hashed per loop iteration when an upload is re-read at commit. */
#define UPLOAD_HASH_STEP	(8ULL * 1024 * 1024)
#define UPLOAD_TTL_DEFAULT	86400
/* A session's directory: its id's UUID form (uuid_format). */
#define UPLOAD_NAME_LEN		UUID_STR_LEN

struct pack;

struct store {
	char		*path;		/* the data directory, for messages */
	int		 blobs_fd;	/* DIR/blobs */
	int		 algo_fd[2];	/* DIR/blobs/sha256, DIR/blobs/sha512 */
	int		 tmp_fd;	/* DIR/tmp */
	int		 durable;	/* 0: --durability relaxed */
	int		 counted;	/* blobs and bytes are known */
	int		 new_algo;	/* DIR/blobs waits for an fsync */
	uint64_t	 blobs;		/* files and packed blobs */
	uint64_t	 bytes;		/* and their sizes */
	uint64_t	 tmp_seq;	/* names temporary files */
	struct pack	*pack;		/* the small blobs in the log */
	struct metalog	*metalog;	/* where they are (store_attach) */
	size_t		 pack_max;	/* blobs up to this size go there */
};

/* Called for each blob: its size and mtime (packed: when stored). */
typedef int (*store_walk_cb)(const struct digest *, uint64_t size,
    int64_t mtime_ms, void *);

enum upload_state {
	UPLOAD_IDLE,
	UPLOAD_APPENDING,	/* data file open, maybe a pipe being read */
	UPLOAD_HASHING,		/* data file being re-read for the digest */
	UPLOAD_COMMITTING	/* in a commit round (commit.c) */
};

struct upload;
struct upload_table;
struct write_job;

/* writer.c: a direct write; the buffer stays the caller's meanwhile. */
struct write_job {
	struct write_job	*next;
	int			 fd;
	const void		*buf;
	size_t			 len;
	uint64_t		 off;
	size_t			 done;		/* bytes written */
	int			 err;		/* errno, if it failed */
	void			(*done_cb)(struct write_job *, void *);
	void			*done_arg;
};

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
	int			 on_disk;	/* its directory is written */
	uint8_t			 boot[UUID_LEN]; /* when the data was written */
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
	int			 dio_fd;	/* the same, O_DIRECT (or -1) */
	/* Direct writes: one buffer fills while the writer takes the other
	 * (UPLOAD_DIO_CHUNK each, aligned). */
	uint8_t			*dio_buf[2];
	int			 dio_cur;	/* the one filling */
	size_t			 dio_fill;	/* bytes in it */
	uint64_t		 dio_off;	/* its file offset */
	uint64_t		 dio_disk;	/* bytes in the file itself */
	struct write_job	 dio_job;	/* the other one's write */
	int			 dio_busy;	/* dio_job is with the writer */
	int			 dio_stalled;	/* reading waits for it */
	int			 dio_ended;	/* so does the end */
	int			 dio_end_err;
	int			 pipe;		/* an append being read */
	uint8_t			*held;		/* its bytes, when held */
	size_t			 held_cap;
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
	size_t			 dio_count;	/* sessions with dio_bufs */
	size_t			 dio_max;	/* UPLOAD_DIO_MAX */
	int			 no_dio;	/* the file system has none */
	size_t			 held_bytes;	/* UPLOAD_HELD_MAX */
	/* Appends that could have been held (a new session's first, of a
	 * length the pack takes) and went to a file instead. */
	uint64_t		 held_refused;
	struct writer		*writer;	/* started by the first */
	uint8_t			 boot[UUID_LEN]; /* this boot's id */
	int			 boot_known;
};

/* logfile.c: the log's files.  See logfile.c for the entries. */
#define LOG_MAGIC		"BERTHLOG"
#define LOG_VERSION		2	/* 1: without blob entries */
#define LOG_HDR_LEN		12
#define LOG_ENTRY_HDR_LEN	16
#define LOG_F_BLOB		0x80000000u
#define LOG_F_DEAD		0x40000000u
#define LOG_LEN_MASK		0x0fffffffu
#define LOG_ENTRY_MAX		FRAME_MAX_PAYLOAD
/* A blob entry's payload before the raw digest. */
#define LOG_BLOB_HDR_LEN	16

/* Sequential reads of [off, end) of a file through a buffer. */
struct logfile_reader {
	int		 fd;
	uint64_t	 off;		/* file offset of buf[0] */
	uint64_t	 end;
	uint8_t		*buf;
	size_t		 cap;
	size_t		 pos;		/* next byte to consume */
	size_t		 len;		/* bytes in buf */
};

/* Buffered writes to a file. */
struct logfile_writer {
	int		 fd;
	uint8_t		*buf;
	size_t		 len;
	uint64_t	 total;
	int		 error;		/* errno of the first failure */
};

/* An entry of a log file, as a scan finds it. */
struct logfile_entry {
	uint64_t	 off;		/* of its header in the file */
	uint32_t	 flags;		/* LOG_F_* */
	uint32_t	 len;		/* of the payload */
	uint64_t	 seq;		/* 0 for a blob */
	const uint8_t	*payload;	/* a blob's may be its head only */
	struct digest	 digest;	/* blobs: */
	int64_t		 stored_ms;
	uint64_t	 data_off;	/* of the blob's bytes in the file */
	uint32_t	 data_len;
};

/* metalog.c: a closed segment of the log, DIR/meta/log.<n>. */
struct metalog_seg {
	uint64_t	 n;
	uint64_t	 size;
	uint64_t	 last_seq;	/* of its last berthd entry, 0: none */
	uint64_t	 blobs;		/* its live blob entries */
	int		 wr_fd;		/* open while dead marks wait */
	int		 dead;		/* a dead mark waits for a sync */
};

/* Called for every live blob entry found at start-up, in log order; and
 * when a failed sync cut the log back to end. */
typedef void (*metalog_blob_cb)(uint64_t file, const struct logfile_entry *,
    void *arg);
typedef void (*metalog_cut_cb)(uint64_t file, uint64_t end, void *arg);

struct metalog {
	int		 durable;	/* 0: --durability relaxed */
	int		 dir_fd;	/* DIR/meta */
	int		 log_fd;
	uint32_t	 version;	/* of the log's header */
	uint64_t	 log_n;		/* the number the log takes closed */
	uint64_t	 log_end;	/* bytes written to the log */
	uint64_t	 synced_end;	/* of which fdatasync'd */
	uint64_t	 next_seq;	/* of the next entry appended */
	uint64_t	 synced_seq;	/* next_seq at the last sync */
	uint64_t	 snap_seq;	/* last seq in the snapshot, 0: none */
	uint64_t	 snap_count;	/* entries in the snapshot */
	uint64_t	 log_last_seq;	/* of the log's last berthd entry */
	uint64_t	 log_blobs;	/* the log's live blob entries */
	int		 log_dead;	/* a dead mark in the log waits */
	uint64_t	 seg_max;	/* METALOG_SEGMENT_MAX */
	int		 fresh;		/* the log was made by this start:
					   DIR/meta waits for an fsync */
	struct metalog_seg *segs;	/* the closed segments, in order */
	size_t		 nsegs;
	metalog_blob_cb	 blob_cb;
	metalog_cut_cb	 cut_cb;
	void		*blob_arg;
	struct logspare	*spare;		/* NULL: logs start empty */
};

struct commit;
typedef void (*commit_done_cb)(struct commit *, void *);

/*
 * One change to put on disk before it is acknowledged (commit.c): a file
 * that becomes a blob (fd != -1), or a point in the metadata log that must
 * be synced (log_end != 0), or neither (it is answered after every change
 * before it is on disk).
 */
struct commit {
	struct commit	*next;
	int		 fd;		/* the file (commit_clear closes) */
	int		 src_dir;	/* where it is now (not owned) */
	char		 src_name[COMMIT_NAME_MAX];
	int		 dst_dir;	/* its fan-out dir (commit_clear) */
	char		 dst_name[2 * DIGEST_RAW_MAX + 1];
	unsigned int	 dir_id;	/* the fan-out dir: one fsync each */
	int		 parent_dir;	/* -1, or dst_dir is new: fsync this */
	uint64_t	 log_end;	/* the log is synced past here */
	int		 err;		/* the outcome: 0 or a negative berr */
	int		 created;	/* the file became the blob (1) or the
					   blob was there (0) */
	commit_done_cb	 done_cb;	/* in the loop: on disk, or failed */
	void		*done_arg;
};

/* blobd.c: the process. */
/* reserve.c: room kept on the disk for deletes (see reserve.c). */
#define RESERVE_BYTES		(8 * 1024 * 1024)
struct reserve {
	int		 dir_fd;	/* DIR/meta */
	int		 held;		/* meta/reserve is allocated */
	int		 durable;	/* 0: --durability relaxed */
	int64_t		 tried_ms;	/* mono_ms() of the last failed try */
};

struct blobd {
	struct event_base	*base;
	struct rpc_chan		*chan;
	struct store		*store;
	struct upload_table	*uploads;
	struct metalog		*metalog;
	struct reserve		*reserve;
	struct committer	*committer;
	/* Commits refused for a size or offset not the session's (berthd's
	 * guess of the size was wrong: it asks and commits again). */
	uint64_t		 commit_size_refused;
	int			 durable;	/* 0: --durability relaxed */
	struct serve_gc		*gc_list;	/* a listing in progress */
	struct serve_gc		*gc_sweep;	/* a sweep in progress */
	struct event		*ev_expire;
	struct event		*ev_trim;	/* heap_trim, every few seconds */
	struct event		*ev_punch;	/* packed blobs' holes */
	struct event		*ev_sigterm;
	struct event		*ev_sigint;
};

/* store.c */
/*
 * Creates DIR/blobs/{sha256,sha512} and DIR/tmp under datadir_fd (which is
 * not kept) and empties DIR/tmp.  *new_dirs is
 * set if DIR got a new directory: the caller fsyncs DIR.  NULL, with the
 * reason logged, when the directory is unusable.
 */
struct store	*store_new(int datadir_fd, const char *path, int *new_dirs);
void		 store_free(struct store *);
/* The blobs stored and their bytes (counted when first asked); 0 or a
 * negative berr. */
int		 store_counts(struct store *, uint64_t *blobs, uint64_t *bytes);
/* metalog_new()'s callbacks: the packed blobs it finds, a cut log. */
void		 store_found_cb(uint64_t file, const struct logfile_entry *,
		    void *store);
void		 store_cut_cb(uint64_t file, uint64_t end, void *store);
/*
 * Takes the metadata log whose files hold the packed blobs (after
 * metalog_new), counts them, and packs blobs up to pack_max bytes from
 * now on (0: none).  0 or a negative berr.
 */
int		 store_attach(struct store *, struct metalog *,
		    size_t pack_max);
/*
 * Checks that size bytes of data hash to d and stores them (store_put).
 * 0 or BERR_DIGEST_INVALID, BERR_IO, BERR_NOSPACE.
 */
int		 store_write(struct store *, const struct digest *,
		    const void *data, size_t size, struct commit *);
/*
 * Stores size bytes of data, which hash to d, as that blob, durably once
 * the commit c prepared here is done: in the pack (appended to the log;
 * c->created set), or written to a temporary file that c moves into the
 * store (store_commit).  A blob stored already gets its mtime set to now
 * (which tells a GC sweep in progress to spare it) and c nothing to do.
 * 0 or a negative berr.
 */
int		 store_put(struct store *, const struct digest *,
		    const void *data, size_t size, struct commit *);
/*
 * Prepares c to move the file srcname (relative to srcdir; fd is it, open,
 * and c owns it now) into the store as the blob d, whose content the
 * caller has verified.  The round that runs c fdatasyncs it, renames it
 * (or removes it and sets the blob's mtime to now if the blob is there
 * already) and fsyncs the directory.  If c fails, srcname stays where it
 * was unless it was renamed (then the blob exists but may not be
 * durable).  0 or a negative berr (c then owns nothing).
 */
int		 store_commit(struct store *, int fd, int srcdir,
		    const char *srcname, const struct digest *,
		    struct commit *);
/* Counts the blob of size bytes if c, done, created it. */
void		 store_committed(struct store *, const struct commit *,
		    uint64_t size);
/* A read-only descriptor of the file that holds the blob, where the blob
 * starts there (0 unless packed) and its size; BERR_BLOB_UNKNOWN. */
int		 store_open_blob(struct store *, const struct digest *,
		    int *fd, uint64_t *offset, uint64_t *size);
/* A blob's size and mtime: 0, BERR_BLOB_UNKNOWN or BERR_IO. */
int		 store_stat_blob(struct store *, const struct digest *,
		    uint64_t *size, int64_t *mtime_ms);
/* Removes the blob (size bytes) without syncing: a file's directory with
 * store_sync_fanout, a packed blob (*packed) with store_sync_pack. */
int		 store_remove_blob(struct store *, const struct digest *,
		    uint64_t size, int *packed);
/* fsyncs the directory DIR/blobs/<algo>/<fanout>; 0 or a negative berr. */
int		 store_sync_fanout(struct store *, enum digest_algo,
		    unsigned int fanout);
/* Makes the removals of packed blobs durable and drops segments left
 * empty; 0 or a negative berr. */
int		 store_sync_pack(struct store *);
/* The fan-out directory's index (0..255) of a digest. */
unsigned int	 store_fanout(const struct digest *);
/* Calls cb for every blob in the store until it returns non-zero, which
 * store_walk then returns; BERR_IO if a directory cannot be read. */
int		 store_walk(struct store *, store_walk_cb, void *arg);
/* store_walk in parts: part < STORE_WALK_PARTS is a fan-out directory of
 * an algorithm (one that does not exist has nothing), the last the pack. */
#define STORE_WALK_PARTS	(2 * 256 + 1)
int		 store_walk_part(struct store *, unsigned int part,
		    store_walk_cb, void *arg);
/* 1 if a file can be created, written and removed in DIR/tmp now. */
int		 store_probe(struct store *);
/* mkdirat (0750), setting *created if the directory is new (the caller
 * fsyncs dirfd), then opens it; the directory's fd or -1 with errno. */
int		 store_subdir(int dirfd, const char *name, int *created);
/* opendir of name beneath dirfd, not following a link; NULL with errno. */
DIR		*store_opendir(int dirfd, const char *name);
/* Unlinks every file in the directory dfd; -1 if it cannot be read. */
int		 store_empty_dir(int dfd);

/* pack.c */
struct pack	*pack_new(void);
void		 pack_free(struct pack *);
/* A live blob entry found in segment file at start-up. */
void		 pack_found(struct pack *, uint64_t file,
		    const struct logfile_entry *);
/* Marks dead the older copies of blobs found twice; syncs the log. */
int		 pack_kill_stale(struct pack *, struct metalog *);
/* A packed blob's size and time stored; BERR_BLOB_UNKNOWN. */
int		 pack_stat(struct pack *, const struct digest *,
		    uint64_t *size, int64_t *mtime_ms);
/* Sets the time stored of a packed blob to now (see gc_sweep). */
void		 pack_touch(struct pack *, const struct digest *);
/* Appends the blob (verified) to the log; durable once the log is
 * synced.  0 or a negative berr. */
int		 pack_put(struct pack *, struct metalog *,
		    const struct digest *, const void *, size_t);
/* Forgets the blobs of segment file at or past end (a cut log). */
void		 pack_truncated(struct pack *, uint64_t file, uint64_t end);
/* Marks the blob's entry dead; durable after metalog_sync(), then
 * pack_marks_synced(), and then pack_punch() gives its bytes back. */
int		 pack_remove(struct pack *, struct metalog *,
		    const struct digest *);
/* The marks made so far are on disk (a metalog_sync() since): their
 * blobs' holes may be punched from now_ms (mono_ms) on. */
void		 pack_marks_synced(struct pack *, int64_t now_ms);
/* Punches holes where the blobs whose synced marks date from dead_by_ms
 * or before (mono_ms; INT64_MAX: all) were, until until_us (mono_us), and
 * says whether some of those are left. */
int		 pack_punch(struct pack *, struct metalog *, int64_t dead_by_ms,
		    int64_t until_us);
/* When the oldest synced mark's hole is due (mono_ms), or -1: none. */
int64_t		 pack_punch_due(const struct pack *);
/* A read-only descriptor of the segment, the blob's offset and size. */
int		 pack_open(struct pack *, struct metalog *,
		    const struct digest *, int *fd, uint64_t *offset,
		    uint64_t *size);
int		 pack_walk(struct pack *, store_walk_cb, void *arg);
size_t		 pack_count(const struct pack *);
uint64_t	 pack_bytes(const struct pack *);

/* upload.c */
/*
 * Loads the sessions in DIR/uploads (created if missing: *new_dirs is
 * set, as store_new does); those whose info
 * is missing or corrupt are removed.  base may be NULL when nothing is
 * streamed from pipes (tests).  ttl is --upload-ttl in seconds.  NULL, with
 * the reason logged, if the directory is unusable.
 */
struct upload_table *upload_table_new(struct store *, int datadir_fd,
		    struct event_base *, int64_t ttl, int *new_dirs);
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
/* The session's data file opened with flags (O_RDWR...), the session
 * written to disk first if it was not; -1 and errno (logged, but for
 * O_DIRECT that the file system does not have). */
int		 upload_open_data(struct upload *, int flags);
/* Bytes a commit with this algorithm would have to read back and hash. */
uint64_t	 upload_hash_pending(const struct upload *, enum digest_algo);
/* Hashes what is pending in UPLOAD_HASH_STEP pieces, one per loop
 * iteration; the session is busy meanwhile.  Same contract as
 * upload_append_pipe(). */
int		 upload_hash_start(struct upload *, enum digest_algo,
		    upload_done_cb, void *arg);
/*
 * Checks the session's content against d (and size unless UINT64_MAX) and
 * prepares c to store it as the blob; the session is busy until
 * upload_committed().  On an error nothing changes.
 */
int		 upload_commit(struct upload *, const struct digest *,
		    uint64_t size, struct commit *);
/* The end of the commit, which failed with err or not: the session goes
 * unless its data is still in place after a failure (then it is idle
 * again).  u must not be used after. */
void		 upload_committed(struct upload *, int err);
/* Removes the idle sessions unused since now - ttl; returns how many. */
size_t		 upload_expire(struct upload_table *, int64_t now);

/* reserve.c */
/* Allocates meta/reserve unless the disk is full (then logs it); if
 * durable, *sync_fd is then its descriptor, for the caller to sync (the
 * committer's first round), else -1.  NULL only when meta_fd cannot be
 * kept. */
struct reserve	*reserve_new(int meta_fd, int durable, int *sync_fd);
void		 reserve_free(struct reserve *);
/* 1 when the reserve is allocated.  When it is not, tries to allocate it
 * again if now is set or the last try was a second ago, else says 0:
 * nothing that takes space may go on. */
int		 reserve_ready(struct reserve *, int now);
/* Frees the reserve for an append that only deletes; 0, or -1 when there
 * was none to free. */
int		 reserve_release(struct reserve *);
/* The data directory's meta/ descriptor (for the reserve). */
int		 metalog_dir_fd(const struct metalog *);
/* Gives the space of len bytes at off in the log file n back to the file
 * system (a hole: they read as zeros).  Best effort: a file system without
 * holes keeps the space until the file goes. */
void		 metalog_punch(struct metalog *, uint64_t n, uint64_t off,
		    uint64_t len);

/* upload_append.c */
/*
 * Starts an append at offset, which must be the session's size or
 * UINT64_MAX.  0, BERR_UPLOAD_BUSY, BERR_RANGE_INVALID (nothing changed),
 * or an I/O error.  The session is busy until upload_append_end().
 */
int		 upload_append_begin(struct upload *, uint64_t offset);
/* Writes n bytes at the end of an appending session and feeds the hash.
 * 0, or a negative berr with the session's size unchanged. */
int		 upload_append_write(struct upload *, const void *, size_t);
void		 upload_append_end(struct upload *);
/* Ends an append from a pipe or a re-hash (upload_hash_start) and calls
 * its callback. */
void		 upload_finish(struct upload *, int err);
/*
 * Appends what can be read from pipe (a pipe or socket, else
 * BERR_BAD_REQUEST) until EOF, in the event loop; length is what berthd
 * expects to send (UINT64_MAX: not known).  Takes pipe (closed when
 * done or on error).  done_cb is called once, never from within this call,
 * unless an error is returned (then it is not called).
 */
int		 upload_append_pipe(struct upload *, uint64_t offset,
		    uint64_t length, int pipe, upload_done_cb, void *arg);

/* upload_held.c */
/* Sets up an append of length bytes at offset to be held in memory if it
 * can be (then 1: the session is busy, and the pipe's bytes go to
 * upload_held_take()); 0 if it goes to the file. */
int		 upload_held_begin(struct upload *, uint64_t offset,
		    uint64_t length);
/* Takes n bytes just read to u->held + u->size (fewer than held_cap). */
void		 upload_held_take(struct upload *, size_t n);
/* Writes what the session holds to its file, which it then has; 0 or a
 * negative berr (the bytes are still held). */
int		 upload_held_spill(struct upload *);
void		 upload_held_free(struct upload *);
/* An append held in memory got more than its length: spills, and the
 * append goes on to the file (u->fd).  0 or a negative berr. */
int		 upload_held_overflow(struct upload *);
/* Spills every held session of t (best effort). */
void		 upload_held_spill_all(struct upload_table *);
/* Spills t's held sessions when the process exits (NULL: none). */
void		 upload_held_at_exit(struct upload_table *);

/* logfile.c */
void		 le32enc(uint8_t *, uint32_t);
void		 le64enc(uint8_t *, uint64_t);
uint32_t	 le32dec(const uint8_t *);
uint64_t	 le64dec(const uint8_t *);
void		 logfile_reader_init(struct logfile_reader *, int fd,
		    uint64_t off, uint64_t end);
void		 logfile_reader_clear(struct logfile_reader *);
uint64_t	 logfile_reader_offset(const struct logfile_reader *);
/* Makes n bytes available at buf + pos: 0, 1 when the range ends first,
 * -1 on a read error. */
int		 logfile_reader_fill(struct logfile_reader *, size_t n);
void		 logfile_writer_init(struct logfile_writer *, int fd);
void		 logfile_writer_put(struct logfile_writer *, const void *,
		    size_t);
/* Flushes; 0, or -1 with errno from the first failure. */
int		 logfile_writer_finish(struct logfile_writer *);
/* CRC-32C over an entry's seq and payload. */
uint32_t	 logfile_entry_crc(uint64_t seq, const uint8_t *, size_t);
/* A blob entry's payload head (LOG_BLOB_HDR_LEN + the raw digest). */
void		 logfile_blob_header(uint8_t *, const struct digest *,
		    int64_t stored_ms);
typedef int (*logfile_entry_cb)(const struct logfile_entry *, void *);
/*
 * Reads the entries in [LOG_HDR_LEN, end) of fd, calling cb for each.
 * With whole, every byte is read and checked; otherwise a blob entry's
 * bytes are skipped (a closed segment, synced when it closed).  Stops at
 * the first entry that is incomplete or fails its check, or when cb
 * returns non-zero: *valid_end is where the entries before it end.  0, -1
 * on a read error, or cb's return.
 */
int		 logfile_scan(int fd, uint64_t end, int whole,
		    logfile_entry_cb, void *, uint64_t *valid_end);
/* Where the bytes in [from, to) of fd that are not zero end (from: none;
 * to, if they cannot be read). */
uint64_t	 logfile_zeros_from(int fd, uint64_t from, uint64_t to);
/* Copies [from, to) of fd to a new, synced DIR/meta/log.torn-<epoch>
 * (dir_fd: DIR/meta) whose name it gives; 0, or -1 with the reason
 * logged. */
int		 logfile_keep_torn(int dir_fd, int fd, uint64_t from,
		    uint64_t to, char *name, size_t namelen);

/* snapshot.c */
/* An entry of a snapshot or of a compaction file (seq 0). */
typedef int (*snapshot_entry_cb)(uint64_t seq, const uint8_t *, size_t,
    void *);
/* Reads and checks a whole snapshot, calling cb (if not NULL) for each
 * entry.  0, or -1 with *why set. */
int		 snapshot_scan(int fd, snapshot_entry_cb, void *arg,
		    uint64_t *seq, uint64_t *count, const char **why);
/*
 * Writes DIR/meta/snapshot (through snapshot.tmp, synced unless !durable)
 * from the entries in fd, in the MSG_META_COMPACT format, replacing every
 * log entry up to seq; the caller fsyncs the directory.  0,
 * BERR_BAD_REQUEST for content that does not hold len bytes and entries
 * entries, or a storage error.
 */
int		 snapshot_write(int dir_fd, int fd, uint64_t len,
		    uint64_t entries, uint64_t seq, int durable);

/* logspare.c: the log's next segment, zeroed ahead on a thread. */
/* Free bytes a spare must leave on the file system, and the largest log
 * that moves into a spare before its roll (a start's log, copied). */
#define LOGSPARE_MIN_FREE	(512ULL * 1024 * 1024)
#define LOGSPARE_ADOPT_MAX	(1024 * 1024)
/* blobd's first spare waits this long, out of its start's way. */
#define BLOBD_SPARE_DELAY_MS	200
/* Spares of size bytes in dir_fd (not owned), the first made after
 * delay_ms; none is made before logspare_start. */
struct logspare	*logspare_new(int dir_fd, uint64_t size, int delay_ms);
/* Stops a spare being made; removes a spare not taken. */
void		 logspare_free(struct logspare *);
/* Starts making a spare unless one is ready or on its way, or (retry 0)
 * the last attempt failed. */
void		 logspare_start(struct logspare *, int retry);
/* The ready meta/log.spare, synced zeros, open for ordinary writes (the
 * caller renames it); -1 if there is none yet. */
int		 logspare_take(struct logspare *);
/* Removes a ready spare if the file system has less than min_free bytes
 * free (0: LOGSPARE_MIN_FREE, checked once a second at the most; else
 * from now on min_free, checked at once: tests). */
void		 logspare_trim(struct logspare *, uint64_t min_free);
/* Says the log was written to: the zeros wait for a quiet moment. */
void		 logspare_note_write(struct logspare *);
/* Waits for a spare on its way (tests). */
void		 logspare_wait(struct logspare *);
/* The metadata log's side.  metalog_spare_enable starts the spares (a
 * durable log only; after blobd's confinement).  metalog_spare_cut cuts
 * the zeros after the log's entries (synced if sync) before it closes.
 * metalog_spare_roll makes a ready spare the log (after the old one has
 * gone to its segment's name): 0, or -1 if the caller must make an empty
 * log.  metalog_spare_adopt moves a small synced log without zeros into
 * a ready spare (from metalog_maintain).  Errors are logged; cut gives 0
 * or a negative berr. */
void		 metalog_spare_enable(struct metalog *, int delay_ms);
int		 metalog_spare_cut(struct metalog *, int sync);
int		 metalog_spare_roll(struct metalog *);
void		 metalog_spare_adopt(struct metalog *);
/* Makes fd (renamed to "log" already) the log, empty but its header. */
void		 metalog_use_log(struct metalog *, int fd);

/* metalog.c */
/*
 * Opens DIR/meta (created if missing: *new_dirs is set, as store_new
 * does) and checks the snapshot, the closed
 * segments and the log, calling blob_cb for every live blob entry.  A
 * torn log tail is copied to meta/log.torn-<epoch>, cut off and logged.
 * NULL, with the reason logged, when the data cannot be trusted (a corrupt
 * snapshot or segment, a gap in the sequence) or read.
 */
struct metalog	*metalog_new(int datadir_fd, int *new_dirs, metalog_blob_cb,
		    metalog_cut_cb, void *blob_arg);
void		 metalog_free(struct metalog *);
/* Writes one entry (1..FRAME_MAX_PAYLOAD bytes) and gives its seq; it is
 * durable only once synced.  0 or a negative berr. */
int		 metalog_append(struct metalog *, const void *, size_t,
		    uint64_t *seq);
/*
 * fdatasyncs what was appended since the last sync.  On failure those
 * entries are cut off again (their seqs will be reused) and the error is
 * returned.
 */
int		 metalog_sync(struct metalog *);
/* The same in two steps, for a sync that runs elsewhere (commit.c): where
 * the log ends now and the seq that follows, then the outcome of an
 * fdatasync begun after metalog_sync_point(). */
void		 metalog_sync_point(struct metalog *, uint64_t *end,
		    uint64_t *seq);
void		 metalog_synced(struct metalog *, uint64_t end, uint64_t seq,
		    int err);
/* 1 if entries (or dead marks) wait for a sync; the log's descriptor;
 * where the log, and its synced part, end. */
int		 metalog_dirty(const struct metalog *);
/* 1 if entries were appended since the last sync (a fresh log's header
 * is none). */
int		 metalog_pending(const struct metalog *);
int		 metalog_fd(const struct metalog *);
uint64_t	 metalog_end(const struct metalog *);
uint64_t	 metalog_synced_end(const struct metalog *);
/*
 * Writes a blob entry (durable only once synced): *file is the segment
 * number it is in and *data_off where its bytes start there.  0 or a
 * negative berr.
 */
int		 metalog_append_blob(struct metalog *, const struct digest *,
		    int64_t stored_ms, const void *, size_t, uint64_t *file,
		    uint64_t *data_off);
/* Marks the blob entry at entry_off of segment file dead, in place; the
 * mark is durable after metalog_sync().  0 or a negative berr. */
int		 metalog_kill_blob(struct metalog *, uint64_t file,
		    uint64_t entry_off);
/* A new read-only descriptor of segment file (the log's too). */
int		 metalog_file_fd(struct metalog *, uint64_t file);
/* When nothing waits for a sync: closes an outgrown log into a segment,
 * removes segments that hold nothing needed.  0 or a negative berr. */
int		 metalog_maintain(struct metalog *);
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
/* Where the log's entries end, in bytes (zeros may follow them in the
 * file, logspare.c). */
uint64_t	 metalog_log_bytes(const struct metalog *);

/* gc.c */
struct gc_lister;
struct gc_sweep;
/* An anonymous file at offset 0 with a struct gc_blob per stored blob. */
int		 gc_list(struct store *, int *fd, uint64_t *count);
/* The same in steps: gc_list_step walks until until_us (mono_us) and
 * says whether more is left, *rc set on an error (then it says 0); then
 * gc_list_finish(rc) gives the file or returns the error, and frees. */
int		 gc_list_new(struct store *, struct gc_lister **);
int		 gc_list_step(struct gc_lister *, int64_t until_us, int *rc);
int		 gc_list_finish(struct gc_lister *, int rc, int *fd,
		    uint64_t *count);
/*
 * Deletes the blobs named by the count struct gc_blob records in fd whose
 * mtime is not after not_after_ms (nothing with dry_run), and sums what was
 * (or would be) deleted.  0, BERR_BAD_REQUEST for a malformed record file,
 * or a storage error.
 */
int		 gc_sweep(struct store *, int fd, uint64_t count,
		    int64_t not_after_ms, int dry_run, uint64_t *blobs,
		    uint64_t *bytes);
/* gc_sweep in steps: gc_sweep_new takes fd (closed on error too);
 * gc_sweep_step works until until_us and says whether more is left; no
 * commit round may run during a step.  gc_sweep_finish is gc_sweep's
 * return, and frees. */
int		 gc_sweep_new(struct store *, int fd, uint64_t count,
		    int64_t not_after_ms, int dry_run, struct gc_sweep **);
int		 gc_sweep_step(struct gc_sweep *, int64_t until_us);
/* The packed blobs it removes keep their bytes PACK_PUNCH_DELAY_MS (the
 * caller punches them); else they go at once, in the sweep. */
void		 gc_sweep_punch_later(struct gc_sweep *);
int		 gc_sweep_finish(struct gc_sweep *, uint64_t *blobs,
		    uint64_t *bytes);

/* commit.c */
/* A committer whose rounds run on a thread of its own (threaded) or in the
 * loop; durable 0 skips every fsync (--durability relaxed).  metalog may
 * be NULL (tests of the store alone). */
struct committer *committer_new(struct event_base *, struct metalog *,
		    int durable, int threaded);
/* Drains, then stops the thread. */
void		 committer_free(struct committer *);
/* fsyncs the directory fd (taken) in the next round, before anything is
 * answered: the directories a start made. */
void		 committer_sync_dir(struct committer *, int fd);
void		 commit_init(struct commit *, commit_done_cb, void *);
/* Closes the commit's descriptors. */
void		 commit_clear(struct commit *);
/* Joins the next round, which starts once the frames already read have
 * been dispatched (or when the running one is over). */
void		 commit_add(struct committer *, struct commit *);
/* The same for what metalog_append() wrote without a commit of its own. */
void		 committer_schedule(struct committer *);
/* Runs every round until nothing is pending, answering each; blocks. */
void		 committer_drain(struct committer *);

/* writer.c */
/* A thread that writes jobs in order; their callbacks run on base. */
struct writer	*writer_new(struct event_base *);
void		 writer_submit(struct writer *, struct write_job *);
/* Stops the thread once the jobs queued are written (their callbacks do
 * not run). */
void		 writer_free(struct writer *);

/* serve.c */
/* The frames blobd accepts from berthd, each with its handler. */
extern const struct rpc_rule	serve_rules[];
extern const size_t		serve_nrules;
/* Serves berthd on sock (taken) from env's event loop, and says hello;
 * env->committer must be there. */
void		 serve_start(struct blobd *, int sock);
/* lock.c */
int		 blobd_lock(int, const char *);
void		 blobd_exiting(void);

#endif
