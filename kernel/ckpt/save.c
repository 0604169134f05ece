/* Checkpoint: the frozen sandbox's objects, encoded as records into the
 * snapshot's object section, and its guest memory (the memory file's
 * pages that objects hold, holes skipped) as the snapshot's memory.
 * Every task is parked at a syscall boundary (ckpt/freeze.c), so its
 * registers say everything about where it is.  What cannot be saved yet
 * fails the checkpoint with a reason naming it; nothing is half-written
 * (the client discards the file). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt.h"

/* Pointers to ids: 1, 2, ... in the order first seen. */
struct idmap {
	const void **p;
	size_t n, cap;
};

static uint32_t id_find(const struct idmap *m, const void *p)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->p[i] == p)
			return (uint32_t)i + 1;
	return 0;
}

/* The id of p, added if new (*fresh says so); 0 without memory. */
static uint32_t id_add(struct idmap *m, const void *p, bool *fresh)
{
	uint32_t id = id_find(m, p);
	*fresh = !id;
	if (id)
		return id;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		const void **n = realloc(m->p, cap * sizeof(*n));
		if (!n)
			return 0;
		m->p = n;
		m->cap = cap;
	}
	m->p[m->n++] = p;
	return (uint32_t)m->n;
}

struct saver {
	struct k_kernel *k;
	struct snap_enc e;
	struct idmap mobjs, mms, files, fdts, fss, tgs;
	struct idmap epolls; /* whose entries are still to be written */
	struct ckpt_ctx ctx;
	/* Memory objects whose pages the snapshot holds, in key order: keys
	 * are compact (each object's place in the sum of those before it),
	 * whatever the objects' offsets; shared: some mapping is MAP_SHARED
	 * (a restore copies it instead of sharing the image). */
	struct memkey {
		struct k_mobj *o;
		uint64_t key;
		bool shared;
	} *mem;
	size_t nmem, memcap;
	char *why;
	size_t whylen;
};

static int refuse(struct saver *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct saver *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->why, s->whylen, fmt, ap);
	va_end(ap);
	return -EOPNOTSUPP;
}

/* A path as the guest names it from the top of the mount tree. */
static void put_path(struct saver *s, const struct k_path *p)
{
	char buf[K_PATH_MAX];
	struct k_path root = vfs_abs_root(s->k);
	if (!p->mnt || !root.mnt || path_name(&root, p, buf, sizeof(buf)) < 0)
		buf[0] = 0;
	snap_put_str(&s->e, buf);
}

static const struct memkey *mem_of(const struct saver *s, const struct k_mobj *o)
{
	for (size_t i = 0; i < s->nmem; i++)
		if (s->mem[i].o == o)
			return &s->mem[i];
	return NULL;
}

static bool is_memory(const struct k_kernel *k, const struct k_mobj *o)
{
	return (o->fd < 0 || o->image) && o != k->vvar && o != k->vdso;
}

static int by_place(const void *a, const void *b)
{
	const struct memkey *x = a, *y = b;
	if (x->o->image != y->o->image)
		return x->o->image ? 1 : -1;
	return x->o->off < y->o->off ? -1 : x->o->off > y->o->off;
}

/* o as memory the snapshot holds (once), shared if any view of it is. */
static int mem_add(struct saver *s, struct k_mobj *o, bool shared)
{
	struct memkey *m = (struct memkey *)mem_of(s, o);
	if (!m) {
		if (s->nmem == s->memcap) {
			size_t cap = s->memcap ? 2 * s->memcap : 64;
			struct memkey *n = realloc(s->mem, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			s->mem = n;
			s->memcap = cap;
		}
		m = &s->mem[s->nmem++];
		*m = (struct memkey){.o = o};
	}
	m->shared |= shared;
	return 0;
}

/* A file's data in a tmpfs: every view of it (read, write, a shared
 * mapping) sees the same pages, so a restore copies them in. */
static int fs_chunk(void *arg, struct k_mobj *o)
{
	return mem_add(arg, o, true);
}

/* Every address space's memory objects and the tmpfs trees' file data,
 * their keys and whether shared. */
static int collect_memory(struct saver *s)
{
	for (struct k_task *t = s->k->tasks; t; t = t->next)
		for (size_t i = 0; i < t->mm->n; i++) {
			struct k_vma *v = &t->mm->v[i];
			int err = v->mobj && is_memory(s->k, v->mobj)
					  ? mem_add(s, v->mobj, (v->flags & VMA_SHARED) != 0)
					  : 0;
			if (err)
				return err;
		}
	int err = ckpt_fs_chunks(s->k, fs_chunk, s);
	if (err)
		return err;
	qsort(s->mem, s->nmem, sizeof(*s->mem), by_place);
	uint64_t key = 0;
	for (size_t i = 0; i < s->nmem; i++) {
		s->mem[i].key = key;
		key += s->mem[i].o->len;
	}
	return 0;
}

static uint32_t save_mobj(struct saver *s, struct k_mobj *o)
{
	bool fresh;
	uint32_t id = id_add(&s->mobjs, o, &fresh);
	if (!id || !fresh)
		return id;
	int kind = o == s->k->vvar ? CKM_VVAR : o == s->k->vdso ? CKM_VDSO
			: o->fd >= 0 && !o->image ? CKM_FILE : CKM_MEM;
	struct snap_enc *e = &s->e;
	snap_rec_begin(e, CK_MOBJ);
	snap_put_u32(e, id);
	snap_put_u8(e, (uint8_t)kind);
	const struct memkey *m = kind == CKM_MEM ? mem_of(s, o) : NULL;
	snap_put_u64(e, m ? m->key : 0);
	snap_put_u64(e, o->len);
	if (kind == CKM_MEM)
		snap_put_u8(e, m && m->shared);
	if (kind == CKM_VDSO)
		snap_put_u64(e, ckpt_vdso_hash(s->k, o));
	if (kind == CKM_FILE) {
		snap_put_str(e, o->src ? o->src : "");
		snap_put_u64(e, o->src_ino);
		snap_put_u64(e, o->src_size);
		snap_put_i64(e, o->src_mtime.tv_sec);
		snap_put_i64(e, o->src_mtime.tv_nsec);
	}
	snap_rec_end(e);
	return id;
}

static uint32_t fs_mobj(void *arg, struct k_mobj *o)
{
	return save_mobj(arg, o);
}

static int save_mm(struct saver *s, struct k_mm *mm, uint32_t *out)
{
	bool fresh;
	uint32_t id = id_add(&s->mms, mm, &fresh);
	if (!id)
		return -ENOMEM;
	*out = id;
	if (!fresh)
		return 0;
	/* Memory objects first: the mm's record names them. */
	for (size_t i = 0; i < mm->n; i++) {
		struct k_mobj *o = mm->v[i].mobj;
		if (o && o->fd >= 0 && !o->image && !o->src)
			return refuse(s, "a mapping at %#llx is of a host file of unknown origin",
				      (unsigned long long)mm->v[i].start);
		if (o && !save_mobj(s, o))
			return -ENOMEM;
	}
	struct snap_enc *e = &s->e;
	snap_rec_begin(e, CK_MM);
	snap_put_u32(e, id);
	const uint64_t fields[] = {mm->mmap_base,  mm->brk_start,  mm->brk_cur,   mm->stack_start,
				   mm->stack_end,  mm->start_code, mm->end_code,  mm->start_data,
				   mm->end_data,   mm->arg_start,  mm->arg_end,   mm->env_start,
				   mm->env_end,    mm->total_vm};
	for (size_t i = 0; i < ARRAY_LEN(fields); i++)
		snap_put_u64(e, fields[i]);
	snap_put_u32(e, (uint32_t)mm->nauxv);
	for (size_t i = 0; i < mm->nauxv; i++)
		snap_put_u64(e, mm->auxv[i]);
	put_path(s, &mm->exe);
	snap_put_u8(e, mm->ut_off);
	snap_put_u32(e, (uint32_t)mm->n);
	for (size_t i = 0; i < mm->n; i++) {
		const struct k_vma *v = &mm->v[i];
		snap_put_u64(e, v->start);
		snap_put_u64(e, v->end);
		snap_put_u32(e, (uint32_t)v->prot);
		snap_put_u32(e, (uint32_t)v->flags);
		snap_put_u32(e, v->mobj ? id_find(&s->mobjs, v->mobj) : 0);
		snap_put_u64(e, v->pgoff);
	}
	snap_rec_end(e);
	return 0;
}

/* A file description's record (once); where says whose it is, for the
 * reason a refusal gives. */
/* A file that opening its path again gives back: a device node; a file
 * or directory of a gofer mount (the host's), or of a tmpfs or an overlay
 * (their trees are saved), while it has that name. */
static bool reopenable(const struct k_file *f)
{
	const struct k_inode *i = f->inode;
	if (!f->path.mnt || !i || (f->flags & O_PATH))
		return false;
	if (S_ISCHR(i->mode))
		return true;
	const char *fs = i->sb->type;
	return (S_ISREG(i->mode) || S_ISDIR(i->mode)) && i->nlink > 0 &&
	       (f->path.d->hashed || !f->path.d->parent) &&
	       (tmpfs_inode_is(i) || !strcmp(fs, "overlay") || !strcmp(fs, "gofer"));
}

/* What a reopened file must be: its inode number where a restore keeps
 * it (a tmpfs's are restored as they were, a gofer file's are the
 * host's), 0 where it cannot tell (an overlay numbers its own anew). */
static uint64_t reopen_ino(const struct k_file *f)
{
	const struct k_inode *i = f->inode;
	return tmpfs_inode_is(i) || !strcmp(i->sb->type, "gofer") ? i->ino : 0;
}

static int save_file(struct saver *s, struct k_file *f, const char *where)
{
	if (id_find(&s->files, f))
		return 0;
	if (f->ops && !f->ops->ckpt_kind && reopenable(f)) {
		bool fresh;
		uint32_t fid = id_add(&s->files, f, &fresh);
		if (!fid)
			return -ENOMEM;
		snap_rec_begin(&s->e, CK_FILE);
		snap_put_u32(&s->e, fid);
		snap_put_u32(&s->e, CKF_PATH);
		snap_put_u32(&s->e, (uint32_t)f->flags);
		snap_put_i64(&s->e, f->pos);
		put_path(s, &f->path);
		snap_put_u64(&s->e, reopen_ino(f));
		snap_rec_end(&s->e);
		return 0;
	}
	if (!f->ops || !f->ops->ckpt_kind || !f->ops->save) {
		char name[K_PATH_MAX];
		struct k_path root = vfs_abs_root(s->k);
		if (!f->path.mnt || !root.mnt || path_name(&root, &f->path, name, sizeof(name)) < 0)
			snprintf(name, sizeof(name), "%s",
				 f->ops && f->ops->anon_name ? f->ops->anon_name : "an anonymous file");
		return refuse(s, "%s (%s) cannot be saved yet", where, name);
	}
	bool fresh;
	uint32_t fid = id_add(&s->files, f, &fresh);
	if (!fid || (file_is_epoll(f) && !id_add(&s->epolls, f, &fresh)))
		return -ENOMEM;
	struct snap_enc *e = &s->e;
	snap_rec_begin(e, CK_FILE);
	snap_put_u32(e, fid);
	snap_put_u32(e, f->ops->ckpt_kind);
	snap_put_u32(e, (uint32_t)f->flags);
	snap_put_i64(e, f->pos);
	s->ctx.why = NULL;
	int err = f->ops->save(f, e, &s->ctx);
	snap_rec_end(e);
	if (err && s->ctx.why)
		return refuse(s, "%s (%s): %s (not saved yet)", where,
			      f->ops->anon_name ? f->ops->anon_name : "a file", s->ctx.why);
	if (err)
		return refuse(s, "%s: its state cannot be saved (%s)", where, strerror(-err));
	return 0;
}

/* Every epoll's entries, once the files they name are saved (which may
 * bring more epolls: the list grows as it is walked). */
static int save_epolls(struct saver *s)
{
	struct k_epoll_entry few[64], *v = few;
	int err = 0;
	for (size_t i = 0; i < s->epolls.n && !err; i++) {
		struct k_file *ep = (struct k_file *)s->epolls.p[i];
		int n = epoll_entries(ep, NULL, 0);
		if (n > (int)ARRAY_LEN(few) && !(v = malloc((size_t)n * sizeof(*v))))
			return -ENOMEM;
		epoll_entries(ep, v, n);
		for (int j = 0; j < n && !err; j++) {
			char where[64];
			snprintf(where, sizeof(where), "a file an epoll watches (fd %d)", v[j].fd);
			err = save_file(s, v[j].file, where);
		}
		struct snap_enc *e = &s->e;
		snap_rec_begin(e, CK_EPOLL);
		snap_put_u32(e, id_find(&s->files, ep));
		snap_put_u32(e, (uint32_t)n);
		/* Oldest first: restore puts each at the front again. */
		for (int j = n - 1; j >= 0; j--) {
			snap_put_u32(e, id_find(&s->files, v[j].file));
			snap_put_u32(e, (uint32_t)v[j].fd);
			snap_put_u32(e, v[j].events);
			snap_put_u64(e, v[j].data);
		}
		snap_rec_end(e);
		if (v != few)
			free(v);
		v = few;
	}
	return err;
}

static int save_fdt(struct saver *s, struct k_task *t, uint32_t *out)
{
	struct k_fdtable *fdt = t->fdt;
	bool fresh;
	uint32_t id = id_add(&s->fdts, fdt, &fresh);
	if (!id)
		return -ENOMEM;
	*out = id;
	if (!fresh)
		return 0;
	for (int fd = 0; fd < fdt->n; fd++) {
		struct k_file *f = fdt->v[fd].f;
		char where[64];
		snprintf(where, sizeof(where), "fd %d of process %d", fd, t->tg->pid);
		int err = f ? save_file(s, f, where) : 0;
		if (err)
			return err;
	}
	struct snap_enc *e = &s->e;
	snap_rec_begin(e, CK_FDT);
	snap_put_u32(e, id);
	uint32_t n = 0;
	for (int fd = 0; fd < fdt->n; fd++)
		n += fdt->v[fd].f != NULL;
	snap_put_u32(e, n);
	for (int fd = 0; fd < fdt->n; fd++) {
		if (!fdt->v[fd].f)
			continue;
		snap_put_u32(e, (uint32_t)fd);
		snap_put_u32(e, id_find(&s->files, fdt->v[fd].f));
		snap_put_u8(e, fdt->v[fd].cloexec);
	}
	snap_rec_end(e);
	return 0;
}

static int save_fs(struct saver *s, struct k_fs_ctx *fs, uint32_t *out)
{
	bool fresh;
	uint32_t id = id_add(&s->fss, fs, &fresh);
	if (!id)
		return -ENOMEM;
	*out = id;
	if (!fresh)
		return 0;
	char probe[K_PATH_MAX];
	struct k_path top = vfs_abs_root(s->k);
	if (!top.mnt || path_name(&top, &fs->root, probe, sizeof(probe)) < 0 || probe[0] != '/')
		return refuse(s, "a process's root cannot be named (a deleted directory?)");
	snap_rec_begin(&s->e, CK_FS);
	snap_put_u32(&s->e, id);
	put_path(s, &fs->root);
	put_path(s, &fs->cwd);
	snap_put_u32(&s->e, fs->umask);
	snap_rec_end(&s->e);
	return 0;
}

static void put_siginfo(struct snap_enc *e, uint64_t pending, const siginfo_t *si)
{
	for (int sig = 1; sig <= K_NSIG; sig++)
		if (pending & SIGBIT(sig))
			snap_put_bytes(e, &si[sig], sizeof(si[sig]));
}

static int save_tg(struct saver *s, struct k_thread_group *tg)
{
	bool fresh;
	if (!id_add(&s->tgs, tg, &fresh))
		return -ENOMEM;
	if (!fresh)
		return 0;
	if (tg->parent && !id_find(&s->tgs, tg->parent)) {
		int err = save_tg(s, tg->parent); /* parents first */
		if (err)
			return err;
	}
	/* A zombie is what its parent's wait will read: its status and times. */
	if (!tg->zombie && (tg->stopped || tg->execing || tg->exiting))
		return refuse(s, "process %d is stopped, exiting or in execve", tg->pid);
	if (tg->sem_undo || tg->rtq)
		return refuse(s, "process %d has semaphore undos or queued real-time signals "
				 "(not saved yet)", tg->pid);
	struct snap_enc *e = &s->e;
	snap_rec_begin(e, CK_TG);
	snap_put_u32(e, (uint32_t)tg->pid);
	snap_put_u32(e, (uint32_t)tg->pgid);
	snap_put_u32(e, (uint32_t)tg->sid);
	snap_put_u32(e, tg->parent ? (uint32_t)tg->parent->pid : 0);
	snap_put_u32(e, (uint32_t)tg->exit_signal);
	for (int sig = 1; sig <= K_NSIG; sig++) {
		snap_put_u64(e, tg->act[sig].handler);
		snap_put_u64(e, tg->act[sig].flags);
		snap_put_u64(e, tg->act[sig].restorer);
		snap_put_u64(e, tg->act[sig].mask);
	}
	snap_put_u64(e, tg->pending);
	put_siginfo(e, tg->pending, tg->siginfo);
	for (int r = 0; r < RLIM_NLIMITS; r++) {
		snap_put_u64(e, tg->rlim[r].rlim_cur);
		snap_put_u64(e, tg->rlim[r].rlim_max);
	}
	const uint32_t ids[] = {tg->uid, tg->euid, tg->suid, tg->fsuid,
				tg->gid, tg->egid, tg->sgid, tg->fsgid};
	for (size_t i = 0; i < ARRAY_LEN(ids); i++)
		snap_put_u32(e, ids[i]);
	snap_put_u32(e, (uint32_t)tg->ngroups);
	for (int i = 0; i < tg->ngroups; i++)
		snap_put_u32(e, tg->groups[i]);
	snap_put_u64(e, tg->cap_effective);
	snap_put_u64(e, tg->cap_permitted);
	snap_put_u64(e, tg->cap_inheritable);
	snap_put_u32(e, (uint32_t)tg->dumpable);
	uint64_t cpu = tg->threads ? tg_cputime(tg->threads) : tg->cpu_base;
	int64_t used = cpu >= tg->cpu_sampled ? (int64_t)(cpu - tg->cpu_sampled) : 0;
	for (int i = 0; i < 3; i++) {
		/* ITIMER_REAL's deadline as the guest's clock reads it; the
		 * others' CPU time left. */
		int64_t v = tg->itimer[i].value;
		if (v && i == ITIMER_REAL)
			v = k_clock_to_guest(CLOCK_MONOTONIC, v);
		else if (v)
			v = v - used > 0 ? v - used : 1;
		snap_put_i64(e, v);
		snap_put_i64(e, tg->itimer[i].interval);
	}
	snap_put_u32(e, (uint32_t)tg->next_timer_id);
	snap_put_u32(e, (uint32_t)tg->sched_policy);
	snap_put_u32(e, (uint32_t)tg->sched_priority);
	snap_put_u32(e, (uint32_t)tg->nice);
	snap_put_u64(e, cpu);
	snap_put_u64(e, tg->cpu_children);
	snap_put_u8(e, tg->execed);
	ptimers_save(tg, cpu, e);
	snap_put_u8(e, tg->zombie);
	snap_put_u32(e, (uint32_t)tg->exit_code);
	snap_put_u32(e, (uint32_t)tg->exit_status);
	snap_rec_end(e);
	return 0;
}

/* Children not yet reaped, after every live process (which they are
 * children of: each saved one's, as the list grows). */
static int save_zombies(struct saver *s)
{
	int err = 0;
	for (size_t i = 0; i < s->tgs.n && !err; i++) {
		const struct k_thread_group *tg = s->tgs.p[i];
		for (struct k_thread_group *c = tg->children; c && !err; c = c->sibling)
			if (c->zombie)
				err = save_tg(s, c);
	}
	return err;
}

static int save_task(struct saver *s, struct k_task *t)
{
	if (t->rtq || t->vfork_parent || t->vfork_child)
		return refuse(s, "thread %d has queued real-time signals or is in vfork", t->tid);
	if (t->in_syscall || !t->frozen)
		return refuse(s, "thread %d is not at a syscall boundary", t->tid);
	uint32_t mm, fdt, fs;
	int err;
	if ((err = save_mm(s, t->mm, &mm)) || (err = save_fdt(s, t, &fdt)) ||
	    (err = save_fs(s, t->fs, &fs)) || (err = save_tg(s, t->tg)))
		return err;
	pf_fpregs fp;
	if ((err = pf_ctx_get_fpregs(t->ctx, &fp)))
		return refuse(s, "thread %d: its FPU state cannot be read (%s)", t->tid,
			      strerror(-err));
	/* A call to resume with restart_syscall: its state (the time left)
	 * is not saved, so the restored task makes the call again. */
	pf_regs regs = t->regs;
	if (regs.rax == SYS_restart_syscall && t->syscall_nr != SYS_restart_syscall)
		regs.rax = t->syscall_nr;
	struct snap_enc *e = &s->e;
	snap_rec_begin(e, CK_TASK);
	snap_put_u32(e, (uint32_t)t->tid);
	snap_put_u32(e, (uint32_t)t->tg->pid);
	snap_put_u32(e, mm);
	snap_put_u32(e, fdt);
	snap_put_u32(e, fs);
	snap_put_bytes(e, &regs, sizeof(regs));
	snap_put_bytes(e, &fp, sizeof(fp));
	snap_put_u64(e, t->sigmask);
	snap_put_u64(e, t->saved_sigmask);
	snap_put_u8(e, t->has_saved_sigmask);
	snap_put_u64(e, t->pending);
	put_siginfo(e, t->pending, t->siginfo);
	snap_put_u64(e, t->clear_child_tid);
	snap_put_u64(e, t->robust_list);
	snap_put_u64(e, t->robust_len);
	snap_put_u64(e, t->sas_sp);
	snap_put_u64(e, t->sas_size);
	snap_put_u32(e, (uint32_t)t->sas_flags);
	snap_put_bytes(e, t->comm, sizeof(t->comm));
	snap_put_u32(e, (uint32_t)t->pdeathsig);
	snap_put_u32(e, (uint32_t)t->keepcaps);
	snap_put_u8(e, t->no_new_privs);
	snap_rec_end(e);
	return 0;
}

/* The memory file's pages the saved objects hold, data only: holes (never
 * touched, or given back) cost nothing. */
static int save_memory(struct saver *s, struct snap_writer *w, uint64_t *bytes)
{
	struct k_memfile *mf = &s->k->mem;
	int err = 0;
	*bytes = 0;
	for (size_t i = 0; i < s->nmem && !err; i++) {
		/* The object's bytes are in the memory file, or in an image file
		 * (its own view of them): data only, holes skipped; each at its
		 * key plus its offset within the object. */
		struct k_mobj *o = s->mem[i].o;
		int fd = o->image ? o->fd : mf->fd;
		uint64_t at = o->off, end = o->off + o->len;
		while (at < end && !err) {
			off_t d = lseek(fd, (off_t)at, SEEK_DATA);
			if (d < 0 || (uint64_t)d >= end)
				break; /* the rest is a hole */
			off_t h = lseek(fd, d, SEEK_HOLE);
			uint64_t stop = h < 0 || (uint64_t)h > end ? end : (uint64_t)h;
			uint64_t from = (uint64_t)d & PAGE_MASK, to = PAGE_UP(stop);
			if (to > end)
				to = end;
			const uint8_t *src = o->image ? o->host + (from - o->off) : mf->base + from;
			err = snap_writer_memory(w, s->mem[i].key + (from - o->off), src, to - from);
			*bytes += to - from;
			at = to;
		}
	}
	return err;
}

int ckpt_save(struct k_kernel *k, int fd, bool compress, struct snap_write_stats *st,
	      char *why, size_t whylen)
{
	struct saver s = {.k = k, .why = why, .whylen = whylen};
	snap_enc_init(&s.e);
	snprintf(why, whylen, "out of memory");
	snap_rec_begin(&s.e, CK_KERNEL);
	snap_put_u32(&s.e, CK_VERSION);
	snap_put_str(&s.e, pf_name());
	snap_put_u32(&s.e, (uint32_t)k->last_pid);
	/* The guest's monotonic clock: at its boot, and now (a restore's goes
	 * on from here). */
	snap_put_u64(&s.e, k->boot_ns);
	snap_put_i64(&s.e, k_clock_to_guest(CLOCK_MONOTONIC, k_clock_ns(CLOCK_MONOTONIC)));
	snap_rec_end(&s.e);
	int err = collect_memory(&s);
	if (!err && (shm_count() || sem_count()))
		err = refuse(&s, "SysV shared memory segments or semaphore sets exist (not saved "
				 "yet)");
	/* Filesystem contents next: files (and mappings) refer to them. */
	struct ckpt_fs_save_ops fs_ops = {fs_mobj, &s};
	if (!err)
		err = ckpt_fs_save(k, &s.e, &fs_ops, why, whylen);
	/* Thread groups in the order of their first thread (parents pulled
	 * ahead), tasks oldest first: restore makes them in this order. */
	struct k_task *last = k->tasks;
	while (last && last->next)
		last = last->next;
	for (struct k_task *t = last; t && !err; t = t->prev)
		err = save_task(&s, t);
	if (!err)
		err = save_zombies(&s);
	if (!err)
		err = save_epolls(&s);
	const void *obj;
	size_t objlen;
	if (!err && (err = snap_enc_result(&s.e, &obj, &objlen)))
		snprintf(why, whylen, "cannot encode the sandbox: %s", strerror(-err));
	struct snap_writer *w = NULL;
	struct snap_write_opts o = {.compress = compress ? SNAP_COMPRESS_LZ4 : SNAP_COMPRESS_NONE};
	uint64_t bytes = 0;
	if (!err && (err = snap_writer_open_fd(fd, &o, &w)))
		snprintf(why, whylen, "cannot start the snapshot: %s", strerror(-err));
	if (!err && (err = snap_writer_section(w, SNAP_SEC_OBJECTS, obj, objlen)))
		snprintf(why, whylen, "cannot write the snapshot: %s", strerror(-err));
	if (!err && (err = save_memory(&s, w, &bytes)))
		snprintf(why, whylen, "cannot write guest memory: %s", strerror(-err));
	if (!err) {
		err = snap_writer_finish(w, st);
		w = NULL;
		if (err)
			snprintf(why, whylen, "cannot finish the snapshot: %s", strerror(-err));
	}
	snap_writer_abort(w);
	snap_enc_free(&s.e);
	free(s.mobjs.p), free(s.mms.p), free(s.files.p), free(s.fdts.p), free(s.fss.p);
	free(s.tgs.p), free(s.epolls.p), free(s.ctx.v), free(s.ctx.kind), free(s.mem);
	if (!err)
		why[0] = 0;
	return err;
}
