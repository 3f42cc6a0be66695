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
 * berth-fetchd's main: options, the CA certificates and the resolver's
 * first use before the sandbox, the confinement (no filesystem but the
 * resolver's files, no TCP listening, signals and abstract sockets
 * scoped), and the channel to berthd.  It exits when berthd goes away.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "error.h"
#include "fetchd.h"
#include "log.h"
#include "rpc.h"
#include "sandbox.h"
#include "util.h"

struct event_base	*fetchd_base;
static struct rpc_chan	*fetchd_chan;

/* What the resolver reads on each lookup (getaddrinfo, curl's thread). */
static const char *const fetchd_resolver_files[] = {
	"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
	"/etc/host.conf", "/etc/gai.conf", NULL
};

static const char fetchd_options[] =
    "  --help                     print this help and exit\n"
    "  --upstream-map FROM=TO[,CA_FILE]\n"
    "                             fetch what is asked of the origin FROM "
    "from TO,\n"
    "                             trusting CA_FILE too (repeatable)\n"
    "  -v, --verbose              log debugging output too\n"
    "  --version                  print the version and exit\n";

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr, "usage: berth-fetchd [-v] "
	    "[--upstream-map FROM=TO[,CA_FILE]] ...\n");
	if (status == 0)
		fprintf(stdout, "\n%s", fetchd_options);
	exit(status);
}

void
fetchd_send_headers(uint32_t id, const struct msg_fetch_headers *h)
{
	if (fetchd_chan != NULL)
		(void)rpc_send(fetchd_chan, MSG_FETCH_HEADERS, id, h,
		    sizeof(*h), -1);
}

void
fetchd_send_done(uint32_t id, const struct msg_fetch_done *d,
    const void *body, size_t len)
{
	struct iovec	 iov[2];

	if (fetchd_chan == NULL)
		return;
	iov[0].iov_base = (void *)(uintptr_t)d;
	iov[0].iov_len = sizeof(*d);
	iov[1].iov_base = (void *)(uintptr_t)body;
	iov[1].iov_len = len;
	(void)rpc_sendv(fetchd_chan, MSG_FETCH_DONE, id, iov, len > 0 ? 2 : 1,
	    -1);
}

static void
fetchd_close_cb(struct rpc_chan *chan, int err, void *arg)
{
	fetch_cancel_all();
	if (err == 0) {
		log_info("berthd closed the channel; exiting");
		exit(0);
	}
	log_warnx("channel to berthd failed: %s; exiting", berr_message(err));
	exit(1);
}

/*
 * From now on berth-fetchd reads only the resolver's files, writes no
 * file, binds no TCP port and signals no process outside itself; it may
 * connect to any host, which is its purpose.
 */
static void
fetchd_confine(void)
{
	struct sandbox_policy	 p;

	memset(&p, 0, sizeof(p));
	p.rw_dirfd = -1;
	p.ro_paths = fetchd_resolver_files;
	p.deny_tcp_bind = 1;
	p.scope_signals = 1;
	p.scope_abstract_unix = 1;
	if (sandbox_apply(&p) == -1)
		fatalx("cannot confine berth-fetchd");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",		no_argument,	   NULL, 'h' },
		{ "upstream-map",	required_argument, NULL, 'm' },
		{ "verbose",		no_argument,	   NULL, 'v' },
		{ "version",		no_argument,	   NULL, 'V' },
		{ NULL,			0,		   NULL, 0 }
	};
	struct msg_fetch_hello	 hello;
	curl_version_info_data	*cv;
	struct addrinfo		 hints, *res;
	int			 ch, verbose = 0;

	log_init("berth-fetchd", 0);
	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			if (upstream_map_add(optarg) != 0)
				exit(FETCHD_EXIT_CONFIG);
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("berth-fetchd %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(0);
		default:
			usage(FETCHD_EXIT_CONFIG);
		}
	}
	if (optind != argc)
		usage(FETCHD_EXIT_CONFIG);
	log_init("berth-fetchd", LOG_LVL_INFO + verbose);
	if (!rpc_is_socket(FETCHD_SOCKET_FD)) {
		fprintf(stderr, "berth-fetchd is started by berthd\n");
		exit(FETCHD_EXIT_CONFIG);
	}
	(void)fd_set_cloexec(FETCHD_SOCKET_FD);
	signal(SIGPIPE, SIG_IGN);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	cv = curl_version_info(CURLVERSION_NOW);
	/* CA certificates as blobs: curl 7.77 with OpenSSL. */
	if (cv->version_num < 0x074d00 || cv->ssl_version == NULL ||
	    strncmp(cv->ssl_version, "OpenSSL", 7) != 0)
		fatalx("libcurl %s with %s: berth-fetchd needs 7.77 or later "
		    "built with OpenSSL", cv->version, cv->ssl_version != NULL ?
		    cv->ssl_version : "no TLS");
	if (upstream_load_cas() != 0)
		exit(FETCHD_EXIT_CONFIG);
	/* The resolver loads its modules on first use: before the sandbox. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo("localhost", "80", &hints, &res) == 0)
		freeaddrinfo(res);

	if ((fetchd_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (transfer_init(fetchd_base) != 0)
		exit(1);
	fetchd_confine();
	fetchd_chan = rpc_new(fetchd_base, FETCHD_SOCKET_FD, fetch_rules,
	    fetch_nrules, NULL, fetchd_close_cb, NULL);
	memset(&hello, 0, sizeof(hello));
	hello.version = FETCH_PROTOCOL_VERSION;
	hello.pid = (uint32_t)getpid();
	if (rpc_send(fetchd_chan, MSG_FETCH_HELLO, 0, &hello, sizeof(hello),
	    -1) != 0)
		exit(1);
	log_info("ready: libcurl %s, %s%s", cv->version, cv->ssl_version,
	    (cv->features & CURL_VERSION_HTTP2) ? ", HTTP/2" : "");
	event_base_dispatch(fetchd_base);
	exit(0);
}
