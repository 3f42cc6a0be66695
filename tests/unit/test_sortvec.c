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
 * common/sortvec.c: the sorted pointer vectors behind the registry's
 * listings and lookups.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sortvec.h"
#include "util.h"
#include "unit.h"

struct item {
	int	 key;
	int	 tag;		/* tells apart items with one key */
};

static int
item_cmp(const void *key, const void *item)
{
	int	 k = *(const int *)key;
	int	 v = ((const struct item *)item)->key;

	return k < v ? -1 : k > v;
}

/* Items strictly ascending by key, and len within cap. */
static int
is_sorted(const struct sortvec *v)
{
	size_t	 i;

	if (v->len > v->cap)
		return 0;
	for (i = 1; i < v->len; i++)
		if (((struct item *)v->items[i - 1])->key >=
		    ((struct item *)v->items[i])->key)
			return 0;
	return 1;
}

static int
key_at(const struct sortvec *v, size_t i)
{
	return ((struct item *)v->items[i])->key;
}

static void
test_sortvec_empty(void)
{
	struct sortvec	 v;
	int		 k = 5;

	sortvec_init(&v, item_cmp);
	CU_ASSERT_EQUAL(v.len, 0);
	CU_ASSERT_PTR_NULL(sortvec_find(&v, &k));
	CU_ASSERT_PTR_NULL(sortvec_remove(&v, &k));
	CU_ASSERT_EQUAL(sortvec_lower_bound(&v, &k), 0);
	CU_ASSERT_EQUAL(sortvec_upper_bound(&v, &k), 0);
	sortvec_clear(&v);
	sortvec_clear(&v);		/* twice: a cleared vector is empty */
	CU_ASSERT_EQUAL(v.len, 0);
	CU_ASSERT_PTR_NULL(v.items);
	CU_ASSERT_PTR_NULL(sortvec_find(&v, &k));
}

static void
test_sortvec_order(void)
{
	static const int keys[] = { 50, 10, 40, 20, 30, 0, 60, -5 };
	static const int sorted[] = { -5, 0, 10, 20, 30, 40, 50, 60 };
	struct item	 items[nitems(keys)];
	struct sortvec	 v;
	size_t		 i;
	int		 k;

	sortvec_init(&v, item_cmp);
	for (i = 0; i < nitems(keys); i++) {
		items[i].key = keys[i];
		items[i].tag = (int)i;
		CU_ASSERT_EQUAL(sortvec_insert(&v, &keys[i], &items[i]), 0);
		CU_ASSERT_TRUE(is_sorted(&v));
	}
	CU_ASSERT_EQUAL_FATAL(v.len, nitems(keys));
	for (i = 0; i < nitems(sorted); i++)
		CU_ASSERT_EQUAL(key_at(&v, i), sorted[i]);

	/* find returns the very item inserted with the key. */
	for (i = 0; i < nitems(keys); i++)
		CU_ASSERT_PTR_EQUAL(sortvec_find(&v, &keys[i]), &items[i]);
	k = 25;
	CU_ASSERT_PTR_NULL(sortvec_find(&v, &k));
	k = -100;
	CU_ASSERT_PTR_NULL(sortvec_find(&v, &k));
	k = 100;
	CU_ASSERT_PTR_NULL(sortvec_find(&v, &k));

	/* Bounds: on a key, its index and the next; between keys, both
	 * the insertion point. */
	k = 20;
	CU_ASSERT_EQUAL(sortvec_lower_bound(&v, &k), 3);
	CU_ASSERT_EQUAL(sortvec_upper_bound(&v, &k), 4);
	k = 25;
	CU_ASSERT_EQUAL(sortvec_lower_bound(&v, &k), 4);
	CU_ASSERT_EQUAL(sortvec_upper_bound(&v, &k), 4);
	k = -100;
	CU_ASSERT_EQUAL(sortvec_lower_bound(&v, &k), 0);
	CU_ASSERT_EQUAL(sortvec_upper_bound(&v, &k), 0);
	k = 60;
	CU_ASSERT_EQUAL(sortvec_lower_bound(&v, &k), 7);
	CU_ASSERT_EQUAL(sortvec_upper_bound(&v, &k), 8);
	k = 100;
	CU_ASSERT_EQUAL(sortvec_lower_bound(&v, &k), 8);
	CU_ASSERT_EQUAL(sortvec_upper_bound(&v, &k), 8);

	/* Removal of the first, the last and a middle item keeps the
	 * others in order. */
	k = -5;
	CU_ASSERT_PTR_EQUAL(sortvec_remove(&v, &k), &items[7]);
	k = 60;
	CU_ASSERT_PTR_EQUAL(sortvec_remove(&v, &k), &items[6]);
	k = 30;
	CU_ASSERT_PTR_EQUAL(sortvec_remove(&v, &k), &items[4]);
	CU_ASSERT_PTR_NULL(sortvec_remove(&v, &k));	/* gone already */
	k = 35;
	CU_ASSERT_PTR_NULL(sortvec_remove(&v, &k));	/* never there */
	CU_ASSERT_EQUAL_FATAL(v.len, 5);
	CU_ASSERT_TRUE(is_sorted(&v));
	CU_ASSERT_EQUAL(key_at(&v, 0), 0);
	CU_ASSERT_EQUAL(key_at(&v, 2), 20);
	CU_ASSERT_EQUAL(key_at(&v, 4), 50);
	k = 30;
	CU_ASSERT_PTR_NULL(sortvec_find(&v, &k));
	k = 40;
	CU_ASSERT_PTR_EQUAL(sortvec_find(&v, &k), &items[2]);

	/* A removed key can be inserted again, where it belongs. */
	k = 30;
	CU_ASSERT_EQUAL(sortvec_insert(&v, &k, &items[4]), 0);
	CU_ASSERT_EQUAL(key_at(&v, 3), 30);
	CU_ASSERT_TRUE(is_sorted(&v));
	sortvec_clear(&v);
	CU_ASSERT_EQUAL(v.len, 0);
}

static void
test_sortvec_duplicates(void)
{
	struct item	 a = { 7, 1 }, b = { 7, 2 }, c = { 3, 3 };
	struct sortvec	 v;
	int		 k = 7;

	sortvec_init(&v, item_cmp);
	CU_ASSERT_EQUAL(sortvec_insert(&v, &a.key, &a), 0);
	CU_ASSERT_EQUAL(sortvec_insert(&v, &c.key, &c), 0);
	/* A second item with a key in the vector is refused, and the
	 * first stays. */
	CU_ASSERT_EQUAL(sortvec_insert(&v, &b.key, &b), -1);
	CU_ASSERT_EQUAL(sortvec_insert(&v, &a.key, &a), -1);
	CU_ASSERT_EQUAL(v.len, 2);
	CU_ASSERT_PTR_EQUAL(sortvec_find(&v, &k), &a);
	CU_ASSERT_PTR_EQUAL(sortvec_remove(&v, &k), &a);
	CU_ASSERT_PTR_NULL(sortvec_find(&v, &k));
	/* Once it is gone the key is free. */
	CU_ASSERT_EQUAL(sortvec_insert(&v, &b.key, &b), 0);
	CU_ASSERT_PTR_EQUAL(sortvec_find(&v, &k), &b);
	CU_ASSERT_EQUAL(v.len, 2);

	/* A cleared vector is empty and usable again. */
	sortvec_clear(&v);
	CU_ASSERT_PTR_NULL(v.items);
	CU_ASSERT_EQUAL(v.len, 0);
	CU_ASSERT_PTR_NULL(sortvec_find(&v, &k));
	CU_ASSERT_EQUAL(sortvec_insert(&v, &a.key, &a), 0);
	CU_ASSERT_PTR_EQUAL(sortvec_find(&v, &k), &a);
	sortvec_clear(&v);
	sortvec_clear(&v);
	CU_ASSERT_PTR_NULL(v.items);
}

static uint32_t
next_rand(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* Thousands of items in a shuffled order: the array grows, and lookups
 * and removals stay right throughout. */
static void
test_sortvec_growth(void)
{
	enum { N = 5000 };
	struct item	*items;
	struct sortvec	 v;
	uint32_t	 seed = 0x2545f491;
	size_t		 i, j, cap_seen = 0, grew = 0;
	int		*order, tmp, k, ok;

	items = xcalloc(N, sizeof(*items));
	order = xcalloc(N, sizeof(*order));
	for (i = 0; i < N; i++) {
		items[i].key = (int)i * 3;
		items[i].tag = (int)i;
		order[i] = (int)i;
	}
	for (i = N - 1; i > 0; i--) {
		j = next_rand(&seed) % (i + 1);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	sortvec_init(&v, item_cmp);
	for (i = 0; i < N; i++) {
		CU_ASSERT_EQUAL(sortvec_insert(&v, &items[order[i]].key,
		    &items[order[i]]), 0);
		if (v.cap != cap_seen) {
			cap_seen = v.cap;
			grew++;
		}
	}
	CU_ASSERT_EQUAL_FATAL(v.len, N);
	CU_ASSERT(v.cap >= N);
	CU_ASSERT(grew > 1);
	CU_ASSERT_TRUE(is_sorted(&v));
	for (i = 0, ok = 1; i < N; i++) {
		k = (int)i * 3;
		ok &= sortvec_find(&v, &k) == &items[i];
		ok &= sortvec_lower_bound(&v, &k) == i;
		k = (int)i * 3 + 1;
		ok &= sortvec_find(&v, &k) == NULL;
		ok &= sortvec_lower_bound(&v, &k) == i + 1;
	}
	CU_ASSERT_TRUE(ok);

	/* Remove every other item, in the shuffled order. */
	for (i = 0; i < N; i++)
		if (order[i] % 2 == 0)
			CU_ASSERT_PTR_EQUAL(sortvec_remove(&v,
			    &items[order[i]].key), &items[order[i]]);
	CU_ASSERT_EQUAL_FATAL(v.len, N / 2);
	CU_ASSERT_TRUE(is_sorted(&v));
	for (i = 0, ok = 1; i < N; i++) {
		k = (int)i * 3;
		ok &= sortvec_find(&v, &k) == (i % 2 ? &items[i] : NULL);
	}
	CU_ASSERT_TRUE(ok);

	/* Empty it, then refill it. */
	for (i = 1; i < N; i += 2)
		CU_ASSERT_PTR_EQUAL(sortvec_remove(&v, &items[i].key),
		    &items[i]);
	CU_ASSERT_EQUAL(v.len, 0);
	for (i = 0; i < N; i++)
		CU_ASSERT_EQUAL(sortvec_insert(&v, &items[i].key, &items[i]),
		    0);
	CU_ASSERT_EQUAL(v.len, N);
	CU_ASSERT_TRUE(is_sorted(&v));

	sortvec_clear(&v);
	free(items);
	free(order);
}

/*
 * Deferred removals: lookups, bounds and removals step over the holes,
 * an insertion compacts first, and sortvec_compact leaves exactly the
 * items not removed, in order.  Runs of holes of every length, at the
 * ends and in the middle.
 */
static void
test_sortvec_deferred(void)
{
	enum { N = 200 };
	struct sortvec	 v;
	struct item	*items = xcalloc(N, sizeof(*items));
	int		 gone[N] = { 0 };
	size_t		 i, j;
	int		 k, ok = 1;

	sortvec_init(&v, item_cmp);
	for (i = 0; i < N; i++) {
		items[i].key = (int)i * 2;
		(void)sortvec_insert(&v, &items[i].key, &items[i]);
	}
	/* Holes: the first 10, the last 10, every third, and 50..79. */
	for (i = 0; i < N; i++)
		if (i < 10 || i >= N - 10 || i % 3 == 0 ||
		    (i >= 50 && i < 80)) {
			CU_ASSERT_PTR_EQUAL(sortvec_remove_deferred(&v,
			    &items[i].key), &items[i]);
			gone[i] = 1;
		}
	CU_ASSERT_PTR_NULL(sortvec_remove_deferred(&v, &items[0].key));
	CU_ASSERT_EQUAL(v.len, N);
	for (k = -1; k <= 2 * N; k++) {
		/* The first item left not less than k, by a walk. */
		for (j = 0; j < N && (gone[j] || items[j].key < k); j++)
			;
		i = sortvec_lower_bound(&v, &k);
		ok &= j < N ? i < v.len && v.items[i] == &items[j] :
		    i == v.len;
		for (j = 0; j < N && (gone[j] || items[j].key <= k); j++)
			;
		i = sortvec_upper_bound(&v, &k);
		ok &= j < N ? i < v.len && v.items[i] == &items[j] :
		    i == v.len;
		j = (size_t)(k / 2);
		ok &= sortvec_find(&v, &k) == (k >= 0 && k % 2 == 0 &&
		    j < N && !gone[j] ? &items[j] : NULL);
	}
	CU_ASSERT_TRUE(ok);
	/* An immediate removal among holes. */
	CU_ASSERT_PTR_EQUAL(sortvec_remove(&v, &items[11].key), &items[11]);
	gone[11] = 1;
	CU_ASSERT_PTR_NULL(sortvec_find(&v, &items[11].key));
	CU_ASSERT_PTR_EQUAL(sortvec_find(&v, &items[13].key), &items[13]);
	sortvec_compact(&v);
	for (i = 0, j = 0; i < N; i++)
		j += !gone[i];
	CU_ASSERT_EQUAL_FATAL(v.len, j);
	CU_ASSERT_TRUE(is_sorted(&v));
	for (i = 0, j = 0; i < N; i++)
		if (!gone[i])
			ok &= v.items[j++] == &items[i];
	CU_ASSERT_TRUE(ok);
	/* An insertion into a vector with holes compacts it first. */
	CU_ASSERT_PTR_EQUAL(sortvec_remove_deferred(&v, &items[100].key),
	    &items[100]);
	CU_ASSERT_EQUAL(sortvec_insert(&v, &items[0].key, &items[0]), 0);
	CU_ASSERT_EQUAL(v.len, j);
	CU_ASSERT_TRUE(is_sorted(&v));
	CU_ASSERT_PTR_NULL(sortvec_find(&v, &items[100].key));
	CU_ASSERT_PTR_EQUAL(sortvec_find(&v, &items[0].key), &items[0]);
	sortvec_clear(&v);
	free(items);
}

int
test_sortvec_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("sortvec", NULL, NULL)) == NULL)
		return -1;
	if (CU_add_test(s, "empty", test_sortvec_empty) == NULL ||
	    CU_add_test(s, "insert, find, remove", test_sortvec_order) ==
	    NULL ||
	    CU_add_test(s, "duplicates", test_sortvec_duplicates) == NULL ||
	    CU_add_test(s, "growth", test_sortvec_growth) == NULL ||
	    CU_add_test(s, "deferred removals", test_sortvec_deferred) ==
	    NULL)
		return -1;
	return 0;
}
