/* sigprocmask.c - rt_sigprocmask semantics and validation.  The mask is
 * inherited across exec, so it is reset before anything is printed. */
#include "guest.h"

static unsigned long cur(void)
{
	unsigned long m = 0x5a5a;
	if (raw_sigprocmask(SIG_BLOCK, NULL, &m) != 0)
		die("query mask");
	return m;
}

int main(void)
{
	GUEST_INIT();
	unsigned long set = 0, old = 0;
	CHECK("SIG_SETMASK empty", raw_sigprocmask(SIG_SETMASK, &set, NULL));
	printf("mask: %#lx\n", cur());

	set = K_SIGBIT(SIGUSR1) | K_SIGBIT(SIGUSR2);
	CHECK("SIG_BLOCK USR1|USR2", raw_sigprocmask(SIG_BLOCK, &set, &old));
	printf("old: %#lx mask: %#lx\n", old, cur());
	set = K_SIGBIT(SIGKILL) | K_SIGBIT(SIGSTOP);
	CHECK("SIG_BLOCK KILL|STOP (ignored)", raw_sigprocmask(SIG_BLOCK, &set, NULL));
	printf("mask: %#lx\n", cur());
	set = K_SIGBIT(SIGUSR1) | K_SIGBIT(SIGINT);
	CHECK("SIG_UNBLOCK USR1|INT", raw_sigprocmask(SIG_UNBLOCK, &set, &old));
	printf("old: %#lx mask: %#lx\n", old, cur());
	set = ~0UL;
	CHECK("SIG_SETMASK all", raw_sigprocmask(SIG_SETMASK, &set, NULL));
	printf("mask: %#lx\n", cur());
	set = K_SIGBIT(34) | K_SIGBIT(64) | K_SIGBIT(32) | K_SIGBIT(33);
	CHECK("SIG_SETMASK rt signals", raw_sigprocmask(SIG_SETMASK, &set, &old));
	printf("old: %#lx mask: %#lx\n", old, cur());

	/* How is only validated when a set is given. */
	CHECK("how 3", raw_sigprocmask(3, &set, NULL));
	CHECK("how -1", raw_sigprocmask(-1, &set, NULL));
	CHECK("how 3, set NULL", raw_sigprocmask(3, NULL, &old));
	CHECK("how 3, set NULL, old NULL", raw_sigprocmask(3, NULL, NULL));
	CHECK("how 3, bad set", raw_sigprocmask(3, BAD_LOW, NULL));
	CHECK("sigsetsize 4", syscall(SYS_rt_sigprocmask, (long)SIG_BLOCK, &set, NULL, 4L));
	CHECK("sigsetsize 16", syscall(SYS_rt_sigprocmask, (long)SIG_BLOCK, &set, NULL, 16L));
	CHECK("sigsetsize 0, NULL sets", syscall(SYS_rt_sigprocmask, (long)SIG_BLOCK, NULL, NULL, 0L));
	CHECK("bad set", raw_sigprocmask(SIG_BLOCK, BAD_LOW, NULL));
	CHECK("bad old (query)", raw_sigprocmask(SIG_BLOCK, NULL, BAD_LOW));
	printf("mask after errors: %#lx\n", cur());

	/* A bad oldset is reported after the new mask took effect. */
	set = K_SIGBIT(SIGTERM);
	CHECK("SIG_BLOCK TERM with bad old", raw_sigprocmask(SIG_BLOCK, &set, BAD_LOW));
	printf("mask: %#lx\n", cur());

	/* Read-only old buffer. */
	unsigned char *ro = map_pages(1, PROT_READ);
	CHECK("read-only old", raw_sigprocmask(SIG_BLOCK, NULL, (unsigned long *)ro));

	/* libc wrapper for a plain signal. */
	sigset_t ls, lo;
	sigemptyset(&ls);
	sigaddset(&ls, SIGHUP);
	CHECK("libc sigprocmask(SIG_SETMASK, HUP)", sigprocmask(SIG_SETMASK, &ls, &lo));
	printf("mask: %#lx\n", cur());
	EXPECT("libc old set had TERM", sigismember(&lo, SIGTERM) == 1);
	CHECK("libc sigprocmask(how 99)", sigprocmask(99, &ls, NULL));

	set = 0;
	CHECK("SIG_SETMASK empty", raw_sigprocmask(SIG_SETMASK, &set, NULL));
	printf("mask: %#lx\n", cur());
	return 0;
}
