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
 * The framed channel of rpc.h on libevent: recvmsg(2) and sendmsg(2)
 * through a pair of evbuffers, descriptors matched to the byte they ride
 * on in each direction, every frame checked against the receiver's table
 * before its handler runs, and a channel that may be freed from inside its
 * own callbacks.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "error.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

#define RPC_MAX_FDS_PER_READ	8
#define RPC_READ_SIZE		(256 * 1024)
#define RPC_READ_FIRST		(16 * 1024)	/* a read into nothing */
#define RPC_DIRECT_MIN		(64 * 1024)	/* frames sent uncopied */
#define RPC_DIRECT_IOV		8

/*
 * Descriptors in arrival order.  On output, off is the stream offset of
 * the byte the descriptor must ride on.  On input, the kernel may glue the
 * bytes before a descriptor-carrying write to it within one recvmsg, so
 * off and end bound where that write's first byte lies: [off, end).
 */
struct rpc_fdq {
	int	*fd;
	uint64_t *off;
	uint64_t *end;
	size_t	 head, len, cap;
};

struct rpc_chan {
	struct event_base	*base;
	int			 sock;
	struct event		*ev_read;
	struct event		*ev_write;
	struct evbuffer		*in;
	struct evbuffer		*out;
	uint64_t		 in_off;	/* stream offset of in[0] */
	uint64_t		 in_total;	/* bytes received */
	uint64_t		 in_gathered;	/* in_off + 1: rpc_gather() */
	uint64_t		 out_off;	/* stream offset of out[0] */
	uint64_t		 out_total;	/* bytes queued */
	struct rpc_fdq		 in_fds;
	struct rpc_fdq		 out_fds;
	const struct rpc_rule	*rules;
	size_t			 nrules;
	rpc_msg_cb		 msg_cb;
	rpc_close_cb		 close_cb;
	void			*arg;
	int			 dead;
	int			 in_dispatch;
	int			 free_pending;
};

static void
fdq_push(struct rpc_fdq *q, int fd, uint64_t off, uint64_t end)
{
	size_t	 i, slot;

	if (q->len == q->cap) {
		size_t ncap = q->cap == 0 ? 8 : q->cap * 2;
		int *nfd = xreallocarray(NULL, ncap, sizeof(*nfd));
		uint64_t *noff = xreallocarray(NULL, ncap, sizeof(*noff));
		uint64_t *nend = xreallocarray(NULL, ncap, sizeof(*nend));
		for (i = 0; i < q->len; i++) {
			nfd[i] = q->fd[(q->head + i) % q->cap];
			noff[i] = q->off[(q->head + i) % q->cap];
			nend[i] = q->end[(q->head + i) % q->cap];
		}
		free(q->fd);
		free(q->off);
		free(q->end);
		q->fd = nfd;
		q->off = noff;
		q->end = nend;
		q->cap = ncap;
		q->head = 0;
	}
	slot = (q->head + q->len) % q->cap;
	q->fd[slot] = fd;
	q->off[slot] = off;
	q->end[slot] = end;
	q->len++;
}

static int
fdq_peek(const struct rpc_fdq *q, uint64_t *off, uint64_t *end)
{
	if (q->len == 0)
		return -1;
	*off = q->off[q->head];
	if (end != NULL)
		*end = q->end[q->head];
	return q->fd[q->head];
}

static int
fdq_pop(struct rpc_fdq *q)
{
	int	 fd;

	if (q->len == 0)
		return -1;
	fd = q->fd[q->head];
	q->head = (q->head + 1) % q->cap;
	q->len--;
	return fd;
}

static void
fdq_clear(struct rpc_fdq *q)
{
	int	 fd;

	while ((fd = fdq_pop(q)) != -1)
		close(fd);
	free(q->fd);
	free(q->off);
	free(q->end);
	memset(q, 0, sizeof(*q));
}

int
frame_decode_hdr(const void *buf, size_t n, struct frame_hdr *h)
{
	if (n < FRAME_HDR_LEN)
		return BERR_FRAME;
	memcpy(h, buf, FRAME_HDR_LEN);
	if (h->len > FRAME_MAX_PAYLOAD || (h->flags & ~FRAME_F_FD) != 0)
		return BERR_FRAME;
	return 0;
}

/* The row of the table that admits the decoded header, or NULL. */
static const struct rpc_rule *
frame_rule(const struct rpc_rule *rules, size_t nrules,
    const struct frame_hdr *h, int has_fd)
{
	const struct rpc_rule	*r;
	size_t			 i;

	for (i = 0; i < nrules; i++)
		if (rules[i].type == h->type)
			break;
	if (i == nrules)
		return NULL;
	r = &rules[i];
	if (h->len < r->min_len || h->len > r->max_len)
		return NULL;
	if ((r->fd == RPC_FD_REQUIRED && !has_fd) ||
	    (r->fd == RPC_FD_NONE && has_fd))
		return NULL;
	if ((r->id == RPC_ID_REQUEST && h->id == 0) ||
	    (r->id == RPC_ID_ZERO && h->id != 0))
		return NULL;
	return r;
}

int
frame_check(const struct rpc_rule *rules, size_t nrules,
    const struct frame_hdr *h, int has_fd)
{
	return frame_rule(rules, nrules, h, has_fd) != NULL ? 0 : BERR_FRAME;
}

static void
rpc_die(struct rpc_chan *c, int err)
{
	if (c->dead)
		return;
	c->dead = 1;
	event_del(c->ev_read);
	event_del(c->ev_write);
	if (c->close_cb != NULL)
		c->close_cb(c, err, c->arg);
}

/*
 * The input starts with part of a frame larger than a read: moved, once,
 * to the start of one piece of the frame's size, which the next reads
 * fill, so that the frame is not pulled up (copied whole) when complete.
 * Best effort.
 */
static void
rpc_gather(struct rpc_chan *c, size_t total)
{
	struct evbuffer_iovec	 v;
	struct evbuffer		*tmp;
	size_t			 have = evbuffer_get_length(c->in);

	if (total <= RPC_READ_SIZE || c->in_gathered == c->in_off + 1 ||
	    (tmp = evbuffer_new()) == NULL)
		return;
	if (evbuffer_reserve_space(tmp, (ev_ssize_t)total, &v, 1) == 1 &&
	    evbuffer_remove(c->in, v.iov_base, have) == (int)have) {
		v.iov_len = have;
		evbuffer_commit_space(tmp, &v, 1);
		if (evbuffer_add_buffer(c->in, tmp) == -1)
			fatalx("evbuffer_add_buffer");
		c->in_gathered = c->in_off + 1;
	}
	evbuffer_free(tmp);
}

/* Dispatches every complete frame in the input buffer. */
static void
rpc_dispatch(struct rpc_chan *c)
{
	struct frame_hdr h;
	const struct rpc_rule *rule;
	uint8_t		 hb[FRAME_HDR_LEN];
	const uint8_t	*payload;
	uint64_t	 fdoff, fdend;
	int		 fd, has_fd, fd_here;

	c->in_dispatch = 1;
	while (!c->dead && !c->free_pending) {
		/*
		 * Every frame that starts before fdend has been dispatched
		 * and none claimed the descriptor: it belongs to no frame.
		 * Checked before waiting for more bytes, which may never come.
		 */
		fd = fdq_peek(&c->in_fds, &fdoff, &fdend);
		if (fd != -1 && fdend <= c->in_off) {
			log_warnx("rpc: descriptor sent without a frame");
			rpc_die(c, BERR_FRAME);
			break;
		}
		if (evbuffer_get_length(c->in) < FRAME_HDR_LEN)
			break;
		evbuffer_copyout(c->in, hb, sizeof(hb));
		if (frame_decode_hdr(hb, sizeof(hb), &h) != 0) {
			rpc_die(c, BERR_FRAME);
			break;
		}
		if (evbuffer_get_length(c->in) < FRAME_HDR_LEN + h.len) {
			rpc_gather(c, FRAME_HDR_LEN + (size_t)h.len);
			break;
		}
		/* A descriptor must ride on this frame's first byte. */
		fd_here = fd != -1 && fdoff <= c->in_off;
		has_fd = (h.flags & FRAME_F_FD) != 0;
		if (has_fd && !fd_here) {
			rpc_die(c, BERR_FRAME);
			break;
		}
		if ((rule = frame_rule(c->rules, c->nrules, &h, has_fd)) ==
		    NULL) {
			log_warnx("rpc: refused frame type %u len %u id %u%s",
			    h.type, h.len, h.id, has_fd ? " with fd" : "");
			rpc_die(c, BERR_FRAME);
			break;
		}
		payload = evbuffer_pullup(c->in, FRAME_HDR_LEN + h.len) +
		    FRAME_HDR_LEN;
		if (rule->check != NULL && rule->check(&h, payload) != 0) {
			log_warnx("rpc: refused frame type %u len %u id %u: "
			    "its payload breaks the rules of its type",
			    h.type, h.len, h.id);
			rpc_die(c, BERR_FRAME);
			break;
		}
		fd = has_fd ? fdq_pop(&c->in_fds) : -1;
		if (c->msg_cb != NULL)
			c->msg_cb(c, &h, payload, fd, c->arg);
		else
			rule->handler(c, &h, payload, fd, c->arg);
		evbuffer_drain(c->in, FRAME_HDR_LEN + h.len);
		c->in_off += FRAME_HDR_LEN + h.len;
	}
	c->in_dispatch = 0;
	if (c->free_pending)
		rpc_free(c);
}

static void
rpc_read_cb(evutil_socket_t sock, short events, void *arg)
{
	struct rpc_chan		*c = arg;
	struct evbuffer_iovec	 vec[2];
	struct msghdr		 msg;
	struct cmsghdr		*cmsg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) *
				    RPC_MAX_FDS_PER_READ)];
	} cmsgbuf;
	ssize_t			 n;
	int			 nvec, i, nfds, *fds, got_fds = 0;
	size_t			 len;

	/*
	 * With nothing buffered, the read most often takes a small answer or
	 * two.  RPC_READ_SIZE would take a fresh chain of twice that, which
	 * berthd's allocator maps and unmaps (its mmap threshold is 64 KiB):
	 * two system calls and a cleared page per answer.  A frame larger
	 * than this first read is gathered into one piece (rpc_gather), and
	 * the reads after fill it RPC_READ_SIZE at a time.
	 */
	nvec = evbuffer_reserve_space(c->in, evbuffer_get_length(c->in) == 0 ?
	    RPC_READ_FIRST : RPC_READ_SIZE, vec, 2);
	if (nvec < 0) {
		rpc_die(c, BERR_NOMEM);
		return;
	}
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = (struct iovec *)vec;
	msg.msg_iovlen = (size_t)nvec;
	msg.msg_control = &cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n == -1) {
		evbuffer_commit_space(c->in, vec, 0);
		if (errno == EAGAIN || errno == EINTR)
			return;
		rpc_die(c, BERR_IO);
		return;
	}
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		fds = (int *)CMSG_DATA(cmsg);
		for (i = 0; i < nfds; i++) {
			int fd;
			memcpy(&fd, &fds[i], sizeof(fd));
			fdq_push(&c->in_fds, fd, c->in_total, c->in_total +
			    (n > 0 ? (uint64_t)n : 0));
			got_fds++;
		}
	}
	/* The kernel never glues two descriptor-carrying writes together,
	 * and our peer sends one descriptor per write. */
	if ((msg.msg_flags & MSG_CTRUNC) || got_fds > 1) {
		evbuffer_commit_space(c->in, vec, 0);
		rpc_die(c, BERR_FRAME);
		return;
	}
	if (n == 0) {
		evbuffer_commit_space(c->in, vec, 0);
		rpc_die(c, 0);
		return;
	}
	len = (size_t)n;
	for (i = 0; i < nvec; i++) {
		size_t take = len < vec[i].iov_len ? len : vec[i].iov_len;
		vec[i].iov_len = take;
		len -= take;
	}
	evbuffer_commit_space(c->in, vec, nvec);
	c->in_total += (uint64_t)n;
	rpc_dispatch(c);
}

/* Writes as much as the socket takes; 0, or -1 when the channel died. */
static int
rpc_write_some(struct rpc_chan *c, int blocking)
{
	struct evbuffer_iovec	 vec[64];
	struct iovec		 iov[64];
	struct msghdr		 msg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct cmsghdr		*cmsg;
	uint64_t		 fdoff, limit;
	size_t			 want, got;
	ssize_t			 n;
	int			 nvec, i, fd;

	while (evbuffer_get_length(c->out) > 0) {
		want = evbuffer_get_length(c->out);
		fd = fdq_peek(&c->out_fds, &fdoff, NULL);
		if (fd != -1 && fdoff > c->out_off) {
			/* Stop right before the byte the fd rides on. */
			limit = fdoff - c->out_off;
			if (limit < want)
				want = (size_t)limit;
			fd = -1;
		} else if (fd != -1) {
			/* The fd goes with this byte; send up to the next. */
			if (c->out_fds.len > 1) {
				uint64_t next = c->out_fds.off[
				    (c->out_fds.head + 1) % c->out_fds.cap];
				if (next - c->out_off < want)
					want = (size_t)(next - c->out_off);
			}
		}
		nvec = evbuffer_peek(c->out, (ssize_t)want, NULL, vec, 64);
		if (nvec > 64)
			nvec = 64;
		got = 0;
		for (i = 0; i < nvec && got < want; i++) {
			iov[i].iov_base = vec[i].iov_base;
			iov[i].iov_len = vec[i].iov_len;
			if (got + iov[i].iov_len > want)
				iov[i].iov_len = want - got;
			got += iov[i].iov_len;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)i;
		if (fd != -1) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
		}
		n = sendmsg(c->sock, &msg, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (!blocking)
					return 0;
				struct pollfd pfd = { c->sock, POLLOUT, 0 };
				(void)poll(&pfd, 1, 1000);
				continue;
			}
			rpc_die(c, BERR_IO);
			return -1;
		}
		if (fd != -1)
			close(fdq_pop(&c->out_fds));
		evbuffer_drain(c->out, (size_t)n);
		c->out_off += (uint64_t)n;
	}
	return 0;
}

static void
rpc_write_cb(evutil_socket_t sock, short events, void *arg)
{
	struct rpc_chan	*c = arg;

	if (rpc_write_some(c, 0) == -1)
		return;
	if (evbuffer_get_length(c->out) == 0)
		event_del(c->ev_write);
}

struct rpc_chan *
rpc_new(struct event_base *base, int sock, const struct rpc_rule *rules,
    size_t nrules, rpc_msg_cb msg_cb, rpc_close_cb close_cb, void *arg)
{
	struct rpc_chan	*c;
	size_t		 i;
	int		 sz = 4 * 1024 * 1024;

	for (i = 0; msg_cb == NULL && i < nrules; i++)
		if (rules[i].handler == NULL)
			fatalx("rpc: no handler for frame type %u",
			    rules[i].type);
	c = xcalloc(1, sizeof(*c));
	c->base = base;
	c->sock = sock;
	c->rules = rules;
	c->nrules = nrules;
	c->msg_cb = msg_cb;
	c->close_cb = close_cb;
	c->arg = arg;
	if (fd_set_nonblock(sock) == -1 || fd_set_cloexec(sock) == -1)
		fatal("rpc socket");
	(void)setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if ((c->in = evbuffer_new()) == NULL ||
	    (c->out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	c->ev_read = event_new(base, sock, EV_READ | EV_PERSIST, rpc_read_cb,
	    c);
	c->ev_write = event_new(base, sock, EV_WRITE | EV_PERSIST,
	    rpc_write_cb, c);
	if (c->ev_read == NULL || c->ev_write == NULL)
		fatalx("event_new");
	event_add(c->ev_read, NULL);
	return c;
}

void
rpc_free(struct rpc_chan *c)
{
	if (c == NULL)
		return;
	if (c->in_dispatch) {
		c->free_pending = 1;
		c->dead = 1;
		event_del(c->ev_read);
		event_del(c->ev_write);
		return;
	}
	event_free(c->ev_read);
	event_free(c->ev_write);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	fdq_clear(&c->in_fds);
	fdq_clear(&c->out_fds);
	close(c->sock);
	free(c);
}

/*
 * A large frame with nothing queued before it goes to the socket straight
 * from the caller's memory: what the socket takes is not copied into the
 * output buffer first (a 1 MiB blob with its commit was copied whole).
 * Returns the bytes sent, or -1 when the channel died.
 */
static ssize_t
rpc_send_direct(struct rpc_chan *c, const struct frame_hdr *h,
    const struct iovec *iov, int iovcnt)
{
	struct iovec	 v[RPC_DIRECT_IOV];
	struct msghdr	 msg;
	ssize_t		 n;
	int		 i, nv = 0;

	v[nv].iov_base = (void *)(uintptr_t)h;
	v[nv++].iov_len = sizeof(*h);
	for (i = 0; i < iovcnt && nv < RPC_DIRECT_IOV; i++)
		if (iov[i].iov_len > 0)
			v[nv++] = iov[i];
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = v;
	msg.msg_iovlen = (size_t)nv;
	do
		n = sendmsg(c->sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno == EAGAIN)
		return 0;
	rpc_die(c, BERR_IO);
	return -1;
}

/* Queues the part of p (n bytes) past the *skip bytes already sent. */
static void
rpc_queue_piece(struct rpc_chan *c, const void *p, size_t n, size_t *skip)
{
	if (*skip >= n) {
		*skip -= n;
		return;
	}
	if (evbuffer_add(c->out, (const char *)p + *skip, n - *skip) == -1)
		fatalx("evbuffer_add");
	*skip = 0;
}

int
rpc_sendv(struct rpc_chan *c, uint32_t type, uint32_t id,
    const struct iovec *iov, int iovcnt, int fd)
{
	struct frame_hdr h;
	size_t		 len = 0, skip;
	ssize_t		 sent = 0;
	int		 i;

	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > FRAME_MAX_PAYLOAD - len) {
			len = SIZE_MAX;
			break;
		}
		len += iov[i].iov_len;
	}
	if (c->dead || len == SIZE_MAX) {
		if (fd != -1)
			close(fd);
		return c->dead ? BERR_IO : BERR_FRAME;
	}
	memset(&h, 0, sizeof(h));
	h.type = type;
	h.len = (uint32_t)len;
	h.id = id;
	h.flags = fd != -1 ? FRAME_F_FD : 0;
	if (fd == -1 && len >= RPC_DIRECT_MIN &&
	    evbuffer_get_length(c->out) == 0) {
		if ((sent = rpc_send_direct(c, &h, iov, iovcnt)) == -1)
			return BERR_IO;
		c->out_off += (uint64_t)sent;
	}
	if (fd != -1)
		fdq_push(&c->out_fds, fd, c->out_total, 0);
	skip = (size_t)sent;
	rpc_queue_piece(c, &h, sizeof(h), &skip);
	for (i = 0; i < iovcnt; i++)
		rpc_queue_piece(c, iov[i].iov_base, iov[i].iov_len, &skip);
	c->out_total += FRAME_HDR_LEN + len;
	if (evbuffer_get_length(c->out) == 0)
		return 0;
	/* Try at once: most frames go out without a trip through the loop. */
	if (rpc_write_some(c, 0) == -1)
		return BERR_IO;
	if (evbuffer_get_length(c->out) > 0)
		event_add(c->ev_write, NULL);
	return 0;
}

int
rpc_send(struct rpc_chan *c, uint32_t type, uint32_t id,
    const void *payload, size_t len, int fd)
{
	struct iovec	 iov;

	iov.iov_base = (void *)(uintptr_t)payload;
	iov.iov_len = len;
	return rpc_sendv(c, type, id, &iov, 1, fd);
}

size_t
rpc_pending(const struct rpc_chan *c)
{
	return evbuffer_get_length(c->out);
}

int
rpc_flush(struct rpc_chan *c)
{
	if (c->dead)
		return BERR_IO;
	return rpc_write_some(c, 1) == -1 ? BERR_IO : 0;
}

/* --- a worker's socket --------------------------------------------------- */

int
rpc_is_socket(int fd)
{
	struct stat		 sb;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 type;

	if (fstat(fd, &sb) == -1 || !S_ISSOCK(sb.st_mode))
		return 0;
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM)
		return 0;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    ss.ss_family != AF_UNIX)
		return 0;
	return 1;
}

int
rpc_debug_accept(const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	int			 s = -1, c;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("--debug-socket: %s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		(void)unlink(path);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(s, 1) == -1) {
		log_warn("--debug-socket %s", path);
		if (s != -1)
			close(s);
		return -1;
	}
	log_info("waiting for a connection on %s", path);
	while ((c = accept4(s, NULL, NULL, SOCK_CLOEXEC)) == -1)
		if (errno != EINTR && errno != ECONNABORTED)
			fatal("accept %s", path);
	close(s);
	(void)unlink(path);
	return c;
}
