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
 * The sorted pointer array of sortvec.h: binary search for lookups and
 * bounds, memmove for insertion and removal.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sortvec.h"
#include "util.h"

void
sortvec_init(struct sortvec *v, sortvec_cmp cmp)
{
	memset(v, 0, sizeof(*v));
	v->cmp = cmp;
}

void
sortvec_clear(struct sortvec *v)
{
	free(v->items);
	v->items = NULL;
	v->len = v->cap = 0;
}

size_t
sortvec_lower_bound(const struct sortvec *v, const void *key)
{
	size_t	 lo = 0, hi = v->len, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->cmp(key, v->items[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t
sortvec_upper_bound(const struct sortvec *v, const void *key)
{
	size_t	 lo = 0, hi = v->len, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v->cmp(key, v->items[mid]) >= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void *
sortvec_find(const struct sortvec *v, const void *key)
{
	size_t	 i = sortvec_lower_bound(v, key);

	if (i < v->len && v->cmp(key, v->items[i]) == 0)
		return v->items[i];
	return NULL;
}

int
sortvec_insert(struct sortvec *v, const void *key, void *item)
{
	size_t	 i = sortvec_lower_bound(v, key);

	if (i < v->len && v->cmp(key, v->items[i]) == 0)
		return -1;
	if (v->len == v->cap) {
		v->cap = v->cap == 0 ? 8 : v->cap * 2;
		v->items = xreallocarray(v->items, v->cap, sizeof(void *));
	}
	memmove(&v->items[i + 1], &v->items[i],
	    (v->len - i) * sizeof(void *));
	v->items[i] = item;
	v->len++;
	return 0;
}

void *
sortvec_remove(struct sortvec *v, const void *key)
{
	size_t	 i = sortvec_lower_bound(v, key);
	void	*item;

	if (i >= v->len || v->cmp(key, v->items[i]) != 0)
		return NULL;
	item = v->items[i];
	memmove(&v->items[i], &v->items[i + 1],
	    (v->len - i - 1) * sizeof(void *));
	v->len--;
	return item;
}
