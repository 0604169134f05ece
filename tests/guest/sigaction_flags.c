/* sigaction_flags.c - which sa_flags bits the kernel stores and reports
 * back (since Linux 5.11 unknown bits are cleared on read-back, which is
 * how SA_UNSUPPORTED probing works). */
#include "guest.h"

static void roundtrip(const char *label, unsigned long flags)
{
	struct k_sigaction act = {(unsigned long)dummy_handler, flags,
				  (unsigned long)dummy_restorer, 0}, old;
	long r = raw_sigaction(SIGUSR1, &act, NULL);
	memset(&old, 0, sizeof old);
	long q = raw_sigaction(SIGUSR1, NULL, &old);
	printf("%s: set=%ld query=%ld flags in=%#lx out=%#lx\n", label, r, q, flags, old.flags);
}

int main(void)
{
	GUEST_INIT();
	roundtrip("SA_RESTORER", K_SA_RESTORER);
	roundtrip("SA_RESTORER|SA_UNSUPPORTED", K_SA_RESTORER | K_SA_UNSUPPORTED);
	roundtrip("SA_RESTORER|SA_EXPOSE_TAGBITS", K_SA_RESTORER | K_SA_EXPOSE_TAGBITS);
	roundtrip("all known bits",
		  K_SA_RESTORER | SA_NOCLDSTOP | SA_NOCLDWAIT | SA_SIGINFO | SA_ONSTACK |
		  SA_RESTART | SA_NODEFER | SA_RESETHAND);
	roundtrip("SA_RESTORER|0x100", K_SA_RESTORER | 0x100UL);
	roundtrip("0 (no SA_RESTORER)", 0);
	roundtrip("0xffffffff", 0xffffffffUL);
	roundtrip("upper 32 bits", K_SA_RESTORER | 0xff00000000UL);
	return 0;
}
