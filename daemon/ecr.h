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
 * The ECR API's own declarations, for ecr*.c and sigv4.c: the API model
 * generated from botocore's (ecr_model.c) and its validation, AWS
 * Signature Version 4, the request every operation handles and the
 * handlers.  Its entry points (ecr_init, ecr_dispatch) are in berthd.h.
 * Adding an operation is a row in ecr.c's table and a handler here.
 */
#ifndef BERTH_ECR_H
#define BERTH_ECR_H

#include "berthd.h"

/* --- the ECR API model (ecr_model.c, generated; ecr_validate.c) ---------- */

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
/* Compiles every pattern of the model; 0, or -1 if one does not
 * translate or compile (a bug in the translation, which the unit tests
 * catch).  ecr_pattern_match compiles each at its first use, and that
 * failing is fatal: compiling all of them was a seventh of berthd's
 * start. */
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
 * are ignored, null is absent.  0 when it is valid, else -1 with the
 * exception to answer in *exc ("SerializationException" for a JSON value
 * of the wrong type; InvalidParameterException or ValidationException for
 * a constraint) and its message in msg.
 */
int	ecr_validate(const struct ecr_operation *op, struct json_object *in,
	    const char **exc, char *msg, size_t msgsz);

/* --- AWS Signature Version 4 (sigv4.c) ----------------------------------- */

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
	/* The key's principal from the credentials file, else "" (ecr.c
	 * then names the account's default, auth_principal_default). */
	char	 principal[PRINCIPAL_MAX + 1];
};

/* Reads a credentials file ("ACCESS_KEY SECRET [ACCOUNT] [PRINCIPAL_ARN]"
 * lines, '#' comments) and turns verification on; 0, or -1 (logged)
 * leaving the keys in force unchanged. */
int	sigv4_credentials_load(const char *path);
/* The same from an open descriptor (closed); path names it in messages. */
int	sigv4_credentials_load_fd(int fd, const char *path);
int	sigv4_verifying(void);
/* The Authorization header of r signed for region and service with
 * access_key and secret at amz_date ("YYYYMMDDTHHMMSSZ"), over the headers
 * signed_headers names ("host;x-amz-date", lower case, sorted), which r's
 * headers() gives; free it.  What berthd asks of an upstream ECR. */
char	*sigv4_sign(const struct sigv4_request *r, const char *signed_headers,
	    const char *access_key, const char *secret, const char *region,
	    const char *service, const char *amz_date);
/* 0, or -1 with IncompleteSignatureException's message in why. */
int	sigv4_parse(const char *, struct sigv4_auth *, char *why,
	    size_t whysz);
/* The canonical request (free it). */
char	*sigv4_canonical_request(const struct sigv4_request *,
	    const struct sigv4_auth *, const char *payload_hash);
/*
 * The identity of a request: account and region from the credential
 * scope, else --account-id and --region.  With verification on, the
 * signature is checked as AWS does (now: epoch seconds).  0 when the
 * request may go on, else -1 with the exception to answer in *exc and its
 * message in msg.
 */
int	sigv4_check(const struct sigv4_request *, int64_t now,
	    struct sigv4_identity *, const char **exc, char *msg,
	    size_t msgsz);

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
	char		 request_id[UUID_STR_LEN];
	size_t		 body_share;	/* of the memory bodies may take */
	struct ecr_req	*next_waiting;	/* for that memory, in order */
};

/* ecr.c */
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
/* The repository of that name in the registry addressed; NULL when there
 * is none, and r was answered RepositoryNotFoundException. */
struct repository *ecr_repository_find(struct ecr_req *, const char *name);
/* Runs cont(r) once repository name exists: at once, or after creating it
 * when a push may (a CREATE_ON_PUSH template, --create-on-push); else r is
 * answered RepositoryNotFoundException (ecr_repository.c). */
void	ecr_push_repository(struct ecr_req *, const char *name,
	    void (*cont)(struct ecr_req *));
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

/* ecr_registry.c */
/* "host:port" of the registry of account/region, as URIs name it. */
void	ecr_registry_host(const char *account, const char *region,
	    char *out, size_t outsz);
void	ecr_registry_describe(struct ecr_req *);
void	ecr_registry_put_replication(struct ecr_req *);
void	ecr_registry_replication_status(struct ecr_req *);
void	ecr_registry_put_policy(struct ecr_req *);
void	ecr_registry_get_policy(struct ecr_req *);
void	ecr_registry_delete_policy(struct ecr_req *);
void	ecr_registry_put_setting(struct ecr_req *);
void	ecr_registry_get_setting(struct ecr_req *);
/* The registry setting key of r's registry; NULL when it is missing and r
 * was answered with exception ("<what> does not exist in the registry with
 * id ..."). */
const char *ecr_registry_setting_find(struct ecr_req *, const char *key,
	    const char *exception, const char *what);
/* Deletes the setting key of r's registry; answers out once durable. */
void	ecr_registry_setting_delete(struct ecr_req *, const char *key,
	    struct json_object *out);
/* Answers r with an image's statuses (status(), under member, with the
 * registryId too when with_registry): the Describe*Status operations. */
void	ecr_registry_image_status(struct ecr_req *,
	    struct json_object *(*status)(const struct repository *,
	    const struct digest *), const char *member, int with_registry);

/* ecr_template.c */
void	ecr_template_create(struct ecr_req *);
void	ecr_template_describe(struct ecr_req *);
void	ecr_template_update(struct ecr_req *);
void	ecr_template_delete(struct ecr_req *);

/* ecr_signing.c */
void	ecr_signing_put(struct ecr_req *);
void	ecr_signing_get(struct ecr_req *);
void	ecr_signing_delete(struct ecr_req *);
void	ecr_signing_status(struct ecr_req *);

/* ecr_repository.c */
void	ecr_repository_create(struct ecr_req *);
void	ecr_repository_describe(struct ecr_req *);
void	ecr_repository_delete(struct ecr_req *);
void	ecr_repository_put_mutability(struct ecr_req *);
void	ecr_repository_put_scanning(struct ecr_req *);
/* arn:aws:ecr:<region>:<account>:repository/<name>; free it. */
char	*ecr_repository_arn(const struct repository *);
/* imageTagMutability and its exclusion filters, or encryptionConfiguration,
 * from r into c (CreateRepository's rules; the creation templates' too);
 * 0, or -1 when r was answered with the error. */
int	ecr_repository_parse_mutability(struct ecr_req *, struct repo_config *,
	    int required);
int	ecr_repository_parse_encryption(struct ecr_req *, struct repo_config *);

/* ecr_image.c */
void	ecr_image_put(struct ecr_req *);
void	ecr_image_batch_get(struct ecr_req *);
/* BatchGetImage of what berth holds, after the pull-through cache fetched
 * what it could: upstream (NULL, or one per imageIds entry) gives the
 * failure of the entries the upstream failed (code NULL for the rest). */
struct ecr_upstream_failure {
	const char	*code;		/* ImageFailureCode */
	char		 reason[384];
};
void	ecr_image_batch_get_held(struct ecr_req *,
	    const struct ecr_upstream_failure *upstream);
void	ecr_image_describe(struct ecr_req *);
void	ecr_image_list(struct ecr_req *);
void	ecr_image_batch_delete(struct ecr_req *);
void	ecr_image_update_storage_class(struct ecr_req *);
/* The image r's ImageIdentifier id names in repo; NULL when r was
 * answered (InvalidParameterException, ImageNotFoundException). */
struct image *ecr_image_resolve(struct ecr_req *, struct repository *,
	    struct json_object *id);
/* {imageDigest, imageTag} of img as r's imageId named it. */
struct json_object *ecr_image_id_json(struct ecr_req *, const struct image *);

/* ecr_layer_part.c: the layer part quotas */
#define ECR_PART_MAX		(10 * 1024 * 1024)	/* a part: at most */
#define ECR_PART_MIN		(5 * 1024 * 1024)	/* but the last: least */
#define ECR_PARTS_MAX		4200			/* per upload */

/* What an upload has received, as far as berthd saw it. */
struct layer_parts {
	uint8_t		 id[UPLOAD_ID_LEN];
	uint32_t	 parts;		/* received */
	uint64_t	 last_len;	/* the last one's length */
	int		 small;		/* one before the last was short */
	int64_t		 used_ms;
};

/* The record of an upload whose size is size, made if there is none. */
struct layer_parts *layer_parts_get(const uint8_t id[UPLOAD_ID_LEN],
	    uint64_t size);
void	layer_parts_forget(const uint8_t id[UPLOAD_ID_LEN]);
/* The exception a part of len bytes at first breaks a quota with (its
 * message in msg), or NULL. */
const char *layer_part_check(const struct layer_parts *, uint64_t first,
	    uint64_t len, char *msg, size_t msgsz);
/* Counts a part the upload took. */
void	layer_part_note(struct layer_parts *, uint64_t len);

/* ecr_scan.c */
void	ecr_scan_start(struct ecr_req *);
void	ecr_scan_findings(struct ecr_req *);
/* DescribeImages' imageScanStatus and imageScanFindingsSummary. */
void	ecr_scan_summary(struct json_object *detail, const struct image *);

/* ecr_scanning.c */
void	ecr_scanning_put_registry(struct ecr_req *);
void	ecr_scanning_get_registry(struct ecr_req *);
void	ecr_scanning_batch_get(struct ecr_req *);

/* ecr_layer.c */
void	ecr_layer_check(struct ecr_req *);
void	ecr_layer_initiate(struct ecr_req *);
void	ecr_layer_upload_part(struct ecr_req *);
void	ecr_layer_complete(struct ecr_req *);
void	ecr_layer_download_url(struct ecr_req *);
/* GetDownloadUrlForLayer of what berth holds (the cache fetched it). */
void	ecr_layer_download_url_held(struct ecr_req *);

/* ecr_auth.c */
void	ecr_auth_token(struct ecr_req *);

/* ecr_lifecycle.c */
void	ecr_lifecycle_put(struct ecr_req *);
void	ecr_lifecycle_get(struct ecr_req *);
void	ecr_lifecycle_delete(struct ecr_req *);
/* The repository the request names, if it has a lifecycle policy; else
 * NULL, and r was answered. */
struct repository *ecr_lifecycle_repository(struct ecr_req *);

/* ecr_lifecycle_preview.c */
void	ecr_lifecycle_preview_start(struct ecr_req *);
void	ecr_lifecycle_preview_get(struct ecr_req *);
/* Adds to t the removal of repo's preview, if it has one (its repository
 * is going); 0 or the txn's error. */
int	ecr_lifecycle_preview_forget(struct txn *, struct repository *);

/* ecr_referrer.c */
void	ecr_referrer_list(struct ecr_req *);

/* ecr_pull_exclusion.c */
void	ecr_pull_exclusion_register(struct ecr_req *);
void	ecr_pull_exclusion_deregister(struct ecr_req *);
void	ecr_pull_exclusion_list(struct ecr_req *);

/* ecr_policy.c */
void	ecr_policy_set(struct ecr_req *);
void	ecr_policy_get(struct ecr_req *);
void	ecr_policy_delete(struct ecr_req *);
/* Whether text is an IAM policy document fit for a repository. */
int	ecr_policy_valid(const char *text, size_t len);

/* ecr_tag.c */
void	ecr_tag_resource(struct ecr_req *);
void	ecr_tag_untag_resource(struct ecr_req *);
void	ecr_tag_list(struct ecr_req *);
/* Merges a request's [{"Key","Value"}] into c's tags with ECR's limits;
 * 0, or -1 when r was answered with the error. */
int	ecr_tag_merge(struct ecr_req *, struct repo_config *c,
	    struct json_object *tags);

#endif
