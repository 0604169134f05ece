/* How tasks end: exit and exit_group, a thread's last duties (the
 * clear_child_tid wake, the robust futex list), a process's (reparenting
 * its children to init, telling its parent), zombies, and the ids and
 * lists of the sandbox's tasks. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/time.h>
#include <string.h>

#include "../sentry.h"

#define PID_MAX 4194304 /* Linux's pid_max on 64-bit */

struct k_task *task_by_tid(struct k_kernel *k, int tid)
{
	for (struct k_task *t = k->tasks; t; t = t->next)
		if (t->tid == tid)
			return t;
	return NULL;
}

/* Depth first over the process tree from init: zombies are in it too. */
static struct k_thread_group *tg_walk(struct k_thread_group *tg, int pid)
{
	for (; tg; tg = tg->sibling) {
		if (tg->pid == pid)
			return tg;
		struct k_thread_group *c = tg_walk(tg->children, pid);
		if (c)
			return c;
	}
	return NULL;
}

struct k_thread_group *tg_by_pid(struct k_kernel *k, int pid)
{
	if (pid <= 0)
		return NULL;
	/* Live ones first: a flat list, no recursion. */
	for (struct k_task *t = k->tasks; t; t = t->next)
		if (t->tg->pid == pid)
			return t->tg;
	return tg_walk(k->init, pid);
}

static bool pid_in_use(struct k_kernel *k, struct k_thread_group *tg, int pid)
{
	for (; tg; tg = tg->sibling)
		if (tg->pid == pid || tg->pgid == pid || tg->sid == pid ||
		    pid_in_use(k, tg->children, pid))
			return true;
	return false;
}

int k_alloc_pid(struct k_kernel *k)
{
	/* As Linux: the next number after the last one given, wrapping past
	 * pid_max to 300, skipping ids still in use (as a pid, a thread id,
	 * a process group or a session). */
	for (int tries = 0; tries < PID_MAX; tries++) {
		int pid = k->last_pid + 1;
		if (pid >= PID_MAX)
			pid = 300;
		k->last_pid = pid;
		if (!task_by_tid(k, pid) && !pid_in_use(k, k->init, pid))
			return pid;
	}
	return -EAGAIN;
}

void k_task_link(struct k_task *t)
{
	struct k_kernel *k = t->k;
	t->prev = NULL;
	t->next = k->tasks;
	if (k->tasks)
		k->tasks->prev = t;
	k->tasks = t;
	k->ntasks++;
}

static void task_unlink(struct k_task *t)
{
	struct k_kernel *k = t->k;
	if (t->prev)
		t->prev->next = t->next;
	else if (k->tasks == t)
		k->tasks = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->next = t->prev = NULL;
	k->ntasks--;
}

void tg_release(struct k_thread_group *tg)
{
	if (!tg)
		return;
	if (tg->zombie && tg->k)
		tg->k->nzombies--;
	if (tg->parent) {
		for (struct k_thread_group **p = &tg->parent->children; *p; p = &(*p)->sibling)
			if (*p == tg) {
				*p = tg->sibling;
				break;
			}
	}
	/* Orphans left in a released group (init's at teardown) go too. */
	while (tg->children) {
		struct k_thread_group *c = tg->children;
		tg->children = c->sibling;
		c->parent = NULL;
		tg_release(c);
	}
	if (tg->k)
		ptimers_free(tg->k, tg);
	sem_exit(tg);
	sigq_drop(NULL, &tg->rtq, 0);
	free(tg->groups);
	free(tg);
}

void task_exit_group(struct k_task *t, int wstatus)
{
	struct k_thread_group *tg = t->tg;
	if (tg->exiting)
		return;
	tg->exiting = true;
	tg->exit_code = wstatus;
	tg->stopped = false;
	for (struct k_task *o = tg->threads; o; o = o->tg_next)
		if (o != t || o->state != TASK_RUNNABLE)
			k_task_kick(o);
}

SYSCALL(exit_group)
{
	task_exit_group(t, K_WEXITED((int)a[0]));
	return 0;
}

SYSCALL(exit)
{
	t->exiting = true;
	t->exit_code = K_WEXITED((int)a[0]);
	return 0;
}

/* The robust futex list (Linux's exit_robust_list): each lock this thread
 * holds gets FUTEX_OWNER_DIED, and a waiter is woken. */
#define ROBUST_LIMIT 2048

static void robust_one(struct k_task *t, uint64_t word)
{
	uint32_t v;
	if ((word & 3) || k_copy_in(t, &v, word, sizeof(v)))
		return;
	if ((v & FUTEX_TID_MASK) != (uint32_t)t->tid)
		return;
	uint32_t nv = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
	if (k_copy_out(t, word, &nv, sizeof(nv)))
		return;
	if (v & FUTEX_WAITERS)
		futex_wake_addr(t, word, 1);
}

static void exit_robust_list(struct k_task *t)
{
	struct {
		uint64_t next;
		int64_t offset;
		uint64_t pending;
	} head;
	if (!t->robust_list || k_copy_in(t, &head, t->robust_list, sizeof(head)))
		return;
	uint64_t entry = head.next;
	for (int i = 0; entry != t->robust_list && i < ROBUST_LIMIT; i++) {
		uint64_t next;
		if (k_copy_in(t, &next, entry & ~1UL, sizeof(next)))
			return;
		if (entry != head.pending)
			robust_one(t, (entry & ~1UL) + (uint64_t)head.offset);
		entry = next;
	}
	if (head.pending)
		robust_one(t, (head.pending & ~1UL) + (uint64_t)head.offset);
}

void tg_notify_parent(struct k_thread_group *tg, int why, int status)
{
	struct k_thread_group *parent = tg->parent;
	bool exited = why == CLD_EXITED || why == CLD_KILLED || why == CLD_DUMPED;
	if (!parent || parent->zombie) {
		/* Nobody will reap it (init is gone): it goes at once. */
		if (exited)
			tg_release(tg);
		return;
	}
	struct k_sigaction *act = &parent->act[SIGCHLD];
	int sig = exited ? tg->exit_signal : SIGCHLD;
	bool autoreap = exited && tg->exit_signal == SIGCHLD &&
			(act->handler == (uint64_t)SIG_IGN || (act->flags & SA_NOCLDWAIT));
	if (!exited && (act->flags & SA_NOCLDSTOP))
		sig = 0;
	if (sig) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		si.si_signo = sig;
		si.si_code = why;
		si.si_pid = tg->pid;
		si.si_uid = tg->uid;
		si.si_status = status;
		sig_send_group(parent, sig, &si);
	}
	waitq_wake_all(&parent->child_wait);
	if (autoreap) {
		parent->cpu_children += tg->cpu_base;
		tg_release(tg);
	}
}

/* The last thread is gone: children to init, a zombie for the parent. */
static void tg_exit(struct k_kernel *k, struct k_thread_group *tg)
{
	tg->zombie = true;
	tg->k = k;
	k->nzombies++;
	int code = tg->exit_code;
	tg->exit_status = (code & 0x7f) ? 128 + (code & 0x7f) : (code >> 8) & 0xff;
	tg->itimer[ITIMER_REAL].value = 0;
	ptimers_free(k, tg);
	sem_exit(tg);
	sigq_drop(k, &tg->rtq, 0); /* a dead process's queued signals */
	struct k_thread_group *init = k->init;
	while (tg != init && tg->children) {
		struct k_thread_group *c = tg->children;
		tg->children = c->sibling;
		c->parent = init;
		c->sibling = init->children;
		init->children = c;
		for (struct k_task *ct = c->threads; ct; ct = ct->tg_next)
			if (ct->pdeathsig)
				sig_send_thread(ct, ct->pdeathsig, NULL);
		/* Init hears of it with SIGCHLD, whatever the old parent would
		 * have got (Linux's reparent_leader). */
		if (c->exit_signal)
			c->exit_signal = SIGCHLD;
		if (c->zombie)
			tg_notify_parent(c, (c->exit_code & 0x7f) ? CLD_KILLED : CLD_EXITED,
					 (c->exit_code & 0x7f) ? c->exit_code & 0x7f
							      : (c->exit_code >> 8) & 0xff);
	}
	if (tg == init) {
		/* The pid namespace ends with its init. */
		k_kill_all(k);
		for (struct k_thread_group *c = tg->children, *next; c; c = next) {
			next = c->sibling;
			if (c->zombie)
				tg_release(c);
		}
		return;
	}
	int why = (code & 0x7f) ? ((code & K_WCORE) ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED;
	tg_notify_parent(tg, why, (code & 0x7f) ? code & 0x7f : (code >> 8) & 0xff);
}

/* A vfork parent waits for its child to exec or exit. */
void vfork_release(struct k_task *child)
{
	struct k_task *p = child->vfork_parent;
	if (!p)
		return;
	child->vfork_parent = NULL;
	p->vfork_child = NULL;
	k_task_wake(p);
}

void task_exit(struct k_task *t)
{
	struct k_kernel *k = t->k;
	struct k_thread_group *tg = t->tg;
	t->exiting = true;
	vfork_release(t);
	if (t->vfork_child) {
		t->vfork_child->vfork_parent = NULL;
		t->vfork_child = NULL;
	}
	if (t->mm) {
		exit_robust_list(t);
		if (t->clear_child_tid) {
			uint32_t zero = 0;
			if (k_copy_out(t, t->clear_child_tid, &zero, sizeof(zero)) == 0)
				futex_wake_addr(t, t->clear_child_tid, 1);
		}
	}
	for (struct k_task **p = &tg->threads; *p; p = &(*p)->tg_next)
		if (*p == t) {
			*p = t->tg_next;
			break;
		}
	t->tg_next = NULL;
	tg->nthreads--;
	tg->cpu_base += t->ctx && tg->nthreads == 0 ? pf_ctx_cputime_ns(t->ctx) : 0;
	/* The process's POSIX record locks go with it, even on files whose
	 * descriptions live on in other processes. */
	if (tg->nthreads == 0 && t->fdt)
		for (int fd = 0; fd < t->fdt->n; fd++)
			if (t->fdt->v[fd].f)
				locks_close(t, t->fdt->v[fd].f);
	pf_ctx_free(t->ctx);
	t->ctx = NULL;
	mm_put(t->mm);
	t->mm = NULL;
	fdt_put(t->fdt);
	t->fdt = NULL;
	fs_ctx_put(t->fs);
	t->fs = NULL;
	task_unlink(t);
	t->state = TASK_DEAD;
	if (tg->execing && tg->nthreads == 1)
		k_task_wake(tg->execing);
	if (tg->nthreads == 0) {
		if (!tg->exiting)
			tg->exit_code = t->exit_code;
		tg_exit(k, tg);
	}
}

void task_free(struct k_task *t)
{
	sigq_drop(t->k, &t->rtq, 0);
	fiber_free(t->fiber);
	free(t);
}
