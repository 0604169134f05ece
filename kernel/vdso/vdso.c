/* husk's vDSO: the code every guest gets at AT_SYSINFO_EHDR, so reading the
 * clocks costs no trap into the sentry.  It reads the TSC and the time page
 * the sentry keeps current (vvar.h); whatever it cannot answer from the page
 * it asks the kernel with a real syscall, which husk serves as any other.
 *
 * Built on its own (see the Makefile): position independent, no libc, no
 * relocations, no sanitizers; the sentry embeds the result. */
#include <stdint.h>

#include "vvar.h"

struct vdso_timespec {
	int64_t tv_sec, tv_nsec;
};
struct vdso_timeval {
	int64_t tv_sec, tv_usec;
};
struct vdso_timezone {
	int tz_minuteswest, tz_dsttime;
};

/* The page just below the vDSO's first (vdso.lds places the symbol). */
extern const struct husk_vvar husk_vvar __attribute__((visibility("hidden")));

#define NSEC 1000000000LL
#define barrier() __asm__ volatile("" ::: "memory")

enum {
	NR_gettimeofday = 96, NR_time = 201, NR_clock_gettime = 228, NR_clock_getres = 229,
	NR_getcpu = 309,
};

static inline long sys3(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

/* lfence keeps the read from being hoisted above earlier loads, as
 * Linux's rdtsc_ordered. */
static inline uint64_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

/* Which offset a clock id reads, or -1 for clocks left to the kernel
 * (CPU clocks, MONOTONIC_RAW, the alarm clocks, bad ids).  The coarse
 * clocks answer with the fine value: never behind what they promise. */
static int clock_offset(int clk)
{
	switch (clk) {
	case 0: /* CLOCK_REALTIME */
	case 5: /* CLOCK_REALTIME_COARSE */
		return HUSK_OFF_REAL;
	case 1: /* CLOCK_MONOTONIC */
	case 6: /* CLOCK_MONOTONIC_COARSE */
		return HUSK_OFF_MONO;
	case 7: /* CLOCK_BOOTTIME */
		return HUSK_OFF_BOOT;
	case 11: /* CLOCK_TAI */
		return HUSK_OFF_TAI;
	default:
		return -1;
	}
}

/* The clock's value in nanoseconds; 0 when the page says to ask the kernel. */
static int read_ns(int which, int64_t *ns)
{
	const volatile struct husk_vvar *p = &husk_vvar;
	for (;;) {
		uint32_t seq = p->seq;
		barrier();
		if (seq & 1) {
			__builtin_ia32_pause();
			continue;
		}
		if (p->mode != HUSK_VVAR_TSC)
			return 0;
		uint64_t c = tsc();
		uint64_t base_c = p->base_cycles, mult = p->mult;
		int64_t base = p->base_ns + p->offset[which];
		unsigned shift = p->shift & 63;
		barrier();
		if (p->seq != seq)
			continue;
		/* A TSC a hair behind the one the page was taken on (another
		 * CPU) counts as no time at all, never as time going back. */
		uint64_t d = c > base_c ? c - base_c : 0;
		*ns = base + (int64_t)(((unsigned __int128)d * mult) >> shift);
		return 1;
	}
}

static void split(int64_t ns, int64_t *sec, int64_t *frac)
{
	*sec = ns / NSEC;
	*frac = ns % NSEC;
	if (*frac < 0) {
		*sec -= 1;
		*frac += NSEC;
	}
}

int __vdso_clock_gettime(int clk, struct vdso_timespec *ts)
{
	int which = clock_offset(clk);
	int64_t ns;
	if (which < 0 || !read_ns(which, &ns))
		return (int)sys3(NR_clock_gettime, clk, (long)ts, 0);
	split(ns, &ts->tv_sec, &ts->tv_nsec);
	return 0;
}

int __vdso_gettimeofday(struct vdso_timeval *tv, struct vdso_timezone *tz)
{
	int64_t ns;
	if (tv) {
		if (!read_ns(HUSK_OFF_REAL, &ns))
			return (int)sys3(NR_gettimeofday, (long)tv, (long)tz, 0);
		int64_t frac;
		split(ns, &tv->tv_sec, &frac);
		tv->tv_usec = frac / 1000;
	}
	if (tz) {
		/* husk keeps no kernel time zone: the syscall answers zeros. */
		tz->tz_minuteswest = 0;
		tz->tz_dsttime = 0;
	}
	return 0;
}

int64_t __vdso_time(int64_t *t)
{
	int64_t ns, sec, frac;
	if (!read_ns(HUSK_OFF_REAL, &ns))
		return sys3(NR_time, (long)t, 0, 0);
	split(ns, &sec, &frac);
	if (t)
		*t = sec;
	return sec;
}

int __vdso_clock_getres(int clk, struct vdso_timespec *res)
{
	const volatile struct husk_vvar *p = &husk_vvar;
	int which = clock_offset(clk);
	if (which < 0 || p->mode != HUSK_VVAR_TSC)
		return (int)sys3(NR_clock_getres, clk, (long)res, 0);
	if (res) {
		int64_t r = clk == 5 || clk == 6 ? p->coarse_res_ns : p->res_ns;
		split(r, &res->tv_sec, &res->tv_nsec);
	}
	return 0;
}

/* The CPU and node the calling thread runs on, from the limit of the
 * segment Linux sets up per CPU for exactly this (GDT entry 15). */
long __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
	unsigned p = 0;
	unsigned char ok;
	__asm__ volatile("lsl %[seg], %[p]; setz %[ok]"
			 : [p] "+r"(p), [ok] "=q"(ok)
			 : [seg] "r"(15U * 8 + 3)
			 : "cc");
	if (!ok)
		return sys3(NR_getcpu, (long)cpu, (long)node, (long)unused);
	if (cpu)
		*cpu = p & 0xfff;
	if (node)
		*node = p >> 12;
	return 0;
}

int clock_gettime(int, struct vdso_timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct vdso_timeval *, struct vdso_timezone *)
	__attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct vdso_timespec *) __attribute__((weak, alias("__vdso_clock_getres")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
