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
 * The shared part of the frame and rpc channel tests (frame_harness.h):
 * the test rule table, a side that records what its channel receives,
 * and loops that wait for it with a five-second bound.
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

int
check_sized(const struct frame_hdr *h, const uint8_t *payload)
{
	uint32_t n;

	memcpy(&n, payload, sizeof(n));
	return n == h->len - sizeof(n) ? 0 : -1;
}

const struct rpc_rule test_rules[] = {
	{ T_PLAIN, 0, FRAME_MAX_PAYLOAD, RPC_FD_NONE },
	{ T_FD, 0, 64, RPC_FD_REQUIRED },
	{ T_OPT, 0, FRAME_MAX_PAYLOAD, RPC_FD_OPTIONAL },
	{ T_FIXED, 8, 8, RPC_FD_NONE },
	{ T_REQUEST, 0, 64, RPC_FD_NONE, RPC_ID_REQUEST },
	{ T_NOTE, 0, 64, RPC_FD_NONE, RPC_ID_ZERO },
	{ T_SIZED, 4, 64, RPC_FD_NONE, RPC_ID_ANY, check_sized },
};
const size_t test_nrules = sizeof(test_rules) / sizeof(test_rules[0]);

/* rpc_sendv() of two pieces. */
int
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


int
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

int
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

void
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

void
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

void
side_init(struct side *s, struct event_base *base, int sock)
{
	memset(s, 0, sizeof(*s));
	s->chan = rpc_new(base, sock, test_rules, NRULES, msg_cb, close_cb, s);
}

void
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
int
run_until_count(struct event_base *base, const size_t *count, size_t want)
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

int
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
void
run_briefly(struct event_base *base)
{
	int	 i;

	for (i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

int
make_pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

/* A memfd holding v. */
int
tagged_file(uint32_t v)
{
	int	 fd = anon_file("berth-unit");

	if (fd == -1 || write_full(fd, &v, sizeof(v)) == -1)
		return -1;
	return fd;
}

uint32_t
file_tag(int fd)
{
	uint32_t v = 0xffffffff;

	if (pread_full(fd, &v, sizeof(v), 0) != sizeof(v))
		return 0xffffffff;
	return v;
}

void
fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7) ^ (i >> 8));
}

void
put_hdr(uint8_t *buf, uint32_t type, uint32_t len, uint32_t id,
    uint32_t flags)
{
	struct frame_hdr h = { type, len, id, flags };

	memcpy(buf, &h, sizeof(h));
}
