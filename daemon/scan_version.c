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
 * Version ordering of the three package ecosystems the scanner reads, each
 * as its own tool defines it, because an advisory's "fixed" version only
 * means something in its ecosystem's order: dpkg's (deb-version(7):
 * epoch, upstream version, Debian revision, with '~' before everything),
 * rpm's (rpmvercmp over alphanumeric segments, with '~' before and '^'
 * after a release, and epoch:version-release on top) and apk's (apk-tools:
 * numbers, one letter, _alpha.._rc before and _cvs.._p after a release,
 * -rN revisions).  Every comparator is total: any two strings compare,
 * and a string compares equal to itself, so that a hostile version from
 * an image or a feed cannot make the matcher's answer depend on order.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "util.h"

/* --- dpkg ---------------------------------------------------------------- */

/* deb-version(7): '~' sorts before everything, even the end of a part;
 * letters before other characters. */
static int
dpkg_order(int c)
{
	if (isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c != '\0')
		return c + 256;
	return 0;
}

/* One part (upstream version or revision), [a, ae) against [b, be). */
static int
dpkg_part_cmp(const char *a, const char *ae, const char *b, const char *be)
{
	int	 ac, bc, first;

	while (a < ae || b < be) {
		/* The non-digit prefix, character by character. */
		while ((a < ae && !isdigit((unsigned char)*a)) ||
		    (b < be && !isdigit((unsigned char)*b))) {
			ac = a < ae ? dpkg_order((unsigned char)*a) : 0;
			bc = b < be ? dpkg_order((unsigned char)*b) : 0;
			if (ac != bc)
				return ac < bc ? -1 : 1;
			a++;
			b++;
		}
		/* Then the number, leading zeros aside. */
		while (a < ae && *a == '0')
			a++;
		while (b < be && *b == '0')
			b++;
		first = 0;
		while (a < ae && b < be && isdigit((unsigned char)*a) &&
		    isdigit((unsigned char)*b)) {
			if (first == 0)
				first = *a - *b;
			a++;
			b++;
		}
		if (a < ae && isdigit((unsigned char)*a))
			return 1;
		if (b < be && isdigit((unsigned char)*b))
			return -1;
		if (first != 0)
			return first < 0 ? -1 : 1;
	}
	return 0;
}

/*
 * "[epoch:]version[-revision]", as dpkg and rpm both write it: a missing
 * epoch is 0, the revision (rpm's release) follows the last '-', and a
 * prefix before ':' that is not all digits is no epoch.
 */
struct evr {
	uint64_t	 epoch;
	const char	*v, *ve;	/* upstream version */
	const char	*r, *re;	/* revision or release */
};

static void
evr_split(const char *s, struct evr *e)
{
	const char	*p, *colon, *dash, *end = s + strlen(s);

	e->epoch = 0;
	e->v = s;
	if ((colon = strchr(s, ':')) != NULL && colon > s) {
		for (p = s; p < colon && isdigit((unsigned char)*p); p++)
			if (e->epoch < UINT32_MAX)
				e->epoch = e->epoch * 10 + (uint64_t)(*p - '0');
		if (p == colon)
			e->v = colon + 1;
		else
			e->epoch = 0;
	}
	dash = strrchr(e->v, '-');
	e->ve = dash != NULL ? dash : end;
	e->r = dash != NULL ? dash + 1 : end;
	e->re = end;
}

typedef int (*part_cmp_fn)(const char *, const char *, const char *,
    const char *);

static int
evr_cmp(const char *a, const char *b, part_cmp_fn part)
{
	struct evr	 ea, eb;
	int		 rc;

	evr_split(a, &ea);
	evr_split(b, &eb);
	if (ea.epoch != eb.epoch)
		return ea.epoch < eb.epoch ? -1 : 1;
	if ((rc = part(ea.v, ea.ve, eb.v, eb.ve)) != 0)
		return rc;
	return part(ea.r, ea.re, eb.r, eb.re);
}

int
scan_dpkg_version_cmp(const char *a, const char *b)
{
	return evr_cmp(a, b, dpkg_part_cmp);
}

/* --- rpm ----------------------------------------------------------------- */

static int
rpm_segment_char(int c)
{
	return isalnum(c) || c == '~' || c == '^';
}

/* rpmvercmp over [a, ae) and [b, be). */
static int
rpm_vercmp_n(const char *a, const char *ae, const char *b, const char *be)
{
	const char	*sa, *sb;
	size_t		 la, lb;
	int		 num, rc;

	if (ae - a == be - b && memcmp(a, b, (size_t)(ae - a)) == 0)
		return 0;
	while (a < ae || b < be) {
		while (a < ae && !rpm_segment_char((unsigned char)*a))
			a++;
		while (b < be && !rpm_segment_char((unsigned char)*b))
			b++;
		/* '~' sorts before everything, the end included. */
		if ((a < ae && *a == '~') || (b < be && *b == '~')) {
			if (a >= ae || *a != '~')
				return 1;
			if (b >= be || *b != '~')
				return -1;
			a++;
			b++;
			continue;
		}
		/* '^' sorts after the end but before anything else. */
		if ((a < ae && *a == '^') || (b < be && *b == '^')) {
			if (a >= ae)
				return -1;
			if (b >= be)
				return 1;
			if (*a != '^')
				return 1;
			if (*b != '^')
				return -1;
			a++;
			b++;
			continue;
		}
		if (a >= ae || b >= be)
			break;
		sa = a;
		sb = b;
		num = isdigit((unsigned char)*a);
		if (num) {
			while (a < ae && isdigit((unsigned char)*a))
				a++;
			while (b < be && isdigit((unsigned char)*b))
				b++;
		} else {
			while (a < ae && isalpha((unsigned char)*a))
				a++;
			while (b < be && isalpha((unsigned char)*b))
				b++;
		}
		/* Segments of different kinds: the numeric one is newer. */
		if (b == sb)
			return num ? 1 : -1;
		if (num) {
			while (sa < a && *sa == '0')
				sa++;
			while (sb < b && *sb == '0')
				sb++;
			if (a - sa != b - sb)
				return a - sa > b - sb ? 1 : -1;
		}
		la = (size_t)(a - sa);
		lb = (size_t)(b - sb);
		rc = memcmp(sa, sb, la < lb ? la : lb);
		if (rc != 0)
			return rc < 0 ? -1 : 1;
		if (la != lb)
			return la > lb ? 1 : -1;
	}
	if (a >= ae && b >= be)
		return 0;
	/* Whichever has segments left is newer. */
	return a < ae ? 1 : -1;
}

int
scan_rpm_vercmp(const char *a, const char *b)
{
	return rpm_vercmp_n(a, a + strlen(a), b, b + strlen(b));
}

int
scan_rpm_evr_cmp(const char *a, const char *b)
{
	return evr_cmp(a, b, rpm_vercmp_n);
}

/* --- apk ----------------------------------------------------------------- */

/*
 * apk-tools reads a version as a sequence of tokens whose kinds must come
 * in this order; two versions compare token by token, and where one ends
 * or changes kind first, the kinds' order decides (with a pre-release
 * suffix making the longer version older).
 */
enum apk_token {
	APK_INVALID = -1,
	APK_DIGIT_OR_ZERO,	/* a number after '.': leading zeros count */
	APK_DIGIT,		/* a number */
	APK_LETTER,		/* one letter after a number */
	APK_SUFFIX,		/* _alpha ... _p */
	APK_SUFFIX_NO,		/* the number after a suffix */
	APK_REVISION_NO,	/* the number after -r */
	APK_END
};

static const char *const apk_pre_suffixes[] = { "alpha", "beta", "pre",
    "rc" };
static const char *const apk_post_suffixes[] = { "cvs", "svn", "git", "hg",
    "p" };

struct apk_cursor {
	const char	*p, *end;
	enum apk_token	 kind;		/* of the token at p */
};

/* A number at the cursor: 0 and *v (saturating), or -1 and the cursor
 * made APK_INVALID when there is no digit. */
static int
apk_number(struct apk_cursor *c, int64_t *v)
{
	size_t	 n;

	*v = 0;
	for (n = 0; c->p < c->end && isdigit((unsigned char)*c->p);
	    c->p++, n++)
		if (*v < INT64_MAX / 10 - 10)
			*v = *v * 10 + (*c->p - '0');
	if (n == 0) {
		c->kind = APK_INVALID;
		return -1;
	}
	return 0;
}

/* Reads the token at the cursor: its value; moves to the next token and
 * sets its kind (APK_INVALID on a syntax error, APK_END at the end). */
static int64_t
apk_token_next(struct apk_cursor *c)
{
	enum apk_token	 next = APK_INVALID;
	int64_t		 v = 0;
	size_t		 i, n = 0;

	if (c->p >= c->end) {
		c->kind = APK_END;
		return 0;
	}
	switch (c->kind) {
	case APK_DIGIT_OR_ZERO:
		if (*c->p == '0') {
			/* Leading zeros: the more there are, the older. */
			for (n = 0; c->p < c->end && *c->p == '0'; c->p++)
				n++;
			v = -(int64_t)(n > 1000 ? 1000 : n);
			if (c->p < c->end && isdigit((unsigned char)*c->p)) {
				c->kind = APK_DIGIT;
				return v;
			}
			break;
		}
		if (apk_number(c, &v) == -1)
			return 0;
		break;
	case APK_DIGIT:
	case APK_SUFFIX_NO:
	case APK_REVISION_NO:
		if (apk_number(c, &v) == -1)
			return 0;
		break;
	case APK_LETTER:
		v = (unsigned char)*c->p++;
		break;
	case APK_SUFFIX:
		for (i = 0; i < nitems(apk_pre_suffixes); i++) {
			n = strlen(apk_pre_suffixes[i]);
			if ((size_t)(c->end - c->p) >= n &&
			    memcmp(c->p, apk_pre_suffixes[i], n) == 0)
				break;
		}
		if (i < nitems(apk_pre_suffixes)) {
			v = (int64_t)i - (int64_t)nitems(apk_pre_suffixes);
			c->p += n;
		} else {
			for (i = 0; i < nitems(apk_post_suffixes); i++) {
				n = strlen(apk_post_suffixes[i]);
				if ((size_t)(c->end - c->p) >= n &&
				    memcmp(c->p, apk_post_suffixes[i], n) == 0)
					break;
			}
			if (i == nitems(apk_post_suffixes)) {
				c->kind = APK_INVALID;
				return 0;
			}
			v = (int64_t)i;
			c->p += n;
		}
		if (c->p < c->end && isdigit((unsigned char)*c->p))
			next = APK_SUFFIX_NO;
		break;
	default:
		c->kind = APK_INVALID;
		return 0;
	}
	if (next == APK_INVALID) {
		if (c->p >= c->end)
			next = APK_END;
		else if (*c->p == '.' && c->kind <= APK_DIGIT) {
			next = APK_DIGIT_OR_ZERO;
			c->p++;
		} else if (isalpha((unsigned char)*c->p) &&
		    c->kind <= APK_DIGIT)
			next = APK_LETTER;
		else if (*c->p == '_' && c->kind <= APK_SUFFIX_NO) {
			next = APK_SUFFIX;
			c->p++;
		} else if (*c->p == '-' && c->end - c->p >= 2 &&
		    c->p[1] == 'r' && c->kind < APK_REVISION_NO) {
			next = APK_REVISION_NO;
			c->p += 2;
		}
	}
	c->kind = next;
	return v;
}

int
scan_apk_version_cmp(const char *a, const char *b)
{
	struct apk_cursor	 ca, cb, peek;
	int64_t			 va = 0, vb = 0;
	int			 rc;

	ca.p = a;
	ca.end = a + strlen(a);
	cb.p = b;
	cb.end = b + strlen(b);
	ca.kind = cb.kind = APK_DIGIT;
	while (ca.kind == cb.kind && ca.kind != APK_END &&
	    ca.kind != APK_INVALID && va == vb) {
		va = apk_token_next(&ca);
		vb = apk_token_next(&cb);
	}
	if (va != vb)
		return va < vb ? -1 : 1;
	if (ca.kind == cb.kind) {
		if (ca.kind != APK_INVALID)
			return 0;
		/* Both unparseable from here: the rest as bytes. */
		rc = strcmp(ca.p, cb.p);
		return rc < 0 ? -1 : rc > 0;
	}
	/*
	 * Where the kinds part, the version that goes on is the newer one
	 * unless it goes on with a pre-release suffix; otherwise the kind
	 * that sorts later marks the older version ("1.0" < "1.0-r1" <
	 * "1.0_p1" < "1.0.1").  The suffix is peeked at on a copy, so that
	 * both sides are judged at the same point.
	 */
	peek = ca;
	if (ca.kind == APK_SUFFIX && apk_token_next(&peek) < 0)
		return -1;
	peek = cb;
	if (cb.kind == APK_SUFFIX && apk_token_next(&peek) < 0)
		return 1;
	if (ca.kind == APK_INVALID || cb.kind == APK_INVALID)
		return ca.kind == APK_INVALID ? -1 : 1;
	return ca.kind > cb.kind ? -1 : 1;
}

/* --- any ecosystem ------------------------------------------------------- */

int
scan_version_cmp(enum scan_eco eco, const char *a, const char *b)
{
	switch (eco) {
	case SCAN_ECO_DPKG:
		return scan_dpkg_version_cmp(a, b);
	case SCAN_ECO_APK:
		return scan_apk_version_cmp(a, b);
	case SCAN_ECO_RPM:
		return scan_rpm_evr_cmp(a, b);
	default:
		return strcmp(a, b) < 0 ? -1 : strcmp(a, b) > 0;
	}
}
