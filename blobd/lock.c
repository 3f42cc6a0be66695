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
 * The data directory's lock (DIR/lock, flock(2)): one berth-blobd at a
 * time, its pid in the file.  A start that finds it held waits for a
 * holder on its way out, one dying (a zombie, SIGKILL pending) or one
 * that marked its exit, which a berth-blobd does as soon as it begins to
 * exit, before it writes out what it holds; another holder is another
 * berth process using the directory.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blobd.h"
#include "log.h"
#include "proto.h"
#include "util.h"

/*
 * How long a start waits for a previous berth-blobd that is dying to let
 * go of the lock.  berthd waits WORKER_HELLO_TIMEOUT_MS (30 s) for the
 * hello, recovery included.
 */
#define BLOBD_LOCK_WAIT_MS	20000
/*
 * How long a start waits for a holder that is neither dying nor marked
 * exiting to become one of them: a berth-blobd whose berthd was killed
 * notices the closed channel only when its loop next turns, which a
 * commit under way delays.
 */
#define BLOBD_LOCK_GRACE_MS	2000
/* What a berth-blobd that has begun to exit adds to its pid in the lock. */
#define BLOBD_LOCK_EXITING	" exiting"

/* The lock's descriptor, held until the process ends. */
static int	 blobd_lock_fd = -1;

/*
 * Says in the lock that this berth-blobd is on its way out, so that one
 * started meanwhile (berthd restarted after a kill) waits for it to
 * finish its exit (held uploads written, the log's zeros cut) rather than
 * refusing the directory.
 */
void
blobd_exiting(void)
{
	char	 buf[48];
	int	 n;

	if (blobd_lock_fd == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%d%s\n", (int)getpid(),
	    BLOBD_LOCK_EXITING);
	if (pwrite(blobd_lock_fd, buf, (size_t)n, 0) != n)
		log_warn("lock: cannot mark the exit");
}

/*
 * Whether the process pid is going away: gone, a zombie, or with SIGKILL
 * pending (it is in an uninterruptible wait, fsync(2) say, and dies when
 * that returns).  A berth-blobd orphaned by a SIGKILLed spawner is one:
 * PR_SET_PDEATHSIG sent it SIGKILL, and its main thread may be a zombie
 * while its committer thread still holds the lock's descriptor.  what
 * gets its threads' states and wait channels, for the log.
 */
static int
blobd_holder_dying(pid_t pid, char *what, size_t whatsz)
{
	char		 path[64], line[256], wchan[64];
	FILE		*f;
	unsigned long long mask;
	size_t		 len = 0;
	int		 dying = 0, fd;
	ssize_t		 n;

	what[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "State:", 6) == 0) {
			line[strcspn(line, "\n")] = '\0';
			if (strpbrk(line + 6, "ZX") != NULL)
				dying = 1;
			snprintf(what, whatsz, "%.40s", line + 7);
			len = strlen(what);
		} else if ((strncmp(line, "SigPnd:", 7) == 0 ||
		    strncmp(line, "ShdPnd:", 7) == 0) &&
		    sscanf(line + 7, "%llx", &mask) == 1 &&
		    (mask & (1ULL << (SIGKILL - 1))) != 0)
			dying = 1;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	if (len < whatsz && (fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, wchan, sizeof(wchan) - 1);
		close(fd);
		wchan[n > 0 ? n : 0] = '\0';
		snprintf(what + len, whatsz - len, ", waiting in %s",
		    wchan[0] != '\0' && strcmp(wchan, "0") != 0 ? wchan :
		    "nothing");
	}
	return dying;
}

/*
 * Locks DIR/lock and writes our pid in it; returns the lock's fd.  A
 * holder that is dying or has marked its exit (blobd_exiting) is waited
 * for, up to BLOBD_LOCK_WAIT_MS; one that becomes neither within
 * BLOBD_LOCK_GRACE_MS is another berth process using the directory.
 */
int
blobd_lock(int dirfd, const char *dir)
{
	char		 holder[32], what[160] = "", *end;
	int64_t		 start = mono_ms();
	int64_t		 deadline = start + BLOBD_LOCK_WAIT_MS;
	long		 pid;
	int		 fd, logged = 0, going;

	while ((fd = lockfile_take(dirfd, "lock", holder,
	    sizeof(holder))) == -1) {
		if (errno != EWOULDBLOCK) {
			log_warn("%s/lock", dir);
			exit(BLOBD_EXIT_CONFIG);
		}
		pid = strtol(holder, &end, 10);
		if (end == holder || (*end != '\0' &&
		    strcmp(end, BLOBD_LOCK_EXITING) != 0) || pid <= 0 ||
		    pid > INT_MAX || mono_ms() > deadline)
			break;
		going = blobd_holder_dying((pid_t)pid, what, sizeof(what)) ||
		    *end != '\0';
		if (!going && mono_ms() - start > BLOBD_LOCK_GRACE_MS)
			break;
		if (going && !logged++)
			log_warnx("waiting for the previous berth-blobd (pid "
			    "%ld) to exit: %s", pid, what);
		usleep(20000);
	}
	if (fd != -1) {
		if (logged)
			log_info("the previous berth-blobd has exited");
		blobd_lock_fd = fd;
		return fd;
	}
	if (logged)
		log_warnx("data directory %s is in use by another berth "
		    "process (pid %s), which did not exit within %d s: %s",
		    dir, holder, BLOBD_LOCK_WAIT_MS / 1000, what);
	else
		log_warnx("data directory %s is in use by another berth "
		    "process (pid %s)", dir, holder);
	exit(BLOBD_EXIT_LOCKED);
}
