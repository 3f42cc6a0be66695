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
 * rpc channels against a broken peer: one end of a socketpair driven by
 * hand with write(2)/sendmsg(2) (garbage, glued and split writes, missing
 * and stray descriptors), a channel freed from its own callback, and the
 * real rule tables of blobd/serve.c and daemon/blobc.c checked against
 * what proto.h says each side sends.
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
	CU_ASSERT_TRUE(run_until_count(r.base, &r.rx.nrecs, 6));
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

	CU_ASSERT_TRUE(run_until_count(r.base, &r.rx.nrecs, 9));
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
		CU_ASSERT_TRUE(run_until_count(r.base, &r.rx.nrecs, NFRAMES));
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
	CU_ASSERT_TRUE(run_until_count(base, &b.nrecs, 3));
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
	{ MSG_META_RELEASE, 1, FRAME_MAX_PAYLOAD, 0 },	/* one that deletes */
	{ MSG_META_LOAD, 0, 0, 0 },
	SENT(MSG_META_COMPACT, struct msg_meta_compact, 1),
	{ MSG_GC_LIST, 0, 0, 0 },
	SENT(MSG_GC_SWEEP, struct msg_gc_sweep, 1),
	{ MSG_STATS, 0, 0, 0 },
	{ MSG_LOG_REOPEN, 0, 0, 1, 1 },
	SENT(MSG_UPLOAD_OPEN, struct msg_upload_ref, 0),
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
test_frame_raw_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("frame raw", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "raw garbage", test_raw_garbage) == NULL ||
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
