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
 * A sorted array of pointers: O(log n) lookup, ordered iteration for
 * paginated listings, O(n) insertion (a memmove, cheap at registry sizes).
 * The comparator compares a search key with an item.
 *
 * Many removals from a large array (a lifecycle run expiring thousands of
 * images of one repository) can be deferred: sortvec_remove_deferred
 * leaves a hole that lookups step over, and sortvec_compact closes all
 * holes in one pass.  While a vector has holes, its items and len are not
 * to be read directly (only through the functions below); an insertion
 * compacts it first.
 */
#ifndef BERTH_SORTVEC_H
#define BERTH_SORTVEC_H

#include <stddef.h>

typedef int (*sortvec_cmp)(const void *key, const void *item);

struct sortvec {
	void		**items;
	size_t		  len;
	size_t		  cap;
	sortvec_cmp	  cmp;
	size_t		  nholes;	/* deferred removals */
};

void	 sortvec_init(struct sortvec *, sortvec_cmp);
/* Frees the array, not the items. */
void	 sortvec_clear(struct sortvec *);
void	*sortvec_find(const struct sortvec *, const void *key);
/* Index of the first item not less than key (len if none). */
size_t	 sortvec_lower_bound(const struct sortvec *, const void *key);
/* Index of the first item greater than key (len if none). */
size_t	 sortvec_upper_bound(const struct sortvec *, const void *key);
/* 0, or -1 if an item with that key exists already. */
int	 sortvec_insert(struct sortvec *, const void *key, void *item);
/* The removed item, or NULL. */
void	*sortvec_remove(struct sortvec *, const void *key);
/* The same, the array left with a hole until sortvec_compact. */
void	*sortvec_remove_deferred(struct sortvec *, const void *key);
void	 sortvec_compact(struct sortvec *);

#endif
