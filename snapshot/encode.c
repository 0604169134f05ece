/* The object encoder and its bounds-checked decoder. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "snapshot.h"

/* ---- encoding ---- */

void snap_enc_init(struct snap_enc *e)
{
	memset(e, 0, sizeof *e);
}

void snap_enc_free(struct snap_enc *e)
{
	free(e->buf);
	memset(e, 0, sizeof *e);
}

static void enc_fail(struct snap_enc *e, int err)
{
	if (!e->err)
		e->err = err;
}

/* Room for n more bytes, or NULL with the sticky error set. */
static uint8_t *enc_room(struct snap_enc *e, size_t n)
{
	if (e->err)
		return NULL;
	if (n > SNAP_ENC_LIMIT - e->len) {
		enc_fail(e, -E2BIG);
		return NULL;
	}
	if (e->len + n > e->cap) {
		size_t cap = e->cap ? e->cap : 256;
		while (cap < e->len + n)
			cap *= 2;
		if (cap > SNAP_ENC_LIMIT)
			cap = SNAP_ENC_LIMIT;
		uint8_t *b = realloc(e->buf, cap);
		if (!b) {
			enc_fail(e, -ENOMEM);
			return NULL;
		}
		e->buf = b;
		e->cap = cap;
	}
	uint8_t *p = e->buf + e->len;
	e->len += n;
	return p;
}

void snap_put_u8(struct snap_enc *e, uint8_t v)
{
	uint8_t *p = enc_room(e, 1);
	if (p)
		*p = v;
}

void snap_put_u16(struct snap_enc *e, uint16_t v)
{
	uint8_t *p = enc_room(e, 2);
	if (p)
		snap_st16(p, v);
}

void snap_put_u32(struct snap_enc *e, uint32_t v)
{
	uint8_t *p = enc_room(e, 4);
	if (p)
		snap_st32(p, v);
}

void snap_put_u64(struct snap_enc *e, uint64_t v)
{
	uint8_t *p = enc_room(e, 8);
	if (p)
		snap_st64(p, v);
}

void snap_put_i64(struct snap_enc *e, int64_t v)
{
	snap_put_u64(e, (uint64_t)v);
}

void snap_put_bytes(struct snap_enc *e, const void *src, size_t len)
{
	if (len > UINT32_MAX) {
		enc_fail(e, -E2BIG);
		return;
	}
	uint8_t *p = enc_room(e, 4 + len);
	if (!p)
		return;
	snap_st32(p, (uint32_t)len);
	if (len)
		memcpy(p + 4, src, len);
}

void snap_put_str(struct snap_enc *e, const char *s)
{
	snap_put_bytes(e, s, strlen(s));
}

void snap_rec_begin(struct snap_enc *e, uint32_t tag)
{
	if (e->err)
		return;
	if (e->depth >= SNAP_REC_DEPTH) {
		enc_fail(e, -EINVAL);
		return;
	}
	uint8_t *p = enc_room(e, 8);
	if (!p)
		return;
	snap_st32(p, tag);
	snap_st32(p + 4, 0); /* the length, once the body is known */
	e->open[e->depth++] = e->len - 4;
}

void snap_rec_end(struct snap_enc *e)
{
	if (e->err)
		return;
	if (!e->depth) {
		enc_fail(e, -EINVAL);
		return;
	}
	size_t at = e->open[--e->depth];
	size_t body = e->len - (at + 4);
	/* Below SNAP_ENC_LIMIT, so it fits in a u32. */
	snap_st32(e->buf + at, (uint32_t)body);
}

int snap_enc_result(const struct snap_enc *e, const void **data, size_t *len)
{
	if (e->err)
		return e->err;
	if (e->depth)
		return -EINVAL;
	*data = e->buf;
	*len = e->len;
	return 0;
}

/* ---- decoding ---- */

void snap_dec_init(struct snap_dec *d, const void *p, size_t len)
{
	d->p = p ? p : (const uint8_t *)""; /* never arithmetic on NULL */
	d->len = p ? len : 0;
	d->pos = 0;
	d->bad = false;
	d->parent = NULL;
}

/* Marks d and every decoder it came from. */
static void dec_fail(struct snap_dec *d)
{
	for (; d; d = d->parent)
		d->bad = true;
}

/* The next n bytes, or NULL with the error set (and nothing consumed). */
static const uint8_t *dec_take(struct snap_dec *d, size_t n)
{
	if (d->bad)
		return NULL;
	if (n > d->len - d->pos) {
		dec_fail(d);
		return NULL;
	}
	const uint8_t *p = d->p + d->pos;
	d->pos += n;
	return p;
}

uint8_t snap_get_u8(struct snap_dec *d)
{
	const uint8_t *p = dec_take(d, 1);
	return p ? *p : 0;
}

uint16_t snap_get_u16(struct snap_dec *d)
{
	const uint8_t *p = dec_take(d, 2);
	return p ? snap_ld16(p) : 0;
}

uint32_t snap_get_u32(struct snap_dec *d)
{
	const uint8_t *p = dec_take(d, 4);
	return p ? snap_ld32(p) : 0;
}

uint64_t snap_get_u64(struct snap_dec *d)
{
	const uint8_t *p = dec_take(d, 8);
	return p ? snap_ld64(p) : 0;
}

int64_t snap_get_i64(struct snap_dec *d)
{
	return (int64_t)snap_get_u64(d);
}

const void *snap_get_blob(struct snap_dec *d, size_t *len)
{
	*len = 0;
	const uint8_t *h = dec_take(d, 4);
	if (!h)
		return NULL;
	uint32_t n = snap_ld32(h);
	const uint8_t *p = dec_take(d, n);
	if (!p)
		return NULL;
	*len = n;
	return p;
}

size_t snap_get_bytes(struct snap_dec *d, void *dst, size_t max)
{
	size_t n;
	const void *p = snap_get_blob(d, &n);
	if (!p)
		return 0;
	if (n > max) {
		dec_fail(d);
		return 0;
	}
	if (n)
		memcpy(dst, p, n);
	return n;
}

size_t snap_get_str(struct snap_dec *d, char *dst, size_t dstsize)
{
	size_t n;
	const char *p = snap_get_blob(d, &n);
	if (dstsize)
		dst[0] = '\0';
	if (!p)
		return 0;
	if (n >= dstsize || memchr(p, '\0', n)) {
		dec_fail(d);
		return 0;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
	return n;
}

bool snap_rec_next(struct snap_dec *d, uint32_t *tag, struct snap_dec *body)
{
	*tag = 0;
	snap_dec_init(body, NULL, 0);
	body->bad = true; /* reading a body that is not there is an error too */
	if (d->bad || d->pos == d->len)
		return false;
	const uint8_t *h = dec_take(d, 8);
	if (!h)
		return false;
	uint32_t n = snap_ld32(h + 4);
	const uint8_t *p = dec_take(d, n);
	if (!p)
		return false;
	*tag = snap_ld32(h);
	snap_dec_init(body, p, n);
	body->parent = d;
	return true;
}

int snap_dec_err(const struct snap_dec *d)
{
	return d->bad ? -EBADMSG : 0;
}

bool snap_dec_done(const struct snap_dec *d)
{
	return !d->bad && d->pos == d->len;
}

size_t snap_dec_left(const struct snap_dec *d)
{
	return d->bad ? 0 : d->len - d->pos;
}
