/* New tasks: clone, clone3, fork and vfork.  A thread shares its creator's
 * address space (a new stub thread in the same host process); a process
 * gets a copy-on-write copy of it in a new stub process (mm_fork).  The
 * sandbox's task limit is checked here: a fork bomb gets EAGAIN. */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "../sentry.h"

#define ERESTARTNOINTR 513
#define CLONE_NS_FLAGS                                                                  \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |     \
	 CLONE_NEWNET | CLONE_NEWCGROUP)
/* Everything clone(2) knows of, CSIGNAL aside. */
#define CLONE_KNOWN                                                                     \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_PIDFD | CLONE_PTRACE | \
	 CLONE_VFORK | CLONE_PARENT | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |        \
	 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_UNTRACED |    \
	 CLONE_CHILD_SETTID | CLONE_IO | CLONE_NS_FLAGS)

struct clone_req {
	uint64_t flags;
	int exit_signal;
	uint64_t stack;     /* 0: the caller's */
	uint64_t tls;
	uint64_t parent_tid, child_tid;
	bool clear_sighand; /* clone3's CLONE_CLEAR_SIGHAND */
};

static struct k_thread_group *tg_fork(struct k_thread_group *p)
{
	struct k_thread_group *tg = calloc(1, sizeof(*tg));
	if (!tg)
		return NULL;
	memcpy(tg->act, p->act, sizeof(tg->act));
	memcpy(tg->rlim, p->rlim, sizeof(tg->rlim));
	tg->uid = p->uid, tg->euid = p->euid, tg->suid = p->suid, tg->fsuid = p->fsuid;
	tg->gid = p->gid, tg->egid = p->egid, tg->sgid = p->sgid, tg->fsgid = p->fsgid;
	if (p->ngroups) {
		tg->groups = malloc((size_t)p->ngroups * sizeof(*tg->groups));
		if (!tg->groups) {
			free(tg);
			return NULL;
		}
		memcpy(tg->groups, p->groups, (size_t)p->ngroups * sizeof(*tg->groups));
		tg->ngroups = p->ngroups;
	}
	tg->dumpable = p->dumpable;
	tg->cap_effective = p->cap_effective;
	tg->cap_permitted = p->cap_permitted;
	tg->cap_inheritable = p->cap_inheritable;
	tg->sched_policy = p->sched_policy;
	tg->sched_priority = p->sched_priority;
	tg->nice = p->nice;
	tg->pgid = p->pgid;
	tg->sid = p->sid;
	/* Interval timers and pending signals are not inherited. */
	return tg;
}

static long do_clone(struct k_task *t, const struct clone_req *rq)
{
	struct k_kernel *k = t->k;
	uint64_t fl = rq->flags;
	if ((fl & CLONE_THREAD) && !(fl & CLONE_SIGHAND))
		return -EINVAL;
	if ((fl & CLONE_SIGHAND) && !(fl & CLONE_VM))
		return -EINVAL;
	if ((fl & CLONE_FS) && (fl & CLONE_NEWNS))
		return -EINVAL;
	if ((fl & CLONE_THREAD) && (fl & (CLONE_NEWUSER | CLONE_NEWPID)))
		return -EINVAL;
	if ((fl & CLONE_PIDFD) && ((fl & CLONE_THREAD) || (fl & CLONE_PARENT_SETTID)))
		return -EINVAL;
	if ((fl & CLONE_PARENT) && t->tg == k->init)
		return -EINVAL; /* init's siblings would be outside the namespace */
	/* New namespaces inside the sandbox are not offered (yet). */
	if (fl & CLONE_NS_FLAGS)
		return -EPERM;
	if (fl & CLONE_PIDFD)
		return -EINVAL; /* no pidfds in the sentry yet */
	/* A group that is leaving, or whose execve is ending its other
	 * threads, makes no new ones (the call restarts: the caller is about
	 * to go anyway). */
	if (t->exiting || t->tg->exiting || t->tg->execing)
		return -ERESTARTNOINTR;
	/* Zombies count: each holds its thread group until reaped. */
	if (k->ntasks + k->nzombies >= k->max_tasks)
		return -EAGAIN;
	struct rlimit *nproc = &t->tg->rlim[RLIMIT_NPROC];
	if (t->tg->euid != 0 && nproc->rlim_cur != RLIM_INFINITY &&
	    (uint64_t)k->ntasks >= nproc->rlim_cur)
		return -EAGAIN;

	struct k_task *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->k = k;
	int tid = k_alloc_pid(k);
	if (tid < 0) {
		free(n);
		return tid;
	}
	n->tid = tid;
	long err = 0;
	if (fl & CLONE_VM) {
		n->mm = mm_get(t->mm);
	} else if ((err = mm_fork(t->mm, &n->mm))) {
		free(n);
		return err;
	}
	if ((err = pf_ctx_new(n->mm->as, &n->ctx)))
		goto fail;
	pf_ctx_set_owner(n->ctx, n);
	n->fdt = (fl & CLONE_FILES) ? (t->fdt->refs++, t->fdt) : fdt_dup(t->fdt);
	n->fs = (fl & CLONE_FS) ? (t->fs->refs++, t->fs) : fs_ctx_dup(t->fs);
	if (!n->fdt || !n->fs) {
		err = -ENOMEM;
		goto fail;
	}
	struct k_thread_group *tg;
	if (fl & CLONE_THREAD) {
		tg = t->tg;
	} else {
		if (!(tg = tg_fork(t->tg))) {
			err = -ENOMEM;
			goto fail;
		}
		if (rq->clear_sighand)
			/* Handlers back to default; ignored stays ignored. */
			for (int sig = 1; sig <= K_NSIG; sig++)
				if (tg->act[sig].handler != (uint64_t)SIG_IGN)
					tg->act[sig] = (struct k_sigaction){.handler = (uint64_t)SIG_DFL};
		tg->pid = tid;
		tg->parent = (fl & CLONE_PARENT) ? t->tg->parent : t->tg;
		tg->exit_signal = rq->exit_signal;
		tg->sibling = tg->parent->children;
		tg->parent->children = tg;
	}
	n->tg = tg;
	n->tg_next = tg->threads;
	tg->threads = n;
	tg->nthreads++;

	n->regs = t->regs;
	n->regs.rax = 0;
	if (rq->stack)
		n->regs.rsp = rq->stack;
	if (fl & CLONE_SETTLS)
		n->regs.fs_base = rq->tls;
	n->sigmask = t->sigmask;
	/* A thread with a stack of its own does not share the alternate one. */
	if (!((fl & CLONE_VM) && !(fl & CLONE_VFORK))) {
		n->sas_sp = t->sas_sp, n->sas_size = t->sas_size, n->sas_flags = t->sas_flags;
	}
	memcpy(n->comm, t->comm, sizeof(n->comm));
	n->no_new_privs = t->no_new_privs;
	n->keepcaps = t->keepcaps;
	/* The floating point state goes along. */
	pf_fpregs fp;
	if (pf_ctx_get_fpregs(t->ctx, &fp) == 0)
		pf_ctx_set_fpregs(n->ctx, &fp);
	if (fl & CLONE_CHILD_CLEARTID)
		n->clear_child_tid = rq->child_tid;
	uint32_t id = (uint32_t)tid;
	if (fl & CLONE_PARENT_SETTID)
		k_copy_out(t, rq->parent_tid, &id, sizeof(id));
	if (fl & CLONE_CHILD_SETTID)
		k_copy_out(n, rq->child_tid, &id, sizeof(id));
	k_task_link(n);
	k_task_start(n);
	if (fl & CLONE_VFORK) {
		/* The parent sleeps until the child execs or exits; only a
		 * fatal signal ends that early. */
		n->vfork_parent = t;
		t->vfork_child = n;
		struct k_sleep s = {.nointr = true};
		while (t->vfork_child && !t->exiting && !t->tg->exiting)
			k_sleep(t, &s);
		if (t->vfork_child) {
			t->vfork_child->vfork_parent = NULL;
			t->vfork_child = NULL;
		}
	}
	return tid;
fail:
	pf_ctx_free(n->ctx);
	if (n->fdt)
		fdt_put(n->fdt);
	fs_ctx_put(n->fs);
	mm_put(n->mm);
	free(n);
	return err;
}

SYSCALL(clone)
{
	/* x86-64 order: flags, stack, parent_tid, child_tid, tls. */
	uint64_t flags = a[0];
	if (flags & ~(CLONE_KNOWN | CSIGNAL))
		return -EINVAL;
	struct clone_req rq = {
		.flags = flags & ~(uint64_t)CSIGNAL,
		.exit_signal = (int)(flags & CSIGNAL),
		.stack = a[1],
		.parent_tid = a[2],
		.child_tid = a[3],
		.tls = a[4],
	};
	if (rq.exit_signal > K_NSIG)
		return -EINVAL;
	/* Linux ignores CSIGNAL for threads: they signal nobody at exit. */
	if (flags & CLONE_THREAD)
		rq.exit_signal = 0;
	return do_clone(t, &rq);
}

SYSCALL(fork)
{
	struct clone_req rq = {.exit_signal = SIGCHLD};
	return do_clone(t, &rq);
}

SYSCALL(vfork)
{
	struct clone_req rq = {.flags = CLONE_VM | CLONE_VFORK, .exit_signal = SIGCHLD};
	return do_clone(t, &rq);
}

/* struct clone_args of clone3(2), as far as Linux 5.7 (with cgroup). */
struct k_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
		set_tid, set_tid_size, cgroup;
};

#define CLONE_ARGS_SIZE_VER0 64

SYSCALL(clone3)
{
	uint64_t size = a[1];
	struct k_clone_args ca;
	memset(&ca, 0, sizeof(ca));
	if (size < CLONE_ARGS_SIZE_VER0)
		return -EINVAL;
	if (size > PAGE_SIZE)
		return -E2BIG;
	size_t take = size < sizeof(ca) ? (size_t)size : sizeof(ca);
	if (k_copy_in(t, &ca, a[0], take))
		return -EFAULT;
	/* A newer caller's extra fields must be zero (copy_struct_from_user). */
	for (uint64_t off = sizeof(ca); off < size; off += 8) {
		uint64_t word = 0;
		size_t n = size - off < 8 ? (size_t)(size - off) : 8;
		if (k_copy_in(t, &word, a[0] + off, n))
			return -EFAULT;
		if (word)
			return -E2BIG;
	}
	if (ca.flags & ~(uint64_t)(CLONE_KNOWN | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP))
		return -EINVAL;
	if (ca.flags & (CLONE_DETACHED | CSIGNAL))
		return -EINVAL;
	if (ca.exit_signal > K_NSIG)
		return -EINVAL;
	if (ca.set_tid || ca.set_tid_size)
		return ca.set_tid_size > 32 ? -EINVAL : -EPERM; /* choosing pids needs privilege */
	if ((ca.flags & CLONE_CLEAR_SIGHAND) && (ca.flags & CLONE_SIGHAND))
		return -EINVAL;
	if (ca.flags & CLONE_INTO_CGROUP)
		return -EINVAL;
	if ((ca.stack == 0) != (ca.stack_size == 0))
		return -EINVAL;
	if (ca.stack && ca.stack + ca.stack_size < ca.stack)
		return -EINVAL;
	struct clone_req rq = {
		.flags = ca.flags & ~(uint64_t)CLONE_CLEAR_SIGHAND,
		.exit_signal = (ca.flags & CLONE_THREAD) ? 0 : (int)ca.exit_signal,
		.stack = ca.stack ? ca.stack + ca.stack_size : 0,
		.parent_tid = ca.parent_tid,
		.child_tid = ca.child_tid,
		.tls = ca.tls,
		.clear_sighand = (ca.flags & CLONE_CLEAR_SIGHAND) != 0,
	};
	return do_clone(t, &rq);
}
