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
 * The frame decoder and rpc channels over a real socketpair.  Both ends
 * of a channel pair run on one event_base; "raw" tests drive one end by
 * hand with write(2)/sendmsg(2) to produce what a broken peer would.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "blobd.h"
#include "error.h"
#include "rpc.h"
#include "util.h"
#include "unit.h"

enum {
	T_PLAIN = 100,		/* any length, no descriptor */
	T_FD,			/* 0..64 bytes, descriptor required */
	T_OPT,			/* any length, descriptor optional */
	T_FIXED,		/* exactly 8 bytes, no descriptor */
	T_REQUEST,		/* 0..64 bytes, id not 0 */
	T_NOTE,			/* 0..64 bytes, id 0 */
	T_SIZED,		/* a u32 that says how many bytes follow */
	T_UNKNOWN		/* in no table */
};

static int
check_sized(const struct frame_hdr *h, const uint8_t *payload)
{
	uint32_t n;

	memcpy(&n, payload, sizeof(n));
	return n == h->len - sizeof(n) ? 0 : -1;
}

static const struct rpc_rule test_rules[] = {
	{ T_PLAIN, 0, FRAME_MAX_PAYLOAD, RPC_FD_NONE },
	{ T_FD, 0, 64, RPC_FD_REQUIRED },
	{ T_OPT, 0, FRAME_MAX_PAYLOAD, RPC_FD_OPTIONAL },
	{ T_FIXED, 8, 8, RPC_FD_NONE },
	{ T_REQUEST, 0, 64, RPC_FD_NONE, RPC_ID_REQUEST },
	{ T_NOTE, 0, 64, RPC_FD_NONE, RPC_ID_ZERO },
	{ T_SIZED, 4, 64, RPC_FD_NONE, RPC_ID_ANY, check_sized },
};
#define NRULES	(sizeof(test_rules) / sizeof(test_rules[0]))

/* ---- the pure decoder ------------------------------------------------ */

static void
put_hdr(uint8_t *buf, uint32_t type, uint32_t len, uint32_t id,
    uint32_t flags)
{
	struct frame_hdr h = { type, len, id, flags };

	memcpy(buf, &h, sizeof(h));
}

static void
test_frame_decode(void)
{
	uint8_t		 buf[FRAME_HDR_LEN + 1];
	struct frame_hdr h;

	CU_ASSERT_EQUAL(FRAME_HDR_LEN, 16);
	put_hdr(buf, 7, 1234, 99, 0);
	memset(&h, 0xee, sizeof(h));
	CU_ASSERT_EQUAL(frame_decode_hdr(buf, FRAME_HDR_LEN, &h), 0);
	CU_ASSERT_EQUAL(h.type, 7);
	CU_ASSERT_EQUAL(h.len, 1234);
	CU_ASSERT_EQUAL(h.id, 99);
	CU_ASSERT_EQUAL(h.flags, 0);

	/* Short buffers. */
	CU_ASSERT_EQUAL(frame_decode_hdr(buf, FRAME_HDR_LEN - 1, &h),
	    BERR_FRAME);
	CU_ASSERT_EQUAL(frame_decode_hdr(buf, 0, &h), BERR_FRAME);

	/* An unaligned header decodes the same. */
	put_hdr(buf + 1, 3, 0, 0xffffffff, FRAME_F_FD);
	CU_ASSERT_EQUAL(frame_decode_hdr(buf + 1, FRAME_HDR_LEN, &h), 0);
	CU_ASSERT_EQUAL(h.type, 3);
	CU_ASSERT_EQUAL(h.len, 0);
	CU_ASSERT_EQUAL(h.id, 0xffffffff);
	CU_ASSERT_EQUAL(h.flags, FRAME_F_FD);

	/* The length limit is inclusive. */
	put_hdr(buf, 1, FRAME_MAX_PAYLOAD, 0, 0);
	CU_ASSERT_EQUAL(frame_decode_hdr(buf, FRAME_HDR_LEN, &h), 0);
	CU_ASSERT_EQUAL(h.len, FRAME_MAX_PAYLOAD);
	put_hdr(buf, 1, FRAME_MAX_PAYLOAD + 1, 0, 0);
	CU_ASSERT_EQUAL(frame_decode_hdr(buf, FRAME_HDR_LEN, &h), BERR_FRAME);
	put_hdr(buf, 1, UINT32_MAX, 0, 0);
	CU_ASSERT_EQUAL(frame_decode_hdr(buf, FRAME_HDR_LEN, &h), BERR_FRAME);

	/* Unknown flag bits. */
	put_hdr(buf, 1, 0, 0, 0x2);
	CU_ASSERT_EQUAL(frame_decode_hdr(buf, FRAME_HDR_LEN, &h), BERR_FRAME);
	put_hdr(buf, 1, 0, 0, FRAME_F_FD | 0x80000000u);
	CU_ASSERT_EQUAL(frame_decode_hdr(buf, FRAME_HDR_LEN, &h), BERR_FRAME);
	put_hdr(buf, 1, 0, 0, 0xffffffff);
	CU_ASSERT_EQUAL(frame_decode_hdr(buf, FRAME_HDR_LEN, &h), BERR_FRAME);
}

static int
check_id(uint32_t type, uint32_t len, int has_fd, uint32_t id)
{
	struct frame_hdr h = { type, len, id, has_fd ? FRAME_F_FD : 0 };

	return frame_check(test_rules, NRULES, &h, has_fd);
}

static int
check(uint32_t type, uint32_t len, int has_fd)
{
	return check_id(type, len, has_fd, 1);
}

static void
test_frame_check(void)
{
	struct frame_hdr h = { T_PLAIN, 0, 0, 0 };

	CU_ASSERT_EQUAL(check(T_PLAIN, 0, 0), 0);
	CU_ASSERT_EQUAL(check(T_PLAIN, FRAME_MAX_PAYLOAD, 0), 0);
	CU_ASSERT_EQUAL(check(T_PLAIN, 10, 1), BERR_FRAME);	/* fd refused */

	CU_ASSERT_EQUAL(check(T_FD, 0, 1), 0);
	CU_ASSERT_EQUAL(check(T_FD, 64, 1), 0);
	CU_ASSERT_EQUAL(check(T_FD, 65, 1), BERR_FRAME);	/* too long */
	CU_ASSERT_EQUAL(check(T_FD, 10, 0), BERR_FRAME);	/* fd missing */

	CU_ASSERT_EQUAL(check(T_OPT, 5, 0), 0);
	CU_ASSERT_EQUAL(check(T_OPT, 5, 1), 0);

	CU_ASSERT_EQUAL(check(T_FIXED, 8, 0), 0);
	CU_ASSERT_EQUAL(check(T_FIXED, 7, 0), BERR_FRAME);	/* too short */
	CU_ASSERT_EQUAL(check(T_FIXED, 9, 0), BERR_FRAME);
	CU_ASSERT_EQUAL(check(T_FIXED, 0, 0), BERR_FRAME);
	CU_ASSERT_EQUAL(check(T_FIXED, 8, 1), BERR_FRAME);

	/* Ids: any, a request's (not 0), or 0. */
	CU_ASSERT_EQUAL(check_id(T_PLAIN, 0, 0, 0), 0);
	CU_ASSERT_EQUAL(check_id(T_PLAIN, 0, 0, UINT32_MAX), 0);
	CU_ASSERT_EQUAL(check_id(T_REQUEST, 3, 0, 1), 0);
	CU_ASSERT_EQUAL(check_id(T_REQUEST, 3, 0, UINT32_MAX), 0);
	CU_ASSERT_EQUAL(check_id(T_REQUEST, 3, 0, 0), BERR_FRAME);
	CU_ASSERT_EQUAL(check_id(T_NOTE, 3, 0, 0), 0);
	CU_ASSERT_EQUAL(check_id(T_NOTE, 3, 0, 1), BERR_FRAME);
	CU_ASSERT_EQUAL(check_id(T_NOTE, 3, 0, UINT32_MAX), BERR_FRAME);
	/* The id rule does not lift the others. */
	CU_ASSERT_EQUAL(check_id(T_NOTE, 65, 0, 0), BERR_FRAME);
	CU_ASSERT_EQUAL(check_id(T_REQUEST, 3, 1, 1), BERR_FRAME);
	/* A row's payload check needs the payload: frame_check leaves it
	 * to the channel. */
	CU_ASSERT_EQUAL(check(T_SIZED, 4, 0), 0);
	CU_ASSERT_EQUAL(check(T_SIZED, 3, 0), BERR_FRAME);

	CU_ASSERT_EQUAL(check(T_UNKNOWN, 0, 0), BERR_FRAME);
	CU_ASSERT_EQUAL(check(0, 0, 0), BERR_FRAME);
	/* An empty table accepts nothing. */
	CU_ASSERT_EQUAL(frame_check(test_rules, 0, &h, 0), BERR_FRAME);
}

/* ---- channels -------------------------------------------------------- */

/* rpc_sendv() of two pieces. */
static int
send2(struct rpc_chan *c, uint32_t type, uint32_t id, const void *p1,
    size_t n1, const void *p2, size_t n2, int fd)
{
	struct iovec	 iov[2];

	iov[0].iov_base = (void *)(uintptr_t)p1;
	iov[0].iov_len = n1;
	iov[1].iov_base = (void *)(uintptr_t)p2;
	iov[1].iov_len = n2;
	return rpc_sendv(c, type, id, iov, 2, fd);
}

struct rec {
	uint32_t	 type, id, len, flags;
	uint32_t	 crc;		/* crc32c of the payload */
	uint8_t		 head[8];	/* its first bytes */
	int		 fd;		/* as received; closed by side_clear */
	int		 fd_cloexec;
	int		 handler;	/* 0: msg_cb; else the row's handler */
};

struct side {
	struct rpc_chan	*chan;
	struct rec	*recs;
	size_t		 nrecs, cap;
	int		 closed;
	int		 close_err;
	int		 free_on_close;	/* rpc_free() in the close callback */
	size_t		 free_after;	/* rpc_free() after this many frames */
};

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static void
msg_cb(struct rpc_chan *c, const struct frame_hdr *h, const uint8_t *payload,
    int fd, void *arg)
{
	struct side	*s = arg;
	struct rec	*r;
	int		 flags;

	CU_ASSERT_PTR_EQUAL(c, s->chan);
	if (s->nrecs == s->cap) {
		s->cap = s->cap == 0 ? 64 : s->cap * 2;
		s->recs = xreallocarray(s->recs, s->cap, sizeof(*s->recs));
	}
	r = &s->recs[s->nrecs++];
	memset(r, 0, sizeof(*r));
	r->type = h->type;
	r->id = h->id;
	r->len = h->len;
	r->flags = h->flags;
	r->crc = crc32c(0, payload, h->len);
	memcpy(r->head, payload, h->len < sizeof(r->head) ? h->len :
	    sizeof(r->head));
	r->fd = fd;
	if (fd != -1) {
		flags = fcntl(fd, F_GETFD);
		r->fd_cloexec = flags != -1 && (flags & FD_CLOEXEC);
	}
	if (s->free_after != 0 && s->nrecs == s->free_after) {
		rpc_free(s->chan);
		s->chan = NULL;
	}
}

static void
close_cb(struct rpc_chan *c, int err, void *arg)
{
	struct side	*s = arg;

	CU_ASSERT_PTR_EQUAL(c, s->chan);
	CU_ASSERT_FALSE(s->closed);	/* exactly once */
	s->closed = 1;
	s->close_err = err;
	if (s->free_on_close) {
		rpc_free(s->chan);
		s->chan = NULL;
	}
}

static void
side_init(struct side *s, struct event_base *base, int sock)
{
	memset(s, 0, sizeof(*s));
	s->chan = rpc_new(base, sock, test_rules, NRULES, msg_cb, close_cb, s);
}

static void
side_clear(struct side *s)
{
	size_t	 i;

	rpc_free(s->chan);
	for (i = 0; i < s->nrecs; i++)
		if (s->recs[i].fd != -1)
			close(s->recs[i].fd);
	free(s->recs);
	memset(s, 0, sizeof(*s));
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
}

/* Runs the loop until *count >= want or five seconds pass. */
static int
run_until(struct event_base *base, const size_t *count, size_t want)
{
	struct event	*tick;
	struct timeval	 tv = { 0, 10000 };
	int64_t		 deadline = mono_ms() + 5000;

	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	while (*count < want && mono_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
	return *count >= want;
}

static int
run_until_closed(struct event_base *base, struct side *s)
{
	struct event	*tick;
	struct timeval	 tv = { 0, 10000 };
	int64_t		 deadline = mono_ms() + 5000;

	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	while (!s->closed && mono_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
	return s->closed;
}

/* Lets the loop run a few rounds without waiting for anything. */
static void
run_briefly(struct event_base *base)
{
	int	 i;

	for (i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static int
make_pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

/* A memfd holding v. */
static int
tagged_file(uint32_t v)
{
	int	 fd = anon_file("berth-unit");

	if (fd == -1 || write_full(fd, &v, sizeof(v)) == -1)
		return -1;
	return fd;
}

static uint32_t
file_tag(int fd)
{
	uint32_t v = 0xffffffff;

	if (pread_full(fd, &v, sizeof(v), 0) != sizeof(v))
		return 0xffffffff;
	return v;
}

static void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7) ^ (i >> 8));
}

static void
test_chan_basic(void)
{
	struct event_base	*base;
	struct side		 a, b;
	struct stat		 st1, st2;
	uint8_t			 payload[1000], eight[8] = "12345678";
	int			 sv[2], p[2], mfd, keep, nfd;
	char			 c;

	nfd = count_fds();
	base = event_base_new();
	CU_ASSERT_FATAL(base != NULL && make_pair(sv) == 0);
	side_init(&a, base, sv[0]);
	side_init(&b, base, sv[1]);
	fill(payload, sizeof(payload), 1);

	/* No payload, a payload, a payload in two parts, with descriptors. */
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_PLAIN, 1, NULL, 0, -1), 0);
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_PLAIN, 2, payload, sizeof(payload),
	    -1), 0);
	CU_ASSERT_EQUAL(send2(a.chan, T_FIXED, 3, eight, 3, eight + 3, 5,
	    -1), 0);
	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_FD, 4, "pipe", 4, p[1]), 0);
	mfd = anon_file("berth-unit");
	CU_ASSERT_FATAL(mfd != -1);
	keep = dup(mfd);
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_OPT, 5, payload, 10, mfd), 0);
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_OPT, 6, NULL, 0, -1), 0);
	/* The other way at the same time. */
	CU_ASSERT_EQUAL(rpc_send(b.chan, T_PLAIN, 7, "pong", 4, -1), 0);

	CU_ASSERT_FATAL(run_until(base, &b.nrecs, 6));
	CU_ASSERT_FATAL(run_until(base, &a.nrecs, 1));
	CU_ASSERT_EQUAL(rpc_pending(a.chan), 0);
	CU_ASSERT_EQUAL(rpc_pending(b.chan), 0);

	CU_ASSERT_EQUAL(b.recs[0].type, T_PLAIN);
	CU_ASSERT_EQUAL(b.recs[0].id, 1);
	CU_ASSERT_EQUAL(b.recs[0].len, 0);
	CU_ASSERT_EQUAL(b.recs[0].fd, -1);
	CU_ASSERT_EQUAL(b.recs[1].id, 2);
	CU_ASSERT_EQUAL(b.recs[1].len, sizeof(payload));
	CU_ASSERT_EQUAL(b.recs[1].crc, crc32c(0, payload, sizeof(payload)));
	CU_ASSERT_EQUAL(b.recs[1].fd, -1);
	CU_ASSERT_EQUAL(b.recs[2].type, T_FIXED);
	CU_ASSERT_EQUAL(b.recs[2].len, 8);
	CU_ASSERT_EQUAL(memcmp(b.recs[2].head, "12345678", 8), 0);
	CU_ASSERT_EQUAL(b.recs[3].type, T_FD);
	CU_ASSERT_EQUAL(b.recs[3].flags, FRAME_F_FD);
	CU_ASSERT_EQUAL(memcmp(b.recs[3].head, "pipe", 4), 0);
	CU_ASSERT_EQUAL(b.recs[4].type, T_OPT);
	CU_ASSERT_EQUAL(b.recs[4].len, 10);
	CU_ASSERT_EQUAL(b.recs[5].id, 6);
	CU_ASSERT_EQUAL(b.recs[5].fd, -1);
	CU_ASSERT_EQUAL(b.recs[5].flags, 0);
	CU_ASSERT_EQUAL(a.recs[0].id, 7);
	CU_ASSERT_EQUAL(memcmp(a.recs[0].head, "pong", 4), 0);

	/* The pipe's write end arrived: it writes into our read end. */
	CU_ASSERT_FATAL(b.recs[3].fd != -1);
	CU_ASSERT_TRUE(b.recs[3].fd_cloexec);
	CU_ASSERT_EQUAL(write(b.recs[3].fd, "x", 1), 1);
	CU_ASSERT_EQUAL(read(p[0], &c, 1), 1);
	CU_ASSERT_EQUAL(c, 'x');
	/* The memfd is the same file as the one we kept. */
	CU_ASSERT_FATAL(b.recs[4].fd != -1);
	CU_ASSERT_EQUAL(fstat(keep, &st1), 0);
	CU_ASSERT_EQUAL(fstat(b.recs[4].fd, &st2), 0);
	CU_ASSERT_EQUAL(st1.st_ino, st2.st_ino);
	CU_ASSERT_EQUAL(st1.st_dev, st2.st_dev);
	CU_ASSERT_EQUAL(pwrite_full(b.recs[4].fd, "shared", 6, 0), 0);
	CU_ASSERT_EQUAL(fstat(keep, &st1), 0);
	CU_ASSERT_EQUAL(st1.st_size, 6);

	/* Closing the write end in b gives EOF on our read end. */
	close(b.recs[3].fd);
	b.recs[3].fd = -1;
	CU_ASSERT_EQUAL(read(p[0], &c, 1), 0);
	close(p[0]);
	close(keep);

	CU_ASSERT_FALSE(a.closed);
	CU_ASSERT_FALSE(b.closed);
	CU_ASSERT_EQUAL(rpc_flush(a.chan), 0);
	side_clear(&a);
	side_clear(&b);
	event_base_free(base);
	CU_ASSERT_EQUAL(count_fds(), nfd);
}

#define BURST	600

static void
shrink_buffers(int sock)
{
	int	 sz = 8192;

	CU_ASSERT_EQUAL(setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)), 0);
	CU_ASSERT_EQUAL(setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &sz,
	    sizeof(sz)), 0);
}

static size_t
burst_len(uint32_t i)
{
	return (i * 7919u) % 20000;
}

/* Frame i: T_OPT with a tagged memfd when i % 3 == 0, else T_PLAIN. */
static void
send_burst(struct rpc_chan *c, uint8_t *buf, uint32_t base_id)
{
	uint32_t i;
	int	 fd, rc;

	for (i = 0; i < BURST; i++) {
		fill(buf, burst_len(i), base_id + i);
		if (i % 3 == 0) {
			fd = tagged_file(base_id + i);
			CU_ASSERT_FATAL(fd != -1);
			rc = rpc_send(c, T_OPT, base_id + i, buf, burst_len(i),
			    fd);
		} else
			rc = rpc_send(c, T_PLAIN, base_id + i, buf,
			    burst_len(i), -1);
		CU_ASSERT_EQUAL(rc, 0);
	}
}

static void
check_burst(const struct side *s, uint8_t *buf, uint32_t base_id)
{
	const struct rec *r;
	uint32_t	 i;
	int		 bad = 0;

	for (i = 0; i < BURST && i < s->nrecs; i++) {
		r = &s->recs[i];
		fill(buf, burst_len(i), base_id + i);
		if (r->id != base_id + i || r->len != burst_len(i) ||
		    r->crc != crc32c(0, buf, burst_len(i)))
			bad++;
		else if (i % 3 == 0 && (r->type != T_OPT || r->fd == -1 ||
		    file_tag(r->fd) != base_id + i || !r->fd_cloexec))
			bad++;
		else if (i % 3 != 0 && (r->type != T_PLAIN || r->fd != -1))
			bad++;
	}
	CU_ASSERT_EQUAL(s->nrecs, BURST);
	CU_ASSERT_EQUAL(bad, 0);
}

static void
test_chan_burst(void)
{
	struct event_base	*base;
	struct side		 a, b;
	uint8_t			*buf;
	int			 sv[2], nfd;

	nfd = count_fds();
	buf = xmalloc(20000);
	base = event_base_new();
	CU_ASSERT_FATAL(base != NULL && make_pair(sv) == 0);
	side_init(&a, base, sv[0]);
	side_init(&b, base, sv[1]);
	/* Small socket buffers: writes stop short, also right before a
	 * descriptor's byte, and reads split frames. */
	shrink_buffers(sv[0]);
	shrink_buffers(sv[1]);

	/* Both directions at once, far more than the socket buffers hold. */
	send_burst(a.chan, buf, 1000);
	send_burst(b.chan, buf, 5000);
	CU_ASSERT_TRUE(rpc_pending(a.chan) > 0);
	CU_ASSERT_TRUE(run_until(base, &b.nrecs, BURST));
	CU_ASSERT_TRUE(run_until(base, &a.nrecs, BURST));
	check_burst(&b, buf, 1000);
	check_burst(&a, buf, 5000);
	CU_ASSERT_EQUAL(rpc_pending(a.chan), 0);
	CU_ASSERT_FALSE(a.closed || b.closed);

	side_clear(&a);
	side_clear(&b);
	event_base_free(base);
	free(buf);
	CU_ASSERT_EQUAL(count_fds(), nfd);
}

static void
test_chan_max_payload(void)
{
	struct event_base	*base;
	struct side		 a, b;
	uint8_t			*buf;
	int			 sv[2], nfd, fd;
	uint32_t		 crc;

	nfd = count_fds();
	buf = xmalloc(FRAME_MAX_PAYLOAD + 1);
	fill(buf, FRAME_MAX_PAYLOAD + 1, 77);
	crc = crc32c(0, buf, FRAME_MAX_PAYLOAD);
	base = event_base_new();
	CU_ASSERT_FATAL(base != NULL && make_pair(sv) == 0);
	side_init(&a, base, sv[0]);
	side_init(&b, base, sv[1]);

	/* One byte too many: refused, and the descriptor closed. */
	fd = tagged_file(1);
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_OPT, 1, buf, FRAME_MAX_PAYLOAD + 1,
	    fd), BERR_FRAME);
	CU_ASSERT_FALSE(fd_is_open(fd));
	CU_ASSERT_EQUAL(send2(a.chan, T_OPT, 1, buf, FRAME_MAX_PAYLOAD, buf,
	    1, -1), BERR_FRAME);
	CU_ASSERT_EQUAL(rpc_pending(a.chan), 0);

	/* Exactly the maximum, plain and with a descriptor, then a small
	 * frame to show the stream is still in step. */
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_PLAIN, 2, buf, FRAME_MAX_PAYLOAD,
	    -1), 0);
	CU_ASSERT_EQUAL(send2(a.chan, T_OPT, 3, buf, 1000, buf + 1000,
	    FRAME_MAX_PAYLOAD - 1000, tagged_file(3)), 0);
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_FIXED, 4, "abcdefgh", 8, -1), 0);
	CU_ASSERT_TRUE(rpc_pending(a.chan) > 0);
	CU_ASSERT_FATAL(run_until(base, &b.nrecs, 3));
	CU_ASSERT_EQUAL(b.recs[0].id, 2);
	CU_ASSERT_EQUAL(b.recs[0].len, FRAME_MAX_PAYLOAD);
	CU_ASSERT_EQUAL(b.recs[0].crc, crc);
	CU_ASSERT_EQUAL(b.recs[0].fd, -1);
	CU_ASSERT_EQUAL(b.recs[1].id, 3);
	CU_ASSERT_EQUAL(b.recs[1].len, FRAME_MAX_PAYLOAD);
	CU_ASSERT_EQUAL(b.recs[1].crc, crc);
	CU_ASSERT_EQUAL(file_tag(b.recs[1].fd), 3);
	CU_ASSERT_EQUAL(b.recs[2].id, 4);
	CU_ASSERT_EQUAL(memcmp(b.recs[2].head, "abcdefgh", 8), 0);
	CU_ASSERT_FALSE(b.closed);

	side_clear(&a);
	side_clear(&b);
	event_base_free(base);
	free(buf);
	CU_ASSERT_EQUAL(count_fds(), nfd);
}

/* n1 + n2 wraps around: must be refused, not queued. */
static void
test_chan_size_overflow(void)
{
	struct event_base	*base;
	struct rpc_chan		*c;
	pid_t			 pid;
	int			 sv[2], status;
	uint8_t			 x = 0;

	pid = fork();
	CU_ASSERT_FATAL(pid != -1);
	if (pid == 0) {
		close(STDERR_FILENO);
		base = event_base_new();
		if (base == NULL || make_pair(sv) == -1)
			_exit(2);
		c = rpc_new(base, sv[0], test_rules, NRULES, msg_cb, close_cb,
		    NULL);
		if (send2(c, T_PLAIN, 1, &x, SIZE_MAX, &x, 2, -1) !=
		    BERR_FRAME)
			_exit(3);
		if (rpc_pending(c) != 0)
			_exit(4);
		_exit(0);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

static void
test_chan_peer_close(void)
{
	struct event_base	*base;
	struct side		 a, b;
	int			 sv[2], nfd, fd;

	nfd = count_fds();
	base = event_base_new();
	CU_ASSERT_FATAL(base != NULL && make_pair(sv) == 0);
	side_init(&a, base, sv[0]);
	side_init(&b, base, sv[1]);

	CU_ASSERT_EQUAL(rpc_send(b.chan, T_PLAIN, 1, "bye", 3, -1), 0);
	side_clear(&b);
	CU_ASSERT_TRUE(run_until_closed(base, &a));
	CU_ASSERT_EQUAL(a.close_err, 0);
	/* What was sent before the close still arrived. */
	CU_ASSERT_EQUAL(a.nrecs, 1);
	/* A dead channel refuses to send and closes what it is given. */
	fd = tagged_file(1);
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_OPT, 2, NULL, 0, fd), BERR_IO);
	CU_ASSERT_FALSE(fd_is_open(fd));
	CU_ASSERT_EQUAL(rpc_flush(a.chan), BERR_IO);
	side_clear(&a);

	/* The close callback may free the channel. */
	CU_ASSERT_FATAL(make_pair(sv) == 0);
	side_init(&a, base, sv[0]);
	a.free_on_close = 1;
	close(sv[1]);
	CU_ASSERT_TRUE(run_until_closed(base, &a));
	CU_ASSERT_EQUAL(a.close_err, 0);
	CU_ASSERT_PTR_NULL(a.chan);
	side_clear(&a);

	event_base_free(base);
	CU_ASSERT_EQUAL(count_fds(), nfd);
}

static void
test_chan_rule_violation(void)
{
	static const struct {
		uint32_t	 type;
		size_t		 len;
		int		 with_fd;
		uint32_t	 id;
	} bad[] = {
		{ T_UNKNOWN, 0, 0, 2 },
		{ T_FIXED, 7, 0, 2 },		/* below min */
		{ T_FIXED, 9, 0, 2 },		/* above max */
		{ T_FD, 65, 1, 2 },
		{ T_FD, 4, 0, 2 },		/* fd required but missing */
		{ T_PLAIN, 4, 1, 2 },		/* fd not allowed */
		{ T_FIXED, 8, 1, 2 },
		{ T_REQUEST, 4, 0, 0 },		/* a request without an id */
		{ T_NOTE, 4, 0, 2 },		/* an id where none goes */
		{ T_SIZED, 8, 0, 2 },		/* its check fails */
	};
	struct event_base	*base;
	struct side		 a, b;
	uint8_t			 buf[100];
	size_t			 i;
	int			 sv[2], nfd;

	nfd = count_fds();
	base = event_base_new();
	CU_ASSERT_FATAL(base != NULL);
	memset(buf, 'x', sizeof(buf));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_FATAL(make_pair(sv) == 0);
		side_init(&a, base, sv[0]);
		side_init(&b, base, sv[1]);
		/* A good frame before the bad one, good ones after it, some
		 * with descriptors that must not leak. */
		CU_ASSERT_EQUAL(rpc_send(a.chan, T_PLAIN, 1, buf, 10, -1), 0);
		CU_ASSERT_EQUAL(rpc_send(a.chan, bad[i].type, bad[i].id, buf,
		    bad[i].len, bad[i].with_fd ? tagged_file(2) : -1), 0);
		CU_ASSERT_EQUAL(rpc_send(a.chan, T_OPT, 3, buf, 1,
		    tagged_file(3)), 0);
		CU_ASSERT_EQUAL(rpc_send(a.chan, T_PLAIN, 4, buf, 1, -1), 0);
		CU_ASSERT_TRUE(run_until_closed(base, &b));
		CU_ASSERT_EQUAL(b.close_err, BERR_FRAME);
		CU_ASSERT_EQUAL(b.nrecs, 1);
		CU_ASSERT_EQUAL(b.recs[0].id, 1);
		/* The sender sees the close: EOF, or ECONNRESET when b left
		 * bytes unread in its socket. */
		side_clear(&b);
		CU_ASSERT_TRUE(run_until_closed(base, &a));
		CU_ASSERT_TRUE(a.close_err == 0 || a.close_err == BERR_IO);
		side_clear(&a);
	}
	event_base_free(base);
	CU_ASSERT_EQUAL(count_fds(), nfd);
}

static void
handler_one(struct rpc_chan *c, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct side	*s = arg;

	msg_cb(c, h, payload, fd, arg);
	s->recs[s->nrecs - 1].handler = 1;
}

static void
handler_two(struct rpc_chan *c, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct side	*s = arg;

	msg_cb(c, h, payload, fd, arg);
	s->recs[s->nrecs - 1].handler = 2;
}

/* Without a msg_cb, each frame goes to its row's handler once its row
 * (the payload check included) has let it through. */
static void
test_chan_handlers(void)
{
	static const struct rpc_rule rules[] = {
		{ T_PLAIN, 0, 64, RPC_FD_NONE, RPC_ID_REQUEST, NULL,
		    handler_one },
		{ T_FD, 0, 64, RPC_FD_REQUIRED, RPC_ID_ANY, NULL,
		    handler_two },
		{ T_SIZED, 4, 64, RPC_FD_NONE, RPC_ID_ANY, check_sized,
		    handler_one },
	};
	struct event_base	*base;
	struct side		 a, b;
	uint8_t			 buf[12];
	uint32_t		 n = 8;
	int			 sv[2], nfd;

	nfd = count_fds();
	base = event_base_new();
	CU_ASSERT_FATAL(base != NULL && make_pair(sv) == 0);
	side_init(&a, base, sv[0]);
	memset(&b, 0, sizeof(b));
	b.chan = rpc_new(base, sv[1], rules, nitems(rules), NULL, close_cb,
	    &b);
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, &n, sizeof(n));
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_PLAIN, 1, buf, 3, -1), 0);
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_FD, 2, buf, 0, tagged_file(7)), 0);
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_SIZED, 3, buf, 12, -1), 0);
	CU_ASSERT_TRUE(run_until(base, &b.nrecs, 3));
	CU_ASSERT_EQUAL(b.recs[0].handler, 1);
	CU_ASSERT_EQUAL(b.recs[1].handler, 2);
	CU_ASSERT_EQUAL(file_tag(b.recs[1].fd), 7);
	CU_ASSERT_EQUAL(b.recs[2].handler, 1);
	CU_ASSERT_EQUAL(b.recs[2].len, 12);
	/* A frame its check refuses reaches no handler and ends it. */
	n = 9;
	memcpy(buf, &n, sizeof(n));
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_SIZED, 4, buf, 12, -1), 0);
	CU_ASSERT_EQUAL(rpc_send(a.chan, T_PLAIN, 5, buf, 3, -1), 0);
	CU_ASSERT_TRUE(run_until_closed(base, &b));
	CU_ASSERT_EQUAL(b.close_err, BERR_FRAME);
	CU_ASSERT_EQUAL(b.nrecs, 3);
	side_clear(&b);
	CU_ASSERT_TRUE(run_until_closed(base, &a));
	side_clear(&a);
	event_base_free(base);
	CU_ASSERT_EQUAL(count_fds(), nfd);
}

/* ---- a receiving channel driven by hand ------------------------------ */

struct raw {
	struct event_base	*base;
	struct side		 rx;
	int			 sock;		/* our end */
	int			 nfd;
};

static void
raw_init(struct raw *r)
{
	int	 sv[2];

	r->nfd = count_fds();
	r->base = event_base_new();
	CU_ASSERT_FATAL(r->base != NULL && make_pair(sv) == 0);
	side_init(&r->rx, r->base, sv[0]);
	r->sock = sv[1];
}

static void
raw_clear(struct raw *r)
{
	side_clear(&r->rx);
	close(r->sock);
	event_base_free(r->base);
	CU_ASSERT_EQUAL(count_fds(), r->nfd);
}

/* Writes n bytes in one sendmsg, with nfds descriptors (dups of fd). */
static void
raw_send(struct raw *r, const void *p, size_t n, int fd, int nfds)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	} cbuf;
	int		 fds[4], i;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = n;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		for (i = 0; i < nfds; i++)
			fds[i] = fd;
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	CU_ASSERT_EQUAL(sendmsg(r->sock, &msg, 0), (ssize_t)n);
}

/* Builds a frame into buf; returns its length. */
static size_t
raw_frame(uint8_t *buf, uint32_t type, uint32_t id, uint32_t flags,
    const char *payload)
{
	size_t	 n = payload == NULL ? 0 : strlen(payload);

	put_hdr(buf, type, (uint32_t)n, id, flags);
	memcpy(buf + FRAME_HDR_LEN, payload == NULL ? "" : payload, n);
	return FRAME_HDR_LEN + n;
}

static void
test_raw_garbage(void)
{
	static const struct {
		uint32_t	 len, flags;
	} bad[] = {
		{ 0, 0x2 },
		{ 0, 0x80000000u },
		{ FRAME_MAX_PAYLOAD + 1, 0 },
		{ UINT32_MAX, 0 },
	};
	struct raw	 r;
	uint8_t		 hdr[FRAME_HDR_LEN];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw_init(&r);
		/* The header alone is enough to condemn the stream. */
		put_hdr(hdr, T_PLAIN, bad[i].len, 1, bad[i].flags);
		raw_send(&r, hdr, sizeof(hdr), -1, 0);
		CU_ASSERT_TRUE(run_until_closed(r.base, &r.rx));
		CU_ASSERT_EQUAL(r.rx.close_err, BERR_FRAME);
		CU_ASSERT_EQUAL(r.rx.nrecs, 0);
		raw_clear(&r);
	}

	/* Random bytes. */
	raw_init(&r);
	{
		uint8_t junk[64];
		memset(junk, 0xa5, sizeof(junk));
		raw_send(&r, junk, sizeof(junk), -1, 0);
	}
	CU_ASSERT_TRUE(run_until_closed(r.base, &r.rx));
	CU_ASSERT_EQUAL(r.rx.close_err, BERR_FRAME);
	raw_clear(&r);
}

static void
test_raw_missing_fd(void)
{
	struct raw	 r;
	uint8_t		 buf[64];
	size_t		 n;
	int		 fd;

	/* Flagged, allowed by the table, but no descriptor came with it. */
	raw_init(&r);
	n = raw_frame(buf, T_OPT, 1, FRAME_F_FD, "data");
	raw_send(&r, buf, n, -1, 0);
	CU_ASSERT_TRUE(run_until_closed(r.base, &r.rx));
	CU_ASSERT_EQUAL(r.rx.close_err, BERR_FRAME);
	CU_ASSERT_EQUAL(r.rx.nrecs, 0);
	raw_clear(&r);

	/* The descriptor arrives, but only after the frame's first byte
	 * has been read: it cannot be this frame's. */
	raw_init(&r);
	n = raw_frame(buf, T_OPT, 1, FRAME_F_FD, "data");
	raw_send(&r, buf, 4, -1, 0);
	run_briefly(r.base);
	fd = tagged_file(1);
	raw_send(&r, buf + 4, n - 4, fd, 1);
	close(fd);
	CU_ASSERT_TRUE(run_until_closed(r.base, &r.rx));
	CU_ASSERT_EQUAL(r.rx.close_err, BERR_FRAME);
	CU_ASSERT_EQUAL(r.rx.nrecs, 0);
	raw_clear(&r);
}

/* Writes the frames a correct peer may produce, in the splits the kernel
 * may deliver them in. */
static void
test_raw_glued(void)
{
	struct raw	 r;
	uint8_t		 buf[256];
	size_t		 n, m;
	int		 fd;

	/* Plain frames, then a descriptor-carrying write: one recvmsg gets
	 * them all, the descriptor belongs to the last frame. */
	raw_init(&r);
	n = raw_frame(buf, T_PLAIN, 1, 0, "one");
	n += raw_frame(buf + n, T_PLAIN, 2, 0, "two");
	raw_send(&r, buf, n, -1, 0);
	n = raw_frame(buf, T_OPT, 3, FRAME_F_FD, "three");
	/* The same write continues with an unflagged frame. */
	n += raw_frame(buf + n, T_OPT, 4, 0, "four");
	fd = tagged_file(3);
	raw_send(&r, buf, n, fd, 1);
	close(fd);
	n = raw_frame(buf, T_PLAIN, 5, 0, "five");
	raw_send(&r, buf, n, -1, 0);
	n = raw_frame(buf, T_FD, 6, FRAME_F_FD, "six");
	fd = tagged_file(6);
	raw_send(&r, buf, n, fd, 1);
	close(fd);
	/* A flagged frame split: the descriptor with its first bytes, the
	 * rest read separately. */
	n = raw_frame(buf, T_FD, 7, FRAME_F_FD, "seven");
	fd = tagged_file(7);
	raw_send(&r, buf, 5, fd, 1);
	close(fd);
	CU_ASSERT_TRUE(run_until(r.base, &r.rx.nrecs, 6));
	raw_send(&r, buf + 5, n - 5, -1, 0);
	/* Two descriptor frames back to back, each its own write. */
	n = raw_frame(buf, T_FD, 8, FRAME_F_FD, "eight");
	m = raw_frame(buf + n, T_FD, 9, FRAME_F_FD, "nine");
	fd = tagged_file(8);
	raw_send(&r, buf, n, fd, 1);
	close(fd);
	fd = tagged_file(9);
	raw_send(&r, buf + n, m, fd, 1);
	close(fd);

	CU_ASSERT_TRUE(run_until(r.base, &r.rx.nrecs, 9));
	CU_ASSERT_FALSE(r.rx.closed);
	CU_ASSERT_EQUAL_FATAL(r.rx.nrecs, 9);
	for (n = 0; n < 9; n++)
		CU_ASSERT_EQUAL(r.rx.recs[n].id, n + 1);
	CU_ASSERT_EQUAL(r.rx.recs[0].fd, -1);
	CU_ASSERT_EQUAL(r.rx.recs[1].fd, -1);
	CU_ASSERT_EQUAL(file_tag(r.rx.recs[2].fd), 3);
	CU_ASSERT_EQUAL(r.rx.recs[3].fd, -1);
	CU_ASSERT_EQUAL(r.rx.recs[4].fd, -1);
	CU_ASSERT_EQUAL(file_tag(r.rx.recs[5].fd), 6);
	CU_ASSERT_EQUAL(file_tag(r.rx.recs[6].fd), 7);
	CU_ASSERT_EQUAL(memcmp(r.rx.recs[6].head, "seven", 5), 0);
	CU_ASSERT_EQUAL(file_tag(r.rx.recs[7].fd), 8);
	CU_ASSERT_EQUAL(file_tag(r.rx.recs[8].fd), 9);
	raw_clear(&r);
}

static uint32_t
xorshift(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/*
 * A correct peer's stream cut into writes at random places: a write that
 * carries a descriptor starts exactly at its flagged frame and runs at
 * most to the next flagged frame; the receiver reads in between at random
 * moments, so the kernel glues and splits in many ways.
 */
static void
test_raw_random_splits(void)
{
	enum { NFRAMES = 60 };
	struct raw	 r;
	uint8_t		 stream[NFRAMES * (FRAME_HDR_LEN + 200)];
	size_t		 start[NFRAMES + 1], pos, end, next_fd, cut, i, f;
	uint32_t	 seed = 0x9e3779b9, len;
	int		 flagged[NFRAMES], round, fd, bad;

	for (round = 0; round < 40; round++) {
		raw_init(&r);
		pos = 0;
		for (f = 0; f < NFRAMES; f++) {
			flagged[f] = xorshift(&seed) % 3 == 0;
			len = xorshift(&seed) % 200;
			start[f] = pos;
			put_hdr(stream + pos, T_OPT, len, (uint32_t)f,
			    flagged[f] ? FRAME_F_FD : 0);
			fill(stream + pos + FRAME_HDR_LEN, len, (uint32_t)f);
			pos += FRAME_HDR_LEN + len;
		}
		start[NFRAMES] = pos;

		for (pos = 0, f = 0; pos < start[NFRAMES];) {
			while (f < NFRAMES && start[f + 1] <= pos)
				f++;
			/* The next flagged frame after pos ends this write. */
			next_fd = start[NFRAMES];
			for (i = f; i < NFRAMES; i++)
				if (flagged[i] && start[i] > pos) {
					next_fd = start[i];
					break;
				}
			fd = -1;
			if (pos == start[f] && flagged[f])
				fd = tagged_file((uint32_t)f);
			end = next_fd;
			cut = 1 + xorshift(&seed) % (end - pos);
			if (xorshift(&seed) % 4 != 0)
				cut = end - pos;	/* often all of it */
			raw_send(&r, stream + pos, cut, fd, fd == -1 ? 0 : 1);
			if (fd != -1)
				close(fd);
			pos += cut;
			if (xorshift(&seed) % 2)
				run_briefly(r.base);
		}
		CU_ASSERT_TRUE(run_until(r.base, &r.rx.nrecs, NFRAMES));
		CU_ASSERT_FALSE(r.rx.closed);
		bad = 0;
		for (f = 0; f < r.rx.nrecs; f++) {
			const struct rec *rc = &r.rx.recs[f];
			if (rc->id != f || rc->len != start[f + 1] - start[f] -
			    FRAME_HDR_LEN ||
			    rc->crc != crc32c(0, stream + start[f] +
			    FRAME_HDR_LEN, rc->len))
				bad++;
			else if (flagged[f] ? rc->fd == -1 ||
			    file_tag(rc->fd) != f : rc->fd != -1)
				bad++;
		}
		CU_ASSERT_EQUAL(bad, 0);
		CU_ASSERT_EQUAL(r.rx.nrecs, NFRAMES);
		raw_clear(&r);
	}
}

static void
test_raw_stray_fd(void)
{
	struct raw	 r;
	uint8_t		 buf[256];
	size_t		 n;
	int		 fd;

	/* An unflagged frame with a descriptor, and nothing after it: once
	 * the frame is dispatched the descriptor can belong to no frame. */
	raw_init(&r);
	n = raw_frame(buf, T_OPT, 1, 0, "stray");
	fd = tagged_file(1);
	raw_send(&r, buf, n, fd, 1);
	close(fd);
	CU_ASSERT_TRUE(run_until_closed(r.base, &r.rx));
	CU_ASSERT_EQUAL(r.rx.close_err, BERR_FRAME);
	/* The frame itself is delivered, without the descriptor. */
	CU_ASSERT_EQUAL_FATAL(r.rx.nrecs, 1);
	CU_ASSERT_EQUAL(r.rx.recs[0].id, 1);
	CU_ASSERT_EQUAL(r.rx.recs[0].fd, -1);
	raw_clear(&r);

	/* The same, followed by a flagged frame with its own descriptor:
	 * that frame must not get the stray one. */
	raw_init(&r);
	n = raw_frame(buf, T_OPT, 1, 0, "stray");
	fd = tagged_file(1);
	raw_send(&r, buf, n, fd, 1);
	close(fd);
	n = raw_frame(buf, T_FD, 2, FRAME_F_FD, "mine");
	fd = tagged_file(2);
	raw_send(&r, buf, n, fd, 1);
	close(fd);
	CU_ASSERT_TRUE(run_until_closed(r.base, &r.rx));
	CU_ASSERT_EQUAL(r.rx.close_err, BERR_FRAME);
	CU_ASSERT_EQUAL_FATAL(r.rx.nrecs, 1);
	CU_ASSERT_EQUAL(r.rx.recs[0].id, 1);
	CU_ASSERT_EQUAL(r.rx.recs[0].fd, -1);
	raw_clear(&r);

	/* A descriptor with half a header, then the rest without: the
	 * descriptor rides on the frame's first byte, so this is fine... */
	raw_init(&r);
	n = raw_frame(buf, T_PLAIN, 1, 0, "x");
	n += raw_frame(buf + n, T_PLAIN, 2, 0, "y");
	fd = tagged_file(1);
	raw_send(&r, buf, 3, fd, 1);
	close(fd);
	run_briefly(r.base);
	raw_send(&r, buf + 3, n - 3, -1, 0);
	/* ...except that frame 1 is unflagged: refused by the time frame 2
	 * is there at the latest. */
	CU_ASSERT_TRUE(run_until_closed(r.base, &r.rx));
	CU_ASSERT_EQUAL(r.rx.close_err, BERR_FRAME);
	CU_ASSERT_EQUAL(r.rx.nrecs, 1);
	raw_clear(&r);

	/* Two descriptors in one write. */
	raw_init(&r);
	n = raw_frame(buf, T_OPT, 1, FRAME_F_FD, "two");
	fd = tagged_file(1);
	raw_send(&r, buf, n, fd, 2);
	close(fd);
	CU_ASSERT_TRUE(run_until_closed(r.base, &r.rx));
	CU_ASSERT_EQUAL(r.rx.close_err, BERR_FRAME);
	CU_ASSERT_EQUAL(r.rx.nrecs, 0);
	raw_clear(&r);

	/* More descriptors than the receiver has room for (MSG_CTRUNC). */
	raw_init(&r);
	{
		struct msghdr	 msg;
		struct iovec	 iov;
		struct cmsghdr	*cmsg;
		union {
			struct cmsghdr	hdr;
			char		buf[CMSG_SPACE(sizeof(int) * 32)];
		} cbuf;
		int		 fds[32], i;

		n = raw_frame(buf, T_OPT, 1, FRAME_F_FD, "many");
		fd = tagged_file(1);
		for (i = 0; i < 32; i++)
			fds[i] = fd;
		memset(&msg, 0, sizeof(msg));
		memset(&cbuf, 0, sizeof(cbuf));
		iov.iov_base = buf;
		iov.iov_len = n;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof(cbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
		CU_ASSERT_EQUAL(sendmsg(r.sock, &msg, 0), (ssize_t)n);
		close(fd);
	}
	CU_ASSERT_TRUE(run_until_closed(r.base, &r.rx));
	CU_ASSERT_EQUAL(r.rx.close_err, BERR_FRAME);
	CU_ASSERT_EQUAL(r.rx.nrecs, 0);
	raw_clear(&r);
}

/* rpc_free() from the message callback with frames and descriptors still
 * buffered: no further callbacks, nothing leaked. */
static void
test_chan_free_in_callback(void)
{
	struct event_base	*base;
	struct side		 a, b;
	int			 sv[2], nfd, i;

	nfd = count_fds();
	base = event_base_new();
	CU_ASSERT_FATAL(base != NULL && make_pair(sv) == 0);
	side_init(&a, base, sv[0]);
	side_init(&b, base, sv[1]);
	b.free_after = 3;
	for (i = 1; i <= 10; i++)
		CU_ASSERT_EQUAL(rpc_send(a.chan, i % 2 ? T_PLAIN : T_OPT, i,
		    "abc", 3, i % 2 ? -1 : tagged_file(i)), 0);
	CU_ASSERT_TRUE(run_until(base, &b.nrecs, 3));
	run_briefly(base);
	CU_ASSERT_EQUAL(b.nrecs, 3);
	CU_ASSERT_PTR_NULL(b.chan);
	CU_ASSERT_FALSE(b.closed);
	CU_ASSERT_TRUE(run_until_closed(base, &a));
	CU_ASSERT_TRUE(a.close_err == 0 || a.close_err == BERR_IO);
	side_clear(&a);
	side_clear(&b);
	event_base_free(base);
	CU_ASSERT_EQUAL(count_fds(), nfd);
}

/* ---- the real tables: blobd/serve.c and daemon/blobc.c --------------- */

/* A frame as proto.h says its sender writes it. */
struct sent_frame {
	uint32_t	 type;
	uint32_t	 min_len;
	uint32_t	 max_len;
	int		 fd;		/* always carries one (1), never (0) */
	int		 no_id;		/* id 0: the hello, a log reopen */
};

#define SENT(t, s, fd)	{ t, sizeof(s), sizeof(s), fd, 0 }

/* berthd to blobd: requests, and the log descriptor. */
static const struct sent_frame berthd_sends[] = {
	SENT(MSG_UPLOAD_CREATE, struct msg_upload_create, 0),
	SENT(MSG_UPLOAD_APPEND, struct msg_upload_append, 1),
	SENT(MSG_UPLOAD_STAT, struct msg_upload_ref, 0),
	SENT(MSG_UPLOAD_CANCEL, struct msg_upload_ref, 0),
	/* Data and a link entry may follow. */
	{ MSG_UPLOAD_COMMIT, sizeof(struct msg_upload_commit),
	    sizeof(struct msg_upload_commit) + BLOB_WRITE_MAX +
	    LINK_ENTRY_MAX, 0 },
	{ MSG_BLOB_WRITE, sizeof(struct msg_blob_write),
	    sizeof(struct msg_blob_write) + BLOB_WRITE_MAX + LINK_ENTRY_MAX,
	    0 },
	SENT(MSG_BLOB_OPEN, struct msg_blob_ref, 0),
	{ MSG_META_APPEND, 1, FRAME_MAX_PAYLOAD, 0 },	/* one entry */
	{ MSG_META_LOAD, 0, 0, 0 },
	SENT(MSG_META_COMPACT, struct msg_meta_compact, 1),
	{ MSG_GC_LIST, 0, 0, 0 },
	SENT(MSG_GC_SWEEP, struct msg_gc_sweep, 1),
	{ MSG_STATS, 0, 0, 0 },
	{ MSG_LOG_REOPEN, 0, 0, 1, 1 },
};

/* blobd to berthd: the hello and replies. */
static const struct sent_frame blobd_sends[] = {
	{ MSG_HELLO, sizeof(struct msg_hello), sizeof(struct msg_hello), 0,
	    1 },
	{ MSG_OK, 0, 0, 0 },
	SENT(MSG_ERROR, struct msg_error, 0),
	SENT(MSG_UPLOAD_CREATED, struct msg_upload_created, 0),
	SENT(MSG_UPLOAD_STATUS, struct msg_upload_status, 0),
	SENT(MSG_BLOB_COMMITTED, struct msg_blob_committed, 0),
	SENT(MSG_BLOB_OPENED, struct msg_blob_opened, 1),
	SENT(MSG_META_APPENDED, struct msg_meta_appended, 0),
	SENT(MSG_META_STATE, struct msg_meta_state, 1),
	SENT(MSG_GC_LISTING, struct msg_gc_listing, 1),
	SENT(MSG_GC_SWEPT, struct msg_gc_swept, 0),
	SENT(MSG_STATS_REPLY, struct msg_stats_reply, 0),
};

static const struct sent_frame *
sent_find(const struct sent_frame *sent, size_t nsent, uint32_t type)
{
	size_t	 i;

	for (i = 0; i < nsent; i++)
		if (sent[i].type == type)
			return &sent[i];
	return NULL;
}

/* frame_check() of one frame against a real table, named on failure. */
static void
expect_frame(const char *table, const struct rpc_rule *rules, size_t nrules,
    uint32_t type, uint32_t len, int has_fd, uint32_t id, int want)
{
	struct frame_hdr h = { type, len, id, has_fd ? FRAME_F_FD : 0 };
	int		 got;

	got = frame_check(rules, nrules, &h, has_fd);
	if (got != want)
		fprintf(stderr, "\n%s: type %u len %u id %u%s: %s, expected "
		    "%s\n", table, type, len, id, has_fd ? " with fd" : "",
		    got == 0 ? "accepted" : "refused",
		    want == 0 ? "accepted" : "refused");
	CU_ASSERT_EQUAL(got, want);
}

/*
 * What the peer sends passes, and nothing else does.  With strict_ids, a
 * frame with the other kind of id (0 for a request, not 0 for a hello or
 * a log reopen) is refused too.
 */
static void
check_real_table(const char *table, const struct rpc_rule *rules,
    size_t nrules, const struct sent_frame *sent, size_t nsent,
    int strict_ids)
{
	static const uint32_t lens[] = { 0, 1, 7, 8, 16, 136, 144, 152,
	    320, 336, 352, 480, 488, FRAME_MAX_PAYLOAD };
	static const uint32_t odd_types[] = { MSG__MAX, MSG__MAX + 1, 999,
	    0x80000000u, UINT32_MAX };
	const struct sent_frame *e;
	size_t		 i, j;
	uint32_t	 type, id;

	/* What the peer sends passes at the bounds of its length and with
	 * (only) the descriptor it carries. */
	for (i = 0; i < nsent; i++) {
		e = &sent[i];
		id = e->no_id ? 0 : 1;
		expect_frame(table, rules, nrules, e->type, e->min_len, e->fd,
		    id, 0);
		expect_frame(table, rules, nrules, e->type, e->max_len, e->fd,
		    id, 0);
		expect_frame(table, rules, nrules, e->type,
		    e->min_len + (e->max_len - e->min_len) / 2, e->fd, id, 0);
		if (e->min_len > 0)
			expect_frame(table, rules, nrules, e->type,
			    e->min_len - 1, e->fd, id, BERR_FRAME);
		expect_frame(table, rules, nrules, e->type, e->max_len + 1,
		    e->fd, id, BERR_FRAME);
		expect_frame(table, rules, nrules, e->type, e->min_len,
		    !e->fd, id, BERR_FRAME);
		expect_frame(table, rules, nrules, e->type, e->max_len,
		    !e->fd, id, BERR_FRAME);
		if (strict_ids) {
			expect_frame(table, rules, nrules, e->type,
			    e->min_len, e->fd, e->no_id ? 1 : 0, BERR_FRAME);
			expect_frame(table, rules, nrules, e->type,
			    e->max_len, e->fd, e->no_id ? UINT32_MAX : 0,
			    BERR_FRAME);
		}
	}

	/* The table names nothing else, and each type once (a second rule
	 * for a type would never be consulted). */
	for (i = 0; i < nrules; i++) {
		if (sent_find(sent, nsent, rules[i].type) == NULL) {
			fprintf(stderr, "\n%s: accepts type %u, which the "
			    "peer never sends\n", table, rules[i].type);
			CU_FAIL("rule for a type the peer does not send");
		}
		for (j = i + 1; j < nrules; j++)
			CU_ASSERT_NOT_EQUAL(rules[i].type, rules[j].type);
	}
	CU_ASSERT_EQUAL(nrules, nsent);

	/* Every other type is refused whatever its length and id. */
	for (type = 0; type < MSG__MAX + 2; type++) {
		if (sent_find(sent, nsent, type) != NULL)
			continue;
		for (i = 0; i < nitems(lens); i++)
			for (id = 0; id < 2; id++) {
				expect_frame(table, rules, nrules, type,
				    lens[i], 0, id, BERR_FRAME);
				expect_frame(table, rules, nrules, type,
				    lens[i], 1, id, BERR_FRAME);
			}
	}
	for (i = 0; i < nitems(odd_types); i++) {
		expect_frame(table, rules, nrules, odd_types[i], 0, 0, 1,
		    BERR_FRAME);
		expect_frame(table, rules, nrules, odd_types[i], 0, 1, 0,
		    BERR_FRAME);
	}
}

static void
test_real_tables(void)
{
	uint32_t	 type;
	int		 n;

	/* Every message of proto.h has exactly one sender. */
	for (type = MSG_HELLO; type < MSG__MAX; type++) {
		n = (sent_find(berthd_sends, nitems(berthd_sends), type) !=
		    NULL) + (sent_find(blobd_sends, nitems(blobd_sends),
		    type) != NULL);
		if (n != 1)
			fprintf(stderr, "\nmessage type %u has %d senders\n",
			    type, n);
		CU_ASSERT_EQUAL(n, 1);
	}
	/* blobd accepts what berthd sends, berthd what blobd sends. */
	check_real_table("serve_rules", serve_rules, serve_nrules,
	    berthd_sends, nitems(berthd_sends), 1);
	check_real_table("blobc_rules", blobc_rules, blobc_nrules,
	    blobd_sends, nitems(blobd_sends), 0);
}

static const struct rpc_rule *
serve_row(uint32_t type)
{
	size_t	 i;

	for (i = 0; i < serve_nrules; i++)
		if (serve_rules[i].type == type)
			return &serve_rules[i];
	return NULL;
}

typedef int (*check_fn)(const struct frame_hdr *, const uint8_t *);

/* The payload check of blobd's row for type, or NULL (a failure). */
static check_fn
serve_check(uint32_t type)
{
	const struct rpc_rule	*r;

	if ((r = serve_row(type)) == NULL || r->check == NULL) {
		CU_FAIL("a row without its payload check");
		return NULL;
	}
	return r->check;
}

/* fn on a frame of len bytes that begins with m (mlen bytes). */
static int
check_payload(check_fn fn, uint32_t type, const void *m, size_t mlen,
    size_t len)
{
	struct frame_hdr h;
	uint8_t		*buf;
	int		 rc;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.id = 1;
	h.len = (uint32_t)len;
	buf = xcalloc(1, len > mlen ? len : mlen);
	memcpy(buf, m, mlen);
	rc = fn(&h, buf);
	free(buf);
	return rc;
}

/*
 * blobd's rows: each has a handler.  A blob write's size, and a commit's
 * data_len, with entry_len, must say how many bytes follow the struct
 * (proto.h), which only the payload tells.
 */
static void
test_serve_checks(void)
{
	struct msg_blob_write	 w;
	struct msg_upload_commit c;
	check_fn		 fn;
	static const uint64_t	 bad[] = { 99, 101, 0, UINT64_MAX,
	    100 + ((uint64_t)1 << 32) };
	size_t			 i;

	for (i = 0; i < serve_nrules; i++)
		CU_ASSERT_PTR_NOT_NULL(serve_rules[i].handler);
	if ((fn = serve_check(MSG_BLOB_WRITE)) == NULL)
		return;
	memset(&w, 0, sizeof(w));
	w.size = 100;
	CU_ASSERT_EQUAL(check_payload(fn, MSG_BLOB_WRITE, &w, sizeof(w),
	    sizeof(w) + 100), 0);
	for (i = 0; i < nitems(bad); i++) {
		w.size = bad[i];
		CU_ASSERT_EQUAL(check_payload(fn, MSG_BLOB_WRITE, &w,
		    sizeof(w), sizeof(w) + 100), -1);
	}
	w.size = 60;
	w.entry_len = 40;
	CU_ASSERT_EQUAL(check_payload(fn, MSG_BLOB_WRITE, &w, sizeof(w),
	    sizeof(w) + 100), 0);
	w.entry_len = 41;
	CU_ASSERT_EQUAL(check_payload(fn, MSG_BLOB_WRITE, &w, sizeof(w),
	    sizeof(w) + 100), -1);
	w.size = 100 - LINK_ENTRY_MAX - 1;
	w.entry_len = LINK_ENTRY_MAX + 1;	/* the sum wraps to 100 */
	CU_ASSERT_EQUAL(check_payload(fn, MSG_BLOB_WRITE, &w, sizeof(w),
	    sizeof(w) + 100), -1);
	/* An empty blob. */
	memset(&w, 0, sizeof(w));
	CU_ASSERT_EQUAL(check_payload(fn, MSG_BLOB_WRITE, &w, sizeof(w),
	    sizeof(w)), 0);

	if ((fn = serve_check(MSG_UPLOAD_COMMIT)) == NULL)
		return;
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(check_payload(fn, MSG_UPLOAD_COMMIT, &c, sizeof(c),
	    sizeof(c)), 0);
	CU_ASSERT_EQUAL(check_payload(fn, MSG_UPLOAD_COMMIT, &c, sizeof(c),
	    sizeof(c) + 1), -1);
	c.data_len = 100;
	c.entry_len = 20;
	CU_ASSERT_EQUAL(check_payload(fn, MSG_UPLOAD_COMMIT, &c, sizeof(c),
	    sizeof(c) + 120), 0);
	CU_ASSERT_EQUAL(check_payload(fn, MSG_UPLOAD_COMMIT, &c, sizeof(c),
	    sizeof(c) + 119), -1);
	c.data_len = UINT32_MAX;
	c.entry_len = 121;	/* 120 past the wrap of 32 bits */
	CU_ASSERT_EQUAL(check_payload(fn, MSG_UPLOAD_COMMIT, &c, sizeof(c),
	    sizeof(c) + 120), -1);
	c.data_len = BLOB_WRITE_MAX;
	c.entry_len = LINK_ENTRY_MAX;
	CU_ASSERT_EQUAL(check_payload(fn, MSG_UPLOAD_COMMIT, &c, sizeof(c),
	    sizeof(c) + BLOB_WRITE_MAX + LINK_ENTRY_MAX), 0);
	c.entry_len = LINK_ENTRY_MAX + 1;
	CU_ASSERT_EQUAL(check_payload(fn, MSG_UPLOAD_COMMIT, &c, sizeof(c),
	    sizeof(c) + BLOB_WRITE_MAX + LINK_ENTRY_MAX + 1), -1);
}

int
test_frame_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("frame", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "decode header", test_frame_decode) == NULL ||
	    CU_add_test(s, "check against rules", test_frame_check) == NULL ||
	    CU_add_test(s, "channel basics", test_chan_basic) == NULL ||
	    CU_add_test(s, "channel burst", test_chan_burst) == NULL ||
	    CU_add_test(s, "maximum payload", test_chan_max_payload) == NULL ||
	    CU_add_test(s, "payload size overflow", test_chan_size_overflow) ==
	    NULL ||
	    CU_add_test(s, "peer close", test_chan_peer_close) == NULL ||
	    CU_add_test(s, "rule violations", test_chan_rule_violation) ==
	    NULL ||
	    CU_add_test(s, "row handlers", test_chan_handlers) == NULL ||
	    CU_add_test(s, "raw garbage", test_raw_garbage) == NULL ||
	    CU_add_test(s, "raw missing descriptor", test_raw_missing_fd) ==
	    NULL ||
	    CU_add_test(s, "raw glued writes", test_raw_glued) == NULL ||
	    CU_add_test(s, "raw random splits", test_raw_random_splits) ==
	    NULL ||
	    CU_add_test(s, "raw stray descriptors", test_raw_stray_fd) ==
	    NULL ||
	    CU_add_test(s, "free in callback", test_chan_free_in_callback) ==
	    NULL ||
	    CU_add_test(s, "real rule tables", test_real_tables) == NULL ||
	    CU_add_test(s, "blobd's payload checks", test_serve_checks) ==
	    NULL)
		return -1;
	return 0;
}
