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
 * hand with write(2)/sendmsg(2) to produce what a broken peer would: those
 * are in test_frame_raw.c, the shared harness in frame_harness.c.
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
#include "frame_harness.h"

/* ---- the pure decoder ------------------------------------------------ */

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

	CU_ASSERT_FATAL(run_until_count(base, &b.nrecs, 6));
	CU_ASSERT_FATAL(run_until_count(base, &a.nrecs, 1));
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
	CU_ASSERT_TRUE(run_until_count(base, &b.nrecs, BURST));
	CU_ASSERT_TRUE(run_until_count(base, &a.nrecs, BURST));
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
	CU_ASSERT_FATAL(run_until_count(base, &b.nrecs, 3));
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
	CU_ASSERT_TRUE(run_until_count(base, &b.nrecs, 3));
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
	    CU_add_test(s, "row handlers", test_chan_handlers) == NULL)
		return -1;
	return 0;
}
