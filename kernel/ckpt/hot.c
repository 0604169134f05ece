/* What a restored sandbox writes first, remembered for the next restore
 * of the same snapshot (in the spirit of REAP's working sets): memory
 * mapped from the snapshot's image is copy-on-write, and each page the
 * guest writes costs a fault and a copy.  The first restore records the
 * pages it copies (FILE.hot: pairs of image offset and length, u64
 * little-endian); later restores copy those up front, a run of adjacent
 * pages at a time, and leave the rest shared.  The copying is the
 * restore's biggest cost, so a helper thread does it on another CPU
 * while the sentry rebuilds the objects; the copies are put in place once
 * both are done, before the guest runs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
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

struct hot_run {
	uint64_t off, len;   /* in the image */
	struct k_mobj *copy; /* its pages, copied ahead (memory) */
	const struct k_mm *owner; /* the mm the copy went to (others copy again) */
	bool ok;             /* the helper copied it */
};

struct ckpt_hot {
	struct hot_run *run;
	size_t n;
	int image_fd, mem_fd; /* the helper's own */
	int sentry_cpu;       /* which the helper keeps off (-1: none) */
	pthread_t helper;
	bool started;
};

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

/* The recorded pieces that fit the image (the file is the host's, and
 * only advisory: others are dropped), as runs; 0 when there are none. */
static size_t read_runs(int fd, uint64_t image_size, uint64_t **out)
{
	struct stat st;
	*out = NULL;
	if (fstat(fd, &st) != 0 || st.st_size < 16)
		return 0;
	size_t want = (size_t)st.st_size / 16;
	if (want > HOT_MAX)
		want = HOT_MAX;
	uint64_t *v = malloc(want * 16);
	ssize_t got = v ? pread(fd, v, want * 16, 0) : -1;
	size_t m = 0;
	for (size_t i = 0; got > 0 && i < (size_t)got / 16; i++)
		if (!((v[2 * i] | v[2 * i + 1]) & ~PAGE_MASK) && v[2 * i + 1] &&
		    v[2 * i + 1] <= (1u << 20) && v[2 * i] < image_size &&
		    v[2 * i + 1] <= image_size - v[2 * i]) {
			v[2 * m] = v[2 * i];
			v[2 * m + 1] = v[2 * i + 1];
			m++;
		}
	*out = v;
	return runs_of(v, m);
}

/* The helper: each run from the image into its copy, file to file in the
 * kernel (through a pipe, at explicit offsets: the sentry's descriptors'
 * positions are not touched), on any CPU but the sentry's own. */
static void *copier(void *arg)
{
	struct ckpt_hot *h = arg;
	cpu_set_t others;
	CPU_ZERO(&others);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (i != h->sentry_cpu)
			CPU_SET(i, &others);
	sched_setaffinity(0, sizeof(others), &others);
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return NULL;
	int cap = fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	if (cap <= 0)
		cap = 65536;
	for (size_t i = 0; i < h->n; i++) {
		struct hot_run *r = &h->run[i];
		loff_t in = (loff_t)r->off, out = (loff_t)r->copy->off;
		uint64_t left = r->len;
		while (left) {
			size_t want = left < (uint64_t)cap ? (size_t)left : (size_t)cap;
			ssize_t got = splice(h->image_fd, &in, p[1], NULL, want, SPLICE_F_MOVE);
			if (got <= 0)
				goto out;
			for (ssize_t put = 0; put < got;) {
				ssize_t k = splice(p[0], NULL, h->mem_fd, &out, (size_t)(got - put),
						   SPLICE_F_MOVE);
				if (k <= 0)
					goto out; /* (the pipe is dropped with what is left in it) */
				put += k;
			}
			left -= (uint64_t)got;
		}
		r->ok = true;
	}
out:
	close(p[0]);
	close(p[1]);
	return NULL;
}

/* Starts copying the runs, or leaves them to ckpt_hot_apply (no thread,
 * no descriptors: it copies each as a fault would). */
static void start_copies(struct k_kernel *k, struct ckpt_hot *h, int image_fd)
{
	for (size_t i = 0; i < h->n; i++)
		if (!(h->run[i].copy = mobj_new(&k->mem, h->run[i].len)))
			return;
	/* (A sentry the platform left free to move has no CPU of its own.) */
	cpu_set_t mine;
	h->sentry_cpu = sched_getaffinity(0, sizeof(mine), &mine) == 0 && CPU_COUNT(&mine) == 1
				? sched_getcpu()
				: -1;
	h->image_fd = fcntl(image_fd, F_DUPFD_CLOEXEC, 3);
	h->mem_fd = fcntl(k->mem.fd, F_DUPFD_CLOEXEC, 3);
	if (h->image_fd >= 0 && h->mem_fd >= 0 &&
	    pthread_create(&h->helper, NULL, copier, h) == 0)
		h->started = true;
}

struct ckpt_hot *ckpt_hot_open(struct k_kernel *k, const char *path, int image_fd,
			       uint64_t image_size)
{
	k->hot_fd = -1;
	char hot[4200];
	if (image_fd < 0 || snprintf(hot, sizeof(hot), "%s.hot", path) >= (int)sizeof(hot))
		return NULL;
	struct stat is, hs;
	if (fstat(image_fd, &is) != 0)
		return NULL;
	int fd = open(hot, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	/* An empty one is stale too: the restore that made it recorded
	 * nothing (or failed). */
	bool fresh = fd >= 0 && fstat(fd, &hs) == 0 && S_ISREG(hs.st_mode) && hs.st_size > 0 &&
		     (hs.st_mtim.tv_sec > is.st_mtim.tv_sec ||
		      (hs.st_mtim.tv_sec == is.st_mtim.tv_sec &&
		       hs.st_mtim.tv_nsec >= is.st_mtim.tv_nsec));
	uint64_t *v = NULL;
	size_t n = fresh ? read_runs(fd, image_size, &v) : 0;
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
	struct ckpt_hot *h = n ? calloc(1, sizeof(*h)) : NULL;
	if (h && !(h->run = calloc(n, sizeof(*h->run)))) {
		free(h);
		h = NULL;
	}
	if (h) {
		h->n = n;
		h->image_fd = h->mem_fd = -1;
		for (size_t i = 0; i < n; i++) {
			h->run[i].off = v[2 * i];
			h->run[i].len = v[2 * i + 1];
		}
		start_copies(k, h, image_fd);
	}
	free(v);
	return h;
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

/* The first of the n runs (sorted, disjoint) that ends above off. */
static size_t first_run(const struct hot_run *run, size_t n, uint64_t off)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (run[mid].off + run[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Every restored mapping of a run's pages gets them as its own: the copy
 * made ahead for the first address space to map them, a fresh one for
 * any other (as its first writes would). */
static void put_in_place(struct k_kernel *k, struct ckpt_hot *h)
{
	struct k_mm *done[64];
	size_t ndone = 0;
	struct piece {
		uint64_t addr, len, run, at;
	} *pc = NULL;
	size_t cap = 0;
	for (struct k_task *t = k->tasks; t; t = t->next) {
		struct k_mm *mm = t->mm;
		bool seen = false;
		for (size_t i = 0; i < ndone; i++)
			seen |= done[i] == mm;
		if (seen)
			continue;
		if (ndone < ARRAY_LEN(done))
			done[ndone++] = mm;
		/* Guest ranges first (putting copies in splits the VMAs). */
		size_t m = 0;
		for (size_t j = 0; j < mm->n; j++) {
			const struct k_vma *v = &mm->v[j];
			if (!v->mobj || !v->mobj->image || !(v->flags & VMA_COW) ||
			    !(v->prot & PROT_WRITE))
				continue;
			uint64_t lo = v->mobj->off + v->pgoff, hi = lo + (v->end - v->start);
			for (size_t i = first_run(h->run, h->n, lo); i < h->n && h->run[i].off < hi;
			     i++) {
				const struct hot_run *r = &h->run[i];
				uint64_t a = r->off > lo ? r->off : lo;
				uint64_t b = r->off + r->len < hi ? r->off + r->len : hi;
				if (m == cap) {
					size_t c = cap ? 2 * cap : 64;
					struct piece *g = realloc(pc, c * sizeof(*pc));
					if (!g)
						goto out;
					pc = g;
					cap = c;
				}
				pc[m++] = (struct piece){v->start + (a - lo), b - a, i, a - r->off};
			}
		}
		for (size_t i = 0; i < m; i++) {
			struct hot_run *r = &h->run[pc[i].run];
			int err;
			if (r->ok && (!r->owner || r->owner == mm)) {
				err = mm_cow_install(mm, pc[i].addr, pc[i].len, r->copy, pc[i].at);
				r->owner = mm;
			} else {
				err = mm_cow_range(mm, pc[i].addr, pc[i].len);
			}
			if (err)
				goto out; /* (out of memory: the rest faults in) */
		}
	}
out:
	free(pc);
}

void ckpt_hot_apply(struct k_kernel *k, struct ckpt_hot *h, bool restored)
{
	if (!h)
		return;
	if (h->started)
		pthread_join(h->helper, NULL);
	if (restored)
		put_in_place(k, h);
	for (size_t i = 0; i < h->n; i++)
		if (h->run[i].copy)
			mobj_put(&k->mem, h->run[i].copy);
	if (h->image_fd >= 0)
		close(h->image_fd);
	if (h->mem_fd >= 0)
		close(h->mem_fd);
	free(h->run);
	free(h);
}
