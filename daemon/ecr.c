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
 * The ECR API over AWS JSON 1.1: POST / with X-Amz-Target
 * "AmazonEC2ContainerRegistry_V20150921.<Operation>".  This file is the
 * protocol: target, content type, body limits, JSON, the caller's identity
 * (SigV4), validation from the model, the registry addressed, the
 * response and error envelopes (also once a change is durable), and
 * pagination tokens.  The operations live in ecr_*.c.
 *
 * Choices where AWS gives no single answer:
 * - An operation of the model that berth does not implement yet answers
 *   400 UnknownOperationException "berth does not implement <Op> yet":
 *   what a client sees from an AWS endpoint that lacks the operation,
 *   never a fake success.
 * - A Content-Type other than the AWS JSON ones (1.1, 1.0) or
 *   application/json answers 400 SerializationException; a missing one is
 *   taken as JSON, as the SDKs always send it.
 * - A body over the operation's limit answers 413 with __type
 *   RequestEntityTooLargeException.
 * - A nextToken is the base64 of the cursor and an HMAC (under the
 *   registry's token key) binding it to the operation, the registry and
 *   the repository; anything else answers InvalidParameterException.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "ptc.h"
#include "utf8.h"
#include "util.h"

#define ECR_JSON_DEPTH		32
#define ECR_TOKEN_MAC_LEN	16
#define ECR_TOKEN_MAX		1024

typedef void (*ecr_handler_fn)(struct ecr_req *);

struct ecr_handler {
	const char	*operation;	/* as the model names it */
	ecr_handler_fn	 fn;
};

/*
 * The operations berth implements, one row each, by the model's name:
 * ecr_init binds them to ecr_operations[], so that dispatch is an index.
 * An operation of the model with no row answers UnknownOperationException.
 */
static const struct ecr_handler ecr_handlers[] = {
	{ "BatchCheckLayerAvailability", ecr_layer_check },
	{ "BatchDeleteImage", ecr_image_batch_delete },
	{ "BatchGetImage", ecr_image_batch_get },
	{ "BatchGetRepositoryScanningConfiguration", ecr_scanning_batch_get },
	{ "CompleteLayerUpload", ecr_layer_complete },
	{ "CreatePullThroughCacheRule", ecr_ptc_create },
	{ "CreateRepository", ecr_repository_create },
	{ "CreateRepositoryCreationTemplate", ecr_template_create },
	{ "DeleteLifecyclePolicy", ecr_lifecycle_delete },
	{ "DeletePullThroughCacheRule", ecr_ptc_delete },
	{ "DeleteRegistryPolicy", ecr_registry_delete_policy },
	{ "DeleteRepository", ecr_repository_delete },
	{ "DeleteRepositoryCreationTemplate", ecr_template_delete },
	{ "DeleteRepositoryPolicy", ecr_policy_delete },
	{ "DeleteSigningConfiguration", ecr_signing_delete },
	{ "DeregisterPullTimeUpdateExclusion", ecr_pull_exclusion_deregister },
	{ "DescribeImageReplicationStatus", ecr_registry_replication_status },
	{ "DescribeImageScanFindings", ecr_scan_findings },
	{ "DescribeImageSigningStatus", ecr_signing_status },
	{ "DescribeImages", ecr_image_describe },
	{ "DescribePullThroughCacheRules", ecr_ptc_describe },
	{ "DescribeRegistry", ecr_registry_describe },
	{ "DescribeRepositories", ecr_repository_describe },
	{ "DescribeRepositoryCreationTemplates", ecr_template_describe },
	{ "GetAccountSetting", ecr_registry_get_setting },
	{ "GetAuthorizationToken", ecr_auth_token },
	{ "GetDownloadUrlForLayer", ecr_layer_download_url },
	{ "GetLifecyclePolicy", ecr_lifecycle_get },
	{ "GetLifecyclePolicyPreview", ecr_lifecycle_preview_get },
	{ "GetRegistryPolicy", ecr_registry_get_policy },
	{ "GetRegistryScanningConfiguration", ecr_scanning_get_registry },
	{ "GetRepositoryPolicy", ecr_policy_get },
	{ "GetSigningConfiguration", ecr_signing_get },
	{ "InitiateLayerUpload", ecr_layer_initiate },
	{ "ListImageReferrers", ecr_referrer_list },
	{ "ListImages", ecr_image_list },
	{ "ListPullTimeUpdateExclusions", ecr_pull_exclusion_list },
	{ "ListTagsForResource", ecr_tag_list },
	{ "PutAccountSetting", ecr_registry_put_setting },
	{ "PutImage", ecr_image_put },
	{ "PutImageScanningConfiguration", ecr_repository_put_scanning },
	{ "PutImageTagMutability", ecr_repository_put_mutability },
	{ "PutLifecyclePolicy", ecr_lifecycle_put },
	{ "PutRegistryPolicy", ecr_registry_put_policy },
	{ "PutRegistryScanningConfiguration", ecr_scanning_put_registry },
	{ "PutReplicationConfiguration", ecr_registry_put_replication },
	{ "PutSigningConfiguration", ecr_signing_put },
	{ "RegisterPullTimeUpdateExclusion", ecr_pull_exclusion_register },
	{ "SetRepositoryPolicy", ecr_policy_set },
	{ "StartImageScan", ecr_scan_start },
	{ "StartLifecyclePolicyPreview", ecr_lifecycle_preview_start },
	{ "TagResource", ecr_tag_resource },
	{ "UntagResource", ecr_tag_untag_resource },
	{ "UpdateImageStorageClass", ecr_image_update_storage_class },
	{ "UpdatePullThroughCacheRule", ecr_ptc_update },
	{ "UpdateRepositoryCreationTemplate", ecr_template_update },
	{ "UploadLayerPart", ecr_layer_upload_part },
	{ "ValidatePullThroughCacheRule", ecr_ptc_validate },
};

/* ecr_handlers by the index of their operation in ecr_operations[]. */
static ecr_handler_fn	*ecr_bound;

/* A row that names no operation of the model is a bug: fatal at start. */
static void
ecr_bind_handlers(void)
{
	const struct ecr_operation *op;
	size_t		 i;

	ecr_bound = xcalloc(ecr_noperations, sizeof(*ecr_bound));
	for (i = 0; i < nitems(ecr_handlers); i++) {
		op = ecr_operation_find(ecr_handlers[i].operation,
		    strlen(ecr_handlers[i].operation));
		if (op == NULL)
			fatalx("ECR handler for %s, which the API model "
			    "(botocore %s) lacks", ecr_handlers[i].operation,
			    ecr_model_botocore_version);
		if (ecr_bound[op - ecr_operations] != NULL)
			fatalx("two ECR handlers for %s", op->name);
		ecr_bound[op - ecr_operations] = ecr_handlers[i].fn;
	}
}

int
ecr_init(void)
{
	ecr_bind_handlers();
	if (conf.credentials_file != NULL &&
	    sigv4_credentials_load(conf.credentials_file) == -1)
		return -1;
	return 0;
}

int
ecr_credentials_reload(int fd)
{
	if (conf.credentials_file == NULL) {
		close(fd);
		return 0;
	}
	return sigv4_credentials_load_fd(fd, conf.credentials_file);
}

/*
 * ECR bodies are read whole into memory, and an UploadLayerPart's is about
 * 13 MiB of base64 that becomes its JSON string and then 10 MiB of bytes:
 * 30 of them at once took 650 MiB.  Requests share ECR_BODIES_MAX of what
 * their bodies say they hold (else the operation's largest); one that
 * does not fit waits, its body unread, until those before it are
 * answered.  One alone always goes.
 */
#define ECR_BODIES_MAX		(32 * 1024 * 1024)

static size_t		 ecr_bodies;		/* shares granted */
static struct ecr_req	*ecr_waiting, **ecr_waiting_tail = &ecr_waiting;

static void	ecr_body_cb(struct http_request *, int, void *);

static void
ecr_read_body(struct ecr_req *r)
{
	ecr_bodies += r->body_share;
	http_request_read_body(r->req, r->op->body_max, ecr_body_cb, r);
}

/* Reads r's body when its share fits, else queues it. */
static void
ecr_body_admit(struct ecr_req *r)
{
	int64_t	 cl = http_request_content_length(r->req);

	r->body_share = cl >= 0 && (uint64_t)cl < r->op->body_max ?
	    (size_t)cl : r->op->body_max;
	if (ecr_waiting == NULL && (ecr_bodies == 0 ||
	    ecr_bodies + r->body_share <= ECR_BODIES_MAX)) {
		ecr_read_body(r);
		return;
	}
	*ecr_waiting_tail = r;
	ecr_waiting_tail = &r->next_waiting;
}

static void
ecr_req_free(struct ecr_req *r)
{
	struct ecr_req	*w;

	json_object_put(r->in);
	ecr_bodies -= r->body_share;
	free(r);
	while ((w = ecr_waiting) != NULL && (ecr_bodies == 0 ||
	    ecr_bodies + w->body_share <= ECR_BODIES_MAX)) {
		if ((ecr_waiting = w->next_waiting) == NULL)
			ecr_waiting_tail = &ecr_waiting;
		ecr_read_body(w);
	}
}

static void
request_id(char out[UUID_STR_LEN])
{
	uint8_t	 b[UUID_LEN];

	/* A version 4 (random) UUID, as AWS's are. */
	random_bytes(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	uuid_format(b, out);
}

static void
ecr_send(struct ecr_req *r, int status, struct json_object *body)
{
	const char	*s;

	s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	http_response_header(r->req, "x-amzn-RequestId", r->request_id);
	http_respond(r->req, status, "application/x-amz-json-1.1", s,
	    strlen(s));
	json_object_put(body);
	ecr_req_free(r);
}

void
ecr_respond(struct ecr_req *r, struct json_object *out)
{
	if (out == NULL)
		out = json_object_new_object();
	ecr_send(r, 200, out);
}

/* The error envelope, with the exception's extra members if any. */
static void
ecr_send_error(struct ecr_req *r, int status, const char *exception,
    struct json_object *fields, const char *msg)
{
	struct json_object *body;
	char		 text[2048];

	/* Messages quote what clients sent, cut at a byte count: every
	 * SDK decodes the answer as UTF-8. */
	snprintf(text, sizeof(text), "%s", msg);
	body = fields != NULL ? fields : json_object_new_object();
	json_object_object_add(body, "__type",
	    json_object_new_string(exception));
	json_object_object_add(body, "message",
	    json_object_new_string(utf8_scrub(text)));
	http_response_header(r->req, "X-Amzn-ErrorType", exception);
	if (status == 500)
		http_response_header(r->req, "Retry-After", "1");
	ecr_send(r, status, body);
}

void
ecr_error_fields(struct ecr_req *r, const char *exception,
    struct json_object *fields, const char *fmt, ...)
{
	char		 msg[2048];
	va_list		 ap;
	int		 status;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	status = strcmp(exception, "ServerException") == 0 ? 500 :
	    strcmp(exception, "RequestEntityTooLargeException") == 0 ? 413 :
	    400;
	ecr_send_error(r, status, exception, fields, msg);
}

void
ecr_refuse(struct http_request *req, int err, const char *reason)
{
	struct ecr_req	*r;

	http_request_set_class(req, "ecr");
	r = xcalloc(1, sizeof(*r));
	r->req = req;
	request_id(r->request_id);
	ecr_send_error(r, berr_http_status(err), berr_ecr_exception(err),
	    NULL, reason);
}

void
ecr_error(struct ecr_req *r, const char *exception, const char *fmt, ...)
{
	char	 msg[2048];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ecr_error_fields(r, exception, NULL, "%s", msg);
}

void
ecr_fail(struct ecr_req *r, int err)
{
	if (berr_http_status(err) >= 500 || err == BERR_UNAVAILABLE)
		ecr_error(r, "ServerException", "%s", berr_message(err));
	else
		ecr_error(r, berr_ecr_exception(err), "%s", berr_message(err));
}

void
ecr_repository_not_found(struct ecr_req *r, const char *name)
{
	ecr_error(r, "RepositoryNotFoundException", "The repository with name "
	    "'%s' does not exist in the registry with id '%s'", name,
	    r->account);
}

struct repository *
ecr_repository_find(struct ecr_req *r, const char *name)
{
	struct repository *repo;

	if ((repo = repository_lookup(r->account, r->region, name)) == NULL)
		ecr_repository_not_found(r, name);
	return repo;
}

/* --- answering once a change is durable ---------------------------------- */

struct ecr_reply *
ecr_reply_new(struct ecr_req *r, struct json_object *out)
{
	struct ecr_reply *c;

	c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->out = out;
	return c;
}

void
ecr_reply_cb(int err, void *arg)
{
	struct ecr_reply *c = arg;

	if (err != 0) {
		json_object_put(c->out);
		ecr_fail(c->r, err);
	} else
		ecr_respond(c->r, c->out);
	free(c);
}

void
ecr_commit(struct ecr_req *r, struct txn *t, struct json_object *out)
{
	txn_commit(t, ecr_reply_cb, ecr_reply_new(r, out));
}

void
ecr_repository_update(struct ecr_req *r, struct repository *repo,
    struct repo_config *cfg, struct json_object *out)
{
	struct txn	 t;

	txn_init(&t);
	(void)txn_repo_put(&t, r->account, r->region, repo->name,
	    repo->created_ms, cfg);
	repo_config_clear(cfg);
	ecr_commit(r, &t, out);
}

/* --- reading the input --------------------------------------------------- */

struct json_object *
ecr_member(const struct ecr_req *r, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(r->in, name, &v))
		return NULL;
	return v;
}

const char *
ecr_str(const struct ecr_req *r, const char *name)
{
	struct json_object *v = ecr_member(r, name);

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int
ecr_bool(const struct ecr_req *r, const char *name, int dflt)
{
	struct json_object *v = ecr_member(r, name);

	if (v == NULL || !json_object_is_type(v, json_type_boolean))
		return dflt;
	return json_object_get_boolean(v);
}

int64_t
ecr_int(const struct ecr_req *r, const char *name, int64_t dflt)
{
	struct json_object *v = ecr_member(r, name);

	if (v == NULL || !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}

/* --- writing the output -------------------------------------------------- */

void
ecr_add_str(struct json_object *o, const char *key, const char *value)
{
	if (value != NULL)
		json_object_object_add(o, key, json_object_new_string(value));
}

/* Epoch seconds with the milliseconds, written as such. */
void
ecr_add_time(struct json_object *o, const char *key, int64_t ms)
{
	char	 s[32];

	if (ms <= 0)
		return;
	snprintf(s, sizeof(s), "%lld.%03lld", (long long)(ms / 1000),
	    (long long)(ms % 1000));
	json_object_object_add(o, key, json_object_new_double_s(
	    (double)ms / 1000.0, s));
}

/* --- pagination ---------------------------------------------------------- */

int
ecr_page_size(const struct ecr_req *r)
{
	int64_t	 n = ecr_int(r, "maxResults", 0);

	if (n <= 0)
		return r->op->page_default;
	if (n > r->op->page_max)
		return r->op->page_max;
	return (int)n;
}

static void
token_mac(const struct ecr_req *r, const char *scope, const uint8_t *cursor,
    size_t len, uint8_t mac[ECR_TOKEN_MAC_LEN])
{
	struct wbuf	 w;
	uint8_t		 full[32];

	/* The model's key also signs registry passwords: a distinct label
	 * keeps the two uses apart. */
	wbuf_init(&w);
	wbuf_put_str(&w, "ecr-next-token");
	wbuf_put_str(&w, r->op->name);
	wbuf_put_str(&w, r->account);
	wbuf_put_str(&w, r->region);
	wbuf_put_str(&w, scope);
	wbuf_put_bytes(&w, cursor, len);
	digest_hmac_sha256(model->secret, sizeof(model->secret), w.data,
	    w.len, full);
	wbuf_clear(&w);
	memcpy(mac, full, ECR_TOKEN_MAC_LEN);
}

char *
ecr_token_make(const struct ecr_req *r, const char *scope,
    const char *cursor)
{
	uint8_t		 raw[ECR_TOKEN_MAX];
	size_t		 len = strlen(cursor);
	char		*out;

	if (len + ECR_TOKEN_MAC_LEN > sizeof(raw))
		fatalx("ecr_token_make: cursor too long");
	memcpy(raw, cursor, len);
	token_mac(r, scope, raw, len, raw + len);
	out = xmalloc(base64_encoded_len(len + ECR_TOKEN_MAC_LEN) + 1);
	base64_encode(raw, len + ECR_TOKEN_MAC_LEN, out);
	return out;
}

int
ecr_token_parse(const struct ecr_req *r, const char *scope,
    const char *token, char *cursor, size_t cursorsz)
{
	uint8_t		 raw[ECR_TOKEN_MAX], mac[ECR_TOKEN_MAC_LEN];
	ssize_t		 n;
	size_t		 len;

	if ((n = base64_decode(token, strlen(token), raw, sizeof(raw))) < 0 ||
	    (size_t)n <= ECR_TOKEN_MAC_LEN)
		return -1;
	len = (size_t)n - ECR_TOKEN_MAC_LEN;
	token_mac(r, scope, raw, len, mac);
	if (CRYPTO_memcmp(mac, raw + len, sizeof(mac)) != 0 ||
	    len >= cursorsz || memchr(raw, '\0', len) != NULL)
		return -1;
	memcpy(cursor, raw, len);
	cursor[len] = '\0';
	return 0;
}

void
ecr_bad_token(struct ecr_req *r)
{
	ecr_error(r, "InvalidParameterException", "Invalid parameter at "
	    "'nextToken' failed to satisfy constraint: 'Invalid token'");
}

/* --- the request --------------------------------------------------------- */

static size_t
ecr_headers_cb(void *arg, const char *name, const char **vals, size_t max)
{
	return http_request_headers(arg, name, vals, max);
}

static void
ecr_body_cb(struct http_request *req, int err, void *arg)
{
	struct ecr_req	*r = arg;
	struct sigv4_request sr;
	ecr_handler_fn	 fn;
	const char	*body, *exc, *rid, *why;
	char		 msg[4096];
	size_t		 len, i;

	if (err != 0) {
		if (err == BERR_TOO_LARGE)
			ecr_error(r, "RequestEntityTooLargeException",
			    "Request body of %s is limited to %zu bytes",
			    r->op->name, r->op->body_max);
		else
			ecr_error(r, "SerializationException",
			    "The request body was not received whole");
		return;
	}
	body = http_request_body(req, &len);
	memset(&sr, 0, sizeof(sr));
	sr.method = http_request_method(req);
	sr.path = http_request_path(req);
	sr.query = http_request_query(req);
	sr.headers = ecr_headers_cb;
	sr.arg = req;
	sr.body = body;
	sr.body_len = len;
	/* As AWS: who is asking before what is asked; the signature covers
	 * the raw body, parsed only once it is known to be the caller's. */
	if (sigv4_check(&sr, now_sec(), &r->caller, &exc, msg,
	    sizeof(msg)) != 0) {
		ecr_error(r, exc, "%s", msg);
		return;
	}
	if (r->caller.principal[0] == '\0')
		auth_principal_default(r->caller.account, r->caller.principal,
		    sizeof(r->caller.principal));
	if ((fn = ecr_bound[r->op - ecr_operations]) == NULL) {
		ecr_error(r, "UnknownOperationException", "berth does not "
		    "implement %s yet", r->op->name);
		return;
	}
	for (i = 0; i < len && (body[i] == ' ' || body[i] == '\n' ||
	    body[i] == '\r' || body[i] == '\t'); i++)
		;
	if (i == len)
		r->in = json_object_new_object();
	else if ((r->in = json_parse_strict(body, len, ECR_JSON_DEPTH,
	    &why)) == NULL) {
		ecr_error(r, "SerializationException", "Could not parse the "
		    "request body as JSON: %s", why);
		return;
	}
	if (ecr_validate(r->op, r->in, &exc, msg, sizeof(msg)) != 0) {
		ecr_error(r, exc, "%s", msg);
		return;
	}
	strcpy(r->account, r->caller.account);
	strcpy(r->region, r->caller.region);
	if ((rid = ecr_str(r, "registryId")) != NULL)
		snprintf(r->account, sizeof(r->account), "%s", rid);
	if (!worker_ready()) {
		ecr_fail(r, BERR_UNAVAILABLE);
		return;
	}
	fn(r);
}

static int
content_type_ok(const char *ct)
{
	static const char *const types[] = { "application/x-amz-json-1.1",
	    "application/x-amz-json-1.0", "application/json" };
	size_t	 i, n;

	if (ct == NULL)
		return 1;
	n = strcspn(ct, ";");
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	for (i = 0; i < nitems(types); i++)
		if (n == strlen(types[i]) && strncasecmp(ct, types[i], n) == 0)
			return 1;
	return 0;
}

void
ecr_dispatch(struct http_request *req)
{
	struct ecr_req	*r;
	const char	*target, *ct;
	size_t		 plen = strlen(ecr_model_target_prefix);

	http_request_set_class(req, "ecr");
	r = xcalloc(1, sizeof(*r));
	r->req = req;
	request_id(r->request_id);
	if (strcmp(http_request_method(req), "POST") != 0) {
		http_response_header(req, "Allow", "POST");
		ecr_error(r, "UnknownOperationException", "The ECR API is "
		    "served by POST / with an X-Amz-Target header");
		return;
	}
	target = http_request_header(req, "X-Amz-Target");
	if (target == NULL || strncmp(target, ecr_model_target_prefix,
	    plen) != 0 || target[plen] != '.' ||
	    (r->op = ecr_operation_find(target + plen + 1,
	    strlen(target + plen + 1))) == NULL) {
		ecr_error(r, "UnknownOperationException", "%s",
		    target == NULL ? "The request has no X-Amz-Target header" :
		    "Unknown operation");
		return;
	}
	ct = http_request_header(req, "Content-Type");
	if (!content_type_ok(ct)) {
		ecr_error(r, "SerializationException", "Content-Type %.100s is "
		    "not supported; use application/x-amz-json-1.1", ct);
		return;
	}
	ecr_body_admit(r);
}
