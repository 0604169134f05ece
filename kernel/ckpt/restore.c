/* Restore: a freshly booted sandbox takes on a snapshot's objects.  The
 * records are read in the order save wrote them (an object is named only
 * after its own record), every value checked as hostile input: a bad one
 * fails the restore with a reason, never a crash.  Guest memory is loaded
 * into new memory objects (eagerly for now), host files are mapped again
 * by path if they are still what they were, tasks come back parked at
 * their syscall boundary and resume as if nothing happened: a call the
 * checkpoint interrupted runs again. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

#include "ckpt.h"

struct table {
	void **v;
	size_t n, cap;
};

static int table_add(struct table *t, void *p)
{
	if (t->n == CK_MAX_OBJECTS)
		return -E2BIG;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 32;
		void **v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = p;
	return 0;
}

/* The object an id names (ids are 1, 2, ... in record order). */
static void *table_get(const struct table *t, uint32_t id)
{
	return id >= 1 && id <= t->n ? t->v[id - 1] : NULL;
}

struct restorer {
	struct k_kernel *k;
	struct k_task *t0; /* the boot task: path lookups go through it */
	const struct snap_reader *r;
	struct table mobjs, mms, files, fdts, fss, tgs, tasks;
	struct ckpt_ctx ctx;
	int image_fd; /* the snapshot's memory image (-1: load memory eagerly) */
	uint64_t image_size;
	uint64_t mem_total; /* guest memory the objects add up to (bounded) */
	uint64_t fd_slots;  /* descriptor table slots made (bounded) */
	struct ckpt_fs_rs *fs; /* the filesystem trees' inodes (ckpt/fs.c) */
	struct k_mm *boot_mm;  /* the boot task's, while no restored one has it */
	char *why;
	size_t whylen;
};

static int fail(struct restorer *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct restorer *s, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->why, s->whylen, fmt, ap);
	va_end(ap);
	return err;
}

/* The next id must be the table's next: records come in order. */
static bool next_id(const struct table *t, uint32_t id)
{
	return id == t->n + 1;
}

static int get_path(struct snap_dec *d, char *buf)
{
	snap_get_str(d, buf, K_PATH_MAX);
	return snap_dec_err(d);
}

/* Memory blocks saved for [off, off+len) of the old memory file, into o. */
static int load_memory(struct restorer *s, uint64_t off, uint64_t len, struct k_mobj *o)
{
	size_t n = snap_mem_count(s->r), lo = 0, hi = n;
	struct snap_block b;
	while (lo < hi) { /* the first block at or above off */
		size_t mid = lo + (hi - lo) / 2;
		if (snap_mem_block(s->r, mid, &b))
			return -EBADMSG;
		if (b.mem_offset < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n; i++) {
		if (snap_mem_block(s->r, i, &b))
			return -EBADMSG;
		if (b.mem_offset >= off + len)
			break;
		if (b.mem_offset + b.length > off + len)
			return fail(s, -EBADMSG, "memory block %zu runs past its object", i);
		int k = snap_mem_read(s->r, i, s->k->mem.base + o->off + (b.mem_offset - off),
				      b.length);
		if (k < 0)
			return fail(s, k, "memory block %zu is corrupt", i);
	}
	return 0;
}

static int restore_mobj(struct restorer *s, struct snap_dec *d)
{
	uint32_t id = snap_get_u32(d);
	int kind = snap_get_u8(d);
	uint64_t off = snap_get_u64(d), len = snap_get_u64(d);
	if (snap_dec_err(d) || !next_id(&s->mobjs, id) || kind > CKM_VDSO)
		return fail(s, -EBADMSG, "a bad memory object record");
	struct k_mobj *o = NULL;
	if (kind == CKM_VVAR || kind == CKM_VDSO) {
		o = kind == CKM_VVAR ? s->k->vvar : s->k->vdso;
		uint64_t hash = kind == CKM_VDSO ? snap_get_u64(d) : 0;
		if (!o || o->len != len || snap_dec_err(d))
			return fail(s, -EBADMSG, "the time page or vDSO differs from this husk's");
		/* A guest's C library keeps pointers into its vDSO: another
		 * husk's, with its functions elsewhere, cannot stand in. */
		if (kind == CKM_VDSO && hash != ckpt_vdso_hash(s->k, o))
			return fail(s, -ENOTSUP, "the snapshot's vDSO is another husk build's: restore "
						 "it with the husk that took it");
		o->refs++;
	} else if (kind == CKM_MEM) {
		bool shared = snap_get_u8(d);
		/* All of it within the sandbox's memory limit: a snapshot
		 * cannot make the restore take more than the guest may have. */
		uint64_t cap = s->k->cfg.memory_limit && s->k->cfg.memory_limit < s->k->mem.size
				       ? s->k->cfg.memory_limit
				       : s->k->mem.size;
		if (snap_dec_err(d) || !len || len & ~PAGE_MASK || len > cap || off & ~PAGE_MASK ||
		    off > s->k->mem.size - len || s->mem_total > cap - len)
			return fail(s, -EBADMSG, "a memory object of a bad size (or past --memory)");
		s->mem_total += len;
		/* Private memory maps the image; memory some mapping shares is
		 * copied, so that every view of it sees every write. */
		if (s->image_fd >= 0 && !shared) {
			/* (An object that ends past the image, its last pages
			 * zero, is copied in instead.) */
			o = off + len <= s->image_size ? mobj_file_at(s->image_fd, off, len) : NULL;
			if (o) {
				o->image = true;
				goto add;
			}
		}
		if (!(o = mobj_new(&s->k->mem, len)))
			return fail(s, -ENOMEM, "no room for guest memory");
		int err = load_memory(s, off, len, o);
		if (err) {
			mobj_put(&s->k->mem, o);
			return s->why[0] ? err : fail(s, err, "guest memory cannot be read");
		}
	} else {
		char path[K_PATH_MAX];
		get_path(d, path);
		uint64_t ino = snap_get_u64(d), size = snap_get_u64(d);
		struct timespec mt = {snap_get_i64(d), snap_get_i64(d)};
		if (snap_dec_err(d) || path[0] != '/')
			return fail(s, -EBADMSG, "a bad mapped-file record");
		struct k_path p;
		struct k_file *f = NULL;
		int err = path_lookup(s->t0, AT_FDCWD, path, LOOKUP_FOLLOW, &p);
		if (!err) {
			err = vfs_open_path(s->t0, &p, O_RDONLY, &f);
			path_put(&p);
		}
		if (err)
			return fail(s, err, "%s, mapped in the snapshot, cannot be opened", path);
		struct k_inode *i = f->inode;
		if (i->ino != ino || i->size != size || i->mtime.tv_sec != mt.tv_sec ||
		    i->mtime.tv_nsec != mt.tv_nsec) {
			file_put(f);
			return fail(s, -ESTALE, "%s changed since the snapshot", path);
		}
		o = f->ops->page_cache ? f->ops->page_cache(f) : NULL;
		file_put(f);
		if (!o || o->len != len) {
			if (o)
				mobj_put(&s->k->mem, o);
			return fail(s, -EINVAL, "%s cannot be mapped from the host", path);
		}
	}
add:;
	int err = table_add(&s->mobjs, o);
	if (err)
		mobj_put(&s->k->mem, o);
	return err;
}

/* The flags a mapping of o may have, as the mmap paths make them: a host
 * file is mapped copy-on-write, or shared but never writable; the time
 * page and the vDSO as vdso_map maps them. */
static bool vma_flags_ok(const struct k_kernel *k, const struct k_vma *v)
{
	const int special = VMA_VVAR | VMA_VDSO;
	if (!v->mobj)
		return !(v->flags & (special | VMA_COW | VMA_SHARED));
	if (v->mobj == k->vvar)
		return v->flags == (VMA_SHARED | VMA_NOWRITE | VMA_VVAR) && !(v->prot & ~PROT_READ);
	if (v->mobj == k->vdso)
		return v->flags == (VMA_COW | VMA_VDSO);
	if (v->flags & special)
		return false;
	if (v->mobj->fd >= 0 && !v->mobj->image)
		return (v->flags & VMA_COW) ? !(v->flags & VMA_SHARED)
					    : (v->flags & (VMA_SHARED | VMA_NOWRITE)) ==
						      (VMA_SHARED | VMA_NOWRITE) &&
						      !(v->prot & PROT_WRITE);
	return !((v->flags & VMA_COW) && (v->flags & VMA_SHARED));
}

static int restore_mm(struct restorer *s, struct snap_dec *d)
{
	uint32_t id = snap_get_u32(d);
	if (!next_id(&s->mms, id))
		return fail(s, -EBADMSG, "a bad address space record");
	/* Each is a host process: no more than the sandbox may have tasks. */
	if (s->mms.n >= (size_t)s->k->max_tasks)
		return fail(s, -EBADMSG, "more address spaces than --tasks allows");
	struct k_mm *mm = s->boot_mm;
	int err = 0;
	if (mm) {
		/* The boot task's, empty: its host process (and the threads it
		 * keeps ready) serves the first one. */
		s->boot_mm = NULL;
		mm->users++;
	} else if ((err = mm_new(s->k, &mm))) {
		return fail(s, err, "cannot make an address space");
	}
	if ((err = table_add(&s->mms, mm))) {
		mm_put(mm);
		return err;
	}
	uint64_t *fields[] = {&mm->mmap_base, &mm->brk_start,  &mm->brk_cur,    &mm->stack_start,
			      &mm->stack_end, &mm->start_code, &mm->end_code,   &mm->start_data,
			      &mm->end_data,  &mm->arg_start,  &mm->arg_end,    &mm->env_start,
			      &mm->env_end,   &mm->total_vm};
	for (size_t i = 0; i < ARRAY_LEN(fields); i++)
		*fields[i] = snap_get_u64(d);
	uint32_t nauxv = snap_get_u32(d);
	if (nauxv > ARRAY_LEN(mm->auxv))
		return fail(s, -EBADMSG, "too long an auxiliary vector");
	mm->nauxv = nauxv;
	for (size_t i = 0; i < nauxv; i++)
		mm->auxv[i] = snap_get_u64(d);
	char path[K_PATH_MAX];
	if (get_path(d, path))
		return fail(s, -EBADMSG, "a bad address space record");
	if (path[0] && path_lookup(s->t0, AT_FDCWD, path, LOOKUP_FOLLOW, &mm->exe))
		mm->exe = (struct k_path){0}; /* /proc/PID/exe then dangles, as for a deleted file */
	mm->ut_off = snap_get_u8(d);
	uint32_t n = snap_get_u32(d);
	if (snap_dec_err(d) || n > CK_MAX_VMAS)
		return fail(s, -EBADMSG, "a bad address space record");
	for (uint32_t i = 0; i < n; i++) {
		struct k_vma v = {0};
		v.start = snap_get_u64(d);
		v.end = snap_get_u64(d);
		v.prot = (int)snap_get_u32(d);
		v.flags = (int)snap_get_u32(d);
		uint32_t oid = snap_get_u32(d);
		v.pgoff = snap_get_u64(d);
		v.mobj = table_get(&s->mobjs, oid);
		if (snap_dec_err(d) || (oid && !v.mobj) || (v.prot & ~7) || (v.flags & ~0xfff) ||
		    !vma_flags_ok(s->k, &v))
			return fail(s, -EBADMSG, "a bad mapping record");
		if (v.mobj && v.mobj->image) {
			/* (Saved as private memory: the image never backs a
			 * shared mapping.) */
			if (v.flags & VMA_SHARED)
				return fail(s, -EBADMSG, "shared memory saved as private");
			/* Private memory: the image's pages until written, a chunk
			 * copied at the first write, as after a fork; a private
			 * view (of a file's pages) stays one, page by page. */
			if (!(v.flags & VMA_COW))
				v.flags |= VMA_COW | VMA_FORKED;
		}
		if ((err = mm_restore_vma(mm, &v)))
			return fail(s, err, "the mapping at %#llx cannot be made",
				    (unsigned long long)v.start);
	}
	/* Patched syscalls jump through the table's header into the stub:
	 * a snapshot of another husk build points it where that one's was. */
	if (pf_ut_enabled())
		ut_restored(mm);
	return 0;
}

static int restore_file(struct restorer *s, struct snap_dec *d)
{
	uint32_t id = snap_get_u32(d), kind = snap_get_u32(d);
	int flags = (int)snap_get_u32(d);
	int64_t pos = snap_get_i64(d);
	if (snap_dec_err(d) || !next_id(&s->files, id) || (flags & O_ACCMODE) == O_ACCMODE ||
	    pos < 0)
		return fail(s, -EBADMSG, "a bad file record");
	if (kind == CKF_PATH) {
		char path[K_PATH_MAX];
		struct k_path p;
		struct k_file *f = NULL;
		int err = get_path(d, path) || path[0] != '/' ? -EBADMSG : 0;
		uint64_t ino = snap_get_u64(d);
		if (!err && snap_dec_err(d))
			err = -EBADMSG;
		if (!err && !(err = path_lookup(s->t0, AT_FDCWD, path, 0, &p))) {
			/* Only what a save reopens by path: a device, a file or a
			 * directory, still the one it was where that can be told
			 * (the guest could open any of them itself). */
			struct k_inode *i = p.d->inode;
			err = !S_ISCHR(i->mode) && !S_ISREG(i->mode) && !S_ISDIR(i->mode) ? -EBADMSG
			      : ino && i->ino != ino					     ? -ESTALE
			      : vfs_open_path(s->t0, &p, flags & ~(O_CREAT | O_TRUNC | O_EXCL), &f);
			path_put(&p);
		}
		if (err)
			return fail(s, err, "%s cannot be opened again%s", path[0] ? path : "a file",
				    err == -ESTALE ? " (another file has its name)" : "");
		f->pos = pos;
		if ((err = table_add(&s->files, f)))
			file_put(f);
		return err;
	}
	static const ckpt_restore_fn kinds[] = {
		[CKF_STDIO] = hostfile_restore, [CKF_INET] = inet_restore,
		[CKF_EVENTFD] = eventfd_restore, [CKF_PIPE] = pipe_restore,
		[CKF_EPOLL] = epoll_restore, [CKF_TIMERFD] = timerfd_restore,
		[CKF_UNIX] = unix_restore, [CKF_SIGNALFD] = signalfd_restore,
	};
	if (kind >= ARRAY_LEN(kinds) || !kinds[kind])
		return fail(s, -EBADMSG, "a file of an unknown kind (%u)", kind);
	struct k_file *f = NULL;
	int err = kinds[kind](s->k, d, flags, &s->ctx, &f);
	if (err)
		return fail(s, err, "file %u (kind %u) cannot be restored", id, kind);
	f->pos = pos;
	if ((err = table_add(&s->files, f)))
		file_put(f);
	return err;
}

static int restore_epoll(struct restorer *s, struct snap_dec *d)
{
	struct k_file *ep = table_get(&s->files, snap_get_u32(d));
	uint32_t n = snap_get_u32(d);
	if (snap_dec_err(d) || !ep || !file_is_epoll(ep) || n > CK_MAX_FDS)
		return fail(s, -EBADMSG, "a bad epoll record");
	for (uint32_t i = 0; i < n; i++) {
		struct k_epoll_entry e;
		e.file = table_get(&s->files, snap_get_u32(d));
		e.fd = (int)snap_get_u32(d);
		e.events = snap_get_u32(d);
		e.data = snap_get_u64(d);
		if (snap_dec_err(d) || !e.file || e.fd < 0)
			return fail(s, -EBADMSG, "a bad epoll entry");
		int err = epoll_restore_entry(s->k, ep, &e);
		if (err)
			return fail(s, err, "an epoll entry cannot be restored");
	}
	return 0;
}

static int restore_fdt(struct restorer *s, struct snap_dec *d)
{
	uint32_t id = snap_get_u32(d), n = snap_get_u32(d);
	if (snap_dec_err(d) || !next_id(&s->fdts, id) || n > CK_MAX_FDS)
		return fail(s, -EBADMSG, "a bad descriptor table record");
	struct k_fdtable *fdt = fdt_new();
	int err = fdt ? table_add(&s->fdts, fdt) : -ENOMEM;
	if (err) {
		fdt_put(fdt);
		return err;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t fd = snap_get_u32(d), fid = snap_get_u32(d);
		bool cloexec = snap_get_u8(d);
		struct k_file *f = table_get(&s->files, fid);
		if (snap_dec_err(d) || !f || fd >= CK_MAX_FDS)
			return fail(s, -EBADMSG, "a bad descriptor record");
		/* Tables grow to their highest fd: their slots are bounded. */
		if (fd >= (uint32_t)fdt->n && (s->fd_slots += fd - (uint32_t)fdt->n + 1) > CK_MAX_FDS)
			return fail(s, -EBADMSG, "descriptor tables larger than a sandbox's");
		if ((err = fdt_set(fdt, (int)fd, f, cloexec)))
			return err;
	}
	return 0;
}

static int restore_fs(struct restorer *s, struct snap_dec *d)
{
	uint32_t id = snap_get_u32(d);
	char root[K_PATH_MAX], cwd[K_PATH_MAX];
	get_path(d, root);
	get_path(d, cwd);
	uint32_t umask = snap_get_u32(d);
	if (snap_dec_err(d) || !next_id(&s->fss, id) || umask & ~0777u)
		return fail(s, -EBADMSG, "a bad root and cwd record");
	struct k_fs_ctx *fs = fs_ctx_dup(s->t0->fs);
	int err = fs ? table_add(&s->fss, fs) : -ENOMEM;
	if (err) {
		fs_ctx_put(fs);
		return err;
	}
	fs->umask = umask;
	struct k_path p;
	int fl = LOOKUP_FOLLOW | LOOKUP_DIRECTORY;
	/* A root that cannot be found again fails the restore: falling back
	 * to the sandbox's would widen a chroot. */
	if (root[0] != '/' || (err = path_lookup(s->t0, AT_FDCWD, root, fl, &p)))
		return fail(s, err ? err : -EBADMSG, "the root %s is gone", root);
	path_put(&fs->root);
	fs->root = p;
	if (cwd[0] != '/' || (err = path_lookup(s->t0, AT_FDCWD, cwd, fl, &p)))
		return fail(s, err ? err : -EBADMSG, "the working directory %s is gone", cwd);
	path_put(&fs->cwd);
	fs->cwd = p;
	return 0;
}

static int get_siginfo(struct snap_dec *d, uint64_t pending, siginfo_t *si)
{
	for (int sig = 1; sig <= K_NSIG; sig++)
		if (pending & SIGBIT(sig))
			snap_get_bytes(d, &si[sig], sizeof(si[sig]));
	return snap_dec_err(d);
}

static struct k_thread_group *tg_by(struct restorer *s, int pid)
{
	for (size_t i = 0; i < s->tgs.n; i++)
		if (((struct k_thread_group *)s->tgs.v[i])->pid == pid)
			return s->tgs.v[i];
	return NULL;
}

static int restore_tg(struct restorer *s, struct snap_dec *d)
{
	if (s->tgs.n >= (size_t)s->k->max_tasks)
		return fail(s, -EBADMSG, "more processes than --tasks allows");
	struct k_thread_group *tg = calloc(1, sizeof(*tg));
	if (!tg)
		return -ENOMEM;
	tg->k = s->k; /* (what frees its timers, should the restore fail) */
	int err = table_add(&s->tgs, tg);
	if (err) {
		free(tg);
		return err;
	}
	tg->pid = (int)snap_get_u32(d);
	tg->pgid = (int)snap_get_u32(d);
	tg->sid = (int)snap_get_u32(d);
	int ppid = (int)snap_get_u32(d);
	tg->exit_signal = (int)snap_get_u32(d);
	for (int sig = 1; sig <= K_NSIG; sig++) {
		tg->act[sig].handler = snap_get_u64(d);
		tg->act[sig].flags = snap_get_u64(d);
		tg->act[sig].restorer = snap_get_u64(d);
		tg->act[sig].mask = snap_get_u64(d);
	}
	tg->pending = snap_get_u64(d);
	get_siginfo(d, tg->pending, tg->siginfo);
	for (int r = 0; r < RLIM_NLIMITS; r++) {
		tg->rlim[r].rlim_cur = snap_get_u64(d);
		tg->rlim[r].rlim_max = snap_get_u64(d);
	}
	uint32_t *ids[] = {&tg->uid, &tg->euid, &tg->suid, &tg->fsuid,
			   &tg->gid, &tg->egid, &tg->sgid, &tg->fsgid};
	for (size_t i = 0; i < ARRAY_LEN(ids); i++)
		*ids[i] = snap_get_u32(d);
	uint32_t ng = snap_get_u32(d);
	if (ng > 65536)
		return fail(s, -EBADMSG, "too many supplementary groups");
	if (ng && !(tg->groups = calloc(ng, sizeof(*tg->groups))))
		return -ENOMEM;
	tg->ngroups = (int)ng;
	for (uint32_t i = 0; i < ng; i++)
		tg->groups[i] = snap_get_u32(d);
	tg->cap_effective = snap_get_u64(d);
	tg->cap_permitted = snap_get_u64(d);
	tg->cap_inheritable = snap_get_u64(d);
	tg->dumpable = (int)snap_get_u32(d);
	for (int i = 0; i < 3; i++) {
		tg->itimer[i].value = snap_get_i64(d);
		tg->itimer[i].interval = snap_get_i64(d);
		if (i == ITIMER_REAL && tg->itimer[i].value > 0) {
			int64_t v = k_clock_from_guest(CLOCK_MONOTONIC, tg->itimer[i].value);
			tg->itimer[i].value = v > 0 ? v : 1; /* (due: at once) */
		}
	}
	tg->next_timer_id = (int)snap_get_u32(d);
	tg->sched_policy = (int)snap_get_u32(d);
	tg->sched_priority = (int)snap_get_u32(d);
	tg->nice = (int)snap_get_u32(d);
	tg->cpu_base = snap_get_u64(d);
	tg->cpu_children = snap_get_u64(d);
	tg->execed = snap_get_u8(d);
	bool timers_ok = true;
	for (int i = 0; i < 3; i++)
		timers_ok &= tg->itimer[i].value >= 0 && tg->itimer[i].interval >= 0;
	if (snap_dec_err(d) || tg->pid <= 0 || tg->pid > (1 << 22) || tg->exit_signal < 0 ||
	    tg->exit_signal > K_NSIG || !timers_ok || tg->nice < -20 || tg->nice > 19 ||
	    tg->sched_priority < 0 || tg->sched_priority > 99 || tg->sched_policy < 0 ||
	    tg->sched_policy > 6 || tg->pgid <= 0 || tg->sid <= 0 || ppid < 0 ||
	    (tg->pending & (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))))
		return fail(s, -EBADMSG, "a bad process record");
	/* What sigaction allows: SIGKILL and SIGSTOP keep their default and
	 * are never blocked. */
	tg->act[SIGKILL] = tg->act[SIGSTOP] = (struct k_sigaction){.handler = (uint64_t)SIG_DFL};
	for (int sig = 1; sig <= K_NSIG; sig++)
		tg->act[sig].mask &= ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
	for (size_t i = 0; i + 1 < s->tgs.n; i++)
		if (((struct k_thread_group *)s->tgs.v[i])->pid == tg->pid)
			return fail(s, -EBADMSG, "process %d twice", tg->pid);
	if (ppid == tg->pid)
		return fail(s, -EBADMSG, "process %d is its own parent", tg->pid);
	if (ppid) {
		tg->parent = tg_by(s, ppid);
		if (!tg->parent || tg->parent == tg)
			return fail(s, -EBADMSG, "process %d's parent is missing", tg->pid);
		tg->sibling = tg->parent->children;
		tg->parent->children = tg;
	} else if (s->k->init != s->t0->tg) {
		return fail(s, -EBADMSG, "two processes without a parent");
	} else {
		s->k->init = tg;
	}
	/* (Once in the tree: a failed restore frees them with it.) */
	err = ptimers_restore(s->k, tg, d);
	if (err)
		return fail(s, err, "process %d's POSIX timers are bad", tg->pid);
	tg->zombie = snap_get_u8(d);
	tg->exit_code = (int)snap_get_u32(d);
	tg->exit_status = (int)snap_get_u32(d);
	if (snap_dec_err(d) || (tg->zombie && (!tg->parent || tg->ptimers)) ||
	    tg->exit_status < 0 || tg->exit_status > 255 + 128)
		return fail(s, -EBADMSG, "a bad process record");
	if (tg->zombie)
		s->k->nzombies++; /* (its parent's wait reaps it) */
	/* CPU-time timers count from here; an armed one makes the scheduler
	 * sample. */
	tg->cpu_sampled = tg->cpu_base;
	if (tg->itimer[ITIMER_VIRTUAL].value || tg->itimer[ITIMER_PROF].value)
		s->k->cpu_timers = true;
	return 0;
}

static int restore_task(struct restorer *s, struct snap_dec *d, pf_regs *regs, pf_fpregs *fp)
{
	int tid = (int)snap_get_u32(d), pid = (int)snap_get_u32(d);
	struct k_thread_group *tg = tg_by(s, pid);
	struct k_mm *mm = table_get(&s->mms, snap_get_u32(d));
	struct k_fdtable *fdt = table_get(&s->fdts, snap_get_u32(d));
	struct k_fs_ctx *fs = table_get(&s->fss, snap_get_u32(d));
	if (snap_dec_err(d) || !tg || !mm || !fdt || !fs || tid <= 0 || tid > (1 << 22))
		return fail(s, -EBADMSG, "a bad thread record");
	if (s->tasks.n >= (size_t)s->k->max_tasks)
		return fail(s, -EBADMSG, "more threads than --tasks allows");
	for (size_t i = 0; i < s->tasks.n; i++)
		if (((struct k_task *)s->tasks.v[i])->tid == tid)
			return fail(s, -EBADMSG, "thread %d twice", tid);
	struct k_task *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	int err = table_add(&s->tasks, t);
	if (err) {
		free(t);
		return err;
	}
	t->k = s->k;
	t->tid = tid;
	t->tg = tg;
	t->mm = mm_get(mm);
	t->fdt = fdt;
	fdt->refs++;
	t->fs = fs;
	fs->refs++;
	/* Exactly the registers' size: nothing of a previous thread's (or the
	 * sentry's stack) may stay in them. */
	memset(regs, 0, sizeof(*regs));
	memset(fp, 0, sizeof(*fp));
	bool whole = snap_get_bytes(d, regs, sizeof(*regs)) == sizeof(*regs);
	whole &= snap_get_bytes(d, fp, sizeof(*fp)) == sizeof(*fp);
	if (!whole)
		return fail(s, -EBADMSG, "thread %d's registers are cut short", tid);
	t->sigmask = snap_get_u64(d) & ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
	t->saved_sigmask = snap_get_u64(d) & ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
	t->has_saved_sigmask = snap_get_u8(d);
	t->pending = snap_get_u64(d);
	get_siginfo(d, t->pending, t->siginfo);
	t->clear_child_tid = snap_get_u64(d);
	t->robust_list = snap_get_u64(d);
	t->robust_len = snap_get_u64(d);
	t->sas_sp = snap_get_u64(d);
	t->sas_size = snap_get_u64(d);
	t->sas_flags = (int)snap_get_u32(d);
	snap_get_bytes(d, t->comm, sizeof(t->comm));
	t->comm[sizeof(t->comm) - 1] = 0;
	t->pdeathsig = (int)snap_get_u32(d);
	t->keepcaps = (int)snap_get_u32(d);
	t->no_new_privs = snap_get_u8(d);
	if (snap_dec_err(d) || t->pdeathsig < 0 ||
	    t->pdeathsig > K_NSIG)
		return fail(s, -EBADMSG, "a bad thread record");
	/* The registers: whatever the file says, user segments and flags a
	 * guest could have (as sigreturn allows), addresses in its range. */
	pf_regs clean;
	pf_regs_init(&clean, mm->as);
	regs->cs = clean.cs, regs->ss = clean.ss, regs->ds = clean.ds, regs->es = clean.es;
	regs->fs = regs->gs = 0;
	regs->eflags = (regs->eflags & 0x40dd5UL) | 0x202;
	if (regs->fs_base >= pf_guest_max() || regs->gs_base >= pf_guest_max())
		return fail(s, -EBADMSG, "thread %d's registers are out of range", tid);
	fp->mxcsr &= 0xffff; /* reserved bits set would fault the restore */
	if ((err = pf_ctx_new(mm->as, &t->ctx)))
		return fail(s, err, "cannot make thread %d", tid);
	pf_ctx_set_owner(t->ctx, t);
	t->regs = *regs;
	if ((err = pf_ctx_set_fpregs(t->ctx, fp)))
		return fail(s, err, "thread %d's FPU state cannot be set", tid);
	t->tg_next = tg->threads;
	tg->threads = t;
	tg->nthreads++;
	return 0;
}

static int restore_kernel(struct restorer *s, struct snap_dec *d)
{
	uint32_t v = snap_get_u32(d);
	char plat[32];
	snap_get_str(d, plat, sizeof(plat));
	int last_pid = (int)snap_get_u32(d);
	int64_t boot = (int64_t)snap_get_u64(d), mono = snap_get_i64(d);
	if (snap_dec_err(d) || boot < 0 || mono < boot || mono > (INT64_MAX >> 2))
		return fail(s, -EBADMSG, "a bad sandbox record");
	if (v != CK_VERSION)
		return fail(s, -ENOTSUP, "snapshot objects of version %u (this husk reads %u)", v,
			    CK_VERSION);
	if (strcmp(plat, pf_name()))
		return fail(s, -ENOTSUP, "the snapshot was taken under --platform=%s, not %s",
			    plat, pf_name());
	if (last_pid <= 0 || last_pid > (1 << 22))
		return fail(s, -EBADMSG, "a bad sandbox record");
	s->k->last_pid = last_pid;
	/* The guest's monotonic clock goes on from the checkpoint, whatever
	 * this host's reads (time passed since, another host), and so does
	 * its uptime. */
	k_clock_set_guest_offset(mono - k_clock_ns(CLOCK_MONOTONIC));
	s->k->boot_ns = (uint64_t)boot;
	return 0;
}

static struct k_mobj *fs_mobj(void *arg, uint32_t id)
{
	struct restorer *s = arg;
	return table_get(&s->mobjs, id);
}

static int restore_all(struct restorer *s)
{
	struct ckpt_fs_restore_ops fs_ops = {fs_mobj, s};
	size_t len;
	const void *obj = snap_section(s->r, SNAP_SEC_OBJECTS, &len);
	if (!obj)
		return fail(s, -EBADMSG, "the snapshot has no objects");
	struct snap_dec top, d;
	snap_dec_init(&top, obj, len);
	uint32_t tag;
	bool kernel = false;
	int err = 0;
	pf_regs regs;
	pf_fpregs fp;
	while (!err && snap_rec_next(&top, &tag, &d)) {
		if (!kernel && tag != CK_KERNEL)
			return fail(s, -EBADMSG, "the snapshot's objects do not start with the sandbox");
		switch (tag) {
		case CK_KERNEL:
			err = kernel ? fail(s, -EBADMSG, "two sandbox records") : restore_kernel(s, &d);
			kernel = true;
			break;
		case CK_MOBJ: err = restore_mobj(s, &d); break;
		case CK_MM: err = restore_mm(s, &d); break;
		case CK_FILE: err = restore_file(s, &d); break;
		case CK_FDT: err = restore_fdt(s, &d); break;
		case CK_FS: err = restore_fs(s, &d); break;
		case CK_TG: err = restore_tg(s, &d); break;
		case CK_TASK: err = restore_task(s, &d, &regs, &fp); break;
		case CK_EPOLL: err = restore_epoll(s, &d); break;
		case CK_MOUNTS:
		case CK_INODE:
		case CK_DENTRY:
			err = ckpt_fs_restore(s->k, &s->fs, tag, &d, &fs_ops, s->why, s->whylen);
			break;
		default: err = fail(s, -EBADMSG, "an unknown record (tag %u)", tag);
		}
		if (!err && !snap_dec_done(&d))
			err = fail(s, -EBADMSG, "a record (tag %u) with bytes left over", tag);
	}
	if (!err && (snap_dec_err(&top) || !snap_dec_done(&top)))
		err = fail(s, -EBADMSG, "the snapshot's objects are truncated or corrupt");
	if (!err && (!s->tasks.n || s->k->init == s->t0->tg))
		err = fail(s, -EBADMSG, "the snapshot has no tasks");
	if (!err && !ckpt_fs_restored(s->fs))
		err = fail(s, -EBADMSG, "the snapshot has no mount table");
	for (size_t i = 0; !err && i < s->tgs.n; i++) {
		struct k_thread_group *tg = s->tgs.v[i];
		if (!tg->nthreads != tg->zombie)
			err = fail(s, -EBADMSG, tg->zombie ? "a zombie with threads"
							    : "a process without threads");
	}
	return err;
}

/* Undoes what a failed restore made (the boot task stays the caller's). */
static void undo(struct restorer *s)
{
	for (size_t i = 0; i < s->tasks.n; i++) {
		struct k_task *t = s->tasks.v[i];
		pf_ctx_free(t->ctx);
		mm_put(t->mm);
		fdt_put(t->fdt);
		fs_ctx_put(t->fs);
		free(t);
	}
	/* Processes outside the tree first (the record that failed, or all
	 * of them when none became init): none has children. */
	for (size_t i = 0; i < s->tgs.n; i++) {
		struct k_thread_group *tg = s->tgs.v[i];
		if (!tg->parent && tg != s->k->init)
			tg_release(tg);
	}
	if (s->k->init != s->t0->tg) {
		tg_release(s->k->init); /* and the children it holds */
		s->k->init = s->t0->tg;
	}
}

int ckpt_restore(struct k_task *t0, const struct snap_reader *r, int image_fd,
		 uint64_t image_size, char *why, size_t whylen)
{
	struct restorer s = {.k = t0->k, .t0 = t0, .r = r, .why = why, .whylen = whylen,
			     .image_fd = image_fd, .image_size = image_size};
	s.ctx.t0 = t0;
	/* The boot task never ran: its address space, still empty, and its
	 * thread (kept ready by the platform) go to the first restored ones. */
	if (t0->mm && !t0->mm->n) {
		s.boot_mm = t0->mm;
		pf_ctx_free(t0->ctx);
		t0->ctx = NULL;
	}
	why[0] = 0;
	int err = restore_all(&s);
	if (err && !why[0])
		fail(&s, err, "%s", strerror(-err));
	if (err)
		undo(&s);
	/* The tables' own references: what objects hold stays. */
	for (size_t i = 0; i < s.mobjs.n; i++)
		mobj_put(&s.k->mem, s.mobjs.v[i]);
	for (size_t i = 0; i < s.mms.n; i++)
		mm_put(s.mms.v[i]);
	for (size_t i = 0; i < s.files.n; i++)
		file_put(s.files.v[i]);
	for (size_t i = 0; i < s.fdts.n; i++)
		fdt_put(s.fdts.v[i]);
	for (size_t i = 0; i < s.fss.n; i++)
		fs_ctx_put(s.fss.v[i]);
	if (!err) {
		/* Oldest first into the task list, as they were. */
		for (size_t i = 0; i < s.tasks.n; i++)
			k_task_link(s.tasks.v[i]);
		for (size_t i = 0; i < s.tasks.n; i++)
			k_task_start(s.tasks.v[i]);
	}
	ckpt_fs_restore_end(s.fs);
	free(s.mobjs.v), free(s.mms.v), free(s.files.v), free(s.fdts.v), free(s.fss.v);
	free(s.tgs.v), free(s.tasks.v), free(s.ctx.v), free(s.ctx.kind);
	return err;
}
