/* The engine of the pseudo filesystems, /proc (procfs.c, procfs_pid.c)
 * and /sys (sysfs.c): the text buffers generators write into, and the
 * inode and file ops over a tree of static entries and generated
 * directories (procfs.h says how inodes name their place in it). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

#define DYN_BASE ((int64_t)1 << 16) /* getdents cookies of generated entries */

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

void pb_cpumask_hex(struct pbuf *b, const struct k_kernel *k)
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

/* The sandbox's tasks, from the kernel's task list: thread group leaders
 * by pid (a group whose first thread left is named by any live one),
 * threads by tid. */
struct k_task *pfs_task_find(struct pfs_sb *ps, int pid, int tid)
{
	for (struct k_task *t = ps->k->tasks; t; t = t->next) {
		if (t->tg->pid != pid)
			continue;
		if (tid ? t->tid == tid : t->tg->threads == t)
			return t;
	}
	return NULL;
}

struct k_task *pfs_task_next_pid(struct pfs_sb *ps, int64_t min)
{
	struct k_task *best = NULL;
	for (struct k_task *t = ps->k->tasks; t; t = t->next)
		if (t->tg->threads == t && t->tg->pid >= min && (!best || t->tg->pid < best->tg->pid))
			best = t;
	return best;
}

struct k_task *pfs_task_next_tid(struct pfs_sb *ps, int pid, int64_t min)
{
	struct k_task *best = NULL;
	for (struct k_task *t = ps->k->tasks; t; t = t->next)
		if (t->tg->pid == pid && t->tid >= min && (!best || t->tid < best->tid))
			best = t;
	return best;
}

/* The task that /proc/self names: the caller (outside the scheduler, in
 * the unit tests, the task the filesystem was made for). */
struct k_task *pfs_task_current(struct pfs_sb *ps)
{
	struct k_task *t = k_current();
	return t ? t : ps->task;
}

int pfs_ctx_of(struct k_inode *ino, struct pfs_ctx *c)
{
	c->ps = ino->sb->priv;
	c->n = ino->priv;
	if (c->n->pid) {
		c->t = pfs_task_find(c->ps, c->n->pid, c->n->tid);
		return c->t ? 0 : -ENOENT;
	}
	c->t = pfs_task_current(c->ps);
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
		c.t = pfs_task_find(ps, n->pid, n->tid);
	else
		c.t = pfs_task_current(ps);
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
	int err = pfs_ctx_of(dir, &c);
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

bool pfs_inode_is(const struct k_inode *ino)
{
	return ino->ops == &pfs_iops;
}

static int pfs_iterate(struct k_inode *dir, int64_t *pos, k_dirent_fn emit, void *ctx)
{
	struct pfs_ctx c;
	int err = pfs_ctx_of(dir, &c);
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
	int err = pfs_ctx_of(ino, &c);
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
	if (pfs_ctx_of(ino, &c) || !c.n->pid)
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
		int err = pfs_ctx_of(f->inode, &c);
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
	if (pfs_ctx_of(f->inode, &c))
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
	int err = pfs_ctx_of(ino, &c);
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
