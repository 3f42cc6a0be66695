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
 * Severities in ECR's levels: from a feed's own word for it, or from a
 * CVSS v3.x base vector, whose score this file computes as the CVSS v3.1
 * specification defines it (section 7.1, with its Roundup) and rates it
 * (section 5: None 0.0, Low 0.1-3.9, Medium 4.0-6.9, High 7.0-8.9,
 * Critical 9.0-10.0; ECR calls None INFORMATIONAL).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan.h"
#include "util.h"

int
scan_severity_from_score(int score10)
{
	if (score10 < 0)
		return SCAN_SEV_UNDEFINED;
	if (score10 == 0)
		return SCAN_SEV_INFORMATIONAL;
	if (score10 < 40)
		return SCAN_SEV_LOW;
	if (score10 < 70)
		return SCAN_SEV_MEDIUM;
	if (score10 < 90)
		return SCAN_SEV_HIGH;
	return SCAN_SEV_CRITICAL;
}

int
scan_severity_from_word(const char *s)
{
	static const struct {
		const char	*word;
		int		 sev;
	} words[] = {
		{ "critical", SCAN_SEV_CRITICAL },
		{ "high", SCAN_SEV_HIGH },
		{ "important", SCAN_SEV_HIGH },
		{ "medium", SCAN_SEV_MEDIUM },
		{ "moderate", SCAN_SEV_MEDIUM },
		{ "low", SCAN_SEV_LOW },
		{ "negligible", SCAN_SEV_INFORMATIONAL },
		{ "unimportant", SCAN_SEV_INFORMATIONAL },
		{ "informational", SCAN_SEV_INFORMATIONAL },
		{ "none", SCAN_SEV_INFORMATIONAL },
	};
	size_t	 i;

	for (i = 0; i < nitems(words); i++)
		if (strcasecmp(s, words[i].word) == 0)
			return words[i].sev;
	return -1;
}

/* CVSS v3.x base metrics: the letter each takes and its weight. */
struct cvss_metric {
	const char	*key;
	const char	*letters;
	double		 w[4];
	double		 w_changed[4];	/* PR under scope changed */
};

static const struct cvss_metric cvss3_metrics[] = {
	{ "AV", "NALP", { 0.85, 0.62, 0.55, 0.2 }, { 0 } },
	{ "AC", "LH", { 0.77, 0.44 }, { 0 } },
	{ "PR", "NLH", { 0.85, 0.62, 0.27 }, { 0.85, 0.68, 0.5 } },
	{ "UI", "NR", { 0.85, 0.62 }, { 0 } },
	{ "S", "UC", { 0, 1 }, { 0 } },
	{ "C", "HLN", { 0.56, 0.22, 0 }, { 0 } },
	{ "I", "HLN", { 0.56, 0.22, 0 }, { 0 } },
	{ "A", "HLN", { 0.56, 0.22, 0 }, { 0 } },
};

/* CVSS v3.1's Roundup: the smallest one-decimal number >= x. */
static int
cvss_roundup10(double x)
{
	long	 i = lround(x * 100000.0);

	if (i % 10000 == 0)
		return (int)(i / 10000);
	return (int)(i / 10000) + 1;
}

int
cvss3_score(const char *vector)
{
	int		 idx[nitems(cvss3_metrics)];
	const char	*p, *colon, *end, *l;
	double		 iss, impact, expl, pr;
	size_t		 i, klen;
	int		 changed;

	if (strncmp(vector, "CVSS:3.0/", 9) != 0 &&
	    strncmp(vector, "CVSS:3.1/", 9) != 0)
		return -1;
	for (i = 0; i < nitems(idx); i++)
		idx[i] = -1;
	for (p = vector + 9; *p != '\0'; p = *end == '/' ? end + 1 : end) {
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		colon = memchr(p, ':', (size_t)(end - p));
		if (colon == NULL || colon == p || end - colon != 2)
			return -1;
		klen = (size_t)(colon - p);
		for (i = 0; i < nitems(cvss3_metrics); i++)
			if (strlen(cvss3_metrics[i].key) == klen &&
			    strncmp(cvss3_metrics[i].key, p, klen) == 0)
				break;
		if (i == nitems(cvss3_metrics))
			continue;	/* temporal or environmental */
		if (idx[i] != -1 || colon[1] == '\0' ||
		    (l = strchr(cvss3_metrics[i].letters, colon[1])) == NULL)
			return -1;
		idx[i] = (int)(l - cvss3_metrics[i].letters);
		if (*end == '/' && end[1] == '\0')
			return -1;
	}
	for (i = 0; i < nitems(idx); i++)
		if (idx[i] == -1)
			return -1;
	changed = idx[4] == 1;
	iss = 1 - (1 - cvss3_metrics[5].w[idx[5]]) *
	    (1 - cvss3_metrics[6].w[idx[6]]) * (1 - cvss3_metrics[7].w[idx[7]]);
	if (changed)
		impact = 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15);
	else
		impact = 6.42 * iss;
	pr = changed ? cvss3_metrics[2].w_changed[idx[2]] :
	    cvss3_metrics[2].w[idx[2]];
	expl = 8.22 * cvss3_metrics[0].w[idx[0]] *
	    cvss3_metrics[1].w[idx[1]] * pr * cvss3_metrics[3].w[idx[3]];
	if (impact <= 0)
		return 0;
	if (changed)
		return cvss_roundup10(fmin(1.08 * (impact + expl), 10));
	return cvss_roundup10(fmin(impact + expl, 10));
}

static const char *const severity_names[SCAN_SEV__MAX] = {
	[SCAN_SEV_INFORMATIONAL] = "INFORMATIONAL",
	[SCAN_SEV_LOW] = "LOW",
	[SCAN_SEV_MEDIUM] = "MEDIUM",
	[SCAN_SEV_HIGH] = "HIGH",
	[SCAN_SEV_CRITICAL] = "CRITICAL",
	[SCAN_SEV_UNDEFINED] = "UNDEFINED",
};

const char *
scan_severity_name(int sev)
{
	return sev >= 0 && sev < SCAN_SEV__MAX ? severity_names[sev] :
	    "UNDEFINED";
}

int
scan_severity_from_name(const char *s, size_t n)
{
	int	 i;

	for (i = 0; i < SCAN_SEV__MAX; i++)
		if (strlen(severity_names[i]) == n &&
		    memcmp(severity_names[i], s, n) == 0)
			return i;
	return -1;
}
