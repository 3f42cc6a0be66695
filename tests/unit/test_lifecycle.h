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
 * What the lifecycle suites share: policies written as the User Guide
 * writes them, one rule at a time (RULE(1, ANY COUNT(5), EXPIRE)), and
 * tag lists as literals.
 */
#ifndef BERTH_TEST_LIFECYCLE_H
#define BERTH_TEST_LIFECYCLE_H

#include "lifecycle.h"

#define RULE(prio, sel, act)						\
	"{\"rulePriority\": " #prio ", \"selection\": {" sel "},"	\
	" \"action\": {" act "}}"
#define POLICY(rules)	"{\"rules\": [" rules "]}"
#define EXPIRE		"\"type\": \"expire\""
#define ARCHIVE		"\"type\": \"transition\", " \
			"\"targetStorageClass\": \"archive\""
#define COUNT(n)	"\"countType\": \"imageCountMoreThan\", " \
			"\"countNumber\": " #n
#define DAYS(type, n)	"\"countType\": \"" type "\", " \
			"\"countUnit\": \"days\", \"countNumber\": " #n
#define UNTAGGED	"\"tagStatus\": \"untagged\", "
#define ANY		"\"tagStatus\": \"any\", "
#define PREFIXES(l)	"\"tagStatus\": \"tagged\", \"tagPrefixList\": " l ", "
#define PATTERNS(l)	"\"tagStatus\": \"tagged\", \"tagPatternList\": " l ", "
#define IN_ARCHIVE	"\"storageClass\": \"archive\", "

/* A tag list as two arguments: the array and its length. */
#define TAGS(...)	(const char *const []){ __VA_ARGS__ }, \
	nitems(((const char *const []){ __VA_ARGS__ }))
#define NOTAGS		NULL, 0

/* The policy, or NULL (the refusal printed) if text is refused. */
struct lifecycle_policy *test_lifecycle_parse(const char *text);

#endif
