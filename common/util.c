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
 * Helpers both processes share: allocation that cannot fail, clocks, hex
 * and base64, CRC-32C, descriptor I/O that loops over short transfers,
 * directories, the data directory's lock file, randomness and parsing of
 * numbers and durations.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef HAVE_MALLOPT
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		fatal("malloc %zu", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		fatal("calloc %zu*%zu", n, size);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	void	*np;

	if (size != 0 && n > SIZE_MAX / size)
		fatalx("reallocarray overflow");
	if ((np = realloc(p, n * size == 0 ? 1 : n * size)) == NULL)
		fatal("realloc %zu*%zu", n, size);
	return np;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("strndup");
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("asprintf");
	return n;
}

static int64_t
clock_ms(clockid_t clock)
{
	struct timespec	 ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t
mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
now_sec(void)
{
	return (int64_t)time(NULL);
}

int64_t
mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

void
hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int
hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *in, size_t n, uint8_t *out)
{
	size_t	 i;
	int	 hi, lo;

	if (n % 2 != 0)
		return -1;
	for (i = 0; i < n; i += 2) {
		if ((hi = hex_digit_value((unsigned char)in[i])) < 0 ||
		    (lo = hex_digit_value((unsigned char)in[i + 1])) < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
uuid_format(const uint8_t b[UUID_LEN], char out[UUID_STR_LEN])
{
	char	 hex[2 * UUID_LEN + 1];

	hex_encode(b, UUID_LEN, hex);
	snprintf(out, UUID_STR_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
	    hex + 12, hex + 16, hex + 20);
}

int
uuid_parse(const char *s, uint8_t b[UUID_LEN])
{
	char	 hex[2 * UUID_LEN];
	size_t	 i, n = 0;

	if (strlen(s) != UUID_STR_LEN - 1)
		return -1;
	for (i = 0; i < UUID_STR_LEN - 1; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		hex[n++] = s[i];
	}
	return hex_decode(hex, sizeof(hex), b);
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t
base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t	 i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < n) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

ssize_t
base64_decode(const char *in, size_t n, uint8_t *out, size_t outsz)
{
	size_t	 i, o = 0, pad = 0;
	uint32_t v;
	int	 k, d;

	if (n % 4 != 0)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		pad++;
	if (n > 1 && in[n - 2] == '=')
		pad++;
	if (n / 4 * 3 - pad > outsz)
		return -1;
	for (i = 0; i < n; i += 4) {
		v = 0;
		for (k = 0; k < 4; k++) {
			char c = in[i + k];
			if (c == '=') {
				/* Padding only in the last group's tail. */
				if (i + 4 != n || k < 4 - (int)pad)
					return -1;
				d = 0;
			} else if ((d = b64_value(c)) < 0)
				return -1;
			v = v << 6 | (uint32_t)d;
		}
		out[o++] = v >> 16 & 0xff;
		if (i + 4 != n || pad < 2)
			out[o++] = v >> 8 & 0xff;
		if (i + 4 != n || pad < 1)
			out[o++] = v & 0xff;
	}
	return (ssize_t)o;
}

static uint32_t	crc32c_table[256];

/* A byte at a time, crc inverted (and returned so). */
static uint32_t
crc32c_sw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint32_t	 c;
	int		 i, k;

	if (crc32c_table[1] == 0) {
		for (i = 0; i < 256; i++) {
			c = (uint32_t)i;
			for (k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
			crc32c_table[i] = c;
		}
	}
	while (n-- > 0)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
/*
 * SSE 4.2's crc32 instruction computes this very CRC, eight bytes at a
 * time: a packed blob's entry is checksummed as it is written, and a byte
 * at a time that was a third of blobd's time storing 1 MiB blobs.  Each
 * instruction waits for the one before, so a long buffer goes as three
 * blocks at once, three independent CRCs, joined after (their registers
 * moved past the blocks that follow by a multiplication modulo the
 * polynomial): 1 MiB in 63-66 us instead of 109 us here.
 */
#define CRC32C_BLOCK	8192
/* x^(8 * CRC32C_BLOCK) and x^(16 * CRC32C_BLOCK) modulo the polynomial,
 * bit-reflected: a register moved past one block of zeros, or two. */
#define CRC32C_X1	0x28461564U
#define CRC32C_X2	0xbf455269U

/* a * b modulo the polynomial, bit-reflected (1U << 31 is 1). */
static uint32_t
crc32c_mul(uint32_t a, uint32_t b)
{
	uint32_t	 m = 1U << 31, p = 0;

	for (;;) {
		if (a & m) {
			p ^= b;
			if ((a & (m - 1)) == 0)
				break;
		}
		m >>= 1;
		b = b & 1 ? (b >> 1) ^ 0x82f63b78 : b >> 1;
	}
	return p;
}

__attribute__((target("sse4.2")))
static uint32_t
crc32c_hw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t	 c = crc, c1, c2, v;
	size_t		 i;

	for (; n >= 3 * CRC32C_BLOCK; n -= 3 * CRC32C_BLOCK,
	    p += 3 * CRC32C_BLOCK) {
		c1 = c2 = 0;
		for (i = 0; i < CRC32C_BLOCK; i += 8) {
			memcpy(&v, p + i, sizeof(v));
			c = __builtin_ia32_crc32di(c, v);
			memcpy(&v, p + CRC32C_BLOCK + i, sizeof(v));
			c1 = __builtin_ia32_crc32di(c1, v);
			memcpy(&v, p + 2 * CRC32C_BLOCK + i, sizeof(v));
			c2 = __builtin_ia32_crc32di(c2, v);
		}
		c = crc32c_mul(CRC32C_X2, (uint32_t)c) ^
		    crc32c_mul(CRC32C_X1, (uint32_t)c1) ^ (uint32_t)c2;
	}
	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&v, p, sizeof(v));
		c = __builtin_ia32_crc32di(c, v);
	}
	for (; n > 0; n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

uint32_t
crc32c(uint32_t crc, const void *buf, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc32c_hw(~crc, buf, n);
#endif
	return ~crc32c_sw(~crc, buf, n);
}

int
fd_set_nonblock(int fd)
{
	int	 flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int
fd_set_cloexec(int fd)
{
	int	 flags;

	if ((flags = fcntl(fd, F_GETFD)) == -1)
		return -1;
	return fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/* Without a position (off < 0) the descriptor's own offset is used. */
static int
write_at(int fd, const void *buf, size_t n, off_t off)
{
	const uint8_t	*p = buf;
	ssize_t		 w;

	while (n > 0) {
		w = off < 0 ? write(fd, p, n) : pwrite(fd, p, n, off);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		if (off >= 0)
			off += w;
	}
	return 0;
}

int
write_full(int fd, const void *buf, size_t n)
{
	return write_at(fd, buf, n, -1);
}

int
pwrite_full(int fd, const void *buf, size_t n, off_t off)
{
	return write_at(fd, buf, n, off);
}

static ssize_t
read_at(int fd, void *buf, size_t n, off_t off)
{
	uint8_t	*p = buf;
	size_t	 got = 0;
	ssize_t	 r;

	while (got < n) {
		r = off < 0 ? read(fd, p + got, n - got) :
		    pread(fd, p + got, n - got, off + (off_t)got);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

ssize_t
read_full(int fd, void *buf, size_t n)
{
	return read_at(fd, buf, n, -1);
}

ssize_t
pread_full(int fd, void *buf, size_t n, off_t off)
{
	return read_at(fd, buf, n, off);
}

int
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
fsync_dirfd(int dfd)
{
	return fsync(dfd);
}

int
fsync_dir(const char *path)
{
	int	 fd, rc;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
mkdir_p(const char *path, mode_t mode)
{
	struct stat	 st;
	char		 buf[PATH_MAX];
	char		*p;

	if (*path == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	/* Something is there already: fine only if it is a directory. */
	if (stat(buf, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	return 0;
}

int
anon_file(const char *name)
{
	return memfd_create(name, MFD_CLOEXEC);
}

void
random_bytes(void *buf, size_t n)
{
	uint8_t	*p = buf;
	ssize_t	 r;

	while (n > 0) {
		if ((r = getrandom(p, n, 0)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		p += r;
		n -= (size_t)r;
	}
}

/*
 * A 1 MiB body is copied through buffers of its size (the request's, a
 * frame's), and glibc gave those back to the kernel when freed, so that
 * every push faulted them in and cleared them again: a third of berthd's
 * time pushing 1 MiB blobs, and 40% more server CPU per push.  Up to
 * 4 MiB comes from the heap, which keeps 8 MiB free before it shrinks.
 */
void
malloc_keep(void)
{
#ifdef HAVE_MALLOPT
	(void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
#endif
}

/*
 * glibc returns heap pages only from the top: after a burst of parallel
 * requests the heap stays as large as their peak.  malloc_trim() gives
 * back the free pages in between too; a timer calls this every few
 * seconds, so that only a heap with more than free_over bytes free (more
 * than steady work keeps for reuse) is trimmed.
 */
void
heap_trim(size_t free_over)
{
#if defined(HAVE_MALLINFO2) && defined(HAVE_MALLOC_TRIM)
	if (mallinfo2().fordblks > free_over)
		(void)malloc_trim(0);
#else
	(void)free_over;
#endif
}

int
parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t	 i;

	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int64_t
parse_duration(const char *s)
{
	size_t	 n = strlen(s);
	uint64_t v;
	int64_t	 mult = 1;

	if (n == 0)
		return -1;
	switch (s[n - 1]) {
	case 's': mult = 1; n--; break;
	case 'm': mult = 60; n--; break;
	case 'h': mult = 3600; n--; break;
	case 'd': mult = 86400; n--; break;
	default: break;
	}
	if (parse_u64(s, n, &v) == -1 || v > (uint64_t)INT64_MAX / 86400)
		return -1;
	return (int64_t)v * mult;
}

int
lockfile_take(int dirfd, const char *name, char *holder, size_t holdersz)
{
	struct stat	 sb;
	char		 buf[32];
	ssize_t		 n;
	int		 fd, saved;

	if ((fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640)) == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		saved = errno;
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(holder, holdersz, "%s", buf[0] != '\0' ? buf :
		    "unknown");
		close(fd);
		errno = saved;
		return -1;
	}
	/* Truncating first would cost a journal commit at every start. */
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (pwrite(fd, buf, (size_t)n, 0) != n ||
	    (fstat(fd, &sb) == 0 && sb.st_size > n && ftruncate(fd, n) == -1))
		log_warn("%s: cannot write the pid", name);
	return fd;
}

int
fields_read(FILE *f, const char *path, int flags, size_t maxfields,
    int (*cb)(char **, size_t, size_t, void *), void *arg)
{
	char		*line = NULL, *fields[16], *p, *save;
	size_t		 cap = 0, nf, lineno = 0;
	int		 rc = 0;

	if (maxfields >= nitems(fields))
		maxfields = nitems(fields) - 1;
	while (rc == 0 && getline(&line, &cap, f) != -1) {
		lineno++;
		if ((flags & FIELDS_HASH_ANYWHERE) &&
		    (p = strchr(line, '#')) != NULL)
			*p = '\0';
		if (line[0] == '#')
			continue;
		nf = 0;
		for (p = strtok_r(line, " \t\r\n", &save); p != NULL &&
		    nf <= maxfields; p = strtok_r(NULL, " \t\r\n", &save))
			fields[nf++] = p;
		if (nf > 0)
			rc = cb(fields, nf, lineno, arg);
	}
	if (rc == 0 && ferror(f)) {
		log_warn("reading %s", path);
		rc = -1;
	}
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	return rc;
}
