/* What a restored sandbox writes first, remembered for the next restore
 * of the same snapshot (in the spirit of REAP's working sets): memory
 * mapped from the snapshot's image is copy-on-write, and each page the
 * guest writes costs a fault and a copy.  The first restore records the
 * pages it copies (FILE.hot: pairs of image offset and length, u64
 * little-endian); later restores copy those up front, a run of adjacent
 * pages at a time, before the guest runs, and leave the rest shared. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"

/* The record covers a sandbox's first writes: this many pieces (pages;
 * 64 MiB), in this long after the restore. */
#define HOT_MAX 16384
#define HOT_WINDOW_NS (10LL * 1000000000LL)

void ckpt_hot_note(struct k_kernel *k, uint64_t off, uint64_t len)
{
	if (k->hot_fd < 0)
		return;
	if (k->nhot >= HOT_MAX || k_clock_ns(CLOCK_MONOTONIC) > k->hot_until) {
		close(k->hot_fd);
		k->hot_fd = -1;
		return;
	}
	uint64_t rec[2] = {off, len};
	if (pwrite(k->hot_fd, rec, sizeof(rec), (off_t)(k->nhot * sizeof(rec))) == sizeof(rec))
		k->nhot++;
}

int ckpt_hot_open(struct k_kernel *k, const char *path, int image_fd, uint64_t image_size,
		  uint64_t **list, size_t *n)
{
	*list = NULL;
	*n = 0;
	k->hot_fd = -1;
	char hot[4200];
	if (image_fd < 0 || snprintf(hot, sizeof(hot), "%s.hot", path) >= (int)sizeof(hot))
		return 0;
	struct stat is, hs;
	if (fstat(image_fd, &is) != 0)
		return 0;
	int fd = open(hot, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	/* An empty one is stale too: the restore that made it recorded
	 * nothing (or failed). */
	bool fresh = fd >= 0 && fstat(fd, &hs) == 0 && S_ISREG(hs.st_mode) && hs.st_size > 0 &&
		     (hs.st_mtim.tv_sec > is.st_mtim.tv_sec ||
		      (hs.st_mtim.tv_sec == is.st_mtim.tv_sec &&
		       hs.st_mtim.tv_nsec >= is.st_mtim.tv_nsec));
	if (fresh && hs.st_size > 0) {
		size_t want = (size_t)hs.st_size / 16;
		if (want > HOT_MAX)
			want = HOT_MAX;
		uint64_t *v = malloc(want * 16);
		ssize_t got = v ? pread(fd, v, want * 16, 0) : -1;
		size_t m = 0;
		/* Advisory, and the file is the host's: entries that do not fit
		 * the image are dropped. */
		for (size_t i = 0; got > 0 && i < (size_t)got / 16; i++)
			if (!(v[2 * i] & ~PAGE_MASK) && v[2 * i + 1] && v[2 * i + 1] <= (1u << 20) &&
			    v[2 * i] < image_size && v[2 * i + 1] <= image_size - v[2 * i]) {
				v[2 * m] = v[2 * i];
				v[2 * m + 1] = v[2 * i + 1];
				m++;
			}
		*list = v;
		*n = m;
	}
	if (fd >= 0)
		close(fd);
	if (!fresh) {
		/* None yet (or it is older than the image): this restore
		 * records one. */
		unlink(hot);
		k->hot_fd = open(hot, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		k->nhot = 0;
		k->hot_until = k_clock_ns(CLOCK_MONOTONIC) + HOT_WINDOW_NS;
	}
	return 0;
}

void ckpt_hot_abandon(struct k_kernel *k, const char *path)
{
	char hot[4200];
	if (k->hot_fd < 0)
		return;
	close(k->hot_fd);
	k->hot_fd = -1;
	if (snprintf(hot, sizeof(hot), "%s.hot", path) < (int)sizeof(hot))
		unlink(hot);
}

static int by_offset(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorts the recorded pieces by offset and joins those that touch or
 * overlap into runs: n pairs in, the number of runs back. */
static size_t runs_of(uint64_t *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, 16, by_offset);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t lo = v[2 * i], hi = lo + v[2 * i + 1];
		if (m && lo <= v[2 * (m - 1)] + v[2 * (m - 1) + 1]) {
			uint64_t *len = &v[2 * (m - 1) + 1];
			if (hi > v[2 * (m - 1)] + *len)
				*len = hi - v[2 * (m - 1)];
			continue;
		}
		v[2 * m] = lo;
		v[2 * m + 1] = hi - lo;
		m++;
	}
	return m;
}

/* The first of the n runs (sorted, disjoint) that ends above off. */
static size_t first_run(const uint64_t *run, size_t n, uint64_t off)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (run[2 * mid] + run[2 * mid + 1] <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void ckpt_hot_apply(struct k_kernel *k, uint64_t *list, size_t n)
{
	/* Each recorded run of pages: every restored mapping of that part
	 * of the image copies it now (as its first writes would), one copy
	 * a run and mapping. */
	n = runs_of(list, n);
	struct k_mm *done[64];
	size_t ndone = 0;
	uint64_t *at = NULL;
	size_t cap = 0;
	for (struct k_task *t = k->tasks; t && n; t = t->next) {
		struct k_mm *mm = t->mm;
		bool seen = false;
		for (size_t i = 0; i < ndone; i++)
			seen |= done[i] == mm;
		if (seen)
			continue;
		if (ndone < ARRAY_LEN(done))
			done[ndone++] = mm;
		/* Guest ranges first (the copies split the VMAs). */
		size_t m = 0;
		for (size_t j = 0; j < mm->n; j++) {
			const struct k_vma *v = &mm->v[j];
			if (!v->mobj || !v->mobj->image || !(v->flags & VMA_COW) ||
			    !(v->prot & PROT_WRITE))
				continue;
			uint64_t lo = v->mobj->off + v->pgoff, hi = lo + (v->end - v->start);
			for (size_t i = first_run(list, n, lo); i < n && list[2 * i] < hi; i++) {
				uint64_t a = list[2 * i] > lo ? list[2 * i] : lo;
				uint64_t b = list[2 * i] + list[2 * i + 1];
				if (b > hi)
					b = hi;
				if (m == cap) {
					size_t c = cap ? 2 * cap : 64;
					uint64_t *g = realloc(at, c * 16);
					if (!g)
						goto out;
					at = g;
					cap = c;
				}
				at[2 * m] = v->start + (a - lo);
				at[2 * m + 1] = b - a;
				m++;
			}
		}
		for (size_t i = 0; i < m; i++)
			if (mm_cow_range(mm, at[2 * i], at[2 * i + 1]))
				goto out; /* (out of memory: the rest faults in) */
	}
out:
	free(at);
}
