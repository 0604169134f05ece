/* Old binaries call the fixed vsyscall page (time, gettimeofday, getcpu).
 * The host kernel emulates those calls; in husk they must reach the
 * sentry, not kill the sandbox. */
#include <sys/time.h>

#include "guest.h"

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	long (*vtime)(long *) = (long (*)(long *))0xffffffffff600400UL;
	long (*vgtod)(struct timeval *, void *) =
		(long (*)(struct timeval *, void *))0xffffffffff600000UL;
	long (*vgetcpu)(unsigned *, unsigned *, void *) =
		(long (*)(unsigned *, unsigned *, void *))0xffffffffff600800UL;
	long stored = 0;
	long now = vtime(&stored);
	printf("vsyscall time: plausible %s, stored the same %s\n", now > 1600000000 ? "yes" : "no",
	       stored == now ? "yes" : "no");
	struct timeval tv = {0};
	long r = vgtod(&tv, NULL);
	printf("vsyscall gettimeofday: ret %ld, plausible %s\n", r, tv.tv_sec > 1600000000 ? "yes" : "no");
	unsigned cpu = 9999;
	r = vgetcpu(&cpu, NULL, NULL);
	printf("vsyscall getcpu: ret %ld, cpu set %s\n", r, cpu != 9999 ? "yes" : "no");
	return 0;
}
