/* HTTP/1.1 message heads and body framing, as the node's router needs
 * them (RFC 9112): it reads a request's head to route it, then passes
 * bytes through unchanged and only needs to know where each body, and
 * each response, ends (to keep connections alive and to free an
 * instance's slot).  Internal to executor/. */
#ifndef HUSK_EXECUTOR_HTTP_H
#define HUSK_EXECUTOR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A head longer than this is refused (431 for a request). */
#define HTTP_HEAD_MAX 16384
#define HTTP_HEADERS_MAX 100

struct http_header {
	const char *name, *value; /* into the parsed buffer; not NUL-terminated */
	size_t name_len, value_len; /* value: without surrounding spaces/tabs */
};

enum http_body_kind {
	HTTP_BODY_NONE,        /* no body: requests without length, HEAD, 1xx/204/304 */
	HTTP_BODY_LENGTH,      /* content_length bytes */
	HTTP_BODY_CHUNKED,     /* chunked transfer coding, up to the last chunk and trailers */
	HTTP_BODY_UNTIL_CLOSE, /* a response with neither: until the connection closes */
};

struct http_head {
	/* A request's method and target, a response's status. */
	const char *method, *target;
	size_t method_len, target_len;
	int status;
	int minor;  /* HTTP/1.minor: 0 or 1 */
	size_t len; /* bytes of the head, up to and with its empty line */
	struct http_header h[HTTP_HEADERS_MAX];
	int nh;
	enum http_body_kind body;
	uint64_t content_length;
	bool keep_alive;      /* the connection may carry another message after this one */
	bool expect_continue; /* a request's "Expect: 100-continue" */
	bool upgrade;         /* Connection: upgrade with an Upgrade header, or CONNECT */
};

/* Parses the request head at the start of buf[0, len): 0 when it is all
 * there (*out filled, pointing into buf), -EAGAIN when more bytes are
 * needed, -E2BIG when the head is longer than HTTP_HEAD_MAX or has more
 * than HTTP_HEADERS_MAX fields (431), -EINVAL when it is malformed or
 * ambiguous (400): request smuggling vectors such as Content-Length with
 * Transfer-Encoding, differing Content-Lengths, a transfer coding other
 * than a final "chunked", obsolete line folding, whitespace before a
 * field's colon, bare CR, control characters, and -ENOSYS for a version
 * other than HTTP/1.0 or 1.1 (505). */
int http_parse_request(const char *buf, size_t len, struct http_head *out);

/* The same for a response to a request made with method (its body
 * framing depends on it: HEAD and CONNECT 2xx have none), also skipping
 * nothing: an interim 1xx response parses as a head with no body, and the
 * caller expects another head after it (except 101). */
int http_parse_response(const char *buf, size_t len, const char *method, size_t method_len,
			struct http_head *out);

/* The value of the first field named name (case-insensitive), or NULL;
 * *vlen its length. */
const char *http_header_get(const struct http_head *h, const char *name, size_t *vlen);

/* Where a body ends in a byte stream, without changing the bytes. */
struct http_body {
	enum http_body_kind kind;
	uint64_t left;    /* LENGTH: bytes to go; CHUNKED: of the current chunk's data */
	int state;        /* CHUNKED: where in the framing the scanner is */
	uint64_t size;    /* CHUNKED: the chunk size being read; in the trailers, their count */
	size_t line;      /* CHUNKED: bytes of the current size or trailer line so far */
	bool done;
};
void http_body_init(struct http_body *b, const struct http_head *h);
/* Scans buf[0, len): how many of those bytes belong to the body (the rest
 * are the next message's), with b->done set once the body has ended;
 * -EINVAL when the chunked framing is malformed (a bad size, a size over
 * 2^62, a missing CRLF after a chunk's data, a size, extension or
 * trailer line over 4096 bytes, more than 100 trailer lines).
 * UNTIL_CLOSE takes everything and is done only at http_body_eof. */
ssize_t http_body_scan(struct http_body *b, const char *buf, size_t len);
/* The peer closed: whether that ends the body properly (UNTIL_CLOSE, or
 * already done) rather than truncating it. */
bool http_body_eof(struct http_body *b);

#endif
