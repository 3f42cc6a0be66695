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
 * The sandbox, applied in a forked child (it cannot be undone), which
 * reports the errno of each probe through a pipe.  What the running
 * kernel lacks is not asserted: the Landlock ABI is asked the same way
 * sandbox_landlock.c asks it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"
#include "unit.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset	444
#endif

enum probe {
	P_CREATE_INSIDE,	/* create and write a file beneath the dir */
	P_RENAME_ACROSS,	/* rename it into another directory there */
	P_OPEN_OUTSIDE,		/* open a file elsewhere */
	P_OPEN_BEFORE,		/* read a descriptor opened before */
	P_SOCKET,		/* socket(AF_UNIX) */
	P_SOCKETPAIR,
	P_PIPE,
	P_MEMFD,
	P_TCP_BIND,		/* bind a TCP socket to 127.0.0.1:0 */
	P_SIGNAL_OUT,		/* kill(parent, 0) */
	P_READ_INSIDE,		/* read a file beneath the dir */
	P__MAX
};

static int
landlock_abi(void)
{
	long	 abi;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0, 1U);
	return abi > 0 ? (int)abi : 0;
}

#if defined(__x86_64__) || defined(__aarch64__)
#define HAVE_FILTER	1
#else
#define HAVE_FILTER	0
#endif

/* 0 when the call worked, else its errno. */
static int
probe_result(int rc)
{
	return rc == -1 ? (errno != 0 ? errno : -1) : 0;
}

/* What the directory is to the sandboxed child. */
enum dir_mode { DIR_NONE, DIR_RW, DIR_RO };

static void
sandbox_child(int out, const char *dir, enum dir_mode mode, int sockets)
{
	struct sandbox_policy	 p;
	struct sockaddr_in	 sin;
	const char		*ro[2] = { NULL, NULL };
	int			 r[P__MAX], dirfd, fd, before, sv[2];
	char			 c;

	memset(r, 0, sizeof(r));
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1 ||
	    mkdirat(dirfd, "a", 0700) == -1 ||
	    mkdirat(dirfd, "b", 0700) == -1 ||
	    (before = open("/proc/self/stat", O_RDONLY)) == -1 ||
	    (fd = openat(dirfd, "readable", O_WRONLY | O_CREAT, 0600)) == -1 ||
	    write(fd, "r", 1) != 1 || close(fd) == -1)
		_exit(2);
	memset(&p, 0, sizeof(p));
	p.rw_dirfd = mode == DIR_RW ? dirfd : -1;
	ro[0] = mode == DIR_RO ? dir : NULL;
	p.ro_paths = ro;
	p.deny_tcp = 1;
	p.scope_signals = 1;
	p.scope_abstract_unix = 1;
	p.deny_sockets = sockets;
	if (sandbox_apply(&p) == -1)
		_exit(3);

	fd = openat(dirfd, "a/f", O_WRONLY | O_CREAT | O_EXCL, 0600);
	r[P_CREATE_INSIDE] = probe_result(fd == -1 ? -1 :
	    (int)write(fd, "x", 1) == 1 ? 0 : -1);
	if (fd != -1)
		close(fd);
	r[P_RENAME_ACROSS] = probe_result(renameat(dirfd, "a/f", dirfd,
	    "b/f"));
	fd = open("/etc/passwd", O_RDONLY);
	r[P_OPEN_OUTSIDE] = probe_result(fd);
	if (fd != -1)
		close(fd);
	r[P_OPEN_BEFORE] = probe_result(read(before, &c, 1) == 1 ? 0 : -1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	r[P_SOCKET] = probe_result(fd);
	if (fd != -1)
		close(fd);
	r[P_SOCKETPAIR] = probe_result(socketpair(AF_UNIX, SOCK_STREAM, 0,
	    sv));
	r[P_PIPE] = probe_result(pipe(sv));
	r[P_MEMFD] = probe_result(anon_file("sandbox-test"));
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		r[P_TCP_BIND] = -2;
	else {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		r[P_TCP_BIND] = probe_result(bind(fd, (struct sockaddr *)&sin,
		    sizeof(sin)));
		close(fd);
	}
	r[P_SIGNAL_OUT] = probe_result(kill(getppid(), 0));
	fd = openat(dirfd, "readable", O_RDONLY);
	r[P_READ_INSIDE] = probe_result(fd == -1 ? -1 :
	    (int)read(fd, &c, 1) == 1 ? 0 : -1);
	if (fd != -1)
		close(fd);
	(void)!write(out, r, sizeof(r));
	_exit(0);
}

/* Runs the probes in a sandboxed child; 0 and r filled, or -1. */
static int
sandbox_run(const char *dir, enum dir_mode mode, int sockets, int r[P__MAX])
{
	pid_t	 pid;
	int	 pfd[2], status;

	if (pipe(pfd) == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		close(pfd[0]);
		sandbox_child(pfd[1], dir, mode, sockets);
	}
	close(pfd[1]);
	if (read_full(pfd[0], r, sizeof(int) * P__MAX) !=
	    (ssize_t)(sizeof(int) * P__MAX))
		r[0] = -100;
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || r[0] == -100)
		return -1;
	return 0;
}

/* blobd's policy: its directory only, no sockets, no TCP. */
static void
test_sandbox_directory(void)
{
	int	 r[P__MAX], abi = landlock_abi();
	char	*dir = unit_tmpdir();

	CU_ASSERT_FATAL(sandbox_run(dir, DIR_RW, 1, r) == 0);
	CU_ASSERT_EQUAL(r[P_READ_INSIDE], 0);
	CU_ASSERT_EQUAL(r[P_CREATE_INSIDE], 0);
	CU_ASSERT_EQUAL(r[P_RENAME_ACROSS], 0);
	CU_ASSERT_EQUAL(r[P_OPEN_BEFORE], 0);
	CU_ASSERT_EQUAL(r[P_PIPE], 0);
	CU_ASSERT_EQUAL(r[P_MEMFD], 0);
	if (abi >= 2)
		CU_ASSERT_EQUAL(r[P_OPEN_OUTSIDE], EACCES);
	if (HAVE_FILTER) {
		CU_ASSERT_EQUAL(r[P_SOCKET], EACCES);
		CU_ASSERT_EQUAL(r[P_SOCKETPAIR], EACCES);
		/* Not even a socket to bind. */
		CU_ASSERT_EQUAL(r[P_TCP_BIND], -2);
	}
	if (abi >= 6)
		CU_ASSERT_EQUAL(r[P_SIGNAL_OUT], EPERM);
	unit_rmtree(dir);
	free(dir);
}

/* berthd's policy: no filesystem, no TCP binding, sockets allowed. */
static void
test_sandbox_no_filesystem(void)
{
	int	 r[P__MAX], abi = landlock_abi();
	char	*dir = unit_tmpdir();

	CU_ASSERT_FATAL(sandbox_run(dir, DIR_NONE, 0, r) == 0);
	CU_ASSERT_EQUAL(r[P_OPEN_BEFORE], 0);
	CU_ASSERT_EQUAL(r[P_SOCKET], 0);
	CU_ASSERT_EQUAL(r[P_SOCKETPAIR], 0);
	CU_ASSERT_EQUAL(r[P_PIPE], 0);
	CU_ASSERT_EQUAL(r[P_MEMFD], 0);
	if (abi >= 1) {
		CU_ASSERT_EQUAL(r[P_CREATE_INSIDE], EACCES);
		CU_ASSERT_EQUAL(r[P_OPEN_OUTSIDE], EACCES);
		CU_ASSERT_EQUAL(r[P_READ_INSIDE], EACCES);
	}
	if (abi >= 4)
		CU_ASSERT_EQUAL(r[P_TCP_BIND], EACCES);
	unit_rmtree(dir);
	free(dir);
}

/* berth-scand's policy: reading its database directory, nothing else. */
static void
test_sandbox_read_only(void)
{
	int	 r[P__MAX], abi = landlock_abi();
	char	*dir = unit_tmpdir();

	CU_ASSERT_FATAL(sandbox_run(dir, DIR_RO, 1, r) == 0);
	CU_ASSERT_EQUAL(r[P_READ_INSIDE], 0);
	CU_ASSERT_EQUAL(r[P_OPEN_BEFORE], 0);
	CU_ASSERT_EQUAL(r[P_PIPE], 0);
	if (abi >= 1) {
		CU_ASSERT_EQUAL(r[P_CREATE_INSIDE], EACCES);
		CU_ASSERT_EQUAL(r[P_OPEN_OUTSIDE], EACCES);
	}
	if (HAVE_FILTER)
		CU_ASSERT_EQUAL(r[P_SOCKET], EACCES);
	unit_rmtree(dir);
	free(dir);
}

int
test_sandbox_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("sandbox", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "one directory, no sockets",
	    test_sandbox_directory) == NULL ||
	    CU_add_test(s, "no filesystem, no TCP",
	    test_sandbox_no_filesystem) == NULL ||
	    CU_add_test(s, "one directory read-only",
	    test_sandbox_read_only) == NULL)
		return -1;
	return 0;
}
