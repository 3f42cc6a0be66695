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
 * Input validation from the AWS model's tables (ecr_model.c): JSON types,
 * required members, lengths, ranges, list sizes, enums and patterns.
 *
 * What ECR answers for a constraint violation.  The classic operations
 * answer InvalidParameterException naming the first offending member, as
 * real ECR has long been seen to do, e.g.
 *   Invalid parameter at 'imageIds' failed to satisfy constraint:
 *   'Member must have length less than or equal to 100'
 *   (github.com/trek10inc/ecr-cleaner issue 8, from the service),
 *   Invalid parameter at 'maxResults' failed to satisfy constraint:
 *   'Member must have value less than or equal to 1000'
 *   (renovatebot/renovate issue 3800, ECR's /v2/ relaying the same check),
 *   Invalid parameter at 'repositoryName' failed to satisfy constraint:
 *   'must satisfy regular expression '<pattern>''.
 * The operations whose error list in the model names ValidationException
 * (the newer ones) answer it in the generic AWS form, every violation
 * counted: "2 validation errors detected: Value 'x' at 'a' failed to
 * satisfy constraint: Member must ...; Value ...".  Members are named by
 * their path as AWS does: 'imageIds.1.member.imageTag' for a member of
 * the first element of a list.
 *
 * A JSON value of the wrong type never reaches the constraints in AWS: the
 * request does not deserialize, and the answer is SerializationException.
 */
#include "config.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "berthd.h"
#include "ecr.h"
#include "log.h"
#include "utf8.h"
#include "util.h"

#define VALIDATE_DEPTH		16
#define VALUE_SHOWN_MAX		200

static regex_t	*ecr_regex;	/* per shape; compiled when it has a pattern */
static uint8_t	*ecr_regex_ok;

/* --- patterns ------------------------------------------------------------ */

struct ere {
	char	*s;
	size_t	 len, cap;
};

static void
ere_put(struct ere *e, const char *s)
{
	size_t	 n = strlen(s);

	if (e->len + n + 1 > e->cap) {
		e->cap = (e->len + n + 1) * 2;
		e->s = xreallocarray(e->s, e->cap, 1);
	}
	memcpy(e->s + e->len, s, n + 1);
	e->len += n;
}

static void
ere_putc(struct ere *e, char c)
{
	char	 s[2] = { c, '\0' };

	ere_put(e, s);
}

/* The characters of a bracket expression, as a 256-entry set. */
static int
bracket_parse(const char **pp, uint8_t set[256], int *negate)
{
	const char	*p = *pp;
	int		 c, i;

	*negate = 0;
	if (*p == '^') {
		*negate = 1;
		p++;
	}
	if (*p == ']')
		return -1;
	while (*p != ']') {
		if (*p == '\0')
			return -1;
		if (*p == '\\') {
			p++;
			switch (*p) {
			case 'w':
				for (i = 0; i < 256; i++)
					if ((i >= 'a' && i <= 'z') ||
					    (i >= 'A' && i <= 'Z') ||
					    (i >= '0' && i <= '9') || i == '_')
						set[i] = 1;
				p++;
				continue;
			case 'd':
				for (i = '0'; i <= '9'; i++)
					set[i] = 1;
				p++;
				continue;
			case '\0':
				return -1;
			default:
				if ((*p >= 'a' && *p <= 'z') ||
				    (*p >= 'A' && *p <= 'Z') ||
				    (*p >= '0' && *p <= '9'))
					/* \S, \n ...: unknown */
					return -1;
				c = (unsigned char)*p++;
				break;
			}
		} else
			c = (unsigned char)*p++;
		/* Java: "x-y" is a range unless '-' ends the class; a '-'
		 * right after a range or at the start is itself. */
		if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
			int hi;
			p++;
			if (*p == '\\') {
				p++;
				if (*p == '\0')
					return -1;
			}
			hi = (unsigned char)*p++;
			if (hi < c)
				return -1;
			for (i = c; i <= hi; i++)
				set[i] = 1;
			continue;
		}
		set[c] = 1;
	}
	*pp = p + 1;
	return 0;
}

static int
char_class(int c)
{
	if (c >= '0' && c <= '9')
		return 1;
	if (c >= 'A' && c <= 'Z')
		return 2;
	if (c >= 'a' && c <= 'z')
		return 3;
	return 0;
}

static void
bracket_emit(struct ere *e, const uint8_t set[256], int negate)
{
	int	 i, j;

	ere_putc(e, '[');
	if (negate)
		ere_putc(e, '^');
	if (set[']'])
		ere_putc(e, ']');
	for (i = 1; i < 256; i++) {
		if (!set[i] || i == ']' || i == '-' || i == '^')
			continue;
		/* Ranges only within digits or letters of one case: clear
		 * to read, and the same in every locale. */
		for (j = i; j + 1 < 256 && set[j + 1] &&
		    char_class(j + 1) != 0 && char_class(j + 1) ==
		    char_class(i); j++)
			;
		ere_putc(e, (char)i);
		if (j > i + 1)
			ere_putc(e, '-');
		if (j > i)
			ere_putc(e, (char)j);
		i = j;
	}
	if (set['^'])
		ere_putc(e, '^');
	if (set['-'])
		ere_putc(e, '-');
	ere_putc(e, ']');
}

char *
ecr_pattern_to_ere(const char *pat)
{
	struct ere	 e = { NULL, 0, 0 };
	uint8_t		 set[256];
	const char	*p = pat;
	int		 negate;

	ere_put(&e, "^(");
	while (*p != '\0') {
		switch (*p) {
		case '\\':
			p++;
			switch (*p) {
			case 'w':
				ere_put(&e, "[0-9A-Za-z_]");
				break;
			case 'W':
				ere_put(&e, "[^0-9A-Za-z_]");
				break;
			case 'd':
				ere_put(&e, "[0-9]");
				break;
			case 'D':
				ere_put(&e, "[^0-9]");
				break;
			case 's':
				ere_put(&e, "[[:space:]]");
				break;
			case 'S':
				ere_put(&e, "[^[:space:]]");
				break;
			case '\0':
				goto bad;
			default:
				if ((*p >= 'a' && *p <= 'z') ||
				    (*p >= 'A' && *p <= 'Z') ||
				    (*p >= '0' && *p <= '9'))
					goto bad;
				if (strchr(".[]()*+?{}|^$\\", *p) != NULL)
					ere_putc(&e, '\\');
				ere_putc(&e, *p);
				break;
			}
			p++;
			break;
		case '(':
			if (p[1] == '?') {
				if (p[2] != ':')
					goto bad;	/* lookaround etc. */
				p += 2;
			}
			ere_putc(&e, '(');
			p++;
			break;
		case '[':
			p++;
			memset(set, 0, sizeof(set));
			if (bracket_parse(&p, set, &negate) == -1)
				goto bad;
			bracket_emit(&e, set, negate);
			break;
		default:
			ere_putc(&e, *p++);
			break;
		}
	}
	ere_put(&e, ")$");
	return e.s;
bad:
	free(e.s);
	return NULL;
}

/* Compiles shape i's pattern; 0, or -1 (logged) if it does not. */
static int
ecr_regex_compile(size_t i)
{
	char	*ere;
	int	 rc;

	if (ecr_regex == NULL) {
		ecr_regex = xcalloc(ecr_nshapes, sizeof(*ecr_regex));
		ecr_regex_ok = xcalloc(ecr_nshapes, 1);
	}
	if (ecr_regex_ok[i])
		return 0;
	if ((ere = ecr_pattern_to_ere(ecr_shapes[i].pattern)) == NULL) {
		log_warnx("ECR model: pattern of %s does not translate",
		    ecr_shapes[i].name);
		return -1;
	}
	rc = regcomp(&ecr_regex[i], ere, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		log_warnx("ECR model: pattern of %s (%s) does not compile",
		    ecr_shapes[i].name, ere);
		free(ere);
		return -1;
	}
	free(ere);
	ecr_regex_ok[i] = 1;
	return 0;
}

int
ecr_validate_init(void)
{
	size_t	 i;

	for (i = 0; i < ecr_nshapes; i++)
		if (ecr_shapes[i].pattern != NULL &&
		    ecr_regex_compile(i) == -1)
			return -1;
	return 0;
}

int
ecr_pattern_match(int shape, const char *s, size_t len)
{
	if (shape < 0 || (size_t)shape >= ecr_nshapes ||
	    ecr_shapes[shape].pattern == NULL)
		return 1;
	/* Compiled at first use: the unit tests compile them all. */
	if (ecr_regex_compile((size_t)shape) == -1)
		fatalx("ECR model patterns do not compile");
	if (memchr(s, '\0', len) != NULL)
		return 0;
	return regexec(&ecr_regex[shape], s, 0, NULL, 0) == 0;
}

static int
operation_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct ecr_operation *)item)->name);
}

const struct ecr_operation *
ecr_operation_find(const char *name, size_t len)
{
	char	 buf[128];

	if (len == 0 || len >= sizeof(buf) || memchr(name, '\0', len) != NULL)
		return NULL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return bsearch(buf, ecr_operations, ecr_noperations,
	    sizeof(ecr_operations[0]), operation_cmp);
}

/* --- validation ---------------------------------------------------------- */

struct vctx {
	int		 generic;	/* ValidationException form */
	int		 count;
	int		 serialization;
	char		*msg;
	size_t		 msgsz;
	size_t		 used;
	char		 path[512];
};

static void __attribute__((format(printf, 2, 3)))
vctx_append(struct vctx *v, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (v->used >= v->msgsz)
		return;
	va_start(ap, fmt);
	n = vsnprintf(v->msg + v->used, v->msgsz - v->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		v->used += (size_t)n;
	if (v->used >= v->msgsz)
		v->used = v->msgsz;
}

/* How AWS shows the value: 'text', a number, null, or [a, b] for lists. */
static void
value_text(struct json_object *o, char *out, size_t outsz)
{
	size_t	 i, n, used;

	if (o == NULL) {
		snprintf(out, outsz, "null");
		return;
	}
	switch (json_object_get_type(o)) {
	case json_type_string:
		snprintf(out, outsz, "'%.*s%s'", VALUE_SHOWN_MAX,
		    json_object_get_string(o),
		    json_object_get_string_len(o) > VALUE_SHOWN_MAX ?
		    "..." : "");
		return;
	case json_type_array:
		n = json_object_array_length(o);
		used = (size_t)snprintf(out, outsz, "'[");
		for (i = 0; i < n && used + 8 < outsz; i++) {
			struct json_object *e = json_object_array_get_idx(o, i);
			const char *s = e == NULL ? "null" :
			    json_object_is_type(e, json_type_string) ?
			    json_object_get_string(e) :
			    json_object_to_json_string_ext(e,
			    JSON_C_TO_STRING_PLAIN);
			used += (size_t)snprintf(out + used, outsz - used,
			    "%s%.*s", i > 0 ? ", " : "", 64, s);
		}
		if (used < outsz)
			snprintf(out + used, outsz - used, "%s]'",
			    i < n ? ", ..." : "");
		return;
	default:
		snprintf(out, outsz, "'%.*s'", VALUE_SHOWN_MAX,
		    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		return;
	}
}

static void __attribute__((format(printf, 3, 4)))
violation(struct vctx *v, struct json_object *o, const char *fmt, ...)
{
	char	 constraint[1024], value[VALUE_SHOWN_MAX + 80];
	va_list	 ap;

	v->count++;
	if (!v->generic && v->count > 1)
		return;
	va_start(ap, fmt);
	vsnprintf(constraint, sizeof(constraint), fmt, ap);
	va_end(ap);
	if (!v->generic) {
		vctx_append(v, "Invalid parameter at '%s' failed to satisfy "
		    "constraint: '%s'", v->path, constraint);
		return;
	}
	value_text(o, value, sizeof(value));
	vctx_append(v, "%sValue %s at '%s' failed to satisfy constraint: %s",
	    v->count > 1 ? "; " : "", value, v->path, constraint);
}

static void __attribute__((format(printf, 2, 3)))
serialization(struct vctx *v, const char *fmt, ...)
{
	va_list	 ap;

	if (v->serialization)
		return;
	v->serialization = 1;
	va_start(ap, fmt);
	vsnprintf(v->msg, v->msgsz, fmt, ap);
	va_end(ap);
}

/* Decoded size of a base64 text (validity is the operation's business). */
static long long
base64_length(const char *s, size_t len)
{
	size_t	 pad = 0;

	while (len > 0 && pad < 2 && s[len - 1] == '=') {
		len--;
		pad++;
	}
	return (long long)(len * 3 / 4);
}

static const char *
json_kind(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_boolean:
		return "BOOLEAN_VALUE";
	case json_type_double:
	case json_type_int:
		return "NUMBER_VALUE";
	case json_type_string:
		return "STRING_VALUE";
	default:
		return "VALUE";
	}
}

static const char *
type_name(enum ecr_type t)
{
	switch (t) {
	case ECR_T_STRING:
		return "String";
	case ECR_T_INTEGER:
		return "Integer";
	case ECR_T_LONG:
		return "Long";
	case ECR_T_BOOLEAN:
		return "Boolean";
	case ECR_T_BLOB:
		return "ByteBuffer";
	case ECR_T_TIMESTAMP:
		return "Date";
	case ECR_T_DOUBLE:
		return "Double";
	default:
		return "Object";
	}
}

/* The JSON value has the shape's type; else a SerializationException. */
static int
check_type(struct vctx *v, const struct ecr_shape *sh, struct json_object *o)
{
	enum json_type	 jt = json_object_get_type(o);
	int		 ok;

	switch (sh->type) {
	case ECR_T_STRING:
	case ECR_T_BLOB:
		ok = jt == json_type_string;
		break;
	case ECR_T_INTEGER:
		ok = jt == json_type_int &&
		    json_object_get_int64(o) >= INT32_MIN &&
		    json_object_get_int64(o) <= INT32_MAX;
		break;
	case ECR_T_LONG:
		ok = jt == json_type_int;
		break;
	case ECR_T_BOOLEAN:
		ok = jt == json_type_boolean;
		break;
	case ECR_T_TIMESTAMP:
	case ECR_T_DOUBLE:
		ok = jt == json_type_int || jt == json_type_double;
		break;
	case ECR_T_LIST:
		ok = jt == json_type_array;
		break;
	case ECR_T_MAP:
	case ECR_T_STRUCTURE:
	default:
		ok = jt == json_type_object;
		break;
	}
	if (ok)
		return 0;
	/* The words of AWS's JSON deserializer. */
	if (jt == json_type_object)
		serialization(v, "Start of structure or map found where not "
		    "expected.");
	else if (jt == json_type_array)
		serialization(v, "Start of list found where not expected");
	else if (sh->type == ECR_T_LIST)
		serialization(v, "Expected list or null");
	else if (sh->type == ECR_T_STRUCTURE || sh->type == ECR_T_MAP)
		serialization(v, "Expected structure or map or null");
	else if (jt == json_type_int && (sh->type == ECR_T_INTEGER))
		serialization(v, "Numeric value (%s) out of range of int",
		    json_object_get_string(o));
	else
		serialization(v, "%s can not be converted to %s",
		    json_kind(o), type_name(sh->type));
	return -1;
}

static void	validate_value(struct vctx *, int shape, struct json_object *,
		    int depth);

static void
validate_structure(struct vctx *v, const struct ecr_shape *sh,
    struct json_object *o, int depth)
{
	struct json_object *mv;
	size_t		 i, plen = strlen(v->path);

	for (i = 0; i < sh->nmembers; i++) {
		const struct ecr_member *m = &sh->members[i];
		if (!json_object_object_get_ex(o, m->name, &mv))
			mv = NULL;
		snprintf(v->path + plen, sizeof(v->path) - plen, "%s%s",
		    plen > 0 ? "." : "", m->name);
		if (mv == NULL) {
			if (m->required)
				violation(v, NULL, "Member must not be null");
		} else
			validate_value(v, m->shape, mv, depth + 1);
		v->path[plen] = '\0';
		if (v->serialization)
			return;
	}
}

static void
enum_text(const struct ecr_shape *sh, char *out, size_t outsz)
{
	size_t	 i, used = 0;

	used += (size_t)snprintf(out, outsz, "[");
	for (i = 0; i < sh->nenums && used < outsz; i++)
		used += (size_t)snprintf(out + used, outsz - used, "%s%s",
		    i > 0 ? ", " : "", sh->enums[i]);
	if (used < outsz)
		snprintf(out + used, outsz - used, "]");
}

/* Tag keys and values: their operations refuse NUL with AWS's own
 * exception (InvalidTagParameterException) among the characters tags may
 * not hold. */
static int
chars_checked_by_operation(const struct ecr_shape *sh)
{
	return strcmp(sh->name, "TagKey") == 0 ||
	    strcmp(sh->name, "TagValue") == 0;
}

static void
validate_string(struct vctx *v, int shape, const struct ecr_shape *sh,
    struct json_object *o)
{
	const char	*s = json_object_get_string(o);
	size_t		 len = (size_t)json_object_get_string_len(o), i;
	long long	 n;
	char		 set[600];

	n = sh->type == ECR_T_BLOB ? base64_length(s, len) :
	    (long long)utf8_length(s, len);
	if (sh->has_min && n < sh->min)
		violation(v, o, "Member must have length greater than or "
		    "equal to %lld", sh->min);
	if (sh->has_max && n > sh->max)
		violation(v, o, "Member must have length less than or equal "
		    "to %lld", sh->max);
	if (sh->nenums > 0) {
		for (i = 0; i < sh->nenums; i++)
			if (strlen(sh->enums[i]) == len &&
			    memcmp(sh->enums[i], s, len) == 0)
				break;
		if (i == sh->nenums) {
			enum_text(sh, set, sizeof(set));
			violation(v, o, "Member must satisfy enum value set: "
			    "%s", set);
		}
	}
	if (sh->pattern != NULL && !ecr_pattern_match(shape, s, len)) {
		if (v->generic)
			violation(v, o, "Member must satisfy regular "
			    "expression pattern: %s", sh->pattern);
		else
			violation(v, o, "must satisfy regular expression '%s'",
			    sh->pattern);
	}	/* No pattern to fail: a NUL would cut the value short wherever it
	 * is used as a C string, and AWS accepts no NUL in any of them. */
	else if (sh->type == ECR_T_STRING && memchr(s, '\0', len) != NULL &&
	    !chars_checked_by_operation(sh))
		violation(v, o, v->generic ? "Member must not contain the NUL "
		    "character" : "must not contain the NUL character");
}

static void
validate_value(struct vctx *v, int shape, struct json_object *o, int depth)
{
	const struct ecr_shape *sh = &ecr_shapes[shape];
	size_t		 i, n, plen;
	long long	 x;

	if (o == NULL)
		return;		/* null is absent */
	if (depth > VALIDATE_DEPTH) {
		serialization(v, "Request nesting too deep");
		return;
	}
	if (check_type(v, sh, o) == -1)
		return;
	switch (sh->type) {
	case ECR_T_STRING:
	case ECR_T_BLOB:
		validate_string(v, shape, sh, o);
		break;
	case ECR_T_INTEGER:
	case ECR_T_LONG:
		x = (long long)json_object_get_int64(o);
		if (sh->has_min && x < sh->min)
			violation(v, o, "Member must have value greater than "
			    "or equal to %lld", sh->min);
		if (sh->has_max && x > sh->max)
			violation(v, o, "Member must have value less than or "
			    "equal to %lld", sh->max);
		break;
	case ECR_T_LIST:
		n = json_object_array_length(o);
		if (sh->has_min && (long long)n < sh->min)
			violation(v, o, "Member must have length greater than "
			    "or equal to %lld", sh->min);
		if (sh->has_max && (long long)n > sh->max)
			violation(v, o, "Member must have length less than or "
			    "equal to %lld", sh->max);
		plen = strlen(v->path);
		for (i = 0; i < n && !v->serialization; i++) {
			snprintf(v->path + plen, sizeof(v->path) - plen,
			    ".%zu.member", i + 1);
			validate_value(v, sh->member,
			    json_object_array_get_idx(o, i), depth + 1);
		}
		v->path[plen] = '\0';
		break;
	case ECR_T_MAP: {
		struct json_object_iterator it, end;
		plen = strlen(v->path);
		n = (size_t)json_object_object_length(o);
		if (sh->has_max && (long long)n > sh->max)
			violation(v, o, "Member must have length less than or "
			    "equal to %lld", sh->max);
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		for (; !json_object_iter_equal(&it, &end) &&
		    !v->serialization; json_object_iter_next(&it)) {
			snprintf(v->path + plen, sizeof(v->path) - plen,
			    ".%.64s.value", json_object_iter_peek_name(&it));
			validate_value(v, sh->value,
			    json_object_iter_peek_value(&it), depth + 1);
		}
		v->path[plen] = '\0';
		break;
	}
	case ECR_T_STRUCTURE:
		validate_structure(v, sh, o, depth);
		break;
	default:
		break;
	}
}

int
ecr_validate(const struct ecr_operation *op, struct json_object *in,
    const char **exc, char *msg, size_t msgsz)
{
	struct vctx	 v;
	char		 head[64];
	size_t		 hlen;

	memset(&v, 0, sizeof(v));
	v.generic = op->validation_exception;
	v.msg = msg;
	v.msgsz = msgsz;
	msg[0] = '\0';
	if (op->input < 0)
		return 0;
	if (in == NULL || !json_object_is_type(in, json_type_object)) {
		snprintf(msg, msgsz, "Start of structure or map expected");
		*exc = "SerializationException";
		return -1;
	}
	validate_value(&v, op->input, in, 0);
	if (v.serialization) {
		*exc = "SerializationException";
		return -1;
	}
	if (v.count == 0)
		return 0;
	if (!v.generic) {
		*exc = "InvalidParameterException";
		return -1;
	}
	/* Put the count in front of what was written. */
	hlen = (size_t)snprintf(head, sizeof(head), "%d validation error%s "
	    "detected: ", v.count, v.count > 1 ? "s" : "");
	if (hlen + v.used + 1 > msgsz)
		v.used = msgsz > hlen + 1 ? msgsz - hlen - 1 : 0;
	memmove(msg + hlen, msg, v.used);
	memcpy(msg, head, hlen);
	msg[hlen + v.used] = '\0';
	*exc = "ValidationException";
	return -1;
}
