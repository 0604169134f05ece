/* The writer: streams sections and memory blocks into PATH.tmp, hashing
 * every byte as it goes, then appends the memory index and the section
 * table, fills in the header and renames the file into place. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "format.h"
#include "snapshot.h"

#define OBUF_SIZE (1u << 20) /* writes go out in pieces this big */

struct wsection {
	uint32_t type;
	uint64_t off, len, csum;
};

struct snap_writer {
	int fd;
	int err; /* a sticky I/O error */
	char *path, *tmp;
	bool made_tmp; /* tmp is ours to remove */
	bool borrowed; /* the caller's fd: neither synced, renamed nor closed */
	int compress;
	uint32_t block_bytes;
	uint64_t pos; /* the file's length so far, buffered bytes included */
	uint8_t *obuf;
	size_t olen;
	char *cbuf; /* lz4's output for one block */
	int cbound;
	XXH3_state_t *body; /* of everything after the header */
	struct wsection sec[SNAP_MAX_SECTIONS];
	unsigned nsec;
	uint8_t *index; /* encoded index entries */
	size_t nidx, idxcap;
	bool any_mem;
	uint64_t mem_end; /* where the last memory range ended */
	struct snap_write_stats st;
};

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = write(fd, b, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int flush(struct snap_writer *w)
{
	if (w->err)
		return w->err;
	int err = write_all(w->fd, w->obuf, w->olen);
	w->olen = 0;
	if (err)
		w->err = err;
	return err;
}

/* Appends n bytes to the file (through the buffer) and to the body hash. */
static int emit(struct snap_writer *w, const void *p, size_t n)
{
	if (w->err)
		return w->err;
	if (!n)
		return 0;
	XXH3_64bits_update(w->body, p, n);
	w->pos += n;
	if (n > OBUF_SIZE - w->olen && flush(w))
		return w->err;
	if (n >= OBUF_SIZE) {
		int err = write_all(w->fd, p, n);
		if (err)
			w->err = err;
		return err;
	}
	memcpy(w->obuf + w->olen, p, n);
	w->olen += n;
	return 0;
}

/* Zeros up to the next page boundary. */
static int pad_to_page(struct snap_writer *w)
{
	static const uint8_t zeros[SNAP_PAGE_SIZE];
	size_t r = w->pos % SNAP_PAGE_SIZE;
	return r ? emit(w, zeros, SNAP_PAGE_SIZE - r) : 0;
}

static int writer_open(const char *path, int fd, const struct snap_write_opts *opts,
		       struct snap_writer **out)
{
	struct snap_write_opts o = opts ? *opts : (struct snap_write_opts){0};
	if (!o.block_pages)
		o.block_pages = SNAP_DEFAULT_BLOCK_PAGES;
	if (o.block_pages > SNAP_MAX_BLOCK_PAGES ||
	    (o.compress != SNAP_COMPRESS_LZ4 && o.compress != SNAP_COMPRESS_NONE))
		return -EINVAL;

	struct snap_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->fd = -1;
	w->compress = o.compress;
	w->block_bytes = o.block_pages * SNAP_PAGE_SIZE;
	w->cbound = LZ4_compressBound((int)w->block_bytes);
	if (path) {
		w->path = strdup(path);
		if (w->path && asprintf(&w->tmp, "%s.tmp", path) < 0)
			w->tmp = NULL;
	}
	w->obuf = malloc(OBUF_SIZE);
	w->cbuf = malloc((size_t)w->cbound);
	w->body = XXH3_createState();
	int err = -ENOMEM;
	if ((path && (!w->path || !w->tmp)) || !w->obuf || !w->cbuf || !w->body)
		goto fail;
	XXH3_64bits_reset(w->body);
	if (path) {
		w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (w->fd < 0) {
			err = -errno;
			goto fail;
		}
		w->made_tmp = true;
	} else {
		w->fd = fd;
		w->borrowed = true;
	}
	/* The header's place; it is written last. */
	static const uint8_t blank[SNAP_HDR_SIZE];
	err = write_all(w->fd, blank, sizeof blank);
	if (err) {
		snap_writer_abort(w);
		return err;
	}
	w->pos = SNAP_HDR_SIZE;
	*out = w;
	return 0;
fail:
	snap_writer_abort(w);
	return err;
}

int snap_writer_open(const char *path, const struct snap_write_opts *opts,
		     struct snap_writer **out)
{
	return path ? writer_open(path, -1, opts, out) : -EINVAL;
}

int snap_writer_open_fd(int fd, const struct snap_write_opts *opts, struct snap_writer **out)
{
	return fd >= 0 ? writer_open(NULL, fd, opts, out) : -EBADF;
}

static int add_section(struct snap_writer *w, uint32_t type, const void *data, size_t len)
{
	struct wsection *s = &w->sec[w->nsec];
	s->type = type;
	s->off = w->pos;
	s->len = len;
	s->csum = XXH3_64bits(data, len);
	int err = emit(w, data, len);
	if (!err)
		w->nsec++;
	return err;
}

int snap_writer_section(struct snap_writer *w, uint32_t type, const void *data, size_t len)
{
	if (w->err)
		return w->err;
	if (type == 0 || type == SNAP_SEC_MEMINDEX || (len && !data))
		return -EINVAL;
	for (unsigned i = 0; i < w->nsec; i++)
		if (w->sec[i].type == type)
			return -EEXIST;
	if (w->nsec >= SNAP_MAX_SECTIONS - 1) /* the index needs one */
		return -E2BIG;
	return add_section(w, type, data, len);
}

/* One block: len bytes of non-zero pages for memory offset mem. */
static int put_block(struct snap_writer *w, uint64_t mem, const uint8_t *p, uint32_t len)
{
	if (w->nidx == w->idxcap) {
		size_t cap = w->idxcap ? w->idxcap * 2 : 64;
		uint8_t *ix = realloc(w->index, cap * SNAP_IDX_ENTRY);
		if (!ix)
			return w->err = -ENOMEM;
		w->index = ix;
		w->idxcap = cap;
	}
	const void *data = p;
	uint32_t stored = len, flags = SNAP_BLK_RAW;
	if (w->compress == SNAP_COMPRESS_LZ4) {
		int c = LZ4_compress_default((const char *)p, w->cbuf, (int)len, w->cbound);
		if (c > 0 && (uint32_t)c < len) {
			data = w->cbuf;
			stored = (uint32_t)c;
			flags = SNAP_BLK_LZ4;
		}
	}
	if (flags == SNAP_BLK_RAW && pad_to_page(w))
		return w->err;
	uint64_t at = w->pos;
	if (emit(w, data, stored))
		return w->err;

	uint8_t *e = w->index + w->nidx++ * SNAP_IDX_ENTRY;
	snap_st64(e + SNAP_I_MEM_OFF, mem);
	snap_st64(e + SNAP_I_FILE_OFF, at);
	snap_st64(e + SNAP_I_CSUM, XXH3_64bits(p, len));
	snap_st32(e + SNAP_I_LENGTH, len);
	snap_st32(e + SNAP_I_STORED, stored);
	snap_st32(e + SNAP_I_FLAGS, flags);
	snap_st32(e + SNAP_I_RESERVED, 0);
	w->st.blocks++;
	w->st.raw_blocks += flags == SNAP_BLK_RAW;
	w->st.stored_bytes += stored;
	w->st.nonzero_bytes += len;
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	/* The first byte is zero and each byte equals the next: memcmp's
	 * vectorised loop does the work. */
	return p[0] == 0 && memcmp(p, p + 1, SNAP_PAGE_SIZE - 1) == 0;
}

int snap_writer_memory(struct snap_writer *w, uint64_t offset, const void *data, size_t len)
{
	if (w->err)
		return w->err;
	if (offset % SNAP_PAGE_SIZE || len % SNAP_PAGE_SIZE || len > UINT64_MAX - offset ||
	    (len && !data) || (w->any_mem && offset < w->mem_end))
		return -EINVAL;
	w->any_mem = true;
	w->mem_end = offset + len;
	w->st.mem_bytes += len;

	const uint8_t *base = data;
	size_t run = 0, run_len = 0; /* the pending block: [run, run + run_len) */
	for (size_t at = 0; at < len; at += SNAP_PAGE_SIZE) {
		if (page_is_zero(base + at)) {
			w->st.zero_pages++;
			if (run_len && put_block(w, offset + run, base + run, (uint32_t)run_len))
				return w->err;
			run_len = 0;
			continue;
		}
		if (!run_len)
			run = at;
		run_len += SNAP_PAGE_SIZE;
		if (run_len == w->block_bytes) {
			if (put_block(w, offset + run, base + run, (uint32_t)run_len))
				return w->err;
			run_len = 0;
		}
	}
	if (run_len && put_block(w, offset + run, base + run, (uint32_t)run_len))
		return w->err;
	return 0;
}

/* Makes the rename itself durable; best effort, as the file is in place
 * by then whatever this says. */
static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int snap_writer_finish(struct snap_writer *w, struct snap_write_stats *st)
{
	int err = w->err;
	if (err)
		goto fail;
	if ((err = add_section(w, SNAP_SEC_MEMINDEX, w->index, w->nidx * SNAP_IDX_ENTRY)))
		goto fail;

	uint8_t table[SNAP_MAX_SECTIONS * SNAP_SEC_ENTRY];
	size_t tlen = w->nsec * SNAP_SEC_ENTRY;
	memset(table, 0, tlen);
	for (unsigned i = 0; i < w->nsec; i++) {
		uint8_t *e = table + i * SNAP_SEC_ENTRY;
		snap_st32(e + SNAP_S_TYPE, w->sec[i].type);
		snap_st32(e + SNAP_S_FLAGS, 0);
		snap_st64(e + SNAP_S_OFFSET, w->sec[i].off);
		snap_st64(e + SNAP_S_LENGTH, w->sec[i].len);
		snap_st64(e + SNAP_S_CSUM, w->sec[i].csum);
	}
	uint64_t table_off = w->pos;
	if ((err = emit(w, table, tlen)) || (err = flush(w)))
		goto fail;

	uint8_t h[SNAP_HDR_SIZE] = {0};
	memcpy(h + SNAP_H_MAGIC, SNAP_MAGIC, 8);
	snap_st32(h + SNAP_H_VERSION, SNAP_VERSION);
	snap_st32(h + SNAP_H_ARCH, SNAP_ARCH_X86_64);
	snap_st64(h + SNAP_H_REQUIRED, 0);
	snap_st64(h + SNAP_H_OPTIONAL, 0);
	snap_st32(h + SNAP_H_PAGE_SIZE, SNAP_PAGE_SIZE);
	snap_st32(h + SNAP_H_BLOCK_MAX, w->block_bytes);
	snap_st32(h + SNAP_H_NSECTIONS, w->nsec);
	snap_st64(h + SNAP_H_TABLE_OFF, table_off);
	snap_st64(h + SNAP_H_FILE_SIZE, w->pos);
	snap_st64(h + SNAP_H_TABLE_CSUM, XXH3_64bits(table, tlen));
	snap_st64(h + SNAP_H_BODY_CSUM, XXH3_64bits_digest(w->body));
	snap_st64(h + SNAP_H_HDR_CSUM, snap_header_csum(h));
	ssize_t k;
	do
		k = pwrite(w->fd, h, sizeof h, 0);
	while (k < 0 && errno == EINTR);
	if (k != (ssize_t)sizeof h) {
		err = k < 0 ? -errno : -EIO;
		goto fail;
	}
	if (w->borrowed) {
		w->st.file_size = w->pos;
		if (st)
			*st = w->st;
		snap_writer_abort(w);
		return 0;
	}
	if (fsync(w->fd) < 0) {
		err = -errno;
		goto fail;
	}
	int fd = w->fd;
	w->fd = -1;
	if (close(fd) < 0) {
		err = -errno;
		goto fail;
	}
	if (rename(w->tmp, w->path) < 0) {
		err = -errno;
		goto fail;
	}
	sync_dir(w->path);
	w->st.file_size = w->pos;
	if (st)
		*st = w->st;
	w->made_tmp = false; /* it is PATH now */
	snap_writer_abort(w);
	return 0;
fail:
	snap_writer_abort(w);
	return err;
}

void snap_writer_abort(struct snap_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0 && !w->borrowed)
		close(w->fd);
	if (w->made_tmp)
		unlink(w->tmp);
	free(w->path);
	free(w->tmp);
	free(w->obuf);
	free(w->cbuf);
	XXH3_freeState(w->body);
	free(w->index);
	free(w);
}
