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
 * berthd: a local AWS Elastic Container Registry.  Parses its options,
 * forks the spawner, binds its port, drops its privileges and confines
 * itself, has berth-blobd started and loads the metadata, then serves the
 * ECR API, the OCI distribution API and the admin API on one port.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#ifdef HAVE_MALLOC_H
#include <malloc.h>
#endif

#include "berthd.h"
#include "ptc.h"
#include "registry.h"
#include "digest.h"
#include "http.h"
#include "image_scan.h"
#include "log.h"
#include "sandbox.h"
#include "util.h"

struct berthd_config	 conf;
struct event_base	*ev_base;

static struct http_server *berthd_http;
static struct event	*ev_sigterm, *ev_sigint, *ev_sighup, *ev_trim;
static int		 berthd_draining;
static int		 berthd_serving;

static const char berthd_synopsis[] =
    "usage: berthd [-v] [--account-id id] [--admin-token token]\n"
    "              [--advertise-host host] [--blobd path] [--create-on-push]\n"
    "              [--credentials file]\n"
    "              [--data-dir dir] [--fetchd path] [--gc-grace seconds]\n"
    "              [--lenient-images] [--lifecycle-interval seconds]\n"
    "              [--listen address:port] [--log-file file]\n"
    "              [--max-connections number]\n"
    "              [--max-images-per-repository number]\n"
    "              [--max-repositories number] [--no-seccomp]\n"
    "              [--pull-through-refresh seconds]\n"
    "              [--pull-through-secrets file] [--region region]\n"
    "              [--require-auth] [--scan-memory mib]\n"
    "              [--scan-timeout seconds] [--scand path]\n"
    "              [--signing-key file] [--upload-ttl seconds]\n"
    "              [--upstream-map from=to[,ca-file]] ...\n"
    "              [--uri-style path | host] [--user user] [--vuln-db dir]\n";

static const char berthd_options[] =
    "  --account-id id       account of requests that name none "
    "(default 000000000000)\n"
    "  --admin-token token   require Authorization: Bearer token on /_berth/\n"
    "                        (then from any address, else loopback only)\n"
    "  --advertise-host host the host put into repository URIs and login\n"
    "                        endpoints (default: the --listen address, "
    "localhost\n"
    "                        for a wildcard one)\n"
    "  --blobd path          the berth-blobd binary (default "
    BERTH_LIBEXECDIR "/berth-blobd)\n"
    "  --create-on-push      a push to a missing repository creates it\n"
    "  --credentials file    verify ECR request signatures with the access "
    "keys\n"
    "                        in file (ACCESS_KEY SECRET [ACCOUNT] lines); "
    "reread\n"
    "                        on SIGHUP\n"
    "  --data-dir dir        where blobs and metadata live (default "
    BERTH_DATADIR ")\n"
    "  --fetchd path         the berth-fetchd binary (default "
    BERTH_LIBEXECDIR "/berth-fetchd)\n"
    "  --gc-grace seconds    keep unreferenced blobs pushed this recently "
    "(default 3600)\n"
    "  --help                print this help and exit\n"
    "  --lenient-images      PutImage accepts what in-process fakes do: "
    "layers\n"
    "                        and config never uploaded, a manifest "
    "without\n"
    "                        mediaType (then Docker's); ECR refuses both\n"
    "  --lifecycle-interval seconds\n"
    "                        run lifecycle policies this often "
    "(default 86400;\n"
    "                        0: only by POST /_berth/lifecycle/run)\n"
    "  --listen address:port where to serve (default 127.0.0.1:4566)\n"
    "  --log-file file       log there instead of stderr; reopened on "
    "SIGHUP\n"
    "  --max-connections number\n"
    "                        connections at once (default 1024); at the "
    "limit the\n"
    "                        one idle the longest is closed for a new "
    "client\n"
    "  --max-images-per-repository number\n"
    "                        images in one repository (default 100000, "
    "ECR's)\n"
    "  --max-repositories number\n"
    "                        repositories in one registry (default 100000, "
    "ECR's)\n"
    "  --no-seccomp          start berth-blobd and berth-scand without their"
    "\n"
    "                        seccomp filters\n"
    "  --pull-through-refresh seconds\n"
    "                        check the upstream of a cached tag again after "
    "this\n"
    "                        long (default 86400, as ECR)\n"
    "  --pull-through-secrets file\n"
    "                        upstream credentials of pull through cache "
    "rules:\n"
    "                        ARN USERNAME ACCESS_TOKEN lines; reread on "
    "SIGHUP\n"

    "  --region region       region of requests that name none "
    "(default us-east-1)\n"
    "  --require-auth        refuse anonymous registry (/v2/) requests\n"
    "  --scan-memory mib     memory one image scan may use (default 2048)\n"
    "  --scan-timeout seconds\n"
    "                        time one image scan may take (default 300)\n"
    "  --scand path          the berth-scand binary (default "
    BERTH_LIBEXECDIR "/berth-scand)\n"
    "  --signing-key file    managed signing signs with the PEM private key "
    "and\n"
    "                        certificate chain in file (default: a key made "
    "per\n"
    "                        registry and kept in its metadata); reread "
    "on SIGHUP\n"
    "  --upload-ttl seconds  drop uploads idle this long (default 86400)\n"
    "  --upstream-map from=to[,ca-file]\n"
    "                        fetch what pull through cache rules ask of "
    "the\n"
    "                        upstream origin from from to instead, "
    "trusting\n"
    "                        ca-file too (repeatable)\n"
    "  --uri-style style     path: host:port/name in repository URIs "
    "(default);\n"
    "                        host: account.dkr.ecr.region.localhost:port/"
    "name\n"
    "  --user user           started as root: run as this user after "
    "binding\n"
    "  -v, --verbose         log debugging output too\n"
    "  --version             print the version and exit\n"
    "  --vuln-db dir         the vulnerability database: a directory of OSV "
    "JSON\n"
    "                        files; reloaded on SIGHUP (default: none, scans"
    "\n"
    "                        list packages and find nothing)\n";

enum {
	OPT_ACCOUNT_ID = 256,
	OPT_ADMIN_TOKEN,
	OPT_ADVERTISE_HOST,
	OPT_BLOBD,
	OPT_CREATE_ON_PUSH,
	OPT_CREDENTIALS,
	OPT_DATA_DIR,
	OPT_FETCHD,
	OPT_GC_GRACE,
	OPT_HELP,
	OPT_LENIENT_IMAGES,
	OPT_LIFECYCLE_INTERVAL,
	OPT_LISTEN,
	OPT_LOG_FILE,
	OPT_MAX_CONNECTIONS,
	OPT_MAX_IMAGES,
	OPT_MAX_REPOSITORIES,
	OPT_NO_SECCOMP,
	OPT_PTC_REFRESH,
	OPT_PTC_SECRETS,
	OPT_REGION,
	OPT_REQUIRE_AUTH,
	OPT_SCAN_MEMORY,
	OPT_SCAN_TIMEOUT,
	OPT_SCAND,
	OPT_SIGNING_KEY,
	OPT_UPLOAD_TTL,
	OPT_UPSTREAM_MAP,
	OPT_URI_STYLE,
	OPT_USER,
	OPT_VERSION,
	OPT_VULN_DB
};

static const struct option berthd_longopts[] = {
	{ "account-id",	required_argument, NULL, OPT_ACCOUNT_ID },
	{ "admin-token", required_argument, NULL, OPT_ADMIN_TOKEN },
	{ "advertise-host", required_argument, NULL, OPT_ADVERTISE_HOST },
	{ "blobd",	required_argument, NULL, OPT_BLOBD },
	{ "create-on-push", no_argument,   NULL, OPT_CREATE_ON_PUSH },
	{ "credentials", required_argument, NULL, OPT_CREDENTIALS },
	{ "data-dir",	required_argument, NULL, OPT_DATA_DIR },
	{ "fetchd",	required_argument, NULL, OPT_FETCHD },
	{ "gc-grace",	required_argument, NULL, OPT_GC_GRACE },
	{ "help",	no_argument,	   NULL, OPT_HELP },
	{ "lenient-images", no_argument,   NULL, OPT_LENIENT_IMAGES },
	{ "lifecycle-interval", required_argument, NULL,
	    OPT_LIFECYCLE_INTERVAL },
	{ "listen",	required_argument, NULL, OPT_LISTEN },
	{ "log-file",	required_argument, NULL, OPT_LOG_FILE },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
	{ "max-images-per-repository", required_argument, NULL,
	    OPT_MAX_IMAGES },
	{ "max-repositories", required_argument, NULL, OPT_MAX_REPOSITORIES },
	{ "no-seccomp",	no_argument,	   NULL, OPT_NO_SECCOMP },
	{ "pull-through-refresh", required_argument, NULL, OPT_PTC_REFRESH },
	{ "pull-through-secrets", required_argument, NULL, OPT_PTC_SECRETS },
	{ "region",	required_argument, NULL, OPT_REGION },
	{ "signing-key", required_argument, NULL, OPT_SIGNING_KEY },
	{ "require-auth", no_argument,	   NULL, OPT_REQUIRE_AUTH },
	{ "scan-memory", required_argument, NULL, OPT_SCAN_MEMORY },
	{ "scan-timeout", required_argument, NULL, OPT_SCAN_TIMEOUT },
	{ "scand",	required_argument, NULL, OPT_SCAND },
	{ "upload-ttl",	required_argument, NULL, OPT_UPLOAD_TTL },
	{ "upstream-map", required_argument, NULL, OPT_UPSTREAM_MAP },
	{ "uri-style",	required_argument, NULL, OPT_URI_STYLE },
	{ "user",	required_argument, NULL, OPT_USER },
	{ "verbose",	no_argument,	   NULL, 'v' },
	{ "version",	no_argument,	   NULL, OPT_VERSION },
	{ "vuln-db",	required_argument, NULL, OPT_VULN_DB },
	{ NULL, 0, NULL, 0 }
};

/* A bad option: says so, and exits 2 as usage() does. */
static void __attribute__((noreturn, format(printf, 1, 2)))
bad_option(const char *fmt, ...)
{
	va_list	 ap;

	fputs("berthd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* A number from 1 to max for flag, else a bad option. */
static uint64_t
option_count(const char *flag, const char *arg, uint64_t max)
{
	uint64_t count;

	if (parse_u64(arg, strlen(arg), &count) == -1 || count < 1 ||
	    count > max)
		bad_option("%s is a number from 1 to %llu", flag,
		    (unsigned long long)max);
	return count;
}

static void __attribute__((noreturn))
usage(void)
{
	fputs(berthd_synopsis, stderr);
	exit(2);
}

/*
 * Without --blobd or --fetchd: the installed program, or, when berthd
 * runs from its build tree (daemon/berthd), the one built beside it (in
 * dir/).  A new string.
 */
static const char *
default_libexec_path(const char *dir, const char *name)
{
	char		*path, self[PATH_MAX];
	ssize_t		 n;

	xasprintf(&path, "%s/%s", BERTH_LIBEXECDIR, name);
	if (access(path, X_OK) == 0)
		return path;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		free(path);
		xasprintf(&path, "%s/../%s/%s", dirname(self), dir, name);
		if (access(path, X_OK) == 0)
			return path;
	}
	free(path);
	xasprintf(&path, "%s/%s", BERTH_LIBEXECDIR, name);
	return path;
}

/* A positive number up to max, or exit 2 naming the flag. */
static int
parse_count(const char *flag, const char *s, uint64_t max)
{
	uint64_t v;

	if (parse_u64(s, strlen(s), &v) == -1 || v < 1 || v > max)
		bad_option("%s is a number from 1 to %llu", flag,
		    (unsigned long long)max);
	return (int)v;
}

static void
parse_options(int argc, char **argv)
{
	int64_t	 secs;
	int	 ch;

	memset(&conf, 0, sizeof(conf));
	conf.listen = DEFAULT_LISTEN;
	conf.data_dir = BERTH_DATADIR;
	strcpy(conf.account_id, DEFAULT_ACCOUNT);
	strcpy(conf.region, DEFAULT_REGION);
	conf.upload_ttl = 86400;
	conf.gc_grace = 3600;
	conf.ptc_refresh = 86400;
	conf.lifecycle_interval = 86400;
	conf.drain_timeout = 10;
	conf.max_images = ECR_IMAGES_MAX;
	conf.max_repositories = ECR_REPOSITORIES_MAX;
	http_limits_default(&conf.http);

	while ((ch = getopt_long(argc, argv, "v", berthd_longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case OPT_ACCOUNT_ID:
			if (!name_account_valid(optarg, strlen(optarg)))
				bad_option("--account-id must be 12 digits");
			strcpy(conf.account_id, optarg);
			break;
		case OPT_ADMIN_TOKEN:
			if (strlen(optarg) < 16)
				bad_option("--admin-token needs at least 16 "
				    "characters");
			conf.admin_token = optarg;
			break;
		case OPT_ADVERTISE_HOST:
			if (optarg[0] == '\0' || strlen(optarg) > 253 ||
			    strpbrk(optarg, "/ \t:@") != NULL)
				bad_option("bad --advertise-host %s", optarg);
			conf.advertise_host = optarg;
			break;
		case OPT_BLOBD:
			conf.blobd_path = optarg;
			break;
		case OPT_CREATE_ON_PUSH:
			conf.create_on_push = 1;
			break;
		case OPT_CREDENTIALS:
			conf.credentials_file = optarg;
			break;
		case OPT_DATA_DIR:
			conf.data_dir = optarg;
			break;
		case OPT_FETCHD:
			conf.fetchd_path = optarg;
			break;
		case OPT_GC_GRACE:
			if ((secs = parse_duration(optarg)) < 0)
				bad_option("bad --gc-grace %s", optarg);
			conf.gc_grace = secs;
			break;
		case OPT_LIFECYCLE_INTERVAL:
			if ((secs = parse_duration(optarg)) < 0)
				bad_option("bad --lifecycle-interval %s",
				    optarg);
			conf.lifecycle_interval = secs;
			break;
		case OPT_HELP:
			fputs(berthd_synopsis, stdout);
			fputs("\n", stdout);
			fputs(berthd_options, stdout);
			exit(0);
		case OPT_LENIENT_IMAGES:
			conf.lenient_images = 1;
			break;
		case OPT_LISTEN:
			conf.listen = optarg;
			break;
		case OPT_LOG_FILE:
			conf.log_file = optarg;
			break;
		case OPT_MAX_CONNECTIONS:
			conf.http.max_connections = (int)option_count(
			    "--max-connections", optarg, 1000000);
			break;
		case OPT_MAX_IMAGES:
			conf.max_images = option_count(
			    "--max-images-per-repository", optarg, 100000000);
			break;
		case OPT_MAX_REPOSITORIES:
			conf.max_repositories = option_count(
			    "--max-repositories", optarg, 100000000);
			break;
		case OPT_NO_SECCOMP:
			conf.no_seccomp = 1;
			break;
		case OPT_PTC_REFRESH:
			if ((secs = parse_duration(optarg)) < 0)
				bad_option("bad --pull-through-refresh %s",
				    optarg);
			conf.ptc_refresh = secs;
			break;
		case OPT_PTC_SECRETS:
			conf.ptc_secrets_file = optarg;
			break;
		case OPT_REGION:
			if (!name_region_valid(optarg, strlen(optarg)))
				bad_option("bad --region %s", optarg);
			strcpy(conf.region, optarg);
			break;
		case OPT_REQUIRE_AUTH:
			conf.require_auth = 1;
			break;
		case OPT_SCAN_MEMORY:
			conf.scan_memory_mb = parse_count("--scan-memory",
			    optarg, 1048576);
			break;
		case OPT_SCAN_TIMEOUT:
			conf.scan_timeout = parse_count("--scan-timeout",
			    optarg, 86400);
			break;
		case OPT_SCAND:
			conf.scand_path = optarg;
			break;
		case OPT_VULN_DB:
			/* The spawner starts scand from berthd's directory;
			 * scand opens it, and says so if it cannot. */
			if ((conf.vuln_db = realpath(optarg, NULL)) == NULL)
				bad_option("--vuln-db %s: %s", optarg,
				    strerror(errno));
			break;
		case OPT_SIGNING_KEY:
			conf.signing_key_file = optarg;
			break;
		case OPT_URI_STYLE:
			if (strcmp(optarg, "path") == 0)
				conf.uri_style = URI_STYLE_PATH;
			else if (strcmp(optarg, "host") == 0)
				conf.uri_style = URI_STYLE_HOST;
			else
				bad_option("--uri-style is path or host");
			break;
		case OPT_UPLOAD_TTL:
			if ((secs = parse_duration(optarg)) <= 0)
				bad_option("bad --upload-ttl %s", optarg);
			conf.upload_ttl = secs;
			break;
		case OPT_UPSTREAM_MAP:
			if (strchr(optarg, '=') == NULL ||
			    strstr(optarg, "=http") == NULL)
				bad_option("--upstream-map %s: not "
				    "FROM=TO[,CA_FILE] with an http or https "
				    "TO", optarg);
			conf.upstream_maps = xreallocarray(conf.upstream_maps,
			    conf.nupstream_maps + 1,
			    sizeof(*conf.upstream_maps));
			conf.upstream_maps[conf.nupstream_maps++] = optarg;
			break;
		case OPT_USER:
			conf.user = optarg;
			break;
		case 'v':
			conf.verbose++;
			break;
		case OPT_VERSION:
			printf("berthd %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (conf.blobd_path == NULL)
		conf.blobd_path = default_libexec_path("blobd", "berth-blobd");
	if (conf.fetchd_path == NULL)
		conf.fetchd_path = default_libexec_path("fetchd",
		    "berth-fetchd");
	if (conf.scand_path == NULL)
		conf.scand_path = default_libexec_path("daemon",
		    "berth-scand");
}

static void
berthd_pulls_flushed_cb(int err, void *arg)
{
	scanner_stop();
	fetchc_stop();
	worker_stop();
	spawner_stop();
	event_base_loopbreak(ev_base);
}

/* berthd cannot open files any more: the spawner opens the log for it. */
static void
berthd_log_opened_cb(int err, int fd, void *arg)
{
	if (err != 0) {
		log_warnx("reopening %s: %s%s%s", conf.log_file, strerror(err),
		    priv_user() != NULL ? "; it is opened as " : "",
		    priv_user() != NULL ? priv_user() : "");
		return;
	}
	if (log_adopt_fd(fd) == -1)
		log_warn("cannot use the reopened %s", conf.log_file);
	close(fd);
	blobc_reopen_log();
	fetchc_reopen_log();
	log_info("logs reopened");
}

static void
berthd_credentials_opened_cb(int err, int fd, void *arg)
{
	if (err != 0)
		log_warnx("reading %s: %s; keeping the access keys loaded "
		    "before", conf.credentials_file, strerror(err));
	else if (ecr_credentials_reload(fd) == -1)
		log_warnx("keeping the access keys loaded before");
}

static void
berthd_secrets_opened_cb(int err, int fd, void *arg)
{
	if (err != 0)
		log_warnx("reading %s: %s; keeping the secrets loaded before",
		    conf.ptc_secrets_file, strerror(err));
	else if (ptc_secrets_load_fd(fd, conf.ptc_secrets_file) == -1)
		log_warnx("keeping the pull through cache secrets loaded "
		    "before");
}

static void
berthd_signing_key_opened_cb(int err, int fd, void *arg)
{
	if (err != 0)
		log_warnx("reading %s: %s; keeping the signing key loaded "
		    "before", conf.signing_key_file, strerror(err));
	else if (signing_key_load_fd(fd, conf.signing_key_file) == -1)
		log_warnx("keeping the signing key loaded before");
	else
		log_info("signing key reloaded from %s",
		    conf.signing_key_file);
}

/* Reads a file an option names (if given) before berthd loses the
 * filesystem; one it cannot use stops it. */
static void
berthd_load_at_start(const char *path, const char *option,
    int (*load)(int, const char *))
{
	int	 fd;

	if (path == NULL)
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		fatal("cannot read %s %s", option, path);
	if (load(fd, path) == -1)
		fatalx("cannot use %s %s (see above)", option, path);
}

static void
berthd_drained_cb(void *arg)
{
	/* The last pull times must reach the disk before the worker goes. */
	meta_flush_pulls(berthd_pulls_flushed_cb, NULL);
}

static void
berthd_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	switch (sig) {
	case SIGHUP:
		if (conf.log_file != NULL)
			spawner_open(SPAWN_FILE_LOG, berthd_log_opened_cb,
			    NULL);
		else {
			blobc_reopen_log();
			fetchc_reopen_log();
			log_info("logs reopened");
		}
		if (conf.credentials_file != NULL)
			spawner_open(SPAWN_FILE_CREDENTIALS,
			    berthd_credentials_opened_cb, NULL);
		scanner_reload();
		if (conf.ptc_secrets_file != NULL)
			spawner_open(SPAWN_FILE_PTC_SECRETS,
			    berthd_secrets_opened_cb, NULL);
		if (conf.signing_key_file != NULL)
			spawner_open(SPAWN_FILE_SIGNING_KEY,
			    berthd_signing_key_opened_cb, NULL);
		break;
	case SIGTERM:
	case SIGINT:
		if (!berthd_serving) {
			/* Nothing was acknowledged yet; the spawner and
			 * the worker follow when berthd's sockets close. */
			log_info("stopping during start-up");
			exit(0);
		}
		if (berthd_draining)
			break;
		berthd_draining = 1;
		log_info("stopping: finishing requests in flight");
		notify_service("STOPPING=1");
		http_server_drain(berthd_http, conf.drain_timeout,
		    berthd_drained_cb, NULL);
		break;
	}
}

/*
 * One berthd per data directory, whatever its worker is doing: the
 * worker's own lock (data-dir/lock) is free while berthd waits to restart
 * a dead worker, so berthd holds data-dir/berthd.lock for its whole life
 * (the spawner, forked from it, shares the lock; workers do not inherit
 * it).
 */
/*
 * Loads libcrypto's configuration now: libcrypto reads its configuration
 * file on first use of EVP (signing keys), and berthd must not need files
 * once it is confined.  Without libcrypto's error strings, which reading
 * the configuration would otherwise load (1.1 million instructions, a
 * fifth of berthd's start, and their hash tables): berth never prints
 * libcrypto's error queue, it says itself what failed.  The digests
 * (common/digest.c) need none of this.
 */
static void
berthd_crypto_init(void)
{
	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG |
	    OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL) != 1)
		fatalx("cannot initialise libcrypto");
}

static void
berthd_lock(const char *dir)
{
	struct stat	 sb;
	char		 holder[32];
	int		 dirfd, fd;

	/* Its name is made durable by berth-blobd's first commit round,
	 * before anything in it is acknowledged. */
	if (stat(dir, &sb) == -1 && errno == ENOENT &&
	    mkdir_p(dir, 0750) == -1)
		fatal("cannot create the data directory %s", dir);
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("data directory %s", dir);
	if ((fd = lockfile_take(dirfd, "berthd.lock", holder,
	    sizeof(holder))) == -1) {
		if (errno != EWOULDBLOCK)
			fatal("%s/berthd.lock", dir);
		fatalx("data directory %s is in use by another berthd (pid %s)",
		    dir, holder);
	}
	close(dirfd);
	priv_give_file(fd);
	/* fd stays open, and locked, until berthd exits. */
}

/*
 * From now on berthd opens no file, makes or removes nothing by path,
 * executes nothing, binds and connects no TCP socket (it keeps the ones it
 * listens on) and signals no process outside itself.
 */
static void
berthd_confine(void)
{
	struct sandbox_policy	 p;
	const char		*notify = getenv("NOTIFY_SOCKET");

	memset(&p, 0, sizeof(p));
	p.rw_dirfd = -1;
	p.deny_tcp = 1;
	p.scope_signals = 1;
	/* sd_notify() may have to reach an abstract socket systemd made. */
	p.scope_abstract_unix = notify == NULL || notify[0] != '@';
	/* Accepting connections and making pipes are berthd's job. */
	p.deny_sockets = 0;
	if (sandbox_apply(&p) == -1)
		fatalx("cannot confine berthd");
}

/*
 * Memory that bursts of requests used goes back to the system.  glibc's
 * malloc raises its mmap threshold after each large free (so that later
 * large buffers come from the heap) and returns heap pages only from the
 * top: after many parallel uploads the heap stays as large as their peak.
 * A fixed threshold keeps the HTTP layer's 64 KiB read buffers in mmaps,
 * which free() unmaps, and a trim every few seconds, when enough of the
 * heap is free, returns the pages in between.
 */
#define BERTHD_MMAP_THRESHOLD	(64 * 1024)
#define BERTHD_TRIM_FREE	(1024 * 1024)	/* bytes free in the heap */
#define BERTHD_TRIM_SEC		5

static void
berthd_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	heap_trim(BERTHD_TRIM_FREE);
}

static void
berthd_memory_init(void)
{
	static const struct timeval tv = { BERTHD_TRIM_SEC, 0 };

#ifdef HAVE_MALLOPT
	(void)mallopt(M_MMAP_THRESHOLD, BERTHD_MMAP_THRESHOLD);
#endif
	if ((ev_trim = event_new(ev_base, -1, EV_PERSIST, berthd_trim_cb,
	    NULL)) == NULL || event_add(ev_trim, &tv) == -1)
		fatalx("cannot set the memory trim timer");
}

int
main(int argc, char **argv)
{
	int	 log_created = 0;

	parse_options(argc, argv);
	malloc_keep();
	log_init("berthd", LOG_LVL_INFO + conf.verbose);
	if (conf.log_file != NULL) {
		log_created = access(conf.log_file, F_OK) == -1;
		if (log_open_file(conf.log_file) == -1)
			fatal("cannot open log file %s", conf.log_file);
	}
	signal(SIGPIPE, SIG_IGN);
	priv_init(conf.user);
	if (log_created)
		priv_give_file(STDERR_FILENO);
	priv_prepare_datadir(conf.data_dir);
	berthd_lock(conf.data_dir);
	/*
	 * Whatever would read files later on, now: libcrypto's configuration,
	 * and the time zone, which glibc's gmtime_r() loads on first use.
	 */
	berthd_crypto_init();
	tzset();
	if ((ev_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	berthd_memory_init();
	/* Unconfined, before any signal event: it must start every worker. */
	spawner_start();
	ev_sigterm = evsignal_new(ev_base, SIGTERM, berthd_signal_cb, NULL);
	ev_sigint = evsignal_new(ev_base, SIGINT, berthd_signal_cb, NULL);
	ev_sighup = evsignal_new(ev_base, SIGHUP, berthd_signal_cb, NULL);
	if (ev_sigterm == NULL || ev_sigint == NULL || ev_sighup == NULL ||
	    evsignal_add(ev_sigterm, NULL) == -1 ||
	    evsignal_add(ev_sigint, NULL) == -1 ||
	    evsignal_add(ev_sighup, NULL) == -1)
		fatalx("cannot install signal handlers");

	/* Reads --credentials: before berthd loses the filesystem. */
	if (ecr_init() == -1)
		fatalx("cannot start the ECR API (see above)");
	berthd_load_at_start(conf.ptc_secrets_file, "--pull-through-secrets",
	    ptc_secrets_load_fd);
	berthd_load_at_start(conf.signing_key_file, "--signing-key",
	    signing_key_load_fd);

	/* Bound now, with the privileges a low port needs; it listens once
	 * berthd is confined.  Until the worker said hello and the metadata
	 * is loaded, an anonymous ping of /v2/ is answered and every other
	 * request is held (router.c): a client may connect as soon as the
	 * process runs, and nothing it asks is refused for being early. */
	if ((berthd_http = http_server_new(ev_base, &conf.http,
	    router_dispatch_cb, NULL)) == NULL)
		fatalx("http_server_new");
	http_server_set_summary_cb(berthd_http, metrics_request_cb, NULL);
	http_server_set_refusal_cb(berthd_http, router_refusal_cb, NULL);
	http_server_pause(berthd_http, 1);
	if (http_server_listen(berthd_http, conf.listen) == -1)
		fatalx("cannot listen on %s", conf.listen);
	conf.port = http_server_port(berthd_http);
	origin_set_loopback_listener(http_server_loopback(berthd_http));
	priv_drop();
	berthd_confine();
	http_server_pause(berthd_http, 0);

	worker_start();
	scanner_start();
	fetchc_start();
	lifecycle_schedule(conf.lifecycle_interval);
	berthd_serving = 1;
	/* No request came in since worker_start() returned: these first. */
	router_release();
	log_info("berthd %s serving on %s, data in %s", PACKAGE_VERSION,
	    conf.listen, conf.data_dir);
	notify_service("READY=1");
	event_base_dispatch(ev_base);

	http_server_free(berthd_http);
	event_free(ev_sigterm);
	event_free(ev_sigint);
	event_free(ev_sighup);
	event_free(ev_trim);
	event_base_free(ev_base);
	model_free(model);
	log_info("stopped");
	return 0;
}
