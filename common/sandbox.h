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
 * Confining a process once its start-up is done, for the rest of its
 * life.  A policy says what the process keeps; each mechanism the system
 * has enforces what it can of it (one file per mechanism, picked by
 * configure; sandbox_none.c stands in where the system has none).  What
 * the running kernel lacks, or what a seccomp filter around the process
 * (systemd's SystemCallFilter=) refuses, is logged once and skipped: the
 * daemon goes on with less protection rather than not at all.
 *
 * Confinement is inherited by children and can only shrink, so a process
 * that must start others with more rights forks them before it calls
 * sandbox_apply() (berthd's spawner).
 */
#ifndef BERTH_SANDBOX_H
#define BERTH_SANDBOX_H

struct sandbox_policy {
	/*
	 * -1: no filesystem access at all (opening, creating, removing,
	 * executing anything by path fails with EACCES).  Otherwise a
	 * directory beneath which files and directories may be read,
	 * written, created, renamed and removed; nothing else may be, and
	 * nothing may be executed or made a device, socket, FIFO or symbolic
	 * link.  Descriptors already open are not affected.
	 */
	int	 rw_dirfd;
	/*
	 * NULL, or files and directories (NULL-terminated) that may be read
	 * besides, each beneath a directory; those missing are skipped.
	 */
	const char *const *ro_paths;
	/* bind(2) and connect(2) of TCP sockets fail with EACCES. */
	int	 deny_tcp;
	/* bind(2) of TCP sockets fails with EACCES; connecting is allowed. */
	int	 deny_tcp_bind;
	/* No signals to processes outside the sandbox. */
	int	 scope_signals;
	/* No connecting to abstract UNIX sockets made outside it. */
	int	 scope_abstract_unix;
	/*
	 * socket(2), socketpair(2), connect(2), bind(2), listen(2),
	 * accept(2) and accept4(2) fail with EACCES, io_uring with EPERM.
	 * Descriptors already open, and those received with SCM_RIGHTS,
	 * work as before.
	 */
	int	 deny_sockets;
};

/* Sets no_new_privs: no execve(2) can grant privileges from now on.  This
 * is also the first thing sandbox_apply() does. */
void	sandbox_no_new_privs(void);

/*
 * Applies the policy.  Returns 0 when every mechanism did what it could
 * (including nothing, when it is missing: logged once), or -1 when one
 * the kernel offers failed (logged): the caller should not go on.
 */
int	sandbox_apply(const struct sandbox_policy *);

/* --- the mechanisms, called by sandbox_apply() ---------------------------- */

/*
 * Each returns 1 when it applied its part of the policy, 0 when it cannot
 * here (logged) and -1 when it failed (logged).  *what is set to a short
 * description of what it enforced, for the log.
 */
/* Landlock: the filesystem, TCP and scopes (sandbox_landlock.c). */
int	sandbox_landlock(const struct sandbox_policy *, const char **what);
/* A seccomp-BPF filter: deny_sockets (sandbox_seccomp.c). */
int	sandbox_seccomp(const struct sandbox_policy *, const char **what);

#endif
