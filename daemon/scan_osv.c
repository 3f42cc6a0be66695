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
 * The vulnerability database: advisories in the OSV format (the open
 * schema of osv.dev and of the distributions' own feeds), loaded from a
 * directory of JSON files, and the matcher that finds which of them
 * affect an image's packages.
 *
 * Only OS ecosystems whose version order the scanner knows are kept
 * (Debian and Ubuntu: dpkg; Alpine, Wolfi and Chainguard: apk; Red Hat,
 * AlmaLinux, Rocky Linux, openSUSE, SUSE, Mageia, openEuler and Azure
 * Linux: rpm).  An advisory applies to an image when its ecosystem names
 * the image's distribution (and release, where both give one), its
 * package is the image's package (the source package for dpkg and apk,
 * whose feeds name source packages; binary or source for rpm) and the
 * installed version lies in one of its ECOSYSTEM ranges (events sorted
 * in the ecosystem's order, as the OSV schema evaluates them) or in its
 * explicit version list.
 *
 * Severity, mapped to ECR's levels: a severity word the feed gives
 * (database_specific or ecosystem_specific "severity": critical; high or
 * important; medium or moderate; low; negligible, unimportant or none as
 * INFORMATIONAL) wins; else the CVSS v3 base score of the advisory's
 * CVSS_V3 vector (per package, then per advisory): 9.0 and up CRITICAL,
 * 7.0 HIGH, 4.0 MEDIUM, 0.1 LOW, 0.0 INFORMATIONAL, as the CVSS v3
 * specification rates them; else UNDEFINED.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "log.h"
#include "scan.h"
#include "util.h"

/* One OSV file at most, and how deep the directory walk goes. */
#define OSV_FILE_MAX		(64 * 1024 * 1024)
#define OSV_DEPTH_MAX		8
/* Descriptions are cut (at a character boundary) beyond this. */
#define OSV_DESCRIPTION_MAX	4000

enum osv_event_kind { EV_INTRODUCED, EV_FIXED, EV_LAST_AFFECTED, EV_LIMIT };

struct osv_event {
	enum osv_event_kind	 kind;
	char			*version;	/* NULL: introduced "0" */
};

/* One range of an affected entry: its events, in ecosystem order. */
struct osv_range {
	struct osv_event	*ev;
	size_t			 nev;
};

struct osv_vuln {
	char		*id;
	char		*name;		/* CVE id, or id */
	char		*description;
	char		*uri;
	char		*cvss_vector;
	int		 cvss10;
	int		 severity;
	int64_t		 modified;
};

/* An (ecosystem, package) entry of an advisory. */
struct osv_affected {
	struct osv_vuln	*vuln;
	const char	*family;	/* static: "Debian" ... */
	enum scan_eco	 eco;
	char		*ecosystem;	/* as the advisory gives it */
	char		 release[32];	/* normalized, "" for any */
	char		*package;
	struct osv_range *ranges;
	size_t		 nranges;
	char		**versions;
	size_t		 nversions;
	int		 severity;	/* -1: the advisory's */
	char		*cvss_vector;	/* NULL: the advisory's */
	int		 cvss10;
};

struct osv_db {
	struct osv_vuln		**vulns;
	size_t			  nvulns, capvulns;
	struct osv_affected	 *aff;
	size_t			  naff, capaff;
	int64_t			  updated_at;
	int			  sorted;
};

/* --- ecosystems ---------------------------------------------------------- */

enum release_rule { REL_ANY, REL_MAJOR, REL_MAJOR_MINOR, REL_ALPINE };

static const struct osv_family {
	const char		*name;		/* OSV's */
	enum scan_eco		 eco;
	enum release_rule	 rule;
	const char		*os_ids;	/* os-release IDs, space-separated */
} osv_families[] = {
	{ "Debian", SCAN_ECO_DPKG, REL_MAJOR, "debian" },
	{ "Ubuntu", SCAN_ECO_DPKG, REL_MAJOR_MINOR, "ubuntu" },
	{ "Alpine", SCAN_ECO_APK, REL_ALPINE, "alpine" },
	{ "Wolfi", SCAN_ECO_APK, REL_ANY, "wolfi" },
	{ "Chainguard", SCAN_ECO_APK, REL_ANY, "chainguard" },
	{ "Red Hat", SCAN_ECO_RPM, REL_MAJOR, "rhel" },
	{ "AlmaLinux", SCAN_ECO_RPM, REL_MAJOR, "almalinux" },
	{ "Rocky Linux", SCAN_ECO_RPM, REL_MAJOR, "rocky" },
	{ "openSUSE", SCAN_ECO_RPM, REL_ANY,
	    "opensuse-leap opensuse-tumbleweed opensuse" },
	{ "SUSE", SCAN_ECO_RPM, REL_ANY, "sles sles_sap sle-micro" },
	{ "Mageia", SCAN_ECO_RPM, REL_MAJOR, "mageia" },
	{ "openEuler", SCAN_ECO_RPM, REL_ANY, "openeuler" },
	{ "Azure Linux", SCAN_ECO_RPM, REL_ANY, "azurelinux mariner" },
};

/*
 * The release key of a version string under a rule: REL_MAJOR "9.3" ->
 * "9", REL_MAJOR_MINOR "22.04" -> "22.04", REL_ALPINE "3.19.1" or
 * "v3.19" -> "v3.19".  "" when the string has no such version.
 */
static void
release_key(enum release_rule rule, const char *s, char *out, size_t outsz)
{
	size_t	 n = 0, dots = 0;

	out[0] = '\0';
	if (rule == REL_ANY)
		return;
	if (rule == REL_ALPINE && *s == 'v')
		s++;
	if (!isdigit((unsigned char)*s))
		return;
	while (s[n] != '\0' && (isdigit((unsigned char)s[n]) ||
	    s[n] == '.')) {
		if (s[n] == '.' && ++dots == (rule == REL_MAJOR ? 1 : 2))
			break;
		n++;
	}
	if (rule != REL_MAJOR && dots == 0)
		return;
	snprintf(out, outsz, "%s%.*s", rule == REL_ALPINE ? "v" : "",
	    (int)n, s);
}

/* The family of an OSV ecosystem ("Debian:12") and its release key. */
static const struct osv_family *
osv_family_of(const char *ecosystem, char *release, size_t relsz)
{
	const struct osv_family	*f;
	const char		*colon, *p;
	size_t			 i, n;

	colon = strchr(ecosystem, ':');
	n = colon != NULL ? (size_t)(colon - ecosystem) : strlen(ecosystem);
	for (i = 0; i < nitems(osv_families); i++) {
		f = &osv_families[i];
		if (strlen(f->name) != n || strncmp(f->name, ecosystem, n) != 0)
			continue;
		release[0] = '\0';
		/* The first component that is a version names the release
		 * ("Ubuntu:Pro:22.04:LTS", "Red Hat:enterprise_linux:9::"). */
		for (p = colon; p != NULL && release[0] == '\0';
		    p = strchr(p + 1, ':'))
			release_key(f->rule, p + 1, release, relsz);
		return f;
	}
	return NULL;
}

int
osv_os_ecosystem(const struct scan_os *os, const char **name, char *release,
    size_t releasesz)
{
	const struct osv_family	*f;
	const char		*p;
	size_t			 i, n = strlen(os->id);

	for (i = 0; i < nitems(osv_families); i++) {
		f = &osv_families[i];
		for (p = f->os_ids; (p = strstr(p, os->id)) != NULL; p += n)
			if ((p == f->os_ids || p[-1] == ' ') &&
			    (p[n] == '\0' || p[n] == ' '))
				break;
		if (p == NULL || n == 0)
			continue;
		*name = f->name;
		release_key(f->rule, os->version_id, release, releasesz);
		return 0;
	}
	return -1;
}

/* --- loading ------------------------------------------------------------- */

struct osv_db *
osv_db_new(void)
{
	return xcalloc(1, sizeof(struct osv_db));
}

static void
affected_clear(struct osv_affected *a)
{
	size_t	 i, j;

	free(a->ecosystem);
	free(a->package);
	for (i = 0; i < a->nranges; i++) {
		for (j = 0; j < a->ranges[i].nev; j++)
			free(a->ranges[i].ev[j].version);
		free(a->ranges[i].ev);
	}
	free(a->ranges);
	for (i = 0; i < a->nversions; i++)
		free(a->versions[i]);
	free(a->versions);
	free(a->cvss_vector);
}

static void
vuln_free(struct osv_vuln *v)
{
	if (v == NULL)
		return;
	free(v->id);
	free(v->name);
	free(v->description);
	free(v->uri);
	free(v->cvss_vector);
	free(v);
}

void
osv_db_free(struct osv_db *db)
{
	size_t	 i;

	if (db == NULL)
		return;
	for (i = 0; i < db->naff; i++)
		affected_clear(&db->aff[i]);
	free(db->aff);
	for (i = 0; i < db->nvulns; i++)
		vuln_free(db->vulns[i]);
	free(db->vulns);
	free(db);
}

/* The string member key of o, or NULL. */
static const char *
json_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *
json_member(struct json_object *o, const char *key, enum json_type type)
{
	struct json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* RFC 3339 "2024-01-02T03:04:05[.frac](Z|+hh:mm)" to epoch seconds, or 0. */
static int64_t
rfc3339_parse(const char *s)
{
	struct tm	 tm;
	const char	*p;
	int64_t		 t;
	int		 sign, hh, mm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return 0;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	t = (int64_t)timegm(&tm);
	if (*p == 'Z' || *p == 'z' || *p == '\0')
		return t;
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) ==
	    2) {
		sign = *p == '+' ? 1 : -1;
		return t - sign * (hh * 3600 + mm * 60);
	}
	return 0;
}

/* "CVE-YYYY-N..." inside s: its start and length, or NULL. */
static const char *
cve_in(const char *s, size_t *len)
{
	const char	*p;
	size_t		 n;

	for (p = s; (p = strstr(p, "CVE-")) != NULL; p += 4) {
		for (n = 4; n < 8 && isdigit((unsigned char)p[n]); n++)
			;
		if (n != 8 || p[8] != '-' || !isdigit((unsigned char)p[9]))
			continue;
		for (n = 9; isdigit((unsigned char)p[n]); n++)
			;
		*len = n;
		return p;
	}
	return NULL;
}

/* The name ECR shows: the CVE the id contains, else the first CVE among
 * aliases and upstream, else the id. */
static char *
vuln_name(const char *id, struct json_object *doc)
{
	static const char *const lists[] = { "aliases", "upstream" };
	struct json_object	*arr, *e;
	const char		*c;
	size_t			 i, j, n;

	if ((c = cve_in(id, &n)) != NULL)
		return xstrndup(c, n);
	for (i = 0; i < nitems(lists); i++) {
		if ((arr = json_member(doc, lists[i], json_type_array)) == NULL)
			continue;
		for (j = 0; j < json_object_array_length(arr); j++) {
			e = json_object_array_get_idx(arr, j);
			if (json_object_is_type(e, json_type_string) &&
			    (c = cve_in(json_object_get_string(e), &n)) !=
			    NULL && c == json_object_get_string(e))
				return xstrndup(c, n);
		}
	}
	return scan_text_clean(id, SCAN_FIELD_MAX, 0);
}

/* The advisory page: an ADVISORY reference, else the first one. */
static char *
vuln_uri(struct json_object *doc)
{
	struct json_object	*refs, *r;
	const char		*url, *type, *first = NULL;
	size_t			 i;

	if ((refs = json_member(doc, "references", json_type_array)) == NULL)
		return xstrdup("");
	for (i = 0; i < json_object_array_length(refs); i++) {
		r = json_object_array_get_idx(refs, i);
		if ((url = json_str(r, "url")) == NULL ||
		    strlen(url) > 2048 || (strncmp(url, "https://", 8) != 0 &&
		    strncmp(url, "http://", 7) != 0))
			continue;
		type = json_str(r, "type");
		if (type != NULL && strcmp(type, "ADVISORY") == 0)
			return scan_text_clean(url, 2048, 0);
		if (first == NULL)
			first = url;
	}
	return scan_text_clean(first != NULL ? first : "", 2048, 0);
}

/* A version or vector: printable ASCII without spaces, bounded. */
static int
version_ok(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (s[n] <= ' ' || s[n] > '~')
			return 0;
	return n > 0 && n < SCAN_FIELD_MAX;
}

/* The best CVSS v3 vector of a "severity" array: 0 and *vector, *score. */
static int
severity_cvss(struct json_object *arr, char **vector, int *score10)
{
	struct json_object	*e;
	const char		*type, *score;
	size_t			 i;
	int			 s;

	if (arr == NULL)
		return -1;
	for (i = 0; i < json_object_array_length(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		type = json_str(e, "type");
		score = json_str(e, "score");
		if (type == NULL || score == NULL ||
		    strcmp(type, "CVSS_V3") != 0 || strlen(score) > 200 ||
		    !version_ok(score) ||
		    (s = cvss3_score(score)) < 0)
			continue;
		*vector = xstrdup(score);
		*score10 = s;
		return 0;
	}
	return -1;
}

/* A severity word under key "severity" of obj's member named by block. */
static int
severity_word(struct json_object *obj, const char *block)
{
	const char	*w;

	w = json_str(json_member(obj, block, json_type_object), "severity");
	return w != NULL ? scan_severity_from_word(w) : -1;
}

static enum scan_eco event_cmp_eco;

static int
event_cmp(const void *va, const void *vb)
{
	const struct osv_event	*a = va, *b = vb;

	if (a->version == NULL || b->version == NULL)
		return (a->version != NULL) - (b->version != NULL);
	return scan_version_cmp(event_cmp_eco, a->version, b->version);
}

/* The ECOSYSTEM ranges of an affected entry; -1 when malformed. */
static int
affected_ranges(struct osv_affected *a, struct json_object *ranges)
{
	static const char *const kinds[] = { "introduced", "fixed",
	    "last_affected", "limit" };
	struct json_object	*r, *events, *e;
	struct osv_range	*rg;
	const char		*type, *v;
	size_t			 i, j, k;

	if (ranges == NULL)
		return 0;
	for (i = 0; i < json_object_array_length(ranges); i++) {
		r = json_object_array_get_idx(ranges, i);
		type = json_str(r, "type");
		events = json_member(r, "events", json_type_array);
		if (type == NULL || strcmp(type, "ECOSYSTEM") != 0 ||
		    events == NULL)
			continue;
		a->ranges = xreallocarray(a->ranges, a->nranges + 1,
		    sizeof(*a->ranges));
		rg = &a->ranges[a->nranges++];
		rg->nev = 0;
		rg->ev = xcalloc(json_object_array_length(events) + 1,
		    sizeof(*rg->ev));
		for (j = 0; j < json_object_array_length(events); j++) {
			e = json_object_array_get_idx(events, j);
			for (k = 0; k < nitems(kinds); k++)
				if ((v = json_str(e, kinds[k])) != NULL)
					break;
			if (k == nitems(kinds) || !version_ok(v))
				return -1;
			rg->ev[rg->nev].kind = (enum osv_event_kind)k;
			rg->ev[rg->nev].version = k == EV_INTRODUCED &&
			    strcmp(v, "0") == 0 ? NULL : xstrdup(v);
			rg->nev++;
		}
		event_cmp_eco = a->eco;
		qsort(rg->ev, rg->nev, sizeof(*rg->ev), event_cmp);
	}
	return 0;
}

static void
db_add_affected(struct osv_db *db, const struct osv_affected *a)
{
	if (db->naff == db->capaff) {
		db->capaff = db->capaff == 0 ? 1024 : db->capaff * 2;
		db->aff = xreallocarray(db->aff, db->capaff, sizeof(*db->aff));
	}
	db->aff[db->naff++] = *a;
	db->sorted = 0;
}

/* One advisory object: 0 (possibly nothing kept), or -1 when malformed. */
static int
db_add_vuln(struct osv_db *db, struct json_object *doc, char *why,
    size_t whysz)
{
	struct json_object	*affected, *e, *pkg, *vers, *v;
	const struct osv_family	*fam;
	struct osv_vuln		*vuln;
	struct osv_affected	 a;
	const char		*id, *eco, *name, *text;
	size_t			 i, j, kept = 0;

	if (!json_object_is_type(doc, json_type_object) ||
	    (id = json_str(doc, "id")) == NULL || *id == '\0' ||
	    strlen(id) >= SCAN_FIELD_MAX) {
		snprintf(why, whysz, "not an OSV advisory (no \"id\")");
		return -1;
	}
	if (json_member(doc, "withdrawn", json_type_string) != NULL)
		return 0;
	if ((affected = json_member(doc, "affected", json_type_array)) == NULL)
		return 0;

	vuln = xcalloc(1, sizeof(*vuln));
	vuln->id = scan_text_clean(id, SCAN_FIELD_MAX, 0);
	vuln->name = vuln_name(id, doc);
	if ((text = json_str(doc, "details")) == NULL || *text == '\0')
		text = json_str(doc, "summary");
	vuln->description = scan_text_clean(text != NULL ? text : "",
	    OSV_DESCRIPTION_MAX, 1);
	vuln->uri = vuln_uri(doc);
	vuln->modified = rfc3339_parse(json_str(doc, "modified"));
	vuln->cvss10 = -1;
	(void)severity_cvss(json_member(doc, "severity", json_type_array),
	    &vuln->cvss_vector, &vuln->cvss10);
	vuln->severity = severity_word(doc, "database_specific");

	for (i = 0; i < json_object_array_length(affected); i++) {
		e = json_object_array_get_idx(affected, i);
		pkg = json_member(e, "package", json_type_object);
		if ((eco = json_str(pkg, "ecosystem")) == NULL ||
		    (name = json_str(pkg, "name")) == NULL ||
		    !version_ok(name) || strlen(eco) > 128)
			continue;
		memset(&a, 0, sizeof(a));
		if ((fam = osv_family_of(eco, a.release,
		    sizeof(a.release))) == NULL)
			continue;
		a.vuln = vuln;
		a.family = fam->name;
		a.eco = fam->eco;
		a.ecosystem = scan_text_clean(eco, 128, 0);
		a.package = xstrdup(name);
		a.cvss10 = -1;
		if ((a.severity = severity_word(e, "ecosystem_specific")) == -1)
			a.severity = severity_word(e, "database_specific");
		(void)severity_cvss(json_member(e, "severity",
		    json_type_array), &a.cvss_vector, &a.cvss10);
		if (affected_ranges(&a, json_member(e, "ranges",
		    json_type_array)) == -1) {
			affected_clear(&a);
			continue;
		}
		if ((vers = json_member(e, "versions", json_type_array)) !=
		    NULL) {
			a.versions = xcalloc(json_object_array_length(vers) + 1,
			    sizeof(*a.versions));
			for (j = 0; j < json_object_array_length(vers); j++) {
				v = json_object_array_get_idx(vers, j);
				if (json_object_is_type(v, json_type_string) &&
				    version_ok(json_object_get_string(v)))
					a.versions[a.nversions++] = xstrdup(
					    json_object_get_string(v));
			}
		}
		if (a.nranges == 0 && a.nversions == 0) {
			affected_clear(&a);
			continue;
		}
		db_add_affected(db, &a);
		kept++;
	}
	if (kept == 0) {
		vuln_free(vuln);
		return 0;
	}
	if (db->nvulns == db->capvulns) {
		db->capvulns = db->capvulns == 0 ? 1024 : db->capvulns * 2;
		db->vulns = xreallocarray(db->vulns, db->capvulns,
		    sizeof(*db->vulns));
	}
	db->vulns[db->nvulns++] = vuln;
	if (vuln->modified > db->updated_at)
		db->updated_at = vuln->modified;
	return 0;
}

int
osv_db_add_json(struct osv_db *db, const char *buf, size_t len, char *why,
    size_t whysz)
{
	struct json_tokener	*tok;
	struct json_object	*doc;
	size_t			 i;
	int			 rc = 0;

	if (len > OSV_FILE_MAX || len > (size_t)INT32_MAX) {
		snprintf(why, whysz, "larger than %d bytes", OSV_FILE_MAX);
		return -1;
	}
	if ((tok = json_tokener_new_ex(64)) == NULL)
		fatalx("out of memory");
	doc = json_tokener_parse_ex(tok, buf, (int)len);
	if (doc == NULL || json_tokener_get_parse_end(tok) != len) {
		snprintf(why, whysz, "not JSON: %s", json_tokener_error_desc(
		    json_tokener_get_error(tok)));
		json_object_put(doc);
		json_tokener_free(tok);
		return -1;
	}
	json_tokener_free(tok);
	if (json_object_is_type(doc, json_type_array)) {
		for (i = 0; i < json_object_array_length(doc); i++)
			if (db_add_vuln(db, json_object_array_get_idx(doc, i),
			    why, whysz) == -1)
				rc = -1;
	} else
		rc = db_add_vuln(db, doc, why, whysz);
	json_object_put(doc);
	return rc;
}

static int
osv_file_load(struct osv_db *db, int dirfd, const char *name,
    const char *path, size_t *skipped)
{
	struct stat	 st;
	char		 why[160];
	char		*buf;
	int		 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1 || fstat(fd, &st) == -1) {
		log_warn("vulnerability database: %s", path);
		if (fd != -1)
			close(fd);
		(*skipped)++;
		return 0;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > OSV_FILE_MAX) {
		log_warnx("vulnerability database: %s: not a regular file of "
		    "at most %d bytes; skipped", path, OSV_FILE_MAX);
		close(fd);
		(*skipped)++;
		return 0;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	if (read_full(fd, buf, (size_t)st.st_size) != st.st_size) {
		log_warn("vulnerability database: %s", path);
		(*skipped)++;
	} else if (osv_db_add_json(db, buf, (size_t)st.st_size, why,
	    sizeof(why)) == -1) {
		log_warnx("vulnerability database: %s: %s; skipped", path,
		    why);
		(*skipped)++;
	}
	free(buf);
	close(fd);
	return 0;
}

static int
osv_dir_load(struct osv_db *db, int dirfd, const char *path, int depth,
    size_t *skipped)
{
	struct dirent	*de;
	DIR		*d;
	char		*sub;
	size_t		 n;
	int		 fd, rc = 0;

	if ((d = fdopendir(dirfd)) == NULL) {
		close(dirfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		xasprintf(&sub, "%s/%s", path, de->d_name);
		n = strlen(de->d_name);
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
			fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC | O_NOFOLLOW);
			if (fd != -1) {
				if (depth < OSV_DEPTH_MAX)
					(void)osv_dir_load(db, fd, sub,
					    depth + 1, skipped);
				else
					close(fd);
				free(sub);
				continue;
			}
		}
		if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0)
			rc = osv_file_load(db, dirfd, de->d_name, sub, skipped);
		free(sub);
		if (rc == -1)
			break;
	}
	closedir(d);
	return rc;
}

int
osv_db_load_dir(struct osv_db *db, int dirfd, size_t *skipped)
{
	int	 fd;

	*skipped = 0;
	if ((fd = dup(dirfd)) == -1)
		return -1;
	if (lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return -1;
	}
	return osv_dir_load(db, fd, ".", 0, skipped);
}

static int
affected_cmp(const void *va, const void *vb)
{
	const struct osv_affected *a = va, *b = vb;
	int	 rc;

	if ((rc = strcmp(a->family, b->family)) != 0)
		return rc;
	return strcmp(a->package, b->package);
}

void
osv_db_finish(struct osv_db *db)
{
	if (db->naff > 1)
		qsort(db->aff, db->naff, sizeof(*db->aff), affected_cmp);
	db->sorted = 1;
}

size_t
osv_db_advisories(const struct osv_db *db)
{
	return db->nvulns;
}

int64_t
osv_db_updated_at(const struct osv_db *db)
{
	return db->updated_at;
}

/* --- matching ------------------------------------------------------------ */

/*
 * Whether version lies in the range, as the OSV schema evaluates events
 * sorted in the ecosystem's order; *fixed is the first fixed version
 * after it, or "".
 */
static int
range_affects(const struct osv_range *r, enum scan_eco eco,
    const char *version, const char **fixed)
{
	const struct osv_event	*e;
	size_t			 i;
	int			 affected = 0, c;

	*fixed = "";
	for (i = 0; i < r->nev; i++) {
		e = &r->ev[i];
		c = e->version != NULL ? scan_version_cmp(eco, version,
		    e->version) : 1;
		switch (e->kind) {
		case EV_INTRODUCED:
			if (c >= 0)
				affected = 1;
			break;
		case EV_FIXED:
			if (c >= 0)
				affected = 0;
			else if (affected && **fixed == '\0')
				*fixed = e->version;
			break;
		case EV_LAST_AFFECTED:
			if (c > 0)
				affected = 0;
			break;
		case EV_LIMIT:
			if (c >= 0)
				affected = 0;
			break;
		}
	}
	return affected;
}

static int
affected_matches(const struct osv_affected *a, const char *version,
    const char **fixed)
{
	size_t	 i;

	*fixed = "";
	for (i = 0; i < a->nversions; i++)
		if (strcmp(a->versions[i], version) == 0 ||
		    scan_version_cmp(a->eco, a->versions[i], version) == 0)
			return 1;
	for (i = 0; i < a->nranges; i++)
		if (range_affects(&a->ranges[i], a->eco, version, fixed))
			return 1;
	return 0;
}

struct match_ctx {
	const struct osv_db		*db;
	const char			*family;
	const char			*release;
	osv_finding_cb			 cb;
	void				*arg;
	size_t				 found;
	const struct osv_vuln		**seen;	/* advisories of this package */
	size_t				 nseen, capseen;
};

static int
ctx_seen(struct match_ctx *m, const struct osv_vuln *v)
{
	size_t	 i;

	for (i = 0; i < m->nseen; i++)
		if (m->seen[i] == v)
			return 1;
	if (m->nseen == m->capseen) {
		m->capseen = m->capseen == 0 ? 16 : m->capseen * 2;
		m->seen = xreallocarray(m->seen, m->capseen, sizeof(*m->seen));
	}
	m->seen[m->nseen++] = v;
	return 0;
}

/* Every advisory entry for (family, name) that affects version. */
static void
match_name(struct match_ctx *m, const struct scan_package *p,
    const char *name, const char *version)
{
	const struct osv_db	*db = m->db;
	struct osv_affected	 key;
	const struct osv_affected *a;
	struct scan_finding	 f;
	const char		*fixed;
	size_t			 lo = 0, hi = db->naff, mid;

	key.family = m->family;
	key.package = (char *)(uintptr_t)name;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (affected_cmp(&db->aff[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < db->naff && affected_cmp(&db->aff[lo], &key) == 0; lo++) {
		a = &db->aff[lo];
		if (a->eco != p->eco || (a->release[0] != '\0' &&
		    m->release[0] != '\0' && strcmp(a->release, m->release) != 0))
			continue;
		if (!affected_matches(a, version, &fixed) ||
		    ctx_seen(m, a->vuln))
			continue;
		memset(&f, 0, sizeof(f));
		f.id = a->vuln->id;
		f.name = a->vuln->name;
		f.description = a->vuln->description;
		f.uri = a->vuln->uri;
		f.cvss_vector = a->cvss_vector != NULL ? a->cvss_vector :
		    a->vuln->cvss_vector != NULL ? a->vuln->cvss_vector : "";
		f.cvss_score10 = a->cvss_vector != NULL ? a->cvss10 :
		    a->vuln->cvss10;
		f.severity = a->severity != -1 ? a->severity :
		    a->vuln->severity != -1 ? a->vuln->severity :
		    scan_severity_from_score(f.cvss_score10);
		f.package_name = p->name;
		f.package_version = p->version;
		f.fixed_version = fixed;
		f.ecosystem = a->ecosystem;
		m->cb(&f, m->arg);
		m->found++;
	}
}

size_t
osv_match(const struct osv_db *db, const struct scan_inventory *inv,
    osv_finding_cb cb, void *arg)
{
	struct match_ctx	 m;
	const struct scan_package *p;
	char			 release[32];
	size_t			 i;

	if (db == NULL || !inv->have_os || !db->sorted ||
	    osv_os_ecosystem(&inv->os, &m.family, release,
	    sizeof(release)) == -1)
		return 0;
	m.db = db;
	m.release = release;
	m.cb = cb;
	m.arg = arg;
	m.found = 0;
	m.seen = NULL;
	m.capseen = 0;
	for (i = 0; i < inv->packages.len; i++) {
		p = &inv->packages.v[i];
		m.nseen = 0;
		if (p->source != NULL && strcmp(p->source, p->name) != 0)
			match_name(&m, p, p->source, p->source_version != NULL ?
			    p->source_version : p->version);
		/* dpkg and apk feeds name source packages only. */
		if (p->source == NULL || p->eco == SCAN_ECO_RPM ||
		    strcmp(p->source, p->name) == 0)
			match_name(&m, p, p->name, p->version);
	}
	free(m.seen);
	return m.found;
}
