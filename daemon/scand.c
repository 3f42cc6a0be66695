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
 * berth-scand: the image scanner.  berthd's spawner starts it with its
 * end of a socketpair on SCAND_SOCKET_FD (scanproto.h); berthd sends the
 * layers of an image as read-only descriptors and asks for a scan, and
 * scand answers with the image's packages and the advisories that
 * affect them.
 *
 * scand itself never reads a layer.  Each scan runs in a process forked
 * for it (scan_child.c) that confines itself before it touches the
 * bytes; scand only waits for its report, kills it at the time limit and
 * checks the report as strictly as anything from outside.  What scand
 * does hold is the vulnerability database, loaded from the --vuln-db
 * directory at start-up and again on MSG_SCAN_DB_RELOAD (berthd sends
 * one on SIGHUP); after start-up it can read nothing but that directory
 * and make no socket.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "error.h"
#include "log.h"
#include "rpc.h"
#include "sandbox.h"
#include "scan.h"
#include "util.h"

/* A report larger than this is no honest child's. */
#define REPORT_MAX		(256u * 1024 * 1024)
/* Scans waiting or running at once. */
#define JOBS_MAX		64
/* Findings reported for one image at most. */
#define FINDINGS_MAX		100000
/* What one scan's process may write to the log; the rest is dropped. */
#define CHILD_LOG_MAX		(64u * 1024)

struct scan_job {
	TAILQ_ENTRY(scan_job)	 entry;
	struct scand		*env;
	uint32_t		 id;
	struct scan_layer	 layers[SCAN_LAYERS_MAX];
	uint32_t		 nlayers;
	int			 ready;		/* MSG_SCAN_RUN received */
	pid_t			 pid;		/* -1: not started */
	int			 out;		/* the child's report pipe */
	struct event		*ev_out;
	int			 err;		/* the child's stderr, a pipe */
	struct event		*ev_err;
	size_t			 logged;	/* bytes of it relayed */
	struct event		*ev_timeout;
	struct wbuf		 report;
	int			 timed_out;
	int64_t			 started;	/* mono_ms() */
};
TAILQ_HEAD(scan_jobs, scan_job);

struct scand {
	struct event_base	*base;
	struct rpc_chan		*chan;
	struct scand_config	 cf;
	struct scan_jobs	 jobs;
	size_t			 njobs, running;
	const char		*db_path;	/* NULL: no database */
	int			 db_fd;
	struct osv_db		*db;
	uint64_t		 db_generation;
	uint64_t		 db_skipped;
	uint32_t		 db_load_ms;	/* the last load's time */
	int			 db_loaded;
	struct event		*ev_sigterm, *ev_sigint;
};

static const struct rpc_rule scand_rules[] = {
	{ MSG_SCAN_LAYER, sizeof(struct msg_scan_layer),
	    sizeof(struct msg_scan_layer), RPC_FD_REQUIRED },
	{ MSG_SCAN_RUN, sizeof(struct msg_scan_run),
	    sizeof(struct msg_scan_run), RPC_FD_NONE },
	{ MSG_SCAN_DB_RELOAD, 0, 0, RPC_FD_NONE },
};

static const char scand_options[] =
    "  -v, --verbose          more log output (repeat for debugging)\n"
    "      --vuln-db dir      directory of OSV advisories (JSON files)\n"
    "      --jobs n           scans run at once (default 1)\n"
    "      --scan-timeout s   seconds one scan may take (default 300)\n"
    "      --scan-memory mb   memory one scan may use, MiB (default 2048)\n"
    "      --max-unpacked mb  bytes an image's layers may unpack to, MiB\n"
    "                         (default 65536)\n"
    "      --debug-socket path  serve one connection on a UNIX socket\n"
    "      --no-seccomp       no seccomp filter (for debugging)\n"
    "  -h, --help             this help\n"
    "  -V, --version          the version\n";

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr, "usage: berth-scand [-v] "
	    "[--debug-socket path] [--jobs n] [--max-unpacked mb]\n"
	    "                   [--no-seccomp] [--scan-memory mb] "
	    "[--scan-timeout s] [--vuln-db dir]\n");
	if (status == 0)
		fprintf(stdout, "\n%s", scand_options);
	exit(status);
}

/* --- the database -------------------------------------------------------- */

/* Loads the directory into a new database; the old one stays on failure. */
static int
scand_db_load(struct scand *env, uint32_t *ms)
{
	struct osv_db	*db;
	size_t		 skipped;
	int64_t		 t0 = mono_ms();

	*ms = 0;
	if (env->db_path == NULL)
		return 0;
	db = osv_db_new();
	if (osv_db_load_dir(db, env->db_fd, &skipped) == -1) {
		log_warn("vulnerability database %s", env->db_path);
		osv_db_free(db);
		env->db_loaded = 0;
		return -1;
	}
	osv_db_finish(db);
	osv_db_free(env->db);
	env->db = db;
	env->db_generation++;
	env->db_skipped = skipped;
	env->db_loaded = 1;
	*ms = env->db_load_ms = (uint32_t)(mono_ms() - t0);
	log_info("vulnerability database %s: %zu advisories (%zu files "
	    "skipped), loaded in %u ms", env->db_path, osv_db_advisories(db),
	    skipped, *ms);
	return 0;
}

static void
scand_db_state(struct scand *env, uint32_t id)
{
	struct msg_scan_db_state st;

	memset(&st, 0, sizeof(st));
	st.advisories = env->db != NULL ? osv_db_advisories(env->db) : 0;
	st.skipped = env->db_skipped;
	st.generation = env->db_generation;
	st.updated_at = env->db != NULL ? osv_db_updated_at(env->db) : 0;
	st.loaded = env->db_loaded;
	st.load_ms = env->db_load_ms;
	(void)rpc_send(env->chan, MSG_SCAN_DB_STATE, id, &st, sizeof(st), -1);
}

/* --- jobs ---------------------------------------------------------------- */

static void	scand_start_jobs(struct scand *);

static struct scan_job *
scand_job_find(struct scand *env, uint32_t id)
{
	struct scan_job	*j;

	TAILQ_FOREACH(j, &env->jobs, entry)
		if (j->id == id)
			return j;
	return NULL;
}

static void
scan_job_free(struct scan_job *j)
{
	uint32_t	 i;

	TAILQ_REMOVE(&j->env->jobs, j, entry);
	j->env->njobs--;
	for (i = 0; i < j->nlayers; i++)
		if (j->layers[i].fd != -1)
			close(j->layers[i].fd);
	if (j->ev_out != NULL)
		event_free(j->ev_out);
	if (j->ev_timeout != NULL)
		event_free(j->ev_timeout);
	if (j->out != -1)
		close(j->out);
	if (j->ev_err != NULL)
		event_free(j->ev_err);
	if (j->err != -1)
		close(j->err);
	wbuf_clear(&j->report);
	free(j);
}

struct result_ctx {
	struct wbuf		*records;
	struct msg_scan_result	*res;
};

static void
scand_finding_cb(const struct scan_finding *f, void *arg)
{
	struct result_ctx	*ctx = arg;

	if (ctx->res->nfindings >= FINDINGS_MAX)
		return;
	scan_report_finding(ctx->records, f);
	ctx->res->nfindings++;
	ctx->res->counts[f->severity]++;
}

/* Matches a complete inventory and writes the records. */
static void
scand_result_complete(struct scand *env, const struct scan_inventory *inv,
    struct msg_scan_result *res, struct wbuf *records)
{
	struct result_ctx	 ctx = { records, res };
	const char		*eco;
	char			 release[32];
	size_t			 i;

	if (inv->have_os)
		scan_report_os(records, &inv->os);
	for (i = 0; i < inv->packages.len; i++)
		scan_report_package(records, &inv->packages.v[i]);
	res->npackages = (uint32_t)inv->packages.len;
	if (env->db == NULL) {
		snprintf(res->description, sizeof(res->description),
		    "The scan was completed, but berth has no vulnerability "
		    "database loaded (see --vuln-db): %u package%s found, "
		    "none checked.", res->npackages,
		    res->npackages == 1 ? "" : "s");
		return;
	}
	(void)osv_match(env->db, inv, scand_finding_cb, &ctx);
	if (!inv->have_os ||
	    osv_os_ecosystem(&inv->os, &eco, release, sizeof(release)) == -1)
		snprintf(res->description, sizeof(res->description),
		    "The scan was completed, but the vulnerability database "
		    "has no advisories for this operating system (%s).",
		    inv->have_os ? inv->os.pretty_name[0] != '\0' ?
		    inv->os.pretty_name : inv->os.id : "unknown");
	else
		snprintf(res->description, sizeof(res->description),
		    "The scan was completed successfully.");
	res->db_updated_at = osv_db_updated_at(env->db);
}

/* The child's report (or its absence) into MSG_SCAN_RESULT. */
static void
scand_job_finish(struct scan_job *j, int wstatus, const struct rusage *ru)
{
	struct scand		*env = j->env;
	struct msg_scan_result	 res;
	struct scan_inventory	 inv;
	struct scan_stats	 stats;
	struct wbuf		 records;
	char			 why[SCAN_DESCRIPTION_MAX];
	int			 status, fd, n;

	memset(&res, 0, sizeof(res));
	memset(&stats, 0, sizeof(stats));
	memset(&inv, 0, sizeof(inv));
	wbuf_init(&records);
	res.db_generation = env->db_generation;
	if (j->timed_out) {
		res.status = SCAN_STATUS_FAILED;
		snprintf(res.description, sizeof(res.description), "The scan "
		    "took longer than %d seconds, the scanner's limit.",
		    env->cf.timeout_sec);
	} else if (j->report.len > REPORT_MAX ||
	    scan_report_child_decode(j->report.data, j->report.len, &status,
	    &stats, why, sizeof(why), &inv) == -1) {
		res.status = SCAN_STATUS_FAILED;
		if (WIFSIGNALED(wstatus))
			snprintf(res.description, sizeof(res.description),
			    "The scanner's process for this image was ended "
			    "by signal %d (memory or CPU limit, or a "
			    "malformed layer).", WTERMSIG(wstatus));
		else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0)
			snprintf(res.description, sizeof(res.description),
			    "The scanner's process for this image failed "
			    "(exit status %d): the image's layers could not "
			    "be read within the scanner's limits.",
			    WEXITSTATUS(wstatus));
		else
			snprintf(res.description, sizeof(res.description),
			    "The scanner's process for this image sent a "
			    "malformed report.");
	} else {
		res.status = (uint32_t)status;
		res.layer_bytes = stats.compressed;
		res.unpacked_bytes = stats.unpacked;
		if (status == SCAN_STATUS_COMPLETE)
			scand_result_complete(env, &inv, &res, &records);
		else if (status == SCAN_STATUS_UNSUPPORTED) {
			/* ECR's error name and words, then ours (cut to
			 * fit: a description is informative). */
			n = snprintf(res.description, sizeof(res.description),
			    "UnsupportedImageError: The operating system and/or "
			    "package manager are not supported. ");
			snprintf(res.description + n, sizeof(res.description) -
			    (size_t)n, "%.*s", (int)(sizeof(res.description) -
			    (size_t)n - 1), why);
		}
		else
			snprintf(res.description, sizeof(res.description),
			    "%s", why);
	}
	scan_inventory_clear(&inv);
	res.elapsed_ms = (uint32_t)(mono_ms() - j->started);
	res.cpu_ms = (uint32_t)((ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) *
	    1000 + (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000);
	log_info("scan %u: %s in %u ms (%u ms of CPU), %" PRIu64 " layer "
	    "bytes, %u packages, %u findings%s%s", j->id,
	    res.status == SCAN_STATUS_COMPLETE ? "complete" :
	    res.status == SCAN_STATUS_UNSUPPORTED ? "unsupported" : "failed",
	    res.elapsed_ms, res.cpu_ms, res.layer_bytes, res.npackages, res.nfindings,
	    res.status != SCAN_STATUS_COMPLETE ? ": " : "",
	    res.status != SCAN_STATUS_COMPLETE ? res.description : "");

	if ((fd = anon_file("berth-scan-result")) == -1 ||
	    write_full(fd, records.data, records.len) == -1 ||
	    lseek(fd, 0, SEEK_SET) == -1)
		fatal("scan result");
	(void)rpc_send(env->chan, MSG_SCAN_RESULT, j->id, &res, sizeof(res),
	    fd);
	wbuf_clear(&records);
	env->running--;
	scan_job_free(j);
	scand_start_jobs(env);
}

/*
 * Copies what the child logged to scand's own stderr, at most
 * CHILD_LOG_MAX bytes a scan.  The child's stderr is this pipe, not the
 * log file: the child may not write a file (RLIMIT_FSIZE is 0, so a write
 * to a log file would kill it with SIGXFSZ), and a hostile layer must not
 * be able to fill the log.  Reads at most max times (a child writing
 * without end must not hold the loop); 0 at the end of the pipe.
 */
static int
scand_job_relay(struct scan_job *j, int max)
{
	uint8_t		 buf[4096];
	ssize_t		 n;
	size_t		 room;

	while (max-- > 0) {
		if ((n = read(j->err, buf, sizeof(buf))) == -1 &&
		    errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 1;
		if (n <= 0)
			return 0;
		room = CHILD_LOG_MAX - j->logged;
		if ((size_t)n > room)
			n = (ssize_t)room;
		if (n > 0)
			(void)write_full(STDERR_FILENO, buf, (size_t)n);
		j->logged += (size_t)n;
	}
	return 1;
}

static void
scand_job_err_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_job	*j = arg;

	if (scand_job_relay(j, 16) == 0)
		event_del(j->ev_err);
}

/* Collects the child's exit status once its report has ended. */
static void
scand_job_reap(struct scan_job *j)
{
	struct rusage	 ru;
	int		 wstatus = 0;
	pid_t		 r;

	memset(&ru, 0, sizeof(ru));
	/* The pipe is closed: an honest child is exiting.  One that is
	 * not has nothing more to say. */
	if ((r = wait4(j->pid, &wstatus, WNOHANG, &ru)) == 0) {
		(void)kill(-j->pid, SIGKILL);
		r = wait4(j->pid, &wstatus, 0, &ru);
		if (!j->timed_out && WIFSIGNALED(wstatus) &&
		    WTERMSIG(wstatus) == SIGKILL)
			wstatus = 0;
	}
	if (r == -1)
		wstatus = 0;
	/* The child is gone: what it logged is in the pipe (64 KiB). */
	(void)scand_job_relay(j, 64);
	scand_job_finish(j, wstatus, &ru);
}

static void
scand_job_out_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_job	*j = arg;
	uint8_t		 buf[65536];
	ssize_t		 n;

	n = read(fd, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0 && j->report.len <= REPORT_MAX) {
		wbuf_put(&j->report, buf, (size_t)n);
		return;
	}
	if (n > 0) {
		/* Over the limit: stop listening, the child dies. */
		(void)kill(-j->pid, SIGKILL);
	}
	scand_job_reap(j);
}

static void
scand_job_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_job	*j = arg;

	log_warnx("scan %u: over %d seconds; killing pid %ld", j->id,
	    j->env->cf.timeout_sec, (long)j->pid);
	j->timed_out = 1;
	(void)kill(-j->pid, SIGKILL);
}

static void
scand_job_start(struct scand *env, struct scan_job *j)
{
	struct timeval	 tv;
	int		 p[2], e[2];
	uint32_t	 i;

	if (pipe2(p, O_CLOEXEC) == -1 || pipe2(e, O_CLOEXEC) == -1)
		fatal("pipe2");
	j->started = mono_ms();
	if ((j->pid = fork()) == -1)
		fatal("fork");
	if (j->pid == 0) {
		close(p[0]);
		close(e[0]);
		if (dup2(e[1], STDERR_FILENO) == -1)
			_exit(1);
		close(e[1]);
		scan_child_main(&env->cf, p[1], j->layers, j->nlayers);
	}
	/* Both sides set the group, so that a kill never misses it. */
	(void)setpgid(j->pid, j->pid);
	close(p[1]);
	close(e[1]);
	j->err = e[0];
	(void)fd_set_nonblock(j->err);
	/* The child has its own copies. */
	for (i = 0; i < j->nlayers; i++) {
		close(j->layers[i].fd);
		j->layers[i].fd = -1;
	}
	j->out = p[0];
	(void)fd_set_nonblock(j->out);
	if ((j->ev_out = event_new(env->base, j->out, EV_READ | EV_PERSIST,
	    scand_job_out_cb, j)) == NULL ||
	    (j->ev_err = event_new(env->base, j->err, EV_READ | EV_PERSIST,
	    scand_job_err_cb, j)) == NULL ||
	    (j->ev_timeout = evtimer_new(env->base, scand_job_timeout_cb,
	    j)) == NULL)
		fatalx("event_new");
	event_add(j->ev_out, NULL);
	event_add(j->ev_err, NULL);
	tv.tv_sec = env->cf.timeout_sec;
	tv.tv_usec = 0;
	evtimer_add(j->ev_timeout, &tv);
	env->running++;
	log_debug("scan %u: %u layers, pid %ld", j->id, j->nlayers,
	    (long)j->pid);
}

static void
scand_start_jobs(struct scand *env)
{
	struct scan_job	*j;

	TAILQ_FOREACH(j, &env->jobs, entry) {
		if (env->running >= (size_t)env->cf.jobs)
			return;
		if (j->ready && j->pid == -1)
			scand_job_start(env, j);
	}
}

static struct scan_job *
scand_job_new(struct scand *env, uint32_t id)
{
	struct scan_job	*j;

	if (env->njobs >= JOBS_MAX)
		return NULL;
	j = xcalloc(1, sizeof(*j));
	j->env = env;
	j->id = id;
	j->pid = -1;
	j->out = -1;
	j->err = -1;
	wbuf_init(&j->report);
	TAILQ_INSERT_TAIL(&env->jobs, j, entry);
	env->njobs++;
	return j;
}

static void
scand_error(struct scand *env, uint32_t id, int code)
{
	struct msg_scan_error	 e;

	memset(&e, 0, sizeof(e));
	e.code = code;
	(void)rpc_send(env->chan, MSG_SCAN_ERROR, id, &e, sizeof(e), -1);
}

/* --- berthd's requests --------------------------------------------------- */

/*
 * A layer packed inside a larger file of blobd's: its bytes copied into a
 * memfd of their own, so that the scan reads it as it reads any layer,
 * from its start to its end.  Takes fd; the copy, or -1.
 */
static int
scand_layer_segment(int fd, uint64_t offset, uint64_t size)
{
	uint8_t		 buf[64 * 1024];
	uint64_t	 done = 0;
	ssize_t		 n;
	size_t		 want;
	int		 out;

	if (size > SCAN_LAYER_SEGMENT_MAX || offset > INT64_MAX - size ||
	    (out = anon_file("berth-scan-layer")) == -1) {
		close(fd);
		return -1;
	}
	while (done < size) {
		want = size - done < sizeof(buf) ? (size_t)(size - done) :
		    sizeof(buf);
		n = pread(fd, buf, want, (off_t)(offset + done));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || write_full(out, buf, (size_t)n) == -1)
			break;
		done += (uint64_t)n;
	}
	close(fd);
	if (done != size || lseek(out, 0, SEEK_SET) == -1) {
		log_warnx("cannot copy a packed layer (%" PRIu64 " of %"
		    PRIu64 " bytes)", done, size);
		close(out);
		return -1;
	}
	return out;
}

/*
 * berthd numbers its requests; the layers of a scan come in order before
 * its MSG_SCAN_RUN.  A request that breaks this is answered with
 * MSG_SCAN_ERROR (BERR_BAD_REQUEST), and its layers are dropped.
 */
static void
scand_dispatch_berthd(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct scand		*env = arg;
	struct scan_job		*j;
	struct msg_scan_layer	 l;
	struct msg_scan_run	 run;
	uint32_t		 ms;

	j = h->id != 0 ? scand_job_find(env, h->id) : NULL;
	switch (h->type) {
	case MSG_SCAN_LAYER:
		memcpy(&l, payload, sizeof(l));
		if (h->id == 0 || (j == NULL &&
		    (j = scand_job_new(env, h->id)) == NULL)) {
			close(fd);
			scand_error(env, h->id, BERR_TOO_MANY_REQUESTS);
			return;
		}
		if (j->ready || l.index != j->nlayers ||
		    j->nlayers >= SCAN_LAYERS_MAX ||
		    l.media < SCAN_MEDIA_TAR || l.media >= SCAN_MEDIA__MAX) {
			close(fd);
			if (!j->ready)
				scan_job_free(j);
			scand_error(env, h->id, BERR_BAD_REQUEST);
			return;
		}
		if (l.offset != 0 &&
		    (fd = scand_layer_segment(fd, l.offset, l.size)) == -1) {
			scan_job_free(j);
			scand_error(env, h->id, BERR_IO);
			return;
		}
		j->layers[j->nlayers].fd = fd;
		j->layers[j->nlayers].media = l.media;
		j->nlayers++;
		return;
	case MSG_SCAN_RUN:
		memcpy(&run, payload, sizeof(run));
		if (h->id == 0 || (j != NULL && j->ready) ||
		    run.nlayers != (j != NULL ? j->nlayers : 0)) {
			if (j != NULL && !j->ready)
				scan_job_free(j);
			scand_error(env, h->id, BERR_BAD_REQUEST);
			return;
		}
		if (j == NULL && (j = scand_job_new(env, h->id)) == NULL) {
			scand_error(env, h->id, BERR_TOO_MANY_REQUESTS);
			return;
		}
		j->ready = 1;
		scand_start_jobs(env);
		return;
	case MSG_SCAN_DB_RELOAD:
		(void)scand_db_load(env, &ms);
		scand_db_state(env, h->id);
		return;
	default:
		if (fd != -1)
			close(fd);
		return;
	}
}

static void
scand_close_cb(struct rpc_chan *chan, int err, void *arg)
{
	/* Never outlive berthd; children die with us (PDEATHSIG). */
	if (err == 0) {
		log_info("berthd closed the channel; exiting");
		exit(0);
	}
	log_warnx("malformed frame from berthd; exiting");
	exit(1);
}

static void
scand_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d; exiting", (int)sig);
	exit(0);
}

/*
 * After start-up scand reads only beneath the database directory, makes
 * no socket and no TCP connection, and signals only its own children.
 */
static void
scand_confine(struct scand *env)
{
	struct sandbox_policy	 p;
	const char		*db[2] = { env->db_path, NULL };

	memset(&p, 0, sizeof(p));
	p.rw_dirfd = -1;
	p.ro_paths = db;
	p.deny_tcp = 1;
	p.scope_signals = 1;
	p.scope_abstract_unix = 1;
	p.deny_sockets = env->cf.seccomp;
	if (sandbox_apply(&p) == -1)
		fatalx("cannot confine berth-scand");
}

static int
parse_mib(const char *flag, const char *s, uint64_t *out)
{
	uint64_t	 v;

	if (parse_u64(s, strlen(s), &v) == -1 || v == 0 ||
	    v > UINT64_MAX / (1024 * 1024)) {
		fprintf(stderr, "berth-scand: %s: %s: not a positive number "
		    "of MiB\n", flag, s);
		exit(SCAND_EXIT_CONFIG);
	}
	*out = v * 1024 * 1024;
	return 0;
}

static int
parse_int(const char *flag, const char *s, int max)
{
	uint64_t	 v;

	if (parse_u64(s, strlen(s), &v) == -1 || v == 0 || v > (uint64_t)max) {
		fprintf(stderr, "berth-scand: %s: %s: not a number from 1 to "
		    "%d\n", flag, s, max);
		exit(SCAND_EXIT_CONFIG);
	}
	return (int)v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "debug-socket",	required_argument, NULL, 's' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ "jobs",		required_argument, NULL, 'j' },
		{ "max-unpacked",	required_argument, NULL, 'u' },
		{ "no-seccomp",		no_argument,	   NULL, 'S' },
		{ "scan-memory",	required_argument, NULL, 'm' },
		{ "scan-timeout",	required_argument, NULL, 't' },
		{ "verbose",		no_argument,	   NULL, 'v' },
		{ "version",		no_argument,	   NULL, 'V' },
		{ "vuln-db",		required_argument, NULL, 'D' },
		{ NULL,			0,		   NULL, 0 }
	};
	struct scand		 env;
	struct msg_scan_hello	 hello;
	const char		*debug_socket = NULL;
	uint32_t		 ms;
	long			 np;
	int			 ch, verbose = 0, sock;

	log_init("berth-scand", 0);
	memset(&env, 0, sizeof(env));
	TAILQ_INIT(&env.jobs);
	env.db_fd = -1;
	env.cf.seccomp = 1;
	env.cf.jobs = 1;
	env.cf.timeout_sec = 300;
	env.cf.memory = 2048ULL * 1024 * 1024;
	env.cf.limits.max_file = 256ULL * 1024 * 1024;
	env.cf.limits.max_unpacked = 65536ULL * 1024 * 1024;
	env.cf.limits.max_entries = 10000000;
	/* A scan reads its layers side by side, one per CPU (up to 4). */
	np = sysconf(_SC_NPROCESSORS_ONLN);
	env.cf.limits.threads = np < 1 ? 1 : np > 4 ? 4 : (int)np;
	while ((ch = getopt_long(argc, argv, "hvV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D':
			env.db_path = optarg;
			break;
		case 'j':
			env.cf.jobs = parse_int("--jobs", optarg, 64);
			break;
		case 'm':
			parse_mib("--scan-memory", optarg, &env.cf.memory);
			break;
		case 's':
			debug_socket = optarg;
			break;
		case 'S':
			env.cf.seccomp = 0;
			break;
		case 't':
			env.cf.timeout_sec = parse_int("--scan-timeout",
			    optarg, 86400);
			break;
		case 'u':
			parse_mib("--max-unpacked", optarg,
			    &env.cf.limits.max_unpacked);
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("berth-scand %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(0);
		default:
			usage(SCAND_EXIT_CONFIG);
		}
	}
	if (optind != argc)
		usage(SCAND_EXIT_CONFIG);
	log_init("berth-scand", LOG_LVL_INFO + verbose);

	if (debug_socket == NULL && !rpc_is_socket(SCAND_SOCKET_FD)) {
		fprintf(stderr, "berth-scand is started by berthd; to run it "
		    "by hand for debugging use --debug-socket PATH\n");
		exit(SCAND_EXIT_CONFIG);
	}
	if (debug_socket == NULL)
		(void)fd_set_cloexec(SCAND_SOCKET_FD);
	signal(SIGPIPE, SIG_IGN);
	/* berthd decides when the database is reloaded. */
	signal(SIGHUP, SIG_IGN);

	if (env.db_path != NULL) {
		if ((env.db_fd = open(env.db_path, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1) {
			log_warn("--vuln-db %s", env.db_path);
			exit(SCAND_EXIT_CONFIG);
		}
		if (scand_db_load(&env, &ms) == -1)
			exit(SCAND_EXIT_CONFIG);
	}
	if ((env.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	sock = SCAND_SOCKET_FD;
	if (debug_socket != NULL &&
	    (sock = rpc_debug_accept(debug_socket)) == -1)
		exit(SCAND_EXIT_CONFIG);
	scand_confine(&env);
	env.chan = rpc_new(env.base, sock, scand_rules, nitems(scand_rules),
	    scand_dispatch_berthd, scand_close_cb, &env);
	if ((env.ev_sigterm = evsignal_new(env.base, SIGTERM, scand_signal_cb,
	    &env)) == NULL ||
	    (env.ev_sigint = evsignal_new(env.base, SIGINT, scand_signal_cb,
	    &env)) == NULL)
		fatalx("event_new");
	evsignal_add(env.ev_sigterm, NULL);
	evsignal_add(env.ev_sigint, NULL);

	hello.version = SCAN_PROTOCOL_VERSION;
	hello.pid = (uint32_t)getpid();
	if (rpc_send(env.chan, MSG_SCAN_HELLO, 0, &hello, sizeof(hello),
	    -1) != 0)
		exit(1);
	scand_db_state(&env, 0);
	log_info("ready: %s, %d scan%s at once, %d s and %" PRIu64 " MiB "
	    "per scan", env.db_path != NULL ? env.db_path :
	    "no vulnerability database", env.cf.jobs,
	    env.cf.jobs == 1 ? "" : "s", env.cf.timeout_sec,
	    env.cf.memory / (1024 * 1024));
	event_base_dispatch(env.base);
	exit(0);
}
