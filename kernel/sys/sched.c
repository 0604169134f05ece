/* The scheduler's calls: yield, affinity, policy, priority (nice) and
 * getcpu.  Placement and priority on the host are the host's: the sandbox
 * keeps what the guest set and answers with it, within Linux's rules. */
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../sentry.h"

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif

SYSCALL(sched_yield)
{
	(void)t, (void)a;
	sched_yield();
	return 0;
}

SYSCALL(sched_getaffinity)
{
	int pid = (int)a[0];
	uint64_t len = (uint32_t)a[1]; /* an unsigned int in Linux's prototype */
	/* Linux: the buffer must hold nr_cpu_ids bits, in whole longs. */
	if (len * 8 < t->k->nr_cpu_ids || (len & 7))
		return -EINVAL;
	if (pid != 0 && pid != t->tid)
		return -ESRCH;
	uint64_t n = len < t->k->cpumask_bytes ? len : t->k->cpumask_bytes;
	if (k_copy_out(t, a[2], t->k->cpumask, n))
		return -EFAULT;
	return (long)n;
}

SYSCALL(sched_setaffinity)
{
	int pid = (int)a[0];
	uint8_t mask[128] = {0};
	uint64_t n = (uint32_t)a[1] < sizeof(mask) ? (uint32_t)a[1] : sizeof(mask);
	if (k_copy_in(t, mask, a[2], n))
		return -EFAULT;
	if (pid != 0 && pid != t->tid)
		return -ESRCH;
	/* Accepted if it names a CPU the sandbox has; placement is the host's. */
	for (uint64_t i = 0; i < n && i < t->k->cpumask_bytes; i++)
		if (mask[i] & t->k->cpumask[i])
			return 0;
	return -EINVAL;
}

SYSCALL(getcpu)
{
	/* A CPU the sandbox runs on: the sentry's (under ptrace the guest's
	 * too; the vDSO's getcpu tells a systrap thread its own). */
	int cpu = sched_getcpu();
	unsigned c = cpu < 0 ? 0 : (unsigned)cpu, node = 0;
	if (a[0] && k_copy_out(t, a[0], &c, sizeof(c)))
		return -EFAULT;
	if (a[1] && k_copy_out(t, a[1], &node, sizeof(node)))
		return -EFAULT;
	return 0;
}

/* The task pid names: 0 is the caller.  Only one task exists. */
static long find_task(struct k_task *t, int pid)
{
	if (pid < 0)
		return -EINVAL;
	return pid == 0 || pid == t->tid ? 0 : -ESRCH;
}

static bool rt_policy(int policy)
{
	return policy == SCHED_FIFO || policy == SCHED_RR;
}

SYSCALL(sched_get_priority_max)
{
	(void)t;
	int policy = (int)a[0];
	switch (policy) {
	case SCHED_FIFO: case SCHED_RR: return 99;
	case SCHED_OTHER: case SCHED_BATCH: case SCHED_IDLE: case 6 /* SCHED_DEADLINE */: return 0;
	}
	return -EINVAL;
}

SYSCALL(sched_get_priority_min)
{
	(void)t;
	int policy = (int)a[0];
	switch (policy) {
	case SCHED_FIFO: case SCHED_RR: return 1;
	case SCHED_OTHER: case SCHED_BATCH: case SCHED_IDLE: case 6 /* SCHED_DEADLINE */: return 0;
	}
	return -EINVAL;
}

SYSCALL(sched_getscheduler)
{
	long err = find_task(t, (int)a[0]);
	return err ? err : t->tg->sched_policy;
}

SYSCALL(sched_getparam)
{
	if (!a[1] || (int)a[0] < 0)
		return -EINVAL;
	long err = find_task(t, (int)a[0]);
	if (err)
		return err;
	struct sched_param p = {.sched_priority = t->tg->sched_priority};
	return k_copy_out(t, a[1], &p, sizeof(p));
}

/* Linux's __sched_setscheduler checks, for a task that exists. */
static long set_sched(struct k_task *t, int pid, int policy, uint64_t uparam)
{
	if (!uparam || pid < 0)
		return -EINVAL;
	struct sched_param p;
	if (k_copy_in(t, &p, uparam, sizeof(p)))
		return -EFAULT;
	long err = find_task(t, pid);
	if (err)
		return err;
	if (policy < 0)
		policy = t->tg->sched_policy;
	policy &= ~SCHED_RESET_ON_FORK;
	if (policy != SCHED_OTHER && policy != SCHED_BATCH && policy != SCHED_IDLE &&
	    !rt_policy(policy))
		return -EINVAL; /* SCHED_DEADLINE needs sched_setattr's parameters */
	if (p.sched_priority < 0 || p.sched_priority > 99 ||
	    rt_policy(policy) != (p.sched_priority != 0))
		return -EINVAL;
	if (t->tg->euid != 0) {
		/* Without CAP_SYS_NICE: real-time only up to RLIMIT_RTPRIO,
		 * and no leaving SCHED_IDLE. */
		uint64_t rtprio = t->tg->rlim[RLIMIT_RTPRIO].rlim_cur;
		if (rt_policy(policy) && (uint64_t)p.sched_priority > rtprio)
			return -EPERM;
		if (t->tg->sched_policy == SCHED_IDLE && policy != SCHED_IDLE)
			return -EPERM;
	}
	t->tg->sched_policy = policy;
	t->tg->sched_priority = p.sched_priority;
	return 0;
}

SYSCALL(sched_setscheduler)
{
	int policy = (int)a[1];
	if (policy < 0)
		return -EINVAL;
	return set_sched(t, (int)a[0], policy, a[2]);
}

SYSCALL(sched_setparam)
{
	return set_sched(t, (int)a[0], -1, a[1]);
}

SYSCALL(sched_rr_get_interval)
{
	long err = find_task(t, (int)a[0]);
	if (err)
		return err;
	/* SCHED_RR's 100 ms quantum; the others have none to report. */
	struct timespec ts = {0, t->tg->sched_policy == SCHED_RR ? 100000000 : 0};
	return k_copy_out(t, a[1], &ts, sizeof(ts));
}

/* PRIO_PROCESS and PRIO_PGRP name this process with 0 or its id;
 * PRIO_USER with 0 or its real uid (Linux matches task_uid). */
static long prio_target(struct k_task *t, int which, int who)
{
	switch (which) {
	case PRIO_PROCESS: return who == 0 || who == t->tg->pid ? 0 : -ESRCH;
	case PRIO_PGRP: return who == 0 || who == t->tg->pgid ? 0 : -ESRCH;
	case PRIO_USER: return who == 0 || (uint32_t)who == t->tg->uid ? 0 : -ESRCH;
	}
	return -EINVAL;
}

SYSCALL(getpriority)
{
	long err = prio_target(t, (int)a[0], (int)a[1]);
	/* The raw call answers 20 - nice, so that no answer is negative. */
	return err ? err : 20 - t->tg->nice;
}

SYSCALL(setpriority)
{
	long err = prio_target(t, (int)a[0], (int)a[1]);
	if (err)
		return err;
	int nice = (int)a[2];
	nice = nice < -20 ? -20 : nice > 19 ? 19 : nice;
	/* Raising priority needs CAP_SYS_NICE or room under RLIMIT_NICE. */
	uint64_t lim = t->tg->rlim[RLIMIT_NICE].rlim_cur;
	if (nice < t->tg->nice && t->tg->euid != 0 && (uint64_t)(20 - nice) > lim)
		return -EACCES;
	t->tg->nice = nice;
	return 0;
}
