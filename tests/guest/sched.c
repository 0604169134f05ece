/* sched.c - sched_getaffinity and sched_yield.  Only the kernel's
 * cpumask size (the return value) is printed, never the CPU count. */
#include "guest.h"
#include <sched.h>

static int popcount_bytes(const unsigned char *b, long n)
{
	int c = 0;
	for (long i = 0; i < n; i++)
		c += __builtin_popcount(b[i]);
	return c;
}

int main(void)
{
	GUEST_INIT();
	unsigned char mask[4096];
	memset(mask, 0xaa, sizeof mask);
	long r = syscall(SYS_sched_getaffinity, 0L, 128L, mask);
	printf("sched_getaffinity(0, 128) ret: %ld\n", r);
	EXPECT("ret is a multiple of 8", r > 0 && r % 8 == 0);
	int count = r > 0 ? popcount_bytes(mask, r) : 0;
	EXPECT("count > 0", count > 0);
	int untouched = 1;
	for (long i = r > 0 ? r : 0; i < 128; i++)
		if (mask[i] != 0xaa) untouched = 0;
	EXPECT("bytes beyond ret untouched", untouched);

	unsigned char m2[4096];
	long r2 = syscall(SYS_sched_getaffinity, (long)syscall(SYS_getpid), 4096L, m2);
	EXPECT("ret(getpid, 4096) >= ret(0, 128)", r2 >= r);
	EXPECT("same mask via own pid", r2 > 0 && memcmp(mask, m2, r < r2 ? r : r2) == 0);
	long r3 = syscall(SYS_sched_getaffinity, (long)syscall(SYS_gettid), 4096L, m2);
	EXPECT("same ret via own tid", r3 == r2);

	CHECK("len 0", syscall(SYS_sched_getaffinity, 0L, 0L, mask));
	CHECK("len 7", syscall(SYS_sched_getaffinity, 0L, 7L, mask));
	CHECK("len 1001 (not a multiple of 8)", syscall(SYS_sched_getaffinity, 0L, 1001L, mask));
	CHECK("pid -1", syscall(SYS_sched_getaffinity, -1L, 128L, mask));
	CHECK("pid 0x0fffffff", syscall(SYS_sched_getaffinity, 0x0fffffffL, 128L, mask));
	CHECK("bad mask", syscall(SYS_sched_getaffinity, 0L, 128L, BAD_LOW));
	CHECK("NULL mask", syscall(SYS_sched_getaffinity, 0L, 128L, NULL));
	CHECK("bad mask, len 7", syscall(SYS_sched_getaffinity, 0L, 7L, BAD_LOW));
	CHECK("bad mask, pid -1", syscall(SYS_sched_getaffinity, -1L, 128L, BAD_LOW));

	cpu_set_t cs;
	CPU_ZERO(&cs);
	CHECK("libc sched_getaffinity", sched_getaffinity(0, sizeof cs, &cs));
	EXPECT("libc CPU_COUNT == raw count", CPU_COUNT(&cs) == count);

	CHECK("sched_yield", syscall(SYS_sched_yield));
	CHECK("sched_yield", syscall(SYS_sched_yield));
	CHECK("libc sched_yield", sched_yield());
	return 0;
}
