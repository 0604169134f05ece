/* HTTP/1.1 message heads and body framing (RFC 9112, RFC 9110).
 *
 * The router forwards bytes unchanged, so whatever it accepts must frame
 * the same way in any conforming server behind it: anything that two
 * parsers could read differently (request smuggling) is refused rather
 * than repaired.  Lines end in CRLF only: a bare LF or a bare CR is
 * refused (RFC 9112 section 2.2 allows either choice).  A head is parsed
 * again from its start on each call; HTTP_HEAD_MAX bounds that work. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* RFC 9112 section 2.2: a server SHOULD ignore at least one empty line
 * before a request-line (clients once sent a CRLF after a POST body).  A
 * few are skipped, counted in len; more are refused.  Not for responses. */
#define LEADING_CRLF_MAX 4
#define CHUNK_LINE_MAX 4096
#define TRAILERS_MAX 100
#define CHUNK_SIZE_MAX (1ULL << 62)

static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* field-value and reason-phrase octets: HTAB, SP, VCHAR, obs-text. */
static bool is_text(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* The line at *pos, within buf[0, lim): 0 with [*pos, *end) the line
 * without its CRLF and *pos moved past it, -EAGAIN when it is not all
 * there, -EINVAL for a bare CR or LF. */
static int next_line(const char *buf, size_t lim, size_t *pos, size_t *end)
{
	for (size_t i = *pos; i < lim; i++) {
		if (buf[i] == '\n')
			return -EINVAL;
		if (buf[i] != '\r')
			continue;
		if (i + 1 == lim)
			return -EAGAIN;
		if (buf[i + 1] != '\n')
			return -EINVAL;
		*end = i;
		*pos = i + 2;
		return 0;
	}
	return -EAGAIN;
}

/* "HTTP/1.0" or "HTTP/1.1" into *minor; -ENOSYS for another well-formed
 * version, -EINVAL for anything else. */
static int parse_version(const char *s, size_t n, int *minor)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) || s[6] != '.' || s[5] < '0' || s[5] > '9' ||
	    s[7] < '0' || s[7] > '9')
		return -EINVAL;
	if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
		return -ENOSYS;
	*minor = s[7] - '0';
	return 0;
}

/* method SP request-target SP HTTP-version (RFC 9112 section 3), single
 * spaces only.  The target may hold obs-text (raw UTF-8, as many clients
 * send), never a space or a control character. */
static int parse_request_line(const char *s, size_t n, struct http_head *out)
{
	size_t i = 0;
	while (i < n && is_tchar(s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ' ')
		return -EINVAL;
	out->method = s;
	out->method_len = i;
	size_t t = ++i;
	while (i < n && s[i] != ' ') {
		unsigned char c = s[i++];
		if (c < 0x21 || c == 0x7f)
			return -EINVAL;
	}
	if (i == t || i == n)
		return -EINVAL;
	out->target = s + t;
	out->target_len = i - t;
	return parse_version(s + i + 1, n - i - 1, &out->minor);
}

/* HTTP-version SP 3DIGIT SP [reason-phrase] (RFC 9112 section 4); the
 * space before an empty reason is often left out, and allowed to be. */
static int parse_status_line(const char *s, size_t n, struct http_head *out)
{
	int err = parse_version(s, n < 8 ? n : 8, &out->minor);
	if (err)
		return err;
	if (n < 12 || s[8] != ' ')
		return -EINVAL;
	int status = 0;
	for (size_t i = 9; i < 12; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		status = status * 10 + (s[i] - '0');
	}
	if (status < 100 || status > 599 || (n > 12 && s[12] != ' '))
		return -EINVAL;
	for (size_t i = 13; i < n; i++)
		if (!is_text(s[i]))
			return -EINVAL;
	out->status = status;
	return 0;
}

/* field-name ":" OWS field-value OWS (RFC 9112 section 5).  A line that
 * starts with whitespace is obs-fold (or, as the first, whitespace after
 * the start-line): both refused, as is whitespace before the colon. */
static int parse_field(const char *s, size_t n, struct http_header *f)
{
	size_t i = 0;
	while (i < n && is_tchar(s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ':')
		return -EINVAL;
	f->name = s;
	f->name_len = i;
	size_t v = i + 1, e = n;
	for (size_t j = v; j < n; j++)
		if (!is_text(s[j]))
			return -EINVAL;
	while (v < e && is_ows(s[v]))
		v++;
	while (e > v && is_ows(s[e - 1]))
		e--;
	f->value = s + v;
	f->value_len = e - v;
	return 0;
}

static bool name_is(const struct http_header *f, const char *name)
{
	return f->name_len == strlen(name) && !strncasecmp(f->name, name, f->name_len);
}

/* The next element of the comma-separated list v[0, n) after *i, as
 * [*s, *e) without its OWS; false past the list's end. */
static bool list_next(const char *v, size_t n, size_t *i, size_t *s, size_t *e)
{
	if (*i > n)
		return false;
	*s = *i;
	while (*i < n && v[*i] != ',')
		(*i)++;
	*e = (*i)++;
	while (*s < *e && is_ows(v[*s]))
		(*s)++;
	while (*e > *s && is_ows(v[*e - 1]))
		(*e)--;
	return true;
}

/* Whether the list v[0, n) holds tok (case-insensitive). */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0, s, e;
	while (list_next(v, n, &i, &s, &e))
		if (e - s == tl && !strncasecmp(v + s, tok, tl))
			return true;
	return false;
}

/* A Content-Length value into *cl.  RFC 9110 section 8.6 lets a recipient
 * take "42, 42" (and so repeated fields) as 42: any two parsers agree on
 * it.  Differing values, an empty element, a sign or an overflow are
 * refused. */
static int parse_content_length(const char *v, size_t n, bool *have, uint64_t *cl)
{
	size_t i = 0, s, e;
	while (list_next(v, n, &i, &s, &e)) {
		uint64_t x = 0;
		if (s == e)
			return -EINVAL;
		for (; s < e; s++) {
			unsigned d = (unsigned char)v[s] - '0';
			if (d > 9 || x > (UINT64_MAX - d) / 10)
				return -EINVAL;
			x = x * 10 + d;
		}
		if (*have && x != *cl)
			return -EINVAL;
		*have = true;
		*cl = x;
	}
	return 0;
}

/* The framing and connection semantics of a parsed head.  method is the
 * request's (for a response, the request it answers). */
static int framing(struct http_head *h, bool request, const char *method, size_t method_len)
{
	bool have_cl = false, te = false, conn_close = false, ka = false, conn_up = false;
	bool up_field = false, expect = false;
	int nte = 0, nhost = 0;
	for (int i = 0; i < h->nh; i++) {
		const struct http_header *f = &h->h[i];
		if (name_is(f, "content-length")) {
			if (parse_content_length(f->value, f->value_len, &have_cl, &h->content_length))
				return -EINVAL;
		} else if (name_is(f, "transfer-encoding")) {
			/* Only "chunked", once: a list, a repeat or another
			 * coding is read differently by different servers. */
			te = true;
			if (++nte > 1 || f->value_len != 7 || strncasecmp(f->value, "chunked", 7))
				return -EINVAL;
		} else if (name_is(f, "connection")) {
			conn_close |= has_token(f->value, f->value_len, "close");
			ka |= has_token(f->value, f->value_len, "keep-alive");
			conn_up |= has_token(f->value, f->value_len, "upgrade");
		} else if (name_is(f, "upgrade")) {
			up_field = true;
		} else if (name_is(f, "expect")) {
			expect |= f->value_len == 12 && !strncasecmp(f->value, "100-continue", 12);
		} else if (name_is(f, "host")) {
			nhost++;
		}
	}
	/* RFC 9112 section 6.1 and 6.3: both, or chunked in HTTP/1.0, leave
	 * the framing in doubt. */
	if (te && (have_cl || h->minor == 0))
		return -EINVAL;
	h->keep_alive = !conn_close && (h->minor == 1 || ka);
	bool connect = method_len == 7 && !memcmp(method, "CONNECT", 7);
	if (request) {
		/* RFC 9112 section 3.2: a router choosing by Host must not
		 * see two. */
		if (nhost > 1)
			return -EINVAL;
		h->body = te ? HTTP_BODY_CHUNKED : have_cl ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
		h->upgrade = connect || (conn_up && up_field);
		/* RFC 9110 section 10.1.1: ignored in an HTTP/1.0 request. */
		h->expect_continue = expect && h->minor == 1;
		return 0;
	}
	bool head = method_len == 4 && !memcmp(method, "HEAD", 4);
	int s = h->status;
	if (s == 101 || (connect && s >= 200 && s < 300)) {
		/* The connection is no longer HTTP after this head. */
		h->body = HTTP_BODY_NONE;
		h->upgrade = true;
		h->keep_alive = false;
	} else if (!head && s >= 200 && s != 204 && s != 304) {
		h->body = te ? HTTP_BODY_CHUNKED : have_cl ? HTTP_BODY_LENGTH : HTTP_BODY_UNTIL_CLOSE;
		h->keep_alive &= h->body != HTTP_BODY_UNTIL_CLOSE;
	}
	return 0;
}

static int parse_head(const char *buf, size_t len, struct http_head *out, bool request,
		      const char *method, size_t method_len)
{
	size_t lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX, pos = 0, start, end;
	int err, skipped = 0;
	memset(out, 0, sizeof(*out));
	do {
		start = pos;
		if ((err = next_line(buf, lim, &pos, &end)))
			goto out;
	} while (end == start && request && skipped++ < LEADING_CRLF_MAX);
	if (request)
		err = parse_request_line(buf + start, end - start, out);
	else
		err = parse_status_line(buf + start, end - start, out);
	if (err)
		return err;
	for (;;) {
		start = pos;
		if ((err = next_line(buf, lim, &pos, &end)))
			goto out;
		if (end == start)
			break;
		if (out->nh == HTTP_HEADERS_MAX)
			return -E2BIG;
		if ((err = parse_field(buf + start, end - start, &out->h[out->nh])))
			return err;
		out->nh++;
	}
	out->len = pos;
	if (request)
		return framing(out, true, out->method, out->method_len);
	return framing(out, false, method, method_len);
out:
	/* An incomplete head that already fills HTTP_HEAD_MAX never will. */
	return err == -EAGAIN && lim == HTTP_HEAD_MAX ? -E2BIG : err;
}

int http_parse_request(const char *buf, size_t len, struct http_head *out)
{
	return parse_head(buf, len, out, true, NULL, 0);
}

int http_parse_response(const char *buf, size_t len, const char *method, size_t method_len,
			struct http_head *out)
{
	return parse_head(buf, len, out, false, method ? method : "", method ? method_len : 0);
}

const char *http_header_get(const struct http_head *h, const char *name, size_t *vlen)
{
	for (int i = 0; i < h->nh; i++) {
		if (name_is(&h->h[i], name)) {
			if (vlen)
				*vlen = h->h[i].value_len;
			return h->h[i].value;
		}
	}
	return NULL;
}

/* Where the chunked scanner is (RFC 9112 section 7.1). */
enum {
	C_SIZE, C_SIZE_WS, C_EXT, C_SIZE_LF, /* 1*HEXDIG [BWS ";" extensions] CRLF */
	C_DATA, C_DATA_CR, C_DATA_LF,        /* chunk-data CRLF */
	C_TRAILER, C_TNAME, C_TVALUE, C_TLF, /* a trailer line, from its start */
	C_END_LF,                            /* the LF of the final CRLF */
	C_ERR,                               /* malformed: stays so */
};

void http_body_init(struct http_body *b, const struct http_head *h)
{
	memset(b, 0, sizeof(*b));
	b->kind = h->body;
	b->state = C_SIZE;
	if (b->kind == HTTP_BODY_LENGTH)
		b->left = h->content_length;
	b->done = b->kind == HTTP_BODY_NONE || (b->kind == HTTP_BODY_LENGTH && !b->left);
}

static int hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One byte of chunked framing outside chunk data: 0 or -EINVAL.  In the
 * trailers, b->size counts their lines (the last chunk's size is 0). */
static int chunk_step(struct http_body *b, unsigned char c)
{
	bool in_line = true;
	int d;
	switch (b->state) {
	case C_SIZE:
		if ((d = hex_val(c)) >= 0) {
			if (b->size > (CHUNK_SIZE_MAX - d) / 16)
				return -EINVAL;
			b->size = b->size * 16 + d;
		} else if (b->line == 0) {
			return -EINVAL;
		} else if (is_ows(c)) {
			b->state = C_SIZE_WS;
		} else if (c == ';') {
			b->state = C_EXT;
		} else if (c == '\r') {
			b->state = C_SIZE_LF;
		} else {
			return -EINVAL;
		}
		break;
	case C_SIZE_WS:
		if (c == ';')
			b->state = C_EXT;
		else if (!is_ows(c))
			return -EINVAL;
		break;
	case C_EXT:
		if (c == '\r')
			b->state = C_SIZE_LF;
		else if (!is_text(c))
			return -EINVAL;
		break;
	case C_SIZE_LF:
		if (c != '\n')
			return -EINVAL;
		in_line = false;
		b->left = b->size;
		b->state = b->size ? C_DATA : C_TRAILER;
		break;
	case C_DATA_CR:
		if (c != '\r')
			return -EINVAL;
		b->state = C_DATA_LF;
		break;
	case C_DATA_LF:
		if (c != '\n')
			return -EINVAL;
		in_line = false;
		b->size = 0;
		b->state = C_SIZE;
		break;
	case C_TRAILER:
		if (c == '\r') {
			b->state = C_END_LF;
		} else if (is_tchar(c) && ++b->size <= TRAILERS_MAX) {
			b->state = C_TNAME;
		} else {
			return -EINVAL;
		}
		break;
	case C_TNAME:
		if (c == ':')
			b->state = C_TVALUE;
		else if (!is_tchar(c))
			return -EINVAL;
		break;
	case C_TVALUE:
		if (c == '\r')
			b->state = C_TLF;
		else if (!is_text(c))
			return -EINVAL;
		break;
	case C_TLF:
		if (c != '\n')
			return -EINVAL;
		in_line = false;
		b->state = C_TRAILER;
		break;
	case C_END_LF:
		if (c != '\n')
			return -EINVAL;
		b->done = true;
		break;
	default:
		return -EINVAL;
	}
	/* The CR ending a line is not counted in its length. */
	if (!in_line)
		b->line = 0;
	else if (c != '\r' && ++b->line > CHUNK_LINE_MAX)
		return -EINVAL;
	return 0;
}

ssize_t http_body_scan(struct http_body *b, const char *buf, size_t len)
{
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (b->done || b->kind == HTTP_BODY_NONE)
		return 0;
	if (b->kind == HTTP_BODY_UNTIL_CLOSE)
		return len;
	if (b->kind == HTTP_BODY_LENGTH) {
		size_t n = b->left < len ? b->left : len;
		b->left -= n;
		b->done = !b->left;
		return n;
	}
	size_t i = 0;
	while (i < len && !b->done) {
		if (b->state == C_DATA) {
			size_t n = b->left < len - i ? b->left : len - i;
			i += n;
			b->left -= n;
			if (!b->left)
				b->state = C_DATA_CR;
			continue;
		}
		if (chunk_step(b, buf[i++])) {
			b->state = C_ERR;
			return -EINVAL;
		}
	}
	return i;
}

bool http_body_eof(struct http_body *b)
{
	if (b->kind == HTTP_BODY_UNTIL_CLOSE)
		b->done = true;
	return b->done;
}
