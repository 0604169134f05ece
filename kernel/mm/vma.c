/* Address spaces: the sorted set of VMAs of one guest mm, and the
 * operations that change it.  Each change is applied to the platform's view
 * (the stub's host mappings) in the same call, so the two never drift. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "../sentry.h"

/* Linux's default vm.max_map_count. */
#define MAX_MAP_COUNT 65530

int mm_new(struct k_kernel *k, struct k_mm **out)
{
	struct k_mm *mm = calloc(1, sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	mm->k = k;
	mm->users = 1;
	int err = pf_as_new(k->mem.fd, &mm->as);
	if (err) {
		free(mm);
		return err;
	}
	/* Mapping changes go to the stub in batches, through two pages of the
	 * memory file (without them, one at a time, and no host files). */
	mm->batch = mobj_new(&k->mem, 2 * PAGE_SIZE);
	if (mm->batch && pf_as_set_batch(mm->as, k->mem.base + mm->batch->off, mm->batch->off)) {
		mobj_put(&k->mem, mm->batch);
		mm->batch = NULL;
	}
	*out = mm;
	return 0;
}

void mobj_put(struct k_memfile *mf, struct k_mobj *o)
{
	if (o && --o->refs == 0) {
		if (o->fd >= 0) {
			munmap(o->host, o->len);
			close(o->fd);
			free(o->src);
		} else {
			memfile_free(mf, o->off, o->len);
		}
		free(o);
	}
}

struct k_mobj *mobj_file_at(int fd, uint64_t off, uint64_t len)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY || len == 0 || off & ~PAGE_MASK)
		return NULL; /* a mapping of it could write the host's file */
	len = PAGE_UP(len);
	struct k_mobj *o = malloc(sizeof(*o));
	if (!o)
		return NULL;
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	void *host = own < 0 ? MAP_FAILED
			     : mmap(NULL, len, PROT_READ, MAP_SHARED, own, (off_t)off);
	if (host == MAP_FAILED) {
		if (own >= 0)
			close(own);
		free(o);
		return NULL;
	}
	*o = (struct k_mobj){.refs = 1, .off = off, .len = len, .fd = own, .host = host};
	return o;
}

struct k_mobj *mobj_file(int fd, uint64_t len)
{
	return mobj_file_at(fd, 0, len);
}

/* Copies len bytes at offset at of src into the memory file at dst. */
static void mobj_copy(struct k_memfile *mf, uint64_t dst, const struct k_mobj *src, uint64_t at,
		      uint64_t len)
{
	if (src->fd >= 0) {
		/* The kernel copies file to file: no page of either mapped
		 * into the sentry, and whole pages written need no zeroing.
		 * (copy_file_range cannot cross filesystems; sendfile writes
		 * at the memory file's position, the sentry's alone.) */
		uint64_t done = 0;
		if (lseek(mf->fd, (off_t)dst, SEEK_SET) == (off_t)dst)
			while (done < len) {
				off_t in = (off_t)(src->off + at + done);
				ssize_t k = sendfile(mf->fd, src->fd, &in, len - done);
				if (k <= 0)
					break;
				done += (uint64_t)k;
			}
		if (done < len)
			memcpy(mf->base + dst + done, src->host + at + done, len - done);
	} else
		memfile_copy(mf, dst, src->off + at, len);
}

void mm_free(struct k_mm *mm)
{
	if (!mm)
		return;
	for (size_t i = 0; i < mm->n; i++)
		mobj_put(&mm->k->mem, mm->v[i].mobj);
	pf_as_free(mm->as);
	if (mm->batch)
		mobj_put(&mm->k->mem, mm->batch);
	path_put(&mm->exe);
	free(mm->ut_seen);
	free(mm->v);
	free(mm);
}

struct k_mm *mm_get(struct k_mm *mm)
{
	mm->users++;
	return mm;
}

void mm_put(struct k_mm *mm)
{
	if (mm && --mm->users == 0)
		mm_free(mm);
}

static bool mobj_exclusive(const struct k_mm *mm, const struct k_mobj *o);

/* Index of the first VMA that ends above addr (n if none). */
static size_t vma_index(const struct k_mm *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (mm->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct k_vma *mm_find(struct k_mm *mm, uint64_t addr)
{
	size_t i = vma_index(mm, addr);
	return i < mm->n && mm->v[i].start <= addr ? &mm->v[i] : NULL;
}

struct k_vma *mm_find_next(struct k_mm *mm, uint64_t addr)
{
	size_t i = vma_index(mm, addr);
	return i < mm->n ? &mm->v[i] : NULL;
}

static int vma_insert(struct k_mm *mm, size_t i, const struct k_vma *v)
{
	if (mm->n == mm->cap) {
		size_t cap = mm->cap ? 2 * mm->cap : 32;
		struct k_vma *nv = realloc(mm->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		mm->v = nv;
		mm->cap = cap;
	}
	memmove(&mm->v[i + 1], &mm->v[i], (mm->n - i) * sizeof(*v));
	mm->v[i] = *v;
	mm->n++;
	return 0;
}

static int vma_apply(struct k_mm *mm, const struct k_vma *v);

int mm_restore_vma(struct k_mm *mm, const struct k_vma *v)
{
	if (v->start >= v->end || (v->start | v->end) & ~PAGE_MASK ||
	    v->start < pf_guest_min() || v->end > pf_guest_max() ||
	    (mm->n && v->start < mm->v[mm->n - 1].end) || mm->n >= MAX_MAP_COUNT ||
	    (v->mobj && (v->pgoff > v->mobj->len || v->end - v->start > v->mobj->len - v->pgoff)))
		return -EINVAL;
	int err = vma_insert(mm, mm->n, v);
	if (err)
		return err;
	if (v->mobj)
		v->mobj->refs++;
	return vma_apply(mm, v);
}

static void vma_delete(struct k_mm *mm, size_t i)
{
	memmove(&mm->v[i], &mm->v[i + 1], (mm->n - i - 1) * sizeof(mm->v[0]));
	mm->n--;
}

/* Splits the VMA containing addr so that a VMA starts at addr. */
static int vma_split(struct k_mm *mm, uint64_t addr)
{
	size_t i = vma_index(mm, addr);
	if (i == mm->n || mm->v[i].start >= addr)
		return 0;
	if (mm->n >= MAX_MAP_COUNT)
		return -ENOMEM;
	struct k_vma hi = mm->v[i];
	hi.start = addr;
	hi.pgoff += addr - mm->v[i].start;
	if (hi.mobj)
		hi.mobj->refs++;
	int err = vma_insert(mm, i + 1, &hi);
	if (err) {
		if (hi.mobj)
			hi.mobj->refs--;
		return err;
	}
	mm->v[i].end = addr;
	return 0;
}

static bool vma_mergeable(const struct k_vma *a, const struct k_vma *b)
{
	if (a->end != b->start || a->prot != b->prot || a->flags != b->flags || a->mobj != b->mobj)
		return false;
	return !a->mobj || a->pgoff + (a->end - a->start) == b->pgoff;
}

/* Merges the VMAs around [start, end) with their neighbours where possible. */
static void vma_merge_range(struct k_mm *mm, uint64_t start, uint64_t end)
{
	size_t i = vma_index(mm, start ? start - 1 : 0);
	while (i + 1 < mm->n && mm->v[i].start <= end) {
		if (vma_mergeable(&mm->v[i], &mm->v[i + 1])) {
			mm->v[i].end = mm->v[i + 1].end;
			mobj_put(&mm->k->mem, mm->v[i + 1].mobj);
			vma_delete(mm, i + 1);
		} else {
			i++;
		}
	}
}

/* Drops the VMAs in [start, end) from the set (not from the host).  A
 * private mapping's pages are given back at once unless keep_pages (the
 * pages moved elsewhere, as in mremap). */
static int vma_remove(struct k_mm *mm, uint64_t start, uint64_t end, bool keep_pages)
{
	int err = vma_split(mm, start);
	if (!err)
		err = vma_split(mm, end);
	if (err)
		return err;
	size_t i = vma_index(mm, start);
	while (i < mm->n && mm->v[i].start < end) {
		struct k_vma *v = &mm->v[i];
		uint64_t len = v->end - v->start;
		struct k_mobj *o = v->mobj;
		/* Copy-on-write pieces see a file's pages: never theirs to drop;
		 * but memory a fork shared is this mm's alone once the other
		 * side is gone. */
		bool own = !(v->flags & (VMA_SHARED | VMA_COW)) ||
			   ((v->flags & VMA_FORKED) && o && mobj_exclusive(mm, o));
		if (o && o->fd < 0 && !keep_pages &&
		    (own || (o->refs == 1 && !(v->flags & VMA_COW)))) {
			memfile_zero(&mm->k->mem, o->off + v->pgoff, len);
			/* A private piece at either end of its object: give that
			 * range of the memory file back now, not when the last
			 * piece goes (trimming mappings would use up the file). */
			if (own && o->refs > 1 && len < o->len) {
				if (v->pgoff + len == o->len) {
					memfile_free(&mm->k->mem, o->off + v->pgoff, len);
					o->len -= len;
				} else if (v->pgoff == 0) {
					memfile_free(&mm->k->mem, o->off, len);
					o->off += len;
					o->len -= len;
					for (size_t j = 0; j < mm->n; j++)
						if (j != i && mm->v[j].mobj == o)
							mm->v[j].pgoff -= len;
				}
			}
		}
		mm->total_vm -= len;
		mobj_put(&mm->k->mem, o);
		vma_delete(mm, i);
	}
	return 0;
}

static bool range_free(const struct k_mm *mm, uint64_t start, uint64_t end)
{
	size_t i = vma_index(mm, start);
	return i == mm->n || mm->v[i].start >= end;
}

int64_t mm_find_free(struct k_mm *mm, uint64_t len, uint64_t hint, uint64_t limit)
{
	uint64_t lo = pf_guest_min(), hi = pf_guest_max();
	if (limit && limit < hi)
		hi = limit;
	if (len == 0 || len > hi - lo)
		return -ENOMEM;
	hint &= PAGE_MASK;
	if (hint >= lo && hint <= hi - len && range_free(mm, hint, hint + len))
		return (int64_t)hint;
	/* Top-down below mmap_base first, then anywhere, as Linux falls back. */
	uint64_t ceilings[2] = {mm->mmap_base && mm->mmap_base < hi ? mm->mmap_base : hi, hi};
	for (int pass = 0; pass < 2; pass++) {
		uint64_t top = ceilings[pass];
		for (size_t i = vma_index(mm, top);; i--) {
			uint64_t gap_hi = i < mm->n && mm->v[i].start < top ? mm->v[i].start : top;
			uint64_t gap_lo = i > 0 ? mm->v[i - 1].end : lo;
			if (gap_lo < lo)
				gap_lo = lo;
			if (gap_hi > gap_lo && gap_hi - gap_lo >= len)
				return (int64_t)(gap_hi - len);
			if (i == 0)
				break;
		}
	}
	return -ENOMEM;
}

/* Applies v to the host: a mapping of its memory, or a bare reservation. */
/* What the host may do: a copy-on-write page is never writable there. */
static int host_prot(const struct k_vma *v, int prot)
{
	return (v->flags & VMA_COW) ? prot & ~PROT_WRITE : prot;
}

static int vma_apply(struct k_mm *mm, const struct k_vma *v)
{
	if (v->mobj && v->mobj->fd >= 0)
		return pf_as_map_file(mm->as, v->start, v->end - v->start, host_prot(v, v->prot),
				      v->mobj->fd, v->mobj->off + v->pgoff);
	if (v->mobj)
		return pf_as_map(mm->as, v->start, v->end - v->start, host_prot(v, v->prot),
				 v->mobj->off + v->pgoff);
	return pf_as_reserve(mm->as, v->start, v->end - v->start);
}

struct k_mobj *mobj_new(struct k_memfile *mf, uint64_t len)
{
	struct k_mobj *o = malloc(sizeof(*o));
	if (!o)
		return NULL;
	int64_t off = memfile_alloc(mf, len);
	if (off < 0) {
		free(o);
		return NULL;
	}
	*o = (struct k_mobj){.refs = 1, .off = (uint64_t)off, .len = len, .fd = -1};
	return o;
}

int64_t mm_map_anon(struct k_mm *mm, uint64_t addr, uint64_t len, int prot, int vflags,
		    int mflags)
{
	len = PAGE_UP(len);
	if (len == 0)
		return -ENOMEM;
	if (mflags & MAP_FIXED_NOREPLACE)
		mflags |= MAP_FIXED;
	if (mflags & MAP_FIXED) {
		if (addr & ~PAGE_MASK)
			return -EINVAL;
		if (addr < pf_guest_min())
			return -EPERM;
		if (addr > pf_guest_max() || len > pf_guest_max() - addr)
			return -ENOMEM;
		if ((mflags & MAP_FIXED_NOREPLACE) && !range_free(mm, addr, addr + len))
			return -EEXIST;
	} else {
		uint64_t limit = 0;
		if (mflags & MAP_32BIT)
			limit = 0x80000000UL;
		int64_t a = mm_find_free(mm, len, addr, limit);
		if (a < 0)
			return a;
		addr = (uint64_t)a;
	}
	if (mm->n + 2 >= MAX_MAP_COUNT)
		return -ENOMEM;
	struct k_vma v = {.start = addr, .end = addr + len, .prot = prot, .flags = vflags};
	if (!(vflags & VMA_SIGBUS) && (prot != PROT_NONE || (vflags & (VMA_SHARED | VMA_BACKED)))) {
		v.mobj = mobj_new(&mm->k->mem, len);
		if (!v.mobj)
			return -ENOMEM;
	}
	int err = vma_remove(mm, addr, addr + len, false);
	if (!err)
		err = vma_apply(mm, &v);
	if (!err)
		err = vma_insert(mm, vma_index(mm, addr), &v);
	if (err) {
		mobj_put(&mm->k->mem, v.mobj);
		return err;
	}
	mm->total_vm += len;
	vma_merge_range(mm, addr, addr + len);
	return (int64_t)addr;
}

int mm_unmap(struct k_mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;
	if (range_free(mm, addr, end))
		return 0;
	int err = vma_remove(mm, addr, end, false);
	if (err)
		return err;
	return pf_as_unmap(mm->as, addr, len);
}

int mm_protect(struct k_mm *mm, uint64_t addr, uint64_t len, int prot)
{
	uint64_t end = addr + len;
	/* As Linux, the VMAs before the first hole change, then ENOMEM. */
	uint64_t at = addr;
	int hole = 0;
	for (size_t i = vma_index(mm, addr); at < end; i++) {
		if (i == mm->n || mm->v[i].start > at) {
			hole = -ENOMEM;
			end = at;
			break;
		}
		at = mm->v[i].end;
	}
	if (end <= addr)
		return hole;
	/* A shared mapping of a file opened read-only never gets write. */
	if (prot & PROT_WRITE)
		for (size_t i = vma_index(mm, addr); i < mm->n && mm->v[i].start < end; i++)
			if (mm->v[i].flags & VMA_NOWRITE)
				return -EACCES;
	int err = vma_split(mm, addr);
	if (!err)
		err = vma_split(mm, end);
	if (err)
		return err;
	for (size_t i = vma_index(mm, addr); i < mm->n && mm->v[i].start < end; i++) {
		struct k_vma *v = &mm->v[i];
		if (v->prot == prot)
			continue;
		v->prot = prot;
		if (v->flags & VMA_SIGBUS)
			continue; /* stays inaccessible to the host: faults are SIGBUS */
		if (!v->mobj && prot != PROT_NONE) {
			v->mobj = mobj_new(&mm->k->mem, v->end - v->start);
			if (!v->mobj) {
				v->prot = PROT_NONE;
				return -ENOMEM;
			}
			v->pgoff = 0;
			err = vma_apply(mm, v);
		} else if (v->mobj) {
			err = pf_as_protect(mm->as, v->start, v->end - v->start, host_prot(v, prot));
		}
		if (err)
			return err;
	}
	vma_merge_range(mm, addr, end);
	return hole;
}

/* Gives v (a whole VMA) len bytes of backing from offset 0 of its memory:
 * grows its memory object in place when it is the object's tail, else
 * moves it to a new object, copying only the pages that exist. */
static int vma_grow_backing(struct k_mm *mm, struct k_vma *v, uint64_t newlen)
{
	uint64_t oldlen = v->end - v->start;
	struct k_mobj *o = v->mobj;
	if (!o)
		return 0;
	if (o->fd < 0 && o->refs == 1 && v->pgoff + oldlen == o->len &&
	    memfile_extend(&mm->k->mem, o->off, o->len, o->len + (newlen - oldlen)) == 0) {
		o->len += newlen - oldlen;
		return 0;
	}
	struct k_mobj *n = mobj_new(&mm->k->mem, newlen);
	if (!n)
		return -ENOMEM;
	mobj_copy(&mm->k->mem, n->off, o, v->pgoff, oldlen);
	mobj_put(&mm->k->mem, o);
	v->mobj = n;
	v->pgoff = 0;
	return 0;
}

int64_t mm_remap(struct k_mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len, int flags,
		 uint64_t new_addr)
{
	struct k_vma *v = mm_find(mm, old);
	if (!v || old_len > v->end - old)
		return -EFAULT;
	if (old_len == 0) {
		/* A second mapping of the same shared pages; without MAYMOVE it
		 * would have to grow in place over itself. */
		if (!(v->flags & VMA_SHARED))
			return -EINVAL;
		if (!(flags & MREMAP_MAYMOVE))
			return -ENOMEM;
	}
	uint64_t max = pf_guest_max();
	if (flags & MREMAP_FIXED) {
		if (new_addr & ~PAGE_MASK)
			return -EINVAL;
		if (new_addr < pf_guest_min() || new_addr > max || new_len > max - new_addr)
			return -EINVAL;
		if (new_addr < old + old_len && old < new_addr + new_len)
			return -EINVAL;
	}
	int err;
	if (!(flags & MREMAP_FIXED) && !(flags & MREMAP_DONTUNMAP)) {
		if (new_len <= old_len) {
			if (new_len < old_len && (err = mm_unmap(mm, old + new_len, old_len - new_len)))
				return err;
			return (int64_t)old;
		}
		/* Grow in place when the VMA ends there and the space after is free. */
		if (old + old_len == v->end && new_len - old_len <= max - v->end &&
		    range_free(mm, v->end, old + new_len)) {
			if ((err = vma_split(mm, old)))
				return err;
			v = mm_find(mm, old);
			uint64_t grow = new_len - old_len;
			struct k_mobj *before = v->mobj;
			if ((err = vma_grow_backing(mm, v, new_len)))
				return err;
			v->end += grow;
			mm->total_vm += grow;
			if (v->mobj != before)
				err = vma_apply(mm, v);
			else if (v->mobj)
				err = pf_as_map(mm->as, v->end - grow, grow, v->prot,
						v->mobj->off + v->pgoff + old_len);
			else
				err = pf_as_reserve(mm->as, v->end - grow, grow);
			vma_merge_range(mm, old, v->end);
			return err ? err : (int64_t)old;
		}
		if (!(flags & MREMAP_MAYMOVE))
			return -ENOMEM;
	}
	/* Move: the pages keep their memory file offsets, only the address
	 * changes, so nothing is copied unless the move also grows. */
	if (!(flags & MREMAP_FIXED)) {
		int64_t a = mm_find_free(mm, new_len, 0, 0);
		if (a < 0)
			return a;
		new_addr = (uint64_t)a;
	}
	if (old_len && ((err = vma_split(mm, old)) || (err = vma_split(mm, old + old_len)))) {
		vma_merge_range(mm, old, old + old_len);
		return err;
	}
	struct k_vma piece = *mm_find(mm, old);
	if (old_len == 0) {
		piece.pgoff += old - piece.start;
		piece.start = old;
		piece.end = old + new_len;
		if (!piece.mobj || piece.pgoff + new_len > piece.mobj->len)
			return -EINVAL;
	} else {
		piece.end = piece.start + old_len;
	}
	/* Hold the memory before unmapping the target: with old_len 0 the
	 * target may be the source itself. */
	if (piece.mobj)
		piece.mobj->refs++;
	if ((flags & MREMAP_FIXED) && (err = mm_unmap(mm, new_addr, new_len))) {
		mobj_put(&mm->k->mem, piece.mobj);
		vma_merge_range(mm, old, old + old_len);
		return err;
	}
	if (old_len == 0 && !mm_find(mm, old)) {
		mobj_put(&mm->k->mem, piece.mobj);
		return -EFAULT; /* Linux's vma_to_resize finds nothing left */
	}
	if (old_len) {
		if ((err = vma_remove(mm, old, old + old_len, true)) ||
		    (err = pf_as_unmap(mm->as, old, old_len))) {
			mobj_put(&mm->k->mem, piece.mobj);
			return err;
		}
	}
	uint64_t keep = old_len && old_len < new_len ? old_len : new_len;
	if (old_len > new_len && piece.mobj && !(piece.flags & (VMA_SHARED | VMA_COW)))
		memfile_zero(&mm->k->mem, piece.mobj->off + piece.pgoff + new_len, old_len - new_len);
	piece.start = new_addr;
	piece.end = new_addr + keep;
	if (new_len > keep && (err = vma_grow_backing(mm, &piece, new_len))) {
		mobj_put(&mm->k->mem, piece.mobj);
		return err;
	}
	piece.end = new_addr + new_len;
	if ((err = vma_apply(mm, &piece)) ||
	    (err = vma_insert(mm, vma_index(mm, new_addr), &piece))) {
		mobj_put(&mm->k->mem, piece.mobj);
		return err;
	}
	mm->total_vm += new_len;
	vma_merge_range(mm, new_addr, new_addr + new_len);
	if ((flags & MREMAP_DONTUNMAP) && old_len) {
		int64_t r = mm_map_anon(mm, old, old_len, piece.prot, piece.flags & ~VMA_SHARED,
					MAP_FIXED);
		if (r < 0)
			return r;
	}
	return (int64_t)new_addr;
}

uint8_t *mm_host_addr(struct k_mm *mm, uint64_t addr)
{
	struct k_vma *v = mm_find(mm, addr);
	if (!v || !v->mobj)
		return NULL;
	return mobj_host(&mm->k->mem, v->mobj) + v->pgoff + (addr - v->start);
}

int64_t mm_map_objs(struct k_mm *mm, uint64_t addr, int prot, int vflags, int mflags,
		    struct k_mobj **objs, const uint64_t *pgoff, const uint64_t *len, int n)
{
	uint64_t total = 0;
	for (int i = 0; i < n; i++)
		total += len[i];
	/* Claim the whole range first, as one anonymous reservation. */
	int64_t at = mm_map_anon(mm, addr, total, PROT_NONE, 0, mflags);
	if (at < 0)
		return at;
	int err = vma_remove(mm, (uint64_t)at, (uint64_t)at + total, false);
	uint64_t cur = (uint64_t)at;
	for (int i = 0; i < n && !err; i++) {
		struct k_vma v = {.start = cur, .end = cur + len[i], .prot = prot, .flags = vflags,
				  .mobj = objs[i], .pgoff = pgoff[i]};
		objs[i]->refs++;
		err = vma_apply(mm, &v);
		if (!err)
			err = vma_insert(mm, vma_index(mm, cur), &v);
		if (err) {
			mobj_put(&mm->k->mem, objs[i]);
			break;
		}
		mm->total_vm += len[i];
		cur += len[i];
	}
	if (err) {
		mm_unmap(mm, (uint64_t)at, total);
		return err;
	}
	vma_merge_range(mm, (uint64_t)at, (uint64_t)at + total);
	return at;
}

/* How much of a forked mapping one write fault copies: fewer faults
 * than page by page, little copying that nobody needed. */
#define COW_CHUNK (128 * 1024UL)

int mm_fork(struct k_mm *mm, struct k_mm **out)
{
	struct k_mm *c;
	int err = mm_new(mm->k, &c);
	if (err)
		return err;
	struct pf_as *as = c->as;
	struct k_mobj *batch = c->batch;
	*c = *mm;
	c->as = as;
	c->batch = batch;
	c->users = 1;
	c->ut_seen = NULL; /* the child counts its own traps */
	c->v = NULL;
	c->n = c->cap = 0;
	c->exe = path_get(mm->exe);
	if (mm->n && !(c->v = malloc(mm->n * sizeof(*c->v)))) {
		mm_free(c);
		return -ENOMEM;
	}
	c->cap = mm->n;
	for (size_t i = 0; i < mm->n && !err; i++) {
		struct k_vma *pv = &mm->v[i];
		if (pv->mobj && !(pv->flags & (VMA_SHARED | VMA_COW))) {
			/* The parent's own pages: from now on copy-on-write in both. */
			pv->flags |= VMA_COW | VMA_FORKED;
			if ((pv->prot & PROT_WRITE) &&
			    (err = pf_as_protect(mm->as, pv->start, pv->end - pv->start,
						 host_prot(pv, pv->prot))))
				break;
		}
		c->v[c->n] = *pv;
		if (pv->mobj)
			pv->mobj->refs++;
		c->n++;
		err = vma_apply(c, pv);
	}
	if (err) {
		mm_free(c);
		return err;
	}
	*out = c;
	return 0;
}

/* Whether every reference to o comes from mm's own VMAs: then nobody else
 * sees its pages, and a write needs no copy. */
static bool mobj_exclusive(const struct k_mm *mm, const struct k_mobj *o)
{
	int mine = 0;
	for (size_t i = 0; i < mm->n; i++)
		mine += mm->v[i].mobj == o;
	return mine == o->refs;
}

static bool cow_break(struct k_mm *mm, struct k_vma *v, uint64_t addr);
static bool cow_copy(struct k_mm *mm, uint64_t lo, uint64_t hi);

bool mm_fault_cow(struct k_mm *mm, uint64_t addr)
{
	struct k_vma *v = mm_find(mm, addr);
	if (!v || !(v->flags & VMA_COW) || !(v->prot & PROT_WRITE) || !v->mobj)
		return false;
	return cow_break(mm, v, addr);
}

uint8_t *mm_own_page(struct k_mm *mm, uint64_t addr)
{
	struct k_vma *v = mm_find(mm, addr);
	if (!v || !v->mobj || (v->flags & (VMA_SHARED | VMA_SIGBUS)))
		return NULL;
	if ((v->flags & VMA_COW) && !cow_break(mm, v, addr))
		return NULL;
	return mm_host_addr(mm, addr);
}

/* Gives v (a copy-on-write view) its own copy of the memory at addr. */
static bool cow_break(struct k_mm *mm, struct k_vma *v, uint64_t addr)
{
	struct k_mobj *o = v->mobj;
	if (o->fd < 0 && mobj_exclusive(mm, o)) {
		/* The other side of the fork is gone: take the pages over. */
		for (size_t i = 0; i < mm->n; i++) {
			struct k_vma *w = &mm->v[i];
			if (w->mobj != o)
				continue;
			w->flags &= ~(VMA_COW | VMA_FORKED);
			if ((w->prot & PROT_WRITE) &&
			    pf_as_protect(mm->as, w->start, w->end - w->start, w->prot) != 0)
				return false;
		}
		return true;
	}
	/* A forked mapping copies a chunk around the fault; a private view
	 * of a file copies only the page, so the rest keeps seeing the file.
	 * So does a snapshot's image: the pages a restored guest writes
	 * first are copied up front (ckpt/hot.c), and the rest stays shared
	 * with every other instance until written, page by page. */
	uint64_t chunk = (v->flags & VMA_FORKED) && !o->image ? COW_CHUNK : PAGE_SIZE;
	uint64_t lo = addr & ~(chunk - 1), hi = lo + chunk;
	if (lo < v->start)
		lo = v->start;
	if (hi > v->end)
		hi = v->end;
	return cow_copy(mm, lo, hi);
}

int mm_cow_range(struct k_mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;
	if ((addr | len) & ~PAGE_MASK || end < addr)
		return -EINVAL;
	while (addr < end) {
		size_t i = vma_index(mm, addr);
		if (i == mm->n || mm->v[i].start >= end)
			break;
		struct k_vma *v = &mm->v[i];
		uint64_t lo = v->start > addr ? v->start : addr, hi = v->end < end ? v->end : end;
		if ((v->flags & VMA_COW) && (v->prot & PROT_WRITE) && v->mobj && v->mobj->fd >= 0 &&
		    !cow_copy(mm, lo, hi))
			return -ENOMEM;
		addr = hi;
	}
	return 0;
}

/* Puts copy (its pages at pgoff on, taking the caller's reference) in
 * the place of [lo, hi), a piece of one copy-on-write VMA: that piece is
 * the mm's own from now on.  The guest writes those pages next (a write
 * fault, or the pages it wrote first last time), so the host maps them
 * all now: a shared mapping's read-filled entries are writable, and the
 * write then costs no host fault. */
static bool cow_put(struct k_mm *mm, uint64_t lo, struct k_mobj *copy,
		    uint64_t pgoff)
{
	struct k_vma *v = mm_find(mm, lo);
	mobj_put(&mm->k->mem, v->mobj);
	v->mobj = copy;
	v->pgoff = pgoff;
	v->flags &= ~(VMA_COW | VMA_FORKED);
	return pf_as_map_populated(mm->as, v->start, v->end - v->start,
				   host_prot(v, v->prot), copy->off + pgoff) == 0;
}

/* Gives [lo, hi) (in one copy-on-write VMA) a copy of its own, in one
 * new object. */
static bool cow_copy(struct k_mm *mm, uint64_t lo, uint64_t hi)
{
	if (vma_split(mm, lo) || vma_split(mm, hi))
		return false;
	struct k_vma *v = mm_find(mm, lo);
	struct k_mobj *copy = mobj_new(&mm->k->mem, hi - lo);
	if (!copy)
		return false;
	if (v->mobj->image)
		ckpt_hot_note(mm->k, v->mobj->off + v->pgoff, hi - lo);
	mobj_copy(&mm->k->mem, copy->off, v->mobj, v->pgoff, hi - lo);
	return cow_put(mm, lo, copy, 0);
}

int mm_cow_install(struct k_mm *mm, uint64_t addr, uint64_t len, struct k_mobj *copy,
		   uint64_t pgoff)
{
	struct k_vma *v = mm_find(mm, addr);
	if ((addr | len | pgoff) & ~PAGE_MASK || !len || !v || len > v->end - addr ||
	    !(v->flags & VMA_COW) || !(v->prot & PROT_WRITE) || !v->mobj || v->mobj->fd < 0 ||
	    copy->fd >= 0 || pgoff > copy->len || len > copy->len - pgoff)
		return -EINVAL;
	if (vma_split(mm, addr) || vma_split(mm, addr + len))
		return -ENOMEM;
	copy->refs++;
	return cow_put(mm, addr, copy, pgoff) ? 0 : -ENOMEM;
}
