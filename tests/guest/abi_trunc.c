/* abi_trunc.c - syscall arguments declared as 32-bit (int, unsigned
 * int) in the kernel ignore the upper half of the register; arguments
 * declared as unsigned long do not. */
#include "guest.h"

#define HI 0x100000000L

int main(void)
{
	GUEST_INIT();
	struct timespec t;
	CHECK("write(fd 1 | 1<<32)", syscall(SYS_write, 1L | HI, "via truncated fd\n", 17L));
	CHECK("lseek(fd 0 | 1<<32, 0, SEEK_SET)", syscall(SYS_lseek, HI, 0L, (long)SEEK_SET));
	CHECK("lseek(0, 0, SEEK_SET | 1<<32)", syscall(SYS_lseek, 0L, 0L, (long)SEEK_SET | HI));
	CHECK("ioctl(fd 1 | 1<<32, TCGETS)", syscall(SYS_ioctl, 1L | HI, (long)TCGETS, &t));
	CHECK("ioctl(1, TCGETS | 1<<32)", syscall(SYS_ioctl, 1L, (long)TCGETS | HI, &t));
	CHECK("clock_gettime(MONOTONIC | 1<<32)",
	      syscall(SYS_clock_gettime, (long)CLOCK_MONOTONIC | HI, &t));
	CHECK("clock_getres(REALTIME | 1<<32)", syscall(SYS_clock_getres, HI, &t));
	unsigned char b[16];
	CHECK("getrandom(flags 1<<32)", syscall(SYS_getrandom, b, 16L, HI));
	unsigned long set = 0;
	CHECK("rt_sigprocmask(SIG_BLOCK | 1<<32)",
	      syscall(SYS_rt_sigprocmask, (long)SIG_BLOCK | HI, &set, NULL, 8L));
	struct k_sigaction old;
	CHECK("rt_sigaction(SIGUSR1 | 1<<32, NULL, &old)",
	      syscall(SYS_rt_sigaction, (long)SIGUSR1 | HI, NULL, &old, 8L));
	struct k_rlimit64 rl;
	CHECK("getrlimit(NOFILE | 1<<32)", syscall(SYS_getrlimit, (long)RLIMIT_NOFILE | HI, &rl));
	CHECK("prlimit64(0, NOFILE | 1<<32)",
	      syscall(SYS_prlimit64, 0L, (long)RLIMIT_NOFILE | HI, NULL, &rl));
	CHECK("prlimit64(pid 0 | 1<<32, NOFILE)",
	      syscall(SYS_prlimit64, HI, (long)RLIMIT_NOFILE, NULL, &rl));
	unsigned char m[128];
	long r = syscall(SYS_sched_getaffinity, HI, 128L | HI, m);
	EXPECT("sched_getaffinity(pid 0|1<<32, len 128|1<<32) == plain",
	       r == syscall(SYS_sched_getaffinity, 0L, 128L, m));
	unsigned long fs = 0;
	CHECK("arch_prctl(ARCH_GET_FS | 1<<32)", syscall(SYS_arch_prctl, (long)ARCH_GET_FS | HI, &fs));
	unsigned char *p = map_pages(1, PROT_READ | PROT_WRITE);
	CHECK("madvise(MADV_NORMAL | 1<<32)", syscall(SYS_madvise, p, PAGE, (long)MADV_NORMAL | HI));
	/* mprotect's prot is unsigned long: the high bit is an unknown flag. */
	CHECK("mprotect(PROT_READ | 1<<32)", syscall(SYS_mprotect, p, PAGE, (long)PROT_READ | HI));
	/* read's count is size_t: 1<<32 + 5 is a large count, not 5. */
	CHECK("read(0 | 1<<32, buf, 0)", syscall(SYS_read, HI, b, 0L));
	CHECK("close(1000 | 1<<32)", syscall(SYS_close, 1000L | HI));
	return 0;
}
