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
 * berthd's side of image scanning: ECR's scan filters (the User Guide's
 * table of filters and names), the registry configuration's stored form
 * and what it applies to a repository, and an image's scan as a record:
 * written, replayed and snapshotted whole, and refused when its findings
 * are malformed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berthd.h"
#include "buf.h"
#include "error.h"
#include "image_scan.h"
#include "scan.h"
#include "unit.h"
#include "util.h"

#define ACCT	"123456789012"
#define REGION	"eu-west-1"

static void
test_scanning_filters(void)
{
	/* image-scanning-filters: names across, filters down. */
	static const char *const names[] = { "prod", "repo-prod", "prod-repo",
	    "repo-prod-repo", "prodrepo" };
	static const struct {
		const char	*filter;
		int		 match[5];
	} table[] = {
		{ "prod",	{ 1, 1, 1, 1, 1 } },
		{ "*prod",	{ 1, 1, 0, 0, 0 } },
		{ "prod*",	{ 1, 0, 1, 0, 1 } },
		{ "*prod*",	{ 1, 1, 1, 1, 1 } },
		{ "prod*repo",	{ 0, 0, 1, 0, 1 } },
	};
	size_t	 i, j;

	for (i = 0; i < nitems(table); i++)
		for (j = 0; j < nitems(names); j++)
			CU_ASSERT_EQUAL(scanning_filter_matches(table[i].filter,
			    names[j]), table[i].match[j]);
	CU_ASSERT_EQUAL(scanning_filter_matches("*", "anything/at/all"), 1);
	CU_ASSERT_EQUAL(scanning_filter_matches("a**b", "ab"), 1);
	CU_ASSERT_EQUAL(scanning_filter_matches("a*b*c", "axbyc"), 1);
	CU_ASSERT_EQUAL(scanning_filter_matches("a*b*c", "axbyd"), 0);
}

static void
test_scanning_config(void)
{
	struct scanning_config	 c, d;
	struct scanning_applied	 a;
	struct repository	 repo;
	char			*s;

	memset(&c, 0, sizeof(c));
	memset(&repo, 0, sizeof(repo));
	repo.name = (char *)(uintptr_t)"team/prod-api";
	/* Never configured: the repository's own flag. */
	scanning_applied(&c, &repo, &a);
	CU_ASSERT_EQUAL(a.frequency, SCAN_FREQ_MANUAL);
	repo.config.scan_on_push = 1;
	scanning_applied(&c, &repo, &a);
	CU_ASSERT_EQUAL(a.frequency, SCAN_FREQ_SCAN_ON_PUSH);
	CU_ASSERT_PTR_NULL(a.rule);

	c.configured = 1;
	c.enhanced = 1;
	c.nrules = 2;
	c.rules[0].frequency = SCAN_FREQ_SCAN_ON_PUSH;
	c.rules[0].filters = xcalloc(2, sizeof(char *));
	c.rules[0].filters[0] = xstrdup("*api");
	c.rules[0].nfilters = 1;
	c.rules[1].frequency = SCAN_FREQ_CONTINUOUS;
	c.rules[1].filters = xcalloc(2, sizeof(char *));
	c.rules[1].filters[0] = xstrdup("team/");
	c.rules[1].filters[1] = xstrdup("other");
	c.rules[1].nfilters = 2;
	s = scanning_config_encode(&c);
	CU_ASSERT_EQUAL_FATAL(scanning_config_decode(s, &d), 0);
	free(s);
	CU_ASSERT_EQUAL(d.enhanced, 1);
	CU_ASSERT_EQUAL_FATAL(d.nrules, 2);
	CU_ASSERT_EQUAL(d.rules[1].frequency, SCAN_FREQ_CONTINUOUS);
	CU_ASSERT_EQUAL_FATAL(d.rules[1].nfilters, 2);
	CU_ASSERT_STRING_EQUAL(d.rules[1].filters[1], "other");
	/* Both match: CONTINUOUS_SCAN wins; ENHANCED ignores the flag. */
	scanning_applied(&d, &repo, &a);
	CU_ASSERT_EQUAL(a.frequency, SCAN_FREQ_CONTINUOUS);
	CU_ASSERT_PTR_EQUAL(a.rule, &d.rules[1]);
	repo.name = (char *)(uintptr_t)"ops/api";
	scanning_applied(&d, &repo, &a);
	CU_ASSERT_EQUAL(a.frequency, SCAN_FREQ_SCAN_ON_PUSH);
	repo.name = (char *)(uintptr_t)"ops/web";
	scanning_applied(&d, &repo, &a);
	CU_ASSERT_EQUAL(a.frequency, SCAN_FREQ_MANUAL);
	CU_ASSERT_EQUAL(a.scan_on_push, 0);
	scanning_config_clear(&d);
	scanning_config_clear(&c);
	CU_ASSERT_EQUAL(scanning_config_decode("{\"scanType\":1}", &d), -1);
	CU_ASSERT_EQUAL(scanning_config_decode("not json", &d), -1);
}

static struct image *
scan_fixture_image(void)
{
	struct repo_config cfg;
	struct repository *repo;
	struct image	 img;
	struct txn	 t;
	static char	 manifest[] = "{}";
	static char	 mt[] = MT_OCI_MANIFEST;

	model_install(model_new());
	txn_init(&t);
	repo_config_init(&cfg);
	CU_ASSERT_EQUAL(txn_repo_put(&t, ACCT, REGION, "team/app", 1, &cfg),
	    0);
	repo_config_clear(&cfg);
	repo = repository_lookup(ACCT, REGION, "team/app");
	memset(&img, 0, sizeof(img));
	img.repo = repo;
	digest_compute(DIGEST_SHA256, manifest, 2, &img.digest);
	img.media_type = mt;
	img.manifest = (uint8_t *)manifest;
	img.manifest_len = 2;
	CU_ASSERT_EQUAL(txn_image_put(&t, &img), 0);
	txn_clear(&t);
	return image_find(repo, &img.digest);
}

static void
test_scanning_record(void)
{
	struct scan_finding	 f;
	struct image_scan	 sc;
	struct image		*img;
	struct digest		 d;
	struct txn		 t;
	struct wbuf		 w;
	uint64_t		 len;
	int			 fd;

	memset(&f, 0, sizeof(f));
	f.id = "DSA-1";
	f.name = "CVE-2026-0001";
	f.description = "d";
	f.uri = "https://example.org/";
	f.severity = SCAN_SEV_HIGH;
	f.package_name = "libc6";
	f.package_version = "2.36-9";
	f.fixed_version = "2.36-10";
	f.cvss_vector = "";
	f.cvss_score10 = -1;
	f.ecosystem = "Debian:12";
	wbuf_init(&w);
	scan_report_finding(&w, &f);

	img = scan_fixture_image();
	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	d = img->digest;
	memset(&sc, 0, sizeof(sc));
	sc.status = IMAGE_SCAN_COMPLETE;
	sc.description = (char *)(uintptr_t)"The scan was completed.";
	sc.started_ms = 10;
	sc.completed_ms = 20;
	sc.db_updated_ms = 30000;
	sc.counts[SCAN_SEV_HIGH] = 1;
	sc.report = w.data;
	sc.report_len = w.len;
	txn_init(&t);
	CU_ASSERT_EQUAL(txn_scan_put(&t, img, &sc), 0);
	txn_clear(&t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(img->scan);
	CU_ASSERT_EQUAL(img->scan->nfindings, 1);
	CU_ASSERT_EQUAL(img->scan->counts[SCAN_SEV_HIGH], 1);
	CU_ASSERT_STRING_EQUAL(img->scan->description,
	    "The scan was completed.");

	/* A snapshot carries it. */
	CU_ASSERT_FATAL((fd = anon_file("scan-snapshot")) != -1);
	CU_ASSERT_EQUAL_FATAL(record_snapshot(fd, &len) > 0, 1);
	{
		uint8_t	*buf = xmalloc(len);
		uint32_t n;
		size_t	 off = 0;

		CU_ASSERT_EQUAL(pread_full(fd, buf, len, 0), (ssize_t)len);
		model_install(model_new());
		while (off < len) {
			memcpy(&n, buf + off, sizeof(n));
			CU_ASSERT_EQUAL(record_apply_entry(buf + off + 4, n), 0);
			off += 4 + n;
		}
		free(buf);
	}
	close(fd);
	img = image_find(repository_lookup(ACCT, REGION, "team/app"), &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	CU_ASSERT_PTR_NOT_NULL_FATAL(img->scan);
	CU_ASSERT_EQUAL(img->scan->report_len, w.len);
	CU_ASSERT_EQUAL(memcmp(img->scan->report, w.data, w.len), 0);
	CU_ASSERT_EQUAL(img->scan->db_updated_ms, 30000);

	/* Findings that do not decode are refused, the old scan kept. */
	w.data[8] ^= 0xff;
	sc.report = w.data;
	txn_init(&t);
	CU_ASSERT_NOT_EQUAL(txn_scan_put(&t, img, &sc), 0);
	txn_clear(&t);
	CU_ASSERT_EQUAL(img->scan->completed_ms, 20);
	wbuf_clear(&w);
	model_install(model_new());
}

int
test_scanning_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("scanning", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "filters", test_scanning_filters) == NULL ||
	    CU_add_test(s, "configuration", test_scanning_config) == NULL ||
	    CU_add_test(s, "scan records", test_scanning_record) == NULL)
		return -1;
	return 0;
}
