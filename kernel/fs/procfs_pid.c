/* /proc/PID and /proc/PID/task/TID: what a process shows of itself
 * (status, stat, maps, cmdline, limits, mounts, ...), its fd/ and fdinfo/
 * directories, and the magic links (exe, cwd, root, fd/N) the walker
 * follows without readlink.  Linux's formats, field for field
 * (fs/proc/base.c, array.c, fd.c). */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procfs.h"

#define CAP_LAST_CAP 40
#define CAP_FULL ((1ULL << (CAP_LAST_CAP + 1)) - 1)
#define OOM_SCORE_ADJ_MAX 1000

/* ---- paths and mounts, as the task sees them ---- */

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

/* ---- memory figures of an address space ---- */

struct mm_stats {
	uint64_t vm, rss, data, stack, exec, pte;
};

/* Bytes of [off, off+len) of the memory file (or of a host file an
 * object maps, whose data all counts) that have pages: at most a bounded
 * number of probes per read, the rest counted as resident. */
static uint64_t resident(int fd, uint64_t off, uint64_t len, int *budget)
{
	uint64_t end = off + len, got = 0, at = off;
	while (at < end) {
		if (--*budget < 0)
			return got + (end - at);
		off_t d = lseek(fd, (off_t)at, SEEK_DATA);
		if (d < 0 || (uint64_t)d >= end)
			break;
		off_t h = lseek(fd, d, SEEK_HOLE);
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
			const struct k_mobj *o = v->mobj;
			s->rss += resident(o->fd >= 0 ? o->fd : mm->k->mem.fd, o->off + v->pgoff,
					   len < avail ? len : avail, &budget);
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
		  tg_ppid(tg));
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
	unsigned long long utime = pfs_task_cpu_ns(t) / (1000000000ull / USER_HZ);
	unsigned long long rsslim = tg->rlim[RLIMIT_RSS].rlim_cur;
	pb_printf(b, "%d (%s) R %d %d %d 0 -1 4194304 0 0 0 0 %llu 0 0 0 20 0 %d 0 0 %llu %llu %llu",
		  t->tid, comm, tg_ppid(tg), tg->pgid, tg->sid, utime,
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
				 v->prot & PROT_EXEC ? 'x' : '-', (v->flags & (VMA_SHARED | VMA_VVAR)) == VMA_SHARED ? 's' : 'p',
				 0ULL, 0u, 0u, 0ULL);
		pb_put(b, line, (size_t)n);
		const char *name = v->flags & VMA_HEAP    ? "[heap]"
				   : v->flags & VMA_STACK ? "[stack]"
				   : v->flags & VMA_VVAR  ? "[vvar]"
				   : v->flags & VMA_VDSO  ? "[vdso]"
							  : NULL;
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
	struct k_task *cur = pfs_task_current(c->ps);
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

/* The program the task runs: the file execve loaded, as its mm records
 * it; failing that (an mm no exec filled), the name exec was given
 * (AT_EXECFN), else cfg.exe, resolved from the sandbox's first cwd. */
static int exe_path(struct pfs_ctx *c, struct k_path *p)
{
	struct k_task *t = c->t;
	struct k_mm *mm = t->mm;
	if (mm && mm->exe.d) {
		*p = path_get(mm->exe);
		return 0;
	}
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

int procfs_get_link(struct k_inode *ino, struct k_path *path, struct k_file **file)
{
	*path = (struct k_path){0};
	*file = NULL;
	if (!pfs_inode_is(ino))
		return -EINVAL;
	const struct pfs_node *n = ino->priv;
	if (!n->ent->getlink)
		return -EINVAL;
	struct pfs_ctx c;
	int err = pfs_ctx_of(ino, &c);
	if (err)
		return err;
	return n->ent->getlink(&c, path, file);
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
		const char *name = f->ops && f->ops->anon_name ? f->ops->anon_name : "unknown";
		n = snprintf(buf, size, "anon_inode:[%s]", name);
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
	hostfile_set_stdio(n, hostfile_stdio(f));
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
	if (f->ops && f->ops->fdinfo) {
		char extra[256];
		int n = f->ops->fdinfo(f, extra, sizeof(extra));
		if (n > 0)
			pb_printf(b, "%.*s", n < (int)sizeof(extra) ? n : (int)sizeof(extra) - 1, extra);
	}
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

#define LNK(n, rl, gl) {.name = (n), .mode = S_IFLNK | 0777, .readlink = (rl), .getlink = (gl)}

#define TASK_COMMON_ENTS                                                                        \
	{.name = "fd", .mode = S_IFDIR | 0500, .dlookup = lookup_fd, .dnext = next_fd},          \
	{.name = "fdinfo", .mode = S_IFDIR | 0555, .dlookup = lookup_fdinfo,                    \
	 .dnext = next_fdinfo},                                                                 \
	PFS_REG("environ", 0400, gen_environ),                                                  \
	PFS_REG("auxv", 0400, gen_auxv),                                                        \
	PFS_REG("status", 0444, gen_status),                                                    \
	PFS_REG("limits", 0444, gen_limits),                                                    \
	{.name = "comm", .mode = S_IFREG | 0644, .gen = gen_comm, .write = write_comm},         \
	PFS_REG("cmdline", 0444, gen_cmdline),                                                  \
	PFS_REG("stat", 0444, gen_stat),                                                        \
	PFS_REG("statm", 0444, gen_statm),                                                      \
	PFS_REG("maps", 0444, gen_maps),                                                        \
	LNK("cwd", link_cwd, getlink_cwd),                                                      \
	LNK("root", link_root, getlink_root),                                                   \
	LNK("exe", link_exe, getlink_exe),                                                      \
	PFS_REG("mounts", 0444, gen_task_mounts),                                               \
	PFS_REG("mountinfo", 0444, gen_mountinfo),                                              \
	PFS_TEXT("oom_score", 0444, "0\n"),                                                     \
	{.name = "oom_score_adj", .mode = S_IFREG | 0644, .gen = gen_oom_score_adj,              \
	 .write = write_oom_score_adj},                                                         \
	{.name = "loginuid", .mode = S_IFREG | 0644, .text = "4294967295", .write = write_eperm}, \
	PFS_TEXT("sessionid", 0444, "4294967295"),                                              \
	PFS_TEXT("cgroup", 0444, "0::/\n")

static const struct pfs_ent tid_kids[] = {TASK_COMMON_ENTS, {0}};
static const struct pfs_ent tid_dir_ent = {
	.name = "tid", .mode = S_IFDIR | 0555, .kids = tid_kids};

static int lookup_tid(struct pfs_ctx *c, const char *name, struct pfs_node *out)
{
	unsigned long tid;
	if (!pfs_parse_uint(name, INT_MAX, &tid) || !pfs_task_find(c->ps, c->n->pid, (int)tid))
		return -ENOENT;
	*out = (struct pfs_node){&tid_dir_ent, c->n->pid, (int)tid, -1, 0};
	return 0;
}

static bool next_tid(struct pfs_ctx *c, int64_t key, struct pfs_dent *d)
{
	struct k_task *t = pfs_task_next_tid(c->ps, c->n->pid, key);
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

/* ---- one directory per process, in /proc's root ---- */

int procfs_lookup_pid(struct pfs_ctx *c, const char *name, struct pfs_node *out)
{
	unsigned long pid;
	if (!pfs_parse_uint(name, INT_MAX, &pid) || !pfs_task_find(c->ps, (int)pid, 0))
		return -ENOENT;
	*out = (struct pfs_node){&pid_dir_ent, (int)pid, 0, -1, 0};
	return 0;
}

bool procfs_next_pid(struct pfs_ctx *c, int64_t key, struct pfs_dent *d)
{
	struct k_task *t = pfs_task_next_pid(c->ps, key < 1 ? 1 : key);
	if (!t)
		return false;
	snprintf(d->name, sizeof(d->name), "%d", t->tg->pid);
	d->key = t->tg->pid;
	d->node = (struct pfs_node){&pid_dir_ent, t->tg->pid, 0, -1, 0};
	return true;
}
