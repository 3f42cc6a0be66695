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
 * A seccomp-BPF filter that takes sockets away: socket(2) and the calls
 * that give a socket an address or a peer fail with EACCES, so that a bug
 * shows as an error rather than a crash.  io_uring is refused too, since
 * its socket operations do not pass through this filter.  Everything
 * else is allowed.
 *
 * The filter checks the architecture the call was made in: a call from
 * another ABI (i386 or x32 calls from an x86-64 process) has other
 * numbers, so it fails with EPERM whatever it is.  On an architecture
 * this file does not know, no filter is installed (logged).
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "log.h"
#include "sandbox.h"
#include "util.h"

#if defined(__x86_64__) && defined(__ILP32__)
#define SECCOMP_ARCH	0		/* x32: not handled */
#elif defined(__x86_64__)
#define SECCOMP_ARCH	AUDIT_ARCH_X86_64
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT	0x40000000
#endif
#elif defined(__aarch64__) && !defined(__AARCH64EB__)
#define SECCOMP_ARCH	AUDIT_ARCH_AARCH64
#else
#define SECCOMP_ARCH	0
#endif

#if SECCOMP_ARCH != 0

#define LOAD_ARCH	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, \
			    offsetof(struct seccomp_data, arch))
#define LOAD_NR		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, \
			    offsetof(struct seccomp_data, nr))
#define RET_ERRNO(e)	BPF_STMT(BPF_RET | BPF_K, \
			    SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
/* If the number is nr, fail with errno e; else go on. */
#define DENY(nr, e)	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
			RET_ERRNO(e)

static const struct sock_filter seccomp_no_sockets[] = {
	LOAD_ARCH,
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0),
	RET_ERRNO(EPERM),
	LOAD_NR,
#ifdef __X32_SYSCALL_BIT
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1),
	RET_ERRNO(EPERM),
#endif
	DENY(SYS_socket, EACCES),
	DENY(SYS_socketpair, EACCES),
	DENY(SYS_connect, EACCES),
	DENY(SYS_bind, EACCES),
	DENY(SYS_listen, EACCES),
	DENY(SYS_accept, EACCES),
	DENY(SYS_accept4, EACCES),
#ifdef SYS_io_uring_setup
	DENY(SYS_io_uring_setup, EPERM),
	DENY(SYS_io_uring_enter, EPERM),
	DENY(SYS_io_uring_register, EPERM),
#endif
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

int
sandbox_seccomp(const struct sandbox_policy *p, const char **what)
{
	struct sock_fprog	 prog;

	if (!p->deny_sockets)
		return 0;
	prog.len = (unsigned short)nitems(seccomp_no_sockets);
	/* The kernel copies the program; it does not write to it. */
	prog.filter = (struct sock_filter *)(uintptr_t)seccomp_no_sockets;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1) {
		if (errno == EINVAL) {
			log_warnx("sandbox: this kernel has no seccomp "
			    "filters; sockets are not restricted");
			return 0;
		}
		log_warn("sandbox: seccomp filter");
		return -1;
	}
	*what = "seccomp: no new sockets";
	return 1;
}

#else

int
sandbox_seccomp(const struct sandbox_policy *p, const char **what)
{
	if (p->deny_sockets)
		log_warnx("sandbox: no seccomp filter for this architecture; "
		    "sockets are not restricted");
	return 0;
}

#endif
