/* segv_null.c - a store to address 0 kills the process with SIGSEGV. */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	no_core_dumps();
	printf("storing to NULL\n");
	volatile uintptr_t addr = 0;
	*(volatile int *)addr = 1;
	printf("survived (wrong)\n");
	return 0;
}
