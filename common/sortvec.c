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
	v->nholes = 0;
}

/* What a deferred removal leaves in its place: never an item. */
static char	 sortvec_hole_mark;
#define HOLE	((void *)&sortvec_hole_mark)

/* The first item at or after i that is not a hole (len if none). */
static size_t
sortvec_skip(const struct sortvec *v, size_t i)
{
	if (v->nholes > 0)
		while (i < v->len && v->items[i] == HOLE)
			i++;
	return i;
}

/*
 * Binary search over the items, holes stepped over: every item before
 * the result is less than key (upper: not greater), every one from it on
 * is not.
 */
static size_t
sortvec_bound(const struct sortvec *v, const void *key, int upper)
{
	size_t	 lo = 0, hi = v->len, mid, j;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		j = mid;
		if (v->nholes > 0)
			while (j < hi && v->items[j] == HOLE)
				j++;
		if (j == hi) {
			hi = mid;
			continue;
		}
		c = v->cmp(key, v->items[j]);
		if (c > 0 || (upper && c == 0))
			lo = j + 1;
		else
			hi = mid;
	}
	return sortvec_skip(v, lo);
}

size_t
sortvec_lower_bound(const struct sortvec *v, const void *key)
{
	return sortvec_bound(v, key, 0);
}

size_t
sortvec_upper_bound(const struct sortvec *v, const void *key)
{
	return sortvec_bound(v, key, 1);
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
	size_t	 i;

	sortvec_compact(v);
	i = sortvec_lower_bound(v, key);
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

/* Takes the item with key out: at once (a memmove), or leaving a hole. */
static void *
sortvec_take(struct sortvec *v, const void *key, int hole)
{
	size_t	 i = sortvec_lower_bound(v, key);
	void	*item;

	if (i >= v->len || v->cmp(key, v->items[i]) != 0)
		return NULL;
	item = v->items[i];
	if (hole) {
		v->items[i] = HOLE;
		v->nholes++;
		return item;
	}
	memmove(&v->items[i], &v->items[i + 1],
	    (v->len - i - 1) * sizeof(void *));
	v->len--;
	return item;
}

void *
sortvec_remove(struct sortvec *v, const void *key)
{
	return sortvec_take(v, key, 0);
}

void *
sortvec_remove_deferred(struct sortvec *v, const void *key)
{
	return sortvec_take(v, key, 1);
}

void
sortvec_compact(struct sortvec *v)
{
	size_t	 i, n = 0;

	if (v->nholes == 0)
		return;
	for (i = 0; i < v->len; i++)
		if (v->items[i] != HOLE)
			v->items[n++] = v->items[i];
	v->len = n;
	v->nholes = 0;
}
