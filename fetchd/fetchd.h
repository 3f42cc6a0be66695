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
 * berth-fetchd: the only berth process that talks to the network.  berthd
 * is confined (it cannot connect TCP sockets) and berth-blobd has no
 * network at all, so fetches from upstream registries for the
 * pull-through cache happen here, with libcurl driven by libevent through
 * curl's multi-socket interface.  berthd asks for a URL over the socket
 * of fetch_proto.h and gets the answer's headers and then its body in a
 * pipe it passed (or inline, for small answers).
 *
 * This process holds no registry state and reaches no file: the CA
 * certificates it trusts are read at start-up, before it confines itself,
 * and upstream credentials come with each request.
 */
#ifndef FETCHD_H
#define FETCHD_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "fetch_proto.h"
#include "rpc.h"

struct event_base;

/* --- the process (fetchd.c) ---------------------------------------------- */

extern struct event_base	*fetchd_base;

/* Answers to berthd; a failure to send means berthd is gone (the loop
 * ends when the channel closes). */
void	fetchd_send_headers(uint32_t id, const struct msg_fetch_headers *);
void	fetchd_send_done(uint32_t id, const struct msg_fetch_done *,
	    const void *body, size_t len);

/* --- libcurl on libevent (transfer.c) ------------------------------------ */

typedef void (*transfer_done_cb)(CURL *, CURLcode, void *arg);

/* Sets up the multi handle on base; 0 or -1 (logged). */
int	transfer_init(struct event_base *);
void	transfer_shutdown(void);
/* Runs easy; done is called once, from the event loop, when it ends
 * (never from inside transfer_start).  The caller keeps owning easy. */
void	transfer_start(CURL *, transfer_done_cb, void *arg);
/* Stops a transfer that has not ended; done is not called. */
void	transfer_stop(CURL *);
/* Transfers running now. */
size_t	transfer_running(void);

/* --- upstreams: where a URL goes, what it trusts (upstream.c) ------------ */

/*
 * --upstream-map FROM=TO[,CA_FILE]: requests for the origin FROM
 * (scheme://host[:port], https when no scheme is given) go to TO instead,
 * trusting CA_FILE's certificates besides the system's.  0, or -1 with a
 * message on stderr.
 */
int	upstream_map_add(const char *arg);
/* Reads the system's CA bundle and every map's CA file; before the
 * sandbox.  0, or -1 (logged) when a named CA file cannot be read. */
int	upstream_load_cas(void);
/*
 * The URL to fetch for url and the PEM certificates to trust there (the
 * system's, plus the map's CA when one applies); *ca stays valid until
 * exit.  Returns a new string, or NULL when url is not an http or https
 * URL berth-fetchd can parse.
 */
char	*upstream_resolve(const char *url, const struct curl_blob **ca);
/* The PEM certificates of the map of url's origin, or NULL when no map
 * names it. */
const struct curl_blob *upstream_map_ca(const char *url);
/*
 * "scheme://host[:port]" of url, lower case, without the default port,
 * into out; *rest points past it (to the path, or to the end).  0, or -1
 * when url has no http or https scheme, no host, or is too long.
 */
int	upstream_origin(const char *url, char *out, size_t outsz,
	    const char **rest);
/* Sets the options every easy handle gets: protocols, TLS verification
 * with ca, HTTP/2, redirects, timeouts, the user agent. */
void	upstream_easy_setup(CURL *, const struct curl_blob *ca);

/* --- fetches berthd asked for (fetch.c) ----------------------------------- */

/* The frames berth-fetchd accepts from berthd, with their payload checks
 * and handlers (also fuzz_frame's, which checks frames against them). */
extern const struct rpc_rule	fetch_rules[];
extern const size_t		fetch_nrules;
/* Starts the fetch of a MSG_FETCH_START (payload checked already); pipe
 * is the body's pipe or -1. */
void	fetch_start(uint32_t id, const struct msg_fetch_start *,
	    const uint8_t *strings, int pipe);
void	fetch_cancel(uint32_t id);
/* Ends every fetch (berthd has gone). */
void	fetch_cancel_all(void);

/* --- the token flow (token.c) --------------------------------------------- */

/*
 * The Authorization header value to send to origin for repository (the
 * Docker scope), if one is cached and fresh; NULL otherwise.
 */
const char *token_cached(const char *origin, const char *repository);
typedef void (*token_done_cb)(int result, const char *why, void *arg);
/*
 * Meets the challenges of a 401 from origin for repository: Bearer (the
 * Docker/OCI token flow: a token from the realm, with user and secret as
 * Basic credentials when given) or Basic (user and secret).  done runs
 * once, later, with FETCH_OK when token_cached() now has an answer, or
 * with an enum fetch_result and a reason.  Returns a handle for
 * token_abandon().
 */
struct token_request;
struct token_request *token_obtain(const char *origin, const char *repository,
	    const char *const *challenges, size_t nchallenges,
	    const char *user, const char *secret, token_done_cb, void *arg);
/* The fetch no longer waits: done will not be called. */
void	token_abandon(struct token_request *);

#endif
