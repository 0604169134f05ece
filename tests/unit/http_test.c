/* HTTP/1.1 heads and body framing for the router: what it accepts, what
 * it refuses as a smuggling vector, and where bodies end in a stream. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../executor/http.h"

/* A heap copy of exactly s[0, n), so that ASan catches a read past its
 * end; it lives until the next copy (a parsed head points into it). */
static const char *copy_of(const char *s, size_t n)
{
	static char *last;
	free(last);
	last = malloc(n ? n : 1);
	memcpy(last, s, n);
	return last;
}

static int req_n(const char *s, size_t n, struct http_head *h)
{
	return http_parse_request(copy_of(s, n), n, h);
}

static int req(const char *s)
{
	static struct http_head h;
	return req_n(s, strlen(s), &h);
}

static int resp_n(const char *s, size_t n, const char *method, struct http_head *h)
{
	return http_parse_response(copy_of(s, n), n, method, strlen(method), h);
}

static int resp(const char *s, const char *method)
{
	static struct http_head h;
	return resp_n(s, strlen(s), method, &h);
}

static bool span_is(const char *p, size_t n, const char *s)
{
	return p && n == strlen(s) && !memcmp(p, s, n);
}

/* Scans s[0, n) in one piece, from a heap copy. */
static ssize_t scan_n(struct http_body *b, const char *s, size_t n)
{
	return http_body_scan(b, copy_of(s, n), n);
}

static struct http_body body_of(enum http_body_kind kind, uint64_t cl)
{
	struct http_head h;
	memset(&h, 0, sizeof(h));
	h.body = kind;
	h.content_length = cl;
	struct http_body b;
	http_body_init(&b, &h);
	return b;
}

/* The body at the start of s is blen bytes long, whatever the split:
 * in two pieces at every boundary, and byte by byte. */
static void check_chunked_splits(const char *s, size_t blen)
{
	size_t n = strlen(s);
	for (size_t k = 0; k <= n; k++) {
		struct http_body b = body_of(HTTP_BODY_CHUNKED, 0);
		ssize_t a = scan_n(&b, s, k);
		cr_assert_eq(a, (ssize_t)(k < blen ? k : blen), "split %zu", k);
		cr_assert_eq(b.done, k >= blen, "split %zu", k);
		ssize_t c = scan_n(&b, s + a, n - a);
		cr_assert_eq((size_t)(a + c), blen, "split %zu: %zd + %zd", k, a, c);
		cr_assert(b.done && http_body_eof(&b));
	}
	struct http_body b = body_of(HTTP_BODY_CHUNKED, 0);
	for (size_t i = 0; i < n; i++) {
		ssize_t r = scan_n(&b, s + i, 1);
		cr_assert_eq(r, i < blen ? 1 : 0, "byte %zu", i);
		if (i + 1 < blen)
			cr_assert(!b.done && !http_body_eof(&b), "byte %zu", i);
	}
	cr_assert(b.done);
}

/* Scans a whole chunked body: its count, or its error. */
static ssize_t chunked(const char *s)
{
	struct http_body b = body_of(HTTP_BODY_CHUNKED, 0);
	ssize_t r = scan_n(&b, s, strlen(s));
	if (r >= 0 && !b.done)
		return -EAGAIN;
	return r;
}

Test(http, simple_get)
{
	const char *s = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n"
			"User-Agent:  curl/8.0 \t\r\nAccept: */*\r\n\r\nNEXT";
	struct http_head h;
	cr_assert_eq(http_parse_request(s, strlen(s), &h), 0);
	cr_assert(span_is(h.method, h.method_len, "GET"));
	cr_assert(span_is(h.target, h.target_len, "/index.html?q=1"));
	cr_assert_eq(h.minor, 1);
	cr_assert_eq(h.len, strlen(s) - 4);
	cr_assert_eq(h.nh, 3);
	cr_assert(span_is(h.h[1].name, h.h[1].name_len, "User-Agent"));
	cr_assert(span_is(h.h[1].value, h.h[1].value_len, "curl/8.0"));
	cr_assert_eq(h.body, HTTP_BODY_NONE);
	cr_assert(h.keep_alive);
	cr_assert(!h.expect_continue && !h.upgrade);
	size_t vl = 0;
	const char *v = http_header_get(&h, "HOST", &vl);
	cr_assert(span_is(v, vl, "example.com"));
	cr_assert_null(http_header_get(&h, "Cookie", &vl));
	cr_assert_null(http_header_get(&h, "Hos", &vl));
	struct http_body b;
	http_body_init(&b, &h);
	cr_assert(b.done && http_body_eof(&b));
	cr_assert_eq(http_body_scan(&b, "NEXT", 4), 0);
}

Test(http, empty_value_and_tab)
{
	struct http_head h;
	const char *s = "GET / HTTP/1.1\r\nX-Empty:\r\nX-Tab:\ta\tb\t\r\n"
			"X-Utf8: \xc3\xa9t\xc3\xa9\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert_eq(h.h[0].value_len, 0);
	cr_assert_eq(h.h[1].value_len, 3);
	cr_assert_eq(h.h[2].value_len, 5);
}

Test(http, keep_alive)
{
	struct http_head h;
	static const struct {
		const char *s;
		bool ka;
	} cases[] = {
		{"GET / HTTP/1.1\r\n\r\n", true},
		{"GET / HTTP/1.0\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nConnection: foo, Close ,bar\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nConnection: foo\r\nConnection: close\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", true},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
		{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
		{"GET / HTTP/1.0\r\nConnection: x,,\tkeep-alive\t\r\n\r\n", true},
		{"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
		{"GET / HTTP/1.0\r\nConnection: keep-alivex\r\n\r\n", false},
		{"GET / HTTP/1.0\r\nKeep-Alive: timeout=5\r\n\r\n", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(req_n(cases[i].s, strlen(cases[i].s), &h), 0, "%zu", i);
		cr_assert_eq(h.keep_alive, cases[i].ka, "%zu", i);
	}
	cr_assert_eq(resp_n("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 38, "GET", &h), 0);
	cr_assert(!h.keep_alive);
	const char *r = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n";
	cr_assert_eq(resp_n(r, strlen(r), "GET", &h), 0);
	cr_assert(h.keep_alive);
}

Test(http, expect_and_upgrade)
{
	struct http_head h;
	const char *s = "POST /u HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert(h.expect_continue);
	s = "POST /u HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert(!h.expect_continue);
	s = "GET /ws HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert(h.upgrade);
	s = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert(!h.upgrade);
	s = "GET /ws HTTP/1.1\r\nConnection: upgrade\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert(!h.upgrade);
	s = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert(h.upgrade);
	cr_assert(span_is(h.target, h.target_len, "example.com:443"));
	/* Responses: 101 and a CONNECT's 2xx end HTTP on the connection. */
	s = "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";
	cr_assert_eq(resp_n(s, strlen(s), "GET", &h), 0);
	cr_assert(h.upgrade && h.body == HTTP_BODY_NONE && !h.keep_alive);
	s = "HTTP/1.1 200 Connection established\r\n\r\n";
	cr_assert_eq(resp_n(s, strlen(s), "CONNECT", &h), 0);
	cr_assert(h.upgrade && h.body == HTTP_BODY_NONE);
	s = "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\n";
	cr_assert_eq(resp_n(s, strlen(s), "CONNECT", &h), 0);
	cr_assert(!h.upgrade && h.body == HTTP_BODY_LENGTH && h.content_length == 2);
}

Test(http, incremental)
{
	const char *s = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
	size_t hl = strlen(s) - 3;
	struct http_head h;
	for (size_t i = 0; i < hl; i++)
		cr_assert_eq(req_n(s, i, &h), -EAGAIN, "prefix %zu", i);
	for (size_t i = hl; i <= strlen(s); i++) {
		cr_assert_eq(req_n(s, i, &h), 0, "prefix %zu", i);
		cr_assert_eq(h.len, hl);
	}
	const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
	for (size_t i = 0; i < strlen(r); i++)
		cr_assert_eq(resp_n(r, i, "GET", &h), -EAGAIN, "prefix %zu", i);
	cr_assert_eq(resp_n(r, strlen(r), "GET", &h), 0);
	/* An error shows as soon as its line is complete. */
	cr_assert_eq(req("GET / HTTP/1.1\r\nBad Name: x\r\n"), -EINVAL);
	cr_assert_eq(req("GET / HTTP/1.1\r\nA: 1\r\n\n"), -EINVAL);
	cr_assert_eq(req("GET / HTTP/1.1\r\nA: 1\r\r"), -EINVAL);
}

Test(http, content_length_body)
{
	const char *s = "PUT /f HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789GET";
	struct http_head h;
	cr_assert_eq(http_parse_request(s, strlen(s), &h), 0);
	cr_assert_eq(h.body, HTTP_BODY_LENGTH);
	cr_assert_eq(h.content_length, 10);
	struct http_body b;
	http_body_init(&b, &h);
	cr_assert_eq(http_body_scan(&b, s + h.len, 4), 4);
	cr_assert(!b.done && !http_body_eof(&b));
	cr_assert_eq(http_body_scan(&b, s + h.len + 4, 9), 6);
	cr_assert(b.done && http_body_eof(&b));
	cr_assert_eq(http_body_scan(&b, "GET", 3), 0);
	/* Zero, repeated identical values, and leading zeros. */
	cr_assert_eq(req_n("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 38, &h), 0);
	cr_assert_eq(h.body, HTTP_BODY_LENGTH);
	http_body_init(&b, &h);
	cr_assert(b.done);
	cr_assert_eq(http_body_scan(&b, "x", 1), 0);
	s = "POST / HTTP/1.1\r\nContent-Length: 42\r\ncontent-length: 42\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert_eq(h.content_length, 42);
	s = "POST / HTTP/1.1\r\nContent-Length: 42 , 42,42\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert_eq(h.content_length, 42);
	s = "POST / HTTP/1.1\r\nContent-Length: 007\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert_eq(h.content_length, 7);
	s = "POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert_eq(h.content_length, UINT64_MAX);
}

Test(http, content_length_hostile)
{
	static const char *bad[] = {
		"1, 2", "-1", "+1", "1a", "0x10", "", " ", "1 2", "1,", ",1", "1,,1",
		"18446744073709551616", "99999999999999999999999", "1.0", "\xd9\xa1",
	};
	char s[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(s, sizeof(s), "POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\n", bad[i]);
		cr_assert_eq(req(s), -EINVAL, "'%s'", bad[i]);
		snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\n", bad[i]);
		cr_assert_eq(resp(s, "GET"), -EINVAL, "'%s'", bad[i]);
	}
	cr_assert_eq(req("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
		     -EINVAL);
	cr_assert_eq(req("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 01\r\n\r\n"), 0);
}

Test(http, chunked_body)
{
	const char *s = "POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n";
	struct http_head h;
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert_eq(h.body, HTTP_BODY_CHUNKED);
	const char *body = "5\r\nhello\r\n"
			   "1a;name=value;q=\"a;b c\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
			   "A \t; ext\r\n0123456789\r\n"
			   "000;last\r\n"
			   "Expires: never\r\nX-Sum:\t1 2\r\n"
			   "\r\n";
	char buf[512];
	snprintf(buf, sizeof(buf), "%sGET / HTTP/1.1\r\n\r\n", body);
	check_chunked_splits(buf, strlen(body));
	check_chunked_splits("0\r\n\r\n", 5);
	check_chunked_splits("0\r\n\r\nX", 5);
	check_chunked_splits("1\r\n\r\r\n0\r\n\r\n0\r\n\r\n", 11);
	/* The scanner's count at the end leaves the next message's bytes. */
	struct http_body b;
	http_body_init(&b, &h);
	cr_assert_eq(http_body_scan(&b, buf, strlen(buf)), (ssize_t)strlen(body));
	cr_assert(b.done);
	cr_assert_eq(http_body_scan(&b, buf, strlen(buf)), 0);
	struct http_head h2;
	cr_assert_eq(http_parse_request(buf + strlen(body), strlen(buf) - strlen(body), &h2), 0);
}

Test(http, chunked_hostile)
{
	static const char *bad[] = {
		"\r\n\r\n",                    /* no size */
		"x\r\n",                       /* not hex */
		"-1\r\n",                      /* sign */
		"0x5\r\nhello\r\n0\r\n\r\n",   /* prefix */
		"5\nhello\r\n0\r\n\r\n",       /* bare LF */
		"5\rhello\r\n0\r\n\r\n",       /* bare CR */
		"5 \r\nhello\r\n0\r\n\r\n",    /* BWS without an extension */
		" 5\r\nhello\r\n0\r\n\r\n",    /* leading space */
		"5;a\nb\r\nhello\r\n0\r\n\r\n",/* LF in an extension */
		"5;\x01\r\nhello\r\n0\r\n\r\n",/* control character in an extension */
		"5\r\nhelloX\r\n0\r\n\r\n",    /* no CRLF after the data */
		"5\r\nhello\rX0\r\n\r\n",
		"5\r\nhello\n0\r\n\r\n",
		"5\r\nhello0\r\n\r\n",
		"0\r\nX\r\n\r\n",               /* trailer line without a colon */
		"0\r\n: v\r\n\r\n",             /* empty trailer name */
		"0\r\nA : v\r\n\r\n",           /* space before the colon */
		"0\r\n x: v\r\n\r\n",           /* obs-fold */
		"0\r\nA: \x7f\r\n\r\n",         /* DEL in a trailer */
		"0\r\nA: v\rB: w\r\n\r\n",      /* bare CR in a trailer */
		"0\r\n\rX",                     /* no LF at the end */
		"0\r\n\n",
		"10000000000000000\r\n",        /* 2^64 */
		"4000000000000001\r\n",         /* over 2^62 */
		"FFFFFFFFFFFFFFFFFFFF\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ssize_t r = chunked(bad[i]);
		cr_assert_eq(r, -EINVAL, "%zu: %zd", i, r);
	}
	/* NUL in an extension or a trailer (the strings above stop at it). */
	struct http_body b = body_of(HTTP_BODY_CHUNKED, 0);
	cr_assert_eq(scan_n(&b, "5;a\0\r\nhello\r\n0\r\n\r\n", 18), -EINVAL);
	cr_assert_eq(http_body_scan(&b, "0\r\n\r\n", 5), -EINVAL); /* stays failed */
	cr_assert(!http_body_eof(&b));
	b = body_of(HTTP_BODY_CHUNKED, 0);
	cr_assert_eq(scan_n(&b, "0\r\nA: v\0\r\n\r\n", 12), -EINVAL);
	/* 2^62 exactly is allowed (truncated: not done); leading zeros too. */
	cr_assert_eq(chunked("4000000000000000\r\n"), -EAGAIN);
	cr_assert_eq(chunked("00000000000000000000000000000001\r\nx\r\n0\r\n\r\n"), 42);
	/* Lines: a size line (with its extensions) or a trailer line of 4096
	 * bytes is allowed, of 4097 not. */
	static char line[8192];
	for (int extra = 0; extra < 2; extra++) {
		memset(line, 0, sizeof(line));
		strcpy(line, "1;");
		memset(line + 2, 'e', 4094 + extra);
		strcat(line, "\r\nx\r\n0\r\n\r\n");
		cr_assert_eq(chunked(line), extra ? -EINVAL : (ssize_t)strlen(line), "%d", extra);
		memset(line, 0, sizeof(line));
		memset(line, '0', 4096 + extra);
		strcat(line, "\r\n\r\n");
		cr_assert_eq(chunked(line), extra ? -EINVAL : (ssize_t)strlen(line), "%d", extra);
		memset(line, 0, sizeof(line));
		strcpy(line, "0\r\nX:");
		memset(line + 5, 'v', 4094 + extra);
		strcat(line, "\r\n\r\n");
		cr_assert_eq(chunked(line), extra ? -EINVAL : (ssize_t)strlen(line), "%d", extra);
	}
	/* 100 trailer lines, then 101. */
	static char tr[4096];
	for (int n = 100; n <= 101; n++) {
		strcpy(tr, "0\r\n");
		for (int i = 0; i < n; i++)
			sprintf(tr + strlen(tr), "T%d: v\r\n", i);
		strcat(tr, "\r\n");
		cr_assert_eq(chunked(tr), n == 100 ? (ssize_t)strlen(tr) : -EINVAL, "%d", n);
	}
}

Test(http, pipelined)
{
	const char *s = "POST /1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
			"POST /2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ndef\r\n0\r\n\r\n"
			"\r\nGET /3 HTTP/1.1\r\n\r\n";
	size_t n = strlen(s), pos = 0;
	static const char *targets[] = {"/1", "/2", "/3"};
	for (int i = 0; i < 3; i++) {
		struct http_head h;
		cr_assert_eq(http_parse_request(s + pos, n - pos, &h), 0, "%d", i);
		cr_assert(span_is(h.target, h.target_len, targets[i]), "%d", i);
		pos += h.len;
		struct http_body b;
		http_body_init(&b, &h);
		ssize_t r = http_body_scan(&b, s + pos, n - pos);
		cr_assert(r >= 0 && b.done, "%d", i);
		pos += r;
	}
	cr_assert_eq(pos, n);
}

Test(http, leading_crlf)
{
	struct http_head h;
	const char *s = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	cr_assert_eq(h.len, strlen(s));
	cr_assert(span_is(h.method, h.method_len, "GET"));
	cr_assert_eq(req("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 0);
	cr_assert_eq(req("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"), -EINVAL);
	cr_assert_eq(req("\r\n"), -EAGAIN);
	cr_assert_eq(req("\r"), -EAGAIN);
	cr_assert_eq(req("\nGET / HTTP/1.1\r\n\r\n"), -EINVAL);
	/* Not before a status line. */
	cr_assert_eq(resp("\r\nHTTP/1.1 200 OK\r\n\r\n", "GET"), -EINVAL);
}

Test(http, response_bodies)
{
	struct http_head h;
	struct http_body b;
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
	cr_assert_eq(resp_n(s, strlen(s), "HEAD", &h), 0);
	cr_assert_eq(h.status, 200);
	cr_assert_eq(h.body, HTTP_BODY_NONE);
	cr_assert_eq(h.content_length, 5);
	cr_assert(h.keep_alive);
	http_body_init(&b, &h);
	cr_assert(b.done);
	cr_assert_eq(http_body_scan(&b, s + h.len, 10), 0);
	cr_assert_eq(resp_n(s + h.len, strlen(s) - h.len, "GET", &h), 0);
	cr_assert_eq(h.status, 204);
	cr_assert_eq(h.body, HTTP_BODY_NONE);
	static const char *none[] = {
		"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", /* to HEAD */
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		cr_assert_eq(resp_n(none[i], strlen(none[i]), i == 5 ? "HEAD" : "GET", &h), 0,
			     "%zu", i);
		cr_assert_eq(h.body, HTTP_BODY_NONE, "%zu", i);
		cr_assert(h.keep_alive && !h.upgrade, "%zu", i);
	}
	s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	cr_assert_eq(resp_n(s, strlen(s), "GET", &h), 0);
	cr_assert_eq(h.body, HTTP_BODY_CHUNKED);
	s = "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n";
	cr_assert_eq(resp_n(s, strlen(s), "POST", &h), 0);
	cr_assert_eq(h.status, 200);
	cr_assert_eq(h.body, HTTP_BODY_LENGTH);
	cr_assert_eq(resp("HTTP/1.1 599 \r\n\r\n", "GET"), 0);
	cr_assert_eq(resp("HTTP/1.1 404 Not\tFound \xe2\x9c\x97\r\n\r\n", "GET"), 0);
	cr_assert_eq(http_parse_response("HTTP/1.1 200 OK\r\n\r\n", 19, NULL, 0, &h), 0);
	cr_assert_eq(h.body, HTTP_BODY_UNTIL_CLOSE);
}

Test(http, interim_then_final)
{
	const char *s = "HTTP/1.1 100 Continue\r\n\r\n"
			"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
			"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
			"HTTP/1.1 200 OK\r\nContent-Length: 42, 42\r\n\r\n";
	static const int status[] = {100, 103, 201, 200};
	size_t n = strlen(s), pos = 0;
	for (int i = 0; i < 4; i++) {
		struct http_head h;
		cr_assert_eq(http_parse_response(s + pos, n - pos, "POST", 4, &h), 0, "%d", i);
		cr_assert_eq(h.status, status[i]);
		cr_assert_eq(h.body, i < 2 ? HTTP_BODY_NONE : HTTP_BODY_LENGTH, "%d", i);
		pos += h.len;
		struct http_body b;
		http_body_init(&b, &h);
		pos += http_body_scan(&b, s + pos, n - pos);
		cr_assert(b.done || i == 3);
	}
	cr_assert_eq(pos, n);
}

Test(http, until_close_and_truncation)
{
	struct http_head h;
	const char *s = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
	cr_assert_eq(resp_n(s, strlen(s), "GET", &h), 0);
	cr_assert_eq(h.body, HTTP_BODY_UNTIL_CLOSE);
	cr_assert(!h.keep_alive);
	struct http_body b;
	http_body_init(&b, &h);
	cr_assert_eq(http_body_scan(&b, "anything at all", 15), 15);
	cr_assert_eq(http_body_scan(&b, "HTTP/1.1 200 OK\r\n", 17), 17);
	cr_assert(!b.done);
	cr_assert(http_body_eof(&b));
	cr_assert(b.done);
	/* Truncated bodies. */
	b = body_of(HTTP_BODY_LENGTH, 10);
	cr_assert_eq(http_body_scan(&b, "12345", 5), 5);
	cr_assert(!http_body_eof(&b));
	b = body_of(HTTP_BODY_CHUNKED, 0);
	cr_assert_eq(http_body_scan(&b, "5\r\nhello\r\n", 10), 10);
	cr_assert(!http_body_eof(&b));
	b = body_of(HTTP_BODY_CHUNKED, 0);
	cr_assert_eq(http_body_scan(&b, "0\r\n\r", 4), 4);
	cr_assert(!http_body_eof(&b));
	cr_assert_eq(http_body_scan(&b, "\n", 1), 1);
	cr_assert(http_body_eof(&b));
	b = body_of(HTTP_BODY_NONE, 0);
	cr_assert(http_body_eof(&b));
}

Test(http, transfer_encoding_hostile)
{
	static const char *bad[] = {
		"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunkedx\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunk\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: \xc4\x8dhunked\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(req(bad[i]), -EINVAL, "%zu", i);
	cr_assert_eq(req("POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED \r\n\r\n"), 0);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "GET"),
		     -EINVAL);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
			  "GET"),
		     -EINVAL);
	cr_assert_eq(resp("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET"), -EINVAL);
}

Test(http, field_hostile)
{
	static const char *bad[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",   /* obs-fold */
		"GET / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n",
		"GET / HTTP/1.1\r\n Host: a\r\n\r\n",             /* whitespace after start-line */
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",             /* space before colon */
		"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",
		"GET / HTTP/1.1\r\n: a\r\n\r\n",                  /* empty name */
		"GET / HTTP/1.1\r\nHost a\r\n\r\n",               /* no colon */
		"GET / HTTP/1.1\r\nHost\r\n\r\n",
		"GET / HTTP/1.1\r\nX(y): a\r\n\r\n",              /* not a token */
		"GET / HTTP/1.1\r\nX\xc3\xa9: a\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",              /* bare CR */
		"GET / HTTP/1.1\r\nX: a\r\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n",           /* bare LF */
		"GET / HTTP/1.1\nX: a\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\r\n\n",
		"GET / HTTP/1.1\r\nX: a\x01\r\n\r\n",             /* control characters */
		"GET / HTTP/1.1\r\nX: \x1b[31m\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",
		"GET / HTTP/1.1\r\nX: \x0b\r\n\r\n",
		"GET / HTTP/1.1\r\nX: \x0c\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  /* two Hosts */
		"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",                         /* a response */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(req(bad[i]), -EINVAL, "%zu", i);
	/* NUL, which a C string cannot hold. */
	struct http_head h;
	const char nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
	cr_assert_eq(req_n(nul, sizeof(nul) - 1, &h), -EINVAL);
	const char nul2[] = "GET / HTTP/1.1\r\nX\0: a\r\n\r\n";
	cr_assert_eq(req_n(nul2, sizeof(nul2) - 1, &h), -EINVAL);
	const char nul3[] = "GET /\0 HTTP/1.1\r\n\r\n";
	cr_assert_eq(req_n(nul3, sizeof(nul3) - 1, &h), -EINVAL);
	/* Response fields obey the same rules. */
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", "GET"),
		     -EINVAL);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 0\r\n\r\n", "GET"), -EINVAL);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nX: \x01\r\nContent-Length: 0\r\n\r\n", "GET"), -EINVAL);
	cr_assert_eq(resp("HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\n\r\n", "GET"), 0);
}

Test(http, request_line_hostile)
{
	static const char *bad[] = {
		"GET  / HTTP/1.1\r\n\r\n",        /* two spaces */
		"GET /  HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1 \r\n\r\n",
		" GET / HTTP/1.1\r\n\r\n",
		"GET\t/ HTTP/1.1\r\n\r\n",
		"GET /\tHTTP/1.1\r\n\r\n",
		"GET /a b HTTP/1.1\r\n\r\n",      /* space in the target */
		"GET /a\x01 HTTP/1.1\r\n\r\n",    /* control characters in it */
		"GET /a\x7f HTTP/1.1\r\n\r\n",
		"GET /a\x1b HTTP/1.1\r\n\r\n",
		"GET  HTTP/1.1\r\n\r\n",          /* empty target */
		"GET /\r\n\r\n",                  /* HTTP/0.9 */
		"GET / \r\n\r\n",
		"GET\r\n\r\n",
		"/ HTTP/1.1\r\n\r\n",
		" / HTTP/1.1\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n",         /* bad method tokens */
		"GE:T / HTTP/1.1\r\n\r\n",
		"G\xc3\x89T / HTTP/1.1\r\n\r\n",
		"GET\x01 / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1x\r\n\r\n",        /* garbage versions */
		"GET / HTTP/11\r\n\r\n",
		"GET / HTTP/1.10\r\n\r\n",
		"GET / HTTP/1\r\n\r\n",
		"GET / http/1.1\r\n\r\n",
		"GET / HTTPS/1.1\r\n\r\n",
		"GET / HTTP/a.b\r\n\r\n",
		"GET / HTTP/1,1\r\n\r\n",
		"GET / HTTP/\r\n\r\n",
		"GET / FOO\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(req(bad[i]), -EINVAL, "%zu", i);
	cr_assert_eq(req("GET / HTTP/2.0\r\n\r\n"), -ENOSYS);
	cr_assert_eq(req("GET / HTTP/1.2\r\n\r\n"), -ENOSYS);
	cr_assert_eq(req("GET / HTTP/0.9\r\n\r\n"), -ENOSYS);
	cr_assert_eq(req("GET / HTTP/3.0\r\n\r\n"), -ENOSYS);
	/* Any token is a method; the target may be absolute, an authority,
	 * "*", or hold raw UTF-8. */
	cr_assert_eq(req("M-SEARCH * HTTP/1.1\r\n\r\n"), 0);
	cr_assert_eq(req("OPTIONS * HTTP/1.1\r\n\r\n"), 0);
	cr_assert_eq(req("GET http://a.example/x?y#z HTTP/1.1\r\n\r\n"), 0);
	cr_assert_eq(req("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n"), 0);
	struct http_head h;
	cr_assert_eq(req_n("get / HTTP/1.0\r\n\r\n", 18, &h), 0);
	cr_assert_eq(h.minor, 0);
	cr_assert(span_is(h.method, h.method_len, "get"));
}

Test(http, status_line_hostile)
{
	static const char *bad[] = {
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 X\r\n\r\n",
		"HTTP/1.1 600 X\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 200OK\r\n\r\n",
		"HTTP/1.1 200 O\x01K\r\n\r\n",
		"HTTP/1.1 200 O\x7fK\r\n\r\n",
		"HTTP/1.1\r\n\r\n",
		"HTTP/1.1 \r\n\r\n",
		"HTTP/1.1x200 OK\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
		"HTTP/11 200 OK\r\n\r\n",
		"ICY 200 OK\r\n\r\n",
		"HTTP/1.1 -20 OK\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(resp(bad[i], "GET"), -EINVAL, "%zu", i);
	cr_assert_eq(resp("HTTP/2.0 200 OK\r\n\r\n", "GET"), -ENOSYS);
	cr_assert_eq(resp("HTTP/2 200 OK\r\n\r\n", "GET"), -EINVAL);
}

/* A request head of exactly total bytes, padded in one field. */
static char *head_of(size_t total)
{
	char *s = malloc(total + 1);
	const char *pre = "GET / HTTP/1.1\r\nX: ";
	size_t pl = strlen(pre);
	memcpy(s, pre, pl);
	memset(s + pl, 'a', total - pl - 4);
	memcpy(s + total - 4, "\r\n\r\n", 5);
	return s;
}

Test(http, head_max)
{
	struct http_head h;
	char *s = head_of(HTTP_HEAD_MAX);
	cr_assert_eq(req_n(s, HTTP_HEAD_MAX, &h), 0);
	cr_assert_eq(h.len, HTTP_HEAD_MAX);
	cr_assert_eq(req_n(s, HTTP_HEAD_MAX - 1, &h), -EAGAIN);
	free(s);
	s = head_of(HTTP_HEAD_MAX + 1);
	for (size_t n = HTTP_HEAD_MAX; n <= HTTP_HEAD_MAX + 1; n++)
		cr_assert_eq(req_n(s, n, &h), -E2BIG, "%zu", n);
	cr_assert_eq(req_n(s, HTTP_HEAD_MAX - 1, &h), -EAGAIN);
	free(s);
	/* Never -EAGAIN once HTTP_HEAD_MAX bytes hold no complete head,
	 * wherever they end (here, in a CRLF). */
	s = head_of(HTTP_HEAD_MAX + 2);
	cr_assert_eq(req_n(s, HTTP_HEAD_MAX, &h), -E2BIG);
	cr_assert_eq(req_n(s, HTTP_HEAD_MAX + 2, &h), -E2BIG);
	free(s);
	s = head_of(4 * HTTP_HEAD_MAX);
	cr_assert_eq(req_n(s, 4 * HTTP_HEAD_MAX, &h), -E2BIG);
	free(s);
	/* A start-line alone past the bound. */
	s = malloc(HTTP_HEAD_MAX + 10);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', HTTP_HEAD_MAX + 5);
	cr_assert_eq(req_n(s, HTTP_HEAD_MAX + 10, &h), -E2BIG);
	cr_assert_eq(resp_n(s, HTTP_HEAD_MAX + 10, "GET", &h), -E2BIG);
	memcpy(s, "HTTP/1.1 200 ", 13);
	cr_assert_eq(resp_n(s, HTTP_HEAD_MAX + 10, "GET", &h), -E2BIG);
	free(s);
}

Test(http, headers_max)
{
	static char s[8192];
	struct http_head h;
	for (int n = HTTP_HEADERS_MAX; n <= HTTP_HEADERS_MAX + 1; n++) {
		strcpy(s, "GET / HTTP/1.1\r\n");
		for (int i = 0; i < n; i++)
			sprintf(s + strlen(s), "X-%d: %d\r\n", i, i);
		strcat(s, "\r\n");
		int r = req_n(s, strlen(s), &h);
		cr_assert_eq(r, n == HTTP_HEADERS_MAX ? 0 : -E2BIG, "%d", n);
		if (!r) {
			cr_assert_eq(h.nh, HTTP_HEADERS_MAX);
			size_t vl;
			const char *v = http_header_get(&h, "x-99", &vl);
			cr_assert(span_is(v, vl, "99"));
		}
	}
	/* The 101st complete field is refused before the head ends. */
	cr_assert_eq(req_n(s, strlen(s) - 2, &h), -E2BIG);
}

Test(http, first_of_repeated_field)
{
	struct http_head h;
	const char *s = "GET / HTTP/1.1\r\nCookie: a=1\r\nCOOKIE: b=2\r\n\r\n";
	cr_assert_eq(req_n(s, strlen(s), &h), 0);
	size_t vl = 99;
	const char *v = http_header_get(&h, "cookie", &vl);
	cr_assert(span_is(v, vl, "a=1"));
	cr_assert_eq(http_header_get(&h, "cookie", NULL), v);
}
