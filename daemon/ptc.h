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
 * berthd's pull-through cache: rules (registry settings "ptc/<prefix>",
 * ptc.c) and the secrets file their credentialArn names, the five rule
 * operations of the ECR API (ecr_ptc.c), pulls that fetch what is not
 * cached from the upstream through berth-fetchd (ptc_pull.c), logins to
 * an upstream ECR (ptc_login.c), and blobs the store holds already linked
 * once the upstream vouches for them (ptc_link.c).
 */
#ifndef BERTHD_PTC_H
#define BERTHD_PTC_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct digest;
struct ecr_req;
struct http_request;
struct json_object;
struct oci_ident;
struct registry;

/* Registry settings keys: "ptc/<ecrRepositoryPrefix>" holds a rule. */
#define PTC_KEY_PREFIX		"ptc/"
/* Rules per registry, as ECR's service quota. */
#define PTC_RULES_MAX		50
/* What went wrong with a pull, for the client, at most. */
#define PTC_WHY_MAX		512

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

/* --- rules and secrets (ptc.c) -------------------------------------------- */

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

/* --- pulls (ptc_pull.c) --------------------------------------------------- */

/* A pull from repository name of account's registry in region, by the
 * caller's account (which the registry policy must let import into it
 * when it is another). */
struct ptc_pull {
	const char	*caller;
	const char	*account;
	const char	*region;
	const char	*name;
};

/* Whether a rule covers repository name of reg (its images come through
 * the cache). */
int	ptc_covered(const struct registry *, const char *name);

/* err is 0 when what was asked is held now (or a cached copy stands in
 * for an upstream that failed), else a BERR code; why says what went
 * wrong, for the client. */
typedef void (*ptc_done_cb)(int err, const char *why, void *arg);

/*
 * Makes sure the manifest ref (a tag or a digest) of a repository a rule
 * covers is held, fetching it from the upstream (and creating the
 * repository, with a PULL_THROUGH_CACHE creation template when one
 * applies) when it is not, or when a tag's last check is older than
 * --pull-through-refresh.  0 when there is nothing to do (no rule covers
 * the repository, or the copy held is fresh): cb does not run.  1 when cb
 * runs later, exactly once.
 */
int	ptc_manifest_ensure(const struct ptc_pull *, const char *ref,
	    ptc_done_cb, void *arg);
/* The same for a blob: fetched into the store through the one upload
 * flow, verified against its digest, linked in the repository; one fetch
 * for every pull of it that comes while it runs. */
int	ptc_blob_ensure(const struct ptc_pull *, const struct digest *,
	    ptc_done_cb, void *arg);
/* The same, with a GET or a HEAD without a Range (sreq, with arg a struct
 * ptc_oci of ptc_stream.c), or NULL: a GET of the whole blob is shown it
 * as it comes when this pull starts the fetch, else it and a Range GET
 * join it (ptc_join.c) once the upstream gave the size; a HEAD is
 * answered with that size (ptc_oci_head), and cb then only frees arg. */
int	ptc_blob_fetch(const struct ptc_pull *, const struct digest *,
	    ptc_done_cb, void *arg, struct http_request *sreq);

/* When a tag was last checked upstream ("account/region/name:tag"), and
 * an upstream ECR's login password for a rule, valid until ms
 * ("login:account/region/prefix", ptc_login.c). */
struct ptc_check {
	char	*key;
	int64_t	 ms;
	char	*secret;
};
/* The entry of key, made empty when there is none. */
struct ptc_check *ptc_check_get(const char *key);
/* The BERR code of a fetch's outcome; not_found for an upstream 404. */
struct msg_fetch_done;
int	ptc_fetch_err(const struct msg_fetch_done *, int not_found);

/* --- blobs the store holds, linked (ptc_link.c) -------------------------- */

struct fetchc_request;
/* Whether the store holds blob d already (the model knows it linked in
 * some repository), which GC then keeps for its grace period. */
int	ptc_link_candidate(const struct digest *);
/* A ptc_done_cb's err: the store has the blob no more, or the upstream's
 * HEAD described other content (its Content-Length or
 * Docker-Content-Digest): fetch it. */
#define PTC_LINK_FETCH		1
/*
 * Asks the upstream with rq (the GET of blob d in the repository a rule
 * maps p's to, made a HEAD) whether it has the blob; on its 200, when
 * the length and digest it gives (if any) are the stored blob's, the
 * stored blob is linked into p's repository, durably.  cb runs later,
 * exactly once: 0 once linked, PTC_LINK_FETCH, or the BERR code of the
 * upstream's answer (BERR_BLOB_UNKNOWN for a 404) with why; nothing is
 * linked then.
 */
void	ptc_link_stored(const struct ptc_pull *, const struct digest *,
	    const struct fetchc_request *rq, ptc_done_cb, void *arg);

/* --- logins to an upstream ECR (ptc_login.c) ----------------------------- */

/*
 * Logs in to the upstream ECR of a rule of account's registry in region
 * when the rule names a customRoleArn and has no login yet:
 * GetAuthorizationToken on the upstream's API, signed with the keys the
 * secrets file gives for the role (as ECR assumes the role).  0 when
 * there is nothing to do (cb does not run), 1 when cb runs later, exactly
 * once.  Then ptc_login_password is the login's password ("AWS" is the
 * user), or NULL when there is none that has not expired.
 */
int	ptc_login(const char *account, const char *region,
	    const struct ptc_rule *, ptc_done_cb, void *arg);
const char *ptc_login_password(const char *account, const char *region,
	    const struct ptc_rule *);
/* After the upstream refused a request (401, 403): forgets the rule's
 * login, which the upstream may have revoked or expired early.  1 when
 * there was one (log in again once and retry), else 0. */
int	ptc_login_drop(const char *account, const char *region,
	    const struct ptc_rule *);

/* Called first by the OCI manifest and blob GET and HEAD (ptc_stream.c);
 * 1 when the request was taken (fetched from the upstream, then served), 0 when it
 * goes on as usual. */
int	ptc_manifest_intercept(struct http_request *,
	    const struct oci_ident *, const char *name, const char *ref);
int	ptc_blob_intercept(struct http_request *, const struct oci_ident *,
	    const char *name, const char *digest);

/* --- a blob shown to its first client as it comes (ptc_stream.c) -------- */

struct ptc_tee;
/* A copier of what berth-fetchd writes into *fetch_wfd (set: a pipe's
 * write end for it) on into store_wfd (blobd's upload pipe, taken), and
 * to a client once one is given; NULL when no pipe could be made. */
struct ptc_tee *ptc_tee_new(int store_wfd, int *fetch_wfd);
/* The upstream's answer is known: with req, the response of length bytes
 * starts (all but its last byte go as they come); with NULL, no client. */
void	ptc_tee_client(struct ptc_tee *, struct http_request *,
	    uint64_t length);
int	ptc_tee_undecided(const struct ptc_tee *);
/* blobd's verdict: with ok (the blob verified and stored), the client gets
 * the rest of its length; otherwise its connection closes short.  Frees
 * the tee. */
void	ptc_tee_end(struct ptc_tee *, int ok);

/* The framing of a chunked response (http_respond_chunked()) whose data
 * its handler moves to the client's socket itself. */
struct ptc_chunks {
	char		 head[32];	/* the next chunk's head */
	size_t		 head_len;
	size_t		 head_off;	/* of it written */
	size_t		 left;		/* of the chunk's data to go */
	uint64_t	 sent;		/* data bytes in all */
};
/* Writes the head of a chunk of avail bytes (> 0) when no chunk is open;
 * then how many bytes of the chunk may go, or -1 with errno (EAGAIN: the
 * socket is full). */
ssize_t	ptc_chunks_head(struct ptc_chunks *, int sock, size_t avail);
void	ptc_chunks_moved(struct ptc_chunks *, size_t);
/* Queues the last chunk, which says the body is whole: 0, or -1 when a
 * chunk is not finished. */
int	ptc_chunks_end(struct ptc_chunks *, struct http_request *);

/* --- GETs that join a blob's fetch (ptc_join.c) -------------------------- */

struct blob_upload;
struct ptc_join;
/* req, a GET of blob d (whole, or a Range of it), is to be served from
 * u's file as the fetch fills it; length is the blob's (the upstream's
 * Content-Length, UINT64_MAX when it gave none).  A Range the blob's
 * length does not satisfy, or of a blob of unknown length, waits for the
 * store instead (ptc_join_verdict gives it back). */
struct ptc_join *ptc_join_new(struct http_request *req,
	    const struct digest *d, const struct blob_upload *u,
	    uint64_t length);
/* The fetch ended (ok: verified and stored).  1 when the join has the
 * request (it ends it, and frees itself), 0 when the caller serves it as
 * a waiter (the join is no longer its). */
int	ptc_join_verdict(struct ptc_join *, int ok);
/* For ptc_pull.c: the waiter arg (a struct ptc_oci of ptc_stream.c) of a
 * GET that ptc_blob_fetch() was given as joinable joins the fetch. */
void	ptc_oci_join(void *arg, const struct digest *,
	    const struct blob_upload *, uint64_t length);
/* The same for a HEAD: answered now, the blob's length as the upstream's
 * 200 gave it (which the digest check of the fetch confirms). */
void	ptc_oci_head(void *arg, const struct digest *, uint64_t length);

/* --- the ECR operations (ecr_ptc.c) --------------------------------------- */

void	ecr_ptc_create(struct ecr_req *);
void	ecr_ptc_describe(struct ecr_req *);
void	ecr_ptc_update(struct ecr_req *);
void	ecr_ptc_delete(struct ecr_req *);
void	ecr_ptc_validate(struct ecr_req *);
/* BatchGetImage and GetDownloadUrlForLayer in a repository a rule covers:
 * 1 when the request was taken (fetched, then answered by the _held
 * handler or with UnableToGetUpstream*Exception), 0 when it goes on. */
int	ecr_ptc_batch_get(struct ecr_req *);
int	ecr_ptc_download_url(struct ecr_req *);

#endif
