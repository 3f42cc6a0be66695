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
 * What every mechanism shares: no_new_privs first (Landlock and seccomp
 * both require it of an unprivileged process), then each mechanism in
 * turn, and one line in the log saying what the process is confined to.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include "log.h"
#include "sandbox.h"

void
sandbox_no_new_privs(void)
{
#if defined(HAVE_SYS_PRCTL_H) && defined(PR_SET_NO_NEW_PRIVS)
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_NO_NEW_PRIVS)");
#endif
}

int
sandbox_apply(const struct sandbox_policy *p)
{
	const char	*ll = NULL, *sc = NULL;
	int		 rl, rs;

	sandbox_no_new_privs();
	/* Landlock first: the seccomp filter must not stand in its way. */
	if ((rl = sandbox_landlock(p, &ll)) == -1)
		return -1;
	rs = 0;
	if (p->deny_sockets && (rs = sandbox_seccomp(p, &sc)) == -1)
		return -1;
	if (rl == 1 || rs == 1)
		log_info("sandbox: %s%s%s", rl == 1 ? ll : "",
		    rl == 1 && rs == 1 ? "; " : "", rs == 1 ? sc : "");
	return 0;
}
