/* Signal handlers: delivery of faults and self-sent signals, siginfo, the
 * mask during and after a handler, SA_RESETHAND, SA_NODEFER, sa_mask,
 * pending blocked signals, SIG_IGN, and siglongjmp out of a handler. */
#include <setjmp.h>

#include "guest.h"

static volatile int hits;
static volatile int seen_code;
static volatile void *seen_addr;
static volatile int usr1_blocked_inside, usr2_blocked_inside;
static unsigned char *page;
static sigjmp_buf jump;

static int blocked(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig);
}

static void on_segv_fix(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	seen_code = si->si_code;
	seen_addr = si->si_addr;
	if (sig == SIGSEGV)
		mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

static void on_segv_jump(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	seen_code = si->si_code;
	seen_addr = si->si_addr;
	siglongjmp(jump, 1);
}

static void on_usr(int sig)
{
	hits++;
	usr1_blocked_inside = blocked(SIGUSR1);
	usr2_blocked_inside = blocked(SIGUSR2);
	(void)sig;
}

static void on_fpe(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	seen_code = si->si_code;
	siglongjmp(jump, 1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));

	/* A write to a read-only page: the handler makes it writable and the
	 * faulting instruction runs again. */
	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sa.sa_sigaction = on_segv_fix;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	page[100] = 7;
	printf("segv handler ran: %d time(s)\n", hits);
	printf("si_code is SEGV_ACCERR: %s\n", seen_code == SEGV_ACCERR ? "yes" : "no");
	printf("si_addr is the byte: %s\n", seen_addr == page + 100 ? "yes" : "no");
	printf("write landed after return: %s\n", page[100] == 7 ? "yes" : "no");
	printf("SIGSEGV unblocked after return: %s\n", blocked(SIGSEGV) ? "no" : "yes");

	/* An unmapped address, left by siglongjmp. */
	sa.sa_sigaction = on_segv_jump;
	sigaction(SIGSEGV, &sa, NULL);
	munmap(page, 4096);
	if (sigsetjmp(jump, 1) == 0) {
		page[5] = 1;
		printf("not reached\n");
	}
	printf("unmapped: SEGV_MAPERR: %s, addr ok: %s\n", seen_code == SEGV_MAPERR ? "yes" : "no",
	       seen_addr == page + 5 ? "yes" : "no");

	/* Integer division by zero. */
	sa.sa_sigaction = on_fpe;
	sigaction(SIGFPE, &sa, NULL);
	if (sigsetjmp(jump, 1) == 0) {
		volatile int zero = 0, one = 1;
		printf("%d\n", one / zero);
	}
	printf("SIGFPE si_code is FPE_INTDIV: %s\n", seen_code == FPE_INTDIV ? "yes" : "no");

	/* A self-sent signal with a handler: blocked inside, with sa_mask too. */
	hits = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	printf("usr1 handled: %d, usr1 blocked inside: %d, usr2 (sa_mask) blocked inside: %d\n",
	       hits, usr1_blocked_inside, usr2_blocked_inside);
	printf("mask restored: %s\n", !blocked(SIGUSR1) && !blocked(SIGUSR2) ? "yes" : "no");

	/* SA_NODEFER leaves the signal unblocked; SA_RESETHAND restores SIG_DFL. */
	sa.sa_flags = SA_NODEFER | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	struct sigaction now;
	sigaction(SIGUSR1, NULL, &now);
	printf("nodefer: usr1 blocked inside: %d; reset to SIG_DFL: %s\n", usr1_blocked_inside,
	       now.sa_handler == SIG_DFL ? "yes" : "no");

	/* Blocked: pending until unblocked, then delivered once. */
	hits = 0;
	sa.sa_flags = 0;
	sigaction(SIGUSR2, &sa, NULL);
	sigset_t set, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR2);
	raise(SIGUSR2);
	sigpending(&pend);
	printf("pending while blocked: %s, handled: %d\n", sigismember(&pend, SIGUSR2) ? "yes" : "no",
	       hits);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	sigpending(&pend);
	printf("after unblock: handled %d, still pending: %s\n", hits,
	       sigismember(&pend, SIGUSR2) ? "yes" : "no");

	/* Ignored signals vanish. */
	signal(SIGUSR2, SIG_IGN);
	raise(SIGUSR2);
	printf("ignored SIGUSR2 survived: yes\n");

	/* Default action of an ignored-by-default signal. */
	signal(SIGCHLD, SIG_DFL);
	raise(SIGCHLD);
	raise(SIGWINCH);
	printf("SIGCHLD and SIGWINCH by default: ignored\n");
	return 3;
}
