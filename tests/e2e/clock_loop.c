/* Reads the clocks many times through libc: with the vDSO none of these
 * reach the sentry (run.sh counts them in --strace). */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

int main(void)
{
	struct timespec ts;
	struct timeval tv;
	long long sum = 0;
	for (int i = 0; i < 10000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		clock_gettime(CLOCK_REALTIME, &ts);
		gettimeofday(&tv, NULL);
		sum += ts.tv_nsec + tv.tv_usec + time(NULL);
	}
	printf("%s\n", sum > 0 ? "read" : "?");
	return 0;
}
