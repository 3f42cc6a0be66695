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
 * The scanner's records (scanproto.h): what the sandboxed child reports
 * to scand, and what scand reports to berthd.  The decoder is the only
 * way either reads them, and it trusts nothing: kinds, field counts,
 * lengths, UTF-8, control characters and the values of enumerated fields
 * are all checked before a record is handed on.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "scan.h"
#include "util.h"

static const uint32_t record_fields[SCAN_REC__MAX] = {
	[SCAN_REC_OS] = SCAN_REC_OS_FIELDS,
	[SCAN_REC_PACKAGE] = SCAN_REC_PACKAGE_FIELDS,
	[SCAN_REC_FINDING] = SCAN_REC_FINDING_FIELDS,
};

static void
put_field(struct wbuf *b, const char *s)
{
	size_t	 n = s != NULL ? strlen(s) : 0;

	/* Encoders cut rather than send what the decoder refuses. */
	if (n > SCAN_FIELD_BYTES_MAX) {
		n = SCAN_FIELD_BYTES_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	wbuf_put_bytes(b, s, n);
}

void
scan_report_os(struct wbuf *b, const struct scan_os *os)
{
	wbuf_put_u32(b, SCAN_REC_OS);
	wbuf_put_u32(b, SCAN_REC_OS_FIELDS);
	put_field(b, os->id);
	put_field(b, os->version_id);
	put_field(b, os->pretty_name);
}

void
scan_report_package(struct wbuf *b, const struct scan_package *p)
{
	wbuf_put_u32(b, SCAN_REC_PACKAGE);
	wbuf_put_u32(b, SCAN_REC_PACKAGE_FIELDS);
	put_field(b, scan_eco_name(p->eco));
	put_field(b, p->name);
	put_field(b, p->version);
	put_field(b, p->source);
	put_field(b, p->source_version);
	put_field(b, p->arch);
}

void
scan_report_finding(struct wbuf *b, const struct scan_finding *f)
{
	char	 score[16] = "";

	if (f->cvss_score10 >= 0)
		snprintf(score, sizeof(score), "%d.%d", f->cvss_score10 / 10,
		    f->cvss_score10 % 10);
	wbuf_put_u32(b, SCAN_REC_FINDING);
	wbuf_put_u32(b, SCAN_REC_FINDING_FIELDS);
	put_field(b, f->id);
	put_field(b, f->name);
	put_field(b, f->description);
	put_field(b, f->uri);
	put_field(b, scan_severity_name(f->severity));
	put_field(b, f->package_name);
	put_field(b, f->package_version);
	put_field(b, f->fixed_version);
	put_field(b, f->cvss_vector);
	put_field(b, score);
	put_field(b, f->ecosystem);
}

/*
 * The length of the well-formed UTF-8 character at p (no overlongs,
 * surrogates or values past U+10FFFF), or 0.
 */
static size_t
utf8_char(const unsigned char *p, const unsigned char *e)
{
	static const uint32_t	 least[] = { 0, 0x80, 0x800, 0x10000 };
	uint32_t		 cp;
	int			 more, len;

	if (*p < 0x80)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf) {
		cp = *p & 0x1f;
		len = 1;
	} else if (*p >= 0xe0 && *p <= 0xef) {
		cp = *p & 0x0f;
		len = 2;
	} else if (*p >= 0xf0 && *p <= 0xf4) {
		cp = *p & 0x07;
		len = 3;
	} else
		return 0;
	if (e - p <= len)
		return 0;
	for (more = 1; more <= len; more++) {
		if ((p[more] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[more] & 0x3f);
	}
	if (cp < least[len] || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff)
		return 0;
	return (size_t)len + 1;
}

static int
ctl_ok(unsigned char c, int multiline)
{
	return (c >= ' ' && c != 0x7f) || (multiline && (c == '\t' ||
	    c == '\n'));
}

/* No NUL and no control character but tab and newline where allowed. */
static int
text_valid(const char *s, size_t n, int multiline)
{
	const unsigned char	*p = (const unsigned char *)s, *e = p + n;
	size_t			 len;

	while (p < e) {
		if ((len = utf8_char(p, e)) == 0 ||
		    (len == 1 && !ctl_ok(*p, multiline)))
			return 0;
		p += len;
	}
	return 1;
}

char *
scan_text_clean(const char *s, size_t max, int multiline)
{
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*e = p + strlen(s);
	size_t			 len, o = 0;
	char			*out;

	out = xmalloc((size_t)(e - p) + 1);
	while (p < e) {
		len = utf8_char(p, e);
		if (len == 0 || (len == 1 && !ctl_ok(*p, multiline))) {
			len = len == 0 ? 1 : len;
			if (o + 1 > max)
				break;
			out[o++] = len == 1 && *p < 0x80 ? ' ' : '?';
		} else {
			if (o + len > max)
				break;
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
	}
	out[o] = '\0';
	return out;
}

/* Fields that must not be empty, by kind. */
static int
record_check(const struct scan_record *r)
{
	size_t	 i;

	switch (r->kind) {
	case SCAN_REC_OS:
		return r->flen[0] > 0;
	case SCAN_REC_PACKAGE:
		if (r->flen[1] == 0 || r->flen[2] == 0)
			return 0;
		for (i = SCAN_ECO_DPKG; i < SCAN_ECO__MAX; i++)
			if (r->flen[0] == strlen(scan_eco_name(i)) &&
			    memcmp(r->field[0], scan_eco_name(i),
			    r->flen[0]) == 0)
				return 1;
		return 0;
	case SCAN_REC_FINDING:
		return r->flen[0] > 0 && r->flen[1] > 0 && r->flen[5] > 0 &&
		    r->flen[6] > 0 &&
		    scan_severity_from_name(r->field[4], r->flen[4]) != -1;
	default:
		return 0;
	}
}

int
scan_report_next(const uint8_t *buf, size_t len, size_t *off,
    struct scan_record *r)
{
	struct rbuf	 rb;
	const void	*p;
	size_t		 n;
	uint32_t	 i;

	if (*off > len)
		return -1;
	if (*off == len)
		return 0;
	rbuf_init(&rb, buf + *off, len - *off);
	r->kind = rbuf_get_u32(&rb);
	r->nfields = rbuf_get_u32(&rb);
	if (!rbuf_ok(&rb) || r->kind == 0 || r->kind >= SCAN_REC__MAX ||
	    r->nfields != record_fields[r->kind])
		return -1;
	for (i = 0; i < r->nfields; i++) {
		if ((p = rbuf_get_bytes(&rb, &n)) == NULL ||
		    n > SCAN_FIELD_BYTES_MAX || !text_valid(p, n,
		    r->kind == SCAN_REC_FINDING && i == 2))
			return -1;
		r->field[i] = p;
		r->flen[i] = (uint32_t)n;
	}
	if (!record_check(r))
		return -1;
	*off = len - rb.left;
	return 1;
}

/* A field into a fixed array: 0, or -1 when it does not fit. */
static int
field_copy(char *dst, size_t dstsz, const struct scan_record *r, int i)
{
	if (r->flen[i] >= dstsz)
		return -1;
	memcpy(dst, r->field[i], r->flen[i]);
	dst[r->flen[i]] = '\0';
	return 0;
}

int
scan_report_inventory(const uint8_t *buf, size_t len,
    struct scan_inventory *inv)
{
	struct scan_record	 r;
	char			 f[SCAN_REC_PACKAGE_FIELDS][SCAN_FIELD_MAX];
	size_t			 off = 0;
	int			 i, rc;

	memset(inv, 0, sizeof(*inv));
	while ((rc = scan_report_next(buf, len, &off, &r)) == 1) {
		if (r.kind == SCAN_REC_OS && !inv->have_os) {
			if (field_copy(inv->os.id, sizeof(inv->os.id), &r,
			    0) == -1 || field_copy(inv->os.version_id,
			    sizeof(inv->os.version_id), &r, 1) == -1 ||
			    field_copy(inv->os.pretty_name,
			    sizeof(inv->os.pretty_name), &r, 2) == -1)
				goto bad;
			inv->have_os = 1;
			continue;
		}
		if (r.kind != SCAN_REC_PACKAGE)
			goto bad;
		for (i = 0; i < SCAN_REC_PACKAGE_FIELDS; i++)
			if (field_copy(f[i], sizeof(f[i]), &r, i) == -1)
				goto bad;
		if (scan_pkglist_add(&inv->packages, scan_eco_from_name(f[0]),
		    f[1], f[2], f[3][0] != '\0' ? f[3] : NULL,
		    f[4][0] != '\0' ? f[4] : NULL,
		    f[5][0] != '\0' ? f[5] : NULL) == -1)
			goto bad;
	}
	if (rc == 0)
		return 0;
bad:
	scan_inventory_clear(inv);
	return -1;
}

void
scan_report_child(struct wbuf *b, int status, const struct scan_stats *st,
    const char *why, const struct scan_inventory *inv)
{
	size_t	 i;

	wbuf_put_u32(b, (uint32_t)status);
	wbuf_put_u64(b, st->compressed);
	wbuf_put_u64(b, st->unpacked);
	wbuf_put_u64(b, st->entries);
	put_field(b, why);
	if (inv == NULL)
		return;
	if (inv->have_os)
		scan_report_os(b, &inv->os);
	for (i = 0; i < inv->packages.len; i++)
		scan_report_package(b, &inv->packages.v[i]);
}

int
scan_report_child_decode(const uint8_t *buf, size_t len, int *status,
    struct scan_stats *st, char *why, size_t whysz,
    struct scan_inventory *inv)
{
	struct rbuf	 rb;
	const void	*p;
	size_t		 n;

	memset(inv, 0, sizeof(*inv));
	rbuf_init(&rb, buf, len);
	*status = (int)rbuf_get_u32(&rb);
	st->compressed = rbuf_get_u64(&rb);
	st->unpacked = rbuf_get_u64(&rb);
	st->entries = rbuf_get_u64(&rb);
	p = rbuf_get_bytes(&rb, &n);
	if (!rbuf_ok(&rb) || p == NULL || n >= whysz ||
	    !text_valid(p, n, 0) || *status < SCAN_STATUS_COMPLETE ||
	    *status >= SCAN_STATUS__MAX)
		return -1;
	memcpy(why, p, n);
	why[n] = '\0';
	return scan_report_inventory(buf + (len - rb.left), rb.left, inv);
}

enum scan_media
scan_media_from_type(const char *type)
{
	static const struct {
		const char	*type;
		enum scan_media	 media;
	} types[] = {
		{ "application/vnd.oci.image.layer.v1.tar", SCAN_MEDIA_TAR },
		{ "application/vnd.oci.image.layer.v1.tar+gzip",
		    SCAN_MEDIA_TAR_GZIP },
		{ "application/vnd.oci.image.layer.v1.tar+zstd",
		    SCAN_MEDIA_TAR_ZSTD },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar",
		    SCAN_MEDIA_TAR },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		    SCAN_MEDIA_TAR_GZIP },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		    SCAN_MEDIA_TAR_ZSTD },
		{ "application/vnd.docker.image.rootfs.diff.tar",
		    SCAN_MEDIA_TAR },
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip",
		    SCAN_MEDIA_TAR_GZIP },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
		    SCAN_MEDIA_TAR_GZIP },
	};
	size_t	 i;

	for (i = 0; i < nitems(types); i++)
		if (strcmp(type, types[i].type) == 0)
			return types[i].media;
	return 0;
}
