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
 * libFuzzer target for the rpc frame decoder.  A peer writes the input into
 * a socketpair whose other end is a receiving rpc_chan with one side's
 * real table of accepted frames (blobd/serve.c, daemon/blobc.c), its rows'
 * payload checks included; a callback of our own takes each frame in
 * place of the rows' handlers.  The loop runs until the channel has read
 * everything and closed.  Nothing may crash, hang or leak memory or
 * descriptors.
 *
 * Input: byte 0 holds the number of descriptors to pass (bits 0-1), when
 * to let the receiver read (bits 2-3: never until the end, after every
 * write, after every other write) and whose table the receiver has (bit
 * 4: clear, blobd's, what berthd sends; set, berthd's, what blobd sends);
 * then a little-endian u16 stream offset per descriptor; then the stream.
 * The stream is written in pieces cut at those offsets, each piece that
 * starts at one carrying its descriptor(s), so the kernel glues and
 * splits in different ways.
 *
 * rpc.c logs each refused frame: run with -close_fd_mask=2 for quiet.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "blobd.h"
#include "error.h"
#include "log.h"
#include "proto.h"
#include "rpc.h"
#include "util.h"

#define MAX_FDS		3

/* blobc.c's, unused here: it defers callbacks on berthd's loop. */
struct event_base	*ev_base;

/* worker.c's, which blobc.c calls on SIGUSR1 only: not reached here. */
void
restart_send_stderr(struct rpc_chan *chan, uint32_t type)
{
	(void)chan;
	(void)type;
}

struct fuzz_state {
	struct rpc_chan	*chan;
	int		 closed;	/* the close callback ran */
	int		 freed;		/* rpc_free'd from a callback */
	uint32_t	 sum;
};

static struct event_base *fuzz_base;
static int		  fuzz_file = -1;	/* what descriptors refer to */

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
fuzz_msg_cb(struct rpc_chan *c, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct fuzz_state *st = arg;

	/* Every payload byte must be readable (ASan checks). */
	st->sum += crc32c(0, payload, h->len);
	if (fd != -1)
		close(fd);
	/* Answer as blobd would, so sending happens inside dispatch. */
	(void)rpc_send(c, MSG_OK, h->id, NULL, 0, -1);
	/* Some ids make the handler drop the channel mid-dispatch. */
	if (h->id == 0xdeadbeef) {
		rpc_free(c);
		st->chan = NULL;
		st->freed = 1;
	}
}

static void
fuzz_close_cb(struct rpc_chan *c, int err, void *arg)
{
	struct fuzz_state *st = arg;

	if (st->closed)
		abort();	/* the close callback runs once */
	st->closed = 1;
}

/* Writes n bytes with nfds copies of the descriptor; 0, or -1 once the
 * receiver is gone. */
static int
fuzz_write(int sock, const uint8_t *p, size_t n, int nfds, int read_after,
    struct fuzz_state *st)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	} cbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	int		 fds[MAX_FDS], i;
	ssize_t		 w;

	while (n > 0) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = (void *)(uintptr_t)p;
		iov.iov_len = n;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (nfds > 0) {
			memset(&cbuf, 0, sizeof(cbuf));
			for (i = 0; i < nfds; i++)
				if ((fds[i] = dup(fuzz_file)) == -1)
					abort();
			msg.msg_control = cbuf.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
		}
		w = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		if (w == -1) {
			if (errno != EAGAIN && errno != EINTR)
				return -1;
			/* Full: let the receiver read, unless it is gone. */
			if (st->closed || st->freed)
				return -1;
			event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
			continue;
		}
		nfds = 0;
		p += w;
		n -= (size_t)w;
	}
	if (read_after)
		event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_frame", LOG_LVL_WARN);
	if ((fuzz_base = event_base_new()) == NULL)
		abort();
	if ((fuzz_file = anon_file("fuzz_frame")) == -1)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state st;
	size_t		 off[MAX_FDS], tmp, cut, pos, n, i, j;
	const uint8_t	*stream;
	const struct rpc_rule *rules;
	size_t		 nrules;
	int		 sv[2], nfds, mode, before, rounds, k, at;

	if (size < 1)
		return 0;
	nfds = data[0] & 0x3;
	mode = (data[0] >> 2) & 0x3;
	if (data[0] & 0x10) {
		rules = blobc_rules;
		nrules = blobc_nrules;
	} else {
		rules = serve_rules;
		nrules = serve_nrules;
	}
	if (size < 1 + 2 * (size_t)nfds)
		return 0;
	stream = data + 1 + 2 * nfds;
	n = size - 1 - 2 * nfds;
	for (i = 0; i < (size_t)nfds; i++)
		off[i] = (size_t)(data[1 + 2 * i] | data[2 + 2 * i] << 8);
	/* Sorted offsets (insertion sort of at most three). */
	for (i = 1; i < (size_t)nfds; i++)
		for (j = i; j > 0 && off[j - 1] > off[j]; j--) {
			tmp = off[j];
			off[j] = off[j - 1];
			off[j - 1] = tmp;
		}

	before = count_fds();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	memset(&st, 0, sizeof(st));
	st.chan = rpc_new(fuzz_base, sv[0], rules, nrules, fuzz_msg_cb,
	    fuzz_close_cb, &st);

	/* Pieces from one offset to the next; the descriptors of equal
	 * offsets go in one write, offsets past the end are ignored. */
	for (pos = 0, i = 0, k = 0; pos < n; pos = cut, k++) {
		for (at = 0; i < (size_t)nfds && off[i] <= pos; i++)
			at++;
		cut = i < (size_t)nfds && off[i] < n ? off[i] : n;
		if (fuzz_write(sv[1], stream + pos, cut - pos, at,
		    mode == 1 || (mode == 2 && k % 2 == 0), &st) == -1)
			break;
	}
	shutdown(sv[1], SHUT_WR);

	/* The receiver ends on EOF at the latest. */
	for (rounds = 0; !st.closed && !st.freed; rounds++) {
		if (rounds > 100000)
			abort();	/* the channel hangs */
		event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	}
	if (st.chan != NULL) {
		/* A dead channel refuses to send and owns what it is given. */
		if (rpc_send(st.chan, MSG_OK, 0, NULL, 0, dup(fuzz_file)) !=
		    BERR_IO)
			abort();
		rpc_free(st.chan);
	}
	close(sv[1]);
	if (count_fds() != before)
		abort();	/* a descriptor leaked */
	return 0;
}
