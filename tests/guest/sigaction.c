/* sigaction.c - rt_sigaction storage and validation (signals are never
 * delivered here).  Initial dispositions are inherited across exec and
 * therefore never printed; every checked action is set first. */
#include "guest.h"

static void show(const char *label, const struct k_sigaction *a)
{
	const char *h = a->handler == K_SIG_DFL ? "SIG_DFL" :
			a->handler == K_SIG_IGN ? "SIG_IGN" :
			a->handler == (unsigned long)dummy_handler ? "handler" : "other";
	const char *r = a->restorer == 0 ? "0" :
			a->restorer == (unsigned long)dummy_restorer ? "restorer" : "other";
	printf("%s: handler=%s flags=%#lx mask=%#lx restorer=%s\n", label, h, a->flags,
	       a->mask, r);
}

int main(void)
{
	GUEST_INIT();
	struct k_sigaction act, old;
	const unsigned long R = (unsigned long)dummy_restorer;

	act = (struct k_sigaction){(unsigned long)dummy_handler,
				   K_SA_RESTORER | SA_RESTART | SA_SIGINFO,
				   R, K_SIGBIT(SIGUSR2) | K_SIGBIT(SIGKILL) | K_SIGBIT(SIGSTOP)};
	CHECK("set SIGUSR1", raw_sigaction(SIGUSR1, &act, NULL));
	memset(&old, 0x5a, sizeof old);
	CHECK("query SIGUSR1", raw_sigaction(SIGUSR1, NULL, &old));
	show("SIGUSR1", &old);

	act = (struct k_sigaction){K_SIG_IGN, K_SA_RESTORER, R, 0};
	memset(&old, 0x5a, sizeof old);
	CHECK("set SIGUSR1 to SIG_IGN, get old", raw_sigaction(SIGUSR1, &act, &old));
	show("old SIGUSR1", &old);
	CHECK("query SIGUSR1", raw_sigaction(SIGUSR1, NULL, &old));
	show("SIGUSR1", &old);

	act = (struct k_sigaction){K_SIG_DFL, 0, 0, ~0UL};
	CHECK("set SIGUSR2 SIG_DFL, full mask, no restorer", raw_sigaction(SIGUSR2, &act, NULL));
	CHECK("query SIGUSR2", raw_sigaction(SIGUSR2, NULL, &old));
	show("SIGUSR2", &old);

	act = (struct k_sigaction){(unsigned long)dummy_handler,
				   K_SA_RESTORER | SA_ONSTACK | SA_NODEFER | SA_RESETHAND, R, 0};
	CHECK("set SIGRTMAX (64)", raw_sigaction(64, &act, NULL));
	CHECK("query 64", raw_sigaction(64, NULL, &old));
	show("signal 64", &old);
	CHECK("set 32", raw_sigaction(32, &act, NULL));
	CHECK("query 32", raw_sigaction(32, NULL, &old));
	show("signal 32", &old);
	CHECK("set SIGCHLD SIG_IGN", raw_sigaction(SIGCHLD,
		&(struct k_sigaction){K_SIG_IGN, K_SA_RESTORER | SA_NOCLDSTOP, R, 0}, NULL));
	CHECK("query SIGCHLD", raw_sigaction(SIGCHLD, NULL, &old));
	show("SIGCHLD", &old);
	CHECK("set SIGSEGV handler", raw_sigaction(SIGSEGV, &act, NULL));
	CHECK("reset SIGSEGV", raw_sigaction(SIGSEGV,
		&(struct k_sigaction){K_SIG_DFL, K_SA_RESTORER, R, 0}, NULL));

	/* SIGKILL and SIGSTOP: may be queried, never changed. */
	act = (struct k_sigaction){K_SIG_IGN, K_SA_RESTORER, R, 0};
	CHECK("set SIGKILL", raw_sigaction(SIGKILL, &act, NULL));
	CHECK("set SIGSTOP", raw_sigaction(SIGSTOP, &act, NULL));
	act.handler = K_SIG_DFL;
	CHECK("set SIGKILL to SIG_DFL", raw_sigaction(SIGKILL, &act, NULL));
	CHECK("query SIGKILL", raw_sigaction(SIGKILL, NULL, &old));
	show("SIGKILL", &old);
	CHECK("query SIGSTOP", raw_sigaction(SIGSTOP, NULL, &old));
	CHECK("SIGKILL, NULL, NULL", raw_sigaction(SIGKILL, NULL, NULL));

	/* Signal numbers and sigsetsize. */
	CHECK("signal 0", raw_sigaction(0, NULL, &old));
	CHECK("signal 65", raw_sigaction(65, NULL, &old));
	CHECK("signal -1", raw_sigaction(-1, NULL, &old));
	CHECK("signal 0, NULL, NULL", raw_sigaction(0, NULL, NULL));
	CHECK("SIGUSR1, NULL, NULL", raw_sigaction(SIGUSR1, NULL, NULL));
	CHECK("sigsetsize 4", syscall(SYS_rt_sigaction, (long)SIGUSR1, NULL, &old, 4L));
	CHECK("sigsetsize 16", syscall(SYS_rt_sigaction, (long)SIGUSR1, NULL, &old, 16L));
	CHECK("sigsetsize 0", syscall(SYS_rt_sigaction, (long)SIGUSR1, NULL, &old, 0L));
	CHECK("sigsetsize 4, signal 0", syscall(SYS_rt_sigaction, 0L, NULL, &old, 4L));

	/* Bad pointers.  A bad oldact is reported after the new action has
	 * been installed. */
	CHECK("bad act", raw_sigaction(SIGUSR1, BAD_LOW, NULL));
	CHECK("bad act, SIGKILL", raw_sigaction(SIGKILL, BAD_LOW, NULL));
	CHECK("bad oldact (query)", raw_sigaction(SIGUSR1, NULL, BAD_LOW));
	act = (struct k_sigaction){K_SIG_DFL, K_SA_RESTORER | SA_RESTART, R, K_SIGBIT(SIGINT)};
	CHECK("set SIGUSR1 with bad oldact", raw_sigaction(SIGUSR1, &act, BAD_LOW));
	CHECK("query SIGUSR1", raw_sigaction(SIGUSR1, NULL, &old));
	show("SIGUSR1 after bad oldact", &old);

	/* libc wrappers agree with the raw view. */
	struct sigaction la, lo;
	memset(&la, 0, sizeof la);
	la.sa_handler = dummy_handler;
	sigemptyset(&la.sa_mask);
	sigaddset(&la.sa_mask, SIGTERM);
	CHECK("libc sigaction(SIGUSR2)", sigaction(SIGUSR2, &la, &lo));
	CHECK("query SIGUSR2", raw_sigaction(SIGUSR2, NULL, &old));
	EXPECT("raw view: handler set", old.handler == (unsigned long)dummy_handler);
	EXPECT("raw view: mask is SIGTERM", old.mask == K_SIGBIT(SIGTERM));
	EXPECT("raw view: SA_RESTORER set by libc", (old.flags & K_SA_RESTORER) != 0);
	EXPECT("libc old action was SIG_DFL", lo.sa_handler == SIG_DFL);
	EXPECT("libc signal() returns previous handler",
	       signal(SIGUSR2, SIG_IGN) == dummy_handler);
	CHECK("libc sigaction(SIGKILL)", sigaction(SIGKILL, &la, NULL));
	return 0;
}
