/* efault.c - a sweep of bad user pointers across the implemented
 * syscalls: NULL, a low address, a non-canonical address, a PROT_NONE
 * page, a read-only page (fails only for out-parameters) and a buffer
 * that runs from a writable page into a PROT_NONE page. */
#include "guest.h"
#include <sys/uio.h>

typedef long (*call_fn)(void *p);

static long c_uname(void *p) { return syscall(SYS_uname, p); }
static long c_sysinfo(void *p) { return syscall(SYS_sysinfo, p); }
static long c_gettime(void *p) { return syscall(SYS_clock_gettime, (long)CLOCK_MONOTONIC, p); }
static long c_getres(void *p) { return syscall(SYS_clock_getres, (long)CLOCK_REALTIME, p); }
static long c_gettimeofday(void *p) { return syscall(SYS_gettimeofday, p, NULL); }
static long c_time(void *p) { long r = syscall(SYS_time, p); return r == -1 ? -1 : 0; }
static long c_getrandom(void *p) { return syscall(SYS_getrandom, p, 64L, 0L); }
static long c_affinity(void *p)
{
	long r = syscall(SYS_sched_getaffinity, 0L, 128L, p);
	return r > 0 ? 0 : r;
}
static long c_getrlimit(void *p) { return syscall(SYS_getrlimit, (long)RLIMIT_NOFILE, p); }
static long c_prlimit_old(void *p)
{
	return syscall(SYS_prlimit64, 0L, (long)RLIMIT_NOFILE, NULL, p);
}
static long c_getfs(void *p) { return syscall(SYS_arch_prctl, (long)ARCH_GET_FS, p); }
static long c_sigmask_old(void *p) { return raw_sigprocmask(SIG_BLOCK, NULL, p); }
static long c_sigaction_old(void *p) { return raw_sigaction(SIGUSR1, NULL, p); }
static long c_robust_head(void *p)
{
	size_t len;
	return syscall(SYS_get_robust_list, 0L, p, &len);
}
static long c_getcwd(void *p) { return syscall(SYS_getcwd, p, 64L); }
static long c_fstat(void *p) { return syscall(SYS_fstat, 1L, p); }
static long c_fstatat(void *p)
{
	return syscall(SYS_newfstatat, 1L, "", p, (long)AT_EMPTY_PATH);
}
/* In-parameters (a zero-filled read-only page is valid input). */
static long c_nanosleep(void *p) { return syscall(SYS_nanosleep, p, NULL); }
static long c_clock_nanosleep(void *p)
{
	return syscall(SYS_clock_nanosleep, (long)CLOCK_MONOTONIC, 0L, p, NULL);
}
static long c_setrlimit(void *p) { return syscall(SYS_setrlimit, (long)RLIMIT_CORE, p); }
static long c_prlimit_new(void *p)
{
	return syscall(SYS_prlimit64, 0L, (long)RLIMIT_CORE, p, NULL);
}
static long c_sigmask_set(void *p) { return raw_sigprocmask(SIG_BLOCK, p, NULL); }
static long c_sigaction_act(void *p) { return raw_sigaction(SIGUSR1, p, NULL); }
static long c_writev_iov(void *p) { return syscall(SYS_writev, 1L, p, 1L); }
static long c_readv_iov(void *p) { return syscall(SYS_readv, 0L, p, 1L); }

static const struct {
	const char *name;
	call_fn fn;
	int is_input;
} calls[] = {
	{"uname", c_uname, 0},
	{"sysinfo", c_sysinfo, 0},
	{"clock_gettime", c_gettime, 0},
	{"clock_getres", c_getres, 0},
	{"gettimeofday", c_gettimeofday, 0},
	{"time", c_time, 0},
	{"getrandom", c_getrandom, 0},
	{"sched_getaffinity", c_affinity, 0},
	{"getrlimit", c_getrlimit, 0},
	{"prlimit64(old)", c_prlimit_old, 0},
	{"arch_prctl(GET_FS)", c_getfs, 0},
	{"rt_sigprocmask(old)", c_sigmask_old, 0},
	{"rt_sigaction(old)", c_sigaction_old, 0},
	{"get_robust_list(head)", c_robust_head, 0},
	{"getcwd", c_getcwd, 0},
	{"fstat", c_fstat, 0},
	{"newfstatat", c_fstatat, 0},
	{"nanosleep(req)", c_nanosleep, 1},
	{"clock_nanosleep(req)", c_clock_nanosleep, 1},
	{"setrlimit", c_setrlimit, 1},
	{"prlimit64(new)", c_prlimit_new, 1},
	{"rt_sigprocmask(set)", c_sigmask_set, 1},
	{"rt_sigaction(act)", c_sigaction_act, 1},
	{"writev(iov)", c_writev_iov, 1},
	{"readv(iov)", c_readv_iov, 1},
};

int main(void)
{
	GUEST_INIT();
	/* Page 0: read-only zeroes.  Page 1: read/write.  Page 2: PROT_NONE. */
	unsigned char *m = map_pages(3, PROT_READ | PROT_WRITE);
	if (syscall(SYS_mprotect, m, PAGE, (long)PROT_READ) != 0 ||
	    syscall(SYS_mprotect, m + 2 * PAGE, PAGE, (long)PROT_NONE) != 0)
		die("mprotect setup");
	struct { const char *name; void *p; } ptrs[] = {
		{"NULL", NULL},
		{"low", BAD_LOW},
		{"non-canonical", BAD_NONCANON},
		{"PROT_NONE", m + 2 * PAGE},
		{"read-only", m},
		{"straddle", m + 2 * PAGE - 4},
	};
	char label[96];
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		for (size_t j = 0; j < sizeof ptrs / sizeof ptrs[0]; j++) {
			/* Inputs read from the straddling buffer see zeroes up to
			 * the boundary; keep the writable page zeroed. */
			memset(m + PAGE, 0, PAGE);
			snprintf(label, sizeof label, "%s(%s)", calls[i].name, ptrs[j].name);
			CHECK(label, calls[i].fn(ptrs[j].p));
		}
	}
	/* write(2): a bad buffer never reaches the file. */
	CHECK("write(1, NULL, 16)", syscall(SYS_write, 1L, NULL, 16L));
	CHECK("write(1, PROT_NONE, 16)", syscall(SYS_write, 1L, m + 2 * PAGE, 16L));
	CHECK("write(1, non-canonical, 16)", syscall(SYS_write, 1L, BAD_NONCANON, 16L));
	/* Restore what the input sweep may have changed. */
	unsigned long empty = 0;
	raw_sigprocmask(SIG_SETMASK, &empty, NULL);
	return 0;
}
