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

#include "config.h"

#include <sys/types.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "blobd.h"
#include "digest.h"
#include "error.h"
#include "log.h"
#include "proto.h"
#include "rpc.h"
#include "sandbox.h"
#include "util.h"

/* An asynchronous reply: an append from a pipe or a commit that hashes. */
struct blobd_req {
	struct blobd	*env;
	uint32_t	 id;
	struct digest	 digest;
	uint64_t	 size;
};

static const char blobd_options[] =
    "  --data-dir dir        the data directory (created if missing)\n"
    "  --debug-socket path   debugging by hand: serve the first connection\n"
    "                        on a UNIX socket at path as if from berthd\n"
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
	    "[--debug-socket path] [--no-seccomp] [--upload-ttl seconds]\n"
	    "                   --data-dir dir\n");
	if (status == 0)
		fprintf(stdout, "\n%s", blobd_options);
	exit(status);
}

static void
blobd_reply(struct blobd *env, uint32_t type, uint32_t id, const void *p,
    size_t n, int fd)
{
	/* A dead channel ends the process from its close callback. */
	(void)rpc_send(env->chan, type, id, p, n, fd);
}

static void
blobd_error(struct blobd *env, uint32_t id, int err, uint64_t size)
{
	struct msg_error m;

	memset(&m, 0, sizeof(m));
	m.code = err < 0 ? err : BERR_INTERNAL;
	m.size = size;
	blobd_reply(env, MSG_ERROR, id, &m, sizeof(m), -1);
}

static void
blobd_committed(struct blobd *env, uint32_t id, const struct digest *d,
    uint64_t size, int created)
{
	struct msg_blob_committed m;

	memset(&m, 0, sizeof(m));
	digest_format(d, m.digest);
	m.size = size;
	m.created = created ? 1 : 0;
	blobd_reply(env, MSG_BLOB_COMMITTED, id, &m, sizeof(m), -1);
}

/* A string in a fixed array: NUL-terminated inside it and not empty. */
static int
blobd_str_ok(const char *s, size_t size)
{
	return s[0] != '\0' && memchr(s, '\0', size) != NULL;
}

/* Parses a digest in a fixed array; 0 or a negative berr. */
static int
blobd_digest(const char *s, size_t size, struct digest *d)
{
	const char	*nul;

	if ((nul = memchr(s, '\0', size)) == NULL || nul == s)
		return BERR_DIGEST_INVALID;
	return digest_parse(s, (size_t)(nul - s), d);
}

/* The session a request names, or NULL (and an error reply sent). */
static struct upload *
blobd_upload(struct blobd *env, uint32_t id, const uint8_t *uid,
    const char *owner)
{
	struct upload	*u;

	if (!blobd_str_ok(owner, OWNER_MAX)) {
		blobd_error(env, id, BERR_BAD_REQUEST, 0);
		return NULL;
	}
	if ((u = upload_find(env->uploads, uid, owner)) == NULL)
		blobd_error(env, id, BERR_UPLOAD_UNKNOWN, 0);
	return u;
}

static void
blobd_upload_create(struct blobd *env, uint32_t id, const uint8_t *payload)
{
	struct msg_upload_create	 m;
	struct msg_upload_created	 r;
	struct upload			*u;
	int				 rc;

	memcpy(&m, payload, sizeof(m));
	if (!blobd_str_ok(m.owner, sizeof(m.owner))) {
		blobd_error(env, id, BERR_BAD_REQUEST, 0);
		return;
	}
	if (m.algo != 0 && m.algo != DIGEST_SHA256 && m.algo != DIGEST_SHA512) {
		blobd_error(env, id, BERR_DIGEST_UNSUPPORTED, 0);
		return;
	}
	if ((rc = upload_create(env->uploads, m.owner,
	    (enum digest_algo)m.algo, &u)) != 0) {
		blobd_error(env, id, rc, 0);
		return;
	}
	log_debug("upload %s created for %s", u->name, u->owner);
	memcpy(r.id, u->id, sizeof(r.id));
	blobd_reply(env, MSG_UPLOAD_CREATED, id, &r, sizeof(r), -1);
}

static void
blobd_append_done_cb(struct upload *u, int err, void *arg)
{
	struct blobd_req	*req = arg;
	struct msg_upload_status r;

	if (err != 0)
		blobd_error(req->env, req->id, err, u->size);
	else {
		r.size = u->size;
		blobd_reply(req->env, MSG_UPLOAD_STATUS, req->id, &r,
		    sizeof(r), -1);
	}
	free(req);
}

static void
blobd_upload_append(struct blobd *env, uint32_t id, const uint8_t *payload,
    int fd)
{
	struct msg_upload_append m;
	struct blobd_req	*req;
	struct upload		*u;
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	if ((u = blobd_upload(env, id, m.id, m.owner)) == NULL) {
		close(fd);
		return;
	}
	req = xcalloc(1, sizeof(*req));
	req->env = env;
	req->id = id;
	if ((rc = upload_append_pipe(u, m.offset, fd, blobd_append_done_cb,
	    req)) != 0) {
		free(req);
		blobd_error(env, id, rc, u->size);
	}
}

static void
blobd_upload_stat(struct blobd *env, uint32_t id, const uint8_t *payload)
{
	struct msg_upload_ref	 m;
	struct msg_upload_status r;
	struct upload		*u;

	memcpy(&m, payload, sizeof(m));
	if ((u = blobd_upload(env, id, m.id, m.owner)) == NULL)
		return;
	r.size = u->size;
	blobd_reply(env, MSG_UPLOAD_STATUS, id, &r, sizeof(r), -1);
}

static void
blobd_upload_cancel(struct blobd *env, uint32_t id, const uint8_t *payload)
{
	struct msg_upload_ref	 m;
	struct upload		*u;
	uint64_t		 size;
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	if ((u = blobd_upload(env, id, m.id, m.owner)) == NULL)
		return;
	size = u->size;
	if ((rc = upload_cancel(u)) != 0)
		blobd_error(env, id, rc, size);
	else
		blobd_reply(env, MSG_OK, id, NULL, 0, -1);
}

static void
blobd_commit(struct blobd *env, uint32_t id, struct upload *u,
    const struct digest *d, uint64_t size)
{
	uint64_t	 now = u->size;
	int		 rc, created;

	if ((rc = upload_commit(u, d, size, &created)) != 0) {
		/* The session may be gone: report the size it had. */
		blobd_error(env, id, rc, now);
		return;
	}
	blobd_committed(env, id, d, now, created);
}

static void
blobd_commit_hashed_cb(struct upload *u, int err, void *arg)
{
	struct blobd_req	*req = arg;

	if (err != 0)
		blobd_error(req->env, req->id, err, u->size);
	else
		blobd_commit(req->env, req->id, u, &req->digest, req->size);
	free(req);
}

static void
blobd_upload_commit(struct blobd *env, uint32_t id, const uint8_t *payload)
{
	struct msg_upload_commit m;
	struct blobd_req	*req;
	struct upload		*u;
	struct digest		 d;
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	if ((u = blobd_upload(env, id, m.id, m.owner)) == NULL)
		return;
	if ((rc = blobd_digest(m.digest, sizeof(m.digest), &d)) != 0) {
		blobd_error(env, id, rc, u->size);
		return;
	}
	if (u->state != UPLOAD_IDLE) {
		blobd_error(env, id, BERR_UPLOAD_BUSY, u->size);
		return;
	}
	if (m.size != UINT64_MAX && m.size != u->size) {
		blobd_error(env, id, BERR_SIZE_INVALID, u->size);
		return;
	}
	/* Re-reading a large upload takes many loop iterations. */
	if (upload_hash_pending(u, d.algo) > UPLOAD_HASH_STEP) {
		req = xcalloc(1, sizeof(*req));
		req->env = env;
		req->id = id;
		req->digest = d;
		req->size = m.size;
		if ((rc = upload_hash_start(u, d.algo, blobd_commit_hashed_cb,
		    req)) != 0) {
			free(req);
			blobd_error(env, id, rc, u->size);
		}
		return;
	}
	blobd_commit(env, id, u, &d, m.size);
}

static void
blobd_blob_write(struct blobd *env, uint32_t id, const uint8_t *payload,
    uint32_t len)
{
	struct msg_blob_write	 m;
	struct digest		 d;
	int			 rc, created;

	memcpy(&m, payload, sizeof(m));
	/* proto.h: the data must be exactly size bytes.  A frame that
	 * says otherwise is malformed, and fatal like any other. */
	if (m.size != len - sizeof(m)) {
		log_warnx("berthd sent a blob write of %" PRIu64 " bytes in "
		    "a frame of %u; exiting", m.size, len);
		exit(1);
	}
	if ((rc = blobd_digest(m.digest, sizeof(m.digest), &d)) != 0) {
		blobd_error(env, id, rc, 0);
		return;
	}
	if ((rc = store_write(env->store, &d, payload + sizeof(m),
	    (size_t)m.size, &created)) != 0) {
		blobd_error(env, id, rc, 0);
		return;
	}
	blobd_committed(env, id, &d, m.size, created);
}

static void
blobd_blob_open(struct blobd *env, uint32_t id, const uint8_t *payload)
{
	struct msg_blob_ref	 m;
	struct msg_blob_opened	 r;
	struct digest		 d;
	int			 rc, fd;

	memcpy(&m, payload, sizeof(m));
	if ((rc = blobd_digest(m.digest, sizeof(m.digest), &d)) != 0 ||
	    (rc = store_open_blob(env->store, &d, &fd, &r.size)) != 0) {
		blobd_error(env, id, rc, 0);
		return;
	}
	blobd_reply(env, MSG_BLOB_OPENED, id, &r, sizeof(r), fd);
}

/* Syncs the metadata log once for every append since the last sync and
 * answers them all. */
static void
blobd_meta_flush(struct blobd *env)
{
	struct msg_meta_appended r;
	size_t			 i;
	int			 rc;

	if (env->nmeta_waits == 0)
		return;
	rc = metalog_sync(env->metalog);
	for (i = 0; i < env->nmeta_waits; i++) {
		if (rc != 0)
			blobd_error(env, env->meta_waits[i].id, rc, 0);
		else {
			r.seq = env->meta_waits[i].seq;
			blobd_reply(env, MSG_META_APPENDED,
			    env->meta_waits[i].id, &r, sizeof(r), -1);
		}
	}
	env->nmeta_waits = 0;
}

static void
blobd_meta_sync_cb(evutil_socket_t fd, short events, void *arg)
{
	blobd_meta_flush(arg);
}

static void
blobd_meta_append(struct blobd *env, uint32_t id, const uint8_t *payload,
    uint32_t len)
{
	uint64_t	 seq;
	int		 rc;

	if ((rc = metalog_append(env->metalog, payload, len, &seq)) != 0) {
		blobd_error(env, id, rc, 0);
		return;
	}
	if (env->nmeta_waits == env->meta_waits_cap) {
		env->meta_waits_cap = env->meta_waits_cap == 0 ? 64 :
		    env->meta_waits_cap * 2;
		env->meta_waits = xreallocarray(env->meta_waits,
		    env->meta_waits_cap, sizeof(*env->meta_waits));
	}
	env->meta_waits[env->nmeta_waits].id = id;
	env->meta_waits[env->nmeta_waits].seq = seq;
	env->nmeta_waits++;
	/*
	 * Group commit: the sync runs once the frames already read have been
	 * dispatched, so that they share one fdatasync.
	 */
	if (env->nmeta_waits == 1)
		event_active(env->ev_meta_sync, EV_TIMEOUT, 0);
}

static void
blobd_meta_load(struct blobd *env, uint32_t id)
{
	struct msg_meta_state	 r;
	int			 rc, fd;

	blobd_meta_flush(env);
	if ((rc = metalog_load(env->metalog, &fd, &r.len, &r.entries)) != 0) {
		blobd_error(env, id, rc, 0);
		return;
	}
	blobd_reply(env, MSG_META_STATE, id, &r, sizeof(r), fd);
}

static void
blobd_meta_compact(struct blobd *env, uint32_t id, const uint8_t *payload,
    int fd)
{
	struct msg_meta_compact	 m;
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	blobd_meta_flush(env);
	rc = metalog_compact(env->metalog, fd, m.len, m.entries);
	close(fd);
	if (rc != 0)
		blobd_error(env, id, rc, 0);
	else
		blobd_reply(env, MSG_OK, id, NULL, 0, -1);
}

static void
blobd_gc_list(struct blobd *env, uint32_t id)
{
	struct msg_gc_listing	 r;
	int			 rc, fd;

	if ((rc = gc_list(env->store, &fd, &r.count)) != 0) {
		blobd_error(env, id, rc, 0);
		return;
	}
	blobd_reply(env, MSG_GC_LISTING, id, &r, sizeof(r), fd);
}

static void
blobd_gc_sweep(struct blobd *env, uint32_t id, const uint8_t *payload,
    int fd)
{
	struct msg_gc_sweep	 m;
	struct msg_gc_swept	 r;
	int			 rc;

	memcpy(&m, payload, sizeof(m));
	rc = gc_sweep(env->store, fd, m.count, m.not_after_ms, m.dry_run != 0,
	    &r.blobs, &r.bytes);
	close(fd);
	if (rc != 0)
		blobd_error(env, id, rc, 0);
	else
		blobd_reply(env, MSG_GC_SWEPT, id, &r, sizeof(r), -1);
}

static void
blobd_stats(struct blobd *env, uint32_t id)
{
	struct msg_stats_reply	 r;

	memset(&r, 0, sizeof(r));
	r.blobs = env->store->blobs;
	r.bytes = env->store->bytes;
	r.uploads = env->uploads->count;
	r.meta_log_bytes = metalog_log_bytes(env->metalog);
	r.writable = (uint32_t)store_probe(env->store);
	blobd_reply(env, MSG_STATS_REPLY, id, &r, sizeof(r), -1);
}

void
blobd_dispatch_berthd(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct blobd	*env = arg;

	if (h->type == MSG_LOG_REOPEN) {
		/* proto.h: id 0, and no reply. */
		if (h->id != 0) {
			log_warnx("berthd sent a log reopen with id %u; "
			    "exiting", h->id);
			exit(1);
		}
		if (log_adopt_fd(fd) == -1)
			log_warn("cannot adopt the new log descriptor");
		close(fd);
		return;
	}
	/* Replies carry the request's id; 0 is the hello's. */
	if (h->id == 0) {
		log_warnx("berthd sent request type %u with id 0", h->type);
		exit(1);
	}
	switch (h->type) {
	case MSG_UPLOAD_CREATE:
		blobd_upload_create(env, h->id, payload);
		break;
	case MSG_UPLOAD_APPEND:
		blobd_upload_append(env, h->id, payload, fd);
		break;
	case MSG_UPLOAD_STAT:
		blobd_upload_stat(env, h->id, payload);
		break;
	case MSG_UPLOAD_CANCEL:
		blobd_upload_cancel(env, h->id, payload);
		break;
	case MSG_UPLOAD_COMMIT:
		blobd_upload_commit(env, h->id, payload);
		break;
	case MSG_BLOB_WRITE:
		blobd_blob_write(env, h->id, payload, h->len);
		break;
	case MSG_BLOB_OPEN:
		blobd_blob_open(env, h->id, payload);
		break;
	case MSG_META_APPEND:
		blobd_meta_append(env, h->id, payload, h->len);
		break;
	case MSG_META_LOAD:
		blobd_meta_load(env, h->id);
		break;
	case MSG_META_COMPACT:
		blobd_meta_compact(env, h->id, payload, fd);
		break;
	case MSG_GC_LIST:
		blobd_gc_list(env, h->id);
		break;
	case MSG_GC_SWEEP:
		blobd_gc_sweep(env, h->id, payload, fd);
		break;
	case MSG_STATS:
		blobd_stats(env, h->id);
		break;
	default:
		/* The rule table lets nothing else through. */
		fatalx("unexpected message type %u", h->type);
	}
}

static void
blobd_close_cb(struct rpc_chan *chan, int err, void *arg)
{
	/* Never outlive berthd. */
	if (err == 0) {
		log_info("berthd closed the channel; exiting");
		exit(0);
	}
	log_warnx("channel to berthd failed: %s; exiting", berr_message(err));
	exit(1);
}

static void
blobd_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct blobd	*env = arg;

	log_info("signal %d; exiting", (int)sig);
	event_base_loopbreak(env->base);
}

static void
blobd_expire_cb(evutil_socket_t fd, short events, void *arg)
{
	struct blobd	*env = arg;

	(void)upload_expire(env->uploads, now_sec());
}

/* Locks DIR/lock and writes our pid in it; returns the lock's fd. */
static int
blobd_lock(int dirfd, const char *dir)
{
	char	 holder[32];
	int	 fd;

	if ((fd = lockfile_take(dirfd, "lock", holder, sizeof(holder))) != -1)
		return fd;
	if (errno != EWOULDBLOCK) {
		log_warn("%s/lock", dir);
		exit(BLOBD_EXIT_CONFIG);
	}
	log_warnx("data directory %s is in use by another berth process "
	    "(pid %s)", dir, holder);
	exit(BLOBD_EXIT_LOCKED);
}

/* Creates the data directory if needed and opens it. */
static int
blobd_open_datadir(const char *dir)
{
	struct stat	 sb;
	char		*copy;
	int		 fd, created;

	created = stat(dir, &sb) == -1 && errno == ENOENT;
	if (created && mkdir_p(dir, 0750) == -1) {
		log_warn("cannot create the data directory %s", dir);
		exit(BLOBD_EXIT_CONFIG);
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("cannot open the data directory %s", dir);
		exit(BLOBD_EXIT_CONFIG);
	}
	if (created) {
		copy = xstrdup(dir);
		(void)fsync_dir(dirname(copy));
		free(copy);
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
	p.ro_dirfd = -1;
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
		{ "help",		no_argument,	   NULL, 'h' },
		{ "no-seccomp",		no_argument,	   NULL, 'S' },
		{ "upload-ttl",		required_argument, NULL, 't' },
		{ "verbose",		no_argument,	   NULL, 'v' },
		{ "version",		no_argument,	   NULL, 'V' },
		{ NULL,			0,		   NULL, 0 }
	};
	struct blobd	 env;
	struct msg_hello hello;
	const char	*datadir = NULL, *debug_socket = NULL;
	int64_t		 ttl = UPLOAD_TTL_DEFAULT;
	struct timeval	 tv;
	int		 ch, verbose = 0, seccomp = 1, sock, dirfd;

	log_init("berth-blobd", 0);
	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			datadir = optarg;
			break;
		case 's':
			debug_socket = optarg;
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
	digest_library_init();

	memset(&env, 0, sizeof(env));
	dirfd = blobd_open_datadir(datadir);
	(void)blobd_lock(dirfd, datadir);
	if ((env.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((env.store = store_new(dirfd, datadir)) == NULL ||
	    (env.uploads = upload_table_new(env.store, dirfd, env.base,
	    ttl)) == NULL ||
	    (env.metalog = metalog_new(dirfd)) == NULL) {
		log_warnx("cannot use the data directory %s", datadir);
		exit(BLOBD_EXIT_CONFIG);
	}

	sock = BLOBD_SOCKET_FD;
	if (debug_socket != NULL &&
	    (sock = rpc_debug_accept(debug_socket)) == -1)
		exit(BLOBD_EXIT_CONFIG);
	blobd_confine(dirfd, seccomp);
	close(dirfd);
	env.chan = rpc_new(env.base, sock, blobd_rules, blobd_nrules,
	    blobd_dispatch_berthd, blobd_close_cb, &env);
	if ((env.ev_meta_sync = event_new(env.base, -1, 0, blobd_meta_sync_cb,
	    &env)) == NULL ||
	    (env.ev_expire = event_new(env.base, -1, EV_PERSIST,
	    blobd_expire_cb, &env)) == NULL ||
	    (env.ev_sigterm = evsignal_new(env.base, SIGTERM, blobd_signal_cb,
	    &env)) == NULL ||
	    (env.ev_sigint = evsignal_new(env.base, SIGINT, blobd_signal_cb,
	    &env)) == NULL)
		fatalx("event_new");
	tv.tv_sec = ttl < 60 ? ttl : 60;
	tv.tv_usec = 0;
	evtimer_add(env.ev_expire, &tv);
	evsignal_add(env.ev_sigterm, NULL);
	evsignal_add(env.ev_sigint, NULL);

	hello.version = PROTOCOL_VERSION;
	hello.pid = (uint32_t)getpid();
	if (rpc_send(env.chan, MSG_HELLO, 0, &hello, sizeof(hello), -1) != 0)
		exit(1);
	log_info("ready: data directory %s, upload ttl %" PRId64 " s",
	    datadir, ttl);

	event_base_dispatch(env.base);
	exit(0);
}
