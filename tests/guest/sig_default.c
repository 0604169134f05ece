/* Default actions: SIGTERM raised by the program itself terminates it, and
 * the shell sees 128+15; output written before stays written. */
#include "guest.h"

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("before\n");
	raise(SIGTERM);
	printf("after (not reached)\n");
	return 0;
}
