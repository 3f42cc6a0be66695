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
 * JSON as berthd reads it from clients (the ECR request envelope,
 * manifests, repository policies): exactly one value, strictly (json-c's
 * strict mode, no trailing garbage but white space), with a limit on how
 * deep it nests, so that a hostile document costs little.
 */
#include "config.h"

#include <json-c/json.h>

#include "berthd.h"

struct json_object *
json_parse_strict(const char *text, size_t len, int depth)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t		 off;

	if ((tok = json_tokener_new_ex(depth)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (obj == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		json_tokener_free(tok);
		return NULL;
	}
	off = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; off < len; off++)
		if (text[off] != ' ' && text[off] != '\t' &&
		    text[off] != '\n' && text[off] != '\r') {
			json_object_put(obj);
			return NULL;
		}
	return obj;
}
