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

/* Small helpers shared by both processes. */
#ifndef BERTH_UTIL_H
#define BERTH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* Allocation that cannot fail: fatal() on exhaustion. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Wall clock in milliseconds and seconds since the epoch; monotonic ms
 * and microseconds. */
int64_t	 now_ms(void);
int64_t	 now_sec(void);
int64_t	 mono_ms(void);
int64_t	 mono_us(void);

/* The value of a hex digit of either case, or -1. */
int	 hex_digit_value(int);
/* Lower-case hex; hex_decode returns 0, or -1 on odd length or bad digit. */
void	 hex_encode(const uint8_t *, size_t, char *out /* 2n+1 */);
int	 hex_decode(const char *, size_t, uint8_t *out /* n/2 */);

/* 16 bytes in the 8-4-4-4-12 form of UUIDs, lower-case: upload ids and
 * request ids.  uuid_parse takes hex digits of either case; 0 or -1. */
#define UUID_LEN	16
#define UUID_STR_LEN	37
void	 uuid_format(const uint8_t b[UUID_LEN], char out[UUID_STR_LEN]);
int	 uuid_parse(const char *, uint8_t b[UUID_LEN]);

/* Standard base64 with padding.  b64 decode accepts no whitespace and
 * returns the decoded length, or -1. */
size_t	 base64_encoded_len(size_t);
size_t	 base64_encode(const uint8_t *, size_t, char *out);
ssize_t	 base64_decode(const char *, size_t, uint8_t *out, size_t outsz);

/* CRC-32C (Castagnoli), as used for metadata log entries. */
uint32_t crc32c(uint32_t crc, const void *, size_t);

/* Descriptors. */
int	 fd_set_nonblock(int);
int	 fd_set_cloexec(int);
/* Loop over short writes and EINTR (off >= 0); 0 or -1 with errno. */
int	 write_full(int, const void *, size_t);
/* At an offset (>= 0), leaving the descriptor's own. */
int	 pwrite_full(int, const void *, size_t, off_t);
/* Read exactly n bytes unless EOF (off >= 0); the bytes read or -1. */
ssize_t	 read_full(int, void *, size_t);
ssize_t	 pread_full(int, void *, size_t, off_t);
/* pwritev(2) until every byte is written (iov is changed); 0 or -1. */
struct iovec;
int	 pwritev_full(int, struct iovec *, int, off_t);
/* fsync()s the directory at path (or the open directory fd). */
int	 fsync_dir(const char *);
int	 fsync_dirfd(int);
/* mkdir -p with mode; 0 or -1. */
int	 mkdir_p(const char *, mode_t);
/*
 * Opens (creating it) name beneath dirfd, takes an exclusive flock on it
 * without waiting and writes our pid in it: the descriptor, held for as
 * long as the lock is.  -1 with errno; EWOULDBLOCK when another process
 * holds it, with its pid (as written there, or "unknown") in holder.
 */
int	 lockfile_take(int dirfd, const char *name, char *holder,
	    size_t holdersz);
/* An anonymous, unlinked read/write file (memfd) for passing data. */
int	 anon_file(const char *name);

/* Random bytes from the kernel; fatal on failure. */
void	 random_bytes(void *, size_t);
/* Keeps freed buffers of a few MiB for reuse (glibc), rather than giving
 * them back to the kernel and faulting them in again. */
void	 malloc_keep(void);
/* Gives free heap pages back when more than free_over bytes are free. */
void	 heap_trim(size_t free_over);

/* Parses a decimal uint64 with no sign, spaces or overflow. */
int	 parse_u64(const char *, size_t, uint64_t *);
/* "10s", "5m", "2h", "1d" or plain seconds into seconds; -1 if invalid. */
int64_t	 parse_duration(const char *);

/*
 * Reads a file of secrets, a record a line of fields separated by blanks
 * (at most maxfields are passed on; more count as maxfields + 1), skipping
 * empty lines and comments: from '#' on with FIELDS_HASH_ANYWHERE, else
 * only lines that start with it.  cb returns 0, or -1 to stop (it logged
 * why).  The line buffer is wiped.  0, or -1 (logged) when cb stopped or
 * f could not be read; f stays open.
 */
#define FIELDS_HASH_ANYWHERE	0x1
int	 fields_read(FILE *f, const char *path, int flags, size_t maxfields,
	    int (*cb)(char **fields, size_t nf, size_t lineno, void *arg),
	    void *arg);

#endif
