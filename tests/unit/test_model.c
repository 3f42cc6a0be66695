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
 * berthd's model: records applied live and replayed give the same model,
 * snapshots round-trip, tag immutability follows its exclusion filters, the
 * GC marking rule keeps what a push in flight needs, and manifests are
 * validated as the OCI and Docker formats say.
 */
#include "config.h"

#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "berthd.h"
#include "error.h"
#include "registry.h"
#include "util.h"
#include "unit.h"

/* berthd.c is not linked into the test binary. */
struct berthd_config	 conf;
struct event_base	*ev_base;

#define ACCT	"123456789012"
#define REGION	"eu-west-1"

static void
digest_of(const char *s, struct digest *d)
{
	digest_compute(DIGEST_SHA256, s, strlen(s), d);
}

static char *
image_manifest(const struct digest *config, const struct digest *layer,
    const char *extra)
{
	char	*m, c[DIGEST_STR_MAX], l[DIGEST_STR_MAX];

	xasprintf(&m, "{\"schemaVersion\":2,\"mediaType\":\"%s\","
	    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1"
	    "+json\",\"digest\":\"%s\",\"size\":10},\"layers\":[{\"mediaType\":"
	    "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\","
	    "\"size\":1000}]%s}", MT_OCI_MANIFEST, digest_format(config, c),
	    digest_format(layer, l), extra != NULL ? extra : "");
	return m;
}

/* A model with one repository, two blobs, one image under two tags. */
struct fixture {
	struct wbuf	 entries;	/* every txn's bytes, as the log has them */
	struct digest	 config, layer, image;
};

static void
keep_entry(struct fixture *fx, struct txn *t)
{
	uint32_t n = (uint32_t)t->buf.len;

	wbuf_put(&fx->entries, &n, sizeof(n));
	wbuf_put(&fx->entries, t->buf.data, t->buf.len);
	txn_clear(t);
}

static void
build_fixture(struct fixture *fx)
{
	struct repo_config cfg;
	struct repository *repo;
	struct image	 img;
	struct txn	 t;
	char		*m;

	memset(fx, 0, sizeof(*fx));
	wbuf_init(&fx->entries);
	model_install(model_new());
	conf.max_images = ECR_IMAGES_MAX;
	conf.max_repositories = ECR_REPOSITORIES_MAX;
	digest_of("config", &fx->config);
	digest_of("layer", &fx->layer);

	txn_init(&t);
	repo_config_init(&cfg);
	cfg.mutability = MUT_IMMUTABLE_WITH_EXCLUSION;
	cfg.mut_filters = xcalloc(1, sizeof(char *));
	cfg.mut_filters[0] = xstrdup("latest*");
	cfg.nmut_filters = 1;
	cfg.policy = xstrdup("{\"Version\":\"2012-10-17\"}");
	CU_ASSERT_EQUAL(txn_repo_put(&t, ACCT, REGION, "team/app", 1000, &cfg),
	    0);
	repo_config_clear(&cfg);
	repo = repository_find(registry_find(ACCT, REGION), "team/app");
	CU_ASSERT_PTR_NOT_NULL_FATAL(repo);
	CU_ASSERT_EQUAL(txn_link_put(&t, repo, &fx->config, 10), 0);
	CU_ASSERT_EQUAL(txn_link_put(&t, repo, &fx->layer, 1000), 0);
	keep_entry(fx, &t);

	m = image_manifest(&fx->config, &fx->layer, NULL);
	digest_of(m, &fx->image);
	memset(&img, 0, sizeof(img));
	img.repo = repo;
	img.digest = fx->image;
	img.media_type = (char *)(uintptr_t)MT_OCI_MANIFEST;
	img.manifest = (uint8_t *)m;
	img.manifest_len = strlen(m);
	img.pushed_ms = 5000;
	img.refs = xcalloc(2, sizeof(*img.refs));
	img.refs[0].kind = REF_CONFIG;
	img.refs[0].digest = fx->config;
	img.refs[0].size = 10;
	img.refs[1].kind = REF_LAYER;
	img.refs[1].digest = fx->layer;
	img.refs[1].size = 1000;
	img.nrefs = 2;
	img.size = 1000;
	CU_ASSERT_EQUAL(txn_image_put(&t, &img), 0);
	free(img.refs);
	free(m);
	CU_ASSERT_EQUAL(txn_tag_put(&t, repo, "v1", &fx->image), 0);
	CU_ASSERT_EQUAL(txn_tag_put(&t, repo, "latest", &fx->image), 0);
	keep_entry(fx, &t);

	CU_ASSERT_EQUAL(txn_setting_put(&t, repo->registry, "policy", "{}"),
	    0);
	keep_entry(fx, &t);
}

/* Replays [u32 len][entry]... into a fresh model. */
static int
replay(const uint8_t *p, size_t len)
{
	uint32_t n;
	size_t	 off = 0;

	model_install(model_new());
	while (off < len) {
		memcpy(&n, p + off, sizeof(n));
		off += sizeof(n);
		if (record_apply_entry(p + off, n) != 0)
			return -1;
		off += n;
	}
	return 0;
}

static void
check_fixture_model(const struct fixture *fx)
{
	struct repository *repo;
	struct image	*img;
	struct tag	*tg;
	struct blob	*b;

	repo = repository_find(registry_find(ACCT, REGION), "team/app");
	CU_ASSERT_PTR_NOT_NULL_FATAL(repo);
	CU_ASSERT_EQUAL(repo->created_ms, 1000);
	CU_ASSERT_EQUAL(repo->config.mutability,
	    MUT_IMMUTABLE_WITH_EXCLUSION);
	CU_ASSERT_EQUAL_FATAL(repo->config.nmut_filters, 1);
	CU_ASSERT_STRING_EQUAL(repo->config.mut_filters[0], "latest*");
	CU_ASSERT_STRING_EQUAL(repo->config.policy,
	    "{\"Version\":\"2012-10-17\"}");
	CU_ASSERT_EQUAL(repo->images.len, 1);
	CU_ASSERT_EQUAL(repo->tags.len, 2);
	CU_ASSERT_EQUAL(repo->links.len, 2);
	img = image_find(repo, &fx->image);
	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	CU_ASSERT_EQUAL(img->ntags, 2);
	CU_ASSERT_EQUAL(img->pushed_ms, 5000);
	CU_ASSERT_EQUAL(img->size, 1000);
	tg = tag_find(repo, "v1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(tg);
	CU_ASSERT_PTR_EQUAL(tg->image, img);
	b = blob_find(&fx->layer);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(b->refs, 1);
	CU_ASSERT_EQUAL(b->links, 1);
	CU_ASSERT_EQUAL(b->size, 1000);
	CU_ASSERT_STRING_EQUAL(registry_setting(repo->registry, "policy"),
	    "{}");
}

static void
test_replay_equals_live(void)
{
	struct fixture	 fx;

	build_fixture(&fx);
	check_fixture_model(&fx);
	CU_ASSERT_EQUAL(replay(fx.entries.data, fx.entries.len), 0);
	check_fixture_model(&fx);
	wbuf_clear(&fx.entries);
}

static void
test_snapshot_round_trip(void)
{
	struct fixture	 fx;
	uint64_t	 len = 0;
	int64_t		 entries;
	void		*map;
	int		 fd;

	build_fixture(&fx);
	fd = anon_file("test-snapshot");
	CU_ASSERT_FATAL(fd >= 0);
	entries = record_snapshot(fd, &len);
	CU_ASSERT(entries >= 1);
	CU_ASSERT(len > 0);
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	CU_ASSERT_FATAL(map != MAP_FAILED);
	CU_ASSERT_EQUAL(replay(map, len), 0);
	check_fixture_model(&fx);
	munmap(map, len);
	close(fd);
	wbuf_clear(&fx.entries);
}

/*
 * berth stored a template's prefix as given until "prod" and "prod/" were
 * made one template: a data directory may hold the setting
 * "template/prod/", written as that code wrote it.  It is read as
 * "template/prod", its prefix "prod", on replay and through a snapshot,
 * and the old key's deletion deletes it.
 */
static void
check_template_canon(void)
{
	struct registry	*reg = registry_find(ACCT, REGION);
	const char	*text;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	CU_ASSERT_PTR_NULL(registry_setting(reg, "template/prod/"));
	text = registry_setting(reg, "template/prod");
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"prefix\":\"prod\""));
	CU_ASSERT_PTR_NULL(strstr(text, "prod/"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"createdMs\":7"));
	CU_ASSERT_PTR_EQUAL(template_for(reg, "prod/app",
	    TEMPLATE_FOR_CREATE_ON_PUSH), text);
}

static void
test_template_slash_canon(void)
{
	static const char old[] = "{\"template\":{\"prefix\":\"prod/\","
	    "\"imageTagMutability\":\"IMMUTABLE\",\"appliedFor\":"
	    "[\"CREATE_ON_PUSH\"]},\"createdMs\":7,\"updatedMs\":8}";
	struct fixture	 fx;
	struct txn	 t;
	uint64_t	 len = 0;
	void		*map;
	int		 fd;

	memset(&fx, 0, sizeof(fx));
	wbuf_init(&fx.entries);
	model_install(model_new());
	txn_init(&t);
	CU_ASSERT_EQUAL(txn_setting_put(&t, registry_get(ACCT, REGION),
	    "template/prod/", old), 0);
	keep_entry(&fx, &t);
	CU_ASSERT_EQUAL(replay(fx.entries.data, fx.entries.len), 0);
	check_template_canon();

	fd = anon_file("test-template-snapshot");
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(record_snapshot(fd, &len) >= 1);
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	CU_ASSERT_FATAL(map != MAP_FAILED);
	CU_ASSERT_EQUAL(replay(map, len), 0);
	check_template_canon();
	munmap(map, len);
	close(fd);

	CU_ASSERT_EQUAL(replay(fx.entries.data, fx.entries.len), 0);
	CU_ASSERT_EQUAL(txn_setting_delete(&t, registry_get(ACCT, REGION),
	    "template/prod/"), 0);
	keep_entry(&fx, &t);
	CU_ASSERT_EQUAL(replay(fx.entries.data, fx.entries.len), 0);
	CU_ASSERT_PTR_NULL(registry_setting(registry_find(ACCT, REGION),
	    "template/prod"));
	wbuf_clear(&fx.entries);
}

static void
test_tag_move_and_delete(void)
{
	struct fixture	 fx;
	struct repository *repo;
	struct image	*img;
	struct txn	 t;
	struct blob	*b;

	build_fixture(&fx);
	repo = repository_find(registry_find(ACCT, REGION), "team/app");
	img = image_find(repo, &fx.image);
	txn_init(&t);
	CU_ASSERT_EQUAL(txn_tag_delete(&t, repo, "v1"), 0);
	CU_ASSERT_PTR_NULL(tag_find(repo, "v1"));
	CU_ASSERT_EQUAL(img->ntags, 1);
	/* A record that cannot apply leaves the model and the buffer as
	 * they were, and is the transaction's error: what follows does
	 * nothing, and the records before it are still to be committed. */
	CU_ASSERT_EQUAL(txn_tag_delete(&t, repo, "nope"),
	    BERR_MANIFEST_UNKNOWN);
	CU_ASSERT_EQUAL(t.nrecords, 1);
	CU_ASSERT_EQUAL(t.err, BERR_MANIFEST_UNKNOWN);
	CU_ASSERT_EQUAL(txn_image_delete(&t, img), BERR_MANIFEST_UNKNOWN);
	CU_ASSERT_EQUAL(repo->images.len, 1);
	CU_ASSERT_EQUAL(t.nrecords, 1);
	keep_entry(&fx, &t);
	txn_init(&t);
	CU_ASSERT_EQUAL(txn_image_delete(&t, img), 0);
	CU_ASSERT_EQUAL(repo->images.len, 0);
	CU_ASSERT_EQUAL(repo->tags.len, 0);
	b = blob_find(&fx.layer);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(b->refs, 0);
	CU_ASSERT(b->deref_ms > 0);
	keep_entry(&fx, &t);
	CU_ASSERT_EQUAL(replay(fx.entries.data, fx.entries.len), 0);
	repo = repository_find(registry_find(ACCT, REGION), "team/app");
	CU_ASSERT_EQUAL(repo->images.len, 0);
	CU_ASSERT_EQUAL(blob_find(&fx.layer)->refs, 0);
	wbuf_clear(&fx.entries);
}

static void
test_repo_delete_and_forget(void)
{
	struct fixture	 fx;
	struct repository *repo;
	struct txn	 t;

	build_fixture(&fx);
	repo = repository_find(registry_find(ACCT, REGION), "team/app");
	txn_init(&t);
	/* A referenced blob is never forgotten. */
	CU_ASSERT_EQUAL(txn_blob_forget(&t, &fx.layer), BERR_INTERNAL);
	CU_ASSERT_EQUAL(t.nrecords, 0);
	txn_clear(&t);
	txn_init(&t);
	CU_ASSERT_EQUAL(txn_repo_delete(&t, repo), 0);
	CU_ASSERT_PTR_NULL(repository_find(registry_find(ACCT, REGION),
	    "team/app"));
	CU_ASSERT_EQUAL(blob_find(&fx.layer)->refs, 0);
	CU_ASSERT_EQUAL(blob_find(&fx.layer)->links, 0);
	CU_ASSERT_EQUAL(txn_blob_forget(&t, &fx.layer), 0);
	CU_ASSERT_PTR_NULL(blob_find(&fx.layer));
	txn_clear(&t);
	wbuf_clear(&fx.entries);
}

static void
test_tag_immutability(void)
{
	struct repository repo;

	memset(&repo, 0, sizeof(repo));
	repo_config_init(&repo.config);
	CU_ASSERT_FALSE(repository_tag_is_immutable(&repo, "v1"));
	repo.config.mutability = MUT_IMMUTABLE;
	CU_ASSERT_TRUE(repository_tag_is_immutable(&repo, "latest"));
	repo.config.mut_filters = xcalloc(2, sizeof(char *));
	repo.config.mut_filters[0] = xstrdup("latest");
	repo.config.mut_filters[1] = xstrdup("dev-*");
	repo.config.nmut_filters = 2;
	repo.config.mutability = MUT_IMMUTABLE_WITH_EXCLUSION;
	CU_ASSERT_FALSE(repository_tag_is_immutable(&repo, "latest"));
	CU_ASSERT_FALSE(repository_tag_is_immutable(&repo, "dev-123"));
	CU_ASSERT_TRUE(repository_tag_is_immutable(&repo, "v1.0"));
	CU_ASSERT_TRUE(repository_tag_is_immutable(&repo, "latest2"));
	repo.config.mutability = MUT_MUTABLE_WITH_EXCLUSION;
	CU_ASSERT_TRUE(repository_tag_is_immutable(&repo, "dev-1"));
	CU_ASSERT_FALSE(repository_tag_is_immutable(&repo, "v1.0"));
	repo_config_clear(&repo.config);
}

static void
test_gc_marking(void)
{
	struct blob	 b;
	int64_t		 now = 10000000, grace = 3600000;

	memset(&b, 0, sizeof(b));
	/* Referenced: never garbage. */
	b.refs = 1;
	b.active_ms = 1;
	CU_ASSERT_FALSE(gc_blob_is_garbage(&b, 0, now, grace));
	/* A layer uploaded a minute ago whose manifest is still to come
	 * (a push in flight): kept. */
	b.refs = 0;
	b.deref_ms = 0;
	b.active_ms = now - 60000;
	CU_ASSERT_FALSE(gc_blob_is_garbage(&b, 0, now, grace));
	/* The same, abandoned for longer than the grace period. */
	b.active_ms = now - grace - 1;
	CU_ASSERT_TRUE(gc_blob_is_garbage(&b, 0, now, grace));
	/* Its image was deleted after the last push activity: garbage at
	 * once, grace or not. */
	b.active_ms = now - 60000;
	b.deref_ms = now - 30000;
	CU_ASSERT_TRUE(gc_blob_is_garbage(&b, 0, now, grace));
	/* A push checked it after the deletion: it is about to be
	 * referenced again. */
	b.active_ms = now - 1000;
	CU_ASSERT_FALSE(gc_blob_is_garbage(&b, 0, now, grace));
	/* Stored but unknown to the metadata (a commit whose link never
	 * landed): judged by its file's age. */
	CU_ASSERT_FALSE(gc_blob_is_garbage(NULL, now - 1000, now, grace));
	CU_ASSERT_TRUE(gc_blob_is_garbage(NULL, now - grace - 1, now, grace));
}

static void
test_manifest_parse(void)
{
	struct manifest_info mi;
	struct digest	 c, l;
	char		*m, ds[DIGEST_STR_MAX];
	const char	*index;

	digest_of("c", &c);
	digest_of("l", &l);
	m = image_manifest(&c, &l, ",\"subject\":{\"mediaType\":"
	    "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":"
	    "\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
	    "7852b855\",\"size\":2}");
	CU_ASSERT_EQUAL_FATAL(manifest_parse(m, strlen(m), NULL, 0, &mi), 0);
	CU_ASSERT_STRING_EQUAL(mi.media_type, MT_OCI_MANIFEST);
	CU_ASSERT_EQUAL(mi.nrefs, 2);
	CU_ASSERT_EQUAL(mi.refs[0].kind, REF_CONFIG);
	CU_ASSERT_TRUE(digest_eq(&mi.refs[1].digest, &l));
	CU_ASSERT_EQUAL(mi.layers_size, 1000);
	CU_ASSERT_TRUE(mi.has_subject);
	CU_ASSERT_STRING_EQUAL(digest_format(&mi.subject, ds),
	    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
	    "7852b855");
	CU_ASSERT_STRING_EQUAL(mi.config_media_type,
	    "application/vnd.oci.image.config.v1+json");
	manifest_info_clear(&mi);
	/* A Content-Type that contradicts the body's mediaType. */
	CU_ASSERT_EQUAL(manifest_parse(m, strlen(m), MT_DOCKER_MANIFEST, 0, &mi),
	    BERR_MANIFEST_INVALID);
	/* Trailing garbage after the JSON value. */
	free(m);
	m = image_manifest(&c, &l, "}");
	CU_ASSERT_EQUAL(manifest_parse(m, strlen(m), NULL, 0, &mi),
	    BERR_MANIFEST_INVALID);
	free(m);
	index = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
	    "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":"
	    "\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
	    "7852b855\",\"size\":2,\"platform\":{\"os\":\"linux\"}}]}";
	/* No mediaType anywhere: inferred from the structure. */
	CU_ASSERT_EQUAL_FATAL(manifest_parse(index, strlen(index), NULL, 0, &mi),
	    0);
	CU_ASSERT_STRING_EQUAL(mi.media_type, MT_OCI_INDEX);
	CU_ASSERT_TRUE(mi.is_index);
	CU_ASSERT_EQUAL(mi.nrefs, 1);
	CU_ASSERT_EQUAL(mi.refs[0].kind, REF_MANIFEST);
	manifest_info_clear(&mi);
	/* The Docker list type given by Content-Type. */
	CU_ASSERT_EQUAL(manifest_parse(index, strlen(index), MT_DOCKER_LIST,
	    0, &mi), 0);
	CU_ASSERT_STRING_EQUAL(mi.media_type, MT_DOCKER_LIST);
	manifest_info_clear(&mi);
	/* Broken inputs. */
	CU_ASSERT_EQUAL(manifest_parse("{", 1, NULL, 0, &mi),
	    BERR_MANIFEST_INVALID);
	CU_ASSERT_EQUAL(manifest_parse("{\"schemaVersion\":1}", 19, NULL, 0, &mi),
	    BERR_MANIFEST_INVALID);
	m = xstrdup("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\","
	    "\"digest\":\"sha256:abc\",\"size\":1},\"layers\":[]}");
	CU_ASSERT_EQUAL(manifest_parse(m, strlen(m), NULL, 0, &mi),
	    BERR_MANIFEST_INVALID);
	CU_ASSERT(strstr(mi.error, "invalid digest") != NULL);
	free(m);
	m = xstrdup("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker"
	    ".distribution.manifest.v1+json\"}");
	CU_ASSERT_EQUAL(manifest_parse(m, strlen(m), NULL, 0, &mi),
	    BERR_MANIFEST_INVALID);
	CU_ASSERT(strstr(mi.error, "unsupported") != NULL);
	free(m);
	/* Nesting beyond the limit is refused, not recursed into. */
	m = xcalloc(1, 2001);
	memset(m, '[', 1000);
	memset(m + 1000, ']', 1000);
	CU_ASSERT_EQUAL(manifest_parse(m, 2000, NULL, 0, &mi),
	    BERR_MANIFEST_INVALID);
	free(m);
}

/* --lenient-images: what in-process fakes accept, and nothing else. */
static void
test_manifest_parse_lenient(void)
{
	struct manifest_info mi;
	struct digest	 l;
	char		*m, ds[DIGEST_STR_MAX];
	const char	*bare = "{\"schemaVersion\":2}";
	const char	*list = "{\"schemaVersion\":2,\"manifests\":[]}";

	/* No type, config or layers: a Docker image manifest of nothing. */
	CU_ASSERT_EQUAL_FATAL(manifest_parse(bare, strlen(bare), NULL,
	    MANIFEST_LENIENT, &mi), 0);
	CU_ASSERT_STRING_EQUAL(mi.media_type, MT_DOCKER_MANIFEST);
	CU_ASSERT_FALSE(mi.is_index);
	CU_ASSERT_EQUAL(mi.nrefs, 0);
	CU_ASSERT_PTR_NULL(mi.config_media_type);
	manifest_info_clear(&mi);
	CU_ASSERT_EQUAL(manifest_parse(bare, strlen(bare), NULL, 0, &mi),
	    BERR_MANIFEST_INVALID);
	/* A type given by imageManifestMediaType still decides. */
	CU_ASSERT_EQUAL_FATAL(manifest_parse(bare, strlen(bare),
	    MT_OCI_MANIFEST, MANIFEST_LENIENT, &mi), 0);
	CU_ASSERT_STRING_EQUAL(mi.media_type, MT_OCI_MANIFEST);
	manifest_info_clear(&mi);
	/* With a manifests array: a Docker list (OCI's index when strict). */
	CU_ASSERT_EQUAL_FATAL(manifest_parse(list, strlen(list), NULL,
	    MANIFEST_LENIENT, &mi), 0);
	CU_ASSERT_STRING_EQUAL(mi.media_type, MT_DOCKER_LIST);
	CU_ASSERT_TRUE(mi.is_index);
	manifest_info_clear(&mi);
	CU_ASSERT_EQUAL_FATAL(manifest_parse(list, strlen(list), NULL, 0,
	    &mi), 0);
	CU_ASSERT_STRING_EQUAL(mi.media_type, MT_OCI_INDEX);
	manifest_info_clear(&mi);
	/* Layers without a config: the layers are all the references. */
	digest_of("l", &l);
	xasprintf(&m, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"layers\":"
	    "[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar."
	    "gzip\",\"digest\":\"%s\",\"size\":32654}]}", MT_DOCKER_MANIFEST,
	    digest_format(&l, ds));
	CU_ASSERT_EQUAL_FATAL(manifest_parse(m, strlen(m), NULL,
	    MANIFEST_LENIENT, &mi), 0);
	CU_ASSERT_EQUAL(mi.nrefs, 1);
	CU_ASSERT_EQUAL(mi.refs[0].kind, REF_LAYER);
	CU_ASSERT_TRUE(digest_eq(&mi.refs[0].digest, &l));
	CU_ASSERT_EQUAL(mi.layers_size, 32654);
	manifest_info_clear(&mi);
	CU_ASSERT_EQUAL(manifest_parse(m, strlen(m), NULL, 0, &mi),
	    BERR_MANIFEST_INVALID);
	CU_ASSERT(strstr(mi.error, "needs a config") != NULL);
	free(m);
	/* What is there is checked as ever. */
	m = xstrdup("{\"schemaVersion\":2,\"layers\":{}}");
	CU_ASSERT_EQUAL(manifest_parse(m, strlen(m), NULL, MANIFEST_LENIENT,
	    &mi), BERR_MANIFEST_INVALID);
	free(m);
	m = xstrdup("{\"schemaVersion\":2,\"layers\":[{\"mediaType\":\"x\","
	    "\"digest\":\"sha256:1234\",\"size\":1}]}");
	CU_ASSERT_EQUAL(manifest_parse(m, strlen(m), NULL, MANIFEST_LENIENT,
	    &mi), BERR_MANIFEST_INVALID);
	CU_ASSERT(strstr(mi.error, "invalid digest") != NULL);
	free(m);
	CU_ASSERT_EQUAL(manifest_parse("{\"schemaVersion\":1}", 19, NULL,
	    MANIFEST_LENIENT, &mi), BERR_MANIFEST_INVALID);
}

/*
 * A lenient image may reference a blob that is not stored, with whatever
 * size its manifest declares; once the blob is stored, its true size is
 * the one the model serves, live and replayed.
 */
static void
test_lenient_blob_size(void)
{
	struct fixture	 fx;
	struct repository *repo;
	struct image	 img;
	struct txn	 t;
	struct digest	 later;
	struct blob	*b;
	char		*m;

	build_fixture(&fx);
	repo = repository_find(registry_find(ACCT, REGION), "team/app");
	digest_of("pushed later", &later);
	m = image_manifest(&fx.config, &later, NULL);
	memset(&img, 0, sizeof(img));
	img.repo = repo;
	digest_of(m, &img.digest);
	img.media_type = (char *)(uintptr_t)MT_OCI_MANIFEST;
	img.manifest = (uint8_t *)m;
	img.manifest_len = strlen(m);
	img.refs = xcalloc(1, sizeof(*img.refs));
	img.refs[0].kind = REF_LAYER;
	img.refs[0].digest = later;
	img.refs[0].size = 32654;
	img.nrefs = 1;
	txn_init(&t);
	CU_ASSERT_EQUAL(txn_image_put(&t, &img), 0);
	free(img.refs);
	free(m);
	keep_entry(&fx, &t);
	CU_ASSERT_PTR_NULL(link_find(repo, &later));
	CU_ASSERT_EQUAL(txn_link_put(&t, repo, &later, 12), 0);
	keep_entry(&fx, &t);
	b = blob_find(&later);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(b->size, 12);
	CU_ASSERT_EQUAL(b->refs, 1);
	CU_ASSERT_EQUAL(replay(fx.entries.data, fx.entries.len), 0);
	b = blob_find(&later);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(b->size, 12);
	wbuf_clear(&fx.entries);
}

static void
test_image_push_validation(void)
{
	struct fixture	 fx;
	struct image_push p;
	struct digest	 other;
	char		*m, *tags[1];
	const char	*tagname = "v1";

	build_fixture(&fx);
	digest_of("not pushed", &other);
	memset(&p, 0, sizeof(p));
	p.account = ACCT;
	p.region = REGION;
	p.repository = "team/app";
	/* A layer that is not in the repository. */
	m = image_manifest(&fx.config, &other, NULL);
	p.manifest = (const uint8_t *)m;
	p.len = strlen(m);
	CU_ASSERT_EQUAL(image_push(&p, NULL, NULL),
	    BERR_MANIFEST_BLOB_UNKNOWN);
	CU_ASSERT_TRUE(digest_eq(&p.missing, &other));
	free(m);
	/* A digest that is not the manifest's. */
	m = image_manifest(&fx.config, &fx.layer, ",\"annotations\":{}");
	p.manifest = (const uint8_t *)m;
	p.len = strlen(m);
	p.expected = &other;
	CU_ASSERT_EQUAL(image_push(&p, NULL, NULL), BERR_DIGEST_INVALID);
	p.expected = NULL;
	/* Moving the immutable tag v1 to another image. */
	tags[0] = (char *)(uintptr_t)tagname;
	p.tags = tags;
	p.ntags = 1;
	CU_ASSERT_EQUAL(image_push(&p, NULL, NULL), BERR_TAG_IMMUTABLE);
	CU_ASSERT(strstr(p.detail, "immutable") != NULL);
	free(m);
	/* ECR: pushing the same image under the same tag changes nothing. */
	m = image_manifest(&fx.config, &fx.layer, NULL);
	p.manifest = (const uint8_t *)m;
	p.len = strlen(m);
	p.ecr = 1;
	CU_ASSERT_EQUAL(image_push(&p, NULL, NULL), BERR_EXISTS);
	free(m);
	/* A repository that does not exist. */
	p.repository = "nope";
	CU_ASSERT_EQUAL(image_push(&p, NULL, NULL), BERR_NAME_UNKNOWN);
	wbuf_clear(&fx.entries);
}

/* ECR's quotas on one push, and the index that answers "what names this
 * digest" without a scan of the repository's images. */
static void
test_quotas_and_refs(void)
{
	struct fixture	 fx;
	struct image_push p;
	struct repository *repo;
	const struct repo_ref *ref;
	struct txn	 t;
	char		*m, *tags[2], name[16];
	size_t		 i;

	build_fixture(&fx);
	repo = repository_find(registry_find(ACCT, REGION), "team/app");
	CU_ASSERT_PTR_NOT_NULL_FATAL(repo);
	ref = repo_ref_find(repo, &fx.layer);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	CU_ASSERT_EQUAL(ref->blob_refs, 1);
	CU_ASSERT_EQUAL(ref->index_refs, 0);
	memset(&p, 0, sizeof(p));
	p.account = ACCT;
	p.region = REGION;
	p.repository = "team/app";
	/* The repository holds one image: with room for one, no other. */
	conf.max_images = 1;
	m = image_manifest(&fx.config, &fx.layer, ",\"annotations\":{}");
	p.manifest = (const uint8_t *)m;
	p.len = strlen(m);
	CU_ASSERT_EQUAL(image_push(&p, NULL, NULL), BERR_LIMIT_EXCEEDED);
	CU_ASSERT(strstr(p.detail, "maximum allowed number of images which "
	    "is '1'") != NULL);
	free(m);
	conf.max_images = ECR_IMAGES_MAX;
	/* 1000 tags on the image (it has v1 and latest), then no more. */
	txn_init(&t);
	for (i = 2; i < ECR_IMAGE_TAGS_MAX; i++) {
		snprintf(name, sizeof(name), "t%zu", i);
		CU_ASSERT_EQUAL(txn_tag_put(&t, repo, name, &fx.image), 0);
	}
	txn_clear(&t);
	CU_ASSERT_EQUAL(image_find(repo, &fx.image)->ntags,
	    ECR_IMAGE_TAGS_MAX);
	m = image_manifest(&fx.config, &fx.layer, NULL);
	p.manifest = (const uint8_t *)m;
	p.len = strlen(m);
	tags[0] = (char *)(uintptr_t)"one-more";
	tags[1] = (char *)(uintptr_t)"v1";
	p.tags = tags;
	p.ntags = 2;
	CU_ASSERT_EQUAL(image_push(&p, NULL, NULL), BERR_LIMIT_EXCEEDED);
	CU_ASSERT(strstr(p.detail, "maximum allowed number of tags which is "
	    "'1000'") != NULL);
	free(m);
	/* Repositories: room while under --max-repositories. */
	CU_ASSERT(registry_has_room(ACCT, REGION));
	conf.max_repositories = 1;
	CU_ASSERT(!registry_has_room(ACCT, REGION));
	CU_ASSERT(registry_has_room("999999999999", REGION));
	txn_init(&t);
	CU_ASSERT_EQUAL(txn_repo_ensure(&t, ACCT, REGION, "team/other"),
	    BERR_LIMIT_EXCEEDED);
	txn_clear(&t);
	conf.max_repositories = ECR_REPOSITORIES_MAX;
	/* The image goes, and its entries with it. */
	txn_init(&t);
	CU_ASSERT_EQUAL(txn_image_delete(&t, image_find(repo, &fx.image)), 0);
	txn_clear(&t);
	CU_ASSERT_PTR_NULL(repo_ref_find(repo, &fx.layer));
	CU_ASSERT_PTR_NULL(repo_ref_find(repo, &fx.config));
	wbuf_clear(&fx.entries);
}

/* Compaction keeps start-up bounded by the state, not by its history. */
static void
test_compaction_due(void)
{
	const uint64_t MiB = 1024 * 1024;

	/* A small log beside a small snapshot: not yet. */
	CU_ASSERT_FALSE(meta_compaction_due(0, 0, 0));
	CU_ASSERT_FALSE(meta_compaction_due(1 * MiB, 10 * MiB, 99999));
	/* The 64 MiB floor. */
	CU_ASSERT_FALSE(meta_compaction_due(1 * MiB, 64 * MiB - 1, 10));
	CU_ASSERT_TRUE(meta_compaction_due(1 * MiB, 64 * MiB, 10));
	/* A big state: the log must outgrow the snapshot. */
	CU_ASSERT_FALSE(meta_compaction_due(500 * MiB, 499 * MiB, 10));
	CU_ASSERT_TRUE(meta_compaction_due(500 * MiB, 500 * MiB, 10));
	/* Many entries: once they are a quarter of the snapshot. */
	CU_ASSERT_TRUE(meta_compaction_due(1 * MiB, 1 * MiB, 100000));
	CU_ASSERT_FALSE(meta_compaction_due(400 * MiB, 99 * MiB, 100000));
	CU_ASSERT_TRUE(meta_compaction_due(400 * MiB, 100 * MiB, 100000));
	/* Whatever the history, what start-up replays is bounded: after
	 * any number of appends the log stays below the limit it triggers
	 * at, and the snapshot is the state. */
	{
		uint64_t snap = 2 * MiB, log = 0, entries = 0, i, worst = 0;

		for (i = 0; i < 3000000; i++) {
			log += 100;
			entries++;
			if (log > worst)
				worst = log;
			if (meta_compaction_due(snap, log, entries))
				log = entries = 0;
		}
		CU_ASSERT(worst <= 64 * MiB);
	}
}

int
test_model_register(void)
{
	CU_pSuite s = CU_add_suite("model", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "replay equals live", test_replay_equals_live) ==
	    NULL ||
	    CU_add_test(s, "snapshot round trip", test_snapshot_round_trip) ==
	    NULL ||
	    CU_add_test(s, "template prefix with its slash, as stored before",
	    test_template_slash_canon) == NULL ||
	    CU_add_test(s, "tag move and delete", test_tag_move_and_delete) ==
	    NULL ||
	    CU_add_test(s, "repository delete and forget",
	    test_repo_delete_and_forget) == NULL ||
	    CU_add_test(s, "tag immutability", test_tag_immutability) == NULL ||
	    CU_add_test(s, "gc marking", test_gc_marking) == NULL ||
	    CU_add_test(s, "manifest parse", test_manifest_parse) == NULL ||
	    CU_add_test(s, "manifest parse, lenient",
	    test_manifest_parse_lenient) == NULL ||
	    CU_add_test(s, "lenient images: blob size",
	    test_lenient_blob_size) == NULL ||
	    CU_add_test(s, "image push validation",
	    test_image_push_validation) == NULL ||
	    CU_add_test(s, "quotas and the reference index",
	    test_quotas_and_refs) == NULL ||
	    CU_add_test(s, "compaction due", test_compaction_due) == NULL)
		return -1;
	return 0;
}
