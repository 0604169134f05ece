/* execve and execveat: the program is loaded into a fresh address space
 * (a new fork of the sandbox's template stub); only when that worked is
 * the old one dropped, so a failed exec returns to the caller unharmed, as
 * in Linux before the point of no return. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "../sentry.h"

#define MAX_ARG_STRLEN (32 * PAGE_SIZE)
#define MAX_ARG_STRINGS 0x7fffffff

/* Copies a NULL-terminated vector of guest strings; the total is bounded
 * by what the new stack may hold (E2BIG beyond). */
static long copy_strings(struct k_task *t, uint64_t uvec, char ***out, size_t *budget)
{
	size_t n = 0, cap = 16;
	char **v = calloc(cap, sizeof(char *));
	if (!v)
		return -ENOMEM;
	long err = 0;
	for (; uvec; n++) {
		uint64_t p;
		if (k_copy_in(t, &p, uvec + n * 8, sizeof(p))) {
			err = -EFAULT;
			break;
		}
		if (!p)
			break;
		if (n + 2 > cap) {
			if (n >= MAX_ARG_STRINGS) {
				err = -E2BIG;
				break;
			}
			char **nv = realloc(v, (cap *= 2) * sizeof(char *));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		char *s = malloc(MAX_ARG_STRLEN);
		if (!s) {
			err = -ENOMEM;
			break;
		}
		long len = k_copy_string(t, s, p, MAX_ARG_STRLEN);
		if (len < 0) {
			free(s);
			err = len == -ENAMETOOLONG ? -E2BIG : len;
			break;
		}
		if ((size_t)len + 1 > *budget) {
			free(s);
			err = -E2BIG;
			break;
		}
		*budget -= (size_t)len + 1;
		v[n] = realloc(s, (size_t)len + 1) ?: s;
	}
	v[n] = NULL;
	if (err) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return err;
	}
	*out = v;
	return (long)n;
}

static void free_strings(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* What survives exec and what does not (Linux's begin_new_exec). */
static void after_exec(struct k_task *t, const char *path)
{
	struct k_fdtable *fdt = t->fdt;
	for (int fd = 0; fd < fdt->n; fd++)
		if (fdt->v[fd].f && fdt->v[fd].cloexec)
			fdt_close(t, fd);
	for (int sig = 1; sig <= K_NSIG; sig++) {
		struct k_sigaction *act = &t->tg->act[sig];
		if (act->handler != (uint64_t)SIG_IGN)
			*act = (struct k_sigaction){.handler = (uint64_t)SIG_DFL};
	}
	t->sas_sp = t->sas_size = 0;
	t->sas_flags = 0;
	t->robust_list = t->robust_len = 0;
	t->clear_child_tid = 0;
	t->restart_nr = 0;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t len = strnlen(base, sizeof(t->comm) - 1);
	memset(t->comm, 0, sizeof(t->comm));
	memcpy(t->comm, base, len);
}

/* Ends every other thread of the group before the exec goes on; the
 * survivor takes the group's pid as its thread id.  -EAGAIN-like races
 * (another thread execs, the group is killed) end this one's exec. */
static long de_thread(struct k_task *t)
{
	struct k_thread_group *tg = t->tg;
	if (tg->nthreads == 1) {
		t->tid = tg->pid;
		return 0;
	}
	if (tg->execing || tg->exiting)
		return -EAGAIN;
	tg->execing = t;
	for (struct k_task *o = tg->threads; o; o = o->tg_next)
		if (o != t) {
			o->exiting = true;
			k_task_kick(o);
		}
	struct k_sleep s = {.nointr = true};
	while (tg->nthreads > 1 && !t->exiting && !tg->exiting) {
		/* A thread made meanwhile is told too. */
		for (struct k_task *o = tg->threads; o; o = o->tg_next)
			if (o != t && !o->exiting) {
				o->exiting = true;
				k_task_kick(o);
			}
		k_sleep(t, &s);
	}
	tg->execing = NULL;
	if (tg->nthreads > 1)
		return -EINTR; /* killed meanwhile: it never returns to the guest */
	t->tid = tg->pid;
	return 0;
}

static long do_exec(struct k_task *t, int dirfd, uint64_t upath, uint64_t uargv, uint64_t uenvp,
		    int flags)
{
	if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -EINVAL;
	char path[K_PATH_MAX];
	int n = k_copy_path(t, upath, path, flags & AT_EMPTY_PATH);
	if (n < 0)
		return n;
	/* Relative to a directory descriptor, or the descriptor's own file. */
	if (dirfd != AT_FDCWD && path[0] != '/') {
		struct k_file *f = fdt_get_raw(t, dirfd);
		if (!f)
			return -EBADF;
		char base[K_PATH_MAX];
		int bl = f->path.d ? path_name(&t->fs->root, &f->path, base, sizeof(base)) : -ENOENT;
		file_put(f);
		if (bl < 0)
			return bl;
		if (n == 0) {
			memcpy(path, base, (size_t)bl + 1);
		} else {
			if ((size_t)bl + 1 + (size_t)n + 1 > sizeof(path))
				return -ENAMETOOLONG;
			memmove(path + bl + 1, path, (size_t)n + 1);
			memcpy(path, base, (size_t)bl);
			path[bl] = '/';
		}
	}
	if (flags & AT_SYMLINK_NOFOLLOW) {
		struct k_path p;
		int err = path_lookup(t, AT_FDCWD, path, 0, &p);
		if (err)
			return err;
		bool link = S_ISLNK(p.d->inode->mode);
		path_put(&p);
		if (link)
			return -ELOOP;
	}
	uint64_t stack = t->tg->rlim[RLIMIT_STACK].rlim_cur;
	size_t budget = stack == RLIM_INFINITY || stack / 4 > (64UL << 20) ? 64UL << 20 : stack / 4;
	if (budget < (128UL << 10))
		budget = 128UL << 10;
	char **argv = NULL, **envp = NULL;
	long err = copy_strings(t, uargv, &argv, &budget);
	if (err >= 0)
		err = copy_strings(t, uenvp, &envp, &budget);
	if (err < 0) {
		free_strings(argv);
		return err;
	}
	/* The other threads go first (Linux's de_thread), once the program is
	 * known to be there: a failed lookup leaves them alone. */
	err = 0;
	if (t->tg->nthreads > 1) {
		struct k_path p;
		err = path_lookup(t, AT_FDCWD, path, LOOKUP_FOLLOW, &p);
		if (!err) {
			if (!S_ISREG(p.d->inode->mode))
				err = -EACCES;
			path_put(&p);
		}
	}
	if (!err)
		err = de_thread(t);
	if (err) {
		free_strings(argv);
		free_strings(envp);
		return err;
	}
	/* A fresh address space; the old one stays until this one is ready. */
	struct k_mm *old_mm = t->mm, *mm;
	struct pf_ctx *old_ctx = t->ctx, *ctx = NULL;
	pf_regs old_regs = t->regs;
	err = mm_new(t->k, &mm);
	if (!err && (err = pf_ctx_new(mm->as, &ctx)))
		mm_free(mm);
	if (!err) {
		pf_ctx_set_owner(ctx, t);
		const char *why = NULL;
		t->mm = mm;
		t->ctx = ctx;
		err = k_exec_load(t, path, argv, envp, &why);
		if (err) {
			k_log(t->k, "execve %s: %s", path, why ? why : "failed");
			t->mm = old_mm;
			t->ctx = old_ctx;
			t->regs = old_regs;
			pf_ctx_free(ctx);
			mm_free(mm);
		} else {
			if (old_mm->users == 1)
				t->tg->cpu_base += pf_ctx_cputime_ns(old_ctx);
			pf_ctx_free(old_ctx);
			mm_put(old_mm);
			after_exec(t, path);
			caps_exec(t->tg);
			t->tg->execed = true;
			ptimers_free(t->k, t->tg);
			vfork_release(t); /* a vfork parent goes on now */
		}
	}
	free_strings(argv);
	free_strings(envp);
	return err;
}

SYSCALL(execve) { return do_exec(t, AT_FDCWD, a[0], a[1], a[2], 0); }
SYSCALL(execveat) { return do_exec(t, (int)a[0], a[1], a[2], a[3], (int)a[4]); }
