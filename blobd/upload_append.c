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
 * Appending to an upload session: the synchronous upload_append_write()
 * and the streaming of a pipe from the event loop, one read per event so
 * that every pipe gets its turn, the bytes hashed as they come.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "blobd.h"
#include "digest.h"
#include "error.h"
#include "log.h"
#include "util.h"

int
upload_append_begin(struct upload *u, uint64_t offset)
{
	int	 rc;

	if (u->state != UPLOAD_IDLE)
		return BERR_UPLOAD_BUSY;
	if (offset != UINT64_MAX && offset != u->size)
		return BERR_RANGE_INVALID;
	if ((rc = upload_held_spill(u)) != 0)
		return rc;
	if ((u->fd = upload_open_data(u, O_RDWR)) == -1)
		return berr_from_errno(errno);
	u->state = UPLOAD_APPENDING;
	u->touched = now_sec();
	return 0;
}

int
upload_append_write(struct upload *u, const void *buf, size_t n)
{
	int	 rc;

	if (u->state != UPLOAD_APPENDING)
		return BERR_INTERNAL;
	if (n > (uint64_t)INT64_MAX - u->size)
		return BERR_TOO_LARGE;
	if (pwrite_full(u->fd, buf, n, (off_t)u->size) == -1) {
		rc = berr_from_errno(errno);
		log_warn("write to upload %s", u->name);
		/* Keep the file as long as the size we report. */
		if (ftruncate(u->fd, (off_t)u->size) == -1)
			log_warn("truncate upload %s", u->name);
		return rc;
	}
	if (u->ctx != NULL && u->hashed == u->size) {
		digest_ctx_update(u->ctx, buf, n);
		u->hashed += n;
	}
	u->size += n;
	if (u->size - u->synced >= UPLOAD_SYNC_STEP) {
		/*
		 * Start writing this step back and wait for the step before:
		 * however fast data comes, the fdatasync at commit (which
		 * blocks the loop) finds at most two steps left to write.
		 */
		(void)sync_file_range(u->fd, (off_t)u->synced,
		    (off_t)(u->size - u->synced), SYNC_FILE_RANGE_WRITE);
		if (u->waited < u->synced)
			(void)sync_file_range(u->fd, (off_t)u->waited,
			    (off_t)(u->synced - u->waited),
			    SYNC_FILE_RANGE_WAIT_BEFORE |
			    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
		u->waited = u->synced;
		u->synced = u->size;
	}
	return 0;
}

void
upload_append_end(struct upload *u)
{
	if (u->held != NULL && u->size == 0)
		upload_held_free(u);
	if (u->fd != -1) {
		close(u->fd);
		u->fd = -1;
	}
	u->state = UPLOAD_IDLE;
	u->touched = now_sec();
}

/*
 * Direct writes.  Data read from a pipe collects in an aligned buffer and
 * goes to the file with O_DIRECT a whole buffer at a time, bypassing the
 * page cache: copying into new page-cache pages costs more than hashing,
 * and what a commit's fdatasync then waits for is the journal, not a
 * write-back.  A file system without O_DIRECT (tmpfs) gets buffered
 * writes; so does the tail that does not fill a block, written at the end
 * of the append.
 */
static void
upload_append_dio_end(struct upload *u)
{
	size_t	 i;

	if (u->dio_fd != -1) {
		close(u->dio_fd);
		u->dio_fd = -1;
	}
	if (u->dio_buf[0] != NULL) {
		for (i = 0; i < nitems(u->dio_buf); i++) {
			free(u->dio_buf[i]);
			u->dio_buf[i] = NULL;
		}
		u->table->dio_count--;
	}
	u->dio_fill = 0;
}

/*
 * Sets up direct writes for an append of length bytes (UINT64_MAX: not
 * known) if it can fill a buffer, the file system has them and buffers
 * are free; the append is buffered otherwise.
 */
static void
upload_append_dio_begin(struct upload *u, uint64_t length)
{
	struct upload_table	*t = u->table;
	size_t			 head, i;

	if (t->no_dio || t->dio_count >= t->dio_max ||
	    (length != UINT64_MAX && length < UPLOAD_DIO_CHUNK))
		return;
	/* A blob that will be packed is read back at its commit: from the
	 * page cache, not the disk. */
	if (length != UINT64_MAX && u->size + length <= t->store->pack_max)
		return;
	if ((u->dio_fd = upload_open_data(u, O_WRONLY | O_DIRECT)) == -1) {
		if (errno == EINVAL) {
			log_info("no direct I/O in %s/uploads: uploads are "
			    "written through the page cache", t->store->path);
			t->no_dio = 1;
		}
		return;
	}
	for (i = 0; i < nitems(u->dio_buf); i++)
		if (posix_memalign((void **)&u->dio_buf[i], UPLOAD_DIO_ALIGN,
		    UPLOAD_DIO_CHUNK) != 0)
			fatalx("posix_memalign");
	t->dio_count++;
	/* Started here, after the confinement, which it inherits. */
	if (t->writer == NULL)
		t->writer = writer_new(t->base);
	u->dio_cur = 0;
	u->dio_busy = u->dio_stalled = u->dio_ended = 0;
	/* A last block written in part is written again, whole. */
	u->dio_off = u->size & ~(uint64_t)(UPLOAD_DIO_ALIGN - 1);
	u->dio_disk = u->size;
	head = (size_t)(u->size - u->dio_off);
	if (head > 0 && pread_full(u->fd, u->dio_buf[0], head,
	    (off_t)u->dio_off) != (ssize_t)head) {
		log_warn("upload %s: data file", u->name);
		upload_append_dio_end(u);
		return;
	}
	u->dio_fill = head;
}

/* After a failed write: the session is what its file holds, and the bytes
 * hashed beyond it are hashed again from the file at commit. */
static int
upload_append_dio_fail(struct upload *u, int errnum)
{
	errno = errnum;
	log_warn("write to upload %s", u->name);
	if (ftruncate(u->fd, (off_t)u->dio_disk) == -1)
		log_warn("truncate upload %s", u->name);
	u->size = u->dio_disk;
	digest_ctx_free(u->ctx);
	u->ctx = NULL;
	u->hashed = 0;
	u->dio_fill = 0;
	return berr_from_errno(errnum);
}

/* Writes the buffer being filled through the page cache: the last one of
 * an append, or each one once direct writes failed. */
static int
upload_append_dio_buffered(struct upload *u)
{
	if (pwrite_full(u->fd, u->dio_buf[u->dio_cur], u->dio_fill,
	    (off_t)u->dio_off) == -1)
		return upload_append_dio_fail(u, errno);
	u->dio_off += u->dio_fill;
	u->dio_disk = u->dio_off;
	u->dio_fill = 0;
	return 0;
}

static void	upload_append_dio_done_cb(struct write_job *, void *);

/* Hands the full buffer to the writer and goes on with the other one. */
static int
upload_append_dio_submit(struct upload *u)
{
	struct write_job *j = &u->dio_job;

	if (u->table->no_dio)
		return upload_append_dio_buffered(u);
	j->fd = u->dio_fd;
	j->buf = u->dio_buf[u->dio_cur];
	j->len = u->dio_fill;
	j->off = u->dio_off;
	j->done_cb = upload_append_dio_done_cb;
	j->done_arg = u;
	u->dio_busy = 1;
	writer_submit(u->table->writer, j);
	u->dio_cur ^= 1;
	u->dio_off += u->dio_fill;
	u->dio_fill = 0;
	return 0;
}


/*
 * A buffer is on disk.  A direct write that failed or stopped short is
 * finished through the page cache, and the appends are buffered from then
 * on.  Reading goes on if it waited for the buffer; an append whose pipe
 * ended meanwhile ends now.
 */
static void
upload_append_dio_done_cb(struct write_job *j, void *arg)
{
	struct upload	*u = arg;
	int		 rc = 0;

	u->dio_busy = 0;
	if (j->done < j->len) {
		errno = j->err;
		log_warn("upload %s: direct write", u->name);
		u->table->no_dio = 1;
		if (pwrite_full(u->fd, (const uint8_t *)j->buf + j->done,
		    j->len - j->done, (off_t)(j->off + j->done)) == -1) {
			rc = upload_append_dio_fail(u, errno);
			upload_finish(u, rc);
			return;
		}
	}
	u->dio_disk = j->off + j->len;
	if (u->dio_stalled) {
		u->dio_stalled = 0;
		if ((rc = upload_append_dio_submit(u)) != 0) {
			upload_finish(u, rc);
			return;
		}
		if (event_add(u->ev, NULL) == -1)
			upload_finish(u, BERR_INTERNAL);
		return;
	}
	if (u->dio_ended)
		upload_finish(u, u->dio_end_err);
}

/* Takes n bytes just read into the buffer. */
static int
upload_append_dio_take(struct upload *u, size_t n)
{
	const uint8_t	*p = u->dio_buf[u->dio_cur] + u->dio_fill;

	if (n > (uint64_t)INT64_MAX - u->size)
		return BERR_TOO_LARGE;
	if (u->ctx != NULL && u->hashed == u->size) {
		digest_ctx_update(u->ctx, p, n);
		u->hashed += n;
	}
	u->size += n;
	u->dio_fill += n;
	if (u->dio_fill < UPLOAD_DIO_CHUNK)
		return 0;
	/* Both buffers full: the pipe waits for the disk. */
	if (u->dio_busy) {
		event_del(u->ev);
		u->dio_stalled = 1;
		return 0;
	}
	return upload_append_dio_submit(u);
}

void
upload_finish(struct upload *u, int err)
{
	upload_done_cb	 cb = u->done_cb;
	void		*arg = u->done_arg;

	if (u->dio_buf[0] != NULL) {
		/* What was read is the session's, even after an error. */
		if (upload_append_dio_buffered(u) != 0 && err == 0)
			err = BERR_IO;
		upload_append_dio_end(u);
	}
	event_free(u->ev);
	u->ev = NULL;
	if (u->pipe != -1) {
		close(u->pipe);
		u->pipe = -1;
	}
	upload_append_end(u);
	u->done_cb = NULL;
	u->done_arg = NULL;
	cb(u, err, arg);
}

static void
upload_append_pipe_cb(evutil_socket_t fd, short events, void *arg)
{
	struct upload	*u = arg;
	ssize_t		 n;
	uint8_t		 extra;
	int		 rc;

	/* One read per event, so that every pipe gets its turn. */
	if (u->held != NULL && u->size == u->held_cap) {
		/* Held whole: the end, or more than was announced, which
		 * goes to the file with what is held. */
		if ((n = read(u->pipe, &extra, 1)) == 1) {
			if ((rc = upload_held_overflow(u)) != 0 ||
			    (rc = upload_append_write(u, &extra, 1)) != 0)
				upload_finish(u, rc);
			return;
		}
	} else if (u->held != NULL)
		n = read(u->pipe, u->held + u->size,
		    u->held_cap - (size_t)u->size);
	else if (u->dio_buf[0] != NULL)
		n = read(u->pipe, u->dio_buf[u->dio_cur] + u->dio_fill,
		    UPLOAD_DIO_CHUNK - u->dio_fill);
	else
		n = read(u->pipe, u->table->buf, BLOBD_IO_SIZE);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		rc = n == 0 ? 0 : berr_from_errno(errno);
		if (n == -1)
			log_warn("read upload %s", u->name);
		/* A buffer still on its way to the disk: the end waits. */
		if (u->dio_busy) {
			event_del(u->ev);
			u->dio_ended = 1;
			u->dio_end_err = rc;
			return;
		}
		upload_finish(u, rc);
		return;
	}
	if (u->held != NULL) {
		upload_held_take(u, (size_t)n);
		rc = 0;
	} else if (u->dio_buf[0] != NULL)
		rc = upload_append_dio_take(u, (size_t)n);
	else
		rc = upload_append_write(u, u->table->buf, (size_t)n);
	if (rc != 0)
		upload_finish(u, rc);
}

int
upload_append_pipe(struct upload *u, uint64_t offset, uint64_t length,
    int pipe, upload_done_cb cb, void *arg)
{
	struct stat	 sb;
	int		 rc;

	if (u->table->base == NULL) {
		close(pipe);
		return BERR_INTERNAL;
	}
	/* Only what the event loop can wait on. */
	if (fstat(pipe, &sb) == -1 || !(S_ISFIFO(sb.st_mode) ||
	    S_ISSOCK(sb.st_mode))) {
		close(pipe);
		return BERR_BAD_REQUEST;
	}
	if (!upload_held_begin(u, offset, length) &&
	    (rc = upload_append_begin(u, offset)) != 0) {
		close(pipe);
		return rc;
	}
	if (fd_set_nonblock(pipe) == -1) {
		rc = berr_from_errno(errno);
		close(pipe);
		upload_append_end(u);
		return rc;
	}
	/* Fewer, larger reads; the system may refuse, which is fine. */
	(void)fcntl(pipe, F_SETPIPE_SZ, BLOBD_IO_SIZE);
	if (u->held == NULL)
		upload_append_dio_begin(u, length);
	u->pipe = pipe;
	u->done_cb = cb;
	u->done_arg = arg;
	u->ev = event_new(u->table->base, pipe, EV_READ | EV_PERSIST,
	    upload_append_pipe_cb, u);
	if (u->ev == NULL || event_add(u->ev, NULL) == -1) {
		log_warnx("upload %s: cannot wait on the pipe", u->name);
		if (u->ev != NULL)
			event_free(u->ev);
		u->ev = NULL;
		close(pipe);
		u->pipe = -1;
		upload_append_dio_end(u);
		upload_append_end(u);
		return BERR_INTERNAL;
	}
	return 0;
}

