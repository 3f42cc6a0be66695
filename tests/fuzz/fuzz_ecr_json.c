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
 * ECR request decoding: a body as berthd reads it (strict JSON with a
 * nesting limit) validated against the input shape of the operation the
 * first byte picks.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 ready;
	const struct ecr_operation *op;
	struct json_object *in;
	const char	*exc;
	char		 msg[4096], *text;

	if (!ready) {
		log_init("fuzz", LOG_LVL_WARN);
		if (ecr_validate_init() == -1)
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	op = &ecr_operations[data[0] % ecr_noperations];
	/* json_parse_strict reads a NUL-terminated body, as the HTTP layer
	 * hands it over. */
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if ((in = json_parse_strict(text, size - 1, 32)) != NULL) {
		(void)ecr_validate(op, in, &exc, msg, sizeof(msg));
		(void)ecr_validate(op, in, &exc, msg, 64);
		json_object_put(in);
	}
	free(text);
	return 0;
}
