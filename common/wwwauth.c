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
 * The WWW-Authenticate parser (see wwwauth.h).  It reads the grammar of
 * RFC 9110 11.2 directly: an element that starts with a token followed by
 * "=" is a parameter of the current challenge, any other token starts a
 * new challenge, and a scheme's first element may be a token68 instead.
 * Nothing is allocated past the limits, so a hostile header costs at most
 * WWWAUTH_MAX_CHALLENGES * (WWWAUTH_MAX_PARAMS + 2) bounded strings.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "wwwauth.h"

struct wwwauth_cursor {
	const char	*s;
	size_t		 len;
	size_t		 pos;
};

static int
wwwauth_tchar(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
wwwauth_token68_char(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("-._~+/", c) != NULL;
}

static int
wwwauth_peek(const struct wwwauth_cursor *cur)
{
	return cur->pos < cur->len ? (unsigned char)cur->s[cur->pos] : -1;
}

static void
wwwauth_skip_ows(struct wwwauth_cursor *cur)
{
	while (wwwauth_peek(cur) == ' ' || wwwauth_peek(cur) == '\t')
		cur->pos++;
}

/* The length of the token at the cursor (0: none). */
static size_t
wwwauth_token_len(const struct wwwauth_cursor *cur, size_t at)
{
	size_t	 n = 0;

	while (at + n < cur->len && wwwauth_tchar((unsigned char)cur->s[at + n]))
		n++;
	return n;
}

/* A quoted string at the cursor, unquoted into a new string; NULL if it is
 * not one (unterminated, a control character, too long). */
static char *
wwwauth_quoted(struct wwwauth_cursor *cur)
{
	char	*out;
	size_t	 n = 0;
	int	 c;

	if (wwwauth_peek(cur) != '"')
		return NULL;
	cur->pos++;
	out = xmalloc(WWWAUTH_MAX_VALUE + 1);
	for (;;) {
		if ((c = wwwauth_peek(cur)) == -1)
			break;
		cur->pos++;
		if (c == '"') {
			out[n] = '\0';
			return out;
		}
		if (c == '\\') {
			if ((c = wwwauth_peek(cur)) == -1)
				break;
			cur->pos++;
		}
		/* qdtext and quoted-pair: HTAB, SP, VCHAR, obs-text. */
		if (c != '\t' && (c < 0x20 || c == 0x7f))
			break;
		if (n == WWWAUTH_MAX_VALUE)
			break;
		out[n++] = (char)c;
	}
	free(out);
	return NULL;
}

/*
 * An auth-param at the cursor: token BWS "=" BWS (token / quoted-string).
 * 1 with the parameter added, 0 when the text there is not one (the
 * cursor is left where it was), -1 when it is one but breaks a limit or
 * has a malformed value.
 */
static int
wwwauth_param_parse(struct wwwauth_cursor *cur, struct wwwauth_challenge *ch)
{
	struct wwwauth_cursor save = *cur;
	size_t	 nlen, vlen;
	char	*value;

	if ((nlen = wwwauth_token_len(cur, cur->pos)) == 0)
		return 0;
	cur->pos += nlen;
	wwwauth_skip_ows(cur);
	if (wwwauth_peek(cur) != '=') {
		*cur = save;
		return 0;
	}
	cur->pos++;
	wwwauth_skip_ows(cur);
	if (wwwauth_peek(cur) == '"') {
		if ((value = wwwauth_quoted(cur)) == NULL)
			return -1;
	} else {
		if ((vlen = wwwauth_token_len(cur, cur->pos)) == 0) {
			/* "abc=" or "abc==": a token68, not a parameter. */
			*cur = save;
			return 0;
		}
		if (vlen > WWWAUTH_MAX_VALUE)
			return -1;
		value = xstrndup(cur->s + cur->pos, vlen);
		cur->pos += vlen;
	}
	if (nlen > WWWAUTH_MAX_VALUE || ch->nparams == WWWAUTH_MAX_PARAMS) {
		free(value);
		return -1;
	}
	ch->params[ch->nparams].name = xstrndup(save.s + save.pos, nlen);
	ch->params[ch->nparams].value = value;
	ch->nparams++;
	return 1;
}

/* A token68 at the cursor that ends the element; 1, 0 if there is none. */
static int
wwwauth_token68_parse(struct wwwauth_cursor *cur, struct wwwauth_challenge *ch)
{
	size_t	 start = cur->pos, n = 0, end;
	int	 c;

	while (cur->pos + n < cur->len &&
	    wwwauth_token68_char((unsigned char)cur->s[cur->pos + n]))
		n++;
	if (n == 0)
		return 0;
	while (cur->pos + n < cur->len && cur->s[cur->pos + n] == '=')
		n++;
	end = cur->pos + n;
	cur->pos = end;
	wwwauth_skip_ows(cur);
	if ((c = wwwauth_peek(cur)) != -1 && c != ',') {
		cur->pos = start;
		return 0;
	}
	if (n > WWWAUTH_MAX_VALUE)
		return -1;
	ch->token68 = xstrndup(cur->s + start, end - start);
	return 1;
}

/* Skips OWS and empty list elements: 1 when a comma was seen. */
static int
wwwauth_skip_separators(struct wwwauth_cursor *cur)
{
	int	 comma = 0;

	for (;;) {
		wwwauth_skip_ows(cur);
		if (wwwauth_peek(cur) != ',')
			return comma;
		comma = 1;
		cur->pos++;
	}
}

static void
wwwauth_challenge_clear(struct wwwauth_challenge *ch)
{
	size_t	 i;

	free(ch->scheme);
	free(ch->token68);
	for (i = 0; i < ch->nparams; i++) {
		free(ch->params[i].name);
		free(ch->params[i].value);
	}
	memset(ch, 0, sizeof(*ch));
}

void
wwwauth_init(struct wwwauth *w)
{
	memset(w, 0, sizeof(*w));
}

void
wwwauth_clear(struct wwwauth *w)
{
	size_t	 i;

	for (i = 0; i < w->n; i++)
		wwwauth_challenge_clear(&w->c[i]);
	w->n = 0;
}

int
wwwauth_parse(struct wwwauth *w, const char *s, size_t len)
{
	struct wwwauth_cursor	 cur = { s, len, 0 };
	struct wwwauth_challenge *ch;
	size_t			 slen;
	int			 rc, c;

	for (;;) {
		(void)wwwauth_skip_separators(&cur);
		if (wwwauth_peek(&cur) == -1)
			return 0;
		if ((slen = wwwauth_token_len(&cur, cur.pos)) == 0 ||
		    slen > WWWAUTH_MAX_VALUE || w->n == WWWAUTH_MAX_CHALLENGES)
			return -1;
		ch = &w->c[w->n++];
		ch->scheme = xstrndup(s + cur.pos, slen);
		cur.pos += slen;
		c = wwwauth_peek(&cur);
		if (c == -1)
			return 0;
		if (c == ',')
			continue;
		if (c != ' ')
			return -1;
		wwwauth_skip_ows(&cur);
		/* The first element: a parameter, a token68, or nothing. */
		if ((rc = wwwauth_param_parse(&cur, ch)) == -1)
			return -1;
		if (rc == 0 && wwwauth_peek(&cur) != ',' &&
		    wwwauth_peek(&cur) != -1) {
			if ((rc = wwwauth_token68_parse(&cur, ch)) != 1)
				return -1;
			continue;
		}
		/* More parameters, until a token that is not one. */
		for (;;) {
			wwwauth_skip_ows(&cur);
			if (wwwauth_peek(&cur) == -1)
				return 0;
			if (!wwwauth_skip_separators(&cur))
				return -1;
			if (wwwauth_peek(&cur) == -1)
				return 0;
			if ((rc = wwwauth_param_parse(&cur, ch)) == -1)
				return -1;
			if (rc == 0)
				break;
		}
	}
}

const struct wwwauth_challenge *
wwwauth_find(const struct wwwauth *w, const char *scheme)
{
	size_t	 i;

	for (i = 0; i < w->n; i++)
		if (strcasecmp(w->c[i].scheme, scheme) == 0)
			return &w->c[i];
	return NULL;
}

const char *
wwwauth_param(const struct wwwauth_challenge *ch, const char *name)
{
	size_t	 i;

	for (i = 0; i < ch->nparams; i++)
		if (strcasecmp(ch->params[i].name, name) == 0)
			return ch->params[i].value;
	return NULL;
}
