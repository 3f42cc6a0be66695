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
 * Who berthd and its processes run as.  Started as root with --user, berthd
 * binds its port, readies the data directory for that user, forks the
 * spawner, and then both become the user: supplementary groups, gid and
 * uid, checked afterwards.  Whoever they run as, neither keeps a
 * capability: the bounding set goes while root may still drop it, then
 * the permitted, effective, inheritable and ambient sets.
 *
 * Started as root without --user, berthd keeps uid 0 but no capability,
 * and says so: files stay root's, but root's powers are gone.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>

#include "berthd.h"
#include "log.h"
#include "util.h"

/* Deeper than the data directory's layout ever goes. */
#define PRIV_TREE_DEPTH		16

static char	*priv_name;		/* --user, or NULL */
static uid_t	 priv_uid;
static gid_t	 priv_gid;

void
priv_init(const char *user)
{
	struct passwd	*pw;

	if (user == NULL) {
		if (geteuid() == 0)
			log_warnx("running as root without --user: berthd and "
			    "berth-blobd keep uid 0 but drop every "
			    "capability; give --user to run them as an "
			    "unprivileged user");
		return;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		fprintf(stderr, "berthd: --user %s: %s\n", user,
		    errno != 0 ? strerror(errno) : "no such user");
		exit(2);
	}
	if (geteuid() != 0 && (pw->pw_uid != getuid() ||
	    pw->pw_uid != geteuid())) {
		fprintf(stderr, "berthd: --user %s: only root can run berthd "
		    "as another user\n", user);
		exit(2);
	}
	priv_name = xstrdup(user);
	priv_uid = pw->pw_uid;
	priv_gid = pw->pw_gid;
}

/* Whether this process must change users. */
static int
priv_switching(void)
{
	uid_t	 r, e, s;

	if (priv_name == NULL)
		return 0;
	if (getresuid(&r, &e, &s) == -1)
		fatal("getresuid");
	return r != priv_uid || e != priv_uid || s != priv_uid;
}

/*
 * Gives the tree beneath dirfd to the user.  Every name is resolved from
 * an open directory without following symbolic links, and a file is
 * changed through a descriptor of the very inode that was checked, so
 * nothing renamed or linked in meanwhile can redirect a chown.  blobd
 * makes only directories and regular files; anything else (and a file
 * with other hard links) is left alone.
 */
static int
priv_chown_tree(int dirfd, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 fd, rc = 0;

	if (depth > PRIV_TREE_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	if ((fd = dup(dirfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		fd = openat(dirfd, de->d_name, O_PATH | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd == -1 || fstat(fd, &st) == -1) {
			rc = -1;
			goto next;
		}
		if (S_ISDIR(st.st_mode)) {
			close(fd);
			fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (fd == -1 || priv_chown_tree(fd, depth + 1) == -1 ||
			    fchown(fd, priv_uid, priv_gid) == -1)
				rc = -1;
		} else if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
			if (fchownat(fd, "", priv_uid, priv_gid,
			    AT_EMPTY_PATH) == -1)
				rc = -1;
		}
 next:
		if (fd != -1)
			close(fd);
	}
	closedir(d);
	return rc;
}

void
priv_prepare_datadir(const char *dir)
{
	struct stat	 st;
	char		*copy;
	int		 fd;

	if (!priv_switching() || geteuid() != 0)
		return;
	if (stat(dir, &st) == -1) {
		if (errno != ENOENT)
			fatal("data directory %s", dir);
		/* The user must be able to reach it. */
		copy = xstrdup(dir);
		if (mkdir_p(dirname(copy), 0755) == -1)
			fatal("cannot create the parents of %s", dir);
		free(copy);
		if (mkdir(dir, 0750) == -1 && errno != EEXIST)
			fatal("cannot create the data directory %s", dir);
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		fatal("data directory %s", dir);
	/* The top is changed last: a walk cut short is done again. */
	if (st.st_uid != priv_uid) {
		log_info("giving the data directory %s to %s", dir,
		    priv_name);
		if (priv_chown_tree(fd, 0) == -1 ||
		    fchown(fd, priv_uid, priv_gid) == -1)
			fatal("cannot give %s to %s", dir, priv_name);
	}
	close(fd);
}

void
priv_give_file(int fd)
{
	if (priv_switching() && geteuid() == 0 &&
	    fchown(fd, priv_uid, priv_gid) == -1)
		log_warn("cannot give a file to %s", priv_name);
}

static int
priv_capget(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	return (int)syscall(SYS_capget, &hdr, data);
}

static int
priv_capset_none(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];

	memset(&hdr, 0, sizeof(hdr));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

static int
priv_has_caps(const struct __user_cap_data_struct data[2])
{
	return (data[0].effective | data[0].permitted | data[0].inheritable |
	    data[1].effective | data[1].permitted | data[1].inheritable) != 0;
}

/* Empties the bounding set, which takes CAP_SETPCAP: while still root. */
static void
priv_drop_bounding_set(void)
{
	struct __user_cap_data_struct data[2];
	int	 c;

	if (priv_capget(data) == -1)
		fatal("capget");
	if ((data[CAP_TO_INDEX(CAP_SETPCAP)].effective &
	    CAP_TO_MASK(CAP_SETPCAP)) == 0)
		return;
	for (c = 0; prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == -1)
			fatal("prctl(PR_CAPBSET_DROP, %d)", c);
}

static void
priv_become_user(void)
{
	uid_t	 ru, eu, su;
	gid_t	 rg, eg, sg, groups[2];

	if (setgroups(1, &priv_gid) == -1)
		fatal("setgroups");
	if (setresgid(priv_gid, priv_gid, priv_gid) == -1)
		fatal("setresgid %u", (unsigned)priv_gid);
	if (setresuid(priv_uid, priv_uid, priv_uid) == -1)
		fatal("setresuid %u", (unsigned)priv_uid);
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1)
		fatal("getresuid");
	if (ru != priv_uid || eu != priv_uid || su != priv_uid ||
	    rg != priv_gid || eg != priv_gid || sg != priv_gid ||
	    getgroups(2, groups) != 1 || groups[0] != priv_gid)
		fatalx("could not become %s", priv_name);
	if (priv_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		fatalx("could become root again after becoming %s",
		    priv_name);
}

void
priv_drop(void)
{
	struct __user_cap_data_struct data[2];

	priv_drop_bounding_set();
	if (priv_switching())
		priv_become_user();
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (priv_capget(data) == -1)
		fatal("capget");
	if (!priv_has_caps(data))
		return;
	if (priv_capset_none() == -1) {
		/*
		 * A filter around us (systemd's SystemCallFilter=~@privileged)
		 * may refuse capset.  The ambient set is gone, so berth-blobd
		 * gets nothing, and Landlock keeps berthd from binding.
		 */
		log_warn("cannot drop the capabilities berthd was given");
		return;
	}
	if (priv_capget(data) == -1 || priv_has_caps(data))
		fatalx("capabilities remain after dropping them");
}

const char *
priv_user(void)
{
	return priv_name;
}
