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
 * The metadata log's spare segment: DIR/meta/log.spare, a file of zeros
 * written whole through the page cache, fdatasync'd under the name
 * log.spare.tmp, then renamed and its directory fsync'd, all on a thread
 * of its own.  Not with O_DIRECT: the log's appends write parts of pages,
 * and a page not in the cache is then read from the disk first, in the
 * loop (16 clients' 4 KiB pushes lost a fifth so).  The log takes it at a
 * roll instead of an empty file (metalog.c), so that a commit's fdatasync
 * overwrites blocks that are already there rather than growing the file
 * and committing the file system's journal.  The thread writes only the
 * spare, never the file commits sync: on ext4 a sync of the log then
 * waits for the log's blocks alone.  The thread removes both names
 * before it starts (after delay_ms, out of a start's way): a spare left
 * by a crash may hold the head of a log it was becoming; an exit removes
 * its ready spare.
 * The zeros are written while the log is left alone (LOGSPARE_QUIET_MS),
 * so that a spare comes between bursts of commits, not during them.  No
 * spare is made while the file system has less than LOGSPARE_MIN_FREE
 * bytes free besides it, and none after a failure, until the next roll;
 * a ready spare goes when the free space falls below LOGSPARE_MIN_FREE
 * (checked once a second at the most), so that a filling disk gets its
 * 64 MiB back before pushes fail.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blobd.h"
#include "error.h"
#include "log.h"
#include "util.h"

/* Bytes zeroed by one write, and how long the log must have been left
 * alone before one: zeros written while commits come double what the
 * disk writes and delay their syncs (bench/README.md). */
#define LOGSPARE_CHUNK		(1024 * 1024)
#define LOGSPARE_QUIET_MS	10

enum logspare_state {
	LOGSPARE_IDLE,		/* none, none being made */
	LOGSPARE_MAKING,
	LOGSPARE_READY,
	LOGSPARE_FAILED		/* no retry until logspare_start(, 1) */
};

struct logspare {
	int			 dir_fd;	/* not owned */
	uint64_t		 size;
	int			 delay_ms;	/* before the first zeros */
	pthread_t		 thread;
	int			 joinable;
	pthread_mutex_t		 lock;
	enum logspare_state	 state;		/* under lock */
	int			 stop;		/* under lock */
	int			 fd;		/* the ready spare */
	uint64_t		 writes;	/* to the log (atomic) */
	uint64_t		 min_free;	/* LOGSPARE_MIN_FREE */
	int64_t			 checked_ms;	/* the last logspare_trim */
};

/* 1 if the thread was told to stop. */
static int
logspare_stopped(struct logspare *sp)
{
	int	 stop;

	pthread_mutex_lock(&sp->lock);
	stop = sp->stop;
	pthread_mutex_unlock(&sp->lock);
	return stop;
}

/* Sleeps ms milliseconds, in steps, unless told to stop; 1 if told. */
static int
logspare_sleep(struct logspare *sp, int ms)
{
	struct timespec	 ts = { 0, 5 * 1000000L };
	int		 t;

	for (t = 0; t < ms && !logspare_stopped(sp); t += 5)
		(void)nanosleep(&ts, NULL);
	return logspare_stopped(sp);
}

/* Waits until the log has had no write for LOGSPARE_QUIET_MS, if it had
 * one since *seen; 1 if told to stop meanwhile. */
static int
logspare_quiet(struct logspare *sp, uint64_t *seen)
{
	uint64_t now;

	while ((now = __atomic_load_n(&sp->writes, __ATOMIC_RELAXED)) !=
	    *seen) {
		*seen = now;
		if (logspare_sleep(sp, LOGSPARE_QUIET_MS))
			return 1;
	}
	return logspare_stopped(sp);
}

/* 1 if the file system has room for the spare and LOGSPARE_MIN_FREE. */
static int
logspare_room(struct logspare *sp)
{
	struct statvfs	 sv;

	if (fstatvfs(sp->dir_fd, &sv) == -1)
		return 0;
	return (uint64_t)sv.f_bavail * sv.f_frsize >= sp->size + sp->min_free;
}

/* Writes the spare's zeros into fd; 0 or -1 with errno set. */
static int
logspare_zero(struct logspare *sp, int fd)
{
	void	*zeros;
	uint64_t off, seen = 0;
	ssize_t	 r;

	/* Never written to: every page is the kernel's zero page. */
	if ((zeros = mmap(NULL, LOGSPARE_CHUNK, PROT_READ, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		return -1;
	for (off = 0; off < sp->size; off += (uint64_t)r) {
		if (logspare_quiet(sp, &seen)) {
			errno = ECANCELED;
			r = -1;
			break;
		}
		r = pwrite(fd, zeros, sp->size - off < LOGSPARE_CHUNK ?
		    (size_t)(sp->size - off) : LOGSPARE_CHUNK, (off_t)off);
		if (r == -1 && errno == EINTR)
			r = 0;
		else if (r <= 0) {
			if (r == 0)
				errno = EIO;
			r = -1;
			break;
		}
	}
	munmap(zeros, LOGSPARE_CHUNK);
	return r == -1 ? -1 : 0;
}

/* Makes log.spare; the descriptor (for ordinary writes), or -1. */
static int
logspare_make(struct logspare *sp)
{
	int		 fd;

	/* Out of the way of a start. */
	(void)logspare_sleep(sp, sp->delay_ms);
	sp->delay_ms = 0;	/* the first spare's alone */
	(void)unlinkat(sp->dir_fd, "log.spare.tmp", 0);
	(void)unlinkat(sp->dir_fd, "log.spare", 0);
	if (logspare_stopped(sp) || !logspare_room(sp))
		return -1;
	if ((fd = openat(sp->dir_fd, "log.spare.tmp", O_RDWR | O_CREAT |
	    O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640)) == -1) {
		log_warn("meta/log.spare.tmp");
		return -1;
	}
	if (logspare_zero(sp, fd) == -1 || fdatasync(fd) == -1 ||
	    renameat(sp->dir_fd, "log.spare.tmp", sp->dir_fd,
	    "log.spare") == -1 || fsync_dirfd(sp->dir_fd) == -1) {
		if (errno != ECANCELED)
			log_warn("meta/log.spare: making the log's spare "
			    "segment");
		close(fd);
		(void)unlinkat(sp->dir_fd, "log.spare.tmp", 0);
		(void)unlinkat(sp->dir_fd, "log.spare", 0);
		return -1;
	}
	return fd;
}

static void *
logspare_main(void *arg)
{
	struct logspare	*sp = arg;
	int		 fd;

	fd = logspare_make(sp);
	pthread_mutex_lock(&sp->lock);
	sp->fd = fd;
	sp->state = fd != -1 ? LOGSPARE_READY : LOGSPARE_FAILED;
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

struct logspare *
logspare_new(int dir_fd, uint64_t size, int delay_ms)
{
	struct logspare	*sp;

	sp = xcalloc(1, sizeof(*sp));
	sp->dir_fd = dir_fd;
	sp->size = size;
	sp->delay_ms = delay_ms;
	sp->min_free = LOGSPARE_MIN_FREE;
	sp->fd = -1;
	pthread_mutex_init(&sp->lock, NULL);
	return sp;
}

/* Joins a thread that is over; 1 if none runs now. */
static int
logspare_reap(struct logspare *sp)
{
	enum logspare_state state;

	pthread_mutex_lock(&sp->lock);
	state = sp->state;
	pthread_mutex_unlock(&sp->lock);
	if (state == LOGSPARE_MAKING)
		return 0;
	if (sp->joinable) {
		pthread_join(sp->thread, NULL);
		sp->joinable = 0;
	}
	return 1;
}

void
logspare_start(struct logspare *sp, int retry)
{
	int	 rc;

	if (sp == NULL || !logspare_reap(sp) || sp->state == LOGSPARE_READY ||
	    (sp->state == LOGSPARE_FAILED && !retry))
		return;
	sp->state = LOGSPARE_MAKING;
	if ((rc = pthread_create(&sp->thread, NULL, logspare_main, sp)) !=
	    0) {
		errno = rc;
		log_warn("meta/log.spare: pthread_create");
		sp->state = LOGSPARE_FAILED;
		return;
	}
	sp->joinable = 1;
}

int
logspare_take(struct logspare *sp)
{
	int	 fd;

	if (sp == NULL || !logspare_reap(sp) || sp->state != LOGSPARE_READY)
		return -1;
	fd = sp->fd;
	sp->fd = -1;
	sp->state = LOGSPARE_IDLE;
	return fd;
}

void
logspare_trim(struct logspare *sp, uint64_t min_free)
{
	struct statvfs	 sv;
	int64_t		 now = mono_ms();

	/* The thread reads min_free: set while none runs. */
	if (sp == NULL || !logspare_reap(sp))
		return;
	if (min_free != 0)
		sp->min_free = min_free;
	if ((now - sp->checked_ms < 1000 && min_free == 0) ||
	    sp->state != LOGSPARE_READY)
		return;
	sp->checked_ms = now;
	if (fstatvfs(sp->dir_fd, &sv) == -1 ||
	    (uint64_t)sv.f_bavail * sv.f_frsize >= sp->min_free)
		return;
	log_info("meta/log.spare: removed, the file system is short of "
	    "space");
	close(sp->fd);
	sp->fd = -1;
	(void)unlinkat(sp->dir_fd, "log.spare", 0);
	sp->state = LOGSPARE_FAILED;
}

void
logspare_note_write(struct logspare *sp)
{
	if (sp != NULL)
		__atomic_add_fetch(&sp->writes, 1, __ATOMIC_RELAXED);
}

void
logspare_wait(struct logspare *sp)
{
	if (sp != NULL && sp->joinable) {
		pthread_join(sp->thread, NULL);
		sp->joinable = 0;
	}
}

void
logspare_free(struct logspare *sp)
{
	if (sp == NULL)
		return;
	pthread_mutex_lock(&sp->lock);
	sp->stop = 1;
	pthread_mutex_unlock(&sp->lock);
	logspare_wait(sp);
	if (sp->fd != -1) {
		close(sp->fd);
		(void)unlinkat(sp->dir_fd, "log.spare", 0);
	}
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}

void
metalog_spare_enable(struct metalog *ml, int delay_ms)
{
	if (!ml->durable || ml->spare != NULL)
		return;
	ml->spare = logspare_new(ml->dir_fd, ml->seg_max, delay_ms);
	logspare_start(ml->spare, 0);
}

int
metalog_spare_cut(struct metalog *ml, int sync)
{
	struct stat	 sb;

	if (fstat(ml->log_fd, &sb) == -1) {
		log_warn("meta/log");
		return berr_from_errno(errno);
	}
	if ((uint64_t)sb.st_size <= ml->log_end)
		return 0;
	if (ftruncate(ml->log_fd, (off_t)ml->log_end) == -1 ||
	    (sync && fdatasync(ml->log_fd) == -1)) {
		log_warn("meta/log: cutting the zeros after its end");
		return berr_from_errno(errno);
	}
	return 0;
}

/* Renames the spare fd (its head written) to "log" and syncs the name;
 * -1 with the reason logged if it is not the log. */
static int
metalog_spare_place(struct metalog *ml, int fd)
{
	if (fdatasync(fd) == -1 || renameat(ml->dir_fd, "log.spare",
	    ml->dir_fd, "log") == -1) {
		log_warn("meta/log.spare to meta/log");
		close(fd);
		(void)unlinkat(ml->dir_fd, "log.spare", 0);
		return -1;	/* another at the next roll */
	}
	/* Renamed: the log is this file whatever happens next. */
	if (fsync_dirfd(ml->dir_fd) == -1)
		log_warn("meta");
	logspare_start(ml->spare, 1);
	return 0;
}

int
metalog_spare_roll(struct metalog *ml)
{
	uint8_t	 hdr[LOG_HDR_LEN];
	int	 fd;

	if ((fd = logspare_take(ml->spare)) == -1) {
		logspare_start(ml->spare, 1);
		return -1;
	}
	memcpy(hdr, LOG_MAGIC, 8);
	le32enc(hdr + 8, LOG_VERSION);
	if (pwrite_full(fd, hdr, sizeof(hdr), 0) == -1) {
		log_warn("meta/log.spare");
		close(fd);
		(void)unlinkat(ml->dir_fd, "log.spare", 0);
		return -1;
	}
	if (metalog_spare_place(ml, fd) == -1)
		return -1;
	metalog_use_log(ml, fd);
	return 0;
}

void
metalog_spare_adopt(struct metalog *ml)
{
	struct stat	 sb;
	uint8_t		*buf;
	ssize_t		 r;
	int		 fd;

	logspare_trim(ml->spare, 0);
	if (ml->spare == NULL || metalog_dirty(ml) ||
	    ml->log_end > LOGSPARE_ADOPT_MAX ||
	    fstat(ml->log_fd, &sb) == -1 ||
	    (uint64_t)sb.st_size > ml->log_end ||
	    (fd = logspare_take(ml->spare)) == -1)
		return;
	/* The entries keep their offsets: blobs are found where they were,
	 * in the old file by a reader that has it open, in this one after. */
	buf = xmalloc(ml->log_end);
	if ((r = pread_full(ml->log_fd, buf, ml->log_end, 0)) !=
	    (ssize_t)ml->log_end || pwrite_full(fd, buf, ml->log_end, 0) ==
	    -1) {
		log_warn("meta/log: moving it to meta/log.spare");
		free(buf);
		close(fd);
		(void)unlinkat(ml->dir_fd, "log.spare", 0);
		return;
	}
	free(buf);
	if (metalog_spare_place(ml, fd) == -1)
		return;
	close(ml->log_fd);
	ml->log_fd = fd;
}
