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
 * The SigV4 header parser, and the whole check with verification on: the
 * input is split at newlines into the Authorization header, X-Amz-Date,
 * X-Amz-Content-Sha256, the signed headers' values and the body.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "berthd.h"
#include "ecr.h"
#include "log.h"

struct berthd_config	 conf;

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NFIELDS	6

static const char *const names[NFIELDS] = { "Authorization", "X-Amz-Date",
    "X-Amz-Content-Sha256", "Host", "Content-Type", "Date" };

static size_t
fuzz_headers(void *arg, const char *name, const char **vals, size_t max)
{
	char	**f = arg;
	size_t	 i;

	for (i = 0; i < NFIELDS; i++)
		if (f[i] != NULL && strcasecmp(names[i], name) == 0) {
			if (max > 0)
				vals[0] = f[i];
			return 1;
		}
	return 0;
}

static void
fuzz_init(void)
{
	char	 path[] = "/tmp/berth-fuzz-sigv4.XXXXXX";
	int	 fd;

	log_init("fuzz", LOG_LVL_WARN);
	strcpy(conf.account_id, DEFAULT_ACCOUNT);
	strcpy(conf.region, DEFAULT_REGION);
	if ((fd = mkstemp(path)) == -1)
		abort();
	dprintf(fd, "AKIDEXAMPLE secret\n123456789012 s2 210987654321\n");
	close(fd);
	if (sigv4_credentials_load(path) == -1)
		abort();
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 ready;
	struct sigv4_request r;
	struct sigv4_identity id;
	struct sigv4_auth a;
	const char	*exc;
	char		*buf, *f[NFIELDS], *p, why[512], msg[1024];
	size_t		 i;

	if (!ready) {
		fuzz_init();
		ready = 1;
	}
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	(void)sigv4_parse(buf, &a, why, sizeof(why));
	memset(f, 0, sizeof(f));
	p = buf;
	for (i = 0; i < NFIELDS && p != NULL; i++) {
		f[i] = p;
		if ((p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.path = "/";
	r.query = NULL;
	r.headers = fuzz_headers;
	r.arg = f;
	r.body = p != NULL ? p : "";
	r.body_len = p != NULL ? strlen(p) : 0;
	(void)sigv4_check(&r, 1736944245, &id, &exc, msg, sizeof(msg));
	free(buf);
	return 0;
}
