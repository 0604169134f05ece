/* exit_code.c - returning 42 from main: atexit handlers run, then
 * exit_group(42). */
#include "guest.h"

static void bye(void) { printf("atexit handler ran\n"); }

int main(void)
{
	GUEST_INIT();
	if (atexit(bye) != 0)
		die("atexit");
	printf("returning 42 from main\n");
	return 42;
}
