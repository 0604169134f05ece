/* Resource usage: getrusage (self, children, thread, bad arguments) and
 * times.  Times and sizes vary, so only their sense is printed: CPU time
 * grows while the program computes, the peak memory covers what it
 * touched, and nothing is charged to children that never existed. */
#include "guest.h"

#include <sys/resource.h>
#include <sys/times.h>

static double secs(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(void)
{
	struct rusage before, after, kids, thread;
	CHECK("getrusage self", syscall(SYS_getrusage, RUSAGE_SELF, &before));
	volatile unsigned long spin = 0;
	for (unsigned long i = 0; i < 300000000UL; i++)
		spin += i;
	size_t big = 64 << 20;
	char *mem = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t off = 0; off < big; off += 4096)
		mem[off] = 1;
	CHECK("getrusage self again", syscall(SYS_getrusage, RUSAGE_SELF, &after));
	printf("user time grew: %s\n", secs(after.ru_utime) > secs(before.ru_utime) ? "yes" : "no");
	printf("user+system at least 0.05 s: %s\n",
	       secs(after.ru_utime) + secs(after.ru_stime) >= 0.05 ? "yes" : "no");
	printf("usec fields in range: %s\n",
	       after.ru_utime.tv_usec < 1000000 && after.ru_stime.tv_usec < 1000000 ? "yes" : "no");
	/* Most of it: a loaded host may reclaim a few pages while they are
	 * touched (seen once natively). */
	printf("maxrss covers the 64 MiB touched: %s\n", after.ru_maxrss >= 48 * 1024 ? "yes" : "no");
	CHECK("getrusage children", syscall(SYS_getrusage, RUSAGE_CHILDREN, &kids));
	printf("children used nothing: %s\n",
	       secs(kids.ru_utime) == 0 && secs(kids.ru_stime) == 0 && kids.ru_maxrss == 0 ? "yes"
											      : "no");
	CHECK("getrusage thread", syscall(SYS_getrusage, RUSAGE_THREAD, &thread));
	printf("thread user time grew: %s\n", secs(thread.ru_utime) > secs(before.ru_utime) ? "yes" : "no");
	CHECK("getrusage who 5", syscall(SYS_getrusage, 5, &after));
	CHECK("getrusage who -3", syscall(SYS_getrusage, -3, &after));
	CHECK("getrusage bad pointer", syscall(SYS_getrusage, RUSAGE_SELF, (void *)1));
	CHECK("getrusage bad who and pointer", syscall(SYS_getrusage, 5, (void *)1));

	struct tms tms;
	long t0 = syscall(SYS_times, &tms);
	printf("times returns ticks: %s\n", t0 > 0 ? "yes" : "no");
	long hz = sysconf(_SC_CLK_TCK);
	printf("tms_utime matches getrusage: %s\n",
	       tms.tms_utime >= (clock_t)(secs(after.ru_utime) * (double)hz) - 2 ? "yes" : "no");
	printf("tms_cutime and tms_cstime 0: %s\n", !tms.tms_cutime && !tms.tms_cstime ? "yes" : "no");
	printf("times(NULL) works: %s\n", syscall(SYS_times, NULL) >= t0 ? "yes" : "no");
	CHECK("times bad pointer", syscall(SYS_times, (void *)1));
	struct timespec ms = {0, 30000000};
	nanosleep(&ms, NULL);
	printf("ticks advance over 30 ms: %s\n", syscall(SYS_times, NULL) > t0 ? "yes" : "no");
	return 0;
}
