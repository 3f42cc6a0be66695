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
 * Image scans through the ECR API: StartImageScan, DescribeImageScanFindings
 * and the scan fields of DescribeImages.  The findings are the records
 * berth-scand reported (image_scan.c keeps them checked), turned into
 * ECR's shapes here: ImageScanFinding for BASIC scans, with the
 * attributes AWS's basic scanning gives (package_name, package_version,
 * CVSS3_VECTOR, CVSS3_SCORE), and EnhancedImageScanFinding for scans run
 * under ENHANCED, built from the same local findings (berth has no Amazon
 * Inspector: no exploit data, one CVSS source, the advisory's own
 * fields).  An image may be scanned once in 24 hours, a scan on push
 * included, as AWS documents; berth also lets a FAILED scan be started
 * again, since a failure may be its own (the scanner restarting).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "image_scan.h"
#include "scan.h"
#include "util.h"

#define SCAN_QUOTA_MS		(24LL * 3600 * 1000)
#define ATTRIBUTE_VALUE_MAX	256

/* A finding record's fields as NUL-terminated strings. */
struct finding {
	char	*f[SCAN_REC_FINDING_FIELDS];
};
enum {
	F_ID, F_NAME, F_DESCRIPTION, F_URI, F_SEVERITY, F_PACKAGE,
	F_VERSION, F_FIXED, F_VECTOR, F_SCORE, F_ECOSYSTEM
};

static void
finding_init(struct finding *fi, const struct scan_record *rec)
{
	int	 i;

	for (i = 0; i < SCAN_REC_FINDING_FIELDS; i++)
		fi->f[i] = xstrndup(rec->field[i], rec->flen[i]);
}

static void
finding_clear(struct finding *fi)
{
	int	 i;

	for (i = 0; i < SCAN_REC_FINDING_FIELDS; i++)
		free(fi->f[i]);
}

static struct json_object *
status_json(const struct image_scan *sc)
{
	struct json_object *o = json_object_new_object();

	ecr_add_str(o, "status", image_scan_status_name(sc->status));
	if (sc->description != NULL && sc->description[0] != '\0')
		ecr_add_str(o, "description", sc->description);
	return o;
}

static struct json_object *
counts_json(const struct image_scan *sc)
{
	struct json_object *o = json_object_new_object();
	int		 i;

	/* AWS lists the severities it found, not zeros. */
	for (i = 0; i < SCAN_SEV__MAX; i++)
		if (sc->counts[i] > 0)
			json_object_object_add(o, scan_severity_name(i),
			    json_object_new_int64(sc->counts[i]));
	return o;
}

/* Whether the scan has findings to show (it ended and read the image). */
static int
scan_has_findings(const struct image_scan *sc)
{
	return sc->status == IMAGE_SCAN_COMPLETE ||
	    sc->status == IMAGE_SCAN_ACTIVE;
}

void
ecr_scan_summary(struct json_object *detail, const struct image *img)
{
	struct json_object *sum;
	const struct image_scan *sc = img->scan;

	if (sc == NULL)
		return;
	json_object_object_add(detail, "imageScanStatus", status_json(sc));
	if (!scan_has_findings(sc))
		return;
	sum = json_object_new_object();
	ecr_add_time(sum, "imageScanCompletedAt", sc->completed_ms);
	ecr_add_time(sum, "vulnerabilitySourceUpdatedAt", sc->db_updated_ms);
	json_object_object_add(sum, "findingSeverityCounts", counts_json(sc));
	json_object_object_add(detail, "imageScanFindingsSummary", sum);
}

/* --- StartImageScan ------------------------------------------------------ */

void
ecr_scan_start(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	struct json_object *id = ecr_member(r, "imageId"), *out;
	struct scanning_config c;
	struct repository *repo;
	struct image	*img;
	struct txn	 t;
	char		 why[256], ds[DIGEST_STR_MAX];
	int		 rc;

	if ((repo = ecr_repository_find(r, name)) == NULL ||
	    (img = ecr_image_resolve(r, repo, id)) == NULL)
		return;
	/* API_StartImageScan: ImageArchivedException.  A restore in
	 * progress is still the archive's. */
	if (image_status_now(img) != IMAGE_ACTIVE) {
		ecr_error(r, "ImageArchivedException", "The image with digest "
		    "'%s' in the repository with name '%s' is archived and "
		    "cannot be scanned; restore it first "
		    "(UpdateImageStorageClass with STANDARD).",
		    digest_format(&img->digest, ds), repo->name);
		return;
	}
	if (!image_scan_supported(img, why, sizeof(why))) {
		ecr_error(r, "UnsupportedImageTypeException", "The image is of a "
		    "type that cannot be scanned: %s", why);
		return;
	}
	if (img->scan != NULL && (img->scan->status ==
	    IMAGE_SCAN_IN_PROGRESS || (img->scan->status !=
	    IMAGE_SCAN_FAILED && model_now_ms() - img->scan->started_ms <
	    SCAN_QUOTA_MS))) {
		ecr_error(r, "LimitExceededException", "The scan quota per "
		    "image has been exceeded. Wait and try again.");
		return;
	}
	scanning_config_get(repo->registry, &c);
	txn_init(&t);
	rc = image_scan_queue(&t, img, c.enhanced, IMAGE_SCAN_MANUAL);
	scanning_config_clear(&c);
	if (rc != 0) {
		txn_clear(&t);
		ecr_fail(r, rc);
		return;
	}
	out = json_object_new_object();
	ecr_add_str(out, "registryId", r->account);
	ecr_add_str(out, "repositoryName", repo->name);
	json_object_object_add(out, "imageId", ecr_image_id_json(r, img));
	json_object_object_add(out, "imageScanStatus", status_json(img->scan));
	ecr_commit(r, &t, out);
}

/* --- DescribeImageScanFindings ------------------------------------------- */

static void
add_attribute(struct json_object *attrs, const char *key, const char *value)
{
	struct json_object *a;
	size_t		 n = strlen(value);

	if (n == 0)
		return;
	/* AttributeValue is at most 256 characters. */
	if (n > ATTRIBUTE_VALUE_MAX)
		n = ATTRIBUTE_VALUE_MAX;
	while (n > 0 && n < strlen(value) &&
	    ((unsigned char)value[n] & 0xc0) == 0x80)
		n--;
	a = json_object_new_object();
	ecr_add_str(a, "key", key);
	json_object_object_add(a, "value", json_object_new_string_len(value,
	    (int)n));
	json_object_array_add(attrs, a);
}

static struct json_object *
basic_finding_json(const struct finding *fi)
{
	struct json_object *o, *attrs;

	o = json_object_new_object();
	ecr_add_str(o, "name", fi->f[F_NAME]);
	if (fi->f[F_DESCRIPTION][0] != '\0')
		ecr_add_str(o, "description", fi->f[F_DESCRIPTION]);
	if (fi->f[F_URI][0] != '\0')
		ecr_add_str(o, "uri", fi->f[F_URI]);
	ecr_add_str(o, "severity", fi->f[F_SEVERITY]);
	attrs = json_object_new_array();
	add_attribute(attrs, "package_version", fi->f[F_VERSION]);
	add_attribute(attrs, "package_name", fi->f[F_PACKAGE]);
	add_attribute(attrs, "CVSS3_VECTOR", fi->f[F_VECTOR]);
	add_attribute(attrs, "CVSS3_SCORE", fi->f[F_SCORE]);
	json_object_object_add(o, "attributes", attrs);
	return o;
}

/* The finding's ARN: Amazon Inspector's form, a hash of what it is
 * about, so that it stays the same across rescans. */
static void
finding_arn(const struct ecr_req *r, const struct image *img,
    const struct finding *fi, char *out, size_t outsz)
{
	struct digest	 d;
	char		 ds[DIGEST_STR_MAX], hex[DIGEST_STR_MAX];
	char		*key;

	xasprintf(&key, "%s %s %s %s", digest_format(&img->digest, ds),
	    fi->f[F_ID], fi->f[F_PACKAGE], fi->f[F_VERSION]);
	digest_compute(DIGEST_SHA256, key, strlen(key), &d);
	free(key);
	digest_format(&d, hex);
	snprintf(out, outsz, "arn:aws:inspector2:%s:%s:finding/%.32s",
	    r->region, r->account, strchr(hex, ':') + 1);
}

static struct json_object *
enhanced_resource_json(const struct ecr_req *r, const struct image *img)
{
	struct json_object *res, *det, *ecr, *tags;
	char		 ds[DIGEST_STR_MAX], *id, *arn;
	size_t		 i;

	res = json_object_new_object();
	arn = ecr_repository_arn(img->repo);
	xasprintf(&id, "%s/%s", arn, digest_format(&img->digest, ds));
	ecr_add_str(res, "id", id);
	free(id);
	free(arn);
	ecr_add_str(res, "type", "AWS_ECR_CONTAINER_IMAGE");
	ecr = json_object_new_object();
	ecr_add_str(ecr, "imageHash", ds);
	ecr_add_str(ecr, "registry", r->account);
	ecr_add_str(ecr, "repositoryName", img->repo->name);
	ecr_add_time(ecr, "pushedAt", img->pushed_ms);
	tags = json_object_new_array();
	for (i = 0; i < img->ntags; i++)
		json_object_array_add(tags,
		    json_object_new_string(img->tags[i]));
	json_object_object_add(ecr, "imageTags", tags);
	det = json_object_new_object();
	json_object_object_add(det, "awsEcrContainerImage", ecr);
	json_object_object_add(res, "details", det);
	return res;
}

static struct json_object *
enhanced_finding_json(const struct ecr_req *r, const struct image *img,
    const struct finding *fi)
{
	struct json_object *o, *pvd, *pkg, *pkgs, *cvss, *c, *urls, *rem;
	struct json_object *rec, *sd, *sdc, *resources;
	const struct image_scan *sc = img->scan;
	char		 arn[128], *title;
	double		 score = fi->f[F_SCORE][0] != '\0' ?
			    strtod(fi->f[F_SCORE], NULL) : 0;

	o = json_object_new_object();
	ecr_add_str(o, "awsAccountId", r->account);
	if (fi->f[F_DESCRIPTION][0] != '\0')
		ecr_add_str(o, "description", fi->f[F_DESCRIPTION]);
	finding_arn(r, img, fi, arn, sizeof(arn));
	ecr_add_str(o, "findingArn", arn);
	ecr_add_time(o, "firstObservedAt", sc->completed_ms);
	ecr_add_time(o, "lastObservedAt", sc->completed_ms);
	ecr_add_time(o, "updatedAt", sc->completed_ms);
	ecr_add_str(o, "severity", fi->f[F_SEVERITY]);
	ecr_add_str(o, "status", "ACTIVE");
	xasprintf(&title, "%s - %s", fi->f[F_NAME], fi->f[F_PACKAGE]);
	ecr_add_str(o, "title", title);
	free(title);
	ecr_add_str(o, "type", "PACKAGE_VULNERABILITY");
	ecr_add_str(o, "fixAvailable", fi->f[F_FIXED][0] != '\0' ? "YES" :
	    "NO");

	pvd = json_object_new_object();
	ecr_add_str(pvd, "vulnerabilityId", fi->f[F_NAME]);
	ecr_add_str(pvd, "source", fi->f[F_ECOSYSTEM]);
	if (fi->f[F_URI][0] != '\0') {
		ecr_add_str(pvd, "sourceUrl", fi->f[F_URI]);
		urls = json_object_new_array();
		json_object_array_add(urls,
		    json_object_new_string(fi->f[F_URI]));
		json_object_object_add(pvd, "referenceUrls", urls);
	}
	ecr_add_str(pvd, "vendorSeverity", fi->f[F_SEVERITY]);
	cvss = json_object_new_array();
	if (fi->f[F_VECTOR][0] != '\0') {
		c = json_object_new_object();
		json_object_object_add(c, "baseScore",
		    json_object_new_double(score));
		ecr_add_str(c, "scoringVector", fi->f[F_VECTOR]);
		ecr_add_str(c, "source", fi->f[F_ECOSYSTEM]);
		ecr_add_str(c, "version", strncmp(fi->f[F_VECTOR], "CVSS:3.0",
		    8) == 0 ? "3.0" : "3.1");
		json_object_array_add(cvss, c);
		sd = json_object_new_object();
		sdc = json_object_new_object();
		json_object_object_add(sdc, "score",
		    json_object_new_double(score));
		ecr_add_str(sdc, "scoringVector", fi->f[F_VECTOR]);
		ecr_add_str(sdc, "scoreSource", fi->f[F_ECOSYSTEM]);
		ecr_add_str(sdc, "version", "3.1");
		json_object_object_add(sdc, "adjustments",
		    json_object_new_array());
		json_object_object_add(sd, "cvss", sdc);
		json_object_object_add(o, "scoreDetails", sd);
		json_object_object_add(o, "score",
		    json_object_new_double(score));
	}
	json_object_object_add(pvd, "cvss", cvss);
	pkgs = json_object_new_array();
	pkg = json_object_new_object();
	ecr_add_str(pkg, "name", fi->f[F_PACKAGE]);
	ecr_add_str(pkg, "version", fi->f[F_VERSION]);
	if (fi->f[F_FIXED][0] != '\0')
		ecr_add_str(pkg, "fixedInVersion", fi->f[F_FIXED]);
	ecr_add_str(pkg, "packageManager", "OS");
	json_object_array_add(pkgs, pkg);
	json_object_object_add(pvd, "vulnerablePackages", pkgs);
	json_object_object_add(o, "packageVulnerabilityDetails", pvd);

	rem = json_object_new_object();
	rec = json_object_new_object();
	if (fi->f[F_FIXED][0] != '\0') {
		xasprintf(&title, "Upgrade %s to %s or later.",
		    fi->f[F_PACKAGE], fi->f[F_FIXED]);
		ecr_add_str(rec, "text", title);
		free(title);
	} else
		ecr_add_str(rec, "text", "None Provided");
	json_object_object_add(rem, "recommendation", rec);
	json_object_object_add(o, "remediation", rem);
	resources = json_object_new_array();
	json_object_array_add(resources, enhanced_resource_json(r, img));
	json_object_object_add(o, "resources", resources);
	return o;
}

/* The page of findings from index start; a token when more follow. */
static struct json_object *
findings_page(struct ecr_req *r, const struct image *img, size_t start,
    int page, char **next)
{
	const struct image_scan *sc = img->scan;
	struct json_object *arr = json_object_new_array();
	struct scan_record rec;
	struct finding	 fi;
	char		 cursor[32];
	size_t		 off = 0, i = 0;

	*next = NULL;
	while (scan_report_next(sc->report, sc->report_len, &off, &rec) ==
	    1) {
		if (rec.kind != SCAN_REC_FINDING)
			continue;
		if (i++ < start)
			continue;
		if (json_object_array_length(arr) == (size_t)page) {
			snprintf(cursor, sizeof(cursor), "%zu", i - 1);
			*next = cursor[0] != '\0' ? xstrdup(cursor) : NULL;
			break;
		}
		finding_init(&fi, &rec);
		json_object_array_add(arr, sc->enhanced ?
		    enhanced_finding_json(r, img, &fi) :
		    basic_finding_json(&fi));
		finding_clear(&fi);
	}
	return arr;
}

void
ecr_scan_findings(struct ecr_req *r)
{
	const char	*name = ecr_str(r, "repositoryName");
	const char	*token = ecr_str(r, "nextToken");
	struct json_object *id = ecr_member(r, "imageId"), *out, *f, *tagv;
	struct repository *repo;
	struct image	*img;
	const struct image_scan *sc;
	char		 ds[DIGEST_STR_MAX], cursor[32], *next, *scope, *tok;
	const char	*tag = NULL;
	uint64_t	 start = 0;

	if ((repo = ecr_repository_find(r, name)) == NULL ||
	    (img = ecr_image_resolve(r, repo, id)) == NULL)
		return;
	if (json_object_object_get_ex(id, "imageTag", &tagv) && tagv != NULL)
		tag = json_object_get_string(tagv);
	if ((sc = img->scan) == NULL) {
		ecr_error(r, "ScanNotFoundException", "Image scan does not exist "
		    "for the image with '{imageDigest:'%s', imageTag:'%s'}' in "
		    "the repository with name '%s' in the registry with id "
		    "'%s'", digest_format(&img->digest, ds), tag != NULL ?
		    tag : "null", repo->name, r->account);
		return;
	}
	/* A token is bound to the image and to the scan it paged. */
	xasprintf(&scope, "%s@%s#%lld", repo->name,
	    digest_format(&img->digest, ds), (long long)sc->completed_ms);
	if (token != NULL && (ecr_token_parse(r, scope, token, cursor,
	    sizeof(cursor)) == -1 || parse_u64(cursor, strlen(cursor),
	    &start) == -1)) {
		free(scope);
		ecr_bad_token(r);
		return;
	}
	out = json_object_new_object();
	ecr_add_str(out, "registryId", r->account);
	ecr_add_str(out, "repositoryName", repo->name);
	json_object_object_add(out, "imageId", ecr_image_id_json(r, img));
	json_object_object_add(out, "imageScanStatus", status_json(sc));
	/*
	 * imageScanFindings is there in every status, as AWS sends it: a
	 * scan with nothing to show has empty lists (a pending enhanced scan
	 * both).  The AWS CLI's paginated text and table output assign into
	 * it and fail on a response without it.
	 */
	f = json_object_new_object();
	if (scan_has_findings(sc)) {
		ecr_add_time(f, "imageScanCompletedAt", sc->completed_ms);
		ecr_add_time(f, "vulnerabilitySourceUpdatedAt",
		    sc->db_updated_ms);
		json_object_object_add(f, "findingSeverityCounts",
		    counts_json(sc));
		json_object_object_add(f, sc->enhanced ? "enhancedFindings" :
		    "findings", findings_page(r, img, (size_t)start,
		    ecr_page_size(r), &next));
		if (next != NULL) {
			tok = ecr_token_make(r, scope, next);
			ecr_add_str(out, "nextToken", tok);
			free(tok);
			free(next);
		}
	} else {
		json_object_object_add(f, "findings", json_object_new_array());
		if (sc->enhanced)
			json_object_object_add(f, "enhancedFindings",
			    json_object_new_array());
	}
	json_object_object_add(out, "imageScanFindings", f);
	free(scope);
	ecr_respond(r, out);
}
