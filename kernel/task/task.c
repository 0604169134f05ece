/* Task identity and lifetime: the id syscalls, exit, set_tid_address, the
 * robust futex list, arch_prctl and prctl. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "../sentry.h"

SYSCALL(getpid) { (void)a; return t->tg->pid; }
SYSCALL(gettid) { (void)a; return t->tid; }
SYSCALL(getppid) { (void)a; return tg_ppid(t->tg); }
SYSCALL(getuid) { (void)a; return t->tg->uid; }
SYSCALL(geteuid) { (void)a; return t->tg->euid; }
SYSCALL(getgid) { (void)a; return t->tg->gid; }
SYSCALL(getegid) { (void)a; return t->tg->egid; }
SYSCALL(getpgrp) { (void)a; return t->tg->pgid; }

int tg_ppid(const struct k_thread_group *tg)
{
	return tg->parent ? tg->parent->pid : 0;
}

/* The live (or zombie) process pid names; 0 is the caller's. */
static struct k_thread_group *lookup(struct k_task *t, int pid)
{
	return pid == 0 ? t->tg : tg_by_pid(t->k, pid);
}

SYSCALL(getsid)
{
	struct k_thread_group *tg = lookup(t, (int)a[0]);
	return tg ? tg->sid : -ESRCH;
}

SYSCALL(getpgid)
{
	struct k_thread_group *tg = lookup(t, (int)a[0]);
	return tg ? tg->pgid : -ESRCH;
}

/* Whether a process group exists in session sid. */
static bool pgrp_in_session(struct k_kernel *k, int pgid, int sid)
{
	for (struct k_task *o = k->tasks; o; o = o->next)
		if (o->tg->pgid == pgid && o->tg->sid == sid)
			return true;
	return false;
}

SYSCALL(setpgid)
{
	int pid = (int)a[0], pgid = (int)a[1];
	if (!pid)
		pid = t->tg->pid;
	if (!pgid)
		pgid = pid;
	if (pgid < 0)
		return -EINVAL;
	struct k_thread_group *tg = tg_by_pid(t->k, pid);
	if (!tg || tg->zombie)
		return -ESRCH;
	/* Itself or a child, a child in the caller's session that has not
	 * exec'd since fork. */
	if (tg != t->tg) {
		if (tg->parent != t->tg)
			return -ESRCH;
		if (tg->sid != t->tg->sid)
			return -EPERM;
		if (tg->execed)
			return -EACCES;
	}
	if (tg->pid == tg->sid)
		return -EPERM; /* a session leader */
	if (pgid != tg->pid && !pgrp_in_session(t->k, pgid, t->tg->sid))
		return -EPERM;
	tg->pgid = pgid;
	return 0;
}

SYSCALL(setsid)
{
	(void)a;
	struct k_thread_group *tg = t->tg;
	/* Not for a process group leader, nor if its pid names a group. */
	for (struct k_task *o = t->k->tasks; o; o = o->next)
		if (o->tg->pgid == tg->pid)
			return -EPERM;
	tg->sid = tg->pgid = tg->pid;
	return tg->sid;
}

SYSCALL(getresuid)
{
	uint32_t ids[3] = {t->tg->uid, t->tg->euid, t->tg->suid};
	for (int i = 0; i < 3; i++)
		if (k_copy_out(t, a[i], &ids[i], sizeof(ids[i])))
			return -EFAULT;
	return 0;
}

SYSCALL(getresgid)
{
	uint32_t ids[3] = {t->tg->gid, t->tg->egid, t->tg->sgid};
	for (int i = 0; i < 3; i++)
		if (k_copy_out(t, a[i], &ids[i], sizeof(ids[i])))
			return -EFAULT;
	return 0;
}

SYSCALL(getgroups)
{
	int size = (int)a[0];
	struct k_thread_group *tg = t->tg;
	if (size < 0)
		return -EINVAL;
	if (size == 0)
		return tg->ngroups;
	if (size < tg->ngroups)
		return -EINVAL;
	if (tg->ngroups && k_copy_out(t, a[1], tg->groups, (size_t)tg->ngroups * sizeof(uint32_t)))
		return -EFAULT;
	return tg->ngroups;
}

#define NGROUPS_MAX_K 65536

SYSCALL(setgroups)
{
	int size = (int)a[0];
	if (size < 0 || size > NGROUPS_MAX_K)
		return -EINVAL;
	if (t->tg->euid != 0)
		return -EPERM;
	uint32_t *g = NULL;
	if (size) {
		g = malloc((size_t)size * sizeof(*g));
		if (!g)
			return -ENOMEM;
		if (k_copy_in(t, g, a[1], (size_t)size * sizeof(*g))) {
			free(g);
			return -EFAULT;
		}
	}
	free(t->tg->groups);
	t->tg->groups = g;
	t->tg->ngroups = size;
	return 0;
}

/* The set*id family, with "privileged" meaning an effective id of 0
 * (CAP_SETUID/CAP_SETGID in the sandbox's user namespace). */
static bool is_one_of(uint32_t id, uint32_t a, uint32_t b, uint32_t c)
{
	return id == a || id == b || id == c;
}

static long set_ids(struct k_task *t, bool gid, uint32_t r, uint32_t e, uint32_t s, bool res)
{
	struct k_thread_group *tg = t->tg;
	uint32_t *pr = gid ? &tg->gid : &tg->uid, *pe = gid ? &tg->egid : &tg->euid;
	uint32_t *ps = gid ? &tg->sgid : &tg->suid, *pf = gid ? &tg->fsgid : &tg->fsuid;
	bool priv = tg->euid == 0;
	const uint32_t none = (uint32_t)-1;
	if (!priv) {
		if (res) {
			if ((r != none && !is_one_of(r, *pr, *pe, *ps)) ||
			    (e != none && !is_one_of(e, *pr, *pe, *ps)) ||
			    (s != none && !is_one_of(s, *pr, *pe, *ps)))
				return -EPERM;
		} else {
			/* setre*id: the real id from real or effective, the
			 * effective one from any of the three. */
			if ((r != none && r != *pr && r != *pe) ||
			    (e != none && !is_one_of(e, *pr, *pe, *ps)))
				return -EPERM;
		}
	}
	uint32_t old_r = *pr, old_ur = tg->uid, old_ue = tg->euid, old_us = tg->suid;
	if (r != none)
		*pr = r;
	if (e != none)
		*pe = e;
	if (res) {
		if (s != none)
			*ps = s;
	} else if (r != none || (e != none && e != old_r)) {
		*ps = *pe;
	}
	*pf = *pe;
	if (!gid)
		caps_setuid(tg, old_ur, old_ue, old_us, t->keepcaps);
	return 0;
}

static long do_setid(struct k_task *t, bool gid, uint32_t id)
{
	struct k_thread_group *tg = t->tg;
	if (id == (uint32_t)-1)
		return -EINVAL;
	if (tg->euid == 0)
		return set_ids(t, gid, id, id, id, true);
	uint32_t r = gid ? tg->gid : tg->uid, s = gid ? tg->sgid : tg->suid;
	if (id != r && id != s)
		return -EPERM;
	return set_ids(t, gid, (uint32_t)-1, id, (uint32_t)-1, true);
}

SYSCALL(setuid) { return do_setid(t, false, (uint32_t)a[0]); }
SYSCALL(setgid) { return do_setid(t, true, (uint32_t)a[0]); }
SYSCALL(setreuid) { return set_ids(t, false, (uint32_t)a[0], (uint32_t)a[1], 0, false); }
SYSCALL(setregid) { return set_ids(t, true, (uint32_t)a[0], (uint32_t)a[1], 0, false); }
SYSCALL(setresuid)
{
	return set_ids(t, false, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], true);
}
SYSCALL(setresgid)
{
	return set_ids(t, true, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], true);
}

static long do_setfsid(struct k_task *t, bool gid, uint32_t id)
{
	struct k_thread_group *tg = t->tg;
	uint32_t *pf = gid ? &tg->fsgid : &tg->fsuid, old = *pf;
	uint32_t r = gid ? tg->gid : tg->uid, e = gid ? tg->egid : tg->euid;
	uint32_t s = gid ? tg->sgid : tg->suid;
	/* Returns the old id whether or not the change is allowed. */
	if (id != (uint32_t)-1 && (tg->euid == 0 || is_one_of(id, r, e, s) || id == old))
		*pf = id;
	return old;
}

SYSCALL(setfsuid) { return do_setfsid(t, false, (uint32_t)a[0]); }
SYSCALL(setfsgid) { return do_setfsid(t, true, (uint32_t)a[0]); }

SYSCALL(set_tid_address)
{
	t->clear_child_tid = a[0];
	return t->tid;
}

/* struct robust_list_head is three words on x86-64. */
#define ROBUST_HEAD_SIZE 24

SYSCALL(set_robust_list)
{
	if (a[1] != ROBUST_HEAD_SIZE)
		return -EINVAL;
	t->robust_list = a[0];
	t->robust_len = a[1];
	return 0;
}

SYSCALL(get_robust_list)
{
	int pid = (int)a[0];
	if (pid != 0 && pid != t->tid)
		return -ESRCH;
	uint64_t head = t->robust_list, len = ROBUST_HEAD_SIZE;
	if (k_copy_out(t, a[2], &len, sizeof(len)) || k_copy_out(t, a[1], &head, sizeof(head)))
		return -EFAULT;
	return 0;
}

SYSCALL(arch_prctl)
{
	int code = (int)a[0];
	uint64_t addr = a[1];
	switch (code) {
	case ARCH_SET_FS:
	case ARCH_SET_GS:
		/* Linux refuses bases at or above TASK_SIZE_MAX. */
		if (addr >= 0x7ffffffff000UL)
			return -EPERM;
		if (code == ARCH_SET_FS)
			t->regs.fs_base = addr;
		else
			t->regs.gs_base = addr;
		return 0;
	case ARCH_GET_FS:
	case ARCH_GET_GS: {
		uint64_t v = code == ARCH_GET_FS ? t->regs.fs_base : t->regs.gs_base;
		return k_copy_out(t, addr, &v, sizeof(v));
	}
	case ARCH_GET_CPUID:
		return 1; /* cpuid is not faulting */
	case ARCH_SET_CPUID:
		/* Faulting cpuid would need the host's cooperation. */
		return -ENODEV;
	default:
		return -EINVAL;
	}
}

SYSCALL(prctl)
{
	int op = (int)a[0];
	switch (op) {
	case PR_SET_NAME: {
		char name[16] = {0};
		/* Linux copies at most 15 bytes and truncates silently. */
		long n = k_copy_string(t, name, a[1], sizeof(name) - 1);
		if (n == -EFAULT)
			return -EFAULT;
		name[15] = 0;
		memcpy(t->comm, name, sizeof(name));
		return 0;
	}
	case PR_GET_NAME:
		return k_copy_out(t, a[1], t->comm, sizeof(t->comm));
	case PR_SET_PDEATHSIG:
		if (a[1] > K_NSIG)
			return -EINVAL;
		t->pdeathsig = (int)a[1];
		return 0;
	case PR_GET_PDEATHSIG:
		return k_copy_out(t, a[1], &t->pdeathsig, sizeof(int));
	case PR_GET_DUMPABLE:
		return t->tg->dumpable;
	case PR_SET_DUMPABLE:
		if (a[1] > 1)
			return -EINVAL;
		t->tg->dumpable = (int)a[1];
		return 0;
	case PR_SET_NO_NEW_PRIVS:
		if (a[1] != 1 || a[2] || a[3] || a[4])
			return -EINVAL;
		t->no_new_privs = true;
		return 0;
	case PR_GET_NO_NEW_PRIVS:
		if (a[1] || a[2] || a[3] || a[4])
			return -EINVAL;
		return t->no_new_privs;
	case PR_GET_KEEPCAPS:
		return t->keepcaps;
	case PR_SET_KEEPCAPS:
		if (a[1] > 1)
			return -EINVAL;
		t->keepcaps = (int)a[1];
		return 0;
	case PR_GET_TIMERSLACK:
		return 50000;
	case PR_GET_SECCOMP:
		return 0;
	default:
		return -EINVAL;
	}
}

SYSCALL(rseq)
{
	/* Restartable sequences would need the sentry to abort guest critical
	 * sections on preemption; the C libraries fall back without them. */
	return -ENOSYS;
}
