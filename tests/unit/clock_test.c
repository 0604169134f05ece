/* The timekeeper (kernel/time/clock.c): once calibrated, the clock it
 * publishes stays within a hair of the host's, never goes back, and the
 * page the vDSO reads says the same. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <time.h>
#include <unistd.h>

#include "../../kernel/sentry.h"
#include "../../kernel/vdso/vvar.h"

static int64_t host(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t page_ns(const volatile struct husk_vvar *p, int which)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t c = (uint64_t)hi << 32 | lo;
	uint64_t d = c > p->base_cycles ? c - p->base_cycles : 0;
	return p->base_ns + p->offset[which] +
	       (int64_t)(((unsigned __int128)d * p->mult) >> p->shift);
}

Test(clock, calibrated_close_to_host_and_monotonic)
{
	static struct husk_vvar page;
	k_clock_init();
	k_clock_attach(&page);
	/* Past the first measurement and a few updates. */
	for (int i = 0; i < 40; i++) {
		usleep(5000);
		k_clock_update();
	}
	if (!k_clock_vdso()) {
		cr_assert_eq(page.mode, HUSK_VVAR_SYSCALL, "no TSC: the vDSO must make syscalls");
		k_clock_detach(&page);
		return;
	}
	cr_assert_eq(page.mode, HUSK_VVAR_TSC);
	cr_assert_eq(page.seq % 2, 0);
	int64_t prev = 0;
	for (int i = 0; i < 100000; i++) {
		int64_t now = k_clock_ns(CLOCK_MONOTONIC);
		cr_assert_geq(now, prev, "went back by %lld ns", (long long)(prev - now));
		prev = now;
		if (i % 10000 == 0)
			k_clock_update();
	}
	int64_t a = host(CLOCK_MONOTONIC), m = k_clock_ns(CLOCK_MONOTONIC),
		b = host(CLOCK_MONOTONIC);
	cr_assert(m > a - 100000 && m < b + 100000, "monotonic %lld ns off the host's",
		  (long long)(m - a));
	int64_t r = k_clock_ns(CLOCK_REALTIME), hr = host(CLOCK_REALTIME);
	cr_assert(llabs(r - hr) < 1000000, "realtime %lld ns off", (long long)(r - hr));
	int64_t v = page_ns(&page, HUSK_OFF_MONO), s = k_clock_ns(CLOCK_MONOTONIC);
	cr_assert_leq(v, s, "the page is ahead of the sentry");
	cr_assert_lt(s - v, 1000000);
	/* Clocks the page does not carry are the host's. */
	int64_t raw1 = host(CLOCK_MONOTONIC_RAW), raw = k_clock_ns(CLOCK_MONOTONIC_RAW),
		raw2 = host(CLOCK_MONOTONIC_RAW);
	cr_assert(raw >= raw1 && raw <= raw2);
	k_clock_detach(&page);
}
