#define _GNU_SOURCE
/* The snapshot library (snapshot/): the object encoder and decoder, files
 * written and read back, and hostile files: truncated, corrupted, crafted
 * with valid checksums around absurd values, random.  Every bad file is
 * refused with a clean error (and a reason), never a crash. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "../../snapshot/format.h"
#include "../../snapshot/snapshot.h"

#define PAGE SNAP_PAGE_SIZE

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- snap_enc: the encoder and the decoder ---- */

TestSuite(snap_enc);

Test(snap_enc, round_trip_every_width)
{
	struct snap_enc e;
	snap_enc_init(&e);
	snap_put_u8(&e, 0xab);
	snap_put_u16(&e, 0xbeef);
	snap_put_u32(&e, 0xdeadbeef);
	snap_put_u64(&e, 0x0123456789abcdefull);
	snap_put_i64(&e, -5);
	snap_put_i64(&e, INT64_MIN);
	snap_put_bytes(&e, "\0\1\2\3", 4);
	snap_put_bytes(&e, NULL, 0);
	snap_put_str(&e, "hello");
	snap_put_str(&e, "");
	const void *buf;
	size_t len;
	cr_assert_eq(snap_enc_result(&e, &buf, &len), 0);
	cr_assert_eq(len, 1 + 2 + 4 + 8 + 8 + 8 + (4 + 4) + 4 + (4 + 5) + 4);

	struct snap_dec d;
	snap_dec_init(&d, buf, len);
	cr_assert_eq(snap_get_u8(&d), 0xab);
	cr_assert_eq(snap_get_u16(&d), 0xbeef);
	cr_assert_eq(snap_get_u32(&d), 0xdeadbeef);
	cr_assert_eq(snap_get_u64(&d), 0x0123456789abcdefull);
	cr_assert_eq(snap_get_i64(&d), -5);
	cr_assert_eq(snap_get_i64(&d), INT64_MIN);
	uint8_t b[8];
	cr_assert_eq(snap_get_bytes(&d, b, sizeof b), 4);
	cr_assert_eq(memcmp(b, "\0\1\2\3", 4), 0);
	size_t n = 99;
	const void *blob = snap_get_blob(&d, &n);
	cr_assert_not_null(blob);
	cr_assert_eq(n, 0);
	char s[16];
	cr_assert_eq(snap_get_str(&d, s, sizeof s), 5);
	cr_assert_str_eq(s, "hello");
	cr_assert_eq(snap_get_str(&d, s, sizeof s), 0);
	cr_assert_str_eq(s, "");
	cr_assert_eq(snap_dec_err(&d), 0);
	cr_assert(snap_dec_done(&d));
	snap_enc_free(&e);
}

Test(snap_enc, little_endian_on_the_wire)
{
	struct snap_enc e;
	snap_enc_init(&e);
	snap_put_u32(&e, 0x01020304);
	snap_put_u16(&e, 0x0506);
	snap_put_str(&e, "ab");
	const uint8_t want[] = {4, 3, 2, 1, 6, 5, 2, 0, 0, 0, 'a', 'b'};
	cr_assert_eq(e.len, sizeof want);
	cr_assert_eq(memcmp(e.buf, want, sizeof want), 0);
	snap_enc_free(&e);
}

static void put_nested(struct snap_enc *e, int depth)
{
	snap_rec_begin(e, 100 + depth);
	snap_put_u32(e, depth);
	if (depth < 15)
		put_nested(e, depth + 1);
	snap_rec_begin(e, 7); /* an empty record */
	snap_rec_end(e);
	snap_put_str(e, "tail");
	snap_rec_end(e);
}

static void get_nested(struct snap_dec *d, int depth)
{
	uint32_t tag;
	struct snap_dec body;
	cr_assert(snap_rec_next(d, &tag, &body));
	cr_assert_eq(tag, 100 + depth);
	cr_assert_eq(snap_get_u32(&body), depth);
	if (depth < 15)
		get_nested(&body, depth + 1);
	struct snap_dec empty;
	cr_assert(snap_rec_next(&body, &tag, &empty));
	cr_assert_eq(tag, 7);
	cr_assert_eq(snap_dec_left(&empty), 0);
	cr_assert(snap_dec_done(&empty));
	uint32_t t2;
	struct snap_dec none;
	cr_assert_not(snap_rec_next(&empty, &t2, &none), "an empty body has no records");
	cr_assert_eq(snap_dec_err(&empty), 0, "the end is not an error");
	char s[8];
	cr_assert_eq(snap_get_str(&body, s, sizeof s), 4);
	cr_assert(snap_dec_done(&body));
}

Test(snap_enc, records_nest_16_deep)
{
	struct snap_enc e;
	snap_enc_init(&e);
	put_nested(&e, 0);
	snap_rec_begin(&e, 1);
	snap_rec_end(&e);
	const void *buf;
	size_t len;
	cr_assert_eq(snap_enc_result(&e, &buf, &len), 0);
	struct snap_dec d;
	snap_dec_init(&d, buf, len);
	get_nested(&d, 0);
	uint32_t tag;
	struct snap_dec body;
	cr_assert(snap_rec_next(&d, &tag, &body));
	cr_assert_eq(tag, 1);
	cr_assert_not(snap_rec_next(&d, &tag, &body));
	cr_assert(snap_dec_done(&d));
	snap_enc_free(&e);
}

Test(snap_enc, unbalanced_or_too_deep_records)
{
	struct snap_enc e;
	const void *buf;
	size_t len;
	snap_enc_init(&e);
	snap_rec_begin(&e, 1);
	cr_assert_eq(snap_enc_result(&e, &buf, &len), -EINVAL, "a record left open");
	snap_rec_end(&e);
	cr_assert_eq(snap_enc_result(&e, &buf, &len), 0);
	snap_rec_end(&e);
	cr_assert_eq(snap_enc_result(&e, &buf, &len), -EINVAL, "an end without a begin");
	snap_enc_free(&e);

	snap_enc_init(&e);
	for (int i = 0; i < SNAP_REC_DEPTH; i++)
		snap_rec_begin(&e, i);
	cr_assert_eq(e.err, 0);
	snap_rec_begin(&e, 99);
	cr_assert_eq(snap_enc_result(&e, &buf, &len), -EINVAL);
	size_t at = e.len;
	snap_put_u64(&e, 1);
	cr_assert_eq(e.len, at, "the error is sticky: nothing more is written");
	snap_enc_free(&e);
}

Test(snap_enc, bounded_growth)
{
	struct snap_enc e;
	const void *buf;
	size_t len;
	static const char x[1];
	snap_enc_init(&e);
	snap_put_u32(&e, 1);
	/* Refused before anything is copied or allocated. */
	snap_put_bytes(&e, x, SNAP_ENC_LIMIT);
	cr_assert_eq(snap_enc_result(&e, &buf, &len), -E2BIG);
	cr_assert_eq(e.len, 4);
	snap_enc_free(&e);

	snap_enc_init(&e);
	snap_put_bytes(&e, x, (size_t)UINT32_MAX + 1);
	cr_assert_eq(e.err, -E2BIG);
	snap_enc_free(&e);
}

Test(snap_enc, truncated_values_and_sticky_errors)
{
	const uint8_t buf[] = {1, 2, 3};
	struct snap_dec d;
	snap_dec_init(&d, buf, sizeof buf);
	cr_assert_eq(snap_get_u32(&d), 0);
	cr_assert_eq(snap_dec_err(&d), -EBADMSG);
	cr_assert_eq(snap_get_u8(&d), 0, "bytes remain, but the error is sticky");
	cr_assert_eq(snap_get_u16(&d), 0);
	cr_assert_not(snap_dec_done(&d));

	snap_dec_init(&d, buf, sizeof buf);
	cr_assert_eq(snap_get_u16(&d), 0x0201);
	cr_assert_eq(snap_get_u8(&d), 3);
	cr_assert(snap_dec_done(&d));
	cr_assert_eq(snap_get_u8(&d), 0, "past the end");
	cr_assert_eq(snap_dec_err(&d), -EBADMSG);
	cr_assert_not(snap_dec_done(&d));

	snap_dec_init(&d, buf, 1);
	cr_assert_eq(snap_get_u64(&d), 0);
	snap_dec_init(&d, NULL, 0);
	cr_assert_eq(snap_get_i64(&d), 0);
	cr_assert_eq(snap_dec_err(&d), -EBADMSG);
}

Test(snap_enc, lengths_past_the_end)
{
	/* A byte string claiming 100 bytes, with 2. */
	const uint8_t s[] = {100, 0, 0, 0, 'a', 'b'};
	struct snap_dec d;
	char out[200];
	snap_dec_init(&d, s, sizeof s);
	cr_assert_eq(snap_get_bytes(&d, out, sizeof out), 0);
	cr_assert_eq(snap_dec_err(&d), -EBADMSG);
	size_t n;
	snap_dec_init(&d, s, sizeof s);
	cr_assert_null(snap_get_blob(&d, &n));
	cr_assert_eq(n, 0);

	/* A record claiming more than remains, and a partial record header. */
	const uint8_t r[] = {1, 0, 0, 0, 50, 0, 0, 0, 9, 9};
	uint32_t tag;
	struct snap_dec body;
	snap_dec_init(&d, r, sizeof r);
	cr_assert_not(snap_rec_next(&d, &tag, &body));
	cr_assert_eq(snap_dec_err(&d), -EBADMSG);
	cr_assert_eq(snap_get_u8(&body), 0, "no body to read");
	snap_dec_init(&d, r, 5);
	cr_assert_not(snap_rec_next(&d, &tag, &body));
	cr_assert_eq(snap_dec_err(&d), -EBADMSG);

	/* A record with room for its length but a body that lies. */
	const uint8_t nested[] = {1, 0, 0, 0, 4, 0, 0, 0, 9, 0, 0, 0, 0xff};
	snap_dec_init(&d, nested, sizeof nested);
	cr_assert(snap_rec_next(&d, &tag, &body));
	cr_assert_eq(snap_get_u32(&body), 9);
	cr_assert(snap_dec_done(&body));
	cr_assert_eq(snap_get_u8(&body), 0, "a body ends where its record does");
	cr_assert_eq(snap_dec_err(&d), -EBADMSG, "and its error marks the parent");
}

Test(snap_enc, strings_checked)
{
	struct snap_enc e;
	snap_enc_init(&e);
	snap_put_bytes(&e, "a\0b", 3);
	snap_put_str(&e, "four");
	snap_put_str(&e, "four");
	snap_put_bytes(&e, "0123456789", 10);
	struct snap_dec d;
	char s[8];
	snap_dec_init(&d, e.buf, e.len);
	cr_assert_eq(snap_get_str(&d, s, sizeof s), 0, "a NUL inside");
	cr_assert_eq(snap_dec_err(&d), -EBADMSG);
	cr_assert_str_eq(s, "");

	snap_dec_init(&d, e.buf, e.len);
	cr_assert_eq(snap_get_bytes(&d, s, sizeof s), 3, "as bytes, fine");
	cr_assert_eq(snap_get_str(&d, s, 5), 4, "four and its NUL fit in five");
	cr_assert_eq(snap_get_str(&d, s, 4), 0, "not in four");
	cr_assert_eq(snap_dec_err(&d), -EBADMSG);

	snap_dec_init(&d, e.buf, e.len);
	snap_get_blob(&d, &(size_t){0});
	snap_get_blob(&d, &(size_t){0});
	snap_get_blob(&d, &(size_t){0});
	cr_assert_eq(snap_get_bytes(&d, s, sizeof s), 0, "10 bytes, 8 allowed");
	cr_assert_eq(snap_dec_err(&d), -EBADMSG);
	snap_enc_free(&e);
}

Test(snap_enc, blob_points_into_the_buffer)
{
	const uint8_t s[] = {3, 0, 0, 0, 'x', 'y', 'z', 7};
	struct snap_dec d;
	size_t n;
	snap_dec_init(&d, s, sizeof s);
	const uint8_t *p = snap_get_blob(&d, &n);
	cr_assert_eq(p, s + 4);
	cr_assert_eq(n, 3);
	cr_assert_not(snap_dec_done(&d), "a trailing byte");
	cr_assert_eq(snap_dec_left(&d), 1);
	cr_assert_eq(snap_get_u8(&d), 7);
	cr_assert(snap_dec_done(&d));
}

/* Reads every value a record tree could hold, as a decoder meeting
 * garbage would: it must stay inside the buffer. */
static void walk(struct snap_dec *d, int depth)
{
	uint32_t tag;
	struct snap_dec body;
	char s[16];
	uint8_t b[16];
	size_t n;
	while (snap_rec_next(d, &tag, &body)) {
		if (depth < 20 && tag % 2)
			walk(&body, depth + 1);
		switch (tag % 5) {
		case 0:
			snap_get_str(&body, s, sizeof s);
			break;
		case 1:
			snap_get_bytes(&body, b, sizeof b);
			break;
		case 2:
			snap_get_blob(&body, &n);
			break;
		case 3:
			snap_get_u64(&body);
			snap_get_u16(&body);
			break;
		default:
			snap_get_u32(&body);
		}
		snap_dec_done(&body);
	}
}

Test(snap_enc, random_input_never_reads_out_of_bounds)
{
	for (int i = 0; i < 3000; i++) {
		size_t len = rnd() % 200;
		uint8_t *buf = malloc(len ? len : 1);
		for (size_t j = 0; j < len; j++) {
			uint64_t r = rnd();
			/* Small lengths now and then, so that records nest. */
			buf[j] = r % 4 == 0 ? (uint8_t)(r >> 8) % 24 : (uint8_t)(r >> 8);
			if (r % 3 == 0 && j % 4 != 0)
				buf[j] = 0;
		}
		struct snap_dec d;
		snap_dec_init(&d, buf, len);
		walk(&d, 0);
		free(buf);
	}
}

/* ---- helpers for files ---- */

static char dir[64];

static void mkdir_tmp(void)
{
	strcpy(dir, "/tmp/husk-snap-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	rmdir(dir);
}

/* A path in the test's directory (eight at a time stay valid). */
static char *path_of(const char *name)
{
	static char p[8][128];
	static unsigned next;
	char *s = p[next++ % 8];
	snprintf(s, sizeof p[0], "%s/%s", dir, name);
	return s;
}

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static uint8_t *slurp(const char *p, size_t *len)
{
	int fd = open(p, O_RDONLY);
	cr_assert_geq(fd, 0, "%s: %m", p);
	struct stat st;
	fstat(fd, &st);
	*len = (size_t)st.st_size;
	uint8_t *b = malloc(*len ? *len : 1);
	cr_assert_eq(read(fd, b, *len), (ssize_t)*len);
	close(fd);
	return b;
}

enum { ZERO, TEXT, RANDOM, HALF };

/* A page of one kind: text compresses, random does not. */
static void fill_page(uint8_t *p, int kind, unsigned seed)
{
	switch (kind) {
	case ZERO:
		memset(p, 0, PAGE);
		break;
	case TEXT:
	case HALF: {
		size_t at = 0;
		for (unsigned line = 0; at < PAGE; line++) {
			char l[64];
			int n = snprintf(l, sizeof l, "page %u line %u: the quick brown fox\n", seed,
					 line);
			size_t k = (size_t)n < PAGE - at ? (size_t)n : PAGE - at;
			memcpy(p + at, l, k);
			at += k;
		}
		if (kind == HALF)
			memset(p + PAGE / 2, 0, PAGE / 2);
		break;
	}
	default:
		for (size_t i = 0; i < PAGE; i += 8) {
			uint64_t r = rnd();
			memcpy(p + i, &r, 8);
		}
	}
}

static uint8_t *make_pages(const int *kinds, size_t n)
{
	uint8_t *m = malloc(n * PAGE);
	for (size_t i = 0; i < n; i++)
		fill_page(m + i * PAGE, kinds[i], (unsigned)i);
	return m;
}

static struct snap_reader *open_ok(const char *p)
{
	struct snap_reader *r;
	char why[200] = "";
	int err = snap_open(p, &r, why, sizeof why);
	cr_assert_eq(err, 0, "open: %d %s", err, why);
	err = snap_verify(r, why, sizeof why);
	cr_assert_eq(err, 0, "verify: %d %s", err, why);
	return r;
}

/* Every block read back equals mem at its offset (mem covers
 * [base, base + len) of the memory file), and every page of mem is either
 * in a block or all zero. */
static void check_memory(struct snap_reader *r, uint64_t base, const uint8_t *mem, size_t len)
{
	struct snap_info info;
	snap_info(r, &info);
	uint8_t *buf = malloc(info.block_max);
	for (size_t i = 0; i < snap_mem_count(r); i++) {
		struct snap_block b;
		cr_assert_eq(snap_mem_block(r, i, &b), 0);
		if (b.mem_offset < base || b.mem_offset - base >= len)
			continue;
		cr_assert_leq(b.mem_offset - base + b.length, len);
		cr_assert_eq(snap_mem_read(r, i, buf, info.block_max), (int)b.length);
		cr_assert_eq(memcmp(buf, mem + (b.mem_offset - base), b.length), 0,
			     "block %zu differs", i);
		if (!b.compressed)
			cr_assert_eq(b.file_offset % PAGE, 0, "raw blocks are page-aligned");
	}
	static const uint8_t zero[PAGE];
	for (size_t at = 0; at < len; at += PAGE) {
		long k = snap_mem_find(r, base + at + (at / PAGE) % PAGE);
		if (!memcmp(mem + at, zero, PAGE)) {
			cr_assert_eq(k, -ENOENT, "zero page at %#zx is a hole", at);
			continue;
		}
		cr_assert_geq(k, 0, "page at %#zx has a block", at);
		struct snap_block b;
		snap_mem_block(r, (size_t)k, &b);
		cr_assert(b.mem_offset <= base + at && base + at < b.mem_offset + b.length);
	}
	free(buf);
}

/* ---- snap_file: writing and reading back ---- */

TestSuite(snap_file, .init = mkdir_tmp, .fini = rm_tmp);

Test(snap_file, sections_round_trip)
{
	struct snap_writer *w;
	const char *p = path_of("s.snap");
	cr_assert_eq(snap_writer_open(p, NULL, &w), 0);
	struct snap_enc e;
	snap_enc_init(&e);
	snap_rec_begin(&e, 1);
	snap_put_str(&e, "task");
	snap_rec_end(&e);
	cr_assert_eq(snap_writer_section(w, SNAP_SEC_OBJECTS, e.buf, e.len), 0);
	cr_assert_eq(snap_writer_section(w, 7, "seven", 5), 0);
	cr_assert_eq(snap_writer_section(w, 9, NULL, 0), 0);
	cr_assert_eq(snap_writer_section(w, 0x12345678, "big type", 8), 0);
	cr_assert_eq(snap_writer_section(w, 7, "again", 5), -EEXIST);
	cr_assert_eq(snap_writer_section(w, 0, "x", 1), -EINVAL);
	cr_assert_eq(snap_writer_section(w, SNAP_SEC_MEMINDEX, "x", 1), -EINVAL);
	struct snap_write_stats st;
	cr_assert_eq(snap_writer_finish(w, &st), 0);
	cr_assert_eq(st.blocks, 0);
	cr_assert_not(exists(path_of("s.snap.tmp")));
	struct stat sb;
	cr_assert_eq(stat(p, &sb), 0);
	cr_assert_eq((uint64_t)sb.st_size, st.file_size);
	cr_assert_eq(sb.st_mode & 0777, 0600);

	struct snap_reader *r = open_ok(p);
	size_t len;
	const void *s = snap_section(r, SNAP_SEC_OBJECTS, &len);
	cr_assert_eq(len, e.len);
	cr_assert_eq(memcmp(s, e.buf, len), 0);
	s = snap_section(r, 7, &len);
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(s, "seven", 5), 0);
	cr_assert_not_null(snap_section(r, 9, &len));
	cr_assert_eq(len, 0);
	s = snap_section(r, 0x12345678, &len);
	cr_assert_eq(memcmp(s, "big type", 8), 0);
	cr_assert_null(snap_section(r, 99, &len));
	cr_assert_eq(len, 0);
	cr_assert_eq(snap_mem_count(r), 0);
	cr_assert_eq(snap_mem_find(r, 0), -ENOENT);
	cr_assert_eq(snap_mem_read(r, 0, NULL, 0), -ENOENT);
	struct snap_info info;
	snap_info(r, &info);
	cr_assert_eq(info.version, 1);
	cr_assert_eq(info.sections, 5, "four and the memory index");
	cr_assert_eq(info.file_size, st.file_size);
	cr_assert_eq(info.block_max, SNAP_DEFAULT_BLOCK_PAGES * PAGE);
	snap_close(r);
	snap_enc_free(&e);
}

Test(snap_file, zero_pages_skipped)
{
	/* Two ranges; blocks of up to 4 pages. */
	const int a[] = {TEXT, TEXT, ZERO, ZERO, TEXT, TEXT, TEXT, TEXT, TEXT, HALF, ZERO};
	const int b[] = {ZERO, RANDOM, TEXT};
	size_t na = sizeof a / sizeof *a, nb = sizeof b / sizeof *b;
	uint8_t *ma = make_pages(a, na), *mb = make_pages(b, nb);
	const uint64_t at_b = 1ull << 40;
	struct snap_writer *w;
	const char *p = path_of("m.snap");
	cr_assert_eq(snap_writer_open(p, &(struct snap_write_opts){.block_pages = 4}, &w), 0);
	cr_assert_eq(snap_writer_memory(w, 0x10000, ma, na * PAGE), 0);
	cr_assert_eq(snap_writer_memory(w, at_b, mb, nb * PAGE), 0);
	struct snap_write_stats st;
	cr_assert_eq(snap_writer_finish(w, &st), 0);
	cr_assert_eq(st.mem_bytes, (na + nb) * PAGE);
	cr_assert_eq(st.zero_pages, 4);
	cr_assert_eq(st.nonzero_bytes, (na + nb - 4) * PAGE);
	/* [T T] [T T T T] [T H] | [R T] */
	cr_assert_eq(st.blocks, 4);
	cr_assert_lt(st.stored_bytes, st.nonzero_bytes);
	cr_assert_lt(st.file_size, st.nonzero_bytes);

	struct snap_reader *r = open_ok(p);
	cr_assert_eq(snap_mem_count(r), 4);
	struct snap_block blk;
	const uint64_t want_off[] = {0x10000, 0x10000 + 4 * PAGE, 0x10000 + 8 * PAGE, at_b + PAGE};
	const uint32_t want_len[] = {2 * PAGE, 4 * PAGE, 2 * PAGE, 2 * PAGE};
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(snap_mem_block(r, i, &blk), 0);
		cr_assert_eq(blk.mem_offset, want_off[i]);
		cr_assert_eq(blk.length, want_len[i]);
		cr_assert(blk.compressed);
	}
	cr_assert_eq(snap_mem_block(r, 4, &blk), -ENOENT);
	check_memory(r, 0x10000, ma, na * PAGE);
	check_memory(r, at_b, mb, nb * PAGE);
	cr_assert_eq(snap_mem_find(r, 0), -ENOENT);
	cr_assert_eq(snap_mem_find(r, 0x10000 + 2 * PAGE), -ENOENT);
	cr_assert_eq(snap_mem_find(r, 0x10000 + 4 * PAGE - 1), -ENOENT);
	cr_assert_eq(snap_mem_find(r, 0x10000 + 4 * PAGE), 1);
	cr_assert_eq(snap_mem_find(r, 0x10000 + 8 * PAGE - 1), 1);
	cr_assert_eq(snap_mem_find(r, at_b + 3 * PAGE - 1), 3);
	cr_assert_eq(snap_mem_find(r, at_b + 3 * PAGE), -ENOENT);
	cr_assert_eq(snap_mem_find(r, UINT64_MAX), -ENOENT);
	uint8_t small[PAGE];
	cr_assert_eq(snap_mem_read(r, 0, small, sizeof small), -ENOSPC);
	snap_close(r);
	free(ma);
	free(mb);
}

Test(snap_file, compression_off_and_incompressible_blocks)
{
	const int k[] = {TEXT, TEXT, RANDOM, RANDOM, TEXT, RANDOM};
	size_t n = sizeof k / sizeof *k;
	uint8_t *m = make_pages(k, n);
	struct snap_write_stats st;
	struct snap_writer *w;

	/* Off: every block raw, page-aligned in the file. */
	const char *p = path_of("raw.snap");
	struct snap_write_opts none = {.compress = SNAP_COMPRESS_NONE, .block_pages = 2};
	cr_assert_eq(snap_writer_open(p, &none, &w), 0);
	cr_assert_eq(snap_writer_section(w, 5, "x", 1), 0); /* to unalign */
	cr_assert_eq(snap_writer_memory(w, 0, m, n * PAGE), 0);
	cr_assert_eq(snap_writer_finish(w, &st), 0);
	cr_assert_eq(st.blocks, 3);
	cr_assert_eq(st.raw_blocks, 3);
	cr_assert_eq(st.stored_bytes, n * PAGE);
	struct snap_reader *r = open_ok(p);
	for (size_t i = 0; i < snap_mem_count(r); i++) {
		struct snap_block b;
		snap_mem_block(r, i, &b);
		cr_assert_not(b.compressed);
		cr_assert_eq(b.stored, b.length);
	}
	check_memory(r, 0, m, n * PAGE);
	snap_close(r);

	/* On: text compresses, two random pages do not (stored raw). */
	p = path_of("lz4.snap");
	cr_assert_eq(snap_writer_open(p, &(struct snap_write_opts){.block_pages = 2}, &w), 0);
	cr_assert_eq(snap_writer_memory(w, 0, m, n * PAGE), 0);
	cr_assert_eq(snap_writer_finish(w, &st), 0);
	cr_assert_eq(st.blocks, 3);
	cr_assert_eq(st.raw_blocks, 1);
	r = open_ok(p);
	struct snap_block b;
	snap_mem_block(r, 0, &b);
	cr_assert(b.compressed);
	cr_assert_lt(b.stored, b.length);
	snap_mem_block(r, 1, &b);
	cr_assert_not(b.compressed, "random pages stay raw");
	cr_assert_eq(b.stored, b.length);
	check_memory(r, 0, m, n * PAGE);
	snap_close(r);
	free(m);
}

Test(snap_file, block_size_option)
{
	const int k[] = {TEXT, TEXT, TEXT, TEXT, TEXT};
	uint8_t *m = make_pages(k, 5);
	struct snap_writer *w;
	struct snap_write_stats st;
	const char *p = path_of("b.snap");
	cr_assert_eq(snap_writer_open(p, &(struct snap_write_opts){.block_pages = 257}, &w), -EINVAL);
	cr_assert_eq(snap_writer_open(p, &(struct snap_write_opts){.compress = 7}, &w), -EINVAL);
	cr_assert_not(exists(path_of("b.snap.tmp")));

	cr_assert_eq(snap_writer_open(p, &(struct snap_write_opts){.block_pages = 1}, &w), 0);
	cr_assert_eq(snap_writer_memory(w, 0, m, 5 * PAGE), 0);
	cr_assert_eq(snap_writer_finish(w, &st), 0);
	cr_assert_eq(st.blocks, 5);

	cr_assert_eq(snap_writer_open(p, &(struct snap_write_opts){.block_pages = 256}, &w), 0);
	cr_assert_eq(snap_writer_memory(w, 0, m, 5 * PAGE), 0);
	cr_assert_eq(snap_writer_finish(w, &st), 0);
	cr_assert_eq(st.blocks, 1);
	struct snap_reader *r = open_ok(p);
	struct snap_info info;
	snap_info(r, &info);
	cr_assert_eq(info.block_max, 256 * PAGE);
	check_memory(r, 0, m, 5 * PAGE);
	snap_close(r);
	free(m);
}

struct reader_job {
	struct snap_reader *r;
	const uint8_t *mem;
	size_t start;
	int bad;
};

static void *read_all(void *arg)
{
	struct reader_job *j = arg;
	uint8_t *buf = malloc(SNAP_MAX_BLOCK_PAGES * PAGE);
	size_t n = snap_mem_count(j->r);
	for (size_t k = 0; k < n; k++) {
		size_t i = (j->start + k) % n;
		struct snap_block b;
		snap_mem_block(j->r, i, &b);
		if (snap_mem_read(j->r, i, buf, SNAP_MAX_BLOCK_PAGES * PAGE) != (int)b.length ||
		    memcmp(buf, j->mem + b.mem_offset, b.length))
			j->bad++;
	}
	free(buf);
	return NULL;
}

Test(snap_file, many_blocks_of_mixed_memory)
{
	const size_t n = 2048; /* 8 MiB */
	int *k = malloc(n * sizeof *k);
	for (size_t i = 0; i < n; i++) {
		unsigned x = rnd() % 20;
		k[i] = x < 5 ? ZERO : x < 13 ? TEXT : x < 17 ? RANDOM : HALF;
	}
	uint8_t *m = make_pages(k, n);
	free(k);
	const char *p = path_of("big.snap");
	struct snap_writer *w;
	struct snap_write_stats st;
	cr_assert_eq(snap_writer_open(p, NULL, &w), 0);
	/* Three ranges, with a gap. */
	cr_assert_eq(snap_writer_memory(w, 0, m, 1000 * PAGE), 0);
	cr_assert_eq(snap_writer_memory(w, 1000 * PAGE, m + 1000 * PAGE, 24 * PAGE), 0);
	cr_assert_eq(snap_writer_memory(w, 1100 * PAGE, m + 1100 * PAGE, (n - 1100) * PAGE), 0);
	cr_assert_eq(snap_writer_finish(w, &st), 0);
	cr_assert_gt(st.blocks, 128);
	cr_assert_gt(st.zero_pages, 0);
	cr_assert_lt(st.stored_bytes, st.nonzero_bytes);
	memset(m + 1024 * PAGE, 0, 76 * PAGE); /* the gap reads as zero */

	struct snap_reader *r = open_ok(p);
	check_memory(r, 0, m, n * PAGE);
	uint64_t prev_end = 0;
	for (size_t i = 0; i < snap_mem_count(r); i++) {
		struct snap_block b;
		snap_mem_block(r, i, &b);
		cr_assert_geq(b.mem_offset, prev_end, "sorted, not overlapping");
		cr_assert_leq(b.length, SNAP_DEFAULT_BLOCK_PAGES * PAGE);
		/* Blocks never span ranges. */
		cr_assert(b.mem_offset >= 1000 * PAGE || b.mem_offset + b.length <= 1000 * PAGE);
		prev_end = b.mem_offset + b.length;
	}

	/* Several threads at once, each from its own start. */
	pthread_t th[4];
	struct reader_job jobs[4];
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct reader_job){r, m, i * snap_mem_count(r) / 4, 0};
		pthread_create(&th[i], NULL, read_all, &jobs[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(jobs[i].bad, 0);
	}
	snap_close(r);
	free(m);
}

Test(snap_file, writer_rejects_bad_ranges)
{
	const int k[] = {TEXT, TEXT, TEXT, TEXT};
	uint8_t *m = make_pages(k, 4);
	struct snap_writer *w;
	struct snap_write_stats st;
	const char *p = path_of("r.snap");
	cr_assert_eq(snap_writer_open(p, NULL, &w), 0);
	cr_assert_eq(snap_writer_memory(w, 100, m, PAGE), -EINVAL, "unaligned offset");
	cr_assert_eq(snap_writer_memory(w, 0, m, 100), -EINVAL, "unaligned length");
	cr_assert_eq(snap_writer_memory(w, UINT64_MAX - PAGE + 1, m, 2 * PAGE), -EINVAL,
		     "wraps around");
	cr_assert_eq(snap_writer_memory(w, 8 * PAGE, m, 2 * PAGE), 0);
	cr_assert_eq(snap_writer_memory(w, 9 * PAGE, m, PAGE), -EINVAL, "overlapping");
	cr_assert_eq(snap_writer_memory(w, 2 * PAGE, m, PAGE), -EINVAL, "out of order");
	cr_assert_eq(snap_writer_memory(w, 10 * PAGE, m + 2 * PAGE, 2 * PAGE), 0, "adjacent");
	cr_assert_eq(snap_writer_memory(w, 20 * PAGE, m, 0), 0, "empty");
	cr_assert_eq(snap_writer_memory(w, 12 * PAGE, m, PAGE), -EINVAL,
		     "an empty range counts too");
	/* Refusals do not spoil the writer. */
	cr_assert_eq(snap_writer_finish(w, &st), 0);
	cr_assert_eq(st.mem_bytes, 4 * PAGE);
	cr_assert_eq(st.blocks, 2, "one per range");
	struct snap_reader *r = open_ok(p);
	uint8_t *want = calloc(1, 12 * PAGE);
	memcpy(want + 8 * PAGE, m, 4 * PAGE);
	check_memory(r, 0, want, 12 * PAGE);
	snap_close(r);
	free(want);
	free(m);
}

Test(snap_file, abort_and_replace)
{
	const int k[] = {TEXT};
	uint8_t *m = make_pages(k, 1);
	const char *p = path_of("a.snap");
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.tmp", p);
	struct snap_writer *w;
	cr_assert_eq(snap_writer_open(p, NULL, &w), 0);
	cr_assert(exists(tmp));
	cr_assert_eq(snap_writer_memory(w, 0, m, PAGE), 0);
	snap_writer_abort(w);
	cr_assert_not(exists(tmp));
	cr_assert_not(exists(p));

	/* A first snapshot; a leftover temp file is reused; the second
	 * replaces the first whole. */
	cr_assert_eq(snap_writer_open(p, NULL, &w), 0);
	cr_assert_eq(snap_writer_section(w, 3, "one", 3), 0);
	cr_assert_eq(snap_writer_finish(w, NULL), 0);
	int fd = open(tmp, O_CREAT | O_WRONLY, 0600);
	cr_assert_eq(write(fd, "junk", 4), 4);
	close(fd);
	cr_assert_eq(snap_writer_open(p, NULL, &w), 0);
	cr_assert_eq(snap_writer_section(w, 3, "two!", 4), 0);
	struct snap_reader *r = open_ok(p);
	size_t len = 0;
	cr_assert_eq(memcmp(snap_section(r, 3, &len), "one", 3), 0,
		     "the old file stays until finish");
	snap_close(r);
	cr_assert_eq(snap_writer_finish(w, NULL), 0);
	r = open_ok(p);
	const char *s = snap_section(r, 3, &len);
	cr_assert_eq(len, 4);
	cr_assert_eq(memcmp(s, "two!", 4), 0);
	snap_close(r);
	cr_assert_not(exists(tmp));

	/* Nowhere to write. */
	cr_assert_eq(snap_writer_open("/nonexistent-dir/x.snap", NULL, &w), -ENOENT);
	free(m);
}

Test(snap_file, many_and_large_sections)
{
	struct snap_writer *w;
	const char *p = path_of("many.snap");
	size_t big = 3u << 20; /* past the writer's buffer */
	uint8_t *data = malloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)(i * 7 + i / 4096);
	cr_assert_eq(snap_writer_open(p, NULL, &w), 0);
	cr_assert_eq(snap_writer_section(w, 1, data, big), 0);
	for (uint32_t t = 3; t < SNAP_MAX_SECTIONS + 1; t++)
		cr_assert_eq(snap_writer_section(w, t, &t, sizeof t), 0, "type %u", t);
	cr_assert_eq(snap_writer_section(w, 1000, "x", 1), -E2BIG, "the index needs the last");
	cr_assert_eq(snap_writer_finish(w, NULL), 0);
	struct snap_reader *r = open_ok(p);
	size_t len;
	const uint8_t *s = snap_section(r, 1, &len);
	cr_assert_eq(len, big);
	cr_assert_eq(memcmp(s, data, big), 0);
	for (uint32_t t = 3; t < SNAP_MAX_SECTIONS + 1; t++) {
		s = snap_section(r, t, &len);
		cr_assert_eq(len, sizeof t);
		cr_assert_eq(snap_ld32(s), t);
	}
	snap_close(r);
	free(data);
}

Test(snap_file, io_errors_are_sticky)
{
	/* A disk that fills up: writes past 64 KiB fail with EFBIG. */
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, lim = {64 << 10, 64 << 10};
	getrlimit(RLIMIT_FSIZE, &old);
	lim.rlim_max = old.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	uint8_t *m = malloc(512 * PAGE);
	for (size_t i = 0; i < 512; i++)
		fill_page(m + i * PAGE, RANDOM, 0);
	const char *p = path_of("full.snap");
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.tmp", p);
	struct snap_writer *w;
	cr_assert_eq(snap_writer_open(p, NULL, &w), 0);
	cr_assert_eq(snap_writer_memory(w, 0, m, 512 * PAGE), -EFBIG, "2 MiB: the buffer spills");
	cr_assert_eq(snap_writer_section(w, 3, "x", 1), -EFBIG, "sticky");
	cr_assert_eq(snap_writer_memory(w, 1024 * PAGE, m, PAGE), -EFBIG);
	cr_assert_eq(snap_writer_finish(w, NULL), -EFBIG);
	cr_assert_not(exists(tmp));
	cr_assert_not(exists(p));

	/* Failing in finish (the last bytes are still buffered until then). */
	cr_assert_eq(snap_writer_open(p, NULL, &w), 0);
	cr_assert_eq(snap_writer_memory(w, 0, m, 32 * PAGE), 0);
	cr_assert_eq(snap_writer_finish(w, NULL), -EFBIG);
	cr_assert_not(exists(tmp));
	cr_assert_not(exists(p));
	setrlimit(RLIMIT_FSIZE, &old);
	free(m);
}

Test(snap_file, open_errors)
{
	struct snap_reader *r;
	char why[200];
	cr_assert_eq(snap_open(path_of("missing"), &r, why, sizeof why), -ENOENT);
	cr_assert(strstr(why, "cannot open"), "%s", why);
	cr_assert_eq(snap_open(dir, &r, why, sizeof why), -EINVAL);
	cr_assert(strstr(why, "not a regular file"), "%s", why);
	int fd = open(path_of("empty"), O_CREAT | O_WRONLY, 0600);
	close(fd);
	cr_assert_eq(snap_open(path_of("empty"), &r, why, sizeof why), -EBADMSG);
	cr_assert(strstr(why, "truncated"), "%s", why);
	cr_assert_eq(snap_open_mem(NULL, 0, &r, NULL, 0), -EBADMSG, "why may be NULL");
}

/* ---- snap_fuzz: hostile files ---- */

TestSuite(snap_fuzz, .init = mkdir_tmp, .fini = rm_tmp);

/* A small valid snapshot, in memory: three sections and five blocks (of
 * two pages at most), one of them raw. */
static uint8_t *small_snapshot(size_t *len)
{
	static const int a[] = {TEXT, TEXT, ZERO, RANDOM, RANDOM, TEXT};
	static const int b[] = {ZERO, TEXT, HALF, TEXT};
	uint8_t *ma = make_pages(a, 6), *mb = make_pages(b, 4);
	const char *p = path_of("small.snap");
	struct snap_writer *w;
	cr_assert_eq(snap_writer_open(p, &(struct snap_write_opts){.block_pages = 2}, &w), 0);
	struct snap_enc e;
	snap_enc_init(&e);
	snap_rec_begin(&e, 1);
	snap_put_u64(&e, 42);
	snap_put_str(&e, "init");
	snap_rec_end(&e);
	cr_assert_eq(snap_writer_section(w, SNAP_SEC_OBJECTS, e.buf, e.len), 0);
	snap_enc_free(&e);
	cr_assert_eq(snap_writer_memory(w, 0, ma, 6 * PAGE), 0);
	cr_assert_eq(snap_writer_section(w, 3, "a third section", 15), 0);
	cr_assert_eq(snap_writer_memory(w, 0x100000, mb, 4 * PAGE), 0);
	struct snap_write_stats st;
	cr_assert_eq(snap_writer_finish(w, &st), 0);
	cr_assert_eq(st.blocks, 5);
	cr_assert_eq(st.raw_blocks, 1);
	free(ma);
	free(mb);
	uint8_t *buf = slurp(p, len);
	unlink(p);
	return buf;
}

/* Where things are in a file (the caller knows it is sane enough). */
static uint8_t *sec_entry(uint8_t *f, uint32_t type)
{
	uint8_t *t = f + snap_ld64(f + SNAP_H_TABLE_OFF);
	for (uint32_t i = 0; i < snap_ld32(f + SNAP_H_NSECTIONS); i++)
		if (snap_ld32(t + i * SNAP_SEC_ENTRY) == type)
			return t + i * SNAP_SEC_ENTRY;
	cr_assert_fail("no section %u", type);
	return NULL;
}

static uint8_t *idx_entry(uint8_t *f, size_t i)
{
	return f + snap_ld64(sec_entry(f, SNAP_SEC_MEMINDEX) + SNAP_S_OFFSET) + i * SNAP_IDX_ENTRY;
}

enum { SEAL_SECTIONS = 1, SEAL_TABLE = 2, SEAL_BODY = 4, SEAL_HEADER = 8, SEAL_ALL = 15 };

/* Recomputes the checksums a forger would, as far as the file's own
 * values let it (it must not overrun on absurd ones either). */
static void reseal(uint8_t *f, size_t len, unsigned what)
{
	if (len < SNAP_HDR_SIZE)
		return;
	uint32_t n = snap_ld32(f + SNAP_H_NSECTIONS);
	uint64_t toff = snap_ld64(f + SNAP_H_TABLE_OFF);
	bool table_ok = n <= SNAP_MAX_SECTIONS && toff <= len && (uint64_t)n * SNAP_SEC_ENTRY <= len - toff;
	if (table_ok && (what & SEAL_SECTIONS))
		for (uint32_t i = 0; i < n; i++) {
			uint8_t *e = f + toff + i * SNAP_SEC_ENTRY;
			uint64_t off = snap_ld64(e + SNAP_S_OFFSET), l = snap_ld64(e + SNAP_S_LENGTH);
			if (off <= len && l <= len - off)
				snap_st64(e + SNAP_S_CSUM, XXH3_64bits(f + off, l));
		}
	if (table_ok && (what & SEAL_TABLE))
		snap_st64(f + SNAP_H_TABLE_CSUM, XXH3_64bits(f + toff, n * SNAP_SEC_ENTRY));
	if (what & SEAL_BODY)
		snap_st64(f + SNAP_H_BODY_CSUM, XXH3_64bits(f + SNAP_HDR_SIZE, len - SNAP_HDR_SIZE));
	if (what & SEAL_HEADER)
		snap_st64(f + SNAP_H_HDR_CSUM, snap_header_csum(f));
}

/* Opens, reads every block, finds and verifies: 0 when all of it worked,
 * or the first error.  Never crashes. */
static int try_all(const uint8_t *f, size_t len, char *why, size_t whylen)
{
	struct snap_reader *r;
	int err = snap_open_mem(f, len, &r, why, whylen);
	if (err) {
		cr_assert_lt(err, 0);
		cr_assert_neq(why[0], '\0', "a reason is given");
		return err;
	}
	struct snap_info info;
	snap_info(r, &info);
	cr_assert_leq(info.block_max, SNAP_MAX_BLOCK_PAGES * PAGE);
	uint8_t *buf = malloc(info.block_max);
	for (size_t i = 0; i < snap_mem_count(r); i++) {
		int k = snap_mem_read(r, i, buf, info.block_max);
		if (k < 0 && !err)
			err = k;
		struct snap_block b;
		snap_mem_block(r, i, &b);
		cr_assert_eq(snap_mem_find(r, b.mem_offset + b.length - 1), (long)i);
	}
	snap_mem_find(r, rnd());
	size_t slen;
	snap_section(r, SNAP_SEC_OBJECTS, &slen);
	free(buf);
	int v = snap_verify(r, why, whylen);
	if (!err)
		err = v;
	if (v)
		cr_assert_neq(why[0], '\0');
	snap_close(r);
	return err;
}

/* The exact bytes in a buffer of their own, so that ASan sees an overrun. */
static uint8_t *dup_buf(const uint8_t *f, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);
	memcpy(b, f, len);
	return b;
}

Test(snap_fuzz, the_small_snapshot_is_valid)
{
	size_t len;
	uint8_t *f = small_snapshot(&len);
	char why[200] = "";
	cr_assert_eq(try_all(f, len, why, sizeof why), 0, "%s", why);
	cr_assert_lt(len, 20000);
	free(f);
}

Test(snap_fuzz, every_truncation_fails)
{
	size_t len;
	uint8_t *f = small_snapshot(&len);
	char why[200];
	for (size_t n = 0; n < len; n++) {
		uint8_t *b = dup_buf(f, n);
		why[0] = '\0';
		cr_assert_neq(try_all(b, n, why, sizeof why), 0, "truncated to %zu", n);
		free(b);
	}
	/* Through a file too: the header's size is checked against the file's. */
	const size_t cuts[] = {0, 1, 95, 96, 97, len / 2, len - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
		const char *p = path_of("cut.snap");
		int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0600);
		cr_assert_eq(write(fd, f, cuts[i]), (ssize_t)cuts[i]);
		close(fd);
		struct snap_reader *r;
		cr_assert_eq(snap_open(p, &r, why, sizeof why), -EBADMSG);
		cr_assert(strstr(why, "truncated"), "%zu: %s", cuts[i], why);
	}
	/* A byte too many is refused as well. */
	uint8_t *b = malloc(len + 1);
	memcpy(b, f, len);
	b[len] = 0;
	struct snap_reader *r;
	cr_assert_eq(snap_open_mem(b, len + 1, &r, why, sizeof why), -EBADMSG);
	cr_assert(strstr(why, "longer than its header says"), "%s", why);
	free(b);
	free(f);
}

Test(snap_fuzz, every_byte_flip_is_caught)
{
	size_t len;
	uint8_t *f = small_snapshot(&len);
	uint8_t *b = dup_buf(f, len);
	char why[200];
	const uint8_t masks[] = {0xff, 0x01, 0x80};
	size_t idx = snap_ld64(sec_entry(f, SNAP_SEC_MEMINDEX) + SNAP_S_OFFSET);
	size_t toff = snap_ld64(f + SNAP_H_TABLE_OFF);
	for (size_t at = 0; at < len; at++) {
		/* Every bit pattern on the metadata, one on the rest. */
		bool meta = at < SNAP_HDR_SIZE || at >= idx || at >= toff;
		for (size_t m = 0; m < (meta ? 3u : 1u); m++) {
			b[at] ^= masks[m];
			cr_assert_neq(try_all(b, len, why, sizeof why), 0, "flip %#x at %zu unnoticed",
				      masks[m], at);
			b[at] ^= masks[m];
		}
	}
	cr_assert_eq(memcmp(b, f, len), 0);
	free(b);
	free(f);
}

/* A crafted file starts as a copy of the valid one. */
#define FRESH() memcpy(f, orig, len)

/* The crafted file must be refused, with a reason holding want. */
static void refused(const uint8_t *f, size_t len, int err, const char *want)
{
	char why[300] = "";
	struct snap_reader *r = NULL;
	uint8_t *b = dup_buf(f, len);
	int got = snap_open_mem(b, len, &r, why, sizeof why);
	cr_assert_eq(got, err, "want %d (%s), got %d: %s", err, want, got, why);
	cr_assert(strstr(why, want), "want \"%s\" in \"%s\"", want, why);
	free(b);
}

Test(snap_fuzz, crafted_headers)
{
	size_t len;
	uint8_t *orig = small_snapshot(&len);
	uint8_t *f = malloc(len);

	FRESH();
	memcpy(f, "HUSKSNAQ", 8);
	refused(f, len, -EINVAL, "not a husk snapshot (bad magic)");

	FRESH();
	snap_st32(f + SNAP_H_VERSION, 0);
	reseal(f, len, SEAL_HEADER);
	refused(f, len, -EBADMSG, "version 0 is invalid");
	FRESH();
	snap_st32(f + SNAP_H_VERSION, 999);
	reseal(f, len, SEAL_HEADER);
	refused(f, len, -ENOTSUP, "snapshot format version 999 is newer than this husk reads (1)");
	FRESH();
	snap_st32(f + SNAP_H_VERSION, 999); /* newer says so before its checksum */
	refused(f, len, -ENOTSUP, "newer");

	FRESH();
	snap_st64(f + SNAP_H_FILE_SIZE, len + 1);
	refused(f, len, -EBADMSG, "header checksum mismatch");

	FRESH();
	snap_st32(f + SNAP_H_ARCH, 183); /* aarch64 */
	reseal(f, len, SEAL_HEADER);
	refused(f, len, -ENOTSUP, "architecture 183");

	FRESH();
	snap_st64(f + SNAP_H_REQUIRED, 0x4);
	reseal(f, len, SEAL_HEADER);
	refused(f, len, -ENOTSUP, "unknown required feature 0x4");

	/* Optional features and reserved fields are no reason to refuse. */
	FRESH();
	snap_st64(f + SNAP_H_OPTIONAL, 0x4);
	snap_st32(f + SNAP_H_RESERVED1, 9);
	snap_st64(f + SNAP_H_RESERVED2, 9);
	reseal(f, len, SEAL_HEADER);
	struct snap_reader *r;
	char why[200];
	cr_assert_eq(snap_open_mem(f, len, &r, why, sizeof why), 0, "%s", why);
	struct snap_info info;
	snap_info(r, &info);
	cr_assert_eq(info.optional_features, 0x4);
	snap_close(r);

	FRESH();
	snap_st32(f + SNAP_H_PAGE_SIZE, 8192);
	reseal(f, len, SEAL_HEADER);
	refused(f, len, -ENOTSUP, "page size 8192");

	const uint32_t bad_max[] = {0, 100, 257 * PAGE, UINT32_MAX};
	for (size_t i = 0; i < 4; i++) {
		FRESH();
		snap_st32(f + SNAP_H_BLOCK_MAX, bad_max[i]);
		reseal(f, len, SEAL_HEADER);
		refused(f, len, -EBADMSG, "block size limit");
	}

	FRESH();
	snap_st64(f + SNAP_H_FILE_SIZE, len + 4096);
	reseal(f, len, SEAL_HEADER);
	refused(f, len, -EBADMSG, "truncated");
	FRESH();
	snap_st64(f + SNAP_H_FILE_SIZE, UINT64_MAX);
	reseal(f, len, SEAL_HEADER);
	refused(f, len, -EBADMSG, "truncated");
	FRESH();
	snap_st64(f + SNAP_H_FILE_SIZE, 96);
	reseal(f, len, SEAL_HEADER);
	refused(f, len, -EBADMSG, "longer than its header says");

	FRESH();
	snap_st32(f + SNAP_H_NSECTIONS, UINT32_MAX);
	reseal(f, len, SEAL_HEADER);
	refused(f, len, -EBADMSG, "section count 4294967295 exceeds the limit (256)");
	FRESH();
	snap_st32(f + SNAP_H_NSECTIONS, 256);
	reseal(f, len, SEAL_HEADER);
	refused(f, len, -EBADMSG, "truncated: section table ends past the end of the file");

	const uint64_t bad_toff[] = {len, len + 1000, UINT64_MAX - 16, UINT64_MAX};
	for (size_t i = 0; i < 4; i++) {
		FRESH();
		snap_st64(f + SNAP_H_TABLE_OFF, bad_toff[i]);
		reseal(f, len, SEAL_HEADER);
		refused(f, len, -EBADMSG, "section table ends past the end of the file");
	}
	FRESH();
	snap_st64(f + SNAP_H_TABLE_OFF, 8);
	reseal(f, len, SEAL_HEADER);
	refused(f, len, -EBADMSG, "inside the header");

	/* The table changed, its checksum not. */
	FRESH();
	sec_entry(f, 3)[SNAP_S_FLAGS] = 1;
	reseal(f, len, SEAL_BODY | SEAL_HEADER);
	refused(f, len, -EBADMSG, "section table checksum mismatch");
	free(f);
	free(orig);
}

Test(snap_fuzz, crafted_sections)
{
	size_t len;
	uint8_t *orig = small_snapshot(&len);
	uint8_t *f = malloc(len);

	struct {
		uint32_t type_of, field; /* which entry, which field */
		uint64_t value;
		const char *want;
	} cases[] = {
		{3, SNAP_S_OFFSET, UINT64_MAX, "lies outside the file's body"},
		{3, SNAP_S_OFFSET, 0, "lies outside the file's body"},
		{3, SNAP_S_OFFSET, 95, "lies outside the file's body"},
		{3, SNAP_S_LENGTH, UINT64_MAX - 50, "lies outside the file's body"},
		{3, SNAP_S_LENGTH, 1ull << 40, "lies outside the file's body"},
		{SNAP_SEC_OBJECTS, SNAP_S_TYPE, 0, "has type 0"},
		{SNAP_SEC_OBJECTS, SNAP_S_TYPE, 3, "section type 3 appears twice"},
		{SNAP_SEC_OBJECTS, SNAP_S_FLAGS, 0x10, "unknown flags 0x10"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		FRESH();
		uint8_t *e = sec_entry(f, cases[i].type_of);
		if (cases[i].field == SNAP_S_TYPE || cases[i].field == SNAP_S_FLAGS)
			snap_st32(e + cases[i].field, (uint32_t)cases[i].value);
		else
			snap_st64(e + cases[i].field, cases[i].value);
		/* An offset past the end, with its length: wraps past u64. */
		if (i == 0)
			snap_st64(e + SNAP_S_LENGTH, 100);
		reseal(f, len, SEAL_ALL);
		refused(f, len, -EBADMSG, cases[i].want);
	}

	/* A section's bytes changed, its checksum not. */
	FRESH();
	uint8_t *e = sec_entry(f, 3);
	f[snap_ld64(e + SNAP_S_OFFSET)] ^= 1;
	reseal(f, len, SEAL_BODY | SEAL_HEADER);
	refused(f, len, -EBADMSG, "(type 3) checksum mismatch");

	/* The memory index's length is not whole entries. */
	FRESH();
	e = sec_entry(f, SNAP_SEC_MEMINDEX);
	snap_st64(e + SNAP_S_LENGTH, snap_ld64(e + SNAP_S_LENGTH) - 1);
	reseal(f, len, SEAL_ALL);
	refused(f, len, -EBADMSG, "is not a multiple of 40");

	/* Without an index, there is no memory: valid. */
	FRESH();
	e = sec_entry(f, SNAP_SEC_MEMINDEX);
	snap_st32(e + SNAP_S_TYPE, 77);
	reseal(f, len, SEAL_ALL);
	struct snap_reader *r;
	char why[200];
	cr_assert_eq(snap_open_mem(f, len, &r, why, sizeof why), 0, "%s", why);
	cr_assert_eq(snap_mem_count(r), 0);
	snap_close(r);
	free(f);
	free(orig);
}

Test(snap_fuzz, crafted_index_entries)
{
	size_t len;
	uint8_t *orig = small_snapshot(&len);
	uint8_t *f = malloc(len);
	/* The blocks: 0 [T T] @0, 1 [R R] @3p raw, 2 [T] @5p, 3 [T H] @1M+1p,
	 * 4 [T] @1M+3p. */
	FRESH();
	cr_assert_eq(snap_ld32(idx_entry(f, 1) + SNAP_I_FLAGS), SNAP_BLK_RAW);
	cr_assert_eq(snap_ld32(idx_entry(f, 0) + SNAP_I_FLAGS), SNAP_BLK_LZ4);
	cr_assert_eq(snap_ld32(idx_entry(f, 0) + SNAP_I_LENGTH), 2 * PAGE);

	struct {
		size_t entry;
		uint32_t field; /* a u32 field when at or past SNAP_I_LENGTH */
		uint64_t value;
		const char *want;
	} cases[] = {
		{1, SNAP_I_MEM_OFF, PAGE, "entry 1 overlaps entry 0"},
		{1, SNAP_I_MEM_OFF, 0, "entry 1 overlaps entry 0"},
		{2, SNAP_I_MEM_OFF, 2 * PAGE, "entry 2 is out of order"},
		{4, SNAP_I_MEM_OFF, 0x100000 + 2 * PAGE, "entry 4 overlaps entry 3"},
		{2, SNAP_I_MEM_OFF, 5 * PAGE + 1, "not page-aligned"},
		{4, SNAP_I_MEM_OFF, UINT64_MAX - PAGE + 1, "wraps around"},
		{0, SNAP_I_LENGTH, 0, "entry 0: length 0 is not a positive multiple"},
		{0, SNAP_I_LENGTH, PAGE - 1, "length 4095"},
		{0, SNAP_I_LENGTH, 3 * PAGE, "length 12288"}, /* over this file's limit */
		{0, SNAP_I_LENGTH, UINT32_MAX, "length 4294967295"},
		{0, SNAP_I_FLAGS, 2, "entry 0: unknown flags 0x2"},
		{0, SNAP_I_STORED, 0, "lz4's bound"},
		{0, SNAP_I_STORED, 8192 + 8192 / 255 + 17, "lz4's bound"},
		{0, SNAP_I_STORED, UINT32_MAX, "lz4's bound"},
		{1, SNAP_I_STORED, PAGE, "raw block stored in 4096 bytes, not its length 8192"},
		{1, SNAP_I_FILE_OFF, PAGE + 1, "unaligned file offset"},
		{1, SNAP_I_FILE_OFF, 0, "outside the file's body"},
		{0, SNAP_I_FILE_OFF, 10, "outside the file's body"},
		{0, SNAP_I_FILE_OFF, UINT64_MAX - 10, "outside the file's body"},
		{2, SNAP_I_FILE_OFF, 1ull << 50, "outside the file's body"},
		{1, SNAP_I_FILE_OFF, UINT64_MAX & ~(uint64_t)(PAGE - 1), "outside the file's body"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		FRESH();
		uint8_t *e = idx_entry(f, cases[i].entry);
		if (cases[i].field >= SNAP_I_LENGTH)
			snap_st32(e + cases[i].field, (uint32_t)cases[i].value);
		else
			snap_st64(e + cases[i].field, cases[i].value);
		reseal(f, len, SEAL_ALL);
		refused(f, len, -EBADMSG, cases[i].want);
	}

	/* Swapped entries. */
	FRESH();
	uint8_t tmp[SNAP_IDX_ENTRY];
	memcpy(tmp, idx_entry(f, 1), sizeof tmp);
	memcpy(idx_entry(f, 1), idx_entry(f, 2), sizeof tmp);
	memcpy(idx_entry(f, 2), tmp, sizeof tmp);
	reseal(f, len, SEAL_ALL);
	refused(f, len, -EBADMSG, "entry 2 is out of order");

	/* A block of the largest size the bound allows, its data garbage
	 * (whatever follows it in the file): open takes it, reading fails. */
	FRESH();
	uint8_t *e = idx_entry(f, 0);
	snap_st32(e + SNAP_I_STORED, LZ4_compressBound(2 * PAGE));
	reseal(f, len, SEAL_ALL);
	struct snap_reader *r;
	char why[200];
	uint8_t *buf = malloc(2 * PAGE);
	cr_assert_eq(snap_open_mem(f, len, &r, why, sizeof why), 0, "%s", why);
	cr_assert_eq(snap_mem_read(r, 0, buf, 2 * PAGE), -EBADMSG);
	cr_assert_eq(snap_mem_read(r, 2, buf, 2 * PAGE), PAGE, "others still read");
	cr_assert_eq(snap_verify(r, why, sizeof why), -EBADMSG);
	cr_assert(strstr(why, "memory block 0 (memory offset 0x0) is corrupt"), "%s", why);
	snap_close(r);

	/* Stored bytes garbled, every checksum but the block's own redone. */
	for (size_t blk = 0; blk < 5; blk++) {
		FRESH();
		e = idx_entry(f, blk);
		uint64_t at = snap_ld64(e + SNAP_I_FILE_OFF);
		for (uint32_t j = 0; j < snap_ld32(e + SNAP_I_STORED); j += 7)
			f[at + j] ^= 0x5a;
		reseal(f, len, SEAL_ALL);
		cr_assert_eq(snap_open_mem(f, len, &r, why, sizeof why), 0, "%s", why);
		cr_assert_eq(snap_mem_read(r, blk, buf, 2 * PAGE), -EBADMSG, "block %zu", blk);
		snap_close(r);
	}

	/* A block's checksum wrong. */
	FRESH();
	e = idx_entry(f, 3);
	snap_st64(e + SNAP_I_CSUM, snap_ld64(e + SNAP_I_CSUM) + 1);
	reseal(f, len, SEAL_ALL);
	cr_assert_eq(snap_open_mem(f, len, &r, why, sizeof why), 0, "%s", why);
	cr_assert_eq(snap_mem_read(r, 3, buf, 2 * PAGE), -EBADMSG);
	cr_assert_eq(snap_verify(r, why, sizeof why), -EBADMSG);
	cr_assert(strstr(why, "memory block 3"), "%s", why);
	snap_close(r);

	/* Only the body checksum is wrong: verify says so. */
	FRESH();
	snap_st64(f + SNAP_H_BODY_CSUM, 12345);
	reseal(f, len, SEAL_HEADER);
	cr_assert_eq(snap_open_mem(f, len, &r, why, sizeof why), 0, "%s", why);
	cr_assert_eq(snap_verify(r, why, sizeof why), -EBADMSG);
	cr_assert(strstr(why, "body checksum mismatch"), "%s", why);
	snap_close(r);
	free(buf);
	free(f);
	free(orig);
}

Test(snap_fuzz, random_bytes)
{
	char why[200];
	for (int i = 0; i < 5000; i++) {
		size_t len = rnd() % 600;
		uint8_t *b = malloc(len ? len : 1);
		for (size_t j = 0; j < len; j++)
			b[j] = (uint8_t)rnd();
		/* Half of them look like a snapshot's start, sealed. */
		if (i % 2 && len >= SNAP_HDR_SIZE) {
			memcpy(b, SNAP_MAGIC, 8);
			snap_st32(b + SNAP_H_VERSION, 1);
			snap_st32(b + SNAP_H_ARCH, SNAP_ARCH_X86_64);
			snap_st64(b + SNAP_H_REQUIRED, 0);
			snap_st32(b + SNAP_H_PAGE_SIZE, PAGE);
			snap_st32(b + SNAP_H_BLOCK_MAX, PAGE * (1 + rnd() % 4));
			snap_st32(b + SNAP_H_NSECTIONS, rnd() % 4);
			snap_st64(b + SNAP_H_TABLE_OFF, SNAP_HDR_SIZE + rnd() % (len - 95));
			snap_st64(b + SNAP_H_FILE_SIZE, len);
			reseal(b, len, SEAL_ALL);
		}
		try_all(b, len, why, sizeof why);
		free(b);
	}
}

Test(snap_fuzz, mutated_snapshots)
{
	size_t len;
	uint8_t *orig = small_snapshot(&len);
	size_t idx = snap_ld64(sec_entry(orig, SNAP_SEC_MEMINDEX) + SNAP_S_OFFSET);
	char why[200];
	int opened = 0;
	for (int i = 0; i < 10000; i++) {
		uint8_t *f = dup_buf(orig, len);
		int n = 1 + rnd() % 4;
		for (int k = 0; k < n; k++) {
			uint64_t r = rnd();
			/* Mostly the metadata: the header, the index and the table. */
			size_t at = r % 3 == 0   ? (r >> 8) % SNAP_HDR_SIZE
				    : r % 3 == 1 ? idx + (r >> 8) % (len - idx)
						 : (r >> 8) % len;
			switch ((r >> 40) % 4) {
			case 0:
				f[at] ^= (uint8_t)(1u << ((r >> 50) % 8));
				break;
			case 1:
				f[at] = (uint8_t)(r >> 48);
				break;
			case 2: /* small numbers make deeper trouble */
				f[at] = (uint8_t)((r >> 48) % 3);
				break;
			default:
				if (at + 8 <= len)
					snap_st64(f + at, r % 2 ? UINT64_MAX : (r >> 45));
			}
		}
		/* Resealed, most of the time, to get past the checksums. */
		if (rnd() % 4)
			reseal(f, len, SEAL_ALL);
		else if (memcmp(f, orig, len))
			cr_assert_neq(try_all(f, len, why, sizeof why), 0, "an unsealed change");
		struct snap_reader *r;
		if (snap_open_mem(f, len, &r, why, sizeof why) == 0) {
			opened++;
			snap_close(r);
		}
		try_all(f, len, why, sizeof why);
		free(f);
	}
	cr_assert_gt(opened, 0, "some mutations get through open (then reads are tried)");
	free(orig);
}
