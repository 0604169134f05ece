/* clocks.c - clock_gettime/clock_getres/gettimeofday/time through raw
 * syscalls and through libc (the vDSO); only relations and ranges are
 * printed. */
#include "guest.h"
#include <sys/time.h>

static const struct { int id; const char *name; } clocks[] = {
	{CLOCK_REALTIME, "REALTIME"},
	{CLOCK_MONOTONIC, "MONOTONIC"},
	{CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID"},
	{CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID"},
	{CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW"},
	{CLOCK_REALTIME_COARSE, "REALTIME_COARSE"},
	{CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE"},
	{CLOCK_BOOTTIME, "BOOTTIME"},
};

static long long ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int raw_now(int clk, struct timespec *t)
{
	return (int)syscall(SYS_clock_gettime, (long)clk, t);
}

int main(void)
{
	GUEST_INIT();
	char label[96];
	for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		struct timespec t = {-1, -1}, r = {-1, -1};
		long ret = syscall(SYS_clock_gettime, (long)clocks[i].id, &t);
		long rret = syscall(SYS_clock_getres, (long)clocks[i].id, &r);
		printf("%s: gettime ret=%ld getres ret=%ld\n", clocks[i].name, ret, rret);
		snprintf(label, sizeof label, "%s value sane", clocks[i].name);
		EXPECT(label, t.tv_sec >= 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000L);
		snprintf(label, sizeof label, "%s res in (0, 10ms]", clocks[i].name);
		EXPECT(label, r.tv_sec == 0 && r.tv_nsec > 0 && r.tv_nsec <= 10000000L);
		snprintf(label, sizeof label, "%s getres(NULL)", clocks[i].name);
		CHECK(label, syscall(SYS_clock_getres, (long)clocks[i].id, NULL));
		struct timespec l;
		snprintf(label, sizeof label, "%s libc clock_gettime", clocks[i].name);
		CHECK(label, clock_gettime(clocks[i].id, &l));
	}
	struct timespec r;
	syscall(SYS_clock_getres, (long)CLOCK_MONOTONIC, &r);
	EXPECT("MONOTONIC res == 1ns", r.tv_sec == 0 && r.tv_nsec == 1);

	/* Monotonic clocks never go backwards, raw and libc interleaved. */
	int ok = 1, okraw = 1;
	struct timespec a, b;
	raw_now(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 2000; i++) {
		if (i & 1)
			clock_gettime(CLOCK_MONOTONIC, &b);
		else
			raw_now(CLOCK_MONOTONIC, &b);
		if (ns(&b) < ns(&a)) ok = 0;
		a = b;
	}
	EXPECT("MONOTONIC non-decreasing", ok);
	raw_now(CLOCK_MONOTONIC_RAW, &a);
	for (int i = 0; i < 500; i++) {
		raw_now(CLOCK_MONOTONIC_RAW, &b);
		if (ns(&b) < ns(&a)) okraw = 0;
		a = b;
	}
	EXPECT("MONOTONIC_RAW non-decreasing", okraw);
	raw_now(CLOCK_MONOTONIC, &a);
	raw_now(CLOCK_BOOTTIME, &b);
	EXPECT("BOOTTIME >= MONOTONIC", ns(&b) >= ns(&a));

	/* Wall clock: after 2020, and consistent across interfaces. */
	struct timespec rt;
	struct timeval tv = {-1, -1};
	raw_now(CLOCK_REALTIME, &rt);
	CHECK("gettimeofday(&tv, NULL)", syscall(SYS_gettimeofday, &tv, NULL));
	long tsec = syscall(SYS_time, NULL);
	EXPECT("REALTIME after 2020-01-01", rt.tv_sec > 1577836800L);
	EXPECT("gettimeofday usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	EXPECT("gettimeofday within 1s of REALTIME",
	       tv.tv_sec - rt.tv_sec >= 0 && tv.tv_sec - rt.tv_sec <= 1);
	/* Linux's time() reads the coarse clock, updated once a tick: just
	 * after a second turns it can still say the one before. */
	EXPECT("time() within 1s of REALTIME", tsec - rt.tv_sec >= -1 && tsec - rt.tv_sec <= 1);
	time_t t2 = 0;
	long tret = syscall(SYS_time, &t2);
	EXPECT("time(&t) stores its return value", tret == (long)t2);
	CHECK("gettimeofday(NULL, NULL)", syscall(SYS_gettimeofday, NULL, NULL));
	struct timeval ltv;
	CHECK("libc gettimeofday", gettimeofday(&ltv, NULL));
	EXPECT("libc time() after 2020", time(NULL) > 1577836800L);
	struct timespec rc;
	raw_now(CLOCK_REALTIME_COARSE, &rc);
	EXPECT("REALTIME_COARSE within 1s of REALTIME",
	       rc.tv_sec - rt.tv_sec >= -1 && rc.tv_sec - rt.tv_sec <= 1);

	/* CPU-time clocks advance while spinning; thread <= process. */
	struct timespec c0, c1, m0, m1;
	raw_now(CLOCK_PROCESS_CPUTIME_ID, &c0);
	raw_now(CLOCK_MONOTONIC, &m0);
	volatile unsigned long spin = 0;
	do {
		for (int i = 0; i < 100000; i++) spin++;
		raw_now(CLOCK_PROCESS_CPUTIME_ID, &c1);
		raw_now(CLOCK_MONOTONIC, &m1);
	} while (ns(&c1) - ns(&c0) < 2000000 && ns(&m1) - ns(&m0) < 2000000000LL);
	EXPECT("PROCESS_CPUTIME advanced >= 2ms while spinning", ns(&c1) - ns(&c0) >= 2000000);
	struct timespec th, pr;
	raw_now(CLOCK_THREAD_CPUTIME_ID, &th);
	raw_now(CLOCK_PROCESS_CPUTIME_ID, &pr);
	EXPECT("THREAD_CPUTIME <= PROCESS_CPUTIME", ns(&th) <= ns(&pr));
	return 0;
}
