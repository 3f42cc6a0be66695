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
 * daemon/scan_version.c: each ecosystem's version order, on the examples
 * its own documentation gives (deb-version(7) and Debian Policy 5.6.12;
 * rpm's rpmvercmp test cases and Fedora's versioning guidelines for '~'
 * and '^'; Alpine's package version rules), and the properties every
 * comparator must have whatever it is given.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "scan.h"
#include "util.h"
#include "unit.h"

struct vcase {
	const char	*a;
	int		 cmp;	/* sign of a against b */
	const char	*b;
};

static int
sign(int v)
{
	return v < 0 ? -1 : v > 0;
}

static void
check_cases(enum scan_eco eco, const struct vcase *c, size_t n)
{
	size_t	 i;
	int	 got, back;

	for (i = 0; i < n; i++) {
		got = sign(scan_version_cmp(eco, c[i].a, c[i].b));
		back = sign(scan_version_cmp(eco, c[i].b, c[i].a));
		if (got != c[i].cmp || back != -c[i].cmp)
			fprintf(stderr, "\n%s: %s vs %s: %d, %d (want %d)\n",
			    scan_eco_name(eco), c[i].a, c[i].b, got, back,
			    c[i].cmp);
		CU_ASSERT_EQUAL(got, c[i].cmp);
		CU_ASSERT_EQUAL(back, -c[i].cmp);
		CU_ASSERT_EQUAL(scan_version_cmp(eco, c[i].a, c[i].a), 0);
	}
}

/* A list that must be strictly ascending, every pair checked. */
static void
check_ascending(enum scan_eco eco, const char *const *v, size_t n)
{
	size_t	 i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			int got = sign(scan_version_cmp(eco, v[i], v[j]));
			int want = i < j ? -1 : i > j;

			if (got != want)
				fprintf(stderr, "\n%s: %s vs %s: %d\n",
				    scan_eco_name(eco), v[i], v[j], got);
			CU_ASSERT_EQUAL(got, want);
		}
}

static void
test_dpkg(void)
{
	/* deb-version(7): "~~" < "~~a" < "~" < "" < "a". */
	static const char *const tilde[] = { "1.0~~", "1.0~~a", "1.0~",
	    "1.0", "1.0a" };
	static const struct vcase cases[] = {
		{ "1:0.1", 1, "2.0" },			/* epoch first */
		{ "0:1.0", 0, "1.0" },			/* epoch 0 is none */
		{ "1.0-1", -1, "1.0-2" },
		{ "1.0-1", -1, "1.0.1" },
		{ "1.2.3", 0, "1.2.3-0" },		/* no revision is 0 */
		{ "10", 1, "9" },			/* numerically */
		{ "1.002", 0, "1.2" },			/* leading zeros */
		{ "1.0+b1", 1, "1.0" },
		{ "2.36-9+deb12u3", -1, "2.36-9+deb12u4" },
		{ "2.36-9+deb12u10", 1, "2.36-9+deb12u9" },
		{ "1.0a", -1, "1.0+" },			/* letters first */
		{ "1.0-1ubuntu0.1", 1, "1.0-1" },
		{ "7.88.1-10+deb12u5", -1, "7.88.1-10+deb12u6" },
		{ "1:2.0~rc1-1", -1, "1:2.0-1" },
		{ "2.0-1~bpo12+1", -1, "2.0-1" },
	};

	check_ascending(SCAN_ECO_DPKG, tilde, nitems(tilde));
	check_cases(SCAN_ECO_DPKG, cases, nitems(cases));
}

static void
test_rpm(void)
{
	static const struct vcase vers[] = {
		/* rpmvercmp's own test cases. */
		{ "1.0", 0, "1.0" },
		{ "1.0", -1, "2.0" },
		{ "2.0.1", 1, "2.0" },
		{ "2.0.1a", 1, "2.0.1" },
		{ "5.5p1", -1, "5.5p2" },
		{ "5.5p10", 1, "5.5p1" },
		{ "10xyz", -1, "10.1xyz" },
		{ "xyz10", -1, "xyz10.1" },
		{ "xyz.4", -1, "8" },			/* numbers are newer */
		{ "2a", -1, "2.0" },
		{ "1.0010", 1, "1.9" },
		{ "1.05", 0, "1.5" },
		{ "1.0", 0, "1_0" },			/* separators alike */
		{ "a+", 0, "a_" },
		{ "+", 0, "_" },
		{ "1.0~rc1", -1, "1.0" },
		{ "1.0~rc1", -1, "1.0~rc2" },
		{ "1.0~rc1~git123", -1, "1.0~rc1" },
		{ "1.0^", 1, "1.0" },
		{ "1.0^git1", -1, "1.01" },
		{ "1.0^20160101", 1, "1.0" },
		{ "1.0^20160101^git1", 1, "1.0^20160101" },
		{ "1.0~rc1^git1", -1, "1.0" },
		{ "1.0~rc1^git1", 1, "1.0~rc1" },
	};
	static const struct vcase evrs[] = {
		{ "1:1.0-1", 1, "2.0-1" },
		{ "0:1.0-1", 0, "1.0-1" },
		{ "1.0-1.el9", -1, "1.0-2.el9" },
		{ "3.0.7-24.el9", -1, "3.0.7-25.el9_3" },
		{ "1:3.0.7-24.el9", -1, "1:3.0.7-25.el9_3" },
		{ "2.34-83.el9.7", 1, "2.34-83.el9" },
	};
	size_t	 i;

	for (i = 0; i < nitems(vers); i++) {
		CU_ASSERT_EQUAL(sign(scan_rpm_vercmp(vers[i].a, vers[i].b)),
		    vers[i].cmp);
		CU_ASSERT_EQUAL(sign(scan_rpm_vercmp(vers[i].b, vers[i].a)),
		    -vers[i].cmp);
	}
	check_cases(SCAN_ECO_RPM, evrs, nitems(evrs));
}

static void
test_apk(void)
{
	/* Pre-release suffixes, the release, then post-release ones. */
	static const char *const suffixes[] = { "1.0_alpha", "1.0_alpha1",
	    "1.0_beta", "1.0_pre1", "1.0_rc1", "1.0_rc2", "1.0", "1.0-r1",
	    "1.0_cvs1", "1.0_svn", "1.0_git20230101", "1.0_hg1", "1.0_p1",
	    "1.0_p2", "1.0.1" };
	static const struct vcase cases[] = {
		{ "1.0-r0", -1, "1.0-r1" },
		{ "1.0-r9", -1, "1.0-r10" },
		{ "1.0a", 1, "1.0" },
		{ "1.0a", -1, "1.0b" },
		{ "3.0.7-r0", -1, "3.0.8-r0" },
		{ "3.1.4-r0", -1, "3.1.4-r1" },
		{ "1.2.3_git20230101-r0", 1, "1.2.3-r5" },
		{ "2.34", 1, "0.1.0_alpha" },
		{ "1.01", -1, "1.1" },			/* leading zeros */
		{ "1.001", -1, "1.01" },
		{ "6.5_p20250503-r0", 1, "6.5-r0" },
		{ "1.10", 1, "1.9" },
	};

	check_ascending(SCAN_ECO_APK, suffixes, nitems(suffixes));
	check_cases(SCAN_ECO_APK, cases, nitems(cases));
}

/* Odd strings: every comparator answers, equal to itself, antisymmetric. */
static void
test_odd(void)
{
	static const char *const odd[] = { "", ":", "-", "1:", ":1", "~",
	    "^", "_", "-r", "1-r", "1_", "1_x", "1.", ".1", "a.b", "999999999"
	    "999999999999999", "1:1:1", "0000", "1..1", "~~~", "1.0_rc",
	    "1.0-r-r", "abc" };
	size_t	 i, j;
	int	 eco;

	for (eco = SCAN_ECO_DPKG; eco < SCAN_ECO__MAX; eco++)
		for (i = 0; i < nitems(odd); i++) {
			CU_ASSERT_EQUAL(scan_version_cmp(eco, odd[i], odd[i]),
			    0);
			for (j = 0; j < nitems(odd); j++)
				CU_ASSERT_EQUAL(sign(scan_version_cmp(eco,
				    odd[i], odd[j])), -sign(scan_version_cmp(
				    eco, odd[j], odd[i])));
		}
}

int
test_scan_version_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("scan_version", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "dpkg", test_dpkg) == NULL ||
	    CU_add_test(s, "rpm", test_rpm) == NULL ||
	    CU_add_test(s, "apk", test_apk) == NULL ||
	    CU_add_test(s, "odd strings", test_odd) == NULL)
		return -1;
	return 0;
}
