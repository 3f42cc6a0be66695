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
 * The HTTP server: its listening sockets (bound at once, listening only
 * once berthd may answer), accepting connections into the connection
 * table within its limit, the Date line every response carries, and the
 * graceful drain at shutdown.  A connection's life from accept to close
 * is http_conn.c's.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "error.h"
#include "log.h"
#include "util.h"
#include "http.h"
#include "http_priv.h"

#define HTTP_BACKLOG		1024
#define HTTP_REFUSED_MAX	64		/* 503s in flight at once */

static void	server_drain_cb(evutil_socket_t, short, void *);

void
http_limits_default(struct http_limits *l)
{
	l->max_header_bytes = 64 * 1024;
	l->max_headers = 100;
	l->max_uri = 8 * 1024;
	l->idle_timeout = 60;
	l->header_timeout = 30;
	l->io_timeout = 120;
	l->max_connections = 1024;
}

static const struct timeval *
server_timeout(struct http_server *srv, int seconds, struct timeval *store)
{
	const struct timeval	*common;

	if (seconds <= 0)
		return NULL;
	store->tv_sec = seconds;
	store->tv_usec = 0;
	/* Thousands of connections share a few durations: O(1) queues. */
	if ((common = event_base_init_common_timeout(srv->base, store)) !=
	    NULL)
		return common;
	return store;
}

/* Raises the descriptor limit to fit the connections, as far as the hard
 * limit lets it. */
static void
server_fd_limit(const struct http_server *srv)
{
	struct rlimit	 rl;
	rlim_t		 need;

	if (srv->limits.max_connections <= 0 ||
	    getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	/* A connection may hold a blob's descriptor or a body's pipe. */
	need = (rlim_t)srv->limits.max_connections * 2 + HTTP_REFUSED_MAX +
	    64;
	if (rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ?
	    rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < need)
		log_warnx("http: %d connections may need %llu descriptors, "
		    "more than the limit", srv->limits.max_connections,
		    (unsigned long long)need);
}

struct http_server *
http_server_new(struct event_base *base, const struct http_limits *limits,
    http_request_cb cb, void *arg)
{
	struct http_server	*srv;

	srv = xcalloc(1, sizeof(*srv));
	srv->base = base;
	if (limits != NULL)
		srv->limits = *limits;
	else
		http_limits_default(&srv->limits);
	/* http_parser_parse_url() keeps 16-bit offsets. */
	if (srv->limits.max_uri > UINT16_MAX)
		srv->limits.max_uri = UINT16_MAX;
	/* The parser has its own cap (80 KiB); keep ours the one that bites.
	 * It is process-wide, hence only ever raised. */
	if (srv->limits.max_header_bytes + 1024 > HTTP_MAX_HEADER_SIZE &&
	    srv->limits.max_header_bytes < UINT32_MAX - 1024)
		http_parser_set_max_header_size(
		    (uint32_t)srv->limits.max_header_bytes + 1024);
	server_fd_limit(srv);
	srv->cb = cb;
	srv->arg = arg;
	srv->idle_tv = server_timeout(srv, srv->limits.idle_timeout,
	    &srv->tv_store[0]);
	srv->header_tv = server_timeout(srv, srv->limits.header_timeout,
	    &srv->tv_store[1]);
	srv->io_tv = server_timeout(srv, srv->limits.io_timeout,
	    &srv->tv_store[2]);
	TAILQ_INIT(&srv->conns);
	if ((srv->drain_ev = evtimer_new(base, server_drain_cb, srv)) == NULL)
		fatalx("http: evtimer_new");
	return srv;
}

void
http_server_set_summary_cb(struct http_server *srv, http_summary_cb cb,
    void *arg)
{
	srv->summary_cb = cb;
	srv->summary_arg = arg;
}

void
http_server_set_refusal_cb(struct http_server *srv, http_refusal_cb cb,
    void *arg)
{
	srv->refusal_cb = cb;
	srv->refusal_arg = arg;
}

/* At the limit, the connection idle the longest makes room. */
static void
server_close_idle(struct http_server *srv)
{
	struct http_conn	*conn;

	TAILQ_FOREACH(conn, &srv->conns, entry) {
		if (!http_conn_idle(conn))
			continue;
		log_debug("http: %s: idle, closed for a new connection",
		    conn->peer);
		http_conn_abort(conn);
		return;
	}
}

static void
server_add_conn(struct http_server *srv, evutil_socket_t fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct http_conn	*conn;
	int			 refused;

	if (srv->limits.max_connections > 0 &&
	    srv->nconns >= (size_t)srv->limits.max_connections)
		server_close_idle(srv);
	refused = srv->limits.max_connections > 0 &&
	    srv->nconns >= (size_t)srv->limits.max_connections;
	if (refused && srv->nrefused >= HTTP_REFUSED_MAX) {
		close(fd);
		return;
	}
	if ((conn = http_conn_new(srv, fd, sa, salen)) == NULL)
		return;
	conn->refused = refused;
	TAILQ_INSERT_TAIL(&srv->conns, conn, entry);
	if (refused) {
		srv->nrefused++;
		log_debug("http: %s: too many connections, none idle",
		    conn->peer);
		http_conn_refuse(conn, BERR_UNAVAILABLE,
		    "too many connections");
	} else
		srv->nconns++;
	http_conn_process(conn);
}

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	int	 one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	server_add_conn(arg, fd, sa, salen);
}

static void
server_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server	*srv = arg;
	size_t			 i;

	if (srv->paused)
		return;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_enable(srv->listeners[i]);
}

void
http_server_pause(struct http_server *srv, int paused)
{
	size_t	 i;

	srv->paused = paused;
	for (i = 0; i < srv->nlisteners; i++) {
		if (!paused && srv->unlistened &&
		    listen(evconnlistener_get_fd(srv->listeners[i]),
		    HTTP_BACKLOG) == -1)
			fatal("http: listen");
		if (paused)
			evconnlistener_disable(srv->listeners[i]);
		else
			evconnlistener_enable(srv->listeners[i]);
	}
	if (!paused)
		srv->unlistened = 0;
}

/* Out of descriptors: stop accepting for a second rather than spin. */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct http_server	*srv = arg;
	struct timeval		 tv = { 1, 0 };
	size_t			 i;

	log_warn("http: accept");
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i]);
	evtimer_add(srv->accept_ev, &tv);
}

static void
server_close_listeners(struct http_server *srv)
{
	size_t	 i;

	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	srv->nlisteners = 0;
	if (srv->accept_ev != NULL)
		evtimer_del(srv->accept_ev);
}

/* A bound socket that does not listen yet (libevent's _new_bind always
 * listens); http_server_pause() calls listen(2) on it. */
static struct evconnlistener *
server_bind_unlistened(struct http_server *srv, const struct sockaddr *sa,
    socklen_t salen)
{
	struct evconnlistener	*l;
	int			 fd, on = 1, saved;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return NULL;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, sa, salen) == -1)
		goto fail;
	/* A backlog of 0: libevent does not call listen() itself. */
	if ((l = evconnlistener_new(srv->base, server_accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd)) == NULL)
		goto fail;
	return l;
 fail:
	saved = errno;
	close(fd);
	errno = saved;
	return NULL;
}

int
http_server_listen(struct http_server *srv, const char *addrport)
{
	struct evconnlistener	*l;
	struct addrinfo		 hints, *res;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 host[256], port[8];
	const char		*colon, *end;
	size_t			 hlen, plen, i;
	int			 error;

	if (addrport[0] == '[') {
		if ((end = strchr(addrport, ']')) == NULL || end[1] != ':')
			goto bad;
		hlen = end - addrport - 1;
		memmove(host, addrport + 1, hlen < sizeof(host) ? hlen : 0);
		colon = end + 1;
	} else {
		if ((colon = strrchr(addrport, ':')) == NULL)
			goto bad;
		hlen = colon - addrport;
		memmove(host, addrport, hlen < sizeof(host) ? hlen : 0);
	}
	if (hlen >= sizeof(host))
		goto bad;
	host[hlen] = '\0';
	plen = strlen(colon + 1);
	if (plen == 0 || plen > 5)
		goto bad;
	for (i = 0; i < plen; i++)
		if (colon[1 + i] < '0' || colon[1 + i] > '9')
			goto bad;
	memcpy(port, colon + 1, plen + 1);
	if (strtol(port, NULL, 10) > 65535)
		goto bad;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = hlen == 0 ? AF_INET : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((error = getaddrinfo(hlen == 0 ? NULL : host, port, &hints,
	    &res)) != 0) {
		log_warnx("http: %s: %s", addrport, gai_strerror(error));
		return -1;
	}
	/*
	 * Paused from the start: bound (a low port needs the privileges
	 * berthd has now) but not listening, so that clients are refused
	 * rather than queued until the server may answer.  A backlog of 0
	 * tells libevent not to call listen().
	 */
	if (srv->paused && srv->nlisteners == 0)
		srv->unlistened = 1;
	if (srv->unlistened)
		l = server_bind_unlistened(srv, res->ai_addr,
		    res->ai_addrlen);
	else
		l = evconnlistener_new_bind(srv->base, server_accept_cb, srv,
		    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
		    LEV_OPT_CLOSE_ON_EXEC, HTTP_BACKLOG, res->ai_addr,
		    (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (l == NULL) {
		log_warn("http: cannot listen on %s", addrport);
		return -1;
	}
	evconnlistener_set_error_cb(l, server_accept_error_cb);
	if (srv->paused)
		evconnlistener_disable(l);
	if (srv->accept_ev == NULL && (srv->accept_ev = evtimer_new(srv->base,
	    server_accept_resume_cb, srv)) == NULL)
		fatalx("http: evtimer_new");
	srv->listeners = xreallocarray(srv->listeners, srv->nlisteners + 1,
	    sizeof(*srv->listeners));
	srv->listeners[srv->nlisteners++] = l;
	if (srv->port == 0 && getsockname(evconnlistener_get_fd(l),
	    (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET)
			srv->port =
			    ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			srv->port =
			    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return 0;
 bad:
	log_warnx("http: %s: expected ADDR:PORT or [ADDR]:PORT", addrport);
	return -1;
}

int
http_server_port(const struct http_server *srv)
{
	return srv->port;
}

int
http_server_adopt(struct http_server *srv, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	if (evutil_make_socket_nonblocking(fd) == -1)
		return -1;
	server_add_conn(srv, fd, sa, salen);
	return 0;
}

size_t
http_server_connections(const struct http_server *srv)
{
	return srv->nconns;
}

void
http_server_date(struct http_server *srv)
{
	static const char	*days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char	*months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct timeval		 tv;
	struct tm		 tm;
	time_t			 t;
	int			 n;

	event_base_gettimeofday_cached(srv->base, &tv);
	t = tv.tv_sec;
	if (srv->date_len != 0 && t == srv->date_sec)
		return;
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	n = snprintf(srv->date, sizeof(srv->date),
	    "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n"
	    "Server: berth/%s\r\n",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    PACKAGE_VERSION);
	srv->date_len = n > 0 && (size_t)n < sizeof(srv->date) ? (size_t)n : 0;
	srv->date_sec = t;
}

static void
server_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server	*srv = arg;
	struct http_conn	*conn, *next;
	void			(*done)(void *);

	if (srv->nconns + srv->nrefused != 0) {
		log_info("http: closing %zu connections still busy",
		    srv->nconns + srv->nrefused);
		for (conn = TAILQ_FIRST(&srv->conns); conn != NULL;
		    conn = next) {
			next = TAILQ_NEXT(conn, entry);
			http_conn_abort(conn);
		}
	}
	if ((done = srv->drain_done) != NULL) {
		srv->drain_done = NULL;
		done(srv->drain_arg);
	}
}

void
http_server_drain(struct http_server *srv, int timeout,
    void (*done)(void *), void *arg)
{
	struct http_conn	*conn, *next;
	struct timeval		 tv = { timeout > 0 ? timeout : 0, 0 };

	srv->draining = 1;
	srv->drain_done = done;
	srv->drain_arg = arg;
	server_close_listeners(srv);
	for (conn = TAILQ_FIRST(&srv->conns); conn != NULL; conn = next) {
		next = TAILQ_NEXT(conn, entry);
		http_conn_drain(conn);
	}
	if (srv->nconns + srv->nrefused == 0)
		event_active(srv->drain_ev, EV_TIMEOUT, 1);
	else
		evtimer_add(srv->drain_ev, &tv);
}

void
http_server_free(struct http_server *srv)
{
	struct http_conn	*conn;

	if (srv == NULL)
		return;
	server_close_listeners(srv);
	while ((conn = TAILQ_FIRST(&srv->conns)) != NULL) {
		TAILQ_REMOVE(&srv->conns, conn, entry);
		http_conn_detach(conn);
	}
	if (srv->accept_ev != NULL)
		event_free(srv->accept_ev);
	event_free(srv->drain_ev);
	free(srv->listeners);
	free(srv);
}
