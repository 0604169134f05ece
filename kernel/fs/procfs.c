/* /proc: the processes (one directory per pid, generated from the task
 * list), /proc/self, and the system files programs and runtimes read
 * (cpuinfo, meminfo, stat, uptime, mounts, /proc/sys).  Linux's formats,
 * field for field (fs/proc/).  What comes from the host (the CPU model) is
 * read once, when the filesystem is made: the sentry may open no host file
 * later.  The engine here (a tree of static entries plus generated
 * directories) serves sysfs.c too. */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procfs.h"

#define DYN_BASE ((int64_t)1 << 16) /* getdents cookies of generated entries */
#define USER_HZ 100
#define CAP_LAST_CAP 40
#define CAP_FULL ((1ULL << (CAP_LAST_CAP + 1)) - 1)
#define OOM_SCORE_ADJ_MAX 1000

/* ======================= text buffers ======================= */

static bool pb_reserve(struct pbuf *b, size_t more)
{
	if (b->trunc)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t want = b->len + more + 1;
	if (want > PFS_MAX_FILE + 1)
		want = PFS_MAX_FILE + 1;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < want)
		cap *= 2;
	if (cap > PFS_MAX_FILE + 1)
		cap = PFS_MAX_FILE + 1;
	if (cap > b->cap) {
		char *p = realloc(b->p, cap);
		if (!p) {
			b->trunc = true;
			return false;
		}
		b->p = p;
		b->cap = cap;
	}
	return b->len + more + 1 <= b->cap;
}

void pb_put(struct pbuf *b, const void *s, size_t n)
{
	if (!pb_reserve(b, n)) {
		/* What still fits, then nothing more. */
		if (b->cap > b->len + 1) {
			size_t room = b->cap - b->len - 1;
			memcpy(b->p + b->len, s, room < n ? room : n);
			b->len += room < n ? room : n;
		}
		b->trunc = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void pb_puts(struct pbuf *b, const char *s)
{
	pb_put(b, s, strlen(s));
}

void pb_printf(struct pbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		pb_put(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->trunc = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	pb_put(b, big, (size_t)n);
	free(big);
}

bool pfs_cpu_present(const struct k_kernel *k, unsigned cpu)
{
	if (cpu >= k->nr_cpu_ids || cpu / 8 >= k->cpumask_bytes || cpu / 8 >= sizeof(k->cpumask))
		return false;
	return (k->cpumask[cpu / 8] >> (cpu % 8)) & 1;
}

unsigned pfs_ncpus(const struct k_kernel *k)
{
	unsigned n = 0;
	for (unsigned i = 0; i < k->nr_cpu_ids && i < 8 * sizeof(k->cpumask); i++)
		n += pfs_cpu_present(k, i);
	return n ? n : 1;
}

void pb_cpulist(struct pbuf *b, const struct k_kernel *k)
{
	bool first = true;
	unsigned lim = k->nr_cpu_ids < 8 * sizeof(k->cpumask) ? k->nr_cpu_ids
							     : 8 * sizeof(k->cpumask);
	for (unsigned i = 0; i < lim; i++) {
		if (!pfs_cpu_present(k, i))
			continue;
		unsigned j = i;
		while (j + 1 < lim && pfs_cpu_present(k, j + 1))
			j++;
		if (j == i)
			pb_printf(b, "%s%u", first ? "" : ",", i);
		else
			pb_printf(b, "%s%u-%u", first ? "" : ",", i, j);
		first = false;
		i = j;
	}
	if (first)
		pb_puts(b, "0");
}

/* Linux's "%*pb": 32-bit hex chunks, most significant first. */
static void pb_cpumask_hex(struct pbuf *b, const struct k_kernel *k)
{
	unsigned nbits = k->nr_cpu_ids ? k->nr_cpu_ids : 1;
	if (nbits > 8 * sizeof(k->cpumask))
		nbits = 8 * sizeof(k->cpumask);
	unsigned chunk = nbits % 32 ? nbits % 32 : 32;
	bool first = true;
	for (int i = (int)((nbits + 31) / 32 * 32) - 32; i >= 0; i -= 32) {
		uint32_t v = 0;
		for (unsigned bit = 0; bit < chunk; bit++)
			if (pfs_cpu_present(k, (unsigned)i + bit))
				v |= 1u << bit;
		pb_printf(b, "%s%0*x", first ? "" : ",", (int)((chunk + 3) / 4), v);
		first = false;
		chunk = 32;
	}
}

bool pfs_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	if (!*s || (s[0] == '0' && s[1]))
		return false;
	unsigned long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int pfs_gen_text(struct pfs_ctx *c, struct pbuf *b)
{
	pb_puts(b, c->n->ent->text);
	return 0;
}

/* ======================= the engine ======================= */

static const struct k_inode_ops pfs_iops;
static void pfs_refresh(struct k_inode *ino);

struct pfs_file {
	char *buf;
	size_t len;
	bool fresh; /* generated at open, not read yet */
};

static uint64_t child_ino(uint64_t dir, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ (dir * 0x9e3779b97f4a7c15ULL);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	/* 32 bits, as Linux's proc inode numbers are; 1 is the root's. */
	h = (h ^ (h >> 32)) & 0xffffffffULL;
	return h < 2 ? h + 2 : h;
}

/* The sandbox's tasks.  There is one; with processes these walk the
 * kernel's task list (thread group leaders by pid, threads by tid). */
static struct k_task *task_find(struct pfs_sb *ps, int pid, int tid)
{
	struct k_task *t = ps->task;
	if (!t || !t->tg || t->tg->pid != pid)
		return NULL;
	if (tid && t->tid != tid)
		return NULL;
	return t;
}

/* The thread group leader with the smallest pid >= min. */
static struct k_task *task_next_pid(struct pfs_sb *ps, int64_t min)
{
	struct k_task *t = ps->task;
	return t && t->tg && t->tg->pid >= min ? t : NULL;
}

/* The thread of pid with the smallest tid >= min. */
static struct k_task *task_next_tid(struct pfs_sb *ps, int pid, int64_t min)
{
	struct k_task *t = ps->task;
	return t && t->tg && t->tg->pid == pid && t->tid >= min ? t : NULL;
}

/* The task that /proc/self names: the caller.  There is no notion of the
 * calling task below the syscall layer yet; with one task it is that one. */
static struct k_task *task_current(struct pfs_sb *ps)
{
	return ps->task;
}

static int ctx_of(struct k_inode *ino, struct pfs_ctx *c)
{
	c->ps = ino->sb->priv;
	c->n = ino->priv;
	if (c->n->pid) {
		c->t = task_find(c->ps, c->n->pid, c->n->tid);
		return c->t ? 0 : -ENOENT;
	}
	c->t = task_current(c->ps);
	return 0;
}

static unsigned subdirs(const struct pfs_ent *e)
{
	unsigned n = 0;
	for (const struct pfs_ent *k = e->kids; k && k->name; k++)
		n += S_ISDIR(k->mode);
	return n;
}

static struct k_inode *make_inode(struct k_super *sb, const struct pfs_node *n, uint64_t nr)
{
	struct pfs_sb *ps = sb->priv;
	struct pfs_ctx c = {ps, n, NULL};
	if (n->pid)
		c.t = task_find(ps, n->pid, n->tid);
	else
		c.t = task_current(ps);
	const struct pfs_ent *e = n->ent;
	uint32_t mode = e->modefn && c.t ? e->modefn(&c) : e->mode;
	struct k_inode *ino = inode_new(sb, &pfs_iops, mode);
	if (!ino)
		return NULL;
	struct pfs_node *copy = malloc(sizeof(*copy));
	if (!copy) {
		ino->ops = NULL;
		inode_put(ino);
		return NULL;
	}
	*copy = *n;
	ino->priv = copy;
	ino->ino = nr;
	if (n->pid && c.t) {
		ino->uid = c.t->tg->euid;
		ino->gid = c.t->tg->egid;
	}
	if (S_ISDIR(mode))
		ino->nlink = 2 + subdirs(e);
	else if (S_ISREG(mode))
		ino->size = ps->reg_size;
	else if (e->flags & PFS_SIZE64)
		ino->size = 64;
	return ino;
}

/* The node name stands for in dir, without making an inode. */
static int resolve(struct k_inode *dir, const char *name, struct pfs_node *out)
{
	struct pfs_ctx c;
	int err = ctx_of(dir, &c);
	if (err)
		return err;
	const struct pfs_ent *e = c.n->ent;
	if (!S_ISDIR(e->mode))
		return -ENOTDIR;
	for (const struct pfs_ent *k = e->kids; k && k->name; k++) {
		if (strcmp(k->name, name) == 0) {
			*out = (struct pfs_node){k, c.n->pid, c.n->tid, -1, dir->ino};
			return 0;
		}
	}
	if (e->dlookup) {
		err = e->dlookup(&c, name, out);
		out->parent_ino = dir->ino;
		return err;
	}
	return -ENOENT;
}

static int pfs_lookup(struct k_inode *dir, const char *name, struct k_inode **out)
{
	struct pfs_node n;
	int err = resolve(dir, name, &n);
	if (err)
		return err;
	*out = make_inode(dir->sb, &n, child_ino(dir->ino, name));
	return *out ? 0 : -ENOMEM;
}

bool procfs_revalidate(struct k_inode *dir, const char *name, struct k_inode *cached)
{
	if (dir->ops != &pfs_iops)
		return true;
	struct pfs_node n;
	if (resolve(dir, name, &n))
		return cached == NULL;
	if (!cached || cached->ops != &pfs_iops)
		return false;
	const struct pfs_node *o = cached->priv;
	if (o->ent != n.ent || o->pid != n.pid || o->tid != n.tid || o->fd != n.fd)
		return false;
	pfs_refresh(cached);
	return true;
}

int procfs_get_link(struct k_inode *ino, struct k_path *path, struct k_file **file)
{
	*path = (struct k_path){0};
	*file = NULL;
	if (ino->ops != &pfs_iops)
		return -EINVAL;
	const struct pfs_node *n = ino->priv;
	if (!n->ent->getlink)
		return -EINVAL;
	struct pfs_ctx c;
	int err = ctx_of(ino, &c);
	if (err)
		return err;
	return n->ent->getlink(&c, path, file);
}

static int pfs_iterate(struct k_inode *dir, int64_t *pos, k_dirent_fn emit, void *ctx)
{
	struct pfs_ctx c;
	int err = ctx_of(dir, &c);
	if (err)
		return err;
	const struct pfs_ent *e = c.n->ent;
	if (*pos < 0)
		return 0;
	if (*pos == 0) {
		if (emit(ctx, ".", 1, dir->ino, DT_DIR, 1))
			return 0;
		*pos = 1;
	}
	if (*pos == 1) {
		if (emit(ctx, "..", 2, c.n->parent_ino, DT_DIR, 2))
			return 0;
		*pos = 2;
	}
	if (*pos < DYN_BASE) {
		int64_t i = 0;
		for (const struct pfs_ent *k = e->kids; k && k->name; k++, i++) {
			if (2 + i < *pos)
				continue;
			if (emit(ctx, k->name, strlen(k->name), child_ino(dir->ino, k->name),
				 IFTODT(k->mode), 2 + i + 1))
				return 0;
			*pos = 2 + i + 1;
		}
		*pos = DYN_BASE;
	}
	if (!e->dnext)
		return 0;
	struct pfs_dent d;
	while (*pos - DYN_BASE <= INT_MAX && e->dnext(&c, *pos - DYN_BASE, &d)) {
		if (d.key < *pos - DYN_BASE || d.key > INT_MAX)
			break; /* a generator that went backwards: stop, not loop */
		if (emit(ctx, d.name, strlen(d.name), child_ino(dir->ino, d.name),
			 IFTODT(d.node.ent->mode), DYN_BASE + d.key + 1))
			return 0;
		*pos = DYN_BASE + d.key + 1;
	}
	return 0;
}

static int pfs_readlink(struct k_inode *ino, char *buf, size_t size)
{
	struct pfs_ctx c;
	int err = ctx_of(ino, &c);
	if (err)
		return err;
	if (!c.n->ent->readlink)
		return -EINVAL;
	char *tmp = malloc(K_PATH_MAX);
	if (!tmp)
		return -ENOMEM;
	int n = c.n->ent->readlink(&c, tmp, K_PATH_MAX);
	if (n >= 0) {
		if ((size_t)n > size)
			n = (int)size;
		memcpy(buf, tmp, (size_t)n);
	}
	free(tmp);
	return n;
}

static void pfs_evict(struct k_inode *ino)
{
	free(ino->priv);
}

/* Attributes that follow the task and the fd: shown as they are now. */
static void pfs_refresh(struct k_inode *ino)
{
	struct pfs_ctx c;
	if (ctx_of(ino, &c) || !c.n->pid)
		return;
	ino->uid = c.t->tg->euid;
	ino->gid = c.t->tg->egid;
	if (c.n->ent->modefn)
		ino->mode = c.n->ent->modefn(&c);
}

static int pfs_statfs(struct k_inode *ino, struct statfs *st)
{
	memset(st, 0, sizeof(*st));
	st->f_type = ino->sb->magic;
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	st->f_namelen = K_NAME_MAX;
	return 0;
}

/* ---- open files ---- */

static int generate(struct pfs_ctx *c, struct pfs_file *pf)
{
	const struct pfs_ent *e = c->n->ent;
	struct pbuf b = {0};
	int err = 0;
	if (e->gen)
		err = e->gen(c, &b);
	else if (e->text)
		pb_puts(&b, e->text);
	if (err) {
		free(b.p);
		return err;
	}
	free(pf->buf);
	pf->buf = b.p;
	pf->len = b.len;
	return 0;
}

static ssize_t pfs_read(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	struct pfs_file *pf = f->priv;
	int64_t *p = pos ? pos : &f->pos;
	int64_t at = *p;
	const struct pfs_node *node = f->inode->priv;
	if (at == 0 && !pf->fresh) {
		/* Reading from the start again shows the state now. */
		struct pfs_ctx c;
		int err = ctx_of(f->inode, &c);
		if (err)
			return -ESRCH;
		if ((err = generate(&c, pf)))
			return err;
	}
	pf->fresh = false;
	if (at < 0 || (uint64_t)at >= pf->len)
		return 0;
	if ((node->ent->flags & PFS_INTVAL) && at > 0)
		return 0;
	size_t done = 0;
	for (int i = 0; i < n && (uint64_t)at + done < pf->len; i++) {
		size_t left = pf->len - (size_t)at - done;
		size_t take = iov[i].iov_len < left ? iov[i].iov_len : left;
		if (take)
			memcpy(iov[i].iov_base, pf->buf + at + done, take);
		done += take;
		if (take < iov[i].iov_len)
			break;
	}
	*p = at + (int64_t)done;
	return (ssize_t)done;
}

static ssize_t pfs_write(struct k_file *f, const struct iovec *iov, int n, int64_t *pos)
{
	(void)pos; /* Linux's writable proc files ignore the offset */
	struct pfs_ctx c;
	if (ctx_of(f->inode, &c))
		return -ESRCH;
	struct pfs_file *pf = f->priv;
	pf->fresh = false; /* the next read from 0 shows what was written */
	char buf[PAGE_SIZE];
	size_t len = 0, count = 0;
	for (int i = 0; i < n; i++) {
		size_t take = iov[i].iov_len < sizeof(buf) - len ? iov[i].iov_len : sizeof(buf) - len;
		if (take) /* a zero-length iovec may have no base */
			memcpy(buf + len, iov[i].iov_base, take);
		len += take;
		count += iov[i].iov_len;
	}
	return c.n->ent->write(&c, buf, len, count);
}

static int64_t pfs_seek(struct k_file *f, int64_t off, int whence)
{
	const struct pfs_node *node = f->inode->priv;
	int64_t at;
	switch (whence) {
	case SEEK_SET:
		at = off;
		break;
	case SEEK_CUR:
		if (__builtin_add_overflow(f->pos, off, &at))
			return -EINVAL;
		break;
	case SEEK_END:
		/* sysctl files seek as files of size 0; seq files refuse. */
		if (!(node->ent->flags & PFS_RO_OPEN))
			return -EINVAL;
		at = off;
		break;
	default:
		return -EINVAL;
	}
	if (at < 0)
		return -EINVAL;
	f->pos = at;
	return at;
}

static bool pfs_at_eof(struct k_file *f)
{
	struct pfs_file *pf = f->priv;
	/* At 0 a read would generate the file anew: not known to be empty. */
	return (pf->fresh || f->pos > 0) && (uint64_t)f->pos >= pf->len;
}

static int pfs_stat(struct k_file *f, struct stat *st)
{
	inode_stat(f->inode, st);
	return 0;
}

static void pfs_release(struct k_file *f)
{
	struct pfs_file *pf = f->priv;
	if (pf) {
		free(pf->buf);
		free(pf);
	}
	f->priv = NULL;
}

static const struct k_file_ops pfs_ro_fops = {
	.read = pfs_read,
	.seek = pfs_seek,
	.stat = pfs_stat,
	.at_eof = pfs_at_eof,
	.release = pfs_release,
};

static const struct k_file_ops pfs_rw_fops = {
	.read = pfs_read,
	.write = pfs_write,
	.seek = pfs_seek,
	.stat = pfs_stat,
	.at_eof = pfs_at_eof,
	.release = pfs_release,
};

static const struct k_file_ops pfs_dir_fops = {
	.seek = vfs_dir_seek,
	.stat = pfs_stat,
};

static int pfs_open(struct k_inode *ino, struct k_file *f)
{
	struct pfs_ctx c;
	int err = ctx_of(ino, &c);
	if (err)
		return err;
	const struct pfs_ent *e = c.n->ent;
	if (S_ISDIR(ino->mode)) {
		f->ops = &pfs_dir_fops;
		return 0;
	}
	if (!S_ISREG(ino->mode))
		return -ENXIO;
	int acc = f->flags & O_ACCMODE;
	bool rd = acc == O_RDONLY || acc == O_RDWR, wr = acc == O_WRONLY || acc == O_RDWR;
	if (wr && !e->write && (e->flags & PFS_RO_OPEN))
		return -EACCES;
	struct pfs_file *pf = calloc(1, sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	if (rd) {
		if ((err = generate(&c, pf))) {
			free(pf);
			return err;
		}
		pf->fresh = true;
	}
	f->priv = pf;
	f->ops = e->write ? &pfs_rw_fops : &pfs_ro_fops;
	return 0;
}

static const struct k_inode_ops pfs_iops = {
	.lookup = pfs_lookup,
	.iterate = pfs_iterate,
	.readlink = pfs_readlink,
	.open = pfs_open,
	.statfs = pfs_statfs,
	.refresh = pfs_refresh,
	.evict = pfs_evict,
};

static void put_priv(void *priv)
{
	pfs_sb_free(priv);
}

void pfs_sb_free(struct pfs_sb *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->ncpu_block; i++)
		free(ps->cpu_block[i]);
	free(ps->cpu_block);
	free(ps);
}

int pfs_new(struct pfs_sb *ps, const char *type, long magic, struct k_super **sbp,
	    struct k_inode **rootp)
{
	struct k_super *sb = super_new(type, magic);
	if (!sb) {
		pfs_sb_free(ps);
		return -ENOMEM;
	}
	sb->priv = ps;
	sb->put_priv = put_priv;
	struct pfs_node n = {ps->root, 0, 0, -1, 1};
	struct k_inode *root = make_inode(sb, &n, 1);
	if (!root) {
		super_put(sb);
		return -ENOMEM;
	}
	*sbp = sb;
	*rootp = root;
	return 0;
}

/* ======================= helpers for /proc ======================= */

/* The root a task's paths are named from: its own, or the absolute one. */
static struct k_path task_root(struct pfs_ctx *c)
{
	if (c->t && c->t->fs)
		return c->t->fs->root;
	for (struct k_mount *m = c->ps->k->mounts; m; m = m->next)
		if (!m->parent)
			return (struct k_path){m, m->root};
	return (struct k_path){0};
}

/* Whether p's dentries lead up to an absolute root (an O_TMPFILE file's
 * do not: path_name must not be asked to name it). */
static bool path_attached(const struct k_path *p)
{
	struct k_mount *m = p->mnt;
	struct k_dentry *d = p->d;
	for (int guard = 0; m && d && guard < 1 << 20; guard++) {
		if (d == m->root) {
			if (!m->parent)
				return true;
			d = m->mountpoint;
			m = m->parent;
			continue;
		}
		d = d->parent;
	}
	return false;
}

/* A path's name as /proc shows it: from the task's root, " (deleted)"
 * after a removed name.  path_name marks removed files (nlink 0); a
 * removed directory, or a name removed while the file has others, is
 * marked here (its dentry is no longer hashed), as Linux's d_path does. */
static int show_path(struct pfs_ctx *c, const struct k_path *p, char *buf, size_t size)
{
	struct k_path root = task_root(c);
	if (!root.mnt)
		return -ENOENT;
	int n = path_name(&root, p, buf, size);
	if (n < 0)
		return n;
	struct k_inode *ino = p->d->inode;
	bool marked = ino && ino->nlink == 0 && !S_ISDIR(ino->mode);
	if (p->d->parent && !p->d->hashed && !marked) {
		const char del[] = " (deleted)";
		if ((size_t)n + sizeof(del) > size)
			return -ENAMETOOLONG;
		memcpy(buf + n, del, sizeof(del));
		n += (int)sizeof(del) - 1;
	}
	return n;
}

/* Mounts, oldest first (the order /proc/mounts lists them in); the caller
 * frees the array. */
static struct k_mount **mount_list(struct k_kernel *k, size_t *count)
{
	size_t n = 0;
	for (struct k_mount *m = k->mounts; m; m = m->next)
		n++;
	*count = n;
	struct k_mount **v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return NULL;
	size_t i = n;
	for (struct k_mount *m = k->mounts; m; m = m->next)
		v[--i] = m;
	return v;
}

/* A mount's id: its place in mount order (the mount has no id of its own
 * yet), counted as Linux's first user-visible ids are. */
#define MNT_ID_BASE 20
static int mount_id(struct k_kernel *k, const struct k_mount *want)
{
	size_t n = 0, pos = 0;
	bool found = false;
	for (struct k_mount *m = k->mounts; m; m = m->next, n++)
		if (m == want) {
			pos = n;
			found = true;
		}
	return found ? MNT_ID_BASE + (int)(n - 1 - pos) : 0;
}

/* Linux's mangle(): space, tab, newline and backslash as octal escapes. */
static void pb_mangled(struct pbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\')
			pb_printf(b, "\\%03o", (unsigned char)*s);
		else
			pb_put(b, s, 1);
	}
}

static void pb_mount_opts(struct pbuf *b, int flags)
{
	pb_puts(b, flags & MS_RDONLY ? "ro" : "rw");
	if (flags & MS_NOSUID)
		pb_puts(b, ",nosuid");
	if (flags & MS_NODEV)
		pb_puts(b, ",nodev");
	if (flags & MS_NOEXEC)
		pb_puts(b, ",noexec");
	if (flags & MS_NOATIME)
		pb_puts(b, ",noatime");
	else if (!(flags & MS_STRICTATIME))
		pb_puts(b, ",relatime");
}

/* The name of a mount's root inside its own filesystem ("/" but for bind
 * mounts of a subdirectory). */
static void pb_mount_root(struct pbuf *b, const struct k_mount *m)
{
	const char *parts[64];
	int n = 0;
	for (struct k_dentry *d = m->root; d && d->parent && n < (int)ARRAY_LEN(parts); d = d->parent)
		parts[n++] = d->name;
	if (!n)
		pb_puts(b, "/");
	for (int i = n - 1; i >= 0; i--) {
		pb_puts(b, "/");
		pb_mangled(b, parts[i]);
	}
}

static int gen_mounts(struct pfs_ctx *c, struct pbuf *b, bool info)
{
	size_t n;
	struct k_mount **v = mount_list(c->ps->k, &n);
	if (!v)
		return -ENOMEM;
	struct k_path root = task_root(c);
	char *name = malloc(K_PATH_MAX);
	if (!name) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && !b->trunc; i++) {
		struct k_mount *m = v[i];
		struct k_path at = {m, m->root};
		/* Mounts outside the task's root are not its to see. */
		if (!root.mnt || !path_attached(&at) || path_name(&root, &at, name, K_PATH_MAX) < 0 ||
		    name[0] != '/')
			continue;
		const char *type = m->sb && m->sb->type ? m->sb->type : "none";
		const char *src = m->source ? m->source : "none";
		if (info) {
			int id = MNT_ID_BASE + (int)i;
			int parent = m->parent ? mount_id(c->ps->k, m->parent) : 1;
			uint64_t dev = m->sb ? m->sb->dev : 0;
			pb_printf(b, "%d %d %u:%u ", id, parent, major(dev), minor(dev));
			pb_mount_root(b, m);
			pb_puts(b, " ");
			pb_mangled(b, name);
			pb_puts(b, " ");
			pb_mount_opts(b, m->flags);
			pb_puts(b, " - ");
			pb_mangled(b, type);
			pb_puts(b, " ");
			pb_mangled(b, src);
			pb_puts(b, m->flags & MS_RDONLY ? " ro\n" : " rw\n");
		} else {
			pb_mangled(b, src);
			pb_puts(b, " ");
			pb_mangled(b, name);
			pb_puts(b, " ");
			pb_mangled(b, type);
			pb_puts(b, " ");
			pb_mount_opts(b, m->flags);
			pb_puts(b, " 0 0\n");
		}
	}
	free(name);
	free(v);
	return 0;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t uptime_ns(struct k_kernel *k)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	return now > k->boot_ns ? now - k->boot_ns : 0;
}

static uint64_t task_cpu_ns(struct k_task *t)
{
	return t && t->ctx ? pf_ctx_cputime_ns(t->ctx) : 0;
}

static unsigned task_count(struct pfs_sb *ps, int *last_pid)
{
	unsigned n = 0;
	*last_pid = 0;
	for (struct k_task *t = task_next_pid(ps, 1); t; t = task_next_pid(ps, t->tg->pid + 1LL)) {
		n += (unsigned)(t->tg->nthreads > 0 ? t->tg->nthreads : 1);
		*last_pid = t->tg->pid;
	}
	return n;
}

/* ---- memory figures of an address space ---- */

struct mm_stats {
	uint64_t vm, rss, data, stack, exec, pte;
};

/* Bytes of [off, off+len) of the memory file that have pages: at most a
 * bounded number of probes per read, the rest counted as resident. */
static uint64_t resident(struct k_memfile *mf, uint64_t off, uint64_t len, int *budget)
{
	uint64_t end = off + len, got = 0, at = off;
	while (at < end) {
		if (--*budget < 0)
			return got + (end - at);
		off_t d = lseek(mf->fd, (off_t)at, SEEK_DATA);
		if (d < 0 || (uint64_t)d >= end)
			break;
		off_t h = lseek(mf->fd, d, SEEK_HOLE);
		uint64_t hole = h < 0 || (uint64_t)h > end ? end : (uint64_t)h;
		got += hole - (uint64_t)d;
		at = hole;
	}
	return got;
}

static void mm_stats(struct k_mm *mm, struct mm_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!mm)
		return;
	s->vm = mm->total_vm;
	int budget = 4096;
	for (size_t i = 0; i < mm->n; i++) {
		struct k_vma *v = &mm->v[i];
		uint64_t len = v->end - v->start;
		if (v->flags & VMA_STACK)
			s->stack += len;
		else if ((v->prot & PROT_WRITE) && !(v->flags & VMA_SHARED))
			s->data += len;
		if (v->mobj && v->prot != PROT_NONE && v->pgoff < v->mobj->len) {
			uint64_t avail = v->mobj->len - v->pgoff;
			s->rss += resident(&mm->k->mem, v->mobj->off + v->pgoff, len < avail ? len : avail,
					   &budget);
		}
	}
	if (mm->end_code > mm->start_code)
		s->exec = PAGE_UP(mm->end_code) - (mm->start_code & PAGE_MASK);
	/* Page tables: a page per 2 MiB mapped, as a rough figure. */
	s->pte = ((s->vm >> 21) + 1) * PAGE_SIZE;
}

/* ======================= /proc/PID ======================= */

static int gen_status(struct pfs_ctx *c, struct pbuf *b)
{
	struct k_task *t = c->t;
	struct k_thread_group *tg = t->tg;
	pb_puts(b, "Name:\t");
	for (const char *s = t->comm; *s && s < t->comm + sizeof(t->comm); s++) {
		if (*s == '\n')
			pb_puts(b, "\\n");
		else if (*s == '\\')
			pb_puts(b, "\\\\");
		else
			pb_put(b, s, 1);
	}
	pb_printf(b, "\nUmask:\t%04o\n", t->fs ? t->fs->umask : 022);
	pb_puts(b, "State:\tR (running)\n");
	pb_printf(b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", tg->pid, t->tid,
		  tg->ppid);
	pb_printf(b, "Uid:\t%u\t%u\t%u\t%u\n", tg->uid, tg->euid, tg->suid, tg->fsuid);
	pb_printf(b, "Gid:\t%u\t%u\t%u\t%u\n", tg->gid, tg->egid, tg->sgid, tg->fsgid);
	int fdsize = 64;
	if (t->fdt && t->fdt->n > 64) {
		fdsize = 256;
		while (fdsize < t->fdt->n && fdsize < (1 << 30))
			fdsize *= 2;
	}
	pb_printf(b, "FDSize:\t%d\nGroups:\t", fdsize);
	for (int g = 0; tg->groups && g < tg->ngroups; g++)
		pb_printf(b, "%s%u", g ? " " : "", tg->groups[g]);
	pb_puts(b, " \n");
	pb_printf(b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", tg->pid, t->tid, tg->pgid,
		  tg->sid);
	struct mm_stats s;
	mm_stats(t->mm, &s);
	pb_printf(b,
		  "VmPeak:\t%8llu kB\nVmSize:\t%8llu kB\nVmLck:\t%8llu kB\nVmPin:\t%8llu kB\n"
		  "VmHWM:\t%8llu kB\nVmRSS:\t%8llu kB\nRssAnon:\t%8llu kB\nRssFile:\t%8llu kB\n"
		  "RssShmem:\t%8llu kB\nVmData:\t%8llu kB\nVmStk:\t%8llu kB\nVmExe:\t%8llu kB\n"
		  "VmLib:\t%8llu kB\nVmPTE:\t%8llu kB\nVmSwap:\t%8llu kB\nHugetlbPages:\t%8llu kB\n",
		  (unsigned long long)s.vm >> 10, (unsigned long long)s.vm >> 10, 0ULL, 0ULL,
		  (unsigned long long)s.rss >> 10, (unsigned long long)s.rss >> 10,
		  (unsigned long long)s.rss >> 10, 0ULL, 0ULL, (unsigned long long)s.data >> 10,
		  (unsigned long long)s.stack >> 10, (unsigned long long)s.exec >> 10, 0ULL,
		  (unsigned long long)s.pte >> 10, 0ULL, 0ULL);
	pb_puts(b, "CoreDumping:\t0\nTHP_enabled:\t1\n");
	uint64_t ign = 0, cgt = 0;
	for (int sig = 1; sig <= K_NSIG; sig++) {
		uint64_t h = tg->act[sig].handler;
		if (h == (uint64_t)(uintptr_t)SIG_IGN)
			ign |= SIGBIT(sig);
		else if (h != (uint64_t)(uintptr_t)SIG_DFL)
			cgt |= SIGBIT(sig);
	}
	pb_printf(b, "Threads:\t%d\nSigQ:\t%d/%llu\n", tg->nthreads > 0 ? tg->nthreads : 1,
		  __builtin_popcountll(t->pending),
		  (unsigned long long)tg->rlim[RLIMIT_SIGPENDING].rlim_cur);
	pb_printf(b, "SigPnd:\t%016llx\nShdPnd:\t%016llx\nSigBlk:\t%016llx\nSigIgn:\t%016llx\n"
		     "SigCgt:\t%016llx\n",
		  (unsigned long long)t->pending, 0ULL, (unsigned long long)t->sigmask,
		  (unsigned long long)ign, (unsigned long long)cgt);
	uint64_t caps = tg->euid == 0 ? CAP_FULL : 0;
	pb_printf(b, "CapInh:\t%016llx\nCapPrm:\t%016llx\nCapEff:\t%016llx\nCapBnd:\t%016llx\n"
		     "CapAmb:\t%016llx\n",
		  0ULL, (unsigned long long)caps, (unsigned long long)caps,
		  (unsigned long long)CAP_FULL, 0ULL);
	pb_printf(b, "NoNewPrivs:\t%d\nSeccomp:\t0\nSeccomp_filters:\t0\n", t->no_new_privs ? 1 : 0);
	pb_puts(b, "Cpus_allowed:\t");
	pb_cpumask_hex(b, c->ps->k);
	pb_puts(b, "\nCpus_allowed_list:\t");
	pb_cpulist(b, c->ps->k);
	pb_puts(b, "\nMems_allowed:\t1\nMems_allowed_list:\t0\n"
		   "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
	return 0;
}

static unsigned first_cpu(const struct k_kernel *k)
{
	for (unsigned i = 0; i < 8 * sizeof(k->cpumask); i++)
		if (pfs_cpu_present(k, i))
			return i;
	return 0;
}

static int gen_stat(struct pfs_ctx *c, struct pbuf *b)
{
	struct k_task *t = c->t;
	struct k_thread_group *tg = t->tg;
	struct k_mm *mm = t->mm;
	struct k_mm none = {0};
	if (!mm)
		mm = &none;
	struct mm_stats s;
	mm_stats(t->mm, &s);
	uint64_t ign = 0, cgt = 0;
	for (int sig = 1; sig <= K_NSIG; sig++) {
		uint64_t h = tg->act[sig].handler;
		if (h == (uint64_t)(uintptr_t)SIG_IGN)
			ign |= SIGBIT(sig);
		else if (h != (uint64_t)(uintptr_t)SIG_DFL)
			cgt |= SIGBIT(sig);
	}
	char comm[sizeof(t->comm) + 1];
	memcpy(comm, t->comm, sizeof(t->comm));
	comm[sizeof(t->comm)] = 0;
	unsigned long long utime = task_cpu_ns(t) / (1000000000ull / USER_HZ);
	unsigned long long rsslim = tg->rlim[RLIMIT_RSS].rlim_cur;
	pb_printf(b, "%d (%s) R %d %d %d 0 -1 4194304 0 0 0 0 %llu 0 0 0 20 0 %d 0 0 %llu %llu %llu",
		  t->tid, comm, tg->ppid, tg->pgid, tg->sid, utime,
		  tg->nthreads > 0 ? tg->nthreads : 1, (unsigned long long)s.vm,
		  (unsigned long long)(s.rss / PAGE_SIZE), rsslim);
	pb_printf(b, " %llu %llu %llu 0 0 %llu %llu %llu %llu 0 0 0 17 %u 0 0 0 0 0",
		  (unsigned long long)mm->start_code, (unsigned long long)mm->end_code,
		  (unsigned long long)mm->arg_start, (unsigned long long)t->pending,
		  (unsigned long long)t->sigmask, (unsigned long long)ign,
		  (unsigned long long)cgt, first_cpu(c->ps->k));
	pb_printf(b, " %llu %llu %llu %llu %llu %llu %llu 0\n", (unsigned long long)mm->start_data,
		  (unsigned long long)mm->end_data, (unsigned long long)mm->brk_start,
		  (unsigned long long)mm->arg_start, (unsigned long long)mm->arg_end,
		  (unsigned long long)mm->env_start, (unsigned long long)mm->env_end);
	return 0;
}

static int gen_statm(struct pfs_ctx *c, struct pbuf *b)
{
	struct mm_stats s;
	mm_stats(c->t->mm, &s);
	pb_printf(b, "%llu %llu 0 %llu 0 %llu 0\n", (unsigned long long)(s.vm / PAGE_SIZE),
		  (unsigned long long)(s.rss / PAGE_SIZE), (unsigned long long)(s.exec / PAGE_SIZE),
		  (unsigned long long)((s.data + s.stack) / PAGE_SIZE));
	return 0;
}

static int gen_maps(struct pfs_ctx *c, struct pbuf *b)
{
	struct k_mm *mm = c->t->mm;
	if (!mm)
		return 0;
	for (size_t i = 0; i < mm->n && !b->trunc; i++) {
		struct k_vma *v = &mm->v[i];
		char line[128];
		int n = snprintf(line, sizeof(line), "%08llx-%08llx %c%c%c%c %08llx %02x:%02x %llu ",
				 (unsigned long long)v->start, (unsigned long long)v->end,
				 v->prot & PROT_READ ? 'r' : '-', v->prot & PROT_WRITE ? 'w' : '-',
				 v->prot & PROT_EXEC ? 'x' : '-', v->flags & VMA_SHARED ? 's' : 'p',
				 0ULL, 0u, 0u, 0ULL);
		pb_put(b, line, (size_t)n);
		const char *name = v->flags & VMA_HEAP ? "[heap]" : v->flags & VMA_STACK ? "[stack]" : NULL;
		if (name) {
			/* Names start in column 73 (seq_pad to 25 + 6 * 8 - 1). */
			for (int col = n; col < 72; col++)
				pb_put(b, " ", 1);
			pb_puts(b, " ");
			pb_puts(b, name);
		}
		pb_puts(b, "\n");
	}
	return 0;
}

/* Guest memory [start, end) of the task, as far as it can be read. */
static void pb_guest(struct pbuf *b, struct k_task *t, uint64_t start, uint64_t end)
{
	char chunk[PAGE_SIZE];
	if (end > start && end - start > PFS_MAX_FILE)
		end = start + PFS_MAX_FILE;
	for (uint64_t at = start; at < end && !b->trunc;) {
		size_t n = (size_t)(PAGE_SIZE - (at & (PAGE_SIZE - 1)));
		if (n > end - at)
			n = (size_t)(end - at);
		if (k_copy_in(t, chunk, at, n))
			break;
		pb_put(b, chunk, n);
		at += n;
	}
}

static int gen_cmdline(struct pfs_ctx *c, struct pbuf *b)
{
	struct k_mm *mm = c->t->mm;
	if (!mm || mm->arg_end <= mm->arg_start)
		return 0;
	/* A program that overwrote the NUL ending its arguments (setproctitle)
	 * is shown as one string: the page from arg_start up to its first NUL,
	 * that NUL included (Linux's get_mm_proctitle). */
	char last;
	if (k_copy_in(c->t, &last, mm->arg_end - 1, 1) == 0 && last) {
		pb_guest(b, c->t, mm->arg_start, mm->arg_start + PAGE_SIZE);
		if (b->len) {
			size_t len = strnlen(b->p, b->len);
			b->len = len < b->len ? len + 1 : len;
		}
		return 0;
	}
	pb_guest(b, c->t, mm->arg_start, mm->arg_end);
	return 0;
}

static int gen_environ(struct pfs_ctx *c, struct pbuf *b)
{
	struct k_mm *mm = c->t->mm;
	if (mm && mm->env_end > mm->env_start)
		pb_guest(b, c->t, mm->env_start, mm->env_end);
	return 0;
}

static int gen_auxv(struct pfs_ctx *c, struct pbuf *b)
{
	struct k_mm *mm = c->t->mm;
	if (mm) {
		size_t n = mm->nauxv < ARRAY_LEN(mm->auxv) ? mm->nauxv : ARRAY_LEN(mm->auxv);
		pb_put(b, mm->auxv, (n & ~(size_t)1) * sizeof(mm->auxv[0]));
	}
	return 0;
}

static int gen_comm(struct pfs_ctx *c, struct pbuf *b)
{
	pb_put(b, c->t->comm, strnlen(c->t->comm, sizeof(c->t->comm)));
	pb_puts(b, "\n");
	return 0;
}

static ssize_t write_comm(struct pfs_ctx *c, const char *buf, size_t len, size_t count)
{
	/* Only a thread of the same group may rename one (Linux: EINVAL). */
	struct k_task *cur = task_current(c->ps);
	if (!cur || cur->tg != c->t->tg)
		return -EINVAL;
	char name[sizeof(c->t->comm)] = {0};
	memcpy(name, buf, len < sizeof(name) - 1 ? len : sizeof(name) - 1);
	memset(c->t->comm, 0, sizeof(c->t->comm));
	memcpy(c->t->comm, name, strnlen(name, sizeof(name)));
	return (ssize_t)count;
}

static const struct {
	const char *name, *unit;
	int res;
} limit_names[] = {
	{"Max cpu time", "seconds", RLIMIT_CPU},
	{"Max file size", "bytes", RLIMIT_FSIZE},
	{"Max data size", "bytes", RLIMIT_DATA},
	{"Max stack size", "bytes", RLIMIT_STACK},
	{"Max core file size", "bytes", RLIMIT_CORE},
	{"Max resident set", "bytes", RLIMIT_RSS},
	{"Max processes", "processes", RLIMIT_NPROC},
	{"Max open files", "files", RLIMIT_NOFILE},
	{"Max locked memory", "bytes", RLIMIT_MEMLOCK},
	{"Max address space", "bytes", RLIMIT_AS},
	{"Max file locks", "locks", RLIMIT_LOCKS},
	{"Max pending signals", "signals", RLIMIT_SIGPENDING},
	{"Max msgqueue size", "bytes", RLIMIT_MSGQUEUE},
	{"Max nice priority", NULL, RLIMIT_NICE},
	{"Max realtime priority", NULL, RLIMIT_RTPRIO},
	{"Max realtime timeout", "us", RLIMIT_RTTIME},
};

static int gen_limits(struct pfs_ctx *c, struct pbuf *b)
{
	pb_printf(b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
	for (size_t i = 0; i < ARRAY_LEN(limit_names); i++) {
		const struct rlimit *r = &c->t->tg->rlim[limit_names[i].res];
		pb_printf(b, "%-25s ", limit_names[i].name);
		if (r->rlim_cur == RLIM_INFINITY)
			pb_printf(b, "%-20s ", "unlimited");
		else
			pb_printf(b, "%-20llu ", (unsigned long long)r->rlim_cur);
		if (r->rlim_max == RLIM_INFINITY)
			pb_printf(b, "%-20s ", "unlimited");
		else
			pb_printf(b, "%-20llu ", (unsigned long long)r->rlim_max);
		if (limit_names[i].unit)
			pb_printf(b, "%-10s", limit_names[i].unit);
		pb_puts(b, "\n");
	}
	return 0;
}

static int gen_task_mounts(struct pfs_ctx *c, struct pbuf *b)
{
	return gen_mounts(c, b, false);
}

static int gen_mountinfo(struct pfs_ctx *c, struct pbuf *b)
{
	return gen_mounts(c, b, true);
}

static int gen_oom_score_adj(struct pfs_ctx *c, struct pbuf *b)
{
	pb_printf(b, "%d\n", c->ps->oom_score_adj);
	return 0;
}

/* kstrtoint(s, 0): an optional sign, then 0x hex, 0 octal or decimal. */
static int parse_int(const char *s, int *out)
{
	bool neg = false;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2]) {
		base = 16;
		s += 2;
	} else if (s[0] == '0' && s[1]) {
		base = 8;
		s++;
	}
	if (!*s)
		return -EINVAL;
	unsigned long long v = 0;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -EINVAL;
		if (d >= base)
			return -EINVAL;
		v = v * base + d;
		if (v > (unsigned long long)INT_MAX + 1)
			return -ERANGE;
	}
	if (!neg && v > INT_MAX)
		return -ERANGE;
	*out = neg ? (int)(-(long long)v) : (int)v;
	return 0;
}

static ssize_t write_oom_score_adj(struct pfs_ctx *c, const char *buf, size_t len, size_t count)
{
	/* Linux reads at most 12 bytes (PROC_NUMBUF - 1) and says it took them. */
	if (count > 12)
		count = 12;
	if (len > count)
		len = count;
	char s[13] = {0};
	memcpy(s, buf, len);
	if (memchr(s, 0, len))
		len = strlen(s);
	char *p = s, *e = s + len;
	while (p < e && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
		p++;
	while (e > p && (e[-1] == ' ' || (e[-1] >= '\t' && e[-1] <= '\r')))
		e--;
	*e = 0;
	int v;
	int err = parse_int(p, &v);
	if (err)
		return err;
	if (v < -OOM_SCORE_ADJ_MAX || v > OOM_SCORE_ADJ_MAX)
		return -EINVAL;
	bool privileged = c->t->tg->euid == 0;
	if (v < c->ps->oom_score_adj_min && !privileged)
		return -EACCES;
	c->ps->oom_score_adj = v;
	if (privileged)
		c->ps->oom_score_adj_min = v;
	return (ssize_t)count;
}

static ssize_t write_eperm(struct pfs_ctx *c, const char *buf, size_t len, size_t count)
{
	(void)c, (void)buf, (void)len, (void)count;
	return -EPERM;
}

/* ---- links ---- */

static int link_cwd(struct pfs_ctx *c, char *buf, size_t size)
{
	if (!c->t->fs)
		return -ENOENT;
	return show_path(c, &c->t->fs->cwd, buf, size);
}

static int link_root(struct pfs_ctx *c, char *buf, size_t size)
{
	if (!c->t->fs)
		return -ENOENT;
	return show_path(c, &c->t->fs->root, buf, size);
}

static int getlink_cwd(struct pfs_ctx *c, struct k_path *p, struct k_file **f)
{
	(void)f;
	if (!c->t->fs)
		return -ENOENT;
	*p = path_get(c->t->fs->cwd);
	return 0;
}

static int getlink_root(struct pfs_ctx *c, struct k_path *p, struct k_file **f)
{
	(void)f;
	if (!c->t->fs)
		return -ENOENT;
	*p = path_get(c->t->fs->root);
	return 0;
}

/* The program the task runs.  Neither the mm nor the task records it yet:
 * it is the name exec was given (AT_EXECFN, the path k_run found for
 * cfg.exe), else cfg.exe, resolved in the sandbox's tree from the
 * directory the sandbox started in. */
static int exe_path(struct pfs_ctx *c, struct k_path *p)
{
	struct k_task *t = c->t;
	struct k_mm *mm = t->mm;
	char *name = malloc(2 * K_PATH_MAX);
	if (!name)
		return -ENOMEM;
	char *full = name + K_PATH_MAX;
	const char *exe = NULL;
	for (size_t i = 0; mm && i + 1 < mm->nauxv && i + 1 < ARRAY_LEN(mm->auxv); i += 2) {
		if (mm->auxv[i] == AT_EXECFN) {
			if (k_copy_string(t, name, mm->auxv[i + 1], K_PATH_MAX) > 0)
				exe = name;
			break;
		}
	}
	if (!exe)
		exe = c->ps->k->cfg.exe;
	int err = -ENOENT;
	if (exe && *exe && t->fs) {
		const char *cwd = c->ps->k->cfg.cwd;
		if (exe[0] != '/' && cwd && *cwd) {
			int n = snprintf(full, K_PATH_MAX, "%s/%s", cwd, exe);
			exe = n < K_PATH_MAX ? full : NULL;
		}
		struct k_path root = t->fs->root;
		err = exe ? path_lookup_from(t, &root, exe, LOOKUP_FOLLOW, p) : -ENAMETOOLONG;
	}
	free(name);
	return err;
}

static int link_exe(struct pfs_ctx *c, char *buf, size_t size)
{
	struct k_path p;
	int err = exe_path(c, &p);
	if (err)
		return err;
	int n = show_path(c, &p, buf, size);
	path_put(&p);
	return n;
}

static int getlink_exe(struct pfs_ctx *c, struct k_path *p, struct k_file **f)
{
	(void)f;
	return exe_path(c, p);
}

/* ---- fd/ and fdinfo/ ---- */

static struct k_file *task_fd(struct k_task *t, int fd)
{
	if (!t->fdt || fd < 0 || fd >= t->fdt->n)
		return NULL;
	return t->fdt->v[fd].f;
}

static int fd_name(struct pfs_ctx *c, struct k_file *f, char *buf, size_t size)
{
	int n;
	if (f->path.d)
		return show_path(c, &f->path, buf, size);
	if (f->host_fd >= 0) {
		/* husk's own stdio: never a host path; what Linux shows for a
		 * terminal, a character device, or else a pipe. */
		struct stat st;
		if (fstat(f->host_fd, &st) == 0 && S_ISCHR(st.st_mode))
			n = snprintf(buf, size, "%s", isatty(f->host_fd) ? "/dev/pts/0" : "/dev/null");
		else
			n = snprintf(buf, size, "pipe:[%llu]", (unsigned long long)f->ino);
	} else if (f->inode && S_ISFIFO(f->inode->mode)) {
		n = snprintf(buf, size, "pipe:[%llu]", (unsigned long long)f->inode->ino);
	} else if (f->inode && S_ISSOCK(f->inode->mode)) {
		n = snprintf(buf, size, "socket:[%llu]", (unsigned long long)f->inode->ino);
	} else {
		n = snprintf(buf, size, "anon_inode:[%s]", "unknown");
	}
	return n < (int)size ? n : (int)size - 1;
}

static int link_fd(struct pfs_ctx *c, char *buf, size_t size)
{
	struct k_file *f = task_fd(c->t, c->n->fd);
	return f ? fd_name(c, f, buf, size) : -ENOENT;
}

static int getlink_fd(struct pfs_ctx *c, struct k_path *p, struct k_file **out)
{
	struct k_file *f = task_fd(c->t, c->n->fd);
	if (!f)
		return -ENOENT;
	if (f->path.d)
		*p = path_get(f->path);
	else
		*out = file_get(f);
	return 0;
}

int procfs_reopen(struct k_file *f, int flags, struct k_file **out)
{
	*out = NULL;
	if (f->path.d)
		return -EINVAL; /* opened by its path like any file */
	if (f->host_fd < 0)
		return -ENXIO; /* pipes and sockets will reopen themselves */
	/* husk's stdio: a new description over the same host object.  The
	 * host side (offset, status flags) is shared, as a dup shares it. */
	int fd = fcntl(f->host_fd, F_DUPFD_CLOEXEC, 10);
	if (fd < 0)
		return -errno;
	struct k_file *n = hostfile_new(fd, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	n->ino = f->ino; /* the same pipe or terminal: the same inode number */
	*out = n;
	return 0;
}

static uint32_t fd_mode(struct pfs_ctx *c)
{
	struct k_file *f = task_fd(c->t, c->n->fd);
	uint32_t mode = S_IFLNK;
	if (!f || (f->flags & O_PATH))
		return mode;
	int acc = f->flags & O_ACCMODE;
	if (acc == O_RDONLY || acc == O_RDWR)
		mode |= S_IRUSR | S_IXUSR;
	if (acc == O_WRONLY || acc == O_RDWR)
		mode |= S_IWUSR | S_IXUSR;
	return mode;
}

static int gen_fdinfo(struct pfs_ctx *c, struct pbuf *b)
{
	struct k_file *f = task_fd(c->t, c->n->fd);
	if (!f)
		return -ENOENT;
	long long pos = f->pos;
	if (f->host_fd >= 0) {
		off_t r = lseek(f->host_fd, 0, SEEK_CUR);
		pos = r < 0 ? 0 : (long long)r;
	}
	int flags = f->flags & ~O_PATH;
	if (f->flags & O_PATH)
		flags = O_PATH | (f->flags & (O_DIRECTORY | O_NOFOLLOW));
	if (c->t->fdt->v[c->n->fd].cloexec)
		flags |= O_CLOEXEC;
	int mnt = f->path.mnt ? mount_id(c->ps->k, f->path.mnt) : 0;
	unsigned long long ino = f->inode ? f->inode->ino : f->ino;
	pb_printf(b, "pos:\t%lld\nflags:\t0%o\nmnt_id:\t%d\nino:\t%llu\n", pos, (unsigned)flags, mnt,
		  ino);
	return 0;
}

static const struct pfs_ent fd_link_ent = {
	.name = "fd", .mode = S_IFLNK | 0700, .flags = PFS_SIZE64, .readlink = link_fd,
	.getlink = getlink_fd, .modefn = fd_mode};
static const struct pfs_ent fdinfo_ent = {
	.name = "fdinfo", .mode = S_IFREG | 0400, .gen = gen_fdinfo};

static int lookup_fd_common(struct pfs_ctx *c, const char *name, struct pfs_node *out,
			    const struct pfs_ent *ent)
{
	unsigned long fd;
	if (!pfs_parse_uint(name, INT_MAX, &fd) || !task_fd(c->t, (int)fd))
		return -ENOENT;
	*out = (struct pfs_node){ent, c->n->pid, c->n->tid, (int)fd, 0};
	return 0;
}

static bool next_fd_common(struct pfs_ctx *c, int64_t key, struct pfs_dent *d,
			   const struct pfs_ent *ent)
{
	if (!c->t->fdt)
		return false;
	for (int64_t fd = key < 0 ? 0 : key; fd < c->t->fdt->n; fd++) {
		if (!c->t->fdt->v[fd].f)
			continue;
		snprintf(d->name, sizeof(d->name), "%d", (int)fd);
		d->key = fd;
		d->node = (struct pfs_node){ent, c->n->pid, c->n->tid, (int)fd, 0};
		return true;
	}
	return false;
}

static int lookup_fd(struct pfs_ctx *c, const char *name, struct pfs_node *out)
{
	return lookup_fd_common(c, name, out, &fd_link_ent);
}

static bool next_fd(struct pfs_ctx *c, int64_t key, struct pfs_dent *d)
{
	return next_fd_common(c, key, d, &fd_link_ent);
}

static int lookup_fdinfo(struct pfs_ctx *c, const char *name, struct pfs_node *out)
{
	return lookup_fd_common(c, name, out, &fdinfo_ent);
}

static bool next_fdinfo(struct pfs_ctx *c, int64_t key, struct pfs_dent *d)
{
	return next_fd_common(c, key, d, &fdinfo_ent);
}

/* ---- the entries of /proc/PID and /proc/PID/task/TID ---- */

#define REG(n, m, g) {.name = (n), .mode = S_IFREG | (m), .gen = (g)}
#define TEXT(n, m, s) {.name = (n), .mode = S_IFREG | (m), .text = (s)}
#define LNK(n, rl, gl) {.name = (n), .mode = S_IFLNK | 0777, .readlink = (rl), .getlink = (gl)}

#define TASK_COMMON_ENTS                                                                        \
	{.name = "fd", .mode = S_IFDIR | 0500, .dlookup = lookup_fd, .dnext = next_fd},          \
	{.name = "fdinfo", .mode = S_IFDIR | 0555, .dlookup = lookup_fdinfo,                    \
	 .dnext = next_fdinfo},                                                                 \
	REG("environ", 0400, gen_environ),                                                      \
	REG("auxv", 0400, gen_auxv),                                                            \
	REG("status", 0444, gen_status),                                                        \
	REG("limits", 0444, gen_limits),                                                        \
	{.name = "comm", .mode = S_IFREG | 0644, .gen = gen_comm, .write = write_comm},         \
	REG("cmdline", 0444, gen_cmdline),                                                      \
	REG("stat", 0444, gen_stat),                                                            \
	REG("statm", 0444, gen_statm),                                                          \
	REG("maps", 0444, gen_maps),                                                            \
	LNK("cwd", link_cwd, getlink_cwd),                                                      \
	LNK("root", link_root, getlink_root),                                                   \
	LNK("exe", link_exe, getlink_exe),                                                      \
	REG("mounts", 0444, gen_task_mounts),                                                   \
	REG("mountinfo", 0444, gen_mountinfo),                                                  \
	TEXT("oom_score", 0444, "0\n"),                                                         \
	{.name = "oom_score_adj", .mode = S_IFREG | 0644, .gen = gen_oom_score_adj,              \
	 .write = write_oom_score_adj},                                                         \
	{.name = "loginuid", .mode = S_IFREG | 0644, .text = "4294967295", .write = write_eperm}, \
	TEXT("sessionid", 0444, "4294967295"),                                                  \
	TEXT("cgroup", 0444, "0::/\n")

static const struct pfs_ent tid_kids[] = {TASK_COMMON_ENTS, {0}};
static const struct pfs_ent tid_dir_ent = {
	.name = "tid", .mode = S_IFDIR | 0555, .kids = tid_kids};

static int lookup_tid(struct pfs_ctx *c, const char *name, struct pfs_node *out)
{
	unsigned long tid;
	if (!pfs_parse_uint(name, INT_MAX, &tid) || !task_find(c->ps, c->n->pid, (int)tid))
		return -ENOENT;
	*out = (struct pfs_node){&tid_dir_ent, c->n->pid, (int)tid, -1, 0};
	return 0;
}

static bool next_tid(struct pfs_ctx *c, int64_t key, struct pfs_dent *d)
{
	struct k_task *t = task_next_tid(c->ps, c->n->pid, key);
	if (!t)
		return false;
	snprintf(d->name, sizeof(d->name), "%d", t->tid);
	d->key = t->tid;
	d->node = (struct pfs_node){&tid_dir_ent, c->n->pid, t->tid, -1, 0};
	return true;
}

static const struct pfs_ent pid_kids[] = {
	{.name = "task", .mode = S_IFDIR | 0555, .dlookup = lookup_tid, .dnext = next_tid},
	TASK_COMMON_ENTS,
	{0},
};
static const struct pfs_ent pid_dir_ent = {
	.name = "pid", .mode = S_IFDIR | 0555, .kids = pid_kids};

/* ======================= /proc itself ======================= */

static int link_self(struct pfs_ctx *c, char *buf, size_t size)
{
	struct k_task *t = task_current(c->ps);
	if (!t)
		return -ENOENT;
	int n = snprintf(buf, size, "%d", t->tg->pid);
	return n < (int)size ? n : (int)size - 1;
}

static int link_thread_self(struct pfs_ctx *c, char *buf, size_t size)
{
	struct k_task *t = task_current(c->ps);
	if (!t)
		return -ENOENT;
	int n = snprintf(buf, size, "%d/task/%d", t->tg->pid, t->tid);
	return n < (int)size ? n : (int)size - 1;
}

static int link_mounts(struct pfs_ctx *c, char *buf, size_t size)
{
	(void)c;
	return snprintf(buf, size, "self/mounts");
}

static int gen_cpuinfo(struct pfs_ctx *c, struct pbuf *b)
{
	struct pfs_sb *ps = c->ps;
	struct k_kernel *k = ps->k;
	bool any = false;
	for (unsigned i = 0; i < 8 * sizeof(k->cpumask) && !b->trunc; i++) {
		if (!pfs_cpu_present(k, i))
			continue;
		any = true;
		const char *blk = i < ps->ncpu_block && ps->cpu_block[i] ? ps->cpu_block[i]
		                  : ps->ncpu_block && ps->cpu_block[0] ? ps->cpu_block[0]
		                                                        : "";
		pb_printf(b, "processor\t: %u\n", i);
		pb_puts(b, blk);
		pb_puts(b, "\n");
	}
	if (!any) {
		pb_puts(b, "processor\t: 0\n");
		pb_puts(b, ps->ncpu_block && ps->cpu_block[0] ? ps->cpu_block[0] : "");
		pb_puts(b, "\n");
	}
	return 0;
}

static int gen_meminfo(struct pfs_ctx *c, struct pbuf *b)
{
	struct sysinfo si;
	if (sysinfo(&si) != 0)
		return -errno;
	uint64_t unit = si.mem_unit ? si.mem_unit : 1;
	uint64_t total = si.totalram * unit >> 10, free_ = si.freeram * unit >> 10;
	uint64_t buffers = si.bufferram * unit >> 10;
	uint64_t anon = c->ps->k->mem.allocated >> 10;
	if (anon > total)
		anon = total;
	const struct {
		const char *name;
		uint64_t kb;
	} v[] = {
		{"MemTotal:", total},         {"MemFree:", free_},
		{"MemAvailable:", free_ + buffers},
		{"Buffers:", 0},              {"Cached:", 0},
		{"SwapCached:", 0},           {"Active:", anon},
		{"Inactive:", 0},             {"Active(anon):", anon},
		{"Inactive(anon):", 0},       {"Active(file):", 0},
		{"Inactive(file):", 0},       {"Unevictable:", 0},
		{"Mlocked:", 0},              {"SwapTotal:", 0},
		{"SwapFree:", 0},             {"Dirty:", 0},
		{"Writeback:", 0},            {"AnonPages:", anon},
		{"Mapped:", 0},               {"Shmem:", 0},
		{"KReclaimable:", 0},         {"Slab:", 0},
		{"SReclaimable:", 0},         {"SUnreclaim:", 0},
		{"KernelStack:", 0},          {"PageTables:", 0},
		{"NFS_Unstable:", 0},         {"Bounce:", 0},
		{"WritebackTmp:", 0},         {"CommitLimit:", total / 2},
		{"Committed_AS:", anon},      {"VmallocTotal:", 34359738367ULL},
		{"VmallocUsed:", 0},          {"VmallocChunk:", 0},
		{"AnonHugePages:", 0},        {"ShmemHugePages:", 0},
		{"ShmemPmdMapped:", 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(v); i++)
		pb_printf(b, "%-16s%8llu kB\n", v[i].name, (unsigned long long)v[i].kb);
	pb_puts(b, "HugePages_Total:       0\nHugePages_Free:        0\n"
		   "HugePages_Rsvd:        0\nHugePages_Surp:        0\n"
		   "Hugepagesize:       2048 kB\n");
	return 0;
}

static int gen_stat_root(struct pfs_ctx *c, struct pbuf *b)
{
	struct k_kernel *k = c->ps->k;
	unsigned ncpu = pfs_ncpus(k);
	uint64_t up = uptime_ns(k) / (1000000000ull / USER_HZ);
	int last;
	unsigned nthreads = task_count(c->ps, &last);
	uint64_t user = 0;
	for (struct k_task *t = task_next_pid(c->ps, 1); t; t = task_next_pid(c->ps, t->tg->pid + 1LL))
		user += task_cpu_ns(t) / (1000000000ull / USER_HZ);
	uint64_t all = up * ncpu, idle = all > user ? all - user : 0;
	pb_printf(b, "cpu  %llu 0 0 %llu 0 0 0 0 0 0\n", (unsigned long long)user,
		  (unsigned long long)idle);
	for (unsigned i = 0; i < 8 * sizeof(k->cpumask); i++)
		if (pfs_cpu_present(k, i))
			pb_printf(b, "cpu%u %llu 0 0 %llu 0 0 0 0 0 0\n", i,
				  (unsigned long long)(user / ncpu), (unsigned long long)(idle / ncpu));
	uint64_t btime = (now_ns(CLOCK_REALTIME) - uptime_ns(k)) / 1000000000ull;
	pb_printf(b, "intr 0\nctxt 0\nbtime %llu\nprocesses %u\nprocs_running 1\nprocs_blocked 0\n"
		     "softirq 0 0 0 0 0 0 0 0 0 0 0\n",
		  (unsigned long long)btime, nthreads);
	return 0;
}

static int gen_uptime(struct pfs_ctx *c, struct pbuf *b)
{
	struct k_kernel *k = c->ps->k;
	uint64_t up = uptime_ns(k) / 10000000ull; /* hundredths */
	uint64_t busy = 0;
	for (struct k_task *t = task_next_pid(c->ps, 1); t; t = task_next_pid(c->ps, t->tg->pid + 1LL))
		busy += task_cpu_ns(t) / 10000000ull;
	uint64_t all = up * pfs_ncpus(k), idle = all > busy ? all - busy : 0;
	pb_printf(b, "%llu.%02llu %llu.%02llu\n", (unsigned long long)(up / 100),
		  (unsigned long long)(up % 100), (unsigned long long)(idle / 100),
		  (unsigned long long)(idle % 100));
	return 0;
}

static int gen_loadavg(struct pfs_ctx *c, struct pbuf *b)
{
	int last;
	unsigned n = task_count(c->ps, &last);
	pb_printf(b, "0.00 0.00 0.00 1/%u %d\n", n ? n : 1, last);
	return 0;
}

/* ---- /proc/sys ---- */

static int gen_hostname(struct pfs_ctx *c, struct pbuf *b)
{
	const char *h = c->ps->k->cfg.hostname;
	pb_printf(b, "%s\n", h ? h : "husk");
	return 0;
}

static int gen_boot_id(struct pfs_ctx *c, struct pbuf *b)
{
	pb_printf(b, "%s\n", c->ps->boot_id);
	return 0;
}

static void make_uuid(char *out, size_t size)
{
	uint64_t a = k_random_u64(), b = k_random_u64();
	snprintf(out, size, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
		 (unsigned)((b >> 48) & 0x3fff) | 0x8000, (unsigned long long)(b & 0xffffffffffffULL));
}

static int gen_uuid(struct pfs_ctx *c, struct pbuf *b)
{
	(void)c;
	char u[40];
	make_uuid(u, sizeof(u));
	pb_printf(b, "%s\n", u);
	return 0;
}

static int gen_threads_max(struct pfs_ctx *c, struct pbuf *b)
{
	(void)c;
	/* Linux: a thread's 16 KiB stack may take an eighth of memory. */
	struct sysinfo si;
	unsigned long long pages = 0;
	if (sysinfo(&si) == 0)
		pages = (unsigned long long)si.totalram * (si.mem_unit ? si.mem_unit : 1) / PAGE_SIZE;
	unsigned long long n = pages / 32;
	if (n < 20)
		n = 20;
	if (n > 0x3fffffff)
		n = 0x3fffffff;
	pb_printf(b, "%llu\n", n);
	return 0;
}

static int gen_file_max(struct pfs_ctx *c, struct pbuf *b)
{
	(void)c;
	/* Linux: a tenth of memory in KiB, at least NR_FILE. */
	struct sysinfo si;
	unsigned long long kb = 0;
	if (sysinfo(&si) == 0)
		kb = (unsigned long long)si.totalram * (si.mem_unit ? si.mem_unit : 1) / 1024;
	unsigned long long n = kb / 10 < 8192 ? 8192 : kb / 10;
	pb_printf(b, "%llu\n", n);
	return 0;
}

#define SYSCTL_INT(n, m, s)                                                                     \
	{.name = (n), .mode = S_IFREG | (m), .flags = PFS_RO_OPEN | PFS_INTVAL, .text = (s)}
#define SYSCTL_STR(n, m, s) {.name = (n), .mode = S_IFREG | (m), .flags = PFS_RO_OPEN, .text = (s)}
#define SYSCTL_GEN(n, m, fl, g) {.name = (n), .mode = S_IFREG | (m), .flags = PFS_RO_OPEN | (fl), .gen = (g)}
#define PDIR(n, k) {.name = (n), .mode = S_IFDIR | 0555, .kids = (k)}

static const struct pfs_ent sys_kernel_random[] = {
	SYSCTL_GEN("boot_id", 0444, 0, gen_boot_id),
	SYSCTL_INT("entropy_avail", 0444, "256\n"),
	SYSCTL_INT("poolsize", 0444, "256\n"),
	SYSCTL_GEN("uuid", 0444, 0, gen_uuid),
	{0},
};

static const struct pfs_ent sys_kernel[] = {
	SYSCTL_INT("cap_last_cap", 0444, "40\n"),
	SYSCTL_STR("domainname", 0644, "(none)\n"),
	SYSCTL_GEN("hostname", 0644, 0, gen_hostname),
	SYSCTL_INT("ngroups_max", 0444, "65536\n"),
	SYSCTL_STR("osrelease", 0444, K_UTS_RELEASE "\n"),
	SYSCTL_STR("ostype", 0444, "Linux\n"),
	SYSCTL_INT("overflowgid", 0644, "65534\n"),
	SYSCTL_INT("overflowuid", 0644, "65534\n"),
	SYSCTL_INT("pid_max", 0644, "4194304\n"),
	PDIR("random", sys_kernel_random),
	SYSCTL_INT("randomize_va_space", 0644, "2\n"),
	SYSCTL_INT("shmall", 0644, "18446744073692774399\n"),
	SYSCTL_INT("shmmax", 0644, "18446744073692774399\n"),
	SYSCTL_INT("shmmni", 0644, "4096\n"),
	SYSCTL_GEN("threads-max", 0644, PFS_INTVAL, gen_threads_max),
	SYSCTL_STR("version", 0444, K_UTS_VERSION "\n"),
	{0},
};

static const struct pfs_ent sys_vm[] = {
	SYSCTL_INT("max_map_count", 0644, "65530\n"),
	SYSCTL_INT("mmap_min_addr", 0644, "65536\n"),
	SYSCTL_INT("overcommit_memory", 0644, "0\n"),
	SYSCTL_INT("overcommit_ratio", 0644, "50\n"),
	{0},
};

static const struct pfs_ent sys_fs[] = {
	SYSCTL_GEN("file-max", 0644, PFS_INTVAL, gen_file_max),
	SYSCTL_INT("nr_open", 0644, "1048576\n"),
	SYSCTL_INT("pipe-max-size", 0644, "1048576\n"),
	{0},
};

static const struct pfs_ent sys_net_core[] = {
	SYSCTL_INT("somaxconn", 0644, "4096\n"),
	{0},
};

static const struct pfs_ent sys_net[] = {PDIR("core", sys_net_core), {0}};

static const struct pfs_ent sys_kids[] = {
	PDIR("fs", sys_fs),
	PDIR("kernel", sys_kernel),
	PDIR("net", sys_net),
	PDIR("vm", sys_vm),
	{0},
};

/* ---- the root: static entries, then one directory per process ---- */

static int lookup_pid(struct pfs_ctx *c, const char *name, struct pfs_node *out)
{
	unsigned long pid;
	if (!pfs_parse_uint(name, INT_MAX, &pid) || !task_find(c->ps, (int)pid, 0))
		return -ENOENT;
	*out = (struct pfs_node){&pid_dir_ent, (int)pid, 0, -1, 0};
	return 0;
}

static bool next_pid(struct pfs_ctx *c, int64_t key, struct pfs_dent *d)
{
	struct k_task *t = task_next_pid(c->ps, key < 1 ? 1 : key);
	if (!t)
		return false;
	snprintf(d->name, sizeof(d->name), "%d", t->tg->pid);
	d->key = t->tg->pid;
	d->node = (struct pfs_node){&pid_dir_ent, t->tg->pid, 0, -1, 0};
	return true;
}

static const struct pfs_ent root_kids[] = {
	PDIR("sys", sys_kids),
	REG("cpuinfo", 0444, gen_cpuinfo),
	TEXT("filesystems", 0444,
	     "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tdevpts\n"
	     "nodev\toverlay\n"),
	REG("loadavg", 0444, gen_loadavg),
	REG("meminfo", 0444, gen_meminfo),
	{.name = "mounts", .mode = S_IFLNK | 0777, .readlink = link_mounts},
	REG("stat", 0444, gen_stat_root),
	REG("uptime", 0444, gen_uptime),
	TEXT("version", 0444, "Linux version " K_UTS_RELEASE " " K_UTS_VERSION "\n"),
	{.name = "self", .mode = S_IFLNK | 0777, .readlink = link_self},
	{.name = "thread-self", .mode = S_IFLNK | 0777, .readlink = link_thread_self},
	{0},
};

static const struct pfs_ent proc_root = {
	.name = "/", .mode = S_IFDIR | 0555, .kids = root_kids, .dlookup = lookup_pid,
	.dnext = next_pid};

/* The host's /proc/cpuinfo, one block per processor (after its
 * "processor" line), indexed by processor number. */
static void read_host_cpuinfo(struct pfs_sb *ps)
{
	int fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size_t cap = 64 << 10, len = 0;
	char *text = malloc(cap + 1);
	while (text) {
		if (len == cap) {
			if (cap >= PFS_MAX_FILE)
				break;
			char *bigger = realloc(text, 2 * cap + 1);
			if (!bigger)
				break;
			text = bigger;
			cap *= 2;
		}
		ssize_t r = read(fd, text + len, cap - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!text)
		return;
	text[len] = 0;
	for (char *blk = text; *blk;) {
		char *end = strstr(blk, "\n\n");
		char *next = end ? end + 2 : blk + strlen(blk);
		if (end)
			end[1] = 0; /* the block keeps its last newline */
		unsigned long cpu;
		char *nl = strchr(blk, '\n');
		char *colon = strchr(blk, ':');
		if (strncmp(blk, "processor", 9) == 0 && nl && colon && colon < nl) {
			*nl = 0;
			char *num = colon + 1;
			while (*num == ' ')
				num++;
			if (pfs_parse_uint(num, 4095, &cpu)) {
				if (cpu >= ps->ncpu_block) {
					char **v = realloc(ps->cpu_block, (cpu + 1) * sizeof(*v));
					if (v) {
						for (size_t i = ps->ncpu_block; i <= cpu; i++)
							v[i] = NULL;
						ps->cpu_block = v;
						ps->ncpu_block = cpu + 1;
					}
				}
				if (cpu < ps->ncpu_block && !ps->cpu_block[cpu])
					ps->cpu_block[cpu] = strdup(nl + 1);
			}
		}
		blk = next;
	}
	free(text);
}

int procfs_new(struct k_task *t, struct k_super **sb, struct k_inode **root)
{
	struct pfs_sb *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->k = t->k;
	ps->task = t;
	ps->root = &proc_root;
	read_host_cpuinfo(ps);
	if (!ps->ncpu_block || !ps->cpu_block[0]) {
		char **v = ps->ncpu_block ? ps->cpu_block : calloc(1, sizeof(*v));
		if (v) {
			ps->cpu_block = v;
			if (!ps->ncpu_block)
				ps->ncpu_block = 1;
			v[0] = strdup("vendor_id\t: unknown\nmodel name\t: unknown\nflags\t\t:\n");
		}
	}
	make_uuid(ps->boot_id, sizeof(ps->boot_id));
	return pfs_new(ps, "proc", PROC_SUPER_MAGIC, sb, root);
}
