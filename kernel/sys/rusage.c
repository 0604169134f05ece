/* Resource usage: getrusage and times.  The guest's user time is the CPU
 * time of the stub that runs its code; its system time is the sentry
 * thread's, which does the guest's syscalls (gVisor splits them the same
 * way).  With one task per sandbox the sentry thread's time is all this
 * task's. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <time.h>

#include "../sentry.h"

#define USER_HZ 100

static uint64_t sentry_cputime_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct timeval ns_tv(uint64_t ns)
{
	return (struct timeval){(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull / 1000)};
}

SYSCALL(getrusage)
{
	int who = (int)a[0];
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	switch (who) {
	case RUSAGE_SELF:
	case RUSAGE_THREAD:
		ru.ru_utime = ns_tv(pf_ctx_cputime_ns(t->ctx));
		ru.ru_stime = ns_tv(sentry_cputime_ns());
		ru.ru_maxrss = (long)(mem_peak(t->k) / 1024);
		break;
	case RUSAGE_CHILDREN:
		break; /* no child has been waited for */
	default:
		return -EINVAL;
	}
	return k_copy_out(t, a[1], &ru, sizeof(ru));
}

SYSCALL(times)
{
	if (a[0]) {
		struct tms tms;
		memset(&tms, 0, sizeof(tms));
		tms.tms_utime = (clock_t)(pf_ctx_cputime_ns(t->ctx) / (1000000000ull / USER_HZ));
		tms.tms_stime = (clock_t)(sentry_cputime_ns() / (1000000000ull / USER_HZ));
		if (k_copy_out(t, a[0], &tms, sizeof(tms)))
			return -EFAULT;
	}
	/* Clock ticks since the host booted, as Linux's jiffies count them. */
	struct timespec now;
	k_clock_guest_ts(CLOCK_BOOTTIME, &now);
	return (long)((uint64_t)now.tv_sec * USER_HZ + (uint64_t)now.tv_nsec / (1000000000ull / USER_HZ));
}
