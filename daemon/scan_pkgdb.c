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
 * The text package databases in an image and its os-release file, read
 * from bytes the sandboxed child pulled out of untrusted layers: dpkg's
 * status file (and distroless status.d/ files, one control stanza each),
 * apk's installed database and os-release(5).  Fields the scanner keeps
 * must be printable ASCII without spaces (names, versions and
 * architectures always are), so that nothing odd travels further; a
 * stanza with a bad field is skipped.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan.h"
#include "util.h"

/* --- the package list ---------------------------------------------------- */

static int
field_ok(const char *s, int required)
{
	size_t	 n;

	if (s == NULL)
		return !required;
	for (n = 0; s[n] != '\0'; n++)
		if (s[n] <= ' ' || s[n] > '~')
			return 0;
	return n > 0 ? n < SCAN_FIELD_MAX : !required;
}

static char *
field_dup(const char *s)
{
	return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

int
scan_pkglist_add(struct scan_pkglist *l, enum scan_eco eco, const char *name,
    const char *version, const char *source, const char *source_version,
    const char *arch)
{
	struct scan_package	*p;

	if (!field_ok(name, 1) || !field_ok(version, 1) ||
	    !field_ok(source, 0) || !field_ok(source_version, 0) ||
	    !field_ok(arch, 0) || l->len >= SCAN_PACKAGES_MAX)
		return -1;
	if (l->len == l->cap) {
		l->cap = l->cap == 0 ? 64 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	p = &l->v[l->len++];
	p->eco = eco;
	p->name = xstrdup(name);
	p->version = xstrdup(version);
	p->source = field_dup(source);
	p->source_version = field_dup(source_version);
	p->arch = field_dup(arch);
	return 0;
}

static void
package_clear(struct scan_package *p)
{
	free(p->name);
	free(p->version);
	free(p->source);
	free(p->source_version);
	free(p->arch);
}

void
scan_pkglist_clear(struct scan_pkglist *l)
{
	size_t	 i;

	for (i = 0; i < l->len; i++)
		package_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void
scan_inventory_clear(struct scan_inventory *inv)
{
	scan_pkglist_clear(&inv->packages);
	memset(inv, 0, sizeof(*inv));
}

static int
strcmp_null(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int
package_cmp(const void *va, const void *vb)
{
	const struct scan_package *a = va, *b = vb;
	int	 rc;

	if (a->eco != b->eco)
		return a->eco < b->eco ? -1 : 1;
	if ((rc = strcmp(a->name, b->name)) != 0)
		return rc;
	if ((rc = strcmp(a->version, b->version)) != 0)
		return rc;
	if ((rc = strcmp_null(a->arch, b->arch)) != 0)
		return rc;
	if ((rc = strcmp_null(a->source, b->source)) != 0)
		return rc;
	return strcmp_null(a->source_version, b->source_version);
}

void
scan_pkglist_sort(struct scan_pkglist *l)
{
	size_t	 i, j;

	if (l->len < 2)
		return;
	qsort(l->v, l->len, sizeof(*l->v), package_cmp);
	for (i = 1, j = 0; i < l->len; i++) {
		if (package_cmp(&l->v[j], &l->v[i]) == 0)
			package_clear(&l->v[i]);
		else
			l->v[++j] = l->v[i];
	}
	l->len = j + 1;
}

static const char *const eco_names[SCAN_ECO__MAX] = {
	[SCAN_ECO_NONE] = "none",
	[SCAN_ECO_DPKG] = "dpkg",
	[SCAN_ECO_APK] = "apk",
	[SCAN_ECO_RPM] = "rpm",
};

const char *
scan_eco_name(enum scan_eco eco)
{
	return eco >= 0 && eco < SCAN_ECO__MAX ? eco_names[eco] : "none";
}

enum scan_eco
scan_eco_from_name(const char *s)
{
	int	 i;

	for (i = SCAN_ECO_DPKG; i < SCAN_ECO__MAX; i++)
		if (strcmp(s, eco_names[i]) == 0)
			return (enum scan_eco)i;
	return SCAN_ECO_NONE;
}

/* --- stanzas ------------------------------------------------------------- */

/*
 * A line-oriented reader over a buffer: the next line, without its
 * newline, in [*line, *line + *len).  0 at the end.
 */
struct lines {
	const char	*p, *end;
};

static int
lines_next(struct lines *r, const char **line, size_t *len)
{
	const char	*nl;

	if (r->p >= r->end)
		return 0;
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	*line = r->p;
	*len = (size_t)((nl != NULL ? nl : r->end) - r->p);
	r->p = nl != NULL ? nl + 1 : r->end;
	/* Tolerate CRLF files. */
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	return 1;
}

/* Copies the value [v, v + n) with surrounding blanks trimmed. */
static void
value_copy(char *dst, size_t dstsz, const char *v, size_t n)
{
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= dstsz)
		n = 0;		/* too long to be real: treated as absent */
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/* --- dpkg ---------------------------------------------------------------- */

struct dpkg_stanza {
	char	 package[SCAN_FIELD_MAX];
	char	 version[SCAN_FIELD_MAX];
	char	 arch[SCAN_FIELD_MAX];
	char	 source[SCAN_FIELD_MAX * 2];
	char	 status[SCAN_FIELD_MAX];
	int	 have_status;
	int	 any;
};

/* "Source: name (version)": the version only when it differs. */
static int
dpkg_stanza_add(struct dpkg_stanza *s, struct scan_pkglist *l)
{
	char	 src[SCAN_FIELD_MAX], srcver[SCAN_FIELD_MAX];
	char	*open, *close, *sp;
	size_t	 len;

	if (s->package[0] == '\0' || s->version[0] == '\0')
		return 0;
	/* Only what is installed: "install ok installed", or hold etc.
	 * Distroless status.d stanzas may carry no Status at all. */
	if (s->have_status) {
		len = strlen(s->status);
		if (len < 10 || strcmp(s->status + len - 10, " installed") != 0)
			return 0;
	}
	src[0] = srcver[0] = '\0';
	if (s->source[0] != '\0') {
		if ((open = strchr(s->source, '(')) != NULL &&
		    (close = strchr(open, ')')) != NULL) {
			*close = '\0';
			value_copy(srcver, sizeof(srcver), open + 1,
			    strlen(open + 1));
			*open = '\0';
		}
		if ((sp = strchr(s->source, ' ')) != NULL)
			*sp = '\0';
		value_copy(src, sizeof(src), s->source, strlen(s->source));
	}
	return scan_pkglist_add(l, SCAN_ECO_DPKG, s->package, s->version,
	    src[0] != '\0' ? src : NULL, srcver[0] != '\0' ? srcver : NULL,
	    s->arch[0] != '\0' ? s->arch : NULL) == 0 ? 1 : 0;
}

static int
field_is(const char *line, size_t len, const char *name, const char **value,
    size_t *vlen)
{
	size_t	 n = strlen(name);

	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return 0;
	*value = line + n + 1;
	*vlen = len - n - 1;
	return 1;
}

int
scan_dpkg_parse(const char *buf, size_t len, struct scan_pkglist *l)
{
	struct lines		 r = { buf, buf + len };
	struct dpkg_stanza	 s;
	const char		*line, *v;
	size_t			 n, vn;
	int			 added = 0, fields = 0;

	memset(&s, 0, sizeof(s));
	for (;;) {
		int more = lines_next(&r, &line, &n);

		if (!more || n == 0) {
			if (s.any)
				added += dpkg_stanza_add(&s, l);
			memset(&s, 0, sizeof(s));
			if (!more)
				break;
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t' || line[0] == '#')
			continue;	/* continuation, or a comment */
		if (memchr(line, ':', n) == NULL)
			continue;
		fields++;
		s.any = 1;
		if (field_is(line, n, "Package", &v, &vn))
			value_copy(s.package, sizeof(s.package), v, vn);
		else if (field_is(line, n, "Version", &v, &vn))
			value_copy(s.version, sizeof(s.version), v, vn);
		else if (field_is(line, n, "Architecture", &v, &vn))
			value_copy(s.arch, sizeof(s.arch), v, vn);
		else if (field_is(line, n, "Source", &v, &vn))
			value_copy(s.source, sizeof(s.source), v, vn);
		else if (field_is(line, n, "Status", &v, &vn)) {
			value_copy(s.status, sizeof(s.status), v, vn);
			s.have_status = 1;
		}
	}
	return fields == 0 && len > 0 ? -1 : added;
}

/* --- apk ----------------------------------------------------------------- */

struct apk_stanza {
	char	 name[SCAN_FIELD_MAX];
	char	 version[SCAN_FIELD_MAX];
	char	 arch[SCAN_FIELD_MAX];
	char	 origin[SCAN_FIELD_MAX];
	int	 any;
};

int
scan_apk_parse(const char *buf, size_t len, struct scan_pkglist *l)
{
	struct lines		 r = { buf, buf + len };
	struct apk_stanza	 s;
	const char		*line;
	char			*dst;
	size_t			 n;
	int			 added = 0, fields = 0;

	memset(&s, 0, sizeof(s));
	for (;;) {
		int more = lines_next(&r, &line, &n);

		if (!more || n == 0) {
			if (s.any && s.name[0] != '\0' &&
			    s.version[0] != '\0' &&
			    scan_pkglist_add(l, SCAN_ECO_APK, s.name,
			    s.version, s.origin[0] != '\0' ? s.origin : NULL,
			    NULL, s.arch[0] != '\0' ? s.arch : NULL) == 0)
				added++;
			memset(&s, 0, sizeof(s));
			if (!more)
				break;
			continue;
		}
		/* "X:value", one letter per field. */
		if (n < 2 || line[1] != ':')
			continue;
		fields++;
		s.any = 1;
		switch (line[0]) {
		case 'P':
			dst = s.name;
			break;
		case 'V':
			dst = s.version;
			break;
		case 'A':
			dst = s.arch;
			break;
		case 'o':
			dst = s.origin;
			break;
		default:
			dst = NULL;
			break;
		}
		if (dst != NULL)
			value_copy(dst, SCAN_FIELD_MAX, line + 2, n - 2);
	}
	return fields == 0 && len > 0 ? -1 : added;
}

/* --- os-release ---------------------------------------------------------- */

/* A shell-like value: unquoted, or in single or double quotes with
 * backslash escapes in double quotes.  Non-printable bytes are dropped. */
static void
os_release_value(char *dst, size_t dstsz, const char *v, size_t n)
{
	size_t	 o = 0, i = 0;
	char	 q = 0;

	if (n > 0 && (v[0] == '"' || v[0] == '\'')) {
		q = v[0];
		i = 1;
	}
	for (; i < n && o + 1 < dstsz; i++) {
		if (q != 0 && v[i] == q)
			break;
		if (q == 0 && (v[i] == ' ' || v[i] == '#'))
			break;
		if (q == '"' && v[i] == '\\' && i + 1 < n)
			i++;
		if ((unsigned char)v[i] < ' ' || (unsigned char)v[i] > '~')
			continue;
		dst[o++] = v[i];
	}
	dst[o] = '\0';
}

int
scan_os_release_parse(const char *buf, size_t len, struct scan_os *os)
{
	struct lines	 r = { buf, buf + len };
	const char	*line, *eq;
	size_t		 n, i;

	memset(os, 0, sizeof(*os));
	while (lines_next(&r, &line, &n)) {
		while (n > 0 && (*line == ' ' || *line == '\t'))
			line++, n--;
		if (n == 0 || *line == '#' ||
		    (eq = memchr(line, '=', n)) == NULL)
			continue;
		if (eq - line == 2 && memcmp(line, "ID", 2) == 0)
			os_release_value(os->id, sizeof(os->id), eq + 1,
			    n - 3);
		else if (eq - line == 10 && memcmp(line, "VERSION_ID", 10) == 0)
			os_release_value(os->version_id,
			    sizeof(os->version_id), eq + 1, n - 11);
		else if (eq - line == 11 &&
		    memcmp(line, "PRETTY_NAME", 11) == 0)
			os_release_value(os->pretty_name,
			    sizeof(os->pretty_name), eq + 1, n - 12);
	}
	/* IDs are lower case by definition; be lenient with the rest. */
	for (i = 0; os->id[i] != '\0'; i++)
		os->id[i] = (char)tolower((unsigned char)os->id[i]);
	return os->id[0] != '\0' ? 0 : -1;
}
