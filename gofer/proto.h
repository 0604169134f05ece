/* The gofer's wire protocol (internal to gofer/): one request, one reply,
 * each one SOCK_SEQPACKET message of at most GF_MSG_MAX bytes, made of a
 * header {u32 op, u32 len} and len bytes of payload.  Integers are
 * little-endian and unaligned; strings are a u16 length and that many bytes
 * (no NUL).  A reply carries the request's op, or GF_OP_ERROR with a u32
 * errno; file descriptors ride on the reply as SCM_RIGHTS.  The whole
 * message list, field by field, is in docs/gofer.md. */
#ifndef HUSK_GOFER_PROTO_H
#define HUSK_GOFER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gofer.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the gofer protocol is encoded with memcpy on little-endian hosts only"
#endif

enum {
	GF_MSG_MAX = 65536,  /* a whole message, header included */
	GF_HDR_SIZE = 8,
	GF_NAME_MAX = 255,   /* one path component */
	GF_PATH_MAX = 4095,  /* attach paths and symlink targets */
	GF_WALK_MAX = 64,    /* components in one walk */
	GF_DENTS_MAX = 256,  /* entries in one getdents reply */
	GF_FIDS_MAX = 1 << 20, /* fids open at once on one connection */
	GF_STAT_SIZE = 112,  /* an encoded gf_stat */
	GF_STATFS_SIZE = 88, /* an encoded statfs */
	/* fids in one close request: the header, the count, then u64 each */
	GF_CLOSE_MAX = (GF_MSG_MAX - GF_HDR_SIZE - 4) / 8,
};

enum gf_op {
	GF_OP_ERROR = 0,
	GF_OP_ATTACH = 1,
	GF_OP_WALK = 2,
	GF_OP_STAT = 3,
	GF_OP_OPEN = 4,
	GF_OP_READLINK = 5,
	GF_OP_GETDENTS = 6,
	GF_OP_STATFS = 7,
	GF_OP_CLOSE = 8,
	GF_OP_MKDIR = 9,
	GF_OP_CREATE = 10,
	GF_OP_SYMLINK = 11,
	GF_OP_LINK = 12,
	GF_OP_UNLINK = 13,
	GF_OP_RENAME = 14,
	GF_OP_SETATTR = 15,
	GF_OP_COUNT
};

/* ---- a bounded reader ---- */

struct gf_rd {
	const uint8_t *p;
	size_t left;
	bool bad; /* a read went past the end: every later read gives zero */
};

static inline void gf_rd_init(struct gf_rd *r, const void *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->bad = false;
}

static inline bool gf_rd_take(struct gf_rd *r, void *out, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		memset(out, 0, n);
		return false;
	}
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

static inline uint8_t gf_rd_u8(struct gf_rd *r)
{
	uint8_t v;
	gf_rd_take(r, &v, 1);
	return v;
}
static inline uint16_t gf_rd_u16(struct gf_rd *r)
{
	uint16_t v;
	gf_rd_take(r, &v, 2);
	return v;
}
static inline uint32_t gf_rd_u32(struct gf_rd *r)
{
	uint32_t v;
	gf_rd_take(r, &v, 4);
	return v;
}
static inline uint64_t gf_rd_u64(struct gf_rd *r)
{
	uint64_t v;
	gf_rd_take(r, &v, 8);
	return v;
}
static inline int64_t gf_rd_i64(struct gf_rd *r) { return (int64_t)gf_rd_u64(r); }

/* A string: u16 length, then the bytes, borrowed from the message (not
 * NUL-terminated).  Lengths past max or past the message mark r bad. */
static inline const char *gf_rd_str(struct gf_rd *r, size_t max, size_t *len)
{
	size_t n = gf_rd_u16(r);
	if (r->bad || n > max || n > r->left) {
		r->bad = true;
		*len = 0;
		return "";
	}
	const char *s = (const char *)r->p;
	r->p += n;
	r->left -= n;
	*len = n;
	return s;
}

/* All read, nothing left over, nothing past the end. */
static inline bool gf_rd_done(const struct gf_rd *r) { return !r->bad && r->left == 0; }

/* ---- a bounded writer ---- */

struct gf_wr {
	uint8_t *p;
	size_t len, cap;
	bool over; /* a write did not fit: the message is unusable */
};

static inline void gf_wr_init(struct gf_wr *w, void *p, size_t cap)
{
	w->p = p;
	w->len = 0;
	w->cap = cap;
	w->over = false;
}

static inline bool gf_wr_put(struct gf_wr *w, const void *v, size_t n)
{
	if (w->over || w->cap - w->len < n) {
		w->over = true;
		return false;
	}
	if (n)
		memcpy(w->p + w->len, v, n);
	w->len += n;
	return true;
}

static inline void gf_wr_u8(struct gf_wr *w, uint8_t v) { gf_wr_put(w, &v, 1); }
static inline void gf_wr_u16(struct gf_wr *w, uint16_t v) { gf_wr_put(w, &v, 2); }
static inline void gf_wr_u32(struct gf_wr *w, uint32_t v) { gf_wr_put(w, &v, 4); }
static inline void gf_wr_u64(struct gf_wr *w, uint64_t v) { gf_wr_put(w, &v, 8); }
static inline void gf_wr_i64(struct gf_wr *w, int64_t v) { gf_wr_u64(w, (uint64_t)v); }

static inline void gf_wr_str(struct gf_wr *w, const char *s, size_t n)
{
	if (n > UINT16_MAX) {
		w->over = true;
		return;
	}
	gf_wr_u16(w, (uint16_t)n);
	gf_wr_put(w, s, n);
}

/* ---- shared encodings ---- */

static inline void gf_wr_stat(struct gf_wr *w, const struct gf_stat *st)
{
	gf_wr_u64(w, st->ino);
	gf_wr_u64(w, st->dev);
	gf_wr_u32(w, st->mode);
	gf_wr_u32(w, st->nlink);
	gf_wr_u32(w, st->uid);
	gf_wr_u32(w, st->gid);
	gf_wr_u64(w, st->rdev);
	gf_wr_u64(w, st->size);
	gf_wr_u64(w, st->blocks);
	gf_wr_u32(w, st->blksize);
	gf_wr_u32(w, 0);
	gf_wr_i64(w, st->atime_sec);
	gf_wr_i64(w, st->atime_nsec);
	gf_wr_i64(w, st->mtime_sec);
	gf_wr_i64(w, st->mtime_nsec);
	gf_wr_i64(w, st->ctime_sec);
	gf_wr_i64(w, st->ctime_nsec);
}

static inline void gf_rd_stat(struct gf_rd *r, struct gf_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->ino = gf_rd_u64(r);
	st->dev = gf_rd_u64(r);
	st->mode = gf_rd_u32(r);
	st->nlink = gf_rd_u32(r);
	st->uid = gf_rd_u32(r);
	st->gid = gf_rd_u32(r);
	st->rdev = gf_rd_u64(r);
	st->size = gf_rd_u64(r);
	st->blocks = gf_rd_u64(r);
	st->blksize = gf_rd_u32(r);
	(void)gf_rd_u32(r);
	st->atime_sec = gf_rd_i64(r);
	st->atime_nsec = gf_rd_i64(r);
	st->mtime_sec = gf_rd_i64(r);
	st->mtime_nsec = gf_rd_i64(r);
	st->ctime_sec = gf_rd_i64(r);
	st->ctime_nsec = gf_rd_i64(r);
}

/* A valid name: 1..255 bytes, no '/', no NUL, not "." or "..". */
static inline bool gf_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > GF_NAME_MAX)
		return false;
	if (memchr(s, '/', n) || memchr(s, '\0', n))
		return false;
	if (s[0] == '.' && (n == 1 || (n == 2 && s[1] == '.')))
		return false;
	return true;
}

#endif
