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
 * The pull-through cache's rules and secrets (daemon/ptc.c): which upstream
 * URLs ECR supports, a rule's stored text read back, which rule covers a
 * repository name (the longest prefix, then ROOT) and the upstream
 * repository it stands for, rule counts and order, and the secrets file
 * (its mode, malformed lines kept as unreadable secrets, a refused reload
 * keeping what was loaded).
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berthd.h"
#include "ptc.h"
#include "util.h"
#include "unit.h"

#define ACCT	"123456789012"
#define REGION	"eu-west-1"
#define ARN	"arn:aws:secretsmanager:eu-west-1:123456789012:secret:" \
		"ecr-pullthroughcache/"

static void
test_ptc_upstreams(void)
{
	static const struct {
		const char	*url;
		const char	*name;	/* NULL: not supported */
	} cases[] = {
		{ "registry-1.docker.io", "docker-hub" },
		{ "https://quay.io", "quay" },
		{ "QUAY.IO", "quay" },
		{ "public.ecr.aws", "ecr-public" },
		{ "registry.k8s.io", "k8s" },
		{ "ghcr.io", "github-container-registry" },
		{ "registry.gitlab.com", "gitlab-container-registry" },
		{ "myreg.azurecr.io", "azure-container-registry" },
		{ "cgr.dev", "chainguard" },
		{ "123456789012.dkr.ecr.us-west-2.amazonaws.com", "ecr" },
		{ ".azurecr.io", NULL },
		{ "a.b.azurecr.io", NULL },
		{ "123456789012.dkr.ecr..amazonaws.com", NULL },
		{ "docker.io", NULL },
		{ "quay.io.evil.example", NULL },
		{ "http://quay.io", NULL },
		{ "", NULL },
	};
	const struct ptc_upstream *u;
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		u = ptc_upstream_for_url(cases[i].url);
		if (cases[i].name == NULL) {
			CU_ASSERT_PTR_NULL(u);
		} else {
			CU_ASSERT_PTR_NOT_NULL_FATAL(u);
			CU_ASSERT_STRING_EQUAL(u->name, cases[i].name);
			CU_ASSERT_PTR_EQUAL(ptc_upstream_named(cases[i].name),
			    u);
		}
	}
	CU_ASSERT_EQUAL(ptc_upstream_named("docker-hub")->auth,
	    PTC_AUTH_SECRET);
	CU_ASSERT_EQUAL(ptc_upstream_named("quay")->auth, PTC_AUTH_OPTIONAL);
	CU_ASSERT_EQUAL(ptc_upstream_named("ecr")->auth, PTC_AUTH_ROLE);
	CU_ASSERT_PTR_NULL(ptc_upstream_named("dockerhub"));
}

/* Stores a rule as CreatePullThroughCacheRule does. */
static void
rule_put(struct registry *reg, const char *prefix, const char *url,
    const char *upstream_prefix, const char *cred)
{
	struct ptc_rule	 r;
	struct txn	 t;
	char		 key[64], *text;

	memset(&r, 0, sizeof(r));
	snprintf(r.prefix, sizeof(r.prefix), "%s", prefix);
	snprintf(r.url, sizeof(r.url), "%s", url);
	snprintf(r.kind, sizeof(r.kind), "%s", ptc_upstream_for_url(url)->name);
	if (upstream_prefix != NULL)
		snprintf(r.upstream_prefix, sizeof(r.upstream_prefix), "%s",
		    upstream_prefix);
	r.credential_arn = cred != NULL ? xstrdup(cred) : NULL;
	r.created_ms = 1700000000123LL;
	text = ptc_rule_text(&r);
	snprintf(key, sizeof(key), "%s%s", PTC_KEY_PREFIX, prefix);
	txn_init(&t);
	CU_ASSERT_EQUAL(txn_setting_put(&t, reg, key, text), 0);
	txn_clear(&t);
	free(text);
	ptc_rule_clear(&r);
}

/* The upstream repository of name, or "-" when no rule covers it. */
static const char *
match(struct registry *reg, const char *name, char *buf, size_t bufsz)
{
	struct ptc_rule	 r;

	if (ptc_match(reg, name, &r, buf, bufsz) != 0)
		return "-";
	ptc_rule_clear(&r);
	return buf;
}

static void
test_ptc_rules(void)
{
	struct registry	*reg;
	struct ptc_rule	 r;
	char		 buf[NAME_MAX_LEN + 1];

	model_install(model_new());
	reg = registry_get(ACCT, REGION);
	CU_ASSERT_EQUAL(ptc_rule_count(reg), 0);
	CU_ASSERT_STRING_EQUAL(match(reg, "quay/app", buf, sizeof(buf)), "-");

	rule_put(reg, "quay", "quay.io", NULL, NULL);
	rule_put(reg, "hub", "registry-1.docker.io", NULL, ARN "hub-AbC");
	rule_put(reg, "hub/team", "registry-1.docker.io", NULL, ARN "t-AbC");
	rule_put(reg, "up", "123456789012.dkr.ecr.us-west-2.amazonaws.com",
	    "mirror", NULL);
	CU_ASSERT_EQUAL(ptc_rule_count(reg), 4);
	CU_ASSERT_STRING_EQUAL(ptc_rule_key_at(reg, 0), "hub");
	CU_ASSERT_STRING_EQUAL(ptc_rule_key_at(reg, 1), "hub/team");
	CU_ASSERT_STRING_EQUAL(ptc_rule_key_at(reg, 3), "up");

	/* What was stored reads back. */
	CU_ASSERT_EQUAL_FATAL(ptc_rule_find(reg, "hub", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.url, "registry-1.docker.io");
	CU_ASSERT_STRING_EQUAL(r.kind, "docker-hub");
	CU_ASSERT_STRING_EQUAL(r.credential_arn, ARN "hub-AbC");
	CU_ASSERT_PTR_NULL(r.custom_role_arn);
	CU_ASSERT_EQUAL(r.created_ms, 1700000000123LL);
	CU_ASSERT_EQUAL(r.updated_ms, 0);
	ptc_rule_clear(&r);
	CU_ASSERT_EQUAL(ptc_rule_find(reg, "absent", &r), -1);

	/* The longest prefix covers a name; the prefix is a whole segment. */
	CU_ASSERT_STRING_EQUAL(match(reg, "quay/library/app", buf,
	    sizeof(buf)), "library/app");
	CU_ASSERT_STRING_EQUAL(match(reg, "hub/team/app", buf, sizeof(buf)),
	    "app");
	CU_ASSERT_EQUAL_FATAL(ptc_match(reg, "hub/team/app", &r, buf,
	    sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(r.prefix, "hub/team");
	ptc_rule_clear(&r);
	CU_ASSERT_STRING_EQUAL(match(reg, "hub/other/app", buf, sizeof(buf)),
	    "other/app");
	CU_ASSERT_STRING_EQUAL(match(reg, "quayx/app", buf, sizeof(buf)),
	    "-");
	CU_ASSERT_STRING_EQUAL(match(reg, "quay", buf, sizeof(buf)), "-");
	/* An upstream ECR's upstreamRepositoryPrefix stands before it. */
	CU_ASSERT_STRING_EQUAL(match(reg, "up/app", buf, sizeof(buf)),
	    "mirror/app");

	/* ROOT covers what no other rule does. */
	rule_put(reg, "ROOT", "public.ecr.aws", NULL, NULL);
	CU_ASSERT_STRING_EQUAL(match(reg, "nginx/nginx", buf, sizeof(buf)),
	    "nginx/nginx");
	CU_ASSERT_STRING_EQUAL(match(reg, "quay/app", buf, sizeof(buf)),
	    "app");
}

/* The secrets file as --pull-through-secrets reads it. */
static int
secrets_load(const char *dir, const char *text, mode_t mode)
{
	char	*path;
	int	 fd, rc;

	xasprintf(&path, "%s/secrets", dir);
	(void)unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd != -1);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	CU_ASSERT_EQUAL(fchmod(fd, mode), 0);
	CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_SET), 0);
	rc = ptc_secrets_load_fd(fd, path);
	free(path);
	return rc;
}

static void
test_ptc_secrets(void)
{
	char		*dir = unit_tmpdir();
	const char	*user = NULL, *token = NULL;

	conf.ptc_secrets_file = NULL;
	CU_ASSERT_EQUAL(ptc_secret_lookup(ARN "a", &user, &token),
	    PTC_SECRET_UNREADABLE);
	conf.ptc_secrets_file = "secrets";
	CU_ASSERT_EQUAL(secrets_load(dir, "# comment\n\n"
	    ARN "a alice s3cret\n"
	    ARN "b bob\n"
	    ARN "c carol tok extra\n", 0600), 0);
	CU_ASSERT_EQUAL(ptc_secret_lookup(ARN "a", &user, &token), 0);
	CU_ASSERT_STRING_EQUAL(user, "alice");
	CU_ASSERT_STRING_EQUAL(token, "s3cret");
	CU_ASSERT_EQUAL(ptc_secret_lookup(ARN "b", &user, &token),
	    PTC_SECRET_MALFORMED);
	CU_ASSERT_EQUAL(ptc_secret_lookup(ARN "c", &user, &token),
	    PTC_SECRET_MALFORMED);
	CU_ASSERT_EQUAL(ptc_secret_lookup(ARN "z", &user, &token),
	    PTC_SECRET_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(ptc_secret_exception(PTC_SECRET_NOT_FOUND),
	    "SecretNotFoundException");
	CU_ASSERT_STRING_EQUAL(ptc_secret_exception(PTC_SECRET_MALFORMED),
	    "UnableToDecryptSecretValueException");
	CU_ASSERT_STRING_EQUAL(ptc_secret_exception(PTC_SECRET_UNREADABLE),
	    "UnableToAccessSecretException");

	/* A line that is not an ARN refuses the whole file; the secrets
	 * loaded before stay. */
	CU_ASSERT_EQUAL(secrets_load(dir, "alice s3cret\n", 0600), -1);
	CU_ASSERT_EQUAL(ptc_secret_lookup(ARN "a", &user, &token), 0);
	/* So is a file others may read. */
	CU_ASSERT_EQUAL(secrets_load(dir, ARN "d dave tok\n", 0640), -1);
	CU_ASSERT_EQUAL(ptc_secret_lookup(ARN "d", &user, &token),
	    PTC_SECRET_NOT_FOUND);
	CU_ASSERT_EQUAL(ptc_secret_lookup(ARN "a", &user, &token), 0);
	CU_ASSERT_EQUAL(secrets_load(dir, ARN "d dave tok\n", 0400), 0);
	CU_ASSERT_EQUAL(ptc_secret_lookup(ARN "d", &user, &token), 0);
	CU_ASSERT_STRING_EQUAL(user, "dave");
	CU_ASSERT_EQUAL(ptc_secret_lookup(ARN "a", &user, &token),
	    PTC_SECRET_NOT_FOUND);
	conf.ptc_secrets_file = NULL;
	unit_rmtree(dir);
	free(dir);
}

int
test_ptc_register(void)
{
	CU_pSuite s = CU_add_suite("ptc", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "the upstream registries ECR supports",
	    test_ptc_upstreams) == NULL ||
	    CU_add_test(s, "rules stored and matched", test_ptc_rules) ==
	    NULL ||
	    CU_add_test(s, "the secrets file", test_ptc_secrets) == NULL)
		return -1;
	return 0;
}
