/* Interval timers: alarm, setitimer, getitimer.  ITIMER_REAL runs on a
 * host POSIX timer whose signal interrupts the guest (or a sentry wait) and
 * becomes the guest's SIGALRM.  ITIMER_VIRTUAL and ITIMER_PROF count the
 * guest's CPU time, sampled at each stop and each memory-ticker tick: tick
 * granularity, as Linux's accounting is. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "../sentry.h"

#define ALARM_SIG (SIGRTMIN + 4)
#define NSEC 1000000000LL

static volatile int alarm_due;
static struct pf_ctx *volatile alarm_ctx;

static void on_alarm(int sig)
{
	(void)sig;
	alarm_due = 1;
	struct pf_ctx *c = alarm_ctx;
	if (c)
		pf_ctx_interrupt(c);
}

bool k_timer_due(void)
{
	return alarm_due;
}

void itimer_watch(struct pf_ctx *c)
{
	alarm_ctx = c;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static int arm_host(struct k_kernel *k, int64_t deadline)
{
	if (!k->alarm_timer_on) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sa.sa_flags = SA_RESTART; /* the sentry's own host calls carry on */
		sigemptyset(&sa.sa_mask);
		if (sigaction(ALARM_SIG, &sa, NULL) != 0)
			return -errno;
		struct sigevent ev;
		memset(&ev, 0, sizeof(ev));
		ev.sigev_notify = SIGEV_SIGNAL;
		ev.sigev_signo = ALARM_SIG;
		if (timer_create(CLOCK_MONOTONIC, &ev, &k->alarm_timer) != 0)
			return -errno;
		k->alarm_timer_on = true;
	}
	struct itimerspec its = {{0, 0}, {deadline / NSEC, deadline % NSEC}};
	if (!deadline)
		its.it_value = (struct timespec){0, 0};
	return timer_settime(k->alarm_timer, TIMER_ABSTIME, &its, NULL) == 0 ? 0 : -errno;
}

void itimer_stop(struct k_kernel *k)
{
	alarm_ctx = NULL;
	if (k->alarm_timer_on) {
		timer_delete(k->alarm_timer);
		k->alarm_timer_on = false;
	}
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
		return arm_host(t->k, it->value);
	}
	it->value = value;
	t->tg->cpu_sampled = pf_ctx_cputime_ns(t->ctx);
	/* A guest that only computes is seen at ticks. */
	return value ? k_ticker_ensure(t->k) : 0;
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

/* Turns due timers into the guest's signals; called at each guest stop. */
void itimer_fire(struct k_task *t)
{
	struct k_thread_group *tg = t->tg;
	if (alarm_due) {
		alarm_due = 0;
		struct k_itimer *it = &tg->itimer[ITIMER_REAL];
		int64_t now = mono_ns();
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
			arm_host(t->k, it->value);
		}
	}
	struct k_itimer *v = &tg->itimer[ITIMER_VIRTUAL], *p = &tg->itimer[ITIMER_PROF];
	if (!v->value && !p->value)
		return;
	uint64_t cpu = pf_ctx_cputime_ns(t->ctx);
	/* After execve the stub is a new process whose clock restarts. */
	int64_t used = cpu >= tg->cpu_sampled ? (int64_t)(cpu - tg->cpu_sampled) : 0;
	tg->cpu_sampled = cpu;
	struct {
		struct k_itimer *it;
		int sig;
	} cpu_timers[] = {{v, SIGVTALRM}, {p, SIGPROF}};
	for (int i = 0; i < 2; i++) {
		struct k_itimer *it = cpu_timers[i].it;
		if (!it->value)
			continue;
		it->value -= used;
		if (it->value <= 0) {
			task_send(t, cpu_timers[i].sig, SI_KERNEL);
			it->value = it->interval ? it->interval : 0;
		}
	}
}
