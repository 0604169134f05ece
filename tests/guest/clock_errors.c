/* clock_errors.c - error paths of the clock syscalls.  Raw syscalls
 * only: glibc's wrappers go through the vDSO (the host's, or husk's),
 * which crashes on bad pointers instead of returning EFAULT. */
#include "guest.h"
#include <sys/time.h>

int main(void)
{
	GUEST_INIT();
	struct timespec t;
	static const long bad_ids[] = {10, 12, 15, 16, 100, 0x7fffffffL, -1L, -5L};
	char label[96];
	for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
		snprintf(label, sizeof label, "clock_gettime(%ld)", bad_ids[i]);
		CHECK(label, syscall(SYS_clock_gettime, bad_ids[i], &t));
		snprintf(label, sizeof label, "clock_getres(%ld)", bad_ids[i]);
		CHECK(label, syscall(SYS_clock_getres, bad_ids[i], &t));
	}
	CHECK("clock_gettime(MONOTONIC, NULL)", syscall(SYS_clock_gettime, (long)CLOCK_MONOTONIC, NULL));
	CHECK("clock_gettime(MONOTONIC, bad)", syscall(SYS_clock_gettime, (long)CLOCK_MONOTONIC, BAD_LOW));
	CHECK("clock_gettime(REALTIME, non-canonical)",
	      syscall(SYS_clock_gettime, (long)CLOCK_REALTIME, BAD_NONCANON));
	CHECK("clock_gettime(PROCESS_CPUTIME, bad)",
	      syscall(SYS_clock_gettime, (long)CLOCK_PROCESS_CPUTIME_ID, BAD_LOW));
	CHECK("clock_gettime(100, bad) invalid id first",
	      syscall(SYS_clock_gettime, 100L, BAD_LOW));
	CHECK("clock_getres(MONOTONIC, bad)", syscall(SYS_clock_getres, (long)CLOCK_MONOTONIC, BAD_LOW));
	CHECK("clock_getres(100, NULL)", syscall(SYS_clock_getres, 100L, NULL));

	/* Read-only destination. */
	unsigned char *ro = map_pages(1, PROT_READ);
	CHECK("clock_gettime(MONOTONIC, read-only)",
	      syscall(SYS_clock_gettime, (long)CLOCK_MONOTONIC, ro));
	CHECK("gettimeofday(read-only, NULL)", syscall(SYS_gettimeofday, ro, NULL));
	CHECK("gettimeofday(bad, NULL)", syscall(SYS_gettimeofday, BAD_LOW, NULL));
	struct timeval tv;
	CHECK("gettimeofday(&tv, bad tz)", syscall(SYS_gettimeofday, &tv, BAD_LOW));
	CHECK("gettimeofday(NULL, bad tz)", syscall(SYS_gettimeofday, NULL, BAD_LOW));
	CHECK_OK("time(bad)", syscall(SYS_time, BAD_LOW));
	CHECK_OK("time(read-only)", syscall(SYS_time, ro));
	CHECK_OK("time(NULL)", syscall(SYS_time, NULL));
	return 0;
}
