/*
 * The byte-range headers of the registry API: Range on blob downloads
 * (RFC 9110, one range) and Content-Range on upload chunks (the OCI
 * spec's "first-last", and the HTTP forms some tools send).  Both see
 * untrusted bytes and have a fuzz target.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "berthd.h"
#include "error.h"
#include "util.h"

/*
 * Parses a single "bytes=first-last", "bytes=first-" or "bytes=-suffix"
 * range against size.  Returns 1 with [*off, *off+*len) for a satisfiable
 * range, 0 when the header is absent or to be ignored (malformed, several
 * ranges), and BERR_RANGE_UNSATISFIABLE.
 */
int
range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	const char	*dash, *p;
	uint64_t	 first, last;

	if (h == NULL)
		return 0;
	while (*h == ' ')
		h++;
	if (strncmp(h, "bytes=", 6) != 0)
		return 0;
	p = h + 6;
	if (strchr(p, ',') != NULL || (dash = strchr(p, '-')) == NULL)
		return 0;
	if (dash == p) {
		if (parse_u64(dash + 1, strlen(dash + 1), &last) == -1)
			return 0;
		if (last == 0 || size == 0)
			return BERR_RANGE_UNSATISFIABLE;
		if (last > size)
			last = size;
		*off = size - last;
		*len = last;
		return 1;
	}
	if (parse_u64(p, (size_t)(dash - p), &first) == -1)
		return 0;
	if (dash[1] == '\0')
		last = size == 0 ? 0 : size - 1;
	else if (parse_u64(dash + 1, strlen(dash + 1), &last) == -1 ||
	    last < first)
		return 0;
	if (first >= size)
		return BERR_RANGE_UNSATISFIABLE;
	if (last >= size)
		last = size - 1;
	*off = first;
	*len = last - first + 1;
	return 1;
}

/*
 * Content-Range of a chunk: the spec's "first-last", also "bytes first-
 * last/total" and "bytes=first-last" that some tools send.
 */
int
content_range_parse(const char *h, uint64_t *first, uint64_t *last)
{
	const char	*dash, *end;

	if (strncmp(h, "bytes", 5) == 0) {
		h += 5;
		if (*h == '=' || *h == ' ')
			h++;
	}
	if ((dash = strchr(h, '-')) == NULL)
		return -1;
	end = dash + 1 + strcspn(dash + 1, "/");
	if (parse_u64(h, (size_t)(dash - h), first) == -1 ||
	    parse_u64(dash + 1, (size_t)(end - dash - 1), last) == -1 ||
	    *last < *first)
		return -1;
	return 0;
}
