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
 * berthd's registry-wide features, on top of the model (berthd.h): IAM
 * policy documents, Notary Project signatures, repository creation
 * templates, the registry policy's cross-account check, and the
 * replication and signing that a push sets in motion.  Their state is
 * registry settings (ARCHITECTURE.md lists the keys).
 */
#ifndef BERTHD_REGISTRY_H
#define BERTHD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

struct digest;
struct image;
struct json_object;
struct registry;
struct repo_config;
struct repository;
struct txn;

/* --- IAM policy documents (iam.c) ----------------------------------------- */

enum iam_decision { IAM_IMPLICIT_DENY, IAM_ALLOW, IAM_EXPLICIT_DENY };
struct iam_policy;

/* Parses and checks a policy document; NULL with the reason in why. */
struct iam_policy *iam_policy_parse(const char *, size_t, char *why,
	    size_t whysz);
void	iam_policy_free(struct iam_policy *);
/* Whether s matches an IAM pattern ('*', '?'), in full. */
int	iam_match(const char *pattern, const char *s, int nocase);
/* The request context conditions are evaluated against: condition keys
 * (case does not matter) with one value each; a key berth's requests can
 * carry but this one does not is absent. */
struct iam_kv {
	const char	*key;
	const char	*value;
};
struct iam_context {
	const struct iam_kv *kv;
	size_t		 nkv;
};
/* What the policy decides for account doing action on resource (an ARN)
 * in the context ctx (NULL: no keys). */
enum iam_decision iam_policy_evaluate(const struct iam_policy *,
	    const char *account, const char *action, const char *resource,
	    const struct iam_context *ctx);
/* 0 when every Action or NotAction entry matches one of known; else -1
 * with the entry named in why. */
int	iam_policy_actions_within(const struct iam_policy *,
	    const char *const *known, size_t nknown, char *why, size_t whysz);

/* --- Notary Project signatures (notary.c) ---------------------------------- */

#define NOTARY_ARTIFACT_TYPE	"application/vnd.cncf.notary.signature"
#define NOTARY_ENVELOPE_TYPE	"application/jose+json"
#define NOTARY_PAYLOAD_TYPE	"application/vnd.cncf.notary.payload.v1+json"

struct notary_key;
/* A new EC P-256 key and its self-signed code-signing certificate, as PEM
 * text (key then certificate); free it. */
char	*notary_key_generate(const char *common_name);
/* A private key and its certificate chain (leaf first) from PEM text;
 * NULL with the reason in why. */
struct notary_key *notary_key_load(const char *pem, size_t len, char *why,
	    size_t whysz);
void	notary_key_free(struct notary_key *);
/* The chain as PEM certificates, leaf first; free it. */
char	*notary_chain_pem(const struct notary_key *);
/* The JWS envelope signing the descriptor of target; free it. */
char	*notary_envelope(const struct notary_key *, const char *media_type,
	    const struct digest *target, uint64_t size, int64_t signing_time);
/* The signature manifest for an envelope blob and its subject; free it. */
char	*notary_manifest(const struct notary_key *,
	    const struct digest *envelope, uint64_t envelope_size,
	    const char *subject_type, const struct digest *subject,
	    uint64_t subject_size, const char *profile);

/* --- repository creation templates (template.c) ---------------------------- */

/* The uses a template is applied for (its appliedFor values). */
#define TEMPLATE_FOR_REPLICATION	"REPLICATION"
#define TEMPLATE_FOR_PULL_THROUGH_CACHE	"PULL_THROUGH_CACHE"
#define TEMPLATE_FOR_CREATE_ON_PUSH	"CREATE_ON_PUSH"
/* Registry settings keys: "template/<prefix>" holds a template as its
 * RepositoryCreationTemplate JSON. */
#define TEMPLATE_KEY_PREFIX		"template/"

/* The JSON text of the template applied when ECR creates repository name
 * in reg for use: among the templates whose appliedFor lists use, the one
 * with the longest prefix that name falls under (prefix "p" covers "p" and
 * "p/..."), else the ROOT template; NULL when none applies. */
const char *template_for(const struct registry *, const char *name,
	    const char *use);
/* A repository configuration from a template's JSON (AWS's defaults for
 * what it leaves out); 0 or -1 if it does not parse. */
int	template_config(const char *json, struct repo_config *);
/* Whether a push into the missing repository name of account/region may
 * create it: --create-on-push, or a CREATE_ON_PUSH template applies. */
int	template_create_on_push(const char *account, const char *region,
	    const char *name);
/* Adds repository name to t unless it exists, configured by the template
 * for use if one applies, else with AWS's defaults (txn_repo_ensure); the
 * transaction's error. */
int	template_create(struct txn *, const char *account, const char *region,
	    const char *name, const char *use);
/* A registry setting as a record carries it, made current: berth before
 * one template per prefix stored "template/prod/" apart from
 * "template/prod"; such a key (*value NULL for a deletion) is rewritten in
 * place, without its trailing '/', and so is the template's prefix in
 * *value.  Other keys are left alone. */
void	template_setting_canon(char **key, char **value);

/* --- cross-account permissions (registry policy, ecr_registry.c) --------- */

/* Registry settings keys of the registry-wide configurations. */
#define REGISTRY_KEY_POLICY		"registry.policy"
#define REGISTRY_KEY_REPLICATION	"registry.replication"
#define REGISTRY_KEY_SIGNING		"registry.signing"
#define REGISTRY_KEY_SIGNING_KEY	"registry.signing-key"
#define REGISTRY_KEY_ACCOUNT		"account."

/* Whether account may do action ("ecr:ReplicateImage") on the repository
 * name (which may not exist) of registry dst: always in its own registry;
 * across accounts only when dst's registry policy allows it.  source_arn
 * is the resource ECR acts for (replication: the source repository), or
 * NULL when account's principal asks itself; with the accounts, the
 * region and the repository's tags it makes the conditions' context. */
int	registry_policy_allows(const char *account, const char *action,
	    const struct registry *dst, const char *dst_account,
	    const char *dst_region, const char *name, const char *source_arn);

/* --- replication and signing after a push (replication.c, signing.c) ----- */

/* Registry settings keys of the per-image state:
 * "replication/<repository>@<digest>" and "signing/<repository>@<digest>". */
#define REPLICATION_KEY_PREFIX		"replication/"
#define SIGNING_KEY_PREFIX		"signing/"

/* Called by image_push with the push's transaction: records, in it, the
 * replication and signing the push calls for (IN_PROGRESS), so that they
 * are as durable as the push.  replica: the push is itself a replica (ECR
 * replicates one hop) or a signature (signatures are not signed). */
void	replication_plan(struct txn *, struct repository *,
	    const struct image *, char **tags, size_t ntags);
void	signing_plan(struct txn *, struct repository *, const struct image *);
/* Runs what is pending (after an acknowledged push, after a load). */
void	replication_kick(void);
void	signing_kick(void);
/* Forgets the in-memory queues and rebuilds them from the model. */
void	replication_reload(void);
void	signing_reload(void);
/* The statuses JSON of an image's replication or signing, or NULL. */
struct json_object *replication_status(const struct repository *,
	    const struct digest *);
struct json_object *signing_status(const struct repository *,
	    const struct digest *);
/* Whether a replication rule's PREFIX_MATCH filters (none: all) take name. */
int	replication_rule_matches(struct json_object *rule, const char *name);
/* The destinations (IN_PROGRESS statuses, once each) of the rules of a
 * replication configuration's JSON that match name; an empty array for
 * none or for text that is not such a configuration. */
struct json_object *replication_match(const char *config, const char *name);
/* The signing profile ARNs of the rules of a signing configuration's JSON
 * that match name (WILDCARD_MATCH filters, none: all), once each. */
struct json_object *signing_match(const char *config, const char *name);
/* The certificate chain (PEM) of the key that signs in reg, or NULL. */
char	*signing_certificate(const struct registry *);
/* Reads --signing-key (a PEM private key and its certificate chain, leaf
 * first) from fd, which it closes: at start-up, and on SIGHUP from the
 * spawner.  0, or -1 (logged) keeping the key loaded before. */
int	signing_key_load_fd(int fd, const char *path);

#endif
