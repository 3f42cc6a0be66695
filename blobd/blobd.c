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
 * berth-blobd's main: options, the data directory and its lock, the
 * confinement, and the event loop.  It serves berthd on BLOBD_SOCKET_FD
 * (serve.c), or on the first connection to --debug-socket when run by hand,
 * expires idle uploads and exits on SIGTERM or when berthd goes away.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "blobd.h"
#include "digest.h"
#include "log.h"
#include "proto.h"
#include "sandbox.h"
#include "util.h"

static const char blobd_options[] =
    "  --data-dir dir        the data directory (created if missing)\n"
    "  --debug-socket path   debugging by hand: serve the first connection\n"
    "                        on a UNIX socket at path as if from berthd\n"
    "  --durability full|relaxed\n"
    "                        relaxed: changes are acknowledged without an\n"
    "                        fsync, and a power cut loses recent ones\n"
    "                        (default full)\n"
    "  --help                print this help and exit\n"
    "  --no-seccomp          do not install the seccomp filter that "
    "refuses sockets\n"
    "  --upload-ttl seconds  remove uploads idle this long (default 86400)\n"
    "  -v, --verbose         log debugging output too\n"
    "  --version             print the version and exit\n";

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr, "usage: berth-blobd [-v] "
	    "[--debug-socket path] [--durability full | relaxed]\n"
	    "                   [--no-seccomp] [--upload-ttl seconds] "
	    "--data-dir dir\n");
	if (status == 0)
		fprintf(stdout, "\n%s", blobd_options);
	exit(status);
}

static void
blobd_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct blobd	*env = arg;

	log_info("signal %d; exiting", (int)sig);
	blobd_exiting();
	event_base_loopbreak(env->base);
}

/*
 * The heap keeps what steady pushes reuse (malloc_keep: 8 MiB free before
 * it shrinks); what a burst of parallel uploads left beyond twice that
 * goes back to the system within a few seconds.
 */
#define BLOBD_TRIM_FREE		(16 * 1024 * 1024)
#define BLOBD_TRIM_SEC		5

static void
blobd_trim_cb(evutil_socket_t fd, short events, void *arg)
{
	heap_trim(BLOBD_TRIM_FREE);
}

static void
blobd_expire_cb(evutil_socket_t fd, short events, void *arg)
{
	struct blobd	*env = arg;

	(void)upload_expire(env->uploads, now_sec());
}

/* Creates the data directory if needed and opens it. */
static int
blobd_open_datadir(const char *dir)
{
	struct stat	 sb;
	int		 fd;

	/* Its name is made durable by the first commit round, with the
	 * directories made in it. */
	if (stat(dir, &sb) == -1 && errno == ENOENT &&
	    mkdir_p(dir, 0750) == -1) {
		log_warn("cannot create the data directory %s", dir);
		exit(BLOBD_EXIT_CONFIG);
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("cannot open the data directory %s", dir);
		exit(BLOBD_EXIT_CONFIG);
	}
	return fd;
}

/*
 * From now on blobd reaches files only beneath its data directory, binds
 * and connects no TCP socket, makes no socket at all (the seccomp filter),
 * and signals no process outside itself.  What it serves comes from
 * berthd: requests on the socket, pipes and files with SCM_RIGHTS.
 */
static void
blobd_confine(int dirfd, int seccomp)
{
	struct sandbox_policy	 p;

	memset(&p, 0, sizeof(p));
	p.rw_dirfd = dirfd;
	p.deny_tcp = 1;
	p.scope_signals = 1;
	p.scope_abstract_unix = 1;
	p.deny_sockets = seccomp;
	if (sandbox_apply(&p) == -1)
		fatalx("cannot confine berth-blobd");
}

static void
blobd_raise_nofile(void)
{
	struct rlimit	 rl;

	/* Each streaming upload holds a pipe and a file. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data-dir",		required_argument, NULL, 'd' },
		{ "debug-socket",	required_argument, NULL, 's' },
		{ "durability",		required_argument, NULL, 'D' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ "no-seccomp",		no_argument,	   NULL, 'S' },
		{ "upload-ttl",		required_argument, NULL, 't' },
		{ "verbose",		no_argument,	   NULL, 'v' },
		{ "version",		no_argument,	   NULL, 'V' },
		{ NULL,			0,		   NULL, 0 }
	};
	struct blobd	 env;
	const char	*datadir = NULL, *debug_socket = NULL;
	int64_t		 ttl = UPLOAD_TTL_DEFAULT;
	struct timeval	 tv;
	int		 ch, verbose = 0, seccomp = 1, sock, dirfd;
	int		 new_dirs = 0, durable = 1, datadir_new = -1, reserve_fd;
	int		 parent_new = -1;

	log_init("berth-blobd", 0);
	malloc_keep();
	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			datadir = optarg;
			break;
		case 's':
			debug_socket = optarg;
			break;
		case 'D':
			if (strcmp(optarg, "full") == 0)
				durable = 1;
			else if (strcmp(optarg, "relaxed") == 0)
				durable = 0;
			else {
				fprintf(stderr, "berth-blobd: --durability: "
				    "%s: not full or relaxed\n", optarg);
				exit(BLOBD_EXIT_CONFIG);
			}
			break;
		case 'S':
			seccomp = 0;
			break;
		case 't':
			if ((ttl = parse_duration(optarg)) <= 0) {
				fprintf(stderr, "berth-blobd: --upload-ttl: "
				    "%s: not a positive number of seconds\n",
				    optarg);
				exit(BLOBD_EXIT_CONFIG);
			}
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("berth-blobd %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(0);
		default:
			usage(BLOBD_EXIT_CONFIG);
		}
	}
	if (optind != argc || datadir == NULL)
		usage(BLOBD_EXIT_CONFIG);
	log_init("berth-blobd", LOG_LVL_INFO + verbose);

	if (debug_socket == NULL && !rpc_is_socket(BLOBD_SOCKET_FD)) {
		fprintf(stderr, "berth-blobd is started by berthd; to run it "
		    "by hand for debugging use --debug-socket PATH\n");
		exit(BLOBD_EXIT_CONFIG);
	}
	if (debug_socket == NULL)
		(void)fd_set_cloexec(BLOBD_SOCKET_FD);
	signal(SIGPIPE, SIG_IGN);
	umask(027);
	blobd_raise_nofile();

	memset(&env, 0, sizeof(env));
	env.durable = durable;
	dirfd = blobd_open_datadir(datadir);
	(void)blobd_lock(dirfd, datadir);
	if ((env.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	/* From now on SIGTERM ends the loop, even one not started yet. */
	if ((env.ev_sigterm = evsignal_new(env.base, SIGTERM, blobd_signal_cb,
	    &env)) == NULL ||
	    (env.ev_sigint = evsignal_new(env.base, SIGINT, blobd_signal_cb,
	    &env)) == NULL)
		fatalx("event_new");
	evsignal_add(env.ev_sigterm, NULL);
	evsignal_add(env.ev_sigint, NULL);
	if ((env.store = store_new(dirfd, datadir, &new_dirs)) == NULL ||
	    (env.uploads = upload_table_new(env.store, dirfd, env.base,
	    ttl, &new_dirs)) == NULL ||
	    (env.metalog = metalog_new(dirfd, &new_dirs, store_found_cb,
	    store_cut_cb, env.store)) == NULL ||
	    store_attach(env.store, env.metalog, PACK_BLOB_MAX) != 0 ||
	    (env.reserve = reserve_new(metalog_dir_fd(env.metalog),
	    durable, &reserve_fd)) == NULL) {
		log_warnx("cannot use the data directory %s", datadir);
		exit(BLOBD_EXIT_CONFIG);
	}
	env.store->durable = env.metalog->durable = durable;
	/*
	 * The directories made by this start: their parents are fsync'd by
	 * the first commit round, not before the hello.  A data directory
	 * that needed its own is likely new too (berthd makes it, and leaves
	 * its name to this round): its parent goes in the round as well.
	 */
	if (new_dirs && ((datadir_new = dup(dirfd)) == -1 ||
	    (parent_new = openat(dirfd, "..", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1))
		fatal("%s/..", datadir);

	sock = BLOBD_SOCKET_FD;
	if (debug_socket != NULL &&
	    (sock = rpc_debug_accept(debug_socket)) == -1)
		exit(BLOBD_EXIT_CONFIG);
	blobd_confine(dirfd, seccomp);
	close(dirfd);
	/* After the confinement, which a thread started earlier would
	 * escape. */
	env.committer = committer_new(env.base, env.metalog, durable, 1);
	metalog_spare_enable(env.metalog, BLOBD_SPARE_DELAY_MS);
	if (datadir_new != -1) {
		committer_sync_dir(env.committer, datadir_new);
		committer_sync_dir(env.committer, parent_new);
	}
	if (env.store->new_algo)
		committer_sync_dir(env.committer, dup(env.store->blobs_fd));
	if (env.metalog->fresh)
		committer_sync_dir(env.committer, dup(env.metalog->dir_fd));
	if (reserve_fd != -1)
		committer_sync_dir(env.committer, reserve_fd);
	serve_start(&env, sock);
	if ((env.ev_expire = event_new(env.base, -1, EV_PERSIST,
	    blobd_expire_cb, &env)) == NULL)
		fatalx("event_new");
	tv.tv_sec = ttl < 60 ? ttl : 60;
	tv.tv_usec = 0;
	evtimer_add(env.ev_expire, &tv);
	if ((env.ev_trim = event_new(env.base, -1, EV_PERSIST, blobd_trim_cb,
	    NULL)) == NULL)
		fatalx("event_new");
	tv.tv_sec = BLOBD_TRIM_SEC;
	evtimer_add(env.ev_trim, &tv);

	log_info("ready: data directory %s, upload ttl %" PRId64 " s%s",
	    datadir, ttl, durable ? "" : ", durability relaxed: nothing is "
	    "fsync'd");

	event_base_dispatch(env.base);
	exit(0);
}
