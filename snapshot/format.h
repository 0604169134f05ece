/* The snapshot file format, version 1: what the writer produces and the
 * reader accepts.  Internal to snapshot/ (and its tests).
 *
 * Every integer is little-endian and fixed width; offsets and lengths are
 * in bytes from the start of the file.  A file is
 *
 *   header (96 bytes) | section data and memory blocks, in the order the
 *   writer got them (zeros before each raw block, up to a page boundary) |
 *   memory index section | section table
 *
 * though a reader goes by the offsets alone.
 *
 * Header:
 *    0  u8[8] magic "HUSKSNAP"
 *    8  u32   format version: 1.  0 is invalid; a reader refuses any
 *             version newer than its own (checked before the checksum, so
 *             that a newer file says so rather than look corrupt)
 *   12  u32   architecture: ELF e_machine, 62 (EM_X86_64)
 *   16  u64   required features: a reader refuses a bit it does not know
 *             (none are defined yet)
 *   24  u64   optional features: unknown bits are ignored (none yet)
 *   32  u32   page size: 4096
 *   36  u32   block size limit: no memory block is longer; a positive
 *             multiple of the page size, at most 1 MiB
 *   40  u32   section count: at most 256
 *   44  u32   reserved: written 0, ignored (room for optional features)
 *   48  u64   section table offset
 *   56  u64   file size: the file's exact length
 *   64  u64   table checksum: XXH3-64 of the section table's bytes
 *   72  u64   body checksum: XXH3-64 of every byte after the header,
 *             [96, file size).  (Not of the whole file: the header is
 *             written last, so this lets the writer hash as it streams;
 *             the header checksum covers this field, so every byte of
 *             the file is covered by one chain.)
 *   80  u64   header checksum: XXH3-64 of the 96 header bytes with these 8
 *             bytes zero
 *   88  u64   reserved: written 0, ignored
 *
 * Section table: count entries of 32 bytes, at least 96 from the start
 * and wholly inside the file:
 *    0 u32 type (not 0; each type at most once)
 *    4 u32 flags (none defined: 0)
 *    8 u64 offset (at least 96)
 *   16 u64 length (offset + length within the file)
 *   24 u64 checksum: XXH3-64 of the section's bytes
 *
 * The memory index (section type 2) is an array of 40-byte entries, one
 * per memory block, sorted by memory offset, not overlapping:
 *    0 u64 memory-file offset (page-aligned)
 *    8 u64 file offset of the stored bytes (at least 96; page-aligned when
 *          raw, so a reader could map a raw block straight from the file)
 *   16 u64 checksum: XXH3-64 of the block's uncompressed bytes, so that a
 *          block is checked as restore decompresses it
 *   24 u32 length: a positive multiple of the page size, at most the
 *          header's block size limit
 *   28 u32 stored length: equal to the length when raw; when lz4, 1 ..
 *          LZ4_compressBound(length)
 *   32 u32 flags: 0 raw, 1 lz4 (a block of the lz4 block format, as
 *          LZ4_compress_default writes it); nothing else
 *   36 u32 reserved: written 0, ignored
 * A memory block holds only pages that are not all zero: the pages no
 * block covers are zero. */
#ifndef HUSK_SNAPSHOT_FORMAT_H
#define HUSK_SNAPSHOT_FORMAT_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#define SNAP_MAGIC "HUSKSNAP"
#define SNAP_VERSION 1u
#define SNAP_ARCH_X86_64 62u
#define SNAP_REQUIRED_KNOWN 0ull /* required feature bits this reader knows */

#define SNAP_HDR_SIZE 96
#define SNAP_H_MAGIC 0
#define SNAP_H_VERSION 8
#define SNAP_H_ARCH 12
#define SNAP_H_REQUIRED 16
#define SNAP_H_OPTIONAL 24
#define SNAP_H_PAGE_SIZE 32
#define SNAP_H_BLOCK_MAX 36
#define SNAP_H_NSECTIONS 40
#define SNAP_H_RESERVED1 44
#define SNAP_H_TABLE_OFF 48
#define SNAP_H_FILE_SIZE 56
#define SNAP_H_TABLE_CSUM 64
#define SNAP_H_BODY_CSUM 72
#define SNAP_H_HDR_CSUM 80
#define SNAP_H_RESERVED2 88

#define SNAP_SEC_ENTRY 32
#define SNAP_S_TYPE 0
#define SNAP_S_FLAGS 4
#define SNAP_S_OFFSET 8
#define SNAP_S_LENGTH 16
#define SNAP_S_CSUM 24

#define SNAP_IDX_ENTRY 40
#define SNAP_I_MEM_OFF 0
#define SNAP_I_FILE_OFF 8
#define SNAP_I_CSUM 16
#define SNAP_I_LENGTH 24
#define SNAP_I_STORED 28
#define SNAP_I_FLAGS 32
#define SNAP_I_RESERVED 36

#define SNAP_BLK_RAW 0u
#define SNAP_BLK_LZ4 1u

/* Unaligned little-endian loads and stores. */
static inline uint16_t snap_ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof v);
	return le16toh(v);
}
static inline uint32_t snap_ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return le32toh(v);
}
static inline uint64_t snap_ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return le64toh(v);
}
static inline void snap_st16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof v);
}
static inline void snap_st32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof v);
}
static inline void snap_st64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof v);
}

/* The header's own checksum: of its bytes with the checksum field zero. */
uint64_t snap_header_csum(const uint8_t *hdr);

#endif
