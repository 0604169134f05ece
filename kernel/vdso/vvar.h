/* The time page: written by the sentry (kernel/time/clock.c), read by the
 * vDSO in every guest (kernel/vdso/vdso.c), mapped read-only one page below
 * the vDSO's first page.  A sequence count guards it: odd while the sentry
 * writes; a reader retries until it sees the same even count before and
 * after its reads.
 *
 * A clock's value at TSC reading c:
 *   ns = base_ns + offset[clock] + ((c - base_cycles) * mult) >> shift
 * with the product taken in 128 bits.  mode 0 tells the vDSO to make the
 * syscall instead (no invariant TSC, or not calibrated yet). */
#ifndef HUSK_VVAR_H
#define HUSK_VVAR_H

#include <stdint.h>

enum {
	HUSK_VVAR_SYSCALL = 0,
	HUSK_VVAR_TSC = 1,
};

/* Offsets from the calibrated monotonic clock. */
enum {
	HUSK_OFF_MONO,
	HUSK_OFF_REAL,
	HUSK_OFF_BOOT,
	HUSK_OFF_TAI,
	HUSK_NOFF,
};

struct husk_vvar {
	uint32_t seq;
	uint32_t mode;
	uint64_t base_cycles;
	int64_t base_ns;
	uint64_t mult;
	uint32_t shift;
	uint32_t pad;
	int64_t offset[HUSK_NOFF];
	/* clock_getres of the fine clocks and of the coarse ones, as the
	 * syscall answers it. */
	int64_t res_ns, coarse_res_ns;
};

#endif
