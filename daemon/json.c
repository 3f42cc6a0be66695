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
 * deep it nests, so that a hostile document costs little.  The text must
 * be UTF-8 (RFC 8259 section 8.1), checked by berth itself since json-c's
 * check lets overlong forms and surrogates through.  json-c keeps member
 * names as C strings, so a name with an escaped NUL would be read cut
 * short, as another member: such a text is refused too.  A string value
 * keeps its length; json_has_nul() finds the NULs in those.
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "utf8.h"

static int
json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Whether a member name of the valid JSON text t holds "\u0000": a string
 * is a member name when a colon follows it.  An escaped backslash is
 * skipped whole, so "\\u0000" is not a NUL.
 */
static int
json_name_has_nul(const char *t, size_t len)
{
	size_t	 i = 0;
	int	 nul;

	while (i < len) {
		if (t[i++] != '"')
			continue;
		for (nul = 0; i < len && t[i] != '"'; i++) {
			if (t[i] != '\\')
				continue;
			if (len - i >= 6 && memcmp(t + i + 1, "u0000", 5) == 0)
				nul = 1;
			i++;
		}
		for (i++; i < len && json_space(t[i]); i++)
			;
		if (nul && i < len && t[i] == ':')
			return 1;
	}
	return 0;
}

struct json_object *
json_parse_strict(const char *text, size_t len, int depth, const char **why)
{
	struct json_tokener *tok;
	struct json_object *obj;
	const char	*dummy;
	size_t		 off;

	if (why == NULL)
		why = &dummy;
	if (!utf8_valid(text, len)) {
		*why = "it is not valid UTF-8";
		return NULL;
	}
	*why = "it is not valid JSON";
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
		if (!json_space(text[off])) {
			json_object_put(obj);
			return NULL;
		}
	if (json_name_has_nul(text, len)) {
		*why = "a member name holds a NUL character (\\u0000)";
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

int
json_has_nul(struct json_object *o)
{
	struct json_object_iterator it, end;
	size_t		 i, n;

	switch (json_object_get_type(o)) {
	case json_type_string:
		return memchr(json_object_get_string(o), '\0',
		    (size_t)json_object_get_string_len(o)) != NULL;
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (json_has_nul(json_object_array_get_idx(o, i)))
				return 1;
		return 0;
	case json_type_object:
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		for (; !json_object_iter_equal(&it, &end);
		    json_object_iter_next(&it))
			if (json_has_nul(json_object_iter_peek_value(&it)))
				return 1;
		return 0;
	default:
		return 0;
	}
}
