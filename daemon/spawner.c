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
 * The spawner: a fork of berthd, made at start-up before berthd drops its
 * privileges and confines itself, and from then on the only process that
 * starts berth-blobd, berth-fetchd and berth-scand.  Confinement is
 * inherited and can only shrink: a worker forked by a confined berthd would
 * inherit "no filesystem" (and the fetcher "no TCP") and could not work.
 * The spawner stays outside berthd's sandbox; it becomes
 * the same user, sets no_new_privs, and holds nothing but its socket to
 * berthd (no listening socket, no model, no other descriptor).
 *
 * berthd asks, the spawner checks (the messages are below): one child
 * of each kind (worker, fetcher, scanner) at a time, a kill only for its
 * own live children, and files opened
 * only from its own copy of the command line, never from a path berthd
 * sends.  It reaps its workers and reports every exit status.  It exits,
 * ending its worker, as soon as berthd's end of the socket closes, and
 * with berthd (PR_SET_PDEATHSIG); a worker dies with the spawner the
 * same way.  It ignores SIGTERM, SIGINT and SIGHUP: berthd decides.
 *
 * It runs a plain poll(2) loop, not libevent: it is forked before berthd
 * sets up its signal events, and shares no state with berthd's loop.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berthd.h"
#include "error.h"
#include "fetch_proto.h"
#include "image_scan.h"
#include "scanproto.h"
#include "log.h"
#include "rpc.h"
#include "sandbox.h"
#include "util.h"

/* The spawner's socket to berthd, on the spawner's side. */
#define SPAWNER_FD		3
/* How long a worker gets to exit on SIGTERM when berthd has gone. */
#define SPAWNER_TERM_MS		5000
/* How long berthd waits for the spawner when it stops. */
#define SPAWNER_STOP_MS		10000

/*
 * berthd and its spawner talk in the frames of proto.h over their own
 * socketpair.  Both ends are this binary, so there is no hello and
 * PROTOCOL_VERSION does not cover these messages.  The spawner answers
 * MSG_SPAWN_WORKER, MSG_SPAWN_FETCHER and MSG_SPAWN_SCANNER each with
 * exactly one MSG_SPAWN_STARTED (with berthd's end of the child's
 * socketpair) or MSG_SPAWN_FAILED, which say its kind; reports every
 * child that exits with MSG_SPAWN_EXITED; kills on MSG_SPAWN_KILL only
 * a child it has running; and answers MSG_SPAWN_OPEN with MSG_SPAWN_OPENED, with a
 * descriptor exactly when err is 0.  Ids are 0.
 */
enum msg_spawn_type {
	MSG_SPAWN_WORKER = 64,	/* d->s: no payload */
	MSG_SPAWN_STARTED,	/* s->d: struct msg_spawn_worker + socket */
	MSG_SPAWN_FAILED,	/* s->d: struct msg_spawn_failed */
	MSG_SPAWN_EXITED,	/* s->d: struct msg_spawn_exited */
	MSG_SPAWN_KILL,		/* d->s: struct msg_spawn_worker */
	MSG_SPAWN_OPEN,		/* d->s: struct msg_spawn_open */
	MSG_SPAWN_OPENED,	/* s->d: struct msg_spawn_opened (+ fd) */
	MSG_SPAWN_FETCHER,	/* d->s: no payload */
	MSG_SPAWN_SCANNER	/* d->s: no payload */
};

/* The children: what STARTED and FAILED answer. */
enum spawn_kind {
	SPAWN_KIND_WORKER = 0,	/* berth-blobd */
	SPAWN_KIND_FETCHER,	/* berth-fetchd */
	SPAWN_KIND_SCANNER,	/* berth-scand */
	SPAWN_KIND__MAX
};

struct msg_spawn_worker {
	int32_t		 pid;
	uint32_t	 kind;		/* enum spawn_kind; 0 in KILL */
};

struct msg_spawn_failed {
	int32_t		 err;		/* an errno */
	uint32_t	 kind;		/* enum spawn_kind */
};

struct msg_spawn_exited {
	int32_t		 pid;
	int32_t		 status;	/* as waitpid() gives it */
};

struct msg_spawn_open {
	uint32_t	 file;		/* enum spawn_file */
	uint32_t	 pad;
};

struct msg_spawn_opened {
	uint32_t	 file;
	int32_t		 err;		/* 0, or an errno */
};

/* --- berthd's side ------------------------------------------------------- */

static const struct rpc_rule spawner_reply_rules[] = {
	{ MSG_SPAWN_STARTED, sizeof(struct msg_spawn_worker),
	    sizeof(struct msg_spawn_worker), RPC_FD_REQUIRED },
	{ MSG_SPAWN_FAILED, sizeof(struct msg_spawn_failed),
	    sizeof(struct msg_spawn_failed), RPC_FD_NONE },
	{ MSG_SPAWN_EXITED, sizeof(struct msg_spawn_exited),
	    sizeof(struct msg_spawn_exited), RPC_FD_NONE },
	{ MSG_SPAWN_OPENED, sizeof(struct msg_spawn_opened),
	    sizeof(struct msg_spawn_opened), RPC_FD_OPTIONAL },
};

static pid_t		 spawner_pid = -1;
static struct rpc_chan	*spawner_chan;
static int		 spawner_stopping;
static spawner_opened_cb spawner_open_cb[SPAWN_FILE__MAX];
static void		*spawner_open_arg[SPAWN_FILE__MAX];

/* --- the spawner's side -------------------------------------------------- */

static const struct rpc_rule spawner_request_rules[] = {
	{ MSG_SPAWN_WORKER, 0, 0, RPC_FD_NONE },
	{ MSG_SPAWN_KILL, sizeof(struct msg_spawn_worker),
	    sizeof(struct msg_spawn_worker), RPC_FD_NONE },
	{ MSG_SPAWN_OPEN, sizeof(struct msg_spawn_open),
	    sizeof(struct msg_spawn_open), RPC_FD_NONE },
	{ MSG_SPAWN_FETCHER, 0, 0, RPC_FD_NONE },
	{ MSG_SPAWN_SCANNER, 0, 0, RPC_FD_NONE },
};

struct spawner {
	int	 sock;		/* to berthd */
	int	 sigfd;		/* SIGCHLD */
	pid_t	 child[SPAWN_KIND__MAX]; /* -1: none alive */
};

static void	spawner_main(int sock, pid_t berthd) __attribute__((noreturn));

_Static_assert(FETCHD_SOCKET_FD == BLOBD_SOCKET_FD &&
    SCAND_SOCKET_FD == BLOBD_SOCKET_FD,
    "spawner_exec puts every child's socket on one descriptor");

/*
 * Runs in a child between fork and exec: its end of the socketpair on
 * descriptor 3 (BLOBD_SOCKET_FD, FETCHD_SOCKET_FD, SCAND_SOCKET_FD),
 * nothing else open but stdio, the spawner's signal settings undone; then
 * runs path with argv.
 */
static void __attribute__((noreturn))
spawner_exec(int sock, pid_t spawner, const char *path, char **argv)
{
	sigset_t	 none;

	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	/* A child must never outlive the spawner. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != spawner)
		_exit(127);
	/* This replaces the spawner's own socket, which is on fd 3 too. */
	if (dup2(sock, BLOBD_SOCKET_FD) == -1)
		_exit(127);
	closefrom(BLOBD_SOCKET_FD + 1);
	execv(path, argv);
	fprintf(stderr, "berthd: cannot run %s: %s\n", path, strerror(errno));
	_exit(127);
}

/* berth-blobd, with -v as often as berthd's and the worker's flags. */
static void __attribute__((noreturn))
spawner_exec_worker(int sock, pid_t spawner)
{
	/* Writable copies: execv takes char *const[]. */
	char		 a_name[] = "berth-blobd", a_v[] = "-v";
	char		 a_ttl[] = "--upload-ttl", a_dir[] = "--data-dir";
	char		 a_noseccomp[] = "--no-seccomp";
	char		 ttl[32], dir[PATH_MAX], *argv[16];
	int		 argc = 0, i;

	snprintf(ttl, sizeof(ttl), "%lld", (long long)conf.upload_ttl);
	snprintf(dir, sizeof(dir), "%s", conf.data_dir);
	argv[argc++] = a_name;
	for (i = 0; i < conf.verbose && i < 3; i++)
		argv[argc++] = a_v;
	if (conf.no_seccomp)
		argv[argc++] = a_noseccomp;
	argv[argc++] = a_ttl;
	argv[argc++] = ttl;
	argv[argc++] = a_dir;
	argv[argc++] = dir;
	argv[argc] = NULL;
	spawner_exec(sock, spawner, conf.blobd_path, argv);
}

/*
 * berth-fetchd, with -v as often as berthd's and every --upstream-map.
 * It inherits the environment, so HTTPS_PROXY and NO_PROXY reach libcurl.
 */
static void __attribute__((noreturn))
spawner_exec_fetcher(int sock, pid_t spawner)
{
	char		 a_name[] = "berth-fetchd", a_v[] = "-v";
	char		 a_map[] = "--upstream-map";
	char		**argv;
	size_t		 argc = 0, i;

	argv = xcalloc(2 * conf.nupstream_maps + 8, sizeof(*argv));
	argv[argc++] = a_name;
	for (i = 0; i < (size_t)conf.verbose && i < 3; i++)
		argv[argc++] = a_v;
	for (i = 0; i < conf.nupstream_maps; i++) {
		argv[argc++] = a_map;
		argv[argc++] = (char *)(uintptr_t)conf.upstream_maps[i];
	}
	argv[argc] = NULL;
	spawner_exec(sock, spawner, conf.fetchd_path, argv);
}

/* berth-scand, with -v as often as berthd's and the scanning flags. */
static void __attribute__((noreturn))
spawner_exec_scanner(int sock, pid_t spawner)
{
	char		 a_name[] = "berth-scand", a_v[] = "-v";
	char		 a_db[] = "--vuln-db", a_timeout[] = "--scan-timeout";
	char		 a_memory[] = "--scan-memory";
	char		 a_noseccomp[] = "--no-seccomp";
	char		 db[PATH_MAX], timeout[32], memory[32], *argv[16];
	int		 argc = 0, i;

	argv[argc++] = a_name;
	for (i = 0; i < conf.verbose && i < 3; i++)
		argv[argc++] = a_v;
	if (conf.no_seccomp)
		argv[argc++] = a_noseccomp;
	if (conf.vuln_db != NULL) {
		snprintf(db, sizeof(db), "%s", conf.vuln_db);
		argv[argc++] = a_db;
		argv[argc++] = db;
	}
	if (conf.scan_timeout > 0) {
		snprintf(timeout, sizeof(timeout), "%d", conf.scan_timeout);
		argv[argc++] = a_timeout;
		argv[argc++] = timeout;
	}
	if (conf.scan_memory_mb > 0) {
		snprintf(memory, sizeof(memory), "%d", conf.scan_memory_mb);
		argv[argc++] = a_memory;
		argv[argc++] = memory;
	}
	argv[argc] = NULL;
	spawner_exec(sock, spawner, conf.scand_path, argv);
}

/* Sends one frame to berthd, blocking; fd (or -1) is closed after. */
static void
spawner_send(struct spawner *s, uint32_t type, const void *p, size_t n,
    int fd)
{
	struct frame_hdr h;
	struct msghdr	 msg;
	struct iovec	 iov[2];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct cmsghdr	*cmsg;
	uint8_t		 frame[FRAME_HDR_LEN + 64];
	size_t		 len = FRAME_HDR_LEN + n, off = 0;
	ssize_t		 w;

	if (n > sizeof(frame) - FRAME_HDR_LEN)
		fatalx("spawner: message %u too long", type);
	memset(&h, 0, sizeof(h));
	h.type = type;
	h.len = (uint32_t)n;
	h.flags = fd != -1 ? FRAME_F_FD : 0;
	memcpy(frame, &h, FRAME_HDR_LEN);
	if (n > 0)
		memcpy(frame + FRAME_HDR_LEN, p, n);
	while (off < len) {
		memset(&msg, 0, sizeof(msg));
		iov[0].iov_base = frame + off;
		iov[0].iov_len = len - off;
		msg.msg_iov = iov;
		msg.msg_iovlen = 1;
		if (fd != -1 && off == 0) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
		}
		if ((w = sendmsg(s->sock, &msg, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			/* berthd is gone: the loop sees it and ends. */
			break;
		}
		off += (size_t)w;
	}
	if (fd != -1)
		close(fd);
}

/* Starts a child of the kind, one of each at a time. */
static void
spawner_start_child(struct spawner *s, enum spawn_kind kind)
{
	struct msg_spawn_worker	 m;
	struct msg_spawn_failed	 f;
	pid_t			 pid, self = getpid(), *slot;
	int			 sv[2];

	slot = &s->child[kind];
	memset(&f, 0, sizeof(f));
	f.kind = kind;
	if (*slot != -1) {
		f.err = EBUSY;
		spawner_send(s, MSG_SPAWN_FAILED, &f, sizeof(f), -1);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		f.err = errno;
		log_warn("spawner: socketpair");
		spawner_send(s, MSG_SPAWN_FAILED, &f, sizeof(f), -1);
		return;
	}
	switch ((pid = fork())) {
	case -1:
		f.err = errno;
		log_warn("spawner: fork");
		close(sv[0]);
		close(sv[1]);
		spawner_send(s, MSG_SPAWN_FAILED, &f, sizeof(f), -1);
		return;
	case 0:
		close(sv[0]);
		if (kind == SPAWN_KIND_FETCHER)
			spawner_exec_fetcher(sv[1], self);
		if (kind == SPAWN_KIND_SCANNER)
			spawner_exec_scanner(sv[1], self);
		spawner_exec_worker(sv[1], self);
	default:
		break;
	}
	close(sv[1]);
	*slot = pid;
	memset(&m, 0, sizeof(m));
	m.pid = (int32_t)pid;
	m.kind = kind;
	spawner_send(s, MSG_SPAWN_STARTED, &m, sizeof(m), sv[0]);
}

/* A file given on the command line, opened to read: its descriptor, or -1
 * with the errno in *err (ENOENT when the option was not given). */
static int
spawner_open_read(const char *path, int32_t *err)
{
	int	 fd;

	if (path == NULL) {
		*err = ENOENT;
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		*err = errno;
	return fd;
}

static void
spawner_open_file(struct spawner *s, uint32_t file)
{
	struct msg_spawn_opened	 r;
	int			 fd = -1;

	memset(&r, 0, sizeof(r));
	r.file = file;
	switch (file) {
	case SPAWN_FILE_LOG:
		/* The spawner and the workers it starts log there too. */
		if (conf.log_file == NULL)
			r.err = ENOENT;
		else if (log_open_file(conf.log_file) == -1 ||
		    (fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0)) == -1)
			r.err = errno;
		break;
	case SPAWN_FILE_CREDENTIALS:
		fd = spawner_open_read(conf.credentials_file, &r.err);
		break;
	case SPAWN_FILE_PTC_SECRETS:
		fd = spawner_open_read(conf.ptc_secrets_file, &r.err);
		break;
	case SPAWN_FILE_SIGNING_KEY:
		fd = spawner_open_read(conf.signing_key_file, &r.err);
		break;
	default:
		r.err = EINVAL;
		break;
	}
	spawner_send(s, MSG_SPAWN_OPENED, &r, sizeof(r), fd);
}

static void
spawner_reap(struct spawner *s)
{
	struct msg_spawn_exited	 m;
	pid_t			 pid;
	int			 status, k;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (k = 0; k < SPAWN_KIND__MAX; k++)
			if (pid == s->child[k])
				s->child[k] = -1;
		memset(&m, 0, sizeof(m));
		m.pid = (int32_t)pid;
		m.status = status;
		spawner_send(s, MSG_SPAWN_EXITED, &m, sizeof(m), -1);
	}
}

/* berthd has gone: end the worker, gently first, and exit. */
static void __attribute__((noreturn))
spawner_exit(struct spawner *s)
{
	struct signalfd_siginfo	 si;
	struct pollfd		 pfd;
	int64_t			 deadline;
	int			 status;
	pid_t			 worker = s->child[SPAWN_KIND_WORKER];

	/* The fetcher and the scanner hold nothing that needs a clean end. */
	if (s->child[SPAWN_KIND_FETCHER] != -1)
		(void)kill(s->child[SPAWN_KIND_FETCHER], SIGKILL);
	if (s->child[SPAWN_KIND_SCANNER] != -1)
		(void)kill(s->child[SPAWN_KIND_SCANNER], SIGKILL);
	if (worker != -1 && waitpid(worker, &status, WNOHANG) == 0) {
		(void)kill(worker, SIGTERM);
		deadline = mono_ms() + SPAWNER_TERM_MS;
		while (waitpid(worker, &status, WNOHANG) == 0) {
			if (mono_ms() >= deadline) {
				log_warnx("berth-blobd %d did not stop; "
				    "killing it", (int)worker);
				(void)kill(worker, SIGKILL);
				(void)waitpid(worker, &status, 0);
				break;
			}
			pfd.fd = s->sigfd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 100) == 1)
				(void)!read(s->sigfd, &si, sizeof(si));
		}
	}
	_exit(0);
}

/* Reads and handles one request; a broken or closed socket ends it all. */
static void
spawner_dispatch_berthd(struct spawner *s)
{
	struct frame_hdr	 h;
	uint8_t			 hb[FRAME_HDR_LEN], payload[64];
	struct msg_spawn_worker	 k;
	struct msg_spawn_open	 o;
	ssize_t			 n;
	int			 i;

	if ((n = read_full(s->sock, hb, sizeof(hb))) != (ssize_t)sizeof(hb))
		spawner_exit(s);
	if (frame_decode_hdr(hb, sizeof(hb), &h) != 0 ||
	    frame_check(spawner_request_rules,
	    nitems(spawner_request_rules), &h, (h.flags & FRAME_F_FD) != 0) !=
	    0 || h.len > sizeof(payload)) {
		log_warnx("spawner: berthd sent a malformed message");
		spawner_exit(s);
	}
	if (h.len > 0 && read_full(s->sock, payload, h.len) != (ssize_t)h.len)
		spawner_exit(s);
	switch (h.type) {
	case MSG_SPAWN_WORKER:
		spawner_start_child(s, SPAWN_KIND_WORKER);
		break;
	case MSG_SPAWN_FETCHER:
		spawner_start_child(s, SPAWN_KIND_FETCHER);
		break;
	case MSG_SPAWN_SCANNER:
		spawner_start_child(s, SPAWN_KIND_SCANNER);
		break;
	case MSG_SPAWN_KILL:
		memcpy(&k, payload, sizeof(k));
		/* Only our own children, and only while they have not been
		 * reaped: their pids cannot have been reused. */
		for (i = 0; i < SPAWN_KIND__MAX; i++)
			if (s->child[i] != -1 && k.pid == (int32_t)s->child[i])
				(void)kill(s->child[i], SIGKILL);
		break;
	case MSG_SPAWN_OPEN:
		memcpy(&o, payload, sizeof(o));
		spawner_open_file(s, o.file);
		break;
	}
}

static void
spawner_main(int sock, pid_t berthd)
{
	struct spawner		 s;
	struct signalfd_siginfo	 si;
	struct pollfd		 pfd[2];
	sigset_t		 chld;
	int			 i;

	(void)prctl(PR_SET_NAME, "berthd-spawner");
	log_init("berthd-spawner", log_verbosity());
	if (sock != SPAWNER_FD) {
		if (dup2(sock, SPAWNER_FD) == -1)
			fatal("spawner: dup2");
		close(sock);
	}
	if (fd_set_cloexec(SPAWNER_FD) == -1)
		fatal("spawner: socket");
	closefrom(SPAWNER_FD + 1);
	priv_drop();
	/* After priv_drop: a change of credentials clears the setting. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != berthd)
		_exit(0);
	sandbox_no_new_privs();

	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) == -1)
		fatal("spawner: sigprocmask");
	memset(&s, 0, sizeof(s));
	s.sock = SPAWNER_FD;
	for (i = 0; i < SPAWN_KIND__MAX; i++)
		s.child[i] = -1;
	if ((s.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		fatal("spawner: signalfd");

	for (;;) {
		pfd[0].fd = s.sock;
		pfd[0].events = POLLIN;
		pfd[1].fd = s.sigfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("spawner: poll");
		}
		if (pfd[1].revents & POLLIN) {
			while (read(s.sigfd, &si, sizeof(si)) > 0)
				;
			spawner_reap(&s);
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			spawner_dispatch_berthd(&s);
	}
}

/* --- berthd's side ------------------------------------------------------- */

static void
spawner_msg_cb(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct msg_spawn_worker	 w;
	struct msg_spawn_failed	 f;
	struct msg_spawn_exited	 x;
	struct msg_spawn_opened	 o;
	spawner_opened_cb	 cb;

	switch (h->type) {
	case MSG_SPAWN_STARTED:
		memcpy(&w, payload, sizeof(w));
		if (w.kind == SPAWN_KIND_FETCHER)
			fetchc_started(w.pid, fd);
		else if (w.kind == SPAWN_KIND_SCANNER)
			scanner_started(w.pid, fd);
		else
			worker_started(w.pid, fd);
		break;
	case MSG_SPAWN_FAILED:
		memcpy(&f, payload, sizeof(f));
		if (f.kind == SPAWN_KIND_FETCHER)
			fetchc_failed(f.err);
		else if (f.kind == SPAWN_KIND_SCANNER)
			scanner_failed(f.err);
		else
			worker_failed(f.err);
		break;
	case MSG_SPAWN_EXITED:
		memcpy(&x, payload, sizeof(x));
		if (!fetchc_exited(x.pid, x.status) &&
		    !scanner_exited(x.pid, x.status))
			worker_exited(x.pid, x.status);
		break;
	case MSG_SPAWN_OPENED:
		memcpy(&o, payload, sizeof(o));
		if (o.file == 0 || o.file >= SPAWN_FILE__MAX ||
		    (o.err == 0) != (fd != -1))
			fatalx("the spawner sent a malformed answer");
		cb = spawner_open_cb[o.file];
		spawner_open_cb[o.file] = NULL;
		if (cb != NULL)
			cb(o.err, fd, spawner_open_arg[o.file]);
		else if (fd != -1)
			close(fd);
		break;
	}
}

static void
spawner_close_cb(struct rpc_chan *chan, int err, void *arg)
{
	if (spawner_stopping)
		return;
	/* Without it no worker can ever be started again. */
	fatalx("the spawner %s", err == BERR_FRAME ? "sent a malformed "
	    "message" : "exited");
}

void
spawner_start(void)
{
	pid_t	 berthd = getpid(), pid;
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	switch ((pid = fork())) {
	case -1:
		fatal("fork");
	case 0:
		close(sv[0]);
		spawner_main(sv[1], berthd);
	default:
		break;
	}
	close(sv[1]);
	spawner_pid = pid;
	spawner_chan = rpc_new(ev_base, sv[0], spawner_reply_rules,
	    nitems(spawner_reply_rules), spawner_msg_cb, spawner_close_cb,
	    NULL);
}

static void
spawner_request(uint32_t type, const void *p, size_t n)
{
	if (spawner_chan == NULL || rpc_send(spawner_chan, type, 0, p, n,
	    -1) != 0)
		fatalx("cannot reach the spawner");
}

void
spawner_request_worker(void)
{
	spawner_request(MSG_SPAWN_WORKER, NULL, 0);
}

void
spawner_request_fetcher(void)
{
	spawner_request(MSG_SPAWN_FETCHER, NULL, 0);
}

void
spawner_request_scanner(void)
{
	spawner_request(MSG_SPAWN_SCANNER, NULL, 0);
}

void
spawner_kill_worker(pid_t pid)
{
	struct msg_spawn_worker	 m;

	memset(&m, 0, sizeof(m));
	m.pid = (int32_t)pid;
	spawner_request(MSG_SPAWN_KILL, &m, sizeof(m));
}

void
spawner_open(enum spawn_file file, spawner_opened_cb cb, void *arg)
{
	struct msg_spawn_open	 m;
	int			 pending;

	pending = spawner_open_cb[file] != NULL;
	spawner_open_cb[file] = cb;
	spawner_open_arg[file] = arg;
	/* One answer serves every request made while it is on its way. */
	if (pending)
		return;
	memset(&m, 0, sizeof(m));
	m.file = file;
	spawner_request(MSG_SPAWN_OPEN, &m, sizeof(m));
}

void
spawner_stop(void)
{
	int64_t	 deadline;
	int	 status;
	pid_t	 pid;

	spawner_stopping = 1;
	if (spawner_chan != NULL) {
		(void)rpc_flush(spawner_chan);
		rpc_free(spawner_chan);
		spawner_chan = NULL;
	}
	if (spawner_pid <= 0)
		return;
	/* It ends its worker and exits when its socket closes. */
	deadline = mono_ms() + SPAWNER_STOP_MS;
	while ((pid = waitpid(spawner_pid, &status, WNOHANG)) == 0) {
		if (mono_ms() > deadline) {
			/* It dies with berthd (PR_SET_PDEATHSIG). */
			log_warnx("the spawner did not exit");
			break;
		}
		usleep(10000);
	}
	spawner_pid = -1;
}
