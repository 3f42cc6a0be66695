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
 * berthd: the network daemon.  It owns the listening socket, speaks HTTP,
 * the ECR JSON API, the OCI distribution API and the admin API, holds the
 * registry's metadata in memory, and supervises berth-blobd, which owns
 * the disk.  Every change to the metadata is a record appended to blobd's
 * durable log before the client hears of it.
 *
 * Rule for asynchronous code: nothing that waits on blobd keeps a pointer
 * into the model (struct repository, struct image, ...) across the wait.
 * The model may be rebuilt from disk when blobd restarts; callbacks look
 * objects up again by name and digest.
 */
#ifndef BERTHD_H
#define BERTHD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "digest.h"
#include "http.h"
#include "proto.h"
#include "rpc.h"
#include "name.h"
#include "sortvec.h"

struct event_base;

#define ACCOUNT_LEN		12
#define REGION_MAX		32
#define DEFAULT_ACCOUNT		"000000000000"
#define DEFAULT_REGION		"us-east-1"
#define DEFAULT_LISTEN		"127.0.0.1:4566"
#define MANIFEST_MAX		(4 * 1024 * 1024)

enum uri_style { URI_STYLE_PATH, URI_STYLE_HOST };

struct berthd_config {
	const char	*listen;
	const char	*data_dir;
	const char	*blobd_path;
	const char	*fetchd_path;
	const char	**upstream_maps;	/* --upstream-map, as given */
	size_t		 nupstream_maps;
	char		 account_id[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	int		 verbose;
	const char	*log_file;
	int		 create_on_push;
	int		 require_auth;
	const char	*credentials_file;
	enum uri_style	 uri_style;
	const char	*advertise_host;
	int		 port;			/* bound, once listening */
	const char	*admin_token;
	const char	*user;			/* --user, or NULL */
	int		 no_seccomp;
	int64_t		 upload_ttl;		/* seconds */
	int64_t		 gc_grace;		/* seconds */
	const char	*ptc_secrets_file;	/* --pull-through-secrets */
	int64_t		 ptc_refresh;		/* seconds */
	int		 drain_timeout;		/* seconds */
	struct http_limits http;
};

/* berthd.c */
extern struct berthd_config	 conf;
extern struct event_base	*ev_base;
/* The port berthd listens on (for URLs it hands out). */
int	berthd_port(void);

/* --- the model (registry.c) ---------------------------------------------- */

enum tag_mutability {
	MUT_MUTABLE = 0,
	MUT_IMMUTABLE,
	MUT_IMMUTABLE_WITH_EXCLUSION,
	MUT_MUTABLE_WITH_EXCLUSION
};

struct kv {
	char	*key;
	char	*value;
};

/* A repository's configuration, written whole by REC_REPO_PUT. */
struct repo_config {
	enum tag_mutability mutability;
	char		**mut_filters;		/* WILDCARD values */
	size_t		  nmut_filters;
	int		  scan_on_push;
	char		 *encryption_type;	/* "AES256", "KMS", "KMS_DSSE" */
	char		 *kms_key;		/* NULL unless KMS */
	struct kv	 *tags;			/* resource tags, in order */
	size_t		  ntags;
	char		 *policy;		/* NULL: none */
	char		 *lifecycle;		/* NULL: none */
	int64_t		  lifecycle_evaluated_ms;
};

/* A stored blob, shared by every repository that links it. */
struct blob {
	struct digest	 digest;
	uint64_t	 size;
	uint32_t	 refs;		/* image references (config, layers) */
	uint32_t	 links;		/* repositories it is visible in */
	int64_t		 active_ms;	/* last push activity on it */
	int64_t		 deref_ms;	/* when refs last fell to zero */
};

/* A blob visible in one repository. */
struct link {
	struct blob	*blob;
	int64_t		 linked_ms;
};

enum image_ref_kind { REF_CONFIG = 1, REF_LAYER = 2, REF_MANIFEST = 3 };

struct image_ref {
	enum image_ref_kind kind;
	struct digest	 digest;
	uint64_t	 size;
	char		*media_type;	/* may be NULL */
};

struct image {
	struct repository *repo;
	struct digest	 digest;
	char		*media_type;	/* the manifest's */
	char		*artifact_type;	/* NULL when a plain image */
	uint8_t		*manifest;	/* the exact bytes pushed */
	size_t		 manifest_len;
	int64_t		 pushed_ms;
	int64_t		 pulled_ms;	/* 0: never */
	struct image_ref *refs;
	size_t		 nrefs;
	int		 has_subject;
	struct digest	 subject;
	uint64_t	 size;		/* imageSizeInBytes */
	char		**tags;		/* sorted */
	size_t		 ntags;
};

struct tag {
	char		*name;
	struct image	*image;
};

struct repository {
	struct registry	*registry;
	char		*name;
	int64_t		 created_ms;
	struct repo_config config;
	struct sortvec	 images;	/* struct image, by digest */
	struct sortvec	 tags;		/* struct tag, by name */
	struct sortvec	 links;		/* struct link, by digest */
};

/* One account's registry in one region. */
struct registry {
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	struct sortvec	 repositories;	/* by name */
	struct sortvec	 settings;	/* struct kv, by key */
};

struct model {
	struct sortvec	 registries;	/* by "account/region" */
	struct sortvec	 blobs;		/* struct blob, by digest */
	uint8_t		 secret[32];	/* signs auth tokens */
	int		 have_secret;
	uint64_t	 log_entries;	/* appended since the last snapshot */
	uint64_t	 log_bytes;
	uint64_t	 snapshot_entries; /* in the last snapshot written */
	uint64_t	 snapshot_bytes;
};

extern struct model	*model;

struct model	*model_new(void);
void		 model_free(struct model *);
/* Replaces the global model (the old one is freed). */
void		 model_install(struct model *);

struct registry	*registry_find(const char *account, const char *region);
struct registry	*registry_get(const char *account, const char *region);
struct repository *repository_find(const struct registry *, const char *);
struct image	*image_find(const struct repository *, const struct digest *);
struct tag	*tag_find(const struct repository *, const char *);
struct link	*link_find(const struct repository *, const struct digest *);
struct blob	*blob_find(const struct digest *);
const char	*registry_setting(const struct registry *, const char *key);
/* Marks push activity on a blob (GC keeps it for the grace period). */
void		 blob_touch(struct blob *);
/* Whether a tag may be moved (to another image) in this repository. */
int		 repository_tag_is_immutable(const struct repository *,
		    const char *tag);
/* "<account>/<region>/<name>": upload owners and log keys. */
void		 repository_owner(const struct repository *, char *out,
		    size_t outsz);
void		 repo_config_init(struct repo_config *);
void		 repo_config_clear(struct repo_config *);
void		 repo_config_copy(struct repo_config *dst,
		    const struct repo_config *src);
/* The images that name subject as their subject, in digest order. */
size_t		 repository_referrers(const struct repository *,
		    const struct digest *subject, struct image **out,
		    size_t max);

/* The model's primitive mutations, used only by record.c when applying a
 * record (live or replayed).  They return 0 or a negative BERR code. */
int	model_repo_put(const char *account, const char *region,
	    const char *name, int64_t created_ms, struct repo_config *take);
int	model_repo_delete(const char *account, const char *region,
	    const char *name);
int	model_image_put(struct repository *, struct image *take);
int	model_image_delete(struct repository *, const struct digest *);
int	model_tag_put(struct repository *, const char *tag,
	    const struct digest *);
int	model_tag_delete(struct repository *, const char *tag);
int	model_link_put(struct repository *, const struct digest *,
	    uint64_t size, int64_t linked_ms);
int	model_link_delete(struct repository *, const struct digest *);
int	model_blob_forget(const struct digest *);
int	model_setting_put(struct registry *, const char *key,
	    const char *value);
int	model_setting_delete(struct registry *, const char *key);
void	image_free(struct image *);

/* --- durable changes (record.c) ------------------------------------------ */

/*
 * A transaction is a batch of records written as one log entry: all or
 * nothing after a crash.  Each txn_* call encodes a record and applies it
 * to the model at once, through the same code that replays the log, so
 * that memory and disk cannot disagree.  A transaction is built and
 * committed in one run of the event loop, never across a wait: snapshots
 * assume every change in memory has had its entry sent.  txn_commit sends the entry to
 * blobd and calls done once it is fsync'd (err 0) or failed (the model is
 * then reloaded from disk, undoing the change).
 */
struct txn {
	struct wbuf	 buf;
	size_t		 nrecords;
};

void	txn_init(struct txn *);
void	txn_clear(struct txn *);
int	txn_repo_put(struct txn *, const char *account, const char *region,
	    const char *name, int64_t created_ms, const struct repo_config *);
int	txn_repo_delete(struct txn *, struct repository *);
/* image->repo must be set; the image is copied. */
int	txn_image_put(struct txn *, const struct image *);
int	txn_image_delete(struct txn *, struct image *);
int	txn_tag_put(struct txn *, struct repository *, const char *tag,
	    const struct digest *);
int	txn_tag_delete(struct txn *, struct repository *, const char *tag);
int	txn_link_put(struct txn *, struct repository *,
	    const struct digest *, uint64_t size);
int	txn_link_delete(struct txn *, struct repository *,
	    const struct digest *);
int	txn_blob_forget(struct txn *, const struct digest *);
int	txn_pull_time(struct txn *, struct image *, int64_t ms);
int	txn_secret(struct txn *, const uint8_t *secret, size_t len);
int	txn_setting_put(struct txn *, struct registry *, const char *key,
	    const char *value);
int	txn_setting_delete(struct txn *, struct registry *, const char *key);
typedef void (*txn_done_cb)(int err, void *arg);
/* Takes the transaction's contents (it is cleared).  With no records,
 * done runs at once with 0. */
void	txn_commit(struct txn *, txn_done_cb, void *arg);

/* Applies one log entry (a batch of records) to the model; 0 or -1. */
int	record_apply_entry(const uint8_t *, size_t);
/* Serializes the whole model as log entries into fd (for compaction);
 * returns the number of entries, or -1. */
int64_t	record_snapshot(int fd, uint64_t *len);

/* --- loading and compacting the metadata (meta.c) ----------------------- */

typedef void (*meta_done_cb)(int err, void *arg);
/* Asks blobd for the state, builds a new model and installs it. */
void	meta_load(meta_done_cb, void *arg);
/* Compacts the log when enough has been appended since the last time. */
void	meta_maybe_compact(void);
/* Whether a log of log_bytes in log_entries since a snapshot of
 * snapshot_bytes is due for compaction: when it outgrows the snapshot and
 * 64 MiB, or has 100,000 entries and a quarter of the snapshot's size.
 * Start-up thus replays at most about twice the state. */
int	meta_compaction_due(uint64_t snapshot_bytes, uint64_t log_bytes,
	    uint64_t log_entries);
/* Compacts now: the snapshot replaces the log; done may be NULL.
 * BERR_UNAVAILABLE when a compaction or a load is already running. */
void	meta_compact(meta_done_cb done, void *arg);
/* Records pull times gathered since the last flush (not per request). */
void	meta_note_pull(struct image *);
/* Writes the pull times noted so far; done (may be NULL) runs when they
 * are durable, at once when there were none. */
void	meta_flush_pulls(meta_done_cb done, void *arg);
int	meta_loading(void);
/* Keeps a copy of an entry sent while a load is in flight (txn_commit). */
void	meta_sent_entry(const uint8_t *, size_t);

/* --- manifests (manifest.c) ------------------------------------------------ */

#define MT_OCI_MANIFEST	"application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST	"application/vnd.docker.distribution.manifest.list.v2+json"

struct json_object;

struct manifest_info {
	char		*media_type;
	char		*artifact_type;		/* the manifest's artifactType */
	const char	*config_media_type;	/* in refs[0]; image manifests */
	int		 is_index;
	struct image_ref *refs;			/* config first, then layers */
	size_t		 nrefs;
	uint8_t		*foreign;		/* per ref: may live elsewhere */
	uint64_t	 layers_size;
	int		 has_subject;
	struct digest	 subject;
	char		 error[256];		/* why it is invalid */
};

int	manifest_type_known(const char *);
int	manifest_type_is_index(const char *);
/*
 * Parses a manifest.  content_type (the HTTP Content-Type or ECR's
 * imageManifestMediaType, may be NULL) names the type when the body has
 * no mediaType.  0, or BERR_MANIFEST_INVALID with mi->error set.
 */
int	manifest_parse(const char *, size_t, const char *content_type,
	    struct manifest_info *);
void	manifest_info_clear(struct manifest_info *);
/* A deep copy of the manifest's annotations object, or NULL. */
struct json_object *manifest_annotations(const struct image *);
/* One JSON value, strictly, with a nesting limit; NULL if invalid. */
struct json_object *json_parse_strict(const char *, size_t, int depth);

/* --- pushing images (image.c) ----------------------------------------------- */

struct image_push {
	/* in */
	const char	*account;
	const char	*region;
	const char	*repository;
	const uint8_t	*manifest;
	size_t		 len;
	const char	*content_type;
	const struct digest *expected;	/* by digest / ECR imageDigest */
	char		**tags;
	size_t		 ntags;
	int		 ecr;		/* an unchanged push is an error */
	int		 cache;		/* the pull-through cache: blobs and
					 * children need not be there yet */
	/* out */
	struct digest	 digest;
	int		 created;
	int		 has_subject;
	struct digest	 subject;
	struct digest	 missing;	/* with BERR_MANIFEST_BLOB_UNKNOWN */
	int		 missing_is_manifest;
	char		 detail[512];
};

/*
 * Validates and records an image and its tags.  Returns a negative BERR
 * code at once when it is refused (nothing changed, done not called):
 * BERR_NAME_UNKNOWN, BERR_MANIFEST_INVALID, BERR_TOO_LARGE,
 * BERR_DIGEST_INVALID (not the expected digest), BERR_MANIFEST_BLOB_UNKNOWN
 * (p->missing), BERR_TAG_IMMUTABLE, BERR_EXISTS (ECR, nothing to change).
 * Otherwise 0, and done runs when the change is durable.
 */
int	image_push(struct image_push *, txn_done_cb done, void *arg);
/* Adds a repository with the default configuration to t unless it exists;
 * 0 or BERR_NAME_INVALID. */
int	repository_ensure(const char *account, const char *region,
	    const char *name, struct txn *);

/* --- garbage collection (gc.c) ---------------------------------------------- */

struct gc_result {
	int		 dry_run;
	uint64_t	 examined;
	uint64_t	 blobs;
	uint64_t	 bytes;
	int64_t		 duration_ms;
};

struct gc_stats {
	uint64_t	 runs;
	uint64_t	 blobs;
	uint64_t	 bytes;
};

typedef void (*gc_done_cb)(int err, const struct gc_result *, void *arg);
/* Queues a run; runs are serialized.  With ignore_grace, unreferenced
 * blobs go however recently a push touched them (after a reset of every
 * registry).  A run fails with BERR_UNAVAILABLE unless blobd is up and the
 * metadata loaded when it starts and when it marks. */
void	gc_run(int dry_run, int ignore_grace, gc_done_cb, void *arg);
/* Queues a run after a reset of some registries: a blob in released (what
 * they referenced or linked; the run takes the array) goes however new if
 * nothing references or links it now; every other blob keeps the grace
 * rule. */
void	gc_run_released(struct digest *released, size_t n, gc_done_cb,
	    void *arg);
int	gc_running(void);
const struct gc_stats *gc_stats(void);
/*
 * The marking rule.  b is the model's blob (NULL if the metadata does not
 * know it); a blob is kept while an image references it, or while push
 * activity on it (upload, mount, existence check) newer than its last
 * dereference is within the grace period.
 */
int	gc_blob_is_garbage(const struct blob *b, int64_t mtime_ms,
	    int64_t now_ms, int64_t grace_ms);

/* --- the worker process (proc.c) ----------------------------------------- */

/* Has the spawner start berth-blobd and waits for its hello and the
 * metadata; fatal if it cannot start (data directory locked, bad
 * arguments). */
void	proc_start(void);
/* Closes blobd's socket; the spawner then reaps it (spawner_stop). */
void	proc_stop(void);
/* Said hello and the metadata is loaded: the model is the disk's. */
int	proc_blobd_up(void);
/* "down", "starting" (no hello yet), "loading" (the metadata) or "up". */
const char *proc_blobd_state(void);
/* The running worker's process id, or -1. */
pid_t	proc_blobd_pid(void);
uint64_t proc_restarts(void);
/* Hands blobd a new stderr after berthd reopened its log. */
void	proc_reopen_log(void);
/* The spawner's answers (spawner.c): a worker started, with berthd's end
 * of its socket; could not be started (an errno); exited (a waitpid()
 * status). */
void	proc_worker_started(pid_t, int fd);
void	proc_worker_failed(int err);
void	proc_worker_exited(pid_t, int status);

/* --- the upstream client's process (fetchc.c) ---------------------------- */

/* A request to berth-fetchd (see fetch_proto.h); strings may be NULL. */
struct fetchc_request {
	uint32_t	 method;	/* enum fetch_method */
	uint32_t	 flags;		/* FETCH_F_* */
	uint64_t	 max_bytes;
	const char	*url;
	const char	*accept;
	const char	*user;		/* NULL: anonymous */
	const char	*secret;
	const char	*headers;	/* "Name: value\n" lines */
	const uint8_t	*body;
	size_t		 body_len;
	int		 pipe;		/* the body's write end (taken), or -1 */
};

struct msg_fetch_headers;
struct msg_fetch_done;
typedef void (*fetchc_headers_cb)(const struct msg_fetch_headers *,
    void *arg);
/* d->result is an enum fetch_result; body is an inline answer's. */
typedef void (*fetchc_done_cb)(const struct msg_fetch_done *d,
    const uint8_t *body, size_t len, void *arg);

/* Has the spawner start berth-fetchd (it is restarted when it dies). */
void	fetchc_start(void);
void	fetchc_stop(void);
/*
 * Fetches rq->url: headers (may be NULL) runs when the upstream's final
 * answer is a 2xx, done exactly once, never before this returns.
 * Returns the fetch's id for fetchc_cancel().
 */
uint32_t fetchc_fetch(const struct fetchc_request *, fetchc_headers_cb,
	    fetchc_done_cb, void *arg);
/* Stops a fetch; its callbacks are not called any more. */
void	fetchc_cancel(uint32_t id);
/* berth-fetchd's pid once it said hello, or -1. */
pid_t	fetchc_pid(void);
uint64_t fetchc_restarts(void);
void	fetchc_reopen_log(void);
/* The spawner's answers (spawner.c); fetchc_exited returns 1 when pid
 * was the fetcher's. */
void	fetchc_started(pid_t, int fd);
void	fetchc_failed(int err);
int	fetchc_exited(pid_t, int status);

/* --- the spawner (spawner.c) ---------------------------------------------- */

/*
 * berthd and its spawner talk in the frames of proto.h over their own
 * socketpair.  Both ends are this binary, so there is no hello and
 * PROTOCOL_VERSION does not cover these messages.  The spawner answers
 * MSG_SPAWN_WORKER with exactly one MSG_SPAWN_STARTED (with berthd's end of
 * the worker's socketpair) or MSG_SPAWN_FAILED; reports every worker that
 * exits with MSG_SPAWN_EXITED; kills on MSG_SPAWN_KILL only the worker it
 * has running; and answers MSG_SPAWN_OPEN with MSG_SPAWN_OPENED, with a
 * descriptor exactly when err is 0.  Ids are 0.
 */
enum msg_spawn_type {
	MSG_SPAWN_WORKER = 64,	/* d->s: no payload */
	MSG_SPAWN_STARTED,	/* s->d: struct msg_spawn_worker + socket */
	MSG_SPAWN_FAILED,	/* s->d: struct msg_spawn_failed */
	MSG_SPAWN_EXITED,	/* s->d: struct msg_spawn_exited */
	MSG_SPAWN_KILL,		/* d->s: struct msg_spawn_worker */
	MSG_SPAWN_OPEN,		/* d->s: struct msg_spawn_open */
	MSG_SPAWN_OPENED,	/* s->d: struct msg_spawn_opened (+ fd) */
	/* The same as WORKER, STARTED and FAILED, for berth-fetchd. */
	MSG_SPAWN_FETCHER,	/* d->s: no payload */
	MSG_SPAWN_FETCHER_STARTED, /* s->d: struct msg_spawn_worker + socket */
	MSG_SPAWN_FETCHER_FAILED /* s->d: struct msg_spawn_failed */
};

struct msg_spawn_worker {
	int32_t		 pid;
	uint32_t	 pad;
};

struct msg_spawn_failed {
	int32_t		 err;		/* an errno */
	uint32_t	 pad;
};

struct msg_spawn_exited {
	int32_t		 pid;
	int32_t		 status;	/* as waitpid() gives it */
};

/* The files berthd needs after it has confined itself, by name: the
 * spawner opens the paths given on the command line, nothing else. */
enum spawn_file {
	SPAWN_FILE_LOG = 1,		/* --log-file, to append */
	SPAWN_FILE_CREDENTIALS,		/* --credentials, to read */
	SPAWN_FILE_PTC_SECRETS,		/* --pull-through-secrets, to read */
	SPAWN_FILE__MAX
};

struct msg_spawn_open {
	uint32_t	 file;		/* enum spawn_file */
	uint32_t	 pad;
};

struct msg_spawn_opened {
	uint32_t	 file;
	int32_t		 err;		/* 0, or an errno */
};

/* Forks the spawner; before berthd drops its privileges or confines
 * itself, after event_base_new() and before any signal event. */
void	spawner_start(void);
void	spawner_request_worker(void);
void	spawner_request_fetcher(void);
/* Kills the worker or the fetcher of that pid. */
void	spawner_kill_worker(pid_t);
/* fd is the open file (the callback owns it) when err is 0. */
typedef void (*spawner_opened_cb)(int err, int fd, void *arg);
void	spawner_open(enum spawn_file, spawner_opened_cb, void *arg);
/* Closes the spawner's socket (it ends its worker and exits) and waits
 * for it, at most ten seconds. */
void	spawner_stop(void);

/* --- users and privileges (priv.c) ---------------------------------------- */

/* Resolves --user (NULL: none); exits 2 when the user is unknown, or when
 * berthd is not root and the user is not the one it runs as.  Warns when
 * berthd runs as root without --user. */
void	priv_init(const char *user);
/* As root with --user: creates the data directory (and its missing
 * parents, 0755) and gives it, and what is beneath it, to the user
 * unless it is theirs already.  Otherwise nothing: blobd creates it. */
void	priv_prepare_datadir(const char *dir);
/* As root with --user: gives an open file berthd created (the log file)
 * to the user, so that the spawner can reopen it. */
void	priv_give_file(int fd);
/* Becomes the --user (groups, gid, uid; checked) when not that user
 * already, and drops every capability.  fatal() when it cannot. */
void	priv_drop(void);
/* The --user name, or NULL. */
const char *priv_user(void);

/* --- requests to blobd (blobc.c) ----------------------------------------- */

/*
 * err is 0 with the reply's payload (length already checked against
 * the rule table) and its descriptor (fd >= 0, the callback owns it) when
 * blobd answered with reply_type; a negative BERR code with the payload
 * of MSG_ERROR (struct msg_error, or NULL) when blobd refused; and
 * BERR_UNAVAILABLE with no payload when blobd is down or died.
 */
typedef void (*blobc_cb)(int err, const uint8_t *payload, size_t len,
    int fd, void *arg);

/* Sends a request whose payload is p1 then p2; fd (or -1) is handed over.
 * The callback runs exactly once, never before blobc_call returns. */
void	blobc_call(uint32_t type, const void *p1, size_t n1, const void *p2,
	    size_t n2, int fd, uint32_t reply_type, blobc_cb, void *arg);
/* Called by proc.c. */
void	blobc_attach(struct rpc_chan *);
void	blobc_detach(int err);
void	blobc_dispatch(const struct frame_hdr *, const uint8_t *, int fd);
size_t	blobc_in_flight(void);
extern const struct rpc_rule	blobc_rules[];
extern const size_t		blobc_nrules;

/* --- the OCI distribution API (oci*.c) -------------------------------------- */

/* The query parameter that makes a GetDownloadUrlForLayer URL its own
 * credential (auth_download_verify). */
#define OCI_DOWNLOAD_PARAM	"X-Berth-Download"
/* How long such a URL works, in seconds. */
#define OCI_DOWNLOAD_TTL	3600

/* Whose registry a request addresses. */
struct oci_ident {
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	int		 authenticated;
};

enum oci_route_kind {
	OCI_BASE, OCI_CATALOG, OCI_TAGS, OCI_MANIFEST, OCI_BLOB,
	OCI_UPLOAD_NEW, OCI_UPLOAD, OCI_REFERRERS
};

struct oci_route {
	enum oci_route_kind kind;
	char		 name[NAME_MAX_LEN + 1];
	char		 arg[513];	/* reference, digest or upload id */
};

/* oci.c */
void	oci_dispatch(struct http_request *, const char *path);
/* 0, BERR_UNAUTHORIZED (bad or, with --require-auth, missing token) or
 * BERR_DENIED (a token for another registry than the host names). */
int	oci_identity(struct http_request *, struct oci_ident *);
/* 0 and the parts of <account>.dkr.ecr.<region>.localhost[:port], or -1. */
int	oci_host_identity(const char *host, char *account, char *region);
void	oci_challenge(struct http_request *);
void	oci_error(struct http_request *, int err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	oci_location(struct http_request *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	oci_json(struct http_request *, int status, struct json_object *);
/* A txn_done_cb answering 202 Accepted once a deletion is durable. */
void	oci_accepted_cb(int err, void *arg);
int	oci_page_params(struct http_request *, long *n, const char **last);

/* oci_manifest.c */
void	oci_manifest_get(struct http_request *, const struct oci_ident *,
	    const char *name, const char *ref);
void	oci_manifest_put(struct http_request *, const struct oci_ident *,
	    const char *name, const char *ref);
void	oci_manifest_delete(struct http_request *, const struct oci_ident *,
	    const char *name, const char *ref);
void	oci_tags_list(struct http_request *, const struct oci_ident *,
	    const char *name);
void	oci_referrers(struct http_request *, const struct oci_ident *,
	    const char *name, const char *digest);

/* oci_blob.c */
void	oci_blob_get(struct http_request *, const struct oci_ident *,
	    const char *name, const char *digest);
void	oci_blob_delete(struct http_request *, const struct oci_ident *,
	    const char *name, const char *digest);
/* Drops cached blob descriptors (after GC deleted files). */
void	blob_cache_forget_all(void);

/* oci_upload.c */
void	oci_upload_start(struct http_request *, const struct oci_ident *,
	    const char *name);
void	oci_upload_patch(struct http_request *, const struct oci_ident *,
	    const char *name, const char *uuid);
void	oci_upload_finish(struct http_request *, const struct oci_ident *,
	    const char *name, const char *uuid);
void	oci_upload_status(struct http_request *, const struct oci_ident *,
	    const char *name, const char *uuid);
void	oci_upload_cancel(struct http_request *, const struct oci_ident *,
	    const char *name, const char *uuid);
int	upload_id_parse(const char *, uint8_t id[UPLOAD_ID_LEN]);

/* --- byte ranges (range.c) -------------------------------------------------- */

/* A Range header against an entity of size bytes: 1 with the range for a
 * satisfiable single range, 0 to serve it all (absent, another unit, or
 * several ranges), BERR_RANGE_UNSATISFIABLE for a range past the end or a
 * bytes range that is not valid syntax (RFC 9110 14.2). */
int	range_parse(const char *, uint64_t size, uint64_t *off, uint64_t *len);
/* A chunk's Content-Range: "first-last", "bytes first-last/total" or
 * "bytes=first-last"; 0, or -1 when malformed or last < first. */
int	content_range_parse(const char *, uint64_t *first, uint64_t *last);

/* --- registry passwords (auth.c) -------------------------------------------- */

/* A password for account/region until expires (epoch seconds); free it. */
char	*auth_token_issue(const char *account, const char *region,
	    int64_t expires);
/* 0 with the token's account and region, or BERR_UNAUTHORIZED. */
int	auth_token_verify(const char *, size_t, char *account, char *region,
	    int64_t *expires);
/* From an Authorization header: 1 when there is none, 0 with account and
 * region of a valid "Basic AWS:<password>", BERR_UNAUTHORIZED otherwise. */
int	auth_basic_identity(const char *header, char *account, char *region);
/* The X-Berth-Download parameter of a download URL for the blob digest
 * of repository in account/region, valid until expires; free it. */
char	*auth_download_issue(const char *account, const char *region,
	    const char *repository, const char *digest, int64_t expires);
/* 0 with the account and region the parameter grants this blob in, or
 * BERR_DENIED (forged, for another blob, or expired). */
int	auth_download_verify(const char *param, const char *repository,
	    const char *digest, char *account, char *region);

/* --- the ECR API model (ecr_model.c, generated; ecr_validate.c) ----------- */

enum ecr_type {
	ECR_T_STRING, ECR_T_INTEGER, ECR_T_LONG, ECR_T_BOOLEAN, ECR_T_LIST,
	ECR_T_MAP, ECR_T_STRUCTURE, ECR_T_BLOB, ECR_T_TIMESTAMP, ECR_T_DOUBLE
};

struct ecr_member {
	const char	*name;
	int		 shape;		/* index into ecr_shapes */
	int		 required;
};

/* A shape of the AWS model reachable from an operation's input. */
struct ecr_shape {
	const char	*name;
	enum ecr_type	 type;
	int		 has_min;
	int		 has_max;
	long long	 min;		/* length, value or list size */
	long long	 max;
	const char	*pattern;	/* the model's text, or NULL */
	const char *const *enums;
	size_t		 nenums;
	const struct ecr_member *members;	/* structures */
	size_t		 nmembers;
	int		 member;	/* lists: element; maps: key */
	int		 value;		/* maps: value */
};

struct ecr_operation {
	const char	*name;
	int		 input;		/* shape index, or -1 */
	int		 validation_exception; /* its errors name it */
	int		 paginated;	/* 2: in paginators-1.json; 1: tokens */
	int		 page_default;	/* maxResults when absent */
	int		 page_max;
	size_t		 body_max;	/* request body limit */
};

/* ecr_model.c */
extern const char		 ecr_model_botocore_version[];
extern const char		 ecr_model_target_prefix[];
extern const struct ecr_shape	 ecr_shapes[];
extern const size_t		 ecr_nshapes;
extern const struct ecr_operation ecr_operations[];
extern const size_t		 ecr_noperations;

/* ecr_validate.c */
/* Compiles every pattern of the model once; 0, or -1 if one does not
 * translate or compile (a bug in the translation: fatal at start). */
int	ecr_validate_init(void);
/* The operation of that name, or NULL. */
const struct ecr_operation *ecr_operation_find(const char *, size_t);
/* The model's (Java) pattern as a POSIX ERE anchored for a full match;
 * NULL when it uses a construct the translation does not know. */
char	*ecr_pattern_to_ere(const char *);
/* Whether s[0..len) matches shape's pattern in full (1) or not (0). */
int	ecr_pattern_match(int shape, const char *s, size_t len);
/*
 * Checks a request against op's input shape as AWS does: unknown members
 * are ignored, null is absent.  Returns NULL when it is valid, else the
 * exception to answer ("SerializationException" for a JSON value of the
 * wrong type; InvalidParameterException or ValidationException for a
 * constraint) with its message in msg.
 */
const char *ecr_validate(const struct ecr_operation *op,
	    struct json_object *in, char *msg, size_t msgsz);

/* --- AWS Signature Version 4 (sigv4.c) ------------------------------------- */

/* The parts of an "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=..." header. */
struct sigv4_auth {
	char	 credential[512];
	char	 access_key[129];
	char	 date[9];
	char	 region[64];
	char	 service[64];
	char	 terminator[64];
	char	 signed_headers[1024];
	char	 signature[129];
};

/* What a request is signed over. */
struct sigv4_request {
	const char	*method;
	const char	*path;		/* percent-decoded */
	const char	*query;		/* raw, or NULL */
	/* Every value of a header (case-insensitive name), in order; returns
	 * how many there are (vals holds at most max). */
	size_t		(*headers)(void *arg, const char *name,
			    const char **vals, size_t max);
	void		*arg;
	const void	*body;
	size_t		 body_len;
};

struct sigv4_identity {
	char	 account[ACCOUNT_LEN + 1];
	char	 region[REGION_MAX + 1];
	char	 access_key[129];
};

/* Reads a credentials file ("ACCESS_KEY SECRET [ACCOUNT]" lines, '#'
 * comments) and turns verification on; 0, or -1 (logged) leaving the keys
 * in force unchanged. */
int	sigv4_credentials_load(const char *path);
/* The same from an open descriptor (closed); path names it in messages. */
int	sigv4_credentials_load_fd(int fd, const char *path);
int	sigv4_verifying(void);
/* 0, or -1 with IncompleteSignatureException's message in why. */
int	sigv4_parse(const char *, struct sigv4_auth *, char *why,
	    size_t whysz);
/* The canonical request (free it). */
char	*sigv4_canonical_request(const struct sigv4_request *,
	    const struct sigv4_auth *, const char *payload_hash);
/* The hex signature of a canonical request. */
void	sigv4_signature(const char *secret, const char *amz_date,
	    const struct sigv4_auth *, const char *canonical, char out[65]);
/*
 * The identity of a request: account and region from the credential
 * scope, else --account-id and --region.  With verification on, the
 * signature is checked as AWS does (now: epoch seconds); returns NULL
 * when the request may go on, else the exception with its message.
 */
const char *sigv4_check(const struct sigv4_request *, int64_t now,
	    struct sigv4_identity *, char *msg, size_t msgsz);

/* --- the ECR API (ecr*.c) ------------------------------------------------ */

/* One ECR request, from its headers to its response. */
struct ecr_req {
	struct http_request *req;
	const struct ecr_operation *op;
	struct json_object *in;		/* the request's JSON object */
	struct sigv4_identity caller;
	/* The registry addressed: registryId, else the caller's account,
	 * in the caller's region. */
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		 request_id[37];
};

/* ecr.c */
/* Compiles the model's patterns, loads --credentials; 0 or -1. */
int	ecr_init(void);
/* Reads --credentials again (SIGHUP) from fd, which the spawner opened
 * (berthd cannot open files once confined) and which is closed; 0, or -1
 * keeping the old keys. */
int	ecr_credentials_reload(int fd);
int	ecr_implemented(const char *operation);
void	ecr_dispatch(struct http_request *);
/* Answers a refusal of the HTTP layer (router_refusal_cb) as ECR does an
 * error: err's status and exception, reason as the message. */
void	ecr_refuse(struct http_request *, int err, const char *reason);
/* Each of these answers the request and frees r. */
void	ecr_respond(struct ecr_req *, struct json_object *out);
void	ecr_error(struct ecr_req *, const char *exception, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
/* With the exception's extra members (fields is taken, may be NULL). */
void	ecr_error_fields(struct ecr_req *, const char *exception,
	    struct json_object *fields, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* A BERR code: ServerException (500) for what the client cannot fix. */
void	ecr_fail(struct ecr_req *, int err);
void	ecr_repository_not_found(struct ecr_req *, const char *name);
struct repository *ecr_repository_find(struct ecr_req *, const char *name);
void	ecr_bad_token(struct ecr_req *);
/* Members of the input (validated already); NULL or dflt when absent. */
struct json_object *ecr_member(const struct ecr_req *, const char *name);
const char *ecr_str(const struct ecr_req *, const char *name);
int	ecr_bool(const struct ecr_req *, const char *name, int dflt);
int64_t	ecr_int(const struct ecr_req *, const char *name, int64_t dflt);
void	ecr_add_str(struct json_object *, const char *key, const char *);
/* Epoch seconds with milliseconds; nothing when ms <= 0. */
void	ecr_add_time(struct json_object *, const char *key, int64_t ms);
/* maxResults, or the operation's default; clamped to its maximum. */
int	ecr_page_size(const struct ecr_req *);
/* An opaque nextToken for cursor, bound to the operation, the registry
 * and scope (a repository name, or ""); free it.  Parsing returns 0 with
 * the cursor, or -1 for a token that is not one of ours for this call. */
char	*ecr_token_make(const struct ecr_req *, const char *scope,
	    const char *cursor);
int	ecr_token_parse(const struct ecr_req *, const char *scope,
	    const char *token, char *cursor, size_t cursorsz);
/* The host put into repository URIs and proxyEndpoint. */
const char *ecr_advertise_host(void);
/* "host:port" of the registry of account/region, as URIs name it. */
void	ecr_registry_host(const char *account, const char *region,
	    char *out, size_t outsz);

/* ecr_repository.c */
struct json_object *ecr_repository_json(const struct repository *);
void	ecr_repository_create(struct ecr_req *);
void	ecr_repository_describe(struct ecr_req *);
void	ecr_repository_delete(struct ecr_req *);
void	ecr_repository_put_mutability(struct ecr_req *);
void	ecr_repository_put_scanning(struct ecr_req *);
/* Answers a txn commit: done(err) calls respond with r unless err. */
void	ecr_commit(struct ecr_req *, struct txn *, struct json_object *out);
/* The answer to r, out, sent once a change is durable: ecr_reply_cb is a
 * txn_done_cb whose argument comes from ecr_reply_new (out may be set
 * later, before the loop runs again). */
struct ecr_reply {
	struct ecr_req	*r;
	struct json_object *out;
};
struct ecr_reply *ecr_reply_new(struct ecr_req *, struct json_object *out);
void	ecr_reply_cb(int err, void *arg);
/* Writes repo's configuration as changed in cfg (which it clears) and
 * answers r with out once durable. */
void	ecr_repository_update(struct ecr_req *, struct repository *,
	    struct repo_config *cfg, struct json_object *out);

/* ecr_image.c */
void	ecr_image_put(struct ecr_req *);
void	ecr_image_batch_get(struct ecr_req *);
void	ecr_image_describe(struct ecr_req *);
void	ecr_image_list(struct ecr_req *);
void	ecr_image_batch_delete(struct ecr_req *);

/* ecr_layer.c */
void	ecr_layer_check(struct ecr_req *);
void	ecr_layer_initiate(struct ecr_req *);
void	ecr_layer_upload_part(struct ecr_req *);
void	ecr_layer_complete(struct ecr_req *);
void	ecr_layer_download_url(struct ecr_req *);

/* ecr_auth.c */
void	ecr_auth_token(struct ecr_req *);

/* ecr_policy.c */
void	ecr_policy_set(struct ecr_req *);
void	ecr_policy_get(struct ecr_req *);
void	ecr_policy_delete(struct ecr_req *);
void	ecr_policy_tag(struct ecr_req *);
void	ecr_policy_untag(struct ecr_req *);
void	ecr_policy_list_tags(struct ecr_req *);
void	ecr_policy_describe_registry(struct ecr_req *);
/* Whether text is an IAM policy document fit for a repository. */
int	ecr_policy_valid(const char *text, size_t len);
/* Merges a request's [{"Key","Value"}] into c's tags with ECR's limits;
 * 0, or -1 when r was answered with the error. */
int	ecr_tags_merge(struct ecr_req *, struct repo_config *c,
	    struct json_object *tags);

/* --- the pull-through cache (ptc.c, ecr_ptc.c, ptc_pull.c) ---------------- */

/* Registry settings keys: "ptc/<ecrRepositoryPrefix>" holds a rule. */
#define PTC_KEY_PREFIX		"ptc/"
/* Rules per registry, as ECR's service quota. */
#define PTC_RULES_MAX		50

enum ptc_auth {
	PTC_AUTH_OPTIONAL,	/* anonymous, or a secret if one is given */
	PTC_AUTH_SECRET,	/* credentialArn required */
	PTC_AUTH_ROLE		/* an upstream ECR: customRoleArn */
};

struct ptc_upstream {
	const char	*name;		/* upstreamRegistry */
	const char	*url;		/* upstreamRegistryUrl, '*': a label */
	enum ptc_auth	 auth;
};

struct ptc_rule {
	char		 prefix[32];	/* ecrRepositoryPrefix, no '/' at the end */
	char		 url[256];	/* upstreamRegistryUrl */
	char		 kind[32];	/* upstreamRegistry */
	char		*credential_arn;	/* or NULL */
	char		*custom_role_arn;	/* or NULL */
	char		 upstream_prefix[32];	/* "" for ROOT */
	int64_t		 created_ms;
	int64_t		 updated_ms;
};

/* ptc.c */
const struct ptc_upstream *ptc_upstream_for_url(const char *);
const struct ptc_upstream *ptc_upstream_named(const char *);
/* 0 with the rule of that prefix, or -1. */
int	ptc_rule_find(const struct registry *, const char *prefix,
	    struct ptc_rule *);
void	ptc_rule_clear(struct ptc_rule *);
size_t	ptc_rule_count(const struct registry *);
/* The prefix of the i-th rule in prefix order (i < ptc_rule_count). */
const char *ptc_rule_key_at(const struct registry *, size_t i);
/* The rule repository name falls under and the upstream repository it
 * stands for; 0, or -1 when no rule covers it. */
int	ptc_match(const struct registry *, const char *name,
	    struct ptc_rule *, char *upstream, size_t upstreamsz);
/* The stored JSON (free it), and the API's PullThroughCacheRule. */
char	*ptc_rule_text(const struct ptc_rule *);
struct json_object *ptc_rule_json(const struct ptc_rule *,
	    const char *registry_id);
/* Reads --pull-through-secrets from fd (closed); refused, keeping what
 * was loaded before, when others may read it.  0 or -1 (logged). */
int	ptc_secrets_load_fd(int fd, const char *path);
#define PTC_SECRET_NOT_FOUND	1
#define PTC_SECRET_UNREADABLE	2	/* no file, or it could not be read */
#define PTC_SECRET_MALFORMED	3	/* not USERNAME ACCESS_TOKEN */
/* 0 with the secret's username and token (valid until the next load),
 * or a PTC_SECRET_* code. */
int	ptc_secret_lookup(const char *arn, const char **user,
	    const char **token);
/* The ECR exception for a PTC_SECRET_* code. */
const char *ptc_secret_exception(int);

/* ptc_pull.c: called first by the OCI manifest and blob GET and HEAD;
 * 1 when the request was taken (fetched from the upstream, then served),
 * 0 when it goes on as usual. */
int	ptc_manifest_intercept(struct http_request *,
	    const struct oci_ident *, const char *name, const char *ref);
int	ptc_blob_intercept(struct http_request *, const struct oci_ident *,
	    const char *name, const char *digest);

/* ecr_ptc.c */
void	ecr_ptc_create(struct ecr_req *);
void	ecr_ptc_describe(struct ecr_req *);
void	ecr_ptc_update(struct ecr_req *);
void	ecr_ptc_delete(struct ecr_req *);
void	ecr_ptc_validate(struct ecr_req *);

/* --- routing (router.c) --------------------------------------------------- */

void	router_dispatch_cb(struct http_request *, void *arg);
/* The HTTP layer's refusals, in the shape of the API of the path. */
void	router_refusal_cb(struct http_request *, int err, const char *reason,
	    void *arg);
/* A JSON error in the OCI shape. */
void	router_oci_error(struct http_request *, int err, const char *detail);

/* --- metrics (metrics.c) --------------------------------------------------- */

struct evbuffer;
/* The HTTP layer's summary callback: counts and writes the access log. */
void	metrics_request_cb(const struct http_request_summary *, void *);
/* Prometheus text; st is blobd's statistics or NULL when it is down. */
void	metrics_render(struct evbuffer *, const struct msg_stats_reply *st);

/* --- the service manager (notify.c) ---------------------------------------- */

/* Sends state ("READY=1", "STOPPING=1") to $NOTIFY_SOCKET if set. */
void	notify_service(const char *state);

/* --- admin API (admin.c) -------------------------------------------------- */

void	admin_dispatch(struct http_request *, const char *path);
/* {"error": message} with that status. */
void	admin_error(struct http_request *, int status, const char *message);

#endif
