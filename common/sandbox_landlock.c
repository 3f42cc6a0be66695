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
 * Landlock (Linux 5.13 and later): the filesystem, TCP and, from ABI 6,
 * scopes.  The ABI is asked of the running kernel; each access right is
 * handled only when the kernel knows it, so a newer kernel's rights stay
 * allowed (we cannot know what they would break) and an older kernel gets
 * what it can enforce.  Build headers may be older than the kernel
 * (Debian 12's know ABI 2), so the later constants are defined here.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "log.h"
#include "sandbox.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset	444
#define __NR_landlock_add_rule		445
#define __NR_landlock_restrict_self	446
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION	(1U << 0)
#endif
/* ABI 2 */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)
#endif
/* ABI 3 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)
#endif
/* ABI 4 */
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP	(1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP	(1ULL << 1)
#endif
/* ABI 5 */
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)
#endif
/* ABI 6 */
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL		(1ULL << 1)
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER	1
#endif
#endif

/* ABI 1: executing, reading, writing, listing, removing, making things. */
#define LL_FS_ABI1		((1ULL << 13) - 1)

/*
 * struct landlock_ruleset_attr as of ABI 6, under our own name since the
 * headers' may be shorter.  An older kernel accepts the longer struct as
 * long as the fields it does not know are zero, and they are then.
 */
struct sandbox_ruleset_attr {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;
	uint64_t	 scoped;
};

/* Everything a process may do beneath its rw_dirfd. */
#define LL_FS_RW	(LANDLOCK_ACCESS_FS_READ_FILE | \
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | \
	LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)

static uint64_t
landlock_fs_rights(int abi)
{
	uint64_t	 r = LL_FS_ABI1;

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* The kernel's Landlock ABI, or 0 when it has none for us (logged). */
static int
landlock_abi(void)
{
	long	 abi;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi >= 1)
		return (int)abi > 1000 ? 1000 : (int)abi;
	switch (errno) {
	case ENOSYS:
		log_warnx("sandbox: this kernel has no Landlock; the "
		    "filesystem and TCP are not restricted");
		break;
	case EOPNOTSUPP:
		log_warnx("sandbox: Landlock is disabled in this kernel (add "
		    "landlock to its lsm= boot parameter); the filesystem "
		    "and TCP are not restricted");
		break;
	default:
		/* EPERM: a seccomp filter around us (SystemCallFilter=). */
		log_warnx("sandbox: Landlock is not available (%s); the "
		    "filesystem and TCP are not restricted", strerror(errno));
		break;
	}
	return 0;
}

/* Allows reading path (a file, or a directory and what is beneath it);
 * 1, 0 when it does not exist, -1 on failure (logged). */
static int
landlock_allow_read(int ruleset, const char *path, uint64_t handled)
{
	struct landlock_path_beneath_attr pb;
	struct stat	 sb;
	int		 fd, rc;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("sandbox: %s", path);
		return -1;
	}
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = handled & LANDLOCK_ACCESS_FS_READ_FILE;
	/* A rule on a file may name only a file's rights. */
	if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode))
		pb.allowed_access |= handled & LANDLOCK_ACCESS_FS_READ_DIR;
	pb.parent_fd = fd;
	rc = (int)syscall(__NR_landlock_add_rule, ruleset,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	if (rc == -1)
		log_warn("sandbox: landlock_add_rule %s", path);
	close(fd);
	return rc == -1 ? -1 : 1;
}

int
sandbox_landlock(const struct sandbox_policy *p, const char **what)
{
	static char			 desc[160];
	struct sandbox_ruleset_attr	 attr;
	struct landlock_path_beneath_attr pb;
	int				 abi, ruleset, rc, nread = 0;
	size_t				 i;

	if ((abi = landlock_abi()) == 0)
		return 0;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = landlock_fs_rights(abi);
	if (p->rw_dirfd != -1 && abi < 2) {
		/*
		 * ABI 1 refuses every rename or link between directories as
		 * soon as it handles the filesystem at all.
		 */
		log_warnx("sandbox: Landlock ABI 1 cannot allow renames "
		    "between directories; the filesystem is not restricted");
		attr.handled_access_fs = 0;
	}
	if (p->deny_tcp && abi >= 4)
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
		    LANDLOCK_ACCESS_NET_CONNECT_TCP;
	else if (p->deny_tcp_bind && abi >= 4)
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP;
	if (abi >= 6) {
		if (p->scope_signals)
			attr.scoped |= LANDLOCK_SCOPE_SIGNAL;
		if (p->scope_abstract_unix)
			attr.scoped |= LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
	}
	if (attr.handled_access_fs == 0 && attr.handled_access_net == 0 &&
	    attr.scoped == 0)
		return 0;

	ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr,
	    sizeof(attr), 0);
	if (ruleset == -1) {
		log_warn("sandbox: landlock_create_ruleset");
		return -1;
	}
	if (p->rw_dirfd != -1 && attr.handled_access_fs != 0) {
		memset(&pb, 0, sizeof(pb));
		pb.allowed_access = LL_FS_RW & attr.handled_access_fs;
		pb.parent_fd = p->rw_dirfd;
		if (syscall(__NR_landlock_add_rule, ruleset,
		    LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == -1) {
			log_warn("sandbox: landlock_add_rule");
			close(ruleset);
			return -1;
		}
	}
	for (i = 0; p->ro_paths != NULL && p->ro_paths[i] != NULL &&
	    attr.handled_access_fs != 0; i++) {
		if ((rc = landlock_allow_read(ruleset, p->ro_paths[i],
		    attr.handled_access_fs)) == -1) {
			close(ruleset);
			return -1;
		}
		nread += rc;
	}
#ifdef SANDBOX_SANITIZER
	/* Sanitizer builds: the leak checker reads /proc/self at exit. */
	if (attr.handled_access_fs != 0 && landlock_allow_read(ruleset,
	    "/proc/self", attr.handled_access_fs) == -1) {
		close(ruleset);
		return -1;
	}
#endif
	if (syscall(__NR_landlock_restrict_self, ruleset, 0) == -1) {
		log_warn("sandbox: landlock_restrict_self");
		close(ruleset);
		return -1;
	}
	close(ruleset);
	snprintf(desc, sizeof(desc), "Landlock ABI %d: %s%s%s%s%s", abi,
	    attr.handled_access_fs == 0 ? "filesystem unrestricted" :
	    p->rw_dirfd == -1 ? "no filesystem" :
	    "filesystem beneath one directory",
	    nread > 0 ? " but files to read" : "",
	    attr.handled_access_net == LANDLOCK_ACCESS_NET_BIND_TCP ?
	    ", no TCP listening" : attr.handled_access_net != 0 ?
	    ", no TCP" : "",
	    (attr.scoped & LANDLOCK_SCOPE_SIGNAL) ? ", signals scoped" : "",
	    (attr.scoped & LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET) ?
	    ", abstract sockets scoped" : "");
	*what = desc;
	return 1;
}
