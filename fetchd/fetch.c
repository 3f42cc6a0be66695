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
 * The fetches berthd asks for.  A fetch is one URL: its transfer (with
 * the 401 of a registry answered once through token.c and the request
 * made again), its answer's headers sent to berthd when the final answer
 * is a 2xx, its body written into berthd's pipe (or kept for an inline
 * answer), and one MSG_FETCH_DONE that says whether the body is whole.
 *
 * The pipe sets the pace: when it is full and FETCH_PIPE_BUFFER bytes
 * wait for it here, the transfer is paused (CURL_WRITEFUNC_PAUSE) and
 * resumed when they went, so a slow store or client slows the upstream
 * down instead of filling memory here.
 *
 * The frames of berthd that start and cancel fetches are checked and
 * taken here too (fetch_rules).
 */
#include "config.h"

#include <sys/param.h>
#include <sys/queue.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "buf.h"
#include "fetchd.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

#define FETCH_MAX_CHALLENGES	8
/* A body for a pipe: curl's receive buffer (its default is 16 KiB), and
 * what collects for the pipe before the transfer pauses. */
#define FETCH_PIPE_BUFFER	(512 * 1024)
/* A header line we read at most (longer ones are cut). */
#define FETCH_HEADER_MAX	4096

struct fetch {
	TAILQ_ENTRY(fetch) entry;
	uint32_t	 id;
	uint32_t	 method;
	uint32_t	 flags;
	uint64_t	 max_bytes;
	char		*url;		/* as berthd named it */
	char		 origin[512];	/* of url: the token cache's key */
	char		*repository;	/* of a /v2/ URL, or "" */
	char		*accept;
	char		*user;		/* NULL: anonymous */
	char		*secret;
	char		*headers;	/* extra lines */
	uint8_t		*body;
	size_t		 body_len;

	CURL		*easy;
	struct curl_slist *hdr_list;
	struct token_request *token;
	int		 auth_tries;

	/* The answer being received (one per redirect or retry). */
	char		 content_type[256];
	char		 digest[DIGEST_STR_MAX];
	int64_t		 content_length;
	char		*challenges[FETCH_MAX_CHALLENGES];
	size_t		 nchallenges;
	int		 body_open;	/* a 2xx: its body is the answer */
	int		 headers_sent;

	/* Where the body goes. */
	int		 pipe;		/* -1: inline */
	struct wbuf	 inline_body;
	uint64_t	 accepted;	/* bytes taken from curl */
	uint64_t	 delivered;	/* bytes written to the pipe */
	uint8_t		*pending;	/* taken, not yet in the pipe */
	size_t		 pending_size;
	size_t		 pending_len;
	size_t		 pending_off;
	struct event	*pipe_ev;
	int		 paused;
	int		 ended;		/* curl is done; the pipe drains */
	int		 result;	/* a failure seen before the end */
	int		 status;
	char		 message[256];
};

static TAILQ_HEAD(, fetch) fetches = TAILQ_HEAD_INITIALIZER(fetches);

static void	fetch_run(struct fetch *);

static void
fetch_hop_reset(struct fetch *f)
{
	size_t	 i;

	f->content_type[0] = '\0';
	f->digest[0] = '\0';
	f->content_length = -1;
	for (i = 0; i < f->nchallenges; i++)
		free(f->challenges[i]);
	f->nchallenges = 0;
	f->body_open = 0;
}

static void
fetch_free(struct fetch *f)
{
	if (f->token != NULL)
		token_abandon(f->token);
	if (f->easy != NULL) {
		transfer_stop(f->easy);
		curl_easy_cleanup(f->easy);
	}
	curl_slist_free_all(f->hdr_list);
	fetch_hop_reset(f);
	if (f->pipe_ev != NULL)
		event_free(f->pipe_ev);
	if (f->pipe != -1)
		close(f->pipe);
	wbuf_clear(&f->inline_body);
	free(f->pending);
	free(f->url);
	free(f->repository);
	free(f->accept);
	if (f->secret != NULL)
		explicit_bzero(f->secret, strlen(f->secret));
	free(f->user);
	free(f->secret);
	free(f->headers);
	free(f->body);
	free(f);
}

/* Closes the pipe (berthd sees EOF), reports and forgets the fetch. */
static void
fetch_finish(struct fetch *f, int result, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fetch_finish(struct fetch *f, int result, const char *fmt, ...)
{
	struct msg_fetch_done	 d;
	va_list			 ap;

	if (f->pipe != -1) {
		close(f->pipe);
		f->pipe = -1;
	}
	memset(&d, 0, sizeof(d));
	d.result = result;
	d.status = f->status;
	d.bytes = f->delivered;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(d.message, sizeof(d.message), fmt, ap);
		va_end(ap);
		log_debug("fetch %u %s: %s", f->id, f->url, d.message);
	}
	if (result == FETCH_OK && f->inline_body.len > 0) {
		d.bytes = f->inline_body.len;
		d.body_len = (uint32_t)f->inline_body.len;
		fetchd_send_done(f->id, &d, f->inline_body.data,
		    f->inline_body.len);
	} else
		fetchd_send_done(f->id, &d, NULL, 0);
	TAILQ_REMOVE(&fetches, f, entry);
	fetch_free(f);
}

/* The repository of a /v2/<name>/(manifests|blobs|tags)/ path, or "". */
static char *
fetch_repository(const char *url, const char *origin)
{
	const char	*path, *end, *k;
	static const char *const kinds[] = { "/manifests/", "/blobs/",
	    "/tags/" };
	size_t		 i;

	path = strstr(url, "://");
	path = path != NULL ? strchr(path + 3, '/') : NULL;
	if (path == NULL || strncmp(path, "/v2/", 4) != 0)
		return xstrdup("");
	path += 4;
	end = NULL;
	for (i = 0; i < nitems(kinds); i++)
		if ((k = strstr(path, kinds[i])) != NULL &&
		    (end == NULL || k > end))
			end = k;
	if (end == NULL || end == path)
		return xstrdup("");
	return xstrndup(path, (size_t)(end - path));
}

static void
fetch_send_headers(struct fetch *f)
{
	struct msg_fetch_headers h;
	long		 status = 0, version = 0;

	(void)curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	(void)curl_easy_getinfo(f->easy, CURLINFO_HTTP_VERSION, &version);
	memset(&h, 0, sizeof(h));
	h.status = (int32_t)status;
	switch (version) {
	case CURL_HTTP_VERSION_1_0:
		h.http_version = 10;
		break;
	case CURL_HTTP_VERSION_2_0:
		h.http_version = 20;
		break;
	case CURL_HTTP_VERSION_3:
		h.http_version = 30;
		break;
	default:
		h.http_version = 11;
		break;
	}
	h.content_length = f->content_length;
	snprintf(h.content_type, sizeof(h.content_type), "%s",
	    f->content_type);
	snprintf(h.digest, sizeof(h.digest), "%s", f->digest);
	fetchd_send_headers(f->id, &h);
	f->headers_sent = 1;
}

/* A header value without its name and surrounding blanks, into out. */
static int
fetch_header_is(const char *line, size_t n, const char *name, char *out,
    size_t outsz)
{
	size_t	 nl = strlen(name), a, b;

	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return 0;
	a = nl + 1;
	b = n;
	while (a < b && (line[a] == ' ' || line[a] == '\t'))
		a++;
	while (b > a && (line[b - 1] == '\r' || line[b - 1] == '\n' ||
	    line[b - 1] == ' ' || line[b - 1] == '\t'))
		b--;
	if (b - a >= outsz)
		b = a + outsz - 1;
	memcpy(out, line + a, b - a);
	out[b - a] = '\0';
	return 1;
}

static size_t
fetch_header_cb(char *line, size_t size, size_t n, void *arg)
{
	struct fetch	*f = arg;
	char		 value[FETCH_HEADER_MAX];
	long		 status = 0;
	uint64_t	 len;

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		fetch_hop_reset(f);
		return n;
	}
	if (n <= 2 && (line[0] == '\r' || line[0] == '\n')) {
		(void)curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE,
		    &status);
		f->status = (int)status;
		if (status >= 200 && status < 300) {
			f->body_open = 1;
			if (!f->headers_sent)
				fetch_send_headers(f);
		}
		return n;
	}
	if (fetch_header_is(line, n, "Content-Type", value, sizeof(value)))
		snprintf(f->content_type, sizeof(f->content_type), "%s",
		    value);
	else if (fetch_header_is(line, n, "Docker-Content-Digest", value,
	    sizeof(value)))
		snprintf(f->digest, sizeof(f->digest), "%s", value);
	else if (fetch_header_is(line, n, "Content-Length", value,
	    sizeof(value)) && parse_u64(value, strlen(value), &len) == 0 &&
	    len <= INT64_MAX)
		f->content_length = (int64_t)len;
	else if (fetch_header_is(line, n, "WWW-Authenticate", value,
	    sizeof(value)) && f->nchallenges < FETCH_MAX_CHALLENGES)
		f->challenges[f->nchallenges++] = xstrdup(value);
	return n;
}

static void fetch_pipe_cb(evutil_socket_t, short, void *);

static struct event *
fetch_pipe_ev(struct fetch *f)
{
	if (f->pipe_ev == NULL && (f->pipe_ev = event_new(fetchd_base,
	    f->pipe, EV_WRITE, fetch_pipe_cb, f)) == NULL)
		fatalx("event_new");
	return f->pipe_ev;
}

/*
 * A body that goes to a pipe collects in f->pending and is written once
 * curl has handed over what it has (the pipe's event is made active: it
 * runs when curl's event callback returns), so that a write carries many
 * of curl's pieces (16 KiB each, a TLS record) rather than one: fewer
 * system calls here and fewer wake-ups of the reader.
 */
static size_t
fetch_body_cb(char *p, size_t size, size_t n, void *arg)
{
	struct fetch	*f = arg;
	size_t		 want;

	if (!f->body_open)
		return n;		/* a 401's or a redirect's page */
	if (f->pending_len >= FETCH_PIPE_BUFFER) {
		f->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (f->accepted + n > f->max_bytes) {
		f->result = FETCH_ERR_TOO_LARGE;
		return 0;
	}
	f->accepted += n;
	if (f->pipe == -1) {
		wbuf_put(&f->inline_body, p, n);
		return n;
	}
	if (f->pending_len == 0)
		event_active(fetch_pipe_ev(f), EV_WRITE, 0);
	if ((want = f->pending_len + n) > f->pending_size) {
		f->pending_size = MAX(want, FETCH_PIPE_BUFFER);
		f->pending = xreallocarray(f->pending, f->pending_size, 1);
	}
	memcpy(f->pending + f->pending_len, p, n);
	f->pending_len += n;
	return n;
}

/* Writes what is pending into the pipe; once it all went, a transfer that
 * ended finishes and a paused one goes on. */
static void
fetch_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fetch	*f = arg;
	ssize_t		 w;

	while (f->pending_off < f->pending_len) {
		w = write(f->pipe, f->pending + f->pending_off,
		    f->pending_len - f->pending_off);
		if (w == -1 && (errno == EAGAIN || errno == EINTR)) {
			event_add(fetch_pipe_ev(f), NULL);
			return;
		}
		if (w == -1) {
			/* berthd closed its end: it wants no more. */
			fetch_finish(f, FETCH_ERR_CANCELLED, "berthd closed "
			    "the pipe");
			return;
		}
		f->pending_off += (size_t)w;
		f->delivered += (uint64_t)w;
	}
	f->pending_len = f->pending_off = 0;
	if (f->ended) {
		fetch_finish(f, FETCH_OK, NULL);
		return;
	}
	if (f->paused) {
		f->paused = 0;
		/* May call fetch_body_cb at once, which may pause again. */
		(void)curl_easy_pause(f->easy, CURLPAUSE_CONT);
	}
}

static void
fetch_token_cb(int result, const char *why, void *arg)
{
	struct fetch	*f = arg;

	f->token = NULL;
	if (result != FETCH_OK) {
		fetch_finish(f, result, "%s", why != NULL ? why :
		    "authentication failed");
		return;
	}
	fetch_run(f);
}

static int
fetch_curl_result(CURLcode cc, int had_body)
{
	switch (cc) {
	case CURLE_FILESIZE_EXCEEDED:
		return FETCH_ERR_TOO_LARGE;
	case CURLE_PARTIAL_FILE:
		return FETCH_ERR_TRUNCATED;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return FETCH_ERR_INVALID;
	default:
		return had_body ? FETCH_ERR_TRUNCATED : FETCH_ERR_UNREACHABLE;
	}
}

static void
fetch_done_cb(CURL *easy, CURLcode cc, void *arg)
{
	struct fetch	*f = arg;
	long		 status = 0;

	(void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	f->status = (int)status;
	if (f->result != FETCH_OK) {
		fetch_finish(f, f->result, f->result == FETCH_ERR_TOO_LARGE ?
		    "the answer is larger than %llu bytes" : "stopped",
		    (unsigned long long)f->max_bytes);
		return;
	}
	if (cc != CURLE_OK) {
		fetch_finish(f, fetch_curl_result(cc, f->body_open),
		    "%s", curl_easy_strerror(cc));
		return;
	}
	if (status >= 200 && status < 300) {
		if (!f->headers_sent)
			fetch_send_headers(f);
		if (f->pending_len > 0) {
			/* The pipe's last bytes first. */
			f->ended = 1;
			return;
		}
		fetch_finish(f, FETCH_OK, NULL);
		return;
	}
	if (status == 401 && (f->flags & FETCH_F_REGISTRY) &&
	    f->auth_tries++ == 0) {
		f->token = token_obtain(f->origin, f->repository,
		    (const char *const *)f->challenges, f->nchallenges,
		    f->user, f->secret, fetch_token_cb, f);
		return;
	}
	switch (status) {
	case 401:
	case 403:
		fetch_finish(f, FETCH_ERR_DENIED, "the upstream answered %ld",
		    status);
		break;
	case 404:
		fetch_finish(f, FETCH_ERR_NOT_FOUND, "the upstream answered "
		    "404");
		break;
	case 429:
		fetch_finish(f, FETCH_ERR_TOO_MANY, "the upstream answered "
		    "429");
		break;
	default:
		fetch_finish(f, status >= 500 ? FETCH_ERR_UNREACHABLE :
		    FETCH_ERR_STATUS, "the upstream answered %ld", status);
		break;
	}
}

/* (Re)starts the transfer, with the cached answer to a challenge. */
static void
fetch_run(struct fetch *f)
{
	const struct curl_blob *ca;
	const char	*auth, *line, *nl;
	char		*target, *h;

	if ((target = upstream_resolve(f->url, &ca)) == NULL) {
		fetch_finish(f, FETCH_ERR_INVALID, "not an http or https URL");
		return;
	}
	if (f->easy != NULL)
		curl_easy_reset(f->easy);
	else if ((f->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	upstream_easy_setup(f->easy, ca);
	if (f->pipe != -1) {
		/*
		 * A blob: HTTP/1.1, on a connection of its own.  A stream
		 * of an HTTP/2 connection costs the upstream and us more
		 * CPU per byte (frames, flow-control windows; a Go
		 * registry's HTTP/2 server most of all) and shares the
		 * connection's window with the other blobs.
		 */
		(void)curl_easy_setopt(f->easy, CURLOPT_HTTP_VERSION,
		    (long)CURL_HTTP_VERSION_1_1);
		(void)curl_easy_setopt(f->easy, CURLOPT_BUFFERSIZE,
		    (long)FETCH_PIPE_BUFFER);
	}
	(void)curl_easy_setopt(f->easy, CURLOPT_URL, target);
	free(target);
	curl_slist_free_all(f->hdr_list);
	f->hdr_list = NULL;
	if (f->accept != NULL) {
		xasprintf(&h, "Accept: %s", f->accept);
		f->hdr_list = curl_slist_append(f->hdr_list, h);
		free(h);
	}
	if ((f->flags & FETCH_F_REGISTRY) &&
	    (auth = token_cached(f->origin, f->repository)) != NULL) {
		xasprintf(&h, "Authorization: %s", auth);
		f->hdr_list = curl_slist_append(f->hdr_list, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	for (line = f->headers; line != NULL && *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;
		h = xstrndup(line, (size_t)(nl - line));
		f->hdr_list = curl_slist_append(f->hdr_list, h);
		free(h);
	}
	/* No "Expect: 100-continue" round trip for small bodies. */
	f->hdr_list = curl_slist_append(f->hdr_list, "Expect:");
	(void)curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, f->hdr_list);
	switch (f->method) {
	case FETCH_HEAD:
		(void)curl_easy_setopt(f->easy, CURLOPT_NOBODY, 1L);
		break;
	case FETCH_POST:
		(void)curl_easy_setopt(f->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)f->body_len);
		(void)curl_easy_setopt(f->easy, CURLOPT_POSTFIELDS,
		    f->body != NULL ? (char *)f->body : "");
		break;
	default:
		break;
	}
	/* A HEAD takes no body, and curl would refuse one whose
	 * Content-Length is over the limit. */
	if (f->method != FETCH_HEAD)
		(void)curl_easy_setopt(f->easy, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)f->max_bytes);
	(void)curl_easy_setopt(f->easy, CURLOPT_HEADERFUNCTION,
	    fetch_header_cb);
	(void)curl_easy_setopt(f->easy, CURLOPT_HEADERDATA, f);
	(void)curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, fetch_body_cb);
	(void)curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	fetch_hop_reset(f);
	transfer_start(f->easy, fetch_done_cb, f);
}

static char *
fetch_field(const uint8_t **p, uint32_t len)
{
	char	*s;

	s = xstrndup((const char *)*p, len);
	*p += len;
	return s;
}

void
fetch_start(uint32_t id, const struct msg_fetch_start *m,
    const uint8_t *strings, int pipe)
{
	struct fetch	*f;
	const uint8_t	*p = strings;
	const char	*rest;
	char		*s;

	f = xcalloc(1, sizeof(*f));
	f->id = id;
	f->method = m->method;
	f->flags = m->flags;
	f->max_bytes = m->max_bytes;
	f->pipe = pipe;
	f->content_length = -1;
	wbuf_init(&f->inline_body);
	TAILQ_INSERT_TAIL(&fetches, f, entry);
	f->url = fetch_field(&p, m->url_len);
	s = fetch_field(&p, m->accept_len);
	if (*s != '\0')
		f->accept = s;
	else
		free(s);
	if (m->user_len > 0)
		f->user = fetch_field(&p, m->user_len);
	f->secret = fetch_field(&p, m->secret_len);
	f->headers = fetch_field(&p, m->headers_len);
	if (m->body_len > 0) {
		f->body = xmalloc(m->body_len);
		memcpy(f->body, p, m->body_len);
		f->body_len = m->body_len;
	}
	if (pipe != -1 && fd_set_nonblock(pipe) == -1) {
		fetch_finish(f, FETCH_ERR_INVALID, "the pipe: %s",
		    strerror(errno));
		return;
	}
	if (strlen(f->url) != m->url_len || upstream_origin(f->url,
	    f->origin, sizeof(f->origin), &rest) != 0) {
		fetch_finish(f, FETCH_ERR_INVALID, "not an http or https URL");
		return;
	}
	f->repository = fetch_repository(f->url, f->origin);
	log_debug("fetch %u: %s %s", id, f->method == FETCH_HEAD ? "HEAD" :
	    f->method == FETCH_POST ? "POST" : "GET", f->url);
	fetch_run(f);
}

void
fetch_cancel(uint32_t id)
{
	struct fetch	*f;

	TAILQ_FOREACH(f, &fetches, entry)
		if (f->id == id) {
			fetch_finish(f, FETCH_ERR_CANCELLED, "cancelled");
			return;
		}
}

void
fetch_cancel_all(void)
{
	struct fetch	*f;

	while ((f = TAILQ_FIRST(&fetches)) != NULL) {
		TAILQ_REMOVE(&fetches, f, entry);
		fetch_free(f);
	}
}

/* --- the frames of berthd ------------------------------------------------ */

/* The strings after struct msg_fetch_start add up to the frame. */
static int
fetch_check_start(const struct frame_hdr *h, const uint8_t *payload)
{
	struct msg_fetch_start	 m;
	uint64_t		 sum;

	memcpy(&m, payload, sizeof(m));
	if (m.url_len == 0 || m.url_len > FETCH_URL_MAX ||
	    m.accept_len > FETCH_FIELD_MAX || m.user_len > FETCH_FIELD_MAX ||
	    m.secret_len > FETCH_FIELD_MAX ||
	    m.headers_len > FETCH_FIELD_MAX || m.body_len > FETCH_BODY_MAX ||
	    m.method < FETCH_GET || m.method > FETCH_POST ||
	    (m.flags & ~(uint32_t)FETCH_F_REGISTRY) != 0)
		return -1;
	sum = sizeof(m) + (uint64_t)m.url_len + m.accept_len + m.user_len +
	    m.secret_len + m.headers_len + m.body_len;
	if (sum != h->len)
		return -1;
	/* Inline answers fit in one frame. */
	if ((h->flags & FRAME_F_FD) == 0 && m.max_bytes > FETCH_INLINE_MAX)
		return -1;
	return 0;
}

static void
fetch_start_cb(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	struct msg_fetch_start	 m;

	memcpy(&m, payload, sizeof(m));
	fetch_start(h->id, &m, payload + sizeof(m), fd);
}

static void
fetch_cancel_cb(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	fetch_cancel(h->id);
}

static void
fetch_log_cb(struct rpc_chan *chan, const struct frame_hdr *h,
    const uint8_t *payload, int fd, void *arg)
{
	if (log_adopt_fd(fd) == -1)
		log_warn("cannot adopt the new log descriptor");
	close(fd);
}

const struct rpc_rule fetch_rules[] = {
	{ MSG_FETCH_START, sizeof(struct msg_fetch_start),
	    FRAME_MAX_PAYLOAD, RPC_FD_OPTIONAL, RPC_ID_REQUEST,
	    fetch_check_start, fetch_start_cb },
	{ MSG_FETCH_CANCEL, 0, 0, RPC_FD_NONE, RPC_ID_REQUEST, NULL,
	    fetch_cancel_cb },
	{ MSG_FETCH_LOG_REOPEN, 0, 0, RPC_FD_REQUIRED, RPC_ID_ZERO, NULL,
	    fetch_log_cb },
};
const size_t fetch_nrules = nitems(fetch_rules);
