/* The memory syscalls: mmap, munmap, mprotect, mremap, madvise, brk.
 * Argument checks follow mm/mmap.c and mm/mprotect.c of Linux, in its
 * order, so that each bad call gets Linux's errno. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>

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
	 MAP_FIXED_NOREPLACE | (0x3f << 26))

static bool as_limit_ok(struct k_task *t, uint64_t grow)
{
	uint64_t lim = t->tg->rlim[RLIMIT_AS].rlim_cur;
	return lim == RLIM_INFINITY || t->mm->total_vm + grow <= lim;
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
	int acc = f ? f->flags & O_ACCMODE : 0;
	file_put(f);
	if (len == 0)
		return -EINVAL;
	uint64_t plen = PAGE_UP(len);
	if (plen == 0 || plen < len)
		return -ENOMEM;
	int type = flags & MAP_TYPE;
	if (f) {
		if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
			return -EINVAL;
		if (type == MAP_SHARED_VALIDATE && (a[3] & ~(uint64_t)MAP_KNOWN))
			return -EOPNOTSUPP;
		/* Files come with the filesystem; husk's stdio cannot be mapped. */
		return acc == O_WRONLY ? -EACCES : -ENODEV;
	}
	if (type != MAP_SHARED && type != MAP_PRIVATE)
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
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	/* prot is an unsigned long: no bit of it goes unchecked. */
	if (a[2] & ~(uint64_t)(PROT_ALL | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if ((prot & (PROT_GROWSDOWN | PROT_GROWSUP)) == (PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if (len == 0)
		return 0;
	uint64_t plen = PAGE_UP(len);
	if (plen < len || addr + plen < addr)
		return -ENOMEM;
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
		    !(v->flags & VMA_SHARED))
			memfile_zero(&t->k->mem, v->mobj->off + v->pgoff + (at - v->start), stop - at);
		if (advice == MADV_REMOVE && !(v->flags & VMA_SHARED))
			return -EINVAL;
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
