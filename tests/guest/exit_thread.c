/* exit_thread.c - raw exit(2) (thread exit) in a single-threaded process
 * ends the process; the status is the low 8 bits of the argument
 * (0x107 -> 7). */
#include "guest.h"

static void bye(void) { printf("atexit handler ran (wrong)\n"); }

int main(void)
{
	GUEST_INIT();
	atexit(bye);
	printf("calling exit(0x107) on the only thread\n");
	syscall(SYS_exit, 0x107L);
	printf("still alive after exit (wrong)\n");
	return 1;
}
