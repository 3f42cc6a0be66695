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
 * sendfile_probe: the baseline for blob downloads, "what sendfile reaches
 * over loopback on this machine".
 *
 * Writes SIZE random bytes to an unlinked file in DIR (so it sits in the
 * page cache like a freshly pushed blob), listens on 127.0.0.1, prints
 * "PORT <n>" and answers every request on a keep-alive connection with
 * a minimal HTTP/1.1 200 whose body goes out with one sendfile() loop,
 * one connection at a time, until it is killed.  Drive it with "loadgen
 * pull" so the client side is exactly the one that measures the
 * registries.
 */
#include "config.h"

#include <sys/sendfile.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REQ_MAX		8192
#define FILL_SIZE	(1024 * 1024)

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fprintf(stderr, "sendfile_probe: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void
usage(void)
{
	fprintf(stderr, "usage: sendfile_probe [-s size] -D dir\n");
	exit(2);
}

static uint64_t
parse_size(const char *s)
{
	char		*end;
	unsigned long long v;

	v = strtoull(s, &end, 10);
	if (end == s)
		die("bad size: %s", s);
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	else if (*end == 'g' || *end == 'G')
		v <<= 30, end++;
	if (*end != '\0')
		die("bad size: %s", s);
	return v;
}

static int
make_file(const char *dir, uint64_t size)
{
	char		 path[4096];
	unsigned char	*buf;
	uint64_t	 off;
	size_t		 n, got;
	ssize_t		 w;
	int		 fd;

	snprintf(path, sizeof(path), "%s/sendfile-probe.XXXXXX", dir);
	if ((fd = mkstemp(path)) == -1)
		die("mkstemp %s: %s", path, strerror(errno));
	unlink(path);
	if ((buf = malloc(FILL_SIZE)) == NULL)
		die("out of memory");
	for (off = 0; off < size; off += n) {
		n = size - off > FILL_SIZE ? FILL_SIZE : (size_t)(size - off);
		for (got = 0; got < n; got += (size_t)w)
			if ((w = getrandom(buf + got, n - got, 0)) <= 0)
				die("getrandom: %s", strerror(errno));
		for (got = 0; got < n; got += (size_t)w)
			if ((w = write(fd, buf + got, n - got)) <= 0)
				die("write: %s", strerror(errno));
	}
	free(buf);
	return fd;
}

/* Reads one request head; 0 at a clean end of the connection. */
static int
read_request(int s)
{
	char	 req[REQ_MAX];
	size_t	 len = 0;
	ssize_t	 n;

	for (;;) {
		n = read(s, req + len, sizeof(req) - 1 - len);
		if (n == 0)
			return 0;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET)
				return 0;
			die("read: %s", strerror(errno));
		}
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			return 1;
		if (len == sizeof(req) - 1)
			die("request too large");
	}
}

static void
serve(int s, int fd, uint64_t size)
{
	char	 head[256];
	off_t	 off;
	ssize_t	 n;
	int	 hl;

	while (read_request(s)) {
		hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/octet-stream\r\n"
		    "Content-Length: %" PRIu64 "\r\n\r\n", size);
		if (write(s, head, (size_t)hl) != hl)
			die("write: %s", strerror(errno));
		for (off = 0; (uint64_t)off < size; ) {
			n = sendfile(s, fd, &off, (size_t)(size -
			    (uint64_t)off));
			if (n == -1) {
				if (errno == EINTR)
					continue;
				die("sendfile: %s", strerror(errno));
			}
			if (n == 0)
				die("sendfile: short file");
		}
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	socklen_t	 slen = sizeof(sin);
	const char	*dir = NULL;
	uint64_t	 size = 64ULL << 20;
	int		 ch, fd, ls, s, one = 1;

	while ((ch = getopt(argc, argv, "D:s:")) != -1) {
		switch (ch) {
		case 'D':
			dir = optarg;
			break;
		case 's':
			size = parse_size(optarg);
			break;
		default:
			usage();
		}
	}
	if (dir == NULL || optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);

	fd = make_file(dir, size);
	if ((ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 1) == -1 ||
	    getsockname(ls, (struct sockaddr *)&sin, &slen) == -1)
		die("listen: %s", strerror(errno));
	printf("PORT %d\n", ntohs(sin.sin_port));
	fflush(stdout);

	for (;;) {
		if ((s = accept(ls, NULL, NULL)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		serve(s, fd, size);
		close(s);
	}
}
