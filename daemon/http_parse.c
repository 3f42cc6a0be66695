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
 * The request line and headers as http-parser reports them: kept in the
 * connection's head buffer within the limits (431, 414), checked where
 * Debian's non-strict build of the parser is lenient (header names and
 * values, Content-Length, Transfer-Encoding), the target split into a
 * decoded path and a raw query.  Body bytes go on to http_request.c.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include <http_parser.h>

#include "error.h"
#include "util.h"
#include "http.h"
#include "http_priv.h"

static int	parse_fail(struct http_conn *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	parse_begin_cb(http_parser *);
static int	parse_url_cb(http_parser *, const char *, size_t);
static int	parse_field_cb(http_parser *, const char *, size_t);
static int	parse_value_cb(http_parser *, const char *, size_t);
static int	parse_headers_done_cb(http_parser *);
static int	parse_body_cb(http_parser *, const char *, size_t);
static int	parse_message_done_cb(http_parser *);

static const http_parser_settings http_settings = {
	.on_message_begin = parse_begin_cb,
	.on_url = parse_url_cb,
	.on_header_field = parse_field_cb,
	.on_header_value = parse_value_cb,
	.on_headers_complete = parse_headers_done_cb,
	.on_body = parse_body_cb,
	.on_message_complete = parse_message_done_cb,
};

ssize_t
http_parse_unescape(char *dst, const char *src, size_t len, int plus)
{
	size_t	 i, n = 0;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		if (src[i] == '%') {
			if (len - i < 3)
				return -1;
			hi = hex_digit_value((unsigned char)src[i + 1]);
			lo = hex_digit_value((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			dst[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && src[i] == '+')
			dst[n++] = ' ';
		else
			dst[n++] = src[i];
	}
	return (ssize_t)n;
}

int
http_parse_feed(struct http_conn *conn)
{
	struct evbuffer		*in = bufferevent_get_input(conn->bev);
	struct evbuffer_iovec	 v[4];
	enum http_errno		 err;
	const char		*data;
	size_t			 len, used;
	int			 i, n;

	while (evbuffer_get_length(in) != 0) {
		n = evbuffer_peek(in, -1, NULL, v, nitems(v));
		if (n > (int)nitems(v))
			n = nitems(v);
		for (i = 0; i < n && v[i].iov_len == 0; i++)
			;
		if (i == n) {
			v[0].iov_base = evbuffer_pullup(in, -1);
			v[0].iov_len = evbuffer_get_length(in);
			i = 0;
		}
		data = v[i].iov_base;
		len = v[i].iov_len > HTTP_FEED_MAX ? HTTP_FEED_MAX :
		    v[i].iov_len;
		/* The parser gets only what the strict framing check passed;
		 * at its end of a head, it waits for the parser's verdict. */
		if (conn->framed < len)
			conn->framed += http_framing_scan(&conn->framing,
			    data + conn->framed, len - conn->framed);
		if (len > conn->framed)
			len = conn->framed;
		if (len == 0)
			return parse_fail(conn, BERR_BAD_REQUEST,
			    "malformed HTTP framing: %s",
			    conn->framing.error != NULL ?
			    conn->framing.error : "out of step");
		http_parser_pause(&conn->parser, 0);
		conn->feed_end = data + len;
		used = http_parser_execute(&conn->parser, &http_settings, data,
		    len);
		if (used != 0) {
			evbuffer_drain(in, used);
			conn->framed -= used;
		}
		err = HTTP_PARSER_ERRNO(&conn->parser);
		if (err == HPE_PAUSED)
			return 1;
		if (err != HPE_OK)
			return -1;
		if (used != len)
			return -1;
	}
	return 0;
}

/*
 * Tells the framing check and the parser that n bytes of a body of known
 * length went by without them (spliced into the body's descriptor).  In a
 * body of known length neither reads what it passes over but the first
 * byte of each piece, so they are shown zeros; the body callback drops
 * them.  Returns as http_parse_feed().
 */
int
http_parse_skip(struct http_conn *conn, size_t n)
{
	static const char	 zeros[HTTP_FEED_MAX];
	enum http_errno		 err;
	size_t			 len, used;
	int			 rc = 0;

	conn->skipping = 1;
	while (n > 0 && rc == 0) {
		len = n > sizeof(zeros) ? sizeof(zeros) : n;
		n -= len;
		if (http_framing_scan(&conn->framing, zeros, len) != len) {
			rc = -1;
			break;
		}
		http_parser_pause(&conn->parser, 0);
		conn->feed_end = zeros + len;
		used = http_parser_execute(&conn->parser, &http_settings,
		    zeros, len);
		err = HTTP_PARSER_ERRNO(&conn->parser);
		if (used != len || (err != HPE_OK && err != HPE_PAUSED) ||
		    (err == HPE_PAUSED && n > 0))
			rc = -1;
		else if (err == HPE_PAUSED)
			rc = 1;
	}
	conn->skipping = 0;
	return rc;
}

/* Records why the request is refused; returns -1 for the callback. */
static int
parse_fail(struct http_conn *conn, int err, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(conn->error_text, sizeof(conn->error_text), fmt, ap);
	va_end(ap);
	conn->error = err;
	conn->error_reason = conn->error_text;
	return -1;
}

static int
parse_head_count(struct http_conn *conn, size_t len)
{
	conn->head_bytes += len;
	if (conn->head_bytes > conn->srv->limits.max_header_bytes)
		return parse_fail(conn, BERR_HEADERS_TOO_LARGE,
		    "the request line and header fields exceed %zu bytes",
		    conn->srv->limits.max_header_bytes);
	return 0;
}

/* Ends the URL, a header name or a header value with a NUL. */
static void
parse_end_item(struct http_conn *conn)
{
	struct http_header	*h;

	switch (conn->hstate) {
	case HSTATE_URL:
		if (!conn->url_done) {
			hbuf_add(&conn->head, "", 1);
			conn->url_done = conn->url_complete = 1;
		}
		break;
	case HSTATE_FIELD:
		h = &conn->headers[conn->nheaders - 1];
		hbuf_add(&conn->head, "", 1);
		h->value = conn->head.len;
		break;
	case HSTATE_VALUE:
		h = &conn->headers[conn->nheaders - 1];
		while (conn->head.len > h->value &&
		    (conn->head.p[conn->head.len - 1] == ' ' ||
		    conn->head.p[conn->head.len - 1] == '\t'))
			conn->head.len--;
		hbuf_add(&conn->head, "", 1);
		break;
	}
}

static int
parse_trailer_count(struct http_conn *conn, size_t len)
{
	conn->trailer_bytes += len;
	return conn->trailer_bytes > conn->srv->limits.max_header_bytes ?
	    -1 : 0;
}

static int
parse_begin_cb(http_parser *p)
{
	struct http_conn	*conn = p->data;

	if (conn->phase != PHASE_IDLE)
		return -1;
	conn->phase = PHASE_HEAD;
	conn->req.start_us = mono_us();
	conn->timer_dirty = 1;
	return 0;
}

static int
parse_url_cb(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*conn = p->data;

	if (conn->url_done)
		return -1;
	if (conn->url_len + len > conn->srv->limits.max_uri) {
		/* What fits is kept: it names the API to answer for. */
		len = conn->srv->limits.max_uri - conn->url_len;
		hbuf_add(&conn->head, at, len);
		conn->url_len += len;
		return parse_fail(conn, BERR_URI_TOO_LONG,
		    "the request target exceeds %zu bytes",
		    conn->srv->limits.max_uri);
	}
	if (parse_head_count(conn, len) == -1)
		return -1;
	hbuf_add(&conn->head, at, len);
	conn->url_len += len;
	/* Mid-input, the parser reports the target only at its end. */
	if (at + len < conn->feed_end)
		conn->url_complete = 1;
	return 0;
}

static int
parse_field_cb(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*conn = p->data;
	struct http_header	*h;

	if (conn->phase == PHASE_REQUEST)
		return parse_trailer_count(conn, len);
	if (conn->hstate != HSTATE_FIELD) {
		parse_end_item(conn);
		if (conn->nheaders >= conn->srv->limits.max_headers)
			return parse_fail(conn, BERR_HEADERS_TOO_LARGE,
			    "more than %zu header fields",
			    conn->srv->limits.max_headers);
		if (conn->nheaders == conn->headers_size) {
			conn->headers_size = conn->headers_size == 0 ? 16 :
			    conn->headers_size * 2;
			conn->headers = xreallocarray(conn->headers,
			    conn->headers_size, sizeof(*conn->headers));
		}
		h = &conn->headers[conn->nheaders++];
		h->name = conn->head.len;
		h->name_len = 0;
		h->value = 0;
		conn->hstate = HSTATE_FIELD;
		if (parse_head_count(conn, 4) == -1)
			return -1;
	}
	if (parse_head_count(conn, len) == -1)
		return -1;
	hbuf_add(&conn->head, at, len);
	conn->headers[conn->nheaders - 1].name_len += len;
	return 0;
}

static int
parse_value_cb(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*conn = p->data;

	if (conn->phase == PHASE_REQUEST)
		return parse_trailer_count(conn, len);
	if (conn->hstate == HSTATE_FIELD) {
		parse_end_item(conn);
		conn->hstate = HSTATE_VALUE;
	}
	if (parse_head_count(conn, len) == -1)
		return -1;
	hbuf_add(&conn->head, at, len);
	return 0;
}

/* RFC 9110 5.1 token characters. */
static int
http_token_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Debian builds http-parser without HTTP_PARSER_STRICT: it lets spaces
 * into names and control characters into values.  We do not. */
static int
http_header_valid(const char *name, size_t name_len, const char *value)
{
	const unsigned char	*v = (const unsigned char *)value;
	size_t			 i;

	if (name_len == 0)
		return 0;
	for (i = 0; i < name_len; i++)
		if (!http_token_char((unsigned char)name[i]))
			return 0;
	for (; *v != '\0'; v++)
		if ((*v < ' ' && *v != '\t') || *v == 127)
			return 0;
	return 1;
}

/* RFC 3986 3.2.2's reg-name characters: unreserved and sub-delims. */
static int
parse_reg_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("-._~!$&'()*+,;=", c) != NULL);
}

/* "[" ( IPv6address / IPvFuture ) "]", at most len bytes long. */
static int
parse_ip_literal_valid(const char *s, size_t len)
{
	char		 addr[INET6_ADDRSTRLEN];
	struct in6_addr	 in6;
	size_t		 i;

	if (len > 0 && (s[0] == 'v' || s[0] == 'V')) {
		for (i = 1; i < len && isxdigit((unsigned char)s[i]); i++)
			;
		if (i == 1 || i + 1 >= len || s[i] != '.')
			return 0;
		for (i++; i < len; i++)
			if (!parse_reg_name_char((unsigned char)s[i]) &&
			    s[i] != ':')
				return 0;
		return 1;
	}
	if (len == 0 || len >= sizeof(addr))
		return 0;
	memcpy(addr, s, len);
	addr[len] = '\0';
	return inet_pton(AF_INET6, addr, &in6) == 1;
}

/* RFC 9110 7.2: uri-host [ ":" port ], as RFC 3986 3.2.2 and 3.2.3 write
 * them (an empty reg-name and an empty port are allowed); a port fits in
 * 16 bits. */
static int
parse_host_valid(const char *v)
{
	const char	*p = v, *end;
	unsigned long	 port = 0;

	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL ||
		    !parse_ip_literal_valid(p + 1, end - p - 1))
			return 0;
		p = end + 1;
	} else {
		for (; *p != '\0' && *p != ':'; p++) {
			if (*p == '%') {
				if (!isxdigit((unsigned char)p[1]) ||
				    !isxdigit((unsigned char)p[2]))
					return 0;
				p += 2;
			} else if (!parse_reg_name_char((unsigned char)*p))
				return 0;
		}
	}
	if (*p == '\0')
		return 1;
	if (*p++ != ':')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((port = port * 10 + (unsigned long)(*p - '0')) > 65535)
			return 0;
	return *p == '\0';
}

/* Host, Content-Length, Transfer-Encoding and Expect, strictly. */
static int
parse_check_headers(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;
	struct http_header	*h;
	const char		*name, *value;
	uint64_t		 v, cl = 0;
	size_t			 i;
	int			 have_cl = 0, have_te = 0, expect = 0;
	int			 hosts = 0;

	for (i = 0; i < conn->nheaders; i++) {
		h = &conn->headers[i];
		name = conn->head.p + h->name;
		value = conn->head.p + h->value;
		if (!http_header_valid(name, h->name_len, value))
			return parse_fail(conn, BERR_BAD_REQUEST,
			    "malformed header field");
		switch (h->name_len) {
		case 14:
			if (strcasecmp(name, "Content-Length") != 0)
				break;
			/* One, a number (RFC 9112 6.3: a list of equal
			 * values may be taken; we do not). */
			if (have_cl++)
				return parse_fail(conn, BERR_BAD_REQUEST,
				    "two Content-Length header fields");
			if (parse_u64(value, strlen(value), &v) == -1 ||
			    v > INT64_MAX)
				return parse_fail(conn, BERR_BAD_REQUEST,
				    "invalid Content-Length");
			cl = v;
			break;
		case 17:
			if (strcasecmp(name, "Transfer-Encoding") != 0)
				break;
			/* "chunked" alone: no other coding is supported. */
			if (have_te++ || strcasecmp(value, "chunked") != 0)
				return parse_fail(conn, BERR_BAD_REQUEST,
				    "unsupported Transfer-Encoding; only "
				    "\"chunked\" is");
			break;
		case 6:
			if (strcasecmp(name, "Expect") == 0 &&
			    strcasecmp(value, "100-continue") == 0)
				expect = 1;
			break;
		case 4:
			if (strcasecmp(name, "Host") != 0)
				break;
			/* RFC 9112 3.2: one Host, a valid one. */
			if (hosts++ > 0)
				return parse_fail(conn, BERR_BAD_REQUEST,
				    "more than one Host header field");
			if (!parse_host_valid(value))
				return parse_fail(conn, BERR_BAD_REQUEST,
				    "the Host header field is not a valid "
				    "host[:port]");
			break;
		}
	}
	if (hosts == 0 && conn->parser.http_minor == 1)
		return parse_fail(conn, BERR_BAD_REQUEST,
		    "an HTTP/1.1 request needs a Host header field");
	/* RFC 9112 6.1 and 6.3: either may frame a body, never both; and
	 * HTTP/1.0 has no transfer codings. */
	if (have_te && have_cl)
		return parse_fail(conn, BERR_BAD_REQUEST,
		    "both Content-Length and Transfer-Encoding");
	if (have_te && conn->parser.http_minor == 0)
		return parse_fail(conn, BERR_BAD_REQUEST,
		    "Transfer-Encoding in an HTTP/1.0 request");
	req->chunked = have_te;
	if (req->chunked != ((conn->parser.flags & F_CHUNKED) != 0))
		return parse_fail(conn, BERR_BAD_REQUEST,
		    "the body's framing is ambiguous");
	req->content_length = have_cl ? (int64_t)cl : -1;
	req->expect_continue = expect && conn->parser.http_minor == 1;
	return 0;
}

/* Splits the target into path and query and decodes the path. */
static int
parse_target(struct http_conn *conn)
{
	struct http_request	*req = &conn->req;
	struct http_parser_url	 u;
	size_t			 poff = 0, plen = 0, qoff = 0, qlen = 0;
	size_t			 raw, rawlen, query = 0, path;
	ssize_t			 n;
	int			 has_query;

	http_parser_url_init(&u);
	if (http_parser_parse_url(conn->head.p, conn->url_len,
	    conn->parser.method == HTTP_CONNECT, &u) != 0)
		return parse_fail(conn, BERR_BAD_REQUEST,
		    "malformed request target");
	if (u.field_set & (1 << UF_PATH)) {
		poff = u.field_data[UF_PATH].off;
		plen = u.field_data[UF_PATH].len;
	}
	if ((has_query = (u.field_set & (1 << UF_QUERY)) != 0)) {
		qoff = u.field_data[UF_QUERY].off;
		qlen = u.field_data[UF_QUERY].len;
	}
	hbuf_reserve(&conn->head, 2 * plen + qlen + 8);
	raw = conn->head.len;
	rawlen = plen == 0 ? 1 : plen;
	if (plen == 0)
		hbuf_add(&conn->head, "/", 1);
	else
		hbuf_add(&conn->head, conn->head.p + poff, plen);
	hbuf_add(&conn->head, "", 1);
	if (has_query) {
		query = conn->head.len;
		hbuf_add(&conn->head, conn->head.p + qoff, qlen);
		hbuf_add(&conn->head, "", 1);
	}
	path = conn->head.len;
	n = http_parse_unescape(conn->head.p + path, conn->head.p + raw,
	    rawlen, 0);
	if (n < 0)
		return parse_fail(conn, BERR_BAD_REQUEST,
		    "malformed percent-encoding in the path");
	conn->head.len += n;
	hbuf_add(&conn->head, "", 1);
	req->raw_path = conn->head.p + raw;
	req->query = has_query ? conn->head.p + query : NULL;
	req->path = conn->head.p + path;
	return 0;
}

static int
parse_headers_done_cb(http_parser *p)
{
	struct http_conn	*conn = p->data;
	struct http_request	*req = &conn->req;

	if (conn->phase != PHASE_HEAD)
		return -1;
	parse_end_item(conn);
	if (!conn->url_done) {
		hbuf_add(&conn->head, "", 1);
		conn->url_done = conn->url_complete = 1;
	}
	req->method = http_method_str(p->method);
	req->is_head = p->method == HTTP_HEAD;
	req->http_minor = p->http_minor;
	/* The target first: a refusal can then answer in its API's shape. */
	if (parse_target(conn) == -1)
		return -1;
	if (p->http_major != 1 || p->http_minor > 1)
		return parse_fail(conn, BERR_HTTP_VERSION,
		    "HTTP/%d.%d is not supported; use HTTP/1.1", p->http_major,
		    p->http_minor);
	if (parse_check_headers(conn) == -1)
		return -1;
	/* http-parser reads nothing after the head of an Upgrade or CONNECT
	 * request, which berthd answers as a plain request: a body would be
	 * left for the next request to be read from. */
	if (p->upgrade && (req->chunked || req->content_length > 0))
		return parse_fail(conn, BERR_BAD_REQUEST,
		    "a request with Upgrade or CONNECT cannot have a body");
	http_framing_body(&conn->framing, req->chunked,
	    req->content_length > 0 ? (uint64_t)req->content_length : 0);
	if (http_framing_state(&conn->framing) == HTTP_FRAMING_BAD)
		return parse_fail(conn, BERR_BAD_REQUEST,
		    "malformed HTTP framing: %s", conn->framing.error);
	conn->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	conn->phase = PHASE_REQUEST;
	req->body_state = BODY_IDLE;
	/* Without a body the message ends right here and pauses there. */
	if (req->chunked || req->content_length > 0)
		http_parser_pause(p, 1);
	return 0;
}

static int
parse_body_cb(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*conn = p->data;

	if (conn->phase != PHASE_REQUEST)
		return -1;
	if (conn->skipping)
		return 0;
	http_request_body_data(&conn->req, at, len);
	return 0;
}

static int
parse_message_done_cb(http_parser *p)
{
	struct http_conn	*conn = p->data;

	http_parser_pause(p, 1);
	if (conn->phase != PHASE_REQUEST)
		return -1;
	http_request_body_done(&conn->req);
	return 0;
}
