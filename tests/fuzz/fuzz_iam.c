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
 * IAM policy documents (daemon/iam.c) on arbitrary bytes: a document is
 * refused with a reason or parsed, and a parsed one is evaluated for a few
 * accounts, actions and resources, with and without a request context for
 * its conditions, the same question always getting the
 * same answer, and checked against a list of actions.  The wildcard
 * matcher must take "*" for anything and a string without wildcards for
 * itself.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berthd.h"
#include "registry.h"
#include "log.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const accounts[] = { "111111111111", "222222222222", "*" };
static const char *const actions[] = { "ecr:ReplicateImage",
    "ecr:CreateRepository", "ecr:PutImage", "s3:GetObject" };
static const struct iam_kv context[] = {
	{ "aws:PrincipalAccount", "111111111111" },
	{ "aws:PrincipalArn", "arn:aws:iam::111111111111:root" },
	{ "aws:SourceAccount", "111111111111" },
	{ "aws:SourceArn", "arn:aws:ecr:eu-west-1:111111111111:repository/x" },
	{ "ecr:ResourceTag/team", "blue" },
	{ "ecr:ResourceTag/size", "10" },
	{ "aws:CurrentTime", "2026-12-07T13:30:00Z" },
	{ "aws:EpochTime", "1796650200" },
	{ "aws:SourceIp", "2001:db8::1" }
};
static const struct iam_context ctx = { context, nitems(context) };
static const char *const resources[] = {
    "arn:aws:ecr:us-east-1:222222222222:repository/prod/app",
    "arn:aws:ecr:eu-west-1:111111111111:repository/x", "" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iam_policy *p;
	enum iam_decision d;
	char		 why[256], *s;
	size_t		 i, j, k;

	log_init("fuzz", LOG_LVL_WARN);
	why[0] = '\0';
	if ((p = iam_policy_parse((const char *)data, size, why,
	    sizeof(why))) == NULL) {
		if (why[0] == '\0')
			abort();
	} else {
		for (i = 0; i < nitems(accounts); i++)
			for (j = 0; j < nitems(actions); j++)
				for (k = 0; k < nitems(resources); k++) {
					d = iam_policy_evaluate(p, accounts[i],
					    actions[j], resources[k], &ctx);
					if (d != iam_policy_evaluate(p,
					    accounts[i], actions[j],
					    resources[k], &ctx))
						abort();
					/* No context: the source keys are
					 * absent, and nothing crashes. */
					(void)iam_policy_evaluate(p,
					    accounts[i], actions[j],
					    resources[k], NULL);
				}
		(void)iam_policy_actions_within(p, actions, nitems(actions),
		    why, sizeof(why));
		iam_policy_free(p);
	}
	/* The bytes as a string: their own pattern (without wildcards). */
	s = xstrndup((const char *)data, size);
	if (!iam_match("*", s, 0))
		abort();
	if (strpbrk(s, "*?") == NULL &&
	    (!iam_match(s, s, 0) || !iam_match(s, s, 1)))
		abort();
	(void)iam_match(s, "ecr:ReplicateImage", 1);
	free(s);
	return 0;
}
