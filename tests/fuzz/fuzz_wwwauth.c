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
 * The WWW-Authenticate parser on arbitrary headers.  Beyond not crashing,
 * what it accepts must mean one thing: the challenges it found, written
 * back in canonical form (values quoted), parse again to the same
 * challenges, and every string it returns is NUL-free and within limits.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wwwauth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
fuzz_put(char *out, size_t off, size_t max, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (off + 2 >= max)
			abort();
		if (quote && (*s == '"' || *s == '\\'))
			out[off++] = '\\';
		out[off++] = *s;
	}
	return off;
}

static size_t
fuzz_format(const struct wwwauth *w, char *out, size_t max)
{
	size_t	 off = 0, i, k;

	for (i = 0; i < w->n; i++) {
		const struct wwwauth_challenge *ch = &w->c[i];
		if (i > 0)
			off = fuzz_put(out, off, max, ", ", 0);
		off = fuzz_put(out, off, max, ch->scheme, 0);
		if (ch->token68 != NULL) {
			off = fuzz_put(out, off, max, " ", 0);
			off = fuzz_put(out, off, max, ch->token68, 0);
		}
		for (k = 0; k < ch->nparams; k++) {
			off = fuzz_put(out, off, max, k == 0 ? " " : ",", 0);
			off = fuzz_put(out, off, max, ch->params[k].name, 0);
			off = fuzz_put(out, off, max, "=\"", 0);
			off = fuzz_put(out, off, max, ch->params[k].value, 1);
			off = fuzz_put(out, off, max, "\"", 0);
		}
	}
	return off;
}

static void
fuzz_same(const struct wwwauth *a, const struct wwwauth *b)
{
	size_t	 i, k;

	if (a->n != b->n)
		abort();
	for (i = 0; i < a->n; i++) {
		const struct wwwauth_challenge *x = &a->c[i], *y = &b->c[i];
		if (strcmp(x->scheme, y->scheme) != 0 ||
		    (x->token68 == NULL) != (y->token68 == NULL) ||
		    (x->token68 != NULL && strcmp(x->token68, y->token68)) ||
		    x->nparams != y->nparams)
			abort();
		for (k = 0; k < x->nparams; k++)
			if (strcmp(x->params[k].name, y->params[k].name) != 0 ||
			    strcmp(x->params[k].value, y->params[k].value) != 0)
				abort();
		if (strlen(x->scheme) > WWWAUTH_MAX_VALUE)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wwwauth	 w, again;
	char		*out;
	size_t		 max, len;

	log_init("fuzz", LOG_LVL_WARN);
	wwwauth_init(&w);
	wwwauth_init(&again);
	if (wwwauth_parse(&w, (const char *)data, size) == 0) {
		/* Every character may double when quoted, plus the syntax. */
		max = 2 * size + 16 * WWWAUTH_MAX_CHALLENGES *
		    (WWWAUTH_MAX_PARAMS + 1) + 16;
		if ((out = malloc(max)) == NULL)
			abort();
		len = fuzz_format(&w, out, max);
		if (wwwauth_parse(&again, out, len) != 0)
			abort();
		fuzz_same(&w, &again);
		free(out);
	}
	wwwauth_clear(&w);
	wwwauth_clear(&again);
	return 0;
}
