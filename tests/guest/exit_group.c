/* exit_group.c - raw exit_group(300): only the low 8 bits of the status
 * survive, so the exit status is 300 & 0xff = 44.  atexit handlers must
 * not run. */
#include "guest.h"

static void bye(void) { printf("atexit handler ran (wrong)\n"); }

int main(void)
{
	GUEST_INIT();
	atexit(bye);
	printf("calling exit_group(300)\n");
	syscall(SYS_exit_group, 300L);
	printf("still alive after exit_group (wrong)\n");
	return 1;
}
