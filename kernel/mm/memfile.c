/* The memory file: one memfd holds every page of guest memory, so the
 * sentry can read it directly, the platform can map it into the guest, and
 * a snapshot can save it.  Ranges of it are handed out first-fit. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../sentry.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

int memfile_init(struct k_memfile *mf, uint64_t size)
{
	memset(mf, 0, sizeof(*mf));
	/* Guest code runs from this file: ask for exec explicitly, since
	 * vm.memfd_noexec may otherwise forbid it (kernels before 6.3 reject
	 * the flag and allow exec anyway). */
	int fd = memfd_create("husk-memory", MFD_CLOEXEC | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("husk-memory", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		close(fd);
		return -e;
	}
	mf->free = malloc(16 * sizeof(*mf->free));
	if (!mf->free) {
		munmap(p, size);
		close(fd);
		return -ENOMEM;
	}
	mf->fd = fd;
	mf->base = p;
	mf->size = size;
	mf->cap = 16;
	mf->free[0] = (struct k_extent){0, size};
	mf->nfree = 1;
	return 0;
}

void memfile_destroy(struct k_memfile *mf)
{
	if (mf->base)
		munmap(mf->base, mf->size);
	if (mf->fd > 0)
		close(mf->fd);
	free(mf->free);
	memset(mf, 0, sizeof(*mf));
}

int64_t memfile_alloc(struct k_memfile *mf, uint64_t len)
{
	if (len == 0 || (len & ~PAGE_MASK))
		return -EINVAL;
	for (size_t i = 0; i < mf->nfree; i++) {
		struct k_extent *e = &mf->free[i];
		if (e->len < len)
			continue;
		uint64_t off = e->off;
		e->off += len;
		e->len -= len;
		if (e->len == 0) {
			memmove(e, e + 1, (mf->nfree - i - 1) * sizeof(*e));
			mf->nfree--;
		}
		mf->allocated += len;
		return (int64_t)off;
	}
	return -ENOMEM;
}

int memfile_extend(struct k_memfile *mf, uint64_t off, uint64_t len, uint64_t newlen)
{
	uint64_t end = off + len, grow = newlen - len;
	for (size_t i = 0; i < mf->nfree; i++) {
		struct k_extent *e = &mf->free[i];
		if (e->off < end)
			continue;
		if (e->off > end || e->len < grow)
			return -ENOMEM;
		e->off += grow;
		e->len -= grow;
		if (e->len == 0) {
			memmove(e, e + 1, (mf->nfree - i - 1) * sizeof(*e));
			mf->nfree--;
		}
		mf->allocated += grow;
		return 0;
	}
	return -ENOMEM;
}

void memfile_zero(struct k_memfile *mf, uint64_t off, uint64_t len)
{
	/* A hole reads as zeros and gives the pages back to the host. */
	fallocate(mf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
}

void memfile_free(struct k_memfile *mf, uint64_t off, uint64_t len)
{
	if (len == 0)
		return;
	memfile_zero(mf, off, len);
	mf->allocated -= len;
	/* Insert sorted, then merge with neighbours. */
	size_t i = 0;
	while (i < mf->nfree && mf->free[i].off < off)
		i++;
	bool prev = i > 0 && mf->free[i - 1].off + mf->free[i - 1].len == off;
	bool next = i < mf->nfree && off + len == mf->free[i].off;
	if (prev && next) {
		mf->free[i - 1].len += len + mf->free[i].len;
		memmove(&mf->free[i], &mf->free[i + 1], (mf->nfree - i - 1) * sizeof(*mf->free));
		mf->nfree--;
	} else if (prev) {
		mf->free[i - 1].len += len;
	} else if (next) {
		mf->free[i].off = off;
		mf->free[i].len += len;
	} else {
		if (mf->nfree == mf->cap) {
			struct k_extent *n = realloc(mf->free, 2 * mf->cap * sizeof(*n));
			if (!n)
				return; /* the range leaks from the allocator, never reused */
			mf->free = n;
			mf->cap *= 2;
		}
		memmove(&mf->free[i + 1], &mf->free[i], (mf->nfree - i) * sizeof(*mf->free));
		mf->free[i] = (struct k_extent){off, len};
		mf->nfree++;
	}
}

void memfile_copy(struct k_memfile *mf, uint64_t dst, uint64_t src, uint64_t len)
{
	/* Only the data the source has: holes stay holes in the copy. */
	uint64_t at = src, end = src + len;
	while (at < end) {
		off_t d = lseek(mf->fd, (off_t)at, SEEK_DATA);
		if (d < 0 || (uint64_t)d >= end)
			break;
		off_t h = lseek(mf->fd, d, SEEK_HOLE);
		uint64_t stop = h < 0 || (uint64_t)h > end ? end : (uint64_t)h;
		memcpy(mf->base + dst + ((uint64_t)d - src), mf->base + d, stop - (uint64_t)d);
		at = stop;
	}
}
