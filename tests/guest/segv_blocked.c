/* segv_blocked.c - a synchronous SIGSEGV that is both ignored and blocked
 * still kills the process: Linux forces the default action for faults. */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	no_core_dumps();
	struct k_sigaction act = {K_SIG_IGN, K_SA_RESTORER,
				  (unsigned long)dummy_restorer, 0};
	CHECK("ignore SIGSEGV", raw_sigaction(SIGSEGV, &act, NULL));
	unsigned long set = K_SIGBIT(SIGSEGV);
	CHECK("block SIGSEGV", raw_sigprocmask(SIG_BLOCK, &set, NULL));
	unsigned char *p = map_pages(1, PROT_NONE);
	printf("reading PROT_NONE page\n");
	printf("survived (wrong): %d\n", *(volatile unsigned char *)p);
	return 0;
}
