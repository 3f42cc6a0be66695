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
 * The quotas ECR puts on its layer upload API (the "Amazon ECR service
 * quotas" page, none adjustable): a part holds at most 10 MiB and every
 * part but the last at least 5 MiB (LayerPartTooSmallException at
 * completion, as the model places it), an upload has at most 4,200
 * parts, and a layer at most 52,000 MiB (LimitExceededException).
 * blobd knows an upload's size, not its parts, so berthd counts them here,
 * by upload id.  The count lives in memory: after berthd restarts, an
 * upload's earlier parts are counted as few as could have made its size,
 * and a short one among them goes unnoticed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berthd.h"
#include "ecr.h"
#include "util.h"

/* Records kept before the unused ones are looked for. */
#define LAYER_PARTS_KEPT	4096

static struct sortvec	 layer_parts;

static int
layer_parts_cmp(const void *key, const void *item)
{
	return memcmp(key, ((const struct layer_parts *)item)->id,
	    UPLOAD_ID_LEN);
}

/* Drops the records of uploads unused for longer than --upload-ttl:
 * blobd has removed those. */
static void
layer_parts_expire(int64_t now)
{
	struct layer_parts *lp;
	size_t		 i = 0;

	while (i < layer_parts.len) {
		lp = layer_parts.items[i];
		if (now - lp->used_ms <= conf.upload_ttl * 1000) {
			i++;
			continue;
		}
		free(sortvec_remove(&layer_parts, lp->id));
	}
}

struct layer_parts *
layer_parts_get(const uint8_t id[UPLOAD_ID_LEN], uint64_t size)
{
	struct layer_parts *lp;
	int64_t		 now = now_ms();

	if (layer_parts.cmp == NULL)
		sortvec_init(&layer_parts, layer_parts_cmp);
	if ((lp = sortvec_find(&layer_parts, id)) == NULL) {
		if (layer_parts.len >= LAYER_PARTS_KEPT)
			layer_parts_expire(now);
		lp = xcalloc(1, sizeof(*lp));
		memcpy(lp->id, id, UPLOAD_ID_LEN);
		/* Unknown parts before: as few as make size. */
		lp->parts = (uint32_t)((size + ECR_PART_MAX - 1) /
		    ECR_PART_MAX);
		(void)sortvec_insert(&layer_parts, lp->id, lp);
	}
	lp->used_ms = now;
	return lp;
}

void
layer_parts_forget(const uint8_t id[UPLOAD_ID_LEN])
{
	if (layer_parts.cmp != NULL)
		free(sortvec_remove(&layer_parts, id));
}

const char *
layer_part_check(const struct layer_parts *lp, uint64_t first, uint64_t len,
    char *msg, size_t msgsz)
{
	if (len > ECR_PART_MAX) {
		snprintf(msg, msgsz, "The layer part of %llu bytes is larger "
		    "than the %d bytes a part may hold",
		    (unsigned long long)len, ECR_PART_MAX);
		return "InvalidLayerPartException";
	}
	if (first > LAYER_MAX || len > LAYER_MAX - first) {
		snprintf(msg, msgsz, "The layer would be larger than the "
		    "maximum layer size of %llu MiB", LAYER_MAX >> 20);
		return "LimitExceededException";
	}
	if (lp->parts >= ECR_PARTS_MAX) {
		snprintf(msg, msgsz, "The upload already has the maximum "
		    "number of layer parts, %d", ECR_PARTS_MAX);
		return "LimitExceededException";
	}
	return NULL;
}

void
layer_part_note(struct layer_parts *lp, uint64_t len)
{
	/* The part before is not the last one any more. */
	if (lp->parts > 0 && lp->last_len < ECR_PART_MIN && lp->last_len > 0)
		lp->small = 1;
	lp->parts++;
	lp->last_len = len;
}
