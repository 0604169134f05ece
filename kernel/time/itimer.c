/* Interval timers: alarm, setitimer, getitimer.  ITIMER_REAL is a
 * deadline the scheduler wakes for; it becomes the group's SIGALRM.  ITIMER_VIRTUAL and ITIMER_PROF count the
 * guest's CPU time, sampled at each stop and each memory-ticker tick: tick
 * granularity, as Linux's accounting is.  The scheduler's one wait
 * covers both: ITIMER_REAL deadlines bound it, and so does the tick while
 * a CPU timer is armed. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "../sentry.h"

#define NSEC 1000000000LL

static int64_t mono_ns(void)
{
	struct timespec ts;
	k_clock_ts(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

uint64_t tg_cputime(struct k_task *t)
{
	return t->tg->cpu_base + (t->ctx ? pf_ctx_cputime_ns(t->ctx) : 0);
}

static int64_t tv_ns(const struct timeval *tv)
{
	return k_ns(tv->tv_sec, tv->tv_usec * 1000);
}

static struct timeval ns_tv(int64_t ns)
{
	if (ns < 0)
		ns = 0;
	/* Rounded up to a microsecond, so an armed timer never reads 0. */
	if (ns <= INT64_MAX - 999)
		ns = (ns + 999) / 1000 * 1000;
	return (struct timeval){ns / NSEC, (ns % NSEC) / 1000};
}

static void read_timer(struct k_task *t, int which, struct itimerval *out)
{
	struct k_itimer *it = &t->tg->itimer[which];
	int64_t left = 0;
	if (it->value) {
		if (which == ITIMER_REAL)
			left = it->value - mono_ns();
		else
			left = it->value;
		if (left <= 0)
			left = 1000; /* due, not yet delivered */
	}
	out->it_value = ns_tv(left);
	out->it_interval = ns_tv(it->interval);
}

static long set_timer(struct k_task *t, int which, const struct itimerval *nv,
		      struct itimerval *old)
{
	struct k_itimer *it = &t->tg->itimer[which];
	if (old)
		read_timer(t, which, old);
	int64_t value = tv_ns(&nv->it_value), interval = tv_ns(&nv->it_interval);
	it->interval = interval;
	if (which == ITIMER_REAL) {
		it->value = value ? k_ns_add(mono_ns(), value) : 0;
		return 0;
	}
	it->value = value;
	t->tg->cpu_sampled = tg_cputime(t);
	/* A guest that only computes is seen at ticks. */
	if (value)
		t->k->cpu_timers = true;
	return 0;
}

static bool valid_tv(const struct timeval *tv)
{
	return tv->tv_sec >= 0 && tv->tv_usec >= 0 && tv->tv_usec < 1000000;
}

SYSCALL(setitimer)
{
	int which = (int)a[0];
	struct itimerval nv, old;
	memset(&nv, 0, sizeof(nv));
	/* A NULL new value disarms, as Linux (with a warning) does. */
	if (a[1] && k_copy_in(t, &nv, a[1], sizeof(nv)))
		return -EFAULT;
	if (which < ITIMER_REAL || which > ITIMER_PROF)
		return -EINVAL;
	if (!valid_tv(&nv.it_value) || !valid_tv(&nv.it_interval))
		return -EINVAL;
	long err = set_timer(t, which, &nv, &old);
	if (!err && a[2] && k_copy_out(t, a[2], &old, sizeof(old)))
		return -EFAULT;
	return err;
}

SYSCALL(getitimer)
{
	int which = (int)a[0];
	if (which < ITIMER_REAL || which > ITIMER_PROF)
		return -EINVAL;
	struct itimerval cur;
	read_timer(t, which, &cur);
	return k_copy_out(t, a[1], &cur, sizeof(cur));
}

SYSCALL(alarm)
{
	struct itimerval nv = {.it_value = {(time_t)(unsigned)a[0], 0}}, old;
	long err = set_timer(t, ITIMER_REAL, &nv, &old);
	if (err)
		return err;
	/* Whole seconds left, rounded to nearest; an armed alarm is never 0. */
	long left = old.it_value.tv_sec + (old.it_value.tv_usec >= 500000);
	if (!left && (old.it_value.tv_usec || old.it_value.tv_sec))
		left = 1;
	return left;
}

/* Turns due timers into the guest's signals (the scheduler calls this at
 * each pass). */
static void fire_group(struct k_task *t, int64_t now, bool *cpu_armed)
{
	struct k_thread_group *tg = t->tg;
	struct k_itimer *it = &tg->itimer[ITIMER_REAL];
	if (it->value && now >= it->value) {
		task_send(t, SIGALRM, SI_KERNEL);
		if (it->interval) {
			int64_t missed = (now - it->value) / it->interval + 1, step;
			if (__builtin_mul_overflow(missed, it->interval, &step))
				step = INT64_MAX;
			it->value = k_ns_add(it->value, step);
		} else {
			it->value = 0;
		}
	}
	struct k_itimer *v = &tg->itimer[ITIMER_VIRTUAL], *p = &tg->itimer[ITIMER_PROF];
	if (!v->value && !p->value)
		return;
	*cpu_armed = true;
	uint64_t cpu = tg_cputime(t);
	int64_t used = cpu >= tg->cpu_sampled ? (int64_t)(cpu - tg->cpu_sampled) : 0;
	tg->cpu_sampled = cpu;
	struct {
		struct k_itimer *it;
		int sig;
	} cpu_timers[] = {{v, SIGVTALRM}, {p, SIGPROF}};
	for (int i = 0; i < 2; i++) {
		struct k_itimer *ct = cpu_timers[i].it;
		if (!ct->value)
			continue;
		ct->value -= used;
		if (ct->value <= 0) {
			task_send(t, cpu_timers[i].sig, SI_KERNEL);
			ct->value = ct->interval ? ct->interval : 0;
		}
	}
}

void itimer_fire(struct k_kernel *k)
{
	int64_t now = mono_ns();
	bool cpu_armed = false;
	int64_t pnext = 0;
	for (struct k_task *t = k->tasks; t; t = t->next)
		if (t->tg->threads == t && !t->tg->exiting) {
			fire_group(t, now, &cpu_armed);
			if (t->tg->ptimers)
				ptimers_fire(t, &cpu_armed, &pnext);
		}
	k->cpu_timers = cpu_armed;
	k->ptimer_next = pnext;
}

int64_t itimer_next(struct k_kernel *k)
{
	int64_t next = k->ptimer_next;
	for (struct k_task *t = k->tasks; t; t = t->next) {
		int64_t v = t->tg->itimer[ITIMER_REAL].value;
		if (t->tg->threads == t && v && (!next || v < next))
			next = v;
	}
	return next;
}
