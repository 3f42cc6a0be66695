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
 * Pull through cache rules and their credentials.  A rule is a registry
 * setting ("ptc/<ecrRepositoryPrefix>" holding its JSON), so that it is
 * written, replayed and reset like every registry-wide configuration.  A
 * repository name falls under the rule with the longest prefix it starts
 * with (followed by '/': ECR assumes one), else under ROOT; the upstream
 * repository is the rest of the name, after the rule's upstream prefix.
 *
 * Credentials never come from the network: --pull-through-secrets names a
 * file of "ARN USERNAME ACCESS_TOKEN" lines (a Secrets Manager secret ARN
 * with the username and access token the secret would hold; for an
 * upstream ECR, an IAM role ARN with the access key and secret key that
 * stand for the role), read at start and on SIGHUP, refused when others
 * may read it.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "error.h"
#include "log.h"
#include "name.h"
#include "ptc.h"
#include "util.h"

#define PTC_SECRET_FIELD_MAX	4096

/* The upstream registries ECR supports (CreatePullThroughCacheRule's
 * upstreamRegistryUrl); '*' stands for one DNS label. */
static const struct ptc_upstream ptc_upstreams[] = {
	{ "ecr", "*.dkr.ecr.*.amazonaws.com", PTC_AUTH_ROLE },
	{ "ecr-public", "public.ecr.aws", PTC_AUTH_OPTIONAL },
	{ "quay", "quay.io", PTC_AUTH_OPTIONAL },
	{ "k8s", "registry.k8s.io", PTC_AUTH_OPTIONAL },
	{ "docker-hub", "registry-1.docker.io", PTC_AUTH_SECRET },
	{ "github-container-registry", "ghcr.io", PTC_AUTH_SECRET },
	{ "gitlab-container-registry", "registry.gitlab.com", PTC_AUTH_SECRET },
	{ "azure-container-registry", "*.azurecr.io", PTC_AUTH_SECRET },
	{ "chainguard", "cgr.dev", PTC_AUTH_SECRET },
};

struct ptc_secret {
	char	*arn;
	char	*user;		/* NULL: the line is malformed */
	char	*token;
};

static struct ptc_secret *ptc_secrets;
static size_t		  ptc_nsecrets;
static int		  ptc_secrets_readable;	/* the last read worked */

/* Whether host matches pattern, where '*' is one non-empty DNS label. */
static int
ptc_host_match(const char *pattern, const char *host)
{
	size_t	 n;

	while (*pattern != '\0') {
		if (*pattern == '*') {
			n = strcspn(host, ".");
			if (n == 0)
				return 0;
			host += n;
			pattern++;
			continue;
		}
		if (tolower((unsigned char)*host) != *pattern)
			return 0;
		host++;
		pattern++;
	}
	return *host == '\0';
}

const struct ptc_upstream *
ptc_upstream_for_url(const char *url)
{
	size_t	 i;

	if (strncasecmp(url, "https://", 8) == 0)
		url += 8;
	for (i = 0; i < nitems(ptc_upstreams); i++)
		if (ptc_host_match(ptc_upstreams[i].url, url))
			return &ptc_upstreams[i];
	return NULL;
}

const struct ptc_upstream *
ptc_upstream_named(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(ptc_upstreams); i++)
		if (strcmp(ptc_upstreams[i].name, name) == 0)
			return &ptc_upstreams[i];
	return NULL;
}

void
ptc_rule_clear(struct ptc_rule *r)
{
	free(r->credential_arn);
	free(r->custom_role_arn);
	memset(r, 0, sizeof(*r));
}

static int
ptc_copy(char *dst, size_t dstsz, struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	if (snprintf(dst, dstsz, "%s", json_object_get_string(v)) >=
	    (int)dstsz)
		return -1;
	return 0;
}

static char *
ptc_dup(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return xstrdup(json_object_get_string(v));
}

static int64_t
ptc_ms(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}

/* A rule from its stored JSON; 0 or -1. */
static int
ptc_rule_parse(const char *text, struct ptc_rule *r)
{
	struct json_object *o;
	int		 rc = -1;

	memset(r, 0, sizeof(*r));
	if ((o = json_parse_strict(text, strlen(text), 4)) == NULL)
		return -1;
	if (ptc_copy(r->prefix, sizeof(r->prefix), o,
	    "ecrRepositoryPrefix") == 0 &&
	    ptc_copy(r->url, sizeof(r->url), o, "upstreamRegistryUrl") == 0 &&
	    ptc_copy(r->kind, sizeof(r->kind), o, "upstreamRegistry") == 0) {
		(void)ptc_copy(r->upstream_prefix, sizeof(r->upstream_prefix),
		    o, "upstreamRepositoryPrefix");
		r->credential_arn = ptc_dup(o, "credentialArn");
		r->custom_role_arn = ptc_dup(o, "customRoleArn");
		r->created_ms = ptc_ms(o, "createdAt");
		r->updated_ms = ptc_ms(o, "updatedAt");
		rc = 0;
	}
	json_object_put(o);
	return rc;
}

int
ptc_rule_find(const struct registry *reg, const char *prefix,
    struct ptc_rule *r)
{
	char		 key[64];
	const char	*text;

	snprintf(key, sizeof(key), "%s%s", PTC_KEY_PREFIX, prefix);
	if ((text = registry_setting(reg, key)) == NULL)
		return -1;
	return ptc_rule_parse(text, r);
}

size_t
ptc_rule_count(const struct registry *reg)
{
	size_t	 i, n = 0;

	if (reg == NULL)
		return 0;
	i = sortvec_lower_bound(&reg->settings, PTC_KEY_PREFIX);
	for (; i < reg->settings.len; i++, n++)
		if (strncmp(((struct kv *)reg->settings.items[i])->key,
		    PTC_KEY_PREFIX, strlen(PTC_KEY_PREFIX)) != 0)
			break;
	return n;
}

const char *
ptc_rule_key_at(const struct registry *reg, size_t i)
{
	size_t	 first = sortvec_lower_bound(&reg->settings, PTC_KEY_PREFIX);

	return ((struct kv *)reg->settings.items[first + i])->key +
	    strlen(PTC_KEY_PREFIX);
}

int
ptc_match(const struct registry *reg, const char *name, struct ptc_rule *r,
    char *upstream, size_t upstreamsz)
{
	char		 prefix[NAME_MAX_LEN + 1];
	const char	*rest;
	char		*slash;

	if (reg == NULL || ptc_rule_count(reg) == 0)
		return -1;
	snprintf(prefix, sizeof(prefix), "%s", name);
	/* The longest prefix first: "a/b/c" tries "a/b", then "a". */
	while ((slash = strrchr(prefix, '/')) != NULL) {
		*slash = '\0';
		if (strlen(prefix) < 2 || strlen(prefix) > 30)
			continue;
		if (ptc_rule_find(reg, prefix, r) == 0) {
			rest = name + strlen(prefix) + 1;
			if (r->upstream_prefix[0] != '\0' &&
			    strcmp(r->upstream_prefix, "ROOT") != 0)
				snprintf(upstream, upstreamsz, "%s/%s",
				    r->upstream_prefix, rest);
			else
				snprintf(upstream, upstreamsz, "%s", rest);
			return 0;
		}
	}
	if (ptc_rule_find(reg, "ROOT", r) == 0) {
		snprintf(upstream, upstreamsz, "%s", name);
		return 0;
	}
	return -1;
}

char *
ptc_rule_text(const struct ptc_rule *r)
{
	struct json_object *o = json_object_new_object();
	char		*s;

	ecr_add_str(o, "ecrRepositoryPrefix", r->prefix);
	ecr_add_str(o, "upstreamRegistryUrl", r->url);
	ecr_add_str(o, "upstreamRegistry", r->kind);
	if (r->credential_arn != NULL)
		ecr_add_str(o, "credentialArn", r->credential_arn);
	if (r->custom_role_arn != NULL)
		ecr_add_str(o, "customRoleArn", r->custom_role_arn);
	if (r->upstream_prefix[0] != '\0')
		ecr_add_str(o, "upstreamRepositoryPrefix", r->upstream_prefix);
	json_object_object_add(o, "createdAt",
	    json_object_new_int64(r->created_ms));
	if (r->updated_ms != 0)
		json_object_object_add(o, "updatedAt",
		    json_object_new_int64(r->updated_ms));
	s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

struct json_object *
ptc_rule_json(const struct ptc_rule *r, const char *registry_id)
{
	struct json_object *o = json_object_new_object();

	ecr_add_str(o, "ecrRepositoryPrefix", r->prefix);
	ecr_add_str(o, "upstreamRegistryUrl", r->url);
	ecr_add_time(o, "createdAt", r->created_ms);
	ecr_add_str(o, "registryId", registry_id);
	if (r->credential_arn != NULL)
		ecr_add_str(o, "credentialArn", r->credential_arn);
	if (r->custom_role_arn != NULL)
		ecr_add_str(o, "customRoleArn", r->custom_role_arn);
	ecr_add_str(o, "upstreamRepositoryPrefix",
	    r->upstream_prefix[0] != '\0' ? r->upstream_prefix : "ROOT");
	ecr_add_str(o, "upstreamRegistry", r->kind);
	ecr_add_time(o, "updatedAt", r->updated_ms != 0 ? r->updated_ms :
	    r->created_ms);
	return o;
}

/* --- the secrets file ------------------------------------------------------ */

static void
ptc_secrets_free(struct ptc_secret *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(s[i].arn);
		if (s[i].token != NULL)
			explicit_bzero(s[i].token, strlen(s[i].token));
		free(s[i].user);
		free(s[i].token);
	}
	free(s);
}

struct ptc_secrets_read {
	const char	*path;
	struct ptc_secret *s;
	size_t		 n;
};

static int
ptc_secrets_line(char **fields, size_t nf, size_t lineno, void *arg)
{
	struct ptc_secrets_read *sr = arg;
	struct ptc_secret *s;

	if (strncmp(fields[0], "arn:", 4) != 0 || strlen(fields[0]) > 2048) {
		log_warnx("%s:%zu: want ARN USERNAME ACCESS_TOKEN", sr->path,
		    lineno);
		return -1;
	}
	sr->s = xreallocarray(sr->s, sr->n + 1, sizeof(*sr->s));
	s = &sr->s[sr->n++];
	memset(s, 0, sizeof(*s));
	s->arn = xstrdup(fields[0]);
	/* Kept, so that a pull can say the secret is unreadable. */
	if (nf != 3 || strlen(fields[1]) > PTC_SECRET_FIELD_MAX ||
	    strlen(fields[2]) > PTC_SECRET_FIELD_MAX)
		log_warnx("%s:%zu: the value of %s is not USERNAME "
		    "ACCESS_TOKEN", sr->path, lineno, fields[0]);
	else {
		s->user = xstrdup(fields[1]);
		s->token = xstrdup(fields[2]);
	}
	return 0;
}

int
ptc_secrets_load_fd(int fd, const char *path)
{
	struct ptc_secrets_read sr = { path, NULL, 0 };
	struct stat	 sb;
	FILE		*f;
	int		 rc;

	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		log_warnx("%s: not a regular file", path);
		close(fd);
		ptc_secrets_readable = 0;
		return -1;
	}
	if ((sb.st_mode & 077) != 0) {
		log_warnx("%s: other users may read it (mode %04o); make it "
		    "readable by its owner only (chmod 600)", path,
		    (unsigned)(sb.st_mode & 07777));
		close(fd);
		ptc_secrets_readable = 0;
		return -1;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		log_warn("%s", path);
		close(fd);
		ptc_secrets_readable = 0;
		return -1;
	}
	rc = fields_read(f, path, 0, 3, ptc_secrets_line, &sr);
	fclose(f);
	if (rc != 0) {
		ptc_secrets_free(sr.s, sr.n);
		return -1;
	}
	ptc_secrets_free(ptc_secrets, ptc_nsecrets);
	ptc_secrets = sr.s;
	ptc_nsecrets = sr.n;
	ptc_secrets_readable = 1;
	log_info("%zu pull through cache secrets loaded from %s",
	    ptc_nsecrets, path);
	return 0;
}

int
ptc_secret_lookup(const char *arn, const char **user, const char **token)
{
	size_t	 i;

	if (conf.ptc_secrets_file == NULL || !ptc_secrets_readable)
		return PTC_SECRET_UNREADABLE;
	for (i = 0; i < ptc_nsecrets; i++) {
		if (strcmp(ptc_secrets[i].arn, arn) != 0)
			continue;
		if (ptc_secrets[i].user == NULL)
			return PTC_SECRET_MALFORMED;
		*user = ptc_secrets[i].user;
		*token = ptc_secrets[i].token;
		return 0;
	}
	return PTC_SECRET_NOT_FOUND;
}

const char *
ptc_secret_exception(int rc)
{
	switch (rc) {
	case PTC_SECRET_NOT_FOUND:
		return "SecretNotFoundException";
	case PTC_SECRET_MALFORMED:
		return "UnableToDecryptSecretValueException";
	default:
		return "UnableToAccessSecretException";
	}
}
