/* sigfpe.c - integer division by zero kills the process with SIGFPE
 * (status 136). */
#include "guest.h"

int main(void)
{
	GUEST_INIT();
	no_core_dumps();
	volatile int zero = 0;
	volatile int n = 42;
	printf("dividing by zero\n");
	printf("survived (wrong): %d\n", n / zero);
	return 0;
}
