/* Clocks and sleeping.  Wall, monotonic and boot time come from
 * time/clock.c (what the vDSO reads too); CPU clocks from the platform's
 * count of the guest's own time. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <time.h>

#include "../sentry.h"

#define NSEC 1000000000LL
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

static uint64_t cputime(struct k_task *t)
{
	return pf_ctx_cputime_ns(t->ctx);
}

/* Resolves a guest clock id: the host clock to read, or a CPU clock of this
 * task (*cpu set).  -EINVAL for ids that name nothing. */
static int resolve_clock(struct k_task *t, int64_t id, clockid_t *host, bool *cpu)
{
	*cpu = false;
	if (id < 0) {
		/* CPU clocks of a pid or tid: ~pid << 3 | per-thread << 2 | kind. */
		if ((id & 7) == 7 || (id & 3) == 3)
			return -EINVAL;
		int pid = (int)~(id >> 3);
		bool thread = id & 4;
		if (pid != 0 && pid != (thread ? t->tid : t->tg->pid))
			return -EINVAL;
		*cpu = true;
		return 0;
	}
	switch (id) {
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		*cpu = true;
		return 0;
	case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME:
	case CLOCK_TAI:
		*host = (clockid_t)id;
		return 0;
	case CLOCK_REALTIME_ALARM:
		*host = CLOCK_REALTIME;
		return 0;
	case CLOCK_BOOTTIME_ALARM:
		*host = CLOCK_BOOTTIME;
		return 0;
	default:
		return -EINVAL;
	}
}

static int clock_read(struct k_task *t, int64_t id, struct timespec *ts)
{
	clockid_t host;
	bool cpu;
	int err = resolve_clock(t, id, &host, &cpu);
	if (err)
		return err;
	if (cpu) {
		uint64_t ns = cputime(t);
		ts->tv_sec = (time_t)(ns / NSEC);
		ts->tv_nsec = (long)(ns % NSEC);
		return 0;
	}
	k_clock_guest_ts(host, ts);
	return 0;
}

SYSCALL(clock_gettime)
{
	struct timespec ts;
	int err = clock_read(t, (int64_t)(int32_t)a[0], &ts);
	if (err)
		return err;
	return k_copy_out(t, a[1], &ts, sizeof(ts));
}

SYSCALL(clock_getres)
{
	clockid_t host;
	bool cpu;
	int err = resolve_clock(t, (int64_t)(int32_t)a[0], &host, &cpu);
	if (err)
		return err;
	struct timespec res = {0, 1};
	if (!cpu && clock_getres(host, &res) != 0)
		return -errno;
	return a[1] ? k_copy_out(t, a[1], &res, sizeof(res)) : 0;
}

SYSCALL(gettimeofday)
{
	if (a[0]) {
		struct timespec ts;
		k_clock_ts(CLOCK_REALTIME, &ts);
		struct timeval tv = {ts.tv_sec, ts.tv_nsec / 1000};
		if (k_copy_out(t, a[0], &tv, sizeof(tv)))
			return -EFAULT;
	}
	if (a[1]) {
		struct { int minuteswest, dsttime; } tz = {0, 0};
		if (k_copy_out(t, a[1], &tz, sizeof(tz)))
			return -EFAULT;
	}
	return 0;
}

SYSCALL(time)
{
	struct timespec ts;
	k_clock_ts(CLOCK_REALTIME, &ts);
	int64_t now = ts.tv_sec;
	if (a[0] && k_copy_out(t, a[0], &now, sizeof(now)))
		return -EFAULT;
	return now;
}

static bool valid_ts(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < NSEC;
}

static struct timespec ts_sub(struct timespec a, struct timespec b)
{
	struct timespec r = {a.tv_sec - b.tv_sec, a.tv_nsec - b.tv_nsec};
	if (r.tv_nsec < 0)
		r.tv_sec--, r.tv_nsec += NSEC;
	if (r.tv_sec < 0)
		r.tv_sec = 0, r.tv_nsec = 0;
	return r;
}

/* Sleeps on host clock until the absolute deadline.  A signal to husk
 * ends it early; the caller arranges the restart. */
static long sleep_until(struct k_task *t, clockid_t clock, struct timespec deadline,
			bool relative, uint64_t rem)
{
	if (k_wait_host_signal(clock, &deadline) == -ETIMEDOUT)
		return 0;
	t->restart_fn = NULL;
	t->restart_clock = clock;
	t->restart_deadline = deadline;
	t->restart_rem = relative ? rem : 0;
	t->restart_nr = SYS_restart_syscall;
	if (relative && rem) {
		struct timespec now;
		k_clock_ts(clock, &now);
		struct timespec left = ts_sub(deadline, now);
		if (k_copy_out(t, rem, &left, sizeof(left)))
			return -EFAULT;
	}
	return relative ? -ERESTART_RESTARTBLOCK : -ERESTARTNOHAND;
}

SYSCALL(nanosleep)
{
	struct timespec req, now;
	if (k_copy_in(t, &req, a[0], sizeof(req)))
		return -EFAULT;
	if (!valid_ts(&req))
		return -EINVAL;
	k_clock_ts(CLOCK_MONOTONIC, &now);
	return sleep_until(t, CLOCK_MONOTONIC, k_ts_add(now, req), true, a[1]);
}

SYSCALL(clock_nanosleep)
{
	int64_t id = (int64_t)(int32_t)a[0];
	int flags = (int)a[1];
	clockid_t host;
	bool cpu;
	switch (id) {
	case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME: case CLOCK_TAI:
	case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
		resolve_clock(t, id, &host, &cpu);
		break;
	case CLOCK_MONOTONIC_RAW: case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE:
		return -ENOTSUP;
	case CLOCK_THREAD_CPUTIME_ID:
		return -EOPNOTSUPP;
	default:
		/* CPU clocks: the sleeper's own never advance while it sleeps. */
		return -EINVAL;
	}
	struct timespec req, now;
	if (k_copy_in(t, &req, a[2], sizeof(req)))
		return -EFAULT;
	if (!valid_ts(&req))
		return -EINVAL;
	if (flags & TIMER_ABSTIME)
		return sleep_until(t, host, k_ts_from_guest(host, req), false, 0);
	k_clock_ts(host, &now);
	return sleep_until(t, host, k_ts_add(now, req), true, a[3]);
}

SYSCALL(restart_syscall)
{
	/* Nothing interrupted to resume: Linux's do_no_restart_syscall. */
	if (!t->restart_nr)
		return -EINTR;
	t->restart_nr = 0;
	if (t->restart_fn) {
		long (*fn)(struct k_task *) = t->restart_fn;
		t->restart_fn = NULL;
		return fn(t);
	}
	return sleep_until(t, t->restart_clock, t->restart_deadline, t->restart_rem != 0,
			   t->restart_rem);
}
