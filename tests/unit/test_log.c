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
 * common/log.c: levels, the "name[pid]: " prefix, one write per line, and
 * where lines go (log_open_file, again after a rotation, log_adopt_fd).
 * Each test points stderr at a file of its own and puts the binary's
 * stderr and level back afterwards.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "unit.h"

struct capture {
	char	*dir;
	char	 path[PATH_MAX];
	int	 saved_stderr;
	int	 saved_level;
};

/* Logs to dir/log as procname at level; 0, or -1 with nothing changed. */
static int
capture_begin(struct capture *c, const char *procname, int level)
{
	c->dir = unit_tmpdir();
	snprintf(c->path, sizeof(c->path), "%s/log", c->dir);
	c->saved_level = log_verbosity();
	fflush(stdout);
	fflush(stderr);
	if ((c->saved_stderr = dup(STDERR_FILENO)) == -1)
		return -1;
	log_init(procname, level);
	if (log_open_file(c->path) == -1) {
		log_init("berth-unit", c->saved_level);
		close(c->saved_stderr);
		return -1;
	}
	return 0;
}

static void
capture_end(struct capture *c)
{
	(void)dup2(c->saved_stderr, STDERR_FILENO);
	close(c->saved_stderr);
	log_init("berth-unit", c->saved_level);
	unit_rmtree(c->dir);
	free(c->dir);
}

/* The file's content, NUL-terminated ("" when it does not exist). */
static char *
slurp(const char *path)
{
	char	*buf;
	size_t	 len = 0, cap = 4096;
	ssize_t	 n;
	int	 fd;

	buf = xmalloc(cap);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
			len += (size_t)n;
			if (cap - len < 2) {
				cap *= 2;
				buf = xreallocarray(buf, cap, 1);
			}
		}
		close(fd);
	}
	buf[len] = '\0';
	return buf;
}

static int
file_is(const char *path, const char *want)
{
	char	*got = slurp(path);
	int	 same = strcmp(got, want) == 0;

	free(got);
	return same;
}

static void
test_log_levels(void)
{
	struct capture	 c;
	char		 want[1024];
	int		 pid = (int)getpid(), v[3];

	CU_ASSERT_FATAL(capture_begin(&c, "lvl-test", LOG_LVL_WARN) == 0);
	v[0] = log_verbosity();
	log_warnx("warn %d", 0);
	log_info("info %d", 0);
	log_debug("debug %d", 0);
	log_init("lvl-test", LOG_LVL_INFO);
	v[1] = log_verbosity();
	log_warnx("warn %d", 1);
	log_info("info %d", 1);
	log_debug("debug %d", 1);
	log_init("lvl-test", LOG_LVL_DEBUG);
	v[2] = log_verbosity();
	log_warnx("warn %d", 2);
	log_info("info %d", 2);
	log_debug("debug %d", 2);
	log_init("lvl-test", LOG_LVL_WARN);
	log_info("info %d", 3);
	log_debug("debug %d", 3);
	snprintf(want, sizeof(want),
	    "lvl-test[%d]: warn 0\n"
	    "lvl-test[%d]: warn 1\n"
	    "lvl-test[%d]: info 1\n"
	    "lvl-test[%d]: warn 2\n"
	    "lvl-test[%d]: info 2\n"
	    "lvl-test[%d]: debug: debug 2\n", pid, pid, pid, pid, pid, pid);
	CU_ASSERT_TRUE(file_is(c.path, want));
	capture_end(&c);
	CU_ASSERT_EQUAL(v[0], LOG_LVL_WARN);
	CU_ASSERT_EQUAL(v[1], LOG_LVL_INFO);
	CU_ASSERT_EQUAL(v[2], LOG_LVL_DEBUG);
}

/* log_warn adds strerror(errno) and leaves errno alone; fatal ends the
 * process with status 1 after its line. */
static void
test_log_errno_and_fatal(void)
{
	struct capture	 c;
	char		 want[1024];
	pid_t		 child[2];
	int		 pid = (int)getpid(), status[2], saved, i;

	CU_ASSERT_FATAL(capture_begin(&c, "err-test", LOG_LVL_WARN) == 0);
	errno = ENOENT;
	log_warn("open %s", "x");
	saved = errno;
	for (i = 0; i < 2; i++) {
		fflush(stdout);
		if ((child[i] = fork()) == 0) {
			log_init("err-child", LOG_LVL_WARN);
			errno = EACCES;
			if (i == 0)
				fatal("stop %d", i);
			fatalx("stop %d", i);
		}
		(void)waitpid(child[i], &status[i], 0);
	}
	snprintf(want, sizeof(want),
	    "err-test[%d]: open x: %s\n"
	    "err-child[%d]: fatal: stop 0: %s\n"
	    "err-child[%d]: fatal: stop 1\n", pid, strerror(ENOENT),
	    (int)child[0], strerror(EACCES), (int)child[1]);
	CU_ASSERT_TRUE(file_is(c.path, want));
	capture_end(&c);
	CU_ASSERT_EQUAL(saved, ENOENT);
	for (i = 0; i < 2; i++) {
		CU_ASSERT_TRUE(child[i] > 0 && WIFEXITED(status[i]) &&
		    WEXITSTATUS(status[i]) == 1);
	}
}

/* The prefix names the process and its pid; a forked child that calls
 * log_init() again logs with its own. */
static void
test_log_prefix(void)
{
	struct capture	 c;
	char		 want[4096], *got, *nl;
	char		 big[5000];
	pid_t		 child;
	int		 pid = (int)getpid(), status = -1, n;

	CU_ASSERT_FATAL(capture_begin(&c, "berth-test", LOG_LVL_INFO) == 0);
	log_info("parent");
	fflush(stdout);
	if ((child = fork()) == 0) {
		log_init("berth-child", LOG_LVL_INFO);
		log_info("child");
		_exit(0);
	}
	(void)waitpid(child, &status, 0);
	log_warnx("%s", "");		/* an empty message: the prefix alone */
	n = snprintf(want, sizeof(want),
	    "berth-test[%d]: parent\n"
	    "berth-child[%d]: child\n"
	    "berth-test[%d]: \n", pid, (int)child, pid);
	CU_ASSERT_TRUE(file_is(c.path, want));

	/* An overlong message is cut to one line, in one write. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warnx("%s", big);
	got = slurp(c.path);
	CU_ASSERT_TRUE(strncmp(got, want, (size_t)n) == 0);
	nl = strchr(got + n, '\n');
	CU_ASSERT_PTR_NOT_NULL(nl);
	if (nl != NULL) {
		CU_ASSERT_EQUAL(nl[1], '\0');
		CU_ASSERT_TRUE(nl - (got + n) > 1000 &&
		    nl - (got + n) < 2048);
		CU_ASSERT_TRUE(strncmp(got + n, "berth-test[", 11) == 0);
	}
	free(got);
	capture_end(&c);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* log_open_file appends; a failed one changes nothing; opening the path
 * again after a rename writes to a new file there. */
static void
test_log_files(void)
{
	struct capture	 c;
	char		 want[1024], rotated[PATH_MAX + 8], bad[PATH_MAX + 8];
	int		 pid = (int)getpid(), fd, rc, err;

	CU_ASSERT_FATAL(capture_begin(&c, "file-test", LOG_LVL_INFO) == 0);
	snprintf(rotated, sizeof(rotated), "%s.1", c.path);
	snprintf(bad, sizeof(bad), "%s/missing/log", c.dir);

	/* What the file holds stays: O_APPEND, no truncation. */
	fd = open(c.path, O_WRONLY | O_APPEND);
	CU_ASSERT_TRUE(fd != -1 && write(fd, "old\n", 4) == 4);
	if (fd != -1)
		close(fd);
	CU_ASSERT_EQUAL(log_open_file(c.path), 0);
	log_info("one");

	/* A path that cannot be opened: -1, errno, lines still go here. */
	errno = 0;
	rc = log_open_file(bad);
	err = errno;
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(err, ENOENT);
	log_info("two");

	/* Rotation: lines go to the renamed file until the reopen. */
	CU_ASSERT_EQUAL(rename(c.path, rotated), 0);
	log_info("three");
	CU_ASSERT_EQUAL(log_open_file(c.path), 0);
	log_info("four");

	snprintf(want, sizeof(want), "old\nfile-test[%d]: one\n"
	    "file-test[%d]: two\nfile-test[%d]: three\n", pid, pid, pid);
	CU_ASSERT_TRUE(file_is(rotated, want));
	snprintf(want, sizeof(want), "file-test[%d]: four\n", pid);
	CU_ASSERT_TRUE(file_is(c.path, want));
	capture_end(&c);
}

/* log_adopt_fd makes a descriptor stderr (the caller keeps its own);
 * log_open_file goes back to a file. */
static void
test_log_adopt_fd(void)
{
	struct capture	 c;
	char		 want[1024], other[PATH_MAX + 8];
	int		 pid = (int)getpid(), fd;

	CU_ASSERT_FATAL(capture_begin(&c, "adopt-test", LOG_LVL_INFO) == 0);
	snprintf(other, sizeof(other), "%s/other", c.dir);
	log_info("before");
	fd = open(other, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	CU_ASSERT_TRUE(fd != -1);
	CU_ASSERT_EQUAL(log_adopt_fd(fd), 0);
	if (fd != -1)
		close(fd);		/* stderr is a copy */
	log_info("adopted");
	CU_ASSERT_EQUAL(log_adopt_fd(-1), -1);
	log_info("still adopted");
	CU_ASSERT_EQUAL(log_open_file(c.path), 0);
	log_info("back");

	snprintf(want, sizeof(want), "adopt-test[%d]: adopted\n"
	    "adopt-test[%d]: still adopted\n", pid, pid);
	CU_ASSERT_TRUE(file_is(other, want));
	snprintf(want, sizeof(want), "adopt-test[%d]: before\n"
	    "adopt-test[%d]: back\n", pid, pid);
	CU_ASSERT_TRUE(file_is(c.path, want));
	capture_end(&c);
}

int
test_log_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("log", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "levels", test_log_levels) == NULL ||
	    CU_add_test(s, "errno and fatal", test_log_errno_and_fatal) ==
	    NULL ||
	    CU_add_test(s, "process name prefix", test_log_prefix) == NULL ||
	    CU_add_test(s, "open, fail, rotate, reopen", test_log_files) ==
	    NULL ||
	    CU_add_test(s, "adopt a descriptor", test_log_adopt_fd) == NULL)
		return -1;
	return 0;
}
