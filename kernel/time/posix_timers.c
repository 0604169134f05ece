/* POSIX timers: timer_create, timer_settime, timer_gettime,
 * timer_getoverrun, timer_delete.  Each thread group keeps its timers; the
 * scheduler fires them as it fires interval timers (time/itimer.c): a
 * real-clock deadline bounds its sleep, CPU-clock timers are sampled at
 * its ticks.  An expiry whose signal is still pending counts as an
 * overrun of it, as Linux's preallocated timer signal does.  Timers are
 * not inherited by fork and are deleted by execve. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../snapshot/snapshot.h"
#include "../sentry.h"

#define NSEC 1000000000LL
#define MAX_TIMERS 4096            /* a process */
#define MAX_SANDBOX_TIMERS (1 << 15) /* all of the sandbox's */
#define DELAYTIMER_MAX 0x7fffffff
#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif

struct k_ptimer {
	struct k_ptimer *next;
	int id;
	clockid_t clock;     /* CLOCK_REALTIME, _MONOTONIC, _BOOTTIME, or a CPU clock */
	bool cpu;            /* a CPU-time clock: value is CPU time left */
	int notify, signo, tid;
	union sigval value;
	int64_t when;        /* expiry on clock (CPU: ns of CPU time left); 0: disarmed */
	int64_t interval;
	int overrun, overrun_last;
};

/* The guest's struct sigevent (64 bytes), as the kernel reads it. */
struct k_sigevent {
	union sigval value;
	int32_t signo;
	int32_t notify;
	int32_t tid;
	int32_t pad[11];
};

static int64_t now_on(clockid_t c)
{
	struct timespec ts;
	k_clock_ts(c, &ts);
	return k_ns(ts.tv_sec, ts.tv_nsec);
}

static struct k_ptimer *find(struct k_thread_group *tg, int id)
{
	for (struct k_ptimer *p = tg->ptimers; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

void ptimers_free(struct k_kernel *k, struct k_thread_group *tg)
{
	while (tg->ptimers) {
		struct k_ptimer *p = tg->ptimers;
		tg->ptimers = p->next;
		k->ptimers--;
		free(p);
	}
}

SYSCALL(timer_create)
{
	clockid_t clock = (clockid_t)a[0];
	struct k_thread_group *tg = t->tg;
	bool cpu = false;
	switch (clock) {
	case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME:
		break;
	case CLOCK_PROCESS_CPUTIME_ID: case CLOCK_THREAD_CPUTIME_ID:
		cpu = true;
		break;
	case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
		return -EPERM; /* needs CAP_WAKE_ALARM, which the sandbox lacks */
	default:
		/* Dynamic CPU clocks of another process or thread (negative ids). */
		if (clock < 0 && ((unsigned)clock & 7) != 3)
			cpu = true;
		else
			return -EINVAL;
	}
	struct k_sigevent ev = {.signo = SIGALRM, .notify = SIGEV_SIGNAL};
	bool given = a[1] != 0;
	if (given && k_copy_in(t, &ev, a[1], sizeof(ev)))
		return -EFAULT;
	int tid = 0;
	switch (ev.notify) {
	case SIGEV_NONE:
		break;
	case SIGEV_SIGNAL:
	case SIGEV_THREAD_ID:
		if (ev.signo < 1 || ev.signo > K_NSIG)
			return -EINVAL;
		if (ev.notify == SIGEV_THREAD_ID) {
			struct k_task *o = task_by_tid(t->k, ev.tid);
			if (!o || o->tg != tg)
				return -EINVAL;
			tid = ev.tid;
		}
		break;
	default:
		return -EINVAL; /* SIGEV_THREAD is the C library's own */
	}
	int n = 0;
	for (struct k_ptimer *p = tg->ptimers; p; p = p->next)
		n++;
	if (n >= MAX_TIMERS || t->k->ptimers >= MAX_SANDBOX_TIMERS)
		return -EAGAIN;
	struct k_ptimer *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	while (find(tg, tg->next_timer_id))
		tg->next_timer_id = (tg->next_timer_id + 1) & 0x7fffffff;
	p->id = tg->next_timer_id;
	tg->next_timer_id = (tg->next_timer_id + 1) & 0x7fffffff;
	p->clock = cpu ? CLOCK_PROCESS_CPUTIME_ID : clock;
	p->cpu = cpu;
	p->notify = ev.notify;
	p->signo = ev.signo;
	p->tid = tid;
	/* Without a sigevent the signal carries the timer's id. */
	p->value = given ? ev.value : (union sigval){.sival_int = p->id};
	int32_t id = p->id;
	if (k_copy_out(t, a[2], &id, sizeof(id))) {
		free(p);
		return -EFAULT;
	}
	p->next = tg->ptimers;
	tg->ptimers = p;
	t->k->ptimers++;
	return 0;
}

static struct timespec ns_ts(int64_t ns)
{
	if (ns < 0)
		ns = 0;
	return (struct timespec){ns / NSEC, ns % NSEC};
}

static void get_value(struct k_task *t, struct k_ptimer *p, struct itimerspec *out)
{
	int64_t left = 0;
	if (p->when) {
		left = p->cpu ? p->when : p->when - now_on(p->clock);
		if (left <= 0)
			left = 1; /* due, not yet fired */
	}
	(void)t;
	out->it_value = ns_ts(left);
	out->it_interval = ns_ts(p->interval);
}

static bool valid_ts(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < NSEC;
}

SYSCALL(timer_settime)
{
	int id = (int)a[0], flags = (int)a[1];
	struct itimerspec nv, old;
	if (k_copy_in(t, &nv, a[2], sizeof(nv)))
		return -EFAULT;
	struct k_ptimer *p = find(t->tg, id);
	if (!p)
		return -EINVAL;
	if (!valid_ts(&nv.it_value) || !valid_ts(&nv.it_interval))
		return -EINVAL;
	get_value(t, p, &old);
	int64_t v = k_ns(nv.it_value.tv_sec, nv.it_value.tv_nsec);
	p->interval = k_ns(nv.it_interval.tv_sec, nv.it_interval.tv_nsec);
	p->overrun = 0;
	if (!v) {
		p->when = 0;
	} else if (p->cpu) {
		/* CPU time left; an absolute CPU time counts from what is used. */
		if (flags & TIMER_ABSTIME) {
			int64_t used = (int64_t)tg_cputime(t);
			v = v > used ? v - used : 1;
		}
		p->when = v;
		t->tg->ptimer_cpu_sampled = tg_cputime(t);
		t->k->cpu_timers = true;
	} else {
		p->when = (flags & TIMER_ABSTIME) ? k_clock_from_guest(p->clock, v)
						  : k_ns_add(now_on(p->clock), v);
	}
	if (a[3] && k_copy_out(t, a[3], &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

SYSCALL(timer_gettime)
{
	struct k_ptimer *p = find(t->tg, (int)a[0]);
	if (!p)
		return -EINVAL;
	struct itimerspec cur;
	get_value(t, p, &cur);
	return k_copy_out(t, a[1], &cur, sizeof(cur));
}

SYSCALL(timer_getoverrun)
{
	struct k_ptimer *p = find(t->tg, (int)a[0]);
	if (!p)
		return -EINVAL;
	return p->overrun_last;
}

SYSCALL(timer_delete)
{
	struct k_thread_group *tg = t->tg;
	for (struct k_ptimer **pp = &tg->ptimers; *pp; pp = &(*pp)->next)
		if ((*pp)->id == (int)a[0]) {
			struct k_ptimer *p = *pp;
			*pp = p->next;
			t->k->ptimers--;
			free(p);
			return 0;
		}
	return -EINVAL;
}

/* One expiry of p (plus missed ones folded into the overrun). */
static void expire(struct k_task *t, struct k_ptimer *p, int64_t missed)
{
	struct k_thread_group *tg = t->tg;
	if (p->notify == SIGEV_NONE)
		return;
	struct k_task *to = p->notify == SIGEV_THREAD_ID ? task_by_tid(t->k, p->tid) : NULL;
	if (to && to->tg != tg)
		to = NULL;
	uint64_t pending = to ? to->pending : tg->pending;
	siginfo_t *slot = to ? &to->siginfo[p->signo] : &tg->siginfo[p->signo];
	if ((pending & SIGBIT(p->signo)) && slot->si_code == SI_TIMER &&
	    slot->si_timerid == p->id) {
		/* Still queued: the expiries fold into its overrun. */
		int64_t o = (int64_t)slot->si_overrun + 1 + missed;
		slot->si_overrun = o > DELAYTIMER_MAX ? DELAYTIMER_MAX : (int)o;
		p->overrun_last = slot->si_overrun;
		return;
	}
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = p->signo;
	si.si_code = SI_TIMER;
	si.si_timerid = p->id;
	si.si_overrun = missed > DELAYTIMER_MAX ? DELAYTIMER_MAX : (int)missed;
	si.si_value = p->value;
	p->overrun_last = si.si_overrun;
	if (to)
		sig_send_thread(to, p->signo, &si);
	else
		sig_send_group(tg, p->signo, &si);
}

void ptimers_fire(struct k_task *t, bool *cpu_armed, int64_t *next_mono)
{
	struct k_thread_group *tg = t->tg;
	uint64_t cpu = 0;
	int64_t used = 0;
	bool sampled = false;
	for (struct k_ptimer *p = tg->ptimers; p; p = p->next) {
		if (!p->when)
			continue;
		if (p->cpu) {
			if (!sampled) {
				cpu = tg_cputime(t);
				used = cpu >= tg->ptimer_cpu_sampled
					       ? (int64_t)(cpu - tg->ptimer_cpu_sampled) : 0;
				sampled = true;
			}
			*cpu_armed = true;
			p->when -= used;
			if (p->when <= 0) {
				int64_t missed = p->interval ? -p->when / p->interval : 0;
				expire(t, p, missed);
				p->when = p->interval ? p->interval : 0;
			}
			continue;
		}
		int64_t now = now_on(p->clock);
		if (now >= p->when) {
			int64_t missed = p->interval ? (now - p->when) / p->interval : 0;
			expire(t, p, missed);
			if (p->interval) {
				int64_t step;
				if (__builtin_mul_overflow(missed + 1, p->interval, &step))
					step = INT64_MAX;
				p->when = k_ns_add(p->when, step);
			} else {
				p->when = 0;
			}
		}
		if (p->when) {
			/* The deadline on the monotonic clock, for the scheduler. */
			int64_t m = now_on(CLOCK_MONOTONIC) + (p->when - now_on(p->clock));
			if (!*next_mono || m < *next_mono)
				*next_mono = m;
		}
	}
	if (sampled)
		tg->ptimer_cpu_sampled = cpu;
}

/* ---- checkpoint and restore (ckpt/) ----
 * A process's timers, each with its deadline as the guest's clock reads
 * it (CPU-clock ones: the CPU time left), interval, overruns and how it
 * notifies. */
void ptimers_save(struct k_thread_group *tg, uint64_t cpu, struct snap_enc *e)
{
	int64_t used = cpu >= tg->ptimer_cpu_sampled ? (int64_t)(cpu - tg->ptimer_cpu_sampled) : 0;
	uint32_t n = 0;
	for (struct k_ptimer *p = tg->ptimers; p; p = p->next)
		n++;
	snap_put_u32(e, n);
	for (struct k_ptimer *p = tg->ptimers; p; p = p->next) {
		int64_t when = p->when;
		if (when && p->cpu)
			when = when - used > 0 ? when - used : 1;
		else if (when)
			when = k_clock_to_guest(p->clock, when);
		snap_put_u32(e, (uint32_t)p->id);
		snap_put_u32(e, (uint32_t)p->clock);
		snap_put_u8(e, p->cpu);
		snap_put_u32(e, (uint32_t)p->notify);
		snap_put_u32(e, (uint32_t)p->signo);
		snap_put_u32(e, (uint32_t)p->tid);
		snap_put_u64(e, (uint64_t)(uintptr_t)p->value.sival_ptr);
		snap_put_i64(e, when);
		snap_put_i64(e, p->interval);
		snap_put_u32(e, (uint32_t)p->overrun);
		snap_put_u32(e, (uint32_t)p->overrun_last);
	}
}

int ptimers_restore(struct k_kernel *k, struct k_thread_group *tg, struct snap_dec *d)
{
	uint32_t n = snap_get_u32(d);
	if (snap_dec_err(d) || n > MAX_TIMERS || k->ptimers + (int)n > MAX_SANDBOX_TIMERS)
		return -EBADMSG;
	bool armed = false;
	for (uint32_t i = 0; i < n; i++) {
		struct k_ptimer q = {0};
		q.id = (int)snap_get_u32(d);
		q.clock = (clockid_t)snap_get_u32(d);
		q.cpu = snap_get_u8(d);
		q.notify = (int)snap_get_u32(d);
		q.signo = (int)snap_get_u32(d);
		q.tid = (int)snap_get_u32(d);
		q.value.sival_ptr = (void *)(uintptr_t)snap_get_u64(d);
		q.when = snap_get_i64(d);
		q.interval = snap_get_i64(d);
		q.overrun = (int)snap_get_u32(d);
		q.overrun_last = (int)snap_get_u32(d);
		bool clock_ok = q.cpu ? q.clock == CLOCK_PROCESS_CPUTIME_ID
				      : q.clock == CLOCK_REALTIME || q.clock == CLOCK_MONOTONIC ||
						q.clock == CLOCK_BOOTTIME;
		bool notify_ok = q.notify == SIGEV_NONE ||
				 ((q.notify == SIGEV_SIGNAL || q.notify == SIGEV_THREAD_ID) &&
				  q.signo >= 1 && q.signo <= K_NSIG);
		if (snap_dec_err(d) || q.id < 0 || find(tg, q.id) || !clock_ok || !notify_ok ||
		    q.tid < 0 || q.tid > (1 << 22) || q.when < 0 || q.interval < 0 ||
		    q.overrun < 0 || q.overrun_last < 0)
			return -EBADMSG;
		if (q.when && !q.cpu && (q.when = k_clock_from_guest(q.clock, q.when)) <= 0)
			q.when = 1; /* (due: at once) */
		struct k_ptimer *p = malloc(sizeof(*p));
		if (!p)
			return -ENOMEM;
		*p = q;
		p->next = tg->ptimers;
		tg->ptimers = p;
		k->ptimers++;
		armed |= q.when != 0;
	}
	tg->ptimer_cpu_sampled = tg->cpu_base;
	if (armed)
		k->ptimer_next = 1; /* the scheduler's next pass works out when */
	return 0;
}
