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
 * WWW-Authenticate, as registries send it (RFC 9110 11.6.1, 11.2): one or
 * more challenges, each an auth scheme followed by a token68 or by
 * comma-separated parameters whose values are tokens or quoted strings.
 * Registries use it for the Docker/OCI token flow (`Bearer realm="...",
 * service="...",scope="..."`) and for Basic auth.  The header comes from
 * an upstream registry, so the parser expects anything: every string it
 * returns is bounded, NUL-free and owned by the result.
 */
#ifndef BERTH_WWWAUTH_H
#define BERTH_WWWAUTH_H

#include <stddef.h>

#define WWWAUTH_MAX_CHALLENGES	8
#define WWWAUTH_MAX_PARAMS	16
/* A scheme, parameter name or value longer than this refuses the header. */
#define WWWAUTH_MAX_VALUE	2048

struct wwwauth_param {
	char	*name;			/* as sent; compared case-insensitively */
	char	*value;			/* unquoted */
};

struct wwwauth_challenge {
	char			*scheme;
	char			*token68;	/* NULL unless the form was one */
	struct wwwauth_param	 params[WWWAUTH_MAX_PARAMS];
	size_t			 nparams;
};

struct wwwauth {
	struct wwwauth_challenge c[WWWAUTH_MAX_CHALLENGES];
	size_t			 n;
};

void	wwwauth_init(struct wwwauth *);
void	wwwauth_clear(struct wwwauth *);
/*
 * Adds the challenges of one header value (a response may carry several
 * headers).  0, or -1 when the value does not follow the grammar or goes
 * past the limits above; the challenges parsed before it are kept.
 */
int	wwwauth_parse(struct wwwauth *, const char *, size_t);
/* The first challenge of that scheme (case-insensitive), or NULL. */
const struct wwwauth_challenge *wwwauth_find(const struct wwwauth *,
	    const char *scheme);
/* The value of a parameter (name case-insensitive), or NULL. */
const char *wwwauth_param(const struct wwwauth_challenge *, const char *name);

#endif
