/* nanosleep.c - nanosleep and clock_nanosleep: durations honoured
 * (relative and absolute), argument checks. */
#include "guest.h"

static long long now_ns(int clk)
{
	struct timespec t;
	syscall(SYS_clock_gettime, (long)clk, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

#define MS 1000000LL

int main(void)
{
	GUEST_INIT();
	struct timespec req = {0, 10 * MS}, rem = {-1, -1};
	long long t0 = now_ns(CLOCK_MONOTONIC);
	CHECK("nanosleep(10ms)", syscall(SYS_nanosleep, &req, &rem));
	long long t1 = now_ns(CLOCK_MONOTONIC);
	EXPECT("slept >= 10ms", t1 - t0 >= 10 * MS);
	EXPECT("slept < 5s", t1 - t0 < 5000 * MS);
	EXPECT("rem untouched when not interrupted", rem.tv_sec == -1 && rem.tv_nsec == -1);

	struct timespec zero = {0, 0};
	CHECK("nanosleep(0)", syscall(SYS_nanosleep, &zero, NULL));
	struct timespec one = {0, 1};
	CHECK("nanosleep(1ns)", syscall(SYS_nanosleep, &one, NULL));
	struct timespec e1 = {0, 1000000000L}, e2 = {0, -1}, e3 = {-1, 0}, e4 = {1, 1000000000L};
	CHECK("nanosleep(tv_nsec=1e9)", syscall(SYS_nanosleep, &e1, NULL));
	CHECK("nanosleep(tv_nsec=-1)", syscall(SYS_nanosleep, &e2, NULL));
	CHECK("nanosleep(tv_sec=-1)", syscall(SYS_nanosleep, &e3, NULL));
	CHECK("nanosleep(1s + 1e9ns)", syscall(SYS_nanosleep, &e4, NULL));
	CHECK("nanosleep(NULL)", syscall(SYS_nanosleep, NULL, NULL));
	CHECK("nanosleep(bad)", syscall(SYS_nanosleep, BAD_LOW, NULL));
	CHECK("nanosleep(0, bad rem)", syscall(SYS_nanosleep, &zero, BAD_LOW));
	CHECK("libc nanosleep(1ms)", nanosleep(&(struct timespec){0, MS}, NULL));
	CHECK("libc usleep(1000)", usleep(1000));

	/* clock_nanosleep, relative. */
	static const struct { int id; const char *name; } ok[] = {
		{CLOCK_MONOTONIC, "MONOTONIC"},
		{CLOCK_REALTIME, "REALTIME"},
		{CLOCK_BOOTTIME, "BOOTTIME"},
	};
	char label[96];
	for (size_t i = 0; i < 3; i++) {
		struct timespec d = {0, 5 * MS};
		t0 = now_ns(ok[i].id);
		snprintf(label, sizeof label, "clock_nanosleep(%s, 5ms)", ok[i].name);
		CHECK(label, syscall(SYS_clock_nanosleep, (long)ok[i].id, 0L, &d, NULL));
		t1 = now_ns(ok[i].id);
		snprintf(label, sizeof label, "%s slept >= 5ms", ok[i].name);
		EXPECT(label, t1 - t0 >= 5 * MS);
	}

	/* clock_nanosleep, absolute: a deadline 10ms ahead, and one in the past. */
	struct timespec dl;
	syscall(SYS_clock_gettime, (long)CLOCK_MONOTONIC, &dl);
	t0 = (long long)dl.tv_sec * 1000000000LL + dl.tv_nsec;
	dl.tv_nsec += 10 * MS;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	CHECK("clock_nanosleep(MONOTONIC, ABSTIME, now+10ms)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_MONOTONIC, (long)TIMER_ABSTIME, &dl, NULL));
	t1 = now_ns(CLOCK_MONOTONIC);
	EXPECT("woke at or after the deadline", t1 - t0 >= 10 * MS);
	struct timespec past = {1, 0};
	t0 = now_ns(CLOCK_MONOTONIC);
	CHECK("clock_nanosleep(MONOTONIC, ABSTIME, past)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_MONOTONIC, (long)TIMER_ABSTIME, &past, NULL));
	CHECK("clock_nanosleep(REALTIME, ABSTIME, past)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_REALTIME, (long)TIMER_ABSTIME, &past, NULL));
	EXPECT("past deadline returned quickly", now_ns(CLOCK_MONOTONIC) - t0 < 1000 * MS);
	struct timespec d2 = {0, MS};
	CHECK("clock_nanosleep(MONOTONIC, flags=2 (ignored), 1ms)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_MONOTONIC, 2L, &d2, NULL));

	/* Errors. */
	CHECK("clock_nanosleep(100)", syscall(SYS_clock_nanosleep, 100L, 0L, &d2, NULL));
	CHECK("clock_nanosleep(-1)", syscall(SYS_clock_nanosleep, -1L, 0L, &d2, NULL));
	CHECK("clock_nanosleep(THREAD_CPUTIME)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_THREAD_CPUTIME_ID, 0L, &d2, NULL));
	CHECK("clock_nanosleep(MONOTONIC_COARSE)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_MONOTONIC_COARSE, 0L, &d2, NULL));
	CHECK("clock_nanosleep(REALTIME_COARSE)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_REALTIME_COARSE, 0L, &d2, NULL));
	CHECK("clock_nanosleep(MONOTONIC_RAW)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_MONOTONIC_RAW, 0L, &d2, NULL));
	CHECK("clock_nanosleep(MONOTONIC, tv_nsec=1e9)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_MONOTONIC, 0L, &e1, NULL));
	CHECK("clock_nanosleep(MONOTONIC, tv_sec=-1)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_MONOTONIC, 0L, &e3, NULL));
	CHECK("clock_nanosleep(MONOTONIC, ABSTIME, tv_sec=-1)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_MONOTONIC, (long)TIMER_ABSTIME, &e3, NULL));
	CHECK("clock_nanosleep(MONOTONIC, bad req)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_MONOTONIC, 0L, BAD_LOW, NULL));
	CHECK("clock_nanosleep(MONOTONIC, 0, bad rem)",
	      syscall(SYS_clock_nanosleep, (long)CLOCK_MONOTONIC, 0L, &zero, BAD_LOW));
	CHECK("clock_nanosleep(100, bad req)", syscall(SYS_clock_nanosleep, 100L, 0L, BAD_LOW, NULL));
	return 0;
}
