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
 * ECR's layer part quotas (daemon/ecr_layer_part.c): the part size, the
 * layer size, the count of parts (4,200 parts of at least 5 MiB is more
 * than an integration test can send), and which part was short.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ecr.h"
#include "unit.h"

static void
test_layer_part_rules(void)
{
	struct layer_parts *lp;
	uint8_t		 id[UPLOAD_ID_LEN];
	const char	*exc;
	char		 msg[256];
	uint32_t	 i;

	memset(id, 0x11, sizeof(id));
	lp = layer_parts_get(id, 0);
	CU_ASSERT_EQUAL(lp->parts, 0);
	CU_ASSERT_PTR_NULL(layer_part_check(lp, 0, ECR_PART_MAX, msg,
	    sizeof(msg)));
	exc = layer_part_check(lp, 0, ECR_PART_MAX + 1, msg, sizeof(msg));
	CU_ASSERT_STRING_EQUAL(exc, "InvalidLayerPartException");
	CU_ASSERT(strstr(msg, "10485760") != NULL);
	exc = layer_part_check(lp, LAYER_MAX - 10, 11, msg, sizeof(msg));
	CU_ASSERT_STRING_EQUAL(exc, "LimitExceededException");
	CU_ASSERT(strstr(msg, "52000 MiB") != NULL);
	CU_ASSERT_PTR_NULL(layer_part_check(lp, LAYER_MAX - 10, 10, msg,
	    sizeof(msg)));
	exc = layer_part_check(lp, UINT64_MAX - 5, 10, msg, sizeof(msg));
	CU_ASSERT_STRING_EQUAL(exc, "LimitExceededException");

	/* Full parts, then a short last one: nothing short before it. */
	layer_part_note(lp, ECR_PART_MIN);
	layer_part_note(lp, ECR_PART_MAX);
	layer_part_note(lp, 10);
	CU_ASSERT_EQUAL(lp->parts, 3);
	CU_ASSERT_FALSE(lp->small);
	/* Another after the short one: it was not the last. */
	layer_part_note(lp, ECR_PART_MIN);
	CU_ASSERT_TRUE(lp->small);
	CU_ASSERT_PTR_EQUAL(layer_parts_get(id, 0), lp);

	/* 4,200 parts, then no more. */
	for (i = lp->parts; i < ECR_PARTS_MAX; i++)
		layer_part_note(lp, ECR_PART_MIN);
	CU_ASSERT_EQUAL(lp->parts, ECR_PARTS_MAX);
	exc = layer_part_check(lp, 0, 1, msg, sizeof(msg));
	CU_ASSERT_STRING_EQUAL(exc, "LimitExceededException");
	CU_ASSERT(strstr(msg, "4200") != NULL);
	layer_parts_forget(id);

	/* Not seen before (berthd restarted): as few parts as make the
	 * upload's size, none of them known to be short. */
	lp = layer_parts_get(id, 3 * ECR_PART_MAX + 1);
	CU_ASSERT_EQUAL(lp->parts, 4);
	CU_ASSERT_FALSE(lp->small);
	layer_part_note(lp, 1);
	CU_ASSERT_FALSE(lp->small);
	layer_parts_forget(id);
}

int
test_ecr_layer_part_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("ecr_layer_part", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "part quotas", test_layer_part_rules) == NULL)
		return -1;
	return 0;
}
