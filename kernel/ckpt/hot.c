/* What a restored sandbox writes first, remembered for the next restore
 * of the same snapshot (in the spirit of REAP's working sets): memory
 * mapped from the snapshot's image is copy-on-write, and each chunk the
 * guest writes costs a fault and a copy.  The first restore records the
 * chunks it copies (FILE.hot: pairs of image offset and length, u64
 * little-endian); later restores copy those up front, in one go before
 * the guest runs, and leave the rest shared. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"

/* The record covers a sandbox's first writes: this many chunks, in this
 * long after the restore. */
#define HOT_MAX 4096
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

void ckpt_hot_apply(struct k_kernel *k, const uint64_t *list, size_t n)
{
	/* Each recorded chunk: every restored mapping of that part of the
	 * image copies it now (as its first write would). */
	struct k_mm *done[64];
	size_t ndone = 0;
	for (struct k_task *t = k->tasks; t; t = t->next) {
		struct k_mm *mm = t->mm;
		bool seen = false;
		for (size_t i = 0; i < ndone; i++)
			seen |= done[i] == mm;
		if (seen)
			continue;
		if (ndone < ARRAY_LEN(done))
			done[ndone++] = mm;
		for (size_t i = 0; i < n; i++) {
			uint64_t off = list[2 * i], len = list[2 * i + 1];
			for (size_t j = 0; j < mm->n; j++) {
				struct k_vma *v = &mm->v[j];
				if (!v->mobj || !v->mobj->image || !(v->flags & VMA_COW) ||
				    !(v->prot & PROT_WRITE))
					continue;
				uint64_t lo = v->mobj->off + v->pgoff, hi = lo + (v->end - v->start);
				if (off >= hi || off + len <= lo)
					continue;
				mm_fault_cow(mm, v->start + (off > lo ? off - lo : 0));
				break; /* (the VMAs moved; one chunk an entry) */
			}
		}
	}
}
