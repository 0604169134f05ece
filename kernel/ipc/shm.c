/* System V shared memory: shmget, shmat, shmdt, shmctl.  The sandbox is
 * one IPC namespace.  A segment is a memory object of the memory file;
 * attaching maps it shared, so fork shares it and exit or exec drops it
 * with the mapping.  nattch counts the mappings of the object (Linux
 * counts each VMA too).  A segment marked for removal is gone once the
 * last mapping is: its memory with the object, its entry at the next look. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "../sentry.h"

/* Linux's defaults (ipc/shm.c, include/uapi/linux/shm.h). */
#define SHMMNI 4096
#define SHMMAX (ULONG_MAX - (1UL << 24))
#define SHMALL (ULONG_MAX - (1UL << 24))
#define SHMMIN 1
#define SEQ_MULTIPLIER 32768

#define K_IPC_CREAT 01000
#define K_IPC_EXCL 02000
#define K_IPC_RMID 0
#define K_IPC_SET 1
#define K_IPC_STAT 2
#define K_IPC_INFO 3
#define K_SHM_LOCK 11
#define K_SHM_UNLOCK 12
#define K_SHM_STAT 13
#define K_SHM_INFO 14
#define K_SHM_STAT_ANY 15
#define K_SHM_RDONLY 010000
#define K_SHM_RND 020000
#define K_SHM_REMAP 040000
#define K_SHM_EXEC 0100000
#define K_SHM_DEST 01000
#define K_SHM_LOCKED 02000
#define K_SHM_HUGETLB 04000
#define K_SHM_NORESERVE 010000
#define SHMLBA PAGE_SIZE

/* The kernel's struct ipc64_perm and shmid64_ds on x86-64. */
struct k_shmid64_ds {
	struct k_ipc64_perm perm;
	uint64_t segsz;
	int64_t atime, dtime, ctime;
	int32_t cpid, lpid;
	uint64_t nattch;
	uint64_t unused4, unused5;
};

struct k_shminfo64 {
	uint64_t shmmax, shmmin, shmmni, shmseg, shmall;
	uint64_t unused[4];
};

struct k_shm_info {
	int32_t used_ids;
	int32_t pad;
	uint64_t shm_tot, shm_rss, shm_swp, swap_attempts, swap_successes;
};

struct shm_seg {
	struct k_ipc_perm perm;
	uint64_t size;
	struct k_mobj *obj;
	int64_t atime, dtime, ctime;
	int cpid, lpid;
	bool dest; /* IPC_RMID: gone with the last mapping */
};

/* Indexed by the id's low part; one sandbox, one namespace. */
static struct shm_seg *segs[SHMMNI];
static uint16_t next_seq;

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static uint64_t nattch(const struct shm_seg *s)
{
	return (uint64_t)(s->obj->refs - 1); /* the segment holds one */
}

static void seg_free(struct k_kernel *k, int idx)
{
	struct shm_seg *s = segs[idx];
	mobj_put(&k->mem, s->obj);
	free(s);
	segs[idx] = NULL;
}

/* Segments marked for removal whose last mapping went. */
static void sweep(struct k_kernel *k)
{
	for (int i = 0; i < SHMMNI; i++)
		if (segs[i] && segs[i]->dest && nattch(segs[i]) == 0)
			seg_free(k, i);
}

static struct shm_seg *by_id(struct k_kernel *k, int id, int *idx)
{
	sweep(k);
	if (id < 0)
		return NULL;
	int i = id % SEQ_MULTIPLIER;
	if (i >= SHMMNI || !segs[i] || segs[i]->perm.seq != id / SEQ_MULTIPLIER)
		return NULL;
	if (idx)
		*idx = i;
	return segs[i];
}

SYSCALL(shmget)
{
	int32_t key = (int32_t)a[0];
	uint64_t size = a[1];
	int flg = (int)a[2];
	struct k_kernel *k = t->k;
	sweep(k);
	if (key != 0 /* IPC_PRIVATE */) {
		for (int i = 0; i < SHMMNI; i++) {
			struct shm_seg *s = segs[i];
			if (!s || s->dest || s->perm.key != key)
				continue;
			if ((flg & K_IPC_CREAT) && (flg & K_IPC_EXCL))
				return -EEXIST;
			if (size > s->size)
				return -EINVAL;
			/* The mode bits asked for, in any of the three places. */
			if (!ipc_allowed(t, &s->perm, ((flg >> 6) | (flg >> 3) | flg) & 7))
				return -EACCES;
			return (long)s->perm.seq * SEQ_MULTIPLIER + i;
		}
		if (!(flg & K_IPC_CREAT))
			return -ENOENT;
	}
	if (size < SHMMIN || size > SHMMAX)
		return -EINVAL;
	if (flg & K_SHM_HUGETLB)
		return -EPERM; /* no huge page pool in the sandbox */
	int idx = -1;
	for (int i = 0; i < SHMMNI && idx < 0; i++)
		if (!segs[i])
			idx = i;
	if (idx < 0)
		return -ENOSPC;
	/* The memory limit covers segments as all guest memory. */
	if (k->cfg.memory_limit && PAGE_UP(size) > k->cfg.memory_limit)
		return -ENOMEM;
	struct shm_seg *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->obj = mobj_new(&k->mem, PAGE_UP(size));
	if (!s->obj) {
		free(s);
		return -ENOMEM;
	}
	s->size = size;
	ipc_perm_init(t, &s->perm, key, flg, next_seq++ % (INT32_MAX / SEQ_MULTIPLIER));
	s->ctime = now_s();
	s->cpid = t->tg->pid;
	segs[idx] = s;
	return (long)s->perm.seq * SEQ_MULTIPLIER + idx;
}

SYSCALL(shmat)
{
	int id = (int)a[0], flg = (int)a[2];
	uint64_t addr = a[1];
	struct shm_seg *s = by_id(t->k, id, NULL);
	if (!s)
		return -EINVAL;
	if (addr & (SHMLBA - 1)) {
		if (!(flg & K_SHM_RND))
			return -EINVAL;
		addr &= ~(SHMLBA - 1);
	}
	if (!addr && (flg & K_SHM_REMAP))
		return -EINVAL;
	bool ro = flg & K_SHM_RDONLY;
	int want = ro ? 4 : 6;
	int prot = ro ? PROT_READ : PROT_READ | PROT_WRITE;
	if (flg & K_SHM_EXEC) {
		want |= 1;
		prot |= PROT_EXEC;
	}
	if (!ipc_allowed(t, &s->perm, want))
		return -EACCES;
	uint64_t len = PAGE_UP(s->size);
	int mflags = 0;
	if (addr) {
		if (addr < pf_guest_min() || addr > pf_guest_max() || len > pf_guest_max() - addr)
			return -EINVAL;
		/* Over an existing mapping only with SHM_REMAP. */
		struct k_vma *v = mm_find_next(t->mm, addr);
		if (v && v->start < addr + len && !(flg & K_SHM_REMAP))
			return -EINVAL;
		mflags = MAP_FIXED;
	}
	uint64_t pgoff = 0;
	int vflags = VMA_SHARED | (ro ? VMA_NOWRITE : 0);
	int64_t at = mm_map_objs(t->mm, addr, prot, vflags, mflags, &s->obj, &pgoff, &len, 1);
	if (at < 0)
		return at;
	s->atime = now_s();
	s->lpid = t->tg->pid;
	return at;
}

/* The segment a VMA maps, if any. */
static struct shm_seg *seg_of(const struct k_vma *v)
{
	if (!v || !v->mobj || !(v->flags & VMA_SHARED))
		return NULL;
	for (int i = 0; i < SHMMNI; i++)
		if (segs[i] && segs[i]->obj == v->mobj)
			return segs[i];
	return NULL;
}

SYSCALL(shmdt)
{
	uint64_t addr = a[0];
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	struct k_vma *v = mm_find(t->mm, addr);
	struct shm_seg *s = v && v->start == addr && v->pgoff == 0 ? seg_of(v) : NULL;
	if (!s)
		return -EINVAL;
	/* The attachment: every VMA of the segment from addr on, as far as
	 * the segment reaches (Linux's shmdt walks the same way). */
	uint64_t end = addr + PAGE_UP(s->size);
	struct k_mobj *obj = s->obj;
	for (uint64_t at = addr; at < end;) {
		struct k_vma *w = mm_find_next(t->mm, at);
		if (!w || w->start >= end)
			break;
		uint64_t stop = w->end < end ? w->end : end;
		if (w->mobj == obj && w->pgoff == w->start - addr) {
			uint64_t start = w->start;
			int err = mm_unmap(t->mm, start, stop - start);
			if (err)
				return err;
		}
		at = stop;
	}
	s->dtime = now_s();
	s->lpid = t->tg->pid;
	sweep(t->k);
	return 0;
}

static void fill_ds(const struct shm_seg *s, struct k_shmid64_ds *d)
{
	memset(d, 0, sizeof(*d));
	ipc_perm64(&s->perm, &d->perm);
	if (s->dest) {
		d->perm.key = 0; /* IPC_PRIVATE once removed */
		d->perm.mode |= K_SHM_DEST;
	}
	d->segsz = s->size;
	d->atime = s->atime, d->dtime = s->dtime, d->ctime = s->ctime;
	d->cpid = s->cpid, d->lpid = s->lpid;
	d->nattch = nattch(s);
}

SYSCALL(shmctl)
{
	int id = (int)a[0], cmd = (int)a[1] & ~0x100 /* IPC_64 */;
	struct k_kernel *k = t->k;
	switch (cmd) {
	case K_IPC_INFO: {
		struct k_shminfo64 info = {.shmmax = SHMMAX, .shmmin = SHMMIN, .shmmni = SHMMNI,
					   .shmseg = SHMMNI, .shmall = SHMALL};
		if (k_copy_out(t, a[2], &info, sizeof(info)))
			return -EFAULT;
		sweep(k);
		int last = 0;
		for (int i = 0; i < SHMMNI; i++)
			if (segs[i])
				last = i;
		return last;
	}
	case K_SHM_INFO: {
		sweep(k);
		struct k_shm_info info = {0};
		int last = 0;
		for (int i = 0; i < SHMMNI; i++)
			if (segs[i]) {
				info.used_ids++;
				info.shm_tot += PAGE_UP(segs[i]->size) / PAGE_SIZE;
				last = i;
			}
		info.shm_rss = info.shm_tot;
		if (k_copy_out(t, a[2], &info, sizeof(info)))
			return -EFAULT;
		return last;
	}
	case K_SHM_STAT:
	case K_SHM_STAT_ANY: {
		/* By index, not id; returns the id. */
		sweep(k);
		if (id < 0 || id >= SHMMNI || !segs[id])
			return -EINVAL;
		struct shm_seg *s = segs[id];
		if (cmd == K_SHM_STAT && !ipc_allowed(t, &s->perm, 4))
			return -EACCES;
		struct k_shmid64_ds d;
		fill_ds(s, &d);
		if (k_copy_out(t, a[2], &d, sizeof(d)))
			return -EFAULT;
		return (long)s->perm.seq * SEQ_MULTIPLIER + id;
	}
	}
	int idx;
	struct shm_seg *s = by_id(k, id, &idx);
	if (!s)
		return -EINVAL;
	switch (cmd) {
	case K_IPC_STAT: {
		if (!ipc_allowed(t, &s->perm, 4))
			return -EACCES;
		struct k_shmid64_ds d;
		fill_ds(s, &d);
		return k_copy_out(t, a[2], &d, sizeof(d));
	}
	case K_IPC_SET: {
		struct k_shmid64_ds d;
		if (k_copy_in(t, &d, a[2], sizeof(d)))
			return -EFAULT;
		if (!ipc_owner(t, &s->perm))
			return -EPERM;
		s->perm.uid = d.perm.uid;
		s->perm.gid = d.perm.gid;
		s->perm.mode = (uint16_t)((s->perm.mode & ~0777) | (d.perm.mode & 0777));
		s->ctime = now_s();
		return 0;
	}
	case K_IPC_RMID:
		if (!ipc_owner(t, &s->perm))
			return -EPERM;
		s->dest = true;
		s->ctime = now_s();
		if (nattch(s) == 0)
			seg_free(k, idx);
		return 0;
	case K_SHM_LOCK:
	case K_SHM_UNLOCK:
		/* Guest memory is never swapped: locking only records it. */
		if (!ipc_owner(t, &s->perm) && t->tg->euid != 0)
			return -EPERM;
		if (cmd == K_SHM_LOCK)
			s->perm.mode |= K_SHM_LOCKED;
		else
			s->perm.mode &= (uint16_t)~K_SHM_LOCKED;
		return 0;
	default:
		return -EINVAL;
	}
}

void shm_teardown(struct k_kernel *k)
{
	for (int i = 0; i < SHMMNI; i++)
		if (segs[i])
			seg_free(k, i);
	next_seq = 0;
}

int shm_count(void)
{
	int n = 0;
	for (int i = 0; i < SHMMNI; i++)
		n += segs[i] != NULL;
	return n;
}
