/*
 * Spawning and supervising berth-blobd.  berthd creates a socketpair,
 * forks, puts the child's end on BLOBD_SOCKET_FD, closes every other
 * descriptor but stdio and execs the worker.  The worker says hello with
 * its protocol version; then berthd loads the metadata through it.  If the
 * worker dies, requests in flight fail with BERR_UNAVAILABLE and it is
 * started again with exponential backoff; the model is reloaded from disk
 * because entries in flight may or may not have reached it.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "error.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

#define PROC_BACKOFF_MIN_MS	100
#define PROC_BACKOFF_MAX_MS	10000
#define PROC_STABLE_MS		30000
#define PROC_HELLO_TIMEOUT_MS	30000

enum proc_state { PROC_DOWN, PROC_STARTING, PROC_LOADING, PROC_UP };

static enum proc_state	 proc_state = PROC_DOWN;
static pid_t		 proc_pid = -1;
static struct rpc_chan	*proc_chan;
static struct event	*proc_ev_chld;
static struct event	*proc_ev_restart;
static int64_t		 proc_backoff_ms = PROC_BACKOFF_MIN_MS;
static int64_t		 proc_up_since;
static uint64_t		 proc_nrestarts;
static int		 proc_first_start = 1;
static int		 proc_stopping;

static void	proc_spawn(void);

int
proc_blobd_up(void)
{
	return proc_state == PROC_UP;
}

uint64_t
proc_restarts(void)
{
	return proc_nrestarts;
}

static void
proc_loaded_cb(int err, void *arg)
{
	if (err != 0) {
		if (proc_first_start)
			fatalx("cannot load the metadata: %s",
			    berr_message(err));
		log_warnx("cannot load the metadata: %s", berr_message(err));
		return;
	}
	if (proc_state == PROC_LOADING)
		proc_state = PROC_UP;
}

static void
proc_msg_cb(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct msg_hello hello;

	if (h->type != MSG_HELLO) {
		if (proc_state == PROC_STARTING)
			fatalx("berth-blobd sent message %u before hello",
			    h->type);
		blobc_dispatch(h, payload, fd);
		return;
	}
	if (proc_state != PROC_STARTING || h->id != 0)
		fatalx("berth-blobd sent a second hello");
	memcpy(&hello, payload, sizeof(hello));
	if (hello.version != PROTOCOL_VERSION)
		fatalx("berth-blobd speaks protocol %u, berthd %u: install "
		    "matching binaries", hello.version, PROTOCOL_VERSION);
	log_debug("berth-blobd %u ready", hello.pid);
	proc_state = PROC_LOADING;
	proc_up_since = mono_ms();
	blobc_attach(proc_chan);
	meta_load(proc_loaded_cb, NULL);
}

static void
proc_close_cb(struct rpc_chan *chan, int err, void *arg)
{
	if (err == BERR_FRAME)
		fatalx("berth-blobd sent a malformed message");
	/* The worker is going away; SIGCHLD does the rest. */
	blobc_detach(BERR_UNAVAILABLE);
	if (proc_pid > 0)
		(void)kill(proc_pid, SIGKILL);
	proc_state = PROC_DOWN;
}

static void
proc_restart_cb(evutil_socket_t fd, short events, void *arg)
{
	if (!proc_stopping)
		proc_spawn();
}

static void
proc_exited(int status)
{
	struct timeval	 tv;
	char		 how[64];

	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	else
		snprintf(how, sizeof(how), "was killed by signal %d",
		    WTERMSIG(status));
	if (proc_chan != NULL) {
		blobc_detach(BERR_UNAVAILABLE);
		rpc_free(proc_chan);
		proc_chan = NULL;
	}
	proc_pid = -1;
	proc_state = PROC_DOWN;
	if (proc_stopping)
		return;
	if (proc_first_start && WIFEXITED(status)) {
		switch (WEXITSTATUS(status)) {
		case BLOBD_EXIT_LOCKED:
			fatalx("data directory %s is in use by another berth "
			    "process", conf.data_dir);
		case BLOBD_EXIT_CONFIG:
			fatalx("berth-blobd refused its configuration (see "
			    "above)");
		default:
			break;
		}
	}
	if (proc_up_since != 0 && mono_ms() - proc_up_since >= PROC_STABLE_MS)
		proc_backoff_ms = PROC_BACKOFF_MIN_MS;
	log_warnx("berth-blobd %s; restarting in %lld ms", how,
	    (long long)proc_backoff_ms);
	tv.tv_sec = proc_backoff_ms / 1000;
	tv.tv_usec = (proc_backoff_ms % 1000) * 1000;
	evtimer_add(proc_ev_restart, &tv);
	proc_backoff_ms *= 2;
	if (proc_backoff_ms > PROC_BACKOFF_MAX_MS)
		proc_backoff_ms = PROC_BACKOFF_MAX_MS;
}

static void
proc_sigchld_cb(evutil_socket_t sig, short events, void *arg)
{
	pid_t	 pid;
	int	 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == proc_pid)
			proc_exited(status);
	}
}

static void
proc_child(int sock)
{
	/* Writable copies: execv takes char *const[]. */
	char	 a_name[] = "berth-blobd", a_v[] = "-v";
	char	 a_ttl[] = "--upload-ttl", a_dir[] = "--data-dir";
	char	 ttl[32], dir[PATH_MAX], *argv[16];
	int	 argc = 0, i;

	/* A worker must never outlive its parent. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (sock != BLOBD_SOCKET_FD) {
		if (dup2(sock, BLOBD_SOCKET_FD) == -1)
			_exit(127);
	} else if (fcntl(sock, F_SETFD, 0) == -1)
		_exit(127);
	closefrom(BLOBD_SOCKET_FD + 1);
	signal(SIGPIPE, SIG_DFL);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)conf.upload_ttl);
	snprintf(dir, sizeof(dir), "%s", conf.data_dir);
	argv[argc++] = a_name;
	for (i = 0; i < conf.verbose && i < 3; i++)
		argv[argc++] = a_v;
	argv[argc++] = a_ttl;
	argv[argc++] = ttl;
	argv[argc++] = a_dir;
	argv[argc++] = dir;
	argv[argc] = NULL;
	execv(conf.blobd_path, argv);
	fprintf(stderr, "berthd: cannot run %s: %s\n", conf.blobd_path,
	    strerror(errno));
	_exit(127);
}

static void
proc_spawn(void)
{
	int	 sv[2];
	pid_t	 pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	switch ((pid = fork())) {
	case -1:
		fatal("fork");
	case 0:
		close(sv[0]);
		proc_child(sv[1]);
		_exit(127);
	default:
		break;
	}
	close(sv[1]);
	proc_pid = pid;
	proc_state = PROC_STARTING;
	proc_up_since = 0;
	if (!proc_first_start)
		proc_nrestarts++;
	proc_chan = rpc_new(ev_base, sv[0], blobc_rules, blobc_nrules,
	    proc_msg_cb, proc_close_cb, NULL);
}

void
proc_start(void)
{
	int64_t	 deadline;

	proc_ev_chld = evsignal_new(ev_base, SIGCHLD, proc_sigchld_cb, NULL);
	proc_ev_restart = evtimer_new(ev_base, proc_restart_cb, NULL);
	if (proc_ev_chld == NULL || proc_ev_restart == NULL ||
	    evsignal_add(proc_ev_chld, NULL) == -1)
		fatalx("cannot set up the worker's events");
	proc_spawn();
	deadline = mono_ms() + PROC_HELLO_TIMEOUT_MS;
	while (proc_state != PROC_UP) {
		if (mono_ms() > deadline)
			fatalx("berth-blobd did not start within %d s",
			    PROC_HELLO_TIMEOUT_MS / 1000);
		if (proc_state == PROC_DOWN)
			fatalx("berth-blobd could not be started");
		event_base_loop(ev_base, EVLOOP_ONCE);
	}
	proc_first_start = 0;
}

void
proc_stop(void)
{
	int64_t	 deadline;
	int	 status;
	pid_t	 pid;

	proc_stopping = 1;
	if (proc_ev_restart != NULL)
		evtimer_del(proc_ev_restart);
	if (proc_chan != NULL) {
		(void)rpc_flush(proc_chan);
		blobc_detach(BERR_SHUTTING_DOWN);
		rpc_free(proc_chan);
		proc_chan = NULL;
	}
	if (proc_pid <= 0)
		return;
	/* blobd exits when its socket closes; give it a moment. */
	deadline = mono_ms() + 5000;
	while ((pid = waitpid(proc_pid, &status, WNOHANG)) == 0) {
		if (mono_ms() > deadline) {
			log_warnx("berth-blobd did not exit; killing it");
			(void)kill(proc_pid, SIGKILL);
			(void)waitpid(proc_pid, &status, 0);
			break;
		}
		usleep(10000);
	}
	proc_pid = -1;
	proc_state = PROC_DOWN;
}

void
proc_reopen_log(void)
{
	int	 fd;

	if (proc_chan == NULL)
		return;
	if ((fd = dup(STDERR_FILENO)) == -1) {
		log_warn("dup");
		return;
	}
	(void)rpc_send(proc_chan, MSG_LOG_REOPEN, 0, NULL, 0, fd);
}
