/* cpuclock.c - dynamically encoded CPU-time clock ids (what
 * clock_getcpuclockid/pthread_getcpuclockid return): pid 0 means the
 * caller, the low bits select PROF/VIRT/SCHED, bit 2 selects the thread. */
#include "guest.h"

#define CPUCLOCK_PROF 0
#define CPUCLOCK_VIRT 1
#define CPUCLOCK_SCHED 2
#define CPUCLOCK_PERTHREAD 4
#define MAKE_PROCESS_CPUCLOCK(pid, clk) ((int)(~(unsigned)(pid) << 3) | (clk))
#define MAKE_THREAD_CPUCLOCK(tid, clk) (MAKE_PROCESS_CPUCLOCK(tid, clk) | CPUCLOCK_PERTHREAD)

int main(void)
{
	GUEST_INIT();
	int pid = (int)syscall(SYS_getpid), tid = (int)syscall(SYS_gettid);
	struct timespec t;
	struct { const char *name; int id; } ids[] = {
		{"process(0) SCHED", MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_SCHED)},
		{"process(0) PROF", MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_PROF)},
		{"process(0) VIRT", MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_VIRT)},
		{"thread(0) SCHED", MAKE_THREAD_CPUCLOCK(0, CPUCLOCK_SCHED)},
		{"process(getpid) SCHED", MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)},
		{"thread(gettid) SCHED", MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)},
		{"process(0) clock 3 (invalid)", MAKE_PROCESS_CPUCLOCK(0, 3)},
		{"thread(0) clock 3 (invalid)", MAKE_THREAD_CPUCLOCK(0, 3)},
		{"process(0x0fffffff) SCHED (no such pid)",
		 MAKE_PROCESS_CPUCLOCK(0x0fffffff, CPUCLOCK_SCHED)},
		{"thread(0x0fffffff) SCHED (no such tid)",
		 MAKE_THREAD_CPUCLOCK(0x0fffffff, CPUCLOCK_SCHED)},
	};
	char label[128];
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		snprintf(label, sizeof label, "clock_gettime(%s)", ids[i].name);
		CHECK(label, syscall(SYS_clock_gettime, (long)ids[i].id, &t));
		snprintf(label, sizeof label, "clock_getres(%s)", ids[i].name);
		CHECK(label, syscall(SYS_clock_getres, (long)ids[i].id, &t));
	}
	EXPECT("MAKE_PROCESS_CPUCLOCK(0, SCHED) == -6", MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_SCHED) == -6);

	/* The encoded process clock agrees with CLOCK_PROCESS_CPUTIME_ID. */
	struct timespec a, b, c;
	syscall(SYS_clock_gettime, (long)CLOCK_PROCESS_CPUTIME_ID, &a);
	syscall(SYS_clock_gettime, (long)MAKE_PROCESS_CPUCLOCK(0, CPUCLOCK_SCHED), &b);
	syscall(SYS_clock_gettime, (long)CLOCK_PROCESS_CPUTIME_ID, &c);
	long long na = a.tv_sec * 1000000000LL + a.tv_nsec;
	long long nb = b.tv_sec * 1000000000LL + b.tv_nsec;
	long long nc = c.tv_sec * 1000000000LL + c.tv_nsec;
	EXPECT("PROCESS_CPUTIME_ID <= encoded <= PROCESS_CPUTIME_ID", na <= nb && nb <= nc);

	clockid_t cid;
	int r = clock_getcpuclockid(0, &cid);
	printf("libc clock_getcpuclockid(0): %d\n", r);
	if (r == 0)
		CHECK("clock_gettime(libc cpuclockid)", syscall(SYS_clock_gettime, (long)cid, &t));
	return 0;
}
