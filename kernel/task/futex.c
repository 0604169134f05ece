/* futex(2) for a sandbox whose thread group has one thread: nothing else
 * can wake a waiter, so WAIT sleeps until its timeout or a signal, WAKE
 * finds nobody, and WAKE_OP still does its atomic operation.  Threads
 * bring the wait queues. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdint.h>
#include <time.h>

#include "../sentry.h"

#define ERESTARTSYS 512

static long futex_wait(struct k_task *t, uint64_t uaddr, uint32_t val, uint64_t utime,
		       bool absolute, clockid_t clock)
{
	if (uaddr & 3)
		return -EINVAL;
	struct timespec ts, deadline;
	if (utime) {
		if (k_copy_in(t, &ts, utime, sizeof(ts)))
			return -EFAULT;
		if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
			return -EINVAL;
	}
	uint32_t cur;
	if (k_copy_in(t, &cur, uaddr, sizeof(cur)))
		return -EFAULT;
	if (cur != val)
		return -EAGAIN;
	if (!utime) {
		/* No one can wake us but a signal. */
		k_wait_host_signal(CLOCK_MONOTONIC, NULL);
		return -ERESTARTSYS;
	}
	if (absolute) {
		deadline = ts;
	} else {
		struct timespec now;
		clock_gettime(clock, &now);
		deadline = k_ts_add(now, ts);
	}
	/* A timed wait still ends only by signal or timeout: no other waker. */
	return k_wait_host_signal(clock, &deadline) == -EINTR ? -ERESTARTSYS : -ETIMEDOUT;
}

/* FUTEX_WAKE_OP's operation on the word at uaddr2. */
static long wake_op(struct k_task *t, uint64_t uaddr2, uint32_t encoded)
{
	unsigned op = (encoded >> 28) & 7, cmp = (encoded >> 24) & 15;
	uint32_t oparg = (encoded >> 12) & 0xfff, cmparg = encoded & 0xfff;
	if (encoded & (1U << 31))
		oparg = 1U << (oparg & 31);
	if (uaddr2 & 3)
		return -EINVAL;
	uint32_t old;
	if (k_copy_in(t, &old, uaddr2, sizeof(old)))
		return -EFAULT;
	uint32_t nv;
	switch (op) {
	case FUTEX_OP_SET: nv = oparg; break;
	case FUTEX_OP_ADD: nv = old + oparg; break;
	case FUTEX_OP_OR: nv = old | oparg; break;
	case FUTEX_OP_ANDN: nv = old & ~oparg; break;
	case FUTEX_OP_XOR: nv = old ^ oparg; break;
	default: return -ENOSYS;
	}
	if (cmp > FUTEX_OP_CMP_GE)
		return -ENOSYS;
	if (k_copy_out(t, uaddr2, &nv, sizeof(nv)))
		return -EFAULT;
	(void)cmparg; /* the comparison only chooses whom to wake: nobody waits */
	return 0;
}

SYSCALL(futex)
{
	uint64_t uaddr = a[0], utime = a[3], uaddr2 = a[4];
	int op = (int)a[1];
	uint32_t val = (uint32_t)a[2], val3 = (uint32_t)a[5];
	int cmd = op & FUTEX_CMD_MASK;
	clockid_t clock = (op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
	if ((op & FUTEX_CLOCK_REALTIME) && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET &&
	    cmd != FUTEX_WAIT_REQUEUE_PI && cmd != FUTEX_LOCK_PI2)
		return -ENOSYS;
	switch (cmd) {
	case FUTEX_WAIT:
		return futex_wait(t, uaddr, val, utime, false, clock);
	case FUTEX_WAIT_BITSET:
		if (!val3)
			return -EINVAL;
		return futex_wait(t, uaddr, val, utime, true, clock);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
		if (cmd == FUTEX_WAKE_BITSET && !val3)
			return -EINVAL;
		if (uaddr & 3)
			return -EINVAL;
		return 0;
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE: {
		if ((uaddr & 3) || (uaddr2 & 3))
			return -EINVAL;
		if (cmd == FUTEX_CMP_REQUEUE) {
			uint32_t cur;
			if (k_copy_in(t, &cur, uaddr, sizeof(cur)))
				return -EFAULT;
			if (cur != val3)
				return -EAGAIN;
		}
		return 0;
	}
	case FUTEX_WAKE_OP:
		if (uaddr & 3)
			return -EINVAL;
		return wake_op(t, uaddr2, val3);
	default:
		return -ENOSYS;
	}
}
