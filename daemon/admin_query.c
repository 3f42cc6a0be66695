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
 * The query of an admin request, read strictly: the admin API deletes and
 * collects, so a parameter it does not know (dryrun=1 for dry_run=1), one
 * given twice, one that does not decode or a value it cannot read is
 * refused with 400, never ignored: a typo must not turn a dry run into a
 * real one or a reset of one registry into a reset of all.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "berthd.h"
#include "http.h"
#include "name.h"

static const struct {
	const char	*name;
	unsigned int	 flag;
	const char	*what;		/* for messages */
} admin_params[] = {
	{ "dry_run",	ADMIN_Q_DRY_RUN,	"dry_run" },
	{ "account",	ADMIN_Q_REGISTRY,	"account and region" },
	{ "region",	ADMIN_Q_REGISTRY,	"account and region" },
	{ "repository",	ADMIN_Q_REPOSITORY,	"repository" },
};

/* "1", "true", "yes": 1; "0", "false", "no": 0; else -1. */
static int
admin_query_bool(const char *v)
{
	static const char *const yes[] = { "1", "true", "yes" };
	static const char *const no[] = { "0", "false", "no" };
	size_t	 i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcmp(v, yes[i]) == 0)
			return 1;
		if (strcmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* What the endpoint takes, for a message ("dry_run", "nothing"). */
static void
admin_query_takes(unsigned int allowed, char *out, size_t outsz)
{
	size_t	 i, used = 0;

	out[0] = '\0';
	for (i = 0; i < nitems(admin_params); i++) {
		if (!(allowed & admin_params[i].flag) ||
		    (i > 0 && admin_params[i - 1].flag == admin_params[i].flag))
			continue;
		used += (size_t)snprintf(out + used, used < outsz ?
		    outsz - used : 0, "%s%s", used > 0 ? ", " : "",
		    admin_params[i].what);
	}
	if (used == 0)
		snprintf(out, outsz, "no parameter");
}

static int
admin_query_value(struct admin_query *q, const char *key, const char *v,
    char *why, size_t whysz)
{
	if (strcmp(key, "dry_run") == 0) {
		if ((q->dry_run = admin_query_bool(v)) == -1) {
			snprintf(why, whysz, "dry_run is 1, true, yes, 0, "
			    "false or no");
			return -1;
		}
	} else if (strcmp(key, "account") == 0) {
		if (!name_account_valid(v, strlen(v))) {
			snprintf(why, whysz, "account is 12 digits");
			return -1;
		}
		q->account = v;
	} else if (strcmp(key, "region") == 0) {
		if (!name_region_valid(v, strlen(v))) {
			snprintf(why, whysz, "region is 1 to 32 of a-z, 0-9 "
			    "and -");
			return -1;
		}
		q->region = v;
	} else {
		if (!name_oci_repository_valid(v, strlen(v))) {
			snprintf(why, whysz, "repository is not a repository "
			    "name");
			return -1;
		}
		q->repository = v;
	}
	return 0;
}

int
admin_query_parse(struct http_request *req, unsigned int allowed,
    struct admin_query *q, char *why, size_t whysz)
{
	const char	*key, *v;
	char		 takes[128];
	unsigned int	 seen = 0;
	size_t		 i, k;

	memset(q, 0, sizeof(*q));
	if (http_request_params_dropped(req) > 0) {
		snprintf(why, whysz, "a parameter of the query does not "
		    "decode");
		return -1;
	}
	for (i = 0; http_request_param_at(req, i, &key, &v); i++) {
		for (k = 0; k < nitems(admin_params); k++)
			if (strcmp(key, admin_params[k].name) == 0)
				break;
		if (k == nitems(admin_params) ||
		    !(allowed & admin_params[k].flag)) {
			admin_query_takes(allowed, takes, sizeof(takes));
			snprintf(why, whysz, "unknown parameter '%.64s': this "
			    "endpoint takes %s", key, takes);
			return -1;
		}
		if (seen & (1u << k)) {
			snprintf(why, whysz, "%s is given twice", key);
			return -1;
		}
		seen |= 1u << k;
		if (admin_query_value(q, key, v, why, whysz) == -1)
			return -1;
	}
	return 0;
}
