/* Waiting for signals: rt_sigsuspend (the mask while waiting and after the
 * handler), rt_sigtimedwait (dequeue without a handler, siginfo, timeouts,
 * EINTR from another signal), rt_sigqueueinfo and rt_tgsigqueueinfo
 * (the caller's siginfo, EPERM for kernel codes to others, ESRCH). */
#include "guest.h"

static volatile int usr1_hits, usr2_hits, alrm_hits;
static volatile int usr1_blocked_in_handler;

static int blocked(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig);
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1_hits++;
	usr1_blocked_in_handler = blocked(SIGUSR1);
}

static void on_usr2(int sig)
{
	(void)sig;
	usr2_hits++;
}

static void on_alrm(int sig)
{
	(void)sig;
	alrm_hits++;
}

static void on(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigaction(sig, &sa, NULL);
}

static long sigsuspend_raw(const sigset_t *mask, size_t size)
{
	return syscall(SYS_rt_sigsuspend, mask, size);
}

static long timedwait(const sigset_t *set, siginfo_t *si, const struct timespec *ts)
{
	return syscall(SYS_rt_sigtimedwait, set, si, ts, 8L);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	on(SIGUSR1, on_usr1);
	on(SIGUSR2, on_usr2);
	on(SIGALRM, on_alrm);

	sigset_t block, empty, only_usr2;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);
	sigemptyset(&only_usr2);
	sigaddset(&only_usr2, SIGUSR2);

	/* rt_sigsuspend's argument checks. */
	CHECK("rt_sigsuspend size 4", sigsuspend_raw(&empty, 4));
	CHECK("rt_sigsuspend bad pointer", sigsuspend_raw((void *)1, 8));

	/* A signal already pending and unblocked by the mask ends it. */
	raise(SIGUSR1);
	printf("usr1 pending while blocked: hits %d\n", usr1_hits);
	CHECK("sigsuspend(empty) with usr1 pending", sigsuspend_raw(&empty, 8));
	printf("handler ran %d time(s), usr1 blocked inside: %s\n", usr1_hits,
	       usr1_blocked_in_handler ? "yes" : "no");
	printf("after sigsuspend usr1 blocked again: %s, alrm blocked: %s\n",
	       blocked(SIGUSR1) ? "yes" : "no", blocked(SIGALRM) ? "yes" : "no");

	/* An alarm wakes it; a signal the temporary mask blocks stays pending. */
	raise(SIGUSR2); /* handled at once: not blocked */
	sigset_t block_usr2;
	sigemptyset(&block_usr2);
	sigaddset(&block_usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block_usr2, NULL);
	raise(SIGUSR2);
	alarm(1);
	CHECK("sigsuspend(usr2 blocked) until the alarm", sigsuspend_raw(&only_usr2, 8));
	printf("alarm hits %d, usr2 hits %d (one still pending)\n", alrm_hits, usr2_hits);
	sigset_t pend;
	sigpending(&pend);
	printf("usr2 pending: %s\n", sigismember(&pend, SIGUSR2) ? "yes" : "no");

	/* rt_sigtimedwait takes the pending usr2 without its handler. */
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	struct timespec zero = {0, 0};
	long r = timedwait(&only_usr2, &si, &zero);
	printf("sigtimedwait got %ld, si_signo %d, si_code %s, usr2 hits %d\n", r, si.si_signo,
	       si.si_code == SI_TKILL ? "SI_TKILL" : si.si_code == SI_USER ? "SI_USER" : "other",
	       usr2_hits);
	CHECK("sigtimedwait nothing pending, zero timeout", timedwait(&only_usr2, &si, &zero));
	struct timespec bad = {0, 1000000000};
	CHECK("sigtimedwait nsec 1e9", timedwait(&only_usr2, &si, &bad));
	bad.tv_sec = -1, bad.tv_nsec = 0;
	CHECK("sigtimedwait negative sec", timedwait(&only_usr2, &si, &bad));
	CHECK("sigtimedwait size 4", syscall(SYS_rt_sigtimedwait, &only_usr2, &si, &zero, 4L));
	CHECK("sigtimedwait bad set", timedwait((void *)1, &si, &zero));
	CHECK("sigtimedwait bad timeout", timedwait(&only_usr2, &si, (void *)1));
	struct timespec short_wait = {0, 20000000};
	CHECK("sigtimedwait 20ms times out", timedwait(&only_usr2, &si, &short_wait));

	/* A blocked alarm in the set is waited for and returned. */
	alarm(1);
	sigset_t only_alrm;
	sigemptyset(&only_alrm);
	sigaddset(&only_alrm, SIGALRM);
	memset(&si, 0, sizeof(si));
	r = timedwait(&only_alrm, &si, NULL);
	printf("sigtimedwait for the alarm: %ld (SIGALRM %d), si_code %s, handler hits %d\n", r,
	       SIGALRM, si.si_code == SI_KERNEL ? "SI_KERNEL" : "other", alrm_hits);

	/* A handled signal outside the set interrupts the wait with EINTR. */
	sigprocmask(SIG_UNBLOCK, &only_alrm, NULL);
	alarm(1);
	CHECK("sigtimedwait(usr2) interrupted by a handled alarm", timedwait(&only_usr2, &si, NULL));
	printf("alarm hits %d\n", alrm_hits);

	/* rt_sigqueueinfo: the caller's siginfo reaches the waiter. */
	memset(&si, 0, sizeof(si));
	si.si_code = SI_QUEUE;
	si.si_value.sival_int = 4242;
	si.si_signo = 0; /* the kernel fills it in */
	CHECK("rt_sigqueueinfo to self", syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR2, &si));
	siginfo_t got;
	memset(&got, 0, sizeof(got));
	r = timedwait(&only_usr2, &got, &zero);
	printf("queued: got %ld, si_signo %d, SI_QUEUE %s, value %d\n", r, got.si_signo,
	       got.si_code == SI_QUEUE ? "yes" : "no", got.si_value.sival_int);
	CHECK("rt_sigqueueinfo signal 0", syscall(SYS_rt_sigqueueinfo, getpid(), 0, &si));
	CHECK("rt_sigqueueinfo signal 65", syscall(SYS_rt_sigqueueinfo, getpid(), 65, &si));
	CHECK("rt_sigqueueinfo bad info", syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR2, (void *)1));
	CHECK("rt_sigqueueinfo other pid", syscall(SYS_rt_sigqueueinfo, 99999, SIGUSR2, &si));
	si.si_code = SI_USER;
	CHECK("rt_sigqueueinfo SI_USER to other", syscall(SYS_rt_sigqueueinfo, 99999, SIGUSR2, &si));
	si.si_code = SI_TKILL;
	CHECK("rt_sigqueueinfo SI_TKILL to other", syscall(SYS_rt_sigqueueinfo, 99999, SIGUSR2, &si));
	si.si_code = SI_QUEUE;
	CHECK("rt_tgsigqueueinfo tid 0", syscall(SYS_rt_tgsigqueueinfo, getpid(), 0, SIGUSR2, &si));
	CHECK("rt_tgsigqueueinfo self",
	      syscall(SYS_rt_tgsigqueueinfo, getpid(), (long)syscall(SYS_gettid), SIGUSR2, &si));
	r = timedwait(&only_usr2, &got, &zero);
	printf("tgsigqueueinfo delivered: %s\n", r == SIGUSR2 ? "yes" : "no");
	CHECK("rt_tgsigqueueinfo other tid",
	      syscall(SYS_rt_tgsigqueueinfo, getpid(), 99999L, SIGUSR2, &si));
	return 0;
}
