/* The scheduler: one host thread runs every task of the sandbox.  A task's
 * fiber lets its guest code run (the platform resumes it), yields, and
 * goes on when the guest stops; a syscall that must wait yields the same
 * way.  While nothing is runnable the sentry sleeps in one ppoll that
 * ends for a guest stop (SIGCHLD, which ptrace stops send their tracer),
 * a signal for the guest, a host descriptor, or the nearest deadline.
 * Every host signal stays blocked outside that ppoll, so the rest of the
 * sentry never sees EINTR. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "../sentry.h"

/* Memory limit and CPU timer checks: Linux's accounting is tick-grained too. */
#define TICK_NS 20000000LL

struct k_waitq k_file_events;
static struct k_task *cur;
static volatile uint64_t host_signals;

struct k_task *k_current(void)
{
	return cur;
}

/* A sleep in the sentry this long lets a guest thread's CPU go idle. */
#define LONG_SLEEP_NS 1000000

/* Between two looks at the memory used, at guest stops. */
#define MEM_CHECK_NS 1000000

static int64_t mono_ns(void)
{
	struct timespec ts;
	k_clock_ts(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the run queue ---- */
static void rq_push(struct k_task *t)
{
	struct k_kernel *k = t->k;
	if (t->state == TASK_GUEST)
		k->nguest--;
	t->state = TASK_RUNNABLE;
	t->rq_next = NULL;
	if (k->rq_tail)
		k->rq_tail->rq_next = t;
	else
		k->rq_head = t;
	k->rq_tail = t;
}

static struct k_task *rq_pop(struct k_kernel *k)
{
	struct k_task *t = k->rq_head;
	if (t) {
		k->rq_head = t->rq_next;
		if (!k->rq_head)
			k->rq_tail = NULL;
		t->rq_next = NULL;
	}
	return t;
}

void k_task_start(struct k_task *t)
{
	rq_push(t);
}

/* ---- sleeping and waking ---- */
void waitq_wake_all(struct k_waitq *q)
{
	for (struct k_waiter *w = q->head; w; w = w->next)
		k_task_wake(w->t);
}

uint64_t k_file_seq;

void k_file_notify(void)
{
	k_file_seq++;
	waitq_wake_all(&k_file_events);
}

void k_task_wake(struct k_task *t)
{
	if (t->state == TASK_SLEEPING) {
		t->sleep_result = 0;
		rq_push(t);
	}
}

bool task_interrupted(struct k_task *t)
{
	return t->exiting || t->tg->exiting || task_ready_signals(t) ||
	       (t->tg->stopped && !t->tg->execing) || t->k->freezing;
}

void k_task_kick(struct k_task *t)
{
	bool fatal = t->exiting || t->tg->exiting;
	if (t->state == TASK_SLEEPING && (fatal || !t->sleep_nointr)) {
		t->sleep_result = -EINTR;
		rq_push(t);
	} else if (t->state == TASK_GUEST && t->ctx) {
		pf_ctx_interrupt(t->ctx);
	}
}

static int64_t deadline_ns(clockid_t clock, const struct timespec *dl)
{
	int64_t want = k_ns(dl->tv_sec, dl->tv_nsec);
	if (clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME)
		return want;
	/* Another clock: the same distance from now on the monotonic one (a
	 * later clock_settime does not move it: the guest cannot set clocks). */
	struct timespec now;
	k_clock_ts(clock, &now);
	int64_t left = want - k_ns(now.tv_sec, now.tv_nsec);
	int64_t m = mono_ns();
	return left > INT64_MAX - m ? INT64_MAX : m + left;
}

int k_sleep(struct k_task *t, const struct k_sleep *s)
{
	bool fatal = t->exiting || t->tg->exiting;
	if (fatal || (!s->nointr && task_interrupted(t)))
		return -EINTR;
	int64_t until = 0;
	if (s->deadline) {
		until = deadline_ns(s->clock, s->deadline);
		if (until <= mono_ns())
			return -ETIMEDOUT;
	}
	if (!fiber_active() || t != cur)
		return -EINTR; /* outside the scheduler (unit tests): never blocks */
	struct k_waiter few[8], *w = few;
	if (s->nq > (int)ARRAY_LEN(few) && !(w = calloc((size_t)s->nq, sizeof(*w))))
		return -ENOMEM;
	for (int i = 0; i < s->nq; i++) {
		w[i] = (struct k_waiter){.t = t, .next = s->qs[i]->head};
		if (w[i].next)
			w[i].next->prev = &w[i];
		s->qs[i]->head = &w[i];
	}
	t->sleep_until = until;
	t->sleep_fds = s->fds;
	t->sleep_nfds = s->nfds;
	t->sleep_nointr = s->nointr;
	t->sleep_result = -ETIMEDOUT;
	t->state = TASK_SLEEPING;
	int64_t slept = mono_ns();
	fiber_yield();
	if (mono_ns() - slept >= LONG_SLEEP_NS)
		t->long_sleeps++;
	t->sleep_fds = NULL;
	t->sleep_nfds = 0;
	t->sleep_until = 0;
	for (int i = 0; i < s->nq; i++) {
		if (w[i].prev)
			w[i].prev->next = w[i].next;
		else
			s->qs[i]->head = w[i].next;
		if (w[i].next)
			w[i].next->prev = w[i].prev;
	}
	if (w != few)
		free(w);
	return t->sleep_result;
}

int k_wait_host(clockid_t clock, const struct timespec *deadline, struct pollfd *fds, int n)
{
	struct k_task *t = cur;
	if (!t)
		return -EINTR;
	struct k_sleep s = {.clock = clock, .deadline = deadline, .fds = fds, .nfds = n};
	return k_sleep(t, &s);
}

int k_wait_host_signal(clockid_t clock, const struct timespec *deadline)
{
	return k_wait_host(clock, deadline, NULL, 0);
}

/* ---- host signals: for the guest's init ---- */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
				SIGALRM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU};

static void on_host_signal(int sig)
{
	__atomic_or_fetch(&host_signals, SIGBIT(sig), __ATOMIC_SEQ_CST);
}

static void on_sigchld(int sig)
{
	(void)sig; /* only ends the ppoll */
}

uint64_t k_ignored_at_start(void)
{
	uint64_t set = 0;
	for (size_t i = 0; i < ARRAY_LEN(forwarded); i++) {
		struct sigaction old;
		if (sigaction(forwarded[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			set |= SIGBIT(forwarded[i]);
	}
	return set;
}

static void host_handlers(bool on, uint64_t skip)
{
	struct sigaction sa = {0};
	sa.sa_handler = on ? on_host_signal : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_LEN(forwarded); i++)
		if (!(skip & SIGBIT(forwarded[i])))
			sigaction(forwarded[i], &sa, NULL);
	sa.sa_handler = on ? on_sigchld : SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	/* A guest writing to a closed pipe gets SIGPIPE from the sentry. */
	signal(SIGPIPE, on ? SIG_IGN : SIG_DFL);
}

static void take_host_signals(struct k_kernel *k)
{
	uint64_t s = __atomic_exchange_n(&host_signals, 0, __ATOMIC_SEQ_CST);
	for (int sig = 1; s; sig++, s >>= 1)
		if (s & 1)
			k_signal_host(k, sig);
}

/* ---- running tasks ---- */

/* A fault another thread of the address space already resolved (it broke
 * the same copy-on-write chunk, or mapped the page) while this one was on
 * its way: the access works now.  Retried once per address, so a fault
 * the mapping really forbids still becomes a signal. */
static bool fault_stale(struct k_task *t, uint64_t addr)
{
	struct k_vma *v = mm_find(t->mm, addr);
	if (!v || !v->mobj || !(v->prot & PROT_WRITE) || (v->flags & (VMA_COW | VMA_SIGBUS)) ||
	    t->last_fault == (addr | 1))
		return false;
	t->last_fault = addr | 1;
	return true;
}
static void run_syscall(struct k_task *t)
{
	/* A thread told to leave (exit_group, another thread's execve)
	 * makes no more syscalls: the loop ends it. */
	if (t->exiting || t->tg->exiting)
		return;
	/* Linux reads the number as an int: the upper half is ignored. */
	long nr = (int)t->regs.orig_rax;
	t->in_syscall = true;
	t->syscall_nr = (uint64_t)nr;
	long ret = k_dispatch(t, nr);
	t->regs.rax = (uint64_t)ret;
}

static void handle_stop(struct k_task *t, const struct pf_event *ev)
{
	switch (ev->kind) {
	case PF_SYSCALL:
		if (ev->patchable)
			ut_patch(t); /* before the call: execve replaces the mm */
		run_syscall(t);
		break;
	case PF_SYSCALL32:
		/* There is no 32-bit ABI in the sandbox. */
		k_log(t->k, "32-bit syscall %llu refused", t->regs.orig_rax);
		t->regs.rax = (uint64_t)-ENOSYS;
		break;
	case PF_FAULT:
		if (ev->signo == SIGILL) {
			int u = ut_fault(t);
			if (u == UT_SYSCALL)
				run_syscall(t);
			if (u != UT_NOT_MINE)
				break;
		}
		if (ev->signo == SIGSEGV && ev->code == SEGV_MAPERR && mm_fault_stack(t, ev->addr))
			break; /* the stack grew: run the instruction again */
		if (ev->signo == SIGSEGV && ev->code == SEGV_ACCERR && mm_fault_cow(t->mm, ev->addr))
			break; /* the page has its own copy now */
		if (ev->signo == SIGSEGV && fault_stale(t, ev->addr))
			break; /* another thread resolved it meanwhile: run it again */
		t->last_fault = 0;
		if (ev->signo == SIGSEGV) {
			struct k_vma *v = mm_find(t->mm, ev->addr);
			if (v && (v->flags & VMA_SIGBUS)) {
				task_signal(t, SIGBUS, BUS_ADRERR, ev->addr);
				break;
			}
		}
		t->fault_err = 0;
		task_signal(t, ev->signo, ev->code, ev->addr);
		break;
	case PF_INTERRUPT:
		break;
	case PF_DEAD:
		k_log(t->k, "the guest's host process died (wait status %#x)", ev->status);
		task_exit_group(t, K_WKILLED(SIGKILL));
		break;
	}
}

/* A group stop holds every thread here until SIGCONT or SIGKILL. */
static void group_stop_wait(struct k_task *t)
{
	struct k_waitq *q = &t->tg->stop_wait;
	struct k_sleep s = {.qs = &q, .nq = 1, .nointr = true};
	while (t->tg->stopped && !t->exiting && !t->tg->exiting)
		k_sleep(t, &s);
}

/* Whether the task about to run guest code is the only one that does, now
 * and lately, and keeps calling the sentry (see pf_ctx_resume).  Threads
 * that took turns in the last SHARE_NS likely will again: a platform
 * moving them back and forth at each turn would cost more than the CPU
 * of their own gains.  A task that just slept long (a server idle till a
 * request came) goes on beside the sentry too, on a CPU that is awake:
 * waking an idle one costs 100-300 us in a VM, and its CPU of its own
 * will have gone idle.  HOT_STOPS stops later it has one again. */
#define SHARE_NS 20000000
#define HOT_STOPS 16
static bool alone(struct k_kernel *k, const struct k_task *t)
{
	if (k->nguest || k->rq_head) {
		k->shared_until = mono_ns() + SHARE_NS;
		return false;
	}
	if (k->shared_until && mono_ns() >= k->shared_until)
		k->shared_until = 0;
	return !k->shared_until && t->quick >= HOT_STOPS;
}

static void task_main(void *arg)
{
	struct k_task *t = arg;
	struct k_kernel *k = t->k;
	while (!t->exiting && !t->tg->exiting) {
		ckpt_rewind(t);
		signal_deliver(t);
		if (t->exiting || t->tg->exiting)
			break;
		if (t->tg->stopped) {
			group_stop_wait(t);
			continue;
		}
		if (k->freezing) {
			ckpt_park(t);
			continue;
		}
		bool lone = alone(k, t);
		t->guest_since = lone ? 0 : mono_ns();
		int r = pf_ctx_resume(t->ctx, &t->regs, lone);
		if (r < 0) {
			k_log(k, "platform error: %s", strerror(-r));
			task_exit_group(t, K_WKILLED(SIGKILL));
			break;
		}
		t->guest_status = 0;
		if (r == 0) {
			t->state = TASK_GUEST;
			k->nguest++;
			fiber_yield(); /* until the scheduler collects its stop */
		}
		struct pf_event ev;
		r = pf_ctx_stopped(t->ctx, t->guest_status, &t->regs, &ev);
		if (r < 0) {
			k_log(k, "platform error: %s", strerror(-r));
			task_exit_group(t, K_WKILLED(SIGKILL));
			break;
		}
		uint32_t slept = t->long_sleeps;
		handle_stop(t, &ev);
		if (t->long_sleeps != slept)
			t->quick = 0;
		else if (t->quick < HOT_STOPS)
			t->quick++;
		/* The memory file's size, looked at after stops at most every
		 * MEM_CHECK_NS (an fstat costs as much as a fast syscall). */
		int64_t now = mono_ns();
		if (now < k->next_mem_check)
			continue;
		k->next_mem_check = now + MEM_CHECK_NS;
		if (mem_over_limit(k)) {
			k_log(k, "memory limit of %llu bytes exceeded: killed",
			      k->cfg.memory_limit);
			k_kill_all(k);
		}
	}
	task_exit(t);
}

/* Kills every task: the sandbox is over (its init died, or a limit). */
void k_kill_all(struct k_kernel *k)
{
	for (struct k_task *t = k->tasks; t; t = t->next)
		if (!t->tg->exiting)
			task_exit_group(t, K_WKILLED(SIGKILL));
}

static void run_queue(struct k_kernel *k)
{
	struct k_task *t;
	while ((t = rq_pop(k))) {
		if (!t->fiber && fiber_new(task_main, t, &t->fiber)) {
			/* No stack to run on: it leaves at once (task_exit
			 * never sleeps, so this stack does). */
			k_log(k, "no memory for a task's stack");
			task_exit_group(t, K_WKILLED(SIGKILL));
			task_exit(t);
			task_free(t);
			continue;
		}
		cur = t;
		bool done = fiber_switch(t->fiber);
		cur = NULL;
		if (done)
			task_free(t);
	}
}

/* Everything that can make a task runnable, without blocking, or (block)
 * sleeping until one of them happens. */
static void gather(struct k_kernel *k, bool block)
{
	struct pf_ctx *c;
	int st, r;
	while ((r = pf_wait_any(&c, &st)) > 0) {
		struct k_task *t = pf_ctx_owner(c);
		if (t && t->state == TASK_GUEST) {
			t->guest_status = st;
			rq_push(t);
		}
	}
	take_host_signals(k);
	/* The time page: recalibrated when due, and, while some task runs
	 * guest code (which may read it without a trap), woken for. */
	int64_t clock_due = k_clock_update();
	int64_t now = mono_ns();
	itimer_fire(k);
	int64_t wake = itimer_next(k);
	k_net_tick(k, now, &wake);
	if (k->cfg.memory_limit || k->cpu_timers) {
		if (now >= k->next_tick) {
			k->next_tick = now + TICK_NS;
			if (mem_over_limit(k)) {
				k_log(k, "memory limit of %llu bytes exceeded: killed",
				      k->cfg.memory_limit);
				k_kill_all(k);
			}
		}
		if (!wake || k->next_tick < wake)
			wake = k->next_tick;
	}
	int64_t fz = ckpt_deadline(k);
	if (fz && (!wake || fz < wake))
		wake = fz;
	/* Sleepers: their deadlines and host descriptors. */
	int nfds = 0;
	for (struct k_task *t = k->tasks; t; t = t->next) {
		if (t->state == TASK_GUEST && clock_due && (!wake || clock_due < wake))
			wake = clock_due;
		if (t->state == TASK_GUEST && t->guest_since) {
			/* Beside others it shares the sentry's CPU, unless it
			 * computes (see pf_ctx_resume). */
			int64_t due = t->guest_since + PF_LONG_RUN_NS;
			if (now >= due) {
				pf_ctx_long_run(t->ctx);
				t->guest_since = 0;
			} else if (!wake || due < wake) {
				wake = due;
			}
		}
		if (t->state != TASK_SLEEPING)
			continue;
		if (t->sleep_until && now >= t->sleep_until) {
			t->sleep_result = -ETIMEDOUT;
			rq_push(t);
			continue;
		}
		if (t->sleep_until && (!wake || t->sleep_until < wake))
			wake = t->sleep_until;
		nfds += t->sleep_nfds;
	}
	/* More slots: the sandbox's network link, the control socket (two)
	 * and the platform's own descriptor. */
	struct pollfd few[20], *fds = few;
	struct k_task **owner = NULL, *few_owner[20];
	if (nfds + 4 > (int)ARRAY_LEN(few)) {
		fds = calloc((size_t)nfds + 4, sizeof(*fds));
		owner = calloc((size_t)nfds + 4, sizeof(*owner));
		if (!fds || !owner) {
			free(fds);
			free(owner);
			fds = few;
			owner = NULL;
			nfds = 0;
		}
	}
	if (!owner)
		owner = few_owner;
	int n = 0;
	for (struct k_task *t = k->tasks; t && n < nfds; t = t->next)
		if (t->state == TASK_SLEEPING)
			for (int i = 0; i < t->sleep_nfds && n < nfds; i++) {
				fds[n] = t->sleep_fds[i];
				fds[n].revents = 0;
				owner[n++] = t;
			}
	int netslot = -1;
	if (k->net_fd > 0) {
		netslot = n;
		fds[n] = (struct pollfd){.fd = k->net_fd, .events = POLLIN};
		owner[n++] = NULL;
	}
	int ctl = n;
	ckpt_poll_fds(k, fds, &n);
	for (int i = ctl; i < n; i++)
		owner[i] = NULL;
	struct timespec tmo = {0, 0}, *ptmo = &tmo;
	int pfd = -1;
	if (block && !k->rq_head && pf_idle_arm(&pfd) == 0) {
		if (!wake) {
			ptmo = NULL;
		} else {
			int64_t left = wake > now ? wake - now : 0;
			tmo = (struct timespec){left / 1000000000LL, left % 1000000000LL};
		}
		int np = n;
		if (pfd >= 0) {
			fds[np] = (struct pollfd){.fd = pfd, .events = POLLIN};
			owner[np++] = NULL;
		}
		sigset_t none;
		sigemptyset(&none);
		r = ppoll(fds, (nfds_t)np, ptmo, &none);
		pf_idle_disarm();
	} else {
		r = n ? poll(fds, (nfds_t)n, 0) : 0;
	}
	if (r > 0 && netslot >= 0 && fds[netslot].revents)
		k_net_rx(k);
	if (r > 0 && n > ctl)
		ckpt_poll_done(k, fds + ctl, n - ctl);
	for (int i = 0; r > 0 && i < n; i++) {
		if (!fds[i].revents || !owner[i])
			continue;
		/* Hand the results back to the sleeper's own array. */
		struct k_task *t = owner[i];
		for (int j = 0; j < t->sleep_nfds; j++)
			if (t->sleep_fds[j].fd == fds[i].fd)
				t->sleep_fds[j].revents = fds[i].revents;
		if (t->state == TASK_SLEEPING) {
			t->sleep_result = 0;
			rq_push(t);
		}
	}
	if (fds != few) {
		free(fds);
		free(owner);
	}
}

void k_schedule(struct k_kernel *k, uint64_t ignored)
{
	/* Faults of the sentry itself stay deliverable: blocked, they would
	 * kill it without a word from the sanitizers. */
	sigset_t all, old;
	sigfillset(&all);
	const int sync[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGSYS};
	for (size_t i = 0; i < ARRAY_LEN(sync); i++)
		sigdelset(&all, sync[i]);
	sigprocmask(SIG_BLOCK, &all, &old);
	host_handlers(true, ignored);
	k->next_tick = mono_ns() + TICK_NS;
	while (k->tasks) {
		run_queue(k);
		if (!k->tasks)
			break;
		ckpt_step(k);
		gather(k, false);
		if (!k->rq_head)
			gather(k, true);
	}
	host_handlers(false, ignored);
	sigprocmask(SIG_SETMASK, &old, NULL);
}
