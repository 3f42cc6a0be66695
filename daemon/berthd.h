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
 *
 * The sections go up berthd's layers (ARCHITECTURE.md has the map): the
 * model and its durable changes (model.h, included here), the storage
 * client, what the APIs share, the APIs, routing, the process.  The ECR
 * API's own declarations are in ecr.h, the transport's in http.h.
 */
#ifndef BERTHD_H
#define BERTHD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "digest.h"
#include "http.h"
#include "model.h"
#include "proto.h"
#include "rpc.h"
#include "name.h"
#include "sortvec.h"
#include "util.h"

struct event;
struct event_base;
struct image_scan;

#define DEFAULT_LISTEN		"127.0.0.1:4566"

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
	int		 lenient_images;	/* PutImage as fakes take it */
	int		 require_auth;
	const char	*credentials_file;
	const char	*signing_key_file;	/* --signing-key */
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
	int64_t		 lifecycle_interval;	/* seconds, 0: none */
	int		 drain_timeout;		/* seconds */
	uint64_t	 max_images;		/* per repository */
	uint64_t	 max_repositories;	/* per registry */
	struct http_limits http;
	const char	*scand_path;
	const char	*vuln_db;		/* absolute, or NULL */
	int		 scan_timeout;		/* seconds; 0: scand's */
	int		 scan_memory_mb;	/* 0: scand's */
};

/* berthd.c */
extern struct berthd_config	 conf;
extern struct event_base	*ev_base;

/* ==== the storage client ================================================= */

/* --- the storage client (blobc.c) ---------------------------------------- */

/*
 * One function per request to berth-blobd, each calling its callback
 * exactly once and never before it returns.  err is 0; a negative BERR
 * code blobd answered with; or BERR_UNAVAILABLE when blobd is not up or
 * died (BERR_SHUTTING_DOWN at the end).  A descriptor passed in is the
 * client's from then on; one a callback receives is the callback's.
 */
typedef void (*blobc_done_cb)(int err, void *arg);
/* size: a session's size, also after an error of an append, a stat or a
 * commit (the bytes it holds); or, after a commit or a write, the stored
 * blob's. */
typedef void (*blobc_size_cb)(int err, uint64_t size, void *arg);
typedef void (*blobc_upload_created_cb)(int err,
    const uint8_t id[UPLOAD_ID_LEN], void *arg);
/* The blob is size bytes of fd from offset on (small blobs share a
 * file). */
typedef void (*blobc_blob_opened_cb)(int err, int fd, uint64_t offset,
    uint64_t size, void *arg);
/* fd holds the state: len bytes of entries, each a u32 length and the
 * entry, as many as entries. */
typedef void (*blobc_meta_state_cb)(int err, int fd, uint64_t len,
    uint64_t entries, void *arg);

/* A blob in the store, as GC lists and sweeps them. */
struct blobc_stored {
	struct digest	 digest;
	uint64_t	 size;
	int64_t		 mtime_ms;
};
/* list (n blobs) is valid during the callback. */
typedef void (*blobc_gc_listed_cb)(int err, const struct blobc_stored *list,
    size_t n, void *arg);
typedef void (*blobc_gc_swept_cb)(int err, uint64_t blobs, uint64_t bytes,
    void *arg);

struct blobc_stats {
	uint64_t	 blobs;
	uint64_t	 bytes;
	uint64_t	 uploads;	/* sessions open */
	uint64_t	 meta_log_bytes;
	uint64_t	 held_bytes;	/* uploads held in blobd's memory */
	uint64_t	 held_refused;	/* appends that could have been */
	uint64_t	 commit_size_refused; /* commits with a wrong size */
	int		 writable;	/* a probe write to the data dir
					   worked */
};
/* st is NULL unless err is 0. */
typedef void (*blobc_stats_cb)(int err, const struct blobc_stats *st,
    void *arg);

/* An upload session owned by owner (name_owner_format), whose bytes blobd
 * hashes with algo as they arrive. */
void	blobc_upload_create(const char *owner, enum digest_algo,
	    blobc_upload_created_cb, void *arg);
/* Appends what blobd reads from fd (a pipe) until EOF; offset must be the
 * session's size (else BERR_RANGE_INVALID and nothing is read); length is
 * what will be written, UINT64_MAX when unknown.  The reply comes after
 * EOF. */
void	blobc_upload_append(const char *owner, const uint8_t id[UPLOAD_ID_LEN],
	    uint64_t offset, uint64_t length, int fd, blobc_size_cb,
	    void *arg);
void	blobc_upload_stat(const char *owner, const uint8_t id[UPLOAD_ID_LEN],
	    blobc_size_cb, void *arg);
void	blobc_upload_cancel(const char *owner, const uint8_t id[UPLOAD_ID_LEN],
	    blobc_done_cb, void *arg);
/* A read-only descriptor of the session's file, which grows while an
 * append runs (size: what the session held then). */
void	blobc_upload_open(const char *owner, const uint8_t id[UPLOAD_ID_LEN],
	    blobc_blob_opened_cb, void *arg);
/*
 * A blob to store.  len bytes of data (at most BLOB_WRITE_MAX) go first:
 * appended to the session at offset (its size, or UINT64_MAX), or, for a
 * write, the whole blob.  entry_len bytes of entry (at most
 * LINK_ENTRY_MAX; 0: none) are a metadata log entry that blobd appends
 * once the blob is stored, and makes durable with it: the reply comes
 * when both are on disk, and neither is written if the blob is refused.
 */
struct blobc_blob {
	struct digest	 digest;
	uint64_t	 size;		/* UINT64_MAX: whatever it is */
	uint64_t	 offset;
	const void	*data;
	size_t		 len;
	const void	*entry;
	size_t		 entry_len;
};
/* Verifies the session's content (after b's data) against b's digest and
 * size, and stores it as that blob, ending the session; on a mismatch
 * (BERR_DIGEST_INVALID, BERR_SIZE_INVALID) the session stays. */
void	blobc_upload_commit(const char *owner, const uint8_t id[UPLOAD_ID_LEN],
	    const struct blobc_blob *b, blobc_size_cb, void *arg);
/* Stores b's data as the blob its digest names, verifying them. */
void	blobc_blob_write(const struct blobc_blob *b, blobc_size_cb,
	    void *arg);
/* A read-only descriptor of the file that holds the blob. */
void	blobc_blob_open(const struct digest *, blobc_blob_opened_cb,
	    void *arg);
/* Appends one log entry; done once it is fsync'd.  Only txn_commit
 * writes the log.  An entry that only deletes (releases) may use blobd's
 * space reserve on a full disk. */
void	blobc_meta_append(const void *entry, size_t len, int releases,
	    blobc_done_cb, void *arg);
void	blobc_meta_load(blobc_meta_state_cb, void *arg);
/* fd holds a snapshot in the form of the state; it replaces every entry
 * appended before this request. */
void	blobc_meta_compact(int fd, uint64_t len, uint64_t entries,
	    blobc_done_cb, void *arg);
/* Every stored blob. */
void	blobc_gc_list(blobc_gc_listed_cb, void *arg);
/* Deletes the blobs of list, but not one stored again after
 * not_after_ms. */
void	blobc_gc_sweep(const struct blobc_stored *list, size_t n,
	    int64_t not_after_ms, blobc_gc_swept_cb, void *arg);
void	blobc_stats(blobc_stats_cb, void *arg);

/* The worker's socket (worker.c): blobc reads its hello, then requests go
 * over it until it closes (closed runs) or blobc_close, which fails the
 * requests in flight with err (after sending what is queued when err is
 * BERR_SHUTTING_DOWN). */
typedef void (*blobc_hello_cb)(void *arg);
typedef void (*blobc_closed_cb)(void *arg);
void	blobc_open(int fd, blobc_hello_cb hello, blobc_closed_cb closed,
	    void *arg);
void	blobc_close(int err);
/* Hands blobd a new stderr after berthd reopened its log. */
void	blobc_reopen_log(void);
/* What berthd accepts from blobd (the tests check it against blobd's). */
extern const struct rpc_rule	blobc_rules[];
extern const size_t		blobc_nrules;

/* ==== what the APIs share ================================================ */

/* --- registry passwords (auth.c) ----------------------------------------- */

/* The principal of a caller the credentials do not name one for: the
 * account's root, "arn:aws:iam::<account>:root". */
void	auth_principal_default(const char *account, char *out, size_t outsz);
/* A password for account/region until expires (epoch seconds), for the
 * principal (an ARN) whose pulls it makes; free it. */
char	*auth_token_issue(const char *account, const char *region,
	    const char *principal, int64_t expires);
/* 0 with the token's account, region and principal (PRINCIPAL_MAX + 1
 * bytes, may be NULL), or BERR_UNAUTHORIZED. */
int	auth_token_verify(const char *, size_t, char *account, char *region,
	    char *principal, int64_t *expires);
/* From an Authorization header: 0 with account, region and principal of
 * a valid "Basic AWS:<password>", BERR_UNAUTHORIZED otherwise (none
 * included). */
int	auth_basic_identity(const char *header, char *account, char *region,
	    char *principal);
/* The X-Berth-Download parameter of a download URL for the blob digest
 * of repository in account/region, valid until expires; free it. */
char	*auth_download_issue(const char *account, const char *region,
	    const char *repository, const char *digest, int64_t expires);
/* 0 with the account and region the parameter grants this blob in, or
 * BERR_DENIED (forged, for another blob, or expired). */
int	auth_download_verify(const char *param, const char *repository,
	    const char *digest, char *account, char *region);

/* --- byte ranges (range.c) ----------------------------------------------- */

/* What of an entity a response sends. */
struct byte_range {
	uint64_t	 off;
	uint64_t	 len;
	int		 partial;	/* one range of it: 206 */
};
/* A Range header (or NULL) against an entity of size bytes: 0 with the
 * range to send, partial for a satisfiable single range, else the whole
 * entity (absent, another unit, or several ranges);
 * BERR_RANGE_UNSATISFIABLE for a range past the end or a bytes range that
 * is not valid syntax (RFC 9110 14.2). */
int	range_parse(const char *, uint64_t size, struct byte_range *);
/* A chunk's Content-Range: "first-last", "bytes first-last/total" or
 * "bytes=first-last"; 0, or -1 when malformed or last < first. */
int	content_range_parse(const char *, uint64_t *first, uint64_t *last);

/* --- JSON from clients (json.c) ------------------------------------------ */

/* One JSON value, strictly, nested at most depth deep, with nothing but
 * white space after it, in UTF-8, no member name holding a NUL; a new
 * object, or NULL with why (if not NULL) saying what was wrong ("it is
 * not valid UTF-8", ...). */
struct json_object *json_parse_strict(const char *, size_t, int depth,
	    const char **why);
/* Whether a string anywhere in o (a parsed value) holds a NUL. */
int	json_has_nul(struct json_object *o);

/* --- manifests (manifest.c) ---------------------------------------------- */

#define MT_OCI_MANIFEST	"application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST \
	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST \
	"application/vnd.docker.distribution.manifest.list.v2+json"

struct json_object;

struct manifest_info {
	char		*media_type;
	char		*artifact_type;	/* the manifest's artifactType */
	const char	*config_media_type; /* in refs[0]; image manifests */
	int		 is_index;
	struct image_ref *refs;			/* config first, then layers */
	size_t		 nrefs;
	uint8_t		*foreign;	/* per ref: may live elsewhere */
	uint64_t	 layers_size;
	int		 has_subject;
	struct digest	 subject;
	char		 error[256];		/* why it is invalid */
};

int	manifest_type_known(const char *);
/* manifest_parse() flags. */
#define MANIFEST_LENIENT	0x1	/* --lenient-images: see manifest.c */
/*
 * Parses a manifest.  content_type (the HTTP Content-Type or ECR's
 * imageManifestMediaType, may be NULL) names the type when the body has
 * no mediaType.  0, or BERR_MANIFEST_INVALID with mi->error set.
 */
int	manifest_parse(const char *, size_t, const char *content_type,
	    int flags, struct manifest_info *);
void	manifest_info_clear(struct manifest_info *);
/* A deep copy of the manifest's annotations object, or NULL. */
struct json_object *manifest_annotations(const struct image *);

/* --- pushing images (image.c) -------------------------------------------- */

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
	int		 lenient;	/* blobs need not be in the repository;
					 * MANIFEST_LENIENT parsing */
	/* Adds records to the push's transaction (may be NULL). */
	void		(*extra)(struct txn *, void *);
	void		*extra_arg;
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

/* --- blob uploads (blob_upload.c) ---------------------------------------- */

/*
 * One blob upload into a repository, for the OCI routes and ECR's layer
 * operations alike.  Each operation below calls cb exactly once, never
 * before it returns, with 0 or a negative BERR code and a size as
 * blobc_size_cb has it; one operation at a time, and the struct stays put
 * until its callback ran.
 */
typedef void (*blob_upload_cb)(int err, uint64_t size, void *arg);

/* The largest layer ECR takes (its service quotas: 52,000 MiB), on both
 * APIs. */
#define LAYER_MAX		(52000ULL * 1024 * 1024)

struct blob_upload {
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		 repository[NAME_MAX_LEN + 1];
	char		 owner[OWNER_MAX];
	uint8_t		 id[UPLOAD_ID_LEN];
	char		 id_str[UUID_STR_LEN];	/* "" until there is one */

	/* The operation running: blob_upload.c's own. */
	blob_upload_cb	 cb;
	void		*arg;
	int		 flags;
	struct digest	 digest;
	uint64_t	 size;
	uint64_t	 length;		/* of an append; UINT64_MAX */
	int		 source_pending;
	int		 reply_pending;
	int		 source_err;
	int		 reply_err;
	struct http_request *req;		/* a body being streamed */
	uint8_t		*data;			/* bytes being written */
	int		 data_lent;		/* the caller's: not freed */
	size_t		 len;
	size_t		 off;
	int		 wfd;
	int		 rfd;			/* a pipe not yet with blobd */
	uint64_t	 offset;		/* of the append it is for */
	struct event	*ev;
	struct blobc_blob blob;			/* being stored */
	struct txn	 link;			/* its link record */
};

/* The session of repository in account/region (none yet). */
void	blob_upload_init(struct blob_upload *, const char *account,
	    const char *region, const char *repository);
/* The session a client names by its id; 0, or BERR_UPLOAD_UNKNOWN when
 * the text is not an upload id. */
int	blob_upload_set_id(struct blob_upload *, const char *);
/* A new session (u->id, u->id_str), whose bytes blobd hashes with algo. */
void	blob_upload_create(struct blob_upload *, enum digest_algo,
	    blob_upload_cb, void *arg);
/* The session's size. */
void	blob_upload_stat(struct blob_upload *, blob_upload_cb, void *arg);
void	blob_upload_cancel(struct blob_upload *, blob_upload_cb, void *arg);
/*
 * Appends a request's body (length bytes, UINT64_MAX when unknown) at
 * offset, which must be the session's size (UINT64_MAX: whatever it is).
 * err is blobd's, else BERR_UPLOAD_INVALID when the body was cut short
 * (blobd kept what came), else BERR_RANGE_INVALID when it was not length
 * bytes, else BERR_TOO_LARGE when it took the layer past LAYER_MAX.
 * Returns 0, or BERR_TOO_LARGE when length or offset say it would, or
 * BERR_IO when nothing could be started (cb does not run then).
 */
int	blob_upload_append_body(struct blob_upload *, struct http_request *,
	    uint64_t offset, uint64_t length, blob_upload_cb, void *arg);
/* The same for len bytes of data, which it takes. */
int	blob_upload_append_bytes(struct blob_upload *, uint8_t *data,
	    size_t len, uint64_t offset, blob_upload_cb, void *arg);
/* The same for bytes the caller keeps until cb (a body read whole). */
int	blob_upload_append_lent(struct blob_upload *, const void *data,
	    size_t len, uint64_t offset, blob_upload_cb, void *arg);
/* The same for what another process writes into *wfd, a pipe's write end
 * the caller hands on; the caller reports how the writer ended with
 * blob_upload_source_end (0, or the BERR code of its failure, which makes
 * err BERR_UPLOAD_INVALID), and cb runs once blobd has answered too. */
int	blob_upload_append_pipe(struct blob_upload *, uint64_t offset,
	    int *wfd, blob_upload_cb, void *arg);
void	blob_upload_source_end(struct blob_upload *, int err);

/* A digest mismatch at commit ends the session (OCI). */
#define BLOB_UPLOAD_DISCARD	0x1
/* BERR_EXISTS when the repository has the blob already (ECR). */
#define BLOB_UPLOAD_LINK_NEW	0x2
/*
 * Commits the session as the blob d names (blobd verifies it and its
 * size, UINT64_MAX when not known), and links the blob in the repository:
 * the callback's size is the blob's.  BERR_NAME_UNKNOWN when the
 * repository went meanwhile.
 */
void	blob_upload_commit(struct blob_upload *, const struct digest *d,
	    uint64_t size, int flags, blob_upload_cb, void *arg);
/* Commits without a size that berthd had to ask blobd for (no answer to
 * the session's last append remembered), since the start. */
uint64_t blob_upload_size_lookups(void);
/* The same after appending len bytes of data (at most BLOB_WRITE_MAX,
 * kept until cb runs) to the session; with no session (u has no id), the
 * data are the whole blob. */
void	blob_upload_finish(struct blob_upload *, const struct digest *d,
	    const void *data, size_t len, int flags, blob_upload_cb,
	    void *arg);
/* Links a stored blob of size bytes in the repository, durably. */
void	blob_upload_link(struct blob_upload *, const struct digest *d,
	    uint64_t size, int flags, blob_upload_cb, void *arg);

/* --- the blob descriptor cache (blob_cache.c) ---------------------------- */

struct evbuffer_file_segment;
/* seg (NULL unless err is 0) is the cache's: a response takes its own
 * reference. */
typedef void (*blob_cache_cb)(int err, const struct digest *,
    struct evbuffer_file_segment *seg, uint64_t size, void *arg);
/* The cached segment of the blob and its size, or NULL. */
struct evbuffer_file_segment *blob_cache_get(const struct digest *,
	    uint64_t *size);
/* Has blobd open the blob and caches it; cb runs after this returns. */
void	blob_cache_open(const struct digest *, blob_cache_cb, void *arg);
/* Drops every cached descriptor (after GC deleted files). */
void	blob_cache_forget_all(void);

/* ==== the APIs =========================================================== */

/* --- the OCI distribution API (oci*.c) ----------------------------------- */

/* The query parameter that makes a GetDownloadUrlForLayer URL its own
 * credential (auth_download_verify). */
#define OCI_DOWNLOAD_PARAM	"X-Berth-Download"
/* How long such a URL works, in seconds. */
#define OCI_DOWNLOAD_TTL	3600

/* Whose registry a request addresses. */
struct oci_ident {
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		 principal[PRINCIPAL_MAX + 1];	/* whose pulls */
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
/* An anonymous GET or HEAD of /v2/, the clients' ping: its answer needs
 * no model (only --require-auth and the Host), so it is answered while
 * berthd starts. */
int	oci_is_anonymous_ping(struct http_request *, const char *path);
/* Parses "<account>.dkr.ecr.<region>.<localhost|amazonaws.com>[:port]":
 * 0 with account and region, or -1. */
int	oci_host_identity(const char *host, char *account, char *region);
/* The repository of that name in id's registry; NULL when there is none,
 * and req was answered NAME_UNKNOWN. */
struct repository *oci_repository(struct http_request *,
	    const struct oci_ident *, const char *name);
/* Answers a create-on-push that failed (a txn_repo_ensure's error). */
void	oci_repository_create_failed(struct http_request *, int err,
	    const char *account, const char *name);
void	oci_error(struct http_request *, int err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	oci_location(struct http_request *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
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
/* A blob response's headers: its digest, ETag, Accept-Ranges. */
void	oci_blob_headers(struct http_request *, const struct digest *);

/* oci_upload.c */
void	oci_upload_start(struct http_request *, const struct oci_ident *,
	    const char *name);
void	oci_upload_patch(struct http_request *, const struct oci_ident *,
	    const char *name, const char *uuid);
void	oci_upload_finish(struct http_request *, const struct oci_ident *,
	    const char *name, const char *uuid);
/* GET: the session's status; DELETE: cancels it. */
void	oci_upload_query(struct http_request *, const struct oci_ident *,
	    const char *name, const char *uuid);

/* --- the ECR API (ecr.c; the rest in ecr.h) ------------------------------ */

/* Compiles the model's patterns, binds the handlers to the model's
 * operations (fatal if one names an operation the model lacks), loads
 * --credentials; 0 or -1. */
int	ecr_init(void);
/* Reads --credentials again (SIGHUP) from fd, which the spawner opened
 * (berthd cannot open files once confined) and which is closed; 0, or -1
 * keeping the old keys. */
int	ecr_credentials_reload(int fd);
void	ecr_dispatch(struct http_request *);
/* The host put into repository URIs, proxyEndpoint and download URLs:
 * --advertise-host, else the host of --listen (localhost for a wildcard
 * address). */
const char *ecr_advertise_host(void);
/* Answers a refusal of the HTTP layer (router_refusal_cb) as ECR does an
 * error: err's status and exception, reason as the message. */
void	ecr_refuse(struct http_request *, int err, const char *reason);

/* --- admin API (admin.c) ------------------------------------------------- */

void	admin_dispatch(struct http_request *, const char *path);

/* admin_query.c: an admin request's query, read strictly. */
#define ADMIN_Q_DRY_RUN		0x1	/* dry_run=1|true|yes|0|false|no */
#define ADMIN_Q_REGISTRY	0x2	/* account=ID, region=REGION */
#define ADMIN_Q_REPOSITORY	0x4	/* repository=NAME */

struct admin_query {
	int		 dry_run;	/* 0 when absent */
	const char	*account;	/* NULL when absent; the request's */
	const char	*region;
	const char	*repository;
};

/* Reads the query of req for an endpoint taking the parameters allowed:
 * 0, or -1 with why set for an unknown or repeated parameter, one that
 * does not decode, or a value that is not one. */
int	admin_query_parse(struct http_request *, unsigned int allowed,
	    struct admin_query *, char *why, size_t whysz);
/* {"error": message} with that status. */
void	admin_error(struct http_request *, int status, const char *message);
/* admin_lifecycle.c: POST lifecycle/run (of one repository or registry,
 * or all: NULLs); GET and POST clock. */
void	admin_lifecycle_run(struct http_request *, const char *account,
	    const char *region, const char *repository);
void	admin_clock(struct http_request *);

/* ==== routing ============================================================ */

/* --- routing (router.c) -------------------------------------------------- */

void	router_dispatch_cb(struct http_request *, void *arg);
/* Answers req with body as application/json, and frees body. */
void	router_json(struct http_request *, int status, struct json_object *);
/* The HTTP layer's refusals, in the shape of the API of the path. */
void	router_refusal_cb(struct http_request *, int err, const char *reason,
	    void *arg);
/* Dispatches the requests held while berthd started (worker_start). */
void	router_release(void);

/* --- requests from web pages (origin.c) --------------------------------- */

/* Says whether berthd listens on loopback addresses only (then every
 * route, not only the admin API, checks Host). */
void	origin_set_loopback_listener(int);
/* Whether a Host value names this registry as a browser would only if no
 * DNS rebinding is at play: localhost, *.localhost, an address, an ECR
 * registry name, the advertised host; or absent (HTTP/1.0). */
int	origin_host_allowed(const char *host);
/* 1 with the reason in why when req must be refused as a web page's
 * (a Host the rule above refuses, for the admin API or a loopback
 * listener; a change sent by a page of another origin); else 0. */
int	origin_refusal(struct http_request *, int admin, char *why,
	    size_t whysz);

/* --- metrics (metrics.c) ------------------------------------------------- */

struct evbuffer;
/* The HTTP layer's summary callback: counts and writes the access log. */
void	metrics_request_cb(const struct http_request_summary *, void *);
/* Prometheus text; st is blobd's statistics or NULL when it is down. */
void	metrics_render(struct evbuffer *, const struct blobc_stats *st);

/* ==== the process ======================================================== */

/* --- the worker process (worker.c) --------------------------------------- */

/* Has the spawner start berth-blobd and waits for its hello and the
 * metadata, serving the requests that need neither meanwhile and holding
 * the others (router.c, for router_release()); fatal if it cannot start
 * (data directory locked, bad arguments). */
void	worker_start(void);
/* Closes blobd's socket; the spawner then reaps it (spawner_stop). */
void	worker_stop(void);
/* Said hello and the metadata is loaded. */
int	worker_up(void);
/* The readiness rule of every API: the worker is up and no reload of the
 * metadata is under way, so the model is the disk's.  Until then requests
 * that read or change the model answer 503 (ECR: ServerException) with
 * Retry-After, and worker_unready_reason says why. */
int	worker_ready(void);
const char *worker_unready_reason(void);
/* 1 until berthd's first worker_start() returned: the model was never
 * loaded, and requests that need it wait rather than fail. */
int	worker_first_start_pending(void);
/* "down", "starting" (no hello yet), "loading" (the metadata) or "up". */
const char *worker_state(void);
/* The running worker's process id, or -1. */
pid_t	worker_pid(void);
uint64_t worker_restarts(void);
/* The spawner's answers (spawner.c): a worker started, with berthd's end
 * of its socket; could not be started (an errno); exited (a waitpid()
 * status). */
void	worker_started(pid_t, int fd);
void	worker_failed(int err);
void	worker_exited(pid_t, int status);

/* Restarting a child that died (blobd, fetchd, scand) after a backoff of 100 ms
 * doubling to 10 s, back to 100 ms once it had been up 30 s. */
struct restart {
	const char	*name;		/* for the log */
	void		(*cb)(void);	/* starts the child again */
	struct event	*ev;
	int64_t		 backoff_ms;
	int64_t		 up_since;	/* mono_ms() of its hello, or 0 */
	uint64_t	 restarts;	/* counted by the owner */
};
void	restart_init(struct restart *, const char *name, void (*cb)(void));
/* Logs that the child how ("exited with status 1") and calls cb later. */
void	restart_schedule(struct restart *, const char *how);
/* Calls cb after ms, without a log line or a change of the backoff: a
 * first start put off. */
void	restart_later(struct restart *, int64_t ms);
int	restart_pending(const struct restart *);
void	restart_cancel(struct restart *);
/* A waitpid() status as restart_schedule's how. */
void	restart_describe_exit(int status, char *how, size_t howsz);
/* Sends the child, over chan (may be NULL), a copy of berthd's stderr in
 * a frame of type, after berthd reopened its log. */
void	restart_send_stderr(struct rpc_chan *chan, uint32_t type);

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

/* What berthd accepts from berth-fetchd (fuzz_frame checks frames against
 * it): strings terminated, lengths that add up, known results. */
extern const struct rpc_rule	fetchc_rules[];
extern const size_t		fetchc_nrules;
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

/* --- the spawner (spawner.c) --------------------------------------------- */

/* The files berthd needs after it has confined itself, by name: the
 * spawner opens the paths given on the command line, nothing else. */
enum spawn_file {
	SPAWN_FILE_LOG = 1,		/* --log-file, to append */
	SPAWN_FILE_CREDENTIALS,		/* --credentials, to read */
	SPAWN_FILE_PTC_SECRETS,		/* --pull-through-secrets, to read */
	SPAWN_FILE_SIGNING_KEY,		/* --signing-key, to read */
	SPAWN_FILE__MAX
};

/* Forks the spawner; before berthd drops its privileges or confines
 * itself, after event_base_new() and before any signal event. */
void	spawner_start(void);
void	spawner_request_worker(void);
void	spawner_request_fetcher(void);
void	spawner_request_scanner(void);
/* Kills the worker, the fetcher or the scanner of that pid. */
void	spawner_kill_worker(pid_t);
/* fd is the open file (the callback owns it) when err is 0. */
typedef void (*spawner_opened_cb)(int err, int fd, void *arg);
void	spawner_open(enum spawn_file, spawner_opened_cb, void *arg);
/* Closes the spawner's socket (it ends its worker and exits) and waits
 * for it, at most ten seconds. */
void	spawner_stop(void);

/* --- users and privileges (priv.c) --------------------------------------- */

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

/* --- the service manager (notify.c) -------------------------------------- */

/* Sends state ("READY=1", "STOPPING=1") to $NOTIFY_SOCKET if set. */
void	notify_service(const char *state);

#endif
