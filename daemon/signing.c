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
 * Managed signing (User Guide, managed-signing.html): a push into a
 * repository that a rule of the registry's signing configuration matches
 * (no filters: every repository; WILDCARD_MATCH filters, '*' any run of
 * characters, anchored) is signed once per signing profile of the
 * matching rules, and DescribeImageSigningStatus reports one status per
 * profile.  Signatures themselves are not signed.
 *
 * AWS signs with AWS Signer; berth signs locally in the same format, the
 * Notary Project's (notary.c), with the key given by --signing-key or,
 * without it, an EC P-256 key and self-signed certificate made for the
 * registry on first use and kept in its metadata (the registry setting
 * "registry.signing-key").  The certificate is published at
 * /_berth/signing/certificate so that anyone can verify the signatures.
 *
 * As for replication, the push records "signing/<repository>@<digest>"
 * with IN_PROGRESS statuses in its own transaction and the work runs once
 * it is acknowledged, and again after a restart for what was left: write
 * the config blob "{}" and the envelope blob, link both (and record a new
 * key) in one transaction, then push the signature manifest, whose
 * transaction also marks the profile COMPLETE.  A signature is a referrer
 * of the image (its subject), listed by the OCI referrers API and by
 * ListImageReferrers.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "berthd.h"
#include "registry.h"
#include "ecr.h"
#include "error.h"
#include "log.h"
#include "name.h"
#include "util.h"

#define SIGNING_JSON_DEPTH	16

struct sign_job {
	char		 account[ACCOUNT_LEN + 1];
	char		 region[REGION_MAX + 1];
	char		*key;		/* "signing/<repository>@<digest>" */
	char		*name;
	struct digest	 digest;
	char		*profile;	/* the one being signed */
	char		*key_pem;	/* the signing key */
	int		 new_key;	/* to be recorded */
	char		*envelope;
	struct digest	 envelope_digest;
	struct digest	 config_digest;
	struct sign_job	*next;
};

static struct sign_job	*jobs, **jobs_tail = &jobs;
static int		 running;
static struct event	*kick_ev;
static char		*flag_key_pem;	/* --signing-key */

static void	sign_next(void);

int
signing_key_load_file(const char *path)
{
	struct notary_key *k;
	char		 buf[65536], why[256];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s", path);
		return -1;
	}
	n = read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || n == (ssize_t)sizeof(buf) - 1) {
		log_warnx("%s: cannot read it whole (at most %zu bytes)", path,
		    sizeof(buf) - 2);
		return -1;
	}
	buf[n] = '\0';
	if ((k = notary_key_load(buf, (size_t)n, why, sizeof(why))) == NULL) {
		log_warnx("%s: %s", path, why);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	notary_key_free(k);
	free(flag_key_pem);
	flag_key_pem = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static void
job_free(struct sign_job *j)
{
	free(j->key);
	free(j->name);
	free(j->profile);
	free(j->key_pem);
	free(j->envelope);
	free(j);
}

static int
rule_matches(struct json_object *rule, const char *name)
{
	struct json_object *filters, *f, *v;
	size_t	 i, n;

	if (!json_object_object_get_ex(rule, "repositoryFilters", &filters) ||
	    !json_object_is_type(filters, json_type_array) ||
	    (n = json_object_array_length(filters)) == 0)
		return 1;
	for (i = 0; i < n; i++) {
		f = json_object_array_get_idx(filters, i);
		if (json_object_is_type(f, json_type_object) &&
		    json_object_object_get_ex(f, "filter", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    name_wildcard_match(json_object_get_string(v), name))
			return 1;
	}
	return 0;
}

struct json_object *
signing_match(const char *config, const char *name)
{
	struct json_object *doc, *rules, *rule, *v, *out;
	const char	*profile;
	size_t		 i, j;

	out = json_object_new_array();
	if (config == NULL || (doc = json_parse_strict(config, strlen(config),
	    SIGNING_JSON_DEPTH)) == NULL)
		return out;
	if (!json_object_object_get_ex(doc, "rules", &rules) ||
	    !json_object_is_type(rules, json_type_array))
		goto done;
	for (i = 0; i < json_object_array_length(rules); i++) {
		rule = json_object_array_get_idx(rules, i);
		if (!json_object_is_type(rule, json_type_object) ||
		    !rule_matches(rule, name) ||
		    !json_object_object_get_ex(rule, "signingProfileArn", &v) ||
		    !json_object_is_type(v, json_type_string))
			continue;
		profile = json_object_get_string(v);
		for (j = 0; j < json_object_array_length(out); j++)
			if (strcmp(json_object_get_string(
			    json_object_array_get_idx(out, j)), profile) == 0)
				break;
		if (j == json_object_array_length(out))
			json_object_array_add(out,
			    json_object_new_string(profile));
	}
done:
	json_object_put(doc);
	return out;
}

static char *
status_key(const char *name, const struct digest *d)
{
	char	 ds[DIGEST_STR_MAX], *key;

	xasprintf(&key, "%s%s@%s", SIGNING_KEY_PREFIX, name,
	    digest_format(d, ds));
	return key;
}

static struct json_object *
find_status(struct json_object *statuses, const char *profile)
{
	struct json_object *s, *v;
	size_t	 i;

	for (i = 0; i < json_object_array_length(statuses); i++) {
		s = json_object_array_get_idx(statuses, i);
		if (json_object_object_get_ex(s, "signingProfileArn", &v) &&
		    strcmp(json_object_get_string(v), profile) == 0)
			return s;
	}
	return NULL;
}

static void
put_statuses(struct txn *t, struct registry *reg, const char *key,
    struct json_object *doc)
{
	if (txn_setting_put(t, reg, key, json_object_to_json_string_ext(doc,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) != 0)
		fatalx("signing status record does not apply");
}

static void
queue_job(const char *account, const char *region, const char *key)
{
	struct sign_job	*j = xcalloc(1, sizeof(*j));

	memcpy(j->account, account, sizeof(j->account));
	memcpy(j->region, region, sizeof(j->region));
	j->key = xstrdup(key);
	*jobs_tail = j;
	jobs_tail = &j->next;
}

void
signing_plan(struct txn *t, struct repository *repo, const struct image *img)
{
	struct registry	*reg = repo->registry;
	struct json_object *profiles, *doc, *statuses, *s, *v;
	const char	*profile;
	char		*key;
	size_t		 i;
	int		 added = 0;

	if (img->artifact_type != NULL &&
	    strcmp(img->artifact_type, NOTARY_ARTIFACT_TYPE) == 0)
		return;
	profiles = signing_match(registry_setting(reg, REGISTRY_KEY_SIGNING),
	    repo->name);
	if (json_object_array_length(profiles) == 0) {
		json_object_put(profiles);
		return;
	}
	key = status_key(repo->name, &img->digest);
	if ((doc = registry_setting_json(reg, key)) == NULL ||
	    !json_object_object_get_ex(doc, "statuses", &statuses)) {
		json_object_put(doc);
		doc = json_object_new_object();
		statuses = json_object_new_array();
		json_object_object_add(doc, "statuses", statuses);
	}
	for (i = 0; i < json_object_array_length(profiles); i++) {
		profile = json_object_get_string(json_object_array_get_idx(
		    profiles, i));
		/* An image signed with a profile stays signed. */
		if ((s = find_status(statuses, profile)) != NULL) {
			if (!json_object_object_get_ex(s, "status", &v) ||
			    strcmp(json_object_get_string(v), "FAILED") != 0)
				continue;
			json_object_object_del(s, "failureCode");
			json_object_object_del(s, "failureReason");
		} else {
			s = json_object_new_object();
			ecr_add_str(s, "signingProfileArn", profile);
			json_object_array_add(statuses, s);
		}
		ecr_add_str(s, "status", "IN_PROGRESS");
		added++;
	}
	if (added > 0) {
		put_statuses(t, reg, key, doc);
		queue_job(reg->account, reg->region, key);
	}
	json_object_put(doc);
	json_object_put(profiles);
	free(key);
}

/* Sets the job's profile's status in t; failure NULL for COMPLETE. */
static void
set_status(struct txn *t, const struct sign_job *j, const char *failure,
    const char *reason)
{
	struct registry	*reg = registry_find(j->account, j->region);
	struct json_object *doc, *statuses, *s;

	if ((doc = registry_setting_json(reg, j->key)) == NULL)
		return;
	if (json_object_object_get_ex(doc, "statuses", &statuses) &&
	    (s = find_status(statuses, j->profile)) != NULL) {
		ecr_add_str(s, "status", failure == NULL ? "COMPLETE" :
		    "FAILED");
		ecr_add_str(s, "failureCode", failure);
		ecr_add_str(s, "failureReason", reason);
		put_statuses(t, reg, j->key, doc);
	}
	json_object_put(doc);
}

static void
status_written_cb(int err, void *arg)
{
	if (err != 0)
		log_warnx("signing status not recorded: %s", berr_message(err));
}

static void
job_fail(struct sign_job *j, const char *reason)
{
	struct txn	 t;

	log_warnx("signing %s in %s/%s with %s failed: %s", j->key,
	    j->account, j->region, j->profile, reason);
	txn_init(&t);
	set_status(&t, j, "SIGNING_FAILED", reason);
	txn_commit(&t, status_written_cb, NULL);
}

/* The job's image, looked up again after every wait; NULL if gone. */
static struct image *
job_image(const struct sign_job *j, struct repository **repop)
{
	struct repository *repo;

	repo = repository_find(registry_find(j->account, j->region), j->name);
	if (repop != NULL)
		*repop = repo;
	return repo != NULL ? image_find(repo, &j->digest) : NULL;
}

static void
job_done(struct sign_job *j)
{
	job_free(j);
	running = 0;
	sign_next();
}

static void
sign_finish_txn(struct txn *t, void *arg)
{
	set_status(t, arg, NULL, NULL);
}

static void
sign_pushed_cb(int err, void *arg)
{
	struct sign_job	*j = arg;

	if (err != 0)
		log_warnx("signature of %s not recorded: %s", j->key,
		    berr_message(err));
	job_done(j);
}

static void
sign_linked_cb(int err, void *arg)
{
	struct sign_job	*j = arg;
	struct repository *repo;
	struct image	*img;
	struct notary_key *k;
	struct image_push p;
	char		*manifest, why[256];
	int		 rc;

	if (err != 0 || (img = job_image(j, &repo)) == NULL) {
		job_done(j);		/* requeued by the reload, if any */
		return;
	}
	if ((k = notary_key_load(j->key_pem, strlen(j->key_pem), why,
	    sizeof(why))) == NULL)
		fatalx("signing key: %s", why);
	manifest = notary_manifest(k, &j->envelope_digest,
	    strlen(j->envelope), img->media_type, &img->digest,
	    img->manifest_len, j->profile);
	notary_key_free(k);
	memset(&p, 0, sizeof(p));
	p.account = j->account;
	p.region = j->region;
	p.repository = j->name;
	p.manifest = (const uint8_t *)manifest;
	p.len = strlen(manifest);
	p.content_type = MT_OCI_MANIFEST;
	p.extra = sign_finish_txn;
	p.extra_arg = j;
	rc = image_push(&p, sign_pushed_cb, j);
	free(manifest);
	if (rc != 0) {
		job_fail(j, p.detail[0] != '\0' ? p.detail : berr_message(rc));
		job_done(j);
	}
}

static void
sign_envelope_cb(int err, uint64_t size, void *arg)
{
	struct sign_job	*j = arg;
	struct repository *repo;
	struct txn	 t;

	if (err != 0 || job_image(j, &repo) == NULL) {
		if (err != 0 && err != BERR_UNAVAILABLE)
			job_fail(j, berr_message(err));
		job_done(j);
		return;
	}
	txn_init(&t);
	if (j->new_key && txn_setting_put(&t, repo->registry,
	    REGISTRY_KEY_SIGNING_KEY, j->key_pem) != 0)
		fatalx("signing key record does not apply");
	if (txn_link_put(&t, repo, &j->config_digest, 2) != 0 ||
	    txn_link_put(&t, repo, &j->envelope_digest,
	    strlen(j->envelope)) != 0)
		fatalx("signature link record does not apply");
	txn_commit(&t, sign_linked_cb, j);
}

/* Stores a small blob of the signature (no link record rides with it). */
static void
sign_blob_write(const struct digest *d, const void *data, size_t len,
    blobc_size_cb cb, void *arg)
{
	struct blobc_blob b;

	memset(&b, 0, sizeof(b));
	b.digest = *d;
	b.size = len;
	b.data = data;
	b.len = len;
	blobc_blob_write(&b, cb, arg);
}

static void
sign_config_cb(int err, uint64_t size, void *arg)
{
	struct sign_job	*j = arg;

	if (err != 0) {
		if (err != BERR_UNAVAILABLE)
			job_fail(j, berr_message(err));
		job_done(j);
		return;
	}
	sign_blob_write(&j->envelope_digest, j->envelope, strlen(j->envelope),
	    sign_envelope_cb, j);
}

/* Starts signing img with j's profile: 0, or -1 when it failed at once
 * (recorded as FAILED). */
static int
sign_start(struct sign_job *j, const struct image *img)
{
	struct registry	*reg = registry_find(j->account, j->region);
	struct notary_key *k;
	const char	*pem;
	char		 why[256], cn[128];

	if (flag_key_pem != NULL)
		pem = flag_key_pem;
	else if ((pem = registry_setting(reg,
	    REGISTRY_KEY_SIGNING_KEY)) == NULL) {
		snprintf(cn, sizeof(cn), "berth signing %s %s", j->account,
		    j->region);
		j->key_pem = notary_key_generate(cn);
		j->new_key = 1;
		pem = j->key_pem;
	}
	if (j->key_pem == NULL)
		j->key_pem = xstrdup(pem);
	if ((k = notary_key_load(j->key_pem, strlen(j->key_pem), why,
	    sizeof(why))) == NULL) {
		job_fail(j, why);
		return -1;
	}
	j->envelope = notary_envelope(k, img->media_type, &img->digest,
	    img->manifest_len, now_sec());
	notary_key_free(k);
	digest_compute(DIGEST_SHA256, j->envelope, strlen(j->envelope),
	    &j->envelope_digest);
	digest_compute(DIGEST_SHA256, "{}", 2, &j->config_digest);
	sign_blob_write(&j->config_digest, "{}", 2, sign_config_cb, j);
	return 0;
}

/* Takes the next profile to sign: 0 when one was started, 1 when none is
 * left, -1 when one failed at once. */
static int
sign_job_step(struct sign_job *j)
{
	struct registry	*reg = registry_find(j->account, j->region);
	struct json_object *doc, *statuses, *s, *v;
	struct image	*img;
	char		*at;
	size_t		 i;

	if (j->name == NULL) {
		j->name = xstrdup(j->key + strlen(SIGNING_KEY_PREFIX));
		if ((at = strrchr(j->name, '@')) == NULL ||
		    digest_parse_str(at + 1, &j->digest) != 0)
			return 1;
		*at = '\0';
	}
	if ((img = job_image(j, NULL)) == NULL ||
	    (doc = registry_setting_json(reg, j->key)) == NULL)
		return 1;
	free(j->profile);
	j->profile = NULL;
	if (json_object_object_get_ex(doc, "statuses", &statuses))
		for (i = 0; i < json_object_array_length(statuses); i++) {
			s = json_object_array_get_idx(statuses, i);
			if (json_object_object_get_ex(s, "status", &v) &&
			    strcmp(json_object_get_string(v), "IN_PROGRESS") ==
			    0 && json_object_object_get_ex(s,
			    "signingProfileArn", &v)) {
				j->profile = xstrdup(json_object_get_string(v));
				break;
			}
		}
	json_object_put(doc);
	if (j->profile == NULL)
		return 1;
	return sign_start(j, img);
}

static void
sign_next(void)
{
	struct sign_job	*j;
	int		 rc;

	while (!running && jobs != NULL && worker_ready()) {
		j = jobs;
		if ((jobs = j->next) == NULL)
			jobs_tail = &jobs;
		j->next = NULL;
		running = 1;
		rc = sign_job_step(j);
		/* One profile at a time: the job comes back for the next. */
		if (rc != 1)
			queue_job(j->account, j->region, j->key);
		if (rc != 0) {
			running = 0;
			job_free(j);
		}
	}
}

static void
signing_run_cb(evutil_socket_t fd, short events, void *arg)
{
	sign_next();
}

void
signing_kick(void)
{
	if (running || jobs == NULL)
		return;
	if (kick_ev == NULL &&
	    (kick_ev = event_new(ev_base, -1, 0, signing_run_cb, NULL)) == NULL)
		fatalx("event_new");
	event_active(kick_ev, EV_TIMEOUT, 0);
}

void
signing_reload(void)
{
	struct sign_job	*j;
	size_t		 i, k, plen = strlen(SIGNING_KEY_PREFIX);

	while ((j = jobs) != NULL) {
		jobs = j->next;
		job_free(j);
	}
	jobs_tail = &jobs;
	for (i = 0; i < model->registries.len; i++) {
		const struct registry *reg = model->registries.items[i];

		for (k = 0; k < reg->settings.len; k++) {
			const struct kv *kv = reg->settings.items[k];

			if (strncmp(kv->key, SIGNING_KEY_PREFIX, plen) == 0 &&
			    strstr(kv->value, "\"IN_PROGRESS\"") != NULL)
				queue_job(reg->account, reg->region, kv->key);
		}
	}
	signing_kick();
}

struct json_object *
signing_status(const struct repository *repo, const struct digest *d)
{
	struct json_object *doc, *statuses, *out = NULL;
	char		*key = status_key(repo->name, d);

	if ((doc = registry_setting_json(repo->registry, key)) !=
	    NULL) {
		if (json_object_object_get_ex(doc, "statuses", &statuses))
			out = json_object_get(statuses);
		json_object_put(doc);
	}
	free(key);
	return out;
}

char *
signing_certificate(const struct registry *reg)
{
	struct notary_key *k;
	const char	*pem = flag_key_pem;
	char		*out, why[256];

	if (pem == NULL && (pem = registry_setting(reg,
	    REGISTRY_KEY_SIGNING_KEY)) == NULL)
		return NULL;
	if ((k = notary_key_load(pem, strlen(pem), why, sizeof(why))) == NULL)
		return NULL;
	out = notary_chain_pem(k);
	notary_key_free(k);
	return out;
}
