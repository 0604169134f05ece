/* The reader: maps a snapshot, checks everything but the memory blocks
 * when it opens, and checks each block as it reads it.  Every field is
 * hostile until checked; offsets and lengths are compared by subtraction,
 * never by a sum that could wrap. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "format.h"
#include "snapshot.h"

struct rsection {
	uint32_t type;
	uint64_t off, len;
};

struct snap_reader {
	const uint8_t *base;
	size_t size;
	bool mapped; /* base is our mapping (else the caller's buffer) */
	uint32_t version, block_max, nsec;
	uint64_t optional;
	struct rsection *sec;
	const uint8_t *index; /* the memory index's entries, in the file */
	size_t nblocks;
};

__attribute__((format(printf, 4, 5))) static int fail(char *why, size_t whylen, int err,
						      const char *fmt, ...)
{
	if (why && whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Whether [off, off+len) lies after the header and inside the file. */
static bool in_body(uint64_t off, uint64_t len, uint64_t size)
{
	return off >= SNAP_HDR_SIZE && off <= size && len <= size - off;
}

static int check_header(struct snap_reader *r, char *why, size_t n)
{
	const uint8_t *h = r->base;
	if (r->size < SNAP_HDR_SIZE)
		return fail(why, n, -EBADMSG, "truncated: the file is %zu bytes, less than a header (%d)",
			    r->size, SNAP_HDR_SIZE);
	if (memcmp(h + SNAP_H_MAGIC, SNAP_MAGIC, 8))
		return fail(why, n, -EINVAL, "not a husk snapshot (bad magic)");
	r->version = snap_ld32(h + SNAP_H_VERSION);
	if (r->version == 0)
		return fail(why, n, -EBADMSG, "snapshot format version 0 is invalid");
	if (r->version > SNAP_VERSION)
		return fail(why, n, -ENOTSUP,
			    "snapshot format version %u is newer than this husk reads (%u)",
			    r->version, SNAP_VERSION);
	if (snap_ld64(h + SNAP_H_HDR_CSUM) != snap_header_csum(h))
		return fail(why, n, -EBADMSG, "header checksum mismatch");
	uint32_t arch = snap_ld32(h + SNAP_H_ARCH);
	if (arch != SNAP_ARCH_X86_64)
		return fail(why, n, -ENOTSUP, "snapshot is for architecture %u, this husk is x86-64 (%u)",
			    arch, SNAP_ARCH_X86_64);
	uint64_t unknown = snap_ld64(h + SNAP_H_REQUIRED) & ~SNAP_REQUIRED_KNOWN;
	if (unknown)
		return fail(why, n, -ENOTSUP, "unknown required feature 0x%llx",
			    (unsigned long long)unknown);
	r->optional = snap_ld64(h + SNAP_H_OPTIONAL);
	uint32_t page = snap_ld32(h + SNAP_H_PAGE_SIZE);
	if (page != SNAP_PAGE_SIZE)
		return fail(why, n, -ENOTSUP, "page size %u is not %u", page, SNAP_PAGE_SIZE);
	r->block_max = snap_ld32(h + SNAP_H_BLOCK_MAX);
	if (!r->block_max || r->block_max % SNAP_PAGE_SIZE ||
	    r->block_max > SNAP_MAX_BLOCK_PAGES * SNAP_PAGE_SIZE)
		return fail(why, n, -EBADMSG,
			    "block size limit %u is not a positive multiple of the page size up to %u",
			    r->block_max, SNAP_MAX_BLOCK_PAGES * SNAP_PAGE_SIZE);
	uint64_t fsize = snap_ld64(h + SNAP_H_FILE_SIZE);
	if (fsize > r->size)
		return fail(why, n, -EBADMSG, "truncated: the file is %zu bytes, its header says %llu",
			    r->size, (unsigned long long)fsize);
	if (fsize < r->size)
		return fail(why, n, -EBADMSG,
			    "the file is %zu bytes, longer than its header says (%llu)", r->size,
			    (unsigned long long)fsize);
	return 0;
}

static int check_sections(struct snap_reader *r, char *why, size_t n)
{
	const uint8_t *h = r->base;
	r->nsec = snap_ld32(h + SNAP_H_NSECTIONS);
	if (r->nsec > SNAP_MAX_SECTIONS)
		return fail(why, n, -EBADMSG, "section count %u exceeds the limit (%d)", r->nsec,
			    SNAP_MAX_SECTIONS);
	uint64_t toff = snap_ld64(h + SNAP_H_TABLE_OFF);
	uint64_t tlen = (uint64_t)r->nsec * SNAP_SEC_ENTRY;
	if (toff < SNAP_HDR_SIZE)
		return fail(why, n, -EBADMSG, "section table offset %llu is inside the header",
			    (unsigned long long)toff);
	if (!in_body(toff, tlen, r->size))
		return fail(why, n, -EBADMSG, "truncated: section table ends past the end of the file");
	const uint8_t *t = r->base + toff;
	if (snap_ld64(h + SNAP_H_TABLE_CSUM) != XXH3_64bits(t, tlen))
		return fail(why, n, -EBADMSG, "section table checksum mismatch");

	r->sec = calloc(r->nsec ? r->nsec : 1, sizeof *r->sec);
	if (!r->sec)
		return fail(why, n, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < r->nsec; i++) {
		const uint8_t *e = t + (size_t)i * SNAP_SEC_ENTRY;
		struct rsection *s = &r->sec[i];
		s->type = snap_ld32(e + SNAP_S_TYPE);
		s->off = snap_ld64(e + SNAP_S_OFFSET);
		s->len = snap_ld64(e + SNAP_S_LENGTH);
		uint32_t flags = snap_ld32(e + SNAP_S_FLAGS);
		if (s->type == 0)
			return fail(why, n, -EBADMSG, "section %u has type 0", i);
		if (flags)
			return fail(why, n, -EBADMSG, "section %u (type %u): unknown flags 0x%x", i,
				    s->type, flags);
		if (!in_body(s->off, s->len, r->size))
			return fail(why, n, -EBADMSG,
				    "section %u (type %u) lies outside the file's body", i, s->type);
		for (uint32_t j = 0; j < i; j++)
			if (r->sec[j].type == s->type)
				return fail(why, n, -EBADMSG, "section type %u appears twice",
					    s->type);
		if (snap_ld64(e + SNAP_S_CSUM) != XXH3_64bits(r->base + s->off, s->len))
			return fail(why, n, -EBADMSG, "section %u (type %u) checksum mismatch", i,
				    s->type);
	}
	return 0;
}

static int check_index(struct snap_reader *r, char *why, size_t n)
{
	size_t len;
	const uint8_t *ix = snap_section(r, SNAP_SEC_MEMINDEX, &len);
	if (!ix)
		return 0; /* no memory */
	if (len % SNAP_IDX_ENTRY)
		return fail(why, n, -EBADMSG, "memory index length %zu is not a multiple of %d", len,
			    SNAP_IDX_ENTRY);
	size_t count = len / SNAP_IDX_ENTRY;
	uint64_t prev_off = 0, prev_end = 0;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *e = ix + i * SNAP_IDX_ENTRY;
		uint64_t mem = snap_ld64(e + SNAP_I_MEM_OFF), foff = snap_ld64(e + SNAP_I_FILE_OFF);
		uint32_t blen = snap_ld32(e + SNAP_I_LENGTH), stored = snap_ld32(e + SNAP_I_STORED);
		uint32_t flags = snap_ld32(e + SNAP_I_FLAGS);
		if (flags != SNAP_BLK_RAW && flags != SNAP_BLK_LZ4)
			return fail(why, n, -EBADMSG, "memory index entry %zu: unknown flags 0x%x", i,
				    flags);
		if (!blen || blen % SNAP_PAGE_SIZE || blen > r->block_max)
			return fail(why, n, -EBADMSG,
				    "memory index entry %zu: length %u is not a positive multiple "
				    "of the page size up to the block size limit (%u)",
				    i, blen, r->block_max);
		if (mem % SNAP_PAGE_SIZE)
			return fail(why, n, -EBADMSG,
				    "memory index entry %zu: memory offset 0x%llx is not page-aligned",
				    i, (unsigned long long)mem);
		if (blen > UINT64_MAX - mem)
			return fail(why, n, -EBADMSG,
				    "memory index entry %zu: memory range wraps around", i);
		if (i && mem < prev_off)
			return fail(why, n, -EBADMSG,
				    "memory index entry %zu is out of order (before entry %zu)", i,
				    i - 1);
		if (i && mem < prev_end)
			return fail(why, n, -EBADMSG, "memory index entry %zu overlaps entry %zu", i,
				    i - 1);
		if (flags == SNAP_BLK_RAW) {
			if (stored != blen)
				return fail(why, n, -EBADMSG,
					    "memory index entry %zu: raw block stored in %u bytes, "
					    "not its length %u",
					    i, stored, blen);
			if (foff % SNAP_PAGE_SIZE)
				return fail(why, n, -EBADMSG,
					    "memory index entry %zu: raw block at unaligned file "
					    "offset %llu",
					    i, (unsigned long long)foff);
		} else {
			int bound = LZ4_compressBound((int)blen);
			if (!stored || stored > (uint32_t)bound)
				return fail(why, n, -EBADMSG,
					    "memory index entry %zu: stored length %u is not within "
					    "lz4's bound for %u bytes (%d)",
					    i, stored, blen, bound);
		}
		if (!in_body(foff, stored, r->size))
			return fail(why, n, -EBADMSG,
				    "memory index entry %zu: block lies outside the file's body", i);
		prev_off = mem;
		prev_end = mem + blen;
	}
	r->index = ix;
	r->nblocks = count;
	return 0;
}

/* Takes base (unmapping it on failure when mapped). */
static int open_buf(const uint8_t *base, size_t size, bool mapped, struct snap_reader **out,
		    char *why, size_t whylen)
{
	struct snap_reader *r = calloc(1, sizeof *r);
	if (!r) {
		if (mapped)
			munmap((void *)base, size);
		return fail(why, whylen, -ENOMEM, "out of memory");
	}
	r->base = base;
	r->size = size;
	r->mapped = mapped;
	int err = check_header(r, why, whylen);
	if (!err)
		err = check_sections(r, why, whylen);
	if (!err)
		err = check_index(r, why, whylen);
	if (err) {
		snap_close(r);
		return err;
	}
	*out = r;
	return 0;
}

int snap_open_mem(const void *buf, size_t len, struct snap_reader **out, char *why,
		  size_t whylen)
{
	if (!buf && len)
		return fail(why, whylen, -EINVAL, "no buffer");
	return open_buf(buf ? buf : (const void *)"", len, false, out, why, whylen);
}

int snap_open_fd(int fd, struct snap_reader **out, char *why, size_t whylen)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fail(why, whylen, -errno, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(why, whylen, -EINVAL, "not a regular file");
	size_t size = (size_t)st.st_size;
	if (size < SNAP_HDR_SIZE) /* mmap would refuse an empty file */
		return fail(why, whylen, -EBADMSG,
			    "truncated: the file is %zu bytes, less than a header (%d)", size,
			    SNAP_HDR_SIZE);
	void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return fail(why, whylen, -errno, "cannot map: %s", strerror(errno));
	return open_buf(p, size, true, out, why, whylen);
}

int snap_open(const char *path, struct snap_reader **out, char *why, size_t whylen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(why, whylen, -errno, "cannot open: %s", strerror(errno));
	int err = snap_open_fd(fd, out, why, whylen);
	close(fd);
	return err;
}

void snap_close(struct snap_reader *r)
{
	if (!r)
		return;
	if (r->mapped)
		munmap((void *)r->base, r->size);
	free(r->sec);
	free(r);
}

void snap_info(const struct snap_reader *r, struct snap_info *out)
{
	out->version = r->version;
	out->optional_features = r->optional;
	out->file_size = r->size;
	out->sections = r->nsec;
	out->blocks = r->nblocks;
	out->block_max = r->block_max;
}

const void *snap_section(const struct snap_reader *r, uint32_t type, size_t *len)
{
	for (uint32_t i = 0; i < r->nsec; i++)
		if (r->sec[i].type == type) {
			if (len)
				*len = r->sec[i].len;
			return r->base + r->sec[i].off;
		}
	if (len)
		*len = 0;
	return NULL;
}

size_t snap_mem_count(const struct snap_reader *r)
{
	return r->nblocks;
}

static void load_block(const struct snap_reader *r, size_t i, struct snap_block *b,
		       uint64_t *csum)
{
	const uint8_t *e = r->index + i * SNAP_IDX_ENTRY;
	b->mem_offset = snap_ld64(e + SNAP_I_MEM_OFF);
	b->file_offset = snap_ld64(e + SNAP_I_FILE_OFF);
	b->length = snap_ld32(e + SNAP_I_LENGTH);
	b->stored = snap_ld32(e + SNAP_I_STORED);
	b->compressed = snap_ld32(e + SNAP_I_FLAGS) == SNAP_BLK_LZ4;
	if (csum)
		*csum = snap_ld64(e + SNAP_I_CSUM);
}

int snap_mem_block(const struct snap_reader *r, size_t i, struct snap_block *out)
{
	if (i >= r->nblocks)
		return -ENOENT;
	load_block(r, i, out, NULL);
	return 0;
}

long snap_mem_find(const struct snap_reader *r, uint64_t offset)
{
	/* The last block starting at or before offset. */
	size_t lo = 0, hi = r->nblocks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (snap_ld64(r->index + mid * SNAP_IDX_ENTRY + SNAP_I_MEM_OFF) <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -ENOENT;
	const uint8_t *e = r->index + (lo - 1) * SNAP_IDX_ENTRY;
	uint64_t start = snap_ld64(e + SNAP_I_MEM_OFF);
	return offset - start < snap_ld32(e + SNAP_I_LENGTH) ? (long)(lo - 1) : -ENOENT;
}

int snap_mem_read(const struct snap_reader *r, size_t i, void *dst, size_t dstlen)
{
	if (i >= r->nblocks)
		return -ENOENT;
	struct snap_block b;
	uint64_t csum;
	load_block(r, i, &b, &csum);
	if (dstlen < b.length)
		return -ENOSPC;
	const uint8_t *src = r->base + b.file_offset;
	if (b.compressed) {
		/* Bounded by stored and length alike, whatever the bytes say. */
		int k = LZ4_decompress_safe((const char *)src, dst, (int)b.stored, (int)b.length);
		if (k != (int)b.length)
			return -EBADMSG;
	} else {
		memcpy(dst, src, b.length);
	}
	if (XXH3_64bits(dst, b.length) != csum)
		return -EBADMSG;
	return (int)b.length;
}

int snap_verify(const struct snap_reader *r, char *why, size_t whylen)
{
	void *buf = malloc(r->block_max);
	if (!buf)
		return fail(why, whylen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < r->nblocks; i++) {
		int k = snap_mem_read(r, i, buf, r->block_max);
		if (k < 0) {
			struct snap_block b;
			load_block(r, i, &b, NULL);
			free(buf);
			return fail(why, whylen, k,
				    "memory block %zu (memory offset 0x%llx) is corrupt: %s", i,
				    (unsigned long long)b.mem_offset, strerror(-k));
		}
	}
	free(buf);
	if (snap_ld64(r->base + SNAP_H_BODY_CSUM) !=
	    XXH3_64bits(r->base + SNAP_HDR_SIZE, r->size - SNAP_HDR_SIZE))
		return fail(why, whylen, -EBADMSG, "body checksum mismatch");
	return 0;
}
