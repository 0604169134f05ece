/* SA_ONSTACK handlers run on the alternate stack, which reports
 * SS_ONSTACK inside the handler; without the flag they stay on the normal
 * stack; a stack overflow can still be caught on the alternate stack. */
#include <setjmp.h>

#include "guest.h"

static char *alt;
static size_t alt_size = 64 * 1024;
static volatile int on_alt, flags_inside;
static sigjmp_buf jump;

static void where(int sig)
{
	(void)sig;
	char local;
	on_alt = &local >= alt && &local < alt + alt_size;
	stack_t cur;
	sigaltstack(NULL, &cur);
	flags_inside = cur.ss_flags;
}

static void overflow_caught(int sig)
{
	where(sig);
	siglongjmp(jump, 1);
}

static volatile int depth_limit = 1 << 30;

static int recurse(int n)
{
	volatile char pad[4096];
	pad[0] = (char)n;
	if (n > depth_limit)
		return 0;
	return recurse(n + 1) + pad[0];
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	alt = malloc(alt_size);
	stack_t ss = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 0};
	printf("sigaltstack: %d\n", sigaltstack(&ss, NULL));
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = where;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	printf("SA_ONSTACK: on alt stack %d, SS_ONSTACK inside %d\n", on_alt,
	       flags_inside == SS_ONSTACK);
	sa.sa_flags = 0;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);
	printf("no SA_ONSTACK: on alt stack %d\n", on_alt);
	stack_t cur;
	sigaltstack(NULL, &cur);
	printf("outside: flags %d, size ok %d\n", cur.ss_flags, cur.ss_size == alt_size);

	/* Overflow the main stack; the handler needs the alternate one. */
	struct rlimit rl = {1 << 20, 1 << 20};
	setrlimit(RLIMIT_STACK, &rl);
	sa.sa_handler = overflow_caught;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(jump, 1) == 0)
		recurse(0);
	printf("overflow caught on alt stack: %d\n", on_alt);
	return 0;
}
