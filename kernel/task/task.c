/* Task identity and lifetime: the id syscalls, exit, set_tid_address, the
 * robust futex list, arch_prctl and prctl. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <string.h>
#include <sys/prctl.h>

#include "../sentry.h"

SYSCALL(getpid) { (void)a; return t->tg->pid; }
SYSCALL(gettid) { (void)a; return t->tid; }
SYSCALL(getppid) { (void)a; return t->tg->ppid; }
SYSCALL(getuid) { (void)a; return t->tg->uid; }
SYSCALL(geteuid) { (void)a; return t->tg->euid; }
SYSCALL(getgid) { (void)a; return t->tg->gid; }
SYSCALL(getegid) { (void)a; return t->tg->egid; }
SYSCALL(getpgrp) { (void)a; return t->tg->pgid; }
SYSCALL(getsid)
{
	int pid = (int)a[0];
	if (pid != 0 && pid != t->tg->pid)
		return -ESRCH;
	return t->tg->sid;
}
SYSCALL(getpgid)
{
	int pid = (int)a[0];
	if (pid != 0 && pid != t->tg->pid)
		return -ESRCH;
	return t->tg->pgid;
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
	if (size < 0)
		return -EINVAL;
	return 0; /* no supplementary groups in the sandbox */
}

void task_exit_group(struct k_task *t, int status)
{
	if (t->tg->exiting)
		return;
	t->tg->exiting = true;
	t->tg->exit_status = status;
}

SYSCALL(exit_group)
{
	task_exit_group(t, (int)(a[0] & 0xff));
	return 0;
}

SYSCALL(exit)
{
	/* The last thread leaving ends the thread group. */
	if (t->tg->nthreads <= 1)
		task_exit_group(t, (int)(a[0] & 0xff));
	return 0;
}

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
