/* The memory syscalls: mmap, munmap, mprotect, mremap, madvise, brk.
 * Argument checks follow mm/mmap.c and mm/mprotect.c of Linux, in its
 * order, so that each bad call gets Linux's errno. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include "../sentry.h"

#define PROT_ALL (PROT_READ | PROT_WRITE | PROT_EXEC)
/* x86-64 accepts PROT_SEM and ignores it. */
#define PROT_SEM 0x8
#define TASK_SIZE 0x7ffffffff000UL
/* The flags MAP_SHARED_VALIDATE accepts (Linux's LEGACY_MAP_MASK plus
 * MAP_SYNC, which needs DAX and so fails later). */
#define MAP_KNOWN                                                                        \
	(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE |          \
	 MAP_EXECUTABLE | 0x4000000 /* MAP_UNINITIALIZED */ | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | \
	 MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_32BIT |              \
	 MAP_FIXED_NOREPLACE | (0x3fU << 26))

static bool as_limit_ok(struct k_task *t, uint64_t grow)
{
	uint64_t lim = t->tg->rlim[RLIMIT_AS].rlim_cur;
	return lim == RLIM_INFINITY || t->mm->total_vm + grow <= lim;
}

#define MAX_CHUNKS 64

/* Maps data bytes of a tmpfs file from off as its chunks, then whole
 * pages past the end of the file as SIGBUS (a mapping made before the
 * file grows does not see the growth: a difference from Linux). */
static long map_tmpfs(struct k_task *t, struct k_inode *ino, uint64_t addr, uint64_t plen,
		      uint64_t data, int prot, int vflags, int mflags, uint64_t off)
{
	if (data == 0)
		return mm_map_anon(t->mm, addr, plen, prot, VMA_SIGBUS, mflags);
	if (data > MAX_CHUNKS * (1UL << 20))
		return -ENOMEM; /* mappings of more than 64 chunks: not yet */
	struct k_mobj *objs[MAX_CHUNKS];
	uint64_t pg[MAX_CHUNKS], ln[MAX_CHUNKS];
	int n = 0;
	for (uint64_t at = off; at < off + data && n < MAX_CHUNKS;) {
		uint64_t csize;
		struct k_mobj *o = tmpfs_chunk(ino, at, &csize);
		if (!o)
			return -ENOMEM;
		uint64_t in = at % csize, take = csize - in < off + data - at ? csize - in
									: off + data - at;
		objs[n] = o, pg[n] = in, ln[n] = take;
		n++;
		at += take;
	}
	int64_t at = mm_map_objs(t->mm, addr, prot, vflags, mflags, objs, pg, ln, n);
	if (at >= 0 && data < plen) {
		int64_t r = mm_map_anon(t->mm, (uint64_t)at + data, plen - data, prot, VMA_SIGBUS,
					MAP_FIXED);
		if (r < 0) {
			mm_unmap(t->mm, (uint64_t)at, plen);
			return r;
		}
	}
	return at;
}

/* mmap of a file.  Private mappings (and read-only shared ones of files
 * nothing else writes) get a copy of the file's bytes in fresh memory;
 * shared mappings of tmpfs files map the file's own pages.  Whole pages
 * past the end of the file are SIGBUS to touch, as in Linux. */
static long map_file(struct k_task *t, struct k_file *f, uint64_t addr, uint64_t plen, int prot,
		     int flags, uint64_t off, uint64_t rawflags)
{
	int type = flags & MAP_TYPE;
	if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (type == MAP_SHARED_VALIDATE && (rawflags & ~(uint64_t)MAP_KNOWN))
		return -EOPNOTSUPP;
	bool shared = type != MAP_PRIVATE;
	struct k_inode *ino = f->inode;
	int acc = f->flags & O_ACCMODE;
	if (!ino || (!S_ISREG(ino->mode) && !S_ISCHR(ino->mode)))
		return -ENODEV;
	if (acc == O_WRONLY || (shared && (prot & PROT_WRITE) && acc != O_RDWR))
		return -EACCES;
	if ((prot & PROT_EXEC) && (f->path.mnt->flags & MS_NOEXEC))
		return -EPERM;
	if (off + plen < off)
		return -EOVERFLOW;
	if (!as_limit_ok(t, plen))
		return -ENOMEM;
	int mflags = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_32BIT);
	if (S_ISCHR(ino->mode)) {
		/* /dev/zero: anonymous memory; other devices cannot be mapped. */
		if (ino->rdev != makedev(1, 5))
			return -ENODEV;
		return mm_map_anon(t->mm, addr, plen, prot & PROT_ALL, shared ? VMA_SHARED : 0,
				   mflags);
	}
	if (shared && (prot & PROT_WRITE) && (ino->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return -EPERM;
	uint64_t size = ino->size;
	uint64_t data = off >= size ? 0 : PAGE_UP(size - off) < plen ? PAGE_UP(size - off) : plen;
	if (tmpfs_inode_is(ino) && (shared || (data && data <= MAX_CHUNKS * (1UL << 20)))) {
		/* Shared: the file's own pages.  Private: the same pages as
		 * copy-on-write, so the view sees later writes to the file
		 * until it writes itself, as in Linux. */
		int vflags = VMA_COW;
		if (shared)
			vflags = VMA_SHARED | (acc != O_RDWR || (ino->seals & (F_SEAL_WRITE |
									 F_SEAL_FUTURE_WRITE))
						       ? VMA_NOWRITE : 0);
		return map_tmpfs(t, ino, addr, plen, data, prot & PROT_ALL, vflags, mflags, off);
	}
	if (shared && (prot & PROT_WRITE))
		return -ENODEV; /* writable shared mappings of gofer files: not yet */
	/* A file that cannot change: its cached pages, copy-on-write when
	 * private (a writable private mapping copies at once instead, one
	 * object for the VMA rather than a copy per written page). */
	struct k_mobj *cache = data && !(prot & PROT_WRITE) && f->ops->page_cache
				       ? f->ops->page_cache(f) : NULL;
	if (cache) {
		uint64_t pgoff = off, len = data;
		int vflags = shared ? VMA_SHARED | VMA_NOWRITE : VMA_COW;
		/* The whole length is claimed first: the file's pages and the
		 * SIGBUS pages past its end go at the address found for both. */
		int64_t at = mm_map_anon(t->mm, addr, plen, PROT_NONE, 0, mflags);
		if (at >= 0)
			at = mm_map_objs(t->mm, (uint64_t)at, prot & PROT_ALL, vflags, MAP_FIXED,
					 &cache, &pgoff, &len, 1);
		mobj_put(&t->k->mem, cache);
		if (at >= 0 && data < plen) {
			int64_t r = mm_map_anon(t->mm, (uint64_t)at + data, plen - data,
						prot & PROT_ALL, VMA_SIGBUS, MAP_FIXED);
			if (r < 0) {
				mm_unmap(t->mm, (uint64_t)at, plen);
				return r;
			}
		}
		return at;
	}
	int64_t at = mm_map_anon(t->mm, addr, plen, prot & PROT_ALL, VMA_BACKED, mflags);
	if (at < 0)
		return at;
	if (data) {
		uint8_t *dst = mm_host_addr(t->mm, (uint64_t)at);
		uint64_t want = size - off < data ? size - off : data;
		ssize_t r = dst ? k_file_pread(f, dst, want, (int64_t)off) : -EFAULT;
		if (r < 0) {
			mm_unmap(t->mm, (uint64_t)at, plen);
			return r;
		}
	}
	if (data < plen) {
		int64_t r = mm_map_anon(t->mm, (uint64_t)at + data, plen - data, prot & PROT_ALL,
					VMA_SIGBUS, MAP_FIXED);
		if (r < 0) {
			mm_unmap(t->mm, (uint64_t)at, plen);
			return r;
		}
	}
	return at;
}

SYSCALL(mmap)
{
	uint64_t addr = a[0], len = a[1], off = a[5];
	int prot = (int)a[2], flags = (int)a[3], fd = (int)a[4];
	if (off & ~PAGE_MASK)
		return -EINVAL;
	/* The order of Linux's checks: the fd, then the length, then the type. */
	struct k_file *f = NULL;
	if (!(flags & MAP_ANONYMOUS) && !(f = fdt_get(t, fd)))
		return -EBADF;
	if (len == 0) {
		file_put(f);
		return -EINVAL;
	}
	uint64_t plen = PAGE_UP(len);
	if (plen == 0 || plen < len) {
		file_put(f);
		return -ENOMEM;
	}
	int type = flags & MAP_TYPE;
	if (f) {
		long r = map_file(t, f, addr, plen, prot, flags, off, a[3]);
		file_put(f);
		return r;
	}
	if (type != MAP_SHARED && type != MAP_PRIVATE)
		return -EINVAL;
	if (type == MAP_SHARED && (flags & MAP_GROWSDOWN))
		return -EINVAL;
	if ((flags & MAP_HUGETLB))
		return -ENOMEM; /* no huge page pool in the sandbox */
	if (!as_limit_ok(t, plen))
		return -ENOMEM;
	int vflags = 0;
	if (type == MAP_SHARED)
		vflags |= VMA_SHARED;
	if (flags & MAP_GROWSDOWN)
		vflags |= VMA_GROWSDOWN;
	return mm_map_anon(t->mm, addr, plen, prot & PROT_ALL, vflags,
			   flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_32BIT));
}

SYSCALL(munmap)
{
	uint64_t addr = a[0], len = a[1];
	if ((addr & ~PAGE_MASK) || addr > TASK_SIZE || len > TASK_SIZE - addr)
		return -EINVAL;
	len = PAGE_UP(len);
	if (len == 0)
		return -EINVAL;
	/* Between the guest's ceiling and TASK_SIZE lies only the stub. */
	if (addr >= pf_guest_max())
		return 0;
	if (len > pf_guest_max() - addr)
		len = pf_guest_max() - addr;
	return mm_unmap(t->mm, addr, len);
}

SYSCALL(mprotect)
{
	uint64_t addr = a[0], len = a[1];
	int prot = (int)a[2];
	/* Linux's order: both grow flags, alignment, zero length, overflow,
	 * and only then the other bits of prot (an unsigned long). */
	if ((prot & (PROT_GROWSDOWN | PROT_GROWSUP)) == (PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	if (len == 0)
		return 0;
	uint64_t plen = PAGE_UP(len);
	if (plen < len || addr + plen <= addr)
		return -ENOMEM;
	if (a[2] & ~(uint64_t)(PROT_ALL | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if (prot & (PROT_GROWSDOWN | PROT_GROWSUP)) {
		struct k_vma *v = mm_find(t->mm, addr);
		if (!v)
			return -ENOMEM;
		if (!(v->flags & VMA_GROWSDOWN) || (prot & PROT_GROWSUP))
			return -EINVAL;
		/* Extends down to the start of the growsdown VMA. */
		plen += addr - v->start;
		addr = v->start;
	}
	return mm_protect(t->mm, addr, plen, prot & PROT_ALL);
}

SYSCALL(mremap)
{
	uint64_t old = a[0], old_len = a[1], new_len = a[2], new_addr = a[4];
	int flags = (int)a[3];
	if (a[3] & ~(uint64_t)(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || old_len != new_len))
		return -EINVAL;
	if (old & ~PAGE_MASK)
		return -EINVAL;
	uint64_t o = PAGE_UP(old_len), n = PAGE_UP(new_len);
	if (o < old_len || n < new_len || n == 0 || n > TASK_SIZE)
		return -EINVAL;
	if (n > o && !as_limit_ok(t, n - o))
		return -ENOMEM;
	if (flags & MREMAP_DONTUNMAP) {
		struct k_vma *v = mm_find(t->mm, old);
		if (v && (v->flags & VMA_SHARED))
			return -EINVAL;
	}
	return mm_remap(t->mm, old, o, n, flags, new_addr);
}

SYSCALL(madvise)
{
	uint64_t addr = a[0], len = a[1];
	int advice = (int)a[2];
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
	case MADV_DONTNEED: case MADV_FREE: case MADV_REMOVE: case MADV_DONTFORK:
	case MADV_DOFORK: case MADV_MERGEABLE: case MADV_UNMERGEABLE: case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE: case MADV_DONTDUMP: case MADV_DODUMP: case MADV_WIPEONFORK:
	case MADV_KEEPONFORK: case MADV_COLD: case MADV_PAGEOUT: case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
		break;
	default:
		return -EINVAL;
	}
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	uint64_t plen = PAGE_UP(len);
	if (plen < len)
		return -EINVAL;
	if (plen == 0)
		return 0;
	if (addr + plen < addr)
		return -EINVAL;
	uint64_t end = addr + plen, at = addr;
	int ret = 0;
	/* Holes in the range give ENOMEM after the mapped parts are done. */
	while (at < end) {
		struct k_vma *v = mm_find_next(t->mm, at);
		if (!v || v->start >= end) {
			ret = -ENOMEM;
			break;
		}
		if (v->start > at) {
			ret = -ENOMEM;
			at = v->start;
		}
		uint64_t stop = v->end < end ? v->end : end;
		if ((advice == MADV_DONTNEED || advice == MADV_FREE) && v->mobj &&
		    !(v->flags & (VMA_SHARED | VMA_COW)))
			memfile_zero(&t->k->mem, v->mobj->off + v->pgoff + (at - v->start), stop - at);
		if ((advice == MADV_DONTNEED || advice == MADV_FREE) && v->mobj &&
		    (v->flags & VMA_FORKED)) {
			/* Pages shared with a fork: fresh zeroes for this side only. */
			int64_t r = mm_map_anon(t->mm, at, stop - at, v->prot,
						v->flags & ~(VMA_COW | VMA_FORKED), MAP_FIXED);
			if (r < 0)
				return r;
			at = stop;
			continue;
		}
		if (advice == MADV_REMOVE && !(v->flags & VMA_SHARED))
			return -EINVAL;
		/* Punching holes needs a mapping that may write the file (a
		 * read-only one may map a page cache or another's file). */
		if (advice == MADV_REMOVE &&
		    ((v->flags & VMA_NOWRITE) || !(v->prot & PROT_WRITE)))
			return -EACCES;
		if (advice == MADV_FREE && (v->flags & VMA_SHARED))
			return -EINVAL; /* only private anonymous memory can be freed lazily */
		if (advice == MADV_REMOVE && v->mobj)
			memfile_zero(&t->k->mem, v->mobj->off + v->pgoff + (at - v->start), stop - at);
		if ((advice == MADV_POPULATE_READ || advice == MADV_POPULATE_WRITE) && !v->mobj)
			return -ENOMEM;
		at = stop;
	}
	return ret;
}

SYSCALL(brk)
{
	struct k_mm *mm = t->mm;
	uint64_t want = a[0];
	if (want < mm->brk_start)
		return (long)mm->brk_cur;
	uint64_t old_end = PAGE_UP(mm->brk_cur), new_end = PAGE_UP(want);
	if (new_end < want)
		return (long)mm->brk_cur;
	uint64_t lim = t->tg->rlim[RLIMIT_DATA].rlim_cur;
	if (lim != RLIM_INFINITY && want - mm->brk_start > lim)
		return (long)mm->brk_cur;
	if (new_end > old_end) {
		/* Linux keeps a page of gap below the next mapping. */
		struct k_vma *next = mm_find_next(mm, old_end);
		if (new_end > pf_guest_max() || (next && new_end + PAGE_SIZE > next->start) ||
		    !as_limit_ok(t, new_end - old_end) ||
		    mm_map_anon(mm, old_end, new_end - old_end, PROT_READ | PROT_WRITE, VMA_HEAP,
				MAP_FIXED_NOREPLACE) < 0)
			return (long)mm->brk_cur;
	} else if (new_end < old_end) {
		if (mm_unmap(mm, new_end, old_end - new_end) != 0)
			return (long)mm->brk_cur;
	}
	mm->brk_cur = want;
	return (long)want;
}

SYSCALL(msync)
{
	uint64_t addr = a[0], len = a[1];
	int flags = (int)a[2];
	if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC))
		return -EINVAL;
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	if ((flags & MS_ASYNC) && (flags & MS_SYNC))
		return -EINVAL;
	uint64_t end = addr + PAGE_UP(len);
	if (end < addr)
		return -ENOMEM;
	/* Shared mappings are the files' own pages: nothing to write back.
	 * Holes in the range are still ENOMEM. */
	for (uint64_t at = addr; at < end;) {
		struct k_vma *v = mm_find_next(t->mm, at);
		if (!v || v->start > at)
			return -ENOMEM;
		at = v->end;
	}
	return 0;
}

SYSCALL(mincore)
{
	uint64_t addr = a[0], len = a[1], vec = a[2];
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	uint64_t end = addr + PAGE_UP(len);
	if (end < addr || end > pf_guest_max())
		return -ENOMEM;
	/* Residency of guest memory is residency of the memory file's pages,
	 * which the sentry can ask about through its own mapping. */
	for (uint64_t at = addr; at < end;) {
		struct k_vma *v = mm_find(t->mm, at);
		if (!v)
			return -ENOMEM;
		uint64_t stop = v->end < end ? v->end : end;
		size_t n = (size_t)((stop - at) / PAGE_SIZE);
		unsigned char buf[256];
		for (size_t done = 0; done < n;) {
			size_t k = n - done < sizeof(buf) ? n - done : sizeof(buf);
			if (v->mobj) {
				uint8_t *host = mobj_host(&t->k->mem, v->mobj) + v->pgoff +
						(at - v->start) + done * PAGE_SIZE;
				if (mincore(host, k * PAGE_SIZE, buf) != 0)
					memset(buf, 0, k);
				for (size_t i = 0; i < k; i++)
					buf[i] &= 1;
			} else {
				memset(buf, 0, k);
			}
			if (k_copy_out(t, vec + (at - addr) / PAGE_SIZE + done, buf, k))
				return -EFAULT;
			done += k;
		}
		at = stop;
	}
	return 0;
}
