/* snapshot: husk's snapshot file format and its I/O, the whole interface.
 *
 * A snapshot file holds a frozen sandbox: typed sections (the kernel's
 * object graph, and whatever else the kernel adds) and the guest's memory
 * as independent, lz4-compressed blocks with an index, so that restore can
 * load pages lazily, block by block, from several threads.  The layout is
 * described in snapshot/format.h.
 *
 * Three parts:
 *   - an encoder and a bounds-checked decoder (snap_enc, snap_dec) that the
 *     kernel serialises its objects with: fixed-width little-endian
 *     integers, length-prefixed byte strings, nested tagged records;
 *   - a writer that streams sections and memory ranges into PATH.tmp and
 *     renames it to PATH once everything is on disk;
 *   - a reader that maps a file, checks its header, section table, sections
 *     and memory index when it opens (cheap: it never touches the memory
 *     blocks), and checks each block as it is read.
 *
 * A snapshot file is hostile input: the decoder and the reader check every
 * length, count and offset, and fail with -EBADMSG (and, from the reader,
 * a one-line reason) rather than read out of bounds, loop, or allocate
 * memory in proportion to what a file claims.  A plain library: no
 * threads, no globals.  Functions return 0 (or a count) or a negative
 * errno. */
#ifndef HUSK_SNAPSHOT_H
#define HUSK_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- object encoding ----
 * Values are written as they come, with no self-description: the decoder
 * must ask for the same sequence.  Records (tag + u32 length + body) group
 * them, so that a reader can skip what it does not know and a body can
 * never be read past its end.  Byte and string lengths are u32. */

#define SNAP_ENC_LIMIT (1u << 30) /* the most an encoder buffer grows to */
#define SNAP_REC_DEPTH 32	  /* records nest this deep at most */

/* A growable buffer with a sticky error: after the first failure (memory,
 * the limit, unbalanced records) every put is ignored and snap_enc_err
 * says why, so the caller checks once at the end. */
struct snap_enc {
	uint8_t *buf;
	size_t len, cap;
	int err; /* 0, -ENOMEM, -E2BIG (past SNAP_ENC_LIMIT or 4 GiB in one
		  * length), -EINVAL (records nested too deep or unbalanced) */
	unsigned depth;
	size_t open[SNAP_REC_DEPTH]; /* where each open record's length goes */
};

void snap_enc_init(struct snap_enc *e);
void snap_enc_free(struct snap_enc *e);
void snap_put_u8(struct snap_enc *e, uint8_t v);
void snap_put_u16(struct snap_enc *e, uint16_t v);
void snap_put_u32(struct snap_enc *e, uint32_t v);
void snap_put_u64(struct snap_enc *e, uint64_t v);
void snap_put_i64(struct snap_enc *e, int64_t v);
/* u32 length, then the bytes. */
void snap_put_bytes(struct snap_enc *e, const void *p, size_t len);
/* As snap_put_bytes, without the NUL. */
void snap_put_str(struct snap_enc *e, const char *s);
/* A record: u32 tag, u32 length of the body, the body (everything put
 * until the matching snap_rec_end). */
void snap_rec_begin(struct snap_enc *e, uint32_t tag);
void snap_rec_end(struct snap_enc *e);
/* The encoded bytes (valid until the next put or snap_enc_free): 0, the
 * sticky error, or -EINVAL while a record is still open. */
int snap_enc_result(const struct snap_enc *e, const void **data, size_t *len);

/* A cursor over bytes someone else owns, with a sticky error: reading
 * past the end, a length larger than what remains or than the caller
 * allows, sets it, and every read after returns 0 (or NULL).  A record's
 * body is a decoder of its own, whose errors also mark the decoders it
 * came from, so checking the outermost one at the end is enough (keep the
 * parents alive while their records are read). */
struct snap_dec {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
	struct snap_dec *parent;
};

void snap_dec_init(struct snap_dec *d, const void *p, size_t len);
uint8_t snap_get_u8(struct snap_dec *d);
uint16_t snap_get_u16(struct snap_dec *d);
uint32_t snap_get_u32(struct snap_dec *d);
uint64_t snap_get_u64(struct snap_dec *d);
int64_t snap_get_i64(struct snap_dec *d);
/* A length-prefixed byte string into dst: its length, or 0 and the error
 * when it is longer than max. */
size_t snap_get_bytes(struct snap_dec *d, void *dst, size_t max);
/* The same, without copying: a pointer into the decoder's buffer and the
 * length (NULL on error). */
const void *snap_get_blob(struct snap_dec *d, size_t *len);
/* A string into dst, NUL-terminated: its length, or 0 and the error when
 * it does not fit in dstsize bytes with its NUL, or holds a NUL. */
size_t snap_get_str(struct snap_dec *d, char *dst, size_t dstsize);
/* The next record: its tag, and body set to a decoder over its body
 * alone; false at the end or on an error (a partial header, a length past
 * what remains). */
bool snap_rec_next(struct snap_dec *d, uint32_t *tag, struct snap_dec *body);
/* 0, or -EBADMSG once anything went wrong. */
int snap_dec_err(const struct snap_dec *d);
/* Whether every byte was consumed without an error: trailing garbage is
 * a malformed file too. */
bool snap_dec_done(const struct snap_dec *d);
size_t snap_dec_left(const struct snap_dec *d);

/* ---- sections ----
 * Each type appears at most once in a file.  0 is never a type; the
 * memory index is the writer's own.  The kernel may define more, from 3. */
enum {
	SNAP_SEC_OBJECTS = 1,  /* the kernel's object graph (snap_enc records) */
	SNAP_SEC_MEMINDEX = 2, /* where each memory block is (the writer's) */
};
#define SNAP_MAX_SECTIONS 256

/* ---- memory ----
 * Guest memory is the sandbox's memory file: blocks map byte ranges of
 * it.  A block covers up to SNAP_MAX_BLOCK_PAGES contiguous pages, none
 * of them all zero (zero pages are not stored: restore leaves them as the
 * fresh memory file's holes). */
#define SNAP_PAGE_SIZE 4096
#define SNAP_DEFAULT_BLOCK_PAGES 16 /* 64 KiB */
#define SNAP_MAX_BLOCK_PAGES 256    /* 1 MiB */

/* ---- writing ---- */
enum { SNAP_COMPRESS_LZ4 = 0, SNAP_COMPRESS_NONE = 1 };

/* All zero means the defaults. */
struct snap_write_opts {
	int compress;	     /* SNAP_COMPRESS_LZ4 or SNAP_COMPRESS_NONE */
	uint32_t block_pages; /* pages per block at most: 1 .. SNAP_MAX_BLOCK_PAGES,
			       * 0 for SNAP_DEFAULT_BLOCK_PAGES */
};

struct snap_write_stats {
	uint64_t file_size;
	uint64_t mem_bytes;	/* all the memory ranges given */
	uint64_t nonzero_bytes; /* of which in pages that are not all zero */
	uint64_t stored_bytes;	/* what their blocks take in the file */
	uint64_t blocks;
	uint64_t raw_blocks; /* stored uncompressed */
	uint64_t zero_pages; /* skipped */
};

struct snap_writer;

/* Starts writing the snapshot PATH: creates PATH.tmp (mode 0600, as guest
 * memory may hold secrets; a leftover one, from a writer that crashed, is
 * truncated and reused, so two writers must not write one PATH at once).
 * PATH itself is replaced only by snap_writer_finish. */
int snap_writer_open(const char *path, const struct snap_write_opts *opts,
		     struct snap_writer **out);
/* Appends a section of type (not 0 or SNAP_SEC_MEMINDEX; -EEXIST if that
 * type was written already, -E2BIG past SNAP_MAX_SECTIONS). */
/* The same into fd, which must be empty and at offset 0 (the sentry, which
 * opens no files, writes into one its client made): written through,
 * neither synced, renamed nor closed; the caller does that. */
int snap_writer_open_fd(int fd, const struct snap_write_opts *opts, struct snap_writer **out);
int snap_writer_section(struct snap_writer *w, uint32_t type, const void *data, size_t len);
/* Appends the memory-file range [offset, offset+len) whose bytes are at
 * data.  Both page-aligned; ranges in increasing order, not overlapping
 * (-EINVAL otherwise).  Blocks never span two ranges. */
int snap_writer_memory(struct snap_writer *w, uint64_t offset, const void *data, size_t len);
/* Writes the index, the section table and the header, fsyncs, and renames
 * PATH.tmp to PATH.  Frees w whatever the outcome (on failure PATH.tmp is
 * removed and PATH left as it was).  st may be NULL. */
int snap_writer_finish(struct snap_writer *w, struct snap_write_stats *st);
/* Gives up: removes PATH.tmp and frees w. */
void snap_writer_abort(struct snap_writer *w);
/* An I/O error (short disk, say) is sticky: every later call returns it,
 * and the caller aborts.  Bad arguments (-EINVAL...) are not: nothing was
 * written. */

/* ---- reading ---- */
struct snap_reader;

/* Opens and checks PATH (mapped read-only; the file must not change while
 * open, which snapshots, written by rename, never do).  Errors: -EINVAL
 * not a snapshot, -ENOTSUP a version, architecture or required feature
 * this husk does not know, -EBADMSG corrupt or truncated, or the errno of
 * open/mmap; why (when not NULL) gets a one-line reason. */
int snap_open(const char *path, struct snap_reader **out, char *why, size_t whylen);
/* The same from a descriptor (the reader maps it and keeps no reference
 * to fd), or from a buffer the caller keeps alive until snap_close. */
int snap_open_fd(int fd, struct snap_reader **out, char *why, size_t whylen);
int snap_open_mem(const void *buf, size_t len, struct snap_reader **out, char *why,
		  size_t whylen);
void snap_close(struct snap_reader *r);

struct snap_info {
	uint32_t version;
	uint64_t optional_features;
	uint64_t file_size;
	uint32_t sections;
	uint64_t blocks;
	uint32_t block_max; /* bytes: no block is longer (a buffer size) */
};
void snap_info(const struct snap_reader *r, struct snap_info *out);

/* Section type's bytes (in the mapping: valid until snap_close) and
 * length, or NULL if the file has none. */
const void *snap_section(const struct snap_reader *r, uint32_t type, size_t *len);

struct snap_block {
	uint64_t mem_offset;  /* in the memory file */
	uint32_t length;      /* bytes, a multiple of SNAP_PAGE_SIZE */
	uint32_t stored;      /* bytes in the snapshot file */
	uint64_t file_offset; /* of the stored bytes; page-aligned when raw */
	bool compressed;
};
/* Blocks are numbered 0 .. count-1 in increasing memory offset. */
size_t snap_mem_count(const struct snap_reader *r);
int snap_mem_block(const struct snap_reader *r, size_t i, struct snap_block *out);
/* The block holding memory-file offset, or -ENOENT (a zero page). */
long snap_mem_find(const struct snap_reader *r, uint64_t offset);
/* Block i's bytes into dst (dstlen at least its length): decompressed or
 * copied, then checked against its checksum.  Its length, -ENOENT for no
 * such block, -ENOSPC for a short dst, -EBADMSG when the bytes are
 * corrupt (dst then holds garbage).  Safe from several threads at once:
 * the reader is not changed. */
int snap_mem_read(const struct snap_reader *r, size_t i, void *dst, size_t dstlen);
/* Checks everything open did not: the whole file's checksum and every
 * block.  0 or -EBADMSG (-ENOMEM) with why. */
int snap_verify(const struct snap_reader *r, char *why, size_t whylen);

#endif
