/* abort(): blocked SIGABRT, a handler that returns, and still the
 * process dies with SIGABRT (status 134). */
#include "guest.h"

static void on_abrt(int sig)
{
	(void)sig;
	printf("handler ran\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	no_core_dumps();
	signal(SIGABRT, on_abrt);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGABRT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	abort();
}
