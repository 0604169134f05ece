/* sigill.c - ud2 kills the process with SIGILL (status 132). */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	no_core_dumps();
	printf("executing ud2\n");
	__asm__ volatile("ud2");
	printf("survived (wrong)\n");
	return 0;
}
